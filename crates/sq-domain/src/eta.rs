//! The ETA estimator: how long until a waiting ticket is called, as a range.
//!
//! A single number ("12 minutes") is wrong almost every time and people plan around it;
//! a range that holds four times out of five is honest and still useful. So the estimate
//! is the p10–p90 interval of a simple queueing model, fed by one learned figure per
//! service.
//!
//! **Learning.** Each closed service folds its duration into an exponentially weighted
//! moving average ([`ewma_update`]), seeded by the service's expected duration. The weight
//! [`EWMA_ALPHA`] = 0.1 gives a half-life of about 6.6 services: a counter that slows down
//! after lunch shows in the ETA within the hour, while the noise of single services
//! (service times vary about as much as their mean) is damped to roughly a quarter of
//! the mean. Observations under a second are mis-clicks (call then close) and are ignored;
//! observations above ten times the current average are usually a ticket left open over a
//! break and are clamped to ten times, so one of them moves the average by at most 90%
//! instead of wrecking it for the rest of the day.
//!
//! **Model.** With `agents` counters busy and service times exponential with mean `ewma`,
//! services end as a Poisson process of rate `agents / ewma`, so the time for `ahead`
//! more of them is Erlang(k = `ahead`, λ = `agents / ewma`). The head of the line
//! (`ahead == 0`) is "now". Counting one completion per person ahead ignores the one still
//! at the counter when every counter is busy, so the range is slightly optimistic in a
//! full room; it is exact when a counter is about to free up, and keeps "next" meaning
//! "next".
//!
//! **Quantiles.** Exact for k ≤ [`EXACT_K_MAX`]: bisection on the Erlang CDF
//! `1 − Σ_{n<k} e^{−x} xⁿ/n!`, with terms built in log space so nothing overflows.
//! Above that the Wilson–Hilferty normal approximation of the cube root is used (relative
//! error below 1e-4 from k = 64 on, far under the rounding to whole seconds) so that a
//! long line costs the same as a short one. The switch was 1,000 until a profile of the
//! ticket-issue benchmark showed the exact bisection taking ~10% of the server's CPU.

use serde::{Deserialize, Serialize};

/// A wait range in whole seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Eta {
    pub min_seconds: u32,
    pub max_seconds: u32,
}

/// Weight of the newest observation in the service-time average (see the module docs).
pub const EWMA_ALPHA: f64 = 0.1;
/// Shorter observations are ignored (mis-clicks).
pub const MIN_OBSERVATION_SECS: f64 = 1.0;
/// Observations are clamped to this multiple of the current average (forgotten tickets).
pub const MAX_OBSERVATION_FACTOR: f64 = 10.0;
/// The lower and upper quantiles reported.
pub const QUANTILES: (f64, f64) = (0.1, 0.9);
/// Largest `ahead` for which the Erlang quantile is computed exactly.
pub const EXACT_K_MAX: u32 = 64;

/// Folds an observed service time into the EWMA.
///
/// A non-positive or non-finite `current` (a service seeded with a zero expected
/// duration) is replaced by the observation, since clamping against it would pin it at 0.
pub fn ewma_update(current: f64, observed_secs: f64) -> f64 {
    if !observed_secs.is_finite() || observed_secs < MIN_OBSERVATION_SECS {
        return current;
    }
    if !current.is_finite() || current < MIN_OBSERVATION_SECS {
        return observed_secs;
    }
    let observed = observed_secs.min(MAX_OBSERVATION_FACTOR * current);
    (1.0 - EWMA_ALPHA) * current + EWMA_ALPHA * observed
}

/// The wait for someone with `ahead` people before them; `None` when nobody serves.
pub fn estimate(ewma_service_secs: f64, agents: u32, ahead: u32) -> Option<Eta> {
    if agents == 0 || !ewma_service_secs.is_finite() {
        return None;
    }
    if ahead == 0 || ewma_service_secs <= 0.0 {
        return Some(Eta {
            min_seconds: 0,
            max_seconds: 0,
        });
    }
    let scale = ewma_service_secs / f64::from(agents);
    let secs = |q| to_secs(erlang_quantile(ahead, q) * scale);
    Some(Eta {
        min_seconds: secs(QUANTILES.0),
        max_seconds: secs(QUANTILES.1),
    })
}

fn to_secs(x: f64) -> u32 {
    // `as` saturates, which is what an absurd estimate should do.
    x.round() as u32
}

/// The `q` quantile of Erlang(k, rate 1), i.e. Gamma(k, 1); `k >= 1`, `0 < q < 1`.
pub fn erlang_quantile(k: u32, q: f64) -> f64 {
    let kf = f64::from(k);
    if k > EXACT_K_MAX {
        // Wilson–Hilferty: (X/k)^(1/3) is close to normal with mean 1 − 1/(9k).
        let v = 1.0 / (9.0 * kf);
        let c = 1.0 - v + normal_quantile(q) * v.sqrt();
        return kf * c * c * c;
    }
    let (mut lo, mut hi) = (0.0_f64, kf + 10.0 * kf.sqrt() + 10.0);
    while erlang_cdf(k, hi) < q {
        hi *= 2.0;
    }
    // 1e-10 relative is far below the whole-second rounding for any realistic scale; the
    // iteration cap only guards against a bracket that stops shrinking.
    for _ in 0..100 {
        if hi - lo <= 1e-10 * hi {
            break;
        }
        let mid = 0.5 * (lo + hi);
        if erlang_cdf(k, mid) < q {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// P(Erlang(k, 1) ≤ x) = P(Poisson(x) ≥ k).
pub fn erlang_cdf(k: u32, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    // Σ_{n<k} e^{-x} xⁿ/n!, each term from the previous one in log space.
    let ln_x = x.ln();
    let mut ln_term = -x;
    let mut below = 0.0;
    for n in 0..k {
        if n > 0 {
            ln_term += ln_x - f64::from(n).ln();
        }
        below += ln_term.exp();
    }
    (1.0 - below).clamp(0.0, 1.0)
}

/// Standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9).
fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const LOW: f64 = 0.024_25;
    let tail = |q: f64| {
        let r = (-2.0 * q.ln()).sqrt();
        (((((C[0] * r + C[1]) * r + C[2]) * r + C[3]) * r + C[4]) * r + C[5])
            / ((((D[0] * r + D[1]) * r + D[2]) * r + D[3]) * r + 1.0)
    };
    if p < LOW {
        tail(p)
    } else if p > 1.0 - LOW {
        -tail(1.0 - p)
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs()
    }

    #[test]
    fn nobody_serving_is_unknown_and_the_head_is_now() {
        assert_eq!(estimate(300.0, 0, 5), None);
        assert_eq!(estimate(f64::NAN, 2, 5), None);
        assert_eq!(
            estimate(300.0, 3, 0),
            Some(Eta {
                min_seconds: 0,
                max_seconds: 0
            })
        );
    }

    #[test]
    fn one_ahead_is_the_exponential_distribution() {
        // λ = 1/300: p10 = −ln 0.9 · 300 = 31.6, p90 = −ln 0.1 · 300 = 690.8.
        assert_eq!(
            estimate(300.0, 1, 1),
            Some(Eta {
                min_seconds: 32,
                max_seconds: 691
            })
        );
        let lambda = 2.0 / 300.0;
        let expected = Eta {
            min_seconds: (-(0.9_f64).ln() / lambda).round() as u32,
            max_seconds: (-(0.1_f64).ln() / lambda).round() as u32,
        };
        assert_eq!(estimate(300.0, 2, 1), Some(expected));
    }

    #[test]
    fn erlang_quantiles_match_reference_values() {
        // Gamma(k, 1) quantiles computed with mpmath (30 digits).
        let cases = [
            (1, 0.105_360_515_657_826, std::f64::consts::LN_10),
            (2, 0.531_811_608_389_612, 3.889_720_169_867_43),
            (3, 1.102_065_328_249_32, 5.322_320_337_834_21),
            (10, 6.221_304_605_225_03, 14.205_990_292_152_8),
            (100, 87.417_636_499_593_7, 113.010_523_859_844),
            (1000, 959.693_932_728_833, 1_040.734_308_013_69),
            (1001, 960.673_671_673_745, 1_041.754_569_077_64),
            (5000, 4_909.597_440_922_41, 5_090.830_806_915_19),
            (100_000, 99_594.952_539_276_3, 100_405.475_710_245),
        ];
        for (k, p10, p90) in cases {
            let (lo, hi) = (erlang_quantile(k, 0.1), erlang_quantile(k, 0.9));
            // Exact below the switch; the approximation above it is still far finer than
            // the whole seconds we report.
            let tol = if k <= EXACT_K_MAX { 1e-6 } else { 1e-4 };
            assert!(close(lo, p10, tol), "k={k} p10 {lo} vs {p10}");
            assert!(close(hi, p90, tol), "k={k} p90 {hi} vs {p90}");
        }
    }

    #[test]
    fn exact_and_approximate_quantiles_meet_at_the_switch() {
        let k = EXACT_K_MAX;
        let v = 1.0 / (9.0 * f64::from(k));
        for q in [0.1, 0.5, 0.9] {
            let c = 1.0 - v + normal_quantile(q) * v.sqrt();
            let approx = f64::from(k) * c * c * c;
            // Whole seconds are what we report: 1e-3 relative is far below that.
            assert!(close(approx, erlang_quantile(k, q), 1e-3), "q={q}");
        }
    }

    #[test]
    fn estimates_grow_with_ahead_and_shrink_with_agents() {
        let mut prev = estimate(240.0, 3, 1).unwrap();
        for ahead in (2..3000).chain([10_000, 50_000, 100_000]) {
            let e = estimate(240.0, 3, ahead).unwrap();
            assert!(e.min_seconds <= e.max_seconds);
            assert!(e.min_seconds >= prev.min_seconds, "ahead={ahead}");
            assert!(e.max_seconds >= prev.max_seconds, "ahead={ahead}");
            prev = e;
        }
        let mut prev = estimate(240.0, 1, 20).unwrap();
        for agents in 2..50 {
            let e = estimate(240.0, agents, 20).unwrap();
            assert!(e.min_seconds <= prev.min_seconds, "agents={agents}");
            assert!(e.max_seconds <= prev.max_seconds, "agents={agents}");
            prev = e;
        }
        // 20 ahead, one agent, 4-minute services: a range around 80 minutes.
        let e = estimate(240.0, 1, 20).unwrap();
        assert!(e.min_seconds < 80 * 60 && 80 * 60 < e.max_seconds);
    }

    #[test]
    fn large_queues_stay_fast() {
        let start = std::time::Instant::now();
        for ahead in 99_000..100_000 {
            estimate(180.0, 7, ahead).unwrap();
        }
        for ahead in 900..=1000 {
            estimate(180.0, 7, ahead).unwrap();
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn ewma_learns_and_ignores_nonsense() {
        let e = ewma_update(300.0, 200.0);
        assert!(close(e, 290.0, 1e-12));
        assert_eq!(ewma_update(300.0, 0.4), 300.0);
        assert_eq!(ewma_update(300.0, f64::NAN), 300.0);
        // A ticket left open for ten hours counts as ten times the average, not 120.
        assert!(close(
            ewma_update(300.0, 36_000.0),
            0.9 * 300.0 + 0.1 * 3000.0,
            1e-12
        ));
        // A zero seed is replaced rather than pinned.
        assert_eq!(ewma_update(0.0, 120.0), 120.0);
        let mut e = 600.0;
        for _ in 0..100 {
            e = ewma_update(e, 120.0);
        }
        assert!(close(e, 120.0, 1e-3));
    }
}
