//! Tickets and their state machine (ARCHITECTURE.md §3).
//!
//! ```text
//! waiting ──call──▶ called ──start──▶ serving ──close──▶ served
//!    │                │  ▲ recall        │  ▲
//!    │                ▼  │               pause resume
//!    │             recalled ──start──▶ serving ◀──▶ paused
//!    │                │
//!    │                └──no_show──▶ no_show    (called ──no_show──▶ no_show too)
//!    ├──cancel──▶ cancelled
//!    └──transfer──▶ transferred   (also from called/recalled; a new ticket is issued)
//! ```
//!
//! `recalled` is a called ticket announced again; each recall is counted. Every transition
//! yields a [`TicketEvent`] with its actor and time: reports and the ETA learn from them.

use crate::ids::*;
use crate::values::*;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

crate::values::str_enum!(
    TicketStatus {
        Waiting = "waiting", Called = "called", Recalled = "recalled", Serving = "serving",
        Paused = "paused", Served = "served", NoShow = "no_show", Transferred = "transferred",
        Cancelled = "cancelled",
    } "invalid_status"
);

impl TicketStatus {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Served | Self::NoShow | Self::Transferred | Self::Cancelled
        )
    }
    /// At a counter right now (shown on displays and consoles).
    pub fn is_at_counter(self) -> bool {
        matches!(
            self,
            Self::Called | Self::Recalled | Self::Serving | Self::Paused
        )
    }
}

/// Who did something. Stored with every event and audit row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Actor {
    User(UserId),
    ApiKey(ApiKeyId),
    Contact(ContactId),
    System,
    /// A paired display or kiosk (its key, not a person).
    Device(DeviceId),
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::User(id) => write!(f, "user:{id}"),
            Actor::ApiKey(id) => write!(f, "api_key:{id}"),
            Actor::Contact(id) => write!(f, "contact:{id}"),
            Actor::System => f.write_str("system"),
            Actor::Device(id) => write!(f, "device:{id}"),
        }
    }
}

impl FromStr for Actor {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let bad = || ParseError::new("invalid_actor", s.to_owned());
        if s == "system" {
            return Ok(Actor::System);
        }
        let (kind, id) = s.split_once(':').ok_or_else(bad)?;
        let id = uuid::Uuid::parse_str(id).map_err(|_| bad())?;
        match kind {
            "user" => Ok(Actor::User(id.into())),
            "api_key" => Ok(Actor::ApiKey(id.into())),
            "contact" => Ok(Actor::Contact(id.into())),
            "device" => Ok(Actor::Device(id.into())),
            _ => Err(bad()),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: TicketId,
    pub tenant_id: TenantId,
    pub site_id: SiteId,
    pub queue_id: QueueId,
    pub service_id: ServiceId,
    /// Display number, e.g. `A001`.
    pub number: String,
    /// The site-local day the number belongs to.
    pub local_date: NaiveDate,
    /// The counter part of the number (1 for A001).
    pub seq: u32,
    pub status: TicketStatus,
    /// Priority class: 0 is normal; higher classes (VIP, senior…) are defined by the
    /// queue's policy.
    pub priority: u8,
    pub channel: Channel,
    pub contact_id: Option<ContactId>,
    /// FIFO order key. Kept across a transfer with `keep_position`.
    pub arrived_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub called_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub counter_id: Option<CounterId>,
    pub agent_id: Option<AgentId>,
    pub recalls: u32,
    /// Seconds spent paused while serving (excluded from the observed service time).
    pub paused_secs: u32,
    pub paused_at: Option<DateTime<Utc>>,
    pub transferred_from: Option<TicketId>,
    pub transferred_to: Option<TicketId>,
}

impl Ticket {
    /// The observed service time of a served ticket, pauses excluded.
    pub fn service_secs(&self) -> Option<f64> {
        let (s, f) = (self.started_at?, self.finished_at?);
        Some(((f - s).num_milliseconds() as f64 / 1000.0 - self.paused_secs as f64).max(0.0))
    }
}

/// A command on one ticket. Calling is not here: which ticket gets called is the policy's
/// choice ([`crate::policy`]); the result is applied with [`call`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum TicketAction {
    Recall,
    Start,
    Close,
    NoShow,
    Pause {
        reason: Option<String>,
    },
    Resume,
    Cancel,
    Transfer {
        to_queue_id: QueueId,
        keep_position: bool,
    },
}

impl TicketAction {
    /// The event name, also the audit action suffix (`ticket.no_show`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Recall => "recall",
            Self::Start => "start",
            Self::Close => "close",
            Self::NoShow => "no_show",
            Self::Pause { .. } => "pause",
            Self::Resume => "resume",
            Self::Cancel => "cancel",
            Self::Transfer { .. } => "transfer",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TicketEvent {
    pub id: TicketEventId,
    pub tenant_id: TenantId,
    pub ticket_id: TicketId,
    /// `issue`, `call`, or a [`TicketAction::name`].
    pub kind: String,
    pub from: Option<TicketStatus>,
    pub to: TicketStatus,
    pub actor: Actor,
    pub at: DateTime<Utc>,
    pub data: serde_json::Value,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} a ticket that is {from}")]
pub struct IllegalTransition {
    pub action: &'static str,
    pub from: TicketStatus,
}

fn event(
    t: &Ticket,
    kind: &str,
    from: Option<TicketStatus>,
    actor: &Actor,
    at: DateTime<Utc>,
    data: serde_json::Value,
) -> TicketEvent {
    TicketEvent {
        id: TicketEventId::new(),
        tenant_id: t.tenant_id,
        ticket_id: t.id,
        kind: kind.to_owned(),
        from,
        to: t.status,
        actor: actor.clone(),
        at,
        data,
    }
}

/// The event recorded when a ticket is issued.
pub fn issued_event(t: &Ticket, actor: &Actor) -> TicketEvent {
    event(
        t,
        "issue",
        None,
        actor,
        t.created_at,
        serde_json::json!({ "number": t.number }),
    )
}

/// Calls a waiting ticket to a counter.
pub fn call(
    t: &Ticket,
    agent: AgentId,
    counter: CounterId,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(Ticket, TicketEvent), IllegalTransition> {
    if t.status != TicketStatus::Waiting {
        return Err(IllegalTransition {
            action: "call",
            from: t.status,
        });
    }
    let mut n = t.clone();
    n.status = TicketStatus::Called;
    n.called_at = Some(now);
    n.agent_id = Some(agent);
    n.counter_id = Some(counter);
    let data = serde_json::json!({ "agent_id": agent, "counter_id": counter });
    let e = event(&n, "call", Some(t.status), actor, now, data);
    Ok((n, e))
}

/// Applies an action. A transfer only closes this ticket; the caller issues the new one
/// in the target queue (with [`Ticket::arrived_at`] kept when `keep_position`) and links
/// both with `transferred_to` / `transferred_from`.
pub fn apply(
    t: &Ticket,
    action: &TicketAction,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(Ticket, TicketEvent), IllegalTransition> {
    use TicketStatus::*;
    let from = t.status;
    let illegal = || IllegalTransition {
        action: action.name(),
        from,
    };
    let mut n = t.clone();
    let mut data = serde_json::Value::Null;
    match (action, from) {
        (TicketAction::Recall, Called | Recalled) => {
            n.status = Recalled;
            n.recalls += 1;
            n.called_at = Some(now);
            data = serde_json::json!({ "recalls": n.recalls });
        }
        (TicketAction::Start, Called | Recalled) => {
            n.status = Serving;
            n.started_at = Some(now);
        }
        (TicketAction::Close, Serving) => {
            n.status = Served;
            n.finished_at = Some(now);
        }
        (TicketAction::NoShow, Called | Recalled) => {
            n.status = NoShow;
            n.finished_at = Some(now);
        }
        (TicketAction::Pause { reason }, Serving) => {
            n.status = Paused;
            n.paused_at = Some(now);
            data = serde_json::json!({ "reason": reason });
        }
        (TicketAction::Resume, Paused) => {
            n.status = Serving;
            if let Some(p) = n.paused_at.take() {
                n.paused_secs += (now - p).num_seconds().max(0) as u32;
            }
        }
        (TicketAction::Cancel, Waiting) => {
            n.status = Cancelled;
            n.finished_at = Some(now);
        }
        (
            TicketAction::Transfer {
                to_queue_id,
                keep_position,
            },
            Waiting | Called | Recalled,
        ) => {
            n.status = Transferred;
            n.finished_at = Some(now);
            data =
                serde_json::json!({ "to_queue_id": to_queue_id, "keep_position": keep_position });
        }
        _ => return Err(illegal()),
    }
    let e = event(&n, action.name(), Some(from), actor, now, data);
    Ok((n, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    pub(crate) fn ticket() -> Ticket {
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap();
        Ticket {
            id: TicketId::new(),
            tenant_id: TenantId::new(),
            site_id: SiteId::new(),
            queue_id: QueueId::new(),
            service_id: ServiceId::new(),
            number: "A001".into(),
            local_date: at.date_naive(),
            seq: 1,
            status: TicketStatus::Waiting,
            priority: 0,
            channel: Channel::Kiosk,
            contact_id: None,
            arrived_at: at,
            created_at: at,
            called_at: None,
            started_at: None,
            finished_at: None,
            counter_id: None,
            agent_id: None,
            recalls: 0,
            paused_secs: 0,
            paused_at: None,
            transferred_from: None,
            transferred_to: None,
        }
    }

    #[test]
    fn full_journey_with_pause_and_recall() {
        let a = Actor::System;
        let t0 = ticket();
        let now = t0.created_at;
        let s = |m: i64| now + chrono::Duration::seconds(m);
        let (t, e) = call(&t0, AgentId::new(), CounterId::new(), &a, s(60)).unwrap();
        assert_eq!(
            (e.from, e.to),
            (Some(TicketStatus::Waiting), TicketStatus::Called)
        );
        let (t, _) = apply(&t, &TicketAction::Recall, &a, s(90)).unwrap();
        let (t, _) = apply(&t, &TicketAction::Recall, &a, s(120)).unwrap();
        assert_eq!((t.status, t.recalls), (TicketStatus::Recalled, 2));
        let (t, _) = apply(&t, &TicketAction::Start, &a, s(130)).unwrap();
        let (t, _) = apply(
            &t,
            &TicketAction::Pause {
                reason: Some("copy".into()),
            },
            &a,
            s(200),
        )
        .unwrap();
        let (t, _) = apply(&t, &TicketAction::Resume, &a, s(260)).unwrap();
        let (t, e) = apply(&t, &TicketAction::Close, &a, s(330)).unwrap();
        assert_eq!(e.to, TicketStatus::Served);
        assert_eq!(t.service_secs(), Some(140.0));
    }

    #[test]
    fn illegal_transitions_are_typed_errors() {
        let a = Actor::System;
        let t = ticket();
        for action in [
            TicketAction::Start,
            TicketAction::Close,
            TicketAction::Recall,
            TicketAction::NoShow,
            TicketAction::Resume,
        ] {
            let err = apply(&t, &action, &a, t.created_at).unwrap_err();
            assert_eq!(err.from, TicketStatus::Waiting);
        }
        let (c, _) = apply(&t, &TicketAction::Cancel, &a, t.created_at).unwrap();
        assert!(c.status.is_terminal());
        assert!(apply(&c, &TicketAction::Cancel, &a, t.created_at).is_err());
        assert!(call(&c, AgentId::new(), CounterId::new(), &a, t.created_at).is_err());
    }

    #[test]
    fn actors_round_trip_as_text() {
        for a in [
            Actor::System,
            Actor::User(UserId::new()),
            Actor::ApiKey(ApiKeyId::new()),
        ] {
            assert_eq!(a.to_string().parse::<Actor>().unwrap(), a);
        }
    }
}
