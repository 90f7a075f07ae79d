//! The REST API v1, black-box, on both backends (see `sq_tests::backend_tests!`).

use serde_json::{Value, json};
use sq_server::{AuditReport, DemoSeed};
use sq_tests::{DEMO_PASSWORD, Session, TestApp, backend_tests, raw_sql, sign_jwt};

async fn admin(app: &TestApp) -> Session {
    app.login("admin@demo.test", DEMO_PASSWORD).await
}

async fn agent(app: &TestApp, n: usize) -> Session {
    app.login(&format!("agent{n}@demo.test"), DEMO_PASSWORD)
        .await
}

/// A second tenant ("other"), made over the API: the platform super admin creates the
/// tenant and its admin, who creates a site, a service and its queue, a counter, an agent
/// and a waiting ticket.
struct Other {
    service: String,
    queue: String,
    counter: String,
    agent: String,
    ticket: String,
    admin: Session,
}

async fn other_tenant(app: &TestApp) -> Other {
    let root = app.login("root@demo.test", DEMO_PASSWORD).await;
    root.post(
        "/api/v1/tenants",
        &json!({"slug": "other", "name": "Other Bank", "default_locale": "fr"}),
    )
    .await
    .expect(201, None);
    let root = root.in_tenant("other");
    root.post(
        &root.t("/users"),
        &json!({"email": "admin@other.test", "password": DEMO_PASSWORD, "role": "admin"}),
    )
    .await
    .expect(201, None);
    let admin = app
        .login("admin@other.test", DEMO_PASSWORD)
        .await
        .in_tenant("other");
    let site = admin
        .post(
            &admin.t("/sites"),
            &json!({"name": "Paris", "timezone": "Europe/Paris", "locale": "fr"}),
        )
        .await;
    site.expect(201, None);
    let service = admin.create_service(site.id(), "Accueil").await;
    service.expect(201, None);
    let queue = admin.create_queue(service.id(), "Accueil", "X").await;
    queue.expect(201, None);
    let counter = admin
        .post(
            &admin.t("/counters"),
            &json!({"site_id": site.id(), "name": "9"}),
        )
        .await;
    counter.expect(201, None);
    let agent = admin
        .post(
            &admin.t("/agents"),
            &json!({
                "site_id": site.id(),
                "name": "Autre",
                "skills": [{"service_id": service.id(), "weight": 100}],
            }),
        )
        .await;
    agent.expect(201, None);
    let ticket = admin.create_ticket(service.id()).await;
    ticket.expect(201, None);
    Other {
        service: service.id(),
        queue: queue.id(),
        counter: counter.id(),
        agent: agent.id(),
        ticket: ticket.id(),
        admin,
    }
}

fn eta(v: &Value) -> Option<(u64, u64)> {
    let e = &v["eta"];
    if e.is_null() {
        None
    } else {
        Some((
            e["min_seconds"].as_u64().expect("min_seconds"),
            e["max_seconds"].as_u64().expect("max_seconds"),
        ))
    }
}

fn ids(seed: &DemoSeed) -> (String, String, String) {
    (
        seed.services[0].id.to_string(),
        seed.agents[0].1.id.to_string(),
        seed.counters[0].id.to_string(),
    )
}

backend_tests! {
    async fn health_answers_ok(app) {
        let r = app.get("/api/v1/health", None).await;
        r.expect(200, None);
        assert_eq!(r.body, json!({"status": "ok"}));
    }

    async fn demo_admin_issues_and_agent_calls_starts_and_closes(app) {
        let seed = app.seed_demo().await;
        let (deposits, agent1, counter1) = ids(&seed);
        let admin = admin(&app).await;

        let created = admin.create_ticket(&deposits).await;
        created.expect(201, None);
        assert_eq!(created.str("number"), "A001");
        assert_eq!(created.str("status"), "waiting");
        assert_eq!(created.str("service_id"), deposits);
        assert_eq!(created.str("queue_id"), seed.queues[0].id.to_string());
        assert_eq!(created.body["position"], 1);
        assert!(created.body["created_at"].is_string());
        let id = created.id();

        let agent = agent(&app, 1).await;
        // The agent finds itself in the agent list by its login.
        let agents = agent.get(&agent.t("/agents")).await;
        agents.expect(200, None);
        assert!(
            agents.body.as_array().unwrap().iter().any(|a| a["id"] == agent1.as_str()),
            "{}",
            agents.body
        );

        let called = agent.call_next(&agent1, &counter1).await;
        called.expect(200, None);
        assert_eq!(called.id(), id);
        assert_eq!(called.str("status"), "called");
        assert_eq!(called.str("counter_id"), counter1);

        agent.act(&id, "start").await.expect(200, None);
        let closed = agent.act(&id, "close").await;
        closed.expect(200, None);
        assert_eq!(closed.str("status"), "served");

        let after = admin.ticket(&id).await;
        after.expect(200, None);
        assert_eq!(after.str("status"), "served");
        assert!(after.body["position"].is_null());

        // Nothing else waits.
        agent.call_next(&agent1, &counter1).await.expect(404, Some("queue_empty"));
    }

    async fn refresh_rotates_and_a_reused_token_kills_the_family(app) {
        app.seed_demo().await;
        let s = admin(&app).await;
        let first = s.refresh.clone().unwrap();

        let rotated = app.post_json("/api/v1/auth/refresh", None, &json!({"refresh_token": first})).await;
        rotated.expect(200, None);
        let second = rotated.str("refresh_token");
        assert_ne!(second, first);
        assert_eq!(rotated.str("token_type"), "Bearer");
        // The new access token works.
        let t = app.session(rotated.str("access_token"), None, "demo");
        t.get(&t.t("/services")).await.expect(200, None);

        // Replaying the used token is refused…
        app.post_json("/api/v1/auth/refresh", None, &json!({"refresh_token": first}))
            .await
            .expect(401, Some("token_reused"));
        // …and revoked the family: the token it was rotated into is dead too.
        let dead = app.post_json("/api/v1/auth/refresh", None, &json!({"refresh_token": second})).await;
        assert_eq!(dead.status, 401, "{}", dead.text);
        assert!(["token_reused", "invalid_token"].contains(&dead.code()), "{}", dead.text);

        // Unknown refresh tokens are plain invalid.
        app.post_json("/api/v1/auth/refresh", None, &json!({"refresh_token": "nope"}))
            .await
            .expect(401, Some("invalid_token"));
    }

    async fn expired_garbage_and_missing_tokens_are_401(app) {
        let seed = app.seed_demo().await;
        let path = "/api/v1/tenants/demo/services";
        app.get(path, None).await.expect(401, None);
        app.get(path, Some("garbage")).await.expect(401, None);

        let now = chrono::Utc::now().timestamp();
        let claims = |iat: i64, exp: i64| json!({
            "sub": seed.admin.id.to_string(),
            "tid": seed.tenant.id.to_string(),
            "role": "admin",
            "iat": iat,
            "exp": exp,
        });
        // Control: a token we sign with the server's secret is accepted while valid…
        let valid = sign_jwt(&app.jwt_secret, &claims(now, now + 600));
        app.get(path, Some(&valid)).await.expect(200, None);
        // …and refused once expired, or signed with another key, or tampered with.
        let expired = sign_jwt(&app.jwt_secret, &claims(now - 3600, now - 60));
        app.get(path, Some(&expired)).await.expect(401, None);
        let foreign = sign_jwt("another-secret-another-secret-xx", &claims(now, now + 600));
        app.get(path, Some(&foreign)).await.expect(401, None);
        let mut tampered = valid.clone();
        tampered.pop();
        tampered.push(if valid.ends_with('A') { 'B' } else { 'A' });
        app.get(path, Some(&tampered)).await.expect(401, None);
    }

    async fn malformed_json_is_400_and_changes_nothing(app) {
        let seed = app.seed_demo().await;
        let admin = admin(&app).await;
        admin.create_ticket(seed.services[0].id).await.expect(201, None);
        let before = admin.tickets().await.len();
        let audit_before = app.app.verify_audit(&seed.tenant).await.unwrap().unwrap();

        let r = admin.post_raw(&admin.t("/tickets"), "{\"service_id\": ").await;
        r.expect(400, None);
        assert!(!r.code().is_empty(), "an error code: {}", r.text);
        admin
            .post_raw(&admin.t("/tickets"), "not json at all")
            .await
            .expect(400, None);

        assert_eq!(admin.tickets().await.len(), before);
        assert_eq!(app.app.verify_audit(&seed.tenant).await.unwrap().unwrap(), audit_before);
    }

    async fn unknown_ids_are_404(app) {
        let seed = app.seed_demo().await;
        let (_, agent1, counter1) = ids(&seed);
        let admin = admin(&app).await;
        let unknown = uuid::Uuid::now_v7().to_string();

        admin.ticket(&unknown).await.expect(404, None);
        admin.queue(&unknown).await.expect(404, None);
        admin.act(&unknown, "start").await.expect(404, None);
        admin.transfer(&unknown, seed.queues[1].id, true).await.expect(404, None);
        admin.create_ticket(&unknown).await.expect(404, None);
        admin.call_next(&unknown, &counter1).await.expect(404, None);
        admin.call_next(&agent1, &unknown).await.expect(404, None);
        app.get("/api/v1/tenants/nosuchtenant/services", Some(&admin.token))
            .await
            .expect(404, None);
        assert!(admin.tickets().await.is_empty());
    }

    async fn another_tenants_slug_and_ids_are_404(app) {
        let seed = app.seed_demo().await;
        let other = other_tenant(&app).await;
        let demo = admin(&app).await;

        // Their slug.
        let theirs = demo.in_tenant("other");
        for path in ["/services", "/queues", "/tickets", "/agents", "/counters", "/sites"] {
            theirs.get(&theirs.t(path)).await.expect(404, None);
        }
        theirs.create_ticket(&other.service).await.expect(404, None);
        // Their ids under our slug.
        demo.ticket(&other.ticket).await.expect(404, None);
        demo.queue(&other.queue).await.expect(404, None);
        demo.act(&other.ticket, "cancel").await.expect(404, None);
        demo.create_ticket(&other.service).await.expect(404, None);
        demo.call_next(&other.agent, &other.counter).await.expect(404, None);
        demo.call_next(seed.agents[0].1.id, &other.counter).await.expect(404, None);
        demo.transfer(&other.ticket, seed.queues[0].id, false).await.expect(404, None);
        // And the other way round.
        let ours = other.admin.in_tenant("demo");
        ours.get(&ours.t("/services")).await.expect(404, None);
        other.admin.queue(seed.queues[0].id).await.expect(404, None);

        // Their ticket is untouched.
        let t = other.admin.ticket(&other.ticket).await;
        t.expect(200, None);
        assert_eq!(t.str("status"), "waiting");
    }

    async fn roles_limit_what_users_may_do(app) {
        let seed = app.seed_demo().await;
        let (deposits, agent1, counter1) = ids(&seed);
        // An agent cannot create a service.
        let a = agent(&app, 1).await;
        a.create_service(seed.site.id, "Forex").await.expect(403, Some("forbidden"));
        // An agent acts only as itself.
        a.create_ticket(&deposits).await.expect(201, None);
        a.call_next(seed.agents[1].1.id, &counter1).await.expect(403, Some("forbidden"));

        // A device (display/kiosk) reads but cannot call tickets or issue them.
        let admin = admin(&app).await;
        admin
            .post(
                &admin.t("/users"),
                &json!({
                    "email": "display@demo.test",
                    "password": DEMO_PASSWORD,
                    "role": "device",
                    "site_id": seed.site.id.to_string(),
                }),
            )
            .await
            .expect(201, None);
        let device = app.login("display@demo.test", DEMO_PASSWORD).await;
        device.get(&device.t("/queues")).await.expect(200, None);
        device.call_next(&agent1, &counter1).await.expect(403, Some("forbidden"));
        device.create_ticket(&deposits).await.expect(403, Some("forbidden"));

        // The admin may create the service.
        admin.create_service(seed.site.id, "Forex").await.expect(201, None);
    }

    async fn an_illegal_transition_is_409_and_changes_nothing(app) {
        let seed = app.seed_demo().await;
        let admin = admin(&app).await;
        let t = admin.create_ticket(seed.services[0].id).await;
        t.expect(201, None);
        let id = t.id();
        let before = admin.ticket(&id).await;
        let audit_before = app.app.verify_audit(&seed.tenant).await.unwrap().unwrap();

        for action in ["close", "start", "resume", "recall", "no-show"] {
            admin.act(&id, action).await.expect(409, Some("illegal_transition"));
        }

        let after = admin.ticket(&id).await;
        assert_eq!(after.body, before.body);
        assert_eq!(app.app.verify_audit(&seed.tenant).await.unwrap().unwrap(), audit_before);
        // Cancelled is final: cancelling twice is illegal too.
        admin.act(&id, "cancel").await.expect(200, None);
        admin.act(&id, "cancel").await.expect(409, Some("illegal_transition"));
    }

    async fn transfer_keeps_the_original_place_when_asked(app) {
        let seed = app.seed_demo().await;
        let admin = admin(&app).await;
        let (deposits, loans) = (seed.services[0].id, seed.services[1].id);
        let loans_q = seed.queues[1].id;

        // Two tickets arrive at Deposits before anyone queues for Loans.
        let early = admin.create_ticket(deposits).await.id();
        let late = admin.create_ticket(deposits).await.id();
        let b1 = admin.create_ticket(loans).await;
        b1.expect(201, None);
        admin.create_ticket(loans).await.expect(201, None);

        // Kept: the transferred ticket goes ahead of both Loans tickets.
        let kept = admin.transfer(&early, loans_q, true).await;
        kept.expect(200, None);
        assert_eq!(kept.str("queue_id"), loans_q.to_string());
        assert_eq!(kept.str("status"), "waiting");
        assert!(kept.str("number").starts_with('B'), "{}", kept.text);
        assert_eq!(kept.body["position"], 1, "{}", kept.text);
        let b1_now = admin.ticket(&b1.id()).await;
        assert_eq!(b1_now.body["position"], 2);
        // The original is closed as transferred and points at the new ticket.
        let original = admin.ticket(&early).await;
        assert_eq!(original.str("status"), "transferred");
        assert_eq!(original.str("transferred_to"), kept.id());

        // Not kept: to the back of the line.
        let back = admin.transfer(&late, loans_q, false).await;
        back.expect(200, None);
        assert_eq!(back.body["position"], 4, "{}", back.text);
    }

    async fn positions_and_etas_are_reported(app) {
        let seed = app.seed_demo().await;
        let (deposits, agent1, counter1) = ids(&seed);
        let admin = admin(&app).await;

        let head = admin.create_ticket(&deposits).await;
        head.expect(201, None);
        assert_eq!(head.body["position"], 1);
        assert_eq!(eta(&head.body), Some((0, 0)), "head of the line: {}", head.text);

        let second = admin.create_ticket(&deposits).await;
        assert_eq!(second.body["position"], 2);
        let (min, max) = eta(&second.body).expect("agents serve Deposits");
        assert!(min <= max, "{}", second.text);
        let third = admin.create_ticket(&deposits).await;
        assert_eq!(third.body["position"], 3);
        let (_, max3) = eta(&third.body).unwrap();
        assert!(max3 >= max, "more people ahead, no shorter wait: {} vs {}", third.text, second.text);

        // Reading a ticket reports its live position; the queue lists the next ones.
        let read = admin.ticket(&second.id()).await;
        assert_eq!(read.body["position"], 2);
        let q = admin.queue(seed.queues[0].id).await;
        q.expect(200, None);
        assert_eq!(q.body["waiting"], 3);
        let next: Vec<&str> = q.body["next"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
        assert_eq!(next, [head.id(), second.id(), third.id()]);

        // Calling the head moves everyone up.
        agent(&app, 1).await.call_next(&agent1, &counter1).await.expect(200, None);
        let read = admin.ticket(&second.id()).await;
        assert_eq!(read.body["position"], 1);
        assert_eq!(eta(&read.body), Some((0, 0)));

        // Nobody has a skill for a new service: the ETA is unknown.
        let svc = admin.create_service(seed.site.id, "Forex").await;
        svc.expect(201, None);
        admin.create_queue(svc.id(), "Forex", "F").await.expect(201, None);
        let lonely = admin.create_ticket(svc.id()).await;
        lonely.expect(201, None);
        assert_eq!(lonely.body["position"], 1);
        assert!(lonely.body["eta"].is_null(), "{}", lonely.text);
    }

    async fn api_keys_work_within_their_scopes(app) {
        let seed = app.seed_demo().await;
        let (deposits, agent1, counter1) = ids(&seed);
        let admin = admin(&app).await;

        let created = admin.create_api_key("kiosk", &["read:queue", "write:queue"]).await;
        created.expect(201, None);
        let secret = ["key", "secret", "api_key", "token"]
            .iter()
            .find_map(|f| created.body[*f].as_str())
            .unwrap_or_else(|| panic!("the key is shown: {}", created.text))
            .to_owned();
        let key = app.session(secret.clone(), None, "demo");

        // As a bearer token and as X-Api-Key.
        key.get(&key.t("/services")).await.expect(200, None);
        key.create_ticket(&deposits).await.expect(201, None);
        let x = key.via_x_api_key();
        x.get(&x.t("/queues")).await.expect(200, None);
        x.create_ticket(&deposits).await.expect(201, None);

        // Beyond its scopes.
        key.create_service(seed.site.id, "Forex").await.expect(403, Some("forbidden"));
        key.call_next(&agent1, &counter1).await.expect(403, Some("forbidden"));
        x.create_api_key("more", &["manage:tenant"]).await.expect(403, Some("forbidden"));

        // Shown once: listings never carry the secret.
        let list = admin.get(&admin.t("/api-keys")).await;
        if list.status == 200 {
            assert!(!list.text.contains(&secret), "{}", list.text);
        }
        // A key that does not exist (or was mangled) is refused.
        app.get("/api/v1/tenants/demo/services", Some(&format!("{secret}x"))).await.expect(401, None);
        // A demo key is not a key of another tenant.
        other_tenant(&app).await;
        let elsewhere = key.in_tenant("other");
        elsewhere.get(&elsewhere.t("/services")).await.expect(404, None);

        // Revoked: refused from now on; an agent may not revoke; another tenant's admin
        // gets 404; a second revoke changes nothing.
        let id = created.body["id"].as_str().map(str::to_owned)
            .or_else(|| created.body["api_key"]["id"].as_str().map(str::to_owned))
            .unwrap_or_else(|| panic!("the key has an id: {}", created.text));
        let agent = app.login("agent1@demo.test", DEMO_PASSWORD).await;
        agent.delete(&agent.t(&format!("/api-keys/{id}"))).await.expect(403, Some("forbidden"));
        key.get(&key.t("/services")).await.expect(200, None);
        let revoked = admin.delete(&admin.t(&format!("/api-keys/{id}"))).await;
        revoked.expect(200, None);
        assert!(revoked.body["revoked_at"].is_string(), "{}", revoked.text);
        key.get(&key.t("/services")).await.expect(401, None);
        x.get(&x.t("/queues")).await.expect(401, None);
        admin.delete(&admin.t(&format!("/api-keys/{id}"))).await.expect(200, None);
        admin.delete(&admin.t(&format!("/api-keys/{}", uuid::Uuid::now_v7()))).await.expect(404, None);
    }

    async fn repeated_failed_logins_are_throttled(app) {
        app.seed_demo().await;
        for _ in 0..5 {
            app.try_login("admin@demo.test", "wrong-password").await.expect(401, Some("invalid_credentials"));
        }
        let r = app.try_login("admin@demo.test", "wrong-password").await;
        r.expect(429, Some("too_many_attempts"));
        // Even the right password waits out the window.
        app.try_login("admin@demo.test", DEMO_PASSWORD).await.expect(429, Some("too_many_attempts"));
        // Other accounts are not locked by it.
        app.try_login("agent1@demo.test", DEMO_PASSWORD).await.expect(200, None);
    }

    async fn metrics_count_requests_and_tickets(app) {
        let seed = app.seed_demo().await;
        let admin = admin(&app).await;
        admin.create_ticket(seed.services[0].id).await.expect(201, None);
        app.get("/api/v1/health", None).await.expect(200, None);
        let m = app.get("/metrics", None).await;
        m.expect(200, None);
        for name in [
            "sq_http_requests_total",
            "sq_tickets_issued_total",
            // Latency is a histogram (buckets set by sq-server's recorder), not a summary.
            "sq_http_request_duration_seconds_bucket",
            "sq_queue_waiting",
        ] {
            assert!(m.text.contains(name), "{name} missing from:\n{}", m.text);
        }
    }

    async fn openapi_document_and_docs_page_are_served(app) {
        let r = app.get("/api/v1/openapi.json", None).await;
        r.expect(200, None);
        assert!(r.body["openapi"].as_str().unwrap_or("").starts_with("3.1"), "{}", r.body["openapi"]);
        let paths = r.body["paths"].as_object().expect("paths");
        for p in [
            "/api/v1/auth/token",
            "/api/v1/health",
            "/api/v1/tenants/{tenant}/tickets",
            "/api/v1/tenants/{tenant}/agents/{id}/call-next",
        ] {
            assert!(paths.contains_key(p), "{p} not documented; have {:?}", paths.keys().collect::<Vec<_>>());
        }
        let docs = app.get("/api/docs", None).await;
        docs.expect(200, None);
        assert!(docs.text.to_lowercase().contains("<html"), "{}", docs.text);
    }

    async fn audit_verify_names_an_altered_row(app) {
        let seed = app.seed_demo().await;
        let admin = admin(&app).await;
        admin.create_ticket(seed.services[0].id).await.expect(201, None);
        let n = match sq_server::verify_audit(&app.app, "demo").await.unwrap() {
            AuditReport::Intact { rows } => rows,
            AuditReport::Broken(b) => panic!("fresh chain broken: {b}"),
        };
        assert!(n >= 10, "the seed and the ticket are audited: {n} rows");

        let changed = raw_sql(
            &app,
            &format!(
                "UPDATE audit_log SET entity_id = 'tampered' WHERE seq = 4 AND tenant_id = '{}'",
                seed.tenant.id
            ),
        )
        .await;
        assert_eq!(changed, 1);
        match sq_server::verify_audit(&app.app, "demo").await.unwrap() {
            AuditReport::Broken(sq_domain::audit::BrokenLink::Altered { seq, .. }) => assert_eq!(seq, 4),
            other => panic!("expected row 4 altered, got {other:?}"),
        }
    }

    async fn call_next_from_chosen_queues_only(app) {
        let seed = app.seed_demo().await;
        let (deposits, agent1, counter1) = ids(&seed);
        let (queue_a, queue_b) = (seed.queues[0].id.to_string(), seed.queues[1].id.to_string());
        let admin = admin(&app).await;
        let a = admin.create_ticket(&deposits).await;
        a.expect(201, None);
        let b = admin.create_ticket(seed.services[1].id).await;
        b.expect(201, None);
        let agent = agent(&app, 1).await;
        let path = agent.t(&format!("/agents/{agent1}/call-next"));
        let only = |queues: Vec<&str>| json!({"counter_id": counter1, "queue_ids": queues});

        // Only Loans (B): its ticket, although the Deposits one is older.
        let r = agent.post(&path, &only(vec![&queue_b])).await;
        r.expect(200, None);
        assert_eq!((r.id(), r.str("queue_id")), (b.id(), queue_b.clone()));
        // B is empty now: 404 queue_empty although A001 waits.
        agent.post(&path, &only(vec![&queue_b])).await.expect(404, Some("queue_empty"));

        // Another tenant's queue, an unknown id: 404; a queue of another site of this
        // tenant (no skill, another site): 422 queue_not_served. None calls anything.
        let other = other_tenant(&app).await;
        agent.post(&path, &only(vec![&other.queue])).await.expect(404, Some("not_found"));
        let unknown = uuid::Uuid::now_v7().to_string();
        agent.post(&path, &only(vec![&queue_a, &unknown])).await.expect(404, Some("not_found"));
        let site = admin
            .post(&admin.t("/sites"), &json!({"name": "Harbour", "timezone": "Africa/Nairobi", "locale": "sw"}))
            .await;
        site.expect(201, None);
        let svc = admin.create_service(site.id(), "Harbour desk").await;
        svc.expect(201, None);
        let far = admin.create_queue(svc.id(), "Harbour desk", "H").await;
        far.expect(201, None);
        let r = agent.post(&path, &only(vec![&queue_a, &far.id()])).await;
        r.expect(422, Some("queue_not_served"));
        assert_eq!(r.body["error"]["field"], "queue_ids");
        let many: Vec<String> = (0..101).map(|_| queue_a.clone()).collect();
        let r = agent.post(&path, &json!({"counter_id": counter1, "queue_ids": many})).await;
        r.expect(422, Some("invalid_request"));
        assert_eq!(admin.ticket(&a.id()).await.str("status"), "waiting", "refused calls change nothing");

        // French message for the new code.
        let fr = sq_tests::reqwest::Client::new()
            .post(app.url(&path))
            .bearer_auth(&agent.token)
            .header("accept-language", "fr")
            .json(&only(vec![&far.id()]))
            .send()
            .await
            .unwrap();
        let fr = sq_tests::Resp::from(fr).await;
        fr.expect(422, Some("queue_not_served"));
        assert!(fr.body["error"]["message"].as_str().unwrap().contains("file"), "{}", fr.body);

        // An empty list is no restriction: A001 is called.
        let r = agent.post(&path, &only(vec![])).await;
        r.expect(200, None);
        assert_eq!(r.id(), a.id());

        // Documented in the OpenAPI document.
        let doc = app.get("/api/v1/openapi.json", None).await;
        let text = doc.body.to_string();
        assert!(text.contains("queue_ids") && text.contains("queue_not_served"));
    }

    async fn announcements_are_managed_per_site_by_admins_and_managers(app) {
        let seed = app.seed_demo().await;
        let admin = admin(&app).await;
        let site = seed.site.id.to_string();
        let path = admin.t(&format!("/sites/{site}/announcements"));
        let r = admin.post(&path, &json!({"text": "  Closed on Friday afternoon  "})).await;
        r.expect(201, None);
        assert_eq!(r.str("text"), "Closed on Friday afternoon");
        assert_eq!(r.body["active"], true);
        assert!(r.body["starts_at"].is_null() && r.body["ends_at"].is_null());
        let first = r.id();
        let later = json!({"text": "Holiday hours", "starts_at": "2099-01-01T08:00:00Z", "ends_at": "2099-01-02T08:00:00Z"});
        let r = admin.post(&path, &later).await;
        r.expect(201, None);
        assert_eq!(r.body["active"], false, "scheduled, not yet shown");
        assert_eq!(r.str("starts_at"), "2099-01-01T08:00:00Z");

        // A manager may too; an agent may not (403), and nothing is published.
        admin
            .post(&admin.t("/users"), &json!({"email": "manager@demo.test", "password": DEMO_PASSWORD, "role": "manager"}))
            .await
            .expect(201, None);
        let manager = app.login("manager@demo.test", DEMO_PASSWORD).await;
        manager.post(&path, &json!({"text": "From the manager"})).await.expect(201, None);
        let agent = agent(&app, 1).await;
        agent.post(&path, &json!({"text": "From an agent"})).await.expect(403, Some("forbidden"));
        agent.get(&path).await.expect(403, Some("forbidden"));

        // Bad input: each refused with its code, nothing published.
        for (body, code, field) in [
            (json!({"text": ""}), "invalid_announcement", "text"),
            (json!({"text": "two\nlines"}), "invalid_announcement", "text"),
            (json!({"text": "x".repeat(281)}), "invalid_announcement", "text"),
            (json!({"text": "ok", "starts_at": "2099-01-02T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z"}), "invalid_time_window", "ends_at"),
            (json!({"text": "ok", "starts_at": "2099-01-01T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z"}), "invalid_time_window", "ends_at"),
        ] {
            let r = admin.post(&path, &body).await;
            r.expect(422, Some(code));
            assert_eq!(r.body["error"]["field"], field, "{body}");
        }
        let list = admin.get(&path).await;
        list.expect(200, None);
        let texts: Vec<&str> = list.body.as_array().unwrap().iter().map(|a| a["text"].as_str().unwrap()).collect();
        assert_eq!(texts, ["Closed on Friday afternoon", "Holiday hours", "From the manager"]);

        // Another tenant: neither its site nor its announcements exist for us, and it cannot
        // touch ours.
        let other = other_tenant(&app).await;
        let sites = other.admin.get(&other.admin.t("/sites")).await;
        let their_site = sites.body[0]["id"].as_str().unwrap().to_owned();
        admin
            .post(&admin.t(&format!("/sites/{their_site}/announcements")), &json!({"text": "x"}))
            .await
            .expect(404, Some("not_found"));
        let theirs = other.admin.t(&format!("/sites/{site}/announcements"));
        other.admin.get(&theirs).await.expect(404, Some("not_found"));
        other.admin.delete(&format!("{theirs}/{first}")).await.expect(404, Some("not_found"));
        let mine_via_their_slug = other.admin.in_tenant("demo");
        mine_via_their_slug.get(&path).await.expect(404, Some("not_found"));
        // An unknown id, or one under another site: 404, nothing deleted.
        let unknown = uuid::Uuid::now_v7();
        admin.delete(&format!("{path}/{unknown}")).await.expect(404, Some("not_found"));
        admin.delete(&format!("{path}/not-a-uuid")).await.expect(422, Some("invalid_id"));
        assert_eq!(admin.get(&path).await.body.as_array().unwrap().len(), 3);

        let r = admin.delete(&format!("{path}/{first}")).await;
        r.expect(200, None);
        assert_eq!(r.str("text"), "Closed on Friday afternoon");
        admin.delete(&format!("{path}/{first}")).await.expect(404, Some("not_found"));
        assert_eq!(admin.get(&path).await.body.as_array().unwrap().len(), 2);

        // Audited, and documented.
        let log = app.app.store.audit_log(seed.tenant.id).await.unwrap();
        let acts: Vec<&str> = log.iter().filter(|r| r.entry.entity_type == "announcement").map(|r| r.entry.action.as_str()).collect();
        assert_eq!(acts, ["announcement.create", "announcement.create", "announcement.create", "announcement.delete"]);
        let doc = app.get("/api/v1/openapi.json", None).await;
        let paths = doc.body["paths"].as_object().unwrap();
        assert!(paths.contains_key("/api/v1/tenants/{tenant}/sites/{site_id}/announcements"));
        assert!(paths.contains_key("/api/v1/tenants/{tenant}/sites/{site_id}/announcements/{id}"));
        assert!(doc.body.to_string().contains("invalid_time_window"));
    }
}
