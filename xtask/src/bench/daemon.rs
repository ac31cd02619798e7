//! The two implementations under comparison and how a benchmark drives them: started in a lab
//! namespace from a keepalived.conf, waited on through their log lines (vrrpd logs keepalived's
//! wording), signalled, and measured through /proc.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail};
use vrrpd_tests::{Keepalived, Netns, NsChild, TempDir};

use super::interrupt;

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

    /// Both, starting with `first`: runs alternate which implementation goes first so a slow
    /// drift of the machine (other load, thermal) does not favour one of them.
    pub fn interleaved(run: usize) -> [Impl; 2] {
        if run.is_multiple_of(2) {
            [Impl::Vrrpd, Impl::Keepalived]
        } else {
            [Impl::Keepalived, Impl::Vrrpd]
        }
    }
}

/// Where the vrrpd binary is, or why there is none (then every vrrpd row fails with this reason).
pub type VrrpdBin = Result<PathBuf, String>;

/// Environment variable overriding vrrpd's `--log-level` in benchmarks (e.g. `debug` to get the
/// receive-delay lines the flood benchmark reads).
pub const LOG_LEVEL_ENV: &str = "BENCH_VRRPD_LOG_LEVEL";

enum Proc {
    Keepalived(Keepalived),
    Vrrpd { child: NsChild, _dir: TempDir },
}

/// A daemon running in one router namespace; killed (with its process group) on drop.
pub struct Daemon {
    pub imp: Impl,
    ns_name: String,
    proc: Proc,
}

impl Daemon {
    /// Starts `imp` in `ns` with `config` on interface eth0.
    pub fn start(imp: Impl, ns: &Netns, config: &str, vrrpd: &VrrpdBin) -> anyhow::Result<Daemon> {
        let proc = match imp {
            Impl::Keepalived => Proc::Keepalived(Keepalived::start(ns, config)),
            Impl::Vrrpd => {
                let bin = vrrpd
                    .as_ref()
                    .map_err(|e| anyhow!("vrrpd not available: {e}"))?;
                let dir = TempDir::new("vrrpd");
                let conf = dir.write("keepalived.conf", config);
                let level = std::env::var(LOG_LEVEL_ENV).unwrap_or_else(|_| "info".into());
                let child = ns.spawn(&[
                    &bin.to_string_lossy(),
                    "run",
                    "--config",
                    &conf.to_string_lossy(),
                    "--iface",
                    "eth0",
                    "--log-level",
                    &level,
                ]);
                Proc::Vrrpd { child, _dir: dir }
            }
        };
        Ok(Daemon {
            imp,
            ns_name: ns.name().to_string(),
            proc,
        })
    }

    pub fn child(&self) -> &NsChild {
        match &self.proc {
            Proc::Keepalived(k) => k.child(),
            Proc::Vrrpd { child, .. } => child,
        }
    }

    fn child_mut(&mut self) -> &mut NsChild {
        match &mut self.proc {
            Proc::Keepalived(k) => k.child_mut(),
            Proc::Vrrpd { child, .. } => child,
        }
    }

    /// How many log lines contain `text` so far.
    pub fn count_lines(&self, text: &str) -> usize {
        self.child()
            .lines()
            .iter()
            .filter(|l| l.text.contains(text))
            .count()
    }

    /// Waits until `n` lines `Entering {state} STATE` were logged (counting from the start).
    pub fn wait_state(&mut self, state: &str, n: usize, timeout: Duration) -> anyhow::Result<()> {
        let needle = format!("Entering {state} STATE");
        let step = Duration::from_millis(200);
        let mut waited = Duration::ZERO;
        loop {
            interrupt::check()?;
            let found =
                self.child()
                    .try_wait_for_count_lines(&needle, n, step.min(timeout - waited));
            if found {
                return Ok(());
            }
            waited += step;
            let exited = self.child_mut().try_wait();
            if exited.is_some() || waited >= timeout {
                let why = match exited {
                    Some(status) => format!("it exited ({status})"),
                    None => format!("within {timeout:?}"),
                };
                bail!(
                    "{} did not log `{needle}` ×{n} ({why}); last lines:\n{}",
                    self.imp.name(),
                    self.tail(12)
                );
            }
        }
    }

    /// The last `n` lines of output, for failure messages.
    pub fn tail(&self, n: usize) -> String {
        let lines = self.child().lines();
        lines[lines.len().saturating_sub(n)..]
            .iter()
            .map(|l| format!("  | {}", l.text))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The process running the VRRP state machine: keepalived's VRRP child (from its pid file),
    /// vrrpd itself.
    pub fn vrrp_pid(&self) -> anyhow::Result<i32> {
        match &self.proc {
            Proc::Keepalived(k) => {
                let file = k.dir().path().join("vrrp.pid");
                read_pid(&file)
            }
            Proc::Vrrpd { child, .. } => Ok(child.pid() as i32),
        }
    }

    /// Sends `signal` to the main process (keepalived's parent forwards SIGTERM to its child).
    pub fn signal_main(&self, signal: i32) {
        self.child().signal(signal);
    }

    /// Sends `signal` to the VRRP process (see `vrrp_pid`).
    pub fn signal_vrrp(&self, signal: i32) -> anyhow::Result<()> {
        let pid = self.vrrp_pid()?;
        // SAFETY: kill has no memory-safety preconditions.
        if unsafe { libc::kill(pid, signal) } != 0 {
            bail!("kill({pid}, {signal}): {}", std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// Every process in the daemon's namespace: the daemon's own (and its check scripts), since
    /// a router namespace runs nothing else.
    pub fn pids(&self) -> Vec<i32> {
        ns_pids(&self.ns_name)
    }

    /// SIGKILL to every process of the namespace at once (a crash), then reaps the main one.
    pub fn crash(&mut self) {
        for pid in self.pids() {
            // SAFETY: as above.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        self.child_mut().kill();
    }

    /// Waits up to `timeout` for the main process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        self.child_mut().wait_exit(timeout)
    }
}

fn read_pid(file: &Path) -> anyhow::Result<i32> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| anyhow!("cannot read {}: {e}", file.display()))?;
    text.trim()
        .parse()
        .map_err(|e| anyhow!("{}: not a pid ({e}): {text:?}", file.display()))
}

/// `ip netns pids NAME`.
pub fn ns_pids(ns_name: &str) -> Vec<i32> {
    std::process::Command::new("ip")
        .args(["netns", "pids", ns_name])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Waiting for counted log lines on the kit's `NsChild`.
trait WaitLines {
    fn try_wait_for_count_lines(&self, needle: &str, n: usize, timeout: Duration) -> bool;
}

impl WaitLines for NsChild {
    fn try_wait_for_count_lines(&self, needle: &str, n: usize, timeout: Duration) -> bool {
        if n == 0 {
            return true;
        }
        // `try_wait_for` returns the first match; the n-th is found by counting once it appears.
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let count = self
                .lines()
                .iter()
                .filter(|l| l.text.contains(needle))
                .count();
            if count >= n {
                return true;
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}
