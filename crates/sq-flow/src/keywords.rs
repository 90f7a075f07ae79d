//! System keywords (FLOWS.md §3): STOP, START, HELP, STATUS, MENU, LANG.
//!
//! They preempt any flow, in every language: the host checks each inbound text with
//! [`KeywordTable::preempts`] before handing it to the engine, and on a match resumes the
//! session with [`crate::Input::Keyword`] (the engine records how the session ended) and then
//! runs the keyword's system behaviour. A flow may let some through as ordinary input
//! (`let_through: [help]`), except STOP: opting out must always work (SMS regulations).
//!
//! Synonyms per language are data, `flows/keywords.yaml` (embedded as
//! [`KeywordTable::builtin`]), so validation can check them and a tenant cannot break them.
//! They move to `locales/` with the system strings later; the format stays. Matching is on
//! the whole message, case-, accent- and (for Arabic) hamza/diacritic-insensitive, and on
//! every language at once: a French speaker whose locale is still `en` can still say "arrêt".
//! That is why synonyms must be unambiguous across languages (checked by [`KeywordTable::check`]).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::diag::Diagnostic;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Keyword {
    /// Opt out of messages on this channel.
    Stop,
    /// Opt back in.
    Start,
    Help,
    /// My tickets.
    Status,
    /// Back to the main menu.
    Menu,
    /// Choose the language.
    Lang,
}

impl Keyword {
    pub const ALL: [Keyword; 6] = [
        Keyword::Stop,
        Keyword::Start,
        Keyword::Help,
        Keyword::Status,
        Keyword::Menu,
        Keyword::Lang,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Keyword::Stop => "stop",
            Keyword::Start => "start",
            Keyword::Help => "help",
            Keyword::Status => "status",
            Keyword::Menu => "menu",
            Keyword::Lang => "lang",
        }
    }
}

impl fmt::Display for Keyword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Keyword {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Keyword::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown keyword `{s}` (stop, start, help, status, menu, lang)"))
    }
}

/// Folds text for matching: compatibility decomposition, combining marks dropped, lowercase,
/// Arabic letter variants unified (أ إ آ ٱ → ا, ى → ي, ة → ه, tatweel dropped), Arabic-Indic
/// digits to ASCII, surrounding punctuation and repeated spaces removed.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.nfkd() {
        if is_combining_mark(c) || c == '\u{0640}' {
            continue;
        }
        let c = match c {
            '\u{0671}' => '\u{0627}',
            '\u{0649}' => '\u{064A}',
            '\u{0629}' => '\u{0647}',
            '\u{0660}'..='\u{0669}' => char::from(b'0' + (c as u32 - 0x0660) as u8),
            '\u{06F0}'..='\u{06F9}' => char::from(b'0' + (c as u32 - 0x06F0) as u8),
            _ => c,
        };
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        for l in c.to_lowercase() {
            out.push(l);
        }
    }
    let trimmed = out.trim_matches(|c: char| c.is_ascii_punctuation() || "¡¿。،؟".contains(c));
    if trimmed.len() == out.len() {
        out
    } else {
        trimmed.trim().to_string()
    }
}

/// The synonyms file: keyword → language → words, and the yes/no answer words used by
/// `ask` steps of type `yes_no`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    keywords: BTreeMap<Keyword, BTreeMap<String, Vec<String>>>,
    #[serde(default)]
    answers: BTreeMap<String, BTreeMap<String, Vec<String>>>,
}

/// Keyword synonyms per language, folded for matching.
#[derive(Clone, Debug)]
pub struct KeywordTable {
    words: HashMap<String, Keyword>,
    yes: HashMap<String, ()>,
    no: HashMap<String, ()>,
    raw: RawTable,
}

/// The embedded `flows/keywords.yaml`.
pub const BUILTIN_KEYWORDS: &str = include_str!("../../../flows/keywords.yaml");

impl KeywordTable {
    /// The table shipped in `flows/keywords.yaml`.
    pub fn builtin() -> &'static KeywordTable {
        static T: std::sync::OnceLock<KeywordTable> = std::sync::OnceLock::new();
        T.get_or_init(|| {
            KeywordTable::from_yaml(BUILTIN_KEYWORDS).expect("flows/keywords.yaml is valid")
        })
    }

    pub fn from_yaml(text: &str) -> Result<KeywordTable, String> {
        let raw: RawTable = yaml_serde::from_str(text).map_err(|e| e.to_string())?;
        let mut words = HashMap::new();
        for (kw, langs) in &raw.keywords {
            words.insert(kw.as_str().to_string(), *kw);
            for list in langs.values() {
                for w in list {
                    words.entry(fold(w)).or_insert(*kw);
                }
            }
        }
        let collect = |key: &str| -> HashMap<String, ()> {
            raw.answers
                .get(key)
                .map(|langs| langs.values().flatten().map(|w| (fold(w), ())).collect())
                .unwrap_or_default()
        };
        let (yes, no) = (collect("yes"), collect("no"));
        Ok(KeywordTable {
            words,
            yes,
            no,
            raw,
        })
    }

    /// The keyword this whole message is, if any.
    pub fn detect(&self, text: &str) -> Option<Keyword> {
        if text.len() > 64 {
            return None;
        }
        self.words.get(&fold(text)).copied()
    }

    /// The keyword that preempts the active flow (none if the flow lets it through).
    pub fn preempts(&self, text: &str, let_through: &[Keyword]) -> Option<Keyword> {
        self.detect(text)
            .filter(|k| *k == Keyword::Stop || !let_through.contains(k))
    }

    /// `Some(true)` for a yes word, `Some(false)` for a no word, in any language.
    pub fn yes_no(&self, text: &str) -> Option<bool> {
        let f = fold(text);
        if self.yes.contains_key(&f) {
            Some(true)
        } else if self.no.contains_key(&f) {
            Some(false)
        } else {
            None
        }
    }

    /// Synonyms of `keyword` in `lang`.
    pub fn synonyms(&self, keyword: Keyword, lang: &str) -> &[String] {
        self.raw
            .keywords
            .get(&keyword)
            .and_then(|l| l.get(lang))
            .map_or(&[], Vec::as_slice)
    }

    /// Checks the table: every keyword in every language, no word meaning two keywords, no
    /// word both yes and no or both a keyword and an answer.
    pub fn check(&self, languages: &[&str]) -> Vec<Diagnostic> {
        const FILE: &str = "keywords.yaml";
        let mut out = Vec::new();
        let mut seen: HashMap<String, (Keyword, String)> = HashMap::new();
        for kw in Keyword::ALL {
            let langs = self.raw.keywords.get(&kw);
            for lang in languages {
                if langs.and_then(|l| l.get(*lang)).is_none_or(Vec::is_empty) {
                    out.push(Diagnostic::error(
                        "keyword_missing_language",
                        FILE,
                        format!("keyword {kw} has no synonyms in `{lang}`"),
                    ));
                }
            }
            for (lang, list) in langs.into_iter().flatten() {
                for w in list {
                    let f = fold(w);
                    if f.is_empty() {
                        out.push(Diagnostic::error(
                            "keyword_empty",
                            FILE,
                            format!("keyword {kw} has an empty synonym in `{lang}`"),
                        ));
                        continue;
                    }
                    if let Some((other, olang)) = seen.get(&f)
                        && *other != kw
                    {
                        out.push(Diagnostic::error(
                            "keyword_ambiguous",
                            FILE,
                            format!(
                                "`{w}` ({lang}) means {kw} but also {other} ({olang}): \
                                 keywords match in every language, so a word may mean one only"
                            ),
                        ));
                    }
                    seen.entry(f.clone()).or_insert((kw, lang.clone()));
                    if self.yes.contains_key(&f) || self.no.contains_key(&f) {
                        out.push(Diagnostic::error(
                            "keyword_is_answer",
                            FILE,
                            format!("`{w}` ({lang}) is keyword {kw} and also a yes/no answer"),
                        ));
                    }
                }
            }
        }
        for y in self.yes.keys() {
            if self.no.contains_key(y) {
                out.push(Diagnostic::error(
                    "answer_ambiguous",
                    FILE,
                    format!("`{y}` is both a yes and a no answer"),
                ));
            }
        }
        for key in ["yes", "no"] {
            for lang in languages {
                if self
                    .raw
                    .answers
                    .get(key)
                    .and_then(|l| l.get(*lang))
                    .is_none_or(Vec::is_empty)
                {
                    out.push(Diagnostic::error(
                        "answer_missing_language",
                        FILE,
                        format!("answer `{key}` has no words in `{lang}`"),
                    ));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LANGUAGES;

    #[test]
    fn folding() {
        assert_eq!(fold("  ARRÊT! "), "arret");
        assert_eq!(fold("Menú"), "menu");
        assert_eq!(fold("ＳＴＯＰ"), "stop");
        assert_eq!(fold("إلغاء"), fold("الغاء"));
        assert_eq!(fold("قائمة"), fold("قائمه"));
        assert_eq!(fold("٣"), "3");
        assert_eq!(fold("my   ticket"), "my ticket");
    }

    #[test]
    fn builtin_table_is_sound() {
        let t = KeywordTable::builtin();
        let d = t.check(&LANGUAGES);
        assert!(d.is_empty(), "{d:#?}");
    }

    #[test]
    fn detects_in_every_language_case_and_accent_insensitively() {
        let t = KeywordTable::builtin();
        assert_eq!(t.detect("STOP"), Some(Keyword::Stop));
        assert_eq!(t.detect("Arrêt"), Some(Keyword::Stop));
        assert_eq!(t.detect("arret"), Some(Keyword::Stop));
        assert_eq!(t.detect("msaada"), Some(Keyword::Help));
        assert_eq!(t.detect("Ajuda"), Some(Keyword::Help));
        assert_eq!(t.detect("قائمة"), Some(Keyword::Menu));
        assert_eq!(t.detect("menu."), Some(Keyword::Menu));
        assert_eq!(t.detect("stop please"), None);
        assert_eq!(t.detect("hello"), None);
    }

    #[test]
    fn let_through_never_covers_stop() {
        let t = KeywordTable::builtin();
        assert_eq!(t.preempts("help", &[Keyword::Help]), None);
        assert_eq!(t.preempts("help", &[]), Some(Keyword::Help));
        assert_eq!(t.preempts("stop", &[Keyword::Stop]), Some(Keyword::Stop));
    }

    #[test]
    fn yes_no_words() {
        let t = KeywordTable::builtin();
        assert_eq!(t.yes_no("Oui"), Some(true));
        assert_eq!(t.yes_no("ndiyo"), Some(true));
        assert_eq!(t.yes_no("NÃO"), Some(false));
        assert_eq!(t.yes_no("نعم"), Some(true));
        assert_eq!(t.yes_no("maybe"), None);
    }

    #[test]
    fn ambiguity_is_reported() {
        let t = KeywordTable::from_yaml(
            "keywords:\n  stop: { en: [stop, quit] }\n  help: { en: [help, QUIT] }\n",
        )
        .unwrap();
        let d = t.check(&["en"]);
        assert!(d.iter().any(|d| d.code == "keyword_ambiguous"), "{d:#?}");
    }
}
