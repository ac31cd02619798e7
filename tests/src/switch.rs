//! `Switch`: a Linux bridge in a namespace of its own, and veth pairs that plug other namespaces
//! into it. Keeping the bridge out of the root namespace means a test never touches the host's
//! interfaces.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::bin::vrrpd_bin;
use crate::netns::Netns;
use crate::process::NsChild;

/// The bridge's name inside the switch namespace.
const BRIDGE: &str = "br0";

pub struct Switch {
    /// Declared first so the xdp-peer processes go before their namespace.
    peers: Mutex<Vec<NsChild>>,
    ns: Netns,
    ports: AtomicU32,
    xdp_peers: bool,
}

impl Switch {
    /// A namespace `vt-{tag}-sw-…` holding an up bridge that forwards at once (no STP, no
    /// forwarding delay) and floods multicast (no snooping, so VRRP's 224.0.0.18 and ff02::12
    /// reach every port whatever the group memberships). Its ports hold pass-through XDP
    /// programs (see [`Switch::connect`]).
    pub fn new(tag: &str) -> Switch {
        Switch::with_xdp_peers(tag, true)
    }

    /// [`Switch::new`], with `xdp_peers` false for ports without the pass-through XDP program:
    /// for a lab where nothing answers with XDP_TX (no client asks for a VIP's MAC). On veth that
    /// program costs the sending host a copy of every frame into a page for XDP, in its own send
    /// call, which a switch port on a real network never charges to the host.
    pub fn with_xdp_peers(tag: &str, xdp_peers: bool) -> Switch {
        let ns = Netns::new(&format!("{tag}-sw"));
        // The switch only forwards frames; its ports must not speak IPv6 themselves.
        ns.sysctl("net.ipv6.conf.all.disable_ipv6", "1");
        ns.sysctl("net.ipv6.conf.default.disable_ipv6", "1");
        ns.exec(&[
            "ip",
            "link",
            "add",
            BRIDGE,
            "type",
            "bridge",
            "stp_state",
            "0",
            "forward_delay",
            "0",
            "mcast_snooping",
            "0",
        ]);
        ns.link_up(BRIDGE);
        // Multicast that reaches the bridge (every advert) is also passed up to the bridge device
        // itself, and this namespace's IP stack then parses it and drops it, in the sender's
        // softirq: a switch has no host behind it, so its bridge device drops what it receives,
        // at ingress. Captures on the bridge device still see every frame (taps come first).
        ns.exec(&["nft", "add", "table", "netdev", "switch"]);
        ns.exec(&[
            "nft",
            "add",
            "chain",
            "netdev",
            "switch",
            "host",
            &format!("{{ type filter hook ingress device {BRIDGE} priority 0 ; policy drop ; }}"),
        ]);
        // A switch forwards frames; it does not firewall them. Where br_netfilter is loaded (a
        // container runtime's doing, host-wide), every bridged frame would also go through this
        // namespace's (empty) IP hooks: a quarter of a sender's CPU per frame in `bench scale`,
        // charged to whichever daemon sends, and present on some hosts only. Without the
        // module these keys do not exist and there is nothing to turn off.
        for family in ["iptables", "ip6tables", "arptables"] {
            let key = format!("net.bridge.bridge-nf-call-{family}=0");
            let _ = ns.output(&["sysctl", "-q", "-w", &key]);
        }
        Switch {
            peers: Mutex::new(Vec::new()),
            ns,
            ports: AtomicU32::new(0),
            xdp_peers,
        }
    }

    /// The switch's namespace (to watch the bridge, or take a port down).
    pub fn ns(&self) -> &Netns {
        &self.ns
    }

    /// Plugs `ns` into the bridge with a veth pair: `ifname` inside `ns` (left down, so the caller
    /// can configure it before it speaks), and a port `pN` on the bridge, up. Returns the port name.
    ///
    /// Each port holds `vrrpd xdp-peer`'s pass-through XDP program (unless the switch was made
    /// without): veth drops the frames the other end sends with XDP_TX (vrrpd's ARP/ND answers)
    /// unless the peer end runs XDP too.
    pub fn connect(&self, ns: &Netns, ifname: &str) -> String {
        let port = format!("p{}", self.ports.fetch_add(1, Ordering::Relaxed));
        // A queue per CPU at both ends, as a host's NIC has: a benchmark can then keep the frames
        // each CPU sends on a queue of their own (the flood bench's per-host CPUs).
        let queues = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .to_string();
        let q = ["numtxqueues", &queues, "numrxqueues", &queues];
        let mut cmd = vec!["ip", "link", "add", &port];
        cmd.extend(q);
        cmd.extend(["type", "veth", "peer", "name", ifname]);
        cmd.extend(q);
        cmd.extend(["netns", ns.name()]);
        self.ns.exec(&cmd);
        self.ns
            .exec(&["ip", "link", "set", "dev", &port, "master", BRIDGE]);
        self.ns.link_up(&port);
        if !self.xdp_peers {
            return port;
        }
        let bin = vrrpd_bin();
        let peer = self.ns.spawn(&[
            bin.to_str().expect("vrrpd path is UTF-8"),
            "xdp-peer",
            "--iface",
            &port,
        ]);
        peer.wait_for("xdp-peer attached", Duration::from_secs(10), |l| {
            l.text.contains("xdp_pass attached")
        });
        self.peers.lock().expect("peers lock").push(peer);
        port
    }
}
