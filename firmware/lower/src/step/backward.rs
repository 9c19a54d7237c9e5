//! One layer's backward pass, top down: LayerNorm 2, the FFN (recomputing its
//! activations if asked), LayerNorm 1, the attention block per head, the Q, K
//! and V projections, and the input's gradient as the sum of its three paths.
//! The GELU's backward and the sums of gradient paths ride in the dx GEMMs'
//! epilogues (unless `fuse_epilogues` is off).

use super::builder::{BatchGemm, Builder, Finish, View};
use super::ops::{Dout, Follow, Ops, SumOf, Sums, Then};
use super::rows::{rows_in, rows_out, NONE};
use super::tensors::{LayerT, Weights};
use crate::gemm::Epilogue;
use crate::LowerError;
use treta_abi::{SfuOp, VectorOp};

impl Ops {
    /// Appends `layer`'s backward pass to `b`: every gradient, from `layer.dy`
    /// down to `layer.dx`, the weights' updated in their GEMMs when fused.
    pub(super) fn backward(&self, b: &mut Builder, layer: &LayerT) -> Result<(), LowerError> {
        let (t, d, f, s, dh) = (self.t, self.d, self.f, self.s, self.dh);
        let LayerT {
            x_gemm,
            q,
            k,
            v,
            probs,
            probs_gemm,
            ctx,
            z1,
            y1,
            y1_gemm,
            st1,
            hp,
            z2,
            st2,
            dy,
            dz2,
            dg,
            dh_pre,
            dy1_ffn,
            dy1,
            dz1,
            dctx,
            dp,
            ds,
            ds_scaled,
            dq,
            dk,
            dv,
            dxq,
            dxk,
            dxv,
            dx,
            pair1,
            pair2,
            ..
        } = *layer;
        let g = layer.g_act;
        // dz2 and dz1 also in the copies their GEMMs read.
        let dz2s = Dout {
            fp32: dz2,
            gemm: layer.dz2_gemm,
        };
        let dz1s = Dout {
            fp32: dz1,
            gemm: layer.dz1_gemm,
        };
        let ln2 = (z2, layer.param("layer.ln2.gamma"), st2);
        self.layernorm_bwd_copied(b, "bwd.ln2", dy, ln2, dz2s, pair2)?;
        if self.config.recompute {
            // The FFN activations of this layer, again (another layer's may be
            // in their buffers).
            self.linear_gelu(
                b,
                ("recompute.ffn1", "recompute.gelu"),
                y1_gemm,
                layer.gemm_weight("layer.ffn.w1"),
                layer.param("layer.ffn.b1"),
                (hp, g),
                (t, d, f),
            )?;
        }
        // dh = gelu'(h)·(dz2·W2ᵀ).
        let gelu_bwd = Follow {
            op: "bwd.gelu",
            then: Then::GeluBwd { pre: hp },
            out: dh_pre,
            // FFN1's bias gradient: the column sums of dh.
            sums: Some(Sums {
                op: "bwd.ffn1.bgrad",
                to: layer.grad("layer.ffn.b1"),
                of: SumOf::Result,
            }),
        };
        self.linear_bwd_then(
            b,
            layer,
            "bwd.ffn2",
            (g, "layer.ffn.w2", dz2s),
            (t, f, d),
            None, // summed below
            (dg, Some(gelu_bwd)),
        )?;
        // dy1 = dz2 + dh·W1ᵀ: the residual's two paths.
        let residual = Follow {
            op: "bwd.residual2",
            then: Then::Add { other: dz2 },
            out: dy1,
            // FFN2's bias gradient: the column sums of dz2, loaded here anyway.
            sums: Some(Sums {
                op: "bwd.ffn2.bgrad",
                to: layer.grad("layer.ffn.b2"),
                of: SumOf::Other,
            }),
        };
        self.linear_bwd_then(
            b,
            layer,
            "bwd.ffn1",
            // y1 in fp32: given the 8-bit copy, the tile search trades the
            // fused update's whole rows of W1 for column strips (less Aᵀ
            // traffic on paper) that run slower — 1 MB and 0.03 ms more per
            // layer on BERT-base, measured.
            (y1, "layer.ffn.w1", dh_pre),
            (t, d, f),
            None, // summed above
            (dy1_ffn, Some(residual)),
        )?;
        let ln1 = (z1, layer.param("layer.ln1.gamma"), st1);
        self.layernorm_bwd_copied(b, "bwd.ln1", dy1, ln1, dz1s, pair1)?;
        self.linear_bwd(
            b,
            layer,
            "bwd.o_proj",
            ctx,
            "layer.attn.wo",
            dz1s,
            (t, d, d),
            None, // summed below
            dctx,
        )?;
        let dvs = DvOperands {
            probs: probs_gemm,
            dv,
            dbv: layer.grad("layer.attn.bv"),
        };
        self.context_bwd(b, (dctx, v, probs), (dp, ds, ds_scaled), dvs)?;
        // dQ = dS·K and dK = dSᵀ·Q, each over all heads in one pipeline.
        let (dbq, dbk) = (layer.grad("layer.attn.bq"), layer.grad("layer.attn.bk"));
        for (op, ta, other, out, bias) in [
            ("bwd.qk_t.dq", false, k, dq, dbq),
            ("bwd.qk_t.dk", true, q, dk, dbk),
        ] {
            let heads = self
                .all_heads()
                .map(|(bi, hi, i)| BatchGemm {
                    a: self.block(ds_scaled, i),
                    b: self.head(other, bi, hi),
                    c: self.head(out, bi, hi),
                    finish: self.head_bias_sums(bias, hi, bi == 0),
                })
                .collect();
            b.gemm_batch(op, (ta, false), heads, (s, s, dh), self.grad_act)?;
        }
        // dx = ((dz1 + dq·Wqᵀ) + dk·Wkᵀ) + dv·Wvᵀ: each path added to the sum so far.
        let mut sum_so_far = dz1;
        for (proj, dproj, dxp) in [("q", dq, dxq), ("k", dk, dxk), ("v", dv, dxv)] {
            let op = format!("bwd.dx.{proj}");
            let sum = Follow {
                op: &op,
                then: Then::Add { other: sum_so_far },
                out: dx,
                // The output projection's bias gradient: the column sums of
                // dz1, the first path's other summand.
                sums: (proj == "q").then(|| Sums {
                    op: "bwd.o_proj.bgrad",
                    to: layer.grad("layer.attn.bo"),
                    of: SumOf::Other,
                }),
            };
            self.linear_bwd_then(
                b,
                layer,
                &format!("bwd.{proj}_proj"),
                (x_gemm, &format!("layer.attn.w{proj}"), dproj),
                (t, d, d),
                self.bias_unless_summed(format!("layer.attn.b{proj}"))
                    .as_deref(),
                (dxp, Some(sum)),
            )?;
            sum_so_far = dx;
        }
        // dγ, dβ from their pairs.
        for (pair, ln) in [(pair1, "ln1"), (pair2, "ln2")] {
            let grads = ["gamma", "beta"].map(|w| layer.grad(&format!("layer.{ln}.{w}")));
            self.split_pair(b, &format!("bwd.{ln}"), pair, grads)?;
        }
        Ok(())
    }

    /// dP = dctx·Vᵀ and dV = Pᵀ·dctx, each over all heads in one pipeline;
    /// the softmax backward dS = P⊙(dP − rowsum(P⊙dP)) and the scale in the dP
    /// GEMMs' epilogue when fused (a head's rows whole in each C tile, only
    /// the scaled dS to DRAM; dP and dS only when kept), else passes of
    /// their own.
    fn context_bwd(
        &self,
        b: &mut Builder,
        (dctx, v, probs): (View, View, View),
        (dp, ds, ds_scaled): (View, View, View),
        dv: DvOperands,
    ) -> Result<(), LowerError> {
        let (s, dh, sq, scale) = (self.s, self.dh, self.sq(), self.scale);
        let fused = self.config.fuse_epilogues;
        let mut heads = Vec::new();
        for (bi, hi, i) in self.all_heads() {
            let (c, epilogue) = if fused {
                let p = self.block(probs, i);
                let mut steps = self.keep_or_drop(b, self.block(dp, i));
                steps.push(Epilogue::SoftmaxBwd {
                    addr: p.addr,
                    ld: p.ld,
                });
                steps.extend(self.keep_or_drop(b, self.block(ds, i)));
                steps.push(Epilogue::Scale(scale));
                (self.block(ds_scaled, i), steps)
            } else {
                (self.block(dp, i), Vec::new())
            };
            heads.push(BatchGemm {
                a: self.head(dctx, bi, hi),
                b: self.head(v, bi, hi),
                c,
                finish: Finish {
                    epilogue,
                    update: None,
                },
            });
        }
        b.gemm_batch("bwd.pv.dp", (false, true), heads, (s, dh, s), self.grad_act)?;
        let heads = self
            .all_heads()
            .map(|head| self.dv_gemm(head, dctx, dv))
            .collect();
        b.gemm_batch("bwd.pv.dv", (true, false), heads, (s, s, dh), self.act_grad)?;
        if fused {
            return Ok(());
        }
        b.rows_op(
            "bwd.softmax",
            SfuOp::SoftmaxBwd,
            sq,
            [
                rows_in(dp, s),
                rows_out(ds, s),
                rows_in(probs, s),
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
            sq,
            [
                rows_in(ds, s),
                rows_out(ds_scaled, s),
                NONE,
                NONE,
                NONE,
                NONE,
            ],
            [scale, 0.0, 0.0, 0.0],
        )?;
        Ok(())
    }

    /// dV = Pᵀ·dctx for head `hi` of batch `bi` (score block `i`), its
    /// columns summed into V's bias gradient when fused.
    fn dv_gemm(
        &self,
        (bi, hi, i): (u64, u64, u64),
        dctx: View,
        DvOperands { probs, dv, dbv }: DvOperands,
    ) -> BatchGemm {
        BatchGemm {
            a: self.block(probs, i),
            b: self.head(dctx, bi, hi),
            c: self.head(dv, bi, hi),
            finish: self.head_bias_sums(dbv, hi, bi == 0),
        }
    }
}

/// What dV = Pᵀ·dctx reads and writes besides dctx.
#[derive(Clone, Copy)]
struct DvOperands {
    /// P as the GEMMs read it (see [`super::tensors::LayerT::probs_gemm`]).
    probs: View,
    /// dV.
    dv: View,
    /// V's bias gradient (summed in dV's epilogue when fused).
    dbv: View,
}
