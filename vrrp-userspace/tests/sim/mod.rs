//! A simulated LAN for engine tests (quinn-proto `Pair` style): N engines on one segment, a
//! virtual clock, per-link delay / jitter (so reordering) / loss from a seeded PRNG, partitions,
//! crashes. `SendAdvert` actions become `Advert` inputs at the other nodes through [`wire`], the real
//! packet codec, so every advert the engines exchange is encoded, checksummed and verified.
//!
//! Every node has an IPv4 address 10.0.0.N and an IPv6 link-local twin fe80::N (see [`addr_of`]),
//! so IPv4 and IPv6 instances compare addresses in the same order.
#![allow(dead_code)]

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use vrrpd::config::{LoadOptions, Severity};
use vrrpd::daemon::advert;
use vrrpd::daemon::plan::Plan;
use vrrpd::engine::{
    Action, AdvertRx, AdvertTx, Engine, EngineConfig, Family, Input, InstanceConfig, State, Vip,
};
use vrrpd::packet::vrrp::{ChecksumMode, PseudoHeader, Repr};
use vrrpd::time::Timestamp;

pub const SEC: Duration = Duration::from_secs(1);
pub const MS: Duration = Duration::from_millis(1);

/// Turns an advert to send into what a receiver decodes, through the real codec: the daemon's
/// own encode (checksum for this source/destination pair) and parse + verify.
pub fn wire(tx: &AdvertTx, dst: IpAddr, recv_time: Timestamp) -> Option<AdvertRx> {
    let src = tx.src?;
    let repr = advert::repr(tx);
    let bytes = advert::encode(&repr, src, dst, ChecksumMode::Rfc5798)
        .unwrap_or_else(|e| panic!("the engine asked for an advert the codec cannot build: {e}"));
    let ph = PseudoHeader::new(src, dst)?;
    let parsed = Repr::parse(&bytes, &ph, ChecksumMode::Rfc5798)
        .unwrap_or_else(|e| panic!("the codec rejected its own advert: {e}"));
    Some(advert::advert_rx(&parsed, src, dst, 255, recv_time))
}

/// The VRRP multicast group of a family.
pub fn vrrp_group(family: Family) -> IpAddr {
    match family {
        Family::Ipv4 => IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)),
        Family::Ipv6 => IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12)),
    }
}

/// splitmix64: a tiny deterministic PRNG, one per LAN.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// True with probability `permille`/1000.
    pub fn chance(&mut self, permille: u32) -> bool {
        (self.next_u64() % 1000) < u64::from(permille)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
}

/// One direction of a link.
#[derive(Clone, Copy, Debug)]
pub struct Link {
    pub delay: Duration,
    /// Extra random delay in [0, jitter): adverts can overtake each other.
    pub jitter: Duration,
    pub loss_permille: u32,
}

impl Default for Link {
    fn default() -> Link {
        Link {
            delay: Duration::from_micros(100),
            jitter: Duration::ZERO,
            loss_permille: 0,
        }
    }
}

pub struct Node {
    pub name: String,
    /// The node's IPv4 address; its IPv6 one is [`addr_of`]`(addr, Family::Ipv6)`.
    pub addr: IpAddr,
    pub config: EngineConfig,
    pub engine: Engine,
    pub alive: bool,
    /// VIPs currently added by this node.
    pub vips: BTreeSet<IpAddr>,
    /// Every action with the time it was polled.
    pub log: Vec<(Timestamp, Action)>,
    /// Tracker and link states this node was told, in order: a restarted process is told them
    /// again before it starts, as the daemon tells a fresh engine what its trackers report.
    pub facts: Vec<Input>,
}

impl Node {
    /// This node's address in `family`.
    pub fn addr_in(&self, family: Family) -> IpAddr {
        addr_of(self.addr, family).expect("every node has both families")
    }

    pub fn state(&self, instance: &str) -> State {
        self.engine
            .instance(instance)
            .unwrap_or_else(|| panic!("{}: no instance {instance}", self.name))
            .state
    }

    pub fn transitions_to(&self, instance: &str, to: State) -> Vec<Timestamp> {
        self.log
            .iter()
            .filter_map(|(t, a)| match a {
                Action::Transition {
                    instance: i, to: s, ..
                } if i == instance && *s == to => Some(*t),
                _ => None,
            })
            .collect()
    }
}

struct InFlight {
    arrival: Timestamp,
    seq: u64,
    from: usize,
    to: usize,
    interface: String,
    family: Family,
    rx: AdvertRx,
}

/// Split-brain and flap bookkeeping per instance name.
#[derive(Clone, Debug, Default)]
pub struct Monitor {
    /// When more than one alive node started being MASTER (None: not now).
    pub split_since: Option<Timestamp>,
    pub longest_split: Duration,
    /// Every split brain: from when more than one alive node was MASTER until one was left.
    pub splits: Vec<Split>,
    /// Changes of the set of masters.
    pub master_changes: u64,
    pub last_masters: Vec<usize>,
}

/// One split-brain episode of an instance.
#[derive(Clone, Debug)]
pub struct Split {
    pub start: Timestamp,
    /// None: still going.
    pub end: Option<Timestamp>,
    /// Every node that was MASTER during it.
    pub masters: BTreeSet<usize>,
}

/// An advert a link dropped.
#[derive(Clone, Debug)]
pub struct Lost {
    pub at: Timestamp,
    pub instance: String,
    pub from: usize,
    pub to: usize,
}

pub struct Lan {
    pub now: Timestamp,
    pub nodes: Vec<Node>,
    pub default_link: Link,
    pub links: HashMap<(usize, usize), Link>,
    /// Directed pairs that cannot talk.
    pub blocked: HashSet<(usize, usize)>,
    pub rng: Rng,
    pub monitors: HashMap<String, Monitor>,
    /// Adverts delivered after a later one from the same sender to the same receiver.
    pub reordered: u64,
    /// Adverts the links dropped.
    pub lost: Vec<Lost>,
    /// Receive time of the last advert delivered, by (receiver, sender, family, VRID).
    pub last_rx: HashMap<(usize, usize, Family, u8), Timestamp>,
    /// Highest sequence number delivered per (sender, receiver), to count reordering.
    delivered: HashMap<(usize, usize), u64>,
    in_flight: Vec<InFlight>,
    seq: u64,
}

/// A node's address on the simulated LAN: 10.0.0.<n>.
pub fn addr(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, n))
}

/// A node's address in `family`: 10.0.0.N itself, or its twin fe80::N (same order among nodes).
pub fn addr_of(addr: IpAddr, family: Family) -> Option<IpAddr> {
    match (addr, family) {
        (IpAddr::V4(_), Family::Ipv4) | (IpAddr::V6(_), Family::Ipv6) => Some(addr),
        (IpAddr::V4(v4), Family::Ipv6) => {
            let [_, _, c, d] = v4.octets();
            Some(IpAddr::V6(Ipv6Addr::new(
                0xfe80,
                0,
                0,
                0,
                0,
                0,
                0,
                u16::from_be_bytes([c, d]),
            )))
        }
        (IpAddr::V6(_), Family::Ipv4) => None,
    }
}

/// An instance with the usual test defaults; its family (and so VRRPv2 for IPv4, v3 for IPv6)
/// follows the VIP.
pub fn instance(name: &str, vrid: u8, priority: u8, vip: IpAddr) -> InstanceConfig {
    let mut c = InstanceConfig::new(name, "eth0", Family::of(&vip), vrid);
    c.priority = priority;
    c.vips = vec![Vip::host(vip)];
    c
}

pub fn config(instances: Vec<InstanceConfig>) -> EngineConfig {
    EngineConfig {
        instances,
        ..EngineConfig::default()
    }
}

impl Lan {
    pub fn new(seed: u64) -> Lan {
        Lan {
            now: Timestamp::from_nanos(1_000_000_000),
            nodes: Vec::new(),
            default_link: Link::default(),
            links: HashMap::new(),
            blocked: HashSet::new(),
            rng: Rng::new(seed),
            monitors: HashMap::new(),
            reordered: 0,
            lost: Vec::new(),
            last_rx: HashMap::new(),
            delivered: HashMap::new(),
            in_flight: Vec::new(),
            seq: 0,
        }
    }

    /// Adds a node and starts its engine now.
    pub fn add(&mut self, name: &str, addr: IpAddr, config: EngineConfig) -> usize {
        let engine = start_engine(&config, addr, self.now);
        self.nodes.push(Node {
            name: name.to_string(),
            addr,
            config,
            engine,
            alive: true,
            vips: BTreeSet::new(),
            log: Vec::new(),
            facts: Vec::new(),
        });
        self.nodes.len() - 1
    }

    /// Crash: no priority 0, no more adverts, VIPs stay "on the dead box" but don't count.
    pub fn kill(&mut self, n: usize) {
        self.nodes[n].alive = false;
        self.nodes[n].vips.clear();
    }

    /// Graceful stop: `Input::Shutdown` (priority-0 adverts go out).
    pub fn shutdown(&mut self, n: usize) {
        let now = self.now;
        self.nodes[n].engine.handle(now, Input::Shutdown);
        self.drain(n);
        self.nodes[n].alive = false;
    }

    /// A fresh process with the same config, told the tracker and link states the node knew.
    pub fn restart(&mut self, n: usize) {
        let now = self.now;
        let node = &mut self.nodes[n];
        node.engine = start_engine(&node.config, node.addr, now);
        for fact in node.facts.clone() {
            node.engine.handle(now, fact);
        }
        node.alive = true;
        node.vips.clear();
        self.drain(n);
    }

    /// Feeds `input` to node `n` now. Tracker and link changes are remembered for [`Lan::restart`].
    pub fn input(&mut self, n: usize, input: Input) {
        let now = self.now;
        if matches!(
            input,
            Input::TrackerChanged { .. } | Input::LinkChanged { .. }
        ) {
            self.nodes[n].facts.push(input.clone());
        }
        self.nodes[n].engine.handle(now, input);
        self.drain(n);
    }

    pub fn partition(&mut self, a: &[usize], b: &[usize]) {
        for &x in a {
            for &y in b {
                self.blocked.insert((x, y));
                self.blocked.insert((y, x));
            }
        }
    }

    pub fn heal(&mut self) {
        self.blocked.clear();
    }

    /// Runs until `until`, one event at a time.
    pub fn run_until(&mut self, until: Timestamp) {
        while self.step(until) {}
        self.now = self.now.max(until);
    }

    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    /// Advances to the next event not after `limit`; false when there is none.
    pub fn step(&mut self, limit: Timestamp) -> bool {
        let next_timer = self
            .nodes
            .iter()
            .filter(|n| n.alive)
            .filter_map(|n| n.engine.poll_timeout())
            .min();
        let next_packet = self.in_flight.iter().map(|p| p.arrival).min();
        let Some(t) = [next_timer, next_packet].into_iter().flatten().min() else {
            return false;
        };
        if t > limit {
            return false;
        }
        self.now = self.now.max(t);
        let now = self.now;
        // Deliver due packets in arrival order.
        self.in_flight.sort_by_key(|p| (p.arrival, p.seq));
        let due = self
            .in_flight
            .iter()
            .take_while(|p| p.arrival <= now)
            .count();
        let packets: Vec<InFlight> = self.in_flight.drain(..due).collect();
        for p in packets {
            if self.nodes[p.to].alive {
                let last = self.delivered.entry((p.from, p.to)).or_insert(0);
                if p.seq < *last {
                    self.reordered += 1;
                }
                *last = (*last).max(p.seq);
                self.last_rx
                    .insert((p.to, p.from, p.family, p.rx.vrid), p.rx.recv_time);
                self.nodes[p.to].engine.handle(
                    now,
                    Input::Advert {
                        interface: p.interface,
                        family: p.family,
                        rx: p.rx,
                    },
                );
                self.drain(p.to);
            }
        }
        for n in 0..self.nodes.len() {
            let node = &mut self.nodes[n];
            if node.alive && node.engine.poll_timeout().is_some_and(|d| d <= now) {
                node.engine.handle_timeout(now);
                self.drain(n);
            }
        }
        self.observe();
        true
    }

    /// Executes a node's actions: adverts onto the wire, VIPs into its set.
    pub fn drain(&mut self, n: usize) {
        let now = self.now;
        while let Some(action) = self.nodes[n].engine.poll_action() {
            match &action {
                Action::SendAdvert { instance, tx } => self.transmit(n, instance, tx),
                Action::AddVips { vips, .. } => {
                    self.nodes[n].vips.extend(vips.iter().map(|v| v.addr));
                }
                Action::RemoveVips { vips, .. } => {
                    for v in vips {
                        self.nodes[n].vips.remove(&v.addr);
                    }
                }
                _ => {}
            }
            self.nodes[n].log.push((now, action));
        }
    }

    fn transmit(&mut self, from: usize, instance: &str, tx: &AdvertTx) {
        for to in 0..self.nodes.len() {
            if to == from || self.blocked.contains(&(from, to)) {
                continue;
            }
            let peer = self.nodes[to].addr_in(tx.family);
            let dst = if tx.unicast_peers.is_empty() {
                vrrp_group(tx.family)
            } else if tx.unicast_peers.contains(&peer) {
                peer
            } else {
                continue;
            };
            let link = *self.links.get(&(from, to)).unwrap_or(&self.default_link);
            if self.rng.chance(link.loss_permille) {
                self.lost.push(Lost {
                    at: self.now,
                    instance: instance.to_string(),
                    from,
                    to,
                });
                continue;
            }
            let jitter = self.rng.below(link.jitter.as_nanos() as u64);
            let arrival = self.now + link.delay + Duration::from_nanos(jitter);
            let Some(rx) = wire(tx, dst, arrival) else {
                continue;
            };
            self.seq += 1;
            self.in_flight.push(InFlight {
                arrival,
                seq: self.seq,
                from,
                to,
                interface: tx.interface.clone(),
                family: tx.family,
                rx,
            });
        }
    }

    /// Alive nodes that are MASTER for `instance`.
    pub fn masters(&self, instance: &str) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&n| self.nodes[n].alive && self.nodes[n].state(instance) == State::Master)
            .collect()
    }

    fn observe(&mut self) {
        let mut names: BTreeSet<String> = BTreeSet::new();
        for node in self.nodes.iter().filter(|n| n.alive) {
            names.extend(node.engine.instances().map(|i| i.name));
        }
        for name in names {
            let masters: Vec<usize> = (0..self.nodes.len())
                .filter(|&n| {
                    let node = &self.nodes[n];
                    node.alive
                        && node
                            .engine
                            .instance(&name)
                            .is_some_and(|i| i.state == State::Master)
                })
                .collect();
            let now = self.now;
            let m = self.monitors.entry(name).or_default();
            if masters != m.last_masters {
                m.master_changes += 1;
                m.last_masters = masters.clone();
            }
            if masters.len() > 1 {
                if m.split_since.is_none() {
                    m.split_since = Some(now);
                    m.splits.push(Split {
                        start: now,
                        end: None,
                        masters: BTreeSet::new(),
                    });
                }
                let since = m.split_since.unwrap_or(now);
                m.longest_split = m.longest_split.max(now.saturating_since(since));
                let split = m.splits.last_mut().expect("pushed above");
                split.masters.extend(masters.iter().copied());
            } else if m.split_since.take().is_some() {
                m.splits.last_mut().expect("a split is open").end = Some(now);
            }
        }
    }
}

/// A new engine told its interface addresses (per family, see [`addr_of`]), as the daemon does
/// before start-up.
pub fn start_engine(config: &EngineConfig, addr: IpAddr, now: Timestamp) -> Engine {
    let mut engine = Engine::new(config.clone(), now);
    let mut seen = HashSet::new();
    for i in &config.instances {
        if !seen.insert((i.interface.clone(), i.family)) {
            continue;
        }
        if let Some(a) = addr_of(addr, i.family) {
            engine.handle(
                now,
                Input::SourceAddress {
                    interface: i.interface.clone(),
                    family: i.family,
                    addr: Some(a),
                },
            );
        }
    }
    engine
}

/// A keepalived.conf loaded the way the daemon loads it (`config::load`, then the plan's
/// lowering to the engine's configuration), from `text`. Returns the engine configuration and
/// every diagnostic of warning level or worse, as keepalived would print them.
pub fn load_config(text: &str) -> (EngineConfig, Vec<String>) {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "vrrpd-sim-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("keepalived.conf");
    std::fs::write(&path, text).unwrap();
    let opts = LoadOptions {
        config_id: "sim".into(),
        all_config: false,
        check_scripts: true,
        check_interfaces: false,
        follow_includes: false,
    };
    let loaded = vrrpd::config::load(&path, &opts);
    let _ = std::fs::remove_dir_all(&dir);
    let loaded = loaded.unwrap_or_else(|e| panic!("config does not load: {e}"));
    let warnings = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity >= Severity::Warning)
        .map(|d| d.message.clone())
        .collect();
    let plan = Plan::build(&loaded.config, None).unwrap_or_else(|e| panic!("{e}"));
    (plan.engine, warnings)
}

/// Where the seed configs' `vrrp_script chk_nginx` points. Not on this machine (and not ours to
/// install), so keepalived, and `config::load`, would disable the script and drop its tracker.
pub const SEED_CHK_NGINX: &str = "/etc/keepalived/nginx_check.sh";

/// A seed configuration from examples/, loaded like the daemon loads it. The one thing changed is
/// the chk_nginx script path, pointed at `/bin/true` so the script counts as present: the
/// simulator never runs scripts, the tests report chk_nginx's state as a tracker input.
pub fn seed_config(file: &str) -> EngineConfig {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(text.contains(SEED_CHK_NGINX), "{file}: chk_nginx moved");
    let (config, _) = load_config(&text.replace(SEED_CHK_NGINX, "/bin/true"));
    config
}
