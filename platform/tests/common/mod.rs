//! Helpers shared by the CLI tests: run the `treta-vp` binary from the repository root.

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
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
