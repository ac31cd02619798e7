//! Tracking parity (keepalived-behaviour.md §2.1, §2.12): a `track_interface` (a dummy link in the
//! master's namespace) going down puts the master in FAULT, which it announces with a priority-0
//! advert, and the peer takes over; when the link returns the instance leaves FAULT through BACKUP
//! and preempts again. With a weight the link only lowers the priority, which moves the VIP when it
//! crosses the peer's. A `track_file` value times its weight (read on inotify) moves the VIP.
//! The `*_keepalived` variants run the same scenarios with keepalived 2.2.7 on both routers.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use vrrpd_tests::capture::{self, Capture};
use vrrpd_tests::conf::Instance;
use vrrpd_tests::observe::wait_holders;
use vrrpd_tests::scenario::Testbed;
use vrrpd_tests::{Impl, State, TempDir};

const MASTER: usize = 0;
const PEER: usize = 1;
const VRID: u8 = 53;
const VI: &str = "VI_1";
const SETTLE: Duration = Duration::from_secs(15);
const TRACKED: &str = "trk0";

/// Starts router 0, waits for it to enter `first`, then starts router 1 and waits for BACKUP.
fn bring_up(tb: &mut Testbed, first: State) {
    let t0 = Instant::now();
    tb.start(MASTER);
    match first {
        State::Master => {
            tb.router(MASTER).wait_state(VI, State::Master, t0);
        }
        _ => {
            tb.router(MASTER)
                .wait_log(&format!("({VI}) Entering BACKUP STATE"));
        }
    }
    tb.start(PEER);
    tb.router(PEER)
        .wait_log(&format!("({VI}) Entering BACKUP STATE"));
}

/// The tracked link: one end of a veth pair inside the router's namespace (the kernel here has no
/// dummy driver), both ends up.
fn add_tracked_link(tb: &Testbed, router: usize) {
    let ns = &tb.node(router).ns;
    ns.exec(&[
        "ip", "link", "add", TRACKED, "type", "veth", "peer", "name", "trk1",
    ]);
    ns.link_up("trk1");
    ns.link_up(TRACKED);
}

fn track_interface_fault(which: Impl, subnet: u8) {
    let mut tb = Testbed::new("trk-if", subnet, &[which, which], |i, s, _| {
        let base = Instance::new(VI, VRID).vip(format!("10.{s}.0.200"));
        if i == MASTER {
            base.master()
                .priority(150)
                .line(format!("track_interface {{\n        {TRACKED}\n    }}"))
                .to_string()
        } else {
            base.to_string()
        }
    });
    add_tracked_link(&tb, MASTER);
    let vip: IpAddr = tb.lab.ipv4(200).into();
    let master_ip: IpAddr = tb.node(MASTER).ipv4.into();
    bring_up(&mut tb, State::Master);
    let capture = Capture::start(&tb.lab.client().ns, &tb.lab.client().iface);

    let down = Instant::now();
    let wall = capture::now();
    tb.node(MASTER).ns.link_down(TRACKED);
    tb.router(MASTER).wait_state(VI, State::Fault, down);
    tb.router(PEER).wait_state(VI, State::Master, down);
    assert_eq!(
        wait_holders(&tb.lab.routers, vip, &[PEER], SETTLE),
        [PEER],
        "{}",
        tb.transcripts()
    );
    let ours: Vec<u8> = capture
        .adverts(VRID)
        .iter()
        .filter(|(at, a, _)| *at >= wall && a.src == master_ip)
        .map(|(_, a, _)| a.priority)
        .collect();
    // keepalived 2.2.7 sends the priority-0 advert twice; vrrpd once. A regular advert may still
    // leave between `wall` and the daemon hearing of the link (the `ip` command takes ms).
    let resigned = ours.iter().position(|p| *p == 0);
    assert!(
        resigned.is_some_and(|i| ours[i..].iter().all(|p| *p == 0) && i <= 1),
        "entering FAULT the master resigns with priority 0 (after at most one advert already due), then is silent: {ours:?}\n{}",
        tb.transcripts()
    );

    let up = Instant::now();
    tb.node(MASTER).ns.link_up(TRACKED);
    tb.router(MASTER).wait_state(VI, State::Master, up);
    tb.router(PEER).wait_state(VI, State::Backup, up);
    let states: Vec<State> = tb
        .router(MASTER)
        .transitions_since(up)
        .into_iter()
        .filter(|t| t.instance == VI)
        .map(|t| t.state)
        .collect();
    assert_eq!(
        states,
        [State::Backup, State::Master],
        "leaving FAULT goes through BACKUP\n{}",
        tb.transcripts()
    );
    assert_eq!(
        wait_holders(&tb.lab.routers, vip, &[MASTER], SETTLE),
        [MASTER],
        "{}",
        tb.transcripts()
    );
}

#[test]
fn track_interface_fault_vrrpd() {
    track_interface_fault(Impl::Vrrpd, 71);
}

#[test]
#[ignore = "reference run with keepalived on both routers"]
fn track_interface_fault_keepalived() {
    track_interface_fault(Impl::Keepalived, 71);
}

/// `track_interface { trk0 weight -60 }`: 150 → 90 when it goes down, below the peer's 100.
fn track_interface_weight(which: Impl, subnet: u8) {
    let mut tb = Testbed::new("trk-w", subnet, &[which, which], |i, s, _| {
        let base = Instance::new(VI, VRID).vip(format!("10.{s}.0.200"));
        if i == MASTER {
            base.master()
                .priority(150)
                .line(format!(
                    "track_interface {{\n        {TRACKED} weight -60\n    }}"
                ))
                .to_string()
        } else {
            base.to_string()
        }
    });
    add_tracked_link(&tb, MASTER);
    let vip: IpAddr = tb.lab.ipv4(200).into();
    let master_ip: IpAddr = tb.node(MASTER).ipv4.into();
    bring_up(&mut tb, State::Master);
    let capture = Capture::start(&tb.lab.client().ns, &tb.lab.client().iface);

    let down = Instant::now();
    tb.node(MASTER).ns.link_down(TRACKED);
    tb.router(MASTER).wait_log_since(
        &format!("({VI}) Changing effective priority from 150 to 90"),
        down,
    );
    tb.router(PEER).wait_state(VI, State::Master, down);
    tb.router(MASTER).wait_state(VI, State::Backup, down);
    assert!(
        !tb.router(MASTER).entered_since(VI, State::Fault, down),
        "a weighted tracker never causes FAULT\n{}",
        tb.transcripts()
    );
    assert!(
        capture
            .adverts(VRID)
            .iter()
            .any(|(_, a, _)| a.src == master_ip && a.priority == 90),
        "the master's adverts carry 90\n{}",
        tb.transcripts()
    );
    assert_eq!(
        wait_holders(&tb.lab.routers, vip, &[PEER], SETTLE),
        [PEER],
        "{}",
        tb.transcripts()
    );

    let up = Instant::now();
    tb.node(MASTER).ns.link_up(TRACKED);
    tb.router(MASTER).wait_log_since(
        &format!("({VI}) Changing effective priority from 90 to 150"),
        up,
    );
    tb.router(MASTER).wait_state(VI, State::Master, up);
    assert_eq!(
        wait_holders(&tb.lab.routers, vip, &[MASTER], SETTLE),
        [MASTER],
        "{}",
        tb.transcripts()
    );
}

#[test]
fn track_interface_weight_vrrpd() {
    track_interface_weight(Impl::Vrrpd, 72);
}

#[test]
#[ignore = "reference run with keepalived on both routers"]
fn track_interface_weight_keepalived() {
    track_interface_weight(Impl::Keepalived, 72);
}

/// `track_file` value × weight: router 0 (priority 100) tracks a file with weight 4; router 1 has
/// 110. The file says 0, then 5 (→ 120, router 0 preempts), then 0 again (→ 100, router 1 does).
fn track_file(which: Impl, subnet: u8) {
    let dir = TempDir::new("trk-file");
    let file = dir.write("weight", "0\n");
    let mut tb = Testbed::new("trk-f", subnet, &[which, which], |i, s, _| {
        let base = Instance::new(VI, VRID).vip(format!("10.{s}.0.200"));
        if i == MASTER {
            format!(
                "vrrp_track_file tf {{\n    file {}\n}}\n{}",
                file.display(),
                base.line("track_file {\n        tf weight 4\n    }")
            )
        } else {
            base.priority(110).to_string()
        }
    });
    let vip: IpAddr = tb.lab.ipv4(200).into();
    let t0 = Instant::now();
    tb.start(PEER);
    tb.router(PEER).wait_state(VI, State::Master, t0);
    tb.start(MASTER);
    tb.router(MASTER)
        .wait_log(&format!("({VI}) Entering BACKUP STATE"));
    assert_eq!(
        wait_holders(&tb.lab.routers, vip, &[PEER], SETTLE),
        [PEER],
        "{}",
        tb.transcripts()
    );

    // From before the raise: the last priority-120 advert must be in it.
    let capture = Capture::start(&tb.lab.client().ns, &tb.lab.client().iface);
    let raised = Instant::now();
    dir.write("weight", "5\n");
    tb.router(MASTER).wait_log_since(
        &format!("({VI}) Changing effective priority from 100 to 120"),
        raised,
    );
    tb.router(MASTER).wait_state(VI, State::Master, raised);
    tb.router(PEER).wait_state(VI, State::Backup, raised);
    assert_eq!(
        wait_holders(&tb.lab.routers, vip, &[MASTER], SETTLE),
        [MASTER],
        "{}",
        tb.transcripts()
    );

    // Long enough at 120 for the peer, a quiet backup, to count repeats it has not read yet
    // when the priority falls: it reads them once per Master_Down_Interval, 3 adverts, in step
    // with the master's first 120 advert, so 11.5 intervals from then falls between two reads.
    std::thread::sleep(Duration::from_millis(1150));
    let lowered = Instant::now();
    dir.write("weight", "0\n");
    tb.router(MASTER).wait_log_since(
        &format!("({VI}) Changing effective priority from 120 to 100"),
        lowered,
    );
    tb.router(PEER).wait_state(VI, State::Master, lowered);
    // RFC 5798 §6.4.2: the lower-priority adverts do not reset the peer's Master_Down_Timer, so
    // it runs from the last priority-120 one: 3 × 0.1 s + Skew_Time (256 − 110) × 0.1 s / 256.
    // Sooner would mean the peer lost track of adverts that came before the priority fell.
    let adverts = capture.adverts(VRID);
    let (master_ip, peer_ip): (IpAddr, IpAddr) =
        (tb.node(MASTER).ipv4.into(), tb.node(PEER).ipv4.into());
    let last_high = adverts
        .iter()
        .filter(|(_, a, _)| a.src == master_ip && a.priority == 120)
        .map(|(at, _, _)| *at)
        .max()
        .unwrap_or_else(|| panic!("no priority-120 advert captured\n{}", tb.transcripts()));
    let first_peer = wait_advert(&capture, peer_ip, 110, last_high, &tb);
    let master_down = Duration::from_millis(300) + Duration::from_micros(146 * 100_000 / 256);
    // 1 ms less for the jitter of the capture timestamps.
    assert!(
        first_peer - last_high >= master_down - Duration::from_millis(1),
        "the peer took over {:?} after the last priority-120 advert; Master_Down_Interval is \
         {master_down:?}\n{}",
        first_peer - last_high,
        tb.transcripts()
    );
    assert_eq!(
        wait_holders(&tb.lab.routers, vip, &[PEER], SETTLE),
        [PEER],
        "{}",
        tb.transcripts()
    );
}

#[test]
fn track_file_vrrpd() {
    track_file(Impl::Vrrpd, 73);
}

#[test]
#[ignore = "reference run with keepalived on both routers"]
fn track_file_keepalived() {
    track_file(Impl::Keepalived, 73);
}

/// Waits for an advert of VRID from `src` with `priority` captured at or after `since` (capture
/// time), returns its time.
fn wait_advert(
    capture: &Capture,
    src: IpAddr,
    priority: u8,
    since: Duration,
    tb: &Testbed,
) -> Duration {
    capture
        .wait_for(SETTLE, |f| {
            f.at >= since
                && vrrpd_tests::wire::advert(&f.data)
                    .is_some_and(|a| a.vrid == VRID && a.src == src && a.priority == priority)
        })
        .unwrap_or_else(|| {
            panic!(
                "no priority-{priority} advert from {src}\n{}",
                tb.transcripts()
            )
        })
        .at
}

/// keepalived's reading of a track_file (§2.1, vrrp_track.c): a missing file and one that does
/// not parse read as 0, a number is read like `strtol` (leading digits), value × weight moves the
/// priority; on a weight-0 file any non-zero value is FAULT (priority 0 on the wire), 0 again
/// leaves it. Checked on the wire, one router alone (so always master unless FAULT).
#[test]
fn track_file_missing_unparsable_and_weight_zero() {
    let dir = TempDir::new("trk-file-rules");
    let (weighted, zero) = (dir.path().join("weighted"), dir.path().join("zero"));
    let mut tb = Testbed::new("trk-fr", 78, &[Impl::Vrrpd], |_, s, _| {
        format!(
            "track_file tf {{\n    file {}\n}}\ntrack_file tz {{\n    file {}\n}}\n{}",
            weighted.display(),
            zero.display(),
            Instance::new(VI, VRID)
                .vip(format!("10.{s}.0.200"))
                .line("track_file {\n        tf weight 4\n        tz weight 0\n    }")
        )
    });
    let me: IpAddr = tb.node(MASTER).ipv4.into();
    let capture = Capture::start(&tb.lab.client().ns, &tb.lab.client().iface);
    let t0 = Instant::now();
    tb.start(MASTER);
    tb.router(MASTER).wait_state(VI, State::Master, t0);
    // Both files missing: 0, so the base priority and no FAULT.
    wait_advert(&capture, me, 100, Duration::ZERO, &tb);
    for (text, priority) in [("5\n", 120), ("junk\n", 100), ("3 apples\n", 112)] {
        let since = capture::now();
        std::fs::write(&weighted, text).unwrap();
        wait_advert(&capture, me, priority, since, &tb);
    }
    let since = capture::now();
    std::fs::remove_file(&weighted).unwrap();
    wait_advert(&capture, me, 100, since, &tb);

    let fault = Instant::now();
    let since = capture::now();
    std::fs::write(&zero, "1\n").unwrap();
    tb.router(MASTER).wait_state(VI, State::Fault, fault);
    wait_advert(&capture, me, 0, since, &tb);
    let back = Instant::now();
    std::fs::write(&zero, "0\n").unwrap();
    tb.router(MASTER).wait_state(VI, State::Backup, back);
    tb.router(MASTER).wait_state(VI, State::Master, back);
}

/// vrrp_script semantics (§2.1, vrrp_track.c): `init_fail` counts the script as failed from the
/// start until `rise` successes; `weight W reverse` takes W off while the script succeeds; a
/// `track_script` weight in the instance overrides the script's. Base 100, all every 0.1 s:
/// `init` succeeds (weight −20, init_fail, rise 10), `rev` succeeds (weight 10, reverse in the
/// instance), `ovr` fails (weight 10 in the script, −30 in the instance). Until `init` has its 10
/// successes: 100 − 20 − 10 − 30 = 40; then 60. Without init_fail it would never be below 60,
/// without reverse it would be 80, without the override 90.
#[test]
fn vrrp_script_init_fail_reverse_and_weight_override() {
    let script = |name: &str, cmd: &str, extra: &str| {
        format!("vrrp_script {name} {{\n    script \"{cmd}\"\n    interval 0.1\n{extra}}}\n")
    };
    let mut tb = Testbed::new("trk-scr", 79, &[Impl::Vrrpd], |_, s, _| {
        format!(
            "{}{}{}{}",
            script(
                "init",
                "/bin/true",
                "    weight -20\n    rise 10\n    init_fail\n"
            ),
            script("rev", "/bin/true", "    weight 10\n"),
            script("ovr", "/bin/false", "    weight 10\n"),
            Instance::new(VI, VRID).vip(format!("10.{s}.0.200")).line(
                "track_script {\n        init\n        rev weight 10 reverse\n        \
                 ovr weight -30\n    }"
            )
        )
    });
    let me: IpAddr = tb.node(MASTER).ipv4.into();
    let capture = Capture::start(&tb.lab.client().ns, &tb.lab.client().iface);
    let t0 = Instant::now();
    tb.start(MASTER);
    tb.router(MASTER).wait_state(VI, State::Master, t0);
    let low = wait_advert(&capture, me, 40, Duration::ZERO, &tb);
    let high = wait_advert(&capture, me, 60, Duration::ZERO, &tb);
    assert!(low < high, "40 (init_fail) before 60\n{}", tb.transcripts());
    let later = capture::now();
    std::thread::sleep(Duration::from_millis(500));
    let after: Vec<u8> = capture
        .adverts(VRID)
        .into_iter()
        .filter(|(at, a, _)| *at >= later && a.src == me)
        .map(|(_, a, _)| a.priority)
        .collect();
    assert!(
        after.len() >= 3 && after.iter().all(|p| *p == 60),
        "steady at 60: {after:?}\n{}",
        tb.transcripts()
    );
}

/// An `init_fail` script that was OK before a SIGHUP and fails after it still faults a weight-0
/// instance (§2.1, §2.12): the reload keeps the script's runner, and with it the last reported
/// result, so the failure is a change (a runner started afresh assumes Down and stays silent).
/// keepalived carries the script's result across reload (`clear_diff_script`).
#[test]
fn init_fail_script_failing_after_reload_faults() {
    let dir = TempDir::new("trk-reload");
    let flag = dir.path().join("ok");
    std::fs::write(&flag, "").unwrap();
    let mut tb = Testbed::new("trk-rl", 137, &[Impl::Vrrpd], |_, s, _| {
        format!(
            "vrrp_script chk {{\n    script \"/usr/bin/test -e {}\"\n    interval 0.1\n    \
             init_fail\n}}\n{}",
            flag.display(),
            Instance::new(VI, VRID)
                .vip(format!("10.{s}.0.200"))
                .line("track_script {\n        chk weight 0\n    }")
        )
    });
    let t0 = Instant::now();
    tb.start(MASTER);
    tb.router(MASTER).wait_state(VI, State::Master, t0);
    let mark = Instant::now();
    tb.router(MASTER).reload();
    tb.router(MASTER).wait_log_since("Reload finished", mark);
    let fail = Instant::now();
    std::fs::remove_file(&flag).unwrap();
    tb.router(MASTER).wait_state(VI, State::Fault, fail);
}

/// `init_file 5 overwrite` writes 5 at start-up (weight 1: priority 105), and a second tracked
/// file in a directory that does not exist is removed alone, with keepalived's words: the daemon
/// runs and the first file is still watched.
#[test]
fn track_file_init_file_and_missing_directory() {
    let dir = TempDir::new("trk-file-init");
    let file = dir.path().join("tf");
    std::fs::write(&file, "0\n").unwrap();
    let mut tb = Testbed::new("trk-fi", 138, &[Impl::Vrrpd], |_, s, _| {
        format!(
            "track_file tf {{\n    file {}\n    init_file 5 overwrite\n}}\n\
             track_file gone {{\n    file /nonexistent-vrrpd-dir/x\n}}\n{}",
            file.display(),
            Instance::new(VI, VRID)
                .vip(format!("10.{s}.0.200"))
                .line("track_file {\n        tf\n        gone\n    }")
        )
    });
    let me: IpAddr = tb.node(MASTER).ipv4.into();
    let capture = Capture::start(&tb.lab.client().ns, &tb.lab.client().iface);
    let t0 = Instant::now();
    tb.start(MASTER);
    tb.router(MASTER)
        .wait_log("Track file directory for gone does not exist - removing");
    tb.router(MASTER).wait_state(VI, State::Master, t0);
    wait_advert(&capture, me, 105, Duration::ZERO, &tb);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "5\n");
    let since = capture::now();
    std::fs::write(&file, "2\n").unwrap();
    wait_advert(&capture, me, 102, since, &tb);
}
