//! The program's maps, named as `vrrp_common::MAP_*` says, and the counter helper.
use aya_ebpf::{
    macros::map,
    maps::{Array, HashMap, PerCpuArray, RingBuf},
};
use vrrp_common::{
    COUNTER_SLOTS, Counter, MAX_NO_ACCEPT_VIPS, MAX_VIPS, NoAcceptFilter, RING_BUF_BYTES,
    RX_LAST_MAP_FLAGS, RX_LAST_SLOTS, RxLast, VipFilter, VipKey, XdpConfig,
};

/// Adverts for userspace ([`vrrp_common::AdvertEvent`] records).
#[map(name = "EVENTS")]
pub static EVENTS: RingBuf = RingBuf::with_byte_size(RING_BUF_BYTES, 0);

/// Per-CPU counters indexed by [`Counter`]: per CPU so that counting never contends.
#[map(name = "COUNTERS")]
pub static COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(COUNTER_SLOTS, 0);

/// Index = VRID, value = `VRID_WANT_*` | `VRID_UNICAST_*` flags.
#[map(name = "VRIDS")]
pub static VRIDS: Array<u32> = Array::with_max_entries(256, 0);

/// One [`XdpConfig`], written by userspace at attach.
#[map(name = "CONFIG")]
pub static CONFIG: Array<XdpConfig> = Array::with_max_entries(1, 0);

/// VIP → `GATE_OPEN` / `GATE_CLOSED`.
#[map(name = "VIP_GATE")]
pub static VIP_GATE: HashMap<VipKey, u32> = HashMap::with_max_entries(MAX_VIPS, 0);

/// Last bytes of the VIPs in `VIP_GATE`, checked before the hash lookup.
#[map(name = "VIP_FILTER")]
pub static VIP_FILTER: Array<VipFilter> = Array::with_max_entries(1, 0);

/// VIPs of a non-owner master in no_accept mode: traffic to them is dropped.
#[map(name = "NO_ACCEPT")]
pub static NO_ACCEPT: HashMap<VipKey, u32> = HashMap::with_max_entries(MAX_NO_ACCEPT_VIPS, 0);

/// Whether `NO_ACCEPT` has entries, and their last bytes, checked before the hash lookup.
#[map(name = "NO_ACCEPT_FILTER")]
pub static NO_ACCEPT_FILTER: Array<NoAcceptFilter> = Array::with_max_entries(1, 0);

/// Whether an address ending in `last_byte` may be in `VIP_GATE` (false: certainly not).
#[inline(always)]
pub fn may_be_vip(last_byte: u8) -> bool {
    match VIP_FILTER.get(0) {
        Some(filter) => filter.may_contain(last_byte),
        None => false,
    }
}

/// Per (family, VRID): the last queued advert, its repeats since, and whether every advert is
/// queued ([`vrrp_common::RxLast`]).
#[map(name = "RX_LAST")]
pub static RX_LAST: Array<RxLast> = Array::with_max_entries(RX_LAST_SLOTS, RX_LAST_MAP_FLAGS);

#[inline(always)]
pub fn count(counter: Counter) {
    if let Some(slot) = COUNTERS.get_ptr_mut(counter as u32) {
        // SAFETY: per-CPU slot, XDP runs with preemption disabled on this CPU.
        unsafe { *slot += 1 };
    }
}

#[inline(always)]
pub fn config() -> Option<XdpConfig> {
    CONFIG.get(0).copied()
}
