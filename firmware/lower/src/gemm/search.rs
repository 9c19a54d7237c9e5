//! Choosing a pipelined GEMM's tiles by the time they are expected to take.
//!
//! A pipelined GEMM ([`super::lower_gemm_pipelined`]) overlaps its loads,
//! compute and stores, so its time is about the larger of the GEMM core's
//! cycles and the DRAM's, plus what cannot overlap: filling the pipeline, and
//! — when its C tiles are single-buffered — each tile's store. Larger C tiles
//! cut the traffic (A is read once per column tile of C, B once per row tile)
//! but leave less SRAM for double buffers; [`plan_pipelined`] weighs the two
//! with the [`Machine`]'s balance of compute and bandwidth.

use super::tiling::{footprint, operand_bytes, resident_a_tiling, resident_b_tilings};
use super::{Epilogue, GemmJob, Resident, Tiling};
use crate::sram::align;
use crate::{LowerError, Region};
use std::fmt;
use std::rc::Rc;

/// GEMM-core cycles of one tile GEMM `[m, k, n]` whose operands have
/// `operand_bytes` bytes per element (C fp32, accumulating): the engine's own
/// timing model, supplied by the platform.
pub type TileCycles = Rc<dyn Fn([u64; 3], u32) -> u64>;

/// What the planner knows of the machine: how fast it computes and how fast
/// the DRAM feeds it, both per GEMM-core cycle.
#[derive(Clone)]
pub struct Machine {
    /// MACs the GEMM core completes per cycle at full utilization.
    pub macs_per_cycle: u64,
    /// DRAM bytes per GEMM-core cycle that a DMA stream sustains (not the
    /// nominal peak: refresh and row switches take their share).
    pub dram_bytes_per_cycle: f64,
    /// Each tile's cost on the GEMM core, where MACs ÷ `macs_per_cycle`
    /// misjudges it: a systolic array's folds fill and drain per tile, so a
    /// shallow K slice costs it far more than its MACs. `None` (the flexible
    /// engine, which keeps ≥ 99 % utilization on tiles of 16 and more in every
    /// dimension, docs/gemm.md) prices tiles by their MACs.
    pub tile_cycles: Option<TileCycles>,
}

impl Default for Machine {
    /// The `treta` preset: 128×64 PEs at 898 MHz, LPDDR4-4266 ×4 streaming at
    /// 31.2 GB/s (docs/dram.md) — 34.7 bytes per cycle.
    fn default() -> Machine {
        Machine {
            macs_per_cycle: 128 * 64,
            dram_bytes_per_cycle: 31.2e9 / 898e6,
            tile_cycles: None,
        }
    }
}

impl fmt::Debug for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Machine")
            .field("macs_per_cycle", &self.macs_per_cycle)
            .field("dram_bytes_per_cycle", &self.dram_bytes_per_cycle)
            .field(
                "tile_cycles",
                &self.tile_cycles.as_ref().map(|_| "engine model"),
            )
            .finish()
    }
}

impl PartialEq for Machine {
    /// Equal balances and the same tile model (by identity).
    fn eq(&self, other: &Machine) -> bool {
        self.macs_per_cycle == other.macs_per_cycle
            && self.dram_bytes_per_cycle == other.dram_bytes_per_cycle
            && match (&self.tile_cycles, &other.tile_cycles) {
                (None, None) => true,
                (Some(a), Some(b)) => Rc::ptr_eq(a, b),
                _ => false,
            }
    }
}

impl Machine {
    /// GEMM-core cycles of the GEMMs tiling `job` in `[tm, tk, tn]`, and of
    /// its largest tile.
    fn compute_cycles(&self, job: &GemmJob, [tm, tk, tn]: [u64; 3], eb: u32) -> (f64, f64) {
        let (m, k, n) = (u64::from(job.m), u64::from(job.k), u64::from(job.n));
        let Some(cost) = &self.tile_cycles else {
            let per_mac = 1.0 / self.macs_per_cycle as f64;
            let gemms = (m.div_ceil(tm) * k.div_ceil(tk) * n.div_ceil(tn)) as f64;
            return (
                (m * k * n) as f64 * per_mac + gemms * GEMM_OVERHEAD_CYCLES,
                (tm * tk * tn) as f64 * per_mac + GEMM_OVERHEAD_CYCLES,
            );
        };
        // Along each dimension: whole tiles, and one edge tile if it does
        // not divide.
        let split = |d: u64, t: u64| [(t, d / t), (d % t, u64::from(!d.is_multiple_of(t)))];
        let mut total = 0.0;
        for (sm, cm) in split(m, tm) {
            for (sk, ck) in split(k, tk) {
                for (sn, cn) in split(n, tn) {
                    let count = cm * ck * cn;
                    if count > 0 {
                        total += (count * cost([sm, sk, sn], eb)) as f64;
                    }
                }
            }
        }
        (total, cost([tm.min(m), tk.min(k), tn.min(n)], eb) as f64)
    }
}

/// Cycles a GEMM descriptor costs beyond its MACs (the groups' fill and drain,
/// the command processor's issue): an estimate, for ranking tilings only.
const GEMM_OVERHEAD_CYCLES: f64 = 64.0;

/// GEMM-core cycles a DMA transfer costs beyond its bytes: the single DMA
/// engine starts a descriptor when the previous one's last burst is back, a
/// DRAM round trip of about 150 ns (docs/dram.md) — 135 cycles at 898 MHz.
/// Without it, tiles a few bytes deep (16-byte rows of a wide matrix, tens of
/// thousands of descriptors) look as cheap as a few large ones.
const DMA_TRANSFER_CYCLES: f64 = 135.0;

/// GEMM-core cycles a separate run of consecutive DRAM bytes costs beyond its
/// bursts: a run far from the previous one opens a DRAM row in each channel it
/// touches, and runs of a few bursts (a 48-column strip of fp32 weights: 192
/// bytes per row, 12 KiB apart) come about as fast as the rows open. Fitted
/// to the BERT-base weight-gradient GEMMs with their update fused: as
/// 768×48 column strips (5 M runs) they took about 6 ms longer than the
/// single-queue schedule of whole-row tiles, about a cycle per run.
const RUN_CYCLES: f64 = 1.0;

/// How much a plan's DRAM time counts beside its estimated cycles when plans
/// are ranked (see [`plan_pipelined`]).
const TRAFFIC_WEIGHT: f64 = 0.05;

/// The DRAM burst: traffic is counted in whole bursts per stored row.
const BURST: u64 = 64;

/// A pipelined tiling with where its buffers go.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct PipelinedPlan {
    /// The tiles (first buffer set's SRAM addresses).
    pub(super) tiling: Tiling,
    /// Bytes from the first A/B buffer set to the second.
    pub(super) ab_stride: u32,
    /// Bytes from the first C buffer to the second (unused with one).
    pub(super) c_stride: u32,
    /// Estimated cycles.
    pub(super) cycles: f64,
}

/// DRAM bytes of `rows` stored rows of `row_bytes` each, in whole bursts.
fn rows_traffic(rows: u64, row_bytes: u64) -> u64 {
    rows * row_bytes.div_ceil(BURST) * BURST
}

/// DRAM bytes (whole bursts) a tiling moves, per operand, and the stored-row
/// runs they come in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Traffic {
    /// A's loads.
    pub(super) a: u64,
    /// B's loads.
    pub(super) b: u64,
    /// C's stores, the epilogue steps' loads and stores, and an update
    /// epilogue's W read, write and copy.
    pub(super) c: u64,
    /// Separate runs of consecutive bytes in DRAM over all transfers: a
    /// transfer of whole packed rows is one run, else each stored row's slice
    /// is one.
    pub(super) runs: u64,
    /// DMA transfers.
    pub(super) transfers: u64,
}

impl Traffic {
    /// All of it.
    pub(super) fn total(&self) -> u64 {
        self.a + self.b + self.c
    }
}

/// Bytes in whole bursts of a `rows × cols` operand of `e`-byte elements read
/// or written in runs of `run` columns of each stored row.
fn operand_bytes_in_runs(rows: u64, cols: u64, run: u64, e: u64) -> u64 {
    let (full, rest) = (cols / run, cols % run);
    rows * (full * rows_traffic(1, run * e) + rows_traffic(u64::from(rest > 0), rest * e))
}

/// A stored operand of `rows × cols` read or written in tiles of `tile_rows ×
/// tile_cols`: (transfers, runs). A tile of whole rows of a packed operand
/// (`ld` 0 or `cols`) is one run; otherwise each of its rows is one.
fn tile_runs((rows, cols): (u64, u64), (tile_rows, tile_cols): (u64, u64), ld: u64) -> (u64, u64) {
    let transfers = rows.div_ceil(tile_rows) * cols.div_ceil(tile_cols);
    let contiguous = tile_cols >= cols && (ld == 0 || ld == cols);
    (
        transfers,
        if contiguous {
            transfers
        } else {
            rows * cols.div_ceil(tile_cols)
        },
    )
}

/// The traffic of tiles `[tm, tk, tn]` for `job`: A once per column tile of C
/// (once in all when `a_once`), B once per row tile (once in all when
/// `b_once`), C stored once, and an update epilogue's W read, write and copy.
pub(super) fn planned_traffic(
    job: &GemmJob,
    [tm, tk, tn]: [u64; 3],
    (a_once, b_once): (bool, bool),
) -> Traffic {
    let (m, k, n) = (u64::from(job.m), u64::from(job.k), u64::from(job.n));
    let [ea, eb] = job.formats.map(|f| u64::from(f.bytes()));
    let (nm, nn) = (m.div_ceil(tm), n.div_ceil(tn));
    // A stored row is one of op()'s rows, or one of its columns when
    // transposed; a tile reads a run of it.
    let (a_once_bytes, a_runs) = if job.transpose_a {
        (
            operand_bytes_in_runs(k, m, tm, ea),
            tile_runs((k, m), (tk, tm), job.ld[0]),
        )
    } else {
        (
            operand_bytes_in_runs(m, k, tk, ea),
            tile_runs((m, k), (tm, tk), job.ld[0]),
        )
    };
    let (b_once_bytes, b_runs) = if job.transpose_b {
        (
            operand_bytes_in_runs(n, k, tk, eb),
            tile_runs((n, k), (tn, tk), job.ld[1]),
        )
    } else {
        (
            operand_bytes_in_runs(k, n, tn, eb),
            tile_runs((k, n), (tk, tn), job.ld[1]),
        )
    };
    let c_bytes = |e: u64| operand_bytes_in_runs(m, n, tn, e);
    let c_runs = |ld: u64| tile_runs((m, n), (tm, tn), ld);
    let keep = job.update.is_none_or(|u| u.keep_gradient);
    let store = if keep {
        c_bytes(u64::from(job.c_format.bytes()))
    } else {
        0
    };
    let update = job.update.map_or(0, |u| {
        2 * c_bytes(4) + u.copy.map_or(0, |(_, _, f)| c_bytes(u64::from(f.bytes())))
    });
    // Each C-side stream: the epilogue's loads and stores, the store, W's load
    // and store, the copy's store.
    let mut c_side = Vec::new();
    let mut epilogue = 0;
    for step in &job.epilogue {
        let (bytes, runs) = match *step {
            Epilogue::Bias(_) => (nm * operand_bytes_in_runs(1, n, tn, 4), (nm * nn, nm * nn)),
            Epilogue::Add { ld, .. }
            | Epilogue::GeluBwd { ld, .. }
            | Epilogue::SoftmaxBwd { ld, .. } => (c_bytes(4), c_runs(ld)),
            Epilogue::Store { ld, format, .. } => (c_bytes(u64::from(format.bytes())), c_runs(ld)),
            // The running sum's store per tile, its load per tile (but the
            // strip's first when the GEMM starts the sums).
            Epilogue::ColumnSum { start, .. } => {
                let times = 2 * nm - u64::from(start);
                let transfers = times * nn;
                (
                    times * operand_bytes_in_runs(1, n, tn, 4),
                    (transfers, transfers),
                )
            }
            Epilogue::Gelu | Epilogue::Softmax { .. } | Epilogue::Scale(_) => continue,
        };
        epilogue += bytes;
        c_side.push(runs);
    }
    if keep {
        c_side.push(c_runs(job.ld[2]));
    }
    if let Some(u) = job.update {
        c_side.extend([c_runs(u.ldw), c_runs(u.ldw)]);
        c_side.extend(u.copy.map(|(_, ld, _)| c_runs(ld)));
    }
    let (a_times, b_times) = (if a_once { 1 } else { nn }, if b_once { 1 } else { nm });
    // Reused tiles are loaded once; otherwise every tile loads afresh.
    let scale = |(t, r): (u64, u64), times: u64| (t * times, r * times);
    let (a_t, a_r) = scale(a_runs, a_times);
    let (b_t, b_r) = scale(b_runs, b_times);
    Traffic {
        a: a_once_bytes * a_times,
        b: b_once_bytes * b_times,
        c: epilogue + store + update,
        runs: a_r + b_r + c_side.iter().map(|&(_, r)| r).sum::<u64>(),
        transfers: a_t + b_t + c_side.iter().map(|&(t, _)| t).sum::<u64>(),
    }
}

/// The least DRAM traffic of any output-stationary schedule of `job` whose C
/// tile (fp32, with an update epilogue's two more) and a 16-deep slice of its
/// A and B tiles fit `sram_bytes`: A read once per column tile of C — or once
/// in all when the whole of op(A) fits beside them —, B once per row tile — or
/// once in all when the whole of op(B) fits —, C written once. A floor for tilings of this SRAM, not a bound on every
/// conceivable schedule; `u64::MAX` when not even 16×16 tiles fit.
pub fn traffic_floor(job: &GemmJob, sram_bytes: u64) -> u64 {
    let eb = operand_bytes(job);
    let (m, k) = (u64::from(job.m), u64::from(job.k));
    let c_tiles = job.c_tiles();
    let slice = k.min(16);
    let mut best = u64::MAX;
    for tm in tile_sizes(m) {
        for tn in tile_sizes(u64::from(job.n)) {
            if job.whole_rows() && tn != u64::from(job.n) {
                continue;
            }
            let [a, b, c] = footprint(tm, slice, tn, eb);
            if a + b + c * c_tiles > sram_bytes {
                continue;
            }
            let a_once = align(m * k * eb) + b + c * c_tiles <= sram_bytes;
            let b_once = a + align(k * u64::from(job.n) * eb) + c * c_tiles <= sram_bytes;
            best = best.min(planned_traffic(job, [tm, k, tn], (a_once, b_once)).total());
        }
    }
    best
}

/// Tile sizes worth trying along a dimension of `d`: `d` itself, for every
/// count of tiles the smallest multiple of 16 that covers `d` in that many
/// (down to 16), then 8, 4, 2 and 1 — the small sizes only matter in an SRAM
/// too small for 16-wide tiles, and a handful of them keeps the search short.
pub(super) fn tile_sizes(d: u64) -> Vec<u64> {
    let mut sizes = vec![d];
    // Tiles of ⌈d / count⌉ rounded up to 16, for count = 2, 3, … until 16.
    let mut t = d;
    let mut count = 2;
    while t > 16 {
        t = d.div_ceil(count).div_ceil(16) * 16;
        if t < *sizes.last().unwrap_or(&d) {
            sizes.push(t);
        }
        count += 1;
    }
    for small in [8, 4, 2, 1] {
        if small < *sizes.last().unwrap_or(&d) {
            sizes.push(small);
        }
    }
    sizes
}

/// Estimated cycles of tiles `[tm, tk, tn]` with `c_buffers` C buffers moving
/// `traffic`: compute-bound, the GEMMs (with each single-buffered C tile's
/// store exposed) plus the first loads before them and the last store after;
/// DRAM-bound, all the traffic (which holds those loads and stores already,
/// with a round trip per transfer and a row opening per run) plus the one GEMM
/// that cannot overlap it. The larger of the two.
fn estimate(
    job: &GemmJob,
    [tm, tk, tn]: [u64; 3],
    c_buffers: u64,
    traffic: Traffic,
    machine: &Machine,
) -> f64 {
    let (m, n) = (u64::from(job.m), u64::from(job.n));
    let (nm, nn) = (m.div_ceil(tm), n.div_ceil(tn));
    let bw = machine.dram_bytes_per_cycle;
    let (compute, one_gemm) = machine.compute_cycles(job, [tm, tk, tn], operand_bytes(job) as u32);
    // Every transfer also pays a DRAM round trip the one DMA engine waits out.
    let dram = traffic.total() as f64 / bw
        + traffic.transfers as f64 * DMA_TRANSFER_CYCLES
        + traffic.runs as f64 * RUN_CYCLES;
    let [ea, eb] = job.formats.map(|f| u64::from(f.bytes()));
    let first_loads = (tm * tk * ea + tk * tn * eb) as f64 / bw;
    let outputs = (nm * nn) as f64;
    let per_store = traffic.c as f64 / outputs / bw;
    let stalls = if c_buffers == 1 {
        outputs * per_store
    } else {
        0.0
    };
    (compute + stalls + first_loads + per_store).max(dram + one_gemm)
}

/// The pipelined tiling of `job` in `region` expected to finish first on
/// `machine` (near-ties: less traffic, then fewer GEMM descriptors). Candidates: the
/// whole of op(A) resident with B and C double-buffered (when A fits a
/// quarter of the region), the whole of op(B) resident with row strips of A
/// and C double-buffered (when B fits half of it), and every pair of tile sizes along M and N with
/// double-buffered A and B tiles as deep in K as the rest allows, beside one
/// C buffer or two.
pub(super) fn plan_pipelined(
    job: &GemmJob,
    region: Region,
    machine: &Machine,
    resident_allowed: bool,
) -> Result<PipelinedPlan, LowerError> {
    let eb = operand_bytes(job);
    let (m, k, n) = (u64::from(job.m), u64::from(job.k), u64::from(job.n));
    let c_tiles = job.c_tiles();
    let base = u64::from(region.base);
    let at = |x: u64| u32::try_from(x).map_err(|_| LowerError("SRAM address beyond 4 GiB".into()));
    // Ranked by estimated cycles plus a share of the DRAM time: of two plans
    // about as fast, the one that leaves the DRAM more slack (for row
    // conflicts, and for whatever runs beside it) wins; then fewer GEMMs.
    let mut best: Option<(PipelinedPlan, f64, u32)> = None;
    let mut consider = |plan: PipelinedPlan, traffic: u64| {
        let score = plan.cycles + TRAFFIC_WEIGHT * traffic as f64 / machine.dram_bytes_per_cycle;
        let gemms = plan.tiling.tiles;
        let better = best
            .as_ref()
            .is_none_or(|(_, s, g)| (score, gemms) < (*s, *g));
        if better {
            best = Some((plan, score, gemms));
        }
    };
    if let Some((tiling, half)) = resident_a_tiling(job, region).filter(|_| resident_allowed) {
        let tiles = [m, k, u64::from(tiling.tn)];
        let traffic = planned_traffic(job, tiles, (true, false));
        consider(
            PipelinedPlan {
                tiling,
                ab_stride: half,
                c_stride: half,
                cycles: estimate(job, tiles, 2, traffic, machine),
            },
            traffic.total(),
        );
    }
    for (tiling, set) in resident_b_tilings(job, region)
        .into_iter()
        .filter(|_| resident_allowed)
    {
        let tiles = [u64::from(tiling.tm), k, n];
        let traffic = planned_traffic(job, tiles, (true, true));
        consider(
            PipelinedPlan {
                tiling,
                ab_stride: set,
                c_stride: set,
                cycles: estimate(job, tiles, 2, traffic, machine),
            },
            traffic.total(),
        );
    }
    let k_sizes = tile_sizes(k);
    for c_buffers in [2u64, 1] {
        for &tm in &tile_sizes(m) {
            for &tn in &tile_sizes(n) {
                if job.whole_rows() && tn != n {
                    continue;
                }
                let c_bytes = align(tm * tn * 4) * c_tiles;
                let Some(rest) = region.bytes.checked_sub(c_bytes * c_buffers) else {
                    continue;
                };
                // The deepest K slice whose two A/B buffer sets fit the rest.
                let Some(&tk) = k_sizes.iter().find(|&&tk| {
                    let [a, b, _] = footprint(tm, tk, tn, eb);
                    2 * (a + b) <= rest
                }) else {
                    continue;
                };
                let tiles = [tm, tk, tn];
                let traffic = planned_traffic(job, tiles, (false, false));
                let [a, b, _] = footprint(tm, tk, tn, eb);
                let count = m.div_ceil(tm) * k.div_ceil(tk) * n.div_ceil(tn);
                let tiling = Tiling {
                    tm: tm as u32,
                    tk: tk as u32,
                    tn: tn as u32,
                    tiles: u32::try_from(count).map_err(|_| LowerError("too many tiles".into()))?,
                    sram: [at(base)?, at(base + a)?, at(base + 2 * (a + b))?],
                    resident: Resident::None,
                    c_buffers: c_buffers as u32,
                    dram_bytes: traffic.total(),
                    dram_floor_bytes: 0,
                };
                consider(
                    PipelinedPlan {
                        tiling,
                        ab_stride: at(a + b)?,
                        c_stride: at(c_bytes)?,
                        cycles: estimate(job, tiles, c_buffers, traffic, machine),
                    },
                    traffic.total(),
                );
            }
        }
    }
    let floor = traffic_floor(job, region.bytes);
    best.map(|(plan, _, _)| PipelinedPlan {
        tiling: Tiling {
            dram_floor_bytes: floor,
            ..plan.tiling
        },
        ..plan
    })
    .ok_or_else(|| {
        let [a, b, c] = footprint(1, 1, 1, eb);
        let epilogue = match c_tiles - 1 {
            0 => String::new(),
            more => format!(" and {more} more for its epilogue"),
        };
        LowerError(format!(
            "pipelined 1x1x1 tiles need {} bytes (two A and B buffers, one C{epilogue}), more than the {}-byte SRAM",
            2 * (a + b) + c * c_tiles,
            region.bytes
        ))
    })
}
