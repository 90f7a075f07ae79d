//! Write lanes: every tenant-scoped write runs on one of [`LANES`] dedicated connections,
//! chosen by tenant, through the group-commit writer of `sq_store::group`.
//!
//! Why: on a busy queue every write needs the same two row locks, the queue-day counter
//! (issue) or the queue rows (call-next), and the tenant's audit head (all). One
//! transaction per write holds them across its own commit, so a hot tenant's writes went
//! one commit at a time (about 0.2 × pgbench's TPC-B on this machine). A lane takes them
//! once for a whole group of queued writes and pays one commit for the group.
//!
//! Because one tenant always writes through the same lane, a lane's transaction never
//! waits for another lane on the audit head, and no two transactions of the same tenant
//! write at once: the lock-ordering argument of the crate docs (the head is taken last)
//! still holds, although a group holds the head while its later writes take other locks.
//! Different tenants share a lane only to share its connection.

use sq_domain::TenantId;
use sq_store::Result;
use sq_store::group::{Driver, GroupSettings, GroupWriter};
use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, Connection as _, PgConnection};
use std::sync::Arc;

/// Lanes per store: a handful of connections keeps 2–8 cores busy, and more lanes only
/// split groups (one commit each) without adding throughput for a single hot tenant.
const LANES: usize = 4;
/// The most writes committed together: bounds the wait of the first one in a group.
const MAX_GROUP: usize = 32;
/// Writes waiting per lane beyond this many make callers wait to queue (back-pressure).
const QUEUE: usize = 4096;

/// Opens (and reopens, after a failure) a lane's connection.
pub(crate) struct Pg {
    options: PgConnectOptions,
    /// Log in as the owner and `SET ROLE` to the app role, as the pool does.
    set_role: bool,
}

impl Driver for Pg {
    type Conn = PgConnection;

    async fn connect(&self) -> Result<PgConnection, String> {
        let mut conn = PgConnection::connect_with(&self.options)
            .await
            .map_err(|e| e.to_string())?;
        if self.set_role {
            Self::exec(&mut conn, "SET ROLE smartqueue_app").await?;
        }
        // The lane's statements look rows up by key, so one plan fits every call. Left to
        // choose, PostgreSQL kept planning some of them afresh on each call, and planning
        // probes index ends (here: the long waiting line's, full of called tickets not yet
        // vacuumed), which made each call cost a millisecond and more as the day went on.
        Self::exec(&mut conn, "SET plan_cache_mode = force_generic_plan").await?;
        Ok(conn)
    }

    async fn exec(conn: &mut PgConnection, sql: &str) -> Result<(), String> {
        sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
            .execute(conn)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    async fn close(conn: PgConnection) {
        let _ = conn.close().await;
    }
}

type Writer = GroupWriter<Pg>;

/// The store's lanes; a tenant always writes through the same one.
#[derive(Clone, Debug)]
pub(crate) struct Lanes(Arc<[Writer]>);

impl Lanes {
    /// Starts the lanes; each connects when its first write comes.
    pub(crate) fn start(options: &PgConnectOptions, set_role: bool) -> Result<Lanes> {
        let lanes = (0..LANES)
            .map(|n| {
                let settings = GroupSettings {
                    name: format!("sq-pg-lane-{n}"),
                    begin: "BEGIN",
                    max_group: MAX_GROUP,
                    queue: QUEUE,
                };
                let driver = Pg {
                    options: options.clone(),
                    set_role,
                };
                GroupWriter::start(driver, None, settings)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Lanes(lanes.into()))
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The lane of `tenant`.
    pub(crate) fn index(&self, tenant: TenantId) -> usize {
        // Tenant ids are UUIDv7: the last eight bytes are random, the first are a clock.
        let bytes = tenant.0.as_bytes();
        let mut tail = [0u8; 8];
        tail.copy_from_slice(&bytes[8..]);
        (u64::from_le_bytes(tail) % self.0.len() as u64) as usize
    }

    /// Runs `f` as one write of `tenant` on the tenant's lane, in a savepoint of the
    /// lane's current group with `app.tenant_id` set for row-level security. The answer
    /// comes once the group has committed.
    pub(crate) async fn write<T, F>(&self, tenant: TenantId, f: F) -> Result<T>
    where
        F: AsyncFnOnce(&mut PgConnection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        // The id is inlined, which is safe because a `Uuid` prints as hex and dashes.
        let prelude = format!(
            "SELECT set_config('app.tenant_id', '{}', true)",
            tenant.0.hyphenated()
        );
        self.0[self.index(tenant)].write(Some(prelude), f).await
    }
}
