//! [`Fifo`]: a bounded FIFO channel with blocking and non-blocking access.

use crate::sched::{Kernel, Update};
use crate::{Ctx, Event};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

/// A bounded FIFO (SystemC's `sc_fifo<T>`) with its update semantics: an item written
/// in a delta cycle can be read from the next one, and a slot freed by a read can be
/// written from the next one. `read`/`write` block; `try_read`/`try_write` do not.
pub struct Fifo<T>(Rc<FifoCore<T>>);

impl<T> Clone for Fifo<T> {
    fn clone(&self) -> Self {
        Fifo(self.0.clone())
    }
}

struct FifoCore<T> {
    kernel: Rc<Kernel>,
    capacity: usize,
    items: RefCell<VecDeque<T>>,
    /// Items readable in this delta cycle (written before it began).
    readable: Cell<usize>,
    /// Reads and writes done in this delta cycle.
    read_now: Cell<usize>,
    written_now: Cell<usize>,
    update_requested: Cell<bool>,
    data_read: Event,
    data_written: Event,
}

impl<T: 'static> Fifo<T> {
    /// A FIFO named `name` holding at most `capacity` items. A capacity of 0 is
    /// raised to 1 (a zero-depth `sc_fifo` is an error in SystemC; here it would
    /// block forever).
    pub fn new(ctx: &Ctx, name: &str, capacity: usize) -> Fifo<T> {
        let capacity = capacity.max(1);
        Fifo(Rc::new(FifoCore {
            kernel: ctx.kernel.clone(),
            capacity,
            items: RefCell::new(VecDeque::with_capacity(capacity)),
            readable: Cell::new(0),
            read_now: Cell::new(0),
            written_now: Cell::new(0),
            update_requested: Cell::new(false),
            data_read: Event::new(ctx, &format!("{name}.data_read")),
            data_written: Event::new(ctx, &format!("{name}.data_written")),
        }))
    }

    /// The maximum number of items.
    pub fn capacity(&self) -> usize {
        self.0.capacity
    }

    /// Items that can be read now (SystemC's `num_available`).
    pub fn num_available(&self) -> usize {
        self.0.readable.get() - self.0.read_now.get()
    }

    /// Slots that can be written now (SystemC's `num_free`).
    pub fn num_free(&self) -> usize {
        self.0.capacity - self.0.readable.get() - self.0.written_now.get()
    }

    /// Items stored, including those written in this delta cycle [items].
    pub fn occupancy(&self) -> usize {
        self.0.items.borrow().len()
    }

    /// Reads an item, waiting while none is available.
    pub async fn read(&self) -> T {
        loop {
            if let Some(item) = self.try_read() {
                return item;
            }
            self.0.data_written.wait().await;
        }
    }

    /// Reads an item if one is available now.
    pub fn try_read(&self) -> Option<T> {
        if self.num_available() == 0 {
            return None;
        }
        let item = self.0.items.borrow_mut().pop_front();
        self.0.read_now.set(self.0.read_now.get() + 1);
        self.request_update();
        item
    }

    /// Writes an item, waiting while the FIFO is full.
    pub async fn write(&self, item: T) {
        let mut item = item;
        loop {
            match self.try_write(item) {
                Ok(()) => return,
                Err(back) => item = back,
            }
            self.0.data_read.wait().await;
        }
    }

    /// Writes an item if a slot is free now; gives it back otherwise.
    pub fn try_write(&self, item: T) -> Result<(), T> {
        if self.num_free() == 0 {
            return Err(item);
        }
        self.0.items.borrow_mut().push_back(item);
        self.0.written_now.set(self.0.written_now.get() + 1);
        self.request_update();
        Ok(())
    }

    /// Notified (delta) after a delta cycle in which items were read.
    pub fn data_read_event(&self) -> &Event {
        &self.0.data_read
    }

    /// Notified (delta) after a delta cycle in which items were written.
    pub fn data_written_event(&self) -> &Event {
        &self.0.data_written
    }

    fn request_update(&self) {
        if !self.0.update_requested.replace(true) {
            self.0.kernel.request_update(self.0.clone());
        }
    }
}

impl<T> Update for FifoCore<T> {
    fn update(&self) {
        self.update_requested.set(false);
        if self.read_now.get() > 0 {
            self.data_read.notify_delta_from_update();
        }
        if self.written_now.get() > 0 {
            self.data_written.notify_delta_from_update();
        }
        self.readable.set(self.items.borrow().len());
        self.read_now.set(0);
        self.written_now.set(0);
    }
}
