//! Sending a rendered request with reqwest and classifying the answer.

use std::time::Duration;

use crate::{Adapter, OutboundMessage, SendError, SendOutcome};

/// Converts a rendered request into a reqwest request.
pub fn to_reqwest(req: http::Request<Vec<u8>>) -> Result<reqwest::Request, SendError> {
    reqwest::Request::try_from(req)
        .map_err(|e| SendError::permanent("invalid_request", e.to_string()))
}

/// Renders `out` with `adapter`, sends it, and classifies the answer. Network failures and
/// timeouts are retryable (the outbox's idempotency key covers a send that did reach the
/// provider); a body the adapter cannot render is permanent. A `Retry-After` header fills
/// in `retry_after` when the body did not give one.
pub async fn send(
    client: &reqwest::Client,
    adapter: &dyn Adapter,
    out: &OutboundMessage,
) -> Result<SendOutcome, SendError> {
    let rendered = adapter
        .render(out)
        .map_err(|e| SendError::permanent(e.code(), e.to_string()))?;
    let req = to_reqwest(rendered)?;
    let res = client
        .execute(req)
        .await
        .map_err(|e| SendError::retryable("network", without_url(&e)))?;
    let status = res.status();
    let header_retry = res
        .headers()
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = res
        .bytes()
        .await
        .map_err(|e| SendError::retryable("network", without_url(&e)))?;
    match adapter.parse_send_response(status, &body) {
        Err(SendError::Retryable {
            retry_after: None,
            code,
            detail,
        }) => Err(SendError::Retryable {
            retry_after: header_retry,
            code,
            detail,
        }),
        other => other,
    }
}

/// reqwest errors print the URL, and Telegram's URL holds the bot token: describe the error
/// by its kind only.
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect error"
    } else if e.is_body() || e.is_decode() {
        "body error"
    } else {
        "request error"
    };
    match e.status() {
        Some(s) => format!("{kind} ({s})"),
        None => kind.to_owned(),
    }
}
