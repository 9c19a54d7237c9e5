//! # treta-vp — the TRETA virtual platform
//!
//! The only crate that knows all the parts: scenario files ([`scenario`]), platform
//! presets ([`preset`]), and (as the platform grows) SoC assembly, runs, traces and
//! reports. The `treta-vp` binary is a thin command-line front over this library.

#![warn(missing_docs)]

pub mod preset;
pub mod scenario;
