//! What a new master puts on the wire, byte for byte, next to keepalived 2.2.7 (keepalived-
//! behaviour.md §2.7): the first advert of a v2 instance with PASS authentication, of a v3 IPv4
//! and of a v3 IPv6 instance, the first gratuitous ARP for each IPv4 VIP and the first
//! unsolicited neighbour advertisement for each IPv6 VIP, and the priority-0 advert of each
//! instance when the daemon stops. Each daemon runs alone on a lab of its
//! own with the same addresses; the bytes that must differ between two hosts are zeroed before
//! the comparison: the MACs (Ethernet source, ARP sender, NA target link-layer option), the IPv4
//! identification and header checksum, link-local IPv6 sources (made from the MAC) and the
//! checksums computed over them, and the IPv6 flow label: the kernel labels keepalived's socket
//! adverts with a hash under a per-boot random key (`auto_flowlabels`), vrrpd's framed adverts
//! go unlabelled (0, which RFC 6437 allows); no receiver reads it.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use vrrpd_tests::capture::{Capture, Frame};
use vrrpd_tests::scenario::Testbed;
use vrrpd_tests::wire;
use vrrpd_tests::{Impl, State};

const SUBNET: u8 = 166;
const INSTANCES: [&str; 3] = ["V2", "V3", "V6"];
const VRIDS: [u8; 3] = [81, 82, 83];
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_ARP: u16 = 0x0806;
const ETH: usize = 14;

fn config(s: u8) -> String {
    format!(
        "vrrp_instance V2 {{
    interface eth0
    virtual_router_id 81
    priority 100
    advert_int 1
    authentication {{
        auth_type PASS
        auth_pass secret1
    }}
    virtual_ipaddress {{
        10.{s}.0.200
        10.{s}.0.201/24
    }}
}}
vrrp_instance V3 {{
    interface eth0
    virtual_router_id 82
    version 3
    priority 120
    advert_int 0.5
    virtual_ipaddress {{
        10.{s}.0.202
    }}
}}
vrrp_instance V6 {{
    interface eth0
    virtual_router_id 83
    version 3
    priority 130
    advert_int 0.5
    virtual_ipaddress {{
        fd00:{s}::200
        fd00:{s}::201/64
    }}
}}
"
    )
}

/// `which` alone, master of all three instances: the frames it sent, from the switch's port.
fn frames(which: Impl, tag: &str) -> Vec<Frame> {
    let mut tb = Testbed::new(tag, SUBNET, &[which], |_, s, _| config(s));
    let capture = Capture::start(tb.lab.switch.ns(), &tb.node(0).port);
    let t0 = Instant::now();
    tb.start(0);
    for vi in INSTANCES {
        tb.router(0).wait_state(vi, State::Master, t0);
    }
    // The first GARP and NA rounds follow each takeover at once.
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        tb.router_mut(0).terminate().is_some(),
        "{which:?} did not stop\n{}",
        tb.transcripts()
    );
    capture.finish()
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn zero(b: &mut [u8], range: std::ops::Range<usize>) {
    b[range].iter_mut().for_each(|x| *x = 0);
}

/// The frame with what differs between two hosts zeroed.
fn normalized(frame: &[u8]) -> Vec<u8> {
    let mut f = frame.to_vec();
    zero(&mut f, 6..12);
    match u16_at(&f, 12) {
        ETHERTYPE_IPV4 => {
            zero(&mut f, ETH + 4..ETH + 6);
            zero(&mut f, ETH + 10..ETH + 12);
        }
        ETHERTYPE_IPV6 => {
            f[ETH + 1] &= 0xf0;
            zero(&mut f, ETH + 2..ETH + 4);
            let link_local = f[ETH + 8] == 0xfe && f[ETH + 9] & 0xc0 == 0x80;
            if link_local {
                zero(&mut f, ETH + 8..ETH + 24);
            }
            let l4 = ETH + 40;
            match f[ETH + 6] {
                // VRRP: the checksum is over the source address.
                112 if link_local => zero(&mut f, l4 + 6..l4 + 8),
                // ICMPv6 NA: its target link-layer address option holds the MAC.
                58 => {
                    zero(&mut f, l4 + 2..l4 + 4);
                    let mut opt = l4 + 24;
                    while opt + 8 <= f.len() {
                        if f[opt] == 2 {
                            zero(&mut f, opt + 2..opt + 8);
                        }
                        opt += usize::from(f[opt + 1]).max(1) * 8;
                    }
                }
                _ => {}
            }
        }
        ETHERTYPE_ARP => zero(&mut f, ETH + 8..ETH + 14),
        _ => {}
    }
    f
}

/// The first advert of each VRID, then the first GARP of each IPv4 VIP, then the first NA of
/// each IPv6 VIP, each as (what it is, normalized bytes).
fn firsts(frames: &[Frame]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for vrid in VRIDS {
        let first = frames
            .iter()
            .find(|f| wire::advert(&f.data).is_some_and(|a| a.vrid == vrid && a.priority > 0));
        out.push((
            format!("advert VRID {vrid}"),
            first.map(|f| normalized(&f.data)),
        ));
        let resign = frames
            .iter()
            .find(|f| wire::advert(&f.data).is_some_and(|a| a.vrid == vrid && a.priority == 0));
        out.push((
            format!("priority-0 advert VRID {vrid}"),
            resign.map(|f| normalized(&f.data)),
        ));
    }
    for host in [200, 201, 202] {
        let ip = std::net::Ipv4Addr::new(10, SUBNET, 0, host);
        let first = frames
            .iter()
            .find(|f| wire::arp(&f.data).is_some_and(|a| a.is_gratuitous_for(ip)));
        out.push((format!("GARP {ip}"), first.map(|f| normalized(&f.data))));
    }
    for host in [200, 201] {
        let ip: std::net::Ipv6Addr = format!("fd00:{SUBNET}::{host}").parse().unwrap();
        let first = frames
            .iter()
            .find(|f| wire::neighbor_advert(&f.data).is_some_and(|n| n.target == ip));
        out.push((format!("NA {ip}"), first.map(|f| normalized(&f.data))));
    }
    out.into_iter()
        .map(|(what, bytes)| {
            let bytes = bytes.unwrap_or_else(|| panic!("no {what} in the capture"));
            (what, bytes)
        })
        .collect()
}

fn hex(b: &[u8]) -> String {
    let mut s = String::new();
    for (i, x) in b.iter().enumerate() {
        let _ = write!(s, "{}{x:02x}", if i > 0 && i % 2 == 0 { " " } else { "" });
    }
    s
}

#[test]
fn a_master_puts_on_the_wire_what_keepalived_does() {
    let keepalived = firsts(&frames(Impl::Keepalived, "wirek"));
    let vrrpd = firsts(&frames(Impl::Vrrpd, "wirev"));
    let mut differ = String::new();
    for ((what, k), (_, v)) in keepalived.iter().zip(&vrrpd) {
        if k != v {
            let _ = writeln!(
                differ,
                "{what}:\n  keepalived {}\n  vrrpd      {}",
                hex(k),
                hex(v)
            );
        }
    }
    assert!(differ.is_empty(), "frames that differ:\n{differ}");
}
