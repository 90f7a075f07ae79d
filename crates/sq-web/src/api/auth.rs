use crate::WebState;
use crate::dto::{LoginRequest, RefreshRequest, TokenResponse};
use crate::error::{ApiResult, ErrorEnvelope};
use crate::extract::{ApiJson, Meta};
use axum::Json;
use axum::extract::State;

/// Exchanges e-mail and password for an access token and a refresh token.
///
/// Attempts are rate limited per e-mail and per client address: 429 `too_many_attempts`
/// with a `Retry-After` header (seconds).
#[utoipa::path(
    post,
    path = "/api/v1/auth/token",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in.", body = TokenResponse),
        (status = 401, description = "`invalid_credentials`.", body = ErrorEnvelope),
        (status = 429, description = "`too_many_attempts`; see `Retry-After`.", body = ErrorEnvelope,
            headers(("Retry-After" = u64, description = "Seconds to wait."))),
    )
)]
pub(crate) async fn token(
    State(s): State<WebState>,
    Meta(meta): Meta,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let pair = s.app.login(&req.email, &req.password, &meta).await?;
    Ok(Json(pair.into()))
}

/// Rotates a refresh token.
///
/// The old token is spent and a new pair returned. Presenting a spent token again is
/// refused (`token_reused`) and revokes the whole token family.
#[utoipa::path(
    post,
    path = "/api/v1/auth/refresh",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair.", body = TokenResponse),
        (status = 401, description = "`invalid_token` (unknown or expired) or `token_reused`.",
            body = ErrorEnvelope),
    )
)]
pub(crate) async fn refresh(
    State(s): State<WebState>,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> ApiResult<Json<TokenResponse>> {
    Ok(Json(s.app.refresh(&req.refresh_token).await?.into()))
}
