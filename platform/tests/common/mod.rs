//! Helpers shared by the CLI tests: run the `treta-vp` binary from the repository root.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (the parent of `platform/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("platform/ has a parent")
        .to_path_buf()
}

/// Runs `treta-vp` with `args` from the repository root.
pub fn treta_vp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_treta-vp"))
        .args(args)
        .current_dir(repo_root())
        .output()
        .expect("the treta-vp binary runs")
}

/// Bytes as text.
#[allow(dead_code)] // not every test binary uses every helper
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh directory under the target dir for this test's outputs.
#[allow(dead_code)] // not every test binary uses every helper
pub fn out_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Runs `scenario`, returning the parsed report and the trace's text.
#[allow(dead_code)]
pub fn run(
    scenario: &str,
    dir: &Path,
    tag: &str,
    extra: &[&str],
) -> (Output, Option<Value>, Option<String>) {
    let report = dir.join(format!("{tag}.report.json"));
    let trace = dir.join(format!("{tag}.trace.json"));
    let mut args = vec![
        "run",
        scenario,
        "--report",
        report.to_str().unwrap(),
        "--trace",
        trace.to_str().unwrap(),
        "-q",
    ];
    args.extend_from_slice(extra);
    let out = treta_vp(&args);
    let report = std::fs::read_to_string(&report)
        .ok()
        .map(|s| serde_json::from_str(&s).expect("report is JSON"));
    let trace = std::fs::read_to_string(&trace).ok();
    (out, report, trace)
}
