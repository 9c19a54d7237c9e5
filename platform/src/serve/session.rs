//! The simulation's side of a remote session: a process in place of the built-in
//! firmware that takes the client's requests from a channel, one at a time, and
//! carries each out on the control processor's HAL. While it waits for the next
//! request the whole simulation waits with it (the channel blocks the simulation's
//! thread): simulated time moves only inside a request, so the run does not depend
//! on the host's speed or the socket's latency.

use super::spin;
use crate::soc::VpHal;
use std::cell::Cell;
use std::sync::mpsc::{Receiver, RecvError, TryRecvError};
use tokio::sync::mpsc::UnboundedSender;
use treta_kernel::tlm::Command;
use treta_kernel::{Ctx, SimTime};
use treta_remote::{DeviceMap, Op, Request, Response, Status, MAX_PAYLOAD, VERSION};

/// What the socket's side sends the simulation.
pub(crate) enum ToSim {
    /// A valid request after `HELLO`, with its id.
    Call {
        /// The request's id.
        id: u32,
        /// The request.
        request: Request,
    },
    /// The client is gone (closed, timed out, broke the framing): why.
    Gone(String),
}

/// The simulation's answer to a [`ToSim::Call`].
pub(crate) struct Answer {
    /// The request's id.
    pub id: u32,
    /// The request's operation.
    pub op: Op,
    /// The answer.
    pub response: Response,
}

/// How a session ended, seen from the simulation.
#[derive(Clone, Debug)]
pub(crate) enum SessionEnd {
    /// `FINISH` with this id: the run is complete; its summary is still owed.
    Finished(u32),
    /// The client went away: why.
    Gone(String),
}

/// The request being carried out (its id and operation): if the simulation runs
/// out of activity inside it (a `WAIT_IRQ` nothing will end), it is the one the
/// server answers with `STALLED`.
pub(crate) type Pending = Cell<Option<(u32, Op)>>;

/// Serves requests until `FINISH` or the client is gone.
pub(crate) async fn serve_requests(
    ctx: &Ctx,
    hal: &VpHal,
    map: DeviceMap,
    requests: &Receiver<ToSim>,
    answers: &UnboundedSender<Answer>,
    pending: &Pending,
) -> SessionEnd {
    loop {
        let (id, request) = match next_request(requests) {
            Ok(ToSim::Call { id, request }) => (id, request),
            Ok(ToSim::Gone(why)) => return SessionEnd::Gone(why),
            Err(_) => return SessionEnd::Gone("the connection's handler ended".into()),
        };
        let op = request.op();
        if op == Op::Finish {
            return SessionEnd::Finished(id);
        }
        pending.set(Some((id, op)));
        let response = execute(ctx, hal, map, request).await;
        pending.set(None);
        if answers.send(Answer { id, op, response }).is_err() {
            return SessionEnd::Gone("the connection's handler ended".into());
        }
    }
}

/// The next message from the edge. A client in lockstep sends its next request
/// right after an answer, so the simulation thread polls for a moment before it
/// sleeps ([`spin`]): waking a sleeping thread costs tens of microseconds on a
/// virtual machine, the round trip's largest part.
fn next_request(requests: &Receiver<ToSim>) -> Result<ToSim, RecvError> {
    let polled = spin(|| match requests.try_recv() {
        Ok(m) => Some(Ok(m)),
        Err(TryRecvError::Empty) => None,
        Err(TryRecvError::Disconnected) => Some(Err(RecvError)),
    });
    polled.unwrap_or_else(|| requests.recv())
}

/// An error response.
fn error(status: Status, message: String) -> Response {
    Response::Error { status, message }
}

/// Where an access of `len` bytes at `addr` falls: `Ok(true)` in the register
/// window, `Ok(false)` in DRAM, else the `OUT_OF_MAP` answer.
fn locate(map: DeviceMap, op: Op, addr: u64, len: u64) -> Result<bool, Response> {
    let inside = |base: u64, size: u64| {
        addr >= base
            && addr
                .checked_add(len)
                .is_some_and(|end| end <= base.saturating_add(size))
    };
    if inside(map.regs_base, map.regs_size) {
        Ok(true)
    } else if inside(map.dram_base, map.dram_size) {
        Ok(false)
    } else {
        Err(error(
            Status::OutOfMap,
            format!(
                "{} of {len} bytes at {addr:#x}: outside the register window \
                 {:#x}..{:#x} and DRAM {:#x}..{:#x}",
                op.name(),
                map.regs_base,
                map.regs_base.saturating_add(map.regs_size),
                map.dram_base,
                map.dram_base.saturating_add(map.dram_size),
            ),
        ))
    }
}

/// `ns` as a duration, if simulated time can go that far from now.
fn deadline(ctx: &Ctx, op: Op, ns: u64) -> Result<SimTime, Response> {
    ns.checked_mul(1000)
        .map(SimTime::from_ps)
        .filter(|d| ctx.now().checked_add(*d).is_some())
        .ok_or_else(|| {
            error(
                Status::Malformed,
                format!(
                    "{}: {ns} ns from {} goes past the end of simulated time (2^64 ps)",
                    op.name(),
                    ctx.now()
                ),
            )
        })
}

/// Carries out one request.
async fn execute(ctx: &Ctx, hal: &VpHal, map: DeviceMap, request: Request) -> Response {
    let op = request.op();
    let now_ps = |ctx: &Ctx| ctx.now().as_ps();
    match request {
        Request::Hello { .. } => Response::Hello {
            version: VERSION,
            capabilities: 0,
            map,
        },
        Request::Read32 { addr } | Request::Read64 { addr } => {
            let len = if op == Op::Read32 { 4 } else { 8 };
            if let Err(e) = locate(map, op, addr, len) {
                return e;
            }
            match hal
                .bus_access(Command::Read, addr, vec![0; len as usize])
                .await
            {
                Ok(data) => {
                    let mut b = [0u8; 8];
                    let n = data.len().min(8);
                    b[..n].copy_from_slice(&data[..n]);
                    let v = u64::from_le_bytes(b);
                    if op == Op::Read32 {
                        Response::Value32(v as u32)
                    } else {
                        Response::Value64(v)
                    }
                }
                Err(_) => refused(op, addr, len),
            }
        }
        Request::Write32 { addr, value } => {
            write(hal, map, op, addr, value.to_le_bytes().to_vec()).await
        }
        Request::Write64 { addr, value } => {
            write(hal, map, op, addr, value.to_le_bytes().to_vec()).await
        }
        Request::ReadMem { addr, len } => {
            if len as usize > MAX_PAYLOAD {
                return error(
                    Status::Oversized,
                    format!("READ_MEM of {len} bytes: at most {MAX_PAYLOAD} per request"),
                );
            }
            if let Err(e) = dram_only(map, op, addr, u64::from(len)) {
                return e;
            }
            match hal.debug_access(Command::Read, addr, vec![0; len as usize]) {
                Ok(data) => Response::Bytes(data),
                Err(_) => refused(op, addr, u64::from(len)),
            }
        }
        Request::WriteMem { addr, data } => {
            let len = data.len() as u64;
            if let Err(e) = dram_only(map, op, addr, len) {
                return e;
            }
            match hal.debug_access(Command::Write, addr, data) {
                Ok(_) => Response::Done,
                Err(_) => refused(op, addr, len),
            }
        }
        Request::WaitIrq => {
            treta_driver::Hal::wait_irq(hal).await;
            Response::Time(now_ps(ctx))
        }
        Request::WaitIrqFor { timeout_ns } => {
            if let Err(e) = deadline(ctx, op, timeout_ns) {
                return e;
            }
            let raised = treta_driver::Hal::wait_irq_for(hal, timeout_ns).await;
            Response::Waited {
                raised,
                time_ps: now_ps(ctx),
            }
        }
        Request::Advance { ns } => match deadline(ctx, op, ns) {
            Ok(d) => {
                ctx.wait(d).await;
                Response::Time(now_ps(ctx))
            }
            Err(e) => e,
        },
        Request::Now => Response::Time(now_ps(ctx)),
        // Ends the session before it gets here (`serve_requests`).
        Request::Finish => error(Status::Malformed, "FINISH is not an access".into()),
    }
}

/// A register or DRAM write through the bus.
async fn write(hal: &VpHal, map: DeviceMap, op: Op, addr: u64, bytes: Vec<u8>) -> Response {
    let len = bytes.len() as u64;
    if let Err(e) = locate(map, op, addr, len) {
        return e;
    }
    match hal.bus_access(Command::Write, addr, bytes).await {
        Ok(_) => Response::Done,
        Err(_) => refused(op, addr, len),
    }
}

/// `OUT_OF_MAP` unless the range is in DRAM (the debug port reaches DRAM only).
fn dram_only(map: DeviceMap, op: Op, addr: u64, len: u64) -> Result<(), Response> {
    match locate(map, op, addr, len)? {
        false => Ok(()),
        true => Err(error(
            Status::OutOfMap,
            format!(
                "{} at {addr:#x}: bulk transfers reach DRAM only ({:#x}..{:#x}); \
                 use READ32/WRITE32 for registers",
                op.name(),
                map.dram_base,
                map.dram_base.saturating_add(map.dram_size)
            ),
        )),
    }
}

/// The `BUS_ERROR` answer.
fn refused(op: Op, addr: u64, len: u64) -> Response {
    error(
        Status::BusError,
        format!(
            "{} of {len} bytes at {addr:#x}: the device refused the access \
             (registers take aligned 32-bit accesses; some are read-only)",
            op.name()
        ),
    )
}
