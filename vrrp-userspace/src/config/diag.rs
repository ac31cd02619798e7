//! Source positions and diagnostics: every warning or error about a keepalived.conf names the file,
//! line and column and quotes the offending line, rustc-style.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A position in a configuration file (1-based line and column, columns count characters).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Span {
    pub file: Arc<PathBuf>,
    pub line: u32,
    pub column: u32,
}

impl Span {
    pub fn new(file: &Arc<PathBuf>, line: u32, column: u32) -> Self {
        Span {
            file: Arc::clone(file),
            line,
            column,
        }
    }

    pub fn path(&self) -> &Path {
        &self.file
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// How bad a diagnostic is, on keepalived's `-t` scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// vrrpd's own remark (a keyword it accepts but ignores, a block of another keepalived part it
    /// skips); keepalived would say nothing or only log it. Does not change the exit code.
    Note,
    /// What keepalived reports as a configuration error and then works around (value reset,
    /// element dropped): the configuration still runs (`-t` exit 5).
    Warning,
    /// The configuration cannot run (`-t` exit 4).
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// What a diagnostic does to `vrrpd check`'s exit code, which follows keepalived 2.2.7's `-t`
/// (see [`super::check`]). Separate from [`Severity`] because keepalived's exit code does not
/// follow whether the configuration can run: a missing VRID stops vrrpd (Error) yet keepalived's
/// `-t` reports it as a worked-around configuration error (5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitClass {
    /// No effect (0).
    Clean,
    /// keepalived's "configuration error" status (5).
    ConfigError,
    /// Scripts without `enable_script_security` (6).
    ScriptSecurity,
    /// keepalived's fatal configuration status (6): an include that its variant or `-e` requires
    /// is missing. keepalived then skips completing the configuration.
    FatalInclude,
    /// vrrpd refuses where keepalived 2.2.7 does not (4, keepalived's "config" exit).
    CannotRun,
}

impl ExitClass {
    /// The class a diagnostic of `severity` has unless it says otherwise.
    pub fn default_for(severity: Severity) -> Self {
        match severity {
            Severity::Note => ExitClass::Clean,
            Severity::Warning => ExitClass::ConfigError,
            Severity::Error => ExitClass::CannotRun,
        }
    }
}

/// One message about the configuration. `source_line` is the text of the line `span` points
/// into, kept so that `Display` can show it without re-reading the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub span: Option<Span>,
    pub message: String,
    pub source_line: Option<String>,
    pub exit: ExitClass,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.span {
            Some(span) => write!(f, "{span}: {}: {}", self.severity, self.message)?,
            None => write!(f, "{}: {}", self.severity, self.message)?,
        }
        if let (Some(span), Some(line)) = (&self.span, &self.source_line) {
            let gutter = span.line.to_string().len();
            let shown: String = line
                .chars()
                .map(|c| if c == '\t' { ' ' } else { c })
                .collect();
            write!(
                f,
                "\n{:gutter$} |\n{} | {}\n{:gutter$} | {:>col$}",
                "",
                span.line,
                shown,
                "",
                "^",
                col = span.column.max(1) as usize
            )?;
        }
        Ok(())
    }
}

/// Collects diagnostics while the configuration is read; also remembers the text of every line
/// read so that diagnostics can quote it.
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
    sources: Vec<(Arc<PathBuf>, Arc<Vec<String>>)>,
}

impl Diagnostics {
    pub fn add_source(&mut self, file: &Arc<PathBuf>, lines: Arc<Vec<String>>) {
        self.sources.push((Arc::clone(file), lines));
    }

    fn line_text(&self, span: &Span) -> Option<String> {
        let (_, lines) = self.sources.iter().rev().find(|(f, _)| f == &span.file)?;
        lines.get(span.line.checked_sub(1)? as usize).cloned()
    }

    pub fn push(&mut self, severity: Severity, span: Option<&Span>, message: impl Into<String>) {
        self.push_as(severity, ExitClass::default_for(severity), span, message);
    }

    /// [`Diagnostics::push`] with an exit class other than the severity's default.
    pub fn push_as(
        &mut self,
        severity: Severity,
        exit: ExitClass,
        span: Option<&Span>,
        message: impl Into<String>,
    ) {
        let source_line = span.and_then(|s| self.line_text(s));
        self.items.push(Diagnostic {
            severity,
            span: span.cloned(),
            message: message.into(),
            source_line,
            exit,
        });
    }

    pub fn note(&mut self, span: &Span, message: impl Into<String>) {
        self.push(Severity::Note, Some(span), message);
    }

    pub fn warn(&mut self, span: &Span, message: impl Into<String>) {
        self.push(Severity::Warning, Some(span), message);
    }

    /// A warning that may lack a place (model elements built without a span).
    pub fn warn_opt(&mut self, span: Option<&Span>, message: impl Into<String>) {
        self.push(Severity::Warning, span, message);
    }

    pub fn error(&mut self, span: &Span, message: impl Into<String>) {
        self.push(Severity::Error, Some(span), message);
    }

    pub fn worst(&self) -> Option<Severity> {
        self.items.iter().map(|d| d.severity).max()
    }
}
