//! The `workload` section: GEMM lists and training steps (`commands` programs
//! are in `commands.rs`).

use super::commands::CommandSpec;
use super::names::{Format, OverlapSpec};
use crate::scenario::values::Positive;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
    /// A model of the zoo (`treta-vp models`): for `encoder_training_step` the
    /// layer shape of an encoder (`bert-base`, `bert-large`, `vit-b16`), for
    /// `lm_training_step` the whole decoder model (`gpt2`, `gpt2-medium`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// With `model`: the batch (1 by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<Positive>,
    /// With `model`: the sequence length (the model's usual one by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<Positive>,
    /// `lm_training_step`: vocabulary columns per cross-entropy tile (8192 by
    /// default; a logits row never has to fit the SRAM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vocab_tile: Option<Positive>,
    /// `encoder_training_step`: explicit dimensions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dims: Option<EncoderDimsSpec>,
    /// `encoder_training_step`, `lm_training_step`: a golden directory (the format of
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
    /// Training steps: fold the elementwise operation that follows a GEMM —
    /// a bias, a residual, the GELU or its backward, the sum of a gradient's
    /// paths — into the GEMM's epilogue instead of a separate pass over its
    /// result in DRAM (true by default; same numbers, less DRAM traffic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuse_epilogues: Option<bool>,
    /// `encoder_training_step`: store the fused weight matrices' gradients to
    /// DRAM anyway (false by default; forced by a one-step `golden` run, which
    /// compares them; `--dump-tensors` writes them only then), and the
    /// intermediate values fused epilogues skip.
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
    /// loss is taken on the top one's output. `lm_training_step` with `model`:
    /// fewer decoder layers than the model has (all by default).
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
    /// One training step of a whole decoder-only language model (GPT-2):
    /// embeddings, causal decoder layers, final LayerNorm, tied LM head,
    /// cross-entropy, backward and update (`model` or a `gpt_lm_step` `golden`).
    LmTrainingStep,
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
    /// Format C is stored in (fp32 when absent): C accumulates in fp32 in SRAM
    /// either way, and the store's DMA converts — an 8-bit C is what a chain of
    /// 8-bit GEMMs reads next, at a quarter of the store traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c_format: Option<Format>,
}

fn one() -> Positive {
    Positive::new(1).unwrap_or_else(|| unreachable!("1 is positive"))
}

fn is_one(p: &Positive) -> bool {
    p.get() == 1
}
