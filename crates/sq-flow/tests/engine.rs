//! The pure engine through its public API: inputs in, events out, sessions serialised.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use sq_domain::Channel;
use sq_flow::{
    EndReason, EngineError, Env, Event, FlowDefinition, Input, Item, Keyword, Limits, Session,
    State, Value, Vars, resume, start,
};

struct TestEnv {
    now: DateTime<Utc>,
    channel: Channel,
    ctx: Vars,
}

impl TestEnv {
    fn new() -> Self {
        let mut ctx = Vars::new();
        ctx.insert("site".into(), "Main".into());
        ctx.insert(
            "services".into(),
            Value::List(vec![
                Item::new("deposits", "Deposits"),
                Item::new("loans", "Loans"),
            ]),
        );
        Self {
            now: Utc.with_ymd_and_hms(2025, 3, 14, 9, 0, 0).unwrap(),
            channel: Channel::Sms,
            ctx,
        }
    }
    fn at(&self, secs: i64) -> Self {
        Self {
            now: self.now + TimeDelta::seconds(secs),
            channel: self.channel,
            ctx: self.ctx.clone(),
        }
    }
}

impl Env for TestEnv {
    fn now(&self) -> DateTime<Utc> {
        self.now
    }
    fn channel(&self) -> Channel {
        self.channel
    }
    fn context(&self, name: &str) -> Option<Value> {
        self.ctx.get(name).cloned()
    }
}

const FLOW: &str = "\
flow: join-queue
spec: 1
name: Join a queue
expire_after: 30m
start: pick_service
steps:
  pick_service:
    choose:
      prompt: pick-service
      from: services
    save: service
    timeout: { after: 2m, next: still_there }
    invalid: { retries: 1 }
    next: join
  join:
    do: queue.join
    with: { service: $service, channel: sms }
    on: { ok: check, closed: service_closed, duplicate: issued }
  check:
    branch:
      - { when: ahead > 5, next: long_wait }
    else: issued
  long_wait:
    say: long-wait
    next: issued
  issued:
    say: ticket-issued
    end: true
  service_closed:
    end: service-closed
  still_there:
    choose:
      prompt: still-there
      choices:
        - { key: yes, label: choice-yes }
        - { key: no, label: choice-no }
    next: { yes: pick_service, no: bye }
  bye:
    end: bye
";

fn def() -> FlowDefinition {
    FlowDefinition::from_yaml(FLOW, &Limits::default()).unwrap()
}

fn kinds(ev: &[Event]) -> Vec<&'static str> {
    ev.iter()
        .map(|e| match e {
            Event::Say { .. } => "say",
            Event::Choose { .. } => "choose",
            Event::Ask { .. } => "ask",
            Event::Action { .. } => "action",
            Event::Wait { .. } => "wait",
            Event::Go { .. } => "go",
            Event::Return { .. } => "return",
            Event::End { .. } => "end",
        })
        .collect()
}

fn result(id: u32, outcome: &str, vars: &[(&str, Value)]) -> Input {
    Input::ActionResult {
        request_id: id,
        outcome: outcome.into(),
        vars: vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    }
}

#[test]
fn happy_path_requests_the_action_and_completes() {
    let (def, env) = (def(), TestEnv::new());
    let (s, ev) = start(&def, &env).unwrap();
    assert_eq!(kinds(&ev), ["choose", "wait"]);
    let Event::Choose { choices, .. } = &ev[0] else {
        panic!()
    };
    assert_eq!(
        choices.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(),
        ["deposits", "loans"]
    );
    let Event::Wait {
        timeout_at,
        expires_at,
        ..
    } = &ev[1]
    else {
        panic!()
    };
    assert_eq!(*timeout_at, Some(env.now + TimeDelta::minutes(2)));
    assert_eq!(*expires_at, env.now + TimeDelta::minutes(30));

    let (s, ev) = resume(&def, s, Input::Text("2".into()), &env).unwrap();
    assert_eq!(
        ev,
        [Event::Action {
            request_id: 1,
            action: "queue.join".into(),
            args: vec![
                ("service".into(), "loans".into()),
                ("channel".into(), "sms".into())
            ],
        }]
    );
    assert_eq!(s.state, State::Action(1));
    assert_eq!(s.vars.get("service_label"), Some(&Value::from("Loans")));

    let ok = result(1, "ok", &[("ticket", "L001".into()), ("ahead", 7.into())]);
    let (s, ev) = resume(&def, s, ok, &env).unwrap();
    assert_eq!(kinds(&ev), ["say", "say", "end"]);
    let Event::Say { message, .. } = &ev[1] else {
        panic!()
    };
    assert_eq!(message.id, "ticket-issued");
    assert!(message.args.contains(&("ticket".into(), "L001".into())));
    let ending = s.ended.clone().unwrap();
    assert_eq!(
        (ending.reason, ending.step.as_str()),
        (EndReason::Completed, "issued")
    );
    assert_eq!(
        resume(&def, s, Input::Text("x".into()), &env),
        Err(EngineError::Ended)
    );
}

#[test]
fn action_results_must_match_the_request() {
    let (def, env) = (def(), TestEnv::new());
    let (s, _) = start(&def, &env).unwrap();
    let (s, _) = resume(&def, s, Input::Choice("deposits".into()), &env).unwrap();
    let err = resume(&def, s.clone(), result(2, "ok", &[]), &env).unwrap_err();
    assert_eq!(err.code(), "unknown_request");
    let err = resume(&def, s.clone(), result(1, "exploded", &[]), &env).unwrap_err();
    assert_eq!(
        err.to_string(),
        "step `join`: outcome `exploded` of queue.join is not handled"
    );
    let err = resume(&def, s, Input::Text("hi".into()), &env).unwrap_err();
    assert_eq!(err.code(), "unexpected_input");
}

#[test]
fn timeouts_fire_only_when_due_and_never_on_ussd() {
    let (def, env) = (def(), TestEnv::new());
    let (s, _) = start(&def, &env).unwrap();
    // A timer that fires early (or belongs to an older wait) is ignored.
    let (s2, ev) = resume(&def, s.clone(), Input::Timeout, &env.at(60)).unwrap();
    assert!(ev.is_empty());
    assert_eq!(s2, s);
    let (s, ev) = resume(&def, s, Input::Timeout, &env.at(121)).unwrap();
    assert_eq!(kinds(&ev), ["choose", "wait"]);
    assert_eq!(s.step, "still_there");
    let (s, ev) = resume(&def, s, Input::Choice("no".into()), &env.at(130)).unwrap();
    assert_eq!(kinds(&ev), ["say", "end"]);
    assert_eq!(s.ended.unwrap().reason, EndReason::Completed);

    let ussd = TestEnv {
        channel: Channel::Ussd,
        ..TestEnv::new()
    };
    let (s, ev) = start(&def, &ussd).unwrap();
    assert!(matches!(
        ev[1],
        Event::Wait {
            timeout_at: None,
            ..
        }
    ));
    let (_, ev) = resume(&def, s, Input::Timeout, &ussd.at(3600)).unwrap();
    assert!(ev.is_empty());
}

#[test]
fn expiry_ends_the_session_at_its_step() {
    let (def, env) = (def(), TestEnv::new());
    let (s, _) = start(&def, &env).unwrap();
    let (s, ev) = resume(&def, s, Input::Expired, &env.at(29 * 60)).unwrap();
    assert!(ev.is_empty());
    let (s, ev) = resume(&def, s, Input::Expired, &env.at(30 * 60)).unwrap();
    assert_eq!(kinds(&ev), ["end"]);
    let e = s.ended.clone().unwrap();
    assert_eq!(
        (e.reason, e.step.as_str(), e.at),
        (EndReason::Expired, "pick_service", env.at(1800).now)
    );
    // Late timers after the end are harmless.
    assert!(resume(&def, s, Input::Timeout, &env).unwrap().1.is_empty());
}

#[test]
fn keywords_interrupt_and_stop_opts_out() {
    let (def, env) = (def(), TestEnv::new());
    let (s, _) = start(&def, &env).unwrap();
    let (s1, ev) = resume(&def, s.clone(), Input::Keyword(Keyword::Menu), &env).unwrap();
    assert_eq!(
        ev,
        [Event::End {
            step: "pick_service".into(),
            reason: EndReason::Interrupted(Keyword::Menu)
        }]
    );
    assert!(s1.is_ended());
    let (s2, _) = resume(&def, s, Input::Keyword(Keyword::Stop), &env).unwrap();
    assert_eq!(s2.ended.unwrap().reason, EndReason::OptedOut);
}

#[test]
fn invalid_replies_are_retried_then_end() {
    let (def, env) = (def(), TestEnv::new());
    let (s, _) = start(&def, &env).unwrap();
    let (s, ev) = resume(&def, s, Input::Text("pizza".into()), &env).unwrap();
    assert_eq!(kinds(&ev), ["say", "choose", "wait"]);
    let Event::Say { message, .. } = &ev[0] else {
        panic!()
    };
    assert_eq!(message.id, "invalid-choice");
    assert_eq!(s.retries, 1);
    let (s, ev) = resume(&def, s, Input::Text("9".into()), &env).unwrap();
    assert_eq!(kinds(&ev), ["end"]);
    assert_eq!(s.ended.unwrap().reason, EndReason::InvalidInput);
}

#[test]
fn dropped_ussd_sessions_can_continue() {
    let (def, env) = (def(), TestEnv::new());
    let (s, _) = start(&def, &env).unwrap();
    let (s, ev) = resume(&def, s, Input::Dropped, &env).unwrap();
    assert_eq!(kinds(&ev), ["end"]);
    assert_eq!(s.ended.as_ref().unwrap().reason, EndReason::Dropped);
    let (s, ev) = resume(&def, s, Input::Continue, &env.at(60)).unwrap();
    assert_eq!(kinds(&ev), ["choose", "wait"]);
    assert_eq!((s.state.clone(), s.ended.clone()), (State::Waiting, None));
}

#[test]
fn runaway_loops_stop_at_the_step_limit() {
    let text = "flow: spin\nspec: 1\nname: Spin\nstart: a\nsteps:\n  a: { say: x, next: b }\n  b: { say: y, next: a }\n";
    let def = FlowDefinition::from_yaml(text, &Limits::default()).unwrap();
    let err = start(&def, &TestEnv::new()).unwrap_err();
    assert_eq!(err.code(), "step_limit");
}

#[test]
fn sessions_pin_their_definition() {
    let (mut def2, env) = (def(), TestEnv::new());
    let (s, _) = start(&def(), &env).unwrap();
    def2.version = 2;
    let err = resume(&def2, s, Input::Text("1".into()), &env).unwrap_err();
    assert_eq!(
        err.to_string(),
        "session is pinned to join-queue@0, not join-queue@2"
    );
}

#[test]
fn sessions_round_trip_small() {
    let (def, env) = (def(), TestEnv::new());
    let (s, _) = start(&def, &env).unwrap();
    let (s, _) = resume(&def, s, Input::Text("1".into()), &env).unwrap();
    let json = serde_json::to_string(&s).unwrap();
    let back: Session = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s);
    assert!(json.len() < 160, "{} bytes: {json}", json.len());
    let (s, _) = resume(
        &def,
        back,
        result(1, "ok", &[("ticket", "A001".into()), ("ahead", 0.into())]),
        &env,
    )
    .unwrap();
    let json = serde_json::to_string(&s).unwrap();
    assert!(json.len() < 200, "{} bytes: {json}", json.len());
    assert_eq!(serde_json::from_str::<Session>(&json).unwrap(), s);
}

const MENU: &str = "\
flow: main-menu
spec: 1
name: Menu
start: menu
steps:
  menu:
    choose:
      prompt: menu
      choices:
        - { key: join, label: menu-join }
        - { key: age, label: menu-age, when: has_ticket }
    next: { join: go_join, age: ask_age }
  go_join:
    go: { flow: join-queue, return: again }
  again:
    say: welcome-back
    end: true
  ask_age:
    ask: { prompt: how-old, type: number, min: 1, max: 120 }
    save: age
    next: done
  done:
    end: true
";

#[test]
fn go_enters_another_flow_and_returns() {
    let env = TestEnv::new();
    let menu = FlowDefinition::from_yaml(MENU, &Limits::default()).unwrap();
    let mut join = def();
    join.version = 3;
    let (s, ev) = start(&menu, &env).unwrap();
    let Event::Choose { choices, .. } = &ev[0] else {
        panic!()
    };
    assert_eq!(choices.len(), 1, "`when: has_ticket` hides the second item");
    let (s, ev) = resume(&menu, s, Input::Choice("join".into()), &env).unwrap();
    assert_eq!(
        ev,
        [Event::Go {
            flow: "join-queue".into()
        }]
    );
    assert_eq!(s.state, State::Entering("join-queue".into()));
    let (s, ev) = resume(&join, s, Input::Enter, &env).unwrap();
    assert_eq!(kinds(&ev), ["choose", "wait"]);
    assert_eq!(
        (s.flow.as_str(), s.version, s.stack.len()),
        ("join-queue", 3, 1)
    );
    let (s, _) = resume(&join, s, Input::Choice("loans".into()), &env).unwrap();
    let (s, ev) = resume(&join, s, result(1, "closed", &[]), &env).unwrap();
    assert_eq!(kinds(&ev), ["say", "return"]);
    assert_eq!(
        ev[1],
        Event::Return {
            flow: "main-menu".into(),
            version: 0
        }
    );
    let (s, ev) = resume(&menu, s, Input::Return, &env).unwrap();
    assert_eq!(kinds(&ev), ["say", "end"]);
    assert_eq!(s.ended.unwrap().reason, EndReason::Completed);
}

#[test]
fn ask_parses_typed_answers() {
    let mut env = TestEnv::new();
    env.ctx.insert("has_ticket".into(), true.into());
    let menu = FlowDefinition::from_yaml(MENU, &Limits::default()).unwrap();
    let (s, _) = start(&menu, &env).unwrap();
    let (s, ev) = resume(&menu, s, Input::Text("2".into()), &env).unwrap();
    let Event::Ask { prompt, input, .. } = &ev[0] else {
        panic!("{ev:?}")
    };
    assert_eq!(input, "number");
    assert!(prompt.args.contains(&("max".into(), 120.into())));
    let (s, ev) = resume(&menu, s, Input::Text("200".into()), &env).unwrap();
    assert_eq!(kinds(&ev), ["say", "ask", "wait"]);
    let (s, _) = resume(&menu, s, Input::Text("٤٢".into()), &env).unwrap();
    assert_eq!(s.vars.get("age"), Some(&Value::Int(42)));
}
