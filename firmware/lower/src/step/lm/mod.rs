//! Lowering of a whole model's training step — token and position
//! embeddings, L pre-LN causal decoder layers (GPT-2), the final LayerNorm, the
//! LM head tied to the token embedding, softmax cross-entropy over the
//! vocabulary averaged over the B·S tokens, the backward pass through all of
//! it, and the optimizer — into one command stream, on the same building blocks
//! as the encoder step ([`crate::step`]). BERT (`bert.rs`: post-LN encoders,
//! the masked-LM head) and ViT (`vit.rs`: patch GEMM, class token, classifier)
//! are built from the same parts.
//!
//! | file | what |
//! |---|---|
//! | `tensors.rs` | every DRAM tensor, in the GPT golden data's names, and views |
//! | `embed.rs` | the gather by token id, the scatter-add of its gradient |
//! | `attention.rs` | causal attention GEMMs with the masked tiles skipped |
//! | `decoder.rs` | a decoder layer's forward and backward |
//! | `head.rs` | final LayerNorm, tied head, vocabulary-tiled cross-entropy |
//! | `bert.rs` | BERT: embeddings with LayerNorm, post-LN layers, MLM head |
//! | `vit.rs` | ViT: patch GEMM, class token, unmasked layers, classifier |

mod attention;
mod bert;
mod decoder;
mod embed;
mod head;
mod tensors;
mod vit;

use super::builder::Builder;
use super::config::{EncoderDims, StepConfig};
use super::ops::Ops;
use super::plan::{HostInput, StepProgram};
use super::tensors::{ParamT, Weights};
use crate::zoo::Architecture;
use crate::{LowerError, Region};
use tensors::{layer_name, LmTensors, FINAL_BETA, FINAL_GAMMA, WPE, WTE};

/// Largest vocabulary: target ids travel to the SFU exactly as f32 (< 2²⁴).
pub const MAX_VOCAB: u32 = 1 << 24;

pub use vit::PATCH_PIXELS;

/// The shape of a language model's step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LmSpec {
    /// GPT-2's pre-LN causal decoders or BERT's post-LN encoders (with its
    /// embedding LayerNorm and masked-LM head).
    pub arch: Architecture,
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
        if self.arch == Architecture::VisionEncoder && self.s < 2 {
            return Err(LowerError(format!(
                "a ViT sequence is the class token and at least one patch, not S = {}",
                self.s
            )));
        }
        Ok(())
    }
}

/// The batch: token ids and their targets, B·S each, batch-major; for ViT
/// its images' patches and one class per image.
#[derive(Clone, Debug, PartialEq)]
pub struct LmBatch {
    /// Input ids (`input.tokens`; none for ViT).
    pub tokens: Vec<u32>,
    /// Target ids (`input.targets`; ViT: B classes).
    pub targets: Vec<u32>,
    /// ViT: B·(S − 1) patches of [`PATCH_PIXELS`] pixels, image-major (none for
    /// a language model).
    pub images: Vec<f32>,
}

impl LmBatch {
    /// Whether every id is a row of the vocabulary: an error names the tensor
    /// and the index `[b, s]` of the first that is not.
    pub fn check(&self, spec: &LmSpec) -> Result<(), LowerError> {
        let (b, s) = (spec.b as usize, spec.s as usize);
        let vision = spec.arch == Architecture::VisionEncoder;
        let (tokens, targets, pixels) = if vision {
            (0, b, b * s.saturating_sub(1) * PATCH_PIXELS as usize)
        } else {
            (b * s, b * s, 0)
        };
        for (name, len, want) in [
            ("input.tokens", self.tokens.len(), tokens),
            ("input.targets", self.targets.len(), targets),
            ("input.patches", self.images.len(), pixels),
        ] {
            if len != want {
                return Err(LowerError(format!("{name} has {len} values, not {want}")));
            }
        }
        for (name, ids) in [
            ("input.tokens", &self.tokens),
            ("input.targets", &self.targets),
        ] {
            if let Some((i, id)) = ids.iter().enumerate().find(|(_, &id)| id >= spec.vocab) {
                let at = if vision {
                    format!("{i}")
                } else {
                    format!("{}, {}", i / s, i % s)
                };
                return Err(LowerError(format!(
                    "{name}[{at}] = {id} is not below the vocabulary size V = {}",
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
    let mut b = Builder::new(sram, dram_base, dram_end, config);
    let ops = Ops::new(&spec.layer_dims(), config);
    match spec.arch {
        Architecture::PreLnDecoder => lower_gpt(&mut b, &ops, spec, batch, config)?,
        Architecture::PostLnEncoder => bert::lower_bert(&mut b, &ops, spec, batch, config)?,
        Architecture::VisionEncoder => vit::lower_vit(&mut b, &ops, spec, batch, config)?,
    }
    Ok(b.finish(config))
}

/// GPT-2: gather, decoders, final LayerNorm, tied head, cross-entropy, backward
/// and update, `config.steps` times.
fn lower_gpt(
    b: &mut Builder,
    ops: &Ops,
    spec: &LmSpec,
    batch: &LmBatch,
    config: &StepConfig,
) -> Result<(), LowerError> {
    let m = LmTensors::allocate(b, spec, config)?;
    let e = spec.layer_dims();
    let top = [
        (WTE, (u64::from(spec.vocab), u64::from(spec.d))),
        (WPE, (u64::from(spec.positions), u64::from(spec.d))),
        (FINAL_GAMMA, (1, u64::from(spec.d))),
        (FINAL_BETA, (1, u64::from(spec.d))),
    ];
    let mut params = Param::top(&m.top, &top, &[]);
    for (l, layer) in m.layers.iter().enumerate() {
        params.extend(Param::layer(&layer.w, &e, |k| layer_name(k, l)));
    }
    make_copies(b, &params)?;
    for step in 0..u64::from(config.steps.max(1)) {
        ops.embed_forward(b, (m.top.p[WTE], m.top.p[WPE]), &batch.tokens, m.x0)?;
        for (l, layer) in m.layers.iter().enumerate() {
            b.scope = format!("layer{l}.");
            ops.decoder_forward(b, layer)?;
        }
        b.scope.clear();
        ops.gpt_head_forward(b, &m)?;
        ops.cross_entropy(b, &m.ce, step)?;
        ops.tied_head_backward(b, &m.ce, m.h, m.top.gemm_weight(WTE), m.top.g[WTE], m.dh)?;
        ops.gpt_final_ln_backward(b, &m)?;
        for (l, layer) in m.layers.iter().enumerate().rev() {
            b.scope = format!("layer{l}.");
            ops.decoder_backward(b, layer)?;
        }
        b.scope.clear();
        ops.embed_backward(b, (m.top.g[WTE], m.top.g[WPE]), &batch.tokens, m.dx0)?;
        update_all(b, ops, &params, step)?;
    }
    b.result(
        &params,
        ops.fused && !config.keep_gradients,
        m.views.clone(),
        &m.ce.targets,
        batch,
    );
    Ok(())
}

/// One parameter of a model.
pub(super) struct Param<'m> {
    /// Its DRAM name (`layer3.attn.wq`).
    pub(super) name: String,
    /// Its key in `params` (`layer.attn.wq`).
    pub(super) key: &'static str,
    /// The set it belongs to.
    pub(super) params: &'m ParamT,
    /// A weight matrix of a layer (its SGD may be fused into its dW GEMM).
    pub(super) layer_matrix: bool,
    /// Rows × cols.
    pub(super) dims: (u64, u64),
}

impl<'m> Param<'m> {
    /// The model-level parameters `shapes` (key = DRAM name) of `params`;
    /// those in `in_dw_gemm` are updated in their dW GEMM's epilogue when SGD
    /// is fused, like a layer's weight matrices.
    pub(super) fn top(
        params: &'m ParamT,
        shapes: &[(&'static str, (u64, u64))],
        in_dw_gemm: &[&str],
    ) -> Vec<Param<'m>> {
        shapes
            .iter()
            .map(|&(key, dims)| Param {
                name: key.to_string(),
                key,
                params,
                layer_matrix: in_dw_gemm.contains(&key),
                dims,
            })
            .collect()
    }

    /// A layer's parameters ([`ParamT::layer_shapes`]) named by `name`.
    pub(super) fn layer(
        params: &'m ParamT,
        e: &EncoderDims,
        name: impl Fn(&str) -> String,
    ) -> Vec<Param<'m>> {
        ParamT::layer_shapes(e)
            .into_iter()
            .map(|(key, dims, matrix)| Param {
                name: name(key),
                key,
                params,
                layer_matrix: matrix,
                dims,
            })
            .collect()
    }
}

/// The model-level parameters `shapes`, with 8-bit GEMM copies of
/// `gemm_weights`, named by their keys.
pub(super) fn allocate_top(
    b: &mut Builder,
    shapes: &[(&'static str, (u64, u64))],
    gemm_weights: &[&str],
    config: &StepConfig,
) -> Result<ParamT, LowerError> {
    let alloc: Vec<_> = shapes
        .iter()
        .map(|&(k, dims)| (k, dims, gemm_weights.contains(&k)))
        .collect();
    ParamT::allocate(b, &alloc, config, str::to_string)
}

/// The weights' narrow copies, made once; each update refreshes them.
pub(super) fn make_copies(b: &mut Builder, params: &[Param]) -> Result<(), LowerError> {
    for p in params {
        if let Some(&copy) = p.params.w8.get(p.key) {
            b.convert(&format!("copy.{}", p.name), p.params.p[p.key], copy, p.dims)?;
        }
    }
    Ok(())
}

/// The update of every parameter after step `step` (the layers' weight
/// matrices excepted when their SGD is fused into the dW GEMMs).
pub(super) fn update_all(
    b: &mut Builder,
    ops: &Ops,
    params: &[Param],
    step: u64,
) -> Result<(), LowerError> {
    for p in params {
        if !(ops.fused && p.layer_matrix) {
            let op = format!("sgd.{}", p.name);
            ops.update_param(b, &op, p.params, p.key, p.dims, step)?;
        }
    }
    Ok(())
}

impl Builder {
    /// Records what the step's program reports besides its commands: the
    /// parameters, the gradients a fused update did not store, the views, and
    /// the target ids as a host input at `targets`.
    fn result(
        &mut self,
        params: &[Param],
        fused_unstored: bool,
        views: Vec<super::plan::TensorView>,
        targets: &super::builder::View,
        batch: &LmBatch,
    ) {
        self.parameters = params.iter().map(|p| p.name.clone()).collect();
        if fused_unstored {
            self.unstored.extend(
                params
                    .iter()
                    .filter(|p| p.layer_matrix)
                    .map(|p| format!("grad.{}", p.name)),
            );
        }
        self.views = views;
        self.host_inputs = vec![HostInput {
            name: "input.targets.ids".into(),
            addr: targets.addr,
            bytes: batch.targets.iter().flat_map(|t| t.to_le_bytes()).collect(),
        }];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zoo::ModelSpec;

    /// A zoo model's step lowered at a short sequence, everything pipelined.
    fn lowered(model: &ModelSpec) -> StepProgram {
        let spec = LmSpec {
            arch: model.arch,
            b: 1,
            s: 8,
            vocab: model.vocab,
            positions: model.positions,
            d: model.d,
            h: model.h,
            f: model.f,
            layers: model.layers,
            vocab_tile: LmSpec::VOCAB_TILE,
        };
        let vision = model.arch == Architecture::VisionEncoder;
        let batch = LmBatch {
            tokens: if vision { Vec::new() } else { vec![1; 8] },
            targets: vec![2; if vision { 1 } else { 8 }],
            images: if vision {
                vec![0.5; 7 * PATCH_PIXELS as usize]
            } else {
                Vec::new()
            },
        };
        let sram = Region {
            base: 0,
            bytes: 1536 * 1024,
        };
        lower_lm_step(&spec, &batch, &StepConfig::default(), sram, 0, 1 << 36)
            .unwrap_or_else(|e| panic!("{}: {e}", model.name))
    }

    /// The parameters a zoo model's lowered step trains.
    fn trained_parameters(model: &ModelSpec) -> u64 {
        let step = lowered(model);
        step.parameters
            .iter()
            .map(|name| {
                let t = step.tensor(name).expect("a parameter is a DRAM tensor");
                t.rows * t.cols
            })
            .sum()
    }

    #[test]
    fn the_lowering_leaves_the_drivers_join_semaphore_alone() {
        // The driver joins its queues on this semaphore at the end of every
        // batch; a pipeline stage signalling it too let the join pass early.
        for name in ["gpt2", "vit-b16"] {
            let step = lowered(ModelSpec::by_name(name).expect("in the zoo"));
            let sems: Vec<u8> = step
                .descriptors
                .iter()
                .filter_map(|d| match d.command {
                    treta_abi::Command::SemSignal { sem }
                    | treta_abi::Command::SemWait { sem, .. } => Some(sem),
                    _ => None,
                })
                .collect();
            assert!(sems.len() > 100, "{name}: a pipelined step uses semaphores");
            assert!(
                sems.iter().all(|&s| s != treta_abi::desc::DRIVER_JOIN_SEM),
                "{name}"
            );
        }
    }

    #[test]
    fn every_zoo_model_trains_exactly_its_published_parameters() {
        for name in ["gpt2", "gpt2-medium", "bert-base", "bert-large", "vit-b16"] {
            let model = ModelSpec::by_name(name).expect("in the zoo");
            assert_eq!(
                trained_parameters(model),
                model.parameters().total(),
                "{name}"
            );
        }
    }
}
