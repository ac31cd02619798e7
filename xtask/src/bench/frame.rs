//! What the benchmarks read in captured frames: VRRP adverts (IPv4, v2 and v3), gratuitous ARP and
//! ICMP echo replies. Anything else, or anything too short, is `Packet::Other`.

use std::net::Ipv4Addr;

use super::capture::Frame;

pub type Mac = [u8; 6];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet {
    Advert(Advert),
    /// An ARP packet whose sender and target address are the same (a GARP, request or reply).
    Garp {
        ip: Ipv4Addr,
        sender: Mac,
    },
    EchoReply {
        src: Ipv4Addr,
        dst: Ipv4Addr,
        eth_src: Mac,
    },
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advert {
    pub src: Ipv4Addr,
    pub version: u8,
    pub vrid: u8,
    pub priority: u8,
    /// v3: centiseconds; v2: seconds.
    pub interval: u16,
}

/// A parsed frame with its timestamp.
#[derive(Debug, Clone, Copy)]
pub struct Event {
    pub ts_ns: i64,
    /// Sent by the capturing namespace itself.
    pub outgoing: bool,
    pub packet: Packet,
}

const ETH_HLEN: usize = 14;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_ARP: u16 = 0x0806;
const PROTO_ICMP: u8 = 1;
const PROTO_VRRP: u8 = 112;

pub fn events(frames: &[Frame]) -> Vec<Event> {
    frames
        .iter()
        .map(|f| Event {
            ts_ns: f.ts_ns,
            outgoing: f.outgoing,
            packet: parse(&f.data),
        })
        .collect()
}

pub fn parse(data: &[u8]) -> Packet {
    parse_checked(data).unwrap_or(Packet::Other)
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?]))
}

fn ipv4(d: &[u8], at: usize) -> Option<Ipv4Addr> {
    let b: [u8; 4] = d.get(at..at + 4)?.try_into().ok()?;
    Some(Ipv4Addr::from(b))
}

fn mac(d: &[u8], at: usize) -> Option<Mac> {
    d.get(at..at + 6)?.try_into().ok()
}

fn parse_checked(d: &[u8]) -> Option<Packet> {
    match be16(d, 12)? {
        ETHERTYPE_ARP => {
            let arp = ETH_HLEN;
            let sender = mac(d, arp + 8)?;
            let spa = ipv4(d, arp + 14)?;
            let tpa = ipv4(d, arp + 24)?;
            Some(if spa == tpa {
                Packet::Garp { ip: spa, sender }
            } else {
                Packet::Other
            })
        }
        ETHERTYPE_IPV4 => {
            let ip = ETH_HLEN;
            let ihl = usize::from(d.get(ip)? & 0x0f) * 4;
            let proto = *d.get(ip + 9)?;
            let src = ipv4(d, ip + 12)?;
            let dst = ipv4(d, ip + 16)?;
            let l4 = ip + ihl;
            match proto {
                PROTO_VRRP => {
                    let vt = *d.get(l4)?;
                    let version = vt >> 4;
                    let interval = match version {
                        3 => be16(d, l4 + 4)? & 0x0fff,
                        _ => u16::from(*d.get(l4 + 5)?),
                    };
                    Some(Packet::Advert(Advert {
                        src,
                        version,
                        vrid: *d.get(l4 + 1)?,
                        priority: *d.get(l4 + 2)?,
                        interval,
                    }))
                }
                PROTO_ICMP if *d.get(l4)? == 0 => Some(Packet::EchoReply {
                    src,
                    dst,
                    eth_src: mac(d, 6)?,
                }),
                _ => Some(Packet::Other),
            }
        }
        _ => Some(Packet::Other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eth(ethertype: u16) -> Vec<u8> {
        let mut f = vec![0xff; 6];
        f.extend([2, 0, 0, 0, 0, 1]);
        f.extend(ethertype.to_be_bytes());
        f
    }

    fn ip(proto: u8, src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
        let mut f = eth(ETHERTYPE_IPV4);
        f.extend([0x45, 0, 0, 0, 0, 0, 0, 0, 255, proto, 0, 0]);
        f.extend(src);
        f.extend(dst);
        f
    }

    #[test]
    fn v3_advert_fields() {
        let mut f = ip(PROTO_VRRP, [10, 1, 0, 2], [224, 0, 0, 18]);
        f.extend([0x31, 50, 90, 1, 0x00, 0x0a, 0, 0, 10, 1, 0, 200]);
        assert_eq!(
            parse(&f),
            Packet::Advert(Advert {
                src: Ipv4Addr::new(10, 1, 0, 2),
                version: 3,
                vrid: 50,
                priority: 90,
                interval: 10,
            })
        );
    }

    #[test]
    fn v2_advert_interval_is_the_seconds_byte() {
        let mut f = ip(PROTO_VRRP, [10, 1, 0, 1], [224, 0, 0, 18]);
        f.extend([0x21, 7, 0, 1, 0, 1, 0, 0]);
        match parse(&f) {
            Packet::Advert(a) => assert_eq!((a.version, a.priority, a.interval), (2, 0, 1)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn garp_needs_sender_equal_target() {
        let mut f = eth(ETHERTYPE_ARP);
        f.extend([0, 1, 8, 0, 6, 4, 0, 1]);
        f.extend([2, 0, 0, 0, 0, 2, 10, 1, 0, 200]);
        f.extend([0, 0, 0, 0, 0, 0, 10, 1, 0, 200]);
        assert_eq!(
            parse(&f),
            Packet::Garp {
                ip: Ipv4Addr::new(10, 1, 0, 200),
                sender: [2, 0, 0, 0, 0, 2]
            }
        );
        let n = f.len();
        f[n - 1] = 1;
        assert_eq!(parse(&f), Packet::Other);
    }

    #[test]
    fn truncated_frames_are_other() {
        let f = ip(PROTO_VRRP, [10, 1, 0, 1], [224, 0, 0, 18]);
        assert_eq!(parse(&f), Packet::Other);
        assert_eq!(parse(&[0u8; 5]), Packet::Other);
    }
}
