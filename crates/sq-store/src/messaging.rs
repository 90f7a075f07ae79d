//! The messaging port: configured channels, the inbound inbox, conversations, the outbox and
//! the notification cursor (ARCHITECTURE.md §2, §6).
//!
//! The shape is an *inbox + outbox* around the pure engine, rather than one transaction
//! spanning a whole turn:
//!
//! 1. [`MessageStore::accept_inbound`] stores the webhook's event (deduplicated on
//!    `(channel, provider message id)`), resolves the contact and its conversation, in one
//!    transaction, **before** the provider gets its 200: an accepted message is never lost.
//! 2. The host runs the engine and the queue use cases (each its own audited transaction).
//! 3. [`MessageStore::commit_turn`] writes the new session, the replies (outbox rows), the
//!    ticket's origin and marks the inbound row done, in one transaction.
//!
//! A crash between 2 and 3 leaves the inbound row `pending`; it is processed again at start
//! ([`MessageStore::pending_inbound`]), where a join answers "already waiting" instead of
//! issuing twice. Outbox rows carry a unique idempotency key, so re-enqueueing is harmless,
//! and are claimed with a lease ([`MessageStore::claim_outbound`]) so a sender that dies
//! mid-send releases them by time.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sq_domain::ticket::Ticket;
use sq_domain::{Channel, ContactId, PhoneNumber, SiteId, TenantId, TicketId};
use uuid::Uuid;

use crate::Result;
use sq_domain::audit::AuditContext;

/// A provider account of a tenant. `config_enc` is the adapter configuration, encrypted by
/// the application (the store never sees credentials in clear).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChannelRecord {
    /// Unguessable: it is the webhook path `/hooks/{id}`.
    pub id: String,
    pub tenant_id: TenantId,
    /// `whatsapp_cloud`, `twilio`, `africastalking_sms`, … (the adapter's tag).
    pub provider: String,
    /// What the customer uses: whatsapp, sms, ussd, telegram.
    pub kind: Channel,
    pub name: String,
    pub site_id: Option<SiteId>,
    #[serde(skip)]
    pub config_enc: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct NewChannel {
    pub id: String,
    pub provider: String,
    pub kind: Channel,
    pub name: String,
    pub site_id: Option<SiteId>,
    pub config_enc: Vec<u8>,
}

/// One customer message (or USSD hop) as received.
#[derive(Clone, Debug)]
pub struct NewInbound {
    pub channel_id: String,
    pub provider_message_id: String,
    /// The sender on this channel: E.164 for phones, the chat id for Telegram.
    pub address: String,
    /// Set when the address is a phone number: contacts are matched on it across channels.
    pub phone: Option<PhoneNumber>,
    pub profile_name: Option<String>,
    /// The adapter's event, as JSON.
    pub payload: serde_json::Value,
    pub received_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct InboundRecord {
    /// Commit order within the store: a contact's messages are processed in this order.
    pub seq: i64,
    pub channel_id: String,
    pub provider_message_id: String,
    pub address: String,
    pub contact_id: ContactId,
    pub payload: serde_json::Value,
    pub received_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Accepted {
    New(InboundRecord),
    /// Seen before (a provider retry or a duplicate delivery): do nothing.
    Duplicate,
}

/// A contact's conversation on one channel address: the engine session and what the host
/// remembers about the address.
#[derive(Clone, Debug, PartialEq)]
pub struct Conversation {
    pub tenant_id: TenantId,
    pub channel_id: String,
    pub address: String,
    pub contact_id: ContactId,
    /// The serialised `sq_flow::Session`, `None` between flows.
    pub session: Option<serde_json::Value>,
    pub locale: Option<String>,
    /// STOP received (and no START since): nothing but the confirmation is sent.
    pub opted_out: bool,
    pub last_inbound_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// Replies go before notifications when a sender has more than it may send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboundClass {
    Reply,
    Notification,
}

impl OutboundClass {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboundClass::Reply => "reply",
            OutboundClass::Notification => "notification",
        }
    }
}

impl std::str::FromStr for OutboundClass {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "reply" => Ok(OutboundClass::Reply),
            "notification" => Ok(OutboundClass::Notification),
            o => Err(format!("unknown outbound class {o}")),
        }
    }
}

#[derive(Clone, Debug)]
pub struct NewOutbound {
    pub channel_id: String,
    pub address: String,
    pub contact_id: Option<ContactId>,
    pub class: OutboundClass,
    /// The adapter's `OutboundMessage`, as JSON.
    pub body: serde_json::Value,
    /// Unique per tenant: the same key enqueued twice is one message.
    pub idempotency_key: String,
    /// Not sent before this instant (quiet hours, ordering).
    pub not_before: DateTime<Utc>,
}

/// Where an outbound message is. Statuses only move forward (`failed` is terminal).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboundStatus {
    Queued,
    Sent,
    Delivered,
    Read,
    Failed,
}

impl OutboundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboundStatus::Queued => "queued",
            OutboundStatus::Sent => "sent",
            OutboundStatus::Delivered => "delivered",
            OutboundStatus::Read => "read",
            OutboundStatus::Failed => "failed",
        }
    }
    /// The rank used by the forward-only rule.
    pub fn rank(self) -> i64 {
        self as i64
    }
}

impl std::str::FromStr for OutboundStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "queued" => OutboundStatus::Queued,
            "sent" => OutboundStatus::Sent,
            "delivered" => OutboundStatus::Delivered,
            "read" => OutboundStatus::Read,
            "failed" => OutboundStatus::Failed,
            o => return Err(format!("unknown outbound status {o}")),
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OutboundRecord {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub channel_id: String,
    /// Personal data: never log it whole.
    pub address: String,
    pub contact_id: Option<ContactId>,
    pub class: OutboundClass,
    pub body: serde_json::Value,
    pub idempotency_key: String,
    pub status: OutboundStatus,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub provider_message_id: Option<String>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How one send attempt ended.
#[derive(Clone, Debug)]
pub enum SendResult {
    Sent {
        provider_message_id: String,
    },
    /// Try again at `at` (back-off); the row stays queued.
    Retry {
        at: DateTime<Utc>,
        error: String,
    },
    /// Give up: recorded and visible.
    Failed {
        error: String,
    },
}

/// The channel a ticket was taken on: where its notifications go, in which language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketOrigin {
    pub ticket_id: TicketId,
    pub channel_id: String,
    pub address: String,
    pub contact_id: Option<ContactId>,
    pub locale: Option<String>,
}

/// A customer's rating of a visit.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Feedback {
    pub id: Uuid,
    pub channel_id: String,
    pub contact_id: ContactId,
    /// The ticket number the feedback flow was started for.
    pub ticket: Option<String>,
    /// `csat` (1–5) or `nps` (0–10).
    pub scale: String,
    pub score: i64,
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Feedback {
    /// The score fits its scale: CSAT 1–5, NPS 0–10.
    pub fn check(&self) -> Result<()> {
        let ok = match self.scale.as_str() {
            "csat" => (1..=5).contains(&self.score),
            "nps" => (0..=10).contains(&self.score),
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(crate::StoreError::Invalid(format!(
                "score {} on scale {}",
                self.score, self.scale
            )))
        }
    }
}

/// Everything a finished turn writes, in one transaction.
#[derive(Clone, Debug)]
pub struct TurnCommit {
    pub channel_id: String,
    pub address: String,
    /// The inbound row this turn answered (marked done); `None` for turns without one.
    pub inbound_seq: Option<i64>,
    pub session: Option<serde_json::Value>,
    pub locale: Option<String>,
    pub opted_out: bool,
    /// When the session's next timer fires (step timeout or expiry); `None`: no timer.
    pub due_at: Option<DateTime<Utc>>,
    pub outbound: Vec<NewOutbound>,
    /// A ticket the turn issued (or found), to notify on this channel later.
    pub origin: Option<TicketId>,
    pub at: DateTime<Utc>,
}

#[async_trait]
pub trait MessageStore: Send + Sync {
    /// Adds a channel (audited, without its configuration). `Conflict("channel")` when the
    /// id is taken.
    async fn create_channel(
        &self,
        tenant: TenantId,
        c: NewChannel,
        ctx: &AuditContext,
    ) -> Result<ChannelRecord>;
    /// Replaces a channel's name and configuration (audited, without the configuration).
    /// Another tenant's channel is `NotFound("channel")`.
    async fn update_channel(
        &self,
        tenant: TenantId,
        id: &str,
        name: String,
        config_enc: Vec<u8>,
        ctx: &AuditContext,
    ) -> Result<ChannelRecord>;
    /// A channel by its id, across tenants: a webhook names only the channel.
    async fn channel(&self, id: &str) -> Result<Option<ChannelRecord>>;
    async fn channels(&self, tenant: TenantId) -> Result<Vec<ChannelRecord>>;

    /// Stores an inbound event unless `(channel, provider message id)` was seen, and
    /// resolves its contact (by phone across channels, else by the channel address) and
    /// conversation, in one transaction.
    async fn accept_inbound(&self, tenant: TenantId, m: NewInbound) -> Result<Accepted>;
    /// Inbound rows not yet answered, oldest first (recovery after a crash).
    async fn pending_inbound(&self, tenant: TenantId, limit: u32) -> Result<Vec<InboundRecord>>;
    async fn conversation(
        &self,
        tenant: TenantId,
        channel_id: &str,
        address: &str,
    ) -> Result<Option<Conversation>>;
    /// Conversations whose timer is due at `now`, earliest first.
    async fn due_conversations(
        &self,
        tenant: TenantId,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Conversation>>;
    /// Writes a turn's session, replies, ticket origin, and marks its inbound row done.
    /// Outbound rows whose idempotency key exists are skipped. Returns the rows inserted.
    async fn commit_turn(&self, tenant: TenantId, t: TurnCommit) -> Result<Vec<OutboundRecord>>;

    /// Queues messages outside a turn (notifications); existing keys are skipped.
    async fn enqueue_outbound(
        &self,
        tenant: TenantId,
        rows: Vec<NewOutbound>,
        at: DateTime<Utc>,
    ) -> Result<Vec<OutboundRecord>>;
    /// Claims up to `limit` queued rows due at `now` — replies first, then by due time —
    /// by pushing their next attempt to `lease_until` and counting the attempt. A sender
    /// that dies releases them when the lease ends.
    async fn claim_outbound(
        &self,
        tenant: TenantId,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboundRecord>>;
    async fn record_send(
        &self,
        tenant: TenantId,
        id: Uuid,
        result: SendResult,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// A provider status for a sent message; applied only if it moves the status forward.
    /// Returns whether it changed anything.
    async fn record_delivery(
        &self,
        tenant: TenantId,
        channel_id: &str,
        provider_message_id: &str,
        status: OutboundStatus,
        error: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<bool>;
    /// The tenant's outbound messages, newest first (for the API and tests).
    async fn outbound(&self, tenant: TenantId, limit: u32) -> Result<Vec<OutboundRecord>>;

    async fn ticket_origin(
        &self,
        tenant: TenantId,
        ticket: TicketId,
    ) -> Result<Option<TicketOrigin>>;
    /// Tickets the contact took through a conversation (on any channel) that are not
    /// finished yet (waiting, called, recalled, serving, paused), oldest first.
    async fn open_tickets_of(&self, tenant: TenantId, contact: ContactId) -> Result<Vec<Ticket>>;
    /// Stores a rating; `Invalid` when the score is outside its scale.
    async fn record_feedback(&self, tenant: TenantId, f: Feedback) -> Result<()>;
    /// The tenant's ratings, newest first.
    async fn feedback(&self, tenant: TenantId, limit: u32) -> Result<Vec<Feedback>>;
    /// Position in the ticket event feed the notifier has handled.
    async fn notify_cursor(&self, tenant: TenantId) -> Result<i64>;
    /// Queues notifications and moves the cursor from `from` to `to` in one transaction.
    /// `Conflict("notify_cursor")` if the cursor is no longer at `from` (another node did it).
    async fn advance_notifications(
        &self,
        tenant: TenantId,
        from: i64,
        to: i64,
        rows: Vec<NewOutbound>,
        at: DateTime<Utc>,
    ) -> Result<Vec<OutboundRecord>>;
}
