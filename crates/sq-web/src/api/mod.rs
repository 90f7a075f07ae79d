//! REST API v1: every route under `/api/v1`, tenant scoped by slug. Each handler parses its
//! input into domain values, calls one [`sq_app::App`] use case (which checks the scope and
//! the tenant) and converts the result into a DTO.

mod access;
mod announcements;
mod auth;
mod catalogue;
mod channels;
mod devices;
mod system;
mod tickets;

use crate::WebState;
use crate::docs::Conventions;
use crate::error::{ApiError, ApiResult};
use axum::Router;
use axum::routing::{delete, get, post};
use serde::Deserialize;
use sq_domain::ParseError;
use std::str::FromStr;
use utoipa::IntoParams;
use uuid::Uuid;

pub(crate) fn routes() -> Router<WebState> {
    const T: &str = "/api/v1/tenants/{tenant}";
    let r = |p: &str| format!("{T}{p}");
    Router::new()
        .route("/api/v1/health", get(system::health))
        .route("/api/v1/auth/token", post(auth::token))
        .route("/api/v1/auth/refresh", post(auth::refresh))
        .route(
            "/api/v1/tenants",
            get(access::list_tenants).post(access::create_tenant),
        )
        .route(&r("/users"), post(access::create_user))
        .route(
            &r("/api-keys"),
            get(access::list_api_keys).post(access::create_api_key),
        )
        .route(&r("/api-keys/{id}"), delete(access::revoke_api_key))
        .route(
            &r("/sites"),
            get(catalogue::list_sites).post(catalogue::create_site),
        )
        .route(
            &r("/services"),
            get(catalogue::list_services).post(catalogue::create_service),
        )
        .route(
            &r("/queues"),
            get(catalogue::list_queues).post(catalogue::create_queue),
        )
        .route(&r("/queues/{id}"), get(catalogue::get_queue))
        .route(&r("/queues/{id}/status"), post(catalogue::set_queue_status))
        .route(
            &r("/counters"),
            get(catalogue::list_counters).post(catalogue::create_counter),
        )
        .route(
            &r("/agents"),
            get(catalogue::list_agents).post(catalogue::create_agent),
        )
        .route(&r("/agents/{id}/status"), post(catalogue::set_agent_status))
        .route(&r("/agents/{id}/call-next"), post(tickets::call_next))
        .route(
            &r("/tickets"),
            get(tickets::list_tickets).post(tickets::create_ticket),
        )
        .route(&r("/tickets/{id}"), get(tickets::get_ticket))
        .route(&r("/tickets/{id}/recall"), post(tickets::recall))
        .route(&r("/tickets/{id}/start"), post(tickets::start))
        .route(&r("/tickets/{id}/close"), post(tickets::close))
        .route(&r("/tickets/{id}/no-show"), post(tickets::no_show))
        .route(&r("/tickets/{id}/pause"), post(tickets::pause))
        .route(&r("/tickets/{id}/resume"), post(tickets::resume))
        .route(&r("/tickets/{id}/cancel"), post(tickets::cancel))
        .route(&r("/tickets/{id}/transfer"), post(tickets::transfer))
        .route(
            &r("/channels"),
            get(channels::list_channels).post(channels::create_channel),
        )
        .route(&r("/messages"), get(channels::list_messages))
        .route(&r("/feedback"), get(channels::list_feedback))
        // Web views (issue 5): device pairing.
        .route(
            &r("/devices"),
            get(devices::list_devices).post(devices::create_device),
        )
        .route(&r("/devices/{id}"), delete(devices::revoke_device))
        // Web views (issue 5): display announcements.
        .route(
            &r("/sites/{site_id}/announcements"),
            get(announcements::list_announcements).post(announcements::create_announcement),
        )
        .route(
            &r("/sites/{site_id}/announcements/{id}"),
            delete(announcements::delete_announcement),
        )
}

/// The OpenAPI document of the routes above.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "SmartQueue API",
        version = "1",
        description = "Multi-tenant queue service. Every tenant route is scoped by the \
            tenant's slug; another tenant's slug or ids answer 404 `not_found`. Errors are \
            `{\"error\": {\"code\", \"message\", \"field\"?}}` with the message in the language \
            of `Accept-Language` (en, fr, ar, sw, pt)."
    ),
    paths(
        system::health,
        auth::token,
        auth::refresh,
        access::list_tenants,
        access::create_tenant,
        access::create_user,
        access::list_api_keys,
        access::create_api_key,
        access::revoke_api_key,
        catalogue::list_sites,
        catalogue::create_site,
        catalogue::list_services,
        catalogue::create_service,
        catalogue::list_queues,
        catalogue::create_queue,
        catalogue::get_queue,
        catalogue::set_queue_status,
        catalogue::list_counters,
        catalogue::create_counter,
        catalogue::list_agents,
        catalogue::create_agent,
        catalogue::set_agent_status,
        tickets::create_ticket,
        tickets::list_tickets,
        tickets::get_ticket,
        tickets::call_next,
        tickets::recall,
        tickets::start,
        tickets::close,
        tickets::no_show,
        tickets::pause,
        tickets::resume,
        tickets::cancel,
        tickets::transfer,
        channels::list_channels,
        channels::create_channel,
        channels::list_messages,
        channels::list_feedback,
        devices::list_devices,
        devices::create_device,
        devices::revoke_device,
        announcements::list_announcements,
        announcements::create_announcement,
        announcements::delete_announcement,
    ),
    components(schemas(
        crate::error::ErrorEnvelope,
        crate::dto::TicketStatus,
        crate::dto::Channel,
        crate::dto::Role,
        crate::dto::Scope,
        crate::dto::QueueStatus,
        crate::dto::AgentStatus,
    )),
    modifiers(&Conventions),
    tags(
        (name = "system", description = "Health."),
        (name = "auth", description = "Tokens: log in and rotate refresh tokens."),
        (name = "access", description = "Tenants, logins and API keys."),
        (name = "catalogue", description = "Sites, services, queues, counters and agents."),
        (name = "tickets", description = "Issue, follow, call and serve tickets."),
    )
)]
#[derive(Debug)]
pub struct ApiDoc;

/// `{tenant}` in the path (documentation only: [`crate::extract::Scoped`] reads it).
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub(crate) struct TenantParams {
    /// The tenant's slug.
    #[param(example = "demo")]
    tenant: String,
}

/// `{tenant}` and `{id}` in the path (documentation only).
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub(crate) struct TenantIdParams {
    /// The tenant's slug.
    #[param(example = "demo")]
    tenant: String,
    /// The id of the resource named by the path.
    id: Uuid,
}

/// The `{id}` path segment.
#[derive(Debug, Deserialize)]
pub(crate) struct IdPath {
    pub id: Uuid,
}

/// Parses an external string into a domain value, naming the field when it is refused.
pub(crate) fn parse<T: FromStr<Err = ParseError>>(field: &'static str, v: &str) -> ApiResult<T> {
    v.parse().map_err(|e| ApiError::invalid(field, e))
}

/// Like [`parse`], for optional values.
pub(crate) fn parse_opt<T: FromStr<Err = ParseError>>(
    field: &'static str,
    v: Option<&str>,
) -> ApiResult<Option<T>> {
    v.map(|v| parse(field, v)).transpose()
}
