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

/// The scheduler's record of one process.
pub(crate) struct ProcSlot {
    pub(super) name: Rc<str>,
    /// Number of the thread's current (or last) wait.
    pub(super) seq: u32,
    /// True while the thread is parked in wait `seq`.
    pub(super) waiting: bool,
    /// Why the thread was last woken (index in its wait list, or `WOKEN_BY_TIME`).
    pub(super) woken_by: u32,
    /// True while the process sits in the runnable queue (keeps methods from being
    /// queued twice in one delta cycle).
    pub(super) queued: bool,
    pub(super) terminated: bool,
    /// Created on first request, notified when the process ends.
    pub(super) terminated_event: Option<Event>,
}

impl ProcSlot {
    pub(super) fn new(name: &str) -> ProcSlot {
        ProcSlot {
            name: name.into(),
            seq: 0,
            waiting: false,
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
