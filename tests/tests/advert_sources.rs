//! Advert sources follow the interface (RFC 5798 §5.1.1.1: an advert's source is the primary
//! address of the interface it leaves). A router renumbered while master advertises from its new
//! address, and closes the advert socket of each address it lost: DHCP or an operator changing
//! the address must not cost a descriptor, and a raw socket, every time.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use vrrpd_tests::Netns;
use vrrpd_tests::capture::Capture;
use vrrpd_tests::conf::Instance;
use vrrpd_tests::scenario::Testbed;
use vrrpd_tests::{Impl, State};

const VI: &str = "VI_1";
const VRID: u8 = 62;
const SETTLE: Duration = Duration::from_secs(10);
/// The VRRP protocol number as /proc/net/raw writes it in the local address's port column.
const VRRP_PROTO_HEX: &str = "0070";

/// The local addresses of the IPv4 raw VRRP sockets open in `ns` (/proc/net/raw: `sl
/// local_address ...`, the address in hex, in the kernel's byte order, then `:` and the protocol).
fn raw_vrrp_sockets(ns: &Netns) -> Vec<Ipv4Addr> {
    ns.exec(&["cat", "/proc/net/raw"])
        .lines()
        .skip(1)
        .filter_map(|line| {
            let local = line.split_whitespace().nth(1)?;
            let (addr, proto) = local.split_once(':')?;
            (proto == VRRP_PROTO_HEX)
                .then(|| u32::from_str_radix(addr, 16).ok())
                .flatten()
                .map(|raw| Ipv4Addr::from(u32::from_be(raw)))
        })
        .collect()
}

#[test]
fn a_renumbered_master_advertises_from_its_new_address_and_closes_the_old_sockets() {
    let config = |_: usize, s: u8, _: &std::path::Path| {
        Instance::new(VI, VRID)
            .priority(100)
            .advert_int("0.2")
            .vip(format!("10.{s}.0.200"))
            .to_string()
    };
    let mut tb = Testbed::new("srcs", 162, &[Impl::Vrrpd], config);
    let t0 = Instant::now();
    tb.start(0);
    tb.router(0).wait_state(VI, State::Master, t0);
    let node = tb.node(0);
    let first = node.ipv4;
    let wait_sockets = |want: &[Ipv4Addr]| {
        let deadline = Instant::now() + SETTLE;
        loop {
            let open = raw_vrrp_sockets(&node.ns);
            if open == want || Instant::now() > deadline {
                return open;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    assert_eq!(
        wait_sockets(&[first]),
        [first],
        "one advert socket, from the interface's address\n{}",
        tb.transcripts()
    );

    // Renumbered as an operator does it without a gap: the new address first, then the old
    // one deleted, which promotes the new one to primary.
    node.ns.exec(&[
        "sysctl",
        "-qw",
        &format!("net.ipv4.conf.{}.promote_secondaries=1", node.iface),
    ]);
    let capture = Capture::start(tb.lab.switch.ns(), &node.port);
    let renumbered = Instant::now();
    let mut current = first;
    for host in [31, 32, 33] {
        let next = tb.lab.ipv4(host);
        node.ns.exec(&[
            "ip",
            "addr",
            "add",
            &format!("{next}/24"),
            "dev",
            &node.iface,
        ]);
        node.ns.exec(&[
            "ip",
            "addr",
            "del",
            &format!("{current}/24"),
            "dev",
            &node.iface,
        ]);
        current = next;
        assert_eq!(
            wait_sockets(&[current]),
            [current],
            "after renumbering to {current}, only its advert socket is open\n{}",
            tb.transcripts()
        );
    }
    std::thread::sleep(Duration::from_millis(600));
    let sources: Vec<IpAddr> = capture
        .adverts(VRID)
        .into_iter()
        .map(|(_, a, _)| a.src)
        .collect();
    assert!(
        sources.len() >= 2 && sources.ends_with(&[current.into(), current.into()]),
        "the master advertises from {current} at the end: {sources:?}\n{}",
        tb.transcripts()
    );
    assert_eq!(
        tb.router(0).transitions_since(renumbered),
        [],
        "the master stays master while renumbered\n{}",
        tb.transcripts()
    );
}
