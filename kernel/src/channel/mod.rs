//! Primitive channels: [`Signal`], [`Fifo`], [`Mutex`], [`Semaphore`], with SystemC's
//! semantics (`sc_signal`, `sc_fifo`, `sc_mutex`, `sc_semaphore`).

mod fifo;
mod signal;
mod sync;

pub use fifo::Fifo;
pub use signal::Signal;
pub use sync::{Mutex, MutexGuard, NotOwner, Semaphore};
