//! The kiosk client against loopback servers written byte by byte, so each
//! test controls exactly what the "kiosk" sends and when.

use std::net::SocketAddr;
use std::time::Duration;

use display_daemon::http::{self, BaseUrl, HttpError};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// How long any one step of these tests may take before it fails.
const DEADLINE: Duration = Duration::from_secs(20);

/// Reads one request head (up to the blank line) from `stream`.
async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.unwrap() == 0 {
            break;
        }
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

/// A server that answers one connection with `pieces`, written one by one
/// with a flush between them; returns its address and the request head.
async fn serve_once(pieces: Vec<&'static [u8]>) -> (SocketAddr, tokio::task::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let head = read_head(&mut stream).await;
        for piece in pieces {
            stream.write_all(piece).await.unwrap();
            stream.flush().await.unwrap();
            tokio::task::yield_now().await;
        }
        head
    });
    (addr, task)
}

fn base(addr: SocketAddr) -> BaseUrl {
    BaseUrl::parse(&format!("http://{addr}/prefix")).unwrap()
}

#[tokio::test]
async fn a_chunked_body_split_anywhere_arrives_whole() {
    let (addr, server) = serve_once(vec![
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n",
        b"5\r\nhel",
        b"lo\r\n7;ext=1\r\n, wo",
        b"rld\r\n0\r\nX-T: 1\r\n\r\n",
    ])
    .await;
    let (head, mut body) = tokio::time::timeout(
        DEADLINE,
        http::request(
            &base(addr),
            "GET",
            "/api/v1/events",
            &[("Last-Event-ID", "7")],
            &[],
        ),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-type"), Some("text/event-stream"));
    assert_eq!(
        head.header("date").and_then(http::parse_http_date),
        Some(784_111_777_000)
    );
    let all = tokio::time::timeout(DEADLINE, body.read_to_end(1 << 20))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(all, b"hello, world");
    let request = server.await.unwrap();
    assert!(
        request.starts_with("GET /prefix/api/v1/events HTTP/1.1\r\n"),
        "{request}"
    );
    assert!(request
        .to_ascii_lowercase()
        .contains("last-event-id: 7\r\n"));
}

#[tokio::test]
async fn a_malformed_chunk_is_an_error_not_data() {
    let (addr, _server) = serve_once(vec![
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"zz\r\nnot hex\r\n",
    ])
    .await;
    let (_, mut body) = http::request(&base(addr), "GET", "/", &[], &[])
        .await
        .unwrap();
    let read = tokio::time::timeout(DEADLINE, body.read_to_end(1024))
        .await
        .unwrap();
    assert!(matches!(read, Err(HttpError::Body(_))), "{read:?}");
}

#[tokio::test]
async fn a_post_gets_the_status_and_the_body() {
    let (addr, server) = serve_once(vec![
        b"HTTP/1.1 409 Conflict\r\nContent-Length: 24\r\nContent-Type: application/json\r\n\r\n{\"error\":\"no one waits\"}",
    ])
    .await;
    let (status, body) = tokio::time::timeout(
        DEADLINE,
        http::post_empty(
            &base(addr),
            "/api/v1/counters/3/next",
            &[("Authorization", "Bearer t")],
        ),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(status, 409);
    assert_eq!(body, br#"{"error":"no one waits"}"#);
    let request = server.await.unwrap().to_ascii_lowercase();
    assert!(request.starts_with("post /prefix/api/v1/counters/3/next http/1.1\r\n"));
    assert!(request.contains("authorization: bearer t\r\n"));
}

#[tokio::test]
async fn a_closed_port_is_a_connect_error_naming_the_address() {
    let addr = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let err = http::request(&base(addr), "GET", "/", &[], &[])
        .await
        .unwrap_err();
    assert!(matches!(err, HttpError::Connect { .. }), "{err:?}");
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}
