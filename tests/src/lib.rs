//! Test kit: network namespaces, a bridge, veth pairs and processes that clean up after themselves,
//! for vrrpd's end-to-end tests and benchmarks.
//!
//! Everything runs inside namespaces the kit creates; the root namespace's interfaces are never
//! touched (the bridge too lives in a namespace of its own). Every resource is a guard that removes
//! itself on `Drop`, so also when a test panics. Names include the process id and a counter, so
//! tests run in parallel. Helpers panic with the context needed to understand a failure (the
//! command, its exit status, its output), in the style of aya's integration tests.

mod bin;
pub mod capture;
pub mod conf;
mod keepalived;
mod lab;
mod netns;
pub mod observe;
pub mod pinger;
mod process;
pub mod recorder;
mod router;
pub mod scenario;
pub mod seed;
pub mod setns;
mod switch;
mod tempdir;
pub mod watch;
pub mod wire;

pub use bin::vrrpd_bin;
pub use keepalived::{InstanceDumps, Keepalived, stats_file_lock};
pub use lab::{Lab, LabBuilder, Node};
pub use netns::{Netns, NetnsError};
pub use process::{Line, NsChild, Stream, for_each_line};
pub use router::{Impl, Router, STATE_TIMEOUT, State, Transition};
pub use switch::Switch;
pub use tempdir::TempDir;

use std::sync::atomic::{AtomicU32, Ordering};

/// `vt-{tag}-{pid}-{n}`: unique across the tests of this process and across processes.
pub fn unique_name(tag: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("vt-{tag}-{}-{n}", std::process::id())
}
