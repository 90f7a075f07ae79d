//! The contract suite every [`Store`] backend must pass (feature `contract`).
//!
//! # Using it from a backend
//!
//! In an integration test of the backend crate (which needs `tokio` with the `macros` and
//! `rt-multi-thread` features among its dev-dependencies, and `sq-store` with the
//! `contract` feature):
//!
//! ```ignore
//! async fn fresh_store() -> Option<std::sync::Arc<dyn sq_store::Store>> {
//!     let url = std::env::var("TEST_DATABASE_URL").ok()?; // None: the test is skipped
//!     Some(std::sync::Arc::new(MyStore::connect_fresh(&url).await.unwrap()))
//! }
//! sq_store::contract_tests!(fresh_store);
//! ```
//!
//! The macro expands, in the module where it is invoked, to one
//! `#[tokio::test(flavor = "multi_thread", worker_threads = 4)]` per contract test, named
//! after the test function here ([`TESTS`] lists them). Each calls the factory once:
//!
//! * the factory is an `async fn() -> Option<F>` where `F:` [`Fixture`];
//! * `None` means "this backend is not configured here": the test prints a line to stderr
//!   and passes (the PostgreSQL suite without `TEST_DATABASE_URL`);
//! * `Some(f)` must hold a **fresh, empty** store; `f` is kept alive until the test ends and
//!   dropped afterwards. `Arc<dyn Store>` is a fixture by itself; `(Arc<dyn Store>, G)`
//!   keeps any guard `G` (a temporary directory, a database to drop) alive as long.
//!
//! The tests never depend on the store being empty beyond what they created themselves
//! (slugs and e-mails carry a random suffix), but each expects its tenants to be new.
//!
//! # What is checked
//!
//! Each `pub async fn` below takes the store and panics on a broken rule. Together they
//! pin down the shared semantics of the port (see `sq_store`'s docs): exact round trips,
//! tenant isolation, numbering per site-local day, the ticket state machine with transfers,
//! EWMA learning, contacts by phone, refresh-token rotation, API keys, the audit hash chain,
//! and two concurrency rules: call-next never hands one ticket to two agents and follows
//! the policy order per queue; concurrent issuing numbers without gaps or repeats.

use crate::*;
use chrono::{DateTime, Duration, TimeZone as _, Utc};
use sq_domain::audit::{AuditContext, truncate_micros};
use sq_domain::auth::Scope;
use sq_domain::policy::{ClassWeight, PolicyState, QueueView, Waiting};
use sq_domain::ticket::{Actor, IllegalTransition};
use sq_domain::{eta, numbering, policy};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// What a backend's factory returns (wrapped in `Option`): the store, plus whatever must
/// live as long as the test.
pub trait Fixture {
    fn store(&self) -> Arc<dyn Store>;
}

impl Fixture for Arc<dyn Store> {
    fn store(&self) -> Arc<dyn Store> {
        self.clone()
    }
}

impl<G> Fixture for (Arc<dyn Store>, G) {
    fn store(&self) -> Arc<dyn Store> {
        self.0.clone()
    }
}

/// Expands to one tokio test per contract test; see the module docs.
#[macro_export]
macro_rules! contract_tests {
    ($factory:path) => {
        $crate::contract_tests!(@each $factory;
            catalogue_round_trip,
            tenant_isolation,
            numbering_resets_each_local_day,
            closed_and_paused_queues,
            ticket_journey,
            transfer_issues_in_target_queue,
            illegal_transition_changes_nothing,
            ewma_learns_on_close,
            contact_matched_by_phone,
            snapshot_and_position_inputs,
            ticket_listing_and_feed,
            users,
            refresh_token_rotation,
            concurrent_refresh_rotation,
            api_keys,
            audit_chain,
            concurrent_call_next_follows_policy,
            concurrent_issue_has_no_gaps,
            messaging_inbox_outbox,
            messaging_isolation,
            devices,
            contact_summary,
            call_next_from_chosen_queues,
            announcements,
        );
    };
    (@each $factory:path; $($name:ident),* $(,)?) => {$(
        #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() {
            let Some(fixture) = $factory().await else {
                eprintln!(
                    "contract test {} skipped: backend not configured",
                    stringify!($name)
                );
                return;
            };
            $crate::contract::$name($crate::contract::Fixture::store(&fixture)).await;
            drop(fixture);
        }
    )*};
}

/// The contract tests, by name (the macro generates exactly these).
pub const TESTS: &[&str] = &[
    "catalogue_round_trip",
    "tenant_isolation",
    "numbering_resets_each_local_day",
    "closed_and_paused_queues",
    "ticket_journey",
    "transfer_issues_in_target_queue",
    "illegal_transition_changes_nothing",
    "ewma_learns_on_close",
    "contact_matched_by_phone",
    "snapshot_and_position_inputs",
    "ticket_listing_and_feed",
    "users",
    "refresh_token_rotation",
    "concurrent_refresh_rotation",
    "api_keys",
    "audit_chain",
    "concurrent_call_next_follows_policy",
    "concurrent_issue_has_no_gaps",
    "messaging_inbox_outbox",
    "messaging_isolation",
    "devices",
    "contact_summary",
    "call_next_from_chosen_queues",
    "announcements",
];

// ---- fixtures -------------------------------------------------------------------------

/// A Monday morning with nanoseconds, so every stored instant has to be truncated to
/// microseconds to compare equal after a round trip.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap() + Duration::nanoseconds(123_456_789)
}

fn secs(s: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(s)
}

fn ctx(at: DateTime<Utc>) -> AuditContext {
    AuditContext {
        actor: Actor::User(UserId(uuid::Uuid::from_u128(0x5eed))),
        ip: Some("203.0.113.7".into()),
        user_agent: Some("contract-suite/1".into()),
        at,
    }
}

fn name(s: &str) -> Name {
    s.parse().unwrap()
}

fn suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..10].to_owned()
}

fn slug(base: &str) -> TenantSlug {
    format!("{base}-{}", suffix()).parse().unwrap()
}

fn email(local: &str) -> Email {
    format!("{local}.{}@example.test", suffix())
        .parse()
        .unwrap()
}

fn fifo() -> QueuePolicy {
    QueuePolicy::default()
}

/// Two VIP (class 1) for each normal (class 0) ticket, no SLA boosting.
fn vip_ratio() -> QueuePolicy {
    QueuePolicy {
        ratios: vec![
            ClassWeight {
                class: 1,
                weight: 2,
            },
            ClassWeight {
                class: 0,
                weight: 1,
            },
        ],
        sla_boost_percent: None,
    }
}

async fn tenant(store: &dyn Store, base: &str) -> Tenant {
    store
        .create_tenant(
            NewTenant {
                slug: slug(base),
                name: name(&format!("Tenant {base}")),
                default_locale: Locale::en(),
            },
            &ctx(t0()),
        )
        .await
        .unwrap()
}

async fn site(store: &dyn Store, tenant: TenantId, site_name: &str, tz: &str) -> Site {
    store
        .create_site(
            tenant,
            NewSite {
                name: name(site_name),
                timezone: tz.parse().unwrap(),
                locale: "fr".parse().unwrap(),
            },
            &ctx(t0()),
        )
        .await
        .unwrap()
}

/// A service with its queue.
async fn service_queue(
    store: &dyn Store,
    tenant: TenantId,
    site: SiteId,
    prefix: &str,
    policy: QueuePolicy,
) -> (Service, Queue) {
    let service = store
        .create_service(
            tenant,
            NewService {
                site_id: site,
                name: name(&format!("Service {prefix}")),
                sla_target_secs: 900,
                expected_duration_secs: 300,
            },
            &ctx(t0()),
        )
        .await
        .unwrap();
    let queue = store
        .create_queue(
            tenant,
            NewQueue {
                service_id: service.id,
                name: name(&format!("Queue {prefix}")),
                prefix: prefix.parse().unwrap(),
                policy,
            },
            &ctx(t0()),
        )
        .await
        .unwrap();
    (service, queue)
}

async fn counter(store: &dyn Store, tenant: TenantId, site: SiteId, n: &str) -> Counter {
    store
        .create_counter(
            tenant,
            NewCounter {
                site_id: site,
                name: name(n),
            },
            &ctx(t0()),
        )
        .await
        .unwrap()
}

async fn agent(
    store: &dyn Store,
    tenant: TenantId,
    site: SiteId,
    n: &str,
    services: &[ServiceId],
) -> Agent {
    store
        .create_agent(
            tenant,
            NewAgent {
                site_id: site,
                user_id: None,
                name: name(n),
                skills: services
                    .iter()
                    .map(|s| Skill {
                        service_id: *s,
                        weight: 50,
                    })
                    .collect(),
            },
            &ctx(t0()),
        )
        .await
        .unwrap()
}

/// One tenant with a site (Nairobi), a FIFO service/queue `A`, a counter and an agent.
struct World {
    tenant: Tenant,
    site: Site,
    service: Service,
    queue: Queue,
    counter: Counter,
    agent: Agent,
}

async fn world(store: &dyn Store, base: &str) -> World {
    let tenant = tenant(store, base).await;
    let site = site(store, tenant.id, "Main branch", "Africa/Nairobi").await;
    let (service, queue) = service_queue(store, tenant.id, site.id, "A", fifo()).await;
    let counter = counter(store, tenant.id, site.id, "1").await;
    let agent = agent(store, tenant.id, site.id, "Wanjiru", &[service.id]).await;
    World {
        tenant,
        site,
        service,
        queue,
        counter,
        agent,
    }
}

async fn issue(
    store: &dyn Store,
    tenant: TenantId,
    service: ServiceId,
    at: DateTime<Utc>,
) -> Ticket {
    issue_with(store, tenant, service, 0, None, at).await
}

async fn issue_with(
    store: &dyn Store,
    tenant: TenantId,
    service: ServiceId,
    priority: u8,
    contact: Option<ContactInput>,
    at: DateTime<Utc>,
) -> Ticket {
    store
        .issue_ticket(
            tenant,
            IssueTicket {
                service_id: service,
                channel: Channel::Kiosk,
                priority,
                contact,
            },
            &ctx(at),
        )
        .await
        .unwrap()
}

async fn act(
    store: &dyn Store,
    tenant: TenantId,
    id: TicketId,
    action: TicketAction,
    at: DateTime<Utc>,
) -> Result<Transitioned> {
    store.transition(tenant, id, action, &ctx(at)).await
}

/// Reads the ticket back and checks it equals what the write returned.
async fn same_as_stored(store: &dyn Store, t: &Ticket) {
    assert_eq!(
        store.ticket(t.tenant_id, t.id).await.unwrap().as_ref(),
        Some(t)
    );
}

async fn whole_feed(store: &dyn Store, tenant: TenantId) -> Vec<(i64, TicketEvent)> {
    let mut out: Vec<(i64, TicketEvent)> = Vec::new();
    loop {
        let after = out.last().map_or(0, |(p, _)| *p);
        let page = store.ticket_event_feed(tenant, after, 500).await.unwrap();
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}

fn actions(log: &[AuditRecord]) -> Vec<&str> {
    log.iter().map(|r| r.entry.action.as_str()).collect()
}

fn waiting_of(t: &Ticket, sla_target_secs: u32) -> Waiting {
    Waiting {
        id: t.id,
        class: t.priority,
        arrived_at: t.arrived_at,
        seq: t.seq,
        sla_target_secs,
    }
}

fn not_found<T: std::fmt::Debug>(r: Result<T>, what: &str) {
    match r {
        Err(StoreError::NotFound(w)) if w == what => {}
        other => panic!("expected NotFound({what}), got {other:?}"),
    }
}

fn invalid<T: std::fmt::Debug>(r: Result<T>) {
    assert!(
        matches!(r, Err(StoreError::Invalid(_))),
        "expected Invalid, got {r:?}"
    );
}

// ---- the tests ------------------------------------------------------------------------

/// Everything created reads back exactly as it was returned (instants truncated to
/// microseconds), singly and in lists; missing parents are `NotFound`.
pub async fn catalogue_round_trip(store: Arc<dyn Store>) {
    let s = &*store;
    let w = world(s, "cat").await;
    let t = &w.tenant;
    assert_eq!(t.created_at, truncate_micros(t0()));
    assert_ne!(t.created_at, t0(), "the fixture instant has nanoseconds");
    assert_eq!(s.tenant(t.id).await.unwrap().as_ref(), Some(t));
    assert_eq!(s.tenant_by_slug(&t.slug).await.unwrap().as_ref(), Some(t));
    assert!(s.tenants().await.unwrap().contains(t));
    assert_eq!(s.tenant(TenantId::new()).await.unwrap(), None);

    assert_eq!(
        s.site(t.id, w.site.id).await.unwrap().as_ref(),
        Some(&w.site)
    );
    assert_eq!(s.sites(t.id).await.unwrap(), vec![w.site.clone()]);
    assert_eq!(w.site.timezone.to_string(), "Africa/Nairobi");

    assert_eq!(w.service.ewma_service_secs, 300.0);
    assert_eq!(w.service.site_id, w.site.id);
    assert_eq!(
        s.service(t.id, w.service.id).await.unwrap().as_ref(),
        Some(&w.service)
    );

    // A second service with a ratio queue: the policy JSON round-trips.
    let (svc2, q2) = service_queue(s, t.id, w.site.id, "VIP", vip_ratio()).await;
    assert_eq!(
        s.services(t.id).await.unwrap(),
        vec![w.service.clone(), svc2.clone()]
    );
    assert_eq!(q2.policy, vip_ratio());
    assert_eq!(q2.status, QueueStatus::Open);
    assert_eq!((q2.site_id, q2.service_id), (w.site.id, svc2.id));
    assert_eq!(s.queue(t.id, q2.id).await.unwrap().as_ref(), Some(&q2));
    assert_eq!(
        s.queues(t.id).await.unwrap(),
        vec![w.queue.clone(), q2.clone()]
    );

    assert_eq!(
        s.counter(t.id, w.counter.id).await.unwrap().as_ref(),
        Some(&w.counter)
    );
    assert_eq!(s.counters(t.id).await.unwrap(), vec![w.counter.clone()]);

    // Skills keep their order and weights; an agent may be tied to a login.
    let user = s
        .create_user(
            NewUser {
                tenant_id: Some(t.id),
                email: email("agent"),
                password_hash: "$argon2id$fake".into(),
                role: Role::Agent,
                site_id: None,
            },
            &ctx(t0()),
        )
        .await
        .unwrap();
    let a2 = s
        .create_agent(
            t.id,
            NewAgent {
                site_id: w.site.id,
                user_id: Some(user.id),
                name: name("Otieno"),
                skills: vec![
                    Skill {
                        service_id: svc2.id,
                        weight: 90,
                    },
                    Skill {
                        service_id: w.service.id,
                        weight: 10,
                    },
                ],
            },
            &ctx(secs(1)),
        )
        .await
        .unwrap();
    assert_eq!(a2.status, AgentStatus::Available);
    assert_eq!(a2.skills.len(), 2);
    assert_eq!(s.agent(t.id, a2.id).await.unwrap().as_ref(), Some(&a2));
    assert_eq!(
        s.agent(t.id, w.agent.id).await.unwrap().as_ref(),
        Some(&w.agent)
    );
    assert_eq!(
        s.agents(t.id).await.unwrap(),
        vec![w.agent.clone(), a2.clone()]
    );
    assert_eq!(
        s.agent_by_user(t.id, user.id).await.unwrap().as_ref(),
        Some(&a2)
    );
    assert_eq!(s.agent_by_user(t.id, UserId::new()).await.unwrap(), None);

    // Status changes return what is stored.
    let paused = s
        .set_queue_status(t.id, q2.id, QueueStatus::Paused, &ctx(secs(2)))
        .await
        .unwrap();
    assert_eq!(paused.status, QueueStatus::Paused);
    assert_eq!(s.queue(t.id, q2.id).await.unwrap().as_ref(), Some(&paused));
    let off = s
        .set_agent_status(t.id, a2.id, AgentStatus::Offline, &ctx(secs(2)))
        .await
        .unwrap();
    assert_eq!(off.status, AgentStatus::Offline);
    assert_eq!(off.skills, a2.skills);
    assert_eq!(s.agent(t.id, a2.id).await.unwrap().as_ref(), Some(&off));

    // Uniqueness and missing parents.
    let dup = s
        .create_tenant(
            NewTenant {
                slug: t.slug.clone(),
                name: name("Other"),
                default_locale: Locale::en(),
            },
            &ctx(t0()),
        )
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict("slug"))), "{dup:?}");
    let dup = s
        .create_queue(
            t.id,
            NewQueue {
                service_id: w.service.id,
                name: name("Second queue"),
                prefix: "Z".parse().unwrap(),
                policy: fifo(),
            },
            &ctx(t0()),
        )
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict("queue"))), "{dup:?}");
    not_found(
        s.create_service(
            t.id,
            NewService {
                site_id: SiteId::new(),
                name: name("Nowhere"),
                sla_target_secs: 60,
                expected_duration_secs: 60,
            },
            &ctx(t0()),
        )
        .await,
        "site",
    );
    not_found(
        s.create_queue(
            t.id,
            NewQueue {
                service_id: ServiceId::new(),
                name: name("Nowhere"),
                prefix: "N".parse().unwrap(),
                policy: fifo(),
            },
            &ctx(t0()),
        )
        .await,
        "service",
    );
    not_found(
        s.create_counter(
            t.id,
            NewCounter {
                site_id: SiteId::new(),
                name: name("9"),
            },
            &ctx(t0()),
        )
        .await,
        "site",
    );
    not_found(
        s.set_queue_status(t.id, QueueId::new(), QueueStatus::Closed, &ctx(t0()))
            .await,
        "queue",
    );
    not_found(
        s.set_agent_status(t.id, AgentId::new(), AgentStatus::Paused, &ctx(t0()))
            .await,
        "agent",
    );
    // Nothing above half-happened.
    assert_eq!(s.queues(t.id).await.unwrap().len(), 2);
    assert_eq!(s.counters(t.id).await.unwrap().len(), 1);
}

/// Tenant A can neither see nor touch anything of tenant B by id.
pub async fn tenant_isolation(store: Arc<dyn Store>) {
    let s = &*store;
    let a = world(s, "iso-a").await;
    let b = world(s, "iso-b").await;
    let ta = a.tenant.id;
    let b_ticket = issue(s, b.tenant.id, b.service.id, secs(10)).await;
    let a_ticket = issue(s, ta, a.service.id, secs(11)).await;
    let b_user = s
        .create_user(
            NewUser {
                tenant_id: Some(b.tenant.id),
                email: email("b-admin"),
                password_hash: "$argon2id$b".into(),
                role: Role::Admin,
                site_id: Some(b.site.id),
            },
            &ctx(t0()),
        )
        .await
        .unwrap();
    s.create_api_key(
        b.tenant.id,
        NewApiKey {
            name: name("b key"),
            prefix: "sqk_b".into(),
            key_hash: format!("hash-b-{}", suffix()),
            scopes: vec![Scope::ReadQueue],
            created_by: Some(b_user.id),
        },
        &ctx(t0()),
    )
    .await
    .unwrap();

    // Reads.
    assert_eq!(s.site(ta, b.site.id).await.unwrap(), None);
    assert_eq!(s.service(ta, b.service.id).await.unwrap(), None);
    assert_eq!(s.queue(ta, b.queue.id).await.unwrap(), None);
    assert_eq!(s.counter(ta, b.counter.id).await.unwrap(), None);
    assert_eq!(s.agent(ta, b.agent.id).await.unwrap(), None);
    assert_eq!(s.agent_by_user(ta, b_user.id).await.unwrap(), None);
    assert_eq!(s.ticket(ta, b_ticket.id).await.unwrap(), None);
    assert!(s.ticket_events(ta, b_ticket.id).await.unwrap().is_empty());
    assert!(s.queue_snapshot(ta, b.queue.id).await.unwrap().is_none());
    assert_eq!(
        s.last_seq(ta, b.queue.id, b_ticket.local_date)
            .await
            .unwrap(),
        0
    );
    assert!(s.position_inputs(ta, &b_ticket).await.is_err());
    let filter = TicketFilter {
        queue_id: Some(b.queue.id),
        ..Default::default()
    };
    assert!(s.tickets(ta, &filter).await.unwrap().is_empty());
    assert_eq!(
        s.tickets(ta, &TicketFilter::default()).await.unwrap(),
        vec![a_ticket.clone()]
    );
    assert_eq!(s.sites(ta).await.unwrap(), vec![a.site.clone()]);
    assert_eq!(s.services(ta).await.unwrap(), vec![a.service.clone()]);
    assert_eq!(s.queues(ta).await.unwrap(), vec![a.queue.clone()]);
    assert_eq!(s.counters(ta).await.unwrap(), vec![a.counter.clone()]);
    assert_eq!(s.agents(ta).await.unwrap(), vec![a.agent.clone()]);
    assert!(s.api_keys(ta).await.unwrap().is_empty());
    assert!(
        whole_feed(s, ta)
            .await
            .iter()
            .all(|(_, e)| e.tenant_id == ta && e.ticket_id == a_ticket.id)
    );
    assert!(
        s.audit_log(ta)
            .await
            .unwrap()
            .iter()
            .all(|r| r.entry.tenant_id == ta)
    );

    // Writes naming B's rows.
    not_found(
        issue_ticket_result(s, ta, b.service.id, secs(20)).await,
        "service",
    );
    not_found(
        act(s, ta, b_ticket.id, TicketAction::Cancel, secs(20)).await,
        "ticket",
    );
    not_found(
        s.call_next(ta, b.agent.id, b.counter.id, None, &ctx(secs(20)))
            .await,
        "agent",
    );
    not_found(
        s.call_next(ta, a.agent.id, b.counter.id, None, &ctx(secs(20)))
            .await,
        "counter",
    );
    not_found(
        act(
            s,
            ta,
            a_ticket.id,
            TicketAction::Transfer {
                to_queue_id: b.queue.id,
                keep_position: true,
            },
            secs(20),
        )
        .await,
        "queue",
    );
    not_found(
        s.set_queue_status(ta, b.queue.id, QueueStatus::Closed, &ctx(secs(20)))
            .await,
        "queue",
    );
    not_found(
        s.set_agent_status(ta, b.agent.id, AgentStatus::Offline, &ctx(secs(20)))
            .await,
        "agent",
    );
    not_found(
        s.create_service(
            ta,
            NewService {
                site_id: b.site.id,
                name: name("Stolen"),
                sla_target_secs: 60,
                expected_duration_secs: 60,
            },
            &ctx(secs(20)),
        )
        .await,
        "site",
    );
    not_found(
        s.create_queue(
            ta,
            NewQueue {
                service_id: b.service.id,
                name: name("Stolen"),
                prefix: "S".parse().unwrap(),
                policy: fifo(),
            },
            &ctx(secs(20)),
        )
        .await,
        "service",
    );
    not_found(
        s.create_counter(
            ta,
            NewCounter {
                site_id: b.site.id,
                name: name("Stolen"),
            },
            &ctx(secs(20)),
        )
        .await,
        "site",
    );
    not_found(
        s.create_agent(
            ta,
            NewAgent {
                site_id: a.site.id,
                user_id: None,
                name: name("Mole"),
                skills: vec![Skill {
                    service_id: b.service.id,
                    weight: 10,
                }],
            },
            &ctx(secs(20)),
        )
        .await,
        "service",
    );

    // B is untouched: its ticket still waits and B's agent can call it.
    assert_eq!(
        s.ticket(b.tenant.id, b_ticket.id).await.unwrap().as_ref(),
        Some(&b_ticket)
    );
    assert_eq!(
        s.queue(b.tenant.id, b.queue.id).await.unwrap().as_ref(),
        Some(&b.queue)
    );
    let called = s
        .call_next(b.tenant.id, b.agent.id, b.counter.id, None, &ctx(secs(30)))
        .await
        .unwrap()
        .expect("B's own ticket");
    assert_eq!(called.id, b_ticket.id);
    // And A's agent only ever sees A's ticket.
    let called = s
        .call_next(ta, a.agent.id, a.counter.id, None, &ctx(secs(31)))
        .await
        .unwrap()
        .expect("A's own ticket");
    assert_eq!(called.id, a_ticket.id);
}

async fn issue_ticket_result(
    store: &dyn Store,
    tenant: TenantId,
    service: ServiceId,
    at: DateTime<Utc>,
) -> Result<Ticket> {
    store
        .issue_ticket(
            tenant,
            IssueTicket {
                service_id: service,
                channel: Channel::Web,
                priority: 0,
                contact: None,
            },
            &ctx(at),
        )
        .await
}

/// Numbers are prefix + counter per queue and per site-local day (A001, A002…), and a new
/// local day starts again at 1 even when the UTC date has not changed.
pub async fn numbering_resets_each_local_day(store: Arc<dyn Store>) {
    let s = &*store;
    let t = tenant(s, "num").await;
    // UTC+14: local midnight is 10:00 UTC.
    let site = site(s, t.id, "Kiritimati", "Pacific/Kiritimati").await;
    let (svc_a, q_a) = service_queue(s, t.id, site.id, "A", fifo()).await;
    let (svc_b, q_b) = service_queue(s, t.id, site.id, "B", fifo()).await;
    let late = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap(); // 23:00 local, 1 March
    let day1 = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    let day2 = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    let a1 = issue(s, t.id, svc_a.id, late).await;
    let a2 = issue(s, t.id, svc_a.id, late + Duration::minutes(30)).await;
    let b1 = issue(s, t.id, svc_b.id, late + Duration::minutes(40)).await;
    // 00:30 local on 2 March, still 1 March in UTC.
    let a3 = issue(s, t.id, svc_a.id, late + Duration::minutes(90)).await;
    let a4 = issue(s, t.id, svc_a.id, late + Duration::minutes(95)).await;
    let got: Vec<(&str, NaiveDateKey, u32)> = [&a1, &a2, &b1, &a3, &a4]
        .iter()
        .map(|t| (t.number.as_str(), t.local_date, t.seq))
        .collect();
    assert_eq!(
        got,
        vec![
            ("A001", day1, 1),
            ("A002", day1, 2),
            ("B001", day1, 1),
            ("A001", day2, 1),
            ("A002", day2, 2),
        ]
    );
    assert_eq!(
        a3.local_date,
        numbering::local_day(a3.created_at, site.timezone)
    );
    assert_eq!(s.last_seq(t.id, q_a.id, day1).await.unwrap(), 2);
    assert_eq!(s.last_seq(t.id, q_a.id, day2).await.unwrap(), 2);
    assert_eq!(s.last_seq(t.id, q_b.id, day1).await.unwrap(), 1);
    assert_eq!(s.last_seq(t.id, q_b.id, day2).await.unwrap(), 0);
    for t in [&a1, &a2, &b1, &a3, &a4] {
        same_as_stored(s, t).await;
        assert_eq!(t.status, TicketStatus::Waiting);
        assert_eq!(t.arrived_at, t.created_at);
    }
    assert_eq!((a1.queue_id, b1.queue_id), (q_a.id, q_b.id));
}

type NaiveDateKey = chrono::NaiveDate;

/// Closed and paused queues issue nothing; paused queues are still called down, closed
/// ones are not.
pub async fn closed_and_paused_queues(store: Arc<dyn Store>) {
    let s = &*store;
    let w = world(s, "closed").await;
    let t = w.tenant.id;
    let waiting = issue(s, t, w.service.id, secs(1)).await;
    s.set_queue_status(t, w.queue.id, QueueStatus::Paused, &ctx(secs(2)))
        .await
        .unwrap();
    let r = issue_ticket_result(s, t, w.service.id, secs(3)).await;
    assert!(matches!(r, Err(StoreError::QueueClosed)), "{r:?}");
    s.set_queue_status(t, w.queue.id, QueueStatus::Closed, &ctx(secs(4)))
        .await
        .unwrap();
    let r = issue_ticket_result(s, t, w.service.id, secs(5)).await;
    assert!(matches!(r, Err(StoreError::QueueClosed)), "{r:?}");
    // Refused issues consumed no number.
    assert_eq!(
        s.last_seq(t, w.queue.id, waiting.local_date).await.unwrap(),
        1
    );
    // Closed: nothing is called.
    let none = s
        .call_next(t, w.agent.id, w.counter.id, None, &ctx(secs(6)))
        .await
        .unwrap();
    assert_eq!(none, None);
    // Paused: the waiting ticket is still called.
    s.set_queue_status(t, w.queue.id, QueueStatus::Paused, &ctx(secs(7)))
        .await
        .unwrap();
    let called = s
        .call_next(t, w.agent.id, w.counter.id, None, &ctx(secs(8)))
        .await
        .unwrap()
        .expect("paused queues are called down");
    assert_eq!(called.id, waiting.id);
    // Open again: issuing resumes with the next number.
    s.set_queue_status(t, w.queue.id, QueueStatus::Open, &ctx(secs(9)))
        .await
        .unwrap();
    let next = issue(s, t, w.service.id, secs(10)).await;
    assert_eq!(next.number, "A002");
    not_found(
        issue_ticket_result(s, t, ServiceId::new(), secs(11)).await,
        "service",
    );
}

/// issue → call → recall → start → pause → resume → close, every step stored exactly as
/// returned, with its event; the agent is serving while it has the ticket.
pub async fn ticket_journey(store: Arc<dyn Store>) {
    let s = &*store;
    let w = world(s, "journey").await;
    let t = w.tenant.id;
    let issued = issue(s, t, w.service.id, secs(0)).await;
    assert_eq!(issued.number, "A001");
    assert_eq!(issued.created_at, truncate_micros(secs(0)));
    same_as_stored(s, &issued).await;

    let called = s
        .call_next(t, w.agent.id, w.counter.id, None, &ctx(secs(60)))
        .await
        .unwrap()
        .expect("a ticket waits");
    assert_eq!(called.id, issued.id);
    assert_eq!(called.status, TicketStatus::Called);
    assert_eq!(called.called_at, Some(truncate_micros(secs(60))));
    assert_eq!(
        (called.agent_id, called.counter_id),
        (Some(w.agent.id), Some(w.counter.id))
    );
    same_as_stored(s, &called).await;
    assert_eq!(
        s.agent(t, w.agent.id).await.unwrap().unwrap().status,
        AgentStatus::Serving
    );
    // Nothing else waits.
    assert_eq!(
        s.call_next(t, w.agent.id, w.counter.id, None, &ctx(secs(61)))
            .await
            .unwrap(),
        None
    );

    let steps = [
        (TicketAction::Recall, 90, TicketStatus::Recalled),
        (TicketAction::Start, 120, TicketStatus::Serving),
        (
            TicketAction::Pause {
                reason: Some("photocopy".into()),
            },
            200,
            TicketStatus::Paused,
        ),
        (TicketAction::Resume, 260, TicketStatus::Serving),
        (TicketAction::Close, 420, TicketStatus::Served),
    ];
    let mut current = called.clone();
    for (action, at, status) in steps {
        let r = act(s, t, current.id, action.clone(), secs(at))
            .await
            .unwrap();
        assert!(r.created.is_none());
        assert_eq!(r.ticket.status, status, "after {}", action.name());
        same_as_stored(s, &r.ticket).await;
        current = r.ticket;
    }
    assert_eq!(current.recalls, 1);
    assert_eq!(current.paused_secs, 60);
    assert_eq!(current.started_at, Some(truncate_micros(secs(120))));
    assert_eq!(current.finished_at, Some(truncate_micros(secs(420))));
    assert_eq!(current.service_secs(), Some(240.0));
    assert_eq!(
        s.agent(t, w.agent.id).await.unwrap().unwrap().status,
        AgentStatus::Available,
        "closing frees the agent"
    );

    let events = s.ticket_events(t, issued.id).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "issue", "call", "recall", "start", "pause", "resume", "close"
        ]
    );
    let path: Vec<(Option<TicketStatus>, TicketStatus)> =
        events.iter().map(|e| (e.from, e.to)).collect();
    use TicketStatus::*;
    assert_eq!(
        path,
        [
            (None, Waiting),
            (Some(Waiting), Called),
            (Some(Called), Recalled),
            (Some(Recalled), Serving),
            (Some(Serving), Paused),
            (Some(Paused), Serving),
            (Some(Serving), Served),
        ]
    );
    assert!(
        events
            .iter()
            .all(|e| e.ticket_id == issued.id && e.tenant_id == t)
    );
    assert_eq!(events[0].data, serde_json::json!({ "number": "A001" }));
    assert_eq!(events[1].at, truncate_micros(secs(60)));
    assert_eq!(events[1].actor, ctx(t0()).actor);

    // A no-show also frees the agent.
    let second = issue(s, t, w.service.id, secs(500)).await;
    let c2 = s
        .call_next(t, w.agent.id, w.counter.id, None, &ctx(secs(510)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c2.id, second.id);
    let ns = act(s, t, second.id, TicketAction::NoShow, secs(600))
        .await
        .unwrap();
    assert_eq!(ns.ticket.status, NoShow);
    assert_eq!(
        s.agent(t, w.agent.id).await.unwrap().unwrap().status,
        AgentStatus::Available
    );
    // A waiting ticket can be cancelled.
    let third = issue(s, t, w.service.id, secs(700)).await;
    let c = act(s, t, third.id, TicketAction::Cancel, secs(710))
        .await
        .unwrap();
    assert_eq!(c.ticket.status, Cancelled);
    same_as_stored(s, &c.ticket).await;
}

/// A transfer closes the ticket and issues the next number of the target queue, keeping
/// the arrival time when asked; both are linked and recorded.
pub async fn transfer_issues_in_target_queue(store: Arc<dyn Store>) {
    let s = &*store;
    let w = world(s, "transfer").await;
    let t = w.tenant.id;
    let (svc_b, q_b) = service_queue(s, t, w.site.id, "B", fifo()).await;
    let other_site = site(s, t, "Annex", "Africa/Nairobi").await;
    let (_, q_far) = service_queue(s, t, other_site.id, "F", fifo()).await;
    let contact = ContactInput {
        phone: Some("+254712000001".parse().unwrap()),
        name: Some(name("Amina")),
        locale: None,
    };
    let original = issue_with(s, t, w.service.id, 1, Some(contact), secs(0)).await;
    let already_in_b = issue(s, t, svc_b.id, secs(30)).await;
    assert_eq!(already_in_b.number, "B001");

    // Wrong targets change nothing.
    let to = |q: QueueId| TicketAction::Transfer {
        to_queue_id: q,
        keep_position: true,
    };
    invalid(act(s, t, original.id, to(w.queue.id), secs(40)).await);
    invalid(act(s, t, original.id, to(q_far.id), secs(40)).await);
    not_found(
        act(s, t, original.id, to(QueueId::new()), secs(40)).await,
        "queue",
    );
    same_as_stored(s, &original).await;

    // Called first, so the transfer also frees the agent.
    let called = s
        .call_next(t, w.agent.id, w.counter.id, None, &ctx(secs(50)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(called.id, original.id);
    let r = act(s, t, original.id, to(q_b.id), secs(300)).await.unwrap();
    let new = r.created.expect("a transfer creates a ticket");
    let old = r.ticket;
    assert_eq!(old.status, TicketStatus::Transferred);
    assert_eq!(old.transferred_to, Some(new.id));
    assert_eq!(old.finished_at, Some(truncate_micros(secs(300))));
    assert_eq!(new.transferred_from, Some(old.id));
    assert_eq!(new.queue_id, q_b.id);
    assert_eq!(new.service_id, svc_b.id);
    assert_eq!(new.number, "B002");
    assert_eq!(new.seq, 2);
    assert_eq!(new.status, TicketStatus::Waiting);
    assert_eq!(new.arrived_at, original.arrived_at, "keep_position");
    assert_eq!(new.created_at, truncate_micros(secs(300)));
    assert_eq!(
        (new.priority, new.channel, new.contact_id),
        (original.priority, original.channel, original.contact_id)
    );
    assert!(new.contact_id.is_some());
    same_as_stored(s, &old).await;
    same_as_stored(s, &new).await;
    assert_eq!(
        s.agent(t, w.agent.id).await.unwrap().unwrap().status,
        AgentStatus::Available
    );
    // Kept position: the transferred ticket is ahead of B001, which arrived later.
    let snap = s.queue_snapshot(t, q_b.id).await.unwrap().unwrap();
    let order: Vec<TicketId> = snap.waiting.iter().map(|t| t.id).collect();
    assert_eq!(order, vec![new.id, already_in_b.id]);

    let kinds = |id| async move {
        s.ticket_events(t, id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect::<Vec<_>>()
    };
    assert_eq!(kinds(old.id).await, ["issue", "call", "transfer"]);
    assert_eq!(kinds(new.id).await, ["issue"]);
    let log = s.audit_log(t).await.unwrap();
    let tail: Vec<&str> = actions(&log).into_iter().rev().take(2).collect();
    assert_eq!(tail, ["ticket.issue", "ticket.transfer"]);

    // Without keep_position the new ticket arrives now, behind everyone.
    let r2 = act(
        s,
        t,
        already_in_b.id,
        TicketAction::Transfer {
            to_queue_id: w.queue.id,
            keep_position: false,
        },
        secs(400),
    )
    .await
    .unwrap();
    let moved = r2.created.unwrap();
    assert_eq!(moved.arrived_at, truncate_micros(secs(400)));
    assert_eq!(moved.number, "A002");
    // A transferred ticket cannot move again.
    let again = act(s, t, old.id, to(w.queue.id), secs(500)).await;
    assert!(
        matches!(again, Err(StoreError::IllegalTransition(_))),
        "{again:?}"
    );
}

/// An illegal action is a typed error and leaves the ticket, its events, the feed and the
/// audit log exactly as they were.
pub async fn illegal_transition_changes_nothing(store: Arc<dyn Store>) {
    let s = &*store;
    let w = world(s, "illegal").await;
    let t = w.tenant.id;
    let ticket = issue(s, t, w.service.id, secs(0)).await;
    let audit_before = s.audit_log(t).await.unwrap();
    let feed_before = whole_feed(s, t).await;
    for action in [
        TicketAction::Close,
        TicketAction::Start,
        TicketAction::Recall,
        TicketAction::NoShow,
        TicketAction::Resume,
    ] {
        let r = act(s, t, ticket.id, action.clone(), secs(10)).await;
        match r {
            Err(StoreError::IllegalTransition(IllegalTransition { action: a, from })) => {
                assert_eq!((a, from), (action.name(), TicketStatus::Waiting));
            }
            other => panic!(
                "{}: expected IllegalTransition, got {other:?}",
                action.name()
            ),
        }
    }
    same_as_stored(s, &ticket).await;
    assert_eq!(s.ticket_events(t, ticket.id).await.unwrap().len(), 1);
    assert_eq!(whole_feed(s, t).await, feed_before);
    assert_eq!(s.audit_log(t).await.unwrap(), audit_before);
    not_found(
        act(s, t, TicketId::new(), TicketAction::Cancel, secs(10)).await,
        "ticket",
    );
    // A terminal ticket stays terminal.
    act(s, t, ticket.id, TicketAction::Cancel, secs(20))
        .await
        .unwrap();
    let r = act(s, t, ticket.id, TicketAction::Cancel, secs(30)).await;
    assert!(matches!(r, Err(StoreError::IllegalTransition(_))), "{r:?}");
    let none = s
        .call_next(t, w.agent.id, w.counter.id, None, &ctx(secs(40)))
        .await
        .unwrap();
    assert_eq!(none, None, "a cancelled ticket is never called");
}

/// Closing a ticket folds its service time (pauses excluded) into the service's EWMA.
pub async fn ewma_learns_on_close(store: Arc<dyn Store>) {
    let s = &*store;
    let w = world(s, "ewma").await;
    let t = w.tenant.id;
    let mut expected = w.service.ewma_service_secs;
    // Service times: 100 s, then 430 s with a 30 s pause (400 s observed).
    for (start, pause, end) in [(0, None, 100), (1000, Some((1100, 1130)), 1430)] {
        let ticket = issue(s, t, w.service.id, secs(start - 10)).await;
        s.call_next(t, w.agent.id, w.counter.id, None, &ctx(secs(start - 5)))
            .await
            .unwrap()
            .unwrap();
        act(s, t, ticket.id, TicketAction::Start, secs(start))
            .await
            .unwrap();
        if let Some((p, r)) = pause {
            act(
                s,
                t,
                ticket.id,
                TicketAction::Pause { reason: None },
                secs(p),
            )
            .await
            .unwrap();
            act(s, t, ticket.id, TicketAction::Resume, secs(r))
                .await
                .unwrap();
        }
        let closed = act(s, t, ticket.id, TicketAction::Close, secs(end))
            .await
            .unwrap()
            .ticket;
        expected = eta::ewma_update(expected, closed.service_secs().unwrap());
        let svc = s.service(t, w.service.id).await.unwrap().unwrap();
        assert_eq!(svc.ewma_service_secs, expected);
        assert_ne!(svc.ewma_service_secs, w.service.ewma_service_secs);
    }
    // Other actions leave it alone.
    let ticket = issue(s, t, w.service.id, secs(2000)).await;
    act(s, t, ticket.id, TicketAction::Cancel, secs(2001))
        .await
        .unwrap();
    let svc = s.service(t, w.service.id).await.unwrap().unwrap();
    assert_eq!(svc.ewma_service_secs, expected);
    // The audit chain (with its JSON read back) still verifies.
    sq_domain::audit::verify(&s.audit_log(t).await.unwrap()).unwrap();
}

/// One contact per phone number per tenant, whatever spelling; name and locale update.
pub async fn contact_matched_by_phone(store: Arc<dyn Store>) {
    let s = &*store;
    let w = world(s, "contact").await;
    let other = world(s, "contact-other").await;
    let t = w.tenant.id;
    let phone = |p: &str| Some(p.parse::<PhoneNumber>().unwrap());
    let c = |p: &str, n: Option<&str>, l: Option<&str>| {
        Some(ContactInput {
            phone: phone(p),
            name: n.map(name),
            locale: l.map(|l| l.parse().unwrap()),
        })
    };
    let first = issue_with(
        s,
        t,
        w.service.id,
        0,
        c("+254712345678", Some("Amina"), None),
        secs(0),
    )
    .await;
    let again = issue_with(
        s,
        t,
        w.service.id,
        0,
        c("00254 712 345 678", None, Some("sw")),
        secs(1),
    )
    .await;
    let stranger = issue_with(
        s,
        t,
        w.service.id,
        0,
        c("+254799999999", None, None),
        secs(2),
    )
    .await;
    let anonymous = issue(s, t, w.service.id, secs(3)).await;
    let elsewhere = issue_with(
        s,
        other.tenant.id,
        other.service.id,
        0,
        c("+254712345678", Some("Amina"), None),
        secs(4),
    )
    .await;
    assert!(first.contact_id.is_some());
    assert_eq!(again.contact_id, first.contact_id);
    assert_ne!(stranger.contact_id, first.contact_id);
    assert!(stranger.contact_id.is_some());
    assert_eq!(anonymous.contact_id, None);
    assert!(elsewhere.contact_id.is_some());
    assert_ne!(
        elsewhere.contact_id, first.contact_id,
        "contacts are per tenant"
    );
    // A contact without a phone is new every time.
    let nameless = |n: &str| {
        Some(ContactInput {
            phone: None,
            name: Some(name(n)),
            locale: None,
        })
    };
    let x = issue_with(s, t, w.service.id, 0, nameless("Walk-in"), secs(5)).await;
    let y = issue_with(s, t, w.service.id, 0, nameless("Walk-in"), secs(6)).await;
    assert!(x.contact_id.is_some() && y.contact_id.is_some());
    assert_ne!(x.contact_id, y.contact_id);
    for ticket in [&first, &again, &stranger, &anonymous, &x, &y] {
        same_as_stored(s, ticket).await;
    }
}

/// The snapshot lists waiting tickets in FIFO order and those at counters; position inputs
/// count waiting tickets per class and those ahead in the same class.
pub async fn snapshot_and_position_inputs(store: Arc<dyn Store>) {
    let s = &*store;
    let t = tenant(s, "snap").await;
    let site = site(s, t.id, "Main", "Africa/Nairobi").await;
    let (svc, q) = service_queue(s, t.id, site.id, "V", vip_ratio()).await;
    let (svc_other, _) = service_queue(s, t.id, site.id, "O", fifo()).await;
    let counter = counter(s, t.id, site.id, "1").await;
    let agent1 = agent(s, t.id, site.id, "One", &[svc.id]).await;
    let _agent2 = agent(s, t.id, site.id, "Two", &[svc.id, svc_other.id]).await;
    let _agent3 = agent(s, t.id, site.id, "Three", &[svc_other.id]).await;
    let classes = [0u8, 1, 0, 1, 0];
    let mut issued = Vec::new();
    for (i, c) in classes.iter().enumerate() {
        issued.push(issue_with(s, t.id, svc.id, *c, None, secs(i as i64 * 10)).await);
    }
    let snap = s.queue_snapshot(t.id, q.id).await.unwrap().unwrap();
    assert_eq!(snap.queue, q);
    assert_eq!(snap.service, svc);
    assert_eq!(snap.waiting, issued, "FIFO by arrival");
    assert!(snap.serving.is_empty());
    assert_eq!(snap.agents_serving, 2);
    assert_eq!(snap.policy_state, PolicyState::default());

    // The front of each class, in FIFO order: classes 0 (issued 0, 2, 4) and 1 (1, 3).
    let ids = |ts: Vec<Ticket>| ts.into_iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(
        ids(s.waiting_heads(t.id, q.id, 2).await.unwrap()),
        ids(issued[..4].to_vec())
    );
    assert_eq!(
        ids(s.waiting_heads(t.id, q.id, 1).await.unwrap()),
        ids(issued[..2].to_vec())
    );
    assert!(
        s.waiting_heads(t.id, QueueId::new(), 5)
            .await
            .unwrap()
            .is_empty()
    );

    let last_normal = &issued[4];
    let p = s.position_inputs(t.id, last_normal).await.unwrap();
    assert_eq!(p.policy, vip_ratio());
    assert_eq!(p.totals, BTreeMap::from([(0, 3), (1, 2)]));
    assert_eq!(p.ahead_in_class, 2);
    assert_eq!(p.ewma_service_secs, 300.0);
    assert_eq!(p.agents_serving, 2);
    let first_vip = &issued[1];
    assert_eq!(
        s.position_inputs(t.id, first_vip)
            .await
            .unwrap()
            .ahead_in_class,
        0
    );
    // Without ratios a queue is one FIFO line: every class ahead counts.
    let mut in_line = Vec::new();
    for (i, c) in classes.iter().enumerate() {
        in_line.push(issue_with(s, t.id, svc_other.id, *c, None, secs(i as i64 * 10 + 5)).await);
    }
    let p = s.position_inputs(t.id, &in_line[4]).await.unwrap();
    assert_eq!(p.totals, BTreeMap::from([(0, 3), (1, 2)]));
    assert_eq!(p.ahead_in_class, 4, "FIFO: all classes ahead");
    assert_eq!(p.agents_serving, 2);
    let p = s.position_inputs(t.id, &in_line[1]).await.unwrap();
    assert_eq!(p.ahead_in_class, 1);

    // A call moves one ticket to `serving` and may advance the ratio state.
    let called = s
        .call_next(t.id, agent1.id, counter.id, None, &ctx(secs(100)))
        .await
        .unwrap()
        .unwrap();
    let snap = s.queue_snapshot(t.id, q.id).await.unwrap().unwrap();
    assert_eq!(snap.serving, vec![called.clone()]);
    assert_eq!(snap.waiting.len(), 4);
    assert!(!snap.waiting.iter().any(|w| w.id == called.id));
    let views_state = snap.policy_state.clone();
    let p = s.position_inputs(t.id, last_normal).await.unwrap();
    assert_eq!(p.policy_state, views_state);
    assert_eq!(p.totals.values().sum::<u32>(), 4);

    // Offline agents do not count.
    s.set_agent_status(t.id, agent1.id, AgentStatus::Offline, &ctx(secs(110)))
        .await
        .unwrap();
    assert_eq!(
        s.queue_snapshot(t.id, q.id)
            .await
            .unwrap()
            .unwrap()
            .agents_serving,
        1
    );
    assert_eq!(
        s.last_seq(t.id, q.id, issued[0].local_date).await.unwrap(),
        5
    );
    assert!(
        s.queue_snapshot(t.id, QueueId::new())
            .await
            .unwrap()
            .is_none()
    );
    // Issuing answers with the new ticket's inputs exactly as a read right after sees
    // them: in a ratio queue (own class ahead) and a FIFO one (every class ahead).
    for (k, (service_id, priority)) in [(svc.id, 0u8), (svc.id, 1), (svc_other.id, 1)]
        .into_iter()
        .enumerate()
    {
        let req = IssueTicket {
            service_id,
            channel: Channel::Sms,
            priority,
            contact: None,
        };
        let (ticket, inputs) = s
            .issue_ticket_positioned(t.id, req, &ctx(secs(120 + k as i64)))
            .await
            .unwrap();
        assert_eq!(inputs, s.position_inputs(t.id, &ticket).await.unwrap());
    }
}

/// Listings are newest first, filtered and limited; the feed pages by position.
pub async fn ticket_listing_and_feed(store: Arc<dyn Store>) {
    let s = &*store;
    let w = world(s, "list").await;
    let t = w.tenant.id;
    let (svc_b, q_b) = service_queue(s, t, w.site.id, "B", fifo()).await;
    let mut a = Vec::new();
    for i in 0..5 {
        a.push(issue(s, t, w.service.id, secs(i)).await);
    }
    let b = issue(s, t, svc_b.id, secs(10)).await;
    let cancelled = act(s, t, a[0].id, TicketAction::Cancel, secs(20))
        .await
        .unwrap()
        .ticket;

    let all = s.tickets(t, &TicketFilter::default()).await.unwrap();
    let ids: Vec<TicketId> = all.iter().map(|t| t.id).collect();
    assert_eq!(
        ids,
        vec![b.id, a[4].id, a[3].id, a[2].id, a[1].id, a[0].id],
        "newest first"
    );
    assert_eq!(all[5], cancelled);
    let limited = s
        .tickets(
            t,
            &TicketFilter {
                limit: Some(2),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(limited, all[..2].to_vec());
    let in_b = s
        .tickets(
            t,
            &TicketFilter {
                queue_id: Some(q_b.id),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(in_b, vec![b.clone()]);
    let waiting_a = s
        .tickets(
            t,
            &TicketFilter {
                status: Some(TicketStatus::Waiting),
                queue_id: Some(w.queue.id),
                limit: Some(5000),
            },
        )
        .await
        .unwrap();
    assert_eq!(waiting_a.len(), 4);
    let only_cancelled = s
        .tickets(
            t,
            &TicketFilter {
                status: Some(TicketStatus::Cancelled),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(only_cancelled, vec![cancelled.clone()]);

    let feed = whole_feed(s, t).await;
    assert_eq!(feed.len(), 7);
    assert!(
        feed.windows(2).all(|p| p[0].0 < p[1].0),
        "ascending positions"
    );
    let kinds: Vec<&str> = feed.iter().map(|(_, e)| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["issue"; 6]
            .iter()
            .copied()
            .chain(["cancel"])
            .collect::<Vec<_>>()
    );
    let (p3, _) = feed[2];
    let page = s.ticket_event_feed(t, p3, 2).await.unwrap();
    assert_eq!(page, feed[3..5].to_vec());
    assert!(
        s.ticket_event_feed(t, feed[6].0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let per_ticket = s.ticket_events(t, a[0].id).await.unwrap();
    assert_eq!(per_ticket.len(), 2);
    assert_eq!(per_ticket[1], feed[6].1);
}

/// Users: e-mails unique platform-wide, lookups by e-mail and id, super admins tenantless.
pub async fn users(store: Arc<dyn Store>) {
    let s = &*store;
    let a = tenant(s, "users-a").await;
    let b = tenant(s, "users-b").await;
    let site_a = site(s, a.id, "Main", "Africa/Nairobi").await;
    let mail = email("admin");
    let admin = s
        .create_user(
            NewUser {
                tenant_id: Some(a.id),
                email: mail.clone(),
                password_hash: "$argon2id$v=19$secret".into(),
                role: Role::Admin,
                site_id: None,
            },
            &ctx(secs(1)),
        )
        .await
        .unwrap();
    assert_eq!(admin.tenant_id, Some(a.id));
    assert_eq!(admin.created_at, truncate_micros(secs(1)));
    let rec = s.user_by_email(&mail).await.unwrap().unwrap();
    assert_eq!(rec.user, admin);
    assert_eq!(rec.password_hash, "$argon2id$v=19$secret");
    assert_eq!(s.user(admin.id).await.unwrap().as_ref(), Some(&admin));
    assert!(s.user(UserId::new()).await.unwrap().is_none());
    assert!(s.user_by_email(&email("nobody")).await.unwrap().is_none());

    let dup = s
        .create_user(
            NewUser {
                tenant_id: Some(b.id),
                email: mail.clone(),
                password_hash: "x".into(),
                role: Role::Agent,
                site_id: None,
            },
            &ctx(secs(2)),
        )
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict("email"))), "{dup:?}");

    let device = s
        .create_user(
            NewUser {
                tenant_id: Some(a.id),
                email: email("display"),
                password_hash: "x".into(),
                role: Role::Device,
                site_id: Some(site_a.id),
            },
            &ctx(secs(3)),
        )
        .await
        .unwrap();
    assert_eq!(
        s.user(device.id).await.unwrap().unwrap().site_id,
        Some(site_a.id)
    );

    let b_audit = s.audit_log(b.id).await.unwrap().len();
    let root = s
        .create_user(
            NewUser {
                tenant_id: None,
                email: email("root"),
                password_hash: "x".into(),
                role: Role::SuperAdmin,
                site_id: None,
            },
            &ctx(secs(4)),
        )
        .await
        .unwrap();
    assert_eq!(root.tenant_id, None);
    assert_eq!(s.user(root.id).await.unwrap().as_ref(), Some(&root));
    assert_eq!(s.audit_log(b.id).await.unwrap().len(), b_audit);
    let log_a = s.audit_log(a.id).await.unwrap();
    assert_eq!(
        actions(&log_a)
            .iter()
            .filter(|a| **a == "user.create")
            .count(),
        2
    );
    assert!(
        log_a.iter().all(|r| !r
            .entry
            .after
            .as_ref()
            .is_some_and(|v| v.to_string().contains("argon2"))),
        "password hashes stay out of the audit log"
    );
}

/// Rotation: the old token is used once; replaying it revokes the whole family.
pub async fn refresh_token_rotation(store: Arc<dyn Store>) {
    let s = &*store;
    let t = tenant(s, "refresh").await;
    let user = s
        .create_user(
            NewUser {
                tenant_id: Some(t.id),
                email: email("agent"),
                password_hash: "x".into(),
                role: Role::Agent,
                site_id: None,
            },
            &ctx(t0()),
        )
        .await
        .unwrap();
    let now = secs(0);
    let h = |n: &str| format!("{n}-{}", suffix());
    let (h1, h2, h3, h4) = (h("one"), h("two"), h("three"), h("four"));
    let family = uuid::Uuid::new_v4();
    s.store_refresh_token(NewRefreshToken {
        token_hash: h1.clone(),
        user_id: user.id,
        family,
        expires_at: now + Duration::hours(1),
    })
    .await
    .unwrap();
    let exp = now + Duration::hours(2);
    assert_eq!(
        s.rotate_refresh_token(&h1, &h2, exp, now).await.unwrap(),
        RefreshOutcome::Rotated { user_id: user.id }
    );
    // The new token works once.
    assert_eq!(
        s.rotate_refresh_token(&h2, &h3, exp, now + Duration::minutes(1))
            .await
            .unwrap(),
        RefreshOutcome::Rotated { user_id: user.id }
    );
    // Replaying a used token: reused, and the family's live token (h3) dies with it.
    assert_eq!(
        s.rotate_refresh_token(&h1, &h4, exp, now + Duration::minutes(2))
            .await
            .unwrap(),
        RefreshOutcome::Reused
    );
    let after = s
        .rotate_refresh_token(&h3, &h4, exp, now + Duration::minutes(3))
        .await
        .unwrap();
    assert!(
        matches!(after, RefreshOutcome::Reused | RefreshOutcome::Unknown),
        "{after:?}"
    );
    assert_eq!(
        s.rotate_refresh_token(&h("never"), &h("x"), exp, now)
            .await
            .unwrap(),
        RefreshOutcome::Unknown
    );

    // Expiry, in a family of its own.
    let (e1, e2) = (h("exp"), h("exp2"));
    s.store_refresh_token(NewRefreshToken {
        token_hash: e1.clone(),
        user_id: user.id,
        family: uuid::Uuid::new_v4(),
        expires_at: now + Duration::minutes(10),
    })
    .await
    .unwrap();
    assert_eq!(
        s.rotate_refresh_token(&e1, &e2, exp, now + Duration::minutes(11))
            .await
            .unwrap(),
        RefreshOutcome::Expired
    );
    // An expired refusal does not store the new token.
    assert_eq!(
        s.rotate_refresh_token(&e2, &h("x"), exp, now)
            .await
            .unwrap(),
        RefreshOutcome::Unknown
    );
}

/// Two devices racing with the same refresh token: exactly one rotates.
pub async fn concurrent_refresh_rotation(store: Arc<dyn Store>) {
    let s = &*store;
    let t = tenant(s, "race").await;
    let user = s
        .create_user(
            NewUser {
                tenant_id: Some(t.id),
                email: email("racer"),
                password_hash: "x".into(),
                role: Role::Agent,
                site_id: None,
            },
            &ctx(t0()),
        )
        .await
        .unwrap();
    let old = format!("race-{}", suffix());
    s.store_refresh_token(NewRefreshToken {
        token_hash: old.clone(),
        user_id: user.id,
        family: uuid::Uuid::new_v4(),
        expires_at: secs(3600),
    })
    .await
    .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8 {
        let store = store.clone();
        let old = old.clone();
        tasks.spawn(async move {
            let new = format!("{old}-next-{i}");
            store
                .rotate_refresh_token(&old, &new, secs(7200), secs(1))
                .await
                .unwrap()
        });
    }
    let outcomes = tasks.join_all().await;
    let rotated = outcomes
        .iter()
        .filter(|o| matches!(o, RefreshOutcome::Rotated { .. }))
        .count();
    assert_eq!(rotated, 1, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, RefreshOutcome::Rotated { .. } | RefreshOutcome::Reused)),
        "{outcomes:?}"
    );
}

/// API keys: listed per tenant, found by hash across tenants, hashes unique, never audited.
pub async fn api_keys(store: Arc<dyn Store>) {
    let s = &*store;
    let t = tenant(s, "keys").await;
    let other = tenant(s, "keys-other").await;
    let hash = format!("sha256-{}", suffix());
    let key = s
        .create_api_key(
            t.id,
            NewApiKey {
                name: name("Kiosk"),
                prefix: "sqk_ab12".into(),
                key_hash: hash.clone(),
                scopes: vec![Scope::ReadQueue, Scope::CallTickets],
                created_by: None,
            },
            &ctx(secs(1)),
        )
        .await
        .unwrap();
    assert_eq!(key.tenant_id, t.id);
    assert_eq!(key.scopes, vec![Scope::ReadQueue, Scope::CallTickets]);
    assert_eq!(key.created_at, truncate_micros(secs(1)));
    assert_eq!(key.revoked_at, None);
    let listed = s.api_keys(t.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(format!("{:?}", listed[0]), format!("{key:?}"));
    let found = s.api_key_by_hash(&hash).await.unwrap().unwrap();
    assert_eq!(format!("{found:?}"), format!("{key:?}"));
    assert!(s.api_key_by_hash("no-such-hash").await.unwrap().is_none());
    assert!(s.api_keys(other.id).await.unwrap().is_empty());
    let dup = s
        .create_api_key(
            other.id,
            NewApiKey {
                name: name("Copy"),
                prefix: "sqk_ab12".into(),
                key_hash: hash.clone(),
                scopes: vec![Scope::ReadQueue],
                created_by: None,
            },
            &ctx(secs(2)),
        )
        .await;
    assert!(
        matches!(dup, Err(StoreError::Conflict("api_key"))),
        "{dup:?}"
    );
    let log = s.audit_log(t.id).await.unwrap();
    let row = log.last().unwrap();
    assert_eq!(row.entry.action, "api_key.create");
    assert_eq!(row.entry.entity_id, key.id.to_string());
    assert!(row.entry.before.is_none());
    assert!(
        !row.entry
            .after
            .as_ref()
            .unwrap()
            .to_string()
            .contains(&hash)
    );

    // Revocation: another tenant cannot revoke it, the key stops authenticating, revoking
    // twice changes nothing, and the audit row holds neither key nor hash.
    let theirs = s.revoke_api_key(other.id, key.id, &ctx(secs(3))).await;
    assert!(
        matches!(theirs, Err(StoreError::NotFound("api_key"))),
        "{theirs:?}"
    );
    assert!(s.api_key_by_hash(&hash).await.unwrap().is_some());
    let revoked = s.revoke_api_key(t.id, key.id, &ctx(secs(4))).await.unwrap();
    assert_eq!(revoked.revoked_at, Some(truncate_micros(secs(4))));
    assert!(s.api_key_by_hash(&hash).await.unwrap().is_none());
    let again = s.revoke_api_key(t.id, key.id, &ctx(secs(5))).await.unwrap();
    assert_eq!(again.revoked_at, Some(truncate_micros(secs(4))));
    assert_eq!(
        s.api_keys(t.id).await.unwrap()[0].revoked_at,
        again.revoked_at
    );
    let log = s.audit_log(t.id).await.unwrap();
    let revocations: Vec<_> = log
        .iter()
        .filter(|r| r.entry.action == "api_key.revoke")
        .collect();
    assert_eq!(revocations.len(), 1);
    assert!(
        !revocations[0]
            .entry
            .after
            .as_ref()
            .unwrap()
            .to_string()
            .contains(&hash)
    );
    assert!(sq_domain::audit::verify(&log).is_ok());
}

/// After a handful of operations the tenant's chain verifies, with the expected actions,
/// entities and context, and `before` only where something existed before.
pub async fn audit_chain(store: Arc<dyn Store>) {
    let s = &*store;
    let w = world(s, "audit").await;
    let t = w.tenant.id;
    let ticket = issue(s, t, w.service.id, secs(1)).await;
    let at = secs(2) + Duration::nanoseconds(999);
    s.call_next(t, w.agent.id, w.counter.id, None, &ctx(at))
        .await
        .unwrap()
        .unwrap();
    act(s, t, ticket.id, TicketAction::Start, secs(3))
        .await
        .unwrap();
    act(s, t, ticket.id, TicketAction::Close, secs(4))
        .await
        .unwrap();
    let second = issue(s, t, w.service.id, secs(5)).await;
    act(s, t, second.id, TicketAction::Cancel, secs(6))
        .await
        .unwrap();
    s.set_queue_status(t, w.queue.id, QueueStatus::Paused, &ctx(secs(7)))
        .await
        .unwrap();
    s.set_agent_status(t, w.agent.id, AgentStatus::Offline, &ctx(secs(8)))
        .await
        .unwrap();
    s.create_user(
        NewUser {
            tenant_id: Some(t),
            email: email("auditor"),
            password_hash: "x".into(),
            role: Role::Manager,
            site_id: None,
        },
        &ctx(secs(9)),
    )
    .await
    .unwrap();
    s.create_api_key(
        t,
        NewApiKey {
            name: name("Reports"),
            prefix: "sqk_r".into(),
            key_hash: format!("h-{}", suffix()),
            scopes: vec![Scope::ReadReports],
            created_by: None,
        },
        &ctx(secs(10)),
    )
    .await
    .unwrap();

    let log = s.audit_log(t).await.unwrap();
    assert_eq!(sq_domain::audit::verify(&log), Ok(16));
    assert_eq!(
        actions(&log),
        [
            "tenant.create",
            "site.create",
            "service.create",
            "queue.create",
            "counter.create",
            "agent.create",
            "ticket.issue",
            "ticket.call",
            "ticket.start",
            "ticket.close",
            "ticket.issue",
            "ticket.cancel",
            "queue.set_status",
            "agent.set_status",
            "user.create",
            "api_key.create",
        ]
    );
    let seqs: Vec<i64> = log.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=16).collect::<Vec<_>>());
    assert!(log.iter().all(|r| r.entry.tenant_id == t));
    assert_eq!(log[0].entry.entity_id, t.to_string());
    assert_eq!(log[0].entry.entity_type, "tenant");
    assert_eq!(log[6].entry.entity_type, "ticket");
    assert_eq!(log[6].entry.entity_id, ticket.id.to_string());
    for (i, r) in log.iter().enumerate() {
        let is_create = r.entry.action.ends_with(".create") || r.entry.action == "ticket.issue";
        assert_eq!(
            r.entry.before.is_none(),
            is_create,
            "row {i}: {}",
            r.entry.action
        );
        assert!(r.entry.after.is_some(), "row {i}");
    }
    // `after` is the stored domain value.
    let after_issue: Ticket = serde_json::from_value(log[6].entry.after.clone().unwrap()).unwrap();
    assert_eq!(after_issue, ticket);
    let before_call: Ticket = serde_json::from_value(log[7].entry.before.clone().unwrap()).unwrap();
    assert_eq!(before_call, ticket);
    let q_after: Queue = serde_json::from_value(log[12].entry.after.clone().unwrap()).unwrap();
    assert_eq!(q_after.status, QueueStatus::Paused);
    // Context round-trips, the instant truncated to microseconds.
    let call = &log[7].entry.ctx;
    assert_eq!(call.actor, ctx(t0()).actor);
    assert_eq!(call.ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(call.user_agent.as_deref(), Some("contract-suite/1"));
    assert_eq!(call.at, truncate_micros(at));
    // System actions with no ip or user agent chain as well.
    s.set_queue_status(
        t,
        w.queue.id,
        QueueStatus::Open,
        &AuditContext::system(secs(11)),
    )
    .await
    .unwrap();
    let log = s.audit_log(t).await.unwrap();
    assert_eq!(sq_domain::audit::verify(&log), Ok(17));
    assert_eq!(log[16].entry.ctx.actor, Actor::System);
    assert_eq!(log[16].prev_hash, log[15].hash);
}

/// 32 agents call concurrently over 2,000 tickets in a FIFO queue and a 2:1 VIP ratio
/// queue: every ticket is called exactly once, and per queue the calls (in feed order)
/// follow `policy::order` of the initial waiting set.
pub async fn concurrent_call_next_follows_policy(store: Arc<dyn Store>) {
    const AGENTS: usize = 32;
    const PER_QUEUE: usize = 1000;
    let s = &*store;
    let t = tenant(s, "callrace").await;
    let tid = t.id;
    let site = site(s, tid, "Main", "Africa/Nairobi").await;
    let (svc_f, q_f) = service_queue(s, tid, site.id, "F", fifo()).await;
    let (svc_r, q_r) = service_queue(s, tid, site.id, "R", vip_ratio()).await;

    // Issue concurrently; arrivals are spread over the morning independently of the
    // numbering order, and the ratio queue mixes classes 0, 1 and 2 (2 has no ratio).
    let mut tasks = tokio::task::JoinSet::new();
    for lane in 0..8usize {
        let store = store.clone();
        tasks.spawn(async move {
            let mut out = Vec::new();
            for i in (lane..2 * PER_QUEUE).step_by(8) {
                let (svc, prio) = if i % 2 == 0 {
                    (svc_f.id, 0)
                } else {
                    (svc_r.id, [0u8, 1, 0, 1, 1, 2, 0][i % 7])
                };
                let at = t0() + Duration::milliseconds(((i * 7919) % 20_000) as i64 * 50);
                let ticket = store
                    .issue_ticket(
                        tid,
                        IssueTicket {
                            service_id: svc,
                            channel: Channel::Sms,
                            priority: prio,
                            contact: None,
                        },
                        &ctx(at),
                    )
                    .await
                    .unwrap();
                out.push(ticket);
            }
            out
        });
    }
    let issued: Vec<Ticket> = tasks.join_all().await.into_iter().flatten().collect();
    assert_eq!(issued.len(), 2 * PER_QUEUE);

    let mut counters = Vec::new();
    let mut agents = Vec::new();
    for i in 0..AGENTS {
        counters.push(counter(s, tid, site.id, &format!("C{i}")).await);
        agents.push(
            agent(
                s,
                tid,
                site.id,
                &format!("Agent {i}"),
                &[svc_f.id, svc_r.id],
            )
            .await,
        );
    }

    let call_at = t0() + Duration::hours(2);
    let expected = |q: &Queue, svc: &Service| {
        let waiting: Vec<Waiting> = issued
            .iter()
            .filter(|t| t.queue_id == q.id)
            .map(|t| waiting_of(t, svc.sla_target_secs))
            .collect();
        let state = PolicyState::default();
        let view = QueueView {
            queue_id: q.id,
            service_id: svc.id,
            policy: &q.policy,
            state: &state,
            waiting: &waiting,
            skill_weight: 50,
        };
        policy::order(&view, call_at)
    };
    let svc_f_full = s.service(tid, svc_f.id).await.unwrap().unwrap();
    let svc_r_full = s.service(tid, svc_r.id).await.unwrap().unwrap();
    let expect_f = expected(&q_f, &svc_f_full);
    let expect_r = expected(&q_r, &svc_r_full);
    assert_eq!(
        expect_f.len(),
        PER_QUEUE,
        "policy::order covers every ticket"
    );
    assert_eq!(
        expect_r.len(),
        PER_QUEUE,
        "policy::order covers every ticket"
    );

    let mut tasks = tokio::task::JoinSet::new();
    for (a, c) in agents.iter().zip(&counters) {
        let store = store.clone();
        let (a, c) = (a.id, c.id);
        tasks.spawn(async move {
            let mut got = Vec::new();
            while let Some(t) = store
                .call_next(tid, a, c, None, &ctx(call_at))
                .await
                .unwrap()
            {
                assert_eq!((t.agent_id, t.counter_id), (Some(a), Some(c)));
                assert_eq!(t.status, TicketStatus::Called);
                got.push(t.id);
            }
            got
        });
    }
    let per_agent = tasks.join_all().await;
    let called: Vec<TicketId> = per_agent.iter().flatten().copied().collect();
    let unique: HashSet<TicketId> = called.iter().copied().collect();
    assert_eq!(called.len(), 2 * PER_QUEUE, "every ticket called once");
    assert_eq!(unique.len(), called.len(), "no ticket called twice");
    assert!(
        per_agent.iter().filter(|g| !g.is_empty()).count() > 1,
        "the calls really ran concurrently"
    );
    let still_waiting = s
        .tickets(
            tid,
            &TicketFilter {
                status: Some(TicketStatus::Waiting),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(still_waiting.is_empty());

    let queue_of: HashMap<TicketId, QueueId> = issued.iter().map(|t| (t.id, t.queue_id)).collect();
    let feed = whole_feed(s, tid).await;
    let calls_in = |q: QueueId| -> Vec<TicketId> {
        feed.iter()
            .filter(|(_, e)| e.kind == "call" && queue_of[&e.ticket_id] == q)
            .map(|(_, e)| e.ticket_id)
            .collect()
    };
    assert_eq!(
        calls_in(q_f.id),
        expect_f,
        "FIFO queue called in policy order"
    );
    assert_eq!(
        calls_in(q_r.id),
        expect_r,
        "ratio queue called in policy order"
    );
}

/// 32 tasks issue 50 tickets each into one queue: numbers 1..=1600, each exactly once.
pub async fn concurrent_issue_has_no_gaps(store: Arc<dyn Store>) {
    const TASKS: usize = 32;
    const EACH: usize = 50;
    let s = &*store;
    let w = world(s, "issuerace").await;
    let (tid, svc) = (w.tenant.id, w.service.id);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..TASKS {
        let store = store.clone();
        tasks.spawn(async move {
            let mut out = Vec::new();
            for j in 0..EACH {
                let at = t0() + Duration::milliseconds((i * EACH + j) as i64);
                let t = store
                    .issue_ticket(
                        tid,
                        IssueTicket {
                            service_id: svc,
                            channel: Channel::Whatsapp,
                            // Two classes in a FIFO queue: still one line.
                            priority: (j % 2) as u8,
                            contact: None,
                        },
                        &ctx(at),
                    )
                    .await
                    .unwrap();
                out.push(t);
            }
            out
        });
    }
    let mut issued: Vec<Ticket> = tasks.join_all().await.into_iter().flatten().collect();
    let mut got: Vec<(u32, String)> = issued.iter().map(|t| (t.seq, t.number.clone())).collect();
    got.sort();
    let n = (TASKS * EACH) as u32;
    let want: Vec<(u32, String)> = (1..=n)
        .map(|i| (i, numbering::format_number(&w.queue.prefix, i)))
        .collect();
    assert_eq!(got, want);
    let day = numbering::local_day(t0(), w.site.timezone);
    assert_eq!(s.last_seq(tid, w.queue.id, day).await.unwrap(), n);

    // Positions in a long FIFO line of two classes: exact at both ends and in the middle.
    issued.sort_by_key(|t| (t.arrived_at, t.seq, t.id));
    for k in [0, 1, 2, 700, 1597, 1598, 1599] {
        let p = s.position_inputs(tid, &issued[k]).await.unwrap();
        assert_eq!(p.ahead_in_class, k as u32, "ticket {k} in FIFO order");
        assert_eq!(p.totals, BTreeMap::from([(0, n / 2), (1, n / 2)]));
    }
    // Once called, a ticket no longer counts, for those behind it or in the totals.
    let called = s
        .call_next(tid, w.agent.id, w.counter.id, None, &ctx(secs(3600)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(called.id, issued[0].id);
    let p = s.position_inputs(tid, &issued[1599]).await.unwrap();
    assert_eq!(p.ahead_in_class, 1598);
    assert_eq!(p.totals.values().sum::<u32>(), n - 1);
    assert_eq!(
        s.position_inputs(tid, &issued[1])
            .await
            .unwrap()
            .ahead_in_class,
        0
    );
}

// ---- messaging --------------------------------------------------------------------------

fn new_channel(id: &str) -> NewChannel {
    NewChannel {
        id: id.to_owned(),
        provider: "africastalking_sms".into(),
        kind: Channel::Sms,
        name: "SMS".into(),
        site_id: None,
        config_enc: vec![1, 2, 3, 0, 255],
    }
}

fn inbound(
    channel: &str,
    pmid: &str,
    phone: Option<&str>,
    address: &str,
    at: DateTime<Utc>,
) -> NewInbound {
    NewInbound {
        channel_id: channel.to_owned(),
        provider_message_id: pmid.to_owned(),
        address: address.to_owned(),
        phone: phone.map(|p| p.parse().unwrap()),
        profile_name: Some("Amina".into()),
        payload: serde_json::json!({"text": pmid}),
        received_at: at,
    }
}

fn outbound(
    channel: &str,
    address: &str,
    class: OutboundClass,
    key: &str,
    due: DateTime<Utc>,
) -> NewOutbound {
    NewOutbound {
        channel_id: channel.to_owned(),
        address: address.to_owned(),
        contact_id: None,
        class,
        body: serde_json::json!({"to": address, "text": key}),
        idempotency_key: key.to_owned(),
        not_before: due,
    }
}

/// The inbox dedupes and resolves contacts across channels by phone; a turn's commit is
/// atomic; the outbox is idempotent, claims replies first under a lease, and statuses only
/// move forward; the notification cursor moves only from where the caller saw it.
pub async fn messaging_inbox_outbox(store: Arc<dyn Store>) {
    let s = &*store;
    let w = world(s, "msg").await;
    let t = w.tenant.id;
    let sms = format!("ch-sms-{}", suffix());
    let wa = format!("ch-wa-{}", suffix());
    let created = s
        .create_channel(t, new_channel(&sms), &ctx(secs(1)))
        .await
        .unwrap();
    assert_eq!(created.config_enc, vec![1, 2, 3, 0, 255]);
    let again = s.create_channel(t, new_channel(&sms), &ctx(secs(1))).await;
    assert!(
        matches!(again, Err(StoreError::Conflict("channel"))),
        "{again:?}"
    );
    s.create_channel(
        t,
        NewChannel {
            kind: Channel::Whatsapp,
            provider: "whatsapp_cloud".into(),
            ..new_channel(&wa)
        },
        &ctx(secs(1)),
    )
    .await
    .unwrap();
    assert_eq!(s.channel(&sms).await.unwrap().unwrap(), created);
    let updated = s
        .update_channel(t, &sms, "SMS 2".into(), vec![9, 9], &ctx(secs(2)))
        .await
        .unwrap();
    assert_eq!(
        (updated.name.as_str(), updated.config_enc.as_slice()),
        ("SMS 2", &[9u8, 9][..])
    );
    assert_eq!(s.channel(&sms).await.unwrap().unwrap(), updated);
    assert!(s.channel("nope").await.unwrap().is_none());
    assert_eq!(s.channels(t).await.unwrap().len(), 2);
    // The audit row names the channel but holds no configuration.
    let log = s.audit_log(t).await.unwrap();
    let row = log
        .iter()
        .find(|r| r.entry.action == "channel.create")
        .unwrap();
    assert!(
        !row.entry
            .after
            .as_ref()
            .unwrap()
            .to_string()
            .contains("config")
    );

    // Dedupe, and one contact for one phone number across two channels.
    let phone = "+254712000001";
    let Accepted::New(first) = s
        .accept_inbound(t, inbound(&sms, "m1", Some(phone), phone, secs(10)))
        .await
        .unwrap()
    else {
        panic!("first delivery is new");
    };
    assert_eq!(
        s.accept_inbound(t, inbound(&sms, "m1", Some(phone), phone, secs(11)))
            .await
            .unwrap(),
        Accepted::Duplicate
    );
    let Accepted::New(second) = s
        .accept_inbound(t, inbound(&wa, "m1", Some(phone), phone, secs(12)))
        .await
        .unwrap()
    else {
        panic!("same id on another channel is new");
    };
    assert_eq!(first.contact_id, second.contact_id);
    assert!(second.seq > first.seq);
    assert_eq!(first.payload, serde_json::json!({"text": "m1"}));
    // A Telegram chat has no phone: its contact is found by the address next time.
    let Accepted::New(tg1) = s
        .accept_inbound(t, inbound(&wa, "t1", None, "777", secs(13)))
        .await
        .unwrap()
    else {
        panic!()
    };
    let Accepted::New(tg2) = s
        .accept_inbound(t, inbound(&wa, "t2", None, "777", secs(14)))
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(tg1.contact_id, tg2.contact_id);
    assert_ne!(tg1.contact_id, first.contact_id);
    let pending = s.pending_inbound(t, 10).await.unwrap();
    assert_eq!(
        pending.iter().map(|p| p.seq).collect::<Vec<_>>(),
        vec![first.seq, second.seq, tg1.seq, tg2.seq]
    );

    let conv = s.conversation(t, &sms, phone).await.unwrap().unwrap();
    assert_eq!(conv.contact_id, first.contact_id);
    assert_eq!(conv.session, None);
    assert!(!conv.opted_out);
    // The duplicate delivery did not count as a new message.
    assert_eq!(conv.last_inbound_at, Some(truncate_micros(secs(10))));

    // A turn: session, replies (one key twice → one row), origin, inbound done.
    let ticket = issue(s, t, w.service.id, secs(15)).await;
    let session = serde_json::json!({"flow": "join-queue", "step": "x"});
    let rows = s
        .commit_turn(
            t,
            TurnCommit {
                channel_id: sms.clone(),
                address: phone.into(),
                inbound_seq: Some(first.seq),
                session: Some(session.clone()),
                locale: Some("sw".into()),
                opted_out: false,
                due_at: Some(secs(300)),
                outbound: vec![
                    outbound(&sms, phone, OutboundClass::Reply, "r1", secs(16)),
                    outbound(&sms, phone, OutboundClass::Reply, "r1", secs(16)),
                ],
                origin: Some(ticket.id),
                at: secs(16),
            },
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, OutboundStatus::Queued);
    assert_eq!(rows[0].attempts, 0);
    let conv = s.conversation(t, &sms, phone).await.unwrap().unwrap();
    assert_eq!(conv.session, Some(session));
    // The session's timer: due at 300, not before.
    assert!(
        s.due_conversations(t, secs(299), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let due = s.due_conversations(t, secs(300), 10).await.unwrap();
    assert_eq!(
        due.iter().map(|c| c.address.as_str()).collect::<Vec<_>>(),
        vec![phone]
    );
    assert_eq!(conv.locale.as_deref(), Some("sw"));
    let pending = s.pending_inbound(t, 10).await.unwrap();
    assert!(!pending.iter().any(|p| p.seq == first.seq));
    let origin = s.ticket_origin(t, ticket.id).await.unwrap().unwrap();
    assert_eq!(
        (
            origin.channel_id.as_str(),
            origin.address.as_str(),
            origin.locale.as_deref()
        ),
        (sms.as_str(), phone, Some("sw"))
    );
    assert_eq!(origin.contact_id, Some(first.contact_id));
    // The contact's open tickets, found from any of its conversations; not once closed.
    let open = s.open_tickets_of(t, first.contact_id).await.unwrap();
    assert_eq!(
        open.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![ticket.id]
    );
    assert!(
        s.open_tickets_of(t, tg1.contact_id)
            .await
            .unwrap()
            .is_empty()
    );
    act(s, t, ticket.id, TicketAction::Cancel, secs(16))
        .await
        .unwrap();
    assert!(
        s.open_tickets_of(t, first.contact_id)
            .await
            .unwrap()
            .is_empty()
    );
    // A turn for an address that never wrote is refused and writes nothing.
    let stray = s
        .commit_turn(
            t,
            TurnCommit {
                channel_id: sms.clone(),
                address: "+254799999999".into(),
                inbound_seq: None,
                session: None,
                locale: None,
                opted_out: false,
                due_at: Some(secs(300)),
                outbound: vec![outbound(
                    &sms,
                    "+254799999999",
                    OutboundClass::Reply,
                    "stray",
                    secs(16),
                )],
                origin: None,
                at: secs(16),
            },
        )
        .await;
    assert!(
        matches!(stray, Err(StoreError::NotFound("conversation"))),
        "{stray:?}"
    );
    assert!(
        !s.outbound(t, 100)
            .await
            .unwrap()
            .iter()
            .any(|o| o.idempotency_key == "stray")
    );

    // Replies before notifications; not before their time; the lease hides claimed rows.
    s.enqueue_outbound(
        t,
        vec![
            outbound(&sms, phone, OutboundClass::Notification, "n1", secs(5)),
            outbound(&sms, phone, OutboundClass::Notification, "later", secs(100)),
            outbound(&sms, phone, OutboundClass::Notification, "r1", secs(5)),
        ],
        secs(17),
    )
    .await
    .unwrap();
    let claimed = s.claim_outbound(t, secs(20), secs(50), 10).await.unwrap();
    assert_eq!(
        claimed
            .iter()
            .map(|o| o.idempotency_key.as_str())
            .collect::<Vec<_>>(),
        vec!["r1", "n1"]
    );
    assert!(claimed.iter().all(|o| o.attempts == 1));
    assert!(
        s.claim_outbound(t, secs(21), secs(50), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let (r1, n1) = (&claimed[0], &claimed[1]);
    // Retry: back at its time; the lease is over at 50 anyway.
    s.record_send(
        t,
        n1.id,
        SendResult::Retry {
            at: secs(30),
            error: "429".into(),
        },
        secs(22),
    )
    .await
    .unwrap();
    let again = s.claim_outbound(t, secs(31), secs(60), 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        (
            again[0].id,
            again[0].attempts,
            again[0].last_error.as_deref()
        ),
        (n1.id, 2, Some("429"))
    );
    s.record_send(
        t,
        n1.id,
        SendResult::Failed {
            error: "blocked".into(),
        },
        secs(32),
    )
    .await
    .unwrap();
    // A status that overtook the send's answer is kept.
    s.record_send(
        t,
        r1.id,
        SendResult::Sent {
            provider_message_id: "P1".into(),
        },
        secs(33),
    )
    .await
    .unwrap();
    // Statuses only move forward, and a provider id names a message of its own channel only.
    for (channel, status, at, moves) in [
        (&sms, OutboundStatus::Delivered, 34, true),
        (&sms, OutboundStatus::Sent, 35, false),
        (&sms, OutboundStatus::Read, 36, true),
        (&wa, OutboundStatus::Failed, 36, false),
    ] {
        let moved = s
            .record_delivery(t, channel, "P1", status, None, secs(at))
            .await
            .unwrap();
        assert_eq!(moved, moves, "{channel} {status:?}");
    }
    s.record_send(
        t,
        r1.id,
        SendResult::Sent {
            provider_message_id: "P1".into(),
        },
        secs(37),
    )
    .await
    .unwrap();
    let all = s.outbound(t, 100).await.unwrap();
    let by = |k: &str| all.iter().find(|o| o.idempotency_key == k).unwrap().clone();
    assert_eq!(
        (by("r1").status, by("r1").provider_message_id.as_deref()),
        (OutboundStatus::Read, Some("P1"))
    );
    assert_eq!(
        (by("n1").status, by("n1").last_error.as_deref()),
        (OutboundStatus::Failed, Some("blocked"))
    );
    assert_eq!(by("later").status, OutboundStatus::Queued);
    assert!(
        s.claim_outbound(t, secs(99), secs(200), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.claim_outbound(t, secs(100), secs(200), 10)
            .await
            .unwrap()
            .len(),
        1
    );

    // The cursor: only from where the caller saw it.
    assert_eq!(s.notify_cursor(t).await.unwrap(), 0);
    let n = s
        .advance_notifications(
            t,
            0,
            7,
            vec![outbound(
                &sms,
                phone,
                OutboundClass::Notification,
                "evt:7",
                secs(40),
            )],
            secs(40),
        )
        .await
        .unwrap();
    assert_eq!(n.len(), 1);
    assert_eq!(s.notify_cursor(t).await.unwrap(), 7);
    let stale = s
        .advance_notifications(
            t,
            0,
            9,
            vec![outbound(
                &sms,
                phone,
                OutboundClass::Notification,
                "evt:9",
                secs(41),
            )],
            secs(41),
        )
        .await;
    assert!(
        matches!(stale, Err(StoreError::Conflict("notify_cursor"))),
        "{stale:?}"
    );
    // Feedback: stored with its scale, refused outside it, newest first.
    let fb = |score: i64, scale: &str, at: i64| Feedback {
        id: uuid::Uuid::now_v7(),
        channel_id: sms.clone(),
        contact_id: first.contact_id,
        ticket: Some("A001".into()),
        scale: scale.into(),
        score,
        comment: Some("quick".into()),
        created_at: truncate_micros(secs(at)),
    };
    s.record_feedback(t, fb(5, "csat", 50)).await.unwrap();
    s.record_feedback(t, fb(9, "nps", 51)).await.unwrap();
    assert!(matches!(
        s.record_feedback(t, fb(6, "csat", 52)).await,
        Err(StoreError::Invalid(_))
    ));
    let got = s.feedback(t, 10).await.unwrap();
    assert_eq!(
        got.iter()
            .map(|f| (f.scale.as_str(), f.score))
            .collect::<Vec<_>>(),
        vec![("nps", 9), ("csat", 5)]
    );
    assert_eq!(
        (
            got[1].ticket.as_deref(),
            got[1].comment.as_deref(),
            got[1].created_at
        ),
        (Some("A001"), Some("quick"), truncate_micros(secs(50)))
    );
    assert!(
        !s.outbound(t, 100)
            .await
            .unwrap()
            .iter()
            .any(|o| o.idempotency_key == "evt:9")
    );
    assert_eq!(s.notify_cursor(t).await.unwrap(), 7);
}

/// Another tenant sees none of a tenant's channels, conversations, messages or origins
/// (only the cross-tenant lookup by channel id, which a webhook needs, finds the channel).
pub async fn messaging_isolation(store: Arc<dyn Store>) {
    let s = &*store;
    let a = world(s, "msga").await;
    let b = world(s, "msgb").await;
    let ch = format!("ch-{}", suffix());
    s.create_channel(a.tenant.id, new_channel(&ch), &ctx(secs(1)))
        .await
        .unwrap();
    let phone = "+254712000002";
    let Accepted::New(m) = s
        .accept_inbound(a.tenant.id, inbound(&ch, "x1", Some(phone), phone, secs(2)))
        .await
        .unwrap()
    else {
        panic!()
    };
    let ticket = issue(s, a.tenant.id, a.service.id, secs(3)).await;
    s.commit_turn(
        a.tenant.id,
        TurnCommit {
            channel_id: ch.clone(),
            address: phone.into(),
            inbound_seq: Some(m.seq),
            session: None,
            locale: None,
            opted_out: false,
            due_at: Some(secs(300)),
            outbound: vec![outbound(&ch, phone, OutboundClass::Reply, "k", secs(3))],
            origin: Some(ticket.id),
            at: secs(3),
        },
    )
    .await
    .unwrap();
    let tb = b.tenant.id;
    assert_eq!(
        s.channel(&ch).await.unwrap().unwrap().tenant_id,
        a.tenant.id
    );
    assert!(s.channels(tb).await.unwrap().is_empty());
    let theirs = s
        .update_channel(tb, &ch, "x".into(), vec![1], &ctx(secs(5)))
        .await;
    assert!(
        matches!(theirs, Err(StoreError::NotFound("channel"))),
        "{theirs:?}"
    );
    assert_eq!(s.channel(&ch).await.unwrap().unwrap().name, "SMS");
    assert!(s.conversation(tb, &ch, phone).await.unwrap().is_none());
    assert!(s.pending_inbound(tb, 10).await.unwrap().is_empty());
    assert!(
        s.due_conversations(tb, secs(400), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.due_conversations(a.tenant.id, secs(400), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(s.outbound(tb, 10).await.unwrap().is_empty());
    assert!(
        s.claim_outbound(tb, secs(10), secs(20), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(s.ticket_origin(tb, ticket.id).await.unwrap().is_none());
    // B cannot use A's channel for its own inbox or outbox.
    assert!(
        s.accept_inbound(tb, inbound(&ch, "x2", Some(phone), phone, secs(4)))
            .await
            .is_err()
    );
    assert!(
        s.enqueue_outbound(
            tb,
            vec![outbound(&ch, phone, OutboundClass::Reply, "kb", secs(4))],
            secs(4)
        )
        .await
        .is_err()
    );
    assert!(
        !s.record_delivery(tb, &ch, "any", OutboundStatus::Read, None, secs(5))
            .await
            .unwrap()
    );
    assert_eq!(s.outbound(a.tenant.id, 10).await.unwrap().len(), 1);
}

/// Paired devices (issue 5): bound to a site of their tenant, found by key hash across
/// tenants until revoked, revocation idempotent and audited without the hash.
pub async fn devices(store: Arc<dyn Store>) {
    let s = &*store;
    let t = tenant(s, "dev").await;
    let other = tenant(s, "dev-other").await;
    let st = site(s, t.id, "Lobby", "Africa/Nairobi").await;
    let their_site = site(s, other.id, "Elsewhere", "UTC").await;
    let hash = format!("sha256-{}", suffix());
    let new = |site_id, key_hash: &str| NewDevice {
        site_id,
        name: name("Hall screen"),
        kind: DeviceKind::Display,
        prefix: "sqd_ab12".into(),
        key_hash: key_hash.to_owned(),
    };
    let theirs = s
        .create_device(t.id, new(their_site.id, "x"), &ctx(secs(1)))
        .await;
    assert!(
        matches!(theirs, Err(StoreError::NotFound("site"))),
        "{theirs:?}"
    );
    let d = s
        .create_device(t.id, new(st.id, &hash), &ctx(secs(1)))
        .await
        .unwrap();
    assert_eq!(
        (d.tenant_id, d.site_id, d.kind),
        (t.id, st.id, DeviceKind::Display)
    );
    assert_eq!(d.created_at, truncate_micros(secs(1)));
    assert_eq!(s.devices(t.id).await.unwrap(), vec![d.clone()]);
    assert!(s.devices(other.id).await.unwrap().is_empty());
    assert_eq!(s.device_by_key_hash(&hash).await.unwrap(), Some(d.clone()));
    assert_eq!(s.device_by_key_hash("nope").await.unwrap(), None);
    let dup = s
        .create_device(t.id, new(st.id, &hash), &ctx(secs(2)))
        .await;
    assert!(
        matches!(dup, Err(StoreError::Conflict("device"))),
        "{dup:?}"
    );

    let not_mine = s.revoke_device(other.id, d.id, &ctx(secs(3))).await;
    assert!(
        matches!(not_mine, Err(StoreError::NotFound("device"))),
        "{not_mine:?}"
    );
    let r = s.revoke_device(t.id, d.id, &ctx(secs(4))).await.unwrap();
    assert_eq!(r.revoked_at, Some(truncate_micros(secs(4))));
    assert_eq!(s.device_by_key_hash(&hash).await.unwrap(), None);
    let again = s.revoke_device(t.id, d.id, &ctx(secs(5))).await.unwrap();
    assert_eq!(again.revoked_at, r.revoked_at);
    let log = s.audit_log(t.id).await.unwrap();
    let actions: Vec<_> = log
        .iter()
        .filter(|r| r.entry.entity_type == "device")
        .map(|r| r.entry.action.as_str())
        .collect();
    assert_eq!(actions, ["device.create", "device.revoke"]);
    assert!(!format!("{log:?}").contains(&hash));
    assert!(sq_domain::audit::verify(&log).is_ok());
}

/// The console's view of a customer (issue 5): name and language, tenant scoped.
pub async fn contact_summary(store: Arc<dyn Store>) {
    let s = &*store;
    let w = world(s, "summary").await;
    let other = world(s, "summary-other").await;
    let input = ContactInput {
        phone: Some("+254711000111".parse().unwrap()),
        name: Some(name("Baraka")),
        locale: Some("sw".parse().unwrap()),
    };
    let t = issue_with(s, w.tenant.id, w.service.id, 0, Some(input), secs(0)).await;
    let id = t.contact_id.unwrap();
    let got = s.contact_summary(w.tenant.id, id).await.unwrap().unwrap();
    assert_eq!(got.name, Some(name("Baraka")));
    assert_eq!(got.locale.as_ref().map(|l| l.as_str()), Some("sw"));
    assert_eq!(s.contact_summary(other.tenant.id, id).await.unwrap(), None);
    assert_eq!(
        s.contact_summary(w.tenant.id, ContactId::new())
            .await
            .unwrap(),
        None
    );
}

/// "Queues I serve" (issue 5): a call restricted to some queues never returns a ticket of
/// another queue, even an older one, and finds nothing when those queues are empty while
/// others wait. Ids the agent could not serve anyway (another site, another tenant) match
/// nothing; no restriction is the usual call.
pub async fn call_next_from_chosen_queues(store: Arc<dyn Store>) {
    let s = &*store;
    let w = world(s, "chosen").await;
    let t = w.tenant.id;
    let (svc_b, queue_b) = service_queue(s, t, w.site.id, "B", fifo()).await;
    let elsewhere = site(s, t, "Elsewhere", "Africa/Nairobi").await;
    let (_, queue_far) = service_queue(s, t, elsewhere.id, "F", fifo()).await;
    let other = world(s, "chosen-other").await;
    let agent = s
        .create_agent(
            t,
            NewAgent {
                site_id: w.site.id,
                user_id: None,
                name: name("Both"),
                skills: vec![
                    Skill {
                        service_id: w.service.id,
                        weight: 50,
                    },
                    Skill {
                        service_id: svc_b.id,
                        weight: 50,
                    },
                ],
            },
            &ctx(t0()),
        )
        .await
        .unwrap();
    let a1 = issue(s, t, w.service.id, secs(1)).await;
    let a2 = issue(s, t, w.service.id, secs(2)).await;
    let b1 = issue(s, t, svc_b.id, secs(3)).await;
    let (agent_id, counter_id) = (agent.id, w.counter.id);
    let call = |queues: Option<Vec<QueueId>>, at: i64| async move {
        s.call_next(t, agent_id, counter_id, queues.as_deref(), &ctx(secs(at)))
            .await
            .unwrap()
    };

    // Only B: B's ticket although A's two are older.
    let got = call(Some(vec![queue_b.id]), 10).await.expect("B's ticket");
    assert_eq!((got.id, got.queue_id), (b1.id, queue_b.id));
    // B is empty now: nothing, though A waits, and A's tickets are untouched.
    assert_eq!(call(Some(vec![queue_b.id]), 11).await, None);
    // Ids the agent cannot serve, and the empty choice, call nothing either.
    assert_eq!(call(Some(vec![queue_far.id]), 12).await, None);
    assert_eq!(call(Some(vec![other.queue.id]), 13).await, None);
    assert_eq!(call(Some(vec![]), 14).await, None);
    for x in [&a1, &a2] {
        let now = s.ticket(t, x.id).await.unwrap().unwrap();
        assert_eq!(now.status, TicketStatus::Waiting, "{}", now.number);
    }
    // A and B chosen: FIFO across them, as without a choice.
    let got = call(Some(vec![queue_b.id, w.queue.id]), 15).await.unwrap();
    assert_eq!(got.id, a1.id);
    // No restriction: the usual call.
    let got = call(None, 16).await.unwrap();
    assert_eq!(got.id, a2.id);
    assert_eq!(call(None, 17).await, None);
    // Refused calls wrote nothing: three calls, three audit rows, an intact chain.
    let log = s.audit_log(t).await.unwrap();
    assert_eq!(
        actions(&log)
            .iter()
            .filter(|a| **a == "ticket.call")
            .count(),
        3
    );
    assert!(sq_domain::audit::verify(&log).is_ok());
}

/// Display announcements (issue 5): created on the tenant's own sites only, listed per site
/// in publication order, filtered by their window (start inclusive, end exclusive), deleted
/// once; each write audited in the chain; nothing crosses tenants.
pub async fn announcements(store: Arc<dyn Store>) {
    let s = &*store;
    let w = world(s, "ann").await;
    let other = world(s, "ann-other").await;
    let t = w.tenant.id;
    let lobby = site(s, t, "Lobby", "Africa/Nairobi").await;
    let new = |site_id, text: &str, starts_at, ends_at| NewAnnouncement {
        site_id,
        text: text.parse().unwrap(),
        starts_at,
        ends_at,
    };
    let theirs = s
        .create_announcement(t, new(other.site.id, "x", None, None), &ctx(secs(1)))
        .await;
    not_found(theirs, "site");

    let always = s
        .create_announcement(t, new(w.site.id, "Welcome", None, None), &ctx(secs(1)))
        .await
        .unwrap();
    assert_eq!((always.tenant_id, always.site_id), (t, w.site.id));
    assert_eq!(always.text.as_str(), "Welcome");
    assert_eq!(always.created_at, truncate_micros(secs(1)));
    let window = s
        .create_announcement(
            t,
            new(
                w.site.id,
                "Closed at noon — عيد مبارك",
                Some(secs(100)),
                Some(secs(200)),
            ),
            &ctx(secs(2)),
        )
        .await
        .unwrap();
    assert_eq!(window.starts_at, Some(truncate_micros(secs(100))));
    let elsewhere = s
        .create_announcement(
            t,
            new(lobby.id, "Lobby only", None, Some(secs(50))),
            &ctx(secs(3)),
        )
        .await
        .unwrap();

    // Exact round trip, publication order, per site.
    assert_eq!(
        s.announcements(t, w.site.id, None).await.unwrap(),
        vec![always.clone(), window.clone()]
    );
    assert_eq!(
        s.announcements(t, lobby.id, None).await.unwrap(),
        vec![elsewhere.clone()]
    );
    // The window: before, at the start, inside, at the (exclusive) end.
    let active = |at| async move {
        s.announcements(t, w.site.id, Some(at))
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(active(secs(99)).await, vec![always.id]);
    assert_eq!(active(secs(100)).await, vec![always.id, window.id]);
    assert_eq!(active(secs(150)).await, vec![always.id, window.id]);
    assert_eq!(active(secs(200)).await, vec![always.id]);
    assert!(window.is_active(secs(150)) && !window.is_active(secs(200)));
    assert!(
        s.announcements(t, lobby.id, Some(secs(60)))
            .await
            .unwrap()
            .is_empty()
    );

    // Another tenant sees none of them and cannot delete them.
    assert!(
        s.announcements(other.tenant.id, w.site.id, None)
            .await
            .unwrap()
            .is_empty()
    );
    not_found(
        s.delete_announcement(other.tenant.id, always.id, &ctx(secs(4)))
            .await,
        "announcement",
    );
    let gone = s
        .delete_announcement(t, always.id, &ctx(secs(5)))
        .await
        .unwrap();
    assert_eq!(gone, always);
    not_found(
        s.delete_announcement(t, always.id, &ctx(secs(6))).await,
        "announcement",
    );
    assert_eq!(
        s.announcements(t, w.site.id, None).await.unwrap(),
        vec![window]
    );

    let log = s.audit_log(t).await.unwrap();
    let acts: Vec<_> = log
        .iter()
        .filter(|r| r.entry.entity_type == "announcement")
        .map(|r| r.entry.action.as_str())
        .collect();
    assert_eq!(
        acts,
        [
            "announcement.create",
            "announcement.create",
            "announcement.create",
            "announcement.delete"
        ]
    );
    let deleted = log
        .iter()
        .find(|r| r.entry.action == "announcement.delete")
        .unwrap();
    assert_eq!(deleted.entry.before.as_ref().unwrap()["text"], "Welcome");
    assert!(sq_domain::audit::verify(&log).is_ok());
    assert!(
        s.audit_log(other.tenant.id)
            .await
            .unwrap()
            .iter()
            .all(|r| r.entry.entity_type != "announcement")
    );
}
