//! # treta-firmware — TRETA's firmware
//!
//! Written against [`Hal`], a small async hardware-abstraction trait (register
//! access, bulk memory access, wait for the interrupt), in the spirit of embedded
//! async Rust: the same driver runs inside the virtual platform (the platform
//! implements `Hal` with TLM transactions), against a VP in another process, or on
//! silicon. It depends on `treta-abi` only, never on a model.
//!
//! - [`Driver`]: bring-up, command queues in DRAM, doorbells, completion and error
//!   interrupts, device errors as values naming the descriptor at fault.
//! - [`lower`]: turning workloads into command streams that fit the SRAM.

#![warn(missing_docs)]

mod driver;
pub mod encoder;
mod hal;
pub mod lower;

pub use driver::{DeviceFault, Driver, DriverError, Layout};
pub use hal::{Hal, HalError};
