//! Reloads that move things under the same names (keepalived-behaviour.md §2.12). A kept master
//! whose VIP line gains `dev mv0` takes the address off eth0 and puts it on mv0; an instance
//! replaced by another of the same name (another VRID) is stopped with its own notify scripts
//! (its generic `notify` says FAULT, keepalived's old way for a deleted instance); a VIP line
//! that changes its label or scope is the line of another address, added again.
//! vrrpd once resolved what the old configuration did through the new one: it deleted the
//! address from mv0, where it never was, leaving it (and an open ARP gate) on eth0, and ran the
//! new instance's scripts for the old one. Run with vrrpd and with keepalived 2.2.7.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use vrrpd_tests::conf::Instance;
use vrrpd_tests::observe::{wait_addr_count, wait_ping};
use vrrpd_tests::recorder::Recorder;
use vrrpd_tests::scenario::Testbed;
use vrrpd_tests::{Impl, Node, State};

const VI: &str = "VI_1";
const SETTLE: Duration = Duration::from_secs(10);
/// The interface the reload moves the VIP to: a veth inside the router's namespace.
const MOVED_TO: &str = "mv0";

/// Starts the router and waits until it is master with `vip` on eth0.
fn start_master_holding(tb: &mut Testbed, vip: IpAddr) {
    let t0 = Instant::now();
    tb.start(0);
    tb.router(0).wait_state(VI, State::Master, t0);
    assert_eq!(
        wait_addr_count(tb.node(0), vip, 1, SETTLE),
        1,
        "{}",
        tb.transcripts()
    );
}

fn add_moved_to(node: &Node) {
    node.ns.exec(&[
        "ip", "link", "add", MOVED_TO, "type", "veth", "peer", "name", "mv1",
    ]);
    node.ns.link_up("mv1");
    node.ns.link_up(MOVED_TO);
}

/// `ADDR` on `dev` as `ip -o addr show dev DEV` lists it.
fn on_dev(node: &Node, dev: &str, addr: IpAddr) -> bool {
    let out = node.ns.exec(&["ip", "-o", "addr", "show", "dev", dev]);
    out.split_whitespace()
        .any(|w| w.split('/').next() == Some(&addr.to_string()))
}

fn kept_master_moves_its_vip(which: Impl, subnet: u8) {
    let config = |s: u8, dev: &str| {
        Instance::new(VI, 73)
            .priority(100)
            .advert_int("0.2")
            .vip(format!("10.{s}.0.200{dev}"))
            .to_string()
    };
    let mut tb = Testbed::new("rlmove", subnet, &[which], |_, s, _| config(s, ""));
    let vip: IpAddr = tb.lab.ipv4(200).into();
    add_moved_to(tb.node(0));
    start_master_holding(&mut tb, vip);

    tb.router(0)
        .write_config(&config(subnet, &format!(" dev {MOVED_TO}")));
    tb.router(0).reload();
    assert_eq!(
        wait_addr_count(tb.node(0), vip, 0, SETTLE),
        0,
        "{vip} left on eth0 after its line moved it to {MOVED_TO}\n{}",
        tb.transcripts()
    );
    let deadline = Instant::now() + SETTLE;
    while !on_dev(tb.node(0), MOVED_TO, vip) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(on_dev(tb.node(0), MOVED_TO, vip), "{}", tb.transcripts());
}

fn replaced_instance_stops_with_its_own_scripts(which: Impl, subnet: u8) {
    let rec = Recorder::new();
    let config = |s: u8, vrid: u8, tag: &str| {
        Instance::new(VI, vrid)
            .priority(100)
            .advert_int("0.2")
            .vip(format!("10.{s}.0.200"))
            .line(format!("notify {}", rec.call(tag)))
            .line(format!(
                "notify_fault {}",
                rec.call(&format!("{tag}-fault"))
            ))
            .to_string()
    };
    let mut tb = Testbed::new("rlrepl", subnet, &[which], |_, s, _| config(s, 74, "old"));
    let t0 = Instant::now();
    tb.start(0);
    tb.router(0).wait_state(VI, State::Master, t0);
    rec.wait("old", 2, &tb);

    let reloaded = Instant::now();
    tb.router(0).write_config(&config(subnet, 75, "new"));
    tb.router(0).reload();
    // The new instance starts afresh and, alone, takes over.
    tb.router(0).wait_state(VI, State::Master, reloaded);
    let new = rec.wait("new", 2, &tb);
    assert_eq!(
        rec.wait("old", 3, &tb)[2],
        "INSTANCE VI_1 FAULT 100 uid=0",
        "the removed instance's own generic notify\n{}",
        tb.transcripts()
    );
    // Deleted, not faulted: keepalived runs no notify_fault (its notify_deleted script, unset).
    assert!(
        rec.of("old-fault").is_empty() && rec.of("new-fault").is_empty(),
        "{:#?}",
        rec.lines()
    );
    assert!(
        new.iter().all(|l| !l.contains("FAULT")),
        "the new instance's script ran for the removed one: {new:?}\n{}",
        tb.transcripts()
    );
}

fn removed_vip_is_answered_again_when_reused(which: Impl, subnet: u8) {
    let config = |s: u8, both: bool| {
        let mut i = Instance::new(VI, 76)
            .priority(100)
            .advert_int("0.2")
            .vip(format!("10.{s}.0.200"));
        if both {
            i = i.vip(format!("10.{s}.0.201"));
        }
        i.to_string()
    };
    let mut tb = Testbed::new("rlgate", subnet, &[which], |_, s, _| config(s, true));
    let reused: IpAddr = tb.lab.ipv4(201).into();
    start_master_holding(&mut tb, reused);

    tb.router(0).write_config(&config(subnet, false));
    tb.router(0).reload();
    assert_eq!(
        wait_addr_count(tb.node(0), reused, 0, SETTLE),
        0,
        "{}",
        tb.transcripts()
    );
    // The operator puts the address to another use on the same host: it must resolve.
    tb.node(0)
        .ns
        .exec(&["ip", "addr", "add", &format!("{reused}/32"), "dev", "eth0"]);
    assert!(
        wait_ping(&tb.lab.client().ns, reused, SETTLE),
        "{reused}, no longer a VIP, does not answer\n{}",
        tb.transcripts()
    );
}

#[test]
fn a_vip_removed_by_reload_is_answered_again_when_reused_vrrpd() {
    removed_vip_is_answered_again_when_reused(Impl::Vrrpd, 158);
}

#[test]
fn a_vip_removed_by_reload_is_answered_again_when_reused_keepalived() {
    removed_vip_is_answered_again_when_reused(Impl::Keepalived, 159);
}

#[test]
fn a_kept_master_moves_its_vip_to_its_new_dev_vrrpd() {
    kept_master_moves_its_vip(Impl::Vrrpd, 154);
}

#[test]
fn a_kept_master_moves_its_vip_to_its_new_dev_keepalived() {
    kept_master_moves_its_vip(Impl::Keepalived, 155);
}

#[test]
fn a_replaced_instance_stops_with_its_own_scripts_vrrpd() {
    replaced_instance_stops_with_its_own_scripts(Impl::Vrrpd, 156);
}

#[test]
fn a_replaced_instance_stops_with_its_own_scripts_keepalived() {
    replaced_instance_stops_with_its_own_scripts(Impl::Keepalived, 157);
}

/// The VIP's `ip -o addr show dev eth0` line, if it is there.
fn addr_line(node: &Node, addr: IpAddr) -> Option<String> {
    node.ns
        .exec(&["ip", "-o", "addr", "show", "dev", "eth0"])
        .lines()
        .find(|l| {
            l.split_whitespace()
                .any(|w| w.split('/').next() == Some(&addr.to_string()))
        })
        .map(str::to_string)
}

/// A kept master whose VIP lines change their label and their scope (and nothing else) shows
/// the new ones on the interface after the reload, without a transition: keepalived takes such
/// a line for another address (compare_ipaddress) and adds it again. vrrpd kept the address as
/// it was added, with the old label and scope.
fn kept_master_reinstalls_changed_lines(which: Impl, subnet: u8) {
    let config = |s: u8, label: &str, scope: &str| {
        Instance::new(VI, 79)
            .priority(100)
            .advert_int("0.2")
            .vip(format!("10.{s}.0.200/24 label eth0:{label}"))
            .vip(format!("10.{s}.0.201 scope {scope}"))
            .to_string()
    };
    let mut tb = Testbed::new("rlline", subnet, &[which], |_, s, _| config(s, "a", "link"));
    let (labelled, scoped): (IpAddr, IpAddr) = (tb.lab.ipv4(200).into(), tb.lab.ipv4(201).into());
    start_master_holding(&mut tb, labelled);
    assert_eq!(wait_addr_count(tb.node(0), scoped, 1, SETTLE), 1);
    let mark = Instant::now();
    tb.router(0).write_config(&config(subnet, "b", "host"));
    tb.router(0).reload();
    let deadline = Instant::now() + SETTLE;
    let lines = loop {
        let lines = (
            addr_line(tb.node(0), labelled),
            addr_line(tb.node(0), scoped),
        );
        let done = lines.0.as_deref().is_some_and(|l| l.contains("eth0:b"))
            && lines.1.as_deref().is_some_and(|l| l.contains("scope host"));
        if done || Instant::now() > deadline {
            break lines;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        lines.0.as_deref().is_some_and(|l| l.contains("eth0:b"))
            && lines.1.as_deref().is_some_and(|l| l.contains("scope host")),
        "after the reload: {lines:?}\n{}",
        tb.transcripts()
    );
    assert_eq!(
        tb.router(0).transitions_since(mark),
        [],
        "{}",
        tb.transcripts()
    );
}

#[test]
fn a_kept_master_reinstalls_vips_whose_label_or_scope_changed_vrrpd() {
    kept_master_reinstalls_changed_lines(Impl::Vrrpd, 168);
}

#[test]
fn a_kept_master_reinstalls_vips_whose_label_or_scope_changed_keepalived() {
    kept_master_reinstalls_changed_lines(Impl::Keepalived, 169);
}
