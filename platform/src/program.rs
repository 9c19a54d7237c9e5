//! From a scenario's workload to command streams: the firmware's lowering for a
//! `gemm_list`, the literal descriptors of a `commands` program.

use crate::preset::PlatformConfig;
use crate::scenario::{
    CommandOp, CommandSpec, LoadedScenario, OptimizerKind, VectorName, WorkloadKind,
};
use treta_abi::regs::QUEUES;
use treta_abi::{Command, Descriptor, DmaDesc, GemmDesc, NumberFormat, SfuDesc, SfuOp, VectorOp};
use treta_lower::gemm::{lower_gemm, lower_gemm_pipelined, GemmJob, Pipeline, Tiling};
use treta_lower::step::{lower_lm_step, lower_training_step, ClassFormats, Optimizer, StepConfig};
use treta_lower::{Program, Region, SramPlan};

/// Where the driver's rings live in device DRAM.
pub const RING_BASE: u64 = 0;
/// Descriptors per ring.
pub const RING_SIZE: u32 = 16384;
/// Where tensors start in device DRAM (after the rings).
pub const TENSOR_BASE: u64 = 16 << 20;

/// The GEMM index a descriptor id of a lowered `gemm_list` belongs to.
pub fn gemm_index_of(id: u32) -> usize {
    (id >> 16) as usize
}

/// Where GEMM tiles live: A, B and C in the `inputs`, `weights` and `outputs`
/// buffers when the SRAM has all three, else the whole SRAM shared.
fn sram_plan(config: &PlatformConfig) -> SramPlan {
    let region = |name| {
        config.sram.buffer(name).map(|b| Region {
            base: u32::try_from(b.base).unwrap_or(u32::MAX),
            bytes: b.bytes,
        })
    };
    match (region("inputs"), region("weights"), region("outputs")) {
        (Some(a), Some(b), Some(c)) => SramPlan::Split { a, b, c },
        _ => SramPlan::Unified(Region {
            base: 0,
            bytes: config.sram.bytes,
        }),
    }
}

/// One `gemm_list` GEMM as (queue, descriptor) pairs: pipelined over queues
/// 0–2 (loads, compute, stores) in a unified SRAM; in one queue when the SRAM
/// has `inputs`, `weights` and `outputs` buffers, which hold one tile each.
fn lower_gemm_list_entry(
    job: &GemmJob,
    config: &PlatformConfig,
) -> Result<(Vec<(u8, Descriptor)>, Tiling), treta_lower::LowerError> {
    match sram_plan(config) {
        SramPlan::Unified(region) => {
            let pipe = Pipeline {
                load_queue: 0,
                compute_queue: 1,
                store_queue: 2,
                first_sem: 0,
            };
            lower_gemm_pipelined(job, region, &config.machine(), pipe, 0)
        }
        plan => {
            let (descs, t) = lower_gemm(job, &plan, 0)?;
            Ok((descs.into_iter().map(|d| (0, d)).collect(), t))
        }
    }
}

/// Builds the program of `loaded`.
pub fn build(loaded: &LoadedScenario) -> Result<Program, String> {
    let (scenario, config) = (&loaded.scenario, &loaded.platform);
    let mut program = Program {
        queues: vec![Vec::new(); QUEUES],
        issue_order: Vec::new(),
        tilings: Vec::new(),
        step: None,
        gemm_ends: Vec::new(),
    };
    match scenario.workload.kind {
        WorkloadKind::EncoderTrainingStep => {
            let dims = loaded
                .encoder
                .ok_or("workload: an encoder_training_step without dimensions")?;
            let step_config = step_config(&scenario.workload, config);
            let sram = Region {
                base: 0,
                bytes: config.sram.bytes,
            };
            let step =
                lower_training_step(&dims, &step_config, sram, TENSOR_BASE, config.dram.bytes)
                    .map_err(|e| format!("workload: {e}"))?;
            for (d, &q) in step.descriptors.iter().zip(&step.queue_of) {
                program.push(q, d.clone());
            }
            program.step = Some(step);
        }
        WorkloadKind::LmTrainingStep => {
            let lm = loaded
                .lm
                .as_ref()
                .ok_or("workload: an lm_training_step without a model")?;
            let sram = Region {
                base: 0,
                bytes: config.sram.bytes,
            };
            let step = lower_lm_step(
                &lm.spec,
                &lm.batch,
                &step_config(&scenario.workload, config),
                sram,
                TENSOR_BASE,
                config.dram.bytes,
            )
            .map_err(|e| format!("workload: {e}"))?;
            for (d, &q) in step.descriptors.iter().zip(&step.queue_of) {
                program.push(q, d.clone());
            }
            program.step = Some(step);
        }
        WorkloadKind::GemmList => {
            let mut next = TENSOR_BASE;
            let mut alloc = |bytes: u64, what: &str| -> Result<u64, String> {
                let at = next;
                next = at
                    .checked_add(bytes.div_ceil(64) * 64)
                    .filter(|&end| end <= config.dram.bytes)
                    .ok_or_else(|| {
                        format!(
                            "workload: the tensors do not fit in the {}-byte DRAM (at {what})",
                            config.dram.bytes
                        )
                    })?;
                Ok(at)
            };
            for (gi, g) in scenario.workload.gemms.iter().enumerate() {
                if gi > 0xffff {
                    return Err("workload.gemms: more than 65536 GEMMs".into());
                }
                let format = g.format.map_or(config.gemm.operand_format, |f| f.0);
                let c_format = g.c_format.map_or(NumberFormat::Fp32, |f| f.0);
                let (m, k, n) = (g.m.get(), g.k.get(), g.n.get());
                let eb = u64::from(format.bytes());
                let ec = u64::from(c_format.bytes());
                let mut seq = 0u32;
                let mut tiling = None;
                for _ in 0..g.count.get() {
                    let job = GemmJob {
                        transpose_a: g.transpose_a,
                        transpose_b: g.transpose_b,
                        ..GemmJob::packed(
                            m,
                            k,
                            n,
                            [
                                alloc(u64::from(m) * u64::from(k) * eb, &g.name)?,
                                alloc(u64::from(k) * u64::from(n) * eb, &g.name)?,
                                alloc(u64::from(m) * u64::from(n) * ec, &g.name)?,
                            ],
                            format,
                        )
                    };
                    let job = GemmJob { c_format, ..job };
                    let (descs, t) = lower_gemm_list_entry(&job, config)
                        .map_err(|e| format!("workload.gemms[{gi}] ({}): {e}", g.name))?;
                    for (q, mut d) in descs {
                        d.id = ((gi as u32) << 16) | (seq & 0xffff);
                        seq = seq.wrapping_add(1);
                        program.push(q, d);
                    }
                    tiling = Some(t);
                }
                program.tilings.extend(tiling);
                // The last descriptor issued is the last to complete: the
                // pipelined lowering ends each instance with its load queue
                // waiting for the last store, the single queue runs in order.
                program
                    .gemm_ends
                    .push(((gi as u32) << 16) | (seq.wrapping_sub(1) & 0xffff));
            }
        }
        WorkloadKind::Commands => {
            for (i, c) in scenario.workload.commands.iter().enumerate() {
                let desc = Descriptor {
                    id: i as u32,
                    command: command(c, config),
                };
                program.push(c.queue, desc);
            }
        }
    }
    Ok(program)
}

/// How a training step trains: the workload's training keys with their
/// defaults, planned for `config`'s machine.
fn step_config(w: &crate::scenario::Workload, config: &PlatformConfig) -> StepConfig {
    StepConfig {
        machine: config.machine(),
        lr: w.lr.unwrap_or(0.01),
        optimizer: match w.optimizer {
            None => Optimizer::Sgd,
            Some(o) => match o.kind {
                OptimizerKind::Sgd => Optimizer::Sgd,
                OptimizerKind::Momentum => Optimizer::Momentum {
                    mu: o.momentum.unwrap_or(0.9),
                },
                OptimizerKind::Adam => Optimizer::Adam {
                    beta1: o.beta1.unwrap_or(0.9),
                    beta2: o.beta2.unwrap_or(0.999),
                    eps: o.eps.unwrap_or(1e-8),
                },
            },
        },
        formats: {
            let all = w.gemm_format.map_or(NumberFormat::Fp32, |f| f.0);
            let per = w.formats.unwrap_or_default();
            let pick = |f: Option<crate::scenario::Format>| f.map_or(all, |f| f.0);
            ClassFormats {
                activations: pick(per.activations),
                weights: pick(per.weights),
                gradients: pick(per.gradients),
            }
        },
        steps: w.steps.map_or(1, |s| s.get()),
        layers: w.layers.map_or(1, |s| s.get()),
        overlap: w.overlap.map_or(StepConfig::default().overlap, |o| o.0),
        recompute: w.recompute.unwrap_or(false),
        weight_copies: w.weight_copies.unwrap_or(true),
        fuse_update: w.fuse_update.unwrap_or(true),
        fuse_epilogues: w.fuse_epilogues.unwrap_or(true),
        // A golden comparison (one step) reads the weight gradients back;
        // after more steps nothing is compared.
        keep_gradients: w.keep_gradients.unwrap_or(false)
            || (w.golden.is_some() && w.steps.is_none_or(|s| s.get() == 1)),
        ..StepConfig::default()
    }
}

/// The descriptor of one `commands` entry (fields were checked when loading).
fn command(c: &CommandSpec, config: &PlatformConfig) -> Command {
    let u = |v: Option<crate::scenario::Positive>| v.map_or(0, |p| p.get());
    let format = |default: NumberFormat| c.format.map_or(default, |f| f.0);
    let sfu = |op: SfuOp| {
        // Defaults: softmax scale 1, LayerNorm ε 1e-5 (the golden data's).
        let mut scalars = match op {
            SfuOp::SoftmaxFwd | SfuOp::SoftmaxCausalFwd => [1.0, 0.0, 0.0, 0.0],
            SfuOp::LayerNormFwd => [1e-5, 0.0, 0.0, 0.0],
            _ => [0.0; 4],
        };
        if let Some(given) = &c.scalars {
            scalars = [0.0; 4];
            scalars.iter_mut().zip(given).for_each(|(s, &g)| *s = g);
        }
        Command::Sfu(SfuDesc {
            op,
            rows: u(c.rows),
            cols: u(c.cols),
            src_addr: c.sram.unwrap_or(0),
            dst_addr: c.c.unwrap_or(0),
            aux0_addr: c.a.unwrap_or(0),
            aux1_addr: c.b.unwrap_or(0),
            aux2_addr: c.aux2.unwrap_or(0),
            aux3_addr: c.aux3.unwrap_or(0),
            format: format(NumberFormat::Fp32),
            scalars,
            accumulate: c.accumulate.unwrap_or(false),
        })
    };
    let dma = |op: CommandOp| {
        let d = DmaDesc {
            // A copy's source is in SRAM, at `a`.
            dram_addr: match op {
                CommandOp::DmaCopy => u64::from(c.a.unwrap_or(0)),
                _ => c.dram.unwrap_or(0),
            },
            sram_addr: c.sram.unwrap_or(0),
            rows: u(c.rows),
            row_bytes: u(c.cols),
            sram_stride: 0,
            dram_stride: c.stride.unwrap_or(0),
            planes: 1,
            sram_plane_stride: 0,
            dram_plane_stride: 0,
            transpose: false,
            src_format: format(NumberFormat::Fp32),
            dst_format: format(NumberFormat::Fp32),
        };
        match op {
            CommandOp::DmaLoad => Command::DmaLoad(d),
            CommandOp::DmaStore => Command::DmaStore(d),
            _ => Command::DmaCopy(d),
        }
    };
    match c.op {
        CommandOp::Nop => Command::Nop,
        CommandOp::Fence => Command::Fence,
        CommandOp::DmaLoad | CommandOp::DmaStore | CommandOp::DmaCopy => dma(c.op),
        CommandOp::Gemm => {
            let f = format(config.gemm.operand_format);
            Command::Gemm(GemmDesc::packed(
                u(c.m),
                u(c.k),
                u(c.n),
                [c.a.unwrap_or(0), c.b.unwrap_or(0), c.c.unwrap_or(0)],
                f,
            ))
        }
        CommandOp::SoftmaxFwd => sfu(SfuOp::SoftmaxFwd),
        CommandOp::SoftmaxBwd => sfu(SfuOp::SoftmaxBwd),
        CommandOp::LayernormFwd => sfu(SfuOp::LayerNormFwd),
        CommandOp::LayernormBwd => sfu(SfuOp::LayerNormBwd),
        CommandOp::GeluFwd => sfu(SfuOp::GeluFwd),
        CommandOp::GeluBwd => sfu(SfuOp::GeluBwd),
        CommandOp::SoftmaxCausalFwd => sfu(SfuOp::SoftmaxCausalFwd),
        CommandOp::Vector => sfu(SfuOp::Vector(match c.vector {
            Some(VectorName::Add) | None => VectorOp::Add,
            Some(VectorName::Sub) => VectorOp::Sub,
            Some(VectorName::Mul) => VectorOp::Mul,
            Some(VectorName::Scale) => VectorOp::Scale,
            Some(VectorName::AddBias) => VectorOp::AddBias,
            Some(VectorName::SgdUpdate) => VectorOp::SgdUpdate,
            Some(VectorName::Copy) => VectorOp::Copy,
            Some(VectorName::ColumnSum) => VectorOp::ColumnSum,
            Some(VectorName::MseLoss) => VectorOp::MseLoss,
            Some(VectorName::SgdMomentum) => VectorOp::SgdMomentum,
            Some(VectorName::Adam) => VectorOp::Adam,
            Some(VectorName::Logsumexp) => VectorOp::LogSumExp,
            Some(VectorName::CrossEntropyBwd) => VectorOp::CrossEntropyBwd,
        })),
        CommandOp::SemSignal => Command::SemSignal {
            sem: c.sem.unwrap_or(0),
        },
        CommandOp::SemWait => Command::SemWait {
            sem: c.sem.unwrap_or(0),
            count: c.count.unwrap_or(1),
        },
        CommandOp::Irq => Command::Irq {
            code: c.count.unwrap_or(0),
        },
    }
}
