//! Decoders for the frames the end-to-end tests and benchmarks look at in a capture (VRRP adverts,
//! ARP, IPv6 neighbour advertisements, ICMP echo replies) and builders for the frames they send
//! (ARP request, neighbour solicitation, the benchmark flood's UDP datagrams and TCP SYNs).
//! Independent of vrrpd's own packet code on purpose: the tests check the daemon
//! against the RFCs, not against itself. Every decoder returns `None` for anything else or anything
//! truncated.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const ETH_HDR: usize = 14;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_ARP: u16 = 0x0806;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const IPV4_HDR: usize = 20;
const IPPROTO_ICMP: u8 = 1;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
const IPPROTO_VRRP: u8 = 112;
const ICMP_ECHO_REPLY: u8 = 0;
/// Shortest Ethernet frame (without FCS); shorter ones are padded with zeros.
const ETH_MIN: usize = 60;
const IPPROTO_ICMPV6: u8 = 58;
const ICMPV6_NS: u8 = 135;
const ICMPV6_NA: u8 = 136;
const IPV6_HDR: usize = 40;

/// An Ethernet address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    pub const BROADCAST: Mac = Mac([0xff; 6]);

    /// Parses `aa:bb:cc:dd:ee:ff` (as `ip link` prints it).
    pub fn parse(s: &str) -> Option<Mac> {
        let mut mac = [0u8; 6];
        let mut parts = s.trim().split(':');
        for byte in &mut mac {
            *byte = u8::from_str_radix(parts.next()?, 16).ok()?;
        }
        parts.next().is_none().then_some(Mac(mac))
    }

    fn at(bytes: &[u8], offset: usize) -> Option<Mac> {
        bytes.get(offset..offset + 6)?.try_into().ok().map(Mac)
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

impl fmt::Debug for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The fields of a VRRP advert that the scenarios reason about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advert {
    pub eth_src: Mac,
    /// IP source: the sender's primary IPv4 address, or its IPv6 link-local address.
    pub src: IpAddr,
    pub version: u8,
    pub vrid: u8,
    pub priority: u8,
    /// The advertisement interval field: v3 Max Adver Int in centiseconds (12 bits), v2 Adver Int
    /// in seconds.
    pub advert_int: u16,
    /// IP destination: 224.0.0.18 / ff02::12, or a peer in unicast mode.
    pub dst: IpAddr,
    /// v2 authentication type (0 none, 1 PASS); 0 for v3, which has no such field.
    pub auth_type: u8,
}

/// An ICMP echo reply over IPv4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EchoReply {
    pub eth_src: Mac,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
}

/// Addressing of the IPv4 frames the builders below make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flow {
    pub src_mac: Mac,
    pub dst_mac: Mac,
    pub src_ip: Ipv4Addr,
    pub dst_ip: Ipv4Addr,
    pub src_port: u16,
    pub dst_port: u16,
}

/// An ARP packet for IPv4 over Ethernet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arp {
    pub eth_src: Mac,
    /// 1 request, 2 reply.
    pub op: u16,
    pub sender_mac: Mac,
    pub sender_ip: Ipv4Addr,
    pub target_ip: Ipv4Addr,
}

impl Arp {
    pub const REQUEST: u16 = 1;
    pub const REPLY: u16 = 2;

    /// A gratuitous ARP announcing `ip`: sender and target are both `ip` (request or reply form).
    pub fn is_gratuitous_for(&self, ip: Ipv4Addr) -> bool {
        self.sender_ip == ip && self.target_ip == ip
    }
}

/// An IPv6 neighbour advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighborAdvert {
    pub eth_src: Mac,
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    /// The S flag: an answer to a solicitation (unsolicited announcements have it clear).
    pub solicited: bool,
    pub target: Ipv6Addr,
}

fn u16_at(b: &[u8], offset: usize) -> Option<u16> {
    Some(u16::from_be_bytes(
        b.get(offset..offset + 2)?.try_into().ok()?,
    ))
}

fn ipv4_at(b: &[u8], offset: usize) -> Option<Ipv4Addr> {
    let o: [u8; 4] = b.get(offset..offset + 4)?.try_into().ok()?;
    Some(Ipv4Addr::from(o))
}

fn ipv6_at(b: &[u8], offset: usize) -> Option<Ipv6Addr> {
    let o: [u8; 16] = b.get(offset..offset + 16)?.try_into().ok()?;
    Some(Ipv6Addr::from(o))
}

/// The VRRP advert in `frame`, if it is one (IPv4 protocol 112, or IPv6 next header 112 without
/// extension headers).
pub fn advert(frame: &[u8]) -> Option<Advert> {
    let eth_src = Mac::at(frame, 6)?;
    let (src, dst, vrrp) = vrrp_payload(frame)?;
    let version = *vrrp.first()? >> 4;
    let advert_int = match version {
        3 => u16_at(vrrp, 4)? & 0x0fff,
        _ => u16::from(*vrrp.get(5)?),
    };
    Some(Advert {
        eth_src,
        src,
        version,
        vrid: *vrrp.get(1)?,
        priority: *vrrp.get(2)?,
        advert_int,
        dst,
        auth_type: if version == 2 { *vrrp.get(4)? } else { 0 },
    })
}

/// The virtual addresses an advert carries (the count field says how many, of the frame's family).
pub fn advert_addrs(frame: &[u8]) -> Option<Vec<IpAddr>> {
    let (src, _, vrrp) = vrrp_payload(frame)?;
    let count = usize::from(*vrrp.get(3)?);
    let list = vrrp.get(8..)?;
    (0..count)
        .map(|i| match src {
            IpAddr::V4(_) => ipv4_at(list, i * 4).map(IpAddr::V4),
            IpAddr::V6(_) => ipv6_at(list, i * 16).map(IpAddr::V6),
        })
        .collect()
}

/// Source, destination and VRRP payload of an IPv4 protocol-112 frame, or an IPv6 next-header-112
/// frame without extension headers.
fn vrrp_payload(frame: &[u8]) -> Option<(IpAddr, IpAddr, &[u8])> {
    match u16_at(frame, 12)? {
        ETHERTYPE_IPV4 => {
            let ip = frame.get(ETH_HDR..)?;
            let ihl = usize::from(ip.first()? & 0x0f) * 4;
            if ip.first()? >> 4 != 4 || *ip.get(9)? != IPPROTO_VRRP {
                return None;
            }
            Some((
                IpAddr::V4(ipv4_at(ip, 12)?),
                IpAddr::V4(ipv4_at(ip, 16)?),
                ip.get(ihl..)?,
            ))
        }
        ETHERTYPE_IPV6 => {
            let ip = frame.get(ETH_HDR..)?;
            if ip.first()? >> 4 != 6 || *ip.get(6)? != IPPROTO_VRRP {
                return None;
            }
            Some((
                IpAddr::V6(ipv6_at(ip, 8)?),
                IpAddr::V6(ipv6_at(ip, 24)?),
                ip.get(IPV6_HDR..)?,
            ))
        }
        _ => None,
    }
}

/// The IPv4 header and payload of `frame`, if it is IPv4 with protocol `proto`.
fn ipv4_payload(frame: &[u8], proto: u8) -> Option<(&[u8], &[u8])> {
    if u16_at(frame, 12)? != ETHERTYPE_IPV4 {
        return None;
    }
    let ip = frame.get(ETH_HDR..)?;
    if ip.first()? >> 4 != 4 || *ip.get(9)? != proto {
        return None;
    }
    let ihl = usize::from(ip.first()? & 0x0f) * 4;
    Some((ip, ip.get(ihl..)?))
}

/// The ICMP echo reply in `frame`, if it is one.
pub fn echo_reply(frame: &[u8]) -> Option<EchoReply> {
    let (ip, icmp) = ipv4_payload(frame, IPPROTO_ICMP)?;
    (*icmp.first()? == ICMP_ECHO_REPLY).then_some(())?;
    Some(EchoReply {
        eth_src: Mac::at(frame, 6)?,
        src: ipv4_at(ip, 12)?,
        dst: ipv4_at(ip, 16)?,
    })
}

/// The ARP packet in `frame`, if it is one.
pub fn arp(frame: &[u8]) -> Option<Arp> {
    if u16_at(frame, 12)? != ETHERTYPE_ARP {
        return None;
    }
    let a = frame.get(ETH_HDR..)?;
    // Ethernet (1) / IPv4, 6-byte and 4-byte addresses.
    if u16_at(a, 0)? != 1 || u16_at(a, 2)? != ETHERTYPE_IPV4 || a.get(4..6)? != [6, 4] {
        return None;
    }
    Some(Arp {
        eth_src: Mac::at(frame, 6)?,
        op: u16_at(a, 6)?,
        sender_mac: Mac::at(a, 8)?,
        sender_ip: ipv4_at(a, 14)?,
        target_ip: ipv4_at(a, 24)?,
    })
}

/// The IPv6 neighbour advertisement in `frame`, if it is one.
pub fn neighbor_advert(frame: &[u8]) -> Option<NeighborAdvert> {
    if u16_at(frame, 12)? != ETHERTYPE_IPV6 {
        return None;
    }
    let ip = frame.get(ETH_HDR..)?;
    if *ip.get(6)? != IPPROTO_ICMPV6 || *ip.get(IPV6_HDR)? != ICMPV6_NA {
        return None;
    }
    Some(NeighborAdvert {
        eth_src: Mac::at(frame, 6)?,
        src: ipv6_at(ip, 8)?,
        dst: ipv6_at(ip, 24)?,
        solicited: ip.get(IPV6_HDR + 4)? & 0x40 != 0,
        target: ipv6_at(ip, IPV6_HDR + 8)?,
    })
}

/// A broadcast ARP request "who has `target`, tell `sender_ip`".
pub fn arp_request(sender_mac: Mac, sender_ip: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    let mut f = Vec::with_capacity(42);
    f.extend_from_slice(&Mac::BROADCAST.0);
    f.extend_from_slice(&sender_mac.0);
    f.extend_from_slice(&ETHERTYPE_ARP.to_be_bytes());
    f.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, 1]);
    f.extend_from_slice(&sender_mac.0);
    f.extend_from_slice(&sender_ip.octets());
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&target.octets());
    f
}

/// A neighbour solicitation for `target` sent to its solicited-node multicast group, with the
/// source link-layer address option (RFC 4861 §4.3).
pub fn neighbor_solicitation(sender_mac: Mac, sender_ip: Ipv6Addr, target: Ipv6Addr) -> Vec<u8> {
    let t = target.octets();
    let group = Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(t[13]),
        u16::from_be_bytes([t[14], t[15]]),
    );
    let mut icmp = vec![ICMPV6_NS, 0, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(&t);
    icmp.extend_from_slice(&[1, 1]);
    icmp.extend_from_slice(&sender_mac.0);
    let sum = icmpv6_checksum(sender_ip, group, &icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());

    let mut f = Vec::with_capacity(ETH_HDR + IPV6_HDR + icmp.len());
    f.extend_from_slice(&[0x33, 0x33, 0xff, t[13], t[14], t[15]]);
    f.extend_from_slice(&sender_mac.0);
    f.extend_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
    f.extend_from_slice(&[0x60, 0, 0, 0]);
    f.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
    f.extend_from_slice(&[IPPROTO_ICMPV6, 255]);
    f.extend_from_slice(&sender_ip.octets());
    f.extend_from_slice(&group.octets());
    f.extend_from_slice(&icmp);
    f
}

/// A UDP datagram with `payload` from `flow`, IP identification `id`, UDP checksum 0 (none, valid
/// over IPv4).
pub fn udp(flow: &Flow, id: u16, payload: &[u8]) -> Vec<u8> {
    let mut l4 = Vec::with_capacity(8 + payload.len());
    l4.extend_from_slice(&flow.src_port.to_be_bytes());
    l4.extend_from_slice(&flow.dst_port.to_be_bytes());
    l4.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    l4.extend_from_slice(&[0, 0]);
    l4.extend_from_slice(payload);
    ipv4_frame(flow, id, IPPROTO_UDP, &l4)
}

/// A TCP SYN from `flow` with sequence number `seq`, IP identification `id`.
pub fn tcp_syn(flow: &Flow, id: u16, seq: u32) -> Vec<u8> {
    let mut l4 = Vec::with_capacity(20);
    l4.extend_from_slice(&flow.src_port.to_be_bytes());
    l4.extend_from_slice(&flow.dst_port.to_be_bytes());
    l4.extend_from_slice(&seq.to_be_bytes());
    // Acknowledgement 0, data offset 5 words, SYN, window 64240, checksum, urgent pointer.
    l4.extend_from_slice(&[0, 0, 0, 0, 5 << 4, 0x02]);
    l4.extend_from_slice(&64240u16.to_be_bytes());
    l4.extend_from_slice(&[0; 4]);
    let mut pseudo = Vec::with_capacity(12 + l4.len());
    pseudo.extend_from_slice(&flow.src_ip.octets());
    pseudo.extend_from_slice(&flow.dst_ip.octets());
    pseudo.extend_from_slice(&[0, IPPROTO_TCP]);
    pseudo.extend_from_slice(&(l4.len() as u16).to_be_bytes());
    pseudo.extend_from_slice(&l4);
    let sum = internet_checksum(&pseudo);
    l4[16..18].copy_from_slice(&sum.to_be_bytes());
    ipv4_frame(flow, id, IPPROTO_TCP, &l4)
}

/// A VRRPv2 advert's bytes (RFC 3768 §5.1) for `vrid` at `priority` with `vips`, advert
/// interval `advert_int` seconds and PASS authentication `pass` (none when `None`), checksummed.
/// Tests craft malformed adverts by changing bytes of it (and [`vrrp_checksum`] again).
pub fn vrrp_v2(
    vrid: u8,
    priority: u8,
    advert_int: u8,
    vips: &[Ipv4Addr],
    pass: Option<&[u8]>,
) -> Vec<u8> {
    let auth_type = u8::from(pass.is_some());
    let mut p = vec![
        0x21,
        vrid,
        priority,
        vips.len() as u8,
        auth_type,
        advert_int,
        0,
        0,
    ];
    for v in vips {
        p.extend_from_slice(&v.octets());
    }
    let mut auth = [0u8; 8];
    if let Some(pass) = pass {
        let n = pass.len().min(8);
        auth[..n].copy_from_slice(&pass[..n]);
    }
    p.extend_from_slice(&auth);
    vrrp_checksum(&mut p);
    p
}

/// Recomputes a VRRPv2 packet's checksum (over the VRRP bytes only, RFC 3768 §5.3.8).
pub fn vrrp_checksum(vrrp: &mut [u8]) {
    if vrrp.len() < 8 {
        return;
    }
    vrrp[6..8].copy_from_slice(&[0, 0]);
    let sum = internet_checksum(vrrp);
    vrrp[6..8].copy_from_slice(&sum.to_be_bytes());
}

/// `vrrp` from `src_mac` / `src_ip` to the VRRP group 224.0.0.18 with IP TTL `ttl`, as a whole
/// Ethernet frame.
pub fn vrrp_frame(src_mac: Mac, src_ip: Ipv4Addr, ttl: u8, vrrp: &[u8]) -> Vec<u8> {
    let flow = Flow {
        src_mac,
        dst_mac: Mac([0x01, 0x00, 0x5e, 0x00, 0x00, 0x12]),
        src_ip,
        dst_ip: Ipv4Addr::new(224, 0, 0, 18),
        src_port: 0,
        dst_port: 0,
    };
    let mut f = ipv4_frame(&flow, 0, IPPROTO_VRRP, vrrp);
    let ip = &mut f[ETH_HDR..ETH_HDR + IPV4_HDR];
    ip[8] = ttl;
    ip[10..12].copy_from_slice(&[0, 0]);
    let sum = internet_checksum(ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    f
}

/// Ethernet and IPv4 headers (TTL 64, checksummed) around `l4`, padded to the Ethernet minimum.
fn ipv4_frame(flow: &Flow, id: u16, proto: u8, l4: &[u8]) -> Vec<u8> {
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&((IPV4_HDR + l4.len()) as u16).to_be_bytes());
    ip.extend_from_slice(&id.to_be_bytes());
    ip.extend_from_slice(&[0, 0, 64, proto, 0, 0]);
    ip.extend_from_slice(&flow.src_ip.octets());
    ip.extend_from_slice(&flow.dst_ip.octets());
    let sum = internet_checksum(&ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    let mut f = Vec::with_capacity(ETH_MIN.max(ETH_HDR + IPV4_HDR + l4.len()));
    f.extend_from_slice(&flow.dst_mac.0);
    f.extend_from_slice(&flow.src_mac.0);
    f.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(l4);
    f.resize(f.len().max(ETH_MIN), 0);
    f
}

/// The ICMPv6 checksum over the pseudo-header (RFC 8200 §8.1) and `icmp` (checksum field zero).
fn icmpv6_checksum(src: Ipv6Addr, dst: Ipv6Addr, icmp: &[u8]) -> u16 {
    let mut pseudo = Vec::with_capacity(40 + icmp.len());
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&(icmp.len() as u32).to_be_bytes());
    pseudo.extend_from_slice(&[0, 0, 0, IPPROTO_ICMPV6]);
    pseudo.extend_from_slice(icmp);
    internet_checksum(&pseudo)
}

/// RFC 1071 one's-complement sum.
pub fn internet_checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Mac = Mac([2, 0, 0, 0, 0, 1]);

    #[test]
    fn arp_request_round_trips_through_the_decoder() {
        let ip: Ipv4Addr = "10.1.0.100".parse().unwrap();
        let vip: Ipv4Addr = "10.1.0.200".parse().unwrap();
        let frame = arp_request(A, ip, vip);
        assert_eq!(frame.len(), 42);
        let a = arp(&frame).unwrap();
        assert_eq!(
            a,
            Arp {
                eth_src: A,
                op: Arp::REQUEST,
                sender_mac: A,
                sender_ip: ip,
                target_ip: vip
            }
        );
        assert!(!a.is_gratuitous_for(vip));
        assert_eq!(advert(&frame), None);
        assert_eq!(neighbor_advert(&frame), None);
    }

    #[test]
    fn decodes_a_vrrp_v2_advert() {
        // Ethernet to 01:00:5e:00:00:12, IPv4 10.1.0.1 → 224.0.0.18, proto 112, then VRRP v2
        // vrid 50 prio 100, one address, auth none, interval 1.
        let mut f = vec![1, 0, 0x5e, 0, 0, 0x12, 2, 0, 0, 0, 0, 1, 8, 0];
        f.extend_from_slice(&[
            0x45, 0xc0, 0, 28, 0, 1, 0, 0, 255, 112, 0, 0, 10, 1, 0, 1, 224, 0, 0, 18,
        ]);
        f.extend_from_slice(&[
            0x21, 50, 100, 1, 0, 1, 0, 0, 10, 1, 0, 200, 0, 0, 0, 0, 0, 0,
        ]);
        let a = advert(&f).unwrap();
        assert_eq!(
            (a.eth_src, a.src, a.version, a.vrid, a.priority),
            (A, "10.1.0.1".parse().unwrap(), 2, 50, 100)
        );
        assert_eq!(a.advert_int, 1);
        assert_eq!((a.dst, a.auth_type), ("224.0.0.18".parse().unwrap(), 0));
        assert_eq!(advert_addrs(&f), Some(vec!["10.1.0.200".parse().unwrap()]));
        assert_eq!(advert(&f[..f.len() - 25]), None, "truncated");
        assert_eq!(echo_reply(&f), None);
    }

    const FLOW: Flow = Flow {
        src_mac: A,
        dst_mac: Mac([2, 0, 0, 0, 0, 2]),
        src_ip: Ipv4Addr::new(10, 1, 0, 100),
        dst_ip: Ipv4Addr::new(10, 1, 0, 2),
        src_port: 20_001,
        dst_port: 9,
    };

    #[test]
    fn tcp_syn_and_udp_checksums_verify() {
        let syn = tcp_syn(&FLOW, 1, 1);
        assert_eq!(syn.len(), ETH_MIN);
        // A correct header sums to 0xffff, i.e. its checksum over itself is 0.
        assert_eq!(internet_checksum(&syn[14..34]), 0);
        let mut pseudo = vec![10, 1, 0, 100, 10, 1, 0, 2, 0, 6, 0, 20];
        pseudo.extend_from_slice(&syn[34..54]);
        assert_eq!(internet_checksum(&pseudo), 0);
        assert_eq!((syn[23], syn[34 + 13]), (IPPROTO_TCP, 0x02));
        let datagram = udp(&FLOW, 0, &[0; 18]);
        assert_eq!(datagram.len(), ETH_MIN);
        assert_eq!(internet_checksum(&datagram[14..34]), 0);
        assert_eq!(
            (datagram[23], &datagram[36..40]),
            (IPPROTO_UDP, &[0, 9, 0, 26][..])
        );
    }

    #[test]
    fn decodes_a_vrrp_v3_advert_interval_in_centiseconds() {
        // VRRP v3 vrid 50 prio 90, one address, Max Adver Int 10 cs (4 reserved bits set).
        let f = ipv4_frame(&FLOW, 1, IPPROTO_VRRP, &[0x31, 50, 90, 1, 0xf0, 0x0a, 0, 0]);
        let a = advert(&f).unwrap();
        assert_eq!(
            (a.src, a.version, a.vrid, a.priority, a.advert_int),
            (IpAddr::V4(FLOW.src_ip), 3, 50, 90, 10)
        );
    }

    #[test]
    fn decodes_an_echo_reply() {
        let mut f = ipv4_frame(&FLOW, 1, IPPROTO_ICMP, &[0, 0, 0, 0, 0, 1, 0, 1]);
        let r = echo_reply(&f).unwrap();
        assert_eq!((r.eth_src, r.src, r.dst), (A, FLOW.src_ip, FLOW.dst_ip));
        f[34] = 8; // an echo request
        assert_eq!(echo_reply(&f), None);
        assert_eq!(advert(&f), None);
    }

    #[test]
    fn neighbor_solicitation_has_a_valid_checksum_and_group() {
        let src: Ipv6Addr = "fd00:1::100".parse().unwrap();
        let target: Ipv6Addr = "fd00:1::1:2c8".parse().unwrap();
        let f = neighbor_solicitation(A, src, target);
        assert_eq!(&f[..6], &[0x33, 0x33, 0xff, 0x01, 0x02, 0xc8]);
        let dst = ipv6_at(&f, ETH_HDR + 24).unwrap();
        assert_eq!(dst, "ff02::1:ff01:2c8".parse::<Ipv6Addr>().unwrap());
        // Summing again over a packet with its checksum in place gives zero.
        assert_eq!(
            icmpv6_checksum(src, dst, &f[ETH_HDR + IPV6_HDR..]),
            0,
            "checksum does not verify"
        );
        assert_eq!(neighbor_advert(&f), None, "a solicitation is not an advert");
    }

    #[test]
    fn mac_parses_what_ip_link_prints() {
        assert_eq!(Mac::parse("02:00:00:00:00:01"), Some(A));
        assert_eq!(A.to_string(), "02:00:00:00:00:01");
        assert_eq!(Mac::parse("02:00:00:00:00"), None);
        assert_eq!(Mac::parse("02:00:00:00:00:01:03"), None);
    }
}
