//! Compaction (`Store::compact`, `store::compact`): the records copied into
//! fresh sled files and swapped in. A kill at any step of the copy leaves
//! the old store, one at any step of the swap leaves the new one, both
//! whole: every ticket with its number, a gap-free event log, numbering
//! going on without a reuse. The format fixtures keep opening through it.

mod store_support;

use std::path::Path;

use queue_store::clock::ManualClock;
use queue_store::store::compact::{self, Finished};
use queue_store::store::CompactPolicy;
use serde_json::Value;
use store_support::{
    busy_store, copy_dir, fixture_center, issue_fresh, leftovers, local,
    numbers_go_on_across_a_reopen, open, open_whole, state,
};

/// A handle of this process just dropped may hold sled's lock a moment.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

#[test]
fn a_compacted_store_opens_with_every_record_and_goes_on_numbering() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(local(2026, 11, 20, 8, 0));
    let config = fixture_center();
    let store = busy_store(dir.path(), &clock);
    let before = state(&store);
    let done = store.compact().unwrap();
    assert!(done.records > 100, "{done:?}");
    assert!(
        done.bytes_after > 0 && done.bytes_after <= done.bytes_before,
        "{done:?}"
    );
    assert_eq!(
        compact::last_compacted_bytes(dir.path()),
        Some(done.bytes_after)
    );
    drop(store);
    assert!(
        dir.path().join(compact::READY).exists(),
        "committed, not yet swapped"
    );

    let store = open_whole(dir.path(), &config, &clock, &before, "after the swap");
    numbers_go_on_across_a_reopen(store, dir.path(), &config, &clock);
}

#[test]
fn a_change_asked_of_the_compacted_handle_goes_to_the_compacted_store() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(local(2026, 11, 20, 8, 0));
    let config = fixture_center();
    let store = busy_store(dir.path(), &clock);
    store.compact().unwrap();
    // The same handle: it reopens the data directory (swapping the copy
    // in) before writing, so the ticket is not written to the old files.
    issue_fresh(&store);
    let expected = state(&store);
    assert!(!dir.path().join(compact::READY).exists());
    drop(store);
    let store = open(dir.path(), &config, &clock);
    assert_eq!(state(&store), expected);
}

#[test]
fn a_kill_at_any_step_of_the_copy_leaves_the_old_store_whole() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(local(2026, 11, 20, 8, 0));
    let config = fixture_center();
    let mut store = busy_store(dir.path(), &clock);
    let mut stopped_at = 0;
    for steps in 0.. {
        assert!(steps < 50, "the copy never finished");
        let before = state(&store);
        let finished = store.compact_stopping_after(steps).unwrap();
        // The kill: the handle goes without a word.
        drop(store);
        store = open_whole(
            dir.path(),
            &config,
            &clock,
            &before,
            &format!("after a kill at step {steps} of the copy"),
        );
        issue_fresh(&store);
        if finished {
            break;
        }
        stopped_at = steps;
    }
    assert!(stopped_at >= 4, "only {stopped_at} steps were cut");
}

#[test]
fn a_kill_at_any_step_of_the_swap_leaves_the_new_store_whole() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(local(2026, 11, 20, 8, 0));
    let config = fixture_center();
    let mut store = busy_store(dir.path(), &clock);
    let mut cut = 0;
    for steps in 0.. {
        assert!(steps < 50, "the swap never finished");
        let before = state(&store);
        store.compact().unwrap();
        drop(store);
        // The next opening swaps; a kill stops it after `steps` moves.
        let finished = compact::finish_stopping_after(dir.path(), LOCK_WAIT, steps).unwrap();
        store = open_whole(
            dir.path(),
            &config,
            &clock,
            &before,
            &format!("after a kill at step {steps} of the swap"),
        );
        issue_fresh(&store);
        if finished == Finished::Swapped {
            break;
        }
        assert_eq!(finished, Finished::Stopped);
        cut += 1;
    }
    // conf, db, blobs, a snapshot out; the same in; sync; two removals.
    assert!(cut >= 8, "only {cut} steps were cut");
}

#[test]
fn the_policy_asks_for_a_compaction_only_past_its_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(local(2026, 11, 20, 8, 0));
    let config = fixture_center();
    let store = busy_store(dir.path(), &clock);
    let bytes = store.file_bytes().unwrap();
    assert!(bytes > 0);
    let small = CompactPolicy {
        min_bytes: 1,
        factor: 2,
    };
    // sled's background writer may grow its files between the two reads.
    let due = store.compaction_due(&small).unwrap();
    assert!(due.is_some_and(|b| b >= bytes), "{due:?} < {bytes}");
    let large = CompactPolicy {
        min_bytes: bytes * 4,
        factor: 2,
    };
    assert_eq!(store.compaction_due(&large).unwrap(), None);
    let done = store.compact().unwrap();
    drop(store);
    let store = open(dir.path(), &config, &clock);
    // Right after it, the files are about the copy's size: not due until
    // they double.
    let now = store.file_bytes().unwrap();
    let policy = CompactPolicy {
        min_bytes: 1,
        factor: 2,
    };
    if now < done.bytes_after * 2 {
        assert_eq!(store.compaction_due(&policy).unwrap(), None);
    }
    std::fs::write(dir.path().join(compact::BYTES), "1").unwrap();
    let due = store.compaction_due(&policy).unwrap();
    assert!(due.is_some_and(|b| b >= now), "{due:?} < {now}");
}

#[test]
fn an_uncommitted_copy_is_discarded_and_the_files_of_others_stay() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(local(2026, 11, 20, 8, 0));
    let config = fixture_center();
    let store = busy_store(dir.path(), &clock);
    let before = state(&store);
    drop(store);
    // What a kill leaves in the middle of the copy, beside a file that is
    // not the store's (the accounts file lives here too).
    std::fs::create_dir_all(dir.path().join(compact::NEW_DIR).join("blobs")).unwrap();
    std::fs::write(dir.path().join(compact::NEW_DIR).join("db"), b"half a copy").unwrap();
    std::fs::write(dir.path().join("accounts.json"), b"{}").unwrap();
    assert_eq!(
        compact::finish(dir.path(), LOCK_WAIT).unwrap(),
        Finished::Discarded
    );
    // What a complete swap leaves when killed before its last removals.
    std::fs::create_dir_all(dir.path().join(compact::NEW_DIR)).unwrap();
    std::fs::create_dir_all(dir.path().join(compact::OLD_DIR)).unwrap();
    std::fs::write(dir.path().join(compact::OLD_DIR).join("db"), b"old").unwrap();
    assert_eq!(
        compact::finish(dir.path(), LOCK_WAIT).unwrap(),
        Finished::Cleaned
    );
    assert_eq!(
        compact::finish(dir.path(), LOCK_WAIT).unwrap(),
        Finished::Nothing
    );
    let store = open(dir.path(), &config, &clock);
    assert_eq!(state(&store), before);
    assert!(leftovers(dir.path()).is_empty());
    assert_eq!(
        std::fs::read(dir.path().join("accounts.json")).unwrap(),
        b"{}"
    );
}

#[test]
fn the_format_fixtures_open_the_same_after_a_compaction() {
    let config = fixture_center();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for name in ["v1", "v2", "v2-journal"] {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        copy_dir(&root.join(name).join("data"), &data);
        let expected: Value =
            serde_json::from_slice(&std::fs::read(root.join(name).join("expected.json")).unwrap())
                .unwrap();
        let now: jiff::Timestamp = serde_json::from_value(expected["now"].clone()).unwrap();
        let clock = ManualClock::new(now);
        let store = open(&data, &config, &clock);
        let before = state(&store);
        store.compact().unwrap();
        drop(store);
        let store = open(&data, &config, &clock);
        assert_eq!(state(&store), before, "{name}");
        issue_fresh(&store);
    }
}
