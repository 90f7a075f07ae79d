//! From engine events to what a channel shows, and from a channel's reply back to a choice.
//!
//! The engine emits message ids and arguments; [`Renderer`] formats them in the contact's
//! locale chain (bidi marks per [`crate::messages::isolates`]) and hands `choose` steps to the
//! choice ladder. [`Renderer::match_reply`] feeds the *same* formatted labels to the ladder's
//! parser, so what was shown and what a reply means cannot drift. [`HostEnv`] is a ready
//! [`Env`] built on it (tests, the CLI preview, and a template for the real host).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sq_domain::Channel;

use crate::engine::{ChoiceOut, ChooseView, Env, Event, Label, Msg};
use crate::ladder::{self, LadderError, LadderOptions, RenderedPage, Reply, ReplyMatch};
use crate::messages::{Localizer, isolates};
use crate::sms::{self, SmsInfo};
use crate::value::{Value, Vars};

/// Message ids of the ladder's navigation strings. They are looked up like any message
/// (flow, then `flows/common/`, then `locales/`); English defaults apply when absent.
pub const NAV_MORE: &str = "nav-more";
pub const NAV_BACK: &str = "nav-back";
pub const NAV_SMS_MORE: &str = "nav-sms-more";
pub const NAV_SMS_BACK: &str = "nav-sms-back";
pub const NAV_LIST_BUTTON: &str = "nav-list-button";

/// What one event looks like on a channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Output {
    /// A `say` or an `ask` prompt. `sms` is set on the SMS channel.
    Text {
        step: String,
        message: String,
        text: String,
        sms: Option<SmsInfo>,
    },
    /// A page of a `choose` step.
    Choose {
        step: String,
        prompt: String,
        page: RenderedPage,
    },
}

/// Formats and lays out events for one contact on one channel.
#[derive(Debug)]
pub struct Renderer<'a> {
    localizer: &'a Localizer,
    chain: Vec<String>,
    channel: Channel,
    options: LadderOptions,
}

impl<'a> Renderer<'a> {
    /// `chain`: [`crate::messages::locale_chain`] of the contact.
    pub fn new(localizer: &'a Localizer, chain: Vec<String>, channel: Channel) -> Self {
        let mut r = Renderer {
            localizer,
            chain,
            channel,
            options: LadderOptions::default(),
        };
        let text = |id: &str| localizer.format(&r.chain, id, &[], isolates(channel));
        let mut o = LadderOptions::default();
        if let Some(t) = text(NAV_MORE) {
            o.more_label = t;
        }
        if let Some(t) = text(NAV_BACK) {
            o.back_label = t;
        }
        if let Some(t) = text(NAV_SMS_MORE) {
            o.sms_more_hint = t;
        }
        if let Some(t) = text(NAV_SMS_BACK) {
            o.sms_back_hint = t;
        }
        if let Some(t) = text(NAV_LIST_BUTTON) {
            o.list_button = t;
        }
        r.options = o;
        r
    }

    /// Overrides budgets (e.g. a tenant's USSD page budget).
    pub fn with_options(mut self, f: impl FnOnce(&mut LadderOptions)) -> Self {
        f(&mut self.options);
        self
    }

    pub fn channel(&self) -> Channel {
        self.channel
    }

    pub fn options(&self) -> &LadderOptions {
        &self.options
    }

    /// A message as text; `[id]` if no language has it (validation prevents that).
    pub fn text(&self, m: &Msg) -> String {
        self.localizer
            .format(&self.chain, &m.id, &m.args, isolates(self.channel))
            .unwrap_or_else(|| format!("[{}]", m.id))
    }

    /// The choices as the ladder takes them: labels, short labels and synonyms formatted.
    pub fn choices(&self, choices: &[ChoiceOut]) -> Vec<ladder::Choice> {
        choices
            .iter()
            .map(|c| {
                let label = match &c.label {
                    Label::Message(m) => self.text(m),
                    Label::Text(t) => t.clone(),
                };
                let mut out = ladder::Choice::new(c.key.clone(), label);
                if let Some(s) = &c.short {
                    out = out.with_short(self.text(s));
                }
                if let Some(id) = &c.synonyms {
                    let words = self.text(&Msg {
                        id: id.clone(),
                        args: Vec::new(),
                    });
                    out = out.with_synonyms(
                        words
                            .split([',', '\n'])
                            .map(str::trim)
                            .filter(|w| !w.is_empty()),
                    );
                }
                if let Some(d) = &c.detail {
                    out = out.with_description(d.clone());
                }
                out
            })
            .collect()
    }

    /// Page `page` of a `choose` step.
    pub fn render_choose(
        &self,
        prompt: &Msg,
        choices: &[ChoiceOut],
        page: usize,
    ) -> Result<RenderedPage, LadderError> {
        ladder::render(
            self.channel,
            &self.text(prompt),
            &self.choices(choices),
            page,
            &self.options,
        )
    }

    /// What a reply means, with the plan the step was rendered with.
    pub fn match_reply(&self, view: &ChooseView<'_>, reply: &Reply) -> ReplyMatch {
        ladder::parse_reply(
            self.channel,
            &self.text(view.prompt),
            &self.choices(view.choices),
            view.page,
            &self.options,
            reply,
        )
    }

    /// The outputs of a turn (waits, actions and flow changes show nothing).
    pub fn render(&self, events: &[Event]) -> Result<Vec<Output>, LadderError> {
        let mut out = Vec::new();
        for e in events {
            match e {
                Event::Say { step, message }
                | Event::Ask {
                    step,
                    prompt: message,
                    ..
                } => {
                    let text = self.text(message);
                    let sms = (self.channel == Channel::Sms).then(|| sms::analyse(&text));
                    out.push(Output::Text {
                        step: step.clone(),
                        message: message.id.clone(),
                        text,
                        sms,
                    });
                }
                Event::Choose {
                    step,
                    prompt,
                    choices,
                    page,
                } => {
                    out.push(Output::Choose {
                        step: step.clone(),
                        prompt: prompt.id.clone(),
                        page: self.render_choose(prompt, choices, *page)?,
                    });
                }
                _ => {}
            }
        }
        Ok(out)
    }
}

/// An [`Env`] from fixed values and a [`Renderer`]: what tests, the CLI preview and
/// transcript runs use. The real host implements [`Env`] over its own state the same way.
#[derive(Debug)]
pub struct HostEnv<'r, 'a> {
    pub now: DateTime<Utc>,
    pub context: Vars,
    pub renderer: &'r Renderer<'a>,
}

impl Env for HostEnv<'_, '_> {
    fn now(&self) -> DateTime<Utc> {
        self.now
    }
    fn channel(&self) -> Channel {
        self.renderer.channel
    }
    fn context(&self, name: &str) -> Option<Value> {
        self.context.get(name).cloned()
    }
    fn match_reply(&self, view: &ChooseView<'_>, reply: &Reply) -> ReplyMatch {
        self.renderer.match_reply(view, reply)
    }
}
