//! Loading `flow.yaml`: size and depth limits, YAML parsing, spec migration, then the typed
//! model with every shape error located.

use indexmap::IndexMap;
use yaml_serde::Value as Yaml;

use crate::diag::Diagnostic;
use crate::expr::Expr;
use crate::keywords::Keyword;
use crate::limits::Limits;
use crate::locate::{Locator, Pos};
use crate::migrate;
use crate::model::*;
use crate::value::Value;

pub(crate) const FLOW_FILE: &str = "flow.yaml";

/// Default `expire_after`.
pub const DEFAULT_EXPIRE_AFTER: Duration = Duration(30 * 60);

/// yaml_serde's message without its trailing " at line L column C" (we print the position
/// in front, like a compiler).
pub(crate) fn yaml_message(e: &yaml_serde::Error) -> String {
    let s = e.to_string();
    match s.find(" at line ") {
        Some(i) => {
            let rest = &s[i + " at line ".len()..];
            // Keep whatever follows the "L column C" part (libyaml adds context).
            let tail = rest
                .split_once(" column ")
                .map(|(_, t)| t.trim_start_matches(|c: char| c.is_ascii_digit()))
                .unwrap_or("");
            format!("{}{}", &s[..i], tail)
        }
        None => s,
    }
}

pub(crate) fn yaml_pos(e: &yaml_serde::Error) -> Option<Pos> {
    e.location().map(|l| Pos {
        line: l.line(),
        column: l.column(),
    })
}

fn depth(v: &Yaml) -> usize {
    match v {
        Yaml::Sequence(s) => 1 + s.iter().map(depth).max().unwrap_or(0),
        Yaml::Mapping(m) => 1 + m.values().map(depth).max().unwrap_or(0),
        Yaml::Tagged(t) => depth(&t.value),
        _ => 0,
    }
}

pub(crate) fn definition_from_yaml(
    text: &str,
    loc: &Locator,
    limits: &Limits,
) -> Result<FlowDefinition, Vec<Diagnostic>> {
    let fail = |code, pos, msg: String| vec![Diagnostic::error(code, FLOW_FILE, msg).at(pos)];
    if text.len() > limits.max_file_bytes {
        return Err(fail(
            "file_too_large",
            None,
            format!(
                "{} bytes is over the limit of {} bytes",
                text.len(),
                limits.max_file_bytes
            ),
        ));
    }
    let mut doc: Yaml = yaml_serde::from_str(text)
        .map_err(|e| fail("yaml_syntax", yaml_pos(&e), yaml_message(&e)))?;
    let d = depth(&doc);
    if d > limits.max_depth {
        return Err(fail(
            "too_deep",
            None,
            format!(
                "the document is nested {d} levels deep; the limit is {}",
                limits.max_depth
            ),
        ));
    }
    if !doc.is_mapping() {
        return Err(fail(
            "not_a_flow",
            Some(Pos { line: 1, column: 1 }),
            "a flow is a mapping with `flow`, `spec`, `name`, `start` and `steps`".into(),
        ));
    }
    let spec_pos = loc.exact("spec");
    let spec = match doc.get("spec") {
        None => {
            return Err(fail(
                "missing_spec",
                None,
                format!("missing `spec` (the current is {SPEC})"),
            ));
        }
        Some(v) => match v.as_u64() {
            Some(n) if n <= u64::from(u32::MAX) => n as u32,
            _ => {
                return Err(fail(
                    "bad_spec",
                    spec_pos,
                    "`spec` must be a whole number".into(),
                ));
            }
        },
    };
    let raw: RawFlow = if spec == SPEC {
        yaml_serde::from_str(text)
            .map_err(|e| fail("flow_shape", yaml_pos(&e), yaml_message(&e)))?
    } else {
        migrate::migrate(&mut doc, spec).map_err(|m| fail("spec_migration", spec_pos, m))?;
        yaml_serde::from_value(doc).map_err(|e| fail("flow_shape", None, yaml_message(&e)))?
    };
    build(raw, loc, limits)
}

struct Ctx<'a> {
    loc: &'a Locator,
    limits: &'a Limits,
    errs: Vec<Diagnostic>,
}

impl Ctx<'_> {
    fn err(&mut self, code: &'static str, path: &str, step: Option<&str>, msg: impl Into<String>) {
        let mut d = Diagnostic::error(code, FLOW_FILE, msg).at(self.loc.find(path));
        if let Some(s) = step {
            d = d.step(s);
        }
        self.errs.push(d);
    }

    fn message_id(&mut self, id: &str, path: &str, step: &str) {
        if !is_message_id(id) {
            self.err(
                "bad_message_id",
                path,
                Some(step),
                format!("`{id}` is not a message id (letters, digits, `-`, `_`)"),
            );
        }
    }

    fn step_ref(&mut self, id: &str, path: &str, step: &str) -> StepId {
        if !is_ident(id) {
            self.err(
                "bad_step_id",
                path,
                Some(step),
                format!("`{id}` is not a step id"),
            );
        }
        id.to_string()
    }

    fn var(&mut self, name: &str, path: &str, step: &str) -> String {
        if !is_var_name(name) {
            self.err(
                "bad_variable",
                path,
                Some(step),
                format!("`{name}` is not a variable name (lowercase letters, digits, `_`)"),
            );
        }
        name.to_string()
    }

    fn condition(&mut self, src: &str, path: &str, step: &str) -> Option<Expr> {
        if src.chars().count() > self.limits.max_condition_chars {
            self.err(
                "condition_too_long",
                path,
                Some(step),
                format!(
                    "condition is over {} characters",
                    self.limits.max_condition_chars
                ),
            );
            return None;
        }
        match Expr::parse(src) {
            Ok(e) => Some(e),
            Err(e) => {
                self.err(
                    "bad_condition",
                    path,
                    Some(step),
                    format!("condition `{src}`: {e}"),
                );
                None
            }
        }
    }

    fn invalid(&mut self, raw: Option<RawInvalid>, base: &str, step: &str) -> Invalid {
        let Some(raw) = raw else {
            return Invalid::default();
        };
        if let Some(m) = &raw.message {
            self.message_id(m, &format!("{base}/invalid/message"), step);
        }
        let next = raw
            .next
            .map(|n| self.step_ref(&n, &format!("{base}/invalid/next"), step));
        Invalid {
            message: raw.message,
            retries: raw.retries.unwrap_or(3).min(10),
            next,
        }
    }
}

fn build(raw: RawFlow, loc: &Locator, limits: &Limits) -> Result<FlowDefinition, Vec<Diagnostic>> {
    let mut cx = Ctx {
        loc,
        limits,
        errs: Vec::new(),
    };
    if !is_ident(&raw.flow) {
        cx.err(
            "bad_flow_id",
            "flow",
            None,
            format!(
                "`{}` is not a flow id (lowercase letters, digits, `-`, `_`)",
                raw.flow
            ),
        );
    }
    if raw.name.trim().is_empty() {
        cx.err("empty_name", "name", None, "`name` is empty");
    }
    let expire_after = match raw.expire_after.as_deref().map(Duration::parse) {
        None => DEFAULT_EXPIRE_AFTER,
        Some(Ok(d)) => d,
        Some(Err(e)) => {
            cx.err("bad_duration", "expire_after", None, e);
            DEFAULT_EXPIRE_AFTER
        }
    };
    let mut let_through = Vec::new();
    for (i, k) in raw.let_through.iter().enumerate() {
        let path = format!("let_through/{i}");
        match k.parse::<Keyword>() {
            Ok(Keyword::Stop) => cx.err(
                "stop_let_through",
                &path,
                None,
                "STOP cannot be let through: opting out must always work",
            ),
            Ok(k) => let_through.push(k),
            Err(e) => cx.err("unknown_keyword", &path, None, e),
        }
    }
    let triggers = Triggers {
        keywords: raw
            .triggers
            .keywords
            .iter()
            .map(|k| crate::keywords::fold(k))
            .collect(),
        ussd: raw.triggers.ussd,
        default: raw.triggers.default,
        events: raw.triggers.events,
        whatsapp_template: raw.triggers.whatsapp_template,
    };
    for (i, k) in triggers.keywords.iter().enumerate() {
        if k.is_empty() {
            cx.err(
                "empty_keyword",
                &format!("triggers/keywords/{i}"),
                None,
                "empty trigger keyword",
            );
        }
    }
    let start = cx.step_ref(&raw.start, "start", "");
    if raw.steps.len() > limits.max_steps {
        cx.err(
            "too_many_steps",
            "steps",
            None,
            format!(
                "{} steps; the limit is {}",
                raw.steps.len(),
                limits.max_steps
            ),
        );
    }
    let mut steps = IndexMap::with_capacity(raw.steps.len());
    for (id, rs) in raw.steps {
        let base = format!("steps/{id}");
        if !is_ident(&id) {
            cx.err(
                "bad_step_id",
                &base,
                None,
                format!("`{id}` is not a step id (lowercase letters, digits, `-`, `_`)"),
            );
        }
        if let Some(step) = build_step(&mut cx, &id, &base, rs) {
            steps.insert(id, step);
        }
    }
    if !cx.errs.is_empty() {
        return Err(cx.errs);
    }
    Ok(FlowDefinition {
        flow: raw.flow,
        spec: SPEC,
        name: raw.name,
        version: 0,
        expire_after,
        triggers,
        let_through,
        start,
        steps,
        message_args: Default::default(),
    })
}

fn build_step(cx: &mut Ctx<'_>, id: &str, base: &str, rs: RawStep) -> Option<Step> {
    let kinds: Vec<&str> = [
        ("say", rs.say.is_some()),
        ("choose", rs.choose.is_some()),
        ("ask", rs.ask.is_some()),
        ("do", rs.act.is_some()),
        ("branch", rs.branch.is_some()),
        ("go", rs.go.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, on)| on.then_some(k))
    .collect();
    if kinds.len() > 1 {
        cx.err(
            "several_kinds",
            &format!("{base}/{}", kinds[1]),
            Some(id),
            format!(
                "a step does one thing; this one has both `{}` and `{}`",
                kinds[0], kinds[1]
            ),
        );
        return None;
    }
    let kind = kinds
        .first()
        .copied()
        .unwrap_or(if rs.end.is_some() { "end" } else { "" });
    if kind.is_empty() {
        cx.err(
            "no_kind",
            base,
            Some(id),
            "a step needs one of `say`, `choose`, `ask`, `do`, `branch`, `go` or `end`",
        );
        return None;
    }
    // Fields each kind accepts, so a misplaced key is an error rather than silently ignored.
    let allowed: &[&str] = match kind {
        "say" => &["next", "end"],
        "choose" => &["next", "save", "timeout", "invalid"],
        "ask" => &["next", "save", "timeout", "invalid"],
        "do" => &["with", "on", "next"],
        "branch" => &["else"],
        "go" => &[],
        _ => &["end"],
    };
    let present = [
        ("next", rs.next.is_some()),
        ("end", rs.end.is_some()),
        ("save", rs.save.is_some()),
        ("timeout", rs.timeout.is_some()),
        ("invalid", rs.invalid.is_some()),
        ("with", rs.with.is_some()),
        ("on", rs.on.is_some()),
        ("else", rs.otherwise.is_some()),
    ];
    let mut ok = true;
    for (field, on) in present {
        if on && !allowed.contains(&field) {
            cx.err(
                "misplaced_field",
                &format!("{base}/{field}"),
                Some(id),
                format!("`{field}` does not apply to a `{kind}` step"),
            );
            ok = false;
        }
    }
    if !ok {
        return None;
    }
    let timeout = rs.timeout.and_then(|t| {
        let after = match Duration::parse(&t.after) {
            Ok(d) => d,
            Err(e) => {
                cx.err(
                    "bad_duration",
                    &format!("{base}/timeout/after"),
                    Some(id),
                    e,
                );
                return None;
            }
        };
        let next = t
            .next
            .map(|n| cx.step_ref(&n, &format!("{base}/timeout/next"), id));
        Some(Timeout { after, next })
    });
    let single_next = |cx: &mut Ctx<'_>, v: &Option<Yaml>, required: bool| -> Option<StepId> {
        match v {
            None if required => {
                cx.err(
                    "missing_next",
                    base,
                    Some(id),
                    format!("a `{kind}` step needs `next:`"),
                );
                None
            }
            None => None,
            Some(Yaml::String(s)) => Some(cx.step_ref(s, &format!("{base}/next"), id)),
            Some(_) => {
                cx.err(
                    "bad_next",
                    &format!("{base}/next"),
                    Some(id),
                    "`next:` here is one step id",
                );
                None
            }
        }
    };
    let kind = match kind {
        "say" => {
            let message = rs.say.unwrap_or_default();
            cx.message_id(&message, &format!("{base}/say"), id);
            let then = match (&rs.next, &rs.end) {
                (Some(_), Some(_)) => {
                    cx.err(
                        "next_and_end",
                        &format!("{base}/end"),
                        Some(id),
                        "a step has `next:` or `end:`, not both",
                    );
                    return None;
                }
                (None, Some(Yaml::Bool(true))) => Then::End,
                (None, Some(_)) => {
                    cx.err(
                        "bad_end",
                        &format!("{base}/end"),
                        Some(id),
                        "after `say:`, write `end: true`",
                    );
                    return None;
                }
                (None, None) => {
                    cx.err(
                        "missing_next",
                        base,
                        Some(id),
                        "a `say` step needs `next:` or `end: true`",
                    );
                    return None;
                }
                (Some(_), None) => Then::Next(single_next(cx, &rs.next, true)?),
            };
            StepKind::Say { message, then }
        }
        "choose" => {
            let c = rs.choose?;
            cx.message_id(&c.prompt, &format!("{base}/choose/prompt"), id);
            let source = match (c.from, c.choices) {
                (Some(_), Some(_)) => {
                    cx.err(
                        "from_and_choices",
                        &format!("{base}/choose/choices"),
                        Some(id),
                        "use `from:` or `choices:`, not both",
                    );
                    return None;
                }
                (None, None) => {
                    cx.err(
                        "no_choices",
                        &format!("{base}/choose"),
                        Some(id),
                        "`choose` needs `choices:` or `from:`",
                    );
                    return None;
                }
                (Some(f), None) => Source::From(cx.var(&f, &format!("{base}/choose/from"), id)),
                (None, Some(list)) => {
                    if list.is_empty() {
                        cx.err(
                            "no_choices",
                            &format!("{base}/choose/choices"),
                            Some(id),
                            "`choices:` is empty",
                        );
                    }
                    if list.len() > cx.limits.max_choices {
                        cx.err(
                            "too_many_choices",
                            &format!("{base}/choose/choices"),
                            Some(id),
                            format!(
                                "{} choices; the limit is {}",
                                list.len(),
                                cx.limits.max_choices
                            ),
                        );
                    }
                    let mut out: Vec<Choice> = Vec::with_capacity(list.len());
                    for (i, rc) in list.into_iter().enumerate() {
                        let p = format!("{base}/choose/choices/{i}");
                        let key = match scalar_string(&rc.key) {
                            Some(k) if is_ident(&k) => k,
                            _ => {
                                cx.err("bad_choice_key", &format!("{p}/key"), Some(id), "a choice key is a short id (lowercase letters, digits, `-`, `_`)");
                                continue;
                            }
                        };
                        if out.iter().any(|c| c.key == key) {
                            cx.err(
                                "duplicate_choice",
                                &format!("{p}/key"),
                                Some(id),
                                format!("choice `{key}` appears twice"),
                            );
                        }
                        cx.message_id(&rc.label, &format!("{p}/label"), id);
                        if let Some(s) = &rc.short {
                            cx.message_id(s, &format!("{p}/short"), id);
                        }
                        if let Some(s) = &rc.synonyms {
                            cx.message_id(s, &format!("{p}/synonyms"), id);
                        }
                        let when = rc
                            .when
                            .as_deref()
                            .and_then(|w| cx.condition(w, &format!("{p}/when"), id));
                        out.push(Choice {
                            key,
                            label: rc.label,
                            short: rc.short,
                            synonyms: rc.synonyms,
                            when,
                        });
                    }
                    Source::Static(out)
                }
            };
            let next = match rs.next {
                Some(Yaml::Mapping(m)) => {
                    let mut by = IndexMap::new();
                    for (k, v) in m {
                        let (Some(k), Some(v)) = (scalar_string(&k), v.as_str()) else {
                            cx.err(
                                "bad_next",
                                &format!("{base}/next"),
                                Some(id),
                                "`next:` maps each choice key to a step id",
                            );
                            return None;
                        };
                        let target = cx.step_ref(v, &format!("{base}/next/{k}"), id);
                        by.insert(k, target);
                    }
                    Next::ByKey(by)
                }
                other => Next::One(single_next(cx, &other, true)?),
            };
            let save = rs.save.map_or_else(
                || "choice".to_string(),
                |s| cx.var(&s, &format!("{base}/save"), id),
            );
            let invalid = cx.invalid(rs.invalid, base, id);
            StepKind::Choose(Choose {
                prompt: c.prompt,
                source,
                save,
                next,
                invalid,
            })
        }
        "ask" => {
            let a = rs.ask?;
            cx.message_id(&a.prompt, &format!("{base}/ask/prompt"), id);
            let kp = format!("{base}/ask/type");
            let bounds_ok = |cx: &mut Ctx<'_>, what: &str| {
                if a.min.is_some() || a.max.is_some() {
                    cx.err(
                        "misplaced_field",
                        &format!("{base}/ask"),
                        Some(id),
                        format!("`min`/`max` do not apply to `{what}`"),
                    );
                }
            };
            let input = match a.kind.as_deref().unwrap_or("text") {
                "text" => {
                    let conv = |v: Option<i64>| v.map(|n| n.clamp(0, 10_000) as u32);
                    InputKind::Text {
                        min: conv(a.min),
                        max: conv(a.max),
                    }
                }
                "number" => InputKind::Number {
                    min: a.min,
                    max: a.max,
                },
                "phone" => {
                    bounds_ok(cx, "phone");
                    InputKind::Phone
                }
                "date" => {
                    bounds_ok(cx, "date");
                    InputKind::Date
                }
                "time" => {
                    bounds_ok(cx, "time");
                    InputKind::Time
                }
                "yes_no" => {
                    bounds_ok(cx, "yes_no");
                    InputKind::YesNo
                }
                other => {
                    cx.err(
                        "bad_input_type",
                        &kp,
                        Some(id),
                        format!(
                            "unknown input type `{other}` (text, number, phone, date, time, yes_no)"
                        ),
                    );
                    return None;
                }
            };
            if let (Some(lo), Some(hi)) = (a.min, a.max)
                && lo > hi
            {
                cx.err(
                    "bad_bounds",
                    &format!("{base}/ask/min"),
                    Some(id),
                    format!("min {lo} is above max {hi}"),
                );
            }
            let Some(save) = rs.save else {
                cx.err(
                    "missing_save",
                    base,
                    Some(id),
                    "an `ask` step needs `save:` (the variable the answer goes in)",
                );
                return None;
            };
            let save = cx.var(&save, &format!("{base}/save"), id);
            let next = single_next(cx, &rs.next, true)?;
            let invalid = cx.invalid(rs.invalid, base, id);
            StepKind::Ask(Ask {
                prompt: a.prompt,
                input,
                save,
                next,
                invalid,
            })
        }
        "do" => {
            let action = rs.act.unwrap_or_default();
            let mut with = IndexMap::new();
            for (k, v) in rs.with.unwrap_or_default() {
                let p = format!("{base}/with/{k}");
                let k = cx.var(&k, &p, id);
                let arg = match &v {
                    Yaml::String(s) if s.starts_with('$') => Arg::Var(cx.var(&s[1..], &p, id)),
                    Yaml::String(s) => Arg::Lit(Value::Text(s.clone())),
                    Yaml::Bool(b) => Arg::Lit(Value::Bool(*b)),
                    Yaml::Number(n) if n.as_i64().is_some() => {
                        Arg::Lit(Value::Int(n.as_i64().unwrap_or_default()))
                    }
                    _ => {
                        cx.err(
                            "bad_argument",
                            &p,
                            Some(id),
                            "an argument is `$variable`, text, a whole number or true/false",
                        );
                        continue;
                    }
                };
                with.insert(k, arg);
            }
            let mut on = IndexMap::new();
            for (outcome, target) in rs.on.unwrap_or_default() {
                let t = cx.step_ref(&target, &format!("{base}/on/{outcome}"), id);
                on.insert(outcome, t);
            }
            if let Some(n) = single_next(cx, &rs.next, false) {
                if on.contains_key("else") {
                    cx.err(
                        "next_and_else",
                        &format!("{base}/next"),
                        Some(id),
                        "`next:` on a `do` step means `on: { else: … }`; it is set twice",
                    );
                }
                on.insert("else".into(), n);
            }
            if on.is_empty() {
                cx.err(
                    "missing_next",
                    base,
                    Some(id),
                    "a `do` step needs `on:` (outcome → step) or `next:`",
                );
                return None;
            }
            StepKind::Do(Do { action, with, on })
        }
        "branch" => {
            let arms_raw = rs.branch.unwrap_or_default();
            if arms_raw.len() > cx.limits.max_branch_arms {
                cx.err(
                    "too_many_arms",
                    &format!("{base}/branch"),
                    Some(id),
                    format!(
                        "{} arms; the limit is {}",
                        arms_raw.len(),
                        cx.limits.max_branch_arms
                    ),
                );
            }
            let mut arms = Vec::new();
            for (i, a) in arms_raw.into_iter().enumerate() {
                let p = format!("{base}/branch/{i}");
                let cond = cx.condition(&a.when, &format!("{p}/when"), id);
                let t = cx.step_ref(&a.next, &format!("{p}/next"), id);
                if let Some(c) = cond {
                    arms.push((c, t));
                }
            }
            let Some(otherwise) = rs.otherwise else {
                cx.err(
                    "missing_else",
                    base,
                    Some(id),
                    "a `branch` step needs `else:` (where to go when no condition holds)",
                );
                return None;
            };
            let otherwise = cx.step_ref(&otherwise, &format!("{base}/else"), id);
            StepKind::Branch(Branch { arms, otherwise })
        }
        "go" => {
            let p = format!("{base}/go");
            let (flow, ret) = match rs.go {
                Some(Yaml::String(f)) => (f, None),
                Some(Yaml::Mapping(m)) => {
                    let flow = m.get("flow").and_then(Yaml::as_str).map(str::to_string);
                    let ret = m.get("return").and_then(Yaml::as_str).map(str::to_string);
                    let extra = m
                        .keys()
                        .filter_map(Yaml::as_str)
                        .find(|k| *k != "flow" && *k != "return")
                        .map(str::to_string);
                    if let Some(k) = extra {
                        cx.err(
                            "unknown_field",
                            &format!("{p}/{k}"),
                            Some(id),
                            format!("unknown field `{k}` (flow, return)"),
                        );
                    }
                    let Some(flow) = flow else {
                        cx.err(
                            "bad_go",
                            &p,
                            Some(id),
                            "`go:` is a flow id, or `{ flow: id, return: step }`",
                        );
                        return None;
                    };
                    (flow, ret)
                }
                _ => {
                    cx.err(
                        "bad_go",
                        &p,
                        Some(id),
                        "`go:` is a flow id, or `{ flow: id, return: step }`",
                    );
                    return None;
                }
            };
            if !is_ident(&flow) {
                cx.err(
                    "bad_flow_id",
                    &p,
                    Some(id),
                    format!("`{flow}` is not a flow id"),
                );
            }
            let return_to = ret.map(|r| cx.step_ref(&r, &format!("{p}/return"), id));
            StepKind::Go(Go { flow, return_to })
        }
        _ => {
            let p = format!("{base}/end");
            let message = match rs.end {
                Some(Yaml::Bool(true)) => None,
                Some(Yaml::String(m)) => {
                    cx.message_id(&m, &p, id);
                    Some(m)
                }
                _ => {
                    cx.err("bad_end", &p, Some(id), "`end:` is `true` or a message id");
                    return None;
                }
            };
            StepKind::End { message }
        }
    };
    Some(Step { kind, timeout })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<FlowDefinition, Vec<Diagnostic>> {
        FlowDefinition::from_yaml(text, &Limits::default())
    }

    fn first(text: &str) -> String {
        load(text).unwrap_err()[0].to_string()
    }

    const OK: &str = "\
flow: demo
spec: 1
name: Demo
start: menu
steps:
  menu:
    choose:
      prompt: pick
      choices:
        - { key: 1, label: one }
        - { key: yes, label: two, when: 'lang == \"ar\"' }
    next: { 1: bye, yes: act }
  act:
    do: queue.status
    on: { waiting: bye }
    next: bye
  bye:
    say: bye
    end: true
";

    #[test]
    fn loads_a_flow() {
        let def = load(OK).unwrap();
        assert_eq!(def.expire_after, DEFAULT_EXPIRE_AFTER);
        assert_eq!(def.steps.keys().collect::<Vec<_>>(), ["menu", "act", "bye"]);
        let StepKind::Choose(c) = &def.steps["menu"].kind else {
            panic!()
        };
        let Source::Static(ch) = &c.source else {
            panic!()
        };
        assert_eq!(ch[0].key, "1");
        assert_eq!(ch[1].key, "yes");
        assert!(ch[1].when.is_some());
        assert_eq!(c.save, "choice");
        let StepKind::Do(d) = &def.steps["act"].kind else {
            panic!()
        };
        assert_eq!(d.on.get("else").map(String::as_str), Some("bye"));
    }

    #[test]
    fn yaml_errors_are_located() {
        let e = first("flow: a\nspec: 1\nname: [\n");
        assert!(e.starts_with("flow.yaml:"), "{e}");
        let e = first(&OK.replace("    next: { 1: bye", "    nxt: { 1: bye"));
        assert!(e.starts_with("flow.yaml:12:"), "{e}");
        assert!(e.contains("unknown field `nxt`"), "{e}");
    }

    #[test]
    fn shape_errors_are_located() {
        let e = first(&OK.replace("    say: bye\n", "    say: bye\n    do: queue.join\n"));
        assert_eq!(
            e,
            "flow.yaml:19:5: step `bye`: a step does one thing; this one has both `say` and `do`"
        );
        let e = first(&OK.replace("when: 'lang == \"ar\"'", "when: 'lang = 1'"));
        assert!(
            e.starts_with("flow.yaml:11:35: step `menu`: condition `lang = 1`"),
            "{e}"
        );
        let e = first(&OK.replace(
            "    end: true\n",
            "    timeout: { after: 2m }\n    end: true\n",
        ));
        assert_eq!(
            e,
            "flow.yaml:19:5: step `bye`: `timeout` does not apply to a `say` step"
        );
    }

    #[test]
    fn limits_are_enforced() {
        let limits = Limits {
            max_steps: 2,
            ..Limits::default()
        };
        let e = FlowDefinition::from_yaml(OK, &limits).unwrap_err();
        assert_eq!(e[0].code, "too_many_steps");
        let limits = Limits {
            max_file_bytes: 10,
            ..Limits::default()
        };
        assert_eq!(
            FlowDefinition::from_yaml(OK, &limits).unwrap_err()[0].code,
            "file_too_large"
        );
        let deep = format!(
            "flow: x\nspec: 1\nname: x\nstart: a\nsteps: {}{}\n",
            "[".repeat(30),
            "]".repeat(30)
        );
        assert_eq!(load(&deep).unwrap_err()[0].code, "too_deep");
        let limits = Limits {
            max_choices: 1,
            ..Limits::default()
        };
        assert_eq!(
            FlowDefinition::from_yaml(OK, &limits).unwrap_err()[0].code,
            "too_many_choices"
        );
    }
}
