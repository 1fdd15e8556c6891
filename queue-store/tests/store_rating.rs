//! The rating attach rule: a rating attaches to the ticket being served at
//! the counter, or to the one it finished last within the window and before
//! it calls again; one per ticket; a ticket of another counter is refused;
//! a retry with the same key is answered again and counted once; ratings
//! survive a reopen and the packing of their day.

mod store_support;

use jiff::SignedDuration;
use queue_protocol::{Actor, EventKind, TicketId};
use queue_store::clock::ManualClock;
use queue_store::store::{RatingError, RatingRequest, Store};
use store_support::{center, local, open};

fn staff() -> Actor {
    Actor::Staff { name: "lan".into() }
}

fn keypad(counter: u16) -> Actor {
    Actor::Keypad { counter }
}

fn rating(counter: u16, level: &str) -> RatingRequest {
    RatingRequest {
        counter,
        level: level.into(),
        source: "counter_button".into(),
        ticket: None,
        key: None,
    }
}

fn every_day_open() -> kiosk_config::CenterConfig {
    let mut config = center();
    config.center.closed_weekdays.clear();
    config.center.closed_dates.clear();
    config.center.sessions.clear();
    config
}

/// A store with two ho-tich tickets waiting; counter 1 serves the first and
/// finishes it at 08:10.
fn served_one() -> (tempfile::TempDir, ManualClock, Store, TicketId) {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(local(2026, 11, 26, 8, 0));
    let store = open(dir.path(), &every_day_open(), &clock);
    store.issue(&"ho-tich".into(), None, Actor::Button).unwrap();
    store.issue(&"ho-tich".into(), None, Actor::Button).unwrap();
    let first = store.call_next(1, staff()).unwrap().id;
    store.start_serving(1, None, staff()).unwrap();
    clock.advance(SignedDuration::from_secs(600));
    store.finish(1, None, staff()).unwrap();
    (dir, clock, store, first)
}

fn rated_events(store: &Store) -> Vec<EventKind> {
    match store.events_since(0, 10_000).unwrap() {
        queue_store::store::EventsSince::Events(events) => events
            .into_iter()
            .map(|e| e.kind)
            .filter(|k| matches!(k, EventKind::Rated { .. }))
            .collect(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_rating_within_the_window_attaches_to_the_finished_ticket() {
    let (_dir, clock, store, first) = served_one();
    clock.advance(SignedDuration::from_secs(170));
    let outcome = store.rate(&rating(1, "satisfied"), keypad(1)).unwrap();
    assert_eq!(outcome.ticket, first);
    assert!(!outcome.repeated);
    let ticket = store.ticket(first).unwrap().unwrap();
    let r = ticket.rating.expect("rating kept on the ticket");
    assert_eq!(
        (r.level.as_str(), r.source.as_str()),
        ("satisfied", "counter_button")
    );
    let events = rated_events(&store);
    assert_eq!(events.len(), 1);
    let EventKind::Rated {
        ticket,
        counter,
        department,
        staff,
        level,
        actor,
        ..
    } = &events[0]
    else {
        unreachable!()
    };
    assert_eq!((*ticket, *counter), (first, 1));
    assert_eq!(department, "ho-tich");
    assert_eq!(staff.as_deref(), Some("lan"));
    assert_eq!(level, "satisfied");
    assert_eq!(actor, &keypad(1));
}

#[test]
fn after_the_window_a_rating_is_refused_as_too_late() {
    let (_dir, clock, store, _) = served_one();
    clock.advance(SignedDuration::from_secs(181));
    let err = store.rate(&rating(1, "satisfied"), keypad(1)).unwrap_err();
    assert!(
        matches!(
            err,
            RatingError::TooLate {
                window_secs: 180,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.reason(), "too_late");
    assert!(rated_events(&store).is_empty());
}

#[test]
fn once_the_counter_calls_the_next_number_the_previous_ticket_cannot_be_rated() {
    let (_dir, clock, store, _) = served_one();
    store.call_next(1, staff()).unwrap();
    clock.advance(SignedDuration::from_secs(10));
    let err = store
        .rate(&rating(1, "very_satisfied"), keypad(1))
        .unwrap_err();
    assert!(
        matches!(err, RatingError::NextCalled { counter: 1 }),
        "{err}"
    );
    // Once the new citizen is being served, the rating is theirs.
    let second = store.start_serving(1, None, staff()).unwrap().id;
    let ok = store.rate(&rating(1, "very_satisfied"), keypad(1)).unwrap();
    assert_eq!(ok.ticket, second);
}

#[test]
fn next_closes_the_window_and_a_later_recall_does_not_reopen_it() {
    let (_dir, _clock, store, first) = served_one();
    // "next" while a ticket is only called: the previous finish is closed.
    store.call_next(1, staff()).unwrap();
    store.recall(1, None, staff()).unwrap();
    let err = store.rate(&rating(1, "satisfied"), keypad(1)).unwrap_err();
    assert_eq!(err.reason(), "next_called");
    assert!(store.ticket(first).unwrap().unwrap().rating.is_none());
}

#[test]
fn a_second_rating_of_the_same_ticket_is_refused() {
    let (_dir, _clock, store, first) = served_one();
    store.rate(&rating(1, "satisfied"), keypad(1)).unwrap();
    let err = store
        .rate(&rating(1, "unsatisfied"), keypad(1))
        .unwrap_err();
    assert!(
        matches!(err, RatingError::AlreadyRated { ticket, .. } if ticket == first),
        "{err}"
    );
    assert_eq!(
        store.ticket(first).unwrap().unwrap().rating.unwrap().level,
        "satisfied"
    );
    assert_eq!(rated_events(&store).len(), 1);
}

#[test]
fn a_ticket_rated_while_served_cannot_be_rated_again_after_finish() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(local(2026, 11, 26, 8, 0));
    let store = open(dir.path(), &every_day_open(), &clock);
    store.issue(&"ho-tich".into(), None, Actor::Button).unwrap();
    store.call_next(1, staff()).unwrap();
    // Only called, not served: nothing to rate yet.
    let err = store.rate(&rating(1, "satisfied"), keypad(1)).unwrap_err();
    assert_eq!(err.reason(), "no_ticket");
    store.start_serving(1, None, staff()).unwrap();
    store.rate(&rating(1, "satisfied"), keypad(1)).unwrap();
    store.finish(1, None, staff()).unwrap();
    let err = store.rate(&rating(1, "satisfied"), keypad(1)).unwrap_err();
    assert_eq!(err.reason(), "already_rated");
}

#[test]
fn a_counter_with_no_service_and_a_ticket_of_another_counter_are_refused() {
    let (_dir, _clock, store, first) = served_one();
    let err = store.rate(&rating(2, "satisfied"), keypad(2)).unwrap_err();
    assert!(matches!(err, RatingError::NoTicket { counter: 2 }), "{err}");
    // Counter 2 serves someone now; a device there naming counter 1's ticket.
    store.call_next(2, staff()).unwrap();
    store.start_serving(2, None, staff()).unwrap();
    let mut named = rating(2, "satisfied");
    named.ticket = Some(first);
    let err = store.rate(&named, keypad(2)).unwrap_err();
    assert!(
        matches!(
            err,
            RatingError::OtherCounter {
                counter: Some(1),
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.reason(), "other_counter");
    named.ticket = Some(TicketId(999));
    assert_eq!(
        store.rate(&named, keypad(2)).unwrap_err().reason(),
        "no_ticket"
    );
    assert!(rated_events(&store).is_empty());
}

#[test]
fn a_ticket_of_another_counter_is_refused_as_such_even_when_this_counter_is_idle() {
    let (_dir, _clock, store, first) = served_one();
    let mut named = rating(3, "satisfied");
    named.ticket = Some(first);
    let err = store.rate(&named, keypad(3)).unwrap_err();
    assert!(
        matches!(
            err,
            RatingError::OtherCounter {
                counter: Some(1),
                ..
            }
        ),
        "{err}"
    );
    // Named at its own counter, it is rated.
    named.counter = 1;
    assert_eq!(store.rate(&named, keypad(1)).unwrap().ticket, first);
    // Named again once rated: already rated.
    assert_eq!(
        store.rate(&named, keypad(1)).unwrap_err().reason(),
        "already_rated"
    );
}

#[test]
fn unknown_levels_and_sources_are_refused() {
    let (_dir, _clock, store, _) = served_one();
    let err = store.rate(&rating(1, "neutral"), keypad(1)).unwrap_err();
    assert_eq!(err.reason(), "unknown_level", "three levels by default");
    let mut bad = rating(1, "satisfied");
    bad.source = "fax".into();
    assert_eq!(
        store.rate(&bad, keypad(1)).unwrap_err().reason(),
        "bad_source"
    );
    assert!(rated_events(&store).is_empty());
}

#[test]
fn a_retry_with_the_same_key_is_answered_again_and_counted_once() {
    let (dir, clock, store, first) = served_one();
    let mut keyed = rating(1, "very_satisfied");
    keyed.key = Some("dev1-0007".into());
    assert!(!store.rate(&keyed, keypad(1)).unwrap().repeated);
    // The answer was lost; the counter moves on; the device retries later.
    store.call_next(1, staff()).unwrap();
    clock.advance(SignedDuration::from_secs(400));
    drop(store);
    let store = open(dir.path(), &every_day_open(), &clock);
    let again = store.rate(&keyed, keypad(1)).unwrap();
    assert!(again.repeated);
    assert_eq!(
        (again.ticket, again.level.as_str()),
        (first, "very_satisfied")
    );
    assert_eq!(rated_events(&store).len(), 1, "counted once");
}

#[test]
fn a_packed_day_keeps_its_ratings() {
    let (dir, clock, store, first) = served_one();
    store.rate(&rating(1, "unsatisfied"), keypad(1)).unwrap();
    clock.set(local(2026, 11, 27, 8, 0));
    store.roll_service_day().unwrap();
    let report = store.prune().unwrap();
    assert_eq!(report.packed_days, vec!["2026-11-26"]);
    drop(store);
    let store = open(dir.path(), &every_day_open(), &clock);
    let ticket = store.ticket(first).unwrap().unwrap();
    assert_eq!(ticket.rating.unwrap().level, "unsatisfied");
    // A new day: the old finish no longer takes ratings.
    assert_eq!(
        store
            .rate(&rating(1, "satisfied"), keypad(1))
            .unwrap_err()
            .reason(),
        "no_ticket"
    );
}

/// The phone page says whether a rating would be accepted now, by the same
/// rule: while served, after the finish within the window, never once
/// rated, too late or after the next call; the phone's rating goes through
/// that rule with its own ticket.
#[test]
fn the_phone_page_says_when_its_ticket_can_be_rated() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(local(2026, 11, 26, 8, 0));
    let store = open(dir.path(), &every_day_open(), &clock);
    let keys: Vec<_> = (0..3)
        .map(|_| {
            store
                .issue(&"ho-tich".into(), None, Actor::Button)
                .unwrap()
                .key
                .expect("a phone key")
        })
        .collect();
    let rateable = |n: usize| store.page_by_key(&keys[n]).unwrap().unwrap().1.rateable;
    assert!(!rateable(0), "waiting");
    store.call_next(1, staff()).unwrap();
    assert!(!rateable(0), "called, not served");
    let err = store.rate_by_key(&keys[0], "satisfied", None).unwrap_err();
    assert_eq!(err.reason(), "not_served");
    store.start_serving(1, None, staff()).unwrap();
    assert!(rateable(0), "being served");
    store.finish(1, None, staff()).unwrap();
    assert!(rateable(0), "just finished");
    clock.advance(SignedDuration::from_secs(181));
    assert!(!rateable(0), "the window passed");
    let err = store.rate_by_key(&keys[0], "satisfied", None).unwrap_err();
    assert_eq!(err.reason(), "too_late");

    // The second: finished, then the counter calls the third.
    store.call_next(1, staff()).unwrap();
    store.start_serving(1, None, staff()).unwrap();
    store.finish(1, None, staff()).unwrap();
    assert!(rateable(1));
    store.call_next(1, staff()).unwrap();
    assert!(!rateable(1), "the next number was called");
    assert_eq!(
        store
            .rate_by_key(&keys[1], "satisfied", None)
            .unwrap_err()
            .reason(),
        "next_called"
    );

    // The third, rated from its phone while served: once, then no more.
    store.start_serving(1, None, staff()).unwrap();
    let outcome = store
        .rate_by_key(&keys[2], "very_satisfied", Some("tap-1"))
        .unwrap()
        .expect("a live key");
    assert_eq!(outcome.level, "very_satisfied");
    let page = store.page_by_key(&keys[2]).unwrap().unwrap().1;
    assert!(!page.rateable);
    assert_eq!(page.rated.as_deref(), Some("very_satisfied"));
    match rated_events(&store).as_slice() {
        [EventKind::Rated { source, actor, .. }] => {
            assert_eq!(source, "phone");
            assert_eq!(actor, &Actor::Phone);
        }
        other => panic!("{other:?}"),
    }
    // An unknown key rates nothing.
    let unknown = queue_store::store::citizen::TicketKey::generate();
    assert!(store
        .rate_by_key(&unknown, "satisfied", None)
        .unwrap()
        .is_none());
}
