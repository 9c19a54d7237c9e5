//! [`Program`]: what the lowering hands a driver — descriptors per queue, the
//! order they were issued in, and what the lowering decided.

use crate::gemm::Tiling;
use crate::step::StepProgram;
use treta_abi::Descriptor;

/// Command streams for the device, per queue.
#[derive(Clone, Debug, Default)]
pub struct Program {
    /// Descriptors per queue, in order.
    pub queues: Vec<Vec<Descriptor>>,
    /// The queue of each descriptor in the order the program issued them (the
    /// lowering's, or the scenario's list): a semaphore's signal comes before the
    /// wait it releases, so any prefix of this order can run to completion.
    pub issue_order: Vec<u8>,
    /// For each GEMM of a `gemm_list` (by index), the tiling the lowering chose.
    pub tilings: Vec<Tiling>,
    /// A training step's lowering: its tensors and plan.
    pub step: Option<StepProgram>,
    /// For each GEMM of a `gemm_list` (by index), the id of its last
    /// descriptor: its end, for the per-GEMM time and achieved DRAM traffic.
    pub gemm_ends: Vec<u32>,
}

impl Program {
    /// Appends `d` to queue `q` (and to the issue order); a queue the
    /// program does not have is ignored.
    pub fn push(&mut self, q: u8, d: Descriptor) {
        if let Some(queue) = self.queues.get_mut(usize::from(q)) {
            queue.push(d);
            self.issue_order.push(q);
        }
    }

    /// The operations a run reports as phases, each as (id of its last
    /// descriptor, name, engine), in order: a training step's plan entries, or
    /// a `gemm_list`'s GEMMs named by `gemm_names`.
    pub fn phase_ends(&self, gemm_names: &[String]) -> Vec<(u32, String, String)> {
        match &self.step {
            Some(step) => step
                .plan
                .iter()
                .filter(|e| e.descriptors > 0)
                .map(|e| {
                    (
                        (e.first + e.descriptors - 1) as u32,
                        e.op.clone(),
                        e.engine.to_string(),
                    )
                })
                .collect(),
            None => self
                .gemm_ends
                .iter()
                .zip(gemm_names)
                .map(|(&id, name)| (id, name.clone(), "gemm".to_string()))
                .collect(),
        }
    }

    /// The program cut into batches of at most `limit` descriptors per queue,
    /// each batch a prefix of the issue order after the previous one — so no
    /// batch waits on a signal of a later one, as cutting every queue at the
    /// same count could (a pipelined load queue runs far ahead of its stores).
    pub fn batches(&self, limit: usize) -> Vec<Vec<Vec<Descriptor>>> {
        let limit = limit.max(1);
        let mut cursors = vec![0usize; self.queues.len()];
        let mut batches = Vec::new();
        let mut batch: Vec<Vec<Descriptor>> = vec![Vec::new(); self.queues.len()];
        for &q in &self.issue_order {
            let q = usize::from(q);
            if batch[q].len() == limit {
                batches.push(std::mem::replace(
                    &mut batch,
                    vec![Vec::new(); self.queues.len()],
                ));
            }
            batch[q].push(self.queues[q][cursors[q]].clone());
            cursors[q] += 1;
        }
        if batch.iter().any(|b| !b.is_empty()) || batches.is_empty() {
            batches.push(batch);
        }
        batches
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use treta_abi::regs::QUEUES;
    use treta_abi::Command;

    #[test]
    fn batches_follow_the_issue_order_within_the_ring_limit() {
        // A pipeline: queue 0 loads three tiles before queue 2 stores the first.
        let mut p = Program {
            queues: vec![Vec::new(); QUEUES],
            ..Program::default()
        };
        let d = |id| Descriptor {
            id,
            command: Command::Nop,
        };
        for (id, q) in [0, 0, 0, 2, 0, 2, 2, 0].into_iter().enumerate() {
            p.push(q, d(id as u32));
        }
        let batches = p.batches(2);
        let ids = |b: &Vec<Vec<Descriptor>>, q: usize| -> Vec<u32> {
            b[q].iter().map(|d| d.id).collect()
        };
        // Cut where queue 0 would exceed 2, not at the same index per queue.
        assert_eq!(batches.len(), 3, "{batches:?}");
        assert_eq!(
            (ids(&batches[0], 0), ids(&batches[0], 2)),
            (vec![0, 1], vec![])
        );
        assert_eq!(
            (ids(&batches[1], 0), ids(&batches[1], 2)),
            (vec![2, 4], vec![3, 5])
        );
        assert_eq!(
            (ids(&batches[2], 0), ids(&batches[2], 2)),
            (vec![7], vec![6])
        );
        // An empty program is one empty batch (the driver still drains once).
        p.queues = vec![Vec::new(); QUEUES];
        p.issue_order.clear();
        assert_eq!(p.batches(2).len(), 1);
    }
}
