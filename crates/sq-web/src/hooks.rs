//! Provider webhooks: `/hooks/{channel_id}` plus whatever suffix the channel's adapter lists
//! ([`sq_channels::Adapter::routes`] — routes as data). Per request: find the channel, match
//! the route, answer a handshake, verify the signature over the raw bytes (a failure stores
//! nothing and answers 401/403), parse, hand the events to the pipeline, answer the way the
//! provider expects (a USSD hop gets its next screen inline).

use crate::WebState;
use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Request, Uri};
use axum::response::{IntoResponse, Response};
use sq_app::{AppError, Hook, Messaging};
use sq_channels::{Inbound, InboundKind, RouteKind};
use std::sync::Arc;

pub(crate) async fn hook_root(
    State(s): State<WebState>,
    Path(channel): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(s, channel, String::new(), method, uri, headers, body).await
}

pub(crate) async fn hook_sub(
    State(s): State<WebState>,
    Path((channel, rest)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(s, channel, format!("/{rest}"), method, uri, headers, body).await
}

fn channel_not_found() -> Response {
    ApiError::from_code("route_not_found").into_response()
}

async fn handle(
    s: WebState,
    channel: String,
    suffix: String,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(messaging) = s.messaging.clone() else {
        return channel_not_found();
    };
    let hook = match messaging.hook(&channel).await {
        Ok(h) => h,
        // An unknown channel looks like any unknown address: ids are unguessable.
        Err(AppError::NotFound(_)) => return channel_not_found(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let adapter = hook.adapter.adapter();
    let Some(route) = adapter
        .routes()
        .into_iter()
        .find(|r| r.method == method && r.path_suffix == suffix)
    else {
        return if adapter.routes().iter().any(|r| r.path_suffix == suffix) {
            ApiError::from_code("method_not_allowed").into_response()
        } else {
            channel_not_found()
        };
    };
    let mut req = Request::builder().method(method).uri(uri.clone());
    for (k, v) in &headers {
        req = req.header(k, v);
    }
    let Ok(req) = req.body(body) else {
        return ApiError::from_code("invalid_webhook").into_response();
    };
    if route.kind == RouteKind::Handshake {
        return match adapter.handshake(&req) {
            Some(res) => convert(res),
            None => ApiError::from_code("forbidden").into_response(),
        };
    }
    let url = public_url(s.public_url.as_deref(), &headers, &uri);
    if let Err(e) = adapter.verify(&req, &url) {
        tracing::warn!(channel = %hook.record.id, code = e.code(), "webhook refused");
        metrics::counter!("sq_webhooks_refused_total", "code" => e.code()).increment(1);
        return ApiError::new(e.status(), e.code()).into_response();
    }
    let events = match adapter.parse(&req) {
        Ok(ev) => ev,
        Err(e) => {
            tracing::warn!(channel = %hook.record.id, code = e.code(), "webhook body refused");
            return ApiError::from_code("invalid_webhook").into_response();
        }
    };
    if route.kind == RouteKind::UssdSession {
        return ussd(&messaging, &hook, events).await;
    }
    match messaging.receive(&hook, events).await {
        Ok(()) => convert(adapter.ack()),
        // The provider retries on 5xx: nothing was lost, the retry is deduplicated.
        Err(e) => ApiError::from(e).into_response(),
    }
}

async fn ussd(messaging: &Messaging, hook: &Arc<Hook>, events: Vec<Inbound>) -> Response {
    let Some(ussd) = hook.adapter.ussd() else {
        return ApiError::from_code("invalid_webhook").into_response();
    };
    let hop = events.into_iter().find_map(|e| match e {
        Inbound::Message(m) if matches!(m.kind, InboundKind::UssdRequest { .. }) => Some(m),
        _ => None,
    });
    let Some(hop) = hop else {
        // A Hubtel Release/Timeout notice on the session URL: acknowledge.
        return convert(ussd.ack());
    };
    let InboundKind::UssdRequest { session_id, .. } = &hop.kind else {
        return convert(ussd.ack());
    };
    let session_id = session_id.clone();
    let started = std::time::Instant::now();
    match messaging.ussd(hook, hop).await {
        Ok(reply) => {
            metrics::histogram!("sq_ussd_hop_seconds").record(started.elapsed().as_secs_f64());
            convert(ussd.respond(&session_id, &reply))
        }
        Err(e) => {
            tracing::error!(channel = %hook.record.id, error = %e, "USSD hop failed");
            ApiError::from(e).into_response()
        }
    }
}

/// The URL the provider called, as it signed it: the configured public base (behind a
/// proxy), else scheme and host from the request.
fn public_url(base: Option<&str>, headers: &HeaderMap, uri: &Uri) -> String {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    if let Some(base) = base {
        return format!("{}{path}", base.trim_end_matches('/'));
    }
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("http");
    let host = headers
        .get("x-forwarded-host")
        .or_else(|| headers.get(axum::http::header::HOST))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    format!("{proto}://{host}{path}")
}

fn convert(res: axum::http::Response<Vec<u8>>) -> Response {
    let (parts, body) = res.into_parts();
    let mut out = (parts.status, body).into_response();
    *out.headers_mut() = parts.headers;
    out
}
