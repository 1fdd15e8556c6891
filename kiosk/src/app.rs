//! The running kiosk as one cheap-to-clone handle: the store, the printer
//! worker and the configuration in force, shared by the press pipeline, the
//! LAN API and the demo.
//!
//! This module owns what happens to a press (check the printer, issue the
//! number durably, render, print, mark the outcome), reprints, and live
//! config reloads. It does not read pins (see `buttons`), serve HTTP (see
//! `api`) or touch sled (see `store`).

use std::sync::Arc;
use std::time::Duration;

use kiosk_config::{CenterConfig, DepartmentId};
use queue_protocol::{Actor, EventKind, Ticket, TicketId};
use ticket_printer::{encode_ticket, TicketContent};

use crate::printing::{PrintError, Printer, PrinterHealth};
use queue_store::clock::Clock;
use queue_store::store::citizen::TicketKey;
use queue_store::store::{ActionError, IssueError, IssuedTicket, Store, StoreError};

/// A handle on the running kiosk; clones share everything.
#[derive(Clone)]
pub struct App {
    /// State shared by every clone.
    shared: Arc<Shared>,
}

struct Shared {
    /// The durable queue.
    store: Store,
    /// The printer worker.
    printer: Printer,
    /// Where "now" comes from (the store uses the same clock).
    clock: Arc<dyn Clock>,
}

/// What became of a press.
#[derive(Debug)]
pub enum PressOutcome {
    /// The ticket was issued and its bytes reached the printer.
    Printed(IssuedTicket),
    /// Nothing was issued: no number was consumed.
    Refused(Refusal),
    /// The number was issued but printing failed twice; the ticket is marked
    /// `print_failed` and waits for a reprint.
    PrintFailed(IssuedTicket, PrintError),
}

/// One press: what is asked for and by whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PressRequest {
    /// The department.
    pub department: DepartmentId,
    /// One of its services (touch screen only).
    pub service: Option<String>,
    /// A priority class id.
    pub priority: Option<String>,
    /// [`Actor::Button`] or [`Actor::Touch`].
    pub actor: Actor,
}

/// Why a press issued nothing.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The printer cannot print now (paper out, cover open, unreachable).
    #[error("printer not ready ({label}): {detail}")]
    PrinterNotReady {
        /// Short state (`paper_out`).
        label: &'static str,
        /// What to do, in English.
        detail: String,
    },
    /// The queue refused (closed, cap, block, unknown department, store).
    #[error(transparent)]
    Issue(#[from] IssueError),
}

impl Refusal {
    /// What the citizen is told, in Vietnamese.
    pub fn citizen_message(&self) -> &'static str {
        match self {
            Refusal::PrinterNotReady {
                label: "paper_out", ..
            } => "Máy in tạm hết giấy, vui lòng báo cán bộ hướng dẫn.",
            Refusal::PrinterNotReady { .. } => {
                "Máy in tạm thời chưa sẵn sàng. Xin vui lòng chờ trong giây lát hoặc liên hệ cán bộ hướng dẫn."
            }
            Refusal::Issue(err) => err.citizen_message(),
        }
    }
}

/// Why a reprint did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ReprintError {
    /// No such ticket (or removed by retention).
    #[error("ticket {0} does not exist (or was removed by retention)")]
    UnknownTicket(TicketId),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The printer cannot print now.
    #[error("printer not ready ({0}); fix the printer and reprint again")]
    PrinterNotReady(&'static str),
    /// Sending failed.
    #[error(transparent)]
    Print(#[from] PrintError),
}

impl App {
    /// Puts the parts together. The configuration in force is the store's
    /// (one value for the whole kiosk); the printer must have been opened on
    /// it, and the store on `clock`.
    pub fn new(store: Store, printer: Printer, clock: Arc<dyn Clock>) -> App {
        App {
            shared: Arc::new(Shared {
                store,
                printer,
                clock,
            }),
        }
    }

    /// The durable queue.
    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    /// The printer worker.
    pub fn printer(&self) -> &Printer {
        &self.shared.printer
    }

    /// The configuration in force (read it once per operation).
    pub fn config(&self) -> Arc<CenterConfig> {
        self.shared.store.config().load()
    }

    /// The clock the kiosk runs on.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.shared.clock
    }

    /// Applies a new, already validated configuration. What only takes effect
    /// on restart (data directory, listen address, printer, pins) is reported
    /// in the returned notes; everything else applies to the next press and
    /// call. Recorded as an admin event.
    pub fn reload_config(
        &self,
        new: CenterConfig,
        actor: Actor,
    ) -> Result<Vec<String>, StoreError> {
        let old = self.config();
        let mut notes = Vec::new();
        if old.kiosk.data_dir != new.kiosk.data_dir {
            notes.push("kiosk.data_dir changes only after a restart".to_string());
        }
        if old.kiosk.listen != new.kiosk.listen {
            notes.push("kiosk.listen changes only after a restart".to_string());
        }
        if old.kiosk.public.as_ref().map(|p| p.listen)
            != new.kiosk.public.as_ref().map(|p| p.listen)
        {
            notes.push(
                "kiosk.public (the phone pages' listener) changes only after a restart; a new base_url is printed at once"
                    .to_string(),
            );
        }
        if old.kiosk.printer != new.kiosk.printer {
            notes.push("kiosk.printer changes only after a restart".to_string());
        }
        if old.used_pins() != new.used_pins() {
            notes.push("button and LED pins change only after a restart".to_string());
        }
        self.shared.store.config().replace(Arc::new(new));
        self.shared.store.record(EventKind::AdminAction {
            actor,
            action: "configuration reloaded".to_string(),
        })?;
        Ok(notes)
    }

    /// One press of a department's button, from start to printed ticket.
    ///
    /// The number is issued only when the printer is known ready, and is on
    /// disk before its bytes are sent. Blocking work runs off the async
    /// threads.
    pub async fn press(&self, department: &DepartmentId, priority: bool) -> PressOutcome {
        let config = self.config();
        let class = priority
            .then(|| config.kiosk.priority.classes.first().map(|c| c.id.clone()))
            .flatten();
        self.press_for(PressRequest {
            department: department.clone(),
            service: None,
            priority: class,
            actor: Actor::Button,
        })
        .await
    }

    /// A press with everything a touch screen can choose: a service of the
    /// department and a priority class. Buttons and the touch page go
    /// through here alike, so they share the department's numbers and the
    /// printer check.
    pub async fn press_for(&self, request: PressRequest) -> PressOutcome {
        let PressRequest {
            department,
            service,
            priority: class,
            actor,
        } = request;
        let department = &department;
        let health = self.fresh_health().await;
        if !health.ready() {
            let (_, detail) = health
                .fault()
                .unwrap_or(("printer_not_ready", "the printer is not ready".to_string()));
            return PressOutcome::Refused(Refusal::PrinterNotReady {
                label: health.label(),
                detail,
            });
        }
        let config = self.config();
        let store = self.shared.store.clone();
        let department_id = department.clone();
        let issue_config = Arc::clone(&config);
        let started = std::time::Instant::now();
        let issued = blocking(move || {
            store.issue_service_under(
                &issue_config,
                &department_id,
                service.as_deref(),
                class.as_deref(),
                actor,
            )
        })
        .await;
        crate::metrics::observe_issue(department.as_str(), &issued, started.elapsed());
        let issued = match issued {
            Ok(issued) => issued,
            Err(err) => return PressOutcome::Refused(Refusal::Issue(err)),
        };
        let content = ticket_content(
            &config,
            &issued.ticket,
            issued.key,
            issued.waiting_ahead,
            Some(issued.estimated_wait),
        );
        let bytes = encode_ticket(&content, &config.kiosk.printer);
        let mut result = self.shared.printer.print(bytes.clone()).await;
        if result.is_err() {
            // One retry: a network printer's connection may just have been reset.
            result = self.shared.printer.print(bytes).await;
        }
        let id = issued.ticket.id;
        match result {
            Ok(()) => {
                self.mark(move |store| store.mark_printed(id)).await;
                PressOutcome::Printed(issued)
            }
            Err(err) => {
                let reason = err.to_string();
                self.mark(move |store| store.mark_print_failed(id, &reason))
                    .await;
                PressOutcome::PrintFailed(issued, err)
            }
        }
    }

    /// Prints a ticket again (after a print failure or a lost ticket).
    pub async fn reprint(&self, id: TicketId, actor: Actor) -> Result<(), ReprintError> {
        let store = self.shared.store.clone();
        let ticket = blocking(move || store.ticket(id))
            .await?
            .ok_or(ReprintError::UnknownTicket(id))?;
        // A printer known to be out of paper or open is not tried; one that
        // merely failed the last print is: a reprint that goes through is
        // how a printer without status answers shows it works again.
        let health = self.shared.printer.check().await;
        if let PrinterHealth::Reachable(status) = &health {
            if !status.ready_to_print() {
                return Err(ReprintError::PrinterNotReady(health.label()));
            }
        }
        let config = self.config();
        let key = self.shared.store.ticket_key(id);
        let content = ticket_content(&config, &ticket, key, 0, None);
        self.shared
            .printer
            .print(encode_ticket(&content, &config.kiosk.printer))
            .await?;
        let label = ticket.label.clone();
        self.mark(move |store| {
            store.mark_printed(id)?;
            store.record(EventKind::AdminAction {
                actor,
                action: format!("reprinted ticket {label} (id {id})"),
            })?;
            Ok::<(), ActionError>(())
        })
        .await;
        Ok(())
    }

    /// The printer's health, asked afresh when the printer answers status
    /// (so paper that ran out since the last poll is noticed before a number
    /// is consumed); printers that never answer are not asked again, since
    /// every ask would wait for the whole timeout.
    async fn fresh_health(&self) -> PrinterHealth {
        let known = self.shared.printer.health();
        match &known {
            PrinterHealth::Reachable(status) if status.is_unknown() => known,
            _ => self.shared.printer.check().await,
        }
    }

    /// Records a print outcome; a failure to record is logged, not fatal, as
    /// the ticket itself is already durable.
    async fn mark<T: Send + 'static, E: std::fmt::Display + Send + 'static>(
        &self,
        op: impl FnOnce(&Store) -> Result<T, E> + Send + 'static,
    ) {
        let store = self.shared.store.clone();
        if let Err(err) = blocking(move || op(&store)).await {
            tracing::warn!(error = %err, "could not record the print outcome");
        }
    }
}

/// Runs blocking store work (sled flushes) off the async threads. A panic in
/// it is a bug and is passed on as the panic it was.
pub async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => value,
        Err(err) => std::panic::resume_unwind(err.into_panic()),
    }
}

/// What is printed for `ticket` under `config`. With `[kiosk.public]` the
/// QR code opens the ticket's phone page, `{base_url}/t/{key}` (a ticket of
/// a past day, whose key expired, gets none); without it, what `status_url`
/// says, or the bare ticket id.
pub fn ticket_content(
    config: &CenterConfig,
    ticket: &Ticket,
    key: Option<TicketKey>,
    waiting_ahead: u32,
    estimated_wait: Option<Duration>,
) -> TicketContent {
    let center = &config.center;
    let department = config
        .department(&DepartmentId(ticket.department.clone()))
        .or_else(|| config.department(&DepartmentId(ticket.issued_department.clone())));
    let issued = jiff::Timestamp::from_millisecond(ticket.issued_at_ms)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let local = center.local(issued);
    let session_name = department
        .map(|d| center.sessions_for(d))
        .unwrap_or(&center.sessions)
        .iter()
        .find(|s| s.contains(local.time()))
        .map(|s| s.name.clone());
    let priority_class = ticket.priority.as_ref().map(|id| {
        config
            .kiosk
            .priority
            .classes
            .iter()
            .find(|c| &c.id == id)
            .map_or_else(|| id.clone(), |c| c.name.clone())
    });
    let qr = match (&config.kiosk.public, &center.status_url) {
        (Some(public), _) => key.map(|key| format!("{}/t/{key}", public.base_url)),
        (None, Some(url)) => Some(url.replace("{ticket}", &ticket.id.to_string())),
        (None, None) => Some(format!("{}/{}", ticket.service_day, ticket.id)),
    };
    TicketContent {
        header_lines: center.ticket_header.clone(),
        center_name: center.name.clone(),
        department: department.map_or_else(|| ticket.department.clone(), |d| d.name.clone()),
        service: ticket.service.as_ref().map(|id| {
            config
                .department(&DepartmentId(ticket.issued_department.clone()))
                .and_then(|d| d.service(id))
                .map_or_else(|| id.clone(), |s| s.name.clone())
        }),
        number_label: ticket.label.clone(),
        priority_class,
        waiting_ahead,
        estimated_wait,
        issued_at: local.datetime(),
        session_name,
        qr,
        footer_lines: center.ticket_footer.clone(),
    }
}
