//! The scheduler: SystemC's evaluate–update–delta-notify loop over `async` processes.
//!
//! ```text
//!            ┌────────────── delta cycle ───────────────┐
//!  runnable ─► evaluate ──► update ──► delta notify ──┐ │  (immediate notifications feed
//!     ▲       (poll each    (commit     (fire delta    │ │   `runnable` during evaluate)
//!     │        process)      signals)    events/waits) │ │
//!     │◄─────────────── any runnable? ─────────────────┘ │
//!     │                                                  │
//!     └── advance time: pop the earliest timed bucket ◄──┘ none runnable
//! ```
//!
//! Processes never hold a `Waker`: a kernel future (a wait on time, on an event) asks
//! the kernel which process is running, parks that process with a fresh *wait
//! sequence number*, and on the next poll asks whether the process was woken for
//! that number. Wake-ups carry the number, so a wake-up that lost a race (the other
//! event of a `wait_any`, a timeout that came second, a cancelled notification) is
//! recognised as stale and dropped without any search or allocation.

mod process;
mod timed_queue;
mod wake;

pub use process::ProcessHandle;
pub(crate) use process::{Body, Pid};

use crate::event::{EventTable, WaitOn};
use crate::time::SimTime;
use crate::timeline::Timeline;
use process::ProcSlot;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::task::{Context, Waker};
use timed_queue::TimedQueue;
use wake::DeltaList;
pub(crate) use wake::Wake;

/// Something the scheduler does at a later delta cycle or time step. Plain indices,
/// so queues of actions need no drop glue.
#[derive(Clone, Copy)]
pub(crate) enum Action {
    /// Wake thread `pid` if it is still in the wait numbered `seq` (a timed wait or a
    /// timeout).
    Wake { pid: Pid, seq: u32 },
    /// Fire event `event` if its pending notification is still generation `gen` (not
    /// cancelled or overridden since).
    Notify { event: u32, gen: u32 },
}

/// A channel whose writes become visible in the update phase (SystemC's
/// `sc_prim_channel::update`).
pub(crate) trait Update {
    /// Commits the values written during the evaluate phase.
    fn update(&self);
}

/// Why the process that was just woken was woken: the index of the event in its wait
/// list, or [`WOKEN_BY_TIME`].
pub(crate) const WOKEN_BY_TIME: u32 = u32::MAX;

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunOutcome {
    /// Nothing is left to do: no runnable process and no pending notification or
    /// timed wait. Running again would do nothing.
    Starved,
    /// The requested end time was reached with activity still pending at or after it.
    TimeReached,
    /// A process called [`Ctx::stop`](crate::Ctx::stop); the delta cycle in which it
    /// did was completed.
    Stopped,
    /// A process called [`Ctx::pause`](crate::Ctx::pause) (SystemC's `sc_pause`);
    /// the delta cycle in which it did was completed, and running again goes on
    /// from there.
    Paused,
}

/// What `run_until` does when nothing is left to do before its end time (SystemC's
/// `sc_starvation_policy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StarvationPolicy {
    /// Time still advances to the end time (SystemC's default, `SC_RUN_TO_TIME`).
    #[default]
    RunToTime,
    /// Time stays at the last activity (`SC_EXIT_ON_STARVATION`): for running in
    /// slices while keeping the true end time.
    ExitOnStarvation,
}

/// A failure that ends a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SimError {
    /// A process panicked. The process is terminated; the rest of the simulation is
    /// left as it was, so it can be inspected.
    ProcessPanicked {
        /// The name the process was spawned with.
        process: String,
        /// The panic message, when it was a string.
        message: String,
        /// Simulated time of the panic.
        time: SimTime,
    },
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::ProcessPanicked {
                process,
                message,
                time,
            } => write!(f, "process '{process}' panicked at {time}: {message}"),
        }
    }
}

impl std::error::Error for SimError {}

pub(crate) const NO_PROCESS: Pid = Pid::MAX;

/// The processes and the runnable queues: everything an event needs to wake a
/// process. Kept apart from the other queues so that draining one and waking
/// processes borrow disjoint fields.
pub(crate) struct ProcTable {
    pub(crate) slots: Vec<ProcSlot>,
    /// Methods and threads made runnable since their queue's last batch began, in
    /// that order (SystemC's push lists).
    push_methods: Vec<Pid>,
    push_threads: Vec<Pid>,
    /// The batch being run (`batch[head..]` still to run), and whether it is of
    /// threads.
    batch: Vec<Pid>,
    head: usize,
    threads_turn: bool,
}

impl Default for ProcTable {
    fn default() -> Self {
        ProcTable {
            slots: Vec::new(),
            push_methods: Vec::new(),
            push_threads: Vec::new(),
            batch: Vec::new(),
            head: 0,
            // So that each evaluate phase starts with the methods.
            threads_turn: true,
        }
    }
}

impl ProcTable {
    /// Queues `pid` unless it is already queued or terminated.
    #[inline(always)]
    pub(crate) fn make_runnable(&mut self, pid: Pid) {
        let p = &mut self.slots[pid as usize];
        if p.queued || p.terminated {
            return;
        }
        p.queued = true;
        if p.method {
            self.push_methods.push(pid);
        } else {
            self.push_threads.push(pid);
        }
    }

    /// A static trigger of method `pid`: queues it unless it is queued, terminated,
    /// waiting on a `next_trigger` (which overrides its static sensitivity), or the
    /// running process itself (an immediate self-notification, IEEE 1666-2011 5.10.8).
    #[inline(always)]
    pub(crate) fn trigger_static(&mut self, pid: Pid, current: Pid) {
        let p = &self.slots[pid as usize];
        if p.waiting || pid == current {
            return;
        }
        self.make_runnable(pid);
    }

    /// Moves to the next non-empty batch, methods and threads taking turns;
    /// false (and the next turn the methods') when both queues are empty.
    #[inline(always)]
    fn next_batch(&mut self) -> bool {
        let methods = !self.push_methods.is_empty();
        let threads = !self.push_threads.is_empty();
        self.batch.clear();
        self.head = 0;
        if !methods && !threads {
            self.threads_turn = true;
            return false;
        }
        // After threads the methods go if any are runnable; after methods, threads.
        self.threads_turn = if self.threads_turn { !methods } else { threads };
        let queue = if self.threads_turn {
            &mut self.push_threads
        } else {
            &mut self.push_methods
        };
        std::mem::swap(&mut self.batch, queue);
        true
    }

    /// The next runnable live process, with the number of its last wait and why that
    /// wait ended.
    #[inline(always)]
    fn take_next(&mut self) -> Option<(Pid, (u32, u32))> {
        loop {
            while let Some(&pid) = self.batch.get(self.head) {
                self.head += 1;
                let p = &mut self.slots[pid as usize];
                p.queued = false;
                if !p.terminated {
                    let resumed = if p.waiting {
                        (p.seq.wrapping_sub(1), 0) // still parked: no wait of it has ended
                    } else {
                        (p.seq, p.woken_by)
                    };
                    return Some((pid, resumed));
                }
            }
            if !self.next_batch() {
                return None;
            }
        }
    }

    fn has_runnable(&self) -> bool {
        self.head < self.batch.len()
            || !self.push_methods.is_empty()
            || !self.push_threads.is_empty()
    }

    fn clear_runnable(&mut self) {
        self.push_methods.clear();
        self.push_threads.clear();
        self.batch.clear();
        self.head = 0;
    }
}

/// Carries out one action; returns whether it was still live (a stale wake-up or a
/// cancelled notification is not).
#[inline(always)]
fn apply(wake: &mut Wake<'_>, action: Action) -> bool {
    match action {
        Action::Wake { pid, seq } => wake.time_out(pid, seq),
        Action::Notify { event, gen } => wake.fire_pending(event, gen),
    }
}

/// Scheduler state that changes on every event; one `RefCell`, borrowed briefly and
/// never while a process runs.
#[derive(Default)]
pub(crate) struct Scheduler {
    pub(crate) procs: ProcTable,
    pub(crate) events: EventTable,
    /// Actions for the next delta-notification phase.
    pub(crate) delta: DeltaList,
    /// Actions for later time steps.
    timed: TimedQueue,
    /// Reused buffer for draining `delta` and timed buckets without allocating.
    scratch: Vec<Action>,
}

impl Scheduler {
    /// The tables waking touches, borrowed together.
    #[inline(always)]
    pub(crate) fn wake(&mut self) -> Wake<'_> {
        Wake {
            procs: &mut self.procs,
            events: &mut self.events,
            delta: &mut self.delta,
        }
    }

    #[inline(always)]
    pub(crate) fn push_timed(&mut self, at: SimTime, action: Action) {
        self.timed.push(at, action);
    }

    fn has_activity_now(&self) -> bool {
        self.procs.has_runnable() || !self.delta.actions.is_empty()
    }
}

/// The shared heart of one simulation. Every handle (`Ctx`, `Event`, channels) holds
/// an `Rc` to it; nothing is global, so simulations are independent.
pub(crate) struct Kernel {
    now: Cell<SimTime>,
    delta_count: Cell<u64>,
    current: Cell<Pid>,
    /// Wait number and wake reason of the running thread, copied when it was taken
    /// from the runnable queue, so its wait future learns why it woke without a
    /// borrow of the scheduler.
    resumed: Cell<(u32, u32)>,
    stop_requested: Cell<bool>,
    pause_requested: Cell<bool>,
    /// Whether the initialization phase (an update and a delta-notification phase
    /// before the first evaluate phase, SystemC's `prepare_to_simulate`) has run.
    initialized: Cell<bool>,
    pub(crate) sched: RefCell<Scheduler>,
    /// Process bodies by pid, while no run is going on; a run moves them into its
    /// [`Running`] so it can poll them in place, without a borrow per poll.
    bodies: RefCell<Vec<Option<Body>>>,
    /// Bodies of processes spawned during a run, adopted by the run after each poll.
    spawned: RefCell<Vec<(Pid, Body)>>,
    spawned_pending: Cell<bool>,
    running: Cell<bool>,
    /// Channels to update in the next update phase, and a spare list the phase
    /// swaps in so that neither is reallocated.
    updates: RefCell<Vec<Rc<dyn Update>>>,
    updates_spare: RefCell<Vec<Rc<dyn Update>>>,
    /// Whether `updates` is non-empty (checked every delta cycle; a `Cell` is cheaper
    /// than a borrow).
    updates_pending: Cell<bool>,
    pub(crate) timeline: Timeline,
    global_quantum: Cell<SimTime>,
}

impl Kernel {
    pub(crate) fn new() -> Kernel {
        Kernel {
            now: Cell::new(SimTime::ZERO),
            delta_count: Cell::new(0),
            current: Cell::new(NO_PROCESS),
            resumed: Cell::new((0, 0)),
            stop_requested: Cell::new(false),
            pause_requested: Cell::new(false),
            initialized: Cell::new(false),
            sched: RefCell::new(Scheduler::default()),
            bodies: RefCell::new(Vec::new()),
            spawned: RefCell::new(Vec::new()),
            spawned_pending: Cell::new(false),
            running: Cell::new(false),
            updates: RefCell::new(Vec::new()),
            updates_spare: RefCell::new(Vec::new()),
            updates_pending: Cell::new(false),
            timeline: Timeline::default(),
            global_quantum: Cell::new(SimTime::ZERO),
        }
    }

    pub(crate) fn now(&self) -> SimTime {
        self.now.get()
    }

    pub(crate) fn delta_count(&self) -> u64 {
        self.delta_count.get()
    }

    pub(crate) fn request_stop(&self) {
        self.stop_requested.set(true);
    }

    pub(crate) fn request_pause(&self) {
        self.pause_requested.set(true);
    }

    pub(crate) fn global_quantum(&self) -> SimTime {
        self.global_quantum.get()
    }

    pub(crate) fn set_global_quantum(&self, q: SimTime) {
        self.global_quantum.set(q);
    }

    /// The running process. Panics outside a process: awaiting a kernel future
    /// anywhere else is a programming error that no input can cause.
    fn current_pid(&self) -> Pid {
        let pid = self.current.get();
        assert!(
            pid != NO_PROCESS,
            "a treta-kernel wait was awaited outside a simulation process"
        );
        pid
    }

    /// The running process, or `NO_PROCESS` outside the evaluate phase.
    #[inline(always)]
    pub(crate) fn current_or_none(&self) -> Pid {
        self.current.get()
    }

    /// Name of the running process, if any.
    pub(crate) fn current_name(&self) -> Option<Rc<str>> {
        let pid = self.current.get();
        (pid != NO_PROCESS).then(|| self.sched.borrow().procs.slots[pid as usize].name.clone())
    }

    /// Parks the running thread in a new wait on `on` and/or `timeout` (zero: the
    /// next delta cycle), all in one borrow, and returns its id and wait number.
    #[inline(always)]
    pub(crate) fn park(&self, on: &WaitOn<'_>, timeout: Option<SimTime>) -> (Pid, u32) {
        let pid = self.current_pid();
        match (on, timeout) {
            // The common waits, on one event or on time alone: registered without
            // the general path.
            (WaitOn::One(ev), None) => {
                let seq = self
                    .sched
                    .borrow_mut()
                    .wake()
                    .start_wait_one(pid, Some(ev.id()));
                return (pid, seq);
            }
            (WaitOn::Nothing, Some(delay)) if !delay.is_zero() => {
                let mut s = self.sched.borrow_mut();
                let seq = s.wake().start_wait_one(pid, None);
                s.push_timed(self.now() + delay, Action::Wake { pid, seq });
                s.procs.slots[pid as usize].timeout = process::Timeout::Timed;
                return (pid, seq);
            }
            _ => {}
        }
        let seq = self.start_wait(pid, on, timeout);
        (pid, seq)
    }

    /// Starts a dynamic wait of `pid` on `on` and/or `timeout`; returns its number.
    #[inline(always)]
    fn start_wait(&self, pid: Pid, on: &WaitOn<'_>, timeout: Option<SimTime>) -> u32 {
        let mut s = self.sched.borrow_mut();
        let zero = timeout.is_some_and(|t| t.is_zero());
        let seq = match on {
            WaitOn::Nothing => s.wake().start_wait(pid, std::iter::empty(), false, zero),
            WaitOn::One(ev) => s
                .wake()
                .start_wait(pid, std::iter::once(ev.id()), false, zero),
            WaitOn::Any(list) => s
                .wake()
                .start_wait(pid, list.iter().map(|e| e.id()), false, zero),
            WaitOn::All(list) => s
                .wake()
                .start_wait(pid, list.iter().map(|e| e.id()), true, zero),
        };
        if let Some(delay) = timeout.filter(|t| !t.is_zero()) {
            s.push_timed(self.now() + delay, Action::Wake { pid, seq });
            s.procs.slots[pid as usize].timeout = process::Timeout::Timed;
        }
        seq
    }

    /// Gives the running method a dynamic sensitivity for its next trigger
    /// (SystemC's `next_trigger`), replacing any set earlier in this activation;
    /// `None` restores its static sensitivity.
    pub(crate) fn next_trigger(&self, on: Option<(&WaitOn<'_>, Option<SimTime>)>) {
        let pid = self.current_pid();
        let method = self.sched.borrow().procs.slots[pid as usize].method;
        assert!(method, "next_trigger is for method processes; threads wait");
        match on {
            Some((on, timeout)) => {
                self.start_wait(pid, on, timeout);
            }
            None => self.sched.borrow_mut().wake().clear_wait(pid),
        }
    }

    /// `Some(reason)` once `pid` has been woken from wait `seq`: the running process
    /// was resumed out of that very wait.
    #[inline(always)]
    pub(crate) fn woken(&self, pid: Pid, seq: u32) -> Option<u32> {
        let (resumed_seq, reason) = self.resumed.get();
        (self.current.get() == pid && resumed_seq == seq).then_some(reason)
    }

    /// Queues `channel` for the next update phase.
    #[inline(always)]
    pub(crate) fn request_update(&self, channel: Rc<dyn Update>) {
        self.updates.borrow_mut().push(channel);
        self.updates_pending.set(true);
    }

    fn has_activity_now(&self) -> bool {
        self.updates_pending.get() || self.sched.borrow().has_activity_now()
    }

    /// Runs delta cycles and time steps until `limit` (exclusive, like `sc_start(t)`:
    /// activity *at* `limit` is left for the next run), a stop, a pause, or
    /// starvation.
    pub(crate) fn run(
        &self,
        limit: Option<SimTime>,
        policy: StarvationPolicy,
    ) -> Result<RunOutcome, SimError> {
        self.stop_requested.set(false);
        self.pause_requested.set(false);
        self.guarded(|run| loop {
            match self.next_step(limit) {
                Step::Delta => {}
                Step::Starved => {
                    if policy == StarvationPolicy::RunToTime {
                        self.move_to(limit);
                    }
                    return RunOutcome::Starved;
                }
                Step::LimitReached(next) => {
                    // SystemC leaves time at the last activity when the next one is
                    // beyond the limit and the policy is to exit on starvation.
                    if policy == StarvationPolicy::RunToTime || Some(next) == limit {
                        self.move_to(limit);
                    }
                    return RunOutcome::TimeReached;
                }
            }
            run.delta_cycle();
            if let Some(outcome) = self.interrupted() {
                return outcome;
            }
        })
    }

    /// A stop or pause requested during the last delta cycle.
    #[inline(always)]
    fn interrupted(&self) -> Option<RunOutcome> {
        if !(self.stop_requested.get() || self.pause_requested.get()) {
            None
        } else if self.stop_requested.get() {
            Some(RunOutcome::Stopped)
        } else if self.pause_requested.replace(false) {
            Some(RunOutcome::Paused)
        } else {
            None
        }
    }

    /// Exactly one delta cycle at the current time, without moving time, even if
    /// nothing is runnable (SystemC's `sc_start(SC_ZERO_TIME)`).
    pub(crate) fn run_one_delta(&self) -> Result<RunOutcome, SimError> {
        self.stop_requested.set(false);
        self.pause_requested.set(false);
        self.guarded(|run| {
            run.delta_cycle();
            if let Some(outcome) = self.interrupted() {
                return outcome;
            }
            let s = self.sched.borrow();
            if self.updates_pending.get() || s.has_activity_now() || s.timed.next_time().is_some() {
                RunOutcome::TimeReached
            } else {
                RunOutcome::Starved
            }
        })
    }

    /// With a run-to-time limit, time ends at the limit (SystemC's default policy).
    fn move_to(&self, limit: Option<SimTime>) {
        if let Some(limit) = limit {
            self.now.set(self.now().max(limit));
        }
    }

    /// One delta cycle, starting with a time step if nothing is runnable now.
    pub(crate) fn step_delta(&self) -> Result<Option<SimTime>, SimError> {
        self.guarded(|run| match self.next_step(None) {
            Step::Delta => {
                run.delta_cycle();
                Some(self.now())
            }
            Step::Starved | Step::LimitReached(_) => None,
        })
    }

    /// All delta cycles of one time step, starting with a time step if nothing is
    /// runnable now.
    pub(crate) fn step_time(&self) -> Result<Option<SimTime>, SimError> {
        self.guarded(|run| {
            if !matches!(self.next_step(None), Step::Delta) {
                return None;
            }
            let t = self.now();
            run.delta_cycle();
            while self.has_activity_now() {
                run.delta_cycle();
            }
            Some(t)
        })
    }

    /// Runs `f` with the process bodies at hand; a panic in it (always a process's:
    /// kernel code does not panic on any input) terminates that process and becomes
    /// a `SimError`.
    fn guarded<R>(&self, f: impl FnOnce(&mut Running<'_>) -> R) -> Result<R, SimError> {
        let mut run = Running::new(self);
        match catch_unwind(AssertUnwindSafe(|| {
            if !self.initialized.replace(true) {
                run.initialize();
            }
            f(&mut run)
        })) {
            Ok(r) => Ok(r),
            Err(panic) => {
                let pid = self.current.replace(NO_PROCESS);
                let process = if pid == NO_PROCESS {
                    "(channel update)".into()
                } else {
                    // Drop what is left of the panicked body (its live locals).
                    drop(run.bodies.get_mut(pid as usize).and_then(Option::take));
                    self.terminate(pid)
                };
                Err(SimError::ProcessPanicked {
                    process: process.to_string(),
                    message: panic_message(panic.as_ref()),
                    time: self.now(),
                })
            }
        }
    }

    /// Whether a delta cycle is due now, else moves time to the next timed activity
    /// (in one borrow of the scheduler).
    #[inline(always)]
    fn next_step(&self, limit: Option<SimTime>) -> Step {
        if self.updates_pending.get() {
            return Step::Delta;
        }
        let mut s = self.sched.borrow_mut();
        if s.has_activity_now() {
            return Step::Delta;
        }
        let Scheduler {
            procs,
            events,
            timed,
            scratch,
            delta,
        } = &mut *s;
        let mut wake = Wake {
            procs,
            events,
            delta,
        };
        loop {
            let Some(t) = timed.next_time() else {
                return Step::Starved;
            };
            if limit.is_some_and(|limit| t >= limit) {
                return Step::LimitReached(t);
            }
            let mut live = false;
            timed.pop_each(scratch, |action| live |= apply(&mut wake, action));
            if live {
                self.now.set(t);
                if wake.procs.has_runnable() || !wake.delta.actions.is_empty() {
                    return Step::Delta;
                }
            }
            // Nothing to run at `t`: either every action there was stale (cancelled
            // notifications, timeouts that lost: time does not move there, as in
            // SystemC) or an event fired with no one waiting (time moved).
        }
    }

    /// Marks `pid` terminated and fires its terminated event; returns its name.
    fn terminate(&self, pid: Pid) -> Rc<str> {
        let (name, event) = {
            let mut s = self.sched.borrow_mut();
            let p = &mut s.procs.slots[pid as usize];
            p.terminated = true;
            p.waiting = false;
            (p.name.clone(), p.terminated_event.clone())
        };
        if let Some(event) = event {
            event.notify();
        }
        name
    }

    fn update_phase(&self) {
        // Swap the request list with the (empty) spare, so channels may request
        // updates while we iterate (SystemC forbids it; we tolerate it: such a request
        // waits for the next update phase).
        std::mem::swap(
            &mut *self.updates.borrow_mut(),
            &mut *self.updates_spare.borrow_mut(),
        );
        self.updates_pending.set(false);
        let mut pending = self.updates_spare.borrow_mut();
        for channel in pending.iter() {
            channel.update();
        }
        pending.clear();
    }

    /// The delta-notification phase: the delta list from its back (SystemC's order).
    #[inline(always)]
    fn notify_phase(&self) {
        let mut s = self.sched.borrow_mut();
        if s.delta.actions.is_empty() {
            return;
        }
        let Scheduler {
            procs,
            events,
            delta,
            scratch,
            ..
        } = &mut *s;
        std::mem::swap(&mut delta.actions, scratch);
        delta.notifying = true;
        let mut wake = Wake {
            procs,
            events,
            delta,
        };
        for &action in scratch.iter().rev() {
            apply(&mut wake, action);
        }
        wake.delta.notifying = false;
        scratch.clear();
    }

    /// Spawns a process; it first runs in the current or next evaluate phase
    /// (`initialize`), or only when triggered (a method with `dont_initialize`).
    pub(crate) fn spawn_body(&self, name: &str, body: Body, initialize: bool) -> Pid {
        let pid = {
            let mut s = self.sched.borrow_mut();
            let pid = s.procs.slots.len() as Pid;
            s.procs
                .slots
                .push(ProcSlot::new(name, matches!(body, Body::Method(_))));
            if initialize {
                s.procs.make_runnable(pid);
            }
            pid
        };
        if self.running.get() {
            self.spawned.borrow_mut().push((pid, body));
            self.spawned_pending.set(true);
        } else {
            store_body(&mut self.bodies.borrow_mut(), pid, body);
        }
        pid
    }

    /// Tears down every process and pending action. Dropping process futures drops the
    /// handles they captured, which breaks the `Rc` cycles through the kernel.
    pub(crate) fn shutdown(&self) {
        let updates = std::mem::take(&mut *self.updates.borrow_mut());
        let bodies = std::mem::take(&mut *self.bodies.borrow_mut());
        let spawned = std::mem::take(&mut *self.spawned.borrow_mut());
        let delta = {
            let mut s = self.sched.borrow_mut();
            for p in &mut s.procs.slots {
                p.terminated_event = None;
            }
            s.timed.clear();
            s.procs.clear_runnable();
            std::mem::take(&mut s.delta.actions)
        };
        // Dropped outside the borrows: a process's locals may run code on drop.
        drop(bodies);
        drop(spawned);
        drop(updates);
        drop(delta);
        self.timeline.detach();
    }
}

/// A run in progress: holds the process bodies so the evaluate phase polls them in
/// place. Dropping it (also when a process panics) hands them back to the kernel.
struct Running<'k> {
    kernel: &'k Kernel,
    bodies: Vec<Option<Body>>,
}

impl<'k> Running<'k> {
    fn new(kernel: &'k Kernel) -> Running<'k> {
        kernel.running.set(true);
        let mut run = Running {
            kernel,
            bodies: std::mem::take(&mut *kernel.bodies.borrow_mut()),
        };
        run.adopt_spawned();
        run
    }

    /// Takes over the bodies of processes spawned since the last look.
    fn adopt_spawned(&mut self) {
        self.kernel.spawned_pending.set(false);
        for (pid, body) in self.kernel.spawned.borrow_mut().drain(..) {
            store_body(&mut self.bodies, pid, body);
        }
    }

    /// The initialization phase before the first evaluate phase: an update phase
    /// (values written before the run become visible to the processes' first
    /// activation) and a delta-notification phase; no delta cycle is counted.
    fn initialize(&mut self) {
        let k = self.kernel;
        if k.updates_pending.get() {
            k.update_phase();
        }
        k.notify_phase();
    }

    /// Evaluate, update and delta-notification phases. The delta count goes up when
    /// a delta cycle in which some process ran completes (SystemC's
    /// `sc_delta_count`).
    #[inline(always)]
    fn delta_cycle(&mut self) {
        let k = self.kernel;
        let ran = self.poll_runnable();
        if k.updates_pending.get() {
            k.update_phase();
        }
        k.notify_phase();
        if ran {
            k.delta_count.set(k.delta_count.get() + 1);
        }
    }

    /// Polls every runnable process, including those made runnable meanwhile by
    /// immediate notifications, until none is left; returns whether any ran.
    #[inline(always)]
    fn poll_runnable(&mut self) -> bool {
        let k = self.kernel;
        let mut cx = Context::from_waker(Waker::noop());
        if k.spawned_pending.get() {
            self.adopt_spawned();
        }
        let mut ran = false;
        let mut next = k.sched.borrow_mut().procs.take_next();
        while let Some((pid, resumed)) = next {
            ran = true;
            k.current.set(pid);
            k.resumed.set(resumed);
            let finished = match self.bodies.get_mut(pid as usize) {
                Some(Some(Body::Thread(fut))) => fut.as_mut().poll(&mut cx).is_ready(),
                Some(Some(Body::Method(f))) => {
                    f();
                    false
                }
                // Every live process has a body (adopted right after its spawn).
                _ => false,
            };
            k.current.set(NO_PROCESS);
            if k.spawned_pending.get() {
                self.adopt_spawned();
            }
            if finished {
                drop(self.bodies[pid as usize].take());
                k.terminate(pid);
            }
            next = k.sched.borrow_mut().procs.take_next();
        }
        ran
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.adopt_spawned();
        *self.kernel.bodies.borrow_mut() = std::mem::take(&mut self.bodies);
        self.kernel.running.set(false);
    }
}

/// Puts `body` at index `pid`, growing the table as needed.
fn store_body(bodies: &mut Vec<Option<Body>>, pid: Pid, body: Body) {
    let i = pid as usize;
    if bodies.len() <= i {
        bodies.resize_with(i + 1, || None);
    }
    bodies[i] = Some(body);
}

/// What the run loop does next.
enum Step {
    /// Run a delta cycle at the current time.
    Delta,
    /// Nothing is left to do.
    Starved,
    /// The next activity, at this time, is at or after the run's end time.
    LimitReached(SimTime),
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}
