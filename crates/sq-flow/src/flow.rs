//! A flow package: `flow.yaml`, its `<lang>.ftl` files and its transcript tests, loaded
//! together (FLOWS.md §1).

use std::collections::BTreeMap;
use std::path::Path;

use crate::diag::{Diagnostic, Diagnostics};
use crate::limits::Limits;
use crate::locate::Locator;
use crate::messages::{Localizer, Messages};
use crate::model::FlowDefinition;

/// The files of one flow, as text: what a tenant uploads, what is stored per published
/// version, and what `flows/<id>/` holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlowSource {
    pub flow_yaml: String,
    /// Language tag → `.ftl` text.
    pub messages: BTreeMap<String, String>,
    /// `tests/<name>.yaml` → text.
    pub tests: BTreeMap<String, String>,
}

impl FlowSource {
    /// Reads `dir/flow.yaml`, `dir/<lang>.ftl` and `dir/tests/*.yaml`. Load-time only (CLI,
    /// tests): the running service gets flows embedded or from the store.
    pub fn read_dir(dir: &Path) -> std::io::Result<FlowSource> {
        let flow_yaml = std::fs::read_to_string(dir.join("flow.yaml"))?;
        let mut messages = BTreeMap::new();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "ftl")
                && let Some(lang) = path.file_stem().and_then(|s| s.to_str())
            {
                messages.insert(lang.to_string(), std::fs::read_to_string(&path)?);
            }
        }
        let mut tests = BTreeMap::new();
        let tdir = dir.join("tests");
        if tdir.is_dir() {
            for entry in std::fs::read_dir(&tdir)? {
                let path = entry?.path();
                if path.extension().is_some_and(|e| e == "yaml" || e == "yml")
                    && let Some(name) = path.file_name().and_then(|s| s.to_str())
                {
                    tests.insert(format!("tests/{name}"), std::fs::read_to_string(&path)?);
                }
            }
        }
        Ok(FlowSource {
            flow_yaml,
            messages,
            tests,
        })
    }
}

/// A loaded flow: the definition the engine runs, its messages, and where its keys are.
#[derive(Debug)]
pub struct Flow {
    pub definition: FlowDefinition,
    pub messages: Messages,
    pub source: FlowSource,
    pub(crate) locator: Locator,
}

impl Flow {
    /// Parses everything. Fails with every syntax and shape error found (YAML, Fluent,
    /// limits); semantic checks are [`crate::validate::validate`]'s.
    pub fn load(source: FlowSource, limits: &Limits) -> Result<Flow, Diagnostics> {
        let locator = Locator::new(&source.flow_yaml);
        let mut errors = Vec::new();
        let def = crate::load::definition_from_yaml(&source.flow_yaml, &locator, limits);
        let (messages, ftl_errors) = Messages::parse(
            source
                .messages
                .iter()
                .map(|(l, t)| (l.as_str(), t.as_str())),
            limits,
        );
        errors.extend(ftl_errors);
        if source.tests.len() > limits.max_tests {
            errors.push(Diagnostic::error(
                "too_many_tests",
                "tests",
                format!(
                    "{} transcripts; the limit is {}",
                    source.tests.len(),
                    limits.max_tests
                ),
            ));
        }
        let mut definition = match def {
            Ok(d) => d,
            Err(e) => {
                errors.extend(e);
                return Err(Diagnostics(errors));
            }
        };
        if !errors.is_empty() {
            return Err(Diagnostics(errors));
        }
        // Message id → variables, union over languages: what events carry as arguments.
        let mut args: std::collections::HashMap<String, Vec<String>> = Default::default();
        for lang in messages.languages() {
            for id in messages.ids(lang) {
                let entry = args.entry(id.to_string()).or_default();
                for v in messages.vars(lang, id).unwrap_or_default() {
                    if !entry.contains(&v) {
                        entry.push(v);
                    }
                }
            }
        }
        definition.message_args = args;
        Ok(Flow {
            definition,
            messages,
            source,
            locator,
        })
    }

    /// Loads `flow.yaml` text alone with messages given separately (a tenant's upload).
    pub fn from_text(
        flow_yaml: &str,
        messages: impl IntoIterator<Item = (String, String)>,
        limits: &Limits,
    ) -> Result<Flow, Diagnostics> {
        Flow::load(
            FlowSource {
                flow_yaml: flow_yaml.to_string(),
                messages: messages.into_iter().collect(),
                tests: BTreeMap::new(),
            },
            limits,
        )
    }

    pub fn id(&self) -> &str {
        &self.definition.flow
    }

    /// Records the variables of messages the flow takes from fallback layers (shared and
    /// system strings such as `invalid-choice`), so events carry exactly their arguments too.
    pub fn use_layers(&mut self, layers: &[&Messages]) {
        for layer in layers {
            for lang in layer.languages() {
                for id in layer.ids(lang) {
                    if self.messages.ids(lang).contains(&id) {
                        continue;
                    }
                    let entry = self
                        .definition
                        .message_args
                        .entry(id.to_string())
                        .or_default();
                    for v in layer.vars(lang, id).unwrap_or_default() {
                        if !entry.contains(&v) {
                            entry.push(v);
                        }
                    }
                }
            }
        }
    }

    /// Formatting bundles over `layers` (shared and system messages, in priority order).
    pub fn localizer(&self, layers: &[&Messages]) -> Localizer {
        Localizer::new(&self.messages, layers)
    }

    /// Position of a key path in `flow.yaml` (see [`Locator`]).
    pub fn locate(&self, path: &str) -> Option<crate::locate::Pos> {
        self.locator.find(path)
    }
}
