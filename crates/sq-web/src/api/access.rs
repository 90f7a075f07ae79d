use super::{IdPath, TenantIdParams, TenantParams, parse, parse_opt};
use crate::WebState;
use crate::dto::{
    ApiKeyCreatedDto, ApiKeyDto, CreateApiKeyRequest, CreateTenantRequest, CreateUserRequest,
    TenantDto, UserDto,
};
use crate::error::{ApiResult, ErrorEnvelope};
use crate::extract::{ApiJson, ApiPath, Auth, Meta, Scoped};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use sq_app::NewLogin;
use sq_domain::Locale;
use sq_store::NewTenant;

/// The tenants the caller may see: all for platform operators, else their own.
#[utoipa::path(
    get,
    path = "/api/v1/tenants",
    tag = "access",
    responses((status = 200, description = "Tenants.", body = Vec<TenantDto>)),
    security(("bearer" = []))
)]
pub(crate) async fn list_tenants(
    State(s): State<WebState>,
    Auth(p): Auth,
) -> ApiResult<Json<Vec<TenantDto>>> {
    let list = s.app.tenants(&p).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// Creates a tenant (platform operators).
#[utoipa::path(
    post,
    path = "/api/v1/tenants",
    tag = "access",
    request_body = CreateTenantRequest,
    responses(
        (status = 201, description = "Created.", body = TenantDto),
        (status = 409, description = "`conflict`: the slug is taken.", body = ErrorEnvelope),
    ),
    security(("bearer" = ["manage:platform"]))
)]
pub(crate) async fn create_tenant(
    State(s): State<WebState>,
    Auth(p): Auth,
    Meta(meta): Meta,
    ApiJson(req): ApiJson<CreateTenantRequest>,
) -> ApiResult<(StatusCode, Json<TenantDto>)> {
    let t = NewTenant {
        slug: parse("slug", &req.slug)?,
        name: parse("name", &req.name)?,
        default_locale: parse_opt("default_locale", req.default_locale.as_deref())?
            .unwrap_or_else(Locale::en),
    };
    let tenant = s.app.create_tenant(&p, t, &meta).await?;
    Ok((StatusCode::CREATED, Json(tenant.into())))
}

/// Creates a login in the tenant.
///
/// `device` users (displays, kiosks) need a `site_id`: they see that site only.
#[utoipa::path(
    post,
    path = "/api/v1/tenants/{tenant}/users",
    tag = "access",
    params(TenantParams),
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Created.", body = UserDto),
        (status = 409, description = "`conflict`: the e-mail is taken.", body = ErrorEnvelope),
    ),
    security(("bearer" = ["manage:tenant"]))
)]
pub(crate) async fn create_user(
    State(s): State<WebState>,
    sc: Scoped,
    ApiJson(req): ApiJson<CreateUserRequest>,
) -> ApiResult<(StatusCode, Json<UserDto>)> {
    let login = NewLogin {
        email: req.email,
        password: req.password,
        role: parse("role", &req.role)?,
        site_id: req.site_id.map(Into::into),
    };
    let user = s
        .app
        .create_user(&sc.principal, Some(&sc.tenant), login, &sc.meta)
        .await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// The tenant's API keys, without secrets.
#[utoipa::path(
    get,
    path = "/api/v1/tenants/{tenant}/api-keys",
    tag = "access",
    params(TenantParams),
    responses((status = 200, description = "Keys.", body = Vec<ApiKeyDto>)),
    security(("bearer" = ["manage:tenant"]))
)]
pub(crate) async fn list_api_keys(
    State(s): State<WebState>,
    sc: Scoped,
) -> ApiResult<Json<Vec<ApiKeyDto>>> {
    let keys = s.app.api_keys(&sc.principal, &sc.tenant).await?;
    Ok(Json(keys.into_iter().map(Into::into).collect()))
}

/// Creates a scoped API key.
///
/// The key is in this response only; it is stored hashed. A key cannot hold a scope its
/// creator lacks (403 `forbidden`).
#[utoipa::path(
    post,
    path = "/api/v1/tenants/{tenant}/api-keys",
    tag = "access",
    params(TenantParams),
    request_body = CreateApiKeyRequest,
    responses((status = 201, description = "Created; `key` is shown once.", body = ApiKeyCreatedDto)),
    security(("bearer" = ["manage:tenant"]))
)]
pub(crate) async fn create_api_key(
    State(s): State<WebState>,
    sc: Scoped,
    ApiJson(req): ApiJson<CreateApiKeyRequest>,
) -> ApiResult<(StatusCode, Json<ApiKeyCreatedDto>)> {
    let scopes = req
        .scopes
        .iter()
        .map(|x| parse("scopes", x))
        .collect::<ApiResult<Vec<_>>>()?;
    let (key, secret) = s
        .app
        .create_api_key(&sc.principal, &sc.tenant, &req.name, scopes, &sc.meta)
        .await?;
    let body = ApiKeyCreatedDto {
        api_key: key.into(),
        key: secret,
    };
    Ok((StatusCode::CREATED, Json(body)))
}

/// Revokes an API key: requests presenting it get 401 from now on. Revoking a revoked key
/// changes nothing.
#[utoipa::path(
    delete,
    path = "/api/v1/tenants/{tenant}/api-keys/{id}",
    tag = "access",
    params(TenantIdParams),
    responses(
        (status = 200, description = "The key, with `revoked_at` set.", body = ApiKeyDto),
        (status = 404, description = "No such key in this tenant.", body = ErrorEnvelope),
    ),
    security(("bearer" = ["manage:tenant"]))
)]
pub(crate) async fn revoke_api_key(
    State(s): State<WebState>,
    sc: Scoped,
    ApiPath(IdPath { id }): ApiPath<IdPath>,
) -> ApiResult<Json<ApiKeyDto>> {
    let key = s
        .app
        .revoke_api_key(&sc.principal, &sc.tenant, id.into(), &sc.meta)
        .await?;
    Ok(Json(key.into()))
}
