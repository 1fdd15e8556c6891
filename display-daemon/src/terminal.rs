//! The terminal view: one plain line per change, for technicians and demos.
//!
//! It owns the wording of those lines and writing them to any
//! [`std::io::Write`] (standard output in the daemon, a `Vec<u8>` in tests).
//! No full-screen interface: lines scroll, so the history stays readable in
//! a journal too.

use std::io::Write;

use crate::shared::Change;
use crate::state::{Effect, LinkStatus};

/// The lines printed for one change (none for most events).
pub fn lines(change: &Change, shows: impl Fn(u16) -> bool) -> Vec<String> {
    match change {
        Change::Link(LinkStatus::Connected) => vec!["Đã kết nối với máy cấp số.".to_owned()],
        Change::Link(LinkStatus::Lost { .. }) => {
            vec![
                "Mất kết nối với máy cấp số — đang thử kết nối lại; vẫn hiển thị các số đã gọi."
                    .to_owned(),
            ]
        }
        Change::Link(LinkStatus::Connecting) => Vec::new(),
        Change::Snapshot { counters, .. } => counters
            .iter()
            .filter(|(n, _)| shows(*n))
            .map(|(n, label)| counter_line(*n, label.as_deref()))
            .collect(),
        Change::Event { effects, .. } => {
            let mut out = Vec::new();
            for effect in effects {
                match effect {
                    Effect::CounterChanged { counter, label } if shows(*counter) => {
                        out.push(counter_line(*counter, label.as_deref()));
                    }
                    Effect::Announce { label, counter } if shows(*counter) => {
                        out.push(format!("MỜI CÔNG DÂN CÓ SỐ {label} ĐẾN QUẦY {counter}"));
                    }
                    _ => {}
                }
            }
            out
        }
        Change::Keypad(feedback) => vec![format!("Bàn phím: {}", feedback.message)],
    }
}

fn counter_line(counter: u16, label: Option<&str>) -> String {
    format!("Quầy {counter}: {}", label.unwrap_or("—"))
}

/// Writes the lines of `change` to `out`.
pub fn print(
    out: &mut impl Write,
    change: &Change,
    shows: impl Fn(u16) -> bool,
) -> std::io::Result<()> {
    for line in lines(change, shows) {
        writeln!(out, "{line}")?;
    }
    out.flush()
}
