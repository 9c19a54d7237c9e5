//! The socket's side of `treta-vp serve` (tokio, on its own thread): listens,
//! takes one client, refuses others with `BUSY`, reads frames (with the idle
//! timeout), answers `HELLO` and everything malformed itself, and hands each valid
//! request to the simulation, writing its answer back. Nothing here touches the
//! simulation except through the two channels.

use super::session::{Answer, ToSim};
use super::spin;
use std::io;
use std::sync::mpsc::Sender;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::mpsc::UnboundedReceiver;
use treta_remote::{
    DeviceMap, Endpoint, Frame, FrameError, Op, Request, Response, Status, HEADER_BYTES, VERSION,
};

/// A bound listening socket.
pub(crate) enum Listener {
    /// On a Unix-domain socket (its path, removed when the server ends).
    Unix(UnixListener, std::path::PathBuf),
    /// On TCP.
    Tcp(TcpListener),
}

/// A connected client's stream.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

impl Listener {
    /// Binds `endpoint` (inside a tokio runtime). A Unix socket file left by a
    /// server that is gone is replaced; one a live server listens on is not.
    pub async fn bind(endpoint: &Endpoint) -> io::Result<(Listener, Endpoint)> {
        match endpoint {
            Endpoint::Unix(path) => {
                if path.exists() {
                    if std::os::unix::net::UnixStream::connect(path).is_ok() {
                        return Err(io::Error::new(
                            io::ErrorKind::AddrInUse,
                            "a server already listens there",
                        ));
                    }
                    std::fs::remove_file(path)?;
                }
                let l = UnixListener::bind(path)?;
                Ok((Listener::Unix(l, path.clone()), endpoint.clone()))
            }
            Endpoint::Tcp(addr) => {
                let l = TcpListener::bind(addr.as_str()).await?;
                let bound = Endpoint::Tcp(l.local_addr()?.to_string());
                Ok((Listener::Tcp(l), bound))
            }
        }
    }

    async fn accept(&self) -> io::Result<Box<dyn Stream>> {
        Ok(match self {
            Listener::Unix(l, _) => Box::new(l.accept().await?.0),
            Listener::Tcp(l) => {
                let (s, _) = l.accept().await?;
                s.set_nodelay(true)?;
                Box::new(s)
            }
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix(_, path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// What the edge needs to know of the run.
pub(crate) struct EdgeSettings {
    /// The device map `HELLO` announces.
    pub map: DeviceMap,
    /// Close a client that sends nothing for this long (`None`: never).
    pub idle: Option<Duration>,
}

/// Serves one client on `listener`, refusing any other meanwhile; returns when the
/// session is over (finished, or the client gone, which the simulation is told).
pub(crate) async fn run(
    listener: Listener,
    settings: EdgeSettings,
    to_sim: Sender<ToSim>,
    mut answers: UnboundedReceiver<Answer>,
) {
    let first = loop {
        match listener.accept().await {
            Ok(s) => break s,
            Err(e) => tracing::warn!("accept: {e}"),
        }
    };
    let refuser = async {
        loop {
            if let Ok(mut s) = listener.accept().await {
                let busy = Response::Error {
                    status: Status::Busy,
                    message: "another client is connected: this server serves one client per run"
                        .into(),
                };
                let _ = send(&mut s, Op::Hello as u8, 0, &busy).await;
                let _ = s.shutdown().await;
            }
        }
    };
    let gone = tokio::select! {
        gone = session(first, &settings, &to_sim, &mut answers) => gone,
        () = refuser => None,
    };
    if let Some(why) = gone {
        let _ = to_sim.send(ToSim::Gone(why));
    }
}

/// Writes one response frame.
async fn send(stream: &mut Box<dyn Stream>, op: u8, id: u32, r: &Response) -> io::Result<()> {
    let bytes = r
        .to_frame(op, id)
        .encode()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    stream.write_all(&bytes).await?;
    stream.flush().await
}

/// Why no frame came.
enum NoFrame {
    /// The client closed the connection or the socket failed.
    Closed(String),
    /// Nothing arrived within the idle timeout.
    Idle,
    /// The bytes cannot be framed; the stream is lost (answered, then closed).
    Unframeable {
        /// The op and id of the header, when they arrived.
        op: u8,
        /// The request's id.
        id: u32,
        /// Why.
        error: FrameError,
    },
}

/// Reads the next frame; a frame of a kind other than request is answered
/// `MALFORMED` and skipped.
async fn next_frame(
    stream: &mut Box<dyn Stream>,
    buf: &mut Vec<u8>,
    idle: Option<Duration>,
) -> Result<Frame, NoFrame> {
    loop {
        match Frame::decode(buf) {
            Ok(Some((frame, used))) => {
                buf.drain(..used);
                return Ok(frame);
            }
            Ok(None) => {}
            Err(FrameError::BadKind { kind }) => {
                // The frame is whole (decode reads the kind only then): skip it.
                let head: [u8; 4] = [buf[0], buf[1], buf[2], buf[3]];
                let used = 4 + Frame::body_len(&head).unwrap_or(0);
                let (op, id) = header_op_id(buf);
                buf.drain(..used.min(buf.len()));
                let bad = Response::Error {
                    status: Status::Malformed,
                    message: format!("frame kind {kind}: a request's kind is 0"),
                };
                send(stream, op, id, &bad)
                    .await
                    .map_err(|e| NoFrame::Closed(e.to_string()))?;
                continue;
            }
            Err(error) => {
                let (op, id) = header_op_id(buf);
                return Err(NoFrame::Unframeable { op, id, error });
            }
        }
        let mut chunk = [0u8; 64 * 1024];
        let read = stream.read(&mut chunk);
        let n = match idle {
            Some(d) => tokio::time::timeout(d, read)
                .await
                .map_err(|_| NoFrame::Idle)?,
            None => read.await,
        }
        .map_err(|e| NoFrame::Closed(format!("the connection failed: {e}")))?;
        if n == 0 {
            return Err(NoFrame::Closed(if buf.is_empty() {
                "the client closed the connection".into()
            } else {
                format!(
                    "the client closed the connection inside a frame ({} bytes of it)",
                    buf.len()
                )
            }));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The op and id of a frame's header, as far as it has arrived (0 where not).
fn header_op_id(buf: &[u8]) -> (u8, u32) {
    let op = buf.get(5).copied().unwrap_or(0);
    let id = buf
        .get(8..HEADER_BYTES)
        .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    (op, id)
}

/// The simulation's answer to the request just handed over. Most answers come
/// within microseconds (a register access, a short wait), and waking this
/// thread from its sleep costs tens of them on a virtual machine, so it polls
/// for a moment first ([`spin`]); a long wait then sleeps as usual.
async fn next_answer(answers: &mut UnboundedReceiver<Answer>) -> Option<Answer> {
    use tokio::sync::mpsc::error::TryRecvError;
    let polled = spin(|| match answers.try_recv() {
        Ok(a) => Some(Some(a)),
        Err(TryRecvError::Empty) => None,
        Err(TryRecvError::Disconnected) => Some(None),
    });
    match polled {
        Some(answer) => answer,
        None => answers.recv().await,
    }
}

/// One client's session. Returns why it ended if the client went away (`None`
/// after `FINISH` was answered or the simulation ended first).
async fn session(
    mut stream: Box<dyn Stream>,
    settings: &EdgeSettings,
    to_sim: &Sender<ToSim>,
    answers: &mut UnboundedReceiver<Answer>,
) -> Option<String> {
    let mut buf = Vec::new();
    let mut greeted = false;
    loop {
        let frame = match next_frame(&mut stream, &mut buf, settings.idle).await {
            Ok(f) => f,
            Err(NoFrame::Closed(why)) => return Some(why),
            Err(NoFrame::Idle) => {
                let secs = settings.idle.map_or(0, |d| d.as_secs());
                let why = format!("the client sent nothing for {secs} s (--idle-timeout)");
                let r = Response::Error {
                    status: Status::Timeout,
                    message: why.clone(),
                };
                let _ = send(&mut stream, 0, 0, &r).await;
                return Some(why);
            }
            Err(NoFrame::Unframeable { op, id, error }) => {
                let status = match error {
                    FrameError::Oversized { .. } => Status::Oversized,
                    _ => Status::Malformed,
                };
                let why = format!("{error}; the stream cannot be resynchronised, so it is closed");
                let r = Response::Error {
                    status,
                    message: why.clone(),
                };
                let _ = send(&mut stream, op, id, &r).await;
                return Some(why);
            }
        };
        let answer = match Request::from_frame(&frame) {
            Err(e) => Response::Error {
                status: e.status(),
                message: e.to_string(),
            },
            Ok(Request::Hello { version, .. }) if version != VERSION => Response::Error {
                status: Status::BadVersion,
                message: format!(
                    "HELLO: protocol version {version} is not spoken here; this server speaks version {VERSION}"
                ),
            },
            Ok(Request::Hello { .. }) => {
                greeted = true;
                Response::Hello {
                    version: VERSION,
                    capabilities: 0,
                    map: settings.map,
                }
            }
            Ok(r) if !greeted => Response::Error {
                status: Status::NotReady,
                message: format!("{} before HELLO: say HELLO first", r.op().name()),
            },
            Ok(request) => {
                let finish = request.op() == Op::Finish;
                if to_sim
                    .send(ToSim::Call {
                        id: frame.id,
                        request,
                    })
                    .is_err()
                {
                    return None;
                }
                // The simulation ended without an answer: nothing more to serve.
                let a = next_answer(answers).await?;
                if let Err(e) = send(&mut stream, a.op as u8, a.id, &a.response).await {
                    return (!finish).then(|| format!("the connection failed: {e}"));
                }
                if finish || matches!(a.response, Response::Error { status: Status::Stalled, .. }) {
                    let _ = stream.shutdown().await;
                    return None;
                }
                continue;
            }
        };
        if let Err(e) = send(&mut stream, frame.op, frame.id, &answer).await {
            return Some(format!("the connection failed: {e}"));
        }
    }
}
