//! Repeat adverts (`vrrp_common::RxLast`): the program queues an advert only when it differs
//! from the last one of its (family, VRID), waking the ring's reader, and otherwise counts it
//! with its receive time; `Receiver::drain` hands the counts back as replays of the last record.
//! Every advert of a VRID marked eager is queued, and so is every advert in observe mode. Wake-ups
//! are checked on the ring's file descriptor in edge-triggered epoll, as tokio registers it.
//! Root only.
#[path = "support/xdp_frames.rs"]
mod xdp_frames;

use std::os::fd::{AsRawFd, RawFd};

use vrrp_common::{AF_INET, AF_INET6, CONFIG_WATCH_ALL, Counter, XdpConfig};
use vrrpd::dataplane::{Received, Receiver, XdpObject, XdpProgram};
use xdp_frames::*;

/// An object with its receiver's ring registered in an edge-triggered epoll set.
struct Harness {
    object: XdpObject,
    rx: Receiver,
    epoll: RawFd,
}

impl Harness {
    fn new(flags: u32) -> Harness {
        let mut object = XdpObject::load(XdpConfig {
            flags,
            mac: OUR_MAC,
            _pad: [0; 2],
        })
        .expect("load the XDP object (are we root?)");
        let rx = object.take_receiver().expect("take EVENTS and map RX_LAST");
        // SAFETY: plain syscalls on descriptors we own; `ev` lives across the call.
        let epoll = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        assert!(epoll >= 0, "epoll_create1");
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLET) as u32,
            u64: 0,
        };
        let rc = unsafe { libc::epoll_ctl(epoll, libc::EPOLL_CTL_ADD, rx.as_raw_fd(), &mut ev) };
        assert_eq!(rc, 0, "epoll_ctl");
        object.set_vrid(51, true, true).expect("VRIDS");
        Harness { object, rx, epoll }
    }

    /// Whether the ring signalled its reader since the last call.
    fn woken(&self) -> bool {
        let mut ev = libc::epoll_event { events: 0, u64: 0 };
        // SAFETY: one event slot, no timeout.
        let n = unsafe { libc::epoll_wait(self.epoll, &mut ev, 1, 0) };
        assert!(n >= 0, "epoll_wait");
        n == 1
    }

    /// Runs `frame` `times` times without draining.
    fn push(&self, frame: &[u8], times: u32) {
        self.object
            .test_run(XdpProgram::Vrrp, frame, times)
            .expect("test_run");
    }

    fn drain(&mut self) -> Vec<Received> {
        let mut out = Vec::new();
        self.rx.drain(&mut out);
        out
    }

    /// Runs one advert and drains: whether it was queued (a record) or counted (a replay), and
    /// whether epoll saw a wake-up.
    fn one(&mut self, frame: &[u8]) -> (Seen, bool) {
        self.push(frame, 1);
        let woken = self.woken();
        let out = self.drain();
        assert_eq!(out.len(), 1, "one entry per advert: {out:?}");
        assert_eq!(out[0].times, 1, "one advert");
        let seen = if out[0].repeat {
            Seen::Counted
        } else {
            Seen::Queued
        };
        (seen, woken)
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        // SAFETY: our descriptor, closed once.
        unsafe { libc::close(self.epoll) };
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Queued,
    Counted,
}

const QUEUED: (Seen, bool) = (Seen::Queued, true);
const COUNTED: (Seen, bool) = (Seen::Counted, false);

#[test]
fn a_repeat_is_counted_and_anything_new_is_queued() {
    let mut h = Harness::new(0);
    let advert = Advert::v3_v4(51, 100, vec![v4(10, 0, 0, 100)], 100);
    assert_eq!(h.one(&advert.frame(None)), QUEUED, "first advert");
    assert_eq!(h.one(&advert.frame(None)), COUNTED, "same advert again");
    assert_eq!(h.one(&advert.frame(None)), COUNTED, "and again");

    let lower = Advert::v3_v4(51, 90, vec![v4(10, 0, 0, 100)], 100);
    assert_eq!(h.one(&lower.frame(None)), QUEUED, "priority changed");
    assert_eq!(h.one(&lower.frame(None)), COUNTED, "its repeat");

    let mut other = lower.clone();
    other.src = v4(10, 0, 0, 9).into();
    assert_eq!(h.one(&other.frame(None)), QUEUED, "another source");

    let mut slower = Advert::v3_v4(51, 90, vec![v4(10, 0, 0, 100)], 200);
    slower.src = other.src;
    assert_eq!(h.one(&slower.frame(None)), QUEUED, "interval changed");

    let mut more = Advert::v3_v4(51, 90, vec![v4(10, 0, 0, 100), v4(10, 0, 0, 101)], 200);
    more.src = other.src;
    assert_eq!(h.one(&more.frame(None)), QUEUED, "address list changed");
    assert_eq!(h.one(&more.frame(None)), COUNTED, "its repeat");

    let mut tagged = more.frame(Some(Vlan {
        tpid: 0x8100,
        id: 7,
    }));
    assert_eq!(h.one(&tagged), QUEUED, "the same advert on a VLAN");
    assert_eq!(h.one(&tagged), COUNTED, "its repeat");
    // A TTL other than 255 never gets here (counted as bad_ttl), so flip a VIP byte instead: the
    // checksum field is unchanged, the key's length and header match, only the message differs.
    let last = tagged.len() - 1;
    tagged[last] ^= 1;
    assert_eq!(
        h.one(&tagged),
        COUNTED,
        "a corrupted copy with the same header and checksum is taken for a repeat: documented"
    );

    // The same VRID in the other family has its own slot.
    let v6 = Advert::v3_v6(51, 90, vec![v6(0xfd00, 0x100)], 200);
    assert_eq!(h.one(&v6.frame(None)), QUEUED, "IPv6 advert of the VRID");
    assert_eq!(h.one(&v6.frame(None)), COUNTED, "its repeat");
    assert_eq!(h.one(&tagged), COUNTED, "IPv4 repeat still counted");
}

#[test]
fn a_replay_is_the_last_record_at_the_latest_repeat_time_with_the_count() {
    let mut h = Harness::new(0);
    let frame = Advert::v3_v4(51, 100, vec![v4(10, 0, 0, 100)], 100).frame(None);
    let before = h.object.counters().expect("counters");
    h.push(&frame, 1);
    let first = h.drain();
    assert_eq!(first.len(), 1);
    h.push(&frame, 40);
    assert!(!h.woken(), "repeats do not wake the reader");
    let replay = h.drain();
    assert_eq!(replay.len(), 1, "{replay:?}");
    let (record, replay) = (&first[0].event, &replay[0]);
    assert!(replay.repeat);
    assert_eq!(replay.times, 40);
    assert!(
        replay.ktime_ns > first[0].ktime_ns,
        "the latest repeat's time"
    );
    assert_eq!(first[0].ktime_ns, record.ktime_ns, "a record's own time");
    assert!(
        std::sync::Arc::ptr_eq(&first[0].event, &replay.event),
        "the replay shares the record"
    );
    assert_eq!(replay.event.vrrp_bytes(), record.vrrp_bytes());
    assert_eq!(replay.event.source(), record.source());
    let counted = h.object.counters().expect("counters").since(&before);
    assert_eq!(counted[Counter::Adverts], 41, "repeats are adverts");
    assert!(h.drain().is_empty(), "each repeat is handed on once");
    h.push(&frame, 2);
    assert_eq!(h.drain()[0].times, 2, "counting goes on from there");
}

#[test]
fn counts_never_go_to_another_record_nor_get_lost() {
    let mut h = Harness::new(0);
    let a = Advert::v3_v4(51, 100, vec![v4(10, 0, 0, 100)], 100).frame(None);
    let b = Advert::v3_v4(51, 90, vec![v4(10, 0, 0, 100)], 100).frame(None);
    h.push(&a, 3);
    assert_eq!(h.drain().len(), 2, "a, then a's repeats");
    // b and its repeats, then a again and its repeats, all before the next drain.
    h.push(&b, 3);
    h.push(&a, 4);
    let out = h.drain();
    let summary: Vec<(u8, bool, u64)> = out
        .iter()
        .map(|r| (r.event.priority, r.repeat, r.times))
        .collect();
    // b's repeats come with a's second record (the program restarts the count for a), each
    // replay after its own record.
    assert_eq!(
        summary,
        [
            (90, false, 1),
            (90, true, 2),
            (100, false, 1),
            (100, true, 3)
        ]
    );
    let times: Vec<u64> = out.iter().map(|r| r.ktime_ns).collect();
    assert!(times.is_sorted(), "in receive order: {times:?}");
    assert!(h.drain().is_empty());
}

#[test]
fn an_eager_vrid_queues_every_advert_and_lazy_again_forgets_the_last() {
    let mut h = Harness::new(0);
    let advert = Advert::v3_v4(51, 100, vec![v4(10, 0, 0, 100)], 100);
    assert_eq!(h.one(&advert.frame(None)), QUEUED);
    h.object.set_rx_eager(AF_INET, 51, true).expect("eager");
    for i in 0..3 {
        assert_eq!(h.one(&advert.frame(None)), QUEUED, "eager repeat {i}");
    }
    // Back to lazy: the slot is cleared, so the first advert after it is queued.
    h.object.set_rx_eager(AF_INET, 51, false).expect("lazy");
    assert_eq!(h.one(&advert.frame(None)), QUEUED, "first after lazy");
    assert_eq!(h.one(&advert.frame(None)), COUNTED, "then counted");
    // Eagerness is per family.
    h.object.set_rx_eager(AF_INET6, 51, true).expect("eager v6");
    assert_eq!(h.one(&advert.frame(None)), COUNTED, "IPv4 unaffected");
}

#[test]
fn observe_mode_queues_every_advert() {
    let mut h = Harness::new(CONFIG_WATCH_ALL);
    let advert = Advert::v3_v4(77, 100, vec![v4(10, 0, 0, 100)], 100);
    for i in 0..3 {
        assert_eq!(h.one(&advert.frame(None)), QUEUED, "advert {i}");
    }
}
