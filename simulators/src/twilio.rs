//! Fake Twilio Programmable Messaging (providers/README.md §2): the REST send endpoint
//! (Basic auth, form body, 201 Message resource, Twilio error JSON) and form webhooks signed
//! `X-Twilio-Signature` over the configured public URL.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use crate::{
    Delivery, InboundRequest, Sim, SimError, StatusRequest, encode_form, form_get, form_json,
    normalize_address, parse_form, sign,
};

const CHANNEL: &str = "twilio";
const OPT_OUT: [&str; 8] = [
    "STOP",
    "UNSUBSCRIBE",
    "END",
    "QUIT",
    "STOPALL",
    "REVOKE",
    "OPTOUT",
    "CANCEL",
];
const OPT_IN: [&str; 3] = ["START", "YES", "UNSTOP"];

/// A Twilio REST error body.
pub fn twilio_error(status: StatusCode, code: u32, message: &str) -> Response {
    (
        status,
        axum::Json(json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status.as_u16(),
        })),
    )
        .into_response()
}

fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get("authorization")?.to_str().ok()?;
    let b64 = v.strip_prefix("Basic ")?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.to_owned(), p.to_owned()))
}

/// Segments the way carriers bill them: GSM-7 160/153 septets, else UCS-2 70/67 units.
fn num_segments(body: &str) -> usize {
    let gsm = crate::gsm7_septets(body).is_some();
    let costs: Vec<usize> = if gsm {
        body.chars()
            .map(|c| crate::gsm7_septets(c.encode_utf8(&mut [0; 4])).unwrap_or(1))
            .collect()
    } else {
        body.chars().map(char::len_utf16).collect()
    };
    let (single, part) = if gsm { (160, 153) } else { (70, 67) };
    let total: usize = costs.iter().sum();
    if total <= single {
        return 1;
    }
    let (mut parts, mut used) = (1, 0);
    for c in costs {
        if used + c > part {
            parts += 1;
            used = 0;
        }
        used += c;
    }
    parts
}

/// `POST /2010-04-01/Accounts/{sid}/Messages.json`.
pub async fn send(
    State(sim): State<Sim>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let authorized = basic_auth(&headers).is_some_and(|(u, p)| {
        u == sid && bool::from(p.as_bytes().ct_eq(sim.config().secret.as_bytes()))
    });
    if !authorized {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let form = parse_form(&body);
    let to = form_get(&form, "To").unwrap_or_default().to_owned();
    let text = form_get(&form, "Body").map(str::to_owned);
    if let Some((status, retry)) = sim.send_fault(CHANNEL).await {
        sim.record(
            CHANNEL,
            &to,
            form_json(&form),
            text,
            None,
            Some(format!("injected {status}")),
        );
        let mut resp = if status == StatusCode::TOO_MANY_REQUESTS {
            twilio_error(status, 20429, "Too Many Requests")
        } else {
            twilio_error(status, 20500, "An internal server error has occurred")
        };
        if let Ok(v) = HeaderValue::from_str(&retry.to_string()) {
            resp.headers_mut().insert("retry-after", v);
        }
        return resp;
    }
    let from = form_get(&form, "From").filter(|s| !s.is_empty());
    let service = form_get(&form, "MessagingServiceSid").filter(|s| !s.is_empty());
    let has_content = ["Body", "MediaUrl", "ContentSid"]
        .iter()
        .any(|k| form_get(&form, k).is_some_and(|v| !v.is_empty()));
    let rejection = if to.is_empty() {
        Some((21604, "A 'To' phone number is required."))
    } else if from.is_none() && service.is_none() {
        Some((21603, "A 'From' phone number is required."))
    } else if !has_content {
        Some((21602, "Message body is required."))
    } else if text.as_deref().is_some_and(|b| b.chars().count() > 1600) {
        Some((
            21617,
            "The concatenated message body exceeds the 1600 character limit.",
        ))
    } else if from.is_some_and(|f| f.starts_with("whatsapp:")) != to.starts_with("whatsapp:") {
        Some((
            63007,
            "Twilio could not find a Channel with the specified From address",
        ))
    } else if sim.rejects(CHANNEL, &to)
        || sim
            .lock()
            .twilio_opted_out
            .contains(&normalize_address(&to))
    {
        Some((21610, "Attempt to send to unsubscribed recipient"))
    } else {
        None
    };
    if let Some((code, msg)) = rejection {
        sim.record(CHANNEL, &to, form_json(&form), text, None, Some(msg.into()));
        return twilio_error(StatusCode::BAD_REQUEST, code, msg);
    }
    let msid = format!("SM{}", sim.hex_id(32));
    sim.record(
        CHANNEL,
        &to,
        form_json(&form),
        text.clone(),
        Some(msid.clone()),
        None,
    );
    let now = chrono::Utc::now().to_rfc2822();
    let status = if service.is_some() {
        "accepted"
    } else {
        "queued"
    };
    let whatsapp = to.starts_with("whatsapp:");
    let mut statuses = vec!["sent".to_owned(), "delivered".to_owned()];
    if whatsapp {
        statuses.push("read".into());
    }
    sim.spawn_auto_statuses(
        CHANNEL,
        StatusRequest {
            message_id: msid.clone(),
            to: to.clone(),
            statuses,
            error_code: None,
            callback_url: form_get(&form, "StatusCallback").map(str::to_owned),
        },
    );
    let body_text = text.unwrap_or_default();
    (
        StatusCode::CREATED,
        axum::Json(json!({
            "account_sid": sid,
            "api_version": "2010-04-01",
            "body": body_text,
            "date_created": now,
            "date_sent": null,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": null,
            "error_message": null,
            "from": from,
            "messaging_service_sid": service,
            "num_media": "0",
            "num_segments": num_segments(&body_text).to_string(),
            "price": null,
            "price_unit": "USD",
            "sid": msid,
            "status": status,
            "subresource_uris": {"media": format!("/2010-04-01/Accounts/{sid}/Messages/{msid}/Media.json")},
            "to": to,
            "uri": format!("/2010-04-01/Accounts/{sid}/Messages/{msid}.json"),
        })),
    )
        .into_response()
}

async fn deliver(
    sim: &Sim,
    url: &str,
    params: &[(String, String)],
) -> Result<Vec<Delivery>, SimError> {
    let headers: Vec<(&str, String)> = sim
        .signing_key(CHANNEL, &sim.config().secret)
        .map(|key| {
            (
                "x-twilio-signature",
                sign::twilio_signature(&key, url, params),
            )
        })
        .into_iter()
        .collect();
    let body = encode_form(params);
    Ok(sim
        .post(
            url,
            "application/x-www-form-urlencoded",
            &headers,
            body.as_bytes(),
            sim.copies(CHANNEL),
        )
        .await)
}

fn account_sid() -> String {
    "AC00000000000000000000000000000000".into()
}

fn p(k: &str, v: impl Into<String>) -> (String, String) {
    (k.to_owned(), v.into())
}

/// Pull `<Message>` texts out of a TwiML reply.
pub fn twiml_messages(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find("<Message") {
        let after = &rest[start..];
        let Some(open_end) = after.find('>') else {
            break;
        };
        if after[..open_end].ends_with('/') {
            rest = &after[open_end + 1..];
            continue;
        }
        let inner = &after[open_end + 1..];
        let Some(close) = inner.find("</Message>") else {
            break;
        };
        let text = inner[..close]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&");
        out.push(text.trim().to_owned());
        rest = &inner[close..];
    }
    out
}

/// An inbound SMS (or WhatsApp-via-Twilio when `from` starts with `whatsapp:`).
pub async fn inbound(sim: &Sim, req: InboundRequest) -> Result<Value, SimError> {
    let url = sim
        .webhook_url(CHANNEL)
        .ok_or_else(|| SimError::NoWebhook(CHANNEL.into()))?;
    if req.from.is_empty() {
        return Err(SimError::BadRequest("from is required".into()));
    }
    let text = req.text.clone().unwrap_or_default();
    let to = req.to.clone().unwrap_or_else(|| "+15005550006".into());
    let sid = format!("SM{}", sim.hex_id(32));
    let mut params = vec![
        p("ToCountry", "US"),
        p("ToState", ""),
        p("SmsMessageSid", sid.clone()),
        p("NumMedia", "0"),
        p("ToCity", ""),
        p("FromZip", ""),
        p("SmsSid", sid.clone()),
        p("FromState", ""),
        p("SmsStatus", "received"),
        p("FromCity", ""),
        p("Body", text.clone()),
        p("FromCountry", ""),
        p("To", to),
        p("ToZip", ""),
        p("NumSegments", num_segments(&text).to_string()),
        p("MessageSid", sid.clone()),
        p("AccountSid", account_sid()),
        p("From", req.from.clone()),
        p("ApiVersion", "2010-04-01"),
    ];
    if let Some(wa) = req.from.strip_prefix("whatsapp:") {
        params.push(p("ProfileName", req.name.clone().unwrap_or_default()));
        params.push(p("WaId", wa.trim_start_matches('+')));
    }
    // Twilio handles the standard opt-out keywords itself and still forwards the message.
    let keyword = text.trim().to_ascii_uppercase();
    {
        let addr = normalize_address(&req.from);
        let mut inner = sim.lock();
        if OPT_OUT.contains(&keyword.as_str()) {
            if !inner.twilio_opted_out.contains(&addr) {
                inner.twilio_opted_out.push(addr);
            }
            params.push(p("OptOutType", "STOP"));
        } else if OPT_IN.contains(&keyword.as_str()) {
            inner.twilio_opted_out.retain(|a| *a != addr);
            params.push(p("OptOutType", "START"));
        }
    }
    let deliveries = deliver(sim, &url, &params).await?;
    // A TwiML reply becomes an outbound message, as on Twilio.
    if let Some(first) = deliveries.iter().find(|d| (200..300).contains(&d.status)) {
        for m in twiml_messages(&first.body) {
            let msid = format!("SM{}", sim.hex_id(32));
            sim.record(
                CHANNEL,
                &req.from,
                json!({"twiml": first.body}),
                Some(m),
                Some(msid),
                None,
            );
        }
    }
    Ok(json!({"message_id": sid, "deliveries": deliveries}))
}

/// One status callback (`MessageStatus`) for a sent message.
pub async fn status(
    sim: &Sim,
    req: &StatusRequest,
    status: &str,
) -> Result<Vec<Delivery>, SimError> {
    let url = match &req.callback_url {
        Some(u) => u.clone(),
        None => sim
            .webhook_url(CHANNEL)
            .ok_or_else(|| SimError::NoWebhook(CHANNEL.into()))?,
    };
    let mut params = vec![
        p("SmsSid", req.message_id.clone()),
        p("SmsStatus", status),
        p("MessageStatus", status),
        p("To", req.to.clone()),
        p("MessageSid", req.message_id.clone()),
        p("AccountSid", account_sid()),
        p("From", "+15005550006"),
        p("ApiVersion", "2010-04-01"),
    ];
    if status == "failed" || status == "undelivered" {
        params.push(p("ErrorCode", req.error_code.unwrap_or(30003).to_string()));
    }
    deliver(sim, &url, &params).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_follow_the_vectors() {
        assert_eq!(num_segments("Hello"), 1);
        assert_eq!(num_segments(&"a".repeat(161)), 2);
        assert_eq!(num_segments(&"€".repeat(80)), 1);
        let s = format!("{}€{}", "a".repeat(152), "a".repeat(152));
        assert_eq!(num_segments(&s), 3);
        assert_eq!(num_segments(&"م".repeat(71)), 2);
    }

    #[test]
    fn twiml_is_read() {
        let x =
            "<?xml version=\"1.0\"?><Response><Message>Hi &amp; bye</Message><Message/></Response>";
        assert_eq!(twiml_messages(x), vec!["Hi & bye".to_owned()]);
        assert!(twiml_messages("<Response/>").is_empty());
    }
}
