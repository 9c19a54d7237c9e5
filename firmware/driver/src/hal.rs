//! The hardware-abstraction trait the driver is written against.

use std::fmt;

/// A failed bus access (nothing answered at the address, or the access was refused).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HalError {
    /// The address of the access.
    pub addr: u64,
}

impl fmt::Display for HalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bus error at {:#x}", self.addr)
    }
}

impl std::error::Error for HalError {}

/// What the driver needs from the platform it runs on.
///
/// `async` because the hardware makes the caller wait (a register access crosses a
/// bus; an interrupt comes when it comes). Implementations are single-threaded (the
/// VP's kernel; a bare-metal executor), so no `Send` bound is asked of the futures.
#[allow(async_fn_in_trait)]
pub trait Hal {
    /// Reads the 32-bit device register at `offset` (from `treta_abi::regs`).
    async fn read32(&self, offset: u64) -> Result<u32, HalError>;
    /// Writes the 32-bit device register at `offset`.
    async fn write32(&self, offset: u64, value: u32) -> Result<(), HalError>;
    /// Copies `data` to device DRAM at `addr` (a bulk load: descriptors, tensors).
    async fn write_mem(&self, addr: u64, data: &[u8]) -> Result<(), HalError>;
    /// Copies device DRAM at `addr` into `buf`.
    async fn read_mem(&self, addr: u64, buf: &mut [u8]) -> Result<(), HalError>;
    /// Returns once the device's interrupt line is high.
    async fn wait_irq(&self);
    /// Like [`wait_irq`](Hal::wait_irq), but gives up after `timeout_ns`
    /// nanoseconds: true if the line is high, false on timeout (a watchdog).
    async fn wait_irq_for(&self, timeout_ns: u64) -> bool;
}
