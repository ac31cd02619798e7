//! The ARP/ND gate: for a VIP in `VIP_GATE`, answer ARP requests / neighbour solicitations right
//! here when the gate is open (this node is master), drop them when it is closed (a backup must
//! never draw traffic for an address it may still hold). Anything else passes.
//!
//! Also no_accept (RFC 5798 Accept_Mode off, keepalived's `no_accept` / `vrrp_strict`): while a
//! non-owner is master, traffic addressed to its VIPs is dropped, as keepalived's nftables rules
//! drop it (`ip daddr @vips drop`, after accepting IPv6 neighbour discovery). ARP is not IP and
//! passes, as it does past keepalived's rules.
use aya_ebpf::{
    bindings::xdp_action::{XDP_DROP, XDP_PASS, XDP_TX},
    helpers::bpf_xdp_adjust_tail,
    programs::XdpContext,
};
use vrrp_common::{AF_INET, AF_INET6, Counter, GATE_OPEN, NoAcceptFilter, VipKey};

use crate::hdr::{ArpEth, EthHdr, IPPROTO_ICMPV6, Ipv4Hdr, Ipv6Hdr, NdMsg, ptr_at, ptr_at_mut};
use crate::maps::{NO_ACCEPT, NO_ACCEPT_FILTER, VIP_GATE, config, count, may_be_vip};

const ARP_REQUEST: [u8; 2] = [0, 1];
const ARP_REPLY: [u8; 2] = [0, 2];
const ND_NEIGHBOR_SOLICIT: u8 = 135;
const ND_NEIGHBOR_ADVERT: u8 = 136;
/// NA flags (RFC 4861 §4.4): Solicited, Override.
const NA_FLAG_SOLICITED: u8 = 0x40;
const NA_FLAG_OVERRIDE: u8 = 0x20;
/// Target link-layer address option (RFC 4861 §4.6.1): type 2, length 1 (× 8 bytes).
const ND_OPT_TARGET_LLADDR: [u8; 2] = [2, 1];
const ALL_NODES: [u8; 16] = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const ALL_NODES_MAC: [u8; 6] = [0x33, 0x33, 0, 0, 0, 1];
/// ICMPv6 length of our NA: the message plus one 8-byte target link-layer address option.
const NA_LEN: usize = 24 + 8;

/// The NA we write over the NS, from the IPv6 header on.
#[repr(C)]
struct NaFrame {
    ip: Ipv6Hdr,
    na: NdMsg,
    opt_type_len: [u8; 2],
    opt_lladdr: [u8; 6],
}

#[inline(always)]
pub fn arp(ctx: &XdpContext, off: usize) -> Result<u32, ()> {
    let arp: *mut ArpEth = ptr_at_mut(ctx, off)?;
    // Most ARP on a segment is for other addresses: rule those out on two fields before
    // copying anything.
    // SAFETY: bounds checked by ptr_at_mut.
    let (oper, tpa_last) = unsafe { ((*arp).oper, (*arp).tpa[3]) };
    if oper != ARP_REQUEST || !may_be_vip(tpa_last) {
        return Ok(XDP_PASS);
    }
    // SAFETY: as above.
    let req = unsafe { *arp };
    if req.htype != [0, 1] || req.ptype != [0x08, 0x00] || req.hlen != 6 || req.plen != 4 {
        return Ok(XDP_PASS);
    }
    // Gratuitous ARP announces, it asks nothing: leave it to the kernel.
    if req.spa == req.tpa {
        return Ok(XDP_PASS);
    }
    let mut key = VipKey {
        family: AF_INET,
        ..VipKey::default()
    };
    key.addr[..4].copy_from_slice(&req.tpa);
    // SAFETY: the value is a plain u32 read once.
    let Some(&gate) = (unsafe { VIP_GATE.get(key) }) else {
        return Ok(XDP_PASS);
    };
    if gate != GATE_OPEN {
        count(Counter::ArpDropped);
        return Ok(XDP_DROP);
    }
    let Some(cfg) = config() else {
        return Ok(XDP_PASS);
    };
    let eth: *mut EthHdr = ptr_at_mut(ctx, 0)?;
    // SAFETY: both headers were bounds-checked above; XDP owns the frame.
    unsafe {
        (*eth).dst = (*eth).src;
        (*eth).src = cfg.mac;
        (*arp).oper = ARP_REPLY;
        (*arp).sha = cfg.mac;
        (*arp).spa = req.tpa;
        (*arp).tha = req.sha;
        (*arp).tpa = req.spa;
    }
    count(Counter::ArpReplied);
    Ok(XDP_TX)
}

#[inline(always)]
pub fn ns(ctx: &XdpContext, off: usize) -> Result<u32, ()> {
    let ip: *const Ipv6Hdr = ptr_at(ctx, off)?;
    let msg: *const NdMsg = ptr_at(ctx, off + Ipv6Hdr::LEN)?;
    // Decide on four fields before copying anything: most ICMPv6 is not an NS for a VIP.
    // SAFETY: bounds checked by ptr_at.
    let (icmp_type, code, hop_limit, target_last) = unsafe {
        (
            (*msg).icmp_type,
            (*msg).code,
            (*ip).hop_limit,
            (*msg).target[15],
        )
    };
    // RFC 4861 §7.1.1: a valid NS has hop limit 255 and code 0.
    if icmp_type != ND_NEIGHBOR_SOLICIT || code != 0 || hop_limit != 255 {
        return Ok(XDP_PASS);
    }
    if !may_be_vip(target_last) {
        return Ok(XDP_PASS);
    }
    // SAFETY: as above.
    let (ip, msg) = unsafe { (*ip, *msg) };
    let key = VipKey {
        family: AF_INET6,
        _pad: [0; 3],
        addr: msg.target,
    };
    // SAFETY: the value is a plain u32 read once.
    let Some(&gate) = (unsafe { VIP_GATE.get(key) }) else {
        return Ok(XDP_PASS);
    };
    if gate != GATE_OPEN {
        count(Counter::NsDropped);
        return Ok(XDP_DROP);
    }
    let Some(cfg) = config() else {
        return Ok(XDP_PASS);
    };
    let eth: *const EthHdr = ptr_at(ctx, 0)?;
    // SAFETY: bounds checked by ptr_at.
    let requester_mac = unsafe { (*eth).src };
    // RFC 4861 §7.2.4: a solicitation from :: (duplicate address detection) is answered to
    // all-nodes with the Solicited flag clear.
    let from_unspecified = ip.src == [0u8; 16];
    let (dst, dst_mac, flags) = if from_unspecified {
        (ALL_NODES, ALL_NODES_MAC, NA_FLAG_OVERRIDE)
    } else {
        (ip.src, requester_mac, NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE)
    };
    // Resize the frame to exactly our NA: an NS may be shorter (no option) or longer (options).
    let want_len = off + Ipv6Hdr::LEN + NA_LEN;
    let have_len = ctx.data_end() - ctx.data();
    let delta = want_len as i32 - have_len as i32;
    // SAFETY: adjust_tail only moves data_end; every pointer is re-derived afterwards.
    if delta != 0 && unsafe { bpf_xdp_adjust_tail(ctx.ctx, delta) } != 0 {
        return Ok(XDP_PASS);
    }
    let eth: *mut EthHdr = ptr_at_mut(ctx, 0)?;
    let na: *mut NaFrame = ptr_at_mut(ctx, off)?;
    let checksum = na_checksum(&msg.target, &dst, flags, &cfg.mac);
    // SAFETY: bounds checked by ptr_at_mut after the resize.
    unsafe {
        (*eth).dst = dst_mac;
        (*eth).src = cfg.mac;
        (*na).ip = Ipv6Hdr {
            vcf: [0x60, 0, 0, 0],
            payload_len: (NA_LEN as u16).to_be_bytes(),
            next_hdr: IPPROTO_ICMPV6,
            hop_limit: 255,
            src: msg.target,
            dst,
        };
        (*na).na = NdMsg {
            icmp_type: ND_NEIGHBOR_ADVERT,
            code: 0,
            checksum,
            flags: [flags, 0, 0, 0],
            target: msg.target,
        };
        (*na).opt_type_len = ND_OPT_TARGET_LLADDR;
        (*na).opt_lladdr = cfg.mac;
    }
    count(Counter::NsReplied);
    Ok(XDP_TX)
}

/// ICMPv6 checksum (RFC 4443 §2.3) of our NA, computed from the values rather than the frame so
/// that the loop reads only the stack.
#[inline(always)]
fn na_checksum(target: &[u8; 16], dst: &[u8; 16], flags: u8, mac: &[u8; 6]) -> [u8; 2] {
    // Pseudo-header: source (= target), destination, upper-layer length, next header.
    let mut sum = sum_words(target) + sum_words(dst) + NA_LEN as u32 + IPPROTO_ICMPV6 as u32;
    // Type/code, flags, the target again, the option header and the MAC.
    sum += ((ND_NEIGHBOR_ADVERT as u32) << 8) + ((flags as u32) << 8) + sum_words(target);
    sum += u16::from_be_bytes(ND_OPT_TARGET_LLADDR) as u32;
    sum += u16::from_be_bytes([mac[0], mac[1]]) as u32
        + u16::from_be_bytes([mac[2], mac[3]]) as u32
        + u16::from_be_bytes([mac[4], mac[5]]) as u32;
    // Two folds bring any sum of these few words below 0x10000.
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    (!(sum as u16)).to_be_bytes()
}

#[inline(always)]
fn sum_words(bytes: &[u8; 16]) -> u32 {
    let mut sum = 0u32;
    let mut i = 0;
    while i < 16 {
        sum += u16::from_be_bytes([bytes[i], bytes[i + 1]]) as u32;
        i += 2;
    }
    sum
}

/// no_accept: whether the IPv4 packet at `off` is addressed to a no_accept VIP (drop it). With
/// no such VIP, the usual case, this costs one array read.
#[inline(always)]
pub fn no_accept_v4(ctx: &XdpContext, off: usize) -> bool {
    let Some(filter) = no_accept_filter() else {
        return false;
    };
    let Ok(ip) = ptr_at::<Ipv4Hdr>(ctx, off) else {
        return false;
    };
    // SAFETY: bounds checked by ptr_at; copied to the stack for the map lookup.
    let dst = unsafe { (*ip).dst };
    if !filter.last_byte.may_contain(dst[3]) {
        return false;
    }
    let mut key = VipKey {
        family: AF_INET,
        ..VipKey::default()
    };
    key.addr[..4].copy_from_slice(&dst);
    is_no_accept(&key)
}

/// no_accept for IPv6: as [`no_accept_v4`], except that neighbour solicitations and
/// advertisements pass (keepalived accepts neighbour discovery before its drop rule).
#[inline(always)]
pub fn no_accept_v6(ctx: &XdpContext, off: usize) -> bool {
    let Some(filter) = no_accept_filter() else {
        return false;
    };
    let Ok(ip) = ptr_at::<Ipv6Hdr>(ctx, off) else {
        return false;
    };
    // SAFETY: bounds checked by ptr_at; copied to the stack for the map lookup.
    let (next_hdr, dst) = unsafe { ((*ip).next_hdr, (*ip).dst) };
    if !filter.last_byte.may_contain(dst[15]) {
        return false;
    }
    if next_hdr == IPPROTO_ICMPV6 {
        // SAFETY: bounds checked by ptr_at; one byte read.
        let icmp_type = ptr_at::<u8>(ctx, off + Ipv6Hdr::LEN).map_or(0, |t| unsafe { *t });
        if icmp_type == ND_NEIGHBOR_SOLICIT || icmp_type == ND_NEIGHBOR_ADVERT {
            return false;
        }
    }
    is_no_accept(&VipKey {
        family: AF_INET6,
        _pad: [0; 3],
        addr: dst,
    })
}

/// The no_accept filter, `None` when there is no no_accept VIP at all.
#[inline(always)]
fn no_accept_filter() -> Option<&'static NoAcceptFilter> {
    NO_ACCEPT_FILTER.get(0).filter(|f| f.active != 0)
}

#[inline(always)]
fn is_no_accept(key: &VipKey) -> bool {
    // SAFETY: the value is not read.
    unsafe { NO_ACCEPT.get(key) }.is_some()
}
