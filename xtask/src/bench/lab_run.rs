//! What every benchmark run shares: a fresh lab (2 routers + client, or as asked) built under a
//! panic guard, so a kit failure becomes an error for this run and its namespaces are gone either
//! way, and small helpers on lab nodes.

use std::panic::{AssertUnwindSafe, catch_unwind};

use anyhow::anyhow;
use vrrpd_tests::{Lab, Netns};

use super::frame::Mac;

/// The `X` of 10.X.0.0/24 the benchmarks use (labs are isolated; it only makes captures readable).
pub const SUBNET: u8 = 51;

/// Runs `f`, turning a panic of the kit (which panics with full context) into an error.
pub fn guarded<T>(f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into());
            Err(anyhow!("{msg}"))
        }
    }
}

/// A lab of `routers` routers and a client on subnet `SUBNET`.
pub fn lab(tag: &str, routers: usize) -> Lab {
    Lab::builder(tag).routers(routers).subnet(SUBNET).build()
}

/// The MAC address of `ifname` in `ns`.
pub fn mac(ns: &Netns, ifname: &str) -> anyhow::Result<Mac> {
    let text = ns.exec(&["cat", &format!("/sys/class/net/{ifname}/address")]);
    let bytes: Vec<u8> = text
        .trim()
        .split(':')
        .map(|h| u8::from_str_radix(h, 16))
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow!("bad MAC {text:?}: {e}"))?;
    bytes
        .try_into()
        .map_err(|_| anyhow!("bad MAC {text:?}: not 6 bytes"))
}

/// An interface counter from /sys/class/net/IF/statistics in `ns`.
pub fn counter(ns: &Netns, ifname: &str, name: &str) -> u64 {
    ns.output(&["cat", &format!("/sys/class/net/{ifname}/statistics/{name}")])
        .stdout
        .iter()
        .map(|&b| b as char)
        .collect::<String>()
        .trim()
        .parse()
        .unwrap_or(0)
}
