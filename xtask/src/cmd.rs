//! Process plumbing shared by the subcommands: where the workspace is, which cargo to call, and
//! running one named step with its output streamed to the terminal and kept for the error report.

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

/// `cmd` as a shell-like line, for "what we are doing" messages.
pub fn display(cmd: &Command) -> String {
    let mut line = String::new();
    for (key, value) in cmd.get_envs() {
        if let Some(value) = value {
            line.push_str(&format!(
                "{}={} ",
                key.to_string_lossy(),
                value.to_string_lossy()
            ));
        }
    }
    line.push_str(&cmd.get_program().to_string_lossy());
    for arg in cmd.get_args() {
        let arg = arg.to_string_lossy();
        if arg.is_empty() || arg.contains(char::is_whitespace) {
            line.push_str(&format!(" '{arg}'"));
        } else {
            line.push(' ');
            line.push_str(&arg);
        }
    }
    line
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
