//! Transcript tests (FLOWS.md §7): a conversation written once, run on every listed channel.
//!
//! Each turn is rendered as the channel would show it (through the choice ladder) and the
//! customer's reply is delivered as that channel would deliver it: on WhatsApp buttons/lists
//! and Telegram keyboards a reply `"2"` taps the second option (its id reaches the engine);
//! on SMS and USSD it is the typed text `"2"`, matched by the ladder against the numbers on
//! that page. A fake host answers actions from the fixture (overridable per transcript),
//! follows `go`/return between flows, and treats system keywords as the real pipeline does.
//!
//! ```yaml
//! channels: [whatsapp, sms, ussd, telegram]
//! locale: en
//! fixture: demo
//! steps:
//!   - send: "hi"                       # the first message starts the flow
//!     expect: { choose: pick-service, choices: [deposits, loans, cards] }
//!   - send: "1"
//!     expect:
//!       - { action: queue.join, with: { service: deposits } }
//!       - { say: ticket-issued, args: { ticket: A001, ahead: 0 }, contains: "A001" }
//!       - { end: completed }
//! ```
//!
//! A step sends one of: `send: text`, `pick: key` (choose that key the channel's way),
//! `timeout: true`, `expire: true`, `drop: true` (USSD network drop), `continue: true`;
//! `wait: 3m` moves the clock first. `expect` (one or a list) is matched in order against
//! what the turn produced: says, chooses, asks and the end must all be listed; actions may be
//! listed (then they are checked) or left out.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;
use sq_domain::Channel;

use crate::engine::{self, EndReason, Event, Input, Session, State};
use crate::flow::Flow;
use crate::keywords::KeywordTable;
use crate::ladder::{NAV_BACK_ID, NAV_MORE_ID, Rendered, RenderedPage};
use crate::library::Library;
use crate::messages::{Localizer, Messages, isolates, locale_chain};
use crate::model::Duration;
use crate::render::{HostEnv, Output, Renderer};
use crate::value::{Value, Vars};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transcript {
    pub channels: Vec<Channel>,
    #[serde(default = "default_locale")]
    pub locale: String,
    #[serde(default)]
    pub fixture: Option<String>,
    /// Context overrides (`has_ticket: true`).
    #[serde(default)]
    pub context: Vars,
    /// Action result overrides.
    #[serde(default)]
    pub actions: BTreeMap<String, ActionReply>,
    /// Initial variables (an event-started flow's event data).
    #[serde(default)]
    pub vars: Vars,
    pub steps: Vec<TranscriptStep>,
}

fn default_locale() -> String {
    "en".into()
}

/// What the fake host answers to an action.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionReply {
    pub outcome: String,
    #[serde(default)]
    pub vars: Vars,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TranscriptStep {
    pub send: Option<String>,
    pub pick: Option<String>,
    #[serde(default)]
    pub timeout: bool,
    #[serde(default)]
    pub expire: bool,
    #[serde(default)]
    pub drop: bool,
    #[serde(rename = "continue", default)]
    pub resume: bool,
    pub wait: Option<String>,
    #[serde(default)]
    pub expect: Expectations,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(untagged)]
pub enum Expectations {
    #[default]
    None,
    One(Box<Expect>),
    Many(Vec<Expect>),
}

impl Expectations {
    fn list(&self) -> Vec<&Expect> {
        match self {
            Expectations::None => vec![],
            Expectations::One(e) => vec![e.as_ref()],
            Expectations::Many(v) => v.iter().collect(),
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub say: Option<String>,
    pub choose: Option<String>,
    pub ask: Option<String>,
    pub action: Option<String>,
    pub end: Option<String>,
    /// Message arguments that must be present with these values.
    pub args: Option<Vars>,
    /// Action arguments that must be present with these values.
    pub with: Option<Vars>,
    /// The keys offered, in order.
    pub choices: Option<Vec<String>>,
    /// Text the rendered output must contain on every channel.
    pub contains: Option<String>,
}

/// The fixture file: context and action results of a fake tenant.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    #[serde(default)]
    pub context: Vars,
    #[serde(default)]
    pub actions: BTreeMap<String, ActionReply>,
}

/// A transcript that did not go as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub file: String,
    pub channel: Channel,
    /// 1-based transcript step.
    pub step: usize,
    pub message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} [{}] step {}: {}",
            self.file, self.channel, self.step, self.message
        )
    }
}

pub fn parse(text: &str) -> Result<Transcript, String> {
    yaml_serde::from_str(text).map_err(|e| e.to_string())
}

/// Runs every transcript of every flow of `lib` on each of its channels. `system`: extra
/// fallback messages (`locales/`).
pub fn run_all(lib: &Library, system: &[&Messages]) -> Vec<Failure> {
    let localizers = localizers(lib, system);
    let mut out = Vec::new();
    for flow in &lib.flows {
        for (name, text) in &flow.source.tests {
            let file = format!("{}/{name}", flow.id());
            let t = match parse(text) {
                Ok(t) => t,
                Err(e) => {
                    out.push(Failure {
                        file,
                        channel: Channel::Web,
                        step: 0,
                        message: e,
                    });
                    continue;
                }
            };
            for &ch in &t.channels {
                if let Err(f) = run_with(lib, &localizers, flow.id(), &file, &t, ch) {
                    out.push(f);
                }
            }
        }
    }
    out
}

fn reason_name(r: EndReason) -> String {
    match r {
        EndReason::Completed => "completed".into(),
        EndReason::Expired => "expired".into(),
        EndReason::TimedOut => "timed_out".into(),
        EndReason::Dropped => "dropped".into(),
        EndReason::Interrupted(k) => format!("interrupted:{k}"),
        EndReason::OptedOut => "opted_out".into(),
        EndReason::InvalidInput => "invalid_input".into(),
    }
}

/// Text of a rendered choose page (body and option titles), for `contains`.
fn page_text(p: &RenderedPage) -> String {
    match &p.view {
        Rendered::UssdScreen { text, .. } | Rendered::SmsText { text, .. } => text.clone(),
        Rendered::WhatsAppText { body } => body.clone(),
        Rendered::WhatsAppButtons { body, buttons } => std::iter::once(body.clone())
            .chain(buttons.iter().map(|b| b.title.clone()))
            .collect::<Vec<_>>()
            .join("\n"),
        Rendered::WhatsAppList { body, rows, .. } => std::iter::once(body.clone())
            .chain(rows.iter().map(|r| r.title.clone()))
            .collect::<Vec<_>>()
            .join("\n"),
        Rendered::TelegramMessage {
            text,
            inline_keyboard,
        } => std::iter::once(text.clone())
            .chain(inline_keyboard.iter().flatten().map(|b| b.text.clone()))
            .collect::<Vec<_>>()
            .join("\n"),
        Rendered::WebButtons { prompt, options } | Rendered::WebList { prompt, options } => {
            std::iter::once(prompt.clone())
                .chain(options.iter().map(|o| o.label.clone()))
                .collect::<Vec<_>>()
                .join("\n")
        }
    }
}

/// The ids of tappable options of an interactive page, in order (empty on numbered rungs).
fn tappable(p: &RenderedPage) -> Vec<String> {
    if p.rung.is_numbered() {
        return vec![];
    }
    match &p.view {
        Rendered::WhatsAppButtons { buttons, .. } => buttons.iter().map(|b| b.id.clone()).collect(),
        Rendered::WhatsAppList { rows, .. } => rows.iter().map(|r| r.id.clone()).collect(),
        Rendered::TelegramMessage {
            inline_keyboard, ..
        } => inline_keyboard
            .iter()
            .flatten()
            .map(|b| b.callback_data.clone())
            .filter(|d| d != NAV_MORE_ID && d != NAV_BACK_ID)
            .collect(),
        Rendered::WebButtons { options, .. } | Rendered::WebList { options, .. } => {
            options.iter().map(|o| o.key.clone()).collect()
        }
        _ => vec![],
    }
}

struct Runner<'a> {
    lib: &'a Library,
    localizers: &'a HashMap<String, Localizer>,
    channel: Channel,
    locale: String,
    context: Vars,
    actions: BTreeMap<String, ActionReply>,
    now: DateTime<Utc>,
    log: Vec<String>,
}

impl<'a> Runner<'a> {
    fn flow(&self, id: &str) -> Result<&'a Flow, String> {
        self.lib
            .get(id)
            .ok_or_else(|| format!("unknown flow `{id}`"))
    }

    fn localizer(&self, id: &str) -> Result<&'a Localizer, String> {
        self.localizers
            .get(id)
            .ok_or_else(|| format!("unknown flow `{id}`"))
    }

    /// Runs `input` (or starts) and follows actions and flow changes until the customer's
    /// turn. Returns every event with the flow it belongs to.
    fn turn(
        &mut self,
        session: Option<Session>,
        input: Option<Input>,
        start_flow: &str,
        start_vars: &Vars,
    ) -> Result<(Session, Vec<(String, Event)>), String> {
        let mut all = Vec::new();
        let ctx = {
            let mut c = self.context.clone();
            c.insert("lang".into(), Value::Text(self.locale.clone()));
            c.insert("channel".into(), Value::Text(self.channel.as_str().into()));
            c
        };
        // Events belong to the flow whose definition produced them (a `say` just before a
        // return is the called flow's, though the session is back in the caller's).
        let mut producer = match &session {
            Some(Session {
                state: State::Entering(f),
                ..
            }) => f.clone(),
            Some(s) => s.flow.clone(),
            None => start_flow.to_string(),
        };
        let (mut s, mut ev) = {
            let flow_id = producer.clone();
            let flow = self.flow(&flow_id)?;
            let loc = self.localizer(&flow_id)?;
            let r = Renderer::new(loc, locale_chain(Some(&self.locale), None), self.channel);
            let env = HostEnv {
                now: self.now,
                context: ctx.clone(),
                renderer: &r,
            };
            match (session, input) {
                (None, _) => engine::start_with(&flow.definition, start_vars.clone(), &env),
                (Some(s), Some(i)) => engine::resume(&flow.definition, s, i, &env),
                (Some(_), None) => return Err("nothing to send".into()),
            }
            .map_err(|e| format!("engine: {e}"))?
        };
        for _ in 0..32 {
            let next = match ev.last() {
                Some(Event::Action {
                    request_id,
                    action,
                    args,
                }) => {
                    let reply =
                        self.actions.get(action).cloned().ok_or_else(|| {
                            format!("the fixture has no result for action {action}")
                        })?;
                    let mut vars = reply.vars.clone();
                    if action == "contact.set_language"
                        && let Some((_, Value::Text(l))) = args.iter().find(|(k, _)| k == "lang")
                    {
                        vars.insert("lang".into(), Value::Text(l.clone()));
                        self.locale = l.clone();
                    }
                    Some(Input::ActionResult {
                        request_id: *request_id,
                        outcome: reply.outcome,
                        vars,
                    })
                }
                Some(Event::Go { .. }) => Some(Input::Enter),
                Some(Event::Return { .. }) => Some(Input::Return),
                _ => None,
            };
            let target = match &s.state {
                State::Entering(f) => f.clone(),
                _ => s.flow.clone(),
            };
            all.extend(ev.drain(..).map(|e| (producer.clone(), e)));
            producer = target.clone();
            let Some(input) = next else {
                return Ok((s, all));
            };
            let flow = self.flow(&target)?;
            let loc = self.localizer(&target)?;
            let r = Renderer::new(loc, locale_chain(Some(&self.locale), None), self.channel);
            let mut ctx = ctx.clone();
            ctx.insert("lang".into(), Value::Text(self.locale.clone()));
            let env = HostEnv {
                now: self.now,
                context: ctx,
                renderer: &r,
            };
            let (s2, ev2) = engine::resume(&flow.definition, s, input, &env)
                .map_err(|e| format!("engine: {e}"))?;
            s = s2;
            ev = ev2;
        }
        Err("more than 32 host round trips in one turn".into())
    }

    /// Renders the events for the channel; checks the bidi rule on SMS/USSD.
    fn render(&mut self, events: &[(String, Event)]) -> Result<Vec<(usize, Output)>, String> {
        let mut out = Vec::new();
        for (i, (flow, e)) in events.iter().enumerate() {
            let chain = locale_chain(Some(&self.locale), None);
            let channel = self.channel;
            let loc = self.localizer(flow)?;
            let r = Renderer::new(loc, chain, channel);
            for o in r
                .render(std::slice::from_ref(e))
                .map_err(|e| format!("cannot render: {e}"))?
            {
                let text = match &o {
                    Output::Text { text, .. } => text.clone(),
                    Output::Choose { page, .. } => page_text(page),
                };
                if !isolates(channel) && text.contains(['\u{2068}', '\u{2069}']) {
                    return Err(format!(
                        "bidi isolation marks in {channel} output: {text:?}"
                    ));
                }
                self.log.push(format!("< {}", text.replace('\n', "\n  ")));
                out.push((i, o));
            }
        }
        Ok(out)
    }
}

fn value_eq(a: &Value, b: &Value) -> bool {
    a == b || a.to_string() == b.to_string()
}

fn check(
    expects: &[&Expect],
    events: &[(String, Event)],
    outputs: &[(usize, Output)],
) -> Result<(), String> {
    let describe = |e: &Event| match e {
        Event::Say { message, .. } => format!("say {}", message.id),
        Event::Choose { prompt, .. } => format!("choose {}", prompt.id),
        Event::Ask { prompt, .. } => format!("ask {}", prompt.id),
        Event::Action { action, .. } => format!("action {action}"),
        Event::End { reason, .. } => format!("end {}", reason_name(*reason)),
        other => format!("{other:?}"),
    };
    let visible: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, (_, e))| {
            matches!(
                e,
                Event::Say { .. }
                    | Event::Choose { .. }
                    | Event::Ask { .. }
                    | Event::Action { .. }
                    | Event::End { .. }
            )
        })
        .map(|(i, _)| i)
        .collect();
    let mut at = 0;
    for x in expects {
        loop {
            let Some(&i) = visible.get(at) else {
                return Err(format!("expected {}, but the turn ended", expect_name(x)));
            };
            at += 1;
            let e = &events[i].1;
            let kind_ok = match e {
                Event::Say { message, .. } => x.say.as_deref() == Some(message.id.as_str()),
                Event::Choose { prompt, .. } => x.choose.as_deref() == Some(prompt.id.as_str()),
                Event::Ask { prompt, .. } => x.ask.as_deref() == Some(prompt.id.as_str()),
                Event::Action { action, .. } => x.action.as_deref() == Some(action.as_str()),
                Event::End { reason, .. } => {
                    x.end.as_deref() == Some(reason_name(*reason).as_str())
                }
                _ => false,
            };
            if !kind_ok {
                if matches!(e, Event::Action { .. }) {
                    continue;
                }
                return Err(format!("expected {}, got {}", expect_name(x), describe(e)));
            }
            let args = match e {
                Event::Say { message, .. }
                | Event::Ask {
                    prompt: message, ..
                } => &message.args,
                Event::Choose { prompt, .. } => &prompt.args,
                Event::Action { args, .. } => args,
                _ => &Vec::new(),
            };
            for (k, want) in x.args.iter().chain(x.with.iter()).flatten() {
                match args.iter().find(|(n, _)| n == k) {
                    Some((_, got)) if value_eq(got, want) => {}
                    Some((_, got)) => {
                        return Err(format!("{}: `{k}` is {got}, expected {want}", describe(e)));
                    }
                    None => return Err(format!("{}: no argument `{k}`", describe(e))),
                }
            }
            if let (Some(want), Event::Choose { choices, .. }) = (&x.choices, e) {
                let got: Vec<&str> = choices.iter().map(|c| c.key.as_str()).collect();
                if got != want.iter().map(String::as_str).collect::<Vec<_>>() {
                    return Err(format!(
                        "{}: choices are {got:?}, expected {want:?}",
                        describe(e)
                    ));
                }
            }
            if let Some(want) = &x.contains {
                let text: String = outputs
                    .iter()
                    .filter(|(j, _)| *j == i)
                    .map(|(_, o)| match o {
                        Output::Text { text, .. } => text.clone(),
                        Output::Choose { page, .. } => page_text(page),
                    })
                    .collect();
                // Bidi isolation marks (kept on WhatsApp/Telegram) are not part of the words.
                let text: String = text
                    .chars()
                    .filter(|c| !matches!(c, '\u{2068}' | '\u{2069}'))
                    .collect();
                if !text.contains(want.as_str()) {
                    return Err(format!(
                        "{}: output {text:?} does not contain {want:?}",
                        describe(e)
                    ));
                }
            }
            break;
        }
    }
    if let Some(&i) = visible[at.min(visible.len())..]
        .iter()
        .find(|&&i| !matches!(events[i].1, Event::Action { .. }))
    {
        return Err(format!("unexpected {}", describe(&events[i].1)));
    }
    Ok(())
}

fn expect_name(x: &Expect) -> String {
    [
        ("say", &x.say),
        ("choose", &x.choose),
        ("ask", &x.ask),
        ("action", &x.action),
        ("end", &x.end),
    ]
    .iter()
    .find_map(|(k, v)| v.as_ref().map(|v| format!("{k} {v}")))
    .unwrap_or_else(|| "nothing".into())
}

/// Formatting bundles of every flow of `lib` over its common layer and `system`.
pub fn localizers(lib: &Library, system: &[&Messages]) -> HashMap<String, Localizer> {
    let mut layers = vec![&lib.common];
    layers.extend_from_slice(system);
    lib.flows
        .iter()
        .map(|f| (f.id().to_string(), f.localizer(&layers)))
        .collect()
}

/// Runs one transcript of `flow_id` on `channel`. Returns the conversation log.
pub fn run(
    lib: &Library,
    system: &[&Messages],
    flow_id: &str,
    file: &str,
    t: &Transcript,
    channel: Channel,
) -> Result<Vec<String>, Failure> {
    run_with(lib, &localizers(lib, system), flow_id, file, t, channel)
}

/// [`run`] with bundles built once ([`localizers`]).
pub fn run_with(
    lib: &Library,
    localizers: &HashMap<String, Localizer>,
    flow_id: &str,
    file: &str,
    t: &Transcript,
    channel: Channel,
) -> Result<Vec<String>, Failure> {
    let fail = |step: usize, message: String| Failure {
        file: file.to_string(),
        channel,
        step,
        message,
    };
    let fixture: Fixture = match &t.fixture {
        None => Fixture::default(),
        Some(name) => {
            let text = lib
                .fixtures
                .get(name)
                .ok_or_else(|| fail(0, format!("unknown fixture `{name}`")))?;
            yaml_serde::from_str(text).map_err(|e| fail(0, format!("fixture `{name}`: {e}")))?
        }
    };
    let mut context = fixture.context;
    context.extend(t.context.clone());
    let mut actions = fixture.actions;
    actions.extend(t.actions.clone());
    let mut r = Runner {
        lib,
        localizers,
        channel,
        locale: t.locale.clone(),
        context,
        actions,
        now: Utc
            .with_ymd_and_hms(2025, 3, 14, 9, 0, 0)
            .single()
            .unwrap_or_default(),
        log: Vec::new(),
    };
    let mut session: Option<Session> = None;
    let mut last_page: Option<RenderedPage> = None;
    for (n, step) in t.steps.iter().enumerate() {
        let n = n + 1;
        if let Some(w) = &step.wait {
            let d = Duration::parse(w).map_err(|e| fail(n, e))?;
            r.now += d.to_chrono();
        }
        let input = match &session {
            None => {
                r.log
                    .push(format!("> {}", step.send.clone().unwrap_or_default()));
                None
            }
            Some(s) => Some(if step.timeout {
                r.now = r.now.max(s.timeout_at.unwrap_or(r.now));
                r.log.push("> (timeout)".into());
                Input::Timeout
            } else if step.expire {
                r.now = r.now.max(s.expires_at.unwrap_or(r.now));
                r.log.push("> (expired)".into());
                Input::Expired
            } else if step.drop {
                Input::Dropped
            } else if step.resume {
                Input::Continue
            } else if let Some(key) = &step.pick {
                let page = last_page
                    .as_ref()
                    .ok_or_else(|| fail(n, "`pick` but no choice is shown".into()))?;
                r.log.push(format!("> (pick {key})"));
                if page.rung.is_numbered() {
                    let num = page
                        .numbers
                        .iter()
                        .find(|x| &x.key == key)
                        .ok_or_else(|| fail(n, format!("`{key}` is not on this page")))?;
                    Input::Text(num.number.to_string())
                } else {
                    Input::Choice(key.clone())
                }
            } else if let Some(text) = &step.send {
                r.log.push(format!("> {text}"));
                let def = &r.flow(&s.flow).map_err(|e| fail(n, e))?.definition;
                if let Some(k) = KeywordTable::builtin().preempts(text, &def.let_through) {
                    Input::Keyword(k)
                } else {
                    // Tapping the n-th option where the channel shows buttons or a list.
                    let taps = last_page.as_ref().map(tappable).unwrap_or_default();
                    match crate::ladder::fold(text).parse::<usize>() {
                        Ok(i) if (1..=taps.len()).contains(&i) => {
                            Input::Choice(taps[i - 1].clone())
                        }
                        _ => Input::Text(text.clone()),
                    }
                }
            } else {
                return Err(fail(
                    n,
                    "a step needs `send`, `pick`, `timeout`, `expire`, `drop` or `continue`".into(),
                ));
            }),
        };
        let (s, events) = r
            .turn(session.take(), input, flow_id, &t.vars)
            .map_err(|e| fail(n, e))?;
        let outputs = r.render(&events).map_err(|e| fail(n, e))?;
        last_page = outputs.iter().rev().find_map(|(_, o)| match o {
            Output::Choose { page, .. } => Some(page.clone()),
            _ => None,
        });
        check(&step.expect.list(), &events, &outputs).map_err(|e| fail(n, e))?;
        session = Some(s);
    }
    Ok(r.log)
}
