//! [`Sram`]: the on-chip SRAM behind a TLM target socket.
//!
//! Capacity is enforced: an access beyond it answers `AddressError`, which the
//! engines report to firmware as `SRAM_OVERFLOW`. Timing is first-order: all banks
//! deliver their width every cycle, so an access of `n` bytes takes
//! `ceil(n / (banks · width))` cycles. Bank conflicts arrive with the memory issue.

use std::cell::Cell;
use std::rc::{Rc, Weak};
use treta_kernel::tlm::{
    Command, FwTransport, Payload, ResponseStatus, TargetSocket, TransportFuture,
};
use treta_kernel::{Clock, SimTime};

/// The SRAM.
pub struct Sram {
    /// Target socket: accesses at byte offsets from 0.
    pub socket: TargetSocket,
    clock: Clock,
    bytes: u64,
    bytes_per_cycle: u64,
    read_bytes: Cell<u64>,
    write_bytes: Cell<u64>,
}

impl Sram {
    /// An SRAM of `bytes` bytes delivering `bytes_per_cycle` per `clock` cycle.
    pub fn new(name: &str, clock: Clock, bytes: u64, bytes_per_cycle: u64) -> Rc<Sram> {
        Rc::new_cyclic(|me: &Weak<Sram>| Sram {
            socket: TargetSocket::new(&format!("{name}.socket"), me.clone()),
            clock,
            bytes,
            bytes_per_cycle: bytes_per_cycle.max(1),
            read_bytes: Cell::new(0),
            write_bytes: Cell::new(0),
        })
    }

    /// Capacity [bytes].
    pub fn capacity(&self) -> u64 {
        self.bytes
    }

    /// Bytes read so far.
    pub fn read_bytes(&self) -> u64 {
        self.read_bytes.get()
    }

    /// Bytes written so far.
    pub fn write_bytes(&self) -> u64 {
        self.write_bytes.get()
    }
}

impl FwTransport for Sram {
    fn b_transport<'a>(
        &'a self,
        trans: &'a mut Payload,
        delay: &'a mut SimTime,
    ) -> TransportFuture<'a> {
        let len = trans.data_length() as u64;
        if trans
            .address
            .checked_add(len)
            .is_none_or(|end| end > self.bytes)
        {
            trans.response = ResponseStatus::AddressError;
            return TransportFuture::done();
        }
        match trans.command {
            Command::Read => self.read_bytes.set(self.read_bytes.get() + len),
            Command::Write => self.write_bytes.set(self.write_bytes.get() + len),
            Command::Ignore => {}
        }
        *delay += self.clock.cycles(len.div_ceil(self.bytes_per_cycle));
        trans.response = ResponseStatus::Ok;
        TransportFuture::done()
    }
}
