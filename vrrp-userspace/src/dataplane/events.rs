//! The `EVENTS` ring buffer as a non-blocking source of [`AdvertEvent`]s.
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use aya::maps::{MapData, RingBuf};
use vrrp_common::{AdvertEvent, ShortAdvertRecord};

/// The userspace end of one object's ring buffer.
pub struct EventRing {
    ring: RingBuf<MapData>,
}

impl EventRing {
    pub(crate) fn new(ring: RingBuf<MapData>) -> EventRing {
        EventRing { ring }
    }

    /// Moves every queued advert into `out` without blocking; returns how many. Records of
    /// another size cannot come from our program and are skipped.
    pub fn drain(&mut self, out: &mut Vec<AdvertEvent>) -> usize {
        let mut n = 0;
        while let Some(item) = self.ring.next() {
            if let Some(event) = decode(&item) {
                out.push(event);
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

/// A full record as is, or a short one padded with zeros (the header layout is shared).
fn decode(record: &[u8]) -> Option<AdvertEvent> {
    if record.len() == size_of::<AdvertEvent>() {
        return Some(bytemuck::pod_read_unaligned(record));
    }
    if record.len() == size_of::<ShortAdvertRecord>() {
        let mut event: AdvertEvent = bytemuck::Zeroable::zeroed();
        bytemuck::bytes_of_mut(&mut event)[..record.len()].copy_from_slice(record);
        return Some(event);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use vrrp_common::{MAX_VRRP_PAYLOAD, SHORT_VRRP_PAYLOAD};

    #[test]
    fn short_records_are_padded_and_other_sizes_skipped() {
        let mut short: ShortAdvertRecord = bytemuck::Zeroable::zeroed();
        short.vrid = 42;
        short.captured_len = SHORT_VRRP_PAYLOAD as u16;
        short.payload = [7; SHORT_VRRP_PAYLOAD];
        let event = decode(bytemuck::bytes_of(&short)).expect("short record");
        assert_eq!(event.vrid, 42);
        assert_eq!(event.vrrp_bytes(), &[7; SHORT_VRRP_PAYLOAD][..]);
        assert!(event.payload[SHORT_VRRP_PAYLOAD..].iter().all(|&b| b == 0));

        let mut full: AdvertEvent = bytemuck::Zeroable::zeroed();
        full.captured_len = MAX_VRRP_PAYLOAD as u16;
        full.payload[MAX_VRRP_PAYLOAD - 1] = 9;
        let event = decode(bytemuck::bytes_of(&full)).expect("full record");
        assert_eq!(event.vrrp_bytes()[MAX_VRRP_PAYLOAD - 1], 9);

        assert!(decode(&[0u8; 100]).is_none());
        assert!(decode(&[]).is_none());
    }
}
