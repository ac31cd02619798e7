//! Running one script to completion under a time limit: its own process group (so a timeout
//! kills everything it started), stdio on /dev/null, the configured user, SIGTERM if vrrpd dies
//! (keepalived sets the same parent-death signal). Shared by `vrrp_script` and notify scripts.
//!
//! The daemon never forks itself for a script. A fork copies the page tables of the whole daemon
//! (ring buffer and map mappings included) while it holds the memory map locked, and leaves
//! every page copy-on-write: the engine waited about 0.75 ms per script run, and more with busy
//! CPUs. Instead the daemon starts its own binary, `vrrpd script-exec`, which needs no pre-exec
//! hook, so the standard library uses `posix_spawn` (a vfork: nothing copied); that helper sets
//! the user, then the parent-death signal (a change of user clears it), and then execs the script
//! in the same process. The start still happens on a spawner thread of its own, the scripts'
//! parent for that signal.
//! Library users and unit tests, which have no such binary, fork with a pre-exec hook instead.

use std::fmt;
use std::io;
use std::os::unix::process::{CommandExt as _, ExitStatusExt};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::Duration;

use tokio::sync::oneshot;

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

/// The subcommand of the daemon's binary that starts a script (see the module doc).
const HELPER_SUBCOMMAND: &str = "script-exec";

/// The daemon's binary, once [`use_helper`] named it.
static HELPER: OnceLock<PathBuf> = OnceLock::new();

/// Starts every later script through `binary script-exec` (the daemon calls this with its own
/// binary at start-up).
pub fn use_helper(binary: PathBuf) {
    let _ = HELPER.set(binary);
}

/// How every script is started: `cmd` with `extra` arguments as `run_as`, stdio on /dev/null, in
/// a process group of its own, with SIGTERM as its parent-death signal, killed if dropped.
pub fn command(cmd: &ScriptCommand, extra: &[String], run_as: RunAs) -> tokio::process::Command {
    let script = cmd.to_command(extra);
    let mut command = match HELPER.get() {
        Some(helper) => {
            let mut c = std::process::Command::new(helper);
            c.arg(HELPER_SUBCOMMAND)
                .arg("--parent")
                .arg(std::process::id().to_string());
            if run_as != RunAs::ROOT {
                c.arg("--uid").arg(run_as.uid.to_string());
                c.arg("--gid").arg(run_as.gid.to_string());
            }
            c.arg("--")
                .arg(script.get_program())
                .args(script.get_args());
            tokio::process::Command::from(c)
        }
        None => forked(script, run_as),
    };
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    command
}

/// Without the helper: the user and the parent-death signal set between fork and exec.
fn forked(script: std::process::Command, run_as: RunAs) -> tokio::process::Command {
    let mut command = tokio::process::Command::from(script);
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

/// `vrrpd script-exec`: becomes the script, or returns why it could not. The user is set first
/// (by the standard library's exec, which runs pre-exec hooks after `setuid`), because the kernel
/// clears the parent-death signal whenever the credentials change; then the signal; then the
/// parent is checked, since had the daemon died before, no signal would come.
pub fn script_exec(args: &crate::cli::ScriptExecArgs) -> io::Error {
    let Some((program, rest)) = args.argv.split_first() else {
        return io::Error::new(io::ErrorKind::InvalidInput, "no program");
    };
    let mut script = std::process::Command::new(program);
    script.args(rest);
    // As the fork path does: supplementary groups dropped, then the group, then the user.
    if let Some(gid) = args.gid {
        script.gid(gid);
    }
    if let Some(uid) = args.uid {
        script.uid(uid);
    }
    let parent = args.parent;
    // SAFETY: exec runs the hook in this process (no fork), so anything may run in it.
    unsafe {
        script.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) < 0 {
                return Err(io::Error::last_os_error());
            }
            if u32::try_from(libc::getppid()).ok() != Some(parent) {
                return Err(io::Error::other(format!(
                    "the daemon (pid {parent}) is no longer the parent"
                )));
            }
            Ok(())
        });
    }
    script.exec()
}

/// A command for the spawner thread, the runtime its child belongs to, and where the child goes.
struct SpawnJob {
    command: tokio::process::Command,
    runtime: tokio::runtime::Handle,
    reply: oneshot::Sender<io::Result<tokio::process::Child>>,
}

/// The spawner thread's queue; `None` if the thread could not be started (then callers fork
/// themselves). The thread lives as long as the process: it is the scripts' parent for
/// `PR_SET_PDEATHSIG`, which fires when the forking *thread* exits.
fn spawner() -> Option<&'static mpsc::Sender<SpawnJob>> {
    static SPAWNER: OnceLock<Option<mpsc::Sender<SpawnJob>>> = OnceLock::new();
    SPAWNER
        .get_or_init(|| {
            let (tx, rx) = mpsc::channel::<SpawnJob>();
            let scheduling = Scheduling::of_this_thread();
            std::thread::Builder::new()
                .name("vrrpd-spawn".into())
                .spawn(move || {
                    scheduling.apply();
                    for mut job in rx {
                        // The child's pidfd and kill-on-drop belong to the caller's runtime.
                        let _runtime = job.runtime.enter();
                        // A caller that gave up drops the child here, which kills it.
                        let _ = job.reply.send(job.command.spawn());
                    }
                })
                .ok()
                .map(|_| tx)
        })
        .as_ref()
}

/// A thread's scheduling policy and priority. The spawner runs at the engine's: a fork holds the
/// daemon's memory map locked while it copies it, and a spawner at normal priority, preempted
/// mid-fork by busy processes, would keep a realtime engine that touches its memory waiting
/// (priority inversion: 23 ms advert gaps with 8 CPU hogs).
struct Scheduling {
    policy: libc::c_int,
    param: libc::sched_param,
}

impl Scheduling {
    fn of_this_thread() -> Scheduling {
        let mut param = libc::sched_param { sched_priority: 0 };
        // SAFETY: both calls only read or write the values passed.
        let policy = unsafe {
            libc::sched_getparam(0, &mut param);
            libc::sched_getscheduler(0)
        };
        Scheduling { policy, param }
    }

    fn apply(&self) {
        if self.policy <= 0 {
            // SCHED_OTHER (0) is what a new thread has anyway; -1 is an error reading it.
            return;
        }
        // SAFETY: sched_setscheduler only reads `param`. A failure leaves normal scheduling.
        unsafe { libc::sched_setscheduler(0, self.policy, &self.param) };
    }
}

/// Starts `command` from the spawner thread; must be called inside a tokio runtime.
pub async fn spawn(mut command: tokio::process::Command) -> io::Result<tokio::process::Child> {
    let Some(spawner) = spawner() else {
        return command.spawn();
    };
    let (reply, child) = oneshot::channel();
    let job = SpawnJob {
        command,
        runtime: tokio::runtime::Handle::current(),
        reply,
    };
    if let Err(mpsc::SendError(job)) = spawner.send(job) {
        let mut command = job.command;
        return command.spawn();
    }
    child
        .await
        .unwrap_or_else(|_| Err(io::Error::other("the spawner thread is gone")))
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
    let mut child = match spawn(command(cmd, extra, run_as)).await {
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

#[cfg(test)]
mod tests {
    use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};

    use super::*;

    /// The name of the thread that forked, as the child sees it before exec (a forked child
    /// inherits the forking thread's name).
    async fn forking_thread_name() -> String {
        let mut fds = [0; 2];
        // SAFETY: pipe writes two fds into the array.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: both fds are new and owned here.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let mut command = tokio::process::Command::new("true");
        let fd = write.as_raw_fd();
        // SAFETY: prctl and write are async-signal-safe.
        unsafe {
            command.pre_exec(move || {
                let mut name = [0u8; 16];
                libc::prctl(libc::PR_GET_NAME, name.as_mut_ptr());
                libc::write(fd, name.as_ptr().cast(), name.len());
                Ok(())
            });
        }
        let mut child = spawn(command).await.expect("spawn true");
        drop(write);
        child.wait().await.expect("wait");
        let mut name = [0u8; 16];
        // SAFETY: reads at most 16 bytes into `name`.
        let n = unsafe { libc::read(read.as_raw_fd(), name.as_mut_ptr().cast(), name.len()) };
        assert!(n > 0, "the child wrote its name");
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        String::from_utf8_lossy(&name[..end]).into_owned()
    }

    #[test]
    fn the_spawner_takes_the_scheduling_of_the_thread_that_starts_it() {
        let policy_of = || {
            // SAFETY: reads this thread's policy.
            unsafe { libc::sched_getscheduler(0) & !libc::SCHED_RESET_ON_FORK }
        };
        let engine = std::thread::spawn(move || {
            let param = libc::sched_param { sched_priority: 1 };
            // SAFETY: sched_setscheduler only reads `param`.
            let rc = unsafe {
                libc::sched_setscheduler(0, libc::SCHED_RR | libc::SCHED_RESET_ON_FORK, &param)
            };
            if rc != 0 {
                // Not root (CI runs as root): nothing to compare.
                return None;
            }
            let scheduling = Scheduling::of_this_thread();
            // A thread started from a SCHED_RESET_ON_FORK thread runs SCHED_OTHER ...
            let spawner = std::thread::spawn(move || {
                let before = policy_of();
                scheduling.apply();
                (before, policy_of())
            });
            Some(spawner.join().unwrap())
        });
        if let Some((before, after)) = engine.join().unwrap() {
            // ... until it applies the engine's.
            assert_eq!((before, after), (libc::SCHED_OTHER, libc::SCHED_RR));
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_unbounded_timeout_waits_for_the_script() {
        // Notify scripts run with Duration::MAX: never killed, and no overflowing deadline.
        let cmd = ScriptCommand::parse("/bin/sh -c 'sleep 0.2; exit 3'").unwrap();
        let outcome = run(&cmd, &[], RunAs::ROOT, Duration::MAX).await;
        assert_eq!(outcome, ExitOutcome::Exited(3));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn scripts_are_forked_by_the_spawner_thread_not_the_caller() {
        assert_eq!(forking_thread_name().await, "vrrpd-spawn");
        // Again from a second runtime: the thread is shared, the child belongs to the caller's.
        let second = std::thread::spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(forking_thread_name())
        });
        assert_eq!(second.join().unwrap(), "vrrpd-spawn");
    }
}
