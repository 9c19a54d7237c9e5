//! # treta-kernel
//!
//! A deterministic, single-threaded discrete-event simulation kernel with SystemC's
//! semantics and TLM-2.0's interfaces, in Rust idioms. It knows nothing of TRETA: it
//! is the engine the virtual platform's models run on.
//!
//! | SystemC / TLM-2.0 | here |
//! |---|---|
//! | `sc_time` (1 ps) | [`SimTime`] |
//! | clock periods | [`Clock`] (exact cycle ↔ time, no drift) |
//! | `SC_THREAD`, `wait(t)` | [`Ctx::spawn`] an `async` block; `ctx.wait(t).await` |
//! | `SC_METHOD` + static sensitivity | [`Ctx::spawn_method`]; `next_trigger` is [`Ctx::next_trigger`] and its siblings |
//! | `wait(e1 \| e2)`, `wait(e1 & e2)` | [`Ctx::wait_any`], [`Ctx::wait_all`] (and `_timeout` forms) |
//! | `sc_event` | [`Event`]: `notify`, `notify_delta`, `notify_after`, `cancel` |
//! | `sc_signal`, `sc_fifo`, `sc_mutex`, `sc_semaphore` | [`Signal`], [`Fifo`], [`Mutex`], [`Semaphore`] |
//! | `sc_start`, `sc_start(SC_ZERO_TIME)`, `sc_stop`, `sc_pause` | [`Simulation::run`], [`Simulation::run_until`], [`Simulation::run_for`]`(ZERO)`, [`Ctx::stop`], [`Ctx::pause`] |
//! | `sc_delta_count()` | [`Ctx::delta_count`] |
//! | generic payload, sockets | [`tlm::Payload`], [`tlm::InitiatorSocket`], [`tlm::TargetSocket`] |
//! | `peq_with_cb_and_phase` | [`tlm::PayloadEventQueue`] |
//! | `tlm_quantumkeeper` | [`tlm::QuantumKeeper`] |
//!
//! ```
//! use treta_kernel::{RunOutcome, SimTime, Simulation};
//!
//! let mut sim = Simulation::new();
//! let ping = sim.ctx().event("ping");
//! let ev = ping.clone();
//! sim.spawn("sender", move |ctx| async move {
//!     ctx.wait(SimTime::from_ns(5)).await;
//!     ev.notify_after(SimTime::from_ns(1));
//! });
//! sim.spawn("receiver", move |ctx| async move {
//!     ping.wait().await;
//!     assert_eq!(ctx.now(), SimTime::from_ns(6));
//! });
//! assert_eq!(sim.run().unwrap(), RunOutcome::Starved);
//! assert_eq!(sim.now(), SimTime::from_ns(6));
//! ```
//!
//! Where IEEE 1666 leaves the order of processes to the implementation, this kernel
//! follows Accellera's reference kernel (ARCHITECTURE.md, "How the kernel works"), so
//! a ported model prints the same log.
//!
//! Processes wait only on this kernel's primitives (time, events, channels, sockets):
//! they are polled with a no-op `Waker`, so a foreign future that relies on being
//! woken never resumes. Spawn a process per concurrent activity, as in SystemC.

#![warn(missing_docs)]

pub mod channel;
pub mod clock;
mod ctx;
mod event;
mod sched;
mod simulation;
pub mod time;
pub mod timeline;
pub mod tlm;

pub use channel::{Fifo, Mutex, MutexGuard, NotOwner, Semaphore, Signal};
pub use clock::Clock;
pub use ctx::Ctx;
pub use event::{Event, Wait, WaitAny, WaitAnyTimeout, WaitTimeout};
pub use sched::{ProcessHandle, RunOutcome, SimError, StarvationPolicy};
pub use simulation::Simulation;
pub use time::SimTime;
