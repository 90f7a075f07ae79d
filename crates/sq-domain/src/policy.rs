//! Call-next policies: which waiting ticket an agent gets next.
//!
//! SKELETON — the signatures are the contract the stores and the app build against;
//! the bodies are being written (see the module docs to come).

use crate::ids::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    let _ = (queues, now);
    None
}

/// The order in which the policy would call this queue's waiting tickets if called
/// repeatedly from now (used for the "next" list).
pub fn order(queue: &QueueView<'_>, now: DateTime<Utc>) -> Vec<TicketId> {
    let _ = (queue, now);
    Vec::new()
}

/// How many tickets the policy would call before a ticket of `class` that has
/// `ahead_in_class` tickets of its own class ahead of it, given the waiting `totals`
/// per class. Cheap (no ticket list needed), so stores can answer it from counts.
pub fn projected_position(
    policy: &QueuePolicy,
    state: &PolicyState,
    totals: &BTreeMap<u8, u32>,
    class: u8,
    ahead_in_class: u32,
) -> u32 {
    let _ = (policy, state, totals, class);
    ahead_in_class
}
