//! The language-model training step on shapes nobody tuned for — odd S, a
//! vocabulary that is a multiple of nothing, one head, three layers, a position
//! table longer than the sequence, a sequence longer than one causal band, a
//! vocabulary in several cross-entropy tiles, repeated token ids — against a
//! second implementation: the GPT-style model written out plainly here in f64
//! (gather, pre-LN causal decoders, final LayerNorm, tied head, mean
//! cross-entropy, backward with the scatter-add, SGD). Its tensors go into a
//! golden directory of the `gpt_lm_step` format and the platform's golden check
//! compares every one at fp32-level accuracy. ViT's step (patch GEMM, class
//! token, unmasked pre-LN layers, classifier on the class token) gets the same
//! treatment in a `vit_step` golden directory.

#![allow(clippy::needless_range_loop)]

mod f64ref;

use f64ref::{gelu, gelu_grad, layernorm, layernorm_bwd, write_golden, Rng, M};
use std::collections::BTreeMap;
use std::path::Path;

/// The model's shape.
#[derive(Clone, Copy, Debug)]
struct Shape {
    b: usize,
    s: usize,
    v: usize,
    d: usize,
    h: usize,
    f: usize,
    l: usize,
    /// Rows of the position table.
    p: usize,
    /// Causal attention (GPT) or every key for every query (ViT).
    causal: bool,
}

impl Shape {
    fn dh(&self) -> usize {
        self.d / self.h
    }
    fn t(&self) -> usize {
        self.b * self.s
    }
}

/// One layer's forward values that backward needs.
struct Cache {
    u1: M,
    xhat1: M,
    rstd1: Vec<f64>,
    q: M,
    k: M,
    v: M,
    probs: Vec<M>,
    ctx: M,
    u2: M,
    xhat2: M,
    rstd2: Vec<f64>,
    hp: M,
    g: M,
}

type Params = BTreeMap<String, M>;

fn p<'a>(params: &'a Params, l: usize, name: &str) -> &'a M {
    &params[&format!("layer{l}.{name}")]
}

/// Head `hi` of batch `bi` of a T×D tensor: S × Dh.
fn head(m: &M, e: Shape, bi: usize, hi: usize) -> M {
    m.block(bi * e.s, e.s, hi * e.dh(), e.dh())
}

fn forward(params: &Params, x: &M, l: usize, e: Shape) -> (M, Cache) {
    let (u1, xhat1, rstd1) = layernorm(x, p(params, l, "ln1.gamma"), p(params, l, "ln1.beta"));
    let lin = |x: &M, w: &str, b: &str| x.mul(p(params, l, w)).add_row(p(params, l, b));
    let (q, k, v) = (
        lin(&u1, "attn.wq", "attn.bq"),
        lin(&u1, "attn.wk", "attn.bk"),
        lin(&u1, "attn.wv", "attn.bv"),
    );
    let scale = 1.0 / (e.dh() as f64).sqrt();
    let mut ctx = M::zeros(e.t(), e.d);
    let mut probs = Vec::new();
    for bi in 0..e.b {
        for hi in 0..e.h {
            let scores = head(&q, e, bi, hi).mul(&head(&k, e, bi, hi).t());
            let mut pr = M::zeros(e.s, e.s);
            for i in 0..e.s {
                let keys = if e.causal { i + 1 } else { e.s };
                let max = (0..keys)
                    .map(|j| scores.at(i, j) * scale)
                    .fold(f64::MIN, f64::max);
                let sum: f64 = (0..keys)
                    .map(|j| (scores.at(i, j) * scale - max).exp())
                    .sum();
                for j in 0..keys {
                    pr.v[i * e.s + j] = (scores.at(i, j) * scale - max).exp() / sum;
                }
            }
            ctx.set_block(bi * e.s, hi * e.dh(), &pr.mul(&head(&v, e, bi, hi)));
            probs.push(pr);
        }
    }
    let a = x.zip(&lin(&ctx, "attn.wo", "attn.bo"), |x, y| x + y);
    let (u2, xhat2, rstd2) = layernorm(&a, p(params, l, "ln2.gamma"), p(params, l, "ln2.beta"));
    let hp = lin(&u2, "ffn.w1", "ffn.b1");
    let g = hp.map(gelu);
    let y = a.zip(&lin(&g, "ffn.w2", "ffn.b2"), |x, y| x + y);
    let cache = Cache {
        u1,
        xhat1,
        rstd1,
        q,
        k,
        v,
        probs,
        ctx,
        u2,
        xhat2,
        rstd2,
        hp,
        g,
    };
    (y, cache)
}

/// Backward of layer `l` from dy: its parameters' gradients (by DRAM name) and dx.
fn backward(params: &Params, c: &Cache, dy: &M, l: usize, e: Shape) -> (Params, M) {
    let mut grads = Params::new();
    let mut lin_bwd = |x: &M, w: &str, b: &str, dout: &M| -> M {
        grads.insert(format!("layer{l}.{w}"), x.t().mul(dout));
        grads.insert(format!("layer{l}.{b}"), dout.col_sum());
        dout.mul(&p(params, l, w).t())
    };
    let dg = lin_bwd(&c.g, "ffn.w2", "ffn.b2", dy);
    let dhp = dg.zip(&c.hp, |d, x| d * gelu_grad(x));
    let du2 = lin_bwd(&c.u2, "ffn.w1", "ffn.b1", &dhp);
    let (dln2, dg2, db2) = layernorm_bwd(&du2, &c.xhat2, &c.rstd2, p(params, l, "ln2.gamma"));
    let da = dy.zip(&dln2, |a, b| a + b);
    let dctx = lin_bwd(&c.ctx, "attn.wo", "attn.bo", &da);
    let scale = 1.0 / (e.dh() as f64).sqrt();
    let (mut dq, mut dk, mut dv) = (
        M::zeros(e.t(), e.d),
        M::zeros(e.t(), e.d),
        M::zeros(e.t(), e.d),
    );
    for bi in 0..e.b {
        for hi in 0..e.h {
            let pr = &c.probs[bi * e.h + hi];
            let dc = head(&dctx, e, bi, hi);
            let dp = dc.mul(&head(&c.v, e, bi, hi).t());
            let mut ds = M::zeros(e.s, e.s);
            for i in 0..e.s {
                let dot: f64 = (0..e.s).map(|j| pr.at(i, j) * dp.at(i, j)).sum();
                for j in 0..e.s {
                    ds.v[i * e.s + j] = pr.at(i, j) * (dp.at(i, j) - dot) * scale;
                }
            }
            dv.set_block(bi * e.s, hi * e.dh(), &pr.t().mul(&dc));
            dq.set_block(bi * e.s, hi * e.dh(), &ds.mul(&head(&c.k, e, bi, hi)));
            dk.set_block(bi * e.s, hi * e.dh(), &ds.t().mul(&head(&c.q, e, bi, hi)));
        }
    }
    let du1 = [("q", &dq), ("k", &dk), ("v", &dv)]
        .into_iter()
        .map(|(w, d)| lin_bwd(&c.u1, &format!("attn.w{w}"), &format!("attn.b{w}"), d))
        .reduce(|a, b| a.zip(&b, |x, y| x + y))
        .expect("three projections");
    let (dln1, dg1, db1) = layernorm_bwd(&du1, &c.xhat1, &c.rstd1, p(params, l, "ln1.gamma"));
    for (n, g) in [
        ("ln1.gamma", dg1),
        ("ln1.beta", db1),
        ("ln2.gamma", dg2),
        ("ln2.beta", db2),
    ] {
        grads.insert(format!("layer{l}.{n}"), g);
    }
    (grads, da.zip(&dln1, |a, b| a + b))
}

const LAYER_PARAMS: [(&str, char, char); 16] = [
    ("attn.wq", 'd', 'd'),
    ("attn.bq", '1', 'd'),
    ("attn.wk", 'd', 'd'),
    ("attn.bk", '1', 'd'),
    ("attn.wv", 'd', 'd'),
    ("attn.bv", '1', 'd'),
    ("attn.wo", 'd', 'd'),
    ("attn.bo", '1', 'd'),
    ("ln1.gamma", '1', 'd'),
    ("ln1.beta", '1', 'd'),
    ("ffn.w1", 'd', 'f'),
    ("ffn.b1", '1', 'f'),
    ("ffn.w2", 'f', 'd'),
    ("ffn.b2", '1', 'd'),
    ("ln2.gamma", '1', 'd'),
    ("ln2.beta", '1', 'd'),
];

/// Random parameters of `e.l` layers, as the golden data names them.
fn layer_params(rng: &mut Rng, e: Shape, params: &mut Params) {
    for l in 0..e.l {
        for (name, r, c) in LAYER_PARAMS {
            let dim = |x: char| match x {
                '1' => 1,
                'd' => e.d,
                _ => e.f,
            };
            let (sigma, mean) = match name {
                n if n.ends_with("gamma") => (0.1, 1.0),
                n if n.starts_with("attn.w") || n.starts_with("ffn.w") => {
                    (1.0 / (dim(r) as f64).sqrt(), 0.0)
                }
                _ => (0.1, 0.0),
            };
            params.insert(
                format!("layer{l}.{name}"),
                rng.matrix(dim(r), dim(c), sigma, mean),
            );
        }
    }
}

/// Each gradient and its SGD step (lr 0.01) into `computed`.
fn sgd(params: &Params, grads: Params, computed: &mut Params) {
    for (name, g) in grads {
        let updated = params[&name].zip(&g, |w, gr| w - 0.01 * gr);
        computed.insert(format!("sgd.{name}"), updated);
        computed.insert(format!("grad.{name}"), g);
    }
}

/// Mean cross-entropy of `logits` rows against `targets`: the loss and dlogits.
fn cross_entropy(logits: &M, targets: &[i32]) -> (f64, M) {
    let (t, v) = (logits.r, logits.c);
    let mut dlogits = M::zeros(t, v);
    let mut loss = 0.0;
    for i in 0..t {
        let row = &logits.v[i * v..(i + 1) * v];
        let max = row.iter().copied().fold(f64::MIN, f64::max);
        let sum: f64 = row.iter().map(|z| (z - max).exp()).sum();
        loss += (max + sum.ln() - row[targets[i] as usize]) / t as f64;
        for j in 0..v {
            let onehot = if j == targets[i] as usize { 1.0 } else { 0.0 };
            dlogits.v[i * v + j] = ((row[j] - max).exp() / sum - onehot) / t as f64;
        }
    }
    (loss, dlogits)
}

/// The layers' forward from x: the top output; their outputs, probabilities
/// and caches recorded.
fn layers_forward(params: &Params, mut x: M, e: Shape, computed: &mut Params) -> (M, Vec<Cache>) {
    let mut caches = Vec::new();
    for l in 0..e.l {
        let (y, cache) = forward(params, &x, l, e);
        computed.insert(format!("act.layer{l}.out"), y.clone());
        let mut all = M::zeros(e.b * e.h * e.s, e.s);
        for (i, pr) in cache.probs.iter().enumerate() {
            all.set_block(i * e.s, 0, pr);
        }
        computed.insert(format!("act.layer{l}.attn.probs"), all);
        caches.push(cache);
        x = y;
    }
    (x, caches)
}

/// The layers' backward from the top's dy: the embedding's gradient.
fn layers_backward(
    params: &Params,
    caches: &[Cache],
    mut dy: M,
    e: Shape,
    grads: &mut Params,
    computed: &mut Params,
) -> M {
    for l in (0..e.l).rev() {
        computed.insert(format!("grad.act.layer{l}.out"), dy.clone());
        let (g, dx) = backward(params, &caches[l], &dy, l, e);
        grads.extend(g);
        dy = dx;
    }
    computed.insert("grad.act.embed.out".into(), dy.clone());
    dy
}

fn scalar(x: f64) -> M {
    M {
        r: 1,
        c: 1,
        v: vec![x],
    }
}

/// The reference step: ids, given tensors and computed ones, by name.
fn reference(e: Shape, seed: u64) -> (Vec<i32>, Vec<i32>, Params, Params) {
    let mut rng = Rng(seed);
    let t = e.t();
    // Few distinct ids, so the scatter-add meets repeated tokens.
    let tokens: Vec<i32> = (0..t)
        .map(|i| ((i * 7 + 3) % e.v.min(5 + t / 2)) as i32)
        .collect();
    let targets: Vec<i32> = (0..t).map(|i| ((i * 11 + 1) % e.v) as i32).collect();
    let mut params = Params::new();
    params.insert("embed.wte".into(), rng.matrix(e.v, e.d, 0.5, 0.0));
    params.insert("embed.wpe".into(), rng.matrix(e.p, e.d, 0.3, 0.0));
    params.insert("final_ln.gamma".into(), rng.matrix(1, e.d, 0.1, 1.0));
    params.insert("final_ln.beta".into(), rng.matrix(1, e.d, 0.1, 0.0));
    layer_params(&mut rng, e, &mut params);
    let mut computed = Params::new();
    let wte = &params["embed.wte"];
    let mut x = M::zeros(t, e.d);
    for i in 0..t {
        for j in 0..e.d {
            x.v[i * e.d + j] = wte.at(tokens[i] as usize, j) + params["embed.wpe"].at(i % e.s, j);
        }
    }
    computed.insert("act.embed.out".into(), x.clone());
    let (x, caches) = layers_forward(&params, x, e, &mut computed);
    let (h, xhatf, rstdf) = layernorm(&x, &params["final_ln.gamma"], &params["final_ln.beta"]);
    let logits = h.mul(&wte.t());
    let (loss, dlogits) = cross_entropy(&logits, &targets);
    computed.insert("output.logits".into(), logits);
    computed.insert("grad.output.logits".into(), dlogits.clone());
    computed.insert("output.loss".into(), scalar(loss));
    let mut grads = Params::new();
    let mut gwte = dlogits.t().mul(&h);
    let dh = dlogits.mul(wte);
    let (dy, dgf, dbf) = layernorm_bwd(&dh, &xhatf, &rstdf, &params["final_ln.gamma"]);
    grads.insert("final_ln.gamma".into(), dgf);
    grads.insert("final_ln.beta".into(), dbf);
    let dy = layers_backward(&params, &caches, dy, e, &mut grads, &mut computed);
    let mut gwpe = M::zeros(e.p, e.d);
    for i in 0..t {
        for j in 0..e.d {
            gwte.v[tokens[i] as usize * e.d + j] += dy.at(i, j);
            gwpe.v[(i % e.s) * e.d + j] += dy.at(i, j);
        }
    }
    grads.insert("embed.wte".into(), gwte);
    grads.insert("embed.wpe".into(), gwpe);
    sgd(&params, grads, &mut computed);
    (tokens, targets, params, computed)
}

/// Pixels of a patch (3 × 16 × 16).
const PIXELS: usize = 768;

/// The ViT reference step: targets, given tensors (patches among them) and
/// computed ones. `e.s` is the class token and `e.s − 1` patches per image,
/// `e.v` the classes.
fn vit_reference(e: Shape, seed: u64) -> (Vec<i32>, Params, Params) {
    let mut rng = Rng(seed);
    let (t, patches) = (e.t(), e.s - 1);
    let targets: Vec<i32> = (0..e.b).map(|i| ((i * 5 + 2) % e.v) as i32).collect();
    let mut params = Params::new();
    let sigma = 1.0 / (PIXELS as f64).sqrt();
    params.insert("patch_embed.w".into(), rng.matrix(PIXELS, e.d, sigma, 0.0));
    params.insert("patch_embed.b".into(), rng.matrix(1, e.d, 0.1, 0.0));
    params.insert("cls_token".into(), rng.matrix(1, e.d, 0.5, 0.0));
    params.insert("embed.wpe".into(), rng.matrix(e.p, e.d, 0.3, 0.0));
    params.insert("final_ln.gamma".into(), rng.matrix(1, e.d, 0.1, 1.0));
    params.insert("final_ln.beta".into(), rng.matrix(1, e.d, 0.1, 0.0));
    params.insert("head.w".into(), rng.matrix(e.v, e.d, 0.5, 0.0));
    params.insert("head.b".into(), rng.matrix(1, e.v, 0.1, 0.0));
    layer_params(&mut rng, e, &mut params);
    let pixels = rng.matrix(e.b * patches, PIXELS, 1.0, 0.0);
    let mut computed = Params::new();
    let pe = pixels
        .mul(&params["patch_embed.w"])
        .add_row(&params["patch_embed.b"]);
    let (cls, wpe) = (&params["cls_token"], &params["embed.wpe"]);
    let mut x = M::zeros(t, e.d);
    for bi in 0..e.b {
        for j in 0..e.d {
            x.v[bi * e.s * e.d + j] = cls.at(0, j) + wpe.at(0, j);
            for i in 0..patches {
                x.v[(bi * e.s + 1 + i) * e.d + j] = pe.at(bi * patches + i, j) + wpe.at(1 + i, j);
            }
        }
    }
    computed.insert("act.patch_embed.out".into(), pe);
    computed.insert("act.embed.out".into(), x.clone());
    let (top, caches) = layers_forward(&params, x, e, &mut computed);
    let class_rows = M {
        r: e.b,
        c: e.d,
        v: (0..e.b)
            .flat_map(|bi| top.v[bi * e.s * e.d..(bi * e.s + 1) * e.d].to_vec())
            .collect(),
    };
    let gamma = &params["final_ln.gamma"];
    let (h, xhatf, rstdf) = layernorm(&class_rows, gamma, &params["final_ln.beta"]);
    let head = &params["head.w"];
    let logits = h.mul(&head.t()).add_row(&params["head.b"]);
    let (loss, dlogits) = cross_entropy(&logits, &targets);
    computed.insert("output.logits".into(), logits);
    computed.insert("grad.output.logits".into(), dlogits.clone());
    computed.insert("output.loss".into(), scalar(loss));
    let mut grads = Params::new();
    grads.insert("head.w".into(), dlogits.t().mul(&h));
    grads.insert("head.b".into(), dlogits.col_sum());
    let (dcls, dgf, dbf) = layernorm_bwd(&dlogits.mul(head), &xhatf, &rstdf, gamma);
    grads.insert("final_ln.gamma".into(), dgf);
    grads.insert("final_ln.beta".into(), dbf);
    // Only the class rows reach the loss.
    let mut dy = M::zeros(t, e.d);
    for bi in 0..e.b {
        dy.set_block(bi * e.s, 0, &dcls.block(bi, 1, 0, e.d));
    }
    let dx = layers_backward(&params, &caches, dy, e, &mut grads, &mut computed);
    let (mut gwpe, mut gcls) = (M::zeros(e.p, e.d), M::zeros(1, e.d));
    let mut dpe = M::zeros(e.b * patches, e.d);
    for bi in 0..e.b {
        for i in 0..e.s {
            for j in 0..e.d {
                let g = dx.at(bi * e.s + i, j);
                gwpe.v[i * e.d + j] += g;
                if i == 0 {
                    gcls.v[j] += g;
                } else {
                    dpe.v[(bi * patches + i - 1) * e.d + j] = g;
                }
            }
        }
    }
    grads.insert("embed.wpe".into(), gwpe);
    grads.insert("cls_token".into(), gcls);
    grads.insert("patch_embed.w".into(), pixels.t().mul(&dpe));
    grads.insert("patch_embed.b".into(), dpe.col_sum());
    sgd(&params, grads, &mut computed);
    params.insert("input.patches".into(), pixels);
    (targets, params, computed)
}

/// Runs `scenario` (beside its golden directory) in functional mode and
/// asserts every one of the `expected` reference tensors compared and passed.
fn assert_golden_passes(scenario: &Path, expected: usize, what: &str) {
    let loaded = treta_vp::scenario::load(scenario, &[]).unwrap_or_else(|err| panic!("{err}"));
    let report = treta_vp::run::run(&loaded, treta_vp::run::RunSettings::default())
        .unwrap_or_else(|err| panic!("{what}: {err}"));
    let golden = report.golden.expect("compared");
    let failed: Vec<String> = golden
        .tensors
        .iter()
        .filter(|t| !t.pass)
        .map(|t| format!("{} {:.2e} > {:.2e}", t.name, t.max_abs_err, t.tolerance))
        .collect();
    assert!(failed.is_empty(), "{what}: {failed:?}");
    assert_eq!(
        golden.tensors.len(),
        expected,
        "{what}: every reference tensor compared"
    );
}

#[test]
fn untuned_language_models_match_a_plain_f64_implementation() {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lm_any_shape");
    for (i, (e, extra)) in [
        // Odd S, a prime vocabulary, one head, three layers, positions past S.
        (
            Shape {
                b: 1,
                s: 7,
                v: 37,
                d: 12,
                h: 1,
                f: 20,
                l: 3,
                p: 9,
                causal: true,
            },
            "",
        ),
        // Two sequences, the vocabulary in five tiles of 11 (the last of 9).
        (
            Shape {
                b: 2,
                s: 5,
                v: 53,
                d: 8,
                h: 2,
                f: 12,
                l: 1,
                p: 5,
                causal: true,
            },
            ", vocab_tile: 11",
        ),
        // Longer than one causal band of 128 queries: whole masked tiles skipped.
        (
            Shape {
                b: 1,
                s: 131,
                v: 29,
                d: 8,
                h: 2,
                f: 8,
                l: 1,
                p: 131,
                causal: true,
            },
            "",
        ),
        // Every operation in several row tiles of a small SRAM.
        (
            Shape {
                b: 2,
                s: 6,
                v: 41,
                d: 12,
                h: 3,
                f: 20,
                l: 2,
                p: 6,
                causal: true,
            },
            ", vocab_tile: 16}\nplatform: {sram: {bytes: 2048}",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let (tokens, targets, given, computed) = reference(e, 200 + i as u64);
        let dir = root.join(format!("golden{i}"));
        let config = serde_json::json!({
            "B": e.b, "S": e.s, "V": e.v, "D": e.d, "H": e.h, "F": e.f, "L": e.l
        });
        let ids = [
            ("input.tokens", vec![e.b, e.s], tokens),
            ("input.targets", vec![e.b, e.s], targets),
        ];
        write_golden(&dir, "gpt_lm_step", config, &ids, &given, &computed);
        let scenario = root.join(format!("step{i}.yaml"));
        std::fs::write(
            &scenario,
            format!("workload: {{kind: lm_training_step, golden: golden{i}{extra}}}\nrun: {{mode: functional}}\n"),
        )
        .expect("scenario");
        assert_golden_passes(&scenario, computed.len(), &format!("{e:?}"));
    }
}

#[test]
fn untuned_vision_transformers_match_a_plain_f64_implementation() {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("vit_any_shape");
    for (i, (e, extra)) in [
        // Two images of 6 patches, a prime number of classes, one head, three
        // layers, positions past S.
        (
            Shape {
                b: 2,
                s: 7,
                v: 11,
                d: 12,
                h: 1,
                f: 20,
                l: 3,
                p: 9,
                causal: false,
            },
            "",
        ),
        // Three images, more classes than one tile, a small SRAM.
        (
            Shape {
                b: 3,
                s: 5,
                v: 23,
                d: 8,
                h: 2,
                f: 12,
                l: 1,
                p: 5,
                causal: false,
            },
            ", vocab_tile: 10}\nplatform: {sram: {bytes: 8192}",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let (targets, given, computed) = vit_reference(e, 300 + i as u64);
        let dir = root.join(format!("golden{i}"));
        let config = serde_json::json!({
            "B": e.b, "S": e.s, "C": e.v, "D": e.d, "H": e.h, "F": e.f, "L": e.l
        });
        let ids = [("input.targets", vec![e.b], targets)];
        write_golden(&dir, "vit_step", config, &ids, &given, &computed);
        let scenario = root.join(format!("step{i}.yaml"));
        std::fs::write(
            &scenario,
            format!("workload: {{kind: lm_training_step, golden: golden{i}{extra}}}\nrun: {{mode: functional}}\n"),
        )
        .expect("scenario");
        assert_golden_passes(&scenario, computed.len(), &format!("{e:?}"));
    }
}
