//! Telegram adapter against the samples.

mod common;

use std::time::Duration;

use common::*;
use http::StatusCode;
use sq_channels::telegram::{Telegram, TelegramCredentials};
use sq_channels::*;

fn secret_from_sample() -> String {
    sample("telegram-webhook-request.txt")
        .lines()
        .find_map(|l| l.strip_prefix("X-Telegram-Bot-Api-Secret-Token: "))
        .unwrap()
        .trim()
        .to_owned()
}

fn adapter() -> Telegram {
    Telegram::new(TelegramCredentials {
        bot_token: Secret::new("123456:ABC-bot-token"),
        secret_token: Secret::new(secret_from_sample()),
        api_url: "http://127.0.0.1:9/telegram".into(),
    })
}

fn update(name: &str, secret: Option<&str>) -> http::Request<bytes::Bytes> {
    let mut h = vec![("content-type", "application/json")];
    if let Some(s) = secret {
        h.push(("x-telegram-bot-api-secret-token", s));
    }
    post("/hooks/tg", &h, sample(name))
}

#[test]
fn secret_token_header() {
    let a = adapter();
    let secret = secret_from_sample();
    for name in ["telegram-message.json", "telegram-callback-query.json"] {
        assert_eq!(a.verify(&update(name, Some(&secret)), ""), Ok(()));
        assert_eq!(
            a.verify(&update(name, Some("Zx9_kQ2-vN7pL4mR8tY1wE6uI3oA5sD1")), ""),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            a.verify(&update(name, Some("")), ""),
            Err(VerifyError::BadSignature)
        );
        let e = a.verify(&update(name, None), "").unwrap_err();
        assert_eq!(e.status(), StatusCode::UNAUTHORIZED);
    }
}

#[test]
fn message_and_callback_query() {
    let a = adapter();
    let ev = a.parse(&update("telegram-message.json", None)).unwrap();
    let [Inbound::Message(m)] = ev.as_slice() else {
        panic!("{ev:?}")
    };
    assert_eq!(m.provider_message_id, "892252934");
    assert_eq!(m.from, Address::TelegramChat(218485655));
    assert_eq!(m.kind, InboundKind::Text("/start".into()));
    assert_eq!(m.profile_name.as_deref(), Some("Amina"));
    assert_eq!(m.language.as_deref(), Some("en"));
    assert_eq!(m.timestamp.unwrap().timestamp(), 1_769_000_000);

    let ev = a
        .parse(&update("telegram-callback-query.json", None))
        .unwrap();
    let [Inbound::Message(m)] = ev.as_slice() else {
        panic!("{ev:?}")
    };
    assert_eq!(m.provider_message_id, "892252935");
    assert_eq!(m.from, Address::TelegramChat(218485655));
    assert_eq!(
        m.kind,
        InboundKind::Callback {
            query_id: "938475601234567890".into(),
            data: "q:join:svc1".into()
        }
    );

    // Other update kinds are acknowledged and dropped; supergroup ids exceed i32.
    let edited = r#"{"update_id":1,"edited_message":{"message_id":1,"chat":{"id":1,"type":"private"},"date":1,"text":"x"}}"#;
    assert!(a.parse(&post("/", &[], edited)).unwrap().is_empty());
    let group = r#"{"update_id":2,"message":{"message_id":1,"chat":{"id":-1001234567890,"type":"supergroup"},"date":1,"text":"hi"}}"#;
    let ev = a.parse(&post("/", &[], group)).unwrap();
    let [Inbound::Message(m)] = ev.as_slice() else {
        panic!()
    };
    assert_eq!(m.from, Address::TelegramChat(-1001234567890));
    assert!(a.parse(&post("/", &[], "not json")).is_err());
}

#[test]
fn send_message_with_inline_keyboard_matches_the_sample() {
    let out = OutboundMessage::new(
        Address::TelegramChat(218485655),
        OutboundBody::Keyboard {
            text: "Choose a service:".into(),
            inline_keyboard: vec![
                vec![
                    KeyboardButton::callback("Join queue", "q:join:svc1"),
                    KeyboardButton::callback("Book", "q:book:svc1"),
                ],
                vec![KeyboardButton::url(
                    "Opening hours",
                    "https://example.com/hours",
                )],
            ],
        },
        MessageKind::SessionReply,
    );
    let req = adapter().render(&out).unwrap();
    assert_eq!(
        req.uri().to_string(),
        "http://127.0.0.1:9/telegram/bot123456:ABC-bot-token/sendMessage"
    );
    assert_eq!(req.headers()["content-type"], "application/json");
    assert_eq!(
        body_json(&req),
        json("telegram-send-message-inline-keyboard.request.json")
    );
}

#[test]
fn answer_callback_query_matches_the_sample() {
    let out = OutboundMessage::new(
        Address::TelegramChat(218485655),
        OutboundBody::AnswerCallback {
            query_id: "938475601234567890".into(),
            text: Some("You joined the queue: ticket A123".into()),
            show_alert: false,
        },
        MessageKind::SessionReply,
    );
    let req = adapter().render(&out).unwrap();
    assert!(req.uri().path().ends_with("/answerCallbackQuery"));
    assert_eq!(
        body_json(&req),
        json("telegram-answer-callback-query.request.json")
    );
}

#[test]
fn limits_and_ladder() {
    let a = adapter();
    let long_data = OutboundMessage::new(
        Address::TelegramChat(1),
        OutboundBody::Keyboard {
            text: "x".into(),
            inline_keyboard: vec![vec![KeyboardButton::callback("x", &"é".repeat(33))]],
        },
        MessageKind::SessionReply,
    );
    assert_eq!(a.render(&long_data).unwrap_err().code(), "over_limit");
    let text = OutboundMessage::text(Address::TelegramChat(1), "a".repeat(4097));
    assert_eq!(a.render(&text).unwrap_err().code(), "over_limit");
    let wrong = OutboundMessage::text(phone("+254711000111"), "hi");
    assert_eq!(a.render(&wrong).unwrap_err().code(), "bad_address");

    use sq_domain::Channel;
    use sq_flow::ladder::{Choice, LadderOptions, render};
    let choices: Vec<Choice> = (0..5)
        .map(|i| Choice::new(format!("k{i}"), format!("Choice {i}")))
        .collect();
    let page = render(
        Channel::Telegram,
        "Pick one",
        &choices,
        0,
        &LadderOptions::default(),
    )
    .unwrap();
    let body = OutboundBody::from_page(&page).unwrap();
    let req = a
        .render(&OutboundMessage::new(
            Address::TelegramChat(1),
            body,
            MessageKind::SessionReply,
        ))
        .unwrap();
    assert!(body_json(&req)["reply_markup"]["inline_keyboard"].is_array());
}

#[test]
fn api_responses_are_classified() {
    let a = adapter();
    let ok = a
        .parse_send_response(
            StatusCode::OK,
            &sample_bytes("telegram-api-response-ok.json"),
        )
        .unwrap();
    assert_eq!(ok.provider_message_id, "6558");
    let ok = a
        .parse_send_response(StatusCode::OK, br#"{"ok":true,"result":true}"#)
        .unwrap();
    assert_eq!(ok.provider_message_id, "");

    let raw = sample("telegram-api-response-errors.txt");
    let cases: Vec<(u16, &str)> = raw
        .lines()
        .filter_map(|l| l.strip_prefix("HTTP "))
        .map(|l| {
            let (code, body) = l.split_once(' ').unwrap();
            (code.parse().unwrap(), body.trim())
        })
        .collect();
    assert_eq!(cases.len(), 5);
    for (code, body) in cases {
        let status = StatusCode::from_u16(code).unwrap();
        let e = a.parse_send_response(status, body.as_bytes()).unwrap_err();
        match code {
            429 => assert_eq!(
                e,
                SendError::Retryable {
                    retry_after: Some(Duration::from_secs(35)),
                    code: "429".into(),
                    detail: "Too Many Requests: retry after 35".into()
                }
            ),
            403 => assert_eq!(
                e,
                SendError::Permanent {
                    code: "403".into(),
                    detail: "Forbidden: bot was blocked by the user".into()
                }
            ),
            _ => assert!(!e.is_retryable(), "{code}: {e:?}"),
        }
        if body.contains("migrate_to_chat_id") {
            assert!(
                matches!(&e, SendError::Permanent { code, detail } if code == "migrate_to_chat_id" && detail.contains("-1001234567890"))
            );
        }
    }
    let e = a
        .parse_send_response(
            StatusCode::BAD_GATEWAY,
            br#"{"ok":false,"error_code":502,"description":"Bad Gateway"}"#,
        )
        .unwrap_err();
    assert!(e.is_retryable());
    let e = a
        .parse_send_response(StatusCode::BAD_GATEWAY, b"<html>")
        .unwrap_err();
    assert!(e.is_retryable());
}

#[test]
fn debug_never_shows_secrets() {
    let dbg = format!("{:?}", adapter());
    assert!(!dbg.contains("ABC-bot-token"), "{dbg}");
    assert!(!dbg.contains(&secret_from_sample()), "{dbg}");
}

#[test]
fn reply_keyboard_matches_the_sample() {
    let out = OutboundMessage::new(
        Address::TelegramChat(218485655),
        OutboundBody::ReplyKeyboard {
            text: "Share your phone number to receive SMS updates, or skip.".into(),
            keyboard: vec![
                vec![ReplyButton {
                    text: "Share phone".into(),
                    request_contact: true,
                }],
                vec![ReplyButton {
                    text: "Skip".into(),
                    request_contact: false,
                }],
            ],
            one_time: true,
            placeholder: Some("Choose an option".into()),
        },
        MessageKind::SessionReply,
    );
    let req = adapter().render(&out).unwrap();
    assert_eq!(
        body_json(&req),
        json("telegram-send-message-reply-keyboard.request.json")
    );
}

#[test]
fn set_webhook_matches_the_sample() {
    let req = adapter()
        .set_webhook_request("https://example.com/telegram/webhook", false)
        .unwrap();
    assert!(req.uri().path().ends_with("/setWebhook"));
    assert_eq!(body_json(&req), json("telegram-set-webhook.request.json"));
}
