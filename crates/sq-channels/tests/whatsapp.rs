//! WhatsApp Cloud API adapter against the samples in providers/samples.

mod common;

use common::*;
use http::StatusCode;
use sq_channels::whatsapp::{WhatsApp, WhatsAppCredentials};
use sq_channels::*;
use sq_flow::ladder::{Button, ListRow};

const APP_SECRET: &str = "app-secret-123";

fn adapter() -> WhatsApp {
    WhatsApp::new(WhatsAppCredentials {
        phone_number_id: "106540352242922".into(),
        access_token: Secret::new("EAAG-access-token"),
        app_secret: Secret::new(APP_SECRET),
        verify_token: Secret::new("meatyhamhock"),
        graph_url: "https://graph.example.test".into(),
        api_version: "v25.0".into(),
    })
}

fn signed(body: &[u8]) -> http::Request<bytes::Bytes> {
    let sig = WhatsApp::signature(APP_SECRET, body);
    post(
        "/hooks/wa",
        &[
            ("x-hub-signature-256", sig.as_str()),
            ("content-type", "application/json"),
        ],
        body.to_vec(),
    )
}

fn only_message(name: &str) -> InboundEvent {
    let a = adapter();
    let req = signed(&sample_bytes(name));
    a.verify(&req, "https://example.com/hooks/wa").unwrap();
    let mut events = a.parse(&req).unwrap();
    assert_eq!(events.len(), 1, "{name}");
    match events.remove(0) {
        Inbound::Message(m) => m,
        other => panic!("{name}: {other:?}"),
    }
}

fn only_status(name: &str) -> StatusUpdate {
    let a = adapter();
    let req = signed(&sample_bytes(name));
    a.verify(&req, "").unwrap();
    let mut events = a.parse(&req).unwrap();
    assert_eq!(events.len(), 1, "{name}");
    match events.remove(0) {
        Inbound::Status(s) => s,
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn signature_vector_w1() {
    // samples/whatsapp-signature-vector.txt
    assert_eq!(
        WhatsApp::signature("secret", b"test"),
        "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914"
    );
    let a = WhatsApp::new(WhatsAppCredentials {
        app_secret: Secret::new("secret"),
        ..adapter_creds()
    });
    let req = post(
        "/",
        &[(
            "x-hub-signature-256",
            "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914",
        )],
        "test",
    );
    assert_eq!(a.verify(&req, ""), Ok(()));
}

fn adapter_creds() -> WhatsAppCredentials {
    WhatsAppCredentials {
        phone_number_id: "106540352242922".into(),
        access_token: Secret::new("EAAG-access-token"),
        app_secret: Secret::new(APP_SECRET),
        verify_token: Secret::new("meatyhamhock"),
        graph_url: "https://graph.example.test".into(),
        api_version: "v25.0".into(),
    }
}

const INBOUND_SAMPLES: &[&str] = &[
    "whatsapp-text.json",
    "whatsapp-button-reply.json",
    "whatsapp-list-reply.json",
    "whatsapp-template-quick-reply-button.json",
    "whatsapp-unsupported.json",
    "whatsapp-status-sent.json",
    "whatsapp-status-delivered.json",
    "whatsapp-status-read.json",
    "whatsapp-status-failed.json",
];

#[test]
fn every_sample_verifies_and_tampering_fails() {
    let a = adapter();
    for name in INBOUND_SAMPLES {
        let body = sample_bytes(name);
        assert_eq!(a.verify(&signed(&body), ""), Ok(()), "{name}");

        // One byte changed after signing.
        let sig = WhatsApp::signature(APP_SECRET, &body);
        let mut tampered = body.clone();
        let i = tampered.iter().position(|b| *b == b'1').unwrap();
        tampered[i] = b'2';
        let req = post("/", &[("x-hub-signature-256", sig.as_str())], tampered);
        assert_eq!(a.verify(&req, ""), Err(VerifyError::BadSignature), "{name}");

        // Signed with another secret.
        let wrong = WhatsApp::signature("not-the-secret", &body);
        let req = post(
            "/",
            &[("x-hub-signature-256", wrong.as_str())],
            body.clone(),
        );
        assert_eq!(a.verify(&req, ""), Err(VerifyError::BadSignature), "{name}");

        // Re-serialised JSON is not what was signed.
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let reser = serde_json::to_vec(&v).unwrap();
        let req = post("/", &[("x-hub-signature-256", sig.as_str())], reser);
        assert_eq!(a.verify(&req, ""), Err(VerifyError::BadSignature), "{name}");

        let req = post("/", &[], body.clone());
        let err = a.verify(&req, "").unwrap_err();
        assert_eq!(err.code(), "missing_signature");
        assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
    }
    let req = post("/", &[("x-hub-signature-256", "sha1=abc")], "x");
    assert_eq!(a.verify(&req, ""), Err(VerifyError::MalformedSignature));
    let req = post("/", &[("x-hub-signature-256", "sha256=abc")], "x");
    assert_eq!(a.verify(&req, ""), Err(VerifyError::MalformedSignature));
}

#[test]
fn escaped_unicode_body_is_verified_over_raw_bytes() {
    // What Meta sends: non-ASCII as \u escapes, signed as such.
    let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"1"},"messages":[{"from":"16505551234","id":"wamid.X","timestamp":"1749416383","type":"text","text":{"body":"\u00e4\u00f6\u00e5 https:\/\/x"}}]}}]}]}"#;
    let a = adapter();
    let req = signed(body);
    a.verify(&req, "").unwrap();
    let ev = a.parse(&req).unwrap();
    match &ev[0] {
        Inbound::Message(m) => assert_eq!(m.kind, InboundKind::Text("äöå https://x".into())),
        other => panic!("{other:?}"),
    }
}

#[test]
fn handshake_echoes_the_challenge_only_for_the_right_token() {
    // samples/whatsapp-verify-request.txt
    let raw = sample("whatsapp-verify-request.txt");
    let target = raw
        .lines()
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .to_owned();
    let a = adapter();
    let res = a.handshake(&get(&target)).unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.body(), b"1158201444");

    let bad = target.replace("meatyhamhock", "meatyhamhocK");
    assert_eq!(
        a.handshake(&get(&bad)).unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let bad = target.replace("subscribe", "unsubscribe");
    assert_eq!(
        a.handshake(&get(&bad)).unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let res = a
        .handshake(&get(
            "/webhooks/whatsapp?hub.mode=subscribe&hub.challenge=1",
        ))
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // Underscored names (what PHP would make of them) are not the protocol.
    let res = a
        .handshake(&get(
            "/w?hub_mode=subscribe&hub_challenge=1&hub_verify_token=meatyhamhock",
        ))
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(a.handshake(&post("/w", &[], "")).is_none());
}

#[test]
fn inbound_messages() {
    let m = only_message("whatsapp-text.json");
    assert_eq!(
        m.provider_message_id,
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
    );
    assert_eq!(m.from, phone("+16505551234"));
    assert_eq!(m.to, Some(phone("+15550783881")));
    assert_eq!(
        m.kind,
        InboundKind::Text("Does it come in another color?".into())
    );
    assert_eq!(m.timestamp.unwrap().timestamp(), 1_749_416_383);
    assert_eq!(m.profile_name.as_deref(), Some("Sheena Nelson"));

    let m = only_message("whatsapp-button-reply.json");
    assert_eq!(
        m.kind,
        InboundKind::ButtonReply {
            id: "change-button".into(),
            title: "Change".into()
        }
    );
    assert_eq!(m.profile_name.as_deref(), Some("Pablo Morales"));

    let m = only_message("whatsapp-list-reply.json");
    assert_eq!(
        m.kind,
        InboundKind::ListReply {
            id: "priority_express".into(),
            title: "Priority Mail Express".into()
        }
    );

    let m = only_message("whatsapp-template-quick-reply-button.json");
    assert_eq!(
        m.kind,
        InboundKind::TemplateButton {
            payload: "Unsubscribe".into(),
            text: "Unsubscribe".into()
        }
    );

    let m = only_message("whatsapp-unsupported.json");
    assert_eq!(
        m.kind,
        InboundKind::Unsupported {
            kind: "unsupported:edit".into()
        }
    );
}

#[test]
fn statuses() {
    let cases = [
        ("whatsapp-status-sent.json", DeliveryStatus::Sent, None),
        (
            "whatsapp-status-delivered.json",
            DeliveryStatus::Delivered,
            None,
        ),
        ("whatsapp-status-read.json", DeliveryStatus::Read, None),
        (
            "whatsapp-status-failed.json",
            DeliveryStatus::Failed,
            Some("131049"),
        ),
    ];
    for (name, status, code) in cases {
        let s = only_status(name);
        assert_eq!(s.status, status, "{name}");
        assert_eq!(s.error_code.as_deref(), code, "{name}");
        assert!(s.provider_message_id.starts_with("wamid."), "{name}");
        assert!(s.timestamp.is_some(), "{name}");
    }
    assert_eq!(
        only_status("whatsapp-status-delivered.json").recipient,
        Some(phone("+972987654321"))
    );
}

#[test]
fn batched_entries_are_all_read() {
    let mut v = json("whatsapp-text.json");
    let status = json("whatsapp-status-read.json")["entry"][0].clone();
    v["entry"].as_array_mut().unwrap().push(status);
    let body = serde_json::to_vec(&v).unwrap();
    let events = adapter().parse(&signed(&body)).unwrap();
    assert_eq!(events.len(), 2);
    assert!(matches!(events[0], Inbound::Message(_)));
    assert!(matches!(events[1], Inbound::Status(_)));
}

fn msg(body: OutboundBody) -> OutboundMessage {
    OutboundMessage::new(phone("+16505551234"), body, MessageKind::SessionReply)
}

#[test]
fn renders_text_like_the_sample() {
    let out = msg(OutboundBody::Text(
        "As requested, here's the link to our latest product: https://www.meta.com/quest/quest-3/"
            .into(),
    ));
    let req = adapter().render(&out).unwrap();
    assert_eq!(req.method(), http::Method::POST);
    assert_eq!(
        req.uri().to_string(),
        "https://graph.example.test/v25.0/106540352242922/messages"
    );
    assert_eq!(
        req.headers()["authorization"].to_str().unwrap(),
        "Bearer EAAG-access-token"
    );
    assert_eq!(req.headers()["content-type"], "application/json");
    assert_eq!(body_json(&req), json("whatsapp-send-text.request.json"));
}

#[test]
fn renders_buttons_like_the_sample() {
    let mut out = msg(OutboundBody::Buttons {
        body: "Hi Pablo! Your gardening workshop is scheduled for 9am tomorrow. Use the buttons if you need to reschedule. Thank you!".into(),
        buttons: vec![
            Button { id: "change-button".into(), title: "Change".into() },
            Button { id: "cancel-button".into(), title: "Cancel".into() },
        ],
    });
    out.header = Some(Header::Image {
        id: "2762702990552401".into(),
    });
    out.footer = Some("Lucky Shrub: Your gateway to succulents!™".into());
    let req = adapter().render(&out).unwrap();
    assert_eq!(body_json(&req), json("whatsapp-send-buttons.request.json"));
}

fn row(id: &str, title: &str, d: &str) -> ListRow {
    ListRow {
        id: id.into(),
        title: title.into(),
        description: Some(d.into()),
    }
}

#[test]
fn renders_list_like_the_sample() {
    let mut out = msg(OutboundBody::List {
        body: "Which shipping option do you prefer?".into(),
        button: "Shipping Options".into(),
        sections: vec![
            ListSection {
                title: Some("I want it ASAP!".into()),
                rows: vec![
                    row(
                        "priority_express",
                        "Priority Mail Express",
                        "Next Day to 2 Days",
                    ),
                    row("priority_mail", "Priority Mail", "1–3 Days"),
                ],
            },
            ListSection {
                title: Some("I can wait a bit".into()),
                rows: vec![
                    row("usps_ground_advantage", "USPS Ground Advantage", "2–5 Days"),
                    row("media_mail", "Media Mail", "2–8 Days"),
                ],
            },
        ],
    });
    out.header = Some(Header::Text("Choose Shipping Option".into()));
    out.footer = Some("Lucky Shrub: Your gateway to succulents™".into());
    let req = adapter().render(&out).unwrap();
    assert_eq!(body_json(&req), json("whatsapp-send-list.request.json"));
}

#[test]
fn renders_template_like_the_sample() {
    let out = OutboundMessage::new(
        phone("+16505551234"),
        OutboundBody::Template(Template {
            name: "appointment_reminder".into(),
            language: "en_US".into(),
            body_params: vec!["Pablo".into(), "9am tomorrow".into()],
            quick_reply_payloads: vec!["CONFIRM_A123".into()],
        }),
        MessageKind::Notification,
    );
    let req = adapter().render(&out).unwrap();
    assert_eq!(body_json(&req), json("whatsapp-send-template.request.json"));
}

#[test]
fn limits_are_enforced_not_truncated() {
    let a = adapter();
    let b = |t: &str| Button {
        id: t.into(),
        title: t.into(),
    };
    let four = msg(OutboundBody::Buttons {
        body: "x".into(),
        buttons: vec![b("a"), b("b"), b("c"), b("d")],
    });
    assert_eq!(a.render(&four).unwrap_err().code(), "over_limit");
    let long_title = msg(OutboundBody::Buttons {
        body: "x".into(),
        buttons: vec![b("123456789012345678901")],
    });
    assert_eq!(a.render(&long_title).unwrap_err().code(), "over_limit");
    let twenty = msg(OutboundBody::Buttons {
        body: "x".into(),
        buttons: vec![b("12345678901234567890")],
    });
    assert!(a.render(&twenty).is_ok());
    let dup = msg(OutboundBody::Buttons {
        body: "x".into(),
        buttons: vec![b("Same"), b("Same")],
    });
    assert_eq!(a.render(&dup).unwrap_err().code(), "duplicate_title");
    let rows = |n: usize| {
        (0..n)
            .map(|i| ListRow {
                id: format!("r{i}"),
                title: format!("Row {i}"),
                description: None,
            })
            .collect::<Vec<_>>()
    };
    let eleven = msg(OutboundBody::List {
        body: "x".into(),
        button: "Pick".into(),
        sections: vec![
            ListSection {
                title: Some("A".into()),
                rows: rows(6),
            },
            ListSection {
                title: Some("B".into()),
                rows: rows(5),
            },
        ],
    });
    assert_eq!(a.render(&eleven).unwrap_err().code(), "over_limit");
    let ten = msg(OutboundBody::List {
        body: "x".into(),
        button: "Pick".into(),
        sections: vec![ListSection {
            title: None,
            rows: rows(10),
        }],
    });
    assert!(a.render(&ten).is_ok());
    // Characters, not bytes: 24 Arabic letters fit a row title.
    let arabic = msg(OutboundBody::List {
        body: "x".into(),
        button: "Pick".into(),
        sections: vec![ListSection {
            title: None,
            rows: vec![ListRow {
                id: "a".into(),
                title: "ب".repeat(24),
                description: None,
            }],
        }],
    });
    assert!(a.render(&arabic).is_ok());
    let text = msg(OutboundBody::Text("a".repeat(4097)));
    assert_eq!(a.render(&text).unwrap_err().code(), "over_limit");
    let tg = OutboundMessage::text(Address::TelegramChat(1), "hi");
    assert_eq!(a.render(&tg).unwrap_err().code(), "bad_address");
}

#[test]
fn ladder_pages_render() {
    use sq_domain::Channel;
    use sq_flow::ladder::{Choice, LadderOptions, render};
    let opts = LadderOptions::default();
    for n in [2usize, 6, 14] {
        let choices: Vec<Choice> = (0..n)
            .map(|i| Choice::new(format!("k{i}"), format!("Choice {i}")))
            .collect();
        let page = render(Channel::Whatsapp, "Pick one", &choices, 0, &opts).unwrap();
        let body = OutboundBody::from_page(&page).unwrap();
        adapter().render(&msg(body)).unwrap();
    }
}

#[test]
fn send_responses_are_classified() {
    let a = adapter();
    let ok = a
        .parse_send_response(StatusCode::OK, &sample_bytes("whatsapp-send-response.json"))
        .unwrap();
    assert_eq!(
        ok.provider_message_id,
        "wamid.HBgLMTY0NjcwNDM1OTUVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA"
    );
    let throttled = sample_bytes("whatsapp-error-throughput.response.json");
    for status in [StatusCode::BAD_REQUEST, StatusCode::TOO_MANY_REQUESTS] {
        let e = a.parse_send_response(status, &throttled).unwrap_err();
        assert!(e.is_retryable(), "{e:?}");
        assert!(matches!(e, SendError::Retryable { ref code, .. } if code == "130429"));
    }
    let e = a
        .parse_send_response(StatusCode::INTERNAL_SERVER_ERROR, b"<html>oops</html>")
        .unwrap_err();
    assert!(e.is_retryable());
    let bad_param = br#"{"error":{"message":"(#100) Invalid parameter","type":"OAuthException","code":100,"error_data":{"details":"Button title length invalid"}}}"#;
    let e = a
        .parse_send_response(StatusCode::BAD_REQUEST, bad_param)
        .unwrap_err();
    assert_eq!(
        e,
        SendError::Permanent {
            code: "100".into(),
            detail: "Button title length invalid".into()
        }
    );
    let auth =
        br#"{"error":{"message":"Invalid OAuth access token","type":"OAuthException","code":190}}"#;
    assert!(
        !a.parse_send_response(StatusCode::UNAUTHORIZED, auth)
            .unwrap_err()
            .is_retryable()
    );
}

#[test]
fn debug_never_shows_secrets() {
    let a = adapter();
    let dbg = format!("{a:?} {:?}", adapter_creds());
    for secret in [APP_SECRET, "EAAG-access-token", "meatyhamhock"] {
        assert!(!dbg.contains(secret), "{dbg}");
    }
    assert!(dbg.contains("Secret(***)"));
}

#[test]
fn mark_read_with_typing_indicator() {
    let out = msg(OutboundBody::MarkRead {
        message_id: "wamid.ABC".into(),
    });
    let req = adapter().render(&out).unwrap();
    assert_eq!(
        body_json(&req),
        serde_json::json!({"messaging_product":"whatsapp","status":"read","message_id":"wamid.ABC","typing_indicator":{"type":"text"}})
    );
    let ok = adapter()
        .parse_send_response(StatusCode::OK, br#"{"success":true}"#)
        .unwrap();
    assert_eq!(ok.provider_message_id, "");
}

#[test]
fn events_and_messages_round_trip_through_json() {
    // The outbox stores messages and the pipeline stores events as JSON.
    let m = only_message("whatsapp-list-reply.json");
    let v = serde_json::to_value(&m).unwrap();
    let back: InboundEvent = serde_json::from_value(v).unwrap();
    assert_eq!(back, m);
    let mut out = msg(OutboundBody::Template(Template {
        name: "t".into(),
        language: "en".into(),
        body_params: vec!["x".into()],
        quick_reply_payloads: vec![],
    }));
    out.header = Some(Header::Text("h".into()));
    let s = serde_json::to_string(&out).unwrap();
    assert_eq!(serde_json::from_str::<OutboundMessage>(&s).unwrap(), out);
}

#[test]
fn service_window() {
    use chrono::{TimeDelta, TimeZone, Utc};
    use sq_channels::whatsapp::within_service_window;
    let t = Utc.timestamp_opt(1_749_416_383, 0).unwrap();
    assert!(!within_service_window(None, t));
    assert!(within_service_window(Some(t), t));
    assert!(within_service_window(Some(t), t + TimeDelta::hours(23)));
    assert!(!within_service_window(
        Some(t),
        t + TimeDelta::minutes(23 * 60 + 50)
    ));
    assert!(!within_service_window(Some(t), t + TimeDelta::hours(25)));
}
