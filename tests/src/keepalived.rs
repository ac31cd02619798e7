//! `Keepalived`: the reference implementation, run in a namespace beside vrrpd (VRRP only,
//! foreground, logging to the console so a test can wait for its state changes).

use crate::netns::Netns;
use crate::process::NsChild;
use crate::tempdir::TempDir;

/// Where keepalived writes its VRRP child's pid, in its directory.
const VRRP_PID_FILE: &str = "vrrp.pid";

/// A running keepalived with its configuration and pid files; stopped and removed on `Drop`.
pub struct Keepalived {
    // Field order matters: the process dies before its directory goes.
    child: NsChild,
    dir: TempDir,
}

impl Keepalived {
    /// Writes `config` to a fresh directory and starts
    /// `keepalived -n -l -D --vrrp -f CONF -p PIDFILE -r VRRPPIDFILE` in `ns`.
    pub fn start(ns: &Netns, config: &str) -> Keepalived {
        let dir = TempDir::new("keepalived");
        let conf = dir.write("keepalived.conf", config);
        let pid = dir.path().join("keepalived.pid");
        let vrrp_pid = dir.path().join(VRRP_PID_FILE);
        let (conf, pid, vrrp_pid) = (
            conf.to_string_lossy().into_owned(),
            pid.to_string_lossy().into_owned(),
            vrrp_pid.to_string_lossy().into_owned(),
        );
        let child = ns.spawn(&[
            "keepalived",
            "-n",
            "-l",
            "-D",
            "--vrrp",
            "-f",
            &conf,
            "-p",
            &pid,
            "-r",
            &vrrp_pid,
        ]);
        Keepalived { child, dir }
    }

    /// The process, to wait for log lines (e.g. `Entering MASTER STATE`) or print its transcript.
    pub fn child(&self) -> &NsChild {
        &self.child
    }

    pub fn child_mut(&mut self) -> &mut NsChild {
        &mut self.child
    }

    /// The main pid file (`-p`): signals sent to it reach the VRRP child too.
    pub fn pid_file(&self) -> std::path::PathBuf {
        self.dir.path().join("keepalived.pid")
    }

    /// The VRRP child process (the one running the state machine), from its pid file; `None`
    /// until keepalived wrote it.
    pub fn vrrp_pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.dir.path().join(VRRP_PID_FILE))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// The directory holding the configuration and pid files.
    pub fn dir(&self) -> &TempDir {
        &self.dir
    }
}

/// keepalived 2.2.7 always writes its SIGUSR1/SIGUSR2 dumps in /tmp (`--with-tmp-dir`, no
/// `state_file_location` yet). A configuration with `instance NAME` at the top level and
/// `data_use_instance` in `global_defs` names the `.data` dump `/tmp/keepalived.NAME.data`, so
/// parallel keepalived daemons do not overwrite each other's. The `.stats` dump ignores
/// `data_use_instance` in 2.2.7: it is always `/tmp/keepalived.stats`, so a test that reads it
/// holds [`stats_file_lock`] throughout. The files are removed on `Drop`, the `.stats` one only
/// by an `InstanceDumps` whose [`InstanceDumps::stats`] was asked for.
pub struct InstanceDumps {
    name: String,
    stats_used: std::cell::Cell<bool>,
}

static KEEPALIVED_STATS_FILE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Held by a test, from before its keepalived daemons start until it ends, while it reads
/// `/tmp/keepalived.stats`: tests of one process then take turns with that one path.
pub fn stats_file_lock() -> std::sync::MutexGuard<'static, ()> {
    KEEPALIVED_STATS_FILE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

impl InstanceDumps {
    /// A fresh instance name (`unique_name`) for one keepalived.
    pub fn new(tag: &str) -> InstanceDumps {
        InstanceDumps {
            name: crate::unique_name(tag),
            stats_used: std::cell::Cell::new(false),
        }
    }

    /// `config` with the two lines that move the dumps: `instance NAME` first, and
    /// `data_use_instance` at the start of its `global_defs` block (added if it has none).
    /// vrrpd accepts both (and ignores them; it is told its dump paths on the command line).
    pub fn configure(&self, config: &str) -> String {
        let body = if config.contains("global_defs {") {
            config.replacen("global_defs {", "global_defs {\n    data_use_instance", 1)
        } else {
            format!("global_defs {{\n    data_use_instance\n}}\n{config}")
        };
        format!("instance {}\n{body}", self.name)
    }

    /// The SIGUSR1 dump.
    pub fn data(&self) -> std::path::PathBuf {
        self.file("keepalived", "data")
    }

    /// The SIGUSR2 dump (the same for every keepalived 2.2.7; hold [`stats_file_lock`]).
    pub fn stats(&self) -> std::path::PathBuf {
        self.stats_used.set(true);
        std::path::PathBuf::from(KEEPALIVED_STATS)
    }

    fn file(&self, base: &str, ext: &str) -> std::path::PathBuf {
        std::path::PathBuf::from(format!("/tmp/{base}.{}.{ext}", self.name))
    }
}

/// keepalived 2.2.7's `.stats` path, whatever the configuration says.
const KEEPALIVED_STATS: &str = "/tmp/keepalived.stats";

impl Drop for InstanceDumps {
    fn drop(&mut self) {
        // The parent process writes its own `.data` beside the VRRP child's.
        for (base, ext) in [("keepalived", "data"), ("keepalived_parent", "data")] {
            let _ = std::fs::remove_file(self.file(base, ext));
        }
        if self.stats_used.get() {
            let _ = std::fs::remove_file(KEEPALIVED_STATS);
        }
    }
}
