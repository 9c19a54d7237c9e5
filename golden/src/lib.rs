//! # treta-golden — reference tensors and the rule they are compared with
//!
//! A golden directory (the format of `../shared/golden`, copies in the repository's
//! `testdata/golden`) holds a `manifest.json` and one NumPy `.npy` file per tensor.
//! The manifest gives each tensor's shape and, for computed tensors, how far a
//! correct fp32 implementation may be from it (`max_abs_err_vs_f64`). Results are
//! compared with the rule the golden data's README states:
//! `|got − ref| <= 4·max_abs_err_vs_f64 + 1e-6·max_abs_value`.

mod npy;

pub use npy::{read_npy, write_npy_f32, write_npy_i32, Npy};
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// Why a golden directory or tensor cannot be used.
#[derive(Debug)]
pub enum GoldenError {
    /// A file cannot be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The reason.
        error: std::io::Error,
    },
    /// A file is not what it should be (bad manifest, bad `.npy` header, wrong dtype).
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The manifest lists no tensor of this name.
    UnknownTensor(String),
    /// A result has a different number of elements than the reference.
    Length {
        /// The tensor.
        name: String,
        /// Elements of the reference.
        expected: usize,
        /// Elements given.
        got: usize,
    },
}

impl fmt::Display for GoldenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GoldenError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            GoldenError::Format { path, message } => write!(f, "{}: {message}", path.display()),
            GoldenError::UnknownTensor(name) => {
                write!(f, "no tensor named `{name}` in the manifest")
            }
            GoldenError::Length {
                name,
                expected,
                got,
            } => write!(
                f,
                "`{name}`: {got} elements given, the reference has {expected}"
            ),
        }
    }
}

impl std::error::Error for GoldenError {}

/// One tensor's entry in `manifest.json`.
#[derive(Clone, Debug, Deserialize)]
pub struct TensorInfo {
    /// Name (file name without `.npy`).
    pub name: String,
    /// File name in the directory.
    pub file: String,
    /// Shape (empty for a scalar).
    pub shape: Vec<usize>,
    /// NumPy dtype name (`float32` for every tensor outside `quant/`).
    pub dtype: String,
    /// Largest |value| (computed tensors).
    #[serde(default)]
    pub max_abs_value: Option<f64>,
    /// max |stored fp32 result − float64 re-run| (computed tensors).
    #[serde(default)]
    pub max_abs_err_vs_f64: Option<f64>,
}

impl TensorInfo {
    /// The comparison tolerance of this tensor; `None` for inputs and parameters
    /// (which are given, not computed).
    pub fn tolerance(&self) -> Option<f64> {
        let err = self.max_abs_err_vs_f64?;
        Some(4.0 * err + 1e-6 * self.max_abs_value.unwrap_or(0.0))
    }
}

/// `manifest.json`: the parts the comparisons need; `config` stays raw because
/// each kind of directory has its own.
#[derive(Clone, Debug, Deserialize)]
pub struct Manifest {
    /// `encoder_layer`, `units` or `quant`.
    pub kind: String,
    /// The generator's configuration (dims of a layer, shapes of the units).
    #[serde(default)]
    pub config: serde_json::Value,
    /// Every tensor.
    pub tensors: Vec<TensorInfo>,
    /// Every other top-level key (a `units` manifest lists its shapes here).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// An fp32 tensor, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// Shape.
    pub shape: Vec<usize>,
    /// Elements in C order.
    pub data: Vec<f32>,
}

/// The outcome of comparing a result with its reference.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// Tensor name.
    pub name: String,
    /// max |got − ref| (NaN where exactly one side is NaN counts as infinite).
    pub max_abs_err: f64,
    /// The tolerance it was held to.
    pub tolerance: f64,
    /// Flat index of the worst element.
    pub worst_index: usize,
    /// Whether every element is within the tolerance.
    pub pass: bool,
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: max |err| {:.3e} (at {}), tolerance {:.3e}: {}",
            self.name,
            self.max_abs_err,
            self.worst_index,
            self.tolerance,
            if self.pass { "pass" } else { "FAIL" }
        )
    }
}

/// A golden directory.
#[derive(Clone, Debug)]
pub struct GoldenDir {
    dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
}

impl GoldenDir {
    /// Opens `dir` and reads its manifest.
    pub fn open(dir: impl AsRef<Path>) -> Result<GoldenDir, GoldenError> {
        let dir = dir.as_ref().to_path_buf();
        let path = dir.join("manifest.json");
        let text = std::fs::read_to_string(&path).map_err(|error| GoldenError::Io {
            path: path.clone(),
            error,
        })?;
        let manifest = serde_json::from_str(&text).map_err(|e| GoldenError::Format {
            path,
            message: e.to_string(),
        })?;
        Ok(GoldenDir { dir, manifest })
    }

    /// The manifest entry of `name`.
    pub fn info(&self, name: &str) -> Result<&TensorInfo, GoldenError> {
        self.manifest
            .tensors
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| GoldenError::UnknownTensor(name.to_string()))
    }

    /// Reads the file of tensor `name` and checks its shape against the
    /// manifest; then `decode` turns its payload into elements (an error naming
    /// the file if the dtype is not the one asked for).
    fn read<T>(
        &self,
        name: &str,
        decode: impl Fn(&npy::Npy) -> Result<Vec<T>, String>,
    ) -> Result<(Vec<usize>, Vec<T>), GoldenError> {
        let info = self.info(name)?;
        let path = self.dir.join(&info.file);
        let npy = read_npy(&path)?;
        let format = |message: String| GoldenError::Format {
            path: path.clone(),
            message,
        };
        if npy.shape != info.shape {
            return Err(format(format!(
                "shape {:?}, the manifest says {:?}",
                npy.shape, info.shape
            )));
        }
        let data = decode(&npy).map_err(format)?;
        Ok((npy.shape, data))
    }

    /// Reads the fp32 tensor `name`, checking its shape against the manifest.
    pub fn tensor(&self, name: &str) -> Result<Tensor, GoldenError> {
        let (shape, data) = self.read(name, npy::Npy::f32s)?;
        Ok(Tensor { shape, data })
    }

    /// Reads the int32 tensor `name` (token ids), checking its shape against the
    /// manifest: (shape, elements).
    pub fn ids(&self, name: &str) -> Result<(Vec<usize>, Vec<i32>), GoldenError> {
        self.read(name, npy::Npy::i32s)
    }

    /// Compares `got` with the computed tensor `name` under the golden tolerance
    /// rule. A tensor without `max_abs_err_vs_f64` (an input) must match exactly.
    pub fn compare(&self, name: &str, got: &[f32]) -> Result<Comparison, GoldenError> {
        let tolerance = self.info(name)?.tolerance().unwrap_or(0.0);
        let reference = self.tensor(name)?;
        compare(name, got, &reference.data, tolerance)
    }
}

/// Compares `got` with `reference` element by element: the largest absolute
/// difference, where it is, and whether all are within `tolerance`. Two NaNs or
/// two equal infinities agree; otherwise a NaN or an infinity on one side is an
/// infinite error.
pub fn compare(
    name: &str,
    got: &[f32],
    reference: &[f32],
    tolerance: f64,
) -> Result<Comparison, GoldenError> {
    if got.len() != reference.len() {
        return Err(GoldenError::Length {
            name: name.to_string(),
            expected: reference.len(),
            got: got.len(),
        });
    }
    let mut worst = (0.0f64, 0usize);
    for (i, (&g, &r)) in got.iter().zip(reference).enumerate() {
        let err = if (g.is_nan() && r.is_nan()) || g == r {
            0.0
        } else if g.is_finite() && r.is_finite() {
            (f64::from(g) - f64::from(r)).abs()
        } else {
            f64::INFINITY
        };
        if err > worst.0 {
            worst = (err, i);
        }
    }
    Ok(Comparison {
        name: name.to_string(),
        max_abs_err: worst.0,
        tolerance,
        worst_index: worst.1,
        pass: worst.0 <= tolerance,
    })
}

/// The repository's copy of the public golden set (`testdata/golden`), for tests.
pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("testdata")
        .join("golden")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerance_follows_the_rule() {
        let info = TensorInfo {
            name: "t".into(),
            file: "t.npy".into(),
            shape: vec![1],
            dtype: "float32".into(),
            max_abs_value: Some(2.0),
            max_abs_err_vs_f64: Some(1e-7),
        };
        let t = info.tolerance().expect("computed tensor");
        assert!((t - (4e-7 + 2e-6)).abs() < 1e-15);
    }

    #[test]
    fn comparison_finds_the_worst_element_and_judges_it() {
        let c = compare("x", &[1.0, 2.5, 3.0], &[1.0, 2.0, 3.0], 0.4).expect("same length");
        assert_eq!((c.max_abs_err, c.worst_index, c.pass), (0.5, 1, false));
        let c = compare("x", &[1.0, 2.1], &[1.0, 2.0], 0.2).expect("same length");
        assert!(c.pass);
        let c = compare("x", &[f32::NAN], &[1.0], 1e9).expect("same length");
        assert!(!c.pass, "NaN against a number fails whatever the tolerance");
        assert!(
            compare("x", &[f32::NAN], &[f32::NAN], 0.0)
                .expect("ok")
                .pass
        );
        assert!(matches!(
            compare("x", &[1.0], &[1.0, 2.0], 0.0),
            Err(GoldenError::Length { .. })
        ));
    }

    #[test]
    fn reads_the_repository_copy() {
        let dir = GoldenDir::open(testdata().join("tiny")).expect("tiny");
        assert_eq!(dir.manifest.kind, "encoder_layer");
        let x = dir.tensor("input.x").expect("input.x");
        assert_eq!(x.shape, vec![2, 8, 32]);
        assert_eq!(x.data.len(), 2 * 8 * 32);
        let loss = dir.tensor("output.loss").expect("loss");
        assert!(loss.shape.is_empty() && loss.data.len() == 1);
        assert!((loss.data[0] - 1.051_438_4).abs() < 1e-6);
        assert!(matches!(
            dir.tensor("no.such"),
            Err(GoldenError::UnknownTensor(_))
        ));
    }
}
