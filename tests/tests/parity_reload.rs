//! Reload parity (keepalived-behaviour.md §2.12): SIGHUP, or `vrrpd reload -p PIDFILE`, on a
//! running master. Instances are matched by (VRID, family, interface, …), so a kept master stays
//! MASTER without a transition, a GARP or a priority-0 advert (checked on the client's side of the
//! bridge); a changed priority or VIP list is in the next advert; a new instance starts from
//! `BACKUP (init)`; a removed one resigns with priority 0 and drops its VIPs; a configuration that
//! does not load changes nothing and is reported with its file:line.

use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use vrrpd_tests::capture::{self, Capture};
use vrrpd_tests::conf::Instance;
use vrrpd_tests::observe::{addr_count, wait_holders, wait_ping};
use vrrpd_tests::recorder::Recorder;
use vrrpd_tests::scenario::Testbed;
use vrrpd_tests::{Impl, State, vrrpd_bin};

const MASTER: usize = 0;
const BACKUP: usize = 1;
const VRID: u8 = 51;
const NEW_VRID: u8 = 52;
const SETTLE: Duration = Duration::from_secs(15);
/// How long to watch for a transition or GARP that should not happen: 10 advert intervals.
const QUIET: Duration = Duration::from_secs(1);

/// VI_1 on both routers, the master at `priority` with `vips`, plus `extra` blocks. No delayed
/// GARP set, so any GARP in the capture is one the reload sent.
fn config(master: bool, priority: u8, vips: &[Ipv4Addr], extra: &str) -> String {
    let mut i = Instance::new("VI_1", VRID)
        .priority(priority)
        .line("garp_master_delay 0");
    if master {
        i = i.master();
    }
    for v in vips {
        i = i.vip(v);
    }
    format!("{i}{extra}")
}

fn vrrpd_reload(tb: &Testbed, router: usize) {
    let pid = tb.router(router).pid_file();
    let out = Command::new(vrrpd_bin())
        .args(["reload", "-p"])
        .arg(&pid)
        .output()
        .expect("runs vrrpd reload");
    assert!(
        out.status.success(),
        "vrrpd reload -p {}: {}\n{}",
        pid.display(),
        String::from_utf8_lossy(&out.stderr),
        tb.transcripts()
    );
}

fn reload_finished(tb: &Testbed, router: usize, since: Instant) {
    tb.router(router).wait_log_since("Reload finished", since);
}

#[test]
fn reload_on_the_master_keeps_state_and_applies_changes() {
    let subnet = 61;
    let mut tb = Testbed::new("reload", subnet, &[Impl::Vrrpd, Impl::Vrrpd], |i, s, _| {
        config(
            i == MASTER,
            if i == MASTER { 150 } else { 100 },
            &[Ipv4Addr::new(10, s, 0, 200)],
            "",
        )
    });
    let (vip, vip_added, vip_new) = (tb.lab.ipv4(200), tb.lab.ipv4(202), tb.lab.ipv4(203));
    let master_ip = IpAddr::V4(tb.node(MASTER).ipv4);
    let t0 = Instant::now();
    tb.start(MASTER);
    tb.router(MASTER).wait_state("VI_1", State::Master, t0);
    tb.start(BACKUP);
    tb.router(BACKUP).wait_log("(VI_1) Entering BACKUP STATE");
    assert_eq!(
        wait_holders(&tb.lab.routers, vip.into(), &[MASTER], SETTLE),
        [MASTER],
        "{}",
        tb.transcripts()
    );
    let capture = Capture::start(&tb.lab.client().ns, &tb.lab.client().iface);

    // 1. The same configuration again, by SIGHUP: nothing visible happens.
    let mark = Instant::now();
    let wall = capture::now();
    tb.router(MASTER).reload();
    reload_finished(&tb, MASTER, mark);
    tb.router(MASTER)
        .wait_log_since("(VI_1) kept MASTER state across reload", mark);
    thread::sleep(QUIET);
    assert_no_transitions(&tb, mark);
    let adverts: Vec<_> = capture
        .adverts(VRID)
        .into_iter()
        .filter(|(at, _, _)| *at >= wall)
        .collect();
    assert!(
        adverts.len() >= 5
            && adverts
                .iter()
                .all(|(_, a, _)| a.src == master_ip && a.priority == 150),
        "only the master's priority-150 adverts after a reload (no priority 0): {:?}\n{}",
        adverts.iter().map(|(_, a, _)| a).collect::<Vec<_>>(),
        tb.transcripts()
    );
    assert_eq!(
        capture.garps(vip).iter().filter(|t| **t >= wall).count(),
        0,
        "a reload that changes nothing sends no GARP\n{}",
        tb.transcripts()
    );

    // 2. Priority 140 and a second VIP, by `vrrpd reload -p PIDFILE`: the next advert has both.
    let new = config(true, 140, &[vip, vip_added], "");
    tb.router(MASTER).write_config(&new);
    let mark = Instant::now();
    let wall = capture::now();
    vrrpd_reload(&tb, MASTER);
    reload_finished(&tb, MASTER, mark);
    tb.router(MASTER)
        .wait_log_since("(VI_1) Changing effective priority from 150 to 140", mark);
    let done = capture::now();
    thread::sleep(QUIET);
    let adverts: Vec<_> = capture
        .adverts(VRID)
        .into_iter()
        .filter(|(at, _, _)| *at >= wall)
        .collect();
    let first_new = adverts
        .iter()
        .position(|(_, a, _)| a.priority == 140)
        .unwrap_or_else(|| {
            panic!(
                "no priority-140 advert after the reload\n{}",
                tb.transcripts()
            )
        });
    for (at, a, frame) in &adverts[first_new..] {
        assert_eq!(
            a.priority,
            140,
            "an old priority after the new one\n{}",
            tb.transcripts()
        );
        assert_eq!(
            vrrpd_tests::wire::advert_addrs(&frame.data),
            Some(vec![IpAddr::V4(vip), IpAddr::V4(vip_added)]),
            "advert at {at:?} does not carry the new VIP list\n{}",
            tb.transcripts()
        );
    }
    assert!(
        adverts[..first_new].iter().all(|(at, _, _)| *at <= done),
        "old adverts after the reload finished\n{}",
        tb.transcripts()
    );
    assert!(
        adverts
            .iter()
            .all(|(_, a, _)| a.priority != 0 && a.src == master_ip)
    );
    assert_eq!(
        addr_count(tb.node(MASTER), vip_added.into()),
        1,
        "{}",
        tb.transcripts()
    );
    assert!(
        wait_ping(&tb.lab.client().ns, vip_added.into(), SETTLE),
        "client cannot ping the added VIP {vip_added}\n{}",
        tb.transcripts()
    );
    assert_eq!(
        capture.garps(vip).iter().filter(|t| **t >= wall).count(),
        0,
        "the kept VIP is not announced again\n{}",
        tb.transcripts()
    );
    // The added VIP is (which also shows the capture sees GARPs at all).
    assert!(
        capture.garps(vip_added).iter().any(|t| *t >= wall),
        "no GARP for the added VIP {vip_added}\n{}",
        tb.transcripts()
    );
    assert_no_transitions(&tb, mark);

    // 3. A new instance starts from BACKUP (init) and becomes master (nobody else has VRID 52).
    let added = Instance::new("VI_2", NEW_VRID)
        .priority(120)
        .vip(vip_new)
        .to_string();
    tb.router(MASTER)
        .write_config(&config(true, 140, &[vip, vip_added], &added));
    let mark = Instant::now();
    tb.router(MASTER).reload();
    tb.router(MASTER)
        .wait_log_since("(VI_2) Entering BACKUP STATE (init)", mark);
    tb.router(MASTER).wait_state("VI_2", State::Master, mark);
    assert_eq!(
        wait_holders(&tb.lab.routers, vip_new.into(), &[MASTER], SETTLE),
        [MASTER],
        "{}",
        tb.transcripts()
    );
    assert!(
        !tb.router(MASTER)
            .transitions_since(mark)
            .iter()
            .any(|t| t.instance == "VI_1"),
        "VI_1 moved when VI_2 was added\n{}",
        tb.transcripts()
    );

    // 4. Removing it again: a priority-0 advert for VRID 52, its VIP goes, VI_1 stays.
    tb.router(MASTER).write_config(&new);
    let mark = Instant::now();
    let wall = capture::now();
    tb.router(MASTER).reload();
    reload_finished(&tb, MASTER, mark);
    let zero = capture.wait_for(SETTLE, |f| {
        f.at >= wall
            && vrrpd_tests::wire::advert(&f.data)
                .is_some_and(|a| a.vrid == NEW_VRID && a.priority == 0 && a.src == master_ip)
    });
    assert!(
        zero.is_some(),
        "no priority-0 advert from the removed instance\n{}",
        tb.transcripts()
    );
    assert_eq!(
        wait_holders(&tb.lab.routers, vip_new.into(), &[], SETTLE),
        [] as [usize; 0],
        "the removed instance's VIP stays\n{}",
        tb.transcripts()
    );
    assert_eq!(addr_count(tb.node(MASTER), vip.into()), 1);
    thread::sleep(QUIET);
    assert!(
        capture
            .adverts(NEW_VRID)
            .iter()
            .all(|(at, a, _)| *at < wall || a.priority == 0),
        "the removed instance still advertises\n{}",
        tb.transcripts()
    );

    // 5. A configuration that does not load: the error names file:line, the state stays.
    let broken = new.replace(
        &format!("virtual_router_id {VRID}"),
        "virtual_router_id 300",
    );
    tb.router(MASTER).write_config(&broken);
    let mark = Instant::now();
    let wall = capture::now();
    tb.router(MASTER).reload();
    let conf = tb.router(MASTER).config_path();
    let line = tb
        .router(MASTER)
        .wait_log_since(&format!("{}:4:", conf.display()), mark);
    assert!(
        line.text.contains("ERROR") || line.text.contains("error"),
        "{}",
        line.text
    );
    tb.router(MASTER)
        .wait_log_since("keeping the running configuration", mark);
    thread::sleep(QUIET);
    assert_no_transitions(&tb, mark);
    let adverts: Vec<_> = capture
        .adverts(VRID)
        .into_iter()
        .filter(|(at, _, _)| *at >= wall)
        .collect();
    assert!(
        adverts.len() >= 5 && adverts.iter().all(|(_, a, _)| a.priority == 140),
        "the master keeps advertising as before the broken reload\n{}",
        tb.transcripts()
    );
    assert!(
        wait_ping(&tb.lab.client().ns, vip.into(), SETTLE),
        "{}",
        tb.transcripts()
    );
}

/// keepalived §2.12 / vrrp_notify.c: an instance a reload removes notifies FAULT (the old way,
/// kept by keepalived for compatibility), or DELETED when it has `notify_deleted`; the generic
/// `notify` gets `INSTANCE NAME FAULT|DELETED PRIORITY`. The instance that stays notifies nothing.
#[test]
fn removed_instances_notify_fault_or_deleted() {
    let rec = Recorder::new();
    let notified = |name: &str, vrid: u8, s: u8, host: u8| {
        Instance::new(name, vrid)
            .vip(format!("10.{s}.0.{host}"))
            .line(format!("notify {}", rec.call(name)))
    };
    let kept = |s: u8| notified("VI_3", 55, s, 203).to_string();
    let mut tb = Testbed::new("reload-del", 66, &[Impl::Vrrpd], |_, s, _| {
        format!(
            "{}{}{}",
            notified("VI_1", VRID, s, 200),
            notified("VI_2", NEW_VRID, s, 201).line("notify_deleted"),
            kept(s)
        )
    });
    let t0 = Instant::now();
    tb.start(MASTER);
    for vi in ["VI_1", "VI_2", "VI_3"] {
        tb.router(MASTER).wait_state(vi, State::Master, t0);
        rec.wait(vi, 2, &tb);
    }
    tb.router(MASTER).write_config(&kept(tb.lab.subnet()));
    let mark = Instant::now();
    tb.router(MASTER).reload();
    reload_finished(&tb, MASTER, mark);
    assert_eq!(
        rec.wait("VI_1", 3, &tb)[2],
        "INSTANCE VI_1 FAULT 100 uid=0",
        "{}",
        tb.transcripts()
    );
    assert_eq!(
        rec.wait("VI_2", 3, &tb)[2],
        "INSTANCE VI_2 DELETED 100 uid=0",
        "{}",
        tb.transcripts()
    );
    thread::sleep(QUIET);
    assert_eq!(rec.of("VI_3").len(), 2, "{:#?}", rec.lines());
}

/// A reload that changes `advert_int` (v3, 0.1 s → 0.3 s) on the master: the adverts after it
/// carry 30 centiseconds and come 300 ms apart, with no transition on either router.
#[test]
fn reload_with_a_changed_advert_int() {
    let conf = |i: usize, s: u8, int: &str| {
        let vi = Instance::new("VI_1", VRID)
            .advert_int(int)
            .vip(format!("10.{s}.0.200"));
        if i == MASTER {
            vi.master().priority(150).to_string()
        } else {
            vi.to_string()
        }
    };
    let mut tb = Testbed::new("reload-int", 67, &[Impl::Vrrpd, Impl::Vrrpd], |i, s, _| {
        conf(i, s, "0.1")
    });
    let master_ip = IpAddr::V4(tb.node(MASTER).ipv4);
    let t0 = Instant::now();
    tb.start(MASTER);
    tb.router(MASTER).wait_state("VI_1", State::Master, t0);
    tb.start(BACKUP);
    tb.router(BACKUP).wait_log("(VI_1) Entering BACKUP STATE");
    let capture = Capture::start(&tb.lab.client().ns, &tb.lab.client().iface);
    thread::sleep(Duration::from_millis(300));
    tb.router(MASTER)
        .write_config(&conf(MASTER, tb.lab.subnet(), "0.3"));
    let mark = Instant::now();
    let wall = capture::now();
    tb.router(MASTER).reload();
    reload_finished(&tb, MASTER, mark);
    let done = capture::now();
    thread::sleep(Duration::from_millis(1500));
    let adverts: Vec<(Duration, u16)> = capture
        .adverts(VRID)
        .into_iter()
        .filter(|(_, a, _)| a.src == master_ip)
        .map(|(at, a, _)| (at, a.advert_int))
        .collect();
    assert!(
        adverts.iter().any(|(at, _)| *at < wall)
            && adverts.iter().all(|(at, int)| *at >= wall || *int == 10),
        "0.1 s before the reload: {adverts:?}"
    );
    // The first advert with the new interval is the one the reload sends; from it on, only 30.
    let first = adverts
        .iter()
        .position(|(_, int)| *int == 30)
        .unwrap_or_else(|| panic!("no 0.3 s advert: {adverts:?}\n{}", tb.transcripts()));
    assert!(adverts[first].0 <= done, "{adverts:?}");
    let after = &adverts[first..];
    assert!(
        after.len() >= 5 && after.iter().all(|(_, int)| *int == 30),
        "after the reload: {after:?}\n{}",
        tb.transcripts()
    );
    for pair in after[1..].windows(2) {
        let gap = pair[1].0 - pair[0].0;
        assert!(
            gap >= Duration::from_millis(280) && gap <= Duration::from_millis(400),
            "{gap:?} between adverts, advert_int is 0.3 s: {after:?}\n{}",
            tb.transcripts()
        );
    }
    assert_no_transitions(&tb, mark);
}

/// Neither router changed state since `mark`.
fn assert_no_transitions(tb: &Testbed, mark: Instant) {
    for r in [MASTER, BACKUP] {
        assert_eq!(
            tb.router(r).transitions_since(mark),
            [],
            "router {r} changed state since the reload\n{}",
            tb.transcripts()
        );
    }
}
