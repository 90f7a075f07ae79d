//! Ticket numbers: prefix + counter per queue per *site-local* day (A001), reset at the
//! site's local midnight.
//!
//! SKELETON — bodies being written.

use crate::values::{QueuePrefix, TimeZone};
use chrono::{DateTime, NaiveDate, Utc};

/// The site-local calendar day an instant belongs to.
pub fn local_day(now: DateTime<Utc>, tz: TimeZone) -> NaiveDate {
    now.with_timezone(&tz.0).date_naive()
}

/// `A` + 1 → `A001`; grows past 999 (`A1000`).
pub fn format_number(prefix: &QueuePrefix, seq: u32) -> String {
    format!("{}{:03}", prefix.as_str(), seq)
}
