//! `--dump-tensors`: a functional training step writes every tensor it produced
//! as `.npy`, named as in the golden manifests; and a golden directory that lists
//! only inputs and parameters is valid — the run computes everything, compares
//! nothing, and the dump holds what JAX computed (within the golden rule).

mod common;

use common::{out_dir, repo_root, text, treta_vp};
use treta_golden::GoldenDir;

#[test]
fn inputs_only_golden_runs_and_the_dump_matches_jax() {
    inputs_only_run_dumps_what_jax_computed(
        "tiny",
        "encoder_training_step",
        &[
            "output.y",
            "output.loss",
            "grad.input.x",
            "sgd.layer.ffn.w1",
        ],
        50,
    );
}

#[test]
fn an_inputs_only_language_model_runs_and_its_dump_matches_jax() {
    inputs_only_run_dumps_what_jax_computed(
        "gpt_tiny",
        "lm_training_step",
        &[
            "output.loss",
            "output.logits",
            "grad.output.logits",
            "grad.embed.wte",
            "grad.embed.wpe",
            "sgd.embed.wte",
            "grad.layer1.attn.wq",
            "sgd.layer0.ffn.w2",
            "act.layer0.attn.q",
        ],
        150,
    );
}

/// A copy of golden directory `name` with its inputs and parameters only runs
/// as `kind`, compares nothing, and dumps every tensor the full data lists
/// (`want` among them, at least `at_least` of them) shaped and valued as JAX's.
fn inputs_only_run_dumps_what_jax_computed(name: &str, kind: &str, want: &[&str], at_least: usize) {
    let dir = out_dir(&format!("dump_tensors_{name}"));
    let source = repo_root().join("testdata/golden").join(name);
    let full = GoldenDir::open(&source).expect(name);
    // A golden directory with the given tensors only (no max_abs_err_vs_f64).
    let given = dir.join("given");
    std::fs::create_dir_all(&given).unwrap();
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(source.join("manifest.json")).unwrap())
            .unwrap();
    let tensors = manifest["tensors"].as_array_mut().unwrap();
    tensors.retain(|t| t.get("max_abs_err_vs_f64").is_none());
    assert!(
        tensors.len() >= 10,
        "inputs and parameters: {}",
        tensors.len()
    );
    for t in tensors.iter() {
        let file = t["file"].as_str().unwrap();
        std::fs::copy(source.join(file), given.join(file)).unwrap();
    }
    std::fs::write(given.join("manifest.json"), manifest.to_string()).unwrap();
    let scenario = dir.join("step.yaml");
    std::fs::write(
        &scenario,
        format!("workload: {{kind: {kind}, golden: given}}\nrun: {{mode: functional}}\n"),
    )
    .unwrap();
    let (report, dump) = (dir.join("report.json"), dir.join("dump"));
    let out = treta_vp(&[
        "run",
        scenario.to_str().unwrap(),
        "-q",
        "--report",
        report.to_str().unwrap(),
        "--dump-tensors",
        dump.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    assert_eq!(report["golden"]["pass"], true);
    assert_eq!(report["golden"]["tensors"].as_array().unwrap().len(), 0);
    // Every computed tensor of the full golden data is in the dump, shaped as
    // the manifest has it, and within the golden rule.
    let dumped = GoldenDir::open(&dump).expect("the dump reads as a golden directory");
    let mut compared = 0;
    for info in full
        .manifest
        .tensors
        .iter()
        .filter(|t| t.max_abs_err_vs_f64.is_some())
    {
        let Ok(ours) = dumped.tensor(&info.name) else {
            // Golden tensors the lowering keeps in another layout (per-head
            // scores) or not at all are not in the dump.
            continue;
        };
        assert_eq!(ours.shape, info.shape, "{}", info.name);
        let c = full.compare(&info.name, &ours.data).unwrap();
        assert!(c.pass, "{}: {} > {}", info.name, c.max_abs_err, c.tolerance);
        compared += 1;
    }
    for &want in want {
        assert!(dumped.info(want).is_ok(), "{want} not dumped");
    }
    assert!(compared >= at_least, "{compared} tensors compared");
}

#[test]
fn dumping_a_timing_run_is_a_clear_error() {
    let dir = out_dir("dump_tensors_timing");
    let out = treta_vp(&[
        "run",
        "scenarios/bert_base_layer_sfu.yaml",
        "-q",
        "--dump-tensors",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("--dump-tensors needs a functional"),
        "{stderr}"
    );
}

#[test]
fn gradients_an_update_fused_into_its_gemm_did_not_store_are_not_dumped() {
    let dir = out_dir("dump_tensors_fused");
    let scenario = dir.join("step.yaml");
    std::fs::write(
        &scenario,
        "workload: {kind: encoder_training_step, dims: {b: 1, s: 4, d: 8, h: 2, f: 16}}\nrun: {mode: functional}\n",
    )
    .unwrap();
    for (keep, dump) in [("false", "fused"), ("true", "kept")] {
        let dump = dir.join(dump);
        let out = treta_vp(&[
            "run",
            scenario.to_str().unwrap(),
            "-q",
            "--set",
            &format!("workload.keep_gradients={keep}"),
            "--dump-tensors",
            dump.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let dumped = GoldenDir::open(&dump).unwrap();
        assert!(dumped.info("sgd.layer.attn.wq").is_ok());
        assert!(
            dumped.info("grad.layer.attn.bq").is_ok(),
            "bias gradients are stored"
        );
        assert_eq!(
            dumped.info("grad.layer.attn.wq").is_ok(),
            keep == "true",
            "keep_gradients={keep}"
        );
    }
}
