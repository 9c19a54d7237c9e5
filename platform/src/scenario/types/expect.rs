//! The `expect` section: bounds that make a scenario a regression test.

use crate::scenario::values::Bound;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Bounds the run must meet.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Simulated time [ps].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sim_time_ps: Option<Bound>,
    /// Per engine (`gemm`, `dma`, `sfu`, `cp`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub engines: Vec<EngineExpect>,
    /// Per GEMM of a `gemm_list`, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gemms: Vec<GemmExpect>,
}

/// Bounds on one engine.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EngineExpect {
    /// The engine.
    pub name: EngineName,
    /// Busy time ÷ simulated time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utilization: Option<Bound>,
}

/// Bounds on one GEMM.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GemmExpect {
    /// The GEMM's name in `workload.gemms`.
    pub name: String,
    /// Device cycles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cycles: Option<Bound>,
    /// Useful MACs ÷ (MACs × cycles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utilization: Option<Bound>,
}

/// Engines of the SoC that reports and expectations name.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EngineName {
    /// The command processor.
    Cp,
    /// The DMA engine.
    Dma,
    /// The GEMM core.
    Gemm,
    /// The special-function unit.
    Sfu,
}
