//! Typed keepalived configuration (VRRP side) with keepalived's defaults. What the daemon and the
//! engine consume; `vrrpd check --dump` prints it as JSON. Values that keepalived inherits from
//! `global_defs` stay `Option` here (None = inherit); [`super::resolve`] applies the globals.
//! Times are microseconds (`_us`), keepalived's own resolution.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serialize;

use super::diag::Span;

pub const VRRP_MCAST_GROUP4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
pub const VRRP_MCAST_GROUP6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
pub const SECOND_US: u64 = 1_000_000;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Config {
    pub global_defs: GlobalDefs,
    pub vrrp_scripts: Vec<VrrpScript>,
    pub track_files: Vec<TrackFile>,
    pub vrrp_instances: Vec<Instance>,
    pub vrrp_sync_groups: Vec<SyncGroup>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GlobalDefs {
    pub router_id: Option<String>,
    pub vrrp_mcast_group4: Ipv4Addr,
    pub vrrp_mcast_group6: Ipv6Addr,
    pub vrrp_version: u8,
    pub vrrp_garp_master_delay: u32,
    pub vrrp_garp_master_repeat: u32,
    pub vrrp_garp_master_refresh: u32,
    pub vrrp_garp_master_refresh_repeat: u32,
    /// None: same as `vrrp_garp_master_delay`.
    pub vrrp_garp_lower_prio_delay: Option<u32>,
    /// None: same as `vrrp_garp_master_repeat`.
    pub vrrp_garp_lower_prio_repeat: Option<u32>,
    pub vrrp_garp_interval_us: u64,
    pub vrrp_gna_interval_us: u64,
    pub vrrp_min_garp: bool,
    pub vrrp_down_timer_adverts: u32,
    pub vrrp_lower_prio_no_advert: bool,
    pub vrrp_higher_prio_send_advert: bool,
    pub vrrp_skip_check_adv_addr: bool,
    pub vrrp_strict: bool,
    pub vrrp_check_unicast_src: bool,
    pub v3_checksum_as_v2: bool,
    pub vrrp_owner_ignore_adverts: bool,
    pub vrrp_startup_delay_us: u64,
    pub vrrp_delay_after_boot_us: u64,
    pub enable_script_security: bool,
    pub script_user: Option<ScriptUser>,
    pub notify_fifo: Option<NotifyFifo>,
    pub vrrp_notify_fifo: Option<NotifyFifo>,
    pub vrrp_notify_priority_changes: bool,
    pub dynamic_interfaces: bool,
    pub dynamic_interfaces_allow_if_changes: bool,
    /// Where SIGUSR1 writes the `.data` dump (a directory when it ends in `/`).
    pub state_file_location: Option<std::path::PathBuf>,
    /// Where SIGUSR2 writes the `.stats` dump (a directory when it ends in `/`).
    pub stats_file_location: Option<std::path::PathBuf>,
}

impl Default for GlobalDefs {
    fn default() -> Self {
        GlobalDefs {
            router_id: None,
            vrrp_mcast_group4: VRRP_MCAST_GROUP4,
            vrrp_mcast_group6: VRRP_MCAST_GROUP6,
            vrrp_version: 2,
            vrrp_garp_master_delay: 5,
            vrrp_garp_master_repeat: 5,
            vrrp_garp_master_refresh: 0,
            vrrp_garp_master_refresh_repeat: 1,
            vrrp_garp_lower_prio_delay: None,
            vrrp_garp_lower_prio_repeat: None,
            vrrp_garp_interval_us: 0,
            vrrp_gna_interval_us: 0,
            vrrp_min_garp: false,
            vrrp_down_timer_adverts: 3,
            vrrp_lower_prio_no_advert: false,
            vrrp_higher_prio_send_advert: false,
            vrrp_skip_check_adv_addr: false,
            vrrp_strict: false,
            vrrp_check_unicast_src: false,
            v3_checksum_as_v2: false,
            vrrp_owner_ignore_adverts: false,
            vrrp_startup_delay_us: 0,
            vrrp_delay_after_boot_us: 0,
            enable_script_security: false,
            script_user: None,
            notify_fifo: None,
            vrrp_notify_fifo: None,
            vrrp_notify_priority_changes: false,
            dynamic_interfaces: false,
            dynamic_interfaces_allow_if_changes: false,
            state_file_location: None,
            stats_file_location: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScriptUser {
    pub user: String,
    pub group: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotifyFifo {
    pub path: String,
    pub user: Option<String>,
    pub group: Option<String>,
    /// `*_fifo_script`: helper started with the FIFO path as its last argument.
    pub script: Option<Script>,
}

/// A command line as keepalived splits it: the quoted string's words, then the user to run as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Script {
    pub args: Vec<String>,
    pub user: Option<ScriptUser>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VrrpScript {
    pub name: String,
    pub script: Option<Script>,
    pub interval_us: u64,
    /// None: same as the interval.
    pub timeout_us: Option<u64>,
    pub weight: i32,
    pub weight_reverse: bool,
    pub rise: u32,
    pub fall: u32,
    pub init_fail: bool,
    /// Cleared by validation when the script file is missing or not executable (keepalived's
    /// "Disabling track script … since not found/accessible"); disabled scripts are removed
    /// from every instance and group.
    pub enabled: bool,
    #[serde(skip)]
    pub span: Option<Span>,
}

impl VrrpScript {
    pub fn new(name: String, span: Span) -> Self {
        VrrpScript {
            name,
            script: None,
            interval_us: SECOND_US,
            timeout_us: None,
            weight: 0,
            weight_reverse: false,
            rise: 1,
            fall: 1,
            init_fail: false,
            enabled: true,
            span: Some(span),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TrackFile {
    pub name: String,
    pub file: Option<String>,
    pub weight: i32,
    pub weight_reverse: bool,
    /// `init_file [VALUE] [overwrite]`: create the file with VALUE if missing (or always).
    pub init_file: Option<InitFile>,
    #[serde(skip)]
    pub span: Option<Span>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InitFile {
    pub value: i64,
    pub overwrite: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum InitialState {
    Master,
    Backup,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }

    /// keepalived's rule for an instance: the first address read of those that carry a family
    /// (VIP, src IP, `mcast_dst_ip`, unicast peer) sets it; one of the other family is then
    /// skipped. Whether `addr` is of the instance's family.
    pub fn claim(slot: &mut Option<Family>, addr: &IpAddr) -> bool {
        *slot.get_or_insert(Family::of(addr)) == Family::of(addr)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AuthType {
    #[serde(rename = "PASS")]
    Pass,
    #[serde(rename = "AH")]
    Ah,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Authentication {
    pub auth_type: AuthType,
    /// At most 8 bytes (keepalived truncates longer passwords), not necessarily UTF-8.
    #[serde(serialize_with = "serialize_bytes")]
    pub auth_pass: Vec<u8>,
}

/// As a string: the text when it is UTF-8, else with `\xNN` escapes.
fn serialize_bytes<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    match std::str::from_utf8(b) {
        Ok(text) => s.serialize_str(text),
        Err(_) => s.serialize_str(&b.escape_ascii().to_string()),
    }
}

/// One line of `virtual_ipaddress` / `virtual_ipaddress_excluded` (keepalived-behaviour.md §1.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VirtualAddress {
    pub address: IpAddr,
    pub prefix_len: u8,
    pub broadcast: Option<Broadcast>,
    pub dev: Option<String>,
    pub scope: Option<String>,
    pub label: Option<String>,
    /// `peer IP`: the other end of a point-to-point address, which is then a host address.
    pub peer: Option<IpAddr>,
    pub home: bool,
    /// `-nodad`: the kernel runs duplicate address detection on this (IPv6) address, which
    /// keepalived otherwise turns off for VIPs.
    pub nodad: bool,
    pub mngtmpaddr: bool,
    pub noprefixroute: bool,
    pub autojoin: bool,
    pub no_track: bool,
    pub use_vmac: bool,
    /// None = keepalived's default: `forever`, except IPv6 /128 which gets 0 (deprecated).
    pub preferred_lft: Option<PreferredLft>,
    #[serde(skip)]
    pub span: Option<Span>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Broadcast {
    Address(IpAddr),
    /// `brd +`: host part all ones.
    Plus,
    /// `brd -`: host part all zeros.
    Minus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PreferredLft {
    Forever,
    Seconds(u32),
}

/// A `virtual_routes` / `virtual_rules` line, kept as `ip route`/`ip rule` words plus the parsed
/// destination where there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VirtualRoute {
    pub words: Vec<String>,
    pub no_track: bool,
    #[serde(skip)]
    pub span: Option<Span>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnicastPeer {
    pub address: IpAddr,
    pub min_ttl: Option<u8>,
    pub max_ttl: Option<u8>,
}

/// `track_script`/`track_file`/`track_interface` entry: NAME [weight W [reverse|noreverse]].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackRef {
    pub name: String,
    /// None: the tracker's own weight (track_interface: 0).
    pub weight: Option<i32>,
    /// None: the tracker's own setting. Some(false) = `noreverse`.
    pub reverse: Option<bool>,
    #[serde(skip)]
    pub span: Option<Span>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Notify {
    pub master: Option<Script>,
    pub backup: Option<Script>,
    pub fault: Option<Script>,
    pub stop: Option<Script>,
    /// `notify_deleted [CMD]`: report DELETED instead of FAULT when removed.
    pub deleted: Option<Option<Script>>,
    /// Generic `notify`, called with INSTANCE|GROUP NAME STATE PRIORITY appended.
    pub notify: Option<Script>,
    pub master_rx_lower_pri: Option<Script>,
}

/// Per-instance GARP overrides; None = the global value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GarpOverrides {
    pub garp_master_delay: Option<u32>,
    pub garp_master_repeat: Option<u32>,
    pub garp_master_refresh: Option<u32>,
    pub garp_master_refresh_repeat: Option<u32>,
    pub garp_lower_prio_delay: Option<u32>,
    pub garp_lower_prio_repeat: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Instance {
    pub name: String,
    /// After validation: as configured, or derived from the priority (255 → MASTER).
    pub state: Option<InitialState>,
    pub interface: Option<String>,
    pub virtual_router_id: Option<u8>,
    /// After validation: as configured, or 255 with `state MASTER`, else 100.
    pub priority: Option<u8>,
    /// After validation: keepalived's rounding applied (v2 whole seconds, v3 10 ms).
    pub advert_int_us: u64,
    /// After validation: the effective version (IPv6 forces 3; else the global default).
    pub version: Option<u8>,
    /// Set while lowering by the first VIP, `unicast_src_ip`/`mcast_src_ip`, `mcast_dst_ip` or
    /// unicast peer, as keepalived does (see [`Instance::claim_family`]); after validation IPv4
    /// when none of them was given.
    pub family: Option<Family>,
    pub authentication: Option<Authentication>,
    pub virtual_ipaddress: Vec<VirtualAddress>,
    pub virtual_ipaddress_excluded: Vec<VirtualAddress>,
    pub no_virtual_ipaddress: bool,
    pub virtual_routes: Vec<VirtualRoute>,
    pub virtual_rules: Vec<VirtualRoute>,
    /// `unicast_src_ip` or `mcast_src_ip` (the same setting in keepalived).
    pub src_ip: Option<IpAddr>,
    pub unicast_peer: Vec<UnicastPeer>,
    /// Any unicast keyword was given (unicast only takes effect with peers).
    pub unicast_configured: bool,
    pub unicast_ttl: Option<u8>,
    pub unicast_fault_no_peer: bool,
    pub check_unicast_src: Option<bool>,
    pub mcast_dst_ip: Option<IpAddr>,
    pub track_src_ip: bool,
    pub nopreempt: bool,
    pub preempt_delay_us: u64,
    pub track_interface: Vec<TrackRef>,
    pub track_script: Vec<TrackRef>,
    pub track_file: Vec<TrackRef>,
    pub dont_track_primary: bool,
    pub notify: Notify,
    pub notify_priority_changes: Option<bool>,
    pub garp: GarpOverrides,
    pub accept: Option<bool>,
    pub strict_mode: Option<bool>,
    pub skip_check_adv_addr: Option<bool>,
    pub down_timer_adverts: Option<u32>,
    pub lower_prio_no_advert: Option<bool>,
    pub higher_prio_send_advert: Option<bool>,
    pub owner_ignore_adverts: Option<bool>,
    pub v3_checksum_as_v2: Option<bool>,
    /// Keywords of features vrrpd does not implement that this instance uses (`use_vmac`…).
    pub unsupported: Vec<String>,
    #[serde(skip)]
    pub span: Option<Span>,
    /// Where each keyword of the block was last given, for diagnostics.
    #[serde(skip)]
    pub keyword_spans: std::collections::HashMap<String, Span>,
}

impl Instance {
    pub fn new(name: String, span: Span) -> Self {
        Instance {
            name,
            state: None,
            interface: None,
            virtual_router_id: None,
            priority: None,
            advert_int_us: SECOND_US,
            version: None,
            family: None,
            authentication: None,
            virtual_ipaddress: Vec::new(),
            virtual_ipaddress_excluded: Vec::new(),
            no_virtual_ipaddress: false,
            virtual_routes: Vec::new(),
            virtual_rules: Vec::new(),
            src_ip: None,
            unicast_peer: Vec::new(),
            unicast_configured: false,
            unicast_ttl: None,
            unicast_fault_no_peer: false,
            check_unicast_src: None,
            mcast_dst_ip: None,
            track_src_ip: false,
            nopreempt: false,
            preempt_delay_us: 0,
            track_interface: Vec::new(),
            track_script: Vec::new(),
            track_file: Vec::new(),
            dont_track_primary: false,
            notify: Notify::default(),
            notify_priority_changes: None,
            garp: GarpOverrides::default(),
            accept: None,
            strict_mode: None,
            skip_check_adv_addr: None,
            down_timer_adverts: None,
            lower_prio_no_advert: None,
            higher_prio_send_advert: None,
            owner_ignore_adverts: None,
            v3_checksum_as_v2: None,
            unsupported: Vec::new(),
            span: Some(span),
            keyword_spans: std::collections::HashMap::new(),
        }
    }

    /// Unicast is in effect: a unicast keyword and at least one peer (keepalived §2.10).
    pub fn is_unicast(&self) -> bool {
        !self.unicast_peer.is_empty()
    }

    /// See [`Family::claim`].
    pub fn claim_family(&mut self, addr: &IpAddr) -> bool {
        Family::claim(&mut self.family, addr)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SyncGroup {
    pub name: String,
    pub group: Vec<String>,
    pub track_interface: Vec<TrackRef>,
    pub track_script: Vec<TrackRef>,
    pub track_file: Vec<TrackRef>,
    pub notify: Notify,
    pub notify_priority_changes: Option<bool>,
    pub sync_group_tracking_weight: bool,
    #[serde(skip)]
    pub span: Option<Span>,
}

impl SyncGroup {
    pub fn new(name: String, span: Span) -> Self {
        SyncGroup {
            name,
            group: Vec::new(),
            track_interface: Vec::new(),
            track_script: Vec::new(),
            track_file: Vec::new(),
            notify: Notify::default(),
            notify_priority_changes: None,
            sync_group_tracking_weight: false,
            span: Some(span),
        }
    }
}
