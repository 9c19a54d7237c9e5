//! The DRAM tensors of a step: every layer's parameters, their gradients and
//! optimizer state, its activations and their gradients, named as the golden
//! data names them.

use super::builder::{Builder, View};
use super::config::{EncoderDims, Optimizer, StepConfig};
use crate::LowerError;
use std::collections::HashMap;
use treta_abi::NumberFormat;

/// The parameters of the layer, in the golden data's names and shapes.
pub(super) const PARAMS: [(&str, Shape); 16] = [
    ("layer.attn.wq", Shape::DD),
    ("layer.attn.bq", Shape::D),
    ("layer.attn.wk", Shape::DD),
    ("layer.attn.bk", Shape::D),
    ("layer.attn.wv", Shape::DD),
    ("layer.attn.bv", Shape::D),
    ("layer.attn.wo", Shape::DD),
    ("layer.attn.bo", Shape::D),
    ("layer.ln1.gamma", Shape::D),
    ("layer.ln1.beta", Shape::D),
    ("layer.ffn.w1", Shape::DF),
    ("layer.ffn.b1", Shape::F),
    ("layer.ffn.w2", Shape::FD),
    ("layer.ffn.b2", Shape::D),
    ("layer.ln2.gamma", Shape::D),
    ("layer.ln2.beta", Shape::D),
];

/// A parameter's shape, in terms of the layer's D and F.
#[derive(Clone, Copy)]
pub(super) enum Shape {
    /// D×D (the attention projections).
    DD,
    /// 1×D (their biases, γ and β).
    D,
    /// D×F (FFN1).
    DF,
    /// 1×F (FFN1's bias).
    F,
    /// F×D (FFN2).
    FD,
}

impl Shape {
    /// A weight matrix (not a vector).
    pub(super) fn is_matrix(self) -> bool {
        matches!(self, Shape::DD | Shape::DF | Shape::FD)
    }

    /// Rows and columns.
    pub(super) fn dims(self, e: &EncoderDims) -> (u64, u64) {
        let (d, f) = (u64::from(e.d), u64::from(e.f));
        match self {
            Shape::DD => (d, d),
            Shape::D => (1, d),
            Shape::DF => (d, f),
            Shape::F => (1, f),
            Shape::FD => (f, d),
        }
    }
}

/// A set of parameters in DRAM by key (`layer.attn.wq`): the fp32 masters,
/// their gradients, optimizer state and narrow GEMM copies.
#[derive(Clone, Default)]
pub(super) struct ParamT {
    pub(super) p: HashMap<&'static str, View>,
    pub(super) g: HashMap<&'static str, View>,
    /// Optimizer state per parameter: momentum's velocity or Adam's first
    /// moment, and Adam's second moment.
    pub(super) m1: HashMap<&'static str, View>,
    pub(super) m2: HashMap<&'static str, View>,
    /// The weight matrices' copies in the weights' GEMM format, when it is
    /// narrower than fp32: the GEMMs read them (a quarter of the DRAM bytes for
    /// 8-bit), the update refreshes them as it writes the fp32 masters.
    pub(super) w8: HashMap<&'static str, View>,
}

impl ParamT {
    /// Allocates `params` (key, rows × cols, whether a GEMM reads it as a
    /// weight), named by `name`: masters, then gradients, then the narrow
    /// copies, then the optimizer state.
    pub(super) fn allocate(
        b: &mut Builder,
        params: &[(&'static str, (u64, u64), bool)],
        config: &StepConfig,
        name: impl Fn(&str) -> String,
    ) -> Result<ParamT, LowerError> {
        let mut t = ParamT::default();
        for &(pn, (r, c), _) in params {
            t.p.insert(pn, b.alloc(&name(pn), r, c)?);
        }
        for &(pn, (r, c), _) in params {
            t.g.insert(pn, b.alloc(&name(&format!("grad.{pn}")), r, c)?);
        }
        if config.weight_copies && config.formats.weights.bytes() < 4 {
            for &(pn, (r, c), weight) in params {
                if weight {
                    let copy = name(&format!("copy.{pn}"));
                    t.w8.insert(pn, b.alloc_in(&copy, r, c, config.formats.weights)?);
                }
            }
        }
        // Optimizer state, zero at the start (DRAM reads zero until written).
        for &(pn, (r, c), _) in params {
            if !matches!(config.optimizer, Optimizer::Sgd) {
                t.m1.insert(pn, b.alloc(&name(&format!("opt.m.{pn}")), r, c)?);
            }
            if matches!(config.optimizer, Optimizer::Adam { .. }) {
                t.m2.insert(pn, b.alloc(&name(&format!("opt.v.{pn}")), r, c)?);
            }
        }
        Ok(t)
    }

    /// The layer parameters ([`PARAMS`]) of `e` in [`ParamT::allocate`]'s form.
    pub(super) fn layer_shapes(e: &EncoderDims) -> Vec<(&'static str, (u64, u64), bool)> {
        PARAMS
            .iter()
            .map(|&(pn, shape)| (pn, shape.dims(e), shape.is_matrix()))
            .collect()
    }
}

/// Where a linear layer finds its weight, bias and their gradients.
pub(super) trait Weights {
    /// The parameters.
    fn params(&self) -> &ParamT;

    /// Parameter `name` (fp32 master).
    fn param(&self, name: &str) -> View {
        self.params().p[name]
    }

    /// The weight a GEMM reads: the 8-bit copy of `name` when there is one.
    fn gemm_weight(&self, name: &str) -> View {
        let p = self.params();
        p.w8.get(name).copied().unwrap_or(p.p[name])
    }

    /// The gradient of parameter `name`.
    fn grad(&self, name: &str) -> View {
        self.params().g[name]
    }
}

impl Weights for ParamT {
    fn params(&self) -> &ParamT {
        self
    }
}

/// The name of the probabilities' copy for the GEMMs (not a golden tensor).
const PROBS_COPY: &str = "act.attn.probs.gemm";

/// One layer's tensors in DRAM.
#[derive(Clone)]
pub(super) struct LayerT {
    pub(super) x: View,
    /// x as the GEMMs read it: the layer below's [`LayerT::y_gemm`] (the
    /// step's input itself for the first layer).
    pub(super) x_gemm: View,
    /// The layer's parameters.
    pub(super) w: ParamT,
    pub(super) q: View,
    pub(super) k: View,
    pub(super) v: View,
    pub(super) scores: View,
    pub(super) probs: View,
    /// The probabilities as the P·V and dV GEMMs read them: a copy in the
    /// activations' 8-bit format beside the fp32 one the softmax backward
    /// reads, or that one itself when it is fp32.
    pub(super) probs_gemm: View,
    pub(super) ctx: View,
    pub(super) attn: View,
    pub(super) z1: View,
    pub(super) y1: View,
    /// y1 as the GEMMs read it: an 8-bit copy LayerNorm writes beside the
    /// fp32 one the residual reads, or y1 itself (fp32 GEMMs, or a run that
    /// reads tensors back).
    pub(super) y1_gemm: View,
    pub(super) st1: View,
    pub(super) hp: View,
    pub(super) g_act: View,
    pub(super) fo: View,
    pub(super) z2: View,
    pub(super) y: View,
    /// y as the next layer's GEMMs read it (as [`LayerT::y1_gemm`]; the top
    /// layer's is y, which only the loss reads).
    pub(super) y_gemm: View,
    pub(super) st2: View,
    pub(super) dy: View,
    pub(super) dz2: View,
    /// dz2 as FFN2's backward GEMMs read it (as [`LayerT::y1_gemm`]).
    pub(super) dz2_gemm: View,
    pub(super) dg: View,
    pub(super) dh_pre: View,
    pub(super) dy1_ffn: View,
    pub(super) dy1: View,
    pub(super) dz1: View,
    /// dz1 as the output projection's backward GEMMs read it.
    pub(super) dz1_gemm: View,
    pub(super) dctx: View,
    pub(super) dp: View,
    pub(super) ds: View,
    pub(super) ds_scaled: View,
    pub(super) dq: View,
    pub(super) dk: View,
    pub(super) dv: View,
    pub(super) dxq: View,
    pub(super) dxk: View,
    pub(super) dxv: View,
    pub(super) dx: View,
    pub(super) pair1: View,
    pub(super) pair2: View,
}

/// The DRAM name of tensor `s` of layer `l` of `layers`: the golden data's names
/// for a single layer; `layer{l}.…`, `act` → `layer{l}.act.…`, `grad.…` →
/// `grad.layer{l}.…` in a stack (the top layer's output stays `output.y`, the
/// bottom one's input gradient `grad.input.x`).
pub(super) fn tensor_name(s: &str, l: u64, layers: u64) -> String {
    if layers == 1 || (s == "output.y" && l == layers - 1) || (s == "grad.input.x" && l == 0) {
        return s.to_string();
    }
    numbered(s, l)
}

/// Tensor `s` of layer `l` of a stack: `layer.…` → `layer{l}.…`, `act.…` →
/// `layer{l}.act.…`, `grad.…` → `grad.layer{l}.…`.
pub(super) fn numbered(s: &str, l: u64) -> String {
    let (grad, rest) = match s.strip_prefix("grad.") {
        Some(rest) => ("grad.", rest),
        None => ("", s),
    };
    let rest = rest.strip_prefix("layer.").unwrap_or(rest);
    format!("{grad}layer{l}.{rest}")
}

impl Weights for LayerT {
    fn params(&self) -> &ParamT {
        &self.w
    }
}

/// Every tensor of a step in DRAM (the batch's input `input.x` is the bottom
/// layer's `x`).
pub(super) struct Tensors {
    /// The regression target (loaded by the host).
    pub(super) target: View,
    /// One loss per step.
    pub(super) loss: View,
    /// The layers, bottom first.
    pub(super) layers: Vec<LayerT>,
}

impl Tensors {
    /// Allocates the inputs, then per layer its parameters, gradients,
    /// activations and their gradients. Layer l's input is layer l−1's output,
    /// and the gradient of its input is layer l−1's output gradient.
    pub(super) fn allocate(
        b: &mut Builder,
        e: &EncoderDims,
        config: &StepConfig,
    ) -> Result<Tensors, LowerError> {
        let (t, d) = (e.tokens(), u64::from(e.d));
        let layers_n = u64::from(config.layers.max(1));
        let x = b.alloc("input.x", t, d)?;
        let target = b.alloc("input.target", t, d)?;
        let steps = u64::from(config.steps.max(1));
        let loss = b.alloc("output.loss", 1, steps)?;
        let name = |s: &str, l: u64| tensor_name(s, l, layers_n);
        let layers = allocate_layers(b, e, config, x, &name)?;
        Ok(Tensors {
            target,
            loss,
            layers,
        })
    }
}

/// Allocates `config.layers` encoder layers over input `x`, tensors named by
/// `name(tensor, layer)`: per layer its parameters, gradients, activations and
/// their gradients. Layer l's input is layer l−1's output, and the gradient of
/// its input is layer l−1's output gradient.
pub(super) fn allocate_layers(
    b: &mut Builder,
    e: &EncoderDims,
    config: &StepConfig,
    x: View,
    name: &dyn Fn(&str, u64) -> String,
) -> Result<Vec<LayerT>, LowerError> {
    let (t, d, f, s) = (e.tokens(), u64::from(e.d), u64::from(e.f), u64::from(e.s));
    let heads = u64::from(e.b) * u64::from(e.h);
    let layers_n = u64::from(config.layers.max(1));
    let mut layers: Vec<LayerT> = Vec::new();
    for l in 0..layers_n {
        let name = |s: &str| name(s, l);
        let (input, input_gemm) = match layers.last() {
            Some(prev) => (prev.y, prev.y_gemm),
            None => (x, x),
        };
        let top = l + 1 == layers_n;
        let copy_format = config.narrow_when_fused(config.formats.activations);
        let w = ParamT::allocate(b, &ParamT::layer_shapes(e), config, name)?;
        // Tensors only GEMMs read may be kept in their format.
        let mut a = |s: &str, rows: u64, cols: u64| {
            // The encoder's softmax and its backward ride in GEMM epilogues
            // (the language models' banded ones are passes): then only GEMMs
            // read dS and the probabilities' copy.
            let format = match s {
                "grad.act.attn.scores_unscaled" => {
                    config.narrow_when_fused(config.formats.gradients)
                }
                PROBS_COPY | "act.ln1.out.gemm" | "act.out.gemm" => {
                    config.narrow_when_fused(config.formats.activations)
                }
                "grad.act.ln2.in.gemm" | "grad.act.ln1.in.gemm" => {
                    config.narrow_when_fused(config.formats.gradients)
                }
                _ => config.stored_format(s),
            };
            b.alloc_in(&name(s), rows, cols, format)
        };
        let (q, k, v) = (
            a("act.attn.q_merged", t, d)?,
            a("act.attn.k_merged", t, d)?,
            a("act.attn.v_merged", t, d)?,
        );
        let scores = a("act.attn.scores_unscaled", heads * s, s)?;
        let probs = a("act.attn.probs", heads * s, s)?;
        let probs_gemm = gemm_copy(copy_format, probs, || a(PROBS_COPY, heads * s, s))?;
        let y1 = a("act.ln1.out", t, d)?;
        let y1_gemm = gemm_copy(copy_format, y1, || a("act.ln1.out.gemm", t, d))?;
        let y = a("output.y", t, d)?;
        let y_gemm = if top {
            y
        } else {
            gemm_copy(copy_format, y, || a("act.out.gemm", t, d))?
        };
        let grad_copy = config.narrow_when_fused(config.formats.gradients);
        let dz2 = a("grad.act.ln2.in", t, d)?;
        let dz2_gemm = gemm_copy(grad_copy, dz2, || a("grad.act.ln2.in.gemm", t, d))?;
        let dz1 = a("grad.act.ln1.in", t, d)?;
        let dz1_gemm = gemm_copy(grad_copy, dz1, || a("grad.act.ln1.in.gemm", t, d))?;
        let lt = LayerT {
            x: input,
            x_gemm: input_gemm,
            w,
            q,
            k,
            v,
            scores,
            probs,
            probs_gemm,
            ctx: a("act.attn.ctx_merged", t, d)?,
            attn: a("act.attn.out", t, d)?,
            z1: a("act.ln1.in", t, d)?,
            y1,
            y1_gemm,
            st1: a("act.ln1.stats", t, 2)?,
            hp: match layers.first() {
                Some(first) if config.recompute => first.hp,
                _ => a("act.ffn.h_pre", t, f)?,
            },
            g_act: match layers.first() {
                Some(first) if config.recompute => first.g_act,
                _ => a("act.ffn.h_post", t, f)?,
            },
            fo: a("act.ffn.out", t, d)?,
            z2: a("act.ln2.in", t, d)?,
            y,
            y_gemm,
            st2: a("act.ln2.stats", t, 2)?,
            dy: a("grad.act.ln2.out", t, d)?,
            dz2,
            dz2_gemm,
            dg: a("grad.act.ffn.h_post", t, f)?,
            dh_pre: a("grad.act.ffn.h_pre", t, f)?,
            dy1_ffn: a("grad.act.ln1.out.ffn", t, d)?,
            dy1: a("grad.act.ln1.out", t, d)?,
            dz1,
            dz1_gemm,
            dctx: a("grad.act.attn.ctx_merged", t, d)?,
            dp: a("grad.act.attn.probs", heads * s, s)?,
            ds: a("grad.act.attn.scores", heads * s, s)?,
            ds_scaled: a("grad.act.attn.scores_unscaled", heads * s, s)?,
            dq: a("grad.act.attn.q_merged", t, d)?,
            dk: a("grad.act.attn.k_merged", t, d)?,
            dv: a("grad.act.attn.v_merged", t, d)?,
            dxq: a("grad.input.x.q", t, d)?,
            dxk: a("grad.input.x.k", t, d)?,
            dxv: a("grad.input.x.v", t, d)?,
            dx: a("grad.input.x", t, d)?,
            // LayerNorm backward leaves dγ and dβ side by side in a pair, copied
            // to their gradients after.
            pair1: a("grad.ln1.pair", 2, d)?,
            pair2: a("grad.ln2.pair", 2, d)?,
        };
        layers.push(lt);
    }
    // Layer l's output gradient is the gradient of layer l+1's input.
    for l in 1..layers.len() {
        layers[l - 1].dy = layers[l].dx;
    }
    Ok(layers)
}

/// `of` itself when the GEMMs read activations in fp32 (`narrow` is fp32);
/// else a copy for them, from `alloc`.
fn gemm_copy(
    narrow: NumberFormat,
    of: View,
    alloc: impl FnOnce() -> Result<View, LowerError>,
) -> Result<View, LowerError> {
    if narrow == NumberFormat::Fp32 {
        Ok(of)
    } else {
        alloc()
    }
}
