//! The choice ladder (FLOWS.md §4): how a `choose` step looks on each channel, and how a
//! reply maps back to a choice key.
//!
//! Why one place: if rendering and parsing were written separately, "3" could mean one thing
//! on the screen and another in the parser as soon as pagination, a fallback or a `short:`
//! label changed. Here [`Ladder::new`] makes *every* decision once — which rung of the ladder
//! the channel gets, what each choice displays, how choices split into pages — and both
//! [`Ladder::render`] and [`Ladder::parse_reply`] read that same plan. The free functions
//! [`render`] and [`parse_reply`] take identical inputs and build the plan the same way, so a
//! pure engine can call them on different turns and still agree.
//!
//! The caller passes strings that are already localised (labels, prompt, "More"/"Back"); this
//! module never formats messages, it only lays them out and counts.
//!
//! # The ladder
//!
//! | channel | ≤ 3 | 4–10 | > 10 |
//! | --- | --- | --- | --- |
//! | WhatsApp | reply buttons | list | numbered text, paged |
//! | Telegram | inline keyboard | inline keyboard | paged keyboard |
//! | SMS | numbered text | numbered text | paged |
//! | USSD | numbered screen | numbered screen | paged to the budget |
//! | web / kiosk / counter | buttons | buttons | list |
//!
//! Nothing is truncated and nothing is dropped. A label too long for a widget uses its
//! `short:` form if that fits, otherwise the step moves down a rung (WhatsApp buttons → list →
//! numbered text; Telegram keyboard → numbered text); each move is recorded as a
//! [`Fallback`] so `flows validate` can warn. When even the lowest rung cannot show a choice
//! (a USSD line longer than a whole screen, a WhatsApp text over 4096 characters) the result
//! is a [`LadderError`], never a clipped string.
//!
//! # Decisions the docs left open
//!
//! - Numbers restart at 1 on every page, and only numbers shown on the given page match.
//!   Paged text rungs (SMS, WhatsApp/Telegram text) hold [`PAGE_SIZE`] = 8 choices so that
//!   [`TEXT_MORE`] = 9 and [`TEXT_BACK`] = 0 never collide; up to 10 choices fit on one
//!   unpaged page. USSD pages are sized by the budget, use [`USSD_MORE`] = 98 and
//!   [`USSD_BACK`] = 0, and hold at most 97 choices.
//! - USSD shows the prompt on the first page only: the budget is tight and the session is
//!   live, so the customer has just read it. SMS and WhatsApp/Telegram text repeat the
//!   prompt on every page, because each page is a separate message that may be read alone.
//! - USSD counts characters (Unicode scalar values) against `ussd_page_budget`; a page whose
//!   text is not GSM-7 is sent as UCS-2, where a USSD string holds only 80 characters, so it
//!   is held to `min(ussd_page_budget, ussd_ucs2_page_budget)` (providers/README.md §3.1).
//! - USSD uses the full label; `short:` only when the full line cannot fit a screen even
//!   alone (with both "More" and "Back").
//! - Descriptions are shown where a rung has room for them (WhatsApp list rows, WhatsApp and
//!   Telegram numbered text, web) and not on SMS/USSD, where every character costs. Because
//!   reply buttons have no description slot, WhatsApp prefers a list when any choice has one.
//! - Telegram buttons show the full label (Telegram sets no length), one button per row; the
//!   "Back"/"More" row uses callback data [`NAV_BACK_ID`] / [`NAV_MORE_ID`], which are
//!   therefore reserved and rejected as choice keys. A key over 64 bytes cannot be callback
//!   data, so that step falls to numbered text.
//! - An empty prompt cannot be an interactive body: WhatsApp and Telegram fall to numbered
//!   text, whose body is never empty.
//! - Text replies match, in order: a number displayed on the page; the page's more/back
//!   number; a label, `short:` or synonym of *any* choice (not only the page's); a choice key;
//!   the folded more/back label ("more"). A text matching several choices is ambiguous and
//!   is a [`ReplyMatch::NoMatch`] rather than a guess. Button and callback ids match keys
//!   exactly, on any page (a key is stable, so an older keyboard still means the same thing).

mod fold;
mod layout;
#[cfg(test)]
mod tests;

pub use fold::fold;
pub use layout::Ladder;

use serde::{Deserialize, Serialize};
use sq_domain::Channel;

use crate::sms::SmsInfo;

/// Choices on one page of a paged text rung (SMS, WhatsApp text, Telegram). Kept below 9 so
/// that "9" can mean "more".
pub const PAGE_SIZE: usize = 8;
/// Most choices shown without paging on text and keyboard rungs (FLOWS.md §4: 4–10 stay on one
/// screen).
pub const ONE_PAGE_MAX: usize = 10;
/// "More" on USSD.
pub const USSD_MORE: u32 = 98;
/// "Back" on USSD.
pub const USSD_BACK: u32 = 0;
/// "More" on paged text rungs; `sms_more_hint` must tell the customer to send this.
pub const TEXT_MORE: u32 = 9;
/// "Back" on paged text rungs; `sms_back_hint` must tell the customer to send this.
pub const TEXT_BACK: u32 = 0;
/// Telegram callback data of the "More" button. Reserved: no choice may use it as a key.
pub const NAV_MORE_ID: &str = "~more";
/// Telegram callback data of the "Back" button. Reserved: no choice may use it as a key.
pub const NAV_BACK_ID: &str = "~back";

/// Channel limits the ladder enforces (providers/README.md §1.9, §4.2). Counted in characters
/// except Telegram callback data, which Telegram counts in bytes.
pub mod limits {
    pub const WA_BUTTONS: usize = 3;
    pub const WA_BUTTON_TITLE: usize = 20;
    pub const WA_BUTTON_ID: usize = 256;
    pub const WA_LIST_ROWS: usize = 10;
    pub const WA_ROW_TITLE: usize = 24;
    pub const WA_ROW_DESCRIPTION: usize = 72;
    pub const WA_ROW_ID: usize = 200;
    pub const WA_LIST_BUTTON: usize = 20;
    /// Interactive body; lists allow 4096, but 1024 is what every interactive type accepts.
    pub const WA_INTERACTIVE_BODY: usize = 1024;
    pub const WA_TEXT_BODY: usize = 4096;
    pub const TG_TEXT: usize = 4096;
    pub const TG_CALLBACK_DATA_BYTES: usize = 64;
}

/// One option of a `choose` step, with its strings already localised.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    /// Stable id: what the flow saves, and the button/callback id on the wire.
    pub key: String,
    pub label: String,
    /// Used where `label` does not fit (buttons, list rows, a USSD line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short: Option<String>,
    /// Other words a customer may type for this choice (locale synonyms).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub synonyms: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Choice {
    pub fn new(key: impl Into<String>, label: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            label: label.into(),
            short: None,
            synonyms: Vec::new(),
            description: None,
        }
    }

    pub fn with_short(mut self, short: impl Into<String>) -> Self {
        self.short = Some(short.into());
        self
    }

    pub fn with_synonyms<S: Into<String>>(mut self, synonyms: impl IntoIterator<Item = S>) -> Self {
        self.synonyms = synonyms.into_iter().map(Into::into).collect();
        self
    }

    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
}

/// Localised navigation strings and budgets. `Default` is English with the documented limits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LadderOptions {
    /// Characters per USSD screen for GSM-7 text (the menu included).
    pub ussd_page_budget: usize,
    /// Characters per USSD screen when the text needs UCS-2 (160 octets / 2).
    pub ussd_ucs2_page_budget: usize,
    /// Label of the USSD "98" line and the Telegram "More" button, e.g. "More".
    pub more_label: String,
    /// Label of the USSD "0" line and the Telegram "Back" button, e.g. "Back".
    pub back_label: String,
    /// Last line of a paged text page that has a next page; must mention [`TEXT_MORE`].
    pub sms_more_hint: String,
    /// Last line of a paged text page after the first; must mention [`TEXT_BACK`].
    pub sms_back_hint: String,
    /// Text of the button that opens a WhatsApp list, e.g. "Choose".
    pub list_button: String,
}

impl Default for LadderOptions {
    fn default() -> Self {
        Self {
            ussd_page_budget: 160,
            ussd_ucs2_page_budget: 80,
            more_label: "More".into(),
            back_label: "Back".into(),
            sms_more_hint: "Reply 9 for more".into(),
            sms_back_hint: "Reply 0 to go back".into(),
            list_button: "Choose".into(),
        }
    }
}

/// Which rung of the ladder a step landed on for a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rung {
    WhatsAppButtons,
    WhatsAppList,
    WhatsAppText,
    TelegramKeyboard,
    TelegramText,
    SmsText,
    UssdMenu,
    WebButtons,
    WebList,
}

impl Rung {
    /// Whether choices are shown with numbers the customer types back.
    pub fn is_numbered(self) -> bool {
        matches!(
            self,
            Rung::WhatsAppText | Rung::TelegramText | Rung::SmsText | Rung::UssdMenu
        )
    }
}

/// Why a step left the rung the table would give it. `flows validate` turns these into
/// per-channel warnings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fallback {
    pub from: Rung,
    pub reason: FallReason,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum FallReason {
    /// An interactive message needs a body.
    EmptyPrompt,
    PromptTooLong {
        chars: usize,
        limit: usize,
    },
    /// Reply buttons cannot show descriptions; a list can.
    HasDescription {
        key: String,
    },
    /// The label is over the limit and `short` is missing or over it too.
    TitleTooLong {
        key: String,
        chars: usize,
        limit: usize,
    },
    /// Reply button titles must be unique within a message.
    DuplicateTitle {
        title: String,
    },
    DescriptionTooLong {
        key: String,
        chars: usize,
        limit: usize,
    },
    /// The key cannot be the button id / row id / callback data.
    IdTooLong {
        key: String,
        len: usize,
        limit: usize,
    },
    /// `list_button` is empty or over 20 characters.
    ButtonTextTooLong {
        chars: usize,
        limit: usize,
    },
}

/// A step that cannot be shown without truncating or dropping something.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LadderError {
    #[error("a choose step needs at least one choice")]
    NoChoices,
    #[error("choice #{index} has an empty key")]
    EmptyKey { index: usize },
    #[error("choice key '{key}' is used twice")]
    DuplicateKey { key: String },
    #[error("choice key '{key}' is reserved for navigation")]
    ReservedKey { key: String },
    #[error("choice '{key}' has an empty label")]
    EmptyLabel { key: String },
    #[error(
        "USSD line for choice '{key}' is {chars} characters; it cannot fit a {budget}-character screen even alone"
    )]
    UssdChoiceTooLong {
        key: String,
        chars: usize,
        budget: usize,
    },
    #[error(
        "USSD prompt is {chars} characters; with a choice and 'More' it cannot fit a {budget}-character screen"
    )]
    UssdPromptTooLong { chars: usize, budget: usize },
    #[error("page {page} is {chars} characters, over the {limit}-character limit")]
    MessageTooLong {
        page: usize,
        chars: usize,
        limit: usize,
    },
    #[error("page {page} does not exist (the step has {pages})")]
    PageOutOfRange { page: usize, pages: usize },
}

impl LadderError {
    /// Stable snake_case code (a contract, like event names).
    pub fn code(&self) -> &'static str {
        match self {
            LadderError::NoChoices => "no_choices",
            LadderError::EmptyKey { .. } => "empty_key",
            LadderError::DuplicateKey { .. } => "duplicate_key",
            LadderError::ReservedKey { .. } => "reserved_key",
            LadderError::EmptyLabel { .. } => "empty_label",
            LadderError::UssdChoiceTooLong { .. } => "ussd_choice_too_long",
            LadderError::UssdPromptTooLong { .. } => "ussd_prompt_too_long",
            LadderError::MessageTooLong { .. } => "message_too_long",
            LadderError::PageOutOfRange { .. } => "page_out_of_range",
        }
    }
}

/// A WhatsApp reply button.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    pub id: String,
    pub title: String,
}

/// A WhatsApp list row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListRow {
    pub id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A Telegram inline keyboard button.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InlineButton {
    pub text: String,
    pub callback_data: String,
}

/// A web/kiosk option.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebOption {
    pub key: String,
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// What one page of a step looks like, channel-neutral; adapters turn it into provider JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Rendered {
    /// A `CON` screen; `more` says a next page exists.
    UssdScreen {
        text: String,
        more: bool,
    },
    SmsText {
        text: String,
        info: SmsInfo,
    },
    WhatsAppText {
        body: String,
    },
    WhatsAppButtons {
        body: String,
        buttons: Vec<Button>,
    },
    WhatsAppList {
        body: String,
        button: String,
        rows: Vec<ListRow>,
    },
    TelegramMessage {
        text: String,
        inline_keyboard: Vec<Vec<InlineButton>>,
    },
    WebButtons {
        prompt: String,
        options: Vec<WebOption>,
    },
    WebList {
        prompt: String,
        options: Vec<WebOption>,
    },
}

/// A displayed number and the key it selects on that page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Numbered {
    pub number: u32,
    pub key: String,
}

/// One rendered page plus what the engine needs to keep paging.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderedPage {
    pub view: Rendered,
    pub rung: Rung,
    pub page: usize,
    pub page_count: usize,
    pub has_next: bool,
    pub has_prev: bool,
    /// For numbered rungs, the numbers on this page and their keys; empty otherwise.
    pub numbers: Vec<Numbered>,
}

/// A customer's answer as the channel delivered it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    /// Typed text (SMS, USSD input, a WhatsApp/Telegram text message).
    Text(String),
    /// A WhatsApp button/list reply id, or Telegram callback data.
    ButtonId(String),
}

/// What a reply means for the step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyMatch {
    Chosen(String),
    NextPage,
    PrevPage,
    NoMatch,
}

/// Renders page `page` of a `choose` step for `channel`. Same inputs as [`parse_reply`].
pub fn render(
    channel: Channel,
    prompt: &str,
    choices: &[Choice],
    page: usize,
    options: &LadderOptions,
) -> Result<RenderedPage, LadderError> {
    Ladder::new(channel, prompt, choices, options)?.render(page)
}

/// Maps a reply to page `page` of a `choose` step back to a choice, with the plan [`render`]
/// used. If the step cannot be laid out (so nothing numbered was ever shown), keys, labels
/// and synonyms still match.
pub fn parse_reply(
    channel: Channel,
    prompt: &str,
    choices: &[Choice],
    page: usize,
    options: &LadderOptions,
    reply: &Reply,
) -> ReplyMatch {
    match Ladder::new(channel, prompt, choices, options) {
        Ok(ladder) => ladder.parse_reply(page, reply),
        Err(_) => layout::match_unpaged(choices, reply),
    }
}
