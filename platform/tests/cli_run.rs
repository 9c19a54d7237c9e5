//! `treta-vp run` through the binary: every bundled scenario runs and reports, runs
//! are deterministic, traces are valid Trace Event Format spanning the simulated
//! time, expectations and device errors give the documented exit codes.

use serde_json::Value;
use std::collections::BTreeMap;
mod common;

use common::{out_dir, repo_root, run, text, treta_vp};

fn scenarios() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(repo_root().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| {
            p.strip_prefix(repo_root())
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    // The 12-layer steps and the 4096³ GEMM take seconds each in a release
    // build, minutes in the test profile: the whole-model steps and the GEMM run
    // in CI (.ci/run); all are checked here through their lowering only (below).
    const WHOLE_STEPS: [&str; 6] = [
        "bert_base_training_step.yaml",
        "bert_base_encoder_step.yaml",
        "vit_b16_training_step.yaml",
        "vit_b16_encoder_step.yaml",
        "gpt2_training_step.yaml",
        "gemm_4096_fp8.yaml",
    ];
    v.retain(|s| !WHOLE_STEPS.iter().any(|w| s.ends_with(w)));
    v.sort();
    v
}

/// The `--explain-plan` of `scenario` holds every one of `want`.
fn plan_holds(scenario: &str, want: &[&str]) {
    let out = treta_vp(&["check", scenario, "--explain-plan"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plan = text(&out.stdout);
    for want in want {
        assert!(plan.contains(want), "{scenario}: no {want:?} in the plan");
    }
}

#[test]
fn the_whole_models_lower_embeddings_layers_and_heads() {
    plan_holds(
        "scenarios/vit_b16_training_step.yaml",
        &[
            "| fwd.patch_embed | gemm | 196×768×768",
            "| layer0.fwd.q_proj | gemm | 197×768×768",
            "| layer11.fwd.softmax | sfu | softmax_fwd 2364×197",
            "| fwd.head | gemm | 1×768×1000",
            "| bwd.patch_embed.wgrad | gemm | 768×196×768",
        ],
    );
    plan_holds(
        "scenarios/bert_base_training_step.yaml",
        &[
            "| fwd.embed | dma | gather of 128 token rows",
            "| fwd.embed.ln | sfu |",
            // The softmax rides in the score GEMMs, P stored in fp32 and in 8 bits.
            "| layer11.fwd.qk_t | gemm | 128×64×128, Bᵀ, 12 GEMMs in one pipeline",
            "epilogue softmax + store;",
            "epilogue softmax' + scale;",
            "| fwd.mlm.dense | gemm | 128×768×768",
            "| fwd.lm_head | gemm | 128×768×30522",
            "| loss.logsumexp.v24576 | sfu | vector.logsumexp 128×5946",
            "| bwd.embed.scatter_add | sfu |",
        ],
    );
    plan_holds(
        "scenarios/gpt2_training_step.yaml",
        &[
            "| layer11.fwd.softmax | sfu | softmax_causal_fwd 12288×1024",
            "| layer0.fwd.qk_t.b0h0.q896 | gemm | 128×64×1024",
            "| fwd.lm_head | gemm | 1024×768×50257",
            "| loss.xent_bwd.v49152 | sfu | vector.cross_entropy_bwd 1024×1105",
        ],
    );
}

#[test]
fn the_vit_b16_encoder_step_lowers_197_tokens() {
    plan_holds(
        "scenarios/vit_b16_encoder_step.yaml",
        &[
            "| layer0.fwd.q_proj | gemm | 197×768×768",
            "| layer11.fwd.qk_t | gemm | 197×64×197, Bᵀ, 12 GEMMs in one pipeline",
            "epilogue softmax + store;",
        ],
    );
}

#[test]
fn the_bert_base_encoder_step_lowers_all_twelve_layers() {
    let out = treta_vp(&[
        "check",
        "scenarios/bert_base_encoder_step.yaml",
        "--explain-plan",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plan = text(&out.stdout);
    for want in [
        "| layer0.fwd.q_proj | gemm | 128×768×768",
        "| layer11.bwd.ffn1.wgrad | gemm |",
        "| loss.mse | sfu |",
        "fp8_e4m3 × fp8_e4m3",
        "fp8_e4m3 × fp8_e5m2",
        "SGD update fused",
        "| sgd.layer11.ffn.b1 | sfu |",
        "| sgd.layer0.ln2.beta | sfu |",
    ] {
        assert!(plan.contains(want), "no {want:?} in the plan");
    }
}

#[test]
fn every_bundled_scenario_runs_and_reports() {
    let dir = out_dir("every_bundled");
    for (i, s) in scenarios().iter().enumerate() {
        let (out, report, trace) = run(s, &dir, &i.to_string(), &[]);
        assert!(out.status.success(), "{s}: {}", text(&out.stderr));
        let r = report.expect("report written");
        let sim = r["sim_time_ps"].as_u64().unwrap();
        assert!(sim > 0, "{s}");
        for engine in ["cp", "dma", "gemm", "sfu"] {
            let e = &r["engines"][engine];
            let busy = e["busy_ps"].as_u64().unwrap();
            let util = e["utilization"].as_f64().unwrap();
            assert!(busy <= sim, "{s}: {engine} busy {busy} > {sim}");
            assert!((0.0..=1.0).contains(&util), "{s}: {engine} util {util}");
        }
        assert!(r["dram"]["read_bytes"].as_u64().unwrap() > 0, "{s}");
        assert!(r["dram"]["write_bytes"].as_u64().is_some());
        assert_eq!(format!("{:.2}", r["peak_tops"].as_f64().unwrap()), "14.71");
        let tops = r["achieved_tops"].as_f64().unwrap();
        if r["engines"]["gemm"]["commands"].as_u64().unwrap() > 0 {
            assert!(tops > 0.0, "{s}");
        } else {
            assert_eq!(tops, 0.0, "{s}: no GEMM, no TOPS");
        }
        assert!(trace.is_some());
    }
}

#[test]
fn gemm_list_report_lists_gemms_in_workload_order() {
    let dir = out_dir("gemm_order");
    let (out, report, _) = run("scenarios/bert_base_step_gemms.yaml", &dir, "bert", &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r = report.unwrap();
    let gemms = r["gemms"].as_array().unwrap();
    assert_eq!(gemms.len(), 24);
    assert_eq!(gemms[0]["name"], "fwd.q_proj");
    assert_eq!(gemms[23]["name"], "wgrad.ffn2");
    for g in gemms {
        let (m, k, n) = (
            g["m"].as_u64().unwrap(),
            g["k"].as_u64().unwrap(),
            g["n"].as_u64().unwrap(),
        );
        let count = g["count"].as_u64().unwrap();
        let cycles = g["cycles"].as_u64().unwrap();
        let util = g["utilization"].as_f64().unwrap();
        // Utilization is derived from cycles: m·k·n·count / (8192 · cycles).
        let derived = (m * k * n * count) as f64 / (8192.0 * cycles as f64);
        assert!(
            (util - derived).abs() < 1e-9,
            "{}: {util} vs {derived}",
            g["name"]
        );
        assert!(util > 0.0 && util <= 1.0);
    }
}

#[test]
fn the_same_scenario_twice_gives_identical_report_and_trace() {
    let dir = out_dir("determinism");
    for s in scenarios() {
        let (_, r1, t1) = run(&s, &dir, "first", &[]);
        let (_, r2, t2) = run(&s, &dir, "second", &[]);
        assert_eq!(r1, r2, "{s}: reports differ");
        assert!(t1.is_some());
        assert_eq!(t1, t2, "{s}: traces differ");
    }
}

/// Checks the Trace Event Format rules Perfetto relies on; returns the latest end
/// time [us].
fn check_trace(trace: &str) -> f64 {
    let doc: Value = serde_json::from_str(trace).expect("trace is valid JSON");
    let events = doc["traceEvents"].as_array().expect("traceEvents array");
    let mut spans: BTreeMap<u64, Vec<(f64, f64)>> = BTreeMap::new();
    let mut open: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    let mut flows: BTreeMap<u64, (u32, u32)> = BTreeMap::new();
    // Perfetto keys counters by (process, name): one name per counter track.
    let mut counters: BTreeMap<String, u64> = BTreeMap::new();
    let mut latest: f64 = 0.0;
    for e in events {
        let ph = e["ph"].as_str().expect("ph");
        assert!(e["pid"].is_u64(), "pid: {e}");
        assert!(e["tid"].is_u64(), "tid: {e}");
        let tid = e["tid"].as_u64().unwrap();
        if ph == "M" {
            assert!(e["name"].is_string() && e["args"].is_object(), "{e}");
            continue;
        }
        let ts = e["ts"].as_f64().expect("ts");
        assert!(ts >= 0.0, "{e}");
        latest = latest.max(ts);
        match ph {
            "X" => {
                let dur = e["dur"].as_f64().expect("dur");
                assert!(dur >= 0.0, "negative duration: {e}");
                assert!(e["name"].is_string(), "{e}");
                spans.entry(tid).or_default().push((ts, ts + dur));
                latest = latest.max(ts + dur);
            }
            "B" => open.entry(tid).or_default().push(ts),
            "E" => {
                let start = open.get_mut(&tid).and_then(Vec::pop).expect("E after B");
                assert!(ts >= start, "{e}");
                spans.entry(tid).or_default().push((start, ts));
            }
            "i" => assert!(e["name"].is_string(), "{e}"),
            "C" => {
                let name = e["name"].as_str().expect("counter name").to_string();
                assert_eq!(*counters.entry(name).or_insert(tid), tid, "{e}");
                let args = e["args"].as_object().expect("counter args");
                assert!(
                    !args.is_empty() && args.values().all(Value::is_number),
                    "{e}"
                );
            }
            "s" | "f" => {
                let id = e["id"].as_u64().expect("flow id");
                let f = flows.entry(id).or_default();
                if ph == "s" {
                    f.0 += 1;
                } else {
                    f.1 += 1;
                }
            }
            other => panic!("unexpected phase {other}: {e}"),
        }
    }
    assert!(open.values().all(Vec::is_empty), "unclosed B events");
    assert!(
        flows.values().all(|&(s, f)| s == 1 && f == 1),
        "unmatched flows"
    );
    // Spans on one track nest or are disjoint (a tiny tolerance for float printing).
    for (tid, mut v) in spans {
        v.sort_by(|a, b| {
            a.0.partial_cmp(&b.0)
                .unwrap()
                .then(b.1.partial_cmp(&a.1).unwrap())
        });
        let mut stack: Vec<f64> = Vec::new();
        for (s, e) in v {
            while stack.last().is_some_and(|&end| end <= s + 1e-9) {
                stack.pop();
            }
            if let Some(&end) = stack.last() {
                assert!(
                    e <= end + 1e-9,
                    "track {tid}: [{s}, {e}] overlaps a span ending {end}"
                );
            }
            stack.push(e);
        }
    }
    latest
}

#[test]
fn traces_are_valid_and_span_the_simulated_time() {
    let dir = out_dir("trace_valid");
    for s in scenarios() {
        let (out, report, trace) = run(&s, &dir, "t", &[]);
        assert!(out.status.success(), "{s}");
        let latest = check_trace(&trace.unwrap());
        let sim_us = report.unwrap()["sim_time_ps"].as_u64().unwrap() as f64 / 1e6;
        assert!(
            (latest - sim_us).abs() < 1e-6,
            "{s}: trace ends at {latest} us, run at {sim_us} us"
        );
    }
}

#[test]
fn a_failed_expectation_is_exit_1() {
    let dir = out_dir("expect_fail");
    let (out, report, _) = run(
        "scenarios/gemm_single.yaml",
        &dir,
        "x",
        &["--set", "expect.sim_time_ps.max=1"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let r = report.unwrap();
    assert_eq!(r["expectations"][0]["what"], "sim_time_ps");
    assert_eq!(r["expectations"][0]["pass"], false);
    assert!(text(&out.stderr).contains("FAILED"));
    let (ok, _, _) = run(
        "scenarios/gemm_single.yaml",
        &dir,
        "y",
        &[
            "--set",
            "expect.gemms=[{name: fwd.ffn1, utilization: {min: 0.5}}]",
        ],
    );
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
}

#[test]
fn device_errors_are_exit_2_naming_the_descriptor() {
    let dir = out_dir("device_errors");
    for (file, want) in [
        (
            "sram_overflow.yaml",
            "SRAM access out of range (overflow) in queue 0 at slot 1 (descriptor id 1, GEMM)",
        ),
        (
            "dram_out_of_range.yaml",
            "DRAM address out of range in queue 0 at slot 0 (descriptor id 0, DMA_LOAD)",
        ),
        ("deadlock.yaml", "queue 1 at slot 0"),
    ] {
        let path = format!("platform/tests/device_errors/{file}");
        let (out, report, _) = run(&path, &dir, file, &[]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {stderr}");
        assert!(stderr.contains(want), "{file}: want {want:?} in {stderr}");
        assert!(!stderr.contains("panicked"));
        assert!(report.is_none(), "no report for a failed run");
    }
}

#[test]
fn impossible_sizes_are_device_errors_naming_the_field_in_both_modes() {
    let dir = out_dir("huge_softmax");
    let path = "platform/tests/device_errors/huge_softmax.yaml";
    for mode in ["timing", "functional"] {
        let set = format!("run.mode={mode}");
        let (out, report, _) = run(path, &dir, mode, &["--set", &set]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{mode}: {stderr}");
        let want = "SRAM access out of range (overflow) in queue 0 at slot 0 \
                    (descriptor id 0, SOFTMAX_FWD), field `cols`, address 0x180000";
        assert!(stderr.contains(want), "{mode}: want {want:?} in {stderr}");
        assert!(!stderr.contains("panicked"), "{mode}: {stderr}");
        assert!(report.is_none());
    }
}

#[test]
fn functional_and_timing_runs_give_identical_reports_and_traces() {
    let dir = out_dir("functional_vs_timing");
    for name in [
        "memtest_stream",
        "memtest_strided",
        "memtest_random",
        "gemm_single",
        "command_program",
    ] {
        let path = format!("scenarios/{name}.yaml");
        let (out_t, report_t, trace_t) = run(&path, &dir, &format!("{name}_t"), &[]);
        let (out_f, report_f, trace_f) = run(
            &path,
            &dir,
            &format!("{name}_f"),
            &["--set", "run.mode=functional"],
        );
        assert_eq!(out_t.status.code(), Some(0), "{}", text(&out_t.stderr));
        assert_eq!(out_f.status.code(), Some(0), "{}", text(&out_f.stderr));
        assert!(report_t.is_some(), "{name}: timing run wrote a report");
        assert_eq!(report_t, report_f, "{name}: reports differ");
        assert_eq!(trace_t, trace_f, "{name}: traces differ");
    }
}

#[test]
fn named_sram_buffers_hold_the_operands_the_lowering_put_there() {
    let dir = out_dir("sram_buffers");
    let (out, report, _) = run("scenarios/sram_buffers.yaml", &dir, "split", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = report.expect("a report");
    let sram = &report["sram"];
    let buffers = sram["buffers"].as_array().unwrap();
    let names: Vec<&str> = buffers
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["inputs", "weights", "outputs", "gradients"]);
    let field = |i: usize, key: &str| buffers[i][key].as_u64().unwrap();
    // A tiles land in `inputs`, B tiles in `weights`, C in `outputs` (written by
    // the GEMM, read back by the store); nothing touches `gradients`.
    for (i, name) in names.iter().enumerate().take(3) {
        assert!(
            field(i, "write_bytes") > 0 && field(i, "read_bytes") > 0,
            "{name}"
        );
    }
    assert_eq!((field(3, "read_bytes"), field(3, "write_bytes")), (0, 0));
    let total: u64 = (0..4).map(|i| field(i, "read_bytes")).sum();
    assert_eq!(total, sram["read_bytes"].as_u64().unwrap());
    // The B tile (fp8, tile_k × tile_n) fits the 512 KiB of `weights`, the A tile
    // the 256 KiB of `inputs`, the fp32 C tile the 512 KiB of `outputs`.
    let g = &report["gemms"][0];
    let (tm, tk, tn) = (
        g["tile_m"].as_u64().unwrap(),
        g["tile_k"].as_u64().unwrap(),
        g["tile_n"].as_u64().unwrap(),
    );
    assert!(tm * tk <= field(0, "bytes"), "A tile {tm}x{tk}");
    assert!(tk * tn <= field(1, "bytes"), "B tile {tk}x{tn}");
    assert!(tm * tn * 4 <= field(2, "bytes"), "C tile {tm}x{tn}");
}

#[test]
fn memtest_stream_reaches_90_percent_of_every_preset() {
    let dir = out_dir("memtest_presets");
    for (kind, channels) in [("lpddr4_4266", 4), ("ddr4_3200", 1), ("hbm2", 8)] {
        let sets = [
            "--set".to_string(),
            format!("platform.dram.kind={kind}"),
            "--set".to_string(),
            format!("platform.dram.channels={channels}"),
        ];
        let args: Vec<&str> = sets.iter().map(String::as_str).collect();
        let (out, report, _) = run("scenarios/memtest_stream.yaml", &dir, kind, &args);
        assert_eq!(out.status.code(), Some(0), "{kind}: {}", text(&out.stderr));
        let dram = &report.expect("a report")["dram"];
        let (got, peak) = (
            dram["bandwidth_gbps"].as_f64().unwrap(),
            dram["peak_gbps"].as_f64().unwrap(),
        );
        assert!(
            got >= 0.9 * peak && got <= peak,
            "{kind}: {got} of {peak} GB/s"
        );
    }
}

#[test]
fn bursts_detail_traces_every_dram_burst_once() {
    let dir = out_dir("bursts_detail");
    for name in ["memtest_random", "command_program"] {
        let path = format!("scenarios/{name}.yaml");
        let (out, report, trace) = run(&path, &dir, name, &["--set", "run.trace_detail=bursts"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let trace = trace.expect("a trace");
        check_trace(&trace);
        let doc: Value = serde_json::from_str(&trace).unwrap();
        let events = doc["traceEvents"].as_array().unwrap();
        let burst_tids: Vec<u64> = events
            .iter()
            .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
            .filter(|e| e["args"]["name"].as_str().unwrap().ends_with(".bursts"))
            .map(|e| e["tid"].as_u64().unwrap())
            .collect();
        assert_eq!(burst_tids.len(), 4, "{name}: one bursts track per channel");
        let spans = events
            .iter()
            .filter(|e| e["ph"] == "X" && burst_tids.contains(&e["tid"].as_u64().unwrap()))
            .count() as u64;
        let dram = &report.expect("a report")["dram"];
        let bursts: u64 = ["row_hits", "row_misses", "row_conflicts"]
            .iter()
            .map(|k| dram[*k].as_u64().unwrap())
            .sum();
        assert_eq!(spans, bursts, "{name}");
    }
}

#[test]
fn a_device_that_stops_answering_trips_the_watchdog_naming_the_command() {
    let dir = out_dir("watchdog");
    let scenario = dir.join("hang.yaml");
    std::fs::write(
        &scenario,
        "workload:\n  kind: commands\n  commands:\n    - {op: sem_wait, queue: 1, sem: 3, count: 1}\n    - {op: irq, queue: 1, count: 1}\nrun: {mode: timing, watchdog_us: 50}\n",
    )
    .expect("scenario");
    let out = treta_vp(&["run", scenario.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("device timeout: no interrupt within 50000 ns")
            && stderr.contains("queue 1 stuck at slot 0 (descriptor id 0: SEM_WAIT)"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn explain_plan_of_a_gemm_list_gives_planned_floor_and_after_a_run_the_achieved_traffic() {
    let header = "| # | GEMM | m×k×n × count | tiles × count | buffers | compute cycles | DRAM planned [B] | floor [B] | roofline [µs] |";
    let planned = treta_vp(&["check", "scenarios/gemm_single.yaml", "--explain-plan"]);
    assert!(planned.status.success(), "{}", text(&planned.stderr));
    let plan = text(&planned.stdout);
    assert!(plan.contains(header), "{plan}");
    assert!(
        !plan.contains("achieved DRAM"),
        "check does not run: {plan}"
    );
    let dir = out_dir("explain_plan_achieved");
    let (out, report, _) = run(
        "scenarios/gemm_single.yaml",
        &dir,
        "single",
        &["--explain-plan"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let after = text(&out.stdout);
    assert!(
        after.contains("achieved DRAM [B] | time [µs] | of roofline |"),
        "{after}"
    );
    let row = after
        .lines()
        .find(|l| l.starts_with("| 0 | fwd.ffn1 |"))
        .unwrap_or_else(|| panic!("no row for the GEMM: {after}"));
    // The achieved columns are the report's: bytes moved and time of the GEMM.
    let g = &report.expect("report")["gemms"][0];
    let (bytes, time_ps) = (
        g["dram_bytes"].as_u64().unwrap(),
        g["time_ps"].as_u64().unwrap(),
    );
    assert!(
        row.contains(&format!("| {bytes} | {:.3} |", time_ps as f64 / 1e6)),
        "{row}"
    );
    // Planned traffic is what the descriptors move; achieved adds the fetches
    // of those descriptors (64 bytes each) and nothing else.
    let planned = g["dram_planned_bytes"].as_u64().unwrap();
    assert!(
        bytes >= planned && bytes < planned + 64 * 200,
        "{bytes} vs {planned}"
    );
    assert!(g["dram_floor_bytes"].as_u64().unwrap() <= planned);
}
