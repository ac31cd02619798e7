//! Unit tests for `packet::vrrp`, smoltcp style. The byte arrays are adverts keepalived 2.2.7
//! sent (tests/data/packet/, see its README).

use super::*;
use proptest::prelude::*;

const V4_SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

fn ph4() -> PseudoHeader {
    PseudoHeader::V4 {
        src: V4_SRC,
        dst: ipv4::VRRP_MULTICAST,
    }
}

fn ph6() -> PseudoHeader {
    PseudoHeader::V6 {
        src: "fe80::ff:fe00:1".parse().unwrap(),
        dst: "ff02::12".parse().unwrap(),
    }
}

// v2_pass.conf: vrid 7, priority 200, advert_int 1, PASS "vrrpd", VIPs 10.0.0.10, 10.0.0.11.
static V2_PASS: [u8; 24] = [
    0x21, 0x07, 0xc8, 0x02, 0x01, 0x01, 0xb4, 0xfc, 0x0a, 0x00, 0x00, 0x0a, 0x0a, 0x00, 0x00, 0x0b,
    0x76, 0x72, 0x72, 0x70, 0x64, 0x00, 0x00, 0x00,
];

// v3_ipv4.conf: vrid 51, priority 150, advert_int 0.5 (50 cs), VIPs 10.0.0.30-32.
static V3_IPV4: [u8; 20] = [
    0x31, 0x33, 0x96, 0x03, 0x00, 0x32, 0x2f, 0xa2, 0x0a, 0x00, 0x00, 0x1e, 0x0a, 0x00, 0x00, 0x1f,
    0x0a, 0x00, 0x00, 0x20,
];

// v3_ipv6.conf: vrid 61, priority 120, advert_int 1 (100 cs), VIPs fe80::61, fd00::61, fd00::62.
static V3_IPV6: [u8; 56] = [
    0x31, 0x3d, 0x78, 0x03, 0x00, 0x64, 0x5f, 0x75, // header
    0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x61, // fe80::61
    0xfd, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x61, // fd00::61
    0xfd, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x62, // fd00::62
];

fn v2_repr() -> Repr {
    Repr {
        version: Version::V2,
        vrid: 7,
        priority: 200,
        max_advert_int: 1,
        auth: Auth::pass(b"vrrpd"),
        addrs: vec![
            Ipv4Addr::new(10, 0, 0, 10).into(),
            Ipv4Addr::new(10, 0, 0, 11).into(),
        ],
    }
}

fn v3_ipv4_repr() -> Repr {
    Repr {
        version: Version::V3,
        vrid: 51,
        priority: 150,
        max_advert_int: 50,
        auth: Auth::None,
        addrs: (30..=32)
            .map(|h| Ipv4Addr::new(10, 0, 0, h).into())
            .collect(),
    }
}

fn v3_ipv6_repr() -> Repr {
    Repr {
        version: Version::V3,
        vrid: 61,
        priority: 120,
        max_advert_int: 100,
        auth: Auth::None,
        addrs: ["fe80::61", "fd00::61", "fd00::62"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect(),
    }
}

#[test]
fn deconstruct_v2() {
    let p = Packet::new_checked(&V2_PASS[..], Family::Ipv4).unwrap();
    assert_eq!(p.version(), 2);
    assert_eq!(p.msg_type(), 1);
    assert_eq!(p.vrid(), 7);
    assert_eq!(p.priority(), 200);
    assert_eq!(p.addr_count(), 2);
    assert_eq!(p.auth_type(), 1);
    assert_eq!(p.advert_int_v2(), 1);
    assert_eq!(p.checksum(), 0xb4fc);
    assert_eq!(p.addr(0), Some(Ipv4Addr::new(10, 0, 0, 10).into()));
    assert_eq!(p.addr(1), Some(Ipv4Addr::new(10, 0, 0, 11).into()));
    assert_eq!(p.addr(2), None);
    assert_eq!(p.auth_data(), Some(*b"vrrpd\0\0\0"));
    assert_eq!(p.message_len(), 24);
    assert!(p.verify_checksum(&ph4(), ChecksumMode::Rfc5798));
}

#[test]
fn deconstruct_v3_ipv4() {
    let p = Packet::new_checked(&V3_IPV4[..], Family::Ipv4).unwrap();
    assert_eq!(
        (p.version(), p.msg_type(), p.vrid(), p.priority()),
        (3, 1, 51, 150)
    );
    assert_eq!(p.addr_count(), 3);
    assert_eq!(p.max_advert_int(), 50);
    assert_eq!(p.checksum(), 0x2fa2);
    assert_eq!(p.addr(2), Some(Ipv4Addr::new(10, 0, 0, 32).into()));
    assert_eq!(p.auth_data(), None);
    assert_eq!(p.message_len(), 20);
    assert!(p.verify_checksum(&ph4(), ChecksumMode::Rfc5798));
    // keepalived's default includes the pseudo-header, so the v2-style sum differs.
    assert!(!p.verify_checksum(&ph4(), ChecksumMode::V3AsV2));
}

#[test]
fn deconstruct_v3_ipv6() {
    let p = Packet::new_checked(&V3_IPV6[..], Family::Ipv6).unwrap();
    assert_eq!(
        (p.version(), p.msg_type(), p.vrid(), p.priority()),
        (3, 1, 61, 120)
    );
    assert_eq!(p.max_advert_int(), 100);
    assert_eq!(p.addr(0), Some("fe80::61".parse().unwrap()));
    assert_eq!(p.addr(2), Some("fd00::62".parse().unwrap()));
    assert_eq!(p.message_len(), 56);
    assert!(p.verify_checksum(&ph6(), ChecksumMode::Rfc5798));
    // Over IPv6 the pseudo-header is always used, whatever the IPv4 mode says.
    assert!(p.verify_checksum(&ph6(), ChecksumMode::V3AsV2));
}

#[test]
fn construct_v2() {
    let mut buf = [0xa5u8; 24];
    let mut p = Packet::new_unchecked(&mut buf[..], Family::Ipv4);
    p.set_version_type(2, 1);
    p.set_vrid(7);
    p.set_priority(200);
    p.set_addr_count(2);
    p.set_auth_type(1);
    p.set_advert_int_v2(1);
    p.set_addr(0, &Ipv4Addr::new(10, 0, 0, 10).into());
    p.set_addr(1, &Ipv4Addr::new(10, 0, 0, 11).into());
    p.set_auth_data(b"vrrpd\0\0\0");
    p.fill_checksum(&ph4(), ChecksumMode::Rfc5798);
    assert_eq!(buf, V2_PASS);
}

#[test]
fn construct_v3_ipv6() {
    let mut buf = [0xa5u8; 56];
    let mut p = Packet::new_unchecked(&mut buf[..], Family::Ipv6);
    p.set_version_type(3, 1);
    p.set_vrid(61);
    p.set_priority(120);
    p.set_addr_count(3);
    p.set_max_advert_int(100);
    for (i, a) in v3_ipv6_repr().addrs.iter().enumerate() {
        p.set_addr(i, a);
    }
    p.fill_checksum(&ph6(), ChecksumMode::Rfc5798);
    assert_eq!(buf, V3_IPV6);
}

#[test]
fn parse_golden() {
    assert_eq!(
        Repr::parse(&V2_PASS, &ph4(), ChecksumMode::Rfc5798),
        Ok(v2_repr())
    );
    assert_eq!(
        Repr::parse(&V3_IPV4, &ph4(), ChecksumMode::Rfc5798),
        Ok(v3_ipv4_repr())
    );
    assert_eq!(
        Repr::parse(&V3_IPV6, &ph6(), ChecksumMode::Rfc5798),
        Ok(v3_ipv6_repr())
    );
    // VRRPv2 has no pseudo-header: any mode, any addresses.
    let other = PseudoHeader::V4 {
        src: Ipv4Addr::new(10, 9, 9, 9),
        dst: Ipv4Addr::new(10, 0, 0, 2),
    };
    assert_eq!(
        Repr::parse(&V2_PASS, &other, ChecksumMode::V3AsV2),
        Ok(v2_repr())
    );
}

#[test]
fn emit_golden() {
    assert_eq!(
        v2_repr().to_bytes(&ph4(), ChecksumMode::Rfc5798).unwrap(),
        V2_PASS
    );
    assert_eq!(
        v3_ipv4_repr()
            .to_bytes(&ph4(), ChecksumMode::Rfc5798)
            .unwrap(),
        V3_IPV4
    );
    assert_eq!(
        v3_ipv6_repr()
            .to_bytes(&ph6(), ChecksumMode::Rfc5798)
            .unwrap(),
        V3_IPV6
    );
}

#[test]
fn v3_checksum_as_v2() {
    let bytes = v3_ipv4_repr()
        .to_bytes(&ph4(), ChecksumMode::V3AsV2)
        .unwrap();
    assert_eq!(bytes[..6], V3_IPV4[..6]);
    assert_eq!(bytes[8..], V3_IPV4[8..]);
    // Without a pseudo-header the sum is that of the message alone.
    assert_eq!(checksum::sum(&bytes), 0xffff);
    assert_eq!(
        Repr::parse(&bytes, &ph4(), ChecksumMode::V3AsV2),
        Ok(v3_ipv4_repr())
    );
    assert!(matches!(
        Repr::parse(&bytes, &ph4(), ChecksumMode::Rfc5798),
        Err(Error::BadChecksum { .. })
    ));
    assert!(matches!(
        Repr::parse(&V3_IPV4, &ph4(), ChecksumMode::V3AsV2),
        Err(Error::BadChecksum { got: 0x2fa2, .. })
    ));
}

#[test]
fn old_unicast_checksum_uses_multicast_destination() {
    let unicast = PseudoHeader::V4 {
        src: V4_SRC,
        dst: Ipv4Addr::new(10, 0, 0, 2),
    };
    let old = v3_ipv4_repr()
        .to_bytes(&unicast, ChecksumMode::OldUnicast)
        .unwrap();
    assert_eq!(old, V3_IPV4);
    assert!(matches!(
        Repr::parse(&old, &unicast, ChecksumMode::Rfc5798),
        Err(Error::BadChecksum { .. })
    ));
    assert_eq!(
        Repr::parse(&old, &unicast, ChecksumMode::OldUnicast),
        Ok(v3_ipv4_repr())
    );
}

#[test]
fn trailing_bytes_are_ignored() {
    let mut padded = V3_IPV4.to_vec();
    padded.extend_from_slice(&[0xee; 6]);
    assert_eq!(
        Repr::parse(&padded, &ph4(), ChecksumMode::Rfc5798),
        Ok(v3_ipv4_repr())
    );
    assert_eq!(
        Packet::new_checked(&padded[..], Family::Ipv4)
            .unwrap()
            .message_len(),
        20
    );
}

#[test]
fn v3_reserved_bits_are_ignored() {
    let mut bytes = V3_IPV4;
    bytes[4] |= 0xf0;
    // Fix the checksum for the changed word so only the reserved bits differ.
    let mut p = Packet::new_unchecked(&mut bytes[..], Family::Ipv4);
    p.fill_checksum(&ph4(), ChecksumMode::Rfc5798);
    assert_eq!(
        Repr::parse(&bytes, &ph4(), ChecksumMode::Rfc5798),
        Ok(v3_ipv4_repr())
    );
}

#[test]
fn zero_addresses() {
    let repr = Repr {
        addrs: vec![],
        ..v3_ipv4_repr()
    };
    let bytes = repr.to_bytes(&ph6(), ChecksumMode::Rfc5798).unwrap();
    assert_eq!(bytes.len(), HEADER_LEN);
    assert_eq!(Repr::parse(&bytes, &ph6(), ChecksumMode::Rfc5798), Ok(repr));
}

#[test]
fn auth_pass_truncates_and_pads() {
    assert_eq!(Auth::pass(b"longpassword"), Auth::Pass(*b"longpass"));
    assert_eq!(Auth::pass(b""), Auth::Pass([0; 8]));
    assert_eq!(Auth::pass(b"ab").auth_type(), 1);
}

#[test]
fn v2_auth_types() {
    for (auth, t) in [(Auth::None, 0u8), (Auth::Ah, 2)] {
        let repr = Repr { auth, ..v2_repr() };
        let bytes = repr.to_bytes(&ph4(), ChecksumMode::Rfc5798).unwrap();
        assert_eq!(bytes[4], t);
        assert_eq!(bytes[16..], [0; 8]);
        assert_eq!(Repr::parse(&bytes, &ph4(), ChecksumMode::Rfc5798), Ok(repr));
    }
}

/// Breaks `bytes` with `f`, refreshes the checksum (so only the intended field is wrong) and
/// parses the result.
fn parse_broken(
    bytes: &[u8],
    ph: PseudoHeader,
    f: impl FnOnce(&mut Vec<u8>),
) -> Result<Repr, Error> {
    let mut b = bytes.to_vec();
    f(&mut b);
    if b.len() >= HEADER_LEN {
        let mut p = Packet::new_unchecked(&mut b[..], ph.family());
        if p.check_len().is_ok() {
            p.fill_checksum(&ph, ChecksumMode::Rfc5798);
        }
    }
    Repr::parse(&b, &ph, ChecksumMode::Rfc5798)
}

#[test]
fn reject_truncated() {
    assert_eq!(
        Repr::parse(&V2_PASS[..7], &ph4(), ChecksumMode::Rfc5798),
        Err(Error::Truncated { len: 7, need: 8 })
    );
    assert!(matches!(
        Packet::new_checked(&[][..], Family::Ipv4),
        Err(Error::Truncated { len: 0, .. })
    ));
}

#[test]
fn reject_bad_version() {
    assert_eq!(
        parse_broken(&V3_IPV4, ph4(), |b| b[0] = 0x41),
        Err(Error::BadVersion(4))
    );
    assert_eq!(
        parse_broken(&V3_IPV4, ph4(), |b| b[0] = 0x11),
        Err(Error::BadVersion(1))
    );
}

#[test]
fn reject_v2_over_ipv6() {
    assert_eq!(
        parse_broken(&V3_IPV6, ph6(), |b| b[0] = 0x21),
        Err(Error::V2OverIpv6)
    );
}

#[test]
fn reject_addr_count_mismatch() {
    // The count says 4, the message holds 3.
    assert_eq!(
        parse_broken(&V3_IPV4, ph4(), |b| b[3] = 4),
        Err(Error::AddrCountMismatch { count: 4, len: 20 })
    );
    // A v2 advert without its auth data.
    assert_eq!(
        Repr::parse(&V2_PASS[..16], &ph4(), ChecksumMode::Rfc5798),
        Err(Error::AddrCountMismatch { count: 2, len: 16 })
    );
    // IPv6 addresses are 16 bytes: the IPv4-sized message is too short for them.
    assert_eq!(
        Repr::parse(&V3_IPV4, &ph6(), ChecksumMode::Rfc5798),
        Err(Error::AddrCountMismatch { count: 3, len: 20 })
    );
}

#[test]
fn reject_bad_type() {
    assert_eq!(
        parse_broken(&V3_IPV4, ph4(), |b| b[0] = 0x32),
        Err(Error::BadType(2))
    );
}

#[test]
fn reject_bad_auth_type() {
    assert_eq!(
        parse_broken(&V2_PASS, ph4(), |b| b[4] = 3),
        Err(Error::BadAuthType(3))
    );
}

#[test]
fn reject_zero_interval() {
    assert_eq!(
        parse_broken(&V2_PASS, ph4(), |b| b[5] = 0),
        Err(Error::ZeroInterval)
    );
    assert_eq!(
        parse_broken(&V3_IPV4, ph4(), |b| b[4..6].copy_from_slice(&[0xf0, 0])),
        Err(Error::ZeroInterval)
    );
}

#[test]
fn reject_bad_checksum() {
    let mut b = V3_IPV6;
    b[2] = 121; // priority changed after the checksum was computed
    assert!(matches!(
        Repr::parse(&b, &ph6(), ChecksumMode::Rfc5798),
        Err(Error::BadChecksum { got: 0x5f75, want }) if want != 0x5f75
    ));
    // A different source address changes the pseudo-header.
    let moved = PseudoHeader::V6 {
        src: "fe80::2".parse().unwrap(),
        dst: "ff02::12".parse().unwrap(),
    };
    assert!(matches!(
        Repr::parse(&V3_IPV6, &moved, ChecksumMode::Rfc5798),
        Err(Error::BadChecksum { .. })
    ));
}

#[test]
fn reasons() {
    assert_eq!(
        Error::Truncated { len: 0, need: 8 }.reason(),
        "packet_len_err"
    );
    assert_eq!(
        Error::AddrCountMismatch { count: 1, len: 8 }.reason(),
        "packet_len_err"
    );
    assert_eq!(Error::BadVersion(1).reason(), "version_err");
    assert_eq!(Error::V2OverIpv6.reason(), "version_err");
    assert_eq!(Error::BadType(2).reason(), "invalid_type_rcvd");
    assert_eq!(Error::BadAuthType(3).reason(), "invalid_authtype");
    assert_eq!(Error::ZeroInterval.reason(), "advert_interval_err");
    assert_eq!(
        Error::BadChecksum { got: 1, want: 2 }.reason(),
        "checksum_err"
    );
    assert_eq!(
        Error::BadChecksum {
            got: 1,
            want: 0xabcd
        }
        .to_string(),
        "VRRP checksum is 0x0001, expected 0xabcd"
    );
}

#[test]
fn emit_errors() {
    let mut buf = [0u8; 19];
    assert_eq!(
        v3_ipv4_repr().emit(&mut buf, &ph4(), ChecksumMode::Rfc5798),
        Err(EmitError::BufferLen { len: 19, need: 20 })
    );
    assert_eq!(buf, [0; 19], "nothing written on error");
    let many = Repr {
        addrs: vec![V4_SRC.into(); 256],
        ..v3_ipv4_repr()
    };
    assert_eq!(
        many.to_bytes(&ph4(), ChecksumMode::Rfc5798),
        Err(EmitError::TooManyAddrs(256))
    );
    let mut mixed = v3_ipv4_repr();
    mixed.addrs.push("fd00::1".parse().unwrap());
    assert_eq!(
        mixed.to_bytes(&ph4(), ChecksumMode::Rfc5798),
        Err(EmitError::MixedFamily {
            index: 3,
            family: Family::Ipv4
        })
    );
    assert_eq!(
        v3_ipv4_repr().to_bytes(&ph6(), ChecksumMode::Rfc5798),
        Err(EmitError::MixedFamily {
            index: 0,
            family: Family::Ipv6
        })
    );
    let v2_v6 = Repr {
        addrs: vec![],
        ..v2_repr()
    };
    assert_eq!(
        v2_v6.to_bytes(&ph6(), ChecksumMode::Rfc5798),
        Err(EmitError::V2OverIpv6)
    );
    let slow = Repr {
        max_advert_int: 256,
        ..v2_repr()
    };
    assert_eq!(
        slow.to_bytes(&ph4(), ChecksumMode::Rfc5798),
        Err(EmitError::IntervalRange {
            version: Version::V2,
            value: 256
        })
    );
    let slow3 = Repr {
        max_advert_int: 4096,
        ..v3_ipv4_repr()
    };
    assert_eq!(
        slow3.to_bytes(&ph4(), ChecksumMode::Rfc5798),
        Err(EmitError::IntervalRange {
            version: Version::V3,
            value: 4096
        })
    );
    let zero = Repr {
        max_advert_int: 0,
        ..v3_ipv4_repr()
    };
    assert_eq!(
        zero.to_bytes(&ph4(), ChecksumMode::Rfc5798),
        Err(EmitError::ZeroInterval)
    );
    let authed = Repr {
        auth: Auth::pass(b"x"),
        ..v3_ipv4_repr()
    };
    assert_eq!(
        authed.to_bytes(&ph4(), ChecksumMode::Rfc5798),
        Err(EmitError::AuthWithV3(Auth::pass(b"x")))
    );
}

#[test]
fn pseudo_header_new() {
    assert_eq!(
        PseudoHeader::new(V4_SRC.into(), ipv4::VRRP_MULTICAST.into()),
        Some(ph4())
    );
    assert_eq!(
        PseudoHeader::new(V4_SRC.into(), "ff02::12".parse().unwrap()),
        None
    );
    assert_eq!(ph6().family(), Family::Ipv6);
}

#[test]
fn display() {
    assert_eq!(
        v3_ipv4_repr().to_string(),
        "VRRPv3 vrid=51 prio=150 int=50cs auth=None addrs=[10.0.0.30, 10.0.0.31, 10.0.0.32]"
    );
}

fn arb_repr() -> impl Strategy<Value = (Repr, PseudoHeader, ChecksumMode)> {
    let mode = prop_oneof![
        Just(ChecksumMode::Rfc5798),
        Just(ChecksumMode::V3AsV2),
        Just(ChecksumMode::OldUnicast)
    ];
    let v4 = (
        any::<[u8; 4]>(),
        any::<[u8; 4]>(),
        prop::collection::vec(any::<[u8; 4]>(), 0..20),
        prop_oneof![
            (
                1u16..=255,
                prop_oneof![
                    Just(Auth::None),
                    Just(Auth::Ah),
                    any::<[u8; 8]>().prop_map(Auth::Pass)
                ]
            )
                .prop_map(|(i, a)| (Version::V2, i, a)),
            (1u16..=4095).prop_map(|i| (Version::V3, i, Auth::None)),
        ],
    )
        .prop_map(|(s, d, addrs, (version, int, auth))| {
            let ph = PseudoHeader::V4 {
                src: s.into(),
                dst: d.into(),
            };
            let addrs = addrs.into_iter().map(IpAddr::from).collect();
            (version, int, auth, addrs, ph)
        });
    let v6 = (
        any::<[u8; 16]>(),
        any::<[u8; 16]>(),
        prop::collection::vec(any::<[u8; 16]>(), 0..20),
        1u16..=4095,
    )
        .prop_map(|(s, d, addrs, int)| {
            let ph = PseudoHeader::V6 {
                src: s.into(),
                dst: d.into(),
            };
            let addrs = addrs.into_iter().map(IpAddr::from).collect();
            (Version::V3, int, Auth::None, addrs, ph)
        });
    (prop_oneof![v4, v6], any::<u8>(), any::<u8>(), mode).prop_map(
        |((version, max_advert_int, auth, addrs, ph), vrid, priority, mode)| {
            let repr = Repr {
                version,
                vrid,
                priority,
                max_advert_int,
                auth,
                addrs,
            };
            (repr, ph, mode)
        },
    )
}

fn arb_ph() -> impl Strategy<Value = PseudoHeader> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<[u8; 4]>()).prop_map(|(s, d)| PseudoHeader::V4 {
            src: s.into(),
            dst: d.into()
        }),
        (any::<[u8; 16]>(), any::<[u8; 16]>()).prop_map(|(s, d)| PseudoHeader::V6 {
            src: s.into(),
            dst: d.into()
        }),
    ]
}

proptest! {
    #[test]
    fn emit_parse_roundtrip((repr, ph, mode) in arb_repr()) {
        let bytes = repr.to_bytes(&ph, mode).unwrap();
        prop_assert_eq!(bytes.len(), repr.buffer_len());
        prop_assert_eq!(Repr::parse(&bytes, &ph, mode), Ok(repr.clone()));
        // Re-emitting what was parsed gives the same bytes.
        let again = Repr::parse(&bytes, &ph, mode).unwrap().to_bytes(&ph, mode).unwrap();
        prop_assert_eq!(again, bytes);
    }

    #[test]
    fn parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600), ph in arb_ph()) {
        for mode in [ChecksumMode::Rfc5798, ChecksumMode::V3AsV2, ChecksumMode::OldUnicast] {
            let _ = Repr::parse(&bytes, &ph, mode);
        }
        // The check_len promise: once it passes, every accessor is safe.
        if let Ok(p) = Packet::new_checked(&bytes[..], ph.family()) {
            let _ = (p.version(), p.msg_type(), p.vrid(), p.priority(), p.max_advert_int());
            let _ = (p.auth_type(), p.advert_int_v2(), p.checksum(), p.auth_data());
            for i in 0..=usize::from(p.addr_count()) {
                let _ = p.addr(i);
            }
            let _ = p.verify_checksum(&ph, ChecksumMode::Rfc5798);
        }
    }

    #[test]
    fn any_single_bit_flip_is_caught(bit in 0usize..(24 * 8)) {
        // Flipping any bit of the golden v2 advert either fails a check or changes the Repr;
        // the checksum alone catches every single-bit error.
        let mut b = V2_PASS;
        b[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(Repr::parse(&b, &ph4(), ChecksumMode::Rfc5798).is_err());
    }
}
