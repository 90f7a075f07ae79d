//! Flow templates and the conversation engine (FLOWS.md). Being written.

pub mod catalog;
pub mod diag;
pub mod engine;
pub mod expr;
mod flow;
pub mod keywords;
pub mod ladder;
pub mod library;
pub mod limits;
mod load;
pub mod locate;
pub mod messages;
pub mod migrate;
pub mod model;
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
