//! The DMA engine.

use super::footprint::{self, Fields, Span};
use super::{debug_read, debug_write, sram_access, start_engine, wrong_engine};
use crate::dram::BurstList;
use crate::job::{EnginePort, Fault, Job};
use crate::EngineStats;
use std::cell::Cell;
use std::rc::Rc;
use treta_abi::field::{copy as copy_field, dma as dma_field};
use treta_abi::{Command, DeviceError, DmaDesc, NumberFormat};
use treta_kernel::tlm::{Command as TlmCommand, InitiatorSocket, Payload};
use treta_kernel::{Ctx, SimTime};

/// The DMA engine: strided transfers between DRAM and SRAM. Each row is cut into
/// DRAM accesses of at most `burst` bytes (at burst-aligned addresses); a descriptor's
/// accesses go to DRAM as one transaction carrying a [`BurstList`], so the DRAM
/// controller overlaps them as requests that arrive together (its queues bound how
/// many are in flight).
pub struct Dma {
    /// Jobs from the command processor.
    pub port: EnginePort,
    /// To DRAM.
    pub dram: InitiatorSocket,
    /// To SRAM.
    pub sram: InitiatorSocket,
    burst: u64,
    functional: bool,
    stats: Rc<Cell<EngineStats>>,
}

impl Dma {
    /// A DMA engine serving `port`, cutting rows into `burst`-byte accesses; with
    /// `functional`, it also moves the bytes (through debug transport, so the timing
    /// is the same either way). Its process starts with the simulation.
    pub fn new(ctx: &Ctx, name: &str, port: EnginePort, burst: u32, functional: bool) -> Rc<Dma> {
        let dma = Rc::new(Dma {
            port: port.clone(),
            dram: InitiatorSocket::new(&format!("{name}.dram")),
            sram: InitiatorSocket::new(&format!("{name}.sram")),
            burst: u64::from(burst.max(1)),
            functional,
            stats: Rc::default(),
        });
        start_engine(ctx, name, port, dma.stats.clone(), dma.clone(), Dma::handle);
        dma
    }

    /// Busy time and commands so far.
    pub fn stats(&self) -> EngineStats {
        self.stats.get()
    }

    async fn handle(self: Rc<Self>, ctx: Ctx, job: Job) -> (Job, Result<(), Fault>) {
        let result = match &job.desc.command {
            Command::DmaLoad(d) => self.transfer(&ctx, d, true).await,
            Command::DmaStore(d) => self.transfer(&ctx, d, false).await,
            Command::DmaCopy(d) => self.copy(&ctx, d).await,
            _ => return wrong_engine(job),
        };
        (job, result)
    }

    /// Checks `d` whole before any time passes: sizes, formats, and both sides'
    /// every byte — as the transfer walks them, and as a transpose writes them —
    /// in their memories. The SRAM side it writes (or, for a store, reads) may
    /// not overlap itself, so one descriptor moves at most an SRAM's worth.
    fn check(&self, d: &DmaDesc, direction: Direction) -> Result<(), Fault> {
        let at = d.dram_addr;
        let rows = footprint::nonzero(d.rows, dma_field::ROWS, at)?;
        let row = footprint::nonzero(d.row_bytes, dma_field::ROW_BYTES, at)?;
        let (src_f, dst_f) = (d.src_format, d.dst_format);
        let bad = |field| Err(Fault::in_field(DeviceError::BadField, at, field));
        // int8 carries no scale in a transfer: it converts to nothing.
        if src_f != dst_f && src_f == NumberFormat::Int8 {
            return bad(dma_field::SRC_FORMAT);
        }
        if src_f != dst_f && dst_f == NumberFormat::Int8 {
            return bad(dma_field::DST_FORMAT);
        }
        let (seb, deb) = (u64::from(src_f.bytes()), u64::from(dst_f.bytes()));
        if (src_f != dst_f || d.transpose) && !row.is_multiple_of(seb) {
            return bad(dma_field::ROW_BYTES);
        }
        let out_row = row * deb / seb;
        let planes = u64::from(d.planes.max(1));
        let side = |base: u64, stride: u64, plane_stride: u64, row: u64| {
            let stride = if stride == 0 { row } else { stride };
            Span {
                base,
                planes,
                plane_stride: if plane_stride == 0 {
                    stride.saturating_mul(rows)
                } else {
                    plane_stride
                },
                rows,
                stride,
                row,
            }
        };
        let sram_fields = Fields {
            addr: dma_field::SRAM_ADDR,
            row: dma_field::ROW_BYTES,
            rows: dma_field::ROWS,
            stride: dma_field::SRAM_STRIDE,
            planes: dma_field::PLANES,
            plane_stride: dma_field::SRAM_PLANE_STRIDE,
        };
        let (far_fields, far_error, far_socket) = match direction {
            Direction::Copy => (
                Fields {
                    addr: copy_field::SRC_ADDR,
                    stride: copy_field::SRC_STRIDE,
                    plane_stride: copy_field::SRC_PLANE_STRIDE,
                    ..sram_fields
                },
                DeviceError::SramOverflow,
                &self.sram,
            ),
            _ => (
                Fields {
                    addr: dma_field::DRAM_ADDR,
                    stride: dma_field::DRAM_STRIDE,
                    plane_stride: dma_field::DRAM_PLANE_STRIDE,
                    ..sram_fields
                },
                DeviceError::DramOutOfRange,
                &self.dram,
            ),
        };
        let sram = (u64::from(d.sram_addr), u64::from(d.sram_stride));
        let sram_plane = u64::from(d.sram_plane_stride);
        let (far, far_plane) = ((d.dram_addr, d.dram_stride), d.dram_plane_stride);
        // The rows as the transfer walks them: the source's of `row` bytes, the
        // destination's of `out_row`.
        let (sram_row, far_row) = match direction {
            Direction::Store => (row, out_row),
            Direction::Load | Direction::Copy => (out_row, row),
        };
        let sram_span = side(sram.0, sram.1, sram_plane, sram_row);
        footprint::check_disjoint_in(
            &self.sram,
            &sram_span,
            &sram_fields,
            DeviceError::SramOverflow,
        )?;
        let far_span = side(far.0, far.1, far_plane, far_row);
        footprint::check_in(far_socket, &far_span, &far_fields, far_error)?;
        if d.transpose {
            // A transposed plane is written as cols rows of `rows` elements.
            let transposed = |s: Span, base: u64, stride: u64, plane_stride: u64| {
                let (rows, row) = (row / seb, rows * deb);
                let stride = if stride == 0 { row } else { stride };
                Span {
                    base,
                    rows,
                    row,
                    stride,
                    plane_stride: if plane_stride == 0 {
                        stride.saturating_mul(rows)
                    } else {
                        plane_stride
                    },
                    ..s
                }
            };
            match direction {
                Direction::Store => {
                    let t = transposed(far_span, far.0, far.1, far_plane);
                    footprint::check_in(far_socket, &t, &far_fields, far_error)?;
                }
                Direction::Load | Direction::Copy => {
                    let t = transposed(sram_span, sram.0, sram.1, sram_plane);
                    footprint::check_in(&self.sram, &t, &sram_fields, DeviceError::SramOverflow)?;
                }
            }
        }
        Ok(())
    }

    async fn transfer(&self, ctx: &Ctx, d: &DmaDesc, load: bool) -> Result<(), Fault> {
        self.check(
            d,
            if load {
                Direction::Load
            } else {
                Direction::Store
            },
        )?;
        let planes = u64::from(d.planes.max(1));
        let rows = u64::from(d.rows);
        let row = u64::from(d.row_bytes);
        // Bytes per row on the SRAM side after format conversion.
        let sram_row = row * u64::from(d.dst_format.bytes()) / u64::from(d.src_format.bytes());
        let (sram_row, dram_row) = if load {
            (sram_row, row)
        } else {
            (row, sram_row)
        };
        let dram_stride = if d.dram_stride == 0 {
            dram_row
        } else {
            d.dram_stride
        };
        let sram_stride = if d.sram_stride == 0 {
            sram_row
        } else {
            u64::from(d.sram_stride)
        };
        let dram_plane = if d.dram_plane_stride == 0 {
            dram_stride * rows
        } else {
            d.dram_plane_stride
        };
        let sram_plane = if d.sram_plane_stride == 0 {
            sram_stride * rows
        } else {
            u64::from(d.sram_plane_stride)
        };
        let (dram_cmd, sram_cmd) = if load {
            (TlmCommand::Read, TlmCommand::Write)
        } else {
            (TlmCommand::Write, TlmCommand::Read)
        };
        let mut chunks = Vec::new();
        let mut sram_delay = SimTime::ZERO;
        for plane in 0..planes {
            for r in 0..rows {
                let dram_addr = d
                    .dram_addr
                    .checked_add(plane * dram_plane + r * dram_stride)
                    .ok_or(Fault::at(DeviceError::DramOutOfRange, d.dram_addr))?;
                let sram_addr = u64::from(d.sram_addr) + plane * sram_plane + r * sram_stride;
                sram_access(&self.sram, sram_cmd, sram_addr, sram_row, &mut sram_delay).await?;
                let end = dram_addr
                    .checked_add(dram_row)
                    .ok_or(Fault::at(DeviceError::DramOutOfRange, dram_addr))?;
                self.push_row(&mut chunks, dram_addr, end);
            }
        }
        let mut p = Payload::new(dram_cmd, d.dram_addr, 0);
        p.set_extension(BurstList {
            chunks,
            cut: self.cut(),
            fault: None,
        });
        let mut dram_done = SimTime::ZERO;
        self.dram.b_transport(&mut p, &mut dram_done).await;
        if !p.response.is_ok() {
            let addr = p
                .extension::<BurstList>()
                .and_then(|l| l.fault)
                .unwrap_or(d.dram_addr);
            return Err(Fault::at(DeviceError::DramOutOfRange, addr));
        }
        if self.functional {
            let direction = if load {
                Direction::Load
            } else {
                Direction::Store
            };
            self.move_bytes(d, direction)?;
        }
        // The SRAM side streams alongside the DRAM side: the slower one decides.
        ctx.wait(dram_done.max(sram_delay)).await;
        Ok(())
    }

    /// The access size the DRAM cuts rows at: the burst, where it fits a `u32`.
    fn cut(&self) -> u32 {
        u32::try_from(self.burst).unwrap_or(0)
    }

    /// Appends the DRAM row `[at, end)` to `chunks` as whole rows (the DRAM cuts
    /// them into bursts), split only where a row would not fit a chunk's `u32`
    /// length — at a burst boundary, so the accesses stay the same.
    fn push_row(&self, chunks: &mut Vec<(u64, u32)>, mut at: u64, end: u64) {
        const MAX: u64 = 1 << 31;
        while at < end {
            let mut next = end.min(at.saturating_add(MAX));
            if next < end {
                next -= next % self.burst;
            }
            let next = if next <= at {
                (at + self.burst).min(end)
            } else {
                next
            };
            chunks.push((at, (next - at) as u32));
            at = next;
        }
    }

    /// An SRAM → SRAM transfer: the `dram_*` fields address the source in SRAM.
    /// Each row is read, then written, through the SRAM's socket — the banks decide
    /// how long that takes; no DRAM traffic.
    async fn copy(&self, ctx: &Ctx, d: &DmaDesc) -> Result<(), Fault> {
        self.check(d, Direction::Copy)?;
        let overflow = |addr| Fault::at(DeviceError::SramOverflow, addr);
        let src = Side::source(d);
        let dst = Side::destination(d);
        let row = u64::from(d.row_bytes);
        let dst_row = row * u64::from(d.dst_format.bytes()) / u64::from(d.src_format.bytes());
        let mut delay = SimTime::ZERO;
        for plane in 0..u64::from(d.planes.max(1)) {
            for r in 0..u64::from(d.rows) {
                let from = src
                    .row(plane, r, row, d.rows)
                    .ok_or(overflow(d.dram_addr))?;
                let to = dst
                    .row(plane, r, dst_row, d.rows)
                    .ok_or(overflow(d.dram_addr))?;
                sram_access(&self.sram, TlmCommand::Read, from, row, &mut delay).await?;
                sram_access(&self.sram, TlmCommand::Write, to, dst_row, &mut delay).await?;
            }
        }
        if self.functional {
            self.move_bytes(d, Direction::Copy)?;
        }
        ctx.wait(delay).await;
        Ok(())
    }

    /// Copies the bytes of a transfer (functional runs), plane by plane: gather the
    /// source rows, transpose the plane if asked, scatter into the destination.
    fn move_bytes(&self, d: &DmaDesc, direction: Direction) -> Result<(), Fault> {
        let bad_field = Fault::at(DeviceError::BadField, d.dram_addr);
        let eb = u64::from(d.src_format.bytes());
        let out_eb = u64::from(d.dst_format.bytes());
        let (rows, row) = (u64::from(d.rows), u64::from(d.row_bytes));
        let cols = row / eb;
        if d.transpose && row % eb != 0 {
            return Err(bad_field);
        }
        // Source and destination geometry: (base, row stride, plane stride).
        let dram = (d.dram_addr, d.dram_stride, d.dram_plane_stride);
        let sram = (
            u64::from(d.sram_addr),
            u64::from(d.sram_stride),
            u64::from(d.sram_plane_stride),
        );
        let (src, dst) = match direction {
            Direction::Load | Direction::Copy => (dram, sram),
            Direction::Store => (sram, dram),
        };
        let dram_side = (&self.dram, DeviceError::DramOutOfRange);
        let sram_side = (&self.sram, DeviceError::SramOverflow);
        let (src_side, dst_side) = match direction {
            Direction::Load => (dram_side, sram_side),
            Direction::Store => (sram_side, dram_side),
            // The `dram_*` fields address the source in SRAM.
            Direction::Copy => (sram_side, sram_side),
        };
        // Rows as written: transposed planes have `cols` rows of `rows` elements;
        // elements take the destination format's size.
        let (dst_rows, dst_row) = if d.transpose {
            (cols, rows * out_eb)
        } else {
            (rows, row * out_eb / eb)
        };
        let src_stride = if src.1 == 0 { row } else { src.1 };
        let dst_stride = if dst.1 == 0 { dst_row } else { dst.1 };
        let src_plane = if src.2 == 0 { src_stride * rows } else { src.2 };
        let dst_plane = if dst.2 == 0 {
            dst_stride * dst_rows
        } else {
            dst.2
        };
        for plane in 0..u64::from(d.planes.max(1)) {
            let mut block = Vec::with_capacity((rows * row) as usize);
            for r in 0..rows {
                let addr = src.0 + plane * src_plane + r * src_stride;
                block.extend(debug_read(src_side.0, addr, row as usize, src_side.1)?);
            }
            if d.transpose {
                let mut t = vec![0u8; block.len()];
                for r in 0..rows {
                    for c in 0..cols {
                        let from = ((r * cols + c) * eb) as usize;
                        let to = ((c * rows + r) * eb) as usize;
                        t[to..to + eb as usize].copy_from_slice(&block[from..from + eb as usize]);
                    }
                }
                block = t;
            }
            // Number-format conversion on the fly (int8 has no scale here: refused).
            let block =
                treta_numerics::convert(d.src_format, d.dst_format, &block).ok_or(bad_field)?;
            for (r, chunk) in block.chunks(dst_row as usize).enumerate() {
                let addr = dst.0 + plane * dst_plane + r as u64 * dst_stride;
                debug_write(dst_side.0, addr, chunk.to_vec(), dst_side.1)?;
            }
        }
        Ok(())
    }
}

/// Which way a DMA transfer goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// DRAM → SRAM.
    Load,
    /// SRAM → DRAM.
    Store,
    /// SRAM → SRAM (the `dram_*` fields address the source).
    Copy,
}

/// One side of a copy: base, row stride and plane stride (0 = packed).
struct Side {
    base: u64,
    stride: u64,
    plane_stride: u64,
}

impl Side {
    /// The source of a `DMA_COPY`: the `dram_*` fields.
    fn source(d: &DmaDesc) -> Side {
        Side {
            base: d.dram_addr,
            stride: d.dram_stride,
            plane_stride: d.dram_plane_stride,
        }
    }

    /// The destination: the `sram_*` fields.
    fn destination(d: &DmaDesc) -> Side {
        Side {
            base: u64::from(d.sram_addr),
            stride: u64::from(d.sram_stride),
            plane_stride: u64::from(d.sram_plane_stride),
        }
    }

    /// The address of row `r` of `plane` for rows of `row` bytes, `rows` per plane;
    /// `None` past 2^64.
    fn row(&self, plane: u64, r: u64, row: u64, rows: u32) -> Option<u64> {
        let stride = if self.stride == 0 { row } else { self.stride };
        let plane_stride = if self.plane_stride == 0 {
            stride.checked_mul(u64::from(rows))?
        } else {
            self.plane_stride
        };
        self.base
            .checked_add(plane.checked_mul(plane_stride)?)?
            .checked_add(r.checked_mul(stride)?)
    }
}
