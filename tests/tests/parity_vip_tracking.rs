//! A VIP deleted from outside (keepalived-behaviour.md §1.4, keepalived_netlink.c
//! `set_vrrp_backup`): the master sends priority 0, goes BACKUP with a down timer of Skew_Time,
//! and, alone on the segment, becomes master again and puts the address back. A VIP marked
//! `no_track` is left deleted and the master stays. Run with vrrpd and with keepalived 2.2.7.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use vrrpd_tests::conf::Instance;
use vrrpd_tests::observe::wait_addr_count;
use vrrpd_tests::scenario::Testbed;
use vrrpd_tests::{Impl, State};

const VI: &str = "VI_1";
const SETTLE: Duration = Duration::from_secs(10);

fn vip_deleted_from_outside(which: Impl, subnet: u8) {
    let config = |_: usize, s: u8, _: &std::path::Path| {
        Instance::new(VI, 71)
            .priority(100)
            .advert_int("0.2")
            .vip(format!("10.{s}.0.200"))
            .vip(format!("10.{s}.0.201 no_track"))
            .to_string()
    };
    let mut tb = Testbed::new("viptrack", subnet, &[which], config);
    let tracked: IpAddr = tb.lab.ipv4(200).into();
    let untracked: IpAddr = tb.lab.ipv4(201).into();
    let t0 = Instant::now();
    tb.start(0);
    tb.router(0).wait_state(VI, State::Master, t0);
    for vip in [tracked, untracked] {
        assert_eq!(
            wait_addr_count(tb.node(0), vip, 1, SETTLE),
            1,
            "{}",
            tb.transcripts()
        );
    }

    // no_track: the address stays gone, the master stays.
    let ns = &tb.node(0).ns;
    ns.exec(&[
        "ip",
        "addr",
        "del",
        &format!("{untracked}/32"),
        "dev",
        "eth0",
    ]);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(wait_addr_count(tb.node(0), untracked, 0, SETTLE), 0);
    assert_eq!(
        tb.router(0).state(VI),
        Some(State::Master),
        "{}",
        tb.transcripts()
    );

    // A tracked VIP: BACKUP, then MASTER again with both addresses back.
    let deleted = Instant::now();
    ns.exec(&["ip", "addr", "del", &format!("{tracked}/32"), "dev", "eth0"]);
    tb.router(0).wait_state(VI, State::Backup, deleted);
    tb.router(0).wait_state(VI, State::Master, deleted);
    for vip in [tracked, untracked] {
        assert_eq!(
            wait_addr_count(tb.node(0), vip, 1, SETTLE),
            1,
            "{vip} is back\n{}",
            tb.transcripts()
        );
    }
}

#[test]
fn a_vip_deleted_from_outside_comes_back_vrrpd() {
    vip_deleted_from_outside(Impl::Vrrpd, 150);
}

#[test]
fn a_vip_deleted_from_outside_comes_back_keepalived() {
    vip_deleted_from_outside(Impl::Keepalived, 151);
}
