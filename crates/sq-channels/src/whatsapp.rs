//! Meta WhatsApp Cloud API (providers/README.md §1).
//!
//! Inbound: GET `hub.*` handshake (dotted names read from the raw query, constant-time token
//! compare, challenge echoed verbatim) and signed POSTs (`X-Hub-Signature-256` = HMAC-SHA256
//! of the raw body, compared in constant time before any JSON parsing). Every `entry[]`,
//! `changes[]`, `messages[]` and `statuses[]` is read: Meta batches.
//!
//! Outbound: `POST {graph}/{version}/{phone_number_id}/messages` with text, reply buttons,
//! list and template bodies, checked against the limits of §1.9 (never truncated).

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use hmac::{KeyInit, Mac};
use http::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::util::{check_len, check_non_empty, header, json as parse_json, query_pairs, unix_time};
use crate::{
    Adapter, Address, DeliveryStatus, Header, Inbound, InboundEvent, InboundKind, OutboundBody,
    OutboundMessage, ParseError, Provider, RenderError, RouteKind, RouteSpec, Secret, SendError,
    SendOutcome, StatusUpdate, VerifyError, plain_response,
};

pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";
pub const DEFAULT_GRAPH_URL: &str = "https://graph.facebook.com";
pub const DEFAULT_API_VERSION: &str = "v25.0";

/// Limits from providers/README.md §1.9, in characters.
pub mod limits {
    pub const TEXT_BODY: usize = 4096;
    pub const INTERACTIVE_BODY: usize = 1024;
    pub const HEADER_TEXT: usize = 60;
    pub const FOOTER: usize = 60;
    pub const BUTTONS: usize = 3;
    pub const BUTTON_TITLE: usize = 20;
    pub const BUTTON_ID: usize = 256;
    pub const LIST_BUTTON: usize = 20;
    pub const SECTIONS: usize = 10;
    pub const SECTION_TITLE: usize = 24;
    pub const ROWS_TOTAL: usize = 10;
    pub const ROW_ID: usize = 200;
    pub const ROW_TITLE: usize = 24;
    pub const ROW_DESCRIPTION: usize = 72;
}

/// Error codes Meta uses for throttling and transient trouble (courier's throttle set plus
/// 131053 media upload and 131057 maintenance).
const RETRYABLE_CODES: &[i64] = &[4, 80007, 130429, 131048, 131053, 131056, 131057, 133016];

/// The customer-service window (providers §1.7): 24 hours from the customer's last message,
/// kept with a 10-minute safety margin. Outside it only a template may be sent (the caller
/// picks the tenant's approved template, or falls back to SMS).
pub const SERVICE_WINDOW_SAFE: chrono::TimeDelta = chrono::TimeDelta::minutes(23 * 60 + 50);

/// Whether a session (non-template) message may still be sent at `now`.
pub fn within_service_window(
    last_inbound_at: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
) -> bool {
    last_inbound_at.is_some_and(|t| now >= t && now < t + SERVICE_WINDOW_SAFE)
}

#[derive(Clone, Debug, serde::Deserialize)]
pub struct WhatsAppCredentials {
    pub phone_number_id: String,
    /// System-user access token (`Authorization: Bearer`).
    pub access_token: Secret,
    /// App secret: the HMAC key of `X-Hub-Signature-256`.
    pub app_secret: Secret,
    /// The Verify Token typed into the App Dashboard.
    pub verify_token: Secret,
    /// Graph base URL without trailing slash (point it at the simulator in tests).
    #[serde(default = "default_graph_url")]
    pub graph_url: String,
    #[serde(default = "default_api_version")]
    pub api_version: String,
}

#[derive(Clone, Debug)]
pub struct WhatsApp {
    creds: WhatsAppCredentials,
}

impl WhatsApp {
    pub fn new(creds: WhatsAppCredentials) -> Self {
        Self { creds }
    }

    /// `sha256=<hex>` for `body`: what Meta sends (used by tests and the demo wiring).
    pub fn signature(app_secret: &str, body: &[u8]) -> String {
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(app_secret.as_bytes())
            .expect("HMAC accepts keys of any length");
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    fn messages_url(&self) -> String {
        format!(
            "{}/{}/{}/messages",
            self.creds.graph_url.trim_end_matches('/'),
            self.creds.api_version,
            self.creds.phone_number_id
        )
    }

    /// The JSON body for `out` (without transport).
    pub fn render_body(&self, out: &OutboundMessage) -> Result<Value, RenderError> {
        if let OutboundBody::MarkRead { message_id } = &out.body {
            check_non_empty("message_id", message_id)?;
            return Ok(json!({
                "messaging_product": "whatsapp",
                "status": "read",
                "message_id": message_id,
                "typing_indicator": { "type": "text" },
            }));
        }
        let to = match &out.to {
            Address::Phone(p) => p.as_str().to_owned(),
            other => {
                return Err(RenderError::BadAddress {
                    provider: Provider::WhatsAppCloud,
                    address: format!("{other:?}"),
                });
            }
        };
        let mut msg = json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
        });
        let (kind, payload) = match &out.body {
            OutboundBody::Text(body) => {
                check_non_empty("text body", body)?;
                check_len("text body", body, limits::TEXT_BODY)?;
                let preview = body.contains("https://") || body.contains("http://");
                ("text", json!({ "preview_url": preview, "body": body }))
            }
            OutboundBody::Buttons { body, buttons } => {
                check_non_empty("interactive body", body)?;
                check_len("interactive body", body, limits::INTERACTIVE_BODY)?;
                if buttons.is_empty() {
                    return Err(RenderError::Empty("buttons"));
                }
                if buttons.len() > limits::BUTTONS {
                    return Err(RenderError::OverLimit {
                        what: "reply buttons",
                        actual: buttons.len(),
                        limit: limits::BUTTONS,
                    });
                }
                let mut seen = HashSet::new();
                let mut list = Vec::new();
                for b in buttons {
                    check_non_empty("button title", &b.title)?;
                    check_non_empty("button id", &b.id)?;
                    check_len("button title", &b.title, limits::BUTTON_TITLE)?;
                    check_len("button id", &b.id, limits::BUTTON_ID)?;
                    if !seen.insert(b.title.as_str()) {
                        return Err(RenderError::DuplicateTitle(b.title.clone()));
                    }
                    list.push(
                        json!({ "type": "reply", "reply": { "id": b.id, "title": b.title } }),
                    );
                }
                let mut i = json!({ "type": "button" });
                self.decorate(&mut i, out)?;
                i["body"] = json!({ "text": body });
                i["action"] = json!({ "buttons": list });
                ("interactive", i)
            }
            OutboundBody::List {
                body,
                button,
                sections,
            } => {
                check_non_empty("interactive body", body)?;
                check_len("interactive body", body, limits::INTERACTIVE_BODY)?;
                check_non_empty("list button", button)?;
                check_len("list button", button, limits::LIST_BUTTON)?;
                if sections.is_empty() {
                    return Err(RenderError::Empty("list sections"));
                }
                if sections.len() > limits::SECTIONS {
                    return Err(RenderError::OverLimit {
                        what: "list sections",
                        actual: sections.len(),
                        limit: limits::SECTIONS,
                    });
                }
                let total: usize = sections.iter().map(|s| s.rows.len()).sum();
                if total == 0 {
                    return Err(RenderError::Empty("list rows"));
                }
                if total > limits::ROWS_TOTAL {
                    return Err(RenderError::OverLimit {
                        what: "list rows",
                        actual: total,
                        limit: limits::ROWS_TOTAL,
                    });
                }
                let mut secs = Vec::new();
                for s in sections {
                    let mut rows = Vec::new();
                    for r in &s.rows {
                        check_non_empty("row id", &r.id)?;
                        check_non_empty("row title", &r.title)?;
                        check_len("row id", &r.id, limits::ROW_ID)?;
                        check_len("row title", &r.title, limits::ROW_TITLE)?;
                        let mut row = json!({ "id": r.id, "title": r.title });
                        if let Some(d) = &r.description {
                            check_len("row description", d, limits::ROW_DESCRIPTION)?;
                            row["description"] = json!(d);
                        }
                        rows.push(row);
                    }
                    let mut sec = json!({});
                    match &s.title {
                        Some(t) => {
                            check_len("section title", t, limits::SECTION_TITLE)?;
                            sec["title"] = json!(t);
                        }
                        None if sections.len() > 1 => {
                            return Err(RenderError::Empty("section title"));
                        }
                        None => {}
                    }
                    sec["rows"] = Value::Array(rows);
                    secs.push(sec);
                }
                let mut i = json!({ "type": "list" });
                self.decorate(&mut i, out)?;
                i["body"] = json!({ "text": body });
                i["action"] = json!({ "button": button, "sections": secs });
                ("interactive", i)
            }
            OutboundBody::Template(t) => {
                check_non_empty("template name", &t.name)?;
                let mut components = Vec::new();
                if !t.body_params.is_empty() {
                    let params: Vec<Value> = t
                        .body_params
                        .iter()
                        .map(|p| json!({ "type": "text", "text": p }))
                        .collect();
                    components.push(json!({ "type": "body", "parameters": params }));
                }
                for (index, payload) in t.quick_reply_payloads.iter().enumerate() {
                    components.push(json!({
                        "type": "button",
                        "sub_type": "quick_reply",
                        "index": index.to_string(),
                        "parameters": [ { "type": "payload", "payload": payload } ],
                    }));
                }
                let mut tpl = json!({ "name": t.name, "language": { "code": t.language } });
                if !components.is_empty() {
                    tpl["components"] = Value::Array(components);
                }
                ("template", tpl)
            }
            other => {
                return Err(RenderError::Unsupported {
                    provider: Provider::WhatsAppCloud,
                    body: other.name(),
                });
            }
        };
        msg["type"] = json!(kind);
        msg[kind] = payload;
        if let Some(c) = &out.correlation {
            msg["biz_opaque_callback_data"] = json!(c);
        }
        Ok(msg)
    }

    fn decorate(&self, interactive: &mut Value, out: &OutboundMessage) -> Result<(), RenderError> {
        match &out.header {
            Some(Header::Text(t)) => {
                check_len("header", t, limits::HEADER_TEXT)?;
                interactive["header"] = json!({ "type": "text", "text": t });
            }
            Some(Header::Image { id }) => {
                interactive["header"] = json!({ "type": "image", "image": { "id": id } });
            }
            None => {}
        }
        if let Some(f) = &out.footer {
            check_len("footer", f, limits::FOOTER)?;
            interactive["footer"] = json!({ "text": f });
        }
        Ok(())
    }
}

impl Adapter for WhatsApp {
    fn provider(&self) -> Provider {
        Provider::WhatsAppCloud
    }

    fn routes(&self) -> Vec<RouteSpec> {
        vec![
            RouteSpec::new(Method::GET, "", RouteKind::Handshake),
            RouteSpec::new(Method::POST, "", RouteKind::Events),
        ]
    }

    fn verify(&self, req: &Request<Bytes>, _public_url: &str) -> Result<(), VerifyError> {
        let sig =
            header(req, SIGNATURE_HEADER).ok_or(VerifyError::MissingSignature(SIGNATURE_HEADER))?;
        let hex_part = sig
            .strip_prefix(b"sha256=")
            .filter(|h| h.len() == 64)
            .ok_or(VerifyError::MalformedSignature)?;
        let expected = Self::signature(self.creds.app_secret.expose(), req.body());
        // Meta sends lowercase hex; accept uppercase too rather than fail on a proxy's whim.
        let got = hex_part.to_ascii_lowercase();
        if bool::from(expected.as_bytes()[7..].ct_eq(&got)) {
            Ok(())
        } else {
            Err(VerifyError::BadSignature)
        }
    }

    fn handshake(&self, req: &Request<Bytes>) -> Option<Response<Vec<u8>>> {
        if req.method() != Method::GET {
            return None;
        }
        let q = query_pairs(req);
        let get = |n: &str| q.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        let ok = get("hub.mode") == Some("subscribe")
            && get("hub.verify_token")
                .is_some_and(|t| self.creds.verify_token.matches(t.as_bytes()));
        Some(match (ok, get("hub.challenge")) {
            (true, Some(challenge)) => {
                plain_response(StatusCode::OK, "text/plain", challenge.as_bytes().to_vec())
            }
            _ => plain_response(StatusCode::FORBIDDEN, "text/plain", b"forbidden".to_vec()),
        })
    }

    fn parse(&self, req: &Request<Bytes>) -> Result<Vec<Inbound>, ParseError> {
        let env: Envelope = parse_json(req.body())?;
        let mut out = Vec::new();
        for entry in env.entry {
            for change in entry.changes {
                if change.field.as_deref().is_some_and(|f| f != "messages") {
                    continue;
                }
                let v = change.value;
                let to = v
                    .metadata
                    .as_ref()
                    .and_then(|m| m.display_phone_number.as_deref())
                    .map(Address::phone_or_other);
                for m in v.messages {
                    let profile_name = v
                        .contacts
                        .iter()
                        .find(|c| c.wa_id.as_deref() == Some(m.from.as_str()))
                        .or(v.contacts.first())
                        .and_then(|c| c.profile.as_ref())
                        .and_then(|p| p.name.clone());
                    out.push(Inbound::Message(InboundEvent {
                        provider_message_id: m.id.clone(),
                        from: Address::phone_or_other(&m.from),
                        to: to.clone(),
                        kind: message_kind(&m),
                        timestamp: m
                            .timestamp
                            .as_deref()
                            .and_then(|t| t.parse().ok())
                            .and_then(unix_time),
                        profile_name,
                        language: None,
                        consent: None,
                    }));
                }
                for s in v.statuses {
                    let status = match s.status.as_str() {
                        "sent" => DeliveryStatus::Sent,
                        "delivered" => DeliveryStatus::Delivered,
                        "read" | "played" => DeliveryStatus::Read,
                        "failed" => DeliveryStatus::Failed,
                        _ => continue, // deleted / warning: nothing to record
                    };
                    out.push(Inbound::Status(StatusUpdate {
                        provider_message_id: s.id,
                        status,
                        error_code: s.errors.first().and_then(|e| e.code).map(|c| c.to_string()),
                        recipient: s.recipient_id.as_deref().map(Address::phone_or_other),
                        timestamp: s
                            .timestamp
                            .as_deref()
                            .and_then(|t| t.parse().ok())
                            .and_then(unix_time),
                    }));
                }
            }
        }
        Ok(out)
    }

    fn render(&self, out: &OutboundMessage) -> Result<Request<Vec<u8>>, RenderError> {
        let body = serde_json::to_vec(&self.render_body(out)?)
            .map_err(|e| RenderError::Http(e.to_string()))?;
        crate::util::build_request(
            Method::POST,
            &self.messages_url(),
            &[
                (
                    http::header::AUTHORIZATION,
                    format!("Bearer {}", self.creds.access_token.expose()),
                ),
                (http::header::CONTENT_TYPE, "application/json".to_owned()),
            ],
            body,
        )
    }

    fn parse_send_response(
        &self,
        status: StatusCode,
        body: &[u8],
    ) -> Result<SendOutcome, SendError> {
        if status.is_success() {
            let ok: SendOk = parse_json(body)
                .map_err(|e| SendError::permanent("bad_response", e.to_string()))?;
            if ok.success == Some(true) {
                return Ok(SendOutcome::single(""));
            }
            return ok
                .messages
                .into_iter()
                .next()
                .map(|m| SendOutcome::single(m.id))
                .ok_or_else(|| SendError::permanent("bad_response", "no message id in response"));
        }
        let err = serde_json::from_slice::<GraphErrorBody>(body)
            .ok()
            .map(|b| b.error);
        let (code, detail) = match &err {
            Some(e) => (
                e.code,
                e.error_data
                    .as_ref()
                    .and_then(|d| d.details.clone())
                    .or_else(|| e.message.clone())
                    .unwrap_or_default(),
            ),
            None => (
                None,
                String::from_utf8_lossy(body).chars().take(200).collect(),
            ),
        };
        let code_str = code.map_or_else(|| status.as_u16().to_string(), |c| c.to_string());
        if code.is_some_and(|c| RETRYABLE_CODES.contains(&c)) {
            return Err(SendError::Retryable {
                // Meta gives no hint; the 80 mps bucket refills within a second.
                retry_after: Some(Duration::from_secs(1)),
                code: code_str,
                detail,
            });
        }
        Err(SendError::from_http(status, code_str, detail))
    }
}

fn message_kind(m: &Message) -> InboundKind {
    let unsupported = |k: &str| InboundKind::Unsupported { kind: k.to_owned() };
    match m.kind.as_str() {
        "text" => match &m.text {
            Some(t) => InboundKind::Text(t.body.clone()),
            None => unsupported("text"),
        },
        "interactive" => match &m.interactive {
            Some(Interactive {
                button_reply: Some(r),
                ..
            }) => InboundKind::ButtonReply {
                id: r.id.clone(),
                title: r.title.clone(),
            },
            Some(Interactive {
                list_reply: Some(r),
                ..
            }) => InboundKind::ListReply {
                id: r.id.clone(),
                title: r.title.clone(),
            },
            _ => unsupported("interactive"),
        },
        "button" => match &m.button {
            Some(b) => InboundKind::TemplateButton {
                payload: b.payload.clone().unwrap_or_default(),
                text: b.text.clone().unwrap_or_default(),
            },
            None => unsupported("button"),
        },
        "unsupported" => {
            let inner = m
                .unsupported
                .as_ref()
                .and_then(|u| u.get("type"))
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            unsupported(&format!("unsupported:{inner}"))
        }
        other => unsupported(other),
    }
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    field: Option<String>,
    value: ChangeValue,
}

#[derive(Deserialize)]
struct ChangeValue {
    metadata: Option<Metadata>,
    #[serde(default)]
    contacts: Vec<Contact>,
    #[serde(default)]
    messages: Vec<Message>,
    #[serde(default)]
    statuses: Vec<Status>,
}

#[derive(Deserialize)]
struct Metadata {
    display_phone_number: Option<String>,
}

#[derive(Deserialize)]
struct Contact {
    profile: Option<Profile>,
    wa_id: Option<String>,
}

#[derive(Deserialize)]
struct Profile {
    name: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    from: String,
    id: String,
    timestamp: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    text: Option<TextBody>,
    interactive: Option<Interactive>,
    button: Option<TemplateButton>,
    unsupported: Option<Value>,
}

#[derive(Deserialize)]
struct TextBody {
    body: String,
}

#[derive(Deserialize)]
struct Interactive {
    button_reply: Option<Reply>,
    list_reply: Option<Reply>,
}

#[derive(Deserialize)]
struct Reply {
    id: String,
    title: String,
}

#[derive(Deserialize)]
struct TemplateButton {
    payload: Option<String>,
    text: Option<String>,
}

#[derive(Deserialize)]
struct Status {
    id: String,
    status: String,
    timestamp: Option<String>,
    recipient_id: Option<String>,
    #[serde(default)]
    errors: Vec<GraphError>,
}

#[derive(Deserialize)]
struct GraphError {
    code: Option<i64>,
    message: Option<String>,
    error_data: Option<ErrorData>,
}

#[derive(Deserialize)]
struct ErrorData {
    details: Option<String>,
}

#[derive(Deserialize)]
struct GraphErrorBody {
    error: GraphError,
}

#[derive(Deserialize)]
struct SendOk {
    /// Mark-read answers `{"success":true}`.
    success: Option<bool>,
    #[serde(default)]
    messages: Vec<SentId>,
}

#[derive(Deserialize)]
struct SentId {
    id: String,
}

fn default_graph_url() -> String {
    DEFAULT_GRAPH_URL.to_owned()
}

fn default_api_version() -> String {
    DEFAULT_API_VERSION.to_owned()
}
