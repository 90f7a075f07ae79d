use crate::WebState;
use crate::dto::Health;
use crate::error::{ApiError, ApiResult};
use axum::Json;
use axum::extract::State;

/// Liveness and database check.
#[utoipa::path(
    get,
    path = "/api/v1/health",
    tag = "system",
    responses(
        (status = 200, description = "Up, and the database answers.", body = Health),
        (status = 503, description = "`service_unavailable`: the database does not answer.",
            body = crate::error::ErrorEnvelope),
    )
)]
pub(crate) async fn health(State(s): State<WebState>) -> ApiResult<Json<Health>> {
    match s.app.health().await {
        Ok(()) => Ok(Json(Health {
            status: "ok".into(),
        })),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unavailable");
            Err(ApiError::from_code("service_unavailable"))
        }
    }
}
