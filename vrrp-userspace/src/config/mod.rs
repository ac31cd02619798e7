//! keepalived.conf front end: lexer, parser, typed model with keepalived's defaults, validation.
//!
//! Layers: [`lexer`] (files → logical lines of tokens with spans; includes, `$VAR`, `@id`,
//! `~SEQ`), [`parser`] (generic block tree), [`lower`] (tree → [`model`], with [`keywords`]
//! classifying every keyword), [`validate`] (keepalived's completion rules) and [`resolve`]
//! (effective per-instance values for the engine). [`load`] runs them all.

pub mod address;
pub mod check;
pub mod diag;
pub mod keywords;
pub mod lexer;
pub mod lower;
pub mod model;
pub mod parser;
pub mod resolve;
pub mod validate;
pub mod values;

use std::fmt;
use std::path::Path;

pub use diag::{Diagnostic, Severity, Span};
pub use model::Config;
pub use resolve::{ResolvedInstance, resolve};

#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Compared with `@ID` lines; keepalived's default is the first component of the host name.
    pub config_id: String,
    /// keepalived's `-e/--all-config`: any missing include file is an error.
    pub all_config: bool,
    /// Disable `vrrp_script`s whose program is missing or not executable, and remove tracked
    /// `track_file`s whose directory is missing (keepalived does both).
    pub check_scripts: bool,
    /// Warn about instance/tracked interfaces that do not exist on this machine.
    pub check_interfaces: bool,
    /// Follow `include` lines (always on except for fuzzing).
    pub follow_includes: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            config_id: lexer::default_config_id(),
            all_config: false,
            check_scripts: true,
            check_interfaces: true,
            follow_includes: true,
        }
    }
}

/// A configuration that can run, and what was said about it (warnings and notes).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub diagnostics: Vec<Diagnostic>,
}

/// The configuration cannot run: the file is unreadable or has errors. Displays the first error
/// (file:line:column and the line) and how many more there are.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigError {
    /// Every diagnostic, errors and warnings, in the order found.
    pub diagnostics: Vec<Diagnostic>,
}

impl ConfigError {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut errors = self.errors();
        match errors.next() {
            Some(first) => {
                write!(f, "{first}")?;
                let more = errors.count();
                if more > 0 {
                    write!(
                        f,
                        "\n(and {more} more error{})",
                        if more == 1 { "" } else { "s" }
                    )?;
                }
                Ok(())
            }
            None => f.write_str("configuration error"),
        }
    }
}

/// The full result of reading a configuration, whether or not it can run: a best-effort model
/// and every diagnostic. `vrrpd check` uses this; the daemon uses [`load`].
#[derive(Debug, Clone)]
pub struct Analysis {
    pub config: Config,
    pub diagnostics: Vec<Diagnostic>,
}

impl Analysis {
    pub fn worst(&self) -> Option<Severity> {
        self.diagnostics.iter().map(|d| d.severity).max()
    }
}

pub fn analyse(path: &Path, opts: &LoadOptions) -> Analysis {
    let mut diags = diag::Diagnostics::default();
    let lines = lexer::lex(path, &lex_options(opts), &mut diags);
    finish(lines, diags, opts)
}

/// [`analyse`] for text already in memory, named `path` in diagnostics.
pub fn analyse_source(path: &Path, text: &[u8], opts: &LoadOptions) -> Analysis {
    let mut diags = diag::Diagnostics::default();
    let lines = lexer::lex_source(path, text, &lex_options(opts), &mut diags);
    finish(lines, diags, opts)
}

fn lex_options(opts: &LoadOptions) -> lexer::LexOptions {
    lexer::LexOptions {
        config_id: opts.config_id.clone(),
        all_config: opts.all_config,
        follow_includes: opts.follow_includes,
    }
}

fn finish(lines: Vec<lexer::Line>, mut diags: diag::Diagnostics, opts: &LoadOptions) -> Analysis {
    let tree = parser::parse(lines, &mut diags);
    let mut config = lower::lower(&tree, &mut diags);
    validate::validate(
        &mut config,
        validate::SystemChecks {
            scripts: opts.check_scripts,
            interfaces: opts.check_interfaces,
        },
        &mut diags,
    );
    Analysis {
        config,
        diagnostics: diags.items,
    }
}

/// Reads, validates and normalises `path` and everything it includes.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<Loaded, ConfigError> {
    let a = analyse(path, opts);
    if a.worst() == Some(Severity::Error) {
        return Err(ConfigError {
            diagnostics: a.diagnostics,
        });
    }
    Ok(Loaded {
        config: a.config,
        diagnostics: a.diagnostics,
    })
}
