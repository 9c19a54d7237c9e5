//! The built-in firmware, run in its own process against `treta-vp serve`: the same
//! driver and lowering as `treta-vp run`, on a [`RemoteHal`] instead of the VP's.
//!
//! ```text
//! treta-vp serve scenarios/gemm_single.yaml --listen unix:/tmp/vp.sock --report r.json &
//! cargo run --release -p treta-vp --example remote_firmware -- scenarios/gemm_single.yaml unix:/tmp/vp.sock
//! ```
//!
//! Prints the summary the server answers `FINISH` with. The report equals
//! `treta-vp run`'s byte for byte (the test `tests/remote.rs` checks it).

use anyhow::{anyhow, Context, Result};
use std::time::Duration;
use treta_remote::{block_on, Client, Endpoint, RemoteHal};
use treta_vp::{run, scenario};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [scenario_path, endpoint] = args.as_slice() else {
        return Err(anyhow!(
            "usage: remote_firmware SCENARIO unix:PATH|tcp:HOST:PORT"
        ));
    };
    let endpoint: Endpoint = endpoint.parse()?;
    let loaded = scenario::load(std::path::Path::new(scenario_path), &[])?;
    let program = run::program_of(&loaded)?;
    let job = run::FirmwareJob::new(&loaded, &program, false)?;
    let client = Client::connect_patiently(&endpoint, Duration::from_secs(10))
        .with_context(|| format!("connecting to {endpoint}"))?;
    let hal = RemoteHal::new(client);
    let tensors = block_on(run::firmware(hal.clone(), job));
    if let Some(cause) = hal.take_error() {
        return Err(anyhow!("{cause}"));
    }
    let tensors = tensors.map_err(|e| anyhow!("firmware: {e}"))?;
    let (time_ps, report) = hal.finish()?;
    let report: serde_json::Value = serde_json::from_str(&report)?;
    println!(
        "finished at {time_ps} ps: {} tensors read back, {:.3} TOPS achieved, {} descriptors",
        tensors.len(),
        report["achieved_tops"].as_f64().unwrap_or(0.0),
        report["engines"]["cp"]["commands"]
    );
    Ok(())
}
