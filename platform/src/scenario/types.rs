//! The scenario format: what a scenario YAML file may contain.
//!
//! ```yaml
//! platform:                 # a preset plus overrides of its parameters
//!   preset: treta
//!   gemm: {arch: systolic, rows: 128, cols: 64, dataflow: os}
//! workload:
//!   kind: gemm_list         # gemm_list | commands
//!   gemms:
//!     - {name: qkv, m: 128, k: 768, n: 2304}
//! run: {mode: timing, seed: 1, trace_detail: commands}
//! expect:                   # bounds that make the scenario a regression test
//!   sim_time_ps: {max: 5.0e6}
//!   engines: {gemm: {utilization: {min: 0.5}}}
//!   gemms: [{name: qkv, cycles: {max: 20000}}]
//! ```
//!
//! Every struct rejects unknown keys; validated values reject out-of-range numbers
//! while being read, so errors carry the file, line and column.

use super::values::{Bound, Bytes, NonNegative, Positive};
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use treta_abi::NumberFormat;
use treta_lower::step::Overlap;

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

/// The name of a preset; reading it checks that the preset exists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresetName(pub String);

impl<'de> Deserialize<'de> for PresetName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        if crate::preset::find(&name).is_some() {
            Ok(PresetName(name))
        } else {
            Err(serde::de::Error::custom(format!(
                "unknown preset `{name}` (presets: {})",
                crate::preset::names().join(", ")
            )))
        }
    }
}

impl Serialize for PresetName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl JsonSchema for PresetName {
    fn schema_name() -> Cow<'static, str> {
        "PresetName".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "enum": crate::preset::names() })
    }
}

/// A number format name (`fp32`, `bf16`, `fp16`, `fp8_e4m3`, `fp8_e5m2`, `int8`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Format(pub NumberFormat);

impl<'de> Deserialize<'de> for Format {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse()
            .map(Format)
            .map_err(|e| serde::de::Error::custom(e.to_string()))
    }
}

impl Serialize for Format {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.name().serialize(s)
    }
}

impl JsonSchema for Format {
    fn schema_name() -> Cow<'static, str> {
        "Format".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<&str> = NumberFormat::ALL.iter().map(|f| f.name()).collect();
        json_schema!({ "type": "string", "enum": names })
    }
}

/// What to run.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// `gemm_list`: the GEMMs in `gemms`; `commands`: the descriptors in `commands`.
    pub kind: WorkloadKind,
    /// The GEMMs of a `gemm_list` workload, run in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gemms: Vec<GemmOp>,
    /// The descriptors of a `commands` workload.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<CommandSpec>,
    /// `encoder_training_step`: a named layer shape (`bert-base`, `bert-large`,
    /// `vit-b16`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// `encoder_training_step`: explicit dimensions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dims: Option<EncoderDimsSpec>,
    /// `encoder_training_step`: a golden directory (the format of
    /// `../shared/golden`, relative to the scenario file) whose inputs and
    /// parameters are loaded and whose tensors the run's are compared with; it
    /// gives the dimensions when neither `model` nor `dims` does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub golden: Option<String>,
    /// `encoder_training_step`: learning rate (0.01 by default, the golden
    /// data's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lr: Option<f32>,
    /// `encoder_training_step`: the weight update (SGD by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimizer: Option<OptimizerSpec>,
    /// `encoder_training_step`: the format the GEMMs multiply in (fp32 by
    /// default; the DMA converts from fp32 master copies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gemm_format: Option<Format>,
    /// `encoder_training_step`: the GEMM formats per tensor class (each defaults to
    /// `gemm_format`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formats: Option<ClassFormatsSpec>,
    /// `encoder_training_step`: which operations pipeline over three queues with
    /// double buffers so DMA and compute overlap: `none`, `sfu`, `gemm`, `all`
    /// (or `false`/`true` for none/all). `all` by default; see docs/training.md
    /// for what each costs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlap: Option<OverlapSpec>,
    /// `encoder_training_step` with SGD: update each weight matrix in its dW
    /// GEMM's epilogue instead of a separate pass (true by default; same numbers,
    /// less DRAM traffic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuse_update: Option<bool>,
    /// `encoder_training_step`: store the fused weight matrices' gradients to
    /// DRAM anyway (false by default; forced by `golden`; `--dump-tensors`
    /// writes them only then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_gradients: Option<bool>,
    /// `encoder_training_step`: keep the weights' copies in their GEMM format in
    /// DRAM when it is narrower than fp32 (true by default), refreshed by each
    /// update; false converts the fp32 masters at every load (same numbers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_copies: Option<bool>,
    /// `encoder_training_step`: recompute each layer's FFN activations in backward
    /// instead of keeping them (one pair of buffers for all layers; false by
    /// default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recompute: Option<bool>,
    /// `encoder_training_step`: encoder layers stacked (1 by default); the MSE
    /// loss is taken on the top one's output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layers: Option<Positive>,
    /// `encoder_training_step`: training steps on the batch (1 by default); the
    /// report gives each step's loss in functional runs. With more than one, a
    /// `golden` directory only provides the starting point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Positive>,
    /// `encoder_training_step` with `golden`: `strict` (default) fails the run
    /// (exit 1) when a tensor is off; `report` only reports the errors (to
    /// measure a mixed-precision run against fp32).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub golden_check: Option<GoldenCheck>,
}

/// The weight update of a training step.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OptimizerSpec {
    /// `sgd`, `momentum` or `adam`.
    pub kind: OptimizerKind,
    /// Momentum's μ (0.9 by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub momentum: Option<f32>,
    /// Adam's β₁ (0.9 by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta1: Option<f32>,
    /// Adam's β₂ (0.999 by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta2: Option<f32>,
    /// Adam's ε (1e-8 by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eps: Option<f32>,
}

/// Weight-update algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    /// Plain SGD.
    Sgd,
    /// SGD with momentum.
    Momentum,
    /// Adam.
    Adam,
}

/// GEMM operand formats per tensor class.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassFormatsSpec {
    /// Activations (inputs of the layer's GEMMs, attention probabilities, q, k, v).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activations: Option<Format>,
    /// Weights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<Format>,
    /// Gradients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gradients: Option<Format>,
}

/// What a golden comparison does with a tensor that is off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GoldenCheck {
    /// Fail the run.
    Strict,
    /// Report the errors only.
    Report,
}

/// An encoder layer's dimensions.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EncoderDimsSpec {
    /// Batch.
    pub b: Positive,
    /// Sequence length.
    pub s: Positive,
    /// Model width.
    pub d: Positive,
    /// Heads.
    pub h: Positive,
    /// FFN width.
    pub f: Positive,
}

/// Kinds of workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkloadKind {
    /// A list of named GEMMs.
    GemmList,
    /// A raw program of command descriptors.
    Commands,
    /// One training step of a BERT-style encoder layer (`model`, `dims` or
    /// `golden`).
    EncoderTrainingStep,
}

/// One GEMM of a `gemm_list`: C[m×n] = op(A)[m×k] · op(B)[k×n].
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GemmOp {
    /// Name in reports.
    pub name: String,
    /// Rows of C.
    pub m: Positive,
    /// Reduction length.
    pub k: Positive,
    /// Columns of C.
    pub n: Positive,
    /// A is stored transposed (as in the weight-gradient GEMM).
    #[serde(default)]
    pub transpose_a: bool,
    /// B is stored transposed (as in the backward-data GEMM).
    #[serde(default)]
    pub transpose_b: bool,
    /// How many times this GEMM occurs (e.g. once per attention head).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub count: Positive,
    /// Operand format of A and B (the preset's when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
}

fn one() -> Positive {
    Positive::new(1).unwrap_or_else(|| unreachable!("1 is positive"))
}

fn is_one(p: &Positive) -> bool {
    p.get() == 1
}

/// One descriptor of a `commands` workload, in YAML form. Addresses are SRAM byte
/// offsets (or DRAM addresses for the DMA's `dram`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    /// The command: `nop`, `dma_load`, `dma_store`, `dma_copy` (SRAM `a` → SRAM
    /// `sram`, `stride` between source rows), `gemm`, `softmax_fwd`,
    /// `softmax_bwd`, `layernorm_fwd`, `layernorm_bwd`, `gelu_fwd`, `gelu_bwd`,
    /// `vector`, `sem_signal`, `sem_wait`, `fence`, `irq`. SFU commands: source
    /// `sram`, destination `c`, auxiliary operands `a`, `b`, `aux2`, `aux3`.
    pub op: CommandOp,
    /// Queue to submit to (0–3).
    #[serde(default)]
    pub queue: u8,
    /// DMA: DRAM address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dram: Option<u64>,
    /// DMA: bytes between rows in DRAM (0 or absent: packed rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stride: Option<u64>,
    /// DMA, SFU: SRAM address (DMA side, SFU source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sram: Option<u32>,
    /// DMA, SFU: rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<Positive>,
    /// DMA: bytes per row; SFU: elements per row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cols: Option<Positive>,
    /// GEMM: rows of C.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub m: Option<Positive>,
    /// GEMM: reduction length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<Positive>,
    /// GEMM: columns of C.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<Positive>,
    /// GEMM: SRAM address of A.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub a: Option<u32>,
    /// GEMM: SRAM address of B.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b: Option<u32>,
    /// GEMM: SRAM address of C; SFU: destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c: Option<u32>,
    /// Semaphore index (0–15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sem: Option<u8>,
    /// `sem_wait`: units to take; `irq`: the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Operand format (the preset's when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
    /// SFU: SRAM address of the third auxiliary operand (LayerNorm statistics,
    /// Adam's v).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aux2: Option<u32>,
    /// SFU: SRAM address of the fourth auxiliary operand (LayerNorm backward's dγ,
    /// dβ).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aux3: Option<u32>,
    /// SFU: the scalar operands, up to four (softmax scale, ε, learning rate, …);
    /// absent: softmax scale 1, LayerNorm ε 1e-5, others 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scalars: Option<Vec<f32>>,
    /// SFU: reductions add to their destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accumulate: Option<bool>,
    /// `vector`: which element-wise operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector: Option<VectorName>,
}

/// The element-wise operations of a `vector` command (see the abi's `VectorOp`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VectorName {
    /// dst = src + a.
    Add,
    /// dst = src − a.
    Sub,
    /// dst = src ⊙ a.
    Mul,
    /// dst = src · scalar.
    Scale,
    /// dst = src + bias row a.
    AddBias,
    /// dst = src − lr · a.
    SgdUpdate,
    /// dst = src.
    Copy,
    /// dst = column sums of src.
    ColumnSum,
    /// dst = (src − a)·s0; b += loss.
    MseLoss,
    /// SGD with momentum (velocity at b).
    SgdMomentum,
    /// Adam (m at b, v at aux2).
    Adam,
}

/// Command names in a `commands` workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommandOp {
    /// `NOP`.
    Nop,
    /// `DMA_LOAD` (DRAM → SRAM).
    DmaLoad,
    /// `DMA_STORE` (SRAM → DRAM).
    DmaStore,
    /// `DMA_COPY` (SRAM → SRAM).
    DmaCopy,
    /// `GEMM`.
    Gemm,
    /// `SOFTMAX_FWD`.
    SoftmaxFwd,
    /// `SOFTMAX_BWD`.
    SoftmaxBwd,
    /// `LAYERNORM_FWD`.
    LayernormFwd,
    /// `LAYERNORM_BWD`.
    LayernormBwd,
    /// `GELU_FWD`.
    GeluFwd,
    /// `GELU_BWD`.
    GeluBwd,
    /// `VECTOR`: an element-wise operation (`vector`).
    Vector,
    /// `SEM_SIGNAL`.
    SemSignal,
    /// `SEM_WAIT`.
    SemWait,
    /// `FENCE`.
    Fence,
    /// `IRQ`.
    Irq,
}

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

/// The `overlap` key: `none`, `sfu`, `gemm`, `all`, or a boolean (none/all).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverlapSpec(pub Overlap);

impl OverlapSpec {
    const NAMES: [(&'static str, Overlap); 4] = [
        ("none", Overlap::NONE),
        (
            "sfu",
            Overlap {
                gemm: false,
                sfu: true,
            },
        ),
        (
            "gemm",
            Overlap {
                gemm: true,
                sfu: false,
            },
        ),
        ("all", Overlap::ALL),
    ];

    /// The key's name for this choice.
    pub fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, o)| *o == self.0)
            .map_or("all", |(n, _)| n)
    }
}

impl<'de> Deserialize<'de> for OverlapSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = OverlapSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("one of none, sfu, gemm, all (or true/false)")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<OverlapSpec, E> {
                Ok(OverlapSpec(if v { Overlap::ALL } else { Overlap::NONE }))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<OverlapSpec, E> {
                OverlapSpec::NAMES
                    .iter()
                    .find(|(n, _)| *n == v)
                    .map(|&(_, o)| OverlapSpec(o))
                    .ok_or_else(|| {
                        E::custom(format!(
                            "unknown overlap `{v}` (one of none, sfu, gemm, all, or true/false)"
                        ))
                    })
            }
        }
        d.deserialize_any(Visit)
    }
}

impl Serialize for OverlapSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.name().serialize(s)
    }
}

impl JsonSchema for OverlapSpec {
    fn schema_name() -> Cow<'static, str> {
        "Overlap".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<&str> = Self::NAMES.iter().map(|(n, _)| *n).collect();
        json_schema!({ "oneOf": [{ "type": "string", "enum": names }, { "type": "boolean" }] })
    }
}
