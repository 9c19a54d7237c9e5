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
use crate::step::builder::{Builder, View};
use crate::step::ops::Ops;
use crate::step::rows::{rows_in, rows_inout, rows_out, sum_out, vec_in, NONE};
use crate::step::tensors::Weights;
use crate::LowerError;
use treta_abi::VectorOp;

/// The tensors of a softmax cross-entropy over a vocabulary.
#[derive(Clone, Copy)]
pub(super) struct CrossEntropy {
    /// Logits and their gradient, T × V.
    pub(super) logits: View,
    pub(super) dlogits: View,
    /// Target ids (int32, T × 1) and the log-sum-exp state (T × 3).
    pub(super) targets: View,
    pub(super) lse: View,
    /// One loss per step.
    pub(super) loss: View,
    /// V.
    pub(super) vocab: u64,
    /// Vocabulary columns per tile.
    pub(super) tile: u64,
    /// An output bias added to the logits tile by tile (BERT's decoder bias),
    /// and its gradient.
    pub(super) bias: Option<(View, View)>,
}

impl CrossEntropy {
    /// The vocabulary tiles: (first column, width).
    fn tiles(&self) -> Vec<(u64, u64)> {
        (0..self.vocab.div_ceil(self.tile))
            .map(|i| (i * self.tile, self.tile.min(self.vocab - i * self.tile)))
            .collect()
    }
}

impl Ops {
    /// Final LayerNorm and the tied head's logits of the GPT model `m`.
    pub(super) fn gpt_head_forward(
        &self,
        b: &mut Builder,
        m: &LmTensors,
    ) -> Result<(), LowerError> {
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
        self.head_logits(b, "fwd.lm_head", m.h, m.top.gemm_weight(WTE), &m.ce)
    }

    /// `op`: the logits before any bias, ce.logits = input·wᵀ over the head's
    /// rows (`self.t`), w (V × D) the head's 8-bit copy — the token table for a
    /// tied head. Its backward is [`Ops::tied_head_backward`].
    pub(super) fn head_logits(
        &self,
        b: &mut Builder,
        op: &str,
        input: View,
        w_gemm: View,
        ce: &CrossEntropy,
    ) -> Result<(), LowerError> {
        b.gemm(
            op,
            (input, false),
            (w_gemm, true),
            ce.logits,
            (self.t, self.d, ce.vocab),
            self.act_w,
        )
    }

    /// The loss of step `step` and the logits' gradient, two passes over the
    /// vocabulary tiles (the bias, if any, added on the way).
    pub(super) fn cross_entropy(
        &self,
        b: &mut Builder,
        ce: &CrossEntropy,
        step: u64,
    ) -> Result<(), LowerError> {
        let t = self.t;
        let tiles = ce.tiles();
        let scale = 1.0 / t as f32;
        let last = tiles.len() - 1;
        let tile_of = |v: View, v0: u64| v.fp32_at(v0 * 4, ce.vocab);
        for (i, &(v0, w)) in tiles.iter().enumerate() {
            if let Some((bias, _)) = ce.bias {
                b.vector(
                    &format!("fwd.lm_head.bias.v{v0}"),
                    VectorOp::AddBias,
                    (t, w),
                    [
                        rows_in(tile_of(ce.logits, v0), w),
                        rows_out(tile_of(ce.logits, v0), w),
                        vec_in(bias.fp32_at(v0 * 4, w), w),
                        NONE,
                        NONE,
                        NONE,
                    ],
                    [0.0; 4],
                )?;
            }
            let state = if i == 0 {
                rows_out(ce.lse, 3)
            } else {
                rows_inout(ce.lse, 3)
            };
            let loss = if i == last {
                sum_out(ce.loss.fp32_at(step * 4, 1), 1)
            } else {
                NONE
            };
            b.vector(
                &format!("loss.logsumexp.v{v0}"),
                VectorOp::LogSumExp,
                (t, w),
                [
                    rows_in(tile_of(ce.logits, v0), w),
                    NONE,
                    rows_in(ce.targets, 1),
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
                    rows_in(tile_of(ce.logits, v0), w),
                    rows_out(tile_of(ce.dlogits, v0), w),
                    rows_in(ce.targets, 1),
                    rows_in(ce.lse, 3),
                    NONE,
                    NONE,
                ],
                [scale, v0 as f32, 0.0, 0.0],
            )?;
            if let Some((_, gbias)) = ce.bias {
                self.column_sum(
                    b,
                    &format!("bwd.lm_head.bias.v{v0}"),
                    tile_of(ce.dlogits, v0),
                    (t, w),
                    gbias.fp32_at(v0 * 4, w),
                )?;
            }
        }
        Ok(())
    }

    /// Backward of a head tied to the token table `wte` (its GEMM copy
    /// `wte_gemm`): d(input) = dlogits·wte, and the head's share of the table's
    /// gradient, gwte = dlogitsᵀ·input (the embedding's scatter-add follows).
    #[allow(clippy::too_many_arguments)] // a tied head's operands
    pub(super) fn tied_head_backward(
        &self,
        b: &mut Builder,
        ce: &CrossEntropy,
        input: View,
        wte_gemm: View,
        gwte: View,
        dinput: View,
    ) -> Result<(), LowerError> {
        let (t, d, vocab) = (self.t, self.d, ce.vocab);
        b.gemm(
            "bwd.lm_head.dgrad",
            (ce.dlogits, false),
            (wte_gemm, false),
            dinput,
            (t, vocab, d),
            self.grad_w,
        )?;
        b.gemm(
            "bwd.lm_head.wgrad",
            (ce.dlogits, true),
            (input, false),
            gwte,
            (vocab, t, d),
            self.grad_act,
        )
    }

    /// Backward of the GPT model's final LayerNorm into the top layer's output
    /// gradient.
    pub(super) fn gpt_final_ln_backward(
        &self,
        b: &mut Builder,
        m: &LmTensors,
    ) -> Result<(), LowerError> {
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
