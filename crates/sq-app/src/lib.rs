//! SmartQueue's use cases. The web layer (and the CLI) call these with a [`Principal`] and
//! the request's [`RequestMeta`]; each checks the principal's scope and tenant, builds the
//! audit context and runs one store transaction. Positions and ETAs are computed here from
//! the pure domain rules, so every edge reports them the same way.

mod auth;
mod error;
pub mod messaging;
mod queue;
mod web;

pub use auth::{AuthConfig, LoginLimiter, NewLogin, Principal, TokenPair, hash_password};
pub use error::AppError;
pub use messaging::{ChannelCipher, Hook, Messaging, NewChannelRequest, NotifySettings};
pub use queue::MAX_CHOSEN_QUEUES;
pub use queue::{QueueOverview, TicketView};
pub use web::{DeviceSession, SESSION_TTL};

use chrono::{DateTime, Utc};
use sq_domain::audit::AuditContext;
use sq_domain::model::Tenant;
use sq_domain::{SiteId, TenantId, TenantSlug};
use sq_store::Store;
use std::fmt::Debug;
use std::sync::Arc;

/// Time comes from a port so tests can pin it.
pub trait Clock: Send + Sync + Debug + 'static {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// What changed, as a [`ChangeBus`] signal names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Change {
    /// The tenant's tickets (its ticket event feed grew).
    Tickets(TenantId),
    /// The announcements of one of the tenant's sites (display tickers).
    Announcements(TenantId, SiteId),
}

impl Change {
    pub fn tenant(self) -> TenantId {
        match self {
            Self::Tickets(t) | Self::Announcements(t, _) => t,
        }
    }
}

/// The wire form between nodes: `<tenant>` (tickets, the original form, so nodes of the
/// previous version still understand it) or `<tenant> announcements <site>`.
impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Tickets(t) => write!(f, "{t}"),
            Self::Announcements(t, s) => write!(f, "{t} announcements {s}"),
        }
    }
}

impl std::str::FromStr for Change {
    type Err = ();
    fn from_str(s: &str) -> std::result::Result<Self, ()> {
        let mut parts = s.split(' ');
        let tenant: TenantId = parts.next().ok_or(())?.parse().map_err(drop)?;
        match (parts.next(), parts.next(), parts.next()) {
            (None, _, _) => Ok(Self::Tickets(tenant)),
            (Some("announcements"), Some(site), None) => {
                Ok(Self::Announcements(tenant, site.parse().map_err(drop)?))
            }
            _ => Err(()),
        }
    }
}

/// Tells every node (and every part of this one) that a tenant's data changed, so live
/// pages and the notifier read the ticket event feed (or a display its announcements) now
/// instead of at their next poll. A hint, never the data: the database stays the source of
/// truth, so a lost signal only costs latency. In-process by default ([`LocalBus`]); the
/// server swaps in Redis pub/sub when `REDIS_URL` is set, so a call made on one node wakes
/// the others.
pub trait ChangeBus: Send + Sync + Debug + 'static {
    fn publish(&self, change: Change);
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Change>;
}

/// The in-process [`ChangeBus`].
#[derive(Debug, Clone)]
pub struct LocalBus(tokio::sync::broadcast::Sender<Change>);

impl Default for LocalBus {
    fn default() -> Self {
        Self(tokio::sync::broadcast::channel(4096).0)
    }
}

impl LocalBus {
    /// The sender, for a bus that also delivers signals from elsewhere (Redis).
    pub fn sender(&self) -> &tokio::sync::broadcast::Sender<Change> {
        &self.0
    }
}

impl ChangeBus for LocalBus {
    fn publish(&self, change: Change) {
        // No subscriber yet is fine: nobody needs waking.
        let _ = self.0.send(change);
    }
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Change> {
        self.0.subscribe()
    }
}

/// Where a request came from, for the audit log.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// The application: the store and clock ports plus the auth settings.
#[derive(Debug, Clone)]
pub struct App {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// Change signals: published after every ticket and announcement write made through
    /// these use cases.
    pub bus: Arc<dyn ChangeBus>,
    auth: Arc<AuthConfig>,
    limiter: Arc<LoginLimiter>,
    /// Tenants by slug, as found. Every API request names its tenant by slug; a tenant never
    /// changes once created (nothing updates or deletes one), so a found tenant is kept
    /// and the lookup costs a database round trip only the first time on each node.
    tenants: Arc<std::sync::RwLock<std::collections::HashMap<TenantSlug, Tenant>>>,
}

pub type Result<T, E = AppError> = std::result::Result<T, E>;

impl App {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, auth: AuthConfig) -> Self {
        Self {
            store,
            clock,
            bus: Arc::new(LocalBus::default()),
            auth: Arc::new(auth),
            limiter: Arc::new(LoginLimiter::default()),
            tenants: Arc::default(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn ctx(&self, p: &Principal, meta: &RequestMeta) -> AuditContext {
        AuditContext {
            actor: p.actor.clone(),
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
            at: sq_domain::audit::truncate_micros(self.now()),
        }
    }

    /// Resolves a tenant slug for a principal. Another tenant is reported as not found
    /// (never forbidden), so ids and slugs of other tenants leak nothing.
    pub async fn tenant_for(&self, p: &Principal, slug: &str) -> Result<Tenant> {
        let slug: TenantSlug = slug.parse().map_err(|_| AppError::NotFound("tenant"))?;
        let known = self
            .tenants
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&slug)
            .cloned();
        let tenant = match known {
            Some(t) => t,
            None => {
                let t = self
                    .store
                    .tenant_by_slug(&slug)
                    .await?
                    .ok_or(AppError::NotFound("tenant"))?;
                self.tenants
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(slug, t.clone());
                t
            }
        };
        if p.may_access(tenant.id) {
            Ok(tenant)
        } else {
            Err(AppError::NotFound("tenant"))
        }
    }

    /// Checks the database.
    pub async fn health(&self) -> Result<()> {
        Ok(self.store.health().await?)
    }
}
