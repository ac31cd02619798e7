//! Records and constants shared by the XDP program (`vrrp-ebpf`) and the daemon (`vrrp-userspace`).
//!
//! Everything here is `#[repr(C)]`, `Copy`, and padded explicitly so the eBPF side and userspace agree
//! byte for byte; `const` assertions pin each size. Flags are `u32`/`u8` fields, never `bool`, so the
//! `Pod` impls (feature `user`) have no hidden padding.
#![no_std]

/// IP protocol number / IPv6 next header of VRRP (RFC 5798 §5.1.1.3).
pub const IPPROTO_VRRP: u8 = 112;
/// TTL / hop limit every multicast advert must carry (RFC 5798 §5.1.1.3).
pub const VRRP_TTL: u8 = 255;

/// Address family codes used in [`AdvertEvent::family`] and [`VipKey::family`] (Linux `AF_*`).
pub const AF_INET: u8 = 2;
pub const AF_INET6: u8 = 10;

/// Map names, as the XDP program declares them and userspace looks them up.
pub const MAP_EVENTS: &str = "EVENTS";
pub const MAP_COUNTERS: &str = "COUNTERS";
pub const MAP_VRIDS: &str = "VRIDS";
pub const MAP_CONFIG: &str = "CONFIG";
pub const MAP_VIP_GATE: &str = "VIP_GATE";
pub const MAP_VIP_FILTER: &str = "VIP_FILTER";

// ----- no_accept (keepalived's Accept_Mode off) -----
/// `NO_ACCEPT` hash map (key [`VipKey`], value unused): the VIPs of a master that is not the
/// address owner and runs `no_accept` (or `vrrp_strict` without `accept`). XDP drops traffic
/// addressed to them, except IPv6 neighbour discovery, as keepalived's nftables rules do.
pub const MAP_NO_ACCEPT: &str = "NO_ACCEPT";
/// `NO_ACCEPT_FILTER` array of one [`NoAcceptFilter`]: checked before `NO_ACCEPT` so that, with
/// no such VIP (the usual case), every frame pays one array read and nothing else.
pub const MAP_NO_ACCEPT_FILTER: &str = "NO_ACCEPT_FILTER";
/// Entries of the `NO_ACCEPT` map.
pub const MAX_NO_ACCEPT_VIPS: u32 = 1024;

/// Value of `NO_ACCEPT_FILTER`: whether `NO_ACCEPT` has any entry, and the last bytes of them.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoAcceptFilter {
    /// Non-zero when `NO_ACCEPT` has entries.
    pub active: u32,
    pub _pad: u32,
    pub last_byte: VipFilter,
}
const _: () = assert!(core::mem::size_of::<NoAcceptFilter>() == 40);

#[cfg(feature = "user")]
// SAFETY: two u32 and four u64, no implicit padding (size asserted above).
unsafe impl aya::Pod for NoAcceptFilter {}
// ----- end no_accept -----
/// Name of the XDP program in the object.
pub const PROGRAM_NAME: &str = "vrrp_xdp";

/// Longest VRRP message copied into an [`AdvertEvent`]: the 8-byte header, 8 bytes of v2
/// authentication data and 90 IPv6 addresses (what a 1500-byte MTU carries; keepalived moves the
/// excess to the excluded list). Longer adverts are still reported, with `captured_len < payload_len`.
pub const MAX_VRRP_PAYLOAD: usize = 1456;
/// Default ring buffer size in bytes (power of two, multiple of the page size).
pub const RING_BUF_BYTES: u32 = 1 << 20;
/// Entries of the VIP gate map.
pub const MAX_VIPS: u32 = 4096;

/// One VRRP advert as seen by XDP, as userspace receives it.
///
/// The XDP program only filters (Ethernet, VLAN, IP, TTL, version, type, length, VRID of
/// interest); userspace re-checks everything, including the checksum, from `payload`.
pub type AdvertEvent = AdvertRecord<MAX_VRRP_PAYLOAD>;

/// Payload room of the short ring-buffer record, used when the VRRP message fits (v3 IPv4 up
/// to 26 addresses, v2 up to 24, v3 IPv6 up to 6): a ring of [`RING_BUF_BYTES`] then holds
/// ~5700 adverts instead of ~680. Userspace pads short records to an [`AdvertEvent`].
pub const SHORT_VRRP_PAYLOAD: usize = 112;
/// The record with a short payload.
pub type ShortAdvertRecord = AdvertRecord<SHORT_VRRP_PAYLOAD>;
/// Bytes before `payload` in every record.
pub const ADVERT_HEADER_LEN: usize = 72;

/// A ring-buffer record: the advert's decoded fields and the first `N` bytes of its VRRP
/// message. The program writes `AdvertRecord<SHORT_VRRP_PAYLOAD>` or
/// `AdvertRecord<MAX_VRRP_PAYLOAD>`; both share the header layout.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct AdvertRecord<const N: usize> {
    /// `bpf_ktime_get_ns()` at receive: CLOCK_MONOTONIC nanoseconds.
    pub ktime_ns: u64,
    pub ifindex: u32,
    /// 802.1Q VLAN id, 0 when untagged.
    pub vlan_id: u16,
    /// [`AF_INET`] or [`AF_INET6`].
    pub family: u8,
    /// TTL or hop limit as received.
    pub ttl: u8,
    /// Source and destination IP; IPv4 uses the first 4 bytes, the rest are zero.
    pub saddr: [u8; 16],
    pub daddr: [u8; 16],
    /// Decoded header fields (also in `payload`; here so that `watch` and counters need no decode).
    pub version: u8,
    pub vrid: u8,
    pub priority: u8,
    pub count_addrs: u8,
    /// v2: advert interval in seconds; v3: max advert interval in centiseconds.
    pub interval: u16,
    /// Length of the VRRP message according to the IP header.
    pub payload_len: u16,
    /// Bytes of the VRRP message copied into `payload` (≤ `N`).
    pub captured_len: u16,
    pub _pad: [u8; 2],
    /// Repeats the program counted of the advert this record replaces in `RX_LAST` (the last
    /// queued one of its family and VRID), and when the latest of them arrived: what userspace
    /// has not been told yet, since the program resets the count for the new advert.
    pub prev_repeats: u32,
    pub prev_ktime_ns: u64,
    pub payload: [u8; N],
}

const _: () = assert!(core::mem::size_of::<AdvertEvent>() == ADVERT_HEADER_LEN + MAX_VRRP_PAYLOAD);
const _: () =
    assert!(core::mem::size_of::<ShortAdvertRecord>() == ADVERT_HEADER_LEN + SHORT_VRRP_PAYLOAD);
const _: () = assert!(core::mem::offset_of!(AdvertEvent, payload) == ADVERT_HEADER_LEN);

/// Indexes into the per-CPU `COUNTERS` array.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    /// Every frame the program ran on.
    Frames = 0,
    /// Valid adverts pushed to the ring buffer.
    Adverts = 1,
    /// VRRP with TTL / hop limit other than 255.
    BadTtl = 2,
    /// VRRP with a version other than 2/3 or a type other than 1.
    BadVersionType = 3,
    /// VRRP whose IP length does not cover the header and the address list.
    BadLength = 4,
    /// VRRP for a VRID not in the `VRIDS` map (and not in watch-all mode).
    UnknownVrid = 5,
    /// Ring buffer reserve failed: the advert was lost to userspace.
    RingFull = 6,
    /// ARP requests for an owned VIP answered with XDP_TX.
    ArpReplied = 7,
    /// IPv6 neighbour solicitations for an owned VIP answered with XDP_TX.
    NsReplied = 8,
    /// ARP requests for a VIP this node does not own, dropped.
    ArpDropped = 9,
    /// Neighbour solicitations for a VIP this node does not own, dropped.
    NsDropped = 10,
}

/// Number of slots in `COUNTERS`.
pub const COUNTER_SLOTS: u32 = 11;

impl Counter {
    pub const ALL: [Counter; COUNTER_SLOTS as usize] = [
        Counter::Frames,
        Counter::Adverts,
        Counter::BadTtl,
        Counter::BadVersionType,
        Counter::BadLength,
        Counter::UnknownVrid,
        Counter::RingFull,
        Counter::ArpReplied,
        Counter::NsReplied,
        Counter::ArpDropped,
        Counter::NsDropped,
    ];

    /// Stable snake_case name, used by `watch`, `status` and metrics.
    pub const fn name(self) -> &'static str {
        match self {
            Counter::Frames => "frames",
            Counter::Adverts => "adverts",
            Counter::BadTtl => "bad_ttl",
            Counter::BadVersionType => "bad_version_type",
            Counter::BadLength => "bad_length",
            Counter::UnknownVrid => "unknown_vrid",
            Counter::RingFull => "ring_full",
            Counter::ArpReplied => "arp_replied",
            Counter::NsReplied => "ns_replied",
            Counter::ArpDropped => "arp_dropped",
            Counter::NsDropped => "ns_dropped",
        }
    }
}

/// `VRIDS` map (array of 256 `u32`, index = VRID): which families this node wants adverts for.
pub const VRID_WANT_V4: u32 = 1 << 0;
pub const VRID_WANT_V6: u32 = 1 << 1;
/// The VRID's instance of that family is in unicast mode: its adverts are reported whatever their
/// TTL / hop limit (peers may be routed hops away or send `unicast_ttl`); userspace applies the
/// peers' `min_ttl`/`max_ttl` (keepalived-behaviour.md §2.10).
pub const VRID_UNICAST_V4: u32 = 1 << 2;
pub const VRID_UNICAST_V6: u32 = 1 << 3;

/// `CONFIG` map (array of one [`XdpConfig`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct XdpConfig {
    /// `CONFIG_WATCH_ALL`: report adverts of every VRID (observe mode).
    pub flags: u32,
    /// MAC address of the interface the program is attached to, used as the ARP/NA sender.
    pub mac: [u8; 6],
    pub _pad: [u8; 2],
}
pub const CONFIG_WATCH_ALL: u32 = 1 << 0;
const _: () = assert!(core::mem::size_of::<XdpConfig>() == 12);

/// Key of the `VIP_GATE` hash map: a virtual address on this interface.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct VipKey {
    /// [`AF_INET`] or [`AF_INET6`].
    pub family: u8,
    pub _pad: [u8; 3],
    /// IPv4 in the first 4 bytes, the rest zero.
    pub addr: [u8; 16],
}
const _: () = assert!(core::mem::size_of::<VipKey>() == 20);

impl VipKey {
    /// The byte [`VipFilter`] indexes by: the address's last byte.
    pub const fn last_byte(&self) -> u8 {
        if self.family == AF_INET {
            self.addr[3]
        } else {
            self.addr[15]
        }
    }
}

/// `VIP_FILTER` map (array of one): a 256-bit set of the last bytes of every address in
/// `VIP_GATE`. ARP requests and solicitations for other addresses (nearly all of them) skip the
/// hash lookup: a one-byte Bloom filter, kept exact by userspace on every gate change.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VipFilter {
    pub last_byte: [u64; 4],
}
const _: () = assert!(core::mem::size_of::<VipFilter>() == 32);

impl VipFilter {
    #[inline(always)]
    pub const fn may_contain(&self, last_byte: u8) -> bool {
        self.last_byte[(last_byte >> 6) as usize] & (1 << (last_byte & 63)) != 0
    }

    pub fn insert(&mut self, last_byte: u8) {
        self.last_byte[(last_byte >> 6) as usize] |= 1 << (last_byte & 63);
    }
}

/// Value of the `VIP_GATE` map. A VIP absent from the map is none of our business (XDP_PASS).
/// `GATE_OPEN`: this node is master: XDP answers ARP requests / NS for it with XDP_TX.
/// `GATE_CLOSED`: this node is not master: XDP drops ARP requests / NS for it, so that a stale
/// address on a backup never draws traffic.
pub const GATE_CLOSED: u32 = 0;
pub const GATE_OPEN: u32 = 1;

#[cfg(feature = "user")]
impl<const N: usize> AdvertRecord<N> {
    fn ip(&self, bytes: &[u8; 16]) -> core::net::IpAddr {
        if self.family == AF_INET {
            core::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).into()
        } else {
            core::net::Ipv6Addr::from(*bytes).into()
        }
    }

    /// The advert's IP source: the sending router's primary address.
    pub fn source(&self) -> core::net::IpAddr {
        self.ip(&self.saddr)
    }

    pub fn destination(&self) -> core::net::IpAddr {
        self.ip(&self.daddr)
    }

    /// The VRRP message as captured (header onwards); shorter than `payload_len` only when the
    /// advert exceeded [`MAX_VRRP_PAYLOAD`].
    pub fn vrrp_bytes(&self) -> &[u8] {
        let len = (self.captured_len as usize).min(N);
        &self.payload[..len]
    }
}

#[cfg(feature = "user")]
mod user {
    use super::*;
    // SAFETY: all fields are integers or byte arrays and the layouts have no implicit padding
    // (checked by the size assertions above).
    unsafe impl<const N: usize> aya::Pod for AdvertRecord<N> {}
    unsafe impl aya::Pod for XdpConfig {}
    unsafe impl aya::Pod for VipKey {}
    unsafe impl aya::Pod for VipFilter {}
    unsafe impl<const N: usize> bytemuck::Zeroable for AdvertRecord<N> {}
    unsafe impl<const N: usize> bytemuck::Pod for AdvertRecord<N> {}
    unsafe impl bytemuck::Zeroable for XdpConfig {}
    unsafe impl bytemuck::Pod for XdpConfig {}
    unsafe impl bytemuck::Zeroable for VipKey {}
    unsafe impl bytemuck::Pod for VipKey {}
}

/// Name of the `RX_LAST` map.
pub const MAP_RX_LAST: &str = "RX_LAST";
/// Entries of `RX_LAST`: index = VRID for IPv4, 256 + VRID for IPv6 ([`rx_last_index`]).
pub const RX_LAST_SLOTS: u32 = 512;
/// `BPF_F_MMAPABLE`: userspace reads `RX_LAST` through a shared mapping, without a syscall per
/// slot, every time it drains the ring.
pub const RX_LAST_MAP_FLAGS: u32 = 1 << 10;

/// What identifies an advert as a repeat of the previous one of its (family, VRID): the
/// addresses, the first 8 VRRP bytes (version/type, VRID, priority, count, interval, checksum;
/// the checksum covers the rest of the message), its length, TTL and VLAN.
///
/// Both sides build it with [`RxKey::new`]: XDP from the frame, userspace from the record.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RxKey {
    pub saddr: [u32; 4],
    pub daddr: [u32; 4],
    pub header: [u32; 2],
    /// `payload_len | ttl << 16`, `vlan_id`.
    pub meta: [u32; 2],
}
const _: () = assert!(core::mem::size_of::<RxKey>() == 48);

impl RxKey {
    #[inline(always)]
    pub const fn new(
        saddr: &[u8; 16],
        daddr: &[u8; 16],
        header: &[u8; 8],
        payload_len: u16,
        ttl: u8,
        vlan_id: u16,
    ) -> RxKey {
        RxKey {
            saddr: words4(saddr),
            daddr: words4(daddr),
            header: [
                u32::from_ne_bytes([header[0], header[1], header[2], header[3]]),
                u32::from_ne_bytes([header[4], header[5], header[6], header[7]]),
            ],
            meta: [payload_len as u32 | (ttl as u32) << 16, vlan_id as u32],
        }
    }

    /// Word by word: a derived `==` on arrays may become a `memcmp` call, which BPF has not.
    #[inline(always)]
    pub const fn same(&self, other: &RxKey) -> bool {
        self.saddr[0] == other.saddr[0]
            && self.saddr[1] == other.saddr[1]
            && self.saddr[2] == other.saddr[2]
            && self.saddr[3] == other.saddr[3]
            && self.daddr[0] == other.daddr[0]
            && self.daddr[1] == other.daddr[1]
            && self.daddr[2] == other.daddr[2]
            && self.daddr[3] == other.daddr[3]
            && self.header[0] == other.header[0]
            && self.header[1] == other.header[1]
            && self.meta[0] == other.meta[0]
            && self.meta[1] == other.meta[1]
    }
}

#[inline(always)]
const fn words4(b: &[u8; 16]) -> [u32; 4] {
    [
        u32::from_ne_bytes([b[0], b[1], b[2], b[3]]),
        u32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
        u32::from_ne_bytes([b[8], b[9], b[10], b[11]]),
        u32::from_ne_bytes([b[12], b[13], b[14], b[15]]),
    ]
}

/// `RX_LAST` map value, per (family, VRID): the last advert the program put in the ring, and how
/// often it has been repeated since.
///
/// A repeat of that advert (same [`RxKey`]) is not queued at all: the program stores its receive
/// time and counts it here, and userspace replays the last record when it next drains the ring.
/// A backup only needs a repeat when its Master_Down_Timer is about to fire, and the daemon
/// drains before it acts on any timer; so a steady master costs a backup one wake-up per
/// Master_Down_Interval and no ring record per advert. Anything new (another source, priority,
/// interval, address list, ...) is queued and wakes the daemon at once, and so is every advert of
/// a VRID userspace marks [`RX_EAGER`] (its instance is not a quiet backup).
///
/// Write order, which the reader relies on: the program submits the record, then sets
/// `repeats = 0` and `key`; for a repeat it sets `ktime_ns`, then increments `repeats`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RxLast {
    /// The last queued advert.
    pub key: RxKey,
    /// [`RX_EAGER`], written by userspace (which clears the rest of the slot with it).
    pub flags: u32,
    pub _pad: u32,
    /// `bpf_ktime_get_ns()` when the latest repeat arrived.
    pub ktime_ns: u64,
    /// Repeats of `key` since it was queued.
    pub repeats: u64,
}
const _: () = assert!(core::mem::size_of::<RxLast>() == 72);
/// Queue every advert of this (family, VRID).
pub const RX_EAGER: u32 = 1 << 0;

/// The `RX_LAST` slot of a (family, VRID).
#[inline(always)]
pub const fn rx_last_index(family: u8, vrid: u8) -> u32 {
    vrid as u32 + if family == AF_INET6 { 256 } else { 0 }
}

#[cfg(feature = "user")]
impl<const N: usize> AdvertRecord<N> {
    /// The record's [`RxKey`], as the program computed it for the advert.
    pub fn rx_key(&self) -> RxKey {
        let mut header = [0u8; 8];
        let n = (self.captured_len as usize).min(8).min(N);
        header[..n].copy_from_slice(&self.payload[..n]);
        RxKey::new(
            &self.saddr,
            &self.daddr,
            &header,
            self.payload_len,
            self.ttl,
            self.vlan_id,
        )
    }
}

#[cfg(feature = "user")]
mod user_rx_last {
    // SAFETY: integers only, no implicit padding (size asserted above).
    unsafe impl aya::Pod for super::RxLast {}
}
