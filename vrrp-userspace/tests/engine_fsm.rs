//! One engine driven by hand: every RFC 5798 §6.4 transition and keepalived rule, on a simulated
//! clock.

mod sim;

use std::net::IpAddr;
use std::time::Duration;

use sim::{MS, SEC, addr, config, instance};
use vrrpd::engine::{
    Action, AdvertRx, Auth, AuthField, Engine, EngineConfig, Family, Input, InstanceConfig,
    NotifyState, NotifyTarget, Reason, State, SyncGroupConfig, Tracked, TrackerId, TrackerState,
    Version, Vip, WantedState,
};
use vrrpd::time::Timestamp;

const VIP: &str = "10.0.0.100";

fn vip() -> IpAddr {
    VIP.parse().unwrap()
}

struct One {
    e: Engine,
    now: Timestamp,
    out: Vec<Action>,
}

impl One {
    fn new(cfg: EngineConfig) -> One {
        let now = Timestamp::from_nanos(10 * 1_000_000_000);
        let e = sim::start_engine(&cfg, addr(1), now);
        let mut one = One {
            e,
            now,
            out: Vec::new(),
        };
        one.e.handle_timeout(now);
        one.drain();
        one
    }

    fn with(cfg: InstanceConfig) -> One {
        One::new(config(vec![cfg]))
    }

    fn drain(&mut self) {
        while let Some(a) = self.e.poll_action() {
            self.out.push(a);
        }
    }

    fn take(&mut self) -> Vec<Action> {
        self.drain();
        std::mem::take(&mut self.out)
    }

    /// Moves the clock, running each timer at its own deadline.
    fn advance(&mut self, d: Duration) {
        let until = self.now + d;
        while let Some(t) = self.e.poll_timeout().filter(|&t| t <= until) {
            self.now = self.now.max(t);
            self.e.handle_timeout(self.now);
            self.drain();
        }
        self.now = until;
    }

    fn rx(&self, src: u8, priority: u8) -> AdvertRx {
        AdvertRx {
            src: addr(src),
            dst: sim::vrrp_group(Family::Ipv4),
            ttl: 255,
            version: Version::V2,
            vrid: 1,
            priority,
            max_advert_int: 100,
            addrs: vec![vip()],
            auth: Some(AuthField {
                auth_type: 0,
                data: [0; 8],
            }),
            recv_time: self.now,
        }
    }

    fn feed(&mut self, rx: AdvertRx) {
        self.e.handle(self.now, on_eth0(rx));
        self.drain();
    }

    fn advert(&mut self, src: u8, priority: u8) {
        let rx = self.rx(src, priority);
        self.feed(rx);
    }

    fn input(&mut self, input: Input) {
        self.e.handle(self.now, input);
        self.drain();
    }

    fn state(&self) -> State {
        self.e.instances().next().unwrap().state
    }

    fn status(&self) -> vrrpd::engine::InstanceStatus {
        self.e.instances().next().unwrap()
    }
}

/// An IPv4 advert received on eth0.
fn on_eth0(rx: AdvertRx) -> Input {
    Input::Advert {
        interface: "eth0".into(),
        family: Family::Ipv4,
        rx,
    }
}

fn vi(priority: u8) -> InstanceConfig {
    instance("VI_1", 1, priority, vip())
}

fn adverts(actions: &[Action]) -> Vec<u8> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::SendAdvert { tx, .. } => Some(tx.priority),
            _ => None,
        })
        .collect()
}

fn lines(actions: &[Action]) -> Vec<String> {
    actions.iter().map(|a| a.to_string()).collect()
}

fn has_line(actions: &[Action], line: &str) -> bool {
    lines(actions).iter().any(|l| l == line)
}

fn master(priority: u8) -> One {
    let mut one = One::with(vi(priority));
    one.advance(4 * SEC);
    assert_eq!(one.state(), State::Master);
    one.take();
    one
}

// ===== RFC 5798 §6.4.1 Initialize =====

#[test]
fn init_enters_backup_init_and_clears_leftover_vips() {
    let mut one = One::with(vi(100));
    let out = one.take();
    assert!(matches!(&out[0], Action::RemoveVips { vips, .. } if vips[0].addr == vip()));
    assert!(matches!(&out[1], Action::SetGate { open: false, .. }));
    assert_eq!(out[2].to_string(), "(VI_1) Entering BACKUP STATE (init)");
    assert!(matches!(
        &out[3],
        Action::Notify {
            state: NotifyState::Backup,
            priority: 100,
            ..
        }
    ));
    assert_eq!(one.state(), State::Backup);
}

#[test]
fn init_without_source_address_is_fault() {
    let cfg = config(vec![vi(100)]);
    let now = Timestamp::from_nanos(1);
    let mut e = Engine::new(cfg, now);
    e.handle_timeout(now);
    let out: Vec<Action> = std::iter::from_fn(|| e.poll_action()).collect();
    assert!(has_line(&out, "(VI_1) Entering FAULT STATE (init)"));
    assert!(has_line(
        &out,
        "(VI_1) entering FAULT state (no IPv4 address for interface)"
    ));
    assert_eq!(e.instances().next().unwrap().state, State::Fault);
    // The address appears: FAULT → BACKUP.
    e.handle(
        now,
        Input::SourceAddress {
            interface: "eth0".into(),
            family: Family::Ipv4,
            addr: Some(addr(1)),
        },
    );
    assert_eq!(e.instances().next().unwrap().state, State::Backup);
}

#[test]
fn owner_with_state_master_becomes_master_at_once() {
    let mut cfg = vi(255);
    cfg.initial_state = WantedState::Master;
    let mut one = One::with(cfg);
    let out = one.take();
    assert_eq!(one.state(), State::Master);
    let l = lines(&out);
    assert!(l.contains(&"(VI_1) Entering BACKUP STATE (init)".to_string()));
    assert!(l.contains(&"(VI_1) Entering MASTER STATE".to_string()));
    assert_eq!(adverts(&out), vec![255]);
}

#[test]
fn state_master_below_255_waits_full_master_down_interval() {
    let mut cfg = vi(100);
    cfg.initial_state = WantedState::Master;
    let mut one = One::with(cfg);
    let start = one.now;
    // v2, priority 100: 3 s + (256 − 100)/256 s = 3.609375 s.
    one.advance(Duration::from_nanos(3_609_374_999));
    assert_eq!(one.state(), State::Backup);
    one.advance(Duration::from_nanos(1));
    assert_eq!(one.state(), State::Master);
    assert_eq!(
        one.status().since.saturating_since(start),
        Duration::from_nanos(3_609_375_000)
    );
}

#[test]
fn startup_delay_postpones_everything() {
    let mut cfg = config(vec![vi(100)]);
    cfg.startup_delay = 5 * SEC;
    let now = Timestamp::from_nanos(1);
    let mut e = sim::start_engine(&cfg, addr(1), now);
    e.handle_timeout(now);
    assert!(e.poll_action().is_none());
    assert_eq!(e.poll_timeout(), Some(now + 5 * SEC));
    assert_eq!(e.instances().next().unwrap().state, State::Init);
    e.handle_timeout(now + 5 * SEC);
    assert_eq!(e.instances().next().unwrap().state, State::Backup);
}

// ===== RFC 5798 §6.4.2 Backup =====

#[test]
fn backup_master_down_timer_fires_to_master_with_measured_reason() {
    let mut one = One::with(vi(100));
    one.take();
    one.advance(4 * SEC);
    let out = one.take();
    let reason = out.iter().find_map(|a| match a {
        Action::Transition {
            to: State::Master,
            reason,
            ..
        } => Some(reason.clone()),
        _ => None,
    });
    match reason {
        Some(Reason::MasterDown {
            master_down_interval,
            since_advert: None,
            late,
        }) => {
            assert_eq!(master_down_interval, Duration::from_nanos(3_609_375_000));
            assert_eq!(late, Duration::ZERO);
        }
        other => panic!("unexpected reason {other:?}"),
    }
    assert!(has_line(&out, "(VI_1) Receive advertisement timeout"));
}

/// The daemon rehearses a coming takeover on a copy of the engine to warm its caches
/// (`daemon::node`): the copy must share no state with the engine it was made from.
#[test]
fn a_copy_of_the_engine_takes_over_without_touching_the_original() {
    let mut one = One::with(vi(100));
    one.take();
    let deadline = one.e.poll_timeout().unwrap();
    let mut copy = one.e.clone();
    copy.handle_timeout(deadline);
    let mut rehearsed = Vec::new();
    while let Some(a) = copy.poll_action() {
        rehearsed.push(a);
    }
    assert_eq!(adverts(&rehearsed), vec![100]);
    assert_eq!(copy.instances().next().unwrap().state, State::Master);
    assert_eq!(one.state(), State::Backup);
    assert_eq!(one.e.poll_timeout(), Some(deadline));
    assert!(one.take().is_empty());
    // At the deadline the original does just what its copy did.
    one.e.handle_timeout(deadline);
    assert_eq!(one.take(), rehearsed);
}

#[test]
fn backup_accepts_higher_priority_and_resets_timer() {
    let mut one = One::with(vi(100));
    for _ in 0..10 {
        one.advance(SEC);
        one.advert(2, 150);
    }
    assert_eq!(one.state(), State::Backup);
    let st = one.status();
    assert_eq!(st.master_addr, Some(addr(2)));
    assert_eq!(st.master_priority, Some(150));
    assert_eq!(st.last_advert, Some(one.now));
    assert_eq!(
        one.e.poll_timeout(),
        Some(one.now + Duration::from_nanos(3_609_375_000))
    );
}

#[test]
fn backup_accepts_equal_priority_and_never_preempts() {
    // We have the higher address (10.0.0.1 vs ...) does not matter: equal is accepted.
    let mut one = One::with(vi(100));
    for _ in 0..10 {
        one.advance(SEC);
        one.advert(0x02, 100);
    }
    assert_eq!(one.state(), State::Backup);
}

#[test]
fn backup_discards_lower_priority_without_resetting_timer() {
    let mut one = One::with(vi(100));
    one.take();
    one.advance(SEC);
    one.advert(2, 50);
    let out = one.take();
    assert!(has_line(
        &out,
        "(VI_1) received lower priority (50) advert from 10.0.0.2 - discarding"
    ));
    one.advance(SEC);
    one.advert(2, 50);
    one.advance(SEC);
    one.advert(2, 50);
    one.advance(Duration::from_millis(700));
    assert_eq!(one.state(), State::Master);
}

#[test]
fn backup_nopreempt_accepts_lower_priority() {
    let mut cfg = vi(100);
    cfg.nopreempt = true;
    let mut one = One::with(cfg);
    for _ in 0..10 {
        one.advance(SEC);
        one.advert(2, 50);
    }
    assert_eq!(one.state(), State::Backup);
}

#[test]
fn backup_preempt_delay_accepts_lower_priority_during_the_window() {
    let mut cfg = vi(100);
    cfg.preempt_delay = Duration::from_secs(10);
    let mut one = One::with(cfg);
    one.advance(SEC);
    let first_lower = one.now;
    one.advert(2, 50);
    assert!(has_line(
        &one.take(),
        "(VI_1) start preempt delay (10.000 s)"
    ));
    loop {
        one.advance(SEC);
        if one.state() == State::Master {
            break;
        }
        one.advert(2, 50);
    }
    // Lower adverts are accepted until the window ends, then Master_Down runs out: takeover
    // after the window and within window + Master_Down_Interval of the first lower advert.
    let took = one.status().since.saturating_since(first_lower);
    assert!(took > 10 * SEC, "{took:?}");
    assert!(
        took <= 10 * SEC + Duration::from_nanos(3_609_375_000),
        "{took:?}"
    );
}

#[test]
fn backup_preempt_delay_window_starts_afresh_after_fault() {
    // keepalived `vrrp_state_leave_fault` clears `preempt_time`.
    let mut cfg = vi(200);
    cfg.preempt_delay = Duration::from_secs(30);
    let mut one = One::with(cfg);
    one.advert(2, 100);
    assert!(has_line(
        &one.take(),
        "(VI_1) start preempt delay (30.000 s)"
    ));
    let link = |up| Input::LinkChanged {
        interface: "eth0".into(),
        up,
    };
    one.input(link(false));
    one.advance(100 * SEC);
    one.input(link(true));
    assert_eq!(one.state(), State::Backup);
    one.advert(2, 100);
    assert!(has_line(
        &one.take(),
        "(VI_1) start preempt delay (30.000 s)"
    ));
    // Accepted all through the new window: still backup 20 s on.
    for _ in 0..20 {
        one.advance(SEC);
        one.advert(2, 100);
    }
    assert_eq!(one.state(), State::Backup);
}

#[test]
fn backup_priority_change_moves_the_running_down_timer() {
    // keepalived `vrrp_set_effective_priority`: the down timer keeps its start and takes the new
    // Skew_Time, so a backup that rises takes over sooner.
    let mut cfg = vi(100);
    cfg.trackers = vec![tracked("chk", 100, false)];
    let mut one = One::with(cfg);
    one.advance(SEC);
    one.advert(2, 150);
    let heard = one.now;
    assert_eq!(
        one.e.poll_timeout(),
        Some(heard + Duration::from_nanos(3_609_375_000))
    );
    one.advance(SEC / 2);
    one.input(script("chk", true));
    assert_eq!(one.status().effective_priority, 200);
    // 3 s + (256 − 200)/256 s.
    assert_eq!(
        one.e.poll_timeout(),
        Some(heard + Duration::from_nanos(3_218_750_000))
    );
    // The same after a priority-0 advert: Skew_Time of the new priority.
    one.advert(2, 150);
    let zero = one.now;
    one.advert(2, 0);
    one.input(script("chk", false));
    assert_eq!(
        one.e.poll_timeout(),
        Some(zero + Duration::from_nanos(609_375_000))
    );
}

#[test]
fn backup_preempt_delay_is_stopped_by_a_higher_advert() {
    let mut cfg = vi(100);
    cfg.preempt_delay = Duration::from_secs(10);
    let mut one = One::with(cfg);
    one.advance(SEC);
    one.advert(2, 50);
    one.advance(SEC);
    one.advert(2, 150);
    assert!(has_line(&one.take(), "(VI_1) stop preempt delay"));
}

#[test]
fn backup_priority_zero_sets_down_timer_to_skew_time() {
    let mut one = One::with(vi(100));
    one.advance(SEC);
    one.advert(2, 150);
    one.advance(SEC);
    let t = one.now;
    one.advert(2, 0);
    assert_eq!(one.status().stats.pri_zero_rcvd, 1);
    // v2 skew: (256 − 100)/256 s.
    assert_eq!(
        one.e.poll_timeout(),
        Some(t + Duration::from_nanos(609_375_000))
    );
    // The daemon wakes 610 ms after the advert, 625 µs past the Skew_Time deadline.
    one.now = t + Duration::from_millis(610);
    one.e.handle_timeout(one.now);
    assert_eq!(one.state(), State::Master);
    let out = one.take();
    let late = out.iter().find_map(|a| match a {
        Action::Transition {
            reason: Reason::PriorityZero { late, .. },
            ..
        } => Some(*late),
        _ => None,
    });
    assert_eq!(late, Some(Duration::from_micros(625)));
}

#[test]
fn v3_backup_learns_master_adver_int() {
    let mut cfg = vi(100);
    cfg.version = Version::V3;
    let mut one = One::with(cfg);
    one.advance(SEC);
    let mut rx = one.rx(2, 150);
    rx.version = Version::V3;
    rx.auth = None;
    rx.max_advert_int = 50;
    one.feed(rx);
    let st = one.status();
    assert_eq!(st.master_adver_int, 50);
    // 3 × 0.5 s + (156 × 0.5 s)/256.
    assert_eq!(
        st.master_down_interval,
        Duration::from_nanos(1_500_000_000 + 304_687_500)
    );
    assert_eq!(
        one.e.poll_timeout(),
        Some(one.now + st.master_down_interval)
    );
}

// ===== keepalived receive checks (§2.8) =====

#[test]
fn v2_interval_mismatch_is_dropped_and_counted() {
    let mut one = One::with(vi(100));
    one.advance(SEC);
    let mut rx = one.rx(2, 150);
    rx.max_advert_int = 200;
    one.feed(rx);
    let st = one.status();
    assert_eq!(st.stats.advert_interval_err, 1);
    assert_eq!(st.master_addr, None);
}

#[test]
fn version_mismatch_is_dropped_and_counted() {
    let mut one = One::with(vi(100));
    let mut rx = one.rx(2, 150);
    rx.version = Version::V3;
    one.feed(rx);
    assert_eq!(one.status().stats.vers_err, 1);
    assert_eq!(one.status().master_addr, None);
}

#[test]
fn auth_checks_are_counted_in_order() {
    let mut cfg = vi(100);
    cfg.auth = Auth::Pass(*b"secret\0\0");
    let mut one = One::with(cfg);
    let mut rx = one.rx(2, 150);
    rx.auth = Some(AuthField {
        auth_type: 7,
        data: [0; 8],
    });
    one.feed(rx.clone());
    rx.auth = Some(AuthField {
        auth_type: 0,
        data: [0; 8],
    });
    one.feed(rx.clone());
    rx.auth = Some(AuthField {
        auth_type: 1,
        data: *b"wrong\0\0\0",
    });
    one.feed(rx.clone());
    let s = one.status().stats;
    assert_eq!(
        (s.invalid_authtype, s.authtype_mismatch, s.auth_failure),
        (1, 1, 1)
    );
    assert_eq!(one.status().master_addr, None);
    rx.auth = Some(AuthField {
        auth_type: 1,
        data: *b"secret\0\0",
    });
    one.feed(rx);
    assert_eq!(one.status().master_addr, Some(addr(2)));
    // As keepalived counts them: only the advert that passed the checks was received.
    assert_eq!(one.status().stats.advert_rcvd, 1);
}

#[test]
fn addr_list_mismatch_is_counted_and_accepted_like_keepalived_2_3_3_not_dropped_like_2_2_7() {
    // keepalived 2.2.7 drops an advert whose VIP list differs from ours, so reloading the master
    // with a new VIP made the backup time out and take over too (issue #1603); since 2.3.3 it
    // only counts and logs. We do the latter: the advert resets the down timer.
    let mut one = One::with(vi(100));
    for _ in 0..10 {
        one.advance(SEC);
        let mut rx = one.rx(2, 150);
        rx.addrs = vec![vip(), "10.0.0.200".parse().unwrap()];
        one.feed(rx);
    }
    let st = one.status();
    assert_eq!(st.state, State::Backup);
    assert_eq!(st.stats.addr_list_err, 10);
    assert_eq!(st.master_addr, Some(addr(2)));
    assert_eq!(st.last_advert, Some(one.now));
}

#[test]
fn skip_check_adv_addr_skips_the_known_master() {
    let mut cfg = vi(100);
    cfg.skip_check_adv_addr = true;
    let mut one = One::with(cfg);
    let mut rx = one.rx(2, 150);
    rx.addrs = vec![];
    one.feed(rx.clone());
    one.feed(rx);
    assert_eq!(one.status().stats.addr_list_err, 1);
}

#[test]
fn ttl_below_255_in_multicast_mode_is_counted() {
    let mut one = One::with(vi(100));
    let mut rx = one.rx(2, 150);
    rx.ttl = 64;
    one.feed(rx);
    assert_eq!(one.status().stats.ip_ttl_err, 1);
    assert_eq!(one.status().master_addr, None);
}

#[test]
fn unicast_destination_in_multicast_mode_is_dropped() {
    let mut one = One::with(vi(100));
    let mut rx = one.rx(2, 150);
    rx.dst = addr(1);
    one.feed(rx);
    assert_eq!(one.status().master_addr, None);
}

#[test]
fn rx_errors_are_counted_in_the_instance() {
    let mut one = One::with(vi(100));
    for reason in [
        vrrpd::engine::RxErrorReason::PacketLength,
        vrrpd::engine::RxErrorReason::InvalidType,
        vrrpd::engine::RxErrorReason::Checksum,
    ] {
        one.input(Input::RxError {
            interface: "eth0".into(),
            family: Family::Ipv4,
            vrid: Some(1),
            reason,
        });
    }
    let s = one.status().stats;
    assert_eq!(
        (s.packet_len_err, s.invalid_type_rcvd, s.chk_err),
        (1, 1, 1)
    );
}

// ===== RFC 5798 §6.4.3 Master =====

#[test]
fn becoming_master_sends_advert_first_then_vips_garp_and_notify() {
    let mut one = One::with(vi(100));
    one.take();
    one.advance(4 * SEC);
    let out = one.take();
    let kinds: Vec<&str> = out
        .iter()
        .filter_map(|a| match a {
            Action::SendAdvert { .. } => Some("advert"),
            Action::Transition { .. } => Some("transition"),
            Action::AddVips { .. } => Some("add"),
            Action::SetGate { open: true, .. } => Some("gate"),
            Action::SendGarp { .. } => Some("garp"),
            Action::Notify { .. } => Some("notify"),
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds,
        ["advert", "transition", "add", "gate", "garp", "notify"]
    );
    assert!(
        out.iter()
            .any(|a| matches!(a, Action::SendGarp { repeat: 5, .. }))
    );
    assert_eq!(one.status().stats.become_master, 1);
    assert!(one.status().gate_open);
}

#[test]
fn master_sends_second_garp_burst_after_garp_master_delay_and_refreshes() {
    let mut cfg = vi(100);
    cfg.garp.master_refresh = Duration::from_secs(60);
    cfg.garp.master_refresh_repeat = 2;
    let mut one = One::with(cfg);
    one.advance(4 * SEC);
    let became = one.status().since;
    one.take();
    let garps = |one: &mut One, d| {
        one.advance(d);
        one.take()
            .iter()
            .filter_map(|a| match a {
                Action::SendGarp { repeat, .. } => Some(*repeat),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let until_delay = (became + 5 * SEC).saturating_since(one.now);
    assert_eq!(garps(&mut one, until_delay - MS), Vec::<u32>::new());
    assert_eq!(garps(&mut one, MS), vec![5]);
    assert_eq!(garps(&mut one, 60 * SEC), vec![2]);
    assert_eq!(garps(&mut one, 60 * SEC), vec![2]);
}

#[test]
fn master_whose_vip_is_deleted_from_outside_resigns_and_comes_back_after_skew_time() {
    // keepalived `set_vrrp_backup`: priority 0, BACKUP, a down timer of Skew_Time only.
    let mut cfg = vi(100);
    let other: IpAddr = "10.0.0.101".parse().unwrap();
    let mut quiet = Vip::host("10.0.0.102".parse().unwrap());
    quiet.no_track = true;
    cfg.vips = vec![Vip::host(vip()), Vip::host(other), quiet.clone()];
    let mut one = One::with(cfg);
    one.advance(4 * SEC);
    assert_eq!(one.state(), State::Master);
    one.take();
    let deleted = |addr: IpAddr, interface: &str, prefix_len: u8| Input::AddressDeleted {
        interface: interface.into(),
        addr,
        prefix_len,
    };
    // Not ours to mind: a no_track VIP, another interface, another prefix.
    one.input(deleted(quiet.addr, "eth0", 32));
    one.input(deleted(other, "eth1", 32));
    one.input(deleted(other, "eth0", 24));
    assert_eq!(one.state(), State::Master);
    assert!(one.take().is_empty());

    one.input(deleted(other, "eth0", 32));
    assert_eq!(one.state(), State::Backup);
    let gone = one.now;
    let out = one.take();
    assert_eq!(adverts(&out), vec![0]);
    assert!(
        out.iter()
            .any(|a| matches!(a, Action::RemoveVips { vips, .. } if vips.len() == 3))
    );
    assert!(has_line(&out, "(VI_1) Entering BACKUP STATE"), "{out:?}");
    // (256 − 100)/256 s later it is master again and puts the addresses back.
    assert_eq!(
        one.e.poll_timeout(),
        Some(gone + Duration::from_nanos(609_375_000))
    );
    one.advance(SEC);
    assert_eq!(one.state(), State::Master);
    assert!(
        one.take()
            .iter()
            .any(|a| matches!(a, Action::AddVips { .. }))
    );
    // As a backup it has no address to lose.
    one.advert(2, 150);
    assert_eq!(one.state(), State::Backup);
    one.take();
    one.input(deleted(vip(), "eth0", 32));
    assert!(adverts(&one.take()).is_empty());
}

#[test]
fn master_sends_an_advert_every_interval() {
    let mut one = master(100);
    one.advance(10 * SEC);
    assert_eq!(adverts(&one.take()), vec![100; 10]);
}

#[test]
fn master_steps_down_on_higher_priority_without_priority_zero() {
    let mut one = master(100);
    one.advert(2, 150);
    let out = one.take();
    assert_eq!(one.state(), State::Backup);
    assert!(adverts(&out).is_empty());
    assert!(has_line(
        &out,
        "(VI_1) Master received advert from 10.0.0.2 with higher priority 150, ours 100"
    ));
    assert!(out.iter().any(|a| matches!(a, Action::RemoveVips { .. })));
    assert!(
        out.iter()
            .any(|a| matches!(a, Action::SetGate { open: false, .. }))
    );
    assert!(!one.status().gate_open);
    assert_eq!(one.status().stats.release_master, 1);
}

#[test]
fn master_steps_down_on_equal_priority_from_higher_address() {
    let mut one = master(100);
    one.advert(9, 100);
    assert_eq!(one.state(), State::Backup);
    assert!(has_line(
        &one.take(),
        "(VI_1) Master received advert from 10.0.0.9 with same priority 100 but higher IP address than ours"
    ));
}

#[test]
fn master_hearing_lower_priority_forces_new_election() {
    let mut one = master(100);
    one.advert(2, 50);
    let out = one.take();
    assert_eq!(one.state(), State::Master);
    assert!(has_line(
        &out,
        "(VI_1) Received advert from 10.0.0.2 with lower priority 50, ours 100, forcing new election"
    ));
    assert_eq!(adverts(&out), vec![100]);
    assert!(
        out.iter()
            .any(|a| matches!(a, Action::SendGarp { repeat: 5, .. }))
    );
    assert!(
        out.iter()
            .any(|a| matches!(a, Action::NotifyMasterRxLowerPri { priority: 100, .. }))
    );
    // The delayed lower-priority burst.
    one.advance(5 * SEC);
    assert!(
        one.take()
            .iter()
            .any(|a| matches!(a, Action::SendGarp { .. }))
    );
}

#[test]
fn master_hearing_equal_priority_from_lower_address_stays() {
    let mut one = One::new(config(vec![vi(100)]));
    // Our address is 10.0.0.1: every other address is higher; use a lower one by re-addressing.
    one.input(Input::SourceAddress {
        interface: "eth0".into(),
        family: Family::Ipv4,
        addr: Some(addr(50)),
    });
    one.advance(4 * SEC);
    one.take();
    one.advert(2, 100);
    assert_eq!(one.state(), State::Master);
    assert_eq!(adverts(&one.take()), vec![100]);
}

#[test]
fn lower_prio_no_advert_keeps_quiet() {
    let mut cfg = vi(100);
    cfg.lower_prio_no_advert = true;
    let mut one = One::with(cfg);
    one.advance(4 * SEC);
    one.take();
    one.advert(2, 50);
    assert!(adverts(&one.take()).is_empty());
}

#[test]
fn higher_prio_send_advert_sends_one_before_stepping_down() {
    let mut cfg = vi(100);
    cfg.higher_prio_send_advert = true;
    let mut one = One::with(cfg);
    one.advance(4 * SEC);
    one.take();
    one.advert(2, 150);
    assert_eq!(adverts(&one.take()), vec![100]);
    assert_eq!(one.state(), State::Backup);
}

#[test]
fn master_hearing_priority_zero_sends_advert_at_once() {
    let mut one = master(100);
    one.advance(Duration::from_millis(300));
    one.advert(2, 0);
    assert_eq!(adverts(&one.take()), vec![100]);
    // Adver_Timer restarted from now.
    assert_eq!(one.e.poll_timeout(), Some(one.now + SEC));
}

#[test]
fn owner_ignore_adverts() {
    let mut cfg = vi(255);
    cfg.initial_state = WantedState::Master;
    cfg.owner_ignore_adverts = true;
    let mut one = One::with(cfg);
    one.take();
    one.advert(9, 255);
    assert_eq!(one.state(), State::Master);
    assert!(adverts(&one.take()).is_empty());
}

#[test]
fn two_owners_the_one_that_does_not_back_off_makes_us_lower_to_254() {
    // keepalived-behaviour.md §2.3: an owner that keeps hearing another owner (255, from a lower
    // address, so the other should have backed off) for 2 adverts + ~1.2 intervals lowers itself
    // to 254, logs the configuration error, and loses the next election.
    let mut cfg = vi(255);
    cfg.initial_state = WantedState::Master;
    let mut one = One::with(cfg);
    one.take();
    assert_eq!(one.state(), State::Master);
    one.advert(0, 255);
    let first = one.take();
    assert_eq!(
        adverts(&first),
        vec![255],
        "a lower-address owner forces a new election"
    );
    assert!(has_line(
        &first,
        "(VI_1) CONFIGURATION ERROR: local instance and 10.0.0.0 are both configured as address \
         owner, please resolve"
    ));
    // Still the rule above until we have sent two adverts of our own…
    one.advance(SEC);
    one.advert(0, 255);
    assert_eq!(one.status().effective_priority, 255);
    // …then one heard within 1.2 intervals makes keepalived give up, and that advert beats us.
    one.advance(SEC);
    one.advert(0, 255);
    let out = one.take();
    assert!(
        has_line(
            &out,
            "(VI_1) 10.0.0.0 is still advertising as address owner, please resolve - reducing our \
             priority"
        ),
        "{out:?}"
    );
    assert!(has_line(
        &out,
        "(VI_1) Changing effective priority from 255 to 254"
    ));
    assert_eq!(one.status().effective_priority, 254);
    assert_eq!(one.state(), State::Backup);
    // A reload builds the instance afresh: the owner is 255 again.
    let mut cfg = vi(255);
    cfg.initial_state = WantedState::Master;
    one.input(Input::Reload(config(vec![cfg])));
    assert_eq!(one.status().effective_priority, 255);
}

#[test]
fn a_rogue_owner_that_went_quiet_ends_the_episode() {
    let mut cfg = vi(255);
    cfg.initial_state = WantedState::Master;
    let mut one = One::with(cfg);
    one.advert(0, 255);
    // Two of our adverts, then a window of 1.2 s with nothing from the other owner.
    one.advance(4 * SEC);
    one.take();
    // Much later it is heard once more: a new episode, which starts with the warning again
    // instead of demoting at once.
    one.advance(3600 * SEC);
    one.advert(0, 255);
    let out = one.take();
    assert!(
        lines(&out)
            .iter()
            .any(|l| l.contains("CONFIGURATION ERROR")),
        "{out:?}"
    );
    assert_eq!(one.status().effective_priority, 255);
    assert_eq!(one.state(), State::Master);
}

#[test]
fn an_owner_that_hears_a_higher_address_owner_backs_off() {
    let mut cfg = vi(255);
    cfg.initial_state = WantedState::Master;
    let mut one = One::with(cfg);
    one.take();
    one.advert(9, 255);
    assert_eq!(one.state(), State::Backup);
    assert_eq!(one.status().effective_priority, 255);
}

// ===== shutdown and FAULT =====

#[test]
fn shutdown_master_sends_priority_zero_then_removes_vips() {
    let mut one = master(100);
    one.input(Input::Shutdown);
    let out = one.take();
    assert!(matches!(&out[0], Action::SendAdvert { tx, .. } if tx.priority == 0));
    assert!(has_line(&out, "(VI_1) sent 0 priority"));
    let remove = out
        .iter()
        .position(|a| matches!(a, Action::RemoveVips { .. }));
    assert!(remove.is_some());
    assert!(out.iter().any(|a| matches!(
        a,
        Action::Notify {
            state: NotifyState::Stop,
            ..
        }
    )));
    assert_eq!(one.status().stats.pri_zero_sent, 1);
    assert_eq!(one.e.poll_timeout(), None);
}

#[test]
fn master_to_fault_on_link_down_sends_priority_zero() {
    let mut one = master(100);
    one.input(Input::LinkChanged {
        interface: "eth0".into(),
        up: false,
    });
    let out = one.take();
    assert_eq!(adverts(&out), vec![0]);
    assert_eq!(one.state(), State::Fault);
    assert!(out.iter().any(|a| matches!(a, Action::RemoveVips { .. })));
    one.input(Input::LinkChanged {
        interface: "eth0".into(),
        up: true,
    });
    assert_eq!(one.state(), State::Backup);
}

#[test]
fn dont_track_primary_ignores_link_down() {
    let mut cfg = vi(100);
    cfg.dont_track_primary = true;
    let mut one = One::with(cfg);
    one.input(Input::LinkChanged {
        interface: "eth0".into(),
        up: false,
    });
    assert_eq!(one.state(), State::Backup);
}

#[test]
fn owner_leaving_a_run_time_fault_comes_back_as_backup() {
    // keepalived `down_instance` sets wantstate FAULT, so `try_up_instance` brings even an owner
    // back as a backup that waits Master_Down_Interval.
    let mut cfg = vi(255);
    cfg.initial_state = WantedState::Master;
    let mut one = One::with(cfg);
    assert_eq!(one.state(), State::Master);
    one.input(Input::LinkChanged {
        interface: "eth0".into(),
        up: false,
    });
    assert_eq!(one.state(), State::Fault);
    one.input(Input::LinkChanged {
        interface: "eth0".into(),
        up: true,
    });
    assert_eq!(one.state(), State::Backup);
    let back = one.now;
    one.take();
    one.advance(4 * SEC);
    assert_eq!(one.state(), State::Master);
    // 3 × 1 s + (256 − 255)/256 s.
    assert_eq!(
        one.status().since.saturating_since(back),
        Duration::from_nanos(3_003_906_250)
    );
}

#[test]
fn owner_whose_fault_dates_from_start_up_goes_master_as_soon_as_it_clears() {
    // The owner waits in FAULT (init) for its weight-0 script; keepalived's wantstate is still
    // MASTER, so the first good result makes it master at once.
    let mut cfg = vi(255);
    cfg.initial_state = WantedState::Master;
    cfg.trackers = vec![tracked("chk", 0, false)];
    let mut one = One::with(cfg);
    assert_eq!(one.state(), State::Fault);
    one.take();
    one.input(script("chk", true));
    assert_eq!(one.state(), State::Master);
    assert_eq!(adverts(&one.take()), vec![255]);
}

#[test]
fn a_weight_zero_script_without_a_result_holds_the_instance_in_fault_init() {
    // keepalived `num_script_init`: no MASTER before the script has said the node is healthy,
    // and no notify until its first result.
    let mut cfg = vi(100);
    cfg.trackers = vec![tracked("chk", 0, false)];
    let mut one = One::with(cfg);
    let out = one.take();
    assert!(
        has_line(&out, "(VI_1) Entering FAULT STATE (init)"),
        "{out:?}"
    );
    assert!(
        !out.iter().any(|a| matches!(a, Action::Notify { .. })),
        "{out:?}"
    );
    assert_eq!(
        one.status().fault.map(|f| f.to_string()).as_deref(),
        Some("VRRP_Script(chk) has no result yet")
    );
    one.advance(10 * SEC);
    assert_eq!(one.state(), State::Fault);
    assert!(adverts(&one.take()).is_empty());
    // The first result is good: BACKUP, notified, with a full down timer from now.
    one.input(script("chk", true));
    assert_eq!(one.state(), State::Backup);
    let up = one.now;
    let out = one.take();
    assert!(out.iter().any(|a| matches!(
        a,
        Action::Notify {
            state: NotifyState::Backup,
            ..
        }
    )));
    one.advance(4 * SEC);
    assert_eq!(one.state(), State::Master);
    assert_eq!(
        one.status().since.saturating_since(up),
        Duration::from_nanos(3_609_375_000)
    );
}

#[test]
fn a_weight_zero_scripts_failing_first_result_notifies_fault_once() {
    let mut cfg = vi(100);
    cfg.trackers = vec![tracked("chk", 0, false), tracked("other", -10, false)];
    let mut one = One::with(cfg);
    one.take();
    // A weighted script's result does not release the hold.
    one.input(script("other", true));
    assert_eq!(one.state(), State::Fault);
    assert!(
        !one.take()
            .iter()
            .any(|a| matches!(a, Action::Notify { .. }))
    );
    one.input(script("chk", false));
    assert_eq!(one.state(), State::Fault);
    let notifies: Vec<NotifyState> = one
        .take()
        .iter()
        .filter_map(|a| match a {
            Action::Notify { state, .. } => Some(*state),
            _ => None,
        })
        .collect();
    assert_eq!(notifies, vec![NotifyState::Fault]);
    one.input(script("chk", true));
    assert_eq!(one.state(), State::Backup);
}

fn tracked(name: &str, weight: i32, reverse: bool) -> Tracked {
    Tracked {
        tracker: TrackerId::Script(name.into()),
        weight,
        reverse,
    }
}

fn script(name: &str, up: bool) -> Input {
    Input::TrackerChanged {
        tracker: TrackerId::Script(name.into()),
        state: if up {
            TrackerState::Up
        } else {
            TrackerState::Down
        },
    }
}

#[test]
fn weight_zero_tracker_failure_is_fault() {
    let mut cfg = vi(100);
    cfg.trackers = vec![tracked("chk", 0, false)];
    let mut one = One::with(cfg);
    one.input(script("chk", false));
    assert_eq!(one.state(), State::Fault);
    one.input(script("chk", true));
    assert_eq!(one.state(), State::Backup);
}

#[test]
fn weight_zero_reverse_is_fault_while_up() {
    let mut cfg = vi(100);
    cfg.trackers = vec![tracked("chk", 0, true)];
    let mut one = One::with(cfg);
    one.input(script("chk", true));
    assert_eq!(one.state(), State::Fault);
}

#[test]
fn track_file_weight_zero_nonzero_value_is_fault() {
    let mut cfg = vi(100);
    cfg.trackers = vec![Tracked {
        tracker: TrackerId::File("f".into()),
        weight: 0,
        reverse: false,
    }];
    let mut one = One::with(cfg);
    one.input(Input::TrackerChanged {
        tracker: TrackerId::File("f".into()),
        state: TrackerState::Value(3),
    });
    assert_eq!(one.state(), State::Fault);
}

#[test]
fn priority_change_logs_and_goes_in_the_next_advert_without_transition() {
    let mut cfg = vi(100);
    cfg.trackers = vec![tracked("chk_nginx", -20, false)];
    let mut one = One::with(cfg);
    one.advance(4 * SEC);
    one.take();
    one.input(script("chk_nginx", false));
    let out = one.take();
    assert_eq!(
        lines(&out),
        ["(VI_1) Changing effective priority from 100 to 80"]
    );
    assert_eq!(one.state(), State::Master);
    one.advance(SEC);
    assert_eq!(adverts(&one.take()), vec![80]);
}

#[test]
fn owner_priority_is_never_adjusted() {
    let mut cfg = vi(255);
    cfg.trackers = vec![tracked("chk", -20, false)];
    let mut one = One::with(cfg);
    one.input(script("chk", false));
    assert_eq!(one.status().effective_priority, 255);
}

// ===== sync groups =====

fn group_config() -> EngineConfig {
    let mut a = instance("VI_A", 1, 100, vip());
    a.trackers = vec![tracked("chk", 0, false)];
    let b = instance("VI_B", 2, 100, "10.0.0.101".parse().unwrap());
    EngineConfig {
        instances: vec![a, b],
        sync_groups: vec![SyncGroupConfig {
            name: "G".into(),
            members: vec!["VI_A".into(), "VI_B".into()],
        }],
        ..EngineConfig::default()
    }
}

fn state_of(one: &One, name: &str) -> State {
    one.e.instance(name).unwrap().state
}

/// The group of [`group_config`] after VI_A's weight-0 script reported OK (until then keepalived
/// holds both members in FAULT (init)).
fn group() -> One {
    let mut one = One::new(group_config());
    assert_eq!(state_of(&one, "VI_B"), State::Fault);
    one.input(script("chk", true));
    assert_eq!(state_of(&one, "VI_B"), State::Backup);
    one
}

#[test]
fn sync_group_goes_master_only_when_every_member_wants_it() {
    let mut one = group();
    // VI_B keeps hearing a master; VI_A times out but must wait.
    for _ in 0..8 {
        one.advance(SEC);
        let mut rx = one.rx(2, 150);
        rx.vrid = 2;
        rx.addrs = vec!["10.0.0.101".parse().unwrap()];
        one.feed(rx);
    }
    assert_eq!(state_of(&one, "VI_A"), State::Backup);
    assert!(has_line(
        &one.take(),
        "(VI_A) sync group G: waiting for every member to want MASTER"
    ));
    // The VI_B master goes away: both go MASTER together.
    one.advance(5 * SEC);
    assert_eq!(state_of(&one, "VI_A"), State::Master);
    assert_eq!(state_of(&one, "VI_B"), State::Master);
    let out = one.take();
    assert!(has_line(
        &out,
        "VRRP_Group(G) Syncing instances to MASTER state"
    ));
    assert!(out.iter().any(|a| matches!(
        a,
        Action::Notify { target: NotifyTarget::Group(g), state: NotifyState::Master, priority: 0 } if g == "G"
    )));
}

#[test]
fn sync_group_member_to_backup_pulls_the_others() {
    let mut one = group();
    one.advance(5 * SEC);
    assert_eq!(state_of(&one, "VI_B"), State::Master);
    one.take();
    one.advert(2, 150); // VRID 1 = VI_A
    assert_eq!(state_of(&one, "VI_A"), State::Backup);
    assert_eq!(state_of(&one, "VI_B"), State::Backup);
    assert!(has_line(
        &one.take(),
        "VRRP_Group(G) Syncing instances to BACKUP state"
    ));
}

#[test]
fn sync_group_member_fault_pulls_the_others() {
    let mut one = group();
    one.advance(5 * SEC);
    one.take();
    one.input(script("chk", false));
    assert_eq!(state_of(&one, "VI_A"), State::Fault);
    assert_eq!(state_of(&one, "VI_B"), State::Fault);
    let out = one.take();
    assert!(has_line(
        &out,
        "VRRP_Group(G) Syncing instances to FAULT state"
    ));
    assert_eq!(adverts(&out), vec![0, 0]);
    one.input(script("chk", true));
    assert_eq!(state_of(&one, "VI_A"), State::Backup);
    assert_eq!(state_of(&one, "VI_B"), State::Backup);
}

// ===== reload =====

#[test]
fn reload_keeps_a_master_advertises_at_once_and_diffs_vips() {
    let mut one = master(100);
    let mut cfg = vi(100);
    cfg.name = "RENAMED".into();
    cfg.priority = 120;
    let new_vip: IpAddr = "10.0.0.101".parse().unwrap();
    cfg.vips = vec![Vip::host(new_vip)];
    one.input(Input::Reload(config(vec![cfg])));
    let out = one.take();
    assert_eq!(one.state(), State::Master);
    assert!(!out.iter().any(|a| matches!(a, Action::Transition { .. })));
    assert!(
        out.iter()
            .any(|a| matches!(a, Action::RemoveVips { vips, .. } if vips[0].addr == vip()))
    );
    assert!(
        out.iter()
            .any(|a| matches!(a, Action::AddVips { vips, .. } if vips[0].addr == new_vip))
    );
    assert!(out.iter().any(|a| matches!(a, Action::SendAdvert { tx, .. } if tx.priority == 120 && tx.addrs == vec![new_vip])));
}

#[test]
fn reload_matches_by_vrid_not_name() {
    let mut one = master(100);
    let cfg = instance("VI_1", 2, 100, vip());
    one.input(Input::Reload(config(vec![cfg])));
    let out = one.take();
    // Same name, other VRID: the old one stops (priority 0) and a new one starts in BACKUP.
    assert_eq!(adverts(&out), vec![0]);
    assert!(has_line(&out, "(VI_1) Entering BACKUP STATE (init)"));
    // The daemon resolves what comes before the switch with the old configuration.
    let at = |line: &str| {
        lines(&out)
            .iter()
            .position(|l| l.starts_with(line))
            .unwrap()
    };
    let switch = out
        .iter()
        .position(|a| matches!(a, Action::ReloadSwitch))
        .unwrap();
    assert!(at("(VI_1) sending advert priority 0") < switch, "{out:?}");
    assert!(
        switch < at("(VI_1) Entering BACKUP STATE (init)"),
        "{out:?}"
    );
    // keepalived's old way: FAULT to the FIFO and the generic script, no notify_fault.
    assert!(out.iter().any(|a| matches!(
        a,
        Action::Notify {
            state: NotifyState::Removed,
            ..
        }
    )));
    assert_eq!(NotifyState::Removed.as_str(), "FAULT");
    assert_eq!(one.status().vrid, 2);
}

#[test]
fn reload_removing_an_instance_in_fault_notifies_nothing() {
    // keepalived `clear_diff_vrrp`: it said FAULT when it got there.
    let mut cfg = vi(100);
    cfg.trackers = vec![tracked("chk", 0, false)];
    let mut one = One::with(cfg);
    one.input(script("chk", false));
    assert_eq!(one.state(), State::Fault);
    one.take();
    one.input(Input::Reload(config(vec![instance("VI_2", 2, 100, vip())])));
    let out = one.take();
    assert!(
        !out.iter().any(
            |a| matches!(a, Action::Notify { target: NotifyTarget::Instance(n), .. } if n == "VI_1")
        ),
        "{out:?}"
    );
}

#[test]
fn reload_times_a_kept_v2_backup_with_the_new_interval() {
    // keepalived starts the reloaded instance with the new advert_int: a backup must not keep
    // timing its master with the old one (it would flap when the interval grows).
    let mut one = One::with(vi(100));
    one.advance(SEC);
    one.advert(2, 150);
    let heard = one.now;
    let mut cfg = vi(100);
    cfg.advert_int = 500;
    one.input(Input::Reload(config(vec![cfg])));
    assert_eq!(one.state(), State::Backup);
    assert_eq!(one.status().master_adver_int, 500);
    // 3 × 5 s + 0.609375 s from the advert heard before the reload.
    assert_eq!(
        one.e.poll_timeout(),
        Some(heard + Duration::from_nanos(15_609_375_000))
    );
}

// ===== stalls =====

#[test]
fn stall_with_queued_adverts_does_not_declare_the_master_down() {
    let mut one = One::with(vi(100));
    one.advance(SEC);
    one.advert(2, 150);
    one.take();
    // The daemon stalls for 10 × Master_Down_Interval while the master keeps advertising.
    let mdi = one.status().master_down_interval;
    let stall_start = one.now;
    let queued: Vec<AdvertRx> = (1..=36)
        .map(|k| {
            let mut rx = one.rx(2, 150);
            rx.recv_time = stall_start + SEC * k;
            rx
        })
        .collect();
    let now = stall_start + mdi * 10;
    assert!(queued.last().unwrap().recv_time <= now);
    one.now = now;
    for rx in queued {
        one.feed(rx);
    }
    one.e.handle_timeout(now);
    one.drain();
    assert_eq!(one.state(), State::Backup);
    assert!(
        !one.take()
            .iter()
            .any(|a| matches!(a, Action::Transition { .. }))
    );
}

#[test]
fn stall_without_adverts_declares_the_master_down_once() {
    let mut one = One::with(vi(100));
    one.advance(SEC);
    one.advert(2, 150);
    let mdi = one.status().master_down_interval;
    let now = one.now + mdi * 10;
    one.now = now;
    one.e.handle_timeout(now);
    let out = one.take();
    assert_eq!(one.state(), State::Master);
    let late = out.iter().find_map(|a| match a {
        Action::Transition {
            reason: Reason::MasterDown { late, .. },
            ..
        } => Some(*late),
        _ => None,
    });
    assert_eq!(late, Some(mdi * 9));
    // One advert, not a burst catching up.
    assert_eq!(adverts(&out), vec![100]);
}

// ===== wording and serde =====

#[test]
fn transition_display_adds_the_reason_in_alternate_form() {
    let a = Action::Transition {
        instance: "VI_1".into(),
        from: State::Master,
        to: State::Backup,
        reason: Reason::PriorityZero {
            from: addr(2),
            late: Duration::ZERO,
        },
    };
    assert_eq!(a.to_string(), "(VI_1) Entering BACKUP STATE");
    assert_eq!(
        format!("{a:#}"),
        "(VI_1) Entering BACKUP STATE (priority 0 advert from 10.0.0.2, 0 ns past skew_time)"
    );
}

#[test]
fn inputs_and_actions_round_trip_through_json() {
    let mut one = master(100);
    one.advert(2, 150);
    let out = one.take();
    assert!(!out.is_empty());
    for a in out {
        let s = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Action>(&s).unwrap(), a);
    }
    let input = Input::Advert {
        interface: "eth0".into(),
        family: Family::Ipv4,
        rx: one.rx(2, 150),
    };
    let s = serde_json::to_string(&input).unwrap();
    assert_eq!(serde_json::from_str::<Input>(&s).unwrap(), input);
}

// ===== audit additions: shutdown in BACKUP, config-resolved rules, v3 step-down, wording =====

#[test]
fn backup_shutdown_sends_nothing_and_notifies_stop() {
    // RFC 5798 §6.4.2 "If a Shutdown event is received": cancel the Master_Down_Timer, go to
    // Initialize. keepalived: a backup sends no priority-0 advert and holds no VIPs to remove;
    // it notifies STOP.
    let mut one = One::with(vi(100));
    one.advance(SEC);
    one.advert(2, 150);
    one.take();
    one.input(Input::Shutdown);
    let out = one.take();
    assert!(adverts(&out).is_empty(), "{:?}", lines(&out));
    assert!(
        !out.iter()
            .any(|a| matches!(a, Action::RemoveVips { .. } | Action::SetGate { .. })),
        "{:?}",
        lines(&out)
    );
    assert!(has_line(&out, "(VI_1) Stopped"));
    assert!(out.iter().any(|a| matches!(
        a,
        Action::Notify {
            state: NotifyState::Stop,
            ..
        }
    )));
    assert_eq!(one.state(), State::Stop);
    assert_eq!(one.status().stats.pri_zero_sent, 0);
    assert_eq!(one.e.poll_timeout(), None);
    // Stopped for good: a later advert or clock tick changes nothing.
    one.advance(10 * SEC);
    one.advert(2, 150);
    assert!(one.take().is_empty());
}

/// A `vrrp_instance VI_1` with `body` inside, on eth0 with the usual VIP.
fn keepalived_conf(body: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 1\n    advert_int 1\n{body}\n    virtual_ipaddress {{\n        {VIP}\n    }}\n}}\n"
    )
}

#[test]
fn priority_omitted_with_state_master_is_255_and_takes_over_at_once() {
    // keepalived-behaviour.md §1.3: an omitted priority follows the state, 255 for MASTER.
    let (cfg, warnings) = sim::load_config(&keepalived_conf("    state MASTER"));
    assert_eq!(warnings, Vec::<String>::new());
    assert_eq!(cfg.instances[0].priority, 255);
    assert_eq!(cfg.instances[0].initial_state, WantedState::Master);
    let mut one = One::new(cfg);
    assert_eq!(one.state(), State::Master);
    assert_eq!(adverts(&one.take()), vec![255]);
    // …and 100 otherwise.
    let (cfg, _) = sim::load_config(&keepalived_conf("    state BACKUP"));
    assert_eq!(cfg.instances[0].priority, 100);
    let (cfg, _) = sim::load_config(&keepalived_conf(""));
    assert_eq!(
        (cfg.instances[0].priority, cfg.instances[0].initial_state),
        (100, WantedState::Backup)
    );
}

#[test]
fn preempt_delay_is_cleared_by_state_master_with_keepalived_warning() {
    // keepalived 2.2.7 (`keepalived -t -f FILE -l -D` on this very text) prints exactly:
    //   (VI_1) Warning - preempt delay will not work with initial state MASTER - clearing
    let (cfg, warnings) = sim::load_config(&keepalived_conf(
        "    state MASTER\n    priority 100\n    preempt_delay 10",
    ));
    assert_eq!(
        warnings,
        vec!["(VI_1) Warning - preempt delay will not work with initial state MASTER - clearing"]
    );
    assert_eq!(cfg.instances[0].preempt_delay, Duration::ZERO);
    // So a lower advert is discarded (no preempt delay window) and Master_Down_Interval runs out
    // on schedule.
    let mut one = One::new(cfg);
    let start = one.now;
    one.advance(SEC);
    one.advert(2, 50);
    let out = one.take();
    assert!(has_line(
        &out,
        "(VI_1) received lower priority (50) advert from 10.0.0.2 - discarding"
    ));
    assert!(!lines(&out).iter().any(|l| l.contains("preempt delay")));
    one.advance(Duration::from_nanos(2_609_375_000));
    assert_eq!(one.state(), State::Master);
    assert_eq!(
        one.status().since.saturating_since(start),
        Duration::from_nanos(3_609_375_000)
    );
}

#[test]
fn v3_master_stepping_down_adopts_the_advertised_interval_and_times_from_receive_time() {
    let mut cfg = vi(100);
    cfg.version = Version::V3;
    let mut one = One::with(cfg);
    one.advance(4 * SEC);
    assert_eq!(one.state(), State::Master);
    assert_eq!(one.status().master_adver_int, 100);
    // The higher master advertises every 0.5 s; its advert reached the kernel 30 ms before the
    // engine sees it (a busy daemon).
    let received = one.now;
    one.now = received + Duration::from_millis(30);
    let mut rx = one.rx(2, 150);
    rx.version = Version::V3;
    rx.auth = None;
    rx.max_advert_int = 50;
    rx.recv_time = received;
    one.feed(rx);
    let st = one.status();
    assert_eq!(st.state, State::Backup);
    assert_eq!(st.master_adver_int, 50);
    assert_eq!(st.last_advert, Some(received));
    // Master_Down_Interval = 3 × 0.5 s + (256 − 100) × 0.5 s / 256, from the receive time.
    let mdi = Duration::from_nanos(1_500_000_000 + 304_687_500);
    assert_eq!(st.master_down_interval, mdi);
    assert_eq!(one.e.poll_timeout(), Some(received + mdi));
    one.advance(mdi - Duration::from_millis(30) - Duration::from_nanos(1));
    assert_eq!(one.state(), State::Backup);
    one.advance(Duration::from_nanos(1));
    assert_eq!(one.state(), State::Master);
}

/// The MASTER transition among `out`, with our measured reason (`{:#}`).
fn master_transition_line(out: &[Action]) -> String {
    out.iter()
        .find(|a| {
            matches!(
                a,
                Action::Transition {
                    to: State::Master,
                    ..
                }
            )
        })
        .map(|a| format!("{a:#}"))
        .expect("a MASTER transition")
}

#[test]
fn master_down_log_reason_gives_the_measured_times() {
    // An advert was heard: the reason says how long ago, and how late the timer ran (the
    // daemon woke 84 µs after the deadline).
    let mut one = One::with(vi(100));
    one.advance(SEC);
    let heard = one.now;
    one.advert(2, 150);
    one.take();
    let mdi = Duration::from_nanos(3_609_375_000);
    assert_eq!(one.e.poll_timeout(), Some(heard + mdi));
    one.now = heard + mdi + Duration::from_micros(84);
    one.e.handle_timeout(one.now);
    let out = one.take();
    assert_eq!(
        master_transition_line(&out),
        "(VI_1) Entering MASTER STATE (no advert for 3.609 s, 84.00 µs past master_down_interval 3.609 s)"
    );
    // keepalived's own line stays as operators grep for it.
    assert!(has_line(&out, "(VI_1) Entering MASTER STATE"));

    // Nothing ever heard since start-up.
    let mut one = One::with(vi(100));
    let start = one.now;
    one.take();
    one.now = start + mdi + Duration::from_micros(1500);
    one.e.handle_timeout(one.now);
    assert_eq!(
        master_transition_line(&one.take()),
        "(VI_1) Entering MASTER STATE (no advert heard, 1.50 ms past master_down_interval 3.609 s)"
    );
}

// ===== repeats =====

/// An instance in one of the states a repeat can meet, with the rules that act on repeats.
fn repeat_subject(
    priority: u8,
    v3: bool,
    nopreempt: bool,
    preempt_delay: bool,
    lower_prio_no_advert: bool,
    as_master: bool,
    grouped: bool,
) -> One {
    let mut cfg = vi(priority);
    if v3 {
        cfg.version = Version::V3;
    }
    cfg.nopreempt = nopreempt;
    if preempt_delay {
        cfg.preempt_delay = 2 * SEC;
    }
    cfg.lower_prio_no_advert = lower_prio_no_advert;
    let mut one = if grouped {
        // A sync group member: what the repeats do to VI_1 moves its group too.
        let mut other = instance("VI_2", 2, priority, "10.0.0.200".parse().unwrap());
        other.version = cfg.version;
        One::new(EngineConfig {
            instances: vec![cfg, other],
            sync_groups: vec![SyncGroupConfig {
                name: "G".into(),
                members: vec!["VI_1".into(), "VI_2".into()],
            }],
            ..EngineConfig::default()
        })
    } else {
        One::with(cfg)
    };
    if as_master {
        one.advance(4 * SEC);
    } else {
        one.advance(SEC);
    }
    one.take();
    one
}

proptest::proptest! {
    /// `handle_repeated(n)` is `n` calls of `handle`: the same actions in the same order, the
    /// same counters and state, and the same behaviour afterwards, whatever the advert meets
    /// (backup or master, higher, equal, lower or zero priority, a wrong TTL, version or
    /// interval, preempt_delay, nopreempt).
    #[test]
    fn repeats_fold_like_one_advert_each(
        ours in 1u8..=254,
        theirs in 0u8..=255,
        src in 2u8..=3,
        ttl_ok in proptest::bool::weighted(0.8),
        v3 in proptest::bool::ANY,
        advert_v3 in proptest::bool::ANY,
        interval_ok in proptest::bool::weighted(0.8),
        nopreempt in proptest::bool::ANY,
        preempt_delay in proptest::bool::ANY,
        lower_prio_no_advert in proptest::bool::ANY,
        as_master in proptest::bool::ANY,
        grouped in proptest::bool::ANY,
        heard_first in proptest::bool::ANY,
        times in 1u64..=7,
    ) {
        let mut a = repeat_subject(
            ours,
            v3,
            nopreempt,
            preempt_delay,
            lower_prio_no_advert,
            as_master,
            grouped,
        );
        if heard_first {
            // A master already known, so the repeats meet a backup that has learned one.
            a.advert(src, 255);
            a.take();
        }
        let mut rx = a.rx(src, theirs);
        rx.ttl = if ttl_ok { 255 } else { 254 };
        rx.version = if advert_v3 { Version::V3 } else { Version::V2 };
        if advert_v3 {
            rx.auth = None;
        }
        if !interval_ok {
            rx.max_advert_int = 200;
        }
        let input = on_eth0(rx);
        let mut b = One { e: a.e.clone(), now: a.now, out: Vec::new() };
        a.e.handle_repeated(a.now, input.clone(), times);
        for _ in 0..times {
            b.e.handle(b.now, input.clone());
        }
        proptest::prop_assert_eq!(a.take(), b.take());
        proptest::prop_assert_eq!(a.e.instances().collect::<Vec<_>>(), b.e.instances().collect::<Vec<_>>());
        proptest::prop_assert_eq!(a.e.next_timer(), b.e.next_timer());
        // And what follows: the timers run alike.
        a.advance(10 * SEC);
        b.advance(10 * SEC);
        proptest::prop_assert_eq!(a.take(), b.take());
        proptest::prop_assert_eq!(a.e.instances().collect::<Vec<_>>(), b.e.instances().collect::<Vec<_>>());
    }
}

#[test]
fn a_steady_backups_repeats_are_counted_each() {
    let mut one = One::with(vi(100));
    one.advance(SEC);
    one.advert(2, 150);
    one.take();
    let before = one.status().stats.advert_rcvd;
    let rx = one.rx(2, 150);
    one.e.handle_repeated(one.now, on_eth0(rx), 1000);
    assert!(one.take().is_empty());
    assert_eq!(one.status().stats.advert_rcvd, before + 1000);
    assert_eq!(one.state(), State::Backup);
}
