//! Numbers, times and dates in a flow's messages, per language and channel.
//!
//! fluent-bundle prints numbers raw (`12345.6`) and has no `DATETIME`. [`Localizer`] installs
//! the formatter and functions below in every bundle it builds. The rules are SmartQueue's
//! own (they depend on the channel) and cover five languages, so they are small tables here
//! rather than ICU data: `icu_decimal`/`icu_datetime` pull in megabytes of CLDR data for what
//! is ~40 strings, and `num-format` knows neither CLDR's minimum grouping nor channels.
//!
//! # Numbers
//!
//! Every numeric argument (and `NUMBER($n, minimumFractionDigits: 1)`) is formatted:
//!
//! | lang | rich channels | SMS / USSD |
//! |------|---------------|------------|
//! | en, sw | `12,345.6` | same |
//! | fr | `12 345,6` (U+202F narrow no-break space, as CLDR) | `12 345,6` (plain space) |
//! | pt | `12.345,6` | same |
//! | ar | `12,345.6` (Latin digits) | same |
//!
//! - **Grouping starts at five integer digits** (`1234`, `12,345`) in every language: CLDR's
//!   `minimumGroupingDigits` is 2 for pt-PT/es/pl and 1 for en/fr, but ticket numbers,
//!   positions, minutes and years are < 10,000 in practice and must look the same in every
//!   message and on the queue display. `useGrouping: false` turns grouping off entirely.
//! - **SMS/USSD French** uses a plain space: U+202F is not in GSM-7, so one grouped number
//!   would switch the whole SMS to UCS-2 (160 → 70 characters per segment), and feature phones
//!   often lack the glyph. en/sw/pt/ar separators are GSM-7 already.
//! - **Arabic keeps Latin digits** with CLDR `ar`'s Latin-digit symbols (`,` group, `.`
//!   decimal): Latin digits are the norm in Maghreb Arabic, ticket numbers are Latin
//!   (`A001`), and feature phones render them reliably. The Arabic separators U+066B/U+066C
//!   only pair with Arabic-Indic digits in CLDR and are missing from many phone fonts, so
//!   they are never emitted.
//! - Another language (a tenant's own `es.ftl`) gets fluent's raw digits.
//!
//! # Times and dates
//!
//! `TIME($at)` and `DATE($at)` take an ISO-8601 *local* date-time string (`2026-03-03T14:30`,
//! seconds and an offset optional; `DATE` also takes `2026-03-03`). The wall-clock time is
//! shown as written; the host passes the site's local time. 24-hour clock everywhere.
//!
//! | lang | `TIME` | `DATE` |
//! |------|--------|--------|
//! | en | `14:30` | `Tue 3 Mar` |
//! | fr | `14:30` | `mar. 3 mars` |
//! | ar | `14:30` | `الثلاثاء، 3 مارس` |
//! | sw | `14:30` | `Jumanne 3 Machi` (full month: `Mac` is not well known) |
//! | pt | `14:30` | `ter., 3 de mar.` |
//!
//! Names are CLDR's abbreviated (en/fr/pt) or wide (ar/sw) forms; Arabic uses the Modern
//! Standard month names. Another language gets `2026-03-03`. A value that does not parse is
//! shown unchanged rather than dropped. Some names are not GSM-7 (fr `août`,
//! pt `sáb.`); the message text around them usually decides the SMS encoding anyway.
//!
//! [`Localizer`]: crate::messages::Localizer

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike};
use fluent_bundle::types::FluentNumber;
use fluent_bundle::{FluentArgs, FluentValue};

/// Group and decimal separators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Symbols {
    group: &'static str,
    decimal: &'static str,
}

const COMMA_DOT: Symbols = Symbols {
    group: ",",
    decimal: ".",
};
const DOT_COMMA: Symbols = Symbols {
    group: ".",
    decimal: ",",
};
const FR_RICH: Symbols = Symbols {
    group: "\u{202f}",
    decimal: ",",
};
const FR_PLAIN: Symbols = Symbols {
    group: " ",
    decimal: ",",
};

/// Integer digits from which a number is grouped (see the module docs).
const GROUP_FROM_DIGITS: usize = 5;

fn symbols(lang: &str, plain: bool) -> Option<Symbols> {
    Some(match primary(lang) {
        "en" | "sw" | "ar" => COMMA_DOT,
        "pt" => DOT_COMMA,
        "fr" if plain => FR_PLAIN,
        "fr" => FR_RICH,
        _ => return None,
    })
}

fn primary(lang: &str) -> &str {
    lang.split(['-', '_']).next().unwrap_or(lang)
}

/// A fluent-bundle number formatter (`set_formatter`) for `lang`; `plain` for SMS/USSD.
/// `None` where fluent's raw digits are kept.
pub(crate) fn number_formatter<M>(
    lang: &str,
    plain: bool,
) -> Option<fn(&FluentValue, &M) -> Option<String>> {
    fn f<M, const S: u8>(v: &FluentValue, _: &M) -> Option<String> {
        let sym = [COMMA_DOT, DOT_COMMA, FR_RICH, FR_PLAIN][usize::from(S)];
        match v {
            FluentValue::Number(n) => format_number(n, sym),
            _ => None,
        }
    }
    Some(match symbols(lang, plain)? {
        COMMA_DOT => f::<M, 0>,
        DOT_COMMA => f::<M, 1>,
        FR_RICH => f::<M, 2>,
        _ => f::<M, 3>,
    })
}

/// Formats `n` honouring fluent's `minimumFractionDigits`, `maximumFractionDigits`,
/// `minimumIntegerDigits` and `useGrouping`.
fn format_number(n: &FluentNumber, sym: Symbols) -> Option<String> {
    if !n.value.is_finite() {
        return None;
    }
    let o = &n.options;
    let mut raw = match o.maximum_fraction_digits {
        Some(max) => {
            let s = format!("{:.*}", max, n.value);
            // Drop trailing zeros the maximum added, down to the minimum.
            let keep = o.minimum_fraction_digits.unwrap_or(0);
            match s.split_once('.') {
                Some((i, f)) => {
                    let f = f.trim_end_matches('0');
                    let f = format!("{f:0<keep$}");
                    if f.is_empty() {
                        i.to_string()
                    } else {
                        format!("{i}.{f}")
                    }
                }
                None => s,
            }
        }
        None => n.as_string().into_owned(),
    };
    if raw == "-0" {
        raw = "0".into();
    }
    let (sign, unsigned) = match raw.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", raw.as_str()),
    };
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let width = o.minimum_integer_digits.unwrap_or(1);
    let int = format!("{int:0>width$}");
    let mut out = String::with_capacity(raw.len() + 8);
    out.push_str(sign);
    if o.use_grouping && int.len() >= GROUP_FROM_DIGITS {
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                out.push_str(sym.group);
            }
            out.push(c);
        }
    } else {
        out.push_str(&int);
    }
    if !frac.is_empty() {
        out.push_str(sym.decimal);
        out.push_str(frac);
    }
    Some(out)
}

struct DateNames {
    /// Monday first.
    weekdays: [&'static str; 7],
    months: [&'static str; 12],
    /// `{w}` weekday, `{d}` day of month, `{m}` month.
    pattern: &'static str,
}

const EN: DateNames = DateNames {
    weekdays: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
    months: [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ],
    pattern: "{w} {d} {m}",
};
const FR: DateNames = DateNames {
    weekdays: ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."],
    months: [
        "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.",
        "déc.",
    ],
    pattern: "{w} {d} {m}",
};
const AR: DateNames = DateNames {
    weekdays: [
        "الاثنين",
        "الثلاثاء",
        "الأربعاء",
        "الخميس",
        "الجمعة",
        "السبت",
        "الأحد",
    ],
    months: [
        "يناير",
        "فبراير",
        "مارس",
        "أبريل",
        "مايو",
        "يونيو",
        "يوليو",
        "أغسطس",
        "سبتمبر",
        "أكتوبر",
        "نوفمبر",
        "ديسمبر",
    ],
    pattern: "{w}، {d} {m}",
};
const SW: DateNames = DateNames {
    weekdays: [
        "Jumatatu", "Jumanne", "Jumatano", "Alhamisi", "Ijumaa", "Jumamosi", "Jumapili",
    ],
    months: [
        "Januari", "Februari", "Machi", "Aprili", "Mei", "Juni", "Julai", "Agosti", "Septemba",
        "Oktoba", "Novemba", "Desemba",
    ],
    pattern: "{w} {d} {m}",
};
const PT: DateNames = DateNames {
    weekdays: ["seg.", "ter.", "qua.", "qui.", "sex.", "sáb.", "dom."],
    months: [
        "jan.", "fev.", "mar.", "abr.", "mai.", "jun.", "jul.", "ago.", "set.", "out.", "nov.",
        "dez.",
    ],
    pattern: "{w}, {d} de {m}",
};

fn date_names(lang: &str) -> Option<&'static DateNames> {
    Some(match primary(lang) {
        "en" => &EN,
        "fr" => &FR,
        "ar" => &AR,
        "sw" => &SW,
        "pt" => &PT,
        _ => return None,
    })
}

/// Parses an ISO-8601 local date-time (`2026-03-03T14:30[:00[.000]]`, `T` or space, an
/// offset ignored) or, when `date_only` is allowed, a date.
fn parse_local(s: &str, date_only: bool) -> Option<NaiveDateTime> {
    let s = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.naive_local());
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, f) {
            return Some(dt);
        }
    }
    if date_only {
        return NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0));
    }
    None
}

/// `TIME($at)` in any language: `14:30`.
pub fn format_time(at: &str) -> Option<String> {
    let t = parse_local(at, false)?;
    Some(format!("{:02}:{:02}", t.hour(), t.minute()))
}

/// `DATE($at)` in `lang`: `Tue 3 Mar`, `mar. 3 mars`, …
pub fn format_date(lang: &str, at: &str) -> Option<String> {
    let d = parse_local(at, true)?.date();
    let Some(n) = date_names(lang) else {
        return Some(d.format("%Y-%m-%d").to_string());
    };
    let w = n.weekdays[d.weekday().num_days_from_monday() as usize];
    let m = n.months[d.month0() as usize];
    Some(
        n.pattern
            .replace("{w}", w)
            .replace("{d}", &d.day().to_string())
            .replace("{m}", m),
    )
}

/// The Fluent function for `TIME` (`date == false`) or `DATE` in `lang`.
pub(crate) fn datetime_function(
    lang: &str,
    date: bool,
) -> impl for<'a> Fn(&[FluentValue<'a>], &FluentArgs) -> FluentValue<'a> + Send + Sync + 'static {
    let lang = lang.to_string();
    move |pos: &[FluentValue<'_>], _: &FluentArgs| {
        let text = match pos.first() {
            Some(FluentValue::String(s)) => s.to_string(),
            Some(FluentValue::Number(n)) => n.as_string().into_owned(),
            _ => return FluentValue::Error,
        };
        let out = if date {
            format_date(&lang, &text)
        } else {
            format_time(&text)
        };
        FluentValue::from(out.unwrap_or(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fluent_bundle::types::FluentNumberOptions;

    fn num(v: f64) -> FluentNumber {
        FluentNumber::new(v, FluentNumberOptions::default())
    }

    fn fmt(lang: &str, plain: bool, v: f64) -> String {
        format_number(&num(v), symbols(lang, plain).unwrap()).unwrap()
    }

    #[test]
    fn separators_per_language() {
        assert_eq!(fmt("en", false, 12345.6), "12,345.6");
        assert_eq!(fmt("sw", false, 12345.6), "12,345.6");
        assert_eq!(fmt("fr", false, 12345.6), "12\u{202f}345,6");
        assert_eq!(fmt("fr", true, 12345.6), "12 345,6");
        assert_eq!(fmt("pt", false, 12345.6), "12.345,6");
        assert_eq!(fmt("ar", false, 12345.6), "12,345.6");
        assert_eq!(fmt("pt-BR", true, 1234567.0), "1.234.567");
        assert_eq!(fmt("en", false, -1234567.25), "-1,234,567.25");
        assert!(symbols("es", false).is_none());
    }

    #[test]
    fn small_numbers_are_not_grouped() {
        for lang in ["en", "fr", "ar", "sw", "pt"] {
            assert_eq!(fmt(lang, false, 9999.0), "9999", "{lang}");
            assert_eq!(fmt(lang, false, 0.0), "0", "{lang}");
            assert_eq!(fmt(lang, false, 42.0), "42", "{lang}");
        }
        assert_eq!(fmt("fr", false, 1234.5), "1234,5");
    }

    #[test]
    fn number_options_are_honoured() {
        let with = |f: fn(&mut FluentNumberOptions), v: f64| {
            let mut o = FluentNumberOptions::default();
            f(&mut o);
            format_number(&FluentNumber::new(v, o), COMMA_DOT).unwrap()
        };
        assert_eq!(with(|o| o.minimum_fraction_digits = Some(2), 3.5), "3.50");
        assert_eq!(with(|o| o.maximum_fraction_digits = Some(1), 2.25), "2.2");
        assert_eq!(with(|o| o.maximum_fraction_digits = Some(2), 2.0), "2");
        assert_eq!(
            with(
                |o| {
                    o.maximum_fraction_digits = Some(2);
                    o.minimum_fraction_digits = Some(1);
                },
                2.0
            ),
            "2.0"
        );
        assert_eq!(with(|o| o.use_grouping = false, 123456.0), "123456");
        assert_eq!(with(|o| o.minimum_integer_digits = Some(3), 7.0), "007");
    }

    #[test]
    fn times_are_24_hour() {
        for at in [
            "2026-03-03T14:30",
            "2026-03-03T14:30:00",
            "2026-03-03 14:30:59.5",
            "2026-03-03T14:30:00+03:00",
        ] {
            assert_eq!(format_time(at).as_deref(), Some("14:30"), "{at}");
        }
        assert_eq!(format_time("2026-03-03T09:05").as_deref(), Some("09:05"));
        assert_eq!(format_time("2026-03-03"), None);
        assert_eq!(format_time("soon"), None);
    }

    #[test]
    fn dates_per_language() {
        let at = "2026-03-03T14:30"; // a Tuesday
        let d = |lang| format_date(lang, at).unwrap();
        assert_eq!(d("en"), "Tue 3 Mar");
        assert_eq!(d("fr"), "mar. 3 mars");
        assert_eq!(d("ar"), "الثلاثاء، 3 مارس");
        assert_eq!(d("sw"), "Jumanne 3 Machi");
        assert_eq!(d("pt"), "ter., 3 de mar.");
        assert_eq!(d("pt-BR"), "ter., 3 de mar.");
        assert_eq!(d("es"), "2026-03-03");
        assert_eq!(
            format_date("fr", "2026-08-16").as_deref(),
            Some("dim. 16 août")
        );
        assert_eq!(
            format_date("en", "2026-12-31T23:59").as_deref(),
            Some("Thu 31 Dec")
        );
        assert_eq!(format_date("en", "31/12/2026"), None);
    }
}
