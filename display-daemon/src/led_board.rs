//! The serial LED number board at a counter: its frame format and the
//! worker thread that writes frames to the serial device.
//!
//! # Frame format
//!
//! Every frame is 12 bytes of ASCII framing, fixed length, so a cheap
//! microcontroller board can parse it with a byte counter:
//!
//! | offset | bytes | content |
//! |---|---|---|
//! | 0 | 1 | STX `0x02` |
//! | 1 | 1 | `C` (command: show a counter's number) |
//! | 2 | 2 | counter number, two ASCII digits, `03` |
//! | 4 | 6 | the number, ASCII, right-aligned, space-padded: `  1005`; six spaces to blank the board |
//! | 10 | 1 | ETX `0x03` |
//! | 11 | 1 | checksum: XOR of bytes 1 to 10 (from `C` through ETX) |
//!
//! Example, counter 3 showing 1005:
//! `02 43 30 33 20 20 31 30 30 35 03 <xor>`. Labels longer than six characters
//! keep their last six; characters outside printable ASCII become `?`.
//! Counters above 99 cannot be addressed ([`LedFrameError`]).
//!
//! The serial line is set to raw mode at the configured baud rate with
//! `stty -F DEVICE BAUD raw -echo` when the device is opened (no termios
//! binding is linked for this one call); if `stty` is missing or fails, the
//! daemon logs it and writes anyway, which works for USB boards that ignore
//! the baud rate. Writing is blocking, so it happens on its own thread; a
//! failed write is logged and the device reopened on the next frame.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

/// Start of a frame.
pub const STX: u8 = 0x02;
/// End of a frame's body.
pub const ETX: u8 = 0x03;
/// Width of the number field.
pub const NUMBER_WIDTH: usize = 6;
/// Length of every frame.
pub const FRAME_LEN: usize = 12;

/// Why a frame cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedFrameError {
    /// The frame has two digits for the counter.
    #[error("counter {0} cannot be shown on an LED board: the frame has two digits for the counter (1–99)")]
    CounterOutOfRange(u16),
}

/// Encodes the frame showing `label` on `counter`'s board (`None` blanks it).
pub fn encode_frame(counter: u16, label: Option<&str>) -> Result<[u8; FRAME_LEN], LedFrameError> {
    if counter > 99 {
        return Err(LedFrameError::CounterOutOfRange(counter));
    }
    let mut frame = [b' '; FRAME_LEN];
    frame[0] = STX;
    frame[1] = b'C';
    frame[2] = b'0' + (counter / 10) as u8;
    frame[3] = b'0' + (counter % 10) as u8;
    let chars: Vec<u8> = label
        .unwrap_or("")
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c as u8
            } else {
                b'?'
            }
        })
        .collect();
    let shown = &chars[chars.len().saturating_sub(NUMBER_WIDTH)..];
    let start = 4 + NUMBER_WIDTH - shown.len();
    frame[start..4 + NUMBER_WIDTH].copy_from_slice(shown);
    frame[10] = ETX;
    frame[11] = frame[1..=10].iter().fold(0, |acc, b| acc ^ b);
    Ok(frame)
}

/// Handle to the LED board writer thread.
#[derive(Debug)]
pub struct LedBoardWriter {
    /// Frames to write.
    frames: mpsc::Sender<(u16, Option<String>)>,
}

impl LedBoardWriter {
    /// Starts the writer for the device at `path`.
    pub fn spawn(path: PathBuf, baud: u32) -> Self {
        let (frames, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("led-board".into())
            .spawn(move || write_loop(&path, baud, rx));
        if let Err(e) = spawned {
            tracing::error!("cannot start the LED board thread, the board will not update: {e}");
        }
        Self { frames }
    }

    /// Queues showing `label` on `counter`'s board.
    pub fn show(&self, counter: u16, label: Option<&str>) {
        let _ = self.frames.send((counter, label.map(str::to_owned)));
    }
}

fn write_loop(path: &Path, baud: u32, rx: mpsc::Receiver<(u16, Option<String>)>) {
    let mut device: Option<std::fs::File> = None;
    for (counter, label) in rx {
        let frame = match encode_frame(counter, label.as_deref()) {
            Ok(frame) => frame,
            Err(e) => {
                tracing::warn!("{e}");
                continue;
            }
        };
        if device.is_none() {
            device = open(path, baud);
        }
        if let Some(file) = device.as_mut() {
            if let Err(e) = file.write_all(&frame).and_then(|()| file.flush()) {
                tracing::warn!(
                    "cannot write to the LED board at {}: {e}; check its cable, it will be reopened for the next number",
                    path.display()
                );
                device = None;
            }
        }
    }
}

fn open(path: &Path, baud: u32) -> Option<std::fs::File> {
    match std::process::Command::new("stty")
        .arg("-F")
        .arg(path)
        .arg(baud.to_string())
        .args(["raw", "-echo"])
        .output()
    {
        Ok(out) if out.status.success() => {}
        Ok(out) => tracing::warn!(
            "stty could not set {} to {baud} baud ({}); writing anyway",
            path.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => tracing::warn!("cannot run stty to set {baud} baud ({e}); writing anyway"),
    }
    match std::fs::OpenOptions::new().write(true).open(path) {
        Ok(file) => Some(file),
        Err(e) => {
            tracing::warn!(
                "cannot open the LED board at {}: {e}; check the device path in [led_board] and that the user is in the `dialout` group",
                path.display()
            );
            None
        }
    }
}
