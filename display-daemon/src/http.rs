//! A tiny HTTP/1.1 client over a tokio `TcpStream`, for the kiosk's LAN API.
//!
//! It owns just what the daemon needs: a `GET` whose body is streamed as it
//! arrives (the event stream, which axum sends with
//! `Transfer-Encoding: chunked`), and a small `POST` for keypad actions. Plain
//! `http://` only: the kiosk and the displays share a closed LAN. It does not
//! follow redirects, keep connections alive between requests, or speak TLS.
//! Reconnecting and backoff are the [`link`](crate::link)'s.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// The largest response head accepted.
const MAX_HEAD: usize = 16 * 1024;
/// The largest `POST` response body read.
const MAX_SMALL_BODY: usize = 64 * 1024;
/// How long connecting may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// What went wrong talking to the kiosk.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The configured base URL is not `http://host[:port][/prefix]`.
    #[error("kiosk URL {url:?} is not usable: {reason}; write it like http://192.168.1.10:8080")]
    InvalidUrl {
        /// The URL as configured.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The TCP connection could not be made.
    #[error("cannot connect to the kiosk at {addr}; is it running and reachable on the LAN?")]
    Connect {
        /// `host:port`.
        addr: String,
        /// The error from the operating system.
        #[source]
        source: std::io::Error,
    },
    /// Connecting took longer than [`CONNECT_TIMEOUT`].
    #[error(
        "connecting to the kiosk at {addr} timed out; check the network cable and the address"
    )]
    ConnectTimeout {
        /// `host:port`.
        addr: String,
    },
    /// Reading or writing the connection failed.
    #[error("connection to the kiosk failed while {during}")]
    Io {
        /// What was being done.
        during: &'static str,
        /// The error from the operating system.
        #[source]
        source: std::io::Error,
    },
    /// The kiosk's answer is not valid HTTP/1.1 as this client reads it.
    #[error("the kiosk sent a malformed response: {0}")]
    Malformed(&'static str),
    /// The connection closed before the response was complete.
    #[error("the kiosk closed the connection before the response was complete")]
    Truncated,
}

/// The kiosk's base URL, split for requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port, 80 when not given.
    pub port: u16,
    /// Path prefix without a trailing slash (usually empty).
    pub prefix: String,
}

impl BaseUrl {
    /// Parses `http://host[:port][/prefix]`.
    pub fn parse(url: &str) -> Result<Self, HttpError> {
        let invalid = |reason| HttpError::InvalidUrl {
            url: url.to_owned(),
            reason,
        };
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| invalid("only http:// is supported"))?;
        let (authority, prefix) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        if prefix.contains(['?', '#']) {
            return Err(invalid("it must not have a query or fragment"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let end = v6
                .find(']')
                .ok_or_else(|| invalid("unclosed [ in the host"))?;
            let port = &v6[end + 1..];
            (&v6[..end], port.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() || host.contains('@') {
            return Err(invalid("it has no host"));
        }
        let port = match port {
            Some(p) => p.parse().map_err(|_| invalid("the port is not a number"))?,
            None => 80,
        };
        Ok(Self {
            host: host.to_owned(),
            port,
            prefix: prefix.to_owned(),
        })
    }

    /// `host:port` as written in a `Host` header and in messages.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Status line and headers of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// Status code.
    pub status: u16,
    /// Headers in order, names lowercased.
    pub headers: Vec<(String, String)>,
}

impl ResponseHead {
    /// The first header named `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// How the body is delimited.
#[derive(Debug)]
enum Framing {
    Chunked(ChunkedDecoder),
    Length(u64),
    UntilClose,
}

/// A response body read as it arrives.
#[derive(Debug)]
pub struct Body {
    /// The connection.
    stream: TcpStream,
    /// Body bytes read together with the head, not yet returned.
    pending: Vec<u8>,
    /// How the body ends.
    framing: Framing,
    /// The body is complete.
    done: bool,
}

impl Body {
    /// The next piece of the body; `None` once it is complete. Waits for the
    /// network; wrap it in a timeout to detect a silent peer.
    pub async fn chunk(&mut self) -> Result<Option<Vec<u8>>, HttpError> {
        let mut buf = vec![0u8; 8192];
        loop {
            if self.done {
                return Ok(None);
            }
            let raw = if self.pending.is_empty() {
                let n = self
                    .stream
                    .read(&mut buf)
                    .await
                    .map_err(|source| HttpError::Io {
                        during: "reading the response body",
                        source,
                    })?;
                if n == 0 {
                    self.done = true;
                    return match self.framing {
                        Framing::UntilClose => Ok(None),
                        _ => Err(HttpError::Truncated),
                    };
                }
                buf[..n].to_vec()
            } else {
                std::mem::take(&mut self.pending)
            };
            let out = match &mut self.framing {
                Framing::Chunked(decoder) => {
                    let mut out = Vec::with_capacity(raw.len());
                    self.done = decoder.feed(&raw, &mut out)?;
                    out
                }
                Framing::Length(left) => {
                    let take = raw.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                    *left -= take as u64;
                    self.done = *left == 0;
                    raw[..take].to_vec()
                }
                Framing::UntilClose => raw,
            };
            if !out.is_empty() {
                return Ok(Some(out));
            }
        }
    }

    /// The whole rest of the body, at most `limit` bytes (more is dropped).
    pub async fn read_to_end(&mut self, limit: usize) -> Result<Vec<u8>, HttpError> {
        let mut all = Vec::new();
        while let Some(piece) = self.chunk().await? {
            let room = limit.saturating_sub(all.len());
            all.extend_from_slice(&piece[..piece.len().min(room)]);
        }
        Ok(all)
    }
}

/// Sends a request and reads the response head; the body follows.
/// `headers` are added after `Host`; a `Content-Length` is added for `body`.
pub async fn request(
    base: &BaseUrl,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(ResponseHead, Body), HttpError> {
    let addr = base.authority();
    let connect = TcpStream::connect((base.host.as_str(), base.port));
    let mut stream = tokio::time::timeout(CONNECT_TIMEOUT, connect)
        .await
        .map_err(|_| HttpError::ConnectTimeout { addr: addr.clone() })?
        .map_err(|source| HttpError::Connect {
            addr: addr.clone(),
            source,
        })?;
    let _ = stream.set_nodelay(true);
    let mut head = format!(
        "{method} {}{path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: display-daemon\r\n",
        base.prefix
    );
    for (name, value) in headers {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    if method != "GET" || !body.is_empty() {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    stream
        .write_all(&out)
        .await
        .map_err(|source| HttpError::Io {
            during: "sending the request",
            source,
        })?;

    let mut buf = Vec::with_capacity(1024);
    let mut piece = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Err(HttpError::Malformed("response head larger than 16 KiB"));
        }
        let n = stream
            .read(&mut piece)
            .await
            .map_err(|source| HttpError::Io {
                during: "reading the response head",
                source,
            })?;
        if n == 0 {
            return Err(HttpError::Truncated);
        }
        buf.extend_from_slice(&piece[..n]);
    };
    let head = parse_head(&buf[..head_end])?;
    let pending = buf[head_end + 4..].to_vec();
    let chunked = head
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let framing = if chunked {
        Framing::Chunked(ChunkedDecoder::new())
    } else if let Some(len) = head.header("content-length") {
        Framing::Length(
            len.trim()
                .parse()
                .map_err(|_| HttpError::Malformed("Content-Length is not a number"))?,
        )
    } else {
        Framing::UntilClose
    };
    let done = matches!(framing, Framing::Length(0)) || head.status == 204 || head.status == 304;
    Ok((
        head,
        Body {
            stream,
            pending,
            framing,
            done,
        },
    ))
}

/// A `POST` with an empty body; returns the status and the body (capped).
pub async fn post_empty(
    base: &BaseUrl,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<(u16, Vec<u8>), HttpError> {
    let mut all = headers.to_vec();
    all.push(("Connection", "close"));
    let (head, mut body) = request(base, "POST", path, &all, &[]).await?;
    let bytes = body.read_to_end(MAX_SMALL_BODY).await?;
    Ok((head.status, bytes))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Parses a status line and headers (without the blank line).
pub fn parse_head(bytes: &[u8]) -> Result<ResponseHead, HttpError> {
    let text = std::str::from_utf8(bytes).map_err(|_| HttpError::Malformed("head is not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(HttpError::Malformed("status line is not HTTP/1.x"));
    }
    let status = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or(HttpError::Malformed("status code is not a number"))?;
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or(HttpError::Malformed("header line without a colon"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    Ok(ResponseHead { status, headers })
}

/// Decoder for `Transfer-Encoding: chunked`, fed bytes split anywhere.
#[derive(Debug, Clone, Default)]
pub struct ChunkedDecoder {
    /// Where in the framing the decoder is.
    state: ChunkState,
    /// A size or trailer line being received.
    line: Vec<u8>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum ChunkState {
    /// Reading a chunk-size line.
    #[default]
    Size,
    /// Inside a chunk's data; bytes left.
    Data(u64),
    /// After a chunk's data; how many bytes of its CRLF are still expected.
    DataEnd(u8),
    /// After the last (empty) chunk: trailer lines until an empty one.
    Trailer,
    /// The body is complete.
    Done,
}

impl ChunkedDecoder {
    /// A decoder at the start of a body.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes `input`, appending data to `out`; returns `true` once the
    /// terminating chunk and trailers were read.
    pub fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<bool, HttpError> {
        while !input.is_empty() {
            match self.state {
                ChunkState::Done => return Ok(true),
                ChunkState::Data(left) => {
                    let take = input.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    out.extend_from_slice(&input[..take]);
                    input = &input[take..];
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        ChunkState::DataEnd(2)
                    } else {
                        ChunkState::Data(left)
                    };
                }
                ChunkState::DataEnd(n) => {
                    let expected = if n == 2 { b'\r' } else { b'\n' };
                    // Be lenient with a bare LF after the data.
                    if n == 2 && input[0] == b'\n' {
                        self.state = ChunkState::Size;
                    } else if input[0] == expected {
                        self.state = if n == 1 {
                            ChunkState::Size
                        } else {
                            ChunkState::DataEnd(1)
                        };
                    } else {
                        return Err(HttpError::Malformed("chunk data not followed by CRLF"));
                    }
                    input = &input[1..];
                }
                ChunkState::Size | ChunkState::Trailer => {
                    let Some(end) = input.iter().position(|&b| b == b'\n') else {
                        self.line.extend_from_slice(input);
                        if self.line.len() > 4096 {
                            return Err(HttpError::Malformed("chunk size line too long"));
                        }
                        return Ok(false);
                    };
                    self.line.extend_from_slice(&input[..end]);
                    input = &input[end + 1..];
                    let line = std::mem::take(&mut self.line);
                    let line = line.strip_suffix(b"\r").unwrap_or(&line);
                    if self.state == ChunkState::Trailer {
                        if line.is_empty() {
                            self.state = ChunkState::Done;
                        }
                        continue;
                    }
                    let size_text = line.split(|&b| b == b';').next().unwrap_or_default();
                    let size_text = std::str::from_utf8(size_text)
                        .map_err(|_| HttpError::Malformed("chunk size is not ASCII"))?;
                    let size = u64::from_str_radix(size_text.trim(), 16)
                        .map_err(|_| HttpError::Malformed("chunk size is not hexadecimal"))?;
                    self.state = if size == 0 {
                        ChunkState::Trailer
                    } else {
                        ChunkState::Data(size)
                    };
                }
            }
        }
        Ok(self.state == ChunkState::Done)
    }
}

/// Parses an HTTP date (IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`) into
/// Unix milliseconds.
pub fn parse_http_date(value: &str) -> Option<i64> {
    let mut parts = value.split_whitespace();
    let _weekday = parts.next()?;
    let day: i64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':');
    let h: i64 = hms.next()?.parse().ok()?;
    let m: i64 = hms.next()?.parse().ok()?;
    let s: i64 = hms.next()?.parse().ok()?;
    if parts.next()? != "GMT" || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400) + h * 3600 + m * 60 + s) * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_forms() {
        let u = BaseUrl::parse("http://192.168.1.10:8080").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.prefix.as_str()),
            ("192.168.1.10", 8080, "")
        );
        let u = BaseUrl::parse("http://kiosk.local/queue/").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.prefix.as_str()),
            ("kiosk.local", 80, "/queue")
        );
        let u = BaseUrl::parse("http://[::1]:9000").unwrap();
        assert_eq!(u.authority(), "[::1]:9000");
        assert!(BaseUrl::parse("https://x").is_err());
        assert!(BaseUrl::parse("http://:80").is_err());
        assert!(BaseUrl::parse("http://x:port").is_err());
    }

    #[test]
    fn chunked_split_anywhere() {
        let body = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-T: 1\r\n\r\n";
        for split in 0..body.len() {
            let mut d = ChunkedDecoder::new();
            let mut out = Vec::new();
            let first = d.feed(&body[..split], &mut out).unwrap();
            assert!(!first || split == body.len());
            assert!(d.feed(&body[split..], &mut out).unwrap(), "split {split}");
            assert_eq!(out, b"hello, world");
        }
    }

    #[test]
    fn chunked_rejects_garbage() {
        let mut d = ChunkedDecoder::new();
        assert!(d.feed(b"zz\r\n", &mut Vec::new()).is_err());
        let mut d = ChunkedDecoder::new();
        assert!(d.feed(b"2\r\nabX", &mut Vec::new()).is_err());
    }

    #[test]
    fn head_parsing() {
        let h = parse_head(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked",
        )
        .unwrap();
        assert_eq!(h.status, 200);
        assert_eq!(h.header("content-type"), Some("text/event-stream"));
        assert!(parse_head(b"SSH-2.0 x").is_err());
    }

    #[test]
    fn http_dates() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777_000)
        );
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(parse_http_date("yesterday"), None);
    }
}
