//! A GEMM as a three-stage pipeline (loads, compute, stores) over three queues
//! and double buffers, ordered by semaphores.

use super::tiles::output_tiles;
use super::tiling::{choose_tiling, resident_a_tiling};
use super::{GemmJob, Tiling};
use crate::{LowerError, Region, SramPlan};
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
