//! The queue of timed actions, ordered by time, then by insertion.
//!
//! A binary heap holds one entry per *distinct* future time; the actions due at that
//! time sit in a bucket. So a time step that wakes 370 processes costs one heap pop,
//! not 370, and scheduling at a time that is already pending costs a lookup and a
//! `Vec::push`, not a heap sift. The lookup scans the heap's few entries while there
//! are at most [`SCAN_LIMIT`] distinct times (the common case: a handful of clock
//! periods and latencies) and uses a hash index beyond that. Buckets are recycled
//! with their capacity, so a steady-state simulation allocates nothing here.

use super::Action;
use crate::time::SimTime;
use rustc_hash::FxHashMap;
use std::cmp::Reverse;
use std::collections::hash_map::Entry;
use std::collections::BinaryHeap;

/// Up to this many distinct pending times, a linear scan of the heap finds a time's
/// bucket faster than hashing; past it the hash index is built and kept.
const SCAN_LIMIT: usize = 16;

/// Timed actions in (time, insertion) order.
#[derive(Default)]
pub(crate) struct TimedQueue {
    /// One entry per distinct pending time, with the index of its bucket.
    heap: BinaryHeap<Reverse<(SimTime, u32)>>,
    /// Pending time -> bucket index; maintained only while `indexed`.
    index: FxHashMap<SimTime, u32>,
    indexed: bool,
    /// Actions per bucket, in insertion order.
    buckets: Vec<Vec<Action>>,
    /// Buckets not in use, kept with their capacity.
    free: Vec<u32>,
}

impl TimedQueue {
    /// Schedules `action` at time `at`, after every action already scheduled at `at`.
    #[inline]
    pub(crate) fn push(&mut self, at: SimTime, action: Action) {
        let slot = if self.indexed {
            match self.index.entry(at) {
                Entry::Occupied(e) => *e.get(),
                Entry::Vacant(e) => {
                    let slot = Self::new_slot(&mut self.free, &mut self.buckets);
                    e.insert(slot);
                    self.heap.push(Reverse((at, slot)));
                    slot
                }
            }
        } else {
            match self.heap.iter().find(|Reverse((t, _))| *t == at) {
                Some(Reverse((_, slot))) => *slot,
                None => {
                    let slot = Self::new_slot(&mut self.free, &mut self.buckets);
                    self.heap.push(Reverse((at, slot)));
                    if self.heap.len() > SCAN_LIMIT {
                        self.index
                            .extend(self.heap.iter().map(|Reverse((t, s))| (*t, *s)));
                        self.indexed = true;
                    }
                    slot
                }
            }
        };
        self.buckets[slot as usize].push(action);
    }

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
    pub(crate) fn next_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|Reverse((t, _))| *t)
    }

    /// Removes the earliest time and swaps its actions into `out` (which must be
    /// empty), returning that time. The bucket takes `out`'s old buffer, so capacity
    /// circulates between the caller's scratch vector and the buckets.
    pub(crate) fn pop_into(&mut self, out: &mut Vec<Action>) -> Option<SimTime> {
        let Reverse((at, slot)) = self.heap.pop()?;
        if self.indexed {
            self.index.remove(&at);
            if self.heap.len() <= SCAN_LIMIT / 2 {
                self.index.clear();
                self.indexed = false;
            }
        }
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
        self.indexed = false;
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
    fn many_distinct_times_switch_to_the_index_and_back() {
        let mut q = TimedQueue::default();
        let n = 3 * SCAN_LIMIT as u64;
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
