//! Africa's Talking SMS and USSD, and Hubtel USSD, against the samples.

mod common;

use common::*;
use http::StatusCode;
use sq_channels::africastalking::{
    AfricasTalkingCredentials, AfricasTalkingSms, AfricasTalkingUssd,
};
use sq_channels::hubtel::HubtelUssd;
use sq_channels::*;

fn sms() -> AfricasTalkingSms {
    AfricasTalkingSms::new(AfricasTalkingCredentials {
        username: "myapp".into(),
        api_key: Secret::new("atsk_secret_key"),
        from: Some("CLINIC".into()),
        api_url: "https://api.africastalking.com".into(),
    })
}

fn form_req(name: &str) -> http::Request<bytes::Bytes> {
    post(
        "/hooks/at",
        &[("content-type", "application/x-www-form-urlencoded")],
        sample(name).trim_end().to_owned(),
    )
}

fn one(adapter: &dyn Adapter, req: http::Request<bytes::Bytes>) -> Inbound {
    assert_eq!(adapter.verify(&req, ""), Ok(()));
    let mut v = adapter.parse(&req).unwrap();
    assert_eq!(v.len(), 1);
    v.remove(0)
}

#[test]
fn at_sms_inbound_and_delivery_reports() {
    let Inbound::Message(m) = one(&sms(), form_req("at-sms-inbound.form")) else {
        panic!()
    };
    assert_eq!(
        m.provider_message_id,
        "5f4c2a1e-9b3d-4e2f-8a7c-1d2e3f4a5b6c"
    );
    assert_eq!(m.from, phone("+254711000111"));
    assert_eq!(m.to, Some(Address::Other("23456".into())));
    assert_eq!(m.kind, InboundKind::Text("STATUS A123".into()));
    assert_eq!(
        m.timestamp.unwrap().to_rfc3339(),
        "2026-01-15T12:31:10+00:00"
    );

    let Inbound::Status(s) = one(&sms(), form_req("at-sms-delivery-report-success.form")) else {
        panic!()
    };
    assert_eq!(
        s.provider_message_id,
        "ATXid_a890072360456d3ea892b3aefa03c33f"
    );
    assert_eq!(s.status, DeliveryStatus::Delivered);
    assert_eq!(s.error_code, None);
    assert_eq!(s.recipient, Some(phone("+254711000111")));

    let Inbound::Status(s) = one(&sms(), form_req("at-sms-delivery-report-failed.form")) else {
        panic!()
    };
    assert_eq!(s.status, DeliveryStatus::Failed);
    assert_eq!(s.error_code.as_deref(), Some("DeliveryFailure"));
}

#[test]
fn at_sms_send_request_matches_the_sample() {
    let raw = sample("at-sms-send.request.txt");
    let expected = raw.lines().rfind(|l| !l.trim().is_empty()).unwrap();
    let a: sq_domain::PhoneNumber = "+254711000111".parse().unwrap();
    let b: sq_domain::PhoneNumber = "+254722000222".parse().unwrap();
    assert_eq!(
        sms()
            .render_bulk(&[&a, &b], "Your ticket A123 is next.")
            .unwrap(),
        expected
    );
    let req = sms()
        .render(&OutboundMessage::text(
            Address::Phone(a),
            "Your ticket A123 is next.",
        ))
        .unwrap();
    assert_eq!(
        req.uri().to_string(),
        "https://api.africastalking.com/version1/messaging"
    );
    assert_eq!(req.headers()["apikey"], "atsk_secret_key");
    assert_eq!(req.headers()["accept"], "application/json");
    assert_eq!(
        req.body().as_slice(),
        b"username=myapp&to=%2B254711000111&message=Your+ticket+A123+is+next.&from=CLINIC&enqueue=1"
    );
    let dbg = format!("{:?}", sms());
    assert!(!dbg.contains("atsk_secret_key"), "{dbg}");
}

#[test]
fn at_sms_send_responses_per_recipient() {
    let a = sms();
    let ok = a
        .parse_send_response(
            StatusCode::CREATED,
            &sample_bytes("at-sms-send.response.json"),
        )
        .unwrap();
    assert_eq!(ok.provider_message_id, "ATPid_SampleTxnId123");
    assert_eq!(ok.recipients.len(), 1);

    let mixed = br#"{"SMSMessageData":{"Message":"Sent to 1/2","Recipients":[
        {"statusCode":403,"number":"+254700","status":"InvalidPhoneNumber","cost":"0","messageId":"None"},
        {"statusCode":101,"number":"+254711000111","status":"Success","cost":"KES 0.8000","messageId":"ATXid_1"}]}}"#;
    let ok = a.parse_send_response(StatusCode::CREATED, mixed).unwrap();
    assert_eq!(ok.provider_message_id, "ATXid_1");
    assert!(ok.recipients[0].result.is_err());
    assert_eq!(ok.recipients[1].result, Ok("ATXid_1".into()));

    // A 201 whose only recipient failed is a failure.
    let failed = br#"{"SMSMessageData":{"Message":"Sent to 0/1","Recipients":[
        {"statusCode":406,"number":"+254711000111","status":"UserInBlacklist","cost":"0","messageId":"None"}]}}"#;
    let e = a
        .parse_send_response(StatusCode::CREATED, failed)
        .unwrap_err();
    assert_eq!(
        e,
        SendError::Permanent {
            code: "406".into(),
            detail: "UserInBlacklist".into()
        }
    );
    let broke = br#"{"SMSMessageData":{"Message":"Sent to 0/1","Recipients":[
        {"statusCode":405,"number":"+254711000111","status":"InsufficientBalance","cost":"0","messageId":"None"}]}}"#;
    assert!(
        a.parse_send_response(StatusCode::CREATED, broke)
            .unwrap_err()
            .is_retryable()
    );
    assert!(
        a.parse_send_response(StatusCode::INTERNAL_SERVER_ERROR, b"oops")
            .unwrap_err()
            .is_retryable()
    );
    assert!(
        a.parse_send_response(StatusCode::TOO_MANY_REQUESTS, b"slow down")
            .unwrap_err()
            .is_retryable()
    );
    assert!(
        !a.parse_send_response(
            StatusCode::UNAUTHORIZED,
            b"The supplied authentication is invalid"
        )
        .unwrap_err()
        .is_retryable()
    );
}

fn hop(name: &str) -> (String, InboundKind) {
    let Inbound::Message(m) = one(&AfricasTalkingUssd::new(), form_req(name)) else {
        panic!()
    };
    assert_eq!(m.from, phone("+254711000111"));
    (m.provider_message_id, m.kind)
}

#[test]
fn at_ussd_session() {
    let steps = [
        ("at-ussd-first.form", "", None),
        ("at-ussd-second-step.form", "1", Some("1")),
        ("at-ussd-third-step.form", "1*2", Some("2")),
        (
            "at-ussd-fourth-step-freetext.form",
            "1*2*0712345678",
            Some("0712345678"),
        ),
    ];
    let mut ids = std::collections::HashSet::new();
    let mut consumed = String::new();
    for (i, (name, text, last)) in steps.into_iter().enumerate() {
        let (id, kind) = hop(name);
        assert!(ids.insert(id), "{name}: hop ids must differ");
        let InboundKind::UssdRequest {
            session_id,
            service_code,
            network,
            is_new_session,
            text_cumulative,
            last_input,
            ..
        } = kind
        else {
            panic!("{name}")
        };
        assert_eq!(session_id, "ATUid_f8a3c1b2d4e5f6a7b8c9d0e1f2a3b4c5");
        assert_eq!(service_code.as_deref(), Some("*384*123#"));
        assert_eq!(network.as_deref(), Some("63902"));
        assert_eq!(is_new_session, i == 0);
        assert_eq!(text_cumulative.as_deref(), Some(text));
        assert_eq!(last_input.as_deref(), last);
        assert_eq!(ussd_new_input(&consumed, text), last, "{name}");
        consumed = text.to_owned();
    }
    // A retried hop has the same id (dedupe), and a typed '*' is recovered with the helper.
    assert_eq!(
        hop("at-ussd-third-step.form").0,
        hop("at-ussd-third-step.form").0
    );
    assert_eq!(ussd_new_input("1*2", "1*2*07*12"), Some("07*12"));
}

#[test]
fn at_ussd_end_of_session() {
    let Inbound::Message(m) = one(
        &AfricasTalkingUssd::new(),
        form_req("at-ussd-end-of-session.form"),
    ) else {
        panic!()
    };
    assert_eq!(
        m.kind,
        InboundKind::UssdEnd {
            session_id: "ATUid_f8a3c1b2d4e5f6a7b8c9d0e1f2a3b4c5".into(),
            reason: UssdEndReason::Completed
        }
    );
    assert_eq!(
        m.timestamp.unwrap().to_rfc3339(),
        "2026-01-15T12:30:05+00:00"
    );
}

#[test]
fn at_ussd_responses_match_the_samples() {
    let a = AfricasTalkingUssd::new();
    let con = a.respond(
        "s",
        &UssdReply::con("Welcome to City Clinic\n1. Join queue\n2. Book appointment\n3. My ticket"),
    );
    assert_eq!(con.status(), StatusCode::OK);
    assert!(
        con.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(con.body(), &sample_bytes("at-ussd-response-con.txt"));
    let end = a.respond(
        "s",
        &UssdReply::end("You are number 4 in the queue. We will SMS you when it is your turn."),
    );
    assert_eq!(end.body(), &sample_bytes("at-ussd-response-end.txt"));
    assert_eq!(
        a.render(&OutboundMessage::text(phone("+254711000111"), "x"))
            .unwrap_err()
            .code(),
        "unsupported_body"
    );
}

#[test]
fn hubtel_session() {
    let h = HubtelUssd::new();
    let req = |name: &str| post("/", &[("content-type", "application/json")], sample(name));
    let Inbound::Message(m) = one(&h, req("hubtel-ussd-initiation.json")) else {
        panic!()
    };
    assert_eq!(m.from, phone("+233200585542"));
    assert_eq!(m.provider_message_id, "3c796dac28174f739de4262d08409c51:1");
    assert_eq!(
        m.kind,
        InboundKind::UssdRequest {
            session_id: "3c796dac28174f739de4262d08409c51".into(),
            service_code: Some("713".into()),
            network: Some("vodafone".into()),
            is_new_session: true,
            text_cumulative: None,
            last_input: None,
            client_state: None,
        }
    );
    let Inbound::Message(m) = one(&h, req("hubtel-ussd-followup.json")) else {
        panic!()
    };
    assert_eq!(m.provider_message_id, "3c796dac28174f739de4262d08409c51:2");
    assert_eq!(
        m.kind,
        InboundKind::UssdRequest {
            session_id: "3c796dac28174f739de4262d08409c51".into(),
            service_code: Some("713".into()),
            network: Some("vodafone".into()),
            is_new_session: false,
            text_cumulative: None,
            last_input: Some("1".into()),
            client_state: Some("100".into()),
        }
    );
    let timeout = sample("hubtel-ussd-followup.json").replace("\"Response\"", "\"Timeout\"");
    let Inbound::Message(m) = one(&h, post("/", &[], timeout)) else {
        panic!()
    };
    assert!(matches!(
        m.kind,
        InboundKind::UssdEnd {
            reason: UssdEndReason::Timeout,
            ..
        }
    ));
    assert!(
        h.parse(&post("/", &[], "{\"Type\":\"Initiation\"}"))
            .is_err()
    );
}

#[test]
fn hubtel_responses_match_the_samples() {
    let h = HubtelUssd::new();
    let sid = "3c796dac28174f739de4262d08409c51";
    let res = h.respond(
        sid,
        &UssdReply::con(
            "Welcome to RSE Inc.\n1. Buy Airtime & Data\n3. Send Money\n6. My Balance\n",
        )
        .with_label("Welcome page")
        .with_client_state("100"),
    );
    assert_eq!(res.headers()["content-type"], "application/json");
    let got: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
    assert_eq!(got, json("hubtel-ussd-response-continue.json"));
    let res = h.respond(
        sid,
        &UssdReply::end("You are number 4 in the queue. Thank you.").with_label("Done"),
    );
    let got: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
    assert_eq!(got, json("hubtel-ussd-response-release.json"));
}

#[test]
fn routes_are_data() {
    let r = AfricasTalkingUssd::new().routes();
    assert!(
        r.iter()
            .any(|r| r.kind == RouteKind::UssdSession && r.path_suffix.is_empty())
    );
    assert!(r.iter().any(|r| r.kind == RouteKind::UssdEnd));
    assert!(sms().routes().iter().any(|r| r.kind == RouteKind::Status));
    assert_eq!(HubtelUssd::new().routes()[0].method, http::Method::POST);
}
