//! The firmware SDK's generated files are what the abi crate renders today: the C
//! header, the Python module and the CMSIS-SVD file under `sdk/` are checked in for firmware teams that
//! never build this repository, so a change to the abi must regenerate them
//! (`scripts/export-abi.sh`), and this test fails until it does.

use std::path::Path;

fn checked_in(relative: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    std::fs::read_to_string(root.join(relative))
        .unwrap_or_else(|e| panic!("{relative}: {e}; run scripts/export-abi.sh"))
}

fn assert_fresh(relative: &str, rendered: &str) {
    let on_disk = checked_in(relative);
    if on_disk != rendered {
        let line = on_disk
            .lines()
            .zip(rendered.lines())
            .position(|(a, b)| a != b)
            .map_or_else(|| "its length".to_string(), |i| format!("line {}", i + 1));
        panic!("{relative} is stale (first difference at {line}): run scripts/export-abi.sh");
    }
}

#[test]
fn the_c_header_is_what_the_abi_renders() {
    assert_fresh("sdk/c/include/treta_abi.h", &treta_abi::export::c_header());
}

#[test]
fn the_python_module_is_what_the_abi_renders() {
    assert_fresh(
        "sdk/python/treta_abi.py",
        &treta_abi::export::python_module(),
    );
}

#[test]
fn the_svd_file_is_what_the_abi_renders() {
    assert_fresh(
        "sdk/svd/treta.svd",
        &treta_abi::export::cmsis_svd(treta_vp::soc::map::MMIO_BASE),
    );
}

#[test]
fn export_abi_writes_both_files() {
    let dir = std::env::temp_dir().join(format!("treta-export-abi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (h, svd) = (dir.join("t.h"), dir.join("t.svd"));
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_treta-vp"))
        .arg("export-abi")
        .arg("--c-header")
        .arg(&h)
        .arg("--svd")
        .arg(&svd)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(
        std::fs::read_to_string(&h).unwrap(),
        treta_abi::export::c_header()
    );
    assert!(std::fs::read_to_string(&svd)
        .unwrap()
        .contains("<name>TRETA</name>"));
    let missing = std::process::Command::new(env!("CARGO_BIN_EXE_treta-vp"))
        .args(["export-abi", "--c-header", "/nonexistent-dir/t.h"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent-dir/t.h"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_svd_file_parses_and_lists_the_registers_at_their_offsets() {
    let text = checked_in("sdk/svd/treta.svd");
    let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
    let child_text = |n: roxmltree::Node, tag: &str| {
        n.children()
            .find(|c| c.has_tag_name(tag))
            .and_then(|c| c.text())
            .unwrap_or_default()
            .to_string()
    };
    let hex = |s: String| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
    let registers = doc
        .descendants()
        .find(|n| n.has_tag_name("registers"))
        .expect("a <registers> element");
    let top: Vec<(String, u64)> = registers
        .children()
        .filter(|n| n.has_tag_name("register"))
        .map(|n| (child_text(n, "name"), hex(child_text(n, "addressOffset"))))
        .collect();
    for r in &treta_abi::regs::GLOBALS {
        assert!(top.contains(&(r.name.to_string(), r.offset)), "{}", r.name);
    }
    let cluster = registers
        .children()
        .find(|n| n.has_tag_name("cluster"))
        .expect("the queue cluster");
    assert_eq!(
        hex(child_text(cluster, "addressOffset")),
        treta_abi::regs::queue::BASE
    );
    assert_eq!(
        child_text(cluster, "dim"),
        treta_abi::regs::QUEUES.to_string()
    );
    let queue_regs = cluster
        .children()
        .filter(|n| n.has_tag_name("register"))
        .count();
    assert_eq!(queue_regs, treta_abi::regs::queue::REGISTERS.len());
}
