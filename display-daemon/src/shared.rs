//! The daemon's shared handle: what the link, the local pages, the outputs
//! and the keypad all see.
//!
//! It owns [`Shared`] (the [`BoardState`] behind a mutex, the published
//! [`BoardView`] JSON, the channel of effects to the outputs) and
//! [`Change`], what observers (the terminal view, tests) are told. Every
//! change of the state goes through [`Shared`], which publishes the new view
//! and the change together. Starting and stopping the tasks that use it is
//! [`crate::daemon`]'s; the rules of the state are [`crate::state`]'s.

use std::sync::{Arc, Mutex, MutexGuard};

use queue_protocol::Event;
use tokio::sync::{broadcast, mpsc, watch};

use crate::link::{LinkSink, LinkUpdate};
use crate::state::{BoardState, Delivery, Effect, KeypadFeedback, LinkStatus};
use crate::view::{BoardView, ViewOptions};

/// How many changes observers may fall behind before missing some.
const CHANGES_CAPACITY: usize = 4096;

/// One change, as observers (the terminal view, tests) see it.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A snapshot replaced the state.
    Snapshot {
        /// Its `last_seq`.
        last_seq: u64,
        /// Every counter's number after it.
        counters: Vec<(u16, Option<String>)>,
    },
    /// A new event was applied (events already applied are not reported).
    Event {
        /// The event.
        event: Event,
        /// Whether it was live.
        delivery: Delivery,
        /// What it caused.
        effects: Vec<Effect>,
    },
    /// The link's status changed.
    Link(LinkStatus),
    /// The kiosk answered a keypad action.
    Keypad(KeypadFeedback),
}

/// The daemon's shared handle; cheap to clone.
#[derive(Debug, Clone)]
pub struct Shared {
    /// Everything behind one `Arc`.
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The state and the version of its last published view.
    state: Mutex<(BoardState, u64)>,
    /// The latest view as JSON, for the pages.
    view: watch::Sender<Arc<str>>,
    /// Page options.
    options: ViewOptions,
    /// Effects for the outputs (voice, LED board), in order, never dropped.
    effects: mpsc::UnboundedSender<Effect>,
    /// Every change, for observers.
    changes: broadcast::Sender<Change>,
}

impl Shared {
    pub(crate) fn new(options: ViewOptions, effects: mpsc::UnboundedSender<Effect>) -> Self {
        let state = BoardState::new();
        let json = view_json(&state, &options, 0);
        let (view, _) = watch::channel(json);
        let (changes, _) = broadcast::channel(CHANGES_CAPACITY);
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new((state, 0)),
                view,
                options,
                effects,
                changes,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, (BoardState, u64)> {
        // A panic while holding the lock cannot leave the state half-updated
        // in a way worse than showing it: keep going.
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A copy of the current state.
    pub fn state(&self) -> BoardState {
        self.lock().0.clone()
    }

    /// The latest view JSON; `changed()` wakes on every change.
    pub fn view(&self) -> watch::Receiver<Arc<str>> {
        self.inner.view.subscribe()
    }

    /// Every change from now on.
    pub fn changes(&self) -> broadcast::Receiver<Change> {
        self.inner.changes.subscribe()
    }

    /// The page options.
    pub fn options(&self) -> &ViewOptions {
        &self.inner.options
    }

    /// Changes the state with `f`, publishes the new view, sends the effects
    /// to the outputs and the change to observers.
    fn change(&self, f: impl FnOnce(&mut BoardState) -> Option<(Change, Vec<Effect>)>) {
        let mut guard = self.lock();
        let Some((change, effects)) = f(&mut guard.0) else {
            return;
        };
        guard.1 += 1;
        let json = view_json(&guard.0, &self.inner.options, guard.1);
        self.inner.view.send_replace(json);
        for effect in effects {
            let _ = self.inner.effects.send(effect);
        }
        let _ = self.inner.changes.send(change);
    }

    /// Records the kiosk's answer to a keypad action.
    pub fn keypad_feedback(&self, feedback: KeypadFeedback) {
        self.change(|state| {
            state.keypad = Some(feedback.clone());
            Some((Change::Keypad(feedback), Vec::new()))
        });
    }
}

fn view_json(state: &BoardState, options: &ViewOptions, version: u64) -> Arc<str> {
    let view = BoardView::new(state, options, version);
    serde_json::to_string(&view)
        .unwrap_or_else(|e| format!("{{\"error\":\"cannot encode the view: {e}\"}}"))
        .into()
}

impl LinkSink for Shared {
    fn last_seq(&self) -> u64 {
        self.lock().0.last_seq
    }

    fn update(&mut self, update: LinkUpdate) {
        self.change(|state| match update {
            LinkUpdate::Connected => {
                if state.link == LinkStatus::Connected {
                    return None;
                }
                state.set_connected();
                Some((Change::Link(state.link), Vec::new()))
            }
            LinkUpdate::Lost { since_ms, .. } => {
                if matches!(state.link, LinkStatus::Lost { .. }) {
                    return None;
                }
                state.set_lost(since_ms);
                Some((Change::Link(state.link), Vec::new()))
            }
            LinkUpdate::Snapshot(snapshot) => {
                let last_seq = snapshot.last_seq;
                let effects = state.apply_snapshot(snapshot);
                let counters = state
                    .counters
                    .iter()
                    .map(|(n, c)| (*n, c.as_ref().map(|c| c.label.clone())))
                    .collect();
                Some((Change::Snapshot { last_seq, counters }, effects))
            }
            LinkUpdate::Event(event, delivery) => {
                if event.seq <= state.last_seq {
                    return None;
                }
                let effects = state.apply(&event, delivery);
                Some((
                    Change::Event {
                        event,
                        delivery,
                        effects: effects.clone(),
                    },
                    effects,
                ))
            }
        });
    }
}
