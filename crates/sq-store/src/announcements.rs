//! The announcements port (issue 5): lines a site's displays show in their ticker, each
//! optionally limited to a window of time. A port of its own, like messaging, so each
//! backend keeps it in its own module.

use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sq_domain::audit::AuditContext;
use sq_domain::{AnnouncementId, AnnouncementText, SiteId, TenantId};

/// An announcement to publish. The window is checked by the use case (`ends_at` after
/// `starts_at`); either end may be open.
#[derive(Clone, Debug)]
pub struct NewAnnouncement {
    pub site_id: SiteId,
    pub text: AnnouncementText,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
}

/// A stored announcement; it is also what the audit log records of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Announcement {
    pub id: AnnouncementId,
    pub tenant_id: TenantId,
    pub site_id: SiteId,
    pub text: AnnouncementText,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl Announcement {
    /// Shown at `at`: started (or no start) and not yet ended (the end is exclusive).
    pub fn is_active(&self, at: DateTime<Utc>) -> bool {
        self.starts_at.is_none_or(|s| s <= at) && self.ends_at.is_none_or(|e| at < e)
    }
}

#[async_trait]
pub trait AnnouncementStore: Send + Sync {
    /// Publishes an announcement on one of the tenant's sites (audited
    /// `announcement.create`); a site of another tenant is `NotFound("site")`.
    async fn create_announcement(
        &self,
        tenant: TenantId,
        a: NewAnnouncement,
        ctx: &AuditContext,
    ) -> Result<Announcement>;
    /// A site's announcements in publication order (`created_at`, then id); with
    /// `active_at`, only those [`Announcement::is_active`] then. Another tenant's site has
    /// none.
    async fn announcements(
        &self,
        tenant: TenantId,
        site: SiteId,
        active_at: Option<DateTime<Utc>>,
    ) -> Result<Vec<Announcement>>;
    /// Deletes one (audited `announcement.delete`, the row as it was in `before`) and
    /// returns it; another tenant's or an unknown one is `NotFound("announcement")`.
    async fn delete_announcement(
        &self,
        tenant: TenantId,
        id: AnnouncementId,
        ctx: &AuditContext,
    ) -> Result<Announcement>;
}
