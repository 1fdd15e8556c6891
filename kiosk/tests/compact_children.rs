//! The maintenance step's compaction in child processes of the real
//! `kiosk` binary (`queue_store::store::compact::compact_in_children`, run
//! by `kiosk::daemon::run_scheduled_compaction`): the copy is made by
//! readers and a writer that end, and the store opens with every record
//! and goes on numbering; a child that fails, or hangs past its time
//! limit and is killed, leaves the store as it was; a compaction scheduled before a fresh start (not a re-execution) waits
//! for the next roll.

#[path = "../../queue-store/tests/store_support/mod.rs"]
mod store_support;

use std::path::Path;

use queue_store::clock::ManualClock;
use queue_store::store::compact;
use queue_store::store::CompactPolicy;
use store_support::{
    busy_store, fixture_center, leftovers, local, numbers_go_on_across_a_reopen, open, open_whole,
    state,
};

fn kiosk() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_kiosk"))
}

/// Compact at every step.
const ALWAYS: CompactPolicy = CompactPolicy {
    min_bytes: 0,
    factor: 0,
};

/// A compaction that failed: it says the store is used as it is, left
/// nothing behind, and the store opens as `before`.
fn refused_and_unchanged(
    err: &queue_store::store::StoreError,
    dir: &Path,
    clock: &ManualClock,
    before: &serde_json::Value,
) {
    assert!(
        err.to_string().contains("the store is used as it is"),
        "{err}"
    );
    let left = leftovers(dir);
    assert!(left.is_empty(), "{left:?}");
    let store = open(dir, &fixture_center(), clock);
    assert_eq!(state(&store), *before);
}

#[test]
fn a_copy_made_by_child_processes_opens_with_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(local(2026, 11, 20, 8, 0));
    let config = fixture_center();
    let store = busy_store(dir.path(), &clock);
    let before = state(&store);
    drop(store);

    // Small pieces: several readers, each going on where the last stopped.
    let done =
        compact::compact_in_children(dir.path(), 1024 * 1024, kiosk(), 2048, compact::CHILD_LIMIT)
            .unwrap();
    assert!(done.pieces > 3, "{done:?}");
    assert!(done.records > 100, "{done:?}");
    assert!(
        done.bytes_after > 0 && done.reader_peak_bytes > 0 && done.writer_peak_bytes > 0,
        "{done:?}"
    );
    assert_eq!(
        compact::last_compacted_bytes(dir.path()),
        Some(done.bytes_after)
    );
    assert!(dir.path().join(compact::READY).exists(), "committed");
    assert!(
        !dir.path().join(compact::STREAM).exists(),
        "the spool is removed"
    );
    // What a kill right after the commit would leave: the spool too.
    std::fs::write(dir.path().join(compact::STREAM), b"left by a kill").unwrap();

    let store = open_whole(dir.path(), &config, &clock, &before, "after the swap");
    numbers_go_on_across_a_reopen(store, dir.path(), &config, &clock);
}

#[test]
fn a_child_that_fails_leaves_the_store_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(local(2026, 11, 20, 8, 0));
    let store = busy_store(dir.path(), &clock);
    let before = state(&store);
    drop(store);

    // A binary that does not serve the children: no answer, no copy.
    let err = compact::compact_in_children(
        dir.path(),
        1024 * 1024,
        Path::new("/bin/true"),
        2048,
        compact::CHILD_LIMIT,
    )
    .unwrap_err();
    refused_and_unchanged(&err, dir.path(), &clock, &before);
}

#[test]
fn a_child_that_hangs_is_killed_and_the_store_stays_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(local(2026, 11, 20, 8, 0));
    let store = busy_store(dir.path(), &clock);
    let before = state(&store);
    drop(store);
    // A "binary" that never answers, as a child stuck in sled would.
    let stuck = dir.path().join("stuck.sh");
    std::fs::write(&stuck, "#!/bin/sh\nexec sleep 600\n").unwrap();
    let mut permissions = std::fs::metadata(&stuck).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&stuck, permissions).unwrap();

    let began = std::time::Instant::now();
    let err = compact::compact_in_children(
        dir.path(),
        1024 * 1024,
        &stuck,
        2048,
        std::time::Duration::from_secs(1),
    )
    .unwrap_err();
    assert!(
        began.elapsed() < std::time::Duration::from_secs(60),
        "killed after its limit, not waited for: {:?}",
        began.elapsed()
    );
    refused_and_unchanged(&err, dir.path(), &clock, &before);
}

#[test]
fn a_scheduled_compaction_waits_for_a_reexecuted_image() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(local(2026, 11, 20, 8, 0));
    let mut config = fixture_center();
    config.kiosk.data_dir = dir.path().to_owned();
    let store = busy_store(dir.path(), &clock);
    assert!(kiosk::daemon::schedule_compaction_if_due(&store, &CompactPolicy::default()).is_none());
    assert!(!dir.path().join(compact::DUE).exists());
    assert!(kiosk::daemon::schedule_compaction_if_due(&store, &ALWAYS).is_some());
    assert!(dir.path().join(compact::DUE).exists());
    let before = state(&store);
    drop(store);

    // This test is no re-executed kiosk: the request is dropped, nothing
    // is copied, and the store opens as it was.
    assert!(kiosk::daemon::run_scheduled_compaction(&config).is_none());
    assert!(!dir.path().join(compact::DUE).exists());
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );
    let store = open(dir.path(), &config, &clock);
    assert_eq!(state(&store), before);
}
