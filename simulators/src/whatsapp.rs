//! Fake WhatsApp Cloud API (providers/README.md §1): the Graph send endpoint with Meta's
//! limits and error envelope, and webhooks as `\u`-escaped JSON signed `X-Hub-Signature-256`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use crate::{InboundRequest, Sim, SimError, StatusRequest, normalize_address, now_unix, sign};

const CHANNEL: &str = "whatsapp";
/// The simulated business number.
const DISPLAY_PHONE: &str = "15550783881";
const WABA_ID: &str = "102290129340398";

/// A Graph API error response.
pub fn graph_error(
    status: StatusCode,
    code: u32,
    message: &str,
    details: Option<&str>,
) -> Response {
    let mut err = json!({
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AbCdEfGhIjKlMnOpQrStUvW",
    });
    if let Some(d) = details {
        err["error_data"] = json!({"messaging_product": "whatsapp", "details": d});
    }
    (status, axum::Json(json!({ "error": err }))).into_response()
}

fn invalid(details: String) -> Response {
    graph_error(
        StatusCode::BAD_REQUEST,
        100,
        "(#100) Invalid parameter",
        Some(&details),
    )
}

fn check_len(v: &Value, path: &str, min: usize, max: usize) -> Result<(), String> {
    let Some(s) = v.as_str() else {
        return Err(if min > 0 {
            format!("Param {path} is required.")
        } else {
            format!("Param {path} must be a string.")
        });
    };
    let n = s.chars().count();
    if n < min || n > max {
        return Err(format!(
            "Param {path} must be between {min} and {max} characters long."
        ));
    }
    Ok(())
}

fn check_opt_len(v: &Value, path: &str, max: usize) -> Result<(), String> {
    if v.is_null() {
        Ok(())
    } else {
        check_len(v, path, 0, max)
    }
}

/// Validate a send body the way the Cloud API does; `Err` is `error_data.details`.
pub fn validate(body: &Value) -> Result<(), Response> {
    let Some(obj) = body.as_object() else {
        return Err(invalid("Request body must be a JSON object.".into()));
    };
    match obj.get("messaging_product").and_then(Value::as_str) {
        None => {
            return Err(graph_error(
                StatusCode::BAD_REQUEST,
                100,
                "(#100) The parameter messaging_product is required.",
                None,
            ));
        }
        Some("whatsapp") => {}
        Some(other) => {
            return Err(invalid(format!(
                "Param messaging_product must be one of {{WHATSAPP}} - got \"{other}\"."
            )));
        }
    }
    // Mark as read / typing indicator.
    if obj.get("status").and_then(Value::as_str) == Some("read") {
        return check_len(&body["message_id"], "message_id", 1, 512).map_err(invalid);
    }
    if body["to"].as_str().is_none_or(str::is_empty) {
        return Err(graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "(#100) The parameter to is required.",
            None,
        ));
    }
    let ty = body["type"].as_str().unwrap_or("text");
    let r = match ty {
        "text" => check_len(&body["text"]["body"], "text['body']", 1, 4096),
        "interactive" => validate_interactive(&body["interactive"]),
        "template" => {
            check_len(&body["template"]["name"], "template['name']", 1, 512).and_then(|()| {
                check_len(
                    &body["template"]["language"]["code"],
                    "template['language']['code']",
                    1,
                    16,
                )
            })
        }
        "image" | "video" | "document" | "audio" | "sticker" => {
            let m = &body[ty];
            if m["id"].is_null() && m["link"].is_null() {
                Err(format!("Param {ty}['id'] or {ty}['link'] is required."))
            } else {
                check_opt_len(&m["caption"], &format!("{ty}['caption']"), 1024)
            }
        }
        "location" | "contacts" | "reaction" => Ok(()),
        other => Err(format!(
            "Param type must be one of {{AUDIO, CONTACTS, DOCUMENT, IMAGE, INTERACTIVE, LOCATION, REACTION, STICKER, TEMPLATE, TEXT, VIDEO}} - got \"{other}\"."
        )),
    };
    r.map_err(invalid)
}

fn validate_interactive(i: &Value) -> Result<(), String> {
    if !i.is_object() {
        return Err("Param interactive is required.".into());
    }
    check_opt_len(&i["header"]["text"], "interactive['header']['text']", 60)?;
    check_opt_len(&i["footer"]["text"], "interactive['footer']['text']", 60)?;
    match i["type"].as_str() {
        Some("button") => {
            check_len(&i["body"]["text"], "interactive['body']['text']", 1, 1024)?;
            let buttons = i["action"]["buttons"]
                .as_array()
                .ok_or("Param interactive['action']['buttons'] is required.")?;
            if buttons.is_empty() || buttons.len() > 3 {
                return Err(format!(
                    "Param interactive['action']['buttons'] must contain between 1 and 3 elements, got {}.",
                    buttons.len()
                ));
            }
            let mut titles = Vec::new();
            for (n, b) in buttons.iter().enumerate() {
                if b["type"].as_str() != Some("reply") {
                    return Err(format!(
                        "Param interactive['action']['buttons'][{n}]['type'] must be one of {{REPLY}}."
                    ));
                }
                let p = format!("interactive['action']['buttons'][{n}]['reply']");
                check_len(&b["reply"]["id"], &format!("{p}['id']"), 1, 256)?;
                check_len(&b["reply"]["title"], &format!("{p}['title']"), 1, 20)?;
                let t = b["reply"]["title"].as_str().unwrap_or_default();
                if titles.contains(&t) {
                    return Err("Button titles must be unique.".into());
                }
                titles.push(t);
            }
            Ok(())
        }
        Some("list") => {
            check_len(&i["body"]["text"], "interactive['body']['text']", 1, 4096)?;
            check_len(
                &i["action"]["button"],
                "interactive['action']['button']",
                1,
                20,
            )?;
            let sections = i["action"]["sections"]
                .as_array()
                .ok_or("Param interactive['action']['sections'] is required.")?;
            if sections.is_empty() || sections.len() > 10 {
                return Err(format!(
                    "Param interactive['action']['sections'] must contain between 1 and 10 elements, got {}.",
                    sections.len()
                ));
            }
            let mut rows_total = 0;
            for (s, sec) in sections.iter().enumerate() {
                let p = format!("interactive['action']['sections'][{s}]");
                if sections.len() > 1 {
                    check_len(&sec["title"], &format!("{p}['title']"), 1, 24)?;
                } else {
                    check_opt_len(&sec["title"], &format!("{p}['title']"), 24)?;
                }
                let rows = sec["rows"]
                    .as_array()
                    .ok_or(format!("Param {p}['rows'] is required."))?;
                for (r, row) in rows.iter().enumerate() {
                    let rp = format!("{p}['rows'][{r}]");
                    check_len(&row["id"], &format!("{rp}['id']"), 1, 200)?;
                    check_len(&row["title"], &format!("{rp}['title']"), 1, 24)?;
                    check_opt_len(&row["description"], &format!("{rp}['description']"), 72)?;
                }
                rows_total += rows.len();
            }
            if rows_total == 0 || rows_total > 10 {
                return Err(format!(
                    "Total row count exceed max allowed count: 10. Got {rows_total} rows."
                ));
            }
            Ok(())
        }
        Some("cta_url") => check_len(
            &i["action"]["parameters"]["display_text"],
            "interactive['action']['parameters']['display_text']",
            1,
            20,
        ),
        _ => Err("Param interactive['type'] must be one of {BUTTON, LIST, CTA_URL}.".into()),
    }
}

/// The text a customer would read, for the recorded message.
fn visible_text(body: &Value) -> Option<String> {
    let ty = body["type"].as_str().unwrap_or("text");
    match ty {
        "text" => body["text"]["body"].as_str().map(str::to_owned),
        "interactive" => body["interactive"]["body"]["text"]
            .as_str()
            .map(str::to_owned),
        "template" => body["template"]["name"]
            .as_str()
            .map(|n| format!("[template {n}]")),
        _ => body[ty]["caption"].as_str().map(str::to_owned),
    }
}

/// `POST /{version}/{phone_number_id}/messages`.
pub async fn send(
    State(sim): State<Sim>,
    Path((_version, phone_number_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return graph_error(
            StatusCode::UNAUTHORIZED,
            190,
            "Invalid OAuth access token - Cannot parse access token",
            None,
        );
    };
    if let Some(want) = &sim.config().whatsapp_token
        && !bool::from(want.as_bytes().ct_eq(token.as_bytes()))
    {
        return graph_error(
            StatusCode::UNAUTHORIZED,
            190,
            "Error validating access token: The session is invalid.",
            None,
        );
    }
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => {
            return graph_error(
                StatusCode::BAD_REQUEST,
                100,
                "(#100) Invalid parameter",
                Some("Request body is not valid JSON."),
            );
        }
    };
    let to = parsed["to"].as_str().unwrap_or_default().to_owned();
    if let Some((status, retry)) = sim.send_fault(CHANNEL).await {
        sim.record(
            CHANNEL,
            &to,
            parsed.clone(),
            visible_text(&parsed),
            None,
            Some(format!("injected {status}")),
        );
        let mut resp = if status == StatusCode::TOO_MANY_REQUESTS {
            graph_error(
                status,
                130429,
                "(#130429) Rate limit hit",
                Some("Cloud API message throughput has been reached."),
            )
        } else {
            graph_error(
                status,
                131000,
                "(#131000) Something went wrong",
                Some("Something went wrong. Please try again later."),
            )
        };
        if let Ok(v) = HeaderValue::from_str(&retry.to_string()) {
            resp.headers_mut().insert("retry-after", v);
        }
        return resp;
    }
    if let Err(resp) = validate(&parsed) {
        sim.record(
            CHANNEL,
            &to,
            parsed.clone(),
            visible_text(&parsed),
            None,
            Some("rejected".into()),
        );
        return resp;
    }
    if parsed["status"].as_str() == Some("read") {
        return axum::Json(json!({"success": true})).into_response();
    }
    let wamid = format!(
        "wamid.{}",
        base64::engine::general_purpose::STANDARD.encode(sim.hex_id(40).as_bytes())
    );
    sim.record(
        CHANNEL,
        &to,
        parsed.clone(),
        visible_text(&parsed),
        Some(wamid.clone()),
        None,
    );
    let wa_id = normalize_address(&to);
    // Statuses of this message come from the number that sent it.
    sim.lock()
        .wa_sender
        .insert(wamid.clone(), phone_number_id.clone());
    // Outside the 24 h window a session message is accepted now and fails later (131047).
    let in_window = parsed["type"].as_str() == Some("template")
        || sim
            .lock()
            .wa_last_inbound
            .get(&wa_id)
            .is_some_and(|t| now_unix() - t < 24 * 3600);
    let (statuses, error_code) = if sim.rejects(CHANNEL, &wa_id) {
        (vec!["failed".into()], Some(131026))
    } else if in_window {
        (vec!["sent".into(), "delivered".into(), "read".into()], None)
    } else {
        (vec!["failed".into()], Some(131047))
    };
    sim.spawn_auto_statuses(
        CHANNEL,
        StatusRequest {
            message_id: wamid.clone(),
            to: wa_id.clone(),
            statuses,
            error_code,
            callback_url: None,
        },
    );
    axum::Json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{"input": to, "wa_id": wa_id}],
        "messages": [{"id": wamid}],
    }))
    .into_response()
}

fn envelope(phone_number_id: &str, value_extra: Value) -> Value {
    let mut value = json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": DISPLAY_PHONE, "phone_number_id": phone_number_id},
    });
    if let (Some(v), Some(extra)) = (value.as_object_mut(), value_extra.as_object()) {
        for (k, x) in extra {
            v.insert(k.clone(), x.clone());
        }
    }
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": value}]}],
    })
}

async fn deliver(sim: &Sim, payload: &Value) -> Result<Vec<crate::Delivery>, SimError> {
    let url = sim
        .webhook_url(CHANNEL)
        .ok_or_else(|| SimError::NoWebhook(CHANNEL.into()))?;
    let body = sign::meta_json(payload);
    let headers: Vec<(&str, String)> = sim
        .signing_key(CHANNEL, &sim.config().secret)
        .map(|key| {
            (
                "x-hub-signature-256",
                sign::whatsapp_signature(&key, body.as_bytes()),
            )
        })
        .into_iter()
        .collect();
    Ok(sim
        .post_retrying(
            &url,
            "application/json",
            &headers,
            body.as_bytes(),
            sim.copies(CHANNEL),
        )
        .await)
}

/// A customer message: text, button reply, list reply or template quick reply.
pub async fn inbound(sim: &Sim, req: InboundRequest) -> Result<Value, SimError> {
    let wa_id = normalize_address(&req.from);
    if wa_id.is_empty() {
        return Err(SimError::BadRequest("from is required".into()));
    }
    let id = format!(
        "wamid.{}",
        base64::engine::general_purpose::STANDARD.encode(sim.hex_id(40).as_bytes())
    );
    let mut msg = json!({"from": wa_id, "id": id, "timestamp": now_unix().to_string()});
    if let Some(b) = &req.button_reply {
        msg["type"] = json!("interactive");
        msg["interactive"] =
            json!({"type": "button_reply", "button_reply": {"id": b.id, "title": b.title}});
    } else if let Some(l) = &req.list_reply {
        msg["type"] = json!("interactive");
        msg["interactive"] =
            json!({"type": "list_reply", "list_reply": {"id": l.id, "title": l.title}});
    } else if let Some(p) = &req.button_payload {
        msg["type"] = json!("button");
        msg["button"] =
            json!({"payload": p, "text": req.text.clone().unwrap_or_else(|| p.clone())});
    } else {
        let text = req
            .text
            .clone()
            .ok_or_else(|| SimError::BadRequest("text is required".into()))?;
        msg["type"] = json!("text");
        msg["text"] = json!({ "body": text });
    }
    let pnid = req
        .to
        .clone()
        .unwrap_or_else(|| sim.config().whatsapp_phone_number_id.clone());
    let pnid = pnid.as_str();
    let payload = envelope(
        pnid,
        json!({
            "contacts": [{"profile": {"name": req.name.clone().unwrap_or_else(|| "Customer".into())}, "wa_id": wa_id}],
            "messages": [msg],
        }),
    );
    sim.lock().wa_last_inbound.insert(wa_id, now_unix());
    let deliveries = deliver(sim, &payload).await?;
    Ok(json!({"message_id": id, "deliveries": deliveries}))
}

/// One status webhook for a sent message.
pub async fn status(
    sim: &Sim,
    req: &StatusRequest,
    status: &str,
) -> Result<Vec<crate::Delivery>, SimError> {
    let mut st = json!({
        "id": req.message_id,
        "status": status,
        "timestamp": now_unix().to_string(),
        "recipient_id": normalize_address(&req.to),
    });
    if status == "sent" || status == "delivered" {
        st["pricing"] = json!({"billable": true, "pricing_model": "PMP", "category": "utility", "type": "regular"});
    }
    if status == "failed" {
        let code = req.error_code.unwrap_or(131026);
        let (title, details) = match code {
            131047 => (
                "Re-engagement message",
                "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
            ),
            131049 => (
                "This message was not delivered to maintain healthy ecosystem engagement.",
                "In order to maintain a healthy ecosystem engagement, the message failed to be delivered.",
            ),
            _ => ("Message undeliverable", "Message Undeliverable."),
        };
        st["errors"] = json!([{
            "code": code, "title": title, "message": title,
            "error_data": {"details": details},
            "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
        }]);
    }
    let sender = sim.lock().wa_sender.get(&req.message_id).cloned();
    let pnid = sender.unwrap_or_else(|| sim.config().whatsapp_phone_number_id.clone());
    let payload = envelope(&pnid, json!({ "statuses": [st] }));
    deliver(sim, &payload).await
}

/// Meta's subscription handshake: `GET <callback>?hub.mode=subscribe&hub.challenge=…&hub.verify_token=…`.
/// Returns whether the application echoed the challenge with a 200.
pub async fn verify(sim: &Sim, verify_token: &str) -> Result<Value, SimError> {
    let url = sim
        .webhook_url(CHANNEL)
        .ok_or_else(|| SimError::NoWebhook(CHANNEL.into()))?;
    let challenge = (sim.next() % 9_000_000_000 + 1_000_000_000).to_string();
    let query = crate::encode_form(&[
        ("hub.mode".to_owned(), "subscribe".to_owned()),
        ("hub.challenge".to_owned(), challenge.clone()),
        ("hub.verify_token".to_owned(), verify_token.to_owned()),
    ]);
    let sep = if url.contains('?') { '&' } else { '?' };
    let full = format!("{url}{sep}{query}");
    let (status, body) = match sim.client.get(&full).send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            (status, r.text().await.unwrap_or_default())
        }
        Err(e) => (0, e.to_string()),
    };
    Ok(json!({
        "url": full,
        "status": status,
        "body": body,
        "verified": status == 200 && body == challenge,
    }))
}
