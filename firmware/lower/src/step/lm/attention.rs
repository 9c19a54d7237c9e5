//! Attention per head (causal or not), with the masked half skipped: the S queries go
//! in bands of [`BAND`] rows, and band [i0, i1) multiplies only against keys
//! 0..i1 — a whole masked tile is never computed. The causal softmax then
//! masks the rest of the diagonal band itself (keys j > i of row i get exactly 0
//! whatever the scores there hold; the SFU does no work for them). Backward
//! mirrors it: dP and dQ over the same bands, dV and dK over bands of keys
//! [j0, j1) against queries j0..S. Without the mask (ViT) one band holds
//! all S queries and keys.

use super::tensors::DecoderT;
use crate::step::builder::{Builder, View};
use crate::step::ops::Ops;
use crate::step::tensors::Weights;
use crate::LowerError;

/// Queries (and keys) per band. One band when S ≤ 128, so short sequences
/// compute the full S×S block; at S = 1024, 8 bands compute 9/16 of it.
pub(super) const BAND: u64 = 128;

/// The bands [start, end) of `s` rows: of [`BAND`] rows if `causal`, else one
/// band of all `s` (every query sees every key: nothing to skip, and the
/// band formulas below then cover the whole S×S block).
fn bands(s: u64, causal: bool) -> impl Iterator<Item = (u64, u64)> {
    let band = if causal { BAND } else { s.max(1) };
    (0..s.div_ceil(band)).map(move |i| (i * band, ((i + 1) * band).min(s)))
}

impl Ops {
    /// Row `row` of head `hi` of batch `bi` of a merged T×D tensor.
    fn head_at(&self, base: View, bi: u64, hi: u64, row: u64) -> View {
        base.elems_at((bi * self.s + row) * self.d + hi * self.dh, self.d)
    }

    /// Element (row, col) of score block `i` of a (B·H·S)×S tensor.
    fn block_at(&self, base: View, i: u64, row: u64, col: u64) -> View {
        base.elems_at((i * self.s + row) * self.s + col, self.s)
    }

    /// Forward: the unscaled scores of every head, band by band (the causal
    /// softmax runs between [`Ops::band_scores`] and [`Ops::band_context`]).
    pub(super) fn band_scores(&self, b: &mut Builder, l: &DecoderT) -> Result<(), LowerError> {
        let (s, dh) = (self.s, self.dh);
        for (bi, hi, i) in self.all_heads() {
            for (r0, r1) in bands(s, l.causal) {
                b.gemm(
                    &format!("fwd.qk_t.b{bi}h{hi}.q{r0}"),
                    (self.head_at(l.q, bi, hi, r0), false),
                    (self.head_at(l.k, bi, hi, 0), true),
                    self.block_at(l.scores, i, r0, 0),
                    (r1 - r0, dh, r1),
                    self.act_act,
                )?;
            }
        }
        Ok(())
    }

    /// Forward: ctx = P·V per head and band.
    pub(super) fn band_context(&self, b: &mut Builder, l: &DecoderT) -> Result<(), LowerError> {
        let (s, dh) = (self.s, self.dh);
        for (bi, hi, i) in self.all_heads() {
            for (r0, r1) in bands(s, l.causal) {
                b.gemm(
                    &format!("fwd.pv.b{bi}h{hi}.q{r0}"),
                    (self.block_at(l.probs, i, r0, 0), false),
                    (self.head_at(l.v, bi, hi, 0), false),
                    self.head_at(l.ctx, bi, hi, r0),
                    (r1 - r0, r1, dh),
                    self.act_act,
                )?;
            }
        }
        Ok(())
    }

    /// Backward of P·V: dP = dctx·Vᵀ over the unmasked bands, dV = Pᵀ·dctx over
    /// bands of keys (the queries at or after them).
    pub(super) fn band_context_bwd(&self, b: &mut Builder, l: &DecoderT) -> Result<(), LowerError> {
        let (s, dh) = (self.s, self.dh);
        for (bi, hi, i) in self.all_heads() {
            for (r0, r1) in bands(s, l.causal) {
                b.gemm(
                    &format!("bwd.pv.dp.b{bi}h{hi}.q{r0}"),
                    (self.head_at(l.dctx, bi, hi, r0), false),
                    (self.head_at(l.v, bi, hi, 0), true),
                    self.block_at(l.dp, i, r0, 0),
                    (r1 - r0, dh, r1),
                    self.grad_act,
                )?;
            }
            for (c0, c1) in bands(s, l.causal) {
                b.gemm_then(
                    &format!("bwd.pv.dv.b{bi}h{hi}.k{c0}"),
                    (self.block_at(l.probs, i, c0, c0), true),
                    (self.head_at(l.dctx, bi, hi, c0), false),
                    self.head_at(l.dv, bi, hi, c0),
                    (c1 - c0, s - c0, dh),
                    self.act_grad,
                    self.head_bias_sums(l.grad("layer.attn.bv"), hi, bi == 0 && c0 == 0),
                )?;
            }
        }
        Ok(())
    }

    /// Backward of the scores: dQ = dS·K over the unmasked bands, dK = dSᵀ·Q over
    /// bands of keys (dS already carries the scale).
    pub(super) fn band_scores_bwd(&self, b: &mut Builder, l: &DecoderT) -> Result<(), LowerError> {
        let (s, dh) = (self.s, self.dh);
        for (bi, hi, i) in self.all_heads() {
            for (r0, r1) in bands(s, l.causal) {
                b.gemm_then(
                    &format!("bwd.qk_t.dq.b{bi}h{hi}.q{r0}"),
                    (self.block_at(l.ds_scaled, i, r0, 0), false),
                    (self.head_at(l.k, bi, hi, 0), false),
                    self.head_at(l.dq, bi, hi, r0),
                    (r1 - r0, r1, dh),
                    self.grad_act,
                    self.head_bias_sums(l.grad("layer.attn.bq"), hi, bi == 0 && r0 == 0),
                )?;
            }
            for (c0, c1) in bands(s, l.causal) {
                b.gemm_then(
                    &format!("bwd.qk_t.dk.b{bi}h{hi}.k{c0}"),
                    (self.block_at(l.ds_scaled, i, c0, c0), true),
                    (self.head_at(l.q, bi, hi, c0), false),
                    self.head_at(l.dk, bi, hi, c0),
                    (c1 - c0, s - c0, dh),
                    self.grad_act,
                    self.head_bias_sums(l.grad("layer.attn.bk"), hi, bi == 0 && c0 == 0),
                )?;
            }
        }
        Ok(())
    }
}
