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
