//! Process records: SystemC's `SC_THREAD` (an `async` body) and `SC_METHOD` (a
//! closure run to completion on each trigger).

use super::Kernel;
use crate::event::Event;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

/// Index of a process in its simulation.
pub(crate) type Pid = u32;

/// What a process runs.
pub(crate) enum Body {
    /// A thread: polled until it completes; suspends at each kernel wait.
    Thread(Pin<Box<dyn Future<Output = ()>>>),
    /// A method: called to completion each time one of its events fires.
    Method(Box<dyn FnMut()>),
}

/// Where a pending timeout of a process's wait sits.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Timeout {
    /// None pending.
    None,
    /// In the delta list, at this index (a zero timeout: SystemC's timeout event
    /// notified with `SC_ZERO_TIME`, which cancelling removes from the list).
    Delta(u32),
    /// In the timed queue (stale once the wait ends, as a cancelled timed event).
    Timed,
}

/// The scheduler's record of one process.
pub(crate) struct ProcSlot {
    pub(super) name: Rc<str>,
    /// A method (run to completion on each trigger) rather than a thread.
    pub(crate) method: bool,
    /// Number of the process's current (or last) dynamic wait: a thread's `wait`, a
    /// method's `next_trigger`.
    pub(crate) seq: u32,
    /// True while the process is in dynamic wait `seq`: a parked thread, or a method
    /// whose `next_trigger` overrides its static sensitivity until it fires.
    pub(crate) waiting: bool,
    /// The events of the current dynamic wait, in list order (reused between waits).
    pub(crate) wait_events: Vec<u32>,
    /// For a wait on all of `wait_events`: how many have not fired yet (0 for a wait
    /// on any of them).
    pub(crate) and_left: u32,
    /// The current wait's timeout.
    pub(crate) timeout: Timeout,
    /// Why the thread was last woken (index in its wait list, or `WOKEN_BY_TIME`).
    pub(crate) woken_by: u32,
    /// True while the process sits in a runnable queue (SystemC's `is_runnable`:
    /// keeps a method from being queued twice).
    pub(crate) queued: bool,
    pub(crate) terminated: bool,
    /// Created on first request, notified when the process ends.
    pub(super) terminated_event: Option<Event>,
}

impl ProcSlot {
    pub(super) fn new(name: &str, method: bool) -> ProcSlot {
        ProcSlot {
            name: name.into(),
            method,
            seq: 0,
            waiting: false,
            wait_events: Vec::new(),
            and_left: 0,
            timeout: Timeout::None,
            woken_by: 0,
            queued: false,
            terminated: false,
            terminated_event: None,
        }
    }
}

/// A handle to a spawned process (SystemC's `sc_process_handle`).
#[derive(Clone)]
pub struct ProcessHandle {
    pub(crate) kernel: Rc<Kernel>,
    pub(crate) pid: Pid,
}

impl ProcessHandle {
    /// The name the process was spawned with.
    pub fn name(&self) -> Rc<str> {
        self.kernel.sched.borrow().procs.slots[self.pid as usize]
            .name
            .clone()
    }

    /// True once the process has returned (or panicked).
    pub fn is_terminated(&self) -> bool {
        self.kernel.sched.borrow().procs.slots[self.pid as usize].terminated
    }

    /// An event notified when the process terminates (SystemC's
    /// `terminated_event()`); wait on it to join the process. If the process has
    /// already terminated, the event is never notified: check
    /// [`is_terminated`](Self::is_terminated) first.
    pub fn terminated_event(&self) -> Event {
        if let Some(ev) =
            &self.kernel.sched.borrow().procs.slots[self.pid as usize].terminated_event
        {
            return ev.clone();
        }
        let name = format!("{}.terminated", self.name());
        let ev = Event::with_kernel(self.kernel.clone(), &name);
        self.kernel.sched.borrow_mut().procs.slots[self.pid as usize].terminated_event =
            Some(ev.clone());
        ev
    }
}
