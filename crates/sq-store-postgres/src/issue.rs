//! Issuing tickets in batches: the requests that wait while a lane is busy are issued
//! together, by one write of three statements, whatever their number.
//!
//! Why: issuing is the busiest write (every customer, every channel), and on PostgreSQL
//! each of its statements costs a round trip plus the executor's start-up, trigger and
//! foreign-key work, all on the tenant's one lane. Issued one by one, a hot tenant's
//! tickets queued behind each other at about 0.3 × pgbench's TPC-B. A batch pays that per
//! statement once: one statement numbers every ticket of the batch (one counter update per
//! queue and local day) and locks the audit head, then one inserts all the tickets, their
//! events and their chained audit rows.
//!
//! How: a request joins its lane's waiting list. If no drain runs for that lane, the
//! request starts one (a task on the caller's runtime); the drain takes everything
//! waiting, issues it (one write per tenant), answers each request, and loops until the
//! list is empty. So a request alone is issued at once, and under load a batch is exactly
//! what arrived during the previous one.
//!
//! Each request keeps its own outcome: an unknown service or a closed queue is answered
//! with its own error while the rest of the batch is issued. If the batch fails as a whole
//! (a database error, say on a contact), nothing of it stays and each request is issued
//! again alone, so one bad request cannot fail the others.

use super::*;
use std::sync::Mutex;
use tokio::sync::oneshot;

/// The most requests issued by one write: bounds a batch's statements' size.
const MAX_BATCH: usize = 256;

type Issued = Result<(Ticket, PositionInputs)>;

struct Request {
    tenant: TenantId,
    req: IssueTicket,
    ctx: AuditContext,
    reply: oneshot::Sender<Issued>,
}

#[derive(Default)]
struct Waiting {
    requests: Vec<Request>,
    draining: bool,
}

/// One waiting list per lane.
#[derive(Clone)]
pub(crate) struct Batcher {
    lists: Arc<[Mutex<Waiting>]>,
    lanes: Lanes,
    zones: Zones,
}

impl std::fmt::Debug for Batcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher").finish_non_exhaustive()
    }
}

impl Batcher {
    pub(crate) fn new(lanes: Lanes, zones: Zones) -> Batcher {
        Batcher {
            lists: (0..lanes.len()).map(|_| Mutex::default()).collect(),
            lanes,
            zones,
        }
    }

    pub(crate) async fn issue(
        &self,
        tenant: TenantId,
        req: IssueTicket,
        ctx: &AuditContext,
    ) -> Issued {
        let (reply, answer) = oneshot::channel();
        let mut ctx = ctx.clone();
        ctx.at = truncate_micros(ctx.at);
        let lane = self.lanes.index(tenant);
        let start = {
            let mut w = self.lists[lane].lock().unwrap_or_else(|e| e.into_inner());
            w.requests.push(Request {
                tenant,
                req,
                ctx,
                reply,
            });
            !std::mem::replace(&mut w.draining, true)
        };
        if start {
            // A task, not this caller: the drain must go on even if this caller's future
            // is dropped (a client that hangs up), or the others would wait forever.
            tokio::spawn(self.clone().drain(lane));
        }
        answer
            .await
            .unwrap_or_else(|_| Err(StoreError::Backend("the issuing task stopped".into())))
    }

    async fn drain(self, lane: usize) {
        loop {
            let batch = {
                let mut w = self.lists[lane].lock().unwrap_or_else(|e| e.into_inner());
                if w.requests.is_empty() {
                    w.draining = false;
                    return;
                }
                let n = w.requests.len().min(MAX_BATCH);
                w.requests.drain(..n).collect::<Vec<_>>()
            };
            let mut by_tenant: BTreeMap<TenantId, Vec<Request>> = BTreeMap::new();
            for r in batch {
                by_tenant.entry(r.tenant).or_default().push(r);
            }
            // One write per tenant, queued together so the lane commits them as a group.
            futures::future::join_all(
                by_tenant
                    .into_iter()
                    .map(|(tenant, requests)| self.issue_all(tenant, requests)),
            )
            .await;
        }
    }

    /// Issues one tenant's requests together, or (if that fails as a whole) one by one.
    async fn issue_all(&self, tenant: TenantId, mut requests: Vec<Request>) {
        if requests.len() > 1 {
            // Numbers follow arrival: (arrived_at, seq) must order the line the same way.
            requests.sort_by_key(|r| r.ctx.at);
            let input = requests
                .iter()
                .map(|r| (r.req.clone(), r.ctx.clone()))
                .collect();
            match self.write_batch(tenant, input).await {
                Ok(outcomes) => {
                    for (r, outcome) in requests.into_iter().zip(outcomes) {
                        let _ = r.reply.send(outcome);
                    }
                    return;
                }
                // A failed commit may still have committed (a connection lost during
                // COMMIT): issuing again could issue twice, so the requests hear of it.
                Err(StoreError::Backend(e)) if e.starts_with("commit: ") => {
                    for r in requests {
                        let _ = r.reply.send(Err(StoreError::Backend(e.clone())));
                    }
                    return;
                }
                // Something in the batch failed and nothing of it stays: one by one.
                Err(_) => {}
            }
        }
        for r in requests {
            let outcome = self.issue_one(tenant, r.req, r.ctx).await;
            let _ = r.reply.send(outcome);
        }
    }

    /// One request alone; issued again once if its site's zone had changed.
    async fn issue_one(&self, tenant: TenantId, req: IssueTicket, ctx: AuditContext) -> Issued {
        let mut outcome = self
            .write_batch(tenant, vec![(req.clone(), ctx.clone())])
            .await;
        if matches!(&outcome, Err(StoreError::Backend(m)) if m == ZONE_CHANGED) {
            outcome = self.write_batch(tenant, vec![(req, ctx)]).await;
        }
        outcome?
            .pop()
            .unwrap_or_else(|| Err(StoreError::Backend("no outcome".into())))
    }

    async fn write_batch(
        &self,
        tenant: TenantId,
        input: Vec<(IssueTicket, AuditContext)>,
    ) -> Result<Vec<Issued>> {
        let zones = self.zones.clone();
        self.lanes
            .write(tenant, async move |tx: &mut PgConnection| {
                issue_batch(tx, &zones, tenant, input).await
            })
            .await
    }
}

/// The error of a write that found a site's zone changed since it was remembered.
const ZONE_CHANGED: &str = "a site's time zone changed";

/// What the numbering statement read for one (service, local day) of a batch.
struct Numbered {
    queue: Queue,
    /// The last number taken for the batch; the batch's tickets of this (service, day)
    /// have the numbers up to it.
    last_seq: u32,
    /// The queue's waiting counts by class *before* the batch.
    before: BTreeMap<u8, u32>,
    policy_state: PolicyState,
    ewma_service_secs: f64,
    agents_serving: u32,
}

/// Issues `input` (in order) in the current transaction: each request's own outcome, or
/// an error for the whole batch (then the write is rolled back).
async fn issue_batch(
    tx: &mut PgConnection,
    zones: &Zones,
    tenant: TenantId,
    input: Vec<(IssueTicket, AuditContext)>,
) -> Result<Vec<Issued>> {
    // The local day of each request comes from its site's zone, remembered per service
    // (read once below when not yet known).
    let unknown: Vec<uuid::Uuid> = {
        let z = zones.lock().unwrap_or_else(|e| e.into_inner());
        let mut u: Vec<uuid::Uuid> = input
            .iter()
            .map(|(r, _)| r.service_id)
            .filter(|s| !z.contains_key(s))
            .map(|s| s.0)
            .collect();
        u.sort();
        u.dedup();
        u
    };
    if !unknown.is_empty() {
        let found: Vec<(uuid::Uuid, String)> = sqlx::query_as(
            "SELECT q.service_id, s.timezone FROM queues q JOIN sites s ON s.id = q.site_id \
             WHERE q.service_id = ANY($1)",
        )
        .bind(&unknown)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        let mut z = zones.lock().unwrap_or_else(|e| e.into_inner());
        for (service, name) in found {
            let tz = name
                .parse()
                .map_err(|e| StoreError::Backend(format!("corrupt timezone: {e}")))?;
            z.insert(service.into(), (name, tz));
        }
    }
    // (service, day) → how many tickets; a service still unknown has no queue.
    let mut wanted: BTreeMap<(ServiceId, NaiveDate), (String, u32)> = BTreeMap::new();
    let mut days = Vec::with_capacity(input.len());
    {
        let z = zones.lock().unwrap_or_else(|e| e.into_inner());
        for (r, ctx) in &input {
            let day = z.get(&r.service_id).map(|(name, tz)| {
                let day = numbering::local_day(ctx.at, *tz);
                wanted
                    .entry((r.service_id, day))
                    .or_insert_with(|| (name.clone(), 0))
                    .1 += 1;
                day
            });
            days.push(day);
        }
    }
    let keys: Vec<&(ServiceId, NaiveDate)> = wanted.keys().collect();
    // One statement: each queue's row, its counters for the batch's days advanced by the
    // batch's count (in queue order, so two writers lock them in the same order) if it is
    // open and its site's zone is still the one the days were computed with, then the
    // tenant's audit head; and what the new tickets' positions need.
    let rows = sqlx::query(
        "WITH d AS ( \
           SELECT * FROM unnest($2::uuid[], $3::date[], $4::text[], $5::int8[]) \
             AS d(service_id, day, zone, n) \
         ), q AS ( \
           SELECT q.*, s.timezone AS site_timezone, d.day, d.zone, d.n \
           FROM d JOIN queues q ON q.service_id = d.service_id \
           JOIN sites s ON s.id = q.site_id \
         ), c AS ( \
           INSERT INTO queue_day_counters (tenant_id, queue_id, local_date, last_seq) \
           SELECT $1, q.id, q.day, q.n FROM q \
           WHERE q.status = 'open' AND q.site_timezone = q.zone ORDER BY q.id, q.day \
           ON CONFLICT (queue_id, local_date) \
           DO UPDATE SET last_seq = queue_day_counters.last_seq + EXCLUDED.last_seq \
           RETURNING queue_id, local_date, last_seq \
         ), h AS ( \
           SELECT last_seq, last_hash FROM audit_heads \
           WHERE tenant_id = $1 AND EXISTS (SELECT 1 FROM c) FOR NO KEY UPDATE \
         ) \
         SELECT q.*, c.last_seq AS day_seq, h.last_seq AS head_seq, h.last_hash AS head_hash, \
                ARRAY(SELECT w.priority FROM queue_waiting w \
                      WHERE w.queue_id = q.id AND w.n > 0 ORDER BY w.priority) AS classes, \
                ARRAY(SELECT w.n FROM queue_waiting w \
                      WHERE w.queue_id = q.id AND w.n > 0 ORDER BY w.priority) AS waiting, \
                (SELECT s.ewma_service_secs FROM services s WHERE s.id = q.service_id) \
                  AS ewma_service_secs, \
                (SELECT count(*) FROM agents a JOIN agent_skills k ON k.agent_id = a.id \
                 WHERE k.service_id = q.service_id AND k.weight > 0 \
                   AND a.status <> 'offline') AS agents_serving \
         FROM q LEFT JOIN c ON c.queue_id = q.id AND c.local_date = q.day \
         LEFT JOIN h ON true",
    )
    .bind(tenant.0)
    .bind(keys.iter().map(|(s, _)| s.0).collect::<Vec<_>>())
    .bind(keys.iter().map(|(_, d)| *d).collect::<Vec<_>>())
    .bind(wanted.values().map(|(z, _)| z.as_str()).collect::<Vec<_>>())
    .bind(
        wanted
            .values()
            .map(|(_, n)| i64::from(*n))
            .collect::<Vec<_>>(),
    )
    .fetch_all(&mut *tx)
    .await
    .map_err(db)?;

    let mut numbered: BTreeMap<(ServiceId, NaiveDate), Numbered> = BTreeMap::new();
    let mut head = None;
    for r in &rows {
        let (queue, policy_state, _) = queue_with_tz(r)?;
        let day: NaiveDate = r.try_get("day").map_err(db)?;
        let zone: String = r.try_get("zone").map_err(db)?;
        let stored: String = r.try_get("site_timezone").map_err(db)?;
        if queue.status == QueueStatus::Open && zone != stored {
            // The site's zone changed since it was remembered: forget it, and let this
            // write fail so that nothing of it stays; the requests are issued again.
            zones
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&queue.service_id);
            return Err(StoreError::Backend(ZONE_CHANGED.into()));
        }
        let Some(last_seq) = r.try_get::<Option<i64>, _>("day_seq").map_err(db)? else {
            // Not open: its requests are refused below.
            numbered.insert(
                (queue.service_id, day),
                Numbered {
                    queue,
                    last_seq: 0,
                    before: BTreeMap::new(),
                    policy_state,
                    ewma_service_secs: 0.0,
                    agents_serving: 0,
                },
            );
            continue;
        };
        if head.is_none() {
            let seq: Option<i64> = r.try_get("head_seq").map_err(db)?;
            let hash: Option<String> = r.try_get("head_hash").map_err(db)?;
            head = seq.zip(hash);
        }
        let classes: Vec<i16> = r.try_get("classes").map_err(db)?;
        let waiting: Vec<i32> = r.try_get("waiting").map_err(db)?;
        let agents_serving: i64 = r.try_get("agents_serving").map_err(db)?;
        numbered.insert(
            (queue.service_id, day),
            Numbered {
                queue,
                last_seq: u32::try_from(last_seq).map_err(|_| {
                    StoreError::Backend(format!("ticket number overflow: {last_seq}"))
                })?,
                before: class_totals(&classes, &waiting),
                policy_state,
                ewma_service_secs: r.try_get("ewma_service_secs").map_err(db)?,
                agents_serving: agents_serving as u32,
            },
        );
    }

    // Numbers within each (service, day) in request order, the first one after the last
    // number taken before the batch.
    let mut next: BTreeMap<(ServiceId, NaiveDate), u32> = wanted
        .iter()
        .filter_map(|(k, (_, n))| {
            let got = numbered.get(k)?;
            (got.last_seq > 0).then(|| (*k, got.last_seq + 1 - n))
        })
        .collect();
    // Waiting counts by class per queue as the batch's tickets join it.
    let mut line: BTreeMap<QueueId, BTreeMap<u8, u32>> = BTreeMap::new();
    // `None`: issued, answered once the batch is written.
    let mut outcomes: Vec<Option<Issued>> = Vec::with_capacity(input.len());
    let mut made: Vec<(Ticket, PositionInputs, &AuditContext)> = Vec::with_capacity(input.len());
    for ((r, ctx), day) in input.iter().zip(&days) {
        let key = day.map(|d| (r.service_id, d));
        let Some((key, n)) = key.and_then(|k| Some((k, numbered.get(&k)?))) else {
            // A service without a queue takes no tickets: to the caller it is not there.
            outcomes.push(Some(Err(StoreError::NotFound("service"))));
            continue;
        };
        let Some(seq) = next.get_mut(&key) else {
            outcomes.push(Some(Err(StoreError::QueueClosed)));
            continue;
        };
        let contact_id = match &r.contact {
            Some(c) => Some(upsert_contact(&mut *tx, tenant, c, ctx.at).await?),
            None => None,
        };
        let t = waiting_ticket(
            &n.queue, key.1, *seq, r.priority, r.channel, contact_id, ctx.at, ctx.at,
        );
        *seq += 1;
        // The new ticket is the last of its line: everyone waiting before it (of every
        // class in a FIFO queue, else of its own) is ahead of it.
        let totals = line.entry(t.queue_id).or_insert_with(|| n.before.clone());
        let fifo = n.queue.policy.ratios.is_empty();
        let ahead_in_class = totals
            .iter()
            .filter(|(p, _)| fifo || **p == t.priority)
            .map(|(_, n)| *n)
            .sum();
        *totals.entry(t.priority).or_default() += 1;
        let position = PositionInputs {
            policy: n.queue.policy.clone(),
            policy_state: n.policy_state.clone(),
            totals: totals.clone(),
            ahead_in_class,
            ewma_service_secs: n.ewma_service_secs,
            agents_serving: n.agents_serving,
        };
        made.push((t, position, ctx));
        outcomes.push(None);
    }
    if !made.is_empty() {
        let head = match head {
            Some(h) => h,
            None => lock_audit_head(&mut *tx, tenant).await?,
        };
        let events: Vec<TicketEvent> = made
            .iter()
            .map(|(t, _, ctx)| ticket::issued_event(t, &ctx.actor))
            .collect();
        let entries = made
            .iter()
            .map(|(t, _, ctx)| entry(tenant, "ticket.issue", t.id, None, Some(t), ctx))
            .collect::<Result<Vec<_>>>()?;
        let tickets: Vec<Ticket> = made.iter().map(|(t, _, _)| t.clone()).collect();
        let events: Vec<&TicketEvent> = events.iter().collect();
        record_after(&mut *tx, tenant, head, &tickets, &events, entries).await?;
    }
    let mut made = made.into_iter().map(|(t, p, _)| Ok((t, p)));
    Ok(outcomes
        .into_iter()
        .map(|o| {
            o.or_else(|| made.next())
                .unwrap_or_else(|| Err(StoreError::Backend("no outcome".into())))
        })
        .collect())
}
