//! [`Status`]: one serde snapshot of the running node, the single source for `vrrpd status`, the
//! keepalived dump files and the Prometheus metrics. Its JSON form is a versioned interface
//! ([`SCHEMA_VERSION`]; fields are only ever added within a version), documented field by field
//! below and in docs/architecture.md.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::recorder::{LatencyHistogram, Recorder, state_name, state_number};
use crate::dataplane::Attachment;
use crate::engine::{
    Engine, EngineConfig, Family, FaultReason, InstanceConfig, InstanceStatus, Stats, TrackerId,
    TrackerState, Version, Vip, contribution,
};
use crate::time::Timestamp;

/// Version of the JSON schema; bumped only when a field changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// [`SCHEMA_VERSION`] of the producer.
    pub schema: u32,
    /// `CARGO_PKG_VERSION` of the daemon.
    pub vrrpd_version: String,
    pub pid: u32,
    /// When the snapshot was taken.
    pub taken: Clock,
    pub instances: Vec<InstanceView>,
    pub interfaces: Vec<InterfaceView>,
    /// Every `vrrp_script` an instance tracks, once each (keepalived's `VRRP Scripts` section).
    #[serde(default)]
    pub scripts: Vec<ScriptView>,
}

/// One instant on both clocks: CLOCK_MONOTONIC (the engine's, comparable with kernel receive
/// timestamps) and the wall clock (for people), derived from the snapshot's own pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    pub monotonic_ns: u64,
    /// Milliseconds since the Unix epoch.
    pub unix_ms: u64,
}

/// One `vrrp_instance`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceView {
    pub name: String,
    pub interface: String,
    pub vrid: u8,
    /// `ipv4` or `ipv6`.
    pub family: String,
    /// VRRP version, 2 or 3.
    pub version: u8,
    /// keepalived's word: `INIT`, `BACKUP`, `MASTER`, `FAULT` or `STOP`.
    pub state: String,
    /// keepalived's state number (INIT 0, BACKUP 1, MASTER 2, FAULT 3, STOP 98).
    pub state_number: u8,
    /// When the current state was entered.
    pub since: Clock,
    /// Why the instance is in FAULT, if it is for a reason of its own.
    pub fault: Option<String>,
    /// Configured `priority`.
    pub base_priority: u8,
    /// Priority after trackers (what is advertised).
    pub effective_priority: u8,
    /// Every tracker of the instance with what it does to the priority now.
    pub trackers: Vec<TrackerView>,
    /// `!nopreempt`.
    pub preempt: bool,
    /// Configured `advert_int`, milliseconds.
    pub advert_int_ms: u64,
    /// Master_Adver_Interval in use (v3 backups learn the master's), milliseconds.
    pub master_adver_int_ms: u64,
    /// Master_Down_Interval in use, microseconds.
    pub master_down_interval_us: u64,
    /// `garp_master_delay`, seconds.
    pub garp_master_delay_s: u64,
    /// The current master as last heard (ourselves while MASTER).
    pub master: Option<MasterView>,
    /// Time since the last accepted advert, milliseconds; `None` if none was heard.
    pub last_advert_age_ms: Option<u64>,
    /// State changes since start-up (the `(init)` one included).
    pub transitions: u64,
    /// The same, by (from, to).
    pub transitions_by: Vec<TransitionCount>,
    /// How late after the Master_Down deadline each "no advert" takeover ran.
    pub detection_latency: LatencyHistogram,
    /// `virtual_ipaddress` then `virtual_ipaddress_excluded`.
    pub vips: Vec<VipView>,
    /// VIPs installed and the XDP ARP/ND gate open for them (MASTER).
    pub gate_open: bool,
    /// keepalived's `vrrp_stats`, under keepalived's names.
    pub stats: Stats,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasterView {
    pub address: IpAddr,
    pub priority: u8,
    /// The master is this node.
    pub is_self: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VipView {
    pub address: IpAddr,
    pub prefix_len: u8,
    /// The interface it is added to.
    pub dev: String,
    /// From `virtual_ipaddress_excluded`: added on MASTER, not in the adverts.
    #[serde(default)]
    pub excluded: bool,
    /// The rest of its line.
    #[serde(default)]
    pub options: VipOptions,
}

/// What a `virtual_ipaddress` line says beside the address, prefix and `dev`, resolved as it is
/// added (keepalived prints the same in its dumps, format_ipaddress).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VipOptions {
    /// IPv4 `brd`, with `+` and `-` worked out; null without.
    pub brd: Option<IpAddr>,
    /// `scope`, by its rt_scopes name (a number the table does not name); null is global.
    pub scope: Option<String>,
    pub label: Option<String>,
    /// `peer`: the other end of a point-to-point address.
    pub peer: Option<IpAddr>,
    pub home: bool,
    /// `-nodad` was given: the kernel runs duplicate address detection (IPv6 VIPs skip it
    /// otherwise).
    pub nodad: bool,
    pub mngtmpaddr: bool,
    pub noprefixroute: bool,
    pub autojoin: bool,
    pub no_track: bool,
    /// IPv6 preferred lifetime, seconds: 0 is deprecated (the /128 default), null forever.
    pub preferred_lft: Option<u32>,
}

/// One `vrrp_script`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptView {
    pub name: String,
    /// `up`, `down`, or `None` before rise/fall decided (keepalived counts that as BAD).
    pub state: Option<String>,
    /// A run of the script is in progress now (keepalived's script `State = running`).
    pub running: bool,
}

/// What the node knows of a script runner: its name and whether a run is in progress. A script
/// without a runner (disabled because it cannot run) is reported idle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptRun {
    pub name: String,
    pub running: bool,
}

/// One `track_*` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackerView {
    /// `script`, `interface`, `file`, `process` or `bfd`.
    pub kind: String,
    pub name: String,
    pub weight: i32,
    pub reverse: bool,
    /// `up`, `down`, the `track_file` value, or `None` before the first report.
    pub state: Option<String>,
    /// What it adds to the base priority now (before the 1..254 clamp).
    pub adjustment: i64,
    /// It puts the instance in FAULT.
    pub fault: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitionCount {
    pub from: String,
    pub to: String,
    pub count: u64,
}

/// One interface vrrpd attached XDP to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceView {
    pub name: String,
    pub ifindex: u32,
    /// `native` or `skb`.
    pub xdp_mode: String,
    /// The XDP program's counters by `vrrp_common::Counter` name, summed over CPUs.
    pub counters: BTreeMap<String, u64>,
    /// Why the counters could not be read, if they could not.
    pub counters_error: Option<String>,
}

impl InterfaceView {
    /// Reads the counters of an attachment.
    pub fn read(name: &str, xdp: &Attachment) -> InterfaceView {
        let (counters, counters_error) = match xdp.counters() {
            Ok(c) => (
                c.iter().map(|(k, v)| (k.name().to_string(), v)).collect(),
                None,
            ),
            Err(e) => (BTreeMap::new(), Some(e.to_string())),
        };
        InterfaceView {
            name: name.to_string(),
            ifindex: xdp.ifindex(),
            xdp_mode: xdp.mode_used().to_string(),
            counters,
            counters_error,
        }
    }
}

impl Clock {
    /// `at` on both clocks, given the current instant on both.
    pub fn at(at: Timestamp, now: Timestamp, now_unix_ms: u64) -> Clock {
        let ago = now.saturating_since(at).as_millis() as u64;
        Clock {
            monotonic_ns: at.0,
            unix_ms: now_unix_ms.saturating_sub(ago),
        }
    }
}

/// Milliseconds since the Unix epoch now.
pub fn unix_ms_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Status {
    /// Snapshots `engine`; `config` is the configuration it runs (for what the engine's own
    /// status does not carry: version, trackers, preempt, GARP delay, excluded VIPs);
    /// `vip_options` gives each (instance, VIP) the rest of its line; `runs` says which script
    /// runners are running their script now.
    pub fn build(
        engine: &Engine,
        config: &EngineConfig,
        vip_options: &dyn Fn(&str, &Vip) -> VipOptions,
        recorder: &Recorder,
        interfaces: Vec<InterfaceView>,
        runs: &[ScriptRun],
        now: Timestamp,
    ) -> Status {
        let unix = unix_ms_now();
        let instances = engine
            .instances()
            .map(|st| {
                let cfg = config.instances.iter().find(|c| c.name == st.name);
                instance_view(engine, &st, cfg, vip_options, recorder, now, unix)
            })
            .collect::<Vec<InstanceView>>();
        let scripts = script_views(engine, &instances, runs);
        Status {
            schema: SCHEMA_VERSION,
            vrrpd_version: env!("CARGO_PKG_VERSION").to_string(),
            pid: std::process::id(),
            taken: Clock {
                monotonic_ns: now.0,
                unix_ms: unix,
            },
            instances,
            interfaces,
            scripts,
        }
    }
}

/// The scripts tracked by any instance, in the order they are first tracked, with the engine's
/// verdict and the runner's activity.
fn script_views(
    engine: &Engine,
    instances: &[InstanceView],
    runs: &[ScriptRun],
) -> Vec<ScriptView> {
    let mut out: Vec<ScriptView> = Vec::new();
    for t in instances.iter().flat_map(|i| &i.trackers) {
        if t.kind != "script" || out.iter().any(|s| s.name == t.name) {
            continue;
        }
        let state = engine
            .tracker_state(&TrackerId::Script(t.name.clone()))
            .map(|s| tracker_state_name(&s));
        out.push(ScriptView {
            name: t.name.clone(),
            state,
            running: runs.iter().any(|r| r.name == t.name && r.running),
        });
    }
    out
}

fn tracker_state_name(s: &TrackerState) -> String {
    match s {
        TrackerState::Up => "up".to_string(),
        TrackerState::Down => "down".to_string(),
        TrackerState::Value(v) => v.to_string(),
    }
}

fn instance_view(
    engine: &Engine,
    st: &InstanceStatus,
    cfg: Option<&InstanceConfig>,
    vip_options: &dyn Fn(&str, &Vip) -> VipOptions,
    recorder: &Recorder,
    now: Timestamp,
    unix: u64,
) -> InstanceView {
    let record = recorder.instance(&st.name);
    let trackers = cfg
        .map(|c| {
            c.trackers
                .iter()
                .map(|t| {
                    let state = engine.tracker_state(&t.tracker);
                    let effect = state.map(|s| contribution(t, s));
                    let (kind, name) = tracker_name(&t.tracker);
                    TrackerView {
                        kind: kind.to_string(),
                        name: name.to_string(),
                        weight: t.weight,
                        reverse: t.reverse,
                        state: state.as_ref().map(tracker_state_name),
                        adjustment: effect.flatten().unwrap_or(0),
                        fault: effect.is_some_and(|e| e.is_none()),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let own_addr = st.state == crate::engine::State::Master;
    InstanceView {
        name: st.name.clone(),
        interface: st.interface.clone(),
        vrid: st.vrid,
        family: match st.family {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        }
        .to_string(),
        version: match cfg.map(|c| c.version) {
            Some(Version::V2) => 2,
            Some(Version::V3) | None => 3,
        },
        state: state_name(st.state).to_string(),
        state_number: state_number(st.state),
        since: Clock::at(st.since, now, unix),
        fault: st.fault.as_ref().map(fault_text),
        base_priority: st.base_priority,
        effective_priority: st.effective_priority,
        trackers,
        preempt: cfg.is_none_or(|c| !c.nopreempt),
        advert_int_ms: cfg.map_or(0, |c| u64::from(c.advert_int) * 10),
        master_adver_int_ms: u64::from(st.master_adver_int) * 10,
        master_down_interval_us: st.master_down_interval.as_micros() as u64,
        garp_master_delay_s: cfg.map_or(0, |c| c.garp.master_delay.as_secs()),
        master: st.master_addr.map(|address| MasterView {
            address,
            priority: st.master_priority.unwrap_or(0),
            is_self: own_addr,
        }),
        last_advert_age_ms: st
            .last_advert
            .map(|t| now.saturating_since(t).as_millis() as u64),
        transitions: st.transitions,
        transitions_by: record
            .map(|r| {
                r.transitions
                    .iter()
                    .map(|(&(from, to), &count)| TransitionCount {
                        from: from.to_string(),
                        to: to.to_string(),
                        count,
                    })
                    .collect()
            })
            .unwrap_or_default(),
        detection_latency: record
            .map(|r| r.detection_latency.clone())
            .unwrap_or_default(),
        vips: st
            .vips
            .iter()
            .map(|v| VipView {
                address: v.addr,
                prefix_len: v.prefix_len,
                dev: v.dev.clone().unwrap_or_else(|| st.interface.clone()),
                excluded: cfg.is_some_and(|c| c.excluded_vips.contains(v)),
                options: vip_options(&st.name, v),
            })
            .collect(),
        gate_open: st.gate_open,
        stats: st.stats,
    }
}

fn tracker_name(t: &TrackerId) -> (&'static str, &str) {
    match t {
        TrackerId::Script(n) => ("script", n),
        TrackerId::Interface(n) => ("interface", n),
        TrackerId::File(n) => ("file", n),
        TrackerId::Process(n) => ("process", n),
        TrackerId::Bfd(n) => ("bfd", n),
    }
}

fn fault_text(f: &FaultReason) -> String {
    match f {
        FaultReason::LinkDown(i) => format!("interface {i} down"),
        FaultReason::NoSourceAddress(Family::Ipv4) => "no IPv4 source address".to_string(),
        FaultReason::NoSourceAddress(Family::Ipv6) => "no IPv6 link-local address".to_string(),
        FaultReason::Tracker(t) => {
            let (kind, name) = tracker_name(t);
            format!("{kind} {name} failed")
        }
        FaultReason::AwaitingScript(n) => format!("script {n} has no result yet"),
        FaultReason::SyncGroup(g) => format!("sync group {g} member in FAULT"),
    }
}

/// The script `chk` (weight -20), down, as the formats' unit tests track it.
#[cfg(test)]
pub(crate) fn sample_tracker() -> TrackerView {
    TrackerView {
        kind: "script".into(),
        name: "chk".into(),
        weight: -20,
        reverse: false,
        state: Some("down".into()),
        adjustment: -20,
        fault: false,
    }
}

/// A master VI_1 (VRID 51, v2, eth0, priority 100) for the formats' unit tests; each test
/// overrides what it looks at.
#[cfg(test)]
pub(crate) fn sample_instance() -> InstanceView {
    InstanceView {
        name: "VI_1".into(),
        interface: "eth0".into(),
        vrid: 51,
        family: "ipv4".into(),
        version: 2,
        state: "MASTER".into(),
        state_number: 2,
        since: Clock {
            monotonic_ns: 0,
            unix_ms: 0,
        },
        fault: None,
        base_priority: 100,
        effective_priority: 100,
        trackers: vec![],
        preempt: true,
        advert_int_ms: 1000,
        master_adver_int_ms: 1000,
        master_down_interval_us: 3_609_375,
        garp_master_delay_s: 5,
        master: None,
        last_advert_age_ms: None,
        transitions: 2,
        transitions_by: vec![],
        detection_latency: super::recorder::LatencyHistogram::default(),
        vips: vec![],
        gate_open: true,
        stats: crate::engine::Stats::default(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::time::Duration;

    use super::*;
    use crate::engine::{Input, Tracked, Vip};

    fn engine_with_tracker() -> (Engine, EngineConfig) {
        let mut cfg = InstanceConfig::new("VI_1", "eth0", Family::Ipv4, 51);
        cfg.vips.push(Vip::host("10.0.0.200".parse().unwrap()));
        cfg.excluded_vips
            .push(Vip::host("10.0.0.201".parse().unwrap()));
        cfg.trackers.push(Tracked {
            tracker: TrackerId::Script("chk".into()),
            weight: -20,
            reverse: false,
        });
        cfg.trackers.push(Tracked {
            tracker: TrackerId::Script("other".into()),
            weight: 10,
            reverse: false,
        });
        let config = EngineConfig {
            instances: vec![cfg],
            ..EngineConfig::default()
        };
        let mut engine = Engine::new(config.clone(), Timestamp::ZERO);
        let t = Timestamp::ZERO + Duration::from_millis(1);
        engine.handle(
            t,
            Input::SourceAddress {
                interface: "eth0".into(),
                family: Family::Ipv4,
                addr: Some("10.0.0.1".parse().unwrap()),
            },
        );
        engine.handle_timeout(t);
        engine.handle(
            t,
            Input::TrackerChanged {
                tracker: TrackerId::Script("chk".into()),
                state: TrackerState::Down,
            },
        );
        while engine.poll_action().is_some() {}
        (engine, config)
    }

    #[test]
    fn snapshot_names_the_tracker_that_lowered_the_priority() {
        let (engine, config) = engine_with_tracker();
        let now = Timestamp::ZERO + Duration::from_secs(2);
        let runs = [ScriptRun {
            name: "other".into(),
            running: true,
        }];
        let s = Status::build(
            &engine,
            &config,
            &|_, _| VipOptions::default(),
            &Recorder::default(),
            Vec::new(),
            &runs,
            now,
        );
        assert_eq!(s.schema, SCHEMA_VERSION);
        let i = &s.instances[0];
        assert_eq!((i.state.as_str(), i.state_number), ("BACKUP", 1));
        assert_eq!((i.base_priority, i.effective_priority), (100, 80));
        assert_eq!(i.trackers[0].name, "chk");
        assert_eq!(i.trackers[0].state.as_deref(), Some("down"));
        assert_eq!(i.trackers[0].adjustment, -20);
        assert!(!i.trackers[0].fault);
        // Never reported: neutral and stateless.
        assert_eq!(i.trackers[1].state, None);
        assert_eq!(i.trackers[1].adjustment, 0);
        assert_eq!(i.version, 2);
        assert_eq!(i.advert_int_ms, 1000);
        assert_eq!(i.vips[0].dev, "eth0");
        assert_eq!(
            i.vips.iter().map(|v| v.excluded).collect::<Vec<_>>(),
            [false, true]
        );
        assert!(!i.gate_open);
        // The scripts once each: chk decided down, other undecided and being run.
        assert_eq!(
            s.scripts,
            [
                ScriptView {
                    name: "chk".into(),
                    state: Some("down".into()),
                    running: false,
                },
                ScriptView {
                    name: "other".into(),
                    state: None,
                    running: true,
                },
            ]
        );
        // Entered BACKUP at 1 ms, the snapshot is at 2 s.
        assert_eq!(i.since.monotonic_ns, 1_000_000);
        assert_eq!(s.taken.unix_ms - i.since.unix_ms, 1999);
    }

    #[test]
    fn json_round_trips_and_uses_keepalived_stat_names() {
        let (engine, config) = engine_with_tracker();
        let s = Status::build(
            &engine,
            &config,
            &|_, _| VipOptions::default(),
            &Recorder::default(),
            Vec::new(),
            &[],
            Timestamp::ZERO + Duration::from_secs(1),
        );
        let json = serde_json::to_string(&s).unwrap();
        for name in [
            "advert_rcvd",
            "become_master",
            "pri_zero_sent",
            "addr_list_err",
        ] {
            assert!(json.contains(&format!("\"{name}\"")), "{name} in {json}");
        }
        let back: Status = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
    }

    /// A snapshot with every optional part present and every list non-empty, so its JSON holds
    /// every field name the schema has.
    fn full_status() -> Status {
        Status {
            schema: SCHEMA_VERSION,
            vrrpd_version: "0.1.0".into(),
            pid: 7,
            taken: Clock {
                monotonic_ns: 1,
                unix_ms: 2,
            },
            instances: vec![InstanceView {
                fault: Some("interface eth0 down".into()),
                trackers: vec![sample_tracker()],
                master: Some(MasterView {
                    address: "10.0.0.1".parse().unwrap(),
                    priority: 100,
                    is_self: true,
                }),
                last_advert_age_ms: Some(3),
                transitions_by: vec![TransitionCount {
                    from: "BACKUP".into(),
                    to: "MASTER".into(),
                    count: 1,
                }],
                vips: vec![VipView {
                    address: "10.0.0.200".parse().unwrap(),
                    prefix_len: 32,
                    dev: "eth0".into(),
                    excluded: false,
                    options: VipOptions {
                        brd: Some("10.0.0.255".parse().unwrap()),
                        label: Some("eth0:1".into()),
                        peer: Some("10.0.0.9".parse().unwrap()),
                        preferred_lft: Some(0),
                        ..VipOptions::default()
                    },
                }],
                ..sample_instance()
            }],
            interfaces: vec![InterfaceView {
                name: "eth0".into(),
                ifindex: 2,
                xdp_mode: "native".into(),
                counters: vrrp_common::Counter::ALL
                    .iter()
                    .map(|c| (c.name().to_string(), 0))
                    .collect(),
                counters_error: None,
            }],
            scripts: vec![ScriptView {
                name: "chk".into(),
                state: None,
                running: false,
            }],
        }
    }

    /// Field paths of a JSON value: `a.b` for nested objects, `list[].field` inside arrays of
    /// objects; arrays of numbers are leaves.
    fn json_paths(v: &serde_json::Value, prefix: &str, out: &mut BTreeSet<String>) {
        let serde_json::Value::Object(map) = v else {
            return;
        };
        for (k, v) in map {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                serde_json::Value::Array(items) if items.iter().any(|i| i.is_object()) => {
                    let path = format!("{path}[]");
                    out.insert(path.clone());
                    for item in items {
                        json_paths(item, &path, out);
                    }
                }
                _ => {
                    out.insert(path.clone());
                    json_paths(v, &path, out);
                }
            }
        }
    }

    /// The field tree in docs/architecture.md's JSON schema block: one field a line, its first
    /// word the name, two spaces of indentation per level.
    fn documented_paths(doc: &str) -> BTreeSet<String> {
        let start = doc.find("**JSON schema**").expect("a JSON schema entry");
        let block = &doc[start..];
        let open = block.find("```text\n").expect("its ```text block") + "```text\n".len();
        let body = &block[open..];
        let body = &body[..body.find("```").expect("the block's end")];
        let lines: Vec<&str> = body.lines().filter(|l| !l.trim().is_empty()).collect();
        let base = lines[0].len() - lines[0].trim_start().len();
        let mut stack: Vec<String> = Vec::new();
        let mut out = BTreeSet::new();
        for l in lines {
            let indent = l.len() - l.trim_start().len() - base;
            assert_eq!(indent % 2, 0, "odd indentation in {l:?}");
            let depth = indent / 2;
            assert!(depth <= stack.len(), "{l:?} is nested under nothing");
            stack.truncate(depth);
            let name = l.split_whitespace().next().unwrap();
            let path = match stack.last() {
                Some(parent) => format!("{parent}.{name}"),
                None => name.to_string(),
            };
            out.insert(path.clone());
            stack.push(path);
        }
        out
    }

    #[test]
    fn documented_json_schema_matches_the_serialized_snapshot() {
        let doc = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../docs/architecture.md"
        ))
        .expect("docs/architecture.md");
        let documented = documented_paths(&doc);
        let mut serialized = BTreeSet::new();
        json_paths(
            &serde_json::to_value(full_status()).unwrap(),
            "",
            &mut serialized,
        );
        let undocumented: Vec<_> = serialized.difference(&documented).collect();
        let missing: Vec<_> = documented.difference(&serialized).collect();
        assert!(
            undocumented.is_empty() && missing.is_empty(),
            "docs/architecture.md's JSON schema is out of date:\n  serialized but not \
             documented: {undocumented:?}\n  documented but not serialized: {missing:?}"
        );
        // The version the doc states is the one the code writes.
        assert!(doc.contains(&format!("`\"schema\": {SCHEMA_VERSION}`")));
    }

    #[test]
    fn schema_tree_parser_nests_by_indentation() {
        let doc =
            "**JSON schema**\n\n  ```text\n  a   x\n  b[]\n    c   y\n      d\n    e\n  f\n  ```\n";
        let got: Vec<String> = documented_paths(doc).into_iter().collect();
        assert_eq!(got, ["a", "b[]", "b[].c", "b[].c.d", "b[].e", "f"]);
        let mut json = BTreeSet::new();
        json_paths(
            &serde_json::json!({"a": 1, "b": [{"c": {"d": null}, "e": [1, 2]}], "f": []}),
            "",
            &mut json,
        );
        let json: Vec<String> = json.into_iter().collect();
        assert_eq!(json, ["a", "b[]", "b[].c", "b[].c.d", "b[].e", "f"]);
    }
}
