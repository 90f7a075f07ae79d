//! SmartQueue's HTTP edge (axum): REST API v1 with its OpenAPI document, and later the
//! provider webhooks, WebSocket/SSE feeds and askama views.
//!
//! SKELETON: the public API below is fixed (`WebState`, `router`, `serve`); routes are
//! being written.

use axum::Router;
use axum::routing::get;
use sq_app::App;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

/// Renders the Prometheus exposition text. Supplied by the binary, which owns the
/// recorder, so this crate only speaks the `metrics` facade.
pub type MetricsRender = Arc<dyn Fn() -> String + Send + Sync>;

#[derive(Clone)]
pub struct WebState {
    pub app: App,
    pub metrics: Option<MetricsRender>,
}

impl fmt::Debug for WebState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebState")
            .field("app", &self.app)
            .finish_non_exhaustive()
    }
}

/// All routes, with middleware.
pub fn router(state: WebState) -> Router {
    Router::new()
        .route(
            "/api/v1/health",
            get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
        )
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
