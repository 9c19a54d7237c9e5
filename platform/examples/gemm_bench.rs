//! GEMM-core benchmarks (BENCHMARKS.md):
//!
//! 1. **timing mode** — the whole BERT-base step of `scenarios/bert_base_step_gemms.yaml`,
//!    simulated `RUNS` times: GEMM descriptors and workload GEMMs simulated per
//!    second of wall time;
//! 2. **functional mode** — every GEMM of that step (its 8 shapes, each as often
//!    as the step has it), fp32 (and fp8) operands,
//!    through a GEMM core that computes (descriptor in, SRAM bytes out, timing
//!    included) against `matrixmultiply::sgemm` called directly on the same
//!    shapes: the VP's overhead as a ratio of wall times; and the same GEMM
//!    core in timing mode alone (no DMA, no DRAM), in GEMMs per second.
//!
//! `cargo run --release -p treta-vp --example gemm_bench [RUNS]` (default 5);
//! medians are printed.

use std::path::Path;
use std::rc::Rc;
use std::time::Instant;
use treta_abi::{Command, Descriptor, GemmDesc, NumberFormat};
use treta_kernel::tlm::{Command as Tlm, InitiatorSocket, Payload};
use treta_kernel::{Clock, Fifo, Simulation};
use treta_models::mapping::FlexibleEngine;
use treta_models::{execute, GemmCore, GemmTiming, Job, Sram, SramGeometry};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The BERT-base step's GEMM shapes (M, K, N) and how often each occurs.
const SHAPES: [(usize, usize, usize, usize); 8] = [
    (128, 768, 768, 8),
    (768, 128, 768, 4),
    (128, 64, 128, 24),
    (128, 128, 64, 48),
    (128, 768, 3072, 2),
    (128, 3072, 768, 2),
    (768, 128, 3072, 1),
    (3072, 128, 768, 1),
];

fn timing_mode(runs: usize) -> anyhow::Result<()> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/bert_base_step_gemms.yaml");
    let loaded = treta_vp::scenario::load(&path, &[])?;
    let instances: u64 = loaded
        .scenario
        .workload
        .gemms
        .iter()
        .map(|g| u64::from(g.count.get()))
        .sum();
    let mut walls = Vec::new();
    let mut descriptors = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let report = treta_vp::run::run(&loaded, treta_vp::run::RunSettings::default())?;
        walls.push(t.elapsed().as_secs_f64());
        descriptors = report.engines["gemm"].commands;
    }
    let wall = median(walls);
    println!(
        "timing: bert_base_step_gemms wall_s={wall:.4} gemm_descriptors={descriptors} workload_gemms={instances} \
         descriptors_per_s={:.0} workload_gemms_per_s={:.0}",
        descriptors as f64 / wall,
        instances as f64 / wall
    );
    Ok(())
}

/// Wall time of computing every shape (× its count) with `sgemm` directly.
fn crate_direct(data: &[(Vec<f32>, Vec<f32>)]) -> f64 {
    let t = Instant::now();
    for ((m, k, n, count), (a, b)) in SHAPES.iter().zip(data) {
        let mut c = vec![0.0f32; m * n];
        for _ in 0..*count {
            // SAFETY: a is m×k, b is k×n, c is m×n, all packed row-major, as the
            // strides say; c does not alias a or b.
            unsafe {
                matrixmultiply::sgemm(
                    *m,
                    *k,
                    *n,
                    1.0,
                    a.as_ptr(),
                    *k as isize,
                    1,
                    b.as_ptr(),
                    *n as isize,
                    1,
                    0.0,
                    c.as_mut_ptr(),
                    *n as isize,
                    1,
                );
            }
        }
        std::hint::black_box(&c);
    }
    t.elapsed().as_secs_f64()
}

/// Wall time of the same GEMMs as descriptors on a functional GEMM core.
fn through_the_vp(data: &[(Vec<f32>, Vec<f32>)], format: NumberFormat, functional: bool) -> f64 {
    let mut sim = Simulation::new();
    let ctx = sim.ctx().clone();
    let clock = Clock::from_mhz(898).expect("a valid clock");
    let geometry = SramGeometry {
        bytes: 64 << 20,
        banks: 32,
        width: 64,
        ports: 2,
        latency: 1,
    };
    let sram = Sram::new(&ctx, "sram", clock, geometry);
    let port = Fifo::new(&ctx, "gemm.jobs", 2);
    let timing = GemmTiming::Flexible(FlexibleEngine {
        macs: 8192,
        group: 16,
        preload: true,
        fetch_bytes_per_cycle: 2048,
    });
    let core = GemmCore::new(&ctx, "gemm", port.clone(), timing, clock, functional);
    core.sram.bind(&sram.socket).expect("bind");
    let host = InitiatorSocket::new("host");
    host.bind(&sram.socket).expect("bind");
    // Operands of each shape at their own addresses; C after them.
    let mut jobs = Vec::new();
    let mut at = 0u32;
    for ((m, k, n, count), (a, b)) in SHAPES.iter().zip(data) {
        let place = |values: &[f32], at: &mut u32| {
            let bytes = treta_numerics::encode(format, values, None).expect("a float format");
            let here = *at;
            *at += bytes.len() as u32;
            let mut p = Payload::with_data(Tlm::Write, u64::from(here), bytes);
            host.transport_dbg(&mut p);
            here
        };
        let (a_addr, b_addr) = (place(a, &mut at), place(b, &mut at));
        let c_addr = at;
        at += (m * n * 4) as u32;
        for _ in 0..*count {
            jobs.push(GemmDesc::packed(
                *m as u32,
                *k as u32,
                *n as u32,
                [a_addr, b_addr, c_addr],
                format,
            ));
        }
    }
    let keep: Rc<GemmCore> = core;
    sim.spawn("cp", move |ctx| async move {
        for (i, g) in jobs.into_iter().enumerate() {
            let desc = Descriptor {
                id: i as u32,
                command: Command::Gemm(g),
            };
            let result = execute(&port, Job::new(&ctx, desc, 0, i as u32, i as u64)).await;
            assert_eq!(result, Ok(()), "GEMM {i}");
        }
    });
    let t = Instant::now();
    sim.run().expect("the simulation runs");
    let wall = t.elapsed().as_secs_f64();
    drop(keep);
    wall
}

fn functional_mode(runs: usize) {
    let data: Vec<(Vec<f32>, Vec<f32>)> = SHAPES
        .iter()
        .map(|(m, k, n, _)| {
            let a = (0..m * k)
                .map(|i| ((i * 7 % 13) as f32 - 6.0) / 8.0)
                .collect();
            let b = (0..k * n)
                .map(|i| ((i * 5 % 11) as f32 - 5.0) / 8.0)
                .collect();
            (a, b)
        })
        .collect();
    let macs: usize = SHAPES.iter().map(|(m, k, n, c)| m * k * n * c).sum();
    let gemms: usize = SHAPES.iter().map(|s| s.3).sum();
    for format in [NumberFormat::Fp32, NumberFormat::Fp8E4M3] {
        let (mut direct, mut vp, mut timing_only) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            direct.push(crate_direct(&data));
            vp.push(through_the_vp(&data, format, true));
            timing_only.push(through_the_vp(&data, format, false));
        }
        let (direct, vp, timing_only) = (median(direct), median(vp), median(timing_only));
        println!(
            "functional: {} operands, bert step GEMMs ({gemms} GEMMs, {macs} MACs) \
             matrixmultiply_s={direct:.4} vp_s={vp:.4} vp_timing_only_s={timing_only:.4} \
             timing_only_gemms_per_s={:.0} crate_gflops={:.2} vp_gflops={:.2} overhead={:.3}x",
            format.name(),
            gemms as f64 / timing_only,
            2.0 * macs as f64 / direct / 1e9,
            2.0 * macs as f64 / vp / 1e9,
            vp / direct
        );
    }
}

fn main() -> anyhow::Result<()> {
    let runs = match std::env::args().nth(1) {
        Some(r) => r
            .parse::<usize>()
            .ok()
            .filter(|&r| r > 0)
            .ok_or_else(|| anyhow::anyhow!("RUNS must be a positive integer, not {r:?}"))?,
        None => 5,
    };
    timing_mode(runs)?;
    functional_mode(runs);
    Ok(())
}
