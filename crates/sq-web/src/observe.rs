//! Request metrics, the `/metrics` endpoint and the request span.
//!
//! Routes are labelled by their template (`/api/v1/tenants/{tenant}/tickets/{id}`), never
//! by the raw path: ids in labels would create a time series per ticket.

use crate::WebState;
use crate::error::ApiError;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sq_app::Principal;
use std::time::Instant;

/// Label for requests that matched no route (the path itself is never a label).
const UNMATCHED: &str = "unmatched";

fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

fn route_label(req: &Request) -> String {
    req.extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_owned(), |m| m.as_str().to_owned())
}

/// Middleware: `sq_http_requests_total{method,route,status}` and
/// `sq_http_request_duration_seconds{method,route}`.
pub(crate) async fn track(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = method_label(req.method());
    let route = route_label(&req);
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::counter!(
        "sq_http_requests_total",
        "method" => method,
        "route" => route.clone(),
        "status" => status
    )
    .increment(1);
    metrics::histogram!(
        "sq_http_request_duration_seconds",
        "method" => method,
        "route" => route
    )
    .record(start.elapsed().as_secs_f64());
    res
}

/// The request span: method and route template; the path without its query string (no
/// query carries secrets today, but tokens and phone numbers must never reach the logs).
pub(crate) fn span(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, |m| m.as_str());
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "http",
        method = %req.method(),
        route,
        path = %logged_path(route, req.uri().path()),
        request_id,
    )
}

/// The path as logged: device keys and tracker tokens are credentials (issue 5), so routes
/// carrying them are logged by their template only.
/// Unmatched paths are logged only under `/api/` (a mistyped view URL may hold a key).
fn logged_path<'a>(route: &'a str, path: &'a str) -> &'a str {
    let secret = route.contains("{key}") || route.contains("{token}");
    if secret || (route == UNMATCHED && !path.starts_with("/api/")) {
        route
    } else {
        path
    }
}

/// `GET /metrics`: refreshes `sq_queue_waiting{tenant,queue,queue_id}` then renders the exposition.
pub(crate) async fn metrics(State(s): State<WebState>) -> Response {
    let Some(render) = s.metrics.clone() else {
        return ApiError::from_code("route_not_found").into_response();
    };
    if let Err(e) = refresh_queue_gauges(&s).await {
        // Serve the other metrics anyway: a scrape should not fail with the database.
        tracing::warn!(error = %e, "could not refresh queue gauges");
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        render(),
    )
        .into_response()
}

/// One overview per queue of every tenant: fine at today's sizes; a store-level count
/// per queue would replace it if tenants grow to thousands of queues.
async fn refresh_queue_gauges(s: &WebState) -> Result<(), sq_app::AppError> {
    let system = Principal::system();
    for tenant in s.app.tenants(&system).await? {
        for queue in s.app.queues(&system, &tenant).await? {
            let o = s.app.queue_overview(&system, &tenant, queue.id).await?;
            metrics::gauge!(
                "sq_queue_waiting",
                "tenant" => tenant.slug.to_string(),
                "queue" => queue.name.to_string(),
                // Names may repeat across sites; the id keeps the series apart.
                "queue_id" => queue.id.to_string()
            )
            .set(f64::from(o.waiting));
        }
    }
    Ok(())
}

#[cfg(test)]
mod log_tests {
    use super::*;

    #[test]
    fn device_keys_and_tracker_tokens_never_reach_the_log() {
        assert_eq!(
            logged_path("/display/{key}", "/display/sqd_secret"),
            "/display/{key}"
        );
        assert_eq!(logged_path("/t/{token}/ws", "/t/abc/ws"), "/t/{token}/ws");
        assert_eq!(logged_path(UNMATCHED, "/t/abc/x/y"), UNMATCHED);
        assert_eq!(logged_path(UNMATCHED, "/api/v1/nope"), "/api/v1/nope");
        assert_eq!(
            logged_path(
                "/api/v1/tenants/{tenant}/tickets",
                "/api/v1/tenants/demo/tickets"
            ),
            "/api/v1/tenants/demo/tickets"
        );
    }
}
