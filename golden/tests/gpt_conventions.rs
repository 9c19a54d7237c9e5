//! The GPT golden directories (`testdata/golden/gpt_tiny`, `gpt_small`) read as their
//! manifests' `conventions` say: token ids in range, the embedding as a gather plus
//! the position rows, and the loss as the mean cross-entropy of the stored logits.
//! A plain f64 forward pass written from the conventions (pre-LN causal decoders,
//! final LayerNorm, tied head) reproduces the stored logits. These pin down the
//! conventions the language-model workload is built against.

// The forward pass is written the textbook way, with indices: plain to check by eye.
#![allow(clippy::needless_range_loop)]

use treta_golden::{testdata, GoldenDir};

fn config(g: &GoldenDir, key: &str) -> usize {
    g.manifest.config[key].as_u64().unwrap() as usize
}

fn check(name: &str) {
    let g = GoldenDir::open(testdata().join(name)).unwrap();
    let (b, s, v, d) = (
        config(&g, "B"),
        config(&g, "S"),
        config(&g, "V"),
        config(&g, "D"),
    );
    let (shape, tokens) = g.ids("input.tokens").unwrap();
    assert_eq!(shape, [b, s]);
    let (_, targets) = g.ids("input.targets").unwrap();
    assert!(tokens
        .iter()
        .chain(&targets)
        .all(|&t| (0..v as i32).contains(&t)));
    // An fp32 tensor is not an id tensor, and the other way round.
    assert!(g.tensor("input.tokens").is_err());
    assert!(g.ids("embed.wte").is_err());

    // x0[b, s, :] = wte[tokens[b, s], :] + wpe[s, :]: one fp32 addition, exact.
    let wte = g.tensor("embed.wte").unwrap().data;
    let wpe = g.tensor("embed.wpe").unwrap().data;
    let x0 = g.tensor("act.embed.out").unwrap().data;
    for (i, &t) in tokens.iter().enumerate() {
        let pos = i % s;
        for k in 0..d {
            let want = wte[t as usize * d + k] + wpe[pos * d + k];
            assert_eq!(
                x0[i * d + k].to_bits(),
                want.to_bits(),
                "{name} token {i} dim {k}"
            );
        }
    }

    // loss = mean over tokens of logsumexp(logits) − logits[target], in f64.
    let logits = g.tensor("output.logits").unwrap().data;
    let mut total = 0.0f64;
    for (i, &t) in targets.iter().enumerate() {
        let row = &logits[i * v..(i + 1) * v];
        let top = row
            .iter()
            .fold(f64::NEG_INFINITY, |m, &x| m.max(f64::from(x)));
        let lse = top
            + row
                .iter()
                .map(|&x| (f64::from(x) - top).exp())
                .sum::<f64>()
                .ln();
        total += lse - f64::from(row[t as usize]);
    }
    let loss = total / (b * s) as f64;
    let stored = f64::from(g.tensor("output.loss").unwrap().data[0]);
    assert!(
        (loss - stored).abs() <= 1e-5 * stored.abs(),
        "{name}: {loss} vs {stored}"
    );
}

/// `rows × n` = `x (rows × k) · w (k × n) + b`, in f64.
fn linear(x: &[f64], rows: usize, k: usize, w: &[f64], b: Option<&[f64]>, n: usize) -> Vec<f64> {
    let mut y = vec![0.0; rows * n];
    for r in 0..rows {
        for j in 0..n {
            let mut acc = b.map_or(0.0, |b| b[j]);
            for i in 0..k {
                acc += x[r * k + i] * w[i * n + j];
            }
            y[r * n + j] = acc;
        }
    }
    y
}

/// LayerNorm of each `d`-wide row, biased variance, ε inside the root.
fn layer_norm(x: &[f64], d: usize, gamma: &[f64], beta: &[f64], eps: f64) -> Vec<f64> {
    let mut y = vec![0.0; x.len()];
    for (row, out) in x.chunks(d).zip(y.chunks_mut(d)) {
        let mean = row.iter().sum::<f64>() / d as f64;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / d as f64;
        let rstd = 1.0 / (var + eps).sqrt();
        for k in 0..d {
            out[k] = (row[k] - mean) * rstd * gamma[k] + beta[k];
        }
    }
    y
}

fn gelu_tanh(x: f64) -> f64 {
    let c = (2.0 / std::f64::consts::PI).sqrt();
    0.5 * x * (1.0 + (c * (x + 0.044715 * x * x * x)).tanh())
}

/// The logits of the whole model, from its parameters and tokens, in f64.
fn forward_logits(g: &GoldenDir, tokens: &[i32]) -> Vec<f64> {
    let p = |name: &str| -> Vec<f64> {
        let t = g.tensor(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        t.data.into_iter().map(f64::from).collect()
    };
    let (s, v, d, h, f, layers) = (
        config(g, "S"),
        config(g, "V"),
        config(g, "D"),
        config(g, "H"),
        config(g, "F"),
        config(g, "L"),
    );
    let eps = g.manifest.config["ln_eps"].as_f64().unwrap();
    let scale = g.manifest.config["attention_scale"].as_f64().unwrap();
    let (t, dh) = (tokens.len(), d / h);
    let (wte, wpe) = (p("embed.wte"), p("embed.wpe"));
    let mut x = vec![0.0; t * d];
    for (i, &tok) in tokens.iter().enumerate() {
        for k in 0..d {
            x[i * d + k] = wte[tok as usize * d + k] + wpe[(i % s) * d + k];
        }
    }
    for l in 0..layers {
        let w = |n: &str| p(&format!("layer{l}.{n}"));
        let h1 = layer_norm(&x, d, &w("ln1.gamma"), &w("ln1.beta"), eps);
        let q = linear(&h1, t, d, &w("attn.wq"), Some(&w("attn.bq")), d);
        let kk = linear(&h1, t, d, &w("attn.wk"), Some(&w("attn.bk")), d);
        let vv = linear(&h1, t, d, &w("attn.wv"), Some(&w("attn.bv")), d);
        let mut ctx = vec![0.0; t * d];
        for seq in 0..t / s {
            for head in 0..h {
                let col = |tok: usize, c: usize| (seq * s + tok) * d + head * dh + c;
                for i in 0..s {
                    // Causal: query i sees keys 0..=i; the masked scores are −inf.
                    let scores: Vec<f64> = (0..=i)
                        .map(|j| (0..dh).map(|c| q[col(i, c)] * kk[col(j, c)]).sum::<f64>() * scale)
                        .collect();
                    let top = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    let e: Vec<f64> = scores.iter().map(|x| (x - top).exp()).collect();
                    let total: f64 = e.iter().sum();
                    for c in 0..dh {
                        ctx[col(i, c)] = (0..=i).map(|j| e[j] / total * vv[col(j, c)]).sum();
                    }
                }
            }
        }
        let attn = linear(&ctx, t, d, &w("attn.wo"), Some(&w("attn.bo")), d);
        let a: Vec<f64> = x.iter().zip(&attn).map(|(x, y)| x + y).collect();
        let h2 = layer_norm(&a, d, &w("ln2.gamma"), &w("ln2.beta"), eps);
        let up: Vec<f64> = linear(&h2, t, d, &w("ffn.w1"), Some(&w("ffn.b1")), f)
            .into_iter()
            .map(gelu_tanh)
            .collect();
        let down = linear(&up, t, f, &w("ffn.w2"), Some(&w("ffn.b2")), d);
        x = a.iter().zip(&down).map(|(x, y)| x + y).collect();
    }
    let hf = layer_norm(&x, d, &p("final_ln.gamma"), &p("final_ln.beta"), eps);
    // Tied head: logits = h · wteᵀ.
    let mut wte_t = vec![0.0; d * v];
    for r in 0..v {
        for k in 0..d {
            wte_t[k * v + r] = wte[r * d + k];
        }
    }
    linear(&hf, t, d, &wte_t, None, v)
}

fn check_forward(name: &str) {
    let g = GoldenDir::open(testdata().join(name)).unwrap();
    let (_, tokens) = g.ids("input.tokens").unwrap();
    let logits: Vec<f32> = forward_logits(&g, &tokens)
        .into_iter()
        .map(|x| x as f32)
        .collect();
    let c = g.compare("output.logits", &logits).unwrap();
    assert!(c.pass, "{c}");
}

#[test]
fn an_f64_forward_from_the_conventions_gives_gpt_tiny_logits() {
    check_forward("gpt_tiny");
}

#[test]
fn an_f64_forward_from_the_conventions_gives_gpt_small_logits() {
    check_forward("gpt_small");
}

#[test]
fn gpt_tiny_follows_its_conventions() {
    check("gpt_tiny");
}

#[test]
fn gpt_small_follows_its_conventions() {
    check("gpt_small");
}
