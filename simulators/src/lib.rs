//! # sq-sim — fake messaging providers for SmartQueue
//!
//! One axum app that plays every provider SmartQueue talks to, so the product can be run and
//! tested on one machine:
//!
//! | provider | send API served here | inbound delivered by the simulator |
//! |---|---|---|
//! | WhatsApp Cloud API | `POST /{version}/{phone_number_id}/messages` (Bearer) | `\u`-escaped JSON envelope signed `X-Hub-Signature-256` |
//! | Twilio | `POST /2010-04-01/Accounts/{sid}/Messages.json` (Basic, form) | form POST signed `X-Twilio-Signature` |
//! | Africa's Talking | `POST /version1/messaging` (`apiKey`, form) | SMS / delivery-report forms; USSD form hops reading `CON `/`END ` |
//! | Hubtel | — | USSD JSON Initiation / Response, reading `response` / `release` |
//! | Telegram Bot API | `POST /bot{token}/{method}` | one Update per POST with `X-Telegram-Bot-Api-Secret-Token` |
//!
//! Requests are validated the way the provider does (limits and error shapes from
//! `providers/README.md`), and everything received is recorded and returned by
//! `GET /sim/api/messages?channel=&to=`. Inbound traffic is driven with
//! `POST /sim/api/inbound/{channel}` (or [`Sim::inbound`]) and statuses with
//! `POST /sim/api/status/{channel}` (or [`Sim::status`]). Faults (duplicates, out-of-order
//! statuses, 429/5xx, slow responses, dropped USSD sessions) are set per channel with
//! `POST /sim/api/faults`.
//!
//! This crate shares **no** types with `sq-channels` on purpose: the wire formats here are
//! written independently from the provider documentation, so a wire-format bug in an adapter
//! cannot be cancelled out by the same bug in its simulator.

// Validation helpers return a ready provider error `Response` as their `Err`: the handlers
// answer it directly, and it is never on a hot path.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::net::TcpListener;

pub mod at;
pub mod hubtel;
pub mod sign;
pub mod telegram;
pub mod twilio;
pub mod whatsapp;

/// Channel names used in the simulator API, in recorded messages and in fault settings.
pub const CHANNELS: [&str; 6] = [
    "whatsapp",
    "twilio",
    "at-sms",
    "at-ussd",
    "hubtel-ussd",
    "telegram",
];

/// The demo channel id each channel's webhook lives under (`{webhook_base}/hooks/{id}`).
pub fn demo_channel_id(channel: &str) -> Option<&'static str> {
    Some(match channel {
        "whatsapp" => "demo-whatsapp",
        "twilio" => "demo-twilio-sms",
        "at-sms" => "demo-at-sms",
        "at-ussd" => "demo-at-ussd",
        "hubtel-ussd" => "demo-hubtel-ussd",
        "telegram" => "demo-telegram",
        _ => return None,
    })
}

/// How the simulator is wired to the application under test.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Base URL of SmartQueue; channel `c` receives its webhooks at
    /// `{webhook_base}/hooks/{demo_channel_id(c)}` unless overridden in `webhooks`.
    pub webhook_base: Option<String>,
    /// Per-channel webhook URL overrides (channel name → full URL).
    pub webhooks: HashMap<String, String>,
    /// Shared secret: WhatsApp app secret, Twilio auth token, Telegram secret token (until
    /// the bot calls `setWebhook` with its own).
    pub secret: String,
    /// WhatsApp `metadata.phone_number_id` of inbound messages (unless the request names
    /// one in `to`), and of statuses of messages the simulator did not send.
    pub whatsapp_phone_number_id: String,
    /// When set, the WhatsApp send API only accepts this Bearer token.
    pub whatsapp_token: Option<String>,
    /// When set, the Telegram Bot API only accepts this bot token.
    pub telegram_token: Option<String>,
    /// When set, the Africa's Talking send API only accepts this `apiKey`.
    pub at_api_key: Option<String>,
    /// After an accepted send, deliver sent/delivered(/read) statuses to the webhook.
    pub auto_statuses: bool,
    /// WhatsApp and Telegram webhooks: retries after a non-2xx answer (default 2)…
    pub webhook_retries: u32,
    /// …the first after this many milliseconds, then doubling (default 200).
    pub webhook_retry_ms: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            webhook_base: None,
            webhooks: HashMap::new(),
            secret: "demo-secret".to_owned(),
            whatsapp_phone_number_id: "106540352242922".to_owned(),
            whatsapp_token: None,
            telegram_token: None,
            at_api_key: None,
            auto_statuses: false,
            webhook_retries: 2,
            webhook_retry_ms: 200,
        }
    }
}

/// One request a fake provider API received (or one USSD screen the phone displayed).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Recorded {
    /// Sequence number, unique in this simulator.
    pub seq: u64,
    pub channel: String,
    /// Recipient as the provider saw it (`to`, `To`, `chat_id`, the USSD phone number).
    pub to: String,
    /// Request body as the provider saw it: JSON as sent, forms as an object of fields.
    pub body: Value,
    /// The human-readable text, when there is one.
    pub text: Option<String>,
    /// Provider message id handed back (wamid, SM…, ATXid_…, Telegram message_id).
    pub message_id: Option<String>,
    /// `None` when accepted; otherwise the provider error returned.
    pub error: Option<String>,
    /// Unix time in milliseconds.
    pub time: i64,
}

/// Fault settings of one channel (`POST /sim/api/faults`). Every field defaults to "no fault".
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Faults {
    pub channel: String,
    /// Deliver each inbound webhook / status callback this many times (0 and 1 mean once).
    pub duplicate: u32,
    /// Deliver a batch of statuses in reverse order (read before delivered before sent).
    pub out_of_order_statuses: bool,
    /// The next K calls to the send API fail with `fail_status`.
    pub fail_next: u32,
    /// HTTP status of injected failures: 429 (default) or a 5xx.
    pub fail_status: Option<u16>,
    /// Seconds announced in `Retry-After` / Telegram `retry_after` (default 1).
    pub retry_after: Option<u64>,
    /// Delay every send API response by this many milliseconds.
    pub delay_ms: u64,
    /// The next K USSD hops are dropped by the network after the app answered.
    pub drop_ussd: u32,
    /// Sign inbound webhooks with a wrong key (WhatsApp, Twilio) or send a wrong secret token
    /// (Telegram), as a forger would.
    pub forge_signature: bool,
    /// Send inbound webhooks without any signature / secret-token header.
    pub omit_signature: bool,
    /// Recipients the provider refuses: Africa's Talking answers 201 with status
    /// `UserInBlacklist` for them, Twilio 400 / 21610, Telegram 403 "bot was blocked by the
    /// user", WhatsApp accepts then reports `failed` (131026).
    pub reject_numbers: Vec<String>,
}

/// What the application answered to one webhook delivery.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Delivery {
    pub url: String,
    /// HTTP status, or 0 when the request could not be made.
    pub status: u16,
    pub body: String,
}

#[derive(Debug, Default)]
struct Inner {
    recorded: Vec<Recorded>,
    faults: HashMap<String, Faults>,
    ussd: HashMap<String, at::UssdSession>,
    /// Telegram: webhook URL and secret from `setWebhook`.
    telegram_webhook: Option<(String, Option<String>)>,
    /// Telegram callback query ids handed out and not yet answered.
    telegram_callbacks: Vec<String>,
    /// WhatsApp: phone_number_id each wamid was sent from.
    wa_sender: HashMap<String, String>,
    /// WhatsApp: last inbound time per wa_id (unix seconds) for the 24 h window.
    wa_last_inbound: HashMap<String, i64>,
    /// Accepted messages per (channel, normalised recipient), for cheap waiting.
    accepted: HashMap<(String, String), u64>,
    /// Webhook URLs set at run time (win over the configuration).
    webhooks: HashMap<String, String>,
    /// Twilio: opted-out numbers (STOP).
    twilio_opted_out: Vec<String>,
}

/// The simulator: cheap to clone, shared by the router and the Rust API.
#[derive(Debug, Clone)]
pub struct Sim {
    config: Arc<SimConfig>,
    inner: Arc<Mutex<Inner>>,
    counter: Arc<AtomicU64>,
    /// Woken on every recorded message.
    recorded_notify: Arc<tokio::sync::Notify>,
    client: reqwest::Client,
}

impl Sim {
    pub fn new(config: SimConfig) -> Sim {
        // Webhooks go straight to the configured URLs (usually 127.0.0.1): never through
        // a proxy picked up from the environment.
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("reqwest client builds");
        Sim {
            config: Arc::new(config),
            inner: Arc::new(Mutex::new(Inner::default())),
            counter: Arc::new(AtomicU64::new(1)),
            recorded_notify: Arc::new(tokio::sync::Notify::new()),
            client,
        }
    }

    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn next(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    /// A hex id that differs per call and per run.
    pub(crate) fn hex_id(&self, len: usize) -> String {
        let n = self.next();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let mut out = String::new();
        let mut x = nanos ^ ((n as u128) << 64) ^ (n as u128).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        while out.len() < len {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407 + n as u128);
            out.push_str(&format!("{:016x}", (x >> 64) as u64));
        }
        out.truncate(len);
        out
    }

    /// The webhook URL of a channel, if one is configured.
    pub fn webhook_url(&self, channel: &str) -> Option<String> {
        if channel == "telegram"
            && let Some((url, _)) = &self.lock().telegram_webhook
        {
            return Some(url.clone());
        }
        if let Some(url) = self.lock().webhooks.get(channel) {
            return Some(url.clone());
        }
        if let Some(url) = self.config.webhooks.get(channel) {
            return Some(url.clone());
        }
        let base = self.config.webhook_base.as_ref()?;
        Some(format!(
            "{}/hooks/{}",
            base.trim_end_matches('/'),
            demo_channel_id(channel)?
        ))
    }

    /// Point a channel's webhook somewhere else at run time (`POST /sim/api/webhooks`).
    /// `at-ussd-notify` sets the Africa's Talking end-of-session notification URL.
    pub fn set_webhook(&self, channel: &str, url: &str) {
        self.lock()
            .webhooks
            .insert(channel.to_owned(), url.to_owned());
    }

    /// Wait until a message to `to` on `channel` whose text contains `needle` is recorded
    /// (accepted ones only), polling every 20 ms, for at most `timeout`.
    pub async fn wait_for(
        &self,
        channel: &str,
        to: &str,
        needle: &str,
        timeout: Duration,
    ) -> Option<Recorded> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let found = self
                .messages(Some(channel), Some(to))
                .into_iter()
                .find(|m| {
                    m.error.is_none() && m.text.as_deref().is_some_and(|t| t.contains(needle))
                });
            if found.is_some() || tokio::time::Instant::now() >= deadline {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub(crate) fn record(
        &self,
        channel: &str,
        to: &str,
        body: Value,
        text: Option<String>,
        message_id: Option<String>,
        error: Option<String>,
    ) {
        let seq = self.next();
        let rec = Recorded {
            seq,
            channel: channel.to_owned(),
            to: to.to_owned(),
            body,
            text,
            message_id,
            error,
            time: chrono::Utc::now().timestamp_millis(),
        };
        tracing::debug!(channel, to, "recorded");
        {
            let mut inner = self.lock();
            if rec.error.is_none() {
                *inner
                    .accepted
                    .entry((rec.channel.clone(), normalize_address(&rec.to)))
                    .or_default() += 1;
            }
            inner.recorded.push(rec);
        }
        self.recorded_notify.notify_waiters();
    }

    /// Recorded requests, oldest first, filtered by channel and recipient (`+`, `whatsapp:`
    /// and `tel:` prefixes are ignored when comparing recipients).
    pub fn messages(&self, channel: Option<&str>, to: Option<&str>) -> Vec<Recorded> {
        let want = to.map(normalize_address);
        self.lock()
            .recorded
            .iter()
            .filter(|r| channel.is_none_or(|c| r.channel == c))
            .filter(|r| want.as_ref().is_none_or(|w| normalize_address(&r.to) == *w))
            .cloned()
            .collect()
    }

    pub fn clear_messages(&self) {
        let mut inner = self.lock();
        inner.recorded.clear();
        inner.accepted.clear();
    }

    /// How many accepted messages `to` has received on `channel` so far.
    pub fn accepted_count(&self, channel: &str, to: &str) -> u64 {
        self.lock()
            .accepted
            .get(&(channel.to_owned(), normalize_address(to)))
            .copied()
            .unwrap_or(0)
    }

    /// Wait until `to` has received more than `seen` accepted messages on `channel`.
    pub async fn wait_past(&self, channel: &str, to: &str, seen: u64, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.recorded_notify.notified();
            if self.accepted_count(channel, to) > seen {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.accepted_count(channel, to) > seen;
            }
        }
    }

    /// Replace the fault settings of `faults.channel`.
    pub fn set_faults(&self, faults: Faults) {
        self.lock().faults.insert(faults.channel.clone(), faults);
    }

    pub fn faults(&self, channel: &str) -> Faults {
        self.lock()
            .faults
            .get(channel)
            .cloned()
            .unwrap_or_else(|| Faults {
                channel: channel.to_owned(),
                ..Faults::default()
            })
    }

    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// Send-API fault gate: waits the configured delay, then consumes one injected failure if
    /// any is pending and returns `(status, retry_after_seconds)`.
    pub(crate) async fn send_fault(&self, channel: &str) -> Option<(StatusCode, u64)> {
        let delay = self.lock().faults.get(channel).map_or(0, |f| f.delay_ms);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        let mut inner = self.lock();
        let f = inner.faults.get_mut(channel)?;
        if f.fail_next == 0 {
            return None;
        }
        f.fail_next -= 1;
        let status = StatusCode::from_u16(f.fail_status.unwrap_or(429))
            .unwrap_or(StatusCode::TOO_MANY_REQUESTS);
        Some((status, f.retry_after.unwrap_or(1)))
    }

    /// Times each webhook is delivered under the `duplicate` fault.
    pub(crate) fn copies(&self, channel: &str) -> u32 {
        self.lock()
            .faults
            .get(channel)
            .map_or(1, |f| f.duplicate.max(1))
    }

    /// The key to sign a webhook of `channel` with: `None` to send no signature at all.
    pub(crate) fn signing_key(&self, channel: &str, real: &str) -> Option<String> {
        let f = self.faults(channel);
        if f.omit_signature {
            None
        } else if f.forge_signature {
            Some(format!("forged-{real}"))
        } else {
            Some(real.to_owned())
        }
    }

    pub(crate) fn rejects(&self, channel: &str, to: &str) -> bool {
        let to = normalize_address(to);
        self.lock()
            .faults
            .get(channel)
            .is_some_and(|f| f.reject_numbers.iter().any(|r| normalize_address(r) == to))
    }

    pub(crate) fn take_ussd_drop(&self, channel: &str) -> bool {
        let mut inner = self.lock();
        match inner.faults.get_mut(channel) {
            Some(f) if f.drop_ussd > 0 => {
                f.drop_ussd -= 1;
                true
            }
            _ => false,
        }
    }

    /// POST `body` to `url` with `headers`, `copies` times, returning what came back.
    pub(crate) async fn post(
        &self,
        url: &str,
        content_type: &str,
        headers: &[(&str, String)],
        body: &[u8],
        copies: u32,
    ) -> Vec<Delivery> {
        let mut out = Vec::new();
        for _ in 0..copies.max(1) {
            let mut req = self
                .client
                .post(url)
                .header("content-type", content_type)
                .body(body.to_vec());
            for (k, v) in headers {
                req = req.header(*k, v);
            }
            let d = match req.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let body = resp.text().await.unwrap_or_default();
                    Delivery {
                        url: url.to_owned(),
                        status,
                        body,
                    }
                }
                Err(e) => Delivery {
                    url: url.to_owned(),
                    status: 0,
                    body: e.to_string(),
                },
            };
            out.push(d);
        }
        out
    }

    /// Like [`Sim::post`], but each copy is retried on a non-2xx answer or a connection
    /// error, up to `webhook_retries` times with a doubling pause, as Meta and Telegram do
    /// (they keep trying for hours; the simulator gives up sooner).
    pub(crate) async fn post_retrying(
        &self,
        url: &str,
        content_type: &str,
        headers: &[(&str, String)],
        body: &[u8],
        copies: u32,
    ) -> Vec<Delivery> {
        let mut out = Vec::new();
        for _ in 0..copies.max(1) {
            let mut pause = Duration::from_millis(self.config.webhook_retry_ms);
            for attempt in 0..=self.config.webhook_retries {
                let d = self.post(url, content_type, headers, body, 1).await;
                let ok = d.iter().all(|d| (200..300).contains(&d.status));
                out.extend(d);
                if ok || attempt == self.config.webhook_retries {
                    break;
                }
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
        }
        out
    }

    /// Make the provider deliver an inbound message or USSD hop (see [`InboundRequest`]).
    pub async fn inbound(&self, channel: &str, req: InboundRequest) -> Result<Value, SimError> {
        match channel {
            "whatsapp" => whatsapp::inbound(self, req).await,
            "twilio" => twilio::inbound(self, req).await,
            "at-sms" => at::sms_inbound(self, req).await,
            "at-ussd" => at::ussd_hop(self, req).await,
            "hubtel-ussd" => hubtel::ussd_hop(self, req).await,
            "telegram" => telegram::inbound(self, req).await,
            other => Err(SimError::NotFound(format!("unknown channel {other}"))),
        }
    }

    /// Make the provider report statuses of a message it sent (see [`StatusRequest`]).
    pub async fn status(&self, channel: &str, req: StatusRequest) -> Result<Value, SimError> {
        let mut statuses = req.statuses.clone();
        if self
            .lock()
            .faults
            .get(channel)
            .is_some_and(|f| f.out_of_order_statuses)
        {
            statuses.reverse();
        }
        let mut deliveries = Vec::new();
        for status in &statuses {
            let one = StatusRequest {
                statuses: vec![status.clone()],
                ..req.clone()
            };
            let d = match channel {
                "whatsapp" => whatsapp::status(self, &one, status).await?,
                "twilio" => twilio::status(self, &one, status).await?,
                "at-sms" => at::sms_status(self, &one, status).await?,
                other => {
                    return Err(SimError::BadRequest(format!(
                        "channel {other} has no status callbacks"
                    )));
                }
            };
            deliveries.extend(d);
        }
        Ok(json!({ "statuses": statuses, "deliveries": deliveries }))
    }

    /// Deliver the usual status sequence of an accepted send in the background.
    pub(crate) fn spawn_auto_statuses(&self, channel: &'static str, req: StatusRequest) {
        if !self.config.auto_statuses {
            return;
        }
        let sim = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if let Err(e) = sim.status(channel, req).await {
                tracing::warn!(channel, error = %e, "auto status failed");
            }
        });
    }
}

/// What a simulated customer does (`POST /sim/api/inbound/{channel}`). Fields that do not
/// apply to a channel are ignored.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct InboundRequest {
    /// Sender: phone number (`+233…`), or Telegram user/chat id.
    pub from: String,
    /// Receiving number / short code (Twilio `To`, AT `to`), WhatsApp phone_number_id.
    pub to: Option<String>,
    pub text: Option<String>,
    /// Display name (WhatsApp profile, Telegram first_name).
    pub name: Option<String>,
    /// WhatsApp reply-button tap `{id, title}`.
    pub button_reply: Option<IdTitle>,
    /// WhatsApp list-row choice `{id, title}`.
    pub list_reply: Option<IdTitle>,
    /// Template quick-reply payload (WhatsApp `type:"button"`).
    pub button_payload: Option<String>,
    /// Telegram inline-keyboard tap.
    pub callback_data: Option<String>,
    /// USSD: the dialled string starts a new session (`*384*1#`).
    pub dial: Option<String>,
    /// USSD: continue this session with `text` as the input.
    pub session_id: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IdTitle {
    pub id: String,
    pub title: String,
}

/// Statuses to report for one sent message (`POST /sim/api/status/{channel}`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StatusRequest {
    pub message_id: String,
    /// Recipient of the original message.
    pub to: String,
    /// e.g. `["sent","delivered","read"]` or `["failed"]`.
    pub statuses: Vec<String>,
    /// Provider error code for `failed` (WhatsApp 131047, Twilio 30003…).
    pub error_code: Option<u32>,
    /// Where to send it instead of the channel webhook (Twilio `StatusCallback`).
    pub callback_url: Option<String>,
}

/// Errors of the simulator's own control API (not provider errors).
#[derive(Debug)]
pub enum SimError {
    BadRequest(String),
    NotFound(String),
    NoWebhook(String),
}

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SimError::BadRequest(m) => write!(f, "bad request: {m}"),
            SimError::NotFound(m) => write!(f, "not found: {m}"),
            SimError::NoWebhook(c) => write!(f, "no webhook URL configured for {c}"),
        }
    }
}

impl std::error::Error for SimError {}

impl IntoResponse for SimError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            SimError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            SimError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            SimError::NoWebhook(_) => (StatusCode::CONFLICT, "no_webhook"),
        };
        (
            status,
            axum::Json(json!({"error": code, "message": self.to_string()})),
        )
            .into_response()
    }
}

/// `+233 20…`, `whatsapp:+23320…`, `23320…` all compare equal.
pub fn normalize_address(s: &str) -> String {
    let s = s.trim();
    let s = s.strip_prefix("whatsapp:").unwrap_or(s);
    let s = s.strip_prefix("tel:").unwrap_or(s);
    s.trim_start_matches('+').replace([' ', '-'], "")
}

#[derive(Debug, Deserialize)]
struct MessagesQuery {
    channel: Option<String>,
    to: Option<String>,
}

async fn list_messages(State(sim): State<Sim>, Query(q): Query<MessagesQuery>) -> Response {
    axum::Json(sim.messages(q.channel.as_deref(), q.to.as_deref())).into_response()
}

async fn delete_messages(State(sim): State<Sim>) -> StatusCode {
    sim.clear_messages();
    StatusCode::NO_CONTENT
}

async fn post_faults(State(sim): State<Sim>, axum::Json(f): axum::Json<Faults>) -> Response {
    if !CHANNELS.contains(&f.channel.as_str()) {
        return SimError::BadRequest(format!("unknown channel {:?}", f.channel)).into_response();
    }
    if let Some(s) = f.fail_status
        && s != 429
        && !(500..600).contains(&s)
    {
        return SimError::BadRequest("fail_status must be 429 or 5xx".into()).into_response();
    }
    sim.set_faults(f.clone());
    axum::Json(f).into_response()
}

async fn get_faults(State(sim): State<Sim>) -> Response {
    let all: Vec<Faults> = CHANNELS.iter().map(|c| sim.faults(c)).collect();
    axum::Json(all).into_response()
}

async fn delete_faults(State(sim): State<Sim>) -> StatusCode {
    sim.clear_faults();
    StatusCode::NO_CONTENT
}

async fn post_inbound(
    State(sim): State<Sim>,
    Path(channel): Path<String>,
    axum::Json(req): axum::Json<InboundRequest>,
) -> Response {
    match sim.inbound(&channel, req).await {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn post_status(
    State(sim): State<Sim>,
    Path(channel): Path<String>,
    axum::Json(req): axum::Json<StatusRequest>,
) -> Response {
    match sim.status(&channel, req).await {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct VerifyRequest {
    verify_token: String,
}

async fn post_verify(
    State(sim): State<Sim>,
    axum::Json(req): axum::Json<VerifyRequest>,
) -> Response {
    match whatsapp::verify(&sim, &req.verify_token).await {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct WebhookRequest {
    channel: String,
    url: String,
}

async fn post_webhook(
    State(sim): State<Sim>,
    axum::Json(req): axum::Json<WebhookRequest>,
) -> Response {
    if !CHANNELS.contains(&req.channel.as_str()) && req.channel != "at-ussd-notify" {
        return SimError::BadRequest(format!("unknown channel {:?}", req.channel)).into_response();
    }
    sim.set_webhook(&req.channel, &req.url);
    axum::Json(json!({"channel": req.channel, "url": req.url})).into_response()
}

async fn get_webhooks(State(sim): State<Sim>) -> Response {
    let mut m = serde_json::Map::new();
    for c in CHANNELS.iter().copied().chain(["at-ussd-notify"]) {
        m.insert(c.to_owned(), json!(sim.webhook_url(c)));
    }
    axum::Json(Value::Object(m)).into_response()
}

/// One phone per channel in the browser (dependency-free HTML + JS over `/sim/api`).
async fn phones() -> axum::response::Html<&'static str> {
    axum::response::Html(include_str!("phones.html"))
}

async fn health() -> &'static str {
    "ok"
}

/// The whole simulator as one axum router.
pub fn router(sim: Sim) -> Router {
    Router::new()
        .route("/sim/health", get(health))
        .route("/sim/", get(phones))
        .route("/sim/phones", get(phones))
        .route(
            "/sim/api/messages",
            get(list_messages).delete(delete_messages),
        )
        .route(
            "/sim/api/faults",
            post(post_faults).get(get_faults).delete(delete_faults),
        )
        .route("/sim/api/inbound/{channel}", post(post_inbound))
        .route("/sim/api/status/{channel}", post(post_status))
        .route("/sim/api/verify/whatsapp", post(post_verify))
        .route("/sim/api/webhooks", post(post_webhook).get(get_webhooks))
        .route(
            "/{version}/{phone_number_id}/messages",
            post(whatsapp::send),
        )
        .route(
            "/2010-04-01/Accounts/{sid}/Messages.json",
            post(twilio::send),
        )
        .route("/version1/messaging", post(at::sms_send))
        .route(
            "/{bot}/{method}",
            post(telegram::method).get(telegram::method),
        )
        .with_state(sim)
}

/// Serve the simulator on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    sim: Sim,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(sim))
        .with_graceful_shutdown(shutdown)
        .await
}

/// GSM 03.38 basic table (1 septet) and extension table (2 septets: ESC + code).
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXT: &str = "\u{c}^{}\\[~]|€";

/// Septets `s` costs in GSM-7, or `None` when a character forces UCS-2.
pub fn gsm7_septets(s: &str) -> Option<usize> {
    s.chars().try_fold(0, |n, c| {
        if GSM7_BASIC.contains(c) {
            Some(n + 1)
        } else if GSM7_EXT.contains(c) {
            Some(n + 2)
        } else {
            None
        }
    })
}

/// A USSD screen longer than a handset can show: 182 GSM-7 characters (160 octets), or 80
/// characters once any character forces UCS-2.
pub fn ussd_screen_warning(screen: &str) -> Option<String> {
    match gsm7_septets(screen) {
        Some(n) if n > 182 => Some(format!(
            "screen is {n} GSM-7 septets; a USSD screen holds at most 182"
        )),
        None if screen.encode_utf16().count() > 80 => Some(format!(
            "screen is {} UCS-2 characters; a USSD screen holds at most 80",
            screen.encode_utf16().count()
        )),
        _ => None,
    }
}

pub(crate) fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Decode an `application/x-www-form-urlencoded` body into ordered pairs (duplicates kept).
pub fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// Encode ordered pairs as a form body.
pub fn encode_form(pairs: &[(String, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

pub(crate) fn form_get<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

pub(crate) fn form_json(pairs: &[(String, String)]) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v) in pairs {
        m.insert(k.clone(), Value::String(v.clone()));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gsm7_costs_and_ussd_screen_budget() {
        assert_eq!(gsm7_septets("Hello"), Some(5));
        assert_eq!(gsm7_septets("€{"), Some(4));
        assert_eq!(gsm7_septets("It’s"), None);
        assert_eq!(gsm7_septets("\"@\n"), Some(3));
        assert!(ussd_screen_warning(&"a".repeat(182)).is_none());
        assert!(ussd_screen_warning(&"a".repeat(183)).is_some());
        assert!(ussd_screen_warning(&"م".repeat(80)).is_none());
        assert!(ussd_screen_warning(&"م".repeat(81)).is_some());
    }
}
