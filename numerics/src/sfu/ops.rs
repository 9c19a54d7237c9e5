//! The SFU's row operations, generic over the datapath's [`Math`].

use super::Math;

/// A row reduction: the unit's adder tree keeps a wide (f64-class) accumulator
/// and rounds once, so long rows with a large common offset lose nothing — as
/// XLA's tree reductions nearly do, where a sequential fp32 sum would not.
fn wide_sum(values: impl Iterator<Item = f32>) -> f32 {
    values.map(f64::from).sum::<f64>() as f32
}

/// Softmax of `x · scale` over the row, into `out` (same length). See the module
/// documentation for masked and infinite rows.
pub fn softmax_fwd_row(x: &[f32], scale: f32, out: &mut [f32], m: &impl Math) {
    let scaled = |v: f32| v * scale;
    if x.iter().any(|v| v.is_nan()) {
        out.fill(f32::NAN);
        return;
    }
    let infinite = x.iter().filter(|&&v| scaled(v) == f32::INFINITY).count();
    if infinite > 0 {
        let share = 1.0 / infinite as f32;
        for (o, &v) in out.iter_mut().zip(x) {
            *o = if scaled(v) == f32::INFINITY {
                share
            } else {
                0.0
            };
        }
        return;
    }
    let max = x
        .iter()
        .map(|&v| scaled(v))
        .fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        // Fully masked: nothing to attend to.
        out.fill(0.0);
        return;
    }
    for (o, &v) in out.iter_mut().zip(x) {
        let s = scaled(v);
        *o = if s == f32::NEG_INFINITY {
            0.0
        } else {
            m.exp(s - max)
        };
    }
    let sum = wide_sum(out.iter().copied());
    for o in out.iter_mut() {
        *o = m.div(*o, sum);
    }
}

/// Causal softmax of `x · scale` for query `query` of the row: keys
/// `0..=query` as [`softmax_fwd_row`], the keys after it exactly 0.
pub fn softmax_causal_fwd_row(x: &[f32], scale: f32, query: usize, out: &mut [f32], m: &impl Math) {
    let seen = (query + 1).min(x.len());
    softmax_fwd_row(&x[..seen], scale, &mut out[..seen], m);
    out[seen..].fill(0.0);
}

/// The running state of an online log-sum-exp over a row's vocabulary tiles.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LseState {
    /// The largest logit so far (−inf before any).
    pub max: f32,
    /// Σ exp(x − max) over the logits so far.
    pub sum: f32,
    /// The target's logit, once its tile has been seen (else 0).
    pub target_logit: f32,
}

impl LseState {
    /// Nothing seen yet.
    pub const EMPTY: LseState = LseState {
        max: f32::NEG_INFINITY,
        sum: 0.0,
        target_logit: 0.0,
    };

    /// The row's loss: ln Σ exp(x) − x_target = max + ln(sum) − x_target.
    pub fn loss(&self, m: &impl Math) -> f32 {
        self.max + m.ln(self.sum) - self.target_logit
    }
}

/// Where a tile of logits sits in the vocabulary, and the row's target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VocabTile {
    /// Vocabulary index of the tile's first column.
    pub first: usize,
    /// The row's target index.
    pub target: i64,
}

impl VocabTile {
    /// The column of the tile that holds the target, if any.
    fn target_column(&self, cols: usize) -> Option<usize> {
        let j = self.target - self.first as i64;
        (0..cols as i64).contains(&j).then_some(j as usize)
    }
}

/// One vocabulary tile `x` of a row folded into `state` (online softmax: the
/// sum is rescaled when the maximum grows, so one pass per tile suffices).
pub fn logsumexp_row(x: &[f32], tile: VocabTile, state: &mut LseState, m: &impl Math) {
    let tile_max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let max = state.max.max(tile_max);
    if max == f32::NEG_INFINITY {
        return;
    }
    let rescale = if state.sum == 0.0 {
        0.0
    } else {
        m.exp(state.max - max)
    };
    let tile_sum = wide_sum(x.iter().map(|&v| m.exp(v - max)));
    state.sum = state.sum * rescale + tile_sum;
    state.max = max;
    if let Some(j) = tile.target_column(x.len()) {
        state.target_logit = x[j];
    }
}

/// The cross-entropy gradient of one vocabulary tile of a row:
/// `out = scale · (exp(x − max)/sum − onehot(target))`.
pub fn cross_entropy_bwd_row(
    x: &[f32],
    tile: VocabTile,
    state: &LseState,
    scale: f32,
    out: &mut [f32],
    m: &impl Math,
) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = m.div(m.exp(v - state.max), state.sum);
    }
    if let Some(j) = tile.target_column(x.len()) {
        out[j] -= 1.0;
    }
    for o in out.iter_mut() {
        *o *= scale;
    }
}

/// Softmax backward: `out = p ⊙ (dp − Σ dp ⊙ p)`; 0 wherever p is 0.
pub fn softmax_bwd_row(p: &[f32], dp: &[f32], out: &mut [f32]) {
    let dot = wide_sum(p.iter().zip(dp).map(|(a, b)| a * b));
    for ((o, &pi), &di) in out.iter_mut().zip(p).zip(dp) {
        *o = if pi == 0.0 { 0.0 } else { pi * (di - dot) };
    }
}

/// What LayerNorm forward saves for backward, per row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerNormStats {
    /// Mean of the row.
    pub mean: f32,
    /// 1/√(biased variance + ε).
    pub rstd: f32,
}

/// LayerNorm of a row: mean, biased variance (two passes and wide sums, so a
/// large common offset costs no precision), `rstd = 1/√(var + eps)`, `y = x̂·γ + β`.
pub fn layernorm_fwd_row(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
    y: &mut [f32],
    m: &impl Math,
) -> LayerNormStats {
    let w = x.len();
    let mean = m.mean(wide_sum(x.iter().copied()), w);
    let var = m.mean(wide_sum(x.iter().map(|&v| (v - mean) * (v - mean))), w);
    let rstd = m.rsqrt(var + eps);
    for (((o, &v), &g), &b) in y.iter_mut().zip(x).zip(gamma).zip(beta) {
        *o = (v - mean) * rstd * g + b;
    }
    LayerNormStats { mean, rstd }
}

/// LayerNorm backward of a row from the forward input `x` and its saved `stats`:
/// `dx = rstd·(g − mean(g) − x̂·mean(g ⊙ x̂))` with `g = dy ⊙ γ`; adds the row's
/// `dy ⊙ x̂` to `dgamma` and `dy` to `dbeta` (summed over rows by the caller's
/// loop).
#[allow(clippy::too_many_arguments)] // the unit's operands, each one
pub fn layernorm_bwd_row(
    dy: &[f32],
    x: &[f32],
    gamma: &[f32],
    stats: LayerNormStats,
    dx: &mut [f32],
    dgamma: &mut [f32],
    dbeta: &mut [f32],
    m: &impl Math,
) {
    let w = x.len();
    let xhat = |v: f32| (v - stats.mean) * stats.rstd;
    let g = || dy.iter().zip(gamma).map(|(&d, &g)| d * g);
    let sum_g = wide_sum(g());
    let sum_gx = wide_sum(g().zip(x).map(|(gi, &v)| gi * xhat(v)));
    let (a, b) = (m.mean(sum_g, w), m.mean(sum_gx, w));
    for i in 0..x.len() {
        let xh = xhat(x[i]);
        dx[i] = stats.rstd * (dy[i] * gamma[i] - a - xh * b);
        dgamma[i] += dy[i] * xh;
        dbeta[i] += dy[i];
    }
}

/// √(2/π) of the tanh GELU.
const GELU_C: f32 = 0.797_884_6;
/// The cubic coefficient of the tanh GELU.
const GELU_K: f32 = 0.044_715;

/// GELU, tanh form: `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`.
pub fn gelu_fwd(x: f32, m: &impl Math) -> f32 {
    let t = m.tanh(GELU_C * (x + GELU_K * x * x * x));
    0.5 * x * (1.0 + t)
}

/// GELU backward: `dy · d/dx gelu(x)`.
pub fn gelu_bwd(x: f32, dy: f32, m: &impl Math) -> f32 {
    let t = m.tanh(GELU_C * (x + GELU_K * x * x * x));
    let du = GELU_C * (1.0 + 3.0 * GELU_K * x * x);
    dy * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du)
}

/// MSE over a row of `y` against `target`: writes `dy = (y − t)·inv_n` and returns
/// the row's share of the loss `0.5·inv_n·Σ(y − t)²` (`inv_n` = 1 / all elements
/// of the loss).
pub fn mse_row(y: &[f32], target: &[f32], inv_n: f32, dy: &mut [f32]) -> f32 {
    for ((o, &a), &t) in dy.iter_mut().zip(y).zip(target) {
        *o = (a - t) * inv_n;
    }
    let sum = wide_sum(y.iter().zip(target).map(|(&a, &t)| (a - t) * (a - t)));
    0.5 * inv_n * sum
}

#[cfg(test)]
mod tests {
    use super::super::Exact;
    use super::*;

    #[test]
    fn masked_and_infinite_softmax_rows_are_defined() {
        let mut out = [9.0; 4];
        softmax_fwd_row(&[f32::NEG_INFINITY; 4], 1.0, &mut out, &Exact);
        assert_eq!(out, [0.0; 4], "fully masked");
        softmax_fwd_row(
            &[1.0, f32::NEG_INFINITY, 3.0, f32::NEG_INFINITY],
            1.0,
            &mut out,
            &Exact,
        );
        assert_eq!((out[1], out[3]), (0.0, 0.0));
        assert!((out[0] + out[2] - 1.0).abs() < 1e-6);
        softmax_fwd_row(
            &[f32::INFINITY, 1.0, f32::INFINITY, 1e30],
            1.0,
            &mut out,
            &Exact,
        );
        assert_eq!(out, [0.5, 0.0, 0.5, 0.0]);
        softmax_fwd_row(&[1e30, -1e30, 0.0, 1e30], 1.0, &mut out, &Exact);
        assert_eq!(out, [0.5, 0.0, 0.0, 0.5], "huge finite logits");
        let mut dx = [1.0; 4];
        softmax_bwd_row(&[0.0; 4], &[1.0, 2.0, 3.0, 4.0], &mut dx);
        assert_eq!(dx, [0.0; 4]);
    }

    #[test]
    fn a_constant_row_normalizes_to_beta_with_zero_gradient() {
        let (x, g, b) = ([3.0f32], [2.0f32], [0.5f32]);
        let mut y = [0.0];
        let s = layernorm_fwd_row(&x, &g, &b, 1e-5, &mut y, &Exact);
        assert_eq!((y[0], s.mean), (0.5, 3.0));
        assert!((s.rstd - 1.0 / 1e-5f32.sqrt()).abs() < 1e-2);
        let (mut dx, mut dg, mut db) = ([9.0], [0.0], [0.0]);
        layernorm_bwd_row(&[1.5], &x, &g, s, &mut dx, &mut dg, &mut db, &Exact);
        assert_eq!((dx[0], dg[0], db[0]), (0.0, 0.0, 1.5));
    }

    #[test]
    fn gelu_backward_is_the_derivative() {
        for x in [-3.0f32, -0.5, 0.0, 0.7, 2.5] {
            let h = 1e-3f32;
            let numeric = (gelu_fwd(x + h, &Exact) - gelu_fwd(x - h, &Exact)) / (2.0 * h);
            assert!((gelu_bwd(x, 1.0, &Exact) - numeric).abs() < 1e-3, "x = {x}");
        }
    }
}
