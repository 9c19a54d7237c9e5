//! What the lowering of a step gives back: the commands with their queues, the
//! DRAM tensors, and a plan entry per operation.

use treta_abi::{Descriptor, NumberFormat};

/// An fp32 tensor in DRAM, row-major.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DramTensor {
    /// Name: the golden data's where the layout is the same (`input.x`,
    /// `layer.attn.wq`, `act.attn.probs`, `grad.layer.ffn.w1`, …), else internal.
    pub name: String,
    /// Address.
    pub addr: u64,
    /// Rows.
    pub rows: u64,
    /// Columns.
    pub cols: u64,
    /// Element format (fp32 but for the weights' 8-bit copies).
    pub format: NumberFormat,
}

impl DramTensor {
    /// Bytes.
    pub fn bytes(&self) -> u64 {
        self.rows * self.cols * u64::from(self.format.bytes())
    }
}

/// A tensor of a reference (a golden manifest) that the step holds in another
/// DRAM tensor: under another name, or in another element order. Reading it
/// back is reading `source` and rearranging, nothing computed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorView {
    /// The reference's name (`act.layer0.attn.q`).
    pub name: String,
    /// The DRAM tensor that holds it.
    pub source: String,
    /// How its elements are arranged there.
    pub layout: ViewLayout,
}

/// How a [`TensorView`]'s elements sit in its source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViewLayout {
    /// The same order (another name for the same tensor).
    Same,
    /// The source is `[B, S, H·Dh]` (heads merged), the view `[B, H, S, Dh]`.
    Heads {
        /// Batch.
        b: u64,
        /// Sequence.
        s: u64,
        /// Heads.
        h: u64,
        /// Head width.
        dh: u64,
    },
    /// Column `col` of a source with `of` columns (one LayerNorm statistic).
    Column {
        /// The source's columns.
        of: u64,
        /// Which.
        col: u64,
    },
}

impl ViewLayout {
    /// The view's elements from the source's.
    pub fn arrange(self, source: &[f32]) -> Vec<f32> {
        match self {
            ViewLayout::Same => source.to_vec(),
            ViewLayout::Heads { b, s, h, dh } => {
                let (b, s, h, dh) = (b as usize, s as usize, h as usize, dh as usize);
                let mut out = Vec::with_capacity(source.len());
                for bi in 0..b {
                    for hi in 0..h {
                        for si in 0..s {
                            let at = (bi * s + si) * h * dh + hi * dh;
                            out.extend_from_slice(&source[at..at + dh]);
                        }
                    }
                }
                out
            }
            ViewLayout::Column { of, col } => source
                .iter()
                .skip(col as usize)
                .step_by(of.max(1) as usize)
                .copied()
                .collect(),
        }
    }
}

/// Bytes the host writes into DRAM before the run that are not a reference's
/// tensor (a language model's target token ids, int32).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostInput {
    /// What they are.
    pub name: String,
    /// DRAM address.
    pub addr: u64,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// One operation of the plan: what it is, on which engine, how it was tiled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanEntry {
    /// Operation, e.g. `fwd.q_proj`.
    pub op: String,
    /// Its first descriptor's index in [`StepProgram::descriptors`] (and id);
    /// its descriptors follow contiguously.
    pub first: usize,
    /// `gemm` or `sfu`.
    pub engine: &'static str,
    /// Shape and tiling, in words.
    pub detail: String,
    /// Descriptors it became.
    pub descriptors: usize,
}

/// A lowered training step.
#[derive(Clone, Debug, PartialEq)]
pub struct StepProgram {
    /// The commands in issue order (the plan's order).
    pub descriptors: Vec<Descriptor>,
    /// The queue of each command.
    pub queue_of: Vec<u8>,
    /// Every tensor, in allocation order.
    pub tensors: Vec<DramTensor>,
    /// One entry per operation, in order.
    pub plan: Vec<PlanEntry>,
    /// The DRAM names of the parameters (updated in place by the optimizer).
    pub parameters: Vec<String>,
    /// The update they get (reference data name the results `<its name>.<param>`).
    pub optimizer: super::Optimizer,
    /// Tensors allocated but never written (the weight gradients an update
    /// fused into their GEMMs did not store): nothing to read back.
    pub unstored: Vec<String>,
    /// Reference tensors held under another name or order.
    pub views: Vec<TensorView>,
    /// What the host writes before the run besides a reference's tensors.
    pub host_inputs: Vec<HostInput>,
}

impl StepProgram {
    /// The commands of each of `queues` queues, in order.
    pub fn queues(&self, queues: usize) -> Vec<Vec<Descriptor>> {
        let mut out = vec![Vec::new(); queues];
        for (d, &q) in self.descriptors.iter().zip(&self.queue_of) {
            if let Some(queue) = out.get_mut(usize::from(q)) {
                queue.push(d.clone());
            }
        }
        out
    }

    /// The tensor `name`.
    pub fn tensor(&self, name: &str) -> Option<&DramTensor> {
        self.tensors.iter().find(|t| t.name == name)
    }
}
