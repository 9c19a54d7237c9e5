//! The GPT golden directories (`testdata/golden/gpt_tiny`, `gpt_small`) read as their
//! manifests' `conventions` say: token ids in range, the embedding as a gather plus
//! the position rows, and the loss as the mean cross-entropy of the stored logits.
//! These pin down the conventions the language-model workload is built against.

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

#[test]
fn gpt_tiny_follows_its_conventions() {
    check("gpt_tiny");
}

#[test]
fn gpt_small_follows_its_conventions() {
    check("gpt_small");
}
