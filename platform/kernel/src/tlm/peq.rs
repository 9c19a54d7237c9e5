//! [`PayloadEventQueue`]: delivers items (a payload and its phase) to a callback at a
//! later delta cycle or time (TLM-2.0's `peq_with_cb_and_phase`).

use crate::time::SimTime;
use crate::{Ctx, Event};
use std::cell::{Cell, RefCell};
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};
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
    /// Items for the current evaluate phase.
    immediate: RefCell<Vec<T>>,
    /// Items for a later delta cycle, with the delta count they were notified in:
    /// due once the kernel has moved past that delta cycle.
    delta: RefCell<VecDeque<(u64, T)>>,
    timed: RefCell<BinaryHeap<TimedItem<T>>>,
    seq: Cell<u64>,
}

struct TimedItem<T> {
    at: SimTime,
    seq: u64,
    item: T,
}

impl<T> PartialEq for TimedItem<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl<T> Eq for TimedItem<T> {}
impl<T> PartialOrd for TimedItem<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for TimedItem<T> {
    /// Reversed, so the max-heap pops the earliest (then first-notified) item.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

impl<T: 'static> PayloadEventQueue<T> {
    /// A queue named `name` whose items go to `callback`. The callback may notify this
    /// queue again.
    pub fn new(ctx: &Ctx, name: &str, mut callback: impl FnMut(T) + 'static) -> Self {
        let core = Rc::new(PeqCore {
            ctx: ctx.clone(),
            event: Event::new(ctx, &format!("{name}.event")),
            immediate: RefCell::new(Vec::new()),
            delta: RefCell::new(VecDeque::new()),
            timed: RefCell::new(BinaryHeap::new()),
            seq: Cell::new(0),
        });
        let method_core = Rc::downgrade(&core);
        let mut batch: VecDeque<T> = VecDeque::new();
        ctx.spawn_method(name, &[&core.event], false, move || {
            if let Some(core) = method_core.upgrade() {
                core.deliver(&mut batch, &mut callback);
            }
        });
        PayloadEventQueue { core }
    }

    /// Delivers `item` after `delay` (a zero delay: in the next delta cycle).
    pub fn notify(&self, item: T, delay: SimTime) {
        let core = &self.core;
        if delay.is_zero() {
            let notified_in = core.ctx.delta_count();
            core.delta.borrow_mut().push_back((notified_in, item));
            core.event.notify_delta();
        } else {
            let seq = core.seq.get();
            core.seq.set(seq + 1);
            core.timed.borrow_mut().push(TimedItem {
                at: core.ctx.now() + delay,
                seq,
                item,
            });
            core.event.notify_after(delay);
        }
    }

    /// Delivers `item` in the current evaluate phase.
    pub fn notify_immediate(&self, item: T) {
        self.core.immediate.borrow_mut().push(item);
        self.core.event.notify();
    }

    /// Items waiting for delivery.
    pub fn len(&self) -> usize {
        let c = &self.core;
        c.immediate.borrow().len() + c.delta.borrow().len() + c.timed.borrow().len()
    }

    /// True when nothing waits for delivery.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> PeqCore<T> {
    /// Hands every item due now to `callback`. Items notified by the callback itself
    /// wait for their own delta cycle or time, as their notification asks.
    fn deliver(&self, batch: &mut VecDeque<T>, callback: &mut impl FnMut(T)) {
        {
            let mut immediate = self.immediate.borrow_mut();
            if !immediate.is_empty() {
                batch.extend(immediate.drain(..));
            }
        }
        {
            let mut delta = self.delta.borrow_mut();
            let current = self.ctx.delta_count();
            while delta
                .front()
                .is_some_and(|(notified_in, _)| *notified_in < current)
            {
                if let Some((_, item)) = delta.pop_front() {
                    batch.push_back(item);
                }
            }
        }
        let now = self.ctx.now();
        {
            let mut timed = self.timed.borrow_mut();
            while timed.peek().is_some_and(|t| t.at <= now) {
                if let Some(t) = timed.pop() {
                    batch.push_back(t.item);
                }
            }
        }
        while let Some(item) = batch.pop_front() {
            callback(item);
        }
        // An immediate notification cancels the event's pending one (SystemC's rule),
        // so re-arm for whatever is still queued, as SystemC's PEQ does.
        if !self.delta.borrow().is_empty() {
            self.event.notify_delta();
        } else if let Some(next) = self.timed.borrow().peek() {
            self.event.notify_after(next.at - now);
        }
    }
}
