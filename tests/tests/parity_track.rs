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
    // keepalived 2.2.7 sends the priority-0 advert twice; vrrpd once.
    assert!(
        !ours.is_empty() && ours.iter().all(|p| *p == 0),
        "entering FAULT the master resigns with priority 0, then is silent: {ours:?}\n{}",
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

    let lowered = Instant::now();
    dir.write("weight", "0\n");
    tb.router(MASTER).wait_log_since(
        &format!("({VI}) Changing effective priority from 120 to 100"),
        lowered,
    );
    tb.router(PEER).wait_state(VI, State::Master, lowered);
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
