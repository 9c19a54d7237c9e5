//! ViT's whole training step (image classification): the patch embedding as
//! a GEMM (B·P patches of C·p·p pixels times a (C·p·p)×D matrix, plus its
//! bias), a learned class token prepended to each image's patches, learned
//! positions, L pre-LN encoder layers (GPT-2's arrangement without the mask,
//! `decoder.rs`), the final LayerNorm and a linear classifier on the class
//! token only, and a softmax cross-entropy over the classes averaged over the
//! B images — then the backward pass and the update.
//!
//! As in timm's `vit_base_patch16_224` the classifier reads token 0 only, so
//! the final LayerNorm runs on the B class rows (the other rows do not reach
//! the loss; their gradients into the top layer stay zero) and the patches'
//! own gradient is not computed (they are data).

use super::head::CrossEntropy;
use super::tensors::{allocate_decoders, layer_name, DecoderT, FINAL_BETA, FINAL_GAMMA, WPE};
use super::{allocate_top, make_copies, update_all, LmBatch, LmSpec, Param};
use crate::step::builder::{Builder, View};
use crate::step::config::{EncoderDims, StepConfig};
use crate::step::ops::Ops;
use crate::step::plan::HostInput;
use crate::step::rows::{rows_in, rows_out, NONE};
use crate::step::tensors::{ParamT, Weights};
use crate::LowerError;
use treta_abi::VectorOp;

/// Pixels of one patch: 3 channels of 16 × 16 (ViT-B/16).
pub const PATCH_PIXELS: u64 = 3 * 16 * 16;
/// The patch embedding's matrix, (C·p·p) × D, and bias.
const PATCH_W: &str = "patch_embed.w";
const PATCH_B: &str = "patch_embed.b";
/// The class token, 1 × D.
const CLS: &str = "cls_token";
/// The classifier, classes × D (as a linear layer's weight), and its bias.
const HEAD_W: &str = "head.w";
const HEAD_B: &str = "head.b";

/// ViT's tensors besides its layers'.
struct VitT {
    top: ParamT,
    /// The patches (a host input), their embedding and its gradient.
    patches: View,
    pe: View,
    dpe: View,
    /// Layer 0's input and its gradient.
    x0: View,
    dx0: View,
    /// The final LayerNorm of the class rows, its statistics, gradients.
    h: View,
    stf: View,
    dh: View,
    pairf: View,
    ce: CrossEntropy,
}

/// Appends `config.steps` ViT training steps to `b`: `spec.s` is the class
/// token plus the P = S − 1 patches of each image, `spec.vocab` the classes.
pub(super) fn lower_vit(
    b: &mut Builder,
    ops: &Ops,
    spec: &LmSpec,
    batch: &LmBatch,
    config: &StepConfig,
) -> Result<(), LowerError> {
    let e = spec.layer_dims();
    let (t, d, classes) = (e.tokens(), u64::from(spec.d), u64::from(spec.vocab));
    let (images, patches) = (u64::from(spec.b), u64::from(spec.s) - 1);
    let shapes = [
        (PATCH_W, (PATCH_PIXELS, d)),
        (PATCH_B, (1, d)),
        (CLS, (1, d)),
        (WPE, (u64::from(spec.positions), d)),
        (FINAL_GAMMA, (1, d)),
        (FINAL_BETA, (1, d)),
        (HEAD_W, (classes, d)),
        (HEAD_B, (1, classes)),
    ];
    let top = allocate_top(b, &shapes, &[PATCH_W, HEAD_W], config)?;
    let (targets, loss) = CrossEntropy::inputs(b, images, config)?;
    let patch_rows = images * patches;
    let input = b.alloc("input.patches", patch_rows, PATCH_PIXELS)?;
    let pe = b.alloc("act.patch_embed.out", patch_rows, d)?;
    let dpe = b.alloc("grad.act.patch_embed.out", patch_rows, d)?;
    let x0 = b.alloc("act.embed.out", t, d)?;
    let dx0 = b.alloc("grad.act.embed.out", t, d)?;
    let (layers, views) = allocate_decoders(b, spec, config, (x0, dx0), false)?;
    let tile = (classes, u64::from(spec.vocab_tile));
    let mut m = VitT {
        patches: input,
        pe,
        dpe,
        x0,
        dx0,
        h: b.alloc("act.final_ln.out", images, d)?,
        stf: b.alloc("act.final_ln.stats", images, 2)?,
        dh: b.alloc("grad.act.final_ln.out", images, d)?,
        pairf: b.alloc("grad.final_ln.pair", 2, d)?,
        ce: CrossEntropy::allocate(b, (targets, loss), images, tile)?,
        top,
    };
    m.ce.bias = Some((m.top.p[HEAD_B], m.top.g[HEAD_B]));
    let mut params = Param::top(&m.top, &shapes, &[PATCH_W]);
    for (l, layer) in layers.iter().enumerate() {
        params.extend(Param::layer(&layer.w, &e, |k| layer_name(k, l)));
    }
    // The head works on one row per image.
    let head = Ops::new(&EncoderDims { s: 1, ..e }, config);
    make_copies(b, &params)?;
    for step in 0..u64::from(config.steps.max(1)) {
        forward(b, (ops, &head), &m, &layers)?;
        head.cross_entropy(b, &m.ce, step)?;
        backward(b, (ops, &head), &m, &layers)?;
        update_all(b, ops, &params, step)?;
    }
    b.result(
        &params,
        ops.fused && !config.keep_gradients,
        views,
        &m.ce.targets,
        batch,
    );
    b.host_inputs.push(HostInput {
        name: "input.patches".into(),
        addr: m.patches.addr,
        bytes: batch.images.iter().flat_map(|x| x.to_le_bytes()).collect(),
    });
    Ok(())
}

/// Row 0 (the class token) of each image's S rows of a T × D tensor.
fn class_rows(ops: &Ops, v: View) -> View {
    v.fp32_at(0, ops.s * ops.d)
}

/// Patch embedding, class token and positions, the layers, the final
/// LayerNorm of the class rows and the classifier's logits (before bias).
fn forward(
    b: &mut Builder,
    (ops, head): (&Ops, &Ops),
    m: &VitT,
    layers: &[DecoderT],
) -> Result<(), LowerError> {
    let (d, s) = (ops.d, ops.s);
    let (images, patches) = (u64::from(ops.dims.b), s - 1);
    let w = &m.top;
    ops.linear(
        b,
        "fwd.patch_embed",
        m.patches,
        w.gemm_weight(PATCH_W),
        w.param(PATCH_B),
        m.pe,
        (images * patches, PATCH_PIXELS, d),
    )?;
    let wpe = w.p[WPE];
    let row = |v: View, r: u64| v.fp32_at(r * v.ld * 4, v.ld);
    for bi in 0..images {
        for (op, rows, from, x_row, pos_row) in [
            ("cls", 1, w.p[CLS], bi * s, 0),
            ("patches", patches, row(m.pe, bi * patches), bi * s + 1, 1),
        ] {
            b.vector(
                &format!("fwd.embed.{op}.b{bi}"),
                VectorOp::Add,
                (rows, d),
                [
                    rows_in(from, d),
                    rows_out(row(m.x0, x_row), d),
                    rows_in(row(wpe, pos_row), d),
                    NONE,
                    NONE,
                    NONE,
                ],
                [0.0; 4],
            )?;
        }
    }
    for (l, layer) in layers.iter().enumerate() {
        b.scope = format!("layer{l}.");
        ops.decoder_forward(b, layer)?;
    }
    b.scope.clear();
    let top = layers.last().map_or(m.x0, |l| l.y);
    head.layernorm(
        b,
        "fwd.final_ln",
        class_rows(ops, top),
        w.param(FINAL_GAMMA),
        w.param(FINAL_BETA),
        m.h,
        m.stf,
    )?;
    head.head_logits(b, "fwd.head", m.h, w.gemm_weight(HEAD_W), &m.ce)
}

/// The classifier's and final LayerNorm's backward, the layers', the
/// embeddings' (positions, class token, patch matrix).
fn backward(
    b: &mut Builder,
    (ops, head): (&Ops, &Ops),
    m: &VitT,
    layers: &[DecoderT],
) -> Result<(), LowerError> {
    let (d, s) = (ops.d, ops.s);
    let (images, patches) = (u64::from(ops.dims.b), s - 1);
    let w = &m.top;
    head.tied_head_backward(b, &m.ce, m.h, w.gemm_weight(HEAD_W), w.g[HEAD_W], m.dh)?;
    let (top, dtop) = layers.last().map_or((m.x0, m.dx0), |l| (l.y, l.dy));
    head.layernorm_bwd(
        b,
        "bwd.final_ln",
        m.dh,
        class_rows(ops, top),
        w.param(FINAL_GAMMA),
        m.stf,
        class_rows(ops, dtop),
        m.pairf,
    )?;
    let grads = [FINAL_GAMMA, FINAL_BETA].map(|n| w.grad(n));
    ops.split_pair(b, "bwd.final_ln", m.pairf, grads)?;
    for (l, layer) in layers.iter().enumerate().rev() {
        b.scope = format!("layer{l}.");
        ops.decoder_backward(b, layer)?;
    }
    b.scope.clear();
    ops.positions_backward(b, w.g[WPE], m.dx0)?;
    ops.column_sum(
        b,
        "bwd.embed.cls",
        class_rows(ops, m.dx0),
        (images, d),
        w.g[CLS],
    )?;
    let row = |v: View, r: u64| v.fp32_at(r * v.ld * 4, v.ld);
    for bi in 0..images {
        b.vector(
            &format!("bwd.embed.patches.b{bi}"),
            VectorOp::Copy,
            (patches, d),
            [
                rows_in(row(m.dx0, bi * s + 1), d),
                rows_out(row(m.dpe, bi * patches), d),
                NONE,
                NONE,
                NONE,
                NONE,
            ],
            [0.0; 4],
        )?;
    }
    ops.weight_bwd(
        b,
        w,
        "bwd.patch_embed",
        m.patches,
        PATCH_W,
        m.dpe,
        (images * patches, PATCH_PIXELS, d),
        Some(PATCH_B),
    )
}
