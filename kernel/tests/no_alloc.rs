//! "No allocation per event in steady state": after a warm-up, running the kernel
//! benchmark programs further allocates nothing. A counting global allocator watches;
//! this file holds a single test so no other test allocates concurrently.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use treta_kernel::{RunOutcome, SimTime, Simulation};

#[path = "../examples/kernel_bench/programs.rs"]
#[allow(dead_code)] // this test builds the programs; it does not use the runners
mod programs;

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made while running `sim` from `from` to `to`.
fn allocations_between(sim: &mut Simulation, from: SimTime, to: SimTime) -> u64 {
    assert_eq!(sim.run_until(from).unwrap(), RunOutcome::TimeReached);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    assert_eq!(sim.run_until(to).unwrap(), RunOutcome::TimeReached);
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

#[test]
fn steady_state_runs_allocate_nothing() {
    for name in programs::NAMES {
        let mut program = programs::build(name, None).expect("known bench");
        // A window well past start-up, short enough for a debug build: b_manywait's
        // includes several 420 ns periods in which every process wakes at once.
        let end = program.end.as_ps();
        let (from, to) = if name == "b_manywait" {
            (SimTime::from_ps(end / 20), SimTime::from_ps(end / 10))
        } else {
            (SimTime::from_ps(end / 100), SimTime::from_ps(end / 50))
        };
        let n = allocations_between(&mut program.sim, from, to);
        assert_eq!(n, 0, "{name}: {n} allocations between {from} and {to}");
    }
}
