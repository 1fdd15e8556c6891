//! The display state reducer: exactly once, live vs replayed, recall,
//! snapshot convergence, waiting counts, and the view built from it.

use display_daemon::state::{
    classify, BoardState, Delivery, Effect, LinkStatus, ANNOUNCE_MAX_AGE_MS, LAST_CALLS,
};
use display_daemon::view::{BoardView, ViewOptions};
use queue_protocol::{
    Actor, CallInfo, CounterNow, CounterStatus, CurrentTicket, DepartmentQueue, Event, EventKind,
    Snapshot, TicketId,
};

const T0: i64 = 1_760_000_000_000;

fn ev(seq: u64, kind: EventKind) -> Event {
    Event {
        seq,
        at_ms: T0 + seq as i64 * 1000,
        kind,
    }
}

fn issued(seq: u64, ticket: u64, department: &str) -> Event {
    ev(
        seq,
        EventKind::TicketIssued {
            ticket: TicketId(ticket),
            service_day: "2025-10-09".into(),
            department: department.into(),
            number: 1000 + ticket as u32,
            label: format!("{}", 1000 + ticket),
            priority: None,
            waiting_ahead: 0,
            actor: Actor::Button,
            service: None,
        },
    )
}

fn called(seq: u64, ticket: u64, counter: u16, recall: bool) -> Event {
    ev(
        seq,
        EventKind::Called {
            ticket: TicketId(ticket),
            label: format!("{}", 1000 + ticket),
            counter,
            department: "ho-tich".into(),
            recall,
            actor: Actor::Staff { name: "lan".into() },
            service: None,
        },
    )
}

fn finished(seq: u64, ticket: u64, counter: u16) -> Event {
    ev(
        seq,
        EventKind::Finished {
            ticket: TicketId(ticket),
            label: format!("{}", 1000 + ticket),
            counter,
            department: "ho-tich".into(),
            actor: Actor::System,
        },
    )
}

fn announces(effects: &[Effect]) -> Vec<(String, u16)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Announce { label, counter } => Some((label.clone(), *counter)),
            _ => None,
        })
        .collect()
}

fn snapshot(last_seq: u64) -> Snapshot {
    Snapshot {
        last_seq,
        center: "Trung tâm Hành chính công quận Phú Xuân".into(),
        time_zone: "Asia/Ho_Chi_Minh".into(),
        service_day: Some("2025-10-09".into()),
        counters: vec![
            CounterNow {
                counter: 1,
                name: "Quầy 1".into(),
                current: None,
                status: CounterStatus::Paused {
                    reason: "Họp".into(),
                },
                officer: Some("Nguyễn Thị Lan".into()),
                parked: Vec::new(),
            },
            CounterNow {
                counter: 3,
                name: "Quầy 3".into(),
                current: Some(CurrentTicket {
                    ticket: TicketId(5),
                    label: "1005".into(),
                    department: "ho-tich".into(),
                    serving: true,
                    called_at_ms: T0,
                    service: None,
                }),
                status: CounterStatus::Open,
                officer: None,
                parked: Vec::new(),
            },
        ],
        departments: vec![
            DepartmentQueue {
                department: "ho-tich".into(),
                name: "Hộ tịch".into(),
                waiting: 4,
                priority_waiting: 1,
                estimated_wait_secs: 600,
                issued_today: 9,
            },
            DepartmentQueue {
                department: "dat-dai".into(),
                name: "Đất đai".into(),
                waiting: 2,
                priority_waiting: 0,
                estimated_wait_secs: 300,
                issued_today: 2,
            },
        ],
        last_calls: vec![CallInfo {
            ticket: TicketId(5),
            label: "1005".into(),
            counter: 3,
            department: "ho-tich".into(),
            at_ms: T0,
            recall: false,
            service: None,
        }],
        rating_levels: vec![],
    }
}

fn waiting(state: &BoardState, department: &str) -> u32 {
    state
        .departments
        .iter()
        .find(|d| d.department == department)
        .map_or(0, |d| d.waiting)
}

#[test]
fn a_live_call_is_shown_and_announced_once() {
    let mut state = BoardState::new();
    state.apply_snapshot(snapshot(10));
    let effects = state.apply(&called(11, 6, 1, false), Delivery::Live);
    assert_eq!(announces(&effects), vec![("1006".to_owned(), 1)]);
    assert!(effects.contains(&Effect::CounterChanged {
        counter: 1,
        label: Some("1006".into())
    }));
    assert_eq!(state.current_label(1), Some("1006"));
    assert_eq!(state.last_calls[0].label, "1006");
    assert_eq!(state.latest_call_seq, 11);
    assert_eq!(state.last_seq, 11);
}

#[test]
fn every_event_applies_exactly_once() {
    let mut state = BoardState::new();
    state.apply_snapshot(snapshot(10));
    let events = [issued(11, 7, "ho-tich"), called(12, 6, 1, false)];
    for e in &events {
        state.apply(e, Delivery::Live);
    }
    let after_once = state.clone();
    // The same events again (a replay after reconnect, a duplicate send),
    // and one older than the snapshot: nothing changes, nothing is said.
    for e in events.iter().chain([&called(9, 1, 2, false)]) {
        assert!(state.apply(e, Delivery::Live).is_empty());
    }
    assert_eq!(state, after_once);
    assert_eq!(waiting(&state, "ho-tich"), 4 + 1 - 1);
}

#[test]
fn replayed_calls_are_shown_but_not_announced() {
    let mut state = BoardState::new();
    state.apply_snapshot(snapshot(10));
    let effects = state.apply(&called(11, 6, 1, false), Delivery::Replayed);
    assert!(announces(&effects).is_empty());
    assert_eq!(state.current_label(1), Some("1006"));
    assert_eq!(state.last_calls[0].label, "1006");
}

#[test]
fn classify_by_the_kiosk_clock() {
    assert_eq!(classify(T0, T0), Delivery::Live);
    assert_eq!(classify(T0, T0 + ANNOUNCE_MAX_AGE_MS), Delivery::Live);
    assert_eq!(
        classify(T0, T0 + ANNOUNCE_MAX_AGE_MS + 1),
        Delivery::Replayed
    );
    // An event stamped a little in the future (clock offset error) is live.
    assert_eq!(classify(T0 + 900, T0), Delivery::Live);
}

#[test]
fn a_recall_is_announced_again_and_moves_to_the_top() {
    let mut state = BoardState::new();
    state.apply_snapshot(snapshot(10));
    state.apply(&called(11, 6, 1, false), Delivery::Live);
    state.apply(&called(12, 7, 2, false), Delivery::Live);
    let effects = state.apply(&called(13, 6, 1, true), Delivery::Live);
    assert_eq!(announces(&effects), vec![("1006".to_owned(), 1)]);
    // Same number at the same counter: the LED board needs no update.
    assert!(!effects
        .iter()
        .any(|e| matches!(e, Effect::CounterChanged { .. })));
    let labels: Vec<&str> = state.last_calls.iter().map(|c| c.label.as_str()).collect();
    assert_eq!(labels, ["1006", "1007", "1005"]);
    assert!(state.last_calls[0].recall);
    assert_eq!(state.latest_call_seq, 13);
    // A recall does not take the ticket from the waiting count again.
    assert_eq!(waiting(&state, "ho-tich"), 4 - 2);
}

#[test]
fn snapshot_converges_and_announces_nothing() {
    let mut state = BoardState::new();
    state.apply_snapshot(snapshot(10));
    state.apply(&called(11, 6, 1, false), Delivery::Live);
    state.apply(&issued(12, 8, "dat-dai"), Delivery::Live);
    // The kiosk sends a fresh snapshot after a gap: it replaces everything.
    let mut fresh = snapshot(40);
    fresh.counters[0].current = Some(CurrentTicket {
        ticket: TicketId(9),
        label: "1009".into(),
        department: "ho-tich".into(),
        serving: false,
        called_at_ms: T0 + 30_000,
        service: None,
    });
    fresh.departments[1].waiting = 0;
    let effects = state.apply_snapshot(fresh);
    assert!(announces(&effects).is_empty());
    assert_eq!(
        effects,
        vec![Effect::CounterChanged {
            counter: 1,
            label: Some("1009".into())
        }]
    );
    assert_eq!(state.last_seq, 40);
    assert_eq!(state.current_label(1), Some("1009"));
    assert_eq!(waiting(&state, "dat-dai"), 0);
    assert_eq!(state.latest_call_seq, 0, "snapshot calls do not flash");
    // Events the snapshot already covers are ignored; the next one applies.
    assert!(state
        .apply(&called(40, 2, 1, false), Delivery::Live)
        .is_empty());
    assert_eq!(
        announces(&state.apply(&called(41, 10, 3, false), Delivery::Live)).len(),
        1
    );
}

#[test]
fn an_identical_snapshot_keeps_the_highlight() {
    let mut state = BoardState::new();
    state.apply_snapshot(snapshot(10));
    state.apply(&called(11, 6, 1, false), Delivery::Live);
    let mut same = snapshot(11);
    same.counters[0].current = Some(CurrentTicket {
        ticket: TicketId(6),
        label: "1006".into(),
        department: "ho-tich".into(),
        serving: false,
        called_at_ms: T0 + 11_000,
        service: None,
    });
    same.last_calls.insert(0, state.last_calls[0].clone());
    let effects = state.apply_snapshot(same);
    assert!(effects.is_empty(), "{effects:?}");
    assert_eq!(state.latest_call_seq, 11);
}

#[test]
fn counters_clear_on_finish_no_show_and_transfer() {
    let mut state = BoardState::new();
    state.apply_snapshot(snapshot(10));
    let effects = state.apply(&finished(11, 5, 3), Delivery::Live);
    assert_eq!(
        effects,
        vec![Effect::CounterChanged {
            counter: 3,
            label: None
        }]
    );
    assert_eq!(state.current_label(3), None);
    state.apply(&called(12, 6, 3, false), Delivery::Live);
    state.apply(
        &ev(
            13,
            EventKind::Transferred {
                ticket: TicketId(6),
                label: "1006".into(),
                from_department: "ho-tich".into(),
                to_department: "dat-dai".into(),
                from_counter: Some(3),
                to_counter: None,
                actor: Actor::Staff { name: "lan".into() },
            },
        ),
        Delivery::Live,
    );
    assert_eq!(state.current_label(3), None);
    assert_eq!(waiting(&state, "ho-tich"), 3);
    assert_eq!(waiting(&state, "dat-dai"), 3);
    state.apply(&called(14, 6, 2, false), Delivery::Live);
    assert_eq!(waiting(&state, "ho-tich"), 2, "first call after a transfer");
    state.apply(
        &ev(
            15,
            EventKind::NoShow {
                ticket: TicketId(6),
                label: "1006".into(),
                counter: 2,
                department: "dat-dai".into(),
                actor: Actor::Keypad { counter: 2 },
            },
        ),
        Delivery::Live,
    );
    assert_eq!(state.current_label(2), None);
}

#[test]
fn serving_and_cancel_and_new_day() {
    let mut state = BoardState::new();
    state.apply_snapshot(snapshot(10));
    state.apply(&called(11, 6, 1, false), Delivery::Live);
    state.apply(
        &ev(
            12,
            EventKind::ServingStarted {
                ticket: TicketId(6),
                label: "1006".into(),
                counter: 1,
                department: "ho-tich".into(),
                actor: Actor::Staff { name: "lan".into() },
            },
        ),
        Delivery::Live,
    );
    assert!(state.counters[&1].as_ref().unwrap().serving);
    // Cancelling a waiting ticket lowers the waiting count.
    state.apply(
        &ev(
            13,
            EventKind::Cancelled {
                ticket: TicketId(20),
                label: "1020".into(),
                department: "dat-dai".into(),
                reason: "asked".into(),
                actor: Actor::System,
            },
        ),
        Delivery::Live,
    );
    assert_eq!(waiting(&state, "dat-dai"), 1);
    let effects = state.apply(
        &ev(
            14,
            EventKind::ServiceDayStarted {
                service_day: "2025-10-10".into(),
                previous: Some("2025-10-09".into()),
            },
        ),
        Delivery::Live,
    );
    assert_eq!(effects.len(), 2, "counters 1 and 3 blanked: {effects:?}");
    assert!(state.last_calls.is_empty());
    assert_eq!(waiting(&state, "ho-tich"), 0);
    assert_eq!(state.service_day.as_deref(), Some("2025-10-10"));
}

#[test]
fn gaps_are_counted_and_waiting_never_goes_negative() {
    let mut state = BoardState::new();
    state.apply_snapshot(snapshot(10));
    state.apply(&called(15, 1, 1, false), Delivery::Live);
    assert_eq!(state.gaps, 1);
    for (i, t) in (16..30).zip(30..) {
        state.apply(&called(i, t, 1, false), Delivery::Live);
    }
    assert_eq!(waiting(&state, "ho-tich"), 0);
    assert_eq!(state.last_calls.len(), LAST_CALLS);
}

#[test]
fn link_status_keeps_the_first_loss_time() {
    let mut state = BoardState::new();
    assert_eq!(state.link, LinkStatus::Connecting);
    state.set_lost(100);
    state.set_lost(200);
    assert_eq!(state.link, LinkStatus::Lost { since_ms: 100 });
    state.set_connected();
    assert_eq!(state.link, LinkStatus::Connected);
}

#[test]
fn the_view_filters_counters_and_marks_the_latest_call() {
    let mut state = BoardState::new();
    state.apply_snapshot(snapshot(10));
    state.apply(&called(11, 6, 1, false), Delivery::Live);
    let all = ViewOptions {
        mode: "hall-board",
        counters: vec![],
        focus_counter: None,
        chime: true,
        announcement: None,
    };
    let view = BoardView::new(&state, &all, 7);
    let latest = view.latest.as_ref().unwrap();
    assert_eq!(
        (latest.label.as_str(), latest.counter, latest.seq),
        ("1006", 1, 11)
    );
    assert_eq!(view.counters.len(), 2);
    let json = serde_json::to_value(&view).unwrap();
    assert_eq!(json["link"]["type"], "connecting");
    assert_eq!(json["counters"][1]["label"], "1005");

    let only3 = ViewOptions {
        mode: "counter",
        counters: vec![3, 4],
        focus_counter: Some(3),
        chime: false,
        announcement: Some("Giờ làm việc: 7:30–11:30".into()),
    };
    let view = BoardView::new(&state, &only3, 8);
    let shown: Vec<u16> = view.counters.iter().map(|c| c.counter).collect();
    assert_eq!(shown, [3, 4], "configured counters shown even when unknown");
    let latest = view.latest.as_ref().unwrap();
    assert_eq!((latest.label.as_str(), latest.seq), ("1005", 0));
    let json = serde_json::to_value(&view).unwrap();
    assert_eq!(json["announcement"], "Giờ làm việc: 7:30–11:30");
    assert_eq!(json["time_zone"], "Asia/Ho_Chi_Minh");
}

#[test]
fn citizens_see_names_not_ids() {
    let mut state = BoardState::new();
    // Before any snapshot, a department is known only by its id.
    state.apply(&issued(1, 1, "ho-tich"), Delivery::Live);
    assert_eq!(state.department_name("ho-tich"), "ho-tich");
    state.apply_snapshot(snapshot(1));
    assert_eq!(state.center, "Trung tâm Hành chính công quận Phú Xuân");
    assert_eq!(state.department_name("ho-tich"), "Hộ tịch");
    assert_eq!(state.department_name("dat-dai"), "Đất đai");
    let options = ViewOptions {
        mode: "hall-board",
        counters: vec![],
        focus_counter: None,
        chime: true,
        announcement: None,
    };
    let view = BoardView::new(&state, &options, 1);
    assert_eq!(view.center, "Trung tâm Hành chính công quận Phú Xuân");
    let counter3 = view.counters.iter().find(|c| c.counter == 3).unwrap();
    assert_eq!(counter3.department.as_deref(), Some("Hộ tịch"));
}

#[test]
fn counter_work_events_apply_exactly_once() {
    let mut state = BoardState::new();
    state.apply_snapshot(snapshot(10));
    // The snapshot's paused counter and its officer reach the view.
    let options = ViewOptions {
        mode: "hall-board",
        counters: Vec::new(),
        focus_counter: Some(1),
        chime: true,
        announcement: None,
    };
    let view = BoardView::new(&state, &options, 1);
    let tile = view.counters.iter().find(|c| c.counter == 1).unwrap();
    assert_eq!(tile.status, "paused");
    assert_eq!(tile.pause_reason.as_deref(), Some("Họp"));
    assert_eq!(tile.officer.as_deref(), Some("Nguyễn Thị Lan"));

    let opened = ev(
        11,
        EventKind::CounterStatusChanged {
            counter: 1,
            status: CounterStatus::Open,
            officer: Some("Lê Văn Hùng".into()),
            actor: Actor::Staff {
                name: "hung".into(),
            },
        },
    );
    let chosen = ev(
        12,
        EventKind::CalledChosen {
            ticket: TicketId(8),
            label: "1008".into(),
            counter: 1,
            department: "ho-tich".into(),
            reason: "Hẹn trước".into(),
            actor: Actor::Staff {
                name: "hung".into(),
            },
            service: None,
        },
    );
    let parked = ev(
        13,
        EventKind::Parked {
            ticket: TicketId(8),
            label: "1008".into(),
            counter: 1,
            department: "ho-tich".into(),
            actor: Actor::Staff {
                name: "hung".into(),
            },
        },
    );
    let back = ev(
        16,
        EventKind::BroughtBack {
            ticket: TicketId(2),
            label: "1002".into(),
            department: "ho-tich".into(),
            front: true,
            counter: 1,
            actor: Actor::Staff {
                name: "hung".into(),
            },
        },
    );
    assert!(state.apply(&opened, Delivery::Live).is_empty());
    assert_eq!(state.counter_info(1).status, CounterStatus::Open);
    assert_eq!(
        state.counter_info(1).officer.as_deref(),
        Some("Lê Văn Hùng")
    );
    // A chosen call is shown and announced like a first call.
    let effects = state.apply(&chosen, Delivery::Live);
    assert_eq!(announces(&effects), vec![("1008".to_owned(), 1)]);
    assert_eq!(state.current_label(1), Some("1008"));
    assert_eq!(waiting(&state, "ho-tich"), 3);
    // Parking clears the counter; the waiting count does not change.
    let effects = state.apply(&parked, Delivery::Live);
    assert!(effects.contains(&Effect::CounterChanged {
        counter: 1,
        label: None
    }));
    assert_eq!(state.current_label(1), None);
    assert_eq!(waiting(&state, "ho-tich"), 3);
    // Recalled from the parked list: shown and announced again.
    let effects = state.apply(&called(15, 8, 1, true), Delivery::Live);
    assert_eq!(announces(&effects), vec![("1008".to_owned(), 1)]);
    assert_eq!(waiting(&state, "ho-tich"), 3);
    state.apply(&back, Delivery::Live);
    assert_eq!(waiting(&state, "ho-tich"), 4);
    // Replayed again: nothing changes, nothing is said.
    let after_once = state.clone();
    for e in [&opened, &chosen, &parked, &back, &called(15, 8, 1, true)] {
        assert!(state.apply(e, Delivery::Live).is_empty());
    }
    assert_eq!(state, after_once);
}

#[test]
fn a_call_of_a_ticket_with_a_service_shows_the_service_under_the_number() {
    let long = "Đăng ký kết hôn có yếu tố nước ngoài";
    let mut state = BoardState::new();
    let mut first = snapshot(10);
    if let Some(current) = first.counters[1].current.as_mut() {
        current.service = Some("Khai sinh".into());
    }
    state.apply_snapshot(first);
    let mut call = called(11, 6, 1, false);
    if let EventKind::Called { service, .. } = &mut call.kind {
        *service = Some(long.into());
    }
    let effects = state.apply(&call, Delivery::Live);
    assert_eq!(
        announces(&effects),
        [("1006".to_string(), 1)],
        "the voice is unchanged"
    );
    let options = ViewOptions {
        mode: "hall-board",
        counters: vec![],
        focus_counter: None,
        chime: true,
        announcement: None,
    };
    let view = BoardView::new(&state, &options, 1);
    let latest = view.latest.as_ref().unwrap();
    assert_eq!(
        (latest.label.as_str(), latest.service.as_deref()),
        ("1006", Some(long))
    );
    let tiles: Vec<(u16, Option<&str>)> = view
        .counters
        .iter()
        .map(|c| (c.counter, c.service.as_deref()))
        .collect();
    assert_eq!(tiles, [(1, Some(long)), (3, Some("Khai sinh"))]);
    let json = serde_json::to_value(&view).unwrap();
    assert_eq!(json["latest"]["service"], long);
    assert_eq!(json["last_calls"][0]["service"], long);

    // The next call at counter 1 is a button ticket: no service is left over.
    state.apply(&finished(12, 6, 1), Delivery::Live);
    state.apply(&called(13, 7, 1, false), Delivery::Live);
    let view = BoardView::new(&state, &options, 2);
    assert_eq!(view.latest.as_ref().unwrap().service, None);
    assert_eq!(view.counters[0].service, None);
    assert_eq!(
        serde_json::to_value(&view).unwrap()["last_calls"][1]["service"],
        long,
        "the earlier call keeps its service in the list"
    );
}
