//! The router in-process (`tower::ServiceExt::oneshot`), on a real SQLite store in a
//! temporary directory, one database per test. The black-box suite over real HTTP lives in
//! `tests/`; these stay focused on what sq-web itself decides: envelopes, localisation,
//! extractor rejections, scopes and tenant isolation as seen through the routes, OpenAPI.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use serde_json::{Value, json};
use sq_app::{App, AuthConfig, NewLogin, Principal, RequestMeta, SystemClock};
use sq_domain::Role;
use sq_domain::model::{Agent, Counter, Queue, Service, Site, Skill, Tenant};
use sq_store::{NewAgent, NewCounter, NewQueue, NewService, NewSite, NewTenant};
use sq_store_sqlite::SqliteStore;
use sq_web::{MetricsRender, WebState, router};
use std::sync::Arc;
use tower::ServiceExt;

const PASSWORD: &str = "correct horse battery";

struct Harness {
    router: Router,
    app: App,
    _dir: tempfile::TempDir,
}

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
    text: String,
}

impl Resp {
    fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("<none>")
    }
    fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("<none>")
    }
}

/// A tenant with one site, service, queue and counter, and an admin token.
struct World {
    tenant: Tenant,
    site: Site,
    service: Service,
    queue: Queue,
    counter: Counter,
    admin: String,
}

async fn harness_with(metrics: Option<MetricsRender>) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("sq.db")).await.unwrap();
    let app = App::new(
        Arc::new(store),
        Arc::new(SystemClock),
        AuthConfig::new(b"sq-web test secret, 32 bytes min.".to_vec()),
    );
    let router = router(WebState::new(app.clone(), metrics));
    Harness {
        router,
        app,
        _dir: dir,
    }
}

async fn harness() -> Harness {
    harness_with(None).await
}

fn meta() -> RequestMeta {
    RequestMeta::default()
}

impl Harness {
    async fn send(&self, req: Request<Body>) -> Resp {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    fn request(method: &str, path: &str, token: Option<&str>) -> axum::http::request::Builder {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        b
    }

    async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.send(
            Self::request("GET", path, token)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.send(
            Self::request("POST", path, token)
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
    }

    async fn post_empty(&self, path: &str, token: Option<&str>) -> Resp {
        self.send(
            Self::request("POST", path, token)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    async fn login(&self, email: &str) -> String {
        let r = self
            .post(
                "/api/v1/auth/token",
                None,
                json!({"email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "login {email}: {}", r.text);
        r.body["access_token"].as_str().unwrap().to_owned()
    }

    async fn user(&self, t: &Tenant, email: &str, role: Role, site: Option<&Site>) -> String {
        let login = NewLogin {
            email: email.into(),
            password: PASSWORD.into(),
            role,
            site_id: site.map(|s| s.id),
        };
        self.app
            .create_user(&Principal::system(), Some(t), login, &meta())
            .await
            .unwrap();
        self.login(email).await
    }

    /// Seeds a tenant through the use cases (as the platform), then logs its admin in.
    async fn world(&self, slug: &str) -> World {
        let sys = Principal::system();
        let app = &self.app;
        let tenant = app
            .create_tenant(
                &sys,
                NewTenant {
                    slug: slug.parse().unwrap(),
                    name: format!("Tenant {slug}").parse().unwrap(),
                    default_locale: "en".parse().unwrap(),
                },
                &meta(),
            )
            .await
            .unwrap();
        let site = app
            .create_site(
                &sys,
                &tenant,
                NewSite {
                    name: "Main".parse().unwrap(),
                    timezone: "Africa/Nairobi".parse().unwrap(),
                    locale: "en".parse().unwrap(),
                },
                &meta(),
            )
            .await
            .unwrap();
        let service = app
            .create_service(
                &sys,
                &tenant,
                NewService {
                    site_id: site.id,
                    name: "Deposits".parse().unwrap(),
                    sla_target_secs: 600,
                    expected_duration_secs: 240,
                },
                &meta(),
            )
            .await
            .unwrap();
        let queue = app
            .create_queue(
                &sys,
                &tenant,
                NewQueue {
                    service_id: service.id,
                    name: "Deposits".parse().unwrap(),
                    prefix: "A".parse().unwrap(),
                    policy: Default::default(),
                },
                &meta(),
            )
            .await
            .unwrap();
        let counter = app
            .create_counter(
                &sys,
                &tenant,
                NewCounter {
                    site_id: site.id,
                    name: "1".parse().unwrap(),
                },
                &meta(),
            )
            .await
            .unwrap();
        let admin = self
            .user(&tenant, &format!("admin@{slug}.test"), Role::Admin, None)
            .await;
        World {
            tenant,
            site,
            service,
            queue,
            counter,
            admin,
        }
    }

    /// An agent login with an agent record serving the world's service.
    async fn agent(&self, w: &World, email: &str) -> (String, Agent) {
        let token = self.user(&w.tenant, email, Role::Agent, None).await;
        let user = self
            .app
            .store
            .user_by_email(&email.parse().unwrap())
            .await
            .unwrap()
            .unwrap()
            .user;
        let agent = self
            .app
            .create_agent(
                &Principal::system(),
                &w.tenant,
                NewAgent {
                    site_id: w.site.id,
                    user_id: Some(user.id),
                    name: email.parse().unwrap(),
                    skills: vec![Skill {
                        service_id: w.service.id,
                        weight: 50,
                    }],
                },
                &meta(),
            )
            .await
            .unwrap();
        (token, agent)
    }
}

fn tpath(w: &World, rest: &str) -> String {
    format!("/api/v1/tenants/{}{rest}", w.tenant.slug)
}

#[tokio::test]
async fn errors_are_enveloped_and_localised_from_accept_language() {
    let h = harness().await;
    let w = h.world("acme").await;
    let path = tpath(&w, "/sites");

    let en = h.get(&path, None).await;
    assert_eq!(en.status, StatusCode::UNAUTHORIZED);
    assert_eq!(en.code(), "unauthenticated");
    assert!(en.message().starts_with("Please sign in"), "{}", en.text);
    assert_eq!(en.headers["content-type"], "application/json");
    assert_eq!(en.headers["www-authenticate"], "Bearer");

    for (lang, expected_lang, start) in [
        ("fr-CA,fr;q=0.9,en;q=0.5", "fr", "Veuillez vous connecter"),
        ("ar", "ar", "يرجى تسجيل الدخول"),
        ("sw", "sw", "Tafadhali ingia"),
        ("pt-BR", "pt", "Inicie sessão"),
        ("de", "en", "Please sign in"),
    ] {
        let r = h
            .send(
                Request::get(&path)
                    .header("accept-language", lang)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(r.code(), "unauthenticated");
        assert!(r.message().starts_with(start), "{lang}: {}", r.text);
        assert_eq!(r.headers["content-language"], expected_lang);
    }

    let bad = h.get(&path, Some("not-a-token")).await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert_eq!(bad.code(), "invalid_token");

    // A scope in the message keeps its bidi isolation marks inside Arabic text.
    let (agent, _) = h.agent(&w, "agent@acme.test").await;
    let r = h
        .send(
            Harness::request("POST", &tpath(&w, "/services"), Some(&agent))
                .header("content-type", "application/json")
                .header("accept-language", "ar")
                .body(Body::from(
                    json!({"site_id": w.site.id, "name": "X", "sla_target_secs": 1,
                           "expected_duration_secs": 1})
                    .to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        r.message().contains("\u{2068}manage:tenant\u{2069}"),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn malformed_json_is_400_and_changes_nothing() {
    let h = harness().await;
    let w = h.world("acme").await;
    let path = tpath(&w, "/sites");
    let before = h.get(&path, Some(&w.admin)).await.body;

    let send_raw = |ct: &'static str, body: &'static str| {
        Harness::request("POST", &path, Some(&w.admin))
            .header("content-type", ct)
            .body(Body::from(body))
            .unwrap()
    };
    let r = h
        .send(send_raw("application/json", r#"{"name": "Annex", "#))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "malformed_json");

    let r = h
        .send(send_raw(
            "text/plain",
            r#"{"name": "Annex", "timezone": "UTC"}"#,
        ))
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(r.code(), "unsupported_media_type");

    // Valid JSON, refused value: 422 with the value's code and the field.
    let r = h
        .post(
            &path,
            Some(&w.admin),
            json!({"name": "Annex", "timezone": "Mars/Olympus"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.code(), "invalid_timezone");
    assert_eq!(r.body["error"]["field"], "timezone");

    // Valid JSON of the wrong shape names the field too.
    let r = h
        .post(&path, Some(&w.admin), json!({"name": "Annex"}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.code(), "invalid_request");
    assert_eq!(r.body["error"]["field"], "timezone");

    // Over the body limit.
    let big = format!(r#"{{"name": "{}"}}"#, "x".repeat(sq_web::BODY_LIMIT + 1));
    let r = h
        .send(
            Harness::request("POST", &path, Some(&w.admin))
                .header("content-type", "application/json")
                .body(Body::from(big))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.code(), "payload_too_large");

    assert_eq!(h.get(&path, Some(&w.admin)).await.body, before);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let h = harness().await;
    let r = h.get("/api/v1/nope", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "route_not_found");

    let r = h.get("/api/v1/auth/token", None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.code(), "method_not_allowed");

    let w = h.world("acme").await;
    let r = h
        .get(&tpath(&w, "/tickets/not-a-uuid"), Some(&w.admin))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.code(), "invalid_id");
    assert_eq!(r.body["error"]["field"], "id");

    let r = h
        .get(&tpath(&w, "/tickets?status=lost"), Some(&w.admin))
        .await;
    assert_eq!(r.code(), "invalid_status");
    assert_eq!(r.body["error"]["field"], "status");

    let r = h.get("/metrics", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "no recorder, no /metrics");
    assert_eq!(r.code(), "route_not_found");
}

#[tokio::test]
async fn scopes_are_enforced_agent_cannot_create_services_device_cannot_call() {
    let h = harness().await;
    let w = h.world("acme").await;
    let (agent, agent_rec) = h.agent(&w, "agent@acme.test").await;
    let device = h
        .user(&w.tenant, "kiosk@acme.test", Role::Device, Some(&w.site))
        .await;

    let body = json!({"site_id": w.site.id, "name": "Loans", "sla_target_secs": 600,
                      "expected_duration_secs": 300});
    let r = h
        .post(&tpath(&w, "/services"), Some(&agent), body.clone())
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(r.code(), "forbidden");
    let r = h.post(&tpath(&w, "/services"), Some(&w.admin), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    // A device reads but cannot call (nor issue through the API).
    assert_eq!(
        h.get(&tpath(&w, "/queues"), Some(&device)).await.status,
        StatusCode::OK
    );
    let call = tpath(&w, &format!("/agents/{}/call-next", agent_rec.id));
    let r = h
        .post(&call, Some(&device), json!({"counter_id": w.counter.id}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.code(), "forbidden");
    let r = h
        .post(
            &tpath(&w, "/tickets"),
            Some(&device),
            json!({"service_id": w.service.id, "channel": "kiosk"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Nothing waits yet: the agent may call, and gets queue_empty.
    let r = h
        .post(&call, Some(&agent), json!({"counter_id": w.counter.id}))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "queue_empty");
}

#[tokio::test]
async fn another_tenants_slug_and_ids_are_not_found() {
    let h = harness().await;
    let a = h.world("alpha").await;
    let b = h.world("beta").await;
    let (_, b_agent) = h.agent(&b, "agent@beta.test").await;
    let t = h
        .post(
            &tpath(&b, "/tickets"),
            Some(&b.admin),
            json!({"service_id": b.service.id, "channel": "web"}),
        )
        .await;
    assert_eq!(t.status, StatusCode::CREATED, "{}", t.text);
    let b_ticket = t.body["id"].as_str().unwrap().to_owned();

    // B's slug with A's token: 404, as for a slug that does not exist.
    for path in ["/sites", "/queues", "/tickets", "/agents", "/api-keys"] {
        let r = h.get(&tpath(&b, path), Some(&a.admin)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text);
        assert_eq!(r.code(), "not_found");
    }
    let r = h
        .get("/api/v1/tenants/no-such-tenant/sites", Some(&a.admin))
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));

    // B's ids under A's own slug: 404 too, on reads and writes.
    let reads = [
        format!("/tickets/{b_ticket}"),
        format!("/queues/{}", b.queue.id),
    ];
    for p in &reads {
        let r = h.get(&tpath(&a, p), Some(&a.admin)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{p}: {}", r.text);
    }
    let writes = [
        (format!("/tickets/{b_ticket}/cancel"), json!({})),
        (
            format!("/agents/{}/call-next", b_agent.id),
            json!({"counter_id": b.counter.id}),
        ),
        (
            format!("/queues/{}/status", b.queue.id),
            json!({"status": "closed"}),
        ),
        (
            "/tickets".to_owned(),
            json!({"service_id": b.service.id, "channel": "web"}),
        ),
    ];
    for (p, body) in writes {
        let r = h.post(&tpath(&a, &p), Some(&a.admin), body).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{p}: {}", r.text);
        assert_eq!(r.code(), "not_found");
    }
    // …and B's ticket is still waiting.
    let r = h
        .get(&tpath(&b, &format!("/tickets/{b_ticket}")), Some(&b.admin))
        .await;
    assert_eq!(r.body["status"], "waiting");
}

#[tokio::test]
async fn happy_path_login_issue_call_close() {
    let h = harness().await;
    let w = h.world("acme").await;
    let (agent, agent_rec) = h.agent(&w, "agent@acme.test").await;

    let r = h.get("/api/v1/health", None).await;
    assert_eq!(
        (r.status, &r.body),
        (StatusCode::OK, &json!({"status": "ok"}))
    );

    let r = h
        .post(
            &tpath(&w, "/tickets"),
            Some(&w.admin),
            json!({"service_id": w.service.id, "channel": "web",
                   "contact": {"phone": "+254 712 345 678", "name": "Amina", "locale": "sw"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let ticket = r.body.clone();
    let id = ticket["id"].as_str().unwrap().to_owned();
    assert_eq!(ticket["number"], "A001");
    assert_eq!(ticket["status"], "waiting");
    assert_eq!(ticket["queue_id"], json!(w.queue.id));
    assert_eq!(ticket["service_id"], json!(w.service.id));
    assert_eq!(ticket["position"], 1);
    assert_eq!(ticket["ahead"], 0);
    assert!(ticket["created_at"].is_string());
    assert!(ticket.get("eta").is_some(), "eta is present (maybe null)");

    let r = h
        .get(&tpath(&w, &format!("/queues/{}", w.queue.id)), Some(&agent))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["id"], json!(w.queue.id));
    assert_eq!(r.body["name"], "Deposits");
    assert_eq!(r.body["status"], "open");
    assert_eq!(r.body["waiting"], 1);
    assert_eq!(r.body["next"][0]["id"], json!(id));
    assert!(r.body["serving"].as_array().unwrap().is_empty());
    assert!(r.body["longest_wait_seconds"].is_u64());

    // Closing a waiting ticket is not a legal move.
    let r = h
        .post_empty(&tpath(&w, &format!("/tickets/{id}/close")), Some(&agent))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.code(), "illegal_transition");

    let r = h
        .post(
            &tpath(&w, &format!("/agents/{}/call-next", agent_rec.id)),
            Some(&agent),
            json!({"counter_id": w.counter.id}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["id"], json!(id));
    assert_eq!(r.body["status"], "called");
    assert_eq!(r.body["counter_id"], json!(w.counter.id));

    for (action, status) in [
        ("recall", "recalled"),
        ("start", "serving"),
        ("pause", "paused"),
        ("resume", "serving"),
        ("close", "served"),
    ] {
        let r = h
            .post_empty(&tpath(&w, &format!("/tickets/{id}/{action}")), Some(&agent))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{action}: {}", r.text);
        assert_eq!(r.body["status"], status, "{action}");
    }

    let r = h
        .get(
            &tpath(
                &w,
                &format!("/tickets?status=served&queue_id={}&limit=5", w.queue.id),
            ),
            Some(&agent),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    assert_eq!(r.body[0]["position"], Value::Null);
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_is_refused() {
    let h = harness().await;
    let w = h.world("acme").await;
    let r = h
        .post(
            "/api/v1/auth/token",
            None,
            json!({"email": "admin@acme.test", "password": "wrong password"}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "invalid_credentials")
    );

    let r = h
        .post(
            "/api/v1/auth/token",
            None,
            json!({"email": "admin@acme.test", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.body["token_type"], "Bearer");
    assert!(r.body["expires_in"].as_i64().unwrap() > 0);
    let first = r.body["refresh_token"].as_str().unwrap().to_owned();
    let r = h
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": first}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let fresh = r.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        h.get(&tpath(&w, "/sites"), Some(&fresh)).await.status,
        StatusCode::OK
    );

    let r = h
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": first}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "token_reused")
    );
}

#[tokio::test]
async fn login_throttling_answers_429_with_retry_after() {
    let h = harness().await;
    h.world("acme").await;
    let mut last = None;
    for _ in 0..6 {
        last = Some(
            h.post(
                "/api/v1/auth/token",
                None,
                json!({"email": "admin@acme.test", "password": "wrong password"}),
            )
            .await,
        );
    }
    let r = last.unwrap();
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert_eq!(r.code(), "too_many_attempts");
    let secs: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(secs > 0);
}

#[tokio::test]
async fn api_keys_are_shown_once_and_accepted_in_both_headers() {
    let h = harness().await;
    let w = h.world("acme").await;
    let r = h
        .post(
            &tpath(&w, "/api-keys"),
            Some(&w.admin),
            json!({"name": "display", "scopes": ["read:queue"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let key = r.body["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("sqk_"));
    assert_eq!(r.body["scopes"], json!(["read:queue"]));

    let list = h.get(&tpath(&w, "/api-keys"), Some(&w.admin)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    assert!(!list.text.contains(&key), "secrets are never listed");
    assert!(key.starts_with(list.body[0]["prefix"].as_str().unwrap()));

    assert_eq!(
        h.get(&tpath(&w, "/queues"), Some(&key)).await.status,
        StatusCode::OK
    );
    let r = h
        .send(
            Request::get(tpath(&w, "/queues"))
                .header("x-api-key", &key)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // The key holds read:queue only.
    let r = h
        .post(
            &tpath(&w, "/tickets"),
            Some(&key),
            json!({"service_id": w.service.id, "channel": "web"}),
        )
        .await;
    assert_eq!(r.code(), "forbidden");

    let r = h
        .post(
            &tpath(&w, "/api-keys"),
            Some(&w.admin),
            json!({"name": "bad", "scopes": ["read:everything"]}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_scope")
    );
    assert_eq!(r.body["error"]["field"], "scopes");
}

#[tokio::test]
async fn catalogue_posts_parse_values_and_create() {
    let h = harness().await;
    let w = h.world("acme").await;
    let r = h
        .post(
            &tpath(&w, "/services"),
            Some(&w.admin),
            json!({"site_id": w.site.id, "name": "Loans", "sla_target_secs": 900,
                   "expected_duration_secs": 600}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let loans = r.body["id"].as_str().unwrap().to_owned();

    let r = h
        .post(
            &tpath(&w, "/queues"),
            Some(&w.admin),
            json!({"service_id": loans, "name": "VIP", "prefix": "vip"}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_prefix")
    );
    assert_eq!(r.body["error"]["field"], "prefix");

    let r = h
        .post(
            &tpath(&w, "/queues"),
            Some(&w.admin),
            json!({"service_id": loans, "name": "VIP", "prefix": "V",
                   "policy": {"ratios": [{"class": 1, "weight": 2}, {"class": 0, "weight": 1}],
                              "sla_boost_percent": 80}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["policy"]["ratios"][0]["weight"], 2);
    let vip = r.body["id"].as_str().unwrap().to_owned();
    let r = h
        .post(
            &tpath(&w, "/queues"),
            Some(&w.admin),
            json!({"service_id": loans, "name": "VIP 2", "prefix": "W"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "conflict"));

    let r = h
        .post(
            &tpath(&w, &format!("/queues/{vip}/status")),
            Some(&w.admin),
            json!({"status": "closed"}),
        )
        .await;
    assert_eq!(r.body["status"], "closed", "{}", r.text);

    let r = h
        .post(
            &tpath(&w, "/counters"),
            Some(&w.admin),
            json!({"site_id": w.site.id, "name": "2"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    let r = h
        .post(
            &tpath(&w, "/agents"),
            Some(&w.admin),
            json!({"site_id": w.site.id, "name": "Bo",
                   "skills": [{"service_id": w.service.id, "weight": 0}]}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_skill")
    );

    let r = h
        .post(
            &tpath(&w, "/tickets"),
            Some(&w.admin),
            json!({"service_id": w.service.id, "channel": "web", "contact": {"phone": "0712"}}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_phone")
    );
    assert_eq!(r.body["error"]["field"], "contact.phone");

    let r = h
        .post(
            &tpath(&w, "/users"),
            Some(&w.admin),
            json!({"email": "new@acme.test", "password": "short", "role": "agent"}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "weak_password")
    );

    // Only the platform creates tenants.
    let r = h
        .post(
            "/api/v1/tenants",
            Some(&w.admin),
            json!({"slug": "other", "name": "Other"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));
}

/// Every documented operation, as (method, path). The OpenAPI document must list exactly
/// these, and each must be routed.
const OPERATIONS: &[(&str, &str)] = &[
    ("get", "/api/v1/health"),
    ("post", "/api/v1/auth/token"),
    ("post", "/api/v1/auth/refresh"),
    ("get", "/api/v1/tenants"),
    ("post", "/api/v1/tenants"),
    ("post", "/api/v1/tenants/{tenant}/users"),
    ("get", "/api/v1/tenants/{tenant}/api-keys"),
    ("post", "/api/v1/tenants/{tenant}/api-keys"),
    ("delete", "/api/v1/tenants/{tenant}/api-keys/{id}"),
    ("get", "/api/v1/tenants/{tenant}/channels"),
    ("post", "/api/v1/tenants/{tenant}/channels"),
    ("get", "/api/v1/tenants/{tenant}/messages"),
    ("get", "/api/v1/tenants/{tenant}/feedback"),
    ("get", "/api/v1/tenants/{tenant}/sites"),
    ("post", "/api/v1/tenants/{tenant}/sites"),
    ("get", "/api/v1/tenants/{tenant}/services"),
    ("post", "/api/v1/tenants/{tenant}/services"),
    ("get", "/api/v1/tenants/{tenant}/queues"),
    ("post", "/api/v1/tenants/{tenant}/queues"),
    ("get", "/api/v1/tenants/{tenant}/queues/{id}"),
    ("post", "/api/v1/tenants/{tenant}/queues/{id}/status"),
    ("get", "/api/v1/tenants/{tenant}/counters"),
    ("post", "/api/v1/tenants/{tenant}/counters"),
    ("get", "/api/v1/tenants/{tenant}/agents"),
    ("post", "/api/v1/tenants/{tenant}/agents"),
    ("post", "/api/v1/tenants/{tenant}/agents/{id}/status"),
    ("post", "/api/v1/tenants/{tenant}/agents/{id}/call-next"),
    ("get", "/api/v1/tenants/{tenant}/tickets"),
    ("post", "/api/v1/tenants/{tenant}/tickets"),
    ("get", "/api/v1/tenants/{tenant}/tickets/{id}"),
    ("post", "/api/v1/tenants/{tenant}/tickets/{id}/recall"),
    ("post", "/api/v1/tenants/{tenant}/tickets/{id}/start"),
    ("post", "/api/v1/tenants/{tenant}/tickets/{id}/close"),
    ("post", "/api/v1/tenants/{tenant}/tickets/{id}/no-show"),
    ("post", "/api/v1/tenants/{tenant}/tickets/{id}/pause"),
    ("post", "/api/v1/tenants/{tenant}/tickets/{id}/resume"),
    ("post", "/api/v1/tenants/{tenant}/tickets/{id}/cancel"),
    ("post", "/api/v1/tenants/{tenant}/tickets/{id}/transfer"),
    // Web views (issue 5): device pairing.
    ("get", "/api/v1/tenants/{tenant}/devices"),
    ("post", "/api/v1/tenants/{tenant}/devices"),
    ("delete", "/api/v1/tenants/{tenant}/devices/{id}"),
    // Web views (issue 5): display announcements.
    (
        "get",
        "/api/v1/tenants/{tenant}/sites/{site_id}/announcements",
    ),
    (
        "post",
        "/api/v1/tenants/{tenant}/sites/{site_id}/announcements",
    ),
    (
        "delete",
        "/api/v1/tenants/{tenant}/sites/{site_id}/announcements/{id}",
    ),
];

const PUBLIC: &[&str] = &[
    "/api/v1/health",
    "/api/v1/auth/token",
    "/api/v1/auth/refresh",
];

#[tokio::test]
async fn openapi_documents_every_route_with_its_scope() {
    let h = harness().await;
    let r = h.get("/api/v1/openapi.json", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.body;
    assert_eq!(doc["openapi"], "3.1.0");

    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            documented.push((method.clone(), path.clone()));
            let scopes = op.get("x-required-scopes");
            if PUBLIC.contains(&path.as_str()) {
                assert!(scopes.is_none(), "{method} {path} is public");
            } else {
                assert!(scopes.is_some(), "{method} {path} declares no scope");
                assert!(
                    op["description"].as_str().unwrap().contains("Scope:"),
                    "{method} {path}"
                );
                assert!(op["responses"]["401"].is_object(), "{method} {path}");
            }
            assert!(op["responses"]["500"].is_object(), "{method} {path}");
            let ok = ["200", "201"]
                .iter()
                .find_map(|s| op["responses"].get(*s))
                .unwrap_or_else(|| panic!("{method} {path}: no success response"));
            assert!(ok["content"]["application/json"]["schema"].is_object());
        }
    }
    let mut expected: Vec<(String, String)> = OPERATIONS
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    expected.sort();
    documented.sort();
    assert_eq!(documented, expected);

    // Every schema reference resolves.
    let text = doc.to_string();
    for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = part.split('"').next().unwrap();
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "dangling $ref {name}"
        );
    }

    // Every documented operation is routed: never route_not_found or method_not_allowed.
    let id = uuid::Uuid::now_v7();
    for (method, path) in OPERATIONS {
        let concrete = path
            .replace("{tenant}", "acme")
            .replace("{site_id}", &id.to_string())
            .replace("{id}", &id.to_string());
        let r = h
            .send(
                Request::builder()
                    .method(method.to_uppercase().as_str())
                    .uri(&concrete)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert!(
            !matches!(r.code(), "route_not_found" | "method_not_allowed"),
            "{method} {path}: {}",
            r.text
        );
    }

    let page = h.get("/api/docs", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.text.contains("/api/v1/openapi.json"));
}

#[tokio::test]
async fn metrics_render_after_refreshing_queue_gauges() {
    let render: MetricsRender = Arc::new(|| "# sq test exposition\n".to_owned());
    let h = harness_with(Some(render)).await;
    h.world("acme").await;
    let r = h.get("/metrics", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "text/plain; version=0.0.4");
    assert_eq!(r.text, "# sq test exposition\n");
}
