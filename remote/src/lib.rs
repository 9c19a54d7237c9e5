//! # treta-remote
//!
//! The remote firmware protocol of treta-vp, version 1 (docs/remote.md): a firmware
//! program in another process drives the platform over a stream socket. This crate
//! has the wire format — frames ([`frame`]) and the typed requests and responses
//! they carry ([`message`]), without I/O, shared by the server, the clients and the
//! tests — and the Rust client: [`Client`] (blocking, one request at a time) and
//! [`RemoteHal`], the firmware's `Hal` over it, with [`block_on`] to run the driver.

#![warn(missing_docs)]

pub mod client;
pub mod endpoint;
pub mod frame;
pub mod hal;
pub mod message;

pub use client::{Client, ClientError};
pub use endpoint::{Endpoint, EndpointError};
pub use hal::{block_on, RemoteHal};

pub use frame::{Frame, FrameError, Kind, HEADER_BYTES, MAX_PAYLOAD};
pub use message::{DecodeError, DeviceMap, Op, Request, Response, Status, MAGIC, VERSION};
