//! Channel-neutral values crossing the adapter boundary.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sq_domain::PhoneNumber;
use sq_flow::ladder::{Button, ListRow, Rendered, RenderedPage};

/// Who sent or receives a message.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Address {
    Phone(PhoneNumber),
    /// A Telegram chat id (int64; supergroups are negative).
    TelegramChat(i64),
    /// Anything else the provider uses: a short code, an alphanumeric sender, a WhatsApp
    /// business-scoped user id, a number that is not valid E.164.
    Other(String),
}

impl Address {
    /// A phone number when the raw value is one (with or without the leading `+`).
    pub fn phone_or_other(raw: &str) -> Address {
        let t = raw.trim();
        let candidate = if t.starts_with('+') {
            t.to_owned()
        } else {
            format!("+{t}")
        };
        if t.len() >= 8
            && t.trim_start_matches('+')
                .bytes()
                .all(|b| b.is_ascii_digit())
            && let Ok(p) = candidate.parse::<PhoneNumber>()
        {
            return Address::Phone(p);
        }
        Address::Other(t.to_owned())
    }

    pub fn as_phone(&self) -> Option<&PhoneNumber> {
        match self {
            Address::Phone(p) => Some(p),
            _ => None,
        }
    }
}

impl fmt::Debug for Address {
    // Phone numbers are personal data: Debug shows PhoneNumber's redacted form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Phone(p) => write!(f, "{p:?}"),
            Address::TelegramChat(id) => write!(f, "TelegramChat({id})"),
            Address::Other(s) => write!(f, "Other({s})"),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Phone(p) => write!(f, "{p}"),
            Address::TelegramChat(id) => write!(f, "{id}"),
            Address::Other(s) => f.write_str(s),
        }
    }
}

/// Everything one webhook can carry.
// Most webhooks carry messages and the values live only until the pipeline stores them, so
// boxing the larger variant would cost an allocation for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Inbound {
    Message(InboundEvent),
    Status(StatusUpdate),
}

/// A customer's message (or USSD hop).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct InboundEvent {
    /// Dedupe key with the channel: `wamid.…`, `SM…`, AT id, Telegram `update_id`, USSD
    /// `session_id:hop` (a USSD hop has no message id of its own).
    pub provider_message_id: String,
    pub from: Address,
    /// Our number / short code / bot, when the payload names it.
    pub to: Option<Address>,
    pub kind: InboundKind,
    pub timestamp: Option<DateTime<Utc>>,
    /// Display name the provider gave (WhatsApp profile, Telegram first name).
    pub profile_name: Option<String>,
    /// Language hint (Telegram `language_code`).
    pub language: Option<String>,
    /// A STOP/START/HELP keyword (Twilio's rules: single word; or Twilio's `OptOutType`).
    pub consent: Option<ConsentChange>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InboundKind {
    Text(String),
    /// A WhatsApp session reply button.
    ButtonReply {
        id: String,
        title: String,
    },
    /// A WhatsApp list row.
    ListReply {
        id: String,
        title: String,
    },
    /// A quick-reply button on a WhatsApp template.
    TemplateButton {
        payload: String,
        text: String,
    },
    /// One USSD hop. `text_cumulative` is AT's `*`-joined input (None for dialects that send
    /// only the latest input); `last_input` is the newest input, `None` on the first hop.
    /// For AT, `last_input` is the part after the last `*`, which is wrong when the customer
    /// typed a `*`: the pipeline should use [`crate::ussd_new_input`] with the text it has
    /// already consumed.
    UssdRequest {
        session_id: String,
        service_code: Option<String>,
        network: Option<String>,
        is_new_session: bool,
        text_cumulative: Option<String>,
        last_input: Option<String>,
        /// Hubtel `ClientState` from our previous screen.
        client_state: Option<String>,
    },
    UssdEnd {
        session_id: String,
        reason: UssdEndReason,
    },
    /// A Telegram callback query (inline keyboard tap); answer it with
    /// [`OutboundBody::AnswerCallback`].
    Callback {
        query_id: String,
        data: String,
    },
    /// A message type we do not handle (media, location, WhatsApp `unsupported`…).
    Unsupported {
        kind: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UssdEndReason {
    /// The application ended it (`END`).
    Completed,
    /// The customer left or the network dropped it.
    Incomplete,
    Timeout,
    Failed(String),
    Other(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentChange {
    OptOut,
    OptIn,
    Help,
}

/// A delivery status for a message we sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct StatusUpdate {
    pub provider_message_id: String,
    pub status: DeliveryStatus,
    pub error_code: Option<String>,
    pub recipient: Option<Address>,
    pub timestamp: Option<DateTime<Utc>>,
}

/// Ordered: a status only ever moves forward (`Failed` is terminal and ranks last).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Queued,
    Sent,
    Delivered,
    Read,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Read => "read",
            DeliveryStatus::Failed => "failed",
        }
    }
}

/// A message to send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct OutboundMessage {
    pub to: Address,
    pub body: OutboundBody,
    pub kind: MessageKind,
    /// WhatsApp header (interactive messages only).
    pub header: Option<Header>,
    /// WhatsApp footer (interactive messages only).
    pub footer: Option<String>,
    /// Echoed back on statuses where the provider supports it (WhatsApp
    /// `biz_opaque_callback_data`).
    pub correlation: Option<String>,
}

impl OutboundMessage {
    pub fn new(to: Address, body: OutboundBody, kind: MessageKind) -> Self {
        Self {
            to,
            body,
            kind,
            header: None,
            footer: None,
            correlation: None,
        }
    }
    pub fn text(to: Address, text: impl Into<String>) -> Self {
        Self::new(
            to,
            OutboundBody::Text(text.into()),
            MessageKind::SessionReply,
        )
    }
}

/// Conversational replies go first; notifications may need a template (WhatsApp outside
/// the 24-hour window — the caller decides, the adapter only renders what it is given).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    SessionReply,
    Notification,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboundBody {
    Text(String),
    /// WhatsApp reply buttons.
    Buttons {
        body: String,
        buttons: Vec<Button>,
    },
    /// WhatsApp list.
    List {
        body: String,
        button: String,
        sections: Vec<ListSection>,
    },
    /// Telegram message with an inline keyboard.
    Keyboard {
        text: String,
        inline_keyboard: Vec<Vec<KeyboardButton>>,
    },
    /// An approved template (WhatsApp template; Twilio `ContentSid` = `name`).
    Template(Template),
    /// Telegram reply keyboard: buttons that send their text; `request_contact` shares the
    /// customer's phone number (how a Telegram contact gets an SMS fallback).
    ReplyKeyboard {
        text: String,
        keyboard: Vec<Vec<ReplyButton>>,
        one_time: bool,
        placeholder: Option<String>,
    },
    /// WhatsApp: mark an inbound message read and show the typing indicator.
    MarkRead {
        message_id: String,
    },
    /// Telegram `answerCallbackQuery`.
    AnswerCallback {
        query_id: String,
        text: Option<String>,
        show_alert: bool,
    },
}

impl OutboundBody {
    /// The body for one page of the choice ladder. `None` for web/kiosk views, which are not
    /// sent through a provider.
    pub fn from_page(page: &RenderedPage) -> Option<Self> {
        Self::from_rendered(&page.view)
    }

    pub fn from_rendered(view: &Rendered) -> Option<Self> {
        Some(match view {
            Rendered::UssdScreen { text, .. } => OutboundBody::Text(text.clone()),
            Rendered::SmsText { text, .. } => OutboundBody::Text(text.clone()),
            Rendered::WhatsAppText { body } => OutboundBody::Text(body.clone()),
            Rendered::WhatsAppButtons { body, buttons } => OutboundBody::Buttons {
                body: body.clone(),
                buttons: buttons.clone(),
            },
            Rendered::WhatsAppList { body, button, rows } => OutboundBody::List {
                body: body.clone(),
                button: button.clone(),
                sections: vec![ListSection {
                    title: None,
                    rows: rows.clone(),
                }],
            },
            Rendered::TelegramMessage {
                text,
                inline_keyboard,
            } => OutboundBody::Keyboard {
                text: text.clone(),
                inline_keyboard: inline_keyboard
                    .iter()
                    .map(|row| {
                        row.iter()
                            .map(|b| KeyboardButton::callback(&b.text, &b.callback_data))
                            .collect()
                    })
                    .collect(),
            },
            Rendered::WebButtons { .. } | Rendered::WebList { .. } => return None,
        })
    }

    pub(crate) fn name(&self) -> &'static str {
        match self {
            OutboundBody::Text(_) => "text",
            OutboundBody::Buttons { .. } => "buttons",
            OutboundBody::List { .. } => "list",
            OutboundBody::Keyboard { .. } => "keyboard",
            OutboundBody::Template(_) => "template",
            OutboundBody::AnswerCallback { .. } => "answer_callback",
            OutboundBody::ReplyKeyboard { .. } => "reply_keyboard",
            OutboundBody::MarkRead { .. } => "mark_read",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Header {
    Text(String),
    /// A media id uploaded to the provider.
    Image {
        id: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct ListSection {
    /// Required by WhatsApp when there is more than one section.
    pub title: Option<String>,
    pub rows: Vec<ListRow>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct KeyboardButton {
    pub text: String,
    pub action: KeyboardAction,
}

impl KeyboardButton {
    pub fn callback(text: &str, data: &str) -> Self {
        Self {
            text: text.to_owned(),
            action: KeyboardAction::Callback(data.to_owned()),
        }
    }
    pub fn url(text: &str, url: &str) -> Self {
        Self {
            text: text.to_owned(),
            action: KeyboardAction::Url(url.to_owned()),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct ReplyButton {
    pub text: String,
    pub request_contact: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyboardAction {
    Callback(String),
    Url(String),
}

/// An approved template and its parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct Template {
    /// WhatsApp template name; for Twilio the Content SID (`HX…`).
    pub name: String,
    /// WhatsApp language code, e.g. `en_US`.
    pub language: String,
    /// Body placeholders {{1}}, {{2}}, … in order.
    pub body_params: Vec<String>,
    /// Quick-reply button payloads, by button index.
    pub quick_reply_payloads: Vec<String>,
}

/// A provider accepted the message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct SendOutcome {
    pub provider_message_id: String,
    /// Per recipient, for providers that report each one (Africa's Talking).
    pub recipients: Vec<RecipientOutcome>,
}

impl SendOutcome {
    pub fn single(id: impl Into<String>) -> Self {
        Self {
            provider_message_id: id.into(),
            recipients: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct RecipientOutcome {
    pub number: String,
    pub result: Result<String, SendError>,
}

/// Why a send failed, and whether trying again can help.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendError {
    /// Throttled, provider down, network trouble: back off and retry (at least
    /// `retry_after` when the provider said so).
    #[error("retryable send failure ({code}): {detail}")]
    Retryable {
        retry_after: Option<Duration>,
        code: String,
        detail: String,
    },
    /// The request itself is wrong or the recipient cannot receive it: record and stop.
    #[error("permanent send failure ({code}): {detail}")]
    Permanent { code: String, detail: String },
}

impl SendError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, SendError::Retryable { .. })
    }
    pub(crate) fn retryable(code: impl Into<String>, detail: impl Into<String>) -> Self {
        SendError::Retryable {
            retry_after: None,
            code: code.into(),
            detail: detail.into(),
        }
    }
    pub(crate) fn permanent(code: impl Into<String>, detail: impl Into<String>) -> Self {
        SendError::Permanent {
            code: code.into(),
            detail: detail.into(),
        }
    }
    /// The generic HTTP rule: 429 and 5xx are worth retrying, other failures are not.
    pub(crate) fn from_http(status: http::StatusCode, code: String, detail: String) -> Self {
        if status == http::StatusCode::TOO_MANY_REQUESTS
            || status.is_server_error()
            || status == http::StatusCode::REQUEST_TIMEOUT
        {
            SendError::Retryable {
                retry_after: None,
                code,
                detail,
            }
        } else {
            SendError::Permanent { code, detail }
        }
    }
}
