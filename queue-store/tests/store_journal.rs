//! The journal in front of sled (`store::journal`): what sled had not
//! written when the process died comes back from the journal, a record cut
//! short by the cut is left out (it was never acknowledged), and another
//! store's journal is never applied.
//!
//! "What sled had not written" is made exactly: the sled files are copied
//! right after an opening (the journal is empty then, sled synced), the
//! store works on, and the copy gets the journal as it was at the end.

mod store_support;

use std::path::Path;

use queue_protocol::Actor;
use queue_store::clock::ManualClock;
use queue_store::store::journal;
use queue_store::store::{Store, StoreOptions};
use store_support::{
    copy_dir, fixture_center, journal_record_ends, morning, open, sled_image, state,
};

/// The open tickets as (department, number), in order.
fn open_numbers(store: &Store) -> Vec<(String, u32)> {
    let mut numbers: Vec<(String, u32)> = store
        .open_tickets()
        .into_iter()
        .map(|t| (t.issued_department, t.number))
        .collect();
    numbers.sort();
    numbers
}

fn pair(department: &str, number: u32) -> (String, u32) {
    (department.to_owned(), number)
}

fn staff() -> Actor {
    Actor::Staff { name: "lan".into() }
}

/// A store with one ticket from an earlier run, reopened (the journal
/// starts empty): the sled image of that moment goes to `image`. Then two
/// more tickets and a call, and the store is closed.
fn store_and_image(live: &Path, image: &Path, clock: &ManualClock) {
    let config = fixture_center();
    let store = open(live, &config, clock);
    store.issue(&"ho-tich".into(), None, Actor::Button).unwrap();
    drop(store);
    let store = open(live, &config, clock);
    sled_image(live, image);
    store.issue(&"ho-tich".into(), None, Actor::Button).unwrap();
    store.issue(&"dat-dai".into(), None, Actor::Button).unwrap();
    store.call_next(1, staff()).unwrap();
}

#[test]
fn what_sled_had_not_written_comes_back_from_the_journal() {
    let tmp = tempfile::tempdir().unwrap();
    let (live, image) = (tmp.path().join("live"), tmp.path().join("image"));
    let clock = ManualClock::new(morning());
    store_and_image(&live, &image, &clock);
    let config = fixture_center();

    // The image alone is the store of before: one ticket.
    let bare = tmp.path().join("bare");
    copy_dir(&image, &bare);
    let store = open(&bare, &config, &clock);
    assert_eq!(open_numbers(&store), [pair("ho-tich", 1001)], "the image");
    drop(store);

    // With the journal it is the store as it was closed.
    let cut = tmp.path().join("cut");
    copy_dir(&image, &cut);
    std::fs::copy(live.join(journal::FILE), cut.join(journal::FILE)).unwrap();
    let recovered = open(&cut, &config, &clock);
    let whole = open(&live, &config, &clock);
    assert_eq!(state(&recovered), state(&whole));
    let next = recovered
        .issue(&"ho-tich".into(), None, Actor::Button)
        .unwrap();
    assert_eq!(next.ticket.number, 1003, "numbering goes on after 1002");
}

#[test]
fn a_record_torn_by_the_cut_is_left_out_and_its_number_is_issued_again() {
    let tmp = tempfile::tempdir().unwrap();
    let (live, image) = (tmp.path().join("live"), tmp.path().join("image"));
    let clock = ManualClock::new(morning());
    store_and_image(&live, &image, &clock);
    let config = fixture_center();
    let mut bytes = std::fs::read(live.join(journal::FILE)).unwrap();
    let ends = journal_record_ends(&bytes);
    assert_eq!(
        ends.len(),
        3,
        "one record per operation: two issues, a call"
    );
    // The second issue's record, its last byte never written.
    let cut_at = ends[1] - 1;
    bytes[cut_at] ^= 0xff;
    bytes[ends[1]..].fill(0);

    let cut = tmp.path().join("cut");
    copy_dir(&image, &cut);
    std::fs::write(cut.join(journal::FILE), &bytes).unwrap();
    let store = open(&cut, &config, &clock);
    assert_eq!(
        open_numbers(&store),
        [pair("ho-tich", 1001), pair("ho-tich", 1002)],
        "only the whole records are applied"
    );
    let again = store.issue(&"dat-dai".into(), None, Actor::Button).unwrap();
    assert_eq!(again.ticket.number, 1, "the torn issue never returned");
    // The journal was made afresh at its full size after the replay.
    assert_eq!(
        std::fs::metadata(cut.join(journal::FILE)).unwrap().len(),
        journal::BYTES
    );
}

#[test]
fn another_stores_journal_is_never_applied() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(morning());
    let (live, image) = (tmp.path().join("live"), tmp.path().join("image"));
    store_and_image(&live, &image, &clock);
    let (other, other_image) = (tmp.path().join("other"), tmp.path().join("other-image"));
    store_and_image(&other, &other_image, &clock);

    let mixed = tmp.path().join("mixed");
    copy_dir(&image, &mixed);
    std::fs::copy(other.join(journal::FILE), mixed.join(journal::FILE)).unwrap();
    let store = open(&mixed, &fixture_center(), &clock);
    assert_eq!(open_numbers(&store), [pair("ho-tich", 1001)], "the image");
}

#[test]
fn a_full_journal_starts_over_and_every_ticket_stays() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let clock = ManualClock::new(morning());
    let options = StoreOptions {
        cache_bytes: 1024 * 1024,
        journal_bytes: 4096,
        ..StoreOptions::default()
    };
    let store = Store::open(
        &dir,
        std::sync::Arc::new(fixture_center()),
        std::sync::Arc::new(clock.clone()),
        &options,
    )
    .unwrap();
    let mut numbers = Vec::new();
    for i in 0..60 {
        let department = if i % 2 == 0 { "ho-tich" } else { "dat-dai" };
        let issued = store
            .issue(&department.into(), None, Actor::Button)
            .unwrap();
        numbers.push((issued.ticket.issued_department, issued.ticket.number));
        // What a SIGKILL leaves: the files as they are now, sled's unwritten
        // buffers lost.
        if i % 20 == 19 {
            let copy = tmp.path().join(format!("at-{i}"));
            copy_dir(&dir, &copy);
            let reopened = open(&copy, &fixture_center(), &clock);
            let mut expected = numbers.clone();
            expected.sort();
            assert_eq!(open_numbers(&reopened), expected, "after {} issues", i + 1);
        }
    }
    assert_eq!(
        std::fs::metadata(dir.join(journal::FILE)).unwrap().len(),
        4096
    );
}

#[test]
fn a_journal_that_cannot_be_opened_stops_the_store_with_a_message_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let clock = ManualClock::new(morning());
    drop(open(&dir, &fixture_center(), &clock));
    std::fs::remove_file(dir.join(journal::FILE)).unwrap();
    std::fs::create_dir(dir.join(journal::FILE)).unwrap();
    let err = Store::open(
        &dir,
        std::sync::Arc::new(fixture_center()),
        std::sync::Arc::new(clock.clone()),
        &StoreOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("the journal file journal"), "{err}");
    assert!(err.contains(&dir.display().to_string()), "{err}");
    assert!(err.contains("is writable"), "{err}");
}
