//! Adverts between the wire and the engine: an XDP [`AdvertEvent`] becomes an engine [`Input`]
//! (decoded and verified with the codec), and an engine [`AdvertTx`] becomes the VRRP bytes for one
//! destination, and for a multicast one the whole Ethernet frame. Pure functions: the simulator in
//! `tests/sim` puts the same code between engines.

use std::net::IpAddr;

use vrrp_common::{AF_INET, AF_INET6, AdvertEvent, IPPROTO_VRRP, VRRP_TTL};

use crate::engine::{AdvertRx, AdvertTx, AuthField, Input, RxErrorReason};
use crate::packet::vrrp::{self, Auth, ChecksumMode, PseudoHeader, Repr, Version};
use crate::packet::{Family, MacAddr, ethernet, ipv4, ipv6};
use crate::time::Timestamp;

/// How the instance that owns a (family, VRID) wants its adverts checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RxPolicy {
    pub checksum: ChecksumMode,
    /// Unicast instances do not require TTL 255 (keepalived-behaviour.md §2.8 step 3).
    pub unicast: bool,
}

/// The family and addresses of an XDP event, or `None` for a family the program never reports.
pub fn event_addrs(ev: &AdvertEvent) -> Option<(Family, IpAddr, IpAddr)> {
    let family = match ev.family {
        AF_INET => Family::Ipv4,
        AF_INET6 => Family::Ipv6,
        _ => return None,
    };
    Some((family, ev.source(), ev.destination()))
}

/// Decodes one XDP event for `interface`, received at `recv_time` (a replayed repeat's, not the
/// record's own). `policy` looks up the instance of (family, VRID);
/// `None` there means no instance wants it (XDP filters those, but a reload can race).
pub fn decode_event(
    interface: &str,
    ev: &AdvertEvent,
    recv_time: Timestamp,
    policy: impl Fn(Family, u8) -> Option<RxPolicy>,
) -> Option<Input> {
    let (family, src, dst) = event_addrs(ev)?;
    let policy = policy(family, ev.vrid)?;
    let error = |reason| Input::RxError {
        interface: interface.to_string(),
        family,
        vrid: Some(ev.vrid),
        reason,
    };
    if !policy.unicast && ev.ttl != VRRP_TTL {
        return Some(error(RxErrorReason::IpTtl));
    }
    let bytes = ev.vrrp_bytes();
    if bytes.len() < usize::from(ev.payload_len) {
        // Longer than any advert a 1500-byte MTU carries: we cannot verify the checksum.
        return Some(error(RxErrorReason::PacketLength));
    }
    let ph = PseudoHeader::new(src, dst)?;
    match Repr::parse(bytes, &ph, policy.checksum) {
        Ok(repr) => Some(Input::Advert {
            interface: interface.to_string(),
            family,
            rx: advert_rx(&repr, src, dst, ev.ttl, recv_time),
        }),
        Err(e) => Some(error(rx_error_reason(&e))),
    }
}

/// The engine's view of a decoded advert.
pub fn advert_rx(repr: &Repr, src: IpAddr, dst: IpAddr, ttl: u8, recv_time: Timestamp) -> AdvertRx {
    let (max_advert_int, auth) = match repr.version {
        Version::V2 => (
            repr.max_advert_int.saturating_mul(100),
            Some(AuthField {
                auth_type: repr.auth.auth_type(),
                data: match repr.auth {
                    Auth::Pass(data) => data,
                    Auth::None | Auth::Ah => [0; 8],
                },
            }),
        ),
        Version::V3 => (repr.max_advert_int, None),
    };
    AdvertRx {
        src,
        dst,
        ttl,
        version: repr.version,
        vrid: repr.vrid,
        priority: repr.priority,
        max_advert_int,
        addrs: repr.addrs.clone(),
        auth,
        recv_time,
    }
}

/// The engine's counter for a codec error.
pub fn rx_error_reason(e: &vrrp::Error) -> RxErrorReason {
    match e {
        vrrp::Error::Truncated { .. } | vrrp::Error::AddrCountMismatch { .. } => {
            RxErrorReason::PacketLength
        }
        vrrp::Error::BadVersion(_) | vrrp::Error::V2OverIpv6 => RxErrorReason::Version,
        vrrp::Error::BadType(_) => RxErrorReason::InvalidType,
        vrrp::Error::BadAuthType(_) => RxErrorReason::InvalidAuthType,
        vrrp::Error::ZeroInterval => RxErrorReason::AdvertInterval,
        vrrp::Error::BadChecksum { .. } => RxErrorReason::Checksum,
    }
}

/// The codec's view of an advert to send.
pub fn repr(tx: &AdvertTx) -> Repr {
    match tx.version {
        Version::V2 => Repr {
            version: Version::V2,
            vrid: tx.vrid,
            priority: tx.priority,
            // The engine keeps centiseconds; v2 carries whole seconds (config rounds to them).
            max_advert_int: (tx.max_advert_int / 100).max(1),
            auth: tx.auth,
            addrs: tx.addrs.clone(),
        },
        Version::V3 => Repr {
            version: Version::V3,
            vrid: tx.vrid,
            priority: tx.priority,
            max_advert_int: tx.max_advert_int,
            auth: Auth::None,
            addrs: tx.addrs.clone(),
        },
    }
}

/// Where an advert goes: one copy per unicast peer, else the multicast group.
pub fn destinations(tx: &AdvertTx, mcast_group: Option<IpAddr>) -> Vec<IpAddr> {
    if !tx.unicast_peers.is_empty() {
        return tx.unicast_peers.clone();
    }
    vec![mcast_group.unwrap_or(match tx.family {
        Family::Ipv4 => IpAddr::V4(ipv4::VRRP_MULTICAST),
        Family::Ipv6 => IpAddr::V6(ipv6::VRRP_MULTICAST),
    })]
}

/// The VRRP bytes of `repr` from `src` to `dst`, checksum filled for that pair (in unicast each
/// destination has its own v3 pseudo-header checksum).
pub fn encode(
    repr: &Repr,
    src: IpAddr,
    dst: IpAddr,
    mode: ChecksumMode,
) -> Result<Vec<u8>, EncodeError> {
    let ph = PseudoHeader::new(src, dst).ok_or(EncodeError::MixedFamily { src, dst })?;
    repr.to_bytes(&ph, mode).map_err(EncodeError::Emit)
}

/// The Ethernet frame of the advert `vrrp` from `src` to the multicast group `dst`, with the IP
/// header the kernel would give it from the advert socket: TOS / traffic class 0xc0, TTL / hop
/// limit 255, DF clear, flow label 0. Sent on the interface's packet socket, an advert skips the
/// route lookup and IP output path, which a takeover's first advert, after seconds of silence,
/// runs cold: 12–34 µs of ftrace'd `sendto` before the frame reached the device, against 4–11
/// µs for a frame. `None` for a unicast `dst`, which needs the kernel's neighbour resolution, and
/// on a link without a MAC address (not Ethernet): the IP socket sends those.
pub fn multicast_frame(
    src_mac: MacAddr,
    src: IpAddr,
    dst: IpAddr,
    vrrp: &[u8],
    ident: u16,
) -> Option<Vec<u8>> {
    if src_mac == MacAddr::default() {
        return None;
    }
    let payload_len = u16::try_from(vrrp.len()).ok()?;
    let (dst_mac, ethertype, ip_len) = match dst {
        IpAddr::V4(d) if d.is_multicast() => (
            ipv4::multicast_mac(&d),
            ethernet::ETHERTYPE_IPV4,
            ipv4::HEADER_LEN,
        ),
        IpAddr::V6(d) if d.is_multicast() => (
            ipv6::multicast_mac(&d),
            ethernet::ETHERTYPE_IPV6,
            ipv6::HEADER_LEN,
        ),
        _ => return None,
    };
    let eth = ethernet::Header {
        dst: dst_mac,
        src: src_mac,
        vlan: None,
        ethertype,
    };
    let mut frame = vec![0u8; ethernet::HEADER_LEN + ip_len + vrrp.len()];
    let (eth_buf, rest) = frame.split_at_mut(ethernet::HEADER_LEN);
    let (ip_buf, body) = rest.split_at_mut(ip_len);
    eth.emit(eth_buf).ok()?;
    match (src, dst) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => ipv4::Header {
            src,
            dst,
            protocol: IPPROTO_VRRP,
            ttl: VRRP_TTL,
            tos: ipv4::TOS_INTERNETWORK_CONTROL,
            ident,
            payload_len,
        }
        .emit(ip_buf)
        .ok()?,
        (IpAddr::V6(src), IpAddr::V6(dst)) => ipv6::Header {
            src,
            dst,
            next_header: IPPROTO_VRRP,
            hop_limit: VRRP_TTL,
            traffic_class: ipv4::TOS_INTERNETWORK_CONTROL,
            flow_label: 0,
            payload_len,
        }
        .emit(ip_buf)
        .ok()?,
        _ => return None,
    }
    body.copy_from_slice(vrrp);
    Some(frame)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("advert source {src} and destination {dst} are of different families")]
    MixedFamily { src: IpAddr, dst: IpAddr },
    #[error(transparent)]
    Emit(vrrp::EmitError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Family as EFamily;

    fn tx(version: Version, family: EFamily, addrs: Vec<IpAddr>) -> AdvertTx {
        AdvertTx {
            interface: "eth0".into(),
            family,
            version,
            vrid: 50,
            priority: 100,
            max_advert_int: 100,
            addrs,
            auth: Auth::None,
            src: None,
            unicast_peers: vec![],
        }
    }

    fn event_for(bytes: &[u8], src: IpAddr, dst: IpAddr, ttl: u8) -> Box<AdvertEvent> {
        let mut ev: Box<AdvertEvent> = bytemuck::allocation::zeroed_box();
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                ev.family = AF_INET;
                ev.saddr[..4].copy_from_slice(&s.octets());
                ev.daddr[..4].copy_from_slice(&d.octets());
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                ev.family = AF_INET6;
                ev.saddr = s.octets();
                ev.daddr = d.octets();
            }
            _ => unreachable!("test addresses share a family"),
        }
        ev.ttl = ttl;
        ev.vrid = bytes[1];
        ev.payload_len = bytes.len() as u16;
        ev.captured_len = bytes.len() as u16;
        ev.payload[..bytes.len()].copy_from_slice(bytes);
        ev.ktime_ns = 42;
        ev
    }

    const MULTICAST: ChecksumMode = ChecksumMode::Rfc5798;
    fn at(ev: &AdvertEvent) -> Timestamp {
        Timestamp::from_nanos(ev.ktime_ns)
    }

    fn policy(_: Family, _: u8) -> Option<RxPolicy> {
        Some(RxPolicy {
            checksum: MULTICAST,
            unicast: false,
        })
    }

    #[test]
    fn v2_and_v3_round_trip_through_the_event_path() {
        let src: IpAddr = "10.0.0.1".parse().unwrap();
        let dst: IpAddr = "224.0.0.18".parse().unwrap();
        let vip: IpAddr = "10.0.0.100".parse().unwrap();
        for version in [Version::V2, Version::V3] {
            let t = tx(version, EFamily::Ipv4, vec![vip]);
            let bytes = encode(&repr(&t), src, dst, MULTICAST).unwrap();
            let ev = event_for(&bytes, src, dst, 255);
            let Some(Input::Advert { rx, .. }) = decode_event("eth0", &ev, at(&ev), policy) else {
                panic!("{version:?} advert did not decode");
            };
            assert_eq!(
                rx.max_advert_int, 100,
                "{version:?} interval in centiseconds"
            );
            assert_eq!(
                (rx.vrid, rx.priority, rx.addrs.clone()),
                (50, 100, vec![vip])
            );
            assert_eq!(rx.recv_time, Timestamp::from_nanos(42));
            assert_eq!(rx.auth.is_some(), version == Version::V2);
        }
    }

    #[test]
    fn ipv6_v3_round_trips() {
        let src: IpAddr = "fe80::1".parse().unwrap();
        let dst: IpAddr = "ff02::12".parse().unwrap();
        let vip: IpAddr = "fd00::100".parse().unwrap();
        let t = tx(Version::V3, EFamily::Ipv6, vec![vip]);
        let bytes = encode(&repr(&t), src, dst, MULTICAST).unwrap();
        let ev = event_for(&bytes, src, dst, 255);
        assert!(matches!(
            decode_event("eth0", &ev, at(&ev), policy),
            Some(Input::Advert {
                family: Family::Ipv6,
                ..
            })
        ));
    }

    #[test]
    fn bad_ttl_checksum_and_truncation_are_counted_errors() {
        let src: IpAddr = "10.0.0.1".parse().unwrap();
        let dst: IpAddr = "224.0.0.18".parse().unwrap();
        let t = tx(
            Version::V3,
            EFamily::Ipv4,
            vec!["10.0.0.100".parse().unwrap()],
        );
        let bytes = encode(&repr(&t), src, dst, MULTICAST).unwrap();
        let reason = |ev: &AdvertEvent| match decode_event("eth0", ev, at(ev), policy) {
            Some(Input::RxError { reason, .. }) => reason,
            other => panic!("expected an RxError, got {other:?}"),
        };
        assert_eq!(
            reason(&event_for(&bytes, src, dst, 254)),
            RxErrorReason::IpTtl
        );
        let mut corrupt = bytes.clone();
        corrupt[2] ^= 1;
        assert_eq!(
            reason(&event_for(&corrupt, src, dst, 255)),
            RxErrorReason::Checksum
        );
        let mut ev = event_for(&bytes, src, dst, 255);
        ev.captured_len = 8;
        assert_eq!(reason(&ev), RxErrorReason::PacketLength);
        // A unicast instance takes any TTL.
        let unicast = |_: Family, _: u8| {
            Some(RxPolicy {
                checksum: MULTICAST,
                unicast: true,
            })
        };
        assert!(matches!(
            decode_event(
                "eth0",
                &event_for(&bytes, src, dst, 64),
                Timestamp::from_nanos(42),
                unicast
            ),
            Some(Input::Advert { .. })
        ));
    }

    #[test]
    fn unicast_sends_one_copy_per_peer() {
        let mut t = tx(Version::V3, EFamily::Ipv4, vec![]);
        assert_eq!(
            destinations(&t, None),
            vec![IpAddr::V4(ipv4::VRRP_MULTICAST)]
        );
        t.unicast_peers = vec!["10.0.0.2".parse().unwrap(), "10.0.0.3".parse().unwrap()];
        assert_eq!(destinations(&t, None), t.unicast_peers);
    }

    #[test]
    fn multicast_adverts_are_framed_as_the_kernel_would_send_them() {
        let mac = MacAddr([0x02, 0, 0, 0, 0, 0x01]);
        let cases: [(&str, &str, &str, Version, [u8; 6]); 3] = [
            (
                "10.0.0.1",
                "224.0.0.18",
                "10.0.0.100",
                Version::V2,
                [1, 0, 0x5e, 0, 0, 0x12],
            ),
            (
                "10.0.0.1",
                "239.129.1.2",
                "10.0.0.100",
                Version::V3,
                [1, 0, 0x5e, 1, 1, 2],
            ),
            (
                "fe80::1",
                "ff02::12",
                "fd00::100",
                Version::V3,
                [0x33, 0x33, 0, 0, 0, 0x12],
            ),
        ];
        for (src, dst, vip, version, dst_mac) in cases {
            let (src, dst, vip): (IpAddr, IpAddr, IpAddr) = (
                src.parse().unwrap(),
                dst.parse().unwrap(),
                vip.parse().unwrap(),
            );
            let family = if src.is_ipv4() {
                EFamily::Ipv4
            } else {
                EFamily::Ipv6
            };
            let bytes =
                encode(&repr(&tx(version, family, vec![vip])), src, dst, MULTICAST).unwrap();
            let frame = multicast_frame(mac, src, dst, &bytes, 7).expect("a multicast frame");
            let (eth, ip) = ethernet::Header::parse(&frame).unwrap();
            assert_eq!((eth.dst, eth.src), (MacAddr(dst_mac), mac), "{dst}");
            let vrrp = match (src, dst) {
                (IpAddr::V4(s), IpAddr::V4(d)) => {
                    assert_eq!(eth.ethertype, ethernet::ETHERTYPE_IPV4);
                    let (h, vrrp) = ipv4::Header::parse(ip).unwrap();
                    assert_eq!((h.src, h.dst, h.protocol), (s, d, IPPROTO_VRRP));
                    assert_eq!((h.ttl, h.tos, h.ident), (255, 0xc0, 7));
                    // DF clear, no fragment offset, as keepalived's adverts.
                    assert_eq!(&ip[6..8], &[0, 0]);
                    vrrp
                }
                (IpAddr::V6(s), IpAddr::V6(d)) => {
                    assert_eq!(eth.ethertype, ethernet::ETHERTYPE_IPV6);
                    let (h, vrrp) = ipv6::Header::parse(ip).unwrap();
                    assert_eq!((h.src, h.dst, h.next_header), (s, d, IPPROTO_VRRP));
                    assert_eq!((h.hop_limit, h.traffic_class, h.flow_label), (255, 0xc0, 0));
                    vrrp
                }
                _ => unreachable!("test addresses share a family"),
            };
            assert_eq!(
                vrrp,
                &bytes[..],
                "the VRRP message follows the header unchanged"
            );
            let parsed = Repr::parse(vrrp, &PseudoHeader::new(src, dst).unwrap(), MULTICAST);
            assert!(parsed.is_ok(), "{dst}: {parsed:?}");
        }
        let unicast: IpAddr = "10.0.0.2".parse().unwrap();
        let bytes = encode(
            &repr(&tx(Version::V3, EFamily::Ipv4, vec![])),
            unicast,
            unicast,
            MULTICAST,
        )
        .unwrap();
        assert_eq!(multicast_frame(mac, unicast, unicast, &bytes, 7), None);
        let group: IpAddr = "224.0.0.18".parse().unwrap();
        assert_eq!(
            multicast_frame(MacAddr::default(), unicast, group, &bytes, 7),
            None,
            "a link without a MAC gets no Ethernet frame"
        );
    }
}
