//! The embedded SQLite backend of the storage port ([`sq_store::Store`]).
//!
//! One database file in WAL mode, opened by [`SqliteStore::open`], which also runs the
//! migrations in `migrations/sqlite`. Two sides:
//!
//! * **one writer**: a single connection on its own thread (see `writer`). Every state
//!   change is one atomic unit run there, one at a time, inside `BEGIN IMMEDIATE`
//!   transactions, so writers queue (fairly, in arrival order) instead of spinning on
//!   `SQLITE_BUSY`. That single writer is what makes call-next atomic (two agents never
//!   get one ticket), ticket numbers gap-free, the audit chain linear and feed positions
//!   follow commit order. Under load, queued writes are committed in groups (each in its
//!   own savepoint, answered only once committed): committing, not running, is what a
//!   write costs, and a group costs about as much to commit as one write.
//! * a **reader** pool of a few `query_only` connections. WAL lets them read the last
//!   committed state while the writer works; reads that need several statements to agree
//!   run in one statement or one read transaction (one snapshot).
//!
//! Each write is load, apply the pure domain rule, write; the hot ones (issue, call,
//! transition) take three to four round trips to the connection, writing everything in
//! one multi-statement batch. Encodings (see `codec`): ids are hyphenated UUID text,
//! instants fixed-width UTC text with microseconds (so they round-trip exactly and sort as
//! text), JSON is serde_json text. Every tenant-owned query filters on `tenant_id`
//! (directly or through the tenant's row it hangs off): another tenant's row is simply not
//! found.
//!
//! Two SQLite traps this code avoids on purpose: `sqlx::migrate!` embeds the migrations at
//! compile time (`build.rs` makes cargo notice edits), and a bound parameter used as a
//! LIMIT or compared against a partial index's WHERE makes SQLite re-prepare the statement
//! on every execution (write `(SELECT ?)` there instead).

mod announcements;
mod codec;
mod messaging;
mod writer;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use codec::{Cols, date, db, json, key, opt_ts, ts};
use sq_domain::audit::{self, AuditContext, AuditEntry, AuditRecord, truncate_micros};
use sq_domain::auth::Scope;
use sq_domain::model::*;
use sq_domain::policy::{self, PolicyState, QueuePolicy, QueueView, Waiting};
use sq_domain::ticket::{self, Ticket, TicketAction, TicketEvent, TicketStatus};
use sq_domain::{eta, numbering, *};
use sq_store::*;
use sqlx::Connection as _;
use sqlx::Row as _;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;
use writer::Writer;

/// Read connections: enough for the web views' reads to overlap the single writer.
const READERS: u32 = 4;
/// How long a statement waits on a lock held by another process (our own writers queue in
/// the pool and never wait here).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a read waits for a reader connection before giving up.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// Ticket listings return at most this many rows.
const MAX_TICKETS: u32 = 1000;
const DEFAULT_TICKETS: u32 = 100;

/// The SQLite store. Cheap to clone (a writer handle and a pool handle).
#[derive(Clone, Debug)]
pub struct SqliteStore {
    writer: Writer,
    reader: SqlitePool,
    migrations: std::sync::Arc<Migrations>,
}

type Tx = sqlx::Transaction<'static, sqlx::Sqlite>;

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`, switches it to WAL and runs
    /// the migrations.
    pub async fn open(path: &Path) -> Result<SqliteStore> {
        let base = SqliteConnectOptions::new()
            .filename(path)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .synchronous(SqliteSynchronous::Normal)
            .statement_cache_capacity(256);
        let write_opts = base
            .clone()
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        let mut conn = SqliteConnection::connect_with(&write_opts)
            .await
            .map_err(db)?;
        // No table yet (a new file): nothing applied before.
        let before: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations")
            .fetch_all(&mut conn)
            .await
            .unwrap_or_default();
        let migrator = sqlx::migrate!("../../migrations/sqlite");
        migrator
            .run(&mut conn)
            .await
            .map_err(|e| StoreError::Backend(format!("migrate: {e}")))?;
        let migrations = Migrations::after_run(
            migrator.iter().map(|m| (m.version, &*m.description)),
            &before,
        );
        let writer = writer::start(conn, write_opts)?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .test_before_acquire(false)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // Read-only by pragma rather than by open flag: a read-only open cannot create
            // the WAL index files if it happens to be the first connection to the file.
            .connect_with(base.pragma("query_only", "ON"))
            .await
            .map_err(db)?;
        tracing::debug!(path = %path.display(), "sqlite store open");
        Ok(SqliteStore {
            writer,
            reader,
            migrations: std::sync::Arc::new(migrations),
        })
    }

    /// Finishes the queued writes and closes the connections.
    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }

    /// A read transaction: every statement in it sees one snapshot.
    async fn snapshot(&self) -> Result<Tx> {
        self.reader.begin().await.map_err(db)
    }

    async fn read(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Sqlite>> {
        self.reader.acquire().await.map_err(db)
    }
}

// ---- row mapping --------------------------------------------------------------------------

fn tenant_row(r: &SqliteRow) -> Result<Tenant> {
    let c = Cols(r);
    Ok(Tenant {
        id: c.id("id")?,
        slug: c.parse("slug")?,
        name: c.parse("name")?,
        default_locale: c.parse("default_locale")?,
        created_at: c.at("created_at")?,
    })
}

fn site_row(r: &SqliteRow) -> Result<Site> {
    let c = Cols(r);
    Ok(Site {
        id: c.id("id")?,
        tenant_id: c.id("tenant_id")?,
        name: c.parse("name")?,
        timezone: c.parse("timezone")?,
        locale: c.parse("locale")?,
        created_at: c.at("created_at")?,
    })
}

fn service_row(r: &SqliteRow) -> Result<Service> {
    let c = Cols(r);
    Ok(Service {
        id: c.id("id")?,
        tenant_id: c.id("tenant_id")?,
        site_id: c.id("site_id")?,
        name: c.parse("name")?,
        sla_target_secs: c.u32("sla_target_secs")?,
        expected_duration_secs: c.u32("expected_duration_secs")?,
        ewma_service_secs: c.real("ewma_service_secs")?,
        created_at: c.at("created_at")?,
    })
}

fn queue_row(r: &SqliteRow) -> Result<(Queue, PolicyState)> {
    let c = Cols(r);
    let q = Queue {
        id: c.id("id")?,
        tenant_id: c.id("tenant_id")?,
        site_id: c.id("site_id")?,
        service_id: c.id("service_id")?,
        name: c.parse("name")?,
        prefix: c.parse("prefix")?,
        policy: c.json("policy")?,
        status: c.parse("status")?,
        created_at: c.at("created_at")?,
    };
    Ok((q, c.json("policy_state")?))
}

fn counter_row(r: &SqliteRow) -> Result<Counter> {
    let c = Cols(r);
    Ok(Counter {
        id: c.id("id")?,
        tenant_id: c.id("tenant_id")?,
        site_id: c.id("site_id")?,
        name: c.parse("name")?,
        created_at: c.at("created_at")?,
    })
}

fn agent_row(r: &SqliteRow, skills: Vec<Skill>) -> Result<Agent> {
    let c = Cols(r);
    Ok(Agent {
        id: c.id("id")?,
        tenant_id: c.id("tenant_id")?,
        site_id: c.id("site_id")?,
        user_id: c.opt_id("user_id")?,
        name: c.parse("name")?,
        skills,
        status: c.parse("status")?,
        created_at: c.at("created_at")?,
    })
}

fn skill_row(r: &SqliteRow) -> Result<Skill> {
    let c = Cols(r);
    Ok(Skill {
        service_id: c.id("service_id")?,
        weight: c.u8("weight")?,
    })
}

fn ticket_row(r: &SqliteRow) -> Result<Ticket> {
    let c = Cols(r);
    Ok(Ticket {
        id: c.id("id")?,
        tenant_id: c.id("tenant_id")?,
        site_id: c.id("site_id")?,
        queue_id: c.id("queue_id")?,
        service_id: c.id("service_id")?,
        number: c.text("number")?,
        local_date: c.date("local_date")?,
        seq: c.u32("seq")?,
        status: c.parse("status")?,
        priority: c.u8("priority")?,
        channel: c.parse("channel")?,
        contact_id: c.opt_id("contact_id")?,
        arrived_at: c.at("arrived_at")?,
        created_at: c.at("created_at")?,
        called_at: c.opt_at("called_at")?,
        started_at: c.opt_at("started_at")?,
        finished_at: c.opt_at("finished_at")?,
        counter_id: c.opt_id("counter_id")?,
        agent_id: c.opt_id("agent_id")?,
        recalls: c.u32("recalls")?,
        paused_secs: c.u32("paused_secs")?,
        paused_at: c.opt_at("paused_at")?,
        transferred_from: c.opt_id("transferred_from")?,
        transferred_to: c.opt_id("transferred_to")?,
    })
}

fn event_row(r: &SqliteRow) -> Result<(i64, TicketEvent)> {
    let c = Cols(r);
    let e = TicketEvent {
        id: c.id("id")?,
        tenant_id: c.id("tenant_id")?,
        ticket_id: c.id("ticket_id")?,
        kind: c.text("kind")?,
        from: c.opt_parse("from_status")?,
        to: c.parse("to_status")?,
        actor: c.parse("actor")?,
        at: c.at("at")?,
        data: c.json("data")?,
    };
    Ok((c.int("position")?, e))
}

fn user_row(r: &SqliteRow) -> Result<UserRecord> {
    let c = Cols(r);
    Ok(UserRecord {
        user: User {
            id: c.id("id")?,
            tenant_id: c.opt_id("tenant_id")?,
            email: c.parse("email")?,
            role: c.parse("role")?,
            site_id: c.opt_id("site_id")?,
            created_at: c.at("created_at")?,
        },
        password_hash: c.text("password_hash")?,
    })
}

fn api_key_row(r: &SqliteRow) -> Result<ApiKey> {
    let c = Cols(r);
    let scopes: Vec<String> = c.json("scopes")?;
    let scopes = scopes
        .iter()
        .map(|s| s.parse::<Scope>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StoreError::Backend(format!("unreadable column scopes: {e}")))?;
    Ok(ApiKey {
        id: c.id("id")?,
        tenant_id: c.id("tenant_id")?,
        name: c.parse("name")?,
        prefix: c.text("prefix")?,
        scopes,
        created_at: c.at("created_at")?,
        revoked_at: c.opt_at("revoked_at")?,
    })
}

fn device_row(r: &SqliteRow) -> Result<Device> {
    let c = Cols(r);
    let kind = c.text("kind")?;
    Ok(Device {
        id: c.id("id")?,
        tenant_id: c.id("tenant_id")?,
        site_id: c.id("site_id")?,
        name: c.parse("name")?,
        kind: DeviceKind::parse(&kind)
            .ok_or_else(|| StoreError::Backend(format!("unreadable device kind {kind:?}")))?,
        prefix: c.text("prefix")?,
        created_at: c.at("created_at")?,
        revoked_at: c.opt_at("revoked_at")?,
    })
}

fn audit_row(r: &SqliteRow) -> Result<AuditRecord> {
    let c = Cols(r);
    Ok(AuditRecord {
        id: c.id("id")?,
        seq: c.int("seq")?,
        entry: AuditEntry {
            tenant_id: c.id("tenant_id")?,
            action: c.text("action")?,
            entity_type: c.text("entity_type")?,
            entity_id: c.text("entity_id")?,
            before: c.opt_json("before_json")?,
            after: c.opt_json("after_json")?,
            ctx: AuditContext {
                actor: c.parse("actor")?,
                ip: c.opt_text("ip")?,
                user_agent: c.opt_text("user_agent")?,
                at: c.at("at")?,
            },
        },
        prev_hash: c.text("prev_hash")?,
        hash: c.text("hash")?,
    })
}

fn all<T>(rows: Vec<SqliteRow>, f: impl Fn(&SqliteRow) -> Result<T>) -> Result<Vec<T>> {
    rows.iter().map(f).collect()
}

// ---- loaders (tenant scoped) --------------------------------------------------------------

async fn tenant_exists(c: &mut SqliteConnection, tenant: TenantId) -> Result<bool> {
    Ok(sqlx::query("SELECT 1 FROM tenants WHERE id = ?")
        .bind(key(tenant.0))
        .fetch_optional(c)
        .await
        .map_err(db)?
        .is_some())
}

/// One row of a tenant-owned table by id, mapped: `sql` selects by `tenant_id = ? AND
/// id = ?`, in that order.
pub(crate) async fn row_in<T>(
    c: &mut SqliteConnection,
    sql: &'static str,
    tenant: TenantId,
    id: uuid::Uuid,
    map: fn(&SqliteRow) -> Result<T>,
) -> Result<Option<T>> {
    sqlx::query(sql)
        .bind(key(tenant.0))
        .bind(key(id))
        .fetch_optional(c)
        .await
        .map_err(db)?
        .as_ref()
        .map(map)
        .transpose()
}

async fn site_in(c: &mut SqliteConnection, tenant: TenantId, id: SiteId) -> Result<Option<Site>> {
    row_in(
        c,
        "SELECT * FROM sites WHERE tenant_id = ? AND id = ?",
        tenant,
        id.0,
        site_row,
    )
    .await
}

async fn service_in(
    c: &mut SqliteConnection,
    tenant: TenantId,
    id: ServiceId,
) -> Result<Option<Service>> {
    row_in(
        c,
        "SELECT * FROM services WHERE tenant_id = ? AND id = ?",
        tenant,
        id.0,
        service_row,
    )
    .await
}

async fn queue_in(
    c: &mut SqliteConnection,
    tenant: TenantId,
    id: QueueId,
) -> Result<Option<(Queue, PolicyState)>> {
    row_in(
        c,
        "SELECT * FROM queues WHERE tenant_id = ? AND id = ?",
        tenant,
        id.0,
        queue_row,
    )
    .await
}

async fn counter_in(
    c: &mut SqliteConnection,
    tenant: TenantId,
    id: CounterId,
) -> Result<Option<Counter>> {
    row_in(
        c,
        "SELECT * FROM counters WHERE tenant_id = ? AND id = ?",
        tenant,
        id.0,
        counter_row,
    )
    .await
}

async fn skills_of(
    c: &mut SqliteConnection,
    tenant: TenantId,
    agent: AgentId,
) -> Result<Vec<Skill>> {
    let rows = sqlx::query(
        "SELECT service_id, weight FROM agent_skills \
         WHERE tenant_id = ? AND agent_id = ? ORDER BY position",
    )
    .bind(key(tenant.0))
    .bind(key(agent.0))
    .fetch_all(c)
    .await
    .map_err(db)?;
    all(rows, skill_row)
}

async fn agent_in(
    c: &mut SqliteConnection,
    tenant: TenantId,
    id: AgentId,
) -> Result<Option<Agent>> {
    let Some(row) = sqlx::query("SELECT * FROM agents WHERE tenant_id = ? AND id = ?")
        .bind(key(tenant.0))
        .bind(key(id.0))
        .fetch_optional(&mut *c)
        .await
        .map_err(db)?
    else {
        return Ok(None);
    };
    let skills = skills_of(c, tenant, id).await?;
    agent_row(&row, skills).map(Some)
}

/// Agents rows plus their skills, read in the caller's transaction.
async fn agents_with_skills(
    c: &mut SqliteConnection,
    tenant: TenantId,
    rows: Vec<SqliteRow>,
) -> Result<Vec<Agent>> {
    let skill_rows = sqlx::query(
        "SELECT agent_id, service_id, weight FROM agent_skills \
         WHERE tenant_id = ? ORDER BY agent_id, position",
    )
    .bind(key(tenant.0))
    .fetch_all(c)
    .await
    .map_err(db)?;
    let mut skills: HashMap<AgentId, Vec<Skill>> = HashMap::new();
    for r in &skill_rows {
        skills
            .entry(Cols(r).id("agent_id")?)
            .or_default()
            .push(skill_row(r)?);
    }
    rows.iter()
        .map(|r| {
            let id: AgentId = Cols(r).id("id")?;
            agent_row(r, skills.remove(&id).unwrap_or_default())
        })
        .collect()
}

async fn ticket_in(
    c: &mut SqliteConnection,
    tenant: TenantId,
    id: TicketId,
) -> Result<Option<Ticket>> {
    row_in(
        c,
        "SELECT * FROM tickets WHERE tenant_id = ? AND id = ?",
        tenant,
        id.0,
        ticket_row,
    )
    .await
}

async fn site_timezone(
    c: &mut SqliteConnection,
    tenant: TenantId,
    site: SiteId,
) -> Result<TimeZone> {
    let row = sqlx::query("SELECT timezone FROM sites WHERE tenant_id = ? AND id = ?")
        .bind(key(tenant.0))
        .bind(key(site.0))
        .fetch_optional(c)
        .await
        .map_err(db)?
        .ok_or(StoreError::NotFound("site"))?;
    Cols(&row).parse("timezone")
}

/// Agents not offline with a skill (weight > 0) for the service: who the ETA divides by.
async fn agents_serving(
    c: &mut SqliteConnection,
    tenant: TenantId,
    service: ServiceId,
) -> Result<u32> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM agents a JOIN agent_skills k ON k.agent_id = a.id \
         WHERE a.tenant_id = ?1 AND k.tenant_id = ?1 AND k.service_id = ?2 AND k.weight > 0 \
           AND a.status <> 'offline'",
    )
    .bind(key(tenant.0))
    .bind(key(service.0))
    .fetch_one(c)
    .await
    .map_err(db)?;
    Cols(&row).u32("n")
}

// ---- writers ------------------------------------------------------------------------------
//
// Every statement is a round trip to the connection's worker thread, and with one writer
// those round trips are the throughput limit. The hot paths (issue, call, transition) read
// what they need in one or two statements and write everything in one multi-statement
// batch; the SQL pieces below are shared by the batches and the one-off helpers, with a
// `bind_*` function per piece binding its `?`s in order.

type Q = sqlx::query::Query<'static, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>;

macro_rules! insert_ticket_sql {
    () => {
        "INSERT INTO tickets (id, tenant_id, site_id, queue_id, service_id, number, local_date, \
         seq, status, priority, channel, contact_id, arrived_at, created_at, called_at, \
         started_at, finished_at, counter_id, agent_id, recalls, paused_secs, paused_at, \
         transferred_from, transferred_to) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);"
    };
}

/// The columns the state machine changes.
macro_rules! update_ticket_sql {
    () => {
        "UPDATE tickets SET status = ?, called_at = ?, started_at = ?, finished_at = ?, \
         counter_id = ?, agent_id = ?, recalls = ?, paused_secs = ?, paused_at = ?, \
         transferred_to = ? WHERE tenant_id = ? AND id = ?;"
    };
}

macro_rules! insert_event_sql {
    () => {
        "INSERT INTO ticket_events (id, tenant_id, ticket_id, kind, from_status, to_status, \
         actor, at, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?);"
    };
}

macro_rules! insert_audit_sql {
    () => {
        "INSERT INTO audit_log (id, tenant_id, seq, action, entity_type, entity_id, \
         before_json, after_json, actor, ip, user_agent, at, prev_hash, hash) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);"
    };
}

macro_rules! upsert_head_sql {
    () => {
        "INSERT INTO audit_heads (tenant_id, last_seq, last_hash) VALUES (?, ?, ?) \
         ON CONFLICT (tenant_id) DO UPDATE SET last_seq = excluded.last_seq, \
         last_hash = excluded.last_hash;"
    };
}

/// The next number of a queue's local day. It runs under the writer's lock, so numbers
/// have no gaps (a rolled-back issue rolls the counter back too) and no repeats.
macro_rules! next_seq_sql {
    () => {
        "INSERT INTO queue_day_counters (tenant_id, queue_id, local_date, last_seq) \
         VALUES (?, ?, ?, 1) \
         ON CONFLICT (queue_id, local_date) DO UPDATE SET last_seq = last_seq + 1 \
         RETURNING last_seq;"
    };
}

/// Matches a contact by phone within the tenant (updating name/locale when given), or
/// creates one. With a NULL phone the unique rule never fires: an anonymous contact is
/// always new.
macro_rules! upsert_contact_sql {
    () => {
        "INSERT INTO contacts (id, tenant_id, phone, name, locale, created_at) \
         VALUES (?, ?, ?, ?, ?, ?) \
         ON CONFLICT (tenant_id, phone) DO UPDATE SET \
           name = COALESCE(excluded.name, contacts.name), \
           locale = COALESCE(excluded.locale, contacts.locale) \
         RETURNING id;"
    };
}

fn bind_insert_ticket(q: Q, t: &Ticket) -> Q {
    q.bind(key(t.id.0))
        .bind(key(t.tenant_id.0))
        .bind(key(t.site_id.0))
        .bind(key(t.queue_id.0))
        .bind(key(t.service_id.0))
        .bind(t.number.clone())
        .bind(date(t.local_date))
        .bind(i64::from(t.seq))
        .bind(t.status.as_str())
        .bind(i64::from(t.priority))
        .bind(t.channel.as_str())
        .bind(t.contact_id.map(|x| key(x.0)))
        .bind(ts(t.arrived_at))
        .bind(ts(t.created_at))
        .bind(opt_ts(t.called_at))
        .bind(opt_ts(t.started_at))
        .bind(opt_ts(t.finished_at))
        .bind(t.counter_id.map(|x| key(x.0)))
        .bind(t.agent_id.map(|x| key(x.0)))
        .bind(i64::from(t.recalls))
        .bind(i64::from(t.paused_secs))
        .bind(opt_ts(t.paused_at))
        .bind(t.transferred_from.map(|x| key(x.0)))
        .bind(t.transferred_to.map(|x| key(x.0)))
}

fn bind_update_ticket(q: Q, t: &Ticket) -> Q {
    q.bind(t.status.as_str())
        .bind(opt_ts(t.called_at))
        .bind(opt_ts(t.started_at))
        .bind(opt_ts(t.finished_at))
        .bind(t.counter_id.map(|x| key(x.0)))
        .bind(t.agent_id.map(|x| key(x.0)))
        .bind(i64::from(t.recalls))
        .bind(i64::from(t.paused_secs))
        .bind(opt_ts(t.paused_at))
        .bind(t.transferred_to.map(|x| key(x.0)))
        .bind(key(t.tenant_id.0))
        .bind(key(t.id.0))
}

fn bind_event(q: Q, e: &TicketEvent) -> Q {
    q.bind(key(e.id.0))
        .bind(key(e.tenant_id.0))
        .bind(key(e.ticket_id.0))
        .bind(e.kind.clone())
        .bind(e.from.map(|s| s.as_str()))
        .bind(e.to.as_str())
        .bind(e.actor.to_string())
        .bind(ts(e.at))
        .bind(e.data.to_string())
}

fn bind_audit(q: Q, rec: &AuditRecord) -> Q {
    let e = &rec.entry;
    q.bind(key(rec.id.0))
        .bind(key(e.tenant_id.0))
        .bind(rec.seq)
        .bind(e.action.clone())
        .bind(e.entity_type.clone())
        .bind(e.entity_id.clone())
        .bind(e.before.as_ref().map(|v| v.to_string()))
        .bind(e.after.as_ref().map(|v| v.to_string()))
        .bind(e.ctx.actor.to_string())
        .bind(e.ctx.ip.clone())
        .bind(e.ctx.user_agent.clone())
        .bind(ts(e.ctx.at))
        .bind(rec.prev_hash.clone())
        .bind(rec.hash.clone())
}

fn bind_head(q: Q, rec: &AuditRecord) -> Q {
    q.bind(key(rec.entry.tenant_id.0))
        .bind(rec.seq)
        .bind(rec.hash.clone())
}

fn bind_next_seq(q: Q, tenant: TenantId, queue: QueueId, day: NaiveDate) -> Q {
    q.bind(key(tenant.0)).bind(key(queue.0)).bind(date(day))
}

fn bind_contact(q: Q, tenant: TenantId, input: &ContactInput, now: DateTime<Utc>) -> Q {
    q.bind(key(ContactId::new().0))
        .bind(key(tenant.0))
        .bind(input.phone.as_ref().map(|p| p.as_str().to_owned()))
        .bind(input.name.as_ref().map(|n| n.as_str().to_owned()))
        .bind(input.locale.as_ref().map(|l| l.as_str().to_owned()))
        .bind(ts(now))
}

fn value<T: serde::Serialize>(v: &T) -> Result<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| StoreError::Backend(format!("encode json: {e}")))
}

/// Writes a queue's or agent's new `status` with its `<entity>.set_status` audit row: the
/// part both status changes share. `entity` names the table (`queue` → `queues`).
async fn write_status<T: serde::Serialize>(
    c: &mut SqliteConnection,
    tenant: TenantId,
    entity: &'static str,
    id: uuid::Uuid,
    status: &str,
    (before, after): (&T, &T),
    ctx: &AuditContext,
) -> Result<()> {
    // `entity` is one of our two literals, never input: safe to splice.
    let sql = format!("UPDATE {entity}s SET status = ? WHERE tenant_id = ? AND id = ?");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(status)
        .bind(key(tenant.0))
        .bind(key(id))
        .execute(&mut *c)
        .await
        .map_err(db)?;
    let e = entry(
        tenant,
        &format!("{entity}.set_status"),
        entity,
        id,
        Some(value(before)?),
        Some(value(after)?),
        ctx,
    );
    append_audit(c, e).await
}

fn entry(
    tenant: TenantId,
    action: &str,
    entity_type: &str,
    entity_id: impl ToString,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
    ctx: &AuditContext,
) -> AuditEntry {
    AuditEntry::new(tenant, action, entity_type, entity_id, before, after, ctx)
}

/// The end of a tenant's audit chain, read inside the write transaction (the single writer
/// keeps it current until commit). Chaining several rows in one transaction links each to
/// the previous one.
struct Chain {
    head: Option<(i64, String)>,
}

impl Chain {
    /// From a row carrying `head_seq` / `head_hash` (NULL: the tenant has no row yet).
    fn from_row(r: &SqliteRow) -> Result<Chain> {
        let c = Cols(r);
        let head = match c.0.try_get::<Option<i64>, _>("head_seq") {
            Ok(Some(seq)) => Some((seq, c.text("head_hash")?)),
            Ok(None) => None,
            Err(e) => return Err(StoreError::Backend(format!("unreadable head_seq: {e}"))),
        };
        Ok(Chain { head })
    }

    async fn load(c: &mut SqliteConnection, tenant: TenantId) -> Result<Chain> {
        let row = sqlx::query(
            "SELECT last_seq AS head_seq, last_hash AS head_hash FROM audit_heads \
             WHERE tenant_id = ?",
        )
        .bind(key(tenant.0))
        .fetch_optional(c)
        .await
        .map_err(db)?;
        match row {
            Some(r) => Chain::from_row(&r),
            None => Ok(Chain { head: None }),
        }
    }

    fn push(&mut self, entry: AuditEntry) -> AuditRecord {
        let rec = audit::chain(
            self.head.as_ref().map(|(s, h)| (*s, h.as_str())),
            AuditId::new(),
            entry,
        );
        self.head = Some((rec.seq, rec.hash.clone()));
        rec
    }
}

/// Writes an audit row and moves the tenant's head to it.
async fn write_audit(c: &mut SqliteConnection, rec: &AuditRecord) -> Result<()> {
    let q = sqlx::query(concat!(insert_audit_sql!(), upsert_head_sql!()));
    bind_head(bind_audit(q, rec), rec)
        .execute(c)
        .await
        .map_err(db)?;
    Ok(())
}

/// Appends one audit row to the tenant's chain, in the caller's transaction.
async fn append_audit(c: &mut SqliteConnection, entry: AuditEntry) -> Result<()> {
    let mut chain = Chain::load(&mut *c, entry.tenant_id).await?;
    write_audit(c, &chain.push(entry)).await
}

async fn insert_ticket(c: &mut SqliteConnection, t: &Ticket) -> Result<()> {
    bind_insert_ticket(sqlx::query(insert_ticket_sql!()), t)
        .execute(c)
        .await
        .map_err(db)?;
    Ok(())
}

async fn update_ticket(c: &mut SqliteConnection, t: &Ticket) -> Result<()> {
    bind_update_ticket(sqlx::query(update_ticket_sql!()), t)
        .execute(c)
        .await
        .map_err(db)?;
    Ok(())
}

async fn insert_event(c: &mut SqliteConnection, e: &TicketEvent) -> Result<()> {
    bind_event(sqlx::query(insert_event_sql!()), e)
        .execute(c)
        .await
        .map_err(db)?;
    Ok(())
}

async fn next_seq(
    c: &mut SqliteConnection,
    tenant: TenantId,
    queue: QueueId,
    day: NaiveDate,
) -> Result<u32> {
    let row = bind_next_seq(sqlx::query(next_seq_sql!()), tenant, queue, day)
        .fetch_one(c)
        .await
        .map_err(db)?;
    Cols(&row).u32("last_seq")
}

/// What a new ticket in a queue needs besides the queue and its number.
struct NewTicket {
    priority: u8,
    channel: Channel,
    contact_id: Option<ContactId>,
    arrived_at: DateTime<Utc>,
    transferred_from: Option<TicketId>,
}

/// A new waiting ticket numbered `seq` of the local day `day` in `queue`.
fn build_ticket(
    queue: &Queue,
    day: NaiveDate,
    seq: u32,
    n: NewTicket,
    now: DateTime<Utc>,
) -> Ticket {
    Ticket {
        id: TicketId::new(),
        tenant_id: queue.tenant_id,
        site_id: queue.site_id,
        queue_id: queue.id,
        service_id: queue.service_id,
        number: numbering::format_number(&queue.prefix, seq),
        local_date: day,
        seq,
        status: TicketStatus::Waiting,
        priority: n.priority,
        channel: n.channel,
        contact_id: n.contact_id,
        arrived_at: truncate_micros(n.arrived_at),
        created_at: now,
        called_at: None,
        started_at: None,
        finished_at: None,
        counter_id: None,
        agent_id: None,
        recalls: 0,
        paused_secs: 0,
        paused_at: None,
        transferred_from: n.transferred_from,
        transferred_to: None,
    }
}

fn issue_entry(t: &Ticket, ctx: &AuditContext) -> Result<AuditEntry> {
    Ok(entry(
        t.tenant_id,
        "ticket.issue",
        "ticket",
        t.id,
        None,
        Some(value(t)?),
        ctx,
    ))
}

/// Call-next's read: the agent's and counter's sites, the audit head, then one row per
/// class head (first waiting ticket of each (queue, priority), found by a loose index scan
/// over `tickets_waiting`: one seek per class, however long the queue) of the queues of
/// the agent's site it has a skill for, open or paused, with the queue's policy.
const CALL_READ: &str = "\
SELECT (SELECT site_id FROM agents WHERE tenant_id = ?1 AND id = ?2) AS agent_site, \
       (SELECT site_id FROM counters WHERE tenant_id = ?1 AND id = ?3) AS counter_site, \
       (SELECT last_seq FROM audit_heads WHERE tenant_id = ?1) AS head_seq, \
       (SELECT last_hash FROM audit_heads WHERE tenant_id = ?1) AS head_hash; \
WITH RECURSIVE \
  cand AS ( \
    SELECT q.id AS cand_queue, q.policy, q.policy_state, s.sla_target_secs, k.weight \
    FROM queues q \
    JOIN services s ON s.id = q.service_id \
    JOIN agent_skills k ON k.agent_id = ?2 AND k.service_id = q.service_id AND k.weight > 0 \
    WHERE q.tenant_id = ?1 AND k.tenant_id = ?1 \
      AND q.site_id = (SELECT site_id FROM agents WHERE tenant_id = ?1 AND id = ?2) \
      AND q.status IN ('open', 'paused') \
      AND (?4 IS NULL OR q.id IN (SELECT value FROM json_each(?4))) \
  ), \
  classes (queue_id, priority) AS ( \
    SELECT cand_queue, (SELECT MIN(priority) FROM tickets \
                        WHERE queue_id = cand.cand_queue AND status = 'waiting') \
    FROM cand \
    UNION ALL \
    SELECT classes.queue_id, (SELECT MIN(priority) FROM tickets \
                              WHERE queue_id = classes.queue_id AND status = 'waiting' \
                                AND priority > classes.priority) \
    FROM classes WHERE classes.priority IS NOT NULL \
  ) \
SELECT t.*, cand.policy, cand.policy_state, cand.sla_target_secs, cand.weight \
FROM classes \
JOIN cand ON cand.cand_queue = classes.queue_id \
JOIN tickets t ON t.id = ( \
  SELECT h.id FROM tickets h \
  WHERE h.queue_id = classes.queue_id AND h.status = 'waiting' \
    AND h.priority = classes.priority \
  ORDER BY h.arrived_at, h.seq, h.id LIMIT 1) \
WHERE classes.priority IS NOT NULL AND t.tenant_id = ?1;";

/// Call-next's write: the called ticket, its event, the queue's policy state, the agent
/// now serving, the audit row.
const CALL_WRITE: &str = concat!(
    update_ticket_sql!(),
    insert_event_sql!(),
    "UPDATE queues SET policy_state = ? WHERE tenant_id = ? AND id = ?;",
    "UPDATE agents SET status = 'serving' WHERE tenant_id = ? AND id = ?;",
    insert_audit_sql!(),
    upsert_head_sql!(),
);

/// A transition's write. The EWMA update only applies when its flag is set (a close); the
/// agent is freed only if one is named and it is serving.
const TRANSITION_WRITE: &str = concat!(
    update_ticket_sql!(),
    insert_event_sql!(),
    "UPDATE services SET ewma_service_secs = ? WHERE ? AND tenant_id = ? AND id = ?;",
    "UPDATE agents SET status = 'available' \
     WHERE tenant_id = ? AND id = ? AND status = 'serving';",
    insert_audit_sql!(),
    upsert_head_sql!(),
);

const ISSUE_WRITE: &str = concat!(
    insert_ticket_sql!(),
    insert_event_sql!(),
    insert_audit_sql!(),
    upsert_head_sql!(),
);

/// Checks a transfer's target and inserts the new ticket there (next number of the target
/// queue's local day; arrival kept with `keep_position`), linking both tickets. The caller
/// records the events and audit rows.
async fn transfer(
    c: &mut SqliteConnection,
    before: &Ticket,
    after: &mut Ticket,
    to_queue_id: QueueId,
    keep_position: bool,
    now: DateTime<Utc>,
) -> Result<Ticket> {
    let tenant = before.tenant_id;
    let (target, _) = queue_in(&mut *c, tenant, to_queue_id)
        .await?
        .ok_or(StoreError::NotFound("queue"))?;
    if target.site_id != before.site_id {
        return Err(StoreError::Invalid(
            "the target queue is at another site".into(),
        ));
    }
    if target.id == before.queue_id {
        return Err(StoreError::Invalid(
            "the ticket is already in that queue".into(),
        ));
    }
    let tz = site_timezone(&mut *c, tenant, target.site_id).await?;
    let day = numbering::local_day(now, tz);
    let seq = next_seq(&mut *c, tenant, target.id, day).await?;
    let created = build_ticket(
        &target,
        day,
        seq,
        NewTicket {
            priority: before.priority,
            channel: before.channel,
            contact_id: before.contact_id,
            arrived_at: if keep_position {
                before.arrived_at
            } else {
                now
            },
            transferred_from: Some(before.id),
        },
        now,
    );
    // The new row first: the original's `transferred_to` references it.
    insert_ticket(&mut *c, &created).await?;
    after.transferred_to = Some(created.id);
    update_ticket(c, after).await?;
    Ok(created)
}

// ---- the port -----------------------------------------------------------------------------

#[async_trait]
impl Store for SqliteStore {
    fn migrations(&self) -> &Migrations {
        &self.migrations
    }

    async fn health(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map_err(db)?;
        Ok(())
    }

    // -- platform --

    async fn create_tenant(&self, t: NewTenant, ctx: &AuditContext) -> Result<Tenant> {
        let tenant = Tenant {
            id: TenantId::new(),
            slug: t.slug,
            name: t.name,
            default_locale: t.default_locale,
            created_at: truncate_micros(ctx.at),
        };
        let ctx = ctx.clone();
        self.writer
            .write(None, async move |tx: &mut SqliteConnection| {
                let ctx = &ctx;
                sqlx::query(
                    "INSERT INTO tenants (id, slug, name, default_locale, created_at) \
                 VALUES (?, ?, ?, ?, ?)",
                )
                .bind(key(tenant.id.0))
                .bind(tenant.slug.as_str())
                .bind(tenant.name.as_str())
                .bind(tenant.default_locale.as_str())
                .bind(ts(tenant.created_at))
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                append_audit(
                    &mut *tx,
                    entry(
                        tenant.id,
                        "tenant.create",
                        "tenant",
                        tenant.id,
                        None,
                        Some(value(&tenant)?),
                        ctx,
                    ),
                )
                .await?;
                Ok(tenant)
            })
            .await
    }

    async fn tenant_by_slug(&self, slug: &TenantSlug) -> Result<Option<Tenant>> {
        sqlx::query("SELECT * FROM tenants WHERE slug = ?")
            .bind(slug.as_str())
            .fetch_optional(&self.reader)
            .await
            .map_err(db)?
            .as_ref()
            .map(tenant_row)
            .transpose()
    }

    async fn tenant(&self, id: TenantId) -> Result<Option<Tenant>> {
        sqlx::query("SELECT * FROM tenants WHERE id = ?")
            .bind(key(id.0))
            .fetch_optional(&self.reader)
            .await
            .map_err(db)?
            .as_ref()
            .map(tenant_row)
            .transpose()
    }

    async fn tenants(&self) -> Result<Vec<Tenant>> {
        let rows = sqlx::query("SELECT * FROM tenants ORDER BY created_at, id")
            .fetch_all(&self.reader)
            .await
            .map_err(db)?;
        all(rows, tenant_row)
    }

    // -- catalogue --

    async fn create_site(&self, tenant: TenantId, s: NewSite, ctx: &AuditContext) -> Result<Site> {
        let site = Site {
            id: SiteId::new(),
            tenant_id: tenant,
            name: s.name,
            timezone: s.timezone,
            locale: s.locale,
            created_at: truncate_micros(ctx.at),
        };
        let ctx = ctx.clone();
        self.writer
            .write(None, async move |tx: &mut SqliteConnection| {
                let ctx = &ctx;
                if !tenant_exists(&mut *tx, tenant).await? {
                    return Err(StoreError::NotFound("tenant"));
                }
                sqlx::query(
                    "INSERT INTO sites (id, tenant_id, name, timezone, locale, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?)",
                )
                .bind(key(site.id.0))
                .bind(key(tenant.0))
                .bind(site.name.as_str())
                .bind(site.timezone.to_string())
                .bind(site.locale.as_str())
                .bind(ts(site.created_at))
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                append_audit(
                    &mut *tx,
                    entry(
                        tenant,
                        "site.create",
                        "site",
                        site.id,
                        None,
                        Some(value(&site)?),
                        ctx,
                    ),
                )
                .await?;
                Ok(site)
            })
            .await
    }

    async fn sites(&self, tenant: TenantId) -> Result<Vec<Site>> {
        let rows = sqlx::query("SELECT * FROM sites WHERE tenant_id = ? ORDER BY created_at, id")
            .bind(key(tenant.0))
            .fetch_all(&self.reader)
            .await
            .map_err(db)?;
        all(rows, site_row)
    }

    async fn site(&self, tenant: TenantId, id: SiteId) -> Result<Option<Site>> {
        site_in(&mut *self.read().await?, tenant, id).await
    }

    async fn create_service(
        &self,
        tenant: TenantId,
        s: NewService,
        ctx: &AuditContext,
    ) -> Result<Service> {
        let service = Service {
            id: ServiceId::new(),
            tenant_id: tenant,
            site_id: s.site_id,
            name: s.name,
            sla_target_secs: s.sla_target_secs,
            expected_duration_secs: s.expected_duration_secs,
            ewma_service_secs: f64::from(s.expected_duration_secs),
            created_at: truncate_micros(ctx.at),
        };
        let ctx = ctx.clone();
        self.writer
            .write(None, async move |tx: &mut SqliteConnection| {
                let ctx = &ctx;
                if site_in(&mut *tx, tenant, s.site_id).await?.is_none() {
                    return Err(StoreError::NotFound("site"));
                }
                sqlx::query(
                    "INSERT INTO services (id, tenant_id, site_id, name, sla_target_secs, \
                 expected_duration_secs, ewma_service_secs, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(key(service.id.0))
                .bind(key(tenant.0))
                .bind(key(service.site_id.0))
                .bind(service.name.as_str())
                .bind(i64::from(service.sla_target_secs))
                .bind(i64::from(service.expected_duration_secs))
                .bind(service.ewma_service_secs)
                .bind(ts(service.created_at))
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                append_audit(
                    &mut *tx,
                    entry(
                        tenant,
                        "service.create",
                        "service",
                        service.id,
                        None,
                        Some(value(&service)?),
                        ctx,
                    ),
                )
                .await?;
                Ok(service)
            })
            .await
    }

    async fn services(&self, tenant: TenantId) -> Result<Vec<Service>> {
        let rows =
            sqlx::query("SELECT * FROM services WHERE tenant_id = ? ORDER BY created_at, id")
                .bind(key(tenant.0))
                .fetch_all(&self.reader)
                .await
                .map_err(db)?;
        all(rows, service_row)
    }

    async fn service(&self, tenant: TenantId, id: ServiceId) -> Result<Option<Service>> {
        service_in(&mut *self.read().await?, tenant, id).await
    }

    async fn create_queue(
        &self,
        tenant: TenantId,
        q: NewQueue,
        ctx: &AuditContext,
    ) -> Result<Queue> {
        let ctx = ctx.clone();
        self.writer
            .write(None, async move |tx: &mut SqliteConnection| {
                let ctx = &ctx;
                let service = service_in(&mut *tx, tenant, q.service_id)
                    .await?
                    .ok_or(StoreError::NotFound("service"))?;
                let queue = Queue {
                    id: QueueId::new(),
                    tenant_id: tenant,
                    site_id: service.site_id,
                    service_id: service.id,
                    name: q.name,
                    prefix: q.prefix,
                    policy: q.policy,
                    status: QueueStatus::Open,
                    created_at: truncate_micros(ctx.at),
                };
                sqlx::query(
                    "INSERT INTO queues (id, tenant_id, site_id, service_id, name, prefix, policy, \
                 policy_state, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(key(queue.id.0))
                .bind(key(tenant.0))
                .bind(key(queue.site_id.0))
                .bind(key(queue.service_id.0))
                .bind(queue.name.as_str())
                .bind(queue.prefix.as_str())
                .bind(json(&queue.policy)?)
                .bind(json(&PolicyState::default())?)
                .bind(queue.status.as_str())
                .bind(ts(queue.created_at))
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                append_audit(
                    &mut *tx,
                    entry(
                        tenant,
                        "queue.create",
                        "queue",
                        queue.id,
                        None,
                        Some(value(&queue)?),
                        ctx,
                    ),
                )
                .await?;
                Ok(queue)
            })
            .await
    }

    async fn queues(&self, tenant: TenantId) -> Result<Vec<Queue>> {
        let rows = sqlx::query("SELECT * FROM queues WHERE tenant_id = ? ORDER BY created_at, id")
            .bind(key(tenant.0))
            .fetch_all(&self.reader)
            .await
            .map_err(db)?;
        rows.iter().map(|r| queue_row(r).map(|(q, _)| q)).collect()
    }

    async fn queue(&self, tenant: TenantId, id: QueueId) -> Result<Option<Queue>> {
        Ok(queue_in(&mut *self.read().await?, tenant, id)
            .await?
            .map(|(q, _)| q))
    }

    async fn set_queue_status(
        &self,
        tenant: TenantId,
        id: QueueId,
        status: QueueStatus,
        ctx: &AuditContext,
    ) -> Result<Queue> {
        let ctx = ctx.clone();
        self.writer
            .write(None, async move |tx: &mut SqliteConnection| {
                let ctx = &ctx;
                let (before, _) = queue_in(&mut *tx, tenant, id)
                    .await?
                    .ok_or(StoreError::NotFound("queue"))?;
                let after = Queue {
                    status,
                    ..before.clone()
                };
                write_status(
                    &mut *tx,
                    tenant,
                    "queue",
                    id.0,
                    status.as_str(),
                    (&before, &after),
                    ctx,
                )
                .await?;
                Ok(after)
            })
            .await
    }

    async fn create_counter(
        &self,
        tenant: TenantId,
        c: NewCounter,
        ctx: &AuditContext,
    ) -> Result<Counter> {
        let counter = Counter {
            id: CounterId::new(),
            tenant_id: tenant,
            site_id: c.site_id,
            name: c.name,
            created_at: truncate_micros(ctx.at),
        };
        let ctx = ctx.clone();
        self.writer
            .write(None, async move |tx: &mut SqliteConnection| {
                let ctx = &ctx;
                if site_in(&mut *tx, tenant, c.site_id).await?.is_none() {
                    return Err(StoreError::NotFound("site"));
                }
                sqlx::query(
                    "INSERT INTO counters (id, tenant_id, site_id, name, created_at) \
                 VALUES (?, ?, ?, ?, ?)",
                )
                .bind(key(counter.id.0))
                .bind(key(tenant.0))
                .bind(key(counter.site_id.0))
                .bind(counter.name.as_str())
                .bind(ts(counter.created_at))
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                append_audit(
                    &mut *tx,
                    entry(
                        tenant,
                        "counter.create",
                        "counter",
                        counter.id,
                        None,
                        Some(value(&counter)?),
                        ctx,
                    ),
                )
                .await?;
                Ok(counter)
            })
            .await
    }

    async fn counters(&self, tenant: TenantId) -> Result<Vec<Counter>> {
        let rows =
            sqlx::query("SELECT * FROM counters WHERE tenant_id = ? ORDER BY created_at, id")
                .bind(key(tenant.0))
                .fetch_all(&self.reader)
                .await
                .map_err(db)?;
        all(rows, counter_row)
    }

    async fn counter(&self, tenant: TenantId, id: CounterId) -> Result<Option<Counter>> {
        counter_in(&mut *self.read().await?, tenant, id).await
    }

    async fn create_agent(
        &self,
        tenant: TenantId,
        a: NewAgent,
        ctx: &AuditContext,
    ) -> Result<Agent> {
        let agent = Agent {
            id: AgentId::new(),
            tenant_id: tenant,
            site_id: a.site_id,
            user_id: a.user_id,
            name: a.name,
            skills: a.skills,
            // New agents count as present; the console moves them from there.
            status: AgentStatus::Available,
            created_at: truncate_micros(ctx.at),
        };
        let ctx = ctx.clone();
        self.writer
            .write(None, async move |tx: &mut SqliteConnection| {
                let ctx = &ctx;
                if site_in(&mut *tx, tenant, agent.site_id).await?.is_none() {
                    return Err(StoreError::NotFound("site"));
                }
                if let Some(user) = agent.user_id {
                    let found = sqlx::query("SELECT 1 FROM users WHERE tenant_id = ? AND id = ?")
                        .bind(key(tenant.0))
                        .bind(key(user.0))
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db)?;
                    if found.is_none() {
                        return Err(StoreError::NotFound("user"));
                    }
                }
                for s in &agent.skills {
                    if service_in(&mut *tx, tenant, s.service_id).await?.is_none() {
                        return Err(StoreError::NotFound("service"));
                    }
                }
                sqlx::query(
                "INSERT INTO agents (id, tenant_id, site_id, user_id, name, status, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(key(agent.id.0))
            .bind(key(tenant.0))
            .bind(key(agent.site_id.0))
            .bind(agent.user_id.map(|u| key(u.0)))
            .bind(agent.name.as_str())
            .bind(agent.status.as_str())
            .bind(ts(agent.created_at))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
                for (i, s) in agent.skills.iter().enumerate() {
                    sqlx::query(
                    "INSERT INTO agent_skills (tenant_id, agent_id, service_id, weight, position) \
                     VALUES (?, ?, ?, ?, ?)",
                )
                .bind(key(tenant.0))
                .bind(key(agent.id.0))
                .bind(key(s.service_id.0))
                .bind(i64::from(s.weight))
                .bind(i as i64)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                }
                append_audit(
                    &mut *tx,
                    entry(
                        tenant,
                        "agent.create",
                        "agent",
                        agent.id,
                        None,
                        Some(value(&agent)?),
                        ctx,
                    ),
                )
                .await?;
                Ok(agent)
            })
            .await
    }

    async fn agents(&self, tenant: TenantId) -> Result<Vec<Agent>> {
        let mut tx = self.snapshot().await?;
        let rows = sqlx::query("SELECT * FROM agents WHERE tenant_id = ? ORDER BY created_at, id")
            .bind(key(tenant.0))
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
        agents_with_skills(&mut tx, tenant, rows).await
    }

    async fn agent(&self, tenant: TenantId, id: AgentId) -> Result<Option<Agent>> {
        let mut tx = self.snapshot().await?;
        agent_in(&mut tx, tenant, id).await
    }

    async fn agent_by_user(&self, tenant: TenantId, user: UserId) -> Result<Option<Agent>> {
        let mut tx = self.snapshot().await?;
        let row = sqlx::query(
            "SELECT * FROM agents WHERE tenant_id = ? AND user_id = ? \
             ORDER BY created_at, id LIMIT 1",
        )
        .bind(key(tenant.0))
        .bind(key(user.0))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some(row) = row else { return Ok(None) };
        let id: AgentId = Cols(&row).id("id")?;
        let skills = skills_of(&mut tx, tenant, id).await?;
        agent_row(&row, skills).map(Some)
    }

    async fn set_agent_status(
        &self,
        tenant: TenantId,
        id: AgentId,
        status: AgentStatus,
        ctx: &AuditContext,
    ) -> Result<Agent> {
        let ctx = ctx.clone();
        self.writer
            .write(None, async move |tx: &mut SqliteConnection| {
                let ctx = &ctx;
                let before = agent_in(&mut *tx, tenant, id)
                    .await?
                    .ok_or(StoreError::NotFound("agent"))?;
                let after = Agent {
                    status,
                    ..before.clone()
                };
                write_status(
                    &mut *tx,
                    tenant,
                    "agent",
                    id.0,
                    status.as_str(),
                    (&before, &after),
                    ctx,
                )
                .await?;
                Ok(after)
            })
            .await
    }

    // -- tickets --

    async fn issue_ticket(
        &self,
        tenant: TenantId,
        req: IssueTicket,
        ctx: &AuditContext,
    ) -> Result<Ticket> {
        let now = truncate_micros(ctx.at);
        let ctx = ctx.clone();
        self.writer
            .write(None, async move |tx: &mut SqliteConnection| {
                let ctx = &ctx;
                let row = sqlx::query(
                    "SELECT q.*, s.timezone, h.last_seq AS head_seq, h.last_hash AS head_hash \
                 FROM queues q JOIN sites s ON s.id = q.site_id \
                 LEFT JOIN audit_heads h ON h.tenant_id = q.tenant_id \
                 WHERE q.tenant_id = ? AND q.service_id = ?",
                )
                .bind(key(tenant.0))
                .bind(key(req.service_id.0))
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?
                .ok_or(StoreError::NotFound("service"))?;
                let (queue, _) = queue_row(&row)?;
                if queue.status != QueueStatus::Open {
                    return Err(StoreError::QueueClosed);
                }
                let tz: TimeZone = Cols(&row).parse("timezone")?;
                let mut chain = Chain::from_row(&row)?;
                let day = numbering::local_day(now, tz);
                // The number and the contact in one round trip.
                let (seq, contact_id) = match &req.contact {
                    None => {
                        let r = bind_next_seq(sqlx::query(next_seq_sql!()), tenant, queue.id, day)
                            .fetch_one(&mut *tx)
                            .await
                            .map_err(db)?;
                        (Cols(&r).u32("last_seq")?, None)
                    }
                    Some(contact) => {
                        let q = sqlx::query(concat!(next_seq_sql!(), upsert_contact_sql!()));
                        let rows = bind_contact(
                            bind_next_seq(q, tenant, queue.id, day),
                            tenant,
                            contact,
                            now,
                        )
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(db)?;
                        let [seq_row, contact_row] = rows.as_slice() else {
                            return Err(StoreError::Backend(format!(
                                "numbering returned {} rows, expected 2",
                                rows.len()
                            )));
                        };
                        (
                            Cols(seq_row).u32("last_seq")?,
                            Some(Cols(contact_row).id("id")?),
                        )
                    }
                };
                let t = build_ticket(
                    &queue,
                    day,
                    seq,
                    NewTicket {
                        priority: req.priority,
                        channel: req.channel,
                        contact_id,
                        arrived_at: now,
                        transferred_from: None,
                    },
                    now,
                );
                let rec = chain.push(issue_entry(&t, ctx)?);
                let q = bind_insert_ticket(sqlx::query(ISSUE_WRITE), &t);
                let q = bind_event(q, &ticket::issued_event(&t, &ctx.actor));
                bind_head(bind_audit(q, &rec), &rec)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                Ok(t)
            })
            .await
    }

    async fn ticket(&self, tenant: TenantId, id: TicketId) -> Result<Option<Ticket>> {
        ticket_in(&mut *self.read().await?, tenant, id).await
    }

    async fn tickets(&self, tenant: TenantId, filter: &TicketFilter) -> Result<Vec<Ticket>> {
        let limit = filter.limit.unwrap_or(DEFAULT_TICKETS).min(MAX_TICKETS);
        // `(SELECT ?)` where a bare `?` would be compared with `status` or used as the
        // LIMIT: SQLite re-prepares a statement on every execution when a bound value can
        // change its plan (a LIMIT, a match against a partial index's WHERE), which costs
        // more than the query itself.
        let rows = sqlx::query(
            "SELECT * FROM tickets WHERE tenant_id = ?1 \
               AND (?2 IS NULL OR status = (SELECT ?2)) AND (?3 IS NULL OR queue_id = ?3) \
             ORDER BY created_at DESC, id DESC LIMIT (SELECT ?4)",
        )
        .bind(key(tenant.0))
        .bind(filter.status.map(|s| s.as_str()))
        .bind(filter.queue_id.map(|q| key(q.0)))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(db)?;
        all(rows, ticket_row)
    }

    async fn ticket_events(&self, tenant: TenantId, id: TicketId) -> Result<Vec<TicketEvent>> {
        let rows = sqlx::query(
            "SELECT * FROM ticket_events WHERE tenant_id = ? AND ticket_id = ? ORDER BY position",
        )
        .bind(key(tenant.0))
        .bind(key(id.0))
        .fetch_all(&self.reader)
        .await
        .map_err(db)?;
        rows.iter().map(|r| event_row(r).map(|(_, e)| e)).collect()
    }

    async fn ticket_event_feed(
        &self,
        tenant: TenantId,
        after: i64,
        limit: u32,
    ) -> Result<Vec<(i64, TicketEvent)>> {
        let rows = sqlx::query(
            "SELECT * FROM ticket_events WHERE tenant_id = ? AND position > ? \
             ORDER BY position LIMIT (SELECT ?)", // not `LIMIT ?`: see `tickets`
        )
        .bind(key(tenant.0))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(db)?;
        all(rows, event_row)
    }

    async fn call_next(
        &self,
        tenant: TenantId,
        agent: AgentId,
        counter: CounterId,
        queues: Option<&[QueueId]>,
        ctx: &AuditContext,
    ) -> Result<Option<Ticket>> {
        let now = truncate_micros(ctx.at);
        let ctx = ctx.clone();
        // The chosen queues as a JSON array of ids (`?4`, read with json_each).
        let only = queues
            .map(|qs| json(&qs.iter().map(|q| key(q.0).to_string()).collect::<Vec<_>>()))
            .transpose()?;
        self.writer
            .write(None, async move |tx: &mut SqliteConnection| {
                let ctx = &ctx;
                let rows = sqlx::query(CALL_READ)
                    .bind(key(tenant.0))
                    .bind(key(agent.0))
                    .bind(key(counter.0))
                    .bind(only.as_deref())
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db)?;
                let (meta, heads) = rows
                    .split_first()
                    .ok_or_else(|| StoreError::Backend("call-next read returned no row".into()))?;
                let m = Cols(meta);
                let agent_site: SiteId = m
                    .opt_id("agent_site")?
                    .ok_or(StoreError::NotFound("agent"))?;
                let counter_site: SiteId = m
                    .opt_id("counter_site")?
                    .ok_or(StoreError::NotFound("counter"))?;
                if counter_site != agent_site {
                    return Err(StoreError::Invalid(
                        "the counter is not at the agent's site".into(),
                    ));
                }
                let mut chain = Chain::from_row(meta)?;

                // The class heads, grouped by queue (each row carries its queue's policy).
                struct Candidate {
                    service_id: ServiceId,
                    policy: QueuePolicy,
                    state: PolicyState,
                    weight: u8,
                    heads: Vec<Waiting>,
                    tickets: Vec<Ticket>,
                }
                let mut candidates: BTreeMap<QueueId, Candidate> = BTreeMap::new();
                for r in heads {
                    let t = ticket_row(r)?;
                    let c = Cols(r);
                    let cand = match candidates.entry(t.queue_id) {
                        std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
                        std::collections::btree_map::Entry::Vacant(v) => v.insert(Candidate {
                            service_id: t.service_id,
                            policy: c.json("policy")?,
                            state: c.json("policy_state")?,
                            weight: c.u8("weight")?,
                            heads: Vec::new(),
                            tickets: Vec::new(),
                        }),
                    };
                    cand.heads.push(Waiting {
                        id: t.id,
                        class: t.priority,
                        arrived_at: t.arrived_at,
                        seq: t.seq,
                        sla_target_secs: c.u32("sla_target_secs")?,
                    });
                    cand.tickets.push(t);
                }
                let views: Vec<QueueView<'_>> = candidates
                    .iter()
                    .map(|(queue_id, c)| QueueView {
                        queue_id: *queue_id,
                        service_id: c.service_id,
                        policy: &c.policy,
                        state: &c.state,
                        waiting: &c.heads,
                        skill_weight: c.weight,
                    })
                    .collect();
                let Some(pick) = policy::pick(&views, now) else {
                    return Ok(None);
                };
                let before = candidates
                    .get(&pick.queue_id)
                    .and_then(|c| c.tickets.iter().find(|t| t.id == pick.ticket_id))
                    .cloned()
                    .ok_or_else(|| StoreError::Backend("the policy picked no class head".into()))?;
                let (called, event) = ticket::call(&before, agent, counter, &ctx.actor, now)?;
                let rec = chain.push(entry(
                    tenant,
                    "ticket.call",
                    "ticket",
                    called.id,
                    Some(value(&before)?),
                    Some(value(&called)?),
                    ctx,
                ));
                let q = bind_event(bind_update_ticket(sqlx::query(CALL_WRITE), &called), &event);
                let q = q
                    .bind(json(&pick.new_state)?)
                    .bind(key(tenant.0))
                    .bind(key(pick.queue_id.0));
                let q = q.bind(key(tenant.0)).bind(key(agent.0));
                bind_head(bind_audit(q, &rec), &rec)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                Ok(Some(called))
            })
            .await
    }

    async fn transition(
        &self,
        tenant: TenantId,
        id: TicketId,
        action: TicketAction,
        ctx: &AuditContext,
    ) -> Result<Transitioned> {
        let now = truncate_micros(ctx.at);
        let ctx = ctx.clone();
        self.writer
            .write(None, async move |tx: &mut SqliteConnection| {
                let ctx = &ctx;
                let row = sqlx::query(
                "SELECT t.*, s.ewma_service_secs, h.last_seq AS head_seq, h.last_hash AS head_hash \
                 FROM tickets t JOIN services s ON s.id = t.service_id \
                 LEFT JOIN audit_heads h ON h.tenant_id = t.tenant_id \
                 WHERE t.tenant_id = ? AND t.id = ?",
            )
            .bind(key(tenant.0))
            .bind(key(id.0))
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?
            .ok_or(StoreError::NotFound("ticket"))?;
                let before = ticket_row(&row)?;
                let ewma = Cols(&row).real("ewma_service_secs")?;
                let mut chain = Chain::from_row(&row)?;
                let (mut after, event) = ticket::apply(&before, &action, &ctx.actor, now)?;
                // Leaving the agent (close, no-show, transfer) frees it if it was serving.
                let freed_agent = match action {
                    TicketAction::Close | TicketAction::NoShow | TicketAction::Transfer { .. } => {
                        before.agent_id
                    }
                    _ => None,
                };
                let audit_entry = |after: &Ticket| -> Result<AuditEntry> {
                    Ok(entry(
                        tenant,
                        &format!("ticket.{}", action.name()),
                        "ticket",
                        id,
                        Some(value(&before)?),
                        Some(value(after)?),
                        ctx,
                    ))
                };

                if let TicketAction::Transfer {
                    to_queue_id,
                    keep_position,
                } = action
                {
                    let created = transfer(
                        &mut *tx,
                        &before,
                        &mut after,
                        to_queue_id,
                        keep_position,
                        now,
                    )
                    .await?;
                    insert_event(&mut *tx, &event).await?;
                    insert_event(&mut *tx, &ticket::issued_event(&created, &ctx.actor)).await?;
                    write_audit(&mut *tx, &chain.push(audit_entry(&after)?)).await?;
                    write_audit(&mut *tx, &chain.push(issue_entry(&created, ctx)?)).await?;
                    if let Some(agent) = freed_agent {
                        sqlx::query(
                            "UPDATE agents SET status = 'available' \
                         WHERE tenant_id = ? AND id = ? AND status = 'serving'",
                        )
                        .bind(key(tenant.0))
                        .bind(key(agent.0))
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                    }
                    return Ok(Transitioned {
                        ticket: after,
                        created: Some(created),
                    });
                }

                // A close folds the observed service time (pauses excluded) into the EWMA.
                let new_ewma = match (&action, after.service_secs()) {
                    (TicketAction::Close, Some(observed)) => Some(eta::ewma_update(ewma, observed)),
                    _ => None,
                };
                let rec = chain.push(audit_entry(&after)?);
                let q = bind_event(
                    bind_update_ticket(sqlx::query(TRANSITION_WRITE), &after),
                    &event,
                );
                let q = q
                    .bind(new_ewma.unwrap_or(ewma))
                    .bind(new_ewma.is_some())
                    .bind(key(tenant.0))
                    .bind(key(after.service_id.0));
                let q = q.bind(key(tenant.0)).bind(freed_agent.map(|a| key(a.0)));
                bind_head(bind_audit(q, &rec), &rec)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                Ok(Transitioned {
                    ticket: after,
                    created: None,
                })
            })
            .await
    }

    async fn queue_snapshot(&self, tenant: TenantId, id: QueueId) -> Result<Option<QueueSnapshot>> {
        let mut tx = self.snapshot().await?;
        let Some((queue, policy_state)) = queue_in(&mut tx, tenant, id).await? else {
            return Ok(None);
        };
        let service = service_in(&mut tx, tenant, queue.service_id)
            .await?
            .ok_or(StoreError::NotFound("service"))?;
        let waiting = sqlx::query(
            "SELECT * FROM tickets WHERE queue_id = ? AND tenant_id = ? AND status = 'waiting' \
             ORDER BY arrived_at, seq, id",
        )
        .bind(key(id.0))
        .bind(key(tenant.0))
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        let serving = sqlx::query(
            "SELECT * FROM tickets WHERE queue_id = ? AND tenant_id = ? \
               AND status IN ('called', 'recalled', 'serving', 'paused') \
             ORDER BY called_at, seq",
        )
        .bind(key(id.0))
        .bind(key(tenant.0))
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        let agents_serving = agents_serving(&mut tx, tenant, queue.service_id).await?;
        Ok(Some(QueueSnapshot {
            queue,
            service,
            policy_state,
            waiting: all(waiting, ticket_row)?,
            serving: all(serving, ticket_row)?,
            agents_serving,
        }))
    }

    async fn waiting_heads(
        &self,
        tenant: TenantId,
        queue: QueueId,
        per_class: u32,
    ) -> Result<Vec<Ticket>> {
        let mut tx = self.snapshot().await?;
        let rows = sqlx::query(
            "SELECT t.* FROM queue_waiting w JOIN tickets t ON t.id IN ( \
               SELECT x.id FROM tickets x WHERE x.queue_id = w.queue_id \
                 AND x.priority = w.priority AND x.status = 'waiting' \
               ORDER BY x.arrived_at, x.seq LIMIT ?3) \
             WHERE w.queue_id = ?1 AND w.n > 0 AND t.tenant_id = ?2 \
             ORDER BY t.arrived_at, t.seq, t.id",
        )
        .bind(key(queue.0))
        .bind(key(tenant.0))
        .bind(i64::from(per_class.min(MAX_TICKETS)))
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        rows.iter().map(ticket_row).collect()
    }

    async fn position_inputs(&self, tenant: TenantId, t: &Ticket) -> Result<PositionInputs> {
        // One statement: one snapshot, one round trip. Totals come from the trigger-kept
        // `queue_waiting` counts. "Ahead" is in FIFO order over the classes in scope: every
        // class when the policy has no ratios (one line), else the ticket's own. It is
        // derived from those classes' totals minus the tickets behind (and the ticket
        // itself) when few are behind, as for a ticket just issued; otherwise counted
        // directly, as for a ticket near the front. Either way no read walks a long queue
        // from end to end.
        let row = sqlx::query(
            "WITH q AS ( \
               SELECT q.policy, q.policy_state, q.service_id, s.ewma_service_secs, \
                 COALESCE(json_array_length(q.policy, '$.ratios'), 0) = 0 AS fifo \
               FROM queues q JOIN services s ON s.id = q.service_id \
               WHERE q.tenant_id = ?1 AND q.id = ?2), \
             scope AS MATERIALIZED ( \
               SELECT w.priority, w.n, \
                 (SELECT COUNT(*) FROM (SELECT 1 FROM tickets \
                    WHERE queue_id = ?2 AND status = 'waiting' AND priority = w.priority \
                      AND (arrived_at, seq, id) > (?4, ?5, ?6) LIMIT 64)) AS behind \
               FROM queue_waiting w, q \
               WHERE w.queue_id = ?2 AND w.n > 0 AND (q.fifo OR w.priority = ?3)) \
             SELECT q.policy, q.policy_state, q.ewma_service_secs, \
               (SELECT json_group_array(json_array(priority, n)) FROM queue_waiting \
                WHERE queue_id = ?2 AND n > 0) AS totals, \
               CASE WHEN (SELECT COALESCE(MAX(behind), 0) FROM scope) < 64 \
                 THEN (SELECT COALESCE(SUM(n - behind), 0) FROM scope) \
                   - (SELECT COUNT(*) FROM tickets WHERE id = ?6 AND queue_id = ?2 \
                        AND status = 'waiting' AND priority = ?3) \
                 ELSE (SELECT COALESCE(SUM((SELECT COUNT(*) FROM tickets \
                         WHERE queue_id = ?2 AND status = 'waiting' \
                           AND priority = scope.priority \
                           AND (arrived_at, seq, id) < (?4, ?5, ?6))), 0) FROM scope) \
               END AS ahead, \
               (SELECT COUNT(*) FROM agents a JOIN agent_skills k ON k.agent_id = a.id \
                WHERE a.tenant_id = ?1 AND k.tenant_id = ?1 AND k.service_id = q.service_id \
                  AND k.weight > 0 AND a.status <> 'offline') AS agents_serving \
             FROM q",
        )
        .bind(key(tenant.0))
        .bind(key(t.queue_id.0))
        .bind(i64::from(t.priority))
        .bind(ts(t.arrived_at))
        .bind(i64::from(t.seq))
        .bind(key(t.id.0))
        .fetch_optional(&self.reader)
        .await
        .map_err(db)?
        .ok_or(StoreError::NotFound("queue"))?;
        let c = Cols(&row);
        let pairs: Vec<(u8, u32)> = c.json("totals")?;
        Ok(PositionInputs {
            policy: c.json("policy")?,
            policy_state: c.json("policy_state")?,
            totals: pairs.into_iter().collect(),
            ahead_in_class: c.u32("ahead")?,
            ewma_service_secs: c.real("ewma_service_secs")?,
            agents_serving: c.u32("agents_serving")?,
        })
    }

    async fn last_seq(&self, tenant: TenantId, queue: QueueId, day: NaiveDate) -> Result<u32> {
        let row = sqlx::query(
            "SELECT last_seq FROM queue_day_counters \
             WHERE tenant_id = ? AND queue_id = ? AND local_date = ?",
        )
        .bind(key(tenant.0))
        .bind(key(queue.0))
        .bind(date(day))
        .fetch_optional(&self.reader)
        .await
        .map_err(db)?;
        row.as_ref().map_or(Ok(0), |r| Cols(r).u32("last_seq"))
    }

    // -- users and credentials --

    async fn create_user(&self, u: NewUser, ctx: &AuditContext) -> Result<User> {
        let user = User {
            id: UserId::new(),
            tenant_id: u.tenant_id,
            email: u.email,
            role: u.role,
            site_id: u.site_id,
            created_at: truncate_micros(ctx.at),
        };
        let ctx = ctx.clone();
        self.writer
            .write(None, async move |tx: &mut SqliteConnection| {
                let ctx = &ctx;
            match user.tenant_id {
                Some(tenant) => {
                    if !tenant_exists(&mut *tx, tenant).await? {
                        return Err(StoreError::NotFound("tenant"));
                    }
                    if let Some(site) = user.site_id
                        && site_in(&mut *tx, tenant, site).await?.is_none()
                    {
                        return Err(StoreError::NotFound("site"));
                    }
                }
                None => {
                    if user.role != Role::SuperAdmin || user.site_id.is_some() {
                        return Err(StoreError::Invalid(
                            "only a super admin belongs to no tenant, and has no site".into(),
                        ));
                    }
                }
            }
            sqlx::query(
                "INSERT INTO users (id, tenant_id, email, password_hash, role, site_id, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(key(user.id.0))
            .bind(user.tenant_id.map(|t| key(t.0)))
            .bind(user.email.as_str())
            .bind(&u.password_hash)
            .bind(user.role.as_str())
            .bind(user.site_id.map(|s| key(s.0)))
            .bind(ts(user.created_at))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            // Super admins have no tenant, hence no chain to append to.
            if let Some(tenant) = user.tenant_id {
                append_audit(
                    &mut *tx,
                    entry(
                        tenant,
                        "user.create",
                        "user",
                        user.id,
                        None,
                        Some(value(&user)?),
                        ctx,
                    ),
                )
                .await?;
            }
            Ok(user)
            })
            .await
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<UserRecord>> {
        sqlx::query("SELECT * FROM users WHERE email = ?")
            .bind(email.as_str())
            .fetch_optional(&self.reader)
            .await
            .map_err(db)?
            .as_ref()
            .map(user_row)
            .transpose()
    }

    async fn user(&self, id: UserId) -> Result<Option<User>> {
        Ok(sqlx::query("SELECT * FROM users WHERE id = ?")
            .bind(key(id.0))
            .fetch_optional(&self.reader)
            .await
            .map_err(db)?
            .as_ref()
            .map(user_row)
            .transpose()?
            .map(|r| r.user))
    }

    async fn store_refresh_token(&self, t: NewRefreshToken) -> Result<()> {
        self.writer
            .write(None, async move |tx: &mut SqliteConnection| {
                sqlx::query(
                "INSERT INTO refresh_tokens (token_hash, user_id, family, expires_at, created_at) \
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(&t.token_hash)
            .bind(key(t.user_id.0))
            .bind(key(t.family))
            .bind(ts(t.expires_at))
            .bind(ts(Utc::now()))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
                Ok(())
            })
            .await
    }

    async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        new_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<RefreshOutcome> {
        // Writes run one at a time: a concurrent rotation of the same token runs after
        // this one and finds it used.
        let (old_hash, new_hash) = (old_hash.to_owned(), new_hash.to_owned());
        self.writer
            .write(None, async move |tx: &mut SqliteConnection| {
            let (old_hash, new_hash) = (old_hash.as_str(), new_hash.as_str());
            let Some(row) = sqlx::query(
                "SELECT user_id, family, expires_at, used_at, revoked_at FROM refresh_tokens \
                 WHERE token_hash = ?",
            )
            .bind(old_hash)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?
            else {
                return Ok(RefreshOutcome::Unknown);
            };
            let c = Cols(&row);
            let user_id: UserId = c.id("user_id")?;
            let family = c.text("family")?;
            if c.opt_text("used_at")?.is_some() || c.opt_text("revoked_at")?.is_some() {
                // A rotated token came back: assume it was stolen and end the whole family.
                sqlx::query(
                    "UPDATE refresh_tokens SET revoked_at = ? WHERE family = ? AND revoked_at IS NULL",
                )
                .bind(ts(now))
                .bind(&family)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                return Ok(RefreshOutcome::Reused);
            }
            if c.at("expires_at")? <= truncate_micros(now) {
                return Ok(RefreshOutcome::Expired);
            }
            sqlx::query("UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ?")
                .bind(ts(now))
                .bind(old_hash)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            sqlx::query(
                "INSERT INTO refresh_tokens (token_hash, user_id, family, expires_at, created_at) \
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(new_hash)
            .bind(key(user_id.0))
            .bind(&family)
            .bind(ts(new_expires_at))
            .bind(ts(now))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            Ok(RefreshOutcome::Rotated { user_id })
            })
            .await
    }

    async fn create_api_key(
        &self,
        tenant: TenantId,
        k: NewApiKey,
        ctx: &AuditContext,
    ) -> Result<ApiKey> {
        let api_key = ApiKey {
            id: ApiKeyId::new(),
            tenant_id: tenant,
            name: k.name,
            prefix: k.prefix,
            scopes: k.scopes,
            created_at: truncate_micros(ctx.at),
            revoked_at: None,
        };
        let scopes: Vec<&str> = api_key.scopes.iter().map(|s| s.as_str()).collect();
        let ctx = ctx.clone();
        self.writer
            .write(None, async move |tx: &mut SqliteConnection| {
                let ctx = &ctx;
                if !tenant_exists(&mut *tx, tenant).await? {
                    return Err(StoreError::NotFound("tenant"));
                }
                if let Some(user) = k.created_by {
                    let found = sqlx::query("SELECT 1 FROM users WHERE id = ?")
                        .bind(key(user.0))
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db)?;
                    if found.is_none() {
                        return Err(StoreError::NotFound("user"));
                    }
                }
                sqlx::query(
                "INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, scopes, created_by, \
                 created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(key(api_key.id.0))
            .bind(key(tenant.0))
            .bind(api_key.name.as_str())
            .bind(&api_key.prefix)
            .bind(&k.key_hash)
            .bind(json(&scopes)?)
            .bind(k.created_by.map(|u| key(u.0)))
            .bind(ts(api_key.created_at))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
                // Neither the key nor its hash goes into the audit log.
                let after = serde_json::json!({
                    "id": api_key.id,
                    "tenant_id": tenant,
                    "name": api_key.name,
                    "prefix": api_key.prefix,
                    "scopes": api_key.scopes,
                    "created_by": k.created_by,
                    "created_at": api_key.created_at,
                });
                append_audit(
                    &mut *tx,
                    entry(
                        tenant,
                        "api_key.create",
                        "api_key",
                        api_key.id,
                        None,
                        Some(after),
                        ctx,
                    ),
                )
                .await?;
                Ok(api_key)
            })
            .await
    }

    async fn api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKey>> {
        let rows =
            sqlx::query("SELECT * FROM api_keys WHERE tenant_id = ? ORDER BY created_at, id")
                .bind(key(tenant.0))
                .fetch_all(&self.reader)
                .await
                .map_err(db)?;
        all(rows, api_key_row)
    }

    async fn revoke_api_key(
        &self,
        tenant: TenantId,
        id: ApiKeyId,
        ctx: &AuditContext,
    ) -> Result<ApiKey> {
        let ctx = ctx.clone();
        self.writer
            .write(None, async move |tx: &mut SqliteConnection| {
                let sql = "SELECT * FROM api_keys WHERE tenant_id = ? AND id = ?";
                let before = row_in(&mut *tx, sql, tenant, id.0, api_key_row)
                    .await?
                    .ok_or(StoreError::NotFound("api_key"))?;
                if before.revoked_at.is_some() {
                    return Ok(before);
                }
                let after = ApiKey {
                    revoked_at: Some(truncate_micros(ctx.at)),
                    ..before.clone()
                };
                sqlx::query("UPDATE api_keys SET revoked_at = ? WHERE id = ?")
                    .bind(after.revoked_at.map(ts))
                    .bind(key(id.0))
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                let (b, a) = (revocation(&before), revocation(&after));
                let e = entry(
                    tenant,
                    "api_key.revoke",
                    "api_key",
                    id,
                    Some(b),
                    Some(a),
                    &ctx,
                );
                append_audit(&mut *tx, e).await?;
                Ok(after)
            })
            .await
    }

    async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>> {
        sqlx::query("SELECT * FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL")
            .bind(key_hash)
            .fetch_optional(&self.reader)
            .await
            .map_err(db)?
            .as_ref()
            .map(api_key_row)
            .transpose()
    }

    // -- web views (issue 5): paired devices --

    async fn create_device(
        &self,
        tenant: TenantId,
        d: NewDevice,
        ctx: &AuditContext,
    ) -> Result<Device> {
        let device = Device {
            id: DeviceId::new(),
            tenant_id: tenant,
            site_id: d.site_id,
            name: d.name,
            kind: d.kind,
            prefix: d.prefix,
            created_at: truncate_micros(ctx.at),
            revoked_at: None,
        };
        let ctx = ctx.clone();
        self.writer
            .write(None, async move |tx: &mut SqliteConnection| {
                let site = sqlx::query("SELECT 1 FROM sites WHERE tenant_id = ? AND id = ?")
                    .bind(key(tenant.0))
                    .bind(key(device.site_id.0))
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db)?;
                if site.is_none() {
                    return Err(StoreError::NotFound("site"));
                }
                sqlx::query(
                    "INSERT INTO devices (id, tenant_id, site_id, name, kind, prefix, key_hash, \
                     created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(key(device.id.0))
                .bind(key(tenant.0))
                .bind(key(device.site_id.0))
                .bind(device.name.as_str())
                .bind(device.kind.as_str())
                .bind(&device.prefix)
                .bind(&d.key_hash)
                .bind(ts(device.created_at))
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                let after = device_audit(&device);
                let e = entry(
                    tenant,
                    "device.create",
                    "device",
                    device.id,
                    None,
                    Some(after),
                    &ctx,
                );
                append_audit(&mut *tx, e).await?;
                Ok(device)
            })
            .await
    }

    async fn devices(&self, tenant: TenantId) -> Result<Vec<Device>> {
        let rows = sqlx::query("SELECT * FROM devices WHERE tenant_id = ? ORDER BY created_at, id")
            .bind(key(tenant.0))
            .fetch_all(&self.reader)
            .await
            .map_err(db)?;
        all(rows, device_row)
    }

    async fn revoke_device(
        &self,
        tenant: TenantId,
        id: DeviceId,
        ctx: &AuditContext,
    ) -> Result<Device> {
        let ctx = ctx.clone();
        self.writer
            .write(None, async move |tx: &mut SqliteConnection| {
                let sql = "SELECT * FROM devices WHERE tenant_id = ? AND id = ?";
                let before = row_in(&mut *tx, sql, tenant, id.0, device_row)
                    .await?
                    .ok_or(StoreError::NotFound("device"))?;
                if before.revoked_at.is_some() {
                    return Ok(before);
                }
                let after = Device {
                    revoked_at: Some(truncate_micros(ctx.at)),
                    ..before.clone()
                };
                sqlx::query("UPDATE devices SET revoked_at = ? WHERE id = ?")
                    .bind(after.revoked_at.map(ts))
                    .bind(key(id.0))
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                let (b, a) = (device_audit(&before), device_audit(&after));
                let e = entry(
                    tenant,
                    "device.revoke",
                    "device",
                    id,
                    Some(b),
                    Some(a),
                    &ctx,
                );
                append_audit(&mut *tx, e).await?;
                Ok(after)
            })
            .await
    }

    async fn contact_summary(
        &self,
        tenant: TenantId,
        id: ContactId,
    ) -> Result<Option<ContactSummary>> {
        let row = sqlx::query("SELECT name, locale FROM contacts WHERE tenant_id = ? AND id = ?")
            .bind(key(tenant.0))
            .bind(key(id.0))
            .fetch_optional(&self.reader)
            .await
            .map_err(db)?;
        row.map(|r| {
            let c = Cols(&r);
            Ok(ContactSummary {
                name: c.opt_parse("name")?,
                locale: c.opt_parse("locale")?,
            })
        })
        .transpose()
    }

    async fn device_by_key_hash(&self, key_hash: &str) -> Result<Option<Device>> {
        sqlx::query("SELECT * FROM devices WHERE key_hash = ? AND revoked_at IS NULL")
            .bind(key_hash)
            .fetch_optional(&self.reader)
            .await
            .map_err(db)?
            .as_ref()
            .map(device_row)
            .transpose()
    }

    // -- audit --

    async fn audit_log(&self, tenant: TenantId) -> Result<Vec<AuditRecord>> {
        let rows = sqlx::query("SELECT * FROM audit_log WHERE tenant_id = ? ORDER BY seq")
            .bind(key(tenant.0))
            .fetch_all(&self.reader)
            .await
            .map_err(db)?;
        all(rows, audit_row)
    }
}
