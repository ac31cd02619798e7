//! Wire codecs vrrpd reads and writes: VRRP adverts (RFC 3768 v2, RFC 5798 v3), the IPv4/IPv6
//! and Ethernet headers around them, gratuitous ARP and unsolicited neighbour advertisements.
//!
//! Modelled on smoltcp's `wire`: a zero-copy `Packet<T: AsRef<[u8]>>` view that only reads and
//! writes fields, and an owned `Repr` where the protocol's rules are checked.
//!
//! **The length-check promise.** `Packet::new_checked` (= `new_unchecked` + `check_len`) must be
//! used on untrusted input; once `check_len` has passed, no accessor panics. Every `Repr::parse`
//! returns a typed error instead of panicking, on any input. `Repr::emit` never panics on a buffer
//! of exactly `buffer_len()` bytes; emitting must not go through `new_checked`, since the stale
//! contents of a reused buffer could fail the check.

use core::fmt;

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod ipv4;
pub mod ipv6;
pub mod ndisc;
pub mod vrrp;

/// A 48-bit Ethernet (EUI-48) address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);

    /// The RFC 5798 §7.3 virtual router MAC: `00-00-5E-00-01-{VRID}` (IPv4) or
    /// `00-00-5E-00-02-{VRID}` (IPv6).
    pub const fn virtual_router(family: Family, vrid: u8) -> MacAddr {
        let kind = match family {
            Family::Ipv4 => 0x01,
            Family::Ipv6 => 0x02,
        };
        MacAddr([0x00, 0x00, 0x5e, 0x00, kind, vrid])
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

/// The IP family of a VRRP advert. The VRRP header does not say it; the IP header does, so the
/// caller passes it in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    /// Bytes per address in a VRRP address list.
    pub const fn addr_len(self) -> usize {
        match self {
            Family::Ipv4 => 4,
            Family::Ipv6 => 16,
        }
    }

    /// The Linux `AF_*` code, as the XDP program's records and maps carry it.
    pub const fn af(self) -> u8 {
        match self {
            Family::Ipv4 => vrrp_common::AF_INET,
            Family::Ipv6 => vrrp_common::AF_INET6,
        }
    }

    pub const fn of(addr: &std::net::IpAddr) -> Family {
        match addr {
            std::net::IpAddr::V4(_) => Family::Ipv4,
            std::net::IpAddr::V6(_) => Family::Ipv6,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Ipv4 => "IPv4",
            Family::Ipv6 => "IPv6",
        })
    }
}

/// Why an Ethernet, IPv4, IPv6, ARP or ICMPv6 header was rejected or could not be written.
/// (VRRP has its own, finer [`vrrp::Error`], since the engine counts each reason.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("{header}: {len} bytes, need at least {need}")]
    Truncated {
        header: &'static str,
        len: usize,
        need: usize,
    },
    #[error("{header}: buffer is {len} bytes, must be exactly {need}")]
    BufferLen {
        header: &'static str,
        len: usize,
        need: usize,
    },
    #[error("{header}: field {field} has unsupported value {value:#x}")]
    Unsupported {
        header: &'static str,
        field: &'static str,
        value: u32,
    },
    #[error("{header}: bad checksum {got:#06x}, want {want:#06x}")]
    BadChecksum {
        header: &'static str,
        got: u16,
        want: u16,
    },
}
