//! BERT's whole pre-training step (masked-LM head): token, position and
//! segment embeddings with their LayerNorm, the post-LN encoder layers of the
//! encoder step ([`crate::step`]'s `forward.rs`/`backward.rs`), and the MLM head —
//! a dense transform with GELU and LayerNorm, the decoder tied to the token
//! table plus an output bias — with the cross-entropy of `head.rs`, then the
//! backward pass and the update.
//!
//! Every token is a prediction target: Hugging Face's `BertForMaskedLM`
//! computes the logits of all B·S tokens too (the labels of unmasked tokens
//! are ignored in the loss, which changes no operation's cost); all tokens
//! take segment 0.

use super::head::CrossEntropy;
use super::{allocate_top, make_copies, update_all, LmBatch, LmSpec, Param};
use crate::step::builder::{Builder, View};
use crate::step::config::StepConfig;
use crate::step::ops::Ops;
use crate::step::rows::{rows_in, rows_out, vec_in, NONE};
use crate::step::tensors::{allocate_layers, numbered, LayerT, ParamT, Weights};
use crate::LowerError;
use treta_abi::{SfuOp, VectorOp};

const WTE: &str = "embed.wte";
const WPE: &str = "embed.wpe";
/// Segment (token type) embeddings, 2 × D.
const WTT: &str = "embed.wtt";
const EMB_GAMMA: &str = "embed.ln.gamma";
const EMB_BETA: &str = "embed.ln.beta";
const DENSE_W: &str = "mlm.dense.w";
const DENSE_B: &str = "mlm.dense.b";
const MLM_GAMMA: &str = "mlm.ln.gamma";
const MLM_BETA: &str = "mlm.ln.beta";
const MLM_BIAS: &str = "mlm.bias";

/// BERT's tensors besides its layers'.
struct BertT {
    top: ParamT,
    /// The embeddings' sum, its LayerNorm statistics, and their gradients.
    e0: View,
    ste: View,
    de: View,
    paire: View,
    /// The MLM transform: dense, GELU, LayerNorm; their gradients.
    t1: View,
    t2: View,
    t3: View,
    st3: View,
    dt3: View,
    dt2: View,
    dt1: View,
    pair3: View,
    ce: CrossEntropy,
}

/// Appends `config.steps` BERT training steps to `b`.
pub(super) fn lower_bert(
    b: &mut Builder,
    ops: &Ops,
    spec: &LmSpec,
    batch: &LmBatch,
    config: &StepConfig,
) -> Result<(), LowerError> {
    let e = spec.layer_dims();
    let (t, d, vocab) = (e.tokens(), u64::from(spec.d), u64::from(spec.vocab));
    let shapes = [
        (WTE, (vocab, d)),
        (WPE, (u64::from(spec.positions), d)),
        (WTT, (2, d)),
        (EMB_GAMMA, (1, d)),
        (EMB_BETA, (1, d)),
        (DENSE_W, (d, d)),
        (DENSE_B, (1, d)),
        (MLM_GAMMA, (1, d)),
        (MLM_BETA, (1, d)),
        (MLM_BIAS, (1, vocab)),
    ];
    let top = allocate_top(b, &shapes, &[WTE, DENSE_W], config)?;
    let (targets, loss) = CrossEntropy::inputs(b, t, config)?;
    let e0 = b.alloc("act.embed.sum", t, d)?;
    let ste = b.alloc("act.embed.ln.stats", t, 2)?;
    let x = b.alloc("act.embed.out", t, d)?;
    let layer_config = StepConfig {
        layers: spec.layers,
        ..config.clone()
    };
    let layers = allocate_layers(b, &e, &layer_config, x, &numbered)?;
    let mut a = |name: &str, cols: u64| b.alloc(name, t, cols);
    let mut m = BertT {
        de: a("grad.act.embed.sum", d)?,
        paire: b.alloc("grad.embed.ln.pair", 2, d)?,
        t1: b.alloc("act.mlm.dense", t, d)?,
        t2: b.alloc("act.mlm.gelu", t, d)?,
        t3: b.alloc("act.mlm.ln.out", t, d)?,
        st3: b.alloc("act.mlm.ln.stats", t, 2)?,
        dt3: b.alloc("grad.act.mlm.ln.out", t, d)?,
        dt2: b.alloc("grad.act.mlm.gelu", t, d)?,
        dt1: b.alloc("grad.act.mlm.dense", t, d)?,
        pair3: b.alloc("grad.mlm.ln.pair", 2, d)?,
        ce: CrossEntropy::allocate(b, (targets, loss), t, (vocab, u64::from(spec.vocab_tile)))?,
        top,
        e0,
        ste,
    };
    m.ce.bias = Some((m.top.p[MLM_BIAS], m.top.g[MLM_BIAS]));
    let mut params = Param::top(&m.top, &shapes, &[DENSE_W]);
    for (l, layer) in layers.iter().enumerate() {
        params.extend(Param::layer(&layer.w, &e, |k| numbered(k, l as u64)));
    }
    make_copies(b, &params)?;
    for step in 0..u64::from(config.steps.max(1)) {
        forward(b, ops, &m, &layers, x, batch)?;
        ops.cross_entropy(b, &m.ce, step)?;
        backward(b, ops, &m, &layers, x, batch)?;
        update_all(b, ops, &params, step)?;
    }
    b.result(
        &params,
        ops.fused && !config.keep_gradients,
        Vec::new(),
        &m.ce.targets,
        batch,
    );
    Ok(())
}

/// Embeddings, encoder layers, the MLM transform and the logits (before bias).
fn forward(
    b: &mut Builder,
    ops: &Ops,
    m: &BertT,
    layers: &[LayerT],
    x: View,
    batch: &LmBatch,
) -> Result<(), LowerError> {
    let (t, d) = (ops.t, ops.d);
    ops.embed_forward(b, (m.top.p[WTE], m.top.p[WPE]), &batch.tokens, m.e0)?;
    b.vector(
        "fwd.embed.segment",
        VectorOp::AddBias,
        (t, d),
        [
            rows_in(m.e0, d),
            rows_out(m.e0, d),
            vec_in(m.top.p[WTT], d),
            NONE,
            NONE,
            NONE,
        ],
        [0.0; 4],
    )?;
    ops.layernorm(
        b,
        "fwd.embed.ln",
        m.e0,
        m.top.param(EMB_GAMMA),
        m.top.param(EMB_BETA),
        x,
        m.ste,
    )?;
    for (l, layer) in layers.iter().enumerate() {
        b.scope = format!("layer{l}.");
        ops.forward(b, layer)?;
    }
    b.scope.clear();
    let top = layers.last().map_or(x, |l| l.y);
    let w = &m.top;
    ops.linear_gelu(
        b,
        ("fwd.mlm.dense", "fwd.mlm.gelu"),
        top,
        w.gemm_weight(DENSE_W),
        w.param(DENSE_B),
        (m.t1, m.t2),
        (t, d, d),
    )?;
    ops.layernorm(
        b,
        "fwd.mlm.ln",
        m.t2,
        w.param(MLM_GAMMA),
        w.param(MLM_BETA),
        m.t3,
        m.st3,
    )?;
    ops.head_logits(b, "fwd.lm_head", m.t3, w.gemm_weight(WTE), &m.ce)
}

/// The MLM head's backward, the layers', the embeddings'.
fn backward(
    b: &mut Builder,
    ops: &Ops,
    m: &BertT,
    layers: &[LayerT],
    x: View,
    batch: &LmBatch,
) -> Result<(), LowerError> {
    let (t, d) = (ops.t, ops.d);
    let w = &m.top;
    ops.tied_head_backward(b, &m.ce, m.t3, w.gemm_weight(WTE), w.g[WTE], m.dt3)?;
    ops.layernorm_bwd(
        b,
        "bwd.mlm.ln",
        m.dt3,
        m.t2,
        w.param(MLM_GAMMA),
        m.st3,
        m.dt2,
        m.pair3,
    )?;
    ops.split_pair(
        b,
        "bwd.mlm.ln",
        m.pair3,
        [w.grad(MLM_GAMMA), w.grad(MLM_BETA)],
    )?;
    b.rows_op(
        "bwd.mlm.gelu",
        SfuOp::GeluBwd,
        (t, d),
        [
            rows_in(m.dt2, d),
            rows_out(m.dt1, d),
            rows_in(m.t1, d),
            NONE,
            NONE,
            NONE,
        ],
        [0.0; 4],
    )?;
    let (top, dtop) = layers.last().map_or((x, m.de), |l| (l.y, l.dy));
    ops.linear_bwd(
        b,
        w,
        "bwd.mlm.dense",
        top,
        DENSE_W,
        m.dt1,
        (t, d, d),
        Some(DENSE_B),
        dtop,
    )?;
    for (l, layer) in layers.iter().enumerate().rev() {
        b.scope = format!("layer{l}.");
        ops.backward(b, layer)?;
    }
    b.scope.clear();
    let dx = layers.first().map_or(m.de, |l| l.dx);
    ops.layernorm_bwd(
        b,
        "bwd.embed.ln",
        dx,
        m.e0,
        w.param(EMB_GAMMA),
        m.ste,
        m.de,
        m.paire,
    )?;
    ops.split_pair(
        b,
        "bwd.embed.ln",
        m.paire,
        [w.grad(EMB_GAMMA), w.grad(EMB_BETA)],
    )?;
    // Every token is segment 0: its row's gradient is the column sums.
    ops.column_sum(b, "bwd.embed.segment", m.de, (t, d), w.g[WTT])?;
    ops.embed_backward(b, (w.g[WTE], w.g[WPE]), &batch.tokens, m.de)
}
