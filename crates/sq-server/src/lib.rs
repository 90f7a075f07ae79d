//! SmartQueue's top: configuration, the storage backend choice, the [`Application`] that
//! binds a listener and serves the web router, and what the `smartqueue` binary's commands
//! do (demo seeding, audit verification).
//!
//! This is the only crate that knows which backends exist: everything above the store sees
//! `Arc<dyn Store>`. The binary (`src/main.rs`) is a thin clap layer over this library, so
//! the black-box tests start exactly what `smartqueue serve` starts.

pub mod bus;
mod config;
pub mod demo;
pub mod flows_cmd;
mod secret;
mod seed;
mod telemetry;

pub use config::{Backend, CONFIG_TABLE, Config, DEFAULT_CONFIG_FILE, redact_url};
pub use secret::{CHANNEL_KEY_FILE, JWT_SECRET_FILE, channel_key, jwt_secret};
pub use seed::{DEMO_TENANT, DemoSeed, SeedOutcome, generate_password, seed_demo};
pub use telemetry::{init_tracing, metrics_handle, shutdown_signal};

use anyhow::Context;
use sq_app::{App, AuthConfig, ChannelCipher, Messaging, NotifySettings, Principal, SystemClock};
use sq_domain::audit::BrokenLink;
use sq_store::Store;
use sq_web::WebState;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Opens (and migrates) the configured store. SQLite creates its directory first.
pub async fn open_store(backend: &Backend) -> anyhow::Result<Arc<dyn Store>> {
    match backend {
        Backend::Sqlite(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            let store = sq_store_sqlite::SqliteStore::open(path)
                .await
                .with_context(|| format!("opening SQLite database {}", path.display()))?;
            Ok(Arc::new(store))
        }
        Backend::Postgres { url, app_url } => {
            let store = sq_store_postgres::PostgresStore::connect_with(url, app_url.as_deref())
                .await
                .with_context(|| format!("connecting to PostgreSQL {}", redact_url(url)))?;
            Ok(Arc::new(store))
        }
    }
}

/// Builds the use-case layer over an opened store: the system clock and the auth settings
/// (JWT secret from the configuration or `<data_dir>/jwt.secret`).
pub fn build_app(config: &Config, store: Arc<dyn Store>) -> anyhow::Result<App> {
    let secret = jwt_secret(config)?;
    let mut auth = AuthConfig::new(secret);
    auth.access_ttl = chrono::Duration::seconds(config.access_token_ttl_secs as i64);
    auth.refresh_ttl = chrono::Duration::seconds(config.refresh_token_ttl_secs as i64);
    Ok(App::new(store, Arc::new(SystemClock), auth))
}

/// Opens the store and builds the [`App`]: what every command but `serve` needs.
pub async fn open_app(config: &Config) -> anyhow::Result<App> {
    config.validate()?;
    let store = open_store(&config.backend()?).await?;
    build_app(config, store)
}

/// A server ready to run: the listener is bound (so [`Application::port`] is known before
/// serving, which is what tests with port 0 need) and the store opened and migrated.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    state: WebState,
    config: Config,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let app = open_app(&config).await?;
        Self::with_app(config, app).await
    }

    /// Like [`Application::build`] over an [`App`] built by the caller (tests pin the clock
    /// or share a store this way).
    pub async fn with_app(config: Config, mut app: App) -> anyhow::Result<Self> {
        if let Some(url) = &config.redis_url {
            let bus = bus::RedisBus::connect(url)
                .await
                .with_context(|| format!("Redis at {}", redact_url(url)))?;
            app.bus = Arc::new(bus);
        }
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let addr = listener.local_addr()?;
        let metrics = if config.metrics {
            let handle = metrics_handle();
            let render: sq_web::MetricsRender = Arc::new(move || handle.render());
            Some(render)
        } else {
            None
        };
        let cipher = ChannelCipher::from_secret(&channel_key(&config)?);
        let notify = NotifySettings {
            quiet_hours: config.quiet_hours()?,
            ussd_resume: std::time::Duration::from_secs(config.ussd_resume_secs),
            ..NotifySettings::default()
        };
        let messaging = Messaging::new(app.clone(), cipher, notify)
            .context("starting the messaging pipeline")?;
        let state = WebState::new(app, metrics)
            .with_live_poll(std::time::Duration::from_millis(config.live_poll_ms))
            .with_messaging(messaging, config.public_url.clone());
        Ok(Self {
            listener,
            addr,
            state,
            config,
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (the unspecified address is shown as loopback).
    pub fn base_url(&self) -> String {
        let host = if self.addr.ip().is_unspecified() {
            "127.0.0.1".to_owned()
        } else {
            match self.addr {
                SocketAddr::V4(a) => a.ip().to_string(),
                SocketAddr::V6(a) => format!("[{}]", a.ip()),
            }
        };
        format!("http://{host}:{}", self.addr.port())
    }

    pub fn app(&self) -> &App {
        &self.state.app
    }

    /// The channels pipeline (webhooks, outbox, notifications).
    pub fn messaging(&self) -> &Messaging {
        self.state
            .messaging
            .as_ref()
            .expect("Application always builds the messaging pipeline")
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        // Histograms of the Prometheus recorder are drained by upkeep; without it their
        // buckets grow for ever.
        let upkeep = self.state.metrics.is_some().then(|| {
            let handle = metrics_handle();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
                loop {
                    tick.tick().await;
                    handle.run_upkeep();
                }
            })
        });
        // One shutdown signal for the HTTP server and the messaging workers.
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let messaging = self.messaging().clone();
        let recovery = messaging.clone();
        tokio::spawn(async move {
            if let Err(e) = recovery.recover().await {
                tracing::error!(error = %e, "answering inbound messages left from before a restart");
            }
        });
        let workers = tokio::spawn(messaging.run(stopped(stop_rx.clone())));
        let router = sq_web::router(self.state);
        let served = sq_web::serve(self.listener, router, stopped(stop_rx)).await;
        let _ = workers.await;
        if let Some(u) = upkeep {
            u.abort();
        }
        served.context("serving HTTP")
    }
}

/// What `smartqueue audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditReport {
    /// Every row links to the previous one and matches its hash.
    Intact {
        rows: usize,
    },
    Broken(BrokenLink),
}

/// Verifies a tenant's audit chain by slug.
pub async fn verify_audit(app: &App, slug: &str) -> anyhow::Result<AuditReport> {
    let tenant = app
        .tenant_for(&Principal::system(), slug)
        .await
        .with_context(|| format!("tenant '{slug}'"))?;
    Ok(match app.verify_audit(&tenant).await? {
        Ok(rows) => AuditReport::Intact { rows },
        Err(b) => AuditReport::Broken(b),
    })
}
