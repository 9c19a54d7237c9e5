//! # treta-remote
//!
//! The remote firmware protocol of treta-vp, version 1 (docs/remote.md): a firmware
//! program in another process drives the platform over a stream socket. This crate
//! is the wire format only — frames ([`frame`]) and the typed requests and responses
//! they carry ([`message`]) — with no I/O and no dependencies, so the server, the
//! Rust client and tests share one codec.

#![warn(missing_docs)]

pub mod frame;
pub mod message;

pub use frame::{Frame, FrameError, Kind, HEADER_BYTES, MAX_PAYLOAD};
pub use message::{DecodeError, DeviceMap, Op, Request, Response, Status, MAGIC, VERSION};
