//! The printer worker: one thread owns the printer's transport, polls its
//! status on an interval and prints the tickets it is handed.
//!
//! Printer I/O is blocking and may stall for a whole timeout (a cable pulled,
//! a printer that accepts a connection and never reads), so it lives on its
//! own thread: the rest of the kiosk only ever waits for an answer with a
//! bound. The latest known [`PrinterHealth`] is published on a watch channel
//! so the kiosk knows before a citizen presses whether a ticket can be
//! printed. This module does not decide what to print or when a number is
//! issued; the press pipeline does.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use ticket_printer::{PaperState, PrinterStatus, Transport};
use tokio::sync::{oneshot, watch};

/// What the kiosk knows about its printer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrinterHealth {
    /// Nothing known yet (just started).
    Starting,
    /// The printer answered (or answers nothing, which still counts as ready).
    Reachable(PrinterStatus),
    /// The transport failed: connection refused, device missing, timeout.
    Unreachable(String),
}

impl PrinterHealth {
    /// Whether a ticket may be issued now: the printer is reachable and not
    /// out of paper, open or offline. `Starting` counts as ready so the very
    /// first press is not refused for want of a poll; the print itself then
    /// tells.
    pub fn ready(&self) -> bool {
        match self {
            PrinterHealth::Starting => true,
            PrinterHealth::Reachable(status) => status.ready_to_print(),
            PrinterHealth::Unreachable(_) => false,
        }
    }

    /// Whether the paper is near its end (still prints).
    pub fn paper_low(&self) -> bool {
        matches!(self, PrinterHealth::Reachable(s) if s.paper == PaperState::NearEnd)
    }

    /// The fault, as a short machine-readable kind and an English detail that
    /// says what to do; `None` when ready.
    pub fn fault(&self) -> Option<(&'static str, String)> {
        match self {
            PrinterHealth::Starting => None,
            PrinterHealth::Unreachable(why) => Some((
                "printer_unreachable",
                format!("the printer cannot be reached ({why}); check its power and cable"),
            )),
            PrinterHealth::Reachable(status) if status.paper == PaperState::Out => Some((
                "printer_paper_out",
                "the printer is out of paper; put in a new roll".to_string(),
            )),
            PrinterHealth::Reachable(status) if status.cover_open == Some(true) => Some((
                "printer_cover_open",
                "the printer's cover is open; close it".to_string(),
            )),
            PrinterHealth::Reachable(status) if status.online == Some(false) => Some((
                "printer_offline",
                "the printer reports it is offline; check its panel lights".to_string(),
            )),
            PrinterHealth::Reachable(_) => None,
        }
    }

    /// A short English word for logs and the status API.
    pub fn label(&self) -> &'static str {
        match self {
            PrinterHealth::Starting => "starting",
            PrinterHealth::Unreachable(_) => "unreachable",
            PrinterHealth::Reachable(s) if s.paper == PaperState::Out => "paper_out",
            PrinterHealth::Reachable(s) if s.cover_open == Some(true) => "cover_open",
            PrinterHealth::Reachable(s) if s.online == Some(false) => "offline",
            PrinterHealth::Reachable(s) if s.paper == PaperState::NearEnd => "paper_low",
            PrinterHealth::Reachable(s) if s.is_unknown() => "status_unknown",
            PrinterHealth::Reachable(_) => "ready",
        }
    }
}

/// Why a print did not complete.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum PrintError {
    /// The transport failed while sending.
    #[error("printing failed on {device}: {reason}")]
    Transport {
        /// The device or address.
        device: String,
        /// What failed.
        reason: String,
    },
    /// The worker thread is gone (kiosk shutting down).
    #[error("the printer worker has stopped")]
    WorkerStopped,
}

enum Job {
    /// Ask the printer now and answer with the fresh health.
    Check(oneshot::Sender<PrinterHealth>),
    /// Send a ticket's bytes.
    Print(Vec<u8>, oneshot::Sender<Result<(), PrintError>>),
}

/// A cheap handle to the printer worker thread.
#[derive(Clone)]
pub struct Printer {
    /// Jobs for the worker thread.
    jobs: mpsc::Sender<Job>,
    /// The latest health, updated by every poll, check and print.
    health: watch::Receiver<PrinterHealth>,
}

impl Printer {
    /// Starts the worker thread over `transport`, polling status every
    /// `poll_interval`. The thread stops when every handle is dropped.
    pub fn spawn(transport: Box<dyn Transport>, poll_interval: Duration) -> Printer {
        let (jobs, receiver) = mpsc::channel();
        let (health_tx, health) = watch::channel(PrinterHealth::Starting);
        thread::Builder::new()
            .name("printer".into())
            .spawn(move || worker(transport, receiver, health_tx, poll_interval))
            .expect("spawning a thread only fails when the system is out of resources");
        Printer { jobs, health }
    }

    /// The latest known health, without asking the printer.
    pub fn health(&self) -> PrinterHealth {
        self.health.borrow().clone()
    }

    /// A receiver that sees every change of health (LEDs, fault events).
    pub fn watch(&self) -> watch::Receiver<PrinterHealth> {
        self.health.clone()
    }

    /// Asks the printer now (bounded by the transport's timeouts).
    pub async fn check(&self) -> PrinterHealth {
        let (reply, answer) = oneshot::channel();
        if self.jobs.send(Job::Check(reply)).is_err() {
            return PrinterHealth::Unreachable("the printer worker has stopped".into());
        }
        answer
            .await
            .unwrap_or_else(|_| PrinterHealth::Unreachable("the printer worker stopped".into()))
    }

    /// Sends a ticket's bytes and waits until they are written.
    pub async fn print(&self, bytes: Vec<u8>) -> Result<(), PrintError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job::Print(bytes, reply))
            .map_err(|_| PrintError::WorkerStopped)?;
        answer.await.map_err(|_| PrintError::WorkerStopped)?
    }
}

fn worker(
    mut transport: Box<dyn Transport>,
    jobs: mpsc::Receiver<Job>,
    health: watch::Sender<PrinterHealth>,
    poll_interval: Duration,
) {
    let device = transport.describe();
    // Why the last print failed, until the printer proves it works again: a
    // status answer it really gave, or a print that went through. A printer
    // that answers no status would otherwise look ready again at the next
    // poll, and every press would use a number it cannot print.
    let mut failed_print: Option<String> = None;
    let poll = |transport: &mut Box<dyn Transport>,
                failed_print: &mut Option<String>|
     -> PrinterHealth {
        let now = match transport.status() {
            Ok(status) if status.is_unknown() && failed_print.is_some() => {
                PrinterHealth::Unreachable(format!(
                    "the last ticket did not reach the printer ({}); reprint it from the admin page once the printer is fixed",
                    failed_print.as_deref().unwrap_or_default()
                ))
            }
            Ok(status) => {
                *failed_print = None;
                PrinterHealth::Reachable(status)
            }
            Err(err) => PrinterHealth::Unreachable(err.to_string()),
        };
        health.send_if_modified(|known| {
            if *known == now {
                return false;
            }
            tracing::info!(printer = %device, from = known.label(), to = now.label(), "printer status changed");
            *known = now.clone();
            true
        });
        now
    };
    poll(&mut transport, &mut failed_print);
    loop {
        match jobs.recv_timeout(poll_interval) {
            Ok(Job::Check(reply)) => {
                let now = poll(&mut transport, &mut failed_print);
                let _ = reply.send(now);
            }
            Ok(Job::Print(bytes, reply)) => {
                let result = transport
                    .write_all(&bytes)
                    .map_err(|err| PrintError::Transport {
                        device: transport.describe(),
                        reason: err.to_string(),
                    });
                failed_print = result.as_ref().err().map(|err| match err {
                    PrintError::Transport { reason, .. } => reason.clone(),
                    other => other.to_string(),
                });
                let _ = reply.send(result);
                // The print may have emptied the roll or lost the link: know it
                // before the next citizen presses.
                poll(&mut transport, &mut failed_print);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                poll(&mut transport, &mut failed_print);
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use ticket_printer::TransportError;

    /// A printer whose answers the test sets.
    #[derive(Clone, Default)]
    struct FakePrinter {
        state: Arc<Mutex<FakeState>>,
    }

    #[derive(Default)]
    struct FakeState {
        paper_out: bool,
        unplugged: bool,
        /// Answers no status, like many cheap printers.
        silent: bool,
        /// Takes the connection but no data.
        jammed: bool,
        written: Vec<u8>,
    }

    impl Transport for FakePrinter {
        fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
            let mut state = self.state.lock().unwrap();
            if state.unplugged {
                return Err(TransportError::Write {
                    device: "fake".into(),
                    source: std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
                });
            }
            if state.jammed {
                return Err(TransportError::WriteTimeout {
                    device: "fake".into(),
                    timeout: Duration::from_secs(1),
                });
            }
            state.written.extend_from_slice(bytes);
            Ok(())
        }

        fn status(&mut self) -> Result<PrinterStatus, TransportError> {
            let state = self.state.lock().unwrap();
            if state.unplugged {
                return Err(TransportError::Write {
                    device: "fake".into(),
                    source: std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
                });
            }
            if state.silent {
                return Ok(PrinterStatus::UNKNOWN);
            }
            Ok(PrinterStatus {
                online: Some(true),
                cover_open: Some(false),
                paper: if state.paper_out {
                    PaperState::Out
                } else {
                    PaperState::Present
                },
            })
        }

        fn describe(&self) -> String {
            "fake".into()
        }
    }

    #[tokio::test]
    async fn check_sees_paper_out_and_recovery() {
        let fake = FakePrinter::default();
        let printer = Printer::spawn(Box::new(fake.clone()), Duration::from_secs(3600));
        assert!(printer.check().await.ready());
        fake.state.lock().unwrap().paper_out = true;
        let health = printer.check().await;
        assert!(!health.ready());
        assert_eq!(health.fault().unwrap().0, "printer_paper_out");
        assert_eq!(printer.health(), health);
        fake.state.lock().unwrap().paper_out = false;
        assert!(printer.check().await.ready());
    }

    #[tokio::test]
    async fn print_writes_bytes_and_reports_transport_errors() {
        let fake = FakePrinter::default();
        let printer = Printer::spawn(Box::new(fake.clone()), Duration::from_secs(3600));
        printer.print(vec![1, 2, 3]).await.unwrap();
        assert_eq!(fake.state.lock().unwrap().written, vec![1, 2, 3]);
        fake.state.lock().unwrap().unplugged = true;
        let err = printer.print(vec![4]).await.unwrap_err();
        assert!(matches!(err, PrintError::Transport { .. }), "{err}");
        // The failed print is followed by a fresh status poll.
        let mut health = printer.watch();
        let unreachable = health.wait_for(|h| matches!(h, PrinterHealth::Unreachable(_)));
        tokio::time::timeout(Duration::from_secs(10), unreachable)
            .await
            .expect("the health turns unreachable after a failed print")
            .unwrap();
    }

    #[tokio::test]
    async fn a_silent_printer_that_failed_stays_not_ready_until_a_print_goes_through() {
        let fake = FakePrinter::default();
        fake.state.lock().unwrap().silent = true;
        let printer = Printer::spawn(Box::new(fake.clone()), Duration::from_secs(3600));
        assert!(
            printer.check().await.ready(),
            "no status answer counts as ready"
        );
        fake.state.lock().unwrap().jammed = true;
        assert!(printer.print(vec![1]).await.is_err());
        // Polls keep answering nothing, which must not make it ready again.
        for _ in 0..3 {
            let health = printer.check().await;
            assert!(!health.ready(), "{health:?}");
        }
        // Fixed, and a reprint goes through: ready again.
        fake.state.lock().unwrap().jammed = false;
        printer.print(vec![2]).await.unwrap();
        assert!(printer.check().await.ready());
    }
}
