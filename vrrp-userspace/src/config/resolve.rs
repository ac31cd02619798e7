//! The resolved view: per instance, every effective value the engine needs, with `global_defs`
//! applied and strict mode's forced settings in place (keepalived's `vrrp_complete_instance`
//! and `set_vrrp_defaults`). Pure function of a validated [`Config`].

use std::net::IpAddr;

use serde::Serialize;

use super::model::*;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolvedGarp {
    /// Delay before the second GARP/NA burst after becoming master (0 = none), seconds.
    pub master_delay_s: u32,
    pub master_repeat: u32,
    /// Resend period while master (0 = off), seconds.
    pub master_refresh_s: u32,
    pub master_refresh_repeat: u32,
    pub lower_prio_delay_s: u32,
    pub lower_prio_repeat: u32,
    /// Gap between successive GARPs / unsolicited NAs on one interface.
    pub interval_us: u64,
    pub gna_interval_us: u64,
}

/// A tracker attached to an instance, with the weight that applies (the reference's weight, or
/// the tracker's own) and `reverse` folded into the sign of `weight`'s multiplier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolvedTrack {
    pub name: String,
    pub weight: i32,
    pub reverse: bool,
    /// Attached through this sync group rather than the instance itself.
    pub from_sync_group: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolvedInstance {
    pub name: String,
    pub interface: Option<String>,
    pub vrid: u8,
    pub family: Family,
    pub version: u8,
    pub priority: u8,
    pub initial_state: InitialState,
    /// Advert interval in centiseconds (v2: a multiple of 100).
    pub advert_int_centis: u16,
    pub nopreempt: bool,
    pub preempt_delay_us: u64,
    pub accept: bool,
    pub strict: bool,
    pub skip_check_adv_addr: bool,
    pub down_timer_adverts: u32,
    pub lower_prio_no_advert: bool,
    pub higher_prio_send_advert: bool,
    pub owner_ignore_adverts: bool,
    pub check_unicast_src: bool,
    pub v3_checksum_as_v2: bool,
    pub garp: ResolvedGarp,
    /// Multicast destination; None in unicast mode.
    pub mcast_group: Option<IpAddr>,
    pub unicast_peers: Vec<UnicastPeer>,
    /// Configured source address (`unicast_src_ip`/`mcast_src_ip`); None = interface primary.
    pub src_ip: Option<IpAddr>,
    pub unicast_ttl: u8,
    /// `unicast_fault_no_peer` with no peers: the instance starts (and stays) in FAULT.
    pub fault_no_peer: bool,
    /// PASS password, NUL-padded to 8 bytes as on the wire (v2 only).
    pub auth_pass: Option<[u8; 8]>,
    pub vips: Vec<VirtualAddress>,
    pub excluded_vips: Vec<VirtualAddress>,
    pub track_interfaces: Vec<ResolvedTrack>,
    pub track_scripts: Vec<ResolvedTrack>,
    pub track_files: Vec<ResolvedTrack>,
    pub dont_track_primary: bool,
    pub notify: Notify,
    pub notify_priority_changes: bool,
    pub sync_group: Option<String>,
}

pub fn resolve(cfg: &Config) -> Vec<ResolvedInstance> {
    cfg.vrrp_instances
        .iter()
        .filter_map(|i| resolve_instance(cfg, i))
        .collect()
}

/// None for an instance that validation rejected (no VRID).
pub fn resolve_instance(cfg: &Config, inst: &Instance) -> Option<ResolvedInstance> {
    let g = &cfg.global_defs;
    let vrid = inst.virtual_router_id?;
    let family = inst.family.unwrap_or(Family::Ipv4);
    let version = inst.version.unwrap_or(if family == Family::Ipv6 {
        3
    } else {
        g.vrrp_version
    });
    let priority = inst
        .priority
        .unwrap_or(if inst.state == Some(InitialState::Master) {
            255
        } else {
            100
        });
    let owner = priority == 255;
    let strict = inst.strict_mode.unwrap_or(g.vrrp_strict);
    let initial_state = inst.state.unwrap_or(if owner {
        InitialState::Master
    } else {
        InitialState::Backup
    });
    let unicast = inst.is_unicast();
    let sync = cfg
        .vrrp_sync_groups
        .iter()
        .find(|s| s.group.contains(&inst.name));

    // vrrp_min_garp only changes values still at their defaults (gp.c).
    let min_garp = g.vrrp_min_garp;
    let g_delay = if min_garp && g.vrrp_garp_master_delay == 5 {
        0
    } else {
        g.vrrp_garp_master_delay
    };
    let g_repeat = if min_garp && g.vrrp_garp_master_repeat == 5 {
        1
    } else {
        g.vrrp_garp_master_repeat
    };
    let master_delay_s = inst.garp.garp_master_delay.unwrap_or(g_delay);
    let master_repeat = inst.garp.garp_master_repeat.unwrap_or(g_repeat);
    let garp = ResolvedGarp {
        master_delay_s,
        master_repeat,
        master_refresh_s: inst
            .garp
            .garp_master_refresh
            .unwrap_or(g.vrrp_garp_master_refresh),
        master_refresh_repeat: inst
            .garp
            .garp_master_refresh_repeat
            .unwrap_or(g.vrrp_garp_master_refresh_repeat),
        lower_prio_delay_s: match (strict, inst.garp.garp_lower_prio_delay) {
            (true, _) => 0,
            (false, Some(v)) => v,
            (false, None) => g.vrrp_garp_lower_prio_delay.unwrap_or(g_delay),
        },
        lower_prio_repeat: match (strict, inst.garp.garp_lower_prio_repeat) {
            (true, _) => 0,
            (false, Some(v)) => v,
            (false, None) => g.vrrp_garp_lower_prio_repeat.unwrap_or(g_repeat),
        },
        interval_us: g.vrrp_garp_interval_us,
        gna_interval_us: g.vrrp_gna_interval_us,
    };

    let script_weight = |name: &str| {
        cfg.vrrp_scripts
            .iter()
            .find(|s| s.name == name)
            .map(|s| (s.weight, s.weight_reverse))
    };
    let file_weight = |name: &str| {
        cfg.track_files
            .iter()
            .find(|f| f.name == name)
            .map(|f| (f.weight, f.weight_reverse))
    };
    let tracks =
        |own: &[TrackRef], grp: Option<&[TrackRef]>, base: &dyn Fn(&str) -> Option<(i32, bool)>| {
            let mut out: Vec<ResolvedTrack> = Vec::new();
            let from_group = grp.map(|refs| (refs, sync.map(|s| s.name.clone())));
            for (refs, origin) in std::iter::once((own, None)).chain(from_group) {
                for r in refs {
                    if out.iter().any(|o| o.name == r.name) {
                        continue;
                    }
                    let Some((w, rev)) = base(&r.name) else {
                        continue;
                    };
                    out.push(ResolvedTrack {
                        name: r.name.clone(),
                        weight: r.weight.unwrap_or(w),
                        reverse: r.reverse.unwrap_or(rev),
                        from_sync_group: origin.clone(),
                    });
                }
            }
            // keepalived §1.5: in a sync group, member trackers with a weight are ignored unless
            // sync_group_tracking_weight; an owner never adjusts its priority either.
            let weights_ok = sync.is_none_or(|s| s.sync_group_tracking_weight) && !owner;
            out.retain(|t| weights_ok || t.weight == 0);
            out
        };
    let enabled_script = |n: &str| cfg.vrrp_scripts.iter().any(|s| s.name == n && s.enabled);
    let track_scripts = tracks(
        &inst.track_script,
        sync.map(|s| s.track_script.as_slice()),
        &|n| {
            if enabled_script(n) {
                script_weight(n)
            } else {
                None
            }
        },
    );
    let track_files = tracks(
        &inst.track_file,
        sync.map(|s| s.track_file.as_slice()),
        &file_weight,
    );
    let track_interfaces = tracks(
        &inst.track_interface,
        sync.map(|s| s.track_interface.as_slice()),
        &|_| Some((0, false)),
    );

    let auth_pass = inst
        .authentication
        .as_ref()
        .filter(|a| a.auth_type == AuthType::Pass && version == 2)
        .map(|a| {
            let mut buf = [0u8; 8];
            for (dst, src) in buf.iter_mut().zip(a.auth_pass.iter().copied()) {
                *dst = src;
            }
            buf
        });

    Some(ResolvedInstance {
        name: inst.name.clone(),
        interface: inst.interface.clone(),
        vrid,
        family,
        version,
        priority,
        initial_state,
        advert_int_centis: (inst.advert_int_us / 10_000).clamp(1, 4095) as u16,
        nopreempt: inst.nopreempt,
        preempt_delay_us: inst.preempt_delay_us,
        accept: inst.accept.unwrap_or(owner || !strict),
        strict,
        skip_check_adv_addr: inst
            .skip_check_adv_addr
            .unwrap_or(g.vrrp_skip_check_adv_addr),
        down_timer_adverts: if strict {
            3
        } else {
            inst.down_timer_adverts.unwrap_or(g.vrrp_down_timer_adverts)
        },
        lower_prio_no_advert: strict
            || inst
                .lower_prio_no_advert
                .unwrap_or(g.vrrp_lower_prio_no_advert),
        higher_prio_send_advert: !strict
            && inst
                .higher_prio_send_advert
                .unwrap_or(g.vrrp_higher_prio_send_advert),
        owner_ignore_adverts: inst
            .owner_ignore_adverts
            .unwrap_or(strict || g.vrrp_owner_ignore_adverts),
        check_unicast_src: inst.check_unicast_src.unwrap_or(g.vrrp_check_unicast_src),
        v3_checksum_as_v2: inst.v3_checksum_as_v2.unwrap_or(g.v3_checksum_as_v2),
        garp,
        mcast_group: if unicast {
            None
        } else {
            Some(inst.mcast_dst_ip.unwrap_or(match family {
                Family::Ipv4 => IpAddr::V4(g.vrrp_mcast_group4),
                Family::Ipv6 => IpAddr::V6(g.vrrp_mcast_group6),
            }))
        },
        unicast_peers: inst.unicast_peer.clone(),
        src_ip: inst.src_ip,
        unicast_ttl: inst.unicast_ttl.unwrap_or(255),
        fault_no_peer: inst.unicast_configured
            && inst.unicast_peer.is_empty()
            && inst.unicast_fault_no_peer,
        auth_pass,
        vips: inst.virtual_ipaddress.clone(),
        excluded_vips: inst.virtual_ipaddress_excluded.clone(),
        track_interfaces,
        track_scripts,
        track_files,
        dont_track_primary: inst.dont_track_primary,
        notify: inst.notify.clone(),
        notify_priority_changes: inst
            .notify_priority_changes
            .or(sync.and_then(|s| s.notify_priority_changes))
            .unwrap_or(g.vrrp_notify_priority_changes),
        sync_group: sync.map(|s| s.name.clone()),
    })
}
