//! The command processor reads descriptors ahead of execution: a queue's next
//! engine command is ready when the previous completes, even while the DRAM
//! streams a bulk transfer for another queue (without prefetch, each fetch would
//! wait behind that transfer).

mod common;

use serde_json::Value;

/// (start, end) in µs of every slice named `name` on the track `track`, in order.
fn slices(trace: &str, track: &str, name: &str) -> Vec<(f64, f64)> {
    let trace: Value = serde_json::from_str(trace).expect("trace is JSON");
    let events = trace["traceEvents"].as_array().expect("events");
    let tid = events
        .iter()
        .find(|e| e["name"] == "thread_name" && e["args"]["name"] == track)
        .map(|e| e["tid"].clone())
        .expect("the track exists");
    let mut out: Vec<(f64, f64)> = events
        .iter()
        .filter(|e| e["ph"] == "X" && e["tid"] == tid && e["name"] == name)
        .map(|e| {
            let ts = e["ts"].as_f64().expect("ts");
            (ts, ts + e["dur"].as_f64().expect("dur"))
        })
        .collect();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

#[test]
fn engine_commands_follow_each_other_while_the_dram_streams_for_another_queue() {
    let dir = common::out_dir("command_prefetch");
    let scenario = dir.join("s.yaml");
    // Queue 0 streams 1 MiB from DRAM (~35 µs); queue 1 runs four short GEMMs
    // (~1 µs each) meanwhile.
    let gemm = "{op: gemm, queue: 1, m: 128, k: 256, n: 128, a: 0x100000, b: 0x108000, c: 0x110000, format: fp8_e4m3}";
    std::fs::write(
        &scenario,
        format!(
            "workload:\n  kind: commands\n  commands:\n    - {{op: dma_load, queue: 0, dram: 0x1000000, sram: 0, rows: 1024, cols: 1024}}\n{}run: {{mode: timing, seed: 1}}\n",
            format!("    - {gemm}\n").repeat(4)
        ),
    )
    .expect("scenario");
    let (out, _, trace) = common::run(scenario.to_str().unwrap(), &dir, "run", &[]);
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let trace = trace.expect("trace");
    let dma = slices(&trace, "dma", "DMA_LOAD");
    let gemms = slices(&trace, "gemm", "GEMM");
    assert_eq!((dma.len(), gemms.len()), (1, 4));
    assert!(
        gemms[3].1 < dma[0].1,
        "the GEMMs ran during the load: {gemms:?} {dma:?}"
    );
    for pair in gemms.windows(2) {
        let gap = pair[1].0 - pair[0].1;
        assert!(
            gap < 0.01,
            "a GEMM waited {gap} µs for its descriptor: {gemms:?}"
        );
    }
}
