//! A plain f64 implementation of the pieces of a transformer's training step —
//! matrices, LayerNorm and GELU forward and backward, a seeded normal source —
//! shared by the tests that check the platform against a second
//! implementation on shapes nobody tuned for.

// Written the textbook way, with indices: plain to check by eye. Each test
// binary uses its own subset.
#![allow(clippy::needless_range_loop, dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use treta_golden::{write_npy_f32, write_npy_i32};

/// Row-major f64 matrix.
#[derive(Clone)]
pub struct M {
    pub r: usize,
    pub c: usize,
    pub v: Vec<f64>,
}

impl M {
    pub fn zeros(r: usize, c: usize) -> M {
        M {
            r,
            c,
            v: vec![0.0; r * c],
        }
    }
    pub fn at(&self, i: usize, j: usize) -> f64 {
        self.v[i * self.c + j]
    }
    pub fn t(&self) -> M {
        let mut o = M::zeros(self.c, self.r);
        for i in 0..self.r {
            for j in 0..self.c {
                o.v[j * self.r + i] = self.at(i, j);
            }
        }
        o
    }
    pub fn mul(&self, b: &M) -> M {
        assert_eq!(self.c, b.r);
        let mut o = M::zeros(self.r, b.c);
        for i in 0..self.r {
            for k in 0..self.c {
                let a = self.at(i, k);
                for j in 0..b.c {
                    o.v[i * b.c + j] += a * b.at(k, j);
                }
            }
        }
        o
    }
    pub fn zip(&self, b: &M, f: impl Fn(f64, f64) -> f64) -> M {
        M {
            r: self.r,
            c: self.c,
            v: self.v.iter().zip(&b.v).map(|(&x, &y)| f(x, y)).collect(),
        }
    }
    pub fn map(&self, f: impl Fn(f64) -> f64) -> M {
        M {
            r: self.r,
            c: self.c,
            v: self.v.iter().map(|&x| f(x)).collect(),
        }
    }
    /// + a row vector on every row.
    pub fn add_row(&self, b: &M) -> M {
        let mut o = self.clone();
        for i in 0..self.r {
            for j in 0..self.c {
                o.v[i * self.c + j] += b.v[j];
            }
        }
        o
    }
    pub fn col_sum(&self) -> M {
        let mut o = M::zeros(1, self.c);
        for i in 0..self.r {
            for j in 0..self.c {
                o.v[j] += self.at(i, j);
            }
        }
        o
    }
    /// Columns `c0..c0+w` of rows `r0..r0+h`.
    pub fn block(&self, r0: usize, h: usize, c0: usize, w: usize) -> M {
        let mut o = M::zeros(h, w);
        for i in 0..h {
            for j in 0..w {
                o.v[i * w + j] = self.at(r0 + i, c0 + j);
            }
        }
        o
    }
    pub fn set_block(&mut self, r0: usize, c0: usize, b: &M) {
        for i in 0..b.r {
            for j in 0..b.c {
                self.v[(r0 + i) * self.c + c0 + j] = b.at(i, j);
            }
        }
    }
    pub fn f32s(&self) -> Vec<f32> {
        self.v.iter().map(|&x| x as f32).collect()
    }
}

/// A deterministic N(0, σ²) source.
pub struct Rng(pub u64);

impl Rng {
    pub fn uniform(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    pub fn normal(&mut self, sigma: f64) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        sigma * (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
    pub fn matrix(&mut self, r: usize, c: usize, sigma: f64, mean: f64) -> M {
        M {
            r,
            c,
            // fp32 values, so the device sees exactly what the reference uses.
            v: (0..r * c)
                .map(|_| f64::from((mean + self.normal(sigma)) as f32))
                .collect(),
        }
    }
}

pub fn layernorm(z: &M, gamma: &M, beta: &M) -> (M, M, Vec<f64>) {
    let mut xhat = M::zeros(z.r, z.c);
    let mut rstds = Vec::new();
    for i in 0..z.r {
        let row = &z.v[i * z.c..(i + 1) * z.c];
        let mean = row.iter().sum::<f64>() / z.c as f64;
        let var = row.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / z.c as f64;
        let rstd = 1.0 / (var + 1e-5).sqrt();
        for j in 0..z.c {
            xhat.v[i * z.c + j] = (row[j] - mean) * rstd;
        }
        rstds.push(rstd);
    }
    let y = xhat
        .zip(
            &M {
                r: z.r,
                c: z.c,
                v: (0..z.r).flat_map(|_| gamma.v.clone()).collect(),
            },
            |a, g| a * g,
        )
        .add_row(beta);
    (y, xhat, rstds)
}

pub fn layernorm_bwd(dy: &M, xhat: &M, rstd: &[f64], gamma: &M) -> (M, M, M) {
    let (r, c) = (dy.r, dy.c);
    let mut dz = M::zeros(r, c);
    for i in 0..r {
        let g: Vec<f64> = (0..c).map(|j| dy.at(i, j) * gamma.v[j]).collect();
        let a = g.iter().sum::<f64>() / c as f64;
        let b = (0..c).map(|j| g[j] * xhat.at(i, j)).sum::<f64>() / c as f64;
        for j in 0..c {
            dz.v[i * c + j] = rstd[i] * (g[j] - a - xhat.at(i, j) * b);
        }
    }
    (dz, dy.zip(xhat, |a, b| a * b).col_sum(), dy.col_sum())
}

pub const C: f64 = 0.797_884_560_802_865_4;
pub const K: f64 = 0.044715;

pub fn gelu(x: f64) -> f64 {
    0.5 * x * (1.0 + (C * (x + K * x * x * x)).tanh())
}

pub fn gelu_grad(x: f64) -> f64 {
    let t = (C * (x + K * x * x * x)).tanh();
    0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * C * (1.0 + 3.0 * K * x * x)
}

/// Writes a golden directory (the `../shared/golden` format) of manifest `kind`
/// and `config`: int32 `ids` (name, shape, values), then the `given` tensors
/// and the `computed` ones, held to fp32-level accuracy (the rule
/// 4·err + 1e-6·max with err = 1e-5·max: 4.1e-5 of each tensor's largest value).
pub fn write_golden(
    dir: &Path,
    kind: &str,
    config: serde_json::Value,
    ids: &[(&str, Vec<usize>, Vec<i32>)],
    given: &BTreeMap<String, M>,
    computed: &BTreeMap<String, M>,
) {
    std::fs::create_dir_all(dir).expect("dir");
    let mut entries = Vec::new();
    for (name, shape, values) in ids {
        write_npy_i32(&dir.join(format!("{name}.npy")), shape, values).expect("npy");
        entries.push(serde_json::json!({"name": name, "file": format!("{name}.npy"), "shape": shape, "dtype": "int32"}));
    }
    for (name, m, is_computed) in given
        .iter()
        .map(|(n, m)| (n, m, false))
        .chain(computed.iter().map(|(n, m)| (n, m, true)))
    {
        let shape: Vec<usize> = if name == "output.loss" {
            vec![]
        } else if m.r == 1 {
            vec![m.c]
        } else {
            vec![m.r, m.c]
        };
        write_npy_f32(&dir.join(format!("{name}.npy")), &shape, &m.f32s()).expect("npy");
        let max = m.v.iter().fold(0f64, |a, x| a.max(x.abs()));
        let mut e = serde_json::json!({"name": name, "file": format!("{name}.npy"), "shape": shape, "dtype": "float32"});
        if is_computed {
            e["max_abs_value"] = max.into();
            e["max_abs_err_vs_f64"] = (1e-5 * max).into();
        }
        entries.push(e);
    }
    let manifest = serde_json::json!({"kind": kind, "config": config, "tensors": entries});
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).expect("manifest");
}
