//! [`Client`]: a blocking client of the protocol, one request at a time, over a
//! Unix socket or TCP (with `TCP_NODELAY`: every request is a small frame waiting
//! for its answer). Transfers above a frame's size are split here.

use crate::endpoint::Endpoint;
use crate::frame::{Frame, FrameError, MAX_PAYLOAD};
use crate::message::{DecodeError, DeviceMap, Op, Request, Response, Status, VERSION};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;
#[cfg(unix)]
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// Why a call did not give its result.
#[derive(Debug)]
pub enum ClientError {
    /// The socket failed (or the server closed it).
    Io(io::Error),
    /// The server sent bytes that are not a frame.
    Frame(FrameError),
    /// The server sent a frame that is not a valid response.
    Decode(DecodeError),
    /// The server answered with an error.
    Server {
        /// The request's operation.
        op: Op,
        /// The error code.
        status: Status,
        /// The server's message.
        message: String,
    },
    /// A response of another shape than the request's operation has.
    Unexpected {
        /// The request's operation.
        op: Op,
        /// What came instead.
        got: String,
    },
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Io(e) => write!(f, "socket: {e}"),
            ClientError::Frame(e) => write!(f, "server sent a bad frame: {e}"),
            ClientError::Decode(e) => write!(f, "server sent a bad response: {e}"),
            ClientError::Server {
                op,
                status,
                message,
            } => write!(f, "{}: {status:?}: {message}", op.name()),
            ClientError::Unexpected { op, got } => {
                write!(f, "{}: unexpected response {got}", op.name())
            }
        }
    }
}

impl std::error::Error for ClientError {}

impl From<io::Error> for ClientError {
    fn from(e: io::Error) -> ClientError {
        ClientError::Io(e)
    }
}

/// The connected stream.
enum Stream {
    #[cfg(unix)]
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Stream {
    fn connect(endpoint: &Endpoint) -> io::Result<Stream> {
        match endpoint {
            #[cfg(unix)]
            Endpoint::Unix(path) => Ok(Stream::Unix(UnixStream::connect(path)?)),
            #[cfg(not(unix))]
            Endpoint::Unix(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "Unix sockets need a Unix host",
            )),
            Endpoint::Tcp(addr) => {
                let s = TcpStream::connect(addr.as_str())?;
                s.set_nodelay(true)?;
                Ok(Stream::Tcp(s))
            }
        }
    }

    fn io(&mut self) -> &mut dyn ReadWrite {
        match self {
            #[cfg(unix)]
            Stream::Unix(s) => s,
            Stream::Tcp(s) => s,
        }
    }
}

/// Read and write, as one object.
trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// A connection to `treta-vp serve` after `HELLO`.
pub struct Client {
    stream: Stream,
    next_id: u32,
    map: DeviceMap,
}

impl Client {
    /// Connects to `endpoint` and says `HELLO`.
    pub fn connect(endpoint: &Endpoint) -> Result<Client, ClientError> {
        let mut client = Client {
            stream: Stream::connect(endpoint)?,
            next_id: 1,
            map: DeviceMap {
                regs_base: 0,
                regs_size: 0,
                dram_base: 0,
                dram_size: 0,
            },
        };
        match client.call(&Request::Hello {
            version: VERSION,
            capabilities: 0,
        })? {
            Response::Hello { map, .. } => client.map = map,
            other => return Err(unexpected(Op::Hello, &other)),
        }
        Ok(client)
    }

    /// [`connect`](Client::connect), retrying while nothing listens yet (a server
    /// just started) for up to `patience`.
    pub fn connect_patiently(
        endpoint: &Endpoint,
        patience: Duration,
    ) -> Result<Client, ClientError> {
        let until = Instant::now() + patience;
        loop {
            match Client::connect(endpoint) {
                Err(ClientError::Io(e))
                    if Instant::now() < until
                        && matches!(
                            e.kind(),
                            io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
                        ) =>
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                other => return other,
            }
        }
    }

    /// The device map the server announced.
    pub fn map(&self) -> DeviceMap {
        self.map
    }

    /// Sends `request` and returns its response; an error response is
    /// [`ClientError::Server`].
    pub fn call(&mut self, request: &Request) -> Result<Response, ClientError> {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let bytes = request.to_frame(id).encode().map_err(ClientError::Frame)?;
        let io = self.stream.io();
        io.write_all(&bytes)?;
        let frame = read_frame(io)?;
        let op = request.op();
        if frame.id != id || frame.op != op as u8 {
            return Err(ClientError::Unexpected {
                op,
                got: format!("id {} op 0x{:02x} for id {id}", frame.id, frame.op),
            });
        }
        match Response::from_frame(&frame).map_err(ClientError::Decode)? {
            Response::Error { status, message } => Err(ClientError::Server {
                op,
                status,
                message,
            }),
            response => Ok(response),
        }
    }

    /// `READ32` at bus address `addr`.
    pub fn read32(&mut self, addr: u64) -> Result<u32, ClientError> {
        match self.call(&Request::Read32 { addr })? {
            Response::Value32(v) => Ok(v),
            other => Err(unexpected(Op::Read32, &other)),
        }
    }

    /// `WRITE32`.
    pub fn write32(&mut self, addr: u64, value: u32) -> Result<(), ClientError> {
        self.done(&Request::Write32 { addr, value })
    }

    /// `READ64`.
    pub fn read64(&mut self, addr: u64) -> Result<u64, ClientError> {
        match self.call(&Request::Read64 { addr })? {
            Response::Value64(v) => Ok(v),
            other => Err(unexpected(Op::Read64, &other)),
        }
    }

    /// `WRITE64`.
    pub fn write64(&mut self, addr: u64, value: u64) -> Result<(), ClientError> {
        self.done(&Request::Write64 { addr, value })
    }

    /// Fills `buf` from bus address `addr` (`READ_MEM`, split into frames).
    pub fn read_mem(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), ClientError> {
        let mut at = addr;
        for chunk in buf.chunks_mut(MAX_PAYLOAD) {
            let len = chunk.len() as u32;
            match self.call(&Request::ReadMem { addr: at, len })? {
                Response::Bytes(b) if b.len() == chunk.len() => chunk.copy_from_slice(&b),
                other => return Err(unexpected(Op::ReadMem, &other)),
            }
            at += u64::from(len);
        }
        Ok(())
    }

    /// Writes `data` at bus address `addr` (`WRITE_MEM`, split into frames).
    pub fn write_mem(&mut self, addr: u64, data: &[u8]) -> Result<(), ClientError> {
        let mut at = addr;
        for chunk in data.chunks(MAX_PAYLOAD - 8) {
            self.done(&Request::WriteMem {
                addr: at,
                data: chunk.to_vec(),
            })?;
            at += chunk.len() as u64;
        }
        Ok(())
    }

    /// `WAIT_IRQ`: simulated time (ps) when the line was high.
    pub fn wait_irq(&mut self) -> Result<u64, ClientError> {
        self.time(&Request::WaitIrq)
    }

    /// `WAIT_IRQ_FOR`: whether the line went high, and the time (ps).
    pub fn wait_irq_for(&mut self, timeout_ns: u64) -> Result<(bool, u64), ClientError> {
        match self.call(&Request::WaitIrqFor { timeout_ns })? {
            Response::Waited { raised, time_ps } => Ok((raised, time_ps)),
            other => Err(unexpected(Op::WaitIrqFor, &other)),
        }
    }

    /// `ADVANCE` by `ns`: the time after (ps).
    pub fn advance(&mut self, ns: u64) -> Result<u64, ClientError> {
        self.time(&Request::Advance { ns })
    }

    /// `NOW` (ps).
    pub fn now(&mut self) -> Result<u64, ClientError> {
        self.time(&Request::Now)
    }

    /// `FINISH`: the simulated time at the end (ps) and the report's JSON. The
    /// server closes the connection after.
    pub fn finish(&mut self) -> Result<(u64, String), ClientError> {
        match self.call(&Request::Finish)? {
            Response::Summary {
                time_ps,
                report_json,
            } => Ok((time_ps, report_json)),
            other => Err(unexpected(Op::Finish, &other)),
        }
    }

    fn done(&mut self, request: &Request) -> Result<(), ClientError> {
        match self.call(request)? {
            Response::Done => Ok(()),
            other => Err(unexpected(request.op(), &other)),
        }
    }

    fn time(&mut self, request: &Request) -> Result<u64, ClientError> {
        match self.call(request)? {
            Response::Time(t) => Ok(t),
            other => Err(unexpected(request.op(), &other)),
        }
    }
}

fn unexpected(op: Op, got: &Response) -> ClientError {
    ClientError::Unexpected {
        op,
        got: format!("{got:?}").chars().take(80).collect(),
    }
}

/// Reads one whole frame from `io`.
fn read_frame(io: &mut dyn ReadWrite) -> Result<Frame, ClientError> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len)?;
    let body = Frame::body_len(&len).map_err(ClientError::Frame)?;
    let mut bytes = vec![0u8; 4 + body];
    bytes[..4].copy_from_slice(&len);
    io.read_exact(&mut bytes[4..])?;
    match Frame::decode(&bytes).map_err(ClientError::Frame)? {
        Some((frame, _)) => Ok(frame),
        // The buffer holds the whole frame `len` announced, so decode has it all.
        None => Err(ClientError::Io(io::ErrorKind::UnexpectedEof.into())),
    }
}
