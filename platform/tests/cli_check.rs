//! `treta-vp check`, `presets` and `schema` through the binary: every bundled
//! scenario checks; every broken scenario of `tests/bad_scenarios/` gives exit 2 and
//! a message with the place at fault, never a panic.

mod common;

use common::{repo_root, text, treta_vp};

#[test]
fn every_bundled_scenario_checks() {
    let mut n = 0;
    for entry in std::fs::read_dir(repo_root().join("scenarios")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let rel = path
                .strip_prefix(repo_root())
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let out = treta_vp(&["check", &rel]);
            assert!(out.status.success(), "{rel}: {}", text(&out.stderr));
            assert!(text(&out.stdout).contains(": ok"));
            n += 1;
        }
    }
    assert!(n >= 3, "found {n} scenarios");
}

#[test]
fn every_broken_scenario_is_exit_2_with_its_place() {
    let dir = repo_root().join("platform/tests/bad_scenarios");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let rel = path
            .strip_prefix(repo_root())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let spec = std::fs::read_to_string(&path).unwrap();
        let out = treta_vp(&["check", &rel]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{rel}: {stderr}");
        assert!(!stderr.contains("panicked"), "{rel} panicked: {stderr}");
        for line in spec.lines() {
            if let Some(want) = line.strip_prefix("# expect: ") {
                assert!(stderr.contains(want), "{rel}: want {want:?} in:\n{stderr}");
            }
            if let Some(at) = line.strip_prefix("# at: ") {
                let place = format!("{rel}:{at}");
                assert!(
                    stderr.contains(&place),
                    "{rel}: want {place:?} in:\n{stderr}"
                );
            }
        }
        assert!(
            stderr.contains(&rel),
            "{rel}: the message names the file:\n{stderr}"
        );
        n += 1;
    }
    assert!(n >= 15, "found {n} broken scenarios");
}

#[test]
fn a_missing_file_is_exit_2() {
    let out = treta_vp(&["check", "scenarios/no_such_file.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("scenarios/no_such_file.yaml: cannot read scenario"),
        "{stderr}"
    );
}

#[test]
fn set_overrides_use_the_same_keys_and_validation() {
    let ok = treta_vp(&[
        "check",
        "scenarios/gemm_single.yaml",
        "--set",
        "platform.gemm.arch=systolic",
        "--set",
        "workload.gemms.0.m=64",
    ]);
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert!(text(&ok.stdout).contains("Systolic"));
    for (set, want) in [
        ("platform.gemm.rowz=3", "unknown field `rowz`"),
        ("platform.gemm.rows=0", "must be an integer from 1"),
        ("platform.gemm.arch=rigid", "unknown variant `rigid`"),
        ("workload.gemms.5.m=1", "index 5 is past the end"),
        ("platform.gemm.rows", "expected KEY=VALUE"),
        ("platform..rows=1", "bad key"),
    ] {
        let out = treta_vp(&["check", "scenarios/gemm_single.yaml", "--set", set]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--set {set}: {stderr}");
        assert!(stderr.contains(&format!("--set {set}")), "{stderr}");
        assert!(
            stderr.contains(want),
            "--set {set}: want {want:?} in {stderr}"
        );
    }
}

#[test]
fn every_preset_parameter_can_be_overridden() {
    let out = treta_vp(&["presets"]);
    let stdout = text(&out.stdout);
    let treta = stdout.split("\n\n").next().unwrap();
    for line in treta
        .lines()
        .skip(1)
        .filter(|l| !l.trim_start().starts_with("=>"))
    {
        let key = line.split_whitespace().next().unwrap();
        let value = line.split_whitespace().nth(1).unwrap();
        let set = format!("platform.{key}={value}");
        let out = treta_vp(&["check", "scenarios/gemm_single.yaml", "--set", &set]);
        assert!(out.status.success(), "--set {set}: {}", text(&out.stderr));
    }
}

#[test]
fn presets_lists_units_and_sources() {
    let out = treta_vp(&["presets"]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(stdout.contains("treta — "));
    assert!(stdout.contains("14.71 TOPS peak"));
    assert!(stdout.contains("clock_mhz") && stdout.contains("MHz"));
    assert!(stdout.contains("guess"));
}

#[test]
fn models_lists_the_zoo_with_parameter_counts() {
    let out = treta_vp(&["models"]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    for (name, params) in [
        ("bert-base", "109514298"),
        ("bert-large", "335174458"),
        ("gpt2 ", "124439808"),
        ("gpt2-medium", "354823168"),
        ("vit-b16", "86567656"),
    ] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} missing: {stdout}"));
        assert!(line.contains(params), "{line}");
    }
    // A decoder is not an encoder layer: the encoder workload refuses it by name.
    let out = treta_vp(&[
        "check",
        "scenarios/bert_base_encoder_step.yaml",
        "--set",
        "workload.model=gpt2",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown encoder model `gpt2`"));
}

#[test]
fn schema_is_json_and_describes_the_keys() {
    let out = treta_vp(&["schema"]);
    assert!(out.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    let text = schema.to_string();
    for key in [
        "workload",
        "gemm_list",
        "dataflow",
        "sim_time_ps",
        "fp8_e4m3",
        "treta",
    ] {
        assert!(text.contains(key), "schema lacks {key}");
    }
}

#[test]
fn bad_command_line_is_exit_2() {
    assert_eq!(treta_vp(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(treta_vp(&["check"]).status.code(), Some(2));
    assert_eq!(treta_vp(&["--help"]).status.code(), Some(0));
}
