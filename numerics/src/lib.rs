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
pub mod gemm;
pub mod int8;
pub mod sfu;

pub use fp8::{Fp8Format, Rounding, E4M3FN, E5M2};
use std::sync::OnceLock;
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
    encode(dst, &decode(src, bytes, None)?, None)
}

/// Decodes packed little-endian elements of `format` to fp32 (exact for every
/// float format). int8 needs its per-tensor `scale` (`None` → `None`); `None` too
/// when `bytes` is not whole elements.
pub fn decode(format: NumberFormat, bytes: &[u8], scale: Option<f32>) -> Option<Vec<f32>> {
    let mut out = Vec::new();
    decode_into(format, bytes, scale, &mut out)?;
    Some(out)
}

/// [`decode`] into `out` (cleared first), reusing its allocation: the GEMM
/// core decodes operands of every GEMM into the same buffers.
pub fn decode_into(
    format: NumberFormat,
    bytes: &[u8],
    scale: Option<f32>,
    out: &mut Vec<f32>,
) -> Option<()> {
    let eb = format.bytes() as usize;
    if !bytes.len().is_multiple_of(eb) {
        return None;
    }
    out.clear();
    out.reserve(bytes.len() / eb);
    match format {
        NumberFormat::Fp32 => out.extend(
            bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        ),
        NumberFormat::Bf16 => out.extend(
            bytes
                .chunks_exact(2)
                .map(|c| bf16_to_f32(u16::from_le_bytes([c[0], c[1]]))),
        ),
        NumberFormat::Fp16 => out.extend(
            bytes
                .chunks_exact(2)
                .map(|c| fp16_to_f32(u16::from_le_bytes([c[0], c[1]]))),
        ),
        NumberFormat::Fp8E4M3 => {
            let table = fp8_table(&E4M3_TABLE, E4M3FN);
            out.extend(bytes.iter().map(|&b| table[usize::from(b)]));
        }
        NumberFormat::Fp8E5M2 => {
            let table = fp8_table(&E5M2_TABLE, E5M2);
            out.extend(bytes.iter().map(|&b| table[usize::from(b)]));
        }
        NumberFormat::Int8 => {
            let scale = scale?;
            out.extend(bytes.iter().map(|&b| int8::dequantize(b as i8, scale)));
        }
    }
    Some(())
}

static E4M3_TABLE: OnceLock<[f32; 256]> = OnceLock::new();
static E5M2_TABLE: OnceLock<[f32; 256]> = OnceLock::new();

/// The fp32 value of each of `format`'s 256 bit patterns, computed once: bulk
/// decoding (a GEMM's operands) by lookup rather than by arithmetic.
fn fp8_table(table: &'static OnceLock<[f32; 256]>, format: Fp8Format) -> &'static [f32; 256] {
    table.get_or_init(|| std::array::from_fn(|b| format.to_f32(b as u8)))
}

/// Encodes fp32 `values` as packed little-endian elements of `format`, rounding
/// to nearest even. int8 needs its per-tensor `scale` (`None` → `None`).
pub fn encode(format: NumberFormat, values: &[f32], scale: Option<f32>) -> Option<Vec<u8>> {
    let mut out = vec![0; values.len() * format.bytes() as usize];
    encode_into(format, values, scale, &mut out)?;
    Some(out)
}

/// [`encode`] into `out`, which must hold exactly `values.len()` elements
/// (`None` otherwise): the GEMM core writes C's rows in place.
pub fn encode_into(
    format: NumberFormat,
    values: &[f32],
    scale: Option<f32>,
    out: &mut [u8],
) -> Option<()> {
    let eb = format.bytes() as usize;
    if out.len() != values.len() * eb {
        return None;
    }
    let words = out.chunks_exact_mut(eb).zip(values);
    match format {
        NumberFormat::Fp32 => words.for_each(|(w, x)| w.copy_from_slice(&x.to_le_bytes())),
        NumberFormat::Bf16 => {
            words.for_each(|(w, &x)| w.copy_from_slice(&bf16_from_f32(x).to_le_bytes()))
        }
        NumberFormat::Fp16 => {
            words.for_each(|(w, &x)| w.copy_from_slice(&fp16_from_f32(x).to_le_bytes()))
        }
        NumberFormat::Fp8E4M3 => words.for_each(|(w, &x)| w[0] = E4M3FN.from_f32(x)),
        NumberFormat::Fp8E5M2 => words.for_each(|(w, &x)| w[0] = E5M2.from_f32(x)),
        NumberFormat::Int8 => {
            let scale = scale?;
            words.for_each(|(w, &x)| w[0] = int8::quantize(x, scale, Rounding::NearestEven) as u8);
        }
    }
    Some(())
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
