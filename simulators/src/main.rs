//! `sq-sim`: run the fake providers standalone.

use std::collections::HashMap;

use anyhow::Context;
use clap::{Parser, Subcommand};
use sq_sim::{Sim, SimConfig};

#[derive(Debug, Parser)]
#[command(
    name = "sq-sim",
    version,
    about = "Fake WhatsApp, Twilio, Africa's Talking, Hubtel and Telegram servers for SmartQueue"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the fake provider APIs and the simulator control API (/sim/api/...).
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8025", env = "SQ_SIM_LISTEN")]
        listen: String,
        /// SmartQueue base URL; channel webhooks go to {base}/hooks/demo-<channel>.
        #[arg(long, env = "SQ_SIM_WEBHOOK_BASE")]
        webhook_base: Option<String>,
        /// Shared secret: WhatsApp app secret, Twilio auth token, Telegram secret token.
        #[arg(long, default_value = "demo-secret", env = "SQ_SIM_SECRET")]
        secret: String,
        /// Per-channel webhook URL, e.g. --webhook at-ussd=http://127.0.0.1:8080/hooks/x
        #[arg(long = "webhook", value_parser = parse_kv)]
        webhooks: Vec<(String, String)>,
        /// Do not send sent/delivered/read statuses after accepted sends.
        #[arg(long)]
        no_auto_statuses: bool,
        /// WhatsApp phone_number_id put in inbound webhooks' metadata.
        #[arg(long, default_value = "106540352242922")]
        whatsapp_phone_number_id: String,
    },
    /// Dial a USSD code against the application, like a feature phone (interactive, or
    /// scripted with --input).
    Ussd {
        /// The application's USSD webhook URL.
        #[arg(long)]
        url: String,
        /// The code to dial.
        #[arg(long, default_value = "*384*1#")]
        dial: String,
        #[arg(long, default_value = "+254711000111")]
        phone: String,
        /// Gateway dialect: `at` (Africa's Talking) or `hubtel`.
        #[arg(long, default_value = "at")]
        provider: String,
        /// Scripted mode: answer each screen with these inputs in order.
        #[arg(long = "input")]
        inputs: Vec<String>,
    },
    /// N virtual customers per channel against the application; prints latency percentiles
    /// (webhook round trip, and inbound → first outbound message at the fake API).
    Load {
        /// SmartQueue base URL (channel webhooks at {base}/hooks/demo-<channel>).
        #[arg(long)]
        webhook_base: String,
        /// Channels to load: whatsapp, twilio, at-sms, telegram, at-ussd, hubtel-ussd.
        #[arg(long = "channel", default_value = "whatsapp")]
        channels: Vec<String>,
        /// Virtual customers per channel.
        #[arg(long, default_value_t = 10)]
        customers: u32,
        /// Messages (or USSD hops after the dial) per customer.
        #[arg(long, default_value_t = 3)]
        messages: u32,
        /// Total messages per second across everything (0 = as fast as possible).
        #[arg(long, default_value_t = 0.0)]
        rate: f64,
        /// Text each customer sends (USSD: the input at each hop).
        #[arg(long, default_value = "1")]
        text: String,
        /// USSD code to dial.
        #[arg(long, default_value = "*384*1#")]
        dial: String,
        /// Where the fake provider APIs listen (the application sends its replies here).
        #[arg(long, default_value = "127.0.0.1:8025")]
        listen: String,
        #[arg(long, default_value = "demo-secret", env = "SQ_SIM_SECRET")]
        secret: String,
        /// How long to wait for a reply to each message.
        #[arg(long, default_value_t = 5000)]
        reply_timeout_ms: u64,
    },
    /// A WhatsApp phone in the terminal (`#id` taps a reply button, `##id` a list row).
    Whatsapp(ChatArgs),
    /// An SMS phone in the terminal (Twilio dialect).
    Sms(ChatArgs),
    /// A Telegram client in the terminal (`#data` taps an inline button).
    Telegram(ChatArgs),
}

/// A terminal phone for one chat channel.
#[derive(Debug, clap::Args)]
struct ChatArgs {
    /// The application's webhook URL for this channel.
    #[arg(long)]
    webhook: String,
    /// Sender: phone number (E.164) or Telegram user id.
    #[arg(long)]
    from: String,
    /// Where the fake provider API listens (point the application's API base here).
    #[arg(long, default_value = "127.0.0.1:8025")]
    listen: String,
    /// WhatsApp app secret / Twilio auth token / Telegram secret token.
    #[arg(long, default_value = "demo-secret", env = "SQ_SIM_SECRET")]
    secret: String,
    /// Scripted mode: send these lines in order (waiting --wait-ms after each), then exit.
    #[arg(long = "say")]
    say: Vec<String>,
    /// Scripted mode: how long to wait for replies after each line.
    #[arg(long, default_value_t = 1500)]
    wait_ms: u64,
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    let (k, v) = s.split_once('=').ok_or("expected CHANNEL=URL")?;
    Ok((k.to_owned(), v.to_owned()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            listen,
            webhook_base,
            secret,
            webhooks,
            no_auto_statuses,
            whatsapp_phone_number_id,
        } => {
            let config = SimConfig {
                webhook_base,
                webhooks: webhooks.into_iter().collect::<HashMap<_, _>>(),
                secret,
                auto_statuses: !no_auto_statuses,
                whatsapp_phone_number_id,
                ..SimConfig::default()
            };
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("binding {listen}"))?;
            let addr = listener.local_addr()?;
            tracing::info!(%addr, "sq-sim listening");
            println!("sq-sim: fake provider APIs on http://{addr} — phones at http://{addr}/sim/");
            let shutdown = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            sq_sim::serve(listener, Sim::new(config), shutdown).await?;
        }
        Command::Ussd {
            url,
            dial,
            phone,
            provider,
            inputs,
        } => phone::ussd(url, dial, phone, provider, inputs).await?,
        Command::Load {
            webhook_base,
            channels,
            customers,
            messages,
            rate,
            text,
            dial,
            listen,
            secret,
            reply_timeout_ms,
        } => {
            let config = SimConfig {
                webhook_base: Some(webhook_base),
                secret,
                auto_statuses: false,
                ..SimConfig::default()
            };
            let plan = load::Plan {
                channels,
                customers,
                messages,
                rate,
                text,
                dial,
                reply_timeout: std::time::Duration::from_millis(reply_timeout_ms),
            };
            load::run(config, &listen, plan).await?;
        }
        Command::Whatsapp(a) => phone::chat("whatsapp", a).await?,
        Command::Sms(a) => phone::chat("twilio", a).await?,
        Command::Telegram(a) => phone::chat("telegram", a).await?,
    }
    Ok(())
}

mod phone {
    //! Terminal phones: a thin loop over the simulator's Rust API.

    use std::collections::HashMap;
    use std::io::{BufRead, Write};
    use std::time::Duration;

    use anyhow::{Context, bail};
    use serde_json::Value;
    use sq_sim::{IdTitle, InboundRequest, Sim, SimConfig};

    use super::ChatArgs;

    fn read_line(prompt: &str) -> Option<String> {
        print!("{prompt}");
        let _ = std::io::stdout().flush();
        let mut line = String::new();
        match std::io::stdin().lock().read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim_end_matches(['\r', '\n']).to_owned()),
        }
    }

    pub async fn ussd(
        url: String,
        dial: String,
        phone: String,
        provider: String,
        inputs: Vec<String>,
    ) -> anyhow::Result<()> {
        let channel = match provider.as_str() {
            "at" => "at-ussd",
            "hubtel" => "hubtel-ussd",
            other => bail!("unknown USSD provider {other} (at | hubtel)"),
        };
        let sim = Sim::new(SimConfig {
            webhooks: HashMap::from([(channel.to_owned(), url)]),
            ..SimConfig::default()
        });
        let scripted = !inputs.is_empty();
        let mut inputs = inputs.into_iter();
        let mut req = InboundRequest {
            from: phone,
            dial: Some(dial),
            ..InboundRequest::default()
        };
        loop {
            let screen = sim.inbound(channel, req.clone()).await?;
            println!("┌────────────────────────────");
            for line in screen["screen"].as_str().unwrap_or_default().lines() {
                println!("│ {line}");
            }
            println!("└────────────────────────────");
            if let Some(e) = screen["error"].as_str() {
                eprintln!("(protocol error: {e})");
                if scripted {
                    bail!("USSD protocol error: {e}");
                }
            }
            if screen["ended"].as_bool().unwrap_or(true) {
                return Ok(());
            }
            let input = if scripted {
                match inputs.next() {
                    Some(i) => {
                        println!("> {i}");
                        i
                    }
                    None => return Ok(()),
                }
            } else {
                match read_line("> ") {
                    Some(i) => i,
                    None => return Ok(()),
                }
            };
            req = InboundRequest {
                session_id: screen["session_id"].as_str().map(str::to_owned),
                text: Some(input),
                ..InboundRequest::default()
            };
        }
    }

    fn show(m: &Value) {
        let text = m["text"].as_str().unwrap_or_default();
        println!("◀ {text}");
        let body = &m["body"];
        // WhatsApp buttons and list rows, Telegram inline keyboards.
        for b in body["interactive"]["action"]["buttons"]
            .as_array()
            .into_iter()
            .flatten()
        {
            println!(
                "   [#{}] {}",
                b["reply"]["id"].as_str().unwrap_or_default(),
                b["reply"]["title"].as_str().unwrap_or_default()
            );
        }
        for s in body["interactive"]["action"]["sections"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for r in s["rows"].as_array().into_iter().flatten() {
                println!(
                    "   [#{}] {}",
                    r["id"].as_str().unwrap_or_default(),
                    r["title"].as_str().unwrap_or_default()
                );
            }
        }
        for row in body["params"]["reply_markup"]["inline_keyboard"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for b in row.as_array().into_iter().flatten() {
                if let Some(d) = b["callback_data"].as_str() {
                    println!("   [#{d}] {}", b["text"].as_str().unwrap_or_default());
                }
            }
        }
    }

    pub async fn chat(channel: &'static str, a: ChatArgs) -> anyhow::Result<()> {
        let sim = Sim::new(SimConfig {
            webhooks: HashMap::from([(channel.to_owned(), a.webhook.clone())]),
            secret: a.secret.clone(),
            auto_statuses: true,
            ..SimConfig::default()
        });
        let listener = tokio::net::TcpListener::bind(&a.listen)
            .await
            .with_context(|| format!("binding {}", a.listen))?;
        eprintln!(
            "fake {channel} API on http://{} — type a message, #id to tap a button, Ctrl-D to quit",
            listener.local_addr()?
        );
        tokio::spawn(sq_sim::serve(listener, sim.clone(), std::future::pending()));
        // Print what the application sends to this phone as it arrives.
        let watcher = sim.clone();
        let me = a.from.clone();
        tokio::spawn(async move {
            let mut seen = 0;
            loop {
                let msgs = watcher.messages(Some(channel), Some(&me));
                for m in msgs.iter().skip(seen) {
                    if m.error.is_none() {
                        show(&serde_json::to_value(m).unwrap_or_default());
                    }
                }
                seen = msgs.len();
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        let scripted = !a.say.is_empty();
        let mut script = a.say.clone().into_iter();
        loop {
            let line = if scripted {
                match script.next() {
                    Some(l) => {
                        println!("▶ {l}");
                        l
                    }
                    None => return Ok(()),
                }
            } else {
                match tokio::task::spawn_blocking(|| read_line("")).await? {
                    Some(l) => l,
                    None => return Ok(()),
                }
            };
            let mut req = InboundRequest {
                from: a.from.clone(),
                ..InboundRequest::default()
            };
            match (channel, line.strip_prefix('#')) {
                ("telegram", Some(data)) => req.callback_data = Some(data.to_owned()),
                ("whatsapp", Some(id)) => {
                    let pick = IdTitle {
                        id: id.trim_start_matches('#').to_owned(),
                        title: id.trim_start_matches('#').to_owned(),
                    };
                    // `#id` taps a reply button, `##id` picks a list row.
                    if id.starts_with('#') {
                        req.list_reply = Some(pick);
                    } else {
                        req.button_reply = Some(pick);
                    }
                }
                _ => req.text = Some(line),
            }
            let out = sim.inbound(channel, req).await?;
            for d in out["deliveries"].as_array().into_iter().flatten() {
                let status = d["status"].as_u64().unwrap_or(0);
                if !(200..300).contains(&status) {
                    eprintln!(
                        "(webhook answered {status}: {})",
                        d["body"].as_str().unwrap_or_default()
                    );
                }
            }
            if scripted {
                tokio::time::sleep(Duration::from_millis(a.wait_ms)).await;
            }
        }
    }
}

mod load {
    //! `sq-sim load`: virtual customers, latency percentiles.

    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use anyhow::Context;
    use sq_sim::{InboundRequest, Sim, SimConfig};

    #[derive(Debug)]
    pub struct Plan {
        pub channels: Vec<String>,
        pub customers: u32,
        pub messages: u32,
        pub rate: f64,
        pub text: String,
        pub dial: String,
        pub reply_timeout: Duration,
    }

    #[derive(Debug, Default)]
    struct Stats {
        webhook_ms: Vec<f64>,
        reply_ms: Vec<f64>,
        errors: u64,
        no_reply: u64,
    }

    fn address(channel: &str, c: u32) -> String {
        match channel {
            "telegram" => (500_000_000 + u64::from(c)).to_string(),
            _ => format!("+23320{:07}", c),
        }
    }

    fn pct(v: &mut [f64], p: f64) -> f64 {
        if v.is_empty() {
            return f64::NAN;
        }
        v.sort_by(f64::total_cmp);
        let i = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
        v[i.min(v.len() - 1)]
    }

    async fn customer(
        sim: Sim,
        channel: String,
        c: u32,
        plan: Arc<Plan>,
        stats: Arc<Mutex<Stats>>,
        pace: Arc<tokio::sync::Mutex<Option<tokio::time::Interval>>>,
    ) {
        let from = address(&channel, c);
        let ussd = channel.ends_with("-ussd");
        let mut session: Option<String> = None;
        let hops = if ussd {
            plan.messages + 1
        } else {
            plan.messages
        };
        for m in 0..hops {
            if let Some(t) = pace.lock().await.as_mut() {
                t.tick().await;
            }
            let mut req = InboundRequest {
                from: from.clone(),
                ..InboundRequest::default()
            };
            if ussd {
                match (&session, m) {
                    (None, 0) => req.dial = Some(plan.dial.clone()),
                    (Some(s), _) => {
                        req.session_id = Some(s.clone());
                        req.text = Some(plan.text.clone());
                    }
                    (None, _) => break,
                }
            } else {
                req.text = Some(plan.text.clone());
            }
            let before = sim.accepted_count(&channel, &from);
            let t0 = Instant::now();
            let res = sim.inbound(&channel, req).await;
            let webhook = t0.elapsed().as_secs_f64() * 1000.0;
            let ok = res.as_ref().is_ok_and(|v| {
                v["deliveries"].as_array().is_some_and(|d| {
                    d.iter()
                        .all(|d| (200..300).contains(&d["status"].as_u64().unwrap_or(0)))
                }) && v["error"].is_null()
            });
            {
                let mut st = stats.lock().unwrap_or_else(|e| e.into_inner());
                st.webhook_ms.push(webhook);
                if !ok {
                    st.errors += 1;
                }
            }
            if ussd {
                let v = res.unwrap_or_default();
                session = (!v["ended"].as_bool().unwrap_or(true))
                    .then(|| v["session_id"].as_str().unwrap_or_default().to_owned());
                continue;
            }
            let replied = sim
                .wait_past(&channel, &from, before, plan.reply_timeout)
                .await;
            let mut st = stats.lock().unwrap_or_else(|e| e.into_inner());
            if replied {
                st.reply_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
            } else {
                st.no_reply += 1;
            }
        }
    }

    pub async fn run(config: SimConfig, listen: &str, plan: Plan) -> anyhow::Result<()> {
        let sim = Sim::new(config);
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding {listen}"))?;
        tokio::spawn(sq_sim::serve(listener, sim.clone(), std::future::pending()));
        let plan = Arc::new(plan);
        let pace = Arc::new(tokio::sync::Mutex::new((plan.rate > 0.0).then(|| {
            let mut i = tokio::time::interval(Duration::from_secs_f64(1.0 / plan.rate));
            i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            i
        })));
        let started = Instant::now();
        let mut report = Vec::new();
        let mut tasks = Vec::new();
        for channel in &plan.channels {
            let stats = Arc::new(Mutex::new(Stats::default()));
            for c in 0..plan.customers {
                tasks.push(tokio::spawn(customer(
                    sim.clone(),
                    channel.clone(),
                    c,
                    plan.clone(),
                    stats.clone(),
                    pace.clone(),
                )));
            }
            report.push((channel.clone(), stats));
        }
        for t in tasks {
            let _ = t.await;
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{:<12} {:>6} {:>8} {:>9}  {:>19}  {:>16}",
            "channel", "sent", "errors", "no_reply", "webhook p50/p99 ms", "reply p50/p99 ms"
        );
        for (channel, stats) in report {
            let mut st = stats.lock().unwrap_or_else(|e| e.into_inner());
            let n = st.webhook_ms.len();
            let (w50, w99) = (pct(&mut st.webhook_ms, 50.0), pct(&mut st.webhook_ms, 99.0));
            let (r50, r99) = (pct(&mut st.reply_ms, 50.0), pct(&mut st.reply_ms, 99.0));
            // USSD replies come inline: the webhook round trip is the hop time.
            let reply = if st.reply_ms.is_empty() {
                "-".to_owned()
            } else {
                format!("{r50:.1} / {r99:.1}")
            };
            println!(
                "{channel:<12} {n:>6} {:>8} {:>9}  {:>19}  {reply:>16}",
                st.errors,
                st.no_reply,
                format!("{w50:.1} / {w99:.1}")
            );
        }
        println!("elapsed {secs:.1}s");
        Ok(())
    }
}
