//! Errors as the API answers them: a status and `{"error": …}` a person can
//! act on, plus extractors that turn axum's plain-text rejections (bad JSON,
//! a body over the limit, a bad path parameter) into the same shape.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::accounts::AccountsError;
use queue_store::store::{ActionError, StoreError};

/// An error answer: status, message and optional details.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong and what to do, for the person reading it.
    pub message: String,
    /// More detail (English, for technicians), if any.
    pub detail: Option<String>,
    /// Extra fields merged into the body (`problems` of a config).
    pub extra: Option<Value>,
    /// Seconds for a `Retry-After` header.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a status and a message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            detail: None,
            extra: None,
            retry_after: None,
        }
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 403.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// 503: the kiosk itself failed (store, printer); not the caller's fault.
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }

    /// Adds an English detail.
    pub fn with_detail(mut self, detail: impl Into<String>) -> ApiError {
        self.detail = Some(detail.into());
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.message });
        if let Some(detail) = self.detail {
            body["detail"] = Value::String(detail);
        }
        if let Some(Value::Object(extra)) = self.extra {
            for (k, v) in extra {
                body[k] = v;
            }
        }
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"kiosk\""),
            );
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> ApiError {
        tracing::error!(error = %err, "store failed while answering an API call");
        ApiError::unavailable("the kiosk's store failed; nothing was changed. Tell the technician.")
            .with_detail(err.to_string())
    }
}

impl From<ActionError> for ApiError {
    fn from(err: ActionError) -> ApiError {
        let err = match err {
            ActionError::Store(store) => return ApiError::from(store),
            other => other,
        };
        let detail = err.to_string();
        let (status, message) = match &err {
            ActionError::UnknownCounter { counter } => {
                (StatusCode::NOT_FOUND, format!("không có quầy số {counter}"))
            }
            ActionError::UnknownDepartment { department } => (
                StatusCode::NOT_FOUND,
                format!("không có lĩnh vực {department:?}"),
            ),
            ActionError::UnknownTicket { ticket } => {
                (StatusCode::NOT_FOUND, format!("không có phiếu {ticket}"))
            }
            ActionError::TicketClosed { .. } => {
                (StatusCode::CONFLICT, "phiếu này đã kết thúc".to_string())
            }
            ActionError::NothingWaiting { .. } => {
                (StatusCode::CONFLICT, "không còn ai đang chờ".to_string())
            }
            ActionError::NoCurrentTicket { .. } => (
                StatusCode::CONFLICT,
                "quầy chưa gọi số nào; hãy gọi số tiếp theo".to_string(),
            ),
            ActionError::NotCalledYet { .. } => {
                (StatusCode::CONFLICT, "phiếu này chưa được gọi".to_string())
            }
            ActionError::BelongsToOtherCounter { counter, .. } => (
                StatusCode::CONFLICT,
                format!("phiếu này đang ở quầy {counter}"),
            ),
            ActionError::WrongState { .. } => (
                StatusCode::CONFLICT,
                "không thực hiện được với phiếu ở trạng thái này".to_string(),
            ),
            ActionError::CounterNotOpen { counter, status } => (
                StatusCode::CONFLICT,
                match *status {
                    "paused" => format!("quầy {counter} đang tạm dừng; hãy mở lại quầy trước"),
                    _ => format!("quầy {counter} đã đóng; hãy mở lại quầy trước"),
                },
            ),
            ActionError::AlreadyInStatus { .. } => {
                (StatusCode::CONFLICT, "quầy đã ở trạng thái này".to_string())
            }
            ActionError::CounterBusy { label, .. } => (
                StatusCode::CONFLICT,
                format!(
                    "quầy đang phục vụ số {label}; hãy kết thúc, tạm gác hoặc chuyển số này trước"
                ),
            ),
            ActionError::UnknownReason { allowed, .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("hãy chọn một lý do trong danh sách: {allowed}"),
            ),
            ActionError::NotServedHere { department, .. } => (
                StatusCode::CONFLICT,
                format!("quầy này không phục vụ lĩnh vực {department}"),
            ),
            ActionError::AlreadyParked { .. } => (
                StatusCode::CONFLICT,
                "phiếu này đã được tạm gác".to_string(),
            ),
            ActionError::NotToday { .. } => (
                StatusCode::CONFLICT,
                "chỉ gọi lại được số vắng mặt trong ngày hôm nay".to_string(),
            ),
            ActionError::NumberReissued { .. } => (
                StatusCode::CONFLICT,
                "số này đã được cấp cho người khác; hãy lấy số mới".to_string(),
            ),
            ActionError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, detail.clone()),
        };
        ApiError::new(status, message).with_detail(detail)
    }
}

impl From<AccountsError> for ApiError {
    fn from(err: AccountsError) -> ApiError {
        let status = match &err {
            AccountsError::Read { .. }
            | AccountsError::Parse { .. }
            | AccountsError::Write { .. } => {
                tracing::error!(error = %err, "accounts file failed");
                StatusCode::SERVICE_UNAVAILABLE
            }
            AccountsError::UnknownUser(_) | AccountsError::UnknownToken(_) => StatusCode::NOT_FOUND,
            AccountsError::NameTaken(_) | AccountsError::LastAdmin(_) => StatusCode::CONFLICT,
            AccountsError::InvalidName(_)
            | AccountsError::InvalidDisplayName(_)
            | AccountsError::WrongRole(_)
            | AccountsError::Counters(_)
            | AccountsError::Password(_) => StatusCode::UNPROCESSABLE_ENTITY,
        };
        ApiError::new(status, err.to_string())
    }
}

fn rejection(status: StatusCode, text: String) -> ApiError {
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => format!(
            "the request body is larger than {} KiB",
            super::BODY_LIMIT / 1024
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            "send the body as JSON with the header Content-Type: application/json".to_string()
        }
        _ => text,
    };
    ApiError::new(status, message)
}

/// A JSON body; rejections become JSON errors.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(err) => Err(json_rejection(err)),
        }
    }
}

fn json_rejection(err: JsonRejection) -> ApiError {
    rejection(err.status(), err.body_text())
}

/// An optional JSON body: an empty body is `None`, whatever the content type.
pub struct OptionalJson<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(bytes_rejection)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(None));
        }
        serde_json::from_slice(&bytes)
            .map(|v| OptionalJson(Some(v)))
            .map_err(|err| {
                let status = if err.is_data() {
                    StatusCode::UNPROCESSABLE_ENTITY
                } else {
                    StatusCode::BAD_REQUEST
                };
                ApiError::new(status, format!("the JSON body is not valid: {err}"))
            })
    }
}

/// A UTF-8 text body (a TOML config).
pub struct TextBody(pub String);

impl<S: Send + Sync> FromRequest<S> for TextBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(bytes_rejection)?;
        String::from_utf8(bytes.to_vec())
            .map(TextBody)
            .map_err(|_| ApiError::bad_request("the body is not UTF-8 text"))
    }
}

fn bytes_rejection(err: BytesRejection) -> ApiError {
    rejection(err.status(), err.body_text())
}

/// A path parameter; rejections become JSON errors.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(err) => Err(path_rejection(err)),
        }
    }
}

fn path_rejection(err: PathRejection) -> ApiError {
    rejection(err.status(), err.body_text())
}

/// Unknown routes.
pub async fn not_found() -> ApiError {
    ApiError::not_found(
        "no such API route; see the route table in the README (paths start with /api/v1/)",
    )
}

/// Known path, wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "this route does not take that method; see the route table in the README",
    )
}
