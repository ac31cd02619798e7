//! Ethernet II framing (with at most one 802.1Q tag) around ARP, IPv4 and IPv6.

use super::{HeaderError, MacAddr};

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_ARP: u16 = 0x0806;
pub const ETHERTYPE_VLAN: u16 = 0x8100;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;

mod field {
    use core::ops::Range;
    pub const DST: Range<usize> = 0..6;
    pub const SRC: Range<usize> = 6..12;
    pub const ETHERTYPE: Range<usize> = 12..14;
    /// With an 802.1Q tag, ETHERTYPE holds 0x8100 and these follow it.
    pub const VLAN_TCI: Range<usize> = 14..16;
    pub const INNER_ETHERTYPE: Range<usize> = 16..18;
}

/// Header length without a VLAN tag.
pub const HEADER_LEN: usize = field::ETHERTYPE.end;
/// Header length with one 802.1Q tag.
pub const VLAN_HEADER_LEN: usize = field::INNER_ETHERTYPE.end;

const NAME: &str = "Ethernet";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub dst: MacAddr,
    pub src: MacAddr,
    /// The 12-bit VLAN id of an 802.1Q tag (priority and DEI are dropped on parse, zero on emit).
    pub vlan: Option<u16>,
    /// The payload's ethertype (the inner one when tagged).
    pub ethertype: u16,
}

impl Header {
    pub const fn buffer_len(&self) -> usize {
        match self.vlan {
            Some(_) => VLAN_HEADER_LEN,
            None => HEADER_LEN,
        }
    }

    /// Splits a frame into its header and payload. Trailing padding stays in the payload; the
    /// IP layer's length field tells where the packet ends.
    pub fn parse(frame: &[u8]) -> Result<(Header, &[u8]), HeaderError> {
        let need = |need| HeaderError::Truncated {
            header: NAME,
            len: frame.len(),
            need,
        };
        if frame.len() < HEADER_LEN {
            return Err(need(HEADER_LEN));
        }
        let mac = |r: core::ops::Range<usize>| {
            let mut m = [0; 6];
            m.copy_from_slice(&frame[r]);
            MacAddr(m)
        };
        let be16 =
            |r: core::ops::Range<usize>| u16::from_be_bytes([frame[r.start], frame[r.start + 1]]);
        let outer = be16(field::ETHERTYPE);
        let (vlan, ethertype, len) = if outer == ETHERTYPE_VLAN {
            if frame.len() < VLAN_HEADER_LEN {
                return Err(need(VLAN_HEADER_LEN));
            }
            (
                Some(be16(field::VLAN_TCI) & 0x0fff),
                be16(field::INNER_ETHERTYPE),
                VLAN_HEADER_LEN,
            )
        } else {
            (None, outer, HEADER_LEN)
        };
        let header = Header {
            dst: mac(field::DST),
            src: mac(field::SRC),
            vlan,
            ethertype,
        };
        Ok((header, &frame[len..]))
    }

    /// Writes the header into the first `buffer_len()` bytes of `buf`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), HeaderError> {
        if buf.len() < self.buffer_len() {
            return Err(HeaderError::Truncated {
                header: NAME,
                len: buf.len(),
                need: self.buffer_len(),
            });
        }
        buf[field::DST].copy_from_slice(&self.dst.0);
        buf[field::SRC].copy_from_slice(&self.src.0);
        match self.vlan {
            Some(id) => {
                buf[field::ETHERTYPE].copy_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
                buf[field::VLAN_TCI].copy_from_slice(&(id & 0x0fff).to_be_bytes());
                buf[field::INNER_ETHERTYPE].copy_from_slice(&self.ethertype.to_be_bytes());
            }
            None => buf[field::ETHERTYPE].copy_from_slice(&self.ethertype.to_be_bytes()),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untagged_roundtrip() {
        let h = Header {
            dst: MacAddr::BROADCAST,
            src: MacAddr([2, 0, 0, 0, 0, 1]),
            vlan: None,
            ethertype: ETHERTYPE_ARP,
        };
        let mut buf = [0xa5u8; 16];
        h.emit(&mut buf).unwrap();
        assert_eq!(
            &buf[..14],
            &[
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06
            ]
        );
        let (parsed, payload) = Header::parse(&buf).unwrap();
        assert_eq!(parsed, h);
        assert_eq!(payload, &[0xa5, 0xa5]);
    }

    #[test]
    fn tagged_roundtrip() {
        let h = Header {
            dst: MacAddr([0x01, 0x00, 0x5e, 0, 0, 0x12]),
            src: MacAddr([2, 0, 0, 0, 0, 1]),
            vlan: Some(42),
            ethertype: ETHERTYPE_IPV4,
        };
        let mut buf = [0xa5u8; VLAN_HEADER_LEN];
        h.emit(&mut buf).unwrap();
        assert_eq!(&buf[12..18], &[0x81, 0x00, 0x00, 42, 0x08, 0x00]);
        assert_eq!(Header::parse(&buf).unwrap(), (h, &[][..]));
    }

    #[test]
    fn truncated() {
        assert!(matches!(
            Header::parse(&[0; 13]),
            Err(HeaderError::Truncated { need: 14, .. })
        ));
        let mut tagged = [0u8; 17];
        tagged[12] = 0x81;
        assert!(matches!(
            Header::parse(&tagged),
            Err(HeaderError::Truncated { need: 18, .. })
        ));
    }
}
