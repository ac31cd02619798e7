//! The engine's own resolved configuration: every keepalived default already applied and every
//! keepalived "clearing" rule (nopreempt with `state MASTER`, preempt_delay with nopreempt…) already
//! resolved by the config front end. The engine trusts these values; it never reads keepalived.conf.

use core::time::Duration;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

pub use crate::packet::Family;
pub use crate::packet::vrrp::{Auth, Version};

/// All instances and sync groups of one node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineConfig {
    /// `vrrp_instance NAME { … }` blocks.
    pub instances: Vec<InstanceConfig>,
    /// `vrrp_sync_group NAME { group { … } }` blocks. Group trackers (`track_script` inside the
    /// group) must be copied into each member's `trackers` by the front end.
    pub sync_groups: Vec<SyncGroupConfig>,
    /// `vrrp_startup_delay` (global_defs): nothing starts until this has passed after
    /// [`Engine::new`](super::Engine::new).
    pub startup_delay: Duration,
}

/// `state MASTER|BACKUP`: the initial wanted state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WantedState {
    Master,
    Backup,
}

/// One virtual address (`virtual_ipaddress` / `virtual_ipaddress_excluded` line).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Vip {
    pub addr: IpAddr,
    /// `/MASK`; /32 or /128 when not given.
    pub prefix_len: u8,
    /// `dev IF`; `None` = the instance's interface.
    pub dev: Option<String>,
    /// `no_track`: deleting it from outside does not move a master to BACKUP.
    #[serde(default)]
    pub no_track: bool,
}

impl Vip {
    /// A host VIP (/32 or /128) on the instance's interface.
    pub fn host(addr: IpAddr) -> Vip {
        let prefix_len = match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        Vip {
            addr,
            prefix_len,
            dev: None,
            no_track: false,
        }
    }
}

/// GARP / unsolicited NA settings (`garp_*` keywords, per instance or from global_defs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GarpConfig {
    /// `garp_master_delay`: delay of the second burst after becoming master; zero = no second burst.
    pub master_delay: Duration,
    /// `garp_master_repeat`: GARPs per VIP in each burst.
    pub master_repeat: u32,
    /// `garp_master_refresh`: period of refresh GARPs while master; zero = none.
    pub master_refresh: Duration,
    /// `garp_master_refresh_repeat`: GARPs per VIP in each refresh.
    pub master_refresh_repeat: u32,
    /// `garp_lower_prio_delay`: delay of the second burst after hearing a lower-priority advert.
    pub lower_prio_delay: Duration,
    /// `garp_lower_prio_repeat`: GARPs per VIP sent when a master hears a lower priority; 0 = none.
    pub lower_prio_repeat: u32,
}

impl Default for GarpConfig {
    /// keepalived's defaults (vrrp.h 167-170, global_data.c `set_vrrp_defaults`).
    fn default() -> GarpConfig {
        GarpConfig {
            master_delay: Duration::from_secs(5),
            master_repeat: 5,
            master_refresh: Duration::ZERO,
            master_refresh_repeat: 1,
            lower_prio_delay: Duration::from_secs(5),
            lower_prio_repeat: 5,
        }
    }
}

/// What a tracker entry watches. The daemon reports its state with `Input::TrackerChanged`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TrackerId {
    /// `track_script { NAME }` → `vrrp_script NAME`.
    Script(String),
    /// `track_interface { IF }`; also updated by `Input::LinkChanged`.
    Interface(String),
    /// `track_file { NAME }` → `track_file NAME` (reports `TrackerState::Value`).
    File(String),
    /// `track_process { NAME }` → `vrrp_track_process NAME`.
    Process(String),
    /// `track_bfd { NAME }`.
    Bfd(String),
}

/// One `track_*` entry of an instance with its resolved weight.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tracked {
    pub tracker: TrackerId,
    /// `weight W` (the instance's override or the tracker's own). 0 = FAULT when failed.
    pub weight: i32,
    /// `reverse` (after `noreverse` is resolved).
    pub reverse: bool,
}

/// One `vrrp_instance NAME { … }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceConfig {
    /// `vrrp_instance NAME`.
    pub name: String,
    /// `interface IF`.
    pub interface: String,
    /// Family of the first `virtual_ipaddress`.
    pub family: Family,
    /// `version` / `vrrp_version`.
    pub version: Version,
    /// `virtual_router_id` (1..=255).
    pub vrid: u8,
    /// `priority` (1..=255; 255 = address owner, never adjusted by trackers).
    pub priority: u8,
    /// `state MASTER|BACKUP`.
    pub initial_state: WantedState,
    /// `advert_int` in centiseconds (v2: a multiple of 100, whole seconds).
    pub advert_int: u16,
    /// `nopreempt` (already cleared for `state MASTER` and priority 255).
    pub nopreempt: bool,
    /// `preempt_delay` (already cleared where keepalived clears it).
    pub preempt_delay: Duration,
    /// `down_timer_adverts` (1..=100, default 3).
    pub down_timer_adverts: u8,
    /// `virtual_ipaddress`: advertised and added on MASTER.
    pub vips: Vec<Vip>,
    /// `virtual_ipaddress_excluded`: added on MASTER, never advertised.
    pub excluded_vips: Vec<Vip>,
    /// `garp_*` settings.
    pub garp: GarpConfig,
    /// `lower_prio_no_advert`: a master hearing a lower priority does not answer with an advert.
    pub lower_prio_no_advert: bool,
    /// `higher_prio_send_advert`: a master hearing a higher priority sends one advert before
    /// stepping down.
    pub higher_prio_send_advert: bool,
    /// `skip_check_adv_addr`: skip the VIP list check when the sender is the known master.
    pub skip_check_adv_addr: bool,
    /// `owner_ignore_adverts`: an address owner (priority 255) ignores every advert.
    pub owner_ignore_adverts: bool,
    /// `authentication { … }` (v2 only; `Auth::None` under v3).
    pub auth: Auth,
    /// `unicast_src_ip` / `mcast_src_ip`: overrides the interface address reported by
    /// `Input::SourceAddress`, as advert source and in the equal-priority tie-break.
    pub src_ip: Option<IpAddr>,
    /// `unicast_peer { … }`; empty = multicast.
    pub unicast_peers: Vec<IpAddr>,
    /// `check_unicast_src` / `vrrp_check_unicast_src`, also turned on by a peer's `min_ttl` or
    /// `max_ttl` (keepalived): unicast adverts from a source that is not a peer are dropped, and
    /// those outside their peer's TTL range are dropped and counted (`ip_ttl_err`).
    #[serde(default)]
    pub check_unicast_src: bool,
    /// The peers that have a `min_ttl` / `max_ttl`; any other peer's range is keepalived's 0-255.
    #[serde(default)]
    pub unicast_peer_ttl: Vec<PeerTtl>,
    /// `dont_track_primary`: a down `interface` does not cause FAULT.
    pub dont_track_primary: bool,
    /// `track_script`, `track_interface`, `track_file`, `track_process`, `track_bfd`.
    pub trackers: Vec<Tracked>,
    /// `notify_deleted`: a removed instance reports DELETED instead of FAULT on reload.
    pub notify_deleted: bool,
}

impl InstanceConfig {
    /// An instance with keepalived's defaults for everything but the identifying fields.
    pub fn new(name: &str, interface: &str, family: Family, vrid: u8) -> InstanceConfig {
        InstanceConfig {
            name: name.to_string(),
            interface: interface.to_string(),
            family,
            version: match family {
                Family::Ipv4 => Version::V2,
                Family::Ipv6 => Version::V3,
            },
            vrid,
            priority: 100,
            initial_state: WantedState::Backup,
            advert_int: 100,
            nopreempt: false,
            preempt_delay: Duration::ZERO,
            down_timer_adverts: 3,
            vips: Vec::new(),
            excluded_vips: Vec::new(),
            garp: GarpConfig::default(),
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            skip_check_adv_addr: false,
            owner_ignore_adverts: false,
            auth: Auth::None,
            src_ip: None,
            unicast_peers: Vec::new(),
            check_unicast_src: false,
            unicast_peer_ttl: Vec::new(),
            dont_track_primary: false,
            trackers: Vec::new(),
            notify_deleted: false,
        }
    }

    /// keepalived's `vrrp_exist` identity: old and new instances are matched on reload by this,
    /// not by name.
    pub(crate) fn reload_key(&self) -> (u8, Family, &str, bool, Option<IpAddr>) {
        (
            self.vrid,
            self.family,
            self.interface.as_str(),
            !self.unicast_peers.is_empty(),
            self.src_ip,
        )
    }
}

/// One `unicast_peer` line's TTL range: `IP min_ttl N max_ttl M` (unset bounds 0 and 255).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerTtl {
    pub peer: IpAddr,
    pub min_ttl: u8,
    pub max_ttl: u8,
}

/// One `vrrp_sync_group NAME { group { … } }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncGroupConfig {
    /// `vrrp_sync_group NAME`.
    pub name: String,
    /// `group { INST… }`: instance names.
    pub members: Vec<String>,
}
