//! Feeds arbitrary bytes to every `vrrpd::packet` parser. Parsers must never panic; whatever
//! `vrrp::Repr::parse` accepts must re-emit and parse back to the same `Repr`.

#![no_main]

use std::net::{Ipv4Addr, Ipv6Addr};

use vrrpd::packet::vrrp::{ChecksumMode, Packet, PseudoHeader, Repr};
use vrrpd::packet::{arp, ethernet, ipv4, ipv6, ndisc};

const MODES: [ChecksumMode; 3] = [
    ChecksumMode::Rfc5798,
    ChecksumMode::V3AsV2,
    ChecksumMode::OldUnicast,
];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let phs = [
        PseudoHeader::V4 {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(224, 0, 0, 18),
        },
        PseudoHeader::V6 {
            src: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0xff, 0xfe00, 1),
            dst: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12),
        },
    ];
    for ph in &phs {
        if let Ok(p) = Packet::new_checked(data, ph.family()) {
            let _ = (
                p.version(),
                p.msg_type(),
                p.vrid(),
                p.priority(),
                p.max_advert_int(),
            );
            let _ = (
                p.auth_type(),
                p.advert_int_v2(),
                p.auth_data(),
                p.message_len(),
            );
            for i in 0..=usize::from(p.addr_count()) {
                let _ = p.addr(i);
            }
        }
        for mode in MODES {
            match Repr::parse(data, ph, mode) {
                Ok(repr) => {
                    let _ = repr.to_string();
                    let bytes = repr.to_bytes(ph, mode).expect("a parsed Repr must emit");
                    assert_eq!(Repr::parse(&bytes, ph, mode), Ok(repr));
                }
                Err(e) => {
                    let _ = (e.to_string(), e.reason());
                }
            }
        }
    }
    let _ = ethernet::Header::parse(data);
    let _ = ipv4::Header::parse(data);
    let _ = ipv6::Header::parse(data);
    let _ = arp::parse_frame(data);
    let _ = ndisc::parse_frame(data);
});
