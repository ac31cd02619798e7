//! Process plumbing shared by the subcommands: where the workspace is, which cargo to call, and
//! running one named step with its output streamed to the terminal and kept for the error report.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;

use anyhow::{Context as _, bail};

/// How many trailing output lines a failure report repeats.
const TAIL_LINES: usize = 20;

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// The cargo that runs us (`CARGO` is set by `cargo run`), working in the workspace root.
pub fn cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace_root());
    cmd
}

/// The target directory cargo uses for this workspace.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                workspace_root().join(dir)
            }
        }
        None => workspace_root().join("target"),
    }
}

/// `cmd` as a line a POSIX shell runs as the same command (`KEY=value` for the variables it
/// sets, every word quoted by [`shell_quote`]), for "what we are doing" messages and for the
/// commands `setup` asks the user to run. The cargo that runs us (`$CARGO`, an absolute path into
/// one toolchain) is shown as `cargo`: what a user types, and what rustup resolves to the same
/// toolchain in this workspace.
pub fn display(cmd: &Command) -> String {
    display_with_cargo(cmd, std::env::var_os("CARGO").as_deref())
}

fn display_with_cargo(cmd: &Command, cargo: Option<&OsStr>) -> String {
    let mut words = Vec::new();
    for (key, value) in cmd.get_envs() {
        if let Some(value) = value {
            // The name stays bare: a quoted name would make the word a command, not an assignment.
            words.push(format!(
                "{}={}",
                key.to_string_lossy(),
                shell_quote(&value.to_string_lossy())
            ));
        }
    }
    let program = cmd.get_program();
    if cargo.is_some_and(|cargo| cargo == program) {
        words.push("cargo".to_owned());
    } else {
        words.push(shell_quote(&program.to_string_lossy()));
    }
    words.extend(cmd.get_args().map(|a| shell_quote(&a.to_string_lossy())));
    words.join(" ")
}

/// `word` as one POSIX shell word: as is when it holds only characters no shell treats
/// specially, else in single quotes. Inside those only `'` needs care: it ends the quoted part,
/// is escaped, and a new quoted part begins (`'\''`).
pub fn shell_quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        return word.to_owned();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// A finished step: how it exited and every line it printed (stdout and stderr, interleaved).
pub struct Streamed {
    pub status: ExitStatus,
    pub lines: Vec<String>,
}

/// Runs `cmd` as the step `what`: announces it, streams its output, and on failure returns an error
/// naming the step, its exit status and its last lines of output. Returns every output line.
pub fn run_step(what: &str, cmd: &mut Command) -> anyhow::Result<Vec<String>> {
    let Streamed { status, lines } = stream(what, cmd)?;
    if !status.success() {
        let tail = &lines[lines.len().saturating_sub(TAIL_LINES)..];
        let code = status
            .code()
            .map_or_else(|| format!("{status}"), |c| format!("exit code {c}"));
        bail!(
            "step `{what}` failed ({code}): {}\nlast lines of its output:\n{}",
            display(cmd),
            tail.join("\n")
        );
    }
    Ok(lines)
}

/// Runs `cmd` as the step `what`, streaming its output, whatever its exit status.
pub fn stream(what: &str, cmd: &mut Command) -> anyhow::Result<Streamed> {
    eprintln!("xtask: {what}: {}", display(cmd));
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("{what}: cannot start {}", display(cmd)))?;
    let lines = Arc::new(Mutex::new(Vec::new()));
    let readers = [
        child
            .stdout
            .take()
            .map(|out| tee(out, false, Arc::clone(&lines))),
        child
            .stderr
            .take()
            .map(|err| tee(err, true, Arc::clone(&lines))),
    ];
    let status = child
        .wait()
        .with_context(|| format!("{what}: waiting for {}", display(cmd)))?;
    for reader in readers.into_iter().flatten() {
        // A reader only ends at end of file; a panic in it would be a bug in `tee`.
        let _ = reader.join();
    }
    let lines = std::mem::take(&mut *lines.lock().unwrap_or_else(|e| e.into_inner()));
    Ok(Streamed { status, lines })
}

/// Copies `from` line by line to our stdout (or stderr) and into `lines`.
fn tee(
    from: impl Read + Send + 'static,
    to_stderr: bool,
    lines: Arc<Mutex<Vec<String>>>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        vrrpd_tests::for_each_line(from, |raw, line| {
            // Output going nowhere (closed terminal) must not stop the step.
            let _ = if to_stderr {
                std::io::stderr().write_all(raw)
            } else {
                std::io::stdout().write_all(raw)
            };
            lines.lock().unwrap_or_else(|e| e.into_inner()).push(line);
        });
    })
}

/// Runs `cmd` quietly and returns its stdout, or `None` if it cannot start or fails. For checks
/// ("is this installed?") where failure is an answer, not an error.
pub fn probe(cmd: &mut Command) -> Option<String> {
    let output = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Like `probe`, but keeps stdout even when the command exits non-zero (`dpkg-query` does so as
/// soon as one of several packages is unknown, yet still reports the others).
pub fn probe_any_status(cmd: &mut Command) -> Option<String> {
    let output = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_stay_bare_and_others_are_single_quoted() {
        assert_eq!(shell_quote("llvm-22-dev"), "llvm-22-dev");
        assert_eq!(shell_quote("/usr/lib/llvm-22"), "/usr/lib/llvm-22");
        assert_eq!(shell_quote("--features=a,b"), "--features=a,b");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("two words"), "'two words'");
        assert_eq!(shell_quote("-f=${Package}"), "'-f=${Package}'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("'"), r"''\'''");
        assert_eq!(shell_quote(r"a\b"), r"'a\b'");
    }

    /// The words `sh` makes of `line`, a `printf '%s\0' …` command.
    fn sh_words(line: &str) -> Vec<String> {
        let out = Command::new("sh")
            .args(["-c", line])
            .output()
            .expect("run sh");
        assert!(out.status.success(), "sh -c {line:?}: {out:?}");
        String::from_utf8(out.stdout)
            .expect("UTF-8")
            .split_terminator('\0')
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn a_shell_reads_back_every_argument_and_variable() {
        let tricky = [
            "plain",
            "",
            "two words",
            "it's",
            "''",
            r"'\''",
            r#"$HOME `id` $(id) "q" \n *?[a] ~ ; & | < > # !"#,
            "tab\there\nnewline",
            r"-f=${Package} ${Status}\n",
        ];
        let mut cmd = Command::new("printf");
        cmd.arg(r"%s\0").args(tricky);
        assert_eq!(sh_words(&display(&cmd)), tricky);

        // A variable is an assignment of its value as given.
        let mut env = Command::new("sh");
        env.env("XTASK_QUOTE", "a 'b' $c")
            .args(["-c", r#"printf '%s\0' "$XTASK_QUOTE""#]);
        let line = display(&env);
        assert!(
            line.starts_with(r"XTASK_QUOTE='a '\''b'\'' $c' sh -c "),
            "{line}"
        );
        assert_eq!(sh_words(&line), ["a 'b' $c"]);
    }

    #[test]
    fn the_cargo_running_us_is_shown_as_cargo() {
        let cargo = OsStr::new("/home/u/.rustup/toolchains/stable/bin/cargo");
        let mut cmd = Command::new(cargo);
        cmd.env("LLVM_PREFIX", "/usr/lib/llvm-22")
            .args(["install", "bpf-linker"]);
        assert_eq!(
            display_with_cargo(&cmd, Some(cargo)),
            "LLVM_PREFIX=/usr/lib/llvm-22 cargo install bpf-linker"
        );
        // Any other program keeps its path, even one called cargo.
        assert_eq!(
            display_with_cargo(&Command::new("/opt/cargo"), Some(cargo)),
            "/opt/cargo"
        );
        assert_eq!(
            display_with_cargo(&cmd, None),
            "LLVM_PREFIX=/usr/lib/llvm-22 /home/u/.rustup/toolchains/stable/bin/cargo install \
             bpf-linker"
        );
    }
}
