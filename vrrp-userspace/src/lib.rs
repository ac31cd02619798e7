//! vrrpd: a VRRP router-redundancy daemon whose dataplane runs in XDP.
//!
//! Data flows one way: wire → XDP (`vrrp-ebpf`) → ring buffer → [`dataplane`] →
//! [`packet`] decode → [`engine`] (sans-IO RFC 5798 state machine) → actions executed by
//! [`netlink`] (VIPs), [`socket`] (adverts, GARP/NA) and [`dataplane`] maps (ARP/ND gate).
//! Results (link down, script failed) come back as new engine inputs. [`daemon`] joins them.

pub mod cli;
pub mod config;
pub mod daemon;
pub mod dataplane;
pub mod engine;
pub mod netlink;
pub mod notify;
pub mod packet;
pub mod socket;
pub mod status;
pub mod time;
pub mod track;

#[cfg(test)]
mod testutil;
