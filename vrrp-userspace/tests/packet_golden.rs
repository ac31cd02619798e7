//! Golden vectors: frames keepalived 2.2.7 sent (tests/data/packet/, made by its capture.sh,
//! see the README there). Each advert must parse to what its config says and re-emit byte for
//! byte, checksum included; GARP and NA frames must be rebuilt identically.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use vrrpd::packet::vrrp::{Auth, ChecksumMode, IPPROTO_VRRP, PseudoHeader, Repr, Version};
use vrrpd::packet::{MacAddr, arp, ethernet, ipv4, ipv6, ndisc};

const KEEPALIVED_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);

fn frame(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/packet")
        .join(format!("{name}.frame.hex"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let hex: String = text.split_whitespace().collect();
    hex::decode(hex).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    Ipv4Addr::new(a, b, c, d).into()
}

fn v6(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// What each config (tests/data/packet/*.conf) should put on the wire.
fn expected(case: &str) -> Repr {
    match case {
        "v2_pass" => Repr {
            version: Version::V2,
            vrid: 7,
            priority: 200,
            max_advert_int: 1,
            auth: Auth::Pass(*b"vrrpd\0\0\0"),
            addrs: vec![v4(10, 0, 0, 10), v4(10, 0, 0, 11)],
        },
        "v2_pass_long" => Repr {
            version: Version::V2,
            vrid: 8,
            priority: 100,
            max_advert_int: 3,
            // auth_pass longpassword: keepalived keeps the first 8 bytes.
            auth: Auth::Pass(*b"longpass"),
            addrs: vec![v4(10, 0, 0, 20)],
        },
        "v3_ipv4" => Repr {
            version: Version::V3,
            vrid: 51,
            priority: 150,
            max_advert_int: 50,
            auth: Auth::None,
            addrs: vec![v4(10, 0, 0, 30), v4(10, 0, 0, 31), v4(10, 0, 0, 32)],
        },
        "v3_ipv6" => Repr {
            version: Version::V3,
            vrid: 61,
            priority: 120,
            max_advert_int: 100,
            auth: Auth::None,
            addrs: vec![v6("fe80::61"), v6("fd00::61"), v6("fd00::62")],
        },
        other => panic!("no expectation for {other}"),
    }
}

const CASES: [&str; 4] = ["v2_pass", "v2_pass_long", "v3_ipv4", "v3_ipv6"];

/// Splits an advert frame into its pseudo-header and VRRP message, checking what keepalived
/// puts in the IP header (TTL/hop limit 255, multicast destination, TOS/traffic class 0xc0).
fn split_advert(frame: &[u8]) -> (PseudoHeader, Vec<u8>) {
    let (eth, payload) = ethernet::Header::parse(frame).unwrap();
    assert_eq!(eth.src, KEEPALIVED_MAC);
    match eth.ethertype {
        ethernet::ETHERTYPE_IPV4 => {
            let (ip, msg) = ipv4::Header::parse(payload).unwrap();
            assert_eq!((ip.protocol, ip.ttl, ip.tos), (IPPROTO_VRRP, 255, 0xc0));
            assert_eq!(ip.dst, ipv4::VRRP_MULTICAST);
            assert_eq!(eth.dst, MacAddr([0x01, 0x00, 0x5e, 0x00, 0x00, 0x12]));
            // The IPv4 header re-emits identically too.
            let mut hdr = [0u8; ipv4::HEADER_LEN];
            ip.emit(&mut hdr).unwrap();
            assert_eq!(hdr[..], payload[..ipv4::HEADER_LEN]);
            (
                PseudoHeader::V4 {
                    src: ip.src,
                    dst: ip.dst,
                },
                msg.to_vec(),
            )
        }
        ethernet::ETHERTYPE_IPV6 => {
            let (ip, msg) = ipv6::Header::parse(payload).unwrap();
            assert_eq!(
                (ip.next_header, ip.hop_limit, ip.traffic_class),
                (IPPROTO_VRRP, 255, 0xc0)
            );
            assert_eq!(ip.dst, ipv6::VRRP_MULTICAST);
            // keepalived sends from the interface's link-local address (EUI-64 of the MAC).
            assert_eq!(
                ip.src,
                "fe80::ff:fe00:1".parse::<std::net::Ipv6Addr>().unwrap()
            );
            assert_eq!(eth.dst, MacAddr([0x33, 0x33, 0, 0, 0, 0x12]));
            (
                PseudoHeader::V6 {
                    src: ip.src,
                    dst: ip.dst,
                },
                msg.to_vec(),
            )
        }
        other => panic!("ethertype {other:#06x} is not IP"),
    }
}

#[test]
fn keepalived_adverts_parse_and_reemit() {
    for case in CASES {
        for (suffix, priority) in [("", None), ("_prio0", Some(0))] {
            let name = format!("{case}{suffix}");
            let (ph, msg) = split_advert(&frame(&name));
            let repr = Repr::parse(&msg, &ph, ChecksumMode::Rfc5798)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let mut want = expected(case);
            if let Some(p) = priority {
                want.priority = p;
            }
            assert_eq!(repr, want, "{name}");
            assert_eq!(
                repr.to_bytes(&ph, ChecksumMode::Rfc5798).unwrap(),
                msg,
                "{name}: re-emit"
            );
        }
    }
}

#[test]
fn keepalived_v3_ipv4_checksum_includes_pseudo_header() {
    let (ph, msg) = split_advert(&frame("v3_ipv4"));
    assert!(matches!(
        Repr::parse(&msg, &ph, ChecksumMode::V3AsV2),
        Err(vrrpd::packet::vrrp::Error::BadChecksum { .. })
    ));
}

#[test]
fn keepalived_gratuitous_arps_rebuild() {
    for (case, vip) in [
        ("v2_pass", Ipv4Addr::new(10, 0, 0, 10)),
        ("v2_pass_long", Ipv4Addr::new(10, 0, 0, 20)),
        ("v3_ipv4", Ipv4Addr::new(10, 0, 0, 30)),
    ] {
        let f = frame(&format!("{case}_garp"));
        let (eth, repr) = arp::parse_frame(&f).unwrap();
        assert_eq!(eth.dst, MacAddr::BROADCAST);
        assert_eq!(repr, arp::Repr::gratuitous(KEEPALIVED_MAC, vip), "{case}");
        assert_eq!(
            arp::gratuitous_frame(KEEPALIVED_MAC, vip)[..],
            f[..],
            "{case}"
        );
    }
}

#[test]
fn keepalived_neighbour_advert_rebuilds() {
    let f = frame("v3_ipv6_na");
    let (_, ip, repr) = ndisc::parse_frame(&f).unwrap();
    let vip = "fe80::61".parse().unwrap();
    assert_eq!(ip.src, vip, "keepalived sends the NA from the VIP itself");
    assert_eq!(
        repr,
        ndisc::Repr::unsolicited_advert(KEEPALIVED_MAC, vip, false)
    );
    assert_eq!(
        ndisc::unsolicited_advert_frame(KEEPALIVED_MAC, vip, false)[..],
        f[..]
    );
}
