//! Which adverts wake the daemon (`vrrp_common::RxLast`): a repeat of the last advert of a
//! (family, VRID) is queued quietly, anything new wakes the ring's reader, and so does every
//! advert of a VRID marked eager, every advert in observe mode, and every advert once the ring
//! holds `RING_WAKE_BYTES`. Checked on the record's `wakeup` byte and on the ring's file
//! descriptor in edge-triggered epoll, as tokio registers it. Root only.
#[path = "support/xdp_frames.rs"]
mod xdp_frames;

use std::os::fd::{AsRawFd, RawFd};

use vrrp_common::{
    AF_INET, AF_INET6, AdvertEvent, CONFIG_WATCH_ALL, RECORD_WOKE, RING_WAKE_BYTES,
    ShortAdvertRecord, XdpConfig,
};
use vrrpd::dataplane::{EventRing, XdpObject, XdpProgram};
use xdp_frames::*;

/// An object with its ring registered in an edge-triggered epoll set.
struct Harness {
    object: XdpObject,
    events: EventRing,
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
        let events = object.take_events().expect("take EVENTS");
        // SAFETY: plain syscalls on descriptors we own; `ev` lives across the call.
        let epoll = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        assert!(epoll >= 0, "epoll_create1");
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLET) as u32,
            u64: 0,
        };
        let rc =
            unsafe { libc::epoll_ctl(epoll, libc::EPOLL_CTL_ADD, events.as_raw_fd(), &mut ev) };
        assert_eq!(rc, 0, "epoll_ctl");
        object.set_vrid(51, true, true).expect("VRIDS");
        Harness {
            object,
            events,
            epoll,
        }
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

    /// Runs one advert, drains it; returns its `wakeup` byte and whether epoll saw a wake-up.
    fn one(&mut self, frame: &[u8]) -> (u8, bool) {
        self.push(frame, 1);
        let woken = self.woken();
        let mut out = Vec::new();
        self.events.drain(&mut out);
        assert_eq!(out.len(), 1, "one record per advert");
        (out[0].wakeup, woken)
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        // SAFETY: our descriptor, closed once.
        unsafe { libc::close(self.epoll) };
    }
}

const WOKE: (u8, bool) = (RECORD_WOKE, true);
const QUIET: (u8, bool) = (0, false);

#[test]
fn a_repeat_is_quiet_and_anything_new_wakes() {
    let mut h = Harness::new(0);
    let advert = Advert::v3_v4(51, 100, vec![v4(10, 0, 0, 100)], 100);
    assert_eq!(h.one(&advert.frame(None)), WOKE, "first advert");
    assert_eq!(h.one(&advert.frame(None)), QUIET, "same advert again");
    assert_eq!(h.one(&advert.frame(None)), QUIET, "and again");

    let lower = Advert::v3_v4(51, 90, vec![v4(10, 0, 0, 100)], 100);
    assert_eq!(h.one(&lower.frame(None)), WOKE, "priority changed");
    assert_eq!(h.one(&lower.frame(None)), QUIET, "its repeat");

    let mut other = lower.clone();
    other.src = v4(10, 0, 0, 9).into();
    assert_eq!(h.one(&other.frame(None)), WOKE, "another source");

    let slower = Advert::v3_v4(51, 90, vec![v4(10, 0, 0, 100)], 200);
    let mut slower = slower;
    slower.src = other.src;
    assert_eq!(h.one(&slower.frame(None)), WOKE, "interval changed");

    let more = Advert::v3_v4(51, 90, vec![v4(10, 0, 0, 100), v4(10, 0, 0, 101)], 200);
    let mut more = more;
    more.src = other.src;
    assert_eq!(h.one(&more.frame(None)), WOKE, "address list changed");
    assert_eq!(h.one(&more.frame(None)), QUIET, "its repeat");

    // The same VRID in the other family has its own slot.
    let v6 = Advert::v3_v6(51, 90, vec![v6(0xfd00, 0x100)], 200);
    assert_eq!(h.one(&v6.frame(None)), WOKE, "IPv6 advert of the VRID");
    assert_eq!(h.one(&v6.frame(None)), QUIET, "its repeat");
    assert_eq!(h.one(&more.frame(None)), QUIET, "IPv4 repeat still quiet");
}

#[test]
fn an_eager_vrid_wakes_for_every_advert_and_lazy_again_forgets_the_last() {
    let mut h = Harness::new(0);
    let advert = Advert::v3_v4(51, 100, vec![v4(10, 0, 0, 100)], 100);
    assert_eq!(h.one(&advert.frame(None)), WOKE);
    h.object.set_rx_eager(AF_INET, 51, true).expect("eager");
    for i in 0..3 {
        assert_eq!(h.one(&advert.frame(None)), WOKE, "eager repeat {i}");
    }
    // Back to lazy: the slot is cleared, so the first advert after it wakes the daemon.
    h.object.set_rx_eager(AF_INET, 51, false).expect("lazy");
    assert_eq!(h.one(&advert.frame(None)), WOKE, "first after lazy");
    assert_eq!(h.one(&advert.frame(None)), QUIET, "then quiet");
    // Eagerness is per family.
    h.object.set_rx_eager(AF_INET6, 51, true).expect("eager v6");
    assert_eq!(h.one(&advert.frame(None)), QUIET, "IPv4 unaffected");
}

#[test]
fn observe_mode_wakes_for_every_advert() {
    let mut h = Harness::new(CONFIG_WATCH_ALL);
    let advert = Advert::v3_v4(77, 100, vec![v4(10, 0, 0, 100)], 100);
    for i in 0..3 {
        // Nothing is queued quietly in observe mode, so the ring's adaptive wake-up suffices.
        assert_eq!(h.one(&advert.frame(None)), WOKE, "advert {i}");
    }
}

#[test]
fn a_filling_ring_wakes_for_repeats() {
    let mut h = Harness::new(0);
    let advert = Advert::v3_v4(51, 100, vec![v4(10, 0, 0, 100)], 100);
    let frame = advert.frame(None);
    assert_eq!(h.one(&frame), WOKE);
    // Fill the ring up to RING_WAKE_BYTES with quiet repeats (short records + 8-byte header;
    // the program compares after reserving, so the count includes the record in hand).
    let record = (size_of::<ShortAdvertRecord>() + 8) as u64;
    let quiet = (RING_WAKE_BYTES / record) as u32;
    h.push(&frame, quiet);
    assert!(!h.woken(), "repeats below the threshold stay quiet");
    h.push(&frame, 1);
    assert!(h.woken(), "a repeat past the threshold wakes the reader");
    let mut out: Vec<AdvertEvent> = Vec::new();
    h.events.drain(&mut out);
    assert_eq!(out.len(), quiet as usize + 1);
    assert!(
        out[..quiet as usize].iter().all(|e| e.wakeup == 0),
        "repeats below the threshold are unmarked"
    );
    assert_eq!(out.last().map(|e| e.wakeup), Some(RECORD_WOKE));
    // Drained: below the threshold again, so repeats are quiet again.
    assert_eq!(h.one(&frame), QUIET);
}
