//! Bit-exact against `../shared/golden/quant` (JAX / ml_dtypes 0.6.0), copied to
//! `tests/data/quant` (see its README): fp32 → bf16 / fp8 E4M3FN / fp8 E5M2 for
//! 11,666 edge and random inputs, and the decoding of every bit pattern.

use treta_numerics::{bf16_from_f32, bf16_to_f32, Fp8Format, E4M3FN, E5M2};

/// The `.npy` file `quant.<name>` of the copied golden data.
fn npy(name: &str) -> treta_golden::Npy {
    let path = format!(
        "{}/tests/data/quant/quant.{name}.npy",
        env!("CARGO_MANIFEST_DIR")
    );
    treta_golden::read_npy(std::path::Path::new(&path)).unwrap_or_else(|e| panic!("{e}"))
}

fn u32s(name: &str) -> Vec<u32> {
    npy(name).u32s().unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn u16s(name: &str) -> Vec<u16> {
    npy(name).u16s().unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn u8s(name: &str) -> Vec<u8> {
    npy(name).u8s().unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Inputs and, per input, whether it is NaN (NaN payloads are ml_dtypes' choice:
/// only "is NaN" is compared for them).
fn inputs() -> (Vec<f32>, Vec<bool>) {
    let x: Vec<f32> = u32s("input_f32_bits")
        .into_iter()
        .map(f32::from_bits)
        .collect();
    let nan: Vec<bool> = u8s("input_is_nan").into_iter().map(|b| b != 0).collect();
    assert_eq!(x.len(), 11666);
    assert_eq!(nan.len(), x.len());
    (x, nan)
}

/// Decoded values compare by bits, NaNs by NaN-ness.
fn same(got: f32, want: f32) -> bool {
    (got.is_nan() && want.is_nan()) || got.to_bits() == want.to_bits()
}

#[test]
fn bf16_encodes_and_decodes_bit_exact() {
    let (x, nan) = inputs();
    let want = u16s("bf16.bits");
    let bad: Vec<String> = x
        .iter()
        .zip(&want)
        .zip(&nan)
        .filter(|((&v, &w), &n)| {
            let got = bf16_from_f32(v);
            if n {
                !bf16_to_f32(got).is_nan()
            } else {
                got != w
            }
        })
        .map(|((v, w), _)| {
            format!(
                "{:#010x}: ours {:#06x}, JAX {w:#06x}",
                v.to_bits(),
                bf16_from_f32(*v)
            )
        })
        .collect();
    assert!(
        bad.is_empty(),
        "{} of {}:\n{}",
        bad.len(),
        x.len(),
        bad[..bad.len().min(20)].join("\n")
    );
    let decoded = u32s("bf16.decode_all_bits");
    for (bits, &w) in decoded.iter().enumerate() {
        let got = bf16_to_f32(bits as u16);
        assert!(
            same(got, f32::from_bits(w)),
            "{bits:#06x}: {got} vs {}",
            f32::from_bits(w)
        );
    }
}

fn check_fp8(format: Fp8Format, name: &str) {
    let (x, nan) = inputs();
    let want = u8s(&format!("{name}.bits"));
    let bad: Vec<String> = x
        .iter()
        .zip(&want)
        .zip(&nan)
        .filter(|((&v, &w), &n)| {
            let got = format.from_f32(v);
            if n {
                !format.to_f32(got).is_nan()
            } else {
                got != w
            }
        })
        .map(|((v, w), _)| {
            format!(
                "{v:e} ({:#010x}): ours {:#04x}, JAX {w:#04x}",
                v.to_bits(),
                format.from_f32(*v)
            )
        })
        .collect();
    assert!(
        bad.is_empty(),
        "{name}: {} of {}:\n{}",
        bad.len(),
        x.len(),
        bad[..bad.len().min(20)].join("\n")
    );
    let decoded = u32s(&format!("{name}.decode_all_bits"));
    assert_eq!(decoded.len(), 256);
    for (bits, &w) in decoded.iter().enumerate() {
        let got = format.to_f32(bits as u8);
        assert!(
            same(got, f32::from_bits(w)),
            "{name} {bits:#04x}: {got} vs {}",
            f32::from_bits(w)
        );
    }
}

#[test]
fn fp8_e4m3fn_encodes_and_decodes_bit_exact() {
    check_fp8(E4M3FN, "fp8_e4m3fn");
}

#[test]
fn fp8_e5m2_encodes_and_decodes_bit_exact() {
    check_fp8(E5M2, "fp8_e5m2");
}
