//! Frame builders shared by the XDP tests and the XDP benchmark, each including this file with
//! `#[path = ".../support/xdp_frames.rs"] mod xdp_frames;`. It lives under `tests/support/` so
//! that cargo does not build it as a test target of its own (one with no tests in it).
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const ETH: usize = 14;
pub const IPV4: usize = 20;
pub const IPV6: usize = 40;
/// MAC of the interface the program runs on (`CONFIG.mac`), and of the peer asking.
pub const OUR_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
pub const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];

pub fn v4(a: u8, b: u8, c: u8, d: u8) -> Ipv4Addr {
    Ipv4Addr::new(a, b, c, d)
}

pub fn v6(prefix: u16, last: u16) -> Ipv6Addr {
    Ipv6Addr::new(prefix, 0, 0, 0, 0, 0, 0, last)
}

/// One 802.1Q (TPID 0x8100) or 802.1ad (0x88a8) tag.
#[derive(Clone, Copy, Debug)]
pub struct Vlan {
    pub tpid: u16,
    pub id: u16,
}

impl Vlan {
    pub fn dot1q(id: u16) -> Vlan {
        Vlan { tpid: 0x8100, id }
    }
    pub fn dot1ad(id: u16) -> Vlan {
        Vlan { tpid: 0x88a8, id }
    }
}

/// A VRRP advert and the fields its frame carries.
#[derive(Clone, Debug)]
pub struct Advert {
    pub version: u8,
    pub vrid: u8,
    pub priority: u8,
    pub src: IpAddr,
    pub addrs: Vec<IpAddr>,
    /// The event's `interval`: v2 seconds, v3 centiseconds.
    pub interval: u16,
    pub ttl: u8,
    /// Count field when it should lie about the address list.
    pub count: Option<u8>,
    /// v2 authentication data present (RFC 3768 §5.3.10).
    pub auth: bool,
}

impl Advert {
    pub fn v2(vrid: u8, priority: u8, addrs: Vec<Ipv4Addr>, interval_s: u8) -> Advert {
        Advert {
            version: 2,
            vrid,
            priority,
            src: IpAddr::V4(v4(10, 0, 0, 1)),
            addrs: addrs.into_iter().map(IpAddr::V4).collect(),
            interval: interval_s.into(),
            ttl: 255,
            count: None,
            auth: true,
        }
    }

    pub fn v3_v4(vrid: u8, priority: u8, addrs: Vec<Ipv4Addr>, interval_cs: u16) -> Advert {
        Advert {
            version: 3,
            vrid,
            priority,
            src: IpAddr::V4(v4(10, 0, 0, 2)),
            addrs: addrs.into_iter().map(IpAddr::V4).collect(),
            interval: interval_cs,
            ttl: 255,
            count: None,
            auth: false,
        }
    }

    pub fn v3_v6(vrid: u8, priority: u8, addrs: Vec<Ipv6Addr>, interval_cs: u16) -> Advert {
        Advert {
            version: 3,
            vrid,
            priority,
            src: IpAddr::V6("fe80::2".parse().expect("literal")),
            addrs: addrs.into_iter().map(IpAddr::V6).collect(),
            interval: interval_cs,
            ttl: 255,
            count: None,
            auth: false,
        }
    }

    pub fn with_count(mut self, count: u8) -> Advert {
        self.count = Some(count);
        self
    }

    pub fn without_auth(mut self) -> Advert {
        self.auth = false;
        self
    }

    /// 224.0.0.18 / ff02::12 (RFC 5798 §5.1.1.2, §5.1.2.2).
    pub fn dst(&self) -> IpAddr {
        match self.src {
            IpAddr::V4(_) => IpAddr::V4(v4(224, 0, 0, 18)),
            IpAddr::V6(_) => IpAddr::V6("ff02::12".parse().expect("literal")),
        }
    }

    /// The VRRP message, checksum included.
    pub fn vrrp(&self) -> Vec<u8> {
        let count = self.count.unwrap_or(self.addrs.len() as u8);
        let mut msg = vec![self.version << 4 | 1, self.vrid, self.priority, count];
        if self.version == 2 {
            msg.extend_from_slice(&[0, self.interval as u8]);
        } else {
            msg.extend_from_slice(&(self.interval & 0x0fff).to_be_bytes());
        }
        msg.extend_from_slice(&[0, 0]);
        for addr in &self.addrs {
            match addr {
                IpAddr::V4(a) => msg.extend_from_slice(&a.octets()),
                IpAddr::V6(a) => msg.extend_from_slice(&a.octets()),
            }
        }
        if self.auth {
            msg.extend_from_slice(&[0; 8]);
        }
        let sum = if self.version == 2 {
            checksum(&[&msg])
        } else {
            let len = (msg.len() as u32).to_be_bytes();
            let (src, dst) = (octets(self.src), octets(self.dst()));
            checksum(&[&src, &dst, &len, &[0, 0, 0, 112], &msg])
        };
        msg[6..8].copy_from_slice(&sum.to_be_bytes());
        msg
    }

    pub fn frame(&self, vlan: Option<Vlan>) -> Vec<u8> {
        let vrrp = self.vrrp();
        let mac_src = [
            0,
            0,
            0x5e,
            0,
            if self.src.is_ipv4() { 1 } else { 2 },
            self.vrid,
        ];
        match (self.src, self.dst()) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => {
                let mut f = eth([1, 0, 0x5e, 0, 0, 18], mac_src, vlan, 0x0800);
                f.extend_from_slice(&ipv4_header(src, dst, 112, self.ttl, vrrp.len()));
                f.extend_from_slice(&vrrp);
                f
            }
            (IpAddr::V6(src), IpAddr::V6(dst)) => {
                let mut f = eth([0x33, 0x33, 0, 0, 0, 0x12], mac_src, vlan, 0x86dd);
                f.extend_from_slice(&ipv6_header(src, dst, 112, self.ttl, vrrp.len()));
                f.extend_from_slice(&vrrp);
                f
            }
            _ => unreachable!("dst() follows src's family"),
        }
    }
}

fn octets(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// RFC 1071 checksum over the concatenation of `parts` (each of even length but the last).
pub fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum = 0u32;
    for part in parts {
        for pair in part.chunks(2) {
            sum += u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]));
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// ICMPv6 checksum of `msg` (RFC 4443 §2.3); 0 when `msg` carries a correct one.
pub fn icmpv6_checksum(src: &[u8; 16], dst: &[u8; 16], msg: &[u8]) -> u16 {
    let len = (msg.len() as u32).to_be_bytes();
    checksum(&[src, dst, &len, &[0, 0, 0, 58], msg])
}

pub fn eth(dst: [u8; 6], src: [u8; 6], vlan: Option<Vlan>, ether_type: u16) -> Vec<u8> {
    let mut f = Vec::with_capacity(1600);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    if let Some(vlan) = vlan {
        f.extend_from_slice(&vlan.tpid.to_be_bytes());
        f.extend_from_slice(&(vlan.id & 0x0fff).to_be_bytes());
    }
    f.extend_from_slice(&ether_type.to_be_bytes());
    f
}

pub fn ipv4_header(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, ttl: u8, payload: usize) -> Vec<u8> {
    let mut h = vec![0x45, 0xc0];
    h.extend_from_slice(&((IPV4 + payload) as u16).to_be_bytes());
    h.extend_from_slice(&[0, 0, 0, 0, ttl, proto, 0, 0]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    let sum = checksum(&[&h]);
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    h
}

pub fn ipv6_header(src: Ipv6Addr, dst: Ipv6Addr, next: u8, hop: u8, payload: usize) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend_from_slice(&(payload as u16).to_be_bytes());
    h.extend_from_slice(&[next, hop]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    h
}

pub fn tcp_v4_frame() -> Vec<u8> {
    let mut tcp = vec![
        0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
    ];
    tcp.extend_from_slice(b"GET / HTTP/1.1\r\n");
    let mut f = eth(OUR_MAC, PEER_MAC, None, 0x0800);
    f.extend_from_slice(&ipv4_header(
        v4(10, 0, 0, 2),
        v4(10, 0, 0, 1),
        6,
        64,
        tcp.len(),
    ));
    f.extend_from_slice(&tcp);
    f
}

pub fn udp_v6_frame() -> Vec<u8> {
    let data = b"a small datagram";
    let mut udp = vec![0x9c, 0x40, 0, 53];
    udp.extend_from_slice(&((8 + data.len()) as u16).to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(data);
    let mut f = eth(OUR_MAC, PEER_MAC, None, 0x86dd);
    f.extend_from_slice(&ipv6_header(
        v6(0xfd00, 2),
        v6(0xfd00, 1),
        17,
        64,
        udp.len(),
    ));
    f.extend_from_slice(&udp);
    f
}

fn arp(oper: u8, eth_dst: [u8; 6], spa: Ipv4Addr, tha: [u8; 6], tpa: Ipv4Addr) -> Vec<u8> {
    let mut f = eth(eth_dst, PEER_MAC, None, 0x0806);
    f.extend_from_slice(&[0, 1, 0x08, 0, 6, 4, 0, oper]);
    f.extend_from_slice(&PEER_MAC);
    f.extend_from_slice(&spa.octets());
    f.extend_from_slice(&tha);
    f.extend_from_slice(&tpa.octets());
    f.resize(60, 0); // minimum Ethernet frame, as on the wire
    f
}

/// Who has `tpa`? Tell `spa` (PEER_MAC).
pub fn arp_request(spa: Ipv4Addr, tpa: Ipv4Addr) -> Vec<u8> {
    arp(1, [0xff; 6], spa, [0; 6], tpa)
}

pub fn arp_reply_frame(spa: Ipv4Addr) -> Vec<u8> {
    arp(2, OUR_MAC, spa, OUR_MAC, v4(10, 0, 0, 1))
}

/// Neighbour Solicitation from `src` (PEER_MAC) for `target`, to its solicited-node group;
/// optionally with a source link-layer address option, plus `extra` bytes of nonce option.
pub fn ns_frame(src: Ipv6Addr, target: Ipv6Addr, with_slla: bool, extra: usize) -> Vec<u8> {
    let t = target.octets();
    let dst = Ipv6Addr::from([
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, t[13], t[14], t[15],
    ]);
    let mut icmp = vec![135, 0, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(&t);
    if with_slla {
        icmp.extend_from_slice(&[1, 1]);
        icmp.extend_from_slice(&PEER_MAC);
    }
    if extra > 0 {
        icmp.extend_from_slice(&[14, (extra / 8) as u8]);
        icmp.extend((2..extra).map(|i| i as u8));
    }
    let sum = icmpv6_checksum(&src.octets(), &dst.octets(), &icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut f = eth(
        [0x33, 0x33, 0xff, t[13], t[14], t[15]],
        PEER_MAC,
        None,
        0x86dd,
    );
    f.extend_from_slice(&ipv6_header(src, dst, 58, 255, icmp.len()));
    f.extend_from_slice(&icmp);
    f
}
