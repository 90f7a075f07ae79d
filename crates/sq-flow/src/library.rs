//! The starter flows of `flows/`, embedded in the binary, and a set of loaded flows that can
//! call each other (`go`).
//!
//! `flows/common/<lang>.ftl` holds messages the starter flows share (`invalid-choice`, yes/no,
//! the ladder's navigation strings); it is a fallback layer between a flow's own messages and
//! the system strings of `locales/` (which the caller adds: sq-flow does not depend on
//! sq-i18n).

use std::collections::BTreeMap;
use std::path::Path;

use crate::diag::{Diagnostic, Diagnostics};
use crate::flow::{Flow, FlowSource};
use crate::keywords::fold;
use crate::limits::Limits;
use crate::messages::Messages;
use crate::validate::{ValidateOptions, validate};

/// Ids of the starter flows, in menu order.
pub const STARTER_FLOWS: [&str; 6] = [
    "main-menu",
    "join-queue",
    "ticket-status",
    "cancel-ticket",
    "feedback",
    "language",
];

macro_rules! embed {
    ($dir:literal, [$($test:literal),* $(,)?]) => {
        (
            $dir,
            include_str!(concat!("../../../flows/", $dir, "/flow.yaml")),
            [
                ("en", include_str!(concat!("../../../flows/", $dir, "/en.ftl"))),
                ("fr", include_str!(concat!("../../../flows/", $dir, "/fr.ftl"))),
                ("ar", include_str!(concat!("../../../flows/", $dir, "/ar.ftl"))),
                ("sw", include_str!(concat!("../../../flows/", $dir, "/sw.ftl"))),
                ("pt", include_str!(concat!("../../../flows/", $dir, "/pt.ftl"))),
            ],
            &[$((concat!("tests/", $test, ".yaml"),
                 include_str!(concat!("../../../flows/", $dir, "/tests/", $test, ".yaml")))),*],
        )
    };
}

type Embedded = (
    &'static str,
    &'static str,
    [(&'static str, &'static str); 5],
    &'static [(&'static str, &'static str)],
);

/// The embedded files (a test checks this list against the `flows/` directory).
const EMBEDDED: [Embedded; 6] = [
    embed!("main-menu", ["menu", "help-and-language"]),
    embed!(
        "join-queue",
        [
            "happy-path",
            "several-sites",
            "closed",
            "timeout",
            "keywords"
        ]
    ),
    embed!("ticket-status", ["waiting", "called", "none"]),
    embed!("cancel-ticket", ["cancel", "keep"]),
    embed!("feedback", ["csat", "nps"]),
    embed!("language", ["switch"]),
];

const COMMON: [(&str, &str); 5] = [
    ("en", include_str!("../../../flows/common/en.ftl")),
    ("fr", include_str!("../../../flows/common/fr.ftl")),
    ("ar", include_str!("../../../flows/common/ar.ftl")),
    ("sw", include_str!("../../../flows/common/sw.ftl")),
    ("pt", include_str!("../../../flows/common/pt.ftl")),
];

/// Embedded fixtures for transcript tests (`fixture: demo`).
pub const FIXTURES: [(&str, &str); 1] =
    [("demo", include_str!("../../../flows/fixtures/demo.yaml"))];

/// The starter flows' sources.
pub fn starter_sources() -> Vec<FlowSource> {
    EMBEDDED
        .iter()
        .map(|(_, yaml, ftl, tests)| FlowSource {
            flow_yaml: yaml.to_string(),
            messages: ftl
                .iter()
                .map(|(l, t)| (l.to_string(), t.to_string()))
                .collect(),
            tests: tests
                .iter()
                .map(|(n, t)| (n.to_string(), t.to_string()))
                .collect(),
        })
        .collect()
}

/// Loaded flows and their shared messages.
#[derive(Debug)]
pub struct Library {
    pub flows: Vec<Flow>,
    /// `flows/common/`: the first fallback layer.
    pub common: Messages,
    /// Fixture name → YAML text.
    pub fixtures: BTreeMap<String, String>,
}

impl Library {
    /// The embedded starter flows.
    pub fn starter() -> Result<Library, Diagnostics> {
        let common = COMMON
            .iter()
            .map(|(l, t)| (l.to_string(), t.to_string()))
            .collect();
        let fixtures = FIXTURES
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        Library::build(starter_sources(), common, fixtures, &Limits::default())
    }

    /// A `flows/`-shaped directory: one sub-directory per flow, `common/*.ftl`,
    /// `fixtures/*.yaml`. Load-time only (CLI, tests).
    pub fn read_dir(dir: &Path) -> std::io::Result<Result<Library, Diagnostics>> {
        let mut sources = Vec::new();
        let mut common = BTreeMap::new();
        let mut fixtures = BTreeMap::new();
        let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.path());
        for e in entries {
            let path = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            if !path.is_dir() {
                continue;
            }
            if name == "common" || name == "fixtures" {
                let ext = if name == "common" { "ftl" } else { "yaml" };
                for f in std::fs::read_dir(&path)? {
                    let p = f?.path();
                    if p.extension().is_some_and(|x| x == ext)
                        && let Some(stem) = p.file_stem().and_then(|s| s.to_str())
                    {
                        let text = std::fs::read_to_string(&p)?;
                        if name == "common" {
                            &mut common
                        } else {
                            &mut fixtures
                        }
                        .insert(stem.to_string(), text);
                    }
                }
            } else if path.join("flow.yaml").is_file() {
                sources.push(FlowSource::read_dir(&path)?);
            }
        }
        Ok(Library::build(
            sources,
            common,
            fixtures,
            &Limits::default(),
        ))
    }

    /// Loads every flow; fails with every flow's load errors (file names prefixed with the
    /// flow's directory).
    pub fn build(
        sources: Vec<FlowSource>,
        common: BTreeMap<String, String>,
        fixtures: BTreeMap<String, String>,
        limits: &Limits,
    ) -> Result<Library, Diagnostics> {
        let (common, mut errors) =
            Messages::parse(common.iter().map(|(l, t)| (l.as_str(), t.as_str())), limits);
        for d in &mut errors {
            d.file = format!("common/{}", d.file);
        }
        let mut flows = Vec::new();
        for src in sources {
            let dir = yaml_serde::from_str::<yaml_serde::Value>(&src.flow_yaml)
                .ok()
                .and_then(|v| v.get("flow").and_then(|f| f.as_str()).map(str::to_string))
                .unwrap_or_else(|| "?".into());
            match Flow::load(src, limits) {
                Ok(mut f) => {
                    f.use_layers(&[&common]);
                    flows.push(f);
                }
                Err(d) => errors.extend(d.0.into_iter().map(|mut d| {
                    d.file = format!("{dir}/{}", d.file);
                    d
                })),
            }
        }
        if !errors.is_empty() {
            return Err(Diagnostics(errors));
        }
        Ok(Library {
            flows,
            common,
            fixtures,
        })
    }

    pub fn get(&self, id: &str) -> Option<&Flow> {
        self.flows.iter().find(|f| f.id() == id)
    }

    /// The flow a message starts when the contact has no active session: the first flow
    /// with a trigger keyword (or one of its translations, message `keywords-<keyword>`, in
    /// any language) equal to the whole message, else the `default` flow. System keywords
    /// are checked before this ([`crate::KeywordTable::preempts`]).
    pub fn triggered_by(&self, text: &str) -> Option<&Flow> {
        let t = fold(text);
        let hit = |f: &Flow| {
            f.definition.triggers.keywords.iter().any(|k| {
                *k == t
                    || f.messages.languages().any(|lang| {
                        f.messages
                            .literal(lang, &format!("keywords-{k}"))
                            .is_some_and(|w| w.split([',', '\n']).any(|w| fold(w) == t))
                    })
            })
        };
        self.flows
            .iter()
            .find(|f| hit(f))
            .or_else(|| self.flows.iter().find(|f| f.definition.triggers.default))
    }

    pub fn ids(&self) -> Vec<String> {
        self.flows.iter().map(|f| f.id().to_string()).collect()
    }

    /// Validates every flow against this library (`go` targets, the common layer) plus
    /// `system` (the `locales/` strings, if the caller has them). Diagnostics' files are
    /// prefixed with the flow id.
    pub fn validate(&self, system: &[&Messages]) -> Vec<Diagnostic> {
        let mut layers = vec![&self.common];
        layers.extend_from_slice(system);
        let opts = ValidateOptions {
            layers,
            known_flows: Some(self.ids()),
            ..Default::default()
        };
        let mut out = Vec::new();
        for f in &self.flows {
            out.extend(validate(f, &opts).into_iter().map(|mut d| {
                d.file = format!("{}/{}", f.id(), d.file);
                d
            }));
        }
        out
    }
}
