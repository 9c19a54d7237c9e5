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
    /// The DRAM names of the parameters (updated in place by SGD).
    pub parameters: Vec<String>,
    /// Tensors allocated but never written (the weight gradients an update
    /// fused into their GEMMs did not store): nothing to read back.
    pub unstored: Vec<String>,
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
