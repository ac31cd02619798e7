//! The one table of keepalived's VRRP-side keywords and what vrrpd does with each. The lowering
//! pass consults it for "unknown keyword" and "accepted but ignored" diagnostics, and
//! `docs/configuration.md` is generated from it (a test keeps the two equal).

/// Where a keyword may appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    Root,
    GlobalDefs,
    VrrpScript,
    TrackFile,
    VrrpInstance,
    Authentication,
    SyncGroup,
}

impl Section {
    pub fn title(self) -> &'static str {
        match self {
            Section::Root => "Top level",
            Section::GlobalDefs => "global_defs",
            Section::VrrpScript => "vrrp_script NAME",
            Section::TrackFile => "track_file NAME (alias vrrp_track_file)",
            Section::VrrpInstance => "vrrp_instance NAME",
            Section::Authentication => "vrrp_instance → authentication",
            Section::SyncGroup => "vrrp_sync_group NAME",
        }
    }

    pub const ALL: [Section; 7] = [
        Section::Root,
        Section::GlobalDefs,
        Section::VrrpScript,
        Section::TrackFile,
        Section::VrrpInstance,
        Section::Authentication,
        Section::SyncGroup,
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Parsed into the model and acted on by vrrpd.
    Supported,
    /// Parsed (so a keepalived.conf using it loads) but has no effect in vrrpd; a note says so.
    AcceptedIgnored,
    /// A keepalived feature vrrpd does not implement; parsed where the model has a field, and a
    /// note says it is not supported.
    NotSupported,
    /// A block of another keepalived part (LVS checker, BFD): skipped with one note.
    OtherPart,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Supported => "supported",
            Status::AcceptedIgnored => "accepted, no effect",
            Status::NotSupported => "not supported",
            Status::OtherPart => "skipped (not VRRP)",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Keyword {
    pub section: Section,
    pub name: &'static str,
    pub status: Status,
    pub note: &'static str,
}

const fn k(section: Section, name: &'static str, status: Status, note: &'static str) -> Keyword {
    Keyword {
        section,
        name,
        status,
        note,
    }
}

use Section::*;
use Status::*;

pub static KEYWORDS: &[Keyword] = &[
    // ----- top level
    k(
        Root,
        "global_defs",
        Supported,
        "VRRP keywords below; the rest are accepted",
    ),
    k(Root, "vrrp_script", Supported, ""),
    k(Root, "track_file", Supported, ""),
    k(
        Root,
        "vrrp_track_file",
        Supported,
        "deprecated name of track_file",
    ),
    k(Root, "vrrp_instance", Supported, ""),
    k(Root, "vrrp_sync_group", Supported, ""),
    k(Root, "vrrp_track_process", NotSupported, "block skipped"),
    k(
        Root,
        "garp_group",
        NotSupported,
        "block skipped; per-interface GARP intervals use the global ones",
    ),
    k(
        Root,
        "interface_up_down_delays",
        NotSupported,
        "block skipped",
    ),
    k(
        Root,
        "linkbeat_interfaces",
        AcceptedIgnored,
        "link state comes from netlink",
    ),
    k(Root, "track_group", NotSupported, "block skipped"),
    k(Root, "static_ipaddress", NotSupported, "block skipped"),
    k(Root, "static_routes", NotSupported, "block skipped"),
    k(Root, "static_rules", NotSupported, "block skipped"),
    k(
        Root,
        "net_namespace",
        NotSupported,
        "run vrrpd inside the namespace instead",
    ),
    k(Root, "net_namespace_ipvs", AcceptedIgnored, ""),
    k(Root, "namespace_with_ipsets", AcceptedIgnored, ""),
    k(Root, "instance", AcceptedIgnored, ""),
    k(Root, "use_pid_dir", AcceptedIgnored, ""),
    k(
        Root,
        "child_wait_time",
        AcceptedIgnored,
        "vrrpd is one process",
    ),
    k(Root, "linkbeat_use_polling", AcceptedIgnored, "deprecated"),
    k(Root, "virtual_server", OtherPart, "LVS checker"),
    k(Root, "virtual_server_group", OtherPart, "LVS checker"),
    k(Root, "SSL", OtherPart, "LVS checker"),
    k(Root, "bfd_instance", OtherPart, "BFD"),
    // ----- global_defs: VRRP keywords vrrpd acts on
    k(
        GlobalDefs,
        "router_id",
        Supported,
        "kept for the summary; never sent on the wire",
    ),
    k(GlobalDefs, "vrrp_mcast_group4", Supported, ""),
    k(GlobalDefs, "vrrp_mcast_group6", Supported, ""),
    k(GlobalDefs, "vrrp_version", Supported, ""),
    k(GlobalDefs, "vrrp_garp_master_delay", Supported, ""),
    k(GlobalDefs, "vrrp_garp_master_repeat", Supported, ""),
    k(GlobalDefs, "vrrp_garp_master_refresh", Supported, ""),
    k(GlobalDefs, "vrrp_garp_master_refresh_repeat", Supported, ""),
    k(GlobalDefs, "vrrp_garp_lower_prio_delay", Supported, ""),
    k(GlobalDefs, "vrrp_garp_lower_prio_repeat", Supported, ""),
    k(GlobalDefs, "vrrp_garp_interval", Supported, ""),
    k(GlobalDefs, "vrrp_gna_interval", Supported, ""),
    k(GlobalDefs, "vrrp_min_garp", Supported, ""),
    k(GlobalDefs, "vrrp_down_timer_adverts", Supported, ""),
    k(GlobalDefs, "vrrp_lower_prio_no_advert", Supported, ""),
    k(GlobalDefs, "vrrp_higher_prio_send_advert", Supported, ""),
    k(
        GlobalDefs,
        "vrrp_skip_check_adv_addr",
        Supported,
        "without it a VIP-list mismatch is counted and logged but the advert accepted, as in keepalived ≥ 2.3.3 (2.2.7 drops it: dual master after a reload that changes VIPs, keepalived #1603)",
    ),
    k(
        GlobalDefs,
        "vrrp_strict",
        Supported,
        "non-owners default to no_accept (see no_accept); the other strict rules as keepalived",
    ),
    k(
        GlobalDefs,
        "vrrp_check_unicast_src",
        Supported,
        "unicast adverts from a source not in unicast_peer are dropped and logged, counted only in advert_rcvd (keepalived 2.2.7); also checked for the known master under skip_check_adv_addr, unlike 2.2.7",
    ),
    k(GlobalDefs, "v3_checksum_as_v2", Supported, ""),
    k(GlobalDefs, "vrrp_owner_ignore_adverts", Supported, ""),
    k(GlobalDefs, "vrrp_startup_delay", Supported, ""),
    k(GlobalDefs, "vrrp_delay_after_boot", Supported, ""),
    k(GlobalDefs, "enable_script_security", Supported, ""),
    k(
        GlobalDefs,
        "script_user",
        Supported,
        "default: `keepalived_script` if that account exists, else root; an unknown user removes the vrrp_scripts that need it",
    ),
    k(GlobalDefs, "notify_fifo", Supported, ""),
    k(GlobalDefs, "notify_fifo_script", Supported, ""),
    k(GlobalDefs, "vrrp_notify_fifo", Supported, ""),
    k(GlobalDefs, "vrrp_notify_fifo_script", Supported, ""),
    k(GlobalDefs, "vrrp_notify_priority_changes", Supported, ""),
    k(
        GlobalDefs,
        "dynamic_interfaces",
        NotSupported,
        "interfaces must exist at start-up; one deleted and created again needs a restart",
    ),
    // ----- global_defs: VRRP keywords vrrpd does not implement
    k(
        GlobalDefs,
        "vrrp_garp_extra_if",
        NotSupported,
        "needs VMACs",
    ),
    k(
        GlobalDefs,
        "vrrp_vmac_garp_intvl",
        NotSupported,
        "deprecated; needs VMACs",
    ),
    k(GlobalDefs, "vmac_prefix", NotSupported, "no VMACs"),
    k(GlobalDefs, "vmac_addr_prefix", NotSupported, "no VMACs"),
    k(
        GlobalDefs,
        "default_interface",
        NotSupported,
        "static addresses are not supported",
    ),
    k(
        GlobalDefs,
        "vrrp_iptables",
        AcceptedIgnored,
        "no_accept is enforced in XDP",
    ),
    k(
        GlobalDefs,
        "vrrp_ipsets",
        AcceptedIgnored,
        "no_accept is enforced in XDP",
    ),
    k(
        GlobalDefs,
        "nftables",
        AcceptedIgnored,
        "no_accept is enforced in XDP",
    ),
    k(
        GlobalDefs,
        "nftables_priority",
        AcceptedIgnored,
        "no_accept is enforced in XDP",
    ),
    k(
        GlobalDefs,
        "nftables_ifindex",
        AcceptedIgnored,
        "no_accept is enforced in XDP",
    ),
    k(
        GlobalDefs,
        "nftables_counters",
        AcceptedIgnored,
        "no_accept is enforced in XDP",
    ),
    k(GlobalDefs, "disable_local_igmp", AcceptedIgnored, ""),
    k(
        GlobalDefs,
        "vrrp_priority",
        AcceptedIgnored,
        "process nice value",
    ),
    k(GlobalDefs, "vrrp_no_swap", AcceptedIgnored, ""),
    k(GlobalDefs, "vrrp_rt_priority", AcceptedIgnored, ""),
    k(GlobalDefs, "vrrp_cpu_affinity", AcceptedIgnored, ""),
    k(GlobalDefs, "vrrp_rlimit_rttime", AcceptedIgnored, ""),
    k(GlobalDefs, "vrrp_rlimit_rtime", AcceptedIgnored, ""),
    k(GlobalDefs, "max_auto_priority", AcceptedIgnored, ""),
    k(GlobalDefs, "min_auto_priority_delay", AcceptedIgnored, ""),
    k(GlobalDefs, "vrrp_netlink_cmd_rcv_bufs", AcceptedIgnored, ""),
    k(
        GlobalDefs,
        "vrrp_netlink_cmd_rcv_bufs_force",
        AcceptedIgnored,
        "",
    ),
    k(
        GlobalDefs,
        "vrrp_netlink_monitor_rcv_bufs",
        AcceptedIgnored,
        "",
    ),
    k(
        GlobalDefs,
        "vrrp_netlink_monitor_rcv_bufs_force",
        AcceptedIgnored,
        "",
    ),
    k(GlobalDefs, "vrrp_rx_bufs_policy", AcceptedIgnored, ""),
    k(GlobalDefs, "vrrp_rx_bufs_multiplier", AcceptedIgnored, ""),
    k(GlobalDefs, "log_unknown_vrids", AcceptedIgnored, ""),
    k(
        GlobalDefs,
        "fifo_write_vrrp_states_on_reload",
        AcceptedIgnored,
        "",
    ),
    k(GlobalDefs, "vrrp_process_name", AcceptedIgnored, ""),
    k(GlobalDefs, "process_names", AcceptedIgnored, ""),
    k(GlobalDefs, "process_name", AcceptedIgnored, ""),
    k(
        GlobalDefs,
        "notification_email",
        AcceptedIgnored,
        "no SMTP alerts",
    ),
    k(
        GlobalDefs,
        "notification_email_from",
        AcceptedIgnored,
        "no SMTP alerts",
    ),
    k(GlobalDefs, "smtp_server", AcceptedIgnored, "no SMTP alerts"),
    k(
        GlobalDefs,
        "smtp_helo_name",
        AcceptedIgnored,
        "no SMTP alerts",
    ),
    k(
        GlobalDefs,
        "smtp_connect_timeout",
        AcceptedIgnored,
        "no SMTP alerts",
    ),
    k(GlobalDefs, "smtp_alert", AcceptedIgnored, "no SMTP alerts"),
    k(
        GlobalDefs,
        "smtp_alert_vrrp",
        AcceptedIgnored,
        "no SMTP alerts",
    ),
    k(
        GlobalDefs,
        "no_email_faults",
        AcceptedIgnored,
        "no SMTP alerts",
    ),
    k(GlobalDefs, "enable_snmp_vrrp", AcceptedIgnored, "no SNMP"),
    k(
        GlobalDefs,
        "enable_snmp_keepalived",
        AcceptedIgnored,
        "no SNMP",
    ),
    k(GlobalDefs, "enable_snmp_rfc", AcceptedIgnored, "no SNMP"),
    k(GlobalDefs, "enable_snmp_rfcv2", AcceptedIgnored, "no SNMP"),
    k(GlobalDefs, "enable_snmp_rfcv3", AcceptedIgnored, "no SNMP"),
    k(GlobalDefs, "enable_traps", AcceptedIgnored, "no SNMP"),
    k(GlobalDefs, "snmp_socket", AcceptedIgnored, "no SNMP"),
    k(GlobalDefs, "enable_dbus", AcceptedIgnored, "no DBus"),
    k(GlobalDefs, "dbus_service_name", AcceptedIgnored, "no DBus"),
    k(
        GlobalDefs,
        "dbus_no_interface_name",
        AcceptedIgnored,
        "no DBus",
    ),
    k(GlobalDefs, "reload_check_config", AcceptedIgnored, ""),
    k(GlobalDefs, "reload_time_file", AcceptedIgnored, ""),
    k(GlobalDefs, "reload_repeat", AcceptedIgnored, ""),
    k(GlobalDefs, "reload_file", AcceptedIgnored, ""),
    k(GlobalDefs, "config_save_dir", AcceptedIgnored, ""),
    k(GlobalDefs, "tmp_config_directory", AcceptedIgnored, ""),
    k(GlobalDefs, "data_use_instance", AcceptedIgnored, ""),
    k(
        GlobalDefs,
        "state_file_location",
        Supported,
        "SIGUSR1 `.data` path (ending in `/`: a directory); `--data-file` overrides it",
    ),
    k(
        GlobalDefs,
        "stats_file_location",
        Supported,
        "SIGUSR2 `.stats` path (ending in `/`: a directory); `--stats-file` overrides it",
    ),
    k(GlobalDefs, "json_file_location", AcceptedIgnored, ""),
    k(GlobalDefs, "json_version", AcceptedIgnored, ""),
    k(GlobalDefs, "startup_script", AcceptedIgnored, ""),
    k(GlobalDefs, "startup_script_timeout", AcceptedIgnored, ""),
    k(GlobalDefs, "shutdown_script", AcceptedIgnored, ""),
    k(GlobalDefs, "shutdown_script_timeout", AcceptedIgnored, ""),
    k(GlobalDefs, "umask", AcceptedIgnored, ""),
    k(GlobalDefs, "use_symlink_paths", AcceptedIgnored, ""),
    k(GlobalDefs, "set_supplementary_groups", AcceptedIgnored, ""),
    k(GlobalDefs, "linkbeat_use_polling", AcceptedIgnored, ""),
    k(GlobalDefs, "random_seed", AcceptedIgnored, ""),
    k(
        GlobalDefs,
        "include_check",
        AcceptedIgnored,
        "use includea/includem/... or -e",
    ),
    k(GlobalDefs, "lvs_sync_daemon", AcceptedIgnored, "LVS"),
    k(GlobalDefs, "lvs_timeouts", AcceptedIgnored, "LVS"),
    k(GlobalDefs, "lvs_flush", AcceptedIgnored, "LVS"),
    k(GlobalDefs, "lvs_flush_on_stop", AcceptedIgnored, "LVS"),
    k(GlobalDefs, "lvs_flush_onstop", AcceptedIgnored, "LVS"),
    k(GlobalDefs, "lvs_notify_fifo", AcceptedIgnored, "LVS"),
    k(GlobalDefs, "lvs_notify_fifo_script", AcceptedIgnored, "LVS"),
    k(GlobalDefs, "lvs_process_name", AcceptedIgnored, "LVS"),
    k(
        GlobalDefs,
        "lvs_netlink_cmd_rcv_bufs",
        AcceptedIgnored,
        "LVS",
    ),
    k(
        GlobalDefs,
        "lvs_netlink_cmd_rcv_bufs_force",
        AcceptedIgnored,
        "LVS",
    ),
    k(
        GlobalDefs,
        "lvs_netlink_monitor_rcv_bufs",
        AcceptedIgnored,
        "LVS",
    ),
    k(
        GlobalDefs,
        "lvs_netlink_monitor_rcv_bufs_force",
        AcceptedIgnored,
        "LVS",
    ),
    k(GlobalDefs, "nftables_ipvs", AcceptedIgnored, "LVS"),
    k(GlobalDefs, "nftables_ipvs_priority", AcceptedIgnored, "LVS"),
    k(
        GlobalDefs,
        "nftables_ipvs_start_fwmark",
        AcceptedIgnored,
        "LVS",
    ),
    k(
        GlobalDefs,
        "checker_process_name",
        AcceptedIgnored,
        "checker",
    ),
    k(GlobalDefs, "checker_priority", AcceptedIgnored, "checker"),
    k(GlobalDefs, "checker_no_swap", AcceptedIgnored, "checker"),
    k(
        GlobalDefs,
        "checker_rt_priority",
        AcceptedIgnored,
        "checker",
    ),
    k(
        GlobalDefs,
        "checker_cpu_affinity",
        AcceptedIgnored,
        "checker",
    ),
    k(
        GlobalDefs,
        "checker_rlimit_rttime",
        AcceptedIgnored,
        "checker",
    ),
    k(
        GlobalDefs,
        "checker_rlimit_rtime",
        AcceptedIgnored,
        "checker",
    ),
    k(
        GlobalDefs,
        "checker_log_all_failures",
        AcceptedIgnored,
        "checker",
    ),
    k(
        GlobalDefs,
        "enable_snmp_checker",
        AcceptedIgnored,
        "checker",
    ),
    k(GlobalDefs, "smtp_alert_checker", AcceptedIgnored, "checker"),
    k(GlobalDefs, "no_checker_emails", AcceptedIgnored, "checker"),
    k(GlobalDefs, "rs_init_notifies", AcceptedIgnored, "checker"),
    k(GlobalDefs, "process_monitor_rcv_bufs", AcceptedIgnored, ""),
    k(
        GlobalDefs,
        "process_monitor_rcv_bufs_force",
        AcceptedIgnored,
        "",
    ),
    k(GlobalDefs, "bfd_process_name", AcceptedIgnored, "BFD"),
    k(GlobalDefs, "bfd_priority", AcceptedIgnored, "BFD"),
    k(GlobalDefs, "bfd_no_swap", AcceptedIgnored, "BFD"),
    k(GlobalDefs, "bfd_rt_priority", AcceptedIgnored, "BFD"),
    k(GlobalDefs, "bfd_cpu_affinity", AcceptedIgnored, "BFD"),
    k(GlobalDefs, "bfd_rlimit_rttime", AcceptedIgnored, "BFD"),
    k(GlobalDefs, "bfd_rlimit_rtime", AcceptedIgnored, "BFD"),
    // ----- vrrp_script
    k(VrrpScript, "script", Supported, ""),
    k(VrrpScript, "interval", Supported, ""),
    k(VrrpScript, "timeout", Supported, ""),
    k(VrrpScript, "weight", Supported, ""),
    k(VrrpScript, "rise", Supported, ""),
    k(VrrpScript, "fall", Supported, ""),
    k(
        VrrpScript,
        "user",
        Supported,
        "an unknown user disables the script (never root)",
    ),
    k(
        VrrpScript,
        "init_fail",
        Supported,
        "also for a script a reload adds or changes; a reload keeps an unchanged script running with its rise/fall state",
    ),
    // ----- track_file
    k(
        TrackFile,
        "file",
        Supported,
        "a tracked file whose directory does not exist is removed alone (also by `vrrpd check`)",
    ),
    k(TrackFile, "weight", Supported, ""),
    k(
        TrackFile,
        "init_file",
        Supported,
        "at start-up: created when missing, rewritten with `overwrite`; a reload only creates a missing file; mode 0644, never through a symlink",
    ),
    // ----- vrrp_instance
    k(VrrpInstance, "state", Supported, ""),
    k(VrrpInstance, "interface", Supported, ""),
    k(VrrpInstance, "virtual_router_id", Supported, ""),
    k(VrrpInstance, "priority", Supported, ""),
    k(VrrpInstance, "advert_int", Supported, ""),
    k(VrrpInstance, "version", Supported, ""),
    k(
        VrrpInstance,
        "authentication",
        Supported,
        "PASS only; AH is refused",
    ),
    k(
        VrrpInstance,
        "virtual_ipaddress",
        Supported,
        "the first VIP, src IP, mcast_dst_ip or unicast_peer sets the instance's family; later addresses of the other family are skipped with keepalived's warnings",
    ),
    k(VrrpInstance, "virtual_ipaddress_excluded", Supported, ""),
    k(VrrpInstance, "no_virtual_ipaddress", Supported, ""),
    k(
        VrrpInstance,
        "virtual_routes",
        NotSupported,
        "parsed and checked, not installed",
    ),
    k(
        VrrpInstance,
        "virtual_rules",
        NotSupported,
        "parsed and checked, not installed",
    ),
    k(VrrpInstance, "unicast_src_ip", Supported, ""),
    k(VrrpInstance, "mcast_src_ip", Supported, ""),
    k(
        VrrpInstance,
        "unicast_peer",
        Supported,
        "one copy per peer; unicast adverts are taken whatever their TTL (XDP too); min_ttl/max_ttl turn check_unicast_src on and drop adverts outside the range, counted in ip_ttl_err",
    ),
    k(
        VrrpInstance,
        "unicast_ttl",
        Supported,
        "TTL / hop limit of the adverts sent; a unicast receiver does not require 255",
    ),
    k(VrrpInstance, "unicast_fault_no_peer", Supported, ""),
    k(
        VrrpInstance,
        "check_unicast_src",
        Supported,
        "per-instance vrrp_check_unicast_src",
    ),
    k(VrrpInstance, "mcast_dst_ip", Supported, ""),
    k(VrrpInstance, "track_src_ip", NotSupported, ""),
    k(VrrpInstance, "nopreempt", Supported, ""),
    k(
        VrrpInstance,
        "preempt",
        Supported,
        "no-op, as in keepalived",
    ),
    k(VrrpInstance, "preempt_delay", Supported, ""),
    k(
        VrrpInstance,
        "track_interface",
        Supported,
        "as keepalived: a bad weight gives weight 0 (a down link means FAULT); a second word other than weight drops the line",
    ),
    k(
        VrrpInstance,
        "track_script",
        Supported,
        "as keepalived: a bad weight leaves the script's own; a second word other than weight, or weight without a value, drops the line",
    ),
    k(VrrpInstance, "track_file", Supported, ""),
    k(VrrpInstance, "track_process", NotSupported, ""),
    k(VrrpInstance, "track_bfd", NotSupported, ""),
    k(VrrpInstance, "dont_track_primary", Supported, ""),
    k(VrrpInstance, "notify_master", Supported, ""),
    k(VrrpInstance, "notify_backup", Supported, ""),
    k(VrrpInstance, "notify_fault", Supported, ""),
    k(VrrpInstance, "notify_stop", Supported, ""),
    k(VrrpInstance, "notify_deleted", Supported, ""),
    k(VrrpInstance, "notify", Supported, ""),
    k(VrrpInstance, "notify_master_rx_lower_pri", Supported, ""),
    k(VrrpInstance, "notify_priority_changes", Supported, ""),
    k(
        VrrpInstance,
        "smtp_alert",
        AcceptedIgnored,
        "no SMTP alerts",
    ),
    k(VrrpInstance, "garp_master_delay", Supported, ""),
    k(VrrpInstance, "garp_master_repeat", Supported, ""),
    k(VrrpInstance, "garp_master_refresh", Supported, ""),
    k(VrrpInstance, "garp_master_refresh_repeat", Supported, ""),
    k(VrrpInstance, "garp_lower_prio_delay", Supported, ""),
    k(VrrpInstance, "garp_lower_prio_repeat", Supported, ""),
    k(VrrpInstance, "garp_extra_if", NotSupported, "needs VMACs"),
    k(
        VrrpInstance,
        "vmac_garp_intvl",
        NotSupported,
        "deprecated; needs VMACs",
    ),
    k(
        VrrpInstance,
        "use_vmac",
        NotSupported,
        "no VMACs; the instance runs on the interface itself",
    ),
    k(VrrpInstance, "vmac_xmit_base", NotSupported, "no VMACs"),
    k(VrrpInstance, "use_vmac_addr", NotSupported, "no VMACs"),
    k(VrrpInstance, "use_ipvlan", NotSupported, "no ipvlans"),
    k(
        VrrpInstance,
        "accept",
        Supported,
        "default off under strict mode for non-owners, as keepalived",
    ),
    k(
        VrrpInstance,
        "no_accept",
        Supported,
        "enforced in XDP: while master (not the owner) traffic to the VIPs is dropped, IPv6 NS/NA excepted, ARP still answered, as keepalived's nftables rules; traffic from a VIP and arriving on interfaces vrrpd does not attach to is not filtered",
    ),
    k(
        VrrpInstance,
        "strict_mode",
        Supported,
        "per-instance vrrp_strict",
    ),
    k(VrrpInstance, "skip_check_adv_addr", Supported, ""),
    k(VrrpInstance, "down_timer_adverts", Supported, ""),
    k(VrrpInstance, "timer_expired_backup", NotSupported, ""),
    k(
        VrrpInstance,
        "thread_timer_expired",
        NotSupported,
        "alias of timer_expired_backup",
    ),
    k(VrrpInstance, "lower_prio_no_advert", Supported, ""),
    k(VrrpInstance, "higher_prio_send_advert", Supported, ""),
    k(VrrpInstance, "owner_ignore_adverts", Supported, ""),
    k(VrrpInstance, "old_unicast_checksum", NotSupported, ""),
    k(VrrpInstance, "v3_checksum_as_v2", Supported, ""),
    k(
        VrrpInstance,
        "auth_hmac",
        NotSupported,
        "keepalived 2.4 extension",
    ),
    k(VrrpInstance, "promote_secondaries", AcceptedIgnored, ""),
    k(
        VrrpInstance,
        "kernel_rx_buf_size",
        AcceptedIgnored,
        "adverts arrive through XDP",
    ),
    k(VrrpInstance, "vrf", NotSupported, ""),
    k(
        VrrpInstance,
        "native_ipv6",
        Supported,
        "deprecated; makes the instance IPv6 and VRRPv3 before any address does",
    ),
    k(
        VrrpInstance,
        "linkbeat_use_polling",
        AcceptedIgnored,
        "deprecated",
    ),
    k(
        VrrpInstance,
        "debug",
        AcceptedIgnored,
        "does nothing in keepalived either",
    ),
    k(
        VrrpInstance,
        "lvs_sync_daemon_interface",
        AcceptedIgnored,
        "deprecated; LVS",
    ),
    // ----- authentication
    k(
        Authentication,
        "auth_type",
        Supported,
        "PASS; AH is refused",
    ),
    k(
        Authentication,
        "auth_pass",
        Supported,
        "first 8 characters used",
    ),
    // ----- vrrp_sync_group
    k(SyncGroup, "group", Supported, ""),
    k(SyncGroup, "track_interface", Supported, ""),
    k(SyncGroup, "track_script", Supported, ""),
    k(SyncGroup, "track_file", Supported, ""),
    k(SyncGroup, "track_process", NotSupported, ""),
    k(SyncGroup, "track_bfd", NotSupported, ""),
    k(SyncGroup, "notify_master", Supported, ""),
    k(SyncGroup, "notify_backup", Supported, ""),
    k(SyncGroup, "notify_fault", Supported, ""),
    k(SyncGroup, "notify_stop", Supported, ""),
    k(SyncGroup, "notify", Supported, ""),
    k(SyncGroup, "notify_priority_changes", Supported, ""),
    k(SyncGroup, "sync_group_tracking_weight", Supported, ""),
    k(SyncGroup, "smtp_alert", AcceptedIgnored, "no SMTP alerts"),
    k(
        SyncGroup,
        "global_tracking",
        AcceptedIgnored,
        "deprecated in keepalived",
    ),
];

pub fn lookup(section: Section, name: &str) -> Option<&'static Keyword> {
    KEYWORDS
        .iter()
        .find(|k| k.section == section && k.name == name)
}

/// The text of `docs/configuration.md`.
pub fn render_docs() -> String {
    let mut s = String::new();
    s.push_str("# vrrpd configuration: keepalived.conf keywords\n\n");
    s.push_str("<!-- Generated from vrrp-userspace/src/config/keywords.rs; do not edit by hand.\n");
    s.push_str("     Regenerate with: VRRPD_UPDATE_DOCS=1 cargo test -p vrrp-userspace --test config_docs -->\n\n");
    s.push_str(
        "vrrpd reads an unchanged keepalived.conf (syntax: comments, `include` and its variants,\n",
    );
    s.push_str(
        "`@id` lines, `$VAR` definitions, `~SEQ`/`~LST` generators). Every VRRP-side keyword of\n",
    );
    s.push_str("keepalived is listed below with what vrrpd does with it:\n\n");
    s.push_str("- **supported**: parsed into the model with keepalived's default and acted on;\n");
    s.push_str("- **accepted, no effect**: the configuration loads, a note says the keyword does nothing;\n");
    s.push_str("- **not supported**: a keepalived feature vrrpd lacks; the configuration loads, a note says so;\n");
    s.push_str(
        "- **skipped (not VRRP)**: a block of another keepalived part, skipped with one note.\n\n",
    );
    s.push_str("Keywords not listed produce keepalived's `Unknown keyword` warning. `vrrpd check --config FILE`\n");
    s.push_str("prints all of these diagnostics and a summary of the instances.\n");
    for section in Section::ALL {
        s.push_str(&format!(
            "\n## {}\n\n| Keyword | Status | Note |\n|---|---|---|\n",
            section.title()
        ));
        for kw in KEYWORDS.iter().filter(|k| k.section == section) {
            s.push_str(&format!(
                "| `{}` | {} | {} |\n",
                kw.name,
                kw.status.label(),
                kw.note
            ));
        }
    }
    // Exit codes and divergences of `vrrpd check`: prose, kept next to the code it describes.
    s.push_str(include_str!("check.md"));
    s
}
