//! [`QuantumKeeper`]: temporal decoupling (TLM-2.0's `tlm_quantumkeeper`).

use crate::time::SimTime;
use crate::Ctx;

/// Lets an initiator run ahead of simulated time by accumulating a *local time*
/// offset, and synchronise (actually wait) only when the offset reaches the next
/// multiple of the simulation's global quantum ([`Ctx::global_quantum`]).
/// With a 1 us quantum and 10 ns per transaction, an initiator context-switches once
/// per 100 transactions instead of once per transaction.
pub struct QuantumKeeper {
    ctx: Ctx,
    local: SimTime,
    next_sync: SimTime,
}

impl QuantumKeeper {
    /// A keeper with zero local time, its first sync point at the next quantum
    /// boundary.
    pub fn new(ctx: &Ctx) -> QuantumKeeper {
        let mut qk = QuantumKeeper {
            ctx: ctx.clone(),
            local: SimTime::ZERO,
            next_sync: SimTime::ZERO,
        };
        qk.reset();
        qk
    }

    /// Time from now to the next global-quantum boundary (zero when the quantum is
    /// zero: sync at every check).
    #[inline]
    pub fn compute_local_quantum(&self) -> SimTime {
        let quantum = self.ctx.global_quantum().as_ps();
        if quantum == 0 {
            return SimTime::ZERO;
        }
        let now = self.ctx.now().as_ps();
        SimTime::from_ps(quantum - now % quantum)
    }

    /// Adds `t` to the local time.
    #[inline]
    pub fn inc(&mut self, t: SimTime) {
        self.local += t;
    }

    /// Sets the local time (e.g. to the delay annotated by `b_transport`).
    #[inline]
    pub fn set(&mut self, t: SimTime) {
        self.local = t;
    }

    /// The local time offset.
    #[inline]
    pub fn local_time(&self) -> SimTime {
        self.local
    }

    /// Simulated time plus the local offset: the initiator's notion of now.
    #[inline]
    pub fn current_time(&self) -> SimTime {
        self.ctx.now() + self.local
    }

    /// True once the local time reached the sync point.
    #[inline]
    pub fn need_sync(&self) -> bool {
        self.ctx.now() + self.local >= self.next_sync
    }

    /// Waits out the local time, then resets.
    pub async fn sync(&mut self) {
        self.ctx.wait(self.local).await;
        self.reset();
    }

    /// Zeroes the local time and computes the next sync point.
    #[inline]
    pub fn reset(&mut self) {
        self.local = SimTime::ZERO;
        self.next_sync = self.ctx.now() + self.compute_local_quantum();
    }
}
