//! The SFU's arithmetic against JAX (`testdata/golden`): in exact mode every unit
//! vector (softmax lengths 1–512 with ±80 and masked rows, LayerNorm widths
//! 1–1024 with variance below ε and large offsets) and the per-unit tensors of the
//! `tiny` and `small` layers, within the golden tolerance rule; masked entries
//! exactly 0; the SGD step bit for bit. In hardware mode the error of each
//! operation is measured and held to what the approximations' parameters predict
//! (`cargo test -p treta-numerics --test golden_sfu -- --nocapture` prints it).

use treta_golden::{testdata, GoldenDir, Tensor};
use treta_numerics::sfu::{
    gelu_bwd, gelu_fwd, layernorm_bwd_row, layernorm_fwd_row, mse_row, softmax_bwd_row,
    softmax_fwd_row, Exact, Hardware, HardwareParams, LayerNormStats, Math,
};

fn dir(name: &str) -> GoldenDir {
    GoldenDir::open(testdata().join(name)).unwrap_or_else(|e| panic!("{e}"))
}

fn t(d: &GoldenDir, name: &str) -> Tensor {
    d.tensor(name).unwrap_or_else(|e| panic!("{e}"))
}

fn check(d: &GoldenDir, name: &str, got: &[f32]) {
    let r = d.compare(name, got).unwrap_or_else(|e| panic!("{e}"));
    assert!(r.pass, "{r}");
}

/// Row width of a 2-D (or flattened-to-2-D) tensor: its last dimension.
fn width(x: &Tensor) -> usize {
    x.shape.last().copied().unwrap_or(1)
}

fn softmax(x: &[f32], w: usize, m: &impl Math) -> Vec<f32> {
    let mut p = vec![0.0; x.len()];
    for (row, out) in x.chunks(w).zip(p.chunks_mut(w)) {
        softmax_fwd_row(row, 1.0, out, m);
    }
    p
}

fn softmax_back(p: &[f32], dp: &[f32], w: usize) -> Vec<f32> {
    let mut dx = vec![0.0; p.len()];
    for ((pr, dr), out) in p.chunks(w).zip(dp.chunks(w)).zip(dx.chunks_mut(w)) {
        softmax_bwd_row(pr, dr, out);
    }
    dx
}

/// LayerNorm forward and backward over all rows: (y, mean, rstd, dx, dγ, dβ).
struct LayerNormOut {
    y: Vec<f32>,
    mean: Vec<f32>,
    rstd: Vec<f32>,
    dx: Vec<f32>,
    dgamma: Vec<f32>,
    dbeta: Vec<f32>,
}

fn layernorm(x: &[f32], gamma: &[f32], beta: &[f32], dy: &[f32], m: &impl Math) -> LayerNormOut {
    let w = gamma.len();
    let mut o = LayerNormOut {
        y: vec![0.0; x.len()],
        mean: Vec::new(),
        rstd: Vec::new(),
        dx: vec![0.0; x.len()],
        dgamma: vec![0.0; w],
        dbeta: vec![0.0; w],
    };
    for (i, row) in x.chunks(w).enumerate() {
        let s = layernorm_fwd_row(row, gamma, beta, 1e-5, &mut o.y[i * w..(i + 1) * w], m);
        o.mean.push(s.mean);
        o.rstd.push(s.rstd);
        layernorm_bwd_row(
            &dy[i * w..(i + 1) * w],
            row,
            gamma,
            LayerNormStats {
                mean: s.mean,
                rstd: s.rstd,
            },
            &mut o.dx[i * w..(i + 1) * w],
            &mut o.dgamma,
            &mut o.dbeta,
            m,
        );
    }
    o
}

#[test]
fn softmax_units_match_jax_and_masked_entries_are_zero() {
    let d = dir("units");
    for l in [1, 7, 64, 197, 512] {
        let x = t(&d, &format!("softmax.L{l}.x"));
        let dp = t(&d, &format!("softmax.L{l}.dp"));
        let p = softmax(&x.data, l, &Exact);
        check(&d, &format!("softmax.L{l}.p"), &p);
        let dx = softmax_back(&p, &dp.data, l);
        check(&d, &format!("softmax.L{l}.dx"), &dx);
        for (i, &v) in x.data.iter().enumerate() {
            if v == f32::NEG_INFINITY {
                assert_eq!((p[i], dx[i]), (0.0, 0.0), "L{l} element {i}");
            }
        }
    }
}

#[test]
fn layernorm_units_match_jax() {
    let d = dir("units");
    for w in [1, 8, 768, 1024] {
        let g = |s: &str| t(&d, &format!("layernorm.W{w}.{s}")).data;
        let o = layernorm(&g("x"), &g("gamma"), &g("beta"), &g("dy"), &Exact);
        for (name, got) in [
            ("y", &o.y),
            ("mean", &o.mean),
            ("rstd", &o.rstd),
            ("dx", &o.dx),
            ("dgamma", &o.dgamma),
            ("dbeta", &o.dbeta),
        ] {
            check(&d, &format!("layernorm.W{w}.{name}"), got);
        }
    }
}

fn layer_units(name: &str) {
    let d = dir(name);
    // Softmax over keys, forward and backward.
    let scores = t(&d, "act.attn.scores");
    let s = width(&scores);
    let probs = softmax(&scores.data, s, &Exact);
    check(&d, "act.attn.probs", &probs);
    let dp = t(&d, "grad.act.attn.probs");
    let given_p = t(&d, "act.attn.probs");
    check(
        &d,
        "grad.act.attn.scores",
        &softmax_back(&given_p.data, &dp.data, s),
    );
    // Both LayerNorms, forward and backward, from the stored inputs.
    for ln in ["ln1", "ln2"] {
        let x = t(&d, &format!("act.{ln}.in"));
        let gamma = t(&d, &format!("layer.{ln}.gamma"));
        let beta = t(&d, &format!("layer.{ln}.beta"));
        let dy = t(&d, &format!("grad.act.{ln}.out"));
        let o = layernorm(&x.data, &gamma.data, &beta.data, &dy.data, &Exact);
        check(&d, &format!("act.{ln}.out"), &o.y);
        check(&d, &format!("act.{ln}.mean"), &o.mean);
        check(&d, &format!("act.{ln}.rstd"), &o.rstd);
        check(&d, &format!("grad.act.{ln}.in"), &o.dx);
        check(&d, &format!("grad.layer.{ln}.gamma"), &o.dgamma);
        check(&d, &format!("grad.layer.{ln}.beta"), &o.dbeta);
    }
    // GELU forward and backward.
    let h = t(&d, "act.ffn.h_pre");
    let post: Vec<f32> = h.data.iter().map(|&x| gelu_fwd(x, &Exact)).collect();
    check(&d, "act.ffn.h_post", &post);
    let dpost = t(&d, "grad.act.ffn.h_post");
    let dpre: Vec<f32> = h
        .data
        .iter()
        .zip(&dpost.data)
        .map(|(&x, &dy)| gelu_bwd(x, dy, &Exact))
        .collect();
    check(&d, "grad.act.ffn.h_pre", &dpre);
    // The MSE loss and its gradient.
    let (y, target) = (t(&d, "output.y"), t(&d, "input.target"));
    let inv_n = 1.0 / y.data.len() as f32;
    let mut dy = vec![0.0; y.data.len()];
    let loss = mse_row(&y.data, &target.data, inv_n, &mut dy);
    check(&d, "output.loss", &[loss]);
    check(&d, "grad.act.ln2.out", &dy);
    // A bias gradient: column sums over tokens.
    let dout = t(&d, "grad.act.ffn.out");
    let cols = width(&dout);
    let mut db2 = vec![0.0f32; cols];
    for row in dout.data.chunks(cols) {
        db2.iter_mut().zip(row).for_each(|(a, &v)| *a += v);
    }
    check(&d, "grad.layer.ffn.b2", &db2);
    // SGD, bit for bit: param − f32(f32(0.01)·grad), two roundings, no FMA.
    for info in d
        .manifest
        .tensors
        .iter()
        .filter(|i| i.name.starts_with("sgd."))
    {
        let param = &info.name["sgd.".len()..];
        let (p, g) = (t(&d, param), t(&d, &format!("grad.{param}")));
        let stepped: Vec<f32> = p
            .data
            .iter()
            .zip(&g.data)
            .map(|(&w, &gr)| w - 0.01f32 * gr)
            .collect();
        let want = t(&d, &info.name);
        assert!(
            stepped
                .iter()
                .zip(&want.data)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{}: not bit-exact",
            info.name
        );
    }
}

#[test]
fn tiny_layer_units_match_jax() {
    layer_units("tiny");
}

#[test]
fn small_layer_units_match_jax() {
    layer_units("small");
}

/// max and mean of |got − want| / |want| over the elements with |want| > floor.
fn rel_errors(got: &[f32], want: &[f32], floor: f32) -> (f64, f64) {
    let errs: Vec<f64> = got
        .iter()
        .zip(want)
        .filter(|(_, w)| w.abs() > floor && w.is_finite())
        .map(|(&g, &w)| ((f64::from(g) - f64::from(w)) / f64::from(w)).abs())
        .collect();
    let max = errs.iter().copied().fold(0.0, f64::max);
    (max, errs.iter().sum::<f64>() / errs.len().max(1) as f64)
}

#[test]
fn hardware_mode_errors_are_what_the_parameters_predict() {
    let units = dir("units");
    let small = dir("small");
    println!(
        "| approximation setting | op | vectors | max rel err | mean rel err | predicted bound |"
    );
    println!("|---|---|---|---:|---:|---:|");
    for params in [
        HardwareParams::default(),
        HardwareParams {
            exp_degree: 3,
            lut_bits: 6,
            newton_steps: 1,
        },
        HardwareParams {
            exp_degree: 2,
            lut_bits: 5,
            newton_steps: 0,
        },
    ] {
        let hw = Hardware::new(params).expect("valid");
        let pred = hw.predicted();
        let label = format!(
            "exp deg {}, {}-bit tables, {} Newton",
            params.exp_degree, params.lut_bits, params.newton_steps
        );
        let row = |op: &str, vectors: &str, (max, mean): (f64, f64), bound: f64| {
            println!("| {label} | {op} | {vectors} | {max:.2e} | {mean:.2e} | {bound:.2e} |");
            assert!(
                max <= bound,
                "{label}: {op} on {vectors}: {max:e} > predicted {bound:e}"
            );
        };
        // Softmax: p = e/Σe, each e and the sum within ε_exp, then the reciprocal,
        // plus fp32 rounding of the sum (L terms) and the product.
        let rounding = |n: usize| (n as f64 + 4.0) / (1u64 << 24) as f64;
        for l in [7, 64, 197, 512] {
            let x = t(&units, &format!("softmax.L{l}.x"));
            let exact = softmax(&x.data, l, &Exact);
            let approx = softmax(&x.data, l, &hw);
            let bound = 2.0 * pred.exp + pred.recip + rounding(l);
            // Probabilities below 1e-30 come from exp near fp32's subnormal range.
            row(
                "softmax",
                &format!("units L={l}"),
                rel_errors(&approx, &exact, 1e-30),
                bound,
            );
        }
        let scores = t(&small, "act.attn.scores");
        let w = width(&scores);
        row(
            "softmax",
            "small attention scores",
            rel_errors(
                &softmax(&scores.data, w, &hw),
                &softmax(&scores.data, w, &Exact),
                1e-30,
            ),
            2.0 * pred.exp + pred.recip + rounding(w),
        );
        // LayerNorm: rstd = rsqrt(var + ε) on an exactly computed variance.
        for wd in [8, 768, 1024] {
            let g = |s: &str| t(&units, &format!("layernorm.W{wd}.{s}")).data;
            let (x, gamma, beta, dy) = (g("x"), g("gamma"), g("beta"), g("dy"));
            let e = layernorm(&x, &gamma, &beta, &dy, &Exact);
            let a = layernorm(&x, &gamma, &beta, &dy, &hw);
            row(
                "layernorm rstd",
                &format!("units W={wd}"),
                rel_errors(&a.rstd, &e.rstd, 0.0),
                pred.rsqrt,
            );
        }
        // GELU: tanh's error is absolute, ≈ 2(ε_exp + ε_recip); gelu = 0.5x(1+t), so
        // |Δgelu| ≤ 0.5|x|·|Δt|: compared relative to max(|x|, 1)/2 scale below.
        let h = t(&small, "act.ffn.h_pre");
        let worst = h
            .data
            .iter()
            .map(|&x| {
                let diff = (f64::from(gelu_fwd(x, &hw)) - f64::from(gelu_fwd(x, &Exact))).abs();
                diff / (0.5 * f64::from(x.abs()).max(1e-3))
            })
            .fold(0.0, f64::max);
        row(
            "gelu (error ÷ |x|/2)",
            "small FFN pre-activations",
            (worst, worst),
            2.0 * (pred.exp + pred.recip) + rounding(8),
        );
    }
}
