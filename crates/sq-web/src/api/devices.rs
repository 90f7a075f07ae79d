//! Device pairing over the API (issue 5): the same use cases as the `/admin/devices` page.
//! A display or kiosk opens `/display/<key>` or `/kiosk/<key>`; the key is shown once.

use super::{IdPath, TenantIdParams, TenantParams};
use crate::WebState;
use crate::error::{ApiError, ApiResult, ErrorEnvelope};
use crate::extract::{ApiJson, ApiPath, Scoped};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sq_store::{Device, DeviceKind};
use utoipa::ToSchema;
use uuid::Uuid;

/// A paired device as listed: never its key.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct DeviceDto {
    pub id: Uuid,
    pub site_id: Uuid,
    pub name: String,
    /// `display` or `kiosk`.
    #[schema(example = "display")]
    pub kind: String,
    #[schema(example = "sqd_a1b2c3")]
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<Device> for DeviceDto {
    fn from(d: Device) -> Self {
        Self {
            id: d.id.0,
            site_id: d.site_id.0,
            name: d.name.into(),
            kind: d.kind.as_str().to_owned(),
            prefix: d.prefix,
            created_at: d.created_at,
            revoked_at: d.revoked_at,
        }
    }
}

/// A new device. `key` is shown this once; only its hash is stored.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct DeviceCreatedDto {
    #[serde(flatten)]
    pub device: DeviceDto,
    pub key: String,
    /// Where the device opens its page, e.g. `/display/sqd_…`.
    pub path: String,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct CreateDeviceRequest {
    pub site_id: Uuid,
    #[schema(example = "Hall display")]
    pub name: String,
    /// `display` or `kiosk`.
    #[schema(example = "display")]
    pub kind: String,
}

/// Lists the tenant's paired displays and kiosks.
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant}/devices", tag = "access", params(TenantParams),
    responses((status = 200, description = "Devices.", body = Vec<DeviceDto>)),
    security(("bearer" = ["manage:tenant"]))
)]
pub(crate) async fn list_devices(
    State(s): State<WebState>,
    sc: Scoped,
) -> ApiResult<Json<Vec<DeviceDto>>> {
    let list = s.app.devices(&sc.principal, &sc.tenant).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// Pairs a display or kiosk with a site; the key is in this response only.
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant}/devices", tag = "access", params(TenantParams),
    request_body = CreateDeviceRequest,
    responses(
        (status = 201, description = "Paired; `key` is shown once.", body = DeviceCreatedDto),
        (status = 404, description = "No such site in this tenant.", body = ErrorEnvelope),
    ),
    security(("bearer" = ["manage:tenant"]))
)]
pub(crate) async fn create_device(
    State(s): State<WebState>,
    sc: Scoped,
    ApiJson(req): ApiJson<CreateDeviceRequest>,
) -> ApiResult<(StatusCode, Json<DeviceCreatedDto>)> {
    let kind = DeviceKind::parse(&req.kind)
        .ok_or_else(|| ApiError::from_code("invalid_request").with_field("kind"))?;
    let (device, key) = s
        .app
        .create_device(
            &sc.principal,
            &sc.tenant,
            req.site_id.into(),
            &req.name,
            kind,
            &sc.meta,
        )
        .await?;
    let path = format!("/{}/{key}", kind.as_str());
    let body = DeviceCreatedDto {
        device: device.into(),
        key,
        path,
    };
    Ok((StatusCode::CREATED, Json(body)))
}

/// Revokes a device: its pages and live socket answer 404 from now on.
#[utoipa::path(
    delete, path = "/api/v1/tenants/{tenant}/devices/{id}", tag = "access",
    params(TenantIdParams),
    responses(
        (status = 200, description = "The device, with `revoked_at` set.", body = DeviceDto),
        (status = 404, description = "No such device in this tenant.", body = ErrorEnvelope),
    ),
    security(("bearer" = ["manage:tenant"]))
)]
pub(crate) async fn revoke_device(
    State(s): State<WebState>,
    sc: Scoped,
    ApiPath(IdPath { id }): ApiPath<IdPath>,
) -> ApiResult<Json<DeviceDto>> {
    let d = s
        .app
        .revoke_device(&sc.principal, &sc.tenant, id.into(), &sc.meta)
        .await?;
    Ok(Json(d.into()))
}
