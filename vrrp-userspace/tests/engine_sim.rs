//! Several engines on the simulated LAN: the seed scenarios (examples/, loaded as the daemon loads
//! them) and property tests of the election as a whole.

mod sim;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use proptest::prelude::*;
use sim::{Lan, Link, MS, SEC, addr, config, instance, seed_config};
use vrrpd::engine::{
    EngineConfig, Family, Input, InstanceConfig, State, Tracked, TrackerId, TrackerState, Version,
    Vip, WantedState,
};
use vrrpd::time::Timestamp;

// ===== seed scenarios =====

const VIP1: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 200, 100));
const VIP2: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 200, 200));

fn chk_nginx(up: bool) -> Input {
    Input::TrackerChanged {
        tracker: TrackerId::Script("chk_nginx".into()),
        state: if up {
            TrackerState::Up
        } else {
            TrackerState::Down
        },
    }
}

/// A seed node whose chk_nginx reports OK from the start.
fn add_seed(lan: &mut Lan, name: &str, n: u8, file: &str) -> usize {
    let node = lan.add(name, addr(n), seed_config(file));
    lan.input(node, chk_nginx(true));
    node
}

fn master_backup() -> (Lan, usize, usize) {
    let mut lan = Lan::new(7);
    let master = add_seed(&mut lan, "master", 1, "master-backup.master.conf");
    let backup = add_seed(&mut lan, "backup", 2, "master-backup.backup.conf");
    (lan, master, backup)
}

fn vi<'a>(lan: &'a Lan, node: usize, name: &str) -> &'a InstanceConfig {
    lan.nodes[node]
        .config
        .instances
        .iter()
        .find(|i| i.name == name)
        .unwrap_or_else(|| panic!("{}: no {name}", lan.nodes[node].name))
}

#[test]
fn seed_master_backup_configs_lower_as_keepalived_resolves_them() {
    // What the seed files say, after keepalived's rules: `state MASTER` clears the master's
    // nopreempt, the backup keeps its own; both track chk_nginx with the script's weight −20.
    let (lan, master, backup) = master_backup();
    let chk = vec![Tracked {
        tracker: TrackerId::Script("chk_nginx".into()),
        weight: -20,
        reverse: false,
    }];
    let m = vi(&lan, master, "VI_1");
    assert_eq!((m.vrid, m.priority, m.advert_int), (50, 100, 100));
    assert_eq!((m.initial_state, m.nopreempt), (WantedState::Master, false));
    assert_eq!(m.trackers, chk);
    let b = vi(&lan, backup, "VI_1");
    assert_eq!((b.vrid, b.priority, b.advert_int), (50, 80, 100));
    assert_eq!((b.initial_state, b.nopreempt), (WantedState::Backup, true));
    assert_eq!(b.trackers, chk);
    assert_eq!(m.vips, vec![Vip::host(VIP1)]);
}

#[test]
fn seed_master_backup_elects_the_state_master_node_after_master_down() {
    let (mut lan, master, backup) = master_backup();
    lan.run_for(3 * SEC);
    assert!(lan.masters("VI_1").is_empty(), "state MASTER still waits");
    lan.run_for(2 * SEC);
    assert_eq!(lan.masters("VI_1"), vec![master]);
    assert!(lan.nodes[master].vips.contains(&VIP1));
    assert!(lan.nodes[backup].vips.is_empty());
    assert_eq!(lan.monitors["VI_1"].master_changes, 1);
}

#[test]
fn seed_master_backup_failed_chk_nginx_leaves_the_vip_because_80_equals_80() {
    // keepalived-behaviour.md §2.1: a weight too small to cross the other node's priority does
    // nothing. 100 − 20 = 80 equals the backup's 80, and the backup accepts equal priority
    // (and has nopreempt on top), so the VIP stays.
    let (mut lan, master, backup) = master_backup();
    lan.run_for(5 * SEC);
    lan.input(master, chk_nginx(false));
    lan.run_for(30 * SEC);
    assert_eq!(lan.masters("VI_1"), vec![master]);
    let seen = lan.nodes[backup].engine.instance("VI_1").unwrap();
    assert_eq!(seen.master_priority, Some(80));
    assert_eq!(lan.monitors["VI_1"].master_changes, 1);
}

#[test]
fn seed_master_backup_failed_chk_nginx_on_the_backup_changes_nothing() {
    let (mut lan, master, backup) = master_backup();
    lan.run_for(5 * SEC);
    lan.input(backup, chk_nginx(false));
    lan.run_for(30 * SEC);
    assert_eq!(lan.masters("VI_1"), vec![master]);
    let b = lan.nodes[backup].engine.instance("VI_1").unwrap();
    assert_eq!((b.state, b.effective_priority), (State::Backup, 60));
}

#[test]
fn failing_check_moves_the_vip_when_the_weight_crosses_the_backup() {
    // Not a seed: the seed pair with the weight raised to −30 and the backup's nopreempt
    // removed. 70 < 80, so the backup discards the master's adverts and takes over after
    // Master_Down_Interval.
    let mut lan = Lan::new(8);
    let mut m = seed_config("master-backup.master.conf");
    m.instances[0].trackers[0].weight = -30;
    let mut b = seed_config("master-backup.backup.conf");
    b.instances[0].nopreempt = false;
    let master = lan.add("master", addr(1), m);
    let backup = lan.add("backup", addr(2), b);
    lan.input(master, chk_nginx(true));
    lan.input(backup, chk_nginx(true));
    lan.run_for(5 * SEC);
    lan.input(master, chk_nginx(false));
    lan.run_for(5 * SEC);
    assert_eq!(lan.masters("VI_1"), vec![backup]);
    assert!(lan.nodes[backup].vips.contains(&VIP1));
    assert!(!lan.nodes[master].vips.contains(&VIP1));
}

#[test]
fn seed_master_backup_master_dies_and_comes_back_and_preempts() {
    let (mut lan, master, backup) = master_backup();
    lan.run_for(5 * SEC);
    lan.kill(master);
    lan.run_for(5 * SEC);
    assert_eq!(lan.masters("VI_1"), vec![backup]);
    // keepalived: the failed master returns; its nopreempt was cleared by `state MASTER`, so it
    // starts in BACKUP, discards the backup's lower adverts and takes the VIP back after
    // Master_Down_Interval. The backup's own nopreempt does not stop that: it only keeps a
    // backup from preempting.
    lan.restart(master);
    lan.run_for(SEC);
    assert_eq!(lan.nodes[master].state("VI_1"), State::Backup);
    lan.run_for(4 * SEC);
    assert_eq!(lan.masters("VI_1"), vec![master]);
    assert!(lan.nodes[master].vips.contains(&VIP1));
    assert!(lan.nodes[backup].vips.is_empty());
}

#[test]
fn seed_master_comes_back_with_chk_nginx_still_failing_and_preempts_once_it_recovers() {
    let (mut lan, master, backup) = master_backup();
    lan.run_for(5 * SEC);
    lan.input(master, chk_nginx(false));
    lan.kill(master);
    lan.run_for(5 * SEC);
    assert_eq!(lan.masters("VI_1"), vec![backup]);
    // Back at 100 − 20 = 80, equal to the backup's 80: a backup accepts equal priority, so it
    // does not take the VIP back.
    lan.restart(master);
    lan.run_for(20 * SEC);
    assert_eq!(lan.masters("VI_1"), vec![backup]);
    let m = lan.nodes[master].engine.instance("VI_1").unwrap();
    assert_eq!((m.state, m.effective_priority), (State::Backup, 80));
    // nginx recovers: 100 > 80, so it discards the backup's adverts and preempts after one
    // Master_Down_Interval (3 s + 156/256 s).
    let recovered = lan.now;
    lan.input(master, chk_nginx(true));
    lan.run_for(5 * SEC);
    assert_eq!(lan.masters("VI_1"), vec![master]);
    let took = lan.nodes[master].transitions_to("VI_1", State::Master);
    let took = took.last().unwrap().saturating_since(recovered);
    assert!(took <= Duration::from_nanos(3_609_375_000) + MS, "{took:?}");
}

#[test]
fn seed_master_backup_graceful_stop_hands_over_after_skew_time() {
    let (mut lan, master, backup) = master_backup();
    lan.run_for(5 * SEC);
    let t = lan.now;
    lan.shutdown(master);
    lan.run_for(2 * SEC);
    assert_eq!(lan.masters("VI_1"), vec![backup]);
    let took = lan.nodes[backup].transitions_to("VI_1", State::Master)[0].saturating_since(t);
    // v2 Skew_Time for priority 80: 176/256 s, plus the link delay.
    assert!(took <= Duration::from_nanos(687_500_000) + MS, "{took:?}");
}

fn dual_master() -> (Lan, usize, usize) {
    let mut lan = Lan::new(9);
    let one = add_seed(&mut lan, "one", 1, "dual-master.one.conf");
    let another = add_seed(&mut lan, "another", 2, "dual-master.another.conf");
    (lan, one, another)
}

#[test]
fn seed_dual_master_each_node_holds_one_vip() {
    let (mut lan, one, another) = dual_master();
    // Each node is `state MASTER` (nopreempt cleared) of one VRID and nopreempt BACKUP of the
    // other.
    assert!(!vi(&lan, one, "VI_1").nopreempt && vi(&lan, one, "VI_2").nopreempt);
    assert!(vi(&lan, another, "VI_1").nopreempt && !vi(&lan, another, "VI_2").nopreempt);
    lan.run_for(10 * SEC);
    assert_eq!(lan.masters("VI_1"), vec![one]);
    assert_eq!(lan.masters("VI_2"), vec![another]);
    assert_eq!(
        lan.nodes[one].vips.iter().copied().collect::<Vec<_>>(),
        vec![VIP1]
    );
    assert_eq!(
        lan.nodes[another].vips.iter().copied().collect::<Vec<_>>(),
        vec![VIP2]
    );
}

#[test]
fn seed_dual_master_survivor_takes_both_and_gives_back() {
    let (mut lan, one, another) = dual_master();
    lan.run_for(10 * SEC);
    lan.kill(one);
    lan.run_for(5 * SEC);
    assert_eq!(lan.masters("VI_1"), vec![another]);
    assert_eq!(lan.masters("VI_2"), vec![another]);
    lan.restart(one);
    lan.run_for(10 * SEC);
    assert_eq!(lan.masters("VI_1"), vec![one]);
    assert_eq!(lan.masters("VI_2"), vec![another]);
}

#[test]
fn seed_dual_master_failed_chk_nginx_moves_nothing() {
    // chk_nginx fails on `one`: VI_1 drops to 80, equal to another's nopreempt 80; VI_2 (backup
    // here) drops to 60. Neither crosses the peer, so both VIPs stay where they are.
    let (mut lan, one, another) = dual_master();
    lan.run_for(10 * SEC);
    lan.input(one, chk_nginx(false));
    lan.run_for(30 * SEC);
    assert_eq!(lan.masters("VI_1"), vec![one]);
    assert_eq!(lan.masters("VI_2"), vec![another]);
    assert_eq!(lan.monitors["VI_1"].master_changes, 1);
    assert_eq!(lan.monitors["VI_2"].master_changes, 1);
}

#[test]
fn vip_change_on_one_node_does_not_give_dual_master() {
    // keepalived issue #1603: the master is reloaded with one more VIP; keepalived 2.2.7 backups
    // then drop its adverts (address list mismatch) and become master too. We count the
    // mismatch and accept the advert (keepalived ≥ 2.3.3), so the election holds.
    let (mut lan, master, backup) = master_backup();
    lan.run_for(5 * SEC);
    let mut reloaded = lan.nodes[master].config.clone();
    reloaded.instances[0].vips.push(Vip::host(VIP2));
    lan.input(master, Input::Reload(reloaded));
    lan.run_for(30 * SEC);
    assert_eq!(lan.masters("VI_1"), vec![master]);
    assert_eq!(lan.monitors["VI_1"].longest_split, Duration::ZERO);
    let b = lan.nodes[backup].engine.instance("VI_1").unwrap();
    assert!(b.stats.addr_list_err >= 30, "{:?}", b.stats);
}

// ===== properties =====

/// keepalived's `preempt` / `nopreempt` / `preempt_delay` (exclusive: the config front end
/// clears preempt_delay under nopreempt).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Preempt {
    Yes,
    No,
    Delay(Duration),
}

/// One node's instance of one VRID.
#[derive(Clone, Debug)]
struct Member {
    base: u8,
    /// The weight of one tracker, and whether it reports OK.
    weight: i32,
    up: bool,
    /// Centiseconds.
    advert_int: u16,
    preempt: Preempt,
}

impl Member {
    /// keepalived-behaviour.md §2.1, computed independently of the engine: a negative weight
    /// counts while the tracker fails, a positive one while it is OK; clamped to 1..=254.
    fn effective(&self) -> u8 {
        let applies = if self.weight > 0 { self.up } else { !self.up };
        let adj = if applies { self.weight } else { 0 };
        (i32::from(self.base) + adj).clamp(1, 254) as u8
    }
}

#[derive(Clone, Debug)]
struct Scenario {
    version: Version,
    family: Family,
    nodes: usize,
    /// Per VRID (7, 8, …), per node.
    vrids: Vec<Vec<Member>>,
}

const FIRST_VRID: u8 = 7;

fn vrid_name(v: usize) -> String {
    format!("VI_{}", usize::from(FIRST_VRID) + v)
}

fn vip_of(family: Family, v: usize) -> IpAddr {
    match family {
        Family::Ipv4 => IpAddr::V4(Ipv4Addr::new(192, 168, 100 + v as u8, 1)),
        Family::Ipv6 => IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, v as u16 + 1, 1)),
    }
}

fn tracker(v: usize) -> TrackerId {
    TrackerId::Script(format!("chk_{v}"))
}

/// RFC 5798 §6.1 Master_Down_Interval (3 adverts, keepalived's default) in nanoseconds, for an
/// instance of `priority` timing a master that advertises every `centis`. Written out here
/// rather than read from the engine, so the properties check the engine's arithmetic too.
fn master_down_interval(version: Version, priority: u8, centis: u16) -> Duration {
    let interval = u64::from(centis) * 10_000_000;
    let weight = 256 - u64::from(priority);
    let skew = match version {
        Version::V2 => weight * 1_000_000_000 / 256,
        Version::V3 => weight * interval / 256,
    };
    Duration::from_nanos(3 * interval + skew)
}

impl Scenario {
    fn config(&self, node: usize) -> EngineConfig {
        let instances = self
            .vrids
            .iter()
            .enumerate()
            .map(|(v, members)| {
                let m = &members[node];
                let mut c = instance(
                    &vrid_name(v),
                    FIRST_VRID + v as u8,
                    m.base,
                    vip_of(self.family, v),
                );
                c.version = self.version;
                c.advert_int = m.advert_int;
                c.nopreempt = m.preempt == Preempt::No;
                if let Preempt::Delay(d) = m.preempt {
                    c.preempt_delay = d;
                }
                c.trackers = vec![Tracked {
                    tracker: tracker(v),
                    weight: m.weight,
                    reverse: false,
                }];
                c
            })
            .collect();
        config(instances)
    }

    /// Every node started at the same instant; fixed link delay, no loss.
    fn lan(&self, seed: u64, link: Link) -> Lan {
        let mut lan = Lan::new(seed);
        lan.default_link = link;
        for node in 0..self.nodes {
            // Node i gets 10.0.0.(i+1) / fe80::(i+1): a higher index is a higher address.
            let n = lan.add(&format!("n{node}"), addr(node as u8 + 1), self.config(node));
            for (v, members) in self.vrids.iter().enumerate() {
                let state = if members[node].up {
                    TrackerState::Up
                } else {
                    TrackerState::Down
                };
                lan.input(
                    n,
                    Input::TrackerChanged {
                        tracker: tracker(v),
                        state,
                    },
                );
            }
        }
        lan
    }

    /// The start-up Master_Down_Interval of each node of VRID `v` (own interval, effective
    /// priority): when its timer fires if nothing resets it.
    fn init_timeouts(&self, v: usize) -> Vec<Duration> {
        self.vrids[v]
            .iter()
            .map(|m| master_down_interval(self.version, m.effective(), m.advert_int))
            .collect()
    }

    /// Long enough for any election to end: the last start-up timeout, the longest
    /// preempt_delay, then a few Master_Down_Intervals for the takeovers that follow.
    fn settle_time(&self) -> Duration {
        let longest_mdi = (0..self.vrids.len())
            .flat_map(|v| self.init_timeouts(v))
            .chain(self.vrids.iter().flatten().map(|m| {
                // A backup may time a slower master than itself (v3: it learns the interval).
                master_down_interval(self.version, 1, m.advert_int)
            }))
            .max()
            .unwrap();
        let longest_delay = self
            .vrids
            .iter()
            .flatten()
            .filter_map(|m| match m.preempt {
                Preempt::Delay(d) => Some(d),
                _ => None,
            })
            .max()
            .unwrap_or_default();
        longest_delay + 4 * longest_mdi + SEC
    }

    /// The longest advert interval in use.
    fn slowest(&self) -> Duration {
        let centis = self
            .vrids
            .iter()
            .flatten()
            .map(|m| m.advert_int)
            .max()
            .unwrap();
        Duration::from_millis(u64::from(centis) * 10)
    }
}

/// The fixed link delay of the election properties: with no jitter, who hears whom before their
/// own timer fires is decided by this alone.
const DELAY: Duration = Duration::from_micros(200);

fn fixed_link() -> Link {
    Link {
        delay: DELAY,
        jitter: Duration::ZERO,
        loss_permille: 0,
    }
}

/// Who ends up master of VRID `v` when every node starts at once on a lossless LAN with link
/// delay [`DELAY`], by RFC 5798 §6.4 and keepalived's rules (keepalived-behaviour.md §2.3, §2.5),
/// worked out without running the engine:
/// - nodes time out in the order of their start-up Master_Down_Interval. One that has heard an
///   advert it accepts (any advert under nopreempt or inside a preempt_delay window, else one of
///   priority ≥ its own) stays BACKUP for good: masters are only ever replaced by higher ones,
///   whose adverts it accepts too. One that has not becomes MASTER;
/// - masters at the same time resolve by priority, then the higher address (§6.4.3);
/// - a preempt_delay node that accepted lower adverts in its window takes over later (pending).
///
/// So the master is the highest effective priority unless nopreempt (or a preempt_delay window
/// that let a lower master in first) says otherwise, and "ties: highest address" decides between
/// equal nodes that are master at once: a backup never preempts an equal master.
///
/// `None`: the outcome hangs on what the model does not compute (a timeout within a few µs of
/// an advert's arrival; when exactly a pending preempt_delay node takes over, where that
/// matters).
fn predicted_master(s: &Scenario, v: usize) -> Option<usize> {
    let members = &s.vrids[v];
    let eff: Vec<u8> = members.iter().map(Member::effective).collect();
    let fire = s.init_timeouts(v);
    let mut order: Vec<usize> = (0..members.len()).collect();
    order.sort_by_key(|&i| fire[i]);
    // (node, when it became master)
    let mut masters: Vec<(usize, Duration)> = Vec::new();
    let mut pending: Vec<usize> = Vec::new();
    for &n in &order {
        let t = fire[n];
        if masters
            .iter()
            .any(|&(_, at)| (at + DELAY).abs_diff(t) < Duration::from_micros(5))
        {
            return None;
        }
        let heard: Vec<usize> = masters
            .iter()
            .filter(|&&(_, at)| at + DELAY <= t)
            .map(|&(m, _)| m)
            .collect();
        let settles = heard
            .iter()
            .any(|&m| members[n].preempt == Preempt::No || eff[m] >= eff[n]);
        let in_window = matches!(members[n].preempt, Preempt::Delay(_)) && !heard.is_empty();
        if settles {
            continue;
        }
        if in_window {
            pending.push(n);
        } else {
            masters.push((n, t));
        }
    }
    if pending.is_empty() {
        return masters.iter().map(|&(m, _)| m).max_by_key(|&m| (eff[m], m));
    }
    // A pending node may be master before later nodes time out, and change what they hear.
    // Decided only when one node is strictly above every other that ever masters and nothing
    // can stop it: a pending node (it takes over once its window ends), or a preempting master
    // (it discards every lower advert, so it times out when the model says).
    let contenders: Vec<usize> = masters
        .iter()
        .map(|&(m, _)| m)
        .chain(pending.clone())
        .collect();
    let top = contenders.iter().map(|&c| eff[c]).max()?;
    let mut at_top = contenders.iter().filter(|&&c| eff[c] == top);
    let winner = *at_top.next()?;
    if at_top.next().is_some() {
        return None;
    }
    (pending.contains(&winner) || members[winner].preempt == Preempt::Yes).then_some(winner)
}

fn member(advert_int: impl Strategy<Value = u16>) -> impl Strategy<Value = Member> {
    let preempt = prop_oneof![
        3 => Just(Preempt::Yes),
        1 => Just(Preempt::No),
        1 => (1u64..=5).prop_map(|s| Preempt::Delay(Duration::from_secs(s))),
    ];
    // Weight 0 is not a priority change but FAULT when failed (§2.1), so it is left out.
    let weight = prop_oneof![-60i32..=-1, 1i32..=60];
    (1u8..=254, weight, any::<bool>(), advert_int, preempt).prop_map(
        |(base, weight, up, advert_int, preempt)| Member {
            base,
            weight,
            up,
            advert_int,
            preempt,
        },
    )
}

/// The members of one VRID. v2 requires every node to advertise the same whole-second interval
/// (a mismatch is dropped); under v3 each node has its own interval, 0.01–1 s.
fn vrid(version: Version, nodes: usize) -> BoxedStrategy<Vec<Member>> {
    match version {
        Version::V2 => (1u16..=2)
            .prop_flat_map(move |secs| prop::collection::vec(member(Just(secs * 100)), nodes))
            .boxed(),
        Version::V3 => prop_oneof![
            prop::collection::vec(member(1u16..=100), nodes),
            (1u16..=100).prop_flat_map(move |c| prop::collection::vec(member(Just(c)), nodes)),
        ]
        .boxed(),
    }
}

fn scenario() -> impl Strategy<Value = Scenario> {
    let proto = prop_oneof![
        Just((Version::V2, Family::Ipv4)),
        Just((Version::V3, Family::Ipv4)),
        Just((Version::V3, Family::Ipv6)),
    ];
    (proto, 2usize..=4, 1usize..=3).prop_flat_map(|((version, family), nodes, vrids)| {
        prop::collection::vec(vrid(version, nodes), vrids).prop_map(move |vrids| Scenario {
            version,
            family,
            nodes,
            vrids,
        })
    })
}

/// The settled LAN of `s` and each VRID's predicted master (rejects undecided cases).
fn settled(s: &Scenario, seed: u64) -> Result<(Lan, Vec<usize>), TestCaseError> {
    let mut predicted = Vec::new();
    for v in 0..s.vrids.len() {
        match predicted_master(s, v) {
            Some(m) => predicted.push(m),
            None => return Err(TestCaseError::reject("race the model does not decide")),
        }
    }
    let mut lan = s.lan(seed, fixed_link());
    lan.run_for(s.settle_time());
    Ok((lan, predicted))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// Once stable, exactly one master per VRID, the predicted one, and no flapping while the
    /// inputs stay the same.
    #[test]
    fn one_master_per_vrid_and_it_is_the_best(s in scenario(), seed in any::<u64>()) {
        let (mut lan, predicted) = settled(&s, seed)?;
        let mut changes = Vec::new();
        for (v, &m) in predicted.iter().enumerate() {
            let name = vrid_name(v);
            prop_assert_eq!(lan.masters(&name), vec![m], "{}", name);
            // The engine's effective priority is what the test computes.
            let st = lan.nodes[m].engine.instance(&name).unwrap();
            prop_assert_eq!(st.effective_priority, s.vrids[v][m].effective());
            changes.push(lan.monitors[&name].master_changes);
        }
        let transitions: Vec<u64> = lan
            .nodes
            .iter()
            .flat_map(|n| n.engine.instances().map(|i| i.transitions).collect::<Vec<_>>())
            .collect();
        // Constant inputs: a hundred adverts of the slowest node (at least 10 s) change nothing.
        lan.run_for((100 * s.slowest()).max(10 * SEC));
        for (v, &m) in predicted.iter().enumerate() {
            let name = vrid_name(v);
            prop_assert_eq!(lan.masters(&name), vec![m], "{}", name);
            prop_assert_eq!(lan.monitors[&name].master_changes, changes[v], "{} flapped", name);
        }
        let after: Vec<u64> = lan
            .nodes
            .iter()
            .flat_map(|n| n.engine.instances().map(|i| i.transitions).collect::<Vec<_>>())
            .collect();
        prop_assert_eq!(after, transitions);
    }

    /// The master of the first VRID crashes: for every VRID it held, the best survivor takes
    /// over exactly Master_Down_Interval (its priority, the dead master's interval) after the
    /// last advert it heard, within one 1 ms tick; the other VRIDs do not move.
    #[test]
    fn new_master_within_master_down_interval_of_the_last_advert(
        s in scenario(),
        seed in any::<u64>(),
    ) {
        let (mut lan, predicted) = settled(&s, seed)?;
        let dead = predicted[0];
        let died = lan.now;
        lan.kill(dead);
        lan.run_for(s.settle_time());
        for (v, &old) in predicted.iter().enumerate() {
            let name = vrid_name(v);
            let masters = lan.masters(&name);
            if old != dead {
                prop_assert_eq!(masters, vec![old], "{}", name);
                continue;
            }
            let members = &s.vrids[v];
            let new = (0..s.nodes)
                .filter(|&n| n != dead)
                .max_by_key(|&n| (members[n].effective(), n))
                .unwrap();
            prop_assert_eq!(masters, vec![new], "{}", name);
            let vrid = FIRST_VRID + v as u8;
            let last = lan.last_rx[&(new, dead, s.family, vrid)];
            // An advert already on the wire when the master crashed still arrives.
            prop_assert!(last <= died + DELAY);
            let took = lan.nodes[new].transitions_to(&name, State::Master);
            let took = *took.iter().find(|&&t| t > died).expect("a takeover after the crash");
            let mdi = master_down_interval(
                s.version,
                members[new].effective(),
                members[dead].advert_int,
            );
            prop_assert!(took >= last + mdi, "{}: early {:?}", name, (last + mdi).saturating_since(took));
            prop_assert!(took <= last + mdi + MS, "{}: late {:?}", name, took.saturating_since(last + mdi));
        }
    }

    /// nopreempt on the higher node keeps a lower master that was there first.
    #[test]
    fn nopreempt_keeps_a_lower_master(
        seed in any::<u64>(),
        (version, family) in prop_oneof![
            Just((Version::V2, Family::Ipv4)),
            Just((Version::V3, Family::Ipv6)),
        ],
        low in 1u8..=200,
        above in 1u8..=54,
    ) {
        let vi = |priority: u8, nopreempt: bool| {
            let mut c = instance("VI", 7, priority, vip_of(family, 0));
            c.version = version;
            c.nopreempt = nopreempt;
            config(vec![c])
        };
        let mut lan = Lan::new(seed);
        let first = lan.add("low", addr(1), vi(low, false));
        lan.run_for(5 * SEC);
        lan.add("high", addr(2), vi(low + above, true));
        lan.run_for(60 * SEC);
        prop_assert_eq!(lan.masters("VI"), vec![first]);
    }

    /// preempt_delay holds a higher node back: it takes over no sooner than preempt_delay after
    /// the first lower advert it heard, and no later than preempt_delay plus one interval plus
    /// Master_Down_Interval.
    #[test]
    fn preempt_delay_holds_back_then_preempts(
        seed in any::<u64>(),
        delay_s in 1u64..=10,
        low in 1u8..=200,
        above in 1u8..=54,
    ) {
        let delay = Duration::from_secs(delay_s);
        let mut lan = Lan::new(seed);
        lan.default_link = fixed_link();
        let first = lan.add("low", addr(1), config(vec![instance("VI", 7, low, VIP1)]));
        lan.run_for(5 * SEC);
        let mut high = instance("VI", 7, low + above, VIP1);
        high.preempt_delay = delay;
        let joined = lan.now;
        let h = lan.add("high", addr(2), config(vec![high]));
        lan.run_for(delay + 10 * SEC);
        prop_assert_eq!(lan.masters("VI"), vec![h]);
        prop_assert_eq!(lan.nodes[first].state("VI"), State::Backup);
        let took = lan.nodes[h].transitions_to("VI", State::Master)[0];
        // The first advert of the low master reaches it within one interval of joining.
        prop_assert!(took >= joined + delay, "{:?}", took.saturating_since(joined));
        let mdi = master_down_interval(Version::V2, low + above, 100);
        prop_assert!(took <= joined + SEC + DELAY + delay + SEC + mdi);
    }

    /// Jitter larger than the advert interval (v3, 0.05–0.2 s): adverts overtake each other, yet
    /// the gap between two arrivals stays below Master_Down_Interval, so the election is as
    /// without jitter and stays put.
    #[test]
    fn reordering_jitter_above_the_interval_changes_nothing(
        seed in any::<u64>(),
        centis in 5u16..=20,
        prios in prop::collection::vec(1u8..=254, 2..=4),
    ) {
        let interval = Duration::from_millis(u64::from(centis) * 10);
        let mut lan = Lan::new(seed);
        // Jitter in (1, 2) intervals: reordering, but arrival gaps < 3 intervals.
        lan.default_link = Link {
            delay: DELAY,
            jitter: interval * 3 / 2,
            loss_permille: 0,
        };
        for (i, &p) in prios.iter().enumerate() {
            let mut c = instance("VI", 7, p, vip_of(Family::Ipv6, 0));
            c.advert_int = centis;
            lan.add(&format!("n{i}"), addr(i as u8 + 1), config(vec![c]));
        }
        lan.run_for(10 * SEC);
        let best = (0..prios.len()).max_by_key(|&i| (prios[i], i)).unwrap();
        prop_assert_eq!(lan.masters("VI"), vec![best]);
        let changes = lan.monitors["VI"].master_changes;
        lan.run_for(60 * SEC);
        prop_assert!(lan.reordered > 0, "the jitter reordered nothing");
        prop_assert_eq!(lan.masters("VI"), vec![best]);
        prop_assert_eq!(lan.monitors["VI"].master_changes, changes);
    }
}

/// 10 % loss on every link, three nodes (priorities 150, 100, 50), default 3-advert timers,
/// advert_int 1 s.
fn lossy_lan(seed: u64) -> Lan {
    let mut lan = Lan::new(seed);
    lan.default_link = Link {
        delay: Duration::from_micros(200),
        jitter: Duration::from_micros(300),
        loss_permille: 100,
    };
    for (i, p) in [150u8, 100, 50].into_iter().enumerate() {
        lan.add(
            &format!("n{i}"),
            addr(i as u8 + 1),
            config(vec![instance("VI", 7, p, VIP1)]),
        );
    }
    lan
}

/// What a split may last beyond whole intervals: the real master hears the false one up to one
/// worst link delay (500 µs) after the split began and restarts its Adver_Timer as it answers,
/// and its advert takes up to one more to arrive.
const LOSSY_SLACK: Duration = Duration::from_micros(1000);

/// Lost adverts from the best node (n0, master once elected: nothing outranks it) to the other
/// masters of a split, while it lasted: each one can stretch it by one interval.
fn lost_during(lan: &Lan, split: &sim::Split) -> u32 {
    let end = split.end.unwrap_or(lan.now);
    lan.lost
        .iter()
        .filter(|l| l.instance == "VI" && l.from == 0 && l.to != 0 && split.masters.contains(&l.to))
        .filter(|l| l.at >= split.start && l.at < end)
        .count() as u32
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// With 10 % loss a backup now and then misses three adverts and takes over. That split brain
    /// lasts no longer than one advert interval (plus [`LOSSY_SLACK`]): the new master's
    /// first advert makes the real one answer at once, and the real one advertises at least once
    /// an interval anyway. The only thing that stretches it is the loss of those very adverts:
    /// one interval more for each advert from the real master to the false one that the link
    /// dropped during the split. (10 % loss does drop two in a row now and then, about once in
    /// a hundred false takeovers, so "never longer than one interval" cannot hold for every
    /// seed: it is checked for every split that lost none of them.)
    #[test]
    fn lossy_lan_split_brain_never_outlasts_one_interval(seed in any::<u64>()) {
        let mut lan = lossy_lan(seed);
        lan.run_for(3600 * SEC);
        for split in &lan.monitors["VI"].splits {
            let end = split.end.unwrap_or(lan.now);
            let lasted = end.saturating_since(split.start);
            let lost = lost_during(&lan, split);
            prop_assert!(
                lasted <= SEC * (lost + 1) + LOSSY_SLACK,
                "split brain {:?} for {:?} with {} adverts lost", split, lasted, lost
            );
        }
        // The hour may end inside a split (about one seed in thirty): then the false master
        // belongs to the open split, whose length so far was bounded above like the others.
        let masters = lan.masters("VI");
        prop_assert!(masters.contains(&0), "the best node is not master: {:?}", masters);
        if masters.len() > 1 {
            let open = lan.monitors["VI"].splits.last().filter(|s| s.end.is_none());
            prop_assert!(open.is_some(), "masters {:?} outside any split", masters);
        }
    }
}

#[test]
fn lossy_lan_does_cause_false_takeovers() {
    // The property above is not vacuous: with these seeds the loss does make backups take over
    // (one change per seed is the initial election), and each split stays within one interval.
    let mut splits = 0;
    for seed in 1..=4 {
        let mut lan = lossy_lan(seed);
        lan.run_for(3600 * SEC);
        let m = &lan.monitors["VI"];
        assert!(
            m.longest_split <= SEC + LOSSY_SLACK,
            "seed {seed}: {:?}",
            m.longest_split
        );
        assert!(m.master_changes > 1, "seed {seed}");
        splits += m.splits.len();
    }
    assert!(splits >= 8, "{splits}");
}

#[test]
fn partition_gives_two_masters_and_healing_restores_one() {
    let mut lan = Lan::new(3);
    for (i, p) in [200u8, 100].into_iter().enumerate() {
        lan.add(
            &format!("n{i}"),
            addr(i as u8 + 1),
            config(vec![instance("VI", 7, p, VIP1)]),
        );
    }
    lan.run_for(10 * SEC);
    assert_eq!(lan.masters("VI"), vec![0]);
    lan.partition(&[0], &[1]);
    lan.run_for(10 * SEC);
    assert_eq!(lan.masters("VI"), vec![0, 1]);
    lan.heal();
    lan.run_for(3 * SEC);
    assert_eq!(lan.masters("VI"), vec![0]);
}

#[test]
fn owner_preempts_immediately_on_start() {
    let mut lan = Lan::new(4);
    lan.add("n0", addr(1), config(vec![instance("VI", 7, 100, VIP1)]));
    lan.run_for(10 * SEC);
    let mut owner = instance("VI", 7, 255, VIP1);
    owner.initial_state = WantedState::Master;
    let o = lan.add("owner", addr(9), config(vec![owner]));
    let t: Timestamp = lan.now;
    lan.run_for(SEC);
    assert_eq!(lan.masters("VI"), vec![o]);
    let took = lan.nodes[o].transitions_to("VI", State::Master)[0].saturating_since(t);
    assert_eq!(took, Duration::ZERO);
}
