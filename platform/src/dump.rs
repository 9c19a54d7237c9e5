//! `--dump-tensors DIR`: every fp32 tensor a functional training run leaves in
//! DRAM, written as `.npy` files named as in the golden manifests (parameters as
//! their updated `sgd.<name>`), with a `manifest.json` listing them — so any
//! tool (NumPy, JAX) can check the results without the golden data.

use crate::golden_check::{result_name, view_readback, Readback};
use std::path::Path;
use treta_abi::NumberFormat;
use treta_lower::step::{EncoderDims, StepProgram};

/// Every fp32 tensor of `step` that the run writes, under its result name
/// (8-bit weight copies are left out: they are the masters, rounded; so are
/// host inputs such as target ids), then the views the reference names.
pub fn readbacks(step: &StepProgram) -> Vec<Readback> {
    let host_input = |name: &str| step.host_inputs.iter().any(|h| h.name == name);
    step.tensors
        .iter()
        .filter(|t| {
            t.format == NumberFormat::Fp32
                && !step.unstored.contains(&t.name)
                && !host_input(&t.name)
        })
        .map(|t| (result_name(step, t), t.addr, (t.rows * t.cols) as usize))
        .chain(step.views.iter().filter_map(|v| view_readback(step, v)))
        .collect()
}

/// Writes `tensors` into `dir` (created if needed), one `NAME.npy` each in its
/// logical shape (see [`logical_shape`]), and `manifest.json`.
pub fn write(
    dir: &Path,
    tensors: impl IntoIterator<Item = (String, Vec<f32>)>,
    step: &StepProgram,
    dims: &EncoderDims,
) -> Result<(), String> {
    let fail = |what: &Path, e: &dyn std::fmt::Display| format!("{}: {e}", what.display());
    std::fs::create_dir_all(dir).map_err(|e| fail(dir, &e))?;
    let mut entries = Vec::new();
    for (name, data) in tensors {
        let updated = name
            .strip_prefix(step.optimizer.name())
            .and_then(|n| n.strip_prefix('.'));
        let stored = step.tensor(updated.unwrap_or(&name));
        let (rows, cols) = stored.map_or((1, data.len()), |t| (t.rows as usize, t.cols as usize));
        let shape = logical_shape(&name, (rows, cols), dims);
        let file = format!("{name}.npy");
        let path = dir.join(&file);
        treta_golden::write_npy_f32(&path, &shape, &data).map_err(|e| e.to_string())?;
        entries.push(serde_json::json!({
            "name": name,
            "file": file,
            "shape": shape,
            "dtype": "float32",
        }));
    }
    let manifest = serde_json::json!({
        "kind": "treta_vp_dump",
        "tensors": entries,
    });
    let path = dir.join("manifest.json");
    std::fs::write(&path, manifest.to_string() + "\n").map_err(|e| fail(&path, &e))
}

/// The shape the golden manifests give the tensor `name` that the lowering
/// stores as `rows × cols`, row-major in the same element order: per-head
/// attention tensors are [B, H, S, ·], per-token ones [B, S, ·] ([B, S] for
/// LayerNorm statistics), a loss [] (one per step when several), vectors
/// [cols], matrices [rows, cols].
pub fn logical_shape(name: &str, (rows, cols): (usize, usize), dims: &EncoderDims) -> Vec<usize> {
    let (b, s, h) = (dims.b as usize, dims.s as usize, dims.h as usize);
    let len = rows * cols;
    let last = name.rsplit('.').next().unwrap_or(name);
    let per_head =
        name.contains("attn.") && ["q", "k", "v", "scores", "probs", "ctx"].contains(&last);
    let per_token = name.contains("act.")
        || name.contains("input.")
        || name.contains("output.y")
        || name.contains("output.logits");
    if name.ends_with("loss") {
        return if len == 1 { Vec::new() } else { vec![len] };
    }
    if per_head && len % (b * h * s) == 0 {
        return vec![b, h, s, len / (b * h * s)];
    }
    if per_token && len % (b * s) == 0 {
        let width = len / (b * s);
        return if width == 1 {
            vec![b, s]
        } else {
            vec![b, s, width]
        };
    }
    if rows == 1 {
        vec![cols]
    } else {
        vec![rows, cols]
    }
}
