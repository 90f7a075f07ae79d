//! The outbox sender: leases due rows tenant by tenant (a bounded batch each, so one busy
//! tenant cannot starve the others), sends each with its channel's adapter and records the
//! result. Retryable failures back off exponentially with jitter (at least the provider's
//! `Retry-After`); permanent ones are recorded as `failed` with the provider's code.
//!
//! Fairness: each pass leases at most [`BATCH`] rows per tenant and sends at most
//! [`PER_CHANNEL_PER_TICK`] per channel, replies first; the rest waits for the next pass.
//! Provider rate limits are kept with token buckets in this process ([`limits_for`]): each
//! channel's `messages_per_second` (default WhatsApp Cloud 80 per business number, Telegram
//! 30 per bot, SMS 50) and Telegram's 1/s per chat (bursts of 3); a message over its limit
//! waits until a token is due. A provider's 429 is
//! still retried after its `Retry-After` (several nodes share a number's limit).

use super::{Messaging, redact};
use crate::Result;
use chrono::{DateTime, Utc};
use sq_channels::{OutboundMessage, SendError};
use sq_store::{OutboundRecord, SendResult};
use std::collections::HashMap;
use std::time::Duration;

/// Rows leased per tenant per pass (sent concurrently, one task per conversation).
const BATCH: u32 = 200;
/// How long a leased row stays hidden from other senders.
const LEASE_SECS: i64 = 60;
/// Sends per channel per tick (a tick is at most [`TICK`]).
const PER_CHANNEL_PER_TICK: usize = 100;
const TICK: Duration = Duration::from_millis(100);
/// Give up after this many attempts.
const MAX_ATTEMPTS: u32 = 8;

/// The back-off before attempt `attempts + 1`: 1 s, 2 s, 4 s … capped at 5 min, ±25 %
/// jitter, never sooner than the provider asked.
pub(crate) fn backoff(attempts: u32, retry_after: Option<Duration>) -> Duration {
    use rand::Rng;
    let base = 1u64 << attempts.saturating_sub(1).min(8);
    let secs = (base as f64).min(300.0);
    let jitter = rand::rng().random_range(0.75..1.25);
    let d = Duration::from_secs_f64(secs * jitter);
    d.max(retry_after.unwrap_or_default())
}

/// `(bucket key, rate per second, burst)` for each limit a message counts against: the
/// channel's (its `messages_per_second`), and on Telegram the chat's, which a callback
/// answer does not count against (it is not a message in the chat).
fn limits_for(hook: &super::Hook, row: &OutboundRecord) -> Vec<(String, f64, f64)> {
    let rate = hook.messages_per_second;
    let mut out = vec![(format!("ch:{}", row.channel_id), rate, rate.max(1.0))];
    let is_answer = row.body.pointer("/body/answer_callback").is_some();
    if hook.record.kind == sq_domain::Channel::Telegram && !is_answer {
        out.push((format!("tg:{}:{}", row.channel_id, row.address), 1.0, 3.0));
    }
    out
}

/// Token buckets by key.
#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    buckets: std::sync::Mutex<HashMap<String, (f64, std::time::Instant)>>,
}

impl RateLimiter {
    /// Takes one token from every bucket, or none and says how long until all have one.
    pub(crate) fn take(&self, limits: &[(String, f64, f64)]) -> Result<(), Duration> {
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let now = std::time::Instant::now();
        let mut wait = Duration::ZERO;
        for (key, rate, burst) in limits {
            let (tokens, last) = map.get(key).copied().unwrap_or((*burst, now));
            let tokens = (tokens + now.duration_since(last).as_secs_f64() * rate).min(*burst);
            if tokens < 1.0 {
                wait = wait.max(Duration::from_secs_f64((1.0 - tokens) / rate));
            }
            map.insert(key.clone(), (tokens, now));
        }
        if wait > Duration::ZERO {
            return Err(wait);
        }
        for (key, _, _) in limits {
            if let Some(b) = map.get_mut(key) {
                b.0 -= 1.0;
            }
        }
        Ok(())
    }
}

impl Messaging {
    pub(crate) async fn send_loop(self, mut stop: super::Stop) {
        while !stop.is_set() {
            let busy = match self.send_due().await {
                Ok(n) => n > 0,
                Err(e) => {
                    tracing::warn!(error = %e, "outbox sender");
                    false
                }
            };
            if busy {
                tokio::select! {
                    _ = stop.wait() => return,
                    _ = tokio::time::sleep(Duration::from_millis(5)) => {}
                }
            } else {
                tokio::select! {
                    _ = stop.wait() => return,
                    _ = self.inner.outbox_ready.notified() => {}
                    _ = tokio::time::sleep(TICK) => {}
                }
            }
        }
    }

    /// One pass over every tenant; returns how many sends were attempted.
    pub async fn send_due(&self) -> Result<usize> {
        let store = &self.inner.app.store;
        let mut sent = 0;
        for tenant in self.messaging_tenants().await? {
            let now = self.inner.app.now();
            let rows = store
                .claim_outbound(
                    tenant.id,
                    now,
                    now + chrono::Duration::seconds(LEASE_SECS),
                    BATCH,
                )
                .await?;
            let mut per_channel: HashMap<String, usize> = HashMap::new();
            let mut deferred = Vec::new();
            let mut tasks = Vec::new();
            for row in rows {
                let n = per_channel.entry(row.channel_id.clone()).or_default();
                if *n >= PER_CHANNEL_PER_TICK {
                    deferred.push((row, Duration::ZERO));
                    continue;
                }
                let limits = match self.hook_for(tenant.id, &row.channel_id).await {
                    Ok(h) => limits_for(&h, &row),
                    Err(_) => Vec::new(),
                };
                if let Err(wait) = self.inner.limiter.take(&limits) {
                    deferred.push((row, wait));
                    continue;
                }
                *n += 1;
                tasks.push(row);
            }
            // One conversation's messages go out in order (it reads top to bottom);
            // conversations are sent concurrently.
            let mut by_conversation: HashMap<(String, String), Vec<OutboundRecord>> =
                HashMap::new();
            for row in tasks {
                by_conversation
                    .entry((row.channel_id.clone(), row.address.clone()))
                    .or_default()
                    .push(row);
            }
            let mut joins = Vec::new();
            for (_, rows) in by_conversation {
                let this = self.clone();
                joins.push(tokio::spawn(async move {
                    let mut n = 0;
                    for row in rows {
                        if let Err(e) = this.send_one(&row).await {
                            tracing::warn!(id = %row.id, error = %e, "recording a send failed");
                        }
                        n += 1;
                    }
                    n
                }));
            }
            for j in joins {
                sent += j.await.unwrap_or(0);
            }
            // Over a limit: released for when it allows the message.
            for (row, wait) in deferred {
                store
                    .record_send(
                        tenant.id,
                        row.id,
                        SendResult::Retry {
                            at: at_after(now, wait),
                            error: row.last_error.clone().unwrap_or_default(),
                        },
                        now,
                    )
                    .await?;
            }
        }
        Ok(sent)
    }

    async fn send_one(&self, row: &OutboundRecord) -> Result<()> {
        let store = &self.inner.app.store;
        let now = self.inner.app.now();
        let result = match self.deliver(row).await {
            Ok(id) => {
                metrics::counter!("sq_outbound_sent_total").increment(1);
                SendResult::Sent {
                    provider_message_id: id,
                }
            }
            Err(SendError::Retryable {
                retry_after,
                code,
                detail,
            }) if row.attempts < MAX_ATTEMPTS => {
                let wait = backoff(row.attempts, retry_after);
                tracing::info!(id = %row.id, to = %redact(&row.address), code, attempt = row.attempts, wait_ms = wait.as_millis() as u64, "send will be retried");
                metrics::counter!("sq_outbound_retries_total").increment(1);
                SendResult::Retry {
                    at: at_after(now, wait),
                    error: format!("{code}: {detail}"),
                }
            }
            Err(e) => {
                let (code, detail) = match &e {
                    SendError::Retryable { code, detail, .. }
                    | SendError::Permanent { code, detail } => (code.clone(), detail.clone()),
                };
                tracing::warn!(id = %row.id, to = %redact(&row.address), code, "send failed for good");
                metrics::counter!("sq_outbound_failed_total").increment(1);
                SendResult::Failed {
                    error: format!("{code}: {detail}"),
                }
            }
        };
        store
            .record_send(row.tenant_id, row.id, result, now)
            .await?;
        Ok(())
    }

    /// Renders and sends one row; the provider's message id on success.
    async fn deliver(&self, row: &OutboundRecord) -> Result<String, SendError> {
        let hook = self
            .hook_for(row.tenant_id, &row.channel_id)
            .await
            .map_err(|e| SendError::Permanent {
                code: "channel_unavailable".into(),
                detail: e.to_string(),
            })?;
        let msg: OutboundMessage =
            serde_json::from_value(row.body.clone()).map_err(|e| SendError::Permanent {
                code: "bad_outbox_row".into(),
                detail: e.to_string(),
            })?;
        let adapter = hook.adapter.adapter();
        let outcome = sq_channels::send(&self.inner.http, adapter.as_ref(), &msg).await?;
        // Africa's Talking answers 201 with per-recipient results: one refused is a failure.
        if let Some(r) = outcome.recipients.iter().find(|r| r.result.is_err())
            && let Err(e) = &r.result
        {
            return Err(e.clone());
        }
        Ok(outcome.provider_message_id)
    }
}

fn at_after(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::seconds(300))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_buckets_limit_each_key_and_refill() {
        let l = RateLimiter::default();
        let chat = |c: &str| {
            vec![
                ("bot".to_owned(), 30.0, 30.0),
                (format!("chat:{c}"), 1.0, 3.0),
            ]
        };
        for _ in 0..3 {
            assert!(l.take(&chat("a")).is_ok());
        }
        let wait = l.take(&chat("a")).unwrap_err();
        assert!(
            wait > Duration::from_millis(900) && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        // Another chat of the same bot is not held back by the first.
        assert!(l.take(&chat("b")).is_ok());
        // A refused message takes no token from the bot's bucket either.
        let l = RateLimiter::default();
        let one = vec![("x".to_owned(), 1000.0, 1.0)];
        assert!(l.take(&one).is_ok());
        std::thread::sleep(Duration::from_millis(5));
        assert!(l.take(&one).is_ok(), "refilled at 1000/s");
    }

    #[test]
    fn backoff_grows_with_jitter_and_honours_retry_after() {
        for attempt in 1..=12 {
            let d = backoff(attempt, None).as_secs_f64();
            let base = (1u64 << (attempt - 1).min(8)) as f64;
            let base = base.min(300.0);
            assert!(
                d >= base * 0.75 - 1e-9 && d <= base * 1.25 + 1e-9,
                "{attempt}: {d}"
            );
        }
        assert!(backoff(1, Some(Duration::from_secs(30))) >= Duration::from_secs(30));
    }
}
