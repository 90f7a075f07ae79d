//! What is specific to the PostgreSQL backend: how it connects, concurrency under row
//! locks, jsonb and timestamp round trips, and isolation seen through the `Store` API.
//! The backend-agnostic rules are in the shared contract suite (tests/contract.rs).

mod common;

use chrono::{Duration, TimeZone as _, Utc};
use common::*;
use sq_domain::audit;
use sq_domain::model::QueueStatus;
use sq_domain::ticket::{TicketAction, TicketStatus};
use sq_domain::*;
use sq_store::*;
use sq_store_postgres::PostgresStore;
use std::collections::BTreeSet;
use std::sync::Arc;

fn issue(service: ServiceId) -> IssueTicket {
    IssueTicket {
        service_id: service,
        channel: Channel::Kiosk,
        priority: 0,
        contact: None,
    }
}

#[tokio::test]
async fn connects_with_a_separate_app_login() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let app_url = with_database(&db.url.replace("postgres@", "smartqueue_app@"), &db.name);
    let store = PostgresStore::connect_with(&db.url, Some(&app_url))
        .await
        .expect("connect with the app login");
    // The test database was migrated when it was made: nothing left to apply.
    assert!(store.migrations().applied.is_empty());
    assert!(store.migrations().known.iter().any(|(v, _)| *v == 10));
    let s = seed(&store, "split").await;
    assert_eq!(
        store.ticket(s.tenant.id, s.ticket.id).await.unwrap(),
        Some(s.ticket)
    );
    assert_eq!(
        audit::verify(&store.audit_log(s.tenant.id).await.unwrap()),
        Ok(11)
    );
}

#[tokio::test]
async fn refuses_an_app_pool_that_would_bypass_rls() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    // The admin URL is a superuser here: fine for migrating, not for the app pool.
    let err = PostgresStore::connect_with(&db.url, Some(&db.url))
        .await
        .expect_err("a superuser app pool is refused");
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
}

#[tokio::test]
async fn migrations_are_idempotent_and_safe_to_run_concurrently() {
    let Some(_) = admin_url() else {
        return;
    };
    // Many databases of one cluster migrating at once race on the cluster-wide role.
    let dbs = futures_join(8).await;
    // Connecting again applies nothing new.
    let again = PostgresStore::connect(&dbs[0].url)
        .await
        .expect("reconnect");
    again.health().await.unwrap();
}

async fn futures_join(n: usize) -> Vec<TestDb> {
    let handles: Vec<_> = (0..n)
        .map(|_| tokio::spawn(async { TestDb::new().await.unwrap() }))
        .collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn audit_chain_survives_jsonb_key_reordering() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let s = seed(db.store.as_ref(), "audit").await;
    let log = db.store.audit_log(s.tenant.id).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|r| r.entry.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "tenant.create",
            "site.create",
            "service.create",
            "queue.create",
            "counter.create",
            "user.create",
            "agent.create",
            "ticket.issue",
            "api_key.create",
            "device.create",
            "announcement.create"
        ]
    );
    assert_eq!(audit::verify(&log), Ok(log.len()));

    // jsonb really does store keys in another order (shorter keys first)...
    let mut admin = db.admin().await;
    let stored: String =
        sqlx::query_scalar("SELECT after::text FROM audit_log WHERE action = 'ticket.issue'")
            .fetch_one(&mut admin)
            .await
            .unwrap();
    let read = log
        .iter()
        .find(|r| r.entry.action == "ticket.issue")
        .unwrap();
    let compact = read.entry.after.as_ref().unwrap().to_string();
    assert!(stored.starts_with("{\"id\""), "{stored}");
    assert!(compact.starts_with("{\"agent_id\""), "{compact}");
    // ...and what is hashed is serde_json's key-sorted compact form of the value read back.
    assert_eq!(
        read.hash,
        audit::chain_hash(&read.prev_hash, read.seq, read.id, &read.entry)
    );

    // Numbers keep their value through jsonb's numeric, so they re-serialise identically.
    for v in [
        serde_json::json!(0.1 + 0.2),
        serde_json::json!(1e300),
        serde_json::json!(1e-7),
        serde_json::json!(300.0),
        serde_json::json!(252.4),
        serde_json::json!(u64::MAX),
        serde_json::json!(i64::MIN),
        serde_json::json!({"b": [1, {"z": null, "a": "é\"\\"}], "a": true, "aa": 2.5}),
    ] {
        let back: serde_json::Value = sqlx::query_scalar("SELECT $1::jsonb")
            .bind(&v)
            .fetch_one(&mut admin)
            .await
            .unwrap();
        assert_eq!(back.to_string(), v.to_string());
    }

    // Tampering is detected on the rows as read back.
    sqlx::query(
        "UPDATE audit_log SET after = jsonb_set(after, '{name}', '\"Evil\"') \
         WHERE action = 'site.create'",
    )
    .execute(&mut admin)
    .await
    .unwrap();
    let log = db.store.audit_log(s.tenant.id).await.unwrap();
    assert!(matches!(
        audit::verify(&log),
        Err(audit::BrokenLink::Altered { seq: 2, .. })
    ));
}

#[tokio::test]
async fn timestamps_round_trip_exactly() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let s = seed(db.store.as_ref(), "clock").await;
    let odd = at(9, 30) + Duration::nanoseconds(123_456_789);
    let t = db
        .store
        .issue_ticket(s.tenant.id, issue(s.service.id), &ctx(odd))
        .await
        .unwrap();
    assert_eq!(t.created_at, audit::truncate_micros(odd));
    assert_eq!(db.store.ticket(s.tenant.id, t.id).await.unwrap(), Some(t));
    let log = db.store.audit_log(s.tenant.id).await.unwrap();
    assert_eq!(audit::verify(&log), Ok(log.len()));
}

#[tokio::test]
async fn concurrent_issues_number_without_gaps_or_repeats() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let s = seed(db.store.as_ref(), "rush").await;
    let n = 40;
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let store = db.store.clone();
            let (tenant, service) = (s.tenant.id, s.service.id);
            tokio::spawn(async move {
                store
                    .issue_ticket(tenant, issue(service), &ctx(at(9, 0)))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut seqs = BTreeSet::new();
    for h in handles {
        let t = h.await.unwrap();
        assert_eq!(t.number, format!("A{:03}", t.seq));
        assert!(seqs.insert(t.seq), "repeated number {}", t.number);
    }
    // The seed issued #1 at 08:00 the same local day.
    assert_eq!(seqs, (2..=n + 1).collect());
    let day = numbering::local_day(at(9, 0), s.site.timezone);
    assert_eq!(
        db.store
            .last_seq(s.tenant.id, s.queue.id, day)
            .await
            .unwrap(),
        n + 1
    );
    let log = db.store.audit_log(s.tenant.id).await.unwrap();
    assert_eq!(audit::verify(&log), Ok(log.len()));
}

#[tokio::test]
async fn concurrent_rotations_of_one_token_rotate_exactly_once() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let s = seed(db.store.as_ref(), "tokens").await;
    let now = at(9, 0);
    db.store
        .store_refresh_token(NewRefreshToken {
            token_hash: "old".into(),
            user_id: s.user.id,
            family: uuid::Uuid::now_v7(),
            expires_at: now + Duration::days(30),
        })
        .await
        .unwrap();
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let store = db.store.clone();
            tokio::spawn(async move {
                let new = format!("new-{i}");
                let o = store
                    .rotate_refresh_token("old", &new, now + Duration::days(30), now)
                    .await
                    .unwrap();
                (new, o)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for h in handles {
        let (new, o) = h.await.unwrap();
        match o {
            RefreshOutcome::Rotated { user_id } => {
                assert_eq!(user_id, s.user.id);
                winners.push(new);
            }
            RefreshOutcome::Reused => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one rotation wins");
    // The losers replayed a used token: the whole family, the winner's new token
    // included, is revoked.
    assert_eq!(
        db.store
            .rotate_refresh_token(&winners[0], "newer", now + Duration::days(30), now)
            .await
            .unwrap(),
        RefreshOutcome::Reused
    );
    assert_eq!(
        db.store
            .rotate_refresh_token("nope", "x", now, now)
            .await
            .unwrap(),
        RefreshOutcome::Unknown
    );
}

#[tokio::test]
async fn another_tenants_rows_are_simply_not_found() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let store = db.store.as_ref();
    let a = seed(store, "alpha").await;
    let b = seed(store, "beta").await;
    let ta = a.tenant.id;
    let c = ctx(at(9, 0));
    assert_eq!(store.site(ta, b.site.id).await.unwrap(), None);
    assert_eq!(store.service(ta, b.service.id).await.unwrap(), None);
    assert_eq!(store.queue(ta, b.queue.id).await.unwrap(), None);
    assert_eq!(store.counter(ta, b.counter.id).await.unwrap(), None);
    assert_eq!(store.agent(ta, b.agent.id).await.unwrap(), None);
    assert_eq!(store.agent_by_user(ta, b.user.id).await.unwrap(), None);
    assert_eq!(store.ticket(ta, b.ticket.id).await.unwrap(), None);
    assert!(
        store
            .ticket_events(ta, b.ticket.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .queue_snapshot(ta, b.queue.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        store.issue_ticket(ta, issue(b.service.id), &c).await,
        Err(StoreError::NotFound("service"))
    ));
    assert!(matches!(
        store
            .transition(ta, b.ticket.id, TicketAction::Cancel, &c)
            .await,
        Err(StoreError::NotFound("ticket"))
    ));
    assert!(matches!(
        store
            .set_queue_status(ta, b.queue.id, QueueStatus::Closed, &c)
            .await,
        Err(StoreError::NotFound("queue"))
    ));
    assert!(matches!(
        store
            .call_next(ta, b.agent.id, b.counter.id, None, &c)
            .await,
        Err(StoreError::NotFound("agent"))
    ));
    assert!(matches!(
        store
            .create_service(
                ta,
                NewService {
                    site_id: b.site.id,
                    name: name("x"),
                    sla_target_secs: 1,
                    expected_duration_secs: 1
                },
                &c
            )
            .await,
        Err(StoreError::NotFound("site"))
    ));
    // Transfers cannot reach into another tenant's queue either.
    assert!(matches!(
        store
            .transition(
                ta,
                a.ticket.id,
                TicketAction::Transfer {
                    to_queue_id: b.queue.id,
                    keep_position: true
                },
                &c
            )
            .await,
        Err(StoreError::NotFound("queue"))
    ));
    // Lists and feeds hold only the tenant's own rows.
    let feed = store.ticket_event_feed(ta, 0, 100).await.unwrap();
    assert!(!feed.is_empty() && feed.iter().all(|(_, e)| e.tenant_id == ta));
    assert!(
        store
            .tickets(ta, &TicketFilter::default())
            .await
            .unwrap()
            .iter()
            .all(|t| t.tenant_id == ta)
    );
    assert!(
        store
            .audit_log(ta)
            .await
            .unwrap()
            .iter()
            .all(|r| r.entry.tenant_id == ta)
    );
    assert_eq!(store.api_keys(ta).await.unwrap().len(), 1);
    // Nothing of B changed.
    assert_eq!(
        store.ticket(b.tenant.id, b.ticket.id).await.unwrap(),
        Some(b.ticket.clone())
    );
    let log = store.audit_log(b.tenant.id).await.unwrap();
    assert_eq!(audit::verify(&log), Ok(11));
}

#[tokio::test]
async fn transfer_keeps_position_links_both_and_audits_both() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let store = db.store.as_ref();
    let s = seed(store, "move").await;
    let t = s.tenant.id;
    let c = ctx(at(9, 0));
    let other = store
        .create_service(
            t,
            NewService {
                site_id: s.site.id,
                name: name("Loans"),
                sla_target_secs: 600,
                expected_duration_secs: 600,
            },
            &c,
        )
        .await
        .unwrap();
    let q2 = store
        .create_queue(
            t,
            NewQueue {
                service_id: other.id,
                name: name("Loans"),
                prefix: "L".parse().unwrap(),
                policy: Default::default(),
            },
            &c,
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .transition(
                t,
                s.ticket.id,
                TicketAction::Transfer {
                    to_queue_id: s.queue.id,
                    keep_position: true
                },
                &c
            )
            .await,
        Err(StoreError::Invalid(_))
    ));
    let done = store
        .transition(
            t,
            s.ticket.id,
            TicketAction::Transfer {
                to_queue_id: q2.id,
                keep_position: true,
            },
            &c,
        )
        .await
        .unwrap();
    let new = done.created.expect("a ticket in the target queue");
    assert_eq!(done.ticket.status, TicketStatus::Transferred);
    assert_eq!(done.ticket.transferred_to, Some(new.id));
    assert_eq!(new.transferred_from, Some(s.ticket.id));
    assert_eq!(
        (
            new.queue_id,
            new.number.as_str(),
            new.arrived_at,
            new.contact_id
        ),
        (q2.id, "L001", s.ticket.arrived_at, s.ticket.contact_id)
    );
    assert_eq!(store.ticket(t, new.id).await.unwrap(), Some(new.clone()));
    assert_eq!(
        store.ticket(t, s.ticket.id).await.unwrap(),
        Some(done.ticket)
    );
    let log = store.audit_log(t).await.unwrap();
    let tail: Vec<&str> = log[log.len() - 2..]
        .iter()
        .map(|r| r.entry.action.as_str())
        .collect();
    assert_eq!(tail, ["ticket.transfer", "ticket.issue"]);
    assert_eq!(audit::verify(&log), Ok(log.len()));
    let events = store.ticket_events(t, new.id).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, "issue");
}

#[tokio::test]
async fn same_phone_is_the_same_contact() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let store = db.store.as_ref();
    let s = seed(store, "people").await;
    let mut req = issue(s.service.id);
    req.contact = Some(ContactInput {
        phone: Some("+254 712 345 678".parse().unwrap()),
        name: None,
        locale: Some("sw".parse().unwrap()),
    });
    let t = store
        .issue_ticket(s.tenant.id, req, &ctx(at(9, 0)))
        .await
        .unwrap();
    assert_eq!(t.contact_id, s.ticket.contact_id);
    let mut admin = db.admin().await;
    let (n, name, locale): (i64, Option<String>, Option<String>) =
        sqlx::query_as("SELECT count(*) OVER (), name, locale FROM contacts WHERE tenant_id = $1")
            .bind(s.tenant.id.0)
            .fetch_one(&mut admin)
            .await
            .unwrap();
    assert_eq!(
        (n, name.as_deref(), locale.as_deref()),
        (1, Some("Wanjiku"), Some("sw"))
    );
}

#[tokio::test]
async fn closed_queues_issue_nothing_and_leave_no_gap() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let store = db.store.as_ref();
    let s = seed(store, "shut").await;
    let c = ctx(at(9, 0));
    store
        .set_queue_status(s.tenant.id, s.queue.id, QueueStatus::Paused, &c)
        .await
        .unwrap();
    assert!(matches!(
        store
            .issue_ticket(s.tenant.id, issue(s.service.id), &c)
            .await,
        Err(StoreError::QueueClosed)
    ));
    store
        .set_queue_status(s.tenant.id, s.queue.id, QueueStatus::Open, &c)
        .await
        .unwrap();
    let t = store
        .issue_ticket(s.tenant.id, issue(s.service.id), &c)
        .await
        .unwrap();
    assert_eq!(t.number, "A002");
}

/// Without ratios a queue is one strict FIFO line across classes: every waiting ticket
/// ahead counts. With ratios only the ticket's own class does.
#[tokio::test]
async fn ahead_in_class_counts_all_classes_only_without_ratios() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let store = db.store.as_ref();
    let s = seed(store, "ahead").await;
    let t = s.tenant.id;
    let c = ctx(at(9, 0));
    for (label, prefix, ratios, want) in [
        ("Fifo", "B", vec![], 2),
        (
            "Ratio",
            "C",
            vec![
                sq_domain::policy::ClassWeight {
                    class: 1,
                    weight: 2,
                },
                sq_domain::policy::ClassWeight {
                    class: 0,
                    weight: 1,
                },
            ],
            1,
        ),
    ] {
        let service = store
            .create_service(
                t,
                NewService {
                    site_id: s.site.id,
                    name: name(label),
                    sla_target_secs: 900,
                    expected_duration_secs: 300,
                },
                &c,
            )
            .await
            .unwrap();
        store
            .create_queue(
                t,
                NewQueue {
                    service_id: service.id,
                    name: name(label),
                    prefix: prefix.parse().unwrap(),
                    policy: sq_domain::policy::QueuePolicy {
                        ratios,
                        ..Default::default()
                    },
                },
                &c,
            )
            .await
            .unwrap();
        let mut last = None;
        for (i, priority) in [0u8, 1, 0].into_iter().enumerate() {
            let req = IssueTicket {
                priority,
                ..issue(service.id)
            };
            let ticket = store
                .issue_ticket(t, req, &ctx(at(9, i as u32)))
                .await
                .unwrap();
            last = Some(ticket);
        }
        let p = store.position_inputs(t, &last.unwrap()).await.unwrap();
        assert_eq!(p.ahead_in_class, want, "{label}");
        assert_eq!(p.totals.values().sum::<u32>(), 3, "{label}");
    }
    waiting_counts_agree(&db).await;
}

/// The trigger-kept `queue_waiting` counts equal the waiting tickets, per queue and class.
async fn waiting_counts_agree(db: &TestDb) {
    let mut admin = db.admin().await;
    let disagree: Vec<(uuid::Uuid, i16, i64, i64)> = sqlx::query_as(
        "SELECT coalesce(w.queue_id, t.queue_id), coalesce(w.priority, t.priority), \
                coalesce(w.n, 0)::int8, coalesce(t.n, 0) \
         FROM (SELECT * FROM queue_waiting WHERE n > 0) w FULL JOIN ( \
           SELECT queue_id, priority, count(*) AS n FROM tickets WHERE status = 'waiting' \
           GROUP BY queue_id, priority) t ON t.queue_id = w.queue_id AND t.priority = w.priority \
         WHERE coalesce(w.n, 0) <> coalesce(t.n, 0)",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(disagree.is_empty(), "counts differ: {disagree:?}");
}

/// Cancels lock only the ticket, call-next locks the queues: a ticket cancelled between
/// call-next reading the heads and locking its pick must not be called (re-picked instead).
/// One store writes a tenant's writes one after another (its lane), so the race needs two
/// stores on one database, as two server nodes are: callers on both, cancels on the second.
#[tokio::test]
async fn call_next_never_calls_a_ticket_cancelled_under_it() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let store = db.store.clone();
    let node_b: Arc<dyn Store> = Arc::new(PostgresStore::connect(&db.url).await.unwrap());
    let s = seed(store.as_ref(), "race").await;
    let t = s.tenant.id;
    let c = ctx(at(9, 0));
    let mut ids = vec![s.ticket.id];
    for _ in 0..120 {
        ids.push(
            store
                .issue_ticket(t, issue(s.service.id), &c)
                .await
                .unwrap()
                .id,
        );
    }
    let mut staff = Vec::new();
    for i in 0..6 {
        let counter = store
            .create_counter(
                t,
                NewCounter {
                    site_id: s.site.id,
                    name: name(&format!("C{i}")),
                },
                &c,
            )
            .await
            .unwrap();
        let agent = store
            .create_agent(
                t,
                NewAgent {
                    site_id: s.site.id,
                    user_id: None,
                    name: name(&format!("A{i}")),
                    skills: vec![model::Skill {
                        service_id: s.service.id,
                        weight: 5,
                    }],
                },
                &c,
            )
            .await
            .unwrap();
        staff.push((agent.id, counter.id));
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (i, (a, k)) in staff.into_iter().enumerate() {
        let store = if i % 2 == 0 {
            store.clone()
        } else {
            node_b.clone()
        };
        tasks.spawn(async move {
            let mut n = 0;
            while store
                .call_next(t, a, k, None, &ctx(at(9, 5)))
                .await
                .unwrap()
                .is_some()
            {
                n += 1;
            }
            n
        });
    }
    // Cancel from the front of the line, where the callers are picking.
    let cancels = {
        let store = node_b.clone();
        let ids = ids.clone();
        tokio::spawn(async move {
            let mut n = 0;
            for id in ids {
                match store
                    .transition(t, id, TicketAction::Cancel, &ctx(at(9, 5)))
                    .await
                {
                    Ok(_) => n += 1,
                    Err(StoreError::IllegalTransition(e)) => {
                        assert_eq!(e.from, TicketStatus::Called)
                    }
                    Err(e) => panic!("{e:?}"),
                }
            }
            n
        })
    };
    let called: usize = tasks.join_all().await.into_iter().sum();
    let cancelled: usize = cancels.await.unwrap();
    assert_eq!(
        called + cancelled,
        ids.len(),
        "each ticket called or cancelled, once"
    );
    for id in ids {
        let ticket = store.ticket(t, id).await.unwrap().unwrap();
        let kinds: Vec<String> = store
            .ticket_events(t, id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        match ticket.status {
            TicketStatus::Called => assert_eq!(kinds, ["issue", "call"]),
            TicketStatus::Cancelled => assert_eq!(kinds, ["issue", "cancel"]),
            other => panic!("{other}"),
        }
    }
    let log = store.audit_log(t).await.unwrap();
    assert_eq!(audit::verify(&log), Ok(log.len()));
    waiting_counts_agree(&db).await;
}

/// Transfers lock the ticket and then write into the target queue; call-next locks the
/// queues and then the ticket. With the queue rows locked `FOR NO KEY UPDATE`, the transfer's
/// foreign-key check on the target queue does not wait for call-next, so the two cannot
/// deadlock (with `FOR UPDATE` they did).
#[tokio::test]
async fn transfers_and_calls_interleave_without_deadlock() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let store = db.store.clone();
    let s = seed(store.as_ref(), "shuffle").await;
    let t = s.tenant.id;
    let c = ctx(at(9, 0));
    let loans = store
        .create_service(
            t,
            NewService {
                site_id: s.site.id,
                name: name("Loans"),
                sla_target_secs: 600,
                expected_duration_secs: 600,
            },
            &c,
        )
        .await
        .unwrap();
    let q2 = store
        .create_queue(
            t,
            NewQueue {
                service_id: loans.id,
                name: name("Loans"),
                prefix: "L".parse().unwrap(),
                policy: Default::default(),
            },
            &c,
        )
        .await
        .unwrap();
    let mut ids = vec![s.ticket.id];
    for _ in 0..80 {
        ids.push(
            store
                .issue_ticket(t, issue(s.service.id), &c)
                .await
                .unwrap()
                .id,
        );
    }
    let mut staff = Vec::new();
    for i in 0..4 {
        let counter = store
            .create_counter(
                t,
                NewCounter {
                    site_id: s.site.id,
                    name: name(&format!("C{i}")),
                },
                &c,
            )
            .await
            .unwrap();
        let agent = store
            .create_agent(
                t,
                NewAgent {
                    site_id: s.site.id,
                    user_id: None,
                    name: name(&format!("A{i}")),
                    skills: vec![
                        model::Skill {
                            service_id: s.service.id,
                            weight: 5,
                        },
                        model::Skill {
                            service_id: loans.id,
                            weight: 5,
                        },
                    ],
                },
                &c,
            )
            .await
            .unwrap();
        staff.push((agent.id, counter.id));
    }
    let drain = |store: Arc<PostgresStore>, a, k| async move {
        let mut n = 0usize;
        while store
            .call_next(t, a, k, None, &ctx(at(9, 5)))
            .await
            .unwrap()
            .is_some()
        {
            n += 1;
        }
        n
    };
    let mut tasks = tokio::task::JoinSet::new();
    for &(a, k) in &staff {
        tasks.spawn(drain(store.clone(), a, k));
    }
    let mover = {
        let (store, ids) = (store.clone(), ids.clone());
        tokio::spawn(async move {
            let to = TicketAction::Transfer {
                to_queue_id: q2.id,
                keep_position: true,
            };
            for id in ids {
                match store.transition(t, id, to.clone(), &ctx(at(9, 5))).await {
                    Ok(_) | Err(StoreError::IllegalTransition(_)) => {}
                    Err(e) => panic!("{e:?}"),
                }
            }
        })
    };
    tasks.join_all().await;
    mover.await.unwrap();
    let (a, k) = staff[0];
    drain(store.clone(), a, k).await;
    for id in ids {
        let ticket = store.ticket(t, id).await.unwrap().unwrap();
        match ticket.status {
            TicketStatus::Called => {}
            TicketStatus::Transferred => {
                let new = store
                    .ticket(t, ticket.transferred_to.unwrap())
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!((new.queue_id, new.status), (q2.id, TicketStatus::Called));
            }
            other => panic!("{other}"),
        }
    }
    let log = store.audit_log(t).await.unwrap();
    assert_eq!(audit::verify(&log), Ok(log.len()));
}

/// A reader following the feed with its cursor (`position > after`) while tickets are
/// issued and called concurrently sees every event: positions are drawn in commit order.
#[tokio::test]
async fn feed_readers_never_miss_a_late_commit() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let store = db.store.clone();
    let s = seed(store.as_ref(), "feed").await;
    let t = s.tenant.id;
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (store, done) = (store.clone(), done.clone());
        tokio::spawn(async move {
            let (mut after, mut seen) = (0, Vec::new());
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let page = store.ticket_event_feed(t, after, 7).await.unwrap();
                if page.is_empty() && finished {
                    return seen;
                }
                for (p, e) in page {
                    assert!(p > after);
                    after = p;
                    seen.push(e.id);
                }
            }
        })
    };
    let mut writers = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let store = store.clone();
        let (service, agent, counter) = (s.service.id, s.agent.id, s.counter.id);
        writers.spawn(async move {
            for _ in 0..25 {
                store
                    .issue_ticket(t, issue(service), &ctx(at(9, 0)))
                    .await
                    .unwrap();
                store
                    .call_next(t, agent, counter, None, &ctx(at(9, 1)))
                    .await
                    .unwrap();
            }
        });
    }
    writers.join_all().await;
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = reader.await.unwrap();
    let all: Vec<_> = store
        .ticket_event_feed(t, 0, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, e)| e.id)
        .collect();
    assert_eq!(
        all.len(),
        1 + 150 + 150,
        "the seed ticket, 150 issues, 150 calls"
    );
    let missed = all.iter().filter(|id| !seen.contains(id)).count();
    assert_eq!(
        missed,
        0,
        "the cursor reader missed {missed} of {} events",
        all.len()
    );
    assert!(
        seen == all,
        "the cursor reader saw the events in feed order"
    );
}

/// Keeps the `Arc` import used when the contract suite is not compiled in.
#[allow(dead_code)]
fn _store_is_object_safe(s: PostgresStore) -> Arc<dyn Store> {
    Arc::new(s)
}

/// Several processes (stores with their own pools and lanes) on one database: a duplicate
/// delivery is accepted once, an outbox row is claimed by one sender, and the notification
/// cursor moves once from a given position.
#[tokio::test]
async fn messaging_is_safe_across_processes() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let s = seed(db.store.as_ref(), "alpha").await;
    let t = s.tenant.id;
    let mut stores = vec![db.store.clone()];
    for _ in 0..3 {
        stores.push(Arc::new(PostgresStore::connect(&db.url).await.unwrap()));
    }
    let ch = "ch-procs".to_owned();
    db.store
        .create_channel(
            t,
            NewChannel {
                id: ch.clone(),
                provider: "twilio".into(),
                kind: Channel::Sms,
                name: "SMS".into(),
                site_id: None,
                config_enc: vec![1],
            },
            &ctx(at(8, 1)),
        )
        .await
        .unwrap();

    let phone = "+254712000003";
    let mut tasks = Vec::new();
    for (i, store) in stores.iter().cycle().take(16).enumerate() {
        let (store, ch) = (store.clone(), ch.clone());
        tasks.push(tokio::spawn(async move {
            store
                .accept_inbound(
                    t,
                    NewInbound {
                        channel_id: ch,
                        provider_message_id: "dup".into(),
                        address: phone.into(),
                        phone: Some(phone.parse().unwrap()),
                        profile_name: None,
                        payload: serde_json::json!({ "try": i }),
                        received_at: at(9, 0) + Duration::seconds(i as i64),
                    },
                )
                .await
                .unwrap()
        }));
    }
    let mut new = Vec::new();
    for task in tasks {
        if let Accepted::New(m) = task.await.unwrap() {
            new.push(m);
        }
    }
    assert_eq!(new.len(), 1, "one delivery is new, the rest are duplicates");
    let conv = db.store.conversation(t, &ch, phone).await.unwrap().unwrap();
    assert_eq!(conv.contact_id, new[0].contact_id);
    assert_eq!(conv.last_inbound_at, Some(new[0].received_at));
    assert_eq!(db.store.pending_inbound(t, 100).await.unwrap().len(), 1);

    let rows = (0..40)
        .map(|i| NewOutbound {
            channel_id: ch.clone(),
            address: phone.into(),
            contact_id: None,
            class: if i % 2 == 0 {
                OutboundClass::Reply
            } else {
                OutboundClass::Notification
            },
            body: serde_json::json!({ "n": i }),
            idempotency_key: format!("k{i}"),
            not_before: at(9, 0),
        })
        .collect();
    db.store.enqueue_outbound(t, rows, at(9, 0)).await.unwrap();
    let mut tasks = Vec::new();
    for store in stores.iter().cycle().take(8) {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .claim_outbound(t, at(9, 1), at(9, 30), 7)
                .await
                .unwrap()
        }));
    }
    let mut claimed = Vec::new();
    for task in tasks {
        claimed.extend(task.await.unwrap().into_iter().map(|o| o.id));
    }
    let unique: BTreeSet<_> = claimed.iter().copied().collect();
    assert_eq!(unique.len(), claimed.len(), "no row is claimed twice");
    assert_eq!(claimed.len(), 40);

    let mut tasks = Vec::new();
    for store in &stores {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.advance_notifications(t, 0, 5, vec![], at(9, 2)).await
        }));
    }
    let mut moved = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => moved += 1,
            Err(StoreError::Conflict("notify_cursor")) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(moved, 1);
    assert_eq!(db.store.notify_cursor(t).await.unwrap(), 5);
}

/// Issuing is batched (see the crate's `issue` module): concurrent requests for an open
/// queue, a closed one and an unknown service each get their own answer in the same
/// batches, and the open queue's numbers have no gap. The site-local day follows the
/// site's zone even when the zone changes under the store's remembered copy (nothing in
/// the API changes it; an operator could, with SQL).
#[tokio::test]
async fn batched_issues_answer_each_request_and_follow_the_sites_zone() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let store = Arc::new(PostgresStore::connect(&db.url).await.unwrap());
    let s = seed(&*store, "batch").await;
    let t = s.tenant.id;
    let c = ctx(at(8, 0));
    let closed = store
        .create_service(
            t,
            NewService {
                site_id: s.site.id,
                name: name("Closed"),
                sla_target_secs: 900,
                expected_duration_secs: 300,
            },
            &c,
        )
        .await
        .unwrap();
    let closed_queue = store
        .create_queue(
            t,
            NewQueue {
                service_id: closed.id,
                name: name("Closed"),
                prefix: "C".parse().unwrap(),
                policy: Default::default(),
            },
            &c,
        )
        .await
        .unwrap();
    store
        .set_queue_status(t, closed_queue.id, QueueStatus::Closed, &c)
        .await
        .unwrap();
    let unknown = ServiceId::new();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..90usize {
        let store = store.clone();
        let service = [s.service.id, closed.id, unknown][i % 3];
        tasks.spawn(async move {
            let r = store
                .issue_ticket(
                    t,
                    issue(service),
                    &ctx(at(9, 0) + Duration::milliseconds(i as i64)),
                )
                .await;
            (service, r)
        });
    }
    let mut numbers = BTreeSet::new();
    for (service, r) in tasks.join_all().await {
        match r {
            Ok(ticket) => {
                assert_eq!(service, s.service.id);
                numbers.insert(ticket.seq);
            }
            Err(StoreError::QueueClosed) => assert_eq!(service, closed.id),
            Err(StoreError::NotFound("service")) => assert_eq!(service, unknown),
            Err(e) => panic!("{service:?}: {e:?}"),
        }
    }
    // The seeded ticket was number 1.
    assert_eq!(numbers, (2..=31).collect::<BTreeSet<u32>>());
    assert_eq!(
        audit::verify(&store.audit_log(t).await.unwrap()),
        Ok(store.audit_log(t).await.unwrap().len())
    );

    // 13:30 UTC is 16:30 in Nairobi (the seeded zone, same day) but 03:30 the next day
    // in Kiritimati (UTC+14).
    let late = Utc.with_ymd_and_hms(2026, 3, 2, 13, 30, 0).unwrap();
    let before = store
        .issue_ticket(t, issue(s.service.id), &ctx(late))
        .await
        .unwrap();
    assert_eq!(before.local_date.to_string(), "2026-03-02");
    let mut admin = db.admin().await;
    sqlx::query("UPDATE sites SET timezone = 'Pacific/Kiritimati' WHERE id = $1")
        .bind(s.site.id.0)
        .execute(&mut admin)
        .await
        .unwrap();
    let after = store
        .issue_ticket(t, issue(s.service.id), &ctx(late))
        .await
        .unwrap();
    assert_eq!(after.local_date.to_string(), "2026-03-03");
    assert_eq!(after.seq, 1, "a new local day starts at 1");
}

/// Foreign-key checks look a parent up by `(tenant_id, id)` on a plan the connection keeps.
/// Planned on new, unanalysed tables, that lookup must still take the key's index, not
/// another index starting with `tenant_id` (which would scan all of the tenant's rows on
/// every check, all day). Migration 0010 shapes the indexes so that it cannot.
#[tokio::test]
async fn key_lookups_plan_on_the_key_even_on_new_tables() {
    let Some(db) = TestDb::new().await else {
        return;
    };
    let mut admin = db.admin().await;
    sqlx::query("SET plan_cache_mode = force_generic_plan")
        .execute(&mut admin)
        .await
        .unwrap();
    for table in ["tickets", "contacts"] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "PREPARE lookup_{table}(uuid, uuid) AS SELECT 1 FROM ONLY {table} x \
             WHERE tenant_id = $1 AND id = $2 FOR KEY SHARE OF x"
        )))
        .execute(&mut admin)
        .await
        .unwrap();
        let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "EXPLAIN EXECUTE lookup_{table}('{0}', '{0}')",
            uuid::Uuid::nil()
        )))
        .fetch_all(&mut admin)
        .await
        .unwrap();
        let plan = plan.join("\n");
        assert!(
            plan.contains(&format!("{table}_tenant_id_id_key")) || plan.contains("_pkey"),
            "{table}: {plan}"
        );
    }
}
