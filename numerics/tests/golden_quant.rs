//! Bit-exact against `../shared/golden/quant` (JAX / ml_dtypes 0.6.0), copied to
//! `tests/data/quant` (see its README): fp32 → bf16 / fp8 E4M3FN / fp8 E5M2 for
//! 11,666 edge and random inputs, and the decoding of every bit pattern.

use treta_numerics::{bf16_from_f32, bf16_to_f32, Fp8Format, E4M3FN, E5M2};

/// The raw little-endian payload of a NumPy v1/v2 `.npy` file and its dtype string.
fn npy(name: &str) -> (String, Vec<u8>) {
    let path = format!(
        "{}/tests/data/quant/quant.{name}.npy",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(&bytes[..6], b"\x93NUMPY", "{path}");
    let (len, start) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        _ => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
    };
    let header = String::from_utf8_lossy(&bytes[start..start + len]).to_string();
    assert!(header.contains("'fortran_order': False"), "{header}");
    let descr = header
        .split("'descr': '")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .expect("descr")
        .to_string();
    (descr, bytes[start + len..].to_vec())
}

fn u32s(name: &str) -> Vec<u32> {
    let (descr, data) = npy(name);
    assert!(descr == "<u4" || descr == "<f4", "{name}: {descr}");
    data.chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn u16s(name: &str) -> Vec<u16> {
    let (descr, data) = npy(name);
    assert_eq!(descr, "<u2", "{name}");
    data.chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect()
}

fn u8s(name: &str) -> Vec<u8> {
    let (descr, data) = npy(name);
    assert!(descr == "|u1" || descr == "<u1", "{name}: {descr}");
    data
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
