//! The Python module `treta_abi.py`: the same tables as the C header, as
//! constants and field lists, with `pack` / `unpack` for descriptors (standard
//! library only: `struct`).

use super::{upper, LAYOUTS};
use crate::desc::{flags, DESC_BYTES, ID_OFFSET, OPCODES, SEMAPHORES};
use crate::field::FieldType;
use crate::regs::{self, queue, PerfCounter, GLOBALS, QUEUES};
use crate::{DeviceError, NumberFormat, VectorOp};
use std::fmt::Write;

/// The Python module `treta_abi.py`.
pub fn python_module() -> String {
    let mut p = String::new();
    let major = regs::VERSION_VALUE >> 16;
    let minor = regs::VERSION_VALUE & 0xFFFF;
    let _ = writeln!(
        p,
        "\"\"\"TRETA's hardware/software interface for Python firmware, version {major}.{minor}.\n\n\
         GENERATED from the treta-abi crate by `treta-vp export-abi`; do not edit.\n\
         Register offsets are from the device's register window; descriptors are 64\n\
         little-endian bytes (`pack`, `unpack`).\n\"\"\"\n\nimport struct\n"
    );
    let _ = writeln!(p, "BLOCK_BYTES = 0x{:X}", regs::BLOCK_BYTES);
    let _ = writeln!(p, "ID_VALUE = 0x{:08X}", regs::ID_VALUE);
    let _ = writeln!(p, "VERSION_VALUE = 0x{:08X}", regs::VERSION_VALUE);
    let _ = writeln!(p, "ERR_FIELD_NONE = 0x{:08X}", regs::ERR_FIELD_NONE);
    let _ = writeln!(p, "\n# Registers: offsets, and bit masks of their fields.");
    for r in &GLOBALS {
        let _ = writeln!(
            p,
            "{} = 0x{:03X}  # {} ({})",
            r.name,
            r.offset,
            r.doc,
            r.access.name()
        );
        for f in r.fields {
            let _ = writeln!(p, "{}_{} = 0x{:X}  # {}", r.name, f.name, f.mask(), f.doc);
        }
    }
    let _ = writeln!(p, "\n# Command queues.");
    let _ = writeln!(p, "QUEUES = {QUEUES}");
    let _ = writeln!(p, "QUEUE_BASE = 0x{:03X}", queue::BASE);
    let _ = writeln!(p, "QUEUE_STRIDE = 0x{:02X}", queue::STRIDE);
    let _ = writeln!(p, "QUEUE_MAX_SIZE = {}", queue::MAX_SIZE);
    for r in &queue::REGISTERS {
        let _ = writeln!(
            p,
            "QUEUE_{} = 0x{:02X}  # {} ({})",
            r.name,
            r.offset,
            r.doc,
            r.access.name()
        );
    }
    p.push_str(
        "\n\ndef queue_reg(q, reg):\n    \"\"\"Offset of queue register `reg` (a QUEUE_*) of queue `q`.\"\"\"\n    \
         return QUEUE_BASE + QUEUE_STRIDE * q + reg\n\n",
    );
    let _ = writeln!(p, "\n# Performance counters: 64-bit, LO then HI.");
    for c in PerfCounter::ALL {
        let _ = writeln!(
            p,
            "PERF_{}_LO = 0x{:03X}  # {}",
            c.name(),
            c.offset(),
            c.doc()
        );
        let _ = writeln!(p, "PERF_{}_HI = 0x{:03X}", c.name(), c.offset() + 4);
    }
    let _ = writeln!(p, "\n# Values of ERR_CODE and what they mean.");
    let _ = writeln!(p, "ERR_NONE = 0");
    for e in DeviceError::ALL {
        let _ = writeln!(p, "ERR_{} = {}", e.name(), e.code());
    }
    p.push_str("DEVICE_ERRORS = {\n    0: \"no error\",\n");
    for e in DeviceError::ALL {
        let _ = writeln!(p, "    {}: \"{e}\",", e.code());
    }
    p.push_str("}\n\n# Number formats: code, and bytes per element in FORMAT_BYTES.\n");
    for f in NumberFormat::ALL {
        let _ = writeln!(p, "FMT_{} = {}", upper(f.name()), f.code());
    }
    p.push_str("FORMAT_BYTES = {");
    for (i, f) in NumberFormat::ALL.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        let _ = write!(p, "{sep}{}: {}", f.code(), f.bytes());
    }
    p.push_str("}\n\n# Element-wise operations of VECTOR.\n");
    for v in VectorOp::ALL {
        let _ = writeln!(p, "VOP_{} = {}", upper(v.name()), v as u8);
    }
    let _ = writeln!(p, "\n# Descriptors.");
    let _ = writeln!(p, "DESC_BYTES = {DESC_BYTES}");
    let _ = writeln!(p, "SEMAPHORES = {SEMAPHORES}");
    let _ = writeln!(p, "DESC_ID_OFFSET = {ID_OFFSET}");
    for (code, name) in OPCODES {
        let _ = writeln!(p, "OP_{name} = 0x{code:02X}");
    }
    let _ = writeln!(p, "FLAG_TRANSPOSE = 0x{:02X}", flags::TRANSPOSE);
    let _ = writeln!(p, "FLAG_TRANSPOSE_A = 0x{:02X}", flags::TRANSPOSE_A);
    let _ = writeln!(p, "FLAG_TRANSPOSE_B = 0x{:02X}", flags::TRANSPOSE_B);
    let _ = writeln!(p, "FLAG_ACCUMULATE = 0x{:02X}", flags::ACCUMULATE);
    p.push_str(
        "\n# Each layout's fields after the header: (name, byte offset, struct code).\nLAYOUTS = {\n",
    );
    for layout in &LAYOUTS {
        let _ = writeln!(p, "    \"{}\": [  # {}", layout.name, layout.doc);
        for f in layout.fields() {
            let code = match f.ty {
                FieldType::U8 => "B",
                FieldType::U32 => "I",
                FieldType::U64 => "Q",
                FieldType::F32 => "f",
            };
            let _ = writeln!(p, "        (\"{}\", {}, \"{code}\"),", f.name, f.offset);
        }
        p.push_str("    ],\n");
    }
    p.push_str("}\n");
    p.push_str(PACKING);
    p
}

/// `pack` / `unpack`, the same for every layout (the tables above drive them).
const PACKING: &str = r#"

def pack(layout, opcode, flags=0, id=0, **fields):
    """The 64 bytes of a descriptor of `layout` (a LAYOUTS key; None for NOP and
    FENCE). Fields not given are 0; an unknown field name is an error."""
    table = LAYOUTS[layout] if layout is not None else []
    unknown = set(fields) - {name for name, _, _ in table}
    if unknown:
        raise ValueError(f"{layout}: no field {', '.join(sorted(unknown))}")
    d = bytearray(DESC_BYTES)
    struct.pack_into("<BBxxI", d, 0, opcode, flags, id)
    for name, offset, code in table:
        struct.pack_into("<" + code, d, offset, fields.get(name, 0))
    return bytes(d)


def unpack(layout, d):
    """A descriptor's header and fields: a dict with opcode, flags, id and the
    fields of `layout`."""
    if len(d) != DESC_BYTES:
        raise ValueError(f"a descriptor is {DESC_BYTES} bytes, not {len(d)}")
    opcode, flags, id = struct.unpack_from("<BBxxI", d, 0)
    out = {"opcode": opcode, "flags": flags, "id": id}
    for name, offset, code in LAYOUTS[layout] if layout is not None else []:
        out[name] = struct.unpack_from("<" + code, d, offset)[0]
    return out
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_module_names_every_register_code_and_layout() {
        let p = python_module();
        assert!(p.contains("CTRL = 0x008"));
        assert!(p.contains("CTRL_ENABLE = 0x1"));
        assert!(p.contains("QUEUE_DOORBELL = 0x14"));
        assert!(p.contains("ERR_SRAM_OVERFLOW = 4"));
        assert!(p.contains("OP_GEMM = 0x10"));
        assert!(p.contains("(\"c_format\", 46, \"B\"),"));
        assert!(p.contains("(\"scalar0\", 40, \"f\"),"));
    }
}
