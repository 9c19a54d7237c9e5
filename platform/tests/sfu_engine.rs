//! The SFU through the command line: a BERT-base layer's special-function work
//! reports each operation's time, equal to the unit's closed form when the SRAM
//! keeps up, and a functional run of it takes the same time.

mod common;

use common::{out_dir, run, text};

const SCENARIO: &str = "scenarios/bert_base_layer_sfu.yaml";

#[test]
fn a_bert_layers_sfu_operations_report_their_closed_form_times() {
    let dir = out_dir("sfu_ops");
    let (out, report, _) = run(SCENARIO, &dir, "t", &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r = report.expect("a report");
    let ops = r["sfu_ops"].as_array().expect("sfu_ops");
    let find = |name: &str| {
        ops.iter()
            .find(|o| o["op"] == name)
            .unwrap_or_else(|| panic!("no {name} in {ops:?}"))
    };
    let (lanes, depth) = (64u64, 12u64);
    // passes × ⌈cols/lanes⌉ per row, rows back to back, the pipeline filled once
    // per descriptor.
    for (name, passes, rows, cols, commands) in [
        ("softmax_fwd", 3, 1536, 128u64, 1),
        ("softmax_bwd", 2, 1536, 128, 1),
        ("layernorm_fwd", 3, 128, 768, 2),
        ("layernorm_bwd", 2, 128, 768, 2),
        ("gelu_fwd", 1, 64, 3072, 2),
    ] {
        let o = find(name);
        let want = commands * (rows * passes * cols.div_ceil(lanes) + depth);
        assert_eq!(o["cycles"].as_u64(), Some(want), "{name}");
        assert_eq!(o["stall_cycles"].as_u64(), Some(0), "{name}");
    }
    let total: u64 = ops.iter().map(|o| o["time_ps"].as_u64().unwrap()).sum();
    let busy = r["engines"]["sfu"]["busy_ps"].as_u64().unwrap();
    // Busy time also holds each descriptor's wait for the next clock edge.
    assert!(
        busy >= total && busy - total < 27 * 1200,
        "busy {busy} vs ops {total}"
    );
    let (out, functional, _) = run(SCENARIO, &dir, "f", &["--set", "run.mode=functional"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        functional.expect("a report"),
        r,
        "functional runs take the same time"
    );
}
