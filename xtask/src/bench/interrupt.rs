//! Ctrl-C handling for benchmarks: the first SIGINT sets a flag that every wait checks, so a run
//! unwinds through its guards (namespaces, daemons, captures) instead of dying with them in place.

use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::bail;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Installs the SIGINT/SIGTERM handler (once per process). The daemons run in process groups of
/// their own, so a Ctrl-C on the terminal reaches only us, and the guards then stop them.
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // A second handler cannot be set only if one exists already; ours then never runs and a
        // Ctrl-C kills the process the default way, which the kit's names make easy to clean up.
        let _ = ctrlc::set_handler(|| {
            if INTERRUPTED.swap(true, Ordering::SeqCst) {
                eprintln!("xtask: interrupted twice, exiting without cleaning up");
                std::process::exit(130);
            }
            eprintln!("xtask: interrupted, cleaning up (Ctrl-C again to exit at once)");
        });
    });
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Fails if the user pressed Ctrl-C.
pub fn check() -> anyhow::Result<()> {
    if interrupted() {
        bail!("interrupted");
    }
    Ok(())
}

/// Sleeps `d`, waking early (with an error) on Ctrl-C.
pub fn sleep(d: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + d;
    loop {
        check()?;
        let now = Instant::now();
        if now >= deadline {
            return Ok(());
        }
        thread::sleep((deadline - now).min(Duration::from_millis(50)));
    }
}
