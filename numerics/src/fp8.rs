//! 8-bit floats: fp32 → fp8 with one round-to-nearest-even, and back, exactly.
//!
//! One routine serves both formats, parametrised by exponent and mantissa widths and
//! by what the top exponent means (E5M2: infinities and NaNs as IEEE; E4M3FN: finite
//! values, only `S.1111.111` is NaN).

/// An 8-bit float format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fp8Format {
    /// Exponent bits.
    pub exp_bits: u32,
    /// Mantissa bits.
    pub man_bits: u32,
    /// IEEE-like top exponent (infinities, NaNs); false for the `fn` variants.
    pub has_inf: bool,
}

/// fp8 E4M3FN: bias 7, max 448, no infinities.
pub const E4M3FN: Fp8Format = Fp8Format {
    exp_bits: 4,
    man_bits: 3,
    has_inf: false,
};

/// fp8 E5M2: bias 15, max 57344, IEEE infinities and NaNs.
pub const E5M2: Fp8Format = Fp8Format {
    exp_bits: 5,
    man_bits: 2,
    has_inf: true,
};

/// How a conversion rounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    /// To nearest, ties to even.
    NearestEven,
    /// Up in magnitude with probability (distance to the value below) / (gap):
    /// unbiased in expectation. The `u64` is the random bits to draw from (the
    /// caller's seeded generator, e.g. [`crate::SplitMix64`]); only the low bits
    /// the rounding drops are used.
    Stochastic(u64),
}

/// `v / 2^shift`, rounded as `rounding` says.
pub(crate) fn shift_round(v: u64, shift: u32, rounding: Rounding) -> u64 {
    if shift == 0 {
        return v;
    }
    if shift > 63 {
        return match rounding {
            Rounding::NearestEven => 0,
            // v < 2^25 is far below 2^63: the chance to round up is v / 2^shift.
            Rounding::Stochastic(_) => 0,
        };
    }
    let q = v >> shift;
    let mask = (1u64 << shift) - 1;
    let r = v & mask;
    let up = match rounding {
        Rounding::NearestEven => {
            let half = 1u64 << (shift - 1);
            r > half || (r == half && q & 1 == 1)
        }
        Rounding::Stochastic(bits) => (bits & mask) < r,
    };
    q + u64::from(up)
}

impl Fp8Format {
    fn bias(self) -> i32 {
        (1 << (self.exp_bits - 1)) - 1
    }

    fn max_exp_field(self) -> u32 {
        (1 << self.exp_bits) - 1
    }

    /// The NaN this conversion produces (sign kept).
    fn nan(self, sign: u8) -> u8 {
        sign | if self.has_inf {
            // Exponent all ones, the top mantissa bit set: a quiet NaN.
            ((self.max_exp_field() << self.man_bits) | (1 << (self.man_bits - 1))) as u8
        } else {
            0x7F
        }
    }

    /// fp32 → fp8 bits: one rounding to nearest even, subnormals kept, overflow to
    /// ±inf (E5M2) or NaN (E4M3FN), as `ml_dtypes`.
    pub fn from_f32(self, x: f32) -> u8 {
        self.from_f32_with(x, Rounding::NearestEven)
    }

    /// fp32 → fp8 bits with `rounding`; the same overflow and NaN rules (so a
    /// stochastic rounding up past the largest finite value overflows too).
    pub fn from_f32_with(self, x: f32, rounding: Rounding) -> u8 {
        let bits = x.to_bits();
        let sign = ((bits >> 24) & 0x80) as u8;
        let abs = bits & 0x7FFF_FFFF;
        if abs > 0x7F80_0000 {
            return self.nan(sign);
        }
        let overflow = if self.has_inf {
            sign | ((self.max_exp_field() << self.man_bits) as u8)
        } else {
            self.nan(sign)
        };
        if abs == 0x7F80_0000 {
            return overflow;
        }
        if abs < 0x0080_0000 {
            // fp32 zeros and subnormals are far below half the smallest fp8
            // subnormal (2^-17 for E5M2).
            return sign;
        }
        let e32 = (abs >> 23) as i32 - 127;
        let sig = u64::from((abs & 0x7F_FFFF) | 0x80_0000);
        let m = self.man_bits;
        let emin = 1 - self.bias();
        let (exp_field, mantissa) = if e32 >= emin {
            let mut r = shift_round(sig, 23 - m, rounding);
            let mut e = e32;
            if r == 1 << (m + 1) {
                r >>= 1;
                e += 1;
            }
            ((e + self.bias()) as u32, (r - (1 << m)) as u32)
        } else {
            // Subnormal: the units are 2^(emin - m); a result of 2^m is the
            // smallest normal, which the same bit pattern encodes.
            let shift = 23 - m + (emin - e32) as u32;
            let r = shift_round(sig, shift, rounding) as u32;
            (r >> m, r & ((1 << m) - 1))
        };
        let top = self.max_exp_field();
        let too_big = if self.has_inf {
            exp_field >= top
        } else {
            exp_field > top || (exp_field == top && mantissa == (1 << m) - 1)
        };
        if too_big {
            return overflow;
        }
        sign | ((exp_field << m) | mantissa) as u8
    }

    /// fp8 bits → fp32 (exact).
    pub fn to_f32(self, bits: u8) -> f32 {
        let sign = if bits & 0x80 != 0 { -1.0 } else { 1.0 };
        let m = self.man_bits;
        let exp_field = u32::from(bits & 0x7F) >> m;
        let mantissa = u32::from(bits) & ((1 << m) - 1);
        let top = self.max_exp_field();
        if self.has_inf && exp_field == top {
            return if mantissa == 0 {
                sign * f32::INFINITY
            } else {
                f32::NAN
            };
        }
        if !self.has_inf && exp_field == top && mantissa == (1 << m) - 1 {
            return f32::NAN;
        }
        let (significand, exp) = if exp_field == 0 {
            (mantissa as f32, 1 - self.bias() - m as i32)
        } else {
            (
                (mantissa | (1 << m)) as f32,
                exp_field as i32 - self.bias() - m as i32,
            )
        };
        sign * significand * 2f32.powi(exp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_values() {
        assert_eq!(E4M3FN.from_f32(448.0), 0x7E);
        assert_eq!(E4M3FN.from_f32(464.0), 0x7E, "the tie rounds to even");
        assert_eq!(E4M3FN.from_f32(465.0), 0x7F, "beyond it, NaN");
        assert_eq!(E4M3FN.from_f32(-f32::INFINITY), 0xFF);
        assert_eq!(E4M3FN.to_f32(0x01), 2f32.powi(-9), "smallest subnormal");
        assert_eq!(E5M2.from_f32(57344.0), 0x7B);
        assert_eq!(E5M2.from_f32(61440.0), 0x7C, "the tie rounds up to inf");
        assert_eq!(E5M2.to_f32(0x7C), f32::INFINITY);
        assert_eq!(E5M2.to_f32(0x01), 2f32.powi(-16));
        assert_eq!(E4M3FN.from_f32(-0.0), 0x80);
    }
}
