//! Running one script to completion under a time limit: its own process group (so a timeout
//! kills everything it started), stdio on /dev/null, the configured user, SIGTERM if vrrpd dies
//! (keepalived sets the same parent-death signal). Shared by `vrrp_script` and notify scripts.

use std::fmt;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::Duration;

use super::command::{RunAs, ScriptCommand};

/// How long a script gets after SIGTERM before SIGKILL.
pub const KILL_GRACE: Duration = Duration::from_secs(2);

/// How one run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExitOutcome {
    /// Exit status 0.
    Success,
    Exited(i32),
    Signaled(i32),
    /// Ran past its timeout and was killed.
    TimedOut,
    /// fork/exec failed (the message says why).
    SpawnFailed(String),
}

impl ExitOutcome {
    pub fn is_success(&self) -> bool {
        *self == ExitOutcome::Success
    }
}

impl fmt::Display for ExitOutcome {
    /// The tail of keepalived's log line: `succeeded`, `failed (exited with status 1)`,
    /// `failed (killed by signal 9)`, `timed_out`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitOutcome::Success => write!(f, "succeeded"),
            ExitOutcome::Exited(code) => write!(f, "failed (exited with status {code})"),
            ExitOutcome::Signaled(sig) => write!(f, "failed (killed by signal {sig})"),
            ExitOutcome::TimedOut => write!(f, "timed_out"),
            ExitOutcome::SpawnFailed(why) => write!(f, "failed (could not be run: {why})"),
        }
    }
}

/// Kills the process group on drop unless disarmed, so a cancelled run (the runner was dropped)
/// leaves nothing behind.
struct GroupGuard {
    pgid: Option<i32>,
}

impl GroupGuard {
    fn signal(&self, sig: libc::c_int) {
        if let Some(pgid) = self.pgid {
            // SAFETY: plain syscall; a vanished group gives ESRCH, which is fine.
            unsafe { libc::kill(-pgid, sig) };
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.signal(libc::SIGKILL);
    }
}

/// How every script is started: `cmd` with `extra` arguments as `run_as`, stdio on /dev/null, in
/// a process group of its own, with SIGTERM as its parent-death signal, killed if dropped.
pub fn command(cmd: &ScriptCommand, extra: &[String], run_as: RunAs) -> tokio::process::Command {
    let mut command = tokio::process::Command::from(cmd.to_command(extra));
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    if run_as != RunAs::ROOT {
        command.uid(run_as.uid).gid(run_as.gid);
    }
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec here.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command
}

/// Runs `cmd` (with `extra` arguments) as `run_as` and waits at most `timeout`. On timeout the
/// whole process group gets SIGTERM, then SIGKILL once the script has exited or [`KILL_GRACE`]
/// has passed, whichever is first, so no child outlives a timed-out run.
pub async fn run(
    cmd: &ScriptCommand,
    extra: &[String],
    run_as: RunAs,
    timeout: Duration,
) -> ExitOutcome {
    let mut child = match command(cmd, extra, run_as).spawn() {
        Ok(c) => c,
        Err(e) => return ExitOutcome::SpawnFailed(e.to_string()),
    };
    let mut guard = GroupGuard {
        pgid: child.id().map(|p| p as i32),
    };
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => {
            // A normal exit leaves any background children alone, as keepalived does.
            guard.pgid = None;
            match (status.code(), status.signal()) {
                (Some(0), _) => ExitOutcome::Success,
                (Some(code), _) => ExitOutcome::Exited(code),
                (None, Some(sig)) => ExitOutcome::Signaled(sig),
                (None, None) => ExitOutcome::SpawnFailed("unknown wait status".into()),
            }
        }
        Ok(Err(e)) => ExitOutcome::SpawnFailed(format!("wait: {e}")),
        Err(_) => {
            guard.signal(libc::SIGTERM);
            let _ = tokio::time::timeout(KILL_GRACE, child.wait()).await;
            guard.signal(libc::SIGKILL);
            let _ = child.wait().await;
            guard.pgid = None;
            ExitOutcome::TimedOut
        }
    }
}
