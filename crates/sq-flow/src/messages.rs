//! A flow's Fluent messages (`<lang>.ftl`) and their formatting.
//!
//! sq-flow formats its own messages with fluent-bundle: it must not depend on sq-i18n (the
//! dependency rule keeps sq-flow on sq-domain only), so the system strings a flow falls back
//! to (`locales/`, and the shared starter-flow strings in `flows/common/`) come in as data —
//! more [`Messages`] layers given to [`Localizer::new`] by the caller.
//!
//! Fallback: the contact's locale, then the tenant's default, then `en` ([`locale_chain`]);
//! within one language, the flow's own file wins over the layers. Plurals follow CLDR through
//! fluent-bundle (Arabic has zero/one/two/few/many/other).
//!
//! # Bidi isolation
//!
//! Fluent wraps every placeable in FSI/PDI (U+2068/U+2069) so a Latin ticket number inside
//! Arabic text keeps its direction. Decision: **off for SMS and USSD, on everywhere else.**
//! On SMS each mark forces UCS-2 (a 160-character GSM-7 segment becomes 70) and costs a
//! character; USSD budgets are counted in characters and feature phones often print the
//! marks as boxes or `?`. Those phones do not run the Unicode bidi algorithm on isolates
//! anyway, so the marks buy nothing there. WhatsApp, Telegram and web render them invisibly
//! and correctly, so they keep them. [`isolates`] is the one place this is decided.
//!
//! # Numbers and dates
//!
//! Numeric arguments are formatted per language, with GSM-7-safe separators on the
//! non-isolating (SMS/USSD) bundles; `TIME($at)` and `DATE($at)` format ISO-8601 local
//! date-times. Rules and tables: [`crate::intl`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use fluent_syntax::ast;
use sq_domain::Channel;
use unic_langid::LanguageIdentifier;

use crate::diag::Diagnostic;
use crate::limits::Limits;
use crate::locate::Pos;
use crate::value::Value;

/// Whether Fluent's bidi isolation marks are kept on `channel` (see the module docs).
pub fn isolates(channel: Channel) -> bool {
    !matches!(channel, Channel::Sms | Channel::Ussd)
}

/// The languages to try, best first: the contact's, the tenant's default, then `en`. A
/// regional tag also tries its language (`pt-BR` → `pt`). No duplicates.
pub fn locale_chain(contact: Option<&str>, tenant_default: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(4);
    for tag in contact.into_iter().chain(tenant_default).chain(["en"]) {
        let tag = tag.trim();
        if tag.is_empty() {
            continue;
        }
        for t in [tag, tag.split(['-', '_']).next().unwrap_or(tag)] {
            if !out.iter().any(|o| o == t) {
                out.push(t.to_string());
            }
        }
    }
    out
}

struct LangFile {
    file: String,
    resource: Arc<FluentResource>,
    /// Message id → entry index.
    ids: HashMap<String, usize>,
}

/// One layer of messages (a flow's own, or a fallback layer) in several languages.
#[derive(Default)]
pub struct Messages {
    langs: BTreeMap<String, LangFile>,
}

impl std::fmt::Debug for Messages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.langs.iter().map(|(l, m)| (l, m.ids.len())))
            .finish()
    }
}

/// Byte offset → 1-based line and column (columns in characters).
pub(crate) fn pos_of(text: &str, offset: usize) -> Pos {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Pos { line, column: col }
}

impl Messages {
    /// Parses `(lang, source)` files. Syntax errors and limit breaches are reported (file
    /// `<lang>.ftl`, with line and column); what parsed is kept, like Fluent does.
    pub fn parse<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
        limits: &Limits,
    ) -> (Messages, Vec<Diagnostic>) {
        let mut langs = BTreeMap::new();
        let mut diags = Vec::new();
        for (lang, source) in files {
            let file = format!("{lang}.ftl");
            if source.len() > limits.max_file_bytes {
                diags.push(Diagnostic::error(
                    "file_too_large",
                    &file,
                    format!(
                        "{} bytes is over the limit of {} bytes",
                        source.len(),
                        limits.max_file_bytes
                    ),
                ));
                continue;
            }
            let resource = match FluentResource::try_new(source.to_string()) {
                Ok(r) => r,
                Err((r, errs)) => {
                    for e in errs {
                        diags.push(
                            Diagnostic::error("ftl_syntax", &file, format!("Fluent syntax: {e}"))
                                .at(Some(pos_of(
                                    source,
                                    e.slice.as_ref().map_or(e.pos.start, |s| s.start),
                                ))),
                        );
                    }
                    r
                }
            };
            let mut ids = HashMap::new();
            for (i, entry) in resource.entries().enumerate() {
                if let ast::Entry::Message(m) = entry {
                    if m.value.is_none() {
                        continue;
                    }
                    let len = m.value.as_ref().map_or(0, pattern_chars);
                    if len > limits.max_message_chars {
                        diags.push(Diagnostic::error(
                            "message_too_long",
                            &file,
                            format!(
                                "message `{}` is {len} characters; the limit is {}",
                                m.id.name, limits.max_message_chars
                            ),
                        ));
                    }
                    ids.insert(m.id.name.to_string(), i);
                }
            }
            if ids.len() > limits.max_messages {
                diags.push(Diagnostic::error(
                    "too_many_messages",
                    &file,
                    format!(
                        "{} messages; the limit is {}",
                        ids.len(),
                        limits.max_messages
                    ),
                ));
            }
            langs.insert(
                lang.to_string(),
                LangFile {
                    file,
                    resource: Arc::new(resource),
                    ids,
                },
            );
        }
        (Messages { langs }, diags)
    }

    pub fn languages(&self) -> impl Iterator<Item = &str> {
        self.langs.keys().map(String::as_str)
    }

    pub fn has_language(&self, lang: &str) -> bool {
        self.langs.contains_key(lang)
    }

    pub fn has(&self, lang: &str, id: &str) -> bool {
        self.langs.get(lang).is_some_and(|l| l.ids.contains_key(id))
    }

    /// Message ids defined in `lang`.
    pub fn ids(&self, lang: &str) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .langs
            .get(lang)
            .map(|l| l.ids.keys().map(String::as_str).collect())
            .unwrap_or_default();
        v.sort_unstable();
        v
    }

    pub fn file(&self, lang: &str) -> Option<&str> {
        self.langs.get(lang).map(|l| l.file.as_str())
    }

    fn message(&self, lang: &str, id: &str) -> Option<&ast::Message<&str>> {
        let l = self.langs.get(lang)?;
        match l.resource.get_entry(*l.ids.get(id)?) {
            Some(ast::Entry::Message(m)) => Some(m),
            _ => None,
        }
    }

    /// The variables message `id` uses in `lang`, following references to other messages of
    /// the same file. `None` if the message is not there.
    pub fn vars(&self, lang: &str, id: &str) -> Option<Vec<String>> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        self.collect_vars(lang, id, &mut out, &mut seen)?;
        Some(out)
    }

    fn collect_vars(
        &self,
        lang: &str,
        id: &str,
        out: &mut Vec<String>,
        seen: &mut HashSet<String>,
    ) -> Option<()> {
        if !seen.insert(id.to_string()) {
            return Some(());
        }
        let m = self.message(lang, id)?;
        let mut refs = Vec::new();
        if let Some(p) = &m.value {
            pattern_vars(p, out, &mut refs);
        }
        for r in refs {
            // A reference to a message of another layer is checked where it is defined.
            let _ = self.collect_vars(lang, &r, out, seen);
        }
        Some(())
    }

    /// The raw text of message `id` in `lang` for words lists (`keywords-join`, synonyms):
    /// the pattern's literal text, placeables ignored.
    pub fn literal(&self, lang: &str, id: &str) -> Option<String> {
        let m = self.message(lang, id)?;
        let mut s = String::new();
        for e in &m.value.as_ref()?.elements {
            if let ast::PatternElement::TextElement { value } = e {
                s.push_str(value);
            }
        }
        Some(s)
    }
}

/// Characters of literal text in a pattern (the longest variant of each select).
fn pattern_chars(p: &ast::Pattern<&str>) -> usize {
    p.elements
        .iter()
        .map(|e| match e {
            ast::PatternElement::TextElement { value } => value.chars().count(),
            ast::PatternElement::Placeable { expression } => match expression {
                ast::Expression::Select { variants, .. } => variants
                    .iter()
                    .map(|v| pattern_chars(&v.value))
                    .max()
                    .unwrap_or(0),
                ast::Expression::Inline(_) => 4,
            },
        })
        .sum()
}

fn pattern_vars(p: &ast::Pattern<&str>, vars: &mut Vec<String>, refs: &mut Vec<String>) {
    for e in &p.elements {
        if let ast::PatternElement::Placeable { expression } = e {
            expression_vars(expression, vars, refs);
        }
    }
}

fn expression_vars(e: &ast::Expression<&str>, vars: &mut Vec<String>, refs: &mut Vec<String>) {
    match e {
        ast::Expression::Select { selector, variants } => {
            inline_vars(selector, vars, refs);
            for v in variants {
                pattern_vars(&v.value, vars, refs);
            }
        }
        ast::Expression::Inline(i) => inline_vars(i, vars, refs),
    }
}

fn inline_vars(e: &ast::InlineExpression<&str>, vars: &mut Vec<String>, refs: &mut Vec<String>) {
    match e {
        ast::InlineExpression::VariableReference { id } if !vars.iter().any(|v| v == id.name) => {
            vars.push(id.name.to_string());
        }
        ast::InlineExpression::MessageReference { id, .. } => refs.push(id.name.to_string()),
        ast::InlineExpression::FunctionReference { arguments, .. } => {
            for a in &arguments.positional {
                inline_vars(a, vars, refs);
            }
            for a in &arguments.named {
                inline_vars(&a.value, vars, refs);
            }
        }
        // A term sees only the arguments passed to it.
        ast::InlineExpression::TermReference {
            arguments: Some(args),
            ..
        } => {
            for a in &args.positional {
                inline_vars(a, vars, refs);
            }
            for a in &args.named {
                inline_vars(&a.value, vars, refs);
            }
        }
        ast::InlineExpression::Placeable { expression } => expression_vars(expression, vars, refs),
        _ => {}
    }
}

type Bundle = FluentBundle<Arc<FluentResource>>;

/// Formatting bundles for one flow: per language, the flow's file over the fallback layers,
/// once with bidi isolation and once without. Build once per flow version and share
/// (`Send + Sync`).
pub struct Localizer {
    bundles: HashMap<String, [Bundle; 2]>,
}

impl std::fmt::Debug for Localizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Localizer")
            .field("languages", &self.bundles.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Localizer {
    /// `layers`: fallback messages in priority order (e.g. `flows/common`, then `locales/`).
    pub fn new(flow: &Messages, layers: &[&Messages]) -> Localizer {
        let mut langs: Vec<&str> = flow.languages().collect();
        for l in layers {
            langs.extend(l.languages());
        }
        langs.sort_unstable();
        langs.dedup();
        let mut bundles = HashMap::new();
        for lang in langs {
            let id: LanguageIdentifier = lang.parse().unwrap_or_default();
            let make = |isolating: bool| {
                let mut b: Bundle = FluentBundle::new_concurrent(vec![id.clone()]);
                b.set_use_isolating(isolating);
                // The non-isolating bundle serves SMS/USSD: GSM-7-safe number separators.
                b.set_formatter(crate::intl::number_formatter(lang, !isolating));
                // Before the resources: functions and messages share one namespace.
                let _ = b.add_builtins();
                let _ = b.add_function("TIME", crate::intl::datetime_function(lang, false));
                let _ = b.add_function("DATE", crate::intl::datetime_function(lang, true));
                // Entries already present win: the flow's file first, then layers in order.
                for layer in std::iter::once(flow).chain(layers.iter().copied()) {
                    if let Some(f) = layer.langs.get(lang) {
                        let _ = b.add_resource(f.resource.clone());
                    }
                }
                b
            };
            bundles.insert(lang.to_string(), [make(true), make(false)]);
        }
        Localizer { bundles }
    }

    /// Whether `id` resolves in `lang` (flow or a layer).
    pub fn has(&self, lang: &str, id: &str) -> bool {
        self.bundles.get(lang).is_some_and(|b| b[0].has_message(id))
    }

    /// Formats `id` in the first language of `chain` that has it. Missing arguments show as
    /// `{$name}` (validation prevents them). `None` if no language has the message.
    pub fn format(
        &self,
        chain: &[String],
        id: &str,
        args: &[(String, Value)],
        isolate: bool,
    ) -> Option<String> {
        for lang in chain {
            let Some(b) = self.bundles.get(lang.as_str()) else {
                continue;
            };
            let b = &b[usize::from(!isolate)];
            let Some(msg) = b.get_message(id) else {
                continue;
            };
            let Some(pattern) = msg.value() else { continue };
            let mut fargs = FluentArgs::with_capacity(args.len());
            for (k, v) in args {
                fargs.set(k.as_str(), fluent_value(v));
            }
            let mut errors = Vec::new();
            return Some(
                b.format_pattern(pattern, Some(&fargs), &mut errors)
                    .into_owned(),
            );
        }
        None
    }
}

fn fluent_value(v: &Value) -> FluentValue<'_> {
    match v {
        Value::Int(i) => FluentValue::from(*i),
        Value::Text(s) => FluentValue::from(s.as_str()),
        Value::Bool(b) => FluentValue::from(if *b { "true" } else { "false" }),
        Value::List(l) => FluentValue::from(l.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(files: &[(&str, &str)]) -> Messages {
        let (m, d) = Messages::parse(files.iter().copied(), &Limits::default());
        assert!(d.is_empty(), "{d:?}");
        m
    }

    fn args(a: &[(&str, Value)]) -> Vec<(String, Value)> {
        a.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    #[test]
    fn arabic_plurals_use_all_cldr_forms() {
        let m = layer(&[(
            "ar",
            "ahead = { $n ->\n    [zero] لا أحد\n    [one] شخص واحد\n    [two] شخصان\n    [few] { $n } أشخاص\n    [many] { $n } شخصًا\n   *[other] { $n } شخص\n}\n",
        )]);
        let l = Localizer::new(&m, &[]);
        let chain = locale_chain(Some("ar"), None);
        let f = |n: i64| {
            l.format(&chain, "ahead", &args(&[("n", n.into())]), false)
                .unwrap()
        };
        assert_eq!(f(0), "لا أحد");
        assert_eq!(f(1), "شخص واحد");
        assert_eq!(f(2), "شخصان");
        assert_eq!(f(3), "3 أشخاص");
        assert_eq!(f(11), "11 شخصًا");
        assert_eq!(f(100), "100 شخص");
    }

    #[test]
    fn falls_back_contact_then_tenant_then_en_then_layers() {
        let flow = layer(&[
            ("en", "a = A-en\nb = B-en\n"),
            ("fr", "a = A-fr\n"),
            ("sw", "b = B-sw\n"),
        ]);
        let system = layer(&[("fr", "c = C-fr\n"), ("en", "c = C-en\na = never\n")]);
        let l = Localizer::new(&flow, &[&system]);
        let chain = locale_chain(Some("fr"), Some("sw"));
        assert_eq!(chain, ["fr", "sw", "en"]);
        let f = |id| l.format(&chain, id, &[], true);
        assert_eq!(f("a").as_deref(), Some("A-fr"));
        assert_eq!(f("b").as_deref(), Some("B-sw"));
        assert_eq!(f("c").as_deref(), Some("C-fr"));
        assert_eq!(
            l.format(&["en".into()], "a", &[], true).as_deref(),
            Some("A-en")
        );
        assert_eq!(f("zzz"), None);
        assert_eq!(
            locale_chain(Some("pt-BR"), Some("en")),
            ["pt-BR", "pt", "en"]
        );
    }

    #[test]
    fn isolation_marks_only_where_they_render() {
        let m = layer(&[("ar", "t = تذكرتك { $ticket }\n")]);
        let l = Localizer::new(&m, &[]);
        let a = args(&[("ticket", "A001".into())]);
        let chain = vec!["ar".to_string()];
        for ch in [Channel::Sms, Channel::Ussd] {
            let s = l.format(&chain, "t", &a, isolates(ch)).unwrap();
            assert!(!s.contains(['\u{2068}', '\u{2069}']), "{ch}: {s:?}");
            assert_eq!(s, "تذكرتك A001");
        }
        for ch in [Channel::Web, Channel::Whatsapp, Channel::Telegram] {
            let s = l.format(&chain, "t", &a, isolates(ch)).unwrap();
            assert_eq!(s, "تذكرتك \u{2068}A001\u{2069}", "{ch}");
        }
    }

    #[test]
    fn numbers_are_formatted_per_language_and_channel() {
        let m = layer(&[
            (
                "en",
                "n = { $n } waiting, { $small } ahead, { NUMBER($x, minimumFractionDigits: 1) }\n",
            ),
            (
                "fr",
                "n = { $n } en attente, { $small } avant vous, { NUMBER($x, minimumFractionDigits: 1) }\n",
            ),
            (
                "pt",
                "n = { $n } à espera, { $small } à frente, { NUMBER($x, minimumFractionDigits: 1) }\n",
            ),
            (
                "sw",
                "n = { $n } wanasubiri, { $small } mbele, { NUMBER($x, minimumFractionDigits: 1) }\n",
            ),
            (
                "ar",
                "n = { $n } في الانتظار، { $small } قبلك، { NUMBER($x, minimumFractionDigits: 1) }\n",
            ),
        ]);
        let l = Localizer::new(&m, &[]);
        let a = args(&[
            ("n", Value::Int(12345)),
            ("small", Value::Int(4321)),
            ("x", Value::Int(1234567)),
        ]);
        let f = |lang: &str, ch: Channel| {
            l.format(&[lang.to_string()], "n", &a, isolates(ch))
                .unwrap()
        };
        assert_eq!(
            f("en", Channel::Sms),
            "12,345 waiting, 4321 ahead, 1,234,567.0"
        );
        assert_eq!(
            f("sw", Channel::Ussd),
            "12,345 wanasubiri, 4321 mbele, 1,234,567.0"
        );
        assert_eq!(
            f("pt", Channel::Sms),
            "12.345 à espera, 4321 à frente, 1.234.567,0"
        );
        assert_eq!(
            f("fr", Channel::Whatsapp),
            "\u{2068}12\u{202f}345\u{2069} en attente, \u{2068}4321\u{2069} avant vous, \u{2068}1\u{202f}234\u{202f}567,0\u{2069}"
        );
        assert_eq!(
            f("fr", Channel::Sms),
            "12 345 en attente, 4321 avant vous, 1 234 567,0"
        );
        assert_eq!(f("fr", Channel::Ussd), f("fr", Channel::Sms));
        assert_eq!(
            f("ar", Channel::Sms),
            "12,345 في الانتظار، 4321 قبلك، 1,234,567.0"
        );
    }

    #[test]
    fn sms_french_with_large_numbers_stays_gsm7() {
        let m = layer(&[(
            "fr",
            "n = Il y a { $n } personnes, { NUMBER($x, minimumFractionDigits: 1) } min\n",
        )]);
        let l = Localizer::new(&m, &[]);
        let a = args(&[("n", Value::Int(1234567)), ("x", Value::Int(12345))]);
        let sms = l
            .format(&["fr".into()], "n", &a, isolates(Channel::Sms))
            .unwrap();
        assert_eq!(sms, "Il y a 1 234 567 personnes, 12 345,0 min");
        assert!(crate::sms::is_gsm7(&sms), "{sms:?}");
        assert_eq!(
            crate::sms::analyse(&sms).encoding,
            crate::sms::SmsEncoding::Gsm7
        );
        // The same message on WhatsApp keeps CLDR's narrow no-break space.
        let wa = l
            .format(&["fr".into()], "n", &a, isolates(Channel::Whatsapp))
            .unwrap();
        assert!(wa.contains('\u{202f}'), "{wa:?}");
    }

    #[test]
    fn time_and_date_functions_per_language() {
        let files: Vec<(&str, String)> = crate::LANGUAGES
            .iter()
            .map(|l| (*l, "slot = { DATE($at) } { TIME($at) }\n".to_string()))
            .collect();
        let m = layer(
            &files
                .iter()
                .map(|(l, s)| (*l, s.as_str()))
                .collect::<Vec<_>>(),
        );
        let l = Localizer::new(&m, &[]);
        let a = args(&[("at", "2026-03-03T14:30:00".into())]);
        let f = |lang: &str| l.format(&[lang.into()], "slot", &a, false).unwrap();
        assert_eq!(f("en"), "Tue 3 Mar 14:30");
        assert_eq!(f("fr"), "mar. 3 mars 14:30");
        assert_eq!(f("ar"), "الثلاثاء، 3 مارس 14:30");
        assert_eq!(f("sw"), "Jumanne 3 Machi 14:30");
        assert_eq!(f("pt"), "ter., 3 de mar. 14:30");
        // Rich channels isolate the placeables like any other.
        assert_eq!(
            l.format(&["en".into()], "slot", &a, true).unwrap(),
            "\u{2068}Tue 3 Mar\u{2069} \u{2068}14:30\u{2069}"
        );
        // An unparsable value is shown, not dropped.
        let bad = args(&[("at", "tomorrow".into())]);
        assert_eq!(
            l.format(&["en".into()], "slot", &bad, false).unwrap(),
            "tomorrow tomorrow"
        );
        // English SMS with a date and time stays GSM-7.
        assert!(crate::sms::is_gsm7(&f("en")));
    }

    #[test]
    fn lists_variables_through_selectors_functions_and_references() {
        let m = layer(&[(
            "en",
            "x = { $a } { $b ->\n   *[one] { NUMBER($c) } { y }\n}\ny = { $d } { -t(n: 1) } { NUMBER($e, minimumFractionDigits: 1) }\n-t = T\n",
        )]);
        assert_eq!(m.vars("en", "x").unwrap(), ["a", "b", "c", "d", "e"]);
        assert_eq!(m.vars("en", "nope"), None);
    }

    #[test]
    fn syntax_errors_are_located() {
        let (_, d) = Messages::parse([("fr", "a = ok\nb = { $x\nc = ok\n")], &Limits::default());
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].file, "fr.ftl");
        assert_eq!(d[0].pos.map(|p| p.line), Some(2));
    }

    #[test]
    fn long_messages_are_refused() {
        let limits = Limits {
            max_message_chars: 5,
            ..Limits::default()
        };
        let (_, d) = Messages::parse([("en", "a = 123456\n")], &limits);
        assert_eq!(d[0].code, "message_too_long");
    }
}
