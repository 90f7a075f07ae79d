use super::{IdPath, TenantIdParams, TenantParams, parse, parse_opt};
use crate::WebState;
use crate::dto::*;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiPath, Scoped};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use sq_domain::model::Skill;
use sq_store::{NewAgent, NewCounter, NewQueue, NewService, NewSite};

type Created<T> = ApiResult<(StatusCode, Json<T>)>;

fn list<T, D: From<T>>(v: Vec<T>) -> Json<Vec<D>> {
    Json(v.into_iter().map(D::from).collect())
}

fn created<T, D: From<T>>(v: T) -> Created<D> {
    Ok((StatusCode::CREATED, Json(D::from(v))))
}

/// The tenant's sites (a device sees its own only).
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant}/sites", tag = "catalogue", params(TenantParams),
    responses((status = 200, description = "Sites.", body = Vec<SiteDto>)),
    security(("bearer" = ["read:queue"]))
)]
pub(crate) async fn list_sites(
    State(s): State<WebState>,
    sc: Scoped,
) -> ApiResult<Json<Vec<SiteDto>>> {
    Ok(list(s.app.sites(&sc.principal, &sc.tenant).await?))
}

/// Creates a site. Its time zone sets the local day of ticket numbers.
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant}/sites", tag = "catalogue", params(TenantParams),
    request_body = CreateSiteRequest,
    responses((status = 201, description = "Created.", body = SiteDto)),
    security(("bearer" = ["manage:tenant"]))
)]
pub(crate) async fn create_site(
    State(s): State<WebState>,
    sc: Scoped,
    ApiJson(req): ApiJson<CreateSiteRequest>,
) -> Created<SiteDto> {
    let site = NewSite {
        name: parse("name", &req.name)?,
        timezone: parse("timezone", &req.timezone)?,
        locale: parse_opt("locale", req.locale.as_deref())?
            .unwrap_or_else(|| sc.tenant.default_locale.clone()),
    };
    created(
        s.app
            .create_site(&sc.principal, &sc.tenant, site, &sc.meta)
            .await?,
    )
}

/// The tenant's services.
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant}/services", tag = "catalogue", params(TenantParams),
    responses((status = 200, description = "Services.", body = Vec<ServiceDto>)),
    security(("bearer" = ["read:queue"]))
)]
pub(crate) async fn list_services(
    State(s): State<WebState>,
    sc: Scoped,
) -> ApiResult<Json<Vec<ServiceDto>>> {
    Ok(list(s.app.services(&sc.principal, &sc.tenant).await?))
}

/// Creates a service at a site.
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant}/services", tag = "catalogue", params(TenantParams),
    request_body = CreateServiceRequest,
    responses((status = 201, description = "Created.", body = ServiceDto)),
    security(("bearer" = ["manage:tenant"]))
)]
pub(crate) async fn create_service(
    State(s): State<WebState>,
    sc: Scoped,
    ApiJson(req): ApiJson<CreateServiceRequest>,
) -> Created<ServiceDto> {
    let svc = NewService {
        site_id: req.site_id.into(),
        name: parse("name", &req.name)?,
        sla_target_secs: req.sla_target_secs,
        expected_duration_secs: req.expected_duration_secs,
    };
    created(
        s.app
            .create_service(&sc.principal, &sc.tenant, svc, &sc.meta)
            .await?,
    )
}

/// The tenant's queues.
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant}/queues", tag = "catalogue", params(TenantParams),
    responses((status = 200, description = "Queues.", body = Vec<QueueDto>)),
    security(("bearer" = ["read:queue"]))
)]
pub(crate) async fn list_queues(
    State(s): State<WebState>,
    sc: Scoped,
) -> ApiResult<Json<Vec<QueueDto>>> {
    Ok(list(s.app.queues(&sc.principal, &sc.tenant).await?))
}

/// Creates a queue for a service, with its calling policy.
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant}/queues", tag = "catalogue", params(TenantParams),
    request_body = CreateQueueRequest,
    responses((status = 201, description = "Created.", body = QueueDto)),
    security(("bearer" = ["manage:tenant"]))
)]
pub(crate) async fn create_queue(
    State(s): State<WebState>,
    sc: Scoped,
    ApiJson(req): ApiJson<CreateQueueRequest>,
) -> Created<QueueDto> {
    let q = NewQueue {
        service_id: req.service_id.into(),
        name: parse("name", &req.name)?,
        prefix: parse("prefix", &req.prefix)?,
        policy: req.policy.into(),
    };
    created(
        s.app
            .create_queue(&sc.principal, &sc.tenant, q, &sc.meta)
            .await?,
    )
}

/// A queue's live state.
///
/// The queue's fields, the number waiting, the tickets at counters and the next ten in
/// the order the policy will call them.
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant}/queues/{id}", tag = "catalogue",
    params(TenantIdParams),
    responses((status = 200, description = "The queue and its line.", body = QueueOverviewDto)),
    security(("bearer" = ["read:queue"]))
)]
pub(crate) async fn get_queue(
    State(s): State<WebState>,
    sc: Scoped,
    ApiPath(IdPath { id }): ApiPath<IdPath>,
) -> ApiResult<Json<QueueOverviewDto>> {
    let o = s
        .app
        .queue_overview(&sc.principal, &sc.tenant, id.into())
        .await?;
    Ok(Json(o.into()))
}

/// Opens, pauses (calls continue, no new tickets) or closes a queue.
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant}/queues/{id}/status", tag = "catalogue",
    params(TenantIdParams), request_body = QueueStatusRequest,
    responses((status = 200, description = "The queue.", body = QueueDto)),
    security(("bearer" = ["write:queue"]))
)]
pub(crate) async fn set_queue_status(
    State(s): State<WebState>,
    sc: Scoped,
    ApiPath(IdPath { id }): ApiPath<IdPath>,
    ApiJson(req): ApiJson<QueueStatusRequest>,
) -> ApiResult<Json<QueueDto>> {
    let status = parse("status", &req.status)?;
    let q = s
        .app
        .set_queue_status(&sc.principal, &sc.tenant, id.into(), status, &sc.meta)
        .await?;
    Ok(Json(q.into()))
}

/// The tenant's counters.
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant}/counters", tag = "catalogue", params(TenantParams),
    responses((status = 200, description = "Counters.", body = Vec<CounterDto>)),
    security(("bearer" = ["read:queue"]))
)]
pub(crate) async fn list_counters(
    State(s): State<WebState>,
    sc: Scoped,
) -> ApiResult<Json<Vec<CounterDto>>> {
    Ok(list(s.app.counters(&sc.principal, &sc.tenant).await?))
}

/// Creates a counter at a site.
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant}/counters", tag = "catalogue", params(TenantParams),
    request_body = CreateCounterRequest,
    responses((status = 201, description = "Created.", body = CounterDto)),
    security(("bearer" = ["manage:tenant"]))
)]
pub(crate) async fn create_counter(
    State(s): State<WebState>,
    sc: Scoped,
    ApiJson(req): ApiJson<CreateCounterRequest>,
) -> Created<CounterDto> {
    let c = NewCounter {
        site_id: req.site_id.into(),
        name: parse("name", &req.name)?,
    };
    created(
        s.app
            .create_counter(&sc.principal, &sc.tenant, c, &sc.meta)
            .await?,
    )
}

/// The tenant's agents.
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant}/agents", tag = "catalogue", params(TenantParams),
    responses((status = 200, description = "Agents.", body = Vec<AgentDto>)),
    security(("bearer" = ["read:queue"]))
)]
pub(crate) async fn list_agents(
    State(s): State<WebState>,
    sc: Scoped,
) -> ApiResult<Json<Vec<AgentDto>>> {
    Ok(list(s.app.agents(&sc.principal, &sc.tenant).await?))
}

/// Creates an agent with skills (service × weight 1–100).
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant}/agents", tag = "catalogue", params(TenantParams),
    request_body = CreateAgentRequest,
    responses((status = 201, description = "Created.", body = AgentDto)),
    security(("bearer" = ["manage:tenant"]))
)]
pub(crate) async fn create_agent(
    State(s): State<WebState>,
    sc: Scoped,
    ApiJson(req): ApiJson<CreateAgentRequest>,
) -> Created<AgentDto> {
    let a = NewAgent {
        site_id: req.site_id.into(),
        user_id: req.user_id.map(Into::into),
        name: parse("name", &req.name)?,
        skills: req
            .skills
            .into_iter()
            .map(|k| Skill {
                service_id: k.service_id.into(),
                weight: k.weight,
            })
            .collect(),
    };
    created(
        s.app
            .create_agent(&sc.principal, &sc.tenant, a, &sc.meta)
            .await?,
    )
}

/// Sets an agent's availability. Agents may set only their own.
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant}/agents/{id}/status", tag = "catalogue",
    params(TenantIdParams), request_body = AgentStatusRequest,
    responses((status = 200, description = "The agent.", body = AgentDto)),
    security(("bearer" = ["call:tickets"]))
)]
pub(crate) async fn set_agent_status(
    State(s): State<WebState>,
    sc: Scoped,
    ApiPath(IdPath { id }): ApiPath<IdPath>,
    ApiJson(req): ApiJson<AgentStatusRequest>,
) -> ApiResult<Json<AgentDto>> {
    let status = parse("status", &req.status)?;
    let a = s
        .app
        .set_agent_status(&sc.principal, &sc.tenant, id.into(), status, &sc.meta)
        .await?;
    Ok(Json(a.into()))
}
