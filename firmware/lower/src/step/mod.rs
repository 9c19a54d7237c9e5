//! Lowering of a BERT-style post-LN encoder's training step — forward, MSE
//! loss, backward (every gradient, the input's included) and the optimizer —
//! over L stacked layers and N steps, into one command stream.
//!
//! ```text
//! q,k,v = x·Wq+bq, x·Wk+bk, x·Wv+bv            (per head h: columns h·Dh..)
//! P = softmax(q_h·k_hᵀ / √Dh)  ctx_h = P·v_h    attn = ctx·Wo + bo
//! y1 = LN1(x + attn)  h = y1·W1 + b1  g = gelu(h)  f = g·W2 + b2  y = LN2(y1 + f)
//! loss = ½·mean((y − target)²)
//! ```
//!
//! Every tensor lives in DRAM in fp32, row-major, tokens (B·S) as rows; the
//! per-head score, probability and their gradients are `[B, H, S, S]`. Each
//! operation is lowered on its own into tiles that fit the SRAM: GEMMs through
//! [`crate::gemm`] (head slices as strided views, transposed operands read
//! transposed), row operations (softmax, LayerNorm, GELU, the vector operations)
//! into tiles of rows with their vectors (γ, β, a bias) loaded once and their
//! reductions (dγ, dβ, bias gradients, the loss) accumulated in SRAM across the
//! tiles. By default GEMMs and row operations run as three-stage pipelines over
//! queues 0–2 ([`Overlap`]); an operation ends at a barrier before the next
//! starts, and a plan entry per operation says what it became. GEMM operands may
//! be multiplied in a narrower format than DRAM's (converted by the DMA, or read
//! from 8-bit weight copies), with fp32 accumulation and fp32 master weights.
//!
//! One concern per file:
//!
//! | file | what |
//! |---|---|
//! | `config.rs` | the dimensions and how to train ([`StepConfig`]) |
//! | `plan.rs` | what comes back ([`StepProgram`], [`PlanEntry`], [`DramTensor`]) |
//! | `tensors.rs` | every DRAM tensor of the step, in the golden data's names |
//! | `builder.rs` | the stream as it grows: allocation, commands, copies, GEMMs |
//! | `rows.rs` | row operations tiled by rows, and their pipeline stages |
//! | `ops.rs` | the blocks layers are made of: linear, LayerNorm, per-head views |
//! | `forward.rs`, `loss.rs`, `backward.rs`, `update.rs` | a step's four phases |

mod backward;
mod builder;
mod config;
mod forward;
mod lm;
mod loss;
mod ops;
mod plan;
mod rows;
mod tensors;
mod update;

pub use config::{ClassFormats, EncoderDims, Optimizer, Overlap, StepConfig};
pub use lm::{lower_lm_step, LmBatch, LmSpec, MAX_VOCAB, PATCH_PIXELS};
pub use plan::{DramTensor, HostInput, PlanEntry, StepProgram, TensorView, ViewLayout};

use crate::{LowerError, Region};
use builder::Builder;
use ops::Ops;
use tensors::{tensor_name, Tensors, PARAMS};

/// Lowers `config.steps` training steps of `config.layers` layers of `dims` on
/// one batch: tensors from `dram_base` (within `dram_bytes`), SRAM `sram` for
/// tiles. The loss of step i is element i of `output.loss`.
pub fn lower_training_step(
    dims: &EncoderDims,
    config: &StepConfig,
    sram: Region,
    dram_base: u64,
    dram_bytes: u64,
) -> Result<StepProgram, LowerError> {
    dims.check()?;
    let mut b = Builder::new(sram, dram_base, dram_bytes, config);
    let ops = Ops::new(dims, config);
    let Tensors {
        target,
        loss,
        layers,
    } = Tensors::allocate(&mut b, dims, config)?;
    let layers_n = layers.len() as u64;
    let steps = u64::from(config.steps.max(1));
    // Plan entries of a stack's layers carry the layer: `layer3.fwd.q_proj`.
    let scope = |l: usize| {
        if layers_n == 1 {
            String::new()
        } else {
            format!("layer{l}.")
        }
    };
    // The weights' narrow copies, made once; each update refreshes them.
    for (l, layer) in layers.iter().enumerate() {
        b.scope = scope(l);
        for (pn, shape) in PARAMS {
            if let Some(&copy) = layer.w.w8.get(pn) {
                b.convert(&format!("copy.{pn}"), layer.w.p[pn], copy, shape.dims(dims))?;
            }
        }
    }
    b.scope.clear();
    let top = layers.len() - 1;
    for step in 0..steps {
        for (l, layer) in layers.iter().enumerate() {
            b.scope = scope(l);
            ops.forward(&mut b, layer)?;
        }
        b.scope.clear();
        ops.mse_loss(&mut b, &layers[top], target, loss, step)?;
        for (l, layer) in layers.iter().enumerate().rev() {
            b.scope = scope(l);
            ops.backward(&mut b, layer)?;
        }
        b.scope.clear();
        ops.update(&mut b, &layers, step)?;
    }
    b.parameters = (0..layers_n)
        .flat_map(|l| PARAMS.iter().map(move |(n, _)| tensor_name(n, l, layers_n)))
        .collect();
    if ops.fused && !config.keep_gradients {
        let grads = (0..layers_n).flat_map(|l| {
            PARAMS
                .iter()
                .filter(|(_, shape)| shape.is_matrix())
                .map(move |(n, _)| tensor_name(&format!("grad.{n}"), l, layers_n))
        });
        b.unstored.extend(grads);
    }
    Ok(b.finish(config))
}
