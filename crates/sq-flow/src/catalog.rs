//! What a flow can rely on: the actions of the core (arguments, outcomes, result variables),
//! the context variables every host provides, and the events that start flows. Validation
//! checks flows against these tables; the host's action runner implements them.
//!
//! Sample values are what `flows validate` formats messages with to measure screens and SMS
//! segments: realistic and on the long side, so a warning-free flow has some headroom.

use crate::value::{Item, Value};

/// The type of a variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarKind {
    Text,
    Int,
    Bool,
    /// A dynamic choice source.
    List,
}

#[derive(Clone, Copy, Debug)]
pub struct ArgSpec {
    pub name: &'static str,
    pub required: bool,
}

#[derive(Clone, Copy, Debug)]
pub struct OutcomeSpec {
    pub name: &'static str,
    /// Variables the action sets on this outcome.
    pub vars: &'static [&'static str],
}

#[derive(Clone, Copy, Debug)]
pub struct ActionSpec {
    pub name: &'static str,
    pub args: &'static [ArgSpec],
    pub outcomes: &'static [OutcomeSpec],
}

impl ActionSpec {
    pub fn outcome(&self, name: &str) -> Option<&OutcomeSpec> {
        self.outcomes.iter().find(|o| o.name == name)
    }
}

const fn req(name: &'static str) -> ArgSpec {
    ArgSpec {
        name,
        required: true,
    }
}
const fn opt(name: &'static str) -> ArgSpec {
    ArgSpec {
        name,
        required: false,
    }
}
const fn out(name: &'static str, vars: &'static [&'static str]) -> OutcomeSpec {
    OutcomeSpec { name, vars }
}

/// The core's actions (FLOWS.md §2), plus `queue.services` (the open services of a site the
/// customer picked: FLOWS.md lists `services` as a source an action produces).
pub const ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        name: "queue.services",
        args: &[opt("site")],
        outcomes: &[out("ok", &["services", "service_count"]), out("none", &[])],
    },
    ActionSpec {
        name: "queue.join",
        args: &[req("service"), opt("site"), opt("name")],
        outcomes: &[
            out("ok", &["ticket", "ahead", "eta_min", "eta_max"]),
            // Issued, but nobody serves this service now: no ETA to promise.
            out("no_eta", &["ticket", "ahead"]),
            out("closed", &[]),
            out("duplicate", &["ticket", "ahead"]),
        ],
    },
    ActionSpec {
        name: "queue.status",
        args: &[],
        outcomes: &[
            out(
                "waiting",
                &[
                    "ticket",
                    "ahead",
                    "eta_min",
                    "eta_max",
                    "tickets",
                    "ticket_count",
                ],
            ),
            out("no_eta", &["ticket", "ahead", "tickets", "ticket_count"]),
            out("called", &["ticket", "counter"]),
            out("none", &[]),
        ],
    },
    ActionSpec {
        name: "queue.cancel",
        args: &[opt("ticket")],
        outcomes: &[out("ok", &["ticket"]), out("none", &[])],
    },
    ActionSpec {
        name: "appointment.days",
        args: &[req("service")],
        outcomes: &[out("ok", &["days", "day_count"]), out("none", &[])],
    },
    ActionSpec {
        name: "appointment.slots",
        args: &[req("service"), req("day")],
        outcomes: &[out("ok", &["slots", "slot_count"]), out("none", &[])],
    },
    ActionSpec {
        name: "appointment.book",
        args: &[req("service"), req("slot"), opt("name")],
        outcomes: &[
            out("ok", &["appointment", "date", "time"]),
            out("taken", &[]),
        ],
    },
    ActionSpec {
        name: "appointment.list",
        args: &[],
        outcomes: &[
            out("ok", &["appointments", "appointment_count"]),
            out("none", &[]),
        ],
    },
    ActionSpec {
        name: "appointment.cancel",
        args: &[req("appointment")],
        outcomes: &[out("ok", &[]), out("none", &[])],
    },
    ActionSpec {
        name: "appointment.checkin",
        args: &[opt("appointment")],
        outcomes: &[
            out("ok", &["ticket", "ahead"]),
            out("early", &["time"]),
            out("late", &[]),
            out("none", &[]),
        ],
    },
    ActionSpec {
        name: "feedback.record",
        args: &[req("score"), opt("scale"), opt("comment")],
        outcomes: &[out("ok", &[])],
    },
    ActionSpec {
        name: "contact.set_language",
        args: &[req("lang")],
        // `lang` shadows the context's, so the rest of the flow speaks the new language.
        outcomes: &[out("ok", &["lang"])],
    },
    ActionSpec {
        name: "contact.set_name",
        args: &[req("name")],
        outcomes: &[out("ok", &[])],
    },
    ActionSpec {
        name: "contact.opt_out",
        args: &[],
        outcomes: &[out("ok", &[])],
    },
    ActionSpec {
        name: "handoff.agent",
        args: &[opt("reason")],
        outcomes: &[out("ok", &[]), out("unavailable", &[])],
    },
];

pub fn action(name: &str) -> Option<&'static ActionSpec> {
    ACTIONS.iter().find(|a| a.name == name)
}

/// A context variable: provided by the host on every turn ([`crate::Env::context`]).
#[derive(Clone, Copy, Debug)]
pub struct ContextSpec {
    pub name: &'static str,
    pub kind: VarKind,
    pub doc: &'static str,
}

const fn ctx(name: &'static str, kind: VarKind, doc: &'static str) -> ContextSpec {
    ContextSpec { name, kind, doc }
}

pub const CONTEXT: &[ContextSpec] = &[
    ctx("tenant", VarKind::Text, "the tenant's display name"),
    ctx(
        "site",
        VarKind::Text,
        "the name of the site the contact reached (or the tenant's main site)",
    ),
    ctx("site_count", VarKind::Int, "open sites of the tenant"),
    ctx(
        "sites",
        VarKind::List,
        "open sites (key: site id, label: name)",
    ),
    ctx(
        "services",
        VarKind::List,
        "open services of the site (key: service id, label: name)",
    ),
    ctx("service_count", VarKind::Int, "number of `services`"),
    ctx(
        "languages",
        VarKind::List,
        "enabled languages (key: tag, label: endonym)",
    ),
    ctx("language_count", VarKind::Int, "number of `languages`"),
    ctx("lang", VarKind::Text, "the contact's language tag"),
    ctx(
        "channel",
        VarKind::Text,
        "whatsapp, sms, ussd, telegram, web",
    ),
    ctx(
        "feedback_scale",
        VarKind::Text,
        "`csat` (1–5) or `nps` (0–10), a tenant setting",
    ),
    ctx(
        "can_join",
        VarKind::Bool,
        "some service is open for joining",
    ),
    ctx(
        "has_ticket",
        VarKind::Bool,
        "the contact has an active ticket",
    ),
    ctx(
        "appointments_enabled",
        VarKind::Bool,
        "the tenant takes appointments",
    ),
];

pub fn context(name: &str) -> Option<&'static ContextSpec> {
    CONTEXT.iter().find(|c| c.name == name)
}

/// Events that start flows, and the variables a flow started by them gets.
pub const EVENTS: &[(&str, &[&str])] = &[
    ("ticket.issued", &["ticket", "ahead"]),
    ("ticket.called", &["ticket", "counter"]),
    ("ticket.recalled", &["ticket", "counter"]),
    ("ticket.no_show", &["ticket"]),
    ("ticket.served", &["ticket", "service_name"]),
    ("appointment.reminder", &["appointment", "date", "time"]),
    ("appointment.no_show", &["appointment", "service"]),
];

pub fn event(name: &str) -> Option<&'static [&'static str]> {
    EVENTS.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

/// The type of a known variable (context or action result), if it has one.
pub fn kind_of(name: &str) -> Option<VarKind> {
    if let Some(c) = context(name) {
        return Some(c.kind);
    }
    Some(match name {
        "services" | "sites" | "days" | "slots" | "tickets" | "appointments" | "languages" => {
            VarKind::List
        }
        "ahead" | "eta_min" | "eta_max" | "service_count" | "ticket_count" | "day_count"
        | "slot_count" | "appointment_count" | "score" => VarKind::Int,
        _ => return None,
    })
}

fn items(labels: &[&str]) -> Value {
    Value::List(
        labels
            .iter()
            .enumerate()
            .map(|(i, l)| Item::new(format!("k{}", i + 1), *l))
            .collect(),
    )
}

/// A realistic (long-ish) value to format messages with during validation.
pub fn sample(name: &str) -> Value {
    match name {
        "tenant" => "Harambee Savings Bank".into(),
        "site" | "site_label" => "Kenyatta Avenue Branch".into(),
        "service" | "service_label" | "service_name" => "Deposits and withdrawals".into(),
        "ticket" => "A123".into(),
        "ahead" => 12.into(),
        "eta_min" => 25.into(),
        "eta_max" => 40.into(),
        "counter" => "Counter 12".into(),
        "lang" => "en".into(),
        "channel" => "sms".into(),
        "feedback_scale" => "csat".into(),
        "name" => "Wanjiku Kamau".into(),
        "comment" => "Quick service, thank you".into(),
        "score" => 5.into(),
        "date" => "2025-03-14".into(),
        "time" => "10:30".into(),
        "appointment" => "B042".into(),
        "min" => 1.into(),
        "max" => 10.into(),
        "services" => items(&[
            "Deposits and withdrawals",
            "Loans",
            "Cards",
            "Account opening",
            "Mobile banking help",
            "Foreign exchange",
        ]),
        "sites" => items(&["Kenyatta Avenue Branch", "Westlands", "Mombasa Road"]),
        "languages" => items(&["English", "Français", "العربية", "Kiswahili", "Português"]),
        "days" => items(&[
            "Mon 14 Mar",
            "Tue 15 Mar",
            "Wed 16 Mar",
            "Thu 17 Mar",
            "Fri 18 Mar",
        ]),
        "slots" => items(&["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]),
        "tickets" => items(&["A123 Deposits and withdrawals", "L007 Loans"]),
        "appointments" => items(&["Mon 14 Mar 09:30 Loans"]),
        n if n.ends_with("_label") => "Deposits and withdrawals".into(),
        n => match kind_of(n) {
            Some(VarKind::Int) => 12.into(),
            Some(VarKind::Bool) => true.into(),
            Some(VarKind::List) => items(&["First option", "Second option"]),
            _ => "Sample text".into(),
        },
    }
}
