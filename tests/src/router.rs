//! `Router`: one VRRP implementation (vrrpd or keepalived, the reference) running a configuration
//! on a lab node, and its state transitions read from the log lines both write in keepalived's
//! words (`(VI_1) Entering MASTER STATE`). Scenarios are written once against this type and run
//! with either implementation on each router.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use crate::bin::vrrpd_bin;
use crate::keepalived::Keepalived;
use crate::lab::Node;
use crate::process::{Line, NsChild};
use crate::tempdir::TempDir;

/// Which implementation runs a router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Impl {
    Vrrpd,
    Keepalived,
}

impl Impl {
    pub const BOTH: [Impl; 2] = [Impl::Vrrpd, Impl::Keepalived];

    pub fn name(self) -> &'static str {
        match self {
            Impl::Vrrpd => "vrrpd",
            Impl::Keepalived => "keepalived",
        }
    }
}

impl fmt::Display for Impl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A VRRP instance state, as logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Backup,
    Master,
    Fault,
}

/// One `(NAME) Entering X STATE[ (init)]` log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub instance: String,
    pub state: State,
    /// The start-up transition (`… STATE (init)`).
    pub init: bool,
}

impl Transition {
    /// The transition a log line reports, wherever it sits in the line (after keepalived's date or
    /// vrrpd's tracing prefix).
    pub fn parse(text: &str) -> Option<Transition> {
        let at = text.find(") Entering ")?;
        let open = text[..at].rfind('(')?;
        let instance = &text[open + 1..at];
        let rest = &text[at + ") Entering ".len()..];
        let (state, rest) = if let Some(r) = rest.strip_prefix("MASTER STATE") {
            (State::Master, r)
        } else if let Some(r) = rest.strip_prefix("BACKUP STATE") {
            (State::Backup, r)
        } else if let Some(r) = rest.strip_prefix("FAULT STATE") {
            (State::Fault, r)
        } else {
            return None;
        };
        let init = rest.trim_start().starts_with("(init)");
        (!instance.is_empty() && !instance.contains(char::is_whitespace)).then(|| Transition {
            instance: instance.to_string(),
            state,
            init,
        })
    }
}

enum Running {
    Vrrpd { child: NsChild, dir: TempDir },
    Keepalived(Keepalived),
}

/// A running implementation on one node; killed (process group) on `Drop`.
pub struct Router {
    which: Impl,
    name: String,
    running: Running,
    started: Instant,
}

/// The configuration file's name inside the router's directory.
const CONFIG_FILE: &str = "keepalived.conf";
/// vrrpd's pid file inside the router's directory.
const VRRPD_PID_FILE: &str = "vrrpd.pid";
/// vrrpd's status socket inside the router's directory.
const VRRPD_SOCKET: &str = "vrrpd.sock";

/// Generous: a daemon's first transition includes XDP load and a master-down timer, on a machine
/// shared with builds.
pub const STATE_TIMEOUT: Duration = Duration::from_secs(30);

impl Router {
    /// Starts `which` on `node` with `config`: vrrpd as `vrrpd run --config PATH --iface eth0
    /// --log-level info --pid DIR/vrrpd.pid` (its own pid file, so several can run at once),
    /// keepalived with the kit's `Keepalived`.
    pub fn start(which: Impl, node: &Node, config: &str) -> Router {
        Router::start_with(which, node, config, None)
    }

    /// Like `start`, with the vrrpd binary given (the demo builds it itself) instead of
    /// `vrrpd_bin()`.
    pub fn start_with(which: Impl, node: &Node, config: &str, vrrpd: Option<&Path>) -> Router {
        Router::start_at_level(which, node, config, vrrpd, "info")
    }

    /// Like `start_with`, vrrpd logging at `log_level` (the benchmarks read its debug lines).
    pub fn start_at_level(
        which: Impl,
        node: &Node,
        config: &str,
        vrrpd: Option<&Path>,
        log_level: &str,
    ) -> Router {
        let running = match which {
            Impl::Vrrpd => {
                let bin: PathBuf = vrrpd.map_or_else(vrrpd_bin, Path::to_path_buf);
                let dir = TempDir::new("vrrpd");
                let conf = dir.write(CONFIG_FILE, config);
                let pid = dir.path().join(VRRPD_PID_FILE);
                // Its own status socket: parallel daemons would otherwise share the default one,
                // and a SIGKILLed daemon leaves its socket file behind.
                let socket = dir.path().join(VRRPD_SOCKET);
                let child = node.ns.spawn(&[
                    &bin.to_string_lossy(),
                    "run",
                    "--config",
                    &conf.to_string_lossy(),
                    "--iface",
                    &node.iface,
                    "--log-level",
                    log_level,
                    "--pid",
                    &pid.to_string_lossy(),
                    "--status-socket",
                    &socket.to_string_lossy(),
                ]);
                Running::Vrrpd { child, dir }
            }
            Impl::Keepalived => Running::Keepalived(Keepalived::start(&node.ns, config)),
        };
        Router {
            which,
            name: node.ns.name().to_string(),
            running,
            started: Instant::now(),
        }
    }

    /// vrrpd (`vrrpd_bin()`) on `node` with `config` and `extra` arguments after the usual ones
    /// (e.g. `--status-socket`, `--pid`, `--metrics-listen` in a test's own directory).
    pub fn start_vrrpd_args(node: &Node, config: &str, extra: &[&str]) -> Router {
        let bin = vrrpd_bin();
        let dir = TempDir::new("vrrpd");
        let conf = dir.write("keepalived.conf", config);
        let (bin, conf) = (bin.to_string_lossy(), conf.to_string_lossy());
        let mut cmd = vec![
            bin.as_ref(),
            "run",
            "--config",
            conf.as_ref(),
            "--iface",
            &node.iface,
            "--log-level",
            "info",
        ];
        cmd.extend_from_slice(extra);
        Router {
            which: Impl::Vrrpd,
            name: node.ns.name().to_string(),
            running: Running::Vrrpd {
                child: node.ns.spawn(&cmd),
                dir,
            },
            started: Instant::now(),
        }
    }

    pub fn which(&self) -> Impl {
        self.which
    }

    pub fn child(&self) -> &NsChild {
        match &self.running {
            Running::Vrrpd { child, .. } => child,
            Running::Keepalived(k) => k.child(),
        }
    }

    fn child_mut(&mut self) -> &mut NsChild {
        match &mut self.running {
            Running::Vrrpd { child, .. } => child,
            Running::Keepalived(k) => k.child_mut(),
        }
    }

    /// The directory holding the configuration (and vrrpd's pid file).
    pub fn dir(&self) -> &TempDir {
        match &self.running {
            Running::Vrrpd { dir, .. } => dir,
            Running::Keepalived(k) => k.dir(),
        }
    }

    /// The configuration file the daemon reads (again on reload).
    pub fn config_path(&self) -> PathBuf {
        self.dir().path().join(CONFIG_FILE)
    }

    /// Replaces the configuration file (the daemon reads it at its next reload).
    pub fn write_config(&self, config: &str) {
        self.dir().write(CONFIG_FILE, config);
    }

    /// The pid file the daemon writes: vrrpd's `--pid`, keepalived's main `-p` file.
    pub fn pid_file(&self) -> PathBuf {
        match &self.running {
            Running::Vrrpd { dir, .. } => dir.path().join(VRRPD_PID_FILE),
            Running::Keepalived(k) => k.pid_file(),
        }
    }

    /// vrrpd's `status --json` output from its status socket, as an operator's tool reads it
    /// (tests parse it by field name). Panics for keepalived or if the command fails.
    pub fn status_json(&self) -> String {
        let Running::Vrrpd { dir, .. } = &self.running else {
            panic!("{}: keepalived has no status socket", self.name);
        };
        let out = std::process::Command::new(vrrpd_bin())
            .arg("status")
            .arg("--json")
            .arg("--socket")
            .arg(dir.path().join(VRRPD_SOCKET))
            .output()
            .expect("running vrrpd status");
        assert!(
            out.status.success(),
            "vrrpd status on {}: {}\n{}",
            self.name,
            String::from_utf8_lossy(&out.stderr),
            self.transcript()
        );
        String::from_utf8(out.stdout).expect("UTF-8 status")
    }

    /// SIGHUP to the daemon (keepalived's parent forwards it): re-read the configuration.
    pub fn reload(&self) {
        self.child().signal(libc::SIGHUP);
    }

    /// When the process was started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Every transition logged so far, with the time its line was read.
    pub fn transitions(&self) -> Vec<(Instant, Transition)> {
        self.child()
            .lines()
            .iter()
            .filter_map(|l| Transition::parse(&l.text).map(|t| (l.at, t)))
            .collect()
    }

    /// The state `instance` last entered, if any.
    pub fn state(&self, instance: &str) -> Option<State> {
        self.transitions()
            .into_iter()
            .rev()
            .find(|(_, t)| t.instance == instance)
            .map(|(_, t)| t.state)
    }

    /// Waits for `instance` to log entering `state` at or after `since` (not the `(init)` form);
    /// panics with the transcript if it does not within `STATE_TIMEOUT`.
    pub fn wait_state(&self, instance: &str, state: State, since: Instant) -> Line {
        self.child().wait_for(
            &format!("`({instance}) Entering {state:?} STATE` ({})", self.which),
            STATE_TIMEOUT,
            |l| l.at >= since && entered(l, instance, state),
        )
    }

    /// Whether `instance` logged entering `state` at or after `since`.
    pub fn entered_since(&self, instance: &str, state: State, since: Instant) -> bool {
        self.child()
            .lines()
            .iter()
            .any(|l| l.at >= since && entered(l, instance, state))
    }

    /// Waits until a line containing `text` appears, panics with the transcript otherwise.
    pub fn wait_log(&self, text: &str) -> Line {
        self.child()
            .wait_for(&format!("containing {text:?}"), STATE_TIMEOUT, |l| {
                l.text.contains(text)
            })
    }

    /// Waits until a line containing `text` appears at or after `since`.
    pub fn wait_log_since(&self, text: &str, since: Instant) -> Line {
        self.child().wait_for(
            &format!("containing {text:?} since the mark"),
            STATE_TIMEOUT,
            |l| l.at >= since && l.text.contains(text),
        )
    }

    /// The lines containing `text` logged at or after `since`.
    pub fn log_since(&self, text: &str, since: Instant) -> Vec<Line> {
        self.child()
            .lines()
            .into_iter()
            .filter(|l| l.at >= since && l.text.contains(text))
            .collect()
    }

    /// Every transition logged at or after `since`.
    pub fn transitions_since(&self, since: Instant) -> Vec<Transition> {
        self.transitions()
            .into_iter()
            .filter(|(at, _)| *at >= since)
            .map(|(_, t)| t)
            .collect()
    }

    /// The process running the VRRP state machine: vrrpd itself, keepalived's VRRP child (`None`
    /// until keepalived wrote its pid file).
    pub fn vrrp_pid(&self) -> Option<i32> {
        match &self.running {
            Running::Vrrpd { child, .. } => Some(child.pid() as i32),
            Running::Keepalived(k) => k.vrrp_pid(),
        }
    }

    /// The exit status if the main process has ended.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child_mut().try_wait()
    }

    /// Waits up to `timeout` for the main process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        self.child_mut().wait_exit(timeout)
    }

    /// SIGKILL to the whole process group (keepalived's children too), reaped: a crash that leaves
    /// addresses and anything else behind.
    pub fn kill(&mut self) {
        self.child_mut().kill();
    }

    /// SIGTERM, then waits up to 10 s for the exit. `None` if it did not exit.
    pub fn terminate(&mut self) -> Option<ExitStatus> {
        self.child().signal(libc::SIGTERM);
        self.wait_exit(Duration::from_secs(10))
    }

    /// The whole output, for failure messages, headed by the implementation and node.
    pub fn transcript(&self) -> String {
        format!(
            "=== {} on {} ===\n{}",
            self.which,
            self.name,
            self.child().transcript()
        )
    }
}

fn entered(line: &Line, instance: &str, state: State) -> bool {
    Transition::parse(&line.text)
        .is_some_and(|t| t.instance == instance && t.state == state && !t.init)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keepalived_and_vrrpd_lines() {
        let k =
            Transition::parse("Sat Nov 25 04:50:01 2023: (VI_1) Entering MASTER STATE").unwrap();
        assert_eq!(
            k,
            Transition {
                instance: "VI_1".into(),
                state: State::Master,
                init: false
            }
        );
        let v = Transition::parse(
            "2025-11-25T04:50:01.123Z  INFO vrrpd::daemon: (VI_2) Entering BACKUP STATE (init)",
        )
        .unwrap();
        assert_eq!(
            (v.instance.as_str(), v.state, v.init),
            ("VI_2", State::Backup, true)
        );
        let f = Transition::parse("(VI_1) Entering FAULT STATE").unwrap();
        assert_eq!(f.state, State::Fault);
        assert_eq!(Transition::parse("(VI_1) Entering SLEEP STATE"), None);
        assert_eq!(
            Transition::parse("(VI_1) Changing effective priority from 100 to 80"),
            None
        );
    }
}
