//! The typed flow model (FLOWS.md §1–2) and its construction from YAML.
//!
//! Two layers: a permissive serde layer (`Raw*`, `deny_unknown_fields` so a typo is reported
//! by yaml_serde with its line and column) and the typed model the engine runs. Building the
//! typed model checks shape (one kind per step, well-formed ids, conditions and durations) and
//! reports every problem at once, located with [`Locator`]. Graph, catalogue and message
//! checks live in [`crate::validate`].

use std::collections::HashMap;
use std::fmt;

use indexmap::IndexMap;
use serde::Deserialize;
use yaml_serde::Value as Yaml;

use crate::diag::Diagnostic;
use crate::expr::Expr;
use crate::keywords::Keyword;
use crate::limits::Limits;
use crate::locate::Locator;
use crate::value::Value;

/// The current flow format version. Older specs are migrated on load ([`crate::migrate`]).
pub const SPEC: u32 = 1;

pub type StepId = String;

/// A duration written `45s`, `2m`, `30m`, `1h`, `1h30m`, `2d`. Whole seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub u32);

impl Duration {
    /// Longest accepted: a week (a session waiting longer is abandoned, not waiting).
    pub const MAX: Duration = Duration(7 * 24 * 3600);

    pub fn secs(self) -> u32 {
        self.0
    }

    pub fn to_chrono(self) -> chrono::TimeDelta {
        chrono::TimeDelta::seconds(i64::from(self.0))
    }

    pub fn parse(s: &str) -> Result<Duration, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("empty duration".into());
        }
        let mut total: u64 = 0;
        let mut num = String::new();
        let mut last_unit = u64::MAX;
        for c in s.chars() {
            if c.is_ascii_digit() {
                num.push(c);
                continue;
            }
            let unit: u64 = match c {
                'd' => 86_400,
                'h' => 3_600,
                'm' => 60,
                's' => 1,
                _ => return Err(format!("`{s}` is not a duration (use 45s, 2m, 30m, 1h30m)")),
            };
            if num.is_empty() || unit >= last_unit {
                return Err(format!("`{s}` is not a duration (use 45s, 2m, 30m, 1h30m)"));
            }
            let n: u64 = num
                .parse()
                .map_err(|_| format!("`{s}`: number too large"))?;
            total = total.saturating_add(n.saturating_mul(unit));
            last_unit = unit;
            num.clear();
        }
        if !num.is_empty() {
            return Err(format!("`{s}` needs a unit: s, m, h or d (e.g. `{s}s`)"));
        }
        if total == 0 {
            return Err("a duration must be at least 1s".into());
        }
        if total > u64::from(Duration::MAX.0) {
            return Err(format!("`{s}` is longer than the maximum of 7d"));
        }
        Ok(Duration(total as u32))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.0;
        for (unit, n) in [('d', 86_400), ('h', 3_600), ('m', 60)] {
            if s >= n {
                write!(f, "{}{unit}", s / n)?;
                s %= n;
            }
        }
        if s > 0 || self.0 == 0 {
            write!(f, "{s}s")?;
        }
        Ok(())
    }
}

/// A validated flow: what the engine runs. Built by [`crate::Flow::load`] (which also attaches
/// the messages) or [`FlowDefinition::from_yaml`].
#[derive(Clone, Debug)]
pub struct FlowDefinition {
    /// Stable flow id (`join-queue`).
    pub flow: String,
    pub spec: u32,
    pub name: String,
    /// The published version this definition is (set by the host when publishing; 0 = draft).
    /// Sessions pin `(flow, version)`.
    pub version: u32,
    /// A session waiting longer than this ends as expired. Default 30m.
    pub expire_after: Duration,
    pub triggers: Triggers,
    /// System keywords this flow lets through as ordinary input (FLOWS.md §3). STOP never is.
    pub let_through: Vec<Keyword>,
    pub start: StepId,
    /// Steps in document order.
    pub steps: IndexMap<StepId, Step>,
    /// Message id → the variables it uses (union over languages), filled from the `.ftl`
    /// files so events carry exactly the arguments a message needs.
    pub(crate) message_args: HashMap<String, Vec<String>>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Triggers {
    /// Keywords that start this flow (translations: message `keywords-<keyword>` per language).
    pub keywords: Vec<String>,
    /// Reachable from the tenant's USSD code (through the main menu).
    pub ussd: bool,
    /// The flow for a message that matches nothing else.
    pub default: bool,
    /// Queue/appointment events that start this flow (`ticket.served`).
    pub events: Vec<String>,
    /// The approved WhatsApp template that opens an event-started conversation outside the
    /// 24-hour window.
    pub whatsapp_template: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub kind: StepKind,
    /// Only on waiting steps (choose, ask). Ignored on USSD (the network ends idle sessions).
    pub timeout: Option<Timeout>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Timeout {
    pub after: Duration,
    /// Where to go when it fires; without it the session ends as "timed out".
    pub next: Option<StepId>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StepKind {
    Say { message: String, then: Then },
    Choose(Choose),
    Ask(Ask),
    Do(Do),
    Branch(Branch),
    Go(Go),
    End { message: Option<String> },
}

impl StepKind {
    pub fn name(&self) -> &'static str {
        match self {
            StepKind::Say { .. } => "say",
            StepKind::Choose(_) => "choose",
            StepKind::Ask(_) => "ask",
            StepKind::Do(_) => "do",
            StepKind::Branch(_) => "branch",
            StepKind::Go(_) => "go",
            StepKind::End { .. } => "end",
        }
    }

    /// Steps that stop and wait for the customer.
    pub fn waits(&self) -> bool {
        matches!(self, StepKind::Choose(_) | StepKind::Ask(_))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Then {
    Next(StepId),
    End,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Choose {
    pub prompt: String,
    pub source: Source,
    /// The variable the chosen key is saved in (default `choice`).
    pub save: String,
    pub next: Next,
    pub invalid: Invalid,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    Static(Vec<Choice>),
    /// A list variable: set by an action (`days`, `slots`, `tickets`) or given by the host's
    /// context (`services`, `sites`, `languages`).
    From(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    /// Stable key: what replies map back to, what `next` and `save` see.
    pub key: String,
    /// Fluent id of the label.
    pub label: String,
    /// Fluent id of a short label for tight widgets (WhatsApp buttons: 20 characters).
    pub short: Option<String>,
    /// Fluent id of a comma-separated list of extra words that select this choice.
    pub synonyms: Option<String>,
    /// Shown only when this holds (e.g. main-menu items follow what the tenant enabled).
    pub when: Option<Expr>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Next {
    One(StepId),
    /// Per chosen key.
    ByKey(IndexMap<String, StepId>),
}

/// What happens on a reply that does not fit.
#[derive(Clone, Debug, PartialEq)]
pub struct Invalid {
    /// Fluent id; default `invalid-choice` (choose) / `invalid-input` (ask).
    pub message: Option<String>,
    /// How many invalid replies are re-asked before giving up (default 3).
    pub retries: u8,
    /// Where to go after the last retry; without it the session ends ("invalid input").
    pub next: Option<StepId>,
}

impl Default for Invalid {
    fn default() -> Self {
        Self {
            message: None,
            retries: 3,
            next: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Ask {
    pub prompt: String,
    pub input: InputKind,
    pub save: String,
    pub next: StepId,
    pub invalid: Invalid,
}

#[derive(Clone, Debug, PartialEq)]
pub enum InputKind {
    /// Length bounds in characters.
    Text {
        min: Option<u32>,
        max: Option<u32>,
    },
    Number {
        min: Option<i64>,
        max: Option<i64>,
    },
    /// E.164 (a leading `+` and 8–15 digits).
    Phone,
    /// `YYYY-MM-DD` or `DD/MM/YYYY`; saved as `YYYY-MM-DD`.
    Date,
    /// `HH:MM` (24h); saved as `HH:MM`.
    Time,
    /// Yes/no words of the contact's language; saved as a boolean.
    YesNo,
}

impl InputKind {
    pub fn name(&self) -> &'static str {
        match self {
            InputKind::Text { .. } => "text",
            InputKind::Number { .. } => "number",
            InputKind::Phone => "phone",
            InputKind::Date => "date",
            InputKind::Time => "time",
            InputKind::YesNo => "yes_no",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Do {
    pub action: String,
    pub with: IndexMap<String, Arg>,
    /// Outcome → step. The key `else` catches outcomes not listed (a `next:` on a `do` step
    /// is stored as `else`).
    pub on: IndexMap<String, StepId>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    /// `$name`: a variable's value.
    Var(String),
    Lit(Value),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Branch {
    pub arms: Vec<(Expr, StepId)>,
    pub otherwise: StepId,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Go {
    pub flow: String,
    /// When set, the other flow returns here when it completes.
    pub return_to: Option<StepId>,
}

impl FlowDefinition {
    /// Loads `flow.yaml` text alone (no messages attached). See [`crate::Flow::load`] for the
    /// whole package.
    pub fn from_yaml(text: &str, limits: &Limits) -> Result<FlowDefinition, Vec<Diagnostic>> {
        let loc = Locator::new(text);
        crate::load::definition_from_yaml(text, &loc, limits)
    }

    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.get(id)
    }

    /// The variables message `id` uses, if the messages were attached.
    pub fn message_args(&self, id: &str) -> Option<&[String]> {
        self.message_args.get(id).map(Vec::as_slice)
    }
}

// ---------------------------------------------------------------------------------------------
// serde layer

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFlow {
    pub flow: String,
    /// Read before (to pick migrations); required here so a missing one is a shape error.
    #[allow(dead_code)]
    pub spec: u32,
    pub name: String,
    #[serde(default)]
    pub expire_after: Option<String>,
    #[serde(default)]
    pub triggers: RawTriggers,
    #[serde(default)]
    pub let_through: Vec<String>,
    pub start: String,
    pub steps: IndexMap<String, RawStep>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTriggers {
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub ussd: bool,
    #[serde(default)]
    pub default: bool,
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub whatsapp_template: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStep {
    pub say: Option<String>,
    pub choose: Option<RawChoose>,
    pub ask: Option<RawAsk>,
    #[serde(rename = "do")]
    pub act: Option<String>,
    pub branch: Option<Vec<RawArm>>,
    pub go: Option<Yaml>,
    pub end: Option<Yaml>,
    pub with: Option<IndexMap<String, Yaml>>,
    pub on: Option<IndexMap<String, String>>,
    pub next: Option<Yaml>,
    #[serde(rename = "else")]
    pub otherwise: Option<String>,
    pub save: Option<String>,
    pub timeout: Option<RawTimeout>,
    pub invalid: Option<RawInvalid>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawChoose {
    pub prompt: String,
    pub from: Option<String>,
    pub choices: Option<Vec<RawChoice>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawChoice {
    pub key: Yaml,
    pub label: String,
    pub short: Option<String>,
    pub synonyms: Option<String>,
    pub when: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAsk {
    pub prompt: String,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    pub min: Option<i64>,
    pub max: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawArm {
    pub when: String,
    pub next: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTimeout {
    pub after: String,
    pub next: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawInvalid {
    pub message: Option<String>,
    pub retries: Option<u8>,
    pub next: Option<String>,
}

/// A YAML scalar as a string (`1`, `yes`, `true` are all fine as choice keys).
pub(crate) fn scalar_string(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Step ids, choice keys and variable names: lowercase ASCII, digits, `_` and `-`, starting
/// with a letter or digit. Kept narrow so they survive URLs, callback data and logs.
pub(crate) fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Fluent message identifiers.
pub(crate) fn is_message_id(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic())
        && s.len() <= 64
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

/// Variable names (`$ticket`): like Fluent variables, so a message can print them.
pub(crate) fn is_var_name(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_lowercase() || c == b'_')
        && s.len() <= 64
        && b.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(Duration::parse("30m"), Ok(Duration(1800)));
        assert_eq!(Duration::parse("2m"), Ok(Duration(120)));
        assert_eq!(Duration::parse("45s"), Ok(Duration(45)));
        assert_eq!(Duration::parse("1h30m"), Ok(Duration(5400)));
        assert_eq!(Duration::parse("2d"), Ok(Duration(172_800)));
        for bad in [
            "",
            "30",
            "m",
            "1x",
            "0s",
            "30s1m",
            "8d",
            "99999999999999999999999h",
        ] {
            assert!(Duration::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Duration(5400).to_string(), "1h30m");
        assert_eq!(Duration(45).to_string(), "45s");
    }

    #[test]
    fn ids() {
        assert!(is_ident("pick_service"));
        assert!(is_ident("1"));
        assert!(!is_ident("Pick"));
        assert!(!is_ident("a/b"));
        assert!(is_message_id("pick-service"));
        assert!(!is_message_id("-x"));
        assert!(is_var_name("eta_min"));
        assert!(!is_var_name("eta-min"));
    }
}
