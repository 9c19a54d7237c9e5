//! The model zoo: public transformer configurations by name, with the
//! dimensions a training step needs and their parameter counts.
//!
//! Counts are of the model as a training step uses it, head included: BERT with
//! its masked-LM head (transform, LayerNorm, output bias; the decoder tied to the
//! token embedding) and no pooler; GPT-2 with its tied LM head; ViT with its
//! 1000-class head on the class token. They match the public reference
//! implementations' counts (Hugging Face `transformers`, `timm`) term by term:
//! the tests check the published totals.

use crate::step::EncoderDims;

/// How a model's layers are arranged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Architecture {
    /// BERT: post-LayerNorm encoder layers over token, position and segment
    /// embeddings (with a LayerNorm), bidirectional attention.
    PostLnEncoder,
    /// GPT-2: pre-LayerNorm causal decoder layers, a final LayerNorm, learned
    /// positions, the LM head tied to the token embedding.
    PreLnDecoder,
    /// ViT: pre-LayerNorm encoder layers over 16×16 patches embedded by a GEMM, a
    /// class token and learned positions; a classifier on the class token.
    VisionEncoder,
}

impl Architecture {
    /// A short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Architecture::PostLnEncoder => "post-LN encoder",
            Architecture::PreLnDecoder => "pre-LN causal decoder",
            Architecture::VisionEncoder => "pre-LN vision encoder",
        }
    }
}

/// One named model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelSpec {
    /// Its name in scenarios (`gpt2`).
    pub name: &'static str,
    /// How its layers are arranged.
    pub arch: Architecture,
    /// Layers.
    pub layers: u32,
    /// Model width D.
    pub d: u32,
    /// Attention heads H.
    pub h: u32,
    /// FFN width F.
    pub f: u32,
    /// Vocabulary V (ViT: the classes of its head).
    pub vocab: u32,
    /// Rows of the position table: the longest sequence it takes.
    pub positions: u32,
    /// The sequence length of its usual training step (ViT: 196 patches and the
    /// class token at 224×224).
    pub seq: u32,
    /// Where its configuration is published.
    pub source: &'static str,
}

/// Parameters of a model, by part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamCount {
    /// Token, position (and segment) embeddings with their LayerNorm; ViT: the
    /// patch GEMM, class token and positions.
    pub embeddings: u64,
    /// All layers.
    pub layers: u64,
    /// Final LayerNorm and head (tied weights counted once, in the embeddings).
    pub head: u64,
}

impl ParamCount {
    /// The whole model.
    pub fn total(&self) -> u64 {
        self.embeddings + self.layers + self.head
    }
}

/// Every model of the zoo.
pub const ZOO: [ModelSpec; 5] = [
    ModelSpec {
        name: "bert-base",
        arch: Architecture::PostLnEncoder,
        layers: 12,
        d: 768,
        h: 12,
        f: 3072,
        vocab: 30522,
        positions: 512,
        seq: 128,
        source: "Devlin et al. 2019; Hugging Face bert-base-uncased",
    },
    ModelSpec {
        name: "bert-large",
        arch: Architecture::PostLnEncoder,
        layers: 24,
        d: 1024,
        h: 16,
        f: 4096,
        vocab: 30522,
        positions: 512,
        seq: 128,
        source: "Devlin et al. 2019; Hugging Face bert-large-uncased",
    },
    ModelSpec {
        name: "gpt2",
        arch: Architecture::PreLnDecoder,
        layers: 12,
        d: 768,
        h: 12,
        f: 3072,
        vocab: 50257,
        positions: 1024,
        seq: 1024,
        source: "Radford et al. 2019 (124M); Hugging Face gpt2",
    },
    ModelSpec {
        name: "gpt2-medium",
        arch: Architecture::PreLnDecoder,
        layers: 24,
        d: 1024,
        h: 16,
        f: 4096,
        vocab: 50257,
        positions: 1024,
        seq: 1024,
        source: "Radford et al. 2019 (355M); Hugging Face gpt2-medium",
    },
    ModelSpec {
        name: "vit-b16",
        arch: Architecture::VisionEncoder,
        layers: 12,
        d: 768,
        h: 12,
        f: 3072,
        vocab: 1000,
        positions: 197,
        seq: 197,
        source: "Dosovitskiy et al. 2021; timm vit_base_patch16_224",
    },
];

/// Pixels per patch side of ViT-B/16, and its image channels.
const PATCH: u64 = 16;
const CHANNELS: u64 = 3;
/// BERT's segment (token type) embeddings.
const SEGMENTS: u64 = 2;

impl ModelSpec {
    /// The model called `name`, if the zoo has it.
    pub fn by_name(name: &str) -> Option<&'static ModelSpec> {
        ZOO.iter().find(|m| m.name == name)
    }

    /// The zoo's names, for error messages.
    pub fn names() -> String {
        ZOO.iter().map(|m| m.name).collect::<Vec<_>>().join(", ")
    }

    /// One layer's dimensions at batch `b` and sequence length `s`.
    pub fn layer_dims(&self, b: u32, s: u32) -> EncoderDims {
        EncoderDims {
            b,
            s,
            d: self.d,
            h: self.h,
            f: self.f,
        }
    }

    /// Its parameters, by part.
    pub fn parameters(&self) -> ParamCount {
        let (d, f, v, p) = (
            u64::from(self.d),
            u64::from(self.f),
            u64::from(self.vocab),
            u64::from(self.positions),
        );
        let layer_norm = 2 * d;
        // Q, K, V, O projections with biases; two FFN GEMMs with biases; two LayerNorms.
        let layer = 4 * (d * d + d) + (d * f + f) + (f * d + d) + 2 * layer_norm;
        let layers = u64::from(self.layers) * layer;
        let (embeddings, head) = match self.arch {
            // Head: transform GEMM + bias, its LayerNorm, the output bias (tied decoder).
            Architecture::PostLnEncoder => (
                (v + p + SEGMENTS) * d + layer_norm,
                d * d + d + layer_norm + v,
            ),
            // Head: the final LayerNorm (the tied matrix is the token embedding).
            Architecture::PreLnDecoder => ((v + p) * d, layer_norm),
            // Patch GEMM + bias, class token, positions; final LayerNorm, classifier.
            Architecture::VisionEncoder => (
                PATCH * PATCH * CHANNELS * d + d + d + p * d,
                layer_norm + d * v + v,
            ),
        };
        ParamCount {
            embeddings,
            layers,
            head,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn total(name: &str) -> u64 {
        ModelSpec::by_name(name).unwrap().parameters().total()
    }

    #[test]
    fn counts_match_the_published_models() {
        // Hugging Face GPT2LMHeadModel (tied head): 124,439,808 and 354,823,168.
        assert_eq!(total("gpt2"), 124_439_808);
        assert_eq!(total("gpt2-medium"), 354_823_168);
        // timm vit_base_patch16_224: 86,567,656.
        assert_eq!(total("vit-b16"), 86_567_656);
        // Hugging Face BertModel with its pooler: 109,482,240 (base), 335,141,888
        // (large); the MLM head replaces the pooler (D² + D) with the transform
        // (D² + D), its LayerNorm (2D) and the output bias (V).
        for (name, with_pooler) in [("bert-base", 109_482_240), ("bert-large", 335_141_888)] {
            let m = ModelSpec::by_name(name).unwrap();
            let (d, v) = (u64::from(m.d), u64::from(m.vocab));
            assert_eq!(total(name), with_pooler + 2 * d + v, "{name}");
        }
    }

    #[test]
    fn names_are_unique_and_dimensions_make_layers() {
        for (i, m) in ZOO.iter().enumerate() {
            assert_eq!(ModelSpec::by_name(m.name), Some(&ZOO[i]));
            m.layer_dims(1, m.seq).check().unwrap();
            assert!(m.seq <= m.positions, "{}", m.name);
        }
        assert_eq!(ModelSpec::by_name("gpt3"), None);
    }
}
