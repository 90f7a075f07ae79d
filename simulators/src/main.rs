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
    },
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
        } => {
            let config = SimConfig {
                webhook_base,
                webhooks: webhooks.into_iter().collect::<HashMap<_, _>>(),
                secret,
                auto_statuses: !no_auto_statuses,
                ..SimConfig::default()
            };
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("binding {listen}"))?;
            tracing::info!(addr = %listener.local_addr()?, "sq-sim listening");
            let shutdown = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            sq_sim::serve(listener, Sim::new(config), shutdown).await?;
        }
    }
    Ok(())
}
