//! SmartQueue's system strings: Fluent catalogues for en (the source of truth), fr, ar, sw
//! and pt, embedded at compile time from `locales/<lang>/*.ftl`, and language negotiation
//! (an `Accept-Language` header or a contact's preferences, falling back to English).
//!
//! ```
//! let catalog = sq_i18n::Catalog::embedded().unwrap();
//! let prefs = catalog.negotiate_accept_language("fr-CA, en;q=0.5");
//! assert_eq!(prefs.language(), "fr");
//! let text = catalog.message(&prefs, "error-queue_empty", None);
//! assert_eq!(text, "Aucun ticket n’est en attente.");
//! ```
//!
//! Fluent wraps interpolated values in bidi isolation marks (U+2068 … U+2069) so an
//! English scope name stays readable inside Arabic text. That is right for HTML and JSON,
//! which is the default; plain-text channels that count characters (USSD, SMS) build a
//! catalogue with [`Catalog::with_bidi_isolation`]`(false)`.
//!
//! The bundles are the `concurrent` flavour, so one catalogue is shared by all threads.

use fluent_bundle::FluentResource;
use fluent_bundle::concurrent::FluentBundle;
use fluent_langneg::{NegotiationStrategy, negotiate_languages};
use std::fmt;
use unic_langid::LanguageIdentifier;

pub use fluent_bundle::{FluentArgs, FluentValue};

/// The language every message exists in; the last fallback.
pub const DEFAULT_LANGUAGE: &str = "en";

/// Embeds `locales/<lang>/<file>.ftl` for every language × file. English comes first.
macro_rules! embed {
    ([$($lang:literal),*], $files:tt) => {
        &[$(($lang, embed!(@files $lang, $files))),*]
    };
    (@files $lang:literal, [$($file:literal),*]) => {
        &[$(include_str!(concat!("../../../locales/", $lang, "/", $file, ".ftl"))),*]
    };
}

/// `(language, sources)` compiled into the binary.
const EMBEDDED: &[(&str, &[&str])] = embed!(["en", "fr", "ar", "sw", "pt"], ["errors", "web"]);

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("bad language tag {0:?}")]
    Language(String),
    #[error("{lang}: Fluent syntax error(s): {errors}")]
    Syntax { lang: String, errors: String },
    #[error("{lang}: {errors}")]
    Bundle { lang: String, errors: String },
    #[error("the catalogue has no {DEFAULT_LANGUAGE} messages")]
    NoDefault,
}

/// A negotiated fallback chain, best language first, always ending with English.
/// Cheap to build per request; only valid with the catalogue that made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prefs {
    chain: Vec<usize>,
    language: String,
}

impl Prefs {
    /// The language the text will mostly be in (for `Content-Language`, `<html lang>`).
    pub fn language(&self) -> &str {
        &self.language
    }
}

/// All system strings, one Fluent bundle per language.
pub struct Catalog {
    languages: Vec<LanguageIdentifier>,
    bundles: Vec<FluentBundle<FluentResource>>,
}

impl fmt::Debug for Catalog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Catalog")
            .field("languages", &self.languages)
            .finish_non_exhaustive()
    }
}

impl Catalog {
    /// The catalogue compiled into the binary. Fails only if a shipped `.ftl` file is
    /// broken, which this crate's tests rule out.
    pub fn embedded() -> Result<Self, CatalogError> {
        Self::from_sources(EMBEDDED)
    }

    /// Builds a catalogue from `(language, [ftl source…])`; English must be among them.
    pub fn from_sources(sources: &[(&str, &[&str])]) -> Result<Self, CatalogError> {
        let mut languages = Vec::with_capacity(sources.len());
        let mut bundles = Vec::with_capacity(sources.len());
        // English first, so index 0 is always the final fallback.
        let mut ordered: Vec<_> = sources.iter().collect();
        ordered.sort_by_key(|(lang, _)| *lang != DEFAULT_LANGUAGE);
        if ordered.first().is_none_or(|(l, _)| *l != DEFAULT_LANGUAGE) {
            return Err(CatalogError::NoDefault);
        }
        for (lang, files) in ordered {
            let id: LanguageIdentifier = lang
                .parse()
                .map_err(|_| CatalogError::Language((*lang).to_owned()))?;
            let mut bundle = FluentBundle::new_concurrent(vec![id.clone()]);
            for src in files.iter() {
                let res = FluentResource::try_new((*src).to_owned()).map_err(|(_, errs)| {
                    CatalogError::Syntax {
                        lang: (*lang).to_owned(),
                        errors: join(errs.iter().map(|e| format!("{e:?}"))),
                    }
                })?;
                bundle
                    .add_resource(res)
                    .map_err(|errs| CatalogError::Bundle {
                        lang: (*lang).to_owned(),
                        errors: join(errs.iter().map(ToString::to_string)),
                    })?;
            }
            languages.push(id);
            bundles.push(bundle);
        }
        Ok(Self { languages, bundles })
    }

    /// Turns bidi isolation marks around interpolated values on (the default) or off.
    pub fn with_bidi_isolation(mut self, on: bool) -> Self {
        for b in &mut self.bundles {
            b.set_use_isolating(on);
        }
        self
    }

    /// The languages with messages, English first.
    pub fn languages(&self) -> impl Iterator<Item = String> + '_ {
        self.languages.iter().map(ToString::to_string)
    }

    /// English only.
    pub fn default_prefs(&self) -> Prefs {
        Prefs {
            chain: vec![0],
            language: self.languages[0].to_string(),
        }
    }

    /// Negotiates from preferred language tags, best first (`["pt-BR", "fr"]`). Unknown or
    /// malformed tags are skipped; regional variants match their language (`fr-CA` → `fr`).
    pub fn negotiate<S: AsRef<str>>(&self, requested: &[S]) -> Prefs {
        let requested: Vec<LanguageIdentifier> = requested
            .iter()
            .filter_map(|s| s.as_ref().trim().replace('_', "-").parse().ok())
            .collect();
        let found = negotiate_languages(
            &requested,
            &self.languages,
            Some(&self.languages[0]),
            NegotiationStrategy::Filtering,
        );
        let chain: Vec<usize> = found
            .iter()
            .filter_map(|l| self.languages.iter().position(|x| x == *l))
            .collect();
        let language = self.languages[chain[0]].to_string();
        Prefs { chain, language }
    }

    /// Negotiates from an HTTP `Accept-Language` header, honouring `q` weights.
    pub fn negotiate_accept_language(&self, header: &str) -> Prefs {
        self.negotiate(&parse_accept_language(header))
    }

    /// Whether English (hence every language) has this message.
    pub fn has_message(&self, id: &str) -> bool {
        self.bundles[0].has_message(id)
    }

    /// Formats message `id` in the best language that has it, else English, else returns
    /// the id itself (a missing string must never break a response).
    pub fn message(&self, prefs: &Prefs, id: &str, args: Option<&FluentArgs<'_>>) -> String {
        for &i in prefs.chain.iter().chain(std::iter::once(&0)) {
            let Some(bundle) = self.bundles.get(i) else {
                continue;
            };
            if let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) {
                let mut errors = Vec::new();
                return bundle
                    .format_pattern(pattern, args, &mut errors)
                    .into_owned();
            }
        }
        id.to_owned()
    }
}

fn join(it: impl Iterator<Item = String>) -> String {
    it.collect::<Vec<_>>().join("; ")
}

/// The tags of an `Accept-Language` header, best first: sorted by `q` (stable, so equal
/// weights keep the client's order), without `*` and tags refused with `q=0`.
pub fn parse_accept_language(header: &str) -> Vec<String> {
    let mut tags: Vec<(String, f32)> = header
        .split(',')
        .filter_map(|part| {
            let mut it = part.split(';');
            let tag = it.next()?.trim();
            if tag.is_empty() || tag == "*" {
                return None;
            }
            let q = it
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (q > 0.0).then(|| (tag.to_owned(), q))
        })
        .collect();
    tags.sort_by(|a, b| b.1.total_cmp(&a.1));
    tags.into_iter().map(|(t, _)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use fluent_syntax::ast;
    use std::collections::{BTreeMap, BTreeSet};

    #[test]
    fn embedded_catalogue_loads_without_errors() {
        let c = Catalog::embedded().expect("shipped .ftl files are valid");
        assert_eq!(
            c.languages().collect::<Vec<_>>(),
            ["en", "fr", "ar", "sw", "pt"]
        );
    }

    /// Message id → the variables it uses (in its value, attributes and selectors).
    fn messages(src: &str) -> BTreeMap<String, BTreeSet<String>> {
        let res = fluent_syntax::parser::parse(src).unwrap_or_else(|(_, e)| panic!("{e:?}"));
        let mut out = BTreeMap::new();
        for entry in res.body {
            if let ast::Entry::Message(m) = entry {
                let mut vars = BTreeSet::new();
                if let Some(p) = &m.value {
                    pattern_vars(p, &mut vars);
                }
                for a in &m.attributes {
                    pattern_vars(&a.value, &mut vars);
                }
                out.insert(m.id.name.to_owned(), vars);
            }
        }
        out
    }

    fn pattern_vars(p: &ast::Pattern<&str>, vars: &mut BTreeSet<String>) {
        for el in &p.elements {
            if let ast::PatternElement::Placeable { expression } = el {
                expr_vars(expression, vars);
            }
        }
    }

    fn expr_vars(e: &ast::Expression<&str>, vars: &mut BTreeSet<String>) {
        match e {
            ast::Expression::Select { selector, variants } => {
                inline_vars(selector, vars);
                for v in variants {
                    pattern_vars(&v.value, vars);
                }
            }
            ast::Expression::Inline(i) => inline_vars(i, vars),
        }
    }

    fn inline_vars(i: &ast::InlineExpression<&str>, vars: &mut BTreeSet<String>) {
        match i {
            ast::InlineExpression::VariableReference { id } => {
                vars.insert(id.name.to_owned());
            }
            ast::InlineExpression::Placeable { expression } => expr_vars(expression, vars),
            ast::InlineExpression::FunctionReference { arguments, .. }
            | ast::InlineExpression::TermReference {
                arguments: Some(arguments),
                ..
            } => {
                for a in &arguments.positional {
                    inline_vars(a, vars);
                }
                for n in &arguments.named {
                    inline_vars(&n.value, vars);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn every_locale_has_every_english_message_with_the_same_variables() {
        let (_, en_files) = EMBEDDED[0];
        for (lang, files) in &EMBEDDED[1..] {
            assert_eq!(files.len(), en_files.len(), "{lang}: file count");
            for (en, other) in en_files.iter().zip(files.iter()) {
                let (en, other) = (messages(en), messages(other));
                assert!(!en.is_empty());
                for (id, vars) in &en {
                    let got = other
                        .get(id)
                        .unwrap_or_else(|| panic!("{lang}: missing message {id}"));
                    assert_eq!(got, vars, "{lang}: variables of {id}");
                }
                let extra: Vec<_> = other.keys().filter(|k| !en.contains_key(*k)).collect();
                assert!(extra.is_empty(), "{lang}: not in en: {extra:?}");
            }
        }
    }

    #[test]
    fn negotiation_matches_regions_honours_weights_and_falls_back_to_english() {
        let c = Catalog::embedded().unwrap();
        assert_eq!(
            c.negotiate_accept_language("fr-CA,fr;q=0.9").language(),
            "fr"
        );
        assert_eq!(c.negotiate_accept_language("pt-BR").language(), "pt");
        assert_eq!(
            c.negotiate_accept_language("en;q=0.2, sw;q=0.8, de")
                .language(),
            "sw"
        );
        assert_eq!(c.negotiate_accept_language("de-DE, ja").language(), "en");
        assert_eq!(c.negotiate_accept_language("").language(), "en");
        assert_eq!(c.negotiate_accept_language("ar;q=0, *").language(), "en");
        assert_eq!(c.negotiate(&["pt_BR"]).language(), "pt");
        assert_eq!(c.negotiate(&["not a tag!", "ar"]).language(), "ar");
    }

    #[test]
    fn accept_language_parsing() {
        assert_eq!(
            parse_accept_language("da, en-GB;q=0.8, en;q=0.7, *;q=0.1"),
            ["da", "en-GB", "en"]
        );
        assert_eq!(parse_accept_language("a;q=0.5,b"), ["b", "a"]);
        assert_eq!(parse_accept_language("x;q=abc"), ["x"]);
    }

    const EN: &str = "hello = Hello, { $name }!\nonly-en = English only\n";
    const FR: &str = "hello = Bonjour, { $name } !\n";

    #[test]
    fn falls_back_to_english_then_to_the_id() {
        let c = Catalog::from_sources(&[("fr", &[FR]), ("en", &[EN])]).unwrap();
        let fr = c.negotiate(&["fr"]);
        assert_eq!(c.message(&fr, "only-en", None), "English only");
        assert_eq!(c.message(&fr, "nope", None), "nope");
        assert!(c.has_message("only-en"));
        assert!(!c.has_message("nope"));
    }

    #[test]
    fn bidi_isolation_is_on_by_default_and_can_be_turned_off() {
        let mut args = FluentArgs::new();
        args.set("name", "Amina");
        let c = Catalog::from_sources(&[("en", &[EN]), ("fr", &[FR])]).unwrap();
        let fr = c.negotiate(&["fr"]);
        assert_eq!(
            c.message(&fr, "hello", Some(&args)),
            "Bonjour, \u{2068}Amina\u{2069} !"
        );
        let plain = c.with_bidi_isolation(false);
        assert_eq!(plain.message(&fr, "hello", Some(&args)), "Bonjour, Amina !");
    }

    #[test]
    fn a_catalogue_needs_english_and_valid_sources() {
        assert!(matches!(
            Catalog::from_sources(&[("fr", &[FR])]),
            Err(CatalogError::NoDefault)
        ));
        assert!(matches!(
            Catalog::from_sources(&[("en", &["= broken"])]),
            Err(CatalogError::Syntax { .. })
        ));
    }

    #[test]
    fn the_catalogue_is_shareable_across_threads() {
        fn assert_sync<T: Send + Sync>() {}
        assert_sync::<Catalog>();
    }
}
