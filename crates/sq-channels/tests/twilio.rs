//! Twilio adapter: every signature vector of providers §2.3 and the Twilio samples.

mod common;

use common::*;
use http::StatusCode;
use sq_channels::twilio::{Twilio, TwilioChannel, TwilioCredentials, twiml_reply};
use sq_channels::*;

const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn vector_a() -> Vec<(String, String)> {
    pairs(&[
        ("CallSid", "CA1234567890ABCDE"),
        ("Digits", "1234"),
        ("From", "+14158675309"),
        ("To", "+18005551212"),
        ("Caller", "+14158675309"),
    ])
}

fn creds(token: &str, channel: TwilioChannel) -> TwilioCredentials {
    TwilioCredentials {
        account_sid: "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX".into(),
        auth_token: Secret::new(token),
        from: "+15005550006".into(),
        status_callback: Some("https://example.com/twilio/status".into()),
        api_url: "https://api.twilio.com".into(),
        channel,
    }
}

fn adapter(token: &str) -> Twilio {
    Twilio::new(creds(token, TwilioChannel::Sms))
}

fn form(params: &[(String, String)]) -> String {
    let mut f = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        f.append_pair(k, v);
    }
    f.finish()
}

fn signed_post(sig: &str, body: impl Into<bytes::Bytes>) -> http::Request<bytes::Bytes> {
    post(
        "/hooks/tw",
        &[
            ("x-twilio-signature", sig),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        body,
    )
}

#[test]
fn official_vector_a_and_port_variants() {
    let p = vector_a();
    assert_eq!(
        Twilio::signature("12345", URL, &p),
        "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    );
    let cases = [
        (
            "https://mycompany.com:443/myapp.php?foo=1&bar=2",
            "kvajT1Ptam85bY51eRf/AJRuM3w=",
        ),
        (
            "http://mycompany.com/myapp.php?foo=1&bar=2",
            "OyGYPqTF6ztdbRNCvuQO/oPvqQ4=",
        ),
        (
            "http://mycompany.com:80/myapp.php?foo=1&bar=2",
            "0ZXoZLH/DfblKGATFgpif+LLRf4=",
        ),
        (
            "http://mycompany.com:1234/myapp.php?foo=1&bar=2",
            "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=",
        ),
    ];
    for (url, sig) in cases {
        assert_eq!(Twilio::signature("12345", url, &p), sig, "{url}");
    }
    let a = adapter("12345");
    let body = form(&p);
    // As given.
    assert_eq!(
        a.verify(
            &signed_post("RSOYDt4T1cUTdK1PDd93/VVr8B8=", body.clone()),
            URL
        ),
        Ok(())
    );
    // Twilio signed with :443, we know the URL without the port (and vice versa).
    assert_eq!(
        a.verify(
            &signed_post("kvajT1Ptam85bY51eRf/AJRuM3w=", body.clone()),
            URL
        ),
        Ok(())
    );
    assert_eq!(
        a.verify(
            &signed_post("RSOYDt4T1cUTdK1PDd93/VVr8B8=", body.clone()),
            "https://mycompany.com:443/myapp.php?foo=1&bar=2"
        ),
        Ok(())
    );
    // Port stripped: validate(https://mycompany.com:1234/…, A, RSOY…) is true.
    assert_eq!(
        a.verify(
            &signed_post("RSOYDt4T1cUTdK1PDd93/VVr8B8=", body.clone()),
            "https://mycompany.com:1234/myapp.php?foo=1&bar=2"
        ),
        Ok(())
    );
    assert_eq!(
        a.verify(
            &signed_post("0ZXoZLH/DfblKGATFgpif+LLRf4=", body.clone()),
            "http://mycompany.com/myapp.php?foo=1&bar=2"
        ),
        Ok(())
    );
    // http vs https is not a variant.
    assert_eq!(
        a.verify(
            &signed_post("OyGYPqTF6ztdbRNCvuQO/oPvqQ4=", body.clone()),
            URL
        ),
        Err(VerifyError::BadSignature)
    );
    // A different query string is a different URL.
    assert_eq!(
        a.verify(
            &signed_post("RSOYDt4T1cUTdK1PDd93/VVr8B8=", body.clone()),
            "https://mycompany.com/myapp.php?foo=1"
        ),
        Err(VerifyError::BadSignature)
    );
}

#[test]
fn sort_is_byte_wise_not_case_insensitive() {
    // CallSid < Caller only when sorting by bytes.
    let mut p = vector_a();
    p.reverse();
    assert_eq!(
        Twilio::signature("12345", URL, &p),
        "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    );
}

#[test]
fn official_vector_a_dup() {
    let p = pairs(&[
        ("Sid", "CA123"),
        ("SidAccount", "AC123"),
        ("Digits", "5678"),
        ("Digits", "1234"),
        ("Digits", "1234"),
    ]);
    assert_eq!(
        Twilio::signature("12345", URL, &p),
        "IK+Dwps556ElfBT0I3Rgjkr1wJU="
    );
    let a = adapter("12345");
    assert_eq!(
        a.verify(&signed_post("IK+Dwps556ElfBT0I3Rgjkr1wJU=", form(&p)), URL),
        Ok(())
    );
}

#[test]
fn official_vector_a_json() {
    let body = r#"{"property": "value", "boolean": true}"#;
    let url = "https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
    assert_eq!(
        Twilio::signature("12345", url, &[]),
        "a9nBmqA0ju/hNViExpshrM61xv4="
    );
    let a = adapter("12345");
    let req = |b: &str| {
        post(
            "/",
            &[
                ("x-twilio-signature", "a9nBmqA0ju/hNViExpshrM61xv4="),
                ("content-type", "application/json"),
            ],
            b.to_owned(),
        )
    };
    assert_eq!(a.verify(&req(body), url), Ok(()));
    assert_eq!(
        a.verify(&req(r#"{"property": "value", "boolean": false}"#), url),
        Err(VerifyError::BodyHashMismatch)
    );
}

const FORMS: &[&str] = &[
    "twilio-sms-inbound.form",
    "twilio-sms-inbound-stop.form",
    "twilio-whatsapp-inbound.form",
    "twilio-status-delivered.form",
    "twilio-status-undelivered.form",
];

#[test]
fn every_sample_form_verifies_with_blanks_and_tampering_fails() {
    let public = "https://example.com/hooks/demo-twilio-sms";
    let a = adapter("auth-token-xyz");
    for name in FORMS {
        let raw = sample(name);
        let body = raw.trim_end().to_owned();
        let params: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        let sig = Twilio::signature("auth-token-xyz", public, &params);
        assert_eq!(
            a.verify(&signed_post(&sig, body.clone()), public),
            Ok(()),
            "{name}"
        );

        // Dropping the blank values (a classic bug) gives another signature.
        if params.iter().any(|(_, v)| v.is_empty()) {
            let no_blanks: Vec<_> = params
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .cloned()
                .collect();
            assert_ne!(
                Twilio::signature("auth-token-xyz", public, &no_blanks),
                sig,
                "{name}"
            );
        }
        // An extra parameter Twilio did not sign.
        let tampered = format!("{body}&Injected=1");
        assert_eq!(
            a.verify(&signed_post(&sig, tampered), public),
            Err(VerifyError::BadSignature),
            "{name}"
        );
        // A changed value.
        let tampered = body.replacen("SM", "SN", 1);
        assert_eq!(
            a.verify(&signed_post(&sig, tampered), public),
            Err(VerifyError::BadSignature),
            "{name}"
        );
        let wrong = adapter("another-token");
        assert_eq!(
            wrong.verify(&signed_post(&sig, body.clone()), public),
            Err(VerifyError::BadSignature)
        );
        let missing = post("/", &[], body.clone());
        assert_eq!(
            a.verify(&missing, public).unwrap_err().status(),
            StatusCode::UNAUTHORIZED
        );
    }
}

fn parse_one(name: &str) -> Inbound {
    let body = sample(name).trim_end().to_owned();
    let mut v = adapter("t").parse(&post("/", &[], body)).unwrap();
    assert_eq!(v.len(), 1, "{name}");
    v.remove(0)
}

#[test]
fn inbound_samples() {
    let Inbound::Message(m) = parse_one("twilio-sms-inbound.form") else {
        panic!()
    };
    assert_eq!(m.provider_message_id, "SMXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX");
    assert_eq!(m.from, phone("+14155550100"));
    assert_eq!(m.to, Some(phone("+15005550006")));
    assert_eq!(m.kind, InboundKind::Text("Hello from the queue 👋".into()));
    assert_eq!(m.consent, None);

    let Inbound::Message(m) = parse_one("twilio-sms-inbound-stop.form") else {
        panic!()
    };
    assert_eq!(m.kind, InboundKind::Text("STOP".into()));
    assert_eq!(m.consent, Some(ConsentChange::OptOut));

    let Inbound::Message(m) = parse_one("twilio-whatsapp-inbound.form") else {
        panic!()
    };
    assert_eq!(m.from, phone("+14155550100"));
    assert_eq!(m.to, Some(phone("+14155238886")));
    assert_eq!(m.kind, InboundKind::Text("Book for Tuesday".into()));
    assert_eq!(m.profile_name.as_deref(), Some("Jane"));
}

#[test]
fn start_and_quick_reply() {
    let a = adapter("t");
    let ev = a
        .parse(&post(
            "/",
            &[],
            "MessageSid=SM1&From=%2B14155550100&To=%2B15005550006&Body=start",
        ))
        .unwrap();
    let Inbound::Message(m) = &ev[0] else {
        panic!()
    };
    assert_eq!(m.consent, Some(ConsentChange::OptIn));
    let ev = a
        .parse(&post(
            "/",
            &[],
            "MessageSid=SM2&From=%2B14155550100&Body=STOP+PLEASE",
        ))
        .unwrap();
    let Inbound::Message(m) = &ev[0] else {
        panic!()
    };
    assert_eq!(m.consent, None);
    let ev = a
        .parse(&post(
            "/",
            &[],
            "MessageSid=SM3&From=whatsapp%3A%2B14155550100&Body=Confirm&ButtonText=Confirm&ButtonPayload=CONFIRM_A123",
        ))
        .unwrap();
    let Inbound::Message(m) = &ev[0] else {
        panic!()
    };
    assert_eq!(
        m.kind,
        InboundKind::TemplateButton {
            payload: "CONFIRM_A123".into(),
            text: "Confirm".into()
        }
    );
    assert!(a.parse(&post("/", &[], "From=%2B1")).is_err());
}

#[test]
fn status_samples() {
    let Inbound::Status(s) = parse_one("twilio-status-delivered.form") else {
        panic!()
    };
    assert_eq!(s.status, DeliveryStatus::Delivered);
    assert_eq!(s.provider_message_id, "SMXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX");
    assert_eq!(s.error_code, None);
    let Inbound::Status(s) = parse_one("twilio-status-undelivered.form") else {
        panic!()
    };
    assert_eq!(s.status, DeliveryStatus::Failed);
    assert_eq!(s.error_code.as_deref(), Some("30003"));
    assert_eq!(s.recipient, Some(phone("+14155550100")));
}

#[test]
fn renders_the_sample_request_byte_for_byte() {
    let raw = sample("twilio-send-sms.request.txt");
    let expected_body = raw.lines().rfind(|l| !l.trim().is_empty()).unwrap();
    let out = OutboundMessage::text(phone("+14155550100"), "Your appointment is confirmed");
    let req = adapter("tok").render(&out).unwrap();
    assert_eq!(std::str::from_utf8(req.body()).unwrap(), expected_body);
    assert_eq!(
        req.uri().to_string(),
        "https://api.twilio.com/2010-04-01/Accounts/ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX/Messages.json"
    );
    let first = raw.lines().next().unwrap();
    assert!(first.contains(req.uri().path()));
    use base64::Engine;
    let basic =
        base64::engine::general_purpose::STANDARD.encode("ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:tok");
    assert_eq!(
        req.headers()["authorization"].to_str().unwrap(),
        format!("Basic {basic}")
    );
    assert_eq!(
        req.headers()["content-type"],
        "application/x-www-form-urlencoded"
    );
}

#[test]
fn whatsapp_addresses_and_templates() {
    let a = Twilio::new(creds("tok", TwilioChannel::WhatsApp));
    let req = a
        .render(&OutboundMessage::text(phone("+14155550100"), "Hi"))
        .unwrap();
    let p: Vec<(String, String)> = form_urlencoded::parse(req.body()).into_owned().collect();
    assert_eq!(p[0], ("To".into(), "whatsapp:+14155550100".into()));
    assert_eq!(p[1], ("From".into(), "whatsapp:+15005550006".into()));
    let tpl = OutboundMessage::new(
        phone("+14155550100"),
        OutboundBody::Template(Template {
            name: "HX0123".into(),
            language: "en".into(),
            body_params: vec!["A123".into(), "3".into()],
            quick_reply_payloads: vec![],
        }),
        MessageKind::Notification,
    );
    let req = a.render(&tpl).unwrap();
    let p: Vec<(String, String)> = form_urlencoded::parse(req.body()).into_owned().collect();
    assert!(p.contains(&("ContentSid".into(), "HX0123".into())));
    assert!(p.contains(&("ContentVariables".into(), r#"{"1":"A123","2":"3"}"#.into())));
    let too_long = OutboundMessage::text(phone("+14155550100"), "a".repeat(1601));
    assert_eq!(a.render(&too_long).unwrap_err().code(), "over_limit");
}

#[test]
fn send_responses_are_classified() {
    let a = adapter("tok");
    let ok = a
        .parse_send_response(
            StatusCode::CREATED,
            &sample_bytes("twilio-send-sms.response.json"),
        )
        .unwrap();
    assert_eq!(ok.provider_message_id, "SMXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX");
    let e = a
        .parse_send_response(
            StatusCode::BAD_REQUEST,
            &sample_bytes("twilio-error.response.json"),
        )
        .unwrap_err();
    assert_eq!(
        e,
        SendError::Permanent {
            code: "21610".into(),
            detail: "Attempt to send to unsubscribed recipient".into()
        }
    );
    let e = a
        .parse_send_response(
            StatusCode::TOO_MANY_REQUESTS,
            br#"{"code":20429,"message":"Too Many Requests","status":429}"#,
        )
        .unwrap_err();
    assert!(e.is_retryable());
    let e = a
        .parse_send_response(StatusCode::SERVICE_UNAVAILABLE, b"")
        .unwrap_err();
    assert!(e.is_retryable());
    let e = a
        .parse_send_response(
            StatusCode::UNAUTHORIZED,
            br#"{"code":20003,"message":"Authenticate","status":401}"#,
        )
        .unwrap_err();
    assert!(!e.is_retryable());
}

#[test]
fn twiml() {
    let res = twiml_reply(Some("Thanks! You are number 4 in the queue."));
    assert_eq!(res.body(), &sample_bytes("twilio-twiml-reply.xml"));
    assert_eq!(res.headers()["content-type"], "text/xml");
    assert_eq!(adapter("t").ack().body(), b"<Response/>");
    let res = twiml_reply(Some("A & B <3"));
    assert!(
        std::str::from_utf8(res.body())
            .unwrap()
            .contains("A &amp; B &lt;3")
    );
}

#[test]
fn debug_never_shows_secrets() {
    let a = adapter("super-secret-token");
    let dbg = format!("{a:?}");
    assert!(!dbg.contains("super-secret-token"), "{dbg}");
}

#[test]
fn idempotency_header() {
    let r = post("/", &[("I-Twilio-Idempotency-Token", "abc-123")], "");
    assert_eq!(sq_channels::twilio::idempotency_token(&r), Some("abc-123"));
    assert_eq!(
        sq_channels::twilio::idempotency_token(&post("/", &[], "")),
        None
    );
}
