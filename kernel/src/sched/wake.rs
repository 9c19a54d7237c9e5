//! Who an event, a timeout or a wait makes runnable, and in which order: the
//! reference kernel's (Accellera SystemC 2.3/3.0), where IEEE 1666 leaves it open.
//!
//! - The delta list is processed from its back, and cancelling a delta
//!   notification moves the list's last entry into the freed place (SystemC's
//!   `m_delta_events` and `remove_delta_event`).
//! - An event wakes its statically sensitive methods last-registered first, then its
//!   dynamically waiting methods, then its waiting threads; a dynamic list is walked
//!   from the front, each removed waiter replaced by the list's last (`sc_event::trigger`).
//! - A process woken out of a wait on several events leaves the other events' lists
//!   at once, each searched from its back and closed up with its last entry
//!   (`sc_event::remove_dynamic`).
//! - A method is not triggered by its own immediate notification (IEEE 1666-2011
//!   5.10.8; SystemC warns and ignores it).
//! - Runnable methods and threads wait in two queues, each a batch at a time:
//!   every runnable method, then every runnable thread, then the methods made
//!   runnable meanwhile, and so on (`sc_simcontext::crunch`).

use super::process::Timeout;
use super::{Action, Pid, ProcTable, WOKEN_BY_TIME};
use crate::event::{EventTable, Pending, Waiter};

/// The delta-notification list: delta notifications and zero timeouts, in the
/// order they were made (a removal excepted, see the module doc).
#[derive(Default)]
pub(crate) struct DeltaList {
    pub(crate) actions: Vec<Action>,
    /// True while the notification phase walks a swapped-out copy of `actions`:
    /// a timeout cancelled then (its wait ended by an event of the same phase) is
    /// left in place, stale, rather than removed from a list being walked.
    pub(crate) notifying: bool,
}

impl DeltaList {
    fn push(&mut self, action: Action) -> u32 {
        self.actions.push(action);
        (self.actions.len() - 1) as u32
    }
}

/// The scheduler's tables that waking touches, borrowed together.
pub(crate) struct Wake<'a> {
    pub(crate) procs: &'a mut ProcTable,
    pub(crate) events: &'a mut EventTable,
    pub(crate) delta: &'a mut DeltaList,
}

impl Wake<'_> {
    /// Queues a delta notification of event `id`, generation `gen`.
    pub(crate) fn push_delta_notify(&mut self, id: u32, gen: u32) {
        let ix = self.delta.push(Action::Notify { event: id, gen });
        self.events.slots[id as usize].delta_ix = ix;
    }

    /// Removes entry `ix` of the delta list, the last entry taking its place.
    fn remove_delta(&mut self, ix: u32) {
        if self.delta.notifying {
            return;
        }
        let actions = &mut self.delta.actions;
        let ix = ix as usize;
        if ix >= actions.len() {
            return;
        }
        actions.swap_remove(ix);
        match actions.get(ix) {
            Some(Action::Notify { event, .. }) => {
                self.events.slots[*event as usize].delta_ix = ix as u32;
            }
            Some(Action::Wake { pid, .. }) => {
                self.procs.slots[*pid as usize].timeout = Timeout::Delta(ix as u32);
            }
            None => {}
        }
    }

    /// Drops event `id`'s pending notification, if any (a delta one leaves the list).
    pub(crate) fn cancel(&mut self, id: u32) {
        let slot = &mut self.events.slots[id as usize];
        let was = slot.pending;
        if was == Pending::None {
            return;
        }
        slot.pending = Pending::None;
        slot.gen = slot.gen.wrapping_add(1);
        if was == Pending::Delta {
            let ix = slot.delta_ix;
            self.remove_delta(ix);
        }
    }

    /// Fires event `id` now: wakes what it should, in the reference's order.
    /// `current` is the running process (`NO_PROCESS` outside evaluation), whose own
    /// immediate notification does not trigger it.
    #[inline(always)]
    pub(crate) fn fire(&mut self, id: u32, current: Pid) {
        let slot = &mut self.events.slots[id as usize];
        if slot.dyn_methods.is_empty() && slot.threads.len() <= 1 {
            // The common case: static methods and at most one waiting thread, so no
            // dynamic list to walk.
            for &pid in slot.methods.iter().rev() {
                self.procs.trigger_static(pid, current);
            }
            if let Some(&w) = slot.threads.first() {
                if self.trigger_dynamic(w, id, current) {
                    self.events.slots[id as usize].threads.clear();
                }
            }
            return;
        }
        self.fire_all(id, current);
    }

    /// [`fire`](Self::fire) in full: every list of the event.
    #[inline(never)]
    fn fire_all(&mut self, id: u32, current: Pid) {
        let slot = &mut self.events.slots[id as usize];
        for &pid in slot.methods.iter().rev() {
            self.procs.trigger_static(pid, current);
        }
        let mut methods = std::mem::take(&mut self.events.slots[id as usize].dyn_methods);
        self.trigger_list(&mut methods, id, current);
        self.events.slots[id as usize].dyn_methods = methods;
        let mut threads = std::mem::take(&mut self.events.slots[id as usize].threads);
        self.trigger_list(&mut threads, id, current);
        self.events.slots[id as usize].threads = threads;
    }

    /// Walks a dynamic waiter list from the front; a waiter that leaves it is
    /// replaced by the list's last, which is looked at next.
    fn trigger_list(&mut self, list: &mut Vec<Waiter>, id: u32, current: Pid) {
        let mut i = 0;
        while i < list.len() {
            if self.trigger_dynamic(list[i], id, current) {
                list.swap_remove(i);
            } else {
                i += 1;
            }
        }
    }

    /// Event `id` fired for waiter `w`: returns whether `w` leaves the event's list.
    #[inline(always)]
    fn trigger_dynamic(&mut self, w: Waiter, id: u32, current: Pid) -> bool {
        let p = &mut self.procs.slots[w.pid as usize];
        if !(p.waiting && p.seq == w.seq) {
            return true;
        }
        if !p.method && p.and_left == 0 && p.timeout == Timeout::None && p.wait_events.len() == 1 {
            // A thread waiting on this event alone: nothing else to leave or cancel.
            p.waiting = false;
            p.woken_by = w.index;
            self.procs.make_runnable(w.pid);
            return true;
        }
        if w.pid == current {
            // A method's own immediate notification: its sensitivity stays.
            return false;
        }
        if p.method && p.queued {
            // Already runnable: SystemC drops this event from its wait, no more.
            return true;
        }
        if p.and_left > 0 {
            p.and_left -= 1;
            if p.and_left > 0 {
                return true;
            }
        } else {
            self.leave_events(w.pid, Some(id));
        }
        self.end_wait(w.pid, w.index);
        true
    }

    /// The timeout of wait `seq` of `pid` came: returns whether it was still live.
    pub(crate) fn time_out(&mut self, pid: Pid, seq: u32) -> bool {
        let p = &mut self.procs.slots[pid as usize];
        if !(p.waiting && p.seq == seq) {
            return false;
        }
        p.timeout = Timeout::None;
        self.leave_events(pid, None);
        self.end_wait(pid, WOKEN_BY_TIME);
        true
    }

    /// Ends `pid`'s wait, woken for `reason`: cancels its timeout and makes it
    /// runnable.
    #[inline(always)]
    fn end_wait(&mut self, pid: Pid, reason: u32) {
        let p = &mut self.procs.slots[pid as usize];
        p.waiting = false;
        p.woken_by = reason;
        let timeout = std::mem::replace(&mut p.timeout, Timeout::None);
        if let Timeout::Delta(ix) = timeout {
            self.remove_delta(ix);
        }
        self.procs.make_runnable(pid);
    }

    /// Takes `pid` off the waiter lists of its wait's events but `except`, last
    /// listed first, each list searched from its back and closed up with its last.
    #[inline(always)]
    fn leave_events(&mut self, pid: Pid, except: Option<u32>) {
        let p = &mut self.procs.slots[pid as usize];
        match p.wait_events.as_slice() {
            [] => return,
            // Woken by the one event it waited on: nothing else to leave.
            [e] if Some(*e) == except => return,
            _ => {}
        }
        let method = p.method;
        let events = std::mem::take(&mut p.wait_events);
        for &e in events.iter().rev() {
            if Some(e) == except {
                continue;
            }
            let slot = &mut self.events.slots[e as usize];
            let list = if method {
                &mut slot.dyn_methods
            } else {
                &mut slot.threads
            };
            if let Some(i) = list.iter().rposition(|w| w.pid == pid) {
                list.swap_remove(i);
            }
        }
        self.procs.slots[pid as usize].wait_events = events;
    }

    /// Starts a dynamic wait of `pid` (a thread's `wait`, a method's
    /// `next_trigger`) on `events` — on all of them if `all`, else on any — and/or
    /// a timeout (`Some(0)`: the next delta cycle; a timed one is queued by the
    /// caller). Any previous dynamic wait of a method is cleared first. Returns the
    /// wait's number.
    #[inline(always)]
    pub(crate) fn start_wait(
        &mut self,
        pid: Pid,
        events: impl Iterator<Item = u32> + Clone,
        all: bool,
        zero_timeout: bool,
    ) -> u32 {
        let p = &mut self.procs.slots[pid as usize];
        if p.waiting {
            self.clear_wait(pid);
        }
        let p = &mut self.procs.slots[pid as usize];
        p.seq = p.seq.wrapping_add(1);
        p.waiting = true;
        let (seq, method) = (p.seq, p.method);
        p.wait_events.clear();
        p.wait_events.extend(events.clone());
        p.and_left = if all { p.wait_events.len() as u32 } else { 0 };
        // SystemC registers an event list's events last first; each event's list
        // only sees its own push, so the order is the same either way.
        for (index, e) in events.enumerate() {
            let slot = &mut self.events.slots[e as usize];
            let w = Waiter {
                pid,
                seq,
                index: index as u32,
            };
            if method {
                slot.dyn_methods.push(w);
            } else {
                slot.threads.push(w);
            }
        }
        if zero_timeout {
            let ix = self.delta.push(Action::Wake { pid, seq });
            self.procs.slots[pid as usize].timeout = Timeout::Delta(ix);
        }
        seq
    }

    /// A thread's wait on one event, or on nothing (a timed timeout the caller
    /// queues): [`start_wait`](Self::start_wait) for the commonest waits, without its
    /// general bookkeeping.
    #[inline(always)]
    pub(crate) fn start_wait_one(&mut self, pid: Pid, event: Option<u32>) -> u32 {
        let p = &mut self.procs.slots[pid as usize];
        if p.waiting || p.method {
            return self.start_wait(pid, event.into_iter(), false, false);
        }
        p.seq = p.seq.wrapping_add(1);
        p.waiting = true;
        p.and_left = 0;
        p.wait_events.clear();
        let seq = p.seq;
        if let Some(e) = event {
            p.wait_events.push(e);
            self.events.slots[e as usize]
                .threads
                .push(Waiter { pid, seq, index: 0 });
        }
        seq
    }

    /// Ends `pid`'s dynamic wait without waking it (a method's new `next_trigger`
    /// replaces the last).
    #[inline(never)]
    pub(crate) fn clear_wait(&mut self, pid: Pid) {
        let p = &mut self.procs.slots[pid as usize];
        if !p.waiting {
            return;
        }
        p.waiting = false;
        let timeout = std::mem::replace(&mut p.timeout, Timeout::None);
        if let Timeout::Delta(ix) = timeout {
            self.remove_delta(ix);
        }
        self.leave_events(pid, None);
    }
}

impl Wake<'_> {
    /// Fires the pending notification of event `id` if it is still generation `gen`;
    /// false if it was cancelled or replaced since it was queued.
    #[inline(always)]
    pub(crate) fn fire_pending(&mut self, id: u32, gen: u32) -> bool {
        let slot = &mut self.events.slots[id as usize];
        if slot.gen != gen || slot.pending == Pending::None {
            return false;
        }
        slot.pending = Pending::None;
        slot.gen = slot.gen.wrapping_add(1);
        self.fire(id, super::NO_PROCESS);
        true
    }
}
