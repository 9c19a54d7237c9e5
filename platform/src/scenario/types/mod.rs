//! The scenario format: what a scenario YAML file may contain.
//!
//! ```yaml
//! platform:                 # a preset plus overrides of its parameters
//!   preset: treta
//!   gemm: {arch: systolic, rows: 128, cols: 64, dataflow: os}
//! workload:
//!   kind: gemm_list         # gemm_list | commands | encoder_training_step
//!   gemms:
//!     - {name: qkv, m: 128, k: 768, n: 2304}
//! run: {mode: timing, seed: 1, trace_detail: commands}
//! expect:                   # bounds that make the scenario a regression test
//!   sim_time_ps: {max: 5.0e6}
//!   engines: [{name: gemm, utilization: {min: 0.5}}]
//!   gemms: [{name: qkv, cycles: {max: 20000}}]
//! ```
//!
//! Every struct rejects unknown keys; validated values reject out-of-range numbers
//! while being read, so errors carry the file, line and column.
//!
//! One file per section: `platform.rs`, `workload.rs`, `commands.rs`, `run.rs`,
//! `expect.rs`; `names.rs` has the values checked by name as they are read.

mod commands;
mod expect;
mod names;
mod platform;
mod run;
mod workload;

pub use commands::*;
pub use expect::*;
pub use names::*;
pub use platform::*;
pub use run::*;
pub use workload::*;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A whole scenario file.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// A short name for reports (defaults to the file name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The platform: a preset and overrides of its parameters.
    #[serde(default)]
    pub platform: PlatformSpec,
    /// What to run.
    pub workload: Workload,
    /// How to run it.
    #[serde(default)]
    pub run: RunOptions,
    /// Bounds the run must meet (exit status 1 otherwise).
    #[serde(default)]
    pub expect: Expect,
}
