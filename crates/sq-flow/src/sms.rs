//! SMS encoding and segment counting.
//!
//! Providers bill per segment, and one stray character (a curly apostrophe, a lowercase `ç`,
//! an emoji) silently flips a whole message from GSM-7 to UCS-2, halving its capacity. The
//! flow validator warns on long prompts and the SMS renderer reports what a page will cost,
//! so both need the exact count the network will apply — not an estimate.
//!
//! Rules (providers/README.md §5, 3GPP TS 23.038 / 23.040):
//! - GSM-7 iff every character is in the basic or extension table; extension characters are
//!   sent as `ESC` + code and cost 2 septets. Otherwise the *whole* message is UCS-2, costed in
//!   UTF-16 code units (astral characters such as emoji cost 2).
//! - One segment holds 160 septets / 70 units. Once a message needs more, every part carries a
//!   6-octet UDH and holds 153 septets / 67 units.
//! - An escape pair or a surrogate pair is never split across parts, so a part may hold one
//!   fewer. That is why the count is found by walking the text, not by dividing.
//!
//! The tables below are embedded from `providers/samples/gsm7-charset.txt`; a test re-reads
//! that file so the two cannot diverge. Character-level walking is deliberate: aggregators
//! split on escape and surrogate pairs, and we have no grapheme tables in this crate.

use serde::{Deserialize, Serialize};

/// Septets in a single GSM-7 SMS.
pub const GSM7_SINGLE: u32 = 160;
/// Septets per part of a concatenated GSM-7 SMS (6-octet UDH).
pub const GSM7_PART: u32 = 153;
/// UTF-16 units in a single UCS-2 SMS.
pub const UCS2_SINGLE: u32 = 70;
/// UTF-16 units per part of a concatenated UCS-2 SMS.
pub const UCS2_PART: u32 = 67;

/// How the network will encode a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmsEncoding {
    /// GSM 03.38 default alphabet, 7 bits per septet.
    Gsm7,
    /// UTF-16, 16 bits per unit.
    Ucs2,
}

/// What a text costs as an SMS.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsInfo {
    pub encoding: SmsEncoding,
    /// Septets (GSM-7) or UTF-16 units (UCS-2) of the whole text.
    pub units: u32,
    /// Number of billed segments; always `per_part.len()`.
    pub segments: u32,
    /// Units carried by each part, in order.
    pub per_part: Vec<u32>,
}

/// GSM 03.38 basic table, indexed by GSM code (0x00–0x7F).
///
/// 0x1B is the escape to the extension table, not a character: a literal U+001B in a text is
/// treated as *not* GSM (see [`gsm7_septets`]), because sending it would swallow the next
/// character as an extension code.
pub const GSM7_BASIC: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', '\u{1B}', 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

/// GSM 03.38 extension table: `(code after ESC, character)`. Each costs 2 septets.
pub const GSM7_EXTENSION: [(u8, char); 10] = [
    (0x0A, '\u{0C}'), // form feed
    (0x14, '^'),
    (0x28, '{'),
    (0x29, '}'),
    (0x2F, '\\'),
    (0x3C, '['),
    (0x3D, '~'),
    (0x3E, ']'),
    (0x40, '|'),
    (0x65, '€'),
];

/// Septet cost of each ASCII code point (0 = not GSM-7), built at compile time from the tables
/// above so the hot path (Latin text) is a single index.
const ASCII_COST: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut i = 0;
    while i < GSM7_BASIC.len() {
        let c = GSM7_BASIC[i] as u32;
        if c < 128 && c != 0x1B {
            t[c as usize] = 1;
        }
        i += 1;
    }
    let mut j = 0;
    while j < GSM7_EXTENSION.len() {
        let c = GSM7_EXTENSION[j].1 as u32;
        if c < 128 {
            t[c as usize] = 2;
        }
        j += 1;
    }
    t
};

/// Septets a character costs in GSM-7 (1 basic, 2 extension), or `None` if it forces UCS-2.
pub fn gsm7_septets(c: char) -> Option<u32> {
    if c.is_ascii() {
        return match ASCII_COST[c as usize] {
            0 => None,
            n => Some(u32::from(n)),
        };
    }
    if GSM7_BASIC.contains(&c) {
        Some(1)
    } else if GSM7_EXTENSION.iter().any(|&(_, e)| e == c) {
        Some(2)
    } else {
        None
    }
}

/// Whether the whole text can be sent in GSM-7.
pub fn is_gsm7(text: &str) -> bool {
    text.chars().all(|c| gsm7_septets(c).is_some())
}

/// Encoding, size and segmentation of `text` as the network will send it.
///
/// An empty text is reported as one (empty) segment: sending it would still be billed once.
pub fn analyse(text: &str) -> SmsInfo {
    if is_gsm7(text) {
        // `is_gsm7` just checked every char, so the fallback cost is never used.
        segment(
            SmsEncoding::Gsm7,
            text.chars().map(|c| gsm7_septets(c).unwrap_or(1)),
            GSM7_SINGLE,
            GSM7_PART,
        )
    } else {
        segment(
            SmsEncoding::Ucs2,
            // len_utf16 is 1 or 2, so the cast cannot lose anything.
            text.chars().map(|c| c.len_utf16() as u32),
            UCS2_SINGLE,
            UCS2_PART,
        )
    }
}

/// Walks per-character costs into parts. A character's cost is indivisible (escape pair,
/// surrogate pair), so when it does not fit the current part it opens the next one.
fn segment(
    encoding: SmsEncoding,
    costs: impl Iterator<Item = u32> + Clone,
    single: u32,
    part: u32,
) -> SmsInfo {
    let units = costs.clone().fold(0u32, u32::saturating_add);
    let per_part = if units <= single {
        vec![units]
    } else {
        let mut parts = Vec::new();
        let mut current = 0u32;
        for cost in costs {
            if current + cost > part {
                parts.push(current);
                current = 0;
            }
            current += cost;
        }
        parts.push(current);
        parts
    };
    SmsInfo {
        encoding,
        units,
        segments: u32::try_from(per_part.len()).unwrap_or(u32::MAX),
        per_part,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn samples_dir() -> PathBuf {
        // The shared folder sits next to the checkout (/work/shared locally, ../shared in CI).
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/providers/samples")
    }

    fn read_sample(name: &str) -> String {
        let path = samples_dir().join(name);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    }

    /// Evaluates a vector body: `"lit"`, `"lit"*N`, joined by `+`. String literals are JSON,
    /// so they are scanned (respecting escapes) rather than split, and decoded by serde_json.
    /// Returns the value and the unparsed rest of the line.
    fn eval_body(s: &str) -> (String, &str) {
        let mut out = String::new();
        let mut rest = s.trim_start();
        loop {
            assert!(
                rest.starts_with('"'),
                "expected a string literal at {rest:?}"
            );
            let bytes = rest.as_bytes();
            let mut i = 1;
            while bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            let lit: String = serde_json::from_str(&rest[..=i]).expect("JSON string literal");
            rest = rest[i + 1..].trim_start();
            let mut times = 1;
            if let Some(r) = rest.strip_prefix('*') {
                let r = r.trim_start();
                let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
                times = r[..end].parse().expect("repeat count");
                rest = r[end..].trim_start();
            }
            out.push_str(&lit.repeat(times));
            match rest.strip_prefix('+') {
                Some(r) => rest = r.trim_start(),
                None => return (out, rest),
            }
        }
    }

    #[test]
    fn expression_parser_evaluates_repeats_and_concatenation() {
        let (v, rest) = eval_body(r#""a"*3 + "Ç" + "\"|" | GSM-7"#);
        assert_eq!(v, "aaaÇ\"|");
        assert_eq!(rest, "| GSM-7");
    }

    #[test]
    fn every_segment_vector_matches() {
        let text = read_sample("sms-segment-vectors.txt");
        let mut checked = 0;
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with("name |") {
                continue;
            }
            let (name, rest) = line.split_once('|').expect("name column");
            let name = name.trim();
            let (body, rest) = eval_body(rest);
            let cols: Vec<&str> = rest
                .strip_prefix('|')
                .expect("column after body")
                .split('|')
                .map(str::trim)
                .collect();
            assert_eq!(cols.len(), 4, "{name}: columns {cols:?}");
            let encoding = match cols[0] {
                "GSM-7" => SmsEncoding::Gsm7,
                "UCS-2" => SmsEncoding::Ucs2,
                other => panic!("{name}: unknown encoding {other}"),
            };
            let units: u32 = cols[1].parse().expect("units");
            let segments: u32 = cols[2].parse().expect("segments");
            let per_part: Vec<u32> = cols[3]
                .trim_start_matches('[')
                .trim_end_matches(']')
                .split(',')
                .map(|p| p.trim().parse().expect("part"))
                .collect();
            let got = analyse(&body);
            assert_eq!(
                got,
                SmsInfo {
                    encoding,
                    units,
                    segments,
                    per_part
                },
                "vector {name}"
            );
            checked += 1;
        }
        assert!(checked >= 14, "only {checked} vectors found");
    }

    #[test]
    fn embedded_tables_match_the_charset_file() {
        let text = read_sample("gsm7-charset.txt");
        let (mut basic, mut ext) = (0, 0);
        for line in text.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let hex = |s: &str| u32::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
            let cp = |s: &str| char::from_u32(hex(s.trim_start_matches("U+"))).unwrap();
            match f.as_slice() {
                ["0x1B", code, u, ..] if code.starts_with("0x") => {
                    let code = u8::try_from(hex(code)).unwrap();
                    assert!(GSM7_EXTENSION.contains(&(code, cp(u))), "{line}");
                    ext += 1;
                }
                [code, u, ..] if code.starts_with("0x") && u.starts_with("U+") => {
                    assert_eq!(GSM7_BASIC[hex(code) as usize], cp(u), "{line}");
                    basic += 1;
                }
                _ => {}
            }
        }
        assert_eq!((basic, ext), (128, GSM7_EXTENSION.len()));
    }

    #[test]
    fn readme_vectors_beyond_the_file() {
        let euro81 = analyse(&"€".repeat(81));
        assert_eq!((euro81.units, euro81.per_part), (162, vec![152, 10]));
        let mixed = analyse(&format!("{}€{}", "a".repeat(152), "a".repeat(152)));
        assert_eq!(mixed.per_part, vec![152, 153, 1]);
        let cedilla = analyse(&format!("{}ç", "a".repeat(100)));
        assert_eq!((cedilla.encoding, cedilla.segments), (SmsEncoding::Ucs2, 2));
        assert_eq!(analyse(&"م".repeat(71)).per_part, vec![67, 4]);
        let wave = analyse(&format!("{}👋{}", "a".repeat(66), "a".repeat(10)));
        assert_eq!(wave.per_part, vec![66, 12]);
        assert_eq!(analyse("`").encoding, SmsEncoding::Ucs2);
    }

    #[test]
    fn escape_character_itself_is_not_gsm() {
        assert_eq!(gsm7_septets('\u{1B}'), None);
        assert_eq!(gsm7_septets('€'), Some(2));
        assert_eq!(gsm7_septets('\u{0C}'), Some(2));
        assert_eq!(gsm7_septets('¤'), Some(1));
        assert_eq!(analyse("").per_part, vec![0]);
    }

    proptest::proptest! {
        #[test]
        fn parts_respect_limits_and_sum_to_units(s in "\\PC{0,400}") {
            let info = analyse(&s);
            let (single, part) = match info.encoding {
                SmsEncoding::Gsm7 => (GSM7_SINGLE, GSM7_PART),
                SmsEncoding::Ucs2 => (UCS2_SINGLE, UCS2_PART),
            };
            proptest::prop_assert_eq!(info.per_part.iter().sum::<u32>(), info.units);
            proptest::prop_assert_eq!(info.segments as usize, info.per_part.len());
            if info.segments == 1 {
                proptest::prop_assert!(info.units <= single);
            } else {
                // Every part is full but for one indivisible pair; only the last may be short.
                let (last, full) = info.per_part.split_last().unwrap();
                proptest::prop_assert!(*last <= part);
                proptest::prop_assert!(full.iter().all(|&p| p == part || p == part - 1));
            }
        }
    }
}
