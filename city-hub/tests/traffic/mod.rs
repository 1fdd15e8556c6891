//! The traffic of a service day at a test kiosk, shared by the hub's
//! report and backfill tests.

use jiff::SignedDuration;
use queue_protocol::Actor;

use crate::api_support::TestKiosk;

/// Waits (up to a minute) until `hub` has stored center `id`'s events up
/// to `kiosk`'s last one.
#[allow(dead_code)] // the backfill test, which shares this module, does not wait
pub async fn wait_ingested(hub: &city_hub::HubHandle, id: &str, kiosk: &TestKiosk) {
    let last = kiosk.app.store().last_seq();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while hub.status.center(id).unwrap().stored_seq < last {
        assert!(std::time::Instant::now() < deadline, "{id} not ingested");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A day with real durations: tickets issued minutes apart, officers at
/// three counters calling, sometimes recalling, serving for a varied time,
/// a no-show every fourth call, and a ticket served without "start".
pub async fn timed_day(kiosk: &TestKiosk, tickets: usize, seed: u64) {
    let store = kiosk.app.store().clone();
    let clock = kiosk.clock.clone();
    kiosk::app::blocking(move || {
        let mut step = seed;
        let mut next = move || {
            step = step
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (step >> 33) % 240
        };
        for i in 0..tickets {
            let department = if i % 3 == 0 { "dat-dai" } else { "ho-tich" };
            store
                .issue(&department.into(), None, Actor::Button)
                .expect("issued");
            clock.advance(SignedDuration::from_secs(20 + next() as i64));
        }
        let officers = ["lan", "minh", "hoa"];
        let mut round = 0u64;
        while store.snapshot().departments.iter().any(|d| d.waiting > 0) {
            for counter in 1..=3u16 {
                let staff = Actor::Staff {
                    name: officers[usize::from(counter - 1)].into(),
                };
                let Ok(ticket) = store.call_next(counter, staff.clone()) else {
                    continue;
                };
                round += 1;
                clock.advance(SignedDuration::from_secs(5 + next() as i64 / 4));
                if round % 4 == 0 {
                    store
                        .no_show(counter, Some(ticket.id), staff)
                        .expect("no-show");
                    continue;
                }
                if round % 5 == 0 {
                    store
                        .recall(counter, Some(ticket.id), staff.clone())
                        .expect("recall");
                    clock.advance(SignedDuration::from_secs(30));
                }
                if round % 6 != 0 {
                    store
                        .start_serving(counter, Some(ticket.id), staff.clone())
                        .expect("start");
                }
                clock.advance(SignedDuration::from_secs(60 + next() as i64 * 3));
                store
                    .finish(counter, Some(ticket.id), staff)
                    .expect("finish");
            }
        }
    })
    .await;
}
