//! Values parsed at the boundary ("parse, don't validate"): once a `PhoneNumber` or a
//! `TenantSlug` exists it is known to be well formed, so nothing downstream re-checks it.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Why an external string was refused. The `code` is a stable snake_case contract.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct ParseError {
    pub code: &'static str,
    pub detail: String,
}

impl ParseError {
    pub fn new(code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
        }
    }
}

macro_rules! string_value {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl TryFrom<String> for $name {
            type Error = ParseError;
            fn try_from(s: String) -> Result<Self, ParseError> {
                s.parse()
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
    };
}

/// A tenant's URL slug: 2–40 of `a-z0-9-`, not starting or ending with `-`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantSlug(String);
string_value!(TenantSlug);

impl FromStr for TenantSlug {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let ok = (2..=40).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(ParseError::new(
                "invalid_slug",
                "2-40 characters of a-z, 0-9 and '-'",
            ))
        }
    }
}

/// A phone number in E.164 (`+` then 8–15 digits, no leading zero in the country code).
/// Accepts the spellings people type — spaces, dashes, dots, brackets and a `00` prefix —
/// and stores the canonical form. Logs must use [`PhoneNumber::redacted`].
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);
string_value!(PhoneNumber);

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.redacted())
    }
}

impl PhoneNumber {
    /// `+2547…678` style: enough to tell numbers apart in logs, not enough to call one.
    pub fn redacted(&self) -> String {
        let s = &self.0;
        let n = s.len();
        format!("{}…{}", &s[..n.min(5)], &s[n.saturating_sub(3)..])
    }
}

impl FromStr for PhoneNumber {
    type Err = ParseError;
    fn from_str(raw: &str) -> Result<Self, ParseError> {
        let trimmed = raw.trim();
        let rest = if let Some(r) = trimmed.strip_prefix('+') {
            r
        } else if let Some(r) = trimmed.strip_prefix("00") {
            r
        } else {
            return Err(ParseError::new(
                "invalid_phone",
                "a phone number in international format, e.g. +254712345678",
            ));
        };
        let mut digits = String::with_capacity(16);
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => {
                    return Err(ParseError::new(
                        "invalid_phone",
                        "only digits may follow '+'",
                    ));
                }
            }
        }
        if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
            return Err(ParseError::new(
                "invalid_phone",
                "E.164 numbers have 8 to 15 digits",
            ));
        }
        Ok(Self(format!("+{digits}")))
    }
}

/// A BCP 47 language tag as SmartQueue uses it (`en`, `fr`, `pt-BR`, `ar`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Locale(String);
string_value!(Locale);

impl Locale {
    pub fn en() -> Self {
        Self("en".into())
    }
    /// The primary language subtag (`pt` for `pt-BR`).
    pub fn language(&self) -> &str {
        self.0.split('-').next().unwrap_or(&self.0)
    }
}

impl FromStr for Locale {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let s = s.trim().replace('_', "-");
        let mut parts = s.split('-');
        let lang = parts.next().unwrap_or_default();
        let lang_ok =
            (2..=3).contains(&lang.len()) && lang.bytes().all(|b| b.is_ascii_alphabetic());
        let rest_ok = parts
            .all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
        if !lang_ok || !rest_ok {
            return Err(ParseError::new(
                "invalid_locale",
                "a language tag such as en, fr or pt-BR",
            ));
        }
        let mut out = lang.to_ascii_lowercase();
        for (i, p) in s.split('-').enumerate().skip(1) {
            out.push('-');
            // Region subtags are upper case by convention (pt-BR); scripts title case.
            if i == 1 && p.len() == 2 {
                out.push_str(&p.to_ascii_uppercase());
            } else {
                out.push_str(p);
            }
        }
        Ok(Self(out))
    }
}

/// An IANA time zone (chrono-tz). Local days, opening hours and number resets use it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZone(pub chrono_tz::Tz);

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name())
    }
}
impl FromStr for TimeZone {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        s.parse::<chrono_tz::Tz>().map(Self).map_err(|_| {
            ParseError::new(
                "invalid_timezone",
                "an IANA time zone such as Africa/Nairobi",
            )
        })
    }
}
impl TryFrom<String> for TimeZone {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        s.parse()
    }
}
impl From<TimeZone> for String {
    fn from(v: TimeZone) -> String {
        v.0.name().to_owned()
    }
}

/// A login e-mail, trimmed and lower-cased so lookups are exact.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);
string_value!(Email);

impl FromStr for Email {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let s = s.trim().to_lowercase();
        let ok = s.len() <= 254
            && s.split_once('@').is_some_and(|(l, d)| {
                !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
            })
            && !s.chars().any(char::is_whitespace);
        if ok {
            Ok(Self(s))
        } else {
            Err(ParseError::new("invalid_email", "an e-mail address"))
        }
    }
}

/// A queue's ticket prefix: 1–3 upper-case ASCII letters (`A`, `VIP`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct QueuePrefix(String);
string_value!(QueuePrefix);

impl FromStr for QueuePrefix {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        if (1..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ParseError::new(
                "invalid_prefix",
                "1-3 upper-case letters, e.g. A",
            ))
        }
    }
}

/// A non-empty display name, at most 120 characters, trimmed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Name(String);
string_value!(Name);

impl FromStr for Name {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let t = s.trim();
        if t.is_empty() || t.chars().count() > 120 || t.chars().any(char::is_control) {
            Err(ParseError::new(
                "invalid_name",
                "1-120 printable characters",
            ))
        } else {
            Ok(Self(t.to_owned()))
        }
    }
}

/// The text of a display announcement: trimmed, 1–280 characters (a ticker line people
/// can read as it passes), no control characters (the ticker is one line).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AnnouncementText(String);
string_value!(AnnouncementText);

impl AnnouncementText {
    pub const MAX_CHARS: usize = 280;
}

impl FromStr for AnnouncementText {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let t = s.trim();
        let n = t.chars().count();
        if n == 0 || n > Self::MAX_CHARS || t.chars().any(char::is_control) {
            Err(ParseError::new(
                "invalid_announcement",
                "1-280 printable characters on one line",
            ))
        } else {
            Ok(Self(t.to_owned()))
        }
    }
}

macro_rules! str_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $s:literal),* $(,)? } $code:literal) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),* }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl FromStr for $name {
            type Err = $crate::values::ParseError;
            fn from_str(s: &str) -> Result<Self, $crate::values::ParseError> {
                match s {
                    $($s => Ok($name::$variant),)*
                    _ => Err($crate::values::ParseError::new($code, format!("unknown value '{s}'"))),
                }
            }
        }
    };
}
pub(crate) use str_enum;

str_enum!(
    /// Where a customer reached us from.
    Channel {
        Whatsapp = "whatsapp", Sms = "sms", Ussd = "ussd", Telegram = "telegram",
        Kiosk = "kiosk", Web = "web", Counter = "counter",
    } "invalid_channel"
);

str_enum!(
    /// Who a user is. Scopes follow from the role (see [`crate::auth`]).
    Role {
        SuperAdmin = "super_admin", Admin = "admin", Manager = "manager", Agent = "agent",
        Device = "device",
    } "invalid_role"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_normalise_to_e164() {
        assert_eq!(
            "+254 712-345 678".parse::<PhoneNumber>().unwrap().as_str(),
            "+254712345678"
        );
        assert_eq!(
            "00254712345678".parse::<PhoneNumber>().unwrap().as_str(),
            "+254712345678"
        );
        assert!("0712345678".parse::<PhoneNumber>().is_err());
        assert!("+0712345678".parse::<PhoneNumber>().is_err());
        assert!("+2547a2345678".parse::<PhoneNumber>().is_err());
        assert!("+1234567".parse::<PhoneNumber>().is_err());
        assert!("+1234567890123456".parse::<PhoneNumber>().is_err());
        let p: PhoneNumber = "+254712345678".parse().unwrap();
        assert!(!format!("{p:?}").contains("712345"));
    }

    #[test]
    fn announcements_are_one_line_of_1_to_280_characters() {
        let ok: AnnouncementText = "  Closed on Friday ".parse().unwrap();
        assert_eq!(ok.as_str(), "Closed on Friday");
        // Characters, not bytes: 280 Arabic letters fit.
        assert!("ب".repeat(280).parse::<AnnouncementText>().is_ok());
        for bad in ["", "   ", "two\nlines", &"x".repeat(281)] {
            let e = bad.parse::<AnnouncementText>().unwrap_err();
            assert_eq!(e.code, "invalid_announcement");
        }
    }

    #[test]
    fn slugs_locales_and_zones() {
        assert!("demo".parse::<TenantSlug>().is_ok());
        assert!("Demo".parse::<TenantSlug>().is_err());
        assert!("-demo".parse::<TenantSlug>().is_err());
        assert_eq!("pt_br".parse::<Locale>().unwrap().as_str(), "pt-BR");
        assert_eq!("pt-BR".parse::<Locale>().unwrap().language(), "pt");
        assert!("english!".parse::<Locale>().is_err());
        assert!("Africa/Nairobi".parse::<TimeZone>().is_ok());
        assert!("Mars/Olympus".parse::<TimeZone>().is_err());
        assert_eq!(
            " Admin@Demo.Test ".parse::<Email>().unwrap().as_str(),
            "admin@demo.test"
        );
        assert!("nope".parse::<Email>().is_err());
    }
}
