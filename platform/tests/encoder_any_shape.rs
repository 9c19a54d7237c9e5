//! The encoder training step on shapes nobody tuned for — odd S, D not a multiple
//! of the array, one head, S = 1 — against a second implementation: the layer
//! written out plainly here in f64 (forward, MSE, backward, SGD). Its tensors go
//! into a golden directory of the usual format, and the platform's own golden
//! check compares every one, held to fp32-level accuracy (4e-5 of each tensor's
//! largest value).

// The reference is written the textbook way, with indices: plain to check by eye.
#![allow(clippy::needless_range_loop)]

use std::collections::BTreeMap;
use std::path::Path;
use treta_golden::write_npy_f32;

/// Row-major f64 matrix.
#[derive(Clone)]
struct M {
    r: usize,
    c: usize,
    v: Vec<f64>,
}

impl M {
    fn zeros(r: usize, c: usize) -> M {
        M {
            r,
            c,
            v: vec![0.0; r * c],
        }
    }
    fn at(&self, i: usize, j: usize) -> f64 {
        self.v[i * self.c + j]
    }
    fn t(&self) -> M {
        let mut o = M::zeros(self.c, self.r);
        for i in 0..self.r {
            for j in 0..self.c {
                o.v[j * self.r + i] = self.at(i, j);
            }
        }
        o
    }
    fn mul(&self, b: &M) -> M {
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
    fn zip(&self, b: &M, f: impl Fn(f64, f64) -> f64) -> M {
        M {
            r: self.r,
            c: self.c,
            v: self.v.iter().zip(&b.v).map(|(&x, &y)| f(x, y)).collect(),
        }
    }
    fn map(&self, f: impl Fn(f64) -> f64) -> M {
        M {
            r: self.r,
            c: self.c,
            v: self.v.iter().map(|&x| f(x)).collect(),
        }
    }
    /// + a row vector on every row.
    fn add_row(&self, b: &M) -> M {
        let mut o = self.clone();
        for i in 0..self.r {
            for j in 0..self.c {
                o.v[i * self.c + j] += b.v[j];
            }
        }
        o
    }
    fn col_sum(&self) -> M {
        let mut o = M::zeros(1, self.c);
        for i in 0..self.r {
            for j in 0..self.c {
                o.v[j] += self.at(i, j);
            }
        }
        o
    }
    /// Columns `c0..c0+w` of rows `r0..r0+h`.
    fn block(&self, r0: usize, h: usize, c0: usize, w: usize) -> M {
        let mut o = M::zeros(h, w);
        for i in 0..h {
            for j in 0..w {
                o.v[i * w + j] = self.at(r0 + i, c0 + j);
            }
        }
        o
    }
    fn set_block(&mut self, r0: usize, c0: usize, b: &M) {
        for i in 0..b.r {
            for j in 0..b.c {
                self.v[(r0 + i) * self.c + c0 + j] = b.at(i, j);
            }
        }
    }
    fn f32s(&self) -> Vec<f32> {
        self.v.iter().map(|&x| x as f32).collect()
    }
}

/// A deterministic N(0, σ²) source.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn normal(&mut self, sigma: f64) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        sigma * (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
    fn matrix(&mut self, r: usize, c: usize, sigma: f64, mean: f64) -> M {
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

fn layernorm(z: &M, gamma: &M, beta: &M) -> (M, M, Vec<f64>) {
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

fn layernorm_bwd(dy: &M, xhat: &M, rstd: &[f64], gamma: &M) -> (M, M, M) {
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

const C: f64 = 0.797_884_560_802_865_4;
const K: f64 = 0.044715;

fn gelu(x: f64) -> f64 {
    0.5 * x * (1.0 + (C * (x + K * x * x * x)).tanh())
}

fn gelu_grad(x: f64) -> f64 {
    let t = (C * (x + K * x * x * x)).tanh();
    0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * C * (1.0 + 3.0 * K * x * x)
}

/// The layer's step in f64: every tensor the golden check compares, by name.
fn reference(
    b: usize,
    s: usize,
    d: usize,
    h: usize,
    f: usize,
    seed: u64,
) -> (BTreeMap<String, M>, BTreeMap<String, M>) {
    let mut rng = Rng(seed);
    let t = b * s;
    let dh = d / h;
    let scale = 1.0 / (dh as f64).sqrt();
    let mut given = BTreeMap::new();
    let x = rng.matrix(t, d, 1.0, 0.0);
    let target = rng.matrix(t, d, 1.0, 0.0);
    let w = |rng: &mut Rng, r: usize, c: usize| rng.matrix(r, c, 1.0 / (r as f64).sqrt(), 0.0);
    let p: Vec<(&str, M)> = vec![
        ("layer.attn.wq", w(&mut rng, d, d)),
        ("layer.attn.bq", rng.matrix(1, d, 0.1, 0.0)),
        ("layer.attn.wk", w(&mut rng, d, d)),
        ("layer.attn.bk", rng.matrix(1, d, 0.1, 0.0)),
        ("layer.attn.wv", w(&mut rng, d, d)),
        ("layer.attn.bv", rng.matrix(1, d, 0.1, 0.0)),
        ("layer.attn.wo", w(&mut rng, d, d)),
        ("layer.attn.bo", rng.matrix(1, d, 0.1, 0.0)),
        ("layer.ln1.gamma", rng.matrix(1, d, 0.1, 1.0)),
        ("layer.ln1.beta", rng.matrix(1, d, 0.1, 0.0)),
        ("layer.ffn.w1", w(&mut rng, d, f)),
        ("layer.ffn.b1", rng.matrix(1, f, 0.1, 0.0)),
        ("layer.ffn.w2", w(&mut rng, f, d)),
        ("layer.ffn.b2", rng.matrix(1, d, 0.1, 0.0)),
        ("layer.ln2.gamma", rng.matrix(1, d, 0.1, 1.0)),
        ("layer.ln2.beta", rng.matrix(1, d, 0.1, 0.0)),
    ];
    let pm: BTreeMap<&str, M> = p.iter().cloned().collect();
    let g = |n: &str| pm[n].clone();
    given.insert("input.x".to_string(), x.clone());
    given.insert("input.target".to_string(), target.clone());
    for (n, m) in &p {
        given.insert(n.to_string(), m.clone());
    }
    // Forward.
    let q = x.mul(&g("layer.attn.wq")).add_row(&g("layer.attn.bq"));
    let k = x.mul(&g("layer.attn.wk")).add_row(&g("layer.attn.bk"));
    let v = x.mul(&g("layer.attn.wv")).add_row(&g("layer.attn.bv"));
    let mut ctx = M::zeros(t, d);
    let mut probs = Vec::new();
    for bi in 0..b {
        for hi in 0..h {
            let (qh, kh, vh) = (
                q.block(bi * s, s, hi * dh, dh),
                k.block(bi * s, s, hi * dh, dh),
                v.block(bi * s, s, hi * dh, dh),
            );
            let sc = qh.mul(&kh.t()).map(|z| z * scale);
            let mut pr = M::zeros(s, s);
            for i in 0..s {
                let row = &sc.v[i * s..(i + 1) * s];
                let mx = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let e: Vec<f64> = row.iter().map(|z| (z - mx).exp()).collect();
                let sum: f64 = e.iter().sum();
                for j in 0..s {
                    pr.v[i * s + j] = e[j] / sum;
                }
            }
            ctx.set_block(bi * s, hi * dh, &pr.mul(&vh));
            probs.push(pr);
        }
    }
    let attn = ctx.mul(&g("layer.attn.wo")).add_row(&g("layer.attn.bo"));
    let z1 = x.zip(&attn, |a, b| a + b);
    let (y1, xh1, r1) = layernorm(&z1, &g("layer.ln1.gamma"), &g("layer.ln1.beta"));
    let hp = y1.mul(&g("layer.ffn.w1")).add_row(&g("layer.ffn.b1"));
    let gg = hp.map(gelu);
    let fo = gg.mul(&g("layer.ffn.w2")).add_row(&g("layer.ffn.b2"));
    let z2 = y1.zip(&fo, |a, b| a + b);
    let (y, xh2, r2) = layernorm(&z2, &g("layer.ln2.gamma"), &g("layer.ln2.beta"));
    let n = (t * d) as f64;
    let loss = 0.5
        * y.zip(&target, |a, b| (a - b) * (a - b))
            .v
            .iter()
            .sum::<f64>()
        / n;
    // Backward.
    let mut out = BTreeMap::new();
    let dy = y.zip(&target, |a, b| (a - b) / n);
    let (dz2, dg2, db2) = layernorm_bwd(&dy, &xh2, &r2, &g("layer.ln2.gamma"));
    out.insert("grad.layer.ln2.gamma", dg2);
    out.insert("grad.layer.ln2.beta", db2);
    out.insert("grad.layer.ffn.w2", gg.t().mul(&dz2));
    out.insert("grad.layer.ffn.b2", dz2.col_sum());
    let dgg = dz2.mul(&g("layer.ffn.w2").t());
    let dhp = dgg.zip(&hp, |a, x| a * gelu_grad(x));
    out.insert("grad.layer.ffn.w1", y1.t().mul(&dhp));
    out.insert("grad.layer.ffn.b1", dhp.col_sum());
    let dy1 = dz2.zip(&dhp.mul(&g("layer.ffn.w1").t()), |a, b| a + b);
    let (dz1, dg1, db1) = layernorm_bwd(&dy1, &xh1, &r1, &g("layer.ln1.gamma"));
    out.insert("grad.layer.ln1.gamma", dg1);
    out.insert("grad.layer.ln1.beta", db1);
    out.insert("grad.layer.attn.wo", ctx.t().mul(&dz1));
    out.insert("grad.layer.attn.bo", dz1.col_sum());
    let dctx = dz1.mul(&g("layer.attn.wo").t());
    let (mut dq, mut dk, mut dv) = (M::zeros(t, d), M::zeros(t, d), M::zeros(t, d));
    for bi in 0..b {
        for hi in 0..h {
            let pr = &probs[bi * h + hi];
            let (qh, kh, vh) = (
                q.block(bi * s, s, hi * dh, dh),
                k.block(bi * s, s, hi * dh, dh),
                v.block(bi * s, s, hi * dh, dh),
            );
            let dch = dctx.block(bi * s, s, hi * dh, dh);
            let dp = dch.mul(&vh.t());
            dv.set_block(bi * s, hi * dh, &pr.t().mul(&dch));
            let mut ds = M::zeros(s, s);
            for i in 0..s {
                let dot: f64 = (0..s).map(|j| dp.at(i, j) * pr.at(i, j)).sum();
                for j in 0..s {
                    ds.v[i * s + j] = pr.at(i, j) * (dp.at(i, j) - dot) * scale;
                }
            }
            dq.set_block(bi * s, hi * dh, &ds.mul(&kh));
            dk.set_block(bi * s, hi * dh, &ds.t().mul(&qh));
        }
    }
    let mut dx = dz1.clone();
    for (proj, dp) in [("q", &dq), ("k", &dk), ("v", &dv)] {
        out.insert(
            if proj == "q" {
                "grad.layer.attn.wq"
            } else if proj == "k" {
                "grad.layer.attn.wk"
            } else {
                "grad.layer.attn.wv"
            },
            x.t().mul(dp),
        );
        out.insert(
            if proj == "q" {
                "grad.layer.attn.bq"
            } else if proj == "k" {
                "grad.layer.attn.bk"
            } else {
                "grad.layer.attn.bv"
            },
            dp.col_sum(),
        );
        dx = dx.zip(&dp.mul(&g(&format!("layer.attn.w{proj}")).t()), |a, b| {
            a + b
        });
    }
    let mut computed: BTreeMap<String, M> = out
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    for (name, m) in &p {
        let grad = &out[format!("grad.{name}").as_str()];
        computed.insert(format!("sgd.{name}"), m.zip(grad, |w, g| w - 0.01 * g));
    }
    computed.insert("grad.input.x".into(), dx);
    computed.insert("output.y".into(), y);
    computed.insert(
        "output.loss".into(),
        M {
            r: 1,
            c: 1,
            v: vec![loss],
        },
    );
    (given, computed)
}

/// Writes a golden directory of `given` and `computed` tensors.
fn write_golden(
    dir: &Path,
    dims: [usize; 5],
    given: &BTreeMap<String, M>,
    computed: &BTreeMap<String, M>,
) {
    std::fs::create_dir_all(dir).expect("dir");
    let mut entries = Vec::new();
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
            // fp32-level accuracy: the rule 4·err + 1e-6·max becomes 4.1e-5·max.
            e["max_abs_value"] = max.into();
            e["max_abs_err_vs_f64"] = (1e-5 * max).into();
        }
        entries.push(e);
    }
    let [b, s, d, h, f] = dims;
    let manifest = serde_json::json!({
        "kind": "encoder_layer",
        "config": {"B": b, "S": s, "D": d, "H": h, "F": f},
        "tensors": entries,
    });
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).expect("manifest");
}

#[test]
fn untuned_shapes_match_a_plain_f64_implementation() {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("encoder_any_shape");
    for (i, dims) in [
        [1, 5, 12, 1, 20],
        [2, 1, 8, 2, 8],
        [1, 7, 20, 4, 36],
        [3, 3, 6, 3, 10],
    ]
    .into_iter()
    .enumerate()
    {
        let [b, s, d, h, f] = dims;
        let (given, computed) = reference(b, s, d, h, f, 100 + i as u64);
        let dir = root.join(format!("golden{i}"));
        write_golden(&dir, dims, &given, &computed);
        let scenario = root.join(format!("step{i}.yaml"));
        std::fs::write(
            &scenario,
            format!(
                "workload: {{kind: encoder_training_step, golden: golden{i}}}\nrun: {{mode: functional}}\n"
            ),
        )
        .expect("scenario");
        let loaded = treta_vp::scenario::load(&scenario, &[]).unwrap_or_else(|e| panic!("{e}"));
        let report = treta_vp::run::run(&loaded, treta_vp::run::RunSettings::default())
            .unwrap_or_else(|e| panic!("{dims:?}: {e}"));
        let golden = report.golden.expect("compared");
        let failed: Vec<String> = golden
            .tensors
            .iter()
            .filter(|t| !t.pass)
            .map(|t| format!("{} {:.2e} > {:.2e}", t.name, t.max_abs_err, t.tolerance))
            .collect();
        assert!(failed.is_empty(), "B,S,D,H,F = {dims:?}: {failed:?}");
        assert_eq!(
            golden.tensors.len(),
            computed.len(),
            "{dims:?}: every reference tensor compared"
        );
    }
}
