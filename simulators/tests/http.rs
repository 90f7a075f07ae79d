//! The simulator over real HTTP: each fake provider API accepts valid requests (the samples in
//! providers/samples) and rejects invalid ones with the provider's error shape; inbound
//! deliveries reach a test webhook with signatures checked by an implementation written here,
//! independently of `sq_sim::sign`; faults behave.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sq_sim::{Faults, Sim, SimConfig};

const SECRET: &str = "test-secret";

#[derive(Debug, Clone)]
struct Hit {
    path: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

type Hits = Arc<Mutex<Vec<Hit>>>;

/// A tiny stand-in for SmartQueue's webhook routes.
async fn hook(
    State(hits): State<Hits>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    let seen = {
        let mut hits = hits.lock().unwrap();
        hits.push(Hit {
            path: id.clone(),
            headers,
            body: body.to_vec(),
        });
        hits.iter().filter(|h| h.path == id).count()
    };
    if id == "flaky" && seen == 1 {
        return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response();
    }
    match id.as_str() {
        "demo-at-ussd" => {
            let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
            let text = form.get("text").cloned().unwrap_or_default();
            let reply = match text.as_str() {
                "" => "CON Welcome to City Clinic\n1. Join queue\n2. My ticket".to_owned(),
                "1" => "CON Choose a service\n1. General\n2. Lab".to_owned(),
                "1*1" => "END You are number 4 in the queue.".to_owned(),
                _ => "Sorry, something broke".to_owned(),
            };
            ([("content-type", "text/plain")], reply).into_response()
        }
        "demo-hubtel-ussd" => {
            let v: Value = serde_json::from_slice(&body).unwrap();
            let reply = match v["Type"].as_str() {
                Some("Initiation") => json!({"SessionId": v["SessionId"], "Type": "response", "Message": "Welcome\n1. Join queue", "Label": "Welcome", "ClientState": "100", "DataType": "input", "FieldType": "text"}),
                _ => json!({"SessionId": v["SessionId"], "Type": "release", "Message": format!("Done, state {}", v["ClientState"].as_str().unwrap_or("")), "Label": "Done", "DataType": "display", "FieldType": "text"}),
            };
            axum::Json(reply).into_response()
        }
        "demo-twilio-sms" => (
            [("content-type", "text/xml")],
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>Thanks!</Message></Response>",
        )
            .into_response(),
        _ => "ok".into_response(),
    }
}

/// Meta's GET handshake, as an application answers it.
async fn verify_hook(
    axum::extract::RawQuery(q): axum::extract::RawQuery,
) -> axum::response::Response {
    let q: HashMap<String, String> = form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    if q.get("hub.mode").map(String::as_str) == Some("subscribe")
        && q.get("hub.verify_token").map(String::as_str) == Some("meatyhamhock")
    {
        q["hub.challenge"].clone().into_response()
    } else {
        axum::http::StatusCode::FORBIDDEN.into_response()
    }
}

struct Env {
    sim: String,
    hits: Hits,
    http: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn spawn() -> Env {
    spawn_with(false).await
}

async fn spawn_with(auto_statuses: bool) -> Env {
    let hits: Hits = Arc::default();
    let app = axum::Router::new()
        .route("/hooks/{id}", axum::routing::get(verify_hook).post(hook))
        .with_state(hits.clone());
    let hook_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_addr = hook_listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(hook_listener, app).await.unwrap() });

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let sim = Sim::new(SimConfig {
        webhook_base: Some(format!("http://{hook_addr}")),
        secret: SECRET.into(),
        auto_statuses,
        webhook_retry_ms: 10,
        ..SimConfig::default()
    });
    tokio::spawn(sq_sim::serve(listener, sim, async move {
        let _ = rx.await;
    }));
    Env {
        sim: format!("http://{addr}"),
        hits,
        http: reqwest::Client::builder().no_proxy().build().unwrap(),
        _stop: tx,
    }
}

/// Request samples copied verbatim from providers/samples (so the tests run from a clone).
fn sample(name: &str) -> String {
    let path = format!("{}/tests/samples/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

impl Env {
    async fn wa_send(&self, body: &Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/v25.0/106540352242922/messages", self.sim))
            .bearer_auth("EAAG-token")
            .json(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn tg(&self, method: &str, body: &Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/bot123456:ABC-def/{method}", self.sim))
            .json(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    async fn inbound(&self, channel: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}/sim/api/inbound/{channel}", self.sim))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        r.json().await.unwrap()
    }

    async fn messages(&self, query: &str) -> Vec<Value> {
        self.http
            .get(format!("{}/sim/api/messages?{query}", self.sim))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn faults(&self, f: Value) {
        let r = self
            .http
            .post(format!("{}/sim/api/faults", self.sim))
            .json(&f)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }

    fn hits(&self, path: &str) -> Vec<Hit> {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|h| h.path == path)
            .cloned()
            .collect()
    }
}

fn text_message(to: &str, body: &str) -> Value {
    json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "text", "text": {"body": body}})
}

fn buttons(titles: &[&str]) -> Value {
    let b: Vec<Value> = titles
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"type": "reply", "reply": {"id": format!("b{i}"), "title": t}}))
        .collect();
    json!({"messaging_product": "whatsapp", "to": "+233200000001", "type": "interactive",
        "interactive": {"type": "button", "body": {"text": "Pick one"}, "action": {"buttons": b}}})
}

fn list(rows_per_section: &[usize]) -> Value {
    let sections: Vec<Value> = rows_per_section
        .iter()
        .enumerate()
        .map(|(s, n)| {
            let rows: Vec<Value> = (0..*n)
                .map(|r| json!({"id": format!("s{s}r{r}"), "title": format!("Row {r}")}))
                .collect();
            json!({"title": format!("Section {s}"), "rows": rows})
        })
        .collect();
    json!({"messaging_product": "whatsapp", "to": "+233200000001", "type": "interactive",
        "interactive": {"type": "list", "body": {"text": "Choose"}, "action": {"button": "Options", "sections": sections}}})
}

fn assert_graph_400(status: u16, body: &Value) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], 100, "{body}");
    assert_eq!(body["error"]["type"], "OAuthException");
    assert!(body["error"]["fbtrace_id"].is_string());
}

#[tokio::test]
async fn whatsapp_send_validates_like_the_cloud_api() {
    let env = spawn().await;
    let (s, b) = env
        .wa_send(&text_message("+16505551234", "Your ticket is A123"))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["messaging_product"], "whatsapp");
    assert_eq!(b["contacts"][0]["wa_id"], "16505551234");
    assert!(
        b["messages"][0]["id"]
            .as_str()
            .unwrap()
            .starts_with("wamid.")
    );

    assert_eq!(env.wa_send(&list(&[2, 2])).await.0, 200);
    assert_eq!(env.wa_send(&list(&[10])).await.0, 200);
    assert_eq!(
        env.wa_send(&buttons(&["Join", "Status", "Leave"])).await.0,
        200
    );

    let (s, b) = env.wa_send(&list(&[6, 5])).await;
    assert_graph_400(s, &b);
    assert!(
        b["error"]["error_data"]["details"]
            .as_str()
            .unwrap()
            .contains("10")
    );
    let (s, b) = env.wa_send(&buttons(&["a".repeat(21).as_str()])).await;
    assert_graph_400(s, &b);
    assert_eq!(
        env.wa_send(&buttons(&["a".repeat(20).as_str()])).await.0,
        200
    );
    let (s, b) = env.wa_send(&buttons(&["1", "2", "3", "4"])).await;
    assert_graph_400(s, &b);
    let mut no_product = text_message("+16505551234", "hi");
    no_product
        .as_object_mut()
        .unwrap()
        .remove("messaging_product");
    let (s, b) = env.wa_send(&no_product).await;
    assert_graph_400(s, &b);
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("messaging_product")
    );

    let r = env
        .http
        .post(format!("{}/v25.0/1/messages", env.sim))
        .json(&text_message("+1", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"]["code"], 190);

    // Rejected requests are recorded too, with their error.
    let got = env.messages("channel=whatsapp&to=%2B16505551234").await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0]["error"].is_null());
    assert_eq!(got[1]["error"], "rejected");
    assert_eq!(got[0]["text"], "Your ticket is A123");
    assert_eq!(got[0]["body"]["text"]["body"], "Your ticket is A123");
    assert!(got[0]["time"].as_i64().unwrap() > 0);
    assert!(env.messages("channel=twilio").await.is_empty());
}

#[tokio::test]
async fn twilio_send_needs_basic_auth_and_the_required_fields() {
    let env = spawn().await;
    let sid = "AC11111111111111111111111111111111";
    let url = format!("{}/2010-04-01/Accounts/{sid}/Messages.json", env.sim);
    let r = env
        .http
        .post(&url)
        .basic_auth(sid, Some(SECRET))
        .form(&[
            ("To", "+14155550100"),
            ("From", "+15005550006"),
            ("Body", "You are next"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let b: Value = r.json().await.unwrap();
    assert!(b["sid"].as_str().unwrap().starts_with("SM"));
    assert_eq!(b["sid"].as_str().unwrap().len(), 34);
    assert_eq!(b["status"], "queued");
    assert_eq!(b["num_segments"], "1");

    let r = env
        .http
        .post(&url)
        .basic_auth(sid, Some(SECRET))
        .form(&[("From", "+15005550006"), ("Body", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["code"], 21604);
    assert_eq!(b["status"], 400);
    assert!(b["more_info"].as_str().unwrap().ends_with("21604"));

    let r = env
        .http
        .post(&url)
        .basic_auth(sid, Some("wrong"))
        .form(&[
            ("To", "+14155550100"),
            ("From", "+15005550006"),
            ("Body", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], 20003);

    let got = env.messages("channel=twilio&to=%2B14155550100").await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["body"]["Body"], "You are next");
}

#[tokio::test]
async fn africas_talking_sms_send_reports_each_recipient() {
    let env = spawn().await;
    // The body of the request sample, as sent.
    let req = sample("at-sms-send.request.txt");
    let body = req.lines().last().unwrap().trim().to_owned();
    let r = env
        .http
        .post(format!("{}/version1/messaging", env.sim))
        .header("apiKey", "atsk_test")
        .header("accept", "application/json")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let b: Value = r.json().await.unwrap();
    let rec = b["SMSMessageData"]["Recipients"].as_array().unwrap();
    assert_eq!(rec.len(), 2);
    assert_eq!(rec[0]["statusCode"], 101);
    assert_eq!(rec[0]["status"], "Success");
    assert!(rec[0]["messageId"].as_str().unwrap().starts_with("ATXid_"));

    // A 201 that holds a failed recipient.
    let r = env
        .http
        .post(format!("{}/version1/messaging", env.sim))
        .header("apiKey", "atsk_test")
        .form(&[
            ("username", "myapp"),
            ("to", "+254711000111,0712"),
            ("message", "Hi"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let b: Value = r.json().await.unwrap();
    assert_eq!(
        b["SMSMessageData"]["Recipients"][1]["status"],
        "InvalidPhoneNumber"
    );
    assert_eq!(
        b["SMSMessageData"]["Message"],
        "Sent to 1/2 Total Cost: KES 0.8000"
    );

    let r = env
        .http
        .post(format!("{}/version1/messaging", env.sim))
        .form(&[
            ("username", "myapp"),
            ("to", "+254711000111"),
            ("message", "Hi"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);

    let got = env.messages("channel=at-sms&to=%2B254722000222").await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["text"], "Your ticket A123 is next.");
}

#[tokio::test]
async fn telegram_bot_api_envelopes() {
    let env = spawn().await;
    let inline: Value = serde_json::from_str(&sample(
        "telegram-send-message-inline-keyboard.request.json",
    ))
    .unwrap();
    let (s, b) = env.tg("sendMessage", &inline).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["ok"], true);
    assert_eq!(b["result"]["chat"]["id"], 218485655);
    assert_eq!(b["result"]["text"], "Choose a service:");
    let reply: Value =
        serde_json::from_str(&sample("telegram-send-message-reply-keyboard.request.json")).unwrap();
    assert_eq!(env.tg("SendMessage", &reply).await.0, 200);

    let mut long = inline.clone();
    long["reply_markup"]["inline_keyboard"][0][0]["callback_data"] = json!("x".repeat(65));
    let (s, b) = env.tg("sendMessage", &long).await;
    assert_eq!(s, 400);
    assert_eq!(
        b,
        json!({"ok": false, "error_code": 400, "description": "Bad Request: BUTTON_DATA_INVALID"})
    );
    let (s, b) = env
        .tg("sendMessage", &json!({"chat_id": 1, "text": ""}))
        .await;
    assert_eq!(s, 400);
    assert_eq!(b["description"], "Bad Request: message text is empty");
    let (s, b) = env.tg("sendSomething", &json!({})).await;
    assert_eq!(s, 404);
    assert_eq!(
        b,
        json!({"ok": false, "error_code": 404, "description": "Not Found"})
    );

    let answer: Value =
        serde_json::from_str(&sample("telegram-answer-callback-query.request.json")).unwrap();
    let (s, b) = env.tg("answerCallbackQuery", &answer).await;
    assert_eq!(s, 400);
    assert_eq!(
        b["description"],
        "Bad Request: query is too old and response timeout expired or query ID is invalid"
    );

    // setWebhook (sample, pointed at the test hook) then an inbound tap carries its secret.
    let mut set: Value =
        serde_json::from_str(&sample("telegram-set-webhook.request.json")).unwrap();
    let base = env_hook_base(&env).await;
    set["url"] = json!(format!("{base}/hooks/my-bot"));
    let (s, b) = env.tg("setWebhook", &set).await;
    assert_eq!((s, b["ok"].clone()), (200, json!(true)), "{b}");
    let bad_secret = json!({"url": set["url"], "secret_token": "has space"});
    assert_eq!(env.tg("setWebhook", &bad_secret).await.0, 400);

    let out = env
        .inbound(
            "telegram",
            json!({"from": "218485655", "callback_data": "q:join:svc1"}),
        )
        .await;
    let hits = env.hits("my-bot");
    assert_eq!(hits.len(), 1);
    assert_eq!(
        hits[0].headers["x-telegram-bot-api-secret-token"],
        "Zx9_kQ2-vN7pL4mR8tY1wE6uI3oA5sD0"
    );
    let update: Value = serde_json::from_slice(&hits[0].body).unwrap();
    assert_eq!(update["callback_query"]["data"], "q:join:svc1");
    assert_eq!(update["callback_query"]["from"]["id"], 218485655);
    let qid = out["update"]["callback_query"]["id"].as_str().unwrap();
    let (s, b) = env
        .tg(
            "answerCallbackQuery",
            &json!({"callback_query_id": qid, "text": "Joined"}),
        )
        .await;
    assert_eq!((s, b), (200, json!({"ok": true, "result": true})));

    let got = env.messages("channel=telegram&to=218485655").await;
    assert_eq!(got.iter().filter(|m| m["error"].is_null()).count(), 2);
}

/// The test webhook server's base URL, found from a WhatsApp delivery's URL.
async fn env_hook_base(env: &Env) -> String {
    let out = env
        .inbound(
            "whatsapp",
            json!({"from": "+233200000009", "text": "probe"}),
        )
        .await;
    let url = out["deliveries"][0]["url"].as_str().unwrap();
    url.split("/hooks/").next().unwrap().to_owned()
}

/// Written here from providers/README.md §1.3, not shared with the simulator.
fn verify_meta(secret: &str, body: &[u8], header: &str) -> bool {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    header == format!("sha256={hex}")
}

/// Written here from providers/README.md §2.3, not shared with the simulator.
fn twilio_expected(token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut names: Vec<&String> = params.iter().map(|(k, _)| k).collect();
    names.sort();
    names.dedup();
    let mut data = url.to_owned();
    for n in names {
        let mut values: Vec<&String> = params
            .iter()
            .filter(|(k, _)| k == n)
            .map(|(_, v)| v)
            .collect();
        values.sort();
        values.dedup();
        for v in values {
            data.push_str(n);
            data.push_str(v);
        }
    }
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(token.as_bytes()).unwrap();
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[test]
fn independent_verifiers_reproduce_the_readme_vectors() {
    assert!(verify_meta(
        "secret",
        b"test",
        "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914"
    ));
    let params: Vec<(String, String)> = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675309"),
        ("Digits", "1234"),
        ("From", "+14158675309"),
        ("To", "+18005551212"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(
        twilio_expected(
            "12345",
            "https://mycompany.com/myapp.php?foo=1&bar=2",
            &params
        ),
        "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    );
    // And the simulator's own signer agrees on the vectors.
    assert_eq!(
        sq_sim::sign::whatsapp_signature("secret", b"test"),
        "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914"
    );
    assert_eq!(
        sq_sim::sign::twilio_signature(
            "12345",
            "https://mycompany.com/myapp.php?foo=1&bar=2",
            &params
        ),
        "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    );
}

#[tokio::test]
async fn whatsapp_inbound_is_escaped_and_signed_like_meta() {
    let env = spawn().await;
    env.inbound(
        "whatsapp",
        json!({"from": "+233200000001", "text": "äöå 👋 a/b", "name": "Ama"}),
    )
    .await;
    let hits = env.hits("demo-whatsapp");
    assert_eq!(hits.len(), 1);
    let body = &hits[0].body;
    assert!(body.is_ascii());
    let raw = std::str::from_utf8(body).unwrap();
    assert!(
        raw.contains(r"\u00e4\u00f6\u00e5 \ud83d\udc4b a\/b"),
        "{raw}"
    );
    let sig = hits[0].headers["x-hub-signature-256"].to_str().unwrap();
    assert!(verify_meta(SECRET, body, sig));
    assert!(!verify_meta("other", body, sig));
    let v: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(v["object"], "whatsapp_business_account");
    let value = &v["entry"][0]["changes"][0]["value"];
    assert_eq!(value["messages"][0]["text"]["body"], "äöå 👋 a/b");
    assert_eq!(value["messages"][0]["from"], "233200000001");
    assert!(value["messages"][0]["timestamp"].is_string());
    assert_eq!(value["contacts"][0]["profile"]["name"], "Ama");

    env.inbound(
        "whatsapp",
        json!({"from": "+233200000001", "list_reply": {"id": "svc_lab", "title": "Lab"}}),
    )
    .await;
    let hits = env.hits("demo-whatsapp");
    let v: Value = serde_json::from_slice(&hits[1].body).unwrap();
    let m = &v["entry"][0]["changes"][0]["value"]["messages"][0];
    assert_eq!(m["interactive"]["type"], "list_reply");
    assert_eq!(m["interactive"]["list_reply"]["id"], "svc_lab");
}

#[tokio::test]
async fn twilio_inbound_is_signed_over_the_public_url() {
    let env = spawn().await;
    let out = env
        .inbound(
            "twilio",
            json!({"from": "+14155550100", "to": "+15005550006", "text": "JOIN A"}),
        )
        .await;
    let hits = env.hits("demo-twilio-sms");
    assert_eq!(hits.len(), 1);
    let params: Vec<(String, String)> =
        form_urlencoded::parse(&hits[0].body).into_owned().collect();
    assert!(params.iter().any(|(k, v)| k == "FromCity" && v.is_empty()));
    let url = out["deliveries"][0]["url"].as_str().unwrap();
    let sig = hits[0].headers["x-twilio-signature"].to_str().unwrap();
    assert_eq!(sig, twilio_expected(SECRET, url, &params));
    // The TwiML reply became an outbound message.
    let got = env.messages("channel=twilio&to=%2B14155550100").await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["text"], "Thanks!");
}

#[tokio::test]
async fn at_ussd_session_reads_con_and_end() {
    let env = spawn().await;
    let s1 = env
        .inbound(
            "at-ussd",
            json!({"from": "+254711000111", "dial": "*384*123#"}),
        )
        .await;
    assert_eq!(s1["ended"], false);
    assert!(
        s1["screen"]
            .as_str()
            .unwrap()
            .starts_with("Welcome to City Clinic")
    );
    let sid = s1["session_id"].as_str().unwrap();
    assert!(sid.starts_with("ATUid_"));
    let s2 = env
        .inbound("at-ussd", json!({"session_id": sid, "text": "1"}))
        .await;
    assert_eq!(s2["ended"], false);
    let s3 = env
        .inbound("at-ussd", json!({"session_id": sid, "text": "1"}))
        .await;
    assert_eq!(s3["ended"], true);
    assert_eq!(s3["screen"], "You are number 4 in the queue.");

    let hits = env.hits("demo-at-ussd");
    let texts: Vec<String> = hits
        .iter()
        .map(|h| {
            let f: HashMap<String, String> = form_urlencoded::parse(&h.body).into_owned().collect();
            assert_eq!(f["sessionId"], sid);
            assert_eq!(f["serviceCode"], "*384*123#");
            assert_eq!(f["phoneNumber"], "+254711000111");
            f["text"].clone()
        })
        .collect();
    assert_eq!(texts, ["", "1", "1*1"]);

    // A reply without CON/END kills the session and is recorded.
    let s = env
        .inbound(
            "at-ussd",
            json!({"from": "+254711000222", "dial": "*384*123#"}),
        )
        .await;
    let sid = s["session_id"].as_str().unwrap();
    let bad = env
        .inbound("at-ussd", json!({"session_id": sid, "text": "9"}))
        .await;
    assert_eq!(bad["ended"], true);
    assert!(bad["error"].as_str().unwrap().contains("CON"));
    let r = env
        .http
        .post(format!("{}/sim/api/inbound/at-ussd", env.sim))
        .json(&json!({"session_id": sid, "text": "1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let screens = env.messages("channel=at-ussd&to=%2B254711000222").await;
    assert_eq!(screens.len(), 2);
    assert!(screens[1]["error"].is_string());
}

#[tokio::test]
async fn hubtel_ussd_initiation_then_release() {
    let env = spawn().await;
    let s1 = env
        .inbound(
            "hubtel-ussd",
            json!({"from": "+233200585542", "dial": "*713#"}),
        )
        .await;
    assert_eq!(s1["ended"], false);
    let sid = s1["session_id"].as_str().unwrap();
    let s2 = env
        .inbound("hubtel-ussd", json!({"session_id": sid, "text": "1"}))
        .await;
    assert_eq!(s2["ended"], true);
    assert_eq!(s2["screen"], "Done, state 100");
    let hits = env.hits("demo-hubtel-ussd");
    let first: Value = serde_json::from_slice(&hits[0].body).unwrap();
    assert_eq!(first["Type"], "Initiation");
    assert_eq!(first["Message"], "*713#");
    assert_eq!(first["Mobile"], "233200585542");
    assert_eq!(first["ServiceCode"], "713");
    let second: Value = serde_json::from_slice(&hits[1].body).unwrap();
    assert_eq!(second["Type"], "Response");
    assert_eq!(second["Message"], "1");
    assert_eq!(second["Sequence"], 2);
    assert_eq!(second["ClientState"], "100");
}

#[tokio::test]
async fn fault_429_then_success() {
    let env = spawn().await;
    env.faults(json!({"channel": "whatsapp", "fail_next": 1, "retry_after": 2}))
        .await;
    let r = env
        .http
        .post(format!("{}/v25.0/1/messages", env.sim))
        .bearer_auth("t")
        .json(&text_message("+1555", "hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    assert_eq!(r.headers()["retry-after"], "2");
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"]["code"], 130429);
    assert_eq!(env.wa_send(&text_message("+1555", "hi")).await.0, 200);

    env.faults(json!({"channel": "telegram", "fail_next": 1, "retry_after": 35}))
        .await;
    let (s, b) = env
        .tg("sendMessage", &json!({"chat_id": 5, "text": "hi"}))
        .await;
    assert_eq!(s, 429);
    assert_eq!(
        b,
        json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 35", "parameters": {"retry_after": 35}})
    );
    assert_eq!(
        env.tg("sendMessage", &json!({"chat_id": 5, "text": "hi"}))
            .await
            .0,
        200
    );

    env.faults(json!({"channel": "twilio", "fail_next": 1, "fail_status": 503}))
        .await;
    let sid = "AC1";
    let r = env
        .http
        .post(format!(
            "{}/2010-04-01/Accounts/{sid}/Messages.json",
            env.sim
        ))
        .basic_auth(sid, Some(SECRET))
        .form(&[("To", "+1"), ("From", "+2"), ("Body", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);
}

#[tokio::test]
async fn fault_duplicates_and_out_of_order_statuses() {
    let env = spawn().await;
    env.faults(json!({"channel": "whatsapp", "duplicate": 3}))
        .await;
    let out = env
        .inbound("whatsapp", json!({"from": "+233200000001", "text": "JOIN"}))
        .await;
    assert_eq!(out["deliveries"].as_array().unwrap().len(), 3);
    let hits = env.hits("demo-whatsapp");
    assert_eq!(hits.len(), 3);
    assert!(hits.iter().all(|h| h.body == hits[0].body));

    env.faults(json!({"channel": "whatsapp", "out_of_order_statuses": true}))
        .await;
    env.http
        .post(format!("{}/sim/api/status/whatsapp", env.sim))
        .json(&json!({"message_id": "wamid.X", "to": "+233200000001", "statuses": ["sent", "delivered", "read"]}))
        .send()
        .await
        .unwrap();
    let statuses: Vec<String> = env.hits("demo-whatsapp")[3..]
        .iter()
        .map(|h| {
            let v: Value = serde_json::from_slice(&h.body).unwrap();
            v["entry"][0]["changes"][0]["value"]["statuses"][0]["status"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(statuses, ["read", "delivered", "sent"]);
}

#[tokio::test]
async fn fault_ussd_dropped_by_the_network() {
    let env = spawn().await;
    env.faults(json!({"channel": "at-ussd", "drop_ussd": 1}))
        .await;
    let s = env
        .inbound(
            "at-ussd",
            json!({"from": "+254711000111", "dial": "*384*123#"}),
        )
        .await;
    assert_eq!(s["dropped"], true);
    assert_eq!(s["ended"], true);
    let sid = s["session_id"].as_str().unwrap();
    let r = env
        .http
        .post(format!("{}/sim/api/inbound/at-ussd", env.sim))
        .json(&json!({"session_id": sid, "text": "1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let f: Vec<Faults> = env
        .http
        .get(format!("{}/sim/api/faults", env.sim))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        f.iter().find(|f| f.channel == "at-ussd").unwrap().drop_ussd,
        0
    );
}

#[tokio::test]
async fn whatsapp_verify_probe() {
    let env = spawn().await;
    for (token, ok) in [("meatyhamhock", true), ("wrong", false)] {
        let v: Value = env
            .http
            .post(format!("{}/sim/api/verify/whatsapp", env.sim))
            .json(&json!({ "verify_token": token }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["verified"], ok, "{v}");
    }
}

#[tokio::test]
async fn accepted_sends_report_statuses_and_the_24h_window_applies() {
    let env = spawn_with(true).await;
    // No inbound yet: outside the window, the text is accepted then fails with 131047.
    let (s, b) = env.wa_send(&text_message("+233200000001", "hello")).await;
    assert_eq!(s, 200);
    let first = b["messages"][0]["id"].as_str().unwrap().to_owned();
    env.inbound("whatsapp", json!({"from": "+233200000001", "text": "hi"}))
        .await;
    let (_, b) = env.wa_send(&text_message("+233200000001", "welcome")).await;
    let second = b["messages"][0]["id"].as_str().unwrap().to_owned();
    let mut statuses = Vec::new();
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        statuses = env
            .hits("demo-whatsapp")
            .iter()
            .filter_map(|h| {
                let v: Value = serde_json::from_slice(&h.body).unwrap();
                let st = &v["entry"][0]["changes"][0]["value"]["statuses"][0];
                st.is_object().then(|| {
                    (
                        st["id"].as_str().unwrap().to_owned(),
                        st["status"].as_str().unwrap().to_owned(),
                        st["errors"][0]["code"].as_u64(),
                    )
                })
            })
            .collect::<Vec<_>>();
        if statuses.len() == 4 {
            break;
        }
    }
    assert!(
        statuses.contains(&(first, "failed".into(), Some(131047))),
        "{statuses:?}"
    );
    for st in ["sent", "delivered", "read"] {
        assert!(
            statuses.contains(&(second.clone(), st.into(), None)),
            "{statuses:?}"
        );
    }
}

#[tokio::test]
async fn webhooks_are_retried_after_an_error_and_blocked_users_refuse() {
    let env = spawn().await;
    let base = env_hook_base(&env).await;
    let (s, _) = env
        .tg("setWebhook", &json!({"url": format!("{base}/hooks/flaky")}))
        .await;
    assert_eq!(s, 200);
    let out = env
        .inbound("telegram", json!({"from": "42", "text": "/start"}))
        .await;
    let statuses: Vec<u64> = out["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [500, 200]);
    let hits = env.hits("flaky");
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].body, hits[1].body);
    let update: Value = serde_json::from_slice(&hits[0].body).unwrap();
    assert_eq!(update["message"]["entities"][0]["type"], "bot_command");

    env.faults(json!({"channel": "telegram", "reject_numbers": ["42"]}))
        .await;
    let (s, b) = env
        .tg("sendMessage", &json!({"chat_id": 42, "text": "hi"}))
        .await;
    assert_eq!(s, 403);
    assert_eq!(
        b,
        json!({"ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user"})
    );
}

#[tokio::test]
async fn webhooks_can_be_repointed_and_messages_awaited() {
    let env = spawn().await;
    let base = env_hook_base(&env).await;
    let r = env
        .http
        .post(format!("{}/sim/api/webhooks", env.sim))
        .json(&json!({"channel": "telegram", "url": format!("{base}/hooks/elsewhere")}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    env.inbound("telegram", json!({"from": "7", "text": "hi"}))
        .await;
    let hits = env.hits("elsewhere");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].headers["x-telegram-bot-api-secret-token"], SECRET);
}

#[tokio::test]
async fn wait_for_sees_a_later_send() {
    let sim = Sim::new(SimConfig::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(sq_sim::serve(listener, sim.clone(), std::future::pending()));
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .post(format!("http://{addr}/bot1:x/sendMessage"))
            .json(&json!({"chat_id": 9, "text": "Go to counter 3"}))
            .send()
            .await
            .unwrap();
    });
    let got = sim
        .wait_for(
            "telegram",
            "9",
            "counter 3",
            std::time::Duration::from_secs(5),
        )
        .await
        .expect("message arrives");
    assert_eq!(got.channel, "telegram");
}

#[tokio::test]
async fn phones_page_is_served() {
    let env = spawn().await;
    let r = env
        .http
        .get(format!("{}/sim/", env.sim))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = r.text().await.unwrap();
    for ch in ["whatsapp", "twilio", "telegram", "at-ussd"] {
        assert!(html.contains(&format!("data-channel=\"{ch}\"")), "{ch}");
    }
}

#[tokio::test]
async fn status_callbacks_per_provider() {
    let env = spawn().await;
    let post = |ch: &str, body: Value| {
        env.http
            .post(format!("{}/sim/api/status/{ch}", env.sim))
            .json(&body)
            .send()
    };
    let r = post("twilio", json!({"message_id": "SM1", "to": "+14155550100", "statuses": ["sent", "undelivered"], "error_code": 30003}))
        .await
        .unwrap();
    assert!(r.status().is_success());
    let hits = env.hits("demo-twilio-sms");
    assert_eq!(hits.len(), 2);
    let url = r.json::<Value>().await.unwrap()["deliveries"][0]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    for (h, want) in hits.iter().zip(["sent", "undelivered"]) {
        let params: Vec<(String, String)> = form_urlencoded::parse(&h.body).into_owned().collect();
        assert!(params.contains(&("MessageStatus".into(), want.into())));
        assert_eq!(
            h.headers["x-twilio-signature"].to_str().unwrap(),
            twilio_expected(SECRET, &url, &params)
        );
    }
    let last: HashMap<String, String> =
        form_urlencoded::parse(&hits[1].body).into_owned().collect();
    assert_eq!(last["ErrorCode"], "30003");

    post("at-sms", json!({"message_id": "ATXid_1", "to": "+254711000111", "statuses": ["delivered", "failed"]}))
        .await
        .unwrap();
    let reports: Vec<HashMap<String, String>> = env
        .hits("demo-at-sms")
        .iter()
        .map(|h| form_urlencoded::parse(&h.body).into_owned().collect())
        .collect();
    assert_eq!(reports[0]["status"], "Success");
    assert_eq!(reports[0]["id"], "ATXid_1");
    assert_eq!(reports[1]["status"], "Failed");
    assert!(reports[1].contains_key("failureReason"));
    assert!(!reports[0].contains_key("failureReason"));

    let r = post(
        "telegram",
        json!({"message_id": "1", "to": "1", "statuses": ["sent"]}),
    )
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 400);
}

#[tokio::test]
async fn hubtel_drop_sends_a_timeout_push() {
    let env = spawn().await;
    env.faults(json!({"channel": "hubtel-ussd", "drop_ussd": 1}))
        .await;
    let s = env
        .inbound(
            "hubtel-ussd",
            json!({"from": "+233200585542", "dial": "*713#"}),
        )
        .await;
    assert_eq!(s["dropped"], true);
    let hits = env.hits("demo-hubtel-ussd");
    assert_eq!(hits.len(), 2);
    let push: Value = serde_json::from_slice(&hits[1].body).unwrap();
    assert_eq!(push["Type"], "Timeout");
    assert_eq!(push["SessionId"], s["session_id"]);
}

#[tokio::test]
async fn twilio_stop_blocks_sends_until_start() {
    let env = spawn().await;
    let sid = "AC2";
    let send = || {
        env.http
            .post(format!(
                "{}/2010-04-01/Accounts/{sid}/Messages.json",
                env.sim
            ))
            .basic_auth(sid, Some(SECRET))
            .form(&[
                ("To", "+14155550123"),
                ("From", "+15005550006"),
                ("Body", "Your turn"),
            ])
            .send()
    };
    env.inbound("twilio", json!({"from": "+14155550123", "text": "STOP"}))
        .await;
    let stop: HashMap<String, String> =
        form_urlencoded::parse(&env.hits("demo-twilio-sms")[0].body)
            .into_owned()
            .collect();
    assert_eq!(stop["OptOutType"], "STOP");
    let r = send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], 21610);
    env.inbound("twilio", json!({"from": "+14155550123", "text": "start"}))
        .await;
    assert_eq!(send().await.unwrap().status().as_u16(), 201);
}

#[tokio::test]
async fn fault_slow_send_responses() {
    let env = spawn().await;
    env.faults(json!({"channel": "whatsapp", "delay_ms": 150}))
        .await;
    let t0 = std::time::Instant::now();
    assert_eq!(env.wa_send(&text_message("+1555", "hi")).await.0, 200);
    assert!(t0.elapsed() >= std::time::Duration::from_millis(150));
    let r = env
        .http
        .delete(format!("{}/sim/api/faults", env.sim))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let f: Vec<Faults> = env
        .http
        .get(format!("{}/sim/api/faults", env.sim))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(f.iter().all(|f| f.delay_ms == 0));
}

#[tokio::test]
async fn fault_forged_and_missing_signatures() {
    let env = spawn().await;
    env.faults(json!({"channel": "whatsapp", "forge_signature": true}))
        .await;
    env.inbound("whatsapp", json!({"from": "+233200000001", "text": "hi"}))
        .await;
    let h = &env.hits("demo-whatsapp")[0];
    let sig = h.headers["x-hub-signature-256"].to_str().unwrap();
    assert!(!verify_meta(SECRET, &h.body, sig));

    env.faults(json!({"channel": "twilio", "omit_signature": true}))
        .await;
    env.inbound("twilio", json!({"from": "+14155550100", "text": "hi"}))
        .await;
    assert!(
        !env.hits("demo-twilio-sms")[0]
            .headers
            .contains_key("x-twilio-signature")
    );

    env.faults(json!({"channel": "telegram", "forge_signature": true}))
        .await;
    env.inbound("telegram", json!({"from": "5", "text": "hi"}))
        .await;
    let h = &env.hits("demo-telegram")[0];
    assert_ne!(h.headers["x-telegram-bot-api-secret-token"], SECRET);
}

#[tokio::test]
async fn whatsapp_statuses_come_from_the_sending_number() {
    let env = spawn_with(true).await;
    env.inbound(
        "whatsapp",
        json!({"from": "+233200000001", "to": "555000111", "text": "hi"}),
    )
    .await;
    let r = env
        .http
        .post(format!("{}/v25.0/555000111/messages", env.sim))
        .bearer_auth("t")
        .json(&text_message("+233200000001", "welcome"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let mut pnids = Vec::new();
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        pnids = env
            .hits("demo-whatsapp")
            .iter()
            .map(|h| {
                let v: Value = serde_json::from_slice(&h.body).unwrap();
                v["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        if pnids.len() == 4 {
            break;
        }
    }
    assert_eq!(pnids, ["555000111"; 4]);
}

#[tokio::test]
async fn at_ussd_drop_sends_the_end_of_session_notice() {
    let env = spawn().await;
    let base = env_hook_base(&env).await;
    env.http
        .post(format!("{}/sim/api/webhooks", env.sim))
        .json(&json!({"channel": "at-ussd-notify", "url": format!("{base}/hooks/notify")}))
        .send()
        .await
        .unwrap();
    env.faults(json!({"channel": "at-ussd", "drop_ussd": 1}))
        .await;
    let s = env
        .inbound(
            "at-ussd",
            json!({"from": "+254711000111", "dial": "*384*123#"}),
        )
        .await;
    assert_eq!(s["dropped"], true);
    let notices = env.hits("notify");
    assert_eq!(notices.len(), 1);
    let f: HashMap<String, String> = form_urlencoded::parse(&notices[0].body)
        .into_owned()
        .collect();
    assert_eq!(f["sessionId"], s["session_id"].as_str().unwrap());
    assert_eq!(f["status"], "Incomplete");
    assert_eq!(f["hopsCount"], "1");
    assert!(f["lastAppResponse"].starts_with("CON "));
    for k in [
        "date",
        "serviceCode",
        "networkCode",
        "phoneNumber",
        "cost",
        "durationInMillis",
        "input",
        "errorMessage",
    ] {
        assert!(f.contains_key(k), "{k}");
    }
}
