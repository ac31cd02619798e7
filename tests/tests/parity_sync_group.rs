//! Sync group parity (keepalived-behaviour.md §1.5, §2.12): two routers, each with VI_1 and VI_2
//! in sync group G; router 0 is master of both. When a tracker of one member fails on router 0,
//! the group pulls the other member along (both FAULT, `VRRP_Group(G) Syncing instances to FAULT
//! state`), and router 1 becomes master of both; when it recovers, router 0 takes both back. Run with vrrpd on both routers, with keepalived 2.2.7 on one side
//! (interop), and with keepalived on both (`--ignored`, the reference).

use std::net::IpAddr;
use std::time::{Duration, Instant};

use vrrpd_tests::conf::Instance;
use vrrpd_tests::observe::wait_holders;
use vrrpd_tests::scenario::Testbed;
use vrrpd_tests::{Impl, State};

const FIRST: usize = 0;
const SECOND: usize = 1;
const SETTLE: Duration = Duration::from_secs(15);
const TRACKED: &str = "trk0";
const MEMBERS: [&str; 2] = ["VI_1", "VI_2"];

/// Router 0's VI_1 tracks a link with weight 0 (a failure is FAULT). A weighted tracker with
/// `sync_group_tracking_weight` does not move the group at all in keepalived 2.2.7: the peer's
/// VI_1 out-prioritises ours and times out, but it may not go MASTER while its VI_2 hears our
/// VI_2, and ours never hears a higher priority (vrrpd agrees; not tested here).
fn config(router: usize, subnet: u8) -> String {
    let priority = if router == FIRST { 150 } else { 100 };
    let mut vi1 = Instance::new("VI_1", 57)
        .priority(priority)
        .advert_int("0.2")
        .vip(format!("10.{subnet}.0.200"));
    let vi2 = Instance::new("VI_2", 58)
        .priority(priority)
        .advert_int("0.2")
        .vip(format!("10.{subnet}.0.201"));
    if router == FIRST {
        vi1 = vi1.line(format!("track_interface {{\n        {TRACKED}\n    }}"));
    }
    format!(
        "{vi1}{vi2}vrrp_sync_group G {{\n    group {{\n        VI_1\n        VI_2\n    }}\n}}\n"
    )
}

fn wait_both(tb: &Testbed, router: usize, state: State, since: Instant) {
    for vi in MEMBERS {
        tb.router(router).wait_state(vi, state, since);
    }
}

fn assert_holds_both(tb: &Testbed, router: usize, when: &str) {
    for host in [200, 201] {
        let vip: IpAddr = tb.lab.ipv4(host).into();
        assert_eq!(
            wait_holders(&tb.lab.routers, vip, &[router], SETTLE),
            [router],
            "{when}: holders of {vip}\n{}",
            tb.transcripts()
        );
    }
}

fn sync_group_pulls_members(impls: [Impl; 2], subnet: u8) {
    let mut tb = Testbed::new("sync", subnet, &impls, |i, s, _| config(i, s));
    let ns = &tb.node(FIRST).ns;
    ns.exec(&[
        "ip", "link", "add", TRACKED, "type", "veth", "peer", "name", "trk1",
    ]);
    ns.link_up("trk1");
    ns.link_up(TRACKED);

    let t0 = Instant::now();
    tb.start(FIRST);
    wait_both(&tb, FIRST, State::Master, t0);
    tb.start(SECOND);
    for vi in MEMBERS {
        tb.router(SECOND)
            .wait_log(&format!("({vi}) Entering BACKUP STATE"));
    }
    assert_holds_both(&tb, FIRST, "both up");

    let failed = Instant::now();
    tb.node(FIRST).ns.link_down(TRACKED);
    // Both members of router 0 go to FAULT (VI_2 pulled by the group), each resigning with
    // priority 0, so router 1 takes both over.
    wait_both(&tb, FIRST, State::Fault, failed);
    wait_both(&tb, SECOND, State::Master, failed);
    tb.router(FIRST)
        .wait_log_since("VRRP_Group(G) Syncing instances to", failed);
    assert_holds_both(&tb, SECOND, "after VI_1's tracker failed on router 0");

    let recovered = Instant::now();
    tb.node(FIRST).ns.link_up(TRACKED);
    wait_both(&tb, FIRST, State::Master, recovered);
    wait_both(&tb, SECOND, State::Backup, recovered);
    assert_holds_both(&tb, FIRST, "after the recovery");
}

#[test]
fn fault_pulls_the_group_vrrpd() {
    sync_group_pulls_members([Impl::Vrrpd, Impl::Vrrpd], 76);
}

#[test]
fn fault_pulls_the_group_vrrpd_with_keepalived_peer() {
    sync_group_pulls_members([Impl::Vrrpd, Impl::Keepalived], 78);
}

#[test]
fn fault_pulls_the_group_keepalived_with_vrrpd_peer() {
    sync_group_pulls_members([Impl::Keepalived, Impl::Vrrpd], 79);
}

#[test]
#[ignore = "reference run with keepalived on both routers"]
fn fault_pulls_the_group_keepalived() {
    sync_group_pulls_members([Impl::Keepalived, Impl::Keepalived], 80);
}

/// A member going to BACKUP (not FAULT) pulls the group too (vrrp_sync.c): router 0 is master of
/// VI_1 and VI_2 (group G, 150); router 1 has only VI_1, at 200, and takes it over. Router 0's
/// VI_1 hears the higher priority and goes BACKUP, and VI_2 follows, and stays BACKUP although
/// nobody else advertises VI_2: a member goes MASTER only when every member would.
#[test]
fn backup_pulls_the_group_vrrpd() {
    let mut tb = Testbed::new("sync-bk", 81, &[Impl::Vrrpd, Impl::Vrrpd], |i, s, _| {
        if i == SECOND {
            Instance::new("VI_1", 57)
                .priority(200)
                .advert_int("0.2")
                .vip(format!("10.{s}.0.200"))
                .to_string()
        } else {
            config(FIRST, s).replace(
                &format!("track_interface {{\n        {TRACKED}\n    }}\n    "),
                "",
            )
        }
    });
    let t0 = Instant::now();
    tb.start(FIRST);
    wait_both(&tb, FIRST, State::Master, t0);
    let joined = Instant::now();
    tb.start(SECOND);
    tb.router(SECOND).wait_state("VI_1", State::Master, joined);
    wait_both(&tb, FIRST, State::Backup, joined);
    tb.router(FIRST)
        .wait_log_since("VRRP_Group(G) Syncing instances to BACKUP", joined);
    let settled = Instant::now();
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        tb.router(FIRST).transitions_since(settled),
        [],
        "VI_2 stays BACKUP with its group\n{}",
        tb.transcripts()
    );
    let vip2: IpAddr = tb.lab.ipv4(201).into();
    assert_eq!(
        wait_holders(&tb.lab.routers, vip2, &[], SETTLE),
        [] as [usize; 0],
        "nobody holds VI_2's VIP\n{}",
        tb.transcripts()
    );
}
