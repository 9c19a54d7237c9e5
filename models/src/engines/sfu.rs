//! The special-function unit: Softmax, LayerNorm, GELU and the vector operations
//! of training, forward and backward, on one datapath.
//!
//! **Timing.** `lanes` elements per cycle; an operation makes `passes` over each
//! row (softmax forward 3: max, exp-and-sum, normalize; softmax backward 2: the
//! row's dot product, then the elementwise pass; LayerNorm forward 3: mean,
//! variance, normalize; LayerNorm backward 2: its two row reductions (and the
//! column sums of dγ, dβ) in one pass, then dX; GELU and vector operations 1). A
//! descriptor of `rows` rows of `cols` elements takes
//! `rows × passes × ⌈cols / lanes⌉ + pipeline_depth` cycles ([`sfu_cycles`]): rows
//! follow each other through the pipeline, which fills once. Rows of at most
//! `row_buffer` elements are read from SRAM once and kept for the later passes;
//! longer rows are read again in every pass. Rows go in rounds of
//! [`ROWS_PER_ROUND`], each fetching its rows' operands from the SRAM banks: a
//! round ends when its compute or its SRAM traffic does, so a starved unit stalls.
//!
//! **Arithmetic** (functional runs): `treta_numerics::sfu` in the configured
//! [`SfuMath`] — exact fp32, or the hardware approximations.

use super::footprint::{self, Fields, Span};
use super::{sram_accesses, start_engine, wrong_engine, Storage};
use crate::job::{EnginePort, Fault, Job};
use crate::EngineStats;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use treta_abi::field::{sfu as sfu_field, Field};
use treta_abi::{Command, DeviceError, NumberFormat, SfuDesc, SfuOp, VectorOp};
use treta_kernel::tlm::{Command as TlmCommand, InitiatorSocket};
use treta_kernel::{Clock, Ctx};
use treta_numerics::sfu::{
    cross_entropy_bwd_row, gelu_bwd, gelu_fwd, layernorm_bwd_row, layernorm_fwd_row, logsumexp_row,
    mse_row, softmax_bwd_row, softmax_causal_fwd_row, softmax_fwd_row, Exact, Hardware,
    LayerNormStats, LseState, Math, VocabTile,
};

/// Rows per round of SRAM traffic.
pub const ROWS_PER_ROUND: u64 = 16;

/// Which arithmetic the unit does in functional runs.
#[derive(Clone, Debug, PartialEq)]
pub enum SfuMath {
    /// fp32, as JAX.
    Exact,
    /// The hardware approximations.
    Hardware(Hardware),
}

/// The SFU's parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct SfuParams {
    /// Elements per cycle.
    pub lanes: u32,
    /// Pipeline depth [cycles].
    pub pipeline_depth: u32,
    /// Elements of a row the unit keeps between passes.
    pub row_buffer: u32,
    /// Arithmetic.
    pub math: SfuMath,
}

/// Passes an operation makes over each row.
pub fn passes(op: SfuOp) -> u64 {
    match op {
        SfuOp::SoftmaxFwd | SfuOp::SoftmaxCausalFwd | SfuOp::LayerNormFwd => 3,
        SfuOp::SoftmaxBwd | SfuOp::LayerNormBwd | SfuOp::Vector(VectorOp::LogSumExp) => 2,
        SfuOp::GeluFwd | SfuOp::GeluBwd | SfuOp::Vector(_) => 1,
    }
}

/// Cycles of `op` over `rows` rows of `cols` elements, without SRAM stalls:
/// `rows × passes × ⌈cols / lanes⌉ + pipeline_depth` (an upper bound for the
/// causal softmax, whose rows cost [`row_cycles`] each).
pub fn sfu_cycles(op: SfuOp, rows: u64, cols: u64, lanes: u32, pipeline_depth: u32) -> u64 {
    rows * passes(op) * cols.div_ceil(u64::from(lanes.max(1))) + u64::from(pipeline_depth)
}

/// Compute cycles of rows `first .. first + rows` of `s` on `lanes` lanes, the
/// pipeline fill excluded. A causal softmax row of query i makes its max and
/// exp passes over the i + 1 unmasked keys and its normalizing pass (writing
/// the zeros too) over all of them; every other row costs
/// `passes × ⌈cols / lanes⌉`.
pub fn row_cycles(s: &SfuDesc, first: u64, rows: u64, lanes: u32) -> u64 {
    let lanes = u64::from(lanes.max(1));
    let cols = u64::from(s.cols);
    let full = cols.div_ceil(lanes);
    if s.op != SfuOp::SoftmaxCausalFwd {
        return rows * passes(s.op) * full;
    }
    let q0 = causal_offset(s);
    (first..first + rows)
        .map(|r| 2 * ((q0 + r) % cols.max(1) + 1).div_ceil(lanes) + full)
        .sum()
}

/// The first row's query index of a causal softmax (scalar 1, an integer).
fn causal_offset(s: &SfuDesc) -> u64 {
    s.scalars[1].max(0.0) as u64
}

/// One SFU descriptor executed, for reports.
#[derive(Clone, Debug, PartialEq)]
pub struct SfuRecord {
    /// Descriptor id.
    pub id: u32,
    /// The operation.
    pub op: SfuOp,
    /// Rows.
    pub rows: u32,
    /// Elements per row.
    pub cols: u32,
    /// Cycles it took, stalls included.
    pub cycles: u64,
    /// Cycles spent waiting for SRAM beyond the compute.
    pub stall_cycles: u64,
}

/// The operand slots of a descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Src,
    Dst,
    Aux0,
    Aux1,
    Aux2,
    Aux3,
}

impl Slot {
    fn index(self) -> usize {
        self as usize
    }

    /// The descriptor field of its address.
    fn field(self) -> Field {
        match self {
            Slot::Src => sfu_field::SRC_ADDR,
            Slot::Dst => sfu_field::DST_ADDR,
            Slot::Aux0 => sfu_field::AUX0_ADDR,
            Slot::Aux1 => sfu_field::AUX1_ADDR,
            Slot::Aux2 => sfu_field::AUX2_ADDR,
            Slot::Aux3 => sfu_field::AUX3_ADDR,
        }
    }

    fn addr(self, s: &SfuDesc) -> u64 {
        u64::from(match self {
            Slot::Src => s.src_addr,
            Slot::Dst => s.dst_addr,
            Slot::Aux0 => s.aux0_addr,
            Slot::Aux1 => s.aux1_addr,
            Slot::Aux2 => s.aux2_addr,
            Slot::Aux3 => s.aux3_addr,
        })
    }
}

/// How many elements an operand has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// rows × cols: streamed row by row.
    Rows,
    /// `n` values per row (LayerNorm's mean and rstd; a cross-entropy's
    /// target index or running state): rows × n, streamed.
    PerRow(u64),
    /// cols (γ, β, a bias, column sums): read or written once.
    Vector,
    /// 2 × cols (dγ then dβ): once.
    Pair,
    /// One value (a loss): once.
    Scalar,
}

/// One operand of an operation.
#[derive(Clone, Copy, Debug)]
struct Operand {
    slot: Slot,
    shape: Shape,
    /// In the descriptor's format (else fp32).
    tensor: bool,
    /// int32 indices (a cross-entropy's targets), not numbers.
    indices: bool,
    read: bool,
    write: bool,
}

impl Operand {
    fn elements(&self, s: &SfuDesc) -> u64 {
        let (rows, cols) = (u64::from(s.rows), u64::from(s.cols));
        match self.shape {
            Shape::Rows => rows * cols,
            Shape::PerRow(n) => rows * n,
            Shape::Vector => cols,
            Shape::Pair => 2 * cols,
            Shape::Scalar => 1,
        }
    }

    fn format(&self, s: &SfuDesc) -> NumberFormat {
        if self.tensor {
            s.format
        } else {
            NumberFormat::Fp32
        }
    }

    fn bytes(&self, s: &SfuDesc) -> u64 {
        self.elements(s) * u64::from(self.format(s).bytes())
    }

    /// Where the operand lies in SRAM, and the fields that place and size it.
    fn span(&self, s: &SfuDesc) -> (Span, Fields) {
        let (rows, cols) = (u64::from(s.rows), u64::from(s.cols));
        let eb = u64::from(self.format(s).bytes());
        let addr = self.slot.addr(s);
        let (span, rows_field) = match self.shape {
            Shape::Rows => (
                Span::rows(addr, rows, cols * eb, cols * eb),
                sfu_field::ROWS,
            ),
            Shape::PerRow(n) => (Span::rows(addr, rows, n * eb, n * eb), sfu_field::ROWS),
            Shape::Vector => (Span::bytes(addr, cols * eb), sfu_field::COLS),
            Shape::Pair => (Span::rows(addr, 2, cols * eb, cols * eb), sfu_field::COLS),
            Shape::Scalar => (Span::bytes(addr, eb), sfu_field::COLS),
        };
        let row = if matches!(self.shape, Shape::PerRow(_)) {
            sfu_field::ROWS
        } else {
            sfu_field::COLS
        };
        (
            span,
            Fields::matrix(self.slot.field(), rows_field, row, rows_field),
        )
    }

    fn streamed(&self) -> bool {
        matches!(self.shape, Shape::Rows | Shape::PerRow(_))
    }
}

/// The operands of `s`, inputs before outputs.
fn operands(s: &SfuDesc) -> Vec<Operand> {
    use Shape::*;
    use Slot::*;
    let op = |slot, shape, tensor, read, write| Operand {
        slot,
        shape,
        tensor,
        indices: false,
        read,
        write,
    };
    let targets = Operand {
        indices: true,
        ..op(Aux0, PerRow(1), false, true, false)
    };
    let input = |slot| op(slot, Rows, true, true, false);
    let output = |slot| op(slot, Rows, true, false, true);
    let fp32_rows = |slot, read, write| op(slot, Rows, false, read, write);
    let acc = s.accumulate;
    match s.op {
        SfuOp::SoftmaxFwd | SfuOp::SoftmaxCausalFwd | SfuOp::GeluFwd => {
            vec![input(Src), output(Dst)]
        }
        SfuOp::SoftmaxBwd | SfuOp::GeluBwd => vec![input(Src), input(Aux0), output(Dst)],
        SfuOp::LayerNormFwd => vec![
            input(Src),
            op(Aux0, Vector, false, true, false),
            op(Aux1, Vector, false, true, false),
            output(Dst),
            op(Aux2, PerRow(2), false, false, true),
        ],
        SfuOp::LayerNormBwd => vec![
            input(Src),
            op(Aux0, Vector, false, true, false),
            input(Aux1),
            op(Aux2, PerRow(2), false, true, false),
            output(Dst),
            op(Aux3, Pair, false, acc, true),
        ],
        SfuOp::Vector(v) => match v {
            VectorOp::Add | VectorOp::Sub | VectorOp::Mul => {
                vec![input(Src), input(Aux0), output(Dst)]
            }
            VectorOp::Scale | VectorOp::Copy => vec![input(Src), output(Dst)],
            VectorOp::AddBias => vec![input(Src), op(Aux0, Vector, true, true, false), output(Dst)],
            VectorOp::ColumnSum => vec![input(Src), op(Dst, Vector, false, acc, true)],
            VectorOp::SgdUpdate => vec![
                fp32_rows(Src, true, false),
                input(Aux0),
                fp32_rows(Dst, false, true),
            ],
            VectorOp::MseLoss => vec![
                input(Src),
                input(Aux0),
                output(Dst),
                op(Aux1, Scalar, false, acc, true),
            ],
            VectorOp::SgdMomentum => vec![
                fp32_rows(Src, true, false),
                input(Aux0),
                fp32_rows(Aux1, true, true),
                fp32_rows(Dst, false, true),
            ],
            VectorOp::Adam => vec![
                fp32_rows(Src, true, false),
                input(Aux0),
                fp32_rows(Aux1, true, true),
                fp32_rows(Aux2, true, true),
                fp32_rows(Dst, false, true),
            ],
            VectorOp::LogSumExp => {
                let (fresh, last) = (s.scalars[2] != 0.0, s.scalars[3] != 0.0);
                let mut ops = vec![
                    input(Src),
                    targets,
                    op(Aux1, PerRow(3), false, !fresh, true),
                ];
                if last {
                    ops.push(op(Aux2, Scalar, false, acc, true));
                }
                ops
            }
            VectorOp::CrossEntropyBwd => vec![
                input(Src),
                targets,
                op(Aux1, PerRow(3), false, true, false),
                output(Dst),
            ],
        },
    }
}

/// The special-function unit.
pub struct Sfu {
    /// Jobs from the command processor.
    pub port: EnginePort,
    /// Operand and result traffic.
    pub sram: InitiatorSocket,
    params: SfuParams,
    clock: Clock,
    functional: bool,
    stats: Rc<Cell<EngineStats>>,
    records: RefCell<Vec<SfuRecord>>,
    storage: Storage,
}

impl Sfu {
    /// An SFU of `params` serving `port`; with `functional` it also computes. Its
    /// process starts with the simulation.
    pub fn new(
        ctx: &Ctx,
        name: &str,
        port: EnginePort,
        params: SfuParams,
        clock: Clock,
        functional: bool,
    ) -> Rc<Sfu> {
        let sfu = Rc::new(Sfu {
            port: port.clone(),
            sram: InitiatorSocket::new(&format!("{name}.sram")),
            params,
            clock,
            functional,
            stats: Rc::default(),
            records: RefCell::new(Vec::new()),
            storage: Storage::default(),
        });
        start_engine(ctx, name, port, sfu.stats.clone(), sfu.clone(), Sfu::handle);
        sfu
    }

    /// Busy time and commands so far.
    pub fn stats(&self) -> EngineStats {
        self.stats.get()
    }

    /// Every operation executed, in order.
    pub fn records(&self) -> Vec<SfuRecord> {
        self.records.borrow().clone()
    }

    /// `f` of the records so far, without copying them (for probes that read
    /// the new ones as the simulation runs).
    pub fn with_records<R>(&self, f: impl FnOnce(&[SfuRecord]) -> R) -> R {
        f(&self.records.borrow())
    }

    async fn handle(self: Rc<Self>, ctx: Ctx, job: Job) -> (Job, Result<(), Fault>) {
        let result = match &job.desc.command {
            Command::Sfu(s) => self.run(&ctx, job.desc.id, s).await,
            _ => return wrong_engine(job),
        };
        (job, result)
    }

    /// The operands of `s`, each checked to lie wholly inside the SRAM behind
    /// `sram` before any time passes (then their sizes fit in 64 bits).
    fn check(sram: &InitiatorSocket, s: &SfuDesc) -> Result<Vec<Operand>, Fault> {
        let at = u64::from(s.src_addr);
        footprint::nonzero(s.rows, sfu_field::ROWS, at)?;
        footprint::nonzero(s.cols, sfu_field::COLS, at)?;
        let ops = operands(s);
        for o in &ops {
            let (span, fields) = o.span(s);
            footprint::check_in(sram, &span, &fields, DeviceError::SramOverflow)?;
        }
        Ok(ops)
    }

    async fn run(&self, ctx: &Ctx, id: u32, s: &SfuDesc) -> Result<(), Fault> {
        let ops = Self::check(&self.sram, s)?;
        let clock = self.clock;
        let first = clock.cycle_at(clock.next_edge(ctx.now()));
        let mut cycle = first;
        let mut stall = 0;
        let (rows, cols) = (u64::from(s.rows), u64::from(s.cols));
        let rereads = if cols <= u64::from(self.params.row_buffer) {
            1
        } else {
            passes(s.op)
        };
        let mut row = 0;
        while row < rows {
            let here = ROWS_PER_ROUND.min(rows - row);
            let last_round = row + here == rows;
            let mut accesses = Vec::new();
            for o in &ops {
                let (addr, bytes) = (o.slot.addr(s), o.bytes(s));
                if o.streamed() {
                    // This round's rows: read in every pass unless they fit the row
                    // buffer, written once.
                    let per_row = bytes / rows;
                    let rows_here = (TlmCommand::Read, addr + row * per_row, here * per_row);
                    if o.read {
                        accesses.extend((0..rereads).map(|_| rows_here));
                    }
                    if o.write {
                        accesses.push((TlmCommand::Write, rows_here.1, rows_here.2));
                    }
                } else {
                    // Vectors: read before the first row, written after the last.
                    if o.read && row == 0 {
                        accesses.push((TlmCommand::Read, addr, bytes));
                    }
                    if o.write && last_round {
                        accesses.push((TlmCommand::Write, addr, bytes));
                    }
                }
            }
            let start = ctx.now();
            let fetch = sram_accesses(&self.sram, &accesses).await?;
            let fetched = clock.cycle_at(clock.next_edge(start + fetch));
            let fill = if row == 0 {
                u64::from(self.params.pipeline_depth)
            } else {
                0
            };
            let computed = cycle + row_cycles(s, row, here, self.params.lanes) + fill;
            let end = computed.max(fetched);
            stall += end - computed;
            ctx.wait(clock.cycle_start(end).saturating_sub(ctx.now()))
                .await;
            cycle = end;
            row += here;
        }
        if self.functional {
            self.compute(s, &ops)?;
        }
        self.records.borrow_mut().push(SfuRecord {
            id,
            op: s.op,
            rows: s.rows,
            cols: s.cols,
            cycles: cycle - first,
            stall_cycles: stall,
        });
        Ok(())
    }

    /// The arithmetic: read the inputs (and accumulated outputs), compute row by
    /// row, write the outputs.
    fn compute(&self, s: &SfuDesc, ops: &[Operand]) -> Result<(), Fault> {
        let mut values: [Vec<f32>; 6] = Default::default();
        for o in ops {
            let addr = o.slot.addr(s);
            let bad = Fault::at(DeviceError::BadField, addr);
            values[o.slot.index()] = if o.read && o.indices {
                // Exact as f32 below 2^24: the lowering keeps vocabularies smaller.
                self.storage.read(&self.sram, addr, o.bytes(s), |b| {
                    b.chunks_exact(4)
                        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32)
                        .collect()
                })?
            } else if o.read {
                let format = o.format(s);
                self.storage
                    .read(&self.sram, addr, o.bytes(s), |b| {
                        treta_numerics::decode(format, b, Some(1.0))
                    })?
                    .ok_or(bad)?
            } else {
                vec![0.0; o.elements(s) as usize]
            };
        }
        match &self.params.math {
            SfuMath::Exact => apply(s, &mut values, &Exact),
            SfuMath::Hardware(h) => apply(s, &mut values, h),
        }
        for o in ops.iter().filter(|o| o.write) {
            let (addr, format) = (o.slot.addr(s), o.format(s));
            let v = &values[o.slot.index()];
            self.storage
                .write(&self.sram, addr, o.bytes(s), |out| {
                    treta_numerics::encode_into(format, v, Some(1.0), out)
                })?
                .ok_or(Fault::at(DeviceError::BadField, addr))?;
        }
        Ok(())
    }
}

/// Computes `s` on the operand values (indexed by slot), in place.
fn apply(s: &SfuDesc, v: &mut [Vec<f32>; 6], m: &impl Math) {
    let cols = s.cols as usize;
    let [src, dst, aux0, aux1, aux2, aux3] = v;
    let [s0, s1, s2, s3] = s.scalars;
    match s.op {
        SfuOp::SoftmaxFwd => {
            for (x, out) in src.chunks(cols).zip(dst.chunks_mut(cols)) {
                softmax_fwd_row(x, s0, out, m);
            }
        }
        SfuOp::SoftmaxCausalFwd => {
            let q0 = causal_offset(s) as usize;
            for (r, (x, out)) in src.chunks(cols).zip(dst.chunks_mut(cols)).enumerate() {
                softmax_causal_fwd_row(x, s0, (q0 + r) % cols.max(1), out, m);
            }
        }
        SfuOp::SoftmaxBwd => {
            for ((dp, p), out) in src
                .chunks(cols)
                .zip(aux0.chunks(cols))
                .zip(dst.chunks_mut(cols))
            {
                softmax_bwd_row(p, dp, out);
            }
        }
        SfuOp::LayerNormFwd => {
            for ((x, out), st) in src
                .chunks(cols)
                .zip(dst.chunks_mut(cols))
                .zip(aux2.chunks_mut(2))
            {
                let stats = layernorm_fwd_row(x, aux0, aux1, s0, out, m);
                st.copy_from_slice(&[stats.mean, stats.rstd]);
            }
        }
        SfuOp::LayerNormBwd => {
            let (dgamma, dbeta) = aux3.split_at_mut(cols);
            for (((dy, x), st), out) in src
                .chunks(cols)
                .zip(aux1.chunks(cols))
                .zip(aux2.chunks(2))
                .zip(dst.chunks_mut(cols))
            {
                let stats = LayerNormStats {
                    mean: st[0],
                    rstd: st[1],
                };
                layernorm_bwd_row(dy, x, aux0, stats, out, dgamma, dbeta, m);
            }
        }
        SfuOp::GeluFwd => {
            for (o, &x) in dst.iter_mut().zip(src.iter()) {
                *o = gelu_fwd(x, m);
            }
        }
        SfuOp::GeluBwd => {
            for ((o, &dy), &x) in dst.iter_mut().zip(src.iter()).zip(aux0.iter()) {
                *o = gelu_bwd(x, dy, m);
            }
        }
        SfuOp::Vector(op) => {
            let b = |i: usize| aux0.get(i).copied().unwrap_or(0.0);
            match op {
                VectorOp::Add => elementwise(dst, src, |i, a| a + b(i)),
                VectorOp::Sub => elementwise(dst, src, |i, a| a - b(i)),
                VectorOp::Mul => elementwise(dst, src, |i, a| a * b(i)),
                VectorOp::Scale => elementwise(dst, src, |_, a| a * s0),
                // aux0 is one row, repeated over the rows.
                VectorOp::AddBias => elementwise(dst, src, |i, a| a + b(i % cols)),
                VectorOp::Copy => elementwise(dst, src, |_, a| a),
                // Two roundings, no fused multiply-add: w − f32(lr·g).
                VectorOp::SgdUpdate => elementwise(dst, src, |i, w| w - s0 * b(i)),
                VectorOp::ColumnSum => {
                    for row in src.chunks(cols) {
                        dst.iter_mut().zip(row).for_each(|(d, &x)| *d += x);
                    }
                }
                VectorOp::MseLoss => {
                    let loss = mse_row(src, aux0, s0, dst);
                    aux1[0] += loss;
                }
                VectorOp::SgdMomentum => {
                    for (i, (o, vel)) in dst.iter_mut().zip(aux1.iter_mut()).enumerate() {
                        *vel = s1 * *vel + b(i);
                        *o = src[i] - s0 * *vel;
                    }
                }
                VectorOp::Adam => {
                    for (i, ((o, mo), ve)) in dst
                        .iter_mut()
                        .zip(aux1.iter_mut())
                        .zip(aux2.iter_mut())
                        .enumerate()
                    {
                        let g = b(i);
                        *mo = s1 * *mo + (1.0 - s1) * g;
                        *ve = s2 * *ve + (1.0 - s2) * g * g;
                        // √v as the reciprocal of rsqrt: the unit's two primitives.
                        *o = src[i] - s0 * m.div(*mo, m.recip(m.rsqrt(*ve)) + s3);
                    }
                }
                VectorOp::LogSumExp => {
                    let (fresh, last) = (s2 != 0.0, s3 != 0.0);
                    let mut loss = 0.0f64;
                    for ((x, &target), st) in
                        src.chunks(cols).zip(aux0.iter()).zip(aux1.chunks_mut(3))
                    {
                        let mut state = if fresh {
                            LseState::EMPTY
                        } else {
                            LseState {
                                max: st[0],
                                sum: st[1],
                                target_logit: st[2],
                            }
                        };
                        let tile = VocabTile {
                            first: s1.max(0.0) as usize,
                            target: target as i64,
                        };
                        logsumexp_row(x, tile, &mut state, m);
                        st.copy_from_slice(&[state.max, state.sum, state.target_logit]);
                        if last {
                            loss += f64::from(state.loss(m));
                        }
                    }
                    if last {
                        aux2[0] += s0 * loss as f32;
                    }
                }
                VectorOp::CrossEntropyBwd => {
                    for (((x, &target), st), out) in src
                        .chunks(cols)
                        .zip(aux0.iter())
                        .zip(aux1.chunks(3))
                        .zip(dst.chunks_mut(cols))
                    {
                        let state = LseState {
                            max: st[0],
                            sum: st[1],
                            target_logit: st[2],
                        };
                        let tile = VocabTile {
                            first: s1.max(0.0) as usize,
                            target: target as i64,
                        };
                        cross_entropy_bwd_row(x, tile, &state, s0, out, m);
                    }
                }
            }
        }
    }
}

/// `dst[i] = f(i, src[i])`.
fn elementwise(dst: &mut [f32], src: &[f32], f: impl Fn(usize, f32) -> f32) {
    for (i, (o, &a)) in dst.iter_mut().zip(src).enumerate() {
        *o = f(i, a);
    }
}
