//! `Netns`: a named network namespace (`ip netns`), created for one test and removed, with every
//! process in it, when the guard drops (also while unwinding from a panic).

use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::Duration;

use crate::process::NsChild;

/// Where `ip netns` keeps its bind mounts.
const NETNS_RUN_DIR: &str = "/run/netns";

/// Why a namespace could not be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetnsError {
    #[error("network namespace {0} already exists; refusing to reuse (or later delete) it")]
    Exists(String),
    #[error("network namespaces need root (euid is {0})")]
    NotRoot(u32),
    #[error("`ip netns add {name}` failed: {stderr}")]
    Add { name: String, stderr: String },
}

/// A network namespace owned by a test. Dropping it kills every process inside, then deletes it.
pub struct Netns {
    name: String,
}

impl fmt::Debug for Netns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Netns({})", self.name)
    }
}

impl Netns {
    /// A new namespace named `vt-{tag}-{pid}-{n}`, with `lo` up. Panics if it cannot be made.
    pub fn new(tag: &str) -> Netns {
        let ns = Netns::with_name(&crate::unique_name(tag)).unwrap_or_else(|e| panic!("{e}"));
        ns.link_up("lo");
        ns
    }

    /// A new namespace with exactly this name; refuses a name that exists, since the guard would
    /// delete a namespace it does not own.
    pub fn with_name(name: &str) -> Result<Netns, NetnsError> {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let euid = unsafe { libc::geteuid() };
        if euid != 0 {
            return Err(NetnsError::NotRoot(euid));
        }
        if Netns::exists(name) {
            return Err(NetnsError::Exists(name.to_string()));
        }
        let out = Command::new("ip")
            .args(["netns", "add", name])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| NetnsError::Add {
                name: name.to_string(),
                stderr: e.to_string(),
            })?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
            // Lost a race with someone else creating it: still not ours.
            if Netns::exists(name) && stderr.contains("exists") {
                return Err(NetnsError::Exists(name.to_string()));
            }
            return Err(NetnsError::Add {
                name: name.to_string(),
                stderr,
            });
        }
        Ok(Netns {
            name: name.to_string(),
        })
    }

    /// Whether a namespace called `name` is registered with `ip netns`.
    pub fn exists(name: &str) -> bool {
        Path::new(NETNS_RUN_DIR).join(name).exists()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `cmd` prepared to run inside the namespace (`ip netns exec NAME cmd…`).
    pub fn command(&self, cmd: &[&str]) -> Command {
        assert!(!cmd.is_empty(), "empty command for namespace {}", self.name);
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name]).args(cmd);
        command
    }

    /// Runs `cmd` in the namespace and returns its output, whatever its exit status.
    pub fn output(&self, cmd: &[&str]) -> Output {
        self.command(cmd)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("[{}] cannot run {cmd:?}: {e}", self.name))
    }

    /// Runs `cmd` in the namespace, panics unless it succeeds, returns its stdout.
    pub fn exec(&self, cmd: &[&str]) -> String {
        let out = self.output(cmd);
        assert!(
            out.status.success(),
            "[{}] {cmd:?} failed ({}):\nstdout: {}\nstderr: {}",
            self.name,
            out.status,
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts `cmd` in the namespace, in its own process group, with stdout and stderr captured.
    pub fn spawn(&self, cmd: &[&str]) -> NsChild {
        NsChild::spawn(
            format!("[{}] {}", self.name, cmd.join(" ")),
            self.command(cmd),
        )
    }

    pub fn link_up(&self, ifname: &str) {
        self.exec(&["ip", "link", "set", "dev", ifname, "up"]);
    }

    pub fn link_down(&self, ifname: &str) {
        self.exec(&["ip", "link", "set", "dev", ifname, "down"]);
    }

    /// Adds `cidr` (e.g. `10.1.0.1/24`, `fd00:1::1/64`) to `ifname`; IPv6 addresses skip duplicate
    /// address detection so they are usable at once.
    pub fn add_addr(&self, ifname: &str, cidr: &str) {
        let mut cmd = vec!["ip", "addr", "add", cidr, "dev", ifname];
        if cidr.contains(':') {
            cmd.push("nodad");
        }
        self.exec(&cmd);
    }

    /// `sysctl -w key=value` inside the namespace (only `net.*` keys are per namespace).
    pub fn sysctl(&self, key: &str, value: &str) {
        self.exec(&["sysctl", "-q", "-w", &format!("{key}={value}")]);
    }

    /// Whether `addr` answers a ping from this namespace, trying a few times (a link just set up
    /// may need a moment).
    pub fn ping(&self, addr: IpAddr) -> bool {
        let addr = addr.to_string();
        (0..5).any(|_| {
            self.output(&["ping", "-n", "-q", "-c", "1", "-W", "1", &addr])
                .status
                .success()
        })
    }

    /// Process ids of every process in the namespace.
    pub fn pids(&self) -> Vec<i32> {
        let out = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .stdin(Stdio::null())
            .output();
        match out {
            Ok(out) => String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Kills every process in the namespace and waits (briefly) until none is left.
    pub fn kill_all(&self) {
        for _ in 0..100 {
            let pids = self.pids();
            if pids.is_empty() {
                return;
            }
            for pid in pids {
                // SAFETY: kill has no memory-safety preconditions; a vanished pid gives ESRCH.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        self.kill_all();
        // Errors cannot be reported from Drop (we may be unwinding); a leftover shows up in
        // `ip netns list` and in the kit's own tests.
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
