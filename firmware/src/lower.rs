//! Lowering: workloads to command streams that fit the SRAM.
//!
//! [`lower_gemm`] tiles one GEMM C = op(A)·op(B) over M, N and (when needed) K so
//! that an A tile, a B tile and the fp32 C tile fit the [`SramPlan`] (one budget
//! shared by all three, or a named buffer each), and emits per
//! tile `DMA_LOAD A`, `DMA_LOAD B`, `GEMM` (accumulating over K tiles) and, after the
//! last K tile, `DMA_STORE C`, in one queue. This first lowering does not double
//! buffer (the firmware issue does); its decisions are returned as a [`Tiling`] so
//! reports can show them.

use treta_abi::{Command, Descriptor, DmaDesc, GemmDesc, NumberFormat, SfuDesc, SfuOp, VectorOp};

/// An SGD update fused into a weight-gradient GEMM's epilogue: as each tile of
/// C = dW is complete in SRAM, the matching tile of the fp32 master weights W
/// (shaped like C) is loaded, updated by the SFU (W − lr·dW) and stored back —
/// so dW need not go to DRAM and come back for a separate update.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UpdateEpilogue {
    /// DRAM address of W (fp32, m×n).
    pub w: u64,
    /// Elements between W's stored rows (0 = n).
    pub ldw: u64,
    /// Also store the updated tile here, converted: (address, ld, format) of
    /// the weights' 8-bit copy.
    pub copy: Option<(u64, u64, NumberFormat)>,
    /// Learning rate.
    pub lr: f32,
    /// Still store dW to C (for runs that read gradients back).
    pub keep_gradient: bool,
}

/// A GEMM to lower: C[m×n] = op(A)[m×k]·op(B)[k×n] with operands in DRAM.
#[derive(Clone, Debug, PartialEq)]
pub struct GemmJob {
    /// Rows of C.
    pub m: u32,
    /// Reduction length.
    pub k: u32,
    /// Columns of C.
    pub n: u32,
    /// A stored transposed (k×m).
    pub transpose_a: bool,
    /// B stored transposed (n×k).
    pub transpose_b: bool,
    /// Formats of A and of B in DRAM (fp32 tensors, or 8-bit copies kept there).
    pub formats: [NumberFormat; 2],
    /// Formats of A and of B in SRAM, for the GEMM core (the DMA converts on the
    /// fly; mixed precision keeps fp32 in DRAM and multiplies in 8 bits, with a
    /// format per tensor class).
    pub compute_formats: [NumberFormat; 2],
    /// DRAM address of A.
    pub a: u64,
    /// DRAM address of B.
    pub b: u64,
    /// DRAM address of C (fp32).
    pub c: u64,
    /// Elements between stored rows of A, B and C in DRAM (0 = packed): views of
    /// wider tensors, e.g. one attention head's columns.
    pub ld: [u64; 3],
    /// An SGD update of weights shaped like C, fused after each C tile.
    pub update: Option<UpdateEpilogue>,
}

impl GemmJob {
    /// C = A·B, all packed in DRAM, A and B in `format` throughout.
    pub fn packed(m: u32, k: u32, n: u32, [a, b, c]: [u64; 3], format: NumberFormat) -> GemmJob {
        GemmJob {
            m,
            k,
            n,
            transpose_a: false,
            transpose_b: false,
            formats: [format; 2],
            compute_formats: [format; 2],
            a,
            b,
            c,
            ld: [0; 3],
            update: None,
        }
    }

    /// fp32 tiles of C's size that a tile needs in SRAM: C, and with an update
    /// epilogue the W tile and the updated one.
    fn c_tiles(&self) -> u64 {
        if self.update.is_some() {
            3
        } else {
            1
        }
    }
}

/// The tile sizes chosen for a GEMM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tiling {
    /// Rows of C per tile.
    pub tm: u32,
    /// Reduction slice per tile.
    pub tk: u32,
    /// Columns of C per tile.
    pub tn: u32,
    /// Tiles (M tiles × N tiles × K tiles).
    pub tiles: u32,
    /// SRAM addresses of the A, B and C tiles (of the first buffer set when
    /// double-buffered).
    pub sram: [u32; 3],
    /// Pipelined with the whole of op(A) loaded once and kept in SRAM.
    pub resident_a: bool,
}

/// Why a GEMM cannot be lowered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LowerError(pub String);

impl std::fmt::Display for LowerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LowerError {}

const ALIGN: u64 = 64;

fn align(x: u64) -> u64 {
    x.div_ceil(ALIGN) * ALIGN
}

/// A region of SRAM: `bytes` from `base`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// First address.
    pub base: u32,
    /// Capacity [bytes].
    pub bytes: u64,
}

/// Where a GEMM's tiles may live in SRAM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SramPlan {
    /// One region for all: A, then B, then C, sharing its bytes.
    Unified(Region),
    /// A, B and C each in a region of its own (the `inputs`, `weights` and
    /// `outputs` buffers), each within its own bytes.
    Split {
        /// For A tiles.
        a: Region,
        /// For B tiles.
        b: Region,
        /// For C tiles.
        c: Region,
    },
}

impl SramPlan {
    /// Whether tiles of `a`, `b` and `c` aligned bytes fit.
    fn fits(&self, [a, b, c]: [u64; 3]) -> bool {
        match self {
            SramPlan::Unified(r) => a + b + c <= r.bytes,
            SramPlan::Split {
                a: ra,
                b: rb,
                c: rc,
            } => a <= ra.bytes && b <= rb.bytes && c <= rc.bytes,
        }
    }

    /// The SRAM addresses of the A, B and C tiles, given the aligned sizes of the
    /// A and B tiles (they fit: see [`SramPlan::fits`]).
    fn place(&self, a: u64, b: u64) -> [u32; 3] {
        match self {
            SramPlan::Unified(r) => {
                let base = u64::from(r.base);
                [base, base + a, base + a + b].map(|x| u32::try_from(x).unwrap_or(u32::MAX))
            }
            SramPlan::Split { a, b, c } => [a.base, b.base, c.base],
        }
    }

    fn describe(&self) -> String {
        match self {
            SramPlan::Unified(r) => format!("the {}-byte SRAM budget", r.bytes),
            SramPlan::Split { a, b, c } => format!(
                "the SRAM buffers (inputs {}, weights {}, outputs {} bytes)",
                a.bytes, b.bytes, c.bytes
            ),
        }
    }
}

/// Bytes of SRAM a tile needs for A, B (operand format) and C (fp32), each aligned.
fn footprint(tm: u64, tk: u64, tn: u64, eb: u64) -> [u64; 3] {
    [align(tm * tk * eb), align(tk * tn * eb), align(tm * tn * 4)]
}

/// [`footprint`] with `c_tiles` fp32 tiles of C's size.
fn footprint_with(tm: u64, tk: u64, tn: u64, eb: u64, c_tiles: u64) -> [u64; 3] {
    let [a, b, c] = footprint(tm, tk, tn, eb);
    [a, b, c * c_tiles]
}

/// Bytes per element of the wider operand format in SRAM (both operands' tiles
/// are sized with it).
fn operand_bytes(job: &GemmJob) -> u64 {
    u64::from(
        job.compute_formats
            .iter()
            .map(|f| f.bytes())
            .max()
            .unwrap_or(4),
    )
}

/// Chooses tiles for `job` that fit `plan`: whole dimensions when they fit, else
/// halving the largest of N, M, K (keeping multiples of 16 where possible).
pub fn choose_tiling(job: &GemmJob, plan: &SramPlan) -> Result<Tiling, LowerError> {
    let eb = operand_bytes(job);
    let (mut tm, mut tk, mut tn) = (u64::from(job.m), u64::from(job.k), u64::from(job.n));
    let c_tiles = job.c_tiles();
    while !plan.fits(footprint_with(tm, tk, tn, eb, c_tiles)) {
        let largest = tm.max(tk).max(tn);
        if largest <= 1 {
            return Err(LowerError(format!(
                "a 1x1x1 tile needs {} bytes, more than {}",
                footprint_with(1, 1, 1, eb, c_tiles).iter().sum::<u64>(),
                plan.describe()
            )));
        }
        let half = |x: u64| {
            if x > 16 {
                (x / 2).div_ceil(16) * 16
            } else {
                x.div_ceil(2)
            }
        };
        if tn == largest {
            tn = half(tn);
        } else if tm == largest {
            tm = half(tm);
        } else {
            tk = half(tk);
        }
    }
    let tiles = u64::from(job.m).div_ceil(tm)
        * u64::from(job.n).div_ceil(tn)
        * u64::from(job.k).div_ceil(tk);
    Ok(Tiling {
        tm: tm as u32,
        tk: tk as u32,
        tn: tn as u32,
        tiles: u32::try_from(tiles).map_err(|_| LowerError("too many tiles".into()))?,
        sram: {
            let [a, b, _] = footprint(tm, tk, tn, eb);
            plan.place(a, b)
        },
        resident_a: false,
    })
}

/// A 2D DMA, packed in SRAM: `rows` rows of `row_bytes` (on the source side),
/// `stride` bytes apart in DRAM, converted from `formats.0` to `formats.1`.
pub(crate) fn dma(
    load: bool,
    dram: u64,
    sram: u32,
    rows: u64,
    row_bytes: u64,
    stride: u64,
    formats: (NumberFormat, NumberFormat),
) -> Command {
    let d = DmaDesc {
        dram_addr: dram,
        sram_addr: sram,
        rows: rows as u32,
        row_bytes: row_bytes as u32,
        sram_stride: 0,
        dram_stride: stride,
        planes: 1,
        sram_plane_stride: 0,
        dram_plane_stride: 0,
        transpose: false,
        src_format: formats.0,
        dst_format: formats.1,
    };
    if load {
        Command::DmaLoad(d)
    } else {
        Command::DmaStore(d)
    }
}

/// An operand as stored in DRAM: `ld` elements of `eb` bytes between stored rows;
/// `transposed` when its stored rows are op()'s columns.
struct Stored {
    base: u64,
    ld: u64,
    eb: u64,
    transposed: bool,
}

impl Stored {
    /// The load of op()'s rows `r0..r0+rows`, columns `c0..c0+cols` into SRAM at
    /// `sram`: of the stored rows, or — transposed — of the stored columns.
    fn tile(
        &self,
        (r0, rows): (u64, u64),
        (c0, cols): (u64, u64),
        sram: u32,
        formats: (NumberFormat, NumberFormat),
    ) -> Command {
        let (first, count, len) = if self.transposed {
            (c0 * self.ld + r0, cols, rows)
        } else {
            (r0 * self.ld + c0, rows, cols)
        };
        let (base, eb) = (self.base, self.eb);
        dma(
            true,
            base + first * eb,
            sram,
            count,
            len * eb,
            self.ld * eb,
            formats,
        )
    }
}

/// Lowers `job` into descriptors with ids `id_base`, `id_base + 1`, ...; its tiles
/// live where `plan` says.
pub fn lower_gemm(
    job: &GemmJob,
    plan: &SramPlan,
    id_base: u32,
) -> Result<(Vec<Descriptor>, Tiling), LowerError> {
    let t = choose_tiling(job, plan)?;
    Ok((lower_tiles(job, &t, true, id_base), t))
}

/// One output tile of a lowered GEMM: its K steps, then what follows once its
/// C tile is complete.
struct OutputTile {
    /// Per K step: the A load (unless the previous step's A is reused), the B
    /// load and the GEMM.
    steps: Vec<(Option<Command>, Command, Command)>,
    /// The C store and the update epilogue, in order; they address SRAM in the
    /// C tile's region only.
    finish: Vec<Command>,
}

/// The output tiles of `job` in the tiles `t` (at `t.sram`), M then N, each
/// with its K steps. With `reuse_a`, an A tile is loaded only when it differs
/// from the previous step's (a whole-K A tile serves every N tile of its rows);
/// without, every step loads its A.
fn output_tiles(job: &GemmJob, t: &Tiling, reuse_a: bool) -> Vec<OutputTile> {
    let [da_f, db_f] = job.formats;
    let (da, db) = (u64::from(da_f.bytes()), u64::from(db_f.bytes()));
    let [fa, fb] = job.compute_formats;
    let (conv_a, conv_b) = ((da_f, fa), (db_f, fb));
    let (m, k, n) = (u64::from(job.m), u64::from(job.k), u64::from(job.n));
    let packed = |ld: u64, row: u64| if ld == 0 { row } else { ld };
    let a = Stored {
        base: job.a,
        ld: packed(job.ld[0], if job.transpose_a { m } else { k }),
        eb: da,
        transposed: job.transpose_a,
    };
    let b = Stored {
        base: job.b,
        ld: packed(job.ld[1], if job.transpose_b { k } else { n }),
        eb: db,
        transposed: job.transpose_b,
    };
    let ldc = packed(job.ld[2], n);
    let (tm, tk, tn) = (u64::from(t.tm), u64::from(t.tk), u64::from(t.tn));
    let [a_sram, b_sram, c_sram] = t.sram;
    let fp32 = (NumberFormat::Fp32, NumberFormat::Fp32);
    let mut loaded_a = None;
    let mut out = Vec::new();
    for i in (0..m).step_by(tm as usize) {
        let rm = tm.min(m - i);
        for j in (0..n).step_by(tn as usize) {
            let rn = tn.min(n - j);
            let mut steps = Vec::new();
            for (kt, p) in (0..k).step_by(tk as usize).enumerate() {
                let rk = tk.min(k - p);
                // A tile: rows i.., cols p.. of op(A); B tile: rows p.., cols j.. of op(B).
                let a_load = (!reuse_a || loaded_a != Some((i, p)))
                    .then(|| a.tile((i, rm), (p, rk), a_sram, conv_a));
                loaded_a = Some((i, p));
                let b_load = b.tile((p, rk), (j, rn), b_sram, conv_b);
                let gemm = Command::Gemm(GemmDesc {
                    transpose_a: job.transpose_a,
                    transpose_b: job.transpose_b,
                    accumulate: kt > 0,
                    b_format: fb,
                    ..GemmDesc::packed(
                        rm as u32,
                        rk as u32,
                        rn as u32,
                        [a_sram, b_sram, c_sram],
                        fa,
                    )
                });
                steps.push((a_load, b_load, gemm));
            }
            let mut finish = Vec::new();
            if job.update.is_none_or(|u| u.keep_gradient) {
                let c_at = job.c + (i * ldc + j) * 4;
                finish.push(dma(false, c_at, c_sram, rm, rn * 4, ldc * 4, fp32));
            }
            if let Some(u) = job.update {
                // W's tile next to C's, the updated one after it.
                let c_bytes = align(tm * tn * 4) as u32;
                let (w_sram, new_sram) = (c_sram + c_bytes, c_sram + 2 * c_bytes);
                let ldw = packed(u.ldw, n);
                let w_at = u.w + (i * ldw + j) * 4;
                finish.push(dma(true, w_at, w_sram, rm, rn * 4, ldw * 4, fp32));
                finish.push(Command::Sfu(SfuDesc {
                    op: SfuOp::Vector(VectorOp::SgdUpdate),
                    rows: rm as u32,
                    cols: rn as u32,
                    src_addr: w_sram,
                    dst_addr: new_sram,
                    aux0_addr: c_sram,
                    aux1_addr: 0,
                    aux2_addr: 0,
                    aux3_addr: 0,
                    format: NumberFormat::Fp32,
                    scalars: [u.lr, 0.0, 0.0, 0.0],
                    accumulate: false,
                }));
                finish.push(dma(false, w_at, new_sram, rm, rn * 4, ldw * 4, fp32));
                if let Some((addr, ld, format)) = u.copy {
                    let eb = u64::from(format.bytes());
                    let at = addr + (i * ld + j) * eb;
                    let conv = (NumberFormat::Fp32, format);
                    finish.push(dma(false, at, new_sram, rm, rn * 4, ld * eb, conv));
                }
            }
            out.push(OutputTile { steps, finish });
        }
    }
    out
}

/// The descriptors of `job` in one queue, with ids from `id_base`.
fn lower_tiles(job: &GemmJob, t: &Tiling, reuse_a: bool, id_base: u32) -> Vec<Descriptor> {
    output_tiles(job, t, reuse_a)
        .into_iter()
        .flat_map(|o| {
            o.steps
                .into_iter()
                .flat_map(|(a, b, g)| a.into_iter().chain([b, g]))
                .chain(o.finish)
        })
        .zip(id_base..)
        .map(|(command, id)| Descriptor { id, command })
        .collect()
}

/// The queues and semaphores of a pipelined GEMM ([`lower_gemm_pipelined`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pipeline {
    /// Queue of the operand loads (and of whatever follows the GEMM).
    pub load_queue: u8,
    /// Queue of the GEMMs.
    pub compute_queue: u8,
    /// Queue of the result stores.
    pub store_queue: u8,
    /// First of the nine semaphores it uses: operands loaded (2), operand buffers
    /// free (2), results computed (2), result buffers free (2), all stored (1).
    pub first_sem: u8,
}

/// Lowers `job` as a three-stage pipeline over double buffers: the load queue
/// fills one set of operand buffers while the GEMM core works on the other, and
/// the store queue drains one result buffer while the next accumulates — so DMA
/// and GEMM overlap. Semaphores order the stages; every count returns to zero,
/// and the load queue waits at the end until the last result is stored (the
/// next operation may read it).
///
/// When the whole of op(A) fits a quarter of `region`, it is loaded once and
/// stays resident while B and C tiles alternate between two halves of the
/// rest; that costs no more DRAM traffic than the single-queue lowering (the
/// common case of training GEMMs with few rows). Otherwise each half of
/// `region` holds one set of A, B and C tiles, and smaller tiles may reload
/// operands. Returns (queue, descriptor) pairs in issue order.
pub fn lower_gemm_pipelined(
    job: &GemmJob,
    region: Region,
    pipe: Pipeline,
    id_base: u32,
) -> Result<(Vec<(u8, Descriptor)>, Tiling), LowerError> {
    let (t, other) = match resident_a_tiling(job, region) {
        Some((t, other)) => (t, other),
        None => {
            let half = Region {
                base: region.base,
                bytes: region.bytes / 2,
            };
            let t = choose_tiling(job, &SramPlan::Unified(half)).map_err(|e| {
                LowerError(format!(
                    "{e} (pipelined: two buffer sets in the {}-byte SRAM)",
                    region.bytes
                ))
            })?;
            let other =
                u32::try_from(half.bytes).map_err(|_| LowerError("SRAM too large".into()))?;
            (t, other)
        }
    };
    let resident = t.resident_a;
    let outputs = output_tiles(job, &t, resident);
    let s = |k: u8| pipe.first_sem + k;
    let (loaded, free, computed, cfree, done) = (s(0), s(2), s(4), s(6), s(8));
    let signal = |sem: u8| Command::SemSignal { sem };
    let wait = |sem: u8| Command::SemWait { sem, count: 1 };
    let tiles: usize = outputs.iter().map(|o| o.steps.len()).sum();
    let count = outputs.len();
    let mut out = Vec::new();
    let mut id = id_base;
    let mut push = |q: u8, command: Command| {
        out.push((q, Descriptor { id, command }));
        id = id.wrapping_add(1);
    };
    let shift = |x: u32, buf: usize| x + other * buf as u32;
    let mut tile = 0usize;
    for (o, output) in outputs.into_iter().enumerate() {
        let obuf = o % 2;
        for (a_load, b_load, gemm) in output.steps {
            // The first load into a buffer waits until the GEMM two tiles back
            // is done with it; the B load signals the operands loaded.
            let buf = tile % 2;
            if tile >= 2 {
                push(pipe.load_queue, wait(free + buf as u8));
            }
            if let Some(Command::DmaLoad(mut m)) = a_load {
                // A resident stays where it is; else it alternates with B.
                m.sram_addr = shift(m.sram_addr, if resident { 0 } else { buf });
                push(pipe.load_queue, Command::DmaLoad(m));
            }
            if let Command::DmaLoad(mut m) = b_load {
                m.sram_addr = shift(m.sram_addr, buf);
                push(pipe.load_queue, Command::DmaLoad(m));
            }
            push(pipe.load_queue, signal(loaded + buf as u8));
            push(pipe.compute_queue, wait(loaded + buf as u8));
            if let Command::Gemm(mut g) = gemm {
                if !g.accumulate && o >= 2 {
                    push(pipe.compute_queue, wait(cfree + obuf as u8));
                }
                g.a_addr = shift(g.a_addr, if resident { 0 } else { buf });
                g.b_addr = shift(g.b_addr, buf);
                g.c_addr = shift(g.c_addr, obuf);
                push(pipe.compute_queue, Command::Gemm(g));
            }
            if tile + 2 < tiles {
                push(pipe.compute_queue, signal(free + buf as u8));
            }
            tile += 1;
        }
        // The C tile is complete: the store queue stores it (and runs the
        // update epilogue) from its buffer, then frees the buffer.
        push(pipe.compute_queue, signal(computed + obuf as u8));
        push(pipe.store_queue, wait(computed + obuf as u8));
        for command in output.finish {
            push(pipe.store_queue, shift_c(command, other * obuf as u32));
        }
        if o + 2 < count {
            push(pipe.store_queue, signal(cfree + obuf as u8));
        }
    }
    push(pipe.store_queue, signal(done));
    push(pipe.load_queue, wait(done));
    Ok((out, t))
}

/// `command` with its SRAM addresses moved by `by` bytes (a C-side command of
/// the second buffer set).
fn shift_c(command: Command, by: u32) -> Command {
    match command {
        Command::DmaLoad(mut m) => {
            m.sram_addr += by;
            Command::DmaLoad(m)
        }
        Command::DmaStore(mut m) => {
            m.sram_addr += by;
            Command::DmaStore(m)
        }
        Command::Sfu(mut f) => {
            f.src_addr += by;
            f.dst_addr += by;
            f.aux0_addr += by;
            Command::Sfu(f)
        }
        other => other,
    }
}

/// Tiles for a pipelined `job` with the whole of op(A) resident in `region`
/// (at its base) when it takes at most a quarter of it, splitting only N; and
/// the offset of the second B/C buffer set from the first.
fn resident_a_tiling(job: &GemmJob, region: Region) -> Option<(Tiling, u32)> {
    let eb = operand_bytes(job);
    let (m, k) = (u64::from(job.m), u64::from(job.k));
    let [a_bytes, _, _] = footprint(m, k, 1, eb);
    if a_bytes > region.bytes / 4 {
        return None;
    }
    let half = (region.bytes - a_bytes) / 2;
    let mut tn = u64::from(job.n);
    let c_tiles = job.c_tiles();
    let fits = |tn: u64| {
        let [_, b, c] = footprint_with(m, k, tn, eb, c_tiles);
        b + c <= half
    };
    while !fits(tn) {
        if tn <= 1 {
            return None;
        }
        tn = if tn > 16 {
            (tn / 2).div_ceil(16) * 16
        } else {
            tn.div_ceil(2)
        };
    }
    let [_, b_bytes, _] = footprint(m, k, tn, eb);
    let base = u64::from(region.base);
    let at = |x: u64| u32::try_from(x).ok();
    let t = Tiling {
        tm: job.m,
        tk: job.k,
        tn: tn as u32,
        tiles: u32::try_from(u64::from(job.n).div_ceil(tn)).ok()?,
        sram: [
            at(base)?,
            at(base + a_bytes)?,
            at(base + a_bytes + b_bytes)?,
        ],
        resident_a: true,
    };
    Some((t, at(half)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(m: u32, k: u32, n: u32) -> GemmJob {
        GemmJob::packed(m, k, n, [0, 1 << 24, 1 << 26], NumberFormat::Fp8E4M3)
    }

    fn unified(bytes: u64) -> SramPlan {
        SramPlan::Unified(Region { base: 0, bytes })
    }

    #[test]
    fn small_gemm_is_one_tile() {
        let (descs, t) = lower_gemm(&job(128, 768, 256), &unified(768 << 10), 0).unwrap();
        assert_eq!((t.tm, t.tk, t.tn, t.tiles), (128, 768, 256, 1));
        let names: Vec<_> = descs.iter().map(|d| d.command.mnemonic()).collect();
        assert_eq!(names, ["DMA_LOAD", "DMA_LOAD", "GEMM", "DMA_STORE"]);
    }

    #[test]
    fn large_gemm_is_tiled_within_the_budget() {
        let j = job(128, 768, 3072);
        let budget = 768 << 10;
        let (descs, t) = lower_gemm(&j, &unified(budget), 100).unwrap();
        let need: u64 = footprint(t.tm.into(), t.tk.into(), t.tn.into(), 1)
            .iter()
            .sum();
        assert!(need <= budget);
        assert!(t.tiles > 1);
        let gemms = descs
            .iter()
            .filter(|d| matches!(d.command, Command::Gemm(_)))
            .count();
        assert_eq!(gemms as u32, t.tiles);
        assert_eq!(descs[0].id, 100);
        let macs: u64 = descs
            .iter()
            .filter_map(|d| match &d.command {
                Command::Gemm(g) => Some(u64::from(g.m) * u64::from(g.k) * u64::from(g.n)),
                _ => None,
            })
            .sum();
        assert_eq!(macs, 128 * 768 * 3072, "the tiles cover the GEMM exactly");
    }

    #[test]
    fn an_update_epilogue_updates_each_c_tile_in_sram() {
        let update = UpdateEpilogue {
            w: 1 << 28,
            ldw: 0,
            copy: Some((1 << 29, 0, NumberFormat::Fp8E4M3)),
            lr: 0.5,
            keep_gradient: false,
        };
        let j = GemmJob {
            update: Some(update),
            ..job(64, 32, 256)
        };
        // 64×256 fp32 C tiles: three of them (dW, W, W') must fit with A and B.
        let budget = 200 << 10;
        let (descs, t) = lower_gemm(&j, &unified(budget), 0).unwrap();
        assert!(t.tiles > 1, "{t:?}");
        let names: Vec<_> = descs.iter().take(7).map(|d| d.command.mnemonic()).collect();
        assert_eq!(
            names,
            [
                "DMA_LOAD",
                "DMA_LOAD",
                "GEMM",
                "DMA_LOAD",
                "VECTOR",
                "DMA_STORE",
                "DMA_STORE"
            ],
            "no dW store without keep_gradient"
        );
        let Command::Sfu(sfu) = &descs[4].command else {
            panic!("{:?}", descs[4]);
        };
        let c_bytes = align(64 * u64::from(t.tn) * 4) as u32;
        assert_eq!(sfu.aux0_addr, t.sram[2], "dW is the GEMM's C tile");
        assert_eq!(
            (sfu.src_addr, sfu.dst_addr),
            (t.sram[2] + c_bytes, t.sram[2] + 2 * c_bytes)
        );
        assert_eq!(sfu.scalars[0], 0.5);
        assert!(u64::from(t.sram[2]) + 3 * u64::from(c_bytes) <= budget);
        // The second N tile updates the W columns after the first's.
        let Command::DmaLoad(w1) = &descs[3].command else {
            panic!()
        };
        let second = descs.iter().skip(7).find_map(|d| match &d.command {
            Command::DmaLoad(m) if m.dram_addr >= 1 << 28 => Some(m.dram_addr),
            _ => None,
        });
        assert_eq!(second, Some(w1.dram_addr + u64::from(t.tn) * 4));
        // Keeping the gradient stores C first; pipelined, the store queue runs
        // the epilogue from each C buffer.
        let keep = GemmJob {
            update: Some(UpdateEpilogue {
                keep_gradient: true,
                ..update
            }),
            ..j.clone()
        };
        let (descs, _) = lower_gemm(&keep, &unified(budget), 0).unwrap();
        assert_eq!(descs[3].command.mnemonic(), "DMA_STORE");
        let pipe = Pipeline {
            load_queue: 0,
            compute_queue: 1,
            store_queue: 2,
            first_sem: 0,
        };
        let region = Region {
            base: 0,
            bytes: 2 * budget,
        };
        let (piped, pt) = lower_gemm_pipelined(&j, region, pipe, 0).unwrap();
        let on = |q: u8, name: &str| {
            piped
                .iter()
                .filter(|(qq, d)| *qq == q && d.command.mnemonic() == name)
                .count()
        };
        let outputs = (64 / pt.tm as usize) * (256 / pt.tn as usize);
        assert_eq!(
            on(2, "VECTOR"),
            outputs,
            "one update per C tile, on the store queue"
        );
        assert_eq!(on(2, "DMA_STORE"), 2 * outputs, "W and its copy");
        assert_eq!(on(1, "GEMM"), pt.tiles as usize);
    }

    #[test]
    fn impossible_budget_is_an_error() {
        let err = choose_tiling(&job(16, 16, 16), &unified(8)).unwrap_err();
        assert!(err.0.contains("the 8-byte SRAM budget"), "{err:?}");
    }

    #[test]
    fn split_buffers_hold_one_operand_each_within_its_own_bytes() {
        let region = |base, bytes| Region { base, bytes };
        let plan = SramPlan::Split {
            a: region(0, 64 << 10),
            b: region(64 << 10, 256 << 10),
            c: region(320 << 10, 512 << 10),
        };
        let (descs, t) = lower_gemm(&job(128, 768, 3072), &plan, 0).unwrap();
        let [a, b, c] = footprint(t.tm.into(), t.tk.into(), t.tn.into(), 1);
        assert!(a <= 64 << 10 && b <= 256 << 10 && c <= 512 << 10, "{t:?}");
        // A and B tiles go to their buffers, the GEMM reads them there, C is stored
        // from `outputs`.
        let Command::Gemm(g) = &descs[2].command else {
            panic!("{:?}", descs[2]);
        };
        assert_eq!((g.a_addr, g.b_addr, g.c_addr), (0, 64 << 10, 320 << 10));
        // 128 × 768 fp8 A (96 KiB) does not fit 64 KiB of `inputs`: the tiling
        // splits a dimension of A that a unified 832 KiB budget would not.
        assert!(t.tk < 768 || t.tm < 128, "{t:?}");
    }
}
