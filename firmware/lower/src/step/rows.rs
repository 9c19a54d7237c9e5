//! Row operations — softmax, LayerNorm, GELU and the vector operations — tiled
//! by rows to fit the SRAM, with vectors (γ, β, a bias) loaded once, reductions
//! (dγ, dβ, bias gradients, the loss) accumulated in SRAM across the tiles, and
//! the tiles pipelined over three queues ([`RowStages`]).

use super::builder::{Builder, View, FP32};
use super::plan::PlanEntry;
use crate::gemm::dma;
use crate::sram::{align, ALIGN};
use crate::LowerError;
use treta_abi::{Command, NumberFormat, SfuDesc, SfuOp, VectorOp};

/// Where an SFU operand comes from or goes to.
#[derive(Clone, Copy, Debug)]
pub(super) enum Operand {
    /// `cols` fp32 per row, one row per row of the operation: loaded before the
    /// operation's tile, stored after it, or both (state updated in place).
    Rows {
        view: View,
        cols: u64,
        load: bool,
        store: bool,
        /// Also store the result here, converted to its format (a weight's
        /// 8-bit copy, refreshed as the update writes the fp32 master).
        copy: Option<View>,
    },
    /// `len` fp32, read once before the first tile.
    Vector { addr: u64, len: u64 },
    /// `len` fp32 summed over all tiles, written once after the last.
    Sum { addr: u64, len: u64 },
    /// Not used.
    None,
}

/// Descriptor slots of an SFU operation: src, dst, aux0, aux1, aux2, aux3.
pub(super) type Slots = [Operand; 6];

impl Builder {
    /// An SFU operation over `rows` rows of `cols`, tiled by rows to fit the SRAM.
    pub(super) fn rows_op(
        &mut self,
        name: &str,
        op: SfuOp,
        (rows, cols): (u64, u64),
        slots: Slots,
        scalars: [f32; 4],
    ) -> Result<(), LowerError> {
        let first = self.out.len();
        // Row operands move as fp32: a tensor kept narrower (for GEMMs only,
        // see `StepConfig::stored_format`) must not reach a pass — a schedule
        // bug, caught here rather than computed on misread bytes.
        for o in &slots {
            if let Operand::Rows { view, .. } = o {
                if view.fmt != NumberFormat::Fp32 {
                    return Err(LowerError(format!(
                        "{name}: a row operand at {:#x} is stored in {}, but SFU passes move fp32 rows",
                        view.addr,
                        view.fmt.name()
                    )));
                }
            }
        }
        // Vectors and sums stay in SRAM for the whole operation; row tiles share
        // the rest.
        let mut at = u64::from(self.sram.base);
        let mut fixed = [0u64; 6];
        for (i, o) in slots.iter().enumerate() {
            if let Operand::Vector { len, .. } | Operand::Sum { len, .. } = *o {
                fixed[i] = at;
                at += align(len * 4);
            }
        }
        let per_row: u64 = slots
            .iter()
            .map(|o| match o {
                Operand::Rows { cols, .. } => cols * 4,
                _ => 0,
            })
            .sum();
        let free = (u64::from(self.sram.base) + self.sram.bytes).saturating_sub(at);
        // Pipelined, the row tiles alternate between two halves of the free space.
        let buffers = if self.overlap.sfu { 2 } else { 1 };
        let half = free / buffers;
        // Leave room for each row operand's alignment.
        let tile = ((half.saturating_sub(6 * ALIGN)) / per_row.max(1)).min(rows);
        if tile == 0 {
            return Err(LowerError(format!(
                "{name}: one row of {cols} ({per_row} bytes with its operands) does not fit the {}-byte SRAM",
                self.sram.bytes
            )));
        }
        let stages = if self.overlap.sfu {
            RowStages::PIPELINED
        } else {
            RowStages::SERIAL
        };
        let tiles = rows.div_ceil(tile);
        let sram32 = |x: u64| u32::try_from(x).unwrap_or(u32::MAX);
        for (i, o) in slots.iter().enumerate() {
            if let Operand::Vector { addr, len } = *o {
                let load = dma(true, addr, sram32(fixed[i]), 1, len * 4, len * 4, FP32);
                self.emit_on(stages.load, load);
            }
        }
        for t in 0..tiles {
            let row = t * tile;
            let here = tile.min(rows - row);
            let buf = t % buffers;
            let mut addrs = fixed;
            let mut cursor = at + buf * half;
            for (i, o) in slots.iter().enumerate() {
                if let Operand::Rows { cols, .. } = *o {
                    addrs[i] = cursor;
                    cursor += align(here * cols * 4);
                }
            }
            stages.before_load(self, t);
            for (i, o) in slots.iter().enumerate() {
                if let Operand::Rows {
                    view,
                    cols,
                    load: true,
                    ..
                } = *o
                {
                    let from = view.addr + row * view.ld * 4;
                    let load = dma(
                        true,
                        from,
                        sram32(addrs[i]),
                        here,
                        cols * 4,
                        view.ld * 4,
                        FP32,
                    );
                    self.emit_on(stages.load, load);
                }
            }
            stages.loaded(self, t);
            self.emit_on(
                stages.compute,
                Command::Sfu(SfuDesc {
                    op,
                    rows: here as u32,
                    cols: cols as u32,
                    src_addr: sram32(addrs[0]),
                    dst_addr: sram32(addrs[1]),
                    aux0_addr: sram32(addrs[2]),
                    aux1_addr: sram32(addrs[3]),
                    aux2_addr: sram32(addrs[4]),
                    aux3_addr: sram32(addrs[5]),
                    format: NumberFormat::Fp32,
                    scalars: tile_scalars(op, scalars, row, cols),
                    accumulate: row > 0,
                }),
            );
            stages.computed(self, t);
            for (i, o) in slots.iter().enumerate() {
                if let Operand::Rows {
                    view,
                    cols,
                    store: true,
                    copy,
                    ..
                } = *o
                {
                    let to = view.addr + row * view.ld * 4;
                    let store = dma(
                        false,
                        to,
                        sram32(addrs[i]),
                        here,
                        cols * 4,
                        view.ld * 4,
                        FP32,
                    );
                    self.emit_on(stages.store, store);
                    if let Some(c) = copy {
                        let eb = u64::from(c.fmt.bytes());
                        let to = c.addr + row * c.ld * eb;
                        let conv = (NumberFormat::Fp32, c.fmt);
                        let store =
                            dma(false, to, sram32(addrs[i]), here, cols * 4, c.ld * eb, conv);
                        self.emit_on(stages.store, store);
                    }
                }
            }
            stages.stored(self, t, tiles);
        }
        for (i, o) in slots.iter().enumerate() {
            if let Operand::Sum { addr, len } = *o {
                let store = dma(false, addr, sram32(fixed[i]), 1, len * 4, len * 4, FP32);
                self.emit_on(stages.store, store);
            }
        }
        stages.finish(self);
        self.plan.push(PlanEntry {
            op: format!("{}{name}", self.scope),
            first,
            engine: "sfu",
            detail: format!(
                "{} {rows}×{cols} in {tiles} tiles of ≤{tile} rows; SRAM vectors and sums {:#x}..{:#x}, row tiles from {at:#x}{}",
                mnemonic(op),
                self.sram.base,
                at,
                if self.overlap.sfu {
                    format!(" (×2, the second at {:#x})", at + half)
                } else {
                    String::new()
                }
            ),
            descriptors: self.out.len() - first,
        });
        Ok(())
    }

    /// An element-wise vector operation over tensors shaped `rows × cols`.
    pub(super) fn vector(
        &mut self,
        name: &str,
        op: VectorOp,
        (rows, cols): (u64, u64),
        slots: Slots,
        scalars: [f32; 4],
    ) -> Result<(), LowerError> {
        self.rows_op(name, SfuOp::Vector(op), (rows, cols), slots, scalars)
    }
}

/// First semaphore of the SFU pipeline; the GEMM pipeline uses the nine below.
const SFU_FIRST_SEM: u8 = 9;

/// The "all stored" semaphore, shared with the GEMM pipeline's (its ninth):
/// operations run one after another and each leaves it at zero, and the last
/// semaphore is the driver's ([`treta_abi::desc::DRIVER_JOIN_SEM`]).
const SHARED_DONE_SEM: u8 = SFU_FIRST_SEM - 1;

/// The queues of an SFU operation's three stages — row tiles loaded, computed,
/// stored — and, when they differ, the semaphores that order them: a tile's
/// buffer is loaded, then computed, then stored, and reloaded two tiles later.
/// Every count returns to zero, and the load queue waits at the end until the
/// last store is done (the next operation may read it).
#[derive(Clone, Copy)]
struct RowStages {
    load: u8,
    compute: u8,
    store: u8,
}

impl RowStages {
    /// Everything in queue 0, in order.
    const SERIAL: RowStages = RowStages {
        load: 0,
        compute: 0,
        store: 0,
    };
    /// The GEMM pipeline's queues: loads, compute, stores.
    const PIPELINED: RowStages = RowStages {
        load: 0,
        compute: 1,
        store: 2,
    };
    // Semaphores 9..=14: loaded (2), computed (2), buffer free (2); all
    // stored on the GEMM pipeline's 8.
    const LOADED: u8 = SFU_FIRST_SEM;
    const COMPUTED: u8 = SFU_FIRST_SEM + 2;
    const FREE: u8 = SFU_FIRST_SEM + 4;
    const DONE: u8 = SHARED_DONE_SEM;

    fn pipelined(self) -> bool {
        self.load != self.compute
    }

    fn signal(self, b: &mut Builder, queue: u8, sem: u8) {
        if self.pipelined() {
            b.emit_on(queue, Command::SemSignal { sem });
        }
    }

    fn wait(self, b: &mut Builder, queue: u8, sem: u8) {
        if self.pipelined() {
            b.emit_on(queue, Command::SemWait { sem, count: 1 });
        }
    }

    fn buffer(t: u64) -> u8 {
        (t % 2) as u8
    }

    /// Before tile `t`'s loads: its buffer must have been stored from.
    fn before_load(self, b: &mut Builder, t: u64) {
        if t >= 2 {
            self.wait(b, self.load, Self::FREE + Self::buffer(t));
        }
    }

    /// After tile `t`'s loads, before its SFU command.
    fn loaded(self, b: &mut Builder, t: u64) {
        self.signal(b, self.load, Self::LOADED + Self::buffer(t));
        self.wait(b, self.compute, Self::LOADED + Self::buffer(t));
    }

    /// After tile `t`'s SFU command, before its stores.
    fn computed(self, b: &mut Builder, t: u64) {
        self.signal(b, self.compute, Self::COMPUTED + Self::buffer(t));
        self.wait(b, self.store, Self::COMPUTED + Self::buffer(t));
    }

    /// After tile `t`'s stores: its buffer is free for tile `t + 2`.
    fn stored(self, b: &mut Builder, t: u64, tiles: u64) {
        if t + 2 < tiles {
            self.signal(b, self.store, Self::FREE + Self::buffer(t));
        }
    }

    /// After the operation's last store.
    fn finish(self, b: &mut Builder) {
        self.signal(b, self.store, Self::DONE);
        self.wait(b, self.load, Self::DONE);
    }
}

/// The scalars of the tile that starts at `row`: a causal softmax's first
/// query index moves on with the tile (scalar 1 holds the operation's).
fn tile_scalars(op: SfuOp, mut scalars: [f32; 4], row: u64, cols: u64) -> [f32; 4] {
    if op == SfuOp::SoftmaxCausalFwd {
        scalars[1] = ((scalars[1] as u64 + row) % cols.max(1)) as f32;
    }
    scalars
}

/// The operation as plan entries name it: `softmax_fwd`, `vector.add_bias`.
fn mnemonic(op: SfuOp) -> String {
    match op {
        SfuOp::Vector(v) => format!("vector.{}", v.name()),
        other => other.mnemonic().to_lowercase(),
    }
}

/// `cols` fp32 per row of `view`, loaded with each tile.
pub(super) fn rows_in(view: View, cols: u64) -> Operand {
    Operand::Rows {
        view,
        cols,
        load: true,
        store: false,
        copy: None,
    }
}

/// `cols` fp32 per row of `view`, stored after each tile.
pub(super) fn rows_out(view: View, cols: u64) -> Operand {
    Operand::Rows {
        view,
        cols,
        load: false,
        store: true,
        copy: None,
    }
}

/// State read and written back (an optimizer's moments).
pub(super) fn rows_inout(view: View, cols: u64) -> Operand {
    Operand::Rows {
        view,
        cols,
        load: true,
        store: true,
        copy: None,
    }
}

/// An output also stored, converted, to `copy`.
pub(super) fn rows_out_copy(view: View, cols: u64, copy: Option<View>) -> Operand {
    Operand::Rows {
        view,
        cols,
        load: false,
        store: true,
        copy,
    }
}

/// An unused slot.
pub(super) const NONE: Operand = Operand::None;

/// `len` fp32 of `view`, loaded once and resident for the operation (γ, β, a bias).
pub(super) fn vec_in(view: View, len: u64) -> Operand {
    Operand::Vector {
        addr: view.addr,
        len,
    }
}

/// `len` fp32 accumulated over every tile and stored once to `view`.
pub(super) fn sum_out(view: View, len: u64) -> Operand {
    Operand::Sum {
        addr: view.addr,
        len,
    }
}
