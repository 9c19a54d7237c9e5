//! Frames: `len` u32, `kind` u8, `op` u8, `status` u16, `id` u32, payload — all
//! little-endian, `len` counting the bytes after itself (docs/remote.md, "Frames").

use std::fmt;

/// Bytes of a frame before its payload, the `len` field included.
pub const HEADER_BYTES: usize = 12;

/// The largest payload a frame may carry: 16 MiB. Larger transfers are several
/// requests (the client libraries split them).
pub const MAX_PAYLOAD: usize = 16 << 20;

/// The bytes `len` counts besides the payload (`kind`, `op`, `status`, `id`).
const LEN_OVERHEAD: usize = HEADER_BYTES - 4;

/// Which way a frame goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Client to server.
    Request,
    /// Server to client.
    Response,
}

impl Kind {
    fn code(self) -> u8 {
        match self {
            Kind::Request => 0,
            Kind::Response => 1,
        }
    }
}

/// One frame, header fields decoded, payload as bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Request or response.
    pub kind: Kind,
    /// The operation's code (see [`Op`](crate::Op)); kept raw so that an unknown
    /// one can be answered with an error naming it.
    pub op: u8,
    /// 0 in requests; a response's status (see [`Status`](crate::Status)).
    pub status: u16,
    /// The request's id, repeated by its response.
    pub id: u32,
    /// The operation's payload.
    pub payload: Vec<u8>,
}

/// Why bytes are not a frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// `len` says the frame is larger than [`MAX_PAYLOAD`] allows: the stream cannot
    /// be resynchronised (the payload is not read), so the connection must close.
    Oversized {
        /// The payload bytes `len` announced.
        payload: u64,
    },
    /// `len` is below the 8 bytes every frame has after it.
    ShortLength {
        /// The `len` field.
        len: u32,
    },
    /// A `kind` byte other than 0 (request) and 1 (response).
    BadKind {
        /// The byte.
        kind: u8,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Oversized { payload } => write!(
                f,
                "frame of {payload} payload bytes is larger than the {MAX_PAYLOAD} a frame may carry"
            ),
            FrameError::ShortLength { len } => write!(
                f,
                "frame length {len} is below the {LEN_OVERHEAD} bytes of kind, op, status and id"
            ),
            FrameError::BadKind { kind } => {
                write!(f, "frame kind {kind} is neither 0 (request) nor 1 (response)")
            }
        }
    }
}

impl std::error::Error for FrameError {}

impl Frame {
    /// A request frame.
    pub fn request(op: u8, id: u32, payload: Vec<u8>) -> Frame {
        Frame {
            kind: Kind::Request,
            op,
            status: 0,
            id,
            payload,
        }
    }

    /// The frame's bytes, or [`FrameError::Oversized`] for a payload above
    /// [`MAX_PAYLOAD`] (split such a transfer into several requests).
    pub fn encode(&self) -> Result<Vec<u8>, FrameError> {
        if self.payload.len() > MAX_PAYLOAD {
            return Err(FrameError::Oversized {
                payload: self.payload.len() as u64,
            });
        }
        let mut out = Vec::with_capacity(HEADER_BYTES + self.payload.len());
        out.extend_from_slice(&((LEN_OVERHEAD + self.payload.len()) as u32).to_le_bytes());
        out.push(self.kind.code());
        out.push(self.op);
        out.extend_from_slice(&self.status.to_le_bytes());
        out.extend_from_slice(&self.id.to_le_bytes());
        out.extend_from_slice(&self.payload);
        Ok(out)
    }

    /// Checks the `len` field at the start of `header` (4 bytes at least) and
    /// returns how many more bytes the frame needs after it.
    pub fn body_len(header: &[u8; 4]) -> Result<usize, FrameError> {
        let len = u32::from_le_bytes(*header);
        let len_usize = len as usize;
        if len_usize < LEN_OVERHEAD {
            return Err(FrameError::ShortLength { len });
        }
        if len_usize - LEN_OVERHEAD > MAX_PAYLOAD {
            return Err(FrameError::Oversized {
                payload: u64::from(len) - LEN_OVERHEAD as u64,
            });
        }
        Ok(len_usize)
    }

    /// Decodes one frame from the front of `bytes`: `Ok(None)` if they hold only part
    /// of one (read more), else the frame and the bytes it took.
    pub fn decode(bytes: &[u8]) -> Result<Option<(Frame, usize)>, FrameError> {
        let Some(len_field) = bytes.first_chunk::<4>() else {
            return Ok(None);
        };
        let body = Frame::body_len(len_field)?;
        let Some(frame) = bytes.get(..4 + body) else {
            return Ok(None);
        };
        let kind = match frame[4] {
            0 => Kind::Request,
            1 => Kind::Response,
            kind => return Err(FrameError::BadKind { kind }),
        };
        Ok(Some((
            Frame {
                kind,
                op: frame[5],
                status: u16::from_le_bytes([frame[6], frame[7]]),
                id: u32::from_le_bytes([frame[8], frame[9], frame[10], frame[11]]),
                payload: frame[HEADER_BYTES..].to_vec(),
            },
            4 + body,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_round_trips_and_its_length_counts_what_follows_it() {
        let f = Frame::request(0x11, 7, vec![1, 2, 3]);
        let bytes = f.encode().unwrap();
        assert_eq!(&bytes[..4], &11u32.to_le_bytes());
        assert_eq!(Frame::decode(&bytes), Ok(Some((f.clone(), bytes.len()))));
        for cut in 0..bytes.len() {
            assert_eq!(Frame::decode(&bytes[..cut]), Ok(None), "{cut} bytes");
        }
    }

    #[test]
    fn oversized_short_and_unknown_kind_are_errors() {
        let big = ((LEN_OVERHEAD + MAX_PAYLOAD + 1) as u32).to_le_bytes();
        assert_eq!(
            Frame::decode(&big),
            Err(FrameError::Oversized {
                payload: MAX_PAYLOAD as u64 + 1
            })
        );
        assert_eq!(
            Frame::decode(&7u32.to_le_bytes()),
            Err(FrameError::ShortLength { len: 7 })
        );
        let mut f = Frame::request(1, 0, vec![]).encode().unwrap();
        f[4] = 9;
        assert_eq!(Frame::decode(&f), Err(FrameError::BadKind { kind: 9 }));
    }
}
