//! Running a closure inside a lab namespace from the test process itself (no `ip netns exec`), so
//! that a socket can be opened there: a socket stays in the namespace it was created in, whatever
//! thread later uses it.

use std::fs::File;
use std::os::fd::AsRawFd as _;
use std::path::Path;
use std::thread;

use crate::netns::Netns;

/// Where `ip netns` keeps the namespace files that `setns(2)` takes.
const NETNS_RUN_DIR: &str = "/run/netns";

/// Runs `f` on a fresh thread that has entered `ns`'s network namespace, and returns its result.
/// Only that thread moves; the caller stays where it is. Panics if the namespace cannot be entered.
pub fn in_netns<T: Send>(ns: &Netns, f: impl FnOnce() -> T + Send) -> T {
    let path = Path::new(NETNS_RUN_DIR).join(ns.name());
    thread::scope(|scope| {
        scope
            .spawn(|| {
                let file = File::open(&path)
                    .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
                // SAFETY: the fd is a valid namespace file owned by `file` for the whole call;
                // setns only changes this thread's network namespace.
                let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(
                    rc,
                    0,
                    "setns into {}: {}",
                    ns.name(),
                    std::io::Error::last_os_error()
                );
                f()
            })
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
    })
}

/// The index of `ifname` inside `ns`.
pub fn ifindex(ns: &Netns, ifname: &str) -> u32 {
    let name = std::ffi::CString::new(ifname).expect("interface names have no NUL");
    // SAFETY: `name` is a valid NUL-terminated string for the duration of the call.
    let index = in_netns(ns, || unsafe { libc::if_nametoindex(name.as_ptr()) });
    assert_ne!(index, 0, "no interface {ifname} in {}", ns.name());
    index
}
