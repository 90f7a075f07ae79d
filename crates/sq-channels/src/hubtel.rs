//! Hubtel Programmable Services USSD (providers/README.md §3.3): JSON in, JSON out.
//!
//! Requests carry only the latest input (`Message`), `Type` says where the session is
//! (`Initiation`, `Response`, `Release`, `Timeout`) and `ClientState` echoes what our last
//! screen set. Replies are `Type: "response"` (wait for input) or `"release"` (end).
//! Nothing is signed: the path is the secret.

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;

use crate::{
    Adapter, Address, Inbound, InboundEvent, InboundKind, OutboundMessage, ParseError, Provider,
    RenderError, RouteKind, RouteSpec, SendError, SendOutcome, UssdAdapter, UssdEndReason,
    UssdReply, VerifyError, plain_response,
};

#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct HubtelUssd {
    /// The `Label` used when a reply does not set one.
    #[serde(default)]
    pub default_label: Option<String>,
}

impl HubtelUssd {
    pub fn new() -> Self {
        Self::default()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HubtelRequest {
    #[serde(rename = "Type")]
    kind: String,
    mobile: String,
    session_id: String,
    service_code: Option<String>,
    message: Option<String>,
    operator: Option<String>,
    sequence: Option<u64>,
    client_state: Option<String>,
}

impl Adapter for HubtelUssd {
    fn provider(&self) -> Provider {
        Provider::HubtelUssd
    }

    fn routes(&self) -> Vec<RouteSpec> {
        vec![RouteSpec::new(Method::POST, "", RouteKind::UssdSession)]
    }

    fn verify(&self, _req: &Request<Bytes>, _public_url: &str) -> Result<(), VerifyError> {
        Ok(())
    }

    fn parse(&self, req: &Request<Bytes>) -> Result<Vec<Inbound>, ParseError> {
        let r: HubtelRequest = crate::util::json(req.body())?;
        let seq = r.sequence.unwrap_or_default();
        let from = Address::phone_or_other(&r.mobile);
        let to = r.service_code.clone().map(Address::Other);
        let kind = match r.kind.to_ascii_lowercase().as_str() {
            "initiation" => InboundKind::UssdRequest {
                session_id: r.session_id.clone(),
                service_code: r.service_code.clone(),
                network: r.operator.clone(),
                is_new_session: true,
                text_cumulative: None,
                last_input: None,
                client_state: r.client_state.filter(|s| !s.is_empty()),
            },
            "response" => InboundKind::UssdRequest {
                session_id: r.session_id.clone(),
                service_code: r.service_code.clone(),
                network: r.operator.clone(),
                is_new_session: false,
                text_cumulative: None,
                last_input: Some(r.message.clone().unwrap_or_default()),
                client_state: r.client_state.filter(|s| !s.is_empty()),
            },
            "release" => InboundKind::UssdEnd {
                session_id: r.session_id.clone(),
                reason: UssdEndReason::Incomplete,
            },
            "timeout" => InboundKind::UssdEnd {
                session_id: r.session_id.clone(),
                reason: UssdEndReason::Timeout,
            },
            other => {
                return Err(ParseError::InvalidField {
                    field: "Type",
                    detail: format!("unknown session type '{other}'"),
                });
            }
        };
        let suffix = match &kind {
            InboundKind::UssdEnd { .. } => "end".to_owned(),
            _ => seq.to_string(),
        };
        Ok(vec![Inbound::Message(InboundEvent {
            provider_message_id: format!("{}:{suffix}", r.session_id),
            from,
            to,
            kind,
            timestamp: None,
            profile_name: None,
            language: None,
            consent: None,
        })])
    }

    fn render(&self, out: &OutboundMessage) -> Result<Request<Vec<u8>>, RenderError> {
        Err(RenderError::Unsupported {
            provider: Provider::HubtelUssd,
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

impl UssdAdapter for HubtelUssd {
    fn respond(&self, session_id: &str, reply: &UssdReply) -> Response<Vec<u8>> {
        let label = reply
            .label
            .clone()
            .or_else(|| self.default_label.clone())
            .unwrap_or_else(|| "SmartQueue".to_owned());
        let mut body = json!({
            "SessionId": session_id,
            "Type": if reply.end { "release" } else { "response" },
            "Message": reply.text,
            "Label": label,
            "DataType": if reply.end { "display" } else { "input" },
            "FieldType": "text",
        });
        if let Some(state) = &reply.client_state {
            body["ClientState"] = json!(state);
        }
        plain_response(
            StatusCode::OK,
            "application/json",
            serde_json::to_vec(&body).unwrap_or_default(),
        )
    }
}
