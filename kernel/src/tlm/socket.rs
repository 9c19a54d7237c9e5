//! Sockets and the transport interfaces they carry.

use super::dmi::Dmi;
use super::payload::{Payload, PayloadRef, ResponseStatus};
use crate::time::SimTime;
use std::cell::OnceCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};

/// The phases of the base protocol (TLM-2.0's `tlm_phase`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Initiator → target: a request starts.
    BeginReq,
    /// Target → initiator: the request is accepted; another may be sent.
    EndReq,
    /// Target → initiator: the response starts.
    BeginResp,
    /// Initiator → target: the response is accepted; the transaction is over.
    EndResp,
}

/// What the callee of a non-blocking call did (TLM-2.0's `tlm_sync_enum`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SyncEnum {
    /// The callee took the phase; it answers later on the other path.
    Accepted,
    /// The callee moved the phase on (the updated phase and delay are the answer).
    Updated,
    /// The transaction is complete.
    Completed,
}

/// What `b_transport` returns: an already finished call (no allocation, no context
/// switch) or a boxed body that waits.
pub enum TransportFuture<'a> {
    /// The target finished within the call, annotating the delay.
    Done,
    /// The target must wait (e.g. for a resource); the caller awaits this.
    Suspended(Pin<Box<dyn Future<Output = ()> + 'a>>),
}

impl<'a> TransportFuture<'a> {
    /// A call that finished in place.
    pub fn done() -> TransportFuture<'a> {
        TransportFuture::Done
    }

    /// A call whose body waits.
    pub fn suspend(body: impl Future<Output = ()> + 'a) -> TransportFuture<'a> {
        TransportFuture::Suspended(Box::pin(body))
    }
}

impl Future for TransportFuture<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match &mut *self {
            TransportFuture::Done => Poll::Ready(()),
            TransportFuture::Suspended(body) => body.as_mut().poll(cx),
        }
    }
}

/// The forward interface a target implements (TLM-2.0's `tlm_fw_transport_if`).
/// Every method has a default that rejects the call, so a target implements only the
/// styles it supports.
pub trait FwTransport {
    /// Blocking transport: do the transaction, add its latency to `delay`, set the
    /// response status.
    fn b_transport<'a>(
        &'a self,
        trans: &'a mut Payload,
        delay: &'a mut SimTime,
    ) -> TransportFuture<'a> {
        let _ = delay;
        trans.response = ResponseStatus::CommandError;
        TransportFuture::done()
    }

    /// Non-blocking transport, forward path (BEGIN_REQ, END_RESP).
    fn nb_transport_fw(
        &self,
        trans: &PayloadRef,
        phase: &mut Phase,
        delay: &mut SimTime,
    ) -> SyncEnum {
        let _ = (phase, delay);
        trans.borrow_mut().response = ResponseStatus::CommandError;
        SyncEnum::Completed
    }

    /// Direct memory interface: a grant covering `trans.address`, or `None`.
    fn get_direct_mem_ptr(&self, trans: &Payload) -> Option<Dmi> {
        let _ = trans;
        None
    }

    /// Debug transport: access without time and without side effects (loading data,
    /// reading results). Returns the number of bytes transferred.
    fn transport_dbg(&self, trans: &mut Payload) -> usize {
        let _ = trans;
        0
    }
}

/// The backward interface an initiator implements (TLM-2.0's `tlm_bw_transport_if`).
pub trait BwTransport {
    /// Non-blocking transport, backward path (END_REQ, BEGIN_RESP).
    fn nb_transport_bw(
        &self,
        trans: &PayloadRef,
        phase: &mut Phase,
        delay: &mut SimTime,
    ) -> SyncEnum;

    /// The target withdraws DMI grants overlapping `[start, end]` (inclusive).
    fn invalidate_direct_mem_ptr(&self, start: u64, end: u64) {
        let _ = (start, end);
    }
}

/// Why two sockets could not be bound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BindError {
    /// The initiator socket is already bound.
    InitiatorAlreadyBound {
        /// The initiator socket.
        initiator: String,
    },
    /// The target socket already has an initiator with a backward path.
    TargetAlreadyBound {
        /// The target socket.
        target: String,
    },
    /// The target's model no longer exists.
    TargetGone {
        /// The target socket.
        target: String,
    },
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BindError::InitiatorAlreadyBound { initiator } => {
                write!(f, "initiator socket '{initiator}' is already bound")
            }
            BindError::TargetAlreadyBound { target } => write!(
                f,
                "target socket '{target}' already has an initiator with a backward path"
            ),
            BindError::TargetGone { target } => {
                write!(
                    f,
                    "target socket '{target}' belongs to a model that was dropped"
                )
            }
        }
    }
}

impl std::error::Error for BindError {}

/// An initiator's socket: calls the bound target's forward interface.
///
/// Calling through an unbound socket is a wiring bug of the platform; it panics with
/// the socket's name, which the kernel reports as a failure of the calling process.
pub struct InitiatorSocket {
    name: Box<str>,
    fw: OnceCell<Rc<dyn FwTransport>>,
    bw: Option<Weak<dyn BwTransport>>,
}

impl InitiatorSocket {
    /// A socket with no backward path: blocking, DMI-less and debug transport only.
    pub fn new(name: &str) -> InitiatorSocket {
        InitiatorSocket {
            name: name.into(),
            fw: OnceCell::new(),
            bw: None,
        }
    }

    /// A socket whose owner receives backward calls (non-blocking responses, DMI
    /// invalidation). Build the owner with `Rc::new_cyclic` to have the `Weak`.
    pub fn with_backward(name: &str, owner: Weak<dyn BwTransport>) -> InitiatorSocket {
        InitiatorSocket {
            name: name.into(),
            fw: OnceCell::new(),
            bw: Some(owner),
        }
    }

    /// The socket's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the socket is bound.
    pub fn is_bound(&self) -> bool {
        self.fw.get().is_some()
    }

    /// Binds this socket to `target` (both directions).
    pub fn bind(&self, target: &TargetSocket) -> Result<(), BindError> {
        if self.is_bound() {
            return Err(BindError::InitiatorAlreadyBound {
                initiator: self.name.to_string(),
            });
        }
        let fw = target.fw.upgrade().ok_or_else(|| BindError::TargetGone {
            target: target.name.to_string(),
        })?;
        if let Some(bw) = &self.bw {
            target
                .bw
                .set(bw.clone())
                .map_err(|_| BindError::TargetAlreadyBound {
                    target: target.name.to_string(),
                })?;
        }
        // Cannot fail: checked unbound above, and nothing ran in between.
        let _ = self.fw.set(fw);
        Ok(())
    }

    #[inline]
    fn target(&self) -> &Rc<dyn FwTransport> {
        match self.fw.get() {
            Some(t) => t,
            None => panic!("initiator socket '{}' is not bound", self.name),
        }
    }

    /// Blocking transport through the socket.
    #[inline]
    pub fn b_transport<'a>(
        &'a self,
        trans: &'a mut Payload,
        delay: &'a mut SimTime,
    ) -> TransportFuture<'a> {
        self.target().b_transport(trans, delay)
    }

    /// Non-blocking transport, forward path.
    #[inline]
    pub fn nb_transport_fw(
        &self,
        trans: &PayloadRef,
        phase: &mut Phase,
        delay: &mut SimTime,
    ) -> SyncEnum {
        self.target().nb_transport_fw(trans, phase, delay)
    }

    /// Requests a DMI grant.
    pub fn get_direct_mem_ptr(&self, trans: &Payload) -> Option<Dmi> {
        self.target().get_direct_mem_ptr(trans)
    }

    /// Debug transport.
    pub fn transport_dbg(&self, trans: &mut Payload) -> usize {
        self.target().transport_dbg(trans)
    }
}

/// A target's socket: carries backward calls to the bound initiator.
pub struct TargetSocket {
    name: Box<str>,
    fw: Weak<dyn FwTransport>,
    bw: OnceCell<Weak<dyn BwTransport>>,
}

impl TargetSocket {
    /// A socket whose owner serves forward calls. Build the owner with
    /// `Rc::new_cyclic` to have the `Weak`.
    pub fn new(name: &str, owner: Weak<dyn FwTransport>) -> TargetSocket {
        TargetSocket {
            name: name.into(),
            fw: owner,
            bw: OnceCell::new(),
        }
    }

    /// The socket's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn initiator(&self) -> Rc<dyn BwTransport> {
        match self.bw.get().and_then(Weak::upgrade) {
            Some(i) => i,
            None => panic!(
                "target socket '{}' has no initiator with a backward path",
                self.name
            ),
        }
    }

    /// Non-blocking transport, backward path.
    #[inline]
    pub fn nb_transport_bw(
        &self,
        trans: &PayloadRef,
        phase: &mut Phase,
        delay: &mut SimTime,
    ) -> SyncEnum {
        self.initiator().nb_transport_bw(trans, phase, delay)
    }

    /// Tells the bound initiator to drop DMI grants overlapping `[start, end]`. Does
    /// nothing if the initiator has no backward path (it cannot hold grants then).
    pub fn invalidate_direct_mem_ptr(&self, start: u64, end: u64) {
        if let Some(i) = self.bw.get().and_then(Weak::upgrade) {
            i.invalidate_direct_mem_ptr(start, end);
        }
    }
}
