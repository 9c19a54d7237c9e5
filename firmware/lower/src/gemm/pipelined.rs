//! A GEMM as a three-stage pipeline (loads, compute, stores) over three queues
//! and double buffers, ordered by semaphores.

use super::search::{plan_pipelined, Machine, PipelinedPlan};
use super::tiles::output_tiles;
use super::{GemmJob, Resident, Tiling};
use crate::{LowerError, Region};
use treta_abi::{Command, Descriptor};

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
/// The tiles are those expected to finish first on `machine` (see
/// `search.rs`): the whole of op(A) resident with B and C tiles alternating
/// between two halves of the rest, when A fits a quarter of `region` (the
/// common case of training GEMMs with few rows); the whole of op(B) resident
/// with row strips of A and C alternating (a weight gradient over few
/// tokens, whose fused update then streams whole rows of W); otherwise double-buffered A
/// and B tiles beside two C buffers — or one, when larger C tiles save more
/// DRAM time than the GEMM core then waits for each tile's store. Returns
/// (queue, descriptor) pairs in issue order.
pub fn lower_gemm_pipelined(
    job: &GemmJob,
    region: Region,
    machine: &Machine,
    pipe: Pipeline,
    id_base: u32,
) -> Result<(Vec<(u8, Descriptor)>, Tiling), LowerError> {
    lower_gemm_batch_pipelined(std::slice::from_ref(job), region, machine, pipe, id_base)
}

/// Independent GEMMs of one shape (the heads of an attention layer) as one
/// pipeline: the output tiles of all of them flow through the same buffers,
/// so one GEMM's loads overlap the previous one's compute and stores instead
/// of each draining the pipeline. A batch of more than one streams both
/// operands (no resident one: the next GEMM's would overwrite it while the
/// last tiles of this one still read it). The tiling is the first job's;
/// the returned one counts the traffic of all of them.
pub fn lower_gemm_batch_pipelined(
    jobs: &[GemmJob],
    region: Region,
    machine: &Machine,
    pipe: Pipeline,
    id_base: u32,
) -> Result<(Vec<(u8, Descriptor)>, Tiling), LowerError> {
    let job = jobs
        .first()
        .ok_or_else(|| LowerError("a batch of no GEMMs".into()))?;
    let shape = |j: &GemmJob| {
        (
            (j.m, j.k, j.n),
            (j.transpose_a, j.transpose_b),
            (j.formats, j.compute_formats),
            j.c_tiles(),
            j.whole_rows(),
        )
    };
    if jobs.iter().any(|j| shape(j) != shape(job)) {
        return Err(LowerError("a batch of GEMMs of different shapes".into()));
    }
    let PipelinedPlan {
        tiling: mut t,
        ab_stride,
        c_stride,
        ..
    } = plan_pipelined(job, region, machine, jobs.len() == 1)?;
    let c_buffers = t.c_buffers as usize;
    // A resident operand stays where it is and is loaded once; the other
    // alternates between the two buffer sets.
    let (a_fixed, b_fixed) = (t.resident == Resident::A, t.resident == Resident::B);
    let outputs: Vec<_> = jobs
        .iter()
        .flat_map(|j| output_tiles(j, &t, (a_fixed, b_fixed)))
        .collect();
    let batch = jobs.len() as u64;
    t.dram_bytes *= batch;
    t.dram_floor_bytes *= batch;
    t.tiles = t.tiles.saturating_mul(jobs.len() as u32);
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
    let shift_ab = |x: u32, buf: usize| x + ab_stride * buf as u32;
    let mut tile = 0usize;
    for (o, output) in outputs.into_iter().enumerate() {
        let obuf = o % c_buffers;
        let last_step = output.steps.len().saturating_sub(1);
        if output.steps.is_empty() {
            push(pipe.compute_queue, signal(computed + obuf as u8));
        }
        for (step, (a_load, b_load, gemm)) in output.steps.into_iter().enumerate() {
            // The first load into a buffer waits until the GEMM two tiles back
            // is done with it; the B load signals the operands loaded.
            let buf = tile % 2;
            if tile >= 2 {
                push(pipe.load_queue, wait(free + buf as u8));
            }
            let (a_buf, b_buf) = (if a_fixed { 0 } else { buf }, if b_fixed { 0 } else { buf });
            if let Some(Command::DmaLoad(mut m)) = a_load {
                m.sram_addr = shift_ab(m.sram_addr, a_buf);
                push(pipe.load_queue, Command::DmaLoad(m));
            }
            if let Some(Command::DmaLoad(mut m)) = b_load {
                m.sram_addr = shift_ab(m.sram_addr, b_buf);
                push(pipe.load_queue, Command::DmaLoad(m));
            }
            push(pipe.load_queue, signal(loaded + buf as u8));
            push(pipe.compute_queue, wait(loaded + buf as u8));
            if let Command::Gemm(mut g) = gemm {
                if !g.accumulate && o >= c_buffers {
                    push(pipe.compute_queue, wait(cfree + obuf as u8));
                }
                g.a_addr = shift_ab(g.a_addr, a_buf);
                g.b_addr = shift_ab(g.b_addr, b_buf);
                g.c_addr += c_stride * obuf as u32;
                push(pipe.compute_queue, Command::Gemm(g));
            }
            if step == last_step {
                // The C tile is complete. Its store is signalled before the
                // operand buffer is freed, so the single DMA engine takes the
                // store first: the next C tile (which waits for it when C has
                // one buffer) is not held up behind the next operand load too.
                push(pipe.compute_queue, signal(computed + obuf as u8));
            }
            if tile + 2 < tiles {
                push(pipe.compute_queue, signal(free + buf as u8));
            }
            tile += 1;
        }
        // The store queue stores the C tile (and runs the update epilogue) from
        // its buffer, then frees the buffer.
        push(pipe.store_queue, wait(computed + obuf as u8));
        for command in output.finish {
            push(pipe.store_queue, shift_c(command, c_stride * obuf as u32));
        }
        if o + c_buffers < count {
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
