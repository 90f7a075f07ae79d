//! Engine throughput on `join-queue` (issue 3, item 9): `cargo bench -p sq-flow --bench engine`.
//!
//! One conversation is what a host does for one customer joining: start, a service reply,
//! a "no name" reply, the action result, with the session deserialised from JSON before and
//! serialised after every call (the host stores it per contact). It executes 6 steps:
//! check_sites, check_services, pick_service | name_offer | join | issued.
//!
//! Two figures: the engine alone (replies matched by key/number), and the full host path
//! (replies matched by the choice ladder against Fluent-formatted labels, as on SMS).

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use sq_domain::Channel;
use sq_flow::library::Library;
use sq_flow::messages::locale_chain;
use sq_flow::render::{HostEnv, Renderer};
use sq_flow::{Env, FlowDefinition, Input, Item, Session, Value, Vars, resume, start};

const STEPS_PER_CONVERSATION: u64 = 6;

struct BenchEnv {
    now: DateTime<Utc>,
    ctx: Vars,
}

impl Env for BenchEnv {
    fn now(&self) -> DateTime<Utc> {
        self.now
    }
    fn channel(&self) -> Channel {
        Channel::Sms
    }
    fn context(&self, name: &str) -> Option<Value> {
        self.ctx.get(name).cloned()
    }
}

fn context() -> Vars {
    let mut ctx = Vars::new();
    ctx.insert("tenant".into(), "Demo Bank".into());
    ctx.insert("site_count".into(), 1.into());
    ctx.insert("service_count".into(), 3.into());
    ctx.insert(
        "services".into(),
        Value::List(vec![
            Item::new("deposits", "Deposits"),
            Item::new("loans", "Loans"),
            Item::new("cards", "Cards"),
        ]),
    );
    ctx
}

fn conversation<E: Env>(def: &FlowDefinition, env: &E, result: &Vars) -> usize {
    let (s, ev) = start(def, env).unwrap();
    let mut stored = serde_json::to_vec(&s).unwrap();
    let mut events = ev.len();
    for input in [
        Input::Text("2".into()),
        Input::Text("2".into()),
        Input::ActionResult {
            request_id: 1,
            outcome: "ok".into(),
            vars: result.clone(),
        },
    ] {
        let s: Session = serde_json::from_slice(&stored).unwrap();
        let (s, ev) = resume(def, s, input, env).unwrap();
        stored = serde_json::to_vec(&s).unwrap();
        events += ev.len();
    }
    assert!(
        stored.windows(3).any(|w| w == b"\"e\""),
        "the conversation did not end"
    );
    events
}

fn measure(name: &str, mut f: impl FnMut() -> usize) {
    // Warm up, then run for about two seconds.
    for _ in 0..1_000 {
        black_box(f());
    }
    let t0 = Instant::now();
    let mut n: u64 = 0;
    while t0.elapsed() < Duration::from_secs(2) {
        for _ in 0..1_000 {
            black_box(f());
        }
        n += 1_000;
    }
    let secs = t0.elapsed().as_secs_f64();
    let steps = (n * STEPS_PER_CONVERSATION) as f64 / secs;
    println!(
        "{name:<28} {:>10.0} steps/s  {:>8.0} conversations/s  {:>6.2} µs/conversation",
        steps,
        n as f64 / secs,
        secs * 1e6 / n as f64
    );
}

fn main() {
    let lib = Library::starter().expect("starter flows load");
    let def = &lib.get("join-queue").unwrap().definition;
    let now = Utc.with_ymd_and_hms(2025, 3, 14, 9, 0, 0).unwrap();
    let mut result = Vars::new();
    result.insert("ticket".into(), "A001".into());
    result.insert("ahead".into(), 3.into());
    result.insert("eta_min".into(), 5.into());
    result.insert("eta_max".into(), 10.into());

    let env = BenchEnv {
        now,
        ctx: context(),
    };
    measure("engine + session JSON", || conversation(def, &env, &result));

    let localizer = lib.get("join-queue").unwrap().localizer(&[&lib.common]);
    let renderer = Renderer::new(&localizer, locale_chain(Some("en"), None), Channel::Sms);
    let host = HostEnv {
        now,
        context: context(),
        renderer: &renderer,
    };
    measure("+ ladder reply matching", || {
        conversation(def, &host, &result)
    });
}
