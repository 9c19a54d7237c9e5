//! [`Mutex`] and [`Semaphore`]: mutual exclusion between processes.

use crate::{Ctx, Event};
use std::cell::Cell;
use std::rc::Rc;

/// A counting semaphore (SystemC's `sc_semaphore`): `wait` takes a unit, blocking
/// while none is left; `post` gives one back and wakes the waiters immediately (they
/// race for it in the same evaluate phase, as in SystemC).
#[derive(Clone)]
pub struct Semaphore(Rc<SemaphoreCore>);

struct SemaphoreCore {
    value: Cell<usize>,
    freed: Event,
}

impl Semaphore {
    /// A semaphore named `name` with `value` units.
    pub fn new(ctx: &Ctx, name: &str, value: usize) -> Semaphore {
        Semaphore(Rc::new(SemaphoreCore {
            value: Cell::new(value),
            freed: Event::new(ctx, &format!("{name}.free")),
        }))
    }

    /// Units available now.
    pub fn value(&self) -> usize {
        self.0.value.get()
    }

    /// Takes a unit, waiting while none is available.
    pub async fn wait(&self) {
        while !self.try_wait() {
            self.0.freed.wait().await;
        }
    }

    /// Takes a unit if one is available now.
    pub fn try_wait(&self) -> bool {
        let v = self.0.value.get();
        if v == 0 {
            return false;
        }
        self.0.value.set(v - 1);
        true
    }

    /// Gives a unit back.
    pub fn post(&self) {
        self.0.value.set(self.0.value.get() + 1);
        self.0.freed.notify();
    }
}

/// A mutex between processes (SystemC's `sc_mutex`). Only the owner may unlock.
#[derive(Clone)]
pub struct Mutex(Rc<MutexCore>);

struct MutexCore {
    owner: Cell<Option<u64>>,
    freed: Event,
    next_ticket: Cell<u64>,
}

/// Proof of owning a [`Mutex`]; pass it back to [`Mutex::unlock`].
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a mutex stays locked until the guard is passed to unlock"]
pub struct MutexGuard {
    ticket: u64,
}

/// Unlocking with a guard of another lock (SystemC's `unlock` returning -1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotOwner;

impl std::fmt::Display for NotOwner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "mutex unlocked by a non-owner")
    }
}

impl std::error::Error for NotOwner {}

impl Mutex {
    /// An unlocked mutex named `name`.
    pub fn new(ctx: &Ctx, name: &str) -> Mutex {
        Mutex(Rc::new(MutexCore {
            owner: Cell::new(None),
            freed: Event::new(ctx, &format!("{name}.free")),
            next_ticket: Cell::new(0),
        }))
    }

    /// True while some process owns the mutex.
    pub fn is_locked(&self) -> bool {
        self.0.owner.get().is_some()
    }

    /// Locks, waiting while another process owns the mutex.
    pub async fn lock(&self) -> MutexGuard {
        loop {
            if let Some(guard) = self.try_lock() {
                return guard;
            }
            self.0.freed.wait().await;
        }
    }

    /// Locks if the mutex is free now.
    pub fn try_lock(&self) -> Option<MutexGuard> {
        if self.is_locked() {
            return None;
        }
        let ticket = self.0.next_ticket.get();
        self.0.next_ticket.set(ticket + 1);
        self.0.owner.set(Some(ticket));
        Some(MutexGuard { ticket })
    }

    /// Unlocks and wakes the waiters immediately.
    pub fn unlock(&self, guard: MutexGuard) -> Result<(), NotOwner> {
        if self.0.owner.get() != Some(guard.ticket) {
            return Err(NotOwner);
        }
        self.0.owner.set(None);
        self.0.freed.notify();
        Ok(())
    }
}
