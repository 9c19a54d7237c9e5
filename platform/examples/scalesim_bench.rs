//! The whole platform against SCALE-Sim v3 on SCALE-Sim's own reference runs
//! (BENCHMARKS.md): every row of `scalesim_results_S128.csv` — a GEMM shape on a
//! systolic array in one dataflow — run as a `gemm_list` of that one GEMM through
//! the DMA, DRAM, SRAM and GEMM core (timing mode, 64 MiB SRAM so the GEMM is one
//! tile, as SCALE-Sim simulates it), its cycles checked against SCALE-Sim's, and
//! the wall time of all rows compared with the sum of SCALE-Sim's `sim_wall_s`.
//!
//! `cargo run --release -p treta-vp --example scalesim_bench [ROUNDS] [CSV]`
//! (default 3 rounds, `../shared/reference/scalesim/scalesim_results_S128.csv`,
//! falling back to the copy under `models/tests/data/`, which has no wall times).

use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One reference row: the overrides that make `gemm_single.yaml` that run, the
/// cycles SCALE-Sim counted, and its wall time (0 if the CSV has none).
struct Row {
    label: String,
    sets: Vec<String>,
    cycles: u64,
    scalesim_wall_s: f64,
}

fn rows(csv: &Path) -> anyhow::Result<Vec<Row>> {
    let text = std::fs::read_to_string(csv).with_context(|| csv.display().to_string())?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().context("empty CSV")?.split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .with_context(|| format!("{}: no column {name}", csv.display()))
    };
    let (shape, m, k, n) = (col("shape")?, col("M")?, col("K")?, col("N")?);
    let (rows_c, cols_c, df, cycles) =
        (col("rows")?, col("cols")?, col("dataflow")?, col("cycles")?);
    let wall = header.iter().position(|h| *h == "sim_wall_s");
    let mut out = Vec::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        let get = |i: usize| f.get(i).copied().unwrap_or("");
        out.push(Row {
            label: format!("{} {}x{} {}", get(shape), get(rows_c), get(cols_c), get(df)),
            sets: vec![
                "platform.gemm.arch=systolic".into(),
                format!("platform.gemm.rows={}", get(rows_c)),
                format!("platform.gemm.cols={}", get(cols_c)),
                format!("platform.gemm.dataflow={}", get(df)),
                format!("platform.sram.bytes={}", 64u64 << 20),
                format!("workload.gemms.0.m={}", get(m)),
                format!("workload.gemms.0.k={}", get(k)),
                format!("workload.gemms.0.n={}", get(n)),
            ],
            cycles: get(cycles).parse().context("cycles")?,
            scalesim_wall_s: wall.and_then(|i| get(i).parse().ok()).unwrap_or(0.0),
        });
    }
    Ok(out)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds: usize = args.first().map_or(Ok(3), |a| a.parse())?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let csv = args.get(1).map(PathBuf::from).unwrap_or_else(|| {
        let shared = root.join("../shared/reference/scalesim/scalesim_results_S128.csv");
        if shared.exists() {
            shared
        } else {
            root.join("models/tests/data/scalesim_results_S128.csv")
        }
    });
    let scenario = root.join("scenarios/gemm_single.yaml");
    let rows = rows(&csv)?;
    let mut walls = Vec::new();
    for _ in 0..rounds.max(1) {
        let start = Instant::now();
        for row in &rows {
            let loaded = treta_vp::scenario::load(&scenario, &row.sets)?;
            let report = treta_vp::run::run(&loaded, treta_vp::run::RunSettings::default())?;
            let got = report.gemms.first().map(|g| g.cycles);
            if got != Some(row.cycles) {
                bail!("{}: {got:?} cycles, SCALE-Sim {}", row.label, row.cycles);
            }
        }
        walls.push(start.elapsed().as_secs_f64());
    }
    let (min, max) = walls
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), &w| (lo.min(w), hi.max(w)));
    let scalesim: f64 = rows.iter().map(|r| r.scalesim_wall_s).sum();
    println!("{} SCALE-Sim runs from {}", rows.len(), csv.display());
    println!("cycles equal to SCALE-Sim's on every row");
    println!(
        "treta-vp wall [s], min-max of {}: {min:.3}-{max:.3}",
        walls.len()
    );
    if scalesim > 0.0 {
        println!(
            "SCALE-Sim v3 sim_wall_s summed: {scalesim:.1} s -> {:.0}x-{:.0}x",
            scalesim / max,
            scalesim / min
        );
    }
    Ok(())
}
