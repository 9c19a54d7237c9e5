//! [`PayloadEventQueue`]: delivers items (a payload and its phase) to a callback at a
//! later delta cycle or time (TLM-2.0's `peq_with_cb_and_phase`).

use crate::time::SimTime;
use crate::{Ctx, Event};
use std::cell::{Cell, RefCell};
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::rc::Rc;

/// A payload event queue. Each item is handed to the callback given at construction,
/// from a method process, when its time comes: items notified with a zero delay in
/// the next delta cycle, items notified immediately in the current evaluate phase,
/// timed items at their time; items due together keep the order they were notified in.
pub struct PayloadEventQueue<T> {
    core: Rc<PeqCore<T>>,
}

struct PeqCore<T> {
    ctx: Ctx,
    event: Event,
    /// Every pending item, earliest due first.
    items: RefCell<BinaryHeap<Pending<T>>>,
    seq: Cell<u64>,
}

/// An item with when it is due: at `time`, from delta cycle `delta` on (the kernel's
/// delta count; 0 for timed items, which are due in any delta cycle of their time).
struct Pending<T> {
    time: SimTime,
    delta: u64,
    seq: u64,
    item: T,
}

impl<T> Pending<T> {
    fn key(&self) -> (SimTime, u64, u64) {
        (self.time, self.delta, self.seq)
    }
}

impl<T> PartialEq for Pending<T> {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl<T> Eq for Pending<T> {}
impl<T> PartialOrd for Pending<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Pending<T> {
    /// Reversed, so the max-heap pops the earliest-due (then first-notified) item.
    fn cmp(&self, other: &Self) -> Ordering {
        other.key().cmp(&self.key())
    }
}

impl<T: 'static> PayloadEventQueue<T> {
    /// A queue named `name` whose items go to `callback`. The callback may notify this
    /// queue again. The queue lives as long as the simulation (its method process
    /// holds it).
    pub fn new(ctx: &Ctx, name: &str, mut callback: impl FnMut(T) + 'static) -> Self {
        let core = Rc::new(PeqCore {
            ctx: ctx.clone(),
            event: Event::new(ctx, &format!("{name}.event")),
            items: RefCell::new(BinaryHeap::new()),
            seq: Cell::new(0),
        });
        let method_core = core.clone();
        ctx.spawn_method(name, &[&core.event], false, move || {
            method_core.deliver(&mut callback);
        });
        PayloadEventQueue { core }
    }

    /// Delivers `item` after `delay` (a zero delay: in the next delta cycle).
    pub fn notify(&self, item: T, delay: SimTime) {
        let core = &self.core;
        if delay.is_zero() {
            core.push(core.ctx.now(), core.ctx.delta_count() + 1, item);
            core.event.notify_delta();
        } else {
            core.push(core.ctx.now() + delay, 0, item);
            core.event.notify_after(delay);
        }
    }

    /// Delivers `item` in the current evaluate phase.
    pub fn notify_immediate(&self, item: T) {
        let core = &self.core;
        core.push(core.ctx.now(), core.ctx.delta_count(), item);
        core.event.notify();
    }

    /// Items waiting for delivery.
    pub fn len(&self) -> usize {
        self.core.items.borrow().len()
    }

    /// True when nothing waits for delivery.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> PeqCore<T> {
    fn push(&self, time: SimTime, delta: u64, item: T) {
        let seq = self.seq.get();
        self.seq.set(seq + 1);
        self.items.borrow_mut().push(Pending {
            time,
            delta,
            seq,
            item,
        });
    }

    /// Hands every item due now to `callback`, then re-arms the event for the next
    /// one (an immediate notification cancels the event's pending one, SystemC's rule,
    /// so the re-arm is needed, as in SystemC's PEQ). Items the callback notifies for a
    /// later delta cycle or time wait for it.
    fn deliver(&self, callback: &mut impl FnMut(T)) {
        let now = self.ctx.now();
        let delta = self.ctx.delta_count();
        loop {
            let due = {
                let mut items = self.items.borrow_mut();
                match items.peek() {
                    Some(p) if p.time < now || (p.time == now && p.delta <= delta) => items.pop(),
                    _ => None,
                }
            };
            match due {
                Some(p) => callback(p.item),
                None => break,
            }
        }
        let next = self.items.borrow().peek().map(|p| p.time);
        match next {
            Some(t) if t == now => self.event.notify_delta(),
            Some(t) => self.event.notify_after(t - now),
            None => {}
        }
    }
}
