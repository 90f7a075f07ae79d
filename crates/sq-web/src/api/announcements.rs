//! Display announcements over the API (issue 5): the lines a site's displays show in their
//! ticker. The same use cases as the `/admin/announcements` page; every write reaches open
//! displays at once through the change bus.

use crate::WebState;
use crate::error::{ApiResult, ErrorEnvelope};
use crate::extract::{ApiJson, ApiPath, Scoped};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sq_store::Announcement;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// An announcement as listed.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AnnouncementDto {
    pub id: Uuid,
    pub site_id: Uuid,
    #[schema(example = "We close at 13:00 on Friday.")]
    pub text: String,
    /// Shown from (inclusive); `null`: from its creation.
    pub starts_at: Option<DateTime<Utc>>,
    /// Shown until (exclusive); `null`: until deleted.
    pub ends_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Whether displays show it now.
    pub active: bool,
}

impl AnnouncementDto {
    fn of(a: Announcement, now: DateTime<Utc>) -> Self {
        Self {
            active: a.is_active(now),
            id: a.id.0,
            site_id: a.site_id.0,
            text: a.text.into(),
            starts_at: a.starts_at,
            ends_at: a.ends_at,
            created_at: a.created_at,
        }
    }
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct CreateAnnouncementRequest {
    /// 1–280 characters on one line (`invalid_announcement` otherwise).
    #[schema(example = "We close at 13:00 on Friday.")]
    pub text: String,
    /// RFC 3339; absent: shown at once.
    #[serde(default)]
    pub starts_at: Option<DateTime<Utc>>,
    /// RFC 3339, after `starts_at` (`invalid_time_window` otherwise); absent: until deleted.
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
}

/// `{tenant}` and `{site_id}` in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct SitePath {
    /// The tenant's slug.
    #[param(example = "demo")]
    #[allow(dead_code)]
    #[serde(default)]
    tenant: String,
    /// The site whose displays show the announcements.
    site_id: Uuid,
}

/// `{tenant}`, `{site_id}` and `{id}` in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct SiteItemPath {
    /// The tenant's slug.
    #[param(example = "demo")]
    #[allow(dead_code)]
    #[serde(default)]
    tenant: String,
    site_id: Uuid,
    /// The announcement.
    id: Uuid,
}

/// Lists a site's announcements (past, current and scheduled), in publication order.
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant}/sites/{site_id}/announcements", tag = "catalogue",
    params(SitePath),
    responses(
        (status = 200, description = "Announcements.", body = Vec<AnnouncementDto>),
        (status = 404, description = "No such site in this tenant.", body = ErrorEnvelope),
    ),
    security(("bearer" = ["manage:announcements"]))
)]
pub(crate) async fn list_announcements(
    State(s): State<WebState>,
    sc: Scoped,
    ApiPath(SitePath { site_id, .. }): ApiPath<SitePath>,
) -> ApiResult<Json<Vec<AnnouncementDto>>> {
    let list = s
        .app
        .announcements(&sc.principal, &sc.tenant, site_id.into())
        .await?;
    let now = s.app.now();
    Ok(Json(
        list.into_iter()
            .map(|a| AnnouncementDto::of(a, now))
            .collect(),
    ))
}

/// Publishes an announcement on the site's displays; open displays show it at once.
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant}/sites/{site_id}/announcements", tag = "catalogue",
    params(SitePath), request_body = CreateAnnouncementRequest,
    responses(
        (status = 201, description = "Published.", body = AnnouncementDto),
        (status = 404, description = "No such site in this tenant.", body = ErrorEnvelope),
        (status = 422, description = "`invalid_announcement`: the text is empty, longer than \
            280 characters or has line breaks; `invalid_time_window`: `ends_at` is not after \
            `starts_at`.", body = ErrorEnvelope),
    ),
    security(("bearer" = ["manage:announcements"]))
)]
pub(crate) async fn create_announcement(
    State(s): State<WebState>,
    sc: Scoped,
    ApiPath(SitePath { site_id, .. }): ApiPath<SitePath>,
    ApiJson(req): ApiJson<CreateAnnouncementRequest>,
) -> ApiResult<(StatusCode, Json<AnnouncementDto>)> {
    let a = s
        .app
        .create_announcement(
            &sc.principal,
            &sc.tenant,
            site_id.into(),
            &req.text,
            req.starts_at,
            req.ends_at,
            &sc.meta,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(AnnouncementDto::of(a, s.app.now())),
    ))
}

/// Deletes an announcement: open displays drop it at once.
#[utoipa::path(
    delete, path = "/api/v1/tenants/{tenant}/sites/{site_id}/announcements/{id}",
    tag = "catalogue", params(SiteItemPath),
    responses(
        (status = 200, description = "The deleted announcement.", body = AnnouncementDto),
        (status = 404, description = "No such announcement on this site of this tenant.",
            body = ErrorEnvelope),
    ),
    security(("bearer" = ["manage:announcements"]))
)]
pub(crate) async fn delete_announcement(
    State(s): State<WebState>,
    sc: Scoped,
    ApiPath(SiteItemPath { site_id, id, .. }): ApiPath<SiteItemPath>,
) -> ApiResult<Json<AnnouncementDto>> {
    let a = s
        .app
        .delete_announcement(
            &sc.principal,
            &sc.tenant,
            site_id.into(),
            id.into(),
            &sc.meta,
        )
        .await?;
    Ok(Json(AnnouncementDto::of(a, s.app.now())))
}
