//! Diagnostics: what loading and validation report, with the file, line and column a tenant
//! has to edit.

use std::fmt;

use serde::Serialize;
use sq_domain::Channel;

use crate::locate::Pos;

/// Errors block publishing; warnings are shown (per channel) but do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

/// One finding. `code` is a stable snake_case identifier (a contract: tools and the web editor
/// key on it); `message` is the English explanation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: &'static str,
    /// `flow.yaml`, `fr.ftl`, `tests/happy-path.yaml`.
    pub file: String,
    pub pos: Option<Pos>,
    pub step: Option<String>,
    /// Set on per-channel warnings.
    pub channel: Option<Channel>,
    pub message: String,
}

impl Diagnostic {
    pub fn error(code: &'static str, file: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code,
            file: file.into(),
            pos: None,
            step: None,
            channel: None,
            message: message.into(),
        }
    }

    pub fn warning(
        code: &'static str,
        file: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, file, message)
        }
    }

    pub fn at(mut self, pos: Option<Pos>) -> Self {
        self.pos = pos;
        self
    }

    pub fn step(mut self, step: impl Into<String>) -> Self {
        self.step = Some(step.into());
        self
    }

    pub fn channel(mut self, channel: Channel) -> Self {
        self.channel = Some(channel);
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// `flow.yaml:14:5: step `join`: outcome `closed` of action queue.join is not handled`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(p) = self.pos {
            write!(f, ":{}:{}", p.line, p.column)?;
        }
        f.write_str(": ")?;
        if self.severity == Severity::Warning {
            f.write_str("warning: ")?;
        }
        if let Some(c) = self.channel {
            write!(f, "{c}: ")?;
        }
        if let Some(s) = &self.step {
            write!(f, "step `{s}`: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Several diagnostics as one error value (loading fails with all it found).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl Diagnostics {
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }
}
