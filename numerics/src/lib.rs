//! # treta-numerics — the number formats of the TRETA VP
//!
//! Exact conversions between fp32 and the device's storage formats, with the
//! semantics of JAX / `ml_dtypes` (`astype`): round to nearest even, a single
//! rounding straight from fp32, subnormals kept, non-saturating overflow.
//!
//! | format | overflow | NaN | source |
//! |---|---|---|---|
//! | bf16 | ±inf | quiet NaN | the `half` crate (exact) |
//! | fp8 E4M3 (`fn`: finite, no inf) | \|x\| > 464 and ±inf → NaN (`0x7F`/`0xFF`); 464 is a tie and rounds to 448 | `S.1111.111` | [`fp8`] |
//! | fp8 E5M2 | \|x\| ≥ 61440 → ±inf | exponent 31, mantissa ≠ 0 | [`fp8`] |
//! | fp16 | ±inf | quiet NaN | the `half` crate (exact) |
//! | int8 × per-tensor scale | saturates to ±127 | NaN → 0 | [`int8`] |
//! | block floating point (shared exponent, m-bit mantissas) | saturates | NaN → 0 | [`bfp`] |
//!
//! Every float conversion also takes seeded stochastic rounding ([`Rounding`]).
//!
//! The fp8 formats are written here: the `float8` crate saturates on overflow
//! (NVIDIA's SATFINITE), which is not what JAX does. Checked bit for bit against
//! `../shared/golden/quant` (`tests/golden_quant.rs`).

pub mod bfp;
pub mod fp8;
pub mod int8;

pub use fp8::{Fp8Format, Rounding, E4M3FN, E5M2};

/// fp32 → bf16 bits, round to nearest even (overflow → ±inf, NaN stays NaN).
pub fn bf16_from_f32(x: f32) -> u16 {
    half::bf16::from_f32(x).to_bits()
}

/// fp32 → bf16 bits with `rounding` (NaN stays NaN; overflow → ±inf).
pub fn bf16_from_f32_with(x: f32, rounding: Rounding) -> u16 {
    match rounding {
        Rounding::NearestEven => bf16_from_f32(x),
        Rounding::Stochastic(_) if x.is_nan() => bf16_from_f32(x),
        Rounding::Stochastic(_) => {
            // bf16 is fp32's top half: drop 16 bits, carrying into the exponent
            // (and up to inf) as the magnitude grows.
            let bits = x.to_bits();
            let sign = bits & 0x8000_0000;
            let magnitude = u64::from(bits & 0x7FFF_FFFF);
            let kept = fp8::shift_round(magnitude, 16, rounding) as u32;
            ((sign >> 16) | kept.min(0x7F80)) as u16
        }
    }
}

/// bf16 bits → fp32 (exact).
pub fn bf16_to_f32(bits: u16) -> f32 {
    half::bf16::from_bits(bits).to_f32()
}

/// fp32 → fp16 bits, round to nearest even (overflow → ±inf, NaN stays NaN).
pub fn fp16_from_f32(x: f32) -> u16 {
    half::f16::from_f32(x).to_bits()
}

/// fp16 bits → fp32 (exact).
pub fn fp16_to_f32(bits: u16) -> f32 {
    half::f16::from_bits(bits).to_f32()
}

/// A small seeded generator for stochastic rounding: SplitMix64, so a run's
/// rounding is the same for the same seed on every machine.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
