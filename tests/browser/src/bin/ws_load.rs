//! `sq-ws-load`: how fast a call reaches thousands of display screens, and what they cost
//! the server. Starts `smartqueue serve --demo` as a child process (fresh SQLite data
//! directory), opens N WebSocket display clients on the demo display's key, then calls
//! tickets through the API and times each client's frame from the call-next request.
//! Reports p50/p99/max latency and the server's resident memory (VmRSS / VmHWM).
//!
//! ```text
//! cargo build --release -p sq-server -p sq-browser-tests
//! ulimit -n 65536
//! target/release/sq-ws-load --server target/release/smartqueue --clients 5000 --calls 20
//! ```

use anyhow::{Context, bail};
use futures::StreamExt;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

struct Args {
    server: String,
    clients: usize,
    calls: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        server: "target/release/smartqueue".into(),
        clients: 5000,
        calls: 20,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().with_context(|| format!("{k} needs a value"))?;
        match k.as_str() {
            "--server" => a.server = v,
            "--clients" => a.clients = v.parse()?,
            "--calls" => a.calls = v.parse()?,
            _ => bail!("unknown option {k} (--server PATH --clients N --calls N)"),
        }
    }
    Ok(a)
}

fn rss(pid: u32) -> (u64, u64) {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb = |key: &str| {
        s.lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (kb("VmRSS:"), kb("VmHWM:"))
}

/// The `ticket_id` of a frame, without parsing the JSON.
fn ticket_id(frame: &str) -> Option<&str> {
    let start = frame.find("\"ticket_id\":\"")? + "\"ticket_id\":\"".len();
    let len = frame[start..].find('"')?;
    Some(&frame[start..start + len])
}

/// CPU seconds (user + system) a process has used, from `/proc/<pid>/stat`.
fn cpu_secs(pid: &str) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = s.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 (1-based), i.e. 11 and 12 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let data = tempfile::tempdir()?;
    let password = "load-test-password";
    let mut child = Command::new(&a.server)
        .args([
            "serve",
            "--demo",
            "--admin-password",
            password,
            "--listen",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(data.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", a.server))?;
    let pid = child.id();
    let out = child.stdout.take().context("server stdout")?;
    let (mut base, mut key, mut agent, mut counter, mut service) = (
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
    );
    for line in BufReader::new(out).lines() {
        let line = line?;
        let w: Vec<&str> = line.split_whitespace().collect();
        if let Some(u) = line.strip_prefix("Listening on ") {
            base = u.trim().to_owned();
            break;
        }
        if w.first() == Some(&"display") && w.len() == 2 {
            key = w[1].rsplit('/').next().unwrap_or_default().to_owned();
        }
        if w.first() == Some(&"agent1@demo.test") {
            agent = w.last().unwrap_or(&"").trim_end_matches(')').to_owned();
        }
        if w.first() == Some(&"counter") && w.get(1) == Some(&"1") {
            counter = w[3].to_owned();
        }
        if w.first() == Some(&"service") && w.get(1) == Some(&"Deposits") {
            service = w[5].to_owned();
        }
    }
    if base.is_empty() || key.is_empty() || agent.is_empty() {
        bail!("could not read the demo seed from the server's output");
    }
    let http = reqwest::Client::new();
    let token = |email: &'static str| {
        let http = http.clone();
        let base = base.clone();
        async move {
            let r: Value = http
                .post(format!("{base}/api/v1/auth/token"))
                .json(&json!({ "email": email, "password": password }))
                .send()
                .await?
                .json()
                .await?;
            anyhow::Ok(r["access_token"].as_str().unwrap_or_default().to_owned())
        }
    };
    let agent_token = token("agent1@demo.test").await?;
    let (rss0, _) = rss(pid);

    // Connect the displays, 100 at a time.
    let ws_url = format!("{}/display/{key}/ws", base.replace("http://", "ws://"));
    let (tx, mut rx) = mpsc::unbounded_channel::<(String, Instant)>();
    let connected = Arc::new(AtomicUsize::new(0));
    let t_connect = Instant::now();
    let sem = Arc::new(tokio::sync::Semaphore::new(100));
    for _ in 0..a.clients {
        let (url, tx, connected, sem) =
            (ws_url.clone(), tx.clone(), connected.clone(), sem.clone());
        tokio::spawn(async move {
            let permit = sem.acquire_owned().await;
            let Ok((mut ws, _)) = tokio_tungstenite::connect_async(url.as_str()).await else {
                return;
            };
            // Connected once the snapshot arrived.
            let _ = ws.next().await;
            connected.fetch_add(1, Ordering::Relaxed);
            drop(permit);
            while let Some(Ok(m)) = ws.next().await {
                // Timestamp first; then only a substring search (the client must not be the
                // bottleneck on a 2-core machine that also runs the server).
                let now = Instant::now();
                if let Ok(text) = m.to_text()
                    && text.contains("\"kind\":\"call\"")
                    && let Some(id) = ticket_id(text)
                {
                    let _ = tx.send((id.to_owned(), now));
                }
            }
        });
    }
    drop(tx);
    while connected.load(Ordering::Relaxed) < a.clients
        && t_connect.elapsed() < Duration::from_secs(120)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let n = connected.load(Ordering::Relaxed);
    println!(
        "connected {n}/{} display clients in {:.1} s",
        a.clients,
        t_connect.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (rss_conn, _) = rss(pid);

    let auth = format!("Bearer {agent_token}");
    let (server_cpu0, client_cpu0) = (cpu_secs(&pid.to_string()), cpu_secs("self"));
    let t_calls = Instant::now();
    let t_api = |p: &str| format!("{base}/api/v1/tenants/demo{p}");
    let mut samples = Vec::with_capacity(n * a.calls);
    let mut missing = 0usize;
    for _ in 0..a.calls {
        let issued: Value = http
            .post(t_api("/tickets"))
            .header("authorization", &auth)
            .json(&json!({ "service_id": service, "channel": "counter" }))
            .send()
            .await?
            .json()
            .await?;
        let id = issued["id"]
            .as_str()
            .context("issued ticket id")?
            .to_owned();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let t0 = Instant::now();
        let r = http
            .post(t_api(&format!("/agents/{agent}/call-next")))
            .header("authorization", &auth)
            .json(&json!({ "counter_id": counter }))
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("call-next: {}", r.text().await?);
        }
        let mut got = 0;
        let deadline = t0 + Duration::from_secs(10);
        while got < n {
            match tokio::time::timeout_at(deadline.into(), rx.recv()).await {
                Ok(Some((tid, at))) if tid == id => {
                    samples.push(at - t0);
                    got += 1;
                }
                Ok(Some(_)) => {}
                _ => break,
            }
        }
        missing += n - got;
        for act in ["start", "close"] {
            http.post(t_api(&format!("/tickets/{id}/{act}")))
                .header("authorization", &auth)
                .send()
                .await?;
        }
    }
    samples.sort();
    let wall = t_calls.elapsed().as_secs_f64();
    let server_cpu = cpu_secs(&pid.to_string()) - server_cpu0;
    let client_cpu = cpu_secs("self") - client_cpu0;
    let (rss_end, hwm) = rss(pid);
    println!(
        "{} calls × {n} displays: call-next → frame p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} samples, {missing} missing)",
        a.calls,
        pct(&samples, 0.50),
        pct(&samples, 0.99),
        pct(&samples, 1.0),
        samples.len()
    );
    println!(
        "during the calls ({wall:.1} s): server CPU {server_cpu:.2} s, load-generator CPU {client_cpu:.2} s"
    );
    println!(
        "server RSS: {:.1} MB idle, {:.1} MB with {n} displays, {:.1} MB after the calls (peak {:.1} MB)",
        rss0 as f64 / 1024.0,
        rss_conn as f64 / 1024.0,
        rss_end as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
    let _ = child.kill();
    let _ = child.wait();
    Ok(())
}
