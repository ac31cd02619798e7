//! The XDP program: finds VRRP adverts and hands them to userspace through a ring buffer, and
//! answers or drops ARP requests / neighbour solicitations for virtual addresses (the gate).
//!
//! Verdicts: every VRRP frame, valid or not, gets `XDP_PASS`. The program is a filter feeding the
//! daemon, not a firewall: passing keeps adverts visible to the kernel, tcpdump and any other
//! daemon, and a daemon bug can never blackhole VRRP. The daemon does not need the socket copy (it
//! reads the ring buffer), so the cost is one extra skb per advert, a few per second. Frames the
//! program cannot parse also pass. Only the gate uses `XDP_TX` / `XDP_DROP` (and no_accept,
//! which drops traffic to a no_accept master's VIPs).
#![no_std]
#![no_main]

mod advert;
mod gate;
mod hdr;
mod maps;

use aya_ebpf::{bindings::xdp_action, macros::xdp, programs::XdpContext};
use vrrp_common::Counter;

use crate::hdr::{
    ETH_HDR_LEN, ETH_P_8021AD, ETH_P_8021Q, ETH_P_ARP, ETH_P_IP, ETH_P_IPV6, VlanTag,
};
use crate::maps::count;

#[xdp]
pub fn vrrp_xdp(ctx: XdpContext) -> u32 {
    // An `Err` means "could not parse": hand the frame to the kernel.
    try_vrrp_xdp(&ctx).unwrap_or(xdp_action::XDP_PASS)
}

/// The benchmark's baseline and a peer-end program so that `XDP_TX` on a veth is delivered.
#[xdp]
pub fn xdp_pass(_ctx: XdpContext) -> u32 {
    xdp_action::XDP_PASS
}

/// The benchmark's reference for one receive timestamp, which every advert costs.
#[xdp]
pub fn xdp_ktime(_ctx: XdpContext) -> u32 {
    // SAFETY: a helper without arguments.
    let now = unsafe { aya_ebpf::helpers::bpf_ktime_get_ns() };
    // Used, so that the call stays.
    if now == 0 {
        xdp_action::XDP_DROP
    } else {
        xdp_action::XDP_PASS
    }
}

#[inline(always)]
fn try_vrrp_xdp(ctx: &XdpContext) -> Result<u32, ()> {
    count(Counter::Frames);
    let mut ether_type = hdr::ether_type(ctx)?;
    let mut l3_off = ETH_HDR_LEN;
    let mut vlan_id = 0u16;
    // One tag only: 802.1Q, or an 802.1ad S-tag when the frame carries a single tag.
    if ether_type == ETH_P_8021Q || ether_type == ETH_P_8021AD {
        let tag: *const VlanTag = hdr::ptr_at(ctx, ETH_HDR_LEN)?;
        // SAFETY: ptr_at checked that the tag lies inside the frame.
        let tag = unsafe { *tag };
        vlan_id = u16::from_be_bytes(tag.tci) & 0x0fff;
        ether_type = u16::from_be_bytes(tag.ether_type);
        l3_off += VlanTag::LEN;
    }
    match ether_type {
        ETH_P_IP if gate::no_accept_v4(ctx, l3_off) => Ok(xdp_action::XDP_DROP),
        ETH_P_IP => advert::ipv4(ctx, l3_off, vlan_id),
        ETH_P_IPV6 if gate::no_accept_v6(ctx, l3_off) => Ok(xdp_action::XDP_DROP),
        ETH_P_IPV6 => advert::ipv6(ctx, l3_off, vlan_id),
        ETH_P_ARP => gate::arp(ctx, l3_off),
        _ => Ok(xdp_action::XDP_PASS),
    }
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
