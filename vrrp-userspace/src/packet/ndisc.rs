//! IPv6 neighbour discovery (RFC 4861) messages vrrpd sends and inspects: the unsolicited
//! Neighbour Advertisement a new master sends for each IPv6 VIP (keepalived `vrrp_ndisc.c`),
//! and Neighbour Solicitations (built and parsed for the XDP ND-gate tests).

use std::net::Ipv6Addr;

use super::{HeaderError, MacAddr, checksum, ethernet, ipv6};

pub const IPPROTO_ICMPV6: u8 = 58;
pub const TYPE_NEIGHBOR_SOLICIT: u8 = 135;
pub const TYPE_NEIGHBOR_ADVERT: u8 = 136;
/// RFC 4861 §7.1: NDP messages must arrive with hop limit 255.
pub const HOP_LIMIT: u8 = 255;

mod field {
    use core::ops::Range;
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Range<usize> = 2..4;
    /// NA: R, S, O flags in the top bits, then reserved; NS: reserved.
    pub const FLAGS: usize = 4;
    pub const RESERVED: Range<usize> = 5..8;
    pub const TARGET: Range<usize> = 8..24;
    pub const OPTIONS: usize = 24;
}

/// NS/NA body length before options.
pub const HEADER_LEN: usize = field::OPTIONS;
/// A link-layer address option for Ethernet: type, length (in 8-byte units), 6-byte address.
const LLADDR_OPT_LEN: usize = 8;
const OPT_SOURCE_LLADDR: u8 = 1;
const OPT_TARGET_LLADDR: u8 = 2;

const FLAG_ROUTER: u8 = 0x80;
const FLAG_SOLICITED: u8 = 0x40;
const FLAG_OVERRIDE: u8 = 0x20;

/// Length of the unsolicited-NA / NS frames built here: Ethernet, IPv6, body, one LL option.
pub const FRAME_LEN: usize = ethernet::HEADER_LEN + ipv6::HEADER_LEN + HEADER_LEN + LLADDR_OPT_LEN;

const NAME: &str = "ICMPv6 ND";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repr {
    NeighborSolicit {
        target: Ipv6Addr,
        source_lladdr: Option<MacAddr>,
    },
    NeighborAdvert {
        router: bool,
        solicited: bool,
        override_: bool,
        target: Ipv6Addr,
        target_lladdr: Option<MacAddr>,
    },
}

impl Repr {
    /// keepalived's unsolicited NA for a VIP: Override set, Solicited clear, Router as the
    /// interface's IPv6 forwarding setting, with the target link-layer address option.
    pub const fn unsolicited_advert(mac: MacAddr, vip: Ipv6Addr, router: bool) -> Repr {
        Repr::NeighborAdvert {
            router,
            solicited: false,
            override_: true,
            target: vip,
            target_lladdr: Some(mac),
        }
    }

    pub const fn buffer_len(&self) -> usize {
        let opt = match self {
            Repr::NeighborSolicit {
                source_lladdr: o, ..
            }
            | Repr::NeighborAdvert {
                target_lladdr: o, ..
            } => o,
        };
        HEADER_LEN + if opt.is_some() { LLADDR_OPT_LEN } else { 0 }
    }

    /// Parses an NS or NA (the ICMPv6 message, after the IPv6 header) and verifies its checksum
    /// against the IPv6 pseudo-header. Unknown options are skipped; a zero-length option is an
    /// error (RFC 4861 §4.6).
    pub fn parse(bytes: &[u8], src: &Ipv6Addr, dst: &Ipv6Addr) -> Result<Repr, HeaderError> {
        let unsupported = |field, value: u32| HeaderError::Unsupported {
            header: NAME,
            field,
            value,
        };
        if bytes.len() < HEADER_LEN {
            return Err(HeaderError::Truncated {
                header: NAME,
                len: bytes.len(),
                need: HEADER_LEN,
            });
        }
        let msg_type = bytes[field::TYPE];
        if msg_type != TYPE_NEIGHBOR_SOLICIT && msg_type != TYPE_NEIGHBOR_ADVERT {
            return Err(unsupported("type", msg_type.into()));
        }
        if bytes[field::CODE] != 0 {
            return Err(unsupported("code", bytes[field::CODE].into()));
        }
        let got = u16::from_be_bytes([
            bytes[field::CHECKSUM.start],
            bytes[field::CHECKSUM.start + 1],
        ]);
        let want = icmpv6_checksum(bytes, src, dst);
        if got != want {
            return Err(HeaderError::BadChecksum {
                header: NAME,
                got,
                want,
            });
        }
        let mut t = [0u8; 16];
        t.copy_from_slice(&bytes[field::TARGET]);
        let target = Ipv6Addr::from(t);

        let wanted_opt = if msg_type == TYPE_NEIGHBOR_SOLICIT {
            OPT_SOURCE_LLADDR
        } else {
            OPT_TARGET_LLADDR
        };
        let mut lladdr = None;
        let mut opts = &bytes[field::OPTIONS..];
        while opts.len() >= 2 {
            let len = usize::from(opts[1]) * 8;
            if len == 0 {
                return Err(unsupported("option_length", 0));
            }
            if opts.len() < len {
                return Err(HeaderError::Truncated {
                    header: NAME,
                    len: opts.len(),
                    need: len,
                });
            }
            if opts[0] == wanted_opt && len >= LLADDR_OPT_LEN {
                let mut m = [0u8; 6];
                m.copy_from_slice(&opts[2..8]);
                lladdr = Some(MacAddr(m));
            }
            opts = &opts[len..];
        }

        let flags = bytes[field::FLAGS];
        Ok(if msg_type == TYPE_NEIGHBOR_SOLICIT {
            Repr::NeighborSolicit {
                target,
                source_lladdr: lladdr,
            }
        } else {
            Repr::NeighborAdvert {
                router: flags & FLAG_ROUTER != 0,
                solicited: flags & FLAG_SOLICITED != 0,
                override_: flags & FLAG_OVERRIDE != 0,
                target,
                target_lladdr: lladdr,
            }
        })
    }

    /// Writes the message, checksum included, into `buf` of exactly [`Repr::buffer_len`] bytes.
    pub fn emit(&self, buf: &mut [u8], src: &Ipv6Addr, dst: &Ipv6Addr) -> Result<(), HeaderError> {
        if buf.len() != self.buffer_len() {
            return Err(HeaderError::BufferLen {
                header: NAME,
                len: buf.len(),
                need: self.buffer_len(),
            });
        }
        let (msg_type, flags, target, opt) = match *self {
            Repr::NeighborSolicit {
                target,
                source_lladdr,
            } => (
                TYPE_NEIGHBOR_SOLICIT,
                0,
                target,
                source_lladdr.map(|m| (OPT_SOURCE_LLADDR, m)),
            ),
            Repr::NeighborAdvert {
                router,
                solicited,
                override_,
                target,
                target_lladdr,
            } => {
                let flags = (if router { FLAG_ROUTER } else { 0 })
                    | (if solicited { FLAG_SOLICITED } else { 0 })
                    | (if override_ { FLAG_OVERRIDE } else { 0 });
                (
                    TYPE_NEIGHBOR_ADVERT,
                    flags,
                    target,
                    target_lladdr.map(|m| (OPT_TARGET_LLADDR, m)),
                )
            }
        };
        buf[field::TYPE] = msg_type;
        buf[field::CODE] = 0;
        buf[field::CHECKSUM].fill(0);
        buf[field::FLAGS] = flags;
        buf[field::RESERVED].fill(0);
        buf[field::TARGET].copy_from_slice(&target.octets());
        if let Some((kind, mac)) = opt {
            let o = &mut buf[field::OPTIONS..field::OPTIONS + LLADDR_OPT_LEN];
            o[0] = kind;
            o[1] = (LLADDR_OPT_LEN / 8) as u8;
            o[2..8].copy_from_slice(&mac.0);
        }
        let c = icmpv6_checksum(buf, src, dst);
        buf[field::CHECKSUM].copy_from_slice(&c.to_be_bytes());
        Ok(())
    }
}

/// The ICMPv6 checksum of `msg` (its checksum field treated as zero).
fn icmpv6_checksum(msg: &[u8], src: &Ipv6Addr, dst: &Ipv6Addr) -> u16 {
    let ph = checksum::pseudo_header_v6(src, dst, IPPROTO_ICMPV6, msg.len() as u32);
    checksum::finish(&[
        ph,
        checksum::sum(&msg[..field::CHECKSUM.start]),
        checksum::sum(&msg[field::CHECKSUM.end..]),
    ])
}

/// RFC 4291 §2.7.1: the solicited-node multicast group of `addr`.
pub fn solicited_node(addr: &Ipv6Addr) -> Ipv6Addr {
    let o = addr.octets();
    Ipv6Addr::from([
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, o[13], o[14], o[15],
    ])
}

fn frame(src_mac: MacAddr, src: Ipv6Addr, dst: Ipv6Addr, repr: &Repr) -> [u8; FRAME_LEN] {
    let mut frame = [0u8; FRAME_LEN];
    let eth = ethernet::Header {
        dst: ipv6::multicast_mac(&dst),
        src: src_mac,
        vlan: None,
        ethertype: ethernet::ETHERTYPE_IPV6,
    };
    let ip = ipv6::Header {
        src,
        dst,
        next_header: IPPROTO_ICMPV6,
        hop_limit: HOP_LIMIT,
        traffic_class: 0,
        flow_label: 0,
        payload_len: (HEADER_LEN + LLADDR_OPT_LEN) as u16,
    };
    let (eth_buf, rest) = frame.split_at_mut(ethernet::HEADER_LEN);
    let (ip_buf, body) = rest.split_at_mut(ipv6::HEADER_LEN);
    // Sizes are fixed by FRAME_LEN and the option being present, so none of these can fail.
    let _ = eth.emit(eth_buf);
    let _ = ip.emit(ip_buf);
    let _ = repr.emit(body, &src, &dst);
    frame
}

/// keepalived's unsolicited NA for `vip` from `mac`: IPv6 source = the VIP, destination
/// ff02::1 (Ethernet 33:33:00:00:00:01), hop limit 255.
pub fn unsolicited_advert_frame(mac: MacAddr, vip: Ipv6Addr, router: bool) -> [u8; FRAME_LEN] {
    frame(
        mac,
        vip,
        ipv6::ALL_NODES,
        &Repr::unsolicited_advert(mac, vip, router),
    )
}

/// A multicast NS for `target` from `src` (to the target's solicited-node group), with the
/// source link-layer address option.
pub fn solicit_frame(mac: MacAddr, src: Ipv6Addr, target: Ipv6Addr) -> [u8; FRAME_LEN] {
    let repr = Repr::NeighborSolicit {
        target,
        source_lladdr: Some(mac),
    };
    frame(mac, src, solicited_node(&target), &repr)
}

/// Parses an Ethernet frame holding an IPv6 NS or NA (no extension headers).
pub fn parse_frame(frame: &[u8]) -> Result<(ethernet::Header, ipv6::Header, Repr), HeaderError> {
    let (eth, payload) = ethernet::Header::parse(frame)?;
    if eth.ethertype != ethernet::ETHERTYPE_IPV6 {
        return Err(HeaderError::Unsupported {
            header: "Ethernet",
            field: "ethertype",
            value: eth.ethertype.into(),
        });
    }
    let (ip, body) = ipv6::Header::parse(payload)?;
    if ip.next_header != IPPROTO_ICMPV6 {
        return Err(HeaderError::Unsupported {
            header: "IPv6",
            field: "next_header",
            value: ip.next_header.into(),
        });
    }
    let repr = Repr::parse(body, &ip.src, &ip.dst)?;
    Ok((eth, ip, repr))
}

#[cfg(test)]
mod tests {
    use super::*;

    // keepalived 2.2.7's unsolicited NA for fe80::61 from 02:00:00:00:00:01, forwarding off
    // (tests/data/packet/v3_ipv6_na.frame.hex).
    static KEEPALIVED_NA: [u8; 86] = [
        0x33, 0x33, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x86,
        0xdd, // eth
        0x60, 0x00, 0x00, 0x00, 0x00, 0x20, 0x3a, 0xff, // ipv6
        0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x61, // src fe80::61
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // dst ff02::1
        0x88, 0x00, 0x56, 0xdb, 0x20, 0x00, 0x00, 0x00, // type code checksum flags
        0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x61, // target
        0x02, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // target lladdr option
    ];

    const MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);

    fn vip() -> Ipv6Addr {
        "fe80::61".parse().unwrap()
    }

    #[test]
    fn unsolicited_advert_matches_keepalived() {
        assert_eq!(unsolicited_advert_frame(MAC, vip(), false), KEEPALIVED_NA);
    }

    #[test]
    fn parse_keepalived() {
        let (eth, ip, repr) = parse_frame(&KEEPALIVED_NA).unwrap();
        assert_eq!(eth.dst, MacAddr([0x33, 0x33, 0, 0, 0, 1]));
        assert_eq!(
            (ip.src, ip.dst, ip.hop_limit),
            (vip(), ipv6::ALL_NODES, 255)
        );
        assert_eq!(repr, Repr::unsolicited_advert(MAC, vip(), false));
    }

    #[test]
    fn router_flag() {
        let f = unsolicited_advert_frame(MAC, vip(), true);
        assert_eq!(f[58], FLAG_ROUTER | FLAG_OVERRIDE);
        let (_, _, repr) = parse_frame(&f).unwrap();
        assert!(matches!(
            repr,
            Repr::NeighborAdvert {
                router: true,
                override_: true,
                solicited: false,
                ..
            }
        ));
    }

    #[test]
    fn solicit_roundtrip() {
        let src: Ipv6Addr = "fd00::2".parse().unwrap();
        let target: Ipv6Addr = "fd00::12:3456".parse().unwrap();
        let f = solicit_frame(MAC, src, target);
        let (eth, ip, repr) = parse_frame(&f).unwrap();
        assert_eq!(ip.dst, "ff02::1:ff12:3456".parse::<Ipv6Addr>().unwrap());
        assert_eq!(eth.dst, MacAddr([0x33, 0x33, 0xff, 0x12, 0x34, 0x56]));
        assert_eq!(
            repr,
            Repr::NeighborSolicit {
                target,
                source_lladdr: Some(MAC)
            }
        );
    }

    #[test]
    fn without_option() {
        let repr = Repr::NeighborAdvert {
            router: false,
            solicited: true,
            override_: false,
            target: vip(),
            target_lladdr: None,
        };
        let mut buf = [0xa5u8; HEADER_LEN];
        repr.emit(&mut buf, &vip(), &ipv6::ALL_NODES).unwrap();
        assert_eq!(Repr::parse(&buf, &vip(), &ipv6::ALL_NODES), Ok(repr));
        assert!(matches!(
            repr.emit(&mut [0u8; 32], &vip(), &ipv6::ALL_NODES),
            Err(HeaderError::BufferLen { need: 24, .. })
        ));
    }

    #[test]
    fn rejects() {
        let body = &KEEPALIVED_NA[54..];
        let (src, dst) = (vip(), ipv6::ALL_NODES);
        assert!(matches!(
            Repr::parse(&body[..23], &src, &dst),
            Err(HeaderError::Truncated { .. })
        ));
        assert!(matches!(
            Repr::parse(body, &"fe80::62".parse().unwrap(), &dst),
            Err(HeaderError::BadChecksum { got: 0x56db, .. })
        ));
        let mut echo = body.to_vec();
        echo[0] = 128;
        assert!(matches!(
            Repr::parse(&echo, &src, &dst),
            Err(HeaderError::Unsupported { field: "type", .. })
        ));
        let mut code = body.to_vec();
        code[1] = 1;
        assert!(matches!(
            Repr::parse(&code, &src, &dst),
            Err(HeaderError::Unsupported { field: "code", .. })
        ));
        // A zero-length option: fix the checksum so the option check is what fails.
        let mut zero = body.to_vec();
        zero[25] = 0;
        let c = icmpv6_checksum(&zero, &src, &dst);
        zero[2..4].copy_from_slice(&c.to_be_bytes());
        assert!(matches!(
            Repr::parse(&zero, &src, &dst),
            Err(HeaderError::Unsupported {
                field: "option_length",
                ..
            })
        ));
        let mut long = body.to_vec();
        long[25] = 2;
        let c = icmpv6_checksum(&long, &src, &dst);
        long[2..4].copy_from_slice(&c.to_be_bytes());
        assert!(matches!(
            Repr::parse(&long, &src, &dst),
            Err(HeaderError::Truncated { need: 16, .. })
        ));
    }
}
