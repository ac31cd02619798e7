//! `vrrpd run`: the tokio edge that joins dataplane, engine, netlink, sockets and trackers.
//!
//! Start-up follows holo-daemon's order: command line and configuration (errors before anything
//! is touched), logging, then a single-threaded runtime that owns the engine ([`node`]).

pub mod advert;
mod execute;
pub mod garp;
mod iface;
pub mod node;
pub mod plan;
pub mod vips;

use std::ffi::OsStr;
use std::io::{IsTerminal, Write as _};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use tracing::{info, warn};

use crate::cli::{DEFAULT_CONFIG, RunArgs, WatchArgs};
use crate::config::{LoadOptions, load};
use crate::status::ops::{DATA_FILE_NAME, DEFAULT_JSON_FILE, STATS_FILE_NAME};

/// Logs to stderr; without timestamps under journald (it adds its own), without colours when
/// stderr is not a terminal.
pub fn init_logging(level: &str) {
    let stderr = nix::sys::stat::fstat(libc::STDERR_FILENO)
        .ok()
        .map(|st| (st.st_dev, st.st_ino));
    let journald = stderr_is_journal(std::env::var_os("JOURNAL_STREAM").as_deref(), stderr);
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        // netlink-packet-route warns about every kernel attribute newer than itself.
        .unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(format!("{level},netlink_packet_route=error"))
        });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    let _ = if journald {
        builder.without_time().try_init()
    } else {
        builder.try_init()
    };
}

/// systemd.exec(5): `JOURNAL_STREAM` holds the device and inode (`DEV:INODE`, decimal) of the
/// stream systemd connected stdout/stderr to. It is inherited by children whose stderr was
/// redirected elsewhere (`vrrpd run 2>file` from a unit's shell), so the variable alone does
/// not mean journald reads stderr: only a matching fstat of stderr does.
fn stderr_is_journal(journal_stream: Option<&OsStr>, stderr: Option<(u64, u64)>) -> bool {
    let (Some(value), Some(stderr)) = (journal_stream.and_then(OsStr::to_str), stderr) else {
        return false;
    };
    let Some((dev, ino)) = value.split_once(':') else {
        return false;
    };
    matches!((dev.parse::<u64>(), ino.parse::<u64>()), (Ok(d), Ok(i)) if (d, i) == stderr)
}

/// Why the pid file could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum PidFileError {
    #[error(
        "another vrrpd{} holds the pid file {}; not starting",
        .pid.map(|p| format!(" (pid {p})")).unwrap_or_default(),
        .path.display()
    )]
    Held { path: PathBuf, pid: Option<i32> },
    #[error("pid file {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The pid file (keepalived's `-p`), removed on a clean exit. It is how `vrrpd reload` and
/// exporters find the daemon. The daemon holds an exclusive flock(2) on it for its lifetime: a
/// second vrrpd given the same file fails to take the lock and stops before touching anything,
/// and leaves the file (the live daemon's pid) alone. The lock dies with the process, so a file
/// left by a SIGKILLed daemon is simply taken over.
pub struct PidFile {
    path: PathBuf,
    // Holding the open, locked file is what keeps the lock (closing it releases it).
    _lock: nix::fcntl::Flock<std::fs::File>,
}

impl PidFile {
    pub fn create(path: &Path) -> Result<PidFile, PidFileError> {
        use nix::fcntl::{Flock, FlockArg};
        let io = |source| PidFileError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        loop {
            // No truncation before the lock is ours: the file may be a live daemon's.
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)
                .map_err(io)?;
            let mut file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(f) => f,
                Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
                    let pid = std::fs::read_to_string(path)
                        .ok()
                        .and_then(|t| t.trim().parse().ok());
                    return Err(PidFileError::Held {
                        path: path.to_path_buf(),
                        pid,
                    });
                }
                Err((_, e)) => return Err(io(e.into())),
            };
            // A daemon exiting unlinks its file after we opened it and before we locked it:
            // the lock is then on a file nobody can find. Start again with the path's file.
            let ours = file.metadata().map_err(io)?;
            if !std::fs::metadata(path)
                .is_ok_and(|m| m.dev() == ours.dev() && m.ino() == ours.ino())
            {
                continue;
            }
            file.set_len(0).map_err(io)?;
            file.write_all(format!("{}\n", std::process::id()).as_bytes())
                .map_err(io)?;
            return Ok(PidFile {
                path: path.to_path_buf(),
                _lock: file,
            });
        }
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        // Unlinked while still locked, so no other vrrpd can have taken it in between.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Realtime round-robin scheduling (keepalived's `vrrp_rt_priority`), on by default: adverts
/// must leave on time while the host is busy. SCHED_RESET_ON_FORK keeps scripts and notify
/// commands at normal priority. 0 turns it off.
fn set_realtime(priority: u8) {
    if priority == 0 {
        return;
    }
    let param = libc::sched_param {
        sched_priority: i32::from(priority.min(99)),
    };
    // SAFETY: sched_setscheduler only reads the sched_param we pass.
    let rc =
        unsafe { libc::sched_setscheduler(0, libc::SCHED_RR | libc::SCHED_RESET_ON_FORK, &param) };
    if rc != 0 {
        warn!(
            "realtime priority {priority}: {}; running with normal scheduling",
            std::io::Error::last_os_error()
        );
    }
}

/// A dump file's path: the command line's, else the configuration's (keepalived's rules), else
/// keepalived's default.
fn dump_file(cli: &Option<PathBuf>, configured: &Option<PathBuf>, name: &str) -> PathBuf {
    cli.clone()
        .unwrap_or_else(|| crate::status::ops::dump_path(configured.as_deref(), name))
}

/// `vrrpd reload`: SIGHUP to the daemon named by the pid file.
pub fn reload(args: crate::cli::ReloadArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.pid_file)
        .with_context(|| format!("reading pid file {}", args.pid_file.display()))?;
    let pid: i32 = text
        .trim()
        .parse()
        .with_context(|| format!("{}: not a pid: {text:?}", args.pid_file.display()))?;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGHUP,
    )
    .with_context(|| format!("signalling vrrpd (pid {pid})"))?;
    eprintln!("vrrpd: reload requested (SIGHUP to pid {pid})");
    Ok(())
}

pub fn main(args: RunArgs) -> anyhow::Result<()> {
    let path = match &args.config {
        Some(p) => p.clone(),
        None if std::path::Path::new(DEFAULT_CONFIG).exists() => PathBuf::from(DEFAULT_CONFIG),
        None => {
            let Some(iface) = args.iface.clone() else {
                anyhow::bail!(
                    "no configuration: {DEFAULT_CONFIG} does not exist and --config was not given; \
                     give --iface IFACE to watch adverts (observe mode)"
                );
            };
            eprintln!("vrrpd: {DEFAULT_CONFIG} does not exist: running observe mode on {iface}");
            // Watch logs through tracing too (the XDP mode fallback warning).
            init_logging(args.log_level.as_str());
            return crate::dataplane::watch::main(WatchArgs {
                iface,
                xdp_mode: args.xdp_mode,
            });
        }
    };
    init_logging(args.log_level.as_str());
    let mut opts = LoadOptions::default();
    if let Some(id) = &args.config_id {
        opts.config_id = id.clone();
    }
    // --iface replaces every instance's interface, so the configured names need not exist.
    opts.check_interfaces = args.iface.is_none();
    let loaded = load(&path, &opts).map_err(|e| {
        for d in &e.diagnostics {
            eprintln!("{d}");
        }
        anyhow::anyhow!("{}: configuration not loaded", path.display())
    })?;
    for d in &loaded.diagnostics {
        warn!("{d}");
    }
    let plan = plan::Plan::build(&loaded.config, args.iface.as_deref())?;
    // Before anything is touched: a second vrrpd with the same pid file stops here.
    let pid_file = PidFile::create(&args.pid_file)?;
    info!(
        "Starting vrrpd {} with {} ({} instance(s))",
        env!("CARGO_PKG_VERSION"),
        path.display(),
        plan.engine.instances.len()
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    set_realtime(args.rt_priority);
    let source = node::Source {
        path,
        opts,
        iface: args.iface.clone(),
        xdp_mode: args.xdp_mode,
    };
    let globals = &loaded.config.global_defs;
    let ops_config = crate::status::OpsConfig {
        status_socket: Some(args.status_socket.clone()),
        metrics_listen: args.metrics_listen,
        data_file: dump_file(
            &args.data_file,
            &globals.state_file_location,
            DATA_FILE_NAME,
        ),
        stats_file: dump_file(
            &args.stats_file,
            &globals.stats_file_location,
            STATS_FILE_NAME,
        ),

        json_file: args
            .json_file
            .clone()
            .unwrap_or_else(|| DEFAULT_JSON_FILE.into()),
    };
    runtime.block_on(async move {
        // Before the node: dump signals queue from here on instead of killing the process.
        // SIGHUP's handler is installed now too (tokio keeps it for the process), so a reload
        // asked for while XDP is being attached is dropped instead of killing the daemon.
        drop(
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
                .context("SIGHUP handler")?,
        );
        let (handle, requests) = crate::status::channel();
        let _ops = crate::status::Ops::start(&ops_config, handle).await?;
        let mut node = node::Node::start(source, plan).await?;
        node.serve_status(requests);
        node.run().await
    })?;
    drop(pid_file);
    info!("Stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_dropped_only_when_stderr_is_the_journal_stream() {
        let stderr = Some((64769, 1_234_567));
        let js = |s: &str| Some(OsStr::new(s).to_owned());
        assert!(stderr_is_journal(js("64769:1234567").as_deref(), stderr));
        // Inherited by a process whose stderr goes elsewhere.
        assert!(!stderr_is_journal(js("64769:7654321").as_deref(), stderr));
        assert!(!stderr_is_journal(js("1:1234567").as_deref(), stderr));
        assert!(!stderr_is_journal(None, stderr));
        assert!(!stderr_is_journal(js("64769:1234567").as_deref(), None));
        for junk in [
            "",
            "64769",
            "64769:",
            ":1234567",
            "0x1:2",
            "64769:1234567:1",
        ] {
            assert!(!stderr_is_journal(js(junk).as_deref(), stderr), "{junk:?}");
        }
    }

    #[test]
    fn a_held_pid_file_refuses_a_second_daemon_and_stays() {
        let dir = crate::testutil::TempDir::new("pidfile");
        let path = dir.path().join("run/vrrpd.pid");
        let first = PidFile::create(&path).unwrap();
        let me = std::process::id().to_string();
        assert_eq!(std::fs::read_to_string(&path).unwrap().trim(), me);
        match PidFile::create(&path) {
            Err(e @ PidFileError::Held { pid: Some(p), .. }) if p.to_string() == me => {
                assert!(e.to_string().contains("another vrrpd"), "{e}");
                assert!(e.to_string().contains("vrrpd.pid"), "{e}");
            }
            Err(e) => panic!("wrong refusal: {e}"),
            Ok(_) => panic!("a second pid file lock was granted"),
        }
        // The refused start left the holder's file as it was.
        assert_eq!(std::fs::read_to_string(&path).unwrap().trim(), me);
        drop(first);
        assert!(!path.exists());
        // A stale file (its daemon was SIGKILLed: no lock) is taken over and rewritten.
        std::fs::write(&path, "999999999\n").unwrap();
        let again = PidFile::create(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap().trim(), me);
        drop(again);
    }
}
