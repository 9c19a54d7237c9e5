//! The approximations a 28 nm SFU would build, parameterized, with the error each
//! parameter setting predicts.
//!
//! - **exp**: base-2 range reduction (`x·log₂e = n + f` in wide fixed point, as a
//!   hardware multiplier with a 32-bit constant would do: computed here in f64),
//!   then `2^f` on `[0, 1)` by the degree-`exp_degree` polynomial interpolating it
//!   at the Chebyshev nodes, evaluated in fp32 (Horner), then `× 2ⁿ` (exponent
//!   arithmetic, exact). Predicted relative error: the Chebyshev interpolation
//!   bound `max|(2^f)^(d+1)| / ((d+1)! 2^d) · (1/2)^(d+1) = 2 (ln 2)^(d+1) /
//!   ((d+1)! 2^(2d+1))`, plus fp32 rounding of the evaluation.
//! - **reciprocal**: a table of `2^lut_bits` entries indexed by the top mantissa
//!   bits (the reciprocal of each interval's midpoint), then `newton_steps`
//!   Newton–Raphson steps `y ← y(2 − m y)` on the mantissa `m ∈ [1, 2)`; the
//!   relative error goes `e ← e²` per step from the table's worst `e₀`.
//! - **rsqrt**: a table over `[1, 4)` (exponent parity folded into the mantissa),
//!   `2^lut_bits` entries per octave, then Newton steps `y ← y(3 − m y²)/2`; the
//!   error goes `e ← 1.5e² + 0.5|e|³` per step.
//! - **tanh**: `1 − 2/(e^{2|x|} + 1)` on the exp and reciprocal above; its error
//!   is absolute, about `2(ε_exp + ε_recip)` (near 0 too, where it is not small
//!   relative to the result).
//!
//! Each step also rounds in fp32: the predictions add `2^-24` per rounding.

use super::Math;
use std::f64::consts::{LN_2, LOG2_E};

/// Parameters of the hardware approximations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HardwareParams {
    /// Degree of the `2^f` polynomial (1–8).
    pub exp_degree: u32,
    /// Index bits of the reciprocal and rsqrt tables (1–12).
    pub lut_bits: u32,
    /// Newton–Raphson steps after the table (0–4).
    pub newton_steps: u32,
}

impl Default for HardwareParams {
    /// Degree 4, 7-bit tables, one Newton step: errors of a few 1e-6 to 1e-5,
    /// below bf16's resolution, at the cost of a 4-multiply exp and 256-entry tables.
    fn default() -> HardwareParams {
        HardwareParams {
            exp_degree: 4,
            lut_bits: 7,
            newton_steps: 1,
        }
    }
}

/// The relative errors a parameter setting predicts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Predicted {
    /// exp, over inputs whose result is a normal fp32.
    pub exp: f64,
    /// The reciprocal, over normal inputs.
    pub recip: f64,
    /// The reciprocal square root, over normal inputs.
    pub rsqrt: f64,
}

/// One fp32 rounding, relative.
const ROUNDING: f64 = 1.0 / (1u64 << 24) as f64;

/// The hardware approximations, tables and coefficients built once.
#[derive(Clone, Debug, PartialEq)]
pub struct Hardware {
    params: HardwareParams,
    /// `2^f` ≈ Σ coeffs[i]·fⁱ on [0, 1).
    exp_coeffs: Vec<f32>,
    /// 1/midpoint of each of the 2^k intervals of [1, 2).
    recip_table: Vec<f32>,
    /// 1/√midpoint of each of the 2^k intervals of [1, 2), then of [2, 4).
    rsqrt_table: Vec<f32>,
}

impl Hardware {
    /// The approximations of `params`; an error names a parameter out of range.
    pub fn new(params: HardwareParams) -> Result<Hardware, String> {
        if !(1..=8).contains(&params.exp_degree) {
            return Err(format!("exp_degree {}: 1 to 8", params.exp_degree));
        }
        if !(1..=12).contains(&params.lut_bits) {
            return Err(format!("lut_bits {}: 1 to 12", params.lut_bits));
        }
        if params.newton_steps > 4 {
            return Err(format!("newton_steps {}: 0 to 4", params.newton_steps));
        }
        let entries = 1usize << params.lut_bits;
        let width = 1.0 / entries as f64;
        let recip_table = (0..entries)
            .map(|i| (1.0 / (1.0 + (i as f64 + 0.5) * width)) as f32)
            .collect();
        let rsqrt_table = (0..2 * entries)
            .map(|i| {
                // [1, 2) in steps of `width`, then [2, 4) in steps of 2·`width`.
                let mid = if i < entries {
                    1.0 + (i as f64 + 0.5) * width
                } else {
                    2.0 + ((i - entries) as f64 + 0.5) * 2.0 * width
                };
                (1.0 / mid.sqrt()) as f32
            })
            .collect();
        Ok(Hardware {
            params,
            exp_coeffs: chebyshev_exp2(params.exp_degree as usize),
            recip_table,
            rsqrt_table,
        })
    }

    /// Its parameters.
    pub fn params(&self) -> HardwareParams {
        self.params
    }

    /// The relative errors these parameters predict.
    pub fn predicted(&self) -> Predicted {
        let d = f64::from(self.params.exp_degree);
        let factorial: f64 = (1..=self.params.exp_degree + 1).map(f64::from).product();
        let interpolation = 2.0 * LN_2.powf(d + 1.0) / (factorial * 2f64.powf(2.0 * d + 1.0));
        // Coefficients rounded to fp32 and one rounding per Horner step, relative
        // to 2^f >= 1, plus the final rounding.
        let exp = interpolation + (2.0 * d + 2.0) * ROUNDING;
        let steps = self.params.newton_steps;
        let recip = (0..steps).fold(self.table_error(&self.recip_table, false), |e, _| {
            e * e + 3.0 * ROUNDING
        });
        let rsqrt = (0..steps).fold(self.table_error(&self.rsqrt_table, true), |e, _| {
            1.5 * e * e + 0.5 * e * e * e + 5.0 * ROUNDING
        });
        Predicted {
            exp,
            recip: recip + ROUNDING,
            rsqrt: rsqrt + ROUNDING,
        }
    }

    /// The worst relative error of a table's entries at their intervals' ends.
    fn table_error(&self, table: &[f32], rsqrt: bool) -> f64 {
        let entries = 1usize << self.params.lut_bits;
        let width = 1.0 / entries as f64;
        table
            .iter()
            .enumerate()
            .map(|(i, &y)| {
                let (lo, step) = if i < entries {
                    (1.0 + i as f64 * width, width)
                } else {
                    (2.0 + (i - entries) as f64 * 2.0 * width, 2.0 * width)
                };
                let exact = |m: f64| if rsqrt { 1.0 / m.sqrt() } else { 1.0 / m };
                [lo, lo + step]
                    .iter()
                    .map(|&m| (f64::from(y) / exact(m) - 1.0).abs())
                    .fold(0.0, f64::max)
            })
            .fold(0.0, f64::max)
    }
}

/// The monomial coefficients (low degree first) of the degree-`d` polynomial
/// interpolating 2^f at the d+1 Chebyshev nodes of [0, 1].
fn chebyshev_exp2(d: usize) -> Vec<f32> {
    let n = d + 1;
    let nodes: Vec<f64> = (0..n)
        .map(|j| 0.5 + 0.5 * ((2 * j + 1) as f64 * std::f64::consts::PI / (2 * n) as f64).cos())
        .collect();
    // Solve the Vandermonde system by Gaussian elimination with partial pivoting.
    let mut a: Vec<Vec<f64>> = nodes
        .iter()
        .map(|&t| {
            let mut row: Vec<f64> = (0..n).map(|i| t.powi(i as i32)).collect();
            row.push(t.exp2());
            row
        })
        .collect();
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap_or(col);
        a.swap(col, pivot);
        let pivot_row = a[col].clone();
        for (r, row) in a.iter_mut().enumerate() {
            if r != col {
                let f = row[col] / pivot_row[col];
                for (v, &p) in row.iter_mut().zip(&pivot_row).skip(col) {
                    *v -= f * p;
                }
            }
        }
    }
    (0..n).map(|i| (a[i][n] / a[i][i]) as f32).collect()
}

/// `x · 2ⁿ` in fp32, exact unless the result is subnormal or out of range.
fn ldexp(x: f32, n: i32) -> f32 {
    // Two steps so that 2^n itself stays a normal fp32.
    let half = n / 2;
    let pow2 = |e: i32| f32::from_bits(((e + 127).clamp(1, 254) as u32) << 23);
    x * pow2(half) * pow2(n - half)
}

/// A finite, non-zero fp32 as (mantissa in [1, 2), exponent).
fn split(x: f32) -> (f32, i32) {
    let bits = x.abs().to_bits();
    let (bits, bias) = if bits >> 23 == 0 {
        // Subnormal: scale into the normal range first.
        ((x.abs() * 2f32.powi(64)).to_bits(), 64)
    } else {
        (bits, 0)
    };
    let exponent = (bits >> 23) as i32 - 127 - bias;
    let mantissa = f32::from_bits((bits & 0x007F_FFFF) | 0x3F80_0000);
    (mantissa, exponent)
}

impl Hardware {
    /// The table index of mantissa `m ∈ [1, 2)`.
    fn index(&self, m: f32) -> usize {
        ((m.to_bits() & 0x007F_FFFF) >> (23 - self.params.lut_bits)) as usize
    }
}

impl Math for Hardware {
    fn exp(&self, x: f32) -> f32 {
        if x.is_nan() {
            return f32::NAN;
        }
        let t = f64::from(x) * LOG2_E;
        if t >= 128.0 {
            return f32::INFINITY;
        }
        if t < -150.0 {
            return 0.0;
        }
        let n = t.floor();
        let f = (t - n) as f32;
        let p = self
            .exp_coeffs
            .iter()
            .rev()
            .fold(0.0f32, |acc, &c| acc * f + c);
        ldexp(p, n as i32)
    }

    fn recip(&self, x: f32) -> f32 {
        if x.is_nan() {
            return f32::NAN;
        }
        if x == 0.0 {
            return f32::INFINITY.copysign(x);
        }
        if x.is_infinite() {
            return 0.0f32.copysign(x);
        }
        let (m, e) = split(x);
        let mut y = self.recip_table[self.index(m)];
        for _ in 0..self.params.newton_steps {
            y *= 2.0 - m * y;
        }
        ldexp(y, -e).copysign(x)
    }

    fn rsqrt(&self, x: f32) -> f32 {
        if x.is_nan() || x < 0.0 {
            return f32::NAN;
        }
        if x == 0.0 {
            return f32::INFINITY;
        }
        if x.is_infinite() {
            return 0.0;
        }
        let (m, e) = split(x);
        // Fold an odd exponent into the mantissa: m·2^e = (2m)·2^(e−1).
        let (m, e, octave) = if e.rem_euclid(2) == 1 {
            (2.0 * m, e - 1, 1)
        } else {
            (m, e, 0)
        };
        let entries = 1usize << self.params.lut_bits;
        let index = self.index(if octave == 1 { m / 2.0 } else { m }) + octave * entries;
        let mut y = self.rsqrt_table[index];
        for _ in 0..self.params.newton_steps {
            y = y * (3.0 - m * y * y) * 0.5;
        }
        ldexp(y, -e / 2)
    }

    fn div(&self, a: f32, b: f32) -> f32 {
        a * self.recip(b)
    }

    fn tanh(&self, x: f32) -> f32 {
        if x.is_nan() {
            return f32::NAN;
        }
        let e = self.exp(2.0 * x.abs());
        (1.0 - 2.0 * self.recip(e + 1.0)).copysign(x)
    }

    fn mean(&self, sum: f32, count: usize) -> f32 {
        sum * (1.0 / count as f32)
    }

    /// Exact fp32: one logarithm per row of a cross-entropy (never on the
    /// element path), which the unit computes in its slow iterative mode.
    fn ln(&self, x: f32) -> f32 {
        x.ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worst relative error of `f` against `exact` over `inputs`.
    fn worst(
        inputs: impl Iterator<Item = f32>,
        f: impl Fn(f32) -> f32,
        exact: impl Fn(f64) -> f64,
    ) -> f64 {
        inputs
            .map(|x| (f64::from(f(x)) / exact(f64::from(x)) - 1.0).abs())
            .fold(0.0, f64::max)
    }

    /// A dense sweep of normal fp32 values of [lo, hi), geometric.
    fn sweep(lo: f32, hi: f32, n: usize) -> impl Iterator<Item = f32> {
        let (a, b) = (f64::from(lo).ln(), f64::from(hi).ln());
        (0..n).map(move |i| (a + (b - a) * i as f64 / n as f64).exp() as f32)
    }

    #[test]
    fn every_approximation_stays_within_what_its_parameters_predict_and_near_it() {
        for exp_degree in 2..=6 {
            for (lut_bits, newton_steps) in [(4, 0), (6, 0), (5, 1), (7, 1), (8, 2)] {
                let p = HardwareParams {
                    exp_degree,
                    lut_bits,
                    newton_steps,
                };
                let h = Hardware::new(p).expect("valid");
                let pred = h.predicted();
                let exp_in = (0..200_000).map(|i| -87.0 + 175.0 * i as f32 / 200_000.0);
                let e = worst(exp_in, |x| h.exp(x), f64::exp);
                assert!(e <= pred.exp, "{p:?}: exp {e:e} > predicted {:e}", pred.exp);
                let r = worst(sweep(1e-30, 1e30, 200_000), |x| h.recip(x), |x| 1.0 / x);
                assert!(r <= pred.recip, "{p:?}: recip {r:e} > {:e}", pred.recip);
                let s = worst(
                    sweep(1e-30, 1e30, 200_000),
                    |x| h.rsqrt(x),
                    |x| 1.0 / x.sqrt(),
                );
                assert!(s <= pred.rsqrt, "{p:?}: rsqrt {s:e} > {:e}", pred.rsqrt);
                // The predictions are not loose where the approximation, not fp32
                // rounding, dominates: the measured error reaches a third of them.
                if pred.exp > 1e-5 {
                    assert!(e >= pred.exp / 3.0, "{p:?}: exp {e:e} ≪ {:e}", pred.exp);
                }
                if pred.recip > 1e-5 {
                    assert!(
                        r >= pred.recip / 3.0,
                        "{p:?}: recip {r:e} ≪ {:e}",
                        pred.recip
                    );
                }
                if pred.rsqrt > 1e-5 {
                    assert!(
                        s >= pred.rsqrt / 3.0,
                        "{p:?}: rsqrt {s:e} ≪ {:e}",
                        pred.rsqrt
                    );
                }
            }
        }
    }

    #[test]
    fn special_values_are_defined() {
        let h = Hardware::new(HardwareParams::default()).expect("valid");
        assert_eq!(h.exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(h.exp(-200.0), 0.0);
        assert_eq!(h.exp(100.0), f32::INFINITY);
        assert!(h.exp(f32::NAN).is_nan());
        assert!((h.exp(0.0) - 1.0).abs() < 1e-5);
        assert_eq!(h.recip(0.0), f32::INFINITY);
        assert_eq!(h.recip(-0.0), f32::NEG_INFINITY);
        assert_eq!(h.recip(f32::INFINITY), 0.0);
        assert!((h.recip(-4.0) + 0.25).abs() < 1e-5);
        assert_eq!(h.rsqrt(0.0), f32::INFINITY);
        assert!(h.rsqrt(-1.0).is_nan());
        assert!(
            (h.rsqrt(1e-40) / 1e20 - 1.0).abs() < 1e-4,
            "subnormal input"
        );
        assert_eq!(h.tanh(100.0), 1.0);
        assert_eq!(h.tanh(-100.0), -1.0);
        // tanh's error is absolute: about 2(ε_exp + ε_recip), also near 0.
        let p = h.predicted();
        for x in [0.0f32, 1e-3, 0.3, 1.0, 4.0] {
            let err = (f64::from(h.tanh(x)) - f64::from(x).tanh()).abs();
            assert!(err <= 2.0 * (p.exp + p.recip), "tanh({x}): {err:e}");
        }
    }

    #[test]
    fn out_of_range_parameters_are_refused() {
        for p in [
            HardwareParams {
                exp_degree: 0,
                ..HardwareParams::default()
            },
            HardwareParams {
                lut_bits: 13,
                ..HardwareParams::default()
            },
            HardwareParams {
                newton_steps: 5,
                ..HardwareParams::default()
            },
        ] {
            assert!(Hardware::new(p).is_err(), "{p:?}");
        }
    }
}
