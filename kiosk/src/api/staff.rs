//! Counter routes: what staff (and keypads) do at their counter, and what
//! they see of the queue. The guard has already checked that the caller may
//! act at the counter in the path.

use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use queue_protocol::{Actor, Ticket, TicketId};
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
            let current = snapshot
                .counters
                .iter()
                .find(|now| now.counter == c.number)
                .and_then(|now| now.current.clone());
            json!({
                "counter": c.number,
                "name": c.name,
                "serves": c.serves.iter().map(kiosk_config::DepartmentId::as_str).collect::<Vec<_>>(),
                "current": current,
            })
        })
        .collect();
    Json(json!({
        "name": principal.name,
        "role": principal.role,
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
