//! The DRAM tensors of a language model's step, in the GPT golden data's names:
//! the embeddings and final LayerNorm, each decoder layer's parameters,
//! activations and their gradients, and the views that present merged-head and
//! statistics tensors in the reference's layout.

use super::head::CrossEntropy;
use super::LmSpec;
use crate::step::builder::{Builder, View};
use crate::step::config::StepConfig;
use crate::step::plan::{TensorView, ViewLayout};
use crate::step::tensors::{ParamT, Weights};
use crate::LowerError;

/// The model-level parameters: token and position embeddings, final LayerNorm.
pub(super) const WTE: &str = "embed.wte";
/// Learned positions.
pub(super) const WPE: &str = "embed.wpe";
/// Final LayerNorm γ.
pub(super) const FINAL_GAMMA: &str = "final_ln.gamma";
/// Final LayerNorm β.
pub(super) const FINAL_BETA: &str = "final_ln.beta";

/// Name `s` (written with `layer.` for the layer) for layer `l`: the first
/// `layer.` becomes `layer{l}.` (`act.layer.ln1.out` → `act.layer3.ln1.out`).
pub(super) fn layer_name(s: &str, l: usize) -> String {
    s.replacen("layer.", &format!("layer{l}."), 1)
}

/// One pre-LN decoder layer's tensors.
#[derive(Clone)]
pub(super) struct DecoderT {
    /// Parameters (keys as [`crate::step::tensors::PARAMS`]).
    pub(super) w: ParamT,
    pub(super) x: View,
    pub(super) u1: View,
    pub(super) st1: View,
    pub(super) q: View,
    pub(super) k: View,
    pub(super) v: View,
    pub(super) scores: View,
    pub(super) probs: View,
    pub(super) ctx: View,
    pub(super) attn: View,
    pub(super) a: View,
    pub(super) u2: View,
    pub(super) st2: View,
    pub(super) hp: View,
    pub(super) g: View,
    pub(super) fo: View,
    pub(super) y: View,
    pub(super) dy: View,
    pub(super) dg: View,
    pub(super) dhp: View,
    pub(super) du2: View,
    pub(super) dln2: View,
    pub(super) da: View,
    pub(super) dctx: View,
    pub(super) dp: View,
    pub(super) ds: View,
    pub(super) ds_scaled: View,
    pub(super) dq: View,
    pub(super) dk: View,
    pub(super) dv: View,
    pub(super) du1_q: View,
    pub(super) du1_k: View,
    pub(super) du1_v: View,
    pub(super) du1: View,
    pub(super) dln1: View,
    pub(super) dx: View,
    pub(super) pair1: View,
    pub(super) pair2: View,
    /// Whether attention is causal (GPT-2) or sees every position (ViT).
    pub(super) causal: bool,
}

impl Weights for DecoderT {
    fn params(&self) -> &ParamT {
        &self.w
    }
}

/// Every tensor of the step.
pub(super) struct LmTensors {
    /// Embeddings and final LayerNorm.
    pub(super) top: ParamT,
    /// The embedding's output (layer 0's input).
    pub(super) x0: View,
    /// Its gradient (total).
    pub(super) dx0: View,
    /// Layers, bottom first.
    pub(super) layers: Vec<DecoderT>,
    /// Final LayerNorm output h, statistics, and the gradients around it.
    pub(super) h: View,
    pub(super) stf: View,
    pub(super) dh: View,
    pub(super) pairf: View,
    /// The cross-entropy's tensors.
    pub(super) ce: CrossEntropy,
    /// Reference tensors held elsewhere.
    pub(super) views: Vec<TensorView>,
}

impl LmTensors {
    /// Allocates the step's tensors for `spec`.
    pub(super) fn allocate(
        b: &mut Builder,
        spec: &LmSpec,
        config: &StepConfig,
    ) -> Result<LmTensors, LowerError> {
        let e = spec.layer_dims();
        let (t, d, vocab) = (e.tokens(), u64::from(e.d), u64::from(spec.vocab));
        let top_shapes = [
            (WTE, (vocab, d), true),
            (WPE, (u64::from(spec.positions), d), false),
            (FINAL_GAMMA, (1, d), false),
            (FINAL_BETA, (1, d), false),
        ];
        let top = ParamT::allocate(b, &top_shapes, config, str::to_string)?;
        let (targets, loss) = CrossEntropy::inputs(b, t, config)?;
        let x0 = b.alloc("act.embed.out", t, d)?;
        let dx0 = b.alloc("grad.act.embed.out", t, d)?;
        let (layers, mut views) = allocate_decoders(b, spec, config, (x0, dx0), true)?;
        let mut view = |name: String, source: String, layout| {
            views.push(TensorView {
                name,
                source,
                layout,
            })
        };
        let top_layer = spec.layers as usize - 1;
        view(
            "act.final_ln.in".into(),
            layer_name("act.layer.out", top_layer),
            ViewLayout::Same,
        );
        view(
            "grad.act.final_ln.in".into(),
            layer_name("grad.act.layer.out", top_layer),
            ViewLayout::Same,
        );
        let h = b.alloc("act.final_ln.out", t, d)?;
        let stf = b.alloc("act.final_ln.stats", t, 2)?;
        for (col, stat) in ["mean", "rstd"].into_iter().enumerate() {
            view(
                format!("act.final_ln.{stat}"),
                "act.final_ln.stats".into(),
                ViewLayout::Column {
                    of: 2,
                    col: col as u64,
                },
            );
        }
        let dh = b.alloc("grad.act.final_ln.out", t, d)?;
        let pairf = b.alloc("grad.final_ln.pair", 2, d)?;
        let ce =
            CrossEntropy::allocate(b, (targets, loss), t, (vocab, u64::from(spec.vocab_tile)))?;
        Ok(LmTensors {
            top,
            x0,
            dx0,
            layers,
            h,
            stf,
            dh,
            pairf,
            ce,
            views,
        })
    }
}

/// Allocates `spec.layers` pre-LN layers on the input `x0` (gradient `dx0`),
/// named as GPT's golden data names them, with the views that present their
/// merged heads and LayerNorm statistics in the reference's layout.
pub(super) fn allocate_decoders(
    b: &mut Builder,
    spec: &LmSpec,
    config: &StepConfig,
    (x0, dx0): (View, View),
    causal: bool,
) -> Result<(Vec<DecoderT>, Vec<TensorView>), LowerError> {
    let e = spec.layer_dims();
    let (t, d, f, s) = (e.tokens(), u64::from(e.d), u64::from(e.f), u64::from(e.s));
    let heads = u64::from(e.b) * u64::from(e.h);
    let mut views = Vec::new();
    let mut view = |name: String, source: String, layout| {
        views.push(TensorView {
            name,
            source,
            layout,
        })
    };
    let heads_layout = ViewLayout::Heads {
        b: u64::from(e.b),
        s,
        h: u64::from(e.h),
        dh: u64::from(e.dh()),
    };
    let mut layers: Vec<DecoderT> = Vec::new();
    let mut input = (x0, "act.embed.out".to_string());
    let mut input_grad = dx0;
    for l in 0..spec.layers as usize {
        let name = |s: &str| layer_name(s, l);
        let w = ParamT::allocate(b, &ParamT::layer_shapes(&e), config, name)?;
        // Tensors only GEMMs read may be kept in their format.
        let mut a = |s: &str, rows: u64, cols: u64| {
            let format = config.stored_format(s);
            b.alloc_in(&name(s), rows, cols, format)
        };
        let layer = DecoderT {
            w,
            x: input.0,
            u1: a("act.layer.ln1.out", t, d)?,
            st1: a("act.layer.ln1.stats", t, 2)?,
            q: a("act.layer.attn.q_merged", t, d)?,
            k: a("act.layer.attn.k_merged", t, d)?,
            v: a("act.layer.attn.v_merged", t, d)?,
            scores: a("act.layer.attn.scores_unscaled", heads * s, s)?,
            probs: a("act.layer.attn.probs", heads * s, s)?,
            ctx: a("act.layer.attn.ctx_merged", t, d)?,
            attn: a("act.layer.attn.out", t, d)?,
            a: a("act.layer.ln2.in", t, d)?,
            u2: a("act.layer.ln2.out", t, d)?,
            st2: a("act.layer.ln2.stats", t, 2)?,
            hp: a("act.layer.ffn.h_pre", t, f)?,
            g: a("act.layer.ffn.h_post", t, f)?,
            fo: a("act.layer.ffn.out", t, d)?,
            y: a("act.layer.out", t, d)?,
            dy: a("grad.act.layer.out", t, d)?,
            dg: a("grad.act.layer.ffn.h_post", t, f)?,
            dhp: a("grad.act.layer.ffn.h_pre", t, f)?,
            du2: a("grad.act.layer.ln2.out", t, d)?,
            dln2: a("grad.act.layer.ln2.in", t, d)?,
            da: a("grad.act.layer.attn.out", t, d)?,
            dctx: a("grad.act.layer.attn.ctx_merged", t, d)?,
            dp: a("grad.act.layer.attn.probs", heads * s, s)?,
            ds: a("grad.act.layer.attn.scores", heads * s, s)?,
            ds_scaled: a("grad.act.layer.attn.scores_scaled", heads * s, s)?,
            dq: a("grad.act.layer.attn.q_merged", t, d)?,
            dk: a("grad.act.layer.attn.k_merged", t, d)?,
            dv: a("grad.act.layer.attn.v_merged", t, d)?,
            du1_q: a("grad.act.layer.ln1.out.q", t, d)?,
            du1_k: a("grad.act.layer.ln1.out.k", t, d)?,
            du1_v: a("grad.act.layer.ln1.out.v", t, d)?,
            du1: a("grad.act.layer.ln1.out", t, d)?,
            dln1: a("grad.act.layer.ln1.in", t, d)?,
            dx: input_grad,
            pair1: a("grad.layer.ln1.pair", 2, d)?,
            pair2: a("grad.layer.ln2.pair", 2, d)?,
            causal,
        };
        view(name("act.layer.ln1.in"), input.1.clone(), ViewLayout::Same);
        for which in ["q", "k", "v", "ctx"] {
            for grad in ["", "grad."] {
                view(
                    name(&format!("{grad}act.layer.attn.{which}")),
                    name(&format!("{grad}act.layer.attn.{which}_merged")),
                    heads_layout,
                );
            }
        }
        for ln in ["ln1", "ln2"] {
            for (col, stat) in ["mean", "rstd"].into_iter().enumerate() {
                view(
                    name(&format!("act.layer.{ln}.{stat}")),
                    name(&format!("act.layer.{ln}.stats")),
                    ViewLayout::Column {
                        of: 2,
                        col: col as u64,
                    },
                );
            }
        }
        view(
            name("grad.act.layer.ffn.out"),
            name("grad.act.layer.out"),
            ViewLayout::Same,
        );
        input = (layer.y, name("act.layer.out"));
        input_grad = layer.dy;
        layers.push(layer);
    }
    Ok((layers, views))
}

impl CrossEntropy {
    /// The target ids (int32, T × 1; a host input) and the per-step losses.
    pub(super) fn inputs(
        b: &mut Builder,
        t: u64,
        config: &StepConfig,
    ) -> Result<(View, View), LowerError> {
        let targets = b.alloc("input.targets.ids", t, 1)?;
        let loss = b.alloc("output.loss", 1, u64::from(config.steps.max(1)))?;
        Ok((targets, loss))
    }

    /// The logits, their gradient and the log-sum-exp state of T tokens over
    /// (V, tile).
    pub(super) fn allocate(
        b: &mut Builder,
        (targets, loss): (View, View),
        t: u64,
        (vocab, tile): (u64, u64),
    ) -> Result<CrossEntropy, LowerError> {
        Ok(CrossEntropy {
            logits: b.alloc("output.logits", t, vocab)?,
            dlogits: b.alloc("grad.output.logits", t, vocab)?,
            targets,
            lse: b.alloc("loss.logsumexp_state", t, 3)?,
            loss,
            vocab,
            tile,
            bias: None,
        })
    }
}
