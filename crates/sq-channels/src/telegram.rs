//! Telegram Bot API (providers/README.md §4).
//!
//! Webhooks are checked by constant-time equality of `X-Telegram-Bot-Api-Secret-Token` with
//! the secret given to `setWebhook` (there is no body HMAC). One `Update` per POST: a
//! `message` becomes text, a `callback_query` becomes [`InboundKind::Callback`]; other
//! update kinds are acknowledged and dropped. The `update_id` is the dedupe key.
//!
//! Sending is plain JSON over HTTP — `POST {api_url}/bot{token}/sendMessage` and
//! `answerCallbackQuery` — rather than teloxide-core's `Bot`: the adapter contract is to
//! return an `http::Request` (so the outbox can send it with its own client and tests can
//! compare bytes) and to classify the answer itself, while teloxide's requests execute
//! inside its own client and hide both. The wire format is the one teloxide-core produces.

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::util::{check_len, check_non_empty, header, json as parse_json, unix_time};
use crate::{
    Adapter, Address, Inbound, InboundEvent, InboundKind, KeyboardAction, OutboundBody,
    OutboundMessage, ParseError, Provider, RenderError, RouteKind, RouteSpec, Secret, SendError,
    SendOutcome, VerifyError,
};

pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";
pub const DEFAULT_API_URL: &str = "https://api.telegram.org";

pub mod limits {
    pub const TEXT: usize = 4096;
    pub const CALLBACK_DATA_BYTES: usize = 64;
    pub const CALLBACK_ANSWER: usize = 200;
}

#[derive(Clone, Debug, serde::Deserialize)]
pub struct TelegramCredentials {
    pub bot_token: Secret,
    /// The `secret_token` given to `setWebhook` (1–256 of `A-Za-z0-9_-`).
    pub secret_token: Secret,
    /// Bot API base URL without trailing slash (the simulator's in tests).
    #[serde(default = "default_api_url")]
    pub api_url: String,
}

#[derive(Clone, Debug)]
pub struct Telegram {
    creds: TelegramCredentials,
}

impl Telegram {
    pub fn new(creds: TelegramCredentials) -> Self {
        Self { creds }
    }

    /// The method name and JSON body for `out`.
    pub fn render_body(&self, out: &OutboundMessage) -> Result<(&'static str, Value), RenderError> {
        let chat_id = || match &out.to {
            Address::TelegramChat(id) => Ok(*id),
            other => Err(RenderError::BadAddress {
                provider: Provider::Telegram,
                address: format!("{other:?}"),
            }),
        };
        match &out.body {
            OutboundBody::Text(text) => {
                check_non_empty("text", text)?;
                check_len("text", text, limits::TEXT)?;
                Ok((
                    "sendMessage",
                    json!({ "chat_id": chat_id()?, "text": text }),
                ))
            }
            OutboundBody::Keyboard {
                text,
                inline_keyboard,
            } => {
                check_non_empty("text", text)?;
                check_len("text", text, limits::TEXT)?;
                let mut rows = Vec::new();
                for row in inline_keyboard {
                    let mut buttons = Vec::new();
                    for b in row {
                        check_non_empty("button text", &b.text)?;
                        buttons.push(match &b.action {
                            KeyboardAction::Callback(data) => {
                                if data.is_empty() {
                                    return Err(RenderError::Empty("callback_data"));
                                }
                                if data.len() > limits::CALLBACK_DATA_BYTES {
                                    return Err(RenderError::OverLimit {
                                        what: "callback_data bytes",
                                        actual: data.len(),
                                        limit: limits::CALLBACK_DATA_BYTES,
                                    });
                                }
                                json!({ "text": b.text, "callback_data": data })
                            }
                            KeyboardAction::Url(url) => json!({ "text": b.text, "url": url }),
                        });
                    }
                    rows.push(Value::Array(buttons));
                }
                Ok((
                    "sendMessage",
                    json!({
                        "chat_id": chat_id()?,
                        "text": text,
                        "reply_markup": { "inline_keyboard": rows },
                    }),
                ))
            }
            OutboundBody::ReplyKeyboard {
                text,
                keyboard,
                one_time,
                placeholder,
            } => {
                check_non_empty("text", text)?;
                check_len("text", text, limits::TEXT)?;
                let rows: Vec<Value> = keyboard
                    .iter()
                    .map(|row| {
                        Value::Array(
                            row.iter()
                                .map(|b| {
                                    let mut v = json!({ "text": b.text });
                                    if b.request_contact {
                                        v["request_contact"] = json!(true);
                                    }
                                    v
                                })
                                .collect(),
                        )
                    })
                    .collect();
                let mut markup = json!({
                    "keyboard": rows,
                    "resize_keyboard": true,
                    "one_time_keyboard": one_time,
                });
                if let Some(p) = placeholder {
                    check_len("input_field_placeholder", p, 64)?;
                    markup["input_field_placeholder"] = json!(p);
                }
                Ok((
                    "sendMessage",
                    json!({ "chat_id": chat_id()?, "text": text, "reply_markup": markup }),
                ))
            }
            OutboundBody::AnswerCallback {
                query_id,
                text,
                show_alert,
            } => {
                check_non_empty("callback_query_id", query_id)?;
                let mut body = json!({ "callback_query_id": query_id });
                if let Some(t) = text {
                    check_len("callback answer", t, limits::CALLBACK_ANSWER)?;
                    body["text"] = json!(t);
                }
                body["show_alert"] = json!(show_alert);
                body["cache_time"] = json!(0);
                Ok(("answerCallbackQuery", body))
            }
            other => Err(RenderError::Unsupported {
                provider: Provider::Telegram,
                body: other.name(),
            }),
        }
    }
}

impl Telegram {
    /// The `setWebhook` call that points Telegram (or the simulator) at `url` with our
    /// secret token, for message and callback_query updates only.
    pub fn set_webhook_request(
        &self,
        url: &str,
        drop_pending_updates: bool,
    ) -> Result<Request<Vec<u8>>, RenderError> {
        let body = json!({
            "url": url,
            "secret_token": self.creds.secret_token.expose(),
            "allowed_updates": ["message", "callback_query"],
            "max_connections": 40,
            "drop_pending_updates": drop_pending_updates,
        });
        self.request("setWebhook", &body)
    }

    fn request(&self, method: &str, body: &Value) -> Result<Request<Vec<u8>>, RenderError> {
        let url = format!(
            "{}/bot{}/{method}",
            self.creds.api_url.trim_end_matches('/'),
            self.creds.bot_token.expose()
        );
        crate::util::build_request(
            Method::POST,
            &url,
            &[(http::header::CONTENT_TYPE, "application/json".to_owned())],
            serde_json::to_vec(body).map_err(|e| RenderError::Http(e.to_string()))?,
        )
    }
}

impl Adapter for Telegram {
    fn provider(&self) -> Provider {
        Provider::Telegram
    }

    fn routes(&self) -> Vec<RouteSpec> {
        vec![RouteSpec::new(Method::POST, "", RouteKind::Events)]
    }

    fn verify(&self, req: &Request<Bytes>, _public_url: &str) -> Result<(), VerifyError> {
        let got = header(req, SECRET_HEADER).ok_or(VerifyError::MissingSignature(SECRET_HEADER))?;
        if self.creds.secret_token.matches(got) {
            Ok(())
        } else {
            Err(VerifyError::BadSignature)
        }
    }

    fn parse(&self, req: &Request<Bytes>) -> Result<Vec<Inbound>, ParseError> {
        let u: Update = parse_json(req.body())?;
        let id = u.update_id.to_string();
        if let Some(m) = u.message {
            let kind = match m.text {
                Some(t) => InboundKind::Text(t),
                None => InboundKind::Unsupported {
                    kind: "message".into(),
                },
            };
            return Ok(vec![Inbound::Message(InboundEvent {
                provider_message_id: id,
                from: Address::TelegramChat(m.chat.id),
                to: None,
                kind,
                timestamp: unix_time(m.date),
                profile_name: m.from.as_ref().and_then(|f| f.first_name.clone()),
                language: m.from.and_then(|f| f.language_code),
                consent: None,
            })]);
        }
        if let Some(q) = u.callback_query {
            // Reply in the chat the keyboard was in; the user's own id for inline messages.
            let chat = q
                .message
                .as_ref()
                .and_then(|m| m.chat.as_ref())
                .map_or(q.from.id, |c| c.id);
            let Some(data) = q.data else {
                return Ok(Vec::new()); // game_short_name: not ours
            };
            return Ok(vec![Inbound::Message(InboundEvent {
                provider_message_id: id,
                from: Address::TelegramChat(chat),
                to: None,
                kind: InboundKind::Callback {
                    query_id: q.id,
                    data,
                },
                timestamp: None,
                profile_name: q.from.first_name,
                language: q.from.language_code,
                consent: None,
            })]);
        }
        Ok(Vec::new())
    }

    fn render(&self, out: &OutboundMessage) -> Result<Request<Vec<u8>>, RenderError> {
        let (method, body) = self.render_body(out)?;
        self.request(method, &body)
    }

    fn parse_send_response(
        &self,
        status: StatusCode,
        body: &[u8],
    ) -> Result<SendOutcome, SendError> {
        #[derive(Deserialize)]
        struct Envelope {
            ok: bool,
            result: Option<Value>,
            error_code: Option<i64>,
            description: Option<String>,
            parameters: Option<Params>,
        }
        #[derive(Deserialize)]
        struct Params {
            retry_after: Option<u64>,
            migrate_to_chat_id: Option<i64>,
        }
        let Ok(env) = serde_json::from_slice::<Envelope>(body) else {
            let detail: String = String::from_utf8_lossy(body).chars().take(200).collect();
            return Err(SendError::from_http(
                status,
                status.as_u16().to_string(),
                detail,
            ));
        };
        if env.ok {
            let id = match &env.result {
                Some(Value::Object(m)) => m
                    .get("message_id")
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
                _ => String::new(), // answerCallbackQuery returns `true`
            };
            return Ok(SendOutcome::single(id));
        }
        let code = env.error_code.unwrap_or(i64::from(status.as_u16()));
        let detail = env.description.unwrap_or_default();
        let params = env.parameters;
        if let Some(secs) = params.as_ref().and_then(|p| p.retry_after) {
            return Err(SendError::Retryable {
                retry_after: Some(Duration::from_secs(secs)),
                code: code.to_string(),
                detail,
            });
        }
        if let Some(chat) = params.and_then(|p| p.migrate_to_chat_id) {
            return Err(SendError::permanent(
                "migrate_to_chat_id",
                format!("{detail} (new chat id {chat})"),
            ));
        }
        let status = u16::try_from(code)
            .ok()
            .and_then(|c| StatusCode::from_u16(c).ok())
            .unwrap_or(status);
        Err(SendError::from_http(status, code.to_string(), detail))
    }
}

#[derive(Deserialize)]
struct Update {
    update_id: i64,
    message: Option<Message>,
    callback_query: Option<CallbackQuery>,
}

#[derive(Deserialize)]
struct Message {
    from: Option<User>,
    chat: Chat,
    date: i64,
    text: Option<String>,
}

#[derive(Deserialize)]
struct Chat {
    id: i64,
}

#[derive(Deserialize)]
struct User {
    id: i64,
    first_name: Option<String>,
    language_code: Option<String>,
}

#[derive(Deserialize)]
struct CallbackQuery {
    id: String,
    from: User,
    message: Option<MaybeMessage>,
    data: Option<String>,
}

/// `MaybeInaccessibleMessage`: only the chat is needed.
#[derive(Deserialize)]
struct MaybeMessage {
    chat: Option<Chat>,
}

fn default_api_url() -> String {
    DEFAULT_API_URL.to_owned()
}
