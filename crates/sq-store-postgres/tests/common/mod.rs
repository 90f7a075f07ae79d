//! A fresh database per test on the cluster named by `TEST_DATABASE_URL` (skipped, with a
//! notice, when it is unset; CI always sets it).
//!
//! Databases are called `sq_t_<uuid v7, simple>`: the v7 id carries its creation time, so
//! [`sweep`] can drop the ones a finished test left behind (older than a minute and with
//! no session) without ever touching a database a running test is using or about to use.

#![allow(dead_code)]

use sq_store_postgres::PostgresStore;
use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const PREFIX: &str = "sq_t_";

pub fn admin_url() -> Option<String> {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            eprintln!("TEST_DATABASE_URL is not set: skipping this PostgreSQL test");
            None
        }
    }
}

/// One test's database. Dropping it drops the database (`WITH (FORCE)`), best effort.
#[derive(Debug)]
pub struct TestDb {
    pub name: String,
    pub admin_url: String,
    /// The owner's URL for this database.
    pub url: String,
    pub store: Arc<PostgresStore>,
    keep: bool,
}

impl TestDb {
    /// Creates a database and connects a [`PostgresStore`] to it (running the migrations).
    pub async fn new() -> Option<TestDb> {
        let admin_url = admin_url()?;
        let (name, url) = create_database(&admin_url).await;
        let store = PostgresStore::connect(&url)
            .await
            .expect("connect and migrate");
        Some(TestDb {
            name,
            admin_url,
            url,
            store: Arc::new(store),
            keep: false,
        })
    }

    /// A URL for this database as another user (e.g. `smartqueue_app`, no password).
    pub fn url_as(&self, user: &str) -> PgConnectOptions {
        PgConnectOptions::from_str(&self.url)
            .expect("url")
            .username(user)
    }

    /// The owner (superuser in tests): sees everything, RLS does not apply.
    pub async fn admin(&self) -> PgConnection {
        PgConnection::connect(&self.url)
            .await
            .expect("admin connect")
    }

    /// Hands the store out for a test that outlives this guard (the contract suite's
    /// factory returns only the store): the database is left for [`sweep`].
    pub fn leak(mut self) -> Arc<PostgresStore> {
        self.keep = true;
        self.store.clone()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        let (admin, name) = (self.admin_url.clone(), self.name.clone());
        // Drop may run inside a runtime: do the async work on a thread of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                if let Ok(mut c) = PgConnection::connect(&admin).await {
                    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    let _ = sqlx::query(AssertSqlSafe(sql)).execute(&mut c).await;
                    let _ = c.close().await;
                }
            });
        })
        .join();
    }
}

/// Creates `sq_t_<uuid>` and returns (name, url). Sweeps stale test databases first.
pub async fn create_database(admin_url: &str) -> (String, String) {
    let mut admin = PgConnection::connect(admin_url)
        .await
        .expect("connect to TEST_DATABASE_URL");
    sweep(&mut admin, Duration::from_secs(60)).await;
    let name = format!("{PREFIX}{}", uuid::Uuid::now_v7().simple());
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut admin)
        .await
        .expect("create database");
    let _ = admin.close().await;
    let url = with_database(admin_url, &name);
    (name, url)
}

/// `admin_url` with its database replaced by `db` (query string kept).
pub fn with_database(admin_url: &str, db: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin_url, None),
    };
    // postgres://user@host:port/dbname — the path starts at the first '/' after "//".
    let scheme_end = base.find("//").map_or(0, |i| i + 2);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut url = format!("{}/{db}", &base[..host_end]);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    url
}

/// Drops test databases older than `min_age` that nobody is connected to. Never forced: a
/// database in use is skipped, whatever its age.
pub async fn sweep(admin: &mut PgConnection, min_age: Duration) {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT d.datname::text FROM pg_database d WHERE d.datname LIKE 'sq\\_t\\_%' \
         AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)",
    )
    .fetch_all(&mut *admin)
    .await
    .unwrap_or_default();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    for name in names {
        let Some(created) = uuid::Uuid::parse_str(&name[PREFIX.len()..])
            .ok()
            .and_then(|u| u.get_timestamp())
            .map(|t| Duration::from_secs(t.to_unix().0))
        else {
            continue;
        };
        if now.saturating_sub(created) >= min_age {
            let sql = format!("DROP DATABASE IF EXISTS \"{name}\"");
            let _ = sqlx::query(AssertSqlSafe(sql)).execute(&mut *admin).await;
        }
    }
}

// ---- fixtures ---------------------------------------------------------------------------

use chrono::{DateTime, TimeZone as _, Utc};
use sq_domain::audit::AuditContext;
use sq_domain::auth::Scope;
use sq_domain::model::*;
use sq_domain::policy::QueuePolicy;
use sq_domain::ticket::Ticket;
use sq_domain::*;
use sq_store::*;

pub fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, h, m, 0).unwrap()
}

pub fn ctx(t: DateTime<Utc>) -> AuditContext {
    AuditContext::system(t)
}

pub fn name(s: &str) -> Name {
    s.parse().unwrap()
}

/// One tenant with a row in every tenant-owned table the store writes.
#[derive(Debug)]
pub struct Seeded {
    pub tenant: Tenant,
    pub site: Site,
    pub service: Service,
    pub queue: Queue,
    pub counter: Counter,
    pub agent: Agent,
    pub user: User,
    pub ticket: Ticket,
    pub api_key: ApiKey,
    pub key_hash: String,
}

pub async fn seed(store: &dyn Store, slug: &str) -> Seeded {
    let c = ctx(at(8, 0));
    let tenant = store
        .create_tenant(
            NewTenant {
                slug: slug.parse().unwrap(),
                name: name(slug),
                default_locale: Locale::en(),
            },
            &c,
        )
        .await
        .unwrap();
    let t = tenant.id;
    let site = store
        .create_site(
            t,
            NewSite {
                name: name("Main"),
                timezone: "Africa/Nairobi".parse().unwrap(),
                locale: Locale::en(),
            },
            &c,
        )
        .await
        .unwrap();
    let service = store
        .create_service(
            t,
            NewService {
                site_id: site.id,
                name: name("Payments"),
                sla_target_secs: 900,
                expected_duration_secs: 300,
            },
            &c,
        )
        .await
        .unwrap();
    let queue = store
        .create_queue(
            t,
            NewQueue {
                service_id: service.id,
                name: name("Payments"),
                prefix: "A".parse().unwrap(),
                policy: QueuePolicy::default(),
            },
            &c,
        )
        .await
        .unwrap();
    let counter = store
        .create_counter(
            t,
            NewCounter {
                site_id: site.id,
                name: name("1"),
            },
            &c,
        )
        .await
        .unwrap();
    let user = store
        .create_user(
            NewUser {
                tenant_id: Some(t),
                email: format!("agent@{slug}.test").parse().unwrap(),
                password_hash: "$argon2id$fake".into(),
                role: Role::Agent,
                site_id: None,
            },
            &c,
        )
        .await
        .unwrap();
    let agent = store
        .create_agent(
            t,
            NewAgent {
                site_id: site.id,
                user_id: Some(user.id),
                name: name("Ann"),
                skills: vec![Skill {
                    service_id: service.id,
                    weight: 10,
                }],
            },
            &c,
        )
        .await
        .unwrap();
    let ticket = store
        .issue_ticket(
            t,
            IssueTicket {
                service_id: service.id,
                channel: Channel::Whatsapp,
                priority: 0,
                contact: Some(ContactInput {
                    phone: Some("+254712345678".parse().unwrap()),
                    name: Some(name("Wanjiku")),
                    locale: None,
                }),
            },
            &c,
        )
        .await
        .unwrap();
    let key_hash = format!("hash-of-{slug}-key");
    let api_key = store
        .create_api_key(
            t,
            NewApiKey {
                name: name("kiosk"),
                prefix: "sqk_abcd".into(),
                key_hash: key_hash.clone(),
                scopes: vec![Scope::ReadQueue, Scope::WriteQueue],
                created_by: Some(user.id),
            },
            &c,
        )
        .await
        .unwrap();
    // A paired display (issue 5), so the devices table is covered too.
    store
        .create_device(
            t,
            NewDevice {
                site_id: site.id,
                name: name("screen"),
                kind: DeviceKind::Display,
                prefix: "sqd_abcd".into(),
                key_hash: format!("hash-of-{slug}-device"),
            },
            &c,
        )
        .await
        .unwrap();
    // A ticker announcement (issue 5), so the announcements table is covered too.
    store
        .create_announcement(
            t,
            NewAnnouncement {
                site_id: site.id,
                text: "Welcome".parse().unwrap(),
                starts_at: None,
                ends_at: None,
            },
            &c,
        )
        .await
        .unwrap();
    Seeded {
        tenant,
        site,
        service,
        queue,
        counter,
        agent,
        user,
        ticket,
        api_key,
        key_hash,
    }
}

/// A database owned by a fresh *non-superuser* role, as in production, where FORCE ROW
/// LEVEL SECURITY binds the owner and the SECURITY DEFINER functions rely on the
/// owner-only policies. Dropped (database, then role) when this guard goes.
#[derive(Debug)]
pub struct OwnedDb {
    pub role: String,
    pub name: String,
    pub admin_url: String,
    /// The owner's URL for the database.
    pub url: String,
}

impl OwnedDb {
    pub async fn new() -> Option<OwnedDb> {
        let admin_url = admin_url()?;
        let id = uuid::Uuid::now_v7().simple().to_string();
        let (role, name) = (format!("sq_owner_{id}"), format!("{PREFIX}{id}"));
        let mut admin = PgConnection::connect(&admin_url).await.expect("admin");
        for sql in [
            format!("CREATE ROLE \"{role}\" LOGIN NOSUPERUSER NOCREATEROLE NOBYPASSRLS"),
            format!("CREATE DATABASE \"{name}\" OWNER \"{role}\""),
        ] {
            sqlx::query(AssertSqlSafe(sql))
                .execute(&mut admin)
                .await
                .expect("create owner and database");
        }
        let _ = admin.close().await;
        let url = with_database(&admin_url, &name).replacen("postgres@", &format!("{role}@"), 1);
        Some(OwnedDb {
            role,
            name,
            admin_url,
            url,
        })
    }
}

impl Drop for OwnedDb {
    fn drop(&mut self) {
        let (admin, name, role) = (self.admin_url.clone(), self.name.clone(), self.role.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                if let Ok(mut c) = PgConnection::connect(&admin).await {
                    for sql in [
                        format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
                        format!("DROP ROLE IF EXISTS \"{role}\""),
                    ] {
                        let _ = sqlx::query(AssertSqlSafe(sql)).execute(&mut c).await;
                    }
                    let _ = c.close().await;
                }
            });
        })
        .join();
    }
}
