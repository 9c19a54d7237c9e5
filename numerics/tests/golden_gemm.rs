//! The functional GEMM against JAX (`testdata/golden`, copied from
//! `../shared/golden`): the 13 unit triples in all three training forms, and the
//! GEMMs inside the `tiny` and `small` encoder layers, each within the golden
//! tolerance rule. Transposed operands are strided views of the stored tensors.

use treta_golden::{testdata, GoldenDir, Tensor};
use treta_numerics::gemm::{gemm, MatRef};

fn dir(name: &str) -> GoldenDir {
    GoldenDir::open(testdata().join(name)).unwrap_or_else(|e| panic!("{e}"))
}

fn tensor(d: &GoldenDir, name: &str) -> Tensor {
    d.tensor(name).unwrap_or_else(|e| panic!("{e}"))
}

/// Multiplies and checks `want` with the golden rule, returning the comparison line.
fn check(d: &GoldenDir, want: &str, a: MatRef<'_>, b: MatRef<'_>) -> String {
    let mut c = vec![0.0; a.rows() * b.cols()];
    gemm(a, b, &mut c, 0, false).expect("shapes fit");
    let r = d.compare(want, &c).unwrap_or_else(|e| panic!("{e}"));
    assert!(r.pass, "{r}");
    r.to_string()
}

#[test]
fn unit_triples_forward_backward_data_and_weight_gradient() {
    let d = dir("units");
    let shapes: Vec<[usize; 3]> = d.manifest.extra["gemms_MKN"]
        .as_array()
        .expect("gemms_MKN")
        .iter()
        .map(|t| {
            let v: Vec<usize> = t
                .as_array()
                .expect("[M, K, N]")
                .iter()
                .map(|x| x.as_u64().expect("dim") as usize)
                .collect();
            [v[0], v[1], v[2]]
        })
        .collect();
    assert_eq!(shapes.len(), 13);
    for [m, k, n] in shapes {
        let p = format!("gemm.M{m}_K{k}_N{n}");
        let a = tensor(&d, &format!("{p}.a"));
        let b = tensor(&d, &format!("{p}.b"));
        let dc = tensor(&d, &format!("{p}.dc"));
        // c = a·b
        check(
            &d,
            &format!("{p}.c"),
            MatRef::row_major(&a.data, m, k, 0),
            MatRef::row_major(&b.data, k, n, 0),
        );
        // da = dc·bᵀ: b read down its columns.
        check(
            &d,
            &format!("{p}.da"),
            MatRef::row_major(&dc.data, m, n, 0),
            MatRef::transposed(&b.data, n, k, 0),
        );
        // db = aᵀ·dc: a read down its columns.
        check(
            &d,
            &format!("{p}.db"),
            MatRef::transposed(&a.data, k, m, 0),
            MatRef::row_major(&dc.data, m, n, 0),
        );
    }
}

/// The layer's dims from its manifest.
fn dims(d: &GoldenDir) -> [usize; 5] {
    let c = &d.manifest.config;
    ["B", "S", "D", "H", "F"].map(|k| c[k].as_u64().expect("dim") as usize)
}

fn layer_gemms(name: &str) {
    let d = dir(name);
    let [b, s, dm, h, f] = dims(&d);
    let dh = dm / h;
    let tokens = b * s;
    let t = |n: &str| tensor(&d, n);
    let (h_post, dout, w2) = (
        t("act.ffn.h_post"),
        t("grad.act.ffn.out"),
        t("layer.ffn.w2"),
    );
    // Weight gradient over all tokens: dW2 = h_postᵀ · dF.
    check(
        &d,
        "grad.layer.ffn.w2",
        MatRef::transposed(&h_post.data, f, tokens, 0),
        MatRef::row_major(&dout.data, tokens, dm, 0),
    );
    // Backward data: dG = dF · W2ᵀ.
    check(
        &d,
        "grad.act.ffn.h_post",
        MatRef::row_major(&dout.data, tokens, dm, 0),
        MatRef::transposed(&w2.data, dm, f, 0),
    );
    let (ln1, dh_pre) = (t("act.ln1.out"), t("grad.act.ffn.h_pre"));
    check(
        &d,
        "grad.layer.ffn.w1",
        MatRef::transposed(&ln1.data, dm, tokens, 0),
        MatRef::row_major(&dh_pre.data, tokens, f, 0),
    );
    let (ctx_m, dattn, wo) = (
        t("act.attn.ctx_merged"),
        t("grad.act.attn.out"),
        t("layer.attn.wo"),
    );
    check(
        &d,
        "grad.layer.attn.wo",
        MatRef::transposed(&ctx_m.data, dm, tokens, 0),
        MatRef::row_major(&dattn.data, tokens, dm, 0),
    );
    check(
        &d,
        "grad.act.attn.ctx_merged",
        MatRef::row_major(&dattn.data, tokens, dm, 0),
        MatRef::transposed(&wo.data, dm, dm, 0),
    );
    // Forward with bias: C preloaded with b1 on every row, then C += ln1·W1 (how
    // the hardware adds a bias: accumulate).
    let (w1, b1) = (t("layer.ffn.w1"), t("layer.ffn.b1"));
    let mut hpre: Vec<f32> = (0..tokens).flat_map(|_| b1.data.iter().copied()).collect();
    gemm(
        MatRef::row_major(&ln1.data, tokens, dm, 0),
        MatRef::row_major(&w1.data, dm, f, 0),
        &mut hpre,
        0,
        true,
    )
    .expect("fits");
    let r = d.compare("act.ffn.h_pre", &hpre).expect("compare");
    assert!(r.pass, "{r}");
    // Attention, per (batch, head): scores = q·kᵀ·(1/√Dh), ctx = P·v, and their
    // backward GEMMs dP = dctx·vᵀ, dv = Pᵀ·dctx.
    let (q, k, v, p, dctx) = (
        t("act.attn.q"),
        t("act.attn.k"),
        t("act.attn.v"),
        t("act.attn.probs"),
        t("grad.act.attn.ctx"),
    );
    let scale = d.manifest.config["attention_scale"]
        .as_f64()
        .expect("attention_scale") as f32;
    let (mut scores, mut ctx, mut dp, mut dv) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let head = |x: &Tensor, i: usize, len: usize| x.data[i * len..(i + 1) * len].to_vec();
    for i in 0..b * h {
        let (qh, kh, vh) = (
            head(&q, i, s * dh),
            head(&k, i, s * dh),
            head(&v, i, s * dh),
        );
        let (ph, dch) = (head(&p, i, s * s), head(&dctx, i, s * dh));
        let out = |a: MatRef<'_>, bm: MatRef<'_>, into: &mut Vec<f32>, by: f32| {
            let mut c = vec![0.0; a.rows() * bm.cols()];
            gemm(a, bm, &mut c, 0, false).expect("fits");
            into.extend(c.iter().map(|x| x * by));
        };
        out(
            MatRef::row_major(&qh, s, dh, 0),
            MatRef::transposed(&kh, dh, s, 0),
            &mut scores,
            scale,
        );
        out(
            MatRef::row_major(&ph, s, s, 0),
            MatRef::row_major(&vh, s, dh, 0),
            &mut ctx,
            1.0,
        );
        out(
            MatRef::row_major(&dch, s, dh, 0),
            MatRef::transposed(&vh, dh, s, 0),
            &mut dp,
            1.0,
        );
        out(
            MatRef::transposed(&ph, s, s, 0),
            MatRef::row_major(&dch, s, dh, 0),
            &mut dv,
            1.0,
        );
    }
    for (want, got) in [
        ("act.attn.scores", &scores),
        ("act.attn.ctx", &ctx),
        ("grad.act.attn.probs", &dp),
        ("grad.act.attn.v", &dv),
    ] {
        let r = d.compare(want, got).expect("compare");
        assert!(r.pass, "{r}");
    }
}

#[test]
fn tiny_layer_gemms_match_jax() {
    layer_gemms("tiny");
}

#[test]
fn small_layer_gemms_match_jax() {
    layer_gemms("small");
}
