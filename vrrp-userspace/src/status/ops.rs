//! The operator-facing tasks of `vrrpd run`: status socket, metrics listener, and keepalived's
//! dump signals (SIGUSR1 → `.data`, SIGUSR2 → `.stats`, SIGRTMAX-1 → `.stats` then clear). They
//! are set up before the node starts, so a dump signal that arrives early queues instead of
//! killing the process (the default action of SIGUSR1/2).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use tokio::signal::unix::{SignalKind, signal};
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use super::server::StatusSocket;
use super::{StatusError, StatusHandle, keepalived, metrics, server};
use crate::engine::Stats;

/// keepalived's default dump paths.
pub const DEFAULT_DATA_FILE: &str = "/tmp/keepalived.data";
pub const DEFAULT_STATS_FILE: &str = "/tmp/keepalived.stats";
/// keepalived writes its JSON dump here whatever `state_file_location` says (KA_TMP_DIR).
pub const DEFAULT_JSON_FILE: &str = "/tmp/keepalived.json";
/// Their file names, used in a `state_file_location` / `stats_file_location` directory.
pub const DATA_FILE_NAME: &str = "keepalived.data";
pub const STATS_FILE_NAME: &str = "keepalived.stats";

#[derive(Clone, Debug)]
pub struct OpsConfig {
    /// `None`: no status socket.
    pub status_socket: Option<PathBuf>,
    pub metrics_listen: Option<SocketAddr>,
    pub data_file: PathBuf,
    pub stats_file: PathBuf,
    pub json_file: PathBuf,
}

/// The running tasks; dropping it stops them and removes the socket file.
pub struct Ops {
    tasks: Vec<JoinHandle<()>>,
    _socket: Option<StatusSocket>,
}

impl Ops {
    /// Binds and spawns everything. Must run inside the tokio runtime. A status socket a live
    /// vrrpd answers on is an error (two daemons on one socket means two daemons on the same
    /// configuration); one that cannot be bound for another reason is logged and skipped (status
    /// is not worth refusing to route over); a metrics address that cannot be bound is an
    /// error, since it was asked for explicitly.
    pub async fn start(config: &OpsConfig, handle: StatusHandle) -> Result<Ops, StatusError> {
        let mut tasks = Vec::new();
        let mut socket = None;
        if let Some(path) = &config.status_socket {
            match StatusSocket::bind(path) {
                Ok(mut s) => {
                    if let Some(listener) = s.take_listener() {
                        tasks.push(tokio::spawn(server::serve(listener, handle.clone())));
                    }
                    info!("Status socket {}", s.path().display());
                    socket = Some(s);
                }
                Err(e @ StatusError::InUse(_)) => return Err(e),
                Err(e) => warn!("{e}: running without a status socket"),
            }
        }
        if let Some(addr) = config.metrics_listen {
            let listener = metrics::bind(addr)
                .await
                .map_err(|source| StatusError::Metrics { addr, source })?;
            info!("Metrics on http://{addr}/metrics");
            tasks.push(tokio::spawn(metrics::serve(listener, handle.clone())));
        }
        let dumps = Dumps {
            handle,
            data_file: config.data_file.clone(),
            stats_file: config.stats_file.clone(),
            json_file: config.json_file.clone(),
            baseline: HashMap::new(),
        };
        tasks.push(dumps.spawn()?);
        Ok(Ops {
            tasks,
            _socket: socket,
        })
    }
}

impl Drop for Ops {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

struct Dumps {
    handle: StatusHandle,
    data_file: PathBuf,
    stats_file: PathBuf,
    json_file: PathBuf,
    /// Counts at the last STATS_CLEAR, per instance.
    baseline: HashMap<String, Stats>,
}

impl Dumps {
    fn spawn(mut self) -> Result<JoinHandle<()>, StatusError> {
        let mut usr1 = signal(SignalKind::user_defined1()).map_err(StatusError::Signal)?;
        let mut usr2 = signal(SignalKind::user_defined2()).map_err(StatusError::Signal)?;
        let mut clear =
            signal(SignalKind::from_raw(stats_clear_signal())).map_err(StatusError::Signal)?;
        // keepalived's other two dump signals; unhandled, their default action would kill the
        // daemon without a priority-0 advert and leave its VIPs behind.
        let mut json = signal(SignalKind::from_raw(json_signal())).map_err(StatusError::Signal)?;
        let mut tdump =
            signal(SignalKind::from_raw(tdump_signal())).map_err(StatusError::Signal)?;
        Ok(tokio::spawn(async move {
            loop {
                tokio::select! {
                    Some(()) = usr1.recv() => self.write_data().await,
                    Some(()) = usr2.recv() => self.write_stats(false).await,
                    Some(()) = clear.recv() => self.write_stats(true).await,
                    Some(()) = json.recv() => self.write_json().await,
                    Some(()) = tdump.recv() => {
                        info!("Thread dump requested: vrrpd has no keepalived threads; `vrrpd status` shows its state");
                    }
                    else => break,
                }
            }
        }))
    }

    async fn write_json(&self) {
        let Some(status) = self.handle.get().await else {
            return;
        };
        info!(
            "Printing VRRP as json on signal to {}",
            self.json_file.display()
        );
        if let Err(e) = write_atomic(&self.json_file, &keepalived::json_file(&status)) {
            error!("{e}");
        }
    }

    async fn write_data(&self) {
        let Some(status) = self.handle.get().await else {
            return;
        };
        info!(
            "Printing VRRP data on signal to {}",
            self.data_file.display()
        );
        if let Err(e) = write_atomic(&self.data_file, &keepalived::data_file(&status)) {
            error!("{e}");
        }
    }

    async fn write_stats(&mut self, clear: bool) {
        let Some(status) = self.handle.get().await else {
            return;
        };
        info!(
            "Printing VRRP stats{} on signal to {}",
            if clear { " and clearing them" } else { "" },
            self.stats_file.display()
        );
        let text = keepalived::stats_file(&status, &|name| {
            self.baseline.get(name).copied().unwrap_or_default()
        });
        if let Err(e) = write_atomic(&self.stats_file, &text) {
            error!("{e}");
        }
        if clear {
            for i in &status.instances {
                self.baseline.insert(i.name.clone(), i.stats);
            }
        }
    }
}

/// Readers (exporters read 10 ms after signalling) see the old file or the new one, never half.
/// The dumps usually live in world-writable /tmp, so the new text goes to a file with an
/// unpredictable name created O_EXCL (mode 0600) beside the target, and is renamed over it:
/// rename(2) replaces a symlink planted at `path` instead of writing through it, and no other
/// user can pre-create or swap the temporary file.
fn write_atomic(path: &Path, text: &str) -> Result<(), StatusError> {
    use std::io::Write as _;
    let err = |source| StatusError::DumpFile {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
    tmp.write_all(text.as_bytes()).map_err(err)?;
    // On failure the returned NamedTempFile is dropped, which removes the temporary file.
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

/// Where a dump goes for keepalived's `state_file_location` / `stats_file_location` value:
/// ending in `/`, a directory holding keepalived's usual name (`default_name`); otherwise the
/// file itself, a relative one under /tmp (keepalived's tmp_dir). `None`: the default path.
pub fn dump_path(configured: Option<&Path>, default_name: &str) -> PathBuf {
    let tmp = Path::new("/tmp");
    let Some(p) = configured else {
        return tmp.join(default_name);
    };
    let text = p.as_os_str().as_encoded_bytes();
    let dir_only = text.ends_with(b"/");
    let base = if p.is_absolute() { p } else { tmp };
    match (dir_only, p.is_absolute()) {
        (true, _) => base.join(default_name),
        (false, true) => p.to_path_buf(),
        (false, false) => tmp.join(p.file_name().unwrap_or(p.as_os_str())),
    }
}

/// keepalived's STATS_CLEAR signal.
fn stats_clear_signal() -> i32 {
    libc::SIGRTMAX() - 1
}

/// keepalived's JSON dump signal.
fn json_signal() -> i32 {
    libc::SIGRTMIN() + 2
}

/// keepalived's thread dump signal.
fn tdump_signal() -> i32 {
    libc::SIGRTMAX()
}

/// keepalived `--signum=NAME`: the signal a name stands for.
pub fn signum(name: &str) -> Option<i32> {
    Some(match name {
        "STOP" => libc::SIGTERM,
        "RELOAD" => libc::SIGHUP,
        "DATA" => libc::SIGUSR1,
        "STATS" => libc::SIGUSR2,
        "STATS_CLEAR" => stats_clear_signal(),
        "JSON" => json_signal(),
        "TDUMP" => tdump_signal(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dump_write_replaces_a_planted_symlink_instead_of_following_it() {
        let dir = crate::testutil::TempDir::new("dump-symlink");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious\n").unwrap();
        let dump = dir.path().join("keepalived.data");
        std::os::unix::fs::symlink(&victim, &dump).unwrap();
        write_atomic(&dump, "dump\n").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
        let meta = std::fs::symlink_metadata(&dump).unwrap();
        assert!(meta.file_type().is_file(), "{meta:?}");
        assert_eq!(std::fs::read_to_string(&dump).unwrap(), "dump\n");
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        // Nothing left beside it but the two files.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn dump_write_into_a_missing_directory_is_an_error_naming_the_file() {
        let dir = crate::testutil::TempDir::new("dump-missing");
        let dump = dir.path().join("no/such/keepalived.data");
        let e = write_atomic(&dump, "x").unwrap_err();
        assert!(e.to_string().contains("no/such/keepalived.data"), "{e}");
    }

    #[test]
    fn dump_locations_follow_keepalived_rules() {
        let p = |s: &str| dump_path(Some(Path::new(s)), DATA_FILE_NAME);
        assert_eq!(
            dump_path(None, DATA_FILE_NAME),
            Path::new(DEFAULT_DATA_FILE)
        );
        assert_eq!(
            dump_path(None, STATS_FILE_NAME),
            Path::new(DEFAULT_STATS_FILE)
        );
        assert_eq!(p("/run/vrrpd/"), Path::new("/run/vrrpd/keepalived.data"));
        assert_eq!(p("/run/vrrpd/state.txt"), Path::new("/run/vrrpd/state.txt"));
        assert_eq!(p("state.txt"), Path::new("/tmp/state.txt"));
        assert_eq!(p("sub/state.txt"), Path::new("/tmp/state.txt"));
    }

    #[test]
    fn signal_numbers_match_keepalived_on_linux() {
        assert_eq!(signum("STOP"), Some(15));
        assert_eq!(signum("RELOAD"), Some(1));
        assert_eq!(signum("DATA"), Some(10));
        assert_eq!(signum("STATS"), Some(12));
        // glibc: SIGRTMAX is 64.
        assert_eq!(signum("STATS_CLEAR"), Some(63));
        // glibc: SIGRTMIN is 34 (the first two are the thread library's).
        assert_eq!(signum("JSON"), Some(36));
        assert_eq!(signum("TDUMP"), Some(64));
        assert_eq!(signum("data"), None);
    }
}
