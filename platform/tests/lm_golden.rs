//! A whole language model's training step on the platform against JAX: the
//! golden `gpt_tiny` and `gpt_small` GPT-style models (embeddings, causal
//! pre-LN decoders, final LayerNorm, tied head, cross-entropy) pass tensor by
//! tensor in functional mode with SGD and with Adam; what the run does not hold
//! is listed with its reason; bad batches and shapes are exit-2 errors naming
//! the tensor and index.

mod common;

use common::{out_dir, repo_root, run, text, treta_vp};
use serde_json::Value;

/// The golden report of `scenario` with `extra` arguments, and whether the run
/// passed (exit 0) or failed the comparison (exit 1).
fn golden_run(scenario: &str, tag: &str, extra: &[&str]) -> Value {
    let dir = out_dir(&format!("lm_golden_{tag}"));
    let (out, report, _) = run(scenario, &dir, tag, extra);
    let g = report.expect("a report")["golden"].clone();
    let code = if g["pass"] == true { 0 } else { 1 };
    assert_eq!(
        out.status.code(),
        Some(code),
        "{tag}: {}",
        text(&out.stderr)
    );
    g
}

/// The worst error of tensor `name` in a golden report.
fn error_of(g: &Value, name: &str) -> f64 {
    g["tensors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .and_then(|t| t["max_abs_err"].as_f64())
        .unwrap_or_else(|| panic!("{name} not compared"))
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn gpt_tiny_and_gpt_small_match_jax_with_sgd_and_with_adam() {
    for name in ["gpt_tiny", "gpt_small"] {
        let scenario = format!("scenarios/{name}_golden.yaml");
        let sgd = golden_run(&scenario, &format!("{name}.sgd"), &[]);
        assert_eq!(sgd["pass"], true, "{name}");
        let adam = golden_run(
            &scenario,
            &format!("{name}.adam"),
            &[
                "--set",
                "workload.optimizer.kind=adam",
                "--set",
                "workload.lr=0.001",
            ],
        );
        // Everything but the Adam steps is the SGD run's; an Adam step within
        // its tolerance, or off by no more than the conditioning the manifest
        // states — lr·(error of its gradient)/ε, as an element with |g| near ε
        // turns a gradient's rounding into up to lr·err/ε of step.
        for t in adam["tensors"].as_array().unwrap() {
            let n = t["name"].as_str().unwrap();
            let err = t["max_abs_err"].as_f64().unwrap();
            if t["pass"] == true {
                continue;
            }
            let param = n
                .strip_prefix("adam.")
                .unwrap_or_else(|| panic!("{name}: {n} off"));
            let bound = 1e-3 * error_of(&sgd, &format!("grad.{param}")) / 1e-8;
            assert!(
                err <= bound,
                "{name}: {n} off by {err}, conditioning allows {bound}"
            );
        }
        if name == "gpt_tiny" {
            assert_eq!(
                adam["pass"], true,
                "gpt_tiny's Adam steps are all within tolerance"
            );
        }
        let (sgd_names, adam_names) = (names(&sgd["tensors"]), names(&adam["tensors"]));
        for want in [
            "output.loss",
            "output.logits",
            "grad.output.logits",
            "act.embed.out",
            "act.layer1.attn.probs",
            "act.layer0.attn.q",
            "act.final_ln.rstd",
            "grad.act.embed.out",
            "grad.embed.wte",
            "grad.embed.wpe",
            "grad.layer0.attn.wk",
            "grad.layer1.ffn.b2",
            "grad.final_ln.gamma",
            "sgd.embed.wte",
            "sgd.layer1.ln2.beta",
        ] {
            assert!(
                sgd_names.iter().any(|n| n == want),
                "{name}: {want} not compared"
            );
        }
        assert!(
            adam_names.iter().any(|n| n == "adam.layer0.attn.wq"),
            "{name}"
        );
        // Every tensor the manifest lists is compared in one of the two runs but
        // for the LayerNorms' x̂ and the masked, scaled scores, which the device
        // does not keep (the report says so).
        let manifest: Value = serde_json::from_str(
            &std::fs::read_to_string(
                repo_root().join(format!("testdata/golden/{name}/manifest.json")),
            )
            .unwrap(),
        )
        .unwrap();
        for t in manifest["tensors"].as_array().unwrap() {
            let n = t["name"].as_str().unwrap();
            if t.get("max_abs_err_vs_f64").is_none() {
                continue;
            }
            let compared = sgd_names.iter().chain(&adam_names).any(|c| c == n);
            let unheld =
                n.ends_with(".xhat") || n.ends_with("attn.scores") && n.starts_with("act.");
            assert_eq!(compared, !unheld, "{name}: {n}");
        }
        let why: Vec<String> = sgd["not_compared"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["why"].as_str().unwrap().to_string())
            .collect();
        assert!(
            why.iter().any(|w| w.contains("optimizer.kind: adam")),
            "{why:?}"
        );
    }
}

#[test]
fn a_wrong_learning_rate_fails_only_the_updates() {
    let dir = out_dir("lm_golden_wrong");
    let (out, report, _) = run(
        "scenarios/gpt_tiny_golden.yaml",
        &dir,
        "wrong",
        &["--set", "workload.lr=0.02"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    for t in report.unwrap()["golden"]["tensors"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        let changed = name.starts_with("sgd.") && !name.ends_with("attn.bk");
        assert_eq!(t["pass"].as_bool(), Some(!changed), "{name}");
    }
}

/// Runs `yaml` (written as `tag`.yaml in `dir`) with `run` and `check`, which
/// must fail alike: the exit code and stderr.
fn check_error(dir: &std::path::Path, tag: &str, yaml: &str) -> (Option<i32>, String) {
    let path = dir.join(format!("{tag}.yaml"));
    std::fs::write(&path, yaml).unwrap();
    let out = treta_vp(&["run", path.to_str().unwrap(), "-q"]);
    // `check` lowers the workload too: it finds the same error without running.
    let checked = treta_vp(&["check", path.to_str().unwrap()]);
    assert_eq!(
        checked.status.code(),
        out.status.code(),
        "{tag}: check and run differ"
    );
    assert_eq!(text(&checked.stderr), text(&out.stderr), "{tag}");
    (out.status.code(), text(&out.stderr))
}

#[test]
fn a_token_id_out_of_range_names_the_tensor_and_index() {
    // gpt_tiny with input.tokens[1, 3] set past the vocabulary (V = 64).
    let dir = out_dir("lm_errors_tokens");
    let source = repo_root().join("testdata/golden/gpt_tiny");
    let bad = dir.join("bad_tokens");
    std::fs::create_dir_all(&bad).unwrap();
    for entry in std::fs::read_dir(&source).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), bad.join(entry.file_name())).unwrap();
    }
    let npy = bad.join("input.tokens.npy");
    let mut bytes = std::fs::read(&npy).unwrap();
    let at = bytes.len() - 16 * 4 + (8 + 3) * 4;
    bytes[at..at + 4].copy_from_slice(&70i32.to_le_bytes());
    std::fs::write(&npy, bytes).unwrap();
    let (code, stderr) = check_error(
        &dir,
        "bad_tokens",
        "workload: {kind: lm_training_step, golden: bad_tokens}\nrun: {mode: functional}\n",
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("workload.golden") && stderr.contains("input.tokens[1, 3] = 70"),
        "{stderr}"
    );
}

#[test]
fn a_sequence_longer_than_the_positions_and_a_model_too_big_for_the_dram_are_errors() {
    let dir = out_dir("lm_errors_shapes");
    let (code, stderr) = check_error(
        &dir,
        "long",
        "workload: {kind: lm_training_step, model: gpt2, seq: 1025}\n",
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("workload.seq") && stderr.contains("embed.wpe has 1024 rows"),
        "{stderr}"
    );
    // GPT-2's 50,257 × 768 fp32 token table alone does not fit 128 MiB.
    let (code, stderr) = check_error(
        &dir,
        "small_dram",
        "platform: {preset: treta, dram: {bytes: 134217728}}\nworkload: {kind: lm_training_step, model: gpt2, layers: 1, seq: 64}\n",
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("do not fit in DRAM (at embed.wte"),
        "{stderr}"
    );
    let (code, stderr) = check_error(
        &dir,
        "unknown_model",
        "workload: {kind: lm_training_step, model: gpt5}\n",
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("workload.model") && stderr.contains("`gpt5` is not a model of the zoo"),
        "{stderr}"
    );
    // A ViT sequence is the class token and at least one patch.
    let (code, stderr) = check_error(
        &dir,
        "vit_no_patches",
        "workload: {kind: lm_training_step, model: vit-b16, seq: 1, layers: 1}\n",
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("at least one patch"), "{stderr}");
}
