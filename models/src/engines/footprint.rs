//! A descriptor's footprint, checked before any time passes: every operand's
//! first and last byte, computed exactly (in `u128`, so no size wraps around),
//! must lie in the memory behind the engine's socket. An operand that does not
//! fit is a fault naming the field to blame — its address when the operand
//! would fit at address 0, else the size or stride that makes it too large.
//!
//! Checking the whole footprint first is what makes every descriptor cheap to
//! refuse: no engine times, computes or allocates anything for an operand it has
//! not placed, and the work a descriptor can ask for is bounded by the memory
//! its operands must fit in.

use super::debug_read;
use crate::job::Fault;
use treta_abi::field::Field;
use treta_abi::DeviceError;
use treta_kernel::tlm::InitiatorSocket;

/// The bytes of one operand: `planes` planes of `rows` rows of `row` bytes,
/// `stride` bytes between rows and `plane_stride` between planes, from `base`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Span {
    /// First byte.
    pub(super) base: u64,
    /// Planes (at least 1).
    pub(super) planes: u64,
    /// Bytes between planes.
    pub(super) plane_stride: u64,
    /// Rows per plane (at least 1).
    pub(super) rows: u64,
    /// Bytes between rows.
    pub(super) stride: u64,
    /// Bytes per row (at least 1).
    pub(super) row: u64,
}

/// The fields a [`Span`] comes from, to blame when it does not fit.
#[derive(Clone, Copy, Debug)]
pub(super) struct Fields {
    /// The operand's address.
    pub(super) addr: Field,
    /// The field that sets a row's length.
    pub(super) row: Field,
    /// The field that sets the rows.
    pub(super) rows: Field,
    /// The field that sets the row stride (the rows' when it is implied).
    pub(super) stride: Field,
    /// The planes and their stride (the rows' fields for a 2-D operand).
    pub(super) planes: Field,
    /// The plane stride.
    pub(super) plane_stride: Field,
}

impl Fields {
    /// The fields of a 2-D operand: its address, rows, row length and stride.
    pub(super) fn matrix(addr: Field, rows: Field, row: Field, stride: Field) -> Fields {
        Fields {
            addr,
            row,
            rows,
            stride,
            planes: rows,
            plane_stride: stride,
        }
    }
}

impl Span {
    /// A packed run of `bytes` bytes at `base` (a vector, a scalar).
    pub(super) fn bytes(base: u64, bytes: u64) -> Span {
        Span::rows(base, 1, bytes, bytes)
    }

    /// `rows` rows of `row` bytes, `stride` apart, at `base`.
    pub(super) fn rows(base: u64, rows: u64, row: u64, stride: u64) -> Span {
        Span {
            base,
            planes: 1,
            plane_stride: 0,
            rows,
            stride,
            row,
        }
    }

    /// Bytes from the first to past the last, exactly.
    fn extent(&self) -> u128 {
        let (planes, rows) = (u128::from(self.planes), u128::from(self.rows));
        (planes - 1) * u128::from(self.plane_stride)
            + (rows - 1) * u128::from(self.stride)
            + u128::from(self.row)
    }

    /// The address of the last byte, exactly.
    fn last(&self) -> u128 {
        u128::from(self.base) + self.extent() - 1
    }

    /// Whether no two rows (and no two planes) share a byte: then the span
    /// holds `planes × rows × row` distinct bytes, so a memory it fits in
    /// bounds the work of moving it.
    fn disjoint(&self) -> bool {
        let plane = (u128::from(self.rows) - 1) * u128::from(self.stride) + u128::from(self.row);
        (self.rows == 1 || self.stride >= self.row)
            && (self.planes == 1 || u128::from(self.plane_stride) >= plane)
    }
}

/// Whether the byte at `addr` is behind `socket` (a zero-time debug probe).
fn present(socket: &InitiatorSocket, addr: u128) -> bool {
    u64::try_from(addr).is_ok_and(|a| debug_read(socket, a, 1, DeviceError::BadField).is_ok())
}

/// The first address in `base..=last` that is not behind `socket`, where `last`
/// is not (a binary search: the memory starts at 0 and has no holes).
fn first_absent(socket: &InitiatorSocket, base: u128, last: u128) -> u64 {
    if !present(socket, base) {
        return u64::try_from(base).unwrap_or(u64::MAX);
    }
    let (mut present_at, mut absent_at) = (base, last);
    while absent_at - present_at > 1 {
        let mid = present_at + (absent_at - present_at) / 2;
        if present(socket, mid) {
            present_at = mid;
        } else {
            absent_at = mid;
        }
    }
    u64::try_from(absent_at).unwrap_or(u64::MAX)
}

/// `span` lies wholly in the memory behind `socket` (which starts at address 0
/// and has no holes), else `error` naming the field to blame and the operand's
/// first byte outside the memory.
pub(super) fn check_in(
    socket: &InitiatorSocket,
    span: &Span,
    fields: &Fields,
    error: DeviceError,
) -> Result<(), Fault> {
    if present(socket, span.last()) {
        return Ok(());
    }
    let outside = first_absent(socket, u128::from(span.base), span.last());
    let at = |field| Err(Fault::in_field(error, outside, field));
    // Would it fit at address 0? Then it starts too late.
    if present(socket, span.extent() - 1) {
        return at(fields.addr);
    }
    if !present(socket, u128::from(span.row) - 1) {
        return at(fields.row);
    }
    let plane = Span { planes: 1, ..*span };
    if !present(socket, plane.extent() - 1) {
        let packed = span.stride == span.row;
        return at(if packed { fields.rows } else { fields.stride });
    }
    let packed = u128::from(span.plane_stride) == plane.extent();
    at(if packed {
        fields.planes
    } else {
        fields.plane_stride
    })
}

/// [`check_in`], and the rows and planes of `span` share no byte (a stride
/// shorter than what it steps over is `BadField` on that stride).
pub(super) fn check_disjoint_in(
    socket: &InitiatorSocket,
    span: &Span,
    fields: &Fields,
    error: DeviceError,
) -> Result<(), Fault> {
    if !span.disjoint() {
        let field = if span.rows > 1 && span.stride < span.row {
            fields.stride
        } else {
            fields.plane_stride
        };
        return Err(Fault::in_field(DeviceError::BadField, span.base, field));
    }
    check_in(socket, span, fields, error)
}

/// `value` is not zero, else `BadField` on `field`.
pub(super) fn nonzero(value: u32, field: Field, addr: u64) -> Result<u64, Fault> {
    if value == 0 {
        Err(Fault::in_field(DeviceError::BadField, addr, field))
    } else {
        Ok(u64::from(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extents_are_exact_where_u64_would_wrap() {
        let s = Span::rows(4096, 1 << 31, 1 << 33, 1 << 33);
        assert_eq!(s.extent(), 1u128 << 64);
        assert!(s.last() > u128::from(u64::MAX));
        assert!(s.disjoint());
        assert!(!Span::rows(0, 2, 8, 4).disjoint());
        let planes = Span {
            planes: 2,
            plane_stride: 15,
            ..Span::rows(0, 2, 8, 8)
        };
        assert!(!planes.disjoint());
        assert!(Span {
            plane_stride: 16,
            ..planes
        }
        .disjoint());
    }
}
