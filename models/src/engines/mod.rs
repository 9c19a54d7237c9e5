//! The engines: [`Dma`], [`GemmCore`] and [`Sfu`]. Each takes jobs from its
//! [`EnginePort`] one at a time, checks and times the SRAM (and DRAM) traffic
//! through its sockets, and records a span per command on its timeline track.

mod dma;
mod footprint;
mod gemm;
pub mod sfu;

pub use dma::Dma;
pub use gemm::{GemmCore, GemmRecord};
pub use sfu::Sfu;

use crate::job::{EnginePort, Fault, Job};
use crate::EngineStats;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use treta_abi::{Command, DeviceError};
use treta_kernel::timeline::{ArgValue, TrackId};
use treta_kernel::tlm::{Command as TlmCommand, Dmi, InitiatorSocket, Payload};
use treta_kernel::{Ctx, SimTime};

/// Serves jobs from `port` forever with `run`, recording busy time and spans.
async fn serve<F, Fut>(
    ctx: Ctx,
    port: EnginePort,
    track: TrackId,
    stats: Rc<Cell<EngineStats>>,
    run: F,
) where
    F: Fn(Job) -> Fut,
    Fut: std::future::Future<Output = (Job, Result<(), Fault>)>,
{
    loop {
        let job = port.read().await;
        let start = ctx.now();
        ctx.timeline().flow_end(track, job.flow);
        let (job, result) = run(job).await;
        let end = ctx.now();
        let mut s = stats.get();
        s.busy += end - start;
        s.commands += 1;
        stats.set(s);
        if ctx.timeline().enabled() {
            let mut args = vec![
                ("id", ArgValue::U64(u64::from(job.desc.id))),
                ("queue", ArgValue::U64(job.queue as u64)),
                ("ok", ArgValue::Bool(result.is_ok())),
            ];
            args.extend(descriptor_args(&job.desc.command));
            ctx.timeline()
                .complete(track, job.desc.command.mnemonic(), start, end, &args);
        }
        job.reply.finish(result);
    }
}

/// The fields of a command, as trace arguments.
fn descriptor_args(command: &Command) -> Vec<(&'static str, ArgValue<'static>)> {
    let u = |v: u32| ArgValue::U64(u64::from(v));
    match command {
        Command::DmaLoad(d) | Command::DmaStore(d) | Command::DmaCopy(d) => vec![
            (
                // A copy's source is in SRAM.
                if matches!(command, Command::DmaCopy(_)) {
                    "src_sram_addr"
                } else {
                    "dram_addr"
                },
                ArgValue::U64(d.dram_addr),
            ),
            ("sram_addr", u(d.sram_addr)),
            ("rows", u(d.rows)),
            ("row_bytes", u(d.row_bytes)),
            ("planes", u(d.planes)),
            ("src_format", ArgValue::Str(d.src_format.name())),
            ("dst_format", ArgValue::Str(d.dst_format.name())),
        ],
        Command::Gemm(g) => vec![
            ("m", u(g.m)),
            ("k", u(g.k)),
            ("n", u(g.n)),
            ("a_addr", u(g.a_addr)),
            ("b_addr", u(g.b_addr)),
            ("c_addr", u(g.c_addr)),
            ("transpose_a", ArgValue::Bool(g.transpose_a)),
            ("transpose_b", ArgValue::Bool(g.transpose_b)),
            ("accumulate", ArgValue::Bool(g.accumulate)),
            ("a_format", ArgValue::Str(g.a_format.name())),
            ("b_format", ArgValue::Str(g.b_format.name())),
        ],
        Command::Sfu(sd) => vec![
            ("rows", u(sd.rows)),
            ("cols", u(sd.cols)),
            ("src_addr", u(sd.src_addr)),
            ("dst_addr", u(sd.dst_addr)),
            ("aux0_addr", u(sd.aux0_addr)),
            ("aux1_addr", u(sd.aux1_addr)),
            ("aux2_addr", u(sd.aux2_addr)),
            ("aux3_addr", u(sd.aux3_addr)),
            ("scalar0", ArgValue::F64(f64::from(sd.scalars[0]))),
            ("scalar1", ArgValue::F64(f64::from(sd.scalars[1]))),
            ("scalar2", ArgValue::F64(f64::from(sd.scalars[2]))),
            ("scalar3", ArgValue::F64(f64::from(sd.scalars[3]))),
            ("accumulate", ArgValue::Bool(sd.accumulate)),
            ("format", ArgValue::Str(sd.format.name())),
        ],
        _ => Vec::new(),
    }
}

/// Reads `len` bytes at `addr` through `socket`'s debug transport (zero time: the
/// functional side of a transfer whose timing is modelled separately); a short
/// read is `error` at `addr`.
fn debug_read(
    socket: &InitiatorSocket,
    addr: u64,
    len: usize,
    error: DeviceError,
) -> Result<Vec<u8>, Fault> {
    let mut p = Payload::with_data(TlmCommand::Read, addr, vec![0; len]);
    if socket.transport_dbg(&mut p) != len {
        return Err(Fault::at(error, addr));
    }
    Ok(p.set_timing_only(0).unwrap_or_default())
}

/// Writes `data` at `addr` through `socket`'s debug transport; a short write is
/// `error` at `addr`.
fn debug_write(
    socket: &InitiatorSocket,
    addr: u64,
    data: Vec<u8>,
    error: DeviceError,
) -> Result<(), Fault> {
    let len = data.len();
    let mut p = Payload::with_data(TlmCommand::Write, addr, data);
    if socket.transport_dbg(&mut p) != len {
        return Err(Fault::at(error, addr));
    }
    Ok(())
}

/// An engine's functional access to the SRAM's bytes: through the SRAM's DMI
/// grant (asked for once; no copies), or by debug transport from a target that
/// grants none. Zero time: the timing is modelled by the engine's accesses.
#[derive(Default)]
struct Storage {
    /// `None`: not asked yet; `Some(None)`: asked, none given.
    grant: RefCell<Option<Option<Dmi>>>,
}

impl Storage {
    /// The grant of the target behind `socket`.
    fn grant(&self, socket: &InitiatorSocket) -> Option<Dmi> {
        self.grant
            .borrow_mut()
            .get_or_insert_with(|| socket.get_direct_mem_ptr(&Payload::new(TlmCommand::Read, 0, 0)))
            .clone()
    }

    /// Calls `f` with the `len` bytes at `addr`.
    fn read<R>(
        &self,
        socket: &InitiatorSocket,
        addr: u64,
        len: u64,
        f: impl FnOnce(&[u8]) -> R,
    ) -> Result<R, Fault> {
        let len = usize::try_from(len).map_err(|_| overflow(addr))?;
        match self.grant(socket).filter(|d| d.covers(addr, len)) {
            Some(d) => {
                let memory = d.memory.borrow();
                let at = d.offset + (addr - d.start) as usize;
                Ok(f(&memory[at..at + len]))
            }
            None => Ok(f(&debug_read(
                socket,
                addr,
                len,
                DeviceError::SramOverflow,
            )?)),
        }
    }

    /// Calls `f` with the `len` bytes at `addr` to change them in place.
    fn write<R>(
        &self,
        socket: &InitiatorSocket,
        addr: u64,
        len: u64,
        f: impl FnOnce(&mut [u8]) -> R,
    ) -> Result<R, Fault> {
        let len = usize::try_from(len).map_err(|_| overflow(addr))?;
        match self.grant(socket).filter(|d| d.covers(addr, len)) {
            Some(d) => {
                let mut memory = d.memory.borrow_mut();
                let at = d.offset + (addr - d.start) as usize;
                Ok(f(&mut memory[at..at + len]))
            }
            None => {
                let mut bytes = debug_read(socket, addr, len, DeviceError::SramOverflow)?;
                let out = f(&mut bytes);
                debug_write(socket, addr, bytes, DeviceError::SramOverflow)?;
                Ok(out)
            }
        }
    }
}

/// An SRAM overflow at `addr`.
fn overflow(addr: u64) -> Fault {
    Fault::at(DeviceError::SramOverflow, addr)
}

/// Accesses `len` bytes of SRAM at `addr` through `socket`, adding its time to
/// `delay`; an access beyond the SRAM is an overflow at `addr`.
async fn sram_access(
    socket: &InitiatorSocket,
    command: TlmCommand,
    addr: u64,
    len: u64,
    delay: &mut SimTime,
) -> Result<(), Fault> {
    let Ok(len) = usize::try_from(len) else {
        return Err(Fault::at(DeviceError::SramOverflow, addr));
    };
    let mut p = Payload::new(command, addr, len);
    socket.b_transport(&mut p, delay).await;
    if p.response.is_ok() {
        Ok(())
    } else {
        Err(Fault::at(DeviceError::SramOverflow, addr))
    }
}

/// Performs `accesses` (command, SRAM address, bytes) one after the other; returns
/// the time they take together.
async fn sram_accesses(
    socket: &InitiatorSocket,
    accesses: &[(TlmCommand, u64, u64)],
) -> Result<SimTime, Fault> {
    let mut delay = SimTime::ZERO;
    for &(command, addr, len) in accesses {
        sram_access(socket, command, addr, len, &mut delay).await?;
    }
    Ok(delay)
}

/// Starts the process of engine `me`: it serves `port` with `handle`, which runs one
/// job's command (anything else is a bad opcode for this engine).
fn start_engine<E, Fut>(
    ctx: &Ctx,
    name: &str,
    port: EnginePort,
    stats: Rc<Cell<EngineStats>>,
    me: Rc<E>,
    handle: fn(Rc<E>, Ctx, Job) -> Fut,
) where
    E: 'static,
    Fut: std::future::Future<Output = (Job, Result<(), Fault>)> + 'static,
{
    let track = ctx.timeline().track(name);
    let c = ctx.clone();
    ctx.spawn(name, move |_| async move {
        serve(c.clone(), port, track, stats, |job| {
            handle(me.clone(), c.clone(), job)
        })
        .await
    });
}

/// The outcome of a command an engine does not execute.
fn wrong_engine(job: Job) -> (Job, Result<(), Fault>) {
    (job, Err(Fault::at(DeviceError::BadOpcode, 0)))
}
