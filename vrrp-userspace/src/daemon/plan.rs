//! From a validated keepalived configuration to what the daemon runs: the engine's resolved
//! [`EngineConfig`], plus what the edges need and the engine does not (interfaces to attach, how to
//! check and address adverts, VIP line options, scripts, notify targets). Pure: no I/O, so reload
//! can build a new plan and reject it before anything changes.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::advert::RxPolicy;
use crate::config::model::{self, Config, Script, VirtualAddress};
use crate::config::resolve::{ResolvedInstance, ResolvedTrack, resolve};
use crate::config::validate::{DefaultScriptUser, default_script_user};
use crate::engine::{
    Auth, EngineConfig, Family, GarpConfig, InstanceConfig, NotifyTarget, PeerTtl, SyncGroupConfig,
    Tracked, TrackerId, Version, Vip, WantedState,
};
use crate::netlink::{Scope, VipSpec};
use crate::notify::{FifoSpec, NotifyScript, NotifyScripts};
use crate::packet::vrrp::ChecksumMode;
use crate::track::{CommandError, RunAs, ScriptSpec, TrackFileInit, TrackFileSpec};

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("vrrp_instance {0}: no interface (give `interface` or --iface)")]
    NoInterface(String),
}

/// Per instance, what the daemon needs beside the engine's view.
pub struct InstancePlan {
    pub interface: String,
    pub checksum: ChecksumMode,
    /// None in unicast mode.
    pub mcast_group: Option<IpAddr>,
    pub unicast_ttl: u8,
    /// Accept_Mode off for a non-owner (`no_accept`, or `vrrp_strict` without `accept`): while
    /// master, XDP drops traffic addressed to the VIPs, as keepalived's firewall rules do.
    pub no_accept: bool,
    /// `vrrp_garp_interval` (IPv4) / `vrrp_gna_interval` (IPv6).
    pub garp_interval: Duration,
    /// The `virtual_ipaddress` / `_excluded` lines, by address, for their options.
    pub vips: HashMap<IpAddr, VirtualAddress>,
    pub notify: NotifyScripts,
    pub notify_master_rx_lower_pri: Option<NotifyScript>,
    /// `notify_priority_changes` (instance, else sync group, else `vrrp_notify_priority_changes`):
    /// FIFO lines `MASTER_PRIORITY` / `BACKUP_PRIORITY` when the effective priority changes.
    pub notify_priority_changes: bool,
}

pub struct Plan {
    pub engine: EngineConfig,
    /// Interfaces adverts use, plus the `dev` of any VIP: XDP is attached to each.
    pub interfaces: BTreeSet<String>,
    /// `track_interface` names (link state goes to the engine).
    pub tracked_interfaces: BTreeSet<String>,
    /// Receive policy by interface, then (family, VRID): also the XDP VRID map. Looked up per
    /// advert, so keyed to need no allocation.
    rx: HashMap<String, HashMap<(Family, u8), RxPolicy>>,
    pub scripts: Vec<ScriptSpec>,
    pub track_files: Vec<TrackFileSpec>,
    /// `notify_fifo` and `vrrp_notify_fifo`, with their owners and scripts.
    pub fifos: Vec<FifoSpec>,
    instances: HashMap<String, InstancePlan>,
    groups: HashMap<String, NotifyScripts>,
}

impl Plan {
    /// `iface` overrides the `interface` of every instance (the seed configs say eth0); VIP lines
    /// with their own `dev` keep it.
    pub fn build(config: &Config, iface: Option<&str>) -> Result<Plan, PlanError> {
        Plan::build_with_accounts(config, iface, RunAs::lookup)
    }

    /// [`Plan::build`] with the account lookup given, so tests can fake which users exist.
    fn build_with_accounts(
        config: &Config,
        iface: Option<&str>,
        accounts: impl Fn(&str, Option<&str>) -> Result<RunAs, CommandError>,
    ) -> Result<Plan, PlanError> {
        let g = &config.global_defs;
        // The validator checked each script as this user (`default_script_user`); the plan must
        // run it as the same one. `None`: keepalived has no default user.
        let default_run_as = match default_script_user(g, |u, grp| accounts(u, grp).is_ok()) {
            DefaultScriptUser::User(u) => accounts(&u.user, u.group.as_deref()).ok(),
            DefaultScriptUser::Root => Some(RunAs::ROOT),
            DefaultScriptUser::Unavailable => None,
        };
        // A user that does not resolve never falls back to root: keepalived drops the script.
        let own_user = |u: &model::ScriptUser, what: &str| -> Option<RunAs> {
            accounts(&u.user, u.group.as_deref())
                .map_err(|e| tracing::warn!("{what}: {e}; disabled"))
                .ok()
        };
        // vrrp_scripts without a default user are not run (the validator removed them too).
        let track_run_as = |script: &Script| -> Option<RunAs> {
            match &script.user {
                Some(u) => own_user(u, &script_line(script)),
                None => default_run_as,
            }
        };
        // keepalived 2.2.7 sets no user on notify scripts when it has no default: root, which
        // the validator checked them as.
        let run_as = |script: &Script| -> Option<RunAs> {
            match &script.user {
                Some(u) => own_user(u, &script_line(script)),
                None => Some(default_run_as.unwrap_or(RunAs::ROOT)),
            }
        };
        let notify_scripts = |n: &model::Notify| {
            let one = |s: &Option<Script>| {
                s.as_ref()
                    .and_then(|s| Some((s, run_as(s)?)))
                    .and_then(|(s, user)| match NotifyScript::new(&script_line(s), user) {
                        Ok(ns) => Some(ns),
                        Err(e) => {
                            tracing::warn!("notify script {}: {e}; disabled", script_line(s));
                            None
                        }
                    })
            };
            NotifyScripts {
                master: one(&n.master),
                backup: one(&n.backup),
                fault: one(&n.fault),
                stop: one(&n.stop),
                deleted: n.deleted.as_ref().and_then(one),
                generic: one(&n.notify),
            }
        };

        let mut plan = Plan {
            engine: EngineConfig {
                instances: Vec::new(),
                sync_groups: config
                    .vrrp_sync_groups
                    .iter()
                    .map(|s| SyncGroupConfig {
                        name: s.name.clone(),
                        members: s.group.clone(),
                    })
                    .collect(),
                startup_delay: Duration::from_micros(g.vrrp_startup_delay_us),
            },
            interfaces: BTreeSet::new(),
            tracked_interfaces: BTreeSet::new(),
            rx: HashMap::new(),
            scripts: Vec::new(),
            track_files: Vec::new(),
            fifos: [&g.notify_fifo, &g.vrrp_notify_fifo]
                .into_iter()
                .flatten()
                .map(|f| FifoSpec {
                    path: PathBuf::from(&f.path),
                    // keepalived: the line's `USER [GROUP]`, else the default script user.
                    owner: match &f.user {
                        Some(u) => own_user(
                            &model::ScriptUser {
                                user: u.clone(),
                                group: f.group.clone(),
                            },
                            &f.path,
                        ),
                        None => default_run_as,
                    }
                    .filter(|o| *o != RunAs::ROOT),
                    script: f.script.as_ref().and_then(|s| {
                        NotifyScript::new(&script_line(s), run_as(s)?)
                            .map_err(|e| {
                                tracing::warn!(
                                    "notify fifo script {}: {e}; disabled",
                                    script_line(s)
                                )
                            })
                            .ok()
                    }),
                })
                .collect(),
            instances: HashMap::new(),
            groups: config
                .vrrp_sync_groups
                .iter()
                .map(|s| (s.name.clone(), notify_scripts(&s.notify)))
                .collect(),
        };

        let mut used_scripts = HashSet::new();
        let mut used_files = HashSet::new();
        for r in resolve(config) {
            let interface = iface
                .map(str::to_string)
                .or_else(|| r.interface.clone())
                .ok_or_else(|| PlanError::NoInterface(r.name.clone()))?;
            let cfg = instance_config(&r, &interface);
            plan.interfaces.insert(interface.clone());
            for v in r.vips.iter().chain(&r.excluded_vips) {
                if let Some(dev) = &v.dev {
                    plan.interfaces.insert(dev.clone());
                }
            }
            plan.tracked_interfaces
                .extend(r.track_interfaces.iter().map(|t| t.name.clone()));
            used_scripts.extend(r.track_scripts.iter().map(|t| t.name.clone()));
            used_files.extend(r.track_files.iter().map(|t| t.name.clone()));
            let checksum = if r.v3_checksum_as_v2 {
                ChecksumMode::V3AsV2
            } else {
                ChecksumMode::Rfc5798
            };
            plan.rx.entry(interface.clone()).or_default().insert(
                (cfg.family, r.vrid),
                RxPolicy {
                    checksum,
                    unicast: r.mcast_group.is_none(),
                },
            );
            plan.instances.insert(
                r.name.clone(),
                InstancePlan {
                    interface,
                    checksum,
                    mcast_group: r.mcast_group,
                    unicast_ttl: r.unicast_ttl,
                    // keepalived installs no rule for the address owner, whatever `accept` says.
                    no_accept: !r.accept && r.priority != 255,
                    garp_interval: Duration::from_micros(match cfg.family {
                        Family::Ipv4 => r.garp.interval_us,
                        Family::Ipv6 => r.garp.gna_interval_us,
                    }),
                    vips: r
                        .vips
                        .iter()
                        .chain(&r.excluded_vips)
                        .map(|v| (v.address, v.clone()))
                        .collect(),
                    notify: notify_scripts(&r.notify),
                    notify_master_rx_lower_pri: r
                        .notify
                        .master_rx_lower_pri
                        .as_ref()
                        .and_then(|s| NotifyScript::new(&script_line(s), run_as(s)?).ok()),
                    notify_priority_changes: r.notify_priority_changes,
                },
            );
            plan.engine.instances.push(cfg);
        }
        for s in &config.vrrp_scripts {
            let Some(script) = s.script.as_ref().filter(|_| s.enabled) else {
                continue;
            };
            if !used_scripts.contains(&s.name) {
                continue;
            }
            let Some(run_as) = track_run_as(script) else {
                continue;
            };
            plan.scripts.push(ScriptSpec {
                name: s.name.clone(),
                script: script_line(script),
                interval: Duration::from_micros(s.interval_us.max(1000)),
                timeout: s.timeout_us.map(Duration::from_micros),
                rise: s.rise.max(1),
                fall: s.fall.max(1),
                init_fail: s.init_fail,
                run_as,
            });
        }
        for f in &config.track_files {
            if let (Some(path), true) = (&f.file, used_files.contains(&f.name)) {
                plan.track_files.push(TrackFileSpec {
                    name: f.name.clone(),
                    path: PathBuf::from(path),
                    init: f.init_file.as_ref().map(|i| TrackFileInit {
                        value: i.value,
                        overwrite: i.overwrite,
                    }),
                });
            }
        }
        Ok(plan)
    }

    /// How adverts for (`family`, `vrid`) on `interface` are checked; `None`: nobody listens.
    pub fn rx_policy(&self, interface: &str, family: Family, vrid: u8) -> Option<RxPolicy> {
        self.rx.get(interface)?.get(&(family, vrid)).copied()
    }

    pub fn instance(&self, name: &str) -> Option<&InstancePlan> {
        self.instances.get(name)
    }

    /// The interface an engine VIP lives on: its own `dev`, else its instance's interface. The
    /// VIP says, not the line of that address in this plan: after a reload that moved the
    /// address, a VIP of the old configuration still names where it really is.
    pub fn vip_interface<'a>(&'a self, instance: &str, vip: &'a Vip) -> Option<&'a str> {
        match &vip.dev {
            Some(dev) => Some(dev),
            None => self.instances.get(instance).map(|p| p.interface.as_str()),
        }
    }

    /// Whether `newer` gives an instance's VIP another label or scope than this plan does:
    /// keepalived (compare_ipaddress) then takes it for another address, which a reload removes
    /// and adds again. Its prefix and device are part of the engine's [`Vip`] already; its other
    /// options keepalived leaves as they were added.
    pub fn vip_line_changed(&self, newer: &Plan, instance: &str, vip: &Vip) -> bool {
        let line = |p: &Plan| {
            p.vip_line(instance, &vip.addr)
                .map(|l| (l.label.clone(), line_scope(l)))
        };
        matches!((line(self), line(newer)), (Some(a), Some(b)) if a != b)
    }

    /// The `virtual_ipaddress` line of an instance's address.
    fn vip_line(&self, instance: &str, addr: &IpAddr) -> Option<&VirtualAddress> {
        self.instances.get(instance)?.vips.get(addr)
    }

    /// The interface a configured VIP address lives on: its line's `dev`, else its instance's
    /// interface.
    pub fn vip_dev(&self, instance: &str, vip: &IpAddr) -> Option<&str> {
        let p = self.instances.get(instance)?;
        Some(
            p.vips
                .get(vip)
                .and_then(|v| v.dev.as_deref())
                .unwrap_or(&p.interface),
        )
    }

    /// The netlink request for one of an instance's VIPs, with its line's options.
    pub fn vip_spec(
        &self,
        instance: &str,
        vip: &Vip,
        ifindexes: &HashMap<String, u32>,
    ) -> Option<VipSpec> {
        let dev = self.vip_interface(instance, vip)?;
        let ifindex = *ifindexes.get(dev)?;
        let mut spec = VipSpec::new(ifindex, vip.addr, vip.prefix_len);
        if let Some(line) = self.vip_line(instance, &vip.addr) {
            spec.label = line.label.clone();
            spec.scope = line_scope(line);
            // keepalived's `-nodad` undoes its IPv6 default of skipping DAD.
            spec.nodad = spec.nodad && !line.nodad;
            spec.brd = broadcast(line, vip);
            if let Some(lft) = line.preferred_lft {
                spec.preferred_lft_zero = matches!(lft, model::PreferredLft::Seconds(0));
                spec.preferred_lft_secs = match lft {
                    model::PreferredLft::Seconds(n) if n > 0 => Some(n),
                    _ => None,
                };
            }
            spec.peer = line.peer;
            spec.noprefixroute = line.noprefixroute;
            spec.home = line.home;
            spec.mngtmpaddr = line.mngtmpaddr;
            spec.autojoin = line.autojoin;
        }
        Some(spec)
    }

    /// The rest of a VIP's line, for the status and keepalived's dumps: what [`Plan::vip_spec`]
    /// adds, with keepalived's defaults filled in.
    pub fn vip_options(&self, instance: &str, vip: &Vip) -> crate::status::VipOptions {
        let line = self.vip_line(instance, &vip.addr);
        let default_lft = (vip.addr.is_ipv6() && vip.prefix_len == 128).then_some(0);
        let Some(line) = line else {
            return crate::status::VipOptions {
                no_track: vip.no_track,
                preferred_lft: default_lft,
                ..Default::default()
            };
        };
        crate::status::VipOptions {
            brd: broadcast(line, vip).map(IpAddr::V4),
            scope: Some(line_scope(line).to_string()),
            label: line.label.clone(),
            peer: line.peer,
            home: line.home,
            nodad: line.nodad,
            mngtmpaddr: line.mngtmpaddr,
            noprefixroute: line.noprefixroute,
            autojoin: line.autojoin,
            no_track: vip.no_track,
            preferred_lft: match line.preferred_lft {
                None => default_lft,
                Some(model::PreferredLft::Forever) => None,
                Some(model::PreferredLft::Seconds(n)) => Some(n),
            },
        }
    }

    pub fn garp_interval(&self, instance: &str) -> Duration {
        self.instances
            .get(instance)
            .map(|p| p.garp_interval)
            .unwrap_or_default()
    }

    pub fn notify_scripts(&self, target: &NotifyTarget) -> Option<&NotifyScripts> {
        match target {
            NotifyTarget::Instance(n) => self.instances.get(n).map(|p| &p.notify),
            NotifyTarget::Group(n) => self.groups.get(n),
        }
    }

    /// Every VIP on `interface` (by its `dev`, else its instance's interface).
    pub fn vips_on(&self, interface: &str) -> HashSet<IpAddr> {
        self.vips_on_where(interface, |_| true)
    }

    /// The VIPs on `interface` (by their `dev`, else their instance's interface) of instances in
    /// no_accept mode.
    pub fn no_accept_vips(&self, interface: &str) -> HashSet<IpAddr> {
        self.vips_on_where(interface, |p| p.no_accept)
    }

    fn vips_on_where(
        &self,
        interface: &str,
        keep: impl Fn(&InstancePlan) -> bool,
    ) -> HashSet<IpAddr> {
        self.instances
            .iter()
            .filter(|(_, p)| keep(p))
            .flat_map(|(name, p)| {
                p.vips
                    .keys()
                    .filter(move |vip| self.vip_dev(name, vip) == Some(interface))
                    .copied()
            })
            .collect()
    }

    /// Every VIP of every instance: never taken as an interface's own source address.
    pub fn all_vip_addrs(&self) -> HashSet<IpAddr> {
        self.instances
            .values()
            .flat_map(|p| p.vips.keys().copied())
            .collect()
    }
}

fn host_mask(prefix_len: u8) -> u32 {
    u32::MAX.checked_shr(u32::from(prefix_len)).unwrap_or(0)
}

/// A VIP line's `scope`: a name or a number (the config check let only those through).
fn line_scope(line: &VirtualAddress) -> Scope {
    line.scope
        .as_deref()
        .and_then(Scope::parse)
        .unwrap_or_default()
}

/// A VIP line's IPv4 `brd`: as given, or for `+` / `-` the subnet's all-ones / all-zeros host.
fn broadcast(line: &VirtualAddress, vip: &Vip) -> Option<std::net::Ipv4Addr> {
    match (&line.broadcast, vip.addr) {
        (Some(model::Broadcast::Address(IpAddr::V4(b))), _) => Some(*b),
        (Some(model::Broadcast::Plus), IpAddr::V4(a)) => {
            Some((u32::from(a) | host_mask(vip.prefix_len)).into())
        }
        (Some(model::Broadcast::Minus), IpAddr::V4(a)) => {
            Some((u32::from(a) & !host_mask(vip.prefix_len)).into())
        }
        _ => None,
    }
}

/// A script's words back as one line for the runner, quoting words that need it.
pub fn script_line(script: &Script) -> String {
    script
        .args
        .iter()
        .map(|a| {
            if a.is_empty() || a.contains([' ', '\t', '"', '\'']) {
                format!("'{}'", a.replace('\'', r"'\''"))
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn family(f: model::Family) -> Family {
    match f {
        model::Family::Ipv4 => Family::Ipv4,
        model::Family::Ipv6 => Family::Ipv6,
    }
}

fn engine_vip(v: &VirtualAddress) -> Vip {
    Vip {
        addr: v.address,
        prefix_len: v.prefix_len,
        dev: v.dev.clone(),
        no_track: v.no_track,
    }
}

fn trackers(r: &ResolvedInstance) -> Vec<Tracked> {
    let tracked = |kind: fn(String) -> TrackerId, list: &[ResolvedTrack]| {
        list.iter()
            .map(move |t| Tracked {
                tracker: kind(t.name.clone()),
                weight: t.weight,
                reverse: t.reverse,
            })
            .collect::<Vec<_>>()
    };
    let mut out = tracked(TrackerId::Script, &r.track_scripts);
    out.extend(tracked(TrackerId::Interface, &r.track_interfaces));
    out.extend(tracked(TrackerId::File, &r.track_files));
    out
}

/// The engine's view of one resolved instance.
pub fn instance_config(r: &ResolvedInstance, interface: &str) -> InstanceConfig {
    let mut c = InstanceConfig::new(&r.name, interface, family(r.family), r.vrid);
    c.version = if r.version == 2 {
        Version::V2
    } else {
        Version::V3
    };
    c.priority = r.priority;
    c.initial_state = match r.initial_state {
        model::InitialState::Master => WantedState::Master,
        model::InitialState::Backup => WantedState::Backup,
    };
    c.advert_int = r.advert_int_centis;
    c.nopreempt = r.nopreempt;
    c.preempt_delay = Duration::from_micros(r.preempt_delay_us);
    c.down_timer_adverts = r.down_timer_adverts.clamp(1, 100) as u8;
    c.vips = r.vips.iter().map(engine_vip).collect();
    c.excluded_vips = r.excluded_vips.iter().map(engine_vip).collect();
    c.garp = GarpConfig {
        master_delay: Duration::from_secs(r.garp.master_delay_s.into()),
        master_repeat: r.garp.master_repeat,
        master_refresh: Duration::from_secs(r.garp.master_refresh_s.into()),
        master_refresh_repeat: r.garp.master_refresh_repeat,
        lower_prio_delay: Duration::from_secs(r.garp.lower_prio_delay_s.into()),
        lower_prio_repeat: r.garp.lower_prio_repeat,
    };
    c.lower_prio_no_advert = r.lower_prio_no_advert;
    c.higher_prio_send_advert = r.higher_prio_send_advert;
    c.skip_check_adv_addr = r.skip_check_adv_addr;
    c.owner_ignore_adverts = r.owner_ignore_adverts;
    c.auth = match r.auth_pass {
        Some(pass) => Auth::Pass(pass),
        None => Auth::None,
    };
    c.src_ip = r.src_ip;
    c.unicast_peers = r.unicast_peers.iter().map(|p| p.address).collect();
    c.unicast_peer_ttl = r
        .unicast_peers
        .iter()
        .filter(|p| p.min_ttl.is_some() || p.max_ttl.is_some())
        .map(|p| PeerTtl {
            peer: p.address,
            min_ttl: p.min_ttl.unwrap_or(0),
            max_ttl: p.max_ttl.unwrap_or(255),
        })
        .collect();
    // keepalived: giving a peer min_ttl or max_ttl turns check_unicast_src on.
    c.check_unicast_src = r.check_unicast_src || !c.unicast_peer_ttl.is_empty();
    c.dont_track_primary = r.dont_track_primary;
    c.trackers = trackers(r);
    c.notify_deleted = r.notify.deleted.is_some();
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{LoadOptions, load};
    use crate::testutil::TempDir;

    fn plan_of(text: &str, iface: Option<&str>) -> Plan {
        let dir = TempDir::new(&format!("plan-{}", text.len()));
        let path = dir.path().join("keepalived.conf");
        std::fs::write(&path, text).unwrap();
        let opts = LoadOptions {
            check_interfaces: false,
            ..LoadOptions::default()
        };
        let loaded = load(&path, &opts).unwrap_or_else(|e| panic!("{e}"));
        Plan::build(&loaded.config, iface).unwrap()
    }

    #[test]
    fn seed_master_config_becomes_one_v2_instance_on_the_override_interface() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../examples/master-backup.master.conf"
        ))
        .unwrap();
        let plan = plan_of(&text, Some("veth7"));
        let i = &plan.engine.instances[0];
        assert_eq!((i.name.as_str(), i.interface.as_str()), ("VI_1", "veth7"));
        assert_eq!((i.vrid, i.priority, i.advert_int), (50, 100, 100));
        assert_eq!(i.version, Version::V2);
        assert_eq!(i.initial_state, WantedState::Master);
        // keepalived clears nopreempt for `state MASTER`.
        assert!(!i.nopreempt);
        assert_eq!(i.vips, vec![Vip::host("192.168.200.100".parse().unwrap())]);
        assert!(plan.interfaces.contains("veth7"));
        assert!(plan.rx_policy("veth7", Family::Ipv4, 50).is_some());
        // The seed's script does not exist here: disabled, so no runner and no tracker.
        assert!(plan.scripts.is_empty());
    }

    #[test]
    fn vip_line_options_reach_the_netlink_request() {
        let plan = plan_of(
            "vrrp_instance V { interface eth9\n virtual_router_id 9\n virtual_ipaddress {\n \
             10.1.2.3/24 brd + label eth9:vip scope link\n }\n}\n",
            None,
        );
        let ifindexes = HashMap::from([("eth9".to_string(), 7)]);
        let vip = &plan.engine.instances[0].vips[0];
        let spec = plan.vip_spec("V", vip, &ifindexes).unwrap();
        assert_eq!(spec.ifindex, 7);
        assert_eq!(spec.prefix_len, 24);
        assert_eq!(spec.brd, Some("10.1.2.255".parse().unwrap()));
        assert_eq!(spec.label.as_deref(), Some("eth9:vip"));
        assert_eq!(spec.scope, Scope::Link);
    }

    /// A numeric scope is the kernel's number, not global (keepalived reads both forms).
    #[test]
    fn a_numeric_scope_reaches_the_netlink_request() {
        let plan = plan_of(
            "vrrp_instance V { interface eth9\n virtual_router_id 9\n virtual_ipaddress {\n \
             10.1.2.3 scope 254\n }\n}\n",
            None,
        );
        let ifindexes = HashMap::from([("eth9".to_string(), 7)]);
        let vip = &plan.engine.instances[0].vips[0];
        assert_eq!(
            plan.vip_spec("V", vip, &ifindexes).unwrap().scope,
            Scope::Host
        );
    }

    #[test]
    fn vip_options_give_the_dumps_the_line_with_keepalived_defaults() {
        let plan = plan_of(
            "vrrp_instance V { interface eth9\n virtual_router_id 9\n virtual_ipaddress {\n \
             10.1.2.3/24 brd - label eth9:vip scope 253 -nodad no_track\n }\n}\n\
             vrrp_instance W { interface eth9\n virtual_router_id 10\n virtual_ipaddress {\n \
             fd00::5\n fd00::6/64\n fd00::7/64 preferred_lft 30\n }\n}\n",
            None,
        );
        let v4 = plan.vip_options("V", &plan.engine.instances[0].vips[0]);
        assert_eq!(v4.brd, Some("10.1.2.0".parse().unwrap()));
        assert_eq!(v4.scope.as_deref(), Some("link"));
        assert_eq!(v4.label.as_deref(), Some("eth9:vip"));
        assert!(v4.nodad && v4.no_track && !v4.home);
        assert_eq!(v4.preferred_lft, None);
        let v6 = &plan.engine.instances[1].vips;
        let lft: Vec<_> = v6
            .iter()
            .map(|v| plan.vip_options("W", v).preferred_lft)
            .collect();
        assert_eq!(
            lft,
            [Some(0), None, Some(30)],
            "/128 deprecated, else forever"
        );
        assert_eq!(
            plan.vip_options("W", &v6[0]).scope.as_deref(),
            Some("global")
        );
    }

    /// Who the plan runs `chk` (vrrp_script) and the notify_master script as, on a machine
    /// where only `root`, `svc` (uid 900) and, if `with_ks`, `keepalived_script` (uid 901) exist.
    fn script_users(globals: &str, with_ks: bool) -> (Option<RunAs>, Option<RunAs>) {
        let text = format!(
            "global_defs {{\n{globals}}}\nvrrp_script chk {{\n script /bin/true\n}}\n\
             vrrp_instance V {{\n interface eth9\n virtual_router_id 9\n \
             virtual_ipaddress {{\n 10.1.2.3\n }}\n track_script {{\n chk\n }}\n \
             notify_master /bin/true\n}}\n"
        );
        let dir = TempDir::new("plan-users");
        let path = dir.path().join("keepalived.conf");
        std::fs::write(&path, text).unwrap();
        // The validator's own account checks would use this machine's users.
        let opts = LoadOptions {
            check_interfaces: false,
            check_scripts: false,
            ..LoadOptions::default()
        };
        let loaded = load(&path, &opts).unwrap_or_else(|e| panic!("{e}"));
        let accounts = |user: &str, _: Option<&str>| match user {
            "root" => Ok(RunAs::ROOT),
            "svc" => Ok(RunAs { uid: 900, gid: 900 }),
            "keepalived_script" if with_ks => Ok(RunAs { uid: 901, gid: 901 }),
            _ => Err(CommandError::NoSuchUser { user: user.into() }),
        };
        let plan = Plan::build_with_accounts(&loaded.config, None, accounts).unwrap();
        let track = plan
            .scripts
            .iter()
            .find(|s| s.name == "chk")
            .map(|s| s.run_as);
        let notify = plan
            .instance("V")
            .unwrap()
            .notify
            .master
            .as_ref()
            .map(|n| n.run_as);
        (track, notify)
    }

    #[test]
    fn scripts_run_as_the_default_user_the_validator_checked_them_as() {
        let ks = Some(RunAs { uid: 901, gid: 901 });
        let svc = Some(RunAs { uid: 900, gid: 900 });
        let root = Some(RunAs::ROOT);
        // keepalived_script, when it exists, with or without script security.
        assert_eq!(script_users(" enable_script_security\n", true), (ks, ks));
        assert_eq!(script_users("", true), (ks, ks));
        // Without it: root; under script security the vrrp_script is not run at all, and the
        // notify script runs as root (checked as root by the validator).
        assert_eq!(script_users("", false), (root, root));
        assert_eq!(
            script_users(" enable_script_security\n", false),
            (None, root)
        );
        // script_user wins; an unknown one never falls back to root for a vrrp_script.
        assert_eq!(script_users(" script_user svc\n", true), (svc, svc));
        assert_eq!(script_users(" script_user nosuch\n", true).0, None);
    }

    #[test]
    fn script_lines_quote_words_with_spaces() {
        let s = Script {
            args: vec!["/bin/check".into(), "a b".into(), "it's".into()],
            user: None,
        };
        assert_eq!(script_line(&s), r"/bin/check 'a b' 'it'\''s'");
    }
}
