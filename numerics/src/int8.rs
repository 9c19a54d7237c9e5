//! int8 with a per-tensor scale: `x ≈ q · scale`, `q` in −127..=127 (symmetric, so
//! negation is exact; −128 is never produced).
//!
//! Rules: round to nearest even (or stochastic); values beyond ±127·scale saturate
//! to ±127 (±inf too); NaN — or a scale that is not positive — gives 0. The scale is
//! the caller's (typically max|x| / 127, see [`scale_for`]).

use crate::fp8::{shift_round, Rounding};

/// The scale that maps the largest magnitude of `values` to 127 (1.0 for an
/// all-zero or non-finite tensor).
pub fn scale_for(values: &[f32]) -> f32 {
    let max = values
        .iter()
        .filter(|v| v.is_finite())
        .fold(0f32, |m, v| m.max(v.abs()));
    if max > 0.0 {
        max / 127.0
    } else {
        1.0
    }
}

/// `x / scale` as int8, rounded as `rounding` says.
pub fn quantize(x: f32, scale: f32, rounding: Rounding) -> i8 {
    if x.is_nan() || scale.is_nan() || scale <= 0.0 {
        return 0;
    }
    let v = f64::from(x) / f64::from(scale);
    if v.abs() >= 127.0 {
        return if v > 0.0 { 127 } else { -127 };
    }
    // The f64 quotient of two f32s is never wrongly on a tie: an inexact one is
    // at least ~2^-25 relative away from any half, far above f64's 2^-53.
    let q = match rounding {
        Rounding::NearestEven => v.abs().round_ties_even() as i8,
        Rounding::Stochastic(_) => {
            // The magnitude in fixed point with 32 fraction bits: probabilities
            // exact to 2^-32.
            let fixed = (v.abs() * 4_294_967_296.0) as u64;
            shift_round(fixed, 32, rounding).min(127) as i8
        }
    };
    if v < 0.0 {
        -q
    } else {
        q
    }
}

/// `q · scale`.
pub fn dequantize(q: i8, scale: f32) -> f32 {
    f32::from(q) * scale
}
