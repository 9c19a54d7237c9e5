//! The C header: CMSIS-style `_OFFSET` / `_Pos` / `_Msk` macros for registers,
//! enums for codes, and per-layout structs with pack/unpack helpers for
//! descriptors, in C99 with `<stdint.h>` types.

use super::{upper, Layout, LAYOUTS};
use crate::desc::{flags, DESC_BYTES, ID_OFFSET, OPCODES, SEMAPHORES};
use crate::field::{self, FieldType};
use crate::regs::{self, queue, PerfCounter, Register, GLOBALS, QUEUES};
use crate::{DeviceError, NumberFormat, VectorOp};
use std::fmt::Write;

/// The C header `treta_abi.h`.
pub fn c_header() -> String {
    let mut h = String::new();
    preamble(&mut h);
    registers(&mut h);
    codes(&mut h);
    descriptors(&mut h);
    h.push_str("\n#ifdef __cplusplus\n}\n#endif\n\n#endif /* TRETA_ABI_H */\n");
    h
}

/// Appends a line (writing to a `String` cannot fail).
macro_rules! out {
    ($h:expr) => { $h.push('\n') };
    ($h:expr, $($arg:tt)*) => {{
        let _ = writeln!($h, $($arg)*);
    }};
}

fn preamble(h: &mut String) {
    let major = regs::VERSION_VALUE >> 16;
    let minor = regs::VERSION_VALUE & 0xFFFF;
    out!(h, "/*");
    out!(
        h,
        " * treta_abi.h: TRETA's hardware/software interface for C firmware,"
    );
    out!(
        h,
        " * version {major}.{minor} (the value of the VERSION register)."
    );
    out!(h, " *");
    out!(
        h,
        " * GENERATED from the treta-abi crate by `treta-vp export-abi`; do not edit."
    );
    out!(
        h,
        " * Registers are 32-bit, at byte offsets from the device's register window;"
    );
    out!(
        h,
        " * descriptors are 64 bytes, little-endian, written into a queue's ring in DRAM."
    );
    out!(h, " */");
    out!(h, "#ifndef TRETA_ABI_H");
    out!(h, "#define TRETA_ABI_H");
    out!(h);
    out!(h, "#include <stdint.h>");
    out!(h, "#include <string.h>");
    out!(h);
    out!(h, "#ifdef __cplusplus");
    out!(h, "extern \"C\" {{");
    out!(h, "#endif");
}

fn registers(h: &mut String) {
    out!(h);
    out!(
        h,
        "/* ---- Registers ---------------------------------------------------- */"
    );
    out!(h);
    out!(h, "/** Size of the register block [bytes]. */");
    out!(h, "#define TRETA_BLOCK_BYTES 0x{:X}U", regs::BLOCK_BYTES);
    out!(h, "/** The value of ID: \"TRET\" in ASCII. */");
    out!(h, "#define TRETA_ID_VALUE 0x{:08X}UL", regs::ID_VALUE);
    out!(h, "/** The value of VERSION: major << 16 | minor. */");
    out!(
        h,
        "#define TRETA_VERSION_VALUE 0x{:08X}UL",
        regs::VERSION_VALUE
    );
    out!(h, "/** ERR_FIELD when the error names no single field. */");
    out!(
        h,
        "#define TRETA_ERR_FIELD_NONE 0x{:08X}UL",
        regs::ERR_FIELD_NONE
    );
    for r in &GLOBALS {
        register(h, "TRETA_", r);
    }
    out!(h);
    out!(h, "/* Command queues: a block of registers per queue. */");
    out!(h, "/** Number of command queues. */");
    out!(h, "#define TRETA_QUEUES {QUEUES}U");
    out!(h, "/** First byte of queue 0's block. */");
    out!(h, "#define TRETA_QUEUE_BASE 0x{:03X}U", queue::BASE);
    out!(h, "/** Bytes per queue block. */");
    out!(h, "#define TRETA_QUEUE_STRIDE 0x{:02X}U", queue::STRIDE);
    out!(h, "/** Largest ring [descriptors]. */");
    out!(h, "#define TRETA_QUEUE_MAX_SIZE {}U", queue::MAX_SIZE);
    out!(
        h,
        "/** Offset of register `reg` (a TRETA_QUEUE_*_OFFSET) of queue `q`. */"
    );
    out!(
        h,
        "#define TRETA_QUEUE_REG(q, reg) (TRETA_QUEUE_BASE + TRETA_QUEUE_STRIDE * (uint32_t)(q) + (reg))"
    );
    for r in &queue::REGISTERS {
        register(h, "TRETA_QUEUE_", r);
    }
    out!(h);
    out!(h, "/* Performance counters: 64-bit, read as LO then HI. */");
    for c in PerfCounter::ALL {
        out!(h, "/** PERF_{} (RO): {}. */", c.name(), c.doc());
        out!(
            h,
            "#define TRETA_PERF_{}_LO_OFFSET 0x{:03X}U",
            c.name(),
            c.offset()
        );
        out!(
            h,
            "#define TRETA_PERF_{}_HI_OFFSET 0x{:03X}U",
            c.name(),
            c.offset() + 4
        );
    }
}

/// One register's offset macro and its bit fields' `_Pos` / `_Msk` macros.
fn register(h: &mut String, prefix: &str, r: &Register) {
    let name = format!("{prefix}{}", r.name);
    out!(h);
    out!(h, "/** {} ({}): {}. */", r.name, r.access.name(), r.doc);
    out!(h, "#define {name}_OFFSET 0x{:03X}U", r.offset);
    for f in r.fields {
        out!(h, "#define {name}_{}_Pos {}U", f.name, f.pos);
        out!(
            h,
            "#define {name}_{}_Msk (0x{:X}UL << {name}_{}_Pos) /**< {} */",
            f.name,
            f.mask() >> f.pos,
            f.name,
            f.doc
        );
    }
}

fn codes(h: &mut String) {
    out!(h);
    out!(
        h,
        "/* ---- Codes --------------------------------------------------------- */"
    );
    out!(h);
    out!(h, "/** Values of ERR_CODE. */");
    out!(h, "typedef enum {{");
    out!(h, "    TRETA_ERR_NONE = 0,");
    for e in DeviceError::ALL {
        out!(
            h,
            "    TRETA_ERR_{} = {}, /**< {} */",
            e.name(),
            e.code(),
            e
        );
    }
    out!(h, "}} treta_device_error_t;");
    out!(h);
    out!(
        h,
        "/** What an ERR_CODE value means (\"unknown error\" for unknown codes). */"
    );
    out!(
        h,
        "static inline const char *treta_device_error_str(uint32_t code) {{"
    );
    out!(h, "    switch (code) {{");
    out!(h, "    case TRETA_ERR_NONE: return \"no error\";");
    for e in DeviceError::ALL {
        out!(h, "    case TRETA_ERR_{}: return \"{e}\";", e.name());
    }
    out!(h, "    default: return \"unknown error\";");
    out!(h, "    }}");
    out!(h, "}}");
    out!(h);
    out!(
        h,
        "/** Number formats of stored operands (descriptor format codes). */"
    );
    out!(h, "typedef enum {{");
    for f in NumberFormat::ALL {
        out!(
            h,
            "    TRETA_FMT_{} = {}, /**< {} byte(s) per element */",
            upper(f.name()),
            f.code(),
            f.bytes()
        );
    }
    out!(h, "}} treta_format_t;");
    out!(h);
    out!(
        h,
        "/** Bytes per element of a format code (0 for an unknown code). */"
    );
    out!(
        h,
        "static inline uint32_t treta_format_bytes(uint8_t format) {{"
    );
    out!(h, "    switch (format) {{");
    for f in NumberFormat::ALL {
        out!(
            h,
            "    case TRETA_FMT_{}: return {}U;",
            upper(f.name()),
            f.bytes()
        );
    }
    out!(h, "    default: return 0U;");
    out!(h, "    }}");
    out!(h, "}}");
    out!(h);
    out!(
        h,
        "/** Element-wise operations of the VECTOR descriptor (its vector_op). */"
    );
    out!(h, "typedef enum {{");
    for v in VectorOp::ALL {
        out!(h, "    TRETA_VOP_{} = {},", upper(v.name()), v as u8);
    }
    out!(h, "}} treta_vector_op_t;");
}

fn descriptors(h: &mut String) {
    out!(h);
    out!(
        h,
        "/* ---- Descriptors --------------------------------------------------- */"
    );
    out!(h);
    out!(h, "/** Bytes per descriptor. */");
    out!(h, "#define TRETA_DESC_BYTES {DESC_BYTES}U");
    out!(h, "/** Number of semaphores. */");
    out!(h, "#define TRETA_SEMAPHORES {SEMAPHORES}U");
    out!(
        h,
        "/** Header: opcode at byte 0, flags at byte 1, the firmware's id at bytes 4-7. */"
    );
    out!(
        h,
        "#define TRETA_DESC_OPCODE_OFFSET {}U",
        field::OPCODE.offset
    );
    out!(
        h,
        "#define TRETA_DESC_FLAGS_OFFSET {}U",
        field::FLAGS.offset
    );
    out!(h, "#define TRETA_DESC_ID_OFFSET {ID_OFFSET}U");
    out!(h);
    out!(h, "/** Opcodes (byte 0 of a descriptor). */");
    out!(h, "typedef enum {{");
    for (code, name) in OPCODES {
        out!(h, "    TRETA_OP_{name} = 0x{code:02X},");
    }
    out!(h, "}} treta_opcode_t;");
    out!(h);
    out!(h, "/* Flags (byte 1). */");
    out!(h, "/** DMA_*: transpose the tile on its way. */");
    out!(
        h,
        "#define TRETA_FLAG_TRANSPOSE 0x{:02X}U",
        flags::TRANSPOSE
    );
    out!(h, "/** GEMM: A is stored transposed. */");
    out!(
        h,
        "#define TRETA_FLAG_TRANSPOSE_A 0x{:02X}U",
        flags::TRANSPOSE_A
    );
    out!(h, "/** GEMM: B is stored transposed. */");
    out!(
        h,
        "#define TRETA_FLAG_TRANSPOSE_B 0x{:02X}U",
        flags::TRANSPOSE_B
    );
    out!(
        h,
        "/** GEMM and the SFU's reductions: add to what the destination holds. */"
    );
    out!(
        h,
        "#define TRETA_FLAG_ACCUMULATE 0x{:02X}U",
        flags::ACCUMULATE
    );
    helpers(h);
    for layout in &LAYOUTS {
        descriptor_layout(h, layout);
    }
}

/// Little-endian field access and the header, independent of the host's byte order.
fn helpers(h: &mut String) {
    h.push_str(
        r#"
/** Stores the low `bytes` bytes of `v` at `p`, little-endian. */
static inline void treta_put_le(uint8_t *p, uint64_t v, unsigned bytes) {
    for (unsigned i = 0; i < bytes; i++) {
        p[i] = (uint8_t)(v >> (8U * i));
    }
}

/** Loads `bytes` little-endian bytes from `p`. */
static inline uint64_t treta_get_le(const uint8_t *p, unsigned bytes) {
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++) {
        v |= (uint64_t)p[i] << (8U * i);
    }
    return v;
}

/** Stores an IEEE binary32 scalar's bits at `p`, little-endian. */
static inline void treta_put_f32(uint8_t *p, float v) {
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    treta_put_le(p, bits, 4U);
}

/** Loads an IEEE binary32 scalar from its little-endian bits at `p`. */
static inline float treta_get_f32(const uint8_t *p) {
    uint32_t bits = (uint32_t)treta_get_le(p, 4U);
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/** Clears a descriptor and writes its header (the whole of NOP and FENCE). */
static inline void treta_desc_init(uint8_t d[TRETA_DESC_BYTES], uint8_t opcode, uint8_t flags,
                                   uint32_t id) {
    memset(d, 0, TRETA_DESC_BYTES);
    d[TRETA_DESC_OPCODE_OFFSET] = opcode;
    d[TRETA_DESC_FLAGS_OFFSET] = flags;
    treta_put_le(d + TRETA_DESC_ID_OFFSET, id, 4U);
}

/** A descriptor's opcode. */
static inline uint8_t treta_desc_opcode(const uint8_t d[TRETA_DESC_BYTES]) {
    return d[TRETA_DESC_OPCODE_OFFSET];
}

/** A descriptor's flags. */
static inline uint8_t treta_desc_flags(const uint8_t d[TRETA_DESC_BYTES]) {
    return d[TRETA_DESC_FLAGS_OFFSET];
}

/** A descriptor's id. */
static inline uint32_t treta_desc_id(const uint8_t d[TRETA_DESC_BYTES]) {
    return (uint32_t)treta_get_le(d + TRETA_DESC_ID_OFFSET, 4U);
}
"#,
    );
}

/// The C spelling of a field's type.
fn c_type(ty: FieldType) -> &'static str {
    match ty {
        FieldType::U8 => "uint8_t",
        FieldType::U32 => "uint32_t",
        FieldType::U64 => "uint64_t",
        FieldType::F32 => "float",
    }
}

/// A layout's offset macros, struct, and pack/unpack helpers.
fn descriptor_layout(h: &mut String, layout: &Layout) {
    let name = layout.name;
    let big = upper(name);
    out!(h);
    out!(h, "/* {} */", layout.doc);
    for f in layout.fields() {
        out!(
            h,
            "#define TRETA_DESC_{big}_{}_OFFSET {}U",
            upper(f.name),
            f.offset
        );
    }
    out!(h);
    out!(h, "/** The fields of {}, after the header. */", layout.doc);
    out!(h, "typedef struct {{");
    for f in layout.fields() {
        out!(h, "    {} {};", c_type(f.ty), f.name);
    }
    out!(h, "}} treta_{name}_t;");
    out!(h);
    out!(
        h,
        "/** Encodes a descriptor of this layout into `d` (64 bytes). */"
    );
    out!(
        h,
        "static inline void treta_{name}_pack(uint8_t d[TRETA_DESC_BYTES], uint8_t opcode, uint8_t flags,"
    );
    out!(
        h,
        "{:w$}uint32_t id, const treta_{name}_t *f) {{",
        "",
        w = 25 + name.len()
    );
    out!(h, "    treta_desc_init(d, opcode, flags, id);");
    for f in layout.fields() {
        let at = format!("d + TRETA_DESC_{big}_{}_OFFSET", upper(f.name));
        match f.ty {
            FieldType::F32 => out!(h, "    treta_put_f32({at}, f->{});", f.name),
            ty => out!(h, "    treta_put_le({at}, f->{}, {}U);", f.name, ty.bytes()),
        }
    }
    out!(h, "}}");
    out!(h);
    out!(
        h,
        "/** Decodes the fields of a descriptor of this layout. */"
    );
    out!(
        h,
        "static inline void treta_{name}_unpack(const uint8_t d[TRETA_DESC_BYTES], treta_{name}_t *f) {{"
    );
    for f in layout.fields() {
        let at = format!("d + TRETA_DESC_{big}_{}_OFFSET", upper(f.name));
        match f.ty {
            FieldType::F32 => out!(h, "    f->{} = treta_get_f32({at});", f.name),
            ty => out!(
                h,
                "    f->{} = ({})treta_get_le({at}, {}U);",
                f.name,
                c_type(ty),
                ty.bytes()
            ),
        }
    }
    out!(h, "}}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_names_every_register_code_and_field() {
        let h = c_header();
        for r in &GLOBALS {
            assert!(h.contains(&format!(
                "#define TRETA_{}_OFFSET 0x{:03X}U",
                r.name, r.offset
            )));
        }
        assert!(h.contains("#define TRETA_CTRL_ENABLE_Msk (0x1UL << TRETA_CTRL_ENABLE_Pos)"));
        assert!(h.contains("#define TRETA_QUEUE_DOORBELL_OFFSET 0x014U"));
        assert!(h.contains("#define TRETA_PERF_DMA_BUSY_HI_OFFSET 0x214U"));
        assert!(h.contains("TRETA_ERR_SRAM_OVERFLOW = 4,"));
        assert!(h.contains("TRETA_FMT_FP8_E4M3 = 3,"));
        assert!(h.contains("TRETA_VOP_ADAM = 10,"));
        assert!(h.contains("TRETA_OP_GEMM = 0x10,"));
        assert!(h.contains("#define TRETA_DESC_GEMM_C_FORMAT_OFFSET 46U"));
        assert!(h.contains("    uint64_t dram_plane_stride;"));
        assert!(h.contains("    treta_put_f32(d + TRETA_DESC_SFU_SCALAR3_OFFSET, f->scalar3);"));
        // Balanced braces: the generator's escaping did not drop one.
        assert_eq!(h.matches('{').count(), h.matches('}').count());
    }
}
