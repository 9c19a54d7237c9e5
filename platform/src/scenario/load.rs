//! Reading a scenario file: YAML syntax and types (with file:line:column), `--set`
//! overrides (same paths, same validation), then checks across fields.

use super::types::{CommandOp, CommandSpec, Scenario, SramBufferSpec, SramSpec, WorkloadKind};
use crate::preset::{self, PlatformConfig};
use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use treta_golden::GoldenDir;
use treta_lower::step::EncoderDims;

/// A scenario read and checked, with its resolved platform.
#[derive(Clone, Debug)]
pub struct LoadedScenario {
    /// The file it came from.
    pub path: PathBuf,
    /// The scenario, with `--set` overrides applied.
    pub scenario: Scenario,
    /// The platform: preset plus overrides.
    pub platform: PlatformConfig,
    /// `encoder_training_step`: the layer's dimensions.
    pub encoder: Option<EncoderDims>,
    /// `lm_training_step`: the model and its batch.
    pub lm: Option<super::LoadedLm>,
    /// A training step with `golden`: the directory, its manifest read.
    pub golden: Option<GoldenDir>,
}

impl LoadedScenario {
    /// The scenario's name: its `name`, else the file stem.
    pub fn name(&self) -> String {
        self.scenario.name.clone().unwrap_or_else(|| {
            self.path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "scenario".into())
        })
    }
}

/// Why a scenario cannot be used. Every variant names the place at fault.
#[derive(Debug)]
pub enum ScenarioError {
    /// The file cannot be read.
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// YAML syntax, an unknown key, a wrong type or an out-of-range value.
    Parse {
        /// `file:line:column: message`, with a snippet of the file.
        rendered: String,
    },
    /// A `--set` override that does not apply.
    Set {
        /// The `KEY=VALUE` given.
        assignment: String,
        /// Why.
        message: String,
    },
    /// Fields that are each valid but do not fit together.
    Invalid {
        /// The file.
        path: PathBuf,
        /// Where in the scenario (e.g. `workload.commands[3]`).
        at: String,
        /// Why.
        message: String,
    },
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScenarioError::Io { path, source } => {
                write!(f, "{}: cannot read scenario: {source}", path.display())
            }
            ScenarioError::Parse { rendered } => f.write_str(rendered.trim_end()),
            ScenarioError::Set {
                assignment,
                message,
            } => write!(f, "--set {assignment}: {message}"),
            ScenarioError::Invalid { path, at, message } => {
                write!(f, "{}: {at}: {message}", path.display())
            }
        }
    }
}

impl std::error::Error for ScenarioError {}

/// Reads the scenario at `path`, applies `sets` (`KEY=VALUE`, dotted keys as in the
/// file, e.g. `platform.gemm.rows=32` or `workload.gemms.0.m=64`) and checks it.
pub fn load(path: &Path, sets: &[String]) -> Result<LoadedScenario, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut scenario = parse(&text, &path.display().to_string())?;
    for assignment in sets {
        scenario = apply_set(&scenario, assignment)?;
    }
    check(&scenario, path)?;
    let platform = preset::resolve(&scenario.platform);
    if !platform.dram.channels.is_power_of_two() || platform.dram.channels > 64 {
        return Err(ScenarioError::Invalid {
            path: path.to_path_buf(),
            at: "platform.dram.channels".into(),
            message: format!(
                "{} channels: the address mapping needs a power of two from 1 to 64",
                platform.dram.channels
            ),
        });
    }
    if let Err(message) = treta_numerics::sfu::Hardware::new(platform.sfu.hardware_params()) {
        return Err(ScenarioError::Invalid {
            path: path.to_path_buf(),
            at: "platform.sfu".into(),
            message,
        });
    }
    if platform.macs() > u64::from(u32::MAX) {
        return Err(ScenarioError::Invalid {
            path: path.to_path_buf(),
            at: "platform.gemm".into(),
            message: format!("rows × cols = {} PEs: at most 2^32 − 1", platform.macs()),
        });
    }
    let group = u64::from(platform.gemm.group);
    if platform.gemm.arch == super::GemmArch::Flexible
        && !platform.macs().is_multiple_of(group * group)
    {
        return Err(ScenarioError::Invalid {
            path: path.to_path_buf(),
            at: "platform.gemm.group".into(),
            message: format!(
                "the flexible engine's {} PEs (rows × cols) do not divide into groups of {group}×{group}",
                platform.macs()
            ),
        });
    }
    if let Some(buffers) = &scenario.platform.sram.buffers {
        check_buffers(buffers, &scenario.platform.sram, path)?;
    }
    if let Err(message) = platform.dram.spec() {
        return Err(ScenarioError::Invalid {
            path: path.to_path_buf(),
            at: "platform.dram.refresh".into(),
            message,
        });
    }
    let (encoder, lm, golden) = if scenario.workload.kind == WorkloadKind::LmTrainingStep {
        let golden = golden_of(&scenario, path)?;
        let (lm, golden) = super::lm::lm_of(&scenario, path, golden)?;
        (None, Some(lm), golden)
    } else {
        let (encoder, golden) = encoder_of(&scenario, path)?;
        (encoder, None, golden)
    };
    Ok(LoadedScenario {
        path: path.to_path_buf(),
        scenario,
        platform,
        encoder,
        lm,
        golden,
    })
}

/// The scenario's golden directory, opened (relative to the scenario file).
fn golden_of(s: &Scenario, path: &Path) -> Result<Option<GoldenDir>, ScenarioError> {
    let Some(dir) = &s.workload.golden else {
        return Ok(None);
    };
    let dir = path.parent().unwrap_or(Path::new(".")).join(dir);
    GoldenDir::open(&dir)
        .map(Some)
        .map_err(|e| ScenarioError::Invalid {
            path: path.to_path_buf(),
            at: "workload.golden".into(),
            message: e.to_string(),
        })
}

/// The layer dimensions and golden directory of an `encoder_training_step`.
fn encoder_of(
    s: &Scenario,
    path: &Path,
) -> Result<(Option<EncoderDims>, Option<GoldenDir>), ScenarioError> {
    let w = &s.workload;
    let invalid = |at: &str, message: String| ScenarioError::Invalid {
        path: path.to_path_buf(),
        at: at.to_string(),
        message,
    };
    if w.kind != WorkloadKind::EncoderTrainingStep {
        for (key, set) in [
            ("model", w.model.is_some()),
            ("dims", w.dims.is_some()),
            ("golden", w.golden.is_some()),
            ("lr", w.lr.is_some()),
            ("optimizer", w.optimizer.is_some()),
            ("gemm_format", w.gemm_format.is_some()),
            ("steps", w.steps.is_some()),
            ("formats", w.formats.is_some()),
            ("layers", w.layers.is_some()),
            ("overlap", w.overlap.is_some()),
            ("recompute", w.recompute.is_some()),
            ("weight_copies", w.weight_copies.is_some()),
            ("fuse_update", w.fuse_update.is_some()),
            ("fuse_epilogues", w.fuse_epilogues.is_some()),
            ("keep_gradients", w.keep_gradients.is_some()),
            ("golden_check", w.golden_check.is_some()),
            ("batch", w.batch.is_some()),
            ("seq", w.seq.is_some()),
            ("vocab_tile", w.vocab_tile.is_some()),
        ] {
            if set {
                return Err(invalid(
                    &format!("workload.{key}"),
                    "only a training step (`encoder_training_step`, `lm_training_step`) takes it"
                        .into(),
                ));
            }
        }
        return Ok((None, None));
    }
    if w.vocab_tile.is_some() {
        return Err(invalid(
            "workload.vocab_tile",
            "only an `lm_training_step` takes it".into(),
        ));
    }
    let golden = golden_of(s, path)?;
    let from_golden = golden.as_ref().and_then(|g| {
        let c = &g.manifest.config;
        let dim = |k: &str| {
            c.get(k)
                .and_then(|v| v.as_u64())
                .and_then(|v| u32::try_from(v).ok())
        };
        Some(EncoderDims {
            b: dim("B")?,
            s: dim("S")?,
            d: dim("D")?,
            h: dim("H")?,
            f: dim("F")?,
        })
    });
    let dims = match (&w.model, &w.dims) {
        (Some(_), Some(_)) => {
            return Err(invalid("workload.dims", "give `model` or `dims`, not both".into()))
        }
        (Some(name), None) => EncoderDims::named(name).map(|d| EncoderDims {
            b: w.batch.map_or(d.b, |b| b.get()),
            s: w.seq.map_or(d.s, |s| s.get()),
            ..d
        }).ok_or_else(|| {
            invalid(
                "workload.model",
                format!(
                    "unknown encoder model `{name}` (bert-base, bert-large, vit-b16; \
                     `treta-vp models` lists the zoo)"
                ),
            )
        })?,
        (None, Some(_)) if w.batch.is_some() || w.seq.is_some() => {
            return Err(invalid(
                "workload.batch",
                "`batch` and `seq` go with `model`; `dims` gives b and s itself".into(),
            ))
        }
        (None, Some(d)) => EncoderDims {
            b: d.b.get(),
            s: d.s.get(),
            d: d.d.get(),
            h: d.h.get(),
            f: d.f.get(),
        },
        (None, None) => from_golden.ok_or_else(|| {
            invalid(
                "workload",
                "an encoder_training_step needs `model`, `dims` or a `golden` directory whose manifest gives B, S, D, H, F".into(),
            )
        })?,
    };
    if let (Some(g), true) = (from_golden, golden.is_some()) {
        if g != dims {
            return Err(invalid(
                "workload.dims",
                format!("{dims:?} differs from the golden data's {g:?}"),
            ));
        }
    }
    dims.check()
        .map_err(|e| invalid("workload.dims", e.to_string()))?;
    Ok((Some(dims), golden))
}

/// Named SRAM buffers: at least one, unique names, a total that matches
/// `sram.bytes` when both are given and fits the descriptors' 32-bit SRAM addresses.
fn check_buffers(
    buffers: &[SramBufferSpec],
    sram: &SramSpec,
    path: &Path,
) -> Result<(), ScenarioError> {
    let invalid = |at: String, message: String| ScenarioError::Invalid {
        path: path.to_path_buf(),
        at,
        message,
    };
    if buffers.is_empty() {
        return Err(invalid(
            "platform.sram.buffers".into(),
            "an empty list: name at least one buffer, or leave `buffers` out".into(),
        ));
    }
    for (i, b) in buffers.iter().enumerate() {
        if b.name.is_empty() || buffers[..i].iter().any(|o| o.name == b.name) {
            return Err(invalid(
                format!("platform.sram.buffers.{i}.name"),
                format!("{:?}: buffer names must be non-empty and unique", b.name),
            ));
        }
    }
    let total: u64 = buffers.iter().map(|b| b.bytes.get()).sum();
    if let Some(bytes) = sram.bytes {
        if bytes.get() != total {
            return Err(invalid(
                "platform.sram.bytes".into(),
                format!(
                    "{} bytes, but the buffers add up to {total}; give one or make them agree",
                    bytes.get()
                ),
            ));
        }
    }
    if total > u64::from(u32::MAX) + 1 {
        return Err(invalid(
            "platform.sram.buffers".into(),
            format!("{total} bytes in all: SRAM addresses are 32-bit (4 GiB at most)"),
        ));
    }
    Ok(())
}

/// Parses scenario YAML; `source_name` (a file name) prefixes error positions.
pub fn parse(text: &str, source_name: &str) -> Result<Scenario, ScenarioError> {
    serde_saphyr::from_str::<Scenario>(text).map_err(|e| {
        let rendered = e.render_with_options(serde_saphyr::render_options! {
            source_name: Some(source_name),
        });
        // saphyr's first line reads "error: line L column C: message"; lead with the
        // conventional "file:L:C: message" instead, then its snippet.
        let (first, snippet) = rendered.split_once('\n').unwrap_or((&rendered, ""));
        let message = strip_position(first.trim_start_matches("error: "));
        let mut out = match e.location() {
            Some(loc) => format!("{source_name}:{}:{}: {message}", loc.line(), loc.column()),
            None => format!("{source_name}: {message}"),
        };
        if !snippet.is_empty() {
            out.push('\n');
            out.push_str(snippet.trim_end());
        }
        if let Some(hint) = closest_key_hint(message) {
            out.push_str(&format!("\nhelp: did you mean `{hint}`?"));
        }
        ScenarioError::Parse { rendered: out }
    })
}

/// `message` without a leading "line L column C: ".
fn strip_position(message: &str) -> &str {
    let Some(rest) = message.strip_prefix("line ") else {
        return message;
    };
    match rest.split_once(": ") {
        Some((pos, msg)) if pos.contains(" column ") => msg,
        _ => message,
    }
}

/// For "unknown field `x`, expected one of a, b, c" (serde's wording, with or
/// without backquotes), the valid key closest to `x`.
fn closest_key_hint(message: &str) -> Option<String> {
    let rest = message.split("unknown field `").nth(1)?;
    let (unknown, rest) = rest.split_once('`')?;
    let expected = rest
        .split_once("expected one of ")
        .map(|(_, list)| list)
        .or_else(|| rest.split_once("expected ").map(|(_, one)| one))?;
    let first_line = expected.lines().next().unwrap_or_default();
    first_line
        .split(", ")
        .map(|k| k.trim().trim_matches('`').trim_end_matches('.'))
        .filter(|k| !k.is_empty())
        .min_by_key(|k| edit_distance(unknown, k))
        .filter(|k| edit_distance(unknown, k) <= unknown.len().max(k.len()) / 2 + 1)
        .map(str::to_string)
}

/// Levenshtein distance.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Applies one `KEY=VALUE` override by editing the scenario as a tree and reading it
/// back through the same types (so the same keys and validation apply).
fn apply_set(scenario: &Scenario, assignment: &str) -> Result<Scenario, ScenarioError> {
    let err = |message: String| ScenarioError::Set {
        assignment: assignment.to_string(),
        message,
    };
    let (key, value) = assignment
        .split_once('=')
        .ok_or_else(|| err("expected KEY=VALUE".into()))?;
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(err(format!("bad key `{key}`")));
    }
    let value: serde_json::Value = serde_saphyr::from_str(value)
        .map_err(|e| err(format!("bad value: {}", e.without_snippet())))?;
    let mut tree = serde_json::to_value(scenario).map_err(|e| err(format!("internal: {e}")))?;
    let mut node = &mut tree;
    for part in key.split('.') {
        node = match node {
            serde_json::Value::Array(items) => {
                let i: usize = part
                    .parse()
                    .map_err(|_| err(format!("`{part}` is not a list index")))?;
                let len = items.len();
                items
                    .get_mut(i)
                    .ok_or_else(|| err(format!("index {i} is past the end (length {len})")))?
            }
            serde_json::Value::Object(map) => map
                .entry(part.to_string())
                .or_insert(serde_json::Value::Object(Default::default())),
            serde_json::Value::Null => {
                *node = serde_json::Value::Object(Default::default());
                match node {
                    serde_json::Value::Object(map) => map
                        .entry(part.to_string())
                        .or_insert(serde_json::Value::Object(Default::default())),
                    _ => unreachable!("just made an object"),
                }
            }
            _ => return Err(err(format!("`{part}`: its parent is not a section"))),
        };
    }
    *node = value;
    serde_json::from_value(tree).map_err(|e| {
        let message = e.to_string();
        match closest_key_hint(&message) {
            Some(hint) => err(format!("{message}; did you mean `{hint}`?")),
            None => err(message),
        }
    })
}

/// Checks that the fields fit together.
fn check(s: &Scenario, path: &Path) -> Result<(), ScenarioError> {
    let invalid = |at: String, message: String| ScenarioError::Invalid {
        path: path.to_path_buf(),
        at,
        message,
    };
    let w = &s.workload;
    match w.kind {
        WorkloadKind::GemmList => {
            if w.gemms.is_empty() {
                return Err(invalid(
                    "workload".into(),
                    "kind gemm_list needs a non-empty `gemms` list".into(),
                ));
            }
            if !w.commands.is_empty() {
                return Err(invalid(
                    "workload.commands".into(),
                    "only a `commands` workload has commands".into(),
                ));
            }
        }
        WorkloadKind::EncoderTrainingStep | WorkloadKind::LmTrainingStep => {
            if !w.gemms.is_empty() || !w.commands.is_empty() {
                return Err(invalid(
                    "workload".into(),
                    "a training step takes no `gemms` or `commands`".into(),
                ));
            }
        }
        WorkloadKind::Commands => {
            if w.commands.is_empty() {
                return Err(invalid(
                    "workload".into(),
                    "kind commands needs a non-empty `commands` list".into(),
                ));
            }
            if !w.gemms.is_empty() {
                return Err(invalid(
                    "workload.gemms".into(),
                    "only a `gemm_list` workload has gemms".into(),
                ));
            }
        }
    }
    let mut names = BTreeSet::new();
    for (i, g) in w.gemms.iter().enumerate() {
        if !names.insert(g.name.as_str()) {
            return Err(invalid(
                format!("workload.gemms[{i}].name"),
                format!("duplicate GEMM name `{}`", g.name),
            ));
        }
    }
    for (i, c) in w.commands.iter().enumerate() {
        check_command(c).map_err(|m| invalid(format!("workload.commands[{i}]"), m))?;
    }
    for (i, e) in s.expect.gemms.iter().enumerate() {
        if !names.contains(e.name.as_str()) {
            return Err(invalid(
                format!("expect.gemms[{i}].name"),
                format!(
                    "no GEMM named `{}` in workload.gemms (names: {})",
                    e.name,
                    names.iter().copied().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
    let mut engines = BTreeSet::new();
    for (i, e) in s.expect.engines.iter().enumerate() {
        if !engines.insert(e.name) {
            return Err(invalid(
                format!("expect.engines[{i}].name"),
                "engine listed twice".into(),
            ));
        }
    }
    Ok(())
}

/// Checks that a command has the fields its op needs, and only those.
fn check_command(c: &CommandSpec) -> Result<(), String> {
    if usize::from(c.queue) >= treta_abi::regs::QUEUES {
        return Err(format!(
            "queue {} does not exist (queues 0..{})",
            c.queue,
            treta_abi::regs::QUEUES
        ));
    }
    let present = [
        ("dram", c.dram.is_some()),
        ("stride", c.stride.is_some()),
        ("sram", c.sram.is_some()),
        ("rows", c.rows.is_some()),
        ("cols", c.cols.is_some()),
        ("m", c.m.is_some()),
        ("k", c.k.is_some()),
        ("n", c.n.is_some()),
        ("a", c.a.is_some()),
        ("b", c.b.is_some()),
        ("c", c.c.is_some()),
        ("sem", c.sem.is_some()),
        ("count", c.count.is_some()),
        ("format", c.format.is_some()),
        ("aux2", c.aux2.is_some()),
        ("aux3", c.aux3.is_some()),
        ("scalars", c.scalars.is_some()),
        ("accumulate", c.accumulate.is_some()),
        ("vector", c.vector.is_some()),
    ];
    const SFU_OPTIONAL: &[&str] = &["a", "b", "aux2", "aux3", "scalars", "accumulate", "format"];
    let (required, optional): (&[&str], &[&str]) = match c.op {
        CommandOp::Nop | CommandOp::Fence => (&[], &[]),
        CommandOp::DmaLoad | CommandOp::DmaStore => {
            (&["dram", "sram", "rows", "cols"], &["stride", "format"])
        }
        CommandOp::DmaCopy => (&["a", "sram", "rows", "cols"], &["stride", "format"]),
        CommandOp::Gemm => (&["m", "k", "n", "a", "b", "c"], &["format"]),
        CommandOp::SoftmaxFwd
        | CommandOp::SoftmaxBwd
        | CommandOp::LayernormFwd
        | CommandOp::LayernormBwd
        | CommandOp::GeluFwd
        | CommandOp::GeluBwd
        | CommandOp::SoftmaxCausalFwd => (&["sram", "c", "rows", "cols"], SFU_OPTIONAL),
        CommandOp::Vector => (&["vector", "sram", "c", "rows", "cols"], SFU_OPTIONAL),
        CommandOp::SemSignal => (&["sem"], &[]),
        CommandOp::SemWait => (&["sem"], &["count"]),
        CommandOp::Irq => (&[], &["count"]),
    };
    let op = serde_json::to_value(c.op)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    for &(field, is_set) in &present {
        if required.contains(&field) && !is_set {
            return Err(format!("`{op}` needs `{field}`"));
        }
        if is_set && !required.contains(&field) && !optional.contains(&field) {
            return Err(format!("`{op}` takes no `{field}`"));
        }
    }
    if c.scalars.as_ref().is_some_and(|v| v.len() > 4) {
        return Err("`scalars` takes at most four values".into());
    }
    if let Some(sem) = c.sem {
        if sem >= treta_abi::desc::SEMAPHORES {
            return Err(format!(
                "semaphore {sem} does not exist (0..{})",
                treta_abi::desc::SEMAPHORES
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_key_is_suggested() {
        assert_eq!(
            closest_key_hint("unknown field `rowz`, expected one of arch, rows, cols, dataflow")
                .as_deref(),
            Some("rows")
        );
        assert_eq!(
            closest_key_hint("unknown field `zzzzzzzz`, expected one of `a`, `b`").as_deref(),
            None
        );
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
