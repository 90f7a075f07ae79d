//! A credential that never shows up in logs.

use std::fmt;

use subtle::ConstantTimeEq;

/// A secret string (token, app secret, API key). `Debug` prints `Secret(***)`; there is no
/// `Display` and no `Serialize`, so it cannot slip into a log line or a JSON dump by
/// accident. It deserialises from a plain string (decrypted channel configuration).
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The value, for signing and for request headers only.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Constant-time equality with `candidate` (length is not hidden, the content is).
    pub fn matches(&self, candidate: &[u8]) -> bool {
        self.0.as_bytes().ct_eq(candidate).into()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self::new(s)
    }
}
