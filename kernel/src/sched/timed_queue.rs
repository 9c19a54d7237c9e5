//! The queue of timed actions, ordered by time, then by insertion.
//!
//! Two representations, chosen by how much is pending:
//!
//! - **flat**, while at most [`FLAT_LIMIT`] actions are pending (the usual case: a few
//!   processes waiting on a clock or a latency): one vector of `(time, action)`
//!   sorted latest-first, so the next action is its last element, popping is
//!   `Vec::pop`, and a new action is placed by a short scan from the earliest end;
//! - **bucketed**, beyond that: actions due at the same time share a bucket, a binary
//!   heap orders the distinct times and a hash index finds a time's bucket. A time
//!   step that wakes 370 processes then costs one heap pop, not 370, and scheduling
//!   at an already pending time costs a hash lookup and a `Vec::push`.
//!
//! The queue moves to buckets when the flat vector overflows and back when the
//! pending actions drop to half the limit. Buckets are recycled with their
//! capacity, so a steady-state simulation allocates nothing here.

use super::Action;
use crate::time::SimTime;
use rustc_hash::FxHashMap;
use std::cmp::Reverse;
use std::collections::hash_map::Entry;
use std::collections::BinaryHeap;

/// Most pending actions kept in the flat representation.
const FLAT_LIMIT: usize = 16;

/// Timed actions in (time, insertion) order.
#[derive(Default)]
pub(crate) struct TimedQueue {
    /// Pending actions, latest time first and, within a time, latest inserted first;
    /// used while `!bucketed`.
    flat: Vec<(SimTime, Action)>,
    bucketed: bool,
    /// Actions pending in buckets (while `bucketed`).
    in_buckets: usize,
    /// Distinct pending times with their bucket.
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
    #[inline(always)]
    pub(crate) fn push(&mut self, at: SimTime, action: Action) {
        if self.bucketed {
            return self.push_bucketed(at, action);
        }
        let mut i = self.flat.len();
        while i > 0 && self.flat[i - 1].0 <= at {
            i -= 1;
        }
        self.flat.insert(i, (at, action));
        if self.flat.len() > FLAT_LIMIT {
            self.spill_to_buckets();
        }
    }

    fn push_bucketed(&mut self, at: SimTime, action: Action) {
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
        self.in_buckets += 1;
    }

    /// Moves every flat action into buckets, earliest first.
    fn spill_to_buckets(&mut self) {
        self.bucketed = true;
        let flat = std::mem::take(&mut self.flat);
        for &(at, action) in flat.iter().rev() {
            self.push_bucketed(at, action);
        }
        self.flat = flat;
        self.flat.clear();
    }

    /// Moves every bucketed action back into the flat vector, keeping the heap's
    /// buffer for the next spill.
    fn gather_to_flat(&mut self) {
        let mut times = std::mem::take(&mut self.heap).into_vec();
        // Ascending by `Reverse`, i.e. latest time first: the flat order.
        times.sort_unstable();
        for &Reverse((at, slot)) in &times {
            let bucket = &mut self.buckets[slot as usize];
            self.flat.extend(bucket.iter().rev().map(|&a| (at, a)));
            bucket.clear();
            self.free.push(slot);
        }
        times.clear();
        self.heap = BinaryHeap::from(times);
        self.index.clear();
        self.in_buckets = 0;
        self.bucketed = false;
    }

    /// The earliest pending time, if any.
    #[inline(always)]
    pub(crate) fn next_time(&self) -> Option<SimTime> {
        if self.bucketed {
            self.heap.peek().map(|Reverse((t, _))| *t)
        } else {
            self.flat.last().map(|&(t, _)| t)
        }
    }

    /// Removes the earliest time and hands its actions, in insertion order, to `apply`,
    /// returning that time. `scratch` (empty on entry and on return) holds a bucket
    /// while it is applied; it swaps buffers with the bucket, so capacity circulates
    /// and nothing allocates.
    #[inline(always)]
    pub(crate) fn pop_each(
        &mut self,
        scratch: &mut Vec<Action>,
        mut apply: impl FnMut(Action),
    ) -> Option<SimTime> {
        if !self.bucketed {
            let &(at, _) = self.flat.last()?;
            while let Some(&(t, action)) = self.flat.last() {
                if t != at {
                    break;
                }
                self.flat.pop();
                apply(action);
            }
            return Some(at);
        }
        let Reverse((at, slot)) = self.heap.pop()?;
        self.index.remove(&at);
        std::mem::swap(&mut self.buckets[slot as usize], scratch);
        self.free.push(slot);
        let popped = scratch.len();
        self.in_buckets -= popped;
        for &action in scratch.iter() {
            apply(action);
        }
        scratch.clear();
        // Back to flat only when little is pending even counting what was just popped
        // (those processes usually schedule again at once): a time step that empties
        // every bucket at once does not make the queue flip back and forth.
        if self.in_buckets + popped <= FLAT_LIMIT / 2 {
            self.gather_to_flat();
        }
        Some(at)
    }

    /// Number of distinct pending times.
    #[cfg(test)]
    pub(crate) fn distinct_times(&self) -> usize {
        if self.bucketed {
            self.heap.len()
        } else {
            let mut times: Vec<SimTime> = self.flat.iter().map(|&(t, _)| t).collect();
            times.dedup();
            times.len()
        }
    }

    /// Drops every pending action (used when a simulation is torn down, to break the
    /// reference cycles between events and the kernel).
    pub(crate) fn clear(&mut self) {
        self.flat.clear();
        self.heap.clear();
        self.index.clear();
        self.bucketed = false;
        self.in_buckets = 0;
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

    /// Pops the next time and the pids of its wake actions.
    fn pop(q: &mut TimedQueue) -> Option<(SimTime, Vec<u32>)> {
        let mut pids = Vec::new();
        let mut scratch = Vec::new();
        let t = q.pop_each(&mut scratch, |a| match a {
            Action::Wake { pid, .. } => pids.push(pid),
            Action::Notify { .. } => pids.push(u32::MAX),
        })?;
        assert!(scratch.is_empty());
        Some((t, pids))
    }

    #[test]
    fn pops_in_time_then_insertion_order() {
        let mut q = TimedQueue::default();
        q.push(SimTime::from_ns(5), wake(1));
        q.push(SimTime::from_ns(2), wake(2));
        q.push(SimTime::from_ns(5), wake(3));
        q.push(SimTime::from_ns(2), wake(4));
        assert_eq!(q.distinct_times(), 2);
        assert_eq!(pop(&mut q), Some((SimTime::from_ns(2), vec![2, 4])));
        assert_eq!(pop(&mut q), Some((SimTime::from_ns(5), vec![1, 3])));
        assert_eq!(pop(&mut q), None);
    }

    #[test]
    fn many_distinct_times_switch_to_the_heap_and_back() {
        let mut q = TimedQueue::default();
        let n = 3 * FLAT_LIMIT as u64;
        for round in 0..2 {
            for t in (1..=n).rev() {
                q.push(SimTime::from_ns(t), wake(t as u32));
                q.push(SimTime::from_ns(t), wake(1000 + t as u32));
            }
            assert_eq!(q.distinct_times(), n as usize, "round {round}");
            for t in 1..=n {
                assert_eq!(
                    pop(&mut q),
                    Some((SimTime::from_ns(t), vec![t as u32, 1000 + t as u32]))
                );
            }
            assert_eq!(pop(&mut q), None);
        }
    }
}
