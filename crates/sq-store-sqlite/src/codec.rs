//! How domain values are written to and read from SQLite columns, and how sqlx errors
//! become [`StoreError`]s. One place, so every table uses the same encodings.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use sq_domain::audit::truncate_micros;
use sq_store::StoreError;
use sqlx::Row as _;
use sqlx::sqlite::SqliteRow;
use std::fmt::Display;
use std::str::FromStr;
use uuid::Uuid;
use uuid::fmt::Hyphenated;

/// Instants are stored as fixed-width UTC text with microseconds: text order is time order
/// and the value read back equals the value written (after [`truncate_micros`]).
const TS_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";
const DATE_FORMAT: &str = "%Y-%m-%d";

pub(crate) fn ts(t: DateTime<Utc>) -> String {
    truncate_micros(t).format(TS_FORMAT).to_string()
}

pub(crate) fn opt_ts(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(ts)
}

pub(crate) fn date(d: NaiveDate) -> String {
    d.format(DATE_FORMAT).to_string()
}

/// Ids are bound as lower-case hyphenated text.
pub(crate) fn key(u: Uuid) -> Hyphenated {
    u.hyphenated()
}

pub(crate) fn json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Backend(format!("encode json: {e}")))
}

fn corrupt(col: &str, e: impl Display) -> StoreError {
    StoreError::Backend(format!("unreadable column {col}: {e}"))
}

/// Typed column access with errors that name the column.
pub(crate) struct Cols<'r>(pub &'r SqliteRow);

impl Cols<'_> {
    pub fn text(&self, col: &str) -> Result<String, StoreError> {
        self.0
            .try_get::<String, _>(col)
            .map_err(|e| corrupt(col, e))
    }

    pub fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
        self.0
            .try_get::<Option<String>, _>(col)
            .map_err(|e| corrupt(col, e))
    }

    pub fn parse<T: FromStr>(&self, col: &str) -> Result<T, StoreError>
    where
        T::Err: Display,
    {
        self.text(col)?.parse().map_err(|e| corrupt(col, e))
    }

    pub fn opt_parse<T: FromStr>(&self, col: &str) -> Result<Option<T>, StoreError>
    where
        T::Err: Display,
    {
        self.opt_text(col)?
            .map(|s| s.parse().map_err(|e| corrupt(col, e)))
            .transpose()
    }

    pub fn id<T: From<Uuid>>(&self, col: &str) -> Result<T, StoreError> {
        self.parse::<Uuid>(col).map(T::from)
    }

    pub fn opt_id<T: From<Uuid>>(&self, col: &str) -> Result<Option<T>, StoreError> {
        Ok(self.opt_parse::<Uuid>(col)?.map(T::from))
    }

    pub fn at(&self, col: &str) -> Result<DateTime<Utc>, StoreError> {
        parse_ts(&self.text(col)?).map_err(|e| corrupt(col, e))
    }

    pub fn opt_at(&self, col: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.opt_text(col)?
            .map(|s| parse_ts(&s).map_err(|e| corrupt(col, e)))
            .transpose()
    }

    pub fn date(&self, col: &str) -> Result<NaiveDate, StoreError> {
        NaiveDate::parse_from_str(&self.text(col)?, DATE_FORMAT).map_err(|e| corrupt(col, e))
    }

    pub fn int(&self, col: &str) -> Result<i64, StoreError> {
        self.0.try_get::<i64, _>(col).map_err(|e| corrupt(col, e))
    }

    pub fn u32(&self, col: &str) -> Result<u32, StoreError> {
        u32::try_from(self.int(col)?).map_err(|e| corrupt(col, e))
    }

    pub fn u8(&self, col: &str) -> Result<u8, StoreError> {
        u8::try_from(self.int(col)?).map_err(|e| corrupt(col, e))
    }

    pub fn real(&self, col: &str) -> Result<f64, StoreError> {
        self.0.try_get::<f64, _>(col).map_err(|e| corrupt(col, e))
    }

    pub fn json<T: serde::de::DeserializeOwned>(&self, col: &str) -> Result<T, StoreError> {
        serde_json::from_str(&self.text(col)?).map_err(|e| corrupt(col, e))
    }

    pub fn opt_json<T: serde::de::DeserializeOwned>(
        &self,
        col: &str,
    ) -> Result<Option<T>, StoreError> {
        self.opt_text(col)?
            .map(|s| serde_json::from_str(&s).map_err(|e| corrupt(col, e)))
            .transpose()
    }
}

fn parse_ts(s: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    NaiveDateTime::parse_from_str(s, TS_FORMAT).map(|n| n.and_utc())
}

/// Unique violations become `Conflict` named after the rule, foreign-key violations
/// `Invalid`; everything else is a backend failure whose message is for logs only.
pub(crate) fn db(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(d) = &e {
        if d.is_unique_violation() {
            return StoreError::Conflict(conflict_name(d.message()));
        }
        // The store checks parents itself (as NotFound); this is the database's backstop.
        if d.is_foreign_key_violation() {
            return StoreError::Invalid("references a row that does not exist".into());
        }
    }
    StoreError::Backend(e.to_string())
}

/// SQLite says `UNIQUE constraint failed: users.email`; the names match the PostgreSQL
/// backend's so callers see the same `Conflict` either way.
fn conflict_name(msg: &str) -> &'static str {
    const RULES: &[(&str, &str)] = &[
        ("tenants.slug", "slug"),
        ("users.email", "email"),
        ("queues.service_id", "queue"),
        ("api_keys.key_hash", "api_key"),
        ("devices.key_hash", "device"),
        ("refresh_tokens.token_hash", "refresh_token"),
        ("contacts.tenant_id, contacts.phone", "contact"),
        ("agent_skills.", "skill"),
        ("tickets.queue_id", "ticket_number"),
        ("channels.id", "channel"),
        ("notify_cursors.", "notify_cursor"),
    ];
    RULES
        .iter()
        .find(|(needle, _)| msg.contains(needle))
        .map(|(_, what)| *what)
        .unwrap_or("row")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn instants_round_trip_and_sort_as_text() {
        let a = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
            + chrono::Duration::nanoseconds(123_456_789);
        let b = a + chrono::Duration::microseconds(1);
        assert_eq!(ts(a), "2026-03-01T09:00:00.123456Z");
        assert_eq!(parse_ts(&ts(a)).unwrap(), truncate_micros(a));
        assert!(ts(a) < ts(b));
        let whole = Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 59).unwrap();
        assert_eq!(ts(whole).len(), ts(a).len());
    }

    #[test]
    fn conflicts_are_named() {
        assert_eq!(
            conflict_name("UNIQUE constraint failed: users.email"),
            "email"
        );
        assert_eq!(
            conflict_name("UNIQUE constraint failed: contacts.tenant_id, contacts.phone"),
            "contact"
        );
        assert_eq!(conflict_name("something else"), "row");
    }
}
