//! Africa's Talking SMS and USSD (providers/README.md §3.1–3.2).
//!
//! AT signs nothing: the webhook path carries an unguessable channel id (and operators may
//! add an IP allow-list), so [`Adapter::verify`] accepts every request.
//!
//! SMS: inbound messages and delivery reports arrive as forms (told apart by their fields);
//! sends are form POSTs with an `apiKey` header, and a 201 lists each recipient with its own
//! status — a failed recipient is a failure even though the HTTP status says "Created".
//!
//! USSD: each hop is a form with the *cumulative* `*`-joined `text`; the answer is
//! `text/plain` starting with `CON ` or `END `. The end-of-session notice (a separate
//! callback URL) becomes [`InboundKind::UssdEnd`].

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use sq_domain::PhoneNumber;

use crate::util::{at_date, form_pairs, get, non_empty, require};
use crate::{
    Adapter, Address, DeliveryStatus, Inbound, InboundEvent, InboundKind, OutboundBody,
    OutboundMessage, ParseError, Provider, RecipientOutcome, RenderError, RouteKind, RouteSpec,
    Secret, SendError, SendOutcome, StatusUpdate, UssdAdapter, UssdEndReason, UssdReply,
    VerifyError, plain_response,
};

pub const DEFAULT_API_URL: &str = "https://api.africastalking.com";
pub const SANDBOX_API_URL: &str = "https://api.sandbox.africastalking.com";

/// Recipient status codes worth retrying: insufficient balance (405) and AT's own server
/// and gateway errors (500–502). 101 Sent and 102 Queued are success.
const RETRYABLE_RECIPIENT_CODES: &[i64] = &[405, 500, 501, 502];

#[derive(Clone, Debug, serde::Deserialize)]
pub struct AfricasTalkingCredentials {
    /// App username (`sandbox` in the sandbox).
    pub username: String,
    pub api_key: Secret,
    /// Short code or alphanumeric sender id; the account default when `None`.
    pub from: Option<String>,
    /// API base URL without trailing slash.
    #[serde(default = "default_api_url")]
    pub api_url: String,
}

#[derive(Clone, Debug)]
pub struct AfricasTalkingSms {
    creds: AfricasTalkingCredentials,
}

impl AfricasTalkingSms {
    pub fn new(creds: AfricasTalkingCredentials) -> Self {
        Self { creds }
    }

    /// The form body sending `text` to every number in `to` (comma-separated, one request).
    pub fn render_bulk(&self, to: &[&PhoneNumber], text: &str) -> Result<String, RenderError> {
        if to.is_empty() {
            return Err(RenderError::Empty("recipients"));
        }
        crate::util::check_non_empty("message", text)?;
        let to: Vec<&str> = to.iter().map(|p| p.as_str()).collect();
        let mut f = form_urlencoded::Serializer::new(String::new());
        f.append_pair("username", &self.creds.username);
        f.append_pair("to", &to.join(","));
        f.append_pair("message", text);
        if let Some(from) = &self.creds.from {
            f.append_pair("from", from);
        }
        f.append_pair("enqueue", "1");
        Ok(f.finish())
    }
}

impl Adapter for AfricasTalkingSms {
    fn provider(&self) -> Provider {
        Provider::AfricasTalkingSms
    }

    fn routes(&self) -> Vec<RouteSpec> {
        vec![
            RouteSpec::new(Method::POST, "", RouteKind::Events),
            RouteSpec::new(Method::POST, "/delivery", RouteKind::Status),
        ]
    }

    fn verify(&self, _req: &Request<Bytes>, _public_url: &str) -> Result<(), VerifyError> {
        Ok(())
    }

    fn parse(&self, req: &Request<Bytes>) -> Result<Vec<Inbound>, ParseError> {
        let p = form_pairs(req.body());
        if get(&p, "from").is_none()
            && let Some(st) = get(&p, "status")
        {
            // A delivery report.
            let status = match st {
                "Success" => DeliveryStatus::Delivered,
                "Sent" | "Submitted" | "Buffered" => DeliveryStatus::Sent,
                "Rejected" | "Failed" | "Expired" => DeliveryStatus::Failed,
                _ => return Ok(Vec::new()),
            };
            return Ok(vec![Inbound::Status(StatusUpdate {
                provider_message_id: require(&p, "id")?.to_owned(),
                status,
                error_code: non_empty(get(&p, "failureReason")),
                recipient: get(&p, "phoneNumber").map(Address::phone_or_other),
                timestamp: None,
            })]);
        }
        let text = get(&p, "text").unwrap_or_default();
        Ok(vec![Inbound::Message(InboundEvent {
            provider_message_id: require(&p, "id")?.to_owned(),
            from: Address::phone_or_other(require(&p, "from")?),
            to: get(&p, "to").map(Address::phone_or_other),
            kind: InboundKind::Text(text.to_owned()),
            timestamp: get(&p, "date").and_then(at_date),
            profile_name: None,
            language: None,
            consent: crate::consent_keyword(text),
        })])
    }

    fn render(&self, out: &OutboundMessage) -> Result<Request<Vec<u8>>, RenderError> {
        let text = match &out.body {
            OutboundBody::Text(t) => t,
            other => {
                return Err(RenderError::Unsupported {
                    provider: Provider::AfricasTalkingSms,
                    body: other.name(),
                });
            }
        };
        let to = out.to.as_phone().ok_or_else(|| RenderError::BadAddress {
            provider: Provider::AfricasTalkingSms,
            address: format!("{:?}", out.to),
        })?;
        let body = self.render_bulk(&[to], text)?;
        crate::util::build_request(
            Method::POST,
            &format!(
                "{}/version1/messaging",
                self.creds.api_url.trim_end_matches('/')
            ),
            &[
                (
                    http::HeaderName::from_static("apikey"),
                    self.creds.api_key.expose().to_owned(),
                ),
                (http::header::ACCEPT, "application/json".to_owned()),
                (
                    http::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded".to_owned(),
                ),
            ],
            body.into_bytes(),
        )
    }

    /// Success when at least one recipient was accepted; the per-recipient results are in
    /// [`SendOutcome::recipients`]. When none was, the first failure decides.
    fn parse_send_response(
        &self,
        status: StatusCode,
        body: &[u8],
    ) -> Result<SendOutcome, SendError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Envelope {
            #[serde(rename = "SMSMessageData")]
            data: Data,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Data {
            message: Option<String>,
            #[serde(default)]
            recipients: Vec<Recipient>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Recipient {
            status_code: Option<i64>,
            number: Option<String>,
            status: Option<String>,
            message_id: Option<String>,
        }
        if !status.is_success() {
            let detail: String = String::from_utf8_lossy(body).chars().take(200).collect();
            return Err(SendError::from_http(
                status,
                status.as_u16().to_string(),
                detail,
            ));
        }
        let env: Envelope = serde_json::from_slice(body)
            .map_err(|e| SendError::permanent("bad_response", e.to_string()))?;
        let recipients: Vec<RecipientOutcome> = env
            .data
            .recipients
            .into_iter()
            .map(|r| {
                let code = r.status_code.unwrap_or_default();
                let st = r.status.unwrap_or_default();
                let accepted = matches!(code, 101 | 102) || st == "Success";
                let result = match (accepted, r.message_id) {
                    (true, Some(id)) if !id.is_empty() && id != "None" => Ok(id),
                    _ if RETRYABLE_RECIPIENT_CODES.contains(&code) => Err(SendError::Retryable {
                        retry_after: Some(Duration::from_secs(60)),
                        code: code.to_string(),
                        detail: st,
                    }),
                    _ => Err(SendError::permanent(code.to_string(), st)),
                };
                RecipientOutcome {
                    number: r.number.unwrap_or_default(),
                    result,
                }
            })
            .collect();
        if let Some(id) = recipients.iter().find_map(|r| r.result.clone().ok()) {
            return Ok(SendOutcome {
                provider_message_id: id,
                recipients,
            });
        }
        match recipients.into_iter().find_map(|r| r.result.err()) {
            Some(e) => Err(e),
            None => Err(SendError::permanent(
                "no_recipients",
                env.data.message.unwrap_or_default(),
            )),
        }
    }
}

/// Africa's Talking USSD: no credentials (nothing is signed, nothing is sent).
#[derive(Clone, Debug, Default)]
pub struct AfricasTalkingUssd;

impl AfricasTalkingUssd {
    pub fn new() -> Self {
        Self
    }
}

impl Adapter for AfricasTalkingUssd {
    fn provider(&self) -> Provider {
        Provider::AfricasTalkingUssd
    }

    fn routes(&self) -> Vec<RouteSpec> {
        vec![
            RouteSpec::new(Method::POST, "", RouteKind::UssdSession),
            RouteSpec::new(Method::POST, "/end", RouteKind::UssdEnd),
        ]
    }

    fn verify(&self, _req: &Request<Bytes>, _public_url: &str) -> Result<(), VerifyError> {
        Ok(())
    }

    fn parse(&self, req: &Request<Bytes>) -> Result<Vec<Inbound>, ParseError> {
        let p = form_pairs(req.body());
        let session_id = require(&p, "sessionId")?.to_owned();
        let from = Address::phone_or_other(require(&p, "phoneNumber")?);
        let service_code = non_empty(get(&p, "serviceCode"));
        let network = non_empty(get(&p, "networkCode"));
        if get(&p, "text").is_none()
            && (get(&p, "status").is_some() || get(&p, "durationInMillis").is_some())
        {
            // End-of-session notification.
            let reason = match get(&p, "status").unwrap_or_default() {
                "Success" => UssdEndReason::Completed,
                "Incomplete" => UssdEndReason::Incomplete,
                "Failed" => {
                    UssdEndReason::Failed(get(&p, "errorMessage").unwrap_or_default().to_owned())
                }
                other => UssdEndReason::Other(other.to_owned()),
            };
            return Ok(vec![Inbound::Message(InboundEvent {
                provider_message_id: format!("{session_id}:end"),
                from,
                to: service_code
                    .as_deref()
                    .map(|s| Address::Other(s.to_owned())),
                kind: InboundKind::UssdEnd { session_id, reason },
                timestamp: get(&p, "date").and_then(at_date),
                profile_name: None,
                language: None,
                consent: None,
            })]);
        }
        let text = get(&p, "text").unwrap_or_default().to_owned();
        // The cumulative text grows on every hop, so its length numbers the hop without
        // putting what the customer typed into an id.
        let provider_message_id = format!("{session_id}:{}", text.len());
        let last_input =
            (!text.is_empty()).then(|| text.rsplit('*').next().unwrap_or_default().to_owned());
        Ok(vec![Inbound::Message(InboundEvent {
            provider_message_id,
            from,
            to: service_code
                .as_deref()
                .map(|s| Address::Other(s.to_owned())),
            kind: InboundKind::UssdRequest {
                session_id,
                service_code,
                network,
                is_new_session: text.is_empty(),
                text_cumulative: Some(text),
                last_input,
                client_state: None,
            },
            timestamp: None,
            profile_name: None,
            language: None,
            consent: None,
        })])
    }

    fn render(&self, out: &OutboundMessage) -> Result<Request<Vec<u8>>, RenderError> {
        Err(RenderError::Unsupported {
            provider: Provider::AfricasTalkingUssd,
            body: out.body.name(),
        })
    }

    fn parse_send_response(
        &self,
        _status: StatusCode,
        _body: &[u8],
    ) -> Result<SendOutcome, SendError> {
        Err(SendError::permanent(
            "unsupported",
            "USSD is answered inline, not sent",
        ))
    }
}

impl UssdAdapter for AfricasTalkingUssd {
    fn respond(&self, _session_id: &str, reply: &UssdReply) -> Response<Vec<u8>> {
        let prefix = if reply.end { "END " } else { "CON " };
        plain_response(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            format!("{prefix}{}", reply.text).into_bytes(),
        )
    }
}

fn default_api_url() -> String {
    DEFAULT_API_URL.to_owned()
}
