//! Store-level throughput of the SQLite backend: tickets issued and called per second with
//! 1 and 32 concurrent clients, next to the machine's baseline (one-row INSERT per
//! transaction through sqlx on one writer, dependencies.md's reference workload) measured
//! in the same run, so results compare as a ratio across machines.
//!
//! `cargo bench -p sq-store-sqlite --bench throughput` (release build; about 10 s).

use sq_domain::audit::AuditContext;
use sq_domain::model::Skill;
use sq_domain::*;
use sq_store::*;
use sq_store_sqlite::SqliteStore;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::sync::Arc;
use std::time::Instant;

const ISSUES: usize = 6400;

fn ctx() -> AuditContext {
    AuditContext::system(chrono::Utc::now())
}

struct Fixture {
    store: Arc<SqliteStore>,
    tenant: TenantId,
    site: SiteId,
    service: ServiceId,
}

async fn fixture(dir: &std::path::Path) -> Fixture {
    let store = Arc::new(SqliteStore::open(&dir.join("bench.db")).await.unwrap());
    let t = store
        .create_tenant(
            NewTenant {
                slug: "bench".parse().unwrap(),
                name: "Bench".parse().unwrap(),
                default_locale: Locale::en(),
            },
            &ctx(),
        )
        .await
        .unwrap();
    let site = store
        .create_site(
            t.id,
            NewSite {
                name: "Main".parse().unwrap(),
                timezone: "Africa/Nairobi".parse().unwrap(),
                locale: Locale::en(),
            },
            &ctx(),
        )
        .await
        .unwrap();
    let service = store
        .create_service(
            t.id,
            NewService {
                site_id: site.id,
                name: "Accounts".parse().unwrap(),
                sla_target_secs: 900,
                expected_duration_secs: 300,
            },
            &ctx(),
        )
        .await
        .unwrap();
    store
        .create_queue(
            t.id,
            NewQueue {
                service_id: service.id,
                name: "Accounts".parse().unwrap(),
                prefix: "A".parse().unwrap(),
                policy: Default::default(),
            },
            &ctx(),
        )
        .await
        .unwrap();
    Fixture {
        store,
        tenant: t.id,
        site: site.id,
        service: service.id,
    }
}

/// Issues as the API does: the ticket, then its position inputs (for the position/ETA shown).
async fn issue_rate(f: &Fixture, clients: usize, with_position: bool) -> f64 {
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (store, tenant, service) = (f.store.clone(), f.tenant, f.service);
        tasks.spawn(async move {
            for _ in 0..ISSUES / clients {
                let req = IssueTicket {
                    service_id: service,
                    channel: Channel::Web,
                    priority: 0,
                    contact: None,
                };
                let t = store.issue_ticket(tenant, req, &ctx()).await.unwrap();
                if with_position {
                    store.position_inputs(tenant, &t).await.unwrap();
                }
            }
        });
    }
    tasks.join_all().await;
    ISSUES as f64 / start.elapsed().as_secs_f64()
}

async fn call_rate(f: &Fixture, agents: usize) -> f64 {
    let mut pairs: Vec<(AgentId, CounterId)> = Vec::new();
    for i in 0..agents {
        let c = f
            .store
            .create_counter(
                f.tenant,
                NewCounter {
                    site_id: f.site,
                    name: format!("{agents}-{i}").parse().unwrap(),
                },
                &ctx(),
            )
            .await
            .unwrap();
        let a = f
            .store
            .create_agent(
                f.tenant,
                NewAgent {
                    site_id: f.site,
                    user_id: None,
                    name: format!("Agent {i}").parse().unwrap(),
                    skills: vec![Skill {
                        service_id: f.service,
                        weight: 50,
                    }],
                },
                &ctx(),
            )
            .await
            .unwrap();
        pairs.push((a.id, c.id));
    }
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (agent, counter) in pairs {
        let (store, tenant) = (f.store.clone(), f.tenant);
        tasks.spawn(async move {
            let mut n = 0usize;
            while store
                .call_next(tenant, agent, counter, &ctx())
                .await
                .unwrap()
                .is_some()
            {
                n += 1;
            }
            n
        });
    }
    let called: usize = tasks.join_all().await.into_iter().sum();
    called as f64 / start.elapsed().as_secs_f64()
}

/// dependencies.md's reference: one-row INSERT per transaction, sqlx, one writer, WAL,
/// synchronous=NORMAL.
async fn baseline(dir: &std::path::Path) -> f64 {
    let opts = SqliteConnectOptions::new()
        .filename(dir.join("baseline.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await
        .unwrap();
    sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
        .execute(&pool)
        .await
        .unwrap();
    let n = 5000;
    let start = Instant::now();
    for i in 0..n {
        let mut tx = pool.begin().await.unwrap();
        sqlx::query("INSERT INTO t (v) VALUES (?)")
            .bind(format!("row {i}"))
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let base = baseline(dir.path()).await;
    println!("baseline: one-row INSERT per transaction   {base:>7.0} tx/s");
    let f = fixture(dir.path()).await;
    for clients in [1, 32] {
        let r = issue_rate(&f, clients, false).await;
        println!(
            "issue_ticket, {clients:>2} clients              {r:>7.0} /s  ({:.2} × baseline)",
            r / base
        );
    }
    let r = issue_rate(&f, 32, true).await;
    println!(
        "issue + position_inputs, 32 clients     {r:>7.0} /s  ({:.2} × baseline)",
        r / base
    );
    // The issue runs left 3 × ISSUES tickets waiting: call them down.
    for agents in [1, 32] {
        // The first run calls everything; issue again for the second.
        if agents == 32 {
            issue_rate(&f, 32, false).await;
        }
        let r = call_rate(&f, agents).await;
        println!(
            "call_next, {agents:>2} agents                  {r:>7.0} /s  ({:.2} × baseline)",
            r / base
        );
    }
}
