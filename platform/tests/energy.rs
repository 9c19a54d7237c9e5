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
    // A scenario may set the DRAM's energy per byte whatever the standard.
    let set = report(
        "dram_set",
        scenario,
        &["platform.energy.dram_pj_per_byte=1"],
    );
    assert!((per_byte(&set) - 1.0).abs() < 1e-9, "{}", per_byte(&set));
}

#[test]
fn a_training_step_has_timed_phases_and_a_power_track() {
    let dir = out_dir("energy_phases");
    let (out, report, trace) = run("scenarios/encoder_small_golden.yaml", &dir, "small", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let r = report.expect("a report");
    let phases = r["phases"].as_array().expect("phases");
    let ops: Vec<&str> = phases.iter().map(|p| p["op"].as_str().unwrap()).collect();
    for want in [
        "fwd.q_proj",
        "fwd.qk_t",
        "bwd.ffn2.wgrad",
        "sgd.layer.ffn.b1",
    ] {
        assert!(ops.contains(&want), "no phase {want}");
    }
    // Phases follow one another and cover the run but for the driver's last
    // drain; their energies add up to the run's the same way.
    for w in phases.windows(2) {
        assert_eq!(w[0]["end_ps"], w[1]["start_ps"]);
    }
    let sum = |key: &str| phases.iter().map(|p| f(&p[key])).sum::<f64>();
    let (time, total) = (f(&r["sim_time_ps"]), f(&r["energy_pj"]));
    assert!(sum("time_ps") <= time && sum("time_ps") > 0.99 * time);
    assert!(sum("energy_pj") <= total * (1.0 + 1e-9) && sum("energy_pj") > 0.99 * total);
    assert!(phases
        .iter()
        .all(|p| f(&p["chip_energy_pj"]) <= f(&p["energy_pj"])));
    // The power track: chip power samples whose time-weighted mean is the
    // report's chip energy over the sampled span.
    let doc: Value = serde_json::from_str(&trace.expect("a trace")).unwrap();
    let mut samples: Vec<(f64, f64)> = doc["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ph"] == "C" && e["name"] == "power")
        .filter_map(|e| Some((f(&e["ts"]), e["args"]["chip [W]"].as_f64()?)))
        .collect();
    samples.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(samples.len() > 20, "{} power samples", samples.len());
    let energy_uj: f64 = samples.windows(2).map(|w| (w[1].0 - w[0].0) * w[0].1).sum();
    let span_us = samples.last().unwrap().0 - samples[0].0;
    let chip_w = f(&r["energy"]["chip_power_w"]);
    let mean_w = energy_uj / span_us;
    assert!(
        (mean_w - chip_w).abs() < 0.05 * chip_w,
        "{mean_w} W vs {chip_w} W"
    );
}
