//! The operations of version 1 and their payloads (docs/remote.md, "Operations"):
//! [`Request`] and [`Response`], to and from [`Frame`]s.

use crate::frame::{Frame, Kind};
use std::fmt;

/// `HELLO`'s magic bytes.
pub const MAGIC: [u8; 4] = *b"TRVP";

/// The protocol version this crate speaks.
pub const VERSION: u16 = 1;

/// An operation's code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Op {
    /// Version and capabilities; must come first.
    Hello = 0x01,
    /// A 32-bit register or memory read.
    Read32 = 0x10,
    /// A 32-bit write.
    Write32 = 0x11,
    /// A 64-bit read.
    Read64 = 0x12,
    /// A 64-bit write.
    Write64 = 0x13,
    /// A bulk read through the debug port.
    ReadMem = 0x20,
    /// A bulk write through the debug port.
    WriteMem = 0x21,
    /// Advance time until the interrupt line is high.
    WaitIrq = 0x30,
    /// [`Op::WaitIrq`] with a timeout.
    WaitIrqFor = 0x31,
    /// Advance time by a duration.
    Advance = 0x32,
    /// The current simulated time.
    Now = 0x33,
    /// End the run: report, trace, summary.
    Finish = 0x40,
}

impl Op {
    /// The operation of a code, if version 1 defines it.
    pub fn from_code(code: u8) -> Option<Op> {
        Some(match code {
            0x01 => Op::Hello,
            0x10 => Op::Read32,
            0x11 => Op::Write32,
            0x12 => Op::Read64,
            0x13 => Op::Write64,
            0x20 => Op::ReadMem,
            0x21 => Op::WriteMem,
            0x30 => Op::WaitIrq,
            0x31 => Op::WaitIrqFor,
            0x32 => Op::Advance,
            0x33 => Op::Now,
            0x40 => Op::Finish,
            _ => return None,
        })
    }

    /// Its name in docs/remote.md.
    pub fn name(self) -> &'static str {
        match self {
            Op::Hello => "HELLO",
            Op::Read32 => "READ32",
            Op::Write32 => "WRITE32",
            Op::Read64 => "READ64",
            Op::Write64 => "WRITE64",
            Op::ReadMem => "READ_MEM",
            Op::WriteMem => "WRITE_MEM",
            Op::WaitIrq => "WAIT_IRQ",
            Op::WaitIrqFor => "WAIT_IRQ_FOR",
            Op::Advance => "ADVANCE",
            Op::Now => "NOW",
            Op::Finish => "FINISH",
        }
    }
}

/// A response's status: 0 success, else an error (docs/remote.md, "Error codes").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum Status {
    /// Success.
    Ok = 0,
    /// A version the server does not speak, or a bad magic.
    BadVersion = 1,
    /// An operation this version does not define.
    UnknownOp = 2,
    /// A frame larger than a frame may be.
    Oversized = 3,
    /// A payload of the wrong length, or a malformed header.
    Malformed = 4,
    /// A request before `HELLO`.
    NotReady = 5,
    /// An address range outside the device map.
    OutOfMap = 6,
    /// The device refused the access.
    BusError = 7,
    /// Another client is connected.
    Busy = 8,
    /// The client was idle too long.
    Timeout = 9,
    /// A wait with nothing left to simulate: the interrupt can never come, and the
    /// run ends (the server writes its report).
    Stalled = 10,
}

impl Status {
    /// The status of a code, if version 1 defines it.
    pub fn from_code(code: u16) -> Option<Status> {
        Some(match code {
            0 => Status::Ok,
            1 => Status::BadVersion,
            2 => Status::UnknownOp,
            3 => Status::Oversized,
            4 => Status::Malformed,
            5 => Status::NotReady,
            6 => Status::OutOfMap,
            7 => Status::BusError,
            8 => Status::Busy,
            9 => Status::Timeout,
            10 => Status::Stalled,
            _ => return None,
        })
    }
}

/// The device's address map, as `HELLO`'s answer gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceMap {
    /// First address of the register window.
    pub regs_base: u64,
    /// Bytes of the register window.
    pub regs_size: u64,
    /// First address of DRAM.
    pub dram_base: u64,
    /// Bytes of DRAM.
    pub dram_size: u64,
}

/// A client's request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `HELLO`: the client's version and capabilities.
    Hello {
        /// The version the client speaks.
        version: u16,
        /// Capability bits (none defined in version 1).
        capabilities: u32,
    },
    /// `READ32` at an address.
    Read32 {
        /// Bus address.
        addr: u64,
    },
    /// `WRITE32`.
    Write32 {
        /// Bus address.
        addr: u64,
        /// Value.
        value: u32,
    },
    /// `READ64`.
    Read64 {
        /// Bus address.
        addr: u64,
    },
    /// `WRITE64`.
    Write64 {
        /// Bus address.
        addr: u64,
        /// Value.
        value: u64,
    },
    /// `READ_MEM`: `len` bytes from `addr`.
    ReadMem {
        /// Bus address.
        addr: u64,
        /// Bytes (at most [`MAX_PAYLOAD`](crate::MAX_PAYLOAD)).
        len: u32,
    },
    /// `WRITE_MEM`: `data` to `addr`.
    WriteMem {
        /// Bus address.
        addr: u64,
        /// The bytes (at most [`MAX_PAYLOAD`](crate::MAX_PAYLOAD) − 8).
        data: Vec<u8>,
    },
    /// `WAIT_IRQ`.
    WaitIrq,
    /// `WAIT_IRQ_FOR` a timeout.
    WaitIrqFor {
        /// Timeout (ns).
        timeout_ns: u64,
    },
    /// `ADVANCE` time.
    Advance {
        /// Duration (ns).
        ns: u64,
    },
    /// `NOW`.
    Now,
    /// `FINISH`.
    Finish,
}

/// Why a frame is not a valid request or response; each maps to the [`Status`] a
/// server answers with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// An operation code version 1 does not define.
    UnknownOp {
        /// The code.
        op: u8,
    },
    /// A payload of the wrong length for its operation.
    Length {
        /// The operation.
        op: Op,
        /// What it needs.
        expected: &'static str,
        /// What came.
        got: usize,
    },
    /// `HELLO` without the magic.
    BadMagic,
    /// A request frame where a response was expected, or the reverse.
    WrongKind,
    /// A response status version 1 does not define.
    UnknownStatus {
        /// The code.
        status: u16,
    },
    /// A text field that is not UTF-8.
    NotUtf8 {
        /// The operation.
        op: Op,
    },
}

impl DecodeError {
    /// The status a server answers this error with.
    pub fn status(&self) -> Status {
        match self {
            DecodeError::UnknownOp { .. } => Status::UnknownOp,
            DecodeError::BadMagic => Status::BadVersion,
            _ => Status::Malformed,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::UnknownOp { op } => {
                write!(
                    f,
                    "operation 0x{op:02x} is not defined in protocol version {VERSION}"
                )
            }
            DecodeError::Length { op, expected, got } => write!(
                f,
                "{}: payload of {got} bytes, expected {expected}",
                op.name()
            ),
            DecodeError::BadMagic => write!(f, "HELLO: the payload does not start with \"TRVP\""),
            DecodeError::WrongKind => write!(f, "a frame of the wrong kind for this direction"),
            DecodeError::UnknownStatus { status } => {
                write!(
                    f,
                    "status {status} is not defined in protocol version {VERSION}"
                )
            }
            DecodeError::NotUtf8 { op } => write!(f, "{}: text is not UTF-8", op.name()),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Little-endian field reader over a payload of an exact expected length.
struct Fields<'a> {
    bytes: &'a [u8],
}

impl Fields<'_> {
    fn u8(&mut self) -> u8 {
        let (v, rest) = self.bytes.split_at(1);
        self.bytes = rest;
        v[0]
    }
    fn u16(&mut self) -> u16 {
        let (v, rest) = self.bytes.split_at(2);
        self.bytes = rest;
        u16::from_le_bytes([v[0], v[1]])
    }
    fn u32(&mut self) -> u32 {
        let (v, rest) = self.bytes.split_at(4);
        self.bytes = rest;
        u32::from_le_bytes([v[0], v[1], v[2], v[3]])
    }
    fn u64(&mut self) -> u64 {
        let (v, rest) = self.bytes.split_at(8);
        self.bytes = rest;
        let mut b = [0; 8];
        b.copy_from_slice(v);
        u64::from_le_bytes(b)
    }
}

/// `payload` if it has exactly `n` bytes, as a reader.
fn exactly<'a>(
    op: Op,
    payload: &'a [u8],
    n: usize,
    expected: &'static str,
) -> Result<Fields<'a>, DecodeError> {
    if payload.len() == n {
        Ok(Fields { bytes: payload })
    } else {
        Err(DecodeError::Length {
            op,
            expected,
            got: payload.len(),
        })
    }
}

/// `payload` if it has at least `n` bytes, as a reader of the first `n` and the rest.
fn at_least<'a>(
    op: Op,
    payload: &'a [u8],
    n: usize,
    expected: &'static str,
) -> Result<(Fields<'a>, &'a [u8]), DecodeError> {
    if payload.len() >= n {
        let (head, rest) = payload.split_at(n);
        Ok((Fields { bytes: head }, rest))
    } else {
        Err(DecodeError::Length {
            op,
            expected,
            got: payload.len(),
        })
    }
}

impl Request {
    /// Its operation.
    pub fn op(&self) -> Op {
        match self {
            Request::Hello { .. } => Op::Hello,
            Request::Read32 { .. } => Op::Read32,
            Request::Write32 { .. } => Op::Write32,
            Request::Read64 { .. } => Op::Read64,
            Request::Write64 { .. } => Op::Write64,
            Request::ReadMem { .. } => Op::ReadMem,
            Request::WriteMem { .. } => Op::WriteMem,
            Request::WaitIrq => Op::WaitIrq,
            Request::WaitIrqFor { .. } => Op::WaitIrqFor,
            Request::Advance { .. } => Op::Advance,
            Request::Now => Op::Now,
            Request::Finish => Op::Finish,
        }
    }

    /// The request as a frame with `id`.
    pub fn to_frame(&self, id: u32) -> Frame {
        let mut p = Vec::new();
        match self {
            Request::Hello {
                version,
                capabilities,
            } => {
                p.extend_from_slice(&MAGIC);
                p.extend_from_slice(&version.to_le_bytes());
                p.extend_from_slice(&capabilities.to_le_bytes());
            }
            Request::Read32 { addr } | Request::Read64 { addr } => {
                p.extend_from_slice(&addr.to_le_bytes())
            }
            Request::Write32 { addr, value } => {
                p.extend_from_slice(&addr.to_le_bytes());
                p.extend_from_slice(&value.to_le_bytes());
            }
            Request::Write64 { addr, value } => {
                p.extend_from_slice(&addr.to_le_bytes());
                p.extend_from_slice(&value.to_le_bytes());
            }
            Request::ReadMem { addr, len } => {
                p.extend_from_slice(&addr.to_le_bytes());
                p.extend_from_slice(&len.to_le_bytes());
            }
            Request::WriteMem { addr, data } => {
                p.extend_from_slice(&addr.to_le_bytes());
                p.extend_from_slice(data);
            }
            Request::WaitIrqFor { timeout_ns: v } | Request::Advance { ns: v } => {
                p.extend_from_slice(&v.to_le_bytes())
            }
            Request::WaitIrq | Request::Now | Request::Finish => {}
        }
        Frame::request(self.op() as u8, id, p)
    }

    /// The request a frame carries.
    pub fn from_frame(f: &Frame) -> Result<Request, DecodeError> {
        if f.kind != Kind::Request {
            return Err(DecodeError::WrongKind);
        }
        let op = Op::from_code(f.op).ok_or(DecodeError::UnknownOp { op: f.op })?;
        let p = f.payload.as_slice();
        Ok(match op {
            Op::Hello => {
                let mut r = exactly(op, p, 10, "10 (magic, version, capabilities)")?;
                if r.u32().to_le_bytes() != MAGIC {
                    return Err(DecodeError::BadMagic);
                }
                Request::Hello {
                    version: r.u16(),
                    capabilities: r.u32(),
                }
            }
            Op::Read32 => Request::Read32 {
                addr: exactly(op, p, 8, "8 (address)")?.u64(),
            },
            Op::Read64 => Request::Read64 {
                addr: exactly(op, p, 8, "8 (address)")?.u64(),
            },
            Op::Write32 => {
                let mut r = exactly(op, p, 12, "12 (address, value)")?;
                Request::Write32 {
                    addr: r.u64(),
                    value: r.u32(),
                }
            }
            Op::Write64 => {
                let mut r = exactly(op, p, 16, "16 (address, value)")?;
                Request::Write64 {
                    addr: r.u64(),
                    value: r.u64(),
                }
            }
            Op::ReadMem => {
                let mut r = exactly(op, p, 12, "12 (address, length)")?;
                Request::ReadMem {
                    addr: r.u64(),
                    len: r.u32(),
                }
            }
            Op::WriteMem => {
                let (mut r, data) = at_least(op, p, 8, "8 or more (address, bytes)")?;
                Request::WriteMem {
                    addr: r.u64(),
                    data: data.to_vec(),
                }
            }
            Op::WaitIrq => {
                exactly(op, p, 0, "0")?;
                Request::WaitIrq
            }
            Op::WaitIrqFor => Request::WaitIrqFor {
                timeout_ns: exactly(op, p, 8, "8 (timeout)")?.u64(),
            },
            Op::Advance => Request::Advance {
                ns: exactly(op, p, 8, "8 (duration)")?.u64(),
            },
            Op::Now => {
                exactly(op, p, 0, "0")?;
                Request::Now
            }
            Op::Finish => {
                exactly(op, p, 0, "0")?;
                Request::Finish
            }
        })
    }
}

/// A server's answer to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// To `HELLO`.
    Hello {
        /// The version the server speaks.
        version: u16,
        /// Its capability bits.
        capabilities: u32,
        /// The device map.
        map: DeviceMap,
    },
    /// To `READ32`.
    Value32(u32),
    /// To `READ64`.
    Value64(u64),
    /// To `READ_MEM`.
    Bytes(Vec<u8>),
    /// To the writes.
    Done,
    /// To `WAIT_IRQ`, `ADVANCE`, `NOW`: simulated time (ps).
    Time(u64),
    /// To `WAIT_IRQ_FOR`.
    Waited {
        /// Whether the line went high (else the timeout came).
        raised: bool,
        /// Simulated time then (ps).
        time_ps: u64,
    },
    /// To `FINISH`.
    Summary {
        /// Simulated time at the end (ps).
        time_ps: u64,
        /// The report, as JSON.
        report_json: String,
    },
    /// Any request that failed.
    Error {
        /// Why (never [`Status::Ok`]).
        status: Status,
        /// What was wrong, naming the operation, address or field.
        message: String,
    },
}

impl Response {
    /// The response as a frame answering request `id` of operation `op`. (A payload
    /// above [`MAX_PAYLOAD`] makes [`Frame::encode`] fail: a server never reads more
    /// than a frame can carry.)
    pub fn to_frame(&self, op: u8, id: u32) -> Frame {
        let mut p = Vec::new();
        let mut status = Status::Ok;
        match self {
            Response::Hello {
                version,
                capabilities,
                map,
            } => {
                p.extend_from_slice(&version.to_le_bytes());
                p.extend_from_slice(&capabilities.to_le_bytes());
                for v in [map.regs_base, map.regs_size, map.dram_base, map.dram_size] {
                    p.extend_from_slice(&v.to_le_bytes());
                }
            }
            Response::Value32(v) => p.extend_from_slice(&v.to_le_bytes()),
            Response::Value64(v) | Response::Time(v) => p.extend_from_slice(&v.to_le_bytes()),
            Response::Bytes(b) => p.extend_from_slice(b),
            Response::Done => {}
            Response::Waited { raised, time_ps } => {
                p.push(u8::from(*raised));
                p.extend_from_slice(&time_ps.to_le_bytes());
            }
            Response::Summary {
                time_ps,
                report_json,
            } => {
                p.extend_from_slice(&time_ps.to_le_bytes());
                p.extend_from_slice(report_json.as_bytes());
            }
            Response::Error { status: s, message } => {
                status = *s;
                p.extend_from_slice(message.as_bytes());
            }
        }
        Frame {
            kind: Kind::Response,
            op,
            status: status as u16,
            id,
            payload: p,
        }
    }

    /// The response a frame carries (its `op` says how to read the payload).
    pub fn from_frame(f: &Frame) -> Result<Response, DecodeError> {
        if f.kind != Kind::Response {
            return Err(DecodeError::WrongKind);
        }
        let status =
            Status::from_code(f.status).ok_or(DecodeError::UnknownStatus { status: f.status })?;
        let op = Op::from_code(f.op).ok_or(DecodeError::UnknownOp { op: f.op })?;
        let p = f.payload.as_slice();
        if status != Status::Ok {
            let message = String::from_utf8(p.to_vec()).map_err(|_| DecodeError::NotUtf8 { op })?;
            return Ok(Response::Error { status, message });
        }
        Ok(match op {
            Op::Hello => {
                let mut r = exactly(op, p, 38, "38 (version, capabilities, map)")?;
                Response::Hello {
                    version: r.u16(),
                    capabilities: r.u32(),
                    map: DeviceMap {
                        regs_base: r.u64(),
                        regs_size: r.u64(),
                        dram_base: r.u64(),
                        dram_size: r.u64(),
                    },
                }
            }
            Op::Read32 => Response::Value32(exactly(op, p, 4, "4 (value)")?.u32()),
            Op::Read64 => Response::Value64(exactly(op, p, 8, "8 (value)")?.u64()),
            Op::ReadMem => Response::Bytes(p.to_vec()),
            Op::Write32 | Op::Write64 | Op::WriteMem => {
                exactly(op, p, 0, "0")?;
                Response::Done
            }
            Op::WaitIrq | Op::Advance | Op::Now => {
                Response::Time(exactly(op, p, 8, "8 (time)")?.u64())
            }
            Op::WaitIrqFor => {
                let mut r = exactly(op, p, 9, "9 (raised, time)")?;
                Response::Waited {
                    raised: r.u8() != 0,
                    time_ps: r.u64(),
                }
            }
            Op::Finish => {
                let (mut r, json) = at_least(op, p, 8, "8 or more (time, report)")?;
                Response::Summary {
                    time_ps: r.u64(),
                    report_json: String::from_utf8(json.to_vec())
                        .map_err(|_| DecodeError::NotUtf8 { op })?,
                }
            }
        })
    }
}
