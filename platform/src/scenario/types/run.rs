//! The `run` section: how to run the scenario.

use crate::scenario::values::Positive;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How to run the scenario.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunOptions {
    /// `timing` (no data moved) or `functional` (real bytes and math).
    #[serde(default)]
    pub mode: Mode,
    /// Seed of every pseudo-random choice (data, tie-breaks).
    #[serde(default)]
    pub seed: u64,
    /// How much the trace records.
    #[serde(default)]
    pub trace_detail: TraceDetail,
    /// The firmware's watchdog [µs of simulated time]: a device that raises no
    /// interrupt for this long is an error naming where each queue is stuck.
    /// Absent: wait forever (a device that stops is still reported, as a
    /// deadlock, when the simulation runs out of events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watchdog_us: Option<Positive>,
}

/// Simulation modes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Timing only: payloads carry no data.
    #[default]
    Timing,
    /// Real data through SRAM, DMA and the math.
    Functional,
}

/// Trace detail levels, from coarsest.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TraceDetail {
    /// Queues, engines (a span per command, with its descriptor's fields), the
    /// firmware, flows from issue to execution, counters.
    #[default]
    Commands,
    /// Also one span per DRAM transaction (a DMA descriptor's rows) on each
    /// channel track it touches, and one per GEMM round (the tiles the arrays
    /// work on between operand changes, with its stall) on `gemm.rounds`.
    Tiles,
    /// Also one span per DRAM burst, over its data's time on the bus, on a
    /// `dram.ch<c>.bursts` track per channel (large: a BERT step has ~1.9 M).
    Bursts,
}
