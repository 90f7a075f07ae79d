//! Storage ports. Each method is one use-case-sized transaction: the backend loads, applies
//! the pure domain rule (state machine, calling policy, numbering, audit chain) and writes
//! the state change together with its ticket event and audit row, or nothing at all.
//!
//! Coarse methods instead of generic repositories are deliberate: transactions never cross
//! the `dyn Store` boundary, so a handler cannot forget one, and each backend can use its
//! own locking (`BEGIN IMMEDIATE` on SQLite, row locks on PostgreSQL) where it matters.
//!
//! Every tenant-owned read and write takes the `TenantId`: the PostgreSQL backend sets it
//! per transaction for row-level security; a row of another tenant is simply not found.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sq_domain::audit::{AuditContext, AuditRecord};
use sq_domain::auth::Scope;
use sq_domain::model::*;
use sq_domain::policy::{PolicyState, QueuePolicy};
use sq_domain::ticket::{Ticket, TicketAction, TicketEvent, TicketStatus};
use sq_domain::*;
use std::collections::BTreeMap;
use std::fmt::Debug;

mod announcements;
#[cfg(feature = "contract")]
pub mod contract;
#[cfg(feature = "group")]
pub mod group;
mod messaging;

pub use announcements::*;
pub use messaging::*;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist *for this tenant*.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A uniqueness rule (slug, email, name) was broken: `what` names it.
    #[error("{0} already exists")]
    Conflict(&'static str),
    #[error(transparent)]
    IllegalTransition(#[from] sq_domain::ticket::IllegalTransition),
    /// The service's queue is paused or closed: no tickets are issued.
    #[error("the queue is not open")]
    QueueClosed,
    /// The request names rows that cannot go together (a queue of another site, …).
    #[error("invalid: {0}")]
    Invalid(String),
    /// Any other database failure; the message is for logs, never for clients.
    #[error("database: {0}")]
    Backend(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

// ---- inputs ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub struct NewTenant {
    pub slug: TenantSlug,
    pub name: Name,
    pub default_locale: Locale,
}

#[derive(Clone, Debug)]
pub struct NewSite {
    pub name: Name,
    pub timezone: TimeZone,
    pub locale: Locale,
}

#[derive(Clone, Debug)]
pub struct NewService {
    pub site_id: SiteId,
    pub name: Name,
    pub sla_target_secs: u32,
    pub expected_duration_secs: u32,
}

#[derive(Clone, Debug)]
pub struct NewQueue {
    pub service_id: ServiceId,
    pub name: Name,
    pub prefix: QueuePrefix,
    pub policy: QueuePolicy,
}

#[derive(Clone, Debug)]
pub struct NewCounter {
    pub site_id: SiteId,
    pub name: Name,
}

#[derive(Clone, Debug)]
pub struct NewAgent {
    pub site_id: SiteId,
    pub user_id: Option<UserId>,
    pub name: Name,
    pub skills: Vec<Skill>,
}

#[derive(Clone, Debug, Default)]
pub struct ContactInput {
    pub phone: Option<PhoneNumber>,
    pub name: Option<Name>,
    pub locale: Option<Locale>,
}

#[derive(Clone, Debug)]
pub struct IssueTicket {
    pub service_id: ServiceId,
    pub channel: Channel,
    pub priority: u8,
    /// Matched to an existing contact by phone number, else created.
    pub contact: Option<ContactInput>,
}

#[derive(Clone, Debug)]
pub struct NewUser {
    pub tenant_id: Option<TenantId>,
    pub email: Email,
    /// An argon2 PHC string; hashing is the app's job.
    pub password_hash: String,
    pub role: Role,
    pub site_id: Option<SiteId>,
}

/// A refresh token as stored: only its SHA-256, never the token.
#[derive(Clone, Debug)]
pub struct NewRefreshToken {
    pub token_hash: String,
    pub user_id: UserId,
    /// Rotation family: reuse of a rotated token revokes the whole family.
    pub family: uuid::Uuid,
    pub expires_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct NewApiKey {
    pub name: Name,
    /// The first characters of the key, shown in listings so people can tell keys apart.
    pub prefix: String,
    pub key_hash: String,
    pub scopes: Vec<Scope>,
    pub created_by: Option<UserId>,
}

#[derive(Clone, Debug, Default)]
pub struct TicketFilter {
    pub status: Option<TicketStatus>,
    pub queue_id: Option<QueueId>,
    /// At most this many, newest first. Backends cap it at 1,000.
    pub limit: Option<u32>,
}

// ---- outputs --------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub struct UserRecord {
    pub user: User,
    pub password_hash: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The old token is now used; the new one is stored in the same family.
    Rotated {
        user_id: UserId,
    },
    /// The token was already used: its family has been revoked (a stolen token replayed).
    Reused,
    Expired,
    Unknown,
}

#[derive(Clone, Debug)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub tenant_id: TenantId,
    pub name: Name,
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What the audit log records of a key's revocation: never the key or its hash.
pub fn revocation(k: &ApiKey) -> serde_json::Value {
    serde_json::json!({ "id": k.id, "name": k.name, "prefix": k.prefix, "revoked_at": k.revoked_at })
}

/// A queue with the data its policy and ETA need, read in one consistent snapshot.
#[derive(Clone, Debug)]
pub struct QueueSnapshot {
    pub queue: Queue,
    pub service: Service,
    pub policy_state: PolicyState,
    /// Waiting tickets in FIFO order (arrived_at, seq).
    pub waiting: Vec<Ticket>,
    /// Tickets at a counter (called, recalled, serving, paused).
    pub serving: Vec<Ticket>,
    /// Agents not offline with a skill for the queue's service.
    pub agents_serving: u32,
}

/// The schema migrations a store knows, and which of them its opening applied.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Migrations {
    /// Every migration, in version order: (version, description).
    pub known: Vec<(i64, String)>,
    /// Those that opening this store applied (none if the database was up to date).
    pub applied: Vec<i64>,
}

impl Migrations {
    /// From the migrator's list and the versions the database had before it ran.
    pub fn after_run<'m>(
        known: impl IntoIterator<Item = (i64, &'m str)>,
        before: &[i64],
    ) -> Migrations {
        let known: Vec<(i64, String)> = known.into_iter().map(|(v, d)| (v, d.to_owned())).collect();
        let applied = known
            .iter()
            .map(|(v, _)| *v)
            .filter(|v| !before.contains(v))
            .collect();
        Migrations { known, applied }
    }
}

/// What the position of one waiting ticket needs, read cheaply from counts.
#[derive(Clone, Debug, PartialEq)]
pub struct PositionInputs {
    pub policy: QueuePolicy,
    pub policy_state: PolicyState,
    /// Waiting tickets per priority class in the ticket's queue.
    pub totals: BTreeMap<u8, u32>,
    /// Waiting tickets ahead of this one in FIFO order (`arrived_at`, `seq`, `id`): of
    /// every priority class when the queue's policy has no ratios (`policy.ratios` empty:
    /// one strict FIFO line across classes), of the ticket's own class otherwise.
    pub ahead_in_class: u32,
    pub ewma_service_secs: f64,
    pub agents_serving: u32,
}

/// The result of a ticket action. For a transfer, `ticket` is the closed original and
/// `created` the new ticket in the target queue.
#[derive(Clone, Debug)]
pub struct Transitioned {
    pub ticket: Ticket,
    pub created: Option<Ticket>,
}

// ---- web views (issue 5): paired devices --------------------------------------------

/// What a paired device is for: a display follows calls, a kiosk issues tickets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    Display,
    Kiosk,
}

impl DeviceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Display => "display",
            Self::Kiosk => "kiosk",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "display" => Some(Self::Display),
            "kiosk" => Some(Self::Kiosk),
            _ => None,
        }
    }
}

/// A device to pair: only the SHA-256 of its key is stored.
#[derive(Clone, Debug)]
pub struct NewDevice {
    pub site_id: SiteId,
    pub name: Name,
    pub kind: DeviceKind,
    /// The first characters of the key, so people can tell devices apart.
    pub prefix: String,
    pub key_hash: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Device {
    pub id: DeviceId,
    pub tenant_id: TenantId,
    pub site_id: SiteId,
    pub name: Name,
    pub kind: DeviceKind,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What the agent console shows of a ticket's customer: no phone number (screens are seen
/// by others; the channel pipeline owns contact details).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactSummary {
    pub name: Option<Name>,
    pub locale: Option<Locale>,
}

/// What the audit log records of a device: never its key or hash.
pub fn device_audit(d: &Device) -> serde_json::Value {
    serde_json::json!({
        "id": d.id, "site_id": d.site_id, "name": d.name, "kind": d.kind.as_str(),
        "prefix": d.prefix, "created_at": d.created_at, "revoked_at": d.revoked_at,
    })
}

#[async_trait]
pub trait Store: MessageStore + AnnouncementStore + Send + Sync + Debug + 'static {
    /// Round-trips to the database.
    async fn health(&self) -> Result<()>;
    /// The schema migrations, and which ones opening this store applied.
    fn migrations(&self) -> &Migrations;

    // -- platform --
    async fn create_tenant(&self, t: NewTenant, ctx: &AuditContext) -> Result<Tenant>;
    /// Slugs are public (they are in URLs), so this read is not tenant scoped.
    async fn tenant_by_slug(&self, slug: &TenantSlug) -> Result<Option<Tenant>>;
    async fn tenant(&self, id: TenantId) -> Result<Option<Tenant>>;
    async fn tenants(&self) -> Result<Vec<Tenant>>;

    // -- catalogue (tenant scoped) --
    async fn create_site(&self, tenant: TenantId, s: NewSite, ctx: &AuditContext) -> Result<Site>;
    async fn sites(&self, tenant: TenantId) -> Result<Vec<Site>>;
    async fn site(&self, tenant: TenantId, id: SiteId) -> Result<Option<Site>>;
    async fn create_service(
        &self,
        tenant: TenantId,
        s: NewService,
        ctx: &AuditContext,
    ) -> Result<Service>;
    async fn services(&self, tenant: TenantId) -> Result<Vec<Service>>;
    async fn service(&self, tenant: TenantId, id: ServiceId) -> Result<Option<Service>>;
    async fn create_queue(
        &self,
        tenant: TenantId,
        q: NewQueue,
        ctx: &AuditContext,
    ) -> Result<Queue>;
    async fn queues(&self, tenant: TenantId) -> Result<Vec<Queue>>;
    async fn queue(&self, tenant: TenantId, id: QueueId) -> Result<Option<Queue>>;
    async fn set_queue_status(
        &self,
        tenant: TenantId,
        id: QueueId,
        status: QueueStatus,
        ctx: &AuditContext,
    ) -> Result<Queue>;
    async fn create_counter(
        &self,
        tenant: TenantId,
        c: NewCounter,
        ctx: &AuditContext,
    ) -> Result<Counter>;
    async fn counters(&self, tenant: TenantId) -> Result<Vec<Counter>>;
    async fn counter(&self, tenant: TenantId, id: CounterId) -> Result<Option<Counter>>;
    async fn create_agent(
        &self,
        tenant: TenantId,
        a: NewAgent,
        ctx: &AuditContext,
    ) -> Result<Agent>;
    async fn agents(&self, tenant: TenantId) -> Result<Vec<Agent>>;
    async fn agent(&self, tenant: TenantId, id: AgentId) -> Result<Option<Agent>>;
    async fn agent_by_user(&self, tenant: TenantId, user: UserId) -> Result<Option<Agent>>;
    async fn set_agent_status(
        &self,
        tenant: TenantId,
        id: AgentId,
        status: AgentStatus,
        ctx: &AuditContext,
    ) -> Result<Agent>;

    // -- tickets (tenant scoped) --
    /// Issues the next number of the service's queue for the site-local day of `ctx.at`,
    /// without gaps or repeats under concurrency. Fails with `Invalid` if the queue is not open.
    async fn issue_ticket(
        &self,
        tenant: TenantId,
        req: IssueTicket,
        ctx: &AuditContext,
    ) -> Result<Ticket>;
    /// [`Store::issue_ticket`] and the new ticket's [`Store::position_inputs`] as of its
    /// commit. A backend whose reads each cost a round trip (PostgreSQL) reads them in the
    /// issuing transaction instead of afterwards.
    async fn issue_ticket_positioned(
        &self,
        tenant: TenantId,
        req: IssueTicket,
        ctx: &AuditContext,
    ) -> Result<(Ticket, PositionInputs)> {
        let t = self.issue_ticket(tenant, req, ctx).await?;
        let p = self.position_inputs(tenant, &t).await?;
        Ok((t, p))
    }
    async fn ticket(&self, tenant: TenantId, id: TicketId) -> Result<Option<Ticket>>;
    async fn tickets(&self, tenant: TenantId, filter: &TicketFilter) -> Result<Vec<Ticket>>;
    async fn ticket_events(&self, tenant: TenantId, id: TicketId) -> Result<Vec<TicketEvent>>;
    /// The tenant's ticket events after position `after` (0: from the start), in commit
    /// order, at most `limit`, each with its position. Positions grow in commit order per
    /// queue, so calls can be replayed in the order they happened.
    async fn ticket_event_feed(
        &self,
        tenant: TenantId,
        after: i64,
        limit: u32,
    ) -> Result<Vec<(i64, TicketEvent)>>;
    /// Atomically picks (by [`sq_domain::policy::pick`]) and calls the next ticket among the
    /// open queues of the counter's site the agent has a skill for. `Ok(None)`: nothing waits.
    /// Two concurrent callers never get the same ticket, and calls within a queue follow
    /// the policy order.
    ///
    /// `queues` narrows the choice to the queues an agent chose to serve: only those of
    /// them the agent could serve anyway are considered (an id of another site, service or
    /// tenant matches nothing), and `Some(&[])` calls nothing. `None`: all of them.
    async fn call_next(
        &self,
        tenant: TenantId,
        agent: AgentId,
        counter: CounterId,
        queues: Option<&[QueueId]>,
        ctx: &AuditContext,
    ) -> Result<Option<Ticket>>;
    /// Applies an action; on `Close` folds the observed service time into the service's EWMA.
    async fn transition(
        &self,
        tenant: TenantId,
        id: TicketId,
        action: TicketAction,
        ctx: &AuditContext,
    ) -> Result<Transitioned>;
    async fn queue_snapshot(&self, tenant: TenantId, id: QueueId) -> Result<Option<QueueSnapshot>>;
    async fn position_inputs(&self, tenant: TenantId, ticket: &Ticket) -> Result<PositionInputs>;
    /// The first `per_class` waiting tickets of each priority class of a queue, in FIFO
    /// order (`arrived_at`, `seq`): everyone who can be near the front, whatever the
    /// policy, read without walking a long line.
    async fn waiting_heads(
        &self,
        tenant: TenantId,
        queue: QueueId,
        per_class: u32,
    ) -> Result<Vec<Ticket>>;
    /// Number of tickets issued today in a queue (the last `seq` of that local day).
    async fn last_seq(&self, tenant: TenantId, queue: QueueId, day: NaiveDate) -> Result<u32>;

    // -- users and credentials --
    async fn create_user(&self, u: NewUser, ctx: &AuditContext) -> Result<User>;
    /// Looks a login up across tenants (e-mails are unique platform-wide).
    async fn user_by_email(&self, email: &Email) -> Result<Option<UserRecord>>;
    async fn user(&self, id: UserId) -> Result<Option<User>>;
    async fn store_refresh_token(&self, t: NewRefreshToken) -> Result<()>;
    /// Marks `old_hash` used and stores `new_hash` in the same family, atomically (two
    /// concurrent rotations of one token: one wins, the other sees `Reused`).
    async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        new_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<RefreshOutcome>;
    async fn create_api_key(
        &self,
        tenant: TenantId,
        k: NewApiKey,
        ctx: &AuditContext,
    ) -> Result<ApiKey>;
    async fn api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKey>>;
    /// Revokes one of the tenant's keys from `ctx.at` on (audited). Revoking a revoked key
    /// changes nothing and returns it as it is; another tenant's key is `NotFound`.
    async fn revoke_api_key(
        &self,
        tenant: TenantId,
        id: ApiKeyId,
        ctx: &AuditContext,
    ) -> Result<ApiKey>;
    /// Looks a presented key up by its hash across tenants; revoked keys are not returned.
    async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>>;

    // -- audit --
    /// The tenant's chain in `seq` order.
    async fn audit_log(&self, tenant: TenantId) -> Result<Vec<AuditRecord>>;

    // -- web views (issue 5): paired displays and kiosks --
    /// Pairs a device with one of the tenant's sites (audited `device.create`); a site of
    /// another tenant is `NotFound("site")`, a key hash already stored `Conflict("device")`.
    async fn create_device(
        &self,
        tenant: TenantId,
        d: NewDevice,
        ctx: &AuditContext,
    ) -> Result<Device>;
    async fn devices(&self, tenant: TenantId) -> Result<Vec<Device>>;
    /// Revokes a device from `ctx.at` on (audited `device.revoke`); idempotent like
    /// [`Store::revoke_api_key`]; another tenant's device is `NotFound("device")`.
    async fn revoke_device(
        &self,
        tenant: TenantId,
        id: DeviceId,
        ctx: &AuditContext,
    ) -> Result<Device>;
    /// Looks a presented device key up by its hash across tenants; revoked ones are not
    /// returned.
    async fn device_by_key_hash(&self, key_hash: &str) -> Result<Option<Device>>;
    /// A contact's name and language for the agent console; another tenant's is `None`.
    async fn contact_summary(
        &self,
        tenant: TenantId,
        id: ContactId,
    ) -> Result<Option<ContactSummary>>;
}
