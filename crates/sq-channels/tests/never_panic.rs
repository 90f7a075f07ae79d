//! Whatever arrives at a webhook, adapters answer with a value or an error, never a panic.

use bytes::Bytes;
use proptest::prelude::*;
use sq_channels::africastalking::{
    AfricasTalkingCredentials, AfricasTalkingSms, AfricasTalkingUssd,
};
use sq_channels::hubtel::HubtelUssd;
use sq_channels::telegram::{Telegram, TelegramCredentials};
use sq_channels::twilio::{Twilio, TwilioChannel, TwilioCredentials};
use sq_channels::whatsapp::{WhatsApp, WhatsAppCredentials};
use sq_channels::*;

fn adapters() -> Vec<Box<dyn Adapter>> {
    vec![
        Box::new(WhatsApp::new(WhatsAppCredentials {
            phone_number_id: "1".into(),
            access_token: Secret::new("a"),
            app_secret: Secret::new("b"),
            verify_token: Secret::new("c"),
            graph_url: "http://x".into(),
            api_version: "v25.0".into(),
        })),
        Box::new(Twilio::new(TwilioCredentials {
            account_sid: "AC".into(),
            auth_token: Secret::new("t"),
            from: "+15005550006".into(),
            status_callback: None,
            api_url: "http://x".into(),
            channel: TwilioChannel::Sms,
        })),
        Box::new(AfricasTalkingSms::new(AfricasTalkingCredentials {
            username: "u".into(),
            api_key: Secret::new("k"),
            from: None,
            api_url: "http://x".into(),
        })),
        Box::new(AfricasTalkingUssd::new()),
        Box::new(HubtelUssd::new()),
        Box::new(Telegram::new(TelegramCredentials {
            bot_token: Secret::new("t"),
            secret_token: Secret::new("s"),
            api_url: "http://x".into(),
        })),
    ]
}

fn req(body: Vec<u8>, sig: &str, query: &str) -> http::Request<Bytes> {
    let mut b = http::Request::builder()
        .method("POST")
        .uri(format!("/h?{query}"));
    if let Ok(v) = http::HeaderValue::from_str(sig) {
        for name in [
            "x-hub-signature-256",
            "x-twilio-signature",
            "x-telegram-bot-api-secret-token",
        ] {
            b = b.header(name, v.clone());
        }
    }
    b.body(Bytes::from(body)).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn arbitrary_bytes(body in proptest::collection::vec(any::<u8>(), 0..300), sig in "[ -~]{0,80}") {
        for a in adapters() {
            let r = req(body.clone(), &sig, "");
            let _ = a.verify(&r, "https://example.com:8443/h?x=1");
            let _ = a.verify(&r, "not a url");
            let _ = a.parse(&r);
            let _ = a.handshake(&r);
            let _ = a.parse_send_response(http::StatusCode::OK, &body);
            let _ = a.parse_send_response(http::StatusCode::TOO_MANY_REQUESTS, &body);
        }
    }

    #[test]
    fn form_like_bodies(pairs in proptest::collection::vec(("[A-Za-z]{1,12}", "[ -~]{0,20}"), 0..12)) {
        let mut f = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &pairs {
            f.append_pair(k, v);
        }
        let body = f.finish().into_bytes();
        for a in adapters() {
            let _ = a.parse(&req(body.clone(), "x", "hub.mode=subscribe&hub.challenge=1"));
        }
    }

    #[test]
    fn json_like_bodies(n in any::<i64>(), s in "\\PC{0,30}") {
        let bodies = [
            format!(r#"{{"update_id":{n},"message":{{"chat":{{"id":{n}}},"date":{n},"text":{s:?}}}}}"#),
            format!(r#"{{"Type":{s:?},"Mobile":{s:?},"SessionId":"x","Sequence":1}}"#),
            format!(r#"{{"entry":[{{"changes":[{{"value":{{"messages":[{{"from":{s:?},"id":"i","type":{s:?},"timestamp":"{n}"}}]}}}}]}}]}}"#),
            format!(r#"{{"ok":false,"error_code":{n},"parameters":{{"retry_after":{}}}}}"#, n.unsigned_abs()),
        ];
        for body in bodies {
            for a in adapters() {
                let _ = a.parse(&req(body.clone().into_bytes(), "", ""));
                let _ = a.parse_send_response(http::StatusCode::BAD_REQUEST, body.as_bytes());
            }
        }
    }
}
