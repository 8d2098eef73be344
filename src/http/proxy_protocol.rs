//! The PROXY protocol (HAProxy's, versions 1 and 2) on the main listener, when `proxy_protocol`
//! is set: every connection starts with a header naming the client the balancer saw, read here
//! before any HTTP. The spec forbids guessing, so a connection without a valid header is closed.
//! The header's address is only a claim: `client_address` takes it when the peer that sent it is
//! in `limits.trusted_proxies` (checked per request, so a reload that drops a proxy applies at
//! once), and from anyone else the header is read and ignored.

use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use ppp::{HeaderResult, PartialResult, v1, v2};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// The longest header accepted. A v1 header is at most 107 bytes; a v2 one is 16 plus its
/// addresses and TLVs, which HAProxy keeps to a few hundred bytes even with TLS details.
const MAX_HEADER_BYTES: usize = 1024;

/// How long a connection may take to send its header: as long as actix-web gives a request's
/// head (`client_request_timeout`), so a silent connection is closed as soon either way.
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// The source address a PROXY header named, kept with the connection for `client_address`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ProxiedSource(pub(crate) IpAddr);

/// A connection whose PROXY header was read: the bytes read past the header come first, then
/// the socket.
#[derive(Debug)]
pub(crate) struct ProxiedStream {
    stream: TcpStream,
    read_past_header: Vec<u8>,
    replayed: usize,
    source: Option<ProxiedSource>,
}

impl ProxiedStream {
    /// The header's source, when it named one (not for `LOCAL`, `UNKNOWN` or a unix socket).
    pub(crate) fn source(&self) -> Option<ProxiedSource> {
        self.source
    }
}

/// Why a connection was closed before HTTP; logged with the peer, never sent.
#[derive(Debug, thiserror::Error, PartialEq)]
pub(crate) enum HeaderError {
    #[error("no PROXY header within {}s", HEADER_TIMEOUT.as_secs())]
    TimedOut,
    #[error("the connection closed before its PROXY header ended")]
    Closed,
    #[error("the connection does not start with a PROXY header")]
    Missing,
    #[error("the PROXY header is longer than {MAX_HEADER_BYTES} bytes")]
    TooLong,
    #[error("reading the PROXY header failed: {0}")]
    Io(String),
}

/// Reads the PROXY header off `stream` within `HEADER_TIMEOUT`.
pub(crate) async fn read_header(stream: TcpStream) -> Result<ProxiedStream, HeaderError> {
    tokio::time::timeout(HEADER_TIMEOUT, read_header_untimed(stream))
        .await
        .map_err(|_| HeaderError::TimedOut)?
}

async fn read_header_untimed(mut stream: TcpStream) -> Result<ProxiedStream, HeaderError> {
    let mut buffer = Vec::with_capacity(MAX_HEADER_BYTES);
    loop {
        // Never more than the longest header: the parse below decides on at most that much.
        let room = MAX_HEADER_BYTES - buffer.len();
        let read = (&mut stream)
            .take(room as u64)
            .read_buf(&mut buffer)
            .await
            .map_err(|err| HeaderError::Io(err.to_string()))?;
        if read == 0 {
            return Err(HeaderError::Closed);
        }
        match parse(&buffer) {
            Parsed::Header { length, source } => {
                buffer.drain(..length);
                return Ok(ProxiedStream {
                    stream,
                    read_past_header: buffer,
                    replayed: 0,
                    source,
                });
            }
            Parsed::Incomplete if buffer.len() < MAX_HEADER_BYTES => {}
            Parsed::Incomplete => return Err(HeaderError::TooLong),
            Parsed::Invalid => return Err(HeaderError::Missing),
        }
    }
}

#[derive(Debug, PartialEq)]
enum Parsed {
    Header {
        length: usize,
        source: Option<ProxiedSource>,
    },
    Incomplete,
    Invalid,
}

fn parse(bytes: &[u8]) -> Parsed {
    let result = HeaderResult::parse(bytes);
    if result.is_incomplete() {
        return Parsed::Incomplete;
    }
    match result {
        HeaderResult::V1(Ok(header)) => Parsed::Header {
            length: header.header.len(),
            source: match header.addresses {
                v1::Addresses::Tcp4(ip) => Some(IpAddr::V4(ip.source_address)),
                v1::Addresses::Tcp6(ip) => Some(IpAddr::V6(ip.source_address)),
                v1::Addresses::Unknown => None,
            }
            .map(ProxiedSource),
        },
        // LOCAL is the balancer's own connection (its health checks): no client behind it.
        HeaderResult::V2(Ok(header)) => Parsed::Header {
            length: header.len(),
            source: match (header.command, header.addresses) {
                (v2::Command::Proxy, v2::Addresses::IPv4(ip)) => {
                    Some(IpAddr::V4(ip.source_address))
                }
                (v2::Command::Proxy, v2::Addresses::IPv6(ip)) => {
                    Some(IpAddr::V6(ip.source_address))
                }
                _ => None,
            }
            .map(ProxiedSource),
        },
        HeaderResult::V1(Err(_)) | HeaderResult::V2(Err(_)) => Parsed::Invalid,
    }
}

impl AsyncRead for ProxiedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let left = &this.read_past_header[this.replayed..];
        if !left.is_empty() {
            let count = left.len().min(buf.remaining());
            buf.put_slice(&left[..count]);
            this.replayed += count;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ProxiedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V2_SIGNATURE: &[u8] = b"\r\n\r\n\0\r\nQUIT\n";

    fn v2(command: u8, family: u8, addresses: &[u8]) -> Vec<u8> {
        let mut header = V2_SIGNATURE.to_vec();
        header.push(0x20 | command);
        header.push(family);
        header.extend_from_slice(&(addresses.len() as u16).to_be_bytes());
        header.extend_from_slice(addresses);
        header
    }

    fn source(text: &str) -> Option<ProxiedSource> {
        Some(ProxiedSource(text.parse().unwrap()))
    }

    #[test]
    fn a_v1_header_names_its_source_and_ends_at_its_line_end() {
        let header = b"PROXY TCP4 198.51.100.7 10.0.0.1 56324 8080\r\n";
        let mut bytes = header.to_vec();
        bytes.extend_from_slice(b"GET /healthz HTTP/1.1\r\n");

        assert_eq!(
            parse(&bytes),
            Parsed::Header {
                length: header.len(),
                source: source("198.51.100.7")
            }
        );
        let ipv6 = b"PROXY TCP6 2001:db8::9 2001:db8::1 1 2\r\n";
        assert_eq!(
            parse(ipv6),
            Parsed::Header {
                length: ipv6.len(),
                source: source("2001:db8::9")
            }
        );
        assert_eq!(
            parse(b"PROXY UNKNOWN\r\n"),
            Parsed::Header {
                length: 15,
                source: None
            }
        );
    }

    #[test]
    fn a_v2_proxy_header_names_its_source_and_local_names_none() {
        let ipv4 = [198, 51, 100, 8, 10, 0, 0, 1, 0xdc, 0x04, 0x1f, 0x90];
        let proxied = v2(0x1, 0x11, &ipv4);
        let local = v2(0x0, 0x00, &[]);
        let mut with_request = proxied.clone();
        with_request.extend_from_slice(b"POST /exchange HTTP/1.1\r\n");

        assert_eq!(
            parse(&with_request),
            Parsed::Header {
                length: 28,
                source: source("198.51.100.8")
            }
        );
        assert_eq!(
            parse(&local),
            Parsed::Header {
                length: 16,
                source: None
            }
        );
    }

    #[test]
    fn a_partial_header_waits_and_anything_else_is_refused() {
        assert_eq!(parse(b"PROXY TCP4 198.51"), Parsed::Incomplete);
        assert_eq!(parse(&V2_SIGNATURE[..7]), Parsed::Incomplete);
        assert_eq!(parse(b"GET / HTTP/1.1\r\n\r\n"), Parsed::Invalid);
        assert_eq!(
            parse(b"PROXY TCP4 not-an-address 10.0.0.1 1 2\r\n"),
            Parsed::Invalid
        );
        assert_eq!(parse(&v2(0x7, 0x11, &[0; 12])), Parsed::Invalid);
    }
}
