//! Vietnamese queue tickets on any ESC/POS thermal printer (`ticket-printer`).
//!
//! The path of a ticket: [`TicketContent`] → [`render`] (a 1-bit [`Bitmap`],
//! text NFC-normalized and drawn from the bundled DejaVu Sans, which covers
//! every Vietnamese letter) → [`encode_raster`] (`ESC @`, `GS v 0` bands,
//! feed, cut) → a [`Transport`] (TCP 9100, USB `lp` device, serial, file).
//! [`write_png`] shows exactly the raster that is sent. Printer status
//! (`DLE EOT`) comes back as a [`PrinterStatus`]; a printer that does not
//! answer is "unknown", which still counts as ready.
//!
//! This crate does not decide when to print or poll (the kiosk does) and does
//! not read configuration files (`kiosk-config` does; this crate takes its
//! [`PrinterSettings`](kiosk_config::PrinterSettings)).
//!
//! # Usage
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let settings: kiosk_config::PrinterSettings = unimplemented!();
//! use ticket_printer::{encode_raster, open, render, sample_ticket, EncodeOptions};
//!
//! let issued_at = jiff::civil::date(2025, 3, 5).at(8, 15, 0, 0);
//! let ticket = sample_ticket("Trung tâm Phục vụ hành chính công", issued_at);
//! let bitmap = render(&ticket, settings.dots_per_line); // 576 (80 mm) or 384 (58 mm)
//! let bytes = encode_raster(&bitmap, &EncodeOptions::from_settings(&settings));
//! let mut printer = open(&settings)?;
//! if printer.status()?.ready_to_print() {
//!     printer.write_all(&bytes)?;
//! }
//! # Ok(()) }
//! ```
//!
//! # Troubleshooting
//!
//! - **`permission denied` on `/dev/usb/lp0`**: the device belongs to group
//!   `lp`. Add the kiosk's user to it (`usermod -aG lp kiosk`, then log in
//!   again or restart the service). Serial ports belong to group `dialout`.
//! - **The printer prints garbage characters or pages of symbols**: it is in
//!   text mode with a code page that is not Vietnamese, or it is not an
//!   ESC/POS printer. Use raster mode (the default, `mode = "raster"`), which
//!   needs no code page; check the printer's self-test page for "ESC/POS".
//! - **The ticket stops part-way, prints only its top, or the printer
//!   hangs/blinks**: its receive buffer overflowed. Lower the band height
//!   (e.g. 24 or 48 rows) so each `GS v 0` command fits in the buffer.
//! - **The image is squashed or doubled in width**: the printer ignores
//!   `GS v 0` mode 0; check it with `kiosk print-test --output ticket.bin`
//!   and `cat ticket.bin > /dev/usb/lp0` or `nc HOST 9100 < ticket.bin`.
//! - **Status is always "unknown"**: the printer (or the transport, e.g. a
//!   file or a one-way USB adapter) does not answer `DLE EOT`. Tickets still
//!   print; paper-out is then not detected before printing.

mod bitmap;
pub mod escpos;
mod font;
mod layout;
mod preview;
mod status;
pub mod transport;

pub use bitmap::Bitmap;
pub use escpos::{decode_raster, encode_raster, encode_ticket, Cut, DecodeError, EncodeOptions};
pub use font::{has_glyph, normalize, render_text_line, Weight};
pub use layout::{
    render, sample_ticket, TicketContent, DEFAULT_FOOTER, TONE_SAMPLE_LINES, WIDTH_58MM, WIDTH_80MM,
};
pub use preview::{read_png, write_png, PngError};
pub use status::{PaperState, PrinterStatus};
pub use transport::{open, Transport, TransportError};
