//! A script line as keepalived runs it (`script "…"`, `notify_master "…"`): executed directly,
//! split on unquoted spaces, unless it contains shell metacharacters, in which case it goes to
//! `/bin/sh -c`. Also who runs it ([`RunAs`]) and the "is it there and executable" check.

use std::ffi::CString;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Characters that make a script line need a shell (pipes, redirection, expansion, globbing,
/// command lists, comments, escapes).
const SHELL_META: &[char] = &[
    '|', '&', ';', '<', '>', '(', ')', '$', '`', '\\', '*', '?', '[', ']', '#', '~', '{', '}', '!',
    '\n',
];

/// A script line ready to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScriptCommand {
    /// Run `argv[0]` with the remaining words as arguments.
    Exec { argv: Vec<String> },
    /// Run `/bin/sh -c line`.
    Shell { line: String },
}

/// A script line is unusable, or its program cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("script line is empty")]
    Empty,
    #[error("script line {line:?} has an unterminated {quote} quote")]
    UnterminatedQuote { line: String, quote: char },
    #[error("script `{program}` not found")]
    NotFound { program: String },
    #[error("WARNING - script '{}' is not executable for uid:gid {uid}:{gid}. Please fix.", path.display())]
    NotExecutable { path: PathBuf, uid: u32, gid: u32 },
    #[error("script user {user:?} does not exist")]
    NoSuchUser { user: String },
    #[error("script group {group:?} does not exist")]
    NoSuchGroup { group: String },
}

impl ScriptCommand {
    /// Parses a script line (outer config quotes already removed).
    pub fn parse(line: &str) -> Result<ScriptCommand, CommandError> {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            return Err(CommandError::Empty);
        }
        if trimmed.contains(SHELL_META) {
            return Ok(ScriptCommand::Shell {
                line: trimmed.to_owned(),
            });
        }
        let argv = split_words(trimmed)?;
        if argv.is_empty() {
            return Err(CommandError::Empty);
        }
        Ok(ScriptCommand::Exec { argv })
    }

    /// The program the line runs: `argv[0]`, or the first word given to the shell.
    pub fn program(&self) -> &str {
        match self {
            ScriptCommand::Exec { argv } => &argv[0],
            ScriptCommand::Shell { line } => line
                .split(|c: char| c.is_whitespace() || SHELL_META.contains(&c))
                .find(|w| !w.is_empty())
                .unwrap_or(""),
        }
    }

    /// A `std::process::Command` for this line with `extra` arguments appended (the generic
    /// `notify` script's `INSTANCE NAME STATE PRIORITY`). For a shell line the extras become the
    /// shell's positional parameters *and* are appended to the line, quoted, as keepalived does.
    pub fn to_command(&self, extra: &[String]) -> std::process::Command {
        match self {
            ScriptCommand::Exec { argv } => {
                let mut c = std::process::Command::new(&argv[0]);
                c.args(&argv[1..]).args(extra);
                c
            }
            ScriptCommand::Shell { line } => {
                let mut full = line.clone();
                for arg in extra {
                    full.push(' ');
                    full.push_str(&shell_quote(arg));
                }
                let mut c = std::process::Command::new("/bin/sh");
                c.arg("-c").arg(full);
                c
            }
        }
    }

    /// Checks that the program exists and `run_as` may execute it, as keepalived does before
    /// enabling a script. A bare name is looked up in `PATH`. Shell lines whose first word is
    /// not a file (a shell builtin) pass.
    pub fn check(&self, run_as: RunAs) -> Result<PathBuf, CommandError> {
        let program = self.program();
        let resolved = resolve(program);
        match (resolved, self) {
            (Some(path), _) => {
                let meta = std::fs::metadata(&path).map_err(|_| CommandError::NotFound {
                    program: program.to_owned(),
                })?;
                if !meta.is_file() || !is_executable(&meta, run_as) {
                    return Err(CommandError::NotExecutable {
                        path,
                        uid: run_as.uid,
                        gid: run_as.gid,
                    });
                }
                Ok(path)
            }
            (None, ScriptCommand::Shell { .. }) if !program.contains('/') => {
                Ok(PathBuf::from("/bin/sh"))
            }
            (None, _) => Err(CommandError::NotFound {
                program: program.to_owned(),
            }),
        }
    }
}

/// Splits on unquoted blanks; single and double quotes group words and are removed.
fn split_words(line: &str) -> Result<Vec<String>, CommandError> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if let Some(q) = quote {
        return Err(CommandError::UnterminatedQuote {
            line: line.to_owned(),
            quote: q,
        });
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

fn shell_quote(arg: &str) -> String {
    format!("'{}'", arg.replace('\'', r"'\''"))
}

fn resolve(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let p = PathBuf::from(program);
        return p.exists().then_some(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| Path::new(candidate).is_file())
}

/// keepalived's rule: root may run anything with any execute bit; otherwise the owner, group or
/// other bit that applies to the user.
fn is_executable(meta: &std::fs::Metadata, run_as: RunAs) -> bool {
    let mode = meta.permissions().mode();
    if run_as.uid == 0 {
        return mode & 0o111 != 0;
    }
    if run_as.uid == meta.uid() {
        return mode & 0o100 != 0;
    }
    if run_as.gid == meta.gid() {
        return mode & 0o010 != 0;
    }
    mode & 0o001 != 0
}

/// The user and group a script runs as (`script_user`, `user USER [GROUP]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RunAs {
    pub uid: u32,
    pub gid: u32,
}

impl RunAs {
    pub const ROOT: RunAs = RunAs { uid: 0, gid: 0 };

    /// Resolves `user [group]`; without a group, the user's primary group.
    pub fn lookup(user: &str, group: Option<&str>) -> Result<RunAs, CommandError> {
        let no_user = || CommandError::NoSuchUser {
            user: user.to_owned(),
        };
        if CString::new(user).is_err() {
            return Err(no_user());
        }
        let u = nix::unistd::User::from_name(user)
            .ok()
            .flatten()
            .ok_or_else(no_user)?;
        let gid = match group {
            None => u.gid.as_raw(),
            Some(g) => nix::unistd::Group::from_name(g)
                .ok()
                .flatten()
                .ok_or_else(|| CommandError::NoSuchGroup {
                    group: g.to_owned(),
                })?
                .gid
                .as_raw(),
        };
        Ok(RunAs {
            uid: u.uid.as_raw(),
            gid,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testutil::TempDir;

    #[test]
    fn plain_lines_are_split_on_unquoted_blanks() {
        let c = ScriptCommand::parse(r#"  /usr/bin/check  -p "a b"  'c d' e"f"  "#).unwrap();
        assert_eq!(
            c,
            ScriptCommand::Exec {
                argv: vec![
                    "/usr/bin/check".into(),
                    "-p".into(),
                    "a b".into(),
                    "c d".into(),
                    "ef".into()
                ]
            }
        );
        assert_eq!(c.program(), "/usr/bin/check");
        assert_eq!(
            ScriptCommand::parse(r#"x """#).unwrap(),
            ScriptCommand::Exec {
                argv: vec!["x".into(), "".into()]
            }
        );
    }

    #[test]
    fn metacharacters_need_a_shell() {
        for line in [
            "pidof haproxy || exit 1",
            "killall -0 nginx && true",
            "test -e /tmp/x; echo $?",
            "cat /proc/x > /dev/null",
            "echo `id`",
            "ls /tmp/*.lock",
        ] {
            let c = ScriptCommand::parse(line).unwrap();
            assert_eq!(c, ScriptCommand::Shell { line: line.into() }, "{line}");
        }
        assert_eq!(
            ScriptCommand::parse("pidof haproxy || exit 1")
                .unwrap()
                .program(),
            "pidof"
        );
    }

    #[test]
    fn bad_lines_are_errors() {
        assert_eq!(ScriptCommand::parse("   "), Err(CommandError::Empty));
        assert!(matches!(
            ScriptCommand::parse("/bin/x 'open"),
            Err(CommandError::UnterminatedQuote { quote: '\'', .. })
        ));
    }

    #[test]
    fn extra_arguments_are_appended_quoted_for_the_shell() {
        let c = ScriptCommand::parse("/bin/echo a")
            .unwrap()
            .to_command(&["VI 1".into()]);
        let args: Vec<_> = c.get_args().collect();
        assert_eq!(args, ["a", "VI 1"]);
        let s = ScriptCommand::parse("echo $0 | cat")
            .unwrap()
            .to_command(&["it's".into()]);
        let args: Vec<_> = s
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(args, ["-c", r"echo $0 | cat 'it'\''s'"]);
    }

    #[test]
    fn check_finds_missing_and_non_executable_programs() {
        let guard = TempDir::new("cmd");
        let dir = guard.path().to_path_buf();
        let file = dir.join("plain");
        std::fs::write(&file, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let cmd = ScriptCommand::parse(file.to_str().unwrap()).unwrap();
        assert!(matches!(
            cmd.check(RunAs::ROOT),
            Err(CommandError::NotExecutable { .. })
        ));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(cmd.check(RunAs::ROOT).unwrap(), file);
        // Owner-only execute does not let another user run it.
        let other = RunAs {
            uid: 65534,
            gid: 65534,
        };
        assert!(matches!(
            cmd.check(other),
            Err(CommandError::NotExecutable { .. })
        ));
        let missing = ScriptCommand::parse(dir.join("nope").to_str().unwrap()).unwrap();
        assert!(matches!(
            missing.check(RunAs::ROOT),
            Err(CommandError::NotFound { .. })
        ));
        assert!(
            ScriptCommand::parse("sh -c true")
                .unwrap()
                .check(RunAs::ROOT)
                .is_ok()
        );
        assert!(matches!(
            ScriptCommand::parse("no-such-program-vrrpd")
                .unwrap()
                .check(RunAs::ROOT),
            Err(CommandError::NotFound { .. })
        ));
    }

    #[test]
    fn run_as_lookup() {
        assert_eq!(RunAs::lookup("root", None).unwrap(), RunAs::ROOT);
        assert!(matches!(
            RunAs::lookup("no-such-user-vrrpd", None),
            Err(CommandError::NoSuchUser { .. })
        ));
        assert!(matches!(
            RunAs::lookup("root", Some("no-such-group-vrrpd")),
            Err(CommandError::NoSuchGroup { .. })
        ));
    }
}
