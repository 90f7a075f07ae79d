//! Row ↔ domain conversions. Every text column holding a parsed value is parsed again on
//! the way out, so a corrupt row surfaces as a `Backend` error instead of a bad value.

use crate::db;
use chrono::{DateTime, Utc};
use sq_domain::audit::{AuditContext, AuditEntry, AuditRecord};
use sq_domain::model::*;
use sq_domain::ticket::{Ticket, TicketEvent};
use sq_domain::*;
use sq_store::{ApiKey, Device, DeviceKind, Result, StoreError};
use sqlx::Row;
use sqlx::postgres::PgRow;
use std::fmt::Display;
use std::str::FromStr;

/// Column lists shared by the queries that load whole rows (macros so they can be
/// `concat!`ed into `&'static str` SQL).
#[macro_export]
#[doc(hidden)]
macro_rules! ticket_cols {
    () => {
        "id, tenant_id, site_id, queue_id, service_id, number, local_date, seq, status, \
         priority, channel, contact_id, arrived_at, created_at, called_at, started_at, \
         finished_at, counter_id, agent_id, recalls, paused_secs, paused_at, \
         transferred_from, transferred_to"
    };
}

#[macro_export]
#[doc(hidden)]
macro_rules! event_cols {
    () => {
        "position, id, tenant_id, ticket_id, kind, from_status, to_status, actor, at, data"
    };
}

pub(crate) fn get<'r, T>(r: &'r PgRow, col: &str) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    r.try_get(col).map_err(db)
}

pub(crate) fn parse<T>(r: &PgRow, col: &str) -> Result<T>
where
    T: FromStr,
    T::Err: Display,
{
    let s: String = get(r, col)?;
    s.parse()
        .map_err(|e| StoreError::Backend(format!("corrupt {col} {s:?}: {e}")))
}

fn parse_opt<T>(r: &PgRow, col: &str) -> Result<Option<T>>
where
    T: FromStr,
    T::Err: Display,
{
    let s: Option<String> = get(r, col)?;
    s.map(|s| {
        s.parse()
            .map_err(|e| StoreError::Backend(format!("corrupt {col} {s:?}: {e}")))
    })
    .transpose()
}

pub(crate) fn id<T: From<uuid::Uuid>>(r: &PgRow, col: &str) -> Result<T> {
    Ok(get::<uuid::Uuid>(r, col)?.into())
}

pub(crate) fn id_opt<T: From<uuid::Uuid>>(r: &PgRow, col: &str) -> Result<Option<T>> {
    Ok(get::<Option<uuid::Uuid>>(r, col)?.map(Into::into))
}

fn u32_col(r: &PgRow, col: &str) -> Result<u32> {
    let v: i64 = get(r, col)?;
    u32::try_from(v).map_err(|_| StoreError::Backend(format!("corrupt {col}: {v}")))
}

fn u8_col(r: &PgRow, col: &str) -> Result<u8> {
    let v: i16 = get(r, col)?;
    u8::try_from(v).map_err(|_| StoreError::Backend(format!("corrupt {col}: {v}")))
}

pub(crate) fn json_col<T: serde::de::DeserializeOwned>(r: &PgRow, col: &str) -> Result<T> {
    let v: serde_json::Value = get(r, col)?;
    serde_json::from_value(v).map_err(|e| StoreError::Backend(format!("corrupt {col}: {e}")))
}

pub(crate) fn tenant(r: &PgRow) -> Result<Tenant> {
    Ok(Tenant {
        id: id(r, "id")?,
        slug: parse(r, "slug")?,
        name: parse(r, "name")?,
        default_locale: parse(r, "default_locale")?,
        created_at: get(r, "created_at")?,
    })
}

pub(crate) fn site(r: &PgRow) -> Result<Site> {
    Ok(Site {
        id: id(r, "id")?,
        tenant_id: id(r, "tenant_id")?,
        name: parse(r, "name")?,
        timezone: parse(r, "timezone")?,
        locale: parse(r, "locale")?,
        created_at: get(r, "created_at")?,
    })
}

pub(crate) fn service(r: &PgRow) -> Result<Service> {
    Ok(Service {
        id: id(r, "id")?,
        tenant_id: id(r, "tenant_id")?,
        site_id: id(r, "site_id")?,
        name: parse(r, "name")?,
        sla_target_secs: u32_col(r, "sla_target_secs")?,
        expected_duration_secs: u32_col(r, "expected_duration_secs")?,
        ewma_service_secs: get(r, "ewma_service_secs")?,
        created_at: get(r, "created_at")?,
    })
}

pub(crate) fn queue(r: &PgRow) -> Result<Queue> {
    Ok(Queue {
        id: id(r, "id")?,
        tenant_id: id(r, "tenant_id")?,
        site_id: id(r, "site_id")?,
        service_id: id(r, "service_id")?,
        name: parse(r, "name")?,
        prefix: parse(r, "prefix")?,
        policy: json_col(r, "policy")?,
        status: parse(r, "status")?,
        created_at: get(r, "created_at")?,
    })
}

pub(crate) fn policy_state(r: &PgRow) -> Result<sq_domain::policy::PolicyState> {
    json_col(r, "policy_state")
}

pub(crate) fn counter(r: &PgRow) -> Result<Counter> {
    Ok(Counter {
        id: id(r, "id")?,
        tenant_id: id(r, "tenant_id")?,
        site_id: id(r, "site_id")?,
        name: parse(r, "name")?,
        created_at: get(r, "created_at")?,
    })
}

/// An agent without its skills (loaded separately, see `Pg::load_skills`).
pub(crate) fn agent(r: &PgRow) -> Result<Agent> {
    Ok(Agent {
        id: id(r, "id")?,
        tenant_id: id(r, "tenant_id")?,
        site_id: id(r, "site_id")?,
        user_id: id_opt(r, "user_id")?,
        name: parse(r, "name")?,
        skills: Vec::new(),
        status: parse(r, "status")?,
        created_at: get(r, "created_at")?,
    })
}

pub(crate) fn skill(r: &PgRow) -> Result<(AgentId, Skill)> {
    Ok((
        id(r, "agent_id")?,
        Skill {
            service_id: id(r, "service_id")?,
            weight: u8_col(r, "weight")?,
        },
    ))
}

pub(crate) fn ticket(r: &PgRow) -> Result<Ticket> {
    Ok(Ticket {
        id: id(r, "id")?,
        tenant_id: id(r, "tenant_id")?,
        site_id: id(r, "site_id")?,
        queue_id: id(r, "queue_id")?,
        service_id: id(r, "service_id")?,
        number: get(r, "number")?,
        local_date: get(r, "local_date")?,
        seq: u32_col(r, "seq")?,
        status: parse(r, "status")?,
        priority: u8_col(r, "priority")?,
        channel: parse(r, "channel")?,
        contact_id: id_opt(r, "contact_id")?,
        arrived_at: get(r, "arrived_at")?,
        created_at: get(r, "created_at")?,
        called_at: get(r, "called_at")?,
        started_at: get(r, "started_at")?,
        finished_at: get(r, "finished_at")?,
        counter_id: id_opt(r, "counter_id")?,
        agent_id: id_opt(r, "agent_id")?,
        recalls: u32_col(r, "recalls")?,
        paused_secs: u32_col(r, "paused_secs")?,
        paused_at: get(r, "paused_at")?,
        transferred_from: id_opt(r, "transferred_from")?,
        transferred_to: id_opt(r, "transferred_to")?,
    })
}

pub(crate) fn event(r: &PgRow) -> Result<(i64, TicketEvent)> {
    Ok((
        get(r, "position")?,
        TicketEvent {
            id: id(r, "id")?,
            tenant_id: id(r, "tenant_id")?,
            ticket_id: id(r, "ticket_id")?,
            kind: get(r, "kind")?,
            from: parse_opt(r, "from_status")?,
            to: parse(r, "to_status")?,
            actor: parse(r, "actor")?,
            at: get(r, "at")?,
            data: get(r, "data")?,
        },
    ))
}

/// A user row; `password_hash` only when the query selected it.
pub(crate) fn user(r: &PgRow) -> Result<User> {
    Ok(User {
        id: id(r, "id")?,
        tenant_id: id_opt(r, "tenant_id")?,
        email: parse(r, "email")?,
        role: parse(r, "role")?,
        site_id: id_opt(r, "site_id")?,
        created_at: get(r, "created_at")?,
    })
}

pub(crate) fn api_key(r: &PgRow) -> Result<ApiKey> {
    let scopes: Vec<String> = get(r, "scopes")?;
    Ok(ApiKey {
        id: id(r, "id")?,
        tenant_id: id(r, "tenant_id")?,
        name: parse(r, "name")?,
        prefix: get(r, "prefix")?,
        scopes: scopes
            .iter()
            .map(|s| {
                s.parse()
                    .map_err(|e| StoreError::Backend(format!("corrupt scope {s:?}: {e}")))
            })
            .collect::<Result<_>>()?,
        created_at: get(r, "created_at")?,
        revoked_at: get::<Option<DateTime<Utc>>>(r, "revoked_at")?,
    })
}

pub(crate) fn device(r: &PgRow) -> Result<Device> {
    let kind: String = get(r, "kind")?;
    Ok(Device {
        id: id(r, "id")?,
        tenant_id: id(r, "tenant_id")?,
        site_id: id(r, "site_id")?,
        name: parse(r, "name")?,
        kind: DeviceKind::parse(&kind)
            .ok_or_else(|| StoreError::Backend(format!("corrupt device kind {kind:?}")))?,
        prefix: get(r, "prefix")?,
        created_at: get(r, "created_at")?,
        revoked_at: get::<Option<DateTime<Utc>>>(r, "revoked_at")?,
    })
}

pub(crate) fn audit(r: &PgRow) -> Result<AuditRecord> {
    Ok(AuditRecord {
        id: id(r, "id")?,
        seq: get(r, "seq")?,
        entry: AuditEntry {
            tenant_id: id(r, "tenant_id")?,
            action: get(r, "action")?,
            entity_type: get(r, "entity_type")?,
            entity_id: get(r, "entity_id")?,
            before: get(r, "before")?,
            after: get(r, "after")?,
            ctx: AuditContext {
                actor: parse(r, "actor")?,
                ip: get(r, "ip")?,
                user_agent: get(r, "user_agent")?,
                at: get(r, "at")?,
            },
        },
        prev_hash: get(r, "prev_hash")?,
        hash: get(r, "hash")?,
    })
}
