//! The ARP/ND gate (vrrpd only; keepalived has no such thing, so there is no reference run): the
//! client's ARP requests and neighbour solicitations for a VIP are answered by the master alone,
//! even while the backup has the VIP configured by hand, and the master's answers come from XDP:
//! its kernel is told never to answer (`arp_ignore=8`; for IPv6 an nftables rule drops every
//! neighbour advertisement it sends), so a reply can only be one XDP sent back out. The XDP
//! counters in `vrrpd status --json` agree: the master's `arp_replied`/`ns_replied` and the
//! backup's `arp_dropped`/`ns_dropped` grow by at least the requests sent. After a failover with
//! both daemons running, the roles and the counters swap.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use vrrpd_tests::capture::{Capture, Direction};
use vrrpd_tests::observe::{addr_count, mac};
use vrrpd_tests::scenario::Testbed;
use vrrpd_tests::wire::{self, Arp, Mac};
use vrrpd_tests::{Impl, Node, Router, State};

const MASTER: usize = 0;
const BACKUP: usize = 1;
/// Requests sent per address family.
const REQUESTS: usize = 5;
const SPACING: Duration = Duration::from_millis(200);
/// How long after the last request a reply may still arrive.
const LINGER: Duration = Duration::from_secs(1);

fn config(role: usize, subnet: u8) -> String {
    let (state, priority) = if role == MASTER {
        ("MASTER", 150)
    } else {
        ("BACKUP", 100)
    };
    config_with(state, priority, subnet)
}

fn config_with(state: &str, priority: u8, subnet: u8) -> String {
    format!(
        "vrrp_instance VI_4 {{
    state {state}
    interface eth0
    virtual_router_id 70
    version 3
    priority {priority}
    advert_int 0.2
    virtual_ipaddress {{
        10.{subnet}.0.200
    }}
}}
vrrp_instance VI_6 {{
    state {state}
    interface eth0
    virtual_router_id 71
    version 3
    priority {priority}
    advert_int 0.2
    virtual_ipaddress {{
        fd00:{subnet}::200
    }}
}}
"
    )
}

#[test]
fn only_the_master_answers_and_its_answers_come_from_xdp() {
    gate(Impl::Vrrpd, 61);
}

fn gate(which: Impl, subnet: u8) {
    let mut tb = Testbed::new("arpgate", subnet, &[which, which], |i, s, _| config(i, s));
    let vip4: Ipv4Addr = tb.lab.ipv4(200);
    let vip6: Ipv6Addr = tb.lab.ipv6(200);
    let t0 = Instant::now();
    tb.start(MASTER);
    tb.router(MASTER).wait_state("VI_4", State::Master, t0);
    tb.router(MASTER).wait_state("VI_6", State::Master, t0);
    tb.start(BACKUP);
    tb.router(BACKUP).wait_log("(VI_4) Entering BACKUP STATE");
    tb.router(BACKUP).wait_log("(VI_6) Entering BACKUP STATE");

    // The backup has the VIPs too, by hand: its kernel would answer for them if XDP let the
    // requests through.
    let backup = tb.node(BACKUP);
    backup.ns.add_addr(&backup.iface, &format!("{vip4}/32"));
    backup.ns.add_addr(&backup.iface, &format!("{vip6}/128"));
    assert_eq!(addr_count(backup, vip4.into()), 1);
    // The master's kernel never answers: only XDP can.
    kernel_never_answers(tb.node(MASTER));

    let (master_mac, backup_mac) = (mac(tb.node(MASTER)), mac(tb.node(BACKUP)));
    let before = [MASTER, BACKUP].map(|i| xdp_counters(tb.router(i)));
    let (arp_replies, na_replies) = ask(&tb, vip4, vip6);
    assert_answered_by(
        &tb,
        MASTER,
        (master_mac, backup_mac),
        &arp_replies,
        &na_replies,
    );
    // The master's answers and the backup's silence are XDP's doing, counted as such.
    let after = [MASTER, BACKUP].map(|i| xdp_counters(tb.router(i)));
    assert_counted(&tb, MASTER, &before, &after, ["arp_replied", "ns_replied"]);
    assert_counted(&tb, BACKUP, &before, &after, ["arp_dropped", "ns_dropped"]);

    // Failover with both daemons running: the backup, reloaded with a higher priority, preempts.
    // The old master's gate closes (its answers stop and its XDP drops the requests), the new
    // master's opens.
    let t1 = Instant::now();
    tb.router(BACKUP)
        .write_config(&config_with("BACKUP", 200, tb.lab.subnet()));
    tb.router(BACKUP).reload();
    for vi in ["VI_4", "VI_6"] {
        tb.router(BACKUP).wait_state(vi, State::Master, t1);
        tb.router(MASTER).wait_state(vi, State::Backup, t1);
    }
    for (i, open) in [(MASTER, false), (BACKUP, true)] {
        let status = status(tb.router(i));
        let gates: Vec<&Value> = status["instances"]
            .as_array()
            .expect("instances")
            .iter()
            .map(|inst| &inst["gate_open"])
            .collect();
        assert!(
            gates.iter().all(|g| **g == Value::Bool(open)),
            "router {i}: gate_open should be {open}: {gates:?}"
        );
    }
    let before = after;
    let (arp_replies, na_replies) = ask(&tb, vip4, vip6);
    assert_answered_by(
        &tb,
        BACKUP,
        (master_mac, backup_mac),
        &arp_replies,
        &na_replies,
    );
    let after = [MASTER, BACKUP].map(|i| xdp_counters(tb.router(i)));
    assert_counted(&tb, MASTER, &before, &after, ["arp_dropped", "ns_dropped"]);
    assert_counted(&tb, BACKUP, &before, &after, ["arp_replied", "ns_replied"]);
}

/// `router`'s XDP counters on its one interface, from `vrrpd status --json`.
fn xdp_counters(router: &Router) -> Value {
    let s = status(router);
    s["interfaces"][0]["counters"].clone()
}

fn status(router: &Router) -> Value {
    serde_json::from_str(&router.status_json()).expect("status --json is JSON")
}

/// Each of `counters` of router `i` grew by at least the requests sent.
fn assert_counted(
    tb: &Testbed,
    i: usize,
    before: &[Value; 2],
    after: &[Value; 2],
    counters: [&str; 2],
) {
    for name in counters {
        let value = |v: &Value| {
            v[name]
                .as_u64()
                .unwrap_or_else(|| panic!("no counter {name} in {v:#}"))
        };
        let grew = value(&after[i]) - value(&before[i]);
        assert!(
            grew >= REQUESTS as u64,
            "router {i}: {name} grew by {grew} for {REQUESTS} requests\n{:#}\n{}",
            after[i],
            tb.transcripts()
        );
    }
}

/// `node`'s kernel stops answering ARP requests (`arp_ignore=8`) and sending neighbour
/// advertisements (an nftables drop), so any answer from it is one XDP sent.
fn kernel_never_answers(node: &Node) {
    node.ns
        .sysctl(&format!("net.ipv4.conf.{}.arp_ignore", node.iface), "8");
    node.ns.exec(&["nft", "add", "table", "ip6", "vt_gate"]);
    node.ns.exec(&[
        "nft",
        "add chain ip6 vt_gate out { type filter hook output priority 0 ; }",
    ]);
    node.ns.exec(&[
        "nft",
        "add",
        "rule",
        "ip6",
        "vt_gate",
        "out",
        "icmpv6",
        "type",
        "nd-neighbor-advert",
        "drop",
    ]);
}

/// A new hardware address on the master's interface (`ip link set … address`, a bond failing
/// over) is the one its adverts and XDP's ARP/NA answers carry from then on.
#[test]
fn a_new_hardware_address_is_used_at_once() {
    let mut tb = Testbed::new("macchg", 63, &[Impl::Vrrpd], |i, s, _| config(i, s));
    let (vip4, vip6) = (tb.lab.ipv4(200), tb.lab.ipv6(200));
    let t0 = Instant::now();
    tb.start(MASTER);
    tb.router(MASTER).wait_state("VI_4", State::Master, t0);
    tb.router(MASTER).wait_state("VI_6", State::Master, t0);
    let node = tb.node(MASTER);
    kernel_never_answers(node);
    let new = Mac([0x02, 0, 0, 0, 63, 0x01]);
    assert_ne!(mac(node), new);
    node.ns.exec(&[
        "ip",
        "link",
        "set",
        "dev",
        &node.iface,
        "address",
        &new.to_string(),
    ]);
    tb.router(MASTER).wait_log("hardware address now");
    let capture = Capture::start(&tb.lab.client().ns, &tb.lab.client().iface);
    // Adverts every 0.2 s.
    thread::sleep(Duration::from_secs(1));
    let advert_macs: Vec<Mac> = capture
        .frames()
        .iter()
        .filter(|f| wire::advert(&f.data).is_some())
        .filter_map(|f| Some(Mac(f.data.get(6..12)?.try_into().ok()?)))
        .collect();
    assert!(
        !advert_macs.is_empty() && advert_macs.iter().all(|m| *m == new),
        "advert source MACs {advert_macs:?}, want {new}\n{}",
        tb.transcripts()
    );
    let (arp, na) = ask(&tb, vip4, vip6);
    assert!(
        arp.len() >= REQUESTS && arp.iter().all(|a| a.eth_src == new && a.sender_mac == new),
        "ARP replies {arp:#?}, want {new}\n{}",
        tb.transcripts()
    );
    assert!(
        na.len() >= REQUESTS && na.iter().all(|n| n.eth_src == new),
        "NA replies {na:#?}, want {new}\n{}",
        tb.transcripts()
    );
}

/// The client asks for both VIPs `REQUESTS` times; returns the ARP replies and solicited NAs.
fn ask(tb: &Testbed, vip4: Ipv4Addr, vip6: Ipv6Addr) -> (Vec<Arp>, Vec<wire::NeighborAdvert>) {
    let client = tb.lab.client();
    let client_mac = mac(client);
    let capture = Capture::start(&client.ns, &client.iface);
    for _ in 0..REQUESTS {
        capture.send(&wire::arp_request(client_mac, client.ipv4, vip4));
        capture.send(&wire::neighbor_solicitation(client_mac, client.ipv6, vip6));
        thread::sleep(SPACING);
    }
    thread::sleep(LINGER);

    let frames = capture.frames();
    let arp_replies: Vec<Arp> = frames
        .iter()
        .filter(|f| f.direction == Direction::In)
        .filter_map(|f| wire::arp(&f.data))
        .filter(|a| a.op == Arp::REPLY && a.sender_ip == vip4 && a.target_ip == client.ipv4)
        .collect();
    let na_replies: Vec<wire::NeighborAdvert> = frames
        .iter()
        .filter(|f| f.direction == Direction::In)
        .filter_map(|f| wire::neighbor_advert(&f.data))
        .filter(|n| n.target == vip6 && n.solicited)
        .collect();
    (arp_replies, na_replies)
}

/// Every reply came from router `by` (`macs`: the master's and the backup's), at least one per
/// request, with that router's MAC inside and back to the client.
fn assert_answered_by(
    tb: &Testbed,
    by: usize,
    (master_mac, backup_mac): (Mac, Mac),
    arp_replies: &[Arp],
    na_replies: &[wire::NeighborAdvert],
) {
    let client = tb.lab.client();
    let (vip4, vip6) = (tb.lab.ipv4(200), tb.lab.ipv6(200));
    let context = format!(
        "answering: router {by}; master {master_mac}, backup {backup_mac}\n\
         ARP replies: {arp_replies:#?}\nNA replies: {na_replies:#?}\n{}",
        tb.transcripts()
    );
    let (us, other) = if by == MASTER {
        (master_mac, backup_mac)
    } else {
        (backup_mac, master_mac)
    };

    let from = |macs: &[Mac]| {
        (
            macs.iter().filter(|m| **m == us).count(),
            macs.iter().filter(|m| **m == other).count(),
        )
    };
    let arp_macs: Vec<Mac> = arp_replies.iter().map(|a| a.eth_src).collect();
    let (m, b) = from(&arp_macs);
    assert_eq!(b, 0, "the non-master answered ARP for {vip4}\n{context}");
    assert!(
        m >= REQUESTS,
        "{m} ARP replies from the master to {REQUESTS} requests\n{context}"
    );
    assert!(
        arp_replies.iter().all(|a| a.sender_mac == us),
        "an ARP reply names another MAC than the master's\n{context}"
    );

    let na_macs: Vec<Mac> = na_replies.iter().map(|n| n.eth_src).collect();
    let (m, b) = from(&na_macs);
    assert_eq!(b, 0, "the non-master answered NS for {vip6}\n{context}");
    assert!(
        m >= REQUESTS,
        "{m} neighbour advertisements from the master to {REQUESTS} solicitations\n{context}"
    );
    assert!(
        na_replies.iter().all(|n| n.dst == client.ipv6),
        "a solicited advertisement not sent back to the soliciting client\n{context}"
    );
}
