//! A tiny HTTP/1.1 client for the soak scenarios: one request per
//! connection (`Connection: close`), the status and the whole body back.
//! Raw bytes can be sent too, for malformed requests. It does not keep
//! connections alive or stream (the event stream readers do their own).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// An answer: the status and the body (chunked bodies decoded).
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Body bytes as text (lossy).
    pub body: String,
}

/// The longest any one soak request may take before it counts as hung.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// One request on a fresh connection.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> anyhow::Result<Reply> {
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: kiosk\r\nConnection: close\r\n");
    for (k, v) in headers {
        text.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = body.unwrap_or_default();
    if !body.is_empty() || method != "GET" {
        text.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    text.push_str("\r\n");
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(body);
    raw(addr, &bytes).await
}

/// Sends `bytes` as they are and reads the answer.
pub async fn raw(addr: SocketAddr, bytes: &[u8]) -> anyhow::Result<Reply> {
    tokio::time::timeout(REQUEST_TIMEOUT, async {
        let mut stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        // A server may answer (413, 400) and close before reading it all.
        let _ = stream.write_all(bytes).await;
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        parse(&answer)
    })
    .await
    .with_context(|| format!("no answer from {addr} within {REQUEST_TIMEOUT:?}"))?
}

fn parse(answer: &[u8]) -> anyhow::Result<Reply> {
    let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        bail!(
            "no complete HTTP answer ({} bytes: {:?})",
            answer.len(),
            String::from_utf8_lossy(&answer[..answer.len().min(80)])
        );
    };
    let head = String::from_utf8_lossy(&answer[..end]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("bad status line in {head:?}"))?;
    let mut body = answer[end + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Ok(Reply {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = input.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&input[..line_end]).to_string();
        let Ok(size) = usize::from_str_radix(size_text.trim(), 16) else {
            break;
        };
        input = &input[line_end + 2..];
        if size == 0 || input.len() < size {
            break;
        }
        out.extend_from_slice(&input[..size]);
        input = input.get(size + 2..).unwrap_or_default();
    }
    out
}

/// `Authorization: Bearer TOKEN`.
pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}
