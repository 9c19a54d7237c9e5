//! The embeddings: a gather of token rows by id plus the positions on the way
//! in; on the way back the scatter-add of the gradient into the token table
//! (onto the tied head's share) and the positions' gradient, summed over the
//! batch. The token ids are the batch's, known when the stream is built (the
//! host hands the firmware its batch), so the gather is one DMA row per token
//! and the scatter one accumulating column sum per distinct token.

use crate::gemm::dma;
use crate::sram::{align, ALIGN};
use crate::step::builder::{Builder, View, FP32};
use crate::step::ops::Ops;
use crate::step::plan::PlanEntry;
use crate::step::rows::{rows_in, rows_out, NONE};
use crate::LowerError;
use std::collections::BTreeMap;
use treta_abi::{Command, NumberFormat, SfuDesc, SfuOp, VectorOp};

impl Ops {
    /// Rows of `self.d` fp32 that fit one of two equal halves of the SRAM.
    fn rows_per_half(&self, b: &Builder, what: &str) -> Result<u64, LowerError> {
        let row = self.d * 4;
        let rows = (b.sram.bytes / 2).saturating_sub(ALIGN) / row.max(1);
        if rows == 0 {
            return Err(LowerError(format!(
                "{what}: two rows of {} do not fit the {}-byte SRAM",
                self.d, b.sram.bytes
            )));
        }
        Ok(rows)
    }

    /// x0[t] = wte[tokens[t]] + wpe[t mod S], in tiles of token rows.
    pub(super) fn embed_forward(
        &self,
        b: &mut Builder,
        (wte, wpe): (View, View),
        tokens: &[u32],
        x0: View,
    ) -> Result<(), LowerError> {
        let first = b.out.len();
        let (d, s, t) = (self.d, self.s, self.t);
        let rows = self.rows_per_half(b, "embed.gather")?.min(t);
        let (a, p) = (b.sram.base, b.sram.base + sram32(align(rows * d * 4)));
        let mut t0 = 0;
        while t0 < t {
            let t1 = (t0 + rows).min(t);
            for (j, &tok) in tokens[t0 as usize..t1 as usize].iter().enumerate() {
                let from = wte.addr + u64::from(tok) * wte.ld * 4;
                let to = a + sram32(j as u64 * d * 4);
                b.emit_on(0, dma(true, from, to, 1, d * 4, wte.ld * 4, FP32));
            }
            // Positions run on within a sequence: one DMA per stretch.
            let mut r = t0;
            while r < t1 {
                let pos = r % s;
                let run = (s - pos).min(t1 - r);
                let to = p + sram32((r - t0) * d * 4);
                let from = wpe.addr + pos * wpe.ld * 4;
                b.emit_on(0, dma(true, from, to, run, d * 4, wpe.ld * 4, FP32));
                r += run;
            }
            b.emit_on(0, sfu(VectorOp::Add, t1 - t0, d, [a, a, p], false));
            let to = x0.addr + t0 * x0.ld * 4;
            b.emit_on(0, dma(false, to, a, t1 - t0, d * 4, x0.ld * 4, FP32));
            t0 = t1;
        }
        b.plan.push(PlanEntry {
            op: format!("{}fwd.embed", b.scope),
            first,
            engine: "dma",
            detail: format!(
                "gather of {t} token rows of {d} (one DMA each) plus positions, {} tiles of ≤{rows} rows",
                t.div_ceil(rows)
            ),
            descriptors: b.out.len() - first,
        });
        Ok(())
    }

    /// The positions' gradient gwpe[s] = Σ_b dx0[b, s] (S rows of the table).
    pub(super) fn positions_backward(
        &self,
        b: &mut Builder,
        gwpe: View,
        dx0: View,
    ) -> Result<(), LowerError> {
        let (d, s) = (self.d, self.s);
        let batch = u64::from(self.dims.b);
        let seq = |bi: u64| dx0.fp32_at(bi * s * dx0.ld * 4, dx0.ld);
        if batch == 1 {
            b.vector(
                "bwd.embed.wpe",
                VectorOp::Copy,
                (s, d),
                [
                    rows_in(seq(0), d),
                    rows_out(gwpe, d),
                    NONE,
                    NONE,
                    NONE,
                    NONE,
                ],
                [0.0; 4],
            )?;
        }
        for bi in 1..batch {
            let lhs = if bi == 1 { seq(0) } else { gwpe };
            b.vector(
                &format!("bwd.embed.wpe.b{bi}"),
                VectorOp::Add,
                (s, d),
                [
                    rows_in(lhs, d),
                    rows_out(gwpe, d),
                    rows_in(seq(bi), d),
                    NONE,
                    NONE,
                    NONE,
                ],
                [0.0; 4],
            )?;
        }
        Ok(())
    }

    /// The embeddings' gradients from dx0: gwte[u] += Σ dx0[t] over the tokens t
    /// with id u (gwte holds the tied head's share), gwpe[s] = Σ_b dx0[b, s].
    pub(super) fn embed_backward(
        &self,
        b: &mut Builder,
        (gwte, gwpe): (View, View),
        tokens: &[u32],
        dx0: View,
    ) -> Result<(), LowerError> {
        self.positions_backward(b, gwpe, dx0)?;
        let d = self.d;
        let first = b.out.len();
        let rows = self.rows_per_half(b, "embed.scatter_add")?;
        let (acc, src) = (b.sram.base, b.sram.base + sram32(align(d * 4)));
        let mut uses: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
        for (t, &tok) in tokens.iter().enumerate() {
            uses.entry(tok).or_default().push(t as u64);
        }
        for (&tok, at) in &uses {
            let row = gwte.addr + u64::from(tok) * gwte.ld * 4;
            b.emit_on(0, dma(true, row, acc, 1, d * 4, gwte.ld * 4, FP32));
            for chunk in at.chunks(rows as usize) {
                for (j, &t) in chunk.iter().enumerate() {
                    let from = dx0.addr + t * dx0.ld * 4;
                    let to = src + sram32(j as u64 * d * 4);
                    b.emit_on(0, dma(true, from, to, 1, d * 4, dx0.ld * 4, FP32));
                }
                let n = chunk.len() as u64;
                b.emit_on(0, sfu(VectorOp::ColumnSum, n, d, [src, acc, 0], true));
            }
            b.emit_on(0, dma(false, row, acc, 1, d * 4, gwte.ld * 4, FP32));
        }
        b.plan.push(PlanEntry {
            op: format!("{}bwd.embed.scatter_add", b.scope),
            first,
            engine: "sfu",
            detail: format!(
                "{} token rows into {} distinct rows of the table (accumulating column sums)",
                tokens.len(),
                uses.len()
            ),
            descriptors: b.out.len() - first,
        });
        Ok(())
    }
}

/// An SRAM offset as the descriptors hold it (the SRAM is below 4 GiB).
fn sram32(x: u64) -> u32 {
    u32::try_from(x).unwrap_or(u32::MAX)
}

/// A vector op over `rows × cols` at SRAM `[src, dst, aux0]`.
fn sfu(
    op: VectorOp,
    rows: u64,
    cols: u64,
    [src, dst, aux0]: [u32; 3],
    accumulate: bool,
) -> Command {
    Command::Sfu(SfuDesc {
        op: SfuOp::Vector(op),
        rows: rows as u32,
        cols: cols as u32,
        src_addr: src,
        dst_addr: dst,
        aux0_addr: aux0,
        aux1_addr: 0,
        aux2_addr: 0,
        aux3_addr: 0,
        format: NumberFormat::Fp32,
        scalars: [0.0; 4],
        accumulate,
    })
}
