//! Folding text for reply matching.
//!
//! Customers type on feature phones, on keyboards without accents, in Arabic with or without
//! vowel marks, with Arabic-Indic digits, and with stray punctuation ("Yes!", "1."). A reply
//! must match a label whichever of these it used, so both the reply and every candidate go
//! through the same [`fold`] before comparing. Folding only loosens *equality*; it never
//! enables prefix or fuzzy matching, so a reply can never match by truncated display text.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Punctuation people add around a reply ("1.", "(2)", "Yes!", "¿Sí?", "نعم؟"). Trimmed from
/// both ends only, so labels made of punctuation or emoji inside keep their identity.
const EDGE_PUNCTUATION: &[char] = &[
    '.', ',', '!', '?', ';', ':', '¿', '¡', '(', ')', '[', ']', '"', '\'', '،', '؟', '؛', '۔',
];

/// Folds `s` for matching: NFKD, lowercase, combining marks removed (so "Dépôts" = "depots"
/// and Arabic tashkeel disappears), Arabic tatweel and invisible format characters removed
/// (bidi isolation marks from Fluent must not break a match), Arabic-Indic and Persian digits
/// turned into ASCII, common Arabic spelling variants unified (ى→ي, ة→ه), whitespace trimmed
/// and collapsed, and edge punctuation trimmed unless nothing else is left.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.nfkd().flat_map(char::to_lowercase) {
        if is_combining_mark(c) || is_ignorable(c) {
            continue;
        }
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(map_char(c));
    }
    let trimmed = out.trim_matches(|c: char| EDGE_PUNCTUATION.contains(&c) || c == ' ');
    if trimmed.is_empty() || trimmed.len() == out.len() {
        out
    } else {
        trimmed.to_owned()
    }
}

/// Characters that change nothing a reader sees in a menu answer.
fn is_ignorable(c: char) -> bool {
    matches!(c,
        '\u{0640}'                       // Arabic tatweel (kashida)
        | '\u{0610}'..='\u{061A}'        // Arabic honorific and Quranic marks
        | '\u{064B}'..='\u{065F}'        // tashkeel (most are combining marks already)
        | '\u{0670}'                     // superscript alef
        | '\u{06D6}'..='\u{06ED}'        // Quranic annotation marks
        | '\u{061C}'                     // Arabic letter mark
        | '\u{00AD}'                     // soft hyphen
        | '\u{200B}'..='\u{200F}'        // zero-width spaces/joiners, LRM, RLM
        | '\u{202A}'..='\u{202E}'        // bidi embeddings and overrides
        | '\u{2060}'..='\u{2064}'        // word joiner, invisible operators
        | '\u{2066}'..='\u{2069}'        // bidi isolates (Fluent inserts these)
        | '\u{FEFF}' // byte-order mark
    )
}

fn map_char(c: char) -> char {
    match c {
        '\u{0660}'..='\u{0669}' => digit(c as u32 - 0x0660),
        '\u{06F0}'..='\u{06F9}' => digit(c as u32 - 0x06F0),
        'ى' => 'ي',
        'ة' => 'ه',
        _ => c,
    }
}

fn digit(d: u32) -> char {
    char::from_digit(d, 10).unwrap_or('0')
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn folds_case_accents_and_spaces() {
        assert_eq!(fold("  Dépôts   À  VUE "), "depots a vue");
        assert_eq!(fold("DEPOTS"), fold("dépôts"));
        assert_eq!(fold("Ｌｏａｎｓ"), "loans");
        assert_eq!(fold("İstanbul"), "istanbul");
    }

    #[test]
    fn folds_arabic_marks_tatweel_and_digits() {
        assert_eq!(fold("مَرْحَبًا"), fold("مرحبا"));
        assert_eq!(fold("مـــرحبا"), "مرحبا");
        assert_eq!(fold("٣"), "3");
        assert_eq!(fold("۱۲"), "12");
        assert_eq!(fold("أحمد"), fold("احمد"));
        assert_eq!(fold("\u{2068}قروض\u{2069}"), "قروض");
    }

    #[test]
    fn trims_edge_punctuation_but_keeps_symbol_labels() {
        assert_eq!(fold("1."), "1");
        assert_eq!(fold("(2)"), "2");
        assert_eq!(fold("Yes!"), "yes");
        assert_eq!(fold("نعم؟"), "نعم");
        assert_eq!(fold("?"), "?");
        assert_eq!(fold("👍"), "👍");
        assert_eq!(fold("C++"), "c++");
        assert_eq!(fold(""), "");
        assert_eq!(fold(" \u{200f} "), "");
    }
}
