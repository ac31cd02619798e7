//! keepalived.conf lexer: turns files into logical lines of tokens with file/line/column spans.
//!
//! keepalived's syntax is line based, and everything that rewrites lines happens here, before any
//! block structure is seen: `#`/`!` comments, `@ID`/`@^ID` conditional lines, `$NAME=` definitions
//! (multi-line with a trailing `\`), `$NAME`/`${NAME}` expansion, `~SEQ(...)`/`~LST(...)`
//! generators and the `include` family. A `{` or `}` outside quotes is always its own token, so
//! `track_script { chk }` on one line gives four tokens.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::diag::{Diagnostics, ExitClass, Severity, Span};

/// Largest configuration file read (keepalived configs are kilobytes; this stops a mistaken
/// `include /dev/zero` or a huge binary from eating memory).
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// Most logical lines produced in total, generators included (man5 shows 65,024 instances from
/// one line; this leaves room for that and stops runaway nesting).
pub const MAX_LINES: usize = 500_000;
/// Most generator iterations in total, nested ones included: nested generators whose lines
/// produce nothing (`~SEQ(i,1,500000) ~SEQ(j,1,500000) @other x`) never reach [`MAX_LINES`].
pub const MAX_GENERATOR_STEPS: usize = 2 * MAX_LINES;
/// Most files one include pattern may pull in.
pub const MAX_INCLUDE_MATCHES: usize = 1024;
/// Deepest nesting of includes.
pub const MAX_INCLUDE_DEPTH: usize = 32;
/// Deepest recursion of variable expansion and line rewriting.
const MAX_REWRITE_DEPTH: usize = 32;
/// Longest line after variable expansion.
const MAX_EXPANDED_LEN: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The word as UTF-8: a byte of the file that is not UTF-8 (or an escape above 0x7f) is
    /// U+FFFD or the escape's character here.
    pub text: String,
    /// Whether any part of the token was quoted (a quoted `"{"` is not a brace).
    pub quoted: bool,
    pub span: Span,
    /// The word's bytes when they are not `text`'s (see [`Token::bytes`]).
    raw: Option<Vec<u8>>,
    /// The word with its quoted escapes applied, when it has any (see [`Token::escaped`]).
    escaped: Option<String>,
}

impl Token {
    pub fn is(&self, s: &str) -> bool {
        !self.quoted && self.text == s
    }

    /// The word's bytes as keepalived sees them: the file's own bytes. Only `auth_pass` needs
    /// this (its first 8 bytes go on the wire).
    pub fn bytes(&self) -> &[u8] {
        self.raw.as_deref().unwrap_or(self.text.as_bytes())
    }

    /// The word with the escapes inside its quotes applied (`\n \t \xXX \nnn \cC`…), as
    /// keepalived's alloc_strvec_quoted_escaped reads script and notify command strings. Every
    /// other keyword takes [`Token::text`], the text between the quotes as written.
    pub fn escaped(&self) -> &str {
        self.escaped.as_deref().unwrap_or(&self.text)
    }
}

/// Bytes of the file that are not UTF-8 travel through the lexer as the private-use characters
/// U+10FF80..=U+10FFFF (U+10FF00 + byte), so that [`Token::bytes`] can give them back exactly.
/// A character of that range written in the file travels as its four UTF-8 bytes.
const RAW_BYTE_BASE: u32 = 0x10_FF00;

fn raw_char(byte: u8) -> char {
    char::from_u32(RAW_BYTE_BASE + u32::from(byte)).unwrap_or(char::REPLACEMENT_CHARACTER)
}

fn raw_byte(c: char) -> Option<u8> {
    let v = c as u32;
    (v >= RAW_BYTE_BASE + 0x80).then(|| (v - RAW_BYTE_BASE) as u8)
}

/// The file's text with its non-UTF-8 bytes as [`raw_char`]s: nothing is lost.
fn decode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if raw_byte(c).is_some() {
                let mut buf = [0u8; 4];
                out.extend(c.encode_utf8(&mut buf).bytes().map(raw_char));
            } else {
                out.push(c);
            }
        }
        out.extend(chunk.invalid().iter().copied().map(raw_char));
    }
    out
}

/// `text` as shown to people: raw bytes become U+FFFD (one per byte, so columns stay right).
fn shown(text: &str) -> String {
    text.chars()
        .map(|c| match raw_byte(c) {
            Some(_) => char::REPLACEMENT_CHARACTER,
            None => c,
        })
        .collect()
}

/// A word being built by the tokenizer: its text and, once they differ, its bytes.
#[derive(Default)]
struct Word {
    text: String,
    raw: Option<Vec<u8>>,
}

impl Word {
    fn push(&mut self, c: char) {
        match raw_byte(c) {
            Some(b) => {
                let raw = self
                    .raw
                    .get_or_insert_with(|| self.text.as_bytes().to_vec());
                raw.push(b);
                self.text.push(char::REPLACEMENT_CHARACTER);
            }
            None => {
                if let Some(raw) = &mut self.raw {
                    let mut buf = [0u8; 4];
                    raw.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                self.text.push(c);
            }
        }
    }
}

/// One logical line: what keepalived's `read_line` hands to the keyword parser.
#[derive(Debug, Clone)]
pub struct Line {
    pub tokens: Vec<Token>,
}

#[derive(Debug, Clone)]
pub struct LexOptions {
    /// Value `@ID` lines are compared with.
    pub config_id: String,
    /// keepalived's `-e/--all-config`: every missing include is an error.
    pub all_config: bool,
    /// Whether `include` lines are followed (off only for fuzzing: a glob such as `/**/x`
    /// would walk the whole file system).
    pub follow_includes: bool,
}

/// Reads `path` and everything it includes. Problems become diagnostics; the result holds every
/// line that could be read.
pub fn lex(path: &Path, opts: &LexOptions, diags: &mut Diagnostics) -> Vec<Line> {
    let mut lexer = Lexer::new(opts, diags);
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => lexer.read_file(path, None),
        Ok(_) => lexer.diags.push(
            Severity::Error,
            None,
            format!(
                "Configuration file '{}' is not a regular file",
                path.display()
            ),
        ),
        Err(e) => lexer.diags.push(
            Severity::Error,
            None,
            format!("Unable to find configuration file {} ({e})", path.display()),
        ),
    }
    lexer.out
}

/// Lexes `text` as if it were the file `path` (includes resolve from its directory). For
/// callers that already hold the text (fuzzing, tests).
pub fn lex_source(
    path: &Path,
    text: &[u8],
    opts: &LexOptions,
    diags: &mut Diagnostics,
) -> Vec<Line> {
    let mut lexer = Lexer::new(opts, diags);
    if text.len() as u64 > MAX_FILE_BYTES {
        lexer.diags.push(
            Severity::Error,
            None,
            format!("configuration text is larger than {MAX_FILE_BYTES} bytes"),
        );
        return Vec::new();
    }
    lexer.lex_text(path, text);
    lexer.out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IncludeKind {
    Plain,
    Readable,
    Match,
    Wildcard,
    Brace,
    All,
}

impl IncludeKind {
    fn from_keyword(s: &str) -> Option<Self> {
        Some(match s {
            "include" => IncludeKind::Plain,
            "includer" => IncludeKind::Readable,
            "includem" => IncludeKind::Match,
            "includew" => IncludeKind::Wildcard,
            "includeb" => IncludeKind::Brace,
            "includea" => IncludeKind::All,
            _ => return None,
        })
    }
}

/// Where the text being processed came from. `exact` is false once the text has been rewritten
/// (variables, generators): columns then point at the start of the original text.
#[derive(Clone)]
struct Origin {
    file: Arc<PathBuf>,
    line: u32,
    column: u32,
    exact: bool,
}

struct PendingDef {
    name: String,
    lines: Vec<String>,
}

struct Lexer<'a> {
    opts: &'a LexOptions,
    diags: &'a mut Diagnostics,
    defs: HashMap<String, String>,
    /// Canonical paths of the files being read, outermost first (include loop detection).
    stack: Vec<PathBuf>,
    out: Vec<Line>,
    pending_def: Option<PendingDef>,
    budget_exhausted: bool,
    /// Generator iterations so far (see [`MAX_GENERATOR_STEPS`]).
    generator_steps: usize,
}

impl<'a> Lexer<'a> {
    fn new(opts: &'a LexOptions, diags: &'a mut Diagnostics) -> Self {
        Lexer {
            opts,
            diags,
            defs: HashMap::new(),
            stack: Vec::new(),
            out: Vec::new(),
            pending_def: None,
            budget_exhausted: false,
            generator_steps: 0,
        }
    }

    fn read_file(&mut self, path: &Path, included_from: Option<&Span>) {
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if self.stack.contains(&canonical) {
            self.diags.push(
                Severity::Error,
                included_from,
                format!("include loop: '{}' is already being read", path.display()),
            );
            return;
        }
        if self.stack.len() >= MAX_INCLUDE_DEPTH {
            self.diags.push(
                Severity::Error,
                included_from,
                format!(
                    "includes nested deeper than {MAX_INCLUDE_DEPTH} at '{}'",
                    path.display()
                ),
            );
            return;
        }
        let bytes = match read_limited(path) {
            Ok(b) => b,
            Err(msg) => {
                self.diags.push(Severity::Error, included_from, msg);
                return;
            }
        };
        self.stack.push(canonical);
        self.lex_text(path, &bytes);
        self.stack.pop();
    }

    /// Lexes the contents of one file (already read).
    fn lex_text(&mut self, path: &Path, bytes: &[u8]) {
        let text = decode(bytes);
        let lines: Vec<String> = text
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
            .collect();
        let file = Arc::new(path.to_path_buf());
        self.diags
            .add_source(&file, Arc::new(lines.iter().map(|l| shown(l)).collect()));
        for (i, raw) in lines.iter().enumerate() {
            if self.budget_exhausted {
                break;
            }
            let origin = Origin {
                file: Arc::clone(&file),
                line: (i + 1) as u32,
                column: 1,
                exact: true,
            };
            self.physical_line(raw, &origin);
        }
        if let Some(def) = self.pending_def.take() {
            // A definition whose last line still ended in `\` at end of file: keep what we have.
            self.defs.insert(def.name, def.lines.join("\n"));
        }
    }

    fn physical_line(&mut self, raw: &str, origin: &Origin) {
        if let Some(mut def) = self.pending_def.take() {
            // As keepalived's read_line: only a truly empty physical line ends the definition;
            // one that decomments to nothing (a comment, blanks) is skipped.
            if raw.is_empty() {
                self.defs.insert(def.name, def.lines.join("\n"));
                return;
            }
            let text = decomment(raw);
            let text = text.trim();
            if text.is_empty() {
                self.pending_def = Some(def);
                return;
            }
            match text.strip_suffix('\\') {
                Some(head) => {
                    def.lines.push(head.trim_end().to_string());
                    self.pending_def = Some(def);
                }
                None => {
                    def.lines.push(text.to_string());
                    self.defs.insert(def.name, def.lines.join("\n"));
                }
            }
            return;
        }
        let text = decomment(raw);
        self.rewrite(&text, origin, 0);
    }

    /// Applies `@` conditions, definitions, generators, expansion and includes to one line of
    /// already decommented text, then tokenises what is left.
    fn rewrite(&mut self, text: &str, origin: &Origin, depth: usize) {
        if self.budget_exhausted {
            return;
        }
        if depth > MAX_REWRITE_DEPTH {
            self.diags.warn(
                &self.span(origin, 0),
                "line rewriting nested too deeply (recursive variable?) - skipping",
            );
            return;
        }
        let lead = text.len() - text.trim_start().len();
        let body = text.trim();
        if body.is_empty() {
            return;
        }
        let origin = &Origin {
            column: if origin.exact {
                origin.column + text[..lead].chars().count() as u32
            } else {
                origin.column
            },
            ..origin.clone()
        };

        if let Some(rest) = body.strip_prefix('@') {
            let (negate, rest) = match rest.strip_prefix('^') {
                Some(r) => (true, r),
                None => (false, rest),
            };
            let id_len = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let (id, remainder) = rest.split_at(id_len);
            if (id == self.opts.config_id) != negate {
                let skipped = body.len() - remainder.len();
                let next = advance(origin, &body[..skipped]);
                self.rewrite(remainder, &next, depth + 1);
            }
            return;
        }

        if let Some((name, value)) = parse_definition(body) {
            match value.strip_suffix('\\') {
                Some(head) => {
                    self.pending_def = Some(PendingDef {
                        name: name.to_string(),
                        lines: vec![head.trim_end().to_string()],
                    })
                }
                None => {
                    self.defs.insert(name.to_string(), value.trim().to_string());
                }
            }
            return;
        }

        if body.starts_with("~SEQ") || body.starts_with("~LST") {
            self.generator(body, origin, depth);
            return;
        }

        if body.contains('$') {
            match expand(body, &self.defs, &origin.file) {
                Ok(Some(expanded)) => {
                    let rewritten = Origin {
                        exact: false,
                        ..origin.clone()
                    };
                    for part in expanded.split('\n') {
                        let part = decomment(part);
                        self.rewrite(&part, &rewritten, depth + 1);
                    }
                    return;
                }
                Ok(None) => {}
                Err(msg) => {
                    self.diags.warn(&self.span(origin, 0), msg);
                    return;
                }
            }
        }

        // Before tokenising: the include pattern is raw text (see `include`).
        let keyword = &body[..body.find(char::is_whitespace).unwrap_or(body.len())];
        if let Some(kind) = IncludeKind::from_keyword(keyword) {
            self.include(kind, keyword, body, origin);
            return;
        }
        let tokens = self.tokenize(body, origin);
        if !tokens.is_empty() {
            if self.out.len() >= MAX_LINES {
                self.budget_exhausted = true;
                self.diags.error(
                    &tokens[0].span,
                    format!("configuration expands to more than {MAX_LINES} lines - stopping"),
                );
                return;
            }
            self.out.push(Line { tokens });
        }
    }

    fn span(&self, origin: &Origin, offset_chars: u32) -> Span {
        let column = if origin.exact {
            origin.column + offset_chars
        } else {
            origin.column
        };
        Span::new(&origin.file, origin.line, column)
    }

    /// `~SEQ(var,start,step,end) rest`, `~SEQx(...)`, `~LST(var,v1,v2,...)`,
    /// `~LST({a,b},{1,2},...) rest`: the rest of the line is repeated with the variable(s) bound.
    fn generator(&mut self, body: &str, origin: &Origin, depth: usize) {
        let span = self.span(origin, 0);
        let Some(open) = body.find('(') else {
            self.diags
                .warn(&span, format!("Invalid generator specification '{body}'"));
            return;
        };
        let Some(close) = matching_paren(body, open) else {
            self.diags
                .warn(&span, format!("Invalid generator specification '{body}'"));
            return;
        };
        let head = &body[..open];
        let params_text = &body[open + 1..close];
        let rest = body[close + 1..].to_string();
        let rewritten = Origin {
            exact: false,
            ..origin.clone()
        };
        let bindings: Vec<Vec<(String, String)>> = match head {
            "~SEQ" | "~SEQx" => match self
                .seq_params(params_text, origin)
                .and_then(|params| seq_bindings(&params, head == "~SEQx"))
            {
                Ok(b) => b,
                Err(SeqError::Invalid) => {
                    self.diags
                        .warn(&span, format!("Invalid ~SEQ definition '{body}'"));
                    return;
                }
                Err(SeqError::Values) => {
                    self.diags
                        .warn(&span, format!("Invalid ~SEQ values '{body}'"));
                    return;
                }
                Err(SeqError::NegativeHex) => {
                    self.diags.warn(
                        &span,
                        format!("~SEQx is only valid for positive numbers '{body}'"),
                    );
                    return;
                }
                Err(SeqError::Multiline) => {
                    self.diags.warn(
                        &span,
                        format!("~SEQ parameter is multiline definition '{body}'"),
                    );
                    return;
                }
                Err(SeqError::Expansion(msg)) => {
                    self.diags.warn(&span, msg);
                    return;
                }
                // Not keepalived's behaviour (it would try to generate them all): a line that
                // expands past the total line budget anyway cannot be a working configuration.
                Err(e @ SeqError::TooMany(_)) => {
                    self.diags.error(&span, format!("{head}: {e}"));
                    return;
                }
            },
            "~LST" => match lst_bindings(params_text) {
                Some(b) => b,
                None => {
                    self.diags
                        .warn(&span, format!("Invalid ~LST specification '{body}'"));
                    return;
                }
            },
            _ => {
                self.diags
                    .warn(&span, format!("Invalid generator specification '{body}'"));
                return;
            }
        };
        for binding in bindings {
            if self.budget_exhausted {
                return;
            }
            self.generator_steps += 1;
            if self.generator_steps > MAX_GENERATOR_STEPS {
                self.budget_exhausted = true;
                self.diags.error(
                    &span,
                    format!(
                        "generators run more than {MAX_GENERATOR_STEPS} times in total - stopping"
                    ),
                );
                return;
            }
            let saved: Vec<(String, Option<String>)> = binding
                .iter()
                .map(|(k, _)| (k.clone(), self.defs.get(k).cloned()))
                .collect();
            for (k, v) in &binding {
                self.defs.insert(k.clone(), v.clone());
            }
            self.rewrite(&rest, &rewritten, depth + 1);
            for (k, old) in saved {
                match old {
                    Some(v) => self.defs.insert(k, v),
                    None => self.defs.remove(&k),
                };
            }
        }
    }

    /// `~SEQ`'s arguments with the definitions in its numbers replaced, as keepalived's add_seq
    /// does before reading them (`~SEQ(i,1,$N)`).
    fn seq_params(&self, params: &str, origin: &Origin) -> Result<String, SeqError> {
        let Some((var, numbers)) = params.split_once(',') else {
            return Ok(params.to_string());
        };
        match expand(numbers, &self.defs, &origin.file) {
            Ok(None) => Ok(params.to_string()),
            Ok(Some(expanded)) if expanded.contains('\n') => Err(SeqError::Multiline),
            Ok(Some(expanded)) => Ok(format!("{var},{expanded}")),
            Err(msg) => Err(SeqError::Expansion(msg)),
        }
    }

    /// One `include*` line. keepalived takes everything after the keyword as one glob pattern
    /// (spaces and quotes included, braces expanded as GLOB_BRACE), so this works on the raw
    /// text: tokenising would split `sub/{a,b}.conf` at its braces.
    ///
    /// What is reported and what is fatal follows keepalived 2.2.7 as measured with `-t`:
    /// - nothing matched and some brace alternative (or the pattern itself) has no wildcard:
    ///   "Config files missing", fatal for includem/includew (no braces), includeb (braces);
    /// - nothing matched, every alternative a wildcard: "No config files matched", said and
    ///   fatal only for includew;
    /// - some alternatives matched, some plain ones missing: "Some config files missing",
    ///   fatal for includeb (which then reads none of them);
    /// - a matched file that is not a regular non-executable file is skipped, fatal for
    ///   includer.
    ///
    /// includea and `-e` make all of them fatal. Fatal problems are errors with keepalived's
    /// fatal exit class; the rest are notes (keepalived's `-t` exits 0 for them).
    fn include(&mut self, kind: IncludeKind, keyword: &str, body: &str, origin: &Origin) {
        let keyword_span = self.span(origin, 0);
        let rest = &body[keyword.len()..];
        let pattern = rest.trim();
        if pattern.is_empty() {
            self.diags
                .warn(&keyword_span, format!("'{keyword}' needs a file name"));
            return;
        }
        let lead = rest.len() - rest.trim_start().len();
        let pattern_span = self.span(origin, (keyword.len() + lead) as u32);
        if !self.opts.follow_includes {
            self.diags.note(
                &pattern_span,
                format!("'{keyword} {pattern}' not followed (includes are off)"),
            );
            return;
        }
        let base = origin
            .file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let all = self.opts.all_config || kind == IncludeKind::All;
        let has_brace = pattern.contains('{');
        let fatal_missing = all
            || if has_brace {
                kind == IncludeKind::Brace
            } else {
                matches!(kind, IncludeKind::Match | IncludeKind::Wildcard)
            };
        let fatal_nomatch = all || kind == IncludeKind::Wildcard;
        let fatal_some_missing = all || kind == IncludeKind::Brace;
        let fatal_unreadable = all || kind == IncludeKind::Readable;

        let mut any_missing = false;
        let mut matched: Vec<PathBuf> = Vec::new();
        for alt in expand_braces(pattern) {
            let full = if Path::new(&alt).is_absolute() {
                PathBuf::from(&alt)
            } else {
                base.join(&alt)
            };
            let full_s = full.to_string_lossy().to_string();
            let has_wild = alt.contains(['*', '?', '[']);
            let found: Vec<PathBuf> = if has_wild {
                match glob::glob(&full_s) {
                    Ok(paths) => paths
                        .filter_map(Result::ok)
                        .take(MAX_INCLUDE_MATCHES)
                        .collect(),
                    Err(e) => {
                        self.diags.warn(
                            &pattern_span,
                            format!("invalid include pattern '{pattern}': {e}"),
                        );
                        Vec::new()
                    }
                }
            } else if std::fs::symlink_metadata(&full).is_ok() {
                // Without wildcards glob only checks existence; doing it directly also keeps
                // characters glob would treat specially in a literal name.
                vec![full]
            } else {
                Vec::new()
            };
            if found.is_empty() && !has_wild {
                any_missing = true;
            }
            let mut found = found;
            found.sort();
            matched.extend(found);
            if matched.len() >= MAX_INCLUDE_MATCHES {
                matched.truncate(MAX_INCLUDE_MATCHES);
                break;
            }
        }
        let report = |lexer: &mut Self, fatal: bool, msg: String| {
            if fatal {
                lexer.diags.push_as(
                    Severity::Error,
                    ExitClass::FatalInclude,
                    Some(&pattern_span),
                    msg,
                );
            } else {
                lexer.diags.note(&pattern_span, msg);
            }
        };
        if matched.is_empty() {
            if any_missing {
                report(
                    self,
                    fatal_missing,
                    format!("Config files missing '{pattern}'."),
                );
            } else if fatal_nomatch {
                report(self, true, format!("No config files matched '{pattern}'."));
            }
            return;
        }
        if any_missing {
            report(
                self,
                fatal_some_missing,
                format!("Some config files missing: \"{pattern}\"."),
            );
            if fatal_some_missing {
                return;
            }
        }
        for path in matched {
            let is_regular_non_exec = std::fs::metadata(&path)
                .map(|m| {
                    use std::os::unix::fs::PermissionsExt;
                    m.is_file() && m.permissions().mode() & 0o111 == 0
                })
                .unwrap_or(false);
            if !is_regular_non_exec {
                report(
                    self,
                    fatal_unreadable,
                    format!(
                        "Configuration file '{}' is not a regular non-executable file - skipping",
                        path.display()
                    ),
                );
                continue;
            }
            self.read_file(&path, Some(&pattern_span));
        }
    }

    /// Splits a decommented line into words. Braces outside quotes are words of their own;
    /// quoted parts lose their quotes, and their escapes are applied in [`Token::escaped`] only.
    fn tokenize(&mut self, body: &str, origin: &Origin) -> Vec<Token> {
        let chars: Vec<char> = body.chars().collect();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == ' ' || c == '\t' || c == '\r' || c == '\x0b' || c == '\x0c' {
                i += 1;
                continue;
            }
            let start = i;
            if c == '{' || c == '}' {
                tokens.push(Token {
                    text: c.to_string(),
                    quoted: false,
                    span: self.span(origin, start as u32),
                    raw: None,
                    escaped: None,
                });
                i += 1;
                continue;
            }
            let mut text = Word::default();
            // What a script or notify command string reads (see `Token::escaped`).
            let mut escaped = String::new();
            let mut has_escapes = false;
            let mut quoted = false;
            while i < chars.len() {
                let c = chars[i];
                if matches!(c, ' ' | '\t' | '\r' | '\x0b' | '\x0c' | '{' | '}') {
                    break;
                }
                if c == '"' || c == '\'' {
                    quoted = true;
                    let quote = c;
                    i += 1;
                    let mut closed = false;
                    while i < chars.len() {
                        let q = chars[i];
                        if q == quote {
                            closed = true;
                            i += 1;
                            break;
                        }
                        if q == '\\' && i + 1 < chars.len() {
                            let next = unescape(&chars, i + 1, &mut escaped);
                            // Verbatim for other keywords; an escaped quote does not end the
                            // string in either reading.
                            chars[i..next].iter().for_each(|&c| text.push(c));
                            has_escapes = true;
                            i = next;
                            continue;
                        }
                        text.push(q);
                        escaped.push(q);
                        i += 1;
                    }
                    if !closed {
                        self.diags.warn(
                            &self.span(origin, start as u32),
                            format!(
                                "String '{}': missing terminating {quote}",
                                shown(&chars[start..].iter().collect::<String>())
                            ),
                        );
                    }
                    continue;
                }
                if c == '\\' && i + 1 < chars.len() {
                    let n = chars[i + 1];
                    if matches!(n, '#' | '!' | '"' | '\'' | '{' | '}' | ' ' | '\\') {
                        text.push(n);
                        escaped.push(n);
                        i += 2;
                        continue;
                    }
                }
                text.push(c);
                escaped.push(c);
                i += 1;
            }
            tokens.push(Token {
                text: text.text,
                quoted,
                span: self.span(origin, start as u32),
                raw: text.raw,
                escaped: has_escapes.then_some(escaped),
            });
        }
        tokens
    }
}

fn read_limited(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file = std::fs::File::open(path)
        .map_err(|e| format!("Unable to read configuration file {} ({e})", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("Unable to read configuration file {} ({e})", path.display()))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!(
            "configuration file {} is larger than {MAX_FILE_BYTES} bytes",
            path.display()
        ));
    }
    Ok(bytes)
}

fn advance(origin: &Origin, consumed: &str) -> Origin {
    if origin.exact {
        Origin {
            column: origin.column + consumed.chars().count() as u32,
            ..origin.clone()
        }
    } else {
        origin.clone()
    }
}

/// Applies one backslash escape starting at `chars[i]` (the character after `\`); returns the
/// index after it. Escapes as in keepalived's quoted strings: `\n \t \r \xXX \nnn \cC`.
fn unescape(chars: &[char], i: usize, out: &mut String) -> usize {
    let c = chars[i];
    match c {
        'n' => {
            out.push('\n');
            i + 1
        }
        't' => {
            out.push('\t');
            i + 1
        }
        'r' => {
            out.push('\r');
            i + 1
        }
        'x' => {
            let digits: String = chars[i + 1..]
                .iter()
                .take(2)
                .take_while(|c| c.is_ascii_hexdigit())
                .collect();
            match u8::from_str_radix(&digits, 16) {
                Ok(v) if !digits.is_empty() => {
                    out.push(char::from(v));
                    i + 1 + digits.len()
                }
                _ => {
                    out.push('x');
                    i + 1
                }
            }
        }
        '0'..='7' => {
            let digits: String = chars[i..]
                .iter()
                .take(3)
                .take_while(|c| ('0'..='7').contains(c))
                .collect();
            let v = u32::from_str_radix(&digits, 8).unwrap_or(0) & 0xff;
            out.push(char::from(v as u8));
            i + digits.len()
        }
        'c' if i + 1 < chars.len() => {
            out.push(char::from_u32((chars[i + 1] as u32) & 0x1f).unwrap_or('?'));
            i + 2
        }
        other => {
            out.push(other);
            i + 1
        }
    }
}

/// Cuts a `#` or `!` comment off, unless inside quotes or escaped with `\`.
pub fn decomment(line: &str) -> String {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '"' | '\'' => match quote {
                Some(q) if q == c => quote = None,
                None => quote = Some(c),
                _ => {}
            },
            '#' | '!' if quote.is_none() => return line[..i].to_string(),
            _ => {}
        }
    }
    line.to_string()
}

/// `$NAME=VALUE` (no space before `=`).
fn parse_definition(body: &str) -> Option<(&str, &str)> {
    let rest = body.strip_prefix('$')?;
    let name_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    if name_len == 0
        || !rest[..1]
            .chars()
            .all(|c| c.is_ascii_alphabetic() || c == '_')
    {
        return None;
    }
    let after = &rest[name_len..];
    let value = after.strip_prefix('=')?;
    Some((&rest[..name_len], value))
}

/// Expands `$NAME` (followed by a blank, `,`, `)` or the end of the line) and `${NAME}` (and
/// keepalived's predefined `${_...}` names). Returns None if nothing changed. Undefined names
/// stay as written.
fn expand(
    text: &str,
    defs: &HashMap<String, String>,
    file: &Path,
) -> Result<Option<String>, String> {
    let mut current = text.to_string();
    let mut changed = false;
    for _ in 0..MAX_REWRITE_DEPTH {
        let (next, did) = expand_once(&current, defs, file);
        if !did {
            return Ok(changed.then_some(current));
        }
        if next.len() > MAX_EXPANDED_LEN {
            return Err(format!(
                "variable expansion of '{text}' is longer than {MAX_EXPANDED_LEN} bytes - skipping"
            ));
        }
        changed = true;
        current = next;
    }
    Err(format!(
        "variable expansion of '{text}' does not terminate - skipping"
    ))
}

fn expand_once(text: &str, defs: &HashMap<String, String>, file: &Path) -> (String, bool) {
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(inner) = after.strip_prefix('{')
            && let Some(end) = inner.find('}')
        {
            let spec = &inner[..end];
            if let Some(value) = lookup(spec, defs, file) {
                out.push_str(&value);
                changed = true;
                rest = &inner[end + 1..];
                continue;
            }
            out.push('$');
            rest = after;
            continue;
        }
        let name_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..name_len];
        // keepalived's find_definition: a bare name must end at a blank, `,`, `)` or the end of
        // the line (a newline here: multi-line values are split after expansion); `$X"` and
        // `$NET.1` stay as written.
        let ends_well = after[name_len..]
            .chars()
            .next()
            .is_none_or(|c| matches!(c, ' ' | '\t' | ',' | ')' | '\n'));
        if name_len > 0
            && ends_well
            && let Some(value) = defs.get(name)
        {
            out.push_str(value);
            changed = true;
            rest = &after[name_len..];
            continue;
        }
        out.push('$');
        rest = after;
    }
    out.push_str(rest);
    (out, changed)
}

fn lookup(spec: &str, defs: &HashMap<String, String>, file: &Path) -> Option<String> {
    let mut words = spec.split_whitespace();
    let name = words.next()?;
    match name {
        // keepalived's is the absolute directory of the file being read; with a relative `-f`
        // the path's own parent would be relative or empty.
        "_PWD" => {
            let abs = std::fs::canonicalize(file)
                .or_else(|_| std::path::absolute(file))
                .unwrap_or_else(|_| file.to_path_buf());
            Some(
                abs.parent()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            )
        }
        // Escaped so that the comment stripper and tokenizer keep them as literal characters.
        "_HASH" => Some("\\#".into()),
        "_BANG" => Some("\\!".into()),
        "_INSTANCE" => Some(String::new()),
        "_ENV" => words.next().map(|v| std::env::var(v).unwrap_or_default()),
        "_RANDOM" => {
            let min: u64 = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
            let max: u64 = words
                .next()
                .and_then(|w| w.parse().ok())
                .unwrap_or(32767)
                .max(min);
            Some(random_in(min, max).to_string())
        }
        _ => defs.get(name).cloned(),
    }
}

/// A random value in `min..=max`. In u128 because `max - min + 1` is 2^64 (and `% 0` in u64)
/// for the full range.
fn random_in(min: u64, max: u64) -> u64 {
    let span = u128::from(max - min) + 1;
    let offset = u128::from(random_u64()) % span;
    // offset <= max - min, so the sum is at most max.
    min + offset as u64
}

fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    h.finish()
}

fn matching_paren(s: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Splits at commas that are not inside `{}`.
fn split_top(s: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '{' => {
                depth += 1;
                cur.push(c)
            }
            '}' => {
                depth -= 1;
                cur.push(c)
            }
            ',' if depth == 0 => parts.push(std::mem::take(&mut cur).trim().to_string()),
            _ => cur.push(c),
        }
    }
    parts.push(cur.trim().to_string());
    parts
}

fn is_var_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// Most values one generator may produce.
pub const MAX_GENERATED: i128 = 500_000;

/// Why a `~SEQ` cannot be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum SeqError {
    #[error("invalid arguments")]
    Invalid,
    #[error("the step goes away from the end")]
    Values,
    #[error("~SEQx with a negative number")]
    NegativeHex,
    #[error("an argument is a multi-line definition")]
    Multiline,
    #[error("{0}")]
    Expansion(String),
    #[error("it would generate {0} values, more than {MAX_GENERATED}")]
    TooMany(i128),
}

/// An argument as C's `strtol(s, &end, 0)` reads it: blanks, a sign, then `0x` hex, `0` octal or
/// decimal, saturating at the i64 limits; an empty argument is 0, as in keepalived's add_seq.
/// Anything after the number but blanks makes it invalid.
fn strtol0(s: &str) -> Option<i64> {
    let t = s.trim_start_matches([' ', '\t']);
    let (negative, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (radix, digits) = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) if h.starts_with(|c: char| c.is_ascii_hexdigit()) => (16, h),
        _ if t.starts_with('0') => (8, t),
        _ => (10, t),
    };
    let len = digits
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(digits.len());
    let signed = t.len() != s.trim_start_matches([' ', '\t']).len();
    if !digits[len..].trim_matches([' ', '\t']).is_empty() || (signed && len == 0) {
        return None;
    }
    let magnitude = digits[..len].chars().fold(0i128, |acc, c| {
        (acc * i128::from(radix) + i128::from(c.to_digit(radix).unwrap_or(0)))
            .min(i128::from(i64::MAX) + 1)
    });
    let v = if negative { -magnitude } else { magnitude };
    Some(v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
}

/// `var,start,step,end` or `var,start,end` or `var,end`, with keepalived's defaults: for
/// `var,end` the sequence runs from 1 (or -1 for a negative end) towards END, so `~SEQ(i,0)` is
/// 1, 0. The arguments are i64 as in keepalived (`strtol`); the arithmetic is done in i128
/// because `end - start` and `v + step` overflow i64 for arguments near its limits.
fn seq_bindings(params: &str, hex: bool) -> Result<Vec<Vec<(String, String)>>, SeqError> {
    let parts = split_top(params);
    let var = parts.first().ok_or(SeqError::Invalid)?.clone();
    if !is_var_name(&var) {
        return Err(SeqError::Invalid);
    }
    let nums: Vec<i128> = parts[1..]
        .iter()
        .map(|p| strtol0(p).map(i128::from))
        .collect::<Option<_>>()
        .ok_or(SeqError::Invalid)?;
    let (start, step, end) = match nums.as_slice() {
        [end] => (
            if *end < 0 { -1 } else { 1 },
            if *end < 1 { -1 } else { 1 },
            *end,
        ),
        [start, end] => (*start, if end >= start { 1 } else { -1 }, *end),
        [start, step, end] => (*start, *step, *end),
        _ => return Err(SeqError::Invalid),
    };
    if step == 0 || (start < end && step < 0) || (start > end && step > 0) {
        return Err(SeqError::Values);
    }
    if hex && (start < 0 || end < 0) {
        return Err(SeqError::NegativeHex);
    }
    // |end - start| < 2^64 and |step| >= 1, so none of this can overflow i128; the direction
    // checks above make it at least 1.
    let count = (end - start) / step + 1;
    if count > MAX_GENERATED {
        return Err(SeqError::TooMany(count));
    }
    let mut out = Vec::with_capacity(count as usize);
    let mut v = start;
    for _ in 0..count {
        let text = if hex { format!("{v:x}") } else { v.to_string() };
        out.push(vec![(var.clone(), text)]);
        v += step;
    }
    Ok(out)
}

/// `var,v1,v2,...` or `{a,b},{1,2},...` (each row binds the variables of the first group).
fn lst_bindings(params: &str) -> Option<Vec<Vec<(String, String)>>> {
    let parts = split_top(params);
    let first = parts.first()?;
    if let Some(vars) = first.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
        let vars: Vec<String> = vars.split(',').map(|v| v.trim().to_string()).collect();
        if !vars.iter().all(|v| is_var_name(v)) {
            return None;
        }
        let mut out = Vec::new();
        for row in &parts[1..] {
            let values: Vec<String> = match row.strip_prefix('{').and_then(|s| s.strip_suffix('}'))
            {
                Some(inner) => inner.split(',').map(|v| v.trim().to_string()).collect(),
                None => vec![row.clone()],
            };
            out.push(
                vars.iter()
                    .cloned()
                    .zip(values.into_iter().chain(std::iter::repeat(String::new())))
                    .collect(),
            );
        }
        return Some(out);
    }
    if !is_var_name(first) {
        return None;
    }
    Some(
        parts[1..]
            .iter()
            .map(|v| vec![(first.clone(), v.clone())])
            .collect(),
    )
}

/// Expands `{a,b}` alternatives in an include pattern (as glob's GLOB_BRACE), at most a few
/// thousand results.
fn expand_braces(pattern: &str) -> Vec<String> {
    let Some(open) = pattern.find('{') else {
        return vec![pattern.to_string()];
    };
    let mut depth = 0;
    let mut close = None;
    for (i, c) in pattern[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(open + i);
                    break;
                }
            }
            _ => {}
        }
    }
    let Some(close) = close else {
        return vec![pattern.to_string()];
    };
    let (head, tail) = (&pattern[..open], &pattern[close + 1..]);
    let mut out = Vec::new();
    for alt in split_top(&pattern[open + 1..close]) {
        for rest in expand_braces(&format!("{alt}{tail}")) {
            if out.len() >= 4096 {
                return out;
            }
            out.push(format!("{head}{rest}"));
        }
    }
    out
}

/// Default config-id: the first component of the host name (keepalived uses `uname`'s nodename).
pub fn default_config_id() -> String {
    // /proc/sys/kernel/hostname is uname's nodename for this UTS namespace.
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    name.trim()
        .split('.')
        .next()
        .unwrap_or_default()
        .to_string()
}
