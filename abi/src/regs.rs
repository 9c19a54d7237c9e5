//! The register map: 32-bit registers at byte offsets from the device's MMIO base.
//!
//! | offset | name | access | meaning |
//! |---|---|---|---|
//! | 0x000 | `ID` | RO | [`ID_VALUE`] |
//! | 0x004 | `VERSION` | RO | [`VERSION_VALUE`]: major << 16 \| minor |
//! | 0x008 | `CTRL` | RW | bit 0 `ENABLE`: fetch descriptors; bit 1 `RESET` (self-clearing): clear errors, queues and counters |
//! | 0x00C | `STATUS` | RO | bit 0 `BUSY`: a queue has work; bit 1 `ERROR`: a queue stopped on an error |
//! | 0x010 | `ERR_CODE` | RO | a [`DeviceError`](crate::DeviceError) code, 0 if none |
//! | 0x014 | `ERR_QUEUE` | RO | queue of the faulty descriptor |
//! | 0x018 | `ERR_INDEX` | RO | its index in the queue's ring |
//! | 0x01C | `ERR_ADDR_LO` | RO | the faulty address (DRAM or SRAM), low half |
//! | 0x020 | `ERR_ADDR_HI` | RO | high half |
//! | 0x024 | `ERR_FIELD` | RO | byte offset in the descriptor of the [field](crate::field) at fault; [`ERR_FIELD_NONE`] when the error names no single field |
//! | 0x030 | `IRQ_STATUS` | RW1C | bit 0 `COMPLETION` (an `IRQ` descriptor ran), bit 1 `ERROR` |
//! | 0x034 | `IRQ_MASK` | RW | 1 = interrupt enabled, per `IRQ_STATUS` bit |
//! | 0x038 | `IRQ_CODE` | RO | code of the last `IRQ` descriptor |
//! | 0x100 + 0x20·q | queue q: `BASE_LO`, `BASE_HI`, `SIZE`, `HEAD`, `TAIL`, `DOORBELL`, `COMPLETED` | see [`queue`] | ring buffer of descriptors in DRAM |
//! | 0x200 + 8·c | performance counter c, `LO`/`HI` | RO | see [`PerfCounter`] |

/// Size of the register block [bytes].
pub const BLOCK_BYTES: u64 = 0x1000;

/// `ID`: the device identity.
pub const ID: u64 = 0x000;
/// `VERSION`.
pub const VERSION: u64 = 0x004;
/// `CTRL`.
pub const CTRL: u64 = 0x008;
/// `STATUS`.
pub const STATUS: u64 = 0x00C;
/// `ERR_CODE`.
pub const ERR_CODE: u64 = 0x010;
/// `ERR_QUEUE`.
pub const ERR_QUEUE: u64 = 0x014;
/// `ERR_INDEX`.
pub const ERR_INDEX: u64 = 0x018;
/// `ERR_ADDR_LO`.
pub const ERR_ADDR_LO: u64 = 0x01C;
/// `ERR_ADDR_HI`.
pub const ERR_ADDR_HI: u64 = 0x020;
/// `ERR_FIELD`: where in the faulty descriptor the field at fault starts.
pub const ERR_FIELD: u64 = 0x024;
/// `ERR_FIELD` when the error names no single field (a deadlock, a queue
/// misconfigured, an access that went wrong at run time).
pub const ERR_FIELD_NONE: u32 = u32::MAX;
/// `IRQ_STATUS`.
pub const IRQ_STATUS: u64 = 0x030;
/// `IRQ_MASK`.
pub const IRQ_MASK: u64 = 0x034;
/// `IRQ_CODE`.
pub const IRQ_CODE: u64 = 0x038;

/// The value of `ID`: "TRET" in ASCII.
pub const ID_VALUE: u32 = 0x5452_4554;
/// The value of `VERSION`: 0.1.
pub const VERSION_VALUE: u32 = 0x0000_0001;

/// `CTRL.ENABLE`.
pub const CTRL_ENABLE: u32 = 1 << 0;
/// `CTRL.RESET`.
pub const CTRL_RESET: u32 = 1 << 1;
/// `STATUS.BUSY`.
pub const STATUS_BUSY: u32 = 1 << 0;
/// `STATUS.ERROR`.
pub const STATUS_ERROR: u32 = 1 << 1;
/// `IRQ_STATUS.COMPLETION` / `IRQ_MASK.COMPLETION`.
pub const IRQ_COMPLETION: u32 = 1 << 0;
/// `IRQ_STATUS.ERROR` / `IRQ_MASK.ERROR`.
pub const IRQ_ERROR: u32 = 1 << 1;

/// Number of command queues.
pub const QUEUES: usize = 4;

/// Per-queue registers: offsets within a queue's 0x20-byte block.
pub mod queue {
    /// First byte of queue 0's block.
    pub const BASE: u64 = 0x100;
    /// Bytes per queue block.
    pub const STRIDE: u64 = 0x20;
    /// `BASE_LO` (RW): ring address in DRAM, low half (64-byte aligned).
    pub const BASE_LO: u64 = 0x00;
    /// `BASE_HI` (RW): high half.
    pub const BASE_HI: u64 = 0x04;
    /// `SIZE` (RW): ring size [descriptors], 1..=65536.
    pub const SIZE: u64 = 0x08;
    /// `HEAD` (RO): index of the next descriptor the device will fetch.
    pub const HEAD: u64 = 0x0C;
    /// `TAIL` (RW): index one past the last descriptor firmware has written.
    pub const TAIL: u64 = 0x10;
    /// `DOORBELL` (WO): any write starts fetching up to `TAIL`.
    pub const DOORBELL: u64 = 0x14;
    /// `COMPLETED` (RO): descriptors completed since reset (wraps at 2^32).
    pub const COMPLETED: u64 = 0x18;
    /// Largest ring [descriptors].
    pub const MAX_SIZE: u32 = 65536;

    /// The registers of one queue's block, in offset order.
    pub const REGISTERS: [super::Register; 7] = {
        use super::{reg, Access::*};
        [
            reg(
                "BASE_LO",
                BASE_LO,
                ReadWrite,
                "ring address in DRAM, low half (64-byte aligned)",
                &[],
            ),
            reg(
                "BASE_HI",
                BASE_HI,
                ReadWrite,
                "ring address, high half",
                &[],
            ),
            reg(
                "SIZE",
                SIZE,
                ReadWrite,
                "ring size in descriptors, 1 to 65536",
                &[],
            ),
            reg(
                "HEAD",
                HEAD,
                ReadOnly,
                "index of the next descriptor the device will fetch",
                &[],
            ),
            reg(
                "TAIL",
                TAIL,
                ReadWrite,
                "index one past the last descriptor firmware has written",
                &[],
            ),
            reg(
                "DOORBELL",
                DOORBELL,
                WriteOnly,
                "any write starts fetching up to TAIL",
                &[],
            ),
            reg(
                "COMPLETED",
                COMPLETED,
                ReadOnly,
                "descriptors completed since reset (wraps at 2^32)",
                &[],
            ),
        ]
    };
}

/// How firmware may access a register (the CMSIS-SVD access types).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// Read only: writes are bus errors.
    ReadOnly,
    /// Read and write.
    ReadWrite,
    /// Write only: reads return 0.
    WriteOnly,
    /// Read, and write 1 to clear a bit.
    ReadWrite1Clear,
}

impl Access {
    /// The short name of the register table above (`RO`, `RW`, `WO`, `RW1C`).
    pub fn name(self) -> &'static str {
        match self {
            Access::ReadOnly => "RO",
            Access::ReadWrite => "RW",
            Access::WriteOnly => "WO",
            Access::ReadWrite1Clear => "RW1C",
        }
    }
}

/// A named bit field of a register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BitField {
    /// Its name (`ENABLE`).
    pub name: &'static str,
    /// Its lowest bit.
    pub pos: u8,
    /// Its width [bits].
    pub width: u8,
    /// What it means.
    pub doc: &'static str,
}

impl BitField {
    /// The field's mask in the register (`(2^width − 1) << pos`).
    pub const fn mask(self) -> u32 {
        (((1u64 << self.width) - 1) << self.pos) as u32
    }
}

/// A 32-bit register: the tables C headers and CMSIS-SVD files are generated from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Register {
    /// Its name (`CTRL`).
    pub name: &'static str,
    /// Its byte offset (within the block, or within a queue's block for [`queue::REGISTERS`]).
    pub offset: u64,
    /// Who may access it.
    pub access: Access,
    /// What it holds.
    pub doc: &'static str,
    /// Its named bit fields (none: the whole word is one value).
    pub fields: &'static [BitField],
    /// What it reads after reset.
    pub reset: u32,
}

impl Register {
    const fn with_reset(self, reset: u32) -> Register {
        Register { reset, ..self }
    }
}

const fn bit(name: &'static str, pos: u8, doc: &'static str) -> BitField {
    BitField {
        name,
        pos,
        width: 1,
        doc,
    }
}

const fn reg(
    name: &'static str,
    offset: u64,
    access: Access,
    doc: &'static str,
    fields: &'static [BitField],
) -> Register {
    Register {
        name,
        offset,
        access,
        doc,
        fields,
        reset: 0,
    }
}

const IRQ_BITS: [BitField; 2] = [
    bit("COMPLETION", 0, "an IRQ descriptor ran"),
    bit("ERROR", 1, "a queue stopped on an error"),
];

/// The global registers, in offset order.
pub const GLOBALS: [Register; 13] = {
    use Access::*;
    [
        reg(
            "ID",
            ID,
            ReadOnly,
            "device identity: \"TRET\" in ASCII",
            &[],
        )
        .with_reset(ID_VALUE),
        reg(
            "VERSION",
            VERSION,
            ReadOnly,
            "interface version: major << 16 | minor",
            &[],
        )
        .with_reset(VERSION_VALUE),
        reg(
            "CTRL",
            CTRL,
            ReadWrite,
            "control",
            &[
                bit("ENABLE", 0, "fetch descriptors"),
                bit(
                    "RESET",
                    1,
                    "self-clearing: clear errors, queues and counters",
                ),
            ],
        ),
        reg(
            "STATUS",
            STATUS,
            ReadOnly,
            "status",
            &[
                bit("BUSY", 0, "a queue has work"),
                bit("ERROR", 1, "a queue stopped on an error"),
            ],
        ),
        reg(
            "ERR_CODE",
            ERR_CODE,
            ReadOnly,
            "device error code, 0 if none",
            &[],
        ),
        reg(
            "ERR_QUEUE",
            ERR_QUEUE,
            ReadOnly,
            "queue of the faulty descriptor",
            &[],
        ),
        reg(
            "ERR_INDEX",
            ERR_INDEX,
            ReadOnly,
            "index of the faulty descriptor in its queue's ring",
            &[],
        ),
        reg(
            "ERR_ADDR_LO",
            ERR_ADDR_LO,
            ReadOnly,
            "the faulty address (DRAM or SRAM), low half",
            &[],
        ),
        reg(
            "ERR_ADDR_HI",
            ERR_ADDR_HI,
            ReadOnly,
            "the faulty address, high half",
            &[],
        ),
        reg(
            "ERR_FIELD",
            ERR_FIELD,
            ReadOnly,
            "byte offset in the descriptor of the field at fault; 0xFFFFFFFF when none",
            &[],
        )
        .with_reset(ERR_FIELD_NONE),
        reg(
            "IRQ_STATUS",
            IRQ_STATUS,
            ReadWrite1Clear,
            "pending interrupts (write 1 to clear)",
            &IRQ_BITS,
        ),
        reg(
            "IRQ_MASK",
            IRQ_MASK,
            ReadWrite,
            "1 = interrupt enabled, per IRQ_STATUS bit",
            &IRQ_BITS,
        ),
        reg(
            "IRQ_CODE",
            IRQ_CODE,
            ReadOnly,
            "code of the last IRQ descriptor",
            &[],
        ),
    ]
};

/// The register offset of `reg` (one of [`queue`]'s) for queue `q`.
pub const fn queue_reg(q: usize, reg: u64) -> u64 {
    queue::BASE + queue::STRIDE * q as u64 + reg
}

/// Performance counters, 64-bit, read as `LO` at `0x200 + 8·c` and `HI` 4 bytes above.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PerfCounter {
    /// Device clock cycles since reset.
    Cycles = 0,
    /// Cycles the GEMM core was busy.
    GemmBusy = 1,
    /// Cycles the DMA engine was busy.
    DmaBusy = 2,
    /// Cycles the special-function unit was busy.
    SfuBusy = 3,
    /// Bytes read from DRAM.
    DramReadBytes = 4,
    /// Bytes written to DRAM.
    DramWriteBytes = 5,
    /// Descriptors completed, all queues.
    Descriptors = 6,
}

impl PerfCounter {
    /// Every counter.
    pub const ALL: [PerfCounter; 7] = [
        PerfCounter::Cycles,
        PerfCounter::GemmBusy,
        PerfCounter::DmaBusy,
        PerfCounter::SfuBusy,
        PerfCounter::DramReadBytes,
        PerfCounter::DramWriteBytes,
        PerfCounter::Descriptors,
    ];

    /// Its name in headers and register descriptions (`CYCLES`).
    pub fn name(self) -> &'static str {
        match self {
            PerfCounter::Cycles => "CYCLES",
            PerfCounter::GemmBusy => "GEMM_BUSY",
            PerfCounter::DmaBusy => "DMA_BUSY",
            PerfCounter::SfuBusy => "SFU_BUSY",
            PerfCounter::DramReadBytes => "DRAM_READ_BYTES",
            PerfCounter::DramWriteBytes => "DRAM_WRITE_BYTES",
            PerfCounter::Descriptors => "DESCRIPTORS",
        }
    }

    /// What it counts.
    pub fn doc(self) -> &'static str {
        match self {
            PerfCounter::Cycles => "device clock cycles since reset",
            PerfCounter::GemmBusy => "cycles the GEMM core was busy",
            PerfCounter::DmaBusy => "cycles the DMA engine was busy",
            PerfCounter::SfuBusy => "cycles the special-function unit was busy",
            PerfCounter::DramReadBytes => "bytes read from DRAM",
            PerfCounter::DramWriteBytes => "bytes written to DRAM",
            PerfCounter::Descriptors => "descriptors completed, all queues",
        }
    }

    /// Offset of the counter's low half.
    pub const fn offset(self) -> u64 {
        0x200 + 8 * self as u64
    }
}

/// What a register offset names, for decoding accesses in a device model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reg {
    /// A global register (one of this module's offsets).
    Global(u64),
    /// A queue register: queue index and offset within its block.
    Queue(usize, u64),
    /// Half of a performance counter: the counter and whether it is the high half.
    Perf(PerfCounter, bool),
}

impl Reg {
    /// Decodes a register offset; `None` for an offset that names no register
    /// (including misaligned ones).
    pub fn decode(offset: u64) -> Option<Reg> {
        if !offset.is_multiple_of(4) || offset >= BLOCK_BYTES {
            return None;
        }
        if GLOBALS.iter().any(|r| r.offset == offset) {
            return Some(Reg::Global(offset));
        }
        let queues_end = queue::BASE + queue::STRIDE * QUEUES as u64;
        if (queue::BASE..queues_end).contains(&offset) {
            let q = ((offset - queue::BASE) / queue::STRIDE) as usize;
            let reg = (offset - queue::BASE) % queue::STRIDE;
            return (reg <= queue::COMPLETED).then_some(Reg::Queue(q, reg));
        }
        PerfCounter::ALL.into_iter().find_map(|c| {
            if offset == c.offset() {
                Some(Reg::Perf(c, false))
            } else if offset == c.offset() + 4 {
                Some(Reg::Perf(c, true))
            } else {
                None
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_decode_to_their_registers() {
        assert_eq!(Reg::decode(CTRL), Some(Reg::Global(CTRL)));
        assert_eq!(
            Reg::decode(queue_reg(2, queue::DOORBELL)),
            Some(Reg::Queue(2, queue::DOORBELL))
        );
        assert_eq!(
            Reg::decode(PerfCounter::DmaBusy.offset() + 4),
            Some(Reg::Perf(PerfCounter::DmaBusy, true))
        );
        assert_eq!(Reg::decode(0x002), None, "misaligned");
        assert_eq!(Reg::decode(0x03C), None, "hole");
        assert_eq!(Reg::decode(queue_reg(0, 0x1C)), None, "past COMPLETED");
        assert_eq!(Reg::decode(BLOCK_BYTES), None);
    }

    #[test]
    fn the_tables_agree_with_the_constants_and_bit_masks() {
        assert!(GLOBALS.windows(2).all(|w| w[0].offset < w[1].offset));
        assert!(queue::REGISTERS
            .windows(2)
            .all(|w| w[0].offset < w[1].offset));
        let ctrl = GLOBALS.iter().find(|r| r.name == "CTRL").unwrap();
        assert_eq!(ctrl.offset, CTRL);
        assert_eq!(ctrl.fields[0].mask(), CTRL_ENABLE);
        assert_eq!(ctrl.fields[1].mask(), CTRL_RESET);
        let status = GLOBALS.iter().find(|r| r.name == "STATUS").unwrap();
        assert_eq!(
            [status.fields[0].mask(), status.fields[1].mask()],
            [STATUS_BUSY, STATUS_ERROR]
        );
        assert_eq!(
            [IRQ_BITS[0].mask(), IRQ_BITS[1].mask()],
            [IRQ_COMPLETION, IRQ_ERROR]
        );
        let doorbell = queue::REGISTERS.iter().find(|r| r.name == "DOORBELL");
        assert_eq!(doorbell.map(|r| r.offset), Some(queue::DOORBELL));
        assert_eq!(queue::REGISTERS.last().unwrap().offset, queue::COMPLETED);
    }

    #[test]
    fn register_blocks_do_not_overlap() {
        let mut seen = std::collections::BTreeSet::new();
        for off in (0..BLOCK_BYTES).step_by(4) {
            if Reg::decode(off).is_some() {
                assert!(seen.insert(off));
            }
        }
        assert_eq!(seen.len(), 13 + QUEUES * 7 + PerfCounter::ALL.len() * 2);
    }
}
