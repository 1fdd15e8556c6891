//! Admin routes: accounts, device tokens, status, reprints and live config
//! reloads. Every change is recorded in the event log as an
//! `admin_action` naming who did it.

use std::path::Path;
use std::time::Instant;

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use kiosk_config::{CenterConfig, ConfigErrors, Loaded};
use queue_protocol::{EventKind, TicketId};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::{ApiJson, ApiPath, TextBody};
use super::staff::actor;
use super::{ApiError, ApiState};
use crate::app::{blocking, ReprintError};
use crate::auth::{Principal, Role};

/// Records an admin action; the change itself already happened, so a
/// failure to record is logged rather than reported as the change failing.
async fn record(state: &ApiState, principal: &Principal, action: String) {
    let store = state.app().store().clone();
    let actor = actor(principal);
    tracing::info!(by = %principal.name, %action, "admin action");
    if let Err(err) = blocking(move || store.record(EventKind::AdminAction { actor, action })).await
    {
        tracing::error!(error = %err, "cannot record an admin action in the event log");
    }
}

/// `GET /api/v1/admin/users`.
pub async fn users(State(state): State<ApiState>) -> Json<Value> {
    Json(json!({ "users": state.accounts().users() }))
}

/// Body of `POST /api/v1/admin/users`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Login name.
    name: String,
    /// `admin` or `staff`.
    role: Role,
    /// First password.
    password: String,
    /// Counters for staff.
    #[serde(default)]
    counters: Vec<u16>,
}

/// `POST /api/v1/admin/users`.
pub async fn add_user(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    ApiJson(body): ApiJson<NewUser>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let accounts = state.accounts().clone();
    let (name, role, counters) = (body.name.clone(), body.role, body.counters.clone());
    blocking(move || accounts.add_user(&body.name, body.role, &body.password, &body.counters))
        .await?;
    record(
        &state,
        &principal,
        format!(
            "added {} account {name} (counters {counters:?})",
            role.as_str()
        ),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "name": name, "role": role, "counters": counters })),
    ))
}

/// `POST /api/v1/admin/users/{name}/disable`.
pub async fn disable_user(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    state.accounts().set_disabled(&name, true)?;
    state.sessions().end_all_of(&name);
    state.credentials_changed();
    record(&state, &principal, format!("disabled account {name}")).await;
    Ok(Json(json!({ "name": name, "disabled": true })))
}

/// `POST /api/v1/admin/users/{name}/enable`.
pub async fn enable_user(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    state.accounts().set_disabled(&name, false)?;
    record(&state, &principal, format!("enabled account {name}")).await;
    Ok(Json(json!({ "name": name, "disabled": false })))
}

/// Body of `POST /api/v1/admin/users/{name}/password`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPassword {
    /// The new password.
    password: String,
}

/// `POST /api/v1/admin/users/{name}/password`: also logs the account out.
pub async fn set_password(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<NewPassword>,
) -> Result<Json<Value>, ApiError> {
    let accounts = state.accounts().clone();
    let who = name.clone();
    blocking(move || accounts.set_password(&who, &body.password)).await?;
    state.sessions().end_all_of(&name);
    state.credentials_changed();
    record(&state, &principal, format!("reset the password of {name}")).await;
    Ok(Json(json!({ "name": name })))
}

/// Body of `POST /api/v1/admin/users/{name}/counters`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCounters {
    /// The counters from now on.
    counters: Vec<u16>,
}

/// `POST /api/v1/admin/users/{name}/counters`.
pub async fn set_counters(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<NewCounters>,
) -> Result<Json<Value>, ApiError> {
    let config = state.app().config();
    if let Some(unknown) = body.counters.iter().find(|n| config.counter(**n).is_none()) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("there is no counter {unknown} in the configuration"),
        ));
    }
    state.accounts().set_counters(&name, &body.counters)?;
    record(
        &state,
        &principal,
        format!("assigned counters {:?} to {name}", body.counters),
    )
    .await;
    Ok(Json(json!({ "name": name, "counters": body.counters })))
}

/// Body of `POST /api/v1/admin/users/{name}/display-name`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDisplayName {
    /// The name shown on counter displays; `null` or blank clears it.
    display_name: Option<String>,
}

/// `POST /api/v1/admin/users/{name}/display-name`.
pub async fn set_display_name(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<NewDisplayName>,
) -> Result<Json<Value>, ApiError> {
    state
        .accounts()
        .set_display_name(&name, body.display_name.as_deref())?;
    let shown = state.accounts().display_name(&name);
    record(
        &state,
        &principal,
        format!("set the display name of {name} to {shown:?}"),
    )
    .await;
    Ok(Json(json!({ "name": name, "display_name": shown })))
}

/// `GET /api/v1/admin/tokens`.
pub async fn tokens(State(state): State<ApiState>) -> Json<Value> {
    Json(json!({ "tokens": state.accounts().tokens() }))
}

/// Body of `POST /api/v1/admin/tokens`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// Device name.
    name: String,
    /// `display`, `keypad` or `admin`.
    role: Role,
    /// The keypad's counter.
    #[serde(default)]
    counter: Option<u16>,
}

/// `POST /api/v1/admin/tokens`: the token is in the answer, and only there.
pub async fn add_token(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if let Some(counter) = body.counter {
        if state.app().config().counter(counter).is_none() {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("there is no counter {counter} in the configuration"),
            ));
        }
    }
    let token = state
        .accounts()
        .add_token(&body.name, body.role, body.counter)?;
    record(
        &state,
        &principal,
        format!("added {} token {}", body.role.as_str(), body.name),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "name": body.name,
            "role": body.role,
            "counter": body.counter,
            "token": token,
        })),
    ))
}

/// `DELETE /api/v1/admin/tokens/{name}`.
pub async fn revoke_token(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    state.accounts().revoke_token(&name)?;
    state.credentials_changed();
    record(&state, &principal, format!("revoked token {name}")).await;
    Ok(Json(json!({ "name": name, "revoked": true })))
}

/// `GET /api/v1/admin/status`.
pub async fn status(State(state): State<ApiState>) -> Result<Json<Value>, ApiError> {
    let health = state.app().printer().health();
    let store = state.app().store().clone();
    let (last_seq, service_day, disk_bytes, open, now) = blocking(move || {
        (
            store.last_seq(),
            store.service_day(),
            store.disk_bytes(),
            store.open_tickets(),
            store.now(),
        )
    })
    .await;
    let config = state.app().config();
    let waiting: Vec<_> = open
        .into_iter()
        .filter(|t| t.state == queue_protocol::TicketState::Waiting)
        .collect();
    let waits: serde_json::Map<String, Value> =
        crate::metrics::department_waits(&config, &waiting, now.as_millisecond())
            .into_iter()
            .map(|(department, (oldest, over))| {
                let target = config
                    .department(&kiosk_config::DepartmentId(department.clone()))
                    .and_then(|d| d.target_wait)
                    .map(|t| t.as_secs());
                (
                    department,
                    json!({
                        "oldest_waiting_secs": oldest,
                        "over_target": over,
                        "target_wait_secs": target,
                    }),
                )
            })
            .collect();
    let logged_in: Vec<Value> = state
        .sessions()
        .logged_in(Instant::now())
        .into_iter()
        .map(|p| json!({ "name": p.name, "role": p.role, "counters": p.counters }))
        .collect();
    Ok(Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "printer": {
            "state": health.label(),
            "ready": health.ready(),
            "paper_low": health.paper_low(),
            "fault": health.fault().map(|(kind, detail)| json!({ "kind": kind, "detail": detail })),
        },
        "store": {
            "last_seq": last_seq,
            "service_day": service_day.map(|d| d.to_string()),
            "disk_bytes": disk_bytes?,
        },
        "stream_clients": state.stream_clients(),
        "logged_in": logged_in,
        "waits": waits,
    })))
}

/// `POST /api/v1/admin/tickets/{id}/reprint`.
pub async fn reprint(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    ApiPath(id): ApiPath<u64>,
) -> Result<Json<Value>, ApiError> {
    // The app records the reprint itself, with the label.
    match state.app().reprint(TicketId(id), actor(&principal)).await {
        Ok(()) => Ok(Json(json!({ "ticket": id, "reprinted": true }))),
        Err(err @ ReprintError::UnknownTicket(_)) => Err(ApiError::not_found(err.to_string())),
        Err(err @ ReprintError::PrinterNotReady(_)) => {
            Err(ApiError::new(StatusCode::CONFLICT, err.to_string()))
        }
        Err(err @ ReprintError::Print(_)) => Err(ApiError::unavailable(err.to_string())),
        Err(ReprintError::Store(err)) => Err(err.into()),
    }
}

fn config_file_name(state: &ApiState) -> String {
    state
        .shared
        .config_path
        .as_deref()
        .map_or_else(|| "uploaded.toml".to_string(), |p| p.display().to_string())
}

fn config_problems(errors: &ConfigErrors) -> ApiError {
    let problems: Vec<String> = errors.iter().map(|e| format!("{e:#}")).collect();
    let mut err = ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        format!(
            "the configuration has {} problem{}; the kiosk keeps running the old one",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" }
        ),
    );
    err.extra = Some(json!({ "problems": problems }));
    err
}

fn warnings(loaded: &Loaded<CenterConfig>) -> Vec<String> {
    loaded.warnings.iter().map(|w| format!("{w:#}")).collect()
}

/// Why an uploaded config may not be applied even though it is valid: it
/// would make the kiosk write tickets into a file of its choosing.
///
/// The printer's device path (`usb`, `serial` or `file` transport) of an
/// upload must stay what it is, or name a device under `/dev`. Otherwise an
/// admin session (or a stolen one) could point the printer at
/// `accounts.json` or the center file, and the next restart would write
/// ticket bytes over them. A technician at the console can still set any
/// path in the file and restart.
pub fn upload_refusal(current: &CenterConfig, uploaded: &CenterConfig) -> Option<ApiError> {
    use kiosk_config::PrinterTransport::{File, Serial, Tcp, Usb};
    let path_of = |config: &CenterConfig| match &config.kiosk.printer.transport {
        Usb { path } | Serial { path, .. } | File { path } => Some(path.clone()),
        Tcp { .. } => None,
    };
    let new = path_of(uploaded)?;
    if path_of(current).as_ref() == Some(&new) {
        return None;
    }
    let under_dev = new.is_absolute()
        && new.starts_with("/dev/")
        && !new
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir));
    if under_dev {
        return None;
    }
    Some(
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "an uploaded config may point the printer only at a device under /dev, not {}",
                new.display()
            ),
        )
        .with_detail(
            "edit the center file on the kiosk itself to use another path, then restart the kiosk",
        ),
    )
}

/// `POST /api/v1/admin/config/validate`: body = the center's TOML.
pub async fn validate_config(
    State(state): State<ApiState>,
    TextBody(text): TextBody,
) -> Result<Json<Value>, ApiError> {
    let loaded = kiosk_config::parse_center(&text, &config_file_name(&state))
        .map_err(|e| config_problems(&e))?;
    if let Some(refusal) = upload_refusal(&state.app().config(), &loaded.value) {
        return Err(refusal);
    }
    Ok(Json(json!({
        "valid": true,
        "warnings": warnings(&loaded),
        "summary": kiosk_config::summary(&loaded.value).clone(),
    })))
}

/// `POST /api/v1/admin/config/reload`: body = the new TOML (saved to the
/// center file before it is applied), or empty to re-read the file.
pub async fn reload_config(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    TextBody(text): TextBody,
) -> Result<Json<Value>, ApiError> {
    let path = state.shared.config_path.clone();
    let uploaded = !text.trim().is_empty();
    let (loaded, saved) = if !uploaded {
        let Some(path) = path else {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "this kiosk was started without a config file to re-read; send the new config as the body",
            ));
        };
        let loaded = kiosk_config::load_center(&path).map_err(|e| config_problems(&e))?;
        (loaded, false)
    } else {
        let loaded = kiosk_config::parse_center(&text, &config_file_name(&state))
            .map_err(|e| config_problems(&e))?;
        if let Some(refusal) = upload_refusal(&state.app().config(), &loaded.value) {
            return Err(refusal);
        }
        if let Some(path) = &path {
            let path = path.clone();
            blocking(move || save_config(&path, &text))
                .await
                .map_err(|e| ApiError::unavailable(e).with_detail("nothing was changed"))?;
        }
        (loaded, path.is_some())
    };
    let warnings = warnings(&loaded);
    let app = state.app().clone();
    let actor = actor(&principal);
    let mut notes = blocking(move || app.reload_config(loaded.value, actor)).await?;
    if !saved && uploaded {
        notes.push(
            "the uploaded config is in force until a restart; the file on disk was not changed"
                .into(),
        );
    }
    tracing::info!(by = %principal.name, "configuration reloaded");
    Ok(Json(json!({
        "reloaded": true,
        "saved": saved,
        "notes": notes,
        "warnings": warnings,
    })))
}

/// Replaces the center file atomically, so a power cut leaves the old or
/// the new file, never half of one.
fn save_config(path: &Path, text: &str) -> Result<(), String> {
    crate::atomic_file::replace(path, text.as_bytes(), 0o666)
        .map_err(|err| format!("cannot save the config: {err}; check that the kiosk may write it"))
}
