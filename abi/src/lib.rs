//! # treta-abi — TRETA's hardware/software interface
//!
//! The single source of truth for what firmware and hardware models say to each
//! other: the memory-mapped [register map](regs), the fixed-size command
//! [descriptors](desc) fetched from command queues in DRAM, the [number
//! formats](format) operands are stored in, and the [device error codes](DeviceError).
//! Encoding and decoding live side by side and are round-trip tested. Nothing here
//! knows about the simulator: firmware built on this crate can drive the virtual
//! platform, a VP in another process, or silicon.
//!
//! ## How firmware drives the device
//!
//! 1. Write descriptors ([`desc::Descriptor::encode`], 64 bytes each) into a ring
//!    buffer in DRAM; program the queue's `BASE`, `SIZE` (entries) once.
//! 2. Advance the queue's `TAIL` (producer index) and write its `DOORBELL`.
//! 3. The command processor fetches descriptors from `HEAD` up to `TAIL`, executes
//!    them in order per queue (queues synchronise through `SEM_SIGNAL`/`SEM_WAIT`),
//!    and advances `HEAD` and `COMPLETED` as they finish.
//! 4. An `IRQ` descriptor raises the completion interrupt; a bad descriptor stops its
//!    queue, sets `STATUS.ERROR`, `ERR_CODE`, `ERR_QUEUE`, `ERR_INDEX`, `ERR_ADDR` and
//!    `ERR_FIELD` (the [field](field) at fault, if one is) and raises the error
//!    interrupt. `IRQ_STATUS` bits are cleared by writing 1.

#![warn(missing_docs)]

pub mod desc;
mod error;
pub mod export;
pub mod field;
pub mod format;
pub mod regs;

pub use desc::{
    Command, DecodeError, Descriptor, DmaDesc, GemmDesc, SfuDesc, SfuOp, VectorOp, DESC_BYTES,
};
pub use error::DeviceError;
pub use format::NumberFormat;
