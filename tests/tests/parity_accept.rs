//! Accept_Mode (keepalived-behaviour.md §2.9): under `vrrp_strict` a master that is not the address
//! owner runs with `no_accept` unless the instance says `accept`, and keepalived then drops
//! traffic addressed to the VIPs with firewall rules ("VIP not pingable", its issues #474,
//! #1373, #2339). vrrpd drops it in XDP. ARP for the VIP is still answered, and the node's own
//! address stays reachable. Run with vrrpd and with keepalived 2.2.7 (its nftables rules).

use std::net::IpAddr;
use std::time::{Duration, Instant};

use vrrpd_tests::conf::{Instance, global_defs};
use vrrpd_tests::observe::{wait_addr_count, wait_ping};
use vrrpd_tests::scenario::Testbed;
use vrrpd_tests::{Impl, State};

const VI: &str = "VI_1";
const SETTLE: Duration = Duration::from_secs(10);
/// Long enough for several pings to have been answered were they let through.
const NO_REPLY: Duration = Duration::from_secs(4);

fn config(subnet: u8, accept: bool) -> String {
    // Strict mode allows `state MASTER` only for the owner: a priority-100 BACKUP becomes master
    // once its down timer runs out, alone on the segment.
    let mut i = Instance::new(VI, 62)
        .priority(100)
        .advert_int("0.2")
        .vip(format!("10.{subnet}.0.200"));
    if accept {
        i = i.line("accept");
    }
    format!("{}{i}", global_defs(&["vrrp_strict"]))
}

/// Starts one strict router and waits until it is master holding the VIP.
fn strict_master(which: Impl, subnet: u8, accept: bool) -> (Testbed, IpAddr) {
    let mut tb = Testbed::new("accept", subnet, &[which], |_, s, _| config(s, accept));
    let vip: IpAddr = tb.lab.ipv4(200).into();
    let t0 = Instant::now();
    tb.start(0);
    tb.router(0).wait_state(VI, State::Master, t0);
    assert_eq!(
        wait_addr_count(tb.node(0), vip, 1, SETTLE),
        1,
        "{}",
        tb.transcripts()
    );
    (tb, vip)
}

fn no_accept_drops_traffic_to_the_vip(which: Impl, subnet: u8) {
    let (tb, vip) = strict_master(which, subnet, false);
    let client = &tb.lab.client().ns;
    let own: IpAddr = tb.node(0).ipv4.into();
    assert!(
        wait_ping(client, own, SETTLE),
        "the master's own address must stay reachable\n{}",
        tb.transcripts()
    );
    assert!(
        !wait_ping(client, vip, NO_REPLY),
        "no_accept: the master answered a ping to {vip}\n{}",
        tb.transcripts()
    );
    // The ARP gate still answers for the VIP: the client knows where it is, its packets are
    // what the master drops.
    let neigh = client.exec(&["ip", "neigh", "show", &vip.to_string()]);
    assert!(
        neigh.contains("lladdr"),
        "the client resolved {vip}: {neigh}"
    );
}

fn accept_lets_traffic_to_the_vip_in(which: Impl, subnet: u8) {
    let (tb, vip) = strict_master(which, subnet, true);
    assert!(
        wait_ping(&tb.lab.client().ns, vip, SETTLE),
        "accept: the client cannot ping {vip}\n{}",
        tb.transcripts()
    );
}

#[test]
fn strict_without_accept_drops_traffic_to_the_vip_vrrpd() {
    no_accept_drops_traffic_to_the_vip(Impl::Vrrpd, 91);
}

#[test]
fn strict_with_accept_lets_traffic_to_the_vip_in_vrrpd() {
    accept_lets_traffic_to_the_vip_in(Impl::Vrrpd, 92);
}

#[test]
fn strict_without_accept_drops_traffic_to_the_vip_keepalived() {
    no_accept_drops_traffic_to_the_vip(Impl::Keepalived, 93);
}

#[test]
fn strict_with_accept_lets_traffic_to_the_vip_in_keepalived() {
    accept_lets_traffic_to_the_vip_in(Impl::Keepalived, 94);
}
