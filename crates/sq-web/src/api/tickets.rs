use super::{IdPath, TenantIdParams, TenantParams, parse, parse_opt};
use crate::WebState;
use crate::dto::{
    CallNextRequest, ContactRequest, CreateTicketRequest, PauseRequest, TicketDto, TicketQuery,
    TransferRequest,
};
use crate::error::{ApiError, ApiResult, ErrorEnvelope};
use crate::extract::{ApiJson, ApiJsonOrEmpty, ApiPath, ApiQuery, Scoped};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use sq_domain::QueueId;
use sq_domain::ticket::TicketAction;
use sq_store::{ContactInput, IssueTicket, TicketFilter};
use uuid::Uuid;

fn contact(c: ContactRequest) -> ApiResult<ContactInput> {
    Ok(ContactInput {
        phone: parse_opt("contact.phone", c.phone.as_deref())?,
        name: parse_opt("contact.name", c.name.as_deref())?,
        locale: parse_opt("contact.locale", c.locale.as_deref())?,
    })
}

/// Issues a ticket in the service's queue, with its number, position and ETA.
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant}/tickets", tag = "tickets", params(TenantParams),
    request_body = CreateTicketRequest,
    responses(
        (status = 201, description = "Issued.", body = TicketDto),
        (status = 409, description = "`queue_closed`: the queue is paused or closed.",
            body = ErrorEnvelope),
    ),
    security(("bearer" = ["write:queue"]))
)]
pub(crate) async fn create_ticket(
    State(s): State<WebState>,
    sc: Scoped,
    ApiJson(req): ApiJson<CreateTicketRequest>,
) -> ApiResult<(StatusCode, Json<TicketDto>)> {
    let issue = IssueTicket {
        service_id: req.service_id.into(),
        channel: parse("channel", &req.channel)?,
        priority: req.priority,
        contact: req.contact.map(contact).transpose()?,
    };
    let v = s
        .app
        .issue_ticket(&sc.principal, &sc.tenant, issue, &sc.meta)
        .await?;
    Ok((StatusCode::CREATED, Json(v.into())))
}

/// Lists tickets, newest first, with live positions for waiting ones.
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant}/tickets", tag = "tickets",
    params(TenantParams, TicketQuery),
    responses((status = 200, description = "Tickets.", body = Vec<TicketDto>)),
    security(("bearer" = ["read:queue"]))
)]
pub(crate) async fn list_tickets(
    State(s): State<WebState>,
    sc: Scoped,
    ApiQuery(q): ApiQuery<TicketQuery>,
) -> ApiResult<Json<Vec<TicketDto>>> {
    let given = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    let filter = TicketFilter {
        status: parse_opt("status", given(q.status).as_deref())?,
        queue_id: given(q.queue_id)
            .map(|v| {
                v.trim()
                    .parse::<Uuid>()
                    .map(Into::into)
                    .map_err(|_| ApiError::from_code("invalid_id").with_field("queue_id"))
            })
            .transpose()?,
        limit: given(q.limit)
            .map(|v| {
                v.trim()
                    .parse::<u32>()
                    .map_err(|_| ApiError::from_code("invalid_request").with_field("limit"))
            })
            .transpose()?,
    };
    let list = s.app.tickets(&sc.principal, &sc.tenant, &filter).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// One ticket with its live position and ETA.
#[utoipa::path(
    get, path = "/api/v1/tenants/{tenant}/tickets/{id}", tag = "tickets",
    params(TenantIdParams),
    responses((status = 200, description = "The ticket.", body = TicketDto)),
    security(("bearer" = ["read:queue"]))
)]
pub(crate) async fn get_ticket(
    State(s): State<WebState>,
    sc: Scoped,
    ApiPath(IdPath { id }): ApiPath<IdPath>,
) -> ApiResult<Json<TicketDto>> {
    let v = s.app.ticket(&sc.principal, &sc.tenant, id.into()).await?;
    Ok(Json(v.into()))
}

/// Calls the next ticket for agent `{id}` at a counter.
///
/// The ticket is chosen by the queues' policies among the services the agent has a skill
/// for, optionally only from the queues named in `queue_ids`. Agents may call only as
/// themselves.
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant}/agents/{id}/call-next", tag = "tickets",
    params(TenantIdParams), request_body = CallNextRequest,
    responses(
        (status = 200, description = "The called ticket.", body = TicketDto),
        (status = 404, description = "`queue_empty`: nothing is waiting (in the chosen \
            queues); or `not_found` (agent, counter, or a queue of `queue_ids`).",
            body = ErrorEnvelope),
        (status = 422, description = "`queue_not_served`: a queue of `queue_ids` is at \
            another site or of a service the agent has no skill for; `invalid_request`: more \
            than 100 ids.", body = ErrorEnvelope),
    ),
    security(("bearer" = ["call:tickets"]))
)]
pub(crate) async fn call_next(
    State(s): State<WebState>,
    sc: Scoped,
    ApiPath(IdPath { id }): ApiPath<IdPath>,
    ApiJson(req): ApiJson<CallNextRequest>,
) -> ApiResult<Json<TicketDto>> {
    let queues: Option<Vec<QueueId>> = req
        .queue_ids
        .map(|ids| ids.into_iter().map(QueueId::from).collect());
    let v = s
        .app
        .call_next(
            &sc.principal,
            &sc.tenant,
            id.into(),
            req.counter_id.into(),
            queues.as_deref(),
            &sc.meta,
        )
        .await?;
    Ok(Json(v.into()))
}

async fn act(
    s: &WebState,
    sc: &Scoped,
    id: Uuid,
    action: TicketAction,
) -> ApiResult<Json<TicketDto>> {
    let v = s
        .app
        .act(&sc.principal, &sc.tenant, id.into(), action, &sc.meta)
        .await?;
    Ok(Json(v.into()))
}

/// A ticket action without a body. `$doc` is the operation's description.
macro_rules! action {
    ($name:ident, $path:tt, $scope:tt, $action:expr, $doc:tt) => {
        #[doc = $doc]
        #[utoipa::path(
            post, path = $path, tag = "tickets", params(TenantIdParams),
            responses(
                (status = 200, description = "The ticket after the action.", body = TicketDto),
                (status = 409, description = "`illegal_transition`: not possible in the \
                    ticket's current state.", body = ErrorEnvelope),
            ),
            security(("bearer" = [$scope]))
        )]
        pub(crate) async fn $name(
            State(s): State<WebState>,
            sc: Scoped,
            ApiPath(IdPath { id }): ApiPath<IdPath>,
        ) -> ApiResult<Json<TicketDto>> {
            act(&s, &sc, id, $action).await
        }
    };
}

action!(
    recall,
    "/api/v1/tenants/{tenant}/tickets/{id}/recall",
    "call:tickets",
    TicketAction::Recall,
    "Announces a called ticket again (counted)."
);
action!(
    start,
    "/api/v1/tenants/{tenant}/tickets/{id}/start",
    "call:tickets",
    TicketAction::Start,
    "Starts serving a called ticket."
);
action!(
    close,
    "/api/v1/tenants/{tenant}/tickets/{id}/close",
    "call:tickets",
    TicketAction::Close,
    "Finishes serving a ticket (served); its time feeds the ETA."
);
action!(
    no_show,
    "/api/v1/tenants/{tenant}/tickets/{id}/no-show",
    "call:tickets",
    TicketAction::NoShow,
    "Marks a called ticket whose customer did not come."
);
action!(
    resume,
    "/api/v1/tenants/{tenant}/tickets/{id}/resume",
    "call:tickets",
    TicketAction::Resume,
    "Resumes serving a paused ticket."
);
action!(
    cancel,
    "/api/v1/tenants/{tenant}/tickets/{id}/cancel",
    "write:queue",
    TicketAction::Cancel,
    "Cancels a waiting ticket (the customer leaves the line)."
);

/// Longest pause reason kept with the ticket event.
const MAX_REASON: usize = 500;

/// Pauses serving a ticket.
///
/// The body and its `reason` are optional; paused time does not count as service time.
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant}/tickets/{id}/pause", tag = "tickets",
    params(TenantIdParams), request_body(content = Option<PauseRequest>, description = "Optional."),
    responses(
        (status = 200, description = "The paused ticket.", body = TicketDto),
        (status = 409, description = "`illegal_transition`.", body = ErrorEnvelope),
    ),
    security(("bearer" = ["call:tickets"]))
)]
pub(crate) async fn pause(
    State(s): State<WebState>,
    sc: Scoped,
    ApiPath(IdPath { id }): ApiPath<IdPath>,
    ApiJsonOrEmpty(req): ApiJsonOrEmpty<PauseRequest>,
) -> ApiResult<Json<TicketDto>> {
    let reason = req
        .reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    if reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > MAX_REASON)
    {
        return Err(ApiError::from_code("invalid_request").with_field("reason"));
    }
    act(&s, &sc, id, TicketAction::Pause { reason }).await
}

/// Moves a waiting or called ticket to another queue.
///
/// The response is the **new** ticket; the original ends as `transferred`.
#[utoipa::path(
    post, path = "/api/v1/tenants/{tenant}/tickets/{id}/transfer", tag = "tickets",
    params(TenantIdParams), request_body = TransferRequest,
    responses(
        (status = 200, description = "The new ticket in the target queue.", body = TicketDto),
        (status = 409, description = "`illegal_transition`.", body = ErrorEnvelope),
    ),
    security(("bearer" = ["call:tickets"]))
)]
pub(crate) async fn transfer(
    State(s): State<WebState>,
    sc: Scoped,
    ApiPath(IdPath { id }): ApiPath<IdPath>,
    ApiJson(req): ApiJson<TransferRequest>,
) -> ApiResult<Json<TicketDto>> {
    let action = TicketAction::Transfer {
        to_queue_id: req.to_queue_id.into(),
        keep_position: req.keep_position,
    };
    act(&s, &sc, id, action).await
}
