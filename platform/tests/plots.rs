//! `treta-vp report FILE --plots DIR`: valid SVG files with the expected series,
//! from a run report and from a sweep's results.

mod common;

use common::{out_dir, text, treta_vp};
use std::path::{Path, PathBuf};

/// The texts of an SVG file, which must parse as XML with an `svg` root.
fn svg_texts(path: &Path) -> Vec<String> {
    let svg = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc =
        roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text().map(str::to_string))
        .collect()
}

fn has(texts: &[String], want: &str, file: &str) {
    assert!(
        texts.iter().any(|t| t.contains(want)),
        "{file}: no text {want:?} in {texts:?}"
    );
}

/// Runs `scenario` with `sets` into a report under `dir`, plots it into
/// `dir/plots`; returns that directory and the files `report --plots` listed.
fn run_and_plot(dir: &Path, scenario: &str, sets: &[&str]) -> (PathBuf, Vec<String>) {
    let report = dir.join("report.json");
    let mut args = vec!["run", scenario, "-q", "--report", report.to_str().unwrap()];
    for s in sets {
        args.extend(["--set", s]);
    }
    let out = treta_vp(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plots = dir.join("plots");
    let out = treta_vp(&[
        "report",
        report.to_str().unwrap(),
        "--plots",
        plots.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    (
        plots,
        text(&out.stdout).lines().map(str::to_string).collect(),
    )
}

#[test]
fn a_run_report_gives_utilization_roofline_and_breakdowns() {
    let dir = out_dir("plots_run");
    let (plots, files) = run_and_plot(&dir, "scenarios/bert_base_step_gemms.yaml", &[]);
    // A gemm_list's phases are its GEMMs: time and energy per phase too.
    assert_eq!(files.len(), 7, "{files:?}");
    has(
        &svg_texts(&plots.join("time_per_phase.svg")),
        "wgrad",
        "time_per_phase.svg",
    );
    let util = svg_texts(&plots.join("gemm_utilization.svg"));
    for want in ["flexible", "systolic", "fwd.q_proj", "wgrad.ffn2"] {
        has(&util, want, "gemm_utilization.svg");
    }
    let roof = svg_texts(&plots.join("roofline.svg"));
    has(&roof, "roof: 14.71 TOPS", "roofline.svg");
    has(&roof, "bert_base_step_gemms:", "roofline.svg");
    // One mark per GEMM of the list, each where its traffic and time put it.
    has(&roof, "each operation with GEMM work (24)", "roofline.svg");
    let energy = svg_texts(&plots.join("energy_per_engine.svg"));
    for want in ["gemm", "sram", "dram"] {
        has(&energy, want, "energy_per_engine.svg");
    }
    has(
        &svg_texts(&plots.join("energy_per_class.svg")),
        "mac.fp8_e4m3",
        "energy_per_class.svg",
    );
    has(
        &svg_texts(&plots.join("time_per_engine.svg")),
        "dma",
        "time_per_engine.svg",
    );
}

#[test]
fn a_sweep_gives_a_figure_against_each_parameter_with_a_series_per_other_value() {
    let dir = out_dir("plots_sweep");
    let sweep = dir.join("sweep");
    let out = treta_vp(&[
        "sweep",
        "scenarios/gemm_single.yaml",
        "-q",
        "--param",
        "platform.gemm.rows=32,64,128",
        "--param",
        "platform.dram.kind=lpddr4_4266,hbm2",
        "--out",
        sweep.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plots = dir.join("plots");
    let results = sweep.join("results.json");
    let out = treta_vp(&[
        "report",
        results.to_str().unwrap(),
        "--plots",
        plots.to_str().unwrap(),
        "--x",
        "platform.gemm.rows",
        "--y",
        "engines.gemm.utilization",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let texts = svg_texts(&plots.join("engines_gemm_utilization_vs_platform_gemm_rows.svg"));
    for want in [
        "dram.kind=lpddr4_4266",
        "dram.kind=hbm2",
        "32",
        "128",
        "platform.gemm.rows",
    ] {
        has(&texts, want, "sweep plot");
    }
    // A parameter not swept, or a figure no report has, is a clear error.
    for (option, value, want) in [
        ("--x", "platform.sram.bytes", "not a swept parameter"),
        (
            "--y",
            "nope.nothing",
            "no point has the figure `nope.nothing`",
        ),
    ] {
        let (results, plots) = (results.to_str().unwrap(), plots.to_str().unwrap());
        let out = treta_vp(&["report", results, "--plots", plots, option, value]);
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stderr).contains(want), "{}", text(&out.stderr));
    }
}

#[test]
fn a_training_step_gives_time_and_energy_per_layer_and_phase() {
    let dir = out_dir("plots_phases");
    let sets = ["workload.layers=2", "workload.golden_check=report"];
    let (plots, _) = run_and_plot(&dir, "scenarios/encoder_small_golden.yaml", &sets);
    for file in ["time_per_phase.svg", "energy_per_phase.svg"] {
        let texts = svg_texts(&plots.join(file));
        for want in ["layer0", "layer1", "fwd", "bwd", "sgd"] {
            has(&texts, want, file);
        }
    }
}
