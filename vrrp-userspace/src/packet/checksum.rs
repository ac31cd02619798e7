//! The Internet checksum (RFC 1071) and the IPv4/IPv6 pseudo-headers (RFC 768, RFC 8200 §8.1)
//! that VRRPv3 and ICMPv6 fold into it.
//!
//! Sums are kept folded to 16 bits and not complemented until the end, so partial sums over
//! separate pieces (pseudo-header, message) combine with [`combine`].

use std::net::{Ipv4Addr, Ipv6Addr};

/// The one's-complement sum of `data` as big-endian 16-bit words, folded to 16 bits (not
/// complemented). An odd trailing byte is padded with a zero byte.
pub fn sum(data: &[u8]) -> u16 {
    let mut acc: u64 = 0;
    let mut words = data.chunks_exact(2);
    for w in &mut words {
        acc += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = words.remainder() {
        acc += u64::from(u16::from_be_bytes([*last, 0]));
    }
    fold(acc)
}

/// Adds partial sums from [`sum`] / the pseudo-header functions.
pub fn combine(sums: &[u16]) -> u16 {
    fold(sums.iter().map(|&s| u64::from(s)).sum())
}

/// The value to store in a checksum field: the complement of the combined sums.
pub fn finish(sums: &[u16]) -> u16 {
    !combine(sums)
}

/// Partial sum of the IPv4 pseudo-header: source, destination, zero, protocol, length.
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: u16) -> u16 {
    let mut ph = [0u8; 12];
    ph[0..4].copy_from_slice(&src.octets());
    ph[4..8].copy_from_slice(&dst.octets());
    ph[9] = protocol;
    ph[10..12].copy_from_slice(&length.to_be_bytes());
    sum(&ph)
}

/// Partial sum of the IPv6 pseudo-header: source, destination, 32-bit upper-layer length, three
/// zero bytes, next header.
pub fn pseudo_header_v6(src: &Ipv6Addr, dst: &Ipv6Addr, next_header: u8, length: u32) -> u16 {
    let mut ph = [0u8; 40];
    ph[0..16].copy_from_slice(&src.octets());
    ph[16..32].copy_from_slice(&dst.octets());
    ph[32..36].copy_from_slice(&length.to_be_bytes());
    ph[39] = next_header;
    sum(&ph)
}

fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 1071 §3 worked example: the sum of these words is ddf2.
    #[test]
    fn rfc1071_example() {
        assert_eq!(
            sum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0xddf2
        );
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(sum(&[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
    }

    #[test]
    fn split_sums_combine_to_whole() {
        let data: Vec<u8> = (0u8..=200).collect();
        assert_eq!(combine(&[sum(&data[..100]), sum(&data[100..])]), sum(&data));
    }

    #[test]
    fn filled_checksum_verifies_to_zero() {
        // A buffer whose checksum field holds finish(...) sums to 0xffff (complement 0).
        let mut data = [
            0x45u8, 0x00, 0x00, 0x1c, 0xab, 0xcd, 0x00, 0x00, 0x40, 0x11, 0, 0,
        ];
        let c = finish(&[sum(&data)]);
        data[10..12].copy_from_slice(&c.to_be_bytes());
        assert_eq!(sum(&data), 0xffff);
    }

    #[test]
    fn pseudo_headers_cover_every_field() {
        let a = Ipv4Addr::new(10, 0, 0, 1);
        let b = Ipv4Addr::new(224, 0, 0, 18);
        let base = pseudo_header_v4(a, b, 112, 20);
        assert_ne!(base, pseudo_header_v4(b, a, 112, 21));
        assert_ne!(base, pseudo_header_v4(a, b, 113, 20));
        let s6: Ipv6Addr = "fe80::1".parse().unwrap();
        let d6: Ipv6Addr = "ff02::12".parse().unwrap();
        assert_eq!(
            pseudo_header_v6(&s6, &d6, 112, 40),
            combine(&[sum(&s6.octets()), sum(&d6.octets()), 40, 112])
        );
    }
}
