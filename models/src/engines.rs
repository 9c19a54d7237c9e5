//! The engines: [`Dma`], [`GemmCore`] and [`Sfu`]. Each takes jobs from its
//! [`EnginePort`] one at a time, checks and times the SRAM (and DRAM) traffic
//! through its sockets, and records a span per command on its timeline track.

use crate::dram::BurstList;
use crate::job::{EnginePort, Fault, Job};
use crate::EngineStats;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use treta_abi::{Command, DeviceError, DmaDesc, GemmDesc, SfuDesc, SfuOp};
use treta_kernel::timeline::{ArgValue, TrackId};
use treta_kernel::tlm::{Command as TlmCommand, InitiatorSocket, Payload};
use treta_kernel::{Clock, Ctx, SimTime};

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
            ("format", ArgValue::Str(sd.format.name())),
        ],
        _ => Vec::new(),
    }
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
        return Err(Fault {
            error: DeviceError::SramOverflow,
            addr,
        });
    };
    let mut p = Payload::new(command, addr, len);
    socket.b_transport(&mut p, delay).await;
    if p.response.is_ok() {
        Ok(())
    } else {
        Err(Fault {
            error: DeviceError::SramOverflow,
            addr,
        })
    }
}

/// Performs `accesses` (command, SRAM address, bytes) one after the other; returns
/// the time they take together.
async fn sram_accesses(
    socket: &InitiatorSocket,
    accesses: &[(TlmCommand, u32, u64)],
) -> Result<SimTime, Fault> {
    let mut delay = SimTime::ZERO;
    for &(command, addr, len) in accesses {
        sram_access(socket, command, u64::from(addr), len, &mut delay).await?;
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
    (
        job,
        Err(Fault {
            error: DeviceError::BadOpcode,
            addr: 0,
        }),
    )
}

/// The DMA engine: strided transfers between DRAM and SRAM. Each row is cut into
/// DRAM accesses of at most `burst` bytes (at burst-aligned addresses); a descriptor's
/// accesses go to DRAM as one transaction carrying a [`BurstList`], so the DRAM
/// controller overlaps them as requests that arrive together (its queues bound how
/// many are in flight).
pub struct Dma {
    /// Jobs from the command processor.
    pub port: EnginePort,
    /// To DRAM.
    pub dram: InitiatorSocket,
    /// To SRAM.
    pub sram: InitiatorSocket,
    burst: u64,
    functional: bool,
    stats: Rc<Cell<EngineStats>>,
}

impl Dma {
    /// A DMA engine serving `port`, cutting rows into `burst`-byte accesses; with
    /// `functional`, it also moves the bytes (through debug transport, so the timing
    /// is the same either way). Its process starts with the simulation.
    pub fn new(ctx: &Ctx, name: &str, port: EnginePort, burst: u32, functional: bool) -> Rc<Dma> {
        let dma = Rc::new(Dma {
            port: port.clone(),
            dram: InitiatorSocket::new(&format!("{name}.dram")),
            sram: InitiatorSocket::new(&format!("{name}.sram")),
            burst: u64::from(burst.max(1)),
            functional,
            stats: Rc::default(),
        });
        start_engine(ctx, name, port, dma.stats.clone(), dma.clone(), Dma::handle);
        dma
    }

    /// Busy time and commands so far.
    pub fn stats(&self) -> EngineStats {
        self.stats.get()
    }

    async fn handle(self: Rc<Self>, ctx: Ctx, job: Job) -> (Job, Result<(), Fault>) {
        let result = match &job.desc.command {
            Command::DmaLoad(d) => self.transfer(&ctx, d, true).await,
            Command::DmaStore(d) => self.transfer(&ctx, d, false).await,
            Command::DmaCopy(d) => self.copy(&ctx, d).await,
            _ => return wrong_engine(job),
        };
        (job, result)
    }

    async fn transfer(&self, ctx: &Ctx, d: &DmaDesc, load: bool) -> Result<(), Fault> {
        if d.rows == 0 || d.row_bytes == 0 {
            return Err(Fault {
                error: DeviceError::BadField,
                addr: d.dram_addr,
            });
        }
        let planes = u64::from(d.planes.max(1));
        let rows = u64::from(d.rows);
        let row = u64::from(d.row_bytes);
        // Bytes per row on the SRAM side after format conversion.
        let sram_row = row * u64::from(d.dst_format.bytes()) / u64::from(d.src_format.bytes());
        let (sram_row, dram_row) = if load {
            (sram_row, row)
        } else {
            (row, sram_row)
        };
        let dram_stride = if d.dram_stride == 0 {
            dram_row
        } else {
            d.dram_stride
        };
        let sram_stride = if d.sram_stride == 0 {
            sram_row
        } else {
            u64::from(d.sram_stride)
        };
        let dram_plane = if d.dram_plane_stride == 0 {
            dram_stride * rows
        } else {
            d.dram_plane_stride
        };
        let sram_plane = if d.sram_plane_stride == 0 {
            sram_stride * rows
        } else {
            u64::from(d.sram_plane_stride)
        };
        let (dram_cmd, sram_cmd) = if load {
            (TlmCommand::Read, TlmCommand::Write)
        } else {
            (TlmCommand::Write, TlmCommand::Read)
        };
        let mut chunks = Vec::new();
        let mut sram_delay = SimTime::ZERO;
        for plane in 0..planes {
            for r in 0..rows {
                let dram_addr = d
                    .dram_addr
                    .checked_add(plane * dram_plane + r * dram_stride)
                    .ok_or(Fault {
                        error: DeviceError::DramOutOfRange,
                        addr: d.dram_addr,
                    })?;
                let sram_addr = u64::from(d.sram_addr) + plane * sram_plane + r * sram_stride;
                sram_access(&self.sram, sram_cmd, sram_addr, sram_row, &mut sram_delay).await?;
                let mut at = dram_addr;
                let end = dram_addr.checked_add(dram_row).ok_or(Fault {
                    error: DeviceError::DramOutOfRange,
                    addr: dram_addr,
                })?;
                while at < end {
                    let len = (self.burst - at % self.burst).min(end - at);
                    chunks.push((at, len as u32));
                    at += len;
                }
            }
        }
        let mut p = Payload::new(dram_cmd, d.dram_addr, 0);
        p.set_extension(BurstList {
            chunks,
            fault: None,
        });
        let mut dram_done = SimTime::ZERO;
        self.dram.b_transport(&mut p, &mut dram_done).await;
        if !p.response.is_ok() {
            let addr = p
                .extension::<BurstList>()
                .and_then(|l| l.fault)
                .unwrap_or(d.dram_addr);
            return Err(Fault {
                error: DeviceError::DramOutOfRange,
                addr,
            });
        }
        if self.functional {
            let direction = if load {
                Direction::Load
            } else {
                Direction::Store
            };
            self.move_bytes(d, direction)?;
        }
        // The SRAM side streams alongside the DRAM side: the slower one decides.
        ctx.wait(dram_done.max(sram_delay)).await;
        Ok(())
    }

    /// An SRAM → SRAM transfer: the `dram_*` fields address the source in SRAM.
    /// Each row is read, then written, through the SRAM's socket — the banks decide
    /// how long that takes; no DRAM traffic.
    async fn copy(&self, ctx: &Ctx, d: &DmaDesc) -> Result<(), Fault> {
        let overflow = |addr| Fault {
            error: DeviceError::SramOverflow,
            addr,
        };
        if d.rows == 0 || d.row_bytes == 0 {
            return Err(Fault {
                error: DeviceError::BadField,
                addr: d.dram_addr,
            });
        }
        let src = Side::source(d);
        let dst = Side::destination(d);
        let row = u64::from(d.row_bytes);
        let dst_row = row * u64::from(d.dst_format.bytes()) / u64::from(d.src_format.bytes());
        let mut delay = SimTime::ZERO;
        for plane in 0..u64::from(d.planes.max(1)) {
            for r in 0..u64::from(d.rows) {
                let from = src
                    .row(plane, r, row, d.rows)
                    .ok_or(overflow(d.dram_addr))?;
                let to = dst
                    .row(plane, r, dst_row, d.rows)
                    .ok_or(overflow(d.dram_addr))?;
                sram_access(&self.sram, TlmCommand::Read, from, row, &mut delay).await?;
                sram_access(&self.sram, TlmCommand::Write, to, dst_row, &mut delay).await?;
            }
        }
        if self.functional {
            self.move_bytes(d, Direction::Copy)?;
        }
        ctx.wait(delay).await;
        Ok(())
    }

    /// Copies the bytes of a transfer (functional runs), plane by plane: gather the
    /// source rows, transpose the plane if asked, scatter into the destination.
    fn move_bytes(&self, d: &DmaDesc, direction: Direction) -> Result<(), Fault> {
        let bad_field = Fault {
            error: DeviceError::BadField,
            addr: d.dram_addr,
        };
        let eb = u64::from(d.src_format.bytes());
        let out_eb = u64::from(d.dst_format.bytes());
        let (rows, row) = (u64::from(d.rows), u64::from(d.row_bytes));
        let cols = row / eb;
        if d.transpose && row % eb != 0 {
            return Err(bad_field);
        }
        // Source and destination geometry: (base, row stride, plane stride).
        let dram = (d.dram_addr, d.dram_stride, d.dram_plane_stride);
        let sram = (
            u64::from(d.sram_addr),
            u64::from(d.sram_stride),
            u64::from(d.sram_plane_stride),
        );
        let (src, dst) = match direction {
            Direction::Load | Direction::Copy => (dram, sram),
            Direction::Store => (sram, dram),
        };
        let dram_side = (&self.dram, DeviceError::DramOutOfRange);
        let sram_side = (&self.sram, DeviceError::SramOverflow);
        let (src_side, dst_side) = match direction {
            Direction::Load => (dram_side, sram_side),
            Direction::Store => (sram_side, dram_side),
            // The `dram_*` fields address the source in SRAM.
            Direction::Copy => (sram_side, sram_side),
        };
        // Rows as written: transposed planes have `cols` rows of `rows` elements;
        // elements take the destination format's size.
        let (dst_rows, dst_row) = if d.transpose {
            (cols, rows * out_eb)
        } else {
            (rows, row * out_eb / eb)
        };
        let src_stride = if src.1 == 0 { row } else { src.1 };
        let dst_stride = if dst.1 == 0 { dst_row } else { dst.1 };
        let src_plane = if src.2 == 0 { src_stride * rows } else { src.2 };
        let dst_plane = if dst.2 == 0 {
            dst_stride * dst_rows
        } else {
            dst.2
        };
        let debug = |(socket, error): (&InitiatorSocket, DeviceError),
                     command,
                     addr: u64,
                     data: Vec<u8>| {
            let len = data.len();
            let mut p = Payload::with_data(command, addr, data);
            if socket.transport_dbg(&mut p) != len {
                return Err(Fault { error, addr });
            }
            Ok(p.set_timing_only(0).unwrap_or_default())
        };
        for plane in 0..u64::from(d.planes.max(1)) {
            let mut block = Vec::with_capacity((rows * row) as usize);
            for r in 0..rows {
                let addr = src.0 + plane * src_plane + r * src_stride;
                block.extend(debug(
                    src_side,
                    TlmCommand::Read,
                    addr,
                    vec![0; row as usize],
                )?);
            }
            if d.transpose {
                let mut t = vec![0u8; block.len()];
                for r in 0..rows {
                    for c in 0..cols {
                        let from = ((r * cols + c) * eb) as usize;
                        let to = ((c * rows + r) * eb) as usize;
                        t[to..to + eb as usize].copy_from_slice(&block[from..from + eb as usize]);
                    }
                }
                block = t;
            }
            // Number-format conversion on the fly (int8 has no scale here: refused).
            let block =
                treta_numerics::convert(d.src_format, d.dst_format, &block).ok_or(bad_field)?;
            for (r, chunk) in block.chunks(dst_row as usize).enumerate() {
                let addr = dst.0 + plane * dst_plane + r as u64 * dst_stride;
                debug(dst_side, TlmCommand::Write, addr, chunk.to_vec())?;
            }
        }
        Ok(())
    }
}

/// Which way a DMA transfer goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// DRAM → SRAM.
    Load,
    /// SRAM → DRAM.
    Store,
    /// SRAM → SRAM (the `dram_*` fields address the source).
    Copy,
}

/// One side of a copy: base, row stride and plane stride (0 = packed).
struct Side {
    base: u64,
    stride: u64,
    plane_stride: u64,
}

impl Side {
    /// The source of a `DMA_COPY`: the `dram_*` fields.
    fn source(d: &DmaDesc) -> Side {
        Side {
            base: d.dram_addr,
            stride: d.dram_stride,
            plane_stride: d.dram_plane_stride,
        }
    }

    /// The destination: the `sram_*` fields.
    fn destination(d: &DmaDesc) -> Side {
        Side {
            base: u64::from(d.sram_addr),
            stride: u64::from(d.sram_stride),
            plane_stride: u64::from(d.sram_plane_stride),
        }
    }

    /// The address of row `r` of `plane` for rows of `row` bytes, `rows` per plane;
    /// `None` past 2^64.
    fn row(&self, plane: u64, r: u64, row: u64, rows: u32) -> Option<u64> {
        let stride = if self.stride == 0 { row } else { self.stride };
        let plane_stride = if self.plane_stride == 0 {
            stride.checked_mul(u64::from(rows))?
        } else {
            self.plane_stride
        };
        self.base
            .checked_add(plane.checked_mul(plane_stride)?)?
            .checked_add(r.checked_mul(stride)?)
    }
}

/// GEMM core micro-architectures (as the platform configures them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GemmTiming {
    /// PE groups of `group`×`group` that fuse into any rows×cols arrangement with
    /// `macs` PEs; each fold pays the group's fill and drain.
    Flexible {
        /// Total PEs.
        macs: u32,
        /// Rows and columns of one PE group.
        group: u32,
    },
    /// A rigid systolic array.
    Systolic {
        /// Rows.
        rows: u32,
        /// Columns.
        cols: u32,
        /// 0 output-, 1 weight-, 2 input-stationary.
        dataflow: u8,
    },
}

/// Cycles of C[m×n] = A[m×k]·B[k×n] on `timing`, and the array shape used.
///
/// Systolic: SCALE-Sim v3's closed form, folds not overlapped —
/// OS `ceil(m/R)·ceil(n/C)·(k+R+C−2) − 1`, WS `ceil(k/R)·ceil(n/C)·(m+2R+C−2) − 1`,
/// IS `ceil(k/R)·ceil(m/C)·(n+2R+C−2) − 1`. Flexible (first-order, deepened by the
/// GEMM issue): the best fused arrangement R×C of the groups, each fold costing
/// `k + 2·group − 2`.
pub fn gemm_cycles(timing: GemmTiming, m: u64, k: u64, n: u64) -> (u64, (u32, u32)) {
    match timing {
        GemmTiming::Systolic {
            rows,
            cols,
            dataflow,
        } => {
            let (r, c) = (u64::from(rows), u64::from(cols));
            let (folds, per) = match dataflow {
                1 => (k.div_ceil(r) * n.div_ceil(c), m + 2 * r + c - 2),
                2 => (k.div_ceil(r) * m.div_ceil(c), n + 2 * r + c - 2),
                _ => (m.div_ceil(r) * n.div_ceil(c), k + r + c - 2),
            };
            ((folds * per).saturating_sub(1), (rows, cols))
        }
        GemmTiming::Flexible { macs, group } => {
            let g = u64::from(group.max(1));
            let mut best = (u64::MAX, (0, 0));
            let mut r = g;
            while r <= u64::from(macs) {
                let c = u64::from(macs) / r;
                if c >= g && c % g == 0 {
                    let cycles = m.div_ceil(r) * n.div_ceil(c) * (k + 2 * g - 2);
                    if cycles < best.0 {
                        best = (cycles, (r as u32, c as u32));
                    }
                }
                r *= 2;
            }
            best
        }
    }
}

/// One GEMM executed: what the report's per-GEMM table is built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GemmRecord {
    /// Descriptor id.
    pub id: u32,
    /// Device cycles.
    pub cycles: u64,
    /// m·k·n.
    pub useful_macs: u64,
}

/// The GEMM core.
pub struct GemmCore {
    /// Jobs from the command processor.
    pub port: EnginePort,
    /// Operand reads and result writes.
    pub sram: InitiatorSocket,
    timing: GemmTiming,
    clock: Clock,
    stats: Rc<Cell<EngineStats>>,
    records: RefCell<Vec<GemmRecord>>,
}

impl GemmCore {
    /// A GEMM core serving `port`; its process starts with the simulation.
    pub fn new(
        ctx: &Ctx,
        name: &str,
        port: EnginePort,
        timing: GemmTiming,
        clock: Clock,
    ) -> Rc<GemmCore> {
        let core = Rc::new(GemmCore {
            port: port.clone(),
            sram: InitiatorSocket::new(&format!("{name}.sram")),
            timing,
            clock,
            stats: Rc::default(),
            records: RefCell::new(Vec::new()),
        });
        start_engine(
            ctx,
            name,
            port,
            core.stats.clone(),
            core.clone(),
            GemmCore::handle,
        );
        core
    }

    /// Busy time and commands so far.
    pub fn stats(&self) -> EngineStats {
        self.stats.get()
    }

    /// Every GEMM executed, in order.
    pub fn records(&self) -> Vec<GemmRecord> {
        self.records.borrow().clone()
    }

    async fn handle(self: Rc<Self>, ctx: Ctx, job: Job) -> (Job, Result<(), Fault>) {
        let result = match &job.desc.command {
            Command::Gemm(g) => self.multiply(&ctx, job.desc.id, g).await,
            _ => return wrong_engine(job),
        };
        (job, result)
    }

    async fn multiply(&self, ctx: &Ctx, id: u32, g: &GemmDesc) -> Result<(), Fault> {
        if g.m == 0 || g.k == 0 || g.n == 0 {
            return Err(Fault {
                error: DeviceError::BadField,
                addr: 0,
            });
        }
        let (m, k, n) = (u64::from(g.m), u64::from(g.k), u64::from(g.n));
        let a_bytes = m * k * u64::from(g.a_format.bytes());
        let b_bytes = k * n * u64::from(g.b_format.bytes());
        let c_bytes = m * n * u64::from(g.c_format.bytes());
        let mut accesses = vec![
            (TlmCommand::Read, g.a_addr, a_bytes),
            (TlmCommand::Read, g.b_addr, b_bytes),
        ];
        if g.accumulate {
            accesses.push((TlmCommand::Read, g.c_addr, c_bytes));
        }
        accesses.push((TlmCommand::Write, g.c_addr, c_bytes));
        let sram_delay = sram_accesses(&self.sram, &accesses).await?;
        let (cycles, _) = gemm_cycles(self.timing, m, k, n);
        let compute = self.clock.cycles(cycles);
        ctx.wait(compute.max(sram_delay)).await;
        self.records.borrow_mut().push(GemmRecord {
            id,
            cycles,
            useful_macs: m * k * n,
        });
        Ok(())
    }
}

/// The special-function unit: Softmax, LayerNorm, GELU and vector ops over rows.
pub struct Sfu {
    /// Jobs from the command processor.
    pub port: EnginePort,
    /// Operand and result traffic.
    pub sram: InitiatorSocket,
    lanes: u32,
    clock: Clock,
    stats: Rc<Cell<EngineStats>>,
}

/// Pipeline depth of the SFU [cycles].
const SFU_PIPELINE: u64 = 8;

impl Sfu {
    /// An SFU with `lanes` elements per cycle serving `port`.
    pub fn new(ctx: &Ctx, name: &str, port: EnginePort, lanes: u32, clock: Clock) -> Rc<Sfu> {
        let sfu = Rc::new(Sfu {
            port: port.clone(),
            sram: InitiatorSocket::new(&format!("{name}.sram")),
            lanes: lanes.max(1),
            clock,
            stats: Rc::default(),
        });
        start_engine(ctx, name, port, sfu.stats.clone(), sfu.clone(), Sfu::handle);
        sfu
    }

    /// Busy time and commands so far.
    pub fn stats(&self) -> EngineStats {
        self.stats.get()
    }

    async fn handle(self: Rc<Self>, ctx: Ctx, job: Job) -> (Job, Result<(), Fault>) {
        let result = match &job.desc.command {
            Command::Sfu(s) => self.compute(&ctx, s).await,
            _ => return wrong_engine(job),
        };
        (job, result)
    }

    async fn compute(&self, ctx: &Ctx, s: &SfuDesc) -> Result<(), Fault> {
        if s.rows == 0 || s.cols == 0 {
            return Err(Fault {
                error: DeviceError::BadField,
                addr: u64::from(s.src_addr),
            });
        }
        let elems = u64::from(s.rows) * u64::from(s.cols);
        let bytes = elems * u64::from(s.format.bytes());
        // Passes over the data: softmax = max, exp-and-sum, normalise; layernorm =
        // mean, variance, normalise; the rest stream once.
        let passes = match s.op {
            SfuOp::SoftmaxFwd | SfuOp::LayerNormFwd | SfuOp::LayerNormBwd => 3,
            SfuOp::SoftmaxBwd => 2,
            SfuOp::GeluFwd | SfuOp::GeluBwd | SfuOp::Vector(_) => 1,
        };
        let sram_delay = sram_accesses(
            &self.sram,
            &[
                (TlmCommand::Read, s.src_addr, bytes),
                (TlmCommand::Write, s.dst_addr, bytes),
            ],
        )
        .await?;
        let cycles = passes * elems.div_ceil(u64::from(self.lanes)) + SFU_PIPELINE;
        ctx.wait(self.clock.cycles(cycles).max(sram_delay)).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flexible_picks_the_best_fused_shape() {
        let t = GemmTiming::Flexible {
            macs: 8192,
            group: 16,
        };
        let (cycles, (r, c)) = gemm_cycles(t, 64, 768, 4096);
        assert_eq!(r * c, 8192);
        assert_eq!(cycles, 32 * (768 + 30), "32 folds, none wasted");
        // A skinny GEMM uses a skinny arrangement instead of idling rows.
        let (_, (r, _)) = gemm_cycles(t, 16, 768, 8192);
        assert_eq!(r, 16);
    }
}
