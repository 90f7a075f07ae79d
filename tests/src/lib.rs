//! Black-box test harness for SmartQueue (ARCHITECTURE §9).
//!
//! [`spawn_app`] starts the real server in-process through `sq_server::Application`, on
//! `127.0.0.1:0`, with a fresh database: a SQLite file in a temporary directory, or — when
//! `TEST_DATABASE_URL` is set — a new PostgreSQL database `sq_bb_<uuid>` created for the
//! test and dropped afterwards (best effort). Tests then speak HTTP only, through typed
//! helpers ([`TestApp::login`], [`Session::create_ticket`], [`Session::call_next`], …).
//!
//! [`backend_tests!`] writes each test twice, as `sqlite::name` and `postgres::name`; the
//! PostgreSQL variant prints a skip notice and passes when `TEST_DATABASE_URL` is unset.
//!
//! This crate names `sqlx` (allowed by `.ci/check-deps`): it creates and drops the scratch
//! PostgreSQL databases and tampers with rows behind the server's back.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sq_server::{Application, Config, DemoSeed, SeedOutcome};
use sqlx::{AssertSqlSafe, Connection};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tokio::sync::oneshot;

pub use reqwest;
pub use serde_json;
pub use sq_server;

/// The demo channels' shared secret in tests.
pub const PHONE_SECRET: &str = "test-phone-secret";

/// Another node of a [`TestApp`] (see [`TestApp::second_node`]).
#[derive(Debug)]
pub struct Node {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    _stop: oneshot::Sender<()>,
}

/// The simulated providers of one test: send as a customer with [`Phones::send`], read
/// what the customer received with [`Phones::wait_for`].
#[derive(Debug)]
pub struct Phones {
    pub sim: sq_sim::Sim,
    /// `http://127.0.0.1:PORT` of the simulators.
    pub base: String,
    _stop: oneshot::Sender<()>,
}

impl Phones {
    /// A customer action on `channel` (`whatsapp`, `twilio`, `at-sms`, `at-ussd`,
    /// `hubtel-ussd`, `telegram`); returns the simulator's report (deliveries, USSD screen).
    pub async fn send(&self, channel: &str, req: sq_sim::InboundRequest) -> Value {
        self.sim
            .inbound(channel, req)
            .await
            .unwrap_or_else(|e| panic!("simulated {channel} inbound: {e}"))
    }

    /// The first accepted message to `to` on `channel` whose text contains `needle` (bidi
    /// isolation marks aside), within 10 s; panics with everything received otherwise.
    pub async fn wait_for(&self, channel: &str, to: &str, needle: &str) -> sq_sim::Recorded {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let found = self
                .sim
                .messages(Some(channel), Some(to))
                .into_iter()
                .find(|m| {
                    m.error.is_none()
                        && m.text.as_deref().is_some_and(|t| plain(t).contains(needle))
                });
            if let Some(mut m) = found {
                m.text = m.text.map(|t| plain(&t));
                return m;
            }
            if tokio::time::Instant::now() >= deadline {
                panic!(
                    "{to} got no {channel} message containing {needle:?}; got: {:#?}",
                    self.texts(channel, to)
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Texts of the accepted messages to `to` on `channel`, oldest first, without bidi
    /// isolation marks.
    pub fn texts(&self, channel: &str, to: &str) -> Vec<String> {
        self.sim
            .messages(Some(channel), Some(to))
            .into_iter()
            .filter(|m| m.error.is_none())
            .filter_map(|m| m.text)
            .map(|t| plain(&t))
            .collect()
    }
}

/// Text without Fluent's bidi isolation marks (kept on WhatsApp and Telegram, invisible).
pub fn plain(text: &str) -> String {
    text.replace(['\u{2068}', '\u{2069}'], "")
}

/// The number in front of `label` in a numbered menu (`2. Loans`), for SMS and USSD.
pub fn number_of(menu: &str, label: &str) -> String {
    menu.lines()
        .find_map(|l| {
            let (n, rest) = l.trim().split_once(['.', ')'])?;
            (rest.trim() == label && n.trim().parse::<u32>().is_ok()).then(|| n.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("no {label:?} in menu:\n{menu}"))
}

/// The password every demo login gets in tests.
pub const DEMO_PASSWORD: &str = "demo-password-1";

/// Which store a test app runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Writes each test for both backends: `mod sqlite { #[tokio::test] async fn name() }` and
/// `mod postgres { … }`. The body gets the spawned [`TestApp`] under the given name.
///
/// ```ignore
/// sq_tests::backend_tests! {
///     async fn health(app) {
///         assert_eq!(app.get("/api/v1/health", None).await.status, 200);
///     }
/// }
/// ```
#[macro_export]
macro_rules! backend_tests {
    ($( $(#[$m:meta])* async fn $name:ident($app:ident) $body:block )*) => {
        mod sqlite {
            #[allow(unused_imports)]
            use super::*;
            $(
                $(#[$m])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let $app = $crate::spawn_app($crate::Backend::Sqlite)
                        .await
                        .expect("SQLite is always available");
                    $body
                }
            )*
        }
        mod postgres {
            #[allow(unused_imports)]
            use super::*;
            $(
                $(#[$m])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some($app) = $crate::spawn_app($crate::Backend::Postgres).await else {
                        eprintln!(
                            "skipped postgres::{}: TEST_DATABASE_URL is not set",
                            stringify!($name)
                        );
                        return;
                    };
                    $body
                }
            )*
        }
    };
}

/// A running server with its own fresh database.
#[derive(Debug)]
pub struct TestApp {
    pub backend: Backend,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub client: reqwest::Client,
    /// The JWT secret the server signs with (tests forge expired tokens with it).
    pub jwt_secret: String,
    /// The configuration the server was built from.
    pub config: Config,
    /// The server's use-case layer, for arranging what the API cannot (a second tenant,
    /// a device login). Assertions go through HTTP.
    pub app: sq_app::App,
    /// The channels pipeline of the running server.
    pub messaging: sq_app::Messaging,
    /// The server's clock: real time plus an offset the test may move forward.
    pub clock: Arc<TestClock>,
    /// The data directory (SQLite file, jwt.secret).
    pub data_dir: tempfile::TempDir,
    /// The scratch PostgreSQL database, when on PostgreSQL.
    pub pg: Option<PgScratch>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// Starts a server on `backend`. `None` only for PostgreSQL without `TEST_DATABASE_URL`.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

/// Like [`spawn_app`], letting the test adjust the configuration first.
pub async fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Option<TestApp> {
    let pg = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(PgScratch::create().await?),
    };
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let jwt_secret = format!("test-secret-{}", uuid::Uuid::new_v4().simple());
    let mut config = Config {
        listen: "127.0.0.1:0".parse().expect("address"),
        data_dir: data_dir.path().to_path_buf(),
        database_url: pg.as_ref().map(|p| p.url.clone()),
        // The PostgreSQL pass runs with Redis too, when CI gives one (scale-out setup).
        redis_url: pg
            .as_ref()
            .and_then(|_| std::env::var("TEST_REDIS_URL").ok())
            .filter(|u| !u.is_empty()),
        jwt_secret: Some(jwt_secret.clone()),
        ..Config::default()
    };
    adjust(&mut config);
    let clock = Arc::new(TestClock::default());
    let running = start(config.clone(), clock.clone()).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client");
    Some(TestApp {
        backend,
        base: running.base,
        client,
        jwt_secret,
        config,
        app: running.app,
        messaging: running.messaging,
        clock,
        data_dir,
        pg,
        shutdown: Some(running.shutdown),
        server: Some(running.server),
    })
}

/// Real time shifted by an offset, so a test can let two minutes pass at once (flow step
/// timeouts, expiries) without waiting for them.
#[derive(Debug, Default)]
pub struct TestClock {
    offset_ms: AtomicI64,
}

impl TestClock {
    pub fn advance(&self, by: Duration) {
        self.offset_ms
            .fetch_add(by.as_millis() as i64, Ordering::SeqCst);
    }
}

impl sq_app::Clock for TestClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now() + chrono::Duration::milliseconds(self.offset_ms.load(Ordering::SeqCst))
    }
}

struct Running {
    base: String,
    app: sq_app::App,
    messaging: sq_app::Messaging,
    shutdown: oneshot::Sender<()>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn start(config: Config, clock: Arc<TestClock>) -> Running {
    let store = sq_server::open_store(&config.backend().expect("backend"))
        .await
        .expect("the store opens");
    let mut app = sq_server::build_app(&config, store).expect("the app builds");
    app.clock = clock;
    let application = Application::with_app(config, app)
        .await
        .expect("the application builds");
    let base = application.base_url();
    let app = application.app().clone();
    let messaging = application.messaging().clone();
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(application.run_until_stopped(async {
        let _ = rx.await;
    }));
    Running {
        base,
        app,
        messaging,
        shutdown: tx,
        server,
    }
}

/// Starts a server and seeds the demo tenant with [`DEMO_PASSWORD`] (the code
/// `smartqueue seed --demo` runs).
pub async fn spawn_demo(backend: Backend) -> Option<(TestApp, DemoSeed)> {
    let app = spawn_app(backend).await?;
    let seed = app.seed_demo().await;
    Some((app, seed))
}

impl TestApp {
    pub async fn seed_demo(&self) -> DemoSeed {
        match sq_server::seed_demo(&self.app, Some(DEMO_PASSWORD.into()))
            .await
            .expect("demo seed")
        {
            SeedOutcome::Seeded(s) => *s,
            SeedOutcome::AlreadyPresent(_) => panic!("the demo tenant was already there"),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Any request; `token` goes in `Authorization: Bearer`.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Resp {
        let mut rb = self.client.request(method, self.url(path));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(b);
        }
        Resp::from(rb.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> Resp {
        self.request(Method::POST, path, token, Some(body)).await
    }

    /// POSTs a raw body as `application/json` (for malformed JSON).
    pub async fn post_raw(&self, path: &str, token: Option<&str>, raw: &str) -> Resp {
        let mut rb = self
            .client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(raw.to_owned());
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        Resp::from(rb.send().await.expect("request sent")).await
    }

    /// `POST /api/v1/auth/token`, whatever the outcome.
    pub async fn try_login(&self, email: &str, password: &str) -> Resp {
        self.post_json(
            "/api/v1/auth/token",
            None,
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// Logs in (panics unless 200) and returns a session for the demo tenant's paths.
    pub async fn login(&self, email: &str, password: &str) -> Session {
        let r = self.try_login(email, password).await;
        assert_eq!(r.status, StatusCode::OK, "login of {email}: {}", r.body);
        self.session(r.str("access_token"), Some(r.str("refresh_token")), "demo")
    }

    /// A session with any credential (JWT or API key) for tenant `slug`'s paths.
    pub fn session(&self, token: String, refresh: Option<String>, slug: &str) -> Session {
        Session {
            client: self.client.clone(),
            base: self.base.clone(),
            tenant: slug.to_owned(),
            token,
            refresh,
            api_key_header: false,
        }
    }

    /// Stops the server gracefully and starts it again on the same database (and a new
    /// port): what a deploy or a crash-and-restart looks like from outside.
    pub async fn restart(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(s) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), s).await;
        }
        let running = start(self.config.clone(), self.clock.clone()).await;
        self.base = running.base;
        self.app = running.app;
        self.messaging = running.messaging;
        self.shutdown = Some(running.shutdown);
        self.server = Some(running.server);
    }

    /// A second server on the same database (and Redis, if any), on its own port: what a
    /// scaled-out deployment runs behind its load balancer. Stops when dropped.
    pub async fn second_node(&self) -> Node {
        let running = start(self.config.clone(), self.clock.clone()).await;
        Node {
            base: running.base,
            _stop: running.shutdown,
        }
    }

    /// The provider simulators on a free port, delivering webhooks to this server, with the
    /// demo tenant's six channels wired to them (seed the demo first).
    pub async fn phones(&self) -> Phones {
        let sims = sq_server::demo::Simulators::bind(
            "127.0.0.1:0".parse().expect("address"),
            &self.base,
            PHONE_SECRET,
        )
        .await
        .expect("simulators bind");
        let tenant = self
            .app
            .store
            .tenant_by_slug(&"demo".parse().expect("slug"))
            .await
            .expect("store")
            .expect("the demo tenant is seeded");
        sq_server::demo::wire_demo_channels(
            &self.messaging,
            &tenant,
            &sims.base_url(),
            PHONE_SECRET,
        )
        .await
        .expect("demo channels");
        let sim = sims.sim.clone();
        let base = sims.base_url();
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(sims.run(async {
            let _ = rx.await;
        }));
        Phones {
            sim,
            base,
            _stop: tx,
        }
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(s) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), s).await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(s) = self.server.take() {
            s.abort();
        }
    }
}

/// A response: status, headers and the body parsed as JSON (`Value::String` of the raw
/// text when it is not JSON).
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub async fn from(r: reqwest::Response) -> Self {
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone()));
        Self {
            status,
            headers,
            body,
            text,
        }
    }

    /// `error.code` of an error body, or "".
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// A string field of the body (panics with the body if absent).
    pub fn str(&self, field: &str) -> String {
        self.body[field]
            .as_str()
            .unwrap_or_else(|| panic!("no string '{field}' in {}", self.body))
            .to_owned()
    }

    pub fn id(&self) -> String {
        self.str("id")
    }

    /// Asserts the status (and, for errors, the code), showing the body on failure.
    #[track_caller]
    pub fn expect(&self, status: u16, code: Option<&str>) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status, body: {}",
            self.text
        );
        if let Some(c) = code {
            assert_eq!(self.code(), c, "unexpected error code, body: {}", self.text);
        }
        self
    }
}

/// A logged-in client (user token or API key) working in one tenant.
#[derive(Debug, Clone)]
pub struct Session {
    client: reqwest::Client,
    base: String,
    pub tenant: String,
    pub token: String,
    pub refresh: Option<String>,
    /// Send the token as `X-Api-Key` instead of `Authorization: Bearer`.
    pub api_key_header: bool,
}

impl Session {
    /// The same credential, sent as `X-Api-Key`.
    pub fn via_x_api_key(&self) -> Session {
        Session {
            api_key_header: true,
            ..self.clone()
        }
    }

    /// The same credential in another tenant's paths.
    pub fn in_tenant(&self, slug: &str) -> Session {
        Session {
            tenant: slug.to_owned(),
            ..self.clone()
        }
    }

    /// `/api/v1/tenants/{tenant}{rest}`
    pub fn t(&self, rest: &str) -> String {
        format!("/api/v1/tenants/{}{}", self.tenant, rest)
    }

    pub async fn request(&self, method: Method, path: &str, body: Option<&Value>) -> Resp {
        let mut rb = self
            .client
            .request(method, format!("{}{}", self.base, path));
        rb = if self.api_key_header {
            rb.header("x-api-key", &self.token)
        } else {
            rb.bearer_auth(&self.token)
        };
        if let Some(b) = body {
            rb = rb.json(b);
        }
        Resp::from(rb.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.request(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.request(Method::POST, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.request(Method::DELETE, path, None).await
    }

    /// POSTs a raw body as `application/json` (for malformed JSON).
    pub async fn post_raw(&self, path: &str, raw: &str) -> Resp {
        let rb = self
            .client
            .post(format!("{}{}", self.base, path))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(raw.to_owned());
        Resp::from(rb.send().await.expect("request sent")).await
    }

    // ---- tenant resources ---------------------------------------------------------------

    /// `POST …/tickets` for a walk-in at the counter.
    pub async fn create_ticket(&self, service_id: impl ToString) -> Resp {
        self.create_ticket_with(json!({
            "service_id": service_id.to_string(),
            "channel": "counter",
        }))
        .await
    }

    pub async fn create_ticket_with(&self, body: Value) -> Resp {
        self.post(&self.t("/tickets"), &body).await
    }

    pub async fn ticket(&self, id: &str) -> Resp {
        self.get(&self.t(&format!("/tickets/{id}"))).await
    }

    /// `GET …/tickets` (all statuses); panics unless 200.
    pub async fn tickets(&self) -> Vec<Value> {
        let r = self.get(&self.t("/tickets")).await;
        r.expect(200, None);
        match &r.body {
            Value::Array(a) => a.clone(),
            other => other["items"]
                .as_array()
                .or_else(|| other["tickets"].as_array())
                .cloned()
                .unwrap_or_else(|| panic!("a ticket list, got {other}")),
        }
    }

    pub async fn call_next(&self, agent_id: impl ToString, counter_id: impl ToString) -> Resp {
        self.post(
            &self.t(&format!("/agents/{}/call-next", agent_id.to_string())),
            &json!({"counter_id": counter_id.to_string()}),
        )
        .await
    }

    /// `POST …/tickets/{id}/{action}` (recall, start, close, no-show, pause, resume, cancel).
    pub async fn act(&self, ticket_id: &str, action: &str) -> Resp {
        self.post(
            &self.t(&format!("/tickets/{ticket_id}/{action}")),
            &json!({}),
        )
        .await
    }

    pub async fn transfer(&self, ticket_id: &str, to_queue: impl ToString, keep: bool) -> Resp {
        self.post(
            &self.t(&format!("/tickets/{ticket_id}/transfer")),
            &json!({"to_queue_id": to_queue.to_string(), "keep_position": keep}),
        )
        .await
    }

    pub async fn queue(&self, id: impl ToString) -> Resp {
        self.get(&self.t(&format!("/queues/{}", id.to_string())))
            .await
    }

    pub async fn create_service(&self, site_id: impl ToString, name: &str) -> Resp {
        self.post(
            &self.t("/services"),
            &json!({
                "site_id": site_id.to_string(),
                "name": name,
                "sla_target_secs": 900,
                "expected_duration_secs": 300,
            }),
        )
        .await
    }

    pub async fn create_queue(&self, service_id: impl ToString, name: &str, prefix: &str) -> Resp {
        self.post(
            &self.t("/queues"),
            &json!({
                "service_id": service_id.to_string(),
                "name": name,
                "prefix": prefix,
            }),
        )
        .await
    }

    pub async fn create_api_key(&self, name: &str, scopes: &[&str]) -> Resp {
        self.post(
            &self.t("/api-keys"),
            &json!({"name": name, "scopes": scopes}),
        )
        .await
    }
}

/// A PostgreSQL database made for one test and dropped (best effort) with it.
#[derive(Debug)]
pub struct PgScratch {
    /// The server's `TEST_DATABASE_URL` (connects to the maintenance database).
    pub admin_url: String,
    pub name: String,
    /// `admin_url` pointing at the scratch database.
    pub url: String,
}

impl PgScratch {
    /// `None` when `TEST_DATABASE_URL` is unset.
    pub async fn create() -> Option<Self> {
        let admin_url = std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())?;
        let name = format!("sq_bb_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(&admin_url)
            .await
            .expect("TEST_DATABASE_URL is set but PostgreSQL cannot be reached");
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await
            .expect("CREATE DATABASE");
        let _ = conn.close().await;
        let url = with_database(&admin_url, &name);
        Some(Self {
            admin_url,
            name,
            url,
        })
    }

    /// Runs raw SQL in the scratch database as the admin login (no row-level security).
    pub async fn execute(&self, sql: &str) -> u64 {
        let mut conn = sqlx::PgConnection::connect(&self.url)
            .await
            .expect("connect to the scratch database");
        let done = sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
            .execute(&mut conn)
            .await
            .expect(sql);
        let _ = conn.close().await;
        done.rows_affected()
    }
}

impl Drop for PgScratch {
    fn drop(&mut self) {
        // Drop cannot await, and the test's runtime may be shutting down: use a thread
        // with its own runtime. FORCE ends the server's pooled connections.
        let (admin, name) = (self.admin_url.clone(), self.name.clone());
        let dropper = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::raw_sql(AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                    )))
                    .execute(&mut c)
                    .await;
                    let _ = c.close().await;
                }
            });
        });
        let _ = dropper.join();
    }
}

/// `url` with its database path replaced by `db` (query string kept).
pub fn with_database(url: &str, db: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let after_scheme = head.find("://").map_or(0, |i| i + 3);
    let host_end = head[after_scheme..]
        .find('/')
        .map_or(head.len(), |i| after_scheme + i);
    let mut out = format!("{}/{}", &head[..host_end], db);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Runs raw SQL against a test app's database behind the server's back (SQLite file or
/// scratch PostgreSQL database). Returns the rows affected.
pub async fn raw_sql(app: &TestApp, sql: &str) -> u64 {
    match &app.pg {
        Some(pg) => pg.execute(sql).await,
        None => {
            let path = app.data_dir.path().join("smartqueue.db");
            let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
                .await
                .expect("open the SQLite file");
            let done = sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
                .execute(&mut conn)
                .await
                .expect(sql);
            let _ = conn.close().await;
            done.rows_affected()
        }
    }
}

/// An HS256 access token for `claims`, signed with `secret` (to forge expired tokens).
pub fn sign_jwt(secret: &str, claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_is_replaced_in_urls() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    }
}
