//! The limits hold against idle, slow and greedy clients, while a client
//! that reads a long stream keeps it.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::routing::get;
use axum::Router;
use lan_server::{Limits, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// A stream that sends a line every 100 ms, forever.
fn ticking() -> Body {
    let ticks = futures_util::stream::unfold(0u64, |n| async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        Some((
            Ok::<_, std::convert::Infallible>(Bytes::from(format!("tick {n}\n"))),
            n + 1,
        ))
    });
    Body::from_stream(ticks)
}

fn router() -> Router {
    Router::new()
        .route("/hello", get(|| async { "hello" }))
        .route(
            "/who",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.ip().to_string() }),
        )
        .route("/ticks", get(|| async { ticking() }))
}

const LIMITS: Limits = Limits {
    header_read_timeout: Duration::from_millis(600),
    idle_timeout: Duration::from_millis(900),
    max_connections: 8,
    max_per_address: 3,
};

async fn start(
    limits: Limits,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    std::sync::Arc<lan_server::Counters>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = Server::new(router()).limits(limits);
    let counters = server.counters();
    tokio::spawn(server.serve(listener, async move {
        let _ = stopped.await;
    }));
    (addr, stop, counters)
}

/// A connection from a chosen loopback address.
async fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    socket.connect(to).await.unwrap()
}

/// Reads until the peer closes; how long that took (None: still open at
/// `deadline`).
async fn closed_within(stream: &mut TcpStream, deadline: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        let left = deadline.checked_sub(started.elapsed())?;
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => continue,
            Err(_) => return None,
        }
    }
}

#[tokio::test]
async fn idle_and_slow_header_sockets_close_while_a_reading_stream_stays() {
    let (addr, _stop, counters) = start(LIMITS).await;

    // A display following the stream, reading slowly but steadily.
    let mut display = connect_from("127.0.0.2", addr).await;
    display
        .write_all(b"GET /ticks HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();

    let mut silent = connect_from("127.0.0.3", addr).await;
    let mut slow = connect_from("127.0.0.4", addr).await;
    slow.write_all(b"GET /hello HTTP/1.1\r\n").await.unwrap();
    let slow_writer = tokio::spawn(async move {
        // One header byte every 100 ms: never a whole head in time.
        for _ in 0..40 {
            if slow.write_all(b"X").await.is_err() {
                return Some(slow);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Some(slow)
    });
    // A kept-alive connection that goes quiet after one request.
    let mut kept = connect_from("127.0.0.5", addr).await;
    kept.write_all(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();

    let limit = Duration::from_secs(3);
    let took = closed_within(&mut silent, limit).await;
    assert!(
        took.is_some(),
        "a silent socket was still open after {limit:?}"
    );
    let took = closed_within(&mut kept, limit).await;
    assert!(
        took.is_some(),
        "an idle keep-alive socket was still open after {limit:?}"
    );
    let mut slow = slow_writer.await.unwrap().unwrap();
    let took = closed_within(&mut slow, limit).await;
    assert!(
        took.is_some(),
        "a slow-header socket was still open after {limit:?}"
    );

    // The display, well past every timeout, still gets ticks: read (slowly)
    // until tick 20, at least 2 s of streaming — more than twice the idle
    // timeout — however slowly a loaded machine runs the timers.
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    let deadline = Instant::now() + Duration::from_secs(30);
    while !String::from_utf8_lossy(&seen).contains("tick 20\n") {
        assert!(
            Instant::now() < deadline,
            "no tick 20 within 30 s: {}",
            String::from_utf8_lossy(&seen)
        );
        let n = tokio::time::timeout(Duration::from_secs(5), display.read(&mut buf))
            .await
            .expect("the stream went quiet")
            .unwrap();
        assert!(n > 0, "the reading stream was closed");
        seen.extend_from_slice(&buf[..n]);
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let text = String::from_utf8_lossy(&seen);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(counters.timed_out.load(Ordering::Relaxed) >= 3);
}

#[tokio::test]
async fn connections_over_the_per_address_limit_are_closed_and_others_served() {
    let (addr, _stop, counters) = start(LIMITS).await;
    let mut held = Vec::new();
    for _ in 0..LIMITS.max_per_address {
        held.push(connect_from("127.0.0.6", addr).await);
    }
    // Let the server accept those first.
    let deadline = Instant::now() + Duration::from_secs(5);
    while counters.open.load(Ordering::Relaxed) < LIMITS.max_per_address {
        assert!(
            Instant::now() < deadline,
            "the server did not accept the first connections"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut extra = connect_from("127.0.0.6", addr).await;
    let took = closed_within(&mut extra, Duration::from_millis(500)).await;
    assert!(
        took.is_some(),
        "a fourth connection from one address was kept"
    );
    assert_eq!(counters.refused.load(Ordering::Relaxed), 1);

    // Another address is served, and sees its own address.
    let mut other = connect_from("127.0.0.7", addr).await;
    other
        .write_all(b"GET /who HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    other.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("127.0.0.7"), "{answer}");
}

#[tokio::test]
async fn at_the_total_limit_a_silent_connection_makes_room_not_a_stream() {
    let (addr, _stop, counters) = start(LIMITS).await;
    // A display following its stream since before the flood.
    let mut display = connect_from("127.0.3.1", addr).await;
    display
        .write_all(b"GET /ticks HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 256];
    let n = display.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // Silent sockets from many addresses fill the rest.
    let mut silent = Vec::new();
    for i in 0..LIMITS.max_connections - 1 {
        silent.push(connect_from(&format!("127.0.4.{}", i + 1), addr).await);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while counters.open.load(Ordering::Relaxed) < LIMITS.max_connections {
        assert!(
            Instant::now() < deadline,
            "the server did not accept the flood"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // A console still gets its answer: the oldest silent socket made room.
    let mut console = connect_from("127.0.5.1", addr).await;
    console
        .write_all(b"GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    console.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    assert_eq!(counters.evicted.load(Ordering::Relaxed), 1);
    let mut first = silent.remove(0);
    assert!(closed_within(&mut first, Duration::from_millis(200))
        .await
        .is_some());
    // The display still reads ticks.
    let n = tokio::time::timeout(Duration::from_secs(1), display.read(&mut buf))
        .await
        .expect("the stream went quiet")
        .unwrap();
    assert!(n > 0);
}

#[tokio::test]
async fn the_total_limit_holds_across_addresses() {
    let (addr, _stop, counters) = start(LIMITS).await;
    let mut held = Vec::new();
    for i in 0..LIMITS.max_connections {
        let mut socket = connect_from(&format!("127.0.1.{}", i + 1), addr).await;
        socket
            .write_all(b"GET /ticks HTTP/1.1\r\nHost: t\r\n\r\n")
            .await
            .unwrap();
        held.push(socket);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while counters.open.load(Ordering::Relaxed) < LIMITS.max_connections {
        assert!(
            Instant::now() < deadline,
            "the server did not accept the first connections"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut extra = connect_from("127.0.2.1", addr).await;
    assert!(closed_within(&mut extra, Duration::from_millis(500))
        .await
        .is_some());
    // Once they time out, room is made again.
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(5);
    while counters.open.load(Ordering::Relaxed) > 0 {
        assert!(
            Instant::now() < deadline,
            "closed connections were still counted"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[test]
fn address_slots_are_given_back() {
    let slots = lan_server::AddressSlots::new(2);
    let ip = "10.0.0.1".parse().unwrap();
    let a = slots.try_take(ip).unwrap();
    let _b = slots.try_take(ip).unwrap();
    assert!(slots.try_take(ip).is_none());
    assert!(slots.try_take("10.0.0.2".parse().unwrap()).is_some());
    drop(a);
    assert_eq!(slots.held_by(ip), 1);
    assert!(slots.try_take(ip).is_some());
}
