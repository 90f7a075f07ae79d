//! The one error type of the HTTP API and its envelope:
//! `{"error": {"code": "snake_case", "message": "localised text", "field": "…"}}`.
//!
//! Handlers and extractors return [`ApiError`]; its response carries the code in a response
//! extension, and the [`localise`] middleware, which sees the request's `Accept-Language`,
//! writes the message in the negotiated language. Bare error responses made by tower layers
//! (body limit, timeout) get the same envelope there.

use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sq_app::AppError;
use sq_i18n::{Catalog, FluentArgs, Prefs};
use std::sync::{Arc, LazyLock};
use utoipa::ToSchema;

/// Every error code the API returns, with its HTTP status. Codes are a contract (clients
/// branch on them); the English text of each is in `locales/en/errors.ftl`.
pub const ERROR_CODES: &[(&str, StatusCode)] = &[
    ("malformed_json", StatusCode::BAD_REQUEST),
    ("unauthenticated", StatusCode::UNAUTHORIZED),
    ("invalid_credentials", StatusCode::UNAUTHORIZED),
    ("invalid_token", StatusCode::UNAUTHORIZED),
    ("token_reused", StatusCode::UNAUTHORIZED),
    ("forbidden", StatusCode::FORBIDDEN),
    ("not_found", StatusCode::NOT_FOUND),
    ("queue_empty", StatusCode::NOT_FOUND),
    ("route_not_found", StatusCode::NOT_FOUND),
    ("method_not_allowed", StatusCode::METHOD_NOT_ALLOWED),
    ("request_timeout", StatusCode::REQUEST_TIMEOUT),
    ("conflict", StatusCode::CONFLICT),
    ("illegal_transition", StatusCode::CONFLICT),
    ("queue_closed", StatusCode::CONFLICT),
    ("payload_too_large", StatusCode::PAYLOAD_TOO_LARGE),
    ("unsupported_media_type", StatusCode::UNSUPPORTED_MEDIA_TYPE),
    ("invalid_request", StatusCode::UNPROCESSABLE_ENTITY),
    ("invalid_id", StatusCode::UNPROCESSABLE_ENTITY),
    ("invalid_slug", StatusCode::UNPROCESSABLE_ENTITY),
    ("invalid_phone", StatusCode::UNPROCESSABLE_ENTITY),
    ("invalid_locale", StatusCode::UNPROCESSABLE_ENTITY),
    ("invalid_timezone", StatusCode::UNPROCESSABLE_ENTITY),
    ("invalid_email", StatusCode::UNPROCESSABLE_ENTITY),
    ("invalid_prefix", StatusCode::UNPROCESSABLE_ENTITY),
    ("invalid_name", StatusCode::UNPROCESSABLE_ENTITY),
    ("invalid_channel", StatusCode::UNPROCESSABLE_ENTITY),
    ("invalid_role", StatusCode::UNPROCESSABLE_ENTITY),
    ("invalid_status", StatusCode::UNPROCESSABLE_ENTITY),
    ("invalid_scope", StatusCode::UNPROCESSABLE_ENTITY),
    ("invalid_queue_status", StatusCode::UNPROCESSABLE_ENTITY),
    ("invalid_agent_status", StatusCode::UNPROCESSABLE_ENTITY),
    ("invalid_actor", StatusCode::UNPROCESSABLE_ENTITY),
    ("invalid_duration", StatusCode::UNPROCESSABLE_ENTITY),
    ("invalid_policy", StatusCode::UNPROCESSABLE_ENTITY),
    ("invalid_skill", StatusCode::UNPROCESSABLE_ENTITY),
    ("queue_not_served", StatusCode::UNPROCESSABLE_ENTITY),
    ("invalid_announcement", StatusCode::UNPROCESSABLE_ENTITY),
    ("invalid_time_window", StatusCode::UNPROCESSABLE_ENTITY),
    ("weak_password", StatusCode::UNPROCESSABLE_ENTITY),
    ("site_required", StatusCode::UNPROCESSABLE_ENTITY),
    ("scopes_required", StatusCode::UNPROCESSABLE_ENTITY),
    ("invalid_channel_config", StatusCode::UNPROCESSABLE_ENTITY),
    ("invalid_ussd", StatusCode::UNPROCESSABLE_ENTITY),
    ("invalid_webhook", StatusCode::BAD_REQUEST),
    ("missing_signature", StatusCode::UNAUTHORIZED),
    ("malformed_signature", StatusCode::FORBIDDEN),
    ("bad_signature", StatusCode::FORBIDDEN),
    ("body_hash_mismatch", StatusCode::FORBIDDEN),
    ("messaging_disabled", StatusCode::SERVICE_UNAVAILABLE),
    ("too_many_attempts", StatusCode::TOO_MANY_REQUESTS),
    ("internal_error", StatusCode::INTERNAL_SERVER_ERROR),
    ("service_unavailable", StatusCode::SERVICE_UNAVAILABLE),
];

/// The system strings, compiled in. The shipped files are checked by sq-i18n's tests, so
/// failing here means a broken build, not bad input.
pub(crate) fn catalog() -> &'static Catalog {
    static CATALOG: LazyLock<Catalog> =
        LazyLock::new(|| Catalog::embedded().expect("the embedded Fluent catalogue is valid"));
    &CATALOG
}

/// An API failure: status, stable code, optionally the input field it concerns, and the
/// arguments of its message.
#[derive(Clone, Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    field: Option<String>,
    args: Vec<(&'static str, String)>,
    retry_after: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str) -> Self {
        Self {
            status,
            code,
            field: None,
            args: Vec::new(),
            retry_after: None,
        }
    }

    /// A code from [`ERROR_CODES`] with its status (500 for an unknown code: a bug).
    pub fn from_code(code: &'static str) -> Self {
        let status = ERROR_CODES
            .iter()
            .find(|(c, _)| *c == code)
            .map_or(StatusCode::INTERNAL_SERVER_ERROR, |(_, s)| *s);
        Self::new(status, code)
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        let field = field.into();
        self.field = (!field.is_empty()).then_some(field);
        self
    }

    fn arg(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.args.push((name, value.into()));
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// Bad input for `field`: the code of the value that refused it.
    pub fn invalid(field: &'static str, e: sq_domain::ParseError) -> Self {
        AppError::invalid(field, e).into()
    }

    fn envelope(&self, prefs: &Prefs) -> ErrorEnvelope {
        let id = format!("error-{}", self.code);
        let catalog = catalog();
        let message = if catalog.has_message(&id) {
            let mut args = FluentArgs::new();
            for (k, v) in &self.args {
                args.set(*k, v.clone());
            }
            catalog.message(prefs, &id, Some(&args))
        } else {
            self.code.replace('_', " ")
        };
        ErrorEnvelope {
            error: ErrorBody {
                code: self.code.to_owned(),
                message,
                field: self.field.clone(),
            },
        }
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        use StatusCode as S;
        let code = e.code();
        match e {
            AppError::Unauthenticated
            | AppError::InvalidCredentials
            | AppError::InvalidToken
            | AppError::TokenReused => Self::new(S::UNAUTHORIZED, code),
            AppError::TooManyAttempts { retry_after_secs } => Self {
                retry_after: Some(retry_after_secs),
                ..Self::new(S::TOO_MANY_REQUESTS, code)
            },
            AppError::Forbidden(scope) => Self::new(S::FORBIDDEN, code).arg("scope", scope),
            AppError::NotFound(what) => Self::new(S::NOT_FOUND, code).arg("what", what),
            AppError::Conflict(what) => Self::new(S::CONFLICT, code).arg("what", what),
            AppError::Invalid {
                code,
                field,
                detail,
            } => {
                tracing::debug!(code, field, detail, "invalid input");
                Self::new(S::UNPROCESSABLE_ENTITY, code).with_field(field)
            }
            AppError::QueueEmpty => Self::new(S::NOT_FOUND, code),
            AppError::QueueClosed => Self::new(S::CONFLICT, code),
            AppError::IllegalTransition { action, from } => Self::new(S::CONFLICT, code)
                .arg("action", action)
                .arg("from", from.as_str()),
            AppError::Internal(cause) => {
                // The cause may name tables or hosts: logs only, never the client.
                tracing::error!(error = %cause, "internal error");
                Self::new(S::INTERNAL_SERVER_ERROR, code)
            }
        }
    }
}

/// The body of every error response.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable snake_case code, e.g. `invalid_phone`.
    #[schema(example = "invalid_phone")]
    pub code: String,
    /// Human text in the language negotiated from `Accept-Language`.
    #[schema(
        example = "Enter the phone number in international format, for example +254712345678."
    )]
    pub message: String,
    /// The input field concerned, as a JSON path (`contact.phone`), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "contact.phone")]
    pub field: Option<String>,
}

/// Marks a response as an API error still to be localised.
#[derive(Clone, Debug)]
struct Pending(Arc<ApiError>);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // English until `localise` (always installed by `router`) rewrites it.
        let body = self.envelope(&catalog().default_prefs());
        let mut res = (self.status, Json(body)).into_response();
        let headers = res.headers_mut();
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res.extensions_mut().insert(Pending(Arc::new(self)));
        res
    }
}

/// The code for a bare error response made outside our handlers (a tower layer), if any.
fn bare_code(status: StatusCode) -> Option<&'static str> {
    Some(match status {
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::NOT_FOUND => "route_not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::BAD_REQUEST => "invalid_request",
        s if s.is_server_error() => "internal_error",
        _ => return None,
    })
}

/// Middleware: writes error messages in the language the client asked for.
pub(crate) async fn localise(req: Request, next: Next) -> Response {
    let accept = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut res = next.run(req).await;
    let err = match res.extensions_mut().remove::<Pending>() {
        Some(Pending(e)) => e,
        None => {
            let status = res.status();
            let is_json = res.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
                // Web views answer their errors as localised HTML pages (issue 5).
                v.as_bytes().starts_with(b"application/json")
                    || v.as_bytes().starts_with(b"text/html")
            });
            match bare_code(status) {
                Some(code) if !is_json => {
                    res = ApiError::new(status, code).into_response();
                    match res.extensions_mut().remove::<Pending>() {
                        Some(Pending(e)) => e,
                        None => return res,
                    }
                }
                _ => return res,
            }
        }
    };
    let prefs = catalog().negotiate_accept_language(accept.as_deref().unwrap_or(""));
    let body = err.envelope(&prefs);
    let (mut parts, _) = res.into_parts();
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(lang) = HeaderValue::from_str(prefs.language()) {
        parts.headers.insert(header::CONTENT_LANGUAGE, lang);
    }
    parts
        .headers
        .append(header::VARY, HeaderValue::from_static("accept-language"));
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// Fallback for unknown paths.
pub(crate) async fn route_not_found() -> ApiError {
    ApiError::from_code("route_not_found")
}

/// Fallback for a known path with another method.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::from_code("method_not_allowed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_an_english_message_and_codes_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for (code, _) in ERROR_CODES {
            assert!(seen.insert(*code), "duplicate {code}");
            assert!(
                catalog().has_message(&format!("error-{code}")),
                "no message for {code}"
            );
        }
    }

    #[test]
    fn app_errors_map_to_their_table_status() {
        let cases = [
            AppError::Unauthenticated,
            AppError::InvalidCredentials,
            AppError::InvalidToken,
            AppError::TokenReused,
            AppError::TooManyAttempts {
                retry_after_secs: 5,
            },
            AppError::Forbidden("manage:tenant"),
            AppError::NotFound("ticket"),
            AppError::Conflict("slug"),
            AppError::invalid("phone", sq_domain::ParseError::new("invalid_phone", "nope")),
            AppError::QueueEmpty,
            AppError::QueueClosed,
            AppError::IllegalTransition {
                action: "close",
                from: sq_domain::ticket::TicketStatus::Waiting,
            },
            AppError::Internal("db on fire".into()),
        ];
        for e in cases {
            let api = ApiError::from(e);
            assert_eq!(
                api.status(),
                ApiError::from_code(api.code()).status(),
                "{}",
                api.code()
            );
        }
    }

    #[test]
    fn internal_errors_are_opaque() {
        let e = ApiError::from(AppError::Internal("password=hunter2 at db".into()));
        let body = serde_json::to_string(&e.envelope(&catalog().default_prefs())).unwrap();
        assert!(!body.contains("hunter2"), "{body}");
        assert!(body.contains("internal_error"));
    }
}
