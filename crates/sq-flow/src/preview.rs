//! The tenant's preview (`smartqueue flows render <flow> --channel ussd --locale ar`): every
//! step of a flow as it looks on one channel, formatted with sample values
//! ([`crate::catalog::sample`]) and laid out by the choice ladder.

use std::fmt::Write;

use sq_domain::Channel;

use crate::catalog;
use crate::engine::{ChoiceOut, Label, Msg};
use crate::flow::Flow;
use crate::ladder::{self, Rendered};
use crate::messages::{Messages, locale_chain};
use crate::model::*;
use crate::render::Renderer;
use crate::sms;
use crate::value::Value;

fn sample_msg(flow: &Flow, layers: &[&Messages], lang: &str, id: &str) -> Msg {
    let vars = std::iter::once(&flow.messages)
        .chain(layers.iter().copied())
        .find_map(|m| m.vars(lang, id).or_else(|| m.vars("en", id)))
        .unwrap_or_default();
    Msg {
        id: id.to_string(),
        args: vars
            .into_iter()
            .map(|v| (v.clone(), catalog::sample(&v)))
            .collect(),
    }
}

fn view_text(v: &Rendered) -> String {
    match v {
        Rendered::UssdScreen { text, .. } => text.clone(),
        Rendered::SmsText { text, info } => {
            format!(
                "{text}\n  ({} segment(s), {:?})",
                info.segments, info.encoding
            )
        }
        Rendered::WhatsAppText { body } => body.clone(),
        Rendered::WhatsAppButtons { body, buttons } => {
            let b: Vec<String> = buttons.iter().map(|b| format!("[{}]", b.title)).collect();
            format!("{body}\n{}", b.join(" "))
        }
        Rendered::WhatsAppList { body, button, rows } => {
            let mut s = format!("{body}\n[{button} ▾]");
            for r in rows {
                let _ = write!(s, "\n  • {}", r.title);
                if let Some(d) = &r.description {
                    let _ = write!(s, " — {d}");
                }
            }
            s
        }
        Rendered::TelegramMessage {
            text,
            inline_keyboard,
        } => {
            let mut s = text.clone();
            for row in inline_keyboard {
                let b: Vec<String> = row.iter().map(|b| format!("[{}]", b.text)).collect();
                let _ = write!(s, "\n{}", b.join(" "));
            }
            s
        }
        Rendered::WebButtons { prompt, options } | Rendered::WebList { prompt, options } => {
            let b: Vec<String> = options.iter().map(|o| format!("[{}]", o.label)).collect();
            format!("{prompt}\n{}", b.join(" "))
        }
    }
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("  {l}\n")).collect()
}

/// Every step of `flow` on `channel` in `lang`, in document order.
pub fn preview(flow: &Flow, layers: &[&Messages], channel: Channel, lang: &str) -> String {
    let localizer = flow.localizer(layers);
    let r = Renderer::new(&localizer, locale_chain(Some(lang), None), channel);
    let def = &flow.definition;
    let mut out = format!("{} ({}) on {channel}, {lang}\n", def.name, def.flow);
    for (id, step) in &def.steps {
        let _ = writeln!(out, "\n── {id} ({}) ──", step.kind.name());
        let text = |m: &str| r.text(&sample_msg(flow, layers, lang, m));
        let sms_note = |t: &str| {
            if channel == Channel::Sms {
                let i = sms::analyse(t);
                format!("\n  ({} segment(s), {:?})", i.segments, i.encoding)
            } else {
                String::new()
            }
        };
        match &step.kind {
            StepKind::Say { message, then } => {
                let t = text(message);
                out += &indent(&format!("{t}{}", sms_note(&t)));
                if let Then::Next(n) = then {
                    let _ = writeln!(out, "  → {n}");
                }
            }
            StepKind::End { message } => {
                if let Some(m) = message {
                    let t = text(m);
                    out += &indent(&format!("{t}{}", sms_note(&t)));
                }
                out += "  (end)\n";
            }
            StepKind::Ask(a) => {
                let t = text(&a.prompt);
                out += &indent(&format!("{t}{}", sms_note(&t)));
                let _ = writeln!(out, "  (answer: {}) → {}", a.input.name(), a.next);
            }
            StepKind::Choose(c) => {
                let choices: Vec<ChoiceOut> = match &c.source {
                    Source::Static(list) => list
                        .iter()
                        .map(|ch| ChoiceOut {
                            key: ch.key.clone(),
                            label: Label::Message(sample_msg(flow, layers, lang, &ch.label)),
                            short: ch.short.as_ref().map(|s| sample_msg(flow, layers, lang, s)),
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
                        _ => Vec::new(),
                    },
                };
                let prompt = r.text(&sample_msg(flow, layers, lang, &c.prompt));
                match ladder::Ladder::new(channel, &prompt, &r.choices(&choices), r.options()) {
                    Ok(l) => {
                        for page in l.render_all() {
                            let _ = writeln!(
                                out,
                                "  [{:?}, page {}/{}]",
                                page.rung,
                                page.page + 1,
                                page.page_count
                            );
                            out += &indent(&view_text(&page.view));
                        }
                    }
                    Err(e) => {
                        let _ = writeln!(out, "  cannot be shown: {e}");
                    }
                }
            }
            StepKind::Do(d) => {
                let on: Vec<String> = d.on.iter().map(|(o, s)| format!("{o} → {s}")).collect();
                let _ = writeln!(out, "  runs {} ({})", d.action, on.join(", "));
            }
            StepKind::Branch(b) => {
                let _ = writeln!(
                    out,
                    "  {} condition(s), else → {}",
                    b.arms.len(),
                    b.otherwise
                );
            }
            StepKind::Go(g) => {
                let _ = writeln!(
                    out,
                    "  continues in {}{}",
                    g.flow,
                    g.return_to
                        .as_ref()
                        .map(|r| format!(", then back to {r}"))
                        .unwrap_or_default()
                );
            }
        }
    }
    out
}
