//! The top of the model: the final LayerNorm, the LM head tied to the token
//! embedding (logits = h·wteᵀ), and the softmax cross-entropy against the
//! targets, averaged over the B·S tokens — then their backward.
//!
//! The cross-entropy is two-pass over vocabulary tiles of at most
//! [`super::LmSpec::vocab_tile`] columns, so no logits row ever has to fit the
//! SRAM: pass 1 folds each tile into a per-row online log-sum-exp state (max,
//! Σexp, the target's logit; the loss on the last tile), pass 2 turns each
//! tile into its gradient (softmax − onehot)/(B·S). Cost: the logits are
//! written once by the head GEMM and read twice, the gradient written once —
//! 4 · T · V · 4 bytes of DRAM traffic besides the GEMMs' own (an online
//! single pass would save one read but needs the gradient rescaled after).

use super::tensors::{LmTensors, FINAL_BETA, FINAL_GAMMA, WTE};
use crate::step::builder::Builder;
use crate::step::ops::Ops;
use crate::step::rows::{rows_in, rows_inout, rows_out, sum_out, NONE};
use crate::step::tensors::Weights;
use crate::LowerError;
use treta_abi::VectorOp;

impl Ops {
    /// Final LayerNorm, logits, and the loss of step `step` with its gradient
    /// (vocabulary tiles of `tile` columns).
    pub(super) fn lm_head_forward(
        &self,
        b: &mut Builder,
        m: &LmTensors,
        vocab: u64,
        tile: u64,
        step: u64,
    ) -> Result<(), LowerError> {
        let (t, d) = (self.t, self.d);
        let top = m.layers.last().map_or(m.x0, |l| l.y);
        self.layernorm(
            b,
            "fwd.final_ln",
            top,
            m.top.param(FINAL_GAMMA),
            m.top.param(FINAL_BETA),
            m.h,
            m.stf,
        )?;
        b.gemm(
            "fwd.lm_head",
            (m.h, false),
            (m.top.gemm_weight(WTE), true),
            m.logits,
            (t, d, vocab),
            self.act_w,
        )?;
        let tiles: Vec<(u64, u64)> = (0..vocab.div_ceil(tile))
            .map(|i| (i * tile, tile.min(vocab - i * tile)))
            .collect();
        let scale = 1.0 / t as f32;
        let last = tiles.len() - 1;
        for (i, &(v0, w)) in tiles.iter().enumerate() {
            let state = if i == 0 {
                rows_out(m.lse, 3)
            } else {
                rows_inout(m.lse, 3)
            };
            let loss = if i == last {
                sum_out(m.loss.fp32_at(step * 4, 1), 1)
            } else {
                NONE
            };
            b.vector(
                &format!("loss.logsumexp.v{v0}"),
                VectorOp::LogSumExp,
                (t, w),
                [
                    rows_in(m.logits.fp32_at(v0 * 4, vocab), w),
                    NONE,
                    rows_in(m.targets, 1),
                    state,
                    loss,
                    NONE,
                ],
                [scale, v0 as f32, flag(i == 0), flag(i == last)],
            )?;
        }
        for &(v0, w) in &tiles {
            b.vector(
                &format!("loss.xent_bwd.v{v0}"),
                VectorOp::CrossEntropyBwd,
                (t, w),
                [
                    rows_in(m.logits.fp32_at(v0 * 4, vocab), w),
                    rows_out(m.dlogits.fp32_at(v0 * 4, vocab), w),
                    rows_in(m.targets, 1),
                    rows_in(m.lse, 3),
                    NONE,
                    NONE,
                ],
                [scale, v0 as f32, 0.0, 0.0],
            )?;
        }
        Ok(())
    }

    /// Backward of the head and the final LayerNorm: dh = dlogits·wte, the tied
    /// head's share of the token table's gradient dlogitsᵀ·h, and the final
    /// LayerNorm's backward into the top layer's output gradient.
    pub(super) fn lm_head_backward(
        &self,
        b: &mut Builder,
        m: &LmTensors,
        vocab: u64,
    ) -> Result<(), LowerError> {
        let (t, d) = (self.t, self.d);
        b.gemm(
            "bwd.lm_head.dgrad",
            (m.dlogits, false),
            (m.top.gemm_weight(WTE), false),
            m.dh,
            (t, vocab, d),
            self.grad_w,
        )?;
        b.gemm(
            "bwd.lm_head.wgrad",
            (m.dlogits, true),
            (m.h, false),
            m.top.grad(WTE),
            (vocab, t, d),
            self.grad_act,
        )?;
        let (top, dtop) = m.layers.last().map_or((m.x0, m.dx0), |l| (l.y, l.dy));
        self.layernorm_bwd(
            b,
            "bwd.final_ln",
            m.dh,
            top,
            m.top.param(FINAL_GAMMA),
            m.stf,
            dtop,
            m.pairf,
        )?;
        let grads = [FINAL_GAMMA, FINAL_BETA].map(|n| m.top.grad(n));
        self.split_pair(b, "bwd.final_ln", m.pairf, grads)
    }
}

/// A flag scalar: 1 or 0.
fn flag(on: bool) -> f32 {
    if on {
        1.0
    } else {
        0.0
    }
}
