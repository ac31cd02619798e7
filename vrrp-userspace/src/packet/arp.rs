//! ARP for IPv4 over Ethernet (RFC 826): the gratuitous ARP a new master sends for each VIP
//! (keepalived `vrrp_arp.c`), and parsing of ARP frames for the XDP gate tests.

use std::net::Ipv4Addr;

use super::{HeaderError, MacAddr, ethernet};

mod field {
    use core::ops::Range;
    pub const HTYPE: Range<usize> = 0..2;
    pub const PTYPE: Range<usize> = 2..4;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: Range<usize> = 6..8;
    pub const SHA: Range<usize> = 8..14;
    pub const SPA: Range<usize> = 14..18;
    pub const THA: Range<usize> = 18..24;
    pub const TPA: Range<usize> = 24..28;
}

/// Length of an Ethernet/IPv4 ARP message.
pub const PACKET_LEN: usize = field::TPA.end;
/// Length of an untagged gratuitous ARP frame (no padding: the NIC pads to 60 bytes).
pub const FRAME_LEN: usize = ethernet::HEADER_LEN + PACKET_LEN;

const HTYPE_ETHERNET: u16 = 1;
const NAME: &str = "ARP";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Request,
    Reply,
    Unknown(u16),
}

impl From<u16> for Operation {
    fn from(v: u16) -> Operation {
        match v {
            1 => Operation::Request,
            2 => Operation::Reply,
            other => Operation::Unknown(other),
        }
    }
}

impl From<Operation> for u16 {
    fn from(op: Operation) -> u16 {
        match op {
            Operation::Request => 1,
            Operation::Reply => 2,
            Operation::Unknown(v) => v,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repr {
    pub operation: Operation,
    pub sender_mac: MacAddr,
    pub sender_ip: Ipv4Addr,
    pub target_mac: MacAddr,
    pub target_ip: Ipv4Addr,
}

impl Repr {
    /// keepalived's gratuitous ARP: a request whose sender and target IP are both the VIP, with
    /// the target hardware address all-ones.
    pub const fn gratuitous(mac: MacAddr, vip: Ipv4Addr) -> Repr {
        Repr {
            operation: Operation::Request,
            sender_mac: mac,
            sender_ip: vip,
            target_mac: MacAddr::BROADCAST,
            target_ip: vip,
        }
    }

    /// Parses an ARP message (after the Ethernet header). Only Ethernet/IPv4 ARP is accepted.
    /// Bytes after the 28-byte message (frame padding) are ignored.
    pub fn parse(bytes: &[u8]) -> Result<Repr, HeaderError> {
        if bytes.len() < PACKET_LEN {
            return Err(HeaderError::Truncated {
                header: NAME,
                len: bytes.len(),
                need: PACKET_LEN,
            });
        }
        let be16 =
            |r: core::ops::Range<usize>| u16::from_be_bytes([bytes[r.start], bytes[r.start + 1]]);
        let unsupported = |field, value: u32| HeaderError::Unsupported {
            header: NAME,
            field,
            value,
        };
        if be16(field::HTYPE) != HTYPE_ETHERNET {
            return Err(unsupported("htype", be16(field::HTYPE).into()));
        }
        if be16(field::PTYPE) != ethernet::ETHERTYPE_IPV4 {
            return Err(unsupported("ptype", be16(field::PTYPE).into()));
        }
        if bytes[field::HLEN] != 6 {
            return Err(unsupported("hlen", bytes[field::HLEN].into()));
        }
        if bytes[field::PLEN] != 4 {
            return Err(unsupported("plen", bytes[field::PLEN].into()));
        }
        let mac = |r: core::ops::Range<usize>| {
            let mut m = [0u8; 6];
            m.copy_from_slice(&bytes[r]);
            MacAddr(m)
        };
        let ip = |r: core::ops::Range<usize>| {
            Ipv4Addr::new(
                bytes[r.start],
                bytes[r.start + 1],
                bytes[r.start + 2],
                bytes[r.start + 3],
            )
        };
        Ok(Repr {
            operation: be16(field::OPER).into(),
            sender_mac: mac(field::SHA),
            sender_ip: ip(field::SPA),
            target_mac: mac(field::THA),
            target_ip: ip(field::TPA),
        })
    }

    /// Writes the 28-byte message into the first [`PACKET_LEN`] bytes of `buf`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), HeaderError> {
        if buf.len() < PACKET_LEN {
            return Err(HeaderError::Truncated {
                header: NAME,
                len: buf.len(),
                need: PACKET_LEN,
            });
        }
        buf[field::HTYPE].copy_from_slice(&HTYPE_ETHERNET.to_be_bytes());
        buf[field::PTYPE].copy_from_slice(&ethernet::ETHERTYPE_IPV4.to_be_bytes());
        buf[field::HLEN] = 6;
        buf[field::PLEN] = 4;
        buf[field::OPER].copy_from_slice(&u16::from(self.operation).to_be_bytes());
        buf[field::SHA].copy_from_slice(&self.sender_mac.0);
        buf[field::SPA].copy_from_slice(&self.sender_ip.octets());
        buf[field::THA].copy_from_slice(&self.target_mac.0);
        buf[field::TPA].copy_from_slice(&self.target_ip.octets());
        Ok(())
    }

    /// This message in an untagged Ethernet frame from `self.sender_mac` to `dst`.
    pub fn to_frame(&self, dst: MacAddr) -> [u8; FRAME_LEN] {
        let mut frame = [0u8; FRAME_LEN];
        let eth = ethernet::Header {
            dst,
            src: self.sender_mac,
            vlan: None,
            ethertype: ethernet::ETHERTYPE_ARP,
        };
        // Both fit by construction of FRAME_LEN.
        let (head, body) = frame.split_at_mut(ethernet::HEADER_LEN);
        let _ = eth.emit(head);
        let _ = self.emit(body);
        frame
    }
}

/// The broadcast gratuitous-ARP frame keepalived sends for `vip` from `mac`.
pub fn gratuitous_frame(mac: MacAddr, vip: Ipv4Addr) -> [u8; FRAME_LEN] {
    Repr::gratuitous(mac, vip).to_frame(MacAddr::BROADCAST)
}

/// Parses an Ethernet frame (optionally VLAN-tagged) holding ARP.
pub fn parse_frame(frame: &[u8]) -> Result<(ethernet::Header, Repr), HeaderError> {
    let (eth, payload) = ethernet::Header::parse(frame)?;
    if eth.ethertype != ethernet::ETHERTYPE_ARP {
        return Err(HeaderError::Unsupported {
            header: "Ethernet",
            field: "ethertype",
            value: eth.ethertype.into(),
        });
    }
    Ok((eth, Repr::parse(payload)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    // keepalived 2.2.7's gratuitous ARP for 10.0.0.30 from 02:00:00:00:00:01
    // (tests/data/packet/v3_ipv4_garp.frame.hex).
    static KEEPALIVED_GARP: [u8; 42] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08,
        0x06, // eth
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, // htype ptype hlen plen oper
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x1e, // sender
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0a, 0x00, 0x00, 0x1e, // target
    ];

    const MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
    const VIP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 30);

    #[test]
    fn gratuitous_matches_keepalived() {
        assert_eq!(gratuitous_frame(MAC, VIP), KEEPALIVED_GARP);
    }

    #[test]
    fn parse_keepalived() {
        let (eth, arp) = parse_frame(&KEEPALIVED_GARP).unwrap();
        assert_eq!(eth.dst, MacAddr::BROADCAST);
        assert_eq!(eth.src, MAC);
        assert_eq!(arp, Repr::gratuitous(MAC, VIP));
    }

    #[test]
    fn construct_with_filler() {
        let repr = Repr {
            operation: Operation::Reply,
            sender_mac: MAC,
            sender_ip: VIP,
            target_mac: MacAddr([2, 0, 0, 0, 0, 2]),
            target_ip: Ipv4Addr::new(10, 0, 0, 2),
        };
        let mut buf = [0xa5u8; PACKET_LEN];
        repr.emit(&mut buf).unwrap();
        assert!(!buf.contains(&0xa5), "every byte written");
        assert_eq!(Repr::parse(&buf), Ok(repr));
        assert_eq!(u16::from(Operation::from(7)), 7);
    }

    #[test]
    fn rejects() {
        assert!(matches!(
            Repr::parse(&KEEPALIVED_GARP[14..41]),
            Err(HeaderError::Truncated { need: 28, .. })
        ));
        for (at, field) in [(15, "htype"), (16, "ptype"), (18, "hlen"), (19, "plen")] {
            let mut f = KEEPALIVED_GARP;
            f[at] ^= 0x10;
            assert!(
                matches!(parse_frame(&f), Err(HeaderError::Unsupported { field: got, .. }) if got == field),
                "{field}"
            );
        }
        let mut ipv4 = KEEPALIVED_GARP;
        ipv4[13] = 0x00;
        assert!(matches!(
            parse_frame(&ipv4),
            Err(HeaderError::Unsupported {
                field: "ethertype",
                ..
            })
        ));
    }
}
