//! `flows validate` on a deliberately broken flow: one precise message per mistake, located.

use std::collections::BTreeMap;

use sq_flow::validate::{ValidateOptions, validate_source};
use sq_flow::{FlowSource, Limits, Severity};

const BROKEN: &str = "\
flow: broken
spec: 1
name: Broken on purpose
start: menu
steps:
  menu:
    choose:
      prompt: menu-prompt
      choices:
        - { key: join, label: menu-join }
        - { key: cancel, label: menu-cancel }
        - { key: spin, label: menu-spin }
    next: { join: join, cancel: cancel, spin: spin_a }
  join:
    do: queue.join
    with: { service: $choice }
    on: { ok: issued, no_eta: issued, duplicate: issued, closed: nowhere }
  issued:
    say: ticket-issued
    next: long
  long:
    say: long-notice
    end: true
  cancel:
    do: queue.cancel
    on: { ok: long }
  spin_a:
    say: spinning
    next: spin_b
  spin_b:
    branch:
      - { when: site_count > 1, next: spin_a }
    else: menu
  orphan:
    say: spinning
    end: true
";

/// 170 characters in the Latin-script languages (over a 160-character USSD screen, but only
/// 2 SMS segments); 100 in Arabic (over the 80-character UCS-2 screen, 2 SMS segments).
fn long_text(lang: &str) -> String {
    if lang == "ar" {
        "ش".repeat(100)
    } else {
        "x".repeat(170)
    }
}

fn source() -> FlowSource {
    let mut messages = BTreeMap::new();
    for lang in ["en", "fr", "ar", "sw", "pt"] {
        let mut ftl = format!(
            "menu-prompt = Menu {lang}\nmenu-join = Join\nmenu-cancel = Cancel\nmenu-spin = Spin\n\
             spinning = Spinning\ninvalid-choice = Sorry\nlong-notice = {}\n",
            long_text(lang)
        );
        if lang != "fr" {
            ftl.push_str("ticket-issued = Ticket { $ticket }\n");
        }
        messages.insert(lang.to_string(), ftl);
    }
    FlowSource {
        flow_yaml: BROKEN.into(),
        messages,
        tests: BTreeMap::new(),
    }
}

#[test]
fn one_precise_message_per_mistake() {
    let found: Vec<String> =
        validate_source(source(), &Limits::default(), &ValidateOptions::default())
            .iter()
            .map(ToString::to_string)
            .collect();
    assert_eq!(
        found,
        [
            "flow.yaml:17:58: step `join`: `on.closed` refers to unknown step `nowhere`",
            "flow.yaml:19:5: step `issued`: message `ticket-issued` is missing in `fr` (fr.ftl)",
            "flow.yaml:26:5: step `cancel`: outcome `none` of action queue.cancel is not handled",
            "flow.yaml:27:3: step `spin_a`: loop that never waits for the customer: spin_a → spin_b → spin_a",
            "flow.yaml:34:3: step `orphan`: is never reached from `start`",
            "flow.yaml:22:5: warning: ussd: step `long`: USSD screen over the page budget: 170 > 160 characters (in en, fr, sw, pt); 100 > 80 characters (in ar)",
        ],
        "{found:#?}"
    );
}

#[test]
fn the_fixed_flow_is_clean() {
    let mut src = source();
    src.flow_yaml = BROKEN
        .replace("closed: nowhere", "closed: long")
        .replace("on: { ok: long }", "on: { ok: long, none: long }")
        .replace(
            "- { when: site_count > 1, next: spin_a }",
            "- { when: site_count > 1, next: menu }",
        )
        .replace("  orphan:\n    say: spinning\n    end: true\n", "");
    for (lang, ftl) in src.messages.iter_mut() {
        if lang == "fr" {
            ftl.push_str("ticket-issued = Ticket { $ticket }\n");
        }
        *ftl = ftl.replace(&long_text(lang), "Short");
    }
    let found = validate_source(src, &Limits::default(), &ValidateOptions::default());
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn arguments_a_step_cannot_supply_are_errors() {
    let mut src = source();
    src.flow_yaml = BROKEN.replace("say: long-notice", "say: long-notice-args");
    for ftl in src.messages.values_mut() {
        ftl.push_str("long-notice-args = { $ticket } { $eta_min } { $site }\n");
    }
    let found = validate_source(src, &Limits::default(), &ValidateOptions::default());
    let msgs: Vec<String> = found
        .iter()
        .filter(|d| d.code == "argument_not_set")
        .map(ToString::to_string)
        .collect();
    // `ticket` is set on every path into `long` except from `cancel` (queue.cancel's `ok`
    // sets it too), `eta_min` only on `ok` of queue.join; `site` comes from the context.
    assert_eq!(
        msgs,
        [
            "flow.yaml:22:5: step `long`: message `long-notice-args` uses `$eta_min`, which is not set when this step runs"
        ],
        "{found:#?}"
    );
}

#[test]
fn channel_warnings_name_the_channel_and_languages() {
    let mut src = source();
    src.flow_yaml = BROKEN.to_string();
    for (lang, ftl) in src.messages.iter_mut() {
        let label = if lang == "pt" {
            "Entrar na fila de espera agora"
        } else {
            "Join"
        };
        *ftl = ftl.replace("menu-join = Join", &format!("menu-join = {label}"));
    }
    let found = validate_source(src, &Limits::default(), &ValidateOptions::default());
    let wa: Vec<String> = found
        .iter()
        .filter(|d| d.severity == Severity::Warning && d.code == "button_label_too_long")
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        wa,
        [
            "flow.yaml:10:24: warning: whatsapp: step `menu`: button label over the limit without a `short:` that fits (the step falls back to a list): `join` is 30 > 20 characters (in pt)"
        ],
        "{found:#?}"
    );
}

#[test]
fn event_started_flows_need_a_whatsapp_template() {
    let mut src = source();
    src.flow_yaml = BROKEN.replace(
        "start: menu\n",
        "start: menu\ntriggers:\n  events: [ticket.served]\n",
    );
    let found = validate_source(src, &Limits::default(), &ValidateOptions::default());
    assert!(
        found.iter().any(|d| d.code == "whatsapp_needs_template"
            && d.to_string()
                .starts_with("flow.yaml:6:3: warning: whatsapp: started by `ticket.served`")),
        "{found:#?}"
    );
}

#[test]
fn load_errors_come_back_as_diagnostics() {
    let mut src = source();
    src.messages
        .insert("fr".into(), "menu-prompt = { $x\n".into());
    let found = validate_source(src, &Limits::default(), &ValidateOptions::default());
    assert_eq!(found[0].file, "fr.ftl");
    assert_eq!(found[0].code, "ftl_syntax");
}
