//! The per-operation table (`run --report-csv`, `report --csv`): a row per
//! training-step operation and per GEMM of a `gemm_list`, whose figures add up
//! to the report's, the same bytes from the run and from its report file.

mod common;

use common::{out_dir, run, text, treta_vp};
use serde_json::Value;

/// The table's rows as (kind, fields) under its header's column names.
fn rows(csv: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut lines = csv.lines();
    let header: Vec<String> = lines
        .next()
        .expect("a header")
        .split(',')
        .map(str::to_string)
        .collect();
    // Names here hold no commas: a plain split is enough.
    let rows = lines
        .map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>())
        .collect();
    (header, rows)
}

fn column(header: &[String], name: &str) -> usize {
    header.iter().position(|h| h == name).expect(name)
}

fn sum(rows: &[Vec<String>], at: usize) -> f64 {
    rows.iter().map(|r| r[at].parse::<f64>().unwrap()).sum()
}

fn total(list: &Value, key: &str) -> f64 {
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| p[key].as_f64().unwrap())
        .sum()
}

#[test]
fn a_training_step_has_a_row_per_operation() {
    let dir = out_dir("report_csv_step");
    let csv = dir.join("ops.csv");
    let (out, report, _) = run(
        "scenarios/encoder_small_golden.yaml",
        &dir,
        "step",
        &["--report-csv", csv.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = report.expect("a report");
    let table = std::fs::read_to_string(&csv).unwrap();
    let (header, all) = rows(&table);
    assert!(all.iter().all(|r| r.len() == header.len()), "{table}");
    let phases: Vec<Vec<String>> = all.iter().filter(|r| r[0] == "phase").cloned().collect();
    let json = &report["phases"];
    assert_eq!(phases.len(), json.as_array().unwrap().len());
    let name = column(&header, "name");
    assert!(phases.iter().any(|r| r[name] == "bwd.ffn2.wgrad"));
    for key in ["time_ps", "dram_bytes", "ops"] {
        assert_eq!(
            sum(&phases, column(&header, key)),
            total(json, key),
            "{key}"
        );
    }
    let energy = sum(&phases, column(&header, "energy_pj"));
    assert!(
        (energy / total(json, "energy_pj") - 1.0).abs() < 1e-5,
        "{energy}"
    );
    let sfu = all.iter().filter(|r| r[0] == "sfu_op").count();
    assert_eq!(sfu, report["sfu_ops"].as_array().unwrap().len());
    // The same table from the report file.
    let again = dir.join("again.csv");
    let report_file = dir.join("step.report.json");
    let out = treta_vp(&[
        "report",
        report_file.to_str().unwrap(),
        "--csv",
        again.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&again).unwrap(), table);
}

#[test]
fn a_gemm_list_has_a_row_per_gemm() {
    let dir = out_dir("report_csv_gemms");
    let csv = dir.join("ops.csv");
    let (out, report, _) = run(
        "scenarios/bert_base_step_gemms.yaml",
        &dir,
        "gemms",
        &["--report-csv", csv.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = report.expect("a report");
    let table = std::fs::read_to_string(&csv).unwrap();
    let (header, all) = rows(&table);
    let gemms: Vec<Vec<String>> = all.iter().filter(|r| r[0] == "gemm").cloned().collect();
    let json = &report["gemms"];
    assert_eq!(gemms.len(), json.as_array().unwrap().len());
    assert_eq!(
        sum(&gemms, column(&header, "dram_bytes")),
        total(json, "dram_bytes")
    );
    // A GEMM core's utilization is a fraction.
    let u = column(&header, "gemm_core_utilization");
    assert!(gemms.iter().all(|r| {
        let u: f64 = r[u].parse().unwrap();
        u > 0.0 && u <= 1.0
    }));
}

#[test]
fn a_sweeps_results_are_not_a_run_report() {
    let dir = out_dir("report_csv_bad");
    let file = dir.join("results.json");
    std::fs::write(&file, "[{\"status\": \"ok\"}]").unwrap();
    let out = treta_vp(&[
        "report",
        file.to_str().unwrap(),
        "--csv",
        dir.join("x.csv").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("not a run report"));
}
