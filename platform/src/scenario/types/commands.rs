//! A `commands` workload's descriptors, in YAML form.

use super::names::Format;
use crate::scenario::values::Positive;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
    /// A vocabulary tile of an online log-sum-exp (targets at a, state at b,
    /// the loss at aux2).
    Logsumexp,
    /// A vocabulary tile of the cross-entropy gradient (targets at a, state at b).
    CrossEntropyBwd,
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
    /// `SOFTMAX_CAUSAL_FWD` (scalar 1: the first row's query index).
    SoftmaxCausalFwd,
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
