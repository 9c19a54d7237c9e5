//! One layer's forward pass: the attention block (Q, K, V projections, per-head
//! scores, softmax, context, output projection), the first residual and
//! LayerNorm, the FFN and the second residual and LayerNorm. Biases, the
//! residuals and the GELU ride in their GEMMs' epilogues.

use super::builder::{BatchGemm, Builder, Finish};
use super::ops::{store, Ops};
use super::rows::{rows_in, rows_out, NONE};
use super::tensors::{LayerT, Weights};
use crate::gemm::Epilogue;
use crate::LowerError;
use treta_abi::SfuOp;

impl Ops {
    /// Appends `layer`'s forward pass to `b`.
    pub(super) fn forward(&self, b: &mut Builder, layer: &LayerT) -> Result<(), LowerError> {
        let (t, d, f, s, dh) = (self.t, self.d, self.f, self.s, self.dh);
        let scale = self.scale;
        let LayerT {
            x,
            x_gemm,
            q,
            k,
            v,
            scores,
            probs,
            probs_gemm,
            ctx,
            attn,
            z1,
            y1,
            y1_gemm,
            st1,
            hp,
            fo,
            z2,
            y,
            y_gemm,
            st2,
            ..
        } = *layer;
        let g = layer.g_act;
        self.linear(
            b,
            "fwd.q_proj",
            x_gemm,
            layer.gemm_weight("layer.attn.wq"),
            layer.param("layer.attn.bq"),
            q,
            (t, d, d),
        )?;
        self.linear(
            b,
            "fwd.k_proj",
            x_gemm,
            layer.gemm_weight("layer.attn.wk"),
            layer.param("layer.attn.bk"),
            k,
            (t, d, d),
        )?;
        self.linear(
            b,
            "fwd.v_proj",
            x_gemm,
            layer.gemm_weight("layer.attn.wv"),
            layer.param("layer.attn.bv"),
            v,
            (t, d, d),
        )?;
        // Fused, P = softmax(scale·Q·Kᵀ) in the score GEMM's epilogue, a
        // head's rows whole in each C tile; the scores go to DRAM only to be
        // kept. P is stored in fp32 (for the softmax backward) and, as C, in
        // the GEMMs' format when that is narrower. Else the GEMMs store the
        // scores and the softmax is a pass. The heads share one pipeline.
        let fused = self.config.fuse_epilogues;
        let mut heads = Vec::new();
        for (bi, hi, i) in self.all_heads() {
            let (c, epilogue) = if fused {
                let mut steps = self.keep_or_drop(b, self.block(scores, i));
                steps.push(Epilogue::Softmax { scale });
                if probs_gemm != probs {
                    steps.push(store(self.block(probs, i)));
                }
                (self.block(probs_gemm, i), steps)
            } else {
                (self.block(scores, i), Vec::new())
            };
            heads.push(BatchGemm {
                a: self.head(q, bi, hi),
                b: self.head(k, bi, hi),
                c,
                finish: Finish {
                    epilogue,
                    update: None,
                },
            });
        }
        b.gemm_batch("fwd.qk_t", (false, true), heads, (s, dh, s), self.act_act)?;
        if !fused {
            b.rows_op(
                "fwd.softmax",
                SfuOp::SoftmaxFwd,
                self.sq(),
                [
                    rows_in(scores, s),
                    rows_out(probs, s),
                    NONE,
                    NONE,
                    NONE,
                    NONE,
                ],
                [scale, 0.0, 0.0, 0.0],
            )?;
        }
        let heads = self
            .all_heads()
            .map(|(bi, hi, i)| BatchGemm {
                a: self.block(probs_gemm, i),
                b: self.head(v, bi, hi),
                c: self.head(ctx, bi, hi),
                finish: Finish::default(),
            })
            .collect();
        b.gemm_batch("fwd.pv", (false, false), heads, (s, s, dh), self.act_act)?;
        // z1 = x + (ctx·Wo + bo), the residual in the GEMM's epilogue.
        self.linear_residual(
            b,
            ("fwd.o_proj", "fwd.residual1"),
            (
                ctx,
                layer.gemm_weight("layer.attn.wo"),
                layer.param("layer.attn.bo"),
            ),
            (attn, x),
            z1,
            (t, d, d),
        )?;
        self.layernorm_copied(
            b,
            "fwd.ln1",
            z1,
            (
                layer.param("layer.ln1.gamma"),
                layer.param("layer.ln1.beta"),
            ),
            (y1, y1_gemm),
            st1,
        )?;
        self.linear_gelu(
            b,
            ("fwd.ffn1", "fwd.gelu"),
            y1_gemm,
            layer.gemm_weight("layer.ffn.w1"),
            layer.param("layer.ffn.b1"),
            (hp, g),
            (t, d, f),
        )?;
        self.linear_residual(
            b,
            ("fwd.ffn2", "fwd.residual2"),
            (
                g,
                layer.gemm_weight("layer.ffn.w2"),
                layer.param("layer.ffn.b2"),
            ),
            (fo, y1),
            z2,
            (t, f, d),
        )?;
        self.layernorm_copied(
            b,
            "fwd.ln2",
            z2,
            (
                layer.param("layer.ln2.gamma"),
                layer.param("layer.ln2.beta"),
            ),
            (y, y_gemm),
            st2,
        )?;
        Ok(())
    }
}
