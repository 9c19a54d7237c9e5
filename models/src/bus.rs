//! [`Bus`]: the interconnect: decodes addresses and forwards to the mapped target.

use std::rc::{Rc, Weak};
use treta_kernel::tlm::{
    BindError, FwTransport, InitiatorSocket, Payload, ResponseStatus, TargetSocket, TransportFuture,
};
use treta_kernel::SimTime;

/// An address decoder: each region forwards, with its base subtracted, through its
/// own initiator socket. Unmapped addresses answer `AddressError`.
pub struct Bus {
    /// Where initiators connect.
    pub socket: TargetSocket,
    regions: Vec<(u64, u64, InitiatorSocket)>,
    latency: SimTime,
}

impl Bus {
    /// A bus with `regions` (name, base, size), adding `latency` to every access.
    pub fn new(name: &str, regions: &[(&str, u64, u64)], latency: SimTime) -> Rc<Bus> {
        Rc::new_cyclic(|me: &Weak<Bus>| Bus {
            socket: TargetSocket::new(&format!("{name}.socket"), me.clone()),
            regions: regions
                .iter()
                .map(|&(region, base, size)| {
                    (
                        base,
                        size,
                        InitiatorSocket::new(&format!("{name}.{region}")),
                    )
                })
                .collect(),
            latency,
        })
    }

    /// Binds region `i` (in the order given to [`Bus::new`]) to `target`.
    pub fn bind(&self, i: usize, target: &TargetSocket) -> Result<(), BindError> {
        match self.regions.get(i) {
            Some((_, _, socket)) => socket.bind(target),
            None => Err(BindError::TargetGone {
                target: format!("bus region {i}"),
            }),
        }
    }

    fn decode(&self, addr: u64, len: usize) -> Option<(u64, &InitiatorSocket)> {
        self.regions.iter().find_map(|(base, size, socket)| {
            let off = addr.checked_sub(*base)?;
            (off.checked_add(len as u64)? <= *size).then_some((*base, socket))
        })
    }
}

impl FwTransport for Bus {
    fn b_transport<'a>(
        &'a self,
        trans: &'a mut Payload,
        delay: &'a mut SimTime,
    ) -> TransportFuture<'a> {
        let Some((base, socket)) = self.decode(trans.address, trans.data_length()) else {
            trans.response = ResponseStatus::AddressError;
            return TransportFuture::done();
        };
        *delay += self.latency;
        trans.address -= base;
        TransportFuture::suspend(async move {
            socket.b_transport(trans, delay).await;
            trans.address += base;
        })
    }

    fn transport_dbg(&self, trans: &mut Payload) -> usize {
        let Some((base, socket)) = self.decode(trans.address, trans.data_length()) else {
            trans.response = ResponseStatus::AddressError;
            return 0;
        };
        trans.address -= base;
        let n = socket.transport_dbg(trans);
        trans.address += base;
        n
    }
}
