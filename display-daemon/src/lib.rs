//! `display-daemon`: the program on each display Pi. It follows the kiosk's
//! event stream, keeps its own picture of the queue, and drives the hall
//! board page, a counter display, a terminal view, a serial LED board, the
//! Vietnamese voice and an optional counter keypad.
//!
//! ```text
//!  kiosk ── GET /api/v1/events (SSE, Last-Event-ID) ──▶ link ──▶ state ──▶ view JSON ──▶ /stream ──▶ browser page
//!                                                                   │
//!                                                                   └─ effects ──▶ voice, LED board, terminal
//!  keypad (GPIO) ──▶ POST /api/v1/counters/{n}/{next,recall,no-show,finish} ──▶ kiosk
//! ```
//!
//! Modules, one concept each:
//! - [`state`]: the pure reducer (exactly-once by sequence number, live vs
//!   replayed calls, recall, convergence on snapshots, link status);
//! - [`link`]: connecting, resuming and backoff; [`http`]: the client it
//!   uses (hyper-util's, over hyper 1); [`sse`]: the event-stream parser;
//! - [`server`]: the local pages (`assets/`) and their push stream;
//!   [`view`]: the JSON they get;
//! - [`terminal`], [`led_board`], [`voice`], [`keypad`]: the outputs and
//!   the keypad ([`rpi`] opens real GPIO pins behind the `rpi` feature);
//! - [`shared`]: the handle they all share ([`Shared`]) and the changes
//!   observers see ([`Change`]);
//! - [`daemon`]: wiring and shutdown, [`run`] / [`start`].
//!
//! The daemon keeps showing the last calls while the kiosk is unreachable
//! (with a discreet "mất kết nối" notice) and catches up after: every event
//! is applied exactly once, and calls that were missed during a long outage
//! are shown but not said aloud (see [`state`]).
//!
//! # Troubleshooting
//!
//! - The board shows "Mất kết nối với máy cấp số": check `kiosk_url` and
//!   that the kiosk answers (`curl -N -H "Authorization: Bearer TOKEN"
//!   http://KIOSK:8080/api/v1/events`); the daemon's log says why it cannot
//!   connect (refused token, connection refused, timeout, a kiosk
//!   certificate refused).
//! - Over `https://`: the log's "presented a certificate that was refused"
//!   names the CA file used; `ca_file` must hold the certificate of the CA
//!   that signed the kiosk's, and that certificate must name the host
//!   written in `kiosk_url` (`openssl s_client -connect KIOSK:8443
//!   -CAfile FILE` shows what the kiosk presents).
//! - A blank page: open `http://127.0.0.1:PORT/state` to see the JSON the
//!   page would render; `/healthz` answers `ok` when the daemon runs.
//! - No chime from the page: start Chromium with
//!   `--autoplay-policy=no-user-gesture-required`.

pub mod cli;
pub mod daemon;
pub mod http;
pub mod keypad;
pub mod led_board;
pub mod link;
pub mod rating;
#[cfg(feature = "rpi")]
pub mod rpi;
pub mod server;
pub mod shared;
pub mod sse;
pub mod state;
pub mod terminal;
pub mod view;
pub mod voice;

pub use daemon::{run, start, DaemonError, DaemonHandle};
pub use shared::{Change, Shared};
pub use state::{BoardState, Delivery, Effect, LinkStatus};
