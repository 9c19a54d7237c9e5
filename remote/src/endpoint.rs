//! [`Endpoint`]: where a server listens and a client connects, written
//! `unix:PATH` or `tcp:HOST:PORT` on command lines (the server and every client
//! read the same spelling).

use std::fmt;
use std::path::PathBuf;

/// A stream-socket address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// A Unix-domain socket at a path.
    Unix(PathBuf),
    /// A TCP address, `HOST:PORT` (a name or an IP; port 0 lets the server pick).
    Tcp(String),
}

/// Why a text is not an endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointError(String);

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EndpointError {}

impl std::str::FromStr for Endpoint {
    type Err = EndpointError;

    fn from_str(s: &str) -> Result<Endpoint, EndpointError> {
        if let Some(path) = s.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(EndpointError(format!("`{s}`: the socket path is empty")));
            }
            return Ok(Endpoint::Unix(PathBuf::from(path)));
        }
        if let Some(addr) = s.strip_prefix("tcp:") {
            let port_ok = addr
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
            if !port_ok {
                return Err(EndpointError(format!(
                    "`{s}`: expected tcp:HOST:PORT with a port from 0 to 65535"
                )));
            }
            return Ok(Endpoint::Tcp(addr.to_string()));
        }
        Err(EndpointError(format!(
            "`{s}`: expected unix:PATH or tcp:HOST:PORT"
        )))
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Unix(path) => write!(f, "unix:{}", path.display()),
            Endpoint::Tcp(addr) => write!(f, "tcp:{addr}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_parse_and_print_back() {
        for s in ["unix:/tmp/vp.sock", "tcp:127.0.0.1:7000", "tcp:[::1]:0"] {
            let e: Endpoint = s.parse().expect(s);
            assert_eq!(e.to_string(), s);
        }
    }

    #[test]
    fn bad_spellings_say_what_is_expected() {
        for s in ["", "unix:", "tcp:host", "tcp::80", "tcp:h:99999", "udp:x:1"] {
            let e = s.parse::<Endpoint>().expect_err(s);
            assert!(
                e.to_string().contains("expected") || e.to_string().contains("empty"),
                "{e}"
            );
        }
    }
}
