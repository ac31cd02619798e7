//! `BPF_PROG_TEST_RUN` tests of the XDP program: verdicts, ring-buffer events and counters for
//! crafted frames. Root only (loading BPF needs CAP_BPF); each test loads its own object, so
//! maps and counters are per test.
#[path = "support/xdp_frames.rs"]
mod xdp_frames;

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vrrp_common::{
    AF_INET, AF_INET6, AdvertEvent, CONFIG_WATCH_ALL, Counter, MAX_VRRP_PAYLOAD, RING_BUF_BYTES,
    SHORT_VRRP_PAYLOAD, ShortAdvertRecord, XdpConfig,
};
use vrrpd::dataplane::{Counters, EventRing, VridWant, XdpObject, XdpProgram};
use vrrpd::time::Timestamp;
use xdp_frames::*;

const XDP_DROP: u32 = 1;
const XDP_PASS: u32 = 2;
const XDP_TX: u32 = 3;

/// One loaded object plus its ring buffer, as a test drives it.
struct Harness {
    object: XdpObject,
    events: EventRing,
}

impl Harness {
    fn new() -> Harness {
        Harness::with_config(XdpConfig {
            flags: 0,
            mac: OUR_MAC,
            _pad: [0; 2],
        })
    }

    fn with_config(config: XdpConfig) -> Harness {
        let mut object = XdpObject::load(config).expect("load the XDP object (are we root?)");
        // These tests are about what the program checks and queues, so every advert is queued;
        // which ones are counted as repeats instead is xdp_repeats.rs's subject.
        for family in [AF_INET, AF_INET6] {
            for vrid in 0..=255 {
                object.set_rx_eager(family, vrid, true).expect("RX_LAST");
            }
        }
        let events = object.take_events().expect("take EVENTS");
        Harness { object, events }
    }

    /// Runs `vrrp_xdp` once; returns action, output frame, the events it pushed and the counters
    /// this run changed.
    fn run(&mut self, frame: &[u8]) -> (u32, Vec<u8>, Vec<AdvertEvent>, Counters) {
        let before = self.object.counters().expect("counters");
        let out = self
            .object
            .test_run(XdpProgram::Vrrp, frame, 1)
            .unwrap_or_else(|e| panic!("test_run on {} bytes: {e}", frame.len()));
        let mut events = Vec::new();
        self.events.drain(&mut events);
        let delta = self.object.counters().expect("counters").since(&before);
        (out.action, out.data, events, delta)
    }

    /// Runs a frame that must pass untouched and be counted only as a frame.
    fn assert_untouched(&mut self, frame: &[u8], what: &str) {
        let (action, data, events, counters) = self.run(frame);
        assert_eq!(action, XDP_PASS, "{what}: verdict");
        assert_eq!(data, frame, "{what}: frame modified");
        assert!(events.is_empty(), "{what}: unexpected event");
        assert_only(&counters, &[(Counter::Frames, 1)], what);
    }

    /// Runs VRRP the program must pass untouched without an event, counting it as `counter`.
    fn assert_rejected(&mut self, frame: &[u8], counter: Counter, what: &str) {
        let (action, data, events, counters) = self.run(frame);
        assert_eq!(action, XDP_PASS, "{what}: verdict");
        assert_eq!(data, frame, "{what}: frame modified");
        assert!(events.is_empty(), "{what}: unexpected event");
        assert_only(&counters, &[(Counter::Frames, 1), (counter, 1)], what);
    }

    /// Runs a malformed advert of a VRID we serve: passed untouched, counted as `counter` (not
    /// as an advert) and reported once, for userspace to count in its instance's stats.
    fn assert_malformed_reported(&mut self, frame: &[u8], counter: Counter, what: &str) {
        let (action, data, events, counters) = self.run(frame);
        assert_eq!(action, XDP_PASS, "{what}: verdict");
        assert_eq!(data, frame, "{what}: frame modified");
        assert_eq!(events.len(), 1, "{what}: events");
        assert_only(&counters, &[(Counter::Frames, 1), (counter, 1)], what);
    }

    /// Runs an advert the program must pass untouched and report once; returns the event.
    fn assert_one_advert(&mut self, frame: &[u8], what: &str) -> AdvertEvent {
        let (action, data, mut events, counters) = self.run(frame);
        assert_eq!(action, XDP_PASS, "{what}: verdict");
        assert_eq!(data, frame, "{what}: frame modified");
        assert_eq!(events.len(), 1, "{what}: events");
        assert_only(
            &counters,
            &[(Counter::Frames, 1), (Counter::Adverts, 1)],
            what,
        );
        events.remove(0)
    }
}

/// Every counter is zero except the listed ones, which have the listed values.
fn assert_only(counters: &Counters, expected: &[(Counter, u64)], what: &str) {
    for (counter, value) in counters.iter() {
        let want = expected
            .iter()
            .find(|(c, _)| *c == counter)
            .map_or(0, |(_, v)| *v);
        assert_eq!(value, want, "{what}: counter {}", counter.name());
    }
}

fn ip16(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => {
            let mut out = [0; 16];
            out[..4].copy_from_slice(&v4.octets());
            out
        }
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// Checks every field of `ev` against the advert that was sent.
fn assert_event(
    ev: &AdvertEvent,
    advert: &Advert,
    frame_vrrp: &[u8],
    vlan_id: u16,
    before: Timestamp,
) {
    let after = Timestamp::now();
    assert!(
        (before.as_nanos()..=after.as_nanos()).contains(&ev.ktime_ns),
        "ktime {} outside [{}, {}]",
        ev.ktime_ns,
        before.as_nanos(),
        after.as_nanos()
    );
    // BPF_PROG_TEST_RUN delivers on the loopback device of the caller's namespace.
    assert_eq!(ev.ifindex, 1, "ifindex");
    assert_eq!(ev.vlan_id, vlan_id, "vlan_id");
    let family = if advert.src.is_ipv4() {
        AF_INET
    } else {
        AF_INET6
    };
    assert_eq!(ev.family, family, "family");
    assert_eq!(ev.ttl, 255, "ttl");
    assert_eq!(ev.saddr, ip16(advert.src), "saddr");
    assert_eq!(ev.daddr, ip16(advert.dst()), "daddr");
    assert_eq!(ev.source(), advert.src, "source()");
    assert_eq!(ev.destination(), advert.dst(), "destination()");
    assert_eq!(ev.version, advert.version, "version");
    assert_eq!(ev.vrid, advert.vrid, "vrid");
    assert_eq!(ev.priority, advert.priority, "priority");
    assert_eq!(ev.count_addrs as usize, advert.addrs.len(), "count_addrs");
    assert_eq!(ev.interval, advert.interval, "interval");
    assert_eq!(ev.payload_len as usize, frame_vrrp.len(), "payload_len");
    let captured = frame_vrrp.len().min(MAX_VRRP_PAYLOAD);
    assert_eq!(ev.captured_len as usize, captured, "captured_len");
    assert_eq!(ev.vrrp_bytes(), &frame_vrrp[..captured], "payload");
    assert_eq!(ev._pad, [0; 2], "padding");
    // Every VRID is eager here: nothing is counted, so nothing is carried over.
    assert_eq!(
        (ev.prev_repeats, ev.prev_ktime_ns),
        (0, 0),
        "no repeats before"
    );
}

/// Sends a valid advert for a VRID the object wants and checks verdict, event and counters.
fn check_good_advert(advert: Advert, vlan: Option<Vlan>) {
    let frame = advert.frame(vlan);
    check_good_frame(&advert, &frame, vlan.map_or(0, |v| v.id));
}

/// Like [`check_good_advert`] for a frame built otherwise (IP options, padding) that carries
/// `advert`'s VRRP message.
fn check_good_frame(advert: &Advert, frame: &[u8], vlan_id: u16) {
    let mut h = Harness::new();
    let v4 = advert.src.is_ipv4();
    h.object.set_vrid(advert.vrid, v4, !v4).expect("set_vrid");
    let vrrp = advert.vrrp();
    let before = Timestamp::now();
    let event = h.assert_one_advert(frame, "good advert");
    assert_event(&event, advert, &vrrp, vlan_id, before);
}

#[test]
fn good_v2_ipv4_advert_is_reported() {
    check_good_advert(
        Advert::v2(51, 150, vec![v4(10, 0, 0, 100), v4(10, 0, 0, 101)], 1),
        None,
    );
}

#[test]
fn good_v3_ipv4_advert_is_reported() {
    check_good_advert(Advert::v3_v4(7, 100, vec![v4(10, 1, 2, 3)], 100), None);
}

#[test]
fn good_v3_ipv6_advert_is_reported() {
    check_good_advert(
        Advert::v3_v6(9, 254, vec![v6(0xfd00, 1), v6(0xfd00, 2)], 10),
        None,
    );
}

#[test]
fn vlan_tagged_adverts_are_reported_with_their_vlan_id() {
    check_good_advert(
        Advert::v3_v4(7, 100, vec![v4(10, 1, 2, 3)], 100),
        Some(Vlan::dot1q(100)),
    );
    check_good_advert(
        Advert::v3_v6(8, 100, vec![v6(0xfd00, 8)], 100),
        Some(Vlan::dot1q(4094)),
    );
    check_good_advert(
        Advert::v2(10, 90, vec![v4(10, 0, 0, 1)], 3),
        Some(Vlan::dot1ad(7)),
    );
}

#[test]
fn advert_longer_than_the_capture_is_reported_truncated() {
    // 91 IPv6 addresses: 8 + 91 × 16 = 1464 bytes > MAX_VRRP_PAYLOAD.
    let addrs = (0..91).map(|i| v6(0xfd00, i)).collect();
    check_good_advert(Advert::v3_v6(20, 100, addrs, 100), None);
}

#[test]
fn adverts_either_side_of_the_short_record_are_reported_whole() {
    // 8 + 26 × 4 = 112 bytes: the largest short record; 27 addresses take a full one.
    let addrs = |n: u8| (0..n).map(|i| v4(10, 0, 1, i)).collect::<Vec<_>>();
    check_good_advert(Advert::v3_v4(30, 100, addrs(26), 100), None);
    check_good_advert(Advert::v3_v4(31, 100, addrs(27), 100), None);
    check_good_advert(Advert::v3_v6(32, 100, vec![v6(0xfd00, 1); 6], 100), None);
    check_good_advert(Advert::v3_v6(33, 100, vec![v6(0xfd00, 1); 7], 100), None);
}

#[test]
fn ttl_other_than_255_is_counted_and_reported_for_our_vrids_only() {
    let mut h = Harness::new();
    h.object.set_vrid(51, true, true).expect("set_vrid");
    for (vrid, ours) in [(51, true), (52, false)] {
        for (advert, family) in [
            (Advert::v2(vrid, 100, vec![v4(10, 0, 0, 1)], 1), "v2 ipv4"),
            (
                Advert::v3_v6(vrid, 100, vec![v6(0xfd00, 1)], 100),
                "v3 ipv6",
            ),
        ] {
            let mut advert = advert;
            advert.ttl = 254;
            let frame = advert.frame(None);
            let what = &format!("{family} VRID {vrid}");
            if ours {
                h.assert_malformed_reported(&frame, Counter::BadTtl, what);
            } else {
                h.assert_rejected(&frame, Counter::BadTtl, what);
            }
        }
    }
}

#[test]
fn wrong_version_or_type_is_counted_and_reported_for_our_vrids_only() {
    let mut h = Harness::new();
    h.object.set_vrid(51, true, true).expect("set_vrid");
    let cases = [
        (1u8, 1u8, "version 1"),
        (4, 1, "version 4"),
        (0, 1, "version 0"),
        (3, 2, "type 2"),
        (2, 0, "type 0"),
        (3, 15, "type 15"),
    ];
    let families = [
        (
            Advert::v3_v4(51, 100, vec![v4(10, 0, 0, 1)], 100),
            ETH + IPV4,
            "ipv4",
        ),
        (
            Advert::v3_v6(51, 100, vec![v6(0xfd00, 1)], 100),
            ETH + IPV6,
            "ipv6",
        ),
    ];
    for ((version, kind, case), (advert, vrrp_off, family)) in cases
        .into_iter()
        .flat_map(|c| families.iter().map(move |f| (c, f)))
    {
        let what = &format!("{family} {case}");
        let mut frame = advert.frame(None);
        frame[*vrrp_off] = version << 4 | kind;
        h.assert_malformed_reported(&frame, Counter::BadVersionType, what);
        // VRID 52 is nobody's here.
        frame[*vrrp_off + 1] = 52;
        h.assert_rejected(&frame, Counter::BadVersionType, &format!("{what}, VRID 52"));
    }
}

#[test]
fn length_not_covering_the_address_list_is_counted_and_reported() {
    let mut h = Harness::new();
    h.object.set_vrid(51, true, true).expect("set_vrid");
    let cases: [(Advert, &str); 3] = [
        // count says 3, the message holds 1 address.
        (
            Advert::v3_v4(51, 100, vec![v4(10, 0, 0, 1)], 100).with_count(3),
            "v3 ipv4 count",
        ),
        // v2 without room for its authentication data.
        (
            Advert::v2(51, 100, vec![v4(10, 0, 0, 1)], 1).without_auth(),
            "v2 no auth",
        ),
        (
            Advert::v3_v6(51, 100, vec![v6(0xfd00, 1)], 100).with_count(2),
            "v3 ipv6 count",
        ),
    ];
    for (advert, what) in cases {
        let frame = advert.frame(None);
        h.assert_malformed_reported(&frame, Counter::BadLength, what);
    }
}

/// Every prefix of a valid advert: the kernel refuses frames shorter than an Ethernet header;
/// the program passes all others untouched, reports none, and counts a bad length once the IP
/// header is complete (it knows the frame is VRRP from there on).
fn check_every_truncation(advert: Advert, vlan: Option<Vlan>) {
    let frame = advert.frame(vlan);
    check_every_truncation_of(&advert, &frame, vlan.is_some());
}

/// [`check_every_truncation`] of a frame built otherwise. The bad-length count starts with the
/// fixed IP header (20 or 40 bytes) whatever the IHL: the program reads the fixed header first,
/// and IPv4 options are then part of the length it finds wanting.
fn check_every_truncation_of(advert: &Advert, frame: &[u8], tagged: bool) {
    let mut h = Harness::new();
    h.object
        .set_vrid(advert.vrid, true, true)
        .expect("set_vrid");
    let l3 = ETH + if tagged { 4 } else { 0 };
    let ip_header = if advert.src.is_ipv4() { IPV4 } else { IPV6 };
    for len in 0..frame.len() {
        let cut = &frame[..len];
        let what = format!("{} of {} bytes", len, frame.len());
        match h.object.test_run(XdpProgram::Vrrp, cut, 1) {
            Err(_) if len < ETH => continue,
            Err(e) => panic!("{what}: test_run: {e}"),
            Ok(_) if len < ETH => panic!("{what}: the kernel ran a runt frame"),
            Ok(_) => {}
        }
        let (action, data, events, counters) = h.run(cut);
        assert_eq!(action, XDP_PASS, "{what}");
        assert_eq!(data, cut, "{what}");
        assert!(events.is_empty(), "{what}: event from a truncated frame");
        if len < l3 + ip_header {
            assert_only(&counters, &[(Counter::Frames, 1)], &what);
        } else {
            assert_only(
                &counters,
                &[(Counter::Frames, 1), (Counter::BadLength, 1)],
                &what,
            );
        }
    }
    h.assert_one_advert(frame, "the whole frame");
}

#[test]
fn truncated_v2_ipv4_frames_at_every_length() {
    check_every_truncation(
        Advert::v2(51, 100, vec![v4(10, 0, 0, 1), v4(10, 0, 0, 2)], 1),
        None,
    );
}

#[test]
fn truncated_v3_ipv6_frames_at_every_length() {
    check_every_truncation(Advert::v3_v6(51, 100, vec![v6(0xfd00, 1)], 100), None);
}

#[test]
fn truncated_vlan_v3_ipv4_frames_at_every_length() {
    check_every_truncation(
        Advert::v3_v4(51, 100, vec![v4(10, 0, 0, 1)], 100),
        Some(Vlan::dot1q(5)),
    );
}

#[test]
fn truncated_v3_ipv4_frames_at_every_length() {
    check_every_truncation(
        Advert::v3_v4(51, 100, vec![v4(10, 0, 0, 1), v4(10, 0, 0, 2)], 100),
        None,
    );
}

#[test]
fn truncated_vlan_v3_ipv6_frames_at_every_length() {
    check_every_truncation(
        Advert::v3_v6(51, 100, vec![v6(0xfd00, 1)], 100),
        Some(Vlan::dot1q(6)),
    );
}

#[test]
fn truncated_ipv4_frames_with_options_at_every_length() {
    let advert = Advert::v3_v4(51, 100, vec![v4(10, 0, 0, 1)], 100);
    check_every_truncation_of(&advert, &with_router_alert(&advert.frame(None)), false);
}

/// Rewrites the IPv4 header at `ETH` with `edit` and recomputes its checksum, so that the only
/// thing wrong with the frame is what `edit` did.
fn edit_ipv4(frame: &mut [u8], edit: impl FnOnce(&mut [u8])) {
    let ihl = usize::from(frame[ETH] & 0x0f) * 4;
    let header = &mut frame[ETH..ETH + ihl.max(IPV4)];
    edit(header);
    header[10..12].fill(0);
    let sum = checksum(&[header]);
    header[10..12].copy_from_slice(&sum.to_be_bytes());
}

/// An untagged IPv4 advert frame with a Router Alert option (RFC 2113) inserted: IHL 6, total
/// length 4 bytes longer, checksum recomputed.
fn with_router_alert(frame: &[u8]) -> Vec<u8> {
    let mut out = frame[..ETH + IPV4].to_vec();
    out.extend_from_slice(&[0x94, 0x04, 0, 0]);
    out.extend_from_slice(&frame[ETH + IPV4..]);
    edit_ipv4(&mut out, |ip| {
        ip[0] = 0x46;
        let tot_len = u16::from_be_bytes([ip[2], ip[3]]) + 4;
        ip[2..4].copy_from_slice(&tot_len.to_be_bytes());
    });
    out
}

#[test]
fn ipv4_options_are_skipped_to_the_advert() {
    let advert = Advert::v3_v4(51, 100, vec![v4(10, 0, 0, 1), v4(10, 0, 0, 2)], 100);
    let frame = with_router_alert(&advert.frame(None));
    assert_eq!(frame[ETH] & 0x0f, 6, "IHL 6");
    // The event carries the VRRP message after the options, with its own length.
    check_good_frame(&advert, &frame, 0);
}

#[test]
fn ethernet_padding_is_not_counted_as_payload() {
    // 14 + 20 + 12 = 46 bytes on the wire padded to the 60-byte minimum: the VRRP message is
    // what the IP total length says, not what the frame holds.
    let advert = Advert::v3_v4(51, 100, vec![v4(10, 0, 0, 1)], 100);
    let mut frame = advert.frame(None);
    assert!(frame.len() < 60, "the advert needs padding");
    frame.resize(60, 0);
    check_good_frame(&advert, &frame, 0);
}

#[test]
fn ipv4_fragments_pass_without_an_event_or_a_count() {
    let mut h = Harness::new();
    h.object.set_vrid(51, true, false).expect("set_vrid");
    let advert = Advert::v3_v4(51, 100, vec![v4(10, 0, 0, 1)], 100);
    // Flags and fragment offset (bytes 6..8): MF set, an offset, both. Not a bad advert either:
    // the kernel reassembles, and an advert never comes in pieces.
    for (frags, what) in [
        (0x2000u16, "first fragment (MF)"),
        (0x0003, "last fragment (offset 24)"),
        (0x2001, "middle fragment"),
    ] {
        let mut frame = advert.frame(None);
        edit_ipv4(&mut frame, |ip| {
            ip[6..8].copy_from_slice(&frags.to_be_bytes())
        });
        h.assert_untouched(&frame, what);
    }
    // Don't Fragment is no fragment: still an advert.
    let mut frame = advert.frame(None);
    edit_ipv4(&mut frame, |ip| {
        ip[6..8].copy_from_slice(&0x4000u16.to_be_bytes())
    });
    h.assert_one_advert(&frame, "DF");
}

#[test]
fn ipv4_lengths_shorter_than_the_header_are_bad_lengths() {
    let mut h = Harness::new();
    h.object.set_vrid(51, true, false).expect("set_vrid");
    let advert = Advert::v3_v4(51, 100, vec![v4(10, 0, 0, 1)], 100);
    type Edit = fn(&mut [u8]);
    let cases: [(&str, Edit); 4] = [
        ("total length 19 < IHL 20", |ip| {
            ip[2..4].copy_from_slice(&19u16.to_be_bytes())
        }),
        ("total length 0", |ip| ip[2..4].fill(0)),
        ("IHL 4 (16 bytes)", |ip| ip[0] = 0x44),
        ("IHL 0", |ip| ip[0] = 0x40),
    ];
    for (what, edit) in cases {
        let mut frame = advert.frame(None);
        edit_ipv4(&mut frame, edit);
        h.assert_rejected(&frame, Counter::BadLength, what);
    }
    // Total length covering the IP header and less of the advert than its count needs: a
    // malformed advert of VRID 51, reported for its instance's packet_len_err.
    let mut frame = advert.frame(None);
    edit_ipv4(&mut frame, |ip| {
        ip[2..4].copy_from_slice(&((IPV4 + 8) as u16).to_be_bytes())
    });
    h.assert_malformed_reported(&frame, Counter::BadLength, "short total length");
    // One byte of VRRP: not even a VRID, so nobody's.
    let mut frame = advert.frame(None);
    edit_ipv4(&mut frame, |ip| {
        ip[2..4].copy_from_slice(&((IPV4 + 1) as u16).to_be_bytes())
    });
    h.assert_rejected(&frame, Counter::BadLength, "one byte of VRRP");
}

#[test]
fn a_full_ring_counts_ring_full_and_keeps_what_it_holds() {
    let mut h = Harness::new();
    h.object.set_vrid(51, true, false).expect("set_vrid");
    let advert = Advert::v3_v4(51, 100, vec![v4(10, 0, 0, 1)], 100);
    let vrrp = advert.vrrp();
    assert!(
        vrrp.len() <= SHORT_VRRP_PAYLOAD,
        "the advert takes a short record"
    );
    let frame = advert.frame(None);
    // A ring record is the sample plus the ring's 8-byte header, rounded up to 8 bytes; the
    // kernel refuses a reservation that would take the producer a whole ring (not ring - 1)
    // ahead of the consumer (kernel/bpf/ringbuf.c: `new_prod_pos - cons_pos > rb->mask`).
    let record = (size_of::<ShortAdvertRecord>() + 8).next_multiple_of(8);
    let capacity = (RING_BUF_BYTES as usize - 1) / record;
    let overflow = 250;
    let runs = u32::try_from(capacity + overflow).expect("fits a repeat count");

    let before = h.object.counters().expect("counters");
    // One test run repeating the advert, nobody draining in between.
    let out = h
        .object
        .test_run(XdpProgram::Vrrp, &frame, runs)
        .expect("test_run");
    assert_eq!(out.action, XDP_PASS, "a full ring still passes the advert");
    assert_eq!(out.data, frame, "frame unchanged");
    let counters = h.object.counters().expect("counters").since(&before);
    assert_only(
        &counters,
        &[
            (Counter::Frames, u64::from(runs)),
            (Counter::Adverts, capacity as u64),
            (Counter::RingFull, overflow as u64),
        ],
        "ring of {capacity} records",
    );

    let mut events = Vec::new();
    assert_eq!(h.events.drain(&mut events), capacity, "drained records");
    assert_eq!(events.len(), capacity);
    assert!(
        events
            .iter()
            .all(|ev| ev.vrid == 51 && ev.vrrp_bytes() == vrrp.as_slice()),
        "every record is the advert"
    );
    assert!(
        events.windows(2).all(|w| w[0].ktime_ns <= w[1].ktime_ns),
        "records in order"
    );

    // Drained, the ring takes adverts again.
    h.assert_one_advert(&frame, "after draining");
}

#[test]
fn non_vrrp_traffic_passes_untouched() {
    let mut h = Harness::new();
    h.object.set_vrid(51, true, true).expect("set_vrid");
    // A gate entry for another address, so that the lookups run and miss.
    h.object
        .set_gate(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100)), true)
        .expect("set_gate");
    h.object
        .set_gate(IpAddr::V6(v6(0xfd00, 100)), true)
        .expect("set_gate");
    h.assert_untouched(&tcp_v4_frame(), "IPv4 TCP");
    h.assert_untouched(&udp_v6_frame(), "IPv6 UDP");
    h.assert_untouched(
        &arp_request(v4(10, 0, 0, 1), v4(10, 0, 0, 2)),
        "ARP not for a VIP",
    );
    h.assert_untouched(
        &ns_frame(v6(0xfd00, 1), v6(0xfd00, 2), true, 0),
        "NS not for a VIP",
    );
    // Same last byte as a VIP: past VIP_FILTER, missed by the hash lookup.
    h.assert_untouched(
        &arp_request(v4(10, 0, 0, 1), v4(10, 0, 1, 100)),
        "ARP, VIP's last byte",
    );
    h.assert_untouched(
        &ns_frame(v6(0xfd00, 1), v6(0xfd01, 100), true, 0),
        "NS, VIP's last byte",
    );
    h.assert_untouched(&arp_reply_frame(v4(10, 0, 0, 100)), "ARP reply from a VIP");
    // IPv6 with an extension header before VRRP is left to the kernel.
    let mut ext = Advert::v3_v6(51, 100, vec![v6(0xfd00, 1)], 100).frame(None);
    ext[ETH + 6] = 0; // next header: hop-by-hop
    h.assert_untouched(&ext, "IPv6 with extension header");
    let mut other = tcp_v4_frame();
    other[12..14].copy_from_slice(&0x88ccu16.to_be_bytes()); // LLDP
    h.assert_untouched(&other, "other ethertype");
}

#[test]
fn unknown_vrid_is_counted_until_watch_all() {
    let mut h = Harness::new();
    h.object.set_vrid(51, true, false).expect("set_vrid");
    let other_vrid = Advert::v3_v4(52, 100, vec![v4(10, 0, 0, 1)], 100).frame(None);
    let other_family = Advert::v3_v6(51, 100, vec![v6(0xfd00, 1)], 100).frame(None);
    for (frame, what) in [(&other_vrid, "other vrid"), (&other_family, "other family")] {
        h.assert_rejected(frame, Counter::UnknownVrid, what);
    }
    // Unsetting a VRID stops its adverts too.
    let wanted = Advert::v3_v4(51, 100, vec![v4(10, 0, 0, 1)], 100).frame(None);
    assert_eq!(h.run(&wanted).2.len(), 1, "wanted vrid reported");
    h.object.set_vrid(51, false, false).expect("set_vrid");
    assert!(h.run(&wanted).2.is_empty(), "unset vrid not reported");

    h.object
        .set_config(XdpConfig {
            flags: CONFIG_WATCH_ALL,
            mac: OUR_MAC,
            _pad: [0; 2],
        })
        .expect("set_config");
    for (frame, what) in [(&other_vrid, "other vrid"), (&other_family, "other family")] {
        h.assert_one_advert(frame, &format!("watch-all {what}"));
    }
    // Observe mode prints adverts: a malformed one is only counted.
    let mut bad_ttl = Advert::v3_v4(52, 100, vec![v4(10, 0, 0, 1)], 100);
    bad_ttl.ttl = 64;
    h.assert_rejected(&bad_ttl.frame(None), Counter::BadTtl, "watch-all, TTL 64");
}

#[test]
fn arp_gate_open_replies_and_closed_drops() {
    let mut h = Harness::new();
    let vip = v4(10, 0, 0, 100);
    h.object.set_gate(IpAddr::V4(vip), true).expect("set_gate");
    let request = arp_request(v4(10, 0, 0, 1), vip);
    let (action, data, events, counters) = h.run(&request);
    assert_eq!(action, XDP_TX, "open gate answers");
    assert!(events.is_empty());
    assert_only(
        &counters,
        &[(Counter::Frames, 1), (Counter::ArpReplied, 1)],
        "arp open",
    );
    let mut expected = Vec::new();
    expected.extend_from_slice(&PEER_MAC); // to the requester
    expected.extend_from_slice(&OUR_MAC);
    expected.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2]);
    expected.extend_from_slice(&OUR_MAC);
    expected.extend_from_slice(&vip.octets());
    expected.extend_from_slice(&PEER_MAC);
    expected.extend_from_slice(&[10, 0, 0, 1]);
    expected.resize(request.len(), 0); // the request's padding stays
    assert_eq!(data, expected, "ARP reply bytes");

    // Gratuitous ARP for the VIP (someone else announcing it) is not ours to answer.
    h.assert_untouched(&arp_request(vip, vip), "gratuitous ARP");

    h.object
        .set_gate(IpAddr::V4(vip), false)
        .expect("close gate");
    let (action, _, _, counters) = h.run(&request);
    assert_eq!(action, XDP_DROP, "closed gate drops");
    assert_only(
        &counters,
        &[(Counter::Frames, 1), (Counter::ArpDropped, 1)],
        "arp closed",
    );

    h.object.remove_gate(IpAddr::V4(vip)).expect("remove_gate");
    h.object
        .remove_gate(IpAddr::V4(vip))
        .expect("remove_gate twice is fine");
    h.assert_untouched(&request, "ARP after remove_gate");
}

#[test]
fn removing_a_vip_keeps_others_sharing_its_last_byte() {
    let mut h = Harness::new();
    let (a, b) = (v4(10, 0, 0, 100), v4(10, 0, 1, 100));
    h.object.set_gate(IpAddr::V4(a), true).expect("set_gate a");
    h.object.set_gate(IpAddr::V4(b), true).expect("set_gate b");
    h.object.remove_gate(IpAddr::V4(a)).expect("remove a");
    h.assert_untouched(&arp_request(v4(10, 0, 0, 1), a), "ARP for the removed VIP");
    let (action, _, _, counters) = h.run(&arp_request(v4(10, 0, 0, 1), b));
    assert_eq!(action, XDP_TX, "the remaining VIP is still answered");
    assert_only(
        &counters,
        &[(Counter::Frames, 1), (Counter::ArpReplied, 1)],
        "remaining VIP",
    );
    h.object.remove_gate(IpAddr::V4(b)).expect("remove b");
    h.assert_untouched(&arp_request(v4(10, 0, 0, 1), b), "ARP after removing both");
}

/// Checks a Neighbour Advertisement byte for byte, its checksum computed here from scratch.
fn assert_na(data: &[u8], vip: Ipv6Addr, dst: Ipv6Addr, dst_mac: [u8; 6], solicited: bool) {
    assert_eq!(data.len(), ETH + IPV6 + 32, "NA length");
    assert_eq!(&data[0..6], &dst_mac, "eth dst");
    assert_eq!(&data[6..12], &OUR_MAC, "eth src");
    assert_eq!(&data[12..14], &[0x86, 0xdd], "ethertype");
    let ip = &data[ETH..ETH + IPV6];
    assert_eq!(&ip[0..4], &[0x60, 0, 0, 0], "version/class/flow");
    assert_eq!(&ip[4..6], &[0, 32], "payload length");
    assert_eq!(ip[6], 58, "next header");
    assert_eq!(ip[7], 255, "hop limit");
    assert_eq!(&ip[8..24], &vip.octets(), "source = VIP");
    assert_eq!(&ip[24..40], &dst.octets(), "destination");
    let icmp = &data[ETH + IPV6..];
    let flags = if solicited { 0x60 } else { 0x20 };
    let mut expected = vec![136, 0, 0, 0, flags, 0, 0, 0];
    expected.extend_from_slice(&vip.octets());
    expected.extend_from_slice(&[2, 1]);
    expected.extend_from_slice(&OUR_MAC);
    assert_eq!(&icmp[..2], &expected[..2], "type/code");
    assert_eq!(&icmp[4..], &expected[4..], "NA body");
    let mut zeroed = icmp.to_vec();
    zeroed[2..4].fill(0);
    let want = icmpv6_checksum(&vip.octets(), &dst.octets(), &zeroed);
    assert_eq!(
        u16::from_be_bytes([icmp[2], icmp[3]]),
        want,
        "ICMPv6 checksum"
    );
    assert_eq!(
        icmpv6_checksum(&vip.octets(), &dst.octets(), icmp),
        0,
        "checksum verifies"
    );
}

#[test]
fn ns_gate_open_advertises_and_closed_drops() {
    let mut h = Harness::new();
    let vip = v6(0xfd00, 0x100);
    let peer = v6(0xfd00, 1);
    h.object.set_gate(IpAddr::V6(vip), true).expect("set_gate");
    // With a source link-layer option (same length as our NA), without one (grows), and with an
    // extra 8-byte nonce option (shrinks).
    for (with_slla, extra) in [(true, 0), (false, 0), (true, 8)] {
        let what = format!("NS slla={with_slla} extra={extra}");
        let ns = ns_frame(peer, vip, with_slla, extra);
        let (action, data, events, counters) = h.run(&ns);
        assert_eq!(action, XDP_TX, "{what}");
        assert!(events.is_empty(), "{what}");
        assert_only(
            &counters,
            &[(Counter::Frames, 1), (Counter::NsReplied, 1)],
            &what,
        );
        assert_na(&data, vip, peer, PEER_MAC, true);
    }
    // Duplicate address detection: from ::, answered to all-nodes without the S flag.
    let dad = ns_frame(Ipv6Addr::UNSPECIFIED, vip, false, 0);
    let (action, data, _, _) = h.run(&dad);
    assert_eq!(action, XDP_TX, "DAD NS");
    assert_na(
        &data,
        vip,
        "ff02::1".parse().expect("all-nodes"),
        [0x33, 0x33, 0, 0, 0, 1],
        false,
    );

    // An NS whose hop limit is not 255 is invalid (RFC 4861 §7.1.1): the kernel decides.
    let mut off_link = ns_frame(peer, vip, true, 0);
    off_link[ETH + 7] = 64;
    h.assert_untouched(&off_link, "NS with hop limit 64");

    h.object
        .set_gate(IpAddr::V6(vip), false)
        .expect("close gate");
    let (action, _, _, counters) = h.run(&ns_frame(peer, vip, true, 0));
    assert_eq!(action, XDP_DROP, "closed gate drops");
    assert_only(
        &counters,
        &[(Counter::Frames, 1), (Counter::NsDropped, 1)],
        "ns closed",
    );
}

#[test]
fn xdp_pass_program_passes_everything() {
    let h = Harness::new();
    for frame in [
        tcp_v4_frame(),
        arp_request(v4(10, 0, 0, 1), v4(10, 0, 0, 2)),
    ] {
        let out = h
            .object
            .test_run(XdpProgram::Pass, &frame, 1)
            .expect("test_run");
        assert_eq!(out.action, XDP_PASS);
        assert_eq!(out.data, frame);
    }
}

// ----- unicast VRIDs and no_accept (keepalived-behaviour.md §2.10, §2.9) -----

fn with_ttl(mut advert: Advert, ttl: u8) -> Advert {
    advert.ttl = ttl;
    advert
}

#[test]
fn unicast_vrids_report_adverts_whatever_their_ttl_multicast_ones_do_not() {
    let mut h = Harness::new();
    let ttls_of = |events: Vec<AdvertEvent>| events.iter().map(|e| e.ttl).collect::<Vec<_>>();
    let adv4 = with_ttl(Advert::v3_v4(51, 100, vec![v4(10, 0, 0, 100)], 100), 64);
    let adv6 = with_ttl(Advert::v3_v6(51, 100, vec![v6(0xfd00, 100)], 100), 1);

    // Multicast instances of both families: TTL ≠ 255 is counted as bad, not as an advert, and
    // reported for userspace to count in the instance's ip_ttl_err.
    h.object.set_vrid(51, true, true).expect("set_vrid");
    for (what, advert) in [("v4", &adv4), ("v6", &adv6)] {
        let (action, _, events, c) = h.run(&advert.frame(None));
        let ttls = ttls_of(events);
        assert_eq!(action, XDP_PASS, "{what}");
        assert_eq!(ttls, [advert.ttl], "{what}: reported with its TTL");
        assert_eq!(
            (c.get(Counter::Adverts), c.get(Counter::BadTtl)),
            (0, 1),
            "{what}: adverts, bad_ttl"
        );
    }

    // Unicast for IPv4 only: the IPv4 advert is reported with its TTL, IPv6 still is not.
    let want = VridWant {
        v4: true,
        v6: true,
        unicast_v4: true,
        unicast_v6: false,
    };
    h.object.set_vrid_want(51, want).expect("set_vrid_want");
    let (_, _, events, c) = h.run(&adv4.frame(None));
    let ttls = ttls_of(events);
    assert_eq!(ttls, vec![64], "unicast IPv4 advert reported with its TTL");
    assert_eq!((c.get(Counter::Adverts), c.get(Counter::BadTtl)), (1, 0));
    let (_, _, _, c) = h.run(&adv6.frame(None));
    assert_eq!(
        (c.get(Counter::Adverts), c.get(Counter::BadTtl)),
        (0, 1),
        "IPv6 is not unicast for this VRID: a bad TTL"
    );

    h.object
        .set_vrid_want(
            51,
            VridWant {
                unicast_v6: true,
                ..want
            },
        )
        .expect("set_vrid_want");
    let (_, _, events, _) = h.run(&adv6.frame(None));
    let ttls = ttls_of(events);
    assert_eq!(
        ttls,
        vec![1],
        "unicast IPv6 advert reported with its hop limit"
    );

    // Another VRID is not affected by 51's flag.
    let other = with_ttl(Advert::v3_v4(52, 100, vec![v4(10, 0, 0, 100)], 100), 64);
    h.object.set_vrid(52, true, false).expect("set_vrid");
    let (_, _, _, c) = h.run(&other.frame(None));
    assert_eq!((c.get(Counter::Adverts), c.get(Counter::BadTtl)), (0, 1));
}

fn verdict(h: &mut Harness, frame: &[u8]) -> u32 {
    h.run(frame).0
}

/// An IPv4 ICMP echo request from the peer to `dst`.
fn ping_v4(dst: Ipv4Addr) -> Vec<u8> {
    let icmp = [8, 0, 0xf7, 0xfe, 0, 1, 0, 1];
    let mut f = eth(OUR_MAC, PEER_MAC, None, 0x0800);
    f.extend_from_slice(&ipv4_header(v4(10, 0, 0, 2), dst, 1, 64, icmp.len()));
    f.extend_from_slice(&icmp);
    f
}

/// An ICMPv6 message of `icmp_type` (body zero) from the peer to `dst`.
fn icmpv6_to(dst: Ipv6Addr, icmp_type: u8) -> Vec<u8> {
    let src = v6(0xfd00, 2);
    let mut icmp = vec![icmp_type, 0, 0, 0];
    icmp.extend_from_slice(&[0; 20]);
    let sum = icmpv6_checksum(&src.octets(), &dst.octets(), &icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut f = eth(OUR_MAC, PEER_MAC, None, 0x86dd);
    f.extend_from_slice(&ipv6_header(src, dst, 58, 255, icmp.len()));
    f.extend_from_slice(&icmp);
    f
}

#[test]
fn no_accept_drops_traffic_to_the_vips_of_an_open_gate_only() {
    let mut h = Harness::new();
    let vip4 = v4(10, 0, 0, 100);
    let vip6 = v6(0xfd00, 100);
    // Shares vip4's last byte, so the filter lets it reach the hash lookup.
    let other4 = v4(10, 0, 1, 100);
    let no_accept: HashSet<IpAddr> = [IpAddr::V4(vip4), IpAddr::V6(vip6)].into();

    // Gate open but Accept_Mode on: everything passes.
    h.object.set_gate(vip4.into(), true).expect("gate");
    h.object.set_gate(vip6.into(), true).expect("gate");
    assert_eq!(verdict(&mut h, &ping_v4(vip4)), XDP_PASS, "accept mode");

    // no_accept applies to open gates at once (a reload that changes `accept`).
    h.object
        .set_no_accept_vips(no_accept.clone())
        .expect("no_accept");
    assert_eq!(verdict(&mut h, &ping_v4(vip4)), XDP_DROP, "ping to the VIP");
    assert_eq!(
        verdict(&mut h, &ping_v4(other4)),
        XDP_PASS,
        "ping to another address"
    );
    assert_eq!(
        verdict(&mut h, &tcp_v4_frame()),
        XDP_PASS,
        "the node's own address"
    );
    assert_eq!(
        verdict(&mut h, &udp_v6_frame()),
        XDP_PASS,
        "IPv6 to another address"
    );
    assert_eq!(
        verdict(&mut h, &icmpv6_to(vip6, 128)),
        XDP_DROP,
        "echo to the IPv6 VIP"
    );
    // Neighbour discovery and ARP keep working: the master still answers for its VIPs.
    assert_eq!(
        verdict(&mut h, &icmpv6_to(vip6, 136)),
        XDP_PASS,
        "NA to the VIP"
    );
    let unicast_ns = {
        let mut f = ns_frame(v6(0xfd00, 2), vip6, true, 0);
        // Neighbour unreachability detection: the NS goes to the VIP itself.
        f[ETH + 24..ETH + 40].copy_from_slice(&vip6.octets());
        f
    };
    assert_ne!(
        verdict(&mut h, &unicast_ns),
        XDP_DROP,
        "unicast NS to the VIP"
    );
    assert_eq!(
        verdict(&mut h, &ns_frame(v6(0xfd00, 2), vip6, true, 0)),
        XDP_TX,
        "NS answered"
    );
    assert_eq!(
        verdict(&mut h, &arp_request(v4(10, 0, 0, 2), vip4)),
        XDP_TX,
        "ARP answered"
    );
    // Adverts are not addressed to VIPs and still reach the ring.
    h.object.set_vrid(51, true, false).expect("set_vrid");
    let (_, _, events, _) = h.run(&Advert::v3_v4(51, 100, vec![vip4], 100).frame(None));
    assert_eq!(events.len(), 1, "advert reported");

    // Leaving MASTER closes the gate: the VIP's traffic passes again (the kernel then has no
    // such address, as with keepalived's rules removed).
    h.object.set_gate(vip4.into(), false).expect("gate");
    assert_eq!(verdict(&mut h, &ping_v4(vip4)), XDP_PASS, "gate closed");
    assert_eq!(
        verdict(&mut h, &icmpv6_to(vip6, 128)),
        XDP_DROP,
        "IPv6 VIP still master"
    );
    h.object.set_gate(vip4.into(), true).expect("gate");
    assert_eq!(verdict(&mut h, &ping_v4(vip4)), XDP_DROP, "master again");

    // Accept_Mode back on (reload): nothing is dropped any more.
    h.object.set_no_accept_vips(HashSet::new()).expect("accept");
    assert_eq!(verdict(&mut h, &ping_v4(vip4)), XDP_PASS);
    assert_eq!(verdict(&mut h, &icmpv6_to(vip6, 128)), XDP_PASS);

    // Removing a gate stops its dropping too.
    h.object.set_no_accept_vips(no_accept).expect("no_accept");
    assert_eq!(verdict(&mut h, &ping_v4(vip4)), XDP_DROP);
    h.object.remove_gate(vip4.into()).expect("remove");
    assert_eq!(verdict(&mut h, &ping_v4(vip4)), XDP_PASS, "gate removed");
}
