//! Running code inside a lab namespace from this process: a thread that joined the namespace with
//! `setns` (only that thread moves), so sockets it opens belong to the namespace.

use std::fs::File;
use std::os::fd::AsRawFd as _;
use std::thread;

use anyhow::{Context as _, anyhow, bail};

/// Runs `f` on a new thread inside namespace `ns_name` (as listed by `ip netns`) and returns its
/// result.
pub fn in_netns<T: Send + 'static>(
    ns_name: &str,
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    let path = format!("/run/netns/{ns_name}");
    thread::Builder::new()
        .name(format!("in-{ns_name}"))
        .spawn(move || {
            enter(&path)?;
            f()
        })
        .context("cannot start a thread")?
        .join()
        .map_err(|_| anyhow!("thread inside {ns_name} panicked"))?
}

/// Moves the calling thread into the network namespace bound at `path`.
pub fn enter(path: &str) -> anyhow::Result<()> {
    let file = File::open(path).with_context(|| format!("cannot open {path}"))?;
    // SAFETY: the descriptor is valid for the call; setns only changes this thread's namespace.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc != 0 {
        bail!("setns({path}): {}", std::io::Error::last_os_error());
    }
    Ok(())
}
