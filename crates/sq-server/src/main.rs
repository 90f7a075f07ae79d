//! The `smartqueue` binary: a thin clap layer over the `sq_server` library.

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use sq_server::demo::{Simulators, wire_demo_channels};
use sq_server::{
    Application, AuditReport, CONFIG_TABLE, Config, SeedOutcome, init_tracing, open_app,
    redact_url, seed_demo, shutdown_signal, verify_audit,
};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

const AFTER_HELP: &str = "\
Configuration: defaults < smartqueue.toml (or --config) < environment (SQ_*, DATABASE_URL) < flags.
Run `smartqueue config` to see every key, its variable and its effective value.

Examples:
  smartqueue serve --demo                      # SQLite in ./data, demo tenant, http://127.0.0.1:8080
  smartqueue serve --listen 0.0.0.0:8080 --log-json
  DATABASE_URL=postgres://sq@db/sq SQ_JWT_SECRET=... smartqueue serve
  smartqueue seed --demo --admin-password 'change-me-now'
  smartqueue migrate
  smartqueue audit verify --tenant demo";

/// SmartQueue: a multi-tenant, messaging-first queue and appointment service.
#[derive(Debug, Parser)]
#[command(name = "smartqueue", version, after_help = AFTER_HELP)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct GlobalArgs {
    /// Configuration file [default: ./smartqueue.toml if it exists]
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Data directory: SQLite database and generated JWT secret [env: SQ_DATA_DIR] [default: ./data]
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Log JSON lines instead of text [env: SQ_LOG_JSON]
    #[arg(long, global = true)]
    log_json: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server until Ctrl-C or SIGTERM (then finish in-flight requests).
    #[command(
        after_help = "Examples:\n  smartqueue serve\n  smartqueue serve --demo --admin-password 'change-me-now'\n  smartqueue serve --listen 0.0.0.0:8080 --data-dir /var/lib/smartqueue --log-json"
    )]
    Serve(ServeArgs),
    /// Create demo data through the audited use cases.
    #[command(
        after_help = "Examples:\n  smartqueue seed --demo\n  smartqueue seed --demo --admin-password 'change-me-now'"
    )]
    Seed(SeedArgs),
    /// Open the database and apply pending migrations, then exit.
    #[command(
        after_help = "Examples:\n  smartqueue migrate\n  DATABASE_URL=postgres://postgres@127.0.0.1/smartqueue smartqueue migrate"
    )]
    Migrate,
    /// Audit log tools.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Print the configuration keys, their environment variables and effective values.
    Config,
    /// Flow templates: validate, run their transcript tests, preview per channel.
    #[command(subcommand)]
    Flows(sq_server::flows_cmd::FlowsCommand),
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on [env: SQ_LISTEN] [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Seed the demo tenant first if it does not exist, and print URLs and logins
    #[arg(long)]
    demo: bool,
    /// Password for every demo login (with --demo) [default: generated and printed]
    #[arg(long, value_name = "P", requires = "demo")]
    admin_password: Option<String>,
    /// Where the demo's provider simulators listen (with --demo) [default: port 8025, or a
    /// free port when --listen has port 0]
    #[arg(long, value_name = "ADDR", requires = "demo")]
    sim_listen: Option<SocketAddr>,
    /// The demo channels' shared secret: WhatsApp app secret, Twilio auth token, Telegram
    /// secret token (with --demo)
    #[arg(
        long,
        value_name = "S",
        requires = "demo",
        default_value = "demo-secret"
    )]
    demo_secret: String,
}

#[derive(Debug, Args)]
struct SeedArgs {
    /// Seed the demo tenant "demo" (Demo Bank): site, 3 services and queues, 3 counters,
    /// admin@demo.test, agent1..3@demo.test and root@demo.test (super admin)
    #[arg(long, required = true)]
    demo: bool,
    /// Password for every demo login [default: generated and printed]
    #[arg(long, value_name = "P")]
    admin_password: Option<String>,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check a tenant's hash-chained audit log; exits 1 naming the first broken row.
    #[command(after_help = "Examples:\n  smartqueue audit verify --tenant demo")]
    Verify {
        /// The tenant's slug
        #[arg(long, value_name = "SLUG")]
        tenant: String,
    },
}

fn config_for(global: &GlobalArgs) -> anyhow::Result<Config> {
    let mut c = Config::load(global.config.as_deref())?;
    if let Some(d) = &global.data_dir {
        c.data_dir = d.clone();
    }
    if global.log_json {
        c.log_json = true;
    }
    Ok(c)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // Flow tools read files only: no configuration, database or logging needed.
    if let Command::Flows(cmd) = cli.command {
        let ok = sq_server::flows_cmd::run(cmd)?;
        return Ok(if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let mut config = config_for(&cli.global)?;
    if let Command::Serve(a) = &cli.command
        && let Some(l) = a.listen
    {
        config.listen = l;
    }
    init_tracing(&config.log_filter, config.log_json)?;
    config.validate()?;
    match cli.command {
        Command::Serve(a) => serve(config, a).await,
        Command::Seed(a) => {
            debug_assert!(a.demo);
            let app = open_app(&config).await?;
            match seed_demo(&app, a.admin_password).await? {
                SeedOutcome::Seeded(s) => print!("{}", s.summary(None)),
                SeedOutcome::AlreadyPresent(t) => {
                    println!(
                        "The demo tenant '{}' exists already; nothing changed.",
                        t.slug
                    )
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let backend = config.backend()?;
            let store = sq_server::open_store(&backend).await?;
            let m = store.migrations();
            if m.applied.is_empty() {
                println!(
                    "Up to date: all {} migrations were already applied.",
                    m.known.len()
                );
            } else {
                println!(
                    "Applied {} of {} migrations:",
                    m.applied.len(),
                    m.known.len()
                );
                for (version, description) in m.known.iter().filter(|(v, _)| m.applied.contains(v))
                {
                    println!("  {version:04} {description}");
                }
            }
            match backend {
                sq_server::Backend::Sqlite(p) => {
                    println!("SQLite database {} is migrated and ready.", p.display())
                }
                sq_server::Backend::Postgres { url, .. } => {
                    println!(
                        "PostgreSQL database {} is migrated and ready.",
                        redact_url(&url)
                    )
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit(AuditCommand::Verify { tenant }) => {
            let app = open_app(&config).await?;
            match verify_audit(&app, &tenant).await? {
                AuditReport::Intact { rows } => {
                    println!("ok: {rows} rows");
                    Ok(ExitCode::SUCCESS)
                }
                AuditReport::Broken(b) => {
                    println!("broken: {b}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Flows(_) => unreachable!("handled before the configuration is loaded"),
        Command::Config => {
            let shown = toml::to_string_pretty(&Config {
                jwt_secret: config.jwt_secret.as_ref().map(|_| "<redacted>".into()),
                database_url: config.database_url.as_deref().map(redact_url),
                database_app_url: config.database_app_url.as_deref().map(redact_url),
                channel_key: config.channel_key.as_ref().map(|_| "<redacted>".into()),
                redis_url: config.redis_url.as_deref().map(redact_url),
                ..config.clone()
            })
            .context("rendering the configuration")?;
            println!("# key | environment | default | meaning");
            for (k, env, default, meaning) in CONFIG_TABLE {
                println!("# {k} | {env} | {default} | {meaning}");
            }
            println!("\n# effective values\n{shown}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn serve(config: Config, a: ServeArgs) -> anyhow::Result<ExitCode> {
    let application = Application::build(config).await?;
    let base = application.base_url();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    if a.demo {
        let tenant = match seed_demo(application.app(), a.admin_password).await? {
            SeedOutcome::Seeded(s) => {
                print!("{}", s.summary(Some(&base)));
                s.tenant
            }
            SeedOutcome::AlreadyPresent(t) => {
                println!(
                    "The demo tenant '{}' exists already (logins unchanged). API: {base}/api/v1/health",
                    t.slug
                );
                // Device keys are stored hashed: pair a new display or kiosk to get one.
                println!(
                    "Web: {base}/console  {base}/supervisor  {base}/admin/devices (pair a display or kiosk)"
                );
                t
            }
        };
        // The simulators follow the server's port choice: fixed by default, free with port 0.
        let sim_listen = a.sim_listen.unwrap_or_else(|| {
            let mut l = application.config().listen;
            if l.port() != 0 {
                l.set_port(8025);
            }
            l
        });
        let sims = Simulators::bind(sim_listen, &base, &a.demo_secret).await?;
        let sim_base = sims.base_url();
        wire_demo_channels(application.messaging(), &tenant, &sim_base, &a.demo_secret).await?;
        println!("Phones (simulated WhatsApp, SMS, USSD, Telegram): {sim_base}/sim/");
        println!(
            "  USSD from a terminal: cargo run -p sq-sim -- ussd --url {base}/hooks/demo-at-ussd --dial '*384*1#'"
        );
        tokio::spawn(sims.run(stopped(stop_rx.clone())));
    }
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    // On stdout, so scripts (and the CLI tests) can read the address when --listen has port 0.
    println!("Listening on {base}");
    tracing::info!(address = %application.local_addr(), "listening");
    application.run_until_stopped(stopped(stop_rx)).await?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}
