//! Interface addresses as vrrpd sees them: reading them from rtnetlink messages, and the
//! `RTM_NEWADDR`/`RTM_DELADDR` message for a virtual address (keepalived's
//! `virtual_ipaddress` line, keepalived-behaviour.md §1.4).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_route::AddressFamily;
use netlink_packet_route::address::{
    AddressAttribute, AddressFlag, AddressHeaderFlag, AddressMessage, AddressScope, CacheInfo,
};

/// Address scope, with keepalived's (and iproute2's) names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Scope {
    #[default]
    Global,
    Site,
    Link,
    Host,
    Nowhere,
    Other(u8),
}

impl Scope {
    /// The `ifa_scope` value (`RT_SCOPE_*`).
    pub fn to_raw(self) -> u8 {
        match self {
            Scope::Global => 0,
            Scope::Site => 200,
            Scope::Link => 253,
            Scope::Host => 254,
            Scope::Nowhere => 255,
            Scope::Other(v) => v,
        }
    }

    pub fn from_raw(v: u8) -> Scope {
        match v {
            0 => Scope::Global,
            200 => Scope::Site,
            253 => Scope::Link,
            254 => Scope::Host,
            255 => Scope::Nowhere,
            v => Scope::Other(v),
        }
    }

    /// A `scope` word as keepalived reads it (find_rttables_scope): a name of iproute2's
    /// rt_scopes table or a number.
    pub fn parse(word: &str) -> Option<Scope> {
        match word {
            "global" => Some(Scope::Global),
            "site" => Some(Scope::Site),
            "link" => Some(Scope::Link),
            "host" => Some(Scope::Host),
            "nowhere" => Some(Scope::Nowhere),
            n => n.parse().ok().map(Scope::from_raw),
        }
    }
}

/// keepalived's get_rttables_scope: the name, or the number of a scope the table does not name.
impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::Global => f.write_str("global"),
            Scope::Site => f.write_str("site"),
            Scope::Link => f.write_str("link"),
            Scope::Host => f.write_str("host"),
            Scope::Nowhere => f.write_str("nowhere"),
            Scope::Other(n) => write!(f, "{n}"),
        }
    }
}

/// One address configured on an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IfAddress {
    pub ifindex: u32,
    pub addr: IpAddr,
    pub prefix_len: u8,
    pub scope: Scope,
    /// IPv4 only: the kernel marks every address after the first in a subnet secondary.
    pub secondary: bool,
    /// IPv6 duplicate address detection still running.
    pub tentative: bool,
    pub dad_failed: bool,
    /// IPv6 preferred lifetime 0 (keepalived gives /128 VIPs this).
    pub deprecated: bool,
    pub label: Option<String>,
}

impl IfAddress {
    /// Reads an `RTM_NEWADDR`/`RTM_DELADDR` message. `None` for families other than IPv4/IPv6
    /// and for messages without an address.
    pub fn from_message(msg: &AddressMessage) -> Option<IfAddress> {
        let mut address = None;
        let mut local = None;
        let mut label = None;
        let mut flags: u32 = msg
            .header
            .flags
            .iter()
            .map(|f| u32::from(u8::from(*f)))
            .fold(0, |a, b| a | b);
        for attr in &msg.attributes {
            match attr {
                AddressAttribute::Address(a) => address = Some(*a),
                AddressAttribute::Local(a) => local = Some(*a),
                AddressAttribute::Label(l) => label = Some(l.clone()),
                // IFA_FLAGS is the full 32-bit set; the header only holds the low byte.
                AddressAttribute::Flags(fs) => {
                    flags = fs.iter().map(|f| u32::from(*f)).fold(0, |a, b| a | b)
                }
                _ => {}
            }
        }
        // On IPv4 IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on a
        // point-to-point link. IPv6 only sends IFA_ADDRESS (plus IFA_LOCAL with a peer).
        let addr = match msg.header.family {
            AddressFamily::Inet => local.or(address)?,
            AddressFamily::Inet6 => local.or(address)?,
            _ => return None,
        };
        Some(IfAddress {
            ifindex: msg.header.index,
            addr,
            prefix_len: msg.header.prefix_len,
            scope: Scope::from_raw(u8::from(msg.header.scope)),
            secondary: flags & libc::IFA_F_SECONDARY != 0,
            tentative: flags & libc::IFA_F_TENTATIVE != 0,
            dad_failed: flags & libc::IFA_F_DADFAILED != 0,
            deprecated: flags & libc::IFA_F_DEPRECATED != 0,
            label,
        })
    }
}

/// The interface's primary IPv4 address: the first global, non-secondary one, the address
/// keepalived uses as the advert source when `mcast_src_ip` is not set.
pub fn primary_ipv4(addrs: &[IfAddress]) -> Option<Ipv4Addr> {
    addrs.iter().find_map(|a| match a.addr {
        IpAddr::V4(v4) if !a.secondary && a.scope == Scope::Global => Some(v4),
        _ => None,
    })
}

/// The interface's first usable IPv6 link-local address (fe80::/10), the source of IPv6 adverts.
pub fn ipv6_link_local(addrs: &[IfAddress]) -> Option<Ipv6Addr> {
    addrs.iter().find_map(|a| match a.addr {
        IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80 && !a.dad_failed => Some(v6),
        _ => None,
    })
}

/// A virtual address to add or remove: one `virtual_ipaddress` line, resolved (the interface is an
/// ifindex, `brd +`/`-` already computed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VipSpec {
    pub ifindex: u32,
    pub addr: IpAddr,
    pub prefix_len: u8,
    /// IPv4 broadcast (`brd`); ignored for IPv6.
    pub brd: Option<Ipv4Addr>,
    /// IPv4 label (`label eth0:1`); ignored for IPv6.
    pub label: Option<String>,
    pub scope: Scope,
    /// Skip duplicate address detection (IFA_F_NODAD). keepalived's default for IPv6 VIPs: the
    /// address is shared by design, and DAD would hold it tentative (unusable) for a second.
    /// A line's `-nodad` turns it off, so the kernel runs DAD. IPv4 has no DAD.
    pub nodad: bool,
    /// Add with preferred lifetime 0 (deprecated, so never chosen as a source address), as
    /// keepalived does for IPv6 /128 VIPs unless `preferred_lft forever` is given.
    pub preferred_lft_zero: bool,
    /// `preferred_lft N` with N > 0: the preferred lifetime in seconds (valid stays forever).
    pub preferred_lft_secs: Option<u32>,
    /// `peer ADDR`: the other end of a point-to-point address (IFA_ADDRESS).
    pub peer: Option<IpAddr>,
    /// `noprefixroute`, `home`, `mngtmpaddr`, `autojoin`: the IFA_F_* flags of the same names.
    pub noprefixroute: bool,
    pub home: bool,
    pub mngtmpaddr: bool,
    pub autojoin: bool,
}

impl VipSpec {
    /// keepalived's defaults for `IP[/MASK]` with nothing else on the line: scope global, no
    /// broadcast, no label, IPv6 /128 deprecated.
    pub fn new(ifindex: u32, addr: IpAddr, prefix_len: u8) -> VipSpec {
        VipSpec {
            ifindex,
            addr,
            prefix_len,
            brd: None,
            label: None,
            scope: Scope::Global,
            nodad: addr.is_ipv6(),
            preferred_lft_zero: addr.is_ipv6() && prefix_len == 128,
            preferred_lft_secs: None,
            peer: None,
            noprefixroute: false,
            home: false,
            mngtmpaddr: false,
            autojoin: false,
        }
    }

    /// The IFA_F_* flags the line asks for (IFA_FLAGS carries the ones above 8 bits).
    fn flags(&self) -> Vec<AddressFlag> {
        let mut flags = Vec::new();
        if self.nodad {
            flags.push(AddressFlag::Nodad);
        }
        for (on, flag) in [
            (self.noprefixroute, AddressFlag::Noprefixroute),
            (self.home, AddressFlag::Homeaddress),
            (self.mngtmpaddr, AddressFlag::Managetempaddr),
            (self.autojoin, AddressFlag::Mcautojoin),
        ] {
            if on {
                flags.push(flag);
            }
        }
        flags
    }

    /// The address message for `RTM_NEWADDR` (`with_lifetimes`) or `RTM_DELADDR`.
    pub(crate) fn to_message(&self, with_lifetimes: bool) -> AddressMessage {
        let mut msg = AddressMessage::default();
        msg.header.index = self.ifindex;
        msg.header.prefix_len = self.prefix_len;
        msg.header.scope = AddressScope::from(self.scope.to_raw());
        match self.addr {
            IpAddr::V4(_) => {
                msg.header.family = AddressFamily::Inet;
                msg.attributes.push(AddressAttribute::Local(self.addr));
                msg.attributes
                    .push(AddressAttribute::Address(self.peer.unwrap_or(self.addr)));
                if let Some(brd) = self.brd {
                    msg.attributes.push(AddressAttribute::Broadcast(brd));
                }
                if let Some(label) = &self.label {
                    msg.attributes.push(AddressAttribute::Label(label.clone()));
                }
                let flags = self.flags();
                if with_lifetimes && !flags.is_empty() {
                    msg.attributes.push(AddressAttribute::Flags(flags));
                }
            }
            IpAddr::V6(_) => {
                msg.header.family = AddressFamily::Inet6;
                // As `ip addr add ADDR peer PEER`: IFA_LOCAL is ours, IFA_ADDRESS the peer.
                if let Some(peer) = self.peer {
                    msg.attributes.push(AddressAttribute::Local(self.addr));
                    msg.attributes.push(AddressAttribute::Address(peer));
                } else {
                    msg.attributes.push(AddressAttribute::Address(self.addr));
                }
                if with_lifetimes {
                    if self.nodad {
                        msg.header.flags.push(AddressHeaderFlag::Nodad);
                    }
                    msg.attributes.push(AddressAttribute::Flags(self.flags()));
                    let preferred = match (self.preferred_lft_zero, self.preferred_lft_secs) {
                        (true, _) => Some(0),
                        (false, secs) => secs,
                    };
                    if let Some(preferred) = preferred {
                        let mut lifetimes = CacheInfo::default();
                        lifetimes.ifa_preferred = preferred;
                        lifetimes.ifa_valid = u32::MAX; // INFINITY_LIFE_TIME
                        msg.attributes.push(AddressAttribute::CacheInfo(lifetimes));
                    }
                }
            }
        }
        msg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_words_read_and_print_as_keepalived_does() {
        for (word, scope) in [
            ("global", Scope::Global),
            ("site", Scope::Site),
            ("link", Scope::Link),
            ("host", Scope::Host),
            ("nowhere", Scope::Nowhere),
        ] {
            assert_eq!(Scope::parse(word), Some(scope));
            assert_eq!(scope.to_string(), word);
        }
        // Numbers are scopes too; a named one prints by its name.
        assert_eq!(Scope::parse("253"), Some(Scope::Link));
        assert_eq!(Scope::parse("0"), Some(Scope::Global));
        assert_eq!(Scope::parse("42"), Some(Scope::Other(42)));
        assert_eq!(Scope::Other(42).to_string(), "42");
        assert_eq!(Scope::parse("universe"), None);
        assert_eq!(Scope::parse("256"), None);
    }

    fn flags_of(msg: &AddressMessage) -> Vec<AddressFlag> {
        msg.attributes
            .iter()
            .find_map(|a| match a {
                AddressAttribute::Flags(f) => Some(f.clone()),
                _ => None,
            })
            .unwrap_or_default()
    }

    #[test]
    fn ipv6_vip_is_nodad_unless_told_and_slash128_is_deprecated() {
        let mut spec = VipSpec::new(7, "fd00::10".parse().unwrap(), 128);
        let msg = spec.to_message(true);
        assert_eq!(msg.header.family, AddressFamily::Inet6);
        assert_eq!(msg.header.index, 7);
        assert!(flags_of(&msg).contains(&AddressFlag::Nodad));
        assert!(msg.header.flags.contains(&AddressHeaderFlag::Nodad));
        // `-nodad`: the kernel runs DAD.
        spec.nodad = false;
        let msg = spec.to_message(true);
        assert!(!flags_of(&msg).contains(&AddressFlag::Nodad));
        assert!(!msg.header.flags.contains(&AddressHeaderFlag::Nodad));
        let cache = msg.attributes.iter().find_map(|a| match a {
            AddressAttribute::CacheInfo(c) => Some(*c),
            _ => None,
        });
        assert_eq!(
            cache.map(|c| (c.ifa_preferred, c.ifa_valid)),
            Some((0, u32::MAX))
        );

        let spec64 = VipSpec::new(7, "fd00::10".parse().unwrap(), 64);
        assert!(!spec64.preferred_lft_zero);
        assert!(
            !spec64
                .to_message(true)
                .attributes
                .iter()
                .any(|a| matches!(a, AddressAttribute::CacheInfo(_)))
        );
    }

    #[test]
    fn ipv4_vip_carries_local_brd_label_and_scope() {
        let mut spec = VipSpec::new(3, "10.1.2.3".parse().unwrap(), 24);
        spec.brd = Some("10.1.2.255".parse().unwrap());
        spec.label = Some("eth0:vip".into());
        spec.scope = Scope::Link;
        let msg = spec.to_message(true);
        assert_eq!(msg.header.family, AddressFamily::Inet);
        assert_eq!(msg.header.prefix_len, 24);
        assert_eq!(u8::from(msg.header.scope), 253);
        let a = &msg.attributes;
        assert!(a.contains(&AddressAttribute::Local("10.1.2.3".parse().unwrap())));
        assert!(a.contains(&AddressAttribute::Broadcast("10.1.2.255".parse().unwrap())));
        assert!(a.contains(&AddressAttribute::Label("eth0:vip".into())));
        assert!(flags_of(&msg).is_empty());
    }

    #[test]
    fn parses_back_what_it_builds_and_picks_primary_and_link_local() {
        let v4 = VipSpec::new(2, "10.0.0.5".parse().unwrap(), 24);
        let parsed = IfAddress::from_message(&v4.to_message(false)).unwrap();
        assert_eq!(parsed.addr, v4.addr);
        assert_eq!(parsed.prefix_len, 24);
        assert_eq!(parsed.scope, Scope::Global);

        let mk = |addr: &str, secondary: bool, scope: Scope| IfAddress {
            ifindex: 2,
            addr: addr.parse().unwrap(),
            prefix_len: 24,
            scope,
            secondary,
            tentative: false,
            dad_failed: false,
            deprecated: false,
            label: None,
        };
        let list = [
            mk("fd00::1", false, Scope::Global),
            mk("127.0.0.9", false, Scope::Host),
            mk("10.0.0.9", true, Scope::Global),
            mk("10.0.0.1", false, Scope::Global),
            mk("fe80::1", false, Scope::Link),
        ];
        assert_eq!(primary_ipv4(&list), Some("10.0.0.1".parse().unwrap()));
        assert_eq!(ipv6_link_local(&list), Some("fe80::1".parse().unwrap()));
        assert_eq!(primary_ipv4(&list[..3]), None);
        assert_eq!(ipv6_link_local(&list[..4]), None);
    }

    #[test]
    fn scope_round_trips() {
        for raw in 0..=255u8 {
            assert_eq!(Scope::from_raw(raw).to_raw(), raw);
        }
    }
}
