//! Channel figures (issue 4 §9), on the real server and the provider simulators over HTTP:
//!
//! 1. **WhatsApp**: customers send at 200 messages/s for `BENCH_SECS`; latency from the
//!    signed webhook leaving the simulator to the reply arriving at the fake Graph API
//!    (target p99 ≤ 100 ms).
//! 2. **USSD**: 500 concurrent Africa's Talking sessions (dial + 3 hops each, started over
//!    one second, each customer taking 0.5–1.5 s to read a screen and answer, as people
//!    do): the time of each hop's HTTP round trip, which bounds the server time from above
//!    (target p99 ≤ 50 ms). About 400 hops/s at the peak.
//! 3. **Timers**: customers waiting on a 2-minute step timeout; the server clock is moved
//!    so their timers fall due over a few seconds of real time; lateness is the "are you
//!    still there?" arriving at the fake API minus the due time (target p99 ≤ 1 s).
//!
//! ```text
//! cargo bench -p sq-server --bench channels
//! ```
//!
//! Knobs: `BENCH_SECS` (WhatsApp phase, default 10), `BENCH_RATE` (default 200),
//! `BENCH_USSD` (concurrent sessions, default 500), `BENCH_TIMERS` (default 300). SQLite in a
//! temporary directory; the server runs on its own runtime, as if it were another process.

use anyhow::Context;
use sq_server::demo::{Simulators, wire_demo_channels};
use sq_server::{Application, Config, SeedOutcome};
use sq_sim::{IdTitle, InboundRequest, Sim};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

const SECRET: &str = "bench-secret";

fn env_u64(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Real time plus an offset the benchmark moves (timer phase).
#[derive(Debug, Default)]
struct ShiftedClock(AtomicI64);

impl sq_app::Clock for ShiftedClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now() + chrono::Duration::milliseconds(self.0.load(Ordering::SeqCst))
    }
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn report(name: &str, v: &mut [f64], target: &str) {
    let (p50, p95, p99) = (pct(v, 0.50), pct(v, 0.95), pct(v, 0.99));
    let max = v.last().copied().unwrap_or(f64::NAN);
    println!(
        "| {name} | {} | {p50:.1} | {p95:.1} | {p99:.1} | {max:.1} | {target} |",
        v.len()
    );
}

fn main() -> anyhow::Result<()> {
    let secs = env_u64("BENCH_SECS", 10);
    let rate = env_u64("BENCH_RATE", 200);
    let ussd = env_u64("BENCH_USSD", 500) as usize;
    let timers = env_u64("BENCH_TIMERS", 300) as usize;
    println!(
        "SmartQueue channel benchmark, {} profile",
        if cfg!(debug_assertions) {
            "debug (numbers are not meaningful)"
        } else {
            "release"
        }
    );
    let dir = tempfile::tempdir()?;
    let clock = Arc::new(ShiftedClock::default());
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server_clock = clock.clone();
    let data_dir = dir.path().to_path_buf();
    let server = std::thread::spawn(move || -> anyhow::Result<()> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        rt.block_on(async move {
            let config = Config {
                listen: "127.0.0.1:0".parse()?,
                data_dir,
                quiet_hours: "off".into(),
                metrics: false,
                ..Config::default()
            };
            let store = sq_server::open_store(&config.backend()?).await?;
            let mut app = sq_server::build_app(&config, store)?;
            app.clock = server_clock;
            let application = Application::with_app(config, app).await?;
            let base = application.base_url();
            let tenant =
                match sq_server::seed_demo(application.app(), Some("bench-password-1".into()))
                    .await?
                {
                    SeedOutcome::Seeded(s) => s.tenant,
                    SeedOutcome::AlreadyPresent(t) => t,
                };
            let sims = Simulators::bind("127.0.0.1:0".parse()?, &base, SECRET).await?;
            wire_demo_channels(application.messaging(), &tenant, &sims.base_url(), SECRET).await?;
            let sim = sims.sim.clone();
            let (sim_stop, sim_stopped) = tokio::sync::oneshot::channel::<()>();
            tokio::spawn(sims.run(async {
                let _ = sim_stopped.await;
            }));
            let _ = ready_tx.send(sim);
            application
                .run_until_stopped(async {
                    let _ = stop_rx.await;
                })
                .await?;
            let _ = sim_stop.send(());
            Ok(())
        })
    });
    let sim: Sim = ready_rx
        .recv()
        .context("the server did not start (see its error)")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    println!("\n| phase | samples | p50 ms | p95 ms | p99 ms | max ms | target |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | --- |");
    rt.block_on(async {
        let mut v = whatsapp(&sim, secs, rate).await;
        report(
            &format!("WhatsApp inbound → reply at the API, {rate} msg/s"),
            &mut v,
            "p99 ≤ 100 ms",
        );
        let mut v = ussd_hops(&sim, ussd).await;
        report(
            &format!("USSD hop round trip, {ussd} concurrent sessions"),
            &mut v,
            "p99 ≤ 50 ms",
        );
        let mut v = timer_lateness(&sim, &clock, timers).await;
        report(
            &format!("Step-timeout lateness, {timers} timers"),
            &mut v,
            "p99 ≤ 1000 ms",
        );
    });
    let _ = stop_tx.send(());
    server
        .join()
        .map_err(|_| anyhow::anyhow!("server thread panicked"))??;
    Ok(())
}

fn phone(prefix: u64, i: usize) -> String {
    format!("+2547{prefix:02}{i:06}")
}

/// Sends `text` as `to` and waits for the next accepted message; its latency in ms.
async fn round(sim: &Sim, channel: &str, req: InboundRequest) -> Option<f64> {
    let to = req.from.clone();
    let seen = sim.accepted_count(channel, &to);
    let t0 = Instant::now();
    sim.inbound(channel, req).await.ok()?;
    sim.wait_past(channel, &to, seen, Duration::from_secs(10))
        .await
        .then(|| t0.elapsed().as_secs_f64() * 1000.0)
}

async fn whatsapp(sim: &Sim, secs: u64, rate: u64) -> Vec<f64> {
    // Each customer sends once a second; `rate` customers make `rate` messages a second.
    let customers = rate as usize;
    let mut tasks = Vec::new();
    for i in 0..customers {
        let sim = sim.clone();
        tasks.push(tokio::spawn(async move {
            // Spread the customers over the second.
            tokio::time::sleep(Duration::from_micros(1_000_000 * i as u64 / rate.max(1))).await;
            let me = phone(10, i);
            let mut out = Vec::new();
            let start = tokio::time::Instant::now();
            for n in 0..secs {
                tokio::time::sleep_until(start + Duration::from_secs(n)).await;
                // The menu, then taps on "Help" (which answers and shows the menu again).
                let req = if n == 0 {
                    InboundRequest {
                        from: me.clone(),
                        text: Some("hi".into()),
                        ..Default::default()
                    }
                } else {
                    InboundRequest {
                        from: me.clone(),
                        button_reply: Some(IdTitle {
                            id: "help".into(),
                            title: "Help".into(),
                        }),
                        ..Default::default()
                    }
                };
                if let Some(ms) = round(&sim, "whatsapp", req).await {
                    out.push(ms);
                }
            }
            out
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap_or_default());
    }
    all
}

async fn ussd_hops(sim: &Sim, sessions: usize) -> Vec<f64> {
    let mut tasks = Vec::new();
    for i in 0..sessions {
        let sim = sim.clone();
        tasks.push(tokio::spawn(async move {
            use rand::Rng;
            let think = || Duration::from_millis(rand::rng().random_range(500..1500));
            tokio::time::sleep(Duration::from_micros(
                1_000_000 * i as u64 / sessions as u64,
            ))
            .await;
            let me = phone(20, i);
            let mut out = Vec::new();
            let t0 = Instant::now();
            let Ok(r) = sim
                .inbound(
                    "at-ussd",
                    InboundRequest {
                        from: me.clone(),
                        dial: Some("*384*1#".into()),
                        ..Default::default()
                    },
                )
                .await
            else {
                return out;
            };
            out.push(t0.elapsed().as_secs_f64() * 1000.0);
            let session = r["session_id"].as_str().unwrap_or_default().to_owned();
            // Join a queue → Deposits → no name: three hops and a ticket.
            for input in ["1", "1", "2"] {
                tokio::time::sleep(think()).await;
                let t0 = Instant::now();
                if sim
                    .inbound(
                        "at-ussd",
                        InboundRequest {
                            from: me.clone(),
                            session_id: Some(session.clone()),
                            text: Some(input.into()),
                            ..Default::default()
                        },
                    )
                    .await
                    .is_ok()
                {
                    out.push(t0.elapsed().as_secs_f64() * 1000.0);
                }
            }
            out
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap_or_default());
    }
    all
}

async fn timer_lateness(sim: &Sim, clock: &ShiftedClock, n: usize) -> Vec<f64> {
    // Customers reach the service choice (a 2-minute step timeout) over about 3 s.
    let mut waits = Vec::new();
    let mut tasks = Vec::new();
    for i in 0..n {
        let sim = sim.clone();
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_micros(
                3_000_000 * i as u64 / n.max(1) as u64,
            ))
            .await;
            let me = phone(30, i);
            let req = InboundRequest {
                from: me.clone(),
                text: Some("join".into()),
                ..Default::default()
            };
            // The timer starts after the message leaves: dating it from the send makes the
            // measured lateness an upper bound.
            let sent = chrono::Utc::now().timestamp_millis();
            round(&sim, "whatsapp", req).await?;
            Some((me, sent))
        }));
    }
    for t in tasks {
        if let Ok(Some(w)) = t.await {
            waits.push(w);
        }
    }
    // From now on the server is 117 s ahead: timers fall due 3 s of real time after their
    // prompts, as the prompts went out.
    const SHIFT_MS: i64 = 117_000;
    clock.0.store(SHIFT_MS, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut late = Vec::new();
    let mut pending = waits;
    while !pending.is_empty() && Instant::now() < deadline {
        pending.retain(|(me, prompted)| {
            let fired = sim
                .messages(Some("whatsapp"), Some(me))
                .into_iter()
                .find(|m| {
                    m.error.is_none()
                        && m.text.as_deref().is_some_and(|t| t.contains("still there"))
                });
            match fired {
                Some(m) => {
                    let due = prompted + 120_000 - SHIFT_MS;
                    late.push((m.time - due).max(0) as f64);
                    false
                }
                None => true,
            }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if !pending.is_empty() {
        println!("({} timers did not fire within 30 s)", pending.len());
    }
    late
}
