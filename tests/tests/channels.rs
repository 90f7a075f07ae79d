//! Customers on every channel, through the provider simulators over real HTTP: they join a
//! queue, an agent calls them through the API, and they hear "go to counter 1" on the
//! channel they came from, in their language. Plus the webhook rules: duplicates answered
//! once, forged signatures refused with nothing stored, 429s retried, and a restart that
//! loses nothing and sends nothing twice. Each test runs on SQLite and on PostgreSQL.

use sq_sim::{Faults, IdTitle, InboundRequest};
use sq_tests::{
    DEMO_PASSWORD, Phones, Session, TestApp, backend_tests, number_of, serde_json::Value,
};
use std::time::Duration;

fn text(from: &str, text: &str) -> InboundRequest {
    InboundRequest {
        from: from.into(),
        text: Some(text.into()),
        ..Default::default()
    }
}

/// Agent 1 calls the next ticket to counter 1; returns the called ticket's number.
async fn call_next(app: &TestApp, seed: &sq_tests::sq_server::DemoSeed) -> String {
    let agent: Session = app.login("agent1@demo.test", DEMO_PASSWORD).await;
    let r = agent
        .call_next(seed.agents[0].1.id, seed.counters[0].id)
        .await;
    r.expect(200, None);
    r.str("number")
}

/// The screen text of a USSD report.
fn screen(report: &Value) -> String {
    report["screen"].as_str().unwrap_or_default().to_owned()
}

/// A numbered-menu channel (SMS): join Deposits without a name; returns the ticket reply.
async fn join_by_sms(phones: &Phones, channel: &str, from: &str) -> String {
    phones.send(channel, text(from, "join")).await;
    let menu = phones
        .wait_for(channel, from, "Deposits")
        .await
        .text
        .unwrap();
    phones
        .send(channel, text(from, &number_of(&menu, "Deposits")))
        .await;
    let offer = phones.wait_for(channel, from, "name").await.text.unwrap();
    phones
        .send(channel, text(from, &number_of(&offer, "No, thanks")))
        .await;
    phones
        .wait_for(channel, from, "ticket is")
        .await
        .text
        .unwrap()
}

backend_tests! {
    async fn whatsapp_customer_joins_and_is_called_to_the_counter(app) {
        let seed = app.seed_demo().await;
        let phones = app.phones().await;
        let me = "+254712000101";
        phones.send("whatsapp", InboundRequest { name: Some("Amina".into()), ..text(me, "hi") }).await;
        phones.wait_for("whatsapp", me, "Demo Bank").await;
        let tap = |id: &str, title: &str| InboundRequest {
            from: me.into(),
            button_reply: Some(IdTitle { id: id.into(), title: title.into() }),
            ..Default::default()
        };
        phones.send("whatsapp", tap("join", "Join a queue")).await;
        phones.wait_for("whatsapp", me, "Which service").await;
        let deposits = seed.services[0].id.to_string();
        phones.send("whatsapp", tap(&deposits, "Deposits")).await;
        phones.wait_for("whatsapp", me, "your name").await;
        phones.send("whatsapp", tap("no", "No, thanks")).await;
        let issued = phones.wait_for("whatsapp", me, "Your ticket is A001").await;
        assert!(issued.text.unwrap().contains("You are next"));

        assert_eq!(call_next(&app, &seed).await, "A001");
        let called = phones.wait_for("whatsapp", me, "go to counter 1").await;
        assert!(called.text.unwrap().starts_with("Ticket A001"));
    }

    async fn sms_customer_hears_in_swahili_after_choosing_it(app) {
        let seed = app.seed_demo().await;
        let phones = app.phones().await;
        let me = "+254712000102";
        // LANG opens the language flow; the choice sticks to the conversation.
        phones.send("twilio", text(me, "LANG")).await;
        let langs = phones.wait_for("twilio", me, "Kiswahili").await.text.unwrap();
        phones.send("twilio", text(me, &number_of(&langs, "Kiswahili"))).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        phones.send("twilio", text(me, "join")).await;
        let menu = phones.wait_for("twilio", me, "Deposits").await.text.unwrap();
        phones.send("twilio", text(me, &number_of(&menu, "Deposits"))).await;
        let offer = phones.wait_for("twilio", me, "jina").await.text.unwrap();
        let no = offer
            .lines()
            .find(|l| l.starts_with("2"))
            .and_then(|l| l.split_once(['.', ')']))
            .map(|(n, _)| n.trim().to_owned())
            .expect("a second option");
        phones.send("twilio", text(me, &no)).await;
        phones.wait_for("twilio", me, "A001").await;

        call_next(&app, &seed).await;
        phones.wait_for("twilio", me, "Tafadhali nenda dirisha 1").await;
    }

    async fn africastalking_sms_customer_is_called(app) {
        let seed = app.seed_demo().await;
        let phones = app.phones().await;
        let me = "+254712000103";
        let issued = join_by_sms(&phones, "at-sms", me).await;
        assert!(issued.contains("A001"), "{issued}");
        call_next(&app, &seed).await;
        phones.wait_for("at-sms", me, "go to counter 1").await;
    }

    async fn telegram_customer_joins_with_buttons_and_is_called(app) {
        let seed = app.seed_demo().await;
        let phones = app.phones().await;
        let me = "218485655";
        phones.send("telegram", text(me, "/start")).await;
        phones.wait_for("telegram", me, "Demo Bank").await;
        let tap = |data: &str| InboundRequest {
            from: me.into(),
            callback_data: Some(data.into()),
            ..Default::default()
        };
        phones.send("telegram", tap("join")).await;
        phones.wait_for("telegram", me, "Which service").await;
        phones.send("telegram", tap(&seed.services[1].id.to_string())).await;
        phones.wait_for("telegram", me, "your name").await;
        phones.send("telegram", tap("no")).await;
        phones.wait_for("telegram", me, "Your ticket is B001").await;
        // Every tap was answered (answerCallbackQuery), or Telegram shows a spinner.
        let answered = phones
            .sim
            .messages(Some("telegram"), None)
            .iter()
            .filter(|m| m.body["method"] == "answercallbackquery" && m.error.is_none())
            .count();
        assert_eq!(answered, 3);

        let agent: Session = app.login("agent2@demo.test", DEMO_PASSWORD).await;
        // Agent 2 serves Loans (queue B) in the demo.
        let r = agent.call_next(seed.agents[1].1.id, seed.counters[1].id).await;
        r.expect(200, None);
        assert_eq!(r.str("number"), "B001");
        phones.wait_for("telegram", me, "go to counter 2").await;
    }

    async fn ussd_customer_joins_inline_and_is_called_by_sms(app) {
        let seed = app.seed_demo().await;
        let phones = app.phones().await;
        let me = "+254712000104";
        let r = phones.send("at-ussd", InboundRequest { from: me.into(), dial: Some("*384*1#".into()), ..Default::default() }).await;
        let menu = screen(&r);
        assert!(menu.contains("Demo Bank"), "{r}");
        let session = r["session_id"].as_str().unwrap().to_owned();
        let hop = |input: String| InboundRequest {
            from: me.into(),
            session_id: Some(session.clone()),
            text: Some(input),
            ..Default::default()
        };
        let r = phones.send("at-ussd", hop(number_of(&menu, "Join a queue"))).await;
        let r = phones.send("at-ussd", hop(number_of(&screen(&r), "Deposits"))).await;
        let r = phones.send("at-ussd", hop(number_of(&screen(&r), "No, thanks"))).await;
        assert!(screen(&r).contains("A001"), "{r}");
        assert_eq!(r["ended"], true, "the ticket screen ends the session: {r}");

        call_next(&app, &seed).await;
        // USSD cannot be pushed to: the call goes out by SMS on the tenant's SMS channel.
        phones.wait_for("twilio", me, "go to counter 1").await;
    }

    async fn hubtel_ussd_customer_joins(app) {
        app.seed_demo().await;
        let phones = app.phones().await;
        let me = "+233200000105";
        let r = phones.send("hubtel-ussd", InboundRequest { from: me.into(), dial: Some("*713*1#".into()), ..Default::default() }).await;
        let menu = screen(&r);
        assert!(menu.contains("Demo Bank"), "{r}");
        let session = r["session_id"].as_str().unwrap().to_owned();
        let hop = |input: String| InboundRequest {
            from: me.into(),
            session_id: Some(session.clone()),
            text: Some(input),
            ..Default::default()
        };
        let r = phones.send("hubtel-ussd", hop(number_of(&menu, "Join a queue"))).await;
        let r = phones.send("hubtel-ussd", hop(number_of(&screen(&r), "Cards"))).await;
        let r = phones.send("hubtel-ussd", hop(number_of(&screen(&r), "No, thanks"))).await;
        assert!(screen(&r).contains("C001"), "{r}");
    }

    async fn a_webhook_delivered_three_times_is_answered_once(app) {
        app.seed_demo().await;
        let phones = app.phones().await;
        let me = "+254712000106";
        phones.sim.set_faults(Faults { channel: "whatsapp".into(), duplicate: 3, ..Default::default() });
        let r = phones.send("whatsapp", text(me, "hi")).await;
        assert_eq!(r["deliveries"].as_array().unwrap().len(), 3, "{r}");
        phones.wait_for("whatsapp", me, "Demo Bank").await;
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(phones.texts("whatsapp", me).len(), 1, "{:?}", phones.texts("whatsapp", me));
    }

    async fn forged_or_missing_signatures_are_refused_and_store_nothing(app) {
        app.seed_demo().await;
        let phones = app.phones().await;
        let admin = app.login("admin@demo.test", DEMO_PASSWORD).await;
        let me = "+254712000107";
        for (channel, faults) in [
            ("whatsapp", Faults { forge_signature: true, ..Default::default() }),
            ("whatsapp", Faults { omit_signature: true, ..Default::default() }),
            ("twilio", Faults { forge_signature: true, ..Default::default() }),
            ("telegram", Faults { forge_signature: true, ..Default::default() }),
            ("telegram", Faults { omit_signature: true, ..Default::default() }),
        ] {
            let want = if faults.omit_signature { 401 } else { 403 };
            phones.sim.set_faults(Faults { channel: channel.into(), ..faults });
            let from = if channel == "telegram" { "555000107" } else { me };
            let r = phones.send(channel, text(from, "hi")).await;
            // The first delivery; WhatsApp and Telegram retry refused deliveries.
            let status = r["deliveries"][0]["status"].as_u64().unwrap();
            assert_eq!(status, want, "{channel}: {r}");
            phones.sim.clear_faults();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let sent = admin.get(&admin.t("/messages")).await;
        sent.expect(200, None);
        assert_eq!(sent.body.as_array().unwrap().len(), 0, "{}", sent.text);
        assert!(phones.sim.messages(None, None).iter().all(|m| m.error.is_some() || m.text.is_none()));
    }

    async fn a_429_from_the_provider_is_retried_and_delivered_once(app) {
        app.seed_demo().await;
        let phones = app.phones().await;
        let admin = app.login("admin@demo.test", DEMO_PASSWORD).await;
        let me = "+254712000108";
        phones.sim.set_faults(Faults {
            channel: "whatsapp".into(),
            fail_next: 1,
            fail_status: Some(429),
            retry_after: Some(1),
            ..Default::default()
        });
        phones.send("whatsapp", text(me, "hi")).await;
        phones.wait_for("whatsapp", me, "Demo Bank").await;
        let refused = phones.sim.messages(Some("whatsapp"), Some(me)).iter().filter(|m| m.error.is_some()).count();
        assert_eq!(refused, 1, "the first attempt met the 429");
        assert_eq!(phones.texts("whatsapp", me).len(), 1);
        let sent = admin.get(&admin.t("/messages")).await;
        let row = &sent.body.as_array().unwrap()[0];
        assert_eq!(row["attempts"], 2, "{row}");
        assert!(["sent", "delivered", "read"].contains(&row["status"].as_str().unwrap()), "{row}");
    }

    async fn a_restart_mid_flight_loses_no_message_and_sends_none_twice(app) {
        let mut app = app;
        let seed = app.seed_demo().await;
        let phones = app.phones().await;
        let me = "+254712000109";
        let issued = join_by_sms(&phones, "at-sms", me).await;
        assert!(issued.contains("A001"));
        // The provider is down when the agent calls: the notification waits in the outbox.
        phones.sim.set_faults(Faults { channel: "at-sms".into(), fail_next: 1000, fail_status: Some(503), ..Default::default() });
        call_next(&app, &seed).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while phones.sim.messages(Some("at-sms"), Some(me)).iter().all(|m| m.error.is_none()) {
            assert!(tokio::time::Instant::now() < deadline, "the send was never tried");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        app.restart().await;
        // The simulators deliver to the old port; point them at the new one.
        for (channel, id) in [("at-sms", "demo-at-sms"), ("twilio", "demo-twilio-sms"), ("whatsapp", "demo-whatsapp")] {
            phones.sim.set_webhook(channel, &format!("{}/hooks/{id}", app.base));
        }
        phones.sim.clear_faults();
        phones.wait_for("at-sms", me, "go to counter 1").await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let calls = phones.texts("at-sms", me).iter().filter(|t| t.contains("go to counter 1")).count();
        assert_eq!(calls, 1, "{:?}", phones.texts("at-sms", me));
    }

    async fn a_step_timeout_fires_once_within_a_second(app) {
        app.seed_demo().await;
        let phones = app.phones().await;
        let me = "+254712000110";
        phones.send("whatsapp", text(me, "join")).await;
        phones.wait_for("whatsapp", me, "Which service").await;
        // The service choice waits 2 minutes; let them pass.
        app.clock.advance(Duration::from_secs(121));
        let started = std::time::Instant::now();
        phones.wait_for("whatsapp", me, "Are you still there").await;
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
        tokio::time::sleep(Duration::from_millis(800)).await;
        let asked = phones.texts("whatsapp", me).iter().filter(|t| t.contains("still there")).count();
        assert_eq!(asked, 1);
        // The conversation goes on from there.
        phones.send("whatsapp", InboundRequest {
            from: me.into(),
            button_reply: Some(IdTitle { id: "yes".into(), title: "Yes".into() }),
            ..Default::default()
        }).await;
        let asked = |n: usize| phones.texts("whatsapp", me).iter().filter(|t| t.contains("Which service")).count() == n;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !asked(2) {
            assert!(tokio::time::Instant::now() < deadline, "{:?}", phones.texts("whatsapp", me));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn a_dropped_ussd_session_can_be_resumed_on_redial(app) {
        app.seed_demo().await;
        let phones = app.phones().await;
        let me = "+254712000111";
        let dial = || InboundRequest { from: me.into(), dial: Some("*384*1#".into()), ..Default::default() };
        let r = phones.send("at-ussd", dial()).await;
        let session = r["session_id"].as_str().unwrap().to_owned();
        // The network drops the session right after the service list is shown.
        phones.sim.set_faults(Faults { channel: "at-ussd".into(), drop_ussd: 1, ..Default::default() });
        let r = phones.send("at-ussd", InboundRequest {
            from: me.into(),
            session_id: Some(session),
            text: Some(number_of(&screen(&r), "Join a queue")),
            ..Default::default()
        }).await;
        assert_eq!(r["dropped"], true, "{r}");
        phones.sim.clear_faults();
        let r = phones.send("at-ussd", dial()).await;
        let offer = screen(&r);
        assert!(offer.contains("Continue where you left off?"), "{r}");
        let session = r["session_id"].as_str().unwrap().to_owned();
        let hop = |input: String| InboundRequest {
            from: me.into(),
            session_id: Some(session.clone()),
            text: Some(input),
            ..Default::default()
        };
        let r = phones.send("at-ussd", hop(number_of(&offer, "Continue"))).await;
        let services = screen(&r);
        assert!(services.contains("Deposits"), "back at the service list: {r}");
        let r = phones.send("at-ussd", hop(number_of(&services, "Loans"))).await;
        let r = phones.send("at-ussd", hop(number_of(&screen(&r), "No, thanks"))).await;
        assert!(screen(&r).contains("B001"), "{r}");
    }

    async fn position_updates_near_call_and_feedback_in_order(app) {
        let (app, seed) = with_quiet_hours(app, "off").await;
        let phones = app.phones().await;
        let kiosk = app.login("admin@demo.test", DEMO_PASSWORD).await;
        for _ in 0..5 {
            kiosk.create_ticket(seed.services[0].id).await.expect(201, None);
        }
        let me = "+254712000112";
        let issued = join_by_sms(&phones, "at-sms", me).await;
        assert!(issued.contains("A006") && issued.contains("5 people"), "{issued}");
        let agent: Session = app.login("agent1@demo.test", DEMO_PASSWORD).await;
        let call = || async {
            agent.call_next(seed.agents[0].1.id, seed.counters[0].id).await.expect(200, None);
        };
        call().await;
        phones.wait_for("at-sms", me, "4 people are ahead of you").await;
        call().await;
        call().await;
        phones.wait_for("at-sms", me, "your turn is near").await;
        call().await;
        call().await;
        call().await;
        let called = phones.wait_for("at-sms", me, "go to counter 1").await;
        assert!(called.text.unwrap().contains("A006"));
        // One position update, one "near", one call: thresholds are crossed once.
        let texts = phones.texts("at-sms", me);
        let count = |s: &str| texts.iter().filter(|t| t.contains(s)).count();
        assert_eq!((count("ahead of you"), count("turn is near"), count("go to counter")), (3, 1, 1), "{texts:#?}");
        // Served: the feedback flow asks for a rating on the same channel.
        let t = agent.tickets().await.into_iter().find(|t| t["number"] == "A006").unwrap();
        let id = t["id"].as_str().unwrap().to_owned();
        agent.act(&id, "start").await.expect(200, None);
        agent.act(&id, "close").await.expect(200, None);
        let ask = phones.wait_for("at-sms", me, "How was your visit").await.text.unwrap();
        phones.send("at-sms", text(me, &number_of(&ask, "Excellent"))).await;
        let offer = phones.wait_for("at-sms", me, "comment").await.text.unwrap();
        phones.send("at-sms", text(me, &number_of(&offer, "Yes"))).await;
        phones.wait_for("at-sms", me, "type your comment").await;
        phones.send("at-sms", text(me, "Quick and friendly")).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let admin = app.login("admin@demo.test", DEMO_PASSWORD).await;
        let rating = loop {
            let r = admin.get(&admin.t("/feedback")).await;
            r.expect(200, None);
            if let Some(f) = r.body.as_array().and_then(|a| a.first()).cloned() {
                break f;
            }
            assert!(tokio::time::Instant::now() < deadline, "no feedback stored");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!((rating["score"].as_i64(), rating["scale"].as_str()), (Some(5), Some("csat")));
        assert_eq!(rating["ticket"], "A006");
        assert_eq!(rating["comment"], "Quick and friendly");
    }

    async fn quiet_hours_hold_position_updates_until_morning(app) {
        // Quiet from an hour ago to an hour from now, site time (Africa/Nairobi, UTC+3).
        let local = chrono::Utc::now() + chrono::Duration::hours(3);
        let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%H:%M").to_string();
        let window = format!("{}-{}", fmt(local - chrono::Duration::hours(1)), fmt(local + chrono::Duration::hours(1)));
        let (app, seed) = with_quiet_hours(app, &window).await;
        let phones = app.phones().await;
        let kiosk = app.login("admin@demo.test", DEMO_PASSWORD).await;
        for _ in 0..6 {
            kiosk.create_ticket(seed.services[0].id).await.expect(201, None);
        }
        let me = "+254712000113";
        join_by_sms(&phones, "at-sms", me).await;
        call_next(&app, &seed).await; // 5 ahead: a position update, but not now
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(!phones.texts("at-sms", me).iter().any(|t| t.contains("5 people are ahead")), "{window}: {:#?}", phones.texts("at-sms", me));
        app.clock.advance(Duration::from_secs(2 * 3600));
        phones.wait_for("at-sms", me, "5 people are ahead of you").await;
    }

    async fn whatsapp_outside_24_hours_uses_its_template_or_sms(app) {
        let (app, seed) = with_quiet_hours(app, "off").await;
        let phones = app.phones().await;
        let me = "+254712000114";
        phones.send("whatsapp", text(me, "join")).await;
        phones.wait_for("whatsapp", me, "Which service").await;
        let deposits = seed.services[0].id.to_string();
        let tap = |id: &str, title: &str| InboundRequest {
            from: me.into(),
            button_reply: Some(IdTitle { id: id.into(), title: title.into() }),
            ..Default::default()
        };
        phones.send("whatsapp", tap(&deposits, "Deposits")).await;
        phones.wait_for("whatsapp", me, "your name").await;
        phones.send("whatsapp", tap("no", "No, thanks")).await;
        phones.wait_for("whatsapp", me, "A001").await;
        // A day later the window is closed: the call goes as the approved template (the
        // demo number has one for calls) with the ticket and counter as parameters…
        app.clock.advance(Duration::from_secs(25 * 3600));
        call_next(&app, &seed).await;
        let sent = phones.wait_for("whatsapp", me, "[template ticket_called]").await;
        let params = sent.body["template"]["components"][0]["parameters"].to_string();
        assert!(params.contains("A001") && params.contains("\"1\""), "{}", sent.body);
        // …and a recall, which has no template, goes by SMS.
        let agent = app.login("agent1@demo.test", DEMO_PASSWORD).await;
        let t = agent.tickets().await.into_iter().find(|t| t["number"] == "A001").unwrap();
        agent.act(t["id"].as_str().unwrap(), "recall").await.expect(200, None);
        phones.wait_for("twilio", me, "still waiting for you at counter 1").await;
        assert!(!phones.texts("whatsapp", me).iter().any(|t| t.contains("still waiting")));
    }

    async fn channels_api_checks_configs_and_hides_credentials(app) {
        app.seed_demo().await;
        let admin = app.login("admin@demo.test", DEMO_PASSWORD).await;
        let agent = app.login("agent1@demo.test", DEMO_PASSWORD).await;
        let good = serde_json::json!({
            "name": "Bot",
            "config": {"provider": "telegram", "bot_token": "123:secret-token", "secret_token": "s3cret-s3cret"}
        });
        agent.post(&agent.t("/channels"), &good).await.expect(403, Some("forbidden"));
        let bad = serde_json::json!({"name": "Bot", "config": {"provider": "telegram"}});
        admin.post(&admin.t("/channels"), &bad).await.expect(422, Some("invalid_channel_config"));
        let unnamed = serde_json::json!({"name": "  ", "config": good["config"]});
        admin.post(&admin.t("/channels"), &unnamed).await.expect(422, Some("invalid_channel_config"));
        let unknown = serde_json::json!({"name": "Bot", "config": {"provider": "pigeon"}});
        admin.post(&admin.t("/channels"), &unknown).await.expect(422, Some("invalid_channel_config"));
        assert_eq!(admin.get(&admin.t("/channels")).await.body.as_array().unwrap().len(), 0);
        let created = admin.post(&admin.t("/channels"), &good).await;
        created.expect(201, None);
        let id = created.str("id");
        assert!(id.starts_with("ch_") && id.len() > 20, "{id}");
        assert_eq!(created.str("webhook_path"), format!("/hooks/{id}"));
        let listed = admin.get(&admin.t("/channels")).await;
        assert!(!listed.text.contains("secret"), "{}", listed.text);
        admin
            .post(&admin.t("/channels"), &serde_json::json!({"id": id, "name": "Again", "config": good["config"]}))
            .await
            .expect(409, Some("conflict"));
        // The credentials are not in the database in clear, nor in the audit log.
        if app.backend == sq_tests::Backend::Sqlite {
            let db = std::fs::read(app.data_dir.path().join("smartqueue.db")).unwrap_or_default();
            let wal = std::fs::read(app.data_dir.path().join("smartqueue.db-wal")).unwrap_or_default();
            let hay = [db, wal].concat();
            assert!(!hay.windows(12).any(|w| w == b"secret-token"), "token in clear on disk");
        }
        // Unknown channels look like any unknown address.
        let r = app.post_json("/hooks/no-such-channel", None, &serde_json::json!({})).await;
        r.expect(404, Some("route_not_found"));
    }

    async fn a_kiosk_ticket_followed_on_whatsapp_is_called_there(app) {
        let seed = app.seed_demo().await;
        let phones = app.phones().await;
        let kiosk = app.login("admin@demo.test", DEMO_PASSWORD).await;
        let t = kiosk.create_ticket(seed.services[0].id).await;
        t.expect(201, None);
        let ticket: sq_domain::TicketId = t.id().parse().unwrap();
        let token = app.app.tracker_token(seed.tenant.id, ticket);
        // The kiosk's ticket page offers the WhatsApp link with the tracker token.
        let (_, key) = seed
            .devices
            .iter()
            .find(|(d, _)| d.kind == sq_store::DeviceKind::Kiosk)
            .unwrap();
        let page = app.client.get(app.url(&format!("/kiosk/{key}/ticket/{token}"))).send().await.unwrap();
        let html = page.text().await.unwrap();
        let start = html.find("https://wa.me/").expect("a WhatsApp link on the ticket");
        let link = &html[start..start + html[start..].find('"').unwrap()];
        let prefill = url_decode(&link.split_once("?text=").unwrap().1.replace("&amp;", "&"));
        assert_eq!(prefill, format!("TRACK {token}"));
        // The customer sends it; the call reaches the chat.
        let me = "+254712000115";
        phones.send("whatsapp", text(me, &prefill)).await;
        phones.wait_for("whatsapp", me, "news of ticket A001").await;
        call_next(&app, &seed).await;
        phones.wait_for("whatsapp", me, "Ticket A001: it is your turn. Please go to counter 1").await;
        // A made-up token follows nothing.
        phones.send("whatsapp", text(me, "TRACK not-a-token")).await;
        phones.wait_for("whatsapp", me, "doesn't look right").await;
    }
}

fn url_decode(s: &str) -> String {
    form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Restarts the app with quiet hours set (`off` or `HH:MM-HH:MM`) and seeds the demo.
async fn with_quiet_hours(app: TestApp, window: &str) -> (TestApp, sq_tests::sq_server::DemoSeed) {
    let mut app = app;
    app.config.quiet_hours = window.to_owned();
    app.restart().await;
    let seed = app.seed_demo().await;
    (app, seed)
}
