//! SRAM regions and plans: where a lowered operation's tiles may live.

/// Alignment of every tile and tensor the lowering places [bytes]: one
/// descriptor-sized line, so no two operands share one.
pub(crate) const ALIGN: u64 = 64;

/// `x` rounded up to [`ALIGN`].
pub(crate) fn align(x: u64) -> u64 {
    x.div_ceil(ALIGN) * ALIGN
}

/// A region of SRAM: `bytes` from `base`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// First address.
    pub base: u32,
    /// Capacity [bytes].
    pub bytes: u64,
}

/// Where a GEMM's tiles may live in SRAM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SramPlan {
    /// One region for all: A, then B, then C, sharing its bytes.
    Unified(Region),
    /// A, B and C each in a region of its own (the `inputs`, `weights` and
    /// `outputs` buffers), each within its own bytes.
    Split {
        /// For A tiles.
        a: Region,
        /// For B tiles.
        b: Region,
        /// For C tiles.
        c: Region,
    },
}

impl SramPlan {
    /// Whether tiles of `a`, `b` and `c` aligned bytes fit.
    pub(crate) fn fits(&self, [a, b, c]: [u64; 3]) -> bool {
        match self {
            SramPlan::Unified(r) => a + b + c <= r.bytes,
            SramPlan::Split {
                a: ra,
                b: rb,
                c: rc,
            } => a <= ra.bytes && b <= rb.bytes && c <= rc.bytes,
        }
    }

    /// The SRAM addresses of the A, B and C tiles, given the aligned sizes of the
    /// A and B tiles (they fit: see [`SramPlan::fits`]).
    pub(crate) fn place(&self, a: u64, b: u64) -> [u32; 3] {
        match self {
            SramPlan::Unified(r) => {
                let base = u64::from(r.base);
                [base, base + a, base + a + b].map(|x| u32::try_from(x).unwrap_or(u32::MAX))
            }
            SramPlan::Split { a, b, c } => [a.base, b.base, c.base],
        }
    }

    /// Bytes of SRAM the plan may use in all.
    pub(crate) fn bytes(&self) -> u64 {
        match self {
            SramPlan::Unified(r) => r.bytes,
            SramPlan::Split { a, b, c } => a.bytes + b.bytes + c.bytes,
        }
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            SramPlan::Unified(r) => format!("the {}-byte SRAM budget", r.bytes),
            SramPlan::Split { a, b, c } => format!(
                "the SRAM buffers (inputs {}, weights {}, outputs {} bytes)",
                a.bytes, b.bytes, c.bytes
            ),
        }
    }
}
