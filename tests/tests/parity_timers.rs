//! Timer and option parity (keepalived-behaviour.md §2.2, §2.4, §2.5, §2.6, §2.7), vrrpd pairs at
//! advert_int 0.1 s: the GARP bursts at MASTER (`vrrp_garp_master_repeat` now and again after
//! `vrrp_garp_master_delay`, counted in a capture; a spaced burst cut short when the master steps
//! down), `preempt_delay` holding a higher-priority backup back, `vrrp_startup_delay` postponing
//! the first state, `down_timer_adverts` stretching Master_Down, and `v3_checksum_as_v2` on both
//! sides (adverts accepted, no takeover) or one side (checksum mismatch: each rejects the other).
//! The windows asserted are the configured delays with the protocol's own margins, not speeds.

use std::net::IpAddr;
use std::thread;
use std::time::{Duration, Instant};

use vrrpd_tests::capture::Capture;
use vrrpd_tests::conf::{Instance, global_defs};
use vrrpd_tests::observe::wait_holders;
use vrrpd_tests::scenario::Testbed;
use vrrpd_tests::{Impl, State};

const VI: &str = "VI_1";
const VRID: u8 = 63;
const SETTLE: Duration = Duration::from_secs(15);

fn vrrpd_pair(tag: &str, subnet: u8, config: impl Fn(usize, u8) -> String) -> Testbed {
    Testbed::new(tag, subnet, &[Impl::Vrrpd, Impl::Vrrpd], |i, s, _| {
        config(i, s)
    })
}

#[test]
fn garp_master_repeat_and_delay() {
    let mut tb = Testbed::new("garp", 93, &[Impl::Vrrpd], |_, s, _| {
        format!(
            "{}{}",
            global_defs(&["vrrp_garp_master_repeat 3", "vrrp_garp_master_delay 1"]),
            Instance::new(VI, VRID).vip(format!("10.{s}.0.200"))
        )
    });
    let vip = tb.lab.ipv4(200);
    let capture = Capture::start(&tb.lab.client().ns, &tb.lab.client().iface);
    let t0 = Instant::now();
    tb.start(0);
    tb.router(0).wait_state(VI, State::Master, t0);
    // The delayed set comes 1 s later; then nothing (no refresh configured).
    thread::sleep(Duration::from_millis(2500));
    let garps = capture.garps(vip);
    assert_eq!(
        garps.len(),
        6,
        "3 GARPs at MASTER and 3 after garp_master_delay: {garps:?}\n{}",
        tb.transcripts()
    );
    let first = garps[..3].iter().max().unwrap();
    let second = garps[3..].iter().min().unwrap();
    let gap = *second - *first;
    assert!(
        gap >= Duration::from_millis(900) && gap <= Duration::from_millis(1500),
        "second burst {gap:?} after the first, garp_master_delay is 1 s\n{}",
        tb.transcripts()
    );
}

/// Router 1 (priority 100) is master; router 0 (150, `preempt_delay 1`) starts: it accepts the
/// lower-priority adverts for 1 s before letting its down timer run, so it takes over no sooner
/// than 1 s after it entered BACKUP (without the delay: Master_Down, 0.34 s).
#[test]
fn preempt_delay_holds_a_higher_priority_backup() {
    let mut tb = vrrpd_pair("preempt", 94, |i, s| {
        let base = Instance::new(VI, VRID).vip(format!("10.{s}.0.200"));
        if i == 0 {
            base.priority(150).line("preempt_delay 1").to_string()
        } else {
            base.to_string()
        }
    });
    let t0 = Instant::now();
    tb.start(1);
    tb.router(1).wait_state(VI, State::Master, t0);
    tb.start(0);
    let backup = tb
        .router(0)
        .wait_log(&format!("({VI}) Entering BACKUP STATE (init)"));
    let master = tb.router(0).wait_state(VI, State::Master, t0);
    let held = master.at - backup.at;
    assert!(
        held >= Duration::from_secs(1),
        "took over {held:?} after start-up, inside preempt_delay 1 s\n{}",
        tb.transcripts()
    );
    tb.router(1).wait_state(VI, State::Backup, t0);
}

#[test]
fn startup_delay_postpones_the_first_state() {
    let mut tb = Testbed::new("startup", 95, &[Impl::Vrrpd], |_, s, _| {
        format!(
            "{}{}",
            global_defs(&["vrrp_startup_delay 1"]),
            Instance::new(VI, VRID).vip(format!("10.{s}.0.200"))
        )
    });
    tb.start(0);
    let starting = tb.router(0).wait_log("Starting vrrpd");
    let init = tb
        .router(0)
        .wait_log(&format!("({VI}) Entering BACKUP STATE (init)"));
    assert!(
        init.at - starting.at >= Duration::from_secs(1),
        "init {:?} after start, vrrp_startup_delay is 1 s\n{}",
        init.at - starting.at,
        tb.transcripts()
    );
}

/// `down_timer_adverts 10` on the backup: after the master crashes, it waits 10 × 0.1 s + skew
/// instead of 3 × 0.1 s + skew.
#[test]
fn down_timer_adverts_stretches_master_down() {
    let mut tb = vrrpd_pair("downtimer", 96, |i, s| {
        let base = Instance::new(VI, VRID).vip(format!("10.{s}.0.200"));
        if i == 0 {
            base.master().priority(150).to_string()
        } else {
            base.line("down_timer_adverts 10").to_string()
        }
    });
    let t0 = Instant::now();
    tb.start(0);
    tb.router(0).wait_state(VI, State::Master, t0);
    tb.start(1);
    tb.router(1)
        .wait_log(&format!("({VI}) Entering BACKUP STATE"));
    thread::sleep(Duration::from_millis(500));
    let crashed = Instant::now();
    tb.crash(0);
    let master = tb.router(1).wait_state(VI, State::Master, crashed);
    let took = master.at - crashed;
    assert!(
        took >= Duration::from_millis(900),
        "took over {took:?} after the crash; Master_Down is 10 × 100 ms + skew\n{}",
        tb.transcripts()
    );
}

/// Router 0 master, then router 1 started; returns the lab and when router 1 was started.
fn checksum_pair(subnet: u8, as_v2: [bool; 2]) -> (Testbed, Instant) {
    let mut tb = vrrpd_pair("cksum", subnet, |i, s| {
        let mut base = Instance::new(VI, VRID).vip(format!("10.{s}.0.200"));
        if as_v2[i] {
            base = base.line("v3_checksum_as_v2");
        }
        if i == 0 {
            base.master().priority(150).to_string()
        } else {
            base.to_string()
        }
    });
    let t0 = Instant::now();
    tb.start(0);
    tb.router(0).wait_state(VI, State::Master, t0);
    let started = Instant::now();
    tb.start(1);
    tb.router(1)
        .wait_log(&format!("({VI}) Entering BACKUP STATE"));
    (tb, started)
}

#[test]
fn v3_checksum_as_v2_on_both_sides_agrees() {
    let (tb, _) = checksum_pair(97, [true, true]);
    let since = Instant::now();
    thread::sleep(Duration::from_secs(1));
    assert!(
        !tb.router(1).entered_since(VI, State::Master, since),
        "{}",
        tb.transcripts()
    );
    let vip: IpAddr = tb.lab.ipv4(200).into();
    assert_eq!(
        wait_holders(&tb.lab.routers, vip, &[0], SETTLE),
        [0],
        "{}",
        tb.transcripts()
    );
}

#[test]
fn v3_checksum_as_v2_on_one_side_is_a_checksum_error() {
    let (tb, started) = checksum_pair(98, [true, false]);
    tb.router(1).wait_state(VI, State::Master, started);
    tb.router(1).wait_log("checksum");
    let vip: IpAddr = tb.lab.ipv4(200).into();
    assert_eq!(
        wait_holders(&tb.lab.routers, vip, &[0, 1], SETTLE),
        [0, 1],
        "{}",
        tb.transcripts()
    );
}

/// Asserts `times` (sorted) are `count` frames at least `gap` apart (less 1 ms for the jitter of
/// the receive timestamps).
fn assert_spaced(what: &str, mut times: Vec<Duration>, count: usize, gap: Duration, tb: &Testbed) {
    times.sort();
    assert_eq!(
        times.len(),
        count,
        "{what}: {times:?}\n{}",
        tb.transcripts()
    );
    for pair in times.windows(2) {
        assert!(
            pair[1] - pair[0] >= gap - Duration::from_millis(1),
            "{what}: {:?} between two frames, the interval is {gap:?}: {times:?}\n{}",
            pair[1] - pair[0],
            tb.transcripts()
        );
    }
}

/// `vrrp_garp_interval 0.1`: a master with two VIPs sends its `garp_master_repeat 2` burst (two
/// GARPs per VIP), every GARP on the interface at least 100 ms after the one before, the first
/// round's too.
#[test]
fn garp_interval_spaces_the_burst() {
    let mut tb = Testbed::new("garp-intvl", 99, &[Impl::Vrrpd], |_, s, _| {
        format!(
            "{}{}",
            global_defs(&[
                "vrrp_garp_interval 0.1",
                "vrrp_garp_master_repeat 2",
                "vrrp_garp_master_delay 0",
            ]),
            Instance::new(VI, VRID)
                .vip(format!("10.{s}.0.200"))
                .vip(format!("10.{s}.0.201"))
        )
    });
    let vips = [tb.lab.ipv4(200), tb.lab.ipv4(201)];
    let capture = Capture::start(&tb.lab.client().ns, &tb.lab.client().iface);
    let t0 = Instant::now();
    tb.start(0);
    tb.router(0).wait_state(VI, State::Master, t0);
    let garps = || -> Vec<Duration> { vips.iter().flat_map(|v| capture.garps(*v)).collect() };
    let deadline = Instant::now() + SETTLE;
    while garps().len() < 4 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
    }
    // Nothing more comes: no delayed set, no refresh.
    thread::sleep(Duration::from_millis(300));
    for v in vips {
        assert_eq!(capture.garps(v).len(), 2, "two GARPs for {v}");
    }
    assert_spaced("GARPs", garps(), 4, Duration::from_millis(100), &tb);
}

/// An IPv6 instance announces its VIP with unsolicited neighbour advertisements:
/// `vrrp_garp_master_repeat 3` of them (S flag clear, target the VIP), spaced by
/// `vrrp_gna_interval 0.1`.
#[test]
fn unsolicited_na_burst_of_an_ipv6_instance() {
    let mut tb = Testbed::new("gna", 100, &[Impl::Vrrpd], |_, s, _| {
        format!(
            "{}{}",
            global_defs(&[
                "vrrp_gna_interval 0.1",
                "vrrp_garp_master_repeat 3",
                "vrrp_garp_master_delay 0",
            ]),
            Instance::new(VI, VRID).vip(format!("fd00:{s}::200/64"))
        )
    });
    let vip = tb.lab.ipv6(200);
    let capture = Capture::start(&tb.lab.client().ns, &tb.lab.client().iface);
    let t0 = Instant::now();
    tb.start(0);
    tb.router(0).wait_state(VI, State::Master, t0);
    let nas = || -> Vec<Duration> {
        capture
            .frames()
            .iter()
            .filter(|f| {
                vrrpd_tests::wire::neighbor_advert(&f.data)
                    .is_some_and(|na| na.target == vip && !na.solicited)
            })
            .map(|f| f.at)
            .collect()
    };
    let deadline = Instant::now() + SETTLE;
    while nas().len() < 3 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
    }
    thread::sleep(Duration::from_millis(300));
    assert_spaced("unsolicited NAs", nas(), 3, Duration::from_millis(100), &tb);
}

/// keepalived removes the VIPs when a master steps down (§2.6), and announces them no more. A
/// burst spaced by `vrrp_garp_interval` (here 20 frames, 2 s) outlasts a mastership that a
/// higher-priority router ends at once: what is left of it must not be sent, or neighbours would
/// move the VIPs back to the old master.
#[test]
fn a_garp_burst_stops_when_the_master_steps_down() {
    let mut tb = vrrpd_pair("garp-stop", 98, |i, s| {
        let vi = Instance::new(VI, VRID)
            .vip(format!("10.{s}.0.200"))
            .vip(format!("10.{s}.0.201"));
        if i == 1 {
            return vi.priority(200).to_string();
        }
        format!(
            "{}{vi}",
            global_defs(&[
                "vrrp_garp_interval 0.1",
                "vrrp_garp_master_repeat 10",
                "vrrp_garp_master_delay 0",
            ]),
        )
    });
    let vips = [tb.lab.ipv4(200), tb.lab.ipv4(201)];
    let old_master = vrrpd_tests::observe::mac(tb.node(0));
    let capture = Capture::start(&tb.lab.client().ns, &tb.lab.client().iface);
    let from_old_master = |since: Duration| {
        capture
            .frames()
            .iter()
            .filter(|f| f.at >= since)
            .filter_map(|f| vrrpd_tests::wire::arp(&f.data))
            .filter(|a| a.eth_src == old_master && vips.iter().any(|v| a.is_gratuitous_for(*v)))
            .count()
    };
    let t0 = Instant::now();
    tb.start(0);
    tb.router(0).wait_state(VI, State::Master, t0);
    let deadline = Instant::now() + SETTLE;
    while from_old_master(Duration::ZERO) < 2 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    let taken = Instant::now();
    tb.start(1);
    tb.router(0).wait_state(VI, State::Backup, taken);
    // A frame already on its way when the step-down came may arrive a little later.
    let stepped_down = vrrpd_tests::capture::now() + Duration::from_millis(50);
    let burst_sent = from_old_master(Duration::ZERO);
    assert!(
        burst_sent < 20,
        "the burst ({burst_sent} frames) was over before the step-down: nothing to test\n{}",
        tb.transcripts()
    );
    // The rest of the burst would have taken over a second.
    thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        from_old_master(stepped_down),
        0,
        "GARPs from the old master after it entered BACKUP\n{}",
        tb.transcripts()
    );
}
