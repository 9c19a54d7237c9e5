//! What a training step is: the layer's dimensions, how it trains (optimizer,
//! formats per tensor class, steps, layers) and which operations pipeline.

use crate::gemm::Machine;
use crate::LowerError;
use treta_abi::NumberFormat;

/// The dimensions of an encoder layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncoderDims {
    /// Batch.
    pub b: u32,
    /// Sequence length.
    pub s: u32,
    /// Model width.
    pub d: u32,
    /// Attention heads (d must divide by h).
    pub h: u32,
    /// FFN width.
    pub f: u32,
}

impl EncoderDims {
    /// A layer of a [zoo](crate::zoo) model whose layers are encoders
    /// (`bert-base`, `bert-large`, `vit-b16`), at B = 1 and the model's usual
    /// sequence length (S = 128 for BERT, 197 tokens for ViT-B/16 at 224×224).
    /// Decoder models (`gpt2`) are not encoder layers: `None`.
    pub fn named(name: &str) -> Option<EncoderDims> {
        crate::zoo::ModelSpec::by_name(name)
            .filter(|m| m.arch != crate::zoo::Architecture::PreLnDecoder)
            .map(|m| m.layer_dims(1, m.seq))
    }

    /// Tokens: B·S.
    pub fn tokens(&self) -> u64 {
        u64::from(self.b) * u64::from(self.s)
    }

    /// Head width D/H.
    pub fn dh(&self) -> u32 {
        self.d / self.h.max(1)
    }

    /// Whether the dimensions make a layer.
    pub fn check(&self) -> Result<(), LowerError> {
        if [self.b, self.s, self.d, self.h, self.f].contains(&0) {
            return Err(LowerError(format!(
                "{self:?}: every dimension must be positive"
            )));
        }
        if !self.d.is_multiple_of(self.h) {
            return Err(LowerError(format!(
                "d = {} does not divide into h = {} heads",
                self.d, self.h
            )));
        }
        Ok(())
    }
}

/// The formats GEMM operands are multiplied in, per tensor class (the DMA
/// converts from the fp32 copies in DRAM; accumulation is fp32).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClassFormats {
    /// Activations (layer inputs, attention probabilities, queries, keys, values).
    pub activations: NumberFormat,
    /// Weights.
    pub weights: NumberFormat,
    /// Gradients.
    pub gradients: NumberFormat,
}

impl ClassFormats {
    /// The same format for every class.
    pub fn all(format: NumberFormat) -> ClassFormats {
        ClassFormats {
            activations: format,
            weights: format,
            gradients: format,
        }
    }
}

/// The weight update.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Optimizer {
    /// W −= lr·g.
    Sgd,
    /// v = μ·v + g; W −= lr·v.
    Momentum {
        /// μ.
        mu: f32,
    },
    /// Adam (Kingma & Ba), bias-corrected, ε outside the square root.
    Adam {
        /// β₁.
        beta1: f32,
        /// β₂.
        beta2: f32,
        /// ε.
        eps: f32,
    },
}

impl Optimizer {
    /// Its name, as reference data prefix the updated parameters (`sgd.`,
    /// `momentum.`, `adam.`).
    pub fn name(&self) -> &'static str {
        match self {
            Optimizer::Sgd => "sgd",
            Optimizer::Momentum { .. } => "momentum",
            Optimizer::Adam { .. } => "adam",
        }
    }
}

/// How to train.
#[derive(Clone, Debug, PartialEq)]
pub struct StepConfig {
    /// Learning rate.
    pub lr: f32,
    /// The weight update (state tensors start at zero).
    pub optimizer: Optimizer,
    /// LayerNorm ε.
    pub eps: f32,
    /// The formats the GEMMs multiply in, per tensor class.
    pub formats: ClassFormats,
    /// Training steps on the same batch (the loss of each is kept).
    pub steps: u32,
    /// Encoder layers stacked (the MSE loss on the top one's output).
    pub layers: u32,
    /// Which operations run as three-stage pipelines over three queues (loads,
    /// compute, stores) with double buffers, so DMA and compute overlap; the
    /// others run in one queue. All by default: 4.8 % faster than none on a
    /// BERT-base layer (docs/training.md).
    pub overlap: Overlap,
    /// Keep the weights' copies in their GEMM format in DRAM when it is narrower
    /// than fp32 (the GEMMs then read a quarter of the bytes for 8 bits); else
    /// the DMA converts the fp32 masters at every load. Same numbers either way.
    pub weight_copies: bool,
    /// Recompute each layer's FFN activations (h and gelu(h), the largest: T×F
    /// each) in backward instead of keeping them: one pair of buffers serves
    /// every layer, at the cost of the FFN1 GEMM and the GELU again.
    pub recompute: bool,
    /// With SGD, update each weight matrix in its dW GEMM's epilogue, tile by
    /// tile in SRAM, instead of in a separate pass that reads dW back from DRAM
    /// (see [`crate::gemm::UpdateEpilogue`]). Same numbers.
    pub fuse_update: bool,
    /// Fold the elementwise operation that follows a GEMM (a bias, a
    /// residual, the GELU or its backward, the sum of a gradient's paths) into
    /// the GEMM's epilogue (see [`crate::gemm::Epilogue`]) instead of a
    /// separate pass that reads the GEMM's result back from DRAM. Same numbers.
    pub fuse_epilogues: bool,
    /// Store the fused weight matrices' gradients to DRAM anyway, and the
    /// values a fused epilogue folds away (runs that read them back: golden
    /// comparisons, tensor dumps).
    pub keep_gradients: bool,
    /// The machine the pipelined GEMMs' tiles are chosen for.
    pub machine: Machine,
}

impl StepConfig {
    /// The DRAM format of tensor `name` (its golden name): the GEMM format of
    /// its class for an activation or a gradient that only GEMMs read (see
    /// [`GEMM_ONLY_ACTIVATIONS`], [`GEMM_ONLY_GRADIENTS`]) when that format is
    /// narrower than fp32, epilogues are fused (they take over the elementwise
    /// readers: the GELU, the bias gradient's column sums) and no one reads the
    /// values back (`keep_gradients`); else fp32. The GEMMs convert to that
    /// format on load anyway, so the numbers are the same, at a quarter of the
    /// bytes for 8 bits.
    pub fn stored_format(&self, name: &str) -> NumberFormat {
        let among = |prefix: &str, list: &[&str]| {
            name.starts_with(prefix) && list.iter().any(|a| name.ends_with(a))
        };
        let narrow = if among("act.", &GEMM_ONLY_ACTIVATIONS) {
            self.formats.activations
        } else if among("grad.act.", &GEMM_ONLY_GRADIENTS) {
            self.formats.gradients
        } else {
            return NumberFormat::Fp32;
        };
        self.narrow_when_fused(narrow)
    }

    /// `narrow` if it is narrower than fp32, epilogues are fused and nothing
    /// is read back; else fp32: the format of a tensor only GEMMs read once
    /// epilogues take over its elementwise readers.
    pub fn narrow_when_fused(&self, narrow: NumberFormat) -> NumberFormat {
        if self.fuse_epilogues && !self.keep_gradients && narrow.bytes() < 4 {
            narrow
        } else {
            NumberFormat::Fp32
        }
    }
}

/// The activations (by the end of their golden names, under `act.` or
/// `act.layer.`) that only GEMMs read, in the activations' GEMM format: Q, K
/// and V (the scores, the context, and dP, dQ, dK, dV of the backward), the
/// context (the output projection and its weight gradient) and GELU's output
/// (FFN2 and its weight gradient). The probabilities are not among them: the
/// softmax backward reads them in fp32.
pub const GEMM_ONLY_ACTIVATIONS: [&str; 5] = [
    "attn.q_merged",
    "attn.k_merged",
    "attn.v_merged",
    "attn.ctx_merged",
    "ffn.h_post",
];

/// The gradients (under `grad.act.` or `grad.act.layer.`) that only GEMMs
/// read once epilogues are fused, in the gradients' GEMM format: the FFN's
/// pre-activation gradient dh, which FFN1's input- and weight-gradient GEMMs
/// read (its column sums, FFN1's bias gradient, are taken in the epilogue of
/// the GEMM that makes it); the context's gradient, which the dP and dV
/// GEMMs read; and dQ, dK, dV, which their projections' input- and
/// weight-gradient GEMMs read (the per-head GEMMs that make them sum the bias
/// gradients).
pub const GEMM_ONLY_GRADIENTS: [&str; 5] = [
    "ffn.h_pre",
    "attn.ctx_merged",
    "attn.q_merged",
    "attn.k_merged",
    "attn.v_merged",
];

impl Default for StepConfig {
    /// The golden data's: lr 0.01, ε 1e-5, fp32 GEMMs; everything pipelined.
    fn default() -> StepConfig {
        StepConfig {
            lr: 0.01,
            optimizer: Optimizer::Sgd,
            eps: 1e-5,
            formats: ClassFormats::all(NumberFormat::Fp32),
            steps: 1,
            layers: 1,
            overlap: Overlap::ALL,
            weight_copies: true,
            recompute: false,
            fuse_update: true,
            fuse_epilogues: true,
            keep_gradients: true,
            machine: Machine::default(),
        }
    }
}

/// Which operations are pipelined (see [`StepConfig::overlap`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Overlap {
    /// GEMMs: op(A) resident when it fits a quarter of the SRAM, with B and C
    /// tiles in two halves of the rest, or op(B) with A and C row strips; else tiles of half the SRAM, which may
    /// reload operands more often (see [`crate::gemm::lower_gemm_pipelined`]).
    pub gemm: bool,
    /// SFU operations: row tiles of half the SRAM (no reloads).
    pub sfu: bool,
}

impl Overlap {
    /// Nothing pipelined: one queue.
    pub const NONE: Overlap = Overlap {
        gemm: false,
        sfu: false,
    };
    /// Every GEMM and SFU operation pipelined.
    pub const ALL: Overlap = Overlap {
        gemm: true,
        sfu: true,
    };
}
