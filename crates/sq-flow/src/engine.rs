//! The pure engine: `(definition, session, input, env) -> (session, events)`.
//!
//! No clock, randomness or IO: the host gives the time, the channel and its context through
//! [`Env`], and everything that touches the world is *requested*: a `do` step emits
//! [`Event::Action`] and stops with the session awaiting that request; the host runs the
//! action and resumes with [`Input::ActionResult`]. Timers are inputs too ([`Input::Timeout`],
//! [`Input::Expired`]), checked against the session's deadlines so a stale timer is a no-op.
//!
//! A turn runs at most [`MAX_STEPS_PER_TURN`] steps. Validation rejects loops that never wait;
//! the limit is the run-time backstop (a definition that skipped validation, a branch whose
//! conditions the host's data keep true).
//!
//! Flows call flows with `go`: the engine emits [`Event::Go`] and the host resumes with the
//! other definition and [`Input::Enter`]; when a called flow completes, the caller's frame is
//! restored and the host resumes with the caller's pinned version and [`Input::Return`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sq_domain::Channel;

use crate::keywords::{Keyword, KeywordTable};
use crate::ladder::{Reply, ReplyMatch};
use crate::model::*;
use crate::value::{Args, Item, Value, Vars};

/// Steps one turn may run before the engine gives up.
pub const MAX_STEPS_PER_TURN: usize = 64;
/// How deep `go … return` may nest.
pub const MAX_FLOW_DEPTH: usize = 4;

/// What the engine needs from the host for one turn. Implementations must be pure in the
/// sense that matters here: answers depend only on their own state, not on when or how often
/// they are asked.
pub trait Env {
    fn now(&self) -> DateTime<Utc>;
    fn channel(&self) -> Channel;
    /// A context variable the host provides (the site's name, its open `services`, the tenant's
    /// `feedback_scale`...; see [`crate::catalog::CONTEXT`]). Session variables shadow it.
    fn context(&self, name: &str) -> Option<Value>;
    /// What a reply to a `choose` step means, as the channel rendered it. The host's
    /// implementation formats the labels and asks the choice ladder
    /// ([`crate::render::Renderer::match_reply`]); the default matches keys and unpaged
    /// numbers only.
    fn match_reply(&self, view: &ChooseView<'_>, reply: &Reply) -> ReplyMatch {
        default_match(view, reply)
    }
    /// Yes/no words for `ask` steps of type `yes_no`.
    fn yes_no(&self, text: &str) -> Option<bool> {
        KeywordTable::builtin().yes_no(text)
    }
}

/// A `choose` step as shown: what [`Env::match_reply`] matches a reply against.
#[derive(Clone, Copy, Debug)]
pub struct ChooseView<'a> {
    pub step: &'a str,
    pub prompt: &'a Msg,
    pub choices: &'a [ChoiceOut],
    pub page: usize,
}

/// Keys (exact, or case-insensitively typed) and 1-based positions. Used when the host has no
/// ladder at hand (tests of the engine alone).
pub fn default_match(view: &ChooseView<'_>, reply: &Reply) -> ReplyMatch {
    let (text, exact) = match reply {
        Reply::ButtonId(id) => (id.as_str(), true),
        Reply::Text(t) => (t.trim(), false),
    };
    if let Some(c) = view.choices.iter().find(|c| c.key == text) {
        return ReplyMatch::Chosen(c.key.clone());
    }
    if !exact {
        if let Some(c) = view
            .choices
            .iter()
            .find(|c| c.key.eq_ignore_ascii_case(text))
        {
            return ReplyMatch::Chosen(c.key.clone());
        }
        if let Ok(n) = text.parse::<usize>()
            && (1..=view.choices.len()).contains(&n)
        {
            return ReplyMatch::Chosen(view.choices[n - 1].key.clone());
        }
    }
    ReplyMatch::NoMatch
}

/// A message to show: a Fluent id and the arguments it uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Msg {
    pub id: String,
    pub args: Args,
}

/// A choice's label: a Fluent message (static choices) or text (dynamic sources).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    Message(Msg),
    Text(String),
}

/// One choice of a `choose` event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChoiceOut {
    pub key: String,
    pub label: Label,
    pub short: Option<Msg>,
    /// Fluent id of comma-separated extra words.
    pub synonyms: Option<String>,
    /// Secondary text of a dynamic item.
    pub detail: Option<String>,
}

/// What the host must do after a turn, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Say {
        step: StepId,
        message: Msg,
    },
    Choose {
        step: StepId,
        prompt: Msg,
        choices: Vec<ChoiceOut>,
        page: usize,
    },
    Ask {
        step: StepId,
        prompt: Msg,
        input: String,
    },
    /// Run `action` and resume with [`Input::ActionResult`] carrying `request_id`.
    Action {
        request_id: u32,
        action: String,
        args: Args,
    },
    /// The session now waits for the customer. Schedule `timeout_at` (if any) and
    /// `expires_at`; deliver them as [`Input::Timeout`] / [`Input::Expired`].
    Wait {
        step: StepId,
        timeout_at: Option<DateTime<Utc>>,
        expires_at: DateTime<Utc>,
    },
    /// Load the latest published `flow` and resume with [`Input::Enter`].
    Go {
        flow: String,
    },
    /// Load `flow` at `version` (the caller's pinned version) and resume with [`Input::Return`].
    Return {
        flow: String,
        version: u32,
    },
    End {
        step: StepId,
        reason: EndReason,
    },
}

/// What the host feeds the engine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Input {
    /// Typed text.
    Text(String),
    /// A button/list/callback id, or a key the host already matched.
    Choice(String),
    ActionResult {
        request_id: u32,
        outcome: String,
        vars: Vars,
    },
    /// The step timer fired.
    Timeout,
    /// The `expire_after` timer fired.
    Expired,
    /// A system keyword preempted the flow ([`KeywordTable::preempts`]).
    Keyword(Keyword),
    /// The USSD network ended the session mid-flow.
    Dropped,
    /// The customer came back after a drop ("continue where you left off").
    Continue,
    /// The host loaded the flow named by [`Event::Go`].
    Enter,
    /// The host loaded the flow named by [`Event::Return`].
    Return,
}

/// How a session ended (the supervisor's funnel).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    Completed,
    Expired,
    TimedOut,
    Dropped,
    Interrupted(Keyword),
    OptedOut,
    /// Too many replies that did not fit, and the step had no `invalid.next`.
    InvalidInput,
}

/// Where and when a session ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ending {
    #[serde(rename = "r")]
    pub reason: EndReason,
    /// The step it ended at ("expired at pick_service").
    #[serde(rename = "s")]
    pub step: StepId,
    #[serde(rename = "t", with = "chrono::serde::ts_seconds")]
    pub at: DateTime<Utc>,
}

/// Where a session is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    /// At a `choose`/`ask` step, waiting for the customer.
    #[serde(rename = "w")]
    Waiting,
    /// At a `do` step, waiting for the result of request `0`.
    #[serde(rename = "a")]
    Action(u32),
    /// After `go`: waiting for the host to load this flow.
    #[serde(rename = "g")]
    Entering(String),
    /// A called flow completed; the caller's frame is restored.
    #[serde(rename = "r")]
    Returning,
    #[serde(rename = "e")]
    Ended,
}

/// A caller's place while a called flow runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    #[serde(rename = "f")]
    pub flow: String,
    #[serde(rename = "v")]
    pub version: u32,
    /// The step to continue at.
    #[serde(rename = "s")]
    pub step: StepId,
    #[serde(rename = "x", default, skip_serializing_if = "Vars::is_empty")]
    pub vars: Vars,
}

fn is_zero<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// One conversation's state. Serialised with short field names (it is stored per contact and
/// read on every message): a waiting join-queue session is about 100 bytes of JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The pinned flow and version.
    #[serde(rename = "f")]
    pub flow: String,
    #[serde(rename = "v")]
    pub version: u32,
    #[serde(rename = "s")]
    pub step: StepId,
    #[serde(rename = "q")]
    pub state: State,
    #[serde(rename = "x", default, skip_serializing_if = "Vars::is_empty")]
    pub vars: Vars,
    /// Page of a paged `choose` step.
    #[serde(rename = "p", default, skip_serializing_if = "is_zero")]
    pub page: usize,
    /// Invalid replies so far at this step.
    #[serde(rename = "i", default, skip_serializing_if = "is_zero")]
    pub retries: u8,
    /// Last action request id.
    #[serde(rename = "n", default, skip_serializing_if = "is_zero")]
    pub seq: u32,
    #[serde(
        rename = "t",
        default,
        with = "chrono::serde::ts_seconds_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub timeout_at: Option<DateTime<Utc>>,
    #[serde(
        rename = "e",
        default,
        with = "chrono::serde::ts_seconds_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(rename = "k", default, skip_serializing_if = "Vec::is_empty")]
    pub stack: Vec<Frame>,
    #[serde(rename = "o", default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<Ending>,
}

impl Session {
    pub fn is_ended(&self) -> bool {
        self.state == State::Ended
    }
}

/// Why a turn could not run. The session given to the failed call should be kept as it was.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("session is pinned to {expected}, not {got}")]
    WrongDefinition { expected: String, got: String },
    #[error("the session has ended")]
    Ended,
    #[error("input {input} does not apply while the session is {state}")]
    UnexpectedInput {
        state: &'static str,
        input: &'static str,
    },
    #[error("result for request {got}, but the session awaits {expected:?}")]
    UnknownRequest { expected: Option<u32>, got: u32 },
    #[error("step `{step}`: outcome `{outcome}` of {action} is not handled")]
    UnhandledOutcome {
        step: StepId,
        action: String,
        outcome: String,
    },
    #[error("step `{step}` does not exist")]
    UnknownStep { step: StepId },
    #[error("step `{step}`: more than {MAX_STEPS_PER_TURN} steps without waiting")]
    StepLimit { step: StepId },
    #[error("step `{step}`: choice source `{source_var}` is not set")]
    SourceMissing { step: StepId, source_var: String },
    #[error("step `{step}`: no choices to show")]
    NoChoices { step: StepId },
    #[error("step `{step}`: flows nest more than {MAX_FLOW_DEPTH} deep")]
    FlowDepth { step: StepId },
}

impl EngineError {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::WrongDefinition { .. } => "wrong_definition",
            EngineError::Ended => "session_ended",
            EngineError::UnexpectedInput { .. } => "unexpected_input",
            EngineError::UnknownRequest { .. } => "unknown_request",
            EngineError::UnhandledOutcome { .. } => "unhandled_outcome",
            EngineError::UnknownStep { .. } => "unknown_step",
            EngineError::StepLimit { .. } => "step_limit",
            EngineError::SourceMissing { .. } => "source_missing",
            EngineError::NoChoices { .. } => "no_choices",
            EngineError::FlowDepth { .. } => "flow_depth",
        }
    }
}

type Turn = Result<(Session, Vec<Event>), EngineError>;

/// Starts a session of `def` at its `start` step.
pub fn start<E: Env + ?Sized>(def: &FlowDefinition, env: &E) -> Turn {
    start_with(def, Vars::new(), env)
}

/// Starts with initial variables (an event-started flow gets the event's: `ticket`, ...).
pub fn start_with<E: Env + ?Sized>(def: &FlowDefinition, vars: Vars, env: &E) -> Turn {
    let mut s = Session {
        flow: def.flow.clone(),
        version: def.version,
        step: def.start.clone(),
        state: State::Waiting,
        vars,
        page: 0,
        retries: 0,
        seq: 0,
        timeout_at: None,
        expires_at: None,
        stack: Vec::new(),
        ended: None,
    };
    let mut ev = Vec::with_capacity(4);
    let first = def.start.clone();
    run(def, &mut s, env, &mut ev, first)?;
    Ok((s, ev))
}

fn input_name(i: &Input) -> &'static str {
    match i {
        Input::Text(_) => "text",
        Input::Choice(_) => "choice",
        Input::ActionResult { .. } => "action_result",
        Input::Timeout => "timeout",
        Input::Expired => "expired",
        Input::Keyword(_) => "keyword",
        Input::Dropped => "dropped",
        Input::Continue => "continue",
        Input::Enter => "enter",
        Input::Return => "return",
    }
}

fn state_name(s: &State) -> &'static str {
    match s {
        State::Waiting => "waiting",
        State::Action(_) => "awaiting an action",
        State::Entering(_) => "entering a flow",
        State::Returning => "returning from a flow",
        State::Ended => "ended",
    }
}

/// Feeds one input to a session.
pub fn resume<E: Env + ?Sized>(
    def: &FlowDefinition,
    mut s: Session,
    input: Input,
    env: &E,
) -> Turn {
    let mut ev = Vec::with_capacity(4);
    // `Enter` is the one input given a definition the session is not pinned to yet.
    if let (State::Entering(flow), Input::Enter) = (&s.state, &input) {
        if *flow != def.flow {
            return Err(EngineError::WrongDefinition {
                expected: flow.clone(),
                got: def.flow.clone(),
            });
        }
        s.flow = def.flow.clone();
        s.version = def.version;
        let first = def.start.clone();
        run(def, &mut s, env, &mut ev, first)?;
        return Ok((s, ev));
    }
    if s.flow != def.flow || s.version != def.version {
        return Err(EngineError::WrongDefinition {
            expected: format!("{}@{}", s.flow, s.version),
            got: format!("{}@{}", def.flow, def.version),
        });
    }
    let unexpected = |s: &Session, i: &Input| EngineError::UnexpectedInput {
        state: state_name(&s.state),
        input: input_name(i),
    };
    match (&s.state, input) {
        (State::Ended, Input::Continue)
            if s.ended
                .as_ref()
                .is_some_and(|e| e.reason == EndReason::Dropped) =>
        {
            s.ended = None;
            s.state = State::Waiting;
            present(def, &mut s, env, &mut ev)?;
        }
        // Stale timers and repeated drops after the end are harmless.
        (State::Ended, Input::Timeout | Input::Expired | Input::Dropped) => {}
        (State::Ended, _) => return Err(EngineError::Ended),
        (_, Input::Keyword(k)) => {
            let reason = if k == Keyword::Stop {
                EndReason::OptedOut
            } else {
                EndReason::Interrupted(k)
            };
            end(&mut s, reason, env, &mut ev);
        }
        (State::Waiting | State::Action(_), Input::Expired) => {
            if s.expires_at.is_some_and(|t| env.now() >= t) {
                end(&mut s, EndReason::Expired, env, &mut ev);
            }
        }
        (State::Waiting, Input::Timeout) => {
            if s.timeout_at.is_some_and(|t| env.now() >= t) {
                let step = step_of(def, &s.step)?;
                match step.timeout.as_ref().and_then(|t| t.next.clone()) {
                    Some(next) => run(def, &mut s, env, &mut ev, next)?,
                    None => end(&mut s, EndReason::TimedOut, env, &mut ev),
                }
            }
        }
        (_, Input::Timeout | Input::Expired) => {}
        (State::Waiting, Input::Dropped) => end(&mut s, EndReason::Dropped, env, &mut ev),
        (State::Waiting, i @ (Input::Text(_) | Input::Choice(_))) => {
            reply(def, &mut s, env, &mut ev, i)?;
        }
        (
            State::Action(id),
            Input::ActionResult {
                request_id,
                outcome,
                vars,
            },
        ) => {
            if *id != request_id {
                return Err(EngineError::UnknownRequest {
                    expected: Some(*id),
                    got: request_id,
                });
            }
            let step = step_of(def, &s.step)?;
            let StepKind::Do(d) = &step.kind else {
                return Err(EngineError::UnknownStep {
                    step: s.step.clone(),
                });
            };
            let Some(next) = d.on.get(&outcome).or_else(|| d.on.get("else")) else {
                return Err(EngineError::UnhandledOutcome {
                    step: s.step.clone(),
                    action: d.action.clone(),
                    outcome,
                });
            };
            let next = next.clone();
            s.vars.extend(vars);
            run(def, &mut s, env, &mut ev, next)?;
        }
        (_, Input::ActionResult { request_id, .. }) => {
            return Err(EngineError::UnknownRequest {
                expected: None,
                got: request_id,
            });
        }
        (State::Returning, Input::Return) => {
            let next = s.step.clone();
            run(def, &mut s, env, &mut ev, next)?;
        }
        (_, i) => return Err(unexpected(&s, &i)),
    }
    Ok((s, ev))
}

fn step_of<'d>(def: &'d FlowDefinition, id: &str) -> Result<&'d Step, EngineError> {
    def.steps.get(id).ok_or_else(|| EngineError::UnknownStep {
        step: id.to_string(),
    })
}

fn end<E: Env + ?Sized>(s: &mut Session, reason: EndReason, env: &E, ev: &mut Vec<Event>) {
    s.state = State::Ended;
    s.ended = Some(Ending {
        reason,
        step: s.step.clone(),
        at: env.now(),
    });
    s.stack.clear();
    s.timeout_at = None;
    s.expires_at = None;
    ev.push(Event::End {
        step: s.step.clone(),
        reason,
    });
}

/// Runs from `target` until the session waits, requests something or ends.
fn run<E: Env + ?Sized>(
    def: &FlowDefinition,
    s: &mut Session,
    env: &E,
    ev: &mut Vec<Event>,
    mut target: StepId,
) -> Result<(), EngineError> {
    for _ in 0..MAX_STEPS_PER_TURN {
        s.step = target;
        s.page = 0;
        s.retries = 0;
        s.timeout_at = None;
        let step = step_of(def, &s.step)?;
        match &step.kind {
            StepKind::Say { message, then } => {
                ev.push(Event::Say {
                    step: s.step.clone(),
                    message: msg(def, s, env, message, &[]),
                });
                match then {
                    Then::Next(n) => target = n.clone(),
                    Then::End => return finish(s, env, ev),
                }
            }
            StepKind::Choose(_) | StepKind::Ask(_) => {
                s.state = State::Waiting;
                return present(def, s, env, ev);
            }
            StepKind::Do(d) => {
                s.seq += 1;
                let args = d
                    .with
                    .iter()
                    .filter_map(|(k, a)| {
                        let v = match a {
                            Arg::Lit(v) => Some(v.clone()),
                            Arg::Var(n) => lookup(s, env, n),
                        };
                        v.map(|v| (k.clone(), v))
                    })
                    .collect();
                ev.push(Event::Action {
                    request_id: s.seq,
                    action: d.action.clone(),
                    args,
                });
                s.state = State::Action(s.seq);
                return Ok(());
            }
            StepKind::Branch(b) => {
                let look = |n: &str| lookup(s, env, n);
                target = b
                    .arms
                    .iter()
                    .find(|(cond, _)| cond.eval(&look))
                    .map_or_else(|| b.otherwise.clone(), |(_, n)| n.clone());
            }
            StepKind::Go(g) => {
                if s.stack.len() >= MAX_FLOW_DEPTH {
                    return Err(EngineError::FlowDepth {
                        step: s.step.clone(),
                    });
                }
                let vars = std::mem::take(&mut s.vars);
                if let Some(r) = &g.return_to {
                    s.stack.push(Frame {
                        flow: s.flow.clone(),
                        version: s.version,
                        step: r.clone(),
                        vars,
                    });
                }
                s.state = State::Entering(g.flow.clone());
                ev.push(Event::Go {
                    flow: g.flow.clone(),
                });
                return Ok(());
            }
            StepKind::End { message } => {
                if let Some(m) = message {
                    ev.push(Event::Say {
                        step: s.step.clone(),
                        message: msg(def, s, env, m, &[]),
                    });
                }
                return finish(s, env, ev);
            }
        }
    }
    Err(EngineError::StepLimit {
        step: s.step.clone(),
    })
}

/// The flow completed: return to a caller, or end the session.
fn finish<E: Env + ?Sized>(
    s: &mut Session,
    env: &E,
    ev: &mut Vec<Event>,
) -> Result<(), EngineError> {
    match s.stack.pop() {
        Some(f) => {
            s.flow = f.flow;
            s.version = f.version;
            s.step = f.step;
            s.vars = f.vars;
            s.state = State::Returning;
            ev.push(Event::Return {
                flow: s.flow.clone(),
                version: s.version,
            });
        }
        None => end(s, EndReason::Completed, env, ev),
    }
    Ok(())
}

fn lookup<E: Env + ?Sized>(s: &Session, env: &E, name: &str) -> Option<Value> {
    s.vars.get(name).cloned().or_else(|| env.context(name))
}

/// A message with the arguments it uses: session variables, then context, then `extra`
/// (step-supplied: `min`/`max` of an `ask`).
fn msg<E: Env + ?Sized>(
    def: &FlowDefinition,
    s: &Session,
    env: &E,
    id: &str,
    extra: &[(&str, Value)],
) -> Msg {
    let args = match def.message_args(id) {
        Some(names) => names
            .iter()
            .filter_map(|n| {
                extra
                    .iter()
                    .find(|(k, _)| k == n)
                    .map(|(_, v)| v.clone())
                    .or_else(|| lookup(s, env, n))
                    .map(|v| (n.clone(), v))
            })
            .collect(),
        // Messages not attached (engine tests): pass every session variable.
        None => s
            .vars
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .chain(extra.iter().map(|(k, v)| (k.to_string(), v.clone())))
            .collect(),
    };
    Msg {
        id: id.to_string(),
        args,
    }
}

fn ask_extra(input: &InputKind) -> Vec<(&'static str, Value)> {
    let (lo, hi) = match input {
        InputKind::Text { min, max } => (min.map(i64::from), max.map(i64::from)),
        InputKind::Number { min, max } => (*min, *max),
        _ => (None, None),
    };
    lo.map(|v| ("min", Value::Int(v)))
        .into_iter()
        .chain(hi.map(|v| ("max", Value::Int(v))))
        .collect()
}

/// The choices a `choose` step shows now.
pub fn choices_of<E: Env + ?Sized>(
    def: &FlowDefinition,
    s: &Session,
    env: &E,
    c: &Choose,
) -> Result<Vec<ChoiceOut>, EngineError> {
    let out: Vec<ChoiceOut> = match &c.source {
        Source::Static(list) => {
            let look = |n: &str| lookup(s, env, n);
            list.iter()
                .filter(|ch| ch.when.as_ref().is_none_or(|w| w.eval(&look)))
                .map(|ch| ChoiceOut {
                    key: ch.key.clone(),
                    label: Label::Message(msg(def, s, env, &ch.label, &[])),
                    short: ch.short.as_ref().map(|m| msg(def, s, env, m, &[])),
                    synonyms: ch.synonyms.clone(),
                    detail: None,
                })
                .collect()
        }
        Source::From(var) => {
            let items: Vec<Item> = match lookup(s, env, var) {
                Some(Value::List(l)) => l,
                _ => {
                    return Err(EngineError::SourceMissing {
                        step: s.step.clone(),
                        source_var: var.clone(),
                    });
                }
            };
            items
                .into_iter()
                .map(|it| ChoiceOut {
                    key: it.key,
                    label: Label::Text(it.label),
                    short: None,
                    synonyms: None,
                    detail: it.detail,
                })
                .collect()
        }
    };
    if out.is_empty() {
        return Err(EngineError::NoChoices {
            step: s.step.clone(),
        });
    }
    Ok(out)
}

/// Shows the current waiting step (again) and waits.
fn present<E: Env + ?Sized>(
    def: &FlowDefinition,
    s: &mut Session,
    env: &E,
    ev: &mut Vec<Event>,
) -> Result<(), EngineError> {
    let step = step_of(def, &s.step)?;
    match &step.kind {
        StepKind::Choose(c) => {
            let choices = choices_of(def, s, env, c)?;
            ev.push(Event::Choose {
                step: s.step.clone(),
                prompt: msg(def, s, env, &c.prompt, &[]),
                choices,
                page: s.page,
            });
        }
        StepKind::Ask(a) => {
            ev.push(Event::Ask {
                step: s.step.clone(),
                prompt: msg(def, s, env, &a.prompt, &ask_extra(&a.input)),
                input: a.input.name().to_string(),
            });
        }
        _ => {
            return Err(EngineError::UnknownStep {
                step: s.step.clone(),
            });
        }
    }
    let now = env.now();
    // USSD: the network ends idle sessions itself, and a timer could not reach the phone.
    s.timeout_at = match (&step.timeout, env.channel()) {
        (_, Channel::Ussd) | (None, _) => None,
        (Some(t), _) => Some(now + t.after.to_chrono()),
    };
    let expires_at = now + def.expire_after.to_chrono();
    s.expires_at = Some(expires_at);
    s.state = State::Waiting;
    ev.push(Event::Wait {
        step: s.step.clone(),
        timeout_at: s.timeout_at,
        expires_at,
    });
    Ok(())
}

/// A reply at a waiting step.
fn reply<E: Env + ?Sized>(
    def: &FlowDefinition,
    s: &mut Session,
    env: &E,
    ev: &mut Vec<Event>,
    input: Input,
) -> Result<(), EngineError> {
    let step = step_of(def, &s.step)?;
    match &step.kind {
        StepKind::Choose(c) => {
            let choices = choices_of(def, s, env, c)?;
            let prompt = msg(def, s, env, &c.prompt, &[]);
            let r = match input {
                Input::Choice(k) => Reply::ButtonId(k),
                Input::Text(t) => Reply::Text(t),
                _ => return Ok(()),
            };
            let view = ChooseView {
                step: &s.step,
                prompt: &prompt,
                choices: &choices,
                page: s.page,
            };
            match env.match_reply(&view, &r) {
                ReplyMatch::Chosen(key) => {
                    let Some(choice) = choices.iter().find(|ch| ch.key == key) else {
                        return invalid(def, s, env, ev, &c.invalid, "invalid-choice", &[]);
                    };
                    if let Label::Text(label) = &choice.label {
                        s.vars
                            .insert(format!("{}_label", c.save), Value::Text(label.clone()));
                    }
                    let next = match &c.next {
                        Next::One(n) => n.clone(),
                        Next::ByKey(m) => {
                            m.get(&key)
                                .cloned()
                                .ok_or_else(|| EngineError::UnknownStep {
                                    step: format!("{}/next/{key}", s.step),
                                })?
                        }
                    };
                    s.vars.insert(c.save.clone(), Value::Text(key));
                    run(def, s, env, ev, next)
                }
                ReplyMatch::NextPage => {
                    s.page += 1;
                    present(def, s, env, ev)
                }
                ReplyMatch::PrevPage => {
                    s.page = s.page.saturating_sub(1);
                    present(def, s, env, ev)
                }
                ReplyMatch::NoMatch => invalid(def, s, env, ev, &c.invalid, "invalid-choice", &[]),
            }
        }
        StepKind::Ask(a) => {
            let text = match input {
                Input::Text(t) | Input::Choice(t) => t,
                _ => return Ok(()),
            };
            match parse_answer(&a.input, &text, env) {
                Some(v) => {
                    s.vars.insert(a.save.clone(), v);
                    let next = a.next.clone();
                    run(def, s, env, ev, next)
                }
                None => invalid(
                    def,
                    s,
                    env,
                    ev,
                    &a.invalid,
                    "invalid-input",
                    &ask_extra(&a.input),
                ),
            }
        }
        _ => Err(EngineError::UnknownStep {
            step: s.step.clone(),
        }),
    }
}

fn invalid<E: Env + ?Sized>(
    def: &FlowDefinition,
    s: &mut Session,
    env: &E,
    ev: &mut Vec<Event>,
    inv: &Invalid,
    default_message: &str,
    extra: &[(&str, Value)],
) -> Result<(), EngineError> {
    s.retries = s.retries.saturating_add(1);
    if s.retries > inv.retries {
        return match &inv.next {
            Some(n) => run(def, s, env, ev, n.clone()),
            None => {
                end(s, EndReason::InvalidInput, env, ev);
                Ok(())
            }
        };
    }
    let id = inv.message.as_deref().unwrap_or(default_message);
    ev.push(Event::Say {
        step: s.step.clone(),
        message: msg(def, s, env, id, extra),
    });
    present(def, s, env, ev)
}

/// Digits of other scripts (Arabic-Indic, Persian) as ASCII, spaces dropped.
fn ascii_digits(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '\u{0660}'..='\u{0669}' => char::from(b'0' + (c as u32 - 0x0660) as u8),
            '\u{06F0}'..='\u{06F9}' => char::from(b'0' + (c as u32 - 0x06F0) as u8),
            _ => c,
        })
        .collect()
}

/// Parses an `ask` answer; `None` if it does not fit.
pub fn parse_answer<E: Env + ?Sized>(kind: &InputKind, text: &str, env: &E) -> Option<Value> {
    let t = text.trim();
    match kind {
        InputKind::Text { min, max } => {
            let n = t.chars().count() as u32;
            (n >= min.unwrap_or(1) && n <= max.unwrap_or(500)).then(|| Value::Text(t.to_string()))
        }
        InputKind::Number { min, max } => {
            let n: i64 = ascii_digits(t).parse().ok()?;
            (min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m)).then_some(Value::Int(n))
        }
        InputKind::Phone => {
            let p: sq_domain::PhoneNumber = ascii_digits(t).parse().ok()?;
            Some(Value::Text(p.as_str().to_string()))
        }
        InputKind::Date => {
            let d = ascii_digits(t);
            let date = ["%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"]
                .iter()
                .find_map(|f| chrono::NaiveDate::parse_from_str(&d, f).ok())?;
            Some(Value::Text(date.format("%Y-%m-%d").to_string()))
        }
        InputKind::Time => {
            let d = ascii_digits(t).replace(['h', 'H', '.'], ":");
            let time = chrono::NaiveTime::parse_from_str(&d, "%H:%M").ok()?;
            Some(Value::Text(time.format("%H:%M").to_string()))
        }
        InputKind::YesNo => env.yes_no(t).map(Value::Bool),
    }
}
