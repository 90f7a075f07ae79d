//! Twilio Programmable Messaging, SMS and WhatsApp (providers/README.md §2).
//!
//! `X-Twilio-Signature` follows twilio-python's `RequestValidator` exactly: the public URL,
//! then each distinct decoded parameter name in byte order with each of its distinct values
//! in byte order (blank values included), HMAC-SHA1 with the auth token, base64; accepted
//! against the URL as given, with the default port added and with any port removed. A URL
//! carrying `bodySHA256` is a JSON webhook: the URL alone is signed and the body hash must
//! match. Parameters are never filtered before validation (Twilio adds new ones).

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use hmac::{KeyInit, Mac};
use http::{Method, Request, Response, StatusCode, Uri};
use serde::Deserialize;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::util::{form_pairs, get, header, non_empty, require};
use crate::{
    Adapter, Address, ConsentChange, DeliveryStatus, Inbound, InboundEvent, InboundKind,
    OutboundBody, OutboundMessage, ParseError, Provider, RenderError, RouteKind, RouteSpec, Secret,
    SendError, SendOutcome, StatusUpdate, VerifyError, consent_keyword, plain_response,
};

pub const SIGNATURE_HEADER: &str = "x-twilio-signature";
pub const DEFAULT_API_URL: &str = "https://api.twilio.com";
/// Twilio's REST concurrency limit (20429) and WhatsApp rate limit (63018).
const RETRYABLE_CODES: &[i64] = &[20429, 63018];
/// Twilio's Body limit (segmented above 160/70 characters).
pub const BODY_LIMIT: usize = 1600;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TwilioChannel {
    Sms,
    /// Addresses carry the `whatsapp:` prefix.
    WhatsApp,
}

#[derive(Clone, Debug, serde::Deserialize)]
pub struct TwilioCredentials {
    pub account_sid: String,
    /// Signs webhooks and authenticates REST calls (with `account_sid`).
    pub auth_token: Secret,
    /// Our number (`+1500…`) or a Messaging Service SID (`MG…`).
    pub from: String,
    /// Where Twilio posts status callbacks (the public URL of our status route).
    pub status_callback: Option<String>,
    /// REST base URL without trailing slash.
    #[serde(default = "default_api_url")]
    pub api_url: String,
    pub channel: TwilioChannel,
}

#[derive(Clone, Debug)]
pub struct Twilio {
    creds: TwilioCredentials,
}

impl Twilio {
    pub fn new(creds: TwilioCredentials) -> Self {
        Self { creds }
    }

    /// base64(HMAC-SHA1(auth_token, url + sorted params)).
    pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
        let mut by_name: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (k, v) in params {
            by_name.entry(k).or_default().insert(v);
        }
        let mut s = String::from(url);
        for (name, values) in by_name {
            for v in values {
                s.push_str(name);
                s.push_str(v);
            }
        }
        let mut mac = hmac::Hmac::<Sha1>::new_from_slice(auth_token.as_bytes())
            .expect("HMAC accepts keys of any length");
        mac.update(s.as_bytes());
        B64.encode(mac.finalize().into_bytes())
    }

    /// The URL variants twilio-python accepts: as given, default port added, port removed.
    pub fn url_variants(url: &str) -> Vec<String> {
        let mut out = vec![url.to_owned()];
        let Ok(uri) = url.parse::<Uri>() else {
            return out;
        };
        let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) else {
            return out;
        };
        let pq = uri.path_and_query().map_or("", |p| p.as_str());
        let default_port = match scheme {
            "https" => "443",
            "http" => "80",
            _ => return out,
        };
        for v in [
            format!("{scheme}://{host}{pq}"),
            format!("{scheme}://{host}:{default_port}{pq}"),
        ] {
            if !out.contains(&v) {
                out.push(v);
            }
        }
        out
    }

    fn address(&self, a: &Address) -> Result<String, RenderError> {
        let n = match a {
            Address::Phone(p) => p.as_str().to_owned(),
            other => {
                return Err(RenderError::BadAddress {
                    provider: Provider::Twilio,
                    address: format!("{other:?}"),
                });
            }
        };
        Ok(match self.creds.channel {
            TwilioChannel::Sms => n,
            TwilioChannel::WhatsApp => format!("whatsapp:{n}"),
        })
    }

    fn sender_field(&self) -> (&'static str, String) {
        if self.creds.from.starts_with("MG") {
            ("MessagingServiceSid", self.creds.from.clone())
        } else if self.creds.channel == TwilioChannel::WhatsApp
            && !self.creds.from.starts_with("whatsapp:")
        {
            ("From", format!("whatsapp:{}", self.creds.from))
        } else {
            ("From", self.creds.from.clone())
        }
    }

    /// The form body for `out`, in the field order of Twilio's docs.
    pub fn render_form(&self, out: &OutboundMessage) -> Result<String, RenderError> {
        let mut f = form_urlencoded::Serializer::new(String::new());
        f.append_pair("To", &self.address(&out.to)?);
        let (from_name, from) = self.sender_field();
        f.append_pair(from_name, &from);
        match &out.body {
            OutboundBody::Text(body) => {
                crate::util::check_non_empty("Body", body)?;
                crate::util::check_len("Body", body, BODY_LIMIT)?;
                f.append_pair("Body", body);
            }
            OutboundBody::Template(t) => {
                f.append_pair("ContentSid", &t.name);
                if !t.body_params.is_empty() {
                    let vars: BTreeMap<String, &String> = t
                        .body_params
                        .iter()
                        .enumerate()
                        .map(|(i, v)| ((i + 1).to_string(), v))
                        .collect();
                    let json = serde_json::to_string(&vars)
                        .map_err(|e| RenderError::Http(e.to_string()))?;
                    f.append_pair("ContentVariables", &json);
                }
            }
            other => {
                return Err(RenderError::Unsupported {
                    provider: Provider::Twilio,
                    body: other.name(),
                });
            }
        }
        if let Some(cb) = &self.creds.status_callback {
            f.append_pair("StatusCallback", cb);
        }
        Ok(f.finish())
    }
}

/// Twilio's retry marker: the same token on every retry of one webhook, a second dedupe key
/// next to `MessageSid`.
pub fn idempotency_token(req: &Request<Bytes>) -> Option<&str> {
    req.headers()
        .get("i-twilio-idempotency-token")
        .and_then(|v| v.to_str().ok())
}

/// A synchronous TwiML answer: `<Message>` with `text`, or the empty `<Response/>`.
pub fn twiml_reply(text: Option<&str>) -> Response<Vec<u8>> {
    let body = match text {
        Some(t) => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response>\n    <Message>{}</Message>\n</Response>\n",
            xml_escape(t)
        ),
        None => "<Response/>".to_owned(),
    };
    plain_response(StatusCode::OK, "text/xml", body.into_bytes())
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn strip_channel(raw: &str) -> &str {
    raw.strip_prefix("whatsapp:").unwrap_or(raw)
}

impl Adapter for Twilio {
    fn provider(&self) -> Provider {
        Provider::Twilio
    }

    fn routes(&self) -> Vec<RouteSpec> {
        vec![
            RouteSpec::new(Method::POST, "", RouteKind::Events),
            RouteSpec::new(Method::POST, "/status", RouteKind::Status),
        ]
    }

    fn verify(&self, req: &Request<Bytes>, public_url: &str) -> Result<(), VerifyError> {
        let sig =
            header(req, SIGNATURE_HEADER).ok_or(VerifyError::MissingSignature(SIGNATURE_HEADER))?;
        let token = self.creds.auth_token.expose();
        let body_hash = public_url.parse::<Uri>().ok().and_then(|u| {
            u.query().and_then(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .find(|(k, _)| k == "bodySHA256")
                    .map(|(_, v)| v.into_owned())
            })
        });
        let params = match &body_hash {
            Some(expected) => {
                let actual = hex::encode(Sha256::digest(req.body()));
                if !bool::from(
                    actual
                        .as_bytes()
                        .ct_eq(expected.to_ascii_lowercase().as_bytes()),
                ) {
                    return Err(VerifyError::BodyHashMismatch);
                }
                Vec::new()
            }
            None if req.method() == Method::POST => form_pairs(req.body()),
            None => Vec::new(),
        };
        let mut ok = false;
        for url in Self::url_variants(public_url) {
            let expected = Self::signature(token, &url, &params);
            // Evaluate every variant: the time taken does not depend on which one matched.
            ok |= bool::from(expected.as_bytes().ct_eq(sig));
        }
        if ok {
            Ok(())
        } else {
            Err(VerifyError::BadSignature)
        }
    }

    fn parse(&self, req: &Request<Bytes>) -> Result<Vec<Inbound>, ParseError> {
        let p = form_pairs(req.body());
        if let Some(st) = get(&p, "MessageStatus") {
            let status = match st {
                "queued" | "accepted" | "scheduled" => DeliveryStatus::Queued,
                "sending" | "sent" | "partially_delivered" => DeliveryStatus::Sent,
                "delivered" => DeliveryStatus::Delivered,
                "read" => DeliveryStatus::Read,
                "failed" | "undelivered" | "canceled" => DeliveryStatus::Failed,
                _ => return Ok(Vec::new()), // receiving/received: not about our sends
            };
            return Ok(vec![Inbound::Status(StatusUpdate {
                provider_message_id: require(&p, "MessageSid")?.to_owned(),
                status,
                error_code: non_empty(get(&p, "ErrorCode")),
                recipient: get(&p, "To").map(|t| Address::phone_or_other(strip_channel(t))),
                timestamp: None,
            })]);
        }
        let id = get(&p, "MessageSid")
            .or_else(|| get(&p, "SmsMessageSid"))
            .filter(|v| !v.is_empty())
            .ok_or(ParseError::MissingField("MessageSid"))?;
        let from = require(&p, "From")?;
        let body = get(&p, "Body").unwrap_or_default();
        let num_media: u32 = get(&p, "NumMedia")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let kind = if let Some(payload) = non_empty(get(&p, "ButtonPayload")) {
            InboundKind::TemplateButton {
                payload,
                text: get(&p, "ButtonText").unwrap_or_default().to_owned(),
            }
        } else if body.is_empty() && num_media > 0 {
            InboundKind::Unsupported {
                kind: "media".into(),
            }
        } else if body.is_empty() && get(&p, "Latitude").is_some() {
            InboundKind::Unsupported {
                kind: "location".into(),
            }
        } else {
            InboundKind::Text(body.to_owned())
        };
        let consent = match get(&p, "OptOutType") {
            Some("STOP") => Some(ConsentChange::OptOut),
            Some("START") => Some(ConsentChange::OptIn),
            Some("HELP") => Some(ConsentChange::Help),
            _ => consent_keyword(body),
        };
        Ok(vec![Inbound::Message(InboundEvent {
            provider_message_id: id.to_owned(),
            from: Address::phone_or_other(strip_channel(from)),
            to: get(&p, "To").map(|t| Address::phone_or_other(strip_channel(t))),
            kind,
            timestamp: None,
            profile_name: non_empty(get(&p, "ProfileName")),
            language: None,
            consent,
        })])
    }

    /// The empty TwiML response: no synchronous reply (replies go through REST so they get
    /// a status callback).
    fn ack(&self) -> Response<Vec<u8>> {
        twiml_reply(None)
    }

    fn render(&self, out: &OutboundMessage) -> Result<Request<Vec<u8>>, RenderError> {
        let body = self.render_form(out)?;
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.creds.api_url.trim_end_matches('/'),
            self.creds.account_sid
        );
        let basic = B64.encode(format!(
            "{}:{}",
            self.creds.account_sid,
            self.creds.auth_token.expose()
        ));
        crate::util::build_request(
            Method::POST,
            &url,
            &[
                (http::header::AUTHORIZATION, format!("Basic {basic}")),
                (
                    http::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded".to_owned(),
                ),
                (http::header::ACCEPT, "application/json".to_owned()),
            ],
            body.into_bytes(),
        )
    }

    fn parse_send_response(
        &self,
        status: StatusCode,
        body: &[u8],
    ) -> Result<SendOutcome, SendError> {
        #[derive(Deserialize)]
        struct Created {
            sid: String,
        }
        #[derive(Deserialize)]
        struct ApiError {
            code: Option<i64>,
            message: Option<String>,
        }
        if status.is_success() {
            let c: Created = serde_json::from_slice(body)
                .map_err(|e| SendError::permanent("bad_response", e.to_string()))?;
            return Ok(SendOutcome::single(c.sid));
        }
        let e = serde_json::from_slice::<ApiError>(body).ok();
        let code = e.as_ref().and_then(|e| e.code);
        let detail = e
            .and_then(|e| e.message)
            .unwrap_or_else(|| status.to_string());
        let code_str = code.map_or_else(|| status.as_u16().to_string(), |c| c.to_string());
        if code.is_some_and(|c| RETRYABLE_CODES.contains(&c)) {
            return Err(SendError::retryable(code_str, detail));
        }
        Err(SendError::from_http(status, code_str, detail))
    }
}

fn default_api_url() -> String {
    DEFAULT_API_URL.to_owned()
}
