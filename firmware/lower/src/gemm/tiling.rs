//! Tile sizes for a GEMM within an SRAM budget.

use super::search::{planned_traffic, tile_sizes};
use super::{GemmJob, Resident, Tiling};
use crate::sram::align;
use crate::{LowerError, Region, SramPlan};

/// Bytes of SRAM a tile needs for A, B (operand format) and C (fp32), each aligned.
pub(super) fn footprint(tm: u64, tk: u64, tn: u64, eb: u64) -> [u64; 3] {
    [align(tm * tk * eb), align(tk * tn * eb), align(tm * tn * 4)]
}

/// [`footprint`] with `c_tiles` fp32 tiles of C's size.
fn footprint_with(tm: u64, tk: u64, tn: u64, eb: u64, c_tiles: u64) -> [u64; 3] {
    let [a, b, c] = footprint(tm, tk, tn, eb);
    [a, b, c * c_tiles]
}

/// Bytes per element of the wider operand format in SRAM (both operands' tiles
/// are sized with it).
pub(super) fn operand_bytes(job: &GemmJob) -> u64 {
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
    // Whole rows keep N whole: only M and K shrink.
    let whole = job.whole_rows();
    while !plan.fits(footprint_with(tm, tk, tn, eb, c_tiles)) {
        let largest = if whole {
            tm.max(tk)
        } else {
            tm.max(tk).max(tn)
        };
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
        if tn == largest && !whole {
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
    // The single queue keeps a whole-K A tile for every column tile of its rows.
    let a_once = tk == u64::from(job.k);
    Ok(Tiling {
        tm: tm as u32,
        tk: tk as u32,
        tn: tn as u32,
        tiles: u32::try_from(tiles).map_err(|_| LowerError("too many tiles".into()))?,
        sram: {
            let [a, b, _] = footprint(tm, tk, tn, eb);
            plan.place(a, b)
        },
        resident: Resident::None,
        c_buffers: 1,
        dram_bytes: planned_traffic(job, [tm, tk, tn], (a_once, false)).total(),
        dram_floor_bytes: 0,
    })
}

/// Tiles for a pipelined `job` with the whole of op(A) resident in `region`
/// (at its base) when it takes at most a quarter of it, splitting only N; and
/// the offset of the second B/C buffer set from the first.
pub(super) fn resident_a_tiling(job: &GemmJob, region: Region) -> Option<(Tiling, u32)> {
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
        if tn <= 1 || job.whole_rows() {
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
        resident: Resident::A,
        c_buffers: 2,
        dram_bytes: planned_traffic(job, [m, k, tn], (true, false)).total(),
        dram_floor_bytes: 0,
    };
    Some((t, at(half)?))
}

/// Tiles for a pipelined `job` with the whole of op(B) resident in `region`
/// (at its base) when it takes at most half of it — K and N whole, C in row
/// strips of `tm` rows —, one per strip height that fits, each with the offset
/// of the second A/C buffer set from the first.
pub(super) fn resident_b_tilings(job: &GemmJob, region: Region) -> Vec<(Tiling, u32)> {
    let eb = operand_bytes(job);
    let (m, k, n) = (u64::from(job.m), u64::from(job.k), u64::from(job.n));
    let [_, b_bytes, _] = footprint(1, k, n, eb);
    if b_bytes > region.bytes / 2 {
        return Vec::new();
    }
    let base = u64::from(region.base);
    let at = |x: u64| u32::try_from(x).ok();
    let c_tiles = job.c_tiles();
    tile_sizes(m)
        .into_iter()
        .filter_map(|tm| {
            let [a, _, c] = footprint_with(tm, k, n, eb, c_tiles);
            let set = a + c;
            if b_bytes + 2 * set > region.bytes {
                return None;
            }
            let t = Tiling {
                tm: tm as u32,
                tk: job.k,
                tn: job.n,
                tiles: u32::try_from(m.div_ceil(tm)).ok()?,
                sram: [at(base + b_bytes)?, at(base)?, at(base + b_bytes + a)?],
                resident: Resident::B,
                c_buffers: 2,
                dram_bytes: planned_traffic(job, [tm, k, n], (true, true)).total(),
                dram_floor_bytes: 0,
            };
            Some((t, at(set)?))
        })
        .collect()
}
