//! # treta-driver — TRETA's firmware, the part that runs on the device's side
//!
//! What a control processor next to the accelerator would run, written against
//! [`Hal`], a small async hardware-abstraction trait (register access, bulk
//! memory access, wait for the interrupt), in the spirit of embedded async Rust:
//! the same driver runs inside the virtual platform (the platform implements
//! `Hal` with TLM transactions), against a VP in another process, or on silicon.
//! It depends on `treta-abi` only, never on a model — nor on the lowering
//! (`treta-lower`), whose command streams it carries without looking inside.
//!
//! - [`Driver`]: bring-up, command queues in DRAM, doorbells, completion and error
//!   interrupts, device errors as values naming the descriptor at fault.
//! - [`Hal`]: what the driver needs of the hardware, and nothing more.

#![warn(missing_docs)]

mod driver;
mod hal;

pub use driver::{DeviceFault, Driver, DriverError, Layout};
pub use hal::{Hal, HalError};
