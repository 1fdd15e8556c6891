//! Shared helpers of the store tests: a center config built directly in Rust
//! (independent of the TOML parser) and a store on a temporary directory.

#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use jiff::civil::{date, time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use kiosk_config::*;
use queue_protocol::Actor;
use queue_store::clock::ManualClock;
use queue_store::store::{EventsSince, Store, StoreOptions};
use serde_json::{json, Value};

/// A department with a plain numeric block.
pub fn department(id: &str, first: u32, last: u32) -> Department {
    Department {
        id: DepartmentId(id.into()),
        name: format!("Phòng {id}"),
        block: NumberBlock {
            first,
            last,
            prefix: None,
            digits: 4,
            on_exhausted: Exhaustion::Refuse,
        },
        daily_cap: None,
        sessions: None,
        priority: true,
        button: None,
        priority_button: None,
        target_wait: None,
        services: Vec::new(),
    }
}

/// `ho-tich` with two procedures, the second without priority tickets.
pub fn ho_tich_with_services() -> Department {
    let mut d = department("ho-tich", 1001, 1999);
    d.services = vec![
        Service {
            id: "khai-sinh".into(),
            name: "Khai sinh".into(),
            priority: None,
            note: None,
        },
        Service {
            id: "ket-hon".into(),
            name: "Kết hôn".into(),
            priority: Some(false),
            note: Some("Hai bên nam nữ cùng có mặt".into()),
        },
    ];
    d
}

/// A counter serving `serves` in that order.
pub fn counter(number: u16, serves: &[&str]) -> Counter {
    Counter {
        number,
        name: format!("Quầy {number}"),
        serves: serves.iter().map(|d| DepartmentId((*d).into())).collect(),
    }
}

/// Phú Xuân-like center: day starts 04:00, open 07:30–11:30 and 13:30–17:00,
/// closed on Sundays; departments `ho-tich` (1001–1999) and `dat-dai`
/// (A001–A999); counters 1 (ho-tich), 2 (ho-tich then dat-dai), 3 (dat-dai).
pub fn center() -> CenterConfig {
    let mut dat_dai = department("dat-dai", 1, 999);
    dat_dai.block.prefix = Some("A".into());
    dat_dai.block.digits = 3;
    CenterConfig {
        center: Center {
            name: "Trung tâm Hành chính công quận Phú Xuân".into(),
            short_name: "TTHCC Phú Xuân".into(),
            address: "Huế".into(),
            timezone_name: "Asia/Ho_Chi_Minh".into(),
            timezone: TimeZone::get("Asia/Ho_Chi_Minh").expect("bundled tzdb"),
            day_starts_at: time(4, 0, 0, 0),
            sessions: vec![
                Session {
                    name: "Sáng".into(),
                    start: time(7, 30, 0, 0),
                    end: time(11, 30, 0, 0),
                },
                Session {
                    name: "Chiều".into(),
                    start: time(13, 30, 0, 0),
                    end: time(17, 0, 0, 0),
                },
            ],
            closed_weekdays: vec![Weekday::Sunday],
            closed_dates: vec![date(2026, 9, 2)],
            ticket_header: vec![],
            ticket_footer: vec![],
            status_url: None,
        },
        departments: vec![ho_tich_with_services(), dat_dai],
        counters: vec![
            counter(1, &["ho-tich"]),
            counter(2, &["ho-tich", "dat-dai"]),
            counter(3, &["dat-dai"]),
        ],
        kiosk: KioskSettings {
            data_dir: "/var/lib/kiosk".into(),
            listen: "127.0.0.1:0".parse().expect("literal address"),
            printer: PrinterSettings {
                transport: PrinterTransport::File {
                    path: "/dev/null".into(),
                },
                paper_width_mm: 80,
                dots_per_line: 576,
                cut: true,
                band_height: 24,
                mode: PrintMode::Raster,
                connect_timeout: Duration::from_secs(1),
                io_timeout: Duration::from_secs(1),
                status_interval: Duration::from_secs(5),
            },
            leds: StatusLeds::default(),
            press_interval: Duration::from_millis(800),
            priority: PriorityPolicy {
                classes: vec![
                    PriorityClass {
                        id: "nguoi-cao-tuoi".into(),
                        name: "Người cao tuổi".into(),
                    },
                    PriorityClass {
                        id: "khuyet-tat".into(),
                        name: "Người khuyết tật".into(),
                    },
                ],
                max_in_a_row: 2,
            },
            store_cache_bytes: 4 * 1024 * 1024,
            retention_days: 90,
            daily_reexec: false,
            tls: None,
            public: None,
            touch: TouchSettings {
                cccd: Some(CccdPriority {
                    class: "nguoi-cao-tuoi".into(),
                    min_age: 75,
                }),
                ..TouchSettings::default()
            },
        },
        ratings: RatingSettings::default(),
        counter_work: CounterWork::default(),
    }
}

/// An instant given as local time in Huế.
pub fn local(y: i16, m: i8, d: i8, h: i8, min: i8) -> Timestamp {
    date(y, m, d)
        .at(h, min, 0, 0)
        .to_zoned(TimeZone::get("Asia/Ho_Chi_Minh").expect("bundled tzdb"))
        .expect("valid local time")
        .timestamp()
}

/// Thursday 26 November 2026, 08:00 in Huế: open.
pub fn morning() -> Timestamp {
    local(2026, 11, 26, 8, 0)
}

/// Open a store in `dir` with `config` and `clock`. A store of the same
/// directory dropped just before may still hold sled's file lock for a
/// moment (sled 0.34 releases it from a background thread): wait for it.
pub fn open(dir: &Path, config: &CenterConfig, clock: &ManualClock) -> Store {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match Store::open(
            dir,
            Arc::new(config.clone()),
            Arc::new(clock.clone()),
            &StoreOptions {
                cache_bytes: 1024 * 1024,
                ..StoreOptions::default()
            },
        ) {
            Ok(store) => return store,
            Err(err)
                if err.to_string().contains("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(err) => panic!("store opens: {err}"),
        }
    }
}

/// The center of the format fixtures in `tests/fixtures/`: [`center`] open
/// every weekday, keeping three days of tickets.
pub fn fixture_center() -> CenterConfig {
    let mut config = center();
    config.kiosk.retention_days = 3;
    config.center.closed_weekdays.clear();
    config
}

/// Everything the store answers about its records.
pub fn state(store: &Store) -> Value {
    let after = store.oldest_kept_seq().saturating_sub(1);
    let events = match store.events_since(after, usize::MAX).unwrap() {
        EventsSince::Events(events) => events,
        EventsSince::Gap { oldest_kept_seq } => panic!("gap at {oldest_kept_seq}"),
    };
    for pair in events.windows(2) {
        assert_eq!(pair[0].seq + 1, pair[1].seq, "hole after {}", pair[0].seq);
    }
    assert_eq!(events.last().map(|e| e.seq), Some(store.last_seq()));
    let tickets: Vec<_> = store
        .service_days()
        .into_iter()
        .flat_map(|day| store.day_tickets(day).unwrap())
        .collect();
    json!({
        "snapshot": store.snapshot(),
        "last_seq": store.last_seq(),
        "oldest_kept_seq": store.oldest_kept_seq(),
        "days": store.service_days(),
        "summaries": store.summaries().unwrap(),
        "tickets": tickets,
        "events": events,
    })
}

/// Copy a directory tree (a fixture's data directory: opening a store
/// writes to it).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// sled's files of the data directory `from` (not the journal) copied
/// into a new directory `to`: what a cut leaves of sled when it had
/// written nothing since.
pub fn sled_image(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !queue_store::store::compact::is_sled_entry(&name) {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(&name));
        } else {
            std::fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

/// Where each record of a journal file's first epoch ends (the layout of
/// `queue_store::store::journal`, read independently of it): the records
/// from offset 0 that carry the first record's store id and epoch.
pub fn journal_record_ends(journal: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut at = 0;
    while journal.len() >= at + 28
        && &journal[at..at + 4] == b"QJ01"
        && journal[at + 4..at + 20] == journal[4..20]
    {
        let len = u32::from_le_bytes(journal[at + 20..at + 24].try_into().unwrap()) as usize;
        at += 28 + len;
        ends.push(at);
    }
    ends
}

/// A few service days of traffic (three packed, one live) in `dir`, for
/// the compaction tests.
pub fn busy_store(dir: &Path, clock: &ManualClock) -> Store {
    let config = fixture_center();
    let store = open(dir, &config, clock);
    for day in 0..4 {
        clock.set(local(2026, 11, 20 + day, 8, 0));
        store.roll_service_day().unwrap();
        store.prune().unwrap();
        for i in 0..30 {
            clock.advance(SignedDuration::from_secs(30));
            let department = if i % 3 == 0 { "dat-dai" } else { "ho-tich" };
            store
                .issue(&department.into(), None, Actor::Button)
                .unwrap();
            if i % 2 == 0 {
                let _ = store.call_next(1 + (i % 3) as u16, Actor::Staff { name: "lan".into() });
            }
        }
    }
    store
}

/// Issue one ticket and check its number was never used that day: the
/// numbering goes on after a compaction.
pub fn issue_fresh(store: &Store) {
    let before: Vec<u32> = store
        .day_tickets(store.service_day().unwrap())
        .unwrap()
        .iter()
        .filter(|t| t.issued_department == "ho-tich")
        .map(|t| t.number)
        .collect();
    let issued = store.issue(&"ho-tich".into(), None, Actor::Button).unwrap();
    assert!(
        !before.contains(&issued.ticket.number),
        "number {} used again",
        issued.ticket.number
    );
    assert_eq!(
        Some(&issued.ticket.number),
        before.iter().max().map(|n| n + 1).as_ref()
    );
}

/// What a compaction left in `dir` (its size hint aside).
pub fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("compact.") && n != queue_store::store::compact::BYTES)
        .collect()
}

/// Open the store in `dir` after a compaction, or a kill during one, and
/// check it is whole: no compaction file left, every record as in
/// `before` (`when` names the moment, for the messages). The store, to go
/// on with.
pub fn open_whole(
    dir: &Path,
    config: &CenterConfig,
    clock: &ManualClock,
    before: &Value,
    when: &str,
) -> Store {
    let store = open(dir, config, clock);
    let left = leftovers(dir);
    assert!(left.is_empty(), "{when}: {left:?}");
    assert_eq!(state(&store), *before, "{when}");
    store
}

/// Issue on `store` (numbering goes on without a reuse), close it and
/// check the next opening of `dir` answers the same.
pub fn numbers_go_on_across_a_reopen(
    store: Store,
    dir: &Path,
    config: &CenterConfig,
    clock: &ManualClock,
) {
    issue_fresh(&store);
    let after_issue = state(&store);
    drop(store);
    let store = open(dir, config, clock);
    assert_eq!(state(&store), after_issue);
}
