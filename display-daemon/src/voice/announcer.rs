//! The queue of announcements: one worker thread says them one after another.
//!
//! Owns ordering and failure policy only: announcements are queued (bounded,
//! [`QUEUE_CAPACITY`]) and said in order by a single thread, so two calls
//! never overlap; every call is said, including a recall of the same number.
//! A backend or player failure is logged with what to do and the next
//! announcement goes ahead — the voice never stops the display. It does not
//! decide which events deserve an announcement (the daemon's state does: a
//! replay of old calls after a reconnect should not be spoken).
//!
//! A plain thread rather than a tokio task because everything it does
//! (running espeak-ng, aplay) blocks.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread::{self, JoinHandle};

use kiosk_config::VoiceSettings;

use super::audio::{play, render, temp_wav_path};
use super::phrase::phrase;

/// How many announcements may wait; beyond that new ones are dropped (and
/// logged), which only happens when the player is stuck.
pub const QUEUE_CAPACITY: usize = 32;

/// One call to announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// Ticket label as printed, e.g. `1005` or `A005`.
    pub label: String,
    /// Counter number the citizen is called to.
    pub counter: u16,
}

/// Why an announcement was not queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnnounceError {
    /// The queue is full: the player has been stuck for a while.
    #[error(
        "voice queue is full ({QUEUE_CAPACITY} waiting); check the player command and the speakers"
    )]
    QueueFull,
    /// The worker thread is gone (it panicked or was shut down).
    #[error("voice worker has stopped; restart the display daemon")]
    Stopped,
}

/// Handle to the announcement worker. Dropping it lets the worker finish the
/// queue and exit in the background; [`Announcer::shutdown`] waits for that.
#[derive(Debug)]
pub struct Announcer {
    /// Sending side of the queue; `None` only during shutdown.
    queue: Option<SyncSender<Announcement>>,
    /// The worker, joined by [`Announcer::shutdown`].
    worker: Option<JoinHandle<()>>,
}

impl Announcer {
    /// Starts the worker. With `settings.enabled` false, announcements are
    /// accepted and discarded.
    pub fn spawn(settings: VoiceSettings) -> Self {
        let (queue, rx) = mpsc::sync_channel(QUEUE_CAPACITY);
        let worker = thread::Builder::new()
            .name("voice".into())
            .spawn(move || work(settings, rx))
            .map_err(|e| {
                tracing::error!("cannot start the voice thread, calls will not be announced: {e}");
            })
            .ok();
        Self {
            queue: Some(queue),
            worker,
        }
    }

    /// Queues a call; returns at once.
    pub fn announce(&self, label: &str, counter: u16) -> Result<(), AnnounceError> {
        let queue = self.queue.as_ref().ok_or(AnnounceError::Stopped)?;
        let item = Announcement {
            label: label.to_owned(),
            counter,
        };
        queue.try_send(item).map_err(|e| match e {
            TrySendError::Full(_) => AnnounceError::QueueFull,
            TrySendError::Disconnected(_) => AnnounceError::Stopped,
        })
    }

    /// Says everything still queued, then stops the worker and waits for it.
    pub fn shutdown(mut self) {
        self.queue = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

fn work(settings: VoiceSettings, rx: Receiver<Announcement>) {
    let wav_path: PathBuf = temp_wav_path("announce");
    for item in rx {
        if !settings.enabled {
            continue;
        }
        let text = phrase(&settings, &item.label, item.counter);
        tracing::info!(label = %item.label, counter = item.counter, "announcing: {text}");
        let audio = match render(&settings, &text) {
            Ok(audio) => audio,
            Err(e) => {
                tracing::warn!(
                    "cannot produce the voice for {} at counter {}: {:#}; test with `display-daemon say`",
                    item.label,
                    item.counter,
                    anyhow::Error::new(e)
                );
                continue;
            }
        };
        let written = audio
            .to_bytes()
            .map_err(std::io::Error::other)
            .and_then(|bytes| std::fs::write(&wav_path, bytes));
        if let Err(e) = written {
            tracing::warn!(
                "cannot write the announcement to {}: {e}; check free space in the temporary directory",
                wav_path.display()
            );
            continue;
        }
        if let Err(e) = play(&settings.player, &wav_path) {
            tracing::warn!(
                "cannot play the announcement: {:#}; check the player command and the speakers",
                anyhow::Error::new(e)
            );
        }
    }
    let _ = std::fs::remove_file(&wav_path);
}
