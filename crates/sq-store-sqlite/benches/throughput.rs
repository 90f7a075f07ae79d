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

/// CPU seconds (user + system) this process has used: rates on a busy machine vary with
/// the neighbours, CPU per operation much less.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is the 12th, stime
    // the 13th, in clock ticks (100 per second on Linux).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    if f.len() > 12 {
        (f[11] + f[12]) / 100.0
    } else {
        0.0
    }
}

/// Runs a phase of `ops` operations; returns (operations per second, CPU µs per operation).
async fn measure<F: std::future::Future<Output = usize>>(phase: F) -> (f64, f64) {
    let (start, cpu) = (Instant::now(), cpu_secs());
    let ops = phase.await as f64;
    (
        ops / start.elapsed().as_secs_f64(),
        (cpu_secs() - cpu) * 1e6 / ops,
    )
}

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
async fn issue_rate(f: &Fixture, clients: usize, with_position: bool) -> usize {
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
    ISSUES
}

/// Reads the position inputs of the newest ticket (the read behind every ticket view).
async fn position_rate(f: &Fixture, clients: usize) -> usize {
    let newest = f
        .store
        .tickets(
            f.tenant,
            &TicketFilter {
                limit: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .remove(0);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (store, tenant, t) = (f.store.clone(), f.tenant, newest.clone());
        tasks.spawn(async move {
            for _ in 0..ISSUES / clients {
                store.position_inputs(tenant, &t).await.unwrap();
            }
        });
    }
    tasks.join_all().await;
    ISSUES
}

/// Creates `agents` agents with counters and lets them call everything down.
async fn agents_for(f: &Fixture, agents: usize) -> Vec<(AgentId, CounterId)> {
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
    pairs
}

async fn call_rate(f: &Fixture, pairs: Vec<(AgentId, CounterId)>) -> usize {
    let mut tasks = tokio::task::JoinSet::new();
    for (agent, counter) in pairs {
        let (store, tenant) = (f.store.clone(), f.tenant);
        tasks.spawn(async move {
            let mut n = 0usize;
            while store
                .call_next(tenant, agent, counter, None, &ctx())
                .await
                .unwrap()
                .is_some()
            {
                n += 1;
            }
            n
        });
    }
    tasks.join_all().await.into_iter().sum()
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
    let line = |what: &str, (rate, cpu): (f64, f64)| {
        println!(
            "{what:<36} {rate:>7.0} /s  ({:.2} × baseline)  {cpu:>6.0} µs CPU each",
            rate / base
        )
    };
    for clients in [1, 32] {
        let r = measure(issue_rate(&f, clients, false)).await;
        line(&format!("issue_ticket, {clients} clients"), r);
    }
    let r = measure(issue_rate(&f, 32, true)).await;
    line("issue + position_inputs, 32 clients", r);
    let r = measure(position_rate(&f, 32)).await;
    line("position_inputs, 32 clients", r);
    // The issue runs left 3 × ISSUES tickets waiting: call them down, then issue again.
    let pairs = agents_for(&f, 1).await;
    line("call_next, 1 agent", measure(call_rate(&f, pairs)).await);
    issue_rate(&f, 32, false).await;
    let pairs = agents_for(&f, 32).await;
    line("call_next, 32 agents", measure(call_rate(&f, pairs)).await);
}
