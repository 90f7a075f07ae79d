//! Flow templates and the conversation engine (FLOWS.md).
//!
//! A flow is data: `flow.yaml` plus one Fluent file per language, validated before it is
//! published and run by a pure engine on every channel. This crate does no IO at run time and
//! depends only on `sq-domain` among ours; the host (sq-app) stores sessions, runs actions,
//! schedules timers and talks to providers.
//!
//! - **Format and loading**: [`model`] (typed steps), [`Flow::load`] / [`FlowDefinition::from_yaml`]
//!   (YAML → model, shape errors located at their line and column), [`migrate`] (older
//!   `spec`s rewritten on load), [`limits`] (what an upload may cost).
//! - **Validation**: [`validate`] — FLOWS.md §6, one located [`Diagnostic`] per mistake,
//!   per-channel warnings found by laying out every step in every language. Flows are checked
//!   against [`catalog`] (actions, context variables, events).
//! - **Engine**: [`engine`] — `start`/`resume(definition, session, input, env) -> (session,
//!   events)`. Actions are requested as events and their results come back as input; time,
//!   channel and context come from [`Env`]. [`Session`]s serialise small and pin
//!   `(flow, version)`.
//! - **Keywords**: [`keywords`] — STOP/START/HELP/STATUS/MENU/LANG with synonyms per language
//!   (`flows/keywords.yaml`), preempting flows unless a flow lets one through.
//! - **Messages**: [`messages`] — Fluent per flow, fallback contact → tenant → en over layers
//!   the caller supplies (`flows/common/`, `locales/`), bidi isolation off on SMS/USSD.
//! - **Rendering**: [`ladder`] (how a `choose` step looks per channel and how replies map
//!   back; owned separately), [`sms`] (segments), [`render`] (events → channel output, and the
//!   ladder-backed reply matching a host's [`Env`] uses), [`preview`] (the tenant's preview).
//! - **Starter flows and tests**: [`library`] (the embedded `flows/`), [`transcript`]
//!   (FLOWS.md §7 transcripts run on every channel with a fake host).

pub mod catalog;
pub mod diag;
pub mod engine;
pub mod expr;
mod flow;
pub mod intl;
pub mod keywords;
pub mod ladder;
pub mod library;
pub mod limits;
mod load;
pub mod locate;
pub mod messages;
pub mod migrate;
pub mod model;
pub mod preview;
pub mod render;
pub mod sms;
pub mod transcript;
pub mod validate;
pub mod value;

pub use diag::{Diagnostic, Diagnostics, Severity};
pub use engine::{
    ChoiceOut, ChooseView, EndReason, Ending, EngineError, Env, Event, Input, Label, Msg, Session,
    State, resume, start, start_with,
};
pub use flow::{Flow, FlowSource};
pub use keywords::{Keyword, KeywordTable};
pub use limits::Limits;
pub use model::*;
pub use value::{Args, Item, Value, Vars};

/// The languages every starter flow ships in (en is the source).
pub const LANGUAGES: [&str; 5] = ["en", "fr", "ar", "sw", "pt"];
