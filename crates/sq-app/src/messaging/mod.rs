//! The messaging side of SmartQueue (ARCHITECTURE.md §2, §6): configured channels, the
//! inbound pipeline that runs flows for customers, the outbox sender and the queue
//! notifications.
//!
//! - [`Messaging::receive`] takes a verified webhook's events: each message is stored in the
//!   inbox (deduplicated, contact resolved) *before* the provider is answered, then processed
//!   in the background — one conversation at a time, in arrival order. Statuses move an
//!   outbound message forward only.
//! - [`Messaging::ussd`] runs the same pipeline inline: the aggregator waits for the screen.
//! - A turn ([`host`]) runs the pure flow engine, performs its actions through the same use
//!   cases as the API (issue, status, cancel), renders the outputs with the choice ladder and
//!   commits session + replies + ticket origin in one store transaction.
//! - [`Messaging::run`] starts the sender ([`sender`]: leases due outbox rows, sends with the
//!   adapter, backs off on retryable errors) and the notifier ([`notify`]: follows the ticket
//!   event feed and queues "go to counter 3" on the channel and in the language the
//!   customer joined with).
//!
//! See `sq_store::messaging` for the inbox/outbox protocol that makes a crash lose no
//! accepted message and send none twice.

mod cipher;
mod host;
mod notify;
mod sender;

pub use cipher::{ChannelCipher, OpenError};
pub use notify::NotifySettings;

use crate::auth::Principal;
use crate::{App, AppError, RequestMeta, Result};
use chrono::{DateTime, Utc};
use sq_channels::{
    AdapterConfig, Address, ChannelAdapter, Inbound, InboundEvent, InboundKind, UssdReply,
};
use sq_domain::auth::Scope;
use sq_domain::model::Tenant;
use sq_domain::{Channel, TenantId};
use sq_flow::library::Library;
use sq_flow::messages::Localizer;
use sq_store::{
    Accepted, ChannelRecord, InboundRecord, NewChannel, NewInbound, OutboundRecord, OutboundStatus,
};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// Tells the background loops to finish.
#[derive(Clone, Debug)]
pub(crate) struct Stop(tokio::sync::watch::Receiver<bool>);

impl Stop {
    pub(crate) fn is_set(&self) -> bool {
        *self.0.borrow()
    }
    /// Resolves once stop is set (at once if it already is).
    pub(crate) async fn wait(&mut self) {
        let _ = self.0.wait_for(|s| *s).await;
    }
}

/// How long the list of tenants with channels is reused; a channel added on another node
/// starts sending within this.
const TENANTS_TTL: Duration = Duration::from_secs(2);

/// How often due flow timers are looked for: a timer fires at most this late (plus the
/// turn's own time).
const TIMER_TICK: Duration = Duration::from_millis(250);

/// A channel ready to take webhooks: its record, tenant and built adapter.
#[derive(Debug)]
pub struct Hook {
    pub record: ChannelRecord,
    pub tenant: Tenant,
    pub adapter: ChannelAdapter,
    /// The provider's sending limit for this account (config `messages_per_second`).
    pub messages_per_second: f64,
    /// WhatsApp: approved templates by notification message id (config `templates`:
    /// `{"notify-called": {"name": "ticket_called", "language": "en"}}`), used outside the
    /// 24-hour window. Their body parameters are the message's arguments, in order.
    pub templates: HashMap<String, (String, String)>,
    /// WhatsApp: the business number customers write to (config `display_phone_number`),
    /// for click-to-chat links.
    pub display_number: Option<String>,
}

/// The sending limit when the configuration names none: WhatsApp Cloud's default tier,
/// Telegram's per-bot limit, a cautious figure for SMS aggregators.
fn default_rate(kind: Channel) -> f64 {
    match kind {
        Channel::Whatsapp => 80.0,
        Channel::Telegram => 30.0,
        _ => 50.0,
    }
}

/// What flows read about a tenant's offer.
#[derive(Debug)]
pub(crate) struct Catalogue {
    pub sites: Vec<sq_domain::model::Site>,
    pub services: Vec<sq_domain::model::Service>,
    pub queues: Vec<sq_domain::model::Queue>,
}

/// What an admin sends to add a channel.
#[derive(Debug, Clone)]
pub struct NewChannelRequest {
    /// Chosen id (the demo's `demo-whatsapp`); a random unguessable one when `None`.
    pub id: Option<String>,
    pub name: String,
    /// The provider configuration (`{"provider": "telegram", "bot_token": …}`).
    pub config: serde_json::Value,
}

/// Held while a conversation's turn runs.
type TurnLock = Arc<tokio::sync::Mutex<()>>;

#[derive(Clone)]
pub struct Messaging {
    inner: Arc<Inner>,
}

struct Inner {
    app: App,
    flows: Library,
    /// Per flow id, formatting over the flow's own messages and `flows/common`.
    localizers: HashMap<String, Localizer>,
    /// `flows/common` alone: notifications and consent confirmations.
    common: Localizer,
    cipher: ChannelCipher,
    http: reqwest::Client,
    hooks: Mutex<HashMap<String, Arc<Hook>>>,
    /// One turn at a time per (channel, address): a contact's messages in order.
    turns: Mutex<HashMap<(String, String), TurnLock>>,
    /// AT USSD sends the whole input so far; what each session has consumed.
    ussd_consumed: Mutex<HashMap<String, String>>,
    /// Wakes the sender when rows are queued.
    outbox_ready: Notify,
    /// Provider rate limits of this process.
    limiter: sender::RateLimiter,
    /// Each tenant's sites, services and queues for flow context, re-read at most every
    /// [`TENANTS_TTL`]: every engine hop asks, and they change rarely.
    catalogues: Mutex<HashMap<TenantId, (std::time::Instant, Arc<Catalogue>)>>,
    /// Tenants with channels, re-read at most every [`TENANTS_TTL`] (every loop asks).
    tenants: Mutex<Option<(std::time::Instant, Vec<Tenant>)>>,
    notify: NotifySettings,
}

impl fmt::Debug for Messaging {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Messaging")
            .field("flows", &self.inner.flows.ids())
            .finish_non_exhaustive()
    }
}

/// The customer's channel kind for a provider configuration.
fn kind_of(config: &serde_json::Value) -> Option<(String, Channel)> {
    let provider = config.get("provider")?.as_str()?.to_owned();
    let kind = match provider.as_str() {
        "whatsapp_cloud" => Channel::Whatsapp,
        "twilio" => match config.get("channel").and_then(|c| c.as_str()) {
            Some("whatsapp") => Channel::Whatsapp,
            _ => Channel::Sms,
        },
        "africastalking_sms" => Channel::Sms,
        "africastalking_ussd" | "hubtel_ussd" => Channel::Ussd,
        "telegram" => Channel::Telegram,
        _ => return None,
    };
    Some((provider, kind))
}

/// Where an outbound message goes, from the address string stored with the conversation.
pub(crate) fn address_of(kind: Channel, address: &str) -> Address {
    match (kind, address.parse::<i64>()) {
        (Channel::Telegram, Ok(chat)) => Address::TelegramChat(chat),
        _ => Address::phone_or_other(address),
    }
}

/// The last four characters only: addresses are personal data.
pub fn redact(address: &str) -> String {
    let n = address.chars().count();
    let tail: String = address.chars().skip(n.saturating_sub(4)).collect();
    format!("…{tail}")
}

/// The caller has `scope` in this tenant; another tenant is not found, never forbidden.
fn allowed(p: &Principal, tenant: &Tenant, scope: Scope) -> Result<()> {
    p.require(scope)?;
    if !p.may_access(tenant.id) {
        return Err(AppError::NotFound("tenant"));
    }
    Ok(())
}

/// A channel's display name, trimmed: 1–80 characters.
fn channel_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.len() > 80 {
        return Err(invalid_config("name", "1-80 characters".into()));
    }
    Ok(name.to_owned())
}

fn invalid_config(field: &'static str, detail: String) -> AppError {
    AppError::Invalid {
        code: "invalid_channel_config",
        field,
        detail,
    }
}

/// The configuration must build an adapter.
fn check_config(config: &serde_json::Value) -> Result<()> {
    serde_json::from_value::<AdapterConfig>(config.clone())
        .map(drop)
        .map_err(|e| invalid_config("config", e.to_string()))
}

fn random_channel_id() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    let tail: String = (0..24)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("ch_{tail}")
}

impl Messaging {
    pub fn new(app: App, cipher: ChannelCipher, notify: NotifySettings) -> Result<Self> {
        let flows = Library::starter()
            .map_err(|d| AppError::Internal(format!("starter flows do not load: {d:?}")))?;
        let localizers = flows
            .flows
            .iter()
            .map(|f| (f.id().to_owned(), f.localizer(&[&flows.common])))
            .collect();
        let common = Localizer::new(&flows.common, &[]);
        // Provider APIs are called directly: never through a proxy from the environment.
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| AppError::Internal(format!("http client: {e}")))?;
        Ok(Messaging {
            inner: Arc::new(Inner {
                app,
                flows,
                localizers,
                common,
                cipher,
                http,
                hooks: Mutex::default(),
                turns: Mutex::default(),
                ussd_consumed: Mutex::default(),
                outbox_ready: Notify::new(),
                limiter: sender::RateLimiter::default(),
                tenants: Mutex::default(),
                catalogues: Mutex::default(),
                notify,
            }),
        })
    }

    pub fn app(&self) -> &App {
        &self.inner.app
    }

    /// Adds a channel: the configuration must build an adapter; it is stored encrypted and
    /// never returned.
    pub async fn create_channel(
        &self,
        p: &Principal,
        tenant: &Tenant,
        req: NewChannelRequest,
        meta: &RequestMeta,
    ) -> Result<ChannelRecord> {
        allowed(p, tenant, Scope::ManageTenant)?;
        let invalid = invalid_config;
        let (provider, kind) = kind_of(&req.config).ok_or_else(|| {
            invalid(
                "config.provider",
                "one of whatsapp_cloud, twilio, africastalking_sms, africastalking_ussd, \
                 hubtel_ussd, telegram"
                    .into(),
            )
        })?;
        check_config(&req.config)?;
        let id = match req.id {
            Some(id) => {
                let ok = (3..=64).contains(&id.len())
                    && id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if !ok {
                    return Err(invalid("id", "3-64 of a-z, 0-9, - and _".into()));
                }
                id
            }
            None => random_channel_id(),
        };
        let name = channel_name(&req.name)?;
        let sealed = self.inner.cipher.seal(req.config.to_string().as_bytes());
        let rec = self
            .inner
            .app
            .store
            .create_channel(
                tenant.id,
                NewChannel {
                    id,
                    provider,
                    kind,
                    name,
                    site_id: None,
                    config_enc: sealed,
                },
                &self.inner.app.ctx(p, meta),
            )
            .await?;
        *self.lock_tenants() = None;
        Ok(rec)
    }

    /// Creates the channel, or replaces the name and configuration of the tenant's channel
    /// with that id (the demo rewires its channels to the simulators on every start).
    pub async fn put_channel(
        &self,
        p: &Principal,
        tenant: &Tenant,
        req: NewChannelRequest,
        meta: &RequestMeta,
    ) -> Result<ChannelRecord> {
        allowed(p, tenant, Scope::ManageTenant)?;
        let existing = match &req.id {
            Some(id) => self.inner.app.store.channel(id).await?,
            None => None,
        };
        let Some(existing) = existing.filter(|c| c.tenant_id == tenant.id) else {
            return self.create_channel(p, tenant, req, meta).await;
        };
        if kind_of(&req.config).map(|(provider, _)| provider) != Some(existing.provider.clone()) {
            return Err(invalid_config(
                "config.provider",
                "a channel keeps its provider".into(),
            ));
        }
        let name = channel_name(&req.name)?;
        check_config(&req.config)?;
        let sealed = self.inner.cipher.seal(req.config.to_string().as_bytes());
        let rec = self
            .inner
            .app
            .store
            .update_channel(
                tenant.id,
                &existing.id,
                name,
                sealed,
                &self.inner.app.ctx(p, meta),
            )
            .await?;
        self.lock_hooks().remove(&rec.id);
        Ok(rec)
    }

    pub async fn channels(&self, p: &Principal, tenant: &Tenant) -> Result<Vec<ChannelRecord>> {
        allowed(p, tenant, Scope::ManageTenant)?;
        Ok(self.inner.app.store.channels(tenant.id).await?)
    }

    /// The tenant's outbound messages, newest first, with their delivery state.
    pub async fn outbound(
        &self,
        p: &Principal,
        tenant: &Tenant,
        limit: u32,
    ) -> Result<Vec<OutboundRecord>> {
        allowed(p, tenant, Scope::ReadReports)?;
        Ok(self
            .inner
            .app
            .store
            .outbound(tenant.id, limit.clamp(1, 1000))
            .await?)
    }

    /// A WhatsApp click-to-chat link that makes the chat follow a ticket (the kiosk ticket
    /// shows it), when the tenant has a WhatsApp channel with a display number.
    pub async fn whatsapp_follow_link(
        &self,
        tenant: TenantId,
        tracker_token: &str,
    ) -> Option<String> {
        let channels = self.inner.app.store.channels(tenant).await.ok()?;
        for c in channels.iter().filter(|c| c.kind == Channel::Whatsapp) {
            if let Ok(h) = self.hook(&c.id).await
                && let Some(n) = &h.display_number
            {
                let text: String =
                    form_urlencoded::byte_serialize(format!("TRACK {tracker_token}").as_bytes())
                        .collect();
                return Some(format!("https://wa.me/{n}?text={text}"));
            }
        }
        None
    }

    /// Ratings customers gave after their visit, newest first.
    pub async fn feedback(
        &self,
        p: &Principal,
        tenant: &Tenant,
        limit: u32,
    ) -> Result<Vec<sq_store::Feedback>> {
        allowed(p, tenant, Scope::ReadReports)?;
        Ok(self
            .inner
            .app
            .store
            .feedback(tenant.id, limit.clamp(1, 1000))
            .await?)
    }

    /// The channel behind `/hooks/{id}`, with its decrypted adapter (cached).
    pub async fn hook(&self, id: &str) -> Result<Arc<Hook>> {
        if let Some(h) = self.lock_hooks().get(id) {
            return Ok(h.clone());
        }
        let store = &self.inner.app.store;
        let record = store
            .channel(id)
            .await?
            .ok_or(AppError::NotFound("channel"))?;
        let tenant = store
            .tenant(record.tenant_id)
            .await?
            .ok_or(AppError::NotFound("channel"))?;
        let plain = self
            .inner
            .cipher
            .open(&record.config_enc)
            .map_err(|e| AppError::Internal(format!("channel {id}: {e}")))?;
        let raw: serde_json::Value = serde_json::from_slice(&plain)
            .map_err(|e| AppError::Internal(format!("channel {id} configuration: {e}")))?;
        let messages_per_second = raw
            .get("messages_per_second")
            .and_then(|v| v.as_f64())
            .filter(|r| *r > 0.0)
            .unwrap_or_else(|| default_rate(record.kind));
        let templates = raw
            .get("templates")
            .and_then(|t| t.as_object())
            .map(|m| {
                m.iter()
                    .filter_map(|(id, t)| {
                        let name = t.get("name")?.as_str()?.to_owned();
                        let lang = t.get("language")?.as_str()?.to_owned();
                        Some((id.clone(), (name, lang)))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let display_number = raw
            .get("display_phone_number")
            .and_then(|v| v.as_str())
            .map(|n| n.chars().filter(char::is_ascii_digit).collect::<String>())
            .filter(|n| n.len() >= 6);
        let config: AdapterConfig = serde_json::from_value(raw)
            .map_err(|e| AppError::Internal(format!("channel {id} configuration: {e}")))?;
        let hook = Arc::new(Hook {
            record,
            tenant,
            adapter: config.build(),
            messages_per_second,
            templates,
            display_number,
        });
        self.lock_hooks().insert(id.to_owned(), hook.clone());
        Ok(hook)
    }

    fn lock_hooks(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Hook>>> {
        self.inner.hooks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores every message of a verified webhook (deduplicated) and applies statuses; the
    /// messages are then answered in the background. Returns once everything is durable,
    /// so the provider's 200 means "accepted".
    pub async fn receive(&self, hook: &Arc<Hook>, events: Vec<Inbound>) -> Result<()> {
        let store = &self.inner.app.store;
        let now = self.inner.app.now();
        for e in events {
            match e {
                Inbound::Status(s) => {
                    let status = match s.status {
                        sq_channels::DeliveryStatus::Queued => continue,
                        sq_channels::DeliveryStatus::Sent => OutboundStatus::Sent,
                        sq_channels::DeliveryStatus::Delivered => OutboundStatus::Delivered,
                        sq_channels::DeliveryStatus::Read => OutboundStatus::Read,
                        sq_channels::DeliveryStatus::Failed => OutboundStatus::Failed,
                    };
                    store
                        .record_delivery(
                            hook.tenant.id,
                            &hook.record.id,
                            &s.provider_message_id,
                            status,
                            s.error_code,
                            now,
                        )
                        .await?;
                }
                Inbound::Message(m) => {
                    if let Some(rec) = self.accept(hook, &m, now).await? {
                        let this = self.clone();
                        let hook = hook.clone();
                        tokio::spawn(async move {
                            if let Err(e) = this.process(&hook, rec).await {
                                tracing::error!(channel = %hook.record.id, error = %e, "inbound turn failed; retried at next start");
                            }
                        });
                    }
                }
            }
        }
        Ok(())
    }

    async fn accept(
        &self,
        hook: &Hook,
        m: &InboundEvent,
        now: DateTime<Utc>,
    ) -> Result<Option<InboundRecord>> {
        let payload =
            serde_json::to_value(m).map_err(|e| AppError::Internal(format!("encode: {e}")))?;
        let accepted = self
            .inner
            .app
            .store
            .accept_inbound(
                hook.tenant.id,
                NewInbound {
                    channel_id: hook.record.id.clone(),
                    provider_message_id: m.provider_message_id.clone(),
                    address: m.from.to_string(),
                    phone: m.from.as_phone().cloned(),
                    profile_name: m.profile_name.clone(),
                    payload,
                    received_at: now,
                },
            )
            .await?;
        Ok(match accepted {
            Accepted::New(rec) => Some(rec),
            Accepted::Duplicate => {
                metrics::counter!("sq_inbound_duplicates_total").increment(1);
                None
            }
        })
    }

    /// Answers one stored inbound message (in order with the conversation's others).
    async fn process(&self, hook: &Hook, rec: InboundRecord) -> Result<()> {
        let lock = self.turn_lock(&rec.channel_id, &rec.address);
        let _guard = lock.lock().await;
        let event: InboundEvent = serde_json::from_value(rec.payload.clone())
            .map_err(|e| AppError::Internal(format!("stored inbound event: {e}")))?;
        let turn = host::Turn::load(self, hook, &event).await?;
        let outcome = turn.answer(&event).await?;
        let queued = outcome.commit(self, hook, Some(rec.seq)).await?;
        drop(_guard);
        self.release_turn_lock(&rec.channel_id, &rec.address, lock);
        if queued > 0 {
            self.inner.outbox_ready.notify_one();
        }
        metrics::counter!("sq_inbound_processed_total", "channel" => hook.record.kind.as_str())
            .increment(1);
        Ok(())
    }

    /// A USSD hop: stored, answered inline with the next screen.
    pub async fn ussd(&self, hook: &Arc<Hook>, event: InboundEvent) -> Result<UssdReply> {
        let now = self.inner.app.now();
        let InboundKind::UssdRequest {
            session_id,
            text_cumulative,
            last_input,
            is_new_session,
            ..
        } = &event.kind
        else {
            return Err(AppError::Invalid {
                code: "invalid_ussd",
                field: "kind",
                detail: "not a USSD hop".into(),
            });
        };
        // The input of this hop: what the cumulative text adds to what the session has
        // consumed (robust to a `*` the customer typed), else the dialect's last input.
        let input = match text_cumulative {
            Some(all) => {
                let consumed = self
                    .lock_ussd()
                    .get(session_id)
                    .cloned()
                    .unwrap_or_default();
                let new = if *is_new_session || all.is_empty() {
                    None
                } else {
                    sq_channels::ussd_new_input(&consumed, all)
                        .map(str::to_owned)
                        .or_else(|| last_input.clone())
                };
                self.lock_ussd().insert(session_id.clone(), all.clone());
                new
            }
            None => last_input.clone().filter(|_| !*is_new_session),
        };
        let Some(rec) = self.accept(hook, &event, now).await? else {
            // A replayed hop: the network retried it; repeat a neutral screen.
            return Ok(UssdReply::end(self.common_text(
                None,
                hook,
                "invalid-input",
                &[],
            )));
        };
        let lock = self.turn_lock(&rec.channel_id, &rec.address);
        let _guard = lock.lock().await;
        let turn = host::Turn::load(self, hook, &event).await?;
        let outcome = turn.ussd(input, *is_new_session).await?;
        let reply = outcome.ussd_reply();
        outcome.commit(self, hook, Some(rec.seq)).await?;
        if reply.end {
            self.lock_ussd().remove(session_id);
        }
        drop(_guard);
        self.release_turn_lock(&rec.channel_id, &rec.address, lock);
        metrics::counter!("sq_inbound_processed_total", "channel" => "ussd").increment(1);
        Ok(reply)
    }

    fn lock_ussd(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.inner
            .ussd_consumed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn turn_lock(&self, channel: &str, address: &str) -> TurnLock {
        self.inner
            .turns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((channel.to_owned(), address.to_owned()))
            .or_default()
            .clone()
    }

    /// Forgets a conversation's lock once nobody else holds or waits for it.
    fn release_turn_lock(&self, channel: &str, address: &str, lock: TurnLock) {
        let mut map = self.inner.turns.lock().unwrap_or_else(|e| e.into_inner());
        // Two references: the map's and ours.
        if Arc::strong_count(&lock) <= 2 {
            map.remove(&(channel.to_owned(), address.to_owned()));
        }
    }

    /// A message of `flows/common` in the conversation's language chain.
    fn common_text(
        &self,
        locale: Option<&str>,
        hook: &Hook,
        id: &str,
        args: &[(String, sq_flow::Value)],
    ) -> String {
        let chain =
            sq_flow::messages::locale_chain(locale, Some(hook.tenant.default_locale.as_str()));
        self.inner
            .common
            .format(
                &chain,
                id,
                args,
                sq_flow::messages::isolates(hook.record.kind),
            )
            .unwrap_or_else(|| format!("[{id}]"))
    }

    /// Answers the inbound messages a crash or restart left unanswered, in order. Run once
    /// at start, before taking new webhooks would be ideal; running alongside is safe
    /// (turn locks, idempotent commits).
    pub async fn recover(&self) -> Result<usize> {
        let store = &self.inner.app.store;
        let mut n = 0;
        for tenant in store.tenants().await? {
            loop {
                let pending = store.pending_inbound(tenant.id, 100).await?;
                if pending.is_empty() {
                    break;
                }
                for rec in pending {
                    let hook = self.hook(&rec.channel_id).await?;
                    if hook.record.kind == Channel::Ussd {
                        // The aggregator's request is long gone; close it as answered.
                        host::Turn::load_for(self, &hook, &rec.address)
                            .await?
                            .drop_ussd()
                            .await?
                            .commit(self, &hook, Some(rec.seq))
                            .await?;
                    } else {
                        self.process(&hook, rec).await?;
                    }
                    n += 1;
                }
            }
        }
        if n > 0 {
            tracing::info!(
                messages = n,
                "answered inbound messages left from before a restart"
            );
        }
        Ok(n)
    }

    /// Runs the outbox sender and the notifier until `shutdown` resolves.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) {
        // A watch, not a Notify: a loop busy when shutdown comes still sees it next time.
        let (stop_tx, stop) = tokio::sync::watch::channel(false);
        let sender = tokio::spawn(self.clone().send_loop(Stop(stop.clone())));
        let notifier = tokio::spawn(self.clone().notify_loop(Stop(stop.clone())));
        let timers = tokio::spawn(self.clone().timer_loop(Stop(stop)));
        shutdown.await;
        let _ = stop_tx.send(true);
        let _ = sender.await;
        let _ = notifier.await;
        let _ = timers.await;
    }

    async fn timer_loop(self, mut stop: Stop) {
        while !stop.is_set() {
            if let Err(e) = self.fire_timers().await {
                tracing::warn!(error = %e, "flow timers");
            }
            tokio::select! {
                _ = stop.wait() => return,
                _ = tokio::time::sleep(TIMER_TICK) => {}
            }
        }
    }

    /// Feeds every due step timeout or expiry to its session, conversations concurrently;
    /// returns how many fired.
    pub async fn fire_timers(&self) -> Result<usize> {
        let store = &self.inner.app.store;
        let mut fired = 0;
        for tenant in self.messaging_tenants().await? {
            let now = self.inner.app.now();
            let due = store.due_conversations(tenant.id, now, 500).await?;
            let mut tasks = tokio::task::JoinSet::new();
            for conv in due {
                let this = self.clone();
                let tenant = tenant.id;
                tasks.spawn(async move { this.fire_timer(tenant, conv, now).await });
            }
            while let Some(done) = tasks.join_next().await {
                match done {
                    Ok(Ok(())) => fired += 1,
                    Ok(Err(e)) => tracing::warn!(error = %e, "a flow timer failed"),
                    Err(e) => tracing::warn!(error = %e, "a flow timer task failed"),
                }
            }
        }
        Ok(fired)
    }

    async fn fire_timer(
        &self,
        tenant: TenantId,
        conv: sq_store::Conversation,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let hook = self.hook_for(tenant, &conv.channel_id).await?;
        let lock = self.turn_lock(&conv.channel_id, &conv.address);
        let guard = lock.lock().await;
        let turn = host::Turn::load_for(self, &hook, &conv.address).await?;
        // The key names the timer's instant: a timer fired twice sends once.
        let key = format!("timer:{}:{}", conv.address, now.timestamp_millis());
        let queued = turn
            .timer()
            .await?
            .commit_keyed(self, &hook, None, &key)
            .await?;
        drop(guard);
        self.release_turn_lock(&conv.channel_id, &conv.address, lock);
        if queued > 0 {
            self.inner.outbox_ready.notify_one();
        }
        Ok(())
    }

    /// Tenants that have at least one channel (the only ones with anything to send).
    async fn messaging_tenants(&self) -> Result<Vec<Tenant>> {
        if let Some((at, list)) = self.lock_tenants().as_ref()
            && at.elapsed() < TENANTS_TTL
        {
            return Ok(list.clone());
        }
        let store = &self.inner.app.store;
        let mut out = Vec::new();
        for t in store.tenants().await? {
            if !store.channels(t.id).await?.is_empty() {
                out.push(t);
            }
        }
        *self.lock_tenants() = Some((std::time::Instant::now(), out.clone()));
        Ok(out)
    }

    fn lock_tenants(&self) -> std::sync::MutexGuard<'_, Option<(std::time::Instant, Vec<Tenant>)>> {
        self.inner.tenants.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The tenant's catalogue for flow context (cached briefly).
    pub(crate) async fn catalogue(&self, tenant: TenantId) -> Result<Arc<Catalogue>> {
        let cached = self
            .inner
            .catalogues
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&tenant)
            .filter(|(at, _)| at.elapsed() < TENANTS_TTL)
            .map(|(_, c)| c.clone());
        if let Some(c) = cached {
            return Ok(c);
        }
        let store = &self.inner.app.store;
        let c = Arc::new(Catalogue {
            sites: store.sites(tenant).await?,
            services: store.services(tenant).await?,
            queues: store.queues(tenant).await?,
        });
        self.inner
            .catalogues
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(tenant, (std::time::Instant::now(), c.clone()));
        Ok(c)
    }

    async fn hook_for(&self, tenant: TenantId, channel: &str) -> Result<Arc<Hook>> {
        let h = self.hook(channel).await?;
        if h.tenant.id != tenant {
            return Err(AppError::NotFound("channel"));
        }
        Ok(h)
    }
}
