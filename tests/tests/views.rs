//! Web views over plain HTTP, on both backends: CSRF refusals change nothing, session
//! cookies carry the right flags, device keys are revocable and tenant scoped, tracker
//! tokens cannot be forged. (The pages themselves are driven in Chromium by tests/browser.)

use sq_domain::Role;
use sq_tests::reqwest::{StatusCode, redirect};
use sq_tests::{DEMO_PASSWORD, TestApp};
use std::time::Duration;

const CSRF: &str = "test-csrf-token-0123456789";

fn client() -> sq_tests::reqwest::Client {
    sq_tests::reqwest::Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .unwrap()
}

async fn post_form(
    app: &TestApp,
    path: &str,
    cookies: &str,
    body: &str,
    extra: &[(&str, &str)],
) -> sq_tests::reqwest::Response {
    let mut rb = client()
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", cookies)
        .body(body.to_owned());
    for (k, v) in extra {
        rb = rb.header(*k, *v);
    }
    rb.send().await.unwrap()
}

fn set_cookie(r: &sq_tests::reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// Signs in through the login form; the `cookie` header value for later requests.
async fn web_login(app: &TestApp, email: &str) -> String {
    let r = post_form(
        app,
        "/login",
        &format!("sq_csrf={CSRF}"),
        &format!("email={email}&password={DEMO_PASSWORD}&_csrf={CSRF}"),
        &[],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let c = set_cookie(&r, "sq_session").expect("a session cookie");
    let session = c.split(';').next().unwrap().to_owned();
    format!("{session}; sq_csrf={CSRF}")
}

fn key(seed: &sq_tests::sq_server::DemoSeed, kind: &str) -> (String, sq_domain::DeviceId) {
    seed.devices
        .iter()
        .find(|(d, _)| d.kind.as_str() == kind)
        .map(|(d, k)| (k.clone(), d.id))
        .unwrap()
}

sq_tests::backend_tests! {
    async fn a_post_without_csrf_is_refused_and_changes_nothing(app) {
        let seed = app.seed_demo().await;
        let (kiosk, _) = key(&seed, "kiosk");
        let body = format!("service_id={}", seed.services[0].id);
        let path = format!("/kiosk/{kiosk}/ticket");
        let r = post_form(&app, &path, "", &body, &[("accept-language", "fr")]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let html = r.text().await.unwrap();
        assert!(html.contains("Ce formulaire a expiré"), "{html}");
        // A token that does not match the cookie is refused too.
        let r = post_form(&app, &path, &format!("sq_csrf={CSRF}"), &format!("{body}&_csrf=other-token-000000000"), &[]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let admin = app.login("admin@demo.test", DEMO_PASSWORD).await;
        assert!(admin.tickets().await.is_empty(), "nothing was issued");

        // With the token the kiosk issues, and the tracker link works; a forged one does not.
        let r = post_form(&app, &path, &format!("sq_csrf={CSRF}"), &format!("{body}&_csrf={CSRF}"), &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let loc = r.headers()["location"].to_str().unwrap().to_owned();
        let token = loc.rsplit('/').next().unwrap().to_owned();
        let page = client().get(app.url(&format!("/t/{token}"))).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        assert!(page.text().await.unwrap().contains("A001"));
        let mut forged = token.into_bytes();
        let last = forged.len() - 2;
        forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        let r = client().get(app.url(&format!("/t/{forged}"))).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(admin.tickets().await.len(), 1);
    }

    async fn session_cookies_are_httponly_strict_and_secure_behind_tls(app) {
        app.seed_demo().await;
        let r = post_form(
            &app,
            "/login",
            &format!("sq_csrf={CSRF}"),
            &format!("email=agent1@demo.test&password={DEMO_PASSWORD}&_csrf={CSRF}"),
            &[("x-forwarded-proto", "https")],
        )
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], "/console");
        let c = set_cookie(&r, "sq_session").unwrap();
        for flag in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
            assert!(c.contains(flag), "{c}");
        }
        // A wrong password: 401, no session.
        let r = post_form(
            &app,
            "/login",
            &format!("sq_csrf={CSRF}"),
            &format!("email=agent1@demo.test&password=wrong-password&_csrf={CSRF}"),
            &[],
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(set_cookie(&r, "sq_session").is_none());
        // A platform account has no tenant pages: told so, not sent round in circles.
        let root = web_login(&app, "root@demo.test").await;
        let r = client().get(app.url("/console")).header("cookie", root).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(r.text().await.unwrap().contains("Platform accounts"));
        // No session: staff pages send to the login page; a forged cookie too.
        for cookie in ["", "sq_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
            let r = client().get(app.url("/console")).header("cookie", cookie).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::SEE_OTHER);
            assert_eq!(r.headers()["location"], "/login");
        }
    }

    async fn device_keys_are_revocable_and_tenant_scoped(app) {
        let seed = app.seed_demo().await;
        let (display, display_id) = key(&seed, "display");
        let ok = client().get(app.url(&format!("/display/{display}"))).send().await.unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
        // A display key does not open the kiosk page.
        let r = client().get(app.url(&format!("/kiosk/{display}"))).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);

        // Another tenant's admin cannot revoke it: not found, and it keeps working.
        let system = sq_app::Principal::system();
        let meta = sq_app::RequestMeta::default();
        let other = app
            .app
            .create_tenant(
                &system,
                sq_store::NewTenant {
                    slug: "other".parse().unwrap(),
                    name: "Other".parse().unwrap(),
                    default_locale: "en".parse().unwrap(),
                },
                &meta,
            )
            .await
            .unwrap();
        app.app
            .create_user(
                &system,
                Some(&other),
                sq_app::NewLogin {
                    email: "admin@other.test".into(),
                    password: DEMO_PASSWORD.into(),
                    role: Role::Admin,
                    site_id: None,
                },
                &meta,
            )
            .await
            .unwrap();
        let theirs = web_login(&app, "admin@other.test").await;
        let path = format!("/admin/devices/{display_id}/revoke");
        let r = post_form(&app, &path, &theirs, &format!("_csrf={CSRF}"), &[]).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let ok = client().get(app.url(&format!("/display/{display}"))).send().await.unwrap();
        assert_eq!(ok.status(), StatusCode::OK);

        // An agent may not revoke (manage:tenant); the demo admin may.
        let agent = web_login(&app, "agent1@demo.test").await;
        let r = post_form(&app, &path, &agent, &format!("_csrf={CSRF}"), &[]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let admin = web_login(&app, "admin@demo.test").await;
        let r = post_form(&app, &path, &admin, &format!("_csrf={CSRF}"), &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let gone = client().get(app.url(&format!("/display/{display}"))).send().await.unwrap();
        assert_eq!(gone.status(), StatusCode::NOT_FOUND);
        let ws = client()
            .get(app.url(&format!("/display/{display}/ws")))
            .header("connection", "upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .send()
            .await
            .unwrap();
        assert_eq!(ws.status(), StatusCode::NOT_FOUND);

        // Pairing a new one through the page shows its key once, and it works.
        let r = post_form(
            &app,
            "/admin/devices",
            &admin,
            &format!("_csrf={CSRF}&name=Second+screen&kind=display&site_id={}", seed.site.id),
            &[],
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        let html = r.text().await.unwrap();
        let start = html.find("id=\"device-key\">").unwrap() + "id=\"device-key\">".len();
        let new_key = &html[start..start + html[start..].find('<').unwrap()];
        let ok = client().get(app.url(&format!("/display/{new_key}"))).send().await.unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
        let log = app.app.store.audit_log(seed.tenant.id).await.unwrap();
        assert!(log.iter().any(|r| r.entry.action == "device.revoke"));
        assert!(!format!("{log:?}").contains(new_key), "keys never reach the audit log");
    }

    async fn devices_can_be_paired_and_revoked_through_the_api(app) {
        let seed = app.seed_demo().await;
        let admin = app.login("admin@demo.test", DEMO_PASSWORD).await;
        let body = serde_json::json!({"site_id": seed.site.id, "name": "Lobby", "kind": "kiosk"});
        let r = admin.post(&admin.t("/devices"), &body).await;
        r.expect(201, None);
        let key = r.str("key");
        assert!(key.starts_with("sqd_"));
        assert_eq!(r.str("path"), format!("/kiosk/{key}"));
        let id = r.id();
        let page = client().get(app.url(&format!("/kiosk/{key}"))).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let list = admin.get(&admin.t("/devices")).await;
        list.expect(200, None);
        assert_eq!(list.body.as_array().unwrap().len(), 3, "the demo pair and this one");
        assert!(!list.body.to_string().contains(&key), "keys are never listed");
        // Bad kind, another tenant's (unknown) site, an agent: refused, nothing paired.
        let bad = serde_json::json!({"site_id": seed.site.id, "name": "X", "kind": "toaster"});
        admin.post(&admin.t("/devices"), &bad).await.expect(422, Some("invalid_request"));
        let nowhere = serde_json::json!({"site_id": uuid::Uuid::now_v7(), "name": "X", "kind": "display"});
        admin.post(&admin.t("/devices"), &nowhere).await.expect(404, Some("not_found"));
        let agent = app.login("agent1@demo.test", DEMO_PASSWORD).await;
        agent.post(&agent.t("/devices"), &body).await.expect(403, Some("forbidden"));
        assert_eq!(admin.get(&admin.t("/devices")).await.body.as_array().unwrap().len(), 3);
        let r = admin.delete(&admin.t(&format!("/devices/{id}"))).await;
        r.expect(200, None);
        assert!(!r.body["revoked_at"].is_null());
        let page = client().get(app.url(&format!("/kiosk/{key}"))).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::NOT_FOUND);
    }

    async fn the_supervisor_picks_among_the_tenants_sites_and_agents_are_refused(app) {
        let seed = app.seed_demo().await;
        let second = app
            .app
            .create_site(
                &sq_app::Principal::system(),
                &seed.tenant,
                sq_store::NewSite {
                    name: "Harbour Branch".parse().unwrap(),
                    timezone: "Africa/Dar_es_Salaam".parse().unwrap(),
                    locale: "sw".parse().unwrap(),
                },
                &sq_app::RequestMeta::default(),
            )
            .await
            .unwrap();
        let admin = web_login(&app, "admin@demo.test").await;
        let get = |path: String, cookie: String| {
            let url = app.url(&path);
            async move { client().get(url).header("cookie", cookie).send().await.unwrap() }
        };
        let first = get("/supervisor".into(), admin.clone()).await.text().await.unwrap();
        assert!(first.contains("Central Branch") && first.contains("Deposits"));
        let r = get(format!("/supervisor?site={}", second.id), admin.clone()).await;
        assert_eq!(r.status(), StatusCode::OK);
        let html = r.text().await.unwrap();
        assert!(html.contains("Supervisor — Harbour Branch"), "{html}");
        assert!(!html.contains("Deposits"), "the other site's queues are not shown");
        let agent = web_login(&app, "agent1@demo.test").await;
        assert_eq!(get("/supervisor".into(), agent).await.status(), StatusCode::FORBIDDEN);
    }

    async fn a_display_falls_back_to_server_sent_events(app) {
        let seed = app.seed_demo().await;
        let (_, key) = seed
            .devices
            .iter()
            .find(|(d, _)| d.kind == sq_store::DeviceKind::Display)
            .unwrap();
        let mut events = client()
            .get(app.url(&format!("/display/{key}/events")))
            .send()
            .await
            .unwrap();
        assert_eq!(events.status(), StatusCode::OK);
        assert!(events.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
        let mut seen = String::new();
        // The snapshot comes first.
        while !seen.contains("data:") {
            let chunk = tokio::time::timeout(Duration::from_secs(5), events.chunk()).await.unwrap().unwrap().unwrap();
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
        let admin = app.login("admin@demo.test", DEMO_PASSWORD).await;
        admin.create_ticket(seed.services[0].id).await.expect(201, None);
        let agent = app.login("agent1@demo.test", DEMO_PASSWORD).await;
        agent.call_next(seed.agents[0].1.id, seed.counters[0].id).await.expect(200, None);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while !seen.contains("A001") {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let chunk = tokio::time::timeout(left, events.chunk())
                .await
                .unwrap_or_else(|_| panic!("no call event within 2 s: {seen}"))
                .unwrap()
                .unwrap();
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
        // A revoked or unknown key gets nothing.
        let r = client().get(app.url("/display/sqd_nope/events")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }

    async fn the_console_serves_the_chosen_queues_only(app) {
        let seed = app.seed_demo().await;
        let admin = app.login("admin@demo.test", DEMO_PASSWORD).await;
        let a = admin.create_ticket(seed.services[0].id).await;
        a.expect(201, None);
        admin.create_ticket(seed.services[1].id).await.expect(201, None);
        let queue_b = seed.queues[1].id;
        let mut cookies = web_login(&app, "agent1@demo.test").await;
        let get = |cookie: String| {
            let url = app.url("/console");
            async move { client().get(url).header("cookie", cookie).send().await.unwrap().text().await.unwrap() }
        };
        // The counter first, remembered in its cookie.
        let r = post_form(&app, "/console/counter", &cookies, &format!("_csrf={CSRF}&counter_id={}", seed.counters[0].id), &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let c = set_cookie(&r, "sq_counter").unwrap();
        cookies = format!("{cookies}; {}", c.split(';').next().unwrap());

        // Every queue the agent serves is offered, none ticked; both tickets wait.
        let html = get(cookies.clone()).await;
        assert!(html.contains("Queues I serve"), "{html}");
        for q in &seed.queues {
            assert!(html.contains(&format!("value=\"{}\"", q.id)), "{} offered", q.name);
        }
        assert!(!html.contains("checked"));
        assert!(html.contains("A001") && html.contains("B001"));

        // Without the CSRF token, or with a queue of another tenant or a bad id: refused,
        // nothing remembered.
        let body = format!("queue_id={queue_b}");
        let r = post_form(&app, "/console/queues", &cookies, &body, &[]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(set_cookie(&r, "sq_queues").is_none());
        let stranger = uuid::Uuid::now_v7();
        let r = post_form(&app, "/console/queues", &cookies, &format!("_csrf={CSRF}&queue_id={queue_b}&queue_id={stranger}"), &[]).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert!(set_cookie(&r, "sq_queues").is_none());
        let r = post_form(&app, "/console/queues", &cookies, &format!("_csrf={CSRF}&queue_id=nope"), &[("accept-language", "fr")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(set_cookie(&r, "sq_queues").is_none());

        // Only Loans (B): remembered, ticked, the waiting list shows B only.
        let r = post_form(&app, "/console/queues", &cookies, &format!("_csrf={CSRF}&{body}"), &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let c = set_cookie(&r, "sq_queues").expect("the choice is remembered");
        for flag in ["HttpOnly", "SameSite=Strict"] {
            assert!(c.contains(flag), "{c}");
        }
        let chosen = format!("{cookies}; {}", c.split(';').next().unwrap());
        let html = get(chosen.clone()).await;
        assert!(html.contains(&format!("value=\"{queue_b}\" checked")), "{html}");
        assert!(html.contains("B001") && !html.contains("A001"), "{html}");

        // Call next calls from B (though A001 is older), then finds nothing.
        let r = post_form(&app, "/console/call-next", &chosen, &format!("_csrf={CSRF}"), &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], "/console");
        let tickets = admin.tickets().await;
        let b = tickets.iter().find(|t| t["number"] == "B001").unwrap();
        assert_eq!(b["status"], "called");
        let r = post_form(&app, "/console/call-next", &chosen, &format!("_csrf={CSRF}"), &[]).await;
        assert_eq!(r.headers()["location"], "/console?msg=queue_empty");
        assert_eq!(admin.ticket(&a.id()).await.str("status"), "waiting");

        // Ticking none forgets the choice: all my queues again.
        let r = post_form(&app, "/console/queues", &chosen, &format!("_csrf={CSRF}"), &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(set_cookie(&r, "sq_queues").unwrap().contains("Max-Age=0"));
        let r = post_form(&app, "/console/call-next", &cookies, &format!("_csrf={CSRF}"), &[]).await;
        assert_eq!(r.headers()["location"], "/console");
        assert_eq!(admin.ticket(&a.id()).await.str("status"), "called");
    }

    async fn announcements_reach_the_display_page_and_its_open_feed(app) {
        let seed = app.seed_demo().await;
        let (display, _) = key(&seed, "display");
        let page = || {
            let url = app.url(&format!("/display/{display}"));
            async move { client().get(url).send().await.unwrap().text().await.unwrap() }
        };
        // None yet: the localised welcome line.
        let html = page().await;
        assert!(html.contains("Please keep your ticket ready"), "{html}");

        // An open display (server-sent events: the same frames as the socket).
        let mut events = client()
            .get(app.url(&format!("/display/{display}/events")))
            .send()
            .await
            .unwrap();
        let mut seen = String::new();
        while !seen.contains("\"ticker\":[]") {
            let chunk = tokio::time::timeout(Duration::from_secs(5), events.chunk()).await.unwrap().unwrap().unwrap();
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }

        // Published through the admin page (CSRF checked): refused without the token.
        let admin = web_login(&app, "admin@demo.test").await;
        let body = format!("site_id={}&text=Branch+closes+at+noon+%E2%80%94+%D8%B9%D9%8A%D8%AF+%D9%85%D8%A8%D8%A7%D8%B1%D9%83&starts_at=&ends_at=", seed.site.id);
        let r = post_form(&app, "/admin/announcements", &admin, &body, &[]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let bad = format!("_csrf={CSRF}&site_id={}&text=&starts_at=&ends_at=", seed.site.id);
        let r = post_form(&app, "/admin/announcements", &admin, &bad, &[("accept-language", "sw")]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap().contains("Andika tangazo"));
        let started = std::time::Instant::now();
        let r = post_form(&app, "/admin/announcements", &admin, &format!("_csrf={CSRF}&{body}"), &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);

        // The open display gets a ticker frame without reloading.
        while !seen.contains("Branch closes at noon") {
            let left = Duration::from_secs(3).saturating_sub(started.elapsed());
            let chunk = tokio::time::timeout(left, events.chunk())
                .await
                .unwrap_or_else(|_| panic!("no ticker frame within 3 s: {seen}"))
                .unwrap()
                .unwrap();
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
        assert!(seen.contains("\"type\":\"ticker\""), "{seen}");
        // A page loaded now shows it instead of the welcome line.
        let html = page().await;
        assert!(html.contains("<bdi>Branch closes at noon — عيد مبارك</bdi>"), "{html}");
        assert!(!html.contains(">Welcome to"), "{html}");

        // The admin page lists it; an agent may not see the page; deleting it (CSRF
        // checked) empties the ticker live.
        let list = client().get(app.url("/admin/announcements")).header("cookie", admin.clone()).send().await.unwrap();
        assert_eq!(list.status(), StatusCode::OK);
        let html = list.text().await.unwrap();
        assert!(html.contains("Branch closes at noon"), "{html}");
        let agent = web_login(&app, "agent1@demo.test").await;
        let r = client().get(app.url("/admin/announcements")).header("cookie", agent).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let start = html.find("/admin/announcements/").unwrap() + "/admin/announcements/".len();
        let id = &html[start..start + 36];
        let del = format!("/admin/announcements/{id}/delete");
        let r = post_form(&app, &del, &admin, &format!("site_id={}", seed.site.id), &[]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        seen.clear();
        let r = post_form(&app, &del, &admin, &format!("_csrf={CSRF}&site_id={}", seed.site.id), &[]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        while !seen.contains("\"items\":[]") {
            let chunk = tokio::time::timeout(Duration::from_secs(3), events.chunk()).await.unwrap().unwrap().unwrap();
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
        assert!(page().await.contains("Please keep your ticket ready"));
    }
}
