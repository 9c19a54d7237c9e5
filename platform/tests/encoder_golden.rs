//! A training step of an encoder layer on the platform against JAX: the golden
//! `tiny` and `small` layers pass in functional mode, every tensor within the
//! golden rule; a wrong step (another learning rate) fails with exit 1 naming the
//! tensors that are off.

mod common;

use common::{out_dir, run, text};

#[test]
fn tiny_and_small_layers_match_jax_tensor_by_tensor() {
    let dir = out_dir("encoder_golden");
    for name in ["tiny", "small"] {
        let path = format!("scenarios/encoder_{name}_golden.yaml");
        let (out, report, _) = run(&path, &dir, name, &[]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", text(&out.stderr));
        let g = &report.expect("a report")["golden"];
        assert_eq!(g["pass"], true, "{name}");
        let tensors = g["tensors"].as_array().unwrap();
        let names: Vec<&str> = tensors
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        // Everything the issue names: output, loss, every parameter's gradient and
        // the input's, and the SGD-updated parameters.
        for want in [
            "output.y",
            "output.loss",
            "grad.input.x",
            "grad.layer.attn.wq",
            "grad.layer.ln2.beta",
            "grad.layer.ffn.b1",
            "sgd.layer.ffn.w2",
            "sgd.layer.ln1.gamma",
        ] {
            assert!(names.contains(&want), "{name}: {want} not compared");
        }
        assert!(tensors.len() >= 50, "{name}: {} tensors", tensors.len());
        for t in tensors {
            let err = t["max_abs_err"].as_f64().unwrap();
            assert!(err <= t["tolerance"].as_f64().unwrap(), "{t}");
            assert_eq!(t["tol"], t["tolerance"], "BRIEF §10 names it tol");
        }
    }
}

#[test]
fn a_wrong_step_fails_with_exit_1_naming_the_tensors() {
    let dir = out_dir("encoder_golden_wrong");
    let (out, report, _) = run(
        "scenarios/encoder_tiny_golden.yaml",
        &dir,
        "wrong",
        &["--set", "workload.lr=0.02"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("FAILED") && stderr.contains("sgd.layer."),
        "{stderr}"
    );
    let g = &report.expect("a report")["golden"];
    assert_eq!(g["pass"], false);
    // The gradients do not depend on the learning rate: only the updates fail —
    // all but the key bias's, whose gradient is zero (softmax ignores it).
    for t in g["tensors"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        let changed = name.starts_with("sgd.") && name != "sgd.layer.attn.bk";
        assert_eq!(t["pass"].as_bool(), Some(!changed), "{name}");
    }
}

#[test]
fn the_plan_dump_lists_every_operation_with_its_cost() {
    let out = common::treta_vp(&[
        "check",
        "scenarios/encoder_small_golden.yaml",
        "--explain-plan",
        "--set",
        "workload.formats.gradients=fp8_e5m2",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let dump = text(&out.stdout);
    for want in [
        "| fwd.q_proj | gemm | 64×64×64",
        // The softmax rides in the score GEMMs (scores kept: a golden run),
        // the heads' GEMMs in one pipeline.
        "| fwd.qk_t | gemm | 32×16×32, Bᵀ, 8 GEMMs in one pipeline",
        "epilogue store + softmax;",
        "epilogue store + softmax' + store + scale;",
        "| bwd.ffn2.wgrad | gemm | 256×64×64, Aᵀ",
        "fp32 × fp8_e5m2",
        "SGD update fused",
        "| sgd.layer.ffn.b1 | sfu | vector.sgd_update 1×256",
        "In all: ",
    ] {
        assert!(dump.contains(want), "no {want:?} in {dump}");
    }
    // The weight matrices' updates are in their dW GEMMs, unless asked not to be.
    assert!(!dump.contains("| sgd.layer.ffn.w1 |"));
    let out = common::treta_vp(&[
        "check",
        "scenarios/encoder_small_golden.yaml",
        "--explain-plan",
        "--set",
        "workload.fuse_update=false",
    ]);
    let separate = text(&out.stdout);
    assert!(separate.contains("| sgd.layer.ffn.w1 | sfu | vector.sgd_update 64×256"));
    assert!(!separate.contains("SGD update fused"));
    let out = common::treta_vp(&[
        "check",
        "scenarios/encoder_small_golden.yaml",
        "--explain-plan",
        "--set",
        "workload.fuse_epilogues=false",
    ]);
    let passes = text(&out.stdout);
    assert!(passes.contains("| fwd.softmax | sfu | softmax_fwd 256×32"));
    assert!(passes.contains("| bwd.softmax.scale | sfu |"));
    // One line per operation, with positive descriptor counts.
    let rows: Vec<&str> = dump
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| #"))
        .collect();
    // (A batch of per-head GEMMs is one operation.)
    assert!(rows.len() > 40, "{} operations", rows.len());
}

#[test]
fn pipelined_operations_overlap_dma_and_stay_exact() {
    // A 64 KiB SRAM makes every GEMM and row operation several tiles; pipelined
    // (the default), the loads, the GEMM or SFU commands and the stores run in
    // three queues, ordered by semaphores.
    let dir = out_dir("encoder_overlap");
    let (out, report, trace) = run(
        "scenarios/encoder_small_golden.yaml",
        &dir,
        "overlap",
        &["--set", "platform.sram.bytes=65536"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(report.expect("a report")["golden"]["pass"], true);
    let doc: serde_json::Value = serde_json::from_str(&trace.expect("a trace")).unwrap();
    let events = doc["traceEvents"].as_array().unwrap();
    let tid = |name: &str| {
        events
            .iter()
            .find(|e| e["ph"] == "M" && e["args"]["name"] == name)
            .map(|e| e["tid"].clone())
            .unwrap_or_else(|| panic!("no {name} track"))
    };
    let spans = |name: &str| -> Vec<(f64, f64)> {
        let t = tid(name);
        events
            .iter()
            .filter(|e| e["ph"] == "X" && e["tid"] == t)
            .map(|e| {
                let ts = e["ts"].as_f64().unwrap();
                (ts, ts + e["dur"].as_f64().unwrap())
            })
            .collect()
    };
    let busy_together = |a: &[(f64, f64)], b: &[(f64, f64)]| -> f64 {
        a.iter()
            .flat_map(|&(s, e)| b.iter().map(move |&(c, d)| (e.min(d) - s.max(c)).max(0.0)))
            .sum()
    };
    let (gemm, sfu, dma) = (spans("gemm"), spans("sfu"), spans("dma"));
    assert!(
        busy_together(&gemm, &dma) > 0.0,
        "the GEMM core and the DMA never work at the same time"
    );
    assert!(
        busy_together(&sfu, &dma) > 0.0,
        "the SFU and the DMA never work at the same time"
    );
}

#[test]
fn a_platform_too_small_for_the_step_is_a_clear_error() {
    for (set, want) in [
        (
            "platform.sram.bytes=256",
            "fwd.q_proj: pipelined 1x1x1 tiles need 384 bytes (two A and B buffers, one C and 1 more for its epilogue), more than the 256-byte SRAM",
        ),
        (
            "platform.dram.bytes=16800000",
            "the tensors do not fit in DRAM (at layer.ffn.w1",
        ),
    ] {
        let out = common::treta_vp(&[
            "run",
            "scenarios/encoder_tiny_golden.yaml",
            "--set",
            set,
        ]);
        assert_eq!(out.status.code(), Some(2), "{set}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(want), "{set}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
