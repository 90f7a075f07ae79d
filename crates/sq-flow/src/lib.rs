//! Flow templates and the conversation engine (FLOWS.md). Being written.

pub mod ladder;
pub mod sms;
