//! Messaging channels of a tenant (provider accounts) and the messages sent through them.

use super::TenantParams;
use crate::WebState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, Scoped};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sq_app::{Messaging, NewChannelRequest};
use sq_store::{ChannelRecord, OutboundRecord};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// A configured channel. Its credentials are stored encrypted and never returned.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ChannelDto {
    /// Unguessable; the provider's webhook URL is `/hooks/{id}`.
    pub id: String,
    #[schema(example = "twilio")]
    pub provider: String,
    #[schema(example = "sms")]
    pub kind: String,
    pub name: String,
    /// Where to point the provider: `/hooks/{id}` (plus the suffixes its adapter needs).
    pub webhook_path: String,
    pub created_at: DateTime<Utc>,
}

impl From<ChannelRecord> for ChannelDto {
    fn from(c: ChannelRecord) -> Self {
        Self {
            webhook_path: format!("/hooks/{}", c.id),
            id: c.id,
            provider: c.provider,
            kind: c.kind.as_str().to_owned(),
            name: c.name,
            created_at: c.created_at,
        }
    }
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateChannelRequest {
    /// Optional fixed id (3–64 of a-z, 0-9, `-`, `_`); random when left out.
    pub id: Option<String>,
    pub name: String,
    /// The provider's settings, e.g.
    /// `{"provider":"telegram","bot_token":"…","secret_token":"…"}`.
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
}

/// An outbound message and where it is.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MessageDto {
    pub id: Uuid,
    pub channel_id: String,
    /// The recipient, shortened to its last digits.
    pub to: String,
    #[schema(example = "notification")]
    pub class: String,
    #[schema(example = "delivered")]
    pub status: String,
    pub attempts: u32,
    pub provider_message_id: Option<String>,
    pub last_error: Option<String>,
    pub text: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<OutboundRecord> for MessageDto {
    fn from(o: OutboundRecord) -> Self {
        let text = o
            .body
            .pointer("/body/text")
            .and_then(|t| t.as_str())
            .map(str::to_owned);
        Self {
            id: o.id,
            channel_id: o.channel_id,
            to: sq_app::messaging::redact(&o.address),
            class: o.class.as_str().to_owned(),
            status: o.status.as_str().to_owned(),
            attempts: o.attempts,
            provider_message_id: o.provider_message_id,
            last_error: o.last_error,
            text,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

#[derive(Clone, Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MessageQuery {
    /// At most this many, newest first (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// A customer's rating of a visit.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FeedbackDto {
    pub id: Uuid,
    pub channel_id: String,
    pub ticket: Option<String>,
    #[schema(example = "csat")]
    pub scale: String,
    pub score: i64,
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<sq_store::Feedback> for FeedbackDto {
    fn from(f: sq_store::Feedback) -> Self {
        Self {
            id: f.id,
            channel_id: f.channel_id,
            ticket: f.ticket,
            scale: f.scale,
            score: f.score,
            comment: f.comment,
            created_at: f.created_at,
        }
    }
}

fn messaging(s: &WebState) -> ApiResult<&Messaging> {
    s.messaging
        .as_ref()
        .ok_or_else(|| ApiError::from_code("messaging_disabled"))
}

/// The tenant's channels.
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant}/channels", tag = "channels", params(TenantParams),
    responses((status = 200, description = "Channels, without credentials.", body = Vec<ChannelDto>)),
    security(("bearer" = ["manage:tenant"]))
)]
pub(crate) async fn list_channels(
    State(s): State<WebState>,
    sc: Scoped,
) -> ApiResult<Json<Vec<ChannelDto>>> {
    let list = messaging(&s)?.channels(&sc.principal, &sc.tenant).await?;
    Ok(Json(list.into_iter().map(ChannelDto::from).collect()))
}

/// Adds a channel: the configuration is checked against its provider and stored encrypted.
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant}/channels", tag = "channels", params(TenantParams),
    request_body = CreateChannelRequest,
    responses((status = 201, description = "Created.", body = ChannelDto)),
    security(("bearer" = ["manage:tenant"]))
)]
pub(crate) async fn create_channel(
    State(s): State<WebState>,
    sc: Scoped,
    ApiJson(req): ApiJson<CreateChannelRequest>,
) -> ApiResult<(StatusCode, Json<ChannelDto>)> {
    let rec = messaging(&s)?
        .create_channel(
            &sc.principal,
            &sc.tenant,
            NewChannelRequest {
                id: req.id,
                name: req.name,
                config: req.config,
            },
            &sc.meta,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(rec.into())))
}

/// Messages sent (or being sent) to customers, newest first, with delivery state.
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant}/messages", tag = "channels",
    params(TenantParams, MessageQuery),
    responses((status = 200, description = "Outbound messages.", body = Vec<MessageDto>)),
    security(("bearer" = ["read:reports"]))
)]
pub(crate) async fn list_messages(
    State(s): State<WebState>,
    sc: Scoped,
    ApiQuery(q): ApiQuery<MessageQuery>,
) -> ApiResult<Json<Vec<MessageDto>>> {
    let list = messaging(&s)?
        .outbound(&sc.principal, &sc.tenant, q.limit.unwrap_or(100))
        .await?;
    Ok(Json(list.into_iter().map(MessageDto::from).collect()))
}

/// Ratings customers gave after their visit (the feedback flow), newest first.
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant}/feedback", tag = "channels",
    params(TenantParams, MessageQuery),
    responses((status = 200, description = "Ratings.", body = Vec<FeedbackDto>)),
    security(("bearer" = ["read:reports"]))
)]
pub(crate) async fn list_feedback(
    State(s): State<WebState>,
    sc: Scoped,
    ApiQuery(q): ApiQuery<MessageQuery>,
) -> ApiResult<Json<Vec<FeedbackDto>>> {
    let list = messaging(&s)?
        .feedback(&sc.principal, &sc.tenant, q.limit.unwrap_or(100))
        .await?;
    Ok(Json(list.into_iter().map(FeedbackDto::from).collect()))
}
