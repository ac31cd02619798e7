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

impl Stats {
    /// Adds `times` more of what one event counted (`after` − `before`): see
    /// [`super::Engine::handle_repeated`]. Every field is named, so a new counter cannot be missed.
    pub(super) fn add_repeats(&mut self, before: &Stats, after: &Stats, times: u64) {
        let Stats {
            advert_rcvd,
            advert_sent,
            become_master,
            release_master,
            packet_len_err,
            ip_ttl_err,
            invalid_type_rcvd,
            advert_interval_err,
            addr_list_err,
            invalid_authtype,
            authtype_mismatch,
            auth_failure,
            pri_zero_rcvd,
            pri_zero_sent,
            chk_err,
            vers_err,
        } = self;
        let add = |field: &mut u64, of: fn(&Stats) -> u64| {
            *field += (of(after) - of(before)) * times;
        };
        add(advert_rcvd, |s| s.advert_rcvd);
        add(advert_sent, |s| s.advert_sent);
        add(become_master, |s| s.become_master);
        add(release_master, |s| s.release_master);
        add(packet_len_err, |s| s.packet_len_err);
        add(ip_ttl_err, |s| s.ip_ttl_err);
        add(invalid_type_rcvd, |s| s.invalid_type_rcvd);
        add(advert_interval_err, |s| s.advert_interval_err);
        add(addr_list_err, |s| s.addr_list_err);
        add(invalid_authtype, |s| s.invalid_authtype);
        add(authtype_mismatch, |s| s.authtype_mismatch);
        add(auth_failure, |s| s.auth_failure);
        add(pri_zero_rcvd, |s| s.pri_zero_rcvd);
        add(pri_zero_sent, |s| s.pri_zero_sent);
        add(chk_err, |s| s.chk_err);
        add(vers_err, |s| s.vers_err);
    }
}
