//! The interface rendered for firmware written in other languages and for
//! register tools: a C header, a Python module and a CMSIS-SVD description,
//! generated from this crate's tables so that the Rust definitions stay the one
//! source of truth.
//!
//! All are plain text; the platform's `treta-vp export-abi` writes them to
//! files, and a test fails when the checked-in copies under `sdk/` differ from
//! what these functions render.

mod c;
mod python;
mod svd;

pub use c::c_header;
pub use python::python_module;
pub use svd::cmsis_svd;

use crate::field::{self, Field};

/// A descriptor layout shared by one or more opcodes: the C header's struct and
/// pack/unpack helpers, and the opcode whose field table it takes.
struct Layout {
    /// The C name (`dma` → `treta_dma_t`, `treta_dma_pack`).
    name: &'static str,
    /// An opcode with this layout (its fields come from [`field::fields`]).
    opcode: u8,
    /// Which commands use it.
    doc: &'static str,
}

impl Layout {
    fn fields(&self) -> &'static [Field] {
        field::fields(self.opcode)
    }
}

/// Every descriptor layout with fields after the header (`NOP` and `FENCE` have
/// none).
const LAYOUTS: [Layout; 6] = [
    Layout {
        name: "dma",
        opcode: 0x01,
        doc: "DMA_LOAD (DRAM to SRAM) and DMA_STORE (SRAM to DRAM)",
    },
    Layout {
        name: "dma_copy",
        opcode: 0x03,
        doc: "DMA_COPY (SRAM to SRAM; the source is addressed in SRAM)",
    },
    Layout {
        name: "gemm",
        opcode: 0x10,
        doc: "GEMM: C = op(A) op(B) (+ C)",
    },
    Layout {
        name: "sfu",
        opcode: 0x26,
        doc: "SOFTMAX_FWD ... GELU_BWD, VECTOR and SOFTMAX_CAUSAL_FWD (vector_op is read by VECTOR only)",
    },
    Layout {
        name: "sem",
        opcode: 0x31,
        doc: "SEM_SIGNAL (count unused) and SEM_WAIT",
    },
    Layout {
        name: "irq",
        opcode: 0x33,
        doc: "IRQ: raise the completion interrupt",
    },
];

/// A snake-case name as C macros and SVD register names spell it (`src_addr` →
/// `SRC_ADDR`).
fn upper(name: &str) -> String {
    name.to_ascii_uppercase()
}
