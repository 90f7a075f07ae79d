//! Spec migrations: older flow formats are rewritten to the current one on load, on the raw
//! YAML value, one version at a time (`MIGRATIONS[n]` turns spec `n` into spec `n + 1`).
//!
//! Published versions are stored as the text the tenant wrote, so a format change never
//! rewrites history: old text is migrated every time it is loaded, and the table only grows.
//!
//! Spec 0 is the pre-release draft format (`message:` for `say:`, `action:` for `do:`,
//! `expires:` for `expire_after:`). Nobody has spec 0 flows in production; it is kept as the
//! worked example (and test) of how a migration is written.

use yaml_serde::{Mapping, Value};

use crate::model::SPEC;

/// One migration step: spec `n` → `n + 1`. Gets the whole document; returns a message on a
/// document it cannot migrate.
pub type Migration = fn(&mut Value) -> Result<(), String>;

/// Index `n` migrates spec `n` to `n + 1`; its length is [`SPEC`].
pub const MIGRATIONS: [Migration; SPEC as usize] = [spec0_to_1];

/// Migrates `doc` (declaring `from`) to the current spec and sets its `spec` key.
pub fn migrate(doc: &mut Value, from: u32) -> Result<(), String> {
    if from > SPEC {
        return Err(format!(
            "spec {from} is newer than this SmartQueue understands (spec {SPEC}); upgrade first"
        ));
    }
    for (n, m) in MIGRATIONS.iter().enumerate().skip(from as usize) {
        m(doc).map_err(|e| format!("migrating spec {n} to {}: {e}", n + 1))?;
    }
    if let Some(map) = doc.as_mapping_mut() {
        map.insert(Value::from("spec"), Value::from(SPEC));
    }
    Ok(())
}

fn rename(map: &mut Mapping, from: &str, to: &str) -> Result<(), String> {
    if let Some(v) = map.remove(from) {
        if map.contains_key(to) {
            return Err(format!("both `{from}` and `{to}` are set"));
        }
        map.insert(Value::from(to), v);
    }
    Ok(())
}

fn spec0_to_1(doc: &mut Value) -> Result<(), String> {
    let map = doc
        .as_mapping_mut()
        .ok_or("the document is not a mapping")?;
    rename(map, "expires", "expire_after")?;
    if let Some(steps) = map.get_mut("steps").and_then(Value::as_mapping_mut) {
        for (id, step) in steps.iter_mut() {
            let Some(step) = step.as_mapping_mut() else {
                continue;
            };
            let id = id.as_str().unwrap_or("?");
            rename(step, "message", "say").map_err(|e| format!("step `{id}`: {e}"))?;
            rename(step, "action", "do").map_err(|e| format!("step `{id}`: {e}"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Limits;
    use crate::model::{FlowDefinition, StepKind};

    const SPEC0: &str = "\
flow: hello
spec: 0
name: Hello
expires: 10m
start: greet
steps:
  greet:
    message: hello
    next: status
  status:
    action: queue.status
    on: { waiting: bye, called: bye, none: bye }
  bye:
    end: true
";

    #[test]
    fn spec0_flows_load_as_current() {
        let def = FlowDefinition::from_yaml(SPEC0, &Limits::default()).unwrap();
        assert_eq!(def.spec, SPEC);
        assert_eq!(def.expire_after.secs(), 600);
        assert!(
            matches!(&def.steps["greet"].kind, StepKind::Say { message, .. } if message == "hello")
        );
        assert!(matches!(&def.steps["status"].kind, StepKind::Do(d) if d.action == "queue.status"));
    }

    #[test]
    fn newer_specs_are_refused() {
        let text = SPEC0.replace("spec: 0", "spec: 7");
        let err = FlowDefinition::from_yaml(&text, &Limits::default()).unwrap_err();
        assert!(err[0].message.contains("newer"), "{err:?}");
        assert_eq!(err[0].pos.map(|p| p.line), Some(2));
    }

    #[test]
    fn conflicting_spec0_keys_are_reported() {
        let text = SPEC0.replace("    message: hello\n", "    message: hello\n    say: hi\n");
        let err = FlowDefinition::from_yaml(&text, &Limits::default()).unwrap_err();
        assert!(
            err[0].message.contains("both `message` and `say`"),
            "{err:?}"
        );
    }
}
