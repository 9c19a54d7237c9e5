//! [`Simulation`]: the owner of one simulation, for elaboration and run control.

use crate::ctx::Ctx;
use crate::sched::{Kernel, ProcessHandle, RunOutcome, SimError, StarvationPolicy};
use crate::time::SimTime;
use crate::timeline::Recorder;
use std::future::Future;
use std::rc::Rc;

/// One simulation: build it (spawn processes, create channels and models through
/// [`Simulation::ctx`]), then drive it with `run*` and `step_*`.
///
/// Nothing is global: any number of simulations can exist in one program, each on the
/// thread that created it (a `Simulation` is not `Send`; build one per thread).
/// Dropping it drops every process and pending action.
pub struct Simulation {
    ctx: Ctx,
}

impl Default for Simulation {
    fn default() -> Self {
        Simulation::new()
    }
}

impl Simulation {
    /// An empty simulation at time zero.
    pub fn new() -> Simulation {
        Simulation {
            ctx: Ctx {
                kernel: Rc::new(Kernel::new()),
            },
        }
    }

    /// The handle models and processes use.
    pub fn ctx(&self) -> &Ctx {
        &self.ctx
    }

    /// Spawns a thread process (see [`Ctx::spawn`]).
    pub fn spawn<F, Fut>(&self, name: &str, body: F) -> ProcessHandle
    where
        F: FnOnce(Ctx) -> Fut,
        Fut: Future<Output = ()> + 'static,
    {
        self.ctx.spawn(name, body)
    }

    /// Current simulated time.
    pub fn now(&self) -> SimTime {
        self.ctx.now()
    }

    /// Delta cycles completed so far in which some process ran (SystemC's
    /// `sc_delta_count()`).
    pub fn delta_count(&self) -> u64 {
        self.ctx.delta_count()
    }

    /// Runs until nothing is left to do ([`RunOutcome::Starved`]) or a process stops
    /// the simulation (SystemC's `sc_start()`).
    pub fn run(&mut self) -> Result<RunOutcome, SimError> {
        self.ctx.kernel.run(None, StarvationPolicy::RunToTime)
    }

    /// Runs all activity before `end` and leaves time at `end` (SystemC's
    /// `sc_start(end - now)` with its default run-to-time policy: activity *at* `end`
    /// runs in the next call). Returns [`RunOutcome::Starved`] if nothing is left to
    /// do at all, so a caller need not loop forever waiting for activity.
    pub fn run_until(&mut self, end: SimTime) -> Result<RunOutcome, SimError> {
        self.ctx.kernel.run(Some(end), StarvationPolicy::RunToTime)
    }

    /// [`run_until`](Self::run_until) with an explicit starvation policy: with
    /// [`StarvationPolicy::ExitOnStarvation`] time stays at the last activity when
    /// nothing is left to do, so a run driven in slices (for a progress bar) ends at
    /// the same time as one `run()`.
    pub fn run_until_with(
        &mut self,
        end: SimTime,
        policy: StarvationPolicy,
    ) -> Result<RunOutcome, SimError> {
        self.ctx.kernel.run(Some(end), policy)
    }

    /// [`run_until`](Self::run_until)`(now + duration)`; a zero duration runs exactly
    /// one delta cycle at the current time, as `sc_start(SC_ZERO_TIME)` does (also
    /// when nothing is runnable: pending updates and delta notifications are
    /// processed). Then the outcome is [`RunOutcome::Starved`] if nothing is left,
    /// else [`RunOutcome::TimeReached`].
    pub fn run_for(&mut self, duration: SimTime) -> Result<RunOutcome, SimError> {
        if duration.is_zero() {
            return self.ctx.kernel.run_one_delta();
        }
        let end = self.now().saturating_add(duration);
        self.run_until(end)
    }

    /// Runs one delta cycle — after moving to the next time step if nothing is
    /// runnable now — and returns the time it ran at, or `None` if nothing is left.
    pub fn step_delta(&mut self) -> Result<Option<SimTime>, SimError> {
        self.ctx.kernel.step_delta()
    }

    /// Runs every delta cycle of the next time step with activity (the current one if
    /// anything is runnable) and returns its time, or `None` if nothing is left.
    pub fn step_time(&mut self) -> Result<Option<SimTime>, SimError> {
        self.ctx.kernel.step_time()
    }

    /// Attaches a timeline recorder (replacing and finishing any previous one).
    pub fn set_recorder(&mut self, recorder: Box<dyn Recorder>) {
        self.ctx.kernel.timeline.attach(recorder);
    }

    /// Detaches the recorder, calling its `finish`, and returns it.
    pub fn take_recorder(&mut self) -> Option<Box<dyn Recorder>> {
        self.ctx.kernel.timeline.detach()
    }
}

impl Drop for Simulation {
    fn drop(&mut self) {
        self.ctx.kernel.shutdown();
    }
}
