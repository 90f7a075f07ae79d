//! Throughput of the real HTTP API (issue 2 §9): tickets issued per second and call-next per
//! second with 32 concurrent keep-alive clients, with p50/p95/p99 latency, on SQLite and —
//! when `BENCH_DATABASE_URL` or `TEST_DATABASE_URL` is set — on PostgreSQL, next to a
//! pgbench TPC-B run in the same session so the PostgreSQL figure reads as a ratio.
//!
//! ```text
//! cargo bench -p sq-server --bench api
//! TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench -p sq-server --bench api
//! ```
//!
//! Knobs: `BENCH_SECS` (per phase, default 10), `BENCH_CLIENTS` (default 32),
//! `BENCH_PGBENCH_SECS` (default 30), `BENCH_SKIP_SQLITE=1` (PostgreSQL only), `BENCH_KEEP_DB=1` (keep its database). The server runs in-process (`sq_server::Application`,
//! its own runtime and threads) on 127.0.0.1; clients are reqwest with keep-alive.

use anyhow::{Context, bail};
use serde_json::{Value, json};
use sq_app::{Principal, RequestMeta};
use sq_server::{Application, Config, DemoSeed, SeedOutcome};
use sq_store::{NewAgent, NewCounter};
use sqlx::{AssertSqlSafe, Connection};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

const PASSWORD: &str = "bench-password-1";

fn env_u64(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Debug, Clone)]
struct Phase {
    ops: usize,
    errors: usize,
    secs: f64,
    latencies: Vec<Duration>,
    /// CPU time of the whole process (server and clients) ÷ wall time: how many cores the
    /// phase kept busy. Below the core count, something serialises (a lock, one writer).
    cores_busy: f64,
}

/// User + system CPU seconds of this process so far (Linux; 0 elsewhere).
fn process_cpu_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line: 11 and 12 after the name.
    // USER_HZ is 100 on every Linux this runs on.
    (ticks(11) + ticks(12)) / 100.0
}

impl Phase {
    fn rate(&self) -> f64 {
        self.ops as f64 / self.secs
    }
    fn pct(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i].as_secs_f64() * 1000.0
    }
}

#[derive(Debug)]
struct BackendResult {
    name: &'static str,
    issue: Phase,
    call: Phase,
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; a filter argument would be meaningless here.
    let secs = env_u64("BENCH_SECS", 10);
    let clients = env_u64("BENCH_CLIENTS", 32) as usize;
    let pg_url = std::env::var("BENCH_DATABASE_URL")
        .or_else(|_| std::env::var("TEST_DATABASE_URL"))
        .ok()
        .filter(|s| !s.is_empty());
    println!(
        "SmartQueue API benchmark: {clients} clients, {secs} s per phase, profile {}",
        if cfg!(debug_assertions) {
            "debug (numbers are not meaningful)"
        } else {
            "release"
        }
    );

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut results = Vec::new();
    let dir = tempfile::tempdir()?;
    let sqlite = Config {
        data_dir: dir.path().to_path_buf(),
        ..base_config()
    };
    if std::env::var_os("BENCH_SKIP_SQLITE").is_none() {
        results.push(rt.block_on(run_backend("SQLite", sqlite, secs, clients))?);
    }

    let mut tpcb = None;
    if let Some(admin_url) = &pg_url {
        let db = format!("sq_bench_{}", uuid_simple());
        rt.block_on(pg_exec(admin_url, &format!("CREATE DATABASE \"{db}\"")))?;
        let pg_dir = tempfile::tempdir()?;
        let pg = Config {
            data_dir: pg_dir.path().to_path_buf(),
            database_url: Some(with_database(admin_url, &db)),
            ..base_config()
        };
        let r = rt.block_on(run_backend("PostgreSQL", pg, secs, clients));
        // Let the server's pool go before dropping its database.
        if std::env::var_os("BENCH_KEEP_DB").is_none() {
            let _ = rt.block_on(pg_exec(
                admin_url,
                &format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"),
            ));
        }
        results.push(r?);
        tpcb = Some(rt.block_on(pgbench(admin_url))?);
    } else {
        println!(
            "\n(PostgreSQL skipped: set TEST_DATABASE_URL or BENCH_DATABASE_URL to include it and pgbench TPC-B)"
        );
    }

    print_table(&results, tpcb, clients);
    Ok(())
}

fn base_config() -> Config {
    Config {
        listen: "127.0.0.1:0".parse().expect("address"),
        jwt_secret: Some(format!("bench-secret-{}-{}", uuid_simple(), uuid_simple())),
        ..Config::default()
    }
}

fn uuid_simple() -> String {
    use rand::Rng;
    let n: u64 = rand::rng().random();
    format!("{n:016x}")
}

async fn run_backend(
    name: &'static str,
    config: Config,
    secs: u64,
    clients: usize,
) -> anyhow::Result<BackendResult> {
    println!("\n== {name}: starting the server");
    // The server gets its own runtime (own threads), as if it were another process.
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || -> anyhow::Result<()> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        rt.block_on(async move {
            let application = Application::build(config).await?;
            let app = application.app().clone();
            let base = application.base_url();
            let seed = match sq_server::seed_demo(&app, Some(PASSWORD.into())).await? {
                SeedOutcome::Seeded(s) => *s,
                SeedOutcome::AlreadyPresent(_) => bail!("fresh database expected"),
            };
            let staff = staff(&app, &seed, clients).await?;
            let _ = ready_tx.send((base, seed, staff));
            application
                .run_until_stopped(async {
                    let _ = stop_rx.await;
                })
                .await
        })
    });
    let Ok((base, seed, staff)) = ready_rx.await else {
        return Err(server
            .join()
            .map_err(|_| anyhow::anyhow!("server thread panicked"))?
            .err()
            .unwrap_or_else(|| anyhow::anyhow!("server stopped early")));
    };

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients * 2)
        .timeout(Duration::from_secs(30))
        .build()?;
    let login: Value = client
        .post(format!("{base}/api/v1/auth/token"))
        .json(&json!({"email": "admin@demo.test", "password": PASSWORD}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = login["access_token"]
        .as_str()
        .context("access_token")?
        .to_owned();
    let services: Vec<String> = seed.services.iter().map(|s| s.id.to_string()).collect();

    // Warm up connections (and the statement caches) outside the measurement.
    for _ in 0..clients {
        client
            .get(format!("{base}/api/v1/health"))
            .send()
            .await?
            .error_for_status()?;
    }

    println!("== {name}: issuing tickets for {secs} s");
    let issue = run_phase(clients, secs, {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        let services = Arc::new(services);
        move |i, n| {
            let (client, base, token, services) = (
                client.clone(),
                base.clone(),
                token.clone(),
                services.clone(),
            );
            async move {
                let r = client
                    .post(format!("{base}/api/v1/tenants/demo/tickets"))
                    .bearer_auth(&token)
                    .json(&json!({
                        "service_id": services[(i + n) % services.len()],
                        "channel": "kiosk",
                    }))
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status().as_u16() == 201 => Outcome::Done,
                    _ => Outcome::Failed,
                }
            }
        }
    })
    .await;

    println!("== {name}: calling tickets for up to {secs} s");
    let staff = Arc::new(staff);
    let call = run_phase(clients, secs, {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        move |i, _| {
            let (client, base, token, staff) =
                (client.clone(), base.clone(), token.clone(), staff.clone());
            async move {
                let (agent, counter) = &staff[i];
                let r = client
                    .post(format!(
                        "{base}/api/v1/tenants/demo/agents/{agent}/call-next"
                    ))
                    .bearer_auth(&token)
                    .json(&json!({"counter_id": counter}))
                    .send()
                    .await;
                match r.map(|r| r.status().as_u16()) {
                    Ok(200) => Outcome::Done,
                    // Every issued ticket has been called.
                    Ok(404) => Outcome::Exhausted,
                    _ => Outcome::Failed,
                }
            }
        }
    })
    .await;

    let _ = stop_tx.send(());
    server
        .join()
        .map_err(|_| anyhow::anyhow!("server thread panicked"))??;
    Ok(BackendResult { name, issue, call })
}

/// One agent (skills for every demo service) and one counter per client.
async fn staff(
    app: &sq_app::App,
    seed: &DemoSeed,
    n: usize,
) -> anyhow::Result<Vec<(String, String)>> {
    let sys = Principal::system();
    let meta = RequestMeta::default();
    let mut out = Vec::new();
    for i in 0..n {
        let counter = app
            .create_counter(
                &sys,
                &seed.tenant,
                NewCounter {
                    site_id: seed.site.id,
                    name: format!("Bench {i}").parse()?,
                },
                &meta,
            )
            .await?;
        let agent = app
            .create_agent(
                &sys,
                &seed.tenant,
                NewAgent {
                    site_id: seed.site.id,
                    user_id: None,
                    name: format!("Bench agent {i}").parse()?,
                    skills: seed
                        .services
                        .iter()
                        .map(|s| sq_domain::model::Skill {
                            service_id: s.id,
                            weight: 100,
                        })
                        .collect(),
                },
                &meta,
            )
            .await?;
        out.push((agent.id.to_string(), counter.id.to_string()));
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Done,
    Failed,
    /// Nothing left to do: the loop stops (not an error).
    Exhausted,
}

/// Runs `clients` loops of `op(client_index, iteration)` for `secs` seconds. A loop stops
/// early when its work is exhausted or after 20 consecutive failures.
async fn run_phase<F, Fut>(clients: usize, secs: u64, op: F) -> Phase
where
    F: Fn(usize, usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = Outcome> + Send,
{
    let start = Instant::now();
    let cpu0 = process_cpu_secs();
    let deadline = start + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for i in 0..clients {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors, mut streak, mut n) = (Vec::new(), 0usize, 0, 0usize);
            while Instant::now() < deadline && streak < 20 {
                let t = Instant::now();
                match op(i, n).await {
                    Outcome::Done => {
                        lat.push(t.elapsed());
                        streak = 0;
                    }
                    Outcome::Failed => {
                        errors += 1;
                        streak += 1;
                    }
                    Outcome::Exhausted => break,
                }
                n += 1;
            }
            (lat, errors, Instant::now())
        }));
    }
    let (mut latencies, mut errors, mut end) = (Vec::new(), 0, start);
    for t in tasks {
        let (l, e, done) = t.await.expect("client task");
        latencies.extend(l);
        errors += e;
        end = end.max(done);
    }
    latencies.sort();
    let secs = (end - start).as_secs_f64();
    Phase {
        ops: latencies.len(),
        errors,
        secs,
        latencies,
        cores_busy: (process_cpu_secs() - cpu0) / secs,
    }
}

/// TPC-B with pgbench in a scratch database: `-i -s 10`, then `-c 8 -j 2 -T 30`.
async fn pgbench(admin_url: &str) -> anyhow::Result<f64> {
    let db = format!("sq_pgbench_{}", uuid_simple());
    pg_exec(admin_url, &format!("CREATE DATABASE \"{db}\"")).await?;
    let url = with_database(admin_url, &db);
    let secs = env_u64("BENCH_PGBENCH_SECS", 30).to_string();
    println!("\n== pgbench: initialising scale 10");
    let result = (|| -> anyhow::Result<f64> {
        let init = Command::new("pgbench")
            .args(["-i", "-s", "10", "-q", &url])
            .output()
            .context("running pgbench (install postgresql-client)")?;
        if !init.status.success() {
            bail!(
                "pgbench -i failed: {}",
                String::from_utf8_lossy(&init.stderr)
            );
        }
        println!("== pgbench: TPC-B -c 8 -j 2 -T {secs}");
        let run = Command::new("pgbench")
            .args(["-c", "8", "-j", "2", "-T", &secs, &url])
            .output()?;
        let out = String::from_utf8_lossy(&run.stdout);
        if !run.status.success() {
            bail!(
                "pgbench failed: {out}{}",
                String::from_utf8_lossy(&run.stderr)
            );
        }
        out.lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("tps = ")
                    .and_then(|r| r.split_whitespace().next())
                    .and_then(|n| n.parse::<f64>().ok())
            })
            .with_context(|| format!("no tps line in pgbench output:\n{out}"))
    })();
    let _ = pg_exec(
        admin_url,
        &format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"),
    )
    .await;
    result
}

async fn pg_exec(url: &str, sql: &str) -> anyhow::Result<()> {
    let mut c = sqlx::PgConnection::connect(url)
        .await
        .context("connecting to PostgreSQL")?;
    sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
        .execute(&mut c)
        .await
        .with_context(|| sql.to_owned())?;
    c.close().await?;
    Ok(())
}

fn with_database(url: &str, db: &str) -> String {
    let (head, query) = url
        .split_once('?')
        .map_or((url, None), |(h, q)| (h, Some(q)));
    let after = head.find("://").map_or(0, |i| i + 3);
    let end = head[after..].find('/').map_or(head.len(), |i| after + i);
    match query {
        Some(q) => format!("{}/{db}?{q}", &head[..end]),
        None => format!("{}/{db}", &head[..end]),
    }
}

fn print_table(results: &[BackendResult], tpcb: Option<f64>, clients: usize) {
    println!(
        "\n{clients} concurrent clients over HTTP/1.1 keep-alive; cores = CPU of this process (server + clients; not PostgreSQL's) ÷ wall time ({} cores here)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "| backend    | operation      |    ops/s |      ops | errors | p50 ms | p95 ms | p99 ms | cores |"
    );
    println!(
        "|------------|----------------|---------:|---------:|-------:|-------:|-------:|-------:|------:|"
    );
    for r in results {
        for (op, p) in [("issue ticket", &r.issue), ("call-next", &r.call)] {
            println!(
                "| {:<10} | {:<14} | {:>8.0} | {:>8} | {:>6} | {:>6.1} | {:>6.1} | {:>6.1} | {:>5.2} |",
                r.name,
                op,
                p.rate(),
                p.ops,
                p.errors,
                p.pct(0.50),
                p.pct(0.95),
                p.pct(0.99),
                p.cores_busy
            );
        }
    }
    if let Some(tps) = tpcb {
        println!(
            "| PostgreSQL | pgbench TPC-B  | {tps:>8.0} |          |        |        |        |        |       |"
        );
    }
    println!("\nTargets (issue 2 §9, 2-core machine):");
    let ok = |b: bool| if b { "PASS" } else { "MISS" };
    if let Some(s) = results.iter().find(|r| r.name == "SQLite") {
        println!(
            "  SQLite tickets/s ≥ 1,500:          {:>8.0}  {}",
            s.issue.rate(),
            ok(s.issue.rate() >= 1500.0)
        );
    }
    if let (Some(p), Some(tps)) = (results.iter().find(|r| r.name == "PostgreSQL"), tpcb) {
        let ratio = p.issue.rate() / tps;
        println!(
            "  PostgreSQL tickets/s ÷ TPC-B ≥ 0.5: {ratio:>8.2}  {} ({:.0} / {tps:.0})",
            ok(ratio >= 0.5),
            p.issue.rate()
        );
    }
    for r in results {
        for (op, p) in [("issue", &r.issue), ("call-next", &r.call)] {
            println!(
                "  {} {op} p99 ≤ 50 ms:{:>width$.1}  {}",
                r.name,
                p.pct(0.99),
                ok(p.pct(0.99) <= 50.0),
                width = 24 - r.name.len() - op.len()
            );
        }
    }
}
