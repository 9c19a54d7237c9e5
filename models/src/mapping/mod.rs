//! How a GEMM is laid onto the GEMM core, and what that costs — the timing side of
//! the GEMM core, free of simulation so that reports, `--explain-mapping` and
//! tests can ask it directly.
//!
//! A [`Mapping`] is a sequence of [`Round`]s: the work the array does between two
//! points where it changes operands (a systolic *fold*, or one round of tiles on
//! the flexible engine's PE arrays). Each round has a compute time and the SRAM
//! traffic it needs; the engine model executes rounds against the SRAM, so
//! bandwidth stalls come from the SRAM model at run time, while the planned
//! cycles here use the distribution network's width. Every idle PE-cycle of a
//! mapping is attributed to a cause ([`Idle`]), and the causes add up exactly to
//! `PEs × cycles − useful MACs`.

mod flexible;
mod systolic;

pub use flexible::{Candidate, FlexibleEngine, LoopOrder};
pub use systolic::{Dataflow, SystolicArray};

use std::fmt;

/// One GEMM as the core sees it: `C[m×n] (+)= op(A)[m×k] · op(B)[k×n]` and the
/// bytes per element of each operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GemmShape {
    /// Rows of C.
    pub m: u64,
    /// Reduction length.
    pub k: u64,
    /// Columns of C.
    pub n: u64,
    /// Bytes per element of A.
    pub a_bytes: u32,
    /// Bytes per element of B.
    pub b_bytes: u32,
    /// Bytes per element of C.
    pub c_bytes: u32,
    /// C is read and added to.
    pub accumulate: bool,
}

impl GemmShape {
    /// A shape with 1-byte operands and fp32 C (the treta preset's default).
    pub fn mkn(m: u64, k: u64, n: u64) -> GemmShape {
        GemmShape {
            m,
            k,
            n,
            a_bytes: 1,
            b_bytes: 1,
            c_bytes: 4,
            accumulate: false,
        }
    }

    /// The GEMM of a descriptor.
    pub fn of(g: &treta_abi::GemmDesc) -> GemmShape {
        GemmShape {
            m: u64::from(g.m),
            k: u64::from(g.k),
            n: u64::from(g.n),
            a_bytes: g.a_format.bytes(),
            b_bytes: g.b_format.bytes(),
            c_bytes: g.c_format.bytes(),
            accumulate: g.accumulate,
        }
    }

    /// m·k·n.
    pub fn useful_macs(&self) -> u64 {
        self.m * self.k * self.n
    }
}

/// The GEMM core micro-architectures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GemmTiming {
    /// TRETA-like PE groups that fuse and split per GEMM.
    Flexible(FlexibleEngine),
    /// A rigid systolic array.
    Systolic(SystolicArray),
}

impl GemmTiming {
    /// PEs (MAC units).
    pub fn macs(&self) -> u64 {
        match self {
            GemmTiming::Flexible(f) => u64::from(f.macs),
            GemmTiming::Systolic(s) => u64::from(s.rows) * u64::from(s.cols),
        }
    }

    /// The mapping of `shape`: the flexible engine's best (by its search), or the
    /// systolic array's only one.
    pub fn map(&self, shape: &GemmShape) -> Mapping {
        match self {
            GemmTiming::Flexible(f) => f.map(shape),
            GemmTiming::Systolic(s) => s.map(shape),
        }
    }
}

/// Idle PE-cycles of a mapping, by cause.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Idle {
    /// PEs mapped onto nothing: the edge tiles of a GEMM that does not divide into
    /// the array.
    pub edge: u64,
    /// Pipeline fill and drain: operands entering and results leaving the array.
    pub fill_drain: u64,
    /// Waiting for operands: the SRAM (or the distribution network) delivers less
    /// than the array consumes.
    pub bandwidth: u64,
    /// Arrays without a tile in a round, and K-split parts of unequal length.
    pub imbalance: u64,
    /// Adding the partial sums of a K-split in the reduction network.
    pub reduction: u64,
}

impl Idle {
    /// All idle PE-cycles.
    pub fn total(&self) -> u64 {
        self.edge + self.fill_drain + self.bandwidth + self.imbalance + self.reduction
    }

    /// The causes with their names, in a fixed order.
    pub fn causes(&self) -> [(&'static str, u64); 5] {
        [
            ("edge", self.edge),
            ("fill_drain", self.fill_drain),
            ("bandwidth", self.bandwidth),
            ("imbalance", self.imbalance),
            ("reduction", self.reduction),
        ]
    }
}

impl std::ops::AddAssign for Idle {
    fn add_assign(&mut self, other: Idle) {
        self.edge += other.edge;
        self.fill_drain += other.fill_drain;
        self.bandwidth += other.bandwidth;
        self.imbalance += other.imbalance;
        self.reduction += other.reduction;
    }
}

/// One round of a mapping: compute time and SRAM traffic. Byte offsets locate the
/// round's first operand panel in the operand's packed layout (the engine turns
/// them into SRAM addresses).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Round {
    /// Cycles the array computes (streaming, fill/drain, reduction).
    pub compute: u64,
    /// Cycles planned: `compute` plus the stall the mapping expects from the
    /// distribution network's width (the engine measures the real one).
    pub planned: u64,
    /// Bytes of A read.
    pub read_a: u64,
    /// Bytes of B read.
    pub read_b: u64,
    /// Bytes of C read (accumulation, partial sums).
    pub read_c: u64,
    /// Bytes of C written.
    pub write_c: u64,
    /// Offset of the first A panel in A [bytes].
    pub a_offset: u64,
    /// Offset of the first B panel in B [bytes].
    pub b_offset: u64,
    /// Offset of the first C tile in C [bytes].
    pub c_offset: u64,
    /// Tiles (or folds) the round works on.
    pub tiles: u32,
}

impl Round {
    /// All bytes the round moves.
    pub fn bytes(&self) -> u64 {
        self.read_a + self.read_b + self.read_c + self.write_c
    }
}

/// A GEMM laid onto the core.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// What was chosen, in words (e.g. `2 × 128×32 arrays, k-split 1, n-inner`).
    pub description: String,
    /// PEs.
    pub macs: u64,
    /// m·k·n.
    pub useful_macs: u64,
    /// Planned cycles (stalls estimated with the distribution network's width).
    pub cycles: u64,
    /// Where the idle PE-cycles go.
    pub idle: Idle,
    /// The rounds, in execution order.
    pub rounds: Vec<Round>,
}

impl Mapping {
    /// Useful MACs ÷ (PEs × cycles).
    pub fn utilization(&self) -> f64 {
        if self.cycles == 0 {
            return 0.0;
        }
        self.useful_macs as f64 / (self.macs as f64 * self.cycles as f64)
    }
}

impl fmt::Display for Mapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pe_cycles = (self.macs * self.cycles).max(1) as f64;
        write!(
            f,
            "{}: {} cycles, {} rounds, utilization {:.1}%; idle:",
            self.description,
            self.cycles,
            self.rounds.len(),
            100.0 * self.utilization()
        )?;
        for (name, v) in self.idle.causes() {
            write!(f, " {name} {:.1}%", 100.0 * v as f64 / pe_cycles)?;
        }
        Ok(())
    }
}

/// Builds a mapping from its rounds, checking that the idle causes account for
/// every idle PE-cycle.
fn assemble(
    description: String,
    macs: u64,
    shape: &GemmShape,
    rounds: Vec<Round>,
    idle: Idle,
) -> Mapping {
    let cycles = rounds.iter().map(|r| r.planned).sum();
    let mapping = Mapping {
        description,
        macs,
        useful_macs: shape.useful_macs(),
        cycles,
        idle,
        rounds,
    };
    debug_assert_eq!(
        mapping.macs * mapping.cycles,
        mapping.useful_macs + mapping.idle.total(),
        "idle causes must add up: {mapping}"
    );
    mapping
}

/// Cycles of `shape` on `timing` and the mapping's short description: a shorthand
/// for [`GemmTiming::map`].
pub fn gemm_cycles(timing: &GemmTiming, shape: &GemmShape) -> (u64, String) {
    let m = timing.map(shape);
    (m.cycles, m.description)
}
