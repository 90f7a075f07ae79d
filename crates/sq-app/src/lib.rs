//! SmartQueue's use cases. The web layer (and the CLI) call these with a [`Principal`] and
//! the request's [`RequestMeta`]; each checks the principal's scope and tenant, builds the
//! audit context and runs one store transaction. Positions and ETAs are computed here from
//! the pure domain rules, so every edge reports them the same way.

mod auth;
mod error;
mod queue;
mod web;

pub use auth::{AuthConfig, LoginLimiter, NewLogin, Principal, TokenPair, hash_password};
pub use error::AppError;
pub use queue::{QueueOverview, TicketView};
pub use web::{DeviceSession, SESSION_TTL};

use chrono::{DateTime, Utc};
use sq_domain::TenantSlug;
use sq_domain::audit::AuditContext;
use sq_domain::model::Tenant;
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
    auth: Arc<AuthConfig>,
    limiter: Arc<LoginLimiter>,
}

pub type Result<T, E = AppError> = std::result::Result<T, E>;

impl App {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, auth: AuthConfig) -> Self {
        Self {
            store,
            clock,
            auth: Arc::new(auth),
            limiter: Arc::new(LoginLimiter::default()),
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
        let tenant = self
            .store
            .tenant_by_slug(&slug)
            .await?
            .ok_or(AppError::NotFound("tenant"))?;
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
