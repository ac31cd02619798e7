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

use super::script::NotifyTarget;

/// How often the writer tries to open the FIFO while it has lines and no reader.
pub const REOPEN_INTERVAL: Duration = Duration::from_millis(200);
/// Lines held for a slow or absent reader before new ones are dropped.
const QUEUE_LINES: usize = 1024;

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

/// A notify FIFO and its writer task. Dropping it stops the task (lines still queued are lost).
pub struct NotifyFifo {
    lines: mpsc::Sender<String>,
    dropped: Arc<AtomicU64>,
    task: JoinHandle<()>,
    path: PathBuf,
}

impl NotifyFifo {
    /// Creates the FIFO (mode 0600) if it does not exist and starts the writer task. Must be
    /// called inside a tokio runtime.
    pub fn open(path: &Path) -> Result<NotifyFifo, FifoError> {
        ensure_fifo(path)?;
        let (lines, rx) = mpsc::channel(QUEUE_LINES);
        let dropped = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(writer(path.to_owned(), rx));
        Ok(NotifyFifo {
            lines,
            dropped,
            task,
            path: path.to_owned(),
        })
    }

    /// Queues one line (it should end in `\n`). Never blocks; a full queue drops the line.
    pub fn send_line(&self, line: String) {
        if self.lines.try_send(line).is_err() {
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

    /// Lines dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for NotifyFifo {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn ensure_fifo(path: &Path) -> Result<(), FifoError> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.file_type().is_fifo() => Ok(()),
        Ok(_) => Err(FifoError::NotAFifo {
            path: path.to_owned(),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            match nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o600)) {
                Ok(()) | Err(nix::errno::Errno::EEXIST) => Ok(()),
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
