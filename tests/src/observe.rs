//! Black-box observations of a lab: which routers hold a virtual address (`ip -o addr` in their
//! namespace), whether the client reaches it, a node's MAC address, how many XDP programs an
//! interface carries. Nothing here asks the daemons.

use std::net::IpAddr;
use std::thread;
use std::time::{Duration, Instant};

use crate::lab::Node;
use crate::netns::Netns;
use crate::wire::Mac;

/// How many times `addr` is configured on `node`'s interface (0, 1, or more for a duplicate).
pub fn addr_count(node: &Node, addr: IpAddr) -> usize {
    let out = node
        .ns
        .exec(&["ip", "-o", "addr", "show", "dev", &node.iface]);
    let want = addr.to_string();
    out.lines()
        .filter(|l| {
            let mut words = l.split_whitespace();
            words.any(|w| w == "inet" || w == "inet6")
                && words
                    .next()
                    .and_then(|cidr| cidr.split('/').next())
                    .is_some_and(|a| a == want)
        })
        .count()
}

/// Waits up to `timeout` until `addr` is configured `n` times on `node`; returns the count last
/// seen. A daemon logs a state before its VIPs are in place (keepalived: `Entering MASTER STATE`,
/// then `setting VIPs.`), so a count read right after the state line can be early.
pub fn wait_addr_count(node: &Node, addr: IpAddr, n: usize, timeout: Duration) -> usize {
    poll_until(timeout, || addr_count(node, addr), |&now| now == n)
}

/// Reads `read()` every 50 ms until `done` holds or `timeout` passes; returns the last reading.
fn poll_until<T>(timeout: Duration, mut read: impl FnMut() -> T, done: impl Fn(&T) -> bool) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        let now = read();
        if done(&now) || Instant::now() >= deadline {
            return now;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// The indexes of the routers that have `addr` configured.
pub fn holders(routers: &[Node], addr: IpAddr) -> Vec<usize> {
    routers
        .iter()
        .enumerate()
        .filter(|(_, r)| addr_count(r, addr) > 0)
        .map(|(i, _)| i)
        .collect()
}

/// Waits up to `timeout` until exactly the routers in `expected` hold `addr`; returns the holders
/// last seen (equal to `expected` on success) so the caller can assert with its own context.
pub fn wait_holders(
    routers: &[Node],
    addr: IpAddr,
    expected: &[usize],
    timeout: Duration,
) -> Vec<usize> {
    poll_until(timeout, || holders(routers, addr), |now| now == expected)
}

/// Whether the holders of `addr` stay exactly `expected` for the whole of `period`; returns the
/// first different set seen.
pub fn holders_stay(
    routers: &[Node],
    addr: IpAddr,
    expected: &[usize],
    period: Duration,
) -> Result<(), Vec<usize>> {
    let deadline = Instant::now() + period;
    while Instant::now() < deadline {
        let now = holders(routers, addr);
        if now != expected {
            return Err(now);
        }
        thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// Whether `from` gets an echo reply from `addr` within `timeout` (one ping per second until then).
pub fn wait_ping(from: &Netns, addr: IpAddr, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let addr = addr.to_string();
    loop {
        let ok = from
            .output(&["ping", "-n", "-q", "-c", "1", "-W", "1", &addr])
            .status
            .success();
        if ok {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
    }
}

/// The MAC address of `node`'s interface.
pub fn mac(node: &Node) -> Mac {
    let out = node
        .ns
        .exec(&["ip", "-br", "link", "show", "dev", &node.iface]);
    out.split_whitespace()
        .nth(2)
        .and_then(Mac::parse)
        .unwrap_or_else(|| panic!("no MAC in `ip -br link` output: {out}"))
}

/// How many XDP programs are attached to `node`'s interface (`prog/xdp id N` entries of
/// `ip -d link show`; native, generic and offload each show one).
pub fn xdp_prog_count(node: &Node) -> usize {
    xdp_prog_ids(node).len()
}

/// The ids of the XDP programs attached to `node`'s interface, as `ip -d link show` lists them.
pub fn xdp_prog_ids(node: &Node) -> Vec<u32> {
    let out = node
        .ns
        .exec(&["ip", "-d", "link", "show", "dev", &node.iface]);
    out.split("prog/xdp")
        .skip(1)
        .map(|rest| {
            let mut words = rest.split_whitespace();
            match (words.next(), words.next().and_then(|w| w.parse().ok())) {
                (Some("id"), Some(id)) => id,
                _ => panic!("no `prog/xdp id N` in `ip -d link` output: {out}"),
            }
        })
        .collect()
}

/// The IPv6 link-local address of `node`'s interface.
pub fn link_local(node: &Node) -> IpAddr {
    node.ns
        .exec(&[
            "ip",
            "-6",
            "-o",
            "addr",
            "show",
            "dev",
            &node.iface,
            "scope",
            "link",
        ])
        .split_whitespace()
        .skip_while(|w| *w != "inet6")
        .nth(1)
        .and_then(|cidr| cidr.split('/').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("{} has no link-local address", node.ns.name()))
}
