//! The JSON the API speaks. Response types convert from the domain (which knows nothing of
//! OpenAPI); request types hold raw strings that handlers parse into domain values, so each
//! bad value is refused with its own code and field.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sq_app::{QueueOverview, TicketView, TokenPair};
use sq_domain::eta::Eta;
use sq_domain::model::{Agent, Counter, Queue, Service, Site, Skill, Tenant, User};
use sq_domain::policy::{ClassWeight, QueuePolicy};
use sq_domain::ticket::Ticket;
use sq_store::ApiKey;
use std::borrow::Cow;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{IntoParams, PartialSchema, ToSchema};
use uuid::Uuid;

/// String enumerations of the domain, documented as named schemas with their values.
macro_rules! enum_schema {
    ($($name:ident = $domain:ty, $doc:literal;)*) => {$(
        #[doc = $doc]
        #[derive(Debug)]
        pub struct $name;
        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some($doc))
                    .enum_values(Some(<$domain>::ALL.iter().map(|v| v.as_str())))
                    .into()
            }
        }
        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    )*};
}

enum_schema! {
    TicketStatus = sq_domain::ticket::TicketStatus, "Where a ticket is in its life.";
    Channel = sq_domain::Channel, "Where a customer reached us from.";
    Role = sq_domain::Role, "What a user is; scopes follow from it.";
    Scope = sq_domain::auth::Scope, "A permission of a token or API key.";
    QueueStatus = sq_domain::model::QueueStatus,
        "Open queues issue tickets; paused ones only call; closed ones do neither.";
    AgentStatus = sq_domain::model::AgentStatus, "An agent's availability.";
}

// ---- responses --------------------------------------------------------------------------

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    /// A JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Exchange it once at `/api/v1/auth/refresh`; a reused one is refused.
    pub refresh_token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Lifetime of the access token in seconds.
    pub expires_in: i64,
}

impl From<TokenPair> for TokenResponse {
    fn from(t: TokenPair) -> Self {
        Self {
            access_token: t.access_token,
            refresh_token: t.refresh_token,
            token_type: t.token_type,
            expires_in: t.expires_in,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct TenantDto {
    pub id: Uuid,
    #[schema(example = "demo")]
    pub slug: String,
    pub name: String,
    #[schema(example = "en")]
    pub default_locale: String,
    pub created_at: DateTime<Utc>,
}

impl From<Tenant> for TenantDto {
    fn from(t: Tenant) -> Self {
        Self {
            id: t.id.0,
            slug: t.slug.into(),
            name: t.name.into(),
            default_locale: t.default_locale.into(),
            created_at: t.created_at,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct SiteDto {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    #[schema(example = "Africa/Nairobi")]
    pub timezone: String,
    pub locale: String,
    pub created_at: DateTime<Utc>,
}

impl From<Site> for SiteDto {
    fn from(s: Site) -> Self {
        Self {
            id: s.id.0,
            tenant_id: s.tenant_id.0,
            name: s.name.into(),
            timezone: s.timezone.into(),
            locale: s.locale.into(),
            created_at: s.created_at,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ServiceDto {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub site_id: Uuid,
    pub name: String,
    /// The longest acceptable wait, in seconds.
    pub sla_target_secs: u32,
    pub expected_duration_secs: u32,
    /// Moving average of observed service times, in seconds.
    pub ewma_service_secs: f64,
    pub created_at: DateTime<Utc>,
}

impl From<Service> for ServiceDto {
    fn from(s: Service) -> Self {
        Self {
            id: s.id.0,
            tenant_id: s.tenant_id.0,
            site_id: s.site_id.0,
            name: s.name.into(),
            sla_target_secs: s.sla_target_secs,
            expected_duration_secs: s.expected_duration_secs,
            ewma_service_secs: s.ewma_service_secs,
            created_at: s.created_at,
        }
    }
}

/// A queue's calling policy.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct PolicyDto {
    /// Ratio calling between priority classes, e.g. 2 VIP (class 1) per normal (class 0).
    /// Empty: one class, first come first served.
    #[serde(default)]
    pub ratios: Vec<ClassWeightDto>,
    /// Serve a ticket first once its wait reaches this percentage of the SLA target.
    #[serde(default)]
    pub sla_boost_percent: Option<u8>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ClassWeightDto {
    pub class: u8,
    pub weight: u32,
}

impl From<QueuePolicy> for PolicyDto {
    fn from(p: QueuePolicy) -> Self {
        Self {
            ratios: p
                .ratios
                .into_iter()
                .map(|r| ClassWeightDto {
                    class: r.class,
                    weight: r.weight,
                })
                .collect(),
            sla_boost_percent: p.sla_boost_percent,
        }
    }
}

impl From<PolicyDto> for QueuePolicy {
    fn from(p: PolicyDto) -> Self {
        Self {
            ratios: p
                .ratios
                .into_iter()
                .map(|r| ClassWeight {
                    class: r.class,
                    weight: r.weight,
                })
                .collect(),
            sla_boost_percent: p.sla_boost_percent,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct QueueDto {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub site_id: Uuid,
    pub service_id: Uuid,
    pub name: String,
    /// Ticket number prefix (`A` → A001).
    #[schema(example = "A")]
    pub prefix: String,
    pub policy: PolicyDto,
    #[schema(value_type = QueueStatus)]
    pub status: String,
    pub created_at: DateTime<Utc>,
}

impl From<Queue> for QueueDto {
    fn from(q: Queue) -> Self {
        Self {
            id: q.id.0,
            tenant_id: q.tenant_id.0,
            site_id: q.site_id.0,
            service_id: q.service_id.0,
            name: q.name.into(),
            prefix: q.prefix.into(),
            policy: q.policy.into(),
            status: q.status.as_str().to_owned(),
            created_at: q.created_at,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct CounterDto {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub site_id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl From<Counter> for CounterDto {
    fn from(c: Counter) -> Self {
        Self {
            id: c.id.0,
            tenant_id: c.tenant_id.0,
            site_id: c.site_id.0,
            name: c.name.into(),
            created_at: c.created_at,
        }
    }
}

/// An agent serves the services it has a skill for; higher weights are preferred.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct SkillDto {
    pub service_id: Uuid,
    /// 1–100.
    #[schema(minimum = 1, maximum = 100)]
    pub weight: u8,
}

impl From<Skill> for SkillDto {
    fn from(s: Skill) -> Self {
        Self {
            service_id: s.service_id.0,
            weight: s.weight,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AgentDto {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub site_id: Uuid,
    /// The login that acts as this agent, if any.
    pub user_id: Option<Uuid>,
    pub name: String,
    pub skills: Vec<SkillDto>,
    #[schema(value_type = AgentStatus)]
    pub status: String,
    pub created_at: DateTime<Utc>,
}

impl From<Agent> for AgentDto {
    fn from(a: Agent) -> Self {
        Self {
            id: a.id.0,
            tenant_id: a.tenant_id.0,
            site_id: a.site_id.0,
            user_id: a.user_id.map(|u| u.0),
            name: a.name.into(),
            skills: a.skills.into_iter().map(Into::into).collect(),
            status: a.status.as_str().to_owned(),
            created_at: a.created_at,
        }
    }
}

/// An expected wait range in seconds.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
pub struct EtaDto {
    pub min_seconds: u32,
    pub max_seconds: u32,
}

impl From<Eta> for EtaDto {
    fn from(e: Eta) -> Self {
        Self {
            min_seconds: e.min_seconds,
            max_seconds: e.max_seconds,
        }
    }
}

/// A ticket with its live place in line.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct TicketDto {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub site_id: Uuid,
    pub queue_id: Uuid,
    pub service_id: Uuid,
    /// Display number.
    #[schema(example = "A001")]
    pub number: String,
    /// The site-local day the number belongs to.
    pub local_date: NaiveDate,
    pub seq: u32,
    #[schema(value_type = TicketStatus)]
    pub status: String,
    /// Priority class: 0 is normal; higher classes are defined by the queue's policy.
    pub priority: u8,
    #[schema(value_type = Channel)]
    pub channel: String,
    pub contact_id: Option<Uuid>,
    /// Place in the line order (kept across a transfer with `keep_position`).
    pub arrived_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub called_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub counter_id: Option<Uuid>,
    pub agent_id: Option<Uuid>,
    pub recalls: u32,
    pub paused_secs: u32,
    pub paused_at: Option<DateTime<Utc>>,
    pub transferred_from: Option<Uuid>,
    pub transferred_to: Option<Uuid>,
    /// 1 for the next ticket to be called; `null` once the ticket has left the line.
    pub position: Option<u32>,
    /// Tickets called before this one (`position` − 1).
    pub ahead: Option<u32>,
    /// `null` while nobody serves the service, or once called.
    pub eta: Option<EtaDto>,
}

impl TicketDto {
    fn from_ticket(t: Ticket, position: Option<u32>, ahead: Option<u32>, eta: Option<Eta>) -> Self {
        Self {
            id: t.id.0,
            tenant_id: t.tenant_id.0,
            site_id: t.site_id.0,
            queue_id: t.queue_id.0,
            service_id: t.service_id.0,
            number: t.number,
            local_date: t.local_date,
            seq: t.seq,
            status: t.status.as_str().to_owned(),
            priority: t.priority,
            channel: t.channel.as_str().to_owned(),
            contact_id: t.contact_id.map(|c| c.0),
            arrived_at: t.arrived_at,
            created_at: t.created_at,
            called_at: t.called_at,
            started_at: t.started_at,
            finished_at: t.finished_at,
            counter_id: t.counter_id.map(|c| c.0),
            agent_id: t.agent_id.map(|a| a.0),
            recalls: t.recalls,
            paused_secs: t.paused_secs,
            paused_at: t.paused_at,
            transferred_from: t.transferred_from.map(|x| x.0),
            transferred_to: t.transferred_to.map(|x| x.0),
            position,
            ahead,
            eta: eta.map(Into::into),
        }
    }
}

impl From<TicketView> for TicketDto {
    fn from(v: TicketView) -> Self {
        Self::from_ticket(v.ticket, v.position, v.ahead, v.eta)
    }
}

impl From<Ticket> for TicketDto {
    fn from(t: Ticket) -> Self {
        Self::from_ticket(t, None, None, None)
    }
}

/// A queue's live state: the queue's own fields plus its line.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct QueueOverviewDto {
    #[serde(flatten)]
    pub queue: QueueDto,
    /// Tickets waiting.
    pub waiting: u32,
    /// Tickets at a counter (called, recalled, serving, paused).
    pub serving: Vec<TicketDto>,
    /// The first ten waiting tickets, in the order the policy will call them.
    pub next: Vec<TicketDto>,
    pub longest_wait_seconds: u64,
}

impl From<QueueOverview> for QueueOverviewDto {
    fn from(o: QueueOverview) -> Self {
        Self {
            queue: o.queue.into(),
            waiting: o.waiting,
            serving: o.serving.into_iter().map(Into::into).collect(),
            next: o.next.into_iter().map(Into::into).collect(),
            longest_wait_seconds: o.longest_wait_seconds,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct UserDto {
    pub id: Uuid,
    pub tenant_id: Option<Uuid>,
    pub email: String,
    #[schema(value_type = Role)]
    pub role: String,
    pub site_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl From<User> for UserDto {
    fn from(u: User) -> Self {
        Self {
            id: u.id.0,
            tenant_id: u.tenant_id.map(|t| t.0),
            email: u.email.into(),
            role: u.role.as_str().to_owned(),
            site_id: u.site_id.map(|s| s.0),
            created_at: u.created_at,
        }
    }
}

/// An API key as listed: never its secret.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ApiKeyDto {
    pub id: Uuid,
    pub name: String,
    /// The first characters of the key, to tell keys apart.
    #[schema(example = "sqk_a1b2c3")]
    pub prefix: String,
    #[schema(value_type = Vec<Scope>)]
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKey> for ApiKeyDto {
    fn from(k: ApiKey) -> Self {
        Self {
            id: k.id.0,
            name: k.name.into(),
            prefix: k.prefix,
            scopes: k.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            created_at: k.created_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// A new API key. `key` is shown this once; only its hash is stored.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ApiKeyCreatedDto {
    #[serde(flatten)]
    pub api_key: ApiKeyDto,
    /// Send as `Authorization: Bearer sqk_…` or `X-Api-Key: sqk_…`.
    pub key: String,
}

// ---- requests ---------------------------------------------------------------------------

#[derive(Clone, Deserialize, ToSchema)]
pub struct LoginRequest {
    #[schema(example = "admin@demo.test")]
    pub email: String,
    pub password: String,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

impl std::fmt::Debug for RefreshRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshRequest { .. }")
    }
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct CreateTenantRequest {
    #[schema(example = "demo")]
    pub slug: String,
    #[schema(example = "Demo Bank")]
    pub name: String,
    /// Defaults to `en`.
    pub default_locale: Option<String>,
}

#[derive(Clone, Deserialize, ToSchema)]
pub struct CreateUserRequest {
    pub email: String,
    /// At least 8 characters.
    pub password: String,
    #[schema(value_type = Role)]
    pub role: String,
    /// Required for `device` users (the one site they may read).
    pub site_id: Option<Uuid>,
}

impl std::fmt::Debug for CreateUserRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateUserRequest")
            .field("email", &self.email)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct CreateApiKeyRequest {
    pub name: String,
    /// At most the scopes of the caller.
    #[schema(value_type = Vec<Scope>, example = json!(["read:queue"]))]
    pub scopes: Vec<String>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct CreateSiteRequest {
    #[schema(example = "Central Branch")]
    pub name: String,
    /// IANA time zone: local days and ticket numbers follow it.
    #[schema(example = "Africa/Nairobi")]
    pub timezone: String,
    /// Defaults to the tenant's locale.
    pub locale: Option<String>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct CreateServiceRequest {
    pub site_id: Uuid,
    #[schema(example = "Deposits")]
    pub name: String,
    /// The longest acceptable wait, in seconds (> 0).
    pub sla_target_secs: u32,
    /// Seeds the ETA until real service times are observed (> 0).
    pub expected_duration_secs: u32,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct CreateQueueRequest {
    pub service_id: Uuid,
    pub name: String,
    /// 1–3 upper-case letters.
    #[schema(example = "A")]
    pub prefix: String,
    #[serde(default)]
    pub policy: PolicyDto,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct CreateCounterRequest {
    pub site_id: Uuid,
    #[schema(example = "1")]
    pub name: String,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct CreateAgentRequest {
    pub site_id: Uuid,
    /// The login that acts as this agent (agents may only call as themselves).
    pub user_id: Option<Uuid>,
    pub name: String,
    #[serde(default)]
    pub skills: Vec<SkillDto>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct QueueStatusRequest {
    #[schema(value_type = QueueStatus)]
    pub status: String,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct AgentStatusRequest {
    #[schema(value_type = AgentStatus)]
    pub status: String,
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct ContactRequest {
    /// International format; matched to an existing contact of the tenant.
    #[schema(example = "+254712345678")]
    pub phone: Option<String>,
    pub name: Option<String>,
    #[schema(example = "sw")]
    pub locale: Option<String>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct CreateTicketRequest {
    pub service_id: Uuid,
    #[schema(value_type = Channel)]
    pub channel: String,
    /// Priority class (0 normal, the default).
    #[serde(default)]
    pub priority: u8,
    pub contact: Option<ContactRequest>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct CallNextRequest {
    pub counter_id: Uuid,
    /// Call only from these queues (the agent's "queues I serve"). Absent or empty: every
    /// queue of the counter's site the agent has a skill for. An id this tenant does not
    /// have answers 404 `not_found`; a queue the agent cannot serve (another site, or no
    /// skill for its service) 422 `queue_not_served`; more than 100 ids 422
    /// `invalid_request`.
    #[serde(default)]
    pub queue_ids: Option<Vec<Uuid>>,
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
pub struct PauseRequest {
    pub reason: Option<String>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct TransferRequest {
    pub to_queue_id: Uuid,
    /// Keep the original arrival time (place in line) in the new queue. Default false.
    #[serde(default)]
    pub keep_position: bool,
}

/// `GET …/tickets` filters. Values are parsed by the handler (each bad one has its code).
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TicketQuery {
    /// Only tickets in this status.
    #[param(value_type = Option<TicketStatus>)]
    pub status: Option<String>,
    /// Only tickets of this queue.
    #[param(value_type = Option<Uuid>)]
    pub queue_id: Option<String>,
    /// At most this many, newest first (capped at 1,000).
    #[param(value_type = Option<u32>)]
    pub limit: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use sq_domain::{AgentId, ContactId, QueueId, ServiceId, SiteId, TenantId, TicketId};

    fn ticket() -> Ticket {
        let now = Utc::now();
        Ticket {
            id: TicketId::new(),
            tenant_id: TenantId::new(),
            site_id: SiteId::new(),
            queue_id: QueueId::new(),
            service_id: ServiceId::new(),
            number: "A001".into(),
            local_date: now.date_naive(),
            seq: 1,
            status: sq_domain::ticket::TicketStatus::Waiting,
            priority: 0,
            channel: sq_domain::Channel::Web,
            contact_id: Some(ContactId::new()),
            arrived_at: now,
            created_at: now,
            called_at: None,
            started_at: Some(now),
            finished_at: None,
            counter_id: None,
            agent_id: Some(AgentId::new()),
            recalls: 2,
            paused_secs: 3,
            paused_at: None,
            transferred_from: None,
            transferred_to: Some(TicketId::new()),
        }
    }

    /// The DTO is the documented contract; it must say exactly what the app's view says.
    #[test]
    fn ticket_dto_serialises_like_the_app_view() {
        for eta in [
            None,
            Some(Eta {
                min_seconds: 60,
                max_seconds: 180,
            }),
        ] {
            let view = TicketView {
                ticket: ticket(),
                position: Some(3),
                ahead: Some(2),
                eta,
            };
            let expected = serde_json::to_value(&view).unwrap();
            let got = serde_json::to_value(TicketDto::from(view)).unwrap();
            assert_eq!(got, expected);
        }
    }
}
