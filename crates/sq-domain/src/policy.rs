//! Call-next policies: which waiting ticket an agent gets next.
//!
//! One pure function decides for every store, so SQLite and PostgreSQL call in the same
//! order and the "next" list on screens ([`order`]) and the position printed on a ticket
//! ([`projected_position`]) agree with what the counter will actually do.
//!
//! # Within one queue
//!
//! * **FIFO within a class, always.** Tickets of one priority class (`Waiting::class`) are
//!   called in `(arrived_at, seq, id)` order; nothing below ever reorders them. Only the
//!   head of each class is ever a candidate.
//! * **No ratios configured** (`ratios` empty): the queue is one line, strict FIFO by
//!   `(arrived_at, seq, id)` across classes. Classes only matter once ratios exist.
//! * **Ratio calling** (`ratios` non-empty): smooth weighted round robin (nginx's) over the
//!   classes. A class's weight is its first entry in `ratios`, clamped to
//!   `1..=`[`MAX_WEIGHT`] (a weight of 0 would starve it); a class that waits but is not
//!   listed gets weight 1. The *members* of the round are the listed classes, every class
//!   seen waiting before (remembered as a key of [`PolicyState::credits`]) and every class
//!   waiting now. The round is the fixed SWRR sequence of the members from zero credits,
//!   `W_all` = Σ member weights long; [`PolicyState::credits`] holds the SWRR credits of the
//!   current point of that sequence. A call takes the next slot of the sequence whose class
//!   has someone waiting and skips the others, so an empty class neither accrues nor spends
//!   credit. Stored credits that are not a point of the round (ratios edited, a new class
//!   seen) restart it from zero; that happens once per new class or edit, not per call.
//!   Ties in SWRR go to the higher class, so `{1: 1, 0: 1}` starts with class 1.
//! * **Starvation bound.** Among consecutive ratio calls, while the set S of non-empty
//!   classes stays the same, the calls are the round filtered to S, which is periodic with
//!   period `W` = Σ_{c∈S} w_c: *every* `W` consecutive ratio calls contain exactly `w_c`
//!   calls of each class `c` in S, so each is called at least once and at most
//!   `W − w_c` calls go by between two of its calls. When other classes come and go, a
//!   class that stays non-empty still waits at most `W_all − w_c` ratio calls (its slots
//!   recur in the round at least that often). The property tests check both.
//! * **SLA boosting** (`sla_boost_percent = Some(p)`): a class head whose wait
//!   `now − arrived_at` has reached `p`% of its `sla_target_secs` is boosted (a target of 0
//!   means "no SLA" and never boosts). If any head is boosted, the one with the highest
//!   wait/SLA ratio is called (ties: earlier `(arrived_at, seq, id)`), before any ratio
//!   call. Boosting reorders between classes (and queues), never within a class; with no
//!   ratios the line has one head, so boosting only matters across queues.
//! * **Boosted calls do not consume ratio credits**: the round stays where it was. A boost
//!   is an exception to the ratio, not a turn of it: charging the class would make it pay
//!   later for having been late, and would knock the round off its periodic sequence so
//!   the bound above would no longer hold. As it is, the bound counts ratio calls only and
//!   boosted calls are extra. They cannot starve anyone either: the tickets of a queue
//!   share their service's SLA, so every head ages towards its own boost, and once boosted
//!   it overtakes every head that arrives after it.
//!
//! # Across the queues of one agent
//!
//! Each queue proposes its candidate as above. Queues where the agent's skill weight is 0
//! are ignored. Boosted candidates go first, highest wait/SLA ratio first; otherwise the
//! highest `wait × skill_weight` wins (millisecond precision). Ties: earlier `arrived_at`,
//! then the smaller queue id. The chosen queue's [`Pick::new_state`] is its credits after
//! the call, to be stored in the same transaction.
//!
//! # Projections
//!
//! [`order`] simulates repeated calls on one queue at a fixed `now` (credits advancing,
//! boosts re-evaluated as heads change) and agrees with calling [`pick`] repeatedly.
//! [`projected_position`] simulates the ratio round over class counts only, so it ignores
//! boosts (present and future) and equals the index in [`order`] when no boost applies.

use crate::ids::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// The largest ratio weight honoured; larger weights are clamped. It bounds the round
/// (and so the work per call) while leaving ratios far beyond anything a queue needs.
pub const MAX_WEIGHT: u32 = 100;

/// A queue's calling policy, stored as JSON with the queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct QueuePolicy {
    /// Ratio calling between priority classes, e.g. `[{class: 1, weight: 2}, {class: 0, weight: 1}]`
    /// calls 2 VIP for each normal ticket while both are waiting. Empty: one class, FIFO.
    #[serde(default)]
    pub ratios: Vec<ClassWeight>,
    /// Boost a class head whose wait has reached this percentage of its service's SLA
    /// target (e.g. 80). `None`: no boosting.
    #[serde(default)]
    pub sla_boost_percent: Option<u8>,
}

impl QueuePolicy {
    /// The weight ratio calling gives `class`: its first entry in `ratios` clamped to
    /// `1..=MAX_WEIGHT`, or 1 when it is not listed.
    pub fn weight(&self, class: u8) -> u32 {
        self.ratios
            .iter()
            .find(|r| r.class == class)
            .map_or(1, |r| r.weight.clamp(1, MAX_WEIGHT))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassWeight {
    pub class: u8,
    pub weight: u32,
}

/// Mutable per-queue state of the ratio scheduler (smooth weighted round robin credits).
/// Stored with the queue and updated in the same transaction as the call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PolicyState {
    #[serde(default)]
    pub credits: BTreeMap<u8, i64>,
}

/// What the policy needs to know about a waiting ticket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiting {
    pub id: TicketId,
    pub class: u8,
    pub arrived_at: DateTime<Utc>,
    /// Tie-break after `arrived_at` (ticket number sequence).
    pub seq: u32,
    pub sla_target_secs: u32,
}

impl Waiting {
    fn fifo_key(&self) -> (DateTime<Utc>, u32, TicketId) {
        (self.arrived_at, self.seq, self.id)
    }
}

/// One queue as seen by call-next: its policy, state and waiting tickets (any order).
#[derive(Clone, Debug)]
pub struct QueueView<'a> {
    pub queue_id: QueueId,
    pub service_id: ServiceId,
    pub policy: &'a QueuePolicy,
    pub state: &'a PolicyState,
    pub waiting: &'a [Waiting],
    /// The calling agent's skill weight for this queue's service (1–100).
    pub skill_weight: u8,
}

/// The policy's choice and the queue state to store with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pick {
    pub queue_id: QueueId,
    pub ticket_id: TicketId,
    pub new_state: PolicyState,
}

/// Chooses the next ticket among the given queues, or `None` when none is waiting.
pub fn pick(queues: &[QueueView<'_>], now: DateTime<Utc>) -> Option<Pick> {
    let candidates: Vec<(&QueueView<'_>, Candidate<'_>)> = queues
        .iter()
        .filter(|q| q.skill_weight > 0)
        .filter_map(|q| candidate(q, now).map(|c| (q, c)))
        .collect();
    let tie = |q: &QueueView<'_>, c: &Candidate<'_>| Reverse((c.ticket.arrived_at, q.queue_id));
    let boosted = candidates
        .iter()
        .filter_map(|(q, c)| c.urgency.map(|u| (u, tie(q, c), q, c)))
        .max_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)))
        .map(|(_, _, q, c)| (q, c));
    let (q, c) = boosted.or_else(|| {
        candidates
            .iter()
            .max_by_key(|(q, c)| {
                let score = i128::from(wait_ms(c.ticket, now)) * i128::from(q.skill_weight);
                (score, tie(q, c))
            })
            .map(|(q, c)| (q, c))
    })?;
    Some(Pick {
        queue_id: q.queue_id,
        ticket_id: c.ticket.id,
        new_state: c.new_state.clone(),
    })
}

/// The order in which the policy would call this queue's waiting tickets if called
/// repeatedly from now (used for the "next" list).
pub fn order(queue: &QueueView<'_>, now: DateTime<Utc>) -> Vec<TicketId> {
    let mut all: Vec<&Waiting> = queue.waiting.iter().collect();
    all.sort_by_key(|w| w.fifo_key());
    if queue.policy.ratios.is_empty() {
        return all.into_iter().map(|w| w.id).collect();
    }
    let cycle = Cycle::new(queue.policy, queue.state, all.iter().map(|w| w.class));
    let mut lines: Vec<VecDeque<&Waiting>> = vec![VecDeque::new(); cycle.classes.len()];
    for w in all {
        lines[cycle.index(w.class)].push_back(w);
    }
    let percent = queue.policy.sla_boost_percent;
    let mut out = Vec::with_capacity(queue.waiting.len());
    let mut phase = cycle.phase;
    let mut ring: Option<(Vec<usize>, usize)> = None;
    while out.len() < queue.waiting.len() {
        let boosted = percent.and_then(|p| {
            lines
                .iter()
                .enumerate()
                .filter_map(|(i, l)| l.front().and_then(|w| urgency(w, now, p)).map(|u| (i, u)))
                .max_by(|a, b| {
                    a.1.cmp(&b.1)
                        .then_with(|| lines[b.0][0].fifo_key().cmp(&lines[a.0][0].fifo_key()))
                })
                .map(|(i, _)| i)
        });
        let line = match boosted {
            Some(i) => i,
            None => {
                let (slots, at) = ring.get_or_insert_with(|| {
                    let live: Vec<bool> = lines.iter().map(|l| !l.is_empty()).collect();
                    (cycle.ring(phase, &live), 0)
                });
                let slot = slots[*at];
                *at = (*at + 1) % slots.len();
                phase = (slot + 1) % cycle.slots.len();
                cycle.slots[slot]
            }
        };
        if let Some(w) = lines[line].pop_front() {
            out.push(w.id);
        }
        if lines[line].is_empty() {
            ring = None;
        }
    }
    out
}

/// How many tickets the policy would call before a ticket of `class` that has
/// `ahead_in_class` tickets of its own class ahead of it, given the waiting `totals`
/// per class. Cheap (no ticket list needed), so stores can answer it from counts.
///
/// Boosts are ignored: whether a head will be boosted depends on when the calls happen.
/// With no ratios the queue is one FIFO line and classes do not matter, so the answer is
/// `ahead_in_class` itself: callers must then count every waiting ticket ahead, whatever
/// its class.
pub fn projected_position(
    policy: &QueuePolicy,
    state: &PolicyState,
    totals: &BTreeMap<u8, u32>,
    class: u8,
    ahead_in_class: u32,
) -> u32 {
    if policy.ratios.is_empty() {
        return ahead_in_class;
    }
    let present = totals
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(c, _)| *c)
        .chain([class]);
    let cycle = Cycle::new(policy, state, present);
    let target = cycle.index(class);
    let mut left: Vec<u64> = cycle
        .classes
        .iter()
        .map(|c| u64::from(totals.get(c).copied().unwrap_or(0)))
        .collect();
    left[target] = left[target].max(u64::from(ahead_in_class) + 1);
    let mut before_target = u64::from(ahead_in_class);
    let weight = |i: usize| cycle.weights[i] as u64;
    let mut picks: u64 = 0;
    let mut phase = cycle.phase;
    loop {
        let live: Vec<bool> = left.iter().map(|n| *n > 0).collect();
        let ring = cycle.ring(phase, &live);
        // Whole turns of the ring call w_i of each live class and leave the phase where it
        // is; take as many as keep every class alive and the target uncalled.
        let turns = (0..left.len())
            .filter(|&i| live[i])
            .map(|i| (left[i] - 1) / weight(i))
            .chain([before_target / weight(target)])
            .min()
            .unwrap_or(0);
        picks += turns * ring.len() as u64;
        for i in (0..left.len()).filter(|&i| live[i]) {
            left[i] -= turns * weight(i);
        }
        before_target -= turns * weight(target);
        // Within one more turn a class runs out (the ring changes) or the target is called.
        for slot in ring {
            let i = cycle.slots[slot];
            if i == target {
                if before_target == 0 {
                    return u32::try_from(picks).unwrap_or(u32::MAX);
                }
                before_target -= 1;
            }
            left[i] -= 1;
            picks += 1;
            phase = (slot + 1) % cycle.slots.len();
            if left[i] == 0 {
                break;
            }
        }
    }
}

/// What one queue proposes.
struct Candidate<'a> {
    ticket: &'a Waiting,
    urgency: Option<Urgency>,
    new_state: PolicyState,
}

fn candidate<'a>(q: &QueueView<'a>, now: DateTime<Utc>) -> Option<Candidate<'a>> {
    let percent = q.policy.sla_boost_percent;
    let boost = |w: &Waiting| percent.and_then(|p| urgency(w, now, p));
    if q.policy.ratios.is_empty() {
        let head = q.waiting.iter().min_by_key(|w| w.fifo_key())?;
        return Some(Candidate {
            ticket: head,
            urgency: boost(head),
            new_state: q.state.clone(),
        });
    }
    let mut heads: BTreeMap<u8, &Waiting> = BTreeMap::new();
    for w in q.waiting {
        heads
            .entry(w.class)
            .and_modify(|h| {
                if w.fifo_key() < h.fifo_key() {
                    *h = w;
                }
            })
            .or_insert(w);
    }
    let cycle = Cycle::new(q.policy, q.state, heads.keys().copied());
    let boosted = heads
        .values()
        .filter_map(|w| boost(w).map(|u| (u, Reverse(w.fifo_key()), *w)))
        .max_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    if let Some((u, _, w)) = boosted {
        return Some(Candidate {
            ticket: w,
            urgency: Some(u),
            new_state: cycle.state_at(cycle.phase),
        });
    }
    let live: Vec<bool> = cycle
        .classes
        .iter()
        .map(|c| heads.contains_key(c))
        .collect();
    let slot = *cycle.ring(cycle.phase, &live).first()?;
    Some(Candidate {
        ticket: heads[&cycle.classes[cycle.slots[slot]]],
        urgency: None,
        new_state: cycle.state_at((slot + 1) % cycle.slots.len()),
    })
}

fn wait_ms(w: &Waiting, now: DateTime<Utc>) -> i64 {
    (now - w.arrived_at).num_milliseconds().max(0)
}

/// A boosted head's wait as a fraction of its SLA target, compared exactly.
#[derive(Clone, Copy, Debug)]
struct Urgency {
    wait_ms: i64,
    sla_ms: i64,
}

impl Ord for Urgency {
    fn cmp(&self, other: &Self) -> Ordering {
        (i128::from(self.wait_ms) * i128::from(other.sla_ms))
            .cmp(&(i128::from(other.wait_ms) * i128::from(self.sla_ms)))
    }
}
impl PartialOrd for Urgency {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for Urgency {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Urgency {}

/// `Some` when `w` has waited at least `percent`% of its SLA target.
fn urgency(w: &Waiting, now: DateTime<Utc>, percent: u8) -> Option<Urgency> {
    if w.sla_target_secs == 0 {
        return None;
    }
    let u = Urgency {
        wait_ms: wait_ms(w, now),
        sla_ms: i64::from(w.sla_target_secs) * 1000,
    };
    (i128::from(u.wait_ms) * 100 >= i128::from(percent) * i128::from(u.sla_ms)).then_some(u)
}

/// One period of the ratio round and where the queue stands in it.
struct Cycle {
    /// Member classes, ascending.
    classes: Vec<u8>,
    weights: Vec<i64>,
    /// The member index SWRR chooses at each step, starting from zero credits.
    slots: Vec<usize>,
    /// The next slot to play.
    phase: usize,
}

impl Cycle {
    fn new(
        policy: &QueuePolicy,
        state: &PolicyState,
        present: impl IntoIterator<Item = u8>,
    ) -> Self {
        let mut members: BTreeSet<u8> = policy.ratios.iter().map(|r| r.class).collect();
        members.extend(state.credits.keys().copied());
        members.extend(present);
        let classes: Vec<u8> = members.into_iter().collect();
        let weights: Vec<i64> = classes
            .iter()
            .map(|&c| i64::from(policy.weight(c)))
            .collect();
        let total: i64 = weights.iter().sum();
        let stored: Vec<i64> = classes
            .iter()
            .map(|c| state.credits.get(c).copied().unwrap_or(0))
            .collect();
        let mut credits = vec![0_i64; classes.len()];
        let mut slots = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
        let mut phase = None;
        for step in 0..slots.capacity() {
            if phase.is_none() && credits == stored {
                phase = Some(step);
            }
            for (c, w) in credits.iter_mut().zip(&weights) {
                *c += w;
            }
            // `>=` so that ties go to the later, i.e. higher, class.
            let best = (0..credits.len())
                .reduce(|b, i| if credits[i] >= credits[b] { i } else { b })
                .unwrap_or(0);
            credits[best] -= total;
            slots.push(best);
        }
        Cycle {
            classes,
            weights,
            slots,
            phase: phase.unwrap_or(0),
        }
    }

    fn index(&self, class: u8) -> usize {
        self.classes.binary_search(&class).unwrap_or(0)
    }

    /// The SWRR credits after `phase` steps from zero: `phase·w − W·(times chosen)`.
    fn state_at(&self, phase: usize) -> PolicyState {
        let total: i64 = self.weights.iter().sum();
        let mut chosen = vec![0_i64; self.classes.len()];
        for &i in &self.slots[..phase] {
            chosen[i] += 1;
        }
        let credits = self
            .classes
            .iter()
            .zip(&self.weights)
            .zip(chosen)
            .map(|((&c, &w), n)| (c, phase as i64 * w - total * n))
            .collect();
        PolicyState { credits }
    }

    /// The slots whose class is live, in playing order from `from` round to just before it.
    fn ring(&self, from: usize, live: &[bool]) -> Vec<usize> {
        let n = self.slots.len();
        (0..n)
            .map(|k| (from + k) % n)
            .filter(|&s| live[self.slots[s]])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use proptest::prelude::*;
    use uuid::Uuid;

    fn t0() -> DateTime<Utc> {
        "2026-05-04T08:00:00Z".parse().unwrap()
    }

    fn id(n: u128) -> TicketId {
        TicketId(Uuid::from_u128(n))
    }

    fn ticket(n: u32, class: u8, arrived_secs: i64, sla: u32) -> Waiting {
        Waiting {
            id: id(u128::from(n)),
            class,
            arrived_at: t0() + Duration::seconds(arrived_secs),
            seq: n,
            sla_target_secs: sla,
        }
    }

    fn ratios(pairs: &[(u8, u32)]) -> QueuePolicy {
        QueuePolicy {
            ratios: pairs
                .iter()
                .map(|&(class, weight)| ClassWeight { class, weight })
                .collect(),
            sla_boost_percent: None,
        }
    }

    fn view<'a>(
        q: u128,
        policy: &'a QueuePolicy,
        state: &'a PolicyState,
        waiting: &'a [Waiting],
        skill: u8,
    ) -> QueueView<'a> {
        QueueView {
            queue_id: QueueId(Uuid::from_u128(q)),
            service_id: ServiceId(Uuid::from_u128(q)),
            policy,
            state,
            waiting,
            skill_weight: skill,
        }
    }

    /// Calls `n` times from one queue, removing each called ticket and storing the state.
    fn drain(
        policy: &QueuePolicy,
        state: &mut PolicyState,
        waiting: &mut Vec<Waiting>,
        now: DateTime<Utc>,
        n: usize,
    ) -> Vec<Waiting> {
        let mut called = Vec::new();
        for _ in 0..n {
            let Some(p) = pick(&[view(1, policy, state, waiting, 1)], now) else {
                break;
            };
            let at = waiting.iter().position(|w| w.id == p.ticket_id).unwrap();
            called.push(waiting.remove(at));
            *state = p.new_state;
        }
        called
    }

    fn classes_of(called: &[Waiting]) -> Vec<u8> {
        called.iter().map(|w| w.class).collect()
    }

    #[test]
    fn no_ratios_is_strict_fifo_across_classes() {
        let policy = QueuePolicy::default();
        let mut waiting = vec![
            ticket(3, 0, 30, 600),
            ticket(1, 2, 10, 600),
            ticket(2, 1, 10, 600), // same instant as #1: seq decides
            ticket(4, 5, 40, 600),
        ];
        let mut state = PolicyState::default();
        let o = order(&view(1, &policy, &state, &waiting, 1), t0());
        let called = drain(
            &policy,
            &mut state,
            &mut waiting,
            t0() + Duration::seconds(60),
            10,
        );
        let ids: Vec<_> = called.iter().map(|w| w.id).collect();
        assert_eq!(ids, vec![id(1), id(2), id(3), id(4)]);
        assert_eq!(o, ids);
        assert_eq!(state, PolicyState::default());
    }

    #[test]
    fn ratio_two_to_one_is_smooth_and_stored_in_credits() {
        let policy = ratios(&[(1, 2), (0, 1)]);
        let mut waiting: Vec<Waiting> = (0..30)
            .map(|n| ticket(n, (n % 2) as u8, i64::from(n), 600))
            .collect();
        let mut state = PolicyState::default();
        let called = drain(
            &policy,
            &mut state,
            &mut waiting,
            t0() + Duration::hours(1),
            9,
        );
        assert_eq!(classes_of(&called), vec![1, 0, 1, 1, 0, 1, 1, 0, 1]);
        // Nine calls is three whole rounds: back to zero credits.
        assert_eq!(state.credits, BTreeMap::from([(0, 0), (1, 0)]));
        let called = drain(
            &policy,
            &mut state,
            &mut waiting,
            t0() + Duration::hours(1),
            1,
        );
        assert_eq!(classes_of(&called), vec![1]);
        assert_eq!(state.credits, BTreeMap::from([(0, 1), (1, -1)]));
    }

    #[test]
    fn empty_and_unlisted_classes() {
        // Class 1 is listed but empty: class 0 gets every call. Class 7 is not listed and
        // gets weight 1 next to class 0's 3; it is remembered in the state afterwards.
        let policy = ratios(&[(1, 5), (0, 3)]);
        let mut waiting: Vec<Waiting> = (0..8).map(|n| ticket(n, 0, i64::from(n), 600)).collect();
        waiting.extend((8..12).map(|n| ticket(n, 7, i64::from(n), 600)));
        let mut state = PolicyState::default();
        let called = drain(
            &policy,
            &mut state,
            &mut waiting,
            t0() + Duration::hours(1),
            8,
        );
        let c = classes_of(&called);
        assert_eq!(c.iter().filter(|&&k| k == 7).count(), 2, "{c:?}");
        assert!(state.credits.contains_key(&7));
        // Weight 0 is clamped to 1 so the class is not starved; huge weights to MAX_WEIGHT.
        let p = ratios(&[(1, 0), (2, 1_000_000)]);
        assert_eq!((p.weight(1), p.weight(2), p.weight(9)), (1, MAX_WEIGHT, 1));
    }

    #[test]
    fn stored_credits_off_the_round_restart_it() {
        let policy = ratios(&[(1, 2), (0, 1)]);
        let mut waiting: Vec<Waiting> = (0..10)
            .map(|n| ticket(n, (n % 2) as u8, i64::from(n), 600))
            .collect();
        let mut state = PolicyState {
            credits: BTreeMap::from([(0, 40), (1, -40)]),
        };
        let called = drain(
            &policy,
            &mut state,
            &mut waiting,
            t0() + Duration::hours(1),
            3,
        );
        assert_eq!(classes_of(&called), vec![1, 0, 1]);
    }

    #[test]
    fn boost_jumps_classes_but_not_the_line_and_keeps_credits() {
        let mut policy = ratios(&[(1, 3), (0, 1)]);
        policy.sla_boost_percent = Some(80);
        // Class 0's head has waited 9 of 10 minutes; class 1 is fresh.
        let waiting = vec![
            ticket(1, 0, 0, 600),
            ticket(2, 0, 1, 60), // would be more overdue, but is not a head
            ticket(3, 1, 300, 600),
        ];
        let state = PolicyState::default();
        let now = t0() + Duration::seconds(540);
        let p = pick(&[view(1, &policy, &state, &waiting, 1)], now).unwrap();
        assert_eq!(p.ticket_id, id(1));
        assert_eq!(p.new_state.credits, BTreeMap::from([(0, 0), (1, 0)]));
        // Ticket 2 is now the head, 539 s against 60 s: boosted too, then ratio resumes.
        assert_eq!(
            order(&view(1, &policy, &state, &waiting, 1), now),
            vec![id(1), id(2), id(3)]
        );
        // Below the threshold nothing is boosted and VIP goes first.
        let early = t0() + Duration::seconds(450);
        let w2 = [waiting[0].clone(), waiting[2].clone()];
        assert_eq!(
            pick(&[view(1, &policy, &state, &w2, 1)], early)
                .unwrap()
                .ticket_id,
            id(3)
        );
        // An SLA of 0 means none: never boosted.
        let w3 = [ticket(9, 0, -100_000, 0), waiting[2].clone()];
        assert_eq!(
            pick(&[view(1, &policy, &state, &w3, 1)], now)
                .unwrap()
                .ticket_id,
            id(3)
        );
    }

    #[test]
    fn across_queues_boost_then_weighted_wait() {
        let fifo = QueuePolicy::default();
        let boosting = QueuePolicy {
            sla_boost_percent: Some(50),
            ..QueuePolicy::default()
        };
        let s = PolicyState::default();
        let now = t0() + Duration::seconds(1000);
        let a = [ticket(1, 0, 0, 0)]; // waited 1000 s, no SLA
        let b = [ticket(2, 0, 700, 600)]; // waited 300 s of 600: boosted at 50%
        let c = [ticket(3, 0, 600, 0)]; // waited 400 s
        // The boosted one wins regardless of skill or wait.
        let qs = [
            view(1, &boosting, &s, &a, 100),
            view(2, &boosting, &s, &b, 1),
        ];
        assert_eq!(pick(&qs, now).unwrap().ticket_id, id(2));
        // Otherwise wait × skill: 400 × 3 beats 1000 × 1.
        let qs = [view(1, &fifo, &s, &a, 1), view(3, &fifo, &s, &c, 3)];
        assert_eq!(pick(&qs, now).unwrap().ticket_id, id(3));
        // Skill weight 0 means the agent does not serve that queue at all.
        let qs = [view(1, &fifo, &s, &a, 0), view(2, &boosting, &s, &b, 0)];
        assert_eq!(pick(&qs, now), None);
        // Equal scores: earlier arrival, then the smaller queue id.
        let d = [ticket(4, 0, 0, 0)];
        let qs = [view(9, &fifo, &s, &d, 1), view(1, &fifo, &s, &a, 1)];
        assert_eq!(
            pick(&qs, now).unwrap().queue_id,
            QueueId(Uuid::from_u128(1))
        );
        assert_eq!(pick(&[], now), None);
    }

    #[test]
    fn projected_position_from_counts() {
        let policy = ratios(&[(1, 2), (0, 1)]);
        let state = PolicyState::default();
        let totals = BTreeMap::from([(0, 5), (1, 5)]);
        // Sequence 1 0 1 1 0 1 1 0 0 0 (class 1 runs out after its fifth call).
        assert_eq!(projected_position(&policy, &state, &totals, 1, 0), 0);
        assert_eq!(projected_position(&policy, &state, &totals, 0, 0), 1);
        assert_eq!(projected_position(&policy, &state, &totals, 1, 4), 6);
        assert_eq!(projected_position(&policy, &state, &totals, 0, 4), 9);
        let fifo = QueuePolicy::default();
        assert_eq!(projected_position(&fifo, &state, &totals, 0, 7), 7);
        // Big queues are answered by whole turns, not call by call.
        let big = BTreeMap::from([(0, 4_000_000), (1, 4_000_000)]);
        assert_eq!(
            projected_position(&policy, &state, &big, 0, 999_999),
            2_999_998
        );
    }

    // ---- properties ----

    fn policy_strategy() -> impl Strategy<Value = QueuePolicy> {
        (
            proptest::collection::vec((0u8..5, 0u32..6), 0..4),
            proptest::option::of(0u8..150),
        )
            .prop_map(|(r, boost)| QueuePolicy {
                ratios: r
                    .into_iter()
                    .map(|(class, weight)| ClassWeight { class, weight })
                    .collect(),
                sla_boost_percent: boost,
            })
    }

    fn tickets_strategy(max: usize) -> impl Strategy<Value = Vec<Waiting>> {
        proptest::collection::vec((0u8..5, 0i64..600, 0u32..4), 0..max).prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(|(n, (class, at, sla))| {
                    ticket(n as u32, class, at, [0, 60, 300, 900][sla as usize])
                })
                .collect()
        })
    }

    /// Puts the state at an arbitrary point of its round by calling from a full queue.
    fn warmed(policy: &QueuePolicy, warmup: usize) -> PolicyState {
        let mut plain = policy.clone();
        plain.sla_boost_percent = None;
        let mut waiting: Vec<Waiting> = (0..5u8)
            .flat_map(|c| (0..40).map(move |n| ticket(u32::from(c) * 100 + n, c, i64::from(n), 0)))
            .collect();
        let mut state = PolicyState::default();
        drain(&plain, &mut state, &mut waiting, t0(), warmup);
        state
    }

    proptest! {
        #[test]
        fn pick_returns_a_waiting_ticket_of_that_queue(
            policies in proptest::collection::vec(policy_strategy(), 1..4),
            lists in proptest::collection::vec(tickets_strategy(12), 1..4),
            skills in proptest::collection::vec(0u8..4, 1..4),
            at in 0i64..2000,
        ) {
            let states: Vec<PolicyState> = policies.iter().map(|p| warmed(p, 3)).collect();
            let n = policies.len().min(lists.len()).min(skills.len());
            let views: Vec<QueueView<'_>> = (0..n)
                .map(|i| view(i as u128, &policies[i], &states[i], &lists[i], skills[i]))
                .collect();
            let now = t0() + Duration::seconds(at);
            match pick(&views, now) {
                Some(p) => {
                    let v = views.iter().find(|v| v.queue_id == p.queue_id).unwrap();
                    prop_assert!(v.skill_weight > 0);
                    prop_assert!(v.waiting.iter().any(|w| w.id == p.ticket_id));
                }
                None => prop_assert!(views.iter().all(|v| v.skill_weight == 0 || v.waiting.is_empty())),
            }
        }

        #[test]
        fn fifo_within_a_class_over_long_runs(
            policies in proptest::collection::vec(policy_strategy(), 1..3),
            events in proptest::collection::vec((0u8..3, 0u8..5, 0u32..4, 1i64..120), 1..150),
        ) {
            // Each event: 0 = call, otherwise a ticket arrives in queue (event % queues).
            let mut lists: Vec<Vec<Waiting>> = vec![Vec::new(); policies.len()];
            let mut states: Vec<PolicyState> = vec![PolicyState::default(); policies.len()];
            let mut now = t0();
            for (n, (kind, class, sla, dt)) in events.into_iter().enumerate() {
                now += Duration::seconds(dt);
                if kind > 0 {
                    let q = usize::from(kind) % policies.len();
                    let mut w = ticket(n as u32, class, 0, [0, 60, 300, 900][sla as usize]);
                    w.arrived_at = now;
                    lists[q].push(w);
                    continue;
                }
                let views: Vec<QueueView<'_>> = (0..policies.len())
                    .map(|i| view(i as u128, &policies[i], &states[i], &lists[i], 1))
                    .collect();
                let Some(p) = pick(&views, now) else { continue };
                let q = p.queue_id.0.as_u128() as usize;
                let called = lists[q].iter().find(|w| w.id == p.ticket_id).unwrap().clone();
                let same_line = |w: &&Waiting| policies[q].ratios.is_empty() || w.class == called.class;
                let first = lists[q].iter().filter(same_line).min_by_key(|w| w.fifo_key()).unwrap();
                prop_assert_eq!(first.id, called.id);
                lists[q].retain(|w| w.id != called.id);
                states[q] = p.new_state;
            }
        }

        #[test]
        fn ratio_proportions_are_exact_over_whole_rounds(
            weights in proptest::collection::vec(1u32..6, 2..4),
            listed_empty in 0u32..4,
            warmup in 0usize..40,
        ) {
            let mut pairs: Vec<(u8, u32)> = weights.iter().enumerate().map(|(c, w)| (c as u8, *w)).collect();
            if listed_empty > 0 {
                pairs.push((9, listed_empty)); // listed, never waiting
            }
            let policy = ratios(&pairs);
            let total: usize = weights.iter().map(|w| *w as usize).sum();
            let mut state = warmed(&policy, warmup);
            let mut waiting: Vec<Waiting> = (0..weights.len())
                .flat_map(|c| (0..500u32).map(move |n| ticket(c as u32 * 1000 + n, c as u8, i64::from(n), 0)))
                .collect();
            let seq = classes_of(&drain(&policy, &mut state, &mut waiting, t0(), 8 * total));
            for len in [total, 2 * total, 3 * total] {
                for window in seq.windows(len) {
                    for (c, w) in weights.iter().enumerate() {
                        let n = window.iter().filter(|&&k| usize::from(k) == c).count();
                        prop_assert_eq!(n, len / total * *w as usize, "{:?} in {:?}", c, seq);
                    }
                }
            }
            // Hence the bound: at most W − w_c other calls between two calls of c.
            for (c, w) in weights.iter().enumerate() {
                let mut gap = 0;
                for &k in &seq {
                    gap = if usize::from(k) == c { 0 } else { gap + 1 };
                    prop_assert!(gap <= total - *w as usize);
                }
            }
        }

        #[test]
        fn no_class_starves_while_others_come_and_go(
            weights in proptest::collection::vec(1u32..6, 2..5),
            events in proptest::collection::vec((0u8..8, 0u8..5), 1..300),
        ) {
            // Event: kind 0..=3 = call, otherwise an arrival in class `c % classes`.
            let pairs: Vec<(u8, u32)> = weights.iter().enumerate().map(|(c, w)| (c as u8, *w)).collect();
            let policy = ratios(&pairs);
            let all: usize = weights.iter().map(|w| *w as usize).sum();
            let mut waiting: Vec<Waiting> = Vec::new();
            let mut state = PolicyState::default();
            // Calls of others since each class last became non-empty or was called.
            let mut waited = vec![0usize; weights.len()];
            for (n, (kind, c)) in events.into_iter().enumerate() {
                if kind > 3 {
                    let class = usize::from(c) % weights.len();
                    if !waiting.iter().any(|w| usize::from(w.class) == class) {
                        waited[class] = 0;
                    }
                    waiting.push(ticket(n as u32, class as u8, n as i64, 0));
                    continue;
                }
                let called = drain(&policy, &mut state, &mut waiting, t0(), 1);
                let Some(called) = called.first() else { continue };
                for (class, w) in waited.iter_mut().enumerate() {
                    *w = if class == usize::from(called.class) { 0 } else { *w + 1 };
                    let non_empty = waiting.iter().any(|t| usize::from(t.class) == class);
                    if non_empty || class == usize::from(called.class) {
                        prop_assert!(*w <= all - weights[class] as usize, "class {} waited {}", class, w);
                    }
                }
            }
        }

        #[test]
        fn order_agrees_with_repeated_pick(
            policy in policy_strategy(),
            mut waiting in tickets_strategy(40),
            warmup in 0usize..20,
            at in 0i64..1500,
        ) {
            let mut state = warmed(&policy, warmup);
            let now = t0() + Duration::seconds(at);
            let o = order(&view(1, &policy, &state, &waiting, 1), now);
            let n = waiting.len();
            let called: Vec<TicketId> = drain(&policy, &mut state, &mut waiting, now, n + 1)
                .iter()
                .map(|w| w.id)
                .collect();
            prop_assert_eq!(o, called);
        }

        #[test]
        fn projected_position_is_the_index_in_order(
            mut policy in policy_strategy(),
            waiting in tickets_strategy(60),
            warmup in 0usize..20,
            junk in proptest::option::of(proptest::collection::btree_map(0u8..6, -9i64..9, 0..4)),
        ) {
            policy.sla_boost_percent = None;
            let state = match junk {
                Some(credits) => PolicyState { credits },
                None => warmed(&policy, warmup),
            };
            let o = order(&view(1, &policy, &state, &waiting, 1), t0());
            let mut totals: BTreeMap<u8, u32> = BTreeMap::new();
            for w in &waiting {
                *totals.entry(w.class).or_default() += 1;
            }
            for w in &waiting {
                let ahead = if policy.ratios.is_empty() {
                    waiting.iter().filter(|x| x.fifo_key() < w.fifo_key()).count()
                } else {
                    waiting.iter().filter(|x| x.class == w.class && x.fifo_key() < w.fifo_key()).count()
                };
                let p = projected_position(&policy, &state, &totals, w.class, ahead as u32);
                let index = o.iter().position(|x| *x == w.id).unwrap();
                prop_assert_eq!(p as usize, index);
            }
        }

        #[test]
        fn swrr_rounds_return_to_zero_credits(weights in proptest::collection::vec(1u32..=MAX_WEIGHT, 1..6)) {
            let pairs: Vec<(u8, u32)> = weights.iter().enumerate().map(|(c, w)| (c as u8, *w)).collect();
            let policy = ratios(&pairs);
            let cycle = Cycle::new(&policy, &PolicyState::default(), []);
            for (i, w) in weights.iter().enumerate() {
                prop_assert_eq!(cycle.slots.iter().filter(|&&s| s == i).count(), *w as usize);
            }
            prop_assert!(cycle.state_at(cycle.slots.len()).credits.values().all(|c| *c == 0));
        }
    }
}
