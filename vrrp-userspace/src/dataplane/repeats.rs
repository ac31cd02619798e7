//! Repeat adverts: the XDP program queues an advert only when it differs from the last one of
//! its (family, VRID) and otherwise counts it in `RX_LAST` with its receive time
//! ([`vrrp_common::RxLast`]). This module reads that map through a shared mapping and turns the
//! counts back into adverts: the last queued record, received again at the latest repeat's time.
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::os::fd::{AsFd, AsRawFd as _};
use std::ptr::{NonNull, addr_of};
use std::sync::Arc;
use std::sync::atomic::{Ordering, fence};

use vrrp_common::{AdvertEvent, RX_EAGER, RX_LAST_SLOTS, RxKey, RxLast, rx_last_index};

use super::{DataplaneError, EventRing};

/// A read-only shared mapping of one object's `RX_LAST` array (`BPF_F_MMAPABLE`).
pub struct RxLastView {
    base: NonNull<RxLast>,
    len: usize,
}

// SAFETY: the mapping is only read, with volatile loads, and lives as long as the view.
unsafe impl Send for RxLastView {}

impl RxLastView {
    /// Maps the array behind `fd` (an `RX_LAST` map of `RX_LAST_SLOTS` entries).
    pub(super) fn map(fd: &impl AsFd) -> Result<RxLastView, DataplaneError> {
        let len = RX_LAST_SLOTS as usize * size_of::<RxLast>();
        // SAFETY: a fresh shared read-only mapping of a BPF array; the kernel checks the length
        // against the map and keeps the map alive while it is mapped.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                fd.as_fd().as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(DataplaneError::MapMmap(std::io::Error::last_os_error()));
        }
        let base = NonNull::new(ptr.cast::<RxLast>())
            .ok_or_else(|| DataplaneError::MapMmap(std::io::Error::other("mmap returned null")))?;
        Ok(RxLastView { base, len })
    }

    /// One slot as the program last left it, read in the reverse of its write order
    /// (`repeats` before `ktime_ns`, the key after the count).
    fn read(&self, index: u32) -> Option<Slot> {
        if index >= RX_LAST_SLOTS {
            return None;
        }
        // SAFETY: in bounds of the mapping; plain integers, read volatile because the program
        // writes them concurrently (a torn read is caught by the key check of the caller).
        unsafe {
            let slot = self.base.as_ptr().add(index as usize);
            let repeats = std::ptr::read_volatile(addr_of!((*slot).repeats));
            fence(Ordering::Acquire);
            let ktime_ns = std::ptr::read_volatile(addr_of!((*slot).ktime_ns));
            let key = std::ptr::read_volatile(addr_of!((*slot).key));
            let flags = std::ptr::read_volatile(addr_of!((*slot).flags));
            Some(Slot {
                key,
                eager: flags & RX_EAGER != 0,
                ktime_ns,
                repeats,
            })
        }
    }
}

impl Drop for RxLastView {
    fn drop(&mut self) {
        // SAFETY: our mapping, unmapped once.
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.len) };
    }
}

struct Slot {
    key: RxKey,
    eager: bool,
    ktime_ns: u64,
    repeats: u64,
}

/// An advert to hand on: a record from the ring (`times` = 1), or the last record of a VRID
/// replayed for the `times` repeats the program counted since, at the latest one's receive time.
///
/// The record is shared with the VRID's [`Last`], not copied: it is 1.5 KB, and a steady backup
/// of 255 instances replays every VRID at each wake-up (copying them was 42 % of its CPU).
#[derive(Clone, Debug)]
pub struct Received {
    pub event: Arc<AdvertEvent>,
    /// When the advert (for a replay: the latest repeat) reached the XDP program; a replay's
    /// record keeps the receive time of the advert it repeats.
    pub ktime_ns: u64,
    pub times: u64,
    /// A replay of counted repeats, not a record from the ring.
    pub repeat: bool,
}

/// The last queued record of each (family, VRID), and how many of its repeats were handed on.
struct Last {
    event: Arc<AdvertEvent>,
    key: RxKey,
    seen: u64,
}

/// Drains a ring and its `RX_LAST` counts together.
pub struct Receiver {
    ring: EventRing,
    view: RxLastView,
    last: HashMap<u32, Last>,
    scratch: Vec<AdvertEvent>,
    /// (slot, replay, count it brings `seen` to), kept from call to call for its capacity.
    replays: Vec<(u32, Received, u64)>,
}

/// Drain rounds before repeats are left for the next call: each round that finds new records
/// must read the counts again (they may belong to a record not yet drained).
const MAX_ROUNDS: usize = 4;

impl Receiver {
    pub fn new(ring: EventRing, view: RxLastView) -> Receiver {
        Receiver {
            ring,
            view,
            last: HashMap::new(),
            scratch: Vec::new(),
            replays: Vec::new(),
        }
    }

    /// Moves every queued record into `out`, then every repeat counted since the last call, each
    /// as its slot's last record with the latest repeat's receive time; returns how many entries.
    /// A record that replaces an advert with repeats not yet handed on brings their count: they
    /// come just before it.
    ///
    /// Counts are read only when a drain right after them finds the ring still empty: a count
    /// read next to a record still in the ring could belong to that record, not to ours.
    pub fn drain(&mut self, out: &mut Vec<Received>) -> usize {
        let start = out.len();
        let mut replays = std::mem::take(&mut self.replays);
        for _ in 0..MAX_ROUNDS {
            if self.drain_ring(out) > 0 {
                continue;
            }
            replays.clear();
            for (&index, last) in &self.last {
                let Some(slot) = self.view.read(index) else {
                    continue;
                };
                if slot.eager || !slot.key.same(&last.key) || slot.repeats <= last.seen {
                    continue;
                }
                let times = slot.repeats - last.seen;
                replays.push((
                    index,
                    Received {
                        event: Arc::clone(&last.event),
                        ktime_ns: slot.ktime_ns,
                        times,
                        repeat: true,
                    },
                    slot.repeats,
                ));
            }
            if self.drain_ring(out) > 0 {
                continue;
            }
            for (index, received, repeats) in replays.drain(..) {
                if let Some(last) = self.last.get_mut(&index) {
                    last.seen = repeats;
                }
                out.push(received);
            }
            break;
        }
        replays.clear();
        self.replays = replays;
        out.len() - start
    }

    fn drain_ring(&mut self, out: &mut Vec<Received>) -> usize {
        self.scratch.clear();
        let n = self.ring.drain(&mut self.scratch);
        for event in self.scratch.drain(..) {
            let index = rx_last_index(event.family, event.vrid);
            let (key, ktime_ns) = (event.rx_key(), event.ktime_ns);
            let (prev_repeats, prev_ktime_ns) = (event.prev_repeats, event.prev_ktime_ns);
            let event = Arc::new(event);
            // The program resets the count when it queues a record: its repeats start at 0, and
            // the record brings the previous advert's that we have not replayed yet.
            let last = Last {
                event: Arc::clone(&event),
                key,
                seen: 0,
            };
            match self.last.entry(index) {
                Entry::Occupied(mut slot) => {
                    let prev = slot.get_mut();
                    let repeats = u64::from(prev_repeats);
                    if repeats > prev.seen {
                        out.push(Received {
                            event: Arc::clone(&prev.event),
                            ktime_ns: prev_ktime_ns,
                            times: repeats - prev.seen,
                            repeat: true,
                        });
                    }
                    *prev = last;
                }
                Entry::Vacant(slot) => {
                    slot.insert(last);
                }
            }
            out.push(Received {
                event,
                ktime_ns,
                times: 1,
                repeat: false,
            });
        }
        n
    }
}

impl std::os::fd::AsRawFd for Receiver {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.ring.as_raw_fd()
    }
}

impl std::os::fd::AsFd for Receiver {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        std::os::fd::AsFd::as_fd(&self.ring)
    }
}
