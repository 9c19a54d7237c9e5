//! The remote firmware protocol's cost (BENCHMARKS.md): round trips per second
//! over a Unix socket and over TCP (TCP_NODELAY), for `NOW` (the protocol alone)
//! and `READ32` of a register (plus one simulated bus access); and the wall time
//! of bundled scenarios run by the built-in firmware (`treta-vp run`) against the
//! same driver and lowering in this process over `treta-vp serve`.
//!
//! ```text
//! cargo build --release -p treta-vp
//! cargo run --release -p treta-vp --example remote_bench [ROUNDS] [CALLS]
//! ```
//! (defaults 5 rounds of 20,000 calls). Figures are min–max over the rounds.
//! Every server is a `target/release/treta-vp serve` child process.

use anyhow::{anyhow, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use treta_remote::{block_on, Client, Endpoint, RemoteHal};
use treta_vp::{run, scenario};

/// The `treta-vp` binary beside this example's directory.
fn server_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("treta-vp"))
        .ok_or_else(|| anyhow!("no directory above {}", exe.display()))?;
    if !bin.exists() {
        return Err(anyhow!(
            "{} is missing: cargo build --release -p treta-vp first",
            bin.display()
        ));
    }
    Ok(bin)
}

fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from(relative), |root| root.join(relative))
}

/// `treta-vp serve SCENARIO --listen ENDPOINT` as a child.
fn serve(scenario: &Path, endpoint: &Endpoint) -> Result<Child> {
    Command::new(server_binary()?)
        .arg("serve")
        .arg(scenario)
        .arg("--listen")
        .arg(endpoint.to_string())
        .arg("-q")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting treta-vp serve")
}

/// A TCP port nobody listens on now (the kernel's choice).
fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn endpoints(tag: &str) -> Result<[(&'static str, Endpoint); 2]> {
    let sock = std::env::temp_dir().join(format!("treta-bench-{}-{tag}.sock", std::process::id()));
    Ok([
        ("unix", format!("unix:{}", sock.display()).parse()?),
        ("tcp", format!("tcp:127.0.0.1:{}", free_port()?).parse()?),
    ])
}

fn min_max(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}

/// Round trips per second of `NOW` and `READ32(ID)`, per round.
fn round_trips(endpoint: &Endpoint, rounds: usize, calls: usize) -> Result<[Vec<f64>; 2]> {
    let mut server = serve(&repo("scenarios/gemm_single.yaml"), endpoint)?;
    let mut client = Client::connect_patiently(endpoint, Duration::from_secs(10))?;
    let id = client.map().regs_base + treta_abi::regs::ID;
    for _ in 0..1000 {
        client.now()?;
    }
    let (mut now, mut read) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let t = Instant::now();
        for _ in 0..calls {
            client.now()?;
        }
        now.push(calls as f64 / t.elapsed().as_secs_f64());
        let t = Instant::now();
        for _ in 0..calls {
            client.read32(id)?;
        }
        read.push(calls as f64 / t.elapsed().as_secs_f64());
    }
    client.finish()?;
    server.wait()?;
    Ok([now, read])
}

/// Wall time [s] of `treta-vp run SCENARIO` (built-in firmware).
fn in_process(scenario: &Path) -> Result<f64> {
    let t = Instant::now();
    let status = Command::new(server_binary()?)
        .arg("run")
        .arg(scenario)
        .arg("-q")
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        return Err(anyhow!("treta-vp run {}: {status}", scenario.display()));
    }
    Ok(t.elapsed().as_secs_f64())
}

/// Wall time [s] of the same program through `serve` and the Rust client, from
/// starting the server to its exit.
fn remote(scenario: &Path, endpoint: &Endpoint) -> Result<f64> {
    let t = Instant::now();
    let mut server = serve(scenario, endpoint)?;
    let loaded = scenario::load(scenario, &[])?;
    let program = run::program_of(&loaded)?;
    let job = run::FirmwareJob::new(&loaded, &program, false)?;
    let hal = RemoteHal::new(Client::connect_patiently(
        endpoint,
        Duration::from_secs(10),
    )?);
    let result = block_on(run::firmware(hal.clone(), job));
    if let Some(cause) = hal.take_error() {
        return Err(anyhow!("{cause}"));
    }
    result.map_err(|e| anyhow!("firmware: {e}"))?;
    hal.finish()?;
    let status = server.wait()?;
    if !status.success() {
        return Err(anyhow!("serve {}: {status}", scenario.display()));
    }
    Ok(t.elapsed().as_secs_f64())
}

fn main() -> Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| {
            a.parse()
                .map_err(|_| anyhow!("usage: remote_bench [ROUNDS] [CALLS]"))
        })
        .collect::<Result<_>>()?;
    let rounds = args.first().copied().unwrap_or(5).max(1);
    let calls = args.get(1).copied().unwrap_or(20_000).max(1);

    println!("round trips per second, {rounds} rounds of {calls} calls (min–max):");
    println!("| transport | NOW | READ32 (register, bus time simulated) |");
    println!("|---|---|---|");
    for (name, endpoint) in endpoints("rtt")? {
        let [now, read] = round_trips(&endpoint, rounds, calls)?;
        let ((a, b), (c, d)) = (min_max(&now), min_max(&read));
        println!("| {name} | {a:.0}–{b:.0} | {c:.0}–{d:.0} |");
    }

    println!("\nwall time of the built-in firmware, in process vs over serve (min–max, s):");
    println!("| scenario | `treta-vp run` | serve + client, unix | serve + client, tcp |");
    println!("|---|---|---|---|");
    for name in ["gemm_single", "command_program", "bert_base_step_gemms"] {
        let path = repo(&format!("scenarios/{name}.yaml"));
        let mut local = Vec::new();
        let mut over = [Vec::new(), Vec::new()];
        for round in 0..rounds {
            local.push(in_process(&path)?);
            for (i, (_, endpoint)) in endpoints(&format!("{name}{round}"))?.iter().enumerate() {
                over[i].push(remote(&path, endpoint)?);
            }
        }
        let (a, b) = min_max(&local);
        let (c, d) = min_max(&over[0]);
        let (e, f) = min_max(&over[1]);
        println!("| {name} | {a:.3}–{b:.3} | {c:.3}–{d:.3} | {e:.3}–{f:.3} |");
    }
    Ok(())
}
