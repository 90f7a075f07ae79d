//! Queue notifications: the notifier follows each tenant's ticket event feed (commit order)
//! from a stored cursor and queues a message for every event a customer should hear about —
//! called ("go to counter 3"), recalled, no-show, transferred, and "your turn is near" when a
//! call moves a waiting ticket to within [`NotifySettings::approaching_position`] of the
//! head. Messages go to the conversation the ticket was taken from, in its language, and
//! never to an opted-out contact.
//!
//! The cursor moves in the same transaction as the messages it produced, and each message's
//! idempotency key names its event (`evt:{position}`, `near:{ticket}`), so a crash or a
//! second node re-running a batch sends nothing twice.

use super::{Messaging, address_of};
use crate::Result;
use chrono::{DateTime, NaiveTime, Utc};
use sq_channels::{OutboundBody, OutboundMessage};
use sq_domain::model::Tenant;
use sq_domain::ticket::Ticket;
use sq_domain::{QueueId, TicketId};
use sq_flow::Value;
use sq_store::{NewOutbound, OutboundClass, StoreError, TicketOrigin};
use std::collections::BTreeSet;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct NotifySettings {
    /// "Your turn is near" once a ticket has at most this many people ahead (0: off)…
    pub approaching_position: u32,
    /// …or its ETA range ends within this many minutes (0: off).
    pub approaching_eta_minutes: u32,
    /// Position updates when the people ahead first fall to or below each of these.
    pub position_thresholds: Vec<u32>,
    /// Site-local hours in which non-urgent messages (position updates, feedback requests)
    /// wait until the end: `(start, end)`, may wrap midnight. Calls are always sent.
    pub quiet_hours: Option<(NaiveTime, NaiveTime)>,
    /// How often the feed is read: notifications leave within this of the event.
    pub poll: Duration,
    /// A USSD session dropped mid-flow is offered back on a redial within this.
    pub ussd_resume: Duration,
}

impl Default for NotifySettings {
    fn default() -> Self {
        NotifySettings {
            approaching_position: 2,
            approaching_eta_minutes: 5,
            position_thresholds: vec![10, 5],
            quiet_hours: Some((
                NaiveTime::from_hms_opt(21, 0, 0).unwrap_or_default(),
                NaiveTime::from_hms_opt(7, 0, 0).unwrap_or_default(),
            )),
            poll: Duration::from_millis(200),
            ussd_resume: Duration::from_secs(300),
        }
    }
}

/// Whether a message may wake the customer at night.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Urgency {
    Now,
    NotInQuietHours,
}

/// The first instant at or after `now` outside the quiet hours of a site in `tz`.
pub(crate) fn after_quiet_hours(
    now: DateTime<Utc>,
    tz: chrono_tz::Tz,
    (start, end): (NaiveTime, NaiveTime),
) -> DateTime<Utc> {
    let local = now.with_timezone(&tz);
    let t = local.time();
    let quiet = if start <= end {
        t >= start && t < end
    } else {
        t >= start || t < end
    };
    if !quiet {
        return now;
    }
    let day = if start > end && t >= start {
        local.date_naive() + chrono::Duration::days(1)
    } else {
        local.date_naive()
    };
    // A DST gap at `end` moves to the first valid instant after it.
    let mut wake = day.and_time(end);
    for _ in 0..4 {
        if let Some(at) = wake.and_local_timezone(tz).earliest() {
            return at.with_timezone(&Utc);
        }
        wake += chrono::Duration::minutes(30);
    }
    now
}

/// How long the notifier lets a burst of change signals gather before a pass.
const COALESCE: Duration = Duration::from_millis(20);

/// Events read per batch.
const FEED_BATCH: u32 = 500;

impl Messaging {
    pub(crate) async fn notify_loop(self, mut stop: super::Stop) {
        // A change signal (this node or another) wakes the notifier at once; the poll is
        // the safety net for a lost signal.
        let mut changes = self.inner.app.bus.subscribe();
        while !stop.is_set() {
            if let Err(e) = self.notify_due().await {
                tracing::warn!(error = %e, "notifier");
            }
            tokio::select! {
                _ = stop.wait() => return,
                _ = changes.recv() => {
                    // A burst of writes is one pass: let it gather, then drop the rest.
                    tokio::time::sleep(COALESCE).await;
                    while changes.try_recv().is_ok() {}
                }
                _ = tokio::time::sleep(self.inner.notify.poll) => {}
            }
        }
    }

    /// One pass over every tenant; returns how many messages were queued.
    pub async fn notify_due(&self) -> Result<usize> {
        let mut n = 0;
        for t in self.messaging_tenants().await? {
            loop {
                match self.notify_tenant(&t).await {
                    Ok(None) => break,
                    Ok(Some(k)) => n += k,
                    // Another node moved the cursor first: its batch stands.
                    Err(crate::AppError::Conflict(_)) => break,
                    Err(e) => return Err(e),
                }
            }
        }
        if n > 0 {
            self.inner.outbox_ready.notify_one();
        }
        Ok(n)
    }

    /// One batch of one tenant's feed; `None` when it is up to date.
    async fn notify_tenant(&self, tenant: &Tenant) -> Result<Option<usize>> {
        let store = &self.inner.app.store;
        let from = store.notify_cursor(tenant.id).await?;
        let feed = store.ticket_event_feed(tenant.id, from, FEED_BATCH).await?;
        let Some((to, _)) = feed.last() else {
            return Ok(None);
        };
        let to = *to;
        let mut rows = Vec::new();
        let mut moved: BTreeSet<QueueId> = BTreeSet::new();
        for (pos, ev) in &feed {
            let Some(ticket) = store.ticket(tenant.id, ev.ticket_id).await? else {
                continue;
            };
            let key = format!("evt:{pos}");
            match ev.kind.as_str() {
                kind @ ("call" | "recall") => {
                    if kind == "call" {
                        moved.insert(ticket.queue_id);
                    }
                    let id = if kind == "call" {
                        "notify-called"
                    } else {
                        "notify-recalled"
                    };
                    let counter = self.counter_label(tenant, &ticket).await?;
                    let args = vec![
                        ("ticket", Value::Text(ticket.number.clone())),
                        ("counter", Value::Text(counter)),
                    ];
                    self.push(&mut rows, tenant, &ticket, key, id, args).await?;
                }
                "no_show" => {
                    self.push(
                        &mut rows,
                        tenant,
                        &ticket,
                        key,
                        "notify-no-show",
                        vec![("ticket", Value::Text(ticket.number.clone()))],
                    )
                    .await?;
                }
                "transfer" => {
                    moved.insert(ticket.queue_id);
                    if let Some(new_id) = ticket.transferred_to
                        && let Some(new) = store.ticket(tenant.id, new_id).await?
                    {
                        let service = store
                            .service(tenant.id, new.service_id)
                            .await?
                            .map(|s| s.name.as_str().to_owned())
                            .unwrap_or_default();
                        self.push(
                            &mut rows,
                            tenant,
                            &ticket,
                            key,
                            "notify-transferred",
                            vec![
                                ("ticket", Value::Text(new.number.clone())),
                                ("service", Value::Text(service)),
                            ],
                        )
                        .await?;
                    }
                }
                "cancel" => {
                    moved.insert(ticket.queue_id);
                }
                "close" => self.ask_feedback(tenant, &ticket, &key).await?,
                _ => {}
            }
        }
        for q in moved {
            self.approaching(&mut rows, tenant, q).await?;
        }
        let now = self.inner.app.now();
        let queued = store
            .advance_notifications(tenant.id, from, to, rows, now)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(w) => crate::AppError::Conflict(w),
                e => e.into(),
            })?;
        Ok(Some(queued.len()))
    }

    /// For the first waiting tickets of a queue that moved: "your turn is near" (position
    /// or ETA), else a position update at each threshold crossed. Each is sent once per
    /// ticket and threshold (the idempotency key says which), which also caps how often a
    /// customer hears from the queue.
    async fn approaching(
        &self,
        rows: &mut Vec<NewOutbound>,
        tenant: &Tenant,
        queue: QueueId,
    ) -> Result<()> {
        let settings = &self.inner.notify;
        let store = &self.inner.app.store;
        let horizon = settings
            .position_thresholds
            .iter()
            .copied()
            .chain([settings.approaching_position])
            .max()
            .unwrap_or(0);
        // Only the front of each class can be within the horizon, however long the line.
        let waiting = store.waiting_heads(tenant.id, queue, horizon + 1).await?;
        for t in waiting {
            let view = self.inner.app.view(tenant, t.clone()).await?;
            let Some(ahead) = view.ahead else { continue };
            let soon = view.eta.is_some_and(|e| {
                settings.approaching_eta_minutes > 0
                    && e.max_seconds <= settings.approaching_eta_minutes * 60
            });
            let args = vec![
                ("ticket", Value::Text(t.number.clone())),
                ("ahead", Value::Int(i64::from(ahead))),
            ];
            if (settings.approaching_position > 0 && ahead <= settings.approaching_position) || soon
            {
                self.push(
                    rows,
                    tenant,
                    &t,
                    format!("near:{}", t.id),
                    "notify-approaching",
                    args,
                )
                .await?;
            } else if let Some(step) = settings
                .position_thresholds
                .iter()
                .copied()
                .filter(|th| ahead <= *th)
                .min()
            {
                let key = format!("pos:{}:{step}", t.id);
                self.push_with(
                    rows,
                    tenant,
                    &t,
                    key,
                    "notify-position",
                    args,
                    Urgency::NotInQuietHours,
                )
                .await?;
            }
        }
        Ok(())
    }

    /// A served customer is asked for feedback on the channel they came from, unless they
    /// are in another conversation.
    async fn ask_feedback(&self, tenant: &Tenant, ticket: &Ticket, key: &str) -> Result<()> {
        let Some(origin) = self.origin_of(tenant, ticket).await? else {
            return Ok(());
        };
        let hook = self.hook_for(tenant.id, &origin.channel_id).await?;
        if hook.record.kind == sq_domain::Channel::Ussd {
            return Ok(());
        }
        let service = self
            .inner
            .app
            .store
            .service(tenant.id, ticket.service_id)
            .await?
            .map(|s| s.name.as_str().to_owned())
            .unwrap_or_default();
        let mut vars = sq_flow::Vars::new();
        vars.insert("ticket".into(), Value::Text(ticket.number.clone()));
        vars.insert("service_name".into(), Value::Text(service));
        let lock = self.turn_lock(&origin.channel_id, &origin.address);
        let guard = lock.lock().await;
        let outcome = super::host::Turn::load_for(self, &hook, &origin.address)
            .await?
            .event_flow("feedback", vars)
            .await?;
        let queued = outcome.commit_keyed(self, &hook, None, key).await?;
        drop(guard);
        self.release_turn_lock(&origin.channel_id, &origin.address, lock);
        if queued > 0 {
            self.inner.outbox_ready.notify_one();
        }
        Ok(())
    }

    /// The conversation a ticket was taken from, following transfers back to the original.
    async fn origin_of(&self, tenant: &Tenant, ticket: &Ticket) -> Result<Option<TicketOrigin>> {
        let store = &self.inner.app.store;
        let mut id: Option<TicketId> = Some(ticket.id);
        // A transfer chain is short; the bound guards against a cycle in bad data.
        for _ in 0..8 {
            let Some(current) = id else { break };
            if let Some(o) = store.ticket_origin(tenant.id, current).await? {
                return Ok(Some(o));
            }
            id = store
                .ticket(tenant.id, current)
                .await?
                .and_then(|t| t.transferred_from);
        }
        Ok(None)
    }

    pub(crate) async fn counter_label(&self, tenant: &Tenant, t: &Ticket) -> Result<String> {
        let Some(id) = t.counter_id else {
            return Ok(String::new());
        };
        Ok(self
            .inner
            .app
            .store
            .counter(tenant.id, id)
            .await?
            .map(|c| c.name.as_str().to_owned())
            .unwrap_or_default())
    }

    /// Queues message `id` for the customer of `ticket`, if they joined through a channel
    /// and have not opted out.
    async fn push(
        &self,
        rows: &mut Vec<NewOutbound>,
        tenant: &Tenant,
        ticket: &Ticket,
        key: String,
        id: &str,
        args: Vec<(&str, Value)>,
    ) -> Result<()> {
        self.push_with(rows, tenant, ticket, key, id, args, Urgency::Now)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn push_with(
        &self,
        rows: &mut Vec<NewOutbound>,
        tenant: &Tenant,
        ticket: &Ticket,
        key: String,
        id: &str,
        args: Vec<(&str, Value)>,
        urgency: Urgency,
    ) -> Result<()> {
        let Some(origin) = self.origin_of(tenant, ticket).await? else {
            return Ok(());
        };
        let mut hook = self.hook_for(tenant.id, &origin.channel_id).await?;
        let now = self.inner.app.now();
        let store = &self.inner.app.store;
        let conv = store
            .conversation(tenant.id, &hook.record.id, &origin.address)
            .await?;
        if conv.as_ref().is_some_and(|c| c.opted_out) {
            return Ok(());
        }
        // USSD cannot be pushed to, and WhatsApp allows free text only within 24 hours of
        // the customer's last message: both fall back to SMS on the tenant's first SMS
        // channel, when the address is a phone number.
        let closed = match hook.record.kind {
            sq_domain::Channel::Ussd => true,
            sq_domain::Channel::Whatsapp => !sq_channels::whatsapp::within_service_window(
                conv.as_ref().and_then(|c| c.last_inbound_at),
                now,
            ),
            _ => false,
        };
        let template = hook.templates.get(id).cloned();
        if closed && hook.record.kind == sq_domain::Channel::Whatsapp && template.is_some() {
            // Outside the window an approved template may still be sent.
        } else if closed {
            let channels = store.channels(tenant.id).await?;
            let sms = channels.iter().find(|c| c.kind == sq_domain::Channel::Sms);
            let phone = sq_channels::Address::phone_or_other(&origin.address);
            let (Some(sms), Some(_)) = (sms, phone.as_phone()) else {
                tracing::info!(channel = %hook.record.id, "no channel can reach the customer now; notification dropped");
                return Ok(());
            };
            hook = self.hook_for(tenant.id, &sms.id).await?;
            let opted_out = store
                .conversation(tenant.id, &hook.record.id, &origin.address)
                .await?
                .is_some_and(|c| c.opted_out);
            if opted_out {
                return Ok(());
            }
        }
        let args: Vec<(String, Value)> = args.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let body =
            match template.filter(|_| closed && hook.record.kind == sq_domain::Channel::Whatsapp) {
                Some((name, language)) => OutboundBody::Template(sq_channels::Template {
                    name,
                    language,
                    body_params: args.iter().map(|(_, v)| v.to_string()).collect(),
                    quick_reply_payloads: Vec::new(),
                }),
                None => {
                    OutboundBody::Text(self.common_text(origin.locale.as_deref(), &hook, id, &args))
                }
            };
        let msg = OutboundMessage::new(
            address_of(hook.record.kind, &origin.address),
            body,
            sq_channels::MessageKind::Notification,
        );
        rows.push(NewOutbound {
            channel_id: hook.record.id.clone(),
            address: origin.address.clone(),
            contact_id: origin.contact_id,
            class: OutboundClass::Notification,
            body: serde_json::to_value(&msg)
                .map_err(|e| crate::AppError::Internal(format!("encode: {e}")))?,
            idempotency_key: key,
            not_before: self.not_before(tenant, ticket, urgency).await?,
        });
        Ok(())
    }

    async fn not_before(
        &self,
        tenant: &Tenant,
        ticket: &Ticket,
        urgency: Urgency,
    ) -> Result<DateTime<Utc>> {
        let now = self.inner.app.now();
        let (Urgency::NotInQuietHours, Some(hours)) = (urgency, self.inner.notify.quiet_hours)
        else {
            return Ok(now);
        };
        let Some(site) = self.inner.app.store.site(tenant.id, ticket.site_id).await? else {
            return Ok(now);
        };
        Ok(after_quiet_hours(now, site.timezone.0, hours))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn hours(a: u32, b: u32) -> (NaiveTime, NaiveTime) {
        (
            NaiveTime::from_hms_opt(a, 0, 0).unwrap(),
            NaiveTime::from_hms_opt(b, 0, 0).unwrap(),
        )
    }

    #[test]
    fn quiet_hours_defer_to_their_local_end() {
        let nairobi = chrono_tz::Africa::Nairobi; // UTC+3
        let at = |h, m| Utc.with_ymd_and_hms(2026, 3, 10, h, m, 0).unwrap();
        // 22:30 local → 07:00 local next day (04:00 UTC).
        assert_eq!(
            after_quiet_hours(at(19, 30), nairobi, hours(21, 7)),
            Utc.with_ymd_and_hms(2026, 3, 11, 4, 0, 0).unwrap()
        );
        // 06:00 local → 07:00 local the same day.
        assert_eq!(after_quiet_hours(at(3, 0), nairobi, hours(21, 7)), at(4, 0));
        // Noon: not quiet.
        assert_eq!(after_quiet_hours(at(9, 0), nairobi, hours(21, 7)), at(9, 0));
        // A window that does not wrap midnight: 12:00-14:00.
        assert_eq!(
            after_quiet_hours(at(10, 0), nairobi, hours(12, 14)),
            at(11, 0)
        );
    }

    #[test]
    fn quiet_hours_ending_in_a_dst_gap_end_after_it() {
        // Paris springs forward on 2026-03-29 at 02:00 → 03:00; a window ending at 02:30
        // ends at the first valid local time after the gap.
        let paris = chrono_tz::Europe::Paris;
        let before = Utc.with_ymd_and_hms(2026, 3, 28, 23, 30, 0).unwrap(); // 00:30 local
        let end = (
            NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
            NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
        );
        let wake = after_quiet_hours(before, paris, end);
        assert_eq!(wake, Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap()); // 03:00 CEST
    }
}
