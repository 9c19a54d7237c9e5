//! [`RemoteHal`]: the firmware's [`Hal`] over the protocol, so the driver and
//! lowering that run inside the VP run unchanged in another process; and
//! [`block_on`], the executor that drives them there.

use crate::client::{Client, ClientError};
use std::cell::RefCell;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use treta_driver::{Hal, HalError};

/// A [`Hal`] whose register and memory accesses and interrupt waits are requests
/// to `treta-vp serve`. Offsets and DRAM addresses are the driver's (relative to
/// the register window and DRAM); the HAL adds the bases `HELLO` announced.
///
/// `Hal`'s errors carry an address only, so a socket or protocol failure becomes a
/// [`HalError`] at the address of the access, and the cause is kept for
/// [`take_error`](RemoteHal::take_error). A wait cannot fail in `Hal`: a failed wait
/// returns as if the line were high, and the driver's next access reports it.
///
/// Clones share the connection: the driver owns one, the program keeps another to
/// [`finish`](RemoteHal::finish) the run.
#[derive(Clone)]
pub struct RemoteHal {
    shared: Rc<Shared>,
}

struct Shared {
    client: RefCell<Client>,
    error: RefCell<Option<ClientError>>,
}

impl RemoteHal {
    /// A HAL over a connected client.
    pub fn new(client: Client) -> RemoteHal {
        RemoteHal {
            shared: Rc::new(Shared {
                client: RefCell::new(client),
                error: RefCell::new(None),
            }),
        }
    }

    /// The cause of the first failed request, if one failed (taken).
    pub fn take_error(&self) -> Option<ClientError> {
        self.shared.error.borrow_mut().take()
    }

    /// Ends the run (`FINISH`): the simulated time at the end (ps) and the report.
    pub fn finish(&self) -> Result<(u64, String), ClientError> {
        self.shared.client.borrow_mut().finish()
    }

    /// Runs `f` on the connection (for requests `Hal` has no method for:
    /// `ADVANCE`, `NOW`, 64-bit accesses).
    pub fn client<T>(&self, f: impl FnOnce(&mut Client) -> T) -> T {
        f(&mut self.shared.client.borrow_mut())
    }

    /// Runs `f` on the client; a failure is kept and becomes a bus error at `addr`.
    fn with<T>(
        &self,
        addr: u64,
        f: impl FnOnce(&mut Client) -> Result<T, ClientError>,
    ) -> Result<T, HalError> {
        f(&mut self.shared.client.borrow_mut()).map_err(|e| {
            self.shared.error.borrow_mut().get_or_insert(e);
            HalError { addr }
        })
    }

    fn reg(&self, offset: u64) -> u64 {
        self.shared.client.borrow().map().regs_base + offset
    }

    fn dram(&self, addr: u64) -> u64 {
        self.shared.client.borrow().map().dram_base + addr
    }
}

impl Hal for RemoteHal {
    async fn read32(&self, offset: u64) -> Result<u32, HalError> {
        let addr = self.reg(offset);
        self.with(addr, |c| c.read32(addr))
    }

    async fn write32(&self, offset: u64, value: u32) -> Result<(), HalError> {
        let addr = self.reg(offset);
        self.with(addr, |c| c.write32(addr, value))
    }

    async fn write_mem(&self, addr: u64, data: &[u8]) -> Result<(), HalError> {
        let at = self.dram(addr);
        self.with(at, |c| c.write_mem(at, data))
    }

    async fn read_mem(&self, addr: u64, buf: &mut [u8]) -> Result<(), HalError> {
        let at = self.dram(addr);
        self.with(at, |c| c.read_mem(at, buf))
    }

    async fn wait_irq(&self) {
        let _ = self.with(0, |c| c.wait_irq());
    }

    async fn wait_irq_for(&self, timeout_ns: u64) -> bool {
        self.with(0, |c| c.wait_irq_for(timeout_ns))
            .map_or(true, |(raised, _)| raised)
    }
}

/// Runs a future to completion on this thread. [`RemoteHal`]'s futures are ready
/// when first polled (each request blocks on its socket), so the driver's are too;
/// a future that is not is polled again after yielding the thread, which is right
/// (if wasteful) for one woken from another thread.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
}
