//! The messaging port on SQLite (see `sq_store::messaging` for the protocol). Writes go
//! through the group-commit writer like every other write; reads use the reader pool.

use super::{SqliteStore, append_audit, entry, ticket_row};
use crate::codec::{Cols, db, key, ts};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sq_domain::audit::{AuditContext, truncate_micros};
use sq_domain::ticket::Ticket;
use sq_domain::{ContactId, TenantId, TicketId};
use sq_store::*;
use sqlx::SqliteConnection;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

const CHANNEL_COLS: &str = "id, tenant_id, provider, kind, name, site_id, config_enc, created_at";
const INBOUND_COLS: &str =
    "seq, channel_id, provider_message_id, address, contact_id, payload, received_at";
const CONVERSATION_COLS: &str = "tenant_id, channel_id, address, contact_id, session, locale, \
     opted_out, last_inbound_at, updated_at";
const OUTBOUND_COLS: &str = "id, tenant_id, channel_id, address, contact_id, class, body, \
     idempotency_key, status, attempts, next_attempt_at, provider_message_id, last_error, \
     created_at, updated_at";

fn channel_row(r: &SqliteRow) -> Result<ChannelRecord> {
    use sqlx::Row as _;
    let c = Cols(r);
    Ok(ChannelRecord {
        id: c.text("id")?,
        tenant_id: c.id("tenant_id")?,
        provider: c.text("provider")?,
        kind: c.parse("kind")?,
        name: c.text("name")?,
        site_id: c.opt_id("site_id")?,
        config_enc: r
            .try_get::<Vec<u8>, _>("config_enc")
            .map_err(|e| StoreError::Backend(format!("unreadable config_enc: {e}")))?,
        created_at: c.at("created_at")?,
    })
}

fn inbound_row(r: &SqliteRow) -> Result<InboundRecord> {
    let c = Cols(r);
    Ok(InboundRecord {
        seq: c.int("seq")?,
        channel_id: c.text("channel_id")?,
        provider_message_id: c.text("provider_message_id")?,
        address: c.text("address")?,
        contact_id: c.id("contact_id")?,
        payload: c.json("payload")?,
        received_at: c.at("received_at")?,
    })
}

fn outbound_row(r: &SqliteRow) -> Result<OutboundRecord> {
    let c = Cols(r);
    Ok(OutboundRecord {
        id: c.parse("id")?,
        tenant_id: c.id("tenant_id")?,
        channel_id: c.text("channel_id")?,
        address: c.text("address")?,
        contact_id: c.opt_id("contact_id")?,
        class: c.parse("class")?,
        body: c.json("body")?,
        idempotency_key: c.text("idempotency_key")?,
        status: c.parse("status")?,
        attempts: c.u32("attempts")?,
        next_attempt_at: c.at("next_attempt_at")?,
        provider_message_id: c.opt_text("provider_message_id")?,
        last_error: c.opt_text("last_error")?,
        created_at: c.at("created_at")?,
        updated_at: c.at("updated_at")?,
    })
}

fn conversation_row(r: &SqliteRow) -> Result<Conversation> {
    let c = Cols(r);
    Ok(Conversation {
        tenant_id: c.id("tenant_id")?,
        channel_id: c.text("channel_id")?,
        address: c.text("address")?,
        contact_id: c.id("contact_id")?,
        session: c.opt_json("session")?,
        locale: c.opt_text("locale")?,
        opted_out: c.int("opted_out")? != 0,
        last_inbound_at: c.opt_at("last_inbound_at")?,
        updated_at: c.at("updated_at")?,
    })
}

/// Inserts outbound rows, skipping keys the tenant already has; returns those inserted.
async fn insert_outbound(
    c: &mut SqliteConnection,
    tenant: TenantId,
    rows: Vec<NewOutbound>,
    at: DateTime<Utc>,
) -> Result<Vec<OutboundRecord>> {
    let mut out = Vec::with_capacity(rows.len());
    for n in rows {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO outbound_messages (id, tenant_id, channel_id, address, contact_id, \
               class, body, idempotency_key, status, status_rank, attempts, next_attempt_at, \
               created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', 0, 0, ?, ?, ?) \
             ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING {OUTBOUND_COLS}"
        )))
        .bind(key(Uuid::now_v7()))
        .bind(key(tenant.0))
        .bind(&n.channel_id)
        .bind(&n.address)
        .bind(n.contact_id.map(|x| key(x.0)))
        .bind(n.class.as_str())
        .bind(n.body.to_string())
        .bind(&n.idempotency_key)
        .bind(ts(n.not_before))
        .bind(ts(at))
        .bind(ts(at))
        .fetch_optional(&mut *c)
        .await
        .map_err(db)?;
        if let Some(r) = row {
            out.push(outbound_row(&r)?);
        }
    }
    Ok(out)
}

#[async_trait]
impl MessageStore for SqliteStore {
    async fn create_channel(
        &self,
        tenant: TenantId,
        c: NewChannel,
        ctx: &AuditContext,
    ) -> Result<ChannelRecord> {
        let rec = ChannelRecord {
            id: c.id,
            tenant_id: tenant,
            provider: c.provider,
            kind: c.kind,
            name: c.name,
            site_id: c.site_id,
            config_enc: c.config_enc,
            created_at: truncate_micros(ctx.at),
        };
        let ctx = ctx.clone();
        self.writer
            .write(None, async move |tx: &mut SqliteConnection| {
                sqlx::query(
                    "INSERT INTO channels (id, tenant_id, provider, kind, name, site_id, \
                     config_enc, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(&rec.id)
                .bind(key(tenant.0))
                .bind(&rec.provider)
                .bind(rec.kind.as_str())
                .bind(&rec.name)
                .bind(rec.site_id.map(|s| key(s.0)))
                .bind(&rec.config_enc)
                .bind(ts(rec.created_at))
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                // The audit row names the channel, never its configuration.
                let after = serde_json::to_value(&rec)
                    .map_err(|e| StoreError::Backend(format!("encode json: {e}")))?;
                append_audit(
                    &mut *tx,
                    entry(
                        tenant,
                        "channel.create",
                        "channel",
                        &rec.id,
                        None,
                        Some(after),
                        &ctx,
                    ),
                )
                .await?;
                Ok(rec)
            })
            .await
    }

    async fn update_channel(
        &self,
        tenant: TenantId,
        id: &str,
        name: String,
        config_enc: Vec<u8>,
        ctx: &AuditContext,
    ) -> Result<ChannelRecord> {
        let (id, ctx) = (id.to_owned(), ctx.clone());
        self.writer
            .write(None, async move |tx: &mut SqliteConnection| {
                let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE channels SET name = ?, config_enc = ? WHERE tenant_id = ? AND id = ? \
                     RETURNING {CHANNEL_COLS}"
                )))
                .bind(&name)
                .bind(&config_enc)
                .bind(key(tenant.0))
                .bind(&id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?
                .ok_or(StoreError::NotFound("channel"))?;
                let rec = channel_row(&row)?;
                let after = serde_json::to_value(&rec)
                    .map_err(|e| StoreError::Backend(format!("encode json: {e}")))?;
                append_audit(
                    &mut *tx,
                    entry(
                        tenant,
                        "channel.update",
                        "channel",
                        &rec.id,
                        None,
                        Some(after),
                        &ctx,
                    ),
                )
                .await?;
                Ok(rec)
            })
            .await
    }

    async fn channel(&self, id: &str) -> Result<Option<ChannelRecord>> {
        let mut c = self.read().await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CHANNEL_COLS} FROM channels WHERE id = ?"
        )))
        .bind(id)
        .fetch_optional(&mut *c)
        .await
        .map_err(db)?
        .map(|r| channel_row(&r))
        .transpose()
    }

    async fn channels(&self, tenant: TenantId) -> Result<Vec<ChannelRecord>> {
        let mut c = self.read().await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CHANNEL_COLS} FROM channels WHERE tenant_id = ? ORDER BY created_at, id"
        )))
        .bind(key(tenant.0))
        .fetch_all(&mut *c)
        .await
        .map_err(db)?
        .iter()
        .map(channel_row)
        .collect()
    }

    async fn accept_inbound(&self, tenant: TenantId, m: NewInbound) -> Result<Accepted> {
        self.writer
            .write(None, async move |tx: &mut SqliteConnection| {
                let seen = sqlx::query(
                    "SELECT 1 FROM inbound_messages WHERE channel_id = ? AND provider_message_id = ?",
                )
                .bind(&m.channel_id)
                .bind(&m.provider_message_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
                if seen.is_some() {
                    return Ok(Accepted::Duplicate);
                }
                let at = ts(m.received_at);
                // The contact: by phone across channels, else the one this address had.
                let known: Option<String> = sqlx::query_scalar(
                    "SELECT contact_id FROM conversations \
                     WHERE tenant_id = ? AND channel_id = ? AND address = ?",
                )
                .bind(key(tenant.0))
                .bind(&m.channel_id)
                .bind(&m.address)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
                let contact: String = match (&m.phone, known) {
                    (Some(phone), _) => sqlx::query_scalar(
                        "INSERT INTO contacts (id, tenant_id, phone, name, locale, created_at) \
                         VALUES (?, ?, ?, ?, NULL, ?) \
                         ON CONFLICT (tenant_id, phone) DO UPDATE SET \
                           name = COALESCE(contacts.name, excluded.name) \
                         RETURNING id",
                    )
                    .bind(key(ContactId::new().0))
                    .bind(key(tenant.0))
                    .bind(phone.as_str())
                    .bind(m.profile_name.as_deref())
                    .bind(&at)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db)?,
                    (None, Some(id)) => id,
                    (None, None) => {
                        let id = key(ContactId::new().0).to_string();
                        sqlx::query(
                            "INSERT INTO contacts (id, tenant_id, phone, name, locale, created_at) \
                             VALUES (?, ?, NULL, ?, NULL, ?)",
                        )
                        .bind(&id)
                        .bind(key(tenant.0))
                        .bind(m.profile_name.as_deref())
                        .bind(&at)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                        id
                    }
                };
                sqlx::query(
                    "INSERT INTO conversations (tenant_id, channel_id, address, contact_id, \
                       last_inbound_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) \
                     ON CONFLICT (channel_id, address) DO UPDATE SET \
                       contact_id = excluded.contact_id, last_inbound_at = excluded.last_inbound_at",
                )
                .bind(key(tenant.0))
                .bind(&m.channel_id)
                .bind(&m.address)
                .bind(&contact)
                .bind(&at)
                .bind(&at)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO inbound_messages (tenant_id, channel_id, provider_message_id, \
                       address, contact_id, payload, status, received_at) \
                     VALUES (?, ?, ?, ?, ?, ?, 'pending', ?) RETURNING {INBOUND_COLS}"
                )))
                .bind(key(tenant.0))
                .bind(&m.channel_id)
                .bind(&m.provider_message_id)
                .bind(&m.address)
                .bind(&contact)
                .bind(m.payload.to_string())
                .bind(&at)
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?;
                Ok(Accepted::New(inbound_row(&row)?))
            })
            .await
    }

    async fn pending_inbound(&self, tenant: TenantId, limit: u32) -> Result<Vec<InboundRecord>> {
        let mut c = self.read().await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {INBOUND_COLS} FROM inbound_messages \
             WHERE tenant_id = ? AND status = 'pending' ORDER BY seq LIMIT ?"
        )))
        .bind(key(tenant.0))
        .bind(i64::from(limit))
        .fetch_all(&mut *c)
        .await
        .map_err(db)?
        .iter()
        .map(inbound_row)
        .collect()
    }

    async fn conversation(
        &self,
        tenant: TenantId,
        channel_id: &str,
        address: &str,
    ) -> Result<Option<Conversation>> {
        let mut c = self.read().await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CONVERSATION_COLS} FROM conversations \
             WHERE tenant_id = ? AND channel_id = ? AND address = ?"
        )))
        .bind(key(tenant.0))
        .bind(channel_id)
        .bind(address)
        .fetch_optional(&mut *c)
        .await
        .map_err(db)?
        .map(|r| conversation_row(&r))
        .transpose()
    }

    async fn due_conversations(
        &self,
        tenant: TenantId,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Conversation>> {
        let mut c = self.read().await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CONVERSATION_COLS} FROM conversations \
             WHERE tenant_id = ? AND due_at IS NOT NULL AND due_at <= ? ORDER BY due_at LIMIT ?"
        )))
        .bind(key(tenant.0))
        .bind(ts(now))
        .bind(i64::from(limit))
        .fetch_all(&mut *c)
        .await
        .map_err(db)?
        .iter()
        .map(conversation_row)
        .collect()
    }

    async fn commit_turn(&self, tenant: TenantId, t: TurnCommit) -> Result<Vec<OutboundRecord>> {
        self.writer
            .write(None, async move |tx: &mut SqliteConnection| {
                let at = ts(t.at);
                let updated = sqlx::query(
                    "UPDATE conversations SET session = ?, locale = ?, opted_out = ?, \
                     due_at = ?, updated_at = ? \
                     WHERE tenant_id = ? AND channel_id = ? AND address = ? \
                     RETURNING contact_id",
                )
                .bind(t.session.as_ref().map(|s| s.to_string()))
                .bind(t.locale.as_deref())
                .bind(i64::from(t.opted_out))
                .bind(t.due_at.map(ts))
                .bind(&at)
                .bind(key(tenant.0))
                .bind(&t.channel_id)
                .bind(&t.address)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
                let Some(row) = updated else {
                    return Err(StoreError::NotFound("conversation"));
                };
                let contact: String = Cols(&row).text("contact_id")?;
                if let Some(seq) = t.inbound_seq {
                    sqlx::query(
                        "UPDATE inbound_messages SET status = 'done', processed_at = ? \
                         WHERE tenant_id = ? AND seq = ?",
                    )
                    .bind(&at)
                    .bind(key(tenant.0))
                    .bind(seq)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                }
                if let Some(ticket) = t.origin {
                    sqlx::query(
                        "INSERT INTO ticket_origins (ticket_id, tenant_id, channel_id, address, \
                           contact_id, locale) VALUES (?, ?, ?, ?, ?, ?) \
                         ON CONFLICT (ticket_id) DO NOTHING",
                    )
                    .bind(key(ticket.0))
                    .bind(key(tenant.0))
                    .bind(&t.channel_id)
                    .bind(&t.address)
                    .bind(&contact)
                    .bind(t.locale.as_deref())
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                }
                insert_outbound(tx, tenant, t.outbound, t.at).await
            })
            .await
    }

    async fn enqueue_outbound(
        &self,
        tenant: TenantId,
        rows: Vec<NewOutbound>,
        at: DateTime<Utc>,
    ) -> Result<Vec<OutboundRecord>> {
        self.writer
            .write(None, async move |tx: &mut SqliteConnection| {
                insert_outbound(tx, tenant, rows, at).await
            })
            .await
    }

    async fn claim_outbound(
        &self,
        tenant: TenantId,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboundRecord>> {
        self.writer
            .write(None, async move |tx: &mut SqliteConnection| {
                // One statement: the single writer makes select-then-update atomic anyway.
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE outbound_messages SET next_attempt_at = ?, attempts = attempts + 1, \
                       updated_at = ? \
                     WHERE id IN (SELECT id FROM outbound_messages \
                       WHERE tenant_id = ? AND status = 'queued' AND next_attempt_at <= ? \
                       ORDER BY class DESC, next_attempt_at, id LIMIT ?) \
                     RETURNING {OUTBOUND_COLS}"
                )))
                .bind(ts(lease_until))
                .bind(ts(now))
                .bind(key(tenant.0))
                .bind(ts(now))
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await
                .map_err(db)?
                .iter()
                .map(outbound_row)
                .collect::<Result<Vec<_>>>()
                .map(|mut v| {
                    // RETURNING has no order: replies first, then oldest first.
                    v.sort_by_key(|r| (r.class != OutboundClass::Reply, r.created_at, r.id));
                    v
                })
            })
            .await
    }

    async fn record_send(
        &self,
        tenant: TenantId,
        id: Uuid,
        result: SendResult,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.writer
            .write(None, async move |tx: &mut SqliteConnection| {
                let q = match &result {
                    // A status callback may have overtaken the send's answer: keep the higher.
                    SendResult::Sent {
                        provider_message_id,
                    } => sqlx::query(
                        "UPDATE outbound_messages SET provider_message_id = ?, \
                           status = CASE WHEN status_rank < 1 THEN 'sent' ELSE status END, \
                           status_rank = MAX(status_rank, 1), last_error = NULL, updated_at = ? \
                         WHERE tenant_id = ? AND id = ?",
                    )
                    .bind(provider_message_id.clone())
                    .bind(ts(at)),
                    SendResult::Retry { at: due, error } => sqlx::query(
                        "UPDATE outbound_messages SET next_attempt_at = ?, last_error = ?, \
                         updated_at = ? WHERE tenant_id = ? AND id = ?",
                    )
                    .bind(ts(*due))
                    .bind(error.clone())
                    .bind(ts(at)),
                    SendResult::Failed { error } => sqlx::query(
                        "UPDATE outbound_messages SET status = 'failed', status_rank = 4, \
                         last_error = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
                    )
                    .bind(error.clone())
                    .bind(ts(at)),
                };
                q.bind(key(tenant.0))
                    .bind(key(id))
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                Ok(())
            })
            .await
    }

    async fn record_delivery(
        &self,
        tenant: TenantId,
        channel_id: &str,
        provider_message_id: &str,
        status: OutboundStatus,
        error: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let (channel_id, pmid) = (channel_id.to_owned(), provider_message_id.to_owned());
        self.writer
            .write(None, async move |tx: &mut SqliteConnection| {
                let done = sqlx::query(
                    "UPDATE outbound_messages SET status = ?, status_rank = ?, \
                       last_error = COALESCE(?, last_error), updated_at = ? \
                     WHERE tenant_id = ? AND channel_id = ? AND provider_message_id = ? \
                       AND status_rank < ?",
                )
                .bind(status.as_str())
                .bind(status.rank())
                .bind(error)
                .bind(ts(at))
                .bind(key(tenant.0))
                .bind(&channel_id)
                .bind(&pmid)
                .bind(status.rank())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                Ok(done.rows_affected() > 0)
            })
            .await
    }

    async fn outbound(&self, tenant: TenantId, limit: u32) -> Result<Vec<OutboundRecord>> {
        let mut c = self.read().await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {OUTBOUND_COLS} FROM outbound_messages WHERE tenant_id = ? \
             ORDER BY created_at DESC, id DESC LIMIT ?"
        )))
        .bind(key(tenant.0))
        .bind(i64::from(limit))
        .fetch_all(&mut *c)
        .await
        .map_err(db)?
        .iter()
        .map(outbound_row)
        .collect()
    }

    async fn ticket_origin(
        &self,
        tenant: TenantId,
        ticket: TicketId,
    ) -> Result<Option<TicketOrigin>> {
        let mut c = self.read().await?;
        let row = sqlx::query(
            "SELECT ticket_id, channel_id, address, contact_id, locale FROM ticket_origins \
             WHERE tenant_id = ? AND ticket_id = ?",
        )
        .bind(key(tenant.0))
        .bind(key(ticket.0))
        .fetch_optional(&mut *c)
        .await
        .map_err(db)?;
        row.map(|r| {
            let c = Cols(&r);
            Ok(TicketOrigin {
                ticket_id: c.id("ticket_id")?,
                channel_id: c.text("channel_id")?,
                address: c.text("address")?,
                contact_id: c.opt_id("contact_id")?,
                locale: c.opt_text("locale")?,
            })
        })
        .transpose()
    }

    async fn open_tickets_of(&self, tenant: TenantId, contact: ContactId) -> Result<Vec<Ticket>> {
        let mut c = self.read().await?;
        sqlx::query(
            "SELECT t.* FROM ticket_origins o JOIN tickets t ON t.id = o.ticket_id \
             WHERE o.tenant_id = ? AND o.contact_id = ? AND t.tenant_id = o.tenant_id \
               AND t.status IN ('waiting', 'called', 'recalled', 'serving', 'paused') \
             ORDER BY t.created_at, t.id",
        )
        .bind(key(tenant.0))
        .bind(key(contact.0))
        .fetch_all(&mut *c)
        .await
        .map_err(db)?
        .iter()
        .map(ticket_row)
        .collect()
    }

    async fn record_feedback(&self, tenant: TenantId, f: Feedback) -> Result<()> {
        f.check()?;
        self.writer
            .write(None, async move |tx: &mut SqliteConnection| {
                sqlx::query(
                    "INSERT INTO feedback (id, tenant_id, channel_id, contact_id, ticket, scale, \
                     score, comment, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(key(f.id))
                .bind(key(tenant.0))
                .bind(&f.channel_id)
                .bind(key(f.contact_id.0))
                .bind(f.ticket.as_deref())
                .bind(&f.scale)
                .bind(f.score)
                .bind(f.comment.as_deref())
                .bind(ts(f.created_at))
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                Ok(())
            })
            .await
    }

    async fn feedback(&self, tenant: TenantId, limit: u32) -> Result<Vec<Feedback>> {
        let mut c = self.read().await?;
        sqlx::query(
            "SELECT id, channel_id, contact_id, ticket, scale, score, comment, created_at \
             FROM feedback WHERE tenant_id = ? ORDER BY created_at DESC, id DESC LIMIT ?",
        )
        .bind(key(tenant.0))
        .bind(i64::from(limit))
        .fetch_all(&mut *c)
        .await
        .map_err(db)?
        .iter()
        .map(|r| {
            let c = Cols(r);
            Ok(Feedback {
                id: c.parse("id")?,
                channel_id: c.text("channel_id")?,
                contact_id: c.id("contact_id")?,
                ticket: c.opt_text("ticket")?,
                scale: c.text("scale")?,
                score: c.int("score")?,
                comment: c.opt_text("comment")?,
                created_at: c.at("created_at")?,
            })
        })
        .collect()
    }

    async fn notify_cursor(&self, tenant: TenantId) -> Result<i64> {
        let mut c = self.read().await?;
        let pos: Option<i64> =
            sqlx::query_scalar("SELECT position FROM notify_cursors WHERE tenant_id = ?")
                .bind(key(tenant.0))
                .fetch_optional(&mut *c)
                .await
                .map_err(db)?;
        Ok(pos.unwrap_or(0))
    }

    async fn advance_notifications(
        &self,
        tenant: TenantId,
        from: i64,
        to: i64,
        rows: Vec<NewOutbound>,
        at: DateTime<Utc>,
    ) -> Result<Vec<OutboundRecord>> {
        self.writer
            .write(None, async move |tx: &mut SqliteConnection| {
                let current: Option<i64> =
                    sqlx::query_scalar("SELECT position FROM notify_cursors WHERE tenant_id = ?")
                        .bind(key(tenant.0))
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db)?;
                if current.unwrap_or(0) != from {
                    return Err(StoreError::Conflict("notify_cursor"));
                }
                sqlx::query(
                    "INSERT INTO notify_cursors (tenant_id, position) VALUES (?, ?) \
                     ON CONFLICT (tenant_id) DO UPDATE SET position = excluded.position",
                )
                .bind(key(tenant.0))
                .bind(to)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                insert_outbound(tx, tenant, rows, at).await
            })
            .await
    }
}
