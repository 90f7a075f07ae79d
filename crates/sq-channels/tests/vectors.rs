//! The signature vector files themselves, parsed, so a vector added there is checked here.

mod common;

use common::*;
use sq_channels::twilio::Twilio;
use sq_channels::whatsapp::WhatsApp;

fn field<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == name).then_some(v.trim())
        })
        .collect()
}

#[test]
fn whatsapp_vector_file() {
    let text = sample("whatsapp-signature-vector.txt");
    let secrets = field(&text, "app_secret");
    let bodies = field(&text, "body");
    let expected = field(&text, "expected");
    assert!(!secrets.is_empty());
    assert_eq!(secrets.len(), bodies.len());
    assert_eq!(secrets.len(), expected.len());
    for ((s, b), e) in secrets.iter().zip(&bodies).zip(&expected) {
        assert_eq!(&WhatsApp::signature(s, b.as_bytes()), e);
    }
}

/// `params = A=1, B=2` → pairs (values never contain ", " in these vectors).
fn params(line: &str) -> Vec<(String, String)> {
    line.split(", ")
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

#[test]
fn twilio_vector_file() {
    let text = sample("twilio-signature-vector.txt");
    let token = field(&text, "auth_token")[0];
    let mut checked = 0;
    // Each "## Vector" section: params (optional), url, string_to_sign (optional), expected.
    for section in text.split("## Vector").skip(1) {
        let url = field(section, "url")[0];
        let p = field(section, "params")
            .first()
            .map(|l| params(l))
            .unwrap_or_default();
        let expected = field(section, "expected")[0];
        assert_eq!(Twilio::signature(token, url, &p), expected, "{url}");
        checked += 1;
        // Port variants: "A-port443  : url <url>  -> <sig>"
        for line in section
            .lines()
            .filter(|l| l.contains(": url ") && l.contains("->"))
        {
            let rest = line.split_once(": url ").unwrap().1;
            let (u, sig) = rest.split_once("->").unwrap();
            let sig = sig.trim().trim_start_matches("(computed)").trim();
            assert_eq!(Twilio::signature(token, u.trim(), &p), sig, "{u}");
            checked += 1;
        }
    }
    assert!(checked >= 7, "{checked}");
}
