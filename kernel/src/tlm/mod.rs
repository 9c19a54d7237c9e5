//! TLM-2.0: the generic payload, initiator and target sockets with blocking,
//! non-blocking (four-phase), direct-memory and debug interfaces, the payload event
//! queue and the quantum keeper.
//!
//! ```text
//!   initiator model                                   target model
//!  ┌──────────────────┐  b_transport / nb_transport_fw ┌──────────────────┐
//!  │ InitiatorSocket ─┼──────────────────────────────►─┼─ TargetSocket    │
//!  │  (BwTransport)   │◄── nb_transport_bw, invalidate ┼─ (FwTransport)   │
//!  └──────────────────┘     get_direct_mem_ptr, dbg    └──────────────────┘
//! ```
//!
//! Calls are direct (a virtual call on the bound model), never messages through a
//! queue. `b_transport` returns a [`TransportFuture`]: a target that only annotates
//! the delay (the usual loosely-timed target) returns [`TransportFuture::done`] and
//! costs no allocation and no context switch; one that must wait boxes its body with
//! [`TransportFuture::suspend`].

mod dmi;
mod payload;
mod peq;
mod quantum;
mod socket;

pub use dmi::{Dmi, DmiAccess, DmiCache, DmiError, DmiMemory};
pub use payload::{Command, Payload, PayloadRef, ResponseStatus};
pub use peq::PayloadEventQueue;
pub use quantum::QuantumKeeper;
pub use socket::{
    BindError, BwTransport, FwTransport, InitiatorSocket, Phase, SyncEnum, TargetSocket,
    TransportFuture,
};
