//! Per-instance counters with keepalived's `vrrp_stats` field names (also the RFC 6527 SNMP
//! statistics), so `/tmp/keepalived.stats`-style dumps and SNMP map one to one.

use serde::{Deserialize, Serialize};

/// keepalived's `vrrp_stats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Adverts that reached this instance (before the checks below).
    pub advert_rcvd: u64,
    pub advert_sent: u64,
    pub become_master: u64,
    pub release_master: u64,
    pub packet_len_err: u64,
    pub ip_ttl_err: u64,
    pub invalid_type_rcvd: u64,
    /// v2 interval different from ours (dropped).
    pub advert_interval_err: u64,
    /// VIP list different from ours (since keepalived 2.3.3: counted, advert still accepted).
    pub addr_list_err: u64,
    /// v2 auth type not 0, 1 or 2.
    pub invalid_authtype: u64,
    /// v2 auth type different from ours.
    pub authtype_mismatch: u64,
    /// v2 password (or AH) did not verify.
    pub auth_failure: u64,
    pub pri_zero_rcvd: u64,
    pub pri_zero_sent: u64,
    /// Checksum errors (keepalived's SNMP `chk_err`).
    pub chk_err: u64,
    /// Version different from ours (keepalived's SNMP `vers_err`).
    pub vers_err: u64,
}
