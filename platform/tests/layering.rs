//! The layers of ARCHITECTURE.md, checked on the workspace's manifests: every
//! crate depends (normal, dev or build) only on crates of lower layers, and the
//! firmware's two crates on `treta-abi` alone — the lowering never on the driver.
//! The remote client (`treta-remote`) sits on the driver: it is the driver's
//! `Hal` over a socket, so firmware written against the driver runs out of process.

use std::collections::BTreeMap;
use std::path::Path;

/// Crate folder, crate name, layer (a crate may use only lower layers).
const LAYERS: [(&str, &str, u32); 9] = [
    ("kernel", "treta-kernel", 0),
    ("abi", "treta-abi", 0),
    ("golden", "treta-golden", 0),
    ("numerics", "treta-numerics", 1),
    ("models", "treta-models", 2),
    ("firmware/driver", "treta-driver", 2),
    ("firmware/lower", "treta-lower", 2),
    ("remote", "treta-remote", 3),
    ("platform", "treta-vp", 4),
];

/// The workspace crates a manifest names in any dependency table.
fn workspace_deps(manifest: &str) -> Vec<String> {
    let mut in_deps = false;
    let mut deps = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_deps = line.ends_with("dependencies]");
            continue;
        }
        let name = line.split(['=', '.', ' ']).next().unwrap_or("");
        if in_deps && name.starts_with("treta-") {
            deps.push(name.to_string());
        }
    }
    deps
}

#[test]
fn crates_depend_only_on_lower_layers_and_firmware_only_on_the_abi() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let layer: BTreeMap<&str, u32> = LAYERS.iter().map(|&(_, n, l)| (n, l)).collect();
    let workspace = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    for (dir, name, own) in LAYERS {
        assert!(
            workspace.contains(&format!("\"{dir}\"")),
            "{dir} is not a workspace member: LAYERS is out of date"
        );
        let manifest = std::fs::read_to_string(root.join(dir).join("Cargo.toml")).unwrap();
        assert!(manifest.contains(&format!("name = \"{name}\"")), "{dir}");
        for dep in workspace_deps(&manifest) {
            let Some(&theirs) = layer.get(dep.as_str()) else {
                panic!("{name} depends on {dep}, which has no layer in this test");
            };
            assert!(
                theirs < own,
                "{name} (layer {own}) depends on {dep} (layer {theirs})"
            );
            if dir.starts_with("firmware/") {
                assert_eq!(dep, "treta-abi", "{name} may depend on treta-abi only");
            }
        }
    }
}

#[test]
fn the_manifest_reader_sees_every_kind_of_dependency() {
    let manifest = "[package]\nname = \"treta-x\"\n[dependencies]\ntreta-abi.workspace = true\n\
                    serde = \"1\"\n[dev-dependencies]\ntreta-golden = { path = \"../golden\" }\n";
    assert_eq!(workspace_deps(manifest), ["treta-abi", "treta-golden"]);
}
