//! The SFU as firmware sees it: descriptors in, SRAM contents out. Its timing is
//! the closed form `rows × passes × ⌈cols/lanes⌉ + pipeline depth` when the SRAM
//! keeps up, and stalls when it does not; its arithmetic matches JAX through
//! descriptors (softmax, LayerNorm forward and backward with dγ/dβ accumulated over
//! two tiles of rows, GELU, MSE, SGD bit for bit); bad descriptors fault.

mod common;

use common::{fp32_bytes, issue, peek_f32, poke};
use std::rc::Rc;
use treta_abi::{Command, DeviceError, NumberFormat, SfuDesc, SfuOp, VectorOp};
use treta_golden::{testdata, GoldenDir};
use treta_kernel::tlm::InitiatorSocket;
use treta_kernel::{Clock, Fifo, Simulation};
use treta_models::sfu::{passes, sfu_cycles, SfuMath, SfuParams, SfuRecord};
use treta_models::{Fault, Sfu, Sram, SramGeometry};
use treta_numerics::sfu::{Hardware, HardwareParams};

const SRAM: SramGeometry = SramGeometry {
    bytes: 1 << 22,
    banks: 32,
    width: 64,
    ports: 2,
    latency: 1,
};

fn params(math: SfuMath) -> SfuParams {
    SfuParams {
        lanes: 64,
        pipeline_depth: 12,
        row_buffer: 4096,
        math,
    }
}

struct Outcome {
    results: Vec<Result<(), Fault>>,
    records: Vec<SfuRecord>,
    host: InitiatorSocket,
    sram: Rc<Sram>,
}

impl Outcome {
    fn read(&self, addr: u32, count: usize) -> Vec<f32> {
        peek_f32(&self.host, u64::from(addr), count)
    }
}

fn run(
    params: SfuParams,
    geometry: SramGeometry,
    functional: bool,
    setup: &[(u32, &[f32])],
    jobs: Vec<SfuDesc>,
) -> Outcome {
    let bytes: Vec<(u32, Vec<u8>)> = setup.iter().map(|(a, v)| (*a, fp32_bytes(v))).collect();
    run_bytes(params, geometry, functional, bytes, jobs)
}

/// [`run`] with the SRAM's initial contents as bytes (int32 indices too).
fn run_bytes(
    params: SfuParams,
    geometry: SramGeometry,
    functional: bool,
    setup: Vec<(u32, Vec<u8>)>,
    jobs: Vec<SfuDesc>,
) -> Outcome {
    let mut sim = Simulation::new();
    let ctx = sim.ctx().clone();
    let clock = Clock::from_mhz(1000).unwrap();
    let sram = Sram::new(&ctx, "sram", clock, geometry);
    let port = Fifo::new(&ctx, "sfu.jobs", 2);
    let sfu = Sfu::new(&ctx, "sfu", port.clone(), params, clock, functional);
    sfu.sram.bind(&sram.socket).unwrap();
    let host = InitiatorSocket::new("host");
    host.bind(&sram.socket).unwrap();
    for (addr, bytes) in setup {
        poke(&host, u64::from(addr), bytes);
    }
    let results = issue(&mut sim, port, jobs.into_iter().map(Command::Sfu).collect());
    Outcome {
        results,
        records: sfu.records(),
        host,
        sram,
    }
}

fn desc(op: SfuOp, rows: u32, cols: u32) -> SfuDesc {
    SfuDesc {
        op,
        rows,
        cols,
        src_addr: 0,
        dst_addr: 1 << 20,
        aux0_addr: 2 << 20,
        aux1_addr: 3 << 20,
        aux2_addr: (3 << 20) + (1 << 19),
        aux3_addr: (3 << 20) + (3 << 18),
        format: NumberFormat::Fp32,
        scalars: [1.0, 0.0, 0.0, 0.0],
        accumulate: false,
    }
}

#[test]
fn cycles_are_the_closed_form_when_the_sram_keeps_up() {
    let ops = [
        SfuOp::SoftmaxFwd,
        SfuOp::SoftmaxBwd,
        SfuOp::LayerNormFwd,
        SfuOp::LayerNormBwd,
        SfuOp::GeluFwd,
        SfuOp::Vector(VectorOp::Add),
    ];
    for op in ops {
        for (rows, cols) in [(1, 1), (1, 64), (3, 65), (128, 128), (17, 768), (40, 3072)] {
            let o = run(
                params(SfuMath::Exact),
                SRAM,
                false,
                &[],
                vec![desc(op, rows, cols)],
            );
            assert_eq!(o.results, vec![Ok(())], "{op:?}");
            let r = &o.records[0];
            let want = sfu_cycles(op, u64::from(rows), u64::from(cols), 64, 12);
            assert_eq!(
                (r.cycles, r.stall_cycles),
                (want, 0),
                "{op:?} {rows}×{cols}"
            );
        }
    }
    // One row: passes × ⌈W/lanes⌉ + fill, e.g. softmax over 197 keys.
    assert_eq!(sfu_cycles(SfuOp::SoftmaxFwd, 1, 197, 64, 12), 3 * 4 + 12);
    assert_eq!(passes(SfuOp::LayerNormBwd), 2);
}

#[test]
fn a_narrow_sram_stalls_and_long_rows_are_read_in_every_pass() {
    let narrow = SramGeometry {
        banks: 1,
        width: 4,
        ..SRAM
    };
    let job = desc(SfuOp::SoftmaxFwd, 64, 512);
    let o = run(
        params(SfuMath::Exact),
        narrow,
        false,
        &[],
        vec![job.clone()],
    );
    let r = &o.records[0];
    assert!(r.stall_cycles > 0);
    assert_eq!(r.cycles, sfu_cycles(r.op, 64, 512, 64, 12) + r.stall_cycles);
    // Rows longer than the row buffer: the source is read in all three passes.
    let short_buffer = SfuParams {
        row_buffer: 256,
        ..params(SfuMath::Exact)
    };
    let buffered = run(params(SfuMath::Exact), SRAM, false, &[], vec![job.clone()]);
    let reread = run(short_buffer, SRAM, false, &[], vec![job]);
    let row_bytes = 64 * 512 * 4;
    assert_eq!(buffered.sram.read_bytes(), row_bytes);
    assert_eq!(reread.sram.read_bytes(), 3 * row_bytes);
}

#[test]
fn descriptors_compute_what_jax_does() {
    let units = GoldenDir::open(testdata().join("units")).expect("units");
    let t = |n: &str| units.tensor(n).expect("tensor").data;
    // Softmax forward and backward over 197-element rows (masked rows included).
    let (x, dp) = (t("softmax.L197.x"), t("softmax.L197.dp"));
    let rows = (x.len() / 197) as u32;
    let fwd = desc(SfuOp::SoftmaxFwd, rows, 197);
    let bwd = SfuDesc {
        src_addr: 2 << 20,
        aux0_addr: 1 << 20,
        dst_addr: 3 << 20,
        ..desc(SfuOp::SoftmaxBwd, rows, 197)
    };
    let o = run(
        params(SfuMath::Exact),
        SRAM,
        true,
        &[(0, &x), (2 << 20, &dp)],
        vec![fwd, bwd],
    );
    assert!(o.results.iter().all(Result::is_ok), "{:?}", o.results);
    let n = x.len();
    for (name, at) in [("softmax.L197.p", 1u32 << 20), ("softmax.L197.dx", 3 << 20)] {
        let r = units.compare(name, &o.read(at, n)).expect("compare");
        assert!(r.pass, "{r}");
    }
    // LayerNorm over 768: forward, then backward in two descriptors of 3 rows,
    // the second accumulating dγ and dβ onto the first's.
    let w = 768u32;
    let (x, gamma, beta, dy) = (
        t("layernorm.W768.x"),
        t("layernorm.W768.gamma"),
        t("layernorm.W768.beta"),
        t("layernorm.W768.dy"),
    );
    let rows = (x.len() / 768) as u32;
    assert_eq!(rows, 6);
    let (x_at, g_at, b_at, y_at, st_at, dy_at, dx_at, dgb_at) = (
        0u32, 40_000, 44_000, 100_000, 200_000, 300_000, 400_000, 500_000,
    );
    let forward = SfuDesc {
        src_addr: x_at,
        aux0_addr: g_at,
        aux1_addr: b_at,
        dst_addr: y_at,
        aux2_addr: st_at,
        scalars: [1e-5, 0.0, 0.0, 0.0],
        ..desc(SfuOp::LayerNormFwd, rows, w)
    };
    let half = |first: bool| {
        let skip_rows = if first { 0 } else { 3 };
        SfuDesc {
            src_addr: dy_at + skip_rows * w * 4,
            aux0_addr: g_at,
            aux1_addr: x_at + skip_rows * w * 4,
            aux2_addr: st_at + skip_rows * 8,
            dst_addr: dx_at + skip_rows * w * 4,
            aux3_addr: dgb_at,
            accumulate: !first,
            ..desc(SfuOp::LayerNormBwd, 3, w)
        }
    };
    let o = run(
        params(SfuMath::Exact),
        SRAM,
        true,
        &[(x_at, &x), (g_at, &gamma), (b_at, &beta), (dy_at, &dy)],
        vec![forward, half(true), half(false)],
    );
    assert!(o.results.iter().all(Result::is_ok), "{:?}", o.results);
    let stats = o.read(st_at, 12);
    let mean: Vec<f32> = stats.iter().step_by(2).copied().collect();
    let rstd: Vec<f32> = stats.iter().skip(1).step_by(2).copied().collect();
    let dgb = o.read(dgb_at, 2 * 768);
    for (name, got) in [
        ("layernorm.W768.y", o.read(y_at, x.len())),
        ("layernorm.W768.mean", mean),
        ("layernorm.W768.rstd", rstd),
        ("layernorm.W768.dx", o.read(dx_at, x.len())),
        ("layernorm.W768.dgamma", dgb[..768].to_vec()),
        ("layernorm.W768.dbeta", dgb[768..].to_vec()),
    ] {
        let r = units.compare(name, &got).expect("compare");
        assert!(r.pass, "{r}");
    }
}

#[test]
fn layer_vector_operations_match_jax() {
    let tiny = GoldenDir::open(testdata().join("tiny")).expect("tiny");
    let t = |n: &str| tiny.tensor(n).expect("tensor").data;
    let (h, dpost) = (t("act.ffn.h_pre"), t("grad.act.ffn.h_post"));
    let (y, target) = (t("output.y"), t("input.target"));
    let (w2, g2) = (t("layer.ffn.w2"), t("grad.layer.ffn.w2"));
    let cols = 64u32;
    let rows = (h.len() / 64) as u32;
    let d = 32u32;
    let yrows = (y.len() / 32) as u32;
    let jobs = vec![
        SfuDesc {
            src_addr: 0,
            dst_addr: 100_000,
            ..desc(SfuOp::GeluFwd, rows, cols)
        },
        SfuDesc {
            src_addr: 200_000,
            aux0_addr: 0,
            dst_addr: 300_000,
            ..desc(SfuOp::GeluBwd, rows, cols)
        },
        SfuDesc {
            src_addr: 400_000,
            aux0_addr: 420_000,
            dst_addr: 440_000,
            aux1_addr: 460_000,
            scalars: [1.0 / y.len() as f32, 0.0, 0.0, 0.0],
            ..desc(SfuOp::Vector(VectorOp::MseLoss), yrows, d)
        },
        SfuDesc {
            src_addr: 500_000,
            aux0_addr: 520_000,
            dst_addr: 540_000,
            scalars: [0.01, 0.0, 0.0, 0.0],
            ..desc(SfuOp::Vector(VectorOp::SgdUpdate), 64, 32)
        },
    ];
    let o = run(
        params(SfuMath::Exact),
        SRAM,
        true,
        &[
            (0, &h),
            (200_000, &dpost),
            (400_000, &y),
            (420_000, &target),
            (500_000, &w2),
            (520_000, &g2),
        ],
        jobs,
    );
    assert!(o.results.iter().all(Result::is_ok), "{:?}", o.results);
    for (name, at, n) in [
        ("act.ffn.h_post", 100_000, h.len()),
        ("grad.act.ffn.h_pre", 300_000, h.len()),
        ("grad.act.ln2.out", 440_000, y.len()),
        ("output.loss", 460_000, 1),
    ] {
        let r = tiny.compare(name, &o.read(at, n)).expect("compare");
        assert!(r.pass, "{r}");
    }
    let sgd = o.read(540_000, w2.len());
    let want = t("sgd.layer.ffn.w2");
    assert!(
        sgd.iter()
            .zip(&want)
            .all(|(a, b)| a.to_bits() == b.to_bits()),
        "the SGD step is bit-exact"
    );
}

#[test]
fn hardware_mode_differs_from_exact_within_its_prediction() {
    let units = GoldenDir::open(testdata().join("units")).expect("units");
    let x = units.tensor("softmax.L64.x").expect("x").data;
    let rows = (x.len() / 64) as u32;
    let hw = Hardware::new(HardwareParams::default()).expect("valid");
    let bound = 2.0 * hw.predicted().exp + hw.predicted().recip + 1e-6;
    let job = desc(SfuOp::SoftmaxFwd, rows, 64);
    let exact = run(
        params(SfuMath::Exact),
        SRAM,
        true,
        &[(0, &x)],
        vec![job.clone()],
    );
    let approx = run(
        params(SfuMath::Hardware(hw)),
        SRAM,
        true,
        &[(0, &x)],
        vec![job],
    );
    let (e, a) = (exact.read(1 << 20, x.len()), approx.read(1 << 20, x.len()));
    assert_ne!(e, a, "the approximations change the result");
    for (p, q) in e.iter().zip(&a) {
        if *p > 1e-30 {
            assert!(
                (f64::from(*q) / f64::from(*p) - 1.0).abs() <= bound,
                "{p} vs {q}"
            );
        } else {
            assert!(q.abs() <= 1e-30, "{p} vs {q}");
        }
    }
    assert_eq!(
        exact.records, approx.records,
        "timing does not depend on the arithmetic"
    );
}

#[test]
fn bad_descriptors_fault() {
    let empty = desc(SfuOp::GeluFwd, 0, 8);
    let past_end = SfuDesc {
        dst_addr: (1 << 22) - 16,
        ..desc(SfuOp::GeluFwd, 1, 8)
    };
    let o = run(
        params(SfuMath::Exact),
        SRAM,
        true,
        &[],
        vec![empty, past_end],
    );
    let errors: Vec<DeviceError> = o
        .results
        .iter()
        .map(|r| r.expect_err("fault").error)
        .collect();
    assert_eq!(
        errors,
        vec![DeviceError::BadField, DeviceError::SramOverflow]
    );
    assert!(o.records.is_empty());
}

#[test]
fn impossible_sizes_fault_before_any_time_naming_the_field() {
    use treta_abi::field::sfu as f;
    // rows × cols × 4 = 2^64 (wraps to 0 in 64 bits): one row alone is 8 GiB.
    let wraps = SfuDesc {
        src_addr: 4096,
        dst_addr: 8192,
        ..desc(SfuOp::SoftmaxFwd, 1 << 31, 1 << 31)
    };
    // Rows of a fitting length, too many of them.
    let tall = SfuDesc {
        dst_addr: 0,
        ..desc(SfuOp::GeluFwd, 1 << 20, 64)
    };
    // LayerNorm's β vector starts past the SRAM's end.
    let late_beta = SfuDesc {
        aux1_addr: 1 << 22,
        ..desc(SfuOp::LayerNormFwd, 2, 8)
    };
    let o = run(
        params(SfuMath::Exact),
        SRAM,
        true,
        &[],
        vec![wraps, tall, late_beta, desc(SfuOp::GeluFwd, 4, 0)],
    );
    let faults = common::faults(&o.results);
    let over = DeviceError::SramOverflow;
    assert_eq!(
        faults,
        vec![
            (over, Some(f::COLS.name)),
            (over, Some(f::ROWS.name)),
            (over, Some(f::AUX1_ADDR.name)),
            (DeviceError::BadField, Some(f::COLS.name)),
        ]
    );
    assert_eq!(o.results[0].unwrap_err().addr, 1 << 22);
    assert!(o.records.is_empty());
}

#[test]
fn optimizer_updates_follow_their_formulas() {
    let n = 64usize;
    let w: Vec<f32> = (0..n).map(|i| (i as f32 - 30.0) / 17.0).collect();
    let g: Vec<f32> = (0..n).map(|i| ((i * 7) % 13) as f32 / 13.0 - 0.5).collect();
    let m0: Vec<f32> = (0..n).map(|i| (i % 5) as f32 * 0.01).collect();
    let v0: Vec<f32> = (0..n).map(|i| (i % 3) as f32 * 0.001).collect();
    let (lr, b1, b2, eps) = (0.003f32, 0.9f32, 0.99f32, 1e-3f32);
    let momentum = SfuDesc {
        src_addr: 0,
        aux0_addr: 4096,
        aux1_addr: 8192,
        dst_addr: 12288,
        scalars: [lr, b1, 0.0, 0.0],
        ..desc(SfuOp::Vector(VectorOp::SgdMomentum), 4, 16)
    };
    let adam = SfuDesc {
        src_addr: 0,
        aux0_addr: 4096,
        aux1_addr: 16384,
        aux2_addr: 20480,
        dst_addr: 24576,
        scalars: [lr, b1, b2, eps],
        ..desc(SfuOp::Vector(VectorOp::Adam), 4, 16)
    };
    let o = run(
        params(SfuMath::Exact),
        SRAM,
        true,
        &[(0, &w), (4096, &g), (8192, &m0), (16384, &m0), (20480, &v0)],
        vec![momentum, adam],
    );
    assert!(o.results.iter().all(Result::is_ok), "{:?}", o.results);
    let (vel, w_mom) = (o.read(8192, n), o.read(12288, n));
    let (m, v, w_adam) = (o.read(16384, n), o.read(20480, n), o.read(24576, n));
    for i in 0..n {
        let want_vel = b1 * m0[i] + g[i];
        assert_eq!(vel[i], want_vel, "velocity {i}");
        assert_eq!(w_mom[i], w[i] - lr * want_vel, "momentum {i}");
        let want_m = b1 * m0[i] + (1.0 - b1) * g[i];
        let want_v = b2 * v0[i] + (1.0 - b2) * g[i] * g[i];
        assert_eq!((m[i], v[i]), (want_m, want_v), "moments {i}");
        let want_w = w[i] - lr * want_m / (want_v.sqrt() + eps);
        assert!(
            (w_adam[i] - want_w).abs() <= 1e-6 * want_w.abs().max(1.0),
            "adam {i}: {} vs {want_w}",
            w_adam[i]
        );
    }
}

/// A causal softmax over a tile of rows that starts mid-block: each row is the
/// softmax of its first i + 1 keys, exactly 0 after; it costs the max and exp
/// passes over those keys only.
#[test]
fn causal_softmax_masks_the_keys_after_each_query_and_skips_their_work() {
    let (rows, cols) = (5u32, 8u32);
    let x: Vec<f32> = (0..rows * cols)
        .map(|i| ((i * 7) % 11) as f32 * 0.3)
        .collect();
    // Rows 0..5 of the tile are queries 6, 7, 0, 1, 2 (the tile starts at query 6).
    let s = SfuDesc {
        scalars: [0.5, 6.0, 0.0, 0.0],
        ..desc(SfuOp::SoftmaxCausalFwd, rows, cols)
    };
    let o = run(
        params(SfuMath::Exact),
        SRAM,
        true,
        &[(0, &x)],
        vec![s.clone()],
    );
    assert_eq!(o.results, vec![Ok(())]);
    let p = o.read(s.dst_addr, (rows * cols) as usize);
    let c = cols as usize;
    for r in 0..rows as usize {
        let query = (6 + r) % c;
        let row = &x[r * c..(r + 1) * c];
        let max = row[..=query]
            .iter()
            .map(|v| v * 0.5)
            .fold(f32::MIN, f32::max);
        let sum: f64 = row[..=query]
            .iter()
            .map(|v| f64::from((v * 0.5 - max).exp()))
            .sum();
        for j in 0..c {
            let got = p[r * c + j];
            if j > query {
                assert_eq!(got, 0.0, "row {r} key {j}");
            } else {
                let want = f64::from((row[j] * 0.5 - max).exp()) / sum;
                assert!(
                    (f64::from(got) - want).abs() < 1e-6,
                    "row {r} key {j}: {got} vs {want}"
                );
            }
        }
    }
    // Long rows: the masked keys are not worked on. Queries 512..767 of a
    // 1024-key block cost 2·⌈(i+1)/64⌉ + 16 cycles a row against 48.
    let long = |op| SfuDesc {
        scalars: [1.0, 512.0, 0.0, 0.0],
        ..desc(op, 256, 1024)
    };
    let causal = run(
        params(SfuMath::Exact),
        SRAM,
        false,
        &[],
        vec![long(SfuOp::SoftmaxCausalFwd)],
    );
    let full = run(
        params(SfuMath::Exact),
        SRAM,
        false,
        &[],
        vec![long(SfuOp::SoftmaxFwd)],
    );
    let (cr, fr) = (&causal.records[0], &full.records[0]);
    let compute: u64 = (512..768u64)
        .map(|i| 2 * (i + 1).div_ceil(64) + 16)
        .sum::<u64>()
        + 12;
    assert_eq!(cr.cycles, compute + cr.stall_cycles);
    assert_eq!(
        fr.cycles,
        sfu_cycles(SfuOp::SoftmaxFwd, 256, 1024, 64, 12) + fr.stall_cycles
    );
    assert!(compute < sfu_cycles(SfuOp::SoftmaxFwd, 256, 1024, 64, 12));
}

/// The cross-entropy of rows split into vocabulary tiles: the online
/// log-sum-exp over three tiles of uneven width gives the mean loss, and the
/// gradient tiles give (softmax − onehot)/rows, as computed from whole rows.
#[test]
fn cross_entropy_over_vocabulary_tiles_equals_the_whole_row() {
    let (rows, vocab) = (4usize, 23usize);
    let logits: Vec<f32> = (0..rows * vocab)
        .map(|i| (((i * 37) % 29) as f32 - 14.0) * 0.4)
        .collect();
    let targets: [i32; 4] = [0, 22, 9, 10];
    let scale = 1.0 / rows as f32;
    let (targets_at, state, loss, grad) =
        (2u32 << 20, 3u32 << 20, (3u32 << 20) + (1 << 19), 1u32 << 20);
    let tiles = [(0usize, 10usize), (10, 3), (13, 10)];
    let mut setup: Vec<(u32, Vec<u8>)> = vec![(
        targets_at,
        targets.iter().flat_map(|t| t.to_le_bytes()).collect(),
    )];
    let mut lse = Vec::new();
    let mut bwd = Vec::new();
    for (t, &(first, cols)) in tiles.iter().enumerate() {
        let at = (t as u32) << 16;
        let tile: Vec<f32> = (0..rows)
            .flat_map(|r| logits[r * vocab + first..r * vocab + first + cols].to_vec())
            .collect();
        setup.push((at, fp32_bytes(&tile)));
        let flag = |on: bool| if on { 1.0 } else { 0.0 };
        lse.push(SfuDesc {
            src_addr: at,
            aux0_addr: targets_at,
            aux1_addr: state,
            aux2_addr: loss,
            scalars: [
                scale,
                first as f32,
                flag(t == 0),
                flag(t == tiles.len() - 1),
            ],
            ..desc(SfuOp::Vector(VectorOp::LogSumExp), rows as u32, cols as u32)
        });
        bwd.push(SfuDesc {
            src_addr: at,
            dst_addr: grad + ((t as u32) << 12),
            aux0_addr: targets_at,
            aux1_addr: state,
            scalars: [scale, first as f32, 0.0, 0.0],
            ..desc(
                SfuOp::Vector(VectorOp::CrossEntropyBwd),
                rows as u32,
                cols as u32,
            )
        });
    }
    lse.extend(bwd);
    let o = run_bytes(params(SfuMath::Exact), SRAM, true, setup, lse);
    assert!(o.results.iter().all(Result::is_ok), "{:?}", o.results);
    let mut want_loss = 0.0f64;
    for r in 0..rows {
        let row: Vec<f64> = logits[r * vocab..(r + 1) * vocab]
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        let max = row.iter().copied().fold(f64::MIN, f64::max);
        let sum: f64 = row.iter().map(|v| (v - max).exp()).sum();
        let t = targets[r] as usize;
        want_loss += (max + sum.ln() - row[t]) / rows as f64;
        for (ti, &(first, cols)) in tiles.iter().enumerate() {
            let g = o.read(grad + ((ti as u32) << 12) + (r * cols * 4) as u32, cols);
            for (j, &got) in g.iter().enumerate() {
                let v = first + j;
                let p = (row[v] - max).exp() / sum;
                let want = (p - if v == t { 1.0 } else { 0.0 }) / rows as f64;
                assert!(
                    (f64::from(got) - want).abs() < 1e-7,
                    "row {r} v {v}: {got} vs {want}"
                );
            }
        }
    }
    let got_loss = f64::from(o.read(loss, 1)[0]);
    assert!(
        (got_loss - want_loss).abs() < 1e-6,
        "loss {got_loss} vs {want_loss}"
    );
}
