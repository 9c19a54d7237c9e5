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
//!
//! The fp8 formats are written here: the `float8` crate saturates on overflow
//! (NVIDIA's SATFINITE), which is not what JAX does. Checked bit for bit against
//! `../shared/golden/quant` (`tests/golden_quant.rs`).

pub mod fp8;

pub use fp8::{Fp8Format, E4M3FN, E5M2};

/// fp32 → bf16 bits, round to nearest even (overflow → ±inf, NaN stays NaN).
pub fn bf16_from_f32(x: f32) -> u16 {
    half::bf16::from_f32(x).to_bits()
}

/// bf16 bits → fp32 (exact).
pub fn bf16_to_f32(bits: u16) -> f32 {
    half::bf16::from_bits(bits).to_f32()
}
