//! # treta-models — the hardware models of the TRETA SoC
//!
//! ```text
//!   control processor ──(MMIO, bulk loads)──► Bus ─┬─► CommandProcessor registers
//!   (firmware, in platform)                        └─► Dram ◄──────────────┐
//!                                                                          │ b_transport
//!   CommandProcessor ── fetches descriptors from Dram ───────────────────────┤
//!        │  dispatches jobs through EnginePort FIFOs                       │
//!        ├──► Dma ───── rows ─────────────────────────────────────────────┘
//!        │     └──────────────────────────────► Sram ◄───┐
//!        ├──► GemmCore ─ operand/result regions ─────────┤
//!        └──► Sfu ────── vectors ────────────────────────┘
//! ```
//!
//! Every model is a plain struct with its sockets and ports as public fields; the
//! platform creates and binds them. A model never calls another model's methods: it
//! talks through TLM sockets (memory-mapped traffic) or [`EnginePort`] FIFOs (jobs
//! from the command processor). DRAM timing comes from a JEDEC-style controller
//! ([`dram_ctrl`]); SRAM timing from banks and ports; the GEMM core's from its
//! [`mapping`] executed round by round against the SRAM; the SFU's from passes
//! over rows, also against the SRAM ([`sfu`]).

#![warn(missing_docs)]

mod bandwidth;
mod bus;
mod cp;
mod dram;
pub mod dram_ctrl;
mod engines;
mod histogram;
mod job;
pub mod mapping;
mod sram;

pub use bus::Bus;
pub use cp::CommandProcessor;
pub use dram::{BurstList, Dram};
pub use engines::{sfu, Dma, GemmCore, GemmRecord, Sfu};
pub use histogram::{Bucket, LatencyHistogram};
pub use job::{execute, EnginePort, Fault, Job, JobReply};
pub use mapping::{GemmShape, GemmTiming, Mapping};
pub use sram::{BankCounters, BufferStats, Sram, SramGeometry};

use treta_kernel::SimTime;

/// Busy time and commands of one engine, for reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Time spent executing commands [ps].
    pub busy: SimTime,
    /// Commands executed.
    pub commands: u64,
}
