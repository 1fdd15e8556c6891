//! The queue engine (`queue-store`): everything about the queue that does
//! not need the kiosk's hardware, HTTP server or printer.
//!
//! - [`store`]: the durable sled store, the only code that touches sled; its
//!   pure state machine ([`store::queue`]), retention and packing of finished
//!   days, and the versioned records it keeps on disk;
//! - [`report`]: the report model and the fold over events, kept tickets and
//!   day summaries that `kiosk report`, the admin page and the city hub use,
//!   with its table, CSV and JSON output;
//! - [`clock`]: where "now" comes from, so tests and simulations move time;
//! - [`wait`]: the wait estimate of the citizen's phone page, a pure
//!   function of the day's service times.
//!
//! It depends on `kiosk-config` (the center's rules) and `queue-protocol`
//! (what crosses the LAN) and on nothing that opens a socket, drives a GPIO
//! pin or talks to a printer: the `kiosk` crate wires it to those.
//!
//! The disk format is not the wire format: the store writes its own record
//! types ([`store::record`]) and converts them to and from the protocol's
//! types at its edge, so a renamed protocol field never becomes a data
//! migration. A data directory written by every released format is kept in
//! `tests/fixtures/` and must keep opening.

pub mod clock;
pub mod report;
pub mod store;
pub mod wait;
