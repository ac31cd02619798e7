//! VRRP advert filter: IPv4/IPv6 → protocol 112 → the checks XDP can afford → ring buffer, or
//! for a repeat of the last queued advert of its VRID, a count in `RX_LAST`.
//! Userspace repeats every check (and the checksum) on the copied bytes; these keep junk and
//! uninteresting VRIDs out of the ring, and count what is malformed.
use aya_ebpf::{
    bindings::xdp_action::XDP_PASS,
    helpers::{bpf_ktime_get_ns, bpf_xdp_load_bytes},
    programs::XdpContext,
};
use core::ptr::{addr_of, addr_of_mut, read_volatile, write_volatile};

use vrrp_common::{
    AF_INET, AF_INET6, AdvertRecord, CONFIG_WATCH_ALL, Counter, IPPROTO_VRRP, MAX_VRRP_PAYLOAD,
    RX_EAGER, RxKey, SHORT_VRRP_PAYLOAD, VRID_UNICAST_V4, VRID_UNICAST_V6, VRID_WANT_V4,
    VRID_WANT_V6, VRRP_TTL, rx_last_index,
};

use crate::gate;
use crate::hdr::{IPPROTO_ICMPV6, Ipv4Hdr, Ipv6Hdr, VrrpHdr, ptr_at};
use crate::maps::{EVENTS, RX_LAST, VRIDS, config, count};

/// What the IP layer hands to the VRRP checks.
struct IpInfo {
    family: u8,
    ttl: u8,
    saddr: [u8; 16],
    daddr: [u8; 16],
    vlan_id: u16,
    /// Offset of the VRRP header in the frame.
    vrrp_off: usize,
    /// VRRP message length according to the IP header.
    payload_len: usize,
}

#[inline(always)]
pub fn ipv4(ctx: &XdpContext, off: usize, vlan_id: u16) -> Result<u32, ()> {
    let ip: *const Ipv4Hdr = ptr_at(ctx, off)?;
    // Every non-VRRP IPv4 frame leaves here: read the one byte that decides before copying the
    // header. SAFETY: bounds checked by ptr_at.
    if unsafe { (*ip).proto } != IPPROTO_VRRP {
        return Ok(XDP_PASS);
    }
    // SAFETY: as above; copied to the stack once.
    let ip = unsafe { *ip };
    // A fragment other than a whole datagram has no (or no complete) VRRP message; adverts are
    // never fragmented, so leave reassembly to the kernel.
    if u16::from_be_bytes(ip.frags) & 0x3fff != 0 {
        return Ok(XDP_PASS);
    }
    let ihl = ((ip.vihl & 0x0f) as usize) * 4;
    let tot_len = u16::from_be_bytes(ip.tot_len) as usize;
    if ihl < Ipv4Hdr::LEN || tot_len < ihl {
        count(Counter::BadLength);
        return Ok(XDP_PASS);
    }
    let mut saddr = [0u8; 16];
    let mut daddr = [0u8; 16];
    saddr[..4].copy_from_slice(&ip.src);
    daddr[..4].copy_from_slice(&ip.dst);
    vrrp(
        ctx,
        IpInfo {
            family: AF_INET,
            ttl: ip.ttl,
            saddr,
            daddr,
            vlan_id,
            vrrp_off: off + ihl,
            payload_len: tot_len - ihl,
        },
    )
}

#[inline(always)]
pub fn ipv6(ctx: &XdpContext, off: usize, vlan_id: u16) -> Result<u32, ()> {
    let ip: *const Ipv6Hdr = ptr_at(ctx, off)?;
    // SAFETY: bounds checked by ptr_at.
    let next_hdr = unsafe { (*ip).next_hdr };
    if next_hdr == IPPROTO_ICMPV6 {
        return gate::ns(ctx, off);
    }
    // Extension headers (next header ≠ 112) pass: VRRP adverts never carry them.
    if next_hdr != IPPROTO_VRRP {
        return Ok(XDP_PASS);
    }
    // SAFETY: as above.
    let ip = unsafe { *ip };
    vrrp(
        ctx,
        IpInfo {
            family: AF_INET6,
            ttl: ip.hop_limit,
            saddr: ip.src,
            daddr: ip.dst,
            vlan_id,
            vrrp_off: off + Ipv6Hdr::LEN,
            payload_len: u16::from_be_bytes(ip.payload_len) as usize,
        },
    )
}

#[inline(always)]
fn vrrp(ctx: &XdpContext, ip: IpInfo) -> Result<u32, ()> {
    // A malformed advert (bad TTL, version, type or length) is counted here once, under the
    // first check it fails. If its VRID is one we serve, it also goes to userspace, which
    // counts it in that instance's stats under keepalived's names (ip_ttl_err, vers_err,
    // invalid_type_rcvd, packet_len_err), as keepalived does for every packet of its VRIDs.
    // It never takes part in repeat counting.
    let mut bad: Option<Counter> = None;
    // RFC 5798 §7.1: an advert whose TTL / hop limit is not 255 is discarded, except for a VRID
    // in unicast mode (keepalived-behaviour.md §2.10): its peers may be routed hops away or send
    // `unicast_ttl`, and userspace applies their min_ttl/max_ttl. Only such adverts pay for the
    // extra VRID lookup.
    if ip.ttl != VRRP_TTL {
        let unicast = if ip.family == AF_INET {
            VRID_UNICAST_V4
        } else {
            VRID_UNICAST_V6
        };
        // SAFETY: bounds checked by ptr_at; one byte read.
        let vrid = ptr_at::<VrrpHdr>(ctx, ip.vrrp_off).map_or(0, |h| unsafe { (*h).vrid });
        if VRIDS.get(vrid as u32).copied().unwrap_or(0) & unicast == 0 {
            bad = Some(Counter::BadTtl);
        }
    }
    let Ok(hdr) = ptr_at::<VrrpHdr>(ctx, ip.vrrp_off) else {
        count(bad.unwrap_or(Counter::BadLength));
        return Ok(XDP_PASS);
    };
    // SAFETY: bounds checked by ptr_at.
    let hdr = unsafe { *hdr };
    let version = hdr.ver_type >> 4;
    if bad.is_none() && ((version != 2 && version != 3) || hdr.ver_type & 0x0f != 1) {
        bad = Some(Counter::BadVersionType);
    }
    let addr_len = if ip.family == AF_INET { 4 } else { 16 };
    // RFC 3768 §5.3.10: v2 carries 8 bytes of authentication data after the addresses.
    let auth_len = if version == 2 && ip.family == AF_INET {
        8
    } else {
        0
    };
    let needed = VrrpHdr::LEN + hdr.count_addrs as usize * addr_len + auth_len;
    let frame_len = ctx.data_end() - ctx.data();
    // A message the frame does not hold has nothing to copy, and one shorter than a VRID is
    // nobody's: both are only counted.
    if ip.vrrp_off + ip.payload_len > frame_len || ip.payload_len < 2 {
        count(bad.unwrap_or(Counter::BadLength));
        return Ok(XDP_PASS);
    }
    if bad.is_none() && ip.payload_len < needed {
        bad = Some(Counter::BadLength);
    }
    if let Some(counter) = bad {
        count(counter);
    }
    let malformed = bad.is_some();
    let cfg = config().unwrap_or_default();
    if cfg.flags & CONFIG_WATCH_ALL == 0 {
        let want = if ip.family == AF_INET {
            VRID_WANT_V4
        } else {
            VRID_WANT_V6
        };
        let wanted = VRIDS.get(hdr.vrid as u32).copied().unwrap_or(0);
        if wanted & want == 0 {
            if !malformed {
                count(Counter::UnknownVrid);
            }
            return Ok(XDP_PASS);
        }
    } else if malformed {
        // Observe mode prints adverts, and no instance counts errors.
        return Ok(XDP_PASS);
    }
    let interval = if version == 3 {
        u16::from_be_bytes(hdr.interval) & 0x0fff
    } else {
        hdr.interval[1] as u16
    };
    let fields = Fields {
        version,
        vrid: hdr.vrid,
        priority: hdr.priority,
        count_addrs: hdr.count_addrs,
        interval,
    };
    // Observe mode prints every advert as it comes: no repeat is left out there.
    let slot = if cfg.flags & CONFIG_WATCH_ALL == 0 && !malformed {
        RX_LAST.get_ptr_mut(rx_last_index(ip.family, hdr.vrid))
    } else {
        None
    };
    let h = &hdr;
    let key = RxKey::new(
        &ip.saddr,
        &ip.daddr,
        &[
            h.ver_type,
            h.vrid,
            h.priority,
            h.count_addrs,
            h.interval[0],
            h.interval[1],
            h.checksum[0],
            h.checksum[1],
        ],
        ip.payload_len as u16,
        ip.ttl,
        ip.vlan_id,
    );
    if let Some(last) = slot {
        // SAFETY: an array map slot. Racing writers on other CPUs can at worst queue one advert
        // more or miscount a repeat: a torn key never equals a real advert's.
        unsafe {
            if (*last).flags & RX_EAGER == 0 && (*last).key.same(&key) {
                // Time first, count second: a reader that sees the count sees the time.
                write_volatile(addr_of_mut!((*last).ktime_ns), bpf_ktime_get_ns());
                let repeats = read_volatile(addr_of!((*last).repeats));
                write_volatile(addr_of_mut!((*last).repeats), repeats + 1);
                count(Counter::Adverts);
                return Ok(XDP_PASS);
            }
        }
    }
    // The repeats of the advert this one replaces go with it: the count restarts below.
    let prev = match slot {
        // SAFETY: as above.
        Some(last) => unsafe {
            (
                read_volatile(addr_of!((*last).repeats)) as u32,
                read_volatile(addr_of!((*last).ktime_ns)),
            )
        },
        None => (0, 0),
    };
    // Most adverts fit the short record: the ring then holds eight times as many.
    let queued = if ip.payload_len <= SHORT_VRRP_PAYLOAD {
        push::<SHORT_VRRP_PAYLOAD>(ctx, &ip, &fields, prev, !malformed)
    } else {
        push::<MAX_VRRP_PAYLOAD>(ctx, &ip, &fields, prev, !malformed)
    };
    if let (true, Some(last)) = (queued, slot) {
        // SAFETY: as above. Count reset before the key: a reader that sees the new key never
        // sees the old key's count.
        unsafe {
            write_volatile(addr_of_mut!((*last).repeats), 0);
            write_volatile(addr_of_mut!((*last).key), key);
        }
    }
    Ok(XDP_PASS)
}

/// The VRRP header fields the event carries decoded.
struct Fields {
    version: u8,
    vrid: u8,
    priority: u8,
    count_addrs: u8,
    interval: u16,
}

/// Reserves an `AdvertRecord<N>`, fills it (with `prev`: the repeats count and latest time of
/// the advert it replaces), copies up to `N` bytes of the message into it and submits it,
/// counting it as an advert if `well_formed`; `false` if it could not.
///
/// Every record wakes the reader (the ring's default: a wake-up when the reader has caught up),
/// because every record is news: repeats never get here.
#[inline(always)]
fn push<const N: usize>(
    ctx: &XdpContext,
    ip: &IpInfo,
    f: &Fields,
    prev: (u32, u64),
    well_formed: bool,
) -> bool {
    let Some(mut entry) = EVENTS.reserve::<AdvertRecord<N>>(0) else {
        count(Counter::RingFull);
        return false;
    };
    let ev = entry.as_mut_ptr();
    let captured = if ip.payload_len < N {
        ip.payload_len
    } else {
        N
    };
    // SAFETY: `ev` points at a ring buffer reservation of size_of::<AdvertRecord<N>>() bytes
    // that only this program writes until submit.
    unsafe {
        (*ev).ktime_ns = bpf_ktime_get_ns();
        (*ev).ifindex = (*ctx.ctx).ingress_ifindex;
        (*ev).vlan_id = ip.vlan_id;
        (*ev).family = ip.family;
        (*ev).ttl = ip.ttl;
        (*ev).saddr = ip.saddr;
        (*ev).daddr = ip.daddr;
        (*ev).version = f.version;
        (*ev).vrid = f.vrid;
        (*ev).priority = f.priority;
        (*ev).count_addrs = f.count_addrs;
        (*ev).interval = f.interval;
        (*ev).payload_len = ip.payload_len as u16;
        (*ev).captured_len = captured as u16;
        (*ev)._pad = [0; 2];
        (*ev).prev_repeats = prev.0;
        (*ev).prev_ktime_ns = prev.1;
    }
    // The verifier wants the length provably in 1..=N for the copy into the reservation;
    // `needed ≥ 8` makes the lower bound true, this check makes it visible.
    let len = captured as u32;
    if len == 0 || len > N as u32 {
        entry.discard(0);
        return false;
    }
    // SAFETY: the destination is the record's payload array (N bytes ≥ len); the helper
    // bounds-checks the frame side itself.
    let copied = unsafe {
        bpf_xdp_load_bytes(
            ctx.ctx,
            ip.vrrp_off as u32,
            addr_of_mut!((*ev).payload) as *mut _,
            len,
        )
    };
    if copied != 0 {
        entry.discard(0);
        count(Counter::BadLength);
        return false;
    }
    entry.submit(0);
    if well_formed {
        count(Counter::Adverts);
    }
    true
}
