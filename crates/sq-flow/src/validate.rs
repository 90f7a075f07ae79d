//! `flows validate` (FLOWS.md §6): every check a flow must pass before it is published, each
//! reported once, at the key to edit.
//!
//! Errors: unknown steps, unknown or untranslated messages, Fluent arguments a step cannot
//! supply, unknown actions/arguments/outcomes and unhandled outcomes, unreachable steps,
//! loops that never wait, unknown events/flows/keywords. (Limits and shape are checked when
//! loading: [`crate::Flow::load`].)
//!
//! Warnings, per channel, found by formatting every message with sample values in every
//! enabled language and laying out every `choose` step with the choice ladder: USSD screens
//! over the page budget, WhatsApp button labels over 20 characters without `short:`, SMS
//! prompts over 3 segments, event-started flows without an approved WhatsApp template.
//!
//! "Cannot supply" is a must-set analysis over the step graph: a variable is available at a
//! step if every path from `start` sets it (a `choose`/`ask` saves, an action outcome's
//! results), or if the host's context provides it ([`crate::catalog::CONTEXT`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sq_domain::Channel;

use crate::catalog::{self, VarKind};
use crate::diag::{Diagnostic, Severity};
use crate::engine::{ChoiceOut, Label, Msg};
use crate::flow::{Flow, FlowSource};
use crate::keywords::{KeywordTable, fold};
use crate::ladder::{self, FallReason, LadderError, LadderOptions, Rung};
use crate::limits::Limits;
use crate::load::FLOW_FILE;
use crate::messages::{Localizer, Messages, locale_chain};
use crate::model::*;
use crate::render::Renderer;
use crate::sms;
use crate::value::Value;

/// What to validate against.
#[derive(Debug)]
pub struct ValidateOptions<'a> {
    /// Enabled languages; each needs every message (directly or through a layer).
    pub languages: Vec<String>,
    /// Fallback messages (`flows/common/`, `locales/`), in priority order.
    pub layers: Vec<&'a Messages>,
    pub keywords: &'a KeywordTable,
    /// Page budgets and limits (navigation strings come from the messages).
    pub ladder: LadderOptions,
    /// Flows `go` may name; `None` skips that check.
    pub known_flows: Option<Vec<String>>,
    /// Channels to warn about.
    pub channels: Vec<Channel>,
    pub max_sms_segments: u32,
}

impl Default for ValidateOptions<'_> {
    fn default() -> Self {
        Self {
            languages: crate::LANGUAGES.iter().map(|l| l.to_string()).collect(),
            layers: Vec::new(),
            keywords: KeywordTable::builtin(),
            ladder: LadderOptions::default(),
            known_flows: None,
            channels: vec![
                Channel::Whatsapp,
                Channel::Telegram,
                Channel::Sms,
                Channel::Ussd,
            ],
            max_sms_segments: 3,
        }
    }
}

/// Loads and validates; loading errors come back as diagnostics too.
pub fn validate_source(
    source: FlowSource,
    limits: &Limits,
    opts: &ValidateOptions<'_>,
) -> Vec<Diagnostic> {
    match Flow::load(source, limits) {
        Ok(flow) => validate(&flow, opts),
        Err(d) => d.0,
    }
}

/// Every finding, errors first, then by file and position.
pub fn validate(flow: &Flow, opts: &ValidateOptions<'_>) -> Vec<Diagnostic> {
    let mut v = V {
        flow,
        def: &flow.definition,
        opts,
        out: Vec::new(),
    };
    v.run();
    let mut out = v.out;
    out.sort_by(|a, b| {
        (a.severity, &a.file, a.pos.map(|p| (p.line, p.column))).cmp(&(
            b.severity,
            &b.file,
            b.pos.map(|p| (p.line, p.column)),
        ))
    });
    out
}

struct Edge<'d> {
    /// Key path under `steps/<id>/`.
    path: String,
    target: &'d str,
    /// Variables set on this edge.
    defs: Vec<String>,
}

struct MsgRef<'d> {
    path: String,
    id: &'d str,
    /// Arguments the step itself supplies (`min`/`max` of an `ask`).
    extras: &'static [&'static str],
}

struct V<'a> {
    flow: &'a Flow,
    def: &'a FlowDefinition,
    opts: &'a ValidateOptions<'a>,
    out: Vec<Diagnostic>,
}

fn step_path(id: &str, rest: &str) -> String {
    if rest.is_empty() {
        format!("steps/{id}")
    } else {
        format!("steps/{id}/{rest}")
    }
}

fn list(items: &[String]) -> String {
    items.join(", ")
}

impl<'a> V<'a> {
    fn push(
        &mut self,
        sev: Severity,
        code: &'static str,
        path: &str,
        step: Option<&str>,
        msg: String,
    ) {
        let mut d = Diagnostic::error(code, FLOW_FILE, msg).at(self.flow.locate(path));
        d.severity = sev;
        if let Some(s) = step {
            d = d.step(s);
        }
        self.out.push(d);
    }

    fn err(&mut self, code: &'static str, path: &str, step: Option<&str>, msg: String) {
        self.push(Severity::Error, code, path, step, msg);
    }

    fn run(&mut self) {
        let def = self.def;
        if !def.steps.contains_key(&def.start) {
            self.err(
                "unknown_step",
                "start",
                None,
                format!("`start` refers to unknown step `{}`", def.start),
            );
        }
        for (id, step) in &def.steps {
            for e in self.edges(id, step) {
                if !def.steps.contains_key(e.target) {
                    self.err(
                        "unknown_step",
                        &step_path(id, &e.path),
                        Some(id),
                        format!(
                            "`{}` refers to unknown step `{}`",
                            e.path.replace('/', "."),
                            e.target
                        ),
                    );
                }
            }
            self.check_step(id, step);
        }
        self.check_triggers();
        let reachable = self.reachability();
        self.check_loops(&reachable);
        let available = self.available(&reachable);
        self.check_messages(&reachable, &available);
        self.check_channels(&reachable);
    }

    fn edges(&self, id: &'a str, step: &'a Step) -> Vec<Edge<'a>> {
        let mut out = Vec::new();
        let mut e = |path: String, target: &'a str, defs: Vec<String>| {
            out.push(Edge { path, target, defs })
        };
        let _ = id;
        match &step.kind {
            StepKind::Say {
                then: Then::Next(n),
                ..
            } => e("next".into(), n, vec![]),
            StepKind::Say { .. } | StepKind::End { .. } => {}
            StepKind::Choose(c) => {
                let mut saves = vec![c.save.clone()];
                if matches!(c.source, Source::From(_)) {
                    saves.push(format!("{}_label", c.save));
                }
                match &c.next {
                    Next::One(n) => e("next".into(), n, saves),
                    Next::ByKey(m) => {
                        for (k, n) in m {
                            e(format!("next/{k}"), n, saves.clone());
                        }
                    }
                }
                if let Some(n) = &c.invalid.next {
                    e("invalid/next".into(), n, vec![]);
                }
            }
            StepKind::Ask(a) => {
                e("next".into(), &a.next, vec![a.save.clone()]);
                if let Some(n) = &a.invalid.next {
                    e("invalid/next".into(), n, vec![]);
                }
            }
            StepKind::Do(d) => {
                let spec = catalog::action(&d.action);
                for (o, t) in &d.on {
                    let defs: Vec<String> = match (spec, o.as_str()) {
                        (None, _) => vec![],
                        (Some(sp), "else") => {
                            // What every outcome not listed sets.
                            let rest: Vec<_> = sp
                                .outcomes
                                .iter()
                                .filter(|x| !d.on.contains_key(x.name))
                                .collect();
                            match rest.split_first() {
                                None => vec![],
                                Some((first, others)) => first
                                    .vars
                                    .iter()
                                    .filter(|v| others.iter().all(|x| x.vars.contains(v)))
                                    .map(|v| v.to_string())
                                    .collect(),
                            }
                        }
                        (Some(sp), o) => sp
                            .outcome(o)
                            .map(|x| x.vars.iter().map(|v| v.to_string()).collect())
                            .unwrap_or_default(),
                    };
                    let path = if o == "else"
                        && self.flow.locator.exact(&step_path(id, "on/else")).is_none()
                    {
                        "next".to_string()
                    } else {
                        format!("on/{o}")
                    };
                    e(path, t, defs);
                }
            }
            StepKind::Branch(b) => {
                for (i, (_, t)) in b.arms.iter().enumerate() {
                    e(format!("branch/{i}/next"), t, vec![]);
                }
                e("else".into(), &b.otherwise, vec![]);
            }
            StepKind::Go(g) => {
                if let Some(r) = &g.return_to {
                    e("go/return".into(), r, vec![]);
                }
            }
        }
        if let Some(Timeout { next: Some(n), .. }) = &step.timeout {
            e("timeout/next".into(), n, vec![]);
        }
        out
    }

    /// Checks that need only the step itself.
    fn check_step(&mut self, id: &str, step: &Step) {
        match &step.kind {
            StepKind::Choose(c) => {
                if let (Source::Static(choices), Next::ByKey(m)) = (&c.source, &c.next) {
                    for ch in choices {
                        if !m.contains_key(&ch.key) {
                            self.err(
                                "choice_without_next",
                                &step_path(id, "next"),
                                Some(id),
                                format!("choice `{}` has no `next`", ch.key),
                            );
                        }
                    }
                    for k in m.keys() {
                        if !choices.iter().any(|c| &c.key == k) {
                            self.err(
                                "unknown_choice",
                                &step_path(id, &format!("next/{k}")),
                                Some(id),
                                format!("`next` names `{k}`, which is not a choice of this step"),
                            );
                        }
                    }
                }
                if let (Source::From(src), Next::ByKey(_)) = (&c.source, &c.next) {
                    self.err(
                        "next_by_key_dynamic",
                        &step_path(id, "next"),
                        Some(id),
                        format!("choices come from `{src}`, so their keys are not known: `next` must be one step"),
                    );
                }
            }
            StepKind::Do(d) => {
                let Some(spec) = catalog::action(&d.action) else {
                    let known: Vec<&str> = catalog::ACTIONS.iter().map(|a| a.name).collect();
                    self.err(
                        "unknown_action",
                        &step_path(id, "do"),
                        Some(id),
                        format!(
                            "unknown action `{}` (known: {})",
                            d.action,
                            known.join(", ")
                        ),
                    );
                    return;
                };
                for k in d.with.keys() {
                    if !spec.args.iter().any(|a| a.name == k) {
                        let known: Vec<&str> = spec.args.iter().map(|a| a.name).collect();
                        self.err(
                            "unknown_argument",
                            &step_path(id, &format!("with/{k}")),
                            Some(id),
                            format!(
                                "{} has no argument `{k}` (it takes: {})",
                                d.action,
                                if known.is_empty() {
                                    "none".to_string()
                                } else {
                                    known.join(", ")
                                }
                            ),
                        );
                    }
                }
                for a in spec.args.iter().filter(|a| a.required) {
                    if !d.with.contains_key(a.name) {
                        self.err(
                            "missing_argument",
                            &step_path(id, "do"),
                            Some(id),
                            format!(
                                "{} needs argument `{}` (`with: {{ {}: … }}`)",
                                d.action, a.name, a.name
                            ),
                        );
                    }
                }
                for o in d.on.keys().filter(|o| *o != "else") {
                    if spec.outcome(o).is_none() {
                        let known: Vec<&str> = spec.outcomes.iter().map(|o| o.name).collect();
                        self.err(
                            "unknown_outcome",
                            &step_path(id, &format!("on/{o}")),
                            Some(id),
                            format!(
                                "{} has no outcome `{o}` (its outcomes: {})",
                                d.action,
                                known.join(", ")
                            ),
                        );
                    }
                }
                if !d.on.contains_key("else") {
                    for o in spec.outcomes {
                        if !d.on.contains_key(o.name) {
                            let path = if self.flow.locator.exact(&step_path(id, "on")).is_some() {
                                step_path(id, "on")
                            } else {
                                step_path(id, "do")
                            };
                            self.err(
                                "unhandled_outcome",
                                &path,
                                Some(id),
                                format!(
                                    "outcome `{}` of action {} is not handled",
                                    o.name, d.action
                                ),
                            );
                        }
                    }
                }
            }
            StepKind::Go(g) => {
                if let Some(known) = &self.opts.known_flows
                    && !known.contains(&g.flow)
                {
                    self.err(
                        "unknown_flow",
                        &step_path(id, "go"),
                        Some(id),
                        format!("unknown flow `{}`", g.flow),
                    );
                }
            }
            _ => {}
        }
        if let Some(t) = &step.timeout
            && !step.kind.waits()
        {
            self.err(
                "misplaced_field",
                &step_path(id, "timeout"),
                Some(id),
                "`timeout` applies to choose and ask steps".into(),
            );
            let _ = t;
        }
    }

    fn check_triggers(&mut self) {
        let t = &self.def.triggers;
        for (i, ev) in t.events.iter().enumerate() {
            if catalog::event(ev).is_none() {
                let known: Vec<&str> = catalog::EVENTS.iter().map(|e| e.0).collect();
                self.err(
                    "unknown_event",
                    &format!("triggers/events/{i}"),
                    None,
                    format!("unknown event `{ev}` (known: {})", known.join(", ")),
                );
            }
        }
        // Trigger keywords and their translations must not be system keywords: those
        // preempt every flow, so the trigger could never fire.
        let mut words: Vec<(String, String)> = t
            .keywords
            .iter()
            .enumerate()
            .map(|(i, k)| (k.clone(), format!("triggers/keywords/{i}")))
            .collect();
        for k in &t.keywords {
            for lang in &self.opts.languages {
                if let Some(text) = self.flow.messages.literal(lang, &format!("keywords-{k}")) {
                    for w in text.split([',', '\n']).map(fold).filter(|w| !w.is_empty()) {
                        words.push((w, "triggers/keywords".into()));
                    }
                }
            }
        }
        for (w, path) in words {
            if let Some(k) = self.opts.keywords.detect(&w) {
                self.err(
                    "trigger_is_system_keyword",
                    &path,
                    None,
                    format!(
                        "trigger keyword `{w}` is the system keyword {}, which always wins",
                        k.as_str().to_uppercase()
                    ),
                );
            }
        }
        if !t.events.is_empty()
            && t.whatsapp_template.is_none()
            && self.opts.channels.contains(&Channel::Whatsapp)
        {
            let mut d = Diagnostic::warning(
                "whatsapp_needs_template",
                FLOW_FILE,
                format!(
                    "started by {} — possibly more than 24 hours after the customer's last message, \
                     when WhatsApp only delivers approved templates; set `triggers.whatsapp_template`",
                    t.events.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ")
                ),
            )
            .at(self.flow.locate("triggers/events"))
            .channel(Channel::Whatsapp);
            d.step = None;
            self.out.push(d);
        }
    }

    fn reachability(&mut self) -> BTreeSet<&'a str> {
        let def = self.def;
        let mut seen = BTreeSet::new();
        let mut stack = vec![def.start.as_str()];
        while let Some(id) = stack.pop() {
            let Some(step) = def.steps.get(id) else {
                continue;
            };
            if !seen.insert(id) {
                continue;
            }
            for e in self.edges(id, step) {
                stack.push(e.target);
            }
        }
        for id in def.steps.keys() {
            if !seen.contains(id.as_str()) {
                self.err(
                    "unreachable_step",
                    &step_path(id, ""),
                    Some(id),
                    "is never reached from `start`".into(),
                );
            }
        }
        seen
    }

    /// Cycles among steps that never wait for the customer (`choose`/`ask`). `go` ends the
    /// engine's turn, so it bounds a cycle like a wait does.
    fn check_loops(&mut self, reachable: &BTreeSet<&'a str>) {
        let def = self.def;
        let nodes: Vec<&str> = def
            .steps
            .iter()
            .filter(|(id, s)| {
                reachable.contains(id.as_str())
                    && !s.kind.waits()
                    && !matches!(s.kind, StepKind::Go(_))
            })
            .map(|(id, _)| id.as_str())
            .collect();
        let index: HashMap<&str, usize> = nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let succ: Vec<Vec<usize>> = nodes
            .iter()
            .map(|id| {
                self.edges(id, &def.steps[*id])
                    .iter()
                    .filter_map(|e| index.get(e.target).copied())
                    .collect()
            })
            .collect();
        for scc in tarjan(&succ) {
            let cyclic = scc.len() > 1 || succ[scc[0]].contains(&scc[0]);
            if !cyclic {
                continue;
            }
            // Report at the first step of the cycle in document order, with the cycle's path.
            let first = *scc.iter().min().unwrap_or(&scc[0]);
            // The shortest way back to it, within the component (breadth-first).
            let mut prev: HashMap<usize, usize> = HashMap::new();
            let mut queue = std::collections::VecDeque::from([first]);
            'search: while let Some(v) = queue.pop_front() {
                for &w in succ[v].iter().filter(|w| scc.contains(w)) {
                    if w == first {
                        prev.insert(first, v);
                        break 'search;
                    }
                    if let std::collections::hash_map::Entry::Vacant(e) = prev.entry(w) {
                        e.insert(v);
                        queue.push_back(w);
                    }
                }
            }
            let mut back = vec![first];
            let mut cur = prev.get(&first).copied();
            while let Some(v) = cur.filter(|v| *v != first && back.len() <= scc.len()) {
                back.push(v);
                cur = prev.get(&v).copied();
            }
            back.push(first);
            back.reverse();
            let path: Vec<&str> = back.iter().map(|i| nodes[*i]).collect();
            let id = nodes[first];
            self.err(
                "loop_without_wait",
                &step_path(id, ""),
                Some(id),
                format!(
                    "loop that never waits for the customer: {}",
                    path.join(" → ")
                ),
            );
        }
    }

    /// Variables set on every path to each reachable step (context excluded).
    fn available(&self, reachable: &BTreeSet<&'a str>) -> HashMap<&'a str, BTreeSet<String>> {
        let def = self.def;
        let t = &def.triggers;
        // Event variables are guaranteed only if events are the flow's only way in.
        let initial: BTreeSet<String> =
            if !t.events.is_empty() && t.keywords.is_empty() && !t.default && !t.ussd {
                let mut sets = t.events.iter().filter_map(|e| catalog::event(e));
                let first: BTreeSet<String> = sets
                    .next()
                    .map(|v| v.iter().map(|s| s.to_string()).collect())
                    .unwrap_or_default();
                sets.fold(first, |acc, v| {
                    acc.into_iter()
                        .filter(|x| v.contains(&x.as_str()))
                        .collect()
                })
            } else {
                BTreeSet::new()
            };
        let mut inn: HashMap<&str, BTreeSet<String>> = HashMap::new();
        if !reachable.contains(def.start.as_str()) {
            return inn;
        }
        inn.insert(def.start.as_str(), initial);
        let mut work = vec![def.start.as_str()];
        while let Some(id) = work.pop() {
            let cur = inn[id].clone();
            for e in self.edges(id, &def.steps[id]) {
                if !def.steps.contains_key(e.target) {
                    continue;
                }
                let mut out = cur.clone();
                out.extend(e.defs.iter().cloned());
                match inn.get_mut(e.target) {
                    None => {
                        inn.insert(e.target, out);
                        work.push(e.target);
                    }
                    Some(old) => {
                        let before = old.len();
                        old.retain(|v| out.contains(v));
                        if old.len() != before {
                            work.push(e.target);
                        }
                    }
                }
            }
        }
        inn
    }

    fn msg_refs(step: &'a Step) -> Vec<MsgRef<'a>> {
        let mut out = Vec::new();
        let bounds: &'static [&'static str] = &["min", "max"];
        match &step.kind {
            StepKind::Say { message, .. } => out.push(MsgRef {
                path: "say".into(),
                id: message,
                extras: &[],
            }),
            StepKind::End { message: Some(m) } => out.push(MsgRef {
                path: "end".into(),
                id: m,
                extras: &[],
            }),
            StepKind::Choose(c) => {
                out.push(MsgRef {
                    path: "choose/prompt".into(),
                    id: &c.prompt,
                    extras: &[],
                });
                if let Source::Static(list) = &c.source {
                    for (i, ch) in list.iter().enumerate() {
                        out.push(MsgRef {
                            path: format!("choose/choices/{i}/label"),
                            id: &ch.label,
                            extras: &[],
                        });
                        if let Some(s) = &ch.short {
                            out.push(MsgRef {
                                path: format!("choose/choices/{i}/short"),
                                id: s,
                                extras: &[],
                            });
                        }
                        if let Some(s) = &ch.synonyms {
                            out.push(MsgRef {
                                path: format!("choose/choices/{i}/synonyms"),
                                id: s,
                                extras: &[],
                            });
                        }
                    }
                }
                match &c.invalid.message {
                    Some(m) => out.push(MsgRef {
                        path: "invalid/message".into(),
                        id: m,
                        extras: &[],
                    }),
                    None => out.push(MsgRef {
                        path: "choose".into(),
                        id: "invalid-choice",
                        extras: &[],
                    }),
                }
            }
            StepKind::Ask(a) => {
                out.push(MsgRef {
                    path: "ask/prompt".into(),
                    id: &a.prompt,
                    extras: bounds,
                });
                match &a.invalid.message {
                    Some(m) => out.push(MsgRef {
                        path: "invalid/message".into(),
                        id: m,
                        extras: bounds,
                    }),
                    None => out.push(MsgRef {
                        path: "ask".into(),
                        id: "invalid-input",
                        extras: bounds,
                    }),
                }
            }
            _ => {}
        }
        out
    }

    fn has(&self, lang: &str, id: &str) -> bool {
        self.flow.messages.has(lang, id) || self.opts.layers.iter().any(|l| l.has(lang, id))
    }

    fn vars_of(&self, lang: &str, id: &str) -> Option<Vec<String>> {
        if self.flow.messages.has(lang, id) {
            return self.flow.messages.vars(lang, id);
        }
        self.opts
            .layers
            .iter()
            .find(|l| l.has(lang, id))
            .and_then(|l| l.vars(lang, id))
    }

    fn check_messages(
        &mut self,
        reachable: &BTreeSet<&'a str>,
        available: &HashMap<&'a str, BTreeSet<String>>,
    ) {
        let def = self.def;
        let langs = self.opts.languages.clone();
        let present: Vec<&String> = langs
            .iter()
            .filter(|l| {
                self.flow.messages.has_language(l)
                    || self.opts.layers.iter().any(|x| x.has_language(l))
            })
            .collect();
        for l in &langs {
            if !present.contains(&l) {
                self.out.push(Diagnostic::error(
                    "missing_language",
                    format!("{l}.ftl"),
                    format!("language `{l}` is enabled but {l}.ftl is missing"),
                ));
            }
        }
        self.check_translation_arguments(&present);
        let mut reported: BTreeSet<(String, String)> = BTreeSet::new();
        for (id, step) in &def.steps {
            let in_scope = available.get(id.as_str());
            for r in Self::msg_refs(step) {
                let path = step_path(id, &r.path);
                let missing: Vec<String> = present
                    .iter()
                    .filter(|l| !self.has(l, r.id))
                    .map(|l| l.to_string())
                    .collect();
                if !present.is_empty() && missing.len() == present.len() {
                    if reported.insert((r.id.to_string(), String::new())) {
                        let hint = match r.id {
                            "invalid-choice" | "invalid-input" => {
                                " (said when a reply does not fit: define it, or set `invalid.message`)"
                            }
                            _ => "",
                        };
                        self.err(
                            "unknown_message",
                            &path,
                            Some(id),
                            format!("unknown message `{}`{hint}", r.id),
                        );
                    }
                    continue;
                }
                for l in &missing {
                    if reported.insert((r.id.to_string(), l.clone())) {
                        self.err(
                            "missing_translation",
                            &path,
                            Some(id),
                            format!("message `{}` is missing in `{l}` ({l}.ftl)", r.id),
                        );
                    }
                }
                // Arguments: only for steps whose inputs are known (reachable ones).
                let Some(in_scope) = in_scope.filter(|_| reachable.contains(id.as_str())) else {
                    continue;
                };
                let mut unset: BTreeMap<String, Vec<String>> = BTreeMap::new();
                for l in &present {
                    for var in self.vars_of(l, r.id).unwrap_or_default() {
                        let ok = in_scope.contains(&var)
                            || catalog::context(&var).is_some()
                            || r.extras.contains(&var.as_str());
                        if !ok {
                            unset.entry(var).or_default().push(l.to_string());
                        }
                    }
                }
                for (var, ls) in unset {
                    let where_ = if ls.len() == present.len() {
                        String::new()
                    } else {
                        format!(" (in {})", list(&ls))
                    };
                    self.err(
                        "argument_not_set",
                        &path,
                        Some(id),
                        format!("message `{}` uses `${var}`{where_}, which is not set when this step runs", r.id),
                    );
                }
            }
            let Some(in_scope) = in_scope.filter(|_| reachable.contains(id.as_str())) else {
                continue;
            };
            let is_set = |v: &str| in_scope.contains(v) || catalog::context(v).is_some();
            let mut conds: Vec<(String, Vec<String>)> = Vec::new();
            match &step.kind {
                StepKind::Branch(b) => {
                    for (i, (e, _)) in b.arms.iter().enumerate() {
                        let mut vs = Vec::new();
                        e.vars(&mut vs);
                        conds.push((format!("branch/{i}/when"), vs));
                    }
                }
                StepKind::Choose(c) => {
                    if let Source::Static(list) = &c.source {
                        for (i, ch) in list.iter().enumerate() {
                            if let Some(w) = &ch.when {
                                let mut vs = Vec::new();
                                w.vars(&mut vs);
                                conds.push((format!("choose/choices/{i}/when"), vs));
                            }
                        }
                    }
                    if let Source::From(src) = &c.source {
                        let p = step_path(id, "choose/from");
                        if !is_set(src) {
                            self.err(
                                "source_not_set",
                                &p,
                                Some(id),
                                format!("choice source `{src}` is not set when this step runs"),
                            );
                        } else if catalog::kind_of(src).is_some_and(|k| k != VarKind::List) {
                            self.err(
                                "source_not_list",
                                &p,
                                Some(id),
                                format!("`{src}` is not a list of choices"),
                            );
                        }
                    }
                }
                StepKind::Do(d) => {
                    let spec = catalog::action(&d.action);
                    for (k, a) in &d.with {
                        // An optional argument whose variable is unset is simply left out.
                        let optional = spec
                            .and_then(|s| s.args.iter().find(|x| x.name == k))
                            .is_some_and(|x| !x.required);
                        if let Arg::Var(v) = a
                            && !optional
                            && !is_set(v)
                        {
                            self.err(
                                "argument_not_set",
                                &step_path(id, &format!("with/{k}")),
                                Some(id),
                                format!("`${v}` is not set when this step runs"),
                            );
                        }
                    }
                }
                _ => {}
            }
            for (p, vs) in conds {
                for v in vs.into_iter().filter(|v| !is_set(v)) {
                    self.err(
                        "condition_not_set",
                        &step_path(id, &p),
                        Some(id),
                        format!(
                            "condition uses `{v}`, which is not set on every path to this step"
                        ),
                    );
                }
            }
        }
    }

    /// A translation should use the arguments the source (en) uses: one that drops
    /// `$service_label` silently tells its readers less. Warned in the translation's file.
    fn check_translation_arguments(&mut self, present: &[&String]) {
        let m = &self.flow.messages;
        let source = if m.has_language("en") { "en" } else { return };
        for id in m.ids(source) {
            let Some(mut want) = m.vars(source, id) else {
                continue;
            };
            want.sort();
            for lang in present.iter().filter(|l| l.as_str() != source) {
                let Some(mut got) = m.vars(lang, id) else {
                    continue;
                };
                got.sort();
                if got == want {
                    continue;
                }
                let missing: Vec<String> = want
                    .iter()
                    .filter(|v| !got.contains(v))
                    .map(|v| format!("${v}"))
                    .collect();
                let extra: Vec<String> = got
                    .iter()
                    .filter(|v| !want.contains(v))
                    .map(|v| format!("${v}"))
                    .collect();
                let mut parts = Vec::new();
                if !missing.is_empty() {
                    parts.push(format!("does not use {}", list(&missing)));
                }
                if !extra.is_empty() {
                    parts.push(format!("uses {}, which {source} does not", list(&extra)));
                }
                let text = self
                    .flow
                    .source
                    .messages
                    .get(lang.as_str())
                    .map_or("", String::as_str);
                let pos = text
                    .lines()
                    .position(|l| {
                        l.strip_prefix(id)
                            .is_some_and(|r| r.trim_start().starts_with('='))
                    })
                    .map(|i| crate::locate::Pos {
                        line: i + 1,
                        column: 1,
                    });
                self.out.push(
                    Diagnostic::warning(
                        "translation_arguments_differ",
                        format!("{lang}.ftl"),
                        format!(
                            "message `{id}` {} (unlike {source}.ftl)",
                            parts.join(" and ")
                        ),
                    )
                    .at(pos),
                );
            }
        }
    }

    /// Sample arguments for a message (validation formats with realistic values). Variant
    /// `n > 0` sets every number to [`NUMBER_VARIANTS`]`[n - 1]`, so each plural branch of a
    /// select is measured too (`[0] You are next.` may need UCS-2 where `[other]` does not).
    fn sample_args(&self, lang: &str, id: &str, n: usize) -> Vec<(String, Value)> {
        self.vars_of(lang, id)
            .unwrap_or_default()
            .into_iter()
            .map(|v| {
                let s = match (catalog::sample(&v), n) {
                    (Value::Int(_), n) if n > 0 => Value::Int(NUMBER_VARIANTS[n - 1]),
                    (s, _) => s,
                };
                (v, s)
            })
            .collect()
    }

    fn msg(&self, lang: &str, id: &str) -> Msg {
        self.msg_n(lang, id, 0)
    }

    fn msg_n(&self, lang: &str, id: &str, n: usize) -> Msg {
        Msg {
            id: id.to_string(),
            args: self.sample_args(lang, id, n),
        }
    }

    fn check_channels(&mut self, reachable: &BTreeSet<&'a str>) {
        if self.opts.channels.is_empty() {
            return;
        }
        let localizer = Localizer::new(&self.flow.messages, &self.opts.layers);
        // (step, channel, code) → (key path, summary, [(detail, languages)])
        type Found = (String, &'static str, Vec<(String, Vec<String>)>);
        let mut found: BTreeMap<(usize, Channel, &'static str), Found> = BTreeMap::new();
        let langs = self.opts.languages.clone();
        for (pos, (id, step)) in self.def.steps.iter().enumerate() {
            if !reachable.contains(id.as_str()) {
                continue;
            }
            for lang in &langs {
                let chain = locale_chain(Some(lang), None);
                for &channel in &self.opts.channels {
                    let r = Renderer::new(&localizer, chain.clone(), channel).with_options(|o| {
                        o.ussd_page_budget = self.opts.ladder.ussd_page_budget;
                        o.ussd_ucs2_page_budget = self.opts.ladder.ussd_ucs2_page_budget;
                    });
                    for p in self.check_step_on(&r, lang, step) {
                        let e = found.entry((pos, channel, p.code)).or_insert((
                            p.path,
                            p.summary,
                            Vec::new(),
                        ));
                        match e.2.iter_mut().find(|(d, _)| *d == p.detail) {
                            Some((_, ls)) => ls.push(lang.clone()),
                            None => e.2.push((p.detail, vec![lang.clone()])),
                        }
                    }
                }
            }
        }
        for ((pos, channel, code), (path, summary, details)) in found {
            let id = self
                .def
                .steps
                .get_index(pos)
                .map(|(k, _)| k.clone())
                .unwrap_or_default();
            let parts: Vec<String> = details
                .iter()
                .map(|(d, ls)| {
                    if ls.len() == langs.len() {
                        format!("{d} (all languages)")
                    } else {
                        format!("{d} (in {})", list(ls))
                    }
                })
                .collect();
            let d =
                Diagnostic::warning(code, FLOW_FILE, format!("{summary}: {}", parts.join("; ")))
                    .at(self.flow.locate(&step_path(&id, &path)))
                    .step(id)
                    .channel(channel);
            self.out.push(d);
        }
    }

    /// Per-channel problems of one step in one language: (key path, code, message). The
    /// message of the first language found is kept; later languages are listed.
    fn check_step_on(&self, r: &Renderer<'_>, lang: &str, step: &Step) -> Vec<Problem> {
        let mut out = Vec::new();
        let channel = r.channel();
        let budget = |text: &str| {
            let o = r.options();
            if sms::is_gsm7(text) {
                o.ussd_page_budget
            } else {
                o.ussd_page_budget.min(o.ussd_ucs2_page_budget)
            }
        };
        let mut text_check = |path: &str, text: String| match channel {
            Channel::Ussd => {
                let (n, b) = (text.chars().count(), budget(&text));
                if n > b {
                    out.push(Problem::new(
                        path,
                        "ussd_over_budget",
                        "USSD screen over the page budget",
                        format!("{n} > {b} characters"),
                    ));
                }
            }
            Channel::Sms => {
                let info = sms::analyse(&text);
                if info.segments > self.opts.max_sms_segments {
                    out.push(Problem::new(
                        path,
                        "sms_too_many_segments",
                        "SMS over the segment limit",
                        format!(
                            "{} > {} segments",
                            info.segments, self.opts.max_sms_segments
                        ),
                    ));
                }
            }
            _ => {}
        };
        match &step.kind {
            StepKind::Say { message, .. } => {
                for n in 0..=NUMBER_VARIANTS.len() {
                    text_check("say", r.text(&self.msg_n(lang, message, n)));
                }
            }
            StepKind::End { message: Some(m) } => {
                for n in 0..=NUMBER_VARIANTS.len() {
                    text_check("end", r.text(&self.msg_n(lang, m, n)));
                }
            }
            StepKind::Ask(a) => {
                for n in 0..=NUMBER_VARIANTS.len() {
                    text_check("ask/prompt", r.text(&self.msg_n(lang, &a.prompt, n)));
                }
            }
            StepKind::Choose(c) => {
                let prompt = self.msg(lang, &c.prompt);
                let choices: Vec<ChoiceOut> = match &c.source {
                    Source::Static(list) => list
                        .iter()
                        .map(|ch| ChoiceOut {
                            key: ch.key.clone(),
                            label: Label::Message(self.msg(lang, &ch.label)),
                            short: ch.short.as_ref().map(|s| self.msg(lang, s)),
                            synonyms: ch.synonyms.clone(),
                            detail: None,
                        })
                        .collect(),
                    Source::From(src) => match catalog::sample(src) {
                        Value::List(items) => items
                            .into_iter()
                            .map(|it| ChoiceOut {
                                key: it.key,
                                label: Label::Text(it.label),
                                short: None,
                                synonyms: None,
                                detail: it.detail,
                            })
                            .collect(),
                        _ => return out,
                    },
                };
                let prompt_text = r.text(&prompt);
                let lchoices = r.choices(&choices);
                match ladder::Ladder::new(channel, &prompt_text, &lchoices, r.options()) {
                    Err(e) => {
                        let code = match e {
                            LadderError::UssdChoiceTooLong { .. }
                            | LadderError::UssdPromptTooLong { .. } => "ussd_over_budget",
                            LadderError::MessageTooLong { .. } => "message_too_long_for_channel",
                            _ => "cannot_render",
                        };
                        let (summary, detail) = match &e {
                            LadderError::UssdPromptTooLong { chars, budget } => (
                                "USSD screen over the page budget",
                                format!(
                                    "prompt of {chars} characters cannot fit {budget} with a choice and \"More\""
                                ),
                            ),
                            LadderError::UssdChoiceTooLong { key, chars, budget } => (
                                "USSD screen over the page budget",
                                format!(
                                    "choice `{key}` is a {chars}-character line, over {budget}"
                                ),
                            ),
                            e => ("cannot show this step", e.to_string()),
                        };
                        out.push(Problem::new("choose", code, summary, detail));
                    }
                    Ok(l) => {
                        for fb in l.fallbacks() {
                            // Labels of dynamic sources are the tenant's data, not the flow's:
                            // the flow cannot give them a `short:`, and the list fallback is fine.
                            if let (
                                Rung::WhatsAppButtons,
                                FallReason::TitleTooLong { key, chars, limit },
                                Source::Static(_),
                            ) = (fb.from, &fb.reason, &c.source)
                            {
                                let i = match &c.source {
                                    Source::Static(list) => {
                                        list.iter().position(|ch| &ch.key == key)
                                    }
                                    Source::From(_) => None,
                                };
                                let path = i.map_or("choose".to_string(), |i| {
                                    format!("choose/choices/{i}/label")
                                });
                                out.push(Problem::new(
                                    &path,
                                    "button_label_too_long",
                                    "button label over the limit without a `short:` that fits (the step falls back to a list)",
                                    format!("`{key}` is {chars} > {limit} characters"),
                                ));
                            }
                        }
                        if channel == Channel::Sms {
                            for page in l.render_all() {
                                if let ladder::Rendered::SmsText { info, .. } = &page.view
                                    && info.segments > self.opts.max_sms_segments
                                {
                                    out.push(Problem::new(
                                        "choose/prompt",
                                        "sms_too_many_segments",
                                        "SMS over the segment limit",
                                        format!(
                                            "page {} is {} > {} segments",
                                            page.page + 1,
                                            info.segments,
                                            self.opts.max_sms_segments
                                        ),
                                    ));
                                    break;
                                }
                            }
                        }
                    }
                }
            }
            _ => {}
        }
        // One problem per code: the first (default samples) is reported.
        let mut seen = BTreeSet::new();
        out.retain(|p| seen.insert(p.code));
        out
    }
}

/// Numbers tried in turn for every numeric argument: one per CLDR plural category that
/// the five languages use (zero/one/two/few/many/other), plus a three-digit one.
const NUMBER_VARIANTS: [i64; 6] = [0, 1, 2, 3, 11, 100];

/// A per-channel problem of one step in one language.
struct Problem {
    path: String,
    code: &'static str,
    /// The same for every language (the diagnostic's message).
    summary: &'static str,
    /// Numbers that may differ per language.
    detail: String,
}

impl Problem {
    fn new(path: &str, code: &'static str, summary: &'static str, detail: String) -> Self {
        Problem {
            path: path.to_string(),
            code,
            summary,
            detail,
        }
    }
}

/// Strongly connected components (Tarjan), each as node indices.
fn tarjan(succ: &[Vec<usize>]) -> Vec<Vec<usize>> {
    struct T<'s> {
        succ: &'s [Vec<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    impl T<'_> {
        fn visit(&mut self, v: usize) {
            self.index[v] = Some(self.next);
            self.low[v] = self.next;
            self.next += 1;
            self.stack.push(v);
            self.on[v] = true;
            for i in 0..self.succ[v].len() {
                let w = self.succ[v][i];
                match self.index[w] {
                    None => {
                        self.visit(w);
                        self.low[v] = self.low[v].min(self.low[w]);
                    }
                    Some(iw) if self.on[w] => self.low[v] = self.low[v].min(iw),
                    _ => {}
                }
            }
            if Some(self.low[v]) == self.index[v] {
                let mut comp = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on[w] = false;
                    comp.push(w);
                    if w == v {
                        break;
                    }
                }
                self.out.push(comp);
            }
        }
    }
    let n = succ.len();
    let mut t = T {
        succ,
        index: vec![None; n],
        low: vec![0; n],
        on: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if t.index[v].is_none() {
            t.visit(v);
        }
    }
    t.out
}
