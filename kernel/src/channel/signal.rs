//! [`Signal`]: a value whose writes become visible after the update phase.

use crate::sched::{Kernel, Update};
use crate::{Ctx, Event};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// A signal (SystemC's `sc_signal<T>`): `write` takes effect in the update phase of
/// the current delta cycle, so every process reading in the same evaluate phase sees
/// the old value; a change notifies [`value_changed_event`](Self::value_changed_event)
/// in the next delta cycle. The last write in a delta cycle wins.
pub struct Signal<T>(Rc<SignalCore<T>>);

impl<T> Clone for Signal<T> {
    fn clone(&self) -> Self {
        Signal(self.0.clone())
    }
}

struct SignalCore<T> {
    kernel: Rc<Kernel>,
    current: RefCell<T>,
    next: RefCell<T>,
    update_requested: Cell<bool>,
    changed: Event,
}

impl<T: Clone + PartialEq + 'static> Signal<T> {
    /// A signal named `name` holding `initial`.
    pub fn new(ctx: &Ctx, name: &str, initial: T) -> Signal<T> {
        Signal(Rc::new(SignalCore {
            kernel: ctx.kernel.clone(),
            current: RefCell::new(initial.clone()),
            next: RefCell::new(initial),
            update_requested: Cell::new(false),
            changed: Event::new(ctx, &format!("{name}.value_changed")),
        }))
    }

    /// The current value (as of the last update phase).
    pub fn read(&self) -> T {
        self.0.current.borrow().clone()
    }

    /// Schedules `value` to become current in this delta cycle's update phase.
    pub fn write(&self, value: T) {
        *self.0.next.borrow_mut() = value;
        if !self.0.update_requested.replace(true) {
            self.0.kernel.request_update(self.0.clone());
        }
    }

    /// Notified (delta) whenever an update changes the value.
    pub fn value_changed_event(&self) -> &Event {
        &self.0.changed
    }
}

impl<T: Clone + PartialEq> Update for SignalCore<T> {
    fn update(&self) {
        self.update_requested.set(false);
        let next = self.next.borrow();
        let mut current = self.current.borrow_mut();
        if *next != *current {
            *current = next.clone();
            self.changed.notify_delta_from_update();
        }
    }
}
