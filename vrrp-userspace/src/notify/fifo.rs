//! The notify FIFO writer (`notify_fifo`, `vrrp_notify_fifo`): one line per event, in order,
//! in keepalived's format (`INSTANCE "VI_1" MASTER 150`, `GROUP "VG_1" BACKUP 0`,
//! `INSTANCE "VI_1" MASTER_RX_LOWER_PRI 150`).
//!
//! The daemon hands lines to a writer task through a bounded queue and never waits. The task
//! opens the FIFO write-only and non-blocking: with no reader (`ENXIO`) it retries every
//! [`REOPEN_INTERVAL`]; when the reader goes away (`EPIPE`; Rust ignores SIGPIPE) it closes and
//! reopens later; when the reader stops reading, the pipe fills, then the queue, and further
//! lines are dropped and counted, the oldest lines being kept so the order the reader sees has
//! no holes before the drop point.
//!
//! As keepalived does, a FIFO it creates is owned by the configured user and group (else the
//! `script_user`), and a `*_fifo_script` is started once the FIFO exists, as its user, with the
//! FIFO path as its last argument; it is sent SIGTERM when the daemon stops.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::script::{NotifyScript, NotifyTarget};
use crate::track::RunAs;
use crate::track::exec;

/// How often the writer tries to open the FIFO while it has lines and no reader.
pub const REOPEN_INTERVAL: Duration = Duration::from_millis(200);
/// Lines held for a slow or absent reader before new ones are dropped.
const QUEUE_LINES: usize = 1024;
/// How long a FIFO script gets to exit after SIGTERM when the daemon stops, before SIGKILL.
const SCRIPT_STOP_GRACE: Duration = Duration::from_secs(1);

/// One `notify_fifo` / `vrrp_notify_fifo` line of the configuration, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FifoSpec {
    pub path: PathBuf,
    /// Who a FIFO the daemon creates belongs to: the line's `USER [GROUP]`, else `script_user`;
    /// `None` leaves it root's.
    pub owner: Option<RunAs>,
    /// The `*_fifo_script`, run with the path appended.
    pub script: Option<NotifyScript>,
}

impl FifoSpec {
    pub fn new(path: impl Into<PathBuf>) -> FifoSpec {
        FifoSpec {
            path: path.into(),
            owner: None,
            script: None,
        }
    }
}

/// The FIFO could not be created or is not a FIFO.
#[derive(Debug, thiserror::Error)]
pub enum FifoError {
    #[error("notify fifo {}: mkfifo failed: {source}", path.display())]
    Create {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("notify fifo {}: exists and is not a FIFO", path.display())]
    NotAFifo { path: PathBuf },
    #[error("notify fifo {}: stat failed: {source}", path.display())]
    Stat {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("notify fifo {}: chown to {}:{} failed: {source}", path.display(), owner.uid, owner.gid)]
    Chown {
        path: PathBuf,
        owner: RunAs,
        #[source]
        source: io::Error,
    },
}

/// One FIFO line: `INSTANCE "VI_1" MASTER 150\n`. `state` is `MASTER`, `BACKUP`, `FAULT`,
/// `STOP`, `DELETED`, `MASTER_RX_LOWER_PRI`, `MASTER_PRIORITY` or `BACKUP_PRIORITY`; groups
/// always carry priority 0.
pub fn fifo_line(target: NotifyTarget, name: &str, state: &str, priority: u8) -> String {
    let priority = match target {
        NotifyTarget::Instance => priority,
        NotifyTarget::Group => 0,
    };
    format!("{} \"{}\" {} {}\n", target.as_str(), name, state, priority)
}

/// Where lines for one FIFO's writer are queued. Clones queue to the same writer (a notify that
/// waits for VIP changes holds one); the writer stops once the FIFO is dropped or, after
/// [`NotifyFifo::close`], once every clone is gone.
#[derive(Clone)]
pub struct FifoLines {
    lines: mpsc::Sender<String>,
    dropped: Arc<AtomicU64>,
    path: Arc<Path>,
}

impl FifoLines {
    /// Queues one line (it should end in `\n`). Never blocks; a full queue drops the line.
    pub fn send_line(&self, line: String) {
        // A closed queue belongs to a FIFO a reload has replaced: the line has nowhere to go.
        if let Err(mpsc::error::TrySendError::Full(_)) = self.lines.try_send(line) {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed);
            if n == 0 {
                tracing::warn!(
                    "notify fifo {}: reader is not keeping up, dropping lines",
                    self.path.display()
                );
            }
        }
    }

    /// Queues `INSTANCE|GROUP "NAME" STATE PRIORITY`.
    pub fn notify(&self, target: NotifyTarget, name: &str, state: &str, priority: u8) {
        self.send_line(fifo_line(target, name, state, priority));
    }
}

/// A notify FIFO, its writer task and its FIFO script. Dropping it stops the task (lines still
/// queued are lost) and sends the script SIGTERM; [`NotifyFifo::close`] first lets the queue
/// drain.
pub struct NotifyFifo {
    lines: FifoLines,
    task: JoinHandle<()>,
    script: Option<FifoScript>,
    spec: FifoSpec,
}

impl NotifyFifo {
    /// Creates the FIFO if it does not exist (mode 0600, or 0640 and chowned when it has an
    /// owner, so that owner's group may read it), starts its script, and starts the writer task.
    /// Must be called inside a tokio runtime.
    pub fn open(spec: &FifoSpec) -> Result<NotifyFifo, FifoError> {
        let path = spec.path.as_path();
        if ensure_fifo(path)?
            && let Some(owner) = spec.owner.filter(|o| *o != RunAs::ROOT)
        {
            std::os::unix::fs::chown(path, Some(owner.uid), Some(owner.gid))
                .and_then(|()| {
                    std::fs::set_permissions(
                        path,
                        std::os::unix::fs::PermissionsExt::from_mode(0o640),
                    )
                })
                .map_err(|source| FifoError::Chown {
                    path: path.to_owned(),
                    owner,
                    source,
                })?;
        }
        let script = spec
            .script
            .as_ref()
            .and_then(|s| FifoScript::start(s, path));
        let (lines, rx) = mpsc::channel(QUEUE_LINES);
        let lines = FifoLines {
            lines,
            dropped: Arc::new(AtomicU64::new(0)),
            path: path.into(),
        };
        let task = tokio::spawn(writer(path.to_owned(), rx));
        Ok(NotifyFifo {
            lines,
            task,
            script,
            spec: spec.clone(),
        })
    }

    /// What this FIFO was opened with (a reload keeps it when the configuration still says so).
    pub fn spec(&self) -> &FifoSpec {
        &self.spec
    }

    /// At shutdown: lets the writer deliver what is queued (the STOP lines) for at most
    /// `timeout`, then stops the FIFO script with SIGTERM, SIGKILL if it has not exited within
    /// [`SCRIPT_STOP_GRACE`].
    pub async fn close(mut self, timeout: Duration) {
        let (closed, _) = mpsc::channel(1);
        // Dropping the last sender ends the writer's loop once the queue is empty.
        drop(std::mem::replace(&mut self.lines.lines, closed));
        let _ = tokio::time::timeout(timeout, &mut self.task).await;
        if let Some(script) = self.script.take() {
            script.stop().await;
        }
    }

    /// Where this FIFO's lines are queued.
    pub fn lines(&self) -> &FifoLines {
        &self.lines
    }

    /// Queues one line (see [`FifoLines::send_line`]).
    pub fn send_line(&self, line: String) {
        self.lines.send_line(line);
    }

    /// Queues `INSTANCE|GROUP "NAME" STATE PRIORITY`.
    pub fn notify(&self, target: NotifyTarget, name: &str, state: &str, priority: u8) {
        self.lines.notify(target, name, state, priority);
    }

    /// Lines dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.lines.dropped.load(Ordering::Relaxed)
    }

    pub fn path(&self) -> &Path {
        &self.spec.path
    }
}

impl Drop for NotifyFifo {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(script) = &self.script {
            script.signal(libc::SIGTERM);
        }
    }
}

/// A running `*_fifo_script`: keepalived starts it once and never waits for it.
struct FifoScript {
    pgid: i32,
    exited: JoinHandle<()>,
}

impl FifoScript {
    /// Starts `script` with `path` as its last argument; a failure to start is logged.
    fn start(script: &NotifyScript, path: &Path) -> Option<FifoScript> {
        let extra = [path.to_string_lossy().into_owned()];
        let mut child = match exec::command(&script.command, &extra, script.run_as).spawn() {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(
                    "notify fifo script `{}`: could not be run: {e}",
                    script.command.program()
                );
                return None;
            }
        };
        let pgid = child.id()? as i32;
        let program = script.command.program().to_owned();
        let exited = tokio::spawn(async move {
            let status = child.wait().await;
            // keepalived's line; the script is not restarted.
            tracing::info!("notify fifo script `{program}` terminated ({status:?})");
        });
        Some(FifoScript { pgid, exited })
    }

    fn signal(&self, sig: libc::c_int) {
        if !self.exited.is_finished() {
            // SAFETY: plain syscall on the script's own process group; ESRCH is fine.
            unsafe { libc::kill(-self.pgid, sig) };
        }
    }

    async fn stop(mut self) {
        self.signal(libc::SIGTERM);
        if tokio::time::timeout(SCRIPT_STOP_GRACE, &mut self.exited)
            .await
            .is_err()
        {
            self.signal(libc::SIGKILL);
        }
    }
}

/// Makes sure `path` is a FIFO; `Ok(true)` when this call created it.
fn ensure_fifo(path: &Path) -> Result<bool, FifoError> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.file_type().is_fifo() => Ok(false),
        Ok(_) => Err(FifoError::NotAFifo {
            path: path.to_owned(),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            match nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o600)) {
                Ok(()) => Ok(true),
                Err(nix::errno::Errno::EEXIST) => Ok(false),
                Err(errno) => Err(FifoError::Create {
                    path: path.to_owned(),
                    source: io::Error::from(errno),
                }),
            }
        }
        Err(source) => Err(FifoError::Stat {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Opens the FIFO for writing without blocking; `Ok(None)` when nobody reads it (ENXIO).
fn open_writer(path: &Path) -> io::Result<Option<AsyncFd<File>>> {
    let file = match OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) => return Ok(None),
        Err(e) => return Err(e),
    };
    // SAFETY: the File keeps its descriptor open for the AsyncFd's whole life.
    unsafe { AsyncFd::register_with_interest(file, Interest::WRITABLE) }
        .map(Some)
        .map_err(io::Error::from)
}

/// How long to wait before retrying a write to a FIFO whose pipe is full.
const FULL_PIPE_BACKOFF: std::time::Duration = std::time::Duration::from_millis(20);

async fn writer(path: PathBuf, mut lines: mpsc::Receiver<String>) {
    let mut out: Option<AsyncFd<File>> = None;
    while let Some(line) = lines.recv().await {
        let mut rest = line.as_bytes();
        while !rest.is_empty() {
            let Some(fd) = out.as_ref() else {
                match open_writer(&path) {
                    Ok(Some(fd)) => out = Some(fd),
                    Ok(None) => tokio::time::sleep(REOPEN_INTERVAL).await,
                    Err(e) => {
                        // Deleted or replaced under us: recreate it, as at start-up.
                        if e.kind() == io::ErrorKind::NotFound {
                            let _ = ensure_fifo(&path);
                        } else {
                            tracing::warn!("notify fifo {}: open failed: {e}", path.display());
                        }
                        tokio::time::sleep(REOPEN_INTERVAL).await;
                    }
                }
                continue;
            };
            let Ok(mut guard) = fd.writable().await else {
                out = None;
                continue;
            };
            match guard.try_io(|fd| fd.get_ref().write(rest)) {
                Ok(Ok(n)) => rest = &rest[n..],
                Ok(Err(e)) => {
                    if e.raw_os_error() != Some(libc::EPIPE) {
                        tracing::warn!("notify fifo {}: write failed: {e}", path.display());
                    }
                    // The reader went away; the line waits for the next one.
                    out = None;
                }
                Err(_would_block) => {
                    // A reader that holds the pipe full without reading: epoll keeps reporting
                    // the write end writable while every write still fails, so readiness alone
                    // would spin, and on the daemon's (realtime) thread that starves the engine.
                    // Wait for the reader instead; the line stays queued.
                    tokio::time::sleep(FULL_PIPE_BACKOFF).await;
                }
            }
        }
    }
    // Closing (shutdown): a written line is only in the pipe; give the reader the time to take
    // it out before its script is sent SIGTERM (the caller bounds the wait).
    if let Some(fd) = out {
        while unread_bytes(fd.get_ref()).is_some_and(|n| n > 0) {
            tokio::time::sleep(FULL_PIPE_BACKOFF).await;
        }
        // A reader that has just taken the last line has not acted on it yet.
        tokio::time::sleep(FULL_PIPE_BACKOFF).await;
    }
}

/// Bytes written to the pipe and not yet read (FIONREAD works on either end of a pipe).
fn unread_bytes(file: &File) -> Option<usize> {
    use std::os::fd::AsRawFd;
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int through the pointer, which lives across the call.
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), libc::FIONREAD, &mut n) };
    (rc == 0).then_some(n as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn lines_have_keepalived_format() {
        assert_eq!(
            fifo_line(NotifyTarget::Instance, "VI_1", "MASTER", 150),
            "INSTANCE \"VI_1\" MASTER 150\n"
        );
        assert_eq!(
            fifo_line(NotifyTarget::Group, "G", "BACKUP", 77),
            "GROUP \"G\" BACKUP 0\n"
        );
        assert_eq!(
            fifo_line(NotifyTarget::Instance, "VI_1", "MASTER_RX_LOWER_PRI", 150),
            "INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 150\n"
        );
    }

    /// The FIFO script gets the path as its last argument, reads what the daemon writes, and
    /// `close` lets it have the last lines before SIGTERM, which it sees.
    #[tokio::test(flavor = "current_thread")]
    async fn fifo_script_reads_the_lines_then_gets_sigterm() {
        let dir = TempDir::new("fifo-script");
        let (fifo, out) = (dir.path().join("fifo"), dir.path().join("out"));
        let script = dir.path().join("reader.sh");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho \"path $1\" >> {out}\ntrap 'echo TERM >> {out}; exit 0' TERM\n\
                 ( while read -r l; do echo \"$l\" >> {out}; done < \"$1\"; sleep 600 ) &\nwait\n",
                out = out.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let spec = FifoSpec {
            script: Some(NotifyScript::new(&script.to_string_lossy(), RunAs::ROOT).unwrap()),
            ..FifoSpec::new(&fifo)
        };
        let f = NotifyFifo::open(&spec).unwrap();
        f.notify(NotifyTarget::Instance, "VI_1", "MASTER", 150);
        f.notify(NotifyTarget::Instance, "VI_1", "STOP", 150);
        f.close(Duration::from_secs(5)).await;
        let text = std::fs::read_to_string(&out).unwrap();
        assert_eq!(
            text,
            format!(
                "path {}\nINSTANCE \"VI_1\" MASTER 150\nINSTANCE \"VI_1\" STOP 150\nTERM\n",
                fifo.display()
            )
        );
        assert_eq!(
            std::fs::metadata(&fifo).unwrap().permissions().mode() & 0o777,
            0o600,
            "no owner: root's, private"
        );
    }
}
