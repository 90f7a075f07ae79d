//! The announcements port on SQLite (display tickers, issue 5). Writes go through the
//! group-commit writer with their audit row, like devices; reads use the reader pool.

use super::{SqliteStore, all, append_audit, entry};
use crate::codec::{Cols, db, key, opt_ts, ts};
use crate::row_in;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sq_domain::audit::{AuditContext, truncate_micros};
use sq_domain::{AnnouncementId, SiteId, TenantId};
use sq_store::*;
use sqlx::SqliteConnection;
use sqlx::sqlite::SqliteRow;

fn announcement_row(r: &SqliteRow) -> Result<Announcement> {
    let c = Cols(r);
    Ok(Announcement {
        id: c.id("id")?,
        tenant_id: c.id("tenant_id")?,
        site_id: c.id("site_id")?,
        text: c.parse("text")?,
        starts_at: c.opt_at("starts_at")?,
        ends_at: c.opt_at("ends_at")?,
        created_at: c.at("created_at")?,
    })
}

fn audit_value(a: &Announcement) -> Result<serde_json::Value> {
    serde_json::to_value(a).map_err(|e| StoreError::Backend(format!("encode json: {e}")))
}

#[async_trait]
impl AnnouncementStore for SqliteStore {
    async fn create_announcement(
        &self,
        tenant: TenantId,
        a: NewAnnouncement,
        ctx: &AuditContext,
    ) -> Result<Announcement> {
        let ann = Announcement {
            id: AnnouncementId::new(),
            tenant_id: tenant,
            site_id: a.site_id,
            text: a.text,
            starts_at: a.starts_at.map(truncate_micros),
            ends_at: a.ends_at.map(truncate_micros),
            created_at: truncate_micros(ctx.at),
        };
        let ctx = ctx.clone();
        self.writer
            .write(None, async move |tx: &mut SqliteConnection| {
                let site = sqlx::query("SELECT 1 FROM sites WHERE tenant_id = ? AND id = ?")
                    .bind(key(tenant.0))
                    .bind(key(ann.site_id.0))
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db)?;
                if site.is_none() {
                    return Err(StoreError::NotFound("site"));
                }
                sqlx::query(
                    "INSERT INTO announcements (id, tenant_id, site_id, text, starts_at, \
                     ends_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(key(ann.id.0))
                .bind(key(tenant.0))
                .bind(key(ann.site_id.0))
                .bind(ann.text.as_str())
                .bind(opt_ts(ann.starts_at))
                .bind(opt_ts(ann.ends_at))
                .bind(ts(ann.created_at))
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                let e = entry(
                    tenant,
                    "announcement.create",
                    "announcement",
                    ann.id,
                    None,
                    Some(audit_value(&ann)?),
                    &ctx,
                );
                append_audit(&mut *tx, e).await?;
                Ok(ann)
            })
            .await
    }

    async fn announcements(
        &self,
        tenant: TenantId,
        site: SiteId,
        active_at: Option<DateTime<Utc>>,
    ) -> Result<Vec<Announcement>> {
        let rows = sqlx::query(
            "SELECT * FROM announcements WHERE tenant_id = ?1 AND site_id = ?2 \
               AND (?3 IS NULL OR ((starts_at IS NULL OR starts_at <= ?3) \
                                   AND (ends_at IS NULL OR ?3 < ends_at))) \
             ORDER BY created_at, id",
        )
        .bind(key(tenant.0))
        .bind(key(site.0))
        .bind(opt_ts(active_at))
        .fetch_all(&self.reader)
        .await
        .map_err(db)?;
        all(rows, announcement_row)
    }

    async fn delete_announcement(
        &self,
        tenant: TenantId,
        id: AnnouncementId,
        ctx: &AuditContext,
    ) -> Result<Announcement> {
        let ctx = ctx.clone();
        self.writer
            .write(None, async move |tx: &mut SqliteConnection| {
                let sql = "SELECT * FROM announcements WHERE tenant_id = ? AND id = ?";
                let before = row_in(&mut *tx, sql, tenant, id.0, announcement_row)
                    .await?
                    .ok_or(StoreError::NotFound("announcement"))?;
                sqlx::query("DELETE FROM announcements WHERE tenant_id = ? AND id = ?")
                    .bind(key(tenant.0))
                    .bind(key(id.0))
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                let e = entry(
                    tenant,
                    "announcement.delete",
                    "announcement",
                    id,
                    Some(audit_value(&before)?),
                    None,
                    &ctx,
                );
                append_audit(&mut *tx, e).await?;
                Ok(before)
            })
            .await
    }
}
