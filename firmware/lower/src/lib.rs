//! # treta-lower — TRETA's firmware, the part that compiles
//!
//! Turns workloads into **per-queue descriptor programs** that fit the device's
//! SRAM: a compiler, not a driver. It decides tilings, SRAM placement, DRAM
//! tensor layout, which queue each command goes to and which semaphores order
//! them; it never touches a register, a ring or an interrupt (that is
//! `treta-driver`'s job, on the device's side), so a firmware written elsewhere
//! — another process, C, Python — can reuse its command streams with a driver of
//! its own. It depends on `treta-abi` only.
//!
//! - [`gemm`]: one GEMM, tiled, in one queue or pipelined over three;
//! - [`step`]: a transformer encoder's whole training step (forward, loss,
//!   backward, optimizer) over L layers and N steps;
//! - [`Program`]: descriptors per queue with their issue order, cut into
//!   ring-sized batches for a driver;
//! - [`Region`], [`SramPlan`]: where tiles may live in SRAM;
//! - [`zoo`]: public model configurations by name, with parameter counts.

#![warn(missing_docs)]

pub mod gemm;
mod program;
mod sram;
pub mod step;
pub mod zoo;

pub use program::Program;
pub use sram::{Region, SramPlan};

/// Why a workload cannot be lowered (it does not fit, or makes no sense).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LowerError(pub String);

impl std::fmt::Display for LowerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LowerError {}
