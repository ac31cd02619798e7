//! The `EVENTS` ring buffer as a non-blocking source of [`AdvertEvent`]s.
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use aya::maps::{MapData, RingBuf};
use vrrp_common::AdvertEvent;

/// The userspace end of one object's ring buffer.
pub struct EventRing {
    ring: RingBuf<MapData>,
}

impl EventRing {
    pub(crate) fn new(ring: RingBuf<MapData>) -> EventRing {
        EventRing { ring }
    }

    /// Moves every queued advert into `out` without blocking; returns how many. Records of the
    /// wrong size cannot come from our program and are skipped.
    pub fn drain(&mut self, out: &mut Vec<AdvertEvent>) -> usize {
        let mut n = 0;
        while let Some(item) = self.ring.next() {
            if item.len() >= size_of::<AdvertEvent>() {
                out.push(bytemuck::pod_read_unaligned(
                    &item[..size_of::<AdvertEvent>()],
                ));
                n += 1;
            }
        }
        n
    }
}

impl AsRawFd for EventRing {
    fn as_raw_fd(&self) -> RawFd {
        self.ring.as_raw_fd()
    }
}

impl AsFd for EventRing {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.ring.as_fd()
    }
}
