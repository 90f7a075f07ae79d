//! Provider adapters: one per messaging provider, each turning raw webhooks into
//! channel-neutral [`Inbound`] values and [`OutboundMessage`]s into provider HTTP requests.
//!
//! The crate is the pure edge of ARCHITECTURE.md §2: it speaks `http` types only (never axum,
//! never the store), so the web crate mounts the routes an adapter lists ([`Adapter::routes`])
//! and the job runner calls [`send()`] with a `reqwest::Client`. Everything else — verifying,
//! parsing, rendering and classifying provider answers — is a plain function of its inputs and
//! is tested against the real payloads in `../shared/providers/samples/`.
//!
//! | adapter | inbound | verification | outbound |
//! | --- | --- | --- | --- |
//! | [`whatsapp::WhatsApp`] | text, button/list reply, template button, statuses | `X-Hub-Signature-256` over raw bytes; GET `hub.*` handshake | text, reply buttons, list, template |
//! | [`twilio::Twilio`] | SMS / WhatsApp text (STOP/START), status callbacks | `X-Twilio-Signature` (sorted params, blanks, port variants, `bodySHA256`) | REST form; TwiML reply |
//! | [`africastalking::AfricasTalkingSms`] | SMS, delivery reports | none (unguessable path) | form; per-recipient outcome |
//! | [`africastalking::AfricasTalkingUssd`] | USSD hops (cumulative `text`), end-of-session notice | none | inline `CON `/`END ` |
//! | [`hubtel::HubtelUssd`] | USSD Initiation/Response/Release/Timeout | none | inline JSON |
//! | [`telegram::Telegram`] | message, callback_query | `X-Telegram-Bot-Api-Secret-Token` | sendMessage (inline keyboard), answerCallbackQuery |
//!
//! # Using an adapter
//!
//! The web crate mounts each [`RouteSpec`] under `/hooks/{channel_id}` and, per request:
//! answers [`Adapter::handshake`] if it returns `Some`; otherwise calls [`Adapter::verify`]
//! with the raw body and the *public* URL (answering [`VerifyError::status`] and storing
//! nothing on failure), then [`Adapter::parse`], hands the [`Inbound`] values to the
//! pipeline and answers [`Adapter::ack`] — or, on a USSD route, [`UssdAdapter::respond`]
//! with the next screen. Jobs call [`send()`] (or [`Adapter::render`] and
//! [`Adapter::parse_send_response`] around their own client). [`AdapterConfig`] builds the
//! right adapter from a channel's decrypted configuration.
//!
//! Secrets live in [`Secret`], whose `Debug` never shows the value and whose comparison is
//! constant-time. Provider answers are classified into [`SendError::Retryable`] (429, 5xx,
//! provider throttling codes, network errors) and [`SendError::Permanent`] (other 4xx).

pub mod africastalking;
mod config;
mod event;
pub mod hubtel;
mod secret;
mod send;
pub mod telegram;
pub mod twilio;
mod util;
pub mod whatsapp;

pub use config::{AdapterConfig, ChannelAdapter};
pub use event::*;
pub use secret::Secret;
pub use send::{send, to_reqwest};
pub use util::{consent_keyword, ussd_new_input};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};

/// Which provider (and dialect) an adapter speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Provider {
    WhatsAppCloud,
    Twilio,
    AfricasTalkingSms,
    AfricasTalkingUssd,
    HubtelUssd,
    Telegram,
}

/// What a mounted route receives. The parsers look at the payload itself, so a provider that
/// posts a status to the message URL still parses; the kinds tell the web layer how to answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteKind {
    /// WhatsApp's GET `hub.*` handshake: answer with [`Adapter::handshake`].
    Handshake,
    /// Messages (and possibly statuses): verify, parse, answer [`Adapter::ack`].
    Events,
    /// Delivery/status callbacks: verify, parse, answer [`Adapter::ack`].
    Status,
    /// A USSD hop: verify, parse, run the pipeline inline, answer [`UssdAdapter::respond`].
    UssdSession,
    /// A USSD end-of-session notice: verify, parse, answer [`Adapter::ack`].
    UssdEnd,
}

/// One route an adapter needs, mounted by the web crate under `/hooks/{channel_id}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteSpec {
    pub method: Method,
    /// Appended to `/hooks/{channel_id}`; empty or starting with `/`.
    pub path_suffix: &'static str,
    pub kind: RouteKind,
}

impl RouteSpec {
    pub const fn new(method: Method, path_suffix: &'static str, kind: RouteKind) -> Self {
        Self {
            method,
            path_suffix,
            kind,
        }
    }
}

/// One provider account, seen from both directions.
pub trait Adapter: Send + Sync + std::fmt::Debug {
    fn provider(&self) -> Provider;

    /// Routes to mount, as data.
    fn routes(&self) -> Vec<RouteSpec>;

    /// Checks the request came from the provider. `public_url` is the full URL the provider
    /// called (scheme, host, optional port, path and query), as configured publicly — not the
    /// URL seen behind a proxy. Must run on the raw body before [`Adapter::parse`].
    fn verify(&self, req: &Request<Bytes>, public_url: &str) -> Result<(), VerifyError>;

    /// Turns a verified webhook into events. Unknown-but-valid payloads yield an empty list
    /// (acknowledge and drop) rather than an error, so the provider does not retry them.
    fn parse(&self, req: &Request<Bytes>) -> Result<Vec<Inbound>, ParseError>;

    /// Answers a subscription handshake (WhatsApp GET). `None` for providers without one.
    fn handshake(&self, _req: &Request<Bytes>) -> Option<Response<Vec<u8>>> {
        None
    }

    /// The answer to an accepted webhook (Twilio wants TwiML, the rest a bare 200).
    fn ack(&self) -> Response<Vec<u8>> {
        plain_response(StatusCode::OK, "text/plain; charset=utf-8", Vec::new())
    }

    /// Builds the provider API request that sends `out`.
    fn render(&self, out: &OutboundMessage) -> Result<Request<Vec<u8>>, RenderError>;

    /// Classifies the provider's answer to a request built by [`Adapter::render`].
    fn parse_send_response(
        &self,
        status: StatusCode,
        body: &[u8],
    ) -> Result<SendOutcome, SendError>;
}

/// USSD adapters answer inline, within the webhook request.
pub trait UssdAdapter: Adapter {
    /// The HTTP answer that shows `reply` in session `session_id`.
    fn respond(&self, session_id: &str, reply: &UssdReply) -> Response<Vec<u8>>;
}

/// The next USSD screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UssdReply {
    pub text: String,
    /// `true` closes the session (`END `, Hubtel `release`).
    pub end: bool,
    /// Hubtel's screen `Label` (defaults to a generic one).
    pub label: Option<String>,
    /// Hubtel's `ClientState`, echoed back on the next hop.
    pub client_state: Option<String>,
}

impl UssdReply {
    /// A screen that waits for input (`CON`).
    pub fn con(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            end: false,
            label: None,
            client_state: None,
        }
    }
    /// A final screen (`END`).
    pub fn end(text: impl Into<String>) -> Self {
        Self {
            end: true,
            ..Self::con(text)
        }
    }
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }
    pub fn with_client_state(mut self, state: impl Into<String>) -> Self {
        self.client_state = Some(state.into());
        self
    }
}

/// Why a webhook was rejected. All of these mean "do not process, store nothing".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("signature header {0} is missing")]
    MissingSignature(&'static str),
    #[error("signature header is malformed")]
    MalformedSignature,
    #[error("signature does not match")]
    BadSignature,
    #[error("body hash does not match bodySHA256")]
    BodyHashMismatch,
}

impl VerifyError {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::MissingSignature(_) => "missing_signature",
            VerifyError::MalformedSignature => "malformed_signature",
            VerifyError::BadSignature => "bad_signature",
            VerifyError::BodyHashMismatch => "body_hash_mismatch",
        }
    }
    /// The HTTP status to answer with: 401 for a missing credential, 403 for a wrong one.
    pub fn status(&self) -> StatusCode {
        match self {
            VerifyError::MissingSignature(_) => StatusCode::UNAUTHORIZED,
            _ => StatusCode::FORBIDDEN,
        }
    }
}

/// A verified request whose body is not what the provider documents.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("body is not valid JSON: {0}")]
    Json(String),
    #[error("body is not a valid form: {0}")]
    Form(String),
    #[error("required field {0} is missing")]
    MissingField(&'static str),
    #[error("field {field} is invalid: {detail}")]
    InvalidField { field: &'static str, detail: String },
}

impl ParseError {
    pub fn code(&self) -> &'static str {
        match self {
            ParseError::Json(_) => "invalid_json",
            ParseError::Form(_) => "invalid_form",
            ParseError::MissingField(_) => "missing_field",
            ParseError::InvalidField { .. } => "invalid_field",
        }
    }
}

/// An outbound message this adapter cannot express, or one over a provider limit. Never
/// truncated: the caller must choose another body (the choice ladder normally prevents it).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("{provider:?} cannot send a {body} body")]
    Unsupported {
        provider: Provider,
        body: &'static str,
    },
    #[error("{provider:?} cannot send to {address}")]
    BadAddress { provider: Provider, address: String },
    #[error("{what} is {actual}, over the limit of {limit}")]
    OverLimit {
        what: &'static str,
        actual: usize,
        limit: usize,
    },
    #[error("{0} must not be empty")]
    Empty(&'static str),
    #[error("reply button titles must be unique: {0}")]
    DuplicateTitle(String),
    #[error("invalid request: {0}")]
    Http(String),
}

impl RenderError {
    pub fn code(&self) -> &'static str {
        match self {
            RenderError::Unsupported { .. } => "unsupported_body",
            RenderError::BadAddress { .. } => "bad_address",
            RenderError::OverLimit { .. } => "over_limit",
            RenderError::Empty(_) => "empty_field",
            RenderError::DuplicateTitle(_) => "duplicate_title",
            RenderError::Http(_) => "invalid_request",
        }
    }
}

pub(crate) fn plain_response(
    status: StatusCode,
    content_type: &'static str,
    body: Vec<u8>,
) -> Response<Vec<u8>> {
    let mut res = Response::new(body);
    *res.status_mut() = status;
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    res
}
