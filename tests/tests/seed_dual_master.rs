//! End-to-end: the seed's dual-master pair (`examples/dual-master.*.conf`: VI_1 mastered by "one",
//! VI_2 by "another", each the other's backup), adapted to the lab by address and check script
//! only. Run with vrrpd on both routers; the keepalived variant (`--ignored`) shows the
//! expectations are keepalived's.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use vrrpd_tests::observe::{addr_count, wait_addr_count, wait_holders, wait_ping};
use vrrpd_tests::scenario::Testbed;
use vrrpd_tests::seed::Seed;
use vrrpd_tests::{Impl, State};

const ONE: usize = 0;
const ANOTHER: usize = 1;
const SETTLE: Duration = Duration::from_secs(15);

fn assert_holders(tb: &Testbed, vip: Ipv4Addr, expected: &[usize], when: &str) {
    let held = wait_holders(&tb.lab.routers, vip.into(), expected, SETTLE);
    assert_eq!(
        held,
        expected,
        "{when}: holders of {vip}\n{}",
        tb.transcripts()
    );
    for &i in expected {
        assert_eq!(addr_count(tb.node(i), vip.into()), 1, "{when}: duplicate");
    }
    assert!(
        wait_ping(&tb.lab.client().ns, vip.into(), SETTLE),
        "{when}: client cannot ping {vip}\n{}",
        tb.transcripts()
    );
}

/// Both start together and each ends up master of its own instance; "one" crashes (link down +
/// SIGKILL) and "another" holds both VIPs; "one" returns and takes VI_1 back (its `state MASTER`
/// clears nopreempt) while VI_2 stays on "another".
fn each_holds_its_own_and_the_survivor_holds_both(which: Impl, subnet: u8) {
    let mut tb = Testbed::seeds(
        "dual",
        subnet,
        &[which, which],
        &[Seed::DualMasterOne, Seed::DualMasterAnother],
    );
    let (vip1, vip2) = (tb.vip1(), tb.vip2());
    let t0 = Instant::now();
    tb.start(ONE);
    tb.start(ANOTHER);
    tb.router(ONE).wait_state("VI_1", State::Master, t0);
    tb.router(ANOTHER).wait_state("VI_2", State::Master, t0);
    assert_holders(&tb, vip1, &[ONE], "both up");
    assert_holders(&tb, vip2, &[ANOTHER], "both up");
    assert_eq!(tb.router(ONE).state("VI_2"), Some(State::Backup));
    assert_eq!(tb.router(ANOTHER).state("VI_1"), Some(State::Backup));

    let crashed = Instant::now();
    tb.crash(ONE);
    tb.router(ANOTHER)
        .wait_state("VI_1", State::Master, crashed);
    // "one" is off the wire with its leftover VIP; only "another" counts now.
    for vip in [vip1, vip2] {
        let count = wait_addr_count(tb.node(ANOTHER), vip.into(), 1, SETTLE);
        assert_eq!(count, 1, "{vip}\n{}", tb.transcripts());
    }
    assert!(
        wait_ping(&tb.lab.client().ns, vip1.into(), SETTLE),
        "client cannot ping {vip1} on the survivor\n{}",
        tb.transcripts()
    );
    assert!(wait_ping(&tb.lab.client().ns, vip2.into(), SETTLE));

    let back = Instant::now();
    tb.revive(ONE);
    tb.router(ONE).wait_state("VI_1", State::Master, back);
    tb.router(ANOTHER).wait_state("VI_1", State::Backup, back);
    assert_holders(&tb, vip1, &[ONE], "after the return");
    assert_holders(&tb, vip2, &[ANOTHER], "after the return");
    assert!(
        !tb.router(ONE).entered_since("VI_2", State::Master, back),
        "the returning node took VI_2\n{}",
        tb.transcripts()
    );
}

#[test]
fn each_holds_its_own_and_the_survivor_holds_both_vrrpd() {
    each_holds_its_own_and_the_survivor_holds_both(Impl::Vrrpd, 31);
}

#[test]
#[ignore = "reference run with keepalived on both routers"]
fn each_holds_its_own_and_the_survivor_holds_both_keepalived() {
    each_holds_its_own_and_the_survivor_holds_both(Impl::Keepalived, 32);
}
