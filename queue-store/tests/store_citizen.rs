//! The phone page's side of the store: a key per ticket, made at issue and
//! stored with it, found again after a restart, valid on its service day
//! only; the page's view of a ticket as the queue moves.

mod store_support;

use jiff::SignedDuration;
use queue_protocol::{Actor, TicketPageStatus, WaitEstimate};
use queue_store::clock::ManualClock;
use queue_store::store::citizen::TicketKey;
use store_support::{center, local, morning, open};

fn staff() -> Actor {
    Actor::Staff { name: "lan".into() }
}

#[test]
fn each_ticket_gets_its_own_key_and_it_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = center();
    let clock = ManualClock::new(morning());
    let store = open(dir.path(), &config, &clock);
    let a = store.issue(&"ho-tich".into(), None, Actor::Button).unwrap();
    let b = store.issue(&"ho-tich".into(), None, Actor::Button).unwrap();
    let (ka, kb) = (a.key.expect("a key"), b.key.expect("a key"));
    assert_ne!(ka, kb);
    assert_eq!(store.ticket_key(a.ticket.id), Some(ka));
    let (id, page) = store.page_by_key(&ka).unwrap().expect("known key");
    assert_eq!(id, a.ticket.id);
    assert_eq!(page.label, "1001");
    assert_eq!(page.ahead, Some(0));
    assert_eq!(store.page_by_key(&kb).unwrap().unwrap().1.ahead, Some(1));
    assert!(store.page_by_key(&TicketKey::generate()).unwrap().is_none());
    // A change of the ticket keeps its key on disk.
    store.call_next(1, staff()).unwrap();
    drop(store);

    let store = open(dir.path(), &config, &clock);
    let page = store.page_by_key(&ka).unwrap().expect("key kept").1;
    assert_eq!(page.status, TicketPageStatus::Called);
    assert_eq!(page.counter, Some(1));
    assert_eq!(store.page_by_key(&kb).unwrap().unwrap().1.ahead, Some(0));
}

#[test]
fn the_page_follows_the_queue_and_the_day() {
    let dir = tempfile::tempdir().unwrap();
    let config = center();
    let clock = ManualClock::new(morning());
    let store = open(dir.path(), &config, &clock);
    let issued: Vec<_> = (0..6)
        .map(|_| store.issue(&"ho-tich".into(), None, Actor::Button).unwrap())
        .collect();
    let last = issued[5].key.unwrap();
    let page = store.page_by_key(&last).unwrap().unwrap().1;
    assert_eq!(page.ahead, Some(5));
    assert_eq!(page.wait, Some(WaitEstimate::NotEnoughData));
    // Counter 1 serves three citizens, 4 minutes each.
    for _ in 0..4 {
        store.call_next(1, staff()).unwrap();
        clock.advance(SignedDuration::from_mins(4));
    }
    store.finish(1, None, staff()).unwrap();
    let page = store.page_by_key(&last).unwrap().unwrap().1;
    assert_eq!(page.ahead, Some(1));
    // Four services of 4 min at counters 1 and 2 (both serve ho-tich): 1 × 4 / 2.
    assert_eq!(page.wait, Some(WaitEstimate::About { secs: 120 }));
    // A transfer is said on the page.
    store.call_next(1, staff()).unwrap();
    store
        .transfer_to_department(1, None, &"dat-dai".into(), staff())
        .unwrap();
    let moved = store
        .page_by_key(&issued[4].key.unwrap())
        .unwrap()
        .unwrap()
        .1;
    assert!(moved.transferred);
    assert_eq!(moved.status, TicketPageStatus::Waiting);
    // No-show, then the day ends with the last one still waiting.
    store.call_next(1, staff()).unwrap();
    store.no_show(1, None, staff()).unwrap();
    let page = store.page_by_key(&last).unwrap().unwrap().1;
    assert_eq!(page.status, TicketPageStatus::NoShow);
    let waiting = store.issue(&"ho-tich".into(), None, Actor::Button).unwrap();
    let waiting_id = waiting.ticket.id;
    clock.set(local(2026, 11, 27, 8, 0));
    store.roll_service_day().unwrap();
    let pages = store.pages(&[waiting_id]).unwrap();
    assert_eq!(
        pages[0].as_ref().unwrap().status,
        TicketPageStatus::DayEnded
    );
    // Yesterday's keys open nothing any more.
    assert!(store.page_by_key(&last).unwrap().is_none());
    assert!(store.page_by_key(&waiting.key.unwrap()).unwrap().is_none());
    assert!(store.ticket_key(waiting_id).is_none());
}
