//! The encoder training step on shapes nobody tuned for — odd S, D not a multiple
//! of the array, one head, S = 1, stacks of 2 and 3 layers — against a second
//! implementation: the layer written out plainly here in f64 (forward, MSE,
//! backward, and the SGD, momentum or Adam update). Its tensors go
//! into a golden directory of the usual format, and the platform's own golden
//! check compares every one, held to fp32-level accuracy (4e-5 of each tensor's
//! largest value).

// The reference is written the textbook way, with indices: plain to check by eye.
#![allow(clippy::needless_range_loop)]

mod f64ref;

use f64ref::{gelu, gelu_grad, layernorm, layernorm_bwd, write_golden, Rng, M};
use std::collections::BTreeMap;
use std::path::Path;

/// One layer's parameters, by the golden data's names.
type Params = BTreeMap<&'static str, M>;

/// The dimensions: B, S, D, H, F.
#[derive(Clone, Copy)]
struct Dims {
    b: usize,
    s: usize,
    d: usize,
    h: usize,
    f: usize,
}

impl Dims {
    fn dh(&self) -> usize {
        self.d / self.h
    }
    fn scale(&self) -> f64 {
        1.0 / (self.dh() as f64).sqrt()
    }
    /// Head `hi` of batch `bi` of a [B·S × D] tensor.
    fn head(&self, m: &M, bi: usize, hi: usize) -> M {
        m.block(bi * self.s, self.s, hi * self.dh(), self.dh())
    }
}

fn init_params(rng: &mut Rng, d: usize, f: usize) -> Params {
    let mut w = |r: usize, c: usize| rng.matrix(r, c, 1.0 / (r as f64).sqrt(), 0.0);
    let (wq, wk, wv, wo, w1, w2) = (w(d, d), w(d, d), w(d, d), w(d, d), w(d, f), w(f, d));
    let mut v = |c: usize, mean: f64| rng.matrix(1, c, 0.1, mean);
    BTreeMap::from([
        ("layer.attn.wq", wq),
        ("layer.attn.bq", v(d, 0.0)),
        ("layer.attn.wk", wk),
        ("layer.attn.bk", v(d, 0.0)),
        ("layer.attn.wv", wv),
        ("layer.attn.bv", v(d, 0.0)),
        ("layer.attn.wo", wo),
        ("layer.attn.bo", v(d, 0.0)),
        ("layer.ln1.gamma", v(d, 1.0)),
        ("layer.ln1.beta", v(d, 0.0)),
        ("layer.ffn.w1", w1),
        ("layer.ffn.b1", v(f, 0.0)),
        ("layer.ffn.w2", w2),
        ("layer.ffn.b2", v(d, 0.0)),
        ("layer.ln2.gamma", v(d, 1.0)),
        ("layer.ln2.beta", v(d, 0.0)),
    ])
}

/// What forward keeps for backward.
struct Cache {
    x: M,
    q: M,
    k: M,
    v: M,
    probs: Vec<M>,
    ctx: M,
    xh1: M,
    r1: Vec<f64>,
    y1: M,
    hp: M,
    gg: M,
    xh2: M,
    r2: Vec<f64>,
    y: M,
}

fn forward(p: &Params, x: &M, e: Dims) -> Cache {
    let (t, dh) = (e.b * e.s, e.dh());
    let q = x.mul(&p["layer.attn.wq"]).add_row(&p["layer.attn.bq"]);
    let k = x.mul(&p["layer.attn.wk"]).add_row(&p["layer.attn.bk"]);
    let v = x.mul(&p["layer.attn.wv"]).add_row(&p["layer.attn.bv"]);
    let mut ctx = M::zeros(t, e.d);
    let mut probs = Vec::new();
    for bi in 0..e.b {
        for hi in 0..e.h {
            let sc = e
                .head(&q, bi, hi)
                .mul(&e.head(&k, bi, hi).t())
                .map(|z| z * e.scale());
            let mut pr = M::zeros(e.s, e.s);
            for i in 0..e.s {
                let row = &sc.v[i * e.s..(i + 1) * e.s];
                let mx = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let ex: Vec<f64> = row.iter().map(|z| (z - mx).exp()).collect();
                let sum: f64 = ex.iter().sum();
                for j in 0..e.s {
                    pr.v[i * e.s + j] = ex[j] / sum;
                }
            }
            ctx.set_block(bi * e.s, hi * dh, &pr.mul(&e.head(&v, bi, hi)));
            probs.push(pr);
        }
    }
    let attn = ctx.mul(&p["layer.attn.wo"]).add_row(&p["layer.attn.bo"]);
    let z1 = x.zip(&attn, |a, b| a + b);
    let (y1, xh1, r1) = layernorm(&z1, &p["layer.ln1.gamma"], &p["layer.ln1.beta"]);
    let hp = y1.mul(&p["layer.ffn.w1"]).add_row(&p["layer.ffn.b1"]);
    let gg = hp.map(gelu);
    let fo = gg.mul(&p["layer.ffn.w2"]).add_row(&p["layer.ffn.b2"]);
    let z2 = y1.zip(&fo, |a, b| a + b);
    let (y, xh2, r2) = layernorm(&z2, &p["layer.ln2.gamma"], &p["layer.ln2.beta"]);
    Cache {
        x: x.clone(),
        q,
        k,
        v,
        probs,
        ctx,
        xh1,
        r1,
        y1,
        hp,
        gg,
        xh2,
        r2,
        y,
    }
}

/// The gradients of every parameter (by name) and of the layer's input.
fn backward(p: &Params, c: &Cache, dy: &M, e: Dims) -> (BTreeMap<&'static str, M>, M) {
    let (t, dh) = (e.b * e.s, e.dh());
    let mut out = BTreeMap::new();
    let (dz2, dg2, db2) = layernorm_bwd(dy, &c.xh2, &c.r2, &p["layer.ln2.gamma"]);
    out.insert("layer.ln2.gamma", dg2);
    out.insert("layer.ln2.beta", db2);
    out.insert("layer.ffn.w2", c.gg.t().mul(&dz2));
    out.insert("layer.ffn.b2", dz2.col_sum());
    let dgg = dz2.mul(&p["layer.ffn.w2"].t());
    let dhp = dgg.zip(&c.hp, |a, x| a * gelu_grad(x));
    out.insert("layer.ffn.w1", c.y1.t().mul(&dhp));
    out.insert("layer.ffn.b1", dhp.col_sum());
    let dy1 = dz2.zip(&dhp.mul(&p["layer.ffn.w1"].t()), |a, b| a + b);
    let (dz1, dg1, db1) = layernorm_bwd(&dy1, &c.xh1, &c.r1, &p["layer.ln1.gamma"]);
    out.insert("layer.ln1.gamma", dg1);
    out.insert("layer.ln1.beta", db1);
    out.insert("layer.attn.wo", c.ctx.t().mul(&dz1));
    out.insert("layer.attn.bo", dz1.col_sum());
    let dctx = dz1.mul(&p["layer.attn.wo"].t());
    let (mut dq, mut dk, mut dv) = (M::zeros(t, e.d), M::zeros(t, e.d), M::zeros(t, e.d));
    for bi in 0..e.b {
        for hi in 0..e.h {
            let pr = &c.probs[bi * e.h + hi];
            let dch = e.head(&dctx, bi, hi);
            let dp = dch.mul(&e.head(&c.v, bi, hi).t());
            dv.set_block(bi * e.s, hi * dh, &pr.t().mul(&dch));
            let mut ds = M::zeros(e.s, e.s);
            for i in 0..e.s {
                let dot: f64 = (0..e.s).map(|j| dp.at(i, j) * pr.at(i, j)).sum();
                for j in 0..e.s {
                    ds.v[i * e.s + j] = pr.at(i, j) * (dp.at(i, j) - dot) * e.scale();
                }
            }
            dq.set_block(bi * e.s, hi * dh, &ds.mul(&e.head(&c.k, bi, hi)));
            dk.set_block(bi * e.s, hi * dh, &ds.t().mul(&e.head(&c.q, bi, hi)));
        }
    }
    let mut dx = dz1.clone();
    for (w, bias, grad) in [
        ("layer.attn.wq", "layer.attn.bq", &dq),
        ("layer.attn.wk", "layer.attn.bk", &dk),
        ("layer.attn.wv", "layer.attn.bv", &dv),
    ] {
        out.insert(w, c.x.t().mul(grad));
        out.insert(bias, grad.col_sum());
        dx = dx.zip(&grad.mul(&p[w].t()), |a, b| a + b);
    }
    (out, dx)
}

/// The DRAM name of parameter `name` of layer `l` of `layers` (the firmware's).
fn param_name(name: &str, l: usize, layers: usize) -> String {
    if layers == 1 {
        name.to_string()
    } else {
        format!("layer{l}.{}", name.trim_start_matches("layer."))
    }
}

/// The weight update of a reference step (state starting at zero).
#[derive(Clone, Copy, Debug)]
enum Update {
    Sgd,
    /// One momentum step from zero velocity is SGD; this checks the plumbing.
    Momentum,
    /// Adam's first step, with an ε large enough to keep the update well
    /// conditioned (a small ε turns it into lr·sign(g), which amplifies fp32
    /// noise in near-zero gradients).
    Adam {
        beta1: f64,
        beta2: f64,
        eps: f64,
    },
}

impl Update {
    fn apply(self, w: f64, g: f64) -> f64 {
        match self {
            Update::Sgd | Update::Momentum => w - 0.01 * g,
            Update::Adam { beta1, beta2, eps } => {
                let (m, v) = ((1.0 - beta1) * g, (1.0 - beta2) * g * g);
                // Kingma & Ba: lr·m̂/(√v̂ + ε), m̂ = m/(1 − β₁), v̂ = v/(1 − β₂) at t = 1.
                w - 0.01 * (m / (1.0 - beta1)) / ((v / (1.0 - beta2)).sqrt() + eps)
            }
        }
    }

    /// The prefix of the updated parameters' names (`adam.layer.attn.wq`).
    fn prefix(self) -> &'static str {
        match self {
            Update::Sgd => "sgd",
            Update::Momentum => "momentum",
            Update::Adam { .. } => "adam",
        }
    }

    fn yaml(self) -> String {
        match self {
            Update::Sgd => String::new(),
            Update::Momentum => ", optimizer: {kind: momentum, momentum: 0.9}".into(),
            Update::Adam { beta1, beta2, eps } => {
                format!(", optimizer: {{kind: adam, beta1: {beta1}, beta2: {beta2}, eps: {eps}}}")
            }
        }
    }
}

/// A stack of `layers` layers' step in f64: the given tensors (inputs,
/// parameters) and every computed one the golden check compares, by name.
fn reference(
    e: Dims,
    layers: usize,
    update: Update,
    seed: u64,
) -> (BTreeMap<String, M>, BTreeMap<String, M>) {
    let mut rng = Rng(seed);
    let t = e.b * e.s;
    let x = rng.matrix(t, e.d, 1.0, 0.0);
    let target = rng.matrix(t, e.d, 1.0, 0.0);
    let params: Vec<Params> = (0..layers)
        .map(|_| init_params(&mut rng, e.d, e.f))
        .collect();
    let mut given = BTreeMap::from([
        ("input.x".to_string(), x.clone()),
        ("input.target".to_string(), target.clone()),
    ]);
    for (l, p) in params.iter().enumerate() {
        for (name, m) in p {
            given.insert(param_name(name, l, layers), m.clone());
        }
    }
    let mut caches: Vec<Cache> = Vec::new();
    for p in &params {
        let input = caches.last().map_or(x.clone(), |c| c.y.clone());
        caches.push(forward(p, &input, e));
    }
    let y = caches[layers - 1].y.clone();
    let n = (t * e.d) as f64;
    let loss = 0.5
        * y.zip(&target, |a, b| (a - b) * (a - b))
            .v
            .iter()
            .sum::<f64>()
        / n;
    let mut computed = BTreeMap::new();
    let mut dy = y.zip(&target, |a, b| (a - b) / n);
    for l in (0..layers).rev() {
        let (grads, dx) = backward(&params[l], &caches[l], &dy, e);
        for (name, g) in grads {
            let pn = param_name(name, l, layers);
            computed.insert(
                format!("{}.{pn}", update.prefix()),
                params[l][name].zip(&g, |w, gr| update.apply(w, gr)),
            );
            computed.insert(format!("grad.{pn}"), g);
        }
        dy = dx;
    }
    computed.insert("grad.input.x".into(), dy);
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

#[test]
fn untuned_shapes_match_a_plain_f64_implementation() {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("encoder_any_shape");
    let adam = Update::Adam {
        beta1: 0.9,
        beta2: 0.999,
        eps: 1.0,
    };
    for (i, (dims, layers, update, extra)) in [
        ([1, 5, 12, 1, 20], 1, Update::Sgd, ""),
        ([2, 1, 8, 2, 8], 1, Update::Sgd, ""),
        ([1, 7, 20, 4, 36], 1, Update::Sgd, ""),
        ([3, 3, 6, 3, 10], 1, Update::Momentum, ""),
        ([1, 5, 12, 3, 20], 3, Update::Sgd, ""),
        ([2, 3, 8, 2, 16], 2, adam, ""),
        // FFN activations recomputed in backward, one buffer pair for all layers.
        ([1, 4, 8, 2, 24], 3, Update::Sgd, ", recompute: true"),
        // Every operation pipelined over three queues, in an SRAM small enough
        // that each runs in several tiles of both buffers.
        (
            [2, 5, 12, 3, 20],
            2,
            Update::Momentum,
            ", overlap: true}\nplatform: {sram: {bytes: 1536}",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let [b, s, d, h, f] = dims;
        let (given, computed) = reference(Dims { b, s, d, h, f }, layers, update, 100 + i as u64);
        let dir = root.join(format!("golden{i}"));
        let config = serde_json::json!({"B": b, "S": s, "D": d, "H": h, "F": f});
        write_golden(&dir, "encoder_layer", config, &[], &given, &computed);
        let scenario = root.join(format!("step{i}.yaml"));
        std::fs::write(
            &scenario,
            format!(
                "workload: {{kind: encoder_training_step, golden: golden{i}, layers: {layers}{}{extra}}}\nrun: {{mode: functional}}\n",
                update.yaml()
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
        assert!(
            failed.is_empty(),
            "B,S,D,H,F = {dims:?}, {layers} layers, {update:?}: {failed:?}"
        );
        assert_eq!(
            golden.tensors.len(),
            computed.len(),
            "{dims:?}: every reference tensor compared"
        );
    }
}
