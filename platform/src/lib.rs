//! # treta-vp — the TRETA virtual platform
//!
//! The only crate that knows all the parts: scenario files ([`scenario`]), platform
//! presets ([`preset`]), SoC assembly ([`soc`]), lowering of workloads to command
//! programs ([`program`]), runs ([`run`]), the remote-firmware server ([`serve`]), Chrome traces ([`trace`]), reports
//! ([`report`]), the flexible-vs-systolic comparison ([`comparison`]) and the
//! `--explain-mapping` dump ([`explain`]). The `treta-vp` binary is a thin command-line front over it.

#![warn(missing_docs)]

pub mod comparison;
pub mod dump;
pub mod energy;
pub mod explain;
pub mod golden_check;
pub mod operations;
pub mod plots;
pub mod preset;
pub mod probe;
pub mod program;
pub mod report;
pub mod run;
pub mod scenario;
pub mod serve;
pub mod slurm;
pub mod soc;
pub mod sweep;
pub mod trace;
