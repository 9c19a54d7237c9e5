//! The rigid systolic array: SCALE-Sim v3's timing, fold by fold.

use super::{assemble, GemmShape, Idle, Mapping, Round};

/// What a systolic array keeps in place while the other operand streams through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dataflow {
    /// Output-stationary: an R×C tile of C; K streams.
    Os,
    /// Weight-stationary: an R×C tile of B (K on rows); M streams.
    Ws,
    /// Input-stationary: an R×C tile of Aᵀ (K on rows, M on columns); N streams.
    Is,
}

impl Dataflow {
    /// The three dataflows.
    pub const ALL: [Dataflow; 3] = [Dataflow::Os, Dataflow::Ws, Dataflow::Is];

    /// Short name (`os`, `ws`, `is`), as in scenarios and SCALE-Sim's configs.
    pub fn name(self) -> &'static str {
        match self {
            Dataflow::Os => "os",
            Dataflow::Ws => "ws",
            Dataflow::Is => "is",
        }
    }
}

/// An R×C systolic array.
///
/// Without `overlap_folds` its cycles equal SCALE-Sim v3's for every dataflow
/// (`../shared/reference/scalesim/README.md`): folds run back to back, each paying
/// its fill and drain — `K + R + C − 2` per fold for OS, `M + 2R + C − 2` for WS,
/// `N + 2R + C − 2` for IS — and the total is one less (SCALE-Sim counts from
/// cycle 0). With `overlap_folds`, the next fold's operands enter while the
/// previous one drains (double-buffered preload), so fill and drain are paid
/// once per GEMM: `folds × stream + fill/drain − 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SystolicArray {
    /// Rows.
    pub rows: u32,
    /// Columns.
    pub cols: u32,
    /// Dataflow.
    pub dataflow: Dataflow,
    /// Hide fill and drain between folds.
    pub overlap_folds: bool,
}

impl SystolicArray {
    /// The fold-by-fold mapping of `shape`.
    pub fn map(&self, shape: &GemmShape) -> Mapping {
        let (r, c) = (u64::from(self.rows.max(1)), u64::from(self.cols.max(1)));
        let macs = r * c;
        let GemmShape { m, k, n, .. } = *shape;
        let (a, b, cb) = (
            u64::from(shape.a_bytes),
            u64::from(shape.b_bytes),
            u64::from(shape.c_bytes),
        );
        // Pinned dims (on rows, on columns), streamed length, fill + drain.
        let (d1, d2, stream, fill_drain) = match self.dataflow {
            Dataflow::Os => (m, n, k, r + c - 2),
            Dataflow::Ws => (k, n, m, 2 * r + c - 2),
            Dataflow::Is => (k, m, n, 2 * r + c - 2),
        };
        let per_fold_fd = if self.overlap_folds { 0 } else { fill_drain };
        let mut idle = Idle::default();
        let mut rounds = Vec::with_capacity((d1.div_ceil(r) * d2.div_ceil(c)) as usize);
        for i in 0..d1.div_ceil(r) {
            for j in 0..d2.div_ceil(c) {
                let rt = r.min(d1 - i * r);
                let ct = c.min(d2 - j * c);
                idle.edge += (macs - rt * ct) * stream;
                idle.fill_drain += macs * per_fold_fd;
                // Partial sums of C are read back after the first K fold (WS, IS).
                let partial = shape.accumulate || i > 0;
                let (read_a, read_b, c_tile, a_offset, b_offset, c_offset) = match self.dataflow {
                    Dataflow::Os => (
                        rt * k * a,
                        k * ct * b,
                        rt * ct * cb,
                        i * r * k * a,
                        j * c * k * b,
                        (i * r * n + j * c) * cb,
                    ),
                    Dataflow::Ws => (
                        m * rt * a,
                        rt * ct * b,
                        m * ct * cb,
                        i * r * m * a,
                        (i * r * n + j * c) * b,
                        j * c * m * cb,
                    ),
                    Dataflow::Is => (
                        rt * ct * a,
                        rt * n * b,
                        ct * n * cb,
                        (i * r * m + j * c) * a,
                        i * r * n * b,
                        j * c * n * cb,
                    ),
                };
                let read_c = match self.dataflow {
                    Dataflow::Os if shape.accumulate => c_tile,
                    Dataflow::Ws | Dataflow::Is if partial => c_tile,
                    _ => 0,
                };
                let compute = stream + per_fold_fd;
                rounds.push(Round {
                    compute,
                    planned: compute,
                    read_a,
                    read_b,
                    read_c,
                    write_c: c_tile,
                    a_offset,
                    b_offset,
                    c_offset,
                    tiles: 1,
                });
            }
        }
        if self.overlap_folds {
            if let Some(first) = rounds.first_mut() {
                first.compute += fill_drain;
                first.planned += fill_drain;
                idle.fill_drain += macs * fill_drain;
            }
        }
        // SCALE-Sim's last cycle is its cycle count's 0th: one less, taken from the
        // drain (a 1×1 output-stationary array has none to take it from).
        if fill_drain > 0 {
            if let Some(last) = rounds.last_mut() {
                last.compute -= 1;
                last.planned -= 1;
                idle.fill_drain -= macs;
            }
        }
        let description = format!(
            "systolic {}×{} {}{}",
            r,
            c,
            self.dataflow.name(),
            if self.overlap_folds {
                ", folds overlapped"
            } else {
                ""
            }
        );
        assemble(description, macs, shape, rounds, idle)
    }
}
