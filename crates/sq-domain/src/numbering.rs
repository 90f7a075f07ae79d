//! Ticket numbers: prefix + counter per queue per *site-local* day (A001), reset at the
//! site's local midnight.
//!
//! People read the number off a screen and compare it with the paper in their hand, so it
//! must be short and must start again each morning. "Morning" is the site's, not the
//! server's: a branch in São Paulo and one in Kiritimati are 17 hours apart, and a counter
//! keyed by the UTC date would reset mid-afternoon in one of them. Stores therefore key the
//! counter by `(queue, local_day(now, site_tz))` and need nothing else to reset.
//!
//! DST never moves the key backwards or forwards by accident: [`local_day`] converts the
//! instant with the zone's offset *at that instant*, so the repeated hour of a fall-back
//! stays on the same day (no second reset, no duplicate A001) and a skipped hour just makes
//! the day shorter. [`next_reset`] gives the instant the key changes, for "numbers restart
//! at …" notices and for cache expiry; where midnight itself is skipped (DST starting at
//! 00:00, as in America/Santiago), the day starts at its first instant that exists.

use crate::values::{QueuePrefix, TimeZone};
use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, Utc};

/// The site-local calendar day an instant belongs to.
pub fn local_day(now: DateTime<Utc>, tz: TimeZone) -> NaiveDate {
    now.with_timezone(&tz.0).date_naive()
}

/// `A` + 1 → `A001`; grows past 999 (`A1000`).
pub fn format_number(prefix: &QueuePrefix, seq: u32) -> String {
    format!("{}{:03}", prefix.as_str(), seq)
}

/// The first instant of the site-local `day`. Usually its local midnight; when midnight is
/// skipped by a DST gap, the first local time that exists (01:00 on Santiago's spring-forward
/// day); when midnight happens twice, the earlier one. A day skipped whole (Samoa,
/// 2011-12-30) starts when the next one does.
pub fn start_of_day(day: NaiveDate, tz: TimeZone) -> DateTime<Utc> {
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    first_instant_at_or_after(midnight, tz)
}

/// The instant of the next site-local midnight after `now`: when ticket numbers restart.
pub fn next_reset(now: DateTime<Utc>, tz: TimeZone) -> DateTime<Utc> {
    let today = local_day(now, tz);
    let tomorrow = today.checked_add_days(Days::new(1)).unwrap_or(today);
    start_of_day(tomorrow, tz)
}

/// The earliest instant whose local wall-clock time is `>= local`.
///
/// chrono-tz exposes no transition table, so a gap is resolved by bisection over whole
/// seconds (tz transitions fall on whole seconds, so the answer is exact). Wall-clock time
/// only goes backwards at a fall-back, which is never across the target in practice, so the
/// predicate is monotone on the bracket.
fn first_instant_at_or_after(local: NaiveDateTime, tz: TimeZone) -> DateTime<Utc> {
    use chrono::{LocalResult, TimeZone as _};
    match tz.0.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(earliest, _) => earliest.with_timezone(&Utc),
        LocalResult::None => {
            // Offsets (historical LMT included) stay within ±16 h, so ±30 h brackets it.
            let as_utc = local.and_utc().timestamp();
            let reached = |ts: i64| {
                DateTime::from_timestamp(ts, 0)
                    .is_some_and(|t| t.with_timezone(&tz.0).naive_local() >= local)
            };
            let (mut lo, mut hi) = (as_utc - 30 * 3600, as_utc + 30 * 3600);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if reached(mid) {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            DateTime::from_timestamp(hi, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tz(name: &str) -> TimeZone {
        name.parse().unwrap()
    }
    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }
    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }
    fn assert_days(zone: &str, cases: &[(&str, &str)]) {
        for (instant, expected) in cases {
            assert_eq!(
                local_day(at(instant), tz(zone)),
                day(expected),
                "{zone} at {instant}"
            );
        }
    }

    #[test]
    fn numbers_pad_to_three_digits_and_grow() {
        let a: QueuePrefix = "A".parse().unwrap();
        let vip: QueuePrefix = "VIP".parse().unwrap();
        assert_eq!(format_number(&a, 1), "A001");
        assert_eq!(format_number(&a, 42), "A042");
        assert_eq!(format_number(&a, 999), "A999");
        assert_eq!(format_number(&a, 1000), "A1000");
        assert_eq!(format_number(&vip, 7), "VIP007");
    }

    #[test]
    fn paris_spring_forward_day_is_23_hours() {
        assert_days(
            "Europe/Paris",
            &[
                ("2026-03-28T22:59:59Z", "2026-03-28"),
                ("2026-03-28T23:00:00Z", "2026-03-29"),
                ("2026-03-29T00:59:59Z", "2026-03-29"), // 01:59:59 CET
                ("2026-03-29T01:00:00Z", "2026-03-29"), // 03:00:00 CEST
                ("2026-03-29T21:59:59Z", "2026-03-29"),
                ("2026-03-29T22:00:00Z", "2026-03-30"),
            ],
        );
        let paris = tz("Europe/Paris");
        assert_eq!(
            next_reset(at("2026-03-28T23:00:00Z"), paris),
            at("2026-03-29T22:00:00Z")
        );
        assert_eq!(
            next_reset(at("2026-03-29T00:59:59Z"), paris),
            at("2026-03-29T22:00:00Z")
        );
    }

    #[test]
    fn paris_fall_back_repeated_hour_stays_on_the_same_day() {
        assert_days(
            "Europe/Paris",
            &[
                ("2026-10-24T21:59:59Z", "2026-10-24"),
                ("2026-10-24T22:00:00Z", "2026-10-25"),
                ("2026-10-25T00:30:00Z", "2026-10-25"), // 02:30 CEST
                ("2026-10-25T01:30:00Z", "2026-10-25"), // 02:30 CET, the same wall time again
                ("2026-10-25T22:59:59Z", "2026-10-25"),
                ("2026-10-25T23:00:00Z", "2026-10-26"),
            ],
        );
        let paris = tz("Europe/Paris");
        // Both passes through 02:30 expect the same (single) reset, 25 hours after midnight.
        for instant in ["2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z"] {
            assert_eq!(next_reset(at(instant), paris), at("2026-10-25T23:00:00Z"));
        }
        assert_eq!(
            next_reset(at("2026-10-24T21:59:59Z"), paris),
            at("2026-10-24T22:00:00Z")
        );
    }

    #[test]
    fn sao_paulo_is_utc_minus_3_without_dst() {
        assert_days(
            "America/Sao_Paulo",
            &[
                ("2026-06-10T02:30:00Z", "2026-06-09"),
                ("2026-06-10T02:59:59Z", "2026-06-09"),
                ("2026-06-10T03:00:00Z", "2026-06-10"),
                ("2026-01-15T02:59:59Z", "2026-01-14"),
                ("2026-01-15T03:00:00Z", "2026-01-15"),
            ],
        );
        assert_eq!(
            next_reset(at("2026-06-10T02:30:00Z"), tz("America/Sao_Paulo")),
            at("2026-06-10T03:00:00Z")
        );
    }

    #[test]
    fn casablanca_ramadan_offset_change_moves_midnight() {
        // +01 until 2026-02-15 03:00 local (02:00Z), then +00 until 2026-03-22 02:00 local
        // (02:00Z), then +01 again.
        assert_days(
            "Africa/Casablanca",
            &[
                ("2026-02-14T22:59:59Z", "2026-02-14"),
                ("2026-02-14T23:00:00Z", "2026-02-15"), // midnight at +01
                ("2026-02-15T01:30:00Z", "2026-02-15"), // 02:30 +01
                ("2026-02-15T02:30:00Z", "2026-02-15"), // 02:30 +00, repeated
                ("2026-02-15T23:59:59Z", "2026-02-15"),
                ("2026-02-16T00:00:00Z", "2026-02-16"), // midnight at +00
                ("2026-03-01T23:30:00Z", "2026-03-01"), // would be 03-02 at +01
                ("2026-03-21T23:59:59Z", "2026-03-21"),
                ("2026-03-22T00:00:00Z", "2026-03-22"), // midnight at +00
                ("2026-03-22T01:59:59Z", "2026-03-22"),
                ("2026-03-22T02:00:00Z", "2026-03-22"), // 03:00 +01
                ("2026-03-22T22:59:59Z", "2026-03-22"),
                ("2026-03-22T23:00:00Z", "2026-03-23"), // midnight at +01
            ],
        );
        let casa = tz("Africa/Casablanca");
        assert_eq!(
            next_reset(at("2026-02-14T12:00:00Z"), casa),
            at("2026-02-14T23:00:00Z")
        );
        assert_eq!(
            next_reset(at("2026-02-15T12:00:00Z"), casa),
            at("2026-02-16T00:00:00Z")
        );
        assert_eq!(
            next_reset(at("2026-03-21T12:00:00Z"), casa),
            at("2026-03-22T00:00:00Z")
        );
        assert_eq!(
            next_reset(at("2026-03-22T12:00:00Z"), casa),
            at("2026-03-22T23:00:00Z")
        );
    }

    #[test]
    fn kiritimati_is_utc_plus_14() {
        assert_days(
            "Pacific/Kiritimati",
            &[
                ("2025-12-31T09:59:59Z", "2025-12-31"),
                ("2025-12-31T10:00:00Z", "2026-01-01"),
                ("2026-01-01T09:59:59Z", "2026-01-01"),
                ("2026-01-01T10:00:00Z", "2026-01-02"),
            ],
        );
        assert_eq!(
            next_reset(at("2026-01-01T00:00:00Z"), tz("Pacific/Kiritimati")),
            at("2026-01-01T10:00:00Z")
        );
    }

    #[test]
    fn skipped_midnight_resets_at_the_first_instant_of_the_day() {
        // Santiago springs forward at 24:00 → 01:00 (-04 → -03): 00:00 never exists.
        let santiago = tz("America/Santiago");
        assert_eq!(
            next_reset(at("2026-09-05T12:00:00Z"), santiago),
            at("2026-09-06T04:00:00Z")
        );
        assert_eq!(
            local_day(at("2026-09-06T03:59:59Z"), santiago),
            day("2026-09-05")
        );
        assert_eq!(
            local_day(at("2026-09-06T04:00:00Z"), santiago),
            day("2026-09-06")
        );
        // São Paulo did the same on 2018-11-04 (-03 → -02 at 00:00).
        let sao_paulo = tz("America/Sao_Paulo");
        assert_eq!(
            next_reset(at("2018-11-03T12:00:00Z"), sao_paulo),
            at("2018-11-04T03:00:00Z")
        );
        assert_eq!(
            start_of_day(day("2018-11-04"), sao_paulo),
            at("2018-11-04T03:00:00Z")
        );
        // Samoa skipped 2011-12-30 entirely; the next reset is the start of 12-31.
        assert_eq!(
            next_reset(at("2011-12-29T12:00:00Z"), tz("Pacific/Apia")),
            at("2011-12-30T10:00:00Z")
        );
    }

    #[test]
    fn fall_back_at_midnight_starts_the_day_once() {
        // São Paulo 2019-02-17: 00:00 -02 → 23:00 -03 of the 16th; the 17th starts at 03:00Z.
        let sao_paulo = tz("America/Sao_Paulo");
        assert_eq!(
            next_reset(at("2019-02-16T12:00:00Z"), sao_paulo),
            at("2019-02-17T03:00:00Z")
        );
        assert_eq!(
            local_day(at("2019-02-17T02:30:00Z"), sao_paulo),
            day("2019-02-16")
        );
    }

    #[test]
    fn next_reset_is_after_now_and_starts_the_next_day() {
        for zone in [
            "Europe/Paris",
            "Africa/Casablanca",
            "America/Santiago",
            "Pacific/Kiritimati",
            "Asia/Kolkata",
        ] {
            let z = tz(zone);
            let mut now = at("2026-01-01T00:00:00Z");
            while now < at("2027-01-01T00:00:00Z") {
                let reset = next_reset(now, z);
                assert!(reset > now, "{zone} {now}");
                assert_eq!(local_day(reset, z), local_day(now, z).succ_opt().unwrap());
                assert_eq!(
                    local_day(reset - chrono::Duration::seconds(1), z),
                    local_day(now, z),
                    "{zone} {now}"
                );
                now += chrono::Duration::minutes(97);
            }
        }
    }
}
