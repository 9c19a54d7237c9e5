//! Block floating point: a block of B values (along K, in the GEMM) shares one
//! exponent; each value keeps an `m`-bit signed mantissa (sign + m−1 magnitude
//! bits, symmetric: ±(2^(m−1) − 1)).
//!
//! Rules: the shared exponent `e` is the smallest with max|x| < 2^e over the
//! block's finite values (0 for a block of zeros); each value becomes
//! `round(x / 2^(e − m + 1))`, nearest-even or stochastic, saturating at the
//! largest mantissa (a rounding up of the block maximum does); ±inf saturate;
//! NaN becomes 0.

use crate::fp8::{shift_round, Rounding};

/// One quantized block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// The shared exponent: values are `mantissa · 2^(exponent − m + 1)`.
    pub exponent: i32,
    /// The signed mantissas, one per value.
    pub mantissas: Vec<i16>,
}

/// The largest mantissa magnitude for `m`-bit mantissas (2 ≤ m ≤ 16).
fn max_mantissa(m: u32) -> i64 {
    (1i64 << (m.clamp(2, 16) - 1)) - 1
}

/// Quantizes `values` as one block with `m`-bit mantissas (clamped to 2..=16).
/// `rng` gives the random bits of stochastic rounding, one draw per value.
pub fn quantize(values: &[f32], m: u32, rounding: Rounding, mut rng: impl FnMut() -> u64) -> Block {
    let m = m.clamp(2, 16);
    let max = values
        .iter()
        .filter(|v| v.is_finite())
        .fold(0f32, |a, v| a.max(v.abs()));
    if max == 0.0 {
        return Block {
            exponent: 0,
            mantissas: vec![0; values.len()],
        };
    }
    // max < 2^e: one more than the exponent of max's leading bit.
    let exponent = (f64::from(max).log2().floor() as i32) + 1;
    let exponent = if f64::from(max) >= 2f64.powi(exponent) {
        exponent + 1
    } else {
        exponent
    };
    let limit = max_mantissa(m);
    let unit = 2f64.powi(exponent - m as i32 + 1);
    let mantissas = values
        .iter()
        .map(|&x| {
            if x.is_nan() {
                return 0;
            }
            let v = f64::from(x) / unit;
            let magnitude = if v.abs() >= limit as f64 {
                limit
            } else {
                let r = match rounding {
                    Rounding::NearestEven => Rounding::NearestEven,
                    Rounding::Stochastic(_) => Rounding::Stochastic(rng()),
                };
                // 32 fraction bits: exact for nearest-even on f32 inputs here
                // (v has at most 24 significant bits below 2^16), 2^-32 for SR.
                let fixed = (v.abs() * 4_294_967_296.0) as u64;
                (shift_round(fixed, 32, r) as i64).min(limit)
            };
            (if v < 0.0 { -magnitude } else { magnitude }) as i16
        })
        .collect();
    Block {
        exponent,
        mantissas,
    }
}

/// The values of `block` (with `m`-bit mantissas) back in fp32.
pub fn dequantize(block: &Block, m: u32) -> Vec<f32> {
    let unit = 2f64.powi(block.exponent - m.clamp(2, 16) as i32 + 1);
    block
        .mantissas
        .iter()
        .map(|&q| (f64::from(q) * unit) as f32)
        .collect()
}
