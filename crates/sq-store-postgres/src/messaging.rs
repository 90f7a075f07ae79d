//! The messaging port on PostgreSQL (see `sq_store::messaging` for the inbox/outbox
//! protocol; `sq-store-sqlite` has the reference semantics).
//!
//! Tenant-scoped writes run on the write lanes and reads in tenant transactions, like the
//! rest of the crate, so row-level security fences every table here too. What differs from
//! SQLite is that several processes may share the database, so nothing relies on a single
//! writer: the inbox dedupes with `ON CONFLICT DO NOTHING` *before* touching anything else,
//! the outbox is claimed with `FOR UPDATE SKIP LOCKED`, and the notification cursor moves
//! with a compare-and-set `UPDATE`. The one lookup before a tenant is known (a webhook names
//! only its channel) goes through the `SECURITY DEFINER` function `sq_channel_by_id`.

use crate::rows::{self, get, id, id_opt, parse};
use crate::{PostgresStore, audit_write, db, require_tenant, ticket_cols};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sq_domain::audit::{AuditContext, truncate_micros};
use sq_domain::ticket::Ticket;
use sq_domain::{ContactId, TenantId, TicketId};
use sq_store::*;
use sqlx::PgConnection;
use sqlx::postgres::PgRow;
use uuid::Uuid;

const CHANNEL_COLS: &str = "id, tenant_id, provider, kind, name, site_id, config_enc, created_at";
const INBOUND_COLS: &str =
    "seq, channel_id, provider_message_id, address, contact_id, payload, received_at";
const OUTBOUND_COLS: &str = "id, tenant_id, channel_id, address, contact_id, class, body, \
     idempotency_key, status, attempts, next_attempt_at, provider_message_id, last_error, \
     created_at, updated_at";
const CONVERSATION_COLS: &str = "tenant_id, channel_id, address, contact_id, session, locale, \
     opted_out, last_inbound_at, updated_at";

fn channel_row(r: &PgRow) -> Result<ChannelRecord> {
    Ok(ChannelRecord {
        id: get(r, "id")?,
        tenant_id: id(r, "tenant_id")?,
        provider: get(r, "provider")?,
        kind: parse(r, "kind")?,
        name: get(r, "name")?,
        site_id: id_opt(r, "site_id")?,
        config_enc: get(r, "config_enc")?,
        created_at: get(r, "created_at")?,
    })
}

fn inbound_row(r: &PgRow) -> Result<InboundRecord> {
    Ok(InboundRecord {
        seq: get(r, "seq")?,
        channel_id: get(r, "channel_id")?,
        provider_message_id: get(r, "provider_message_id")?,
        address: get(r, "address")?,
        contact_id: id(r, "contact_id")?,
        payload: get(r, "payload")?,
        received_at: get(r, "received_at")?,
    })
}

fn outbound_row(r: &PgRow) -> Result<OutboundRecord> {
    let attempts: i32 = get(r, "attempts")?;
    Ok(OutboundRecord {
        id: get(r, "id")?,
        tenant_id: id(r, "tenant_id")?,
        channel_id: get(r, "channel_id")?,
        address: get(r, "address")?,
        contact_id: id_opt(r, "contact_id")?,
        class: parse(r, "class")?,
        body: get(r, "body")?,
        idempotency_key: get(r, "idempotency_key")?,
        status: parse(r, "status")?,
        attempts: u32::try_from(attempts)
            .map_err(|_| StoreError::Backend(format!("corrupt attempts: {attempts}")))?,
        next_attempt_at: get(r, "next_attempt_at")?,
        provider_message_id: get(r, "provider_message_id")?,
        last_error: get(r, "last_error")?,
        created_at: get(r, "created_at")?,
        updated_at: get(r, "updated_at")?,
    })
}

fn conversation_row(r: &PgRow) -> Result<Conversation> {
    Ok(Conversation {
        tenant_id: id(r, "tenant_id")?,
        channel_id: get(r, "channel_id")?,
        address: get(r, "address")?,
        contact_id: id(r, "contact_id")?,
        session: get(r, "session")?,
        locale: get(r, "locale")?,
        opted_out: get(r, "opted_out")?,
        last_inbound_at: get(r, "last_inbound_at")?,
        updated_at: get(r, "updated_at")?,
    })
}

/// Inserts outbound rows, skipping keys the tenant already has; returns those inserted, in
/// the order given.
async fn insert_outbound(
    conn: &mut PgConnection,
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', 0, 0, $9, $10, $10) \
             ON CONFLICT ON CONSTRAINT outbound_messages_idempotency_key DO NOTHING \
             RETURNING {OUTBOUND_COLS}"
        )))
        .bind(Uuid::now_v7())
        .bind(tenant.0)
        .bind(&n.channel_id)
        .bind(&n.address)
        .bind(n.contact_id.map(|c| c.0))
        .bind(n.class.as_str())
        .bind(&n.body)
        .bind(&n.idempotency_key)
        .bind(n.not_before)
        .bind(at)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
        if let Some(r) = row {
            out.push(outbound_row(&r)?);
        }
    }
    Ok(out)
}

#[async_trait]
impl MessageStore for PostgresStore {
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
        self.write(tenant, async move |tx: &mut PgConnection| {
            require_tenant(&mut *tx, tenant).await?;
            sqlx::query(
                "INSERT INTO channels (id, tenant_id, provider, kind, name, site_id, \
                 config_enc, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&rec.id)
            .bind(tenant.0)
            .bind(&rec.provider)
            .bind(rec.kind.as_str())
            .bind(&rec.name)
            .bind(rec.site_id.map(|s| s.0))
            .bind(&rec.config_enc)
            .bind(rec.created_at)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            // `ChannelRecord` does not serialise `config_enc`: the audit trail never holds
            // credentials, even encrypted.
            audit_write(
                &mut *tx,
                tenant,
                "channel.create",
                &rec.id,
                None,
                Some(&rec),
                &ctx,
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
        self.write(tenant, async move |tx: &mut PgConnection| {
            // Row-level security hides another tenant's channel: no row, NotFound.
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE channels SET name = $1, config_enc = $2 WHERE id = $3 \
                 RETURNING {CHANNEL_COLS}"
            )))
            .bind(&name)
            .bind(&config_enc)
            .bind(&id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?
            .ok_or(StoreError::NotFound("channel"))?;
            let rec = channel_row(&row)?;
            audit_write(
                &mut *tx,
                tenant,
                "channel.update",
                &rec.id,
                None,
                Some(&rec),
                &ctx,
            )
            .await?;
            Ok(rec)
        })
        .await
    }

    async fn channel(&self, id: &str) -> Result<Option<ChannelRecord>> {
        // No tenant yet: row-level security would hide the row, the definer finds it.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CHANNEL_COLS} FROM sq_channel_by_id($1)"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        .map(|r| channel_row(&r))
        .transpose()
    }

    async fn channels(&self, tenant: TenantId) -> Result<Vec<ChannelRecord>> {
        let mut tx = self.tenant_tx(tenant).await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CHANNEL_COLS} FROM channels WHERE tenant_id = $1 ORDER BY created_at, id"
        )))
        .bind(tenant.0)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        rows.iter().map(channel_row).collect()
    }

    async fn accept_inbound(&self, tenant: TenantId, m: NewInbound) -> Result<Accepted> {
        self.write(tenant, async move |tx: &mut PgConnection| {
            // The dedupe comes first, so a duplicate changes nothing (no contact, no
            // conversation). A concurrent duplicate from another process waits here on the
            // first one's uncommitted row and then does nothing. The contact is not known
            // yet: the row gets a fresh id, which is the new contact's if one is created.
            let fresh = ContactId::new();
            let inserted = sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO inbound_messages (tenant_id, channel_id, provider_message_id, \
                   address, contact_id, payload, status, received_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7) \
                 ON CONFLICT ON CONSTRAINT inbound_messages_dedupe_key DO NOTHING \
                 RETURNING {INBOUND_COLS}"
            )))
            .bind(tenant.0)
            .bind(&m.channel_id)
            .bind(&m.provider_message_id)
            .bind(&m.address)
            .bind(fresh.0)
            .bind(&m.payload)
            .bind(m.received_at)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
            let Some(row) = inserted else {
                // The conflict check ignores row-level security: make sure the row that
                // conflicted is on one of this tenant's channels before calling it ours.
                let own: Option<i32> = sqlx::query_scalar("SELECT 1 FROM channels WHERE id = $1")
                    .bind(&m.channel_id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db)?;
                return match own {
                    Some(_) => Ok(Accepted::Duplicate),
                    None => Err(StoreError::NotFound("channel")),
                };
            };
            let mut rec = inbound_row(&row)?;

            // The contact: by phone across channels, else the one this address had, else a
            // new anonymous one.
            let (contact, by_phone, created) = match &m.phone {
                Some(phone) => {
                    let id: Uuid = sqlx::query_scalar(
                        "INSERT INTO contacts (id, tenant_id, phone, name, locale, created_at) \
                         VALUES ($1, $2, $3, $4, NULL, $5) \
                         ON CONFLICT ON CONSTRAINT contacts_tenant_phone_key DO UPDATE SET \
                           name = COALESCE(contacts.name, EXCLUDED.name) \
                         RETURNING id",
                    )
                    .bind(fresh.0)
                    .bind(tenant.0)
                    .bind(phone.as_str())
                    .bind(m.profile_name.as_deref())
                    .bind(m.received_at)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db)?;
                    (id, true, false)
                }
                None => {
                    let known: Option<Uuid> = sqlx::query_scalar(
                        "SELECT contact_id FROM conversations \
                         WHERE tenant_id = $1 AND channel_id = $2 AND address = $3",
                    )
                    .bind(tenant.0)
                    .bind(&m.channel_id)
                    .bind(&m.address)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db)?;
                    match known {
                        Some(id) => (id, false, false),
                        None => {
                            sqlx::query(
                                "INSERT INTO contacts (id, tenant_id, phone, name, locale, \
                                 created_at) VALUES ($1, $2, NULL, $3, NULL, $4)",
                            )
                            .bind(fresh.0)
                            .bind(tenant.0)
                            .bind(m.profile_name.as_deref())
                            .bind(m.received_at)
                            .execute(&mut *tx)
                            .await
                            .map_err(db)?;
                            (fresh.0, false, true)
                        }
                    }
                }
            };
            // Without a phone the conversation keeps its contact: another process may have
            // created the conversation (and its anonymous contact) since we looked, and the
            // upsert waits for it and then returns its contact instead of ours.
            let contact: Uuid = sqlx::query_scalar(
                "INSERT INTO conversations (tenant_id, channel_id, address, contact_id, \
                   last_inbound_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) \
                 ON CONFLICT (channel_id, address) DO UPDATE SET \
                   contact_id = CASE WHEN $6 THEN EXCLUDED.contact_id \
                                     ELSE conversations.contact_id END, \
                   last_inbound_at = EXCLUDED.last_inbound_at \
                 RETURNING contact_id",
            )
            .bind(tenant.0)
            .bind(&m.channel_id)
            .bind(&m.address)
            .bind(contact)
            .bind(m.received_at)
            .bind(by_phone)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
            if created && contact != fresh.0 {
                // Lost that race: the anonymous contact we made belongs to nothing.
                sqlx::query("DELETE FROM contacts WHERE id = $1")
                    .bind(fresh.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
            if contact != fresh.0 {
                sqlx::query("UPDATE inbound_messages SET contact_id = $1 WHERE seq = $2")
                    .bind(contact)
                    .bind(rec.seq)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                rec.contact_id = contact.into();
            }
            Ok(Accepted::New(rec))
        })
        .await
    }

    async fn pending_inbound(&self, tenant: TenantId, limit: u32) -> Result<Vec<InboundRecord>> {
        let mut tx = self.tenant_tx(tenant).await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {INBOUND_COLS} FROM inbound_messages \
             WHERE tenant_id = $1 AND status = 'pending' ORDER BY seq LIMIT $2"
        )))
        .bind(tenant.0)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        rows.iter().map(inbound_row).collect()
    }

    async fn conversation(
        &self,
        tenant: TenantId,
        channel_id: &str,
        address: &str,
    ) -> Result<Option<Conversation>> {
        let mut tx = self.tenant_tx(tenant).await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CONVERSATION_COLS} FROM conversations \
             WHERE tenant_id = $1 AND channel_id = $2 AND address = $3"
        )))
        .bind(tenant.0)
        .bind(channel_id)
        .bind(address)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        row.map(|r| conversation_row(&r)).transpose()
    }

    async fn due_conversations(
        &self,
        tenant: TenantId,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Conversation>> {
        let mut tx = self.tenant_tx(tenant).await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CONVERSATION_COLS} FROM conversations \
             WHERE tenant_id = $1 AND due_at IS NOT NULL AND due_at <= $2 \
             ORDER BY due_at LIMIT $3"
        )))
        .bind(tenant.0)
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        rows.iter().map(conversation_row).collect()
    }

    async fn commit_turn(&self, tenant: TenantId, t: TurnCommit) -> Result<Vec<OutboundRecord>> {
        self.write(tenant, async move |tx: &mut PgConnection| {
            let contact: Option<Uuid> = sqlx::query_scalar(
                "UPDATE conversations SET session = $1, locale = $2, opted_out = $3, \
                 updated_at = $4, due_at = $8 \
                 WHERE tenant_id = $5 AND channel_id = $6 AND address = $7 \
                 RETURNING contact_id",
            )
            .bind(&t.session)
            .bind(t.locale.as_deref())
            .bind(t.opted_out)
            .bind(t.at)
            .bind(tenant.0)
            .bind(&t.channel_id)
            .bind(&t.address)
            .bind(t.due_at)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
            // An error rolls the lane's savepoint back, so a refused turn writes nothing.
            let Some(contact) = contact else {
                return Err(StoreError::NotFound("conversation"));
            };
            if let Some(seq) = t.inbound_seq {
                sqlx::query(
                    "UPDATE inbound_messages SET status = 'done', processed_at = $1 \
                     WHERE tenant_id = $2 AND seq = $3",
                )
                .bind(t.at)
                .bind(tenant.0)
                .bind(seq)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            }
            if let Some(ticket) = t.origin {
                sqlx::query(
                    "INSERT INTO ticket_origins (ticket_id, tenant_id, channel_id, address, \
                       contact_id, locale) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (ticket_id) DO NOTHING",
                )
                .bind(ticket.0)
                .bind(tenant.0)
                .bind(&t.channel_id)
                .bind(&t.address)
                .bind(contact)
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
        self.write(tenant, async move |tx: &mut PgConnection| {
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
        self.write(tenant, async move |tx: &mut PgConnection| {
            // SKIP LOCKED: senders in other processes claim disjoint rows instead of
            // queueing behind each other (or claiming the same row twice).
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE outbound_messages SET next_attempt_at = $1, attempts = attempts + 1, \
                   updated_at = $2 \
                 WHERE id IN (SELECT id FROM outbound_messages \
                   WHERE tenant_id = $3 AND status = 'queued' AND next_attempt_at <= $2 \
                   ORDER BY class DESC, next_attempt_at, id LIMIT $4 \
                   FOR UPDATE SKIP LOCKED) \
                 RETURNING {OUTBOUND_COLS}"
            )))
            .bind(lease_until)
            .bind(now)
            .bind(tenant.0)
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
            let mut out = rows.iter().map(outbound_row).collect::<Result<Vec<_>>>()?;
            // RETURNING has no order: replies first, then oldest first.
            out.sort_by_key(|r| (r.class != OutboundClass::Reply, r.created_at, r.id));
            Ok(out)
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
        self.write(tenant, async move |tx: &mut PgConnection| {
            let q = match result {
                // A status callback may have overtaken the send's answer: keep the higher.
                SendResult::Sent {
                    provider_message_id,
                } => sqlx::query(
                    "UPDATE outbound_messages SET provider_message_id = $3, \
                       status = CASE WHEN status_rank < $4 THEN 'sent' ELSE status END, \
                       status_rank = GREATEST(status_rank, $4), last_error = NULL, \
                       updated_at = $5 \
                     WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tenant.0)
                .bind(id)
                .bind(provider_message_id)
                .bind(OutboundStatus::Sent.rank()),
                SendResult::Retry { at: due, error } => sqlx::query(
                    "UPDATE outbound_messages SET next_attempt_at = $3, last_error = $4, \
                     updated_at = $5 WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tenant.0)
                .bind(id)
                .bind(due)
                .bind(error),
                SendResult::Failed { error } => sqlx::query(
                    "UPDATE outbound_messages SET status = 'failed', status_rank = $3, \
                     last_error = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tenant.0)
                .bind(id)
                .bind(OutboundStatus::Failed.rank())
                .bind(error),
            };
            q.bind(at).execute(&mut *tx).await.map_err(db)?;
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
        self.write(tenant, async move |tx: &mut PgConnection| {
            // Forward only: callbacks arrive out of order (read before delivered).
            let done = sqlx::query(
                "UPDATE outbound_messages SET status = $1, status_rank = $2, \
                   last_error = COALESCE($3, last_error), updated_at = $4 \
                 WHERE tenant_id = $5 AND channel_id = $6 AND provider_message_id = $7 \
                   AND status_rank < $2",
            )
            .bind(status.as_str())
            .bind(status.rank())
            .bind(error)
            .bind(at)
            .bind(tenant.0)
            .bind(&channel_id)
            .bind(&pmid)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            Ok(done.rows_affected() > 0)
        })
        .await
    }

    async fn outbound(&self, tenant: TenantId, limit: u32) -> Result<Vec<OutboundRecord>> {
        let mut tx = self.tenant_tx(tenant).await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {OUTBOUND_COLS} FROM outbound_messages WHERE tenant_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2"
        )))
        .bind(tenant.0)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        rows.iter().map(outbound_row).collect()
    }

    async fn ticket_origin(
        &self,
        tenant: TenantId,
        ticket: TicketId,
    ) -> Result<Option<TicketOrigin>> {
        let mut tx = self.tenant_tx(tenant).await?;
        let row = sqlx::query(
            "SELECT ticket_id, channel_id, address, contact_id, locale FROM ticket_origins \
             WHERE tenant_id = $1 AND ticket_id = $2",
        )
        .bind(tenant.0)
        .bind(ticket.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        row.map(|r| {
            Ok(TicketOrigin {
                ticket_id: id(&r, "ticket_id")?,
                channel_id: get(&r, "channel_id")?,
                address: get(&r, "address")?,
                contact_id: id_opt(&r, "contact_id")?,
                locale: get(&r, "locale")?,
            })
        })
        .transpose()
    }

    async fn open_tickets_of(&self, tenant: TenantId, contact: ContactId) -> Result<Vec<Ticket>> {
        let mut tx = self.tenant_tx(tenant).await?;
        let rows = sqlx::query(concat!(
            "SELECT ",
            ticket_cols!(),
            " FROM tickets WHERE tenant_id = $1 \
               AND id IN (SELECT ticket_id FROM ticket_origins \
                          WHERE tenant_id = $1 AND contact_id = $2) \
               AND status IN ('waiting', 'called', 'recalled', 'serving', 'paused') \
             ORDER BY created_at, id"
        ))
        .bind(tenant.0)
        .bind(contact.0)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        rows.iter().map(rows::ticket).collect()
    }

    async fn record_feedback(&self, tenant: TenantId, f: Feedback) -> Result<()> {
        f.check()?;
        self.write(tenant, async move |tx: &mut PgConnection| {
            sqlx::query(
                "INSERT INTO feedback (id, tenant_id, channel_id, contact_id, ticket, scale, \
                 score, comment, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(f.id)
            .bind(tenant.0)
            .bind(&f.channel_id)
            .bind(f.contact_id.0)
            .bind(f.ticket.as_deref())
            .bind(&f.scale)
            .bind(f.score as i32)
            .bind(f.comment.as_deref())
            .bind(f.created_at)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn feedback(&self, tenant: TenantId, limit: u32) -> Result<Vec<Feedback>> {
        let mut tx = self.tenant_tx(tenant).await?;
        let rows = sqlx::query(
            "SELECT id, channel_id, contact_id, ticket, scale, score, comment, created_at \
             FROM feedback WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(tenant.0)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        rows.iter()
            .map(|r| {
                Ok(Feedback {
                    id: get(r, "id")?,
                    channel_id: get(r, "channel_id")?,
                    contact_id: id(r, "contact_id")?,
                    ticket: get(r, "ticket")?,
                    scale: get(r, "scale")?,
                    score: i64::from(get::<i32>(r, "score")?),
                    comment: get(r, "comment")?,
                    created_at: get(r, "created_at")?,
                })
            })
            .collect()
    }

    async fn notify_cursor(&self, tenant: TenantId) -> Result<i64> {
        let mut tx = self.tenant_tx(tenant).await?;
        let pos: Option<i64> =
            sqlx::query_scalar("SELECT position FROM notify_cursors WHERE tenant_id = $1")
                .bind(tenant.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
        tx.commit().await.map_err(db)?;
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
        self.write(tenant, async move |tx: &mut PgConnection| {
            // A missing cursor reads as 0: materialise it so the compare-and-set below has
            // a row to lock. Another node's concurrent UPDATE makes ours wait, re-check
            // `position = from` on the committed row, and match nothing.
            sqlx::query(
                "INSERT INTO notify_cursors (tenant_id, position) VALUES ($1, 0) \
                 ON CONFLICT (tenant_id) DO NOTHING",
            )
            .bind(tenant.0)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            let moved = sqlx::query(
                "UPDATE notify_cursors SET position = $3 WHERE tenant_id = $1 AND position = $2",
            )
            .bind(tenant.0)
            .bind(from)
            .bind(to)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
            if moved.rows_affected() == 0 {
                return Err(StoreError::Conflict("notify_cursor"));
            }
            insert_outbound(tx, tenant, rows, at).await
        })
        .await
    }
}
