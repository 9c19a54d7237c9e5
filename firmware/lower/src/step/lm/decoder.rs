//! One pre-LN layer — GPT-2's causal decoder, or ViT's encoder with the same
//! arrangement and no mask — forward and backward:
//!
//! ```text
//! u1 = LN1(x)  q,k,v = u1·W + b  P = (causal_)softmax(q_h·k_hᵀ/√Dh)  ctx_h = P·v_h
//! a = x + ctx·Wo + bo   u2 = LN2(a)   y = a + gelu(u2·W1 + b1)·W2 + b2
//! ```
//!
//! Backward takes dy (the residual stream's total gradient) down to dx: the
//! FFN branch gives dLN2, da = dy + dLN2; the attention branch gives dLN1,
//! dx = da + dLN1.
//!
//! Biases, the forward residuals, the GELU and its backward, and the sum of
//! the Q, K, V paths of dLN1's input ride in their GEMMs' epilogues (unless
//! `fuse_epilogues` is off).

use super::tensors::DecoderT;
use crate::step::builder::Builder;
use crate::step::ops::{Follow, Ops, SumOf, Sums, Then};
use crate::step::rows::{rows_in, rows_out, NONE};
use crate::step::tensors::Weights;
use crate::LowerError;
use treta_abi::{SfuOp, VectorOp};

impl Ops {
    /// Appends `l`'s forward pass.
    pub(super) fn decoder_forward(&self, b: &mut Builder, l: &DecoderT) -> Result<(), LowerError> {
        let (t, d, f, s) = (self.t, self.d, self.f, self.s);
        self.layernorm(
            b,
            "fwd.ln1",
            l.x,
            l.param("layer.ln1.gamma"),
            l.param("layer.ln1.beta"),
            l.u1,
            l.st1,
        )?;
        for (p, out) in [("q", l.q), ("k", l.k), ("v", l.v)] {
            self.linear(
                b,
                &format!("fwd.{p}_proj"),
                l.u1,
                l.gemm_weight(&format!("layer.attn.w{p}")),
                l.param(&format!("layer.attn.b{p}")),
                out,
                (t, d, d),
            )?;
        }
        self.band_scores(b, l)?;
        let softmax = if l.causal {
            SfuOp::SoftmaxCausalFwd
        } else {
            SfuOp::SoftmaxFwd
        };
        b.rows_op(
            "fwd.softmax",
            softmax,
            self.sq(),
            [
                rows_in(l.scores, s),
                rows_out(l.probs, s),
                NONE,
                NONE,
                NONE,
                NONE,
            ],
            [self.scale, 0.0, 0.0, 0.0],
        )?;
        self.band_context(b, l)?;
        // a = x + (ctx·Wo + bo), the residual in the GEMM's epilogue.
        self.linear_residual(
            b,
            ("fwd.o_proj", "fwd.residual1"),
            (
                l.ctx,
                l.gemm_weight("layer.attn.wo"),
                l.param("layer.attn.bo"),
            ),
            (l.attn, l.x),
            l.a,
            (t, d, d),
        )?;
        self.layernorm(
            b,
            "fwd.ln2",
            l.a,
            l.param("layer.ln2.gamma"),
            l.param("layer.ln2.beta"),
            l.u2,
            l.st2,
        )?;
        self.linear_gelu(
            b,
            ("fwd.ffn1", "fwd.gelu"),
            l.u2,
            l.gemm_weight("layer.ffn.w1"),
            l.param("layer.ffn.b1"),
            (l.hp, l.g),
            (t, d, f),
        )?;
        self.linear_residual(
            b,
            ("fwd.ffn2", "fwd.residual2"),
            (l.g, l.gemm_weight("layer.ffn.w2"), l.param("layer.ffn.b2")),
            (l.fo, l.a),
            l.y,
            (t, f, d),
        )
    }

    /// Appends `l`'s backward pass, from `l.dy` to `l.dx`.
    pub(super) fn decoder_backward(&self, b: &mut Builder, l: &DecoderT) -> Result<(), LowerError> {
        let (t, d, f, s) = (self.t, self.d, self.f, self.s);
        // dh = gelu'(h)·(dy·W2ᵀ).
        let gelu_bwd = Follow {
            op: "bwd.gelu",
            then: Then::GeluBwd { pre: l.hp },
            out: l.dhp,
            // FFN1's bias gradient: the column sums of dh.
            sums: Some(Sums {
                op: "bwd.ffn1.bgrad",
                to: l.grad("layer.ffn.b1"),
                of: SumOf::Result,
            }),
        };
        self.linear_bwd_then(
            b,
            l,
            "bwd.ffn2",
            (l.g, "layer.ffn.w2", l.dy),
            (t, f, d),
            Some("layer.ffn.b2"),
            (l.dg, Some(gelu_bwd)),
        )?;
        self.linear_bwd(
            b,
            l,
            "bwd.ffn1",
            l.u2,
            "layer.ffn.w1",
            l.dhp,
            (t, d, f),
            None, // summed above
            l.du2,
        )?;
        self.layernorm_bwd(
            b,
            "bwd.ln2",
            l.du2,
            l.a,
            l.param("layer.ln2.gamma"),
            l.st2,
            l.dln2,
            l.pair2,
        )?;
        self.add(b, "bwd.residual2", l.dy, l.dln2, l.da)?;
        self.linear_bwd(
            b,
            l,
            "bwd.o_proj",
            l.ctx,
            "layer.attn.wo",
            l.da,
            (t, d, d),
            Some("layer.attn.bo"),
            l.dctx,
        )?;
        self.band_context_bwd(b, l)?;
        b.rows_op(
            "bwd.softmax",
            SfuOp::SoftmaxBwd,
            self.sq(),
            [
                rows_in(l.dp, s),
                rows_out(l.ds, s),
                rows_in(l.probs, s),
                NONE,
                NONE,
                NONE,
            ],
            [0.0; 4],
        )?;
        // The scores were scaled inside the softmax: their gradient carries the scale.
        b.vector(
            "bwd.softmax.scale",
            VectorOp::Scale,
            self.sq(),
            [
                rows_in(l.ds, s),
                rows_out(l.ds_scaled, s),
                NONE,
                NONE,
                NONE,
                NONE,
            ],
            [self.scale, 0.0, 0.0, 0.0],
        )?;
        self.band_scores_bwd(b, l)?;
        // du1 = (dq·Wqᵀ + dk·Wkᵀ) + dv·Wvᵀ: the K and V paths added to the sum
        // so far.
        let mut sum_so_far = None;
        for (p, dp, du, sum_op) in [
            ("q", l.dq, l.du1_q, ""),
            ("k", l.dk, l.du1_k, "bwd.ln1_out.qk"),
            ("v", l.dv, l.du1_v, "bwd.ln1_out.v"),
        ] {
            let sum = sum_so_far.map(|other| Follow {
                op: sum_op,
                then: Then::Add { other },
                out: l.du1,
                sums: None,
            });
            self.linear_bwd_then(
                b,
                l,
                &format!("bwd.{p}_proj"),
                (l.u1, &format!("layer.attn.w{p}"), dp),
                (t, d, d),
                self.bias_unless_summed(format!("layer.attn.b{p}"))
                    .as_deref(),
                (du, sum),
            )?;
            sum_so_far = Some(if sum_so_far.is_some() { l.du1 } else { du });
        }
        self.layernorm_bwd(
            b,
            "bwd.ln1",
            l.du1,
            l.x,
            l.param("layer.ln1.gamma"),
            l.st1,
            l.dln1,
            l.pair1,
        )?;
        self.add(b, "bwd.residual1", l.da, l.dln1, l.dx)?;
        for (pair, ln) in [(l.pair1, "ln1"), (l.pair2, "ln2")] {
            let grads = ["gamma", "beta"].map(|w| l.grad(&format!("layer.{ln}.{w}")));
            self.split_pair(b, &format!("bwd.{ln}"), pair, grads)?;
        }
        Ok(())
    }
}
