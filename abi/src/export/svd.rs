//! The CMSIS-SVD description of the register block (schema 1.3), for register
//! viewers, debuggers and code generators (svd2rust, SVDConv, IDE peripheral views).

use crate::regs::{self, queue, Access, BitField, PerfCounter, Register, GLOBALS, QUEUES};
use std::fmt::Write;

/// The SVD file of a device whose register window starts at `base_address`
/// (a property of the SoC, not of the interface: the caller says where).
pub fn cmsis_svd(base_address: u64) -> String {
    let major = regs::VERSION_VALUE >> 16;
    let minor = regs::VERSION_VALUE & 0xFFFF;
    let mut x = String::new();
    x.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    x.push_str(
        "<!-- GENERATED from the treta-abi crate by `treta-vp export-abi`; do not edit. -->\n",
    );
    x.push_str(
        "<device schemaVersion=\"1.3\" xmlns:xs=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xs:noNamespaceSchemaLocation=\"CMSIS-SVD.xsd\">\n",
    );
    let _ = write!(
        x,
        "  <vendor>treta-vp</vendor>\n  <name>TRETA</name>\n  <version>{major}.{minor}</version>\n\
         \x20 <description>TRETA transformer-training accelerator: control, error, interrupt, \
         command-queue and performance-counter registers</description>\n\
         \x20 <addressUnitBits>8</addressUnitBits>\n  <width>32</width>\n  <size>32</size>\n\
         \x20 <access>read-write</access>\n  <resetValue>0x00000000</resetValue>\n\
         \x20 <resetMask>0xFFFFFFFF</resetMask>\n  <peripherals>\n    <peripheral>\n\
         \x20     <name>TRETA</name>\n      <description>The device's register block</description>\n\
         \x20     <baseAddress>0x{base_address:08X}</baseAddress>\n      <addressBlock>\n\
         \x20       <offset>0x0</offset>\n        <size>0x{:X}</size>\n\
         \x20       <usage>registers</usage>\n      </addressBlock>\n      <registers>\n",
        regs::BLOCK_BYTES
    );
    for r in &GLOBALS {
        register(&mut x, r, "        ");
    }
    let _ = write!(
        x,
        "        <cluster>\n          <dim>{QUEUES}</dim>\n          <dimIncrement>0x{:X}</dimIncrement>\n\
         \x20         <name>QUEUE[%s]</name>\n          <description>Command queue: a ring of \
         descriptors in DRAM</description>\n          <addressOffset>0x{:X}</addressOffset>\n",
        queue::STRIDE,
        queue::BASE
    );
    for r in &queue::REGISTERS {
        register(&mut x, r, "          ");
    }
    x.push_str("        </cluster>\n");
    for c in PerfCounter::ALL {
        for (half, offset) in [("LO", c.offset()), ("HI", c.offset() + 4)] {
            let entry = Entry {
                name: &format!("PERF_{}_{half}", c.name()),
                doc: &format!("{}, {half} half", c.doc()),
                offset,
                access: Access::ReadOnly,
                reset: 0,
                fields: &[],
            };
            entry.write(&mut x, "        ");
        }
    }
    x.push_str("      </registers>\n    </peripheral>\n  </peripherals>\n</device>\n");
    x
}

fn register(x: &mut String, r: &Register, indent: &str) {
    let entry = Entry {
        name: r.name,
        doc: r.doc,
        offset: r.offset,
        access: r.access,
        reset: r.reset,
        fields: r.fields,
    };
    entry.write(x, indent);
}

/// One `<register>` element: a [`Register`] or a half of a performance counter.
struct Entry<'a> {
    name: &'a str,
    doc: &'a str,
    offset: u64,
    access: Access,
    reset: u32,
    fields: &'a [BitField],
}

impl Entry<'_> {
    fn write(&self, x: &mut String, indent: &str) {
        let _ = writeln!(x, "{indent}<register>");
        let _ = writeln!(x, "{indent}  <name>{}</name>", self.name);
        let _ = writeln!(
            x,
            "{indent}  <description>{}</description>",
            escape(self.doc)
        );
        let _ = writeln!(
            x,
            "{indent}  <addressOffset>0x{:X}</addressOffset>",
            self.offset
        );
        access(x, self.access, &format!("{indent}  "));
        let _ = writeln!(x, "{indent}  <resetValue>0x{:08X}</resetValue>", self.reset);
        if !self.fields.is_empty() {
            let _ = writeln!(x, "{indent}  <fields>");
            for f in self.fields {
                let _ = write!(
                    x,
                    "{indent}    <field>\n{indent}      <name>{}</name>\n\
                     {indent}      <description>{}</description>\n\
                     {indent}      <bitOffset>{}</bitOffset>\n{indent}      <bitWidth>{}</bitWidth>\n\
                     {indent}    </field>\n",
                    f.name,
                    escape(f.doc),
                    f.pos,
                    f.width
                );
            }
            let _ = writeln!(x, "{indent}  </fields>");
        }
        let _ = writeln!(x, "{indent}</register>");
    }
}

fn access(x: &mut String, a: Access, indent: &str) {
    let (svd, modified) = match a {
        Access::ReadOnly => ("read-only", None),
        Access::ReadWrite => ("read-write", None),
        Access::WriteOnly => ("write-only", None),
        Access::ReadWrite1Clear => ("read-write", Some("oneToClear")),
    };
    let _ = writeln!(x, "{indent}<access>{svd}</access>");
    if let Some(m) = modified {
        let _ = writeln!(x, "{indent}<modifiedWriteValues>{m}</modifiedWriteValues>");
    }
}

/// Text as XML character data.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_register_is_described_once_with_balanced_tags() {
        let x = cmsis_svd(0x4000_0000);
        assert!(x.contains("<baseAddress>0x40000000</baseAddress>"));
        let registers = x.matches("<register>").count();
        assert_eq!(
            registers,
            GLOBALS.len() + queue::REGISTERS.len() + 2 * PerfCounter::ALL.len()
        );
        assert_eq!(registers, x.matches("</register>").count());
        assert!(x.contains("<name>QUEUE[%s]</name>"));
        assert!(x.contains("<modifiedWriteValues>oneToClear</modifiedWriteValues>"));
        assert!(x.contains("<resetValue>0x54524554</resetValue>"));
        assert!(x.contains("&quot;TRET&quot;"));
    }
}
