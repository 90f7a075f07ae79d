//! The queue model: tenants → sites → services → queues → counters, agents with skills,
//! contacts and their consent. Tickets live in [`crate::ticket`].

use crate::ids::*;
use crate::policy::QueuePolicy;
use crate::values::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: TenantSlug,
    pub name: Name,
    pub default_locale: Locale,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Site {
    pub id: SiteId,
    pub tenant_id: TenantId,
    pub name: Name,
    pub timezone: TimeZone,
    pub locale: Locale,
    pub created_at: DateTime<Utc>,
}

/// What customers come for. The SLA target is the longest acceptable wait; the expected
/// duration seeds the ETA estimator until real service times are observed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Service {
    pub id: ServiceId,
    pub tenant_id: TenantId,
    pub site_id: SiteId,
    pub name: Name,
    pub sla_target_secs: u32,
    pub expected_duration_secs: u32,
    /// EWMA of observed service times (seconds); starts at `expected_duration_secs`.
    pub ewma_service_secs: f64,
    pub created_at: DateTime<Utc>,
}

crate::values::str_enum!(
    /// Open queues issue tickets; paused queues keep calling but issue none; closed do neither.
    QueueStatus { Open = "open", Paused = "paused", Closed = "closed" } "invalid_queue_status"
);

crate::values::str_enum!(
    /// Offline agents do not count as serving a service (the ETA is unknown without them).
    AgentStatus { Available = "available", Serving = "serving", Paused = "paused", Offline = "offline" } "invalid_agent_status"
);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Queue {
    pub id: QueueId,
    pub tenant_id: TenantId,
    pub site_id: SiteId,
    pub service_id: ServiceId,
    pub name: Name,
    pub prefix: QueuePrefix,
    pub policy: QueuePolicy,
    pub status: QueueStatus,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Counter {
    pub id: CounterId,
    pub tenant_id: TenantId,
    pub site_id: SiteId,
    /// What the display shows and announces ("3", "Cash 2").
    pub name: Name,
    pub created_at: DateTime<Utc>,
}

/// An agent serves the services it has a skill for; the weight (1–100) ranks queues when
/// the agent serves several (higher is preferred).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skill {
    pub service_id: ServiceId,
    pub weight: u8,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    pub id: AgentId,
    pub tenant_id: TenantId,
    pub site_id: SiteId,
    pub user_id: Option<UserId>,
    pub name: Name,
    pub skills: Vec<Skill>,
    pub status: AgentStatus,
    pub created_at: DateTime<Utc>,
}

impl Agent {
    pub fn weight_for(&self, service: ServiceId) -> Option<u8> {
        self.skills
            .iter()
            .find(|s| s.service_id == service && s.weight > 0)
            .map(|s| s.weight)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Consent {
    pub channel: Channel,
    pub granted: bool,
    pub at: DateTime<Utc>,
}

/// One person per tenant, whatever channel they write from (matched by phone number).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub id: ContactId,
    pub tenant_id: TenantId,
    pub phone: Option<PhoneNumber>,
    pub name: Option<Name>,
    pub locale: Option<Locale>,
    pub consents: Vec<Consent>,
    pub created_at: DateTime<Utc>,
}

/// A staff or platform login. `tenant_id` is `None` only for super admins.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub tenant_id: Option<TenantId>,
    pub email: Email,
    pub role: Role,
    /// For `device` users: the one site they may read.
    pub site_id: Option<SiteId>,
    pub created_at: DateTime<Utc>,
}
