//! The queue of timed actions, ordered by time, then by insertion.
//!
//! Actions due at the same time share a *bucket*, so a time step that wakes 370
//! processes costs one pop, not 370, and scheduling at an already pending time costs a
//! lookup and a `Vec::push`. The distinct pending times are kept in one of two ways:
//!
//! - while there are at most [`SMALL_LIMIT`] of them (the common case: a handful of
//!   clock periods and latencies), in a small vector sorted latest-first, so the next
//!   time is its last element, popping is `Vec::pop`, and a new time is placed by a
//!   short scan from the earliest end;
//! - beyond that, in a binary heap with a hash index from time to bucket, until they
//!   drop to half the limit again.
//!
//! Buckets are recycled with their capacity, so a steady-state simulation allocates
//! nothing here.

use super::Action;
use crate::time::SimTime;
use rustc_hash::FxHashMap;
use std::cmp::Reverse;
use std::collections::hash_map::Entry;
use std::collections::BinaryHeap;

/// Most distinct pending times kept in the sorted small vector.
const SMALL_LIMIT: usize = 16;

/// Timed actions in (time, insertion) order.
#[derive(Default)]
pub(crate) struct TimedQueue {
    /// Distinct pending times with their bucket, latest first; used while `!large`.
    small: Vec<(SimTime, u32)>,
    /// Distinct pending times with their bucket; used while `large`.
    heap: BinaryHeap<Reverse<(SimTime, u32)>>,
    /// Pending time -> bucket index; used while `large`.
    index: FxHashMap<SimTime, u32>,
    large: bool,
    /// Actions per bucket, in insertion order.
    buckets: Vec<Vec<Action>>,
    /// Buckets not in use, kept with their capacity.
    free: Vec<u32>,
}

impl TimedQueue {
    /// Schedules `action` at time `at`, after every action already scheduled at `at`.
    #[inline(always)]
    pub(crate) fn push(&mut self, at: SimTime, action: Action) {
        let slot = if self.large {
            self.large_slot(at)
        } else {
            self.small_slot(at)
        };
        self.buckets[slot as usize].push(action);
    }

    #[inline(always)]
    fn small_slot(&mut self, at: SimTime) -> u32 {
        let mut i = self.small.len();
        while i > 0 && self.small[i - 1].0 < at {
            i -= 1;
        }
        if i > 0 && self.small[i - 1].0 == at {
            return self.small[i - 1].1;
        }
        let slot = Self::new_slot(&mut self.free, &mut self.buckets);
        self.small.insert(i, (at, slot));
        if self.small.len() > SMALL_LIMIT {
            for (t, s) in self.small.drain(..) {
                self.heap.push(Reverse((t, s)));
                self.index.insert(t, s);
            }
            self.large = true;
        }
        slot
    }

    fn large_slot(&mut self, at: SimTime) -> u32 {
        match self.index.entry(at) {
            Entry::Occupied(e) => *e.get(),
            Entry::Vacant(e) => {
                let slot = Self::new_slot(&mut self.free, &mut self.buckets);
                e.insert(slot);
                self.heap.push(Reverse((at, slot)));
                slot
            }
        }
    }

    #[inline(always)]
    fn new_slot(free: &mut Vec<u32>, buckets: &mut Vec<Vec<Action>>) -> u32 {
        match free.pop() {
            Some(slot) => slot,
            None => {
                buckets.push(Vec::new());
                (buckets.len() - 1) as u32
            }
        }
    }

    /// The earliest pending time, if any.
    #[inline(always)]
    pub(crate) fn next_time(&self) -> Option<SimTime> {
        if self.large {
            self.heap.peek().map(|Reverse((t, _))| *t)
        } else {
            self.small.last().map(|&(t, _)| t)
        }
    }

    /// Removes the earliest time and swaps its actions into `out` (which must be
    /// empty), returning that time. The bucket takes `out`'s old buffer, so capacity
    /// circulates between the caller's scratch vector and the buckets.
    #[inline(always)]
    pub(crate) fn pop_into(&mut self, out: &mut Vec<Action>) -> Option<SimTime> {
        let (at, slot) = if self.large {
            let Reverse((at, slot)) = self.heap.pop()?;
            self.index.remove(&at);
            if self.heap.len() <= SMALL_LIMIT / 2 {
                // Sorted ascending by `Reverse`, i.e. latest first: the small order.
                self.small = std::mem::take(&mut self.heap)
                    .into_sorted_vec()
                    .into_iter()
                    .map(|Reverse(e)| e)
                    .collect();
                self.index.clear();
                self.large = false;
            }
            (at, slot)
        } else {
            self.small.pop()?
        };
        std::mem::swap(&mut self.buckets[slot as usize], out);
        self.free.push(slot);
        Some(at)
    }

    /// Number of distinct pending times.
    #[cfg(test)]
    pub(crate) fn distinct_times(&self) -> usize {
        if self.large {
            self.heap.len()
        } else {
            self.small.len()
        }
    }

    /// Drops every pending action (used when a simulation is torn down, to break the
    /// reference cycles between events and the kernel).
    pub(crate) fn clear(&mut self) {
        self.small.clear();
        self.heap.clear();
        self.index.clear();
        self.large = false;
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

    #[test]
    fn many_distinct_times_switch_to_the_heap_and_back() {
        let mut q = TimedQueue::default();
        let n = 3 * SMALL_LIMIT as u64;
        for round in 0..2 {
            for t in (1..=n).rev() {
                q.push(SimTime::from_ns(t), wake(t as u32));
                q.push(SimTime::from_ns(t), wake(1000 + t as u32));
            }
            assert_eq!(q.distinct_times(), n as usize, "round {round}");
            let mut out = Vec::new();
            for t in 1..=n {
                assert_eq!(q.pop_into(&mut out), Some(SimTime::from_ns(t)));
                assert_eq!(pids(&out), vec![t as u32, 1000 + t as u32]);
                out.clear();
            }
            assert_eq!(q.pop_into(&mut out), None);
        }
    }
}
