//! End-to-end: the seed's master/backup pair (`examples/master-backup.*.conf`, adapted to the lab
//! by address and check script only) on two routers and a client. Each scenario is written once
//! against `Router` and run with vrrpd on both routers; the `*_keepalived` variants run the same
//! scenario with keepalived 2.2.7 on both, to show the expectations are keepalived's (they are
//! `#[ignore]`d to keep CI short: `cargo test -p vrrpd-tests --test seed_master_backup --
//! --ignored`).

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use vrrpd_tests::capture::Capture;
use vrrpd_tests::observe::{addr_count, holders_stay, wait_holders, wait_ping, xdp_prog_count};
use vrrpd_tests::scenario::Testbed;
use vrrpd_tests::seed::Seed;
use vrrpd_tests::wire::{self, Arp};
use vrrpd_tests::{Impl, State};

const MASTER: usize = 0;
const BACKUP: usize = 1;
const VI: &str = "VI_1";
/// Waiting for the VIP to move, or for a ping to come through.
const SETTLE: Duration = Duration::from_secs(15);
/// Seed timers: advert_int 1 s; the backup (priority 80) times out after
/// 3 × 1 s + (256 − 80)/256 s = 3.69 s.
const ADVERT_INT: Duration = Duration::from_secs(1);
const BACKUP_MASTER_DOWN: Duration = Duration::from_millis(3688);

/// Starts the master, waits for MASTER, then the backup: the order of a normal deployment, and the
/// only one with a deterministic winner (their down timers differ by 80 ms only).
fn bring_up(tb: &mut Testbed, vip: Ipv4Addr) {
    tb.start_master_then_backup(MASTER, BACKUP, VI);
    let held = wait_holders(&tb.lab.routers, vip.into(), &[MASTER], SETTLE);
    assert_eq!(
        held,
        [MASTER],
        "only the master holds {vip}\n{}",
        tb.transcripts()
    );
    assert!(
        wait_ping(&tb.lab.client().ns, vip.into(), SETTLE),
        "client cannot ping {vip}\n{}",
        tb.transcripts()
    );
}

fn seed_pair(tag: &str, subnet: u8, which: Impl) -> Testbed {
    Testbed::seeds(
        tag,
        subnet,
        &[which, which],
        &[Seed::MasterBackupMaster, Seed::MasterBackupBackup],
    )
}

/// Crash the master (link down + SIGKILL): the backup takes over and the client reaches the VIP
/// again. The master comes back: it preempts, because keepalived clears `nopreempt` on a
/// `state MASTER` instance, and the backup returns to BACKUP.
fn crash_failover_and_preemption(which: Impl, subnet: u8) {
    let mut tb = seed_pair("mb-crash", subnet, which);
    let vip = tb.vip1();
    bring_up(&mut tb, vip);

    let crashed = Instant::now();
    tb.crash(MASTER);
    tb.router(BACKUP).wait_state(VI, State::Master, crashed);
    // The crashed master still has the VIP (SIGKILL cleans nothing) but is off the wire.
    assert_eq!(
        addr_count(tb.node(BACKUP), vip.into()),
        1,
        "{}",
        tb.transcripts()
    );
    assert!(
        wait_ping(&tb.lab.client().ns, vip.into(), SETTLE),
        "client cannot ping {vip} after the failover\n{}",
        tb.transcripts()
    );

    let back = Instant::now();
    tb.revive(MASTER);
    tb.router(MASTER).wait_state(VI, State::Master, back);
    tb.router(BACKUP).wait_state(VI, State::Backup, back);
    let held = wait_holders(&tb.lab.routers, vip.into(), &[MASTER], SETTLE);
    assert_eq!(
        held,
        [MASTER],
        "the returning master holds {vip} alone\n{}",
        tb.transcripts()
    );
    assert_eq!(addr_count(tb.node(MASTER), vip.into()), 1, "no duplicate");
    assert!(
        wait_ping(&tb.lab.client().ns, vip.into(), SETTLE),
        "client cannot ping {vip} after the preemption\n{}",
        tb.transcripts()
    );
}

#[test]
fn crash_failover_and_preemption_vrrpd() {
    crash_failover_and_preemption(Impl::Vrrpd, 11);
}

#[test]
#[ignore = "reference run with keepalived on both routers"]
fn crash_failover_and_preemption_keepalived() {
    crash_failover_and_preemption(Impl::Keepalived, 12);
}

/// SIGTERM on the master: it exits 0 after a priority-0 advert and removes the VIP; the backup,
/// hearing priority 0, takes over after Skew_Time instead of Master_Down. The capture shows the
/// priority-0 advert, then the backup's first advert as master, sooner than the down timer could
/// have fired (that is the behaviour checked, not a speed).
fn graceful_stop_hands_over(which: Impl, subnet: u8) {
    let mut tb = seed_pair("mb-term", subnet, which);
    let vip = tb.vip1();
    bring_up(&mut tb, vip);
    let capture = Capture::start(&tb.lab.client().ns, &tb.lab.client().iface);
    let (master_ip, backup_ip) = (
        IpAddr::V4(tb.node(MASTER).ipv4),
        IpAddr::V4(tb.node(BACKUP).ipv4),
    );
    // At least one normal advert in the capture, to measure from.
    capture
        .wait_for(SETTLE, |f| {
            wire::advert(&f.data).is_some_and(|a| a.src == master_ip && a.priority == 100)
        })
        .unwrap_or_else(|| panic!("no advert from the master\n{}", tb.transcripts()));

    let stopped = Instant::now();
    let status = tb.router_mut(MASTER).terminate();
    assert!(
        status.is_some_and(|s| s.success()),
        "SIGTERM: exit {status:?}\n{}",
        tb.transcripts()
    );
    assert_eq!(
        addr_count(tb.node(MASTER), vip.into()),
        0,
        "VIP left on the stopped master\n{}",
        tb.transcripts()
    );
    assert_eq!(
        xdp_prog_count(tb.node(MASTER)),
        0,
        "XDP left on the stopped master\n{}",
        tb.transcripts()
    );
    tb.router(BACKUP).wait_state(VI, State::Master, stopped);
    capture.wait_for(SETTLE, |f| {
        wire::advert(&f.data).is_some_and(|a| a.src == backup_ip)
    });

    let adverts: Vec<(Duration, wire::Advert)> = capture
        .frames()
        .iter()
        .filter_map(|f| wire::advert(&f.data).map(|a| (f.at, a)))
        .filter(|(_, a)| a.vrid == 50)
        .collect();
    let summary = format!("{adverts:#?}\n{}", tb.transcripts());
    let zero = adverts
        .iter()
        .position(|(_, a)| a.src == master_ip && a.priority == 0)
        .unwrap_or_else(|| panic!("no priority-0 advert from the master\n{summary}"));
    let last_normal = adverts[..zero]
        .iter()
        .rev()
        .find(|(_, a)| a.src == master_ip)
        .map(|(t, _)| *t)
        .unwrap_or_else(|| panic!("no advert before the priority-0 one\n{summary}"));
    let (taken_at, first) = adverts[zero..]
        .iter()
        .find(|(_, a)| a.src == backup_ip)
        .unwrap_or_else(|| panic!("the backup never advertised after priority 0\n{summary}"));
    assert_eq!(first.priority, 80, "{summary}");
    assert!(
        !adverts[..zero].iter().any(|(_, a)| a.src == backup_ip),
        "the backup advertised before the master stopped\n{summary}"
    );
    // Without the priority-0 advert the backup would wait for Master_Down after the last normal
    // advert (3.69 s); Skew_Time (0.69 s) after priority 0 lands at most 1.69 s after it.
    assert!(
        *taken_at < last_normal + BACKUP_MASTER_DOWN - ADVERT_INT / 2,
        "took over {:?} after the last normal advert: the down timer, not the priority-0 advert\n{summary}",
        *taken_at - last_normal
    );
    println!(
        "{which}: takeover {:.1} ms after the priority-0 advert (Skew_Time is 687.5 ms)",
        (*taken_at - adverts[zero].0).as_secs_f64() * 1e3
    );
    assert!(
        wait_ping(&tb.lab.client().ns, vip.into(), SETTLE),
        "client cannot ping {vip} after the stop\n{}",
        tb.transcripts()
    );
}

#[test]
fn graceful_stop_hands_over_vrrpd() {
    graceful_stop_hands_over(Impl::Vrrpd, 13);
}

#[test]
#[ignore = "reference run with keepalived on both routers"]
fn graceful_stop_hands_over_keepalived() {
    graceful_stop_hands_over(Impl::Keepalived, 14);
}

/// What the backup's configuration looks like in a tracking scenario.
#[derive(Clone, Copy)]
struct BackupVariant {
    priority: u8,
    nopreempt: bool,
}

/// The seed as shipped: backup priority 80 with nopreempt.
const SEED_BACKUP: BackupVariant = BackupVariant {
    priority: 80,
    nopreempt: true,
};

/// `chk_nginx` starts failing on the master: weight −20 takes it from 100 to 80, logged as
/// `Changing effective priority from 100 to 80`, and its adverts carry 80. Whether the VIP moves
/// is keepalived's election (§2.3): a BACKUP accepts an advert whose priority is ≥ its own, and
/// accepts every advert when it has `nopreempt`. So:
///
/// - seed numbers (backup 80, nopreempt): 80 ≥ 80, and nopreempt anyway → the VIP stays put. The
///   seed's weight is too small to matter, a classic keepalived support question (#942, #2108);
/// - backup 90 with nopreempt: nopreempt accepts the master's 80 → still no move;
/// - backup 90 without nopreempt: 80 < 90 is discarded, the backup times out and takes over; the
///   master then hears 90 > 80 and steps down. When the check recovers the master is back at 100
///   and, being `state MASTER` (nopreempt cleared), preempts again.
fn tracker_failure(which: Impl, subnet: u8, backup: BackupVariant, vip_moves: bool) {
    let mut tb = Testbed::new("mb-chk", subnet, &[which, which], |i, subnet, script| {
        if i == MASTER {
            return Seed::MasterBackupMaster.adapted(subnet, script);
        }
        let mut config = Seed::MasterBackupBackup
            .adapted(subnet, script)
            .replace("priority 80", &format!("priority {}", backup.priority));
        if !backup.nopreempt {
            config = config.replace("    nopreempt\n", "");
        }
        config
    });
    assert_eq!(
        tb.config(BACKUP).contains("nopreempt"),
        backup.nopreempt,
        "variant not applied:\n{}",
        tb.config(BACKUP)
    );
    let vip = tb.vip1();
    bring_up(&mut tb, vip);
    let capture = Capture::start(&tb.lab.client().ns, &tb.lab.client().iface);
    let master_ip = IpAddr::V4(tb.node(MASTER).ipv4);

    let failed = Instant::now();
    tb.checks[MASTER].set_healthy(false);
    tb.router(MASTER).wait_log(&format!(
        "({VI}) Changing effective priority from 100 to 80"
    ));
    capture
        .wait_for(SETTLE, |f| {
            wire::advert(&f.data).is_some_and(|a| a.src == master_ip && a.priority == 80)
        })
        .unwrap_or_else(|| panic!("no advert at priority 80\n{}", tb.transcripts()));

    if vip_moves {
        tb.router(BACKUP).wait_state(VI, State::Master, failed);
        tb.router(MASTER).wait_state(VI, State::Backup, failed);
        let held = wait_holders(&tb.lab.routers, vip.into(), &[BACKUP], SETTLE);
        assert_eq!(held, [BACKUP], "{}", tb.transcripts());

        let recovered = Instant::now();
        tb.checks[MASTER].set_healthy(true);
        tb.router(MASTER).wait_log(&format!(
            "({VI}) Changing effective priority from 80 to 100"
        ));
        tb.router(MASTER).wait_state(VI, State::Master, recovered);
        let held = wait_holders(&tb.lab.routers, vip.into(), &[MASTER], SETTLE);
        assert_eq!(held, [MASTER], "{}", tb.transcripts());
    } else {
        // Longer than the backup's Master_Down plus a check interval: had the backup discarded
        // the adverts, it would have taken over within this window.
        let stayed = holders_stay(
            &tb.lab.routers,
            vip.into(),
            &[MASTER],
            BACKUP_MASTER_DOWN + Duration::from_secs(3),
        );
        assert_eq!(
            stayed,
            Ok(()),
            "the VIP moved while the master was at 80\n{}",
            tb.transcripts()
        );
        assert!(
            !tb.router(BACKUP).entered_since(VI, State::Master, failed),
            "the backup became master\n{}",
            tb.transcripts()
        );
    }
}

#[test]
fn tracker_failure_with_seed_priorities_keeps_the_vip_vrrpd() {
    tracker_failure(Impl::Vrrpd, 15, SEED_BACKUP, false);
}

#[test]
#[ignore = "reference run with keepalived on both routers"]
fn tracker_failure_with_seed_priorities_keeps_the_vip_keepalived() {
    tracker_failure(Impl::Keepalived, 16, SEED_BACKUP, false);
}

#[test]
fn tracker_failure_with_nopreempt_backup_at_90_keeps_the_vip_vrrpd() {
    let backup = BackupVariant {
        priority: 90,
        nopreempt: true,
    };
    tracker_failure(Impl::Vrrpd, 17, backup, false);
}

#[test]
#[ignore = "reference run with keepalived on both routers"]
fn tracker_failure_with_nopreempt_backup_at_90_keeps_the_vip_keepalived() {
    let backup = BackupVariant {
        priority: 90,
        nopreempt: true,
    };
    tracker_failure(Impl::Keepalived, 18, backup, false);
}

#[test]
fn tracker_failure_with_preempting_backup_at_90_moves_the_vip_vrrpd() {
    let backup = BackupVariant {
        priority: 90,
        nopreempt: false,
    };
    tracker_failure(Impl::Vrrpd, 19, backup, true);
}

#[test]
#[ignore = "reference run with keepalived on both routers"]
fn tracker_failure_with_preempting_backup_at_90_moves_the_vip_keepalived() {
    let backup = BackupVariant {
        priority: 90,
        nopreempt: false,
    };
    tracker_failure(Impl::Keepalived, 20, backup, true);
}

/// Both nodes `state BACKUP` with nopreempt (the seed's master turned into a BACKUP): the
/// higher-priority node wins at first, loses its place in a crash, and on its return accepts the
/// lower-priority master's adverts instead of preempting.
fn nopreempt_pair_holds(which: Impl, subnet: u8) {
    let mut tb = Testbed::new("mb-nopre", subnet, &[which, which], |i, subnet, script| {
        if i == MASTER {
            Seed::MasterBackupMaster
                .adapted(subnet, script)
                .replace("state MASTER", "state BACKUP")
        } else {
            Seed::MasterBackupBackup.adapted(subnet, script)
        }
    });
    assert!(!tb.config(MASTER).contains("state MASTER"));
    let vip = tb.vip1();
    bring_up(&mut tb, vip);

    let crashed = Instant::now();
    tb.crash(MASTER);
    tb.router(BACKUP).wait_state(VI, State::Master, crashed);

    let back = Instant::now();
    tb.revive(MASTER);
    tb.router(MASTER)
        .wait_log(&format!("({VI}) Entering BACKUP STATE"));
    // The crash left the VIP on the returning node; its daemon clears it at start-up.
    let held = wait_holders(&tb.lab.routers, vip.into(), &[BACKUP], SETTLE);
    assert_eq!(held, [BACKUP], "{}", tb.transcripts());
    let stayed = holders_stay(
        &tb.lab.routers,
        vip.into(),
        &[BACKUP],
        BACKUP_MASTER_DOWN + Duration::from_secs(3),
    );
    assert_eq!(
        stayed,
        Ok(()),
        "the returning priority-100 node preempted\n{}",
        tb.transcripts()
    );
    assert!(
        !tb.router(MASTER).entered_since(VI, State::Master, back),
        "{}",
        tb.transcripts()
    );
}

#[test]
fn nopreempt_pair_holds_vrrpd() {
    nopreempt_pair_holds(Impl::Vrrpd, 21);
}

#[test]
#[ignore = "reference run with keepalived on both routers"]
fn nopreempt_pair_holds_keepalived() {
    nopreempt_pair_holds(Impl::Keepalived, 22);
}

/// The seed at VRRPv3 with advert_int 0.1 (only `version 3` added and the interval changed): a
/// crash of the master, measured on the client's wire. Prints, never asserts, the numbers:
/// takeover = the new master's first advert − (the old master's last advert + the backup's
/// Master_Down_Interval, 3 × 0.1 + (256 − 80) × 0.1 / 256 = 0.369 s), and the first gratuitous
/// ARP for the VIP after that advert. Asserts what the numbers are made of: the backup advertises
/// and announces the VIP.
fn crash_takeover_numbers(which: Impl, subnet: u8) {
    let mut tb = Testbed::new("mb-num", subnet, &[which, which], |i, subnet, script| {
        let seed = [Seed::MasterBackupMaster, Seed::MasterBackupBackup][i];
        seed.adapted(subnet, script)
            .replace("advert_int 1\n", "advert_int 0.1\n    version 3\n")
    });
    assert!(tb.config(BACKUP).contains("version 3"));
    let vip = tb.vip1();
    bring_up(&mut tb, vip);
    let capture = Capture::start(&tb.lab.client().ns, &tb.lab.client().iface);
    let (master_ip, backup_ip) = (
        IpAddr::V4(tb.node(MASTER).ipv4),
        IpAddr::V4(tb.node(BACKUP).ipv4),
    );
    capture
        .wait_for(SETTLE, |f| {
            wire::advert(&f.data).is_some_and(|a| a.src == master_ip)
        })
        .unwrap_or_else(|| panic!("no advert from the master\n{}", tb.transcripts()));

    let crashed = Instant::now();
    tb.crash(MASTER);
    tb.router(BACKUP).wait_state(VI, State::Master, crashed);
    let backup_mac = vrrpd_tests::observe::mac(tb.node(BACKUP));
    capture
        .wait_for(SETTLE, |f| {
            wire::arp(&f.data).is_some_and(|a| a.eth_src == backup_mac && a.is_gratuitous_for(vip))
        })
        .unwrap_or_else(|| panic!("no gratuitous ARP from the backup\n{}", tb.transcripts()));

    let frames = capture.frames();
    let last_master = frames
        .iter()
        .filter(|f| wire::advert(&f.data).is_some_and(|a| a.src == master_ip))
        .map(|f| f.at)
        .next_back()
        .expect("adverts from the master were captured");
    let first_backup = frames
        .iter()
        .find(|f| wire::advert(&f.data).is_some_and(|a| a.src == backup_ip))
        .map(|f| f.at)
        .unwrap_or_else(|| panic!("no advert from the new master\n{}", tb.transcripts()));
    let first_garp = frames
        .iter()
        .find(|f| {
            wire::arp(&f.data)
                .is_some_and(|a: Arp| a.eth_src == backup_mac && a.is_gratuitous_for(vip))
        })
        .map(|f| f.at)
        .expect("waited for above");
    let master_down = 0.3 + 176.0 * 0.1 / 256.0;
    let takeover = (first_backup.as_secs_f64() - last_master.as_secs_f64() - master_down) * 1e3;
    let garp = (first_garp.as_secs_f64() - first_backup.as_secs_f64()) * 1e3;
    println!(
        "{which}: takeover: {takeover:.2} ms after master_down_interval; first GARP {garp:+.3} ms"
    );
}

#[test]
fn crash_takeover_numbers_vrrpd() {
    crash_takeover_numbers(Impl::Vrrpd, 23);
}

#[test]
fn crash_takeover_numbers_keepalived() {
    crash_takeover_numbers(Impl::Keepalived, 24);
}
