//! The flexible engine: PE groups that fuse into larger logical arrays or work as
//! independent ones, and the search that picks, per GEMM, the arrangement, the
//! K-split and the loop order.
//!
//! The machine (BRIEF §4): `macs` PEs as groups of `group × group`. Each group is
//! a small output-stationary tile that pays its own fill and drain
//! (`2·group − 2` cycles) per round — unless `preload` double-buffers the next
//! round's operands, when fill and drain are paid once per GEMM. Groups fuse
//! along rows and columns into `arrays` logical arrays of `R × C` PEs that share
//! broadcast operands (the distribution network), each array working on its own
//! R×C tile of C. A `k_split` of s lets s arrays work on the same tile, each on
//! 1/s of K, their partial sums added by the reduction network (⌈log₂ s⌉ cycles
//! per round). Tiles are handed to the arrays in rounds, consecutive along N
//! (`NInner`, arrays in a round share A panels) or along M (`MInner`, they share
//! B panels). Every round moves its distinct operand panels and its C tiles
//! through the distribution network, at most `fetch_bytes_per_cycle`; a round
//! needing more stalls.

use super::{assemble, GemmShape, Idle, Mapping, Round};
use std::fmt;

/// The flexible engine's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlexibleEngine {
    /// PEs in all.
    pub macs: u32,
    /// Rows (= columns) of one PE group.
    pub group: u32,
    /// Preload the next round's operands while the current one computes, hiding
    /// the groups' fill and drain.
    pub preload: bool,
    /// Bytes the distribution network (and the SRAM banks behind it) deliver per
    /// cycle.
    pub fetch_bytes_per_cycle: u32,
}

/// The order in which tiles of C are handed to the arrays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LoopOrder {
    /// Along N first: the arrays of a round share A's rows.
    NInner,
    /// Along M first: the arrays of a round share B's columns.
    MInner,
}

impl LoopOrder {
    /// Name in dumps and reports.
    pub fn name(self) -> &'static str {
        match self {
            LoopOrder::NInner => "n-inner",
            LoopOrder::MInner => "m-inner",
        }
    }
}

/// One way to lay a GEMM onto the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Candidate {
    /// Rows of each logical array [PEs].
    pub array_rows: u32,
    /// Columns of each logical array [PEs].
    pub array_cols: u32,
    /// Logical arrays.
    pub arrays: u32,
    /// Arrays that share one tile, each on a slice of K.
    pub k_split: u32,
    /// Tile order.
    pub order: LoopOrder,
}

impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} × {}×{} array{}, k-split {}, {}",
            self.arrays,
            self.array_rows,
            self.array_cols,
            if self.arrays == 1 { "" } else { "s" },
            self.k_split,
            self.order.name()
        )
    }
}

/// Cycles of the reduction network adding `s` partial sums: ⌈log₂ s⌉.
fn reduction_cycles(s: u64) -> u64 {
    if s > 1 {
        u64::from(64 - (s - 1).leading_zeros())
    } else {
        0
    }
}

/// Divisors of `x`, ascending.
fn divisors(x: u32) -> Vec<u32> {
    (1..=x).filter(|d| x.is_multiple_of(*d)).collect()
}

impl FlexibleEngine {
    /// PE groups (at least one).
    pub fn groups(&self) -> u32 {
        let g = self.group.max(1);
        (self.macs / (g * g)).max(1)
    }

    /// Every arrangement the engine can take, in a fixed order (the search's
    /// tie-break: fewer, larger arrays first).
    pub fn candidates(&self) -> Vec<Candidate> {
        let g = self.group.max(1);
        let groups = self.groups();
        let mut out = Vec::new();
        for per_array in divisors(groups).into_iter().rev() {
            let arrays = groups / per_array;
            for gr in divisors(per_array).into_iter().rev() {
                let gc = per_array / gr;
                for k_split in divisors(arrays) {
                    for order in [LoopOrder::NInner, LoopOrder::MInner] {
                        out.push(Candidate {
                            array_rows: g * gr,
                            array_cols: g * gc,
                            arrays,
                            k_split,
                            order,
                        });
                    }
                }
            }
        }
        out
    }

    /// Every candidate's mapping of `shape`, fastest first (ties keep the
    /// candidates' order).
    pub fn search(&self, shape: &GemmShape) -> Vec<(Candidate, Mapping)> {
        let mut all: Vec<(Candidate, Mapping)> = self
            .candidates()
            .into_iter()
            .map(|c| (c, self.evaluate(shape, &c)))
            .collect();
        all.sort_by_key(|(_, m)| m.cycles);
        all
    }

    /// The fastest mapping of `shape` (the first in [`candidates`](Self::candidates)
    /// order among equals: the same choice as [`search`](Self::search)'s first).
    /// Candidates are tried in order of a lower bound on their cycles (their
    /// rounds' compute, stalls left out), and the search stops once the bound
    /// exceeds the best found — exact, and most candidates are never built.
    pub fn map(&self, shape: &GemmShape) -> Mapping {
        let mut order: Vec<(u64, usize, Candidate)> = self
            .candidates()
            .into_iter()
            .enumerate()
            .map(|(i, c)| (self.lower_bound(shape, &c), i, c))
            .collect();
        order.sort_by_key(|&(bound, i, _)| (bound, i));
        let mut best: Option<(usize, Mapping)> = None;
        for (bound, i, c) in order {
            if best.as_ref().is_some_and(|(_, b)| bound > b.cycles) {
                break;
            }
            let m = self.evaluate(shape, &c);
            let better = best
                .as_ref()
                .is_none_or(|(bi, b)| (m.cycles, i) < (b.cycles, *bi));
            if better {
                best = Some((i, m));
            }
        }
        match best {
            Some((_, m)) => m,
            // `candidates` is never empty: every engine has at least one group.
            None => self.evaluate(shape, &self.candidates()[0]),
        }
    }

    /// Cycles `cand` needs at least: its rounds' compute without stalls.
    fn lower_bound(&self, shape: &GemmShape, cand: &Candidate) -> u64 {
        let g = u64::from(self.group.max(1));
        let (r, c) = (u64::from(cand.array_rows), u64::from(cand.array_cols));
        let s = u64::from(cand.k_split);
        let slots = u64::from(cand.arrays / cand.k_split);
        let rounds = (shape.m.div_ceil(r) * shape.n.div_ceil(c)).div_ceil(slots);
        let (fill_drain, per_round_fd) = self.fill_drain(g);
        rounds * (shape.k.div_ceil(s) + reduction_cycles(s) + per_round_fd)
            + if self.preload { fill_drain } else { 0 }
    }

    /// The groups' fill and drain, and what of it each round pays.
    fn fill_drain(&self, g: u64) -> (u64, u64) {
        let fill_drain = 2 * g - 2;
        (fill_drain, if self.preload { 0 } else { fill_drain })
    }

    /// The mapping of `shape` with arrangement `cand`, round by round.
    pub fn evaluate(&self, shape: &GemmShape, cand: &Candidate) -> Mapping {
        let g = u64::from(self.group.max(1));
        let macs = u64::from(self.groups()) * g * g;
        let (r, c) = (u64::from(cand.array_rows), u64::from(cand.array_cols));
        let s = u64::from(cand.k_split);
        let slots = u64::from(cand.arrays / cand.k_split);
        let GemmShape { m, k, n, .. } = *shape;
        let (a, b, cb) = (
            u64::from(shape.a_bytes),
            u64::from(shape.b_bytes),
            u64::from(shape.c_bytes),
        );
        let (tm, tn) = (m.div_ceil(r), n.div_ceil(c));
        let tiles = tm * tn;
        let k_part = k.div_ceil(s);
        let (fill_drain, per_round_fd) = self.fill_drain(g);
        let reduction = reduction_cycles(s);
        let compute = k_part + reduction + per_round_fd;
        let bw = u64::from(self.fetch_bytes_per_cycle.max(1));
        let tile_at = |t: u64| match cand.order {
            LoopOrder::NInner => (t / tn, t % tn),
            LoopOrder::MInner => (t % tm, t / tm),
        };
        let rows_of = |mi: u64| r.min(m - mi * r);
        let cols_of = |ni: u64| c.min(n - ni * c);
        let mut idle = Idle::default();
        let mut rounds = Vec::with_capacity(tiles.div_ceil(slots) as usize);
        let (mut ms, mut ns) = (Vec::new(), Vec::new());
        let mut t = 0;
        while t < tiles {
            let here = slots.min(tiles - t);
            ms.clear();
            ns.clear();
            let mut round = Round {
                tiles: here as u32,
                ..Round::default()
            };
            for i in t..t + here {
                let (mi, ni) = tile_at(i);
                let (rt, ct) = (rows_of(mi), cols_of(ni));
                idle.edge += s * (r * c - rt * ct) * k_part;
                idle.imbalance += rt * ct * (s * k_part - k);
                if !ms.contains(&mi) {
                    ms.push(mi);
                    round.read_a += rt * k * a;
                }
                if !ns.contains(&ni) {
                    ns.push(ni);
                    round.read_b += k * ct * b;
                }
                round.write_c += rt * ct * cb;
                if shape.accumulate {
                    round.read_c += rt * ct * cb;
                }
                if i == t {
                    round.a_offset = mi * r * k * a;
                    round.b_offset = ni * c * k * b;
                    round.c_offset = (mi * r * n + ni * c) * cb;
                }
            }
            idle.imbalance += (slots - here) * s * r * c * k_part;
            idle.fill_drain += macs * per_round_fd;
            idle.reduction += macs * reduction;
            round.compute = compute;
            round.planned = compute.max(round.bytes().div_ceil(bw));
            idle.bandwidth += macs * (round.planned - compute);
            rounds.push(round);
            t += here;
        }
        if self.preload {
            // The first round's fill and the last one's drain are not hidden.
            if let Some(first) = rounds.first_mut() {
                first.compute += fill_drain;
                first.planned += fill_drain;
                idle.fill_drain += macs * fill_drain;
            }
        }
        assemble(cand.to_string(), macs, shape, rounds, idle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn treta() -> FlexibleEngine {
        FlexibleEngine {
            macs: 8192,
            group: 16,
            preload: false,
            fetch_bytes_per_cycle: 2048,
        }
    }

    #[test]
    fn idle_causes_add_up_for_every_candidate() {
        let e = treta();
        for shape in [
            GemmShape::mkn(128, 768, 768),
            GemmShape::mkn(17, 197, 3),
            GemmShape {
                accumulate: true,
                a_bytes: 4,
                b_bytes: 4,
                ..GemmShape::mkn(197, 3072, 64)
            },
        ] {
            for (c, m) in e.search(&shape) {
                assert_eq!(
                    m.macs * m.cycles,
                    m.useful_macs + m.idle.total(),
                    "{c} on {shape:?}"
                );
            }
        }
    }

    #[test]
    fn a_gemm_that_fills_the_array_leaves_only_fill_and_drain() {
        let e = treta();
        let m = e.map(&GemmShape::mkn(128, 768, 768));
        assert_eq!(m.idle.edge + m.idle.imbalance + m.idle.bandwidth, 0, "{m}");
        // 12 rounds of one 128×64 tile (or any arrangement as good), each K + 30.
        assert_eq!(m.cycles, 12 * (768 + 30), "{m}");
        let pre = FlexibleEngine { preload: true, ..e }.map(&GemmShape::mkn(128, 768, 768));
        assert_eq!(pre.cycles, 12 * 768 + 30, "{pre}");
    }

    #[test]
    fn skinny_gemms_split_into_independent_arrays() {
        // M = 16: a 128-row array would idle 7/8 of its rows.
        let m = treta().map(&GemmShape::mkn(16, 768, 8192));
        assert_eq!(m.idle.edge, 0, "{m}");
        assert!(m.utilization() > 0.9, "{m}");
    }

    #[test]
    fn a_short_k_long_output_gemm_prefers_k_split_when_outputs_are_few() {
        // One 16×16 output tile, K = 8192: only a K-split keeps more than one
        // group busy.
        let m = treta().map(&GemmShape::mkn(16, 8192, 16));
        assert!(m.description.contains("k-split 32"), "{m}");
        assert!(m.idle.reduction > 0);
    }

    #[test]
    fn the_pruned_search_chooses_what_the_full_search_ranks_first() {
        for e in [
            treta(),
            FlexibleEngine {
                preload: true,
                fetch_bytes_per_cycle: 96,
                ..treta()
            },
        ] {
            for (m, k, n) in [
                (128, 768, 768),
                (17, 197, 3),
                (3072, 128, 768),
                (16, 8192, 16),
                (1, 1, 1),
            ] {
                let shape = GemmShape {
                    a_bytes: 2,
                    b_bytes: 2,
                    ..GemmShape::mkn(m, k, n)
                };
                let all = e.search(&shape);
                assert_eq!(e.map(&shape), all[0].1, "{m}×{k}×{n} on {e:?}");
            }
        }
    }

    #[test]
    fn too_little_bandwidth_stalls_and_the_search_avoids_what_it_can() {
        let narrow = FlexibleEngine {
            fetch_bytes_per_cycle: 64,
            ..treta()
        };
        let shape = GemmShape {
            a_bytes: 4,
            b_bytes: 4,
            ..GemmShape::mkn(256, 512, 256)
        };
        let m = narrow.map(&shape);
        assert!(m.idle.bandwidth > 0, "{m}");
        // The chosen mapping is the fastest of all candidates.
        let best = narrow.search(&shape)[0].1.cycles;
        assert_eq!(m.cycles, best);
    }
}
