//! The touch page's API (`/api/v1/touch/…`): what the screen shows
//! (departments, their services, open or closed, the printer), a press, and
//! a citizen ID card scan.
//!
//! Callers: the kiosk's own screen on loopback (when `[kiosk.touch]
//! loopback = true`, the default) without credentials, or a `touch` device
//! token (or an admin) from elsewhere. A press goes through
//! [`App::press_for`], the very path a button takes: the printer is checked
//! first and no number is used on a fault.
//!
//! A scanned card's QR string arrives in the body of `cccd` or `press`, is
//! handed by value to [`crate::cccd::grant`] and dropped there; nothing of
//! it is logged or answered back but the priority class it grants.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use kiosk_config::{CenterConfig, Department, DepartmentId};
use queue_protocol::Actor;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiJson;
use super::{ApiError, ApiState};
use crate::app::{blocking, PressOutcome, PressRequest, Refusal};
use crate::cccd::{self, Grant};

/// Shown when the paper ran out (the printer's `paper_out`).
pub const PAPER_OUT: &str = "Máy in tạm hết giấy, vui lòng báo cán bộ hướng dẫn.";
/// Shown for any other printer fault.
pub const PRINTER_FAULT: &str =
    "Máy in tạm thời chưa sẵn sàng. Xin vui lòng chờ trong giây lát hoặc liên hệ cán bộ hướng dẫn.";
/// Shown for a QR code that is not a citizen ID card.
pub const NOT_A_CARD: &str = "Không đọc được thẻ. Vui lòng quét mã QR trên thẻ căn cước công dân.";

/// `GET /api/v1/touch/state`: everything the touch page draws.
pub async fn state(State(state): State<ApiState>) -> Json<Value> {
    let store = state.app().store().clone();
    let snapshot = blocking(move || store.snapshot()).await;
    let config = state.app().config();
    let now = state.app().clock().now();
    let touch = &config.kiosk.touch;
    let departments: Vec<Value> = config
        .departments
        .iter()
        .map(|d| {
            let queue = snapshot
                .departments
                .iter()
                .find(|q| q.department == d.id.as_str());
            let issued_today = queue.map_or(0, |q| q.issued_today);
            let closed = closed_message(&config, d, now, issued_today);
            let services: Vec<Value> = d
                .services
                .iter()
                .map(|s| {
                    json!({
                        "id": s.id,
                        "name": s.name,
                        "note": s.note,
                        "priority": d.offers_priority(Some(s)),
                    })
                })
                .collect();
            json!({
                "id": d.id.as_str(),
                "name": d.name,
                "open": closed.is_none(),
                "closed_message": closed,
                "hours": hours(&config, d),
                "waiting": queue.map_or(0, |q| q.waiting),
                "priority": d.priority,
                "services": services,
            })
        })
        .collect();
    let health = state.app().printer().health();
    let printer_message = (!health.ready()).then(|| printer_message(health.label()));
    let classes: Vec<Value> = config
        .kiosk
        .priority
        .classes
        .iter()
        .map(|c| json!({ "id": c.id, "name": c.name }))
        .collect();
    let any_open = departments.iter().any(|d| d["open"] == true);
    let clock = config
        .center
        .local(now)
        .strftime("%H:%M · %d/%m/%Y")
        .to_string();
    Json(json!({
        "clock": clock,
        "center": config.center.name,
        "short_name": config.center.short_name,
        "open": any_open,
        "printer": { "ready": health.ready(), "message": printer_message },
        "idle_seconds": touch.idle_return.as_secs(),
        "self_declared_priority": touch.self_declared_priority,
        "cccd": touch.cccd.is_some(),
        "priority_classes": classes,
        "departments": departments,
    }))
}

/// Why `department` issues nothing now, in Vietnamese; `None` when open.
fn closed_message(
    config: &CenterConfig,
    department: &Department,
    now: jiff::Timestamp,
    issued_today: u32,
) -> Option<String> {
    let center = &config.center;
    if center.is_closed_on(center.service_day(now)) {
        return Some("Hôm nay không làm việc".into());
    }
    if !center.is_open_at(department, now) {
        return Some("Ngoài giờ làm việc".into());
    }
    if issued_today >= department.daily_limit() {
        return Some("Hôm nay đã hết số".into());
    }
    None
}

/// "07:30–11:30, 13:30–17:00".
fn hours(config: &CenterConfig, department: &Department) -> String {
    config
        .center
        .sessions_for(department)
        .iter()
        .map(|s| format!("{}–{}", s.start.strftime("%H:%M"), s.end.strftime("%H:%M")))
        .collect::<Vec<_>>()
        .join(", ")
}

fn printer_message(label: &str) -> &'static str {
    if label == "paper_out" {
        PAPER_OUT
    } else {
        PRINTER_FAULT
    }
}

/// Body of `POST /api/v1/touch/press`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PressBody {
    /// Department id.
    department: String,
    /// One of its services.
    #[serde(default)]
    service: Option<String>,
    /// A priority class the citizen declared on the screen.
    #[serde(default)]
    priority: Option<String>,
    /// A scanned citizen ID card's QR string: only its birth date is read.
    #[serde(default)]
    cccd: Option<String>,
}

/// `POST /api/v1/touch/press`: one ticket, through the buttons' pipeline.
pub async fn press(
    State(state): State<ApiState>,
    ApiJson(body): ApiJson<PressBody>,
) -> Result<Json<Value>, ApiError> {
    let PressBody {
        department,
        service,
        priority,
        cccd: scan,
    } = body;
    let config = state.app().config();
    let mut class = match priority {
        Some(_) if !config.kiosk.touch.self_declared_priority => {
            return Err(ApiError::forbidden(
                "Trung tâm không nhận ưu tiên tự khai; vui lòng quét thẻ căn cước hoặc báo cán bộ hướng dẫn.",
            )
            .with_detail("self-declared priority is off ([kiosk.touch] self_declared_priority = false)"))
        }
        other => other,
    };
    if let Some(raw) = scan {
        let today = config.center.local(state.app().clock().now()).date();
        match cccd::grant(raw, config.kiosk.touch.cccd.as_ref(), today) {
            Ok(Grant::Priority(granted)) => class = Some(granted),
            Ok(Grant::TooYoung | Grant::Disabled) => {}
            Err(err) => {
                return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, NOT_A_CARD)
                    .with_detail(err.to_string()))
            }
        }
    }
    let outcome = state
        .app()
        .press_for(PressRequest {
            department: DepartmentId(department.clone()),
            service: service.clone(),
            priority: class,
            actor: Actor::Touch,
        })
        .await;
    log_outcome(&department, service.as_deref(), &outcome);
    match outcome {
        PressOutcome::Printed(issued) => Ok(Json(ticket_answer(&config, &issued, true))),
        PressOutcome::PrintFailed(issued, _) => Ok(Json(ticket_answer(&config, &issued, false))),
        PressOutcome::Refused(refusal) => Err(refused(&refusal)),
    }
}

fn ticket_answer(
    config: &CenterConfig,
    issued: &queue_store::store::IssuedTicket,
    printed: bool,
) -> Value {
    let ticket = &issued.ticket;
    let department = config.department(&DepartmentId(ticket.issued_department.clone()));
    let service = ticket
        .service
        .as_deref()
        .and_then(|id| department.and_then(|d| d.service(id)))
        .map(|s| s.name.clone());
    let priority = ticket.priority.as_deref().map(|id| {
        config
            .kiosk
            .priority
            .classes
            .iter()
            .find(|c| c.id == id)
            .map_or_else(|| id.to_owned(), |c| c.name.clone())
    });
    json!({
        "label": ticket.label,
        "department": department.map_or_else(|| ticket.department.clone(), |d| d.name.clone()),
        "service": service,
        "priority": priority,
        "waiting_ahead": issued.waiting_ahead,
        "estimated_wait_secs": issued.estimated_wait.as_secs(),
        "printed": printed,
        "message": format!(
            "Số của bạn: {} — Còn {} người trước bạn",
            ticket.label, issued.waiting_ahead
        ),
        "print_message": (!printed).then_some(
            "Phiếu chưa in được. Vui lòng ghi nhớ số và báo cán bộ hướng dẫn."
        ),
    })
}

fn refused(refusal: &Refusal) -> ApiError {
    let (status, message, kind) = match refusal {
        Refusal::PrinterNotReady { label, .. } => (
            StatusCode::SERVICE_UNAVAILABLE,
            printer_message(label),
            *label,
        ),
        Refusal::Issue(err) => (StatusCode::CONFLICT, err.citizen_message(), "refused"),
    };
    let mut error = ApiError::new(status, message).with_detail(refusal.to_string());
    error.extra = Some(json!({ "kind": kind, "number_used": false }));
    error
}

/// Like the buttons' log line, with the service; never anything of a card.
fn log_outcome(department: &str, service: Option<&str>, outcome: &PressOutcome) {
    let service = service.unwrap_or("-");
    match outcome {
        PressOutcome::Printed(issued) => tracing::info!(
            department,
            service,
            number = %issued.ticket.label,
            ticket = %issued.ticket.id,
            waiting_ahead = issued.waiting_ahead,
            priority = issued.ticket.priority.as_deref().unwrap_or("-"),
            "touch ticket printed"
        ),
        PressOutcome::Refused(refusal) => tracing::warn!(
            department,
            service,
            reason = %refusal,
            "touch press refused; no number was used"
        ),
        PressOutcome::PrintFailed(issued, err) => tracing::error!(
            department,
            number = %issued.ticket.label,
            ticket = %issued.ticket.id,
            error = %err,
            "touch ticket issued but not printed; reprint it from the admin page once the printer is fixed"
        ),
    }
}

/// Body of `POST /api/v1/touch/cccd`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CccdBody {
    /// What the scanner typed.
    qr: String,
}

/// `POST /api/v1/touch/cccd`: which priority a scanned card grants, for
/// the screen to say so before the citizen picks a department. The press
/// sends the scan again; this answer grants nothing by itself.
pub async fn cccd(
    State(state): State<ApiState>,
    ApiJson(CccdBody { qr }): ApiJson<CccdBody>,
) -> Result<Json<Value>, ApiError> {
    let config = state.app().config();
    let today = config.center.local(state.app().clock().now()).date();
    let rule = config.kiosk.touch.cccd.as_ref();
    match cccd::grant(qr, rule, today) {
        Ok(Grant::Priority(class)) => {
            let name = config
                .kiosk
                .priority
                .classes
                .iter()
                .find(|c| c.id == class)
                .map_or_else(|| class.clone(), |c| c.name.clone());
            Ok(Json(json!({
                "granted": true,
                "priority": class,
                "message": format!("Đã nhận thẻ: ưu tiên {}", name.to_lowercase()),
            })))
        }
        Ok(Grant::TooYoung) => Ok(Json(json!({
            "granted": false,
            "priority": null,
            "message": "Đã nhận thẻ. Vui lòng chọn lĩnh vực.",
        }))),
        Ok(Grant::Disabled) => Ok(Json(json!({
            "granted": false,
            "priority": null,
            "message": "Vui lòng chọn lĩnh vực.",
        }))),
        Err(err) => Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, NOT_A_CARD)
            .with_detail(err.to_string())),
    }
}
