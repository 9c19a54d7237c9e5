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
use treta_abi::NumberFormat;

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

/// Converts packed little-endian elements of `src` to `dst` (round to nearest
/// even), as the DMA does on the fly; the same format is a plain copy. `None`
/// when int8 is one side of a conversion (its per-tensor scale is not part of a
/// transfer) or `bytes` is not whole elements.
pub fn convert(src: NumberFormat, dst: NumberFormat, bytes: &[u8]) -> Option<Vec<u8>> {
    if src == dst {
        return Some(bytes.to_vec());
    }
    if src == NumberFormat::Int8 || dst == NumberFormat::Int8 {
        return None;
    }
    let eb = src.bytes() as usize;
    if !bytes.len().is_multiple_of(eb) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / eb * dst.bytes() as usize);
    for chunk in bytes.chunks_exact(eb) {
        let x = match src {
            NumberFormat::Fp32 => f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]),
            NumberFormat::Bf16 => bf16_to_f32(u16::from_le_bytes([chunk[0], chunk[1]])),
            NumberFormat::Fp16 => fp16_to_f32(u16::from_le_bytes([chunk[0], chunk[1]])),
            NumberFormat::Fp8E4M3 => E4M3FN.to_f32(chunk[0]),
            NumberFormat::Fp8E5M2 => E5M2.to_f32(chunk[0]),
            NumberFormat::Int8 => return None,
        };
        match dst {
            NumberFormat::Fp32 => out.extend_from_slice(&x.to_le_bytes()),
            NumberFormat::Bf16 => out.extend_from_slice(&bf16_from_f32(x).to_le_bytes()),
            NumberFormat::Fp16 => out.extend_from_slice(&fp16_from_f32(x).to_le_bytes()),
            NumberFormat::Fp8E4M3 => out.push(E4M3FN.from_f32(x)),
            NumberFormat::Fp8E5M2 => out.push(E5M2.from_f32(x)),
            NumberFormat::Int8 => return None,
        }
    }
    Some(out)
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
