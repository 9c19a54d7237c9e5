//! The `platform` section: a preset and overrides of its parameters.

use super::names::{Format, PresetName};
use crate::scenario::values::{Bytes, NonNegative, Positive};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The platform section: a preset and any parameter overrides.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlatformSpec {
    /// Preset to start from (`treta-vp presets` lists them); `treta` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<PresetName>,
    /// Device clock [MHz].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_mhz: Option<Positive>,
    /// GEMM core.
    #[serde(default)]
    pub gemm: GemmSpec,
    /// On-chip SRAM.
    #[serde(default)]
    pub sram: SramSpec,
    /// DRAM.
    #[serde(default)]
    pub dram: DramSpec,
    /// DMA engine.
    #[serde(default)]
    pub dma: DmaSpec,
    /// Special-function unit.
    #[serde(default)]
    pub sfu: SfuSpec,
    /// Energy per event and static power (docs/energy.md).
    #[serde(default)]
    pub energy: EnergySpec,
}

/// Energy model overrides: each replaces the preset's figure of the same name.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnergySpec {
    /// One fp32 MAC [pJ].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_fp32_pj: Option<NonNegative>,
    /// One bf16/fp16 MAC [pJ].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_16bit_pj: Option<NonNegative>,
    /// One fp8/int8 MAC [pJ].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_8bit_pj: Option<NonNegative>,
    /// One SRAM byte in a 32 KiB bank [pJ].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sram_pj_per_byte_32k: Option<NonNegative>,
    /// One bus byte [pJ].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bus_pj_per_byte: Option<NonNegative>,
    /// One SFU lane-cycle [pJ].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sfu_pj_per_lane_cycle: Option<NonNegative>,
    /// GEMM core static power [mW].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub static_gemm_mw: Option<NonNegative>,
    /// SRAM static power per MiB [mW].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub static_sram_mw_per_mib: Option<NonNegative>,
    /// SFU static power [mW].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub static_sfu_mw: Option<NonNegative>,
    /// Command processor, DMA and bus static power [mW].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub static_control_mw: Option<NonNegative>,
    /// DRAM energy per byte [pJ] (else the standard's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dram_pj_per_byte: Option<NonNegative>,
    /// DRAM energy per activate–precharge [pJ] (else the standard's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dram_activate_pj: Option<NonNegative>,
    /// DRAM energy per refresh command [pJ] (else the standard's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dram_refresh_pj: Option<NonNegative>,
}

/// GEMM core overrides.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GemmSpec {
    /// `flexible` (TRETA-like PE groups) or `systolic` (the baseline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<GemmArch>,
    /// Rows of the array [PEs] (systolic; for flexible, of the fused logical array).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<Positive>,
    /// Columns of the array [PEs].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cols: Option<Positive>,
    /// Systolic dataflow: output-, weight- or input-stationary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataflow: Option<Dataflow>,
    /// Default operand format of the training GEMMs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operand_format: Option<Format>,
    /// Flexible: rows (= columns) of one PE group [PEs]; rows × cols must be a
    /// multiple of its square.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<Positive>,
    /// Flexible: preload the next round's operands, hiding the groups' fill and
    /// drain (double buffering).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preload: Option<bool>,
    /// Systolic: let a fold's operands enter while the previous fold drains, so
    /// fill and drain are paid once per GEMM (off: SCALE-Sim's timing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlap_folds: Option<bool>,
}

/// SRAM overrides.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SramSpec {
    /// Capacity [bytes].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<Bytes>,
    /// Number of banks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub banks: Option<Positive>,
    /// Bytes per bank per cycle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_width_bytes: Option<Positive>,
    /// Named buffers, laid out in this order from address 0, each with banks of its
    /// own; `bytes` is then their total. The GEMM lowering puts A, B and C in
    /// buffers named `inputs`, `weights` and `outputs` when all three exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buffers: Option<Vec<SramBufferSpec>>,
}

/// One named SRAM buffer.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SramBufferSpec {
    /// Its name (unique).
    pub name: String,
    /// Capacity [bytes].
    pub bytes: Bytes,
    /// Banks (the SRAM's `banks` if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub banks: Option<Positive>,
    /// Bytes per bank per cycle (the SRAM's `bank_width_bytes` if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_width_bytes: Option<Positive>,
}

/// DRAM overrides.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DramSpec {
    /// Memory standard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<DramKind>,
    /// Independent channels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<Positive>,
    /// Capacity [bytes].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<Bytes>,
    /// How addresses map onto channels, bank groups, banks and rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping: Option<DramMapping>,
    /// Row-buffer policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_policy: Option<PagePolicyName>,
    /// Refresh granularity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh: Option<RefreshName>,
}

/// Refresh granularities.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefreshName {
    /// REFab every tREFI: the whole rank pauses for tRFC.
    AllBank,
    /// REFpb every tREFI / banks, one bank at a time (LPDDR4 only).
    PerBank,
}

/// DRAM address mappings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DramMapping {
    /// Consecutive bursts rotate over channels and bank groups (streams at tCCD_S).
    Interleaved,
    /// Ramulator's RoBaRaCoCh: a whole row of consecutive lines in one bank.
    RowBankRankColumnChannel,
}

/// Row-buffer policies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PagePolicyName {
    /// Rows stay open until a conflict or refresh.
    Open,
    /// Rows close after their last queued access.
    Closed,
}

/// DMA overrides.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DmaSpec {
    /// Burst size [bytes].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst_bytes: Option<Positive>,
}

/// Special-function unit overrides.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SfuSpec {
    /// Elements processed per cycle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lanes: Option<Positive>,
    /// Pipeline depth [cycles].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_depth: Option<Positive>,
    /// Elements of a row kept between passes (longer rows are re-read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_buffer: Option<Positive>,
    /// Arithmetic of functional runs: `exact` (fp32) or `hardware` (the
    /// approximations below).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numerics: Option<SfuNumerics>,
    /// Hardware exp: degree of the 2^f polynomial (1–8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp_degree: Option<Positive>,
    /// Hardware reciprocal and rsqrt: table index bits (1–12).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lut_bits: Option<Positive>,
    /// Hardware reciprocal and rsqrt: Newton steps after the table (0–4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newton_steps: Option<u32>,
}

/// The SFU's arithmetic in functional runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SfuNumerics {
    /// fp32, as JAX.
    Exact,
    /// Base-2 exp with a polynomial, reciprocal and rsqrt by table and Newton.
    Hardware,
}

/// The GEMM micro-architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GemmArch {
    /// TRETA-like: PE groups that fuse or split per GEMM.
    Flexible,
    /// A rigid systolic array (the baseline).
    Systolic,
}

/// Systolic dataflows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Dataflow {
    /// Output stationary.
    Os,
    /// Weight stationary.
    Ws,
    /// Input stationary.
    Is,
}

/// DRAM standards with presets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DramKind {
    /// LPDDR4-4266.
    Lpddr4_4266,
    /// DDR4-3200.
    Ddr4_3200,
    /// HBM2 (2 Gbps per pin).
    Hbm2,
}
