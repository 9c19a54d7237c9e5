//! `treta-vp report FILE --plots DIR`: valid SVG files with the expected series,
//! from a run report and from a sweep's results.

mod common;

use common::{out_dir, text, treta_vp};
use std::path::Path;

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

#[test]
fn a_run_report_gives_utilization_roofline_and_breakdowns() {
    let dir = out_dir("plots_run");
    let report = dir.join("report.json");
    let out = treta_vp(&[
        "run",
        "scenarios/bert_base_step_gemms.yaml",
        "-q",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plots = dir.join("plots");
    let out = treta_vp(&[
        "report",
        report.to_str().unwrap(),
        "--plots",
        plots.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).lines().count(),
        5,
        "{}",
        text(&out.stdout)
    );
    let util = svg_texts(&plots.join("gemm_utilization.svg"));
    for want in ["flexible", "systolic", "fwd.q_proj", "wgrad.ffn2"] {
        has(&util, want, "gemm_utilization.svg");
    }
    let roof = svg_texts(&plots.join("roofline.svg"));
    has(&roof, "roof: 14.71 TOPS", "roofline.svg");
    has(&roof, "bert_base_step_gemms:", "roofline.svg");
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
    // A figure no report has, or a parameter not swept, is a clear error.
    let out = treta_vp(&[
        "report",
        results.to_str().unwrap(),
        "--plots",
        plots.to_str().unwrap(),
        "--x",
        "platform.sram.bytes",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not a swept parameter"));
    let out = treta_vp(&[
        "report",
        results.to_str().unwrap(),
        "--plots",
        plots.to_str().unwrap(),
        "--y",
        "nope.nothing",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no point has the figure `nope.nothing`"));
}

#[test]
fn a_training_step_gives_time_and_energy_per_layer_and_phase() {
    let dir = out_dir("plots_phases");
    let report = dir.join("report.json");
    let out = treta_vp(&[
        "run",
        "scenarios/encoder_small_golden.yaml",
        "-q",
        "--set",
        "workload.layers=2",
        "--set",
        "workload.golden_check=report",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plots = dir.join("plots");
    let out = treta_vp(&[
        "report",
        report.to_str().unwrap(),
        "--plots",
        plots.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for file in ["time_per_phase.svg", "energy_per_phase.svg"] {
        let texts = svg_texts(&plots.join(file));
        for want in ["layer0", "layer1", "fwd", "bwd", "sgd"] {
            has(&texts, want, file);
        }
    }
}
