//! Fake Telegram Bot API (providers/README.md §4): `POST /bot{token}/{method}` with JSON, form
//! or query parameters, case-insensitive method names, the `{ok,result}` / `{ok:false,
//! error_code,description,parameters}` envelopes, and updates pushed to the webhook set with
//! `setWebhook` carrying `X-Telegram-Bot-Api-Secret-Token`.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::{InboundRequest, Sim, SimError, now_unix, parse_form};

const CHANNEL: &str = "telegram";

/// `{"ok":false,...}` with the HTTP status equal to `error_code`, as Telegram answers.
pub fn tg_error(code: u16, description: &str, parameters: Option<Value>) -> Response {
    let mut body = json!({"ok": false, "error_code": code, "description": description});
    if let Some(p) = parameters {
        body["parameters"] = p;
    }
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
    (status, axum::Json(body)).into_response()
}

fn ok(result: Value) -> Response {
    axum::Json(json!({"ok": true, "result": result})).into_response()
}

fn bad(description: &str) -> Response {
    tg_error(400, &format!("Bad Request: {description}"), None)
}

/// Parameters from the query string, then a form or JSON body. Form values holding JSON
/// (`reply_markup`) are decoded.
fn params(
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Map<String, Value>, Response> {
    let mut m = Map::new();
    let from_form = |m: &mut Map<String, Value>, raw: &[u8]| {
        for (k, v) in parse_form(raw) {
            let val = if matches!(k.as_str(), "reply_markup" | "allowed_updates" | "entities") {
                serde_json::from_str(&v).unwrap_or(Value::String(v))
            } else {
                Value::String(v)
            };
            m.insert(k, val);
        }
    };
    if let Some(q) = query {
        from_form(&mut m, q.as_bytes());
    }
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if body.is_empty() {
        return Ok(m);
    }
    if ct.starts_with("application/json") {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(o)) => m.extend(o),
            _ => return Err(bad("can't parse JSON object")),
        }
    } else if ct.starts_with("application/x-www-form-urlencoded") {
        from_form(&mut m, body);
    }
    Ok(m)
}

fn bot_id(token: &str) -> i64 {
    token
        .split(':')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7_000_000_001)
}

fn bot_user(token: &str) -> Value {
    json!({"id": bot_id(token), "is_bot": true, "first_name": "SmartQueue Sim", "username": "smartqueue_sim_bot"})
}

fn as_i64(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

fn validate_markup(markup: &Value) -> Result<(), Response> {
    if markup.is_null() {
        return Ok(());
    }
    if let Some(rows) = markup.get("inline_keyboard") {
        let rows = rows
            .as_array()
            .ok_or_else(|| bad("field \"inline_keyboard\" of the InlineKeyboardMarkup should be an Array of Arrays"))?;
        for row in rows {
            let row = row
                .as_array()
                .ok_or_else(|| bad("field \"inline_keyboard\" of the InlineKeyboardMarkup should be an Array of Arrays"))?;
            for button in row {
                if button["text"].as_str().is_none_or(str::is_empty) {
                    return Err(bad("text buttons are unallowed in the inline keyboard"));
                }
                if let Some(data) = button.get("callback_data") {
                    let len = data.as_str().map_or(0, str::len);
                    if len == 0 || len > 64 {
                        return Err(bad("BUTTON_DATA_INVALID"));
                    }
                } else if button.get("url").is_none()
                    && button.get("web_app").is_none()
                    && button.get("switch_inline_query").is_none()
                    && button.get("copy_text").is_none()
                {
                    return Err(bad(
                        "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
                    ));
                }
            }
        }
    } else if let Some(rows) = markup.get("keyboard")
        && !rows.is_array()
    {
        return Err(bad(
            "field \"keyboard\" of the ReplyKeyboardMarkup should be an Array of Arrays",
        ));
    }
    Ok(())
}

/// `POST|GET /bot{token}/{method}`.
pub async fn method(
    State(sim): State<Sim>,
    Path((bot, method)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Some(token) = bot.strip_prefix("bot").filter(|t| !t.is_empty()) else {
        return tg_error(404, "Not Found", None);
    };
    if let Some(want) = &sim.config().telegram_token
        && want != token
    {
        return tg_error(401, "Unauthorized", None);
    }
    let p = match params(query.as_deref(), &headers, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let method = method.to_ascii_lowercase();
    let chat = p.get("chat_id").map(|v| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    });
    let sending = matches!(
        method.as_str(),
        "sendmessage" | "answercallbackquery" | "editmessagetext"
    );
    if sending && let Some((status, retry)) = sim.send_fault(CHANNEL).await {
        sim.record(
            CHANNEL,
            chat.as_deref().unwrap_or_default(),
            json!({"method": method, "params": p}),
            p.get("text").and_then(Value::as_str).map(str::to_owned),
            None,
            Some(format!("injected {status}")),
        );
        return if status == StatusCode::TOO_MANY_REQUESTS {
            tg_error(
                429,
                &format!("Too Many Requests: retry after {retry}"),
                Some(json!({ "retry_after": retry })),
            )
        } else {
            tg_error(status.as_u16(), "Internal Server Error", None)
        };
    }
    let record = |result: &Result<Value, Response>, id: Option<String>| {
        sim.record(
            CHANNEL,
            chat.as_deref()
                .or(p.get("callback_query_id").and_then(Value::as_str))
                .unwrap_or_default(),
            json!({"method": method, "params": p}),
            p.get("text").and_then(Value::as_str).map(str::to_owned),
            id,
            result.as_ref().err().map(|_| "rejected".to_owned()),
        );
    };
    let result: Result<Value, Response> = match method.as_str() {
        "getme" => return ok(bot_user(token)),
        "setwebhook" => {
            let url = p.get("url").and_then(Value::as_str).unwrap_or_default();
            let secret = p
                .get("secret_token")
                .and_then(Value::as_str)
                .map(str::to_owned);
            if let Some(s) = &secret
                && (s.is_empty()
                    || s.len() > 256
                    || !s
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
            {
                return bad("secret token contains unallowed characters");
            }
            if let Some(mc) = p.get("max_connections").and_then(as_i64)
                && !(1..=100).contains(&mc)
            {
                return bad("bad webhook: max_connections must be between 1 and 100");
            }
            let mut inner = sim.lock();
            if url.is_empty() {
                inner.telegram_webhook = None;
                return ok_described("Webhook was deleted");
            }
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return bad("bad webhook: An HTTPS URL must be provided for webhook");
            }
            inner.telegram_webhook = Some((url.to_owned(), secret));
            return ok_described("Webhook was set");
        }
        "deletewebhook" => {
            sim.lock().telegram_webhook = None;
            return ok_described("Webhook was deleted");
        }
        "getwebhookinfo" => {
            let url = sim.webhook_url(CHANNEL).unwrap_or_default();
            return ok(
                json!({"url": url, "has_custom_certificate": false, "pending_update_count": 0}),
            );
        }
        "sendmessage" | "editmessagetext" => (|| {
            let chat_id = chat
                .clone()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| bad("chat_id is empty"))?;
            if sim.rejects(CHANNEL, &chat_id) {
                return Err(tg_error(
                    403,
                    "Forbidden: bot was blocked by the user",
                    None,
                ));
            }
            let text = p.get("text").and_then(Value::as_str).unwrap_or_default();
            if text.trim().is_empty() {
                return Err(bad("message text is empty"));
            }
            if text.chars().count() > 4096 {
                return Err(bad("message is too long"));
            }
            validate_markup(p.get("reply_markup").unwrap_or(&Value::Null))?;
            let message_id = match p.get("message_id").and_then(as_i64) {
                Some(id) if method == "editmessagetext" => id,
                _ => sim.next() as i64,
            };
            let chat_id_json = chat_id
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or(Value::String(chat_id.clone()));
            let mut msg = json!({
                "message_id": message_id,
                "from": bot_user(token),
                "chat": {"id": chat_id_json, "type": "private"},
                "date": now_unix(),
                "text": text,
            });
            if let Some(m) = p.get("reply_markup")
                && m.get("inline_keyboard").is_some()
            {
                msg["reply_markup"] = m.clone();
            }
            Ok(msg)
        })(),
        "answercallbackquery" => (|| {
            let id = p
                .get("callback_query_id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if p.get("text")
                .and_then(Value::as_str)
                .is_some_and(|t| t.chars().count() > 200)
            {
                return Err(bad("MESSAGE_TOO_LONG"));
            }
            let mut inner = sim.lock();
            let Some(pos) = inner.telegram_callbacks.iter().position(|c| c == id) else {
                return Err(bad(
                    "query is too old and response timeout expired or query ID is invalid",
                ));
            };
            inner.telegram_callbacks.remove(pos);
            Ok(json!(true))
        })(),
        _ => return tg_error(404, "Not Found", None),
    };
    let id = result
        .as_ref()
        .ok()
        .and_then(|r| r.get("message_id"))
        .map(Value::to_string);
    record(&result, id);
    match result {
        Ok(v) => ok(v),
        Err(r) => r,
    }
}

/// Telegram adds a `description` to some successful answers (`setWebhook`).
fn ok_described(d: &str) -> Response {
    axum::Json(json!({"ok": true, "result": true, "description": d})).into_response()
}

/// A user message or an inline-keyboard tap, pushed as one Update.
pub async fn inbound(sim: &Sim, req: InboundRequest) -> Result<Value, SimError> {
    let user_id: i64 = req
        .from
        .parse()
        .map_err(|_| SimError::BadRequest("from must be a numeric Telegram user id".into()))?;
    let set_by_bot = sim.lock().telegram_webhook.clone();
    let (url, secret) = match set_by_bot {
        Some(x) => x,
        // No setWebhook yet: the configured URL, with the shared secret as secret token.
        None => (
            sim.webhook_url(CHANNEL)
                .ok_or_else(|| SimError::NoWebhook(CHANNEL.into()))?,
            Some(sim.config().secret.clone()),
        ),
    };
    let name = req.name.clone().unwrap_or_else(|| "Customer".into());
    let user = json!({"id": user_id, "is_bot": false, "first_name": name, "language_code": "en"});
    let chat = json!({"id": user_id, "first_name": name, "type": "private"});
    let update_id = sim.next() as i64 + 892_252_000;
    let update = if let Some(data) = &req.callback_data {
        let qid = format!("{}", 938_475_601_234_567_000_u64 + sim.next());
        sim.lock().telegram_callbacks.push(qid.clone());
        json!({
            "update_id": update_id,
            "callback_query": {
                "id": qid,
                "from": user,
                "message": {"message_id": sim.next(), "from": {"id": 7_000_000_001_i64, "is_bot": true, "first_name": "SmartQueue Sim"}, "chat": chat, "date": now_unix(), "text": req.text.clone().unwrap_or_default()},
                "chat_instance": "-4783617326438126503",
                "data": data,
            }
        })
    } else {
        let text = req
            .text
            .clone()
            .ok_or_else(|| SimError::BadRequest("text or callback_data is required".into()))?;
        let mut message = json!({
            "message_id": sim.next(),
            "from": user,
            "chat": chat,
            "date": now_unix(),
            "text": text,
        });
        if text.starts_with('/') {
            let len = text
                .split_whitespace()
                .next()
                .map_or(0, |c| c.encode_utf16().count());
            message["entities"] = json!([{"offset": 0, "length": len, "type": "bot_command"}]);
        }
        json!({"update_id": update_id, "message": message})
    };
    let mut headers = Vec::new();
    if let Some(s) = secret
        && let Some(s) = sim.signing_key(CHANNEL, &s)
    {
        headers.push(("x-telegram-bot-api-secret-token", s));
    }
    let body = serde_json::to_vec(&update).unwrap_or_default();
    let deliveries = sim
        .post_retrying(
            &url,
            "application/json",
            &headers,
            &body,
            sim.copies(CHANNEL),
        )
        .await;
    Ok(json!({"update": update, "deliveries": deliveries}))
}
