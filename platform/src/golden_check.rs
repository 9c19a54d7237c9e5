//! A training step against a golden directory: which tensors the host loads
//! into DRAM before the run (inputs and parameters), which it reads back after
//! (everything the run computes that the manifest lists, parameters as their
//! SGD-updated `sgd.<name>`, views in the manifest's element order), and the
//! per-tensor comparison.

use serde::Serialize;
use treta_golden::GoldenDir;
use treta_lower::step::{DramTensor, StepProgram, TensorView};

/// A tensor to load: DRAM address and its bytes.
pub type Load = (u64, Vec<u8>);

/// A tensor to read back: the golden name it is compared with, DRAM address,
/// elements.
pub type Readback = (String, u64, usize);

/// The key bias's gradient (`grad.layer.attn.bk`, and each layer's in a stack)
/// is exactly zero in exact arithmetic — softmax ignores a shift of a query's
/// scores — so its stored values are fp32 rounding noise (golden README): it is
/// held to this absolute tolerance instead of the relative rule.
const NOISE_ONLY_TOLERANCE: f64 = 1e-7;

fn noise_only(name: &str) -> bool {
    name.starts_with("grad.") && name.ends_with("attn.bk")
}

/// What to load before the run: every tensor of `step` that the manifest lists
/// as given (no `max_abs_err_vs_f64`: inputs and parameters).
pub fn loads(golden: &GoldenDir, step: &StepProgram) -> Result<Vec<Load>, String> {
    let mut out = Vec::new();
    for t in &step.tensors {
        let Ok(info) = golden.info(&t.name) else {
            continue;
        };
        if info.max_abs_err_vs_f64.is_some() {
            continue;
        }
        let data = golden.tensor(&t.name).map_err(|e| e.to_string())?.data;
        if data.len() as u64 != t.rows * t.cols {
            return Err(format!(
                "golden `{}` has {} elements, the layer's tensor {}×{}",
                t.name,
                data.len(),
                t.rows,
                t.cols
            ));
        }
        out.push((t.addr, data.iter().flat_map(|v| v.to_le_bytes()).collect()));
    }
    Ok(out)
}

/// The name of `t`'s contents after the run: a parameter, updated in place, is
/// its `sgd.<name>` (`momentum.`, `adam.` with those optimizers); every other
/// tensor its own name.
pub fn result_name(step: &StepProgram, t: &DramTensor) -> String {
    if step.parameters.contains(&t.name) {
        format!("{}.{}", step.optimizer.name(), t.name)
    } else {
        t.name.clone()
    }
}

/// What to read back after the run, named as in the manifest: the tensors it
/// lists as computed, then the views of them the step holds (rearranged by
/// [`arrange`] once read).
pub fn readbacks(golden: &GoldenDir, step: &StepProgram) -> Vec<Readback> {
    let computed = |name: &str| {
        golden
            .info(name)
            .is_ok_and(|i| i.max_abs_err_vs_f64.is_some())
    };
    let tensors = step.tensors.iter().filter_map(|t| {
        let name = result_name(step, t);
        computed(&name).then(|| (name, t.addr, (t.rows * t.cols) as usize))
    });
    let views = step
        .views
        .iter()
        .filter(|v| computed(&v.name))
        .filter_map(|v| view_readback(step, v));
    tensors.chain(views).collect()
}

/// The read-back of view `v`: its source tensor, under the view's name.
pub fn view_readback(step: &StepProgram, v: &TensorView) -> Option<Readback> {
    step.tensor(&v.source)
        .map(|t| (v.name.clone(), t.addr, (t.rows * t.cols) as usize))
}

/// `results` with every view's values put in its reference order.
pub fn arrange(step: &StepProgram, results: Vec<(String, Vec<f32>)>) -> Vec<(String, Vec<f32>)> {
    results
        .into_iter()
        .map(|(name, values)| {
            let values = arrange_one(step, &name, values);
            (name, values)
        })
        .collect()
}

/// The values read back for `name`, in its reference order if it is a view.
pub fn arrange_one(step: &StepProgram, name: &str, values: Vec<f32>) -> Vec<f32> {
    match step.views.iter().find(|v| v.name == name) {
        Some(v) => v.layout.arrange(&values),
        None => values,
    }
}

/// One tensor compared.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TensorCheck {
    /// Golden name.
    pub name: String,
    /// max |ours − golden|.
    pub max_abs_err: f64,
    /// The tolerance it was held to.
    pub tolerance: f64,
    /// The same, under the name BRIEF §10 gives scripts (`tol`).
    pub tol: f64,
    /// Within it.
    pub pass: bool,
}

/// The comparison with a golden directory.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct GoldenReport {
    /// The directory.
    pub dir: String,
    /// Every tensor within its tolerance.
    pub pass: bool,
    /// Whether a tensor off fails the run (`golden_check: strict`).
    pub strict: bool,
    /// Per tensor, in the run's order.
    pub tensors: Vec<TensorCheck>,
    /// The tensors the manifest lists as computed that this run does not hold,
    /// each with the reason.
    pub not_compared: Vec<Uncompared>,
}

/// A reference tensor the run has no counterpart of.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Uncompared {
    /// Golden name.
    pub name: String,
    /// Why the run does not hold it.
    pub why: String,
}

/// Why the run holds no counterpart of computed tensor `name`.
fn why_not_held(name: &str) -> String {
    let optimizer = ["sgd.", "momentum.", "adam."]
        .into_iter()
        .find(|p| name.starts_with(p));
    if let Some(prefix) = optimizer {
        format!(
            "another optimizer's result: run with workload.optimizer.kind: {}",
            prefix.trim_end_matches('.')
        )
    } else if name.ends_with(".xhat") {
        "LayerNorm forward keeps each row's mean and rstd (compared), not x̂".into()
    } else if name.ends_with("attn.scores") && !name.starts_with("grad.") {
        "the device keeps q·kᵀ unscaled (the softmax applies the scale and the mask)".into()
    } else {
        "the step does not hold it in this layout".into()
    }
}

/// Compares the read-back `results` with `golden` under its tolerance rule.
pub fn compare(golden: &GoldenDir, dir: &str, results: &[(String, Vec<f32>)]) -> GoldenReport {
    let tensors: Vec<TensorCheck> = results
        .iter()
        .map(|(name, got)| {
            let tolerance = if noise_only(name) {
                NOISE_ONLY_TOLERANCE
            } else {
                golden
                    .info(name)
                    .ok()
                    .and_then(|i| i.tolerance())
                    .unwrap_or(0.0)
            };
            let reference = golden.tensor(name).map(|t| t.data);
            match reference.map_err(|e| e.to_string()).and_then(|r| {
                treta_golden::compare(name, got, &r, tolerance).map_err(|e| e.to_string())
            }) {
                Ok(c) => TensorCheck {
                    name: name.clone(),
                    max_abs_err: c.max_abs_err,
                    tolerance,
                    tol: tolerance,
                    pass: c.pass,
                },
                Err(_) => TensorCheck {
                    name: name.clone(),
                    max_abs_err: f64::INFINITY,
                    tolerance,
                    tol: tolerance,
                    pass: false,
                },
            }
        })
        .collect();
    let not_compared = golden
        .manifest
        .tensors
        .iter()
        .filter(|t| t.max_abs_err_vs_f64.is_some() && !tensors.iter().any(|c| c.name == t.name))
        .map(|t| Uncompared {
            name: t.name.clone(),
            why: why_not_held(&t.name),
        })
        .collect();
    GoldenReport {
        dir: dir.to_string(),
        pass: tensors.iter().all(|t| t.pass),
        strict: true,
        tensors,
        not_compared,
    }
}
