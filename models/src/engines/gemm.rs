//! The GEMM core: executes a GEMM descriptor round by round, as its
//! [`Mapping`] lays it out, fetching each round's operands from the SRAM banks
//! (the SRAM decides how long that takes, so other engines' traffic and bank
//! conflicts show up as stalls), and — in functional runs — computes the result.

use super::footprint::{self, Fields, Span};
use super::{sram_accesses, start_engine, wrong_engine, Storage};
use crate::job::{EnginePort, Fault, Job};
use crate::mapping::{GemmShape, GemmTiming, Idle, Mapping};
use crate::EngineStats;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use treta_abi::field::gemm as gemm_field;
use treta_abi::{Command, DeviceError, GemmDesc, NumberFormat};
use treta_kernel::timeline::{ArgValue, TrackId};
use treta_kernel::tlm::{Command as TlmCommand, InitiatorSocket};
use treta_kernel::{Clock, Ctx};
use treta_numerics::gemm::{gemm, MatRef};

/// One GEMM descriptor executed: what the report's per-GEMM rows and
/// `--explain-mapping` are built from.
#[derive(Clone, Debug, PartialEq)]
pub struct GemmRecord {
    /// Descriptor id.
    pub id: u32,
    /// Device cycles it took, stalls included.
    pub cycles: u64,
    /// Cycles the mapping planned.
    pub planned_cycles: u64,
    /// Cycles spent waiting for SRAM beyond the rounds' compute time.
    pub stall_cycles: u64,
    /// m·k·n.
    pub useful_macs: u64,
    /// The wider of its two operand formats: what each MAC multiplied in (for
    /// the energy model).
    pub format: NumberFormat,
    /// The mapping it ran with.
    pub mapping: Rc<Mapping>,
}

impl GemmRecord {
    /// The mapping's idle PE-cycles with the bandwidth share as measured: the
    /// stalls the SRAM actually caused, not the planned estimate.
    pub fn idle(&self, macs: u64) -> Idle {
        Idle {
            bandwidth: self.stall_cycles * macs,
            ..self.mapping.idle
        }
    }
}

/// Where an operand lives and how it is laid out.
#[derive(Clone, Copy, Debug)]
struct Region {
    addr: u64,
    /// Rows and columns as stored.
    rows: u64,
    cols: u64,
    /// Elements between stored rows.
    ld: u64,
    format: NumberFormat,
}

impl Region {
    /// The stored `rows × cols` matrix of an operand whose `op()` is
    /// `op_rows × op_cols`.
    fn new(
        addr: u32,
        op_rows: u32,
        op_cols: u32,
        transposed: bool,
        ld: u32,
        format: NumberFormat,
    ) -> Region {
        let (rows, cols) = if transposed {
            (u64::from(op_cols), u64::from(op_rows))
        } else {
            (u64::from(op_rows), u64::from(op_cols))
        };
        Region {
            addr: u64::from(addr),
            rows,
            cols,
            ld: if ld == 0 { cols } else { u64::from(ld) },
            format,
        }
    }

    /// Elements from the first to past the last.
    fn elements(&self) -> u64 {
        (self.rows - 1) * self.ld + self.cols
    }

    /// Bytes from the first element to past the last.
    fn bytes(&self) -> u64 {
        self.elements() * u64::from(self.format.bytes())
    }

    /// An access of `len` bytes at `offset` into the region, kept inside it.
    fn access(&self, command: TlmCommand, offset: u64, len: u64) -> Option<(TlmCommand, u64, u64)> {
        let len = len.min(self.bytes());
        (len > 0).then(|| (command, self.addr + offset.min(self.bytes() - len), len))
    }
}

/// The GEMM core.
pub struct GemmCore {
    /// Jobs from the command processor.
    pub port: EnginePort,
    /// Operand reads and result writes.
    pub sram: InitiatorSocket,
    timing: GemmTiming,
    clock: Clock,
    functional: bool,
    stats: Rc<Cell<EngineStats>>,
    records: RefCell<Vec<GemmRecord>>,
    /// Mappings by shape: a program repeats few shapes many times.
    mappings: RefCell<HashMap<GemmShape, Rc<Mapping>>>,
    /// Per-round spans (`gemm.rounds`).
    rounds_track: TrackId,
    /// The SRAM's bytes, for the arithmetic.
    storage: Storage,
    scratch: RefCell<Scratch>,
}

impl GemmCore {
    /// A GEMM core of micro-architecture `timing` serving `port`; with
    /// `functional` it also computes (fp32 accumulation, operands in their
    /// formats). Its process starts with the simulation.
    pub fn new(
        ctx: &Ctx,
        name: &str,
        port: EnginePort,
        timing: GemmTiming,
        clock: Clock,
        functional: bool,
    ) -> Rc<GemmCore> {
        let core = Rc::new(GemmCore {
            port: port.clone(),
            sram: InitiatorSocket::new(&format!("{name}.sram")),
            timing,
            clock,
            functional,
            stats: Rc::default(),
            records: RefCell::new(Vec::new()),
            mappings: RefCell::default(),
            rounds_track: ctx.timeline().track(&format!("{name}.rounds")),
            storage: Storage::default(),
            scratch: RefCell::default(),
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

    /// `f` of the records so far, without copying them (for probes that read
    /// the new ones as the simulation runs).
    pub fn with_records<R>(&self, f: impl FnOnce(&[GemmRecord]) -> R) -> R {
        f(&self.records.borrow())
    }

    /// The micro-architecture.
    pub fn timing(&self) -> GemmTiming {
        self.timing
    }

    async fn handle(self: Rc<Self>, ctx: Ctx, job: Job) -> (Job, Result<(), Fault>) {
        let result = match &job.desc.command {
            Command::Gemm(g) => self.multiply(&ctx, job.desc.id, g).await,
            _ => return wrong_engine(job),
        };
        (job, result)
    }

    /// The mapping of `shape`, searched once per shape.
    fn mapping(&self, shape: &GemmShape) -> Rc<Mapping> {
        self.mappings
            .borrow_mut()
            .entry(*shape)
            .or_insert_with(|| Rc::new(self.timing.map(shape)))
            .clone()
    }

    /// The operand regions of `g`, each checked to lie inside the SRAM behind
    /// `sram` before any time passes (then their sizes fit in 64 bits).
    fn regions(sram: &InitiatorSocket, g: &GemmDesc) -> Result<[Region; 3], Fault> {
        footprint::nonzero(g.m, gemm_field::M, 0)?;
        footprint::nonzero(g.k, gemm_field::K, 0)?;
        footprint::nonzero(g.n, gemm_field::N, 0)?;
        use gemm_field::{A_ADDR, B_ADDR, C_ADDR, K, LDA, LDB, LDC, M, N};
        // Each operand's address, stored rows, stored row length and stride.
        let stored = |t: bool, (rows, cols)| if t { (cols, rows) } else { (rows, cols) };
        let (a_rows, a_cols) = stored(g.transpose_a, (M, K));
        let (b_rows, b_cols) = stored(g.transpose_b, (K, N));
        let regions = [
            (
                Region::new(g.a_addr, g.m, g.k, g.transpose_a, g.lda, g.a_format),
                Fields::matrix(A_ADDR, a_rows, a_cols, LDA),
            ),
            (
                Region::new(g.b_addr, g.k, g.n, g.transpose_b, g.ldb, g.b_format),
                Fields::matrix(B_ADDR, b_rows, b_cols, LDB),
            ),
            (
                Region::new(g.c_addr, g.m, g.n, false, g.ldc, g.c_format),
                Fields::matrix(C_ADDR, M, N, LDC),
            ),
        ];
        for (r, fields) in &regions {
            if r.ld < r.cols {
                // A leading dimension shorter than a row overlaps the rows.
                return Err(Fault::in_field(
                    DeviceError::BadField,
                    r.addr,
                    fields.stride,
                ));
            }
            let eb = u64::from(r.format.bytes());
            let span = Span::rows(r.addr, r.rows, r.cols * eb, r.ld * eb);
            footprint::check_in(sram, &span, fields, DeviceError::SramOverflow)?;
        }
        Ok(regions.map(|(r, _)| r))
    }

    async fn multiply(&self, ctx: &Ctx, id: u32, g: &GemmDesc) -> Result<(), Fault> {
        let [a, b, c] = Self::regions(&self.sram, g)?;
        let shape = GemmShape::of(g);
        let mapping = self.mapping(&shape);
        // Rounds are timed in whole cycles from the first clock edge: a round ends
        // when its compute is done or its SRAM traffic is, whichever is later.
        let clock = self.clock;
        let first = clock.cycle_at(clock.next_edge(ctx.now()));
        let mut cycle = first;
        let trace = ctx.timeline().enabled();
        let mut stall = 0;
        for (i, round) in mapping.rounds.iter().enumerate() {
            let accesses: Vec<_> = [
                a.access(TlmCommand::Read, round.a_offset, round.read_a),
                b.access(TlmCommand::Read, round.b_offset, round.read_b),
                c.access(TlmCommand::Read, round.c_offset, round.read_c),
                c.access(TlmCommand::Write, round.c_offset, round.write_c),
            ]
            .into_iter()
            .flatten()
            .collect();
            let round_start = ctx.now();
            let fetch = sram_accesses(&self.sram, &accesses).await?;
            let fetched = clock.cycle_at(clock.next_edge(round_start + fetch));
            let computed = cycle + round.compute;
            let end = computed.max(fetched);
            stall += end - computed;
            ctx.wait(clock.cycle_start(end).saturating_sub(ctx.now()))
                .await;
            cycle = end;
            if trace {
                ctx.timeline().complete(
                    self.rounds_track,
                    "round",
                    round_start,
                    ctx.now(),
                    &[
                        ("gemm", ArgValue::U64(u64::from(id))),
                        ("round", ArgValue::U64(i as u64)),
                        ("tiles", ArgValue::U64(u64::from(round.tiles))),
                        ("compute_cycles", ArgValue::U64(round.compute)),
                        ("stall_cycles", ArgValue::U64(end - computed)),
                        ("sram_bytes", ArgValue::U64(round.bytes())),
                    ],
                );
            }
        }
        if self.functional {
            self.compute(g, [a, b, c])?;
        }
        let cycles = cycle - first;
        self.records.borrow_mut().push(GemmRecord {
            id,
            cycles,
            planned_cycles: mapping.cycles,
            stall_cycles: stall,
            useful_macs: shape.useful_macs(),
            format: if g.b_format.bytes() > g.a_format.bytes() {
                g.b_format
            } else {
                g.a_format
            },
            mapping,
        });
        Ok(())
    }

    /// The arithmetic (functional runs): read the operands as stored, multiply
    /// with fp32 accumulation, round into C's format, write C's rows (the bytes
    /// between rows of a strided C stay as they were). int8 operands are taken as
    /// integers: their per-tensor scales are applied by the firmware.
    ///
    /// The operands are used where they lie in the SRAM's storage (DMI): fp32
    /// ones in place, others decoded into buffers reused from GEMM to GEMM; an
    /// fp32 C is accumulated in place. Only when C overlaps A or B (or the SRAM
    /// grants no DMI) are all three copied first.
    fn compute(&self, g: &GemmDesc, [a, b, c]: [Region; 3]) -> Result<(), Fault> {
        if self.compute_direct(g, [a, b, c])? {
            return Ok(());
        }
        let mut scratch = self.scratch.borrow_mut();
        let Scratch {
            a: av,
            b: bv,
            c: cv,
        } = &mut *scratch;
        for (r, out) in [(&a, &mut *av), (&b, &mut *bv)] {
            self.storage
                .read(&self.sram, r.addr, r.bytes(), |bytes| decode(r, bytes, out))?
                .ok_or(bad_field(r.addr))?;
        }
        if g.accumulate {
            self.storage
                .read(&self.sram, c.addr, c.bytes(), |bytes| decode(&c, bytes, cv))?
                .ok_or(bad_field(c.addr))?;
        } else {
            // Not read: β = 0 overwrites C's elements, the gaps are never written.
            cv.resize(c.elements() as usize, 0.0);
        }
        multiply(g, (av, &a), (bv, &b), (cv, &c))?;
        self.storage.write(&self.sram, c.addr, c.bytes(), |bytes| {
            encode_rows(g, &c, cv, bytes)
        })?
    }

    /// [`compute`](Self::compute) on the SRAM's storage; `false` (nothing done)
    /// when there is no DMI covering the operands or C overlaps A or B.
    fn compute_direct(&self, g: &GemmDesc, [a, b, c]: [Region; 3]) -> Result<bool, Fault> {
        let Some(d) = self.storage.grant(&self.sram).filter(|d| {
            [a, b, c]
                .iter()
                .all(|r| d.covers(r.addr, r.bytes() as usize))
        }) else {
            return Ok(false);
        };
        let span = |r: &Region| (d.offset + (r.addr - d.start) as usize, r.bytes() as usize);
        let mut memory = d.memory.borrow_mut();
        let (c_at, c_len) = span(&c);
        let (below, rest) = memory.split_at_mut(c_at);
        let (c_bytes, above) = rest.split_at_mut(c_len);
        let stored = |r: &Region| -> Option<&[u8]> {
            let (at, len) = span(r);
            if at + len <= c_at {
                below.get(at..at + len)
            } else {
                let from = at.checked_sub(c_at + c_len)?;
                above.get(from..from + len)
            }
        };
        let (Some(a_bytes), Some(b_bytes)) = (stored(&a), stored(&b)) else {
            return Ok(false);
        };
        let mut scratch = self.scratch.borrow_mut();
        let Scratch {
            a: sa,
            b: sb,
            c: sc,
        } = &mut *scratch;
        let af = as_f32(&a, a_bytes, sa).ok_or(bad_field(a.addr))?;
        let bf = as_f32(&b, b_bytes, sb).ok_or(bad_field(b.addr))?;
        let in_place = is_fp32(&c) && bytemuck::try_cast_slice_mut::<u8, f32>(c_bytes).is_ok();
        if in_place {
            let cf =
                bytemuck::try_cast_slice_mut::<u8, f32>(c_bytes).map_err(|_| bad_field(c.addr))?;
            multiply(g, (af, &a), (bf, &b), (cf, &c))?;
        } else {
            if g.accumulate {
                decode(&c, c_bytes, sc).ok_or(bad_field(c.addr))?;
            } else {
                sc.resize(c.elements() as usize, 0.0);
            }
            multiply(g, (af, &a), (bf, &b), (sc, &c))?;
            encode_rows(g, &c, sc, c_bytes)?;
        }
        Ok(true)
    }
}

/// The fault of a GEMM whose operand at `addr` cannot be used as described.
fn bad_field(addr: u64) -> Fault {
    Fault::at(DeviceError::BadField, addr)
}

/// Whether `r` holds fp32 in this machine's byte order (usable in place).
fn is_fp32(r: &Region) -> bool {
    r.format == NumberFormat::Fp32 && cfg!(target_endian = "little")
}

/// The stored bytes of `r` decoded into `out` (int8 as integers).
fn decode(r: &Region, bytes: &[u8], out: &mut Vec<f32>) -> Option<()> {
    treta_numerics::decode_into(r.format, bytes, Some(1.0), out)
}

/// The elements of `r` as f32: its bytes themselves when they are aligned fp32,
/// else decoded into `buf`.
fn as_f32<'x>(r: &Region, bytes: &'x [u8], buf: &'x mut Vec<f32>) -> Option<&'x [f32]> {
    if is_fp32(r) {
        if let Ok(values) = bytemuck::try_cast_slice::<u8, f32>(bytes) {
            return Some(values);
        }
    }
    decode(r, bytes, buf)?;
    Some(buf)
}

/// `C (+)= op(A)·op(B)` on decoded (or in-place) elements laid out as stored.
fn multiply(
    g: &GemmDesc,
    (a, ar): (&[f32], &Region),
    (b, br): (&[f32], &Region),
    (c, cr): (&mut [f32], &Region),
) -> Result<(), Fault> {
    let (m, k, n) = (g.m as usize, g.k as usize, g.n as usize);
    gemm(
        view(a, ar, m, k, g.transpose_a),
        view(b, br, k, n, g.transpose_b),
        c,
        cr.ld as usize,
        g.accumulate,
    )
    .map_err(|_| bad_field(cr.addr))
}

/// C's rows of `values` (laid out as stored) rounded into C's format over its
/// stored bytes `out`, leaving the gaps between rows alone.
fn encode_rows(g: &GemmDesc, c: &Region, values: &[f32], out: &mut [u8]) -> Result<(), Fault> {
    let (m, n) = (g.m as usize, g.n as usize);
    let (ld, eb) = (c.ld as usize, c.format.bytes() as usize);
    for row in 0..m {
        let from = &values[row * ld..row * ld + n];
        let to = &mut out[row * ld * eb..(row * ld + n) * eb];
        treta_numerics::encode_into(c.format, from, Some(1.0), to).ok_or(bad_field(c.addr))?;
    }
    Ok(())
}

/// The `rows × cols` operand stored at `r` in `data`, read transposed if `t`.
fn view<'d>(data: &'d [f32], r: &Region, rows: usize, cols: usize, t: bool) -> MatRef<'d> {
    if t {
        MatRef::transposed(data, rows, cols, r.ld as usize)
    } else {
        MatRef::row_major(data, rows, cols, r.ld as usize)
    }
}

/// Operand buffers of the functional GEMM, kept between GEMMs (large fresh
/// allocations would cost page faults on every GEMM).
#[derive(Default)]
struct Scratch {
    a: Vec<f32>,
    b: Vec<f32>,
    c: Vec<f32>,
}
