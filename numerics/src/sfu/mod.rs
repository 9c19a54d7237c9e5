//! The special-function unit's arithmetic: Softmax, LayerNorm and GELU forward
//! and backward, and the vector operations of a training step, row by row.
//!
//! Every operation is written once, generic over [`Math`] — the handful of
//! primitives a datapath implements (exp, reciprocal, reciprocal square root,
//! tanh, division). [`Exact`] is fp32 arithmetic as JAX does it; [`Hardware`] is
//! what a 28 nm unit would build: exp by base-2 range reduction and a short
//! polynomial, reciprocal and rsqrt by a lookup table and Newton steps, each with
//! the error its parameters predict ([`Hardware::predicted`]).
//!
//! Defined edge cases (no NaN surprises):
//! - a softmax row whose entries are all `-inf` (fully masked) gives all zeros, and
//!   so does its backward; `-inf` entries give exactly 0 in any row;
//! - `+inf` logits: the row's probability is shared equally by its `+inf` entries
//!   (the limit of softmax as they grow), every other entry gets 0;
//! - LayerNorm of a constant row (W = 1 included): variance 0, x̂ = 0, y = β,
//!   dX = 0; rstd = 1/√ε.

mod approx;
mod ops;

pub use approx::{Hardware, HardwareParams, Predicted};
pub use ops::{
    cross_entropy_bwd_row, gelu_bwd, gelu_fwd, layernorm_bwd_row, layernorm_fwd_row, logsumexp_row,
    mse_row, softmax_bwd_row, softmax_causal_fwd_row, softmax_fwd_row, LayerNormStats, LseState,
    VocabTile,
};

/// The primitives an SFU datapath provides.
pub trait Math {
    /// eˣ.
    fn exp(&self, x: f32) -> f32;
    /// 1/x.
    fn recip(&self, x: f32) -> f32;
    /// 1/√x.
    fn rsqrt(&self, x: f32) -> f32;
    /// a/b (exact: a division; hardware: a times the reciprocal of b).
    fn div(&self, a: f32, b: f32) -> f32;
    /// tanh(x).
    fn tanh(&self, x: f32) -> f32;
    /// `sum / count`, the mean of a row (hardware: times `1/count`, a constant
    /// the unit holds per descriptor, exact to fp32 — not the approximate
    /// reciprocal, whose error a large common offset would magnify).
    fn mean(&self, sum: f32, count: usize) -> f32;
    /// ln x (once per row, for a cross-entropy's log-sum-exp).
    fn ln(&self, x: f32) -> f32;
}

/// fp32 arithmetic, as JAX computes on CPU.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Exact;

impl Math for Exact {
    fn exp(&self, x: f32) -> f32 {
        x.exp()
    }

    fn recip(&self, x: f32) -> f32 {
        1.0 / x
    }

    fn rsqrt(&self, x: f32) -> f32 {
        1.0 / x.sqrt()
    }

    fn div(&self, a: f32, b: f32) -> f32 {
        a / b
    }

    fn tanh(&self, x: f32) -> f32 {
        x.tanh()
    }

    fn mean(&self, sum: f32, count: usize) -> f32 {
        sum / count as f32
    }

    fn ln(&self, x: f32) -> f32 {
        x.ln()
    }
}
