//! The announcements port on PostgreSQL (display tickers, issue 5). Writes run on the
//! tenant's write lane with their audit row, reads in a tenant transaction, so row-level
//! security fences the table like every other (`migrations/postgres/0008_announcements.sql`).

use crate::rows::{get, id, parse};
use crate::{PostgresStore, audit_write, db, load_site};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sq_domain::audit::{AuditContext, truncate_micros};
use sq_domain::{AnnouncementId, SiteId, TenantId};
use sq_store::*;
use sqlx::PgConnection;
use sqlx::postgres::PgRow;

const COLS: &str = "id, tenant_id, site_id, text, starts_at, ends_at, created_at";

fn announcement_row(r: &PgRow) -> Result<Announcement> {
    Ok(Announcement {
        id: id(r, "id")?,
        tenant_id: id(r, "tenant_id")?,
        site_id: id(r, "site_id")?,
        text: parse(r, "text")?,
        starts_at: get(r, "starts_at")?,
        ends_at: get(r, "ends_at")?,
        created_at: get(r, "created_at")?,
    })
}

#[async_trait]
impl AnnouncementStore for PostgresStore {
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
        self.write(tenant, async move |tx: &mut PgConnection| {
            // Row-level security hides another tenant's site: not found, as it should be.
            load_site(&mut *tx, ann.site_id)
                .await?
                .ok_or(StoreError::NotFound("site"))?;
            sqlx::query(
                "INSERT INTO announcements (id, tenant_id, site_id, text, starts_at, ends_at, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(ann.id.0)
            .bind(tenant.0)
            .bind(ann.site_id.0)
            .bind(ann.text.as_str())
            .bind(ann.starts_at)
            .bind(ann.ends_at)
            .bind(ann.created_at)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            audit_write(
                &mut *tx,
                tenant,
                "announcement.create",
                ann.id,
                None,
                Some(&ann),
                &ctx,
            )
            .await?;
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
        let mut tx = self.tenant_tx(tenant).await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS} FROM announcements WHERE tenant_id = $1 AND site_id = $2 \
               AND ($3::timestamptz IS NULL OR ((starts_at IS NULL OR starts_at <= $3) \
                                               AND (ends_at IS NULL OR $3 < ends_at))) \
             ORDER BY created_at, id"
        )))
        .bind(tenant.0)
        .bind(site.0)
        .bind(active_at)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        rows.iter().map(announcement_row).collect()
    }

    async fn delete_announcement(
        &self,
        tenant: TenantId,
        id: AnnouncementId,
        ctx: &AuditContext,
    ) -> Result<Announcement> {
        let ctx = ctx.clone();
        self.write(tenant, async move |tx: &mut PgConnection| {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM announcements WHERE id = $1 RETURNING {COLS}"
            )))
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?
            .ok_or(StoreError::NotFound("announcement"))?;
            let before = announcement_row(&row)?;
            audit_write(
                &mut *tx,
                tenant,
                "announcement.delete",
                id,
                Some(&before),
                None,
                &ctx,
            )
            .await?;
            Ok(before)
        })
        .await
    }
}
