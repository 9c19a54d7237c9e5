//! [`Builder`]: the command stream of a step as it grows — DRAM tensors
//! allocated, commands appended to queues, a plan entry per operation — and its
//! DMA copies and GEMMs (row operations are in `rows.rs`).

use super::config::Overlap;
use super::config::StepConfig;
use super::plan::{DramTensor, HostInput, PlanEntry, StepProgram, TensorView};
use crate::gemm::{
    dma, lower_gemm, lower_gemm_batch_pipelined, Epilogue, GemmJob, Machine, Pipeline, Resident,
    Tiling, UpdateEpilogue,
};
use crate::sram::align;
use crate::{LowerError, Region, SramPlan};
use treta_abi::{Command, Descriptor, NumberFormat};

/// A strided view of a DRAM tensor: `addr`, `ld` elements between rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct View {
    /// DRAM address of the first element.
    pub(super) addr: u64,
    /// Elements between rows.
    pub(super) ld: u64,
    /// Element format in DRAM (fp32 but for the weights' 8-bit copies).
    pub(super) fmt: NumberFormat,
}

impl View {
    /// The fp32 view `bytes` past this one's start, `ld` elements between rows.
    pub(super) fn fp32_at(self, bytes: u64, ld: u64) -> View {
        View {
            addr: self.addr + bytes,
            ld,
            fmt: NumberFormat::Fp32,
        }
    }

    /// The view `elems` elements past this one's start, in its own format,
    /// `ld` elements between rows: a head's columns or a block of a tensor
    /// that may be kept narrower than fp32.
    pub(super) fn elems_at(self, elems: u64, ld: u64) -> View {
        View {
            addr: self.addr + elems * u64::from(self.fmt.bytes()),
            ld,
            fmt: self.fmt,
        }
    }
}

/// A step's command stream under construction.
pub(super) struct Builder {
    /// The queue of each command in `out`.
    pub(super) queue_of: Vec<u8>,
    /// Which operations pipeline across queues.
    pub(super) overlap: Overlap,
    /// The machine the pipelined GEMMs are planned for.
    machine: Machine,
    /// Prefix of plan entries (`layer3.` in a stack).
    pub(super) scope: String,
    /// The SRAM the step's tiles live in.
    pub(super) sram: Region,
    /// The same SRAM as a GEMM budget.
    gemm_plan: SramPlan,
    /// Next free DRAM address.
    next: u64,
    /// End of the DRAM the tensors may take.
    end: u64,
    /// Every tensor, in allocation order.
    pub(super) tensors: Vec<DramTensor>,
    /// The commands, in issue order.
    pub(super) out: Vec<Descriptor>,
    /// A plan entry per operation.
    pub(super) plan: Vec<PlanEntry>,
    /// The DRAM names of the parameters.
    pub(super) parameters: Vec<String>,
    /// Tensors allocated but never written.
    pub(super) unstored: Vec<String>,
    /// Reference tensors held under another name or order.
    pub(super) views: Vec<TensorView>,
    /// Bytes the host writes before the run.
    pub(super) host_inputs: Vec<HostInput>,
}

impl Builder {
    /// An empty stream: tiles in `sram`, tensors from `dram_base` up to
    /// `dram_end`, pipelined and planned as `config` says.
    pub(super) fn new(sram: Region, dram_base: u64, dram_end: u64, config: &StepConfig) -> Builder {
        let overlap = config.overlap;
        Builder {
            machine: config.machine.clone(),
            sram,
            gemm_plan: SramPlan::Unified(sram),
            next: dram_base,
            end: dram_end,
            tensors: Vec::new(),
            out: Vec::new(),
            plan: Vec::new(),
            scope: String::new(),
            queue_of: Vec::new(),
            overlap,
            parameters: Vec::new(),
            unstored: Vec::new(),
            views: Vec::new(),
            host_inputs: Vec::new(),
        }
    }

    /// The finished program of a step trained by `config`.
    pub(super) fn finish(self, config: &StepConfig) -> StepProgram {
        StepProgram {
            descriptors: self.out,
            queue_of: self.queue_of,
            tensors: self.tensors,
            plan: self.plan,
            parameters: self.parameters,
            optimizer: config.optimizer,
            unstored: self.unstored,
            views: self.views,
            host_inputs: self.host_inputs,
        }
    }

    /// An fp32 tensor.
    pub(super) fn alloc(&mut self, name: &str, rows: u64, cols: u64) -> Result<View, LowerError> {
        self.alloc_in(name, rows, cols, NumberFormat::Fp32)
    }

    /// A tensor of `fmt` elements.
    pub(super) fn alloc_in(
        &mut self,
        name: &str,
        rows: u64,
        cols: u64,
        fmt: NumberFormat,
    ) -> Result<View, LowerError> {
        let addr = self.next;
        let bytes = rows * cols * u64::from(fmt.bytes());
        self.next = align(addr + bytes);
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

    /// Records that the tensor at `view` is never written (an epilogue folded
    /// it into the next value), so dumps and comparisons skip it.
    pub(super) fn mark_unstored(&mut self, view: View) {
        let name = self
            .tensors
            .iter()
            .find(|t| t.addr == view.addr)
            .map(|t| t.name.clone());
        if let Some(name) = name {
            if !self.unstored.contains(&name) {
                self.unstored.push(name);
            }
        }
    }

    /// Appends `command` to queue 0.
    fn emit(&mut self, command: Command) {
        self.emit_on(0, command);
    }

    /// Appends `command` to `queue`, with the next descriptor id.
    pub(super) fn emit_on(&mut self, queue: u8, command: Command) {
        let id = self.out.len() as u32;
        self.out.push(Descriptor { id, command });
        self.queue_of.push(queue);
    }

    /// Copies fp32 `src` (rows × cols) to `dst` in `dst.fmt` through the SRAM,
    /// the DMA converting on the store.
    pub(super) fn convert(
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
    pub(super) fn gemm(
        &mut self,
        op: &str,
        a: (View, bool),
        b: (View, bool),
        c: View,
        dims: (u64, u64, u64),
        formats: [NumberFormat; 2],
    ) -> Result<(), LowerError> {
        self.gemm_then(op, a, b, c, dims, formats, Finish::default())
    }

    /// [`Builder::gemm`], with elementwise epilogue steps on each C tile
    /// before its store and an optional SGD update of weights shaped like C
    /// after it (see [`Epilogue`], [`UpdateEpilogue`]).
    #[allow(clippy::too_many_arguments)] // a GEMM's operands, shape and epilogue
    pub(super) fn gemm_then(
        &mut self,
        op: &str,
        (a, ta): (View, bool),
        (b, tb): (View, bool),
        c: View,
        dims: (u64, u64, u64),
        formats: [NumberFormat; 2],
        finish: Finish,
    ) -> Result<(), LowerError> {
        let one = BatchGemm { a, b, c, finish };
        self.gemm_batch(op, (ta, tb), vec![one], dims, formats)
    }

    /// Independent GEMMs of one shape — the heads of an attention layer — as
    /// one operation: pipelined, their tiles share one pipeline, so one
    /// GEMM's loads overlap the last one's compute and stores (see
    /// [`lower_gemm_batch_pipelined`]); else one after another.
    pub(super) fn gemm_batch(
        &mut self,
        op: &str,
        (ta, tb): (bool, bool),
        gemms: Vec<BatchGemm>,
        (m, k, n): (u64, u64, u64),
        formats: [NumberFormat; 2],
    ) -> Result<(), LowerError> {
        let count = gemms.len();
        let jobs: Vec<GemmJob> = gemms
            .into_iter()
            .map(|BatchGemm { a, b, c, finish }| GemmJob {
                update: finish.update,
                epilogue: finish.epilogue,
                transpose_a: ta,
                transpose_b: tb,
                compute_formats: formats,
                ld: [a.ld, b.ld, c.ld],
                formats: [a.fmt, b.fmt],
                c_format: c.fmt,
                ..GemmJob::packed(
                    m as u32,
                    k as u32,
                    n as u32,
                    [a.addr, b.addr, c.addr],
                    NumberFormat::Fp32,
                )
            })
            .collect();
        let Some(first_job) = jobs.first() else {
            return Ok(());
        };
        let steps = epilogue_names(&first_job.epilogue);
        let update = first_job.update.is_some();
        let first = self.out.len() as u32;
        let context = |e: LowerError| LowerError(format!("{op}: {e}"));
        let pipelined = self.overlap.gemm;
        let (descs, t) = if pipelined {
            let pipe = Pipeline {
                load_queue: 0,
                compute_queue: 1,
                store_queue: 2,
                first_sem: 0,
            };
            lower_gemm_batch_pipelined(&jobs, self.sram, &self.machine, pipe, first)
                .map_err(context)?
        } else {
            let mut all = Vec::new();
            let mut tiling: Option<Tiling> = None;
            for job in &jobs {
                let id = first + all.len() as u32;
                let (descs, t) = lower_gemm(job, &self.gemm_plan, id).map_err(context)?;
                all.extend(descs.into_iter().map(|d| (0, d)));
                tiling = Some(match tiling {
                    None => t,
                    Some(sum) => Tiling {
                        tiles: sum.tiles + t.tiles,
                        dram_bytes: sum.dram_bytes + t.dram_bytes,
                        dram_floor_bytes: sum.dram_floor_bytes + t.dram_floor_bytes,
                        ..sum
                    },
                });
            }
            let t = tiling.ok_or_else(|| LowerError(format!("{op}: no GEMMs")))?;
            (all, t)
        };
        self.plan.push(PlanEntry {
            op: format!("{}{op}", self.scope),
            first: first as usize,
            engine: "gemm",
            detail: format!(
                "{m}×{k}×{n}{}{}{} in {} tiles of {}×{}×{}, {} × {}; SRAM A {:#x}, B {:#x}, C {:#x}{}{}; DRAM floor {} B",
                if ta { ", Aᵀ" } else { "" },
                if tb { ", Bᵀ" } else { "" },
                if count > 1 {
                    format!(", {count} GEMMs in one pipeline")
                } else {
                    String::new()
                },
                t.tiles,
                t.tm,
                t.tk,
                t.tn,
                formats[0].name(),
                formats[1].name(),
                t.sram[0],
                t.sram[1],
                t.sram[2],
                match (pipelined, t.resident, t.c_buffers) {
                    (false, _, _) => "",
                    (true, Resident::A, _) => " (B and C ×2, A resident)",
                    (true, Resident::B, _) => " (A and C ×2, B resident)",
                    (true, Resident::None, 1) => " (A and B ×2, C ×1)",
                    (true, Resident::None, _) => " (×2)",
                },
                if update {
                    ", SGD update fused".to_string()
                } else {
                    steps
                },
                t.dram_floor_bytes
            ),
            descriptors: descs.len(),
        });
        for (q, d) in descs {
            self.emit_on(q, d.command);
        }
        Ok(())
    }
}

/// One GEMM of a [`Builder::gemm_batch`]: its operands, result and epilogue.
pub(super) struct BatchGemm {
    /// A (transposed as the batch says).
    pub(super) a: View,
    /// B.
    pub(super) b: View,
    /// C.
    pub(super) c: View,
    /// Its epilogue.
    pub(super) finish: Finish,
}

/// What a GEMM does with each finished C tile besides storing it.
#[derive(Clone, Debug, Default)]
pub(super) struct Finish {
    /// Elementwise steps before the store.
    pub(super) epilogue: Vec<Epilogue>,
    /// An SGD update of the weights dW = C belongs to, after it.
    pub(super) update: Option<UpdateEpilogue>,
}

/// `", epilogue bias + gelu"` for a plan entry's detail ("" for none).
fn epilogue_names(steps: &[Epilogue]) -> String {
    let names: Vec<&str> = steps
        .iter()
        .map(|s| match s {
            Epilogue::Bias(_) => "bias",
            Epilogue::Add { .. } => "add",
            Epilogue::Store { .. } => "store",
            Epilogue::Gelu => "gelu",
            Epilogue::GeluBwd { .. } => "gelu'",
            Epilogue::ColumnSum {
                of_loaded: false, ..
            } => "column sums",
            Epilogue::ColumnSum {
                of_loaded: true, ..
            } => "column sums of R",
            Epilogue::Softmax { .. } => "softmax",
            Epilogue::SoftmaxBwd { .. } => "softmax'",
            Epilogue::Scale(_) => "scale",
        })
        .collect();
    if names.is_empty() {
        String::new()
    } else {
        format!(", epilogue {}", names.join(" + "))
    }
}

/// fp32 in DRAM and in SRAM: a DMA that converts nothing.
pub(super) const FP32: (NumberFormat, NumberFormat) = (NumberFormat::Fp32, NumberFormat::Fp32);
