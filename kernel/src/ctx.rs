//! [`Ctx`]: the handle processes and models use to reach their simulation.

use crate::event::{Event, RawWait, Wait, WaitAny, WaitAnyTimeout, WaitOn, WaitTimeout};
use crate::sched::{Body, Kernel, ProcessHandle};
use crate::time::SimTime;
use crate::timeline::TimelineRef;
use std::future::Future;
use std::rc::Rc;

/// A cheap, clonable handle to one simulation: time, waits, events, process spawning,
/// stop, the timeline. Every process receives one; models keep one.
#[derive(Clone)]
pub struct Ctx {
    pub(crate) kernel: Rc<Kernel>,
}

impl Ctx {
    /// Current simulated time (SystemC's `sc_time_stamp()`).
    #[inline]
    pub fn now(&self) -> SimTime {
        self.kernel.now()
    }

    /// Delta cycles completed so far in which some process ran (SystemC's
    /// `sc_delta_count()`): 0 while the first delta cycle's processes run.
    pub fn delta_count(&self) -> u64 {
        self.kernel.delta_count()
    }

    /// Suspends the running process for `delay` (SystemC's `wait(t)`); a zero delay
    /// waits one delta cycle.
    #[inline(always)]
    pub fn wait(&self, delay: SimTime) -> Wait<'_> {
        Wait(RawWait::new(&self.kernel, WaitOn::Nothing, Some(delay)))
    }

    /// Suspends the running process for one delta cycle (SystemC's
    /// `wait(SC_ZERO_TIME)`).
    pub fn wait_delta(&self) -> Wait<'_> {
        self.wait(SimTime::ZERO)
    }

    /// Waits until any of `events` fires (SystemC's `wait(e1 | e2 | ...)`) and returns
    /// the index of the one that did. An empty list waits forever.
    pub fn wait_any<'a>(&'a self, events: &'a [&'a Event]) -> WaitAny<'a> {
        WaitAny(RawWait::new(&self.kernel, WaitOn::Any(events), None))
    }

    /// Waits until any of `events` fires or `timeout` passes; `Some(index)` of the
    /// event that fired, or `None` on timeout.
    pub fn wait_any_timeout<'a>(
        &'a self,
        events: &'a [&'a Event],
        timeout: SimTime,
    ) -> WaitAnyTimeout<'a> {
        WaitAnyTimeout(RawWait::new(
            &self.kernel,
            WaitOn::Any(events),
            Some(timeout),
        ))
    }

    /// Waits until every one of `events` has fired since the wait began (SystemC's
    /// `wait(e1 & e2 & ...)`); an event firing twice counts once. An empty list
    /// waits forever. Resolves to true.
    pub fn wait_all<'a>(&'a self, events: &'a [&'a Event]) -> WaitTimeout<'a> {
        WaitTimeout(RawWait::new(&self.kernel, WaitOn::All(events), None))
    }

    /// [`wait_all`](Self::wait_all), or until `timeout` passes: true if every event
    /// fired, false on timeout.
    pub fn wait_all_timeout<'a>(
        &'a self,
        events: &'a [&'a Event],
        timeout: SimTime,
    ) -> WaitTimeout<'a> {
        WaitTimeout(RawWait::new(
            &self.kernel,
            WaitOn::All(events),
            Some(timeout),
        ))
    }

    /// From a method: triggers it next when `event` fires, instead of its static
    /// sensitivity (SystemC's `next_trigger(e)`). Each call replaces the last of the
    /// same activation; once the trigger comes, the static sensitivity is back.
    /// Panics in a thread (a programming error: threads wait).
    pub fn next_trigger(&self, event: &Event) {
        self.kernel.next_trigger(Some((&WaitOn::One(event), None)));
    }

    /// From a method: triggers it next when any of `events` fires (`next_trigger(e1 | e2)`).
    pub fn next_trigger_any(&self, events: &[&Event]) {
        self.kernel.next_trigger(Some((&WaitOn::Any(events), None)));
    }

    /// From a method: triggers it next once all of `events` have fired
    /// (`next_trigger(e1 & e2)`).
    pub fn next_trigger_all(&self, events: &[&Event]) {
        self.kernel.next_trigger(Some((&WaitOn::All(events), None)));
    }

    /// From a method: triggers it next after `delay` (`next_trigger(t)`; zero: the
    /// next delta cycle).
    pub fn next_trigger_after(&self, delay: SimTime) {
        self.kernel
            .next_trigger(Some((&WaitOn::Nothing, Some(delay))));
    }

    /// From a method: triggers it next when `event` fires or `timeout` passes,
    /// whichever comes first (`next_trigger(t, e)`).
    pub fn next_trigger_timeout(&self, event: &Event, timeout: SimTime) {
        self.kernel
            .next_trigger(Some((&WaitOn::One(event), Some(timeout))));
    }

    /// From a method: drops a `next_trigger` of this activation, so the static
    /// sensitivity applies (SystemC's `next_trigger()`).
    pub fn next_trigger_static(&self) {
        self.kernel.next_trigger(None);
    }

    /// A new event of this simulation.
    pub fn event(&self, name: &str) -> Event {
        Event::new(self, name)
    }

    /// Spawns a thread process (SystemC's `SC_THREAD` / `sc_spawn`): `body` receives
    /// its own `Ctx` and returns the process's future, which owns the process's local
    /// state. The process first runs in the current evaluate phase if spawned by a
    /// running process, else at the start of the next run.
    pub fn spawn<F, Fut>(&self, name: &str, body: F) -> ProcessHandle
    where
        F: FnOnce(Ctx) -> Fut,
        Fut: Future<Output = ()> + 'static,
    {
        let fut = body(self.clone());
        let pid = self
            .kernel
            .spawn_body(name, Body::Thread(Box::pin(fut)), true);
        ProcessHandle {
            kernel: self.kernel.clone(),
            pid,
        }
    }

    /// Spawns a method process (SystemC's `SC_METHOD`): `body` runs to completion
    /// every time one of `sensitivity` fires, at most once per delta cycle. With
    /// `initialize` it also runs once at the start, as SystemC does without
    /// `dont_initialize()`.
    pub fn spawn_method(
        &self,
        name: &str,
        sensitivity: &[&Event],
        initialize: bool,
        body: impl FnMut() + 'static,
    ) -> ProcessHandle {
        let pid = self
            .kernel
            .spawn_body(name, Body::Method(Box::new(body)), initialize);
        for ev in sensitivity {
            ev.add_method(pid);
        }
        ProcessHandle {
            kernel: self.kernel.clone(),
            pid,
        }
    }

    /// Asks the simulation to stop once the current delta cycle is complete
    /// (SystemC's `sc_stop()`); the run returns [`RunOutcome::Stopped`](crate::RunOutcome::Stopped).
    pub fn stop(&self) {
        self.kernel.request_stop();
    }

    /// Asks the run to return once the current delta cycle is complete, with
    /// [`RunOutcome::Paused`](crate::RunOutcome::Paused) (SystemC's `sc_pause()`);
    /// the next run goes on from there.
    pub fn pause(&self) {
        self.kernel.request_pause();
    }

    /// The name of the running process, or `None` outside a process.
    pub fn process_name(&self) -> Option<Rc<str>> {
        self.kernel.current_name()
    }

    /// The timeline, for recording spans, instants, counters and flows.
    #[inline]
    pub fn timeline(&self) -> TimelineRef<'_> {
        TimelineRef {
            kernel: &self.kernel,
        }
    }

    /// The global quantum for temporal decoupling (TLM's `tlm_global_quantum`), per
    /// simulation. Zero (the default) means every quantum keeper syncs at once.
    pub fn global_quantum(&self) -> SimTime {
        self.kernel.global_quantum()
    }

    /// Sets the global quantum (see [`Ctx::global_quantum`]).
    pub fn set_global_quantum(&self, quantum: SimTime) {
        self.kernel.set_global_quantum(quantum);
    }
}
