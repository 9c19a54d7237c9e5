//! Descriptor fields by name and place: what a device error's `ERR_FIELD`
//! register points at.
//!
//! A [`Field`] is a byte offset within the 64-byte descriptor (its first byte)
//! and the name firmware knows it by — the name of the field in [`crate::desc`]'s
//! structs. When the device refuses a descriptor because of one field (a size
//! that cannot fit, a format it cannot convert, an address outside the SRAM), it
//! writes that offset to `ERR_FIELD`; a driver turns it back into a name with
//! [`at`], knowing the opcode it wrote.

use std::fmt;

/// One field of a descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Field {
    /// Its first byte within the descriptor.
    pub offset: u8,
    /// How it is stored (little-endian, from `offset` on).
    pub ty: FieldType,
    /// Its name, as in the descriptor structs (`rows`, `src_addr`, `a_format`).
    pub name: &'static str,
}

/// How a descriptor field is stored: what C headers declare it as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// One byte: a format or vector-operation code, the opcode, the flags.
    U8,
    /// A 32-bit unsigned integer.
    U32,
    /// A 64-bit unsigned integer (DRAM addresses and strides).
    U64,
    /// An IEEE binary32 scalar, stored as its bits.
    F32,
}

impl FieldType {
    /// Bytes the field takes.
    pub const fn bytes(self) -> u8 {
        match self {
            FieldType::U8 => 1,
            FieldType::U32 | FieldType::F32 => 4,
            FieldType::U64 => 8,
        }
    }
}

impl Field {
    const fn new(offset: u8, ty: FieldType, name: &'static str) -> Field {
        Field { offset, ty, name }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (byte {})", self.name, self.offset)
    }
}

/// Byte 0: the opcode.
pub const OPCODE: Field = Field::new(0, FieldType::U8, "opcode");
/// Byte 1: the flags (transposes, accumulate).
pub const FLAGS: Field = Field::new(1, FieldType::U8, "flags");

/// Fields of `DMA_LOAD` and `DMA_STORE`.
pub mod dma {
    use super::{Field, FieldType};
    /// DRAM address of the first byte.
    pub const DRAM_ADDR: Field = Field::new(8, FieldType::U64, "dram_addr");
    /// SRAM address of the first byte.
    pub const SRAM_ADDR: Field = Field::new(16, FieldType::U32, "sram_addr");
    /// Rows per plane.
    pub const ROWS: Field = Field::new(20, FieldType::U32, "rows");
    /// Bytes per source row.
    pub const ROW_BYTES: Field = Field::new(24, FieldType::U32, "row_bytes");
    /// Bytes between SRAM rows.
    pub const SRAM_STRIDE: Field = Field::new(28, FieldType::U32, "sram_stride");
    /// Bytes between DRAM rows.
    pub const DRAM_STRIDE: Field = Field::new(32, FieldType::U64, "dram_stride");
    /// Planes.
    pub const PLANES: Field = Field::new(40, FieldType::U32, "planes");
    /// Bytes between SRAM planes.
    pub const SRAM_PLANE_STRIDE: Field = Field::new(44, FieldType::U32, "sram_plane_stride");
    /// Bytes between DRAM planes.
    pub const DRAM_PLANE_STRIDE: Field = Field::new(48, FieldType::U64, "dram_plane_stride");
    /// Source element format.
    pub const SRC_FORMAT: Field = Field::new(56, FieldType::U8, "src_format");
    /// Destination element format.
    pub const DST_FORMAT: Field = Field::new(57, FieldType::U8, "dst_format");

    /// In offset order.
    pub(super) const ALL: [Field; 11] = [
        DRAM_ADDR,
        SRAM_ADDR,
        ROWS,
        ROW_BYTES,
        SRAM_STRIDE,
        DRAM_STRIDE,
        PLANES,
        SRAM_PLANE_STRIDE,
        DRAM_PLANE_STRIDE,
        SRC_FORMAT,
        DST_FORMAT,
    ];
}

/// Fields of `DMA_COPY` where they differ from [`dma`]'s: the `dram_*` words
/// address the source in SRAM.
pub mod copy {
    use super::{Field, FieldType};
    /// SRAM address of the source's first byte.
    pub const SRC_ADDR: Field = Field::new(8, FieldType::U64, "src_sram_addr");
    /// Bytes between source rows.
    pub const SRC_STRIDE: Field = Field::new(32, FieldType::U64, "src_stride");
    /// Bytes between source planes.
    pub const SRC_PLANE_STRIDE: Field = Field::new(48, FieldType::U64, "src_plane_stride");

    /// In offset order.
    pub(super) const ALL: [Field; 11] = [
        SRC_ADDR,
        super::dma::SRAM_ADDR,
        super::dma::ROWS,
        super::dma::ROW_BYTES,
        super::dma::SRAM_STRIDE,
        SRC_STRIDE,
        super::dma::PLANES,
        super::dma::SRAM_PLANE_STRIDE,
        SRC_PLANE_STRIDE,
        super::dma::SRC_FORMAT,
        super::dma::DST_FORMAT,
    ];
}

/// Fields of `GEMM`.
pub mod gemm {
    use super::{Field, FieldType};
    /// Rows of op(A) and C.
    pub const M: Field = Field::new(8, FieldType::U32, "m");
    /// The reduction dimension.
    pub const K: Field = Field::new(12, FieldType::U32, "k");
    /// Columns of op(B) and C.
    pub const N: Field = Field::new(16, FieldType::U32, "n");
    /// SRAM address of A.
    pub const A_ADDR: Field = Field::new(20, FieldType::U32, "a_addr");
    /// SRAM address of B.
    pub const B_ADDR: Field = Field::new(24, FieldType::U32, "b_addr");
    /// SRAM address of C.
    pub const C_ADDR: Field = Field::new(28, FieldType::U32, "c_addr");
    /// Leading dimension of A.
    pub const LDA: Field = Field::new(32, FieldType::U32, "lda");
    /// Leading dimension of B.
    pub const LDB: Field = Field::new(36, FieldType::U32, "ldb");
    /// Leading dimension of C.
    pub const LDC: Field = Field::new(40, FieldType::U32, "ldc");
    /// Format of A.
    pub const A_FORMAT: Field = Field::new(44, FieldType::U8, "a_format");
    /// Format of B.
    pub const B_FORMAT: Field = Field::new(45, FieldType::U8, "b_format");
    /// Format of C.
    pub const C_FORMAT: Field = Field::new(46, FieldType::U8, "c_format");

    /// In offset order.
    pub(super) const ALL: [Field; 12] = [
        M, K, N, A_ADDR, B_ADDR, C_ADDR, LDA, LDB, LDC, A_FORMAT, B_FORMAT, C_FORMAT,
    ];
}

/// Fields of the special-function unit's commands (`SOFTMAX_FWD` … `VECTOR`).
pub mod sfu {
    use super::{Field, FieldType};
    /// Rows.
    pub const ROWS: Field = Field::new(8, FieldType::U32, "rows");
    /// Elements per row.
    pub const COLS: Field = Field::new(12, FieldType::U32, "cols");
    /// SRAM address of the source.
    pub const SRC_ADDR: Field = Field::new(16, FieldType::U32, "src_addr");
    /// SRAM address of the destination.
    pub const DST_ADDR: Field = Field::new(20, FieldType::U32, "dst_addr");
    /// SRAM address of aux0.
    pub const AUX0_ADDR: Field = Field::new(24, FieldType::U32, "aux0_addr");
    /// SRAM address of aux1.
    pub const AUX1_ADDR: Field = Field::new(28, FieldType::U32, "aux1_addr");
    /// SRAM address of aux2.
    pub const AUX2_ADDR: Field = Field::new(32, FieldType::U32, "aux2_addr");
    /// The vector operation of `VECTOR`.
    pub const VECTOR_OP: Field = Field::new(36, FieldType::U8, "vector_op");
    /// Format of the activation and gradient tensors.
    pub const FORMAT: Field = Field::new(37, FieldType::U8, "format");
    /// Scalar 0.
    pub const SCALAR0: Field = Field::new(40, FieldType::F32, "scalar0");
    /// SRAM address of aux3.
    pub const AUX3_ADDR: Field = Field::new(44, FieldType::U32, "aux3_addr");
    /// Scalar 1.
    pub const SCALAR1: Field = Field::new(48, FieldType::F32, "scalar1");
    /// Scalar 2.
    pub const SCALAR2: Field = Field::new(52, FieldType::F32, "scalar2");
    /// Scalar 3.
    pub const SCALAR3: Field = Field::new(56, FieldType::F32, "scalar3");

    /// In offset order, for every opcode but `VECTOR`.
    pub(super) const ALL: [Field; 13] = [
        ROWS, COLS, SRC_ADDR, DST_ADDR, AUX0_ADDR, AUX1_ADDR, AUX2_ADDR, FORMAT, SCALAR0,
        AUX3_ADDR, SCALAR1, SCALAR2, SCALAR3,
    ];
    /// In offset order, for `VECTOR` (its operation at byte 36).
    pub(super) const VECTOR_ALL: [Field; 14] = [
        ROWS, COLS, SRC_ADDR, DST_ADDR, AUX0_ADDR, AUX1_ADDR, AUX2_ADDR, VECTOR_OP, FORMAT,
        SCALAR0, AUX3_ADDR, SCALAR1, SCALAR2, SCALAR3,
    ];
}

/// Fields of `SEM_SIGNAL` and `SEM_WAIT`.
pub mod sem {
    use super::{Field, FieldType};
    /// The semaphore.
    pub const SEM: Field = Field::new(8, FieldType::U32, "sem");
    /// Units a wait takes.
    pub const COUNT: Field = Field::new(12, FieldType::U32, "count");

    /// In offset order (`SEM_SIGNAL` has only the first).
    pub(super) const ALL: [Field; 2] = [SEM, COUNT];
}

/// The field of `IRQ`: its code.
pub const IRQ_CODE: Field = Field::new(8, FieldType::U32, "code");

/// Every field of a descriptor with `opcode` after the header (none for an
/// unknown opcode), in offset order.
pub fn fields(opcode: u8) -> &'static [Field] {
    match opcode {
        0x01 | 0x02 => &dma::ALL,
        0x03 => &copy::ALL,
        0x10 => &gemm::ALL,
        0x20..=0x25 | 0x27 => &sfu::ALL,
        0x26 => &sfu::VECTOR_ALL,
        0x30 => std::slice::from_ref(&sem::SEM),
        0x31 => &sem::ALL,
        0x33 => std::slice::from_ref(&IRQ_CODE),
        _ => &[],
    }
}

/// The field of an `opcode` descriptor that starts at byte `offset` (the value
/// of `ERR_FIELD`), header fields included.
pub fn at(opcode: u8, offset: u32) -> Option<Field> {
    [OPCODE, FLAGS]
        .iter()
        .chain(fields(opcode))
        .find(|f| u32::from(f.offset) == offset)
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Descriptor, DESC_BYTES};

    /// The `Debug` text of the descriptor `bytes` decode to.
    fn decoded(bytes: &[u8; DESC_BYTES]) -> String {
        format!(
            "{:?}",
            Descriptor::decode(bytes).expect("a valid descriptor")
        )
    }

    #[test]
    fn every_field_is_where_the_table_says() {
        for opcode in [0x01, 0x02, 0x03, 0x10, 0x20, 0x23, 0x26, 0x30, 0x31, 0x33] {
            let mut base = [0u8; DESC_BYTES];
            base[0] = opcode;
            let before = decoded(&base);
            let table = fields(opcode);
            assert!(
                table.windows(2).all(|w| w[0].offset < w[1].offset),
                "{opcode:#x}"
            );
            assert!(
                table
                    .windows(2)
                    .all(|w| w[0].offset + w[0].ty.bytes() <= w[1].offset),
                "{opcode:#x}: fields overlap"
            );
            // The field's first and last byte both belong to it, and only to it.
            let ends = table.iter().flat_map(|f| {
                [f.offset, f.offset + f.ty.bytes() - 1]
                    .into_iter()
                    .map(move |byte| (f, byte))
            });
            for (f, byte) in ends {
                // 1 is a valid value of every field (bf16, `sub`, semaphore 1)
                // in its first byte; in the last byte of a semaphore it is too
                // large, and the decoder's refusal names the field.
                let mut bytes = base;
                bytes[usize::from(byte)] = 1;
                if let Err(e) = Descriptor::decode(&bytes) {
                    assert_eq!(e.field(), *f, "{opcode:#x} byte {byte}");
                    continue;
                }
                let after = decoded(&bytes);
                let changed: Vec<_> = after
                    .split(", ")
                    .zip(before.split(", "))
                    .filter(|(a, b)| a != b)
                    .map(|(a, _)| a)
                    .collect();
                assert_eq!(changed.len(), 1, "{opcode:#x} {f}: {before} → {after}");
                // Fields named as the struct's show under their name.
                let struct_named = !f.name.starts_with("scalar")
                    && !f.name.starts_with("src_")
                    && f.name != "vector_op";
                if struct_named || opcode != 0x03 && f.name.starts_with("src_") {
                    assert!(
                        changed[0].contains(&format!("{}: ", f.name)),
                        "{opcode:#x} {f}: {}",
                        changed[0]
                    );
                }
                assert_eq!(at(opcode, u32::from(f.offset)), Some(*f));
            }
        }
        assert_eq!(at(0x10, 0), Some(OPCODE));
        assert_eq!(at(0x10, 9), None);
        assert_eq!(at(0x7f, 8), None);
    }
}
