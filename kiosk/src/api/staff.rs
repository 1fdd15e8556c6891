//! Counter routes: what staff (and keypads) do at their counter, and what
//! they see of the queue. The guard has already checked that the caller may
//! act at the counter in the path.

use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use queue_protocol::{Actor, CounterStatus, Ticket, TicketId, TicketState};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::{ApiJson, ApiPath, OptionalJson};
use super::{ApiError, ApiState};
use crate::app::blocking;
use crate::auth::{Principal, Role};
use queue_store::store::{ActionError, Store};

/// Who the store records as having acted.
pub fn actor(principal: &Principal) -> Actor {
    match principal.role {
        Role::Keypad => Actor::Keypad {
            counter: principal.counters.first().copied().unwrap_or(0),
        },
        _ => Actor::Staff {
            name: principal.name.clone(),
        },
    }
}

/// Optional body of the ticket actions.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketBody {
    /// The ticket the screen shows; must be the counter's current one.
    #[serde(default)]
    ticket: Option<TicketId>,
}

/// Body of a transfer: exactly one of `department` and `counter`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferBody {
    /// The ticket the screen shows.
    #[serde(default)]
    ticket: Option<TicketId>,
    /// Send it to this department's queue.
    #[serde(default)]
    department: Option<String>,
    /// Send it to this counter, which calls it first.
    #[serde(default)]
    counter: Option<u16>,
}

/// What a ticket action at a counter (recall, no-show, start, finish) takes
/// from its request, extracted in the order a handler taking `State`,
/// `Extension<Principal>`, `ApiPath<u16>` and `OptionalJson<TicketBody>`
/// would, with the same rejections.
pub struct TicketAction {
    /// The API state the action runs against.
    state: ApiState,
    /// The counter in the path.
    counter: u16,
    /// The ticket the body names; `None` means the counter's current one.
    ticket: Option<TicketId>,
    /// Who the store records as having acted.
    actor: Actor,
}

impl FromRequest<ApiState> for TicketAction {
    type Rejection = Response;

    async fn from_request(req: Request, state: &ApiState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let Extension(principal) = Extension::<Principal>::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let ApiPath(counter) = ApiPath::<u16>::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let OptionalJson(body) =
            OptionalJson::<TicketBody>::from_request(Request::from_parts(parts, body), state)
                .await
                .map_err(IntoResponse::into_response)?;
        Ok(Self {
            state: state.clone(),
            counter,
            ticket: body.unwrap_or_default().ticket,
            actor: actor(&principal),
        })
    }
}

impl TicketAction {
    /// Run `op` on the store for this counter, ticket and actor, and answer
    /// with the ticket it returns.
    async fn run(
        self,
        op: impl FnOnce(&Store, u16, Option<TicketId>, Actor) -> Result<Ticket, ActionError>
            + Send
            + 'static,
    ) -> Result<Json<Value>, ApiError> {
        let Self {
            state,
            counter,
            ticket,
            actor,
        } = self;
        act(&state, move |s| op(s, counter, ticket, actor)).await
    }
}

async fn act(
    state: &ApiState,
    op: impl FnOnce(&Store) -> Result<Ticket, ActionError> + Send + 'static,
) -> Result<Json<Value>, ApiError> {
    let store = state.app().store().clone();
    let mut ticket = blocking(move || op(&store)).await?;
    // Staff never see ratings.
    ticket.rating = None;
    Ok(Json(json!({ "ticket": ticket })))
}

/// `GET /api/v1/me/counters`.
pub async fn my_counters(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
) -> Json<Value> {
    let config = state.app().config();
    let store = state.app().store().clone();
    let snapshot = blocking(move || store.snapshot()).await;
    let counters: Vec<Value> = config
        .counters
        .iter()
        .filter(|c| principal.role == Role::Admin || principal.counters.contains(&c.number))
        .map(|c| {
            let now = snapshot.counters.iter().find(|now| now.counter == c.number);
            let current = now.and_then(|now| now.current.clone());
            json!({
                "counter": c.number,
                "name": c.name,
                "serves": c.serves.iter().map(kiosk_config::DepartmentId::as_str).collect::<Vec<_>>(),
                "current": current,
                "status": now.map(|now| now.status.clone()).unwrap_or_default(),
                "officer": now.and_then(|now| now.officer.clone()),
            })
        })
        .collect();
    Json(json!({
        "name": principal.name,
        "role": principal.role,
        "display_name": state.accounts().display_name(&principal.name),
        "counters": counters,
    }))
}

/// `GET /api/v1/queue`: waiting counts per department.
pub async fn queue(State(state): State<ApiState>) -> Json<Value> {
    let store = state.app().store().clone();
    let snapshot = blocking(move || store.snapshot()).await;
    Json(json!({
        "service_day": snapshot.service_day,
        "last_seq": snapshot.last_seq,
        "departments": snapshot.departments,
    }))
}

/// `GET /api/v1/counters/{n}/current`.
pub async fn current(
    State(state): State<ApiState>,
    ApiPath(counter): ApiPath<u16>,
) -> Result<Json<Value>, ApiError> {
    let store = state.app().store().clone();
    let snapshot = blocking(move || store.snapshot()).await;
    let now = snapshot
        .counters
        .into_iter()
        .find(|c| c.counter == counter)
        .ok_or_else(|| ApiError::from(ActionError::UnknownCounter { counter }))?;
    // The whole ticket too: the console shows its priority and how long it
    // waited, which the snapshot's summary of it leaves out.
    let ticket = match now.current.as_ref().map(|c| c.ticket) {
        Some(id) => {
            let store = state.app().store().clone();
            blocking(move || store.ticket(id)).await?.map(|mut t| {
                // Staff never see ratings.
                t.rating = None;
                t
            })
        }
        None => None,
    };
    Ok(Json(
        json!({ "counter": counter, "current": now.current, "ticket": ticket }),
    ))
}

/// `POST /api/v1/counters/{n}/next`.
pub async fn next(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    ApiPath(counter): ApiPath<u16>,
) -> Result<Json<Value>, ApiError> {
    let actor = actor(&principal);
    act(&state, move |s| {
        let started = std::time::Instant::now();
        let called = s.call_next(counter, actor);
        crate::metrics::observe_call(counter, false, &called, started.elapsed());
        called
    })
    .await
}

/// `POST /api/v1/counters/{n}/recall`.
pub async fn recall(action: TicketAction) -> Result<Json<Value>, ApiError> {
    action
        .run(|s, counter, ticket, actor| {
            let started = std::time::Instant::now();
            let called = s.recall(counter, ticket, actor);
            crate::metrics::observe_call(counter, true, &called, started.elapsed());
            called
        })
        .await
}

/// `POST /api/v1/counters/{n}/no-show`.
pub async fn no_show(action: TicketAction) -> Result<Json<Value>, ApiError> {
    action.run(Store::no_show).await
}

/// `POST /api/v1/counters/{n}/start`.
pub async fn start(action: TicketAction) -> Result<Json<Value>, ApiError> {
    action.run(Store::start_serving).await
}

/// `POST /api/v1/counters/{n}/finish`.
pub async fn finish(action: TicketAction) -> Result<Json<Value>, ApiError> {
    action.run(Store::finish).await
}

/// `POST /api/v1/counters/{n}/transfer`.
pub async fn transfer(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    ApiPath(counter): ApiPath<u16>,
    ApiJson(body): ApiJson<TransferBody>,
) -> Result<Json<Value>, ApiError> {
    let actor = actor(&principal);
    let ticket = body.ticket;
    match (body.department, body.counter) {
        (Some(to), None) => {
            let to = kiosk_config::DepartmentId(to);
            act(&state, move |s| {
                s.transfer_to_department(counter, ticket, &to, actor)
            })
            .await
        }
        (None, Some(to)) => {
            act(&state, move |s| s.transfer_to_counter(counter, ticket, to, actor)).await
        }
        _ => Err(ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "give exactly one of \"department\" (an id such as \"ho-tich\") or \"counter\" (a number)",
        )),
    }
}

/// Body of `pause`: a reason from `[counter_work] pause_reasons`; a keypad
/// (which cannot choose) pauses for the first one.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PauseBody {
    /// The reason, as listed in the config.
    #[serde(default)]
    reason: Option<String>,
}

/// Body of the actions on one chosen ticket.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChosenBody {
    /// The ticket.
    ticket: TicketId,
    /// Why (for `call`: one of `[counter_work] call_reasons`).
    #[serde(default)]
    reason: Option<String>,
}

async fn set_status(
    state: &ApiState,
    principal: &Principal,
    counter: u16,
    status: CounterStatus,
) -> Result<Json<Value>, ApiError> {
    let actor = actor(principal);
    let officer = match principal.role {
        Role::Staff | Role::Admin => state.accounts().display_name(&principal.name),
        _ => None,
    };
    let store = state.app().store().clone();
    let status =
        blocking(move || store.set_counter_status(counter, status, officer, actor)).await?;
    Ok(Json(json!({ "counter": counter, "status": status })))
}

/// `POST /api/v1/counters/{n}/pause`.
pub async fn pause(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    ApiPath(counter): ApiPath<u16>,
    OptionalJson(body): OptionalJson<PauseBody>,
) -> Result<Json<Value>, ApiError> {
    let reason = match body.and_then(|b| b.reason) {
        Some(reason) => reason,
        None if principal.role == Role::Keypad => state
            .app()
            .config()
            .counter_work
            .pause_reasons
            .first()
            .cloned()
            .unwrap_or_default(),
        None => {
            return Err(ApiError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "give \"reason\": one of [counter_work] pause_reasons",
            ))
        }
    };
    set_status(
        &state,
        &principal,
        counter,
        CounterStatus::Paused { reason },
    )
    .await
}

/// `POST /api/v1/counters/{n}/open`: open or resume; an officer with a
/// display name also takes the counter over.
pub async fn open(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    ApiPath(counter): ApiPath<u16>,
) -> Result<Json<Value>, ApiError> {
    set_status(&state, &principal, counter, CounterStatus::Open).await
}

/// `POST /api/v1/counters/{n}/close`.
pub async fn close(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    ApiPath(counter): ApiPath<u16>,
) -> Result<Json<Value>, ApiError> {
    set_status(&state, &principal, counter, CounterStatus::Closed).await
}

/// `POST /api/v1/counters/{n}/call`: a chosen ticket, out of order.
pub async fn call_chosen(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    ApiPath(counter): ApiPath<u16>,
    ApiJson(body): ApiJson<ChosenBody>,
) -> Result<Json<Value>, ApiError> {
    let actor = actor(&principal);
    let reason = body.reason.unwrap_or_default();
    act(&state, move |s| {
        s.call_chosen(counter, body.ticket, &reason, actor)
    })
    .await
}

/// `POST /api/v1/counters/{n}/park`.
pub async fn park(action: TicketAction) -> Result<Json<Value>, ApiError> {
    action.run(Store::park).await
}

/// `POST /api/v1/counters/{n}/unpark`: call a parked ticket back.
pub async fn unpark(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    ApiPath(counter): ApiPath<u16>,
    ApiJson(body): ApiJson<ChosenBody>,
) -> Result<Json<Value>, ApiError> {
    let actor = actor(&principal);
    act(&state, move |s| {
        s.recall_parked(counter, body.ticket, actor)
    })
    .await
}

/// `POST /api/v1/counters/{n}/bring-back`: a no-show of today waits again.
pub async fn bring_back(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    ApiPath(counter): ApiPath<u16>,
    ApiJson(body): ApiJson<ChosenBody>,
) -> Result<Json<Value>, ApiError> {
    let actor = actor(&principal);
    act(&state, move |s| s.bring_back(counter, body.ticket, actor)).await
}

/// A ticket as the console lists it, with how long it has waited and
/// whether that is over its department's target.
fn listed(ticket: &Ticket, config: &kiosk_config::CenterConfig, now_ms: i64) -> Value {
    let waited_secs = (now_ms - ticket.issued_at_ms).max(0) / 1000;
    json!({
        "id": ticket.id,
        "label": ticket.label,
        "department": ticket.department,
        "priority": ticket.priority,
        "issued_at_ms": ticket.issued_at_ms,
        "waited_secs": waited_secs,
        "over_target": over_target(ticket, config, now_ms),
    })
}

/// Whether a waiting ticket has waited longer than its department's
/// `target_wait_minutes`.
pub fn over_target(ticket: &Ticket, config: &kiosk_config::CenterConfig, now_ms: i64) -> bool {
    config
        .department(&kiosk_config::DepartmentId(ticket.department.clone()))
        .and_then(|d| d.target_wait)
        .is_some_and(|target| {
            let waited = u64::try_from(now_ms - ticket.issued_at_ms).unwrap_or(0);
            waited > u64::try_from(target.as_millis()).unwrap_or(u64::MAX)
        })
}

/// `GET /api/v1/counters/{n}/tickets`: what the counter may act on besides
/// "next": the waiting tickets it may call (oldest first), its parked
/// tickets and the reason lists; with `?no_shows=true` also today's
/// no-shows it may bring back (read from disk, so the console asks for
/// them only when they can have changed).
pub async fn tickets(
    State(state): State<ApiState>,
    ApiPath(counter): ApiPath<u16>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Result<Json<Value>, ApiError> {
    let with_no_shows = query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .any(|pair| pair == "no_shows=true" || pair == "no_shows=1");
    let config = state.app().config();
    let serves: Vec<String> = config
        .counter(counter)
        .ok_or_else(|| ApiError::from(ActionError::UnknownCounter { counter }))?
        .serves
        .iter()
        .map(|d| d.0.clone())
        .collect();
    let store = state.app().store().clone();
    let (open, day) = blocking(move || {
        let open = store.open_tickets();
        let day = match store.service_day() {
            Some(day) if with_no_shows => store.day_tickets(day),
            _ => Ok(Vec::new()),
        };
        (open, day)
    })
    .await;
    let day = day?;
    let now_ms = state.app().store().now().as_millisecond();
    let mut waiting: Vec<&Ticket> = open
        .iter()
        .filter(|t| t.state == TicketState::Waiting)
        .filter(|t| match t.for_counter {
            Some(only) => only == counter,
            None => serves.contains(&t.department),
        })
        .collect();
    waiting.sort_by_key(|t| (t.issued_at_ms, t.id));
    let parked: Vec<Value> = open
        .iter()
        .filter(|t| t.state == TicketState::Parked { counter })
        .map(|t| listed(t, &config, now_ms))
        .collect();
    let no_shows: Vec<Value> = day
        .iter()
        .filter(|t| t.state == TicketState::NoShow)
        .filter(|t| serves.contains(&t.department) || t.counter == Some(counter))
        .map(|t| listed(t, &config, now_ms))
        .collect();
    let mut answer = json!({
        "counter": counter,
        "waiting": waiting.iter().map(|t| listed(t, &config, now_ms)).collect::<Vec<_>>(),
        "parked": parked,
        "pause_reasons": config.counter_work.pause_reasons,
        "call_reasons": config.counter_work.call_reasons,
    });
    if with_no_shows {
        answer["no_shows"] = json!(no_shows);
    }
    Ok(Json(answer))
}
