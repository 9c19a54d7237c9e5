//! The GEMM core as firmware sees it: descriptors in, SRAM contents out. Its math
//! matches JAX in all three training forms with operands read transposed where
//! the descriptor says; its timing is the mapping's rounds against the SRAM banks,
//! the same whether or not it computes; bad descriptors fault.

mod common;

use common::{fp32_bytes, issue, peek_f32, poke};
use std::rc::Rc;
use treta_abi::{Command, DeviceError, GemmDesc, NumberFormat};
use treta_golden::{testdata, GoldenDir};
use treta_kernel::tlm::{Command as Tlm, InitiatorSocket, Payload};
use treta_kernel::{Clock, Fifo, Simulation};
use treta_models::mapping::{FlexibleEngine, GemmShape};
use treta_models::{GemmCore, GemmRecord, GemmTiming, Sram, SramGeometry};
use treta_numerics::gemm::{gemm_reference, MatRef};

const SRAM: SramGeometry = SramGeometry {
    bytes: 1 << 22,
    banks: 32,
    width: 64,
    ports: 2,
    latency: 1,
};

fn treta_engine(fetch: u32) -> GemmTiming {
    GemmTiming::Flexible(FlexibleEngine {
        macs: 8192,
        group: 16,
        preload: true,
        fetch_bytes_per_cycle: fetch,
    })
}

/// What a run leaves: each job's outcome, the records, and the SRAM's bytes.
struct Outcome {
    results: Vec<Result<(), treta_models::Fault>>,
    records: Vec<GemmRecord>,
    sram: Rc<Sram>,
    host: InitiatorSocket,
}

impl Outcome {
    fn read_f32(&self, addr: u64, count: usize) -> Vec<f32> {
        peek_f32(&self.host, addr, count)
    }
}

/// Runs `jobs` one after the other on a GEMM core of `timing` at 1 GHz over an
/// SRAM of `geometry` that starts with `setup` (address, bytes).
fn run(
    timing: GemmTiming,
    geometry: SramGeometry,
    functional: bool,
    setup: &[(u64, Vec<u8>)],
    jobs: Vec<GemmDesc>,
) -> Outcome {
    let mut sim = Simulation::new();
    let ctx = sim.ctx().clone();
    let clock = Clock::from_mhz(1000).unwrap();
    let sram = Sram::new(&ctx, "sram", clock, geometry);
    let port = Fifo::new(&ctx, "gemm.jobs", 2);
    let core = GemmCore::new(&ctx, "gemm", port.clone(), timing, clock, functional);
    core.sram.bind(&sram.socket).unwrap();
    let host = InitiatorSocket::new("host");
    host.bind(&sram.socket).unwrap();
    for (addr, bytes) in setup {
        poke(&host, *addr, bytes.clone());
    }
    let results = issue(
        &mut sim,
        port,
        jobs.into_iter().map(Command::Gemm).collect(),
    );
    Outcome {
        results,
        records: core.records(),
        sram,
        host,
    }
}

fn fp32_gemm(m: u32, k: u32, n: u32, a: u32, b: u32, c: u32) -> GemmDesc {
    GemmDesc::packed(m, k, n, [a, b, c], NumberFormat::Fp32)
}

#[test]
fn forward_backward_data_and_weight_gradient_match_jax() {
    let d = GoldenDir::open(testdata().join("units")).expect("units");
    for (m, k, n) in [(197, 197, 64), (17, 768, 197), (64, 17, 197), (3, 3072, 17)] {
        let p = format!("gemm.M{m}_K{k}_N{n}");
        let t = |s: &str| d.tensor(&format!("{p}.{s}")).expect("tensor").data;
        let (a, b, dc) = (t("a"), t("b"), t("dc"));
        // Operands one after the other, 4-byte aligned.
        let (a_at, b_at) = (0u32, (m * k * 4) as u32);
        let dc_at = b_at + (k * n * 4) as u32;
        let out = dc_at + (m * n * 4) as u32;
        let (c_at, da_at, db_at) = (
            out,
            out + (m * n * 4) as u32,
            out + ((m * n + m * k) * 4) as u32,
        );
        let (mu, ku, nu) = (m as u32, k as u32, n as u32);
        let forward = fp32_gemm(mu, ku, nu, a_at, b_at, c_at);
        // da[m×k] = dc[m×n] · bᵀ: B is stored k×n, i.e. transposed for this GEMM.
        let backward_data = GemmDesc {
            transpose_b: true,
            ..fp32_gemm(mu, nu, ku, dc_at, b_at, da_at)
        };
        // db[k×n] = aᵀ · dc: A is stored m×k, transposed for this GEMM.
        let weight_gradient = GemmDesc {
            transpose_a: true,
            ..fp32_gemm(ku, mu, nu, a_at, dc_at, db_at)
        };
        let o = run(
            treta_engine(2048),
            SRAM,
            true,
            &[
                (u64::from(a_at), fp32_bytes(&a)),
                (u64::from(b_at), fp32_bytes(&b)),
                (u64::from(dc_at), fp32_bytes(&dc)),
            ],
            vec![forward, backward_data, weight_gradient],
        );
        assert!(o.results.iter().all(Result::is_ok), "{:?}", o.results);
        for (name, at, len) in [
            ("c", c_at, m * n),
            ("da", da_at, m * k),
            ("db", db_at, k * n),
        ] {
            let got = o.read_f32(u64::from(at), len);
            let r = d.compare(&format!("{p}.{name}"), &got).expect("compare");
            assert!(r.pass, "{r}");
        }
    }
}

#[test]
fn accumulation_and_leading_dimensions_as_stored() {
    // A is 5×7 inside rows of 9; C is 5×4 inside rows of 6, preloaded; C += A·B.
    let (m, k, n, lda, ldc) = (5usize, 7usize, 4usize, 9usize, 6usize);
    let a: Vec<f32> = (0..m * lda).map(|i| (i % 11) as f32 - 5.0).collect();
    let b: Vec<f32> = (0..k * n).map(|i| (i % 7) as f32 * 0.5 - 1.0).collect();
    let c0: Vec<f32> = (0..m * ldc).map(|i| i as f32).collect();
    // At 4-byte-aligned addresses the product is computed on the SRAM's storage;
    // 2 bytes off, through decoded copies: the same result either way.
    for shift in [0u32, 2] {
        let g = GemmDesc {
            lda: lda as u32,
            ldc: ldc as u32,
            accumulate: true,
            ..fp32_gemm(
                m as u32,
                k as u32,
                n as u32,
                shift,
                4096 + shift,
                8192 + shift,
            )
        };
        let at = |x: u32| u64::from(x + shift);
        let o = run(
            treta_engine(2048),
            SRAM,
            true,
            &[
                (at(0), fp32_bytes(&a)),
                (at(4096), fp32_bytes(&b)),
                (at(8192), fp32_bytes(&c0)),
            ],
            vec![g],
        );
        assert_eq!(o.results, vec![Ok(())]);
        let got = o.read_f32(at(8192), m * ldc);
        let product = gemm_reference(
            MatRef::row_major(&a, m, k, lda),
            MatRef::row_major(&b, k, n, 0),
        );
        for i in 0..m {
            for j in 0..ldc {
                let want = if j < n {
                    c0[i * ldc + j] + product[i * n + j]
                } else {
                    c0[i * ldc + j] // padding between C's rows is untouched
                };
                assert_eq!(got[i * ldc + j], want, "shift {shift}: C[{i}][{j}]");
            }
        }
    }
}

#[test]
fn a_result_written_over_its_own_operand_uses_the_operand_as_it_was() {
    // C = A·B with C at A's address (4×4 each): every element of C must come from
    // the old A, not from rows of C already written.
    let n = 4usize;
    let a: Vec<f32> = (0..n * n).map(|i| i as f32).collect();
    let b: Vec<f32> = (0..n * n).map(|i| ((i * 3) % 5) as f32 - 2.0).collect();
    let g = fp32_gemm(n as u32, n as u32, n as u32, 0, 1024, 0);
    let o = run(
        treta_engine(2048),
        SRAM,
        true,
        &[(0, fp32_bytes(&a)), (1024, fp32_bytes(&b))],
        vec![g],
    );
    assert_eq!(o.results, vec![Ok(())]);
    let want = gemm_reference(
        MatRef::row_major(&a, n, n, 0),
        MatRef::row_major(&b, n, n, 0),
    );
    assert_eq!(o.read_f32(0, n * n), want);
}

#[test]
fn narrow_operands_are_decoded_and_c_rounded_to_its_format() {
    // Small integers: exact in every format here, and so are their products and
    // sums (|sum| <= 16·2·2 = 64), so the results must be exact too.
    let (m, k, n) = (8usize, 16usize, 8usize);
    let a: Vec<f32> = (0..m * k).map(|i| (i % 5) as f32 - 2.0).collect();
    let b: Vec<f32> = (0..k * n).map(|i| (i % 3) as f32 - 1.0).collect();
    let want = gemm_reference(
        MatRef::row_major(&a, m, k, 0),
        MatRef::row_major(&b, k, n, 0),
    );
    for (ab, c_format) in [
        (NumberFormat::Bf16, NumberFormat::Bf16),
        (NumberFormat::Fp8E4M3, NumberFormat::Fp32),
        (NumberFormat::Fp8E5M2, NumberFormat::Fp16),
        (NumberFormat::Fp32, NumberFormat::Bf16),
    ] {
        let enc = |f, v: &[f32]| treta_numerics::encode(f, v, None).expect("float format");
        let g = GemmDesc {
            a_format: ab,
            b_format: ab,
            c_format,
            ..fp32_gemm(m as u32, k as u32, n as u32, 0, 4096, 8192)
        };
        let o = run(
            treta_engine(2048),
            SRAM,
            true,
            &[(0, enc(ab, &a)), (4096, enc(ab, &b))],
            vec![g],
        );
        assert_eq!(o.results, vec![Ok(())], "{}", ab.name());
        let eb = c_format.bytes() as usize;
        let mut p = Payload::with_data(Tlm::Read, 8192, vec![0; m * n * eb]);
        assert_eq!(o.host.transport_dbg(&mut p), m * n * eb);
        let raw = p.set_timing_only(0).unwrap_or_default();
        let got = treta_numerics::decode(c_format, &raw, None).expect("whole elements");
        assert_eq!(
            got,
            want,
            "{} operands, {} result",
            ab.name(),
            c_format.name()
        );
    }
}

#[test]
fn timing_is_the_same_whether_or_not_it_computes_and_follows_the_mapping() {
    let jobs = vec![
        fp32_gemm(128, 768, 192, 0, 400_000, 1_000_000),
        GemmDesc {
            transpose_a: true,
            ..fp32_gemm(96, 128, 200, 0, 400_000, 600_000)
        },
    ];
    let timing = run(treta_engine(2048), SRAM, false, &[], jobs.clone());
    let functional = run(treta_engine(2048), SRAM, true, &[], jobs.clone());
    assert!(
        timing.results.iter().all(Result::is_ok),
        "{:?}",
        timing.results
    );
    assert_eq!(timing.records, functional.records);
    for (r, g) in timing.records.iter().zip(&jobs) {
        let planned = treta_engine(2048).map(&GemmShape::of(g));
        assert_eq!(r.planned_cycles, planned.cycles);
        // Wide SRAM: every round fetches faster than it computes, so the GEMM
        // takes exactly the planned cycles.
        assert_eq!((r.cycles, r.stall_cycles), (planned.cycles, 0));
    }
}

#[test]
fn a_narrow_sram_stalls_the_rounds_and_the_stall_is_measured() {
    let narrow = SramGeometry {
        banks: 1,
        width: 8,
        ..SRAM
    };
    let job = fp32_gemm(128, 256, 128, 0, 200_000, 400_000);
    let wide = run(treta_engine(2048), SRAM, false, &[], vec![job.clone()]);
    let slow = run(treta_engine(2048), narrow, false, &[], vec![job]);
    let (w, s) = (&wide.records[0], &slow.records[0]);
    assert!(s.stall_cycles > 0 && s.cycles > w.cycles, "{s:?} vs {w:?}");
    // The SRAM moved all the operand bytes through its one 8-byte bank.
    let moved = slow.sram.read_bytes() + slow.sram.write_bytes();
    assert!(
        s.cycles >= moved / 8,
        "{} cycles for {moved} bytes",
        s.cycles
    );
    assert!(s.idle(8192).bandwidth > 0);
}

#[test]
fn bad_descriptors_fault_and_name_the_address() {
    let past_end = fp32_gemm(64, 64, 64, (1 << 22) - 100, 0, 20_000);
    let short_ld = GemmDesc {
        lda: 3,
        ..fp32_gemm(4, 8, 4, 0, 1000, 2000)
    };
    let empty = fp32_gemm(0, 8, 8, 0, 0, 0);
    let o = run(
        treta_engine(2048),
        SRAM,
        true,
        &[],
        vec![past_end, short_ld, empty],
    );
    let errors: Vec<DeviceError> = o
        .results
        .iter()
        .map(|r| r.expect_err("a fault").error)
        .collect();
    assert_eq!(
        errors,
        vec![
            DeviceError::SramOverflow,
            DeviceError::BadField,
            DeviceError::BadField
        ]
    );
    assert!(o.records.is_empty(), "faulted GEMMs are not recorded");
}

#[test]
fn impossible_sizes_fault_before_any_time_naming_the_field() {
    use treta_abi::field::gemm as f;
    // m·k·4 = 2^64: wraps to 0 in 64 bits; one row of A alone is 8 GiB.
    let wraps = fp32_gemm(1 << 31, 1 << 31, 1, 4096, 0, 0);
    // A transposed: its stored rows are k long — k is too long for the SRAM.
    let transposed = GemmDesc {
        transpose_a: true,
        ..fp32_gemm(4, 1 << 30, 4, 0, 0, 0)
    };
    // Fits at address 0, but starts too late: the address is at fault.
    let late = fp32_gemm(64, 64, 64, 0, 0, (1 << 22) - 100);
    let strided = GemmDesc {
        ldc: 1 << 20,
        ..fp32_gemm(64, 64, 64, 0, 0, 0)
    };
    let short_ld = GemmDesc {
        ldb: 3,
        ..fp32_gemm(4, 8, 4, 0, 1000, 2000)
    };
    let o = run(
        treta_engine(2048),
        SRAM,
        true,
        &[],
        vec![
            wraps,
            transposed,
            late,
            strided,
            short_ld,
            fp32_gemm(8, 0, 8, 0, 0, 0),
        ],
    );
    let faults = common::faults(&o.results);
    let over = DeviceError::SramOverflow;
    let bad = DeviceError::BadField;
    assert_eq!(
        faults,
        vec![
            (over, Some(f::K.name)),
            (over, Some(f::K.name)),
            (over, Some(f::C_ADDR.name)),
            (over, Some(f::LDC.name)),
            (bad, Some(f::LDB.name)),
            (bad, Some(f::K.name)),
        ]
    );
    // The first byte outside the SRAM, not a wrapped address.
    assert_eq!(o.results[0].unwrap_err().addr, 1 << 22);
    assert!(o.records.is_empty(), "faulted GEMMs are not recorded");
}
