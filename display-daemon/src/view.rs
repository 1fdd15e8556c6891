//! What the local pages receive: the [`BoardState`] cut down to what this
//! display shows, as JSON.
//!
//! The daemon sends a [`BoardView`] on its own `/stream` after every change
//! and on `/state`; the pages (`assets/`) render it. It owns the filtering by
//! the configured counters and the page options (mode, focus counter,
//! chime), not the state itself.

use kiosk_config::{DisplayConfig, DisplayMode};
use queue_protocol::{CallInfo, CounterStatus};
use serde::Serialize;

use crate::state::{BoardState, DepartmentWaiting, KeypadFeedback, LinkStatus};

/// The parts of the config the view needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewOptions {
    /// `hall-board`, `counter` or `terminal`.
    pub mode: &'static str,
    /// Counters shown; empty shows all.
    pub counters: Vec<u16>,
    /// The counter a counter display shows large.
    pub focus_counter: Option<u16>,
    /// Whether the page plays its own chime on a new call. Off when the
    /// daemon's voice already plays one before the announcement.
    pub chime: bool,
    /// The line scrolling along the bottom of the hall board, if any.
    pub announcement: Option<String>,
}

impl ViewOptions {
    /// Options from a display config.
    pub fn from_config(config: &DisplayConfig) -> Self {
        let mode = match config.mode {
            DisplayMode::HallBoard => "hall-board",
            DisplayMode::Counter => "counter",
            DisplayMode::Terminal => "terminal",
        };
        let focus_counter = config
            .keypad
            .as_ref()
            .map(|k| k.counter)
            .or_else(|| config.counters.first().copied());
        Self {
            mode,
            counters: config.counters.clone(),
            focus_counter,
            chime: !(config.voice.enabled && config.voice.chime),
            announcement: config.announcement.clone(),
        }
    }

    /// Whether `counter` is shown.
    pub fn shows(&self, counter: u16) -> bool {
        self.counters.is_empty() || self.counters.contains(&counter)
    }
}

/// One counter tile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CounterView {
    /// Counter number.
    pub counter: u16,
    /// The number called or served there.
    pub label: Option<String>,
    /// Its department.
    pub department: Option<String>,
    /// The Vietnamese name of its service (procedure), shown under the
    /// number; `None` for a ticket without one.
    pub service: Option<String>,
    /// Whether service started.
    pub serving: bool,
    /// `open`, `paused` or `closed`.
    pub status: &'static str,
    /// Why it is paused ("Họp").
    pub pause_reason: Option<String>,
    /// The officer's display name, when known.
    pub officer: Option<String>,
}

impl CounterView {
    fn with_info(mut self, state: &BoardState) -> Self {
        let info = state.counter_info(self.counter);
        self.status = info.status.name();
        self.pause_reason = match info.status {
            CounterStatus::Paused { reason } => Some(reason),
            _ => None,
        };
        self.officer = info.officer;
        self
    }
}

/// The newest call, highlighted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LatestView {
    /// Ticket label.
    pub label: String,
    /// Counter.
    pub counter: u16,
    /// Department.
    pub department: String,
    /// The Vietnamese name of its service, shown under the number.
    pub service: Option<String>,
    /// Whether it was a recall.
    pub recall: bool,
    /// Sequence number of the call event (0 when known from a snapshot);
    /// pages flash and chime when it grows.
    pub seq: u64,
}

/// The JSON the pages get.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BoardView {
    /// Increases with every change in this daemon process.
    pub version: u64,
    /// The center's name.
    pub center: String,
    /// The center's IANA time zone for the clock and date; empty when the
    /// kiosk did not say (the page then uses the machine's zone).
    pub time_zone: String,
    /// The display's mode.
    pub mode: &'static str,
    /// The link to the kiosk.
    pub link: LinkStatus,
    /// The service day.
    pub service_day: Option<String>,
    /// Counter tiles, by number.
    pub counters: Vec<CounterView>,
    /// The counter a counter display shows.
    pub focus_counter: Option<u16>,
    /// The newest call shown.
    pub latest: Option<LatestView>,
    /// Recent calls shown, newest first.
    pub last_calls: Vec<CallInfo>,
    /// Waiting count per department.
    pub departments: Vec<DepartmentWaiting>,
    /// The answer to the last keypad action.
    pub keypad: Option<KeypadFeedback>,
    /// Whether the page chimes on a new call.
    pub chime: bool,
    /// The scrolling line of the hall board, if configured.
    pub announcement: Option<String>,
}

impl BoardView {
    /// The view of `state` for a display with `options`.
    pub fn new(state: &BoardState, options: &ViewOptions, version: u64) -> Self {
        let mut counters: Vec<CounterView> = state
            .counters
            .iter()
            .filter(|(n, _)| options.shows(**n))
            .map(|(n, current)| CounterView {
                counter: *n,
                label: current.as_ref().map(|c| c.label.clone()),
                department: current
                    .as_ref()
                    .map(|c| state.department_name(&c.department).to_owned()),
                service: current.as_ref().and_then(|c| c.service.clone()),
                serving: current.as_ref().is_some_and(|c| c.serving),
                status: "open",
                pause_reason: None,
                officer: None,
            })
            .map(|c| c.with_info(state))
            .collect();
        for n in &options.counters {
            if !state.counters.contains_key(n) {
                counters.push(
                    CounterView {
                        counter: *n,
                        label: None,
                        department: None,
                        service: None,
                        serving: false,
                        status: "open",
                        pause_reason: None,
                        officer: None,
                    }
                    .with_info(state),
                );
            }
        }
        counters.sort_by_key(|c| c.counter);
        let last_calls: Vec<CallInfo> = state
            .last_calls
            .iter()
            .filter(|c| options.shows(c.counter))
            .cloned()
            .collect();
        let latest = last_calls.first().map(|c| LatestView {
            label: c.label.clone(),
            counter: c.counter,
            department: state.department_name(&c.department).to_owned(),
            service: c.service.clone(),
            recall: c.recall,
            seq: if state.last_calls.first() == Some(c) {
                state.latest_call_seq
            } else {
                0
            },
        });
        Self {
            version,
            center: state.center.clone(),
            time_zone: state.time_zone.clone(),
            mode: options.mode,
            link: state.link,
            service_day: state.service_day.clone(),
            counters,
            focus_counter: options.focus_counter,
            latest,
            last_calls,
            departments: state.departments.clone(),
            keypad: state.keypad.clone(),
            chime: options.chime,
            announcement: options.announcement.clone(),
        }
    }
}
