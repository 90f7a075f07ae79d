//! The web views in headless Chromium against the real server (SQLite, demo seed).

use fantoccini::Locator;
use sq_browser_tests::{Browser, eventually};
use sq_tests::sq_server::DemoSeed;
use sq_tests::{Backend, DEMO_PASSWORD, spawn_demo};
use std::time::{Duration, Instant};

async fn text(b: &Browser, css: &str) -> Option<String> {
    let el = b.client.find(Locator::Css(css)).await.ok()?;
    el.text().await.ok()
}

async fn login(b: &Browser, base: &str, email: &str) {
    b.client.goto(&format!("{base}/login")).await.unwrap();
    b.client
        .find(Locator::Id("email"))
        .await
        .unwrap()
        .send_keys(email)
        .await
        .unwrap();
    b.client
        .find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(DEMO_PASSWORD)
        .await
        .unwrap();
    b.client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Opens the demo display (`query`: e.g. `?lang=ar`, or empty) and waits for its clock.
async fn open_display(b: &Browser, app: &sq_tests::TestApp, seed: &DemoSeed, query: &str) {
    let path = format!("/display/{}{query}", key(seed, "display"));
    b.client.goto(&app.url(&path)).await.unwrap();
    eventually(Duration::from_secs(5), "the display's clock", || async {
        text(b, "#clock").await.filter(|t| !t.is_empty())
    })
    .await;
}

/// Issues a ticket for demo service `i` (mod 3) and calls it with agent and counter `i`;
/// returns the called number.
async fn issue_and_call(client: &sq_tests::Session, seed: &DemoSeed, i: usize) -> String {
    let n = seed.services.len();
    client
        .create_ticket(seed.services[i % n].id)
        .await
        .expect(201, None);
    let (_, agent) = &seed.agents[i % seed.agents.len()];
    let called = client
        .call_next(agent.id, seed.counters[i % seed.counters.len()].id)
        .await;
    called.expect(200, None);
    called.str("number")
}

fn key(seed: &DemoSeed, kind: &str) -> String {
    seed.devices
        .iter()
        .find(|(d, _)| d.kind.as_str() == kind)
        .map(|(_, k)| k.clone())
        .expect("the demo seed pairs a display and a kiosk")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_calls_next_and_the_display_shows_it_within_2_seconds() {
    let Some(b) = Browser::start(1920, 1080).await else {
        return;
    };
    let (app, seed) = spawn_demo(Backend::Sqlite).await.unwrap();
    let admin = app.login("admin@demo.test", DEMO_PASSWORD).await;
    let issued = admin.create_ticket(seed.services[0].id).await;
    let number = issued.str("number");

    // The display in its own window, connected and showing its (empty) snapshot.
    let console_window = b.client.window().await.unwrap();
    let display = b.client.new_window(false).await.unwrap().handle;
    b.client.switch_to_window(display.clone()).await.unwrap();
    open_display(&b, &app, &seed, "").await;

    b.client
        .switch_to_window(console_window.clone())
        .await
        .unwrap();
    login(&b, &app.base, "agent1@demo.test").await;
    eventually(Duration::from_secs(5), "the console", || async {
        text(&b, "#counter").await
    })
    .await;
    // Pick counter 1, then call next.
    b.client
        .find(Locator::Css("form[action='/console/counter'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually(Duration::from_secs(5), "the chosen counter", || async {
        text(&b, "#my-counter").await
    })
    .await;
    b.screenshot("console-idle").await;
    // The live region is re-rendered when its socket (re)connects: retry a stale button.
    let t0 = std::cell::Cell::new(Instant::now());
    eventually(Duration::from_secs(5), "the call-next click", || async {
        t0.set(Instant::now());
        let el = b.client.find(Locator::Id("call-next")).await.ok()?;
        el.click().await.ok()
    })
    .await;
    let shown = eventually(Duration::from_secs(5), "the called number", || async {
        text(&b, "#current-number").await.filter(|t| *t == number)
    })
    .await;
    assert_eq!(shown, number);
    b.screenshot("console").await;

    b.client.switch_to_window(display).await.unwrap();
    let latency = eventually(
        Duration::from_secs(2),
        "the number on the display",
        || async {
            text(&b, "#now .num")
                .await
                .filter(|t| *t == number)
                .map(|_| t0.get().elapsed())
        },
    )
    .await;
    println!(
        "call-next → display latency: {} ms (click to number on screen)",
        latency.as_millis()
    );
    assert!(latency < Duration::from_secs(2), "{latency:?}");
    b.screenshot("display").await;
    b.close().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kiosk_ticket_tracker_updates_when_the_ticket_is_called() {
    let Some(b) = Browser::start(1080, 1350).await else {
        return;
    };
    let (app, seed) = spawn_demo(Backend::Sqlite).await.unwrap();
    let kiosk = key(&seed, "kiosk");
    b.client
        .goto(&app.url(&format!("/kiosk/{kiosk}")))
        .await
        .unwrap();
    b.screenshot("kiosk").await;
    b.client
        .find(Locator::Css("button.service"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let number = eventually(Duration::from_secs(5), "the ticket page", || async {
        text(&b, "#ticket-number").await
    })
    .await;
    assert!(number.starts_with('A'), "{number}");
    assert!(text(&b, "#ticket-position").await.is_some());
    let qr = b.client.find(Locator::Css(".qr svg")).await;
    assert!(qr.is_ok(), "the ticket carries a QR code");
    b.screenshot("kiosk-ticket").await;
    let tracker = b
        .client
        .find(Locator::Css(".print-only"))
        .await
        .unwrap()
        .html(true)
        .await
        .unwrap();
    let tracker = tracker.trim().to_owned();
    assert!(tracker.contains("/t/"), "{tracker}");

    b.client.goto(&tracker).await.unwrap();
    // A loaded machine may still be rendering the page: wait for it, not for a moment.
    let first = eventually(Duration::from_secs(5), "the tracker page", || async {
        status(&b).await
    })
    .await;
    assert_eq!(first, "waiting");
    b.screenshot("tracker").await;
    // Give the tracker's socket a moment to connect, then call from the API.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let agent = app.login("agent1@demo.test", DEMO_PASSWORD).await;
    let (_, a1) = &seed.agents[0];
    agent
        .call_next(a1.id, seed.counters[0].id)
        .await
        .expect(200, None);
    let t0 = Instant::now();
    eventually(
        Duration::from_secs(3),
        "the tracker to show the call",
        || async { status(&b).await.filter(|s| s == "called") },
    )
    .await;
    println!(
        "tracker updated {} ms after the call",
        t0.elapsed().as_millis()
    );
    b.screenshot("tracker-called").await;
    b.close().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arabic_display_renders_right_to_left() {
    let Some(b) = Browser::start(1920, 1080).await else {
        return;
    };
    let (app, seed) = spawn_demo(Backend::Sqlite).await.unwrap();
    let admin = app.login("admin@demo.test", DEMO_PASSWORD).await;
    for _ in 0..3 {
        issue_and_call(&admin, &seed, 2).await;
    }
    open_display(&b, &app, &seed, "?lang=ar").await;
    let html = b.client.find(Locator::Css("html")).await.unwrap();
    assert_eq!(html.attr("dir").await.unwrap().as_deref(), Some("rtl"));
    assert_eq!(html.attr("lang").await.unwrap().as_deref(), Some("ar"));
    let heading = text(&b, "#now-h").await.unwrap();
    assert!(
        heading
            .chars()
            .any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)),
        "{heading}"
    );
    // Mirrored: the clock sits on the left in RTL (on the right in LTR).
    let clock_x = b
        .client
        .execute(
            "return document.getElementById('clock').getBoundingClientRect().left;",
            vec![],
        )
        .await
        .unwrap();
    assert!(clock_x.as_f64().unwrap() < 960.0, "{clock_x}");
    eventually(Duration::from_secs(3), "the snapshot's calls", || async {
        text(&b, "#now .num").await
    })
    .await;
    b.screenshot("display-ar").await;
    // A portrait tablet gets the one-column layout.
    b.client.set_window_size(800, 1280).await.unwrap();
    b.screenshot("display-portrait-ar").await;
    b.close().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_post_without_its_csrf_token_is_refused() {
    let Some(b) = Browser::start(1280, 900).await else {
        return;
    };
    let (app, seed) = spawn_demo(Backend::Sqlite).await.unwrap();
    b.client.goto(&app.url("/login")).await.unwrap();
    b.screenshot("login").await;
    b.client
        .execute(
            "document.querySelector('input[name=_csrf]').remove();",
            vec![],
        )
        .await
        .unwrap();
    login_fields(&b, "agent1@demo.test").await;
    let msg = eventually(Duration::from_secs(5), "the refusal", || async {
        text(&b, "#error-message").await
    })
    .await;
    assert!(msg.contains("expired") || msg.contains("site"), "{msg}");
    // Nothing happened: no session, the console still sends us to the login page.
    b.client.goto(&app.url("/console")).await.unwrap();
    assert!(
        b.client
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/login")
    );

    // With the token, the same login works; the supervisor page renders for an admin
    // (with a few tickets, so the gallery shows something).
    let admin = app.login("admin@demo.test", DEMO_PASSWORD).await;
    for s in [0, 0, 1, 2, 0] {
        admin
            .create_ticket(seed.services[s].id)
            .await
            .expect(201, None);
    }
    let agent = app.login("agent2@demo.test", DEMO_PASSWORD).await;
    let (_, a2) = &seed.agents[1];
    agent
        .call_next(a2.id, seed.counters[1].id)
        .await
        .expect(200, None);
    login(&b, &app.base, "admin@demo.test").await;
    eventually(Duration::from_secs(5), "the supervisor", || async {
        text(&b, "#queues-h").await
    })
    .await;
    b.screenshot("supervisor").await;
    b.client.goto(&app.url("/admin/devices")).await.unwrap();
    b.screenshot("devices").await;
    b.client
        .goto(&app.url("/admin/announcements"))
        .await
        .unwrap();
    b.screenshot("announcements").await;
    b.close().await;

    // The raw HTTP status, too.
    let r = app
        .client
        .post(app.url("/logout"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    app.stop().await;
}

async fn status(b: &Browser) -> Option<String> {
    b.client
        .find(Locator::Id("ticket-status"))
        .await
        .ok()?
        .attr("data-status")
        .await
        .ok()?
}

async fn login_fields(b: &Browser, email: &str) {
    b.client
        .find(Locator::Id("email"))
        .await
        .unwrap()
        .send_keys(email)
        .await
        .unwrap();
    b.client
        .find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(DEMO_PASSWORD)
        .await
        .unwrap();
    b.client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// An open display's ticker changes live when an announcement is published through the API,
/// and falls back to the welcome line when it is deleted (no reload in between).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_displays_ticker_follows_announcements_live() {
    let Some(b) = Browser::start(1920, 1080).await else {
        return;
    };
    let (app, seed) = spawn_demo(Backend::Sqlite).await.unwrap();
    b.client
        .goto(&app.url(&format!("/display/{}", key(&seed, "display"))))
        .await
        .unwrap();
    eventually(Duration::from_secs(5), "the welcome line", || async {
        text(&b, "#ticker")
            .await
            .filter(|t| t.contains("Please keep your ticket ready"))
    })
    .await;
    // Let the socket connect (the snapshot renders the empty lists).
    eventually(Duration::from_secs(5), "the live socket", || async {
        let s = text(&b, "#status").await?;
        s.is_empty().then_some(())
    })
    .await;
    // Marks the page: a reload would lose it.
    b.client
        .execute("window.sqNoReload = 1; return null;", vec![])
        .await
        .unwrap();

    let admin = app.login("admin@demo.test", DEMO_PASSWORD).await;
    let path = admin.t(&format!("/sites/{}/announcements", seed.site.id));
    let r = admin
        .post(
            &path,
            &serde_json::json!({"text": "Closed on Friday afternoon"}),
        )
        .await;
    r.expect(201, None);
    let t0 = Instant::now();
    eventually(
        Duration::from_secs(3),
        "the announcement in the ticker",
        || async {
            text(&b, "#ticker")
                .await
                .filter(|t| t.contains("Closed on Friday afternoon"))
        },
    )
    .await;
    println!("announcement → ticker: {} ms", t0.elapsed().as_millis());
    admin
        .delete(&format!("{path}/{}", r.id()))
        .await
        .expect(200, None);
    eventually(Duration::from_secs(3), "the welcome line again", || async {
        text(&b, "#ticker")
            .await
            .filter(|t| t.contains("Please keep your ticket ready"))
    })
    .await;
    let same_page = b
        .client
        .execute("return window.sqNoReload === 1;", vec![])
        .await
        .unwrap();
    assert_eq!(
        same_page,
        serde_json::json!(true),
        "updated without a reload"
    );
}

/// A display runs for days through bursts of calls: what it keeps stays bounded (four
/// numbers now calling, eight recent ones, a short backlog of announcements to speak) and
/// it shows the latest call at once, however many came before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_display_stays_bounded_through_a_burst_of_calls() {
    let Some(b) = Browser::start(1920, 1080).await else {
        return;
    };
    let (app, seed) = spawn_demo(Backend::Sqlite).await.unwrap();
    let admin = app.login("admin@demo.test", DEMO_PASSWORD).await;
    open_display(&b, &app, &seed, "").await;
    const CALLS: usize = 30;
    let mut last = String::new();
    for i in 0..CALLS {
        last = issue_and_call(&admin, &seed, i).await;
    }
    eventually(Duration::from_secs(5), "the last call on screen", || async {
        let shown = b
            .client
            .execute(
                "return Array.from(document.querySelectorAll('#now .num')).map(e => e.textContent);",
                vec![],
            )
            .await
            .ok()?;
        shown
            .as_array()?
            .iter()
            .any(|n| n.as_str() == Some(last.as_str()))
            .then_some(())
    })
    .await;
    let sizes = b
        .client
        .execute(
            "return [document.querySelectorAll('#now li').length, \
                     document.querySelectorAll('#recent li').length, \
                     window.sqSpeechBacklog()];",
            vec![],
        )
        .await
        .unwrap();
    let sizes: Vec<u64> = sizes
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(sizes[0] <= 4, "now calling: {sizes:?}");
    assert_eq!(sizes[1], 8, "recent calls: {sizes:?}");
    assert!(sizes[2] <= 6, "speech backlog: {sizes:?}");
    b.close().await;
    app.stop().await;
}

/// WCAG 2.1 AA contrast on every page people read: staff pages, the display (also in
/// Arabic), the kiosk and a ticket's tracker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_meets_wcag_aa_text_contrast() {
    let Some(b) = Browser::start(1920, 1080).await else {
        return;
    };
    let (app, seed) = spawn_demo(Backend::Sqlite).await.unwrap();
    let admin = app.login("admin@demo.test", DEMO_PASSWORD).await;
    issue_and_call(&admin, &seed, 0).await;
    let mut failures = Vec::new();
    let check = async |path: String, ready: &str| -> Vec<String> {
        b.client.goto(&app.url(&path)).await.unwrap();
        eventually(Duration::from_secs(5), ready, || async {
            text(&b, ready).await.filter(|t| !t.is_empty())
        })
        .await;
        let found = b.contrast_failures().await;
        found.into_iter().map(|f| format!("{path}: {f}")).collect()
    };
    failures.extend(check("/login".into(), "h1").await);
    let display = key(&seed, "display");
    failures.extend(check(format!("/display/{display}"), "#now .num").await);
    failures.extend(check(format!("/display/{display}?lang=ar"), "#now .num").await);
    failures.extend(check(format!("/kiosk/{}", key(&seed, "kiosk")), "h1").await);
    // A kiosk ticket, then its tracker (reached through the ticket's printed link).
    b.client
        .find(Locator::Css("button.service"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually(Duration::from_secs(5), "the ticket page", || async {
        text(&b, "#ticket-number").await
    })
    .await;
    for f in b.contrast_failures().await {
        failures.push(format!("kiosk ticket: {f}"));
    }
    let tracker = b
        .client
        .find(Locator::Css(".print-only"))
        .await
        .unwrap()
        .html(true)
        .await
        .unwrap();
    let path = tracker
        .trim()
        .rsplit_once("/t/")
        .map(|(_, t)| format!("/t/{t}"));
    failures.extend(check(path.expect("a tracker link"), "h1").await);
    login(&b, &app.base, "admin@demo.test").await;
    for page in ["/supervisor", "/admin/devices", "/admin/announcements"] {
        failures.extend(check(page.into(), "h1").await);
    }
    login(&b, &app.base, "agent1@demo.test").await;
    failures.extend(check("/console".into(), "h1").await);
    assert!(failures.is_empty(), "{failures:#?}");
    b.close().await;
    app.stop().await;
}
