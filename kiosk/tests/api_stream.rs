//! The live event stream: a snapshot first for a new client, every event
//! exactly once and in order across reconnects (Last-Event-ID or ?after=),
//! and a client that never reads does not hold back the others.

mod api_support;

use std::sync::Arc;

use api_support::{open_stream, within, Setup, SseClient, TestKiosk};
use kiosk::api::ApiOptions;
use kiosk::app::blocking;
use queue_protocol::Actor;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

async fn stream_as(kiosk: &TestKiosk, path: &str, last_event_id: Option<u64>) -> SseClient {
    let auth = format!("Bearer {}", kiosk.display_token);
    let id = last_event_id.map(|n| n.to_string());
    let mut headers = vec![("authorization", auth.as_str())];
    if let Some(id) = &id {
        headers.push(("last-event-id", id.as_str()));
    }
    let (status, client) = open_stream(kiosk.addr, path, &headers).await;
    assert_eq!(status, 200);
    client
}

/// Makes `n` events: tickets issued and called at counters 1 and 3.
async fn make_events(kiosk: &TestKiosk, n: usize) -> u64 {
    let store = kiosk.app.store().clone();
    blocking(move || {
        let start = store.last_seq();
        let mut i = 0;
        while (store.last_seq() - start) < n as u64 {
            let department = if i % 2 == 0 { "ho-tich" } else { "dat-dai" };
            store
                .issue(&department.into(), None, Actor::Button)
                .expect("issued");
            if i % 3 == 2 {
                let _ = store.call_next(1, Actor::System);
                let _ = store.call_next(3, Actor::System);
            }
            i += 1;
        }
        store.last_seq()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_client_gets_a_snapshot_first_then_live_events() {
    let kiosk = TestKiosk::start(Setup::default()).await;
    kiosk.issue("ho-tich").await;
    let mut client = stream_as(&kiosk, "/api/v1/events", None).await;
    let first = within(10, "snapshot", client.next_event()).await.unwrap();
    assert_eq!(first.event, "snapshot");
    let last_seq = first.data["last_seq"].as_u64().unwrap();
    assert_eq!(first.id, Some(last_seq));
    assert_eq!(first.data["departments"][0]["waiting"], 1);
    assert_eq!(client.retry, Some(3000));
    kiosk.issue("dat-dai").await;
    let next = within(10, "live event", client.next_event()).await.unwrap();
    assert_eq!(next.id, Some(last_seq + 1));
    assert_eq!(next.event, "ticket_issued");
    assert_eq!(next.data["kind"]["label"], "A001");
    assert_eq!(kiosk.state.stream_clients(), 1);

    // ?token= for browsers, and ?after= replays from the log.
    let path = format!("/api/v1/events?token={}&after=0", kiosk.display_token);
    let (status, mut replay) = open_stream(kiosk.addr, &path, &[]).await;
    assert_eq!(status, 200);
    let mut seqs = Vec::new();
    while seqs.len() < (last_seq + 1) as usize {
        let event = within(10, "replay", replay.next_event()).await.unwrap();
        assert_ne!(event.event, "snapshot");
        seqs.push(event.id.unwrap());
    }
    assert_eq!(seqs, (1..=last_seq + 1).collect::<Vec<_>>());

    // A display token cannot call; a bad resume point is a 400.
    let (status, _) = open_stream(
        kiosk.addr,
        "/api/v1/events?after=abc",
        &[("authorization", &format!("Bearer {}", kiosk.display_token))],
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_clients_see_every_event_once_in_order() {
    // A tiny broadcast channel makes clients lag too, so the replay from
    // the log is exercised as well as the reconnects.
    let kiosk = Arc::new(
        TestKiosk::start(Setup {
            broadcast_capacity: 4,
            ..Setup::default()
        })
        .await,
    );
    const EVENTS: usize = 400;
    const CLIENTS: u64 = 6;
    let start = kiosk.app.store().last_seq();
    let producer = {
        let kiosk = Arc::clone(&kiosk);
        tokio::spawn(async move {
            let mut last = 0;
            for _ in 0..EVENTS / 10 {
                last = make_events(&kiosk, 10).await;
                tokio::task::yield_now().await;
            }
            last
        })
    };
    let mut readers = Vec::new();
    for c in 0..CLIENTS {
        let kiosk = Arc::clone(&kiosk);
        readers.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(c);
            let mut seen: Vec<u64> = Vec::new();
            let mut resume: Option<u64> = None;
            let mut reconnects = 0;
            loop {
                let mut client = if reconnects % 2 == 0 {
                    stream_as(&kiosk, "/api/v1/events", resume).await
                } else {
                    let path = match resume {
                        Some(after) => format!("/api/v1/events?after={after}"),
                        None => "/api/v1/events".to_string(),
                    };
                    stream_as(&kiosk, &path, None).await
                };
                reconnects += 1;
                let take = rng.random_range(1..40);
                for _ in 0..take {
                    let finished = || {
                        DONE.get()
                            .is_some_and(|done| resume.is_some_and(|r| r >= *done))
                    };
                    if finished() {
                        return (seen, reconnects);
                    }
                    // Waiting with a short bound only to look at DONE again.
                    let next = tokio::time::timeout(
                        std::time::Duration::from_millis(200),
                        client.next_event(),
                    )
                    .await;
                    let event = match next {
                        Ok(Some(event)) => event,
                        Ok(None) => break,
                        Err(_) => continue,
                    };
                    let id = event.id.expect("every event has an id");
                    if event.event == "snapshot" {
                        assert!(resume.is_none(), "snapshot only for a new client");
                        assert!(seen.is_empty());
                    } else {
                        seen.push(id);
                    }
                    resume = Some(id);
                }
                // Dropping the client disconnects it at a random point.
                drop(client);
            }
        }));
    }
    let last = within(120, "producer", producer).await.unwrap();
    DONE.set(last).unwrap();
    for reader in readers {
        let (seen, reconnects) = within(120, "reader", reader).await.unwrap();
        assert!(reconnects > 3, "the client reconnected {reconnects} times");
        let first = seen[0];
        assert!(first > start, "events after the snapshot only");
        let expected: Vec<u64> = (first..=last).collect();
        assert_eq!(seen, expected, "each event exactly once, in order");
    }
}

static DONE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_does_not_hold_back_199_others() {
    // Two hundred clients from 127.0.0.1: on a LAN each display has its own
    // address, so the per-address limits are raised for this test only.
    let kiosk = TestKiosk::start(Setup {
        broadcast_capacity: 64,
        options: ApiOptions {
            streams_per_address: 256,
            limits: lan_server::Limits {
                max_per_address: 512,
                ..lan_server::Limits::default()
            },
            ..ApiOptions::default()
        },
        ..Setup::default()
    })
    .await;
    // The stuck client: a tiny receive buffer, and it never reads.
    let stuck_socket = tokio::net::TcpSocket::new_v4().unwrap();
    stuck_socket.set_recv_buffer_size(1024).unwrap();
    let mut stuck = stuck_socket.connect(kiosk.addr).await.unwrap();
    let request = format!(
        "GET /api/v1/events?after=0 HTTP/1.1\r\nHost: kiosk\r\nAuthorization: Bearer {}\r\n\r\n",
        kiosk.display_token
    );
    tokio::io::AsyncWriteExt::write_all(&mut stuck, request.as_bytes())
        .await
        .unwrap();

    let mut clients = Vec::new();
    for _ in 0..199 {
        clients.push(stream_as(&kiosk, "/api/v1/events", None).await);
    }
    within(30, "200 stream clients counted", async {
        while kiosk.state.stream_clients() < 200 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    let mut readers = Vec::new();
    for mut client in clients {
        readers.push(tokio::spawn(async move {
            let first = client.next_event().await.unwrap();
            assert_eq!(first.event, "snapshot");
            let mut last = first.id.unwrap();
            let mut count = 0u64;
            loop {
                let event = client.next_event().await.expect("stream open");
                let id = event.id.unwrap();
                assert_eq!(id, last + 1, "in order, none missed, none twice");
                last = id;
                count += 1;
                if let Some(done) = DONE_200.get() {
                    if last >= *done {
                        return count;
                    }
                }
            }
        }));
    }
    let last = make_events(&kiosk, 1000).await;
    DONE_200.set(last).unwrap();
    // Wake readers waiting on the final check with one more event.
    let last = make_events(&kiosk, 1).await;
    let _ = last;
    within(120, "199 readers got every event", async {
        for reader in readers {
            let count = reader.await.unwrap();
            assert!(count >= 1000, "got {count} events");
        }
    })
    .await;
    drop(stuck);
}

static DONE_200: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
