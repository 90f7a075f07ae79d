//! Request signing exactly as the providers do it (providers/README.md §1.3 and §2.3), and
//! Meta's ASCII-escaped JSON. Written from the provider documentation, not shared with the
//! adapters.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `X-Hub-Signature-256` value: `sha256=` + lowercase hex HMAC-SHA256(app secret, raw body).
pub fn whatsapp_signature(app_secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(app_secret.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex(&mac.finalize().into_bytes()))
}

/// The string Twilio signs: the full URL, then for every name in byte-wise ascending order
/// and each of its distinct values in ascending order, name + value (blank values count).
pub fn twilio_string_to_sign(url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut s = String::from(url);
    for (k, v) in sorted {
        s.push_str(k);
        s.push_str(v);
    }
    s
}

/// `X-Twilio-Signature` value: base64(HMAC-SHA1(auth token, string to sign)).
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(auth_token.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(twilio_string_to_sign(url, params).as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Serialise like Meta's webhooks: compact JSON, every non-ASCII character as a lowercase
/// `\uxxxx` escape (astral characters as UTF-16 surrogate pairs) and `/` as `\/`.
///
/// serde_json only emits non-ASCII and `/` inside strings, so escaping the serialised text
/// character by character stays valid JSON.
pub fn meta_json(value: &Value) -> String {
    let raw = serde_json::to_string(value).expect("a Value always serialises");
    let mut out = String::with_capacity(raw.len() + 16);
    for c in raw.chars() {
        if c == '/' {
            out.push_str("\\/");
        } else if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u16; 2];
            for unit in c.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whatsapp_vector_w1() {
        assert_eq!(
            whatsapp_signature("secret", b"test"),
            "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914"
        );
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn twilio_official_vector() {
        let params = pairs(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
            ("Caller", "+14158675309"),
        ]);
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(
            twilio_string_to_sign(url, &params),
            "https://mycompany.com/myapp.php?foo=1&bar=2CallSidCA1234567890ABCDECaller+14158675309Digits1234From+14158675309To+18005551212"
        );
        assert_eq!(
            twilio_signature("12345", url, &params),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
        assert_eq!(
            twilio_signature(
                "12345",
                "https://mycompany.com:443/myapp.php?foo=1&bar=2",
                &params
            ),
            "kvajT1Ptam85bY51eRf/AJRuM3w="
        );
    }

    #[test]
    fn meta_escaping() {
        let v = serde_json::json!({"t": "äöå 👋 a/b"});
        assert_eq!(
            meta_json(&v),
            r#"{"t":"\u00e4\u00f6\u00e5 \ud83d\udc4b a\/b"}"#
        );
        let back: Value = serde_json::from_str(&meta_json(&v)).unwrap();
        assert_eq!(back, v);
    }
}
