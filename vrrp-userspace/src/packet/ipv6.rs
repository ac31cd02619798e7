//! The fixed IPv6 header (RFC 8200 §3) around VRRPv3 adverts and neighbour discovery.
//! Extension headers are not walked: adverts and NDP messages are sent without them.

use std::net::Ipv6Addr;

use super::HeaderError;

mod field {
    use core::ops::Range;
    /// Version (4 bits), traffic class (8), flow label (20).
    pub const VER_TC_FLOW: Range<usize> = 0..4;
    pub const PAYLOAD_LEN: Range<usize> = 4..6;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: Range<usize> = 8..24;
    pub const DST: Range<usize> = 24..40;
}

pub const HEADER_LEN: usize = field::DST.end;
/// ff02::12, the VRRP multicast group.
pub const VRRP_MULTICAST: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// ff02::1, all nodes.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// RFC 2464 §7: the Ethernet multicast address for an IPv6 multicast group.
pub fn multicast_mac(group: &Ipv6Addr) -> crate::packet::MacAddr {
    let o = group.octets();
    crate::packet::MacAddr([0x33, 0x33, o[12], o[13], o[14], o[15]])
}

const NAME: &str = "IPv6";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub next_header: u8,
    pub hop_limit: u8,
    pub traffic_class: u8,
    /// 20 bits.
    pub flow_label: u32,
    pub payload_len: u16,
}

impl Header {
    /// Splits a packet into header and payload (the payload-length field's worth of bytes;
    /// Ethernet padding after it is dropped).
    pub fn parse(packet: &[u8]) -> Result<(Header, &[u8]), HeaderError> {
        let len = packet.len();
        if len < HEADER_LEN {
            return Err(HeaderError::Truncated {
                header: NAME,
                len,
                need: HEADER_LEN,
            });
        }
        let first = u32::from_be_bytes([packet[0], packet[1], packet[2], packet[3]]);
        if first >> 28 != 6 {
            return Err(HeaderError::Unsupported {
                header: NAME,
                field: "version",
                value: first >> 28,
            });
        }
        let payload_len = u16::from_be_bytes([
            packet[field::PAYLOAD_LEN.start],
            packet[field::PAYLOAD_LEN.start + 1],
        ]);
        let end = HEADER_LEN + usize::from(payload_len);
        if len < end {
            return Err(HeaderError::Truncated {
                header: NAME,
                len,
                need: end,
            });
        }
        let addr = |r: core::ops::Range<usize>| {
            let mut a = [0u8; 16];
            a.copy_from_slice(&packet[r]);
            Ipv6Addr::from(a)
        };
        let header = Header {
            src: addr(field::SRC),
            dst: addr(field::DST),
            next_header: packet[field::NEXT_HEADER],
            hop_limit: packet[field::HOP_LIMIT],
            traffic_class: (first >> 20) as u8,
            flow_label: first & 0x000f_ffff,
            payload_len,
        };
        Ok((header, &packet[HEADER_LEN..end]))
    }

    /// Writes the 40-byte header into the first [`HEADER_LEN`] bytes of `buf`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), HeaderError> {
        if buf.len() < HEADER_LEN {
            return Err(HeaderError::Truncated {
                header: NAME,
                len: buf.len(),
                need: HEADER_LEN,
            });
        }
        let first =
            (6u32 << 28) | (u32::from(self.traffic_class) << 20) | (self.flow_label & 0x000f_ffff);
        buf[field::VER_TC_FLOW].copy_from_slice(&first.to_be_bytes());
        buf[field::PAYLOAD_LEN].copy_from_slice(&self.payload_len.to_be_bytes());
        buf[field::NEXT_HEADER] = self.next_header;
        buf[field::HOP_LIMIT] = self.hop_limit;
        buf[field::SRC].copy_from_slice(&self.src.octets());
        buf[field::DST].copy_from_slice(&self.dst.octets());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The header keepalived 2.2.7 sent in tests/data/packet/v3_ipv6.frame.hex.
    static KEEPALIVED: [u8; 40] = [
        0x6c, 0x0c, 0x49, 0x15, 0x00, 0x38, 0x70, 0xff, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x00, 0x00,
        0x00, 0xff, 0xfe, 0x00, 0x00, 0x01, 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0x12,
    ];

    fn header() -> Header {
        Header {
            src: "fe80::ff:fe00:1".parse().unwrap(),
            dst: VRRP_MULTICAST,
            next_header: 112,
            hop_limit: 255,
            traffic_class: 0xc0,
            flow_label: 0xc4915,
            payload_len: 56,
        }
    }

    #[test]
    fn roundtrip_keepalived_header() {
        let mut pkt = KEEPALIVED.to_vec();
        pkt.extend_from_slice(&[9; 56]);
        pkt.push(0); // trailing byte beyond payload_len
        let (h, payload) = Header::parse(&pkt).unwrap();
        assert_eq!(h, header());
        assert_eq!(payload.len(), 56);
        let mut buf = [0xa5u8; HEADER_LEN];
        h.emit(&mut buf).unwrap();
        assert_eq!(buf, KEEPALIVED);
    }

    #[test]
    fn rejects() {
        let mut pkt = KEEPALIVED.to_vec();
        assert!(matches!(
            Header::parse(&pkt[..39]),
            Err(HeaderError::Truncated { need: 40, .. })
        ));
        assert!(matches!(
            Header::parse(&pkt),
            Err(HeaderError::Truncated { need: 96, .. })
        ));
        pkt.extend_from_slice(&[0; 56]);
        pkt[0] = 0x4c;
        assert!(matches!(
            Header::parse(&pkt),
            Err(HeaderError::Unsupported {
                field: "version",
                value: 4,
                ..
            })
        ));
    }
}
