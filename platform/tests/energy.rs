//! The energy model: the `treta` preset's calibration point (a full-utilization
//! fp8 GEMM reports TRETA's 3.31 TOPS/W on chip), the breakdowns adding up, and
//! the DRAM standard changing the DRAM energy of the same run.

mod common;

use common::{out_dir, run, text};
use serde_json::Value;

fn report(tag: &str, scenario: &str, sets: &[&str]) -> Value {
    let dir = out_dir(&format!("energy_{tag}"));
    let mut args = Vec::new();
    for s in sets {
        args.extend(["--set", s]);
    }
    let (out, report, _) = run(scenario, &dir, tag, &args);
    assert_eq!(out.status.code(), Some(0), "{tag}: {}", text(&out.stderr));
    report.expect("a report")
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn a_full_utilization_gemm_reports_the_papers_tops_per_watt() {
    let r = report("calibration", "scenarios/energy_calibration.yaml", &[]);
    assert!(f(&r["engines"]["gemm"]["utilization"]) > 0.98);
    let tops_per_w = f(&r["tops_per_w"]);
    assert!((tops_per_w - 3.31).abs() < 0.02, "{tops_per_w} TOPS/W");
    assert_eq!(r["tops_per_w"], r["energy"]["tops_per_w"]);
    assert_eq!(r["energy_pj"], r["energy"]["total_pj"]);
    // The same GEMM costs more energy per operation in wider formats.
    let per_op = |format: &str| {
        let dir = out_dir(&format!("energy_scenario_{format}"));
        let path = dir.join("gemm.yaml");
        std::fs::write(
            &path,
            format!(
                "workload:\n  kind: commands\n  commands:\n    - {{op: gemm, m: 128, k: 256, n: 128, a: 0, b: 0x20000, c: 0x40000, format: {format}}}\n"
            ),
        )
        .unwrap();
        let r = report(format, path.to_str().unwrap(), &[]);
        assert!(r["energy"]["by_class"][format!("mac.{format}")].is_number());
        f(&r["energy"]["chip_pj"]) / (2.0 * 128.0 * 256.0 * 128.0)
    };
    let (fp8, bf16, fp32) = (per_op("fp8_e4m3"), per_op("bf16"), per_op("fp32"));
    assert!(fp8 < bf16 && bf16 < fp32, "{fp8} {bf16} {fp32} pJ/op");
}

#[test]
fn breakdowns_add_up_and_dram_energy_follows_the_standard() {
    let scenario = "scenarios/bert_base_layer_sfu.yaml";
    let lp = report("lpddr4", scenario, &[]);
    let e = &lp["energy"];
    let total = f(&e["total_pj"]);
    for key in ["by_engine", "by_class"] {
        let sum: f64 = e[key].as_object().unwrap().values().map(f).sum();
        assert!(
            (sum - total).abs() <= 1e-9 * total,
            "{key}: {sum} vs {total}"
        );
    }
    let dram: f64 = ["dram.access", "dram.activate", "dram.refresh"]
        .iter()
        .map(|c| f(&e["by_class"][c]))
        .sum();
    assert!((f(&e["by_engine"]["dram"]) - dram).abs() <= 1e-9 * total);
    assert!((f(&e["chip_pj"]) + dram - total).abs() <= 1e-9 * total);
    assert!(f(&e["by_class"]["sfu.softmax_fwd"]) > 0.0);
    let power = f(&e["average_power_w"]);
    let secs = f(&lp["sim_time_ps"]) * 1e-12;
    assert!((power - total * 1e-12 / secs).abs() <= 1e-9 * power);
    // DDR4 moves the same bytes at more energy per byte than LPDDR4.
    let ddr4 = report("ddr4", scenario, &["platform.dram.kind=ddr4_3200"]);
    assert_eq!(lp["dram"]["read_bytes"], ddr4["dram"]["read_bytes"]);
    let per_byte = |r: &Value| {
        f(&r["energy"]["by_class"]["dram.access"])
            / (f(&r["dram"]["read_bytes"]) + f(&r["dram"]["write_bytes"]))
    };
    assert!(per_byte(&ddr4) > 2.0 * per_byte(&lp));
}
