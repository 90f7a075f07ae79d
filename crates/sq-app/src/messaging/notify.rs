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
use sq_channels::{OutboundBody, OutboundMessage};
use sq_domain::model::Tenant;
use sq_domain::ticket::{Ticket, TicketStatus};
use sq_domain::{QueueId, TicketId};
use sq_flow::Value;
use sq_store::{NewOutbound, OutboundClass, StoreError, TicketFilter, TicketOrigin};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

#[derive(Clone, Debug)]
pub struct NotifySettings {
    /// "Your turn is near" once a ticket has at most this many people ahead (0: off).
    pub approaching_position: u32,
    /// How often the feed is read: notifications leave within this of the event.
    pub poll: Duration,
}

impl Default for NotifySettings {
    fn default() -> Self {
        NotifySettings {
            approaching_position: 2,
            poll: Duration::from_millis(200),
        }
    }
}

/// Events read per batch.
const FEED_BATCH: u32 = 500;

impl Messaging {
    pub(crate) async fn notify_loop(self, stop: Arc<Notify>) {
        loop {
            if let Err(e) = self.notify_due().await {
                tracing::warn!(error = %e, "notifier");
            }
            tokio::select! {
                _ = stop.notified() => return,
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
                "call" => {
                    moved.insert(ticket.queue_id);
                    let counter = self.counter_label(tenant, &ticket).await?;
                    self.push(
                        &mut rows,
                        tenant,
                        &ticket,
                        key,
                        "notify-called",
                        vec![
                            ("ticket", Value::Text(ticket.number.clone())),
                            ("counter", Value::Text(counter)),
                        ],
                    )
                    .await?;
                }
                "recall" => {
                    let counter = self.counter_label(tenant, &ticket).await?;
                    self.push(
                        &mut rows,
                        tenant,
                        &ticket,
                        key,
                        "notify-recalled",
                        vec![
                            ("ticket", Value::Text(ticket.number.clone())),
                            ("counter", Value::Text(counter)),
                        ],
                    )
                    .await?;
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
                _ => {}
            }
        }
        let near = self.inner.notify.approaching_position;
        if near > 0 {
            for q in moved {
                self.approaching(&mut rows, tenant, q, near).await?;
            }
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

    /// "Your turn is near" for the first waiting tickets of a queue, once per ticket.
    async fn approaching(
        &self,
        rows: &mut Vec<NewOutbound>,
        tenant: &Tenant,
        queue: QueueId,
        near: u32,
    ) -> Result<()> {
        let store = &self.inner.app.store;
        let mut waiting = store
            .tickets(
                tenant.id,
                &TicketFilter {
                    status: Some(TicketStatus::Waiting),
                    queue_id: Some(queue),
                    limit: Some(1000),
                },
            )
            .await?;
        waiting.sort_by_key(|t| (t.arrived_at, t.seq));
        for t in waiting.into_iter().take(near as usize + 1) {
            let view = self.inner.app.view(tenant, t.clone()).await?;
            let Some(ahead) = view.ahead.filter(|a| *a <= near) else {
                continue;
            };
            self.push(
                rows,
                tenant,
                &t,
                format!("near:{}", t.id),
                "notify-approaching",
                vec![
                    ("ticket", Value::Text(t.number.clone())),
                    ("ahead", Value::Int(i64::from(ahead))),
                ],
            )
            .await?;
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

    async fn counter_label(&self, tenant: &Tenant, t: &Ticket) -> Result<String> {
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
        let Some(origin) = self.origin_of(tenant, ticket).await? else {
            return Ok(());
        };
        let mut hook = self.hook_for(tenant.id, &origin.channel_id).await?;
        // A USSD session is over long before the call: the customer hears by SMS, on the
        // tenant's first SMS channel, as USSD services do.
        if hook.record.kind == sq_domain::Channel::Ussd {
            let channels = self.inner.app.store.channels(tenant.id).await?;
            let Some(sms) = channels.iter().find(|c| c.kind == sq_domain::Channel::Sms) else {
                return Ok(());
            };
            hook = self.hook_for(tenant.id, &sms.id).await?;
        }
        let conv = self
            .inner
            .app
            .store
            .conversation(tenant.id, &hook.record.id, &origin.address)
            .await?;
        if conv.as_ref().is_some_and(|c| c.opted_out) {
            return Ok(());
        }
        let args: Vec<(String, Value)> = args.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let text = self.common_text(origin.locale.as_deref(), &hook, id, &args);
        let msg = OutboundMessage::new(
            address_of(hook.record.kind, &origin.address),
            OutboundBody::Text(text),
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
            not_before: self.inner.app.now(),
        });
        Ok(())
    }
}
