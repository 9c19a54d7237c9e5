//! Lowering of a BERT-style post-LN encoder layer's training step — forward,
//! MSE loss, backward (every gradient, the input's included) and an SGD update —
//! into one command stream.
//!
//! ```text
//! q,k,v = x·Wq+bq, x·Wk+bk, x·Wv+bv            (per head h: columns h·Dh..)
//! P = softmax(q_h·k_hᵀ / √Dh)  ctx_h = P·v_h    attn = ctx·Wo + bo
//! y1 = LN1(x + attn)  h = y1·W1 + b1  g = gelu(h)  f = g·W2 + b2  y = LN2(y1 + f)
//! loss = ½·mean((y − target)²)
//! ```
//!
//! Every tensor lives in DRAM in fp32, row-major, tokens (B·S) as rows; the
//! per-head score, probability and their gradients are `[B, H, S, S]`. Each
//! operation is lowered on its own into tiles that fit the SRAM: GEMMs through
//! [`lower_gemm`] (head slices as strided views, transposed operands read
//! transposed), row operations (softmax, LayerNorm, GELU, the vector operations)
//! into tiles of rows with their vectors (γ, β, a bias) loaded once and their
//! reductions (dγ, dβ, bias gradients, the loss) accumulated in SRAM across the
//! tiles. The stream runs in one queue, in order: this first lowering neither
//! double-buffers nor overlaps engines (a plan entry per operation says what each
//! costs). GEMM operands may be multiplied in a narrower format than DRAM's
//! (`compute_format`, converted by the DMA), with fp32 accumulation and fp32
//! master weights.

use crate::lower::{
    dma, lower_gemm, lower_gemm_pipelined, GemmJob, LowerError, Pipeline, Region, SramPlan,
    UpdateEpilogue,
};
use treta_abi::{Command, Descriptor, NumberFormat, SfuDesc, SfuOp, VectorOp};

/// The dimensions of an encoder layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncoderDims {
    /// Batch.
    pub b: u32,
    /// Sequence length.
    pub s: u32,
    /// Model width.
    pub d: u32,
    /// Attention heads (d must divide by h).
    pub h: u32,
    /// FFN width.
    pub f: u32,
}

impl EncoderDims {
    /// Named configurations: `bert-base`, `bert-large`, `vit-b16` (B = 1; S = 128
    /// for BERT, 197 tokens for ViT-B/16 at 224×224).
    pub fn named(name: &str) -> Option<EncoderDims> {
        let (s, d, h, f) = match name {
            "bert-base" => (128, 768, 12, 3072),
            "bert-large" => (128, 1024, 16, 4096),
            "vit-b16" => (197, 768, 12, 3072),
            _ => return None,
        };
        Some(EncoderDims { b: 1, s, d, h, f })
    }

    /// Tokens: B·S.
    pub fn tokens(&self) -> u64 {
        u64::from(self.b) * u64::from(self.s)
    }

    /// Head width D/H.
    pub fn dh(&self) -> u32 {
        self.d / self.h.max(1)
    }

    /// Whether the dimensions make a layer.
    pub fn check(&self) -> Result<(), LowerError> {
        if [self.b, self.s, self.d, self.h, self.f].contains(&0) {
            return Err(LowerError(format!(
                "{self:?}: every dimension must be positive"
            )));
        }
        if !self.d.is_multiple_of(self.h) {
            return Err(LowerError(format!(
                "d = {} does not divide into h = {} heads",
                self.d, self.h
            )));
        }
        Ok(())
    }
}

/// The formats GEMM operands are multiplied in, per tensor class (the DMA
/// converts from the fp32 copies in DRAM; accumulation is fp32).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClassFormats {
    /// Activations (layer inputs, attention probabilities, queries, keys, values).
    pub activations: NumberFormat,
    /// Weights.
    pub weights: NumberFormat,
    /// Gradients.
    pub gradients: NumberFormat,
}

impl ClassFormats {
    /// The same format for every class.
    pub fn all(format: NumberFormat) -> ClassFormats {
        ClassFormats {
            activations: format,
            weights: format,
            gradients: format,
        }
    }
}

/// The weight update.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Optimizer {
    /// W −= lr·g.
    Sgd,
    /// v = μ·v + g; W −= lr·v.
    Momentum {
        /// μ.
        mu: f32,
    },
    /// Adam with bias correction folded into the step's learning rate.
    Adam {
        /// β₁.
        beta1: f32,
        /// β₂.
        beta2: f32,
        /// ε.
        eps: f32,
    },
}

/// How to train.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepConfig {
    /// Learning rate.
    pub lr: f32,
    /// The weight update (state tensors start at zero).
    pub optimizer: Optimizer,
    /// LayerNorm ε.
    pub eps: f32,
    /// The formats the GEMMs multiply in, per tensor class.
    pub formats: ClassFormats,
    /// Training steps on the same batch (the loss of each is kept).
    pub steps: u32,
    /// Encoder layers stacked (the MSE loss on the top one's output).
    pub layers: u32,
    /// Which operations run as three-stage pipelines over three queues (loads,
    /// compute, stores) with double buffers, so DMA and compute overlap; the
    /// others run in one queue. All by default: 4.8 % faster than none on a
    /// BERT-base layer (docs/training.md).
    pub overlap: Overlap,
    /// Keep the weights' copies in their GEMM format in DRAM when it is narrower
    /// than fp32 (the GEMMs then read a quarter of the bytes for 8 bits); else
    /// the DMA converts the fp32 masters at every load. Same numbers either way.
    pub weight_copies: bool,
    /// Recompute each layer's FFN activations (h and gelu(h), the largest: T×F
    /// each) in backward instead of keeping them: one pair of buffers serves
    /// every layer, at the cost of the FFN1 GEMM and the GELU again.
    pub recompute: bool,
    /// With SGD, update each weight matrix in its dW GEMM's epilogue, tile by
    /// tile in SRAM, instead of in a separate pass that reads dW back from DRAM
    /// (see [`UpdateEpilogue`]). Same numbers.
    pub fuse_update: bool,
    /// Store the fused weight matrices' gradients to DRAM anyway (runs that read
    /// them back: golden comparisons, tensor dumps).
    pub keep_gradients: bool,
}

impl Default for StepConfig {
    /// The golden data's: lr 0.01, ε 1e-5, fp32 GEMMs; everything pipelined.
    fn default() -> StepConfig {
        StepConfig {
            lr: 0.01,
            optimizer: Optimizer::Sgd,
            eps: 1e-5,
            formats: ClassFormats::all(NumberFormat::Fp32),
            steps: 1,
            layers: 1,
            overlap: Overlap::ALL,
            weight_copies: true,
            recompute: false,
            fuse_update: true,
            keep_gradients: true,
        }
    }
}

/// Which operations are pipelined (see [`StepConfig::overlap`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Overlap {
    /// GEMMs: op(A) resident when it fits a quarter of the SRAM, with B and C
    /// tiles in two halves of the rest; else tiles of half the SRAM, which may
    /// reload operands more often (see [`crate::lower::lower_gemm_pipelined`]).
    pub gemm: bool,
    /// SFU operations: row tiles of half the SRAM (no reloads).
    pub sfu: bool,
}

impl Overlap {
    /// Nothing pipelined: one queue.
    pub const NONE: Overlap = Overlap {
        gemm: false,
        sfu: false,
    };
    /// Every GEMM and SFU operation pipelined.
    pub const ALL: Overlap = Overlap {
        gemm: true,
        sfu: true,
    };
}

/// An fp32 tensor in DRAM, row-major.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DramTensor {
    /// Name: the golden data's where the layout is the same (`input.x`,
    /// `layer.attn.wq`, `act.attn.probs`, `grad.layer.ffn.w1`, …), else internal.
    pub name: String,
    /// Address.
    pub addr: u64,
    /// Rows.
    pub rows: u64,
    /// Columns.
    pub cols: u64,
    /// Element format (fp32 but for the weights' 8-bit copies).
    pub format: NumberFormat,
}

impl DramTensor {
    /// Bytes.
    pub fn bytes(&self) -> u64 {
        self.rows * self.cols * u64::from(self.format.bytes())
    }
}

/// One operation of the plan: what it is, on which engine, how it was tiled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanEntry {
    /// Operation, e.g. `fwd.q_proj`.
    pub op: String,
    /// Its first descriptor's index in [`StepProgram::descriptors`] (and id);
    /// its descriptors follow contiguously.
    pub first: usize,
    /// `gemm` or `sfu`.
    pub engine: &'static str,
    /// Shape and tiling, in words.
    pub detail: String,
    /// Descriptors it became.
    pub descriptors: usize,
}

/// A lowered training step.
#[derive(Clone, Debug, PartialEq)]
pub struct StepProgram {
    /// The commands in issue order (the plan's order).
    pub descriptors: Vec<Descriptor>,
    /// The queue of each command.
    pub queue_of: Vec<u8>,
    /// Every tensor, in allocation order.
    pub tensors: Vec<DramTensor>,
    /// One entry per operation, in order.
    pub plan: Vec<PlanEntry>,
    /// The DRAM names of the parameters (updated in place by SGD).
    pub parameters: Vec<String>,
    /// Tensors allocated but never written (the weight gradients an update
    /// fused into their GEMMs did not store): nothing to read back.
    pub unstored: Vec<String>,
}

impl StepProgram {
    /// The commands of each of `queues` queues, in order.
    pub fn queues(&self, queues: usize) -> Vec<Vec<Descriptor>> {
        let mut out = vec![Vec::new(); queues];
        for (d, &q) in self.descriptors.iter().zip(&self.queue_of) {
            if let Some(queue) = out.get_mut(usize::from(q)) {
                queue.push(d.clone());
            }
        }
        out
    }

    /// The tensor `name`.
    pub fn tensor(&self, name: &str) -> Option<&DramTensor> {
        self.tensors.iter().find(|t| t.name == name)
    }
}

/// A strided view of a DRAM tensor: `addr`, `ld` elements between rows.
#[derive(Clone, Copy, Debug)]
struct View {
    addr: u64,
    ld: u64,
    /// Element format in DRAM (fp32 but for the weights' 8-bit copies).
    fmt: NumberFormat,
}

/// Where an SFU operand comes from or goes to.
#[derive(Clone, Copy, Debug)]
enum Operand {
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
type Slots = [Operand; 6];

struct Builder {
    /// The queue of each command in `out`.
    queue_of: Vec<u8>,
    /// Which operations pipeline across queues.
    overlap: Overlap,
    /// Prefix of plan entries (`layer3.` in a stack).
    scope: String,
    sram: Region,
    gemm_plan: SramPlan,
    next: u64,
    end: u64,
    tensors: Vec<DramTensor>,
    out: Vec<Descriptor>,
    plan: Vec<PlanEntry>,
}

const ALIGN: u64 = 64;

impl Builder {
    fn alloc(&mut self, name: &str, rows: u64, cols: u64) -> Result<View, LowerError> {
        self.alloc_in(name, rows, cols, NumberFormat::Fp32)
    }

    /// A tensor of `fmt` elements.
    fn alloc_in(
        &mut self,
        name: &str,
        rows: u64,
        cols: u64,
        fmt: NumberFormat,
    ) -> Result<View, LowerError> {
        let addr = self.next;
        let bytes = rows * cols * u64::from(fmt.bytes());
        self.next = (addr + bytes).div_ceil(ALIGN) * ALIGN;
        if self.next > self.end {
            return Err(LowerError(format!(
                "the tensors do not fit in DRAM (at {name}: {} bytes needed, {} available)",
                self.next, self.end
            )));
        }
        self.tensors.push(DramTensor {
            name: name.to_string(),
            addr,
            rows,
            cols,
            format: fmt,
        });
        Ok(View {
            addr,
            ld: cols,
            fmt,
        })
    }

    fn emit(&mut self, command: Command) {
        self.emit_on(0, command);
    }

    fn emit_on(&mut self, queue: u8, command: Command) {
        let id = self.out.len() as u32;
        self.out.push(Descriptor { id, command });
        self.queue_of.push(queue);
    }

    /// Copies fp32 `src` (rows × cols) to `dst` in `dst.fmt` through the SRAM,
    /// the DMA converting on the store.
    fn convert(
        &mut self,
        name: &str,
        src: View,
        dst: View,
        (rows, cols): (u64, u64),
    ) -> Result<(), LowerError> {
        let first = self.out.len();
        let tile = (self.sram.bytes / (cols * 4).max(1)).min(rows);
        if tile == 0 {
            return Err(LowerError(format!(
                "{name}: one row of {cols} does not fit the SRAM"
            )));
        }
        let eb = u64::from(dst.fmt.bytes());
        let sram = self.sram.base;
        let mut row = 0;
        while row < rows {
            let here = tile.min(rows - row);
            self.emit(dma(
                true,
                src.addr + row * src.ld * 4,
                sram,
                here,
                cols * 4,
                src.ld * 4,
                FP32,
            ));
            let to = dst.addr + row * dst.ld * eb;
            self.emit(dma(
                false,
                to,
                sram,
                here,
                cols * 4,
                dst.ld * eb,
                (NumberFormat::Fp32, dst.fmt),
            ));
            row += here;
        }
        self.plan.push(PlanEntry {
            op: format!("{}{name}", self.scope),
            first,
            engine: "dma",
            detail: format!("fp32 → {} copy of {rows}×{cols}", dst.fmt.name()),
            descriptors: self.out.len() - first,
        });
        Ok(())
    }

    /// C[m×n] = op(A)·op(B) with the views' strides.
    #[allow(clippy::too_many_arguments)] // a GEMM's operands and shape
    fn gemm(
        &mut self,
        op: &str,
        a: (View, bool),
        b: (View, bool),
        c: View,
        dims: (u64, u64, u64),
        formats: [NumberFormat; 2],
    ) -> Result<(), LowerError> {
        self.gemm_update(op, a, b, c, dims, formats, None)
    }

    /// [`Builder::gemm`], with an SGD update of weights shaped like C fused into
    /// its epilogue (see [`UpdateEpilogue`]; then in one queue).
    #[allow(clippy::too_many_arguments)] // a GEMM's operands, shape and epilogue
    fn gemm_update(
        &mut self,
        op: &str,
        (a, ta): (View, bool),
        (b, tb): (View, bool),
        c: View,
        (m, k, n): (u64, u64, u64),
        formats: [NumberFormat; 2],
        update: Option<UpdateEpilogue>,
    ) -> Result<(), LowerError> {
        let job = GemmJob {
            update,
            transpose_a: ta,
            transpose_b: tb,
            compute_formats: formats,
            ld: [a.ld, b.ld, c.ld],
            formats: [a.fmt, b.fmt],
            ..GemmJob::packed(
                m as u32,
                k as u32,
                n as u32,
                [a.addr, b.addr, c.addr],
                NumberFormat::Fp32,
            )
        };
        let first = self.out.len() as u32;
        let context = |e: LowerError| LowerError(format!("{op}: {e}"));
        // A fused update runs in one queue: pipelined, its W traffic on the store
        // queue interleaves with the next tiles' loads and triples the DRAM's
        // row conflicts (one BERT-base layer: 10.29 ms against 6.56 ms).
        let pipelined = self.overlap.gemm && update.is_none();
        let (descs, t) = if pipelined {
            let pipe = Pipeline {
                load_queue: 0,
                compute_queue: 1,
                store_queue: 2,
                first_sem: 0,
            };
            lower_gemm_pipelined(&job, self.sram, pipe, first).map_err(context)?
        } else {
            let (descs, t) = lower_gemm(&job, &self.gemm_plan, first).map_err(context)?;
            (descs.into_iter().map(|d| (0, d)).collect(), t)
        };
        self.plan.push(PlanEntry {
            op: format!("{}{op}", self.scope),
            first: first as usize,
            engine: "gemm",
            detail: format!(
                "{m}×{k}×{n}{}{} in {} tiles of {}×{}×{}, {} × {}; SRAM A {:#x}, B {:#x}, C {:#x}{}{}",
                if ta { ", Aᵀ" } else { "" },
                if tb { ", Bᵀ" } else { "" },
                t.tiles,
                t.tm,
                t.tk,
                t.tn,
                formats[0].name(),
                formats[1].name(),
                t.sram[0],
                t.sram[1],
                t.sram[2],
                match (pipelined, t.resident_a) {
                    (false, _) => "",
                    (true, false) => " (×2)",
                    (true, true) => " (B and C ×2, A resident)",
                },
                if update.is_some() {
                    ", SGD update fused"
                } else {
                    ""
                }
            ),
            descriptors: descs.len(),
        });
        for (q, d) in descs {
            self.emit_on(q, d.command);
        }
        Ok(())
    }

    /// An SFU operation over `rows` rows of `cols`, tiled by rows to fit the SRAM.
    fn rows_op(
        &mut self,
        name: &str,
        op: SfuOp,
        (rows, cols): (u64, u64),
        slots: Slots,
        scalars: [f32; 4],
    ) -> Result<(), LowerError> {
        let first = self.out.len();
        // Vectors and sums stay in SRAM for the whole operation; row tiles share
        // the rest.
        let mut at = u64::from(self.sram.base);
        let mut fixed = [0u64; 6];
        for (i, o) in slots.iter().enumerate() {
            if let Operand::Vector { len, .. } | Operand::Sum { len, .. } = *o {
                fixed[i] = at;
                at += (len * 4).div_ceil(ALIGN) * ALIGN;
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
                    cursor += (here * cols * 4).div_ceil(ALIGN) * ALIGN;
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
                    scalars,
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
    fn vector(
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

const FP32: (NumberFormat, NumberFormat) = (NumberFormat::Fp32, NumberFormat::Fp32);

/// First semaphore of the SFU pipeline; the GEMM pipeline uses the nine below.
const SFU_FIRST_SEM: u8 = 9;

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
    // Semaphores 9..=15: loaded (2), computed (2), buffer free (2), all stored.
    const LOADED: u8 = SFU_FIRST_SEM;
    const COMPUTED: u8 = SFU_FIRST_SEM + 2;
    const FREE: u8 = SFU_FIRST_SEM + 4;
    const DONE: u8 = SFU_FIRST_SEM + 6;

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

fn mnemonic(op: SfuOp) -> String {
    match op {
        SfuOp::Vector(v) => format!("vector.{}", v.name()),
        other => other.mnemonic().to_lowercase(),
    }
}

fn rows_in(view: View, cols: u64) -> Operand {
    Operand::Rows {
        view,
        cols,
        load: true,
        store: false,
        copy: None,
    }
}

fn rows_out(view: View, cols: u64) -> Operand {
    Operand::Rows {
        view,
        cols,
        load: false,
        store: true,
        copy: None,
    }
}

/// State read and written back (an optimizer's moments).
fn rows_inout(view: View, cols: u64) -> Operand {
    Operand::Rows {
        view,
        cols,
        load: true,
        store: true,
        copy: None,
    }
}

/// An output also stored, converted, to `copy`.
fn rows_out_copy(view: View, cols: u64, copy: Option<View>) -> Operand {
    Operand::Rows {
        view,
        cols,
        load: false,
        store: true,
        copy,
    }
}

const NONE: Operand = Operand::None;

/// The parameters of the layer, in the golden data's names and shapes.
const PARAMS: [(&str, Shape); 16] = [
    ("layer.attn.wq", Shape::DD),
    ("layer.attn.bq", Shape::D),
    ("layer.attn.wk", Shape::DD),
    ("layer.attn.bk", Shape::D),
    ("layer.attn.wv", Shape::DD),
    ("layer.attn.bv", Shape::D),
    ("layer.attn.wo", Shape::DD),
    ("layer.attn.bo", Shape::D),
    ("layer.ln1.gamma", Shape::D),
    ("layer.ln1.beta", Shape::D),
    ("layer.ffn.w1", Shape::DF),
    ("layer.ffn.b1", Shape::F),
    ("layer.ffn.w2", Shape::FD),
    ("layer.ffn.b2", Shape::D),
    ("layer.ln2.gamma", Shape::D),
    ("layer.ln2.beta", Shape::D),
];

#[derive(Clone, Copy)]
enum Shape {
    DD,
    D,
    DF,
    F,
    FD,
}

impl Shape {
    /// A weight matrix (not a vector).
    fn is_matrix(self) -> bool {
        matches!(self, Shape::DD | Shape::DF | Shape::FD)
    }

    fn dims(self, e: &EncoderDims) -> (u64, u64) {
        let (d, f) = (u64::from(e.d), u64::from(e.f));
        match self {
            Shape::DD => (d, d),
            Shape::D => (1, d),
            Shape::DF => (d, f),
            Shape::F => (1, f),
            Shape::FD => (f, d),
        }
    }
}

/// One layer's tensors in DRAM.
#[derive(Clone)]
struct LayerT {
    x: View,
    p: std::collections::HashMap<&'static str, View>,
    g: std::collections::HashMap<&'static str, View>,
    /// Optimizer state per parameter: momentum's velocity or Adam's first
    /// moment, and Adam's second moment.
    m1: std::collections::HashMap<&'static str, View>,
    m2: std::collections::HashMap<&'static str, View>,
    /// The weight matrices' copies in the weights' GEMM format, when it is
    /// narrower than fp32: the GEMMs read them (a quarter of the DRAM bytes for
    /// 8-bit), the update refreshes them as it writes the fp32 masters.
    w8: std::collections::HashMap<&'static str, View>,
    q: View,
    k: View,
    v: View,
    scores: View,
    probs: View,
    ctx: View,
    attn: View,
    z1: View,
    y1: View,
    st1: View,
    hp: View,
    g_act: View,
    fo: View,
    z2: View,
    y: View,
    st2: View,
    dy: View,
    dz2: View,
    dg: View,
    dh_pre: View,
    dy1_ffn: View,
    dy1: View,
    dz1: View,
    dctx: View,
    dp: View,
    ds: View,
    ds_scaled: View,
    dq: View,
    dk: View,
    dv: View,
    dxq: View,
    dxk: View,
    dxv: View,
    dx: View,
    pair1: View,
    pair2: View,
}

/// The DRAM name of tensor `s` of layer `l` of `layers`: the golden data's names
/// for a single layer; `layer{l}.…`, `act` → `layer{l}.act.…`, `grad.…` →
/// `grad.layer{l}.…` in a stack (the top layer's output stays `output.y`, the
/// bottom one's input gradient `grad.input.x`).
fn tensor_name(s: &str, l: u64, layers: u64) -> String {
    if layers == 1 || (s == "output.y" && l == layers - 1) || (s == "grad.input.x" && l == 0) {
        return s.to_string();
    }
    let (grad, rest) = match s.strip_prefix("grad.") {
        Some(rest) => ("grad.", rest),
        None => ("", s),
    };
    let rest = rest.strip_prefix("layer.").unwrap_or(rest);
    format!("{grad}layer{l}.{rest}")
}

/// Lowers `config.steps` training steps of one layer on one batch: tensors from
/// `dram_base` (within `dram_bytes`), SRAM `sram` for tiles. The loss of step i
/// is element i of `output.loss`.
pub fn lower_training_step(
    dims: &EncoderDims,
    config: &StepConfig,
    sram: Region,
    dram_base: u64,
    dram_bytes: u64,
) -> Result<StepProgram, LowerError> {
    dims.check()?;
    let mut b = Builder {
        sram,
        gemm_plan: SramPlan::Unified(sram),
        next: dram_base,
        end: dram_bytes,
        tensors: Vec::new(),
        out: Vec::new(),
        plan: Vec::new(),
        scope: String::new(),
        queue_of: Vec::new(),
        overlap: config.overlap,
    };
    let e = dims;
    let (t, d, f, h, s) = (
        e.tokens(),
        u64::from(e.d),
        u64::from(e.f),
        u64::from(e.h),
        u64::from(e.s),
    );
    let dh = u64::from(e.dh());
    let heads = u64::from(e.b) * h;
    let fm = config.formats;
    let (act_w, act_act, act_grad, grad_w, grad_act) = (
        [fm.activations, fm.weights],
        [fm.activations, fm.activations],
        [fm.activations, fm.gradients],
        [fm.gradients, fm.weights],
        [fm.gradients, fm.activations],
    );
    let scale = 1.0 / (dh as f32).sqrt();
    // SGD of each weight matrix in its dW GEMM's epilogue (momentum and Adam
    // keep their state in separate passes).
    let fused = config.fuse_update && config.optimizer == Optimizer::Sgd;
    // Inputs (loaded by the host), then per layer its parameters, gradients,
    // activations and their gradients. Layer l's input is layer l−1's output, and
    // the gradient of its input is layer l−1's output gradient.
    let layers_n = u64::from(config.layers.max(1));
    let x = b.alloc("input.x", t, d)?;
    let target = b.alloc("input.target", t, d)?;
    let steps = u64::from(config.steps.max(1));
    // One loss per step.
    let loss = b.alloc("output.loss", 1, steps)?;
    let mut layers: Vec<LayerT> = Vec::new();
    for l in 0..layers_n {
        let name = |s: &str| tensor_name(s, l, layers_n);
        let input = match layers.last() {
            Some(prev) => prev.y,
            None => x,
        };
        let mut p = std::collections::HashMap::new();
        let mut g = std::collections::HashMap::new();
        for (pn, shape) in PARAMS {
            let (r, c) = shape.dims(e);
            p.insert(pn, b.alloc(&name(pn), r, c)?);
        }
        for (pn, shape) in PARAMS {
            let (r, c) = shape.dims(e);
            g.insert(pn, b.alloc(&name(&format!("grad.{pn}")), r, c)?);
        }
        let mut w8 = std::collections::HashMap::new();
        if config.weight_copies && config.formats.weights.bytes() < 4 {
            for (pn, shape) in PARAMS.iter().filter(|(_, s)| s.is_matrix()) {
                let (r, c) = shape.dims(e);
                w8.insert(
                    *pn,
                    b.alloc_in(&name(&format!("copy.{pn}")), r, c, config.formats.weights)?,
                );
            }
        }
        // Optimizer state, zero at the start (DRAM reads zero until written).
        let (mut m1, mut m2) = (
            std::collections::HashMap::new(),
            std::collections::HashMap::new(),
        );
        for (pn, shape) in PARAMS {
            let (r, c) = shape.dims(e);
            if !matches!(config.optimizer, Optimizer::Sgd) {
                m1.insert(pn, b.alloc(&name(&format!("opt.m.{pn}")), r, c)?);
            }
            if matches!(config.optimizer, Optimizer::Adam { .. }) {
                m2.insert(pn, b.alloc(&name(&format!("opt.v.{pn}")), r, c)?);
            }
        }
        let mut a = |s: &str, rows: u64, cols: u64| b.alloc(&name(s), rows, cols);
        let lt = LayerT {
            x: input,
            p,
            g,
            m1,
            m2,
            w8,
            q: a("act.attn.q_merged", t, d)?,
            k: a("act.attn.k_merged", t, d)?,
            v: a("act.attn.v_merged", t, d)?,
            scores: a("act.attn.scores_unscaled", heads * s, s)?,
            probs: a("act.attn.probs", heads * s, s)?,
            ctx: a("act.attn.ctx_merged", t, d)?,
            attn: a("act.attn.out", t, d)?,
            z1: a("act.ln1.in", t, d)?,
            y1: a("act.ln1.out", t, d)?,
            st1: a("act.ln1.stats", t, 2)?,
            hp: match layers.first() {
                Some(first) if config.recompute => first.hp,
                _ => a("act.ffn.h_pre", t, f)?,
            },
            g_act: match layers.first() {
                Some(first) if config.recompute => first.g_act,
                _ => a("act.ffn.h_post", t, f)?,
            },
            fo: a("act.ffn.out", t, d)?,
            z2: a("act.ln2.in", t, d)?,
            y: a("output.y", t, d)?,
            st2: a("act.ln2.stats", t, 2)?,
            dy: a("grad.act.ln2.out", t, d)?,
            dz2: a("grad.act.ln2.in", t, d)?,
            dg: a("grad.act.ffn.h_post", t, f)?,
            dh_pre: a("grad.act.ffn.h_pre", t, f)?,
            dy1_ffn: a("grad.act.ln1.out.ffn", t, d)?,
            dy1: a("grad.act.ln1.out", t, d)?,
            dz1: a("grad.act.ln1.in", t, d)?,
            dctx: a("grad.act.attn.ctx_merged", t, d)?,
            dp: a("grad.act.attn.probs", heads * s, s)?,
            ds: a("grad.act.attn.scores", heads * s, s)?,
            ds_scaled: a("grad.act.attn.scores_unscaled", heads * s, s)?,
            dq: a("grad.act.attn.q_merged", t, d)?,
            dk: a("grad.act.attn.k_merged", t, d)?,
            dv: a("grad.act.attn.v_merged", t, d)?,
            dxq: a("grad.input.x.q", t, d)?,
            dxk: a("grad.input.x.k", t, d)?,
            dxv: a("grad.input.x.v", t, d)?,
            dx: a("grad.input.x", t, d)?,
            // LayerNorm backward leaves dγ and dβ side by side in a pair, copied
            // to their gradients after.
            pair1: a("grad.ln1.pair", 2, d)?,
            pair2: a("grad.ln2.pair", 2, d)?,
        };
        layers.push(lt);
    }
    // Layer l's output gradient is the gradient of layer l+1's input.
    for l in 1..layers.len() {
        layers[l - 1].dy = layers[l].dx;
    }
    let top = layers.len() - 1;
    // Plan entries of a stack's layers carry the layer: `layer3.fwd.q_proj`.
    let scope = |l: usize| {
        if layers_n == 1 {
            String::new()
        } else {
            format!("layer{l}.")
        }
    };

    let vec_in = |view: View, len: u64| Operand::Vector {
        addr: view.addr,
        len,
    };
    let sum_out = |view: View, len: u64| Operand::Sum {
        addr: view.addr,
        len,
    };
    let td = (t, d);
    // y = x·W + b: the GEMM, then the bias over its rows (in place).
    let linear = |b: &mut Builder, op: &str, x: View, w: View, bias: View, out: View, (m, k, n)| {
        b.gemm(op, (x, false), (w, false), out, (m, k, n), act_w)?;
        b.vector(
            &format!("{op}.bias"),
            VectorOp::AddBias,
            (m, n),
            [
                rows_in(out, n),
                rows_out(out, n),
                vec_in(bias, n),
                NONE,
                NONE,
                NONE,
            ],
            [0.0; 4],
        )
    };
    let head = |base: View, bi: u64, hi: u64| View {
        addr: base.addr + (bi * s * d + hi * dh) * 4,
        ld: d,
        fmt: NumberFormat::Fp32,
    };
    let block = |base: View, i: u64| View {
        addr: base.addr + i * s * s * 4,
        ld: s,
        fmt: NumberFormat::Fp32,
    };
    let sq = (heads * s, s);
    // Every (batch, head) and its index among the B·H score blocks.
    let all_heads =
        || (0..u64::from(e.b)).flat_map(move |bi| (0..h).map(move |hi| (bi, hi, bi * h + hi)));
    // The weights' narrow copies, made once; each update refreshes them.
    for (l, layer) in layers.iter().enumerate() {
        b.scope = scope(l);
        for (pn, shape) in PARAMS {
            if let Some(&copy) = layer.w8.get(pn) {
                b.convert(&format!("copy.{pn}"), layer.p[pn], copy, shape.dims(e))?;
            }
        }
    }
    b.scope.clear();
    for step in 0..steps {
        // ---- forward
        for (l, layer) in layers.iter().enumerate() {
            b.scope = scope(l);
            let LayerT {
                x,
                q,
                k,
                v,
                scores,
                probs,
                ctx,
                attn,
                z1,
                y1,
                st1,
                hp,
                fo,
                z2,
                y,
                st2,
                ..
            } = layer.clone();
            let pm = layer.p.clone();
            let prm = |n: &str| pm[n];
            // GEMMs read a weight's 8-bit copy when there is one.
            let w8 = layer.w8.clone();
            let wgt = |n: &str| w8.get(n).copied().unwrap_or(pm[n]);
            let g = layer.g_act;
            linear(
                &mut b,
                "fwd.q_proj",
                x,
                wgt("layer.attn.wq"),
                prm("layer.attn.bq"),
                q,
                (t, d, d),
            )?;
            linear(
                &mut b,
                "fwd.k_proj",
                x,
                wgt("layer.attn.wk"),
                prm("layer.attn.bk"),
                k,
                (t, d, d),
            )?;
            linear(
                &mut b,
                "fwd.v_proj",
                x,
                wgt("layer.attn.wv"),
                prm("layer.attn.bv"),
                v,
                (t, d, d),
            )?;
            for (bi, hi, i) in all_heads() {
                b.gemm(
                    &format!("fwd.qk_t.b{bi}h{hi}"),
                    (head(q, bi, hi), false),
                    (head(k, bi, hi), true),
                    block(scores, i),
                    (s, dh, s),
                    act_act,
                )?;
            }
            b.rows_op(
                "fwd.softmax",
                SfuOp::SoftmaxFwd,
                sq,
                [
                    rows_in(scores, s),
                    rows_out(probs, s),
                    NONE,
                    NONE,
                    NONE,
                    NONE,
                ],
                [scale, 0.0, 0.0, 0.0],
            )?;
            for (bi, hi, i) in all_heads() {
                b.gemm(
                    &format!("fwd.pv.b{bi}h{hi}"),
                    (block(probs, i), false),
                    (head(v, bi, hi), false),
                    head(ctx, bi, hi),
                    (s, s, dh),
                    act_act,
                )?;
            }
            linear(
                &mut b,
                "fwd.o_proj",
                ctx,
                wgt("layer.attn.wo"),
                prm("layer.attn.bo"),
                attn,
                (t, d, d),
            )?;
            b.vector(
                "fwd.residual1",
                VectorOp::Add,
                td,
                [
                    rows_in(x, d),
                    rows_out(z1, d),
                    rows_in(attn, d),
                    NONE,
                    NONE,
                    NONE,
                ],
                [0.0; 4],
            )?;
            let layernorm = |b: &mut Builder,
                             op: &str,
                             z: View,
                             gamma: View,
                             beta: View,
                             out: View,
                             st: View| {
                b.rows_op(
                    op,
                    SfuOp::LayerNormFwd,
                    td,
                    [
                        rows_in(z, d),
                        rows_out(out, d),
                        vec_in(gamma, d),
                        vec_in(beta, d),
                        rows_out(st, 2),
                        NONE,
                    ],
                    [config.eps, 0.0, 0.0, 0.0],
                )
            };
            layernorm(
                &mut b,
                "fwd.ln1",
                z1,
                prm("layer.ln1.gamma"),
                prm("layer.ln1.beta"),
                y1,
                st1,
            )?;
            linear(
                &mut b,
                "fwd.ffn1",
                y1,
                wgt("layer.ffn.w1"),
                prm("layer.ffn.b1"),
                hp,
                (t, d, f),
            )?;
            b.rows_op(
                "fwd.gelu",
                SfuOp::GeluFwd,
                (t, f),
                [rows_in(hp, f), rows_out(g, f), NONE, NONE, NONE, NONE],
                [0.0; 4],
            )?;
            linear(
                &mut b,
                "fwd.ffn2",
                g,
                wgt("layer.ffn.w2"),
                prm("layer.ffn.b2"),
                fo,
                (t, f, d),
            )?;
            b.vector(
                "fwd.residual2",
                VectorOp::Add,
                td,
                [
                    rows_in(y1, d),
                    rows_out(z2, d),
                    rows_in(fo, d),
                    NONE,
                    NONE,
                    NONE,
                ],
                [0.0; 4],
            )?;
            layernorm(
                &mut b,
                "fwd.ln2",
                z2,
                prm("layer.ln2.gamma"),
                prm("layer.ln2.beta"),
                y,
                st2,
            )?;
        }
        // ---- loss
        b.scope.clear();
        let (y, dy) = (layers[top].y, layers[top].dy);
        b.vector(
            "loss.mse",
            VectorOp::MseLoss,
            td,
            [
                rows_in(y, d),
                rows_out(dy, d),
                rows_in(target, d),
                sum_out(
                    View {
                        addr: loss.addr + step * 4,
                        ld: 1,
                        fmt: NumberFormat::Fp32,
                    },
                    1,
                ),
                NONE,
                NONE,
            ],
            [1.0 / (t * d) as f32, 0.0, 0.0, 0.0],
        )?;
        // ---- backward
        for l in (0..layers.len()).rev() {
            b.scope = scope(l);
            let LayerT {
                x,
                q,
                k,
                v,
                probs,
                ctx,
                z1,
                y1,
                st1,
                hp,
                z2,
                st2,
                dy,
                dz2,
                dg,
                dh_pre,
                dy1_ffn,
                dy1,
                dz1,
                dctx,
                dp,
                ds,
                ds_scaled,
                dq,
                dk,
                dv,
                dxq,
                dxk,
                dxv,
                dx,
                pair1,
                pair2,
                ..
            } = layers[l].clone();
            let (pm, gm) = (layers[l].p.clone(), layers[l].g.clone());
            let prm = |n: &str| pm[n];
            // GEMMs read a weight's 8-bit copy when there is one.
            let w8 = layers[l].w8.clone();
            let wgt = |n: &str| w8.get(n).copied().unwrap_or(pm[n]);
            let grd = |n: &str| gm[n];
            let g = layers[l].g_act;
            let layernorm_bwd = |b: &mut Builder,
                                 op: &str,
                                 dout: View,
                                 z: View,
                                 gamma: View,
                                 st: View,
                                 dz: View,
                                 dgb: View| {
                b.rows_op(
                    op,
                    SfuOp::LayerNormBwd,
                    td,
                    [
                        rows_in(dout, d),
                        rows_out(dz, d),
                        vec_in(gamma, d),
                        rows_in(z, d),
                        rows_in(st, 2),
                        sum_out(dgb, 2 * d),
                    ],
                    [0.0; 4],
                )
            };
            layernorm_bwd(
                &mut b,
                "bwd.ln2",
                dy,
                z2,
                prm("layer.ln2.gamma"),
                st2,
                dz2,
                pair2,
            )?;
            let column_sum =
                |b: &mut Builder, op: &str, src: View, (rows, cols): (u64, u64), to: View| {
                    b.vector(
                        op,
                        VectorOp::ColumnSum,
                        (rows, cols),
                        [
                            rows_in(src, cols),
                            sum_out(to, cols),
                            NONE,
                            NONE,
                            NONE,
                            NONE,
                        ],
                        [0.0; 4],
                    )
                };
            // Linear backward of weight `wn` and bias `bn`: dW = xᵀ·dy, db =
            // column sums of dy, dx = dy·Wᵀ. With the update fused into the dW
            // GEMM, dx goes first: that GEMM rewrites W (and its 8-bit copy).
            let linear_bwd = |b: &mut Builder,
                              op: &str,
                              xin: View,
                              wn: &str,
                              dout: View,
                              (m, k, n): (u64, u64, u64),
                              bn: &str,
                              dxin: View| {
                let dgrad = |b: &mut Builder| {
                    b.gemm(
                        &format!("{op}.dgrad"),
                        (dout, false),
                        (wgt(wn), true),
                        dxin,
                        (m, n, k),
                        grad_w,
                    )
                };
                if fused {
                    dgrad(b)?;
                }
                let update = fused.then(|| UpdateEpilogue {
                    w: pm[wn].addr,
                    ldw: pm[wn].ld,
                    copy: w8.get(wn).map(|c| (c.addr, c.ld, c.fmt)),
                    lr: config.lr,
                    keep_gradient: config.keep_gradients,
                });
                b.gemm_update(
                    &format!("{op}.wgrad"),
                    (xin, true),
                    (dout, false),
                    grd(wn),
                    (k, m, n),
                    act_grad,
                    update,
                )?;
                column_sum(b, &format!("{op}.bgrad"), dout, (m, n), grd(bn))?;
                if fused {
                    Ok(())
                } else {
                    dgrad(b)
                }
            };
            if config.recompute {
                // The FFN activations of this layer, again (another layer's may be
                // in their buffers).
                linear(
                    &mut b,
                    "recompute.ffn1",
                    y1,
                    wgt("layer.ffn.w1"),
                    prm("layer.ffn.b1"),
                    hp,
                    (t, d, f),
                )?;
                b.rows_op(
                    "recompute.gelu",
                    SfuOp::GeluFwd,
                    (t, f),
                    [rows_in(hp, f), rows_out(g, f), NONE, NONE, NONE, NONE],
                    [0.0; 4],
                )?;
            }
            linear_bwd(
                &mut b,
                "bwd.ffn2",
                g,
                "layer.ffn.w2",
                dz2,
                (t, f, d),
                "layer.ffn.b2",
                dg,
            )?;
            b.rows_op(
                "bwd.gelu",
                SfuOp::GeluBwd,
                (t, f),
                [
                    rows_in(dg, f),
                    rows_out(dh_pre, f),
                    rows_in(hp, f),
                    NONE,
                    NONE,
                    NONE,
                ],
                [0.0; 4],
            )?;
            linear_bwd(
                &mut b,
                "bwd.ffn1",
                y1,
                "layer.ffn.w1",
                dh_pre,
                (t, d, f),
                "layer.ffn.b1",
                dy1_ffn,
            )?;
            b.vector(
                "bwd.residual2",
                VectorOp::Add,
                td,
                [
                    rows_in(dz2, d),
                    rows_out(dy1, d),
                    rows_in(dy1_ffn, d),
                    NONE,
                    NONE,
                    NONE,
                ],
                [0.0; 4],
            )?;
            layernorm_bwd(
                &mut b,
                "bwd.ln1",
                dy1,
                z1,
                prm("layer.ln1.gamma"),
                st1,
                dz1,
                pair1,
            )?;
            linear_bwd(
                &mut b,
                "bwd.o_proj",
                ctx,
                "layer.attn.wo",
                dz1,
                (t, d, d),
                "layer.attn.bo",
                dctx,
            )?;
            for (bi, hi, i) in all_heads() {
                b.gemm(
                    &format!("bwd.pv.dp.b{bi}h{hi}"),
                    (head(dctx, bi, hi), false),
                    (head(v, bi, hi), true),
                    block(dp, i),
                    (s, dh, s),
                    grad_act,
                )?;
                b.gemm(
                    &format!("bwd.pv.dv.b{bi}h{hi}"),
                    (block(probs, i), true),
                    (head(dctx, bi, hi), false),
                    head(dv, bi, hi),
                    (s, s, dh),
                    act_grad,
                )?;
            }
            b.rows_op(
                "bwd.softmax",
                SfuOp::SoftmaxBwd,
                sq,
                [
                    rows_in(dp, s),
                    rows_out(ds, s),
                    rows_in(probs, s),
                    NONE,
                    NONE,
                    NONE,
                ],
                [0.0; 4],
            )?;
            // The scores were scaled inside the softmax: their gradient carries the scale.
            b.vector(
                "bwd.softmax.scale",
                VectorOp::Scale,
                sq,
                [
                    rows_in(ds, s),
                    rows_out(ds_scaled, s),
                    NONE,
                    NONE,
                    NONE,
                    NONE,
                ],
                [scale, 0.0, 0.0, 0.0],
            )?;
            for (bi, hi, i) in all_heads() {
                b.gemm(
                    &format!("bwd.qk_t.dq.b{bi}h{hi}"),
                    (block(ds_scaled, i), false),
                    (head(k, bi, hi), false),
                    head(dq, bi, hi),
                    (s, s, dh),
                    grad_act,
                )?;
                b.gemm(
                    &format!("bwd.qk_t.dk.b{bi}h{hi}"),
                    (block(ds_scaled, i), true),
                    (head(q, bi, hi), false),
                    head(dk, bi, hi),
                    (s, s, dh),
                    grad_act,
                )?;
            }
            for (proj, dproj, dxp) in [("q", dq, dxq), ("k", dk, dxk), ("v", dv, dxv)] {
                linear_bwd(
                    &mut b,
                    &format!("bwd.{proj}_proj"),
                    x,
                    &format!("layer.attn.w{proj}"),
                    dproj,
                    (t, d, d),
                    &format!("layer.attn.b{proj}"),
                    dxp,
                )?;
            }
            b.vector(
                "bwd.dx.q",
                VectorOp::Add,
                td,
                [
                    rows_in(dz1, d),
                    rows_out(dx, d),
                    rows_in(dxq, d),
                    NONE,
                    NONE,
                    NONE,
                ],
                [0.0; 4],
            )?;
            b.vector(
                "bwd.dx.k",
                VectorOp::Add,
                td,
                [
                    rows_in(dx, d),
                    rows_out(dx, d),
                    rows_in(dxk, d),
                    NONE,
                    NONE,
                    NONE,
                ],
                [0.0; 4],
            )?;
            b.vector(
                "bwd.dx.v",
                VectorOp::Add,
                td,
                [
                    rows_in(dx, d),
                    rows_out(dx, d),
                    rows_in(dxv, d),
                    NONE,
                    NONE,
                    NONE,
                ],
                [0.0; 4],
            )?;
            // dγ, dβ from their pairs (a DMA copy of each half through SRAM).
            for (pair, ln) in [(pair1, "ln1"), (pair2, "ln2")] {
                for (half, which) in [(0, "gamma"), (1, "beta")] {
                    let src = View {
                        addr: pair.addr + half * d * 4,
                        ld: d,
                        fmt: NumberFormat::Fp32,
                    };
                    b.vector(
                        &format!("bwd.{ln}.d{which}"),
                        VectorOp::Copy,
                        (1, d),
                        [
                            rows_in(src, d),
                            rows_out(grd(&format!("layer.{ln}.{which}")), d),
                            NONE,
                            NONE,
                            NONE,
                            NONE,
                        ],
                        [0.0; 4],
                    )?;
                }
            }
        }
        // ---- the update, in place: SGD W = W − f32(lr·dW), or momentum, or Adam.
        b.scope.clear();
        for (l, layer) in layers.iter().enumerate() {
            for (name, shape) in PARAMS {
                if fused && shape.is_matrix() {
                    continue;
                }
                let (r, c) = shape.dims(e);
                let (w, grad) = (layer.p[name], layer.g[name]);
                let op = format!("sgd.{}", tensor_name(name, l as u64, layers_n));
                let (vector, state, scalars) = match config.optimizer {
                    Optimizer::Sgd => (
                        VectorOp::SgdUpdate,
                        [NONE, NONE],
                        [config.lr, 0.0, 0.0, 0.0],
                    ),
                    Optimizer::Momentum { mu } => (
                        VectorOp::SgdMomentum,
                        [rows_inout(layer.m1[name], c), NONE],
                        [config.lr, mu, 0.0, 0.0],
                    ),
                    Optimizer::Adam { beta1, beta2, eps } => {
                        // Bias correction of step t folded into the learning rate.
                        let t = (step + 1) as i32;
                        let lr_t = config.lr * (1.0 - beta2.powi(t)).sqrt() / (1.0 - beta1.powi(t));
                        (
                            VectorOp::Adam,
                            [rows_inout(layer.m1[name], c), rows_inout(layer.m2[name], c)],
                            [lr_t, beta1, beta2, eps],
                        )
                    }
                };
                b.vector(
                    &op,
                    vector,
                    (r, c),
                    [
                        rows_in(w, c),
                        rows_out_copy(w, c, layer.w8.get(name).copied()),
                        rows_in(grad, c),
                        state[0],
                        state[1],
                        NONE,
                    ],
                    scalars,
                )?;
            }
        }
    }
    let parameters = (0..layers_n)
        .flat_map(|l| PARAMS.iter().map(move |(n, _)| tensor_name(n, l, layers_n)))
        .collect();
    let unstored = if fused && !config.keep_gradients {
        (0..layers_n)
            .flat_map(|l| {
                PARAMS
                    .iter()
                    .filter(|(_, shape)| shape.is_matrix())
                    .map(move |(n, _)| tensor_name(&format!("grad.{n}"), l, layers_n))
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(StepProgram {
        parameters,
        unstored,
        queue_of: b.queue_of,
        descriptors: b.out,
        tensors: b.tensors,
        plan: b.plan,
    })
}
