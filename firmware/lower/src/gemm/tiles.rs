//! A GEMM's output tiles — per tile its K steps (A and B loads, the GEMM), then
//! the C store and the update epilogue — and their single-queue stream.

use super::{Epilogue, GemmJob, Tiling};
use crate::sram::align;
use treta_abi::{Command, Descriptor, DmaDesc, GemmDesc, NumberFormat, SfuDesc, SfuOp, VectorOp};

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

/// One output tile of a lowered GEMM: its K steps, then what follows once its
/// C tile is complete.
pub(super) struct OutputTile {
    /// Per K step: the A load and the B load (each unless the previous step's
    /// is reused) and the GEMM.
    pub(super) steps: Vec<(Option<Command>, Option<Command>, Command)>,
    /// The C store and the update epilogue, in order; they address SRAM in the
    /// C tile's region only.
    pub(super) finish: Vec<Command>,
}

/// The output tiles of `job` in the tiles `t` (at `t.sram`), M then N, each
/// with its K steps. With `reuse_a`, an A tile is loaded only when it differs
/// from the previous step's (a whole-K A tile serves every N tile of its rows);
/// likewise B with `reuse_b` (a whole B serves every row strip); without,
/// every step loads its A and B.
pub(super) fn output_tiles(
    job: &GemmJob,
    t: &Tiling,
    (reuse_a, reuse_b): (bool, bool),
) -> Vec<OutputTile> {
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
    let (mut loaded_a, mut loaded_b) = (None, None);
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
                let b_load = (!reuse_b || loaded_b != Some((p, j)))
                    .then(|| b.tile((p, rk), (j, rn), b_sram, conv_b));
                loaded_b = Some((p, j));
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
            epilogue_commands(job, t, (i, rm, j, rn), &mut finish);
            if job.update.is_none_or(|u| u.keep_gradient) {
                let ec = u64::from(job.c_format.bytes());
                let c_at = job.c + (i * ldc + j) * ec;
                let conv = (NumberFormat::Fp32, job.c_format);
                finish.push(dma(false, c_at, c_sram, rm, rn * 4, ldc * ec, conv));
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

/// Appends the commands of `job`'s epilogue steps for its C tile of rows
/// `i..i+rm`, columns `j..j+rn` (at `t.sram[2]`, a scratch tile after C and an
/// update's two tiles): each step's operand load into the scratch tile and its
/// SFU operation on C in place, or a store of C as it stands.
fn epilogue_commands(
    job: &GemmJob,
    t: &Tiling,
    (i, rm, j, rn): (u64, u64, u64, u64),
    out: &mut Vec<Command>,
) {
    let n = u64::from(job.n);
    let c_sram = t.sram[2];
    let c_bytes = align(u64::from(t.tm) * u64::from(t.tn) * 4) as u32;
    let scratch = c_sram + c_bytes * (1 + 2 * u32::from(job.update.is_some()));
    let fp32 = (NumberFormat::Fp32, NumberFormat::Fp32);
    let ld_or_n = |ld: u64| if ld == 0 { n } else { ld };
    let tile_load = |addr: u64, ld: u64| {
        let ld = ld_or_n(ld);
        dma(
            true,
            addr + (i * ld + j) * 4,
            scratch,
            rm,
            rn * 4,
            ld * 4,
            fp32,
        )
    };
    let sfu_with = |op: SfuOp, (src, aux0, dst): (u32, u32, u32), scalar: f32, accumulate: bool| {
        Command::Sfu(SfuDesc {
            op,
            rows: rm as u32,
            cols: rn as u32,
            src_addr: src,
            dst_addr: dst,
            aux0_addr: aux0,
            aux1_addr: 0,
            aux2_addr: 0,
            aux3_addr: 0,
            format: NumberFormat::Fp32,
            scalars: [scalar, 0.0, 0.0, 0.0],
            accumulate,
        })
    };
    let sfu = |op: SfuOp, src: u32, aux0: u32| sfu_with(op, (src, aux0, c_sram), 0.0, false);
    let sfu_scaled = |op: SfuOp, scale: f32| sfu_with(op, (c_sram, 0, c_sram), scale, false);
    for step in &job.epilogue {
        match *step {
            Epilogue::Bias(addr) => {
                out.push(dma(true, addr + j * 4, scratch, 1, rn * 4, 0, fp32));
                out.push(sfu(SfuOp::Vector(VectorOp::AddBias), c_sram, scratch));
            }
            Epilogue::Add { addr, ld } => {
                // R + C: R is the left operand, as in a separate `R + C` pass.
                out.push(tile_load(addr, ld));
                out.push(sfu(SfuOp::Vector(VectorOp::Add), scratch, c_sram));
            }
            Epilogue::Store { addr, ld, format } => {
                let (ld, eb) = (ld_or_n(ld), u64::from(format.bytes()));
                let conv = (NumberFormat::Fp32, format);
                let to = addr + (i * ld + j) * eb;
                out.push(dma(false, to, c_sram, rm, rn * 4, ld * eb, conv));
            }
            Epilogue::Gelu => out.push(sfu(SfuOp::GeluFwd, c_sram, 0)),
            Epilogue::GeluBwd { addr, ld } => {
                out.push(tile_load(addr, ld));
                out.push(sfu(SfuOp::GeluBwd, c_sram, scratch));
            }
            Epilogue::ColumnSum {
                addr,
                start,
                of_loaded,
            } => {
                // The running sum of columns j..j+rn, loaded unless this tile
                // starts it: in the scratch buffer when summing C, in the one
                // after it when summing the operand loaded into the scratch.
                let (src, sums) = if of_loaded {
                    (scratch, scratch + c_bytes)
                } else {
                    (c_sram, scratch)
                };
                let at = addr + j * 4;
                let running = i > 0 || !start;
                if running {
                    out.push(dma(true, at, sums, 1, rn * 4, 0, fp32));
                }
                let sum = SfuOp::Vector(VectorOp::ColumnSum);
                out.push(sfu_with(sum, (src, 0, sums), 0.0, running));
                out.push(dma(false, at, sums, 1, rn * 4, 0, fp32));
            }
            Epilogue::Softmax { scale } => out.push(sfu_scaled(SfuOp::SoftmaxFwd, scale)),
            Epilogue::SoftmaxBwd { addr, ld } => {
                // dP is the source, P the auxiliary operand, as in a separate pass.
                out.push(tile_load(addr, ld));
                out.push(sfu(SfuOp::SoftmaxBwd, c_sram, scratch));
            }
            Epilogue::Scale(scale) => {
                out.push(sfu_scaled(SfuOp::Vector(VectorOp::Scale), scale));
            }
        }
    }
}

/// The descriptors of `job` in one queue, with ids from `id_base`.
pub(super) fn lower_tiles(
    job: &GemmJob,
    t: &Tiling,
    reuse_a: bool,
    id_base: u32,
) -> Vec<Descriptor> {
    output_tiles(job, t, (reuse_a, false))
        .into_iter()
        .flat_map(|o| {
            o.steps
                .into_iter()
                .flat_map(|(a, b, g)| a.into_iter().chain(b).chain([g]))
                .chain(o.finish)
        })
        .zip(id_base..)
        .map(|(command, id)| Descriptor { id, command })
        .collect()
}
