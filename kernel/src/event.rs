//! Events (SystemC's `sc_event`) and the futures that wait on them.
//!
//! An event has at most one pending notification. The rules are SystemC's:
//! an immediate notification (`notify`) cancels any pending one and fires now, waking
//! its waiters in the *current* evaluate phase; a delta notification
//! (`notify_delta`, or `notify_after(0)`) fires in the next delta cycle and overrides
//! a pending timed one; a timed notification (`notify_after(t)`) replaces a pending
//! one only if it is earlier. `cancel` removes a pending notification. Waiters are
//! removed when the event fires; a wait is satisfied by one firing.

use crate::sched::{Action, Kernel, Pid, WOKEN_BY_TIME};
use crate::time::SimTime;
use crate::Ctx;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// A notification point processes can wait on (SystemC's `sc_event`). Cloning gives
/// another handle to the same event.
///
/// The event's state lives in the kernel's event table, so that notifying, waiting and
/// firing borrow the scheduler once and queue entries are plain indices; the handle
/// frees the slot when its last clone is dropped.
#[derive(Clone)]
pub struct Event(Rc<EventHandle>);

struct EventHandle {
    kernel: Rc<Kernel>,
    id: u32,
    name: Box<str>,
}

impl Drop for EventHandle {
    fn drop(&mut self) {
        // Never borrowed here in practice (handles are dropped outside kernel calls);
        // if it were, the slot would merely stay allocated.
        if let Ok(mut sched) = self.kernel.sched.try_borrow_mut() {
            sched.events.free(self.id);
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) enum Pending {
    #[default]
    None,
    Delta,
    Timed(SimTime),
}

/// The kernel-side state of one event.
#[derive(Default)]
pub(crate) struct EventSlot {
    pub(crate) pending: Pending,
    /// Bumped whenever the pending notification is fired, cancelled or replaced (and
    /// when the slot is freed), so queue entries of an older generation are stale.
    pub(crate) gen: u32,
    /// While a delta notification is pending: its index in the delta list.
    pub(crate) delta_ix: u32,
    /// Threads waiting dynamically (`wait`), with the number of their wait and the
    /// index of this event in their wait list; they leave when woken.
    pub(crate) threads: Vec<Waiter>,
    /// Methods waiting through `next_trigger`, likewise.
    pub(crate) dyn_methods: Vec<Waiter>,
    /// Methods statically sensitive to this event; never removed.
    pub(crate) methods: Vec<Pid>,
}

/// A process in an event's waiter list.
#[derive(Clone, Copy)]
pub(crate) struct Waiter {
    pub(crate) pid: Pid,
    pub(crate) seq: u32,
    pub(crate) index: u32,
}

/// Every event of a simulation, by id; freed slots are reused.
#[derive(Default)]
pub(crate) struct EventTable {
    pub(crate) slots: Vec<EventSlot>,
    free: Vec<u32>,
}

impl EventTable {
    fn alloc(&mut self) -> u32 {
        match self.free.pop() {
            Some(id) => id,
            None => {
                self.slots.push(EventSlot::default());
                (self.slots.len() - 1) as u32
            }
        }
    }

    /// Frees a slot. A pending delta notification stays in the delta list, stale
    /// (its generation is old), where it wakes no one.
    fn free(&mut self, id: u32) {
        let slot = &mut self.slots[id as usize];
        slot.pending = Pending::None;
        slot.gen = slot.gen.wrapping_add(1);
        slot.threads.clear();
        slot.dyn_methods.clear();
        slot.methods.clear();
        self.free.push(id);
    }
}

impl Event {
    /// A new event named `name` (names show up in traces and debug output).
    pub fn new(ctx: &Ctx, name: &str) -> Event {
        Event::with_kernel(ctx.kernel.clone(), name)
    }

    pub(crate) fn with_kernel(kernel: Rc<Kernel>, name: &str) -> Event {
        let id = kernel.sched.borrow_mut().events.alloc();
        Event(Rc::new(EventHandle {
            kernel,
            id,
            name: name.into(),
        }))
    }

    /// The event's name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    pub(crate) fn id(&self) -> u32 {
        self.0.id
    }

    /// Immediate notification: cancels any pending notification and wakes the waiters
    /// in the current evaluate phase (a method not by its own notification).
    #[inline(always)]
    pub fn notify(&self) {
        let kernel = &self.0.kernel;
        let current = kernel.current_or_none();
        let mut sched = kernel.sched.borrow_mut();
        let mut wake = sched.wake();
        wake.cancel(self.0.id);
        wake.fire(self.0.id, current);
    }

    /// Delta notification: fires in the next delta cycle. Overrides a pending timed
    /// notification; does nothing if a delta notification is already pending.
    #[inline(always)]
    pub fn notify_delta(&self) {
        let mut sched = self.0.kernel.sched.borrow_mut();
        let slot = &mut sched.events.slots[self.0.id as usize];
        match slot.pending {
            Pending::Delta => return,
            Pending::Timed(_) => slot.gen = slot.gen.wrapping_add(1),
            Pending::None => {}
        }
        slot.pending = Pending::Delta;
        let gen = slot.gen;
        sched.wake().push_delta_notify(self.0.id, gen);
    }

    /// Delta notification from a channel's update phase, skipped when no process or
    /// method could observe it: nothing waits on the event, it is sensitive to no
    /// method and nothing is pending. No evaluate phase runs between the update phase
    /// and the delta notification phase, so nobody can start waiting in between; the
    /// skip is invisible. (`sc_fifo` notifies its events after every delta cycle with
    /// a read or write, mostly to no one.)
    #[inline]
    pub(crate) fn notify_delta_from_update(&self) {
        {
            let sched = self.0.kernel.sched.borrow();
            let slot = &sched.events.slots[self.0.id as usize];
            if slot.threads.is_empty()
                && slot.dyn_methods.is_empty()
                && slot.methods.is_empty()
                && slot.pending == Pending::None
            {
                return;
            }
        }
        self.notify_delta();
    }

    /// Timed notification `delay` from now (SystemC's `notify(t)`); a zero delay is a
    /// delta notification. Kept only if no earlier notification is pending.
    #[inline(always)]
    pub fn notify_after(&self, delay: SimTime) {
        if delay.is_zero() {
            return self.notify_delta();
        }
        let at = self.0.kernel.now() + delay;
        let mut sched = self.0.kernel.sched.borrow_mut();
        let slot = &mut sched.events.slots[self.0.id as usize];
        match slot.pending {
            Pending::Delta => return,
            Pending::Timed(pending) if pending <= at => return,
            Pending::Timed(_) => slot.gen = slot.gen.wrapping_add(1),
            Pending::None => {}
        }
        slot.pending = Pending::Timed(at);
        let action = Action::Notify {
            event: self.0.id,
            gen: slot.gen,
        };
        sched.push_timed(at, action);
    }

    /// Cancels a pending delta or timed notification, if any.
    pub fn cancel(&self) {
        self.0.kernel.sched.borrow_mut().wake().cancel(self.0.id);
    }

    fn pending(&self) -> Pending {
        self.0.kernel.sched.borrow().events.slots[self.0.id as usize].pending
    }

    /// When the pending notification fires: `Some(now)` for a delta notification,
    /// `Some(t)` for a timed one, `None` if nothing is pending.
    pub fn pending_time(&self) -> Option<SimTime> {
        match self.pending() {
            Pending::None => None,
            Pending::Delta => Some(self.0.kernel.now()),
            Pending::Timed(t) => Some(t),
        }
    }

    /// Waits until the event fires (SystemC's `wait(e)`).
    #[inline(always)]
    pub fn wait(&self) -> Wait<'_> {
        Wait(RawWait::new(&self.0.kernel, WaitOn::One(self), None))
    }

    /// Waits until the event fires or `timeout` passes (SystemC's `wait(t, e)`).
    /// Resolves to true if the event fired, false on timeout.
    pub fn wait_timeout(&self, timeout: SimTime) -> WaitTimeout<'_> {
        WaitTimeout(RawWait::new(
            &self.0.kernel,
            WaitOn::One(self),
            Some(timeout),
        ))
    }

    /// Makes method `pid` statically sensitive to this event.
    pub(crate) fn add_method(&self, pid: Pid) {
        self.0.kernel.sched.borrow_mut().events.slots[self.0.id as usize]
            .methods
            .push(pid);
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("name", &self.name())
            .field("pending", &self.pending())
            .finish()
    }
}

/// What a [`RawWait`] waits on, besides its timeout.
pub(crate) enum WaitOn<'a> {
    /// Only the timeout (a plain `wait(t)`).
    Nothing,
    One(&'a Event),
    Any(&'a [&'a Event]),
    /// All of them (SystemC's `wait(e1 & e2 & ...)`).
    All(&'a [&'a Event]),
}

/// The one wait future every blocking call is built from: parks the running thread
/// on some events and/or a timeout, and resolves to why it was woken (the event's
/// index, or [`WOKEN_BY_TIME`]).
pub(crate) struct RawWait<'a> {
    kernel: &'a Kernel,
    on: WaitOn<'a>,
    timeout: Option<SimTime>,
    /// The process and wait number once parked (`pid == NOT_PARKED` before).
    pid: Pid,
    seq: u32,
}

const NOT_PARKED: Pid = Pid::MAX;

impl<'a> RawWait<'a> {
    pub(crate) fn new(kernel: &'a Kernel, on: WaitOn<'a>, timeout: Option<SimTime>) -> Self {
        RawWait {
            kernel,
            on,
            timeout,
            pid: NOT_PARKED,
            seq: 0,
        }
    }
}

impl Future for RawWait<'_> {
    type Output = u32;

    #[inline(always)]
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<u32> {
        if self.pid != NOT_PARKED {
            return match self.kernel.woken(self.pid, self.seq) {
                Some(reason) => Poll::Ready(reason),
                None => Poll::Pending,
            };
        }
        let (pid, seq) = self.kernel.park(&self.on, self.timeout);
        self.pid = pid;
        self.seq = seq;
        Poll::Pending
    }
}

/// Future of a plain wait: on time ([`Ctx::wait`]) or on one event ([`Event::wait`]).
#[must_use = "a wait does nothing unless awaited"]
pub struct Wait<'a>(pub(crate) RawWait<'a>);

impl Future for Wait<'_> {
    type Output = ();
    #[inline(always)]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}

/// Future of [`Event::wait_timeout`], [`Ctx::wait_all`] and [`Ctx::wait_all_timeout`]:
/// true if the event (every event, for the and-lists) fired, false on timeout.
#[must_use = "a wait does nothing unless awaited"]
pub struct WaitTimeout<'a>(pub(crate) RawWait<'a>);

impl Future for WaitTimeout<'_> {
    type Output = bool;
    #[inline(always)]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|reason| reason != WOKEN_BY_TIME)
    }
}

/// Future of [`Ctx::wait_any`]: the index of the event that fired.
#[must_use = "a wait does nothing unless awaited"]
pub struct WaitAny<'a>(pub(crate) RawWait<'a>);

impl Future for WaitAny<'_> {
    type Output = usize;
    #[inline(always)]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        Pin::new(&mut self.0).poll(cx).map(|reason| reason as usize)
    }
}

/// Future of [`Ctx::wait_any_timeout`]: the index of the event that fired, or `None`
/// on timeout.
#[must_use = "a wait does nothing unless awaited"]
pub struct WaitAnyTimeout<'a>(pub(crate) RawWait<'a>);

impl Future for WaitAnyTimeout<'_> {
    type Output = Option<usize>;
    #[inline(always)]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<usize>> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|reason| (reason != WOKEN_BY_TIME).then_some(reason as usize))
    }
}
