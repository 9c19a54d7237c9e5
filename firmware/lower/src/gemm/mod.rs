//! GEMM lowering: one GEMM C = op(A)·op(B) as DMA and GEMM descriptors whose
//! tiles fit the SRAM.
//!
//! [`lower_gemm`] tiles it over M, N and (when needed) K so that an A tile, a B
//! tile and the fp32 C tile fit the [`SramPlan`] (one budget shared by all
//! three, or a named buffer each), and emits per tile `DMA_LOAD A`, `DMA_LOAD
//! B`, `GEMM` (accumulating over K tiles) and, after the last K tile, `DMA_STORE
//! C` and the optional [`UpdateEpilogue`], in one queue.
//! [`lower_gemm_pipelined`] emits output tiles as a three-stage pipeline over
//! three queues and double buffers, with tiles chosen for the time they take
//! on a [`Machine`] rather than just to fit. Either way the decisions come
//! back as a [`Tiling`], so reports can show them.
//!
//! - `tiling.rs` — choosing tile sizes within an SRAM budget;
//! - `tiles.rs` — the output tiles (K steps, then the C store and epilogue) and
//!   the single-queue stream;
//! - `pipelined.rs` — the same tiles over three queues with semaphores;
//! - `search.rs` — a pipelined GEMM's tiles chosen by expected time, its
//!   planned traffic and the traffic floor of an SRAM.

mod pipelined;
mod search;
#[cfg(test)]
mod tests;
mod tiles;
mod tiling;

pub use pipelined::{lower_gemm_batch_pipelined, lower_gemm_pipelined, Pipeline};
pub use search::{traffic_floor, Machine, TileCycles};
pub(crate) use tiles::dma;
pub use tiling::choose_tiling;

use crate::{LowerError, SramPlan};
use tiles::lower_tiles;
use treta_abi::{Descriptor, NumberFormat};

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

/// One elementwise step the SFU applies to each finished C tile in SRAM before
/// the tile is stored (in order): what a separate pass would do reading C back
/// from DRAM and writing it again, with the same arithmetic — so the numbers
/// are the same bit for bit and C crosses the DRAM once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Epilogue {
    /// C + bias, `bias` an fp32 row of n at this DRAM address.
    Bias(u64),
    /// R + C, R an fp32 m×n tensor at `addr` with `ld` elements between rows
    /// (0 = n): a residual, or another path's share of a gradient (R may be C's
    /// own destination: each tile is read before it is written).
    Add {
        /// DRAM address of R.
        addr: u64,
        /// Elements between R's rows (0 = n).
        ld: u64,
    },
    /// Stores C as it stands to `addr` (rows `ld` elements apart, 0 = n) in
    /// `format` — a value the later steps overwrite but someone still needs
    /// (the pre-activation of a GELU, a tensor a golden comparison reads).
    Store {
        /// DRAM address.
        addr: u64,
        /// Elements between rows (0 = n).
        ld: u64,
        /// Format stored (converted from fp32 by the DMA).
        format: NumberFormat,
    },
    /// gelu(C).
    Gelu,
    /// gelu'(X)·C, X the fp32 m×n pre-activation at `addr` (rows `ld`
    /// elements apart, 0 = n).
    GeluBwd {
        /// DRAM address of X.
        addr: u64,
        /// Elements between X's rows (0 = n).
        ld: u64,
    },
    /// Adds the column sums of C, as the steps before left it, into the fp32
    /// row of n at `addr`: a bias gradient summed on the GEMM's way out
    /// instead of in a pass that reads C back. The row tiles of each column
    /// strip come in order and each adds its rows one by one to the running
    /// sum, as a separate column-sum pass does — the same sum, bit for bit.
    ColumnSum {
        /// DRAM address of the sums.
        addr: u64,
        /// The first row tile starts the sums at zero; else every tile adds
        /// to the sums already there (a GEMM over later rows of the same
        /// tensor: the next batch, the next band of queries).
        start: bool,
        /// Sum the operand the step before loaded (R of an [`Epilogue::Add`]:
        /// a residual that is also another layer's output gradient) instead
        /// of C. The running sums then have a buffer of their own.
        of_loaded: bool,
    },
    /// softmax(scale·C) along each row (the SFU's `SoftmaxFwd`): C's tiles
    /// then span whole rows (see [`GemmJob::whole_rows`]).
    Softmax {
        /// The scores' scale inside the softmax.
        scale: f32,
    },
    /// The softmax backward P⊙(C − rowsum(P⊙C)) of C = dP, P the fp32 m×n
    /// probabilities at `addr` (rows `ld` elements apart, 0 = n); whole rows,
    /// as [`Epilogue::Softmax`].
    SoftmaxBwd {
        /// DRAM address of P.
        addr: u64,
        /// Elements between P's rows (0 = n).
        ld: u64,
    },
    /// scale·C (the SFU's vector `Scale`).
    Scale(f32),
}

impl Epilogue {
    /// Whether the step uses the C tile's scratch buffer (to load an operand,
    /// or to carry a column sum).
    fn loads(&self) -> bool {
        matches!(
            self,
            Epilogue::Bias(_)
                | Epilogue::Add { .. }
                | Epilogue::GeluBwd { .. }
                | Epilogue::ColumnSum { .. }
                | Epilogue::SoftmaxBwd { .. }
        )
    }

    /// Whether the step works on whole rows of C (a softmax).
    fn row_wise(&self) -> bool {
        matches!(self, Epilogue::Softmax { .. } | Epilogue::SoftmaxBwd { .. })
    }
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
    /// DRAM address of C.
    pub c: u64,
    /// Format C is stored in (accumulated in fp32 in SRAM, converted by the
    /// store's DMA): fp32, or a narrower copy for a consumer that reads 8 bits.
    pub c_format: NumberFormat,
    /// Elements between stored rows of A, B and C in DRAM (0 = packed): views of
    /// wider tensors, e.g. one attention head's columns.
    pub ld: [u64; 3],
    /// An SGD update of weights shaped like C, fused after each C tile.
    pub update: Option<UpdateEpilogue>,
    /// Elementwise steps on each C tile before it is stored.
    pub epilogue: Vec<Epilogue>,
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
            c_format: NumberFormat::Fp32,
            ld: [0; 3],
            update: None,
            epilogue: Vec::new(),
        }
    }

    /// fp32 tiles of C's size that a tile needs in SRAM: C; with an update
    /// epilogue the W tile and the updated one; with epilogue steps that load
    /// an operand, a scratch tile for it.
    fn c_tiles(&self) -> u64 {
        let sums_of_loaded = self.epilogue.iter().any(|e| {
            matches!(
                e,
                Epilogue::ColumnSum {
                    of_loaded: true,
                    ..
                }
            )
        });
        1 + 2 * u64::from(self.update.is_some())
            + u64::from(self.epilogue.iter().any(Epilogue::loads))
            + u64::from(sums_of_loaded)
    }

    /// Whether every C tile must span all n columns: an epilogue step works
    /// on whole rows. The tilers then split M and K only.
    pub fn whole_rows(&self) -> bool {
        self.epilogue.iter().any(Epilogue::row_wise)
    }
}

/// An operand a pipelined GEMM loads once and keeps in SRAM while the other
/// operand's tiles and the C tiles alternate between two buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resident {
    /// Both operands stream, double-buffered.
    None,
    /// The whole of op(A): C goes in column strips (m × tn). The common case
    /// of training GEMMs with few rows.
    A,
    /// The whole of op(B), with K and N whole: C goes in row strips (tm × n),
    /// each a run of whole stored rows — a weight gradient's fused update then
    /// reads and writes its fp32 master weights in long sequential runs instead
    /// of a narrow column strip's short rows, each of which opens DRAM rows
    /// afresh.
    B,
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
    /// Which operand, if any, is loaded once and kept in SRAM (pipelined).
    pub resident: Resident,
    /// C buffers: 2 when a tile's store overlaps the next tile's compute, 1
    /// when the GEMM core waits for it (and the SRAM went to larger tiles).
    pub c_buffers: u32,
    /// DRAM bytes the tiles move (whole bursts): A, B, C and any epilogue.
    pub dram_bytes: u64,
    /// The least any output-stationary tiling of the same SRAM could move
    /// ([`traffic_floor`]).
    pub dram_floor_bytes: u64,
}

/// Lowers `job` into descriptors with ids `id_base`, `id_base + 1`, ...; its tiles
/// live where `plan` says.
pub fn lower_gemm(
    job: &GemmJob,
    plan: &SramPlan,
    id_base: u32,
) -> Result<(Vec<Descriptor>, Tiling), LowerError> {
    let t = Tiling {
        dram_floor_bytes: traffic_floor(job, plan.bytes()),
        ..choose_tiling(job, plan)?
    };
    Ok((lower_tiles(job, &t, true, id_base), t))
}
