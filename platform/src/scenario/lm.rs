//! An `lm_training_step`'s model and batch: from the zoo (`model`: GPT-2's
//! decoders, BERT's encoders with its masked-LM head, or ViT's patch GEMM,
//! encoders and classifier, with
//! `batch`, `seq`, `layers`; token ids or pixels drawn from the run's seed) or from a
//! `gpt_lm_step` golden directory (its manifest's `config`, its int32
//! `input.tokens` and `input.targets`) or a `vit_step` one (config B, S, C
//! classes, D, H, F, L; fp32 `input.patches`, one int32 target per image).

use super::load::ScenarioError;
use super::types::Scenario;
use std::path::Path;
use treta_golden::GoldenDir;
use treta_lower::step::{LmBatch, LmSpec, PATCH_PIXELS};
use treta_lower::zoo::{Architecture, ModelSpec};

/// A language model's step as loaded.
#[derive(Clone, Debug)]
pub struct LoadedLm {
    /// The model's shape.
    pub spec: LmSpec,
    /// The batch's ids.
    pub batch: LmBatch,
}

/// The model, batch and golden directory of `s`'s `lm_training_step`.
pub(super) fn lm_of(
    s: &Scenario,
    path: &Path,
    golden: Option<GoldenDir>,
) -> Result<(LoadedLm, Option<GoldenDir>), ScenarioError> {
    let w = &s.workload;
    let invalid = |at: &str, message: String| ScenarioError::Invalid {
        path: path.to_path_buf(),
        at: at.to_string(),
        message,
    };
    for (key, set) in [
        ("dims", w.dims.is_some()),
        ("recompute", w.recompute.is_some()),
    ] {
        if set {
            return Err(invalid(
                &format!("workload.{key}"),
                "an lm_training_step does not take it (its shape comes from `model` or `golden`)"
                    .into(),
            ));
        }
    }
    let vocab_tile = w.vocab_tile.map_or(LmSpec::VOCAB_TILE, |v| v.get());
    let loaded = match (&w.model, &golden) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "workload.golden",
                "give `model` or `golden`, not both".into(),
            ))
        }
        (None, None) => {
            return Err(invalid(
                "workload",
                "an lm_training_step needs `model` (`treta-vp models`) or a gpt_lm_step `golden` directory".into(),
            ))
        }
        (Some(name), None) => {
            let model = ModelSpec::by_name(name).ok_or_else(|| {
                invalid(
                    "workload.model",
                    format!(
                        "`{name}` is not a model of the zoo ({}; `treta-vp models` lists them)",
                        ModelSpec::names()
                    ),
                )
            })?;
            let layers = w.layers.map_or(model.layers, |l| l.get());
            if layers > model.layers {
                return Err(invalid(
                    "workload.layers",
                    format!("{name} has {} layers, not {layers}", model.layers),
                ));
            }
            let spec = LmSpec {
                arch: model.arch,
                b: w.batch.map_or(1, |b| b.get()),
                s: w.seq.map_or(model.seq, |s| s.get()),
                vocab: model.vocab,
                positions: model.positions,
                d: model.d,
                h: model.h,
                f: model.f,
                layers,
                vocab_tile,
            };
            LoadedLm {
                batch: draw_batch(&spec, s.run.seed),
                spec,
            }
        }
        (None, Some(g)) => {
            for (key, set) in [
                ("batch", w.batch.is_some()),
                ("seq", w.seq.is_some()),
                ("layers", w.layers.is_some()),
            ] {
                if set {
                    return Err(invalid(
                        &format!("workload.{key}"),
                        "the golden directory's manifest gives the shape".into(),
                    ));
                }
            }
            from_golden(g, vocab_tile).map_err(|m| invalid("workload.golden", m))?
        }
    };
    let at = if golden.is_some() {
        "workload.golden"
    } else {
        "workload"
    };
    loaded.spec.check().map_err(|e| {
        invalid(
            if e.0.contains("position") {
                "workload.seq"
            } else {
                at
            },
            e.0,
        )
    })?;
    loaded
        .batch
        .check(&loaded.spec)
        .map_err(|e| invalid(at, e.0))?;
    Ok((loaded, golden))
}

/// The model and batch of a `gpt_lm_step` golden directory.
fn from_golden(g: &GoldenDir, vocab_tile: u32) -> Result<LoadedLm, String> {
    let (arch, vocab) = match g.manifest.kind.as_str() {
        "gpt_lm_step" => (Architecture::PreLnDecoder, "V"),
        "vit_step" => (Architecture::VisionEncoder, "C"),
        other => {
            return Err(format!(
            "an lm_training_step needs a gpt_lm_step or vit_step golden directory, not `{other}`"
        ))
        }
    };
    let c = &g.manifest.config;
    let dim = |k: &str| {
        c.get(k)
            .and_then(|v| v.as_u64())
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| format!("the manifest's config has no positive integer `{k}`"))
    };
    let positions = g
        .info("embed.wpe")
        .map_err(|e| e.to_string())?
        .shape
        .first()
        .copied()
        .unwrap_or(0);
    let spec = LmSpec {
        arch,
        b: dim("B")?,
        s: dim("S")?,
        vocab: dim(vocab)?,
        positions: u32::try_from(positions).map_err(|_| "embed.wpe: too many rows".to_string())?,
        d: dim("D")?,
        h: dim("H")?,
        f: dim("F")?,
        layers: dim("L")?,
        vocab_tile,
    };
    let ids = |name: &str| -> Result<Vec<u32>, String> {
        let (_, ids) = g.ids(name).map_err(|e| e.to_string())?;
        ids.iter()
            .enumerate()
            .map(|(i, &id)| {
                u32::try_from(id).map_err(|_| {
                    let s = spec.s.max(1) as usize;
                    format!("{name}[{}, {}] = {id} is negative", i / s, i % s)
                })
            })
            .collect()
    };
    let batch = if arch == Architecture::VisionEncoder {
        LmBatch {
            tokens: Vec::new(),
            targets: ids("input.targets")?,
            images: g.tensor("input.patches").map_err(|e| e.to_string())?.data,
        }
    } else {
        LmBatch {
            tokens: ids("input.tokens")?,
            targets: ids("input.targets")?,
            images: Vec::new(),
        }
    };
    Ok(LoadedLm { spec, batch })
}

/// A batch for a zoo model from `seed`: B·S token ids and targets, or for ViT
/// B classes and B·(S − 1) patches of pixels uniform in [−1, 1).
fn draw_batch(spec: &LmSpec, seed: u64) -> LmBatch {
    let (b, s) = (spec.b as usize, spec.s as usize);
    let ids = |stream, count| {
        let vocab = u64::from(spec.vocab.max(1));
        draw(seed, stream, count)
            .map(|z| (z % vocab) as u32)
            .collect()
    };
    if spec.arch == Architecture::VisionEncoder {
        let pixels = b * s.saturating_sub(1) * PATCH_PIXELS as usize;
        LmBatch {
            tokens: Vec::new(),
            targets: ids(1, b),
            // The top 24 bits as a fraction: exact in f32.
            images: draw(seed, 2, pixels)
                .map(|z| (z >> 40) as f32 / (1u64 << 23) as f32 - 1.0)
                .collect(),
        }
    } else {
        LmBatch {
            tokens: ids(0, b * s),
            targets: ids(1, b * s),
            images: Vec::new(),
        }
    }
}

/// `count` draws of splitmix64 on stream `stream` of `seed` (0 the tokens, 1
/// the targets, 2 the pixels), so a scenario and seed always give the same
/// batch.
fn draw(seed: u64, stream: u64, count: usize) -> impl Iterator<Item = u64> {
    let mut state = seed ^ stream.wrapping_mul(0xA24B_AED4_963E_E407);
    (0..count).map(move |_| {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}
