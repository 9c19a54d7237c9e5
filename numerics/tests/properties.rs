//! Properties of every format: monotonic, idempotent, representable values round
//! trip, and stochastic rounding unbiased in expectation.

use proptest::prelude::*;
use treta_numerics::int8::{dequantize, quantize, scale_for};
use treta_numerics::{
    bf16_from_f32, bf16_from_f32_with, bf16_to_f32, fp16_from_f32, fp16_to_f32, Rounding,
    SplitMix64, E4M3FN, E5M2,
};

type Convert = fn(f32) -> f32;

/// fp32 → format → fp32, round to nearest even, for each float format.
fn formats() -> [(&'static str, Convert); 4] {
    [
        ("bf16", |x| bf16_to_f32(bf16_from_f32(x))),
        ("fp16", |x| fp16_to_f32(fp16_from_f32(x))),
        ("e4m3fn", |x| E4M3FN.to_f32(E4M3FN.from_f32(x))),
        ("e5m2", |x| E5M2.to_f32(E5M2.from_f32(x))),
    ]
}

/// Finite values within every format's range (e4m3fn's NaN above 464 would break
/// monotonicity by design).
fn in_range() -> impl Strategy<Value = f32> {
    prop_oneof![-448.0f32..448.0, -1.0f32..1.0, -1e-3f32..1e-3]
}

proptest! {
    #[test]
    fn rounding_is_monotonic(a in in_range(), b in in_range()) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        for (name, q) in formats() {
            prop_assert!(q(lo) <= q(hi), "{name}: q({lo}) = {} > q({hi}) = {}", q(lo), q(hi));
        }
    }

    #[test]
    fn rounding_is_idempotent(x in in_range()) {
        for (name, q) in formats() {
            let once = q(x);
            prop_assert_eq!(q(once).to_bits(), once.to_bits(), "{}", name);
        }
    }

    #[test]
    fn int8_is_monotonic_and_saturates(a in -1000f32..1000.0, b in -1000f32..1000.0) {
        let scale = 1.5;
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let (ql, qh) = (quantize(lo, scale, Rounding::NearestEven), quantize(hi, scale, Rounding::NearestEven));
        prop_assert!(ql <= qh);
        prop_assert!((-127..=127).contains(&ql) && (-127..=127).contains(&qh));
    }
}

#[test]
fn every_representable_fp8_value_round_trips() {
    for (name, f) in [("e4m3fn", E4M3FN), ("e5m2", E5M2)] {
        for bits in 0..=255u8 {
            let v = f.to_f32(bits);
            if v.is_nan() {
                continue;
            }
            assert_eq!(f.from_f32(v), bits, "{name} {bits:#04x} = {v}");
        }
    }
}

#[test]
fn every_int8_level_round_trips() {
    let scale = 0.037;
    for q in -127..=127i8 {
        assert_eq!(
            quantize(dequantize(q, scale), scale, Rounding::NearestEven),
            q
        );
    }
    assert_eq!(quantize(f32::NAN, scale, Rounding::NearestEven), 0);
    assert_eq!(quantize(f32::INFINITY, scale, Rounding::NearestEven), 127);
    assert_eq!(quantize(-1e9, scale, Rounding::NearestEven), -127);
    assert_eq!(scale_for(&[0.5, -2.54, 1.0]), 2.54 / 127.0);
}

/// The mean of `n` stochastic roundings of `x` is `x` within a few standard errors.
fn assert_unbiased(name: &str, x: f32, gap: f64, round: impl Fn(f32, Rounding) -> f32) {
    let mut rng = SplitMix64::new(7);
    let n = 20_000;
    let sum: f64 = (0..n)
        .map(|_| f64::from(round(x, Rounding::Stochastic(rng.next_u64()))))
        .sum();
    let mean = sum / f64::from(n);
    // Each sample is one of two neighbours `gap` apart: std ≤ gap / 2.
    let tolerance = 4.0 * gap / 2.0 / f64::from(n).sqrt();
    assert!(
        (mean - f64::from(x)).abs() <= tolerance,
        "{name}: mean of SR({x}) = {mean}, off by more than {tolerance}"
    );
    // And it is not simply round-to-nearest: both neighbours occur.
    let nearest = round(x, Rounding::NearestEven);
    assert!(
        (mean - f64::from(nearest)).abs() > tolerance / 4.0,
        "{name}: {x}"
    );
}

#[test]
fn stochastic_rounding_is_unbiased() {
    // 1.3 lies between e4m3fn's 1.25 and 1.375 (gap 0.125).
    assert_unbiased("e4m3fn", 1.3, 0.125, |x, r| {
        E4M3FN.to_f32(E4M3FN.from_f32_with(x, r))
    });
    // 1.3 between e5m2's 1.25 and 1.5.
    assert_unbiased("e5m2", 1.3, 0.25, |x, r| {
        E5M2.to_f32(E5M2.from_f32_with(x, r))
    });
    // bf16 has 8 significant bits: gap 2^-7 at 1.x.
    assert_unbiased("bf16", 1.003, 1.0 / 128.0, |x, r| {
        bf16_to_f32(bf16_from_f32_with(x, r))
    });
    // int8 at scale 1: 10.3 between 10 and 11.
    assert_unbiased("int8", 10.3, 1.0, |x, r| f32::from(quantize(x, 1.0, r)));
}

#[test]
fn stochastic_rounding_is_deterministic_for_a_seed() {
    let draw = |seed| {
        let mut rng = SplitMix64::new(seed);
        (0..64)
            .map(|i| {
                E4M3FN.from_f32_with(1.0 + i as f32 / 100.0, Rounding::Stochastic(rng.next_u64()))
            })
            .collect::<Vec<u8>>()
    };
    assert_eq!(draw(1), draw(1));
    assert_ne!(draw(1), draw(2));
}

mod block_floating_point {
    use super::*;
    use treta_numerics::bfp::{dequantize, quantize, Block};

    fn nearest(values: &[f32], m: u32) -> Block {
        quantize(values, m, Rounding::NearestEven, || 0)
    }

    #[test]
    fn shared_exponent_and_mantissas_follow_the_rules() {
        // max 3.0 < 2^2: e = 2; 8-bit mantissas count in units of 2^(2-7) = 1/32.
        let b = nearest(&[3.0, -1.0, 0.015625, 0.0234375, f32::NAN], 8);
        assert_eq!(b.exponent, 2);
        // 0.015625 = 0.5 units: a tie, to even 0; 0.0234375 = 0.75 units: 1.
        assert_eq!(b.mantissas, vec![96, -32, 0, 1, 0]);
        // 4.0 is not below 2^2: e = 3.
        assert_eq!(nearest(&[4.0], 8).exponent, 3);
        // Zeros: exponent 0, mantissas 0.
        assert_eq!(
            nearest(&[0.0, -0.0], 4),
            Block {
                exponent: 0,
                mantissas: vec![0, 0]
            }
        );
        // The block maximum rounding up saturates: 0.999 in 4 bits → 7/8, not 8/8.
        let b = nearest(&[0.999, f32::INFINITY], 4);
        assert_eq!(
            b.mantissas,
            vec![7, 7],
            "inf saturates and is left out of the exponent"
        );
    }

    proptest! {
        #[test]
        fn error_is_at_most_half_a_unit(values in proptest::collection::vec(-100f32..100.0, 1..32), m in 3u32..12) {
            let b = nearest(&values, m);
            let unit = 2f64.powi(b.exponent - m as i32 + 1);
            let limit = f64::from((1u32 << (m - 1)) - 1) * unit;
            for (x, y) in values.iter().zip(dequantize(&b, m)) {
                let (x, y) = (f64::from(*x), f64::from(y));
                let err = if x.abs() > limit { x.abs() - limit } else { unit / 2.0 };
                prop_assert!((x - y).abs() <= err + 1e-12, "{x} -> {y}, unit {unit}");
            }
        }

        #[test]
        fn representable_blocks_round_trip(mantissas in proptest::collection::vec(-127i16..=127, 1..16), e in -10i32..10) {
            let block = Block { exponent: e, mantissas: mantissas.clone() };
            let values = dequantize(&block, 8);
            let again = nearest(&values, 8);
            // The same values, whatever exponent the block's maximum chooses.
            prop_assert_eq!(dequantize(&again, 8), values);
        }
    }

    #[test]
    fn stochastic_rounding_is_unbiased() {
        // [1.0, 0.3] in 4 bits: units of 2^(1-3) = 0.25; 0.3 lies between 0.25 and 0.5.
        let mut rng = SplitMix64::new(3);
        let n = 20_000;
        let sum: f64 = (0..n)
            .map(|_| {
                let b = quantize(&[1.0, 0.3], 4, Rounding::Stochastic(0), || rng.next_u64());
                f64::from(dequantize(&b, 4)[1])
            })
            .sum();
        let mean = sum / f64::from(n);
        assert!(
            (mean - 0.3).abs() < 4.0 * 0.125 / f64::from(n).sqrt(),
            "{mean}"
        );
    }
}
