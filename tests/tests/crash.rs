//! Crash test of the queue store: a child process issues tickets as fast as
//! it can and is killed with SIGKILL at random moments, over and over. No
//! acknowledged number may ever be issued again, the store must always open,
//! and the event log must have no holes. The child moves through simulated
//! service days and prunes after each, so kills also hit packing, retention
//! and event pruning: acknowledged tickets of kept days must still be found
//! (packed or not), and the kept events must be a hole-free run from
//! `oldest_kept_seq` to the last one. The child's journal is small, so it
//! fills and starts over every few operations; the test fails if no
//! opening had to apply journal records (the kills never hit a write sled
//! had not made itself).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use queue_store::clock::ManualClock;
use queue_store::store::{EventsSince, Store, StoreOptions};
use rand::Rng;
use system_tests::perf::issue::store_center;

const ROUNDS: usize = 200;

/// (department, service day, number) -> ticket id
type Acked = HashMap<(String, String, u32), u64>;

fn parse(line: &str) -> Option<((String, String, u32), u64)> {
    let mut parts = line.split(' ');
    (parts.next()? == "ACK").then_some(())?;
    let department = parts.next()?.to_owned();
    let day = parts.next()?.to_owned();
    let number = parts.next()?.parse().ok()?;
    let id = parts.next()?.parse().ok()?;
    Some(((department, day, number), id))
}

#[test]
fn sigkill_never_loses_or_reuses_an_acknowledged_number() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    let mut rng = rand::rng();
    let mut acked: Acked = HashMap::new();
    let mut rounds_with_acks = 0;
    // Openings that applied journal records, and how many records.
    let (mut replaying_opens, mut replayed) = (0, 0);
    for round in 0..ROUNDS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_crash-child"))
            .arg(&store_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("crash-child starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Half the rounds wait for the first acknowledgement, so kills land
        // in the middle of the work and not only during start-up.
        let mut lines = Vec::new();
        if round % 2 == 0 {
            if let Ok(line) = rx.recv_timeout(Duration::from_secs(10)) {
                lines.push(line);
            }
        }
        let delay = Duration::from_millis(rng.random_range(5..=60));
        let deadline = Instant::now() + delay;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match rx.recv_timeout(left) {
                Ok(line) => lines.push(line),
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("round {round}: crash-child exited by itself ({status}): {err}");
        }
        child.kill().expect("SIGKILL");
        child.wait().unwrap();
        reader.join().unwrap();
        lines.extend(rx.try_iter());
        if let Some(n) = lines
            .iter()
            .find_map(|l| l.strip_prefix("OPENED ")?.parse::<usize>().ok())
        {
            if n > 0 {
                replaying_opens += 1;
                replayed += n;
            }
        }
        if lines.iter().any(|l| l.starts_with("ACK ")) {
            rounds_with_acks += 1;
        }
        // A line cut by the kill does not parse and is ignored: it was
        // never fully acknowledged.
        for (key, id) in lines.iter().filter_map(|l| parse(l)) {
            if let Some(previous) = acked.insert(key.clone(), id) {
                panic!("round {round}: {key:?} acknowledged twice (tickets {previous} and {id})");
            }
        }
    }
    assert!(
        rounds_with_acks >= ROUNDS / 2,
        "only {rounds_with_acks} rounds issued anything"
    );

    let config = store_center(3, 90);
    let store = Store::open(
        &store_dir,
        Arc::new(config),
        Arc::new(ManualClock::new(jiff::Timestamp::UNIX_EPOCH)),
        &StoreOptions::default(),
    )
    .expect("store opens after the last kill");
    let kept_days: std::collections::HashSet<String> = store
        .service_days()
        .iter()
        .map(std::string::ToString::to_string)
        .collect();
    let mut checked = 0;
    for ((department, day, number), id) in &acked {
        if !kept_days.contains(day) {
            // Removed by the 90-day retention.
            assert!(store
                .ticket(queue_protocol::TicketId(*id))
                .unwrap()
                .is_none());
            continue;
        }
        checked += 1;
        let ticket = store
            .ticket(queue_protocol::TicketId(*id))
            .unwrap()
            .unwrap_or_else(|| panic!("acknowledged ticket {id} is lost"));
        assert_eq!(
            (
                &ticket.issued_department,
                &ticket.service_day,
                ticket.number
            ),
            (department, day, *number)
        );
    }
    let oldest = store.oldest_kept_seq();
    if oldest > 1 {
        assert_eq!(
            store.events_since(0, 1).unwrap(),
            EventsSince::Gap {
                oldest_kept_seq: oldest
            }
        );
    }
    let EventsSince::Events(events) = store.events_since(oldest - 1, usize::MAX).unwrap() else {
        panic!("events from oldest_kept_seq on are there");
    };
    assert_eq!(events.first().map(|e| e.seq), Some(oldest));
    for pair in events.windows(2) {
        assert_eq!(
            pair[0].seq + 1,
            pair[1].seq,
            "hole after event {}",
            pair[0].seq
        );
    }
    assert_eq!(events.last().map(|e| e.seq), Some(store.last_seq()));
    assert!(checked > 0, "no acknowledged ticket left to check");
    // The kills must have hit writes sled had not made yet, or the journal
    // went untested.
    assert!(
        replaying_opens > 0,
        "no opening applied a journal record in {ROUNDS} rounds"
    );
    eprintln!(
        "{} acknowledged tickets over {ROUNDS} kills, {checked} on {} kept days, events from {oldest}; {replaying_opens} openings applied {replayed} journal records",
        acked.len(),
        kept_days.len()
    );
}
