//! [`VpHal`]: the firmware HAL inside the VP. Register accesses are TLM transactions
//! from the control processor through the bus (they take simulated time); bulk
//! memory accesses use debug transport (the host's loading port: no time); the
//! interrupt is the command processor's IRQ line.

use super::map;
use treta_driver::{Hal, HalError};
use treta_kernel::tlm::{Command, InitiatorSocket, Payload};
use treta_kernel::{Ctx, Signal, SimTime};

/// The HAL the firmware runs on inside the VP.
pub struct VpHal {
    ctx: Ctx,
    socket: InitiatorSocket,
    irq: Signal<bool>,
}

impl VpHal {
    /// A HAL issuing transactions through `socket` (bound to the bus) and waiting
    /// on the `irq` line.
    pub fn new(ctx: &Ctx, socket: InitiatorSocket, irq: Signal<bool>) -> VpHal {
        VpHal {
            ctx: ctx.clone(),
            socket,
            irq,
        }
    }

    /// A bus access of `data.len()` bytes (4 or 8) at bus address `addr`, as the
    /// control processor makes it: it crosses the bus and takes its simulated time.
    /// Reads return the bytes read; writes the bytes written.
    pub async fn bus_access(
        &self,
        command: Command,
        addr: u64,
        data: Vec<u8>,
    ) -> Result<Vec<u8>, HalError> {
        let mut p = Payload::with_data(command, addr, data);
        let mut delay = SimTime::ZERO;
        self.socket.b_transport(&mut p, &mut delay).await;
        self.ctx.wait(delay).await;
        if !p.response.is_ok() {
            return Err(HalError { addr });
        }
        Ok(p.set_timing_only(0).unwrap_or_default())
    }

    async fn mmio(&self, command: Command, offset: u64, value: u32) -> Result<u32, HalError> {
        let data = self
            .bus_access(
                command,
                map::MMIO_BASE + offset,
                value.to_le_bytes().to_vec(),
            )
            .await?;
        let mut b = [0u8; 4];
        if let Some(d) = data.get(..4) {
            b.copy_from_slice(d);
        }
        Ok(u32::from_le_bytes(b))
    }

    /// A debug-port transfer at bus address `addr` (no simulated time): writes
    /// `data`, or reads `data.len()` bytes and returns them.
    pub fn debug_access(
        &self,
        command: Command,
        addr: u64,
        data: Vec<u8>,
    ) -> Result<Vec<u8>, HalError> {
        let len = data.len();
        let mut p = Payload::with_data(command, addr, data);
        if self.socket.transport_dbg(&mut p) != len || !p.response.is_ok() {
            return Err(HalError { addr });
        }
        Ok(p.set_timing_only(0).unwrap_or_default())
    }

    fn debug(&self, command: Command, addr: u64, data: Vec<u8>) -> Result<Vec<u8>, HalError> {
        let bus_addr = map::DRAM_BASE.checked_add(addr).ok_or(HalError { addr })?;
        self.debug_access(command, bus_addr, data)
    }
}

impl Hal for VpHal {
    async fn read32(&self, offset: u64) -> Result<u32, HalError> {
        self.mmio(Command::Read, offset, 0).await
    }

    async fn write32(&self, offset: u64, value: u32) -> Result<(), HalError> {
        self.mmio(Command::Write, offset, value).await.map(|_| ())
    }

    async fn write_mem(&self, addr: u64, data: &[u8]) -> Result<(), HalError> {
        self.debug(Command::Write, addr, data.to_vec()).map(|_| ())
    }

    async fn read_mem(&self, addr: u64, buf: &mut [u8]) -> Result<(), HalError> {
        let data = self.debug(Command::Read, addr, vec![0; buf.len()])?;
        buf.copy_from_slice(&data);
        Ok(())
    }

    async fn wait_irq(&self) {
        while !self.irq.read() {
            self.irq.value_changed_event().wait().await;
        }
    }

    async fn wait_irq_for(&self, timeout_ns: u64) -> bool {
        let deadline = self.ctx.now().saturating_add(SimTime::from_ns(timeout_ns));
        while !self.irq.read() {
            let now = self.ctx.now();
            if now >= deadline {
                return false;
            }
            self.irq
                .value_changed_event()
                .wait_timeout(deadline - now)
                .await;
        }
        true
    }
}
