//! `Lab`: N routers and one client on one bridge, each in its own namespace with an interface
//! `eth0` (the name the seed configurations use). Router `i` is `10.X.0.(i+1)/24` and
//! `fd00:X::(i+1)/64`; the client is `.100` / `::100`. The IPv6 groups are written with the same
//! digits as the IPv4 octets (`10.7.0.100` ↔ `fd00:7::100`), so addresses read alike in captures.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::netns::Netns;
use crate::switch::Switch;

/// The interface name inside every lab namespace.
pub const IFACE: &str = "eth0";
/// Host number of the client.
const CLIENT_HOST: u8 = 100;

/// One namespace plugged into the lab's bridge.
#[derive(Debug)]
pub struct Node {
    pub ns: Netns,
    /// Interface on the bridge, inside `ns`.
    pub iface: String,
    /// The bridge port this node is plugged into (in the switch namespace).
    pub port: String,
    pub ipv4: Ipv4Addr,
    pub ipv6: Ipv6Addr,
}

/// Builds a `Lab`.
pub struct LabBuilder {
    tag: String,
    routers: usize,
    subnet: u8,
    xdp_peers: bool,
}

impl LabBuilder {
    /// Number of routers (default 2).
    pub fn routers(mut self, n: usize) -> LabBuilder {
        assert!(
            (1..CLIENT_HOST as usize - 1).contains(&n),
            "1..{} routers",
            CLIENT_HOST - 1
        );
        self.routers = n;
        self
    }

    /// The `X` in `10.X.0.0/24` and `fd00:X::/64` (default 1). Labs are isolated from each other,
    /// so parallel labs may use the same value; a distinct one only makes captures easier to read.
    pub fn subnet(mut self, x: u8) -> LabBuilder {
        self.subnet = x;
        self
    }

    /// Whether the switch's ports hold pass-through XDP programs (default true; see
    /// [`Switch::with_xdp_peers`]): without them, no router's XDP_TX answer (ARP/ND for a VIP)
    /// gets through.
    pub fn xdp_peers(mut self, on: bool) -> LabBuilder {
        self.xdp_peers = on;
        self
    }

    pub fn build(self) -> Lab {
        let switch = Switch::with_xdp_peers(&self.tag, self.xdp_peers);
        let routers = (0..self.routers)
            .map(|i| {
                node(
                    &switch,
                    &format!("{}-r{i}", self.tag),
                    self.subnet,
                    i as u8 + 1,
                )
            })
            .collect();
        let client = node(
            &switch,
            &format!("{}-c", self.tag),
            self.subnet,
            CLIENT_HOST,
        );
        Lab {
            routers,
            client,
            switch,
            subnet: self.subnet,
        }
    }
}

/// Routers and a client on one bridge. Dropping it removes every namespace (and process) in it.
pub struct Lab {
    pub routers: Vec<Node>,
    pub client: Node,
    pub switch: Switch,
    subnet: u8,
}

impl Lab {
    /// A lab whose namespaces are named after `tag`.
    pub fn builder(tag: &str) -> LabBuilder {
        LabBuilder {
            tag: tag.to_string(),
            routers: 2,
            subnet: 1,
            xdp_peers: true,
        }
    }

    pub fn router(&self, i: usize) -> &Node {
        &self.routers[i]
    }

    pub fn client(&self) -> &Node {
        &self.client
    }

    /// `10.X.0.host`, e.g. for a virtual address.
    pub fn ipv4(&self, host: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, self.subnet, 0, host)
    }

    /// `fd00:X::host`.
    pub fn ipv6(&self, host: u8) -> Ipv6Addr {
        ipv6(self.subnet, host)
    }

    pub fn subnet(&self) -> u8 {
        self.subnet
    }
}

fn node(switch: &Switch, tag: &str, subnet: u8, host: u8) -> Node {
    let ns = Netns::new(tag);
    let port = switch.connect(&ns, IFACE);
    // Addresses (link-local included) must be usable at once, not after DAD's second.
    ns.sysctl(&format!("net.ipv6.conf.{IFACE}.accept_dad"), "0");
    let ipv4 = Ipv4Addr::new(10, subnet, 0, host);
    let ipv6 = ipv6(subnet, host);
    ns.add_addr(IFACE, &format!("{ipv4}/24"));
    ns.add_addr(IFACE, &format!("{ipv6}/64"));
    ns.link_up(IFACE);
    Node {
        ns,
        iface: IFACE.to_string(),
        port,
        ipv4,
        ipv6,
    }
}

/// `fd00:X::host`, the decimal digits read as hex groups (both are at most 255, so always valid).
fn ipv6(subnet: u8, host: u8) -> Ipv6Addr {
    format!("fd00:{subnet}::{host}")
        .parse()
        .expect("decimal digits of a u8 form a valid IPv6 group")
}
