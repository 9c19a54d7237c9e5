//! Lowering of a whole language model's training step — token and position
//! embeddings, L pre-LN causal decoder layers (GPT-2), the final LayerNorm, the
//! LM head tied to the token embedding, softmax cross-entropy over the
//! vocabulary averaged over the B·S tokens, the backward pass through all of
//! it, and the optimizer — into one command stream, on the same building blocks
//! as the encoder step ([`crate::step`]).
//!
//! | file | what |
//! |---|---|
//! | `tensors.rs` | every DRAM tensor, in the GPT golden data's names, and views |
//! | `embed.rs` | the gather by token id, the scatter-add of its gradient |
//! | `attention.rs` | causal attention GEMMs with the masked tiles skipped |
//! | `decoder.rs` | a decoder layer's forward and backward |
//! | `head.rs` | final LayerNorm, tied head, vocabulary-tiled cross-entropy |

mod attention;
mod decoder;
mod embed;
mod head;
mod tensors;

use super::builder::Builder;
use super::config::{EncoderDims, StepConfig};
use super::ops::Ops;
use super::plan::{HostInput, StepProgram};
use super::tensors::ParamT;
use crate::{LowerError, Region};
use tensors::{layer_name, LmTensors, FINAL_BETA, FINAL_GAMMA, WPE, WTE};

/// Largest vocabulary: target ids travel to the SFU exactly as f32 (< 2²⁴).
pub const MAX_VOCAB: u32 = 1 << 24;

/// The shape of a decoder-only language model's step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LmSpec {
    /// Batch.
    pub b: u32,
    /// Sequence length (at most `positions`).
    pub s: u32,
    /// Vocabulary.
    pub vocab: u32,
    /// Rows of the position table.
    pub positions: u32,
    /// Model width.
    pub d: u32,
    /// Heads.
    pub h: u32,
    /// FFN width.
    pub f: u32,
    /// Decoder layers.
    pub layers: u32,
    /// Vocabulary columns per cross-entropy tile (a logits row never has to fit
    /// the SRAM; see `head.rs`).
    pub vocab_tile: u32,
}

impl LmSpec {
    /// Vocabulary columns per tile by default.
    pub const VOCAB_TILE: u32 = 8192;

    /// One layer's dimensions.
    pub fn layer_dims(&self) -> EncoderDims {
        EncoderDims {
            b: self.b,
            s: self.s,
            d: self.d,
            h: self.h,
            f: self.f,
        }
    }

    /// Whether the dimensions make a model.
    pub fn check(&self) -> Result<(), LowerError> {
        self.layer_dims().check()?;
        if [self.vocab, self.positions, self.layers, self.vocab_tile].contains(&0) {
            return Err(LowerError(format!(
                "{self:?}: every dimension must be positive"
            )));
        }
        if self.s > self.positions {
            return Err(LowerError(format!(
                "the sequence (S = {}) is longer than the position table (embed.wpe has {} rows)",
                self.s, self.positions
            )));
        }
        if self.vocab >= MAX_VOCAB {
            return Err(LowerError(format!(
                "a vocabulary of {} is not below 2^24 (target ids travel as f32)",
                self.vocab
            )));
        }
        Ok(())
    }
}

/// The batch: token ids and their targets, B·S each, batch-major.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LmBatch {
    /// Input ids (`input.tokens`).
    pub tokens: Vec<u32>,
    /// Target ids (`input.targets`).
    pub targets: Vec<u32>,
}

impl LmBatch {
    /// Whether every id is a row of the vocabulary: an error names the tensor
    /// and the index `[b, s]` of the first that is not.
    pub fn check(&self, spec: &LmSpec) -> Result<(), LowerError> {
        let t = spec.b as usize * spec.s as usize;
        for (name, ids) in [
            ("input.tokens", &self.tokens),
            ("input.targets", &self.targets),
        ] {
            if ids.len() != t {
                return Err(LowerError(format!(
                    "{name} has {} ids, B·S = {t}",
                    ids.len()
                )));
            }
            if let Some((i, id)) = ids.iter().enumerate().find(|(_, &id)| id >= spec.vocab) {
                let (bi, si) = (i / spec.s as usize, i % spec.s as usize);
                return Err(LowerError(format!(
                    "{name}[{bi}, {si}] = {id} is not below the vocabulary size V = {}",
                    spec.vocab
                )));
            }
        }
        Ok(())
    }
}

/// Lowers `config.steps` training steps of `spec` on `batch`: tensors from
/// `dram_base` (within `dram_end`), SRAM `sram` for tiles. The loss of step i is
/// element i of `output.loss`; the target ids are a host input.
pub fn lower_lm_step(
    spec: &LmSpec,
    batch: &LmBatch,
    config: &StepConfig,
    sram: Region,
    dram_base: u64,
    dram_end: u64,
) -> Result<StepProgram, LowerError> {
    spec.check()?;
    batch.check(spec)?;
    let e = spec.layer_dims();
    let mut b = Builder::new(sram, dram_base, dram_end, config.overlap);
    let ops = Ops::new(&e, config);
    let m = LmTensors::allocate(&mut b, spec, config)?;
    let vocab = u64::from(spec.vocab);
    let tile = u64::from(spec.vocab_tile);
    let shapes = ParamShapes::new(spec);
    // The weights' narrow copies, made once; each update refreshes them.
    for p in shapes.all(&m) {
        if let Some(&copy) = p.params.w8.get(p.key) {
            b.convert(&format!("copy.{}", p.name), p.params.p[p.key], copy, p.dims)?;
        }
    }
    let steps = u64::from(config.steps.max(1));
    let wte_wpe = (m.top.p[WTE], m.top.p[WPE]);
    for step in 0..steps {
        ops.embed_forward(&mut b, wte_wpe, &batch.tokens, m.x0)?;
        for (l, layer) in m.layers.iter().enumerate() {
            b.scope = format!("layer{l}.");
            ops.decoder_forward(&mut b, layer)?;
        }
        b.scope.clear();
        ops.lm_head_forward(&mut b, &m, vocab, tile, step)?;
        ops.lm_head_backward(&mut b, &m, vocab)?;
        for (l, layer) in m.layers.iter().enumerate().rev() {
            b.scope = format!("layer{l}.");
            ops.decoder_backward(&mut b, layer)?;
        }
        b.scope.clear();
        ops.embed_backward(&mut b, (m.top.g[WTE], m.top.g[WPE]), &batch.tokens, m.dx0)?;
        for p in shapes.all(&m) {
            if !(ops.fused && p.layer_matrix) {
                let op = format!("sgd.{}", p.name);
                ops.update_param(&mut b, &op, p.params, p.key, p.dims, step)?;
            }
        }
    }
    let parameters = shapes.all(&m).map(|p| p.name).collect();
    let unstored = if ops.fused && !config.keep_gradients {
        shapes
            .all(&m)
            .filter(|p| p.layer_matrix)
            .map(|p| format!("grad.{}", p.name))
            .collect()
    } else {
        Vec::new()
    };
    let targets = batch.targets.iter().flat_map(|t| t.to_le_bytes()).collect();
    Ok(StepProgram {
        parameters,
        optimizer: config.optimizer,
        unstored,
        queue_of: b.queue_of,
        descriptors: b.out,
        tensors: b.tensors,
        plan: b.plan,
        views: m.views,
        host_inputs: vec![HostInput {
            name: "input.targets.ids".into(),
            addr: m.targets.addr,
            bytes: targets,
        }],
    })
}

/// One parameter of the model.
struct Param<'m> {
    /// Its DRAM name (`layer3.attn.wq`).
    name: String,
    /// Its key in `params` (`layer.attn.wq`).
    key: &'static str,
    /// The set it belongs to.
    params: &'m ParamT,
    /// A weight matrix of a layer (its SGD may be fused into its dW GEMM).
    layer_matrix: bool,
    /// Rows × cols.
    dims: (u64, u64),
}

/// Every parameter of the model: the embeddings and final LayerNorm, then each
/// layer's.
struct ParamShapes {
    top: [(&'static str, (u64, u64)); 4],
    layer: Vec<(&'static str, (u64, u64), bool)>,
    layers: usize,
}

impl ParamShapes {
    fn new(spec: &LmSpec) -> ParamShapes {
        let d = u64::from(spec.d);
        ParamShapes {
            top: [
                (WTE, (u64::from(spec.vocab), d)),
                (WPE, (u64::from(spec.positions), d)),
                (FINAL_GAMMA, (1, d)),
                (FINAL_BETA, (1, d)),
            ],
            layer: ParamT::layer_shapes(&spec.layer_dims()),
            layers: spec.layers as usize,
        }
    }

    /// Every parameter, in allocation order.
    fn all<'m>(&'m self, m: &'m LmTensors) -> impl Iterator<Item = Param<'m>> + 'm {
        let top = self.top.iter().map(move |&(key, dims)| Param {
            name: key.to_string(),
            key,
            params: &m.top,
            layer_matrix: false,
            dims,
        });
        let layers = (0..self.layers).flat_map(move |l| {
            self.layer.iter().map(move |&(key, dims, matrix)| Param {
                name: layer_name(key, l),
                key,
                params: &m.layers[l].w,
                layer_matrix: matrix,
                dims,
            })
        });
        top.chain(layers)
    }
}
