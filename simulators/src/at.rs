//! Fake Africa's Talking (providers/README.md §3): the SMS send API (`apiKey` header, form,
//! 201 even when some recipients failed), inbound SMS and delivery-report forms, and the USSD
//! gateway that posts cumulative `text` hops and reads `CON `/`END ` text/plain replies.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use crate::{
    Delivery, InboundRequest, Sim, SimError, StatusRequest, encode_form, form_get, form_json,
    parse_form,
};

const SMS: &str = "at-sms";
const USSD: &str = "at-ussd";
const NOTIFY: &str = "at-ussd-notify";
const NETWORK_CODE: &str = "63902";

/// State of one USSD session the simulated network holds (AT or Hubtel).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UssdSession {
    pub id: String,
    pub channel: String,
    pub phone: String,
    pub service_code: String,
    /// Every input the user typed, in order.
    pub inputs: Vec<String>,
    /// Hubtel: `ClientState` to echo; `Sequence` of the next push.
    pub client_state: String,
    pub sequence: u32,
    pub hops: u32,
    pub started_ms: i64,
}

fn plain(status: StatusCode, body: &str) -> Response {
    (
        status,
        [("content-type", "text/plain; charset=utf-8")],
        body.to_owned(),
    )
        .into_response()
}

fn valid_number(n: &str) -> bool {
    let digits = n.strip_prefix('+').unwrap_or("");
    (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// `POST /version1/messaging`.
pub async fn sms_send(
    State(sim): State<Sim>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let key = headers
        .get("apikey")
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty());
    let key_ok = match (key, &sim.config().at_api_key) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(k), Some(want)) => bool::from(k.as_bytes().ct_eq(want.as_bytes())),
    };
    if !key_ok {
        return plain(
            StatusCode::UNAUTHORIZED,
            "The supplied authentication is invalid",
        );
    }
    let form = parse_form(&body);
    let to_field = form_get(&form, "to").unwrap_or_default().to_owned();
    let message = form_get(&form, "message").map(str::to_owned);
    if let Some((status, retry)) = sim.send_fault(SMS).await {
        sim.record(
            SMS,
            &to_field,
            form_json(&form),
            message,
            None,
            Some(format!("injected {status}")),
        );
        let text = if status == StatusCode::TOO_MANY_REQUESTS {
            "Too Many Requests"
        } else {
            "Internal Server Error"
        };
        let mut resp = plain(status, text);
        if let Ok(v) = HeaderValue::from_str(&retry.to_string()) {
            resp.headers_mut().insert("retry-after", v);
        }
        return resp;
    }
    for field in ["username", "to", "message"] {
        if form_get(&form, field).is_none_or(str::is_empty) {
            let msg = format!("Request is missing required form field '{field}'");
            sim.record(
                SMS,
                &to_field,
                form_json(&form),
                message,
                None,
                Some(msg.clone()),
            );
            return plain(StatusCode::BAD_REQUEST, &msg);
        }
    }
    let message = message.unwrap_or_default();
    let parts = message.chars().count().div_ceil(153).max(1);
    let mut recipients = Vec::new();
    let mut sent = 0;
    for number in to_field.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let (code, status) = if !valid_number(number) {
            (403, "InvalidPhoneNumber")
        } else if sim.rejects(SMS, number) {
            (406, "UserInBlacklist")
        } else {
            (101, "Success")
        };
        let message_id = (code == 101).then(|| format!("ATXid_{}", sim.hex_id(32)));
        sim.record(
            SMS,
            number,
            form_json(&form),
            Some(message.clone()),
            message_id.clone(),
            (code != 101).then(|| status.to_owned()),
        );
        if let Some(id) = &message_id {
            sent += 1;
            sim.spawn_auto_statuses(
                SMS,
                StatusRequest {
                    message_id: id.clone(),
                    to: number.to_owned(),
                    statuses: vec!["sent".into(), "delivered".into()],
                    error_code: None,
                    callback_url: None,
                },
            );
        }
        recipients.push(json!({
            "statusCode": code,
            "number": number,
            "status": status,
            "cost": if code == 101 { format!("KES {:.4}", 0.8 * parts as f64) } else { "0".into() },
            "messageId": message_id.unwrap_or_else(|| "None".into()),
            "messageParts": parts,
        }));
    }
    let total = recipients.len();
    (
        StatusCode::CREATED,
        axum::Json(json!({
            "SMSMessageData": {
                "Message": format!("Sent to {sent}/{total} Total Cost: KES {:.4}", 0.8 * (sent * parts) as f64),
                "Recipients": recipients,
            }
        })),
    )
        .into_response()
}

fn p(k: &str, v: impl Into<String>) -> (String, String) {
    (k.to_owned(), v.into())
}

async fn post_form(
    sim: &Sim,
    channel: &str,
    params: &[(String, String)],
    copies: u32,
) -> Result<Vec<Delivery>, SimError> {
    let url = sim
        .webhook_url(channel)
        .ok_or_else(|| SimError::NoWebhook(channel.into()))?;
    Ok(sim
        .post(
            &url,
            "application/x-www-form-urlencoded",
            &[],
            encode_form(params).as_bytes(),
            copies,
        )
        .await)
}

/// An incoming SMS to the short code.
pub async fn sms_inbound(sim: &Sim, req: InboundRequest) -> Result<Value, SimError> {
    if req.from.is_empty() {
        return Err(SimError::BadRequest("from is required".into()));
    }
    let id = format!("{}-{}", sim.hex_id(8), sim.hex_id(12));
    let params = vec![
        p(
            "date",
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        ),
        p("from", req.from.clone()),
        p("id", id.clone()),
        p("linkId", ""),
        p("text", req.text.clone().unwrap_or_default()),
        p("to", req.to.clone().unwrap_or_else(|| "23456".into())),
        p("networkCode", NETWORK_CODE),
    ];
    let deliveries = post_form(sim, SMS, &params, sim.copies(SMS)).await?;
    Ok(json!({"message_id": id, "deliveries": deliveries}))
}

/// One delivery report (sent → `Sent`, delivered → `Success`, failed → `Failed`).
pub async fn sms_status(
    sim: &Sim,
    req: &StatusRequest,
    status: &str,
) -> Result<Vec<Delivery>, SimError> {
    let at_status = match status {
        "sent" => "Sent",
        "submitted" => "Submitted",
        "buffered" => "Buffered",
        "delivered" | "success" => "Success",
        "rejected" => "Rejected",
        "failed" => "Failed",
        other => return Err(SimError::BadRequest(format!("unknown status {other}"))),
    };
    let mut params = vec![
        p("id", req.message_id.clone()),
        p("status", at_status),
        p("phoneNumber", req.to.clone()),
        p("networkCode", NETWORK_CODE),
    ];
    if at_status == "Failed" || at_status == "Rejected" {
        params.push(p("failureReason", "DeliveryFailure"));
    }
    params.push(p("retryCount", "0"));
    post_form(sim, SMS, &params, sim.copies(SMS)).await
}

/// What the phone shows after one USSD hop.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Screen {
    pub session_id: String,
    /// The text shown (without `CON `/`END `), or the network's error text.
    pub screen: String,
    /// The session is over (END / release, an error, or a drop).
    pub ended: bool,
    /// The network dropped the session after the app answered.
    pub dropped: bool,
    /// The app's reply broke the protocol (shown to the user as a network error).
    pub error: Option<String>,
    /// The screen is longer than a handset shows (the session goes on).
    pub warning: Option<String>,
    /// What the application answered to the gateway (each copy under `duplicate`).
    pub deliveries: Vec<Delivery>,
}

pub(crate) const NETWORK_ERROR: &str = "Connection problem or invalid MMI code.";

/// Start (with `dial`) or continue (with `session_id` + `text`) a session, per the dialect
/// of `channel`; shared session handling for AT and Hubtel.
pub(crate) fn session_for(
    sim: &Sim,
    channel: &str,
    req: &InboundRequest,
) -> Result<(UssdSession, bool), SimError> {
    if let Some(dial) = &req.dial {
        if req.from.is_empty() {
            return Err(SimError::BadRequest("from is required".into()));
        }
        let id = match channel {
            "at-ussd" => format!("ATUid_{}", sim.hex_id(32)),
            _ => sim.hex_id(32),
        };
        let s = UssdSession {
            id: id.clone(),
            channel: channel.to_owned(),
            phone: req.from.clone(),
            service_code: dial.clone(),
            inputs: Vec::new(),
            client_state: String::new(),
            sequence: 1,
            hops: 0,
            started_ms: chrono::Utc::now().timestamp_millis(),
        };
        sim.lock().ussd.insert(id, s.clone());
        return Ok((s, true));
    }
    let sid = req
        .session_id
        .as_ref()
        .ok_or_else(|| SimError::BadRequest("dial or session_id is required".into()))?;
    let mut inner = sim.lock();
    let s = inner
        .ussd
        .get_mut(sid)
        .filter(|s| s.channel == channel)
        .ok_or_else(|| SimError::NotFound(format!("no open USSD session {sid}")))?;
    s.inputs.push(req.text.clone().unwrap_or_default());
    s.sequence += 1;
    Ok((s.clone(), false))
}

pub(crate) fn end_session(sim: &Sim, id: &str) -> Option<UssdSession> {
    sim.lock().ussd.remove(id)
}

pub(crate) fn save_session(sim: &Sim, s: &UssdSession) {
    if let Some(slot) = sim.lock().ussd.get_mut(&s.id) {
        *slot = s.clone();
    }
}

/// Parse an AT USSD reply: HTTP 200 and a body starting with `CON ` or `END `.
pub fn parse_at_reply(status: u16, body: &str) -> Result<(bool, String), String> {
    if status != 200 {
        return Err(format!("HTTP {status} from the application"));
    }
    if let Some(rest) = body.strip_prefix("CON ") {
        Ok((true, rest.to_owned()))
    } else if let Some(rest) = body.strip_prefix("END ") {
        Ok((false, rest.to_owned()))
    } else {
        Err("reply does not begin with \"CON \" or \"END \"".into())
    }
}

/// One AT USSD hop.
pub async fn ussd_hop(sim: &Sim, req: InboundRequest) -> Result<Value, SimError> {
    let (mut session, _new) = session_for(sim, USSD, &req)?;
    session.hops += 1;
    save_session(sim, &session);
    let params = vec![
        p("sessionId", session.id.clone()),
        p("serviceCode", session.service_code.clone()),
        p("phoneNumber", session.phone.clone()),
        p("networkCode", NETWORK_CODE),
        p("text", session.inputs.join("*")),
    ];
    let deliveries = match post_form(sim, USSD, &params, sim.copies(USSD)).await {
        Ok(d) => d,
        Err(e) => {
            end_session(sim, &session.id);
            return Err(e);
        }
    };
    let last = deliveries.last().cloned().unwrap_or(Delivery {
        url: String::new(),
        status: 0,
        body: String::new(),
    });
    let mut screen = match parse_at_reply(last.status, &last.body) {
        Ok((cont, text)) => Screen {
            session_id: session.id.clone(),
            screen: text,
            ended: !cont,
            dropped: false,
            warning: None,
            error: None,
            deliveries,
        },
        Err(e) => Screen {
            session_id: session.id.clone(),
            screen: NETWORK_ERROR.into(),
            ended: true,
            dropped: false,
            warning: None,
            error: Some(e),
            deliveries,
        },
    };
    if screen.error.is_none() {
        screen.warning = crate::ussd_screen_warning(&screen.screen);
    }
    if !screen.ended && sim.take_ussd_drop(USSD) {
        screen.dropped = true;
        screen.ended = true;
        screen.screen = NETWORK_ERROR.into();
    }
    sim.record(
        USSD,
        &session.phone,
        json!({"request": form_json(&params), "reply": last.body}),
        Some(screen.screen.clone()),
        Some(session.id.clone()),
        screen.error.clone(),
    );
    if screen.ended {
        end_session(sim, &session.id);
        let status = if screen.dropped || screen.error.is_some() {
            "Incomplete"
        } else {
            "Success"
        };
        // AT posts the end-of-session notice to a separate "USSD notification" URL; only
        // sent when one is configured (`webhooks["at-ussd-notify"]`).
        let notice = vec![
            p(
                "date",
                chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string(),
            ),
            p("sessionId", session.id.clone()),
            p("serviceCode", session.service_code.clone()),
            p("networkCode", NETWORK_CODE),
            p("phoneNumber", session.phone.clone()),
            p("status", status),
            p("cost", "KES 0.0000"),
            p(
                "durationInMillis",
                (chrono::Utc::now().timestamp_millis() - session.started_ms).to_string(),
            ),
            p("hopsCount", session.hops.to_string()),
            p("input", session.inputs.join("*")),
            p("lastAppResponse", last.body.clone()),
            p(
                "errorMessage",
                if screen.dropped {
                    "Session dropped by the network".to_owned()
                } else {
                    screen.error.clone().unwrap_or_default()
                },
            ),
        ];
        if sim.webhook_url(NOTIFY).is_some() {
            let _ = post_form(sim, NOTIFY, &notice, 1).await;
        }
    }
    Ok(serde_json::to_value(screen).unwrap_or_default())
}
