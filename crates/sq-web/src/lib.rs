//! SmartQueue's HTTP edge (axum): the REST API v1 under `/api/v1` with its OpenAPI 3.1
//! document (`/api/v1/openapi.json`, rendered at `/api/docs`) and Prometheus metrics at
//! `/metrics`. Later: provider webhooks, WebSocket/SSE feeds and askama views.
//!
//! Handlers are thin: parse the request into domain values, call one [`sq_app::App`] use
//! case (which checks the caller's scope and tenant, and writes the audit row), convert the
//! result into a DTO. Every failure — use case, extractor, unknown route, body limit,
//! timeout — leaves as one envelope, `{"error": {"code", "message", "field"?}}`, with the
//! message in the language negotiated from `Accept-Language` (see [`error`]).

mod api;
mod docs;
pub mod dto;
pub mod error;
pub mod extract;
mod hooks;
mod observe;
// Web views (issue 5): askama pages, device pages and the live hub.
pub mod views;

pub use api::ApiDoc;
pub use error::{ApiError, ApiResult, ERROR_CODES};

use axum::Router;
use axum::routing::{any, get};
use sq_app::{App, Messaging};
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

/// Renders the Prometheus exposition text. Supplied by the binary, which owns the
/// recorder, so this crate only speaks the `metrics` facade.
pub type MetricsRender = Arc<dyn Fn() -> String + Send + Sync>;

/// Request bodies above this are refused with 413 `payload_too_large`.
pub const BODY_LIMIT: usize = 64 * 1024;

/// A request still running after this is answered 408 `request_timeout`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct WebState {
    pub app: App,
    pub metrics: Option<MetricsRender>,
    /// The channels pipeline; without it `/hooks/…` answers 404.
    pub messaging: Option<Messaging>,
    /// The base URL providers call (`https://queue.example.com`), for signature checks
    /// behind a proxy; `None`: scheme and host of the request.
    pub public_url: Option<String>,
    /// Live ticket events for the web views' WebSockets (issue 5).
    pub live: Arc<dyn views::live::LiveHub>,
}

impl WebState {
    pub fn new(app: App, metrics: Option<MetricsRender>) -> Self {
        let live = Arc::new(views::live::PollingHub::new(app.clone()));
        Self {
            app,
            metrics,
            messaging: None,
            public_url: None,
            live,
        }
    }

    /// Live pages read the feed every `poll` when no change signal woke them first.
    pub fn with_live_poll(mut self, poll: Duration) -> Self {
        self.live = Arc::new(views::live::PollingHub::with_poll(self.app.clone(), poll));
        self
    }

    pub fn with_messaging(mut self, m: Messaging, public_url: Option<String>) -> Self {
        self.messaging = Some(m);
        self.public_url = public_url;
        self
    }
}

impl fmt::Debug for WebState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebState")
            .field("app", &self.app)
            .field("metrics", &self.metrics.is_some())
            .field("messaging", &self.messaging.is_some())
            .finish()
    }
}

/// All routes, with middleware.
pub fn router(state: WebState) -> Router {
    let x_request_id = axum::http::HeaderName::from_static("x-request-id");
    api::routes()
        .merge(views::routes())
        .route("/api/v1/openapi.json", get(docs::openapi))
        .route("/api/docs", get(docs::page))
        .route("/metrics", get(observe::metrics))
        .route("/hooks/{channel}", any(hooks::hook_root))
        .route("/hooks/{channel}/{*rest}", any(hooks::hook_sub))
        .fallback(error::route_not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        // Innermost first. `localise` sits outside the limit and the timeout so their bare
        // 413/408 responses get the envelope too.
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(axum::middleware::from_fn(error::localise))
        .layer(axum::middleware::from_fn(observe::track))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(observe::span)
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
        .with_state(state)
}

/// Serves until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
