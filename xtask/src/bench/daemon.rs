//! How a benchmark drives the kit's `Router` (vrrpd or keepalived on a lab node): vrrpd's log level
//! from the environment, waits for the n-th state line that give up on Ctrl-C or an exited daemon
//! (with an error, not a panic), signals to the VRRP process, and a crash of the whole namespace.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail};
use vrrpd_tests::{Impl, Node, Router};

use super::interrupt;

/// Both, starting with `first`: runs alternate which implementation goes first so a slow drift of
/// the machine (other load, thermal) does not favour one of them.
pub fn interleaved(run: usize) -> [Impl; 2] {
    if run.is_multiple_of(2) {
        [Impl::Vrrpd, Impl::Keepalived]
    } else {
        [Impl::Keepalived, Impl::Vrrpd]
    }
}

/// Where the vrrpd binary is, or why there is none (then every vrrpd row fails with this reason).
pub type VrrpdBin = Result<PathBuf, String>;

/// Environment variable overriding vrrpd's `--log-level` in benchmarks (e.g. `debug` to get the
/// receive-delay lines the flood benchmark reads).
pub const LOG_LEVEL_ENV: &str = "BENCH_VRRPD_LOG_LEVEL";

/// A daemon running on one router node; killed (with its process group) on drop.
pub struct Daemon<'a> {
    pub imp: Impl,
    node: &'a Node,
    router: Router,
}

impl<'a> Daemon<'a> {
    /// Starts `imp` on `node` with `config`, vrrpd logging at [`LOG_LEVEL_ENV`] or info.
    pub fn start(
        imp: Impl,
        node: &'a Node,
        config: &str,
        vrrpd: &VrrpdBin,
    ) -> anyhow::Result<Daemon<'a>> {
        Daemon::start_logging(imp, node, config, vrrpd, "info")
    }

    /// Like [`Daemon::start`], with vrrpd logging at `default_level` unless [`LOG_LEVEL_ENV`]
    /// says otherwise.
    pub fn start_logging(
        imp: Impl,
        node: &'a Node,
        config: &str,
        vrrpd: &VrrpdBin,
        default_level: &str,
    ) -> anyhow::Result<Daemon<'a>> {
        let bin = match imp {
            Impl::Vrrpd => Some(
                vrrpd
                    .as_deref()
                    .map_err(|e| anyhow!("vrrpd not available: {e}"))?,
            ),
            Impl::Keepalived => None,
        };
        let level = std::env::var(LOG_LEVEL_ENV).unwrap_or_else(|_| default_level.into());
        Ok(Daemon {
            imp,
            node,
            router: Router::start_at_level(imp, node, config, bin, &level),
        })
    }

    pub fn router(&self) -> &Router {
        &self.router
    }

    /// How many log lines contain `text` so far.
    pub fn count_lines(&self, text: &str) -> usize {
        self.router
            .child()
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
            let found = self
                .router
                .child()
                .try_wait_for_count(n, step.min(timeout - waited), |l| l.text.contains(&needle))
                .is_some();
            if found {
                return Ok(());
            }
            waited += step;
            let exited = self.router.try_wait();
            if exited.is_some() || waited >= timeout {
                let why = match exited {
                    Some(status) => format!("it exited ({status})"),
                    None => format!("within {timeout:?}"),
                };
                bail!(
                    "{} did not log `{needle}` ×{n} ({why}); last lines:\n{}",
                    self.imp,
                    self.tail(12)
                );
            }
        }
    }

    /// The last `n` lines of output, for failure messages.
    pub fn tail(&self, n: usize) -> String {
        let lines = self.router.child().lines();
        lines[lines.len().saturating_sub(n)..]
            .iter()
            .map(|l| format!("  | {}", l.text))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Sends `signal` to the main process (keepalived's parent forwards SIGTERM to its child).
    pub fn signal_main(&self, signal: i32) {
        self.router.child().signal(signal);
    }

    /// Sends `signal` to the VRRP process (keepalived's VRRP child, vrrpd itself).
    pub fn signal_vrrp(&self, signal: i32) -> anyhow::Result<()> {
        let pid = self
            .router
            .vrrp_pid()
            .ok_or_else(|| anyhow!("{}: no VRRP process pid yet", self.imp))?;
        // SAFETY: kill has no memory-safety preconditions.
        if unsafe { libc::kill(pid, signal) } != 0 {
            bail!("kill({pid}, {signal}): {}", std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// Every process in the daemon's namespace: the daemon's own (and its check scripts), since
    /// a router namespace runs nothing else.
    pub fn pids(&self) -> Vec<i32> {
        self.node.ns.pids()
    }

    /// A crash: the node's link goes down, then SIGKILL to every process of the namespace at once
    /// (not only the daemon's process group), and the main one is reaped.
    pub fn crash(&mut self) {
        self.node.ns.link_down(&self.node.iface);
        for pid in self.pids() {
            // SAFETY: as above.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        self.router.kill();
    }

    /// Waits up to `timeout` for the main process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        self.router.wait_exit(timeout)
    }
}
