//! The simulator's own speed on every bundled scenario (BENCHMARKS.md): wall
//! time (min–max over rounds), the same with a trace at `commands` detail,
//! simulated DRAM bursts and bursts per second of wall time, and peak memory.
//!
//! `cargo run --release -p treta-vp --example scenario_bench [ROUNDS] [NAME...]`
//! (default 3 rounds, every `scenarios/*.yaml`). Each run is a child process of
//! this one (`--one PATH [TRACE]`), so its peak resident memory (`VmHWM`, Linux)
//! is its own.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// One run of `path` in this process: prints `wall_s bursts sim_ps peak_kb`.
fn one(path: &Path, trace: Option<&Path>) -> anyhow::Result<()> {
    let loaded = treta_vp::scenario::load(path, &[])?;
    let settings = treta_vp::run::RunSettings {
        trace,
        ..treta_vp::run::RunSettings::default()
    };
    let start = Instant::now();
    let report = treta_vp::run::run(&loaded, settings)?;
    let wall = start.elapsed().as_secs_f64();
    let d = &report.dram;
    let bursts = d.row_hits + d.row_misses + d.row_conflicts;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    println!("{wall} {bursts} {} {peak_kb}", report.sim_time_ps);
    Ok(())
}

/// A child run of `path`: (wall [s], bursts, peak [kB]).
fn child(path: &Path, trace: Option<&Path>) -> anyhow::Result<(f64, u64, u64)> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("--one").arg(path);
    if let Some(t) = trace {
        cmd.arg(t);
    }
    let out = cmd.output()?;
    anyhow::ensure!(
        out.status.success(),
        "{}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout)?;
    let f: Vec<&str> = text.split_whitespace().collect();
    anyhow::ensure!(
        f.len() == 4,
        "{}: unexpected output {text:?}",
        path.display()
    );
    Ok((f[0].parse()?, f[1].parse()?, f[3].parse()?))
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--one") {
        let path = PathBuf::from(args.get(1).ok_or_else(|| anyhow::anyhow!("--one PATH"))?);
        return one(&path, args.get(2).map(Path::new));
    }
    let rounds: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(3);
    let names: Vec<&String> = args.iter().skip(1).collect();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .filter(|p| {
            names.is_empty()
                || names
                    .iter()
                    .any(|n| p.file_stem().is_some_and(|s| s == n.as_str()))
        })
        .collect();
    paths.sort();
    let trace = std::env::temp_dir().join(format!("scenario_bench.{}.json", std::process::id()));
    println!(
        "| scenario | wall [s], min–max of {rounds} | with trace [s] | DRAM bursts | bursts/s | peak memory [MB] |"
    );
    println!("|---|---|---|---:|---:|---:|");
    for path in &paths {
        let (mut walls, mut traced, mut bursts, mut peak) = (Vec::new(), Vec::new(), 0, 0);
        for _ in 0..rounds {
            let (w, b, p) = child(path, None)?;
            walls.push(w);
            (bursts, peak) = (b, peak.max(p));
            traced.push(child(path, Some(&trace))?.0);
        }
        let range = |v: &[f64]| {
            let min = v.iter().copied().fold(f64::INFINITY, f64::min);
            let max = v.iter().copied().fold(0.0, f64::max);
            (min, max)
        };
        let (lo, hi) = range(&walls);
        let (tlo, thi) = range(&traced);
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy())
            .unwrap_or_default();
        println!(
            "| {name} | {lo:.3}–{hi:.3} | {tlo:.3}–{thi:.3} | {bursts} | {:.2} M | {:.1} |",
            bursts as f64 / lo / 1e6,
            peak as f64 / 1024.0
        );
    }
    let _ = std::fs::remove_file(&trace);
    Ok(())
}
