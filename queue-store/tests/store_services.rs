//! Tickets for a department's services (picked on the touch screen): the
//! service is kept on the ticket and its event, numbered with the
//! department, checked against the config, and reports break down by it.

#[path = "store_support/mod.rs"]
mod store_support;

use queue_protocol::{Actor, EventKind};
use queue_store::clock::ManualClock;
use queue_store::report::{from_store, ReportRequest};
use queue_store::store::{EventsSince, IssueError};
use store_support::{center, local, open};

#[test]
fn a_service_ticket_is_numbered_with_its_department_and_keeps_its_service() {
    let dir = tempfile::tempdir().unwrap();
    let config = center();
    let clock = ManualClock::new(local(2026, 11, 26, 8, 0));
    let store = open(dir.path(), &config, &clock);
    let button = store.issue(&"ho-tich".into(), None, Actor::Button).unwrap();
    let touch = store
        .issue_service_under(
            &config,
            &"ho-tich".into(),
            Some("khai-sinh"),
            None,
            Actor::Touch,
        )
        .unwrap();
    assert_eq!(button.ticket.label, "1001");
    assert_eq!(
        touch.ticket.label, "1002",
        "one counter for button and touch"
    );
    assert_eq!(touch.waiting_ahead, 1);
    assert_eq!(touch.ticket.service.as_deref(), Some("khai-sinh"));
    assert_eq!(button.ticket.service, None);

    // Durable: the stored ticket and its event carry the service.
    let stored = store.ticket(touch.ticket.id).unwrap().unwrap();
    assert_eq!(stored.service.as_deref(), Some("khai-sinh"));
    let EventsSince::Events(events) = store.events_since(0, 100).unwrap() else {
        panic!("no event was pruned");
    };
    let issued: Vec<(Option<String>, Actor)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TicketIssued { service, actor, .. } => {
                Some((service.clone(), actor.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        issued,
        [
            (None, Actor::Button),
            (Some("khai-sinh".to_string()), Actor::Touch)
        ]
    );
}

#[test]
fn an_unknown_service_or_a_refused_priority_uses_no_number() {
    let dir = tempfile::tempdir().unwrap();
    let config = center();
    let clock = ManualClock::new(local(2026, 11, 26, 8, 0));
    let store = open(dir.path(), &config, &clock);
    let err = store
        .issue_service_under(
            &config,
            &"ho-tich".into(),
            Some("ly-hon"),
            None,
            Actor::Touch,
        )
        .unwrap_err();
    assert!(matches!(err, IssueError::UnknownService { .. }), "{err}");
    // `ket-hon` turns priority off for itself.
    let err = store
        .issue_service_under(
            &config,
            &"ho-tich".into(),
            Some("ket-hon"),
            Some("nguoi-cao-tuoi"),
            Actor::Touch,
        )
        .unwrap_err();
    assert!(
        matches!(err, IssueError::PriorityNotOffered { .. }),
        "{err}"
    );
    let ok = store
        .issue_service_under(
            &config,
            &"ho-tich".into(),
            Some("khai-sinh"),
            Some("nguoi-cao-tuoi"),
            Actor::Touch,
        )
        .unwrap();
    assert_eq!(ok.ticket.label, "1001", "refusals used no number");
}

#[test]
fn the_report_by_service_counts_each_procedure_and_button_tickets_apart() {
    let dir = tempfile::tempdir().unwrap();
    let config = center();
    let clock = ManualClock::new(local(2026, 11, 26, 8, 0));
    let store = open(dir.path(), &config, &clock);
    let issue = |service: Option<&str>| {
        store
            .issue_service_under(&config, &"ho-tich".into(), service, None, Actor::Touch)
            .unwrap();
    };
    issue(Some("ket-hon"));
    issue(Some("khai-sinh"));
    issue(Some("khai-sinh"));
    issue(None);
    store.issue(&"dat-dai".into(), None, Actor::Button).unwrap();
    let request = ReportRequest::parse("2026-11-26", "2026-11-26", Some("service"), false).unwrap();
    let report = from_store(&store, &config, request).unwrap();
    let rows: Vec<(&str, &str, Option<u32>)> = report
        .rows
        .iter()
        .map(|r| (r.key.as_str(), r.name.as_str(), r.issued))
        .collect();
    assert_eq!(
        rows,
        [
            ("ho-tich", "Phòng ho-tich", Some(1)),
            ("ho-tich/khai-sinh", "Phòng ho-tich – Khai sinh", Some(2)),
            ("ho-tich/ket-hon", "Phòng ho-tich – Kết hôn", Some(1)),
            ("dat-dai", "Phòng dat-dai", Some(1)),
        ]
    );
    assert_eq!(report.total.issued, Some(5));
}

#[test]
fn a_call_carries_the_service_name_to_the_boards_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = center();
    let clock = ManualClock::new(local(2026, 11, 26, 8, 0));
    let store = open(dir.path(), &config, &clock);
    let issue = |service: Option<&str>| {
        store
            .issue_service_under(&config, &"ho-tich".into(), service, None, Actor::Touch)
            .unwrap()
            .ticket
    };
    let plain = issue(None);
    let birth = issue(Some("khai-sinh"));
    let marriage = issue(Some("ket-hon"));
    let keypad = |counter| Actor::Keypad { counter };
    assert_eq!(store.call_next(1, keypad(1)).unwrap().id, plain.id);
    assert_eq!(store.call_next(2, keypad(2)).unwrap().id, birth.id);
    store.finish(1, None, keypad(1)).unwrap();
    store
        .call_chosen(1, marriage.id, "Hẹn trước", keypad(1))
        .unwrap();

    let EventsSince::Events(events) = store.events_since(0, 100).unwrap() else {
        panic!("no event was pruned");
    };
    let calls: Vec<(String, Option<String>)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Called { label, service, .. }
            | EventKind::CalledChosen { label, service, .. } => {
                Some((label.clone(), service.clone()))
            }
            _ => None,
        })
        .collect();
    let expected = [
        ("1001".to_string(), None),
        ("1002".to_string(), Some("Khai sinh".to_string())),
        ("1003".to_string(), Some("Kết hôn".to_string())),
    ];
    assert_eq!(calls, expected, "the Vietnamese name, not the id");

    let shown = |store: &queue_store::store::Store| {
        let snapshot = store.snapshot();
        let current: Vec<Option<String>> = snapshot
            .counters
            .iter()
            .map(|c| c.current.as_ref().and_then(|t| t.service.clone()))
            .collect();
        let last: Vec<Option<String>> = snapshot
            .last_calls
            .iter()
            .map(|c| c.service.clone())
            .collect();
        (current, last)
    };
    let before = shown(&store);
    assert_eq!(
        before,
        (
            vec![Some("Kết hôn".into()), Some("Khai sinh".into()), None],
            vec![Some("Kết hôn".into()), Some("Khai sinh".into()), None],
        )
    );
    drop(store);
    let store = open(dir.path(), &config, &clock);
    assert_eq!(shown(&store), before, "the recent calls are read back");
}
