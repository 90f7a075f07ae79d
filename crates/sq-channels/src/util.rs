//! Small helpers shared by the adapters.

use bytes::Bytes;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use http::Request;

use crate::{ConsentChange, ParseError};

/// Decoded `application/x-www-form-urlencoded` pairs, in order, duplicates and blanks kept.
pub(crate) fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

pub(crate) fn query_pairs<B>(req: &Request<B>) -> Vec<(String, String)> {
    req.uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

pub(crate) fn get<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A field that must be present and non-empty.
pub(crate) fn require<'a>(
    pairs: &'a [(String, String)],
    name: &'static str,
) -> Result<&'a str, ParseError> {
    get(pairs, name)
        .filter(|v| !v.is_empty())
        .ok_or(ParseError::MissingField(name))
}

pub(crate) fn non_empty(s: Option<&str>) -> Option<String> {
    s.filter(|v| !v.is_empty()).map(str::to_owned)
}

pub(crate) fn header<'a>(req: &'a Request<Bytes>, name: &str) -> Option<&'a [u8]> {
    req.headers().get(name).map(|v| v.as_bytes())
}

pub(crate) fn json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ParseError> {
    serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))
}

/// Unix seconds; values that can only be milliseconds (Meta sometimes sends them) are scaled.
pub(crate) fn unix_time(n: i64) -> Option<DateTime<Utc>> {
    let secs = if n > 100_000_000_000 { n / 1000 } else { n };
    Utc.timestamp_opt(secs, 0).single()
}

/// `2026-01-15T12:31:10Z` or `2026-01-15 12:31:10` (Africa's Talking uses both).
pub(crate) fn at_date(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|n| n.and_utc())
}

/// What the customer typed on this USSD hop, given the cumulative `text` Africa's Talking sent
/// and the cumulative text already consumed on earlier hops of the session. Robust to a `*`
/// the customer typed: the new input is everything after `consumed` + `*`, not the last
/// `*`-separated part. `None` on the first hop (empty text) or when `cumulative` does not
/// extend `consumed` (a lost hop: the caller should fall back to its own state).
pub fn ussd_new_input<'a>(consumed: &str, cumulative: &'a str) -> Option<&'a str> {
    if consumed.is_empty() {
        return (!cumulative.is_empty()).then_some(cumulative);
    }
    cumulative.strip_prefix(consumed)?.strip_prefix('*')
}

/// Twilio's default keyword handling (providers §2.6): a single-word message, any case.
pub fn consent_keyword(text: &str) -> Option<ConsentChange> {
    let word = text.trim();
    if word.is_empty() || word.contains(char::is_whitespace) {
        return None;
    }
    match word.to_ascii_uppercase().as_str() {
        "STOP" | "UNSUBSCRIBE" | "END" | "QUIT" | "STOPALL" | "REVOKE" | "OPTOUT" | "CANCEL" => {
            Some(ConsentChange::OptOut)
        }
        "START" | "YES" | "UNSTOP" => Some(ConsentChange::OptIn),
        "HELP" | "INFO" => Some(ConsentChange::Help),
        _ => None,
    }
}

/// Character count as the providers count it (Unicode scalar values).
pub(crate) fn chars(s: &str) -> usize {
    s.chars().count()
}

pub(crate) fn check_len(
    what: &'static str,
    s: &str,
    limit: usize,
) -> Result<(), crate::RenderError> {
    let n = chars(s);
    if n > limit {
        Err(crate::RenderError::OverLimit {
            what,
            actual: n,
            limit,
        })
    } else {
        Ok(())
    }
}

pub(crate) fn check_non_empty(what: &'static str, s: &str) -> Result<(), crate::RenderError> {
    if s.trim().is_empty() {
        Err(crate::RenderError::Empty(what))
    } else {
        Ok(())
    }
}

pub(crate) fn build_request(
    method: http::Method,
    url: &str,
    headers: &[(http::HeaderName, String)],
    body: Vec<u8>,
) -> Result<Request<Vec<u8>>, crate::RenderError> {
    let mut b = Request::builder().method(method).uri(url);
    for (k, v) in headers {
        b = b.header(k, v);
    }
    b.body(body)
        .map_err(|e| crate::RenderError::Http(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_input_survives_a_typed_star() {
        assert_eq!(ussd_new_input("", ""), None);
        assert_eq!(ussd_new_input("", "1"), Some("1"));
        assert_eq!(ussd_new_input("1", "1*2"), Some("2"));
        assert_eq!(ussd_new_input("1*2", "1*2*0712345678"), Some("0712345678"));
        assert_eq!(ussd_new_input("1*2", "1*2*07*12"), Some("07*12"));
        assert_eq!(ussd_new_input("", "*5*"), Some("*5*"));
        assert_eq!(ussd_new_input("1*3", "1*2*4"), None);
    }

    #[test]
    fn consent_keywords_are_single_words() {
        assert_eq!(consent_keyword("STOP"), Some(ConsentChange::OptOut));
        assert_eq!(consent_keyword(" stop "), Some(ConsentChange::OptOut));
        assert_eq!(consent_keyword("STOP PLEASE"), None);
        assert_eq!(consent_keyword("Start"), Some(ConsentChange::OptIn));
        assert_eq!(consent_keyword("help"), Some(ConsentChange::Help));
        assert_eq!(consent_keyword("hello"), None);
    }

    #[test]
    fn dates() {
        assert!(at_date("2026-01-15T12:31:10Z").is_some());
        assert_eq!(
            at_date("2026-01-15 12:31:10"),
            at_date("2026-01-15T12:31:10Z")
        );
        assert_eq!(unix_time(1_749_416_383_000), unix_time(1_749_416_383));
    }
}
