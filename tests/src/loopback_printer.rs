//! A network ESC/POS printer on loopback, for tests and benchmarks that need
//! to know when the last byte of a ticket arrived.
//!
//! It accepts connections, answers `DLE EOT` status requests with "online,
//! cover closed, paper present" (faults are the `emupos` emulator's job),
//! and follows the kiosk's raster tickets command by command (`ESC @`,
//! `GS v 0` with its data, `ESC d n`, `GS V`), so a ticket ends exactly at
//! its cut, never on a byte pattern inside the image. Each complete ticket
//! is reported with the instant its last byte was read.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// A ticket the printer received in full.
#[derive(Debug, Clone)]
pub struct ReceivedTicket {
    /// When its last byte (the cut) was read.
    pub completed: Instant,
    /// Every byte of the ticket.
    pub bytes: Vec<u8>,
}

/// A running loopback printer; it stops when dropped.
pub struct LoopbackPrinter {
    /// Where the kiosk should connect.
    pub address: SocketAddr,
    /// Complete tickets, in order.
    pub tickets: mpsc::Receiver<ReceivedTicket>,
    /// Set on drop to end the accept loop.
    stop: Arc<AtomicBool>,
}

impl LoopbackPrinter {
    /// Starts a printer on 127.0.0.1 with a free port.
    pub fn start() -> std::io::Result<LoopbackPrinter> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let (sender, tickets) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let halt = Arc::clone(&stop);
        thread::Builder::new()
            .name("loopback-printer".into())
            .spawn(move || accept_loop(listener, sender, halt))?;
        Ok(LoopbackPrinter {
            address,
            tickets,
            stop,
        })
    }
}

impl Drop for LoopbackPrinter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn accept_loop(
    listener: TcpListener,
    tickets: mpsc::Sender<ReceivedTicket>,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                let (tickets, stop) = (tickets.clone(), Arc::clone(&stop));
                let _ = thread::Builder::new()
                    .name("loopback-printer-conn".into())
                    .spawn(move || serve(stream, tickets, stop));
            }
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(2));
            }
            Err(_) => return,
        }
    }
}

fn serve(mut stream: TcpStream, tickets: mpsc::Sender<ReceivedTicket>, stop: Arc<AtomicBool>) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let mut parser = Parser::default();
    let mut chunk = [0u8; 64 * 1024];
    while !stop.load(Ordering::SeqCst) {
        let n = match stream.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => n,
            Err(err)
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            Err(_) => return,
        };
        let now = Instant::now();
        for output in parser.feed(&chunk[..n]) {
            match output {
                Output::Status => {
                    // Only the fixed bits 1 and 4: online, closed, paper present.
                    if stream.write_all(&[0x12]).is_err() {
                        return;
                    }
                }
                Output::Ticket(bytes) => {
                    let _ = tickets.send(ReceivedTicket {
                        completed: now,
                        bytes,
                    });
                }
            }
        }
    }
}

enum Output {
    Status,
    Ticket(Vec<u8>),
}

/// Follows the command stream; only the commands the kiosk sends are known.
#[derive(Default)]
struct Parser {
    /// Bytes not yet consumed.
    pending: Vec<u8>,
    /// Bytes of the ticket in progress.
    ticket: Vec<u8>,
}

impl Parser {
    fn feed(&mut self, bytes: &[u8]) -> Vec<Output> {
        self.pending.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some(len) = self.next_command_len() {
            let command: Vec<u8> = self.pending.drain(..len).collect();
            match command.as_slice() {
                [0x10, 0x04, _] => out.push(Output::Status),
                [0x1d, b'V', ..] => {
                    self.ticket.extend_from_slice(&command);
                    out.push(Output::Ticket(std::mem::take(&mut self.ticket)));
                }
                _ => self.ticket.extend_from_slice(&command),
            }
        }
        out
    }

    /// Length of the complete command at the front, if it has all arrived.
    fn next_command_len(&self) -> Option<usize> {
        let p = &self.pending;
        let need = match p.first()? {
            0x10 => 3,                       // DLE EOT n
            0x1b if p.get(1)? == &b'@' => 2, // ESC @
            0x1b => 3,                       // ESC d n, ESC t n, ESC a n, …
            0x1d if p.get(1)? == &b'v' => {
                // GS v 0 m xL xH yL yH data
                let header = p.get(..8)?;
                let width = usize::from(u16::from_le_bytes([header[4], header[5]]));
                let height = usize::from(u16::from_le_bytes([header[6], header[7]]));
                8 + width * height
            }
            0x1d if p.get(1)? == &b'V' => match p.get(2)? {
                65 | 66 => 4,
                _ => 3,
            },
            _ => 1, // text bytes
        };
        (p.len() >= need).then_some(need)
    }
}
