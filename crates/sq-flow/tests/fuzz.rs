//! Property tests standing in for fuzzing: tenant uploads and customer replies are hostile
//! input, and no input may panic the loader, the validator or the engine.

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use sq_domain::Channel;
use sq_flow::library::{Library, starter_sources};
use sq_flow::locate::Locator;
use sq_flow::messages::Messages;
use sq_flow::validate::{ValidateOptions, validate_source};
use sq_flow::{
    Env, FlowDefinition, Input, Item, Keyword, KeywordTable, Limits, Session, Value, Vars,
    expr::Expr, resume, start,
};

/// Random edits of a valid document: the interesting inputs are near-valid ones.
fn mutate(text: &str, edits: &[(usize, u8, char)]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for &(pos, op, c) in edits {
        if chars.is_empty() {
            chars.push(c);
            continue;
        }
        let i = pos % chars.len();
        match op % 4 {
            0 => {
                chars.remove(i);
            }
            1 => chars.insert(i, c),
            2 => chars[i] = c,
            _ => {
                // Duplicate a line: repeated keys, odd indentation.
                let start = chars[..i]
                    .iter()
                    .rposition(|c| *c == '\n')
                    .map_or(0, |p| p + 1);
                let end = chars[i..]
                    .iter()
                    .position(|c| *c == '\n')
                    .map_or(chars.len(), |p| i + p);
                let line: Vec<char> = chars[start..end].to_vec();
                chars.splice(start..start, line.into_iter().chain(['\n']));
            }
        }
    }
    chars.into_iter().collect()
}

fn yamlish_char() -> impl Strategy<Value = char> {
    prop_oneof![
        Just(' '),
        Just('\n'),
        Just(':'),
        Just('-'),
        Just('{'),
        Just('}'),
        Just('['),
        Just(']'),
        Just(','),
        Just('#'),
        Just('"'),
        Just('\''),
        Just('$'),
        Just('|'),
        Just('&'),
        Just('*'),
        Just('é'),
        Just('ش'),
        any::<char>(),
        proptest::char::range('a', 'z'),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    fn loader_never_panics_on_any_text(text in "\\PC{0,400}") {
        let _ = FlowDefinition::from_yaml(&text, &Limits::default());
        let _ = Locator::new(&text).find("steps/a/b");
        let _ = Messages::parse([("en", text.as_str())], &Limits::default());
        let _ = Expr::parse(&text);
        let _ = KeywordTable::builtin().detect(&text);
    }

    #[test]
    fn loader_and_validator_never_panic_on_edited_flows(
        which in 0usize..6,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), yamlish_char()), 1..6),
        ftl_edits in proptest::collection::vec((any::<usize>(), any::<u8>(), yamlish_char()), 0..4),
    ) {
        let mut src = starter_sources().swap_remove(which);
        src.flow_yaml = mutate(&src.flow_yaml, &edits);
        if let Some(ftl) = src.messages.get_mut("en") {
            *ftl = mutate(ftl, &ftl_edits);
        }
        let _ = validate_source(src, &Limits::default(), &ValidateOptions::default());
    }
}

struct FuzzEnv {
    now: DateTime<Utc>,
    ctx: Vars,
}

impl Env for FuzzEnv {
    fn now(&self) -> DateTime<Utc> {
        self.now
    }
    fn channel(&self) -> Channel {
        Channel::Whatsapp
    }
    fn context(&self, name: &str) -> Option<Value> {
        self.ctx.get(name).cloned()
    }
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        "\\PC{0,12}".prop_map(Input::Text),
        prop_oneof![
            Just("1"),
            Just("2"),
            Just("yes"),
            Just("no"),
            Just("deposits"),
            Just("x")
        ]
        .prop_map(|s| Input::Choice(s.to_string())),
        (
            0u32..4,
            prop_oneof![
                Just("ok"),
                Just("closed"),
                Just("none"),
                Just("waiting"),
                Just("boom")
            ]
        )
            .prop_map(|(id, o)| Input::ActionResult {
                request_id: id,
                outcome: o.into(),
                vars: Vars::new()
            }),
        Just(Input::Timeout),
        Just(Input::Expired),
        Just(Input::Dropped),
        Just(Input::Continue),
        Just(Input::Enter),
        Just(Input::Return),
        prop_oneof![Just(Keyword::Stop), Just(Keyword::Menu)].prop_map(Input::Keyword),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Any sequence of inputs on any starter flow: errors are fine, panics are not, and a
    /// session that comes back always serialises and reads back equal.
    #[test]
    fn engine_never_panics(which in 0usize..6, inputs in proptest::collection::vec((input(), 0i64..4000), 0..12)) {
        let lib = Library::starter().unwrap();
        let def = &lib.flows[which].definition;
        let mut ctx = Vars::new();
        ctx.insert("services".into(), Value::List(vec![Item::new("deposits", "Deposits")]));
        ctx.insert("sites".into(), Value::List(vec![Item::new("main", "Main")]));
        ctx.insert("languages".into(), Value::List(vec![Item::new("en", "English")]));
        ctx.insert("site_count".into(), 1.into());
        ctx.insert("service_count".into(), 1.into());
        let mut env = FuzzEnv { now: Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(), ctx };
        let Ok((mut s, _)) = start(def, &env) else { return Ok(()) };
        for (i, secs) in inputs {
            env.now += chrono::TimeDelta::seconds(secs);
            if let Ok((next, _)) = resume(def, s.clone(), i, &env) {
                let json = serde_json::to_string(&next).unwrap();
                prop_assert_eq!(serde_json::from_str::<Session>(&json).unwrap(), next.clone());
                s = next;
            }
        }
    }
}
