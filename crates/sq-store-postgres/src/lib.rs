//! The PostgreSQL backend of the storage port ([`sq_store::Store`]): the scale-out store.
//!
//! # Tenant isolation: row-level security, not just `WHERE tenant_id = …`
//!
//! Every query here also filters by tenant, but a forgotten filter is the classic
//! multi-tenant bug, so the database enforces isolation on its own:
//!
//! * The migration (run as the URL's user, the *owner*) creates the role `smartqueue_app`:
//!   `LOGIN NOSUPERUSER NOBYPASSRLS`, owning nothing, holding only DML on the tables
//!   (no DDL, no `TRUNCATE`; `audit_log` and `ticket_events` are insert-only).
//!   The application pool always works as that role.
//! * Every tenant-owned table has `ENABLE` + `FORCE ROW LEVEL SECURITY` and one policy,
//!   `tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid`, for both
//!   `USING` (what can be seen, updated, deleted) and `WITH CHECK` (what can be written).
//!   `FORCE` binds the owner too, so even an app wrongly connected as the owner stays
//!   fenced (superusers are exempt whatever we do: never run the app as one).
//! * Each tenant-scoped method runs in one transaction that starts with
//!   `SELECT set_config('app.tenant_id', '<tenant uuid>', true)` (sent together with the
//!   `BEGIN`, one round trip). The `true` makes the setting transaction-local: it cannot
//!   leak to the next user of a pooled connection, and with no setting the policy compares
//!   with NULL and nothing is visible. (`NULLIF` because after such a transaction the
//!   setting reads `''`, not NULL, and `''::uuid` would raise.)
//! * `tenants` has no policy: slugs are public and the platform creates tenants, so the app
//!   role may `SELECT` and `INSERT` it and nothing else.
//! * Lookups that happen *before* the tenant is known (login by e-mail, user by id, API key
//!   by hash, refresh-token storage and rotation, creating a tenant-less super admin) go
//!   through `SECURITY DEFINER` functions owned by the owner, with a fixed `search_path`
//!   and schema-qualified names, each returning only the columns its caller needs (the
//!   user-by-id lookup has no password hash; the key lookup never returns the hash). Because
//!   `FORCE` also binds the owner, those functions are admitted by narrow owner-only
//!   policies (`SELECT` on users and API keys, `INSERT` of tenant-less users); the price is
//!   that a session logged in *as the owner* can read those two tables across tenants.
//!   `refresh_tokens` is not tenant-owned and the app role has no privilege on it at all.
//! * Child rows reference parents by `(tenant_id, id)`, so even a bug cannot link a row of
//!   one tenant to a parent of another.
//!
//! The threat model is *application bugs*, not a compromised application: whoever can run
//! SQL as `smartqueue_app` can set `app.tenant_id` to any tenant.
//!
//! # Two ways to connect
//!
//! [`PostgresStore::connect_with`]`(admin, Some(app))` is the production shape: migrations
//! run with the owner's login, the pool logs in as the app role itself, so no connection of
//! the pool ever holds more than the app's privileges. [`PostgresStore::connect`]`(url)` (=
//! `connect_with(url, None)`) uses one login and runs `SET ROLE smartqueue_app` on every
//! new pooled connection. Simpler to deploy (one secret), and every statement the store
//! runs is still checked as the app role, but the session is *authenticated* as the owner:
//! a statement that ran `RESET ROLE` would get the owner's privileges back. The store never
//! does, and [`PostgresStore::connect_with`] refuses a pool that ends up as a superuser or
//! a role with `BYPASSRLS`. `SET ROLE` needs the owner to be a member of the app role: a
//! superuser always is, the migration grants it when the owner may (`CREATEROLE`), and
//! otherwise `connect` fails at once saying so.
//!
//! The owner need not be a superuser (the tests cover both). Without `CREATEROLE` an
//! administrator creates `smartqueue_app` beforehand; the migration only checks that it
//! cannot bypass row-level security. The app login's authentication (password,
//! certificate) is the operator's business: the migration creates the role without one.
//!
//! # Concurrency
//!
//! Tenant-scoped writes run on write lanes (see `lanes`): a few dedicated connections, a
//! tenant always on the same one, each committing queued writes in groups. Tickets are
//! issued in batches on top of that (see `issue`). Reads use the pool. The locks below
//! still order a lane's transaction against everything else: against other nodes' lanes.
//!
//! Row locks are `FOR NO KEY UPDATE`: as exclusive as `FOR UPDATE` between writers, but
//! they do not block the `KEY SHARE` locks that foreign-key checks take. With `FOR UPDATE`
//! a transfer (ticket locked, then a new ticket whose foreign key points at the target
//! queue) and a call-next (queue locked, then the ticket) deadlock; the
//! `transfers_and_calls_interleave_without_deadlock` test catches that. Issuing into a
//! queue that is being called from does not wait either.
//!
//! * Ticket numbers: an upsert on `queue_day_counters` returns the next number and holds
//!   the row lock to commit, so concurrent issues serialise per queue and day: no gaps
//!   (a rolled-back issue rolls the counter back) and no repeats.
//! * Call-next locks the candidate queue rows in id order (a fixed order, so two agents
//!   never deadlock), then reads the class heads and picks. Not `SKIP LOCKED` (which
//!   ARCHITECTURE.md §3 suggests): the ratio scheduler's credits live on the queue row and
//!   calls within a queue must follow the policy order, so a second agent must *wait* for
//!   the first call to commit and then see its effect, not skip the queue and call out of
//!   order or from a stale head. The cost is that call-next is serialised per set of
//!   queues, so the locked section is kept to a few round trips. The picked ticket is
//!   updated `… WHERE status = 'waiting'` because cancel and transfer lock only the
//!   ticket, and because the heads are read by the statement that waited for the queue
//!   locks (on its older snapshot): if the pick moved meanwhile, the heads are read again.
//! * Audit and feed: every audited write ends by locking its tenant's `audit_heads` row,
//!   held to commit. That serialises the tenant's appends (gap-free `seq`, each row linked
//!   to the previous), and the ticket events are inserted only then, so their feed
//!   positions are drawn in commit order: per tenant, not just per queue, a reader of
//!   `position > after` never misses an event that commits later with a smaller position,
//!   and calls replay in the order they happened. Within one write the head is taken
//!   after the rows that write locks; a lane's group then keeps it for the group's later
//!   writes, which is safe within a node (one lane per tenant) and can, between two nodes
//!   writing the same tenant, end in a deadlock that PostgreSQL breaks by failing one
//!   write (its caller gets an error; nothing of it stays).

mod announcements;
mod issue;
mod lanes;
mod messaging;
mod rows;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use lanes::Lanes;
use sq_domain::audit::{self, AuditContext, AuditEntry, AuditRecord, truncate_micros};
use sq_domain::model::*;
use sq_domain::policy::{self, PolicyState, QueueView, Waiting};
use sq_domain::ticket::{self, Ticket, TicketAction, TicketEvent, TicketStatus};
use sq_domain::*;
use sq_store::*;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection, PgPool, Postgres, Row, Transaction};
use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::Arc;

/// The migrations of this backend, embedded at compile time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// The role the application works as (created by the migration).
pub const APP_ROLE: &str = "smartqueue_app";

const POOL_SIZE: u32 = 16;
const PING_IF_IDLE_FOR: std::time::Duration = std::time::Duration::from_secs(30);
/// Tickets listed at most per call, whatever the caller asks.
const MAX_LIST: u32 = 1_000;
const DEFAULT_LIST: u32 = 100;

/// A [`Store`] on PostgreSQL whose pool works as [`APP_ROLE`]. See the crate docs.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
    /// The write lanes (see the crate docs); a tenant always writes through the same one.
    lanes: Lanes,
    /// Tickets are issued in batches (see `issue`).
    issuer: issue::Batcher,
    migrations: Arc<Migrations>,
}

/// The options of a database URL. On a loopback address, TLS is off unless the URL asks
/// for it (`sslmode=`): it protects nothing there, and it costs more than CPU. sqlx leaves
/// Nagle's algorithm on, and TLS writes a large statement (a batch of tickets) as several
/// records, so every such statement waited for a delayed acknowledgement: about 40 ms.
fn connect_options(url: &str) -> Result<PgConnectOptions> {
    let options = PgConnectOptions::from_str(url).map_err(db)?;
    let host = options.get_host();
    let loopback = host == "localhost"
        || host.starts_with('/')
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback && !url.contains("sslmode=") {
        Ok(options.ssl_mode(sqlx::postgres::PgSslMode::Disable))
    } else {
        Ok(options)
    }
}

/// Each service's site time zone (as stored, parsed), as last read: the issue path numbers
/// tickets by the site-local day before it reads the queue, and checks the zone in the same
/// statement. Entries are only hints: a stale one costs a retry, never a wrong number.
type Zones = Arc<std::sync::Mutex<HashMap<ServiceId, (String, TimeZone)>>>;

impl PostgresStore {
    /// Migrates as the URL's user, then opens a pool on the same login that works as
    /// [`APP_ROLE`] through `SET ROLE` (see the crate docs for the trade-off).
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        Self::connect_with(url, None).await
    }

    /// Migrates as `admin_url`'s user (the owner). With `app_url` the pool logs in with it
    /// (production: a separate login for [`APP_ROLE`]); without, it logs in with
    /// `admin_url` and runs `SET ROLE smartqueue_app` on each new connection.
    pub async fn connect_with(
        admin_url: &str,
        app_url: Option<&str>,
    ) -> Result<PostgresStore, StoreError> {
        let admin = connect_options(admin_url)?;
        // A one-connection pool rather than a bare connection: `Migrator::run` on
        // `&mut PgConnection` makes this future not `Send` (sqlx's `Acquire` lifetimes).
        let owner = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(admin.clone())
            .await
            .map_err(db)?;
        // No table yet (a new database): nothing applied before.
        let before: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations")
            .fetch_all(&owner)
            .await
            .unwrap_or_default();
        let migrated = MIGRATOR.run(&owner).await;
        let migrations = Migrations::after_run(
            MIGRATOR.iter().map(|m| (m.version, &*m.description)),
            &before,
        );
        // Without an app login the pool will `SET ROLE`: say now, clearly, if it cannot
        // (rather than let every pooled connection fail until the acquire times out).
        let can_set_role = if app_url.is_none() && migrated.is_ok() {
            sqlx::query_scalar::<_, bool>("SELECT pg_has_role(current_user, $1, 'MEMBER')")
                .bind(APP_ROLE)
                .fetch_one(&owner)
                .await
                .map_err(db)
        } else {
            Ok(true)
        };
        owner.close().await;
        migrated.map_err(|e| StoreError::Backend(format!("migrations: {e}")))?;
        if !can_set_role? {
            return Err(StoreError::Backend(format!(
                "the database user of the URL is not a member of {APP_ROLE}, so it cannot \
                 SET ROLE to it: grant the membership, or connect the app with its own login \
                 (connect_with(admin_url, Some(app_url)))"
            )));
        }

        // sqlx pings a connection before every acquire by default: a round trip per store
        // call. Ping only connections that sat idle long enough to have gone stale.
        let options = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_IF_IDLE_FOR {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            });
        // The lanes log in like the pool: with the app's login, or the admin's + SET ROLE.
        let (admin_or_app, set_role) = match app_url {
            Some(url) => (connect_options(url)?, false),
            None => (admin.clone(), true),
        };
        let pool = match app_url {
            Some(_) => options
                .connect_with(admin_or_app.clone())
                .await
                .map_err(db)?,
            None => options
                .after_connect(|conn, _meta| {
                    Box::pin(async move {
                        conn.execute("SET ROLE smartqueue_app").await?;
                        Ok(())
                    })
                })
                .connect_with(admin)
                .await
                .map_err(db)?,
        };

        // Refuse to run with a pool that row-level security would not bind, or that owns
        // the tables (an owner could switch the policies off, and reads users and API keys
        // across tenants through the lookup policies).
        let unsafe_role: bool = sqlx::query_scalar(
            "SELECT r.rolsuper OR r.rolbypassrls OR EXISTS ( \
                 SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = 'public' AND c.relname = 'tickets' \
                   AND pg_has_role(current_user, c.relowner, 'USAGE')) \
             FROM pg_roles r WHERE r.rolname = current_user",
        )
        .fetch_one(&pool)
        .await
        .map_err(db)?;
        if unsafe_role {
            pool.close().await;
            return Err(StoreError::Backend(
                "the application pool must not be a superuser, bypass row-level security or \
                 own the tables"
                    .into(),
            ));
        }
        let lanes = Lanes::start(&admin_or_app, set_role)?;
        Ok(PostgresStore {
            pool,
            issuer: issue::Batcher::new(lanes.clone(), Zones::default()),
            lanes,
            migrations: Arc::new(migrations),
        })
    }

    /// Runs `f` as one write of `tenant` on the tenant's lane (see [`Lanes::write`]).
    async fn write<T, F>(&self, tenant: TenantId, f: F) -> Result<T>
    where
        F: AsyncFnOnce(&mut PgConnection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.lanes.write(tenant, f).await
    }

    /// Starts a transaction scoped to `tenant` for row-level security.
    async fn tenant_tx(&self, tenant: TenantId) -> Result<Transaction<'static, Postgres>> {
        self.begin_as(tenant, "BEGIN").await
    }

    /// A read-only transaction on one snapshot, scoped to `tenant`.
    async fn tenant_snapshot(&self, tenant: TenantId) -> Result<Transaction<'static, Postgres>> {
        self.begin_as(tenant, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
    }

    /// `begin` followed by the transaction-local `set_config('app.tenant_id', …, true)`,
    /// sent as one simple-protocol message: one round trip instead of two on every
    /// tenant-scoped call. The id is inlined, which is safe because a `Uuid` prints as
    /// hex digits and dashes only.
    async fn begin_as(
        &self,
        tenant: TenantId,
        begin: &str,
    ) -> Result<Transaction<'static, Postgres>> {
        let sql = format!(
            "{begin}; SELECT set_config('app.tenant_id', '{}', true)",
            tenant.0.hyphenated()
        );
        self.pool.begin_with(AssertSqlSafe(sql)).await.map_err(db)
    }
}

/// Maps a database error. Unique violations name the rule that was broken; foreign-key
/// violations mean the request referenced a row that is not there (for this tenant).
pub(crate) fn db(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(d) = &e {
        if d.is_unique_violation() {
            return StoreError::Conflict(match d.constraint() {
                Some("tenants_slug_key") => "slug",
                Some("users_email_key") => "email",
                Some("queues_service_id_key") => "queue",
                Some("api_keys_key_hash_key") => "api_key",
                Some("devices_key_hash_key") => "device",
                Some("contacts_tenant_phone_key") => "contact",
                Some("agent_skills_pkey") => "skill",
                Some("refresh_tokens_pkey") => "refresh_token",
                Some("channels_pkey") => "channel",
                _ => "row",
            });
        }
        if d.is_foreign_key_violation() {
            return StoreError::Invalid(format!(
                "references a row that does not exist ({})",
                d.constraint().unwrap_or("foreign key")
            ));
        }
    }
    StoreError::Backend(e.to_string())
}

fn json<T: serde::Serialize>(v: &T) -> Result<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| StoreError::Backend(format!("serialise: {e}")))
}

fn opt_str<T: ToString>(v: &Option<T>) -> Option<String> {
    v.as_ref().map(ToString::to_string)
}

/// Ends every audited write: locks the tenant's audit head (held to commit), then inserts
/// `events` and chains `entries` after the head.
///
/// The events are inserted only now, under the head lock, because that lock serialises the
/// tenant's writing transactions up to their commit: the feed positions (a sequence) are
/// therefore drawn in commit order, and a reader of `position > after` can never miss an
/// event that commits later with a smaller position.
async fn record(
    conn: &mut PgConnection,
    tenant: TenantId,
    events: &[&TicketEvent],
    entries: Vec<AuditEntry>,
) -> Result<()> {
    let head = lock_audit_head(conn, tenant).await?;
    record_after(conn, tenant, head, &[], events, entries).await
}

/// `record` with the head already locked (`head` read under that lock); `ticket`, if any,
/// is inserted by the same statement (before its events reference it).
async fn record_after(
    conn: &mut PgConnection,
    tenant: TenantId,
    head: (i64, String),
    tickets: &[Ticket],
    events: &[&TicketEvent],
    entries: Vec<AuditEntry>,
) -> Result<()> {
    let q = if tickets.is_empty() {
        bind_record(RECORD, tenant, head, events, entries)
    } else {
        bind_tickets(
            bind_record(RECORD_WITH_TICKETS, tenant, head, events, entries),
            tickets,
        )
    };
    q.execute(conn).await.map_err(db)?;
    Ok(())
}

/// `sql` (one of the `record_sql!` statements) with `$1…$24` bound: the events (in the
/// given order, so their positions ascend), the audit rows chained from `head` and the new
/// head. Statements that do more bind their own parameters from `$25` on.
fn bind_record(
    sql: &'static str,
    tenant: TenantId,
    (mut seq, mut hash): (i64, String),
    events: &[&TicketEvent],
    entries: Vec<AuditEntry>,
) -> sqlx::query::Query<'static, Postgres, sqlx::postgres::PgArguments> {
    let mut recs = Vec::with_capacity(entries.len());
    for entry in entries {
        let rec = audit::chain(Some((seq, hash.as_str())), AuditId::new(), entry);
        (seq, hash) = (rec.seq, rec.hash.clone());
        recs.push(rec);
    }
    sqlx::query(sql)
        .bind(tenant.0)
        .bind(events.iter().map(|e| e.id.0).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.ticket_id.0).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>())
        .bind(
            events
                .iter()
                .map(|e| e.from.map(|s| s.as_str()))
                .collect::<Vec<_>>(),
        )
        .bind(events.iter().map(|e| e.to.as_str()).collect::<Vec<_>>())
        .bind(
            events
                .iter()
                .map(|e| e.actor.to_string())
                .collect::<Vec<_>>(),
        )
        .bind(
            events
                .iter()
                .map(|e| truncate_micros(e.at))
                .collect::<Vec<_>>(),
        )
        .bind(events.iter().map(|e| e.data.clone()).collect::<Vec<_>>())
        .bind(recs.iter().map(|r| r.id.0).collect::<Vec<_>>())
        .bind(recs.iter().map(|r| r.seq).collect::<Vec<_>>())
        .bind(
            recs.iter()
                .map(|r| r.entry.action.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            recs.iter()
                .map(|r| r.entry.entity_type.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            recs.iter()
                .map(|r| r.entry.entity_id.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            recs.iter()
                .map(|r| r.entry.before.clone())
                .collect::<Vec<_>>(),
        )
        .bind(
            recs.iter()
                .map(|r| r.entry.after.clone())
                .collect::<Vec<_>>(),
        )
        .bind(
            recs.iter()
                .map(|r| r.entry.ctx.actor.to_string())
                .collect::<Vec<_>>(),
        )
        .bind(
            recs.iter()
                .map(|r| r.entry.ctx.ip.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(
            recs.iter()
                .map(|r| r.entry.ctx.user_agent.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(recs.iter().map(|r| r.entry.ctx.at).collect::<Vec<_>>())
        .bind(
            recs.iter()
                .map(|r| r.prev_hash.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(recs.iter().map(|r| r.hash.as_str()).collect::<Vec<_>>())
        .bind(seq)
        .bind(hash)
}

/// The statement of `record_after`: the events (in the given order, so their positions
/// ascend in it), the audit rows and the new head.
macro_rules! record_sql {
    // `$when`: a condition every part is subject to (`true`, or whether an earlier part of
    // the statement did its work).
    ($when:literal) => {
        concat!(
            "ev AS ( \
               INSERT INTO ticket_events (id, tenant_id, ticket_id, kind, from_status, \
                                          to_status, actor, at, data) \
               SELECT e.id, $1, e.ticket_id, e.kind, e.from_status, e.to_status, e.actor, \
                      e.at, e.data \
               FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], \
                           $7::text[], $8::timestamptz[], $9::jsonb[]) WITH ORDINALITY \
                    AS e(id, ticket_id, kind, from_status, to_status, actor, at, data, n) \
               WHERE ",
            $when,
            " ORDER BY e.n \
             ), au AS ( \
               INSERT INTO audit_log (id, tenant_id, seq, action, entity_type, entity_id, \
                                      before, after, actor, ip, user_agent, at, prev_hash, \
                                      hash) \
               SELECT a.id, $1, a.seq, a.action, a.entity_type, a.entity_id, a.before, \
                      a.after, a.actor, a.ip, a.user_agent, a.at, a.prev_hash, a.hash \
               FROM unnest($10::uuid[], $11::int8[], $12::text[], $13::text[], $14::text[], \
                           $15::jsonb[], $16::jsonb[], $17::text[], $18::text[], $19::text[], \
                           $20::timestamptz[], $21::text[], $22::text[]) \
                    AS a(id, seq, action, entity_type, entity_id, before, after, actor, ip, \
                         user_agent, at, prev_hash, hash) \
               WHERE ",
            $when,
            " ) \
             UPDATE audit_heads SET last_seq = $23, last_hash = $24 WHERE tenant_id = $1 AND ",
            $when
        )
    };
}
const RECORD: &str = concat!("WITH ", record_sql!("true"));
/// `RECORD` that first inserts tickets (`$25…$48`: one array per column, see
/// [`bind_tickets`]), before the events that reference them.
const RECORD_WITH_TICKETS: &str = concat!(
    "WITH tk AS (INSERT INTO tickets (",
    ticket_cols!(),
    ") SELECT * FROM unnest($25::uuid[], $26::uuid[], $27::uuid[], $28::uuid[], $29::uuid[], \
     $30::text[], $31::date[], $32::int8[], $33::text[], $34::int2[], $35::text[], \
     $36::uuid[], $37::timestamptz[], $38::timestamptz[], $39::timestamptz[], \
     $40::timestamptz[], $41::timestamptz[], $42::uuid[], $43::uuid[], $44::int8[], \
     $45::int8[], $46::timestamptz[], $47::uuid[], $48::uuid[])), ",
    record_sql!("true")
);
/// A call in one statement: the ticket (`$25`) becomes `$26` (called at `$27` by agent
/// `$28` at counter `$29`) only if it is still waiting; then, only if it did, the queue's
/// policy state (`$31` ← `$30`) and the agent's status, each only if it changes, and the
/// events, audit rows and head of `RECORD`. Affects one row (the head) if the call
/// happened, none if the ticket had left the line.
///
/// Why "only if it changes": a FIFO queue's state and a busy agent's status stay as they
/// are call after call, and rewriting them anyway left a dead row version per call. The
/// foreign-key checks of every later call (the ticket references its agent) then walked
/// those versions, so calls got slower all day long.
const RECORD_CALL: &str = concat!(
    "WITH t AS ( \
       UPDATE tickets SET status = $26, called_at = $27, agent_id = $28, counter_id = $29 \
       WHERE id = $25 AND status = 'waiting' RETURNING id \
     ), q AS ( \
       UPDATE queues SET policy_state = $30 \
       WHERE id = $31 AND policy_state IS DISTINCT FROM $30 AND EXISTS (SELECT 1 FROM t) \
       RETURNING id \
     ), g AS ( \
       UPDATE agents SET status = 'serving' \
       WHERE id = $28 AND status <> 'serving' AND EXISTS (SELECT 1 FROM t) \
         AND (SELECT count(*) FROM q) >= 0 \
       RETURNING id \
     ), ",
    // `count(*) FROM g`: the statement's last steps come after the agent's (lock order).
    record_sql!("EXISTS (SELECT 1 FROM t) AND (SELECT count(*) FROM g) >= 0")
);

/// The tenant's (last seq, last hash), locked to commit. `(0, GENESIS)` chains exactly like
/// an empty chain, so a missing head is created as that.
async fn lock_audit_head(conn: &mut PgConnection, tenant: TenantId) -> Result<(i64, String)> {
    const SELECT: &str =
        "SELECT last_seq, last_hash FROM audit_heads WHERE tenant_id = $1 FOR NO KEY UPDATE";
    if let Some(h) = sqlx::query_as(SELECT)
        .bind(tenant.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?
    {
        return Ok(h);
    }
    sqlx::query(
        "INSERT INTO audit_heads (tenant_id, last_seq, last_hash) VALUES ($1, 0, $2) \
         ON CONFLICT (tenant_id) DO NOTHING",
    )
    .bind(tenant.0)
    .bind(audit::GENESIS)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    sqlx::query_as(SELECT)
        .bind(tenant.0)
        .fetch_one(&mut *conn)
        .await
        .map_err(db)
}

/// An audit entry; the entity type is the action's prefix (`ticket` for `ticket.call`).
fn entry<T: serde::Serialize>(
    tenant: TenantId,
    action: &str,
    entity_id: impl ToString,
    before: Option<&T>,
    after: Option<&T>,
    ctx: &AuditContext,
) -> Result<AuditEntry> {
    let entity_type = action.split_once('.').map_or(action, |(t, _)| t);
    Ok(AuditEntry::new(
        tenant,
        action,
        entity_type,
        entity_id,
        before.map(json).transpose()?,
        after.map(json).transpose()?,
        ctx,
    ))
}

/// Audits one change that has no ticket event.
/// Writes a queue's or agent's new `status` with its `<entity>.set_status` audit row: the
/// part both status changes share. `entity` names the table (`queue` → `queues`); row-level
/// security already limits the UPDATE to the transaction's tenant.
async fn write_status<T: serde::Serialize>(
    conn: &mut PgConnection,
    tenant: TenantId,
    entity: &'static str,
    id: uuid::Uuid,
    status: &str,
    (before, after): (&T, &T),
    ctx: &AuditContext,
) -> Result<()> {
    // `entity` is one of our two literals, never input: safe to splice.
    let sql = format!("UPDATE {entity}s SET status = $2 WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(status)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    let action = format!("{entity}.set_status");
    audit_write(conn, tenant, &action, id, Some(before), Some(after), ctx).await
}

async fn audit_write<T: serde::Serialize>(
    conn: &mut PgConnection,
    tenant: TenantId,
    action: &str,
    entity_id: impl ToString,
    before: Option<&T>,
    after: Option<&T>,
    ctx: &AuditContext,
) -> Result<()> {
    let e = entry(tenant, action, entity_id, before, after, ctx)?;
    record(conn, tenant, &[], vec![e]).await
}

// ---- loaders ----------------------------------------------------------------------------

/// Waiting counts by class, from the parallel arrays the position queries return.
fn class_totals(classes: &[i16], waiting: &[i32]) -> BTreeMap<u8, u32> {
    classes
        .iter()
        .zip(waiting)
        .map(|(p, n)| (*p as u8, (*n).max(0) as u32))
        .collect()
}

/// Waiting tickets behind a ticket are counted up to this many per class by
/// `sq_position_inputs`; past it, [`count_ahead`] counts the other side.
const BEHIND_PROBE: i64 = 500;

/// Waiting tickets ahead of the ticket: over every class in a FIFO queue, else its own.
/// One index range scan per class (`tickets_waiting`), driven by the trigger-kept classes.
async fn count_ahead(conn: &mut PgConnection, t: &Ticket, fifo: bool) -> Result<i64> {
    sqlx::query_scalar(
        "SELECT coalesce(sum(c.n), 0)::int8 \
         FROM queue_waiting w CROSS JOIN LATERAL (SELECT count(*) AS n \
           FROM tickets x WHERE x.queue_id = w.queue_id AND x.priority = w.priority \
             AND x.status = 'waiting' AND (x.arrived_at, x.seq) < ($2, $3) AND x.id <> $4) c \
         WHERE w.queue_id = $1 AND w.n > 0 AND ($5::smallint IS NULL OR w.priority = $5)",
    )
    .bind(t.queue_id.0)
    .bind(t.arrived_at)
    .bind(i64::from(t.seq))
    .bind(t.id.0)
    .bind((!fifo).then_some(i16::from(t.priority)))
    .fetch_one(conn)
    .await
    .map_err(db)
}

/// Tenant-scoped creates fail with `NotFound("tenant")` for an unknown tenant (rather than
/// a foreign-key error), like the SQLite twin.
async fn require_tenant(conn: &mut PgConnection, tenant: TenantId) -> Result<()> {
    let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM tenants WHERE id = $1")
        .bind(tenant.0)
        .fetch_optional(conn)
        .await
        .map_err(db)?;
    found.map(drop).ok_or(StoreError::NotFound("tenant"))
}

async fn load_site(conn: &mut PgConnection, id: SiteId) -> Result<Option<Site>> {
    sqlx::query("SELECT * FROM sites WHERE id = $1")
        .bind(id.0)
        .fetch_optional(conn)
        .await
        .map_err(db)?
        .as_ref()
        .map(rows::site)
        .transpose()
}

async fn load_service(conn: &mut PgConnection, id: ServiceId) -> Result<Option<Service>> {
    sqlx::query("SELECT * FROM services WHERE id = $1")
        .bind(id.0)
        .fetch_optional(conn)
        .await
        .map_err(db)?
        .as_ref()
        .map(rows::service)
        .transpose()
}

async fn load_counter(conn: &mut PgConnection, id: CounterId) -> Result<Option<Counter>> {
    sqlx::query("SELECT * FROM counters WHERE id = $1")
        .bind(id.0)
        .fetch_optional(conn)
        .await
        .map_err(db)?
        .as_ref()
        .map(rows::counter)
        .transpose()
}

/// Fills in the skills of `agents` (one query for all of them), in their stored order.
async fn with_skills(conn: &mut PgConnection, mut agents: Vec<Agent>) -> Result<Vec<Agent>> {
    if agents.is_empty() {
        return Ok(agents);
    }
    let ids: Vec<uuid::Uuid> = agents.iter().map(|a| a.id.0).collect();
    let skills = sqlx::query(
        "SELECT agent_id, service_id, weight FROM agent_skills WHERE agent_id = ANY($1) \
         ORDER BY agent_id, position",
    )
    .bind(&ids)
    .fetch_all(conn)
    .await
    .map_err(db)?;
    let mut by_agent: BTreeMap<AgentId, Vec<Skill>> = BTreeMap::new();
    for r in &skills {
        let (a, s) = rows::skill(r)?;
        by_agent.entry(a).or_default().push(s);
    }
    for a in &mut agents {
        a.skills = by_agent.remove(&a.id).unwrap_or_default();
    }
    Ok(agents)
}

async fn load_agent(conn: &mut PgConnection, id: AgentId, lock: bool) -> Result<Option<Agent>> {
    let sql = if lock {
        "SELECT * FROM agents WHERE id = $1 FOR NO KEY UPDATE"
    } else {
        "SELECT * FROM agents WHERE id = $1"
    };
    let Some(r) = sqlx::query(sql)
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?
    else {
        return Ok(None);
    };
    let a = rows::agent(&r)?;
    Ok(with_skills(conn, vec![a]).await?.pop())
}

/// A queue, its policy state and its site's time zone.
async fn load_queue(
    conn: &mut PgConnection,
    id: QueueId,
) -> Result<Option<(Queue, PolicyState, TimeZone)>> {
    let Some(r) = sqlx::query(
        "SELECT q.*, s.timezone AS site_timezone FROM queues q JOIN sites s ON s.id = q.site_id \
         WHERE q.id = $1",
    )
    .bind(id.0)
    .fetch_optional(conn)
    .await
    .map_err(db)?
    else {
        return Ok(None);
    };
    Ok(Some(queue_with_tz(&r)?))
}

fn queue_with_tz(r: &PgRow) -> Result<(Queue, PolicyState, TimeZone)> {
    let tz: String = r.try_get("site_timezone").map_err(db)?;
    let tz = tz
        .parse()
        .map_err(|e| StoreError::Backend(format!("corrupt timezone: {e}")))?;
    Ok((rows::queue(r)?, rows::policy_state(r)?, tz))
}

async fn load_ticket(conn: &mut PgConnection, id: TicketId, lock: bool) -> Result<Option<Ticket>> {
    let sql = if lock {
        concat!(
            "SELECT ",
            ticket_cols!(),
            " FROM tickets WHERE id = $1 FOR NO KEY UPDATE"
        )
    } else {
        concat!("SELECT ", ticket_cols!(), " FROM tickets WHERE id = $1")
    };
    sqlx::query(sql)
        .bind(id.0)
        .fetch_optional(conn)
        .await
        .map_err(db)?
        .as_ref()
        .map(rows::ticket)
        .transpose()
}

/// Agents not offline with a skill (weight > 0) for `service`.
async fn agents_serving(conn: &mut PgConnection, service: ServiceId) -> Result<u32> {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM agents a JOIN agent_skills k ON k.agent_id = a.id \
         WHERE k.service_id = $1 AND k.weight > 0 AND a.status <> 'offline'",
    )
    .bind(service.0)
    .fetch_one(conn)
    .await
    .map_err(db)?;
    Ok(n as u32)
}

// ---- writers ----------------------------------------------------------------------------

async fn insert_ticket(conn: &mut PgConnection, t: &Ticket) -> Result<()> {
    let q = sqlx::query(concat!(
        "INSERT INTO tickets (",
        ticket_cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
         $17, $18, $19, $20, $21, $22, $23, $24)"
    ));
    bind_ticket(q, t).execute(conn).await.map_err(db)?;
    Ok(())
}

/// Binds the 24 columns of `ticket_cols!()` in order.
fn bind_ticket<'q>(
    q: sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>,
    t: &'q Ticket,
) -> sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments> {
    q.bind(t.id.0)
        .bind(t.tenant_id.0)
        .bind(t.site_id.0)
        .bind(t.queue_id.0)
        .bind(t.service_id.0)
        .bind(&t.number)
        .bind(t.local_date)
        .bind(i64::from(t.seq))
        .bind(t.status.as_str())
        .bind(i16::from(t.priority))
        .bind(t.channel.as_str())
        .bind(t.contact_id.map(|c| c.0))
        .bind(t.arrived_at)
        .bind(t.created_at)
        .bind(t.called_at)
        .bind(t.started_at)
        .bind(t.finished_at)
        .bind(t.counter_id.map(|c| c.0))
        .bind(t.agent_id.map(|a| a.0))
        .bind(i64::from(t.recalls))
        .bind(i64::from(t.paused_secs))
        .bind(t.paused_at)
        .bind(t.transferred_from.map(|x| x.0))
        .bind(t.transferred_to.map(|x| x.0))
}

/// Binds the 24 columns of `ticket_cols!()` as one array each, for `unnest`.
fn bind_tickets<'q>(
    q: sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>,
    ts: &[Ticket],
) -> sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments> {
    fn col<T>(ts: &[Ticket], f: impl Fn(&Ticket) -> T) -> Vec<T> {
        ts.iter().map(f).collect()
    }
    q.bind(col(ts, |t| t.id.0))
        .bind(col(ts, |t| t.tenant_id.0))
        .bind(col(ts, |t| t.site_id.0))
        .bind(col(ts, |t| t.queue_id.0))
        .bind(col(ts, |t| t.service_id.0))
        .bind(col(ts, |t| t.number.clone()))
        .bind(col(ts, |t| t.local_date))
        .bind(col(ts, |t| i64::from(t.seq)))
        .bind(col(ts, |t| t.status.as_str()))
        .bind(col(ts, |t| i16::from(t.priority)))
        .bind(col(ts, |t| t.channel.as_str()))
        .bind(col(ts, |t| t.contact_id.map(|c| c.0)))
        .bind(col(ts, |t| t.arrived_at))
        .bind(col(ts, |t| t.created_at))
        .bind(col(ts, |t| t.called_at))
        .bind(col(ts, |t| t.started_at))
        .bind(col(ts, |t| t.finished_at))
        .bind(col(ts, |t| t.counter_id.map(|c| c.0)))
        .bind(col(ts, |t| t.agent_id.map(|a| a.0)))
        .bind(col(ts, |t| i64::from(t.recalls)))
        .bind(col(ts, |t| i64::from(t.paused_secs)))
        .bind(col(ts, |t| t.paused_at))
        .bind(col(ts, |t| t.transferred_from.map(|x| x.0)))
        .bind(col(ts, |t| t.transferred_to.map(|x| x.0)))
}

/// Writes every field a transition or a call can change.
async fn update_ticket(conn: &mut PgConnection, t: &Ticket) -> Result<()> {
    sqlx::query(
        "UPDATE tickets SET status = $2, called_at = $3, started_at = $4, finished_at = $5, \
         counter_id = $6, agent_id = $7, recalls = $8, paused_secs = $9, paused_at = $10, \
         transferred_to = $11 WHERE id = $1",
    )
    .bind(t.id.0)
    .bind(t.status.as_str())
    .bind(t.called_at)
    .bind(t.started_at)
    .bind(t.finished_at)
    .bind(t.counter_id.map(|c| c.0))
    .bind(t.agent_id.map(|a| a.0))
    .bind(i64::from(t.recalls))
    .bind(i64::from(t.paused_secs))
    .bind(t.paused_at)
    .bind(t.transferred_to.map(|x| x.0))
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// The next number of `queue` for `day`. The upsert's row lock is held until commit.
async fn next_seq(
    conn: &mut PgConnection,
    tenant: TenantId,
    queue: QueueId,
    day: NaiveDate,
) -> Result<u32> {
    let seq: i64 = sqlx::query_scalar(
        "INSERT INTO queue_day_counters (tenant_id, queue_id, local_date, last_seq) \
         VALUES ($1, $2, $3, 1) ON CONFLICT (queue_id, local_date) \
         DO UPDATE SET last_seq = queue_day_counters.last_seq + 1 RETURNING last_seq",
    )
    .bind(tenant.0)
    .bind(queue.0)
    .bind(day)
    .fetch_one(conn)
    .await
    .map_err(db)?;
    u32::try_from(seq).map_err(|_| StoreError::Backend(format!("ticket number overflow: {seq}")))
}

/// A fresh waiting ticket with the next number of `queue` for the site-local day of `at`.
#[allow(clippy::too_many_arguments)]
async fn new_ticket(
    conn: &mut PgConnection,
    queue: &Queue,
    tz: TimeZone,
    priority: u8,
    channel: Channel,
    contact_id: Option<ContactId>,
    arrived_at: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Result<Ticket> {
    let day = numbering::local_day(at, tz);
    let seq = next_seq(conn, queue.tenant_id, queue.id, day).await?;
    Ok(waiting_ticket(
        queue, day, seq, priority, channel, contact_id, arrived_at, at,
    ))
}

/// A waiting ticket numbered `seq` of `queue` on `day`.
#[allow(clippy::too_many_arguments)]
fn waiting_ticket(
    queue: &Queue,
    day: NaiveDate,
    seq: u32,
    priority: u8,
    channel: Channel,
    contact_id: Option<ContactId>,
    arrived_at: DateTime<Utc>,
    at: DateTime<Utc>,
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
        priority,
        channel,
        contact_id,
        arrived_at,
        created_at: at,
        called_at: None,
        started_at: None,
        finished_at: None,
        counter_id: None,
        agent_id: None,
        recalls: 0,
        paused_secs: 0,
        paused_at: None,
        transferred_from: None,
        transferred_to: None,
    }
}

/// Matches the contact by (tenant, phone) or creates it; given name/locale overwrite.
async fn upsert_contact(
    conn: &mut PgConnection,
    tenant: TenantId,
    c: &ContactInput,
    at: DateTime<Utc>,
) -> Result<ContactId> {
    let id: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO contacts (id, tenant_id, phone, name, locale, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (tenant_id, phone) DO UPDATE SET \
           name = COALESCE(EXCLUDED.name, contacts.name), \
           locale = COALESCE(EXCLUDED.locale, contacts.locale) \
         RETURNING id",
    )
    .bind(ContactId::new().0)
    .bind(tenant.0)
    .bind(opt_str(&c.phone))
    .bind(opt_str(&c.name))
    .bind(opt_str(&c.locale))
    .bind(at)
    .fetch_one(conn)
    .await
    .map_err(db)?;
    Ok(id.into())
}

/// When a ticket leaves its agent, a serving agent becomes available again.
async fn release_agent(conn: &mut PgConnection, agent: Option<AgentId>) -> Result<()> {
    if let Some(a) = agent {
        sqlx::query("UPDATE agents SET status = 'available' WHERE id = $1 AND status = 'serving'")
            .bind(a.0)
            .execute(conn)
            .await
            .map_err(db)?;
    }
    Ok(())
}

fn clamp_limit(limit: Option<u32>) -> i64 {
    i64::from(limit.unwrap_or(DEFAULT_LIST).min(MAX_LIST))
}

/// The head of each waiting class of `queues` (FIFO within a class is the rule, so the
/// policy never needs more than the first ticket of each (queue, priority); each is one
/// probe of the `tickets_waiting` index, however long the line), and the tenant's audit
/// head, locked.
async fn class_heads(
    conn: &mut PgConnection,
    tenant: TenantId,
    queues: &[uuid::Uuid],
) -> Result<(Vec<Ticket>, Option<(i64, String)>)> {
    let rows = sqlx::query(concat!(
        "WITH hd AS MATERIALIZED ( \
           SELECT last_seq, last_hash FROM audit_heads WHERE tenant_id = $2 FOR NO KEY UPDATE \
         ) \
         SELECT h.*, hd.last_seq AS head_seq, hd.last_hash AS head_hash \
         FROM queue_waiting w CROSS JOIN LATERAL (SELECT ",
        ticket_cols!(),
        " FROM tickets t WHERE t.queue_id = w.queue_id AND t.priority = w.priority \
            AND t.status = 'waiting' ORDER BY t.arrived_at, t.seq LIMIT 1) h \
          LEFT JOIN hd ON true \
          WHERE w.queue_id = ANY($1) AND w.n > 0 ORDER BY h.queue_id, h.priority"
    ))
    .bind(queues)
    .bind(tenant.0)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let head = match rows.first() {
        Some(r) => {
            let seq: Option<i64> = r.try_get("head_seq").map_err(db)?;
            let hash: Option<String> = r.try_get("head_hash").map_err(db)?;
            seq.zip(hash)
        }
        None => None,
    };
    let heads = rows.iter().map(rows::ticket).collect::<Result<Vec<_>>>()?;
    Ok((heads, head))
}

/// Call-next's view of one locked candidate queue.
struct Candidate {
    queue_id: QueueId,
    service_id: ServiceId,
    policy: policy::QueuePolicy,
    state: PolicyState,
    sla_target_secs: u32,
    weight: u8,
    waiting: Vec<Waiting>,
}

/// How often call-next may re-pick because its chosen head was cancelled or transferred
/// (which lock only the ticket) between reading the heads and updating it. Every retry means
/// another transaction took a waiting ticket of these queues out of the line, so the loop
/// ends at the latest when the line is empty; a canceller working down the line from its
/// front can win several rounds in a row (the tests do exactly that). The bound is only a
/// guard against a bug turning this into an endless loop.
const CALL_RETRIES: usize = 10_000;

#[async_trait]
impl Store for PostgresStore {
    fn migrations(&self) -> &Migrations {
        &self.migrations
    }

    async fn health(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    // ---- platform ---------------------------------------------------------------------

    async fn create_tenant(&self, t: NewTenant, ctx: &AuditContext) -> Result<Tenant> {
        let tenant = Tenant {
            id: TenantId::new(),
            slug: t.slug,
            name: t.name,
            default_locale: t.default_locale,
            created_at: truncate_micros(ctx.at),
        };
        // The new tenant's own chain starts with its creation.
        let mut tx = self.tenant_tx(tenant.id).await?;
        sqlx::query(
            "INSERT INTO tenants (id, slug, name, default_locale, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(tenant.id.0)
        .bind(tenant.slug.as_str())
        .bind(tenant.name.as_str())
        .bind(tenant.default_locale.as_str())
        .bind(tenant.created_at)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        audit_write(
            &mut tx,
            tenant.id,
            "tenant.create",
            tenant.id,
            None,
            Some(&tenant),
            ctx,
        )
        .await?;
        tx.commit().await.map_err(db)?;
        Ok(tenant)
    }

    async fn tenant_by_slug(&self, slug: &TenantSlug) -> Result<Option<Tenant>> {
        sqlx::query("SELECT * FROM tenants WHERE slug = $1")
            .bind(slug.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .as_ref()
            .map(rows::tenant)
            .transpose()
    }

    async fn tenant(&self, id: TenantId) -> Result<Option<Tenant>> {
        sqlx::query("SELECT * FROM tenants WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .as_ref()
            .map(rows::tenant)
            .transpose()
    }

    async fn tenants(&self) -> Result<Vec<Tenant>> {
        sqlx::query("SELECT * FROM tenants ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .iter()
            .map(rows::tenant)
            .collect()
    }

    // ---- catalogue --------------------------------------------------------------------

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
        self.write(tenant, async move |tx: &mut PgConnection| {
            let ctx = &ctx;
            require_tenant(&mut *tx, tenant).await?;
            sqlx::query(
                "INSERT INTO sites (id, tenant_id, name, timezone, locale, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(site.id.0)
            .bind(tenant.0)
            .bind(site.name.as_str())
            .bind(site.timezone.to_string())
            .bind(site.locale.as_str())
            .bind(site.created_at)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            audit_write(
                &mut *tx,
                tenant,
                "site.create",
                site.id,
                None,
                Some(&site),
                ctx,
            )
            .await?;
            Ok(site)
        })
        .await
    }

    async fn sites(&self, tenant: TenantId) -> Result<Vec<Site>> {
        let mut tx = self.tenant_tx(tenant).await?;
        let rows = sqlx::query("SELECT * FROM sites WHERE tenant_id = $1 ORDER BY created_at, id")
            .bind(tenant.0)
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        rows.iter().map(rows::site).collect()
    }

    async fn site(&self, tenant: TenantId, id: SiteId) -> Result<Option<Site>> {
        let mut tx = self.tenant_tx(tenant).await?;
        let s = load_site(&mut tx, id).await?;
        tx.commit().await.map_err(db)?;
        Ok(s)
    }

    async fn create_service(
        &self,
        tenant: TenantId,
        s: NewService,
        ctx: &AuditContext,
    ) -> Result<Service> {
        let ctx = ctx.clone();
        self.write(tenant, async move |tx: &mut PgConnection| {
            let ctx = &ctx;
            load_site(&mut *tx, s.site_id)
                .await?
                .ok_or(StoreError::NotFound("site"))?;
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
            sqlx::query(
                "INSERT INTO services (id, tenant_id, site_id, name, sla_target_secs, \
                 expected_duration_secs, ewma_service_secs, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(service.id.0)
            .bind(tenant.0)
            .bind(service.site_id.0)
            .bind(service.name.as_str())
            .bind(i64::from(service.sla_target_secs))
            .bind(i64::from(service.expected_duration_secs))
            .bind(service.ewma_service_secs)
            .bind(service.created_at)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            audit_write(
                &mut *tx,
                tenant,
                "service.create",
                service.id,
                None,
                Some(&service),
                ctx,
            )
            .await?;
            Ok(service)
        })
        .await
    }

    async fn services(&self, tenant: TenantId) -> Result<Vec<Service>> {
        let mut tx = self.tenant_tx(tenant).await?;
        let rows =
            sqlx::query("SELECT * FROM services WHERE tenant_id = $1 ORDER BY created_at, id")
                .bind(tenant.0)
                .fetch_all(&mut *tx)
                .await
                .map_err(db)?;
        tx.commit().await.map_err(db)?;
        rows.iter().map(rows::service).collect()
    }

    async fn service(&self, tenant: TenantId, id: ServiceId) -> Result<Option<Service>> {
        let mut tx = self.tenant_tx(tenant).await?;
        let s = load_service(&mut tx, id).await?;
        tx.commit().await.map_err(db)?;
        Ok(s)
    }

    async fn create_queue(
        &self,
        tenant: TenantId,
        q: NewQueue,
        ctx: &AuditContext,
    ) -> Result<Queue> {
        let ctx = ctx.clone();
        self.write(tenant, async move |tx: &mut PgConnection| {
            let ctx = &ctx;
            let service = load_service(&mut *tx, q.service_id)
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
                 policy_state, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(queue.id.0)
            .bind(tenant.0)
            .bind(queue.site_id.0)
            .bind(queue.service_id.0)
            .bind(queue.name.as_str())
            .bind(queue.prefix.as_str())
            .bind(json(&queue.policy)?)
            .bind(json(&PolicyState::default())?)
            .bind(queue.status.as_str())
            .bind(queue.created_at)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            audit_write(
                &mut *tx,
                tenant,
                "queue.create",
                queue.id,
                None,
                Some(&queue),
                ctx,
            )
            .await?;
            Ok(queue)
        })
        .await
    }

    async fn queues(&self, tenant: TenantId) -> Result<Vec<Queue>> {
        let mut tx = self.tenant_tx(tenant).await?;
        let rows = sqlx::query("SELECT * FROM queues WHERE tenant_id = $1 ORDER BY created_at, id")
            .bind(tenant.0)
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        rows.iter().map(rows::queue).collect()
    }

    async fn queue(&self, tenant: TenantId, id: QueueId) -> Result<Option<Queue>> {
        let mut tx = self.tenant_tx(tenant).await?;
        let q = load_queue(&mut tx, id).await?;
        tx.commit().await.map_err(db)?;
        Ok(q.map(|(q, _, _)| q))
    }

    async fn set_queue_status(
        &self,
        tenant: TenantId,
        id: QueueId,
        status: QueueStatus,
        ctx: &AuditContext,
    ) -> Result<Queue> {
        let ctx = ctx.clone();
        self.write(tenant, async move |tx: &mut PgConnection| {
            let ctx = &ctx;
            let before = sqlx::query("SELECT * FROM queues WHERE id = $1 FOR NO KEY UPDATE")
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?
                .as_ref()
                .map(rows::queue)
                .transpose()?
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
        let ctx = ctx.clone();
        self.write(tenant, async move |tx: &mut PgConnection| {
            let ctx = &ctx;
            load_site(&mut *tx, c.site_id)
                .await?
                .ok_or(StoreError::NotFound("site"))?;
            let counter = Counter {
                id: CounterId::new(),
                tenant_id: tenant,
                site_id: c.site_id,
                name: c.name,
                created_at: truncate_micros(ctx.at),
            };
            sqlx::query(
                "INSERT INTO counters (id, tenant_id, site_id, name, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(counter.id.0)
            .bind(tenant.0)
            .bind(counter.site_id.0)
            .bind(counter.name.as_str())
            .bind(counter.created_at)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            audit_write(
                &mut *tx,
                tenant,
                "counter.create",
                counter.id,
                None,
                Some(&counter),
                ctx,
            )
            .await?;
            Ok(counter)
        })
        .await
    }

    async fn counters(&self, tenant: TenantId) -> Result<Vec<Counter>> {
        let mut tx = self.tenant_tx(tenant).await?;
        let rows =
            sqlx::query("SELECT * FROM counters WHERE tenant_id = $1 ORDER BY created_at, id")
                .bind(tenant.0)
                .fetch_all(&mut *tx)
                .await
                .map_err(db)?;
        tx.commit().await.map_err(db)?;
        rows.iter().map(rows::counter).collect()
    }

    async fn counter(&self, tenant: TenantId, id: CounterId) -> Result<Option<Counter>> {
        let mut tx = self.tenant_tx(tenant).await?;
        let c = load_counter(&mut tx, id).await?;
        tx.commit().await.map_err(db)?;
        Ok(c)
    }

    async fn create_agent(
        &self,
        tenant: TenantId,
        a: NewAgent,
        ctx: &AuditContext,
    ) -> Result<Agent> {
        let ctx = ctx.clone();
        self.write(tenant, async move |tx: &mut PgConnection| {
            let ctx = &ctx;
            load_site(&mut *tx, a.site_id)
                .await?
                .ok_or(StoreError::NotFound("site"))?;
            if let Some(user) = a.user_id {
                // Row-level security shows only this tenant's users.
                let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM users WHERE id = $1")
                    .bind(user.0)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db)?;
                found.ok_or(StoreError::NotFound("user"))?;
            }
            for s in &a.skills {
                load_service(&mut *tx, s.service_id)
                    .await?
                    .ok_or(StoreError::NotFound("service"))?;
            }
            let agent = Agent {
                id: AgentId::new(),
                tenant_id: tenant,
                site_id: a.site_id,
                user_id: a.user_id,
                name: a.name,
                skills: a.skills,
                status: AgentStatus::Available,
                created_at: truncate_micros(ctx.at),
            };
            sqlx::query(
                "INSERT INTO agents (id, tenant_id, site_id, user_id, name, status, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(agent.id.0)
            .bind(tenant.0)
            .bind(agent.site_id.0)
            .bind(agent.user_id.map(|u| u.0))
            .bind(agent.name.as_str())
            .bind(agent.status.as_str())
            .bind(agent.created_at)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            for (i, s) in agent.skills.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO agent_skills (tenant_id, agent_id, service_id, weight, position) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(tenant.0)
                .bind(agent.id.0)
                .bind(s.service_id.0)
                .bind(i16::from(s.weight))
                .bind(i as i32)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            }
            audit_write(
                &mut *tx,
                tenant,
                "agent.create",
                agent.id,
                None,
                Some(&agent),
                ctx,
            )
            .await?;
            Ok(agent)
        })
        .await
    }

    async fn agents(&self, tenant: TenantId) -> Result<Vec<Agent>> {
        let mut tx = self.tenant_tx(tenant).await?;
        let agents =
            sqlx::query("SELECT * FROM agents WHERE tenant_id = $1 ORDER BY created_at, id")
                .bind(tenant.0)
                .fetch_all(&mut *tx)
                .await
                .map_err(db)?
                .iter()
                .map(rows::agent)
                .collect::<Result<Vec<_>>>()?;
        let agents = with_skills(&mut tx, agents).await?;
        tx.commit().await.map_err(db)?;
        Ok(agents)
    }

    async fn agent(&self, tenant: TenantId, id: AgentId) -> Result<Option<Agent>> {
        let mut tx = self.tenant_tx(tenant).await?;
        let a = load_agent(&mut tx, id, false).await?;
        tx.commit().await.map_err(db)?;
        Ok(a)
    }

    async fn agent_by_user(&self, tenant: TenantId, user: UserId) -> Result<Option<Agent>> {
        let mut tx = self.tenant_tx(tenant).await?;
        let agents =
            sqlx::query("SELECT * FROM agents WHERE user_id = $1 ORDER BY created_at, id LIMIT 1")
                .bind(user.0)
                .fetch_all(&mut *tx)
                .await
                .map_err(db)?
                .iter()
                .map(rows::agent)
                .collect::<Result<Vec<_>>>()?;
        let a = with_skills(&mut tx, agents).await?.pop();
        tx.commit().await.map_err(db)?;
        Ok(a)
    }

    async fn set_agent_status(
        &self,
        tenant: TenantId,
        id: AgentId,
        status: AgentStatus,
        ctx: &AuditContext,
    ) -> Result<Agent> {
        let ctx = ctx.clone();
        self.write(tenant, async move |tx: &mut PgConnection| {
            let ctx = &ctx;
            let before = load_agent(&mut *tx, id, true)
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

    // ---- tickets ----------------------------------------------------------------------

    async fn issue_ticket(
        &self,
        tenant: TenantId,
        req: IssueTicket,
        ctx: &AuditContext,
    ) -> Result<Ticket> {
        Ok(self.issue_ticket_positioned(tenant, req, ctx).await?.0)
    }

    async fn issue_ticket_positioned(
        &self,
        tenant: TenantId,
        req: IssueTicket,
        ctx: &AuditContext,
    ) -> Result<(Ticket, PositionInputs)> {
        self.issuer.issue(tenant, req, ctx).await
    }

    async fn ticket(&self, tenant: TenantId, id: TicketId) -> Result<Option<Ticket>> {
        let mut tx = self.tenant_tx(tenant).await?;
        let t = load_ticket(&mut tx, id, false).await?;
        tx.commit().await.map_err(db)?;
        Ok(t)
    }

    async fn tickets(&self, tenant: TenantId, filter: &TicketFilter) -> Result<Vec<Ticket>> {
        let mut tx = self.tenant_tx(tenant).await?;
        let rows = sqlx::query(concat!(
            "SELECT ",
            ticket_cols!(),
            // `created_at > '-infinity'`: the predicate of `tickets_newest` (migration 0010).
            " FROM tickets WHERE tenant_id = $1 AND ($2::text IS NULL OR status = $2) \
             AND ($3::uuid IS NULL OR queue_id = $3) AND created_at > '-infinity' \
             ORDER BY created_at DESC, id DESC LIMIT $4"
        ))
        .bind(tenant.0)
        .bind(filter.status.map(|s| s.as_str()))
        .bind(filter.queue_id.map(|q| q.0))
        .bind(clamp_limit(filter.limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        rows.iter().map(rows::ticket).collect()
    }

    async fn ticket_events(&self, tenant: TenantId, id: TicketId) -> Result<Vec<TicketEvent>> {
        let mut tx = self.tenant_tx(tenant).await?;
        let rows = sqlx::query(concat!(
            "SELECT ",
            event_cols!(),
            " FROM ticket_events WHERE ticket_id = $1 ORDER BY position"
        ))
        .bind(id.0)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        rows.iter()
            .map(|r| rows::event(r).map(|(_, e)| e))
            .collect()
    }

    async fn ticket_event_feed(
        &self,
        tenant: TenantId,
        after: i64,
        limit: u32,
    ) -> Result<Vec<(i64, TicketEvent)>> {
        let mut tx = self.tenant_tx(tenant).await?;
        let rows = sqlx::query(concat!(
            "SELECT ",
            event_cols!(),
            " FROM ticket_events WHERE tenant_id = $1 AND position > $2 ORDER BY position LIMIT $3"
        ))
        .bind(tenant.0)
        .bind(after)
        .bind(i64::from(limit.min(MAX_LIST)))
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        rows.iter().map(rows::event).collect()
    }

    async fn call_next(
        &self,
        tenant: TenantId,
        agent_id: AgentId,
        counter_id: CounterId,
        queues: Option<&[QueueId]>,
        ctx: &AuditContext,
    ) -> Result<Option<Ticket>> {
        let at = truncate_micros(ctx.at);
        let ctx = ctx.clone();
        let only: Option<Vec<uuid::Uuid>> = queues.map(|qs| qs.iter().map(|q| q.0).collect());
        self.write(tenant, async move |tx: &mut PgConnection| {
            let ctx = &ctx;
            // The agent's and the counter's sites, the candidate queues (open or paused, at
            // that site, of a service the agent has a skill for) locked in a fixed (id) order
            // (see the crate docs for why this waits instead of skipping), then the tenant's
            // audit head, and the head of each waiting class: all in one round trip.
            // The heads are read on the statement's snapshot, which another node's call
            // (waited for on a queue lock) may have made stale; the call below then finds
            // its ticket gone and the heads are read again.
            let rows = sqlx::query(concat!(
                "WITH a AS (SELECT site_id FROM agents WHERE id = $1), \
                      c AS (SELECT site_id FROM counters WHERE id = $2), \
                      q AS MATERIALIZED ( \
                        SELECT q.id AS q_id, q.service_id AS q_service_id, q.policy, \
                               q.policy_state, s.sla_target_secs, k.weight \
                        FROM queues q JOIN services s ON s.id = q.service_id \
                        JOIN agent_skills k ON k.service_id = q.service_id \
                             AND k.agent_id = $1 AND k.weight > 0 \
                        WHERE q.site_id = (SELECT site_id FROM a) \
                          AND q.site_id = (SELECT site_id FROM c) \
                          AND q.status IN ('open', 'paused') \
                          AND ($3::uuid[] IS NULL OR q.id = ANY($3)) \
                        ORDER BY q.id FOR NO KEY UPDATE OF q), \
                      hd AS MATERIALIZED ( \
                        SELECT last_seq, last_hash FROM audit_heads \
                        WHERE tenant_id = $4 AND (SELECT count(*) FROM q) > 0 \
                        FOR NO KEY UPDATE) \
                 SELECT (SELECT site_id FROM a) AS agent_site, \
                        (SELECT site_id FROM c) AS counter_site, \
                        (SELECT last_seq FROM hd) AS head_seq, \
                        (SELECT last_hash FROM hd) AS head_hash, q.*, h.* \
                 FROM (SELECT 1) one LEFT JOIN q ON true \
                 LEFT JOIN LATERAL (SELECT t.* FROM queue_waiting w CROSS JOIN LATERAL ( \
                     SELECT ",
                ticket_cols!(),
                " FROM tickets t WHERE t.queue_id = w.queue_id AND t.priority = w.priority \
                       AND t.status = 'waiting' ORDER BY t.arrived_at, t.seq LIMIT 1) t \
                   WHERE w.queue_id = q.q_id AND w.n > 0) h ON true \
                 ORDER BY q.q_id, h.priority"
            ))
            .bind(agent_id.0)
            .bind(counter_id.0)
            .bind(&only)
            .bind(tenant.0)
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
            let first = rows
                .first()
                .ok_or_else(|| StoreError::Backend("call-next read no row".into()))?;
            let agent_site: uuid::Uuid = first
                .try_get::<Option<uuid::Uuid>, _>("agent_site")
                .map_err(db)?
                .ok_or(StoreError::NotFound("agent"))?;
            let counter_site: uuid::Uuid = first
                .try_get::<Option<uuid::Uuid>, _>("counter_site")
                .map_err(db)?
                .ok_or(StoreError::NotFound("counter"))?;
            if counter_site != agent_site {
                return Err(StoreError::Invalid(
                    "the counter is not at the agent's site".into(),
                ));
            }
            let mut candidates: Vec<Candidate> = Vec::new();
            let mut heads = Vec::new();
            for r in &rows {
                let Some(queue_id) = r.try_get::<Option<uuid::Uuid>, _>("q_id").map_err(db)? else {
                    continue;
                };
                if r.try_get::<Option<uuid::Uuid>, _>("id")
                    .map_err(db)?
                    .is_some()
                {
                    heads.push(rows::ticket(r)?);
                }
                if candidates.last().is_some_and(|c| c.queue_id.0 == queue_id) {
                    continue;
                }
                let sla: i64 = r.try_get("sla_target_secs").map_err(db)?;
                let weight: i16 = r.try_get("weight").map_err(db)?;
                let policy: serde_json::Value = r.try_get("policy").map_err(db)?;
                candidates.push(Candidate {
                    queue_id: queue_id.into(),
                    service_id: r
                        .try_get::<uuid::Uuid, _>("q_service_id")
                        .map_err(db)?
                        .into(),
                    policy: serde_json::from_value(policy)
                        .map_err(|e| StoreError::Backend(format!("corrupt policy: {e}")))?,
                    state: rows::policy_state(r)?,
                    sla_target_secs: u32::try_from(sla).unwrap_or(u32::MAX),
                    weight: u8::try_from(weight).unwrap_or(u8::MAX),
                    waiting: Vec::new(),
                });
            }
            let head_seq: Option<i64> = first.try_get("head_seq").map_err(db)?;
            let head_hash: Option<String> = first.try_get("head_hash").map_err(db)?;
            let queue_ids: Vec<uuid::Uuid> = candidates.iter().map(|c| c.queue_id.0).collect();
            let mut read = Some((heads, head_seq.zip(head_hash)));

            for _ in 0..CALL_RETRIES {
                let (heads, head) = match read.take() {
                    Some(r) => r,
                    None => class_heads(&mut *tx, tenant, &queue_ids).await?,
                };
                if heads.is_empty() {
                    return Ok(None);
                }
                for c in &mut candidates {
                    c.waiting.clear();
                }
                for h in &heads {
                    if let Some(c) = candidates.iter_mut().find(|c| c.queue_id == h.queue_id) {
                        c.waiting.push(Waiting {
                            id: h.id,
                            class: h.priority,
                            arrived_at: h.arrived_at,
                            seq: h.seq,
                            sla_target_secs: c.sla_target_secs,
                        });
                    }
                }
                let views: Vec<QueueView<'_>> = candidates
                    .iter()
                    .filter(|c| !c.waiting.is_empty())
                    .map(|c| QueueView {
                        queue_id: c.queue_id,
                        service_id: c.service_id,
                        policy: &c.policy,
                        state: &c.state,
                        waiting: &c.waiting,
                        skill_weight: c.weight,
                    })
                    .collect();
                let Some(pick) = policy::pick(&views, at) else {
                    return Ok(None);
                };
                let before = heads
                    .into_iter()
                    .find(|t| t.id == pick.ticket_id)
                    .ok_or_else(|| StoreError::Backend("the policy picked a non-head".into()))?;
                let (called, event) = ticket::call(&before, agent_id, counter_id, &ctx.actor, at)?;
                let head = match head {
                    Some(h) => h,
                    None => lock_audit_head(&mut *tx, tenant).await?,
                };
                let audit = entry(
                    tenant,
                    "ticket.call",
                    called.id,
                    Some(&before),
                    Some(&called),
                    ctx,
                )?;
                // Cancel and transfer lock only the ticket, not its queue: the call re-checks
                // (after waiting for any such lock) that it is still waiting. A waiting ticket
                // changes in no other way, so `before` is otherwise current.
                let done = bind_record(RECORD_CALL, tenant, head, &[&event], vec![audit])
                    .bind(called.id.0)
                    .bind(called.status.as_str())
                    .bind(called.called_at)
                    .bind(agent_id.0)
                    .bind(counter_id.0)
                    .bind(json(&pick.new_state)?)
                    .bind(pick.queue_id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?
                    .rows_affected();
                if done == 1 {
                    return Ok(Some(called));
                }
            }
            Err(StoreError::Backend(
                "call-next kept losing its pick to concurrent changes".into(),
            ))
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
        let at = truncate_micros(ctx.at);
        let ctx = ctx.clone();
        self.write(tenant, async move |tx: &mut PgConnection| {
            let ctx = &ctx;
            let before = load_ticket(&mut *tx, id, true)
                .await?
                .ok_or(StoreError::NotFound("ticket"))?;
            let (mut after, event) = ticket::apply(&before, &action, &ctx.actor, at)?;
            let mut created = None;
            match &action {
                TicketAction::Close => {
                    if let Some(observed) = after.service_secs() {
                        let ewma: f64 = sqlx::query_scalar(
                            "SELECT ewma_service_secs FROM services WHERE id = $1 FOR NO KEY UPDATE",
                        )
                        .bind(after.service_id.0)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(db)?;
                        sqlx::query("UPDATE services SET ewma_service_secs = $2 WHERE id = $1")
                            .bind(after.service_id.0)
                            .bind(eta::ewma_update(ewma, observed))
                            .execute(&mut *tx)
                            .await
                            .map_err(db)?;
                    }
                }
                TicketAction::Transfer {
                    to_queue_id,
                    keep_position,
                } => {
                    let (target, _, tz) = load_queue(&mut *tx, *to_queue_id)
                        .await?
                        .ok_or(StoreError::NotFound("queue"))?;
                    if target.site_id != before.site_id {
                        return Err(StoreError::Invalid(
                            "cannot transfer to a queue of another site".into(),
                        ));
                    }
                    if target.id == before.queue_id {
                        return Err(StoreError::Invalid(
                            "cannot transfer a ticket to its own queue".into(),
                        ));
                    }
                    let arrived_at = if *keep_position {
                        before.arrived_at
                    } else {
                        at
                    };
                    let mut new = new_ticket(
                        &mut *tx,
                        &target,
                        tz,
                        before.priority,
                        before.channel,
                        before.contact_id,
                        arrived_at,
                        at,
                    )
                    .await?;
                    new.transferred_from = Some(before.id);
                    after.transferred_to = Some(new.id);
                    insert_ticket(&mut *tx, &new).await?;
                    created = Some(new);
                }
                _ => {}
            }
            update_ticket(&mut *tx, &after).await?;
            if matches!(
                action,
                TicketAction::Close | TicketAction::NoShow | TicketAction::Transfer { .. }
            ) {
                release_agent(&mut *tx, before.agent_id).await?;
            }
            let action_name = format!("ticket.{}", action.name());
            let mut events = vec![event];
            let mut audits = vec![entry(
                tenant,
                &action_name,
                after.id,
                Some(&before),
                Some(&after),
                ctx,
            )?];
            if let Some(new) = &created {
                events.push(ticket::issued_event(new, &ctx.actor));
                audits.push(entry(tenant, "ticket.issue", new.id, None, Some(new), ctx)?);
            }
            let events: Vec<&TicketEvent> = events.iter().collect();
            record(&mut *tx, tenant, &events, audits).await?;
            Ok(Transitioned {
                ticket: after,
                created,
            })
        })
        .await
    }

    async fn queue_snapshot(&self, tenant: TenantId, id: QueueId) -> Result<Option<QueueSnapshot>> {
        let mut tx = self.tenant_snapshot(tenant).await?;
        let Some((queue, policy_state, _)) = load_queue(&mut tx, id).await? else {
            tx.commit().await.map_err(db)?;
            return Ok(None);
        };
        let service = load_service(&mut tx, queue.service_id)
            .await?
            .ok_or(StoreError::NotFound("service"))?;
        let waiting = sqlx::query(concat!(
            "SELECT ",
            ticket_cols!(),
            " FROM tickets WHERE queue_id = $1 AND status = 'waiting' ORDER BY arrived_at, seq"
        ))
        .bind(id.0)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?
        .iter()
        .map(rows::ticket)
        .collect::<Result<Vec<_>>>()?;
        let serving = sqlx::query(concat!(
            "SELECT ",
            ticket_cols!(),
            " FROM tickets WHERE queue_id = $1 \
              AND status IN ('called', 'recalled', 'serving', 'paused') \
             ORDER BY called_at, arrived_at, seq"
        ))
        .bind(id.0)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?
        .iter()
        .map(rows::ticket)
        .collect::<Result<Vec<_>>>()?;
        let agents_serving = agents_serving(&mut tx, service.id).await?;
        tx.commit().await.map_err(db)?;
        Ok(Some(QueueSnapshot {
            queue,
            service,
            policy_state,
            waiting,
            serving,
            agents_serving,
        }))
    }

    async fn position_inputs(&self, tenant: TenantId, t: &Ticket) -> Result<PositionInputs> {
        // One call, one snapshot: see migrations/postgres/0009 for why it is a function.
        let r = sqlx::query("SELECT * FROM sq_position_inputs($1, $2, $3, $4, $5, $6)")
            .bind(tenant.0)
            .bind(t.queue_id.0)
            .bind(t.id.0)
            .bind(t.arrived_at)
            .bind(i64::from(t.seq))
            .bind(BEHIND_PROBE)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .ok_or(StoreError::NotFound("queue"))?;
        let policy: policy::QueuePolicy = rows::json_col(&r, "policy")?;
        let policy_state = rows::policy_state(&r)?;
        let priorities: Vec<i16> = r.try_get("priorities").map_err(db)?;
        let totals: Vec<i32> = r.try_get("totals").map_err(db)?;
        let behind: Vec<i64> = r.try_get("behind").map_err(db)?;
        // Without ratios the queue is one strict FIFO line across classes: count every
        // class ahead. With ratios, only the ticket's own class.
        let fifo = policy.ratios.is_empty();
        let in_scope = |p: i16| fifo || p == i16::from(t.priority);
        let mut scope_total = 0i64;
        let mut scope_behind = 0i64;
        let mut capped = false;
        for ((p, n), b) in priorities.iter().zip(&totals).zip(&behind) {
            if in_scope(*p) {
                scope_total += i64::from(*n);
                scope_behind += b;
                capped |= *b >= BEHIND_PROBE;
            }
        }
        // Counting the line is linear in its length, so the function counted the shorter
        // side of most tickets asked about (new ones, near the end): those behind, up to a
        // bound. Past it, count those ahead instead.
        let ahead = if capped {
            let mut tx = self.tenant_snapshot(tenant).await?;
            let ahead = count_ahead(&mut tx, t, fifo).await?;
            tx.commit().await.map_err(db)?;
            ahead
        } else {
            (scope_total - 1 - scope_behind).max(0)
        };
        let agents_serving: i64 = r.try_get("agents_serving").map_err(db)?;
        Ok(PositionInputs {
            policy,
            policy_state,
            totals: class_totals(&priorities, &totals),
            ahead_in_class: ahead as u32,
            ewma_service_secs: r.try_get("ewma_service_secs").map_err(db)?,
            agents_serving: agents_serving as u32,
        })
    }

    async fn waiting_heads(
        &self,
        tenant: TenantId,
        queue: QueueId,
        per_class: u32,
    ) -> Result<Vec<Ticket>> {
        let mut tx = self.tenant_tx(tenant).await?;
        let rows = sqlx::query(concat!(
            "SELECT h.* FROM queue_waiting w CROSS JOIN LATERAL (SELECT ",
            ticket_cols!(),
            " FROM tickets t WHERE t.queue_id = w.queue_id AND t.priority = w.priority \
                AND t.status = 'waiting' ORDER BY t.arrived_at, t.seq LIMIT $2) h \
             WHERE w.queue_id = $1 AND w.n > 0 ORDER BY h.arrived_at, h.seq"
        ))
        .bind(queue.0)
        .bind(i64::from(per_class.min(MAX_LIST)))
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        rows.iter().map(rows::ticket).collect()
    }

    async fn last_seq(&self, tenant: TenantId, queue: QueueId, day: NaiveDate) -> Result<u32> {
        let mut tx = self.tenant_tx(tenant).await?;
        let seq: Option<i64> = sqlx::query_scalar(
            "SELECT last_seq FROM queue_day_counters WHERE queue_id = $1 AND local_date = $2",
        )
        .bind(queue.0)
        .bind(day)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(seq.unwrap_or(0) as u32)
    }

    // ---- users and credentials --------------------------------------------------------

    async fn create_user(&self, u: NewUser, ctx: &AuditContext) -> Result<User> {
        let user = User {
            id: UserId::new(),
            tenant_id: u.tenant_id,
            email: u.email,
            role: u.role,
            site_id: u.site_id,
            created_at: truncate_micros(ctx.at),
        };
        let Some(tenant) = user.tenant_id else {
            // Platform staff: no tenant, so no tenant chain to audit in, and no
            // app.tenant_id that the policy could admit the row under.
            if user.role != Role::SuperAdmin {
                return Err(StoreError::Invalid(
                    "only super admins belong to no tenant".into(),
                ));
            }
            if user.site_id.is_some() {
                return Err(StoreError::Invalid("a super admin has no site".into()));
            }
            sqlx::query("SELECT sq_create_platform_user($1, $2, $3, $4)")
                .bind(user.id.0)
                .bind(user.email.as_str())
                .bind(&u.password_hash)
                .bind(user.created_at)
                .execute(&self.pool)
                .await
                .map_err(db)?;
            return Ok(user);
        };
        let ctx = ctx.clone();
        self.write(tenant, async move |tx: &mut PgConnection| {
            let ctx = &ctx;
            require_tenant(&mut *tx, tenant).await?;
            if let Some(site) = user.site_id {
                load_site(&mut *tx, site)
                    .await?
                    .ok_or(StoreError::NotFound("site"))?;
            }
            sqlx::query(
                "INSERT INTO users (id, tenant_id, email, password_hash, role, site_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(user.id.0)
            .bind(tenant.0)
            .bind(user.email.as_str())
            .bind(&u.password_hash)
            .bind(user.role.as_str())
            .bind(user.site_id.map(|s| s.0))
            .bind(user.created_at)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            audit_write(
                &mut *tx,
                tenant,
                "user.create",
                user.id,
                None,
                Some(&user),
                ctx,
            )
            .await?;
            Ok(user)
        })
        .await
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<UserRecord>> {
        let Some(r) = sqlx::query("SELECT * FROM sq_user_by_email($1)")
            .bind(email.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
        else {
            return Ok(None);
        };
        Ok(Some(UserRecord {
            user: rows::user(&r)?,
            password_hash: r.try_get("password_hash").map_err(db)?,
        }))
    }

    async fn user(&self, id: UserId) -> Result<Option<User>> {
        sqlx::query("SELECT * FROM sq_user_by_id($1)")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .as_ref()
            .map(rows::user)
            .transpose()
    }

    async fn store_refresh_token(&self, t: NewRefreshToken) -> Result<()> {
        sqlx::query("SELECT sq_store_refresh_token($1, $2, $3, $4)")
            .bind(&t.token_hash)
            .bind(t.user_id.0)
            .bind(t.family)
            .bind(truncate_micros(t.expires_at))
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        new_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<RefreshOutcome> {
        let (outcome, user_id): (String, Option<uuid::Uuid>) = sqlx::query_as(
            "SELECT r_outcome, r_user_id FROM sq_rotate_refresh_token($1, $2, $3, $4)",
        )
        .bind(old_hash)
        .bind(new_hash)
        .bind(truncate_micros(new_expires_at))
        .bind(truncate_micros(now))
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        Ok(match (outcome.as_str(), user_id) {
            ("rotated", Some(u)) => RefreshOutcome::Rotated { user_id: u.into() },
            ("reused", _) => RefreshOutcome::Reused,
            ("expired", _) => RefreshOutcome::Expired,
            ("unknown", _) => RefreshOutcome::Unknown,
            (o, _) => {
                return Err(StoreError::Backend(format!(
                    "unexpected rotation outcome {o}"
                )));
            }
        })
    }

    async fn create_api_key(
        &self,
        tenant: TenantId,
        k: NewApiKey,
        ctx: &AuditContext,
    ) -> Result<ApiKey> {
        let key = ApiKey {
            id: ApiKeyId::new(),
            tenant_id: tenant,
            name: k.name,
            prefix: k.prefix,
            scopes: k.scopes,
            created_at: truncate_micros(ctx.at),
            revoked_at: None,
        };
        let scopes: Vec<&str> = key.scopes.iter().map(|s| s.as_str()).collect();
        let ctx = ctx.clone();
        self.write(tenant, async move |tx: &mut PgConnection| {
            let ctx = &ctx;
            require_tenant(&mut *tx, tenant).await?;
            if let Some(user) = k.created_by {
                // The creator may be a super admin (no tenant): look it up across tenants.
                let found: Option<uuid::Uuid> =
                    sqlx::query_scalar("SELECT id FROM sq_user_by_id($1)")
                        .bind(user.0)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db)?;
                found.ok_or(StoreError::NotFound("user"))?;
            }
            sqlx::query(
                "INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, scopes, created_by, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(key.id.0)
            .bind(tenant.0)
            .bind(key.name.as_str())
            .bind(&key.prefix)
            .bind(&k.key_hash)
            .bind(&scopes)
            .bind(k.created_by.map(|u| u.0))
            .bind(key.created_at)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            // Never the key nor its hash.
            let after = serde_json::json!({
                "id": key.id,
                "tenant_id": tenant,
                "name": key.name,
                "prefix": key.prefix,
                "scopes": key.scopes,
                "created_by": k.created_by,
                "created_at": key.created_at,
            });
            audit_write(
                &mut *tx,
                tenant,
                "api_key.create",
                key.id,
                None,
                Some(&after),
                ctx,
            )
            .await?;
            Ok(key)
        })
        .await
    }

    async fn api_keys(&self, tenant: TenantId) -> Result<Vec<ApiKey>> {
        let mut tx = self.tenant_tx(tenant).await?;
        let rows = sqlx::query(
            "SELECT id, tenant_id, name, prefix, scopes, created_at, revoked_at FROM api_keys \
             WHERE tenant_id = $1 ORDER BY created_at, id",
        )
        .bind(tenant.0)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        rows.iter().map(rows::api_key).collect()
    }

    async fn revoke_api_key(
        &self,
        tenant: TenantId,
        id: ApiKeyId,
        ctx: &AuditContext,
    ) -> Result<ApiKey> {
        let ctx = ctx.clone();
        self.write(tenant, async move |tx: &mut PgConnection| {
            let row = sqlx::query(
                "SELECT id, tenant_id, name, prefix, scopes, created_at, revoked_at FROM api_keys \
                 WHERE id = $1 FOR NO KEY UPDATE",
            )
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?
            .ok_or(StoreError::NotFound("api_key"))?;
            let before = rows::api_key(&row)?;
            if before.revoked_at.is_some() {
                return Ok(before);
            }
            let after = ApiKey {
                revoked_at: Some(truncate_micros(ctx.at)),
                ..before.clone()
            };
            sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE id = $1")
                .bind(id.0)
                .bind(after.revoked_at)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            let (b, a) = (revocation(&before), revocation(&after));
            let e = entry(tenant, "api_key.revoke", id, Some(&b), Some(&a), &ctx)?;
            record(&mut *tx, tenant, &[], vec![e]).await?;
            Ok(after)
        })
        .await
    }

    async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>> {
        sqlx::query("SELECT * FROM sq_api_key_by_hash($1)")
            .bind(key_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .as_ref()
            .map(rows::api_key)
            .transpose()
    }

    // ---- web views (issue 5): paired devices -------------------------------------------

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
        self.write(tenant, async move |tx: &mut PgConnection| {
            // Row-level security hides another tenant's site: not found, as it should be.
            load_site(&mut *tx, device.site_id)
                .await?
                .ok_or(StoreError::NotFound("site"))?;
            sqlx::query(
                "INSERT INTO devices (id, tenant_id, site_id, name, kind, prefix, key_hash, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(device.id.0)
            .bind(tenant.0)
            .bind(device.site_id.0)
            .bind(device.name.as_str())
            .bind(device.kind.as_str())
            .bind(&device.prefix)
            .bind(&d.key_hash)
            .bind(device.created_at)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            let after = device_audit(&device);
            audit_write(
                &mut *tx,
                tenant,
                "device.create",
                device.id,
                None,
                Some(&after),
                &ctx,
            )
            .await?;
            Ok(device)
        })
        .await
    }

    async fn devices(&self, tenant: TenantId) -> Result<Vec<Device>> {
        let mut tx = self.tenant_tx(tenant).await?;
        let rows = sqlx::query(
            "SELECT id, tenant_id, site_id, name, kind, prefix, created_at, revoked_at \
             FROM devices WHERE tenant_id = $1 ORDER BY created_at, id",
        )
        .bind(tenant.0)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        rows.iter().map(rows::device).collect()
    }

    async fn revoke_device(
        &self,
        tenant: TenantId,
        id: DeviceId,
        ctx: &AuditContext,
    ) -> Result<Device> {
        let ctx = ctx.clone();
        self.write(tenant, async move |tx: &mut PgConnection| {
            let row = sqlx::query(
                "SELECT id, tenant_id, site_id, name, kind, prefix, created_at, revoked_at \
                 FROM devices WHERE id = $1 FOR NO KEY UPDATE",
            )
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?
            .ok_or(StoreError::NotFound("device"))?;
            let before = rows::device(&row)?;
            if before.revoked_at.is_some() {
                return Ok(before);
            }
            let after = Device {
                revoked_at: Some(truncate_micros(ctx.at)),
                ..before.clone()
            };
            sqlx::query("UPDATE devices SET revoked_at = $2 WHERE id = $1")
                .bind(id.0)
                .bind(after.revoked_at)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            let (b, a) = (device_audit(&before), device_audit(&after));
            audit_write(
                &mut *tx,
                tenant,
                "device.revoke",
                id,
                Some(&b),
                Some(&a),
                &ctx,
            )
            .await?;
            Ok(after)
        })
        .await
    }

    async fn contact_summary(
        &self,
        tenant: TenantId,
        id: ContactId,
    ) -> Result<Option<ContactSummary>> {
        let mut tx = self.tenant_tx(tenant).await?;
        let row: Option<(Option<String>, Option<String>)> =
            sqlx::query_as("SELECT name, locale FROM contacts WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
        tx.commit().await.map_err(db)?;
        let bad = |e: ParseError| StoreError::Backend(format!("corrupt contact: {e:?}"));
        row.map(|(name, locale)| {
            Ok(ContactSummary {
                name: name.map(|n| n.parse()).transpose().map_err(bad)?,
                locale: locale.map(|l| l.parse()).transpose().map_err(bad)?,
            })
        })
        .transpose()
    }

    async fn device_by_key_hash(&self, key_hash: &str) -> Result<Option<Device>> {
        sqlx::query("SELECT * FROM sq_device_by_hash($1)")
            .bind(key_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .as_ref()
            .map(rows::device)
            .transpose()
    }

    // ---- audit ------------------------------------------------------------------------

    async fn audit_log(&self, tenant: TenantId) -> Result<Vec<AuditRecord>> {
        let mut tx = self.tenant_snapshot(tenant).await?;
        let rows = sqlx::query("SELECT * FROM audit_log WHERE tenant_id = $1 ORDER BY seq")
            .bind(tenant.0)
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        rows.iter().map(rows::audit).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::connect_options;
    use sqlx::postgres::PgSslMode;

    #[test]
    fn tls_is_off_on_loopback_unless_asked_for() {
        let mode = |url: &str| connect_options(url).unwrap().get_ssl_mode();
        assert!(matches!(
            mode("postgres://u@127.0.0.1:5432/db"),
            PgSslMode::Disable
        ));
        assert!(matches!(
            mode("postgres://u@localhost/db"),
            PgSslMode::Disable
        ));
        assert!(matches!(
            mode("postgres://u@[::1]:5432/db"),
            PgSslMode::Disable
        ));
        assert!(matches!(
            mode("postgres://u@127.0.0.1/db?sslmode=require"),
            PgSslMode::Require
        ));
        assert!(matches!(
            mode("postgres://u@db.example.org/db"),
            PgSslMode::Prefer
        ));
    }
}
