//! Queue use cases: the catalogue (sites, services, queues, counters, agents), issuing and
//! calling tickets, ticket actions, live positions and ETAs, and the audit check.

use crate::{App, AppError, Change, Principal, RequestMeta, Result};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sq_domain::audit::BrokenLink;
use sq_domain::auth::Scope;
use sq_domain::eta::{self, Eta};
use sq_domain::model::*;
use sq_domain::policy;
use sq_domain::ticket::{Ticket, TicketAction, TicketStatus};
use sq_domain::*;
use sq_store::*;
use std::collections::HashMap;

/// The most queues one call-next may name (a site has a handful; this bounds the work).
pub const MAX_CHOSEN_QUEUES: usize = 100;

/// A ticket with its live place in line. `position` is 1 for the next ticket to be called
/// (`ahead` = position − 1); both are `None` once the ticket has left the waiting line.
#[derive(Clone, Debug, Serialize)]
pub struct TicketView {
    #[serde(flatten)]
    pub ticket: Ticket,
    pub position: Option<u32>,
    pub ahead: Option<u32>,
    /// `None` (JSON `null`) while nobody serves the service, or once called.
    pub eta: Option<Eta>,
}

/// A queue's live state for displays and supervisors.
#[derive(Clone, Debug, Serialize)]
pub struct QueueOverview {
    pub queue: Queue,
    pub waiting: u32,
    pub serving: Vec<Ticket>,
    /// The first ten waiting tickets in the order the policy will call them.
    pub next: Vec<TicketView>,
    pub longest_wait_seconds: u64,
}

fn not_found_unless<T>(p: &Principal, site: SiteId, v: T, what: &'static str) -> Result<T> {
    if p.may_see_site(site) {
        Ok(v)
    } else {
        Err(AppError::NotFound(what))
    }
}

impl App {
    // ---- catalogue ------------------------------------------------------------------

    /// Creates a tenant (platform operators only).
    pub async fn create_tenant(
        &self,
        p: &Principal,
        t: NewTenant,
        meta: &RequestMeta,
    ) -> Result<Tenant> {
        p.require(Scope::ManagePlatform)?;
        Ok(self.store.create_tenant(t, &self.ctx(p, meta)).await?)
    }

    /// Tenants the principal may see: all for platform operators, else their own.
    pub async fn tenants(&self, p: &Principal) -> Result<Vec<Tenant>> {
        let all = self.store.tenants().await?;
        Ok(all.into_iter().filter(|t| p.may_access(t.id)).collect())
    }

    pub async fn create_site(
        &self,
        p: &Principal,
        t: &Tenant,
        s: NewSite,
        meta: &RequestMeta,
    ) -> Result<Site> {
        p.require(Scope::ManageTenant)?;
        Ok(self.store.create_site(t.id, s, &self.ctx(p, meta)).await?)
    }

    pub async fn sites(&self, p: &Principal, t: &Tenant) -> Result<Vec<Site>> {
        p.require(Scope::ReadQueue)?;
        let all = self.store.sites(t.id).await?;
        Ok(all.into_iter().filter(|s| p.may_see_site(s.id)).collect())
    }

    pub async fn create_service(
        &self,
        p: &Principal,
        t: &Tenant,
        s: NewService,
        meta: &RequestMeta,
    ) -> Result<Service> {
        p.require(Scope::ManageTenant)?;
        if s.expected_duration_secs == 0 || s.sla_target_secs == 0 {
            return Err(AppError::Invalid {
                code: "invalid_duration",
                field: "expected_duration_secs",
                detail: "durations must be positive".into(),
            });
        }
        Ok(self
            .store
            .create_service(t.id, s, &self.ctx(p, meta))
            .await?)
    }

    pub async fn services(&self, p: &Principal, t: &Tenant) -> Result<Vec<Service>> {
        p.require(Scope::ReadQueue)?;
        let all = self.store.services(t.id).await?;
        Ok(all
            .into_iter()
            .filter(|s| p.may_see_site(s.site_id))
            .collect())
    }

    pub async fn create_queue(
        &self,
        p: &Principal,
        t: &Tenant,
        q: NewQueue,
        meta: &RequestMeta,
    ) -> Result<Queue> {
        p.require(Scope::ManageTenant)?;
        if q.policy.ratios.iter().any(|r| r.weight == 0) {
            return Err(AppError::Invalid {
                code: "invalid_policy",
                field: "policy",
                detail: "ratio weights must be positive".into(),
            });
        }
        Ok(self.store.create_queue(t.id, q, &self.ctx(p, meta)).await?)
    }

    pub async fn queues(&self, p: &Principal, t: &Tenant) -> Result<Vec<Queue>> {
        p.require(Scope::ReadQueue)?;
        let all = self.store.queues(t.id).await?;
        Ok(all
            .into_iter()
            .filter(|q| p.may_see_site(q.site_id))
            .collect())
    }

    pub async fn set_queue_status(
        &self,
        p: &Principal,
        t: &Tenant,
        id: QueueId,
        status: QueueStatus,
        meta: &RequestMeta,
    ) -> Result<Queue> {
        p.require(Scope::WriteQueue)?;
        Ok(self
            .store
            .set_queue_status(t.id, id, status, &self.ctx(p, meta))
            .await?)
    }

    pub async fn create_counter(
        &self,
        p: &Principal,
        t: &Tenant,
        c: NewCounter,
        meta: &RequestMeta,
    ) -> Result<Counter> {
        p.require(Scope::ManageTenant)?;
        Ok(self
            .store
            .create_counter(t.id, c, &self.ctx(p, meta))
            .await?)
    }

    pub async fn counters(&self, p: &Principal, t: &Tenant) -> Result<Vec<Counter>> {
        p.require(Scope::ReadQueue)?;
        let all = self.store.counters(t.id).await?;
        Ok(all
            .into_iter()
            .filter(|c| p.may_see_site(c.site_id))
            .collect())
    }

    pub async fn create_agent(
        &self,
        p: &Principal,
        t: &Tenant,
        a: NewAgent,
        meta: &RequestMeta,
    ) -> Result<Agent> {
        p.require(Scope::ManageTenant)?;
        if a.skills.iter().any(|s| s.weight == 0 || s.weight > 100) {
            return Err(AppError::Invalid {
                code: "invalid_skill",
                field: "skills",
                detail: "weights are 1-100".into(),
            });
        }
        Ok(self.store.create_agent(t.id, a, &self.ctx(p, meta)).await?)
    }

    pub async fn agents(&self, p: &Principal, t: &Tenant) -> Result<Vec<Agent>> {
        p.require(Scope::ReadQueue)?;
        let all = self.store.agents(t.id).await?;
        Ok(all
            .into_iter()
            .filter(|a| p.may_see_site(a.site_id))
            .collect())
    }

    /// Agents may act only as themselves; managers and admins for anyone.
    async fn acting_agent(&self, p: &Principal, t: &Tenant, id: AgentId) -> Result<Agent> {
        let agent = self
            .store
            .agent(t.id, id)
            .await?
            .ok_or(AppError::NotFound("agent"))?;
        if p.role == Some(Role::Agent) && agent.user_id != p.user_id {
            return Err(AppError::Forbidden("call:tickets"));
        }
        Ok(agent)
    }

    pub async fn set_agent_status(
        &self,
        p: &Principal,
        t: &Tenant,
        id: AgentId,
        status: AgentStatus,
        meta: &RequestMeta,
    ) -> Result<Agent> {
        p.require(Scope::CallTickets)?;
        self.acting_agent(p, t, id).await?;
        Ok(self
            .store
            .set_agent_status(t.id, id, status, &self.ctx(p, meta))
            .await?)
    }

    // ---- tickets --------------------------------------------------------------------

    pub async fn issue_ticket(
        &self,
        p: &Principal,
        t: &Tenant,
        req: IssueTicket,
        meta: &RequestMeta,
    ) -> Result<TicketView> {
        p.require(Scope::WriteQueue)?;
        if let Some(site) = p.site_id {
            let svc = self
                .store
                .service(t.id, req.service_id)
                .await?
                .ok_or(AppError::NotFound("service"))?;
            not_found_unless(p, site, (), "service")?;
            if svc.site_id != site {
                return Err(AppError::NotFound("service"));
            }
        }
        let (ticket, position) = self
            .store
            .issue_ticket_positioned(t.id, req, &self.ctx(p, meta))
            .await?;
        metrics::counter!("sq_tickets_issued_total", "channel" => ticket.channel.as_str())
            .increment(1);
        self.bus.publish(Change::Tickets(t.id));
        Ok(positioned(ticket, &position))
    }

    /// Adds the live position and ETA to a ticket.
    pub async fn view(&self, t: &Tenant, ticket: Ticket) -> Result<TicketView> {
        if ticket.status != TicketStatus::Waiting {
            return Ok(TicketView {
                ticket,
                position: None,
                ahead: None,
                eta: None,
            });
        }
        let i = self.store.position_inputs(t.id, &ticket).await?;
        Ok(positioned(ticket, &i))
    }

    pub async fn ticket(&self, p: &Principal, t: &Tenant, id: TicketId) -> Result<TicketView> {
        p.require(Scope::ReadQueue)?;
        let ticket = self
            .store
            .ticket(t.id, id)
            .await?
            .ok_or(AppError::NotFound("ticket"))?;
        let ticket = not_found_unless(p, ticket.site_id, ticket.clone(), "ticket")?;
        self.view(t, ticket).await
    }

    pub async fn tickets(
        &self,
        p: &Principal,
        t: &Tenant,
        filter: &TicketFilter,
    ) -> Result<Vec<TicketView>> {
        p.require(Scope::ReadQueue)?;
        let list = self.store.tickets(t.id, filter).await?;
        // One policy projection per queue rather than one count query per ticket.
        let mut orders: HashMap<QueueId, HashMap<TicketId, u32>> = HashMap::new();
        let mut out = Vec::with_capacity(list.len());
        for ticket in list.into_iter().filter(|x| p.may_see_site(x.site_id)) {
            if ticket.status != TicketStatus::Waiting {
                out.push(TicketView {
                    ticket,
                    position: None,
                    ahead: None,
                    eta: None,
                });
                continue;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = orders.entry(ticket.queue_id) {
                let o = match self.store.queue_snapshot(t.id, ticket.queue_id).await? {
                    Some(s) => self
                        .policy_order(&s)
                        .into_iter()
                        .enumerate()
                        .map(|(i, id)| (id, i as u32))
                        .collect(),
                    None => HashMap::new(),
                };
                e.insert(o);
            }
            match orders[&ticket.queue_id].get(&ticket.id) {
                Some(&ahead) => {
                    // ETA needs the service figures; the single-ticket path has them.
                    let v = self.view(t, ticket).await?;
                    out.push(TicketView {
                        ahead: Some(ahead),
                        position: Some(ahead + 1),
                        ..v
                    });
                }
                None => out.push(self.view(t, ticket).await?),
            }
        }
        Ok(out)
    }

    fn policy_order(&self, s: &QueueSnapshot) -> Vec<TicketId> {
        let waiting: Vec<policy::Waiting> = s
            .waiting
            .iter()
            .map(|x| policy::Waiting {
                id: x.id,
                class: x.priority,
                arrived_at: x.arrived_at,
                seq: x.seq,
                sla_target_secs: s.service.sla_target_secs,
            })
            .collect();
        let view = policy::QueueView {
            queue_id: s.queue.id,
            service_id: s.service.id,
            policy: &s.queue.policy,
            state: &s.policy_state,
            waiting: &waiting,
            skill_weight: 1,
        };
        policy::order(&view, self.now())
    }

    pub async fn queue_overview(
        &self,
        p: &Principal,
        t: &Tenant,
        id: QueueId,
    ) -> Result<QueueOverview> {
        p.require(Scope::ReadQueue)?;
        let s = self
            .store
            .queue_snapshot(t.id, id)
            .await?
            .ok_or(AppError::NotFound("queue"))?;
        let s = not_found_unless(p, s.queue.site_id, s.clone(), "queue")?;
        let now = self.now();
        let by_id: HashMap<TicketId, &Ticket> = s.waiting.iter().map(|x| (x.id, x)).collect();
        let next = self
            .policy_order(&s)
            .into_iter()
            .take(10)
            .enumerate()
            .filter_map(|(i, id)| by_id.get(&id).map(|x| (i as u32, (*x).clone())))
            .map(|(ahead, ticket)| TicketView {
                ticket,
                position: Some(ahead + 1),
                ahead: Some(ahead),
                eta: eta::estimate(s.service.ewma_service_secs, s.agents_serving, ahead),
            })
            .collect();
        Ok(QueueOverview {
            waiting: s.waiting.len() as u32,
            longest_wait_seconds: s
                .waiting
                .iter()
                .map(|x| wait_secs(x.arrived_at, now))
                .max()
                .unwrap_or(0),
            serving: s.serving,
            next,
            queue: s.queue,
        })
    }

    /// Calls the next ticket for `agent` at `counter`, from all the queues the agent serves
    /// or, with `queues`, only from those ("queues I serve"; an empty list means all).
    /// A queue id this tenant does not have is `not_found`; one of another site or of a
    /// service the agent has no skill for is `queue_not_served` (the agent could never
    /// call from it, so saying so beats silently answering `queue_empty`).
    pub async fn call_next(
        &self,
        p: &Principal,
        t: &Tenant,
        agent: AgentId,
        counter: CounterId,
        queues: Option<&[QueueId]>,
        meta: &RequestMeta,
    ) -> Result<TicketView> {
        p.require(Scope::CallTickets)?;
        let acting = self.acting_agent(p, t, agent).await?;
        let queues = queues.filter(|q| !q.is_empty());
        if let Some(chosen) = queues {
            if chosen.len() > MAX_CHOSEN_QUEUES {
                return Err(AppError::Invalid {
                    code: "invalid_request",
                    field: "queue_ids",
                    detail: format!("at most {MAX_CHOSEN_QUEUES} queues"),
                });
            }
            let all = self.store.queues(t.id).await?;
            for id in chosen {
                let q = all
                    .iter()
                    .find(|q| q.id == *id)
                    .ok_or(AppError::NotFound("queue"))?;
                if q.site_id != acting.site_id || acting.weight_for(q.service_id).is_none() {
                    return Err(AppError::Invalid {
                        code: "queue_not_served",
                        field: "queue_ids",
                        detail: format!("agent {agent} does not serve queue {id}"),
                    });
                }
            }
        }
        let called = self
            .store
            .call_next(t.id, agent, counter, queues, &self.ctx(p, meta))
            .await?
            .ok_or(AppError::QueueEmpty)?;
        metrics::counter!("sq_tickets_called_total").increment(1);
        self.bus.publish(Change::Tickets(t.id));
        Ok(TicketView {
            ticket: called,
            position: None,
            ahead: None,
            eta: None,
        })
    }

    /// Recall, start, close, no-show, pause, resume, cancel or transfer. Cancelling is a
    /// customer-side action (`write:queue`); the rest happen at a counter (`call:tickets`).
    /// For a transfer the new ticket is returned.
    pub async fn act(
        &self,
        p: &Principal,
        t: &Tenant,
        id: TicketId,
        action: TicketAction,
        meta: &RequestMeta,
    ) -> Result<TicketView> {
        p.require(if action == TicketAction::Cancel {
            Scope::WriteQueue
        } else {
            Scope::CallTickets
        })?;
        let ticket = self
            .store
            .ticket(t.id, id)
            .await?
            .ok_or(AppError::NotFound("ticket"))?;
        not_found_unless(p, ticket.site_id, (), "ticket")?;
        if let TicketAction::Transfer { to_queue_id, .. } = &action
            && self.store.queue(t.id, *to_queue_id).await?.is_none()
        {
            return Err(AppError::NotFound("queue"));
        }
        let done = self
            .store
            .transition(t.id, id, action, &self.ctx(p, meta))
            .await?;
        self.bus.publish(Change::Tickets(t.id));
        self.view(t, done.created.unwrap_or(done.ticket)).await
    }

    /// Verifies a tenant's audit chain; `Ok(n)` rows checked, or the first broken link.
    pub async fn verify_audit(&self, t: &Tenant) -> Result<std::result::Result<usize, BrokenLink>> {
        let rows = self.store.audit_log(t.id).await?;
        Ok(sq_domain::audit::verify(&rows))
    }
}

fn wait_secs(since: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    (now - since).num_seconds().max(0) as u64
}

/// A waiting ticket with its position and ETA from the store's inputs.
fn positioned(ticket: Ticket, i: &PositionInputs) -> TicketView {
    let ahead = policy::projected_position(
        &i.policy,
        &i.policy_state,
        &i.totals,
        ticket.priority,
        i.ahead_in_class,
    );
    let eta = eta::estimate(i.ewma_service_secs, i.agents_serving, ahead);
    TicketView {
        ticket,
        position: Some(ahead + 1),
        ahead: Some(ahead),
        eta,
    }
}
