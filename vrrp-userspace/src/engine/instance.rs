//! One virtual router's protocol state (RFC 5798 §6.1 parameters and §6.2 variables): its timing
//! arithmetic and keepalived's receive checks. State *changes* live in `Engine::change_state`
//! (`mod.rs`), because sync groups make one instance's transition move others.

use core::time::Duration;
use std::collections::VecDeque;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::config::{Auth, Family, InstanceConfig, Version, Vip};
use super::fsm::{FaultReason, Reason, State};
use super::io::{Action, AdvertRx, AuthField};
use super::log::Log;
use super::stats::Stats;
use super::timer::{Timer, TimerTable};
use crate::time::Timestamp;

const NANOS_PER_CENTI: u64 = 10_000_000;
const NANOS_PER_SEC: u64 = 1_000_000_000;

#[derive(Clone)]
pub(crate) struct Instance {
    pub cfg: InstanceConfig,
    pub state: State,
    pub since: Timestamp,
    /// keepalived's `wantstate == MASTER`: the Master_Down_Timer ran out (or we are master).
    /// Sync groups wait until every member wants MASTER.
    pub wants_master: bool,
    pub effective_priority: u8,
    /// RFC 5798 §6.1 Master_Adver_Interval, centiseconds (v3 backups learn it from adverts).
    pub master_adver_int: u16,
    pub master_addr: Option<IpAddr>,
    pub master_priority: Option<u8>,
    /// Receive time of the last accepted advert.
    pub last_advert: Option<Timestamp>,
    pub transitions: u64,
    pub stats: Stats,
    pub timers: TimerTable,
    /// VIPs added and ARP/ND gate open.
    pub vips_installed: bool,
    /// End of the running preempt_delay window (keepalived's `preempt_time`).
    pub preempt_until: Option<Timestamp>,
    /// Why the armed Master_Down_Timer was armed specially (priority 0, owner start).
    pub down_reason: Option<Reason>,
    /// Fault conditions of this instance alone (not its sync group).
    pub own_fault: Option<FaultReason>,
    pub group: Option<usize>,
    /// keepalived's `rogue_counter`: our own adverts still to send, after another address owner
    /// was heard, before the rogue-owner window opens.
    pub rogue_counter: u8,
    /// The rogue owner's advertised interval, centiseconds.
    pub rogue_adver_int: u16,
    /// End of keepalived's rogue window: another owner heard until then did not back off.
    pub rogue_until: Option<Timestamp>,
    /// keepalived lowered this owner to 254 to end a two-owners stalemate.
    pub owner_demoted: bool,
    /// The current FAULT began at start-up (keepalived's `wantstate` still says what the
    /// configuration wants), not at run time (`down_instance` sets `wantstate = FAULT`).
    pub fault_from_init: bool,
    /// In FAULT (init) only because a weight-0 script has no result yet: nothing notified.
    pub init_hold: bool,
}

impl Instance {
    pub fn new(cfg: InstanceConfig, now: Timestamp) -> Instance {
        Instance {
            effective_priority: cfg.priority,
            master_adver_int: cfg.advert_int,
            cfg,
            state: State::Init,
            since: now,
            wants_master: false,
            master_addr: None,
            master_priority: None,
            last_advert: None,
            transitions: 0,
            stats: Stats::default(),
            timers: TimerTable::default(),
            vips_installed: false,
            preempt_until: None,
            down_reason: None,
            own_fault: None,
            group: None,
            rogue_counter: 0,
            rogue_adver_int: 0,
            rogue_until: None,
            owner_demoted: false,
            fault_from_init: false,
            init_hold: false,
        }
    }

    /// What the armed Master_Down_Timer counts from: the receive time of the advert that armed
    /// it (a full Master_Down_Interval, or Skew_Time after a priority-0 advert). `None` when
    /// none is armed or it is the owner's immediate start.
    pub fn master_down_base(&self) -> Option<Timestamp> {
        let deadline = self.timers.get(Timer::MasterDown)?;
        match self.down_reason {
            Some(Reason::Owner) => None,
            Some(Reason::PriorityZero { .. }) => Some(deadline - self.skew_time()),
            _ => Some(deadline - self.master_down_interval()),
        }
    }

    /// Re-arms the Master_Down_Timer from `base` with the current priority and interval, as
    /// keepalived moves `sands` when the down timer's length changes.
    pub fn rearm_master_down(&mut self, base: Timestamp) {
        let length = match self.down_reason {
            Some(Reason::PriorityZero { .. }) => self.skew_time(),
            _ => self.master_down_interval(),
        };
        self.timers.set(Timer::MasterDown, base + length);
    }

    pub fn is_owner(&self) -> bool {
        self.cfg.priority == 255
    }

    /// Our configured Advertisement_Interval.
    pub fn advert_interval(&self) -> Duration {
        Duration::from_nanos(u64::from(self.cfg.advert_int) * NANOS_PER_CENTI)
    }

    /// RFC 5798 §6.1 Skew_Time, exact in integer nanoseconds.
    pub fn skew_time(&self) -> Duration {
        let weight = 256 - u64::from(self.effective_priority);
        Duration::from_nanos(match self.cfg.version {
            // RFC 3768 §6.1: (256 − Priority) / 256 seconds.
            Version::V2 => weight * NANOS_PER_SEC / 256,
            // RFC 5798 §6.1: ((256 − Priority) × Master_Adver_Interval) / 256.
            Version::V3 => weight * u64::from(self.master_adver_int) * NANOS_PER_CENTI / 256,
        })
    }

    /// RFC 5798 §6.1 Master_Down_Interval with keepalived's `down_timer_adverts` in place of 3.
    pub fn master_down_interval(&self) -> Duration {
        let adverts = u64::from(self.cfg.down_timer_adverts.max(1));
        Duration::from_nanos(adverts * u64::from(self.master_adver_int) * NANOS_PER_CENTI)
            + self.skew_time()
    }

    /// Advertised VIPs then excluded ones: everything added on MASTER.
    pub fn all_vips(&self) -> Vec<Vip> {
        self.cfg
            .vips
            .iter()
            .chain(&self.cfg.excluded_vips)
            .cloned()
            .collect()
    }

    /// keepalived `vrrp_check_packet` (keepalived-behaviour.md §2.8) for the checks the daemon
    /// leaves to us, in keepalived's order. Counts every outcome; `false` = drop (the down timer
    /// is not reset).
    pub fn check_advert(&mut self, rx: &AdvertRx, out: &mut VecDeque<Action>) -> bool {
        let name = &self.cfg.name;
        let stats = &mut self.stats;
        let multicast_mode = self.cfg.unicast_peers.is_empty();
        // keepalived §2.8 step 3: TTL/hop limit 255, except in unicast mode.
        if multicast_mode && rx.ttl != 255 {
            stats.ip_ttl_err += 1;
            out.push_back(Action::Log(Log::InvalidTtl {
                instance: name.clone(),
                from: rx.src,
                ttl: rx.ttl,
            }));
            return false;
        }
        // §2.8 step 4: the version must match.
        if rx.version != self.cfg.version {
            stats.vers_err += 1;
            out.push_back(Action::Log(Log::WrongVersion {
                instance: name.clone(),
                from: rx.src,
            }));
            return false;
        }
        match self.cfg.version {
            Version::V2 => {
                // §2.8 step 5: auth type valid, equal to ours, password verifies.
                let auth = rx.auth.unwrap_or(AuthField {
                    auth_type: 0,
                    data: [0; 8],
                });
                if auth.auth_type > 2 {
                    stats.invalid_authtype += 1;
                    out.push_back(Action::Log(Log::InvalidAuthType {
                        instance: name.clone(),
                        from: rx.src,
                        auth_type: auth.auth_type,
                    }));
                    return false;
                }
                if auth.auth_type != self.cfg.auth.auth_type() {
                    stats.authtype_mismatch += 1;
                    out.push_back(Action::Log(Log::AuthTypeMismatch {
                        instance: name.clone(),
                        from: rx.src,
                        theirs: auth.auth_type,
                        ours: self.cfg.auth.auth_type(),
                    }));
                    return false;
                }
                if let Auth::Pass(password) = self.cfg.auth
                    && !constant_time_eq(&password, &auth.data)
                {
                    stats.auth_failure += 1;
                    out.push_back(Action::Log(Log::AuthFailure {
                        instance: name.clone(),
                        from: rx.src,
                    }));
                    return false;
                }
                // RFC 3768 §7.1 / keepalived: a v2 interval mismatch is dropped.
                if rx.max_advert_int != self.cfg.advert_int {
                    stats.advert_interval_err += 1;
                    out.push_back(Action::Log(Log::IntervalMismatch {
                        instance: name.clone(),
                        from: rx.src,
                        theirs: rx.max_advert_int,
                        ours: self.cfg.advert_int,
                    }));
                    return false;
                }
            }
            Version::V3 => {
                // §2.8 step 7: a v3 interval mismatch is only logged (once per new value).
                if rx.max_advert_int != self.cfg.advert_int
                    && rx.max_advert_int != self.master_adver_int
                {
                    out.push_back(Action::Log(Log::IntervalMismatch {
                        instance: name.clone(),
                        from: rx.src,
                        theirs: rx.max_advert_int,
                        ours: self.cfg.advert_int,
                    }));
                }
            }
        }
        // §2.8 step 8: multicast destination only in multicast mode, and vice versa (keepalived
        // counts it as an address list error).
        if rx.dst.is_multicast() != multicast_mode {
            stats.addr_list_err += 1;
            out.push_back(Action::Log(Log::DestinationMismatch {
                instance: name.clone(),
                from: rx.src,
                dst: rx.dst,
                unicast: !multicast_mode,
            }));
            return false;
        }
        // keepalived counts an advert as received once it passed every check so far, before
        // the VIP list (vrrp_check_packet): a malformed or refused one is only an error.
        stats.advert_rcvd += 1;
        // §2.8 step 9: a VIP list mismatch is counted and logged, and the advert accepted, as
        // keepalived ≥ 2.3.3 does. keepalived 2.2.7 (the version we are otherwise compared
        // with) drops it instead: reload one node with a new VIP and the other stops hearing
        // its master and becomes master too (keepalived issue #1603). Deliberately not copied.
        let skip = self.cfg.skip_check_adv_addr && self.master_addr == Some(rx.src);
        if !skip && !same_addresses(&self.cfg.vips, &rx.addrs) {
            stats.addr_list_err += 1;
            out.push_back(Action::Log(Log::AddrListMismatch {
                instance: name.clone(),
                from: rx.src,
            }));
        }
        // §2.8 step 10: with check_unicast_src the source must be a unicast peer (keepalived
        // logs and drops, counting nothing but advert_rcvd) and the TTL within that peer's
        // min_ttl/max_ttl (ip_ttl_err). keepalived 2.2.7 skips this step under
        // skip_check_adv_addr for the known master; we always check, so that a peer removed by a
        // reload is not still believed.
        if !multicast_mode && self.cfg.check_unicast_src {
            if !self.cfg.unicast_peers.contains(&rx.src) {
                out.push_back(Action::Log(Log::UnicastSrcNotPeer {
                    instance: name.clone(),
                    from: rx.src,
                }));
                return false;
            }
            if let Some(range) = self.cfg.unicast_peer_ttl.iter().find(|p| p.peer == rx.src)
                && !(range.min_ttl..=range.max_ttl).contains(&rx.ttl)
            {
                stats.ip_ttl_err += 1;
                out.push_back(Action::Log(Log::TtlOutOfRange {
                    instance: name.clone(),
                    from: rx.src,
                    ttl: rx.ttl,
                    min: range.min_ttl,
                    max: range.max_ttl,
                }));
                return false;
            }
        }
        if rx.priority == 0 {
            stats.pri_zero_rcvd += 1;
        }
        true
    }

    pub fn status(&self) -> InstanceStatus {
        InstanceStatus {
            name: self.cfg.name.clone(),
            interface: self.cfg.interface.clone(),
            family: self.cfg.family,
            vrid: self.cfg.vrid,
            state: self.state,
            since: self.since,
            base_priority: self.cfg.priority,
            effective_priority: self.effective_priority,
            master_addr: self.master_addr,
            master_priority: self.master_priority,
            master_adver_int: self.master_adver_int,
            master_down_interval: self.master_down_interval(),
            last_advert: self.last_advert,
            transitions: self.transitions,
            vips: self.all_vips(),
            gate_open: self.vips_installed,
            fault: self.own_fault.clone(),
            stats: self.stats,
        }
    }
}

/// A snapshot of one instance for status dumps (`SIGUSR1` data file, CLI).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceStatus {
    pub name: String,
    pub interface: String,
    pub family: Family,
    pub vrid: u8,
    pub state: State,
    /// When the current state was entered.
    pub since: Timestamp,
    pub base_priority: u8,
    pub effective_priority: u8,
    /// The current master's address (ours while MASTER), if known.
    pub master_addr: Option<IpAddr>,
    pub master_priority: Option<u8>,
    /// Master_Adver_Interval in use, centiseconds.
    pub master_adver_int: u16,
    pub master_down_interval: Duration,
    /// Receive time of the last accepted advert.
    pub last_advert: Option<Timestamp>,
    pub transitions: u64,
    /// VIPs and excluded VIPs.
    pub vips: Vec<Vip>,
    /// VIPs installed and the ARP/ND gate open.
    pub gate_open: bool,
    /// This instance's own fault condition, if any.
    pub fault: Option<FaultReason>,
    pub stats: Stats,
}

/// keepalived compares the password in constant time.
fn constant_time_eq(a: &[u8; 8], b: &[u8; 8]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// keepalived: same count, and every configured VIP present in the advert.
fn same_addresses(vips: &[Vip], addrs: &[IpAddr]) -> bool {
    vips.len() == addrs.len() && vips.iter().all(|v| addrs.contains(&v.addr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::config::{Family, PeerTtl};

    fn inst(version: Version, prio: u8, centis: u16) -> Instance {
        let mut cfg = InstanceConfig::new("VI_1", "eth0", Family::Ipv4, 1);
        cfg.version = version;
        cfg.priority = prio;
        cfg.advert_int = centis;
        Instance::new(cfg, Timestamp::ZERO)
    }

    #[test]
    fn skew_time_v3_is_exact_integer_nanoseconds() {
        // (256 − 100) × 1 s / 256 = 0.609375 s exactly.
        let i = inst(Version::V3, 100, 100);
        assert_eq!(i.skew_time(), Duration::from_nanos(609_375_000));
        // (256 − 200) × 0.37 s / 256 = 80.9375 ms.
        let i = inst(Version::V3, 200, 37);
        assert_eq!(i.skew_time(), Duration::from_nanos(80_937_500));
    }

    #[test]
    fn skew_time_v2_ignores_the_interval() {
        let i = inst(Version::V2, 100, 300);
        assert_eq!(i.skew_time(), Duration::from_nanos(609_375_000));
    }

    #[test]
    fn master_down_interval_is_three_intervals_plus_skew() {
        let i = inst(Version::V3, 100, 100);
        assert_eq!(
            i.master_down_interval(),
            Duration::from_nanos(3_609_375_000)
        );
        let mut i = inst(Version::V3, 254, 100);
        i.cfg.down_timer_adverts = 5;
        assert_eq!(
            i.master_down_interval(),
            Duration::from_nanos(5_000_000_000 + 7_812_500)
        );
    }

    fn unicast_rx(src: &str, ttl: u8) -> AdvertRx {
        AdvertRx {
            src: src.parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            ttl,
            version: Version::V3,
            vrid: 1,
            priority: 100,
            max_advert_int: 100,
            addrs: vec!["10.0.0.100".parse().unwrap()],
            auth: None,
            recv_time: Timestamp::ZERO,
        }
    }

    fn unicast_inst(check: bool, ttl: Vec<PeerTtl>) -> Instance {
        let mut i = inst(Version::V3, 100, 100);
        i.cfg.vips = vec![Vip::host("10.0.0.100".parse().unwrap())];
        i.cfg.unicast_peers = vec!["10.0.0.1".parse().unwrap(), "10.0.0.3".parse().unwrap()];
        i.cfg.check_unicast_src = check;
        i.cfg.unicast_peer_ttl = ttl;
        i
    }

    #[test]
    fn unicast_takes_any_ttl_and_any_source_without_check_unicast_src() {
        let mut i = unicast_inst(false, vec![]);
        let mut out = VecDeque::new();
        assert!(i.check_advert(&unicast_rx("10.0.0.1", 64), &mut out));
        assert!(i.check_advert(&unicast_rx("10.0.0.9", 1), &mut out));
        assert_eq!((i.stats.advert_rcvd, i.stats.ip_ttl_err), (2, 0));
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn check_unicast_src_drops_a_source_that_is_not_a_peer_counting_only_advert_rcvd() {
        let mut i = unicast_inst(true, vec![]);
        let mut out = VecDeque::new();
        assert!(!i.check_advert(&unicast_rx("10.0.0.9", 255), &mut out));
        let Some(Action::Log(log)) = out.pop_front() else {
            panic!("no log line");
        };
        assert_eq!(
            log.to_string(),
            "(VI_1) unicast source address 10.0.0.9 not a unicast peer"
        );
        // keepalived 2.2.7 counts this in advert_rcvd and nothing else.
        let expected = Stats {
            advert_rcvd: 1,
            ..Stats::default()
        };
        assert_eq!(i.stats, expected);
        assert!(i.check_advert(&unicast_rx("10.0.0.3", 64), &mut out));
    }

    #[test]
    fn peer_ttl_range_is_enforced_and_counted_as_ip_ttl_err() {
        let range = PeerTtl {
            peer: "10.0.0.1".parse().unwrap(),
            min_ttl: 60,
            max_ttl: 64,
        };
        let mut i = unicast_inst(true, vec![range]);
        let mut out = VecDeque::new();
        for ttl in [60, 64] {
            assert!(
                i.check_advert(&unicast_rx("10.0.0.1", ttl), &mut out),
                "{ttl}"
            );
        }
        for ttl in [59, 65, 255] {
            assert!(
                !i.check_advert(&unicast_rx("10.0.0.1", ttl), &mut out),
                "{ttl}"
            );
        }
        assert_eq!(i.stats.ip_ttl_err, 3);
        let Some(Action::Log(log)) = out.back() else {
            panic!("no log line");
        };
        assert_eq!(log.to_string(), "(VI_1) TTL/HL 255 not in range 60 - 64");
        // The other peer has keepalived's default range 0-255.
        assert!(i.check_advert(&unicast_rx("10.0.0.3", 1), &mut out));
        assert_eq!(i.stats.ip_ttl_err, 3);
    }

    #[test]
    fn password_compare() {
        assert!(constant_time_eq(b"secret\0\0", b"secret\0\0"));
        assert!(!constant_time_eq(b"secret\0\0", b"secreT\0\0"));
    }
}
