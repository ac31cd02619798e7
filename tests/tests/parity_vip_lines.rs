//! The options of a `virtual_ipaddress` line (keepalived-behaviour.md §1.4) reach the kernel as
//! keepalived 2.2.7 puts them: for each VIP a master installs, `ip -o addr show` prints the same
//! line under vrrpd as under keepalived (prefix, `brd` worked out from `+` / `-`, scope by name
//! number, label, peer, the IFA_F_* flags, IPv6 lifetimes). In particular an IPv6 VIP skips
//! duplicate address detection (`nodad`) unless its line says `-nodad`, and a VIP with a `peer`
//! is a host address whatever its own prefix.
//!
//! The scoped VIPs are host addresses: the kernel refuses (EINVAL) a secondary address whose
//! scope differs from its subnet's primary, under either daemon.

use std::time::{Duration, Instant};

use vrrpd_tests::Node;
use vrrpd_tests::scenario::Testbed;
use vrrpd_tests::{Impl, State};

const SETTLE: Duration = Duration::from_secs(10);
/// The host parts of the VIPs below, IPv4 then IPv6.
const V4_HOSTS: [u8; 8] = [200, 201, 202, 203, 204, 205, 206, 207];
const V6_HOSTS: [u8; 5] = [200, 201, 202, 203, 204];

fn config(s: u8) -> String {
    format!(
        "vrrp_instance V4 {{
    interface eth0
    virtual_router_id 75
    priority 100
    advert_int 0.2
    virtual_ipaddress {{
        10.{s}.0.200
        10.{s}.0.201/24 brd + label eth0:v1
        10.{s}.0.202 peer 10.{s}.0.99
        10.{s}.0.203/24 brd - noprefixroute
        10.{s}.0.204/24 -nodad home
        10.{s}.0.205 scope link
        10.{s}.0.206/24 peer 10.{s}.0.98
        10.{s}.0.207 scope 254
    }}
}}
vrrp_instance V6 {{
    interface eth0
    virtual_router_id 76
    version 3
    priority 100
    advert_int 0.2
    virtual_ipaddress {{
        fd00:{s}::200
        fd00:{s}::201/64 -nodad
        fd00:{s}::202/64 preferred_lft 30
        fd00:{s}::203/64 noprefixroute home
        fd00:{s}::204 preferred_lft forever
    }}
}}
"
    )
}

/// `ip -o addr show` lines of the VIPs, with the subnet written `S`, the interface index and a
/// counting-down lifetime's seconds left out, so that two labs compare.
fn vip_lines(node: &Node, s: u8) -> Vec<String> {
    let out = node
        .ns
        .exec(&["ip", "-o", "addr", "show", "dev", &node.iface]);
    let vips: Vec<String> = V4_HOSTS
        .iter()
        .map(|h| format!("10.{s}.0.{h}"))
        .chain(V6_HOSTS.iter().map(|h| format!("fd00:{s}::{h}")))
        .collect();
    let mut lines: Vec<String> = out
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .skip_while(|w| *w != "inet" && *w != "inet6")
                .nth(1)
                .and_then(|cidr| cidr.split('/').next())
                .is_some_and(|a| vips.iter().any(|v| v == a))
        })
        .map(|l| {
            let line = l.split_once(": ").map_or(l, |(_, rest)| rest);
            let words: Vec<String> = line
                .split_whitespace()
                .map(|w| match w.strip_suffix("sec") {
                    Some(n) if n.parse::<u32>().is_ok() => "Nsec".to_string(),
                    _ => w
                        .replace(&format!("10.{s}."), "10.S.")
                        .replace(&format!("fd00:{s}:"), "fd00:S:"),
                })
                .collect();
            words.join(" ")
        })
        .collect();
    lines.sort();
    lines
}

/// `which` as master of both instances, alone on the segment: its VIPs' kernel lines.
fn installed(which: Impl, subnet: u8) -> Vec<String> {
    let mut tb = Testbed::new("viplines", subnet, &[which], |_, s, _| config(s));
    let t0 = Instant::now();
    tb.start(0);
    for vi in ["V4", "V6"] {
        tb.router(0).wait_state(vi, State::Master, t0);
    }
    let want = V4_HOSTS.len() + V6_HOSTS.len();
    let deadline = Instant::now() + SETTLE;
    loop {
        let lines = vip_lines(tb.node(0), subnet);
        if lines.len() == want || Instant::now() > deadline {
            assert_eq!(
                lines.len(),
                want,
                "{which:?}'s VIPs: {lines:#?}\n{}",
                tb.transcripts()
            );
            return lines;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn vip_line_options_reach_the_kernel_as_keepalived_puts_them() {
    let keepalived = installed(Impl::Keepalived, 163);
    let vrrpd = installed(Impl::Vrrpd, 164);
    assert_eq!(
        vrrpd, keepalived,
        "vrrpd (left) and keepalived (right) install the VIP lines alike"
    );
    let line = |addr: &str| {
        vrrpd
            .iter()
            .find(|l| l.contains(&format!(" {addr}/")) || l.contains(&format!(" {addr} ")))
            .unwrap_or_else(|| panic!("no {addr} in {vrrpd:#?}"))
            .clone()
    };
    assert!(line("fd00:S::200").contains(" nodad"), "{vrrpd:#?}");
    assert!(!line("fd00:S::201").contains(" nodad"), "{vrrpd:#?}");
    assert!(line("10.S.0.205").contains("scope link"), "{vrrpd:#?}");
    assert!(line("10.S.0.207").contains("scope host"), "{vrrpd:#?}");
    assert!(
        line("10.S.0.206").contains("10.S.0.206 peer 10.S.0.98/32"),
        "{vrrpd:#?}"
    );
}
