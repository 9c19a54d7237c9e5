//! The GEMM core through the command line: per-GEMM mapping rows whose idle
//! causes account for every idle PE-cycle, the flexible-vs-systolic comparison
//! (the systolic side equal to SCALE-Sim's sum for the 64×128 array), the
//! `--explain-mapping` dump, per-round trace spans. (Functional GEMM runs take
//! the timing runs' time: `cli_run.rs`; their math: treta-models' `gemm_core`.)

mod common;

use common::{out_dir, run, text, treta_vp};
use serde_json::Value;

const BERT: &str = "scenarios/bert_base_step_gemms.yaml";

#[test]
fn gemm_rows_attribute_every_idle_pe_cycle_and_the_comparison_meets_its_target() {
    let dir = out_dir("gemm_rows");
    let (out, report, _) = run(BERT, &dir, "bert", &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r = report.expect("a report");
    for g in r["gemms"].as_array().unwrap() {
        let util = g["utilization"].as_f64().unwrap();
        let idle: f64 = ["edge", "fill_drain", "bandwidth", "imbalance", "reduction"]
            .iter()
            .map(|k| g["idle"][*k].as_f64().unwrap())
            .sum();
        assert!(
            (util + idle - 1.0).abs() < 1e-9,
            "{}: utilization {util} + idle {idle} != 1",
            g["name"]
        );
        assert!(!g["mapping"].as_str().unwrap().is_empty());
        let (cycles, planned, stall) = (
            g["cycles"].as_u64().unwrap(),
            g["planned_cycles"].as_u64().unwrap(),
            g["stall_cycles"].as_u64().unwrap(),
        );
        assert_eq!(cycles, planned + stall, "{}", g["name"]);
    }
    let c = &r["engine_comparison"];
    assert_eq!(c["gemms"].as_array().unwrap().len(), 24);
    let flexible = c["flexible_utilization"].as_f64().unwrap();
    let systolic = c["systolic_utilization"].as_f64().unwrap();
    assert!(
        flexible >= 0.90,
        "flexible {flexible}: the issue's target is 90%"
    );
    assert!(
        systolic < flexible,
        "systolic {systolic} vs flexible {flexible}"
    );
    assert!(
        c["systolic_per_gemm_best_cycles"].as_u64().unwrap()
            <= c["systolic_cycles"].as_u64().unwrap()
    );
}

/// The "all" row of the comparison table in an `--explain-mapping` dump:
/// (flexible cycles, systolic cycles).
fn totals(dump: &str) -> (u64, u64) {
    let line = dump
        .lines()
        .find(|l| l.starts_with("| **all"))
        .unwrap_or_else(|| panic!("no totals row in {dump}"));
    let bold: Vec<u64> = line.split("**").filter_map(|s| s.parse().ok()).collect();
    (bold[0], bold[1])
}

#[test]
fn the_systolic_side_of_the_comparison_is_scalesims() {
    // SCALE-Sim v3, 64×128 array, input-stationary, all 24 GEMMs of the layer step
    // (per-head ones × 12): 453 678 cycles (../shared/reference/scalesim/README.md,
    // "Whole layer step"); its best dataflow there, as here.
    let out = treta_vp(&[
        "check",
        BERT,
        "--explain-mapping",
        "--set",
        "platform.gemm.rows=64",
        "--set",
        "platform.gemm.cols=128",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let dump = text(&out.stdout);
    assert_eq!(totals(&dump).1, 453_678, "{dump}");
    assert!(dump.contains("systolic (is) 75.2%"), "{dump}");
}

#[test]
fn explain_mapping_shows_choice_alternatives_and_idle_causes() {
    let out = treta_vp(&["check", BERT, "--explain-mapping"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let dump = text(&out.stdout);
    for want in [
        "the flexible engine: 8192 PEs as 32 groups of 16×16",
        "128×64×128 (m×k×n",
        "chosen: ",
        "fastest alternatives:",
        "idle: edge",
        "fill_drain",
    ] {
        assert!(dump.contains(want), "no {want:?} in {dump}");
    }
    let systolic = treta_vp(&[
        "check",
        BERT,
        "--explain-mapping",
        "--set",
        "platform.gemm.arch=systolic",
    ]);
    let dump = text(&systolic.stdout);
    assert!(dump.contains("a 128×64 systolic array, os"), "{dump}");
    assert!(dump.contains("other dataflows:"), "{dump}");
    // Preload hides fill and drain: turning it off costs cycles.
    let off = treta_vp(&[
        "check",
        BERT,
        "--explain-mapping",
        "--set",
        "platform.gemm.preload=false",
    ]);
    let on = totals(&text(&out.stdout)).0;
    let without = totals(&text(&off.stdout)).0;
    assert!(without > on, "preload off {without} vs on {on}");
}

#[test]
fn tiles_detail_traces_each_gemm_round_and_commands_detail_does_not() {
    let dir = out_dir("gemm_rounds");
    let round_spans = |trace: &str| -> Vec<Value> {
        let doc: Value = serde_json::from_str(trace).unwrap();
        let events = doc["traceEvents"].as_array().unwrap().clone();
        let tid = events
            .iter()
            .find(|e| e["ph"] == "M" && e["args"]["name"] == "gemm.rounds")
            .map(|e| e["tid"].clone());
        events
            .into_iter()
            .filter(|e| e["ph"] == "X" && Some(&e["tid"]) == tid.as_ref())
            .collect()
    };
    let scenario = "scenarios/gemm_single.yaml";
    let (out, _, trace) = run(scenario, &dir, "commands", &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(round_spans(&trace.unwrap()).is_empty());
    let (out, report, trace) = run(
        scenario,
        &dir,
        "tiles",
        &["--set", "run.trace_detail=tiles"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let spans = round_spans(&trace.unwrap());
    assert!(!spans.is_empty());
    // The rounds' compute and stall cycles add up to the GEMM's cycles.
    let from_spans: u64 = spans
        .iter()
        .map(|s| {
            s["args"]["compute_cycles"].as_u64().unwrap()
                + s["args"]["stall_cycles"].as_u64().unwrap()
        })
        .sum();
    let report = report.unwrap();
    let cycles: u64 = report["gemms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["cycles"].as_u64().unwrap())
        .sum();
    assert_eq!(from_spans, cycles);
}
