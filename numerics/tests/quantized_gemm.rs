//! GEMMs with 8- and 16-bit operands against the fp32 golden results: the error
//! is measured and printed (`cargo test -p treta-numerics --test quantized_gemm --
//! --nocapture`), and held to the bound the formats' rounding gives — so a broken
//! quantizer or an accumulation narrower than fp32 fails here.

use treta_abi::NumberFormat;
use treta_golden::{testdata, GoldenDir};
use treta_numerics::gemm::{gemm, MatRef};
use treta_numerics::{decode, encode};

/// Unit roundoff `u` (half an ulp at 1, relative) and the largest absolute error of
/// a subnormal (half the smallest subnormal step) of each format.
fn rounding(format: NumberFormat) -> (f64, f64) {
    match format {
        NumberFormat::Bf16 => (2f64.powi(-8), 2f64.powi(-134)),
        NumberFormat::Fp16 => (2f64.powi(-11), 2f64.powi(-25)),
        NumberFormat::Fp8E4M3 => (2f64.powi(-4), 2f64.powi(-10)),
        NumberFormat::Fp8E5M2 => (2f64.powi(-3), 2f64.powi(-17)),
        _ => (0.0, 0.0),
    }
}

fn quantize(format: NumberFormat, x: &[f32]) -> Vec<f32> {
    let bytes = encode(format, x, None).expect("float format");
    decode(format, &bytes, None).expect("whole elements")
}

#[test]
fn narrow_operand_error_is_measured_and_within_the_formats_bound() {
    let d = GoldenDir::open(testdata().join("units")).expect("units");
    let shapes = [(64, 64, 64), (197, 197, 64), (17, 768, 197), (64, 3072, 3)];
    println!("| format | M×K×N | max abs err vs fp32 | max rel err (to max |C|) | bound used |");
    for format in [
        NumberFormat::Bf16,
        NumberFormat::Fp16,
        NumberFormat::Fp8E4M3,
        NumberFormat::Fp8E5M2,
    ] {
        let (u, eta) = rounding(format);
        for (m, k, n) in shapes {
            let p = format!("gemm.M{m}_K{k}_N{n}");
            let a = d.tensor(&format!("{p}.a")).expect("a").data;
            let b = d.tensor(&format!("{p}.b")).expect("b").data;
            let reference = d.tensor(&format!("{p}.c")).expect("c").data;
            let (qa, qb) = (quantize(format, &a), quantize(format, &b));
            let mut c = vec![0.0; m * n];
            gemm(
                MatRef::row_major(&qa, m, k, 0),
                MatRef::row_major(&qb, k, n, 0),
                &mut c,
                0,
                false,
            )
            .expect("fits");
            let (mut worst, mut worst_ratio) = (0f64, 0f64);
            let max_c = reference
                .iter()
                .fold(0f64, |m, &x| m.max(f64::from(x).abs()));
            for i in 0..m {
                for j in 0..n {
                    // |q(x) − x| <= u·|x| + eta for each operand; the bound on the
                    // sum of products, plus fp32 accumulation of k terms.
                    let mut bound = 0f64;
                    let mut mags = 0f64;
                    for p in 0..k {
                        let (x, y) = (f64::from(a[i * k + p]).abs(), f64::from(b[p * n + j]).abs());
                        let (ex, ey) = (u * x + eta, u * y + eta);
                        bound += ex * y + x * ey + ex * ey;
                        mags += x * y;
                    }
                    bound += 2.0 * k as f64 * f64::from(f32::EPSILON) * mags;
                    let err = (f64::from(c[i * n + j]) - f64::from(reference[i * n + j])).abs();
                    assert!(
                        err <= bound,
                        "{} {p} C[{i}][{j}]: error {err:e} above its bound {bound:e}",
                        format.name()
                    );
                    worst = worst.max(err);
                    worst_ratio = worst_ratio.max(err / bound.max(f64::MIN_POSITIVE));
                }
            }
            println!(
                "| {} | {m}×{k}×{n} | {worst:.3e} | {:.3e} | worst err/bound {worst_ratio:.2} |",
                format.name(),
                worst / max_c
            );
            assert!(
                worst > 0.0,
                "{} {p}: quantization changed nothing?",
                format.name()
            );
        }
    }
}
