//! The queue of timed actions, ordered by time, then by insertion.
//!
//! A binary heap holds one entry per *distinct* future time; the actions due at that
//! time sit in a bucket found through a hash map. So a time step that wakes 370
//! processes costs one heap pop, not 370, and scheduling at a time that is already
//! pending costs one hash lookup and a `Vec::push`, not a heap sift. Buckets are
//! recycled with their capacity, so a steady-state simulation allocates nothing here.

use super::Action;
use crate::time::SimTime;
use rustc_hash::FxHashMap;
use std::cmp::Reverse;
use std::collections::hash_map::Entry;
use std::collections::BinaryHeap;

/// Timed actions in (time, insertion) order.
#[derive(Default)]
pub(crate) struct TimedQueue {
    /// One entry per distinct pending time, with the index of its bucket.
    heap: BinaryHeap<Reverse<(SimTime, u32)>>,
    /// Pending time -> bucket index.
    index: FxHashMap<SimTime, u32>,
    /// Actions per bucket, in insertion order.
    buckets: Vec<Vec<Action>>,
    /// Buckets not in use, kept with their capacity.
    free: Vec<u32>,
}

impl TimedQueue {
    /// Schedules `action` at time `at`, after every action already scheduled at `at`.
    pub(crate) fn push(&mut self, at: SimTime, action: Action) {
        let slot = match self.index.entry(at) {
            Entry::Occupied(e) => *e.get(),
            Entry::Vacant(e) => {
                let slot = match self.free.pop() {
                    Some(slot) => slot,
                    None => {
                        self.buckets.push(Vec::new());
                        (self.buckets.len() - 1) as u32
                    }
                };
                e.insert(slot);
                self.heap.push(Reverse((at, slot)));
                slot
            }
        };
        self.buckets[slot as usize].push(action);
    }

    /// The earliest pending time, if any.
    pub(crate) fn next_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|Reverse((t, _))| *t)
    }

    /// Removes the earliest time and swaps its actions into `out` (which must be
    /// empty), returning that time. The bucket takes `out`'s old buffer, so capacity
    /// circulates between the caller's scratch vector and the buckets.
    pub(crate) fn pop_into(&mut self, out: &mut Vec<Action>) -> Option<SimTime> {
        let Reverse((at, slot)) = self.heap.pop()?;
        self.index.remove(&at);
        let bucket = &mut self.buckets[slot as usize];
        std::mem::swap(bucket, out);
        self.free.push(slot);
        Some(at)
    }

    /// Number of distinct pending times.
    #[cfg(test)]
    pub(crate) fn distinct_times(&self) -> usize {
        self.heap.len()
    }

    /// Drops every pending action (used when a simulation is torn down, to break the
    /// reference cycles between events and the kernel).
    pub(crate) fn clear(&mut self) {
        self.heap.clear();
        self.index.clear();
        self.buckets.clear();
        self.free.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wake(pid: u32) -> Action {
        Action::Wake { pid, seq: 0 }
    }

    fn pids(actions: &[Action]) -> Vec<u32> {
        actions
            .iter()
            .map(|a| match a {
                Action::Wake { pid, .. } => *pid,
                Action::Notify { .. } => u32::MAX,
            })
            .collect()
    }

    #[test]
    fn pops_in_time_then_insertion_order() {
        let mut q = TimedQueue::default();
        q.push(SimTime::from_ns(5), wake(1));
        q.push(SimTime::from_ns(2), wake(2));
        q.push(SimTime::from_ns(5), wake(3));
        q.push(SimTime::from_ns(2), wake(4));
        assert_eq!(q.distinct_times(), 2);
        let mut out = Vec::new();
        assert_eq!(q.pop_into(&mut out), Some(SimTime::from_ns(2)));
        assert_eq!(pids(&out), vec![2, 4]);
        out.clear();
        assert_eq!(q.pop_into(&mut out), Some(SimTime::from_ns(5)));
        assert_eq!(pids(&out), vec![1, 3]);
        out.clear();
        assert_eq!(q.pop_into(&mut out), None);
    }
}
