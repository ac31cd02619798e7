//! The IPv4 header (RFC 791) as far as VRRP needs it: parse a received packet down to its
//! payload, and build the header keepalived puts on an advert (`vrrp_build_ip4`).

use std::net::Ipv4Addr;

use super::{HeaderError, checksum};

mod field {
    use core::ops::Range;
    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const TOTAL_LEN: Range<usize> = 2..4;
    pub const IDENT: Range<usize> = 4..6;
    pub const FLAGS_FRAG: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SRC: Range<usize> = 12..16;
    pub const DST: Range<usize> = 16..20;
}

/// Length of a header without options (all vrrpd emits).
pub const HEADER_LEN: usize = field::DST.end;
/// 224.0.0.18, the VRRP multicast group.
pub const VRRP_MULTICAST: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// RFC 1112 §6.4: the Ethernet multicast address for an IPv4 multicast group (its low 23 bits
/// under 01:00:5e).
pub fn multicast_mac(group: &Ipv4Addr) -> crate::packet::MacAddr {
    let o = group.octets();
    crate::packet::MacAddr([0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]])
}

/// keepalived's TOS for adverts: precedence "internetwork control".
pub const TOS_INTERNETWORK_CONTROL: u8 = 0xc0;

const NAME: &str = "IPv4";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub protocol: u8,
    pub ttl: u8,
    pub tos: u8,
    pub ident: u16,
    /// Payload bytes after the header (total length − header length).
    pub payload_len: u16,
}

impl Header {
    /// Splits a packet into header and payload. The payload ends where the total-length field
    /// says, so Ethernet padding after it is dropped. Options are skipped; fragments are not
    /// reassembled (an advert never needs it) and are refused.
    pub fn parse(packet: &[u8]) -> Result<(Header, &[u8]), HeaderError> {
        let len = packet.len();
        if len < HEADER_LEN {
            return Err(HeaderError::Truncated {
                header: NAME,
                len,
                need: HEADER_LEN,
            });
        }
        let version = packet[field::VER_IHL] >> 4;
        if version != 4 {
            return Err(unsupported("version", version.into()));
        }
        let ihl = usize::from(packet[field::VER_IHL] & 0x0f) * 4;
        if ihl < HEADER_LEN {
            return Err(unsupported("ihl", (ihl / 4) as u32));
        }
        let total = usize::from(be16(packet, field::TOTAL_LEN.start));
        if total < ihl {
            return Err(unsupported("total_length", total as u32));
        }
        if len < total {
            return Err(HeaderError::Truncated {
                header: NAME,
                len,
                need: total,
            });
        }
        let frag = be16(packet, field::FLAGS_FRAG.start);
        // More-fragments set or a non-zero offset: a fragment.
        if frag & 0x3fff != 0 {
            return Err(unsupported("fragment", frag.into()));
        }
        let got = be16(packet, field::CHECKSUM.start);
        if checksum::sum(&packet[..ihl]) != 0xffff {
            let mut copy = [0u8; 60];
            copy[..ihl].copy_from_slice(&packet[..ihl]);
            copy[field::CHECKSUM].fill(0);
            let want = checksum::finish(&[checksum::sum(&copy[..ihl])]);
            return Err(HeaderError::BadChecksum {
                header: NAME,
                got,
                want,
            });
        }
        let ip = |r: core::ops::Range<usize>| {
            Ipv4Addr::new(
                packet[r.start],
                packet[r.start + 1],
                packet[r.start + 2],
                packet[r.start + 3],
            )
        };
        let header = Header {
            src: ip(field::SRC),
            dst: ip(field::DST),
            protocol: packet[field::PROTOCOL],
            ttl: packet[field::TTL],
            tos: packet[field::TOS],
            ident: be16(packet, field::IDENT.start),
            payload_len: (total - ihl) as u16,
        };
        Ok((header, &packet[ihl..total]))
    }

    /// Writes a 20-byte header (no options, no fragmentation flags) with its checksum into
    /// the first [`HEADER_LEN`] bytes of `buf`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), HeaderError> {
        if buf.len() < HEADER_LEN {
            return Err(HeaderError::Truncated {
                header: NAME,
                len: buf.len(),
                need: HEADER_LEN,
            });
        }
        let total = usize::from(self.payload_len) + HEADER_LEN;
        let Ok(total) = u16::try_from(total) else {
            return Err(unsupported("total_length", total as u32));
        };
        let buf = &mut buf[..HEADER_LEN];
        buf[field::VER_IHL] = 0x45;
        buf[field::TOS] = self.tos;
        buf[field::TOTAL_LEN].copy_from_slice(&total.to_be_bytes());
        buf[field::IDENT].copy_from_slice(&self.ident.to_be_bytes());
        buf[field::FLAGS_FRAG].fill(0);
        buf[field::TTL] = self.ttl;
        buf[field::PROTOCOL] = self.protocol;
        buf[field::CHECKSUM].fill(0);
        buf[field::SRC].copy_from_slice(&self.src.octets());
        buf[field::DST].copy_from_slice(&self.dst.octets());
        let c = checksum::finish(&[checksum::sum(buf)]);
        buf[field::CHECKSUM].copy_from_slice(&c.to_be_bytes());
        Ok(())
    }
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn unsupported(field: &'static str, value: u32) -> HeaderError {
    HeaderError::Unsupported {
        header: NAME,
        field,
        value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: VRRP_MULTICAST,
            protocol: 112,
            ttl: 255,
            tos: TOS_INTERNETWORK_CONTROL,
            ident: 1,
            payload_len: 24,
        }
    }

    // The header keepalived 2.2.7 sent in tests/data/packet/v2_pass.frame.hex.
    static KEEPALIVED: [u8; 20] = [
        0x45, 0xc0, 0x00, 0x2c, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0xd0, 0x8d, 0x0a, 0x00, 0x00,
        0x01, 0xe0, 0x00, 0x00, 0x12,
    ];

    #[test]
    fn emit_matches_keepalived() {
        let mut buf = [0xa5u8; HEADER_LEN];
        header().emit(&mut buf).unwrap();
        assert_eq!(buf, KEEPALIVED);
    }

    #[test]
    fn parse_drops_padding() {
        let mut pkt = KEEPALIVED.to_vec();
        pkt.extend_from_slice(&[7; 24]);
        pkt.extend_from_slice(&[0; 6]); // Ethernet padding
        let (h, payload) = Header::parse(&pkt).unwrap();
        assert_eq!(h, header());
        assert_eq!(payload, &[7; 24]);
    }

    #[test]
    fn rejects() {
        let mut pkt = KEEPALIVED.to_vec();
        pkt.extend_from_slice(&[0; 24]);
        assert!(matches!(
            Header::parse(&pkt[..19]),
            Err(HeaderError::Truncated { .. })
        ));
        assert!(matches!(
            Header::parse(&pkt[..30]),
            Err(HeaderError::Truncated { need: 44, .. })
        ));
        let mut bad = pkt.clone();
        bad[11] ^= 1;
        assert_eq!(
            Header::parse(&bad),
            Err(HeaderError::BadChecksum {
                header: NAME,
                got: 0xd08c,
                want: 0xd08d
            })
        );
        let mut v6 = pkt.clone();
        v6[0] = 0x65;
        assert!(matches!(
            Header::parse(&v6),
            Err(HeaderError::Unsupported {
                field: "version",
                ..
            })
        ));
        let mut frag = pkt.clone();
        frag[6] = 0x20; // more fragments
        assert!(matches!(
            Header::parse(&frag),
            Err(HeaderError::Unsupported {
                field: "fragment",
                ..
            })
        ));
    }
}
