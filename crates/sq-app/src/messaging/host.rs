//! One conversation turn: the engine host. It feeds the customer's input to the pure
//! engine, runs the actions it requests against the queue core (the same use cases as the
//! API, acting as the contact), follows `go`/`return` between flows, and renders what the
//! engine said for the channel with the choice ladder. Nothing is written until
//! [`Outcome::commit`], which stores session, replies and the ticket's origin at once.

use super::{Hook, Messaging, address_of};
use crate::auth::Principal;
use crate::{AppError, RequestMeta, Result};
use chrono::{DateTime, Utc};
use sq_channels::{
    Address, ConsentChange, InboundEvent, InboundKind, OutboundBody, OutboundMessage, UssdReply,
};
use sq_domain::auth::Scope;
use sq_domain::model::QueueStatus;
use sq_domain::ticket::{Actor, Ticket, TicketAction, TicketStatus};
use sq_domain::{Channel, TicketId};
use sq_flow::engine::{self, EndReason, Event, Input, Session, State};
use sq_flow::keywords::{Keyword, KeywordTable};
use sq_flow::ladder::Rendered;
use sq_flow::messages::locale_chain;
use sq_flow::render::{HostEnv, Output, Renderer};
use sq_flow::{Item, Value, Vars};
use sq_store::{ContactInput, Conversation, IssueTicket, NewOutbound, OutboundClass, TurnCommit};

/// Engine ↔ host round trips one turn may take (actions, flow changes).
const MAX_HOPS: usize = 32;

/// The languages a customer may choose, with their endonyms.
const LANGUAGES: [(&str, &str); 5] = [
    ("en", "English"),
    ("fr", "Français"),
    ("ar", "العربية"),
    ("sw", "Kiswahili"),
    ("pt", "Português"),
];

pub(crate) struct Turn<'m> {
    m: &'m Messaging,
    hook: &'m Hook,
    conv: Conversation,
    address: Address,
    phone: Option<sq_domain::PhoneNumber>,
    locale: String,
    now: DateTime<Utc>,
    /// The ticket this turn issued or found (its notifications go to this conversation).
    issued: Option<TicketId>,
    /// Variables a flow started by an event gets (`ticket`, `service_name`…).
    start_vars: Vars,
}

/// What a turn produced, not yet stored.
pub(crate) struct Outcome {
    conv: Conversation,
    address: Address,
    session: Option<Session>,
    locale: String,
    opted_out: bool,
    /// Rendered outputs in order, for the channel.
    outputs: Vec<Output>,
    /// Sent before the outputs (Telegram's answerCallbackQuery).
    before: Vec<OutboundBody>,
    origin: Option<TicketId>,
    ended: bool,
    /// The session is a dropped USSD session offered for resumption (stored wrapped).
    offer: bool,
    now: DateTime<Utc>,
}

impl<'m> Turn<'m> {
    pub(crate) async fn load(m: &'m Messaging, hook: &'m Hook, ev: &InboundEvent) -> Result<Self> {
        let mut t = Self::load_for(m, hook, &ev.from.to_string()).await?;
        t.address = ev.from.clone();
        t.phone = ev.from.as_phone().cloned();
        // A new contact speaks the language their app reports, if we have it.
        if t.conv.locale.is_none()
            && let Some(lang) = ev
                .language
                .as_deref()
                .map(|l| l.split(['-', '_']).next().unwrap_or(l))
            && LANGUAGES.iter().any(|(code, _)| *code == lang)
        {
            t.locale = lang.to_owned();
        }
        Ok(t)
    }

    /// The turn of a stored conversation (recovery, system turns).
    pub(crate) async fn load_for(m: &'m Messaging, hook: &'m Hook, address: &str) -> Result<Self> {
        let conv = m
            .inner
            .app
            .store
            .conversation(hook.tenant.id, &hook.record.id, address)
            .await?
            .ok_or(AppError::NotFound("conversation"))?;
        let locale = conv
            .locale
            .clone()
            .unwrap_or_else(|| hook.tenant.default_locale.as_str().to_owned());
        let address = address_of(hook.record.kind, address);
        Ok(Turn {
            m,
            hook,
            phone: address.as_phone().cloned(),
            address,
            conv,
            locale,
            now: m.inner.app.now(),
            issued: None,
            start_vars: Vars::new(),
        })
    }

    fn session(&self) -> Option<Session> {
        self.conv
            .session
            .as_ref()
            .and_then(|s| serde_json::from_value::<Session>(s.clone()).ok())
            .filter(|s| !s.is_ended())
    }

    fn outcome(&self, session: Option<Session>, outputs: Vec<Output>) -> Outcome {
        let ended = session.as_ref().is_none_or(|s| s.is_ended());
        Outcome {
            conv: self.conv.clone(),
            address: self.address.clone(),
            session,
            locale: self.locale.clone(),
            opted_out: self.conv.opted_out,
            outputs,
            before: Vec::new(),
            origin: None,
            ended,
            offer: false,
            now: self.now,
        }
    }

    fn principal(&self) -> Principal {
        Principal {
            actor: Actor::Contact(self.conv.contact_id),
            user_id: None,
            tenant_id: Some(self.hook.tenant.id),
            role: None,
            scopes: vec![Scope::ReadQueue, Scope::WriteQueue],
            site_id: None,
        }
    }

    fn common(&self, id: &str, args: &[(String, Value)]) -> Output {
        let text = self.m.common_text(Some(&self.locale), self.hook, id, args);
        Output::Text {
            step: String::new(),
            message: id.to_owned(),
            text,
            sms: None,
        }
    }

    /// A message on a messaging channel, or a USSD end-of-session notice.
    pub(crate) async fn answer(mut self, ev: &InboundEvent) -> Result<Outcome> {
        if let InboundKind::UssdEnd { reason, .. } = &ev.kind {
            // The network (or the customer) ended it mid-flow: the session ends as
            // dropped and stays resumable; an `END` we sent needs nothing more.
            return match (self.session(), reason) {
                (Some(s), r) if *r != sq_channels::UssdEndReason::Completed => {
                    let (s, out) = self.run(Some(s), Some(Input::Dropped), "").await?;
                    Ok(self.finish(Some(s), out))
                }
                (s, _) => Ok(self.outcome(s, Vec::new())),
            };
        }
        let mut before = Vec::new();
        let input_text = match &ev.kind {
            InboundKind::Text(t) => Some(Input::Text(t.clone())),
            InboundKind::ButtonReply { id, .. } | InboundKind::ListReply { id, .. } => {
                Some(Input::Choice(id.clone()))
            }
            InboundKind::TemplateButton { payload, .. } => Some(Input::Choice(payload.clone())),
            InboundKind::Callback { query_id, data } => {
                before.push(OutboundBody::AnswerCallback {
                    query_id: query_id.clone(),
                    text: None,
                    show_alert: false,
                });
                Some(Input::Choice(data.clone()))
            }
            InboundKind::Unsupported { .. } => None,
            InboundKind::UssdRequest { .. } | InboundKind::UssdEnd { .. } => None,
        };
        // Consent first: STOP is obeyed whatever the flow, START lifts it. Telegram's
        // `/start` opens a chat with a bot: a greeting, not a consent keyword.
        let text = match &ev.kind {
            InboundKind::Text(t) => Some(t.as_str()),
            _ => None,
        };
        let bot_start = self.hook.record.kind == Channel::Telegram
            && text.is_some_and(|t| t.trim_start().starts_with("/start"));
        let detected = text
            .filter(|_| !bot_start)
            .and_then(|t| KeywordTable::builtin().detect(t));
        let consent = ev.consent.filter(|_| !bot_start).or(match detected {
            Some(Keyword::Stop) => Some(ConsentChange::OptOut),
            Some(Keyword::Start) => Some(ConsentChange::OptIn),
            _ => None,
        });
        let input_text = if bot_start {
            self.conv.opted_out = false;
            Some(Input::Text(String::new()))
        } else {
            input_text
        };
        match consent {
            Some(ConsentChange::OptOut) => {
                let mut o = self.outcome(None, vec![self.common("opted-out", &[])]);
                o.opted_out = true;
                o.before = before;
                return Ok(o);
            }
            // START from a contact who never stopped is just a greeting.
            Some(ConsentChange::OptIn) if self.conv.opted_out => {
                self.conv.opted_out = false;
                let mut o = self.outcome(None, vec![self.common("opted-in", &[])]);
                o.before = before;
                return Ok(o);
            }
            _ => {}
        }
        // "TRACK <token>": the kiosk ticket's WhatsApp link. The ticket's notifications come
        // to this conversation from now on.
        if let Some(token) = text
            .map(str::trim)
            .and_then(|t| t.split_once(char::is_whitespace))
            .filter(|(w, _)| w.eq_ignore_ascii_case("track"))
            .map(|(_, token)| token.trim())
        {
            let found = self.m.inner.app.tracked_ticket(token).await;
            let reply = match found {
                Ok((tenant, view, _)) if tenant.id == self.hook.tenant.id => {
                    self.issued = Some(view.ticket.id);
                    self.conv.opted_out = false;
                    self.common(
                        "notify-following",
                        &[
                            ("ticket".into(), Value::Text(view.ticket.number.clone())),
                            (
                                "ahead".into(),
                                Value::Int(i64::from(view.ahead.unwrap_or(0))),
                            ),
                        ],
                    )
                }
                _ => self.common("invalid-input", &[]),
            };
            let mut o = self.finish(self.stored_session(), vec![reply]);
            o.before = before;
            return Ok(o);
        }
        if self.conv.opted_out {
            // Nothing goes to an opted-out contact but the STOP/START confirmations.
            return Ok(self.outcome(None, Vec::new()));
        }
        let Some(input) = input_text else {
            let mut o = self.outcome(self.session(), vec![self.common("invalid-input", &[])]);
            o.before = before;
            return Ok(o);
        };
        // `/start` begins again from the greeting.
        let session = if bot_start { None } else { self.session() };
        let mut outcome = match (session, input) {
            (Some(s), Input::Text(t)) => {
                let def = &self.flow(&s.flow)?.definition;
                match KeywordTable::builtin().preempts(&t, &def.let_through) {
                    Some(k) => {
                        // The keyword ends the flow; its own flow (if any) starts now.
                        let (s, mut out) = self.run(Some(s), Some(Input::Keyword(k)), "").await?;
                        match keyword_flow(k) {
                            Some(flow) => {
                                let (s2, more) = self.run(None, None, flow).await?;
                                out.extend(more);
                                self.finish(Some(s2), out)
                            }
                            None => self.finish(Some(s), out),
                        }
                    }
                    None => {
                        let (s, out) = self.run(Some(s), Some(Input::Text(t)), "").await?;
                        self.finish(Some(s), out)
                    }
                }
            }
            (Some(s), input) => {
                let (s, out) = self.run(Some(s), Some(input), "").await?;
                self.finish(Some(s), out)
            }
            (None, input) => {
                let text = match &input {
                    Input::Text(t) | Input::Choice(t) => t.clone(),
                    _ => String::new(),
                };
                let flow = match KeywordTable::builtin().detect(&text).and_then(keyword_flow) {
                    Some(f) => f.to_owned(),
                    None => self
                        .m
                        .inner
                        .flows
                        .triggered_by(&text)
                        .map(|f| f.id().to_owned())
                        .ok_or(AppError::Internal("no default flow".into()))?,
                };
                let (s, out) = self.run(None, None, &flow).await?;
                self.finish(Some(s), out)
            }
        };
        outcome.before = before;
        Ok(outcome)
    }

    /// A USSD hop: `input` is `None` on the dial.
    pub(crate) async fn ussd(
        mut self,
        input: Option<String>,
        new_session: bool,
    ) -> Result<Outcome> {
        if new_session {
            // A dial while a flow was left mid-way (dropped, or never closed by the network):
            // offer to continue within the window.
            let left = self.stored_session().filter(|s| {
                !s.is_ended()
                    || s.ended
                        .as_ref()
                        .is_some_and(|e| e.reason == EndReason::Dropped)
            });
            let window = self.m.inner.notify.ussd_resume.as_secs() as i64;
            let recent = (self.now - self.conv.updated_at).num_seconds() <= window;
            if let Some(left) = left.filter(|_| recent) {
                let mut left = left;
                if !left.is_ended() {
                    let (s, _) = self.run(Some(left), Some(Input::Dropped), "").await?;
                    left = s;
                }
                let mut o = self.outcome(Some(left), vec![self.common("ussd-resume", &[])]);
                o.offer = true;
                o.ended = false;
                return Ok(o);
            }
            return self.ussd_start().await;
        }
        if let Some(offered) = self.offered_session() {
            return match input.as_deref().map(str::trim) {
                Some("1") => {
                    let (s, out) = self.run(Some(offered), Some(Input::Continue), "").await?;
                    Ok(self.finish(Some(s), out))
                }
                _ => self.ussd_start().await,
            };
        }
        match (self.session(), input) {
            (Some(s), Some(text)) => {
                let (s, out) = self.run(Some(s), Some(Input::Text(text)), "").await?;
                Ok(self.finish(Some(s), out))
            }
            (Some(s), None) => {
                // A hop without input repeats the screen the session waits on.
                let (s, out) = self.run(Some(s), Some(Input::Continue), "").await?;
                Ok(self.finish(Some(s), out))
            }
            (None, _) => self.ussd_start().await,
        }
    }

    /// The USSD entry flow (the default flow that USSD triggers).
    async fn ussd_start(mut self) -> Result<Outcome> {
        let flows = &self.m.inner.flows.flows;
        let flow = flows
            .iter()
            .find(|f| f.definition.triggers.ussd && f.definition.triggers.default)
            .or_else(|| flows.iter().find(|f| f.definition.triggers.ussd))
            .map(|f| f.id().to_owned())
            .ok_or(AppError::Internal("no USSD flow".into()))?;
        let (s, out) = self.run(None, None, &flow).await?;
        Ok(self.finish(Some(s), out))
    }

    /// A due timer: the step timeout or the flow's expiry. Stale timers change nothing (the
    /// engine checks the deadlines), and the next one is stored with the session.
    pub(crate) async fn timer(mut self) -> Result<Outcome> {
        let Some(s) = self.session() else {
            return Ok(self.outcome(self.stored_session(), Vec::new()));
        };
        let input = if s.timeout_at.is_some_and(|t| t <= self.now) {
            Input::Timeout
        } else if s.expires_at.is_some_and(|t| t <= self.now) {
            Input::Expired
        } else {
            return Ok(self.outcome(Some(s), Vec::new()));
        };
        let (s, out) = self.run(Some(s), Some(input), "").await?;
        Ok(self.finish(Some(s), out))
    }

    /// Starts `flow` for an event (`ticket.served` → feedback) unless the customer is in
    /// the middle of another flow, which is never interrupted by the system.
    pub(crate) async fn event_flow(mut self, flow: &str, vars: Vars) -> Result<Outcome> {
        if self.conv.opted_out || self.session().is_some() {
            return Ok(self.outcome(self.stored_session(), Vec::new()));
        }
        self.start_vars = vars;
        let (s, out) = self.run(None, None, flow).await?;
        Ok(self.finish(Some(s), out))
    }

    /// The stored session as it is, ended or not (not a resume offer).
    fn stored_session(&self) -> Option<Session> {
        self.conv
            .session
            .as_ref()
            .and_then(|s| serde_json::from_value::<Session>(s.clone()).ok())
    }

    /// The dropped session a resume question is pending for.
    fn offered_session(&self) -> Option<Session> {
        self.conv
            .session
            .as_ref()
            .and_then(|s| s.get("offer"))
            .and_then(|s| serde_json::from_value::<Session>(s.clone()).ok())
    }

    /// A USSD hop left unanswered by a restart: the aggregator's request is gone, so the
    /// flow ends as dropped (resumable on redial) and nothing is said.
    pub(crate) async fn drop_ussd(mut self) -> Result<Outcome> {
        match self.session() {
            Some(s) => {
                let (s, _) = self.run(Some(s), Some(Input::Dropped), "").await?;
                Ok(self.finish(Some(s), Vec::new()))
            }
            None => Ok(self.outcome(self.stored_session(), Vec::new())),
        }
    }

    fn finish(&self, session: Option<Session>, outputs: Vec<Output>) -> Outcome {
        let mut o = self.outcome(session, outputs);
        o.origin = self.origin_hint();
        o
    }

    fn origin_hint(&self) -> Option<TicketId> {
        self.issued
    }

    fn flow(&self, id: &str) -> Result<&'m sq_flow::Flow> {
        self.m
            .inner
            .flows
            .get(id)
            .ok_or_else(|| AppError::Internal(format!("unknown flow {id}")))
    }

    fn renderer(&self, flow: &str) -> Result<Renderer<'m>> {
        let loc = self
            .m
            .inner
            .localizers
            .get(flow)
            .ok_or_else(|| AppError::Internal(format!("unknown flow {flow}")))?;
        Ok(Renderer::new(
            loc,
            locale_chain(
                Some(&self.locale),
                Some(self.hook.tenant.default_locale.as_str()),
            ),
            self.hook.record.kind,
        ))
    }

    /// Runs the engine from `session` (or starts `start_flow`) until it waits for the
    /// customer or ends; returns the session and the rendered outputs.
    async fn run(
        &mut self,
        session: Option<Session>,
        input: Option<Input>,
        start_flow: &str,
    ) -> Result<(Session, Vec<Output>)> {
        let mut outputs = Vec::new();
        let mut producer = match &session {
            Some(Session {
                state: State::Entering(f),
                ..
            }) => f.clone(),
            Some(s) => s.flow.clone(),
            None => start_flow.to_owned(),
        };
        let context = self.context().await?;
        let (mut s, mut ev) = {
            let flow = self.flow(&producer)?;
            let r = self.renderer(&producer)?;
            let env = self.env(&context, &r);
            match (session, input) {
                (None, _) => {
                    engine::start_with(&flow.definition, std::mem::take(&mut self.start_vars), &env)
                }
                (Some(s), Some(i)) => engine::resume(&flow.definition, s, i, &env),
                (Some(_), None) => return Err(AppError::Internal("resume without input".into())),
            }
            .map_err(engine_error)?
        };
        for _ in 0..MAX_HOPS {
            let next = match ev.last() {
                Some(Event::Action {
                    request_id,
                    action,
                    args,
                }) => {
                    let (outcome, vars) = self.action(action, args, &s.vars).await?;
                    Some(Input::ActionResult {
                        request_id: *request_id,
                        outcome,
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
            let r = self.renderer(&producer)?;
            outputs.extend(
                r.render(&ev)
                    .map_err(|e| AppError::Internal(e.to_string()))?,
            );
            producer = target.clone();
            let Some(input) = next else {
                return Ok((s, outputs));
            };
            // Actions may change what the context says (has_ticket, lang).
            let context = self.context().await?;
            let flow = self.flow(&target)?;
            let r = self.renderer(&target)?;
            let env = self.env(&context, &r);
            let (s2, ev2) =
                engine::resume(&flow.definition, s, input, &env).map_err(engine_error)?;
            s = s2;
            ev = ev2;
        }
        Err(AppError::Internal(
            "a turn took too many engine round trips".into(),
        ))
    }

    fn env<'r>(&self, context: &Vars, r: &'r Renderer<'m>) -> HostEnv<'r, 'm> {
        let mut context = context.clone();
        context.insert("lang".into(), Value::Text(self.locale.clone()));
        HostEnv {
            now: self.now,
            context,
            renderer: r,
        }
    }

    /// What flows read from the host (sq_flow::catalog::CONTEXT).
    async fn context(&self) -> Result<Vars> {
        let t = &self.hook.tenant;
        let catalogue = self.m.catalogue(t.id).await?;
        let sites = &catalogue.sites;
        let services = self.open_services(None).await?;
        let open = self.open_tickets().await?;
        let mut v = Vars::new();
        v.insert("tenant".into(), Value::Text(t.name.as_str().to_owned()));
        let site = self
            .hook
            .record
            .site_id
            .and_then(|id| sites.iter().find(|s| s.id == id))
            .or(sites.first());
        v.insert(
            "site".into(),
            Value::Text(site.map(|s| s.name.as_str().to_owned()).unwrap_or_default()),
        );
        v.insert("site_count".into(), Value::Int(sites.len() as i64));
        v.insert(
            "sites".into(),
            Value::List(
                sites
                    .iter()
                    .map(|s| Item::new(s.id.to_string(), s.name.as_str()))
                    .collect(),
            ),
        );
        v.insert("service_count".into(), Value::Int(services.len() as i64));
        v.insert("can_join".into(), Value::Bool(!services.is_empty()));
        v.insert("services".into(), Value::List(services));
        v.insert(
            "languages".into(),
            Value::List(LANGUAGES.iter().map(|(k, l)| Item::new(*k, *l)).collect()),
        );
        v.insert("language_count".into(), Value::Int(LANGUAGES.len() as i64));
        v.insert(
            "channel".into(),
            Value::Text(self.hook.record.kind.as_str().to_owned()),
        );
        v.insert("feedback_scale".into(), Value::Text("csat".into()));
        v.insert("has_ticket".into(), Value::Bool(!open.is_empty()));
        v.insert("appointments_enabled".into(), Value::Bool(false));
        Ok(v)
    }

    /// Services whose queue is open, optionally of one site, as choices.
    async fn open_services(&self, site: Option<&str>) -> Result<Vec<Item>> {
        let catalogue = self.m.catalogue(self.hook.tenant.id).await?;
        let queues = &catalogue.queues;
        let mut out = Vec::new();
        for svc in &catalogue.services {
            if site.is_some_and(|s| s != svc.site_id.to_string()) {
                continue;
            }
            if queues
                .iter()
                .any(|q| q.service_id == svc.id && q.status == QueueStatus::Open)
            {
                out.push(Item::new(svc.id.to_string(), svc.name.as_str()));
            }
        }
        Ok(out)
    }

    async fn open_tickets(&self) -> Result<Vec<Ticket>> {
        Ok(self
            .m
            .inner
            .app
            .store
            .open_tickets_of(self.hook.tenant.id, self.conv.contact_id)
            .await?)
    }

    /// Runs one action of sq_flow::catalog::ACTIONS; returns (outcome, vars).
    async fn action(
        &mut self,
        name: &str,
        args: &[(String, Value)],
        session_vars: &Vars,
    ) -> Result<(String, Vars)> {
        let arg = |k: &str| {
            args.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.to_string())
                .filter(|s| !s.is_empty())
        };
        // Copies of the references, so `self` stays free to change.
        let (m, hook) = (self.m, self.hook);
        let (app, tenant) = (&m.inner.app, &hook.tenant);
        let mut vars = Vars::new();
        let outcome = match name {
            "queue.services" => {
                let services = self.open_services(arg("site").as_deref()).await?;
                if services.is_empty() {
                    "none"
                } else {
                    vars.insert("service_count".into(), Value::Int(services.len() as i64));
                    vars.insert("services".into(), Value::List(services));
                    "ok"
                }
            }
            "queue.join" => {
                let open = self.open_tickets().await?;
                if let Some(t) = open.first() {
                    let view = app.view(tenant, t.clone()).await?;
                    vars.insert("ticket".into(), Value::Text(t.number.clone()));
                    vars.insert(
                        "ahead".into(),
                        Value::Int(i64::from(view.ahead.unwrap_or(0))),
                    );
                    self.set_issued(t.id);
                    "duplicate"
                } else {
                    let service = arg("service")
                        .and_then(|s| s.parse().ok())
                        .ok_or_else(|| AppError::Internal("queue.join without a service".into()))?;
                    let name = arg("name").and_then(|n| n.parse().ok());
                    let req = IssueTicket {
                        service_id: service,
                        channel: self.hook.record.kind,
                        priority: 0,
                        contact: Some(ContactInput {
                            phone: self.phone.clone(),
                            name,
                            locale: self.locale.parse().ok(),
                        }),
                    };
                    match app
                        .issue_ticket(&self.principal(), tenant, req, &RequestMeta::default())
                        .await
                    {
                        Ok(view) => {
                            self.set_issued(view.ticket.id);
                            vars.insert("ticket".into(), Value::Text(view.ticket.number.clone()));
                            vars.insert(
                                "ahead".into(),
                                Value::Int(i64::from(view.ahead.unwrap_or(0))),
                            );
                            match view.eta {
                                Some(eta) => {
                                    eta_vars(&mut vars, &eta);
                                    "ok"
                                }
                                None => "no_eta",
                            }
                        }
                        Err(AppError::QueueClosed | AppError::NotFound(_)) => "closed",
                        Err(e) => return Err(e),
                    }
                }
            }
            "queue.status" => {
                let open = self.open_tickets().await?;
                match open.first() {
                    None => "none",
                    Some(t) if t.status == TicketStatus::Waiting => {
                        let view = app.view(tenant, t.clone()).await?;
                        vars.insert("ticket".into(), Value::Text(t.number.clone()));
                        vars.insert(
                            "ahead".into(),
                            Value::Int(i64::from(view.ahead.unwrap_or(0))),
                        );
                        vars.insert(
                            "tickets".into(),
                            Value::List(
                                open.iter()
                                    .map(|t| Item::new(t.number.clone(), t.number.clone()))
                                    .collect(),
                            ),
                        );
                        vars.insert("ticket_count".into(), Value::Int(open.len() as i64));
                        match view.eta {
                            Some(eta) => {
                                eta_vars(&mut vars, &eta);
                                "waiting"
                            }
                            None => "no_eta",
                        }
                    }
                    Some(t) => {
                        vars.insert("ticket".into(), Value::Text(t.number.clone()));
                        vars.insert(
                            "counter".into(),
                            Value::Text(self.m.counter_label(&self.hook.tenant, t).await?),
                        );
                        "called"
                    }
                }
            }
            "queue.cancel" => {
                let open = self.open_tickets().await?;
                let wanted = arg("ticket");
                let target = open.iter().find(|t| {
                    t.status == TicketStatus::Waiting
                        && wanted.as_ref().is_none_or(|n| *n == t.number)
                });
                match target {
                    None => "none",
                    Some(t) => {
                        app.act(
                            &self.principal(),
                            tenant,
                            t.id,
                            TicketAction::Cancel,
                            &RequestMeta::default(),
                        )
                        .await?;
                        vars.insert("ticket".into(), Value::Text(t.number.clone()));
                        "ok"
                    }
                }
            }
            "contact.set_language" => {
                if let Some(lang) = arg("lang").filter(|l| LANGUAGES.iter().any(|(c, _)| c == l)) {
                    self.locale = lang.clone();
                    vars.insert("lang".into(), Value::Text(lang));
                }
                "ok"
            }
            "contact.opt_out" => {
                self.conv.opted_out = true;
                "ok"
            }
            // Kept in the session only: contacts have no name update use case yet.
            "contact.set_name" => "ok",
            "feedback.record" => {
                let score = arg("score")
                    .and_then(|v| v.parse::<i64>().ok())
                    .ok_or_else(|| AppError::Internal("feedback.record without a score".into()))?;
                let feedback = sq_store::Feedback {
                    id: uuid::Uuid::now_v7(),
                    channel_id: hook.record.id.clone(),
                    contact_id: self.conv.contact_id,
                    ticket: session_vars
                        .get("ticket")
                        .map(|v| v.to_string())
                        .filter(|t| !t.is_empty()),
                    scale: arg("scale").unwrap_or_else(|| "csat".into()),
                    score,
                    comment: arg("comment"),
                    created_at: sq_domain::audit::truncate_micros(self.now),
                };
                app.store.record_feedback(tenant.id, feedback).await?;
                "ok"
            }
            // Agent hand-off is not built: the flows say so politely.
            "handoff.agent" => "unavailable",
            "appointment.days"
            | "appointment.slots"
            | "appointment.list"
            | "appointment.cancel"
            | "appointment.checkin" => "none",
            "appointment.book" => "taken",
            other => return Err(AppError::Internal(format!("unknown action {other}"))),
        };
        Ok((outcome.to_owned(), vars))
    }

    fn set_issued(&mut self, id: TicketId) {
        self.issued = Some(id);
    }
}

/// `eta_min`/`eta_max` in whole minutes (at least 1 at the top, so "0-1 min" reads right).
fn eta_vars(vars: &mut Vars, eta: &sq_domain::eta::Eta) {
    vars.insert(
        "eta_min".into(),
        Value::Int(i64::from(eta.min_seconds.div_ceil(60))),
    );
    vars.insert(
        "eta_max".into(),
        Value::Int(i64::from(eta.max_seconds.div_ceil(60).max(1))),
    );
}

/// The flow a system keyword opens once it has interrupted the current one.
fn keyword_flow(k: Keyword) -> Option<&'static str> {
    match k {
        Keyword::Menu | Keyword::Help => Some("main-menu"),
        Keyword::Status => Some("ticket-status"),
        Keyword::Lang => Some("language"),
        Keyword::Stop | Keyword::Start => None,
    }
}

fn engine_error(e: sq_flow::EngineError) -> AppError {
    AppError::Internal(format!("flow engine: {e} ({})", e.code()))
}

impl Outcome {
    /// The screen a USSD aggregator shows: every output of the turn, joined.
    pub(crate) fn ussd_reply(&self) -> UssdReply {
        let text = self
            .outputs
            .iter()
            .map(|o| match o {
                Output::Text { text, .. } => text.clone(),
                Output::Choose { page, .. } => match &page.view {
                    Rendered::UssdScreen { text, .. } => text.clone(),
                    other => format!("{other:?}"),
                },
            })
            .collect::<Vec<_>>()
            .join("\n");
        if self.ended {
            UssdReply::end(text)
        } else {
            UssdReply::con(text)
        }
    }

    /// The outbound messages of a messaging channel, in order.
    fn messages(&self) -> Vec<OutboundMessage> {
        let mut out: Vec<OutboundMessage> = self
            .before
            .iter()
            .map(|b| {
                OutboundMessage::new(
                    self.address.clone(),
                    b.clone(),
                    sq_channels::MessageKind::SessionReply,
                )
            })
            .collect();
        for o in &self.outputs {
            let body = match o {
                Output::Text { text, .. } => Some(OutboundBody::Text(text.clone())),
                Output::Choose { page, .. } => OutboundBody::from_page(page),
            };
            if let Some(body) = body {
                out.push(OutboundMessage::new(
                    self.address.clone(),
                    body,
                    sq_channels::MessageKind::SessionReply,
                ));
            }
        }
        out
    }

    /// Stores the turn; returns how many messages were queued.
    pub(crate) async fn commit(
        self,
        m: &Messaging,
        hook: &Hook,
        inbound_seq: Option<i64>,
    ) -> Result<usize> {
        let key_base = match inbound_seq {
            Some(seq) => format!("in:{seq}"),
            None => format!("sys:{}", uuid::Uuid::now_v7()),
        };
        self.commit_keyed(m, hook, inbound_seq, &key_base).await
    }

    /// Like [`Outcome::commit`], with the idempotency key prefix of the replies given.
    pub(crate) async fn commit_keyed(
        self,
        m: &Messaging,
        hook: &Hook,
        inbound_seq: Option<i64>,
        key_base: &str,
    ) -> Result<usize> {
        let messages = if hook.record.kind == Channel::Ussd {
            Vec::new()
        } else {
            self.messages()
        };
        let outbound = messages
            .iter()
            .enumerate()
            .map(|(i, msg)| {
                Ok(NewOutbound {
                    channel_id: hook.record.id.clone(),
                    address: self.conv.address.clone(),
                    contact_id: Some(self.conv.contact_id),
                    class: OutboundClass::Reply,
                    body: serde_json::to_value(msg)
                        .map_err(|e| AppError::Internal(format!("encode: {e}")))?,
                    idempotency_key: format!("{key_base}:{i}"),
                    not_before: self.now,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        // Ended sessions are kept too: how they ended is recorded, and a dropped USSD
        // session can be resumed. Only running ones on timer-driven channels have a timer.
        let encode = |s: &Session| {
            serde_json::to_value(s).map_err(|e| AppError::Internal(format!("encode: {e}")))
        };
        let session = match &self.session {
            Some(s) if self.offer => Some(serde_json::json!({ "offer": encode(s)? })),
            Some(s) => Some(encode(s)?),
            None => None,
        };
        let due_at = match &self.session {
            Some(s) if !s.is_ended() && !self.offer && hook.record.kind != Channel::Ussd => {
                match (s.timeout_at, s.expires_at) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            }
            _ => None,
        };
        let rows = m
            .inner
            .app
            .store
            .commit_turn(
                hook.tenant.id,
                TurnCommit {
                    channel_id: hook.record.id.clone(),
                    address: self.conv.address.clone(),
                    inbound_seq,
                    session,
                    locale: Some(self.locale.clone()),
                    opted_out: self.opted_out,
                    due_at,
                    outbound,
                    origin: self.origin,
                    at: self.now,
                },
            )
            .await?;
        Ok(rows.len())
    }
}
