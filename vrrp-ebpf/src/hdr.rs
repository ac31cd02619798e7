//! Header layouts (all byte arrays, alignment 1) and bounds-checked packet access.
use aya_ebpf::programs::XdpContext;

pub const ETH_HDR_LEN: usize = 14;
pub const ETH_P_IP: u16 = 0x0800;
pub const ETH_P_ARP: u16 = 0x0806;
pub const ETH_P_IPV6: u16 = 0x86dd;
pub const ETH_P_8021Q: u16 = 0x8100;
pub const ETH_P_8021AD: u16 = 0x88a8;
pub const IPPROTO_ICMPV6: u8 = 58;

/// A pointer to a `T` at `off` bytes into the frame, if the whole `T` lies inside it. The only
/// way the program reads or writes packet memory, so the verifier sees one check per access.
#[inline(always)]
pub fn ptr_at<T>(ctx: &XdpContext, off: usize) -> Result<*const T, ()> {
    let start = ctx.data();
    let end = ctx.data_end();
    if start + off + core::mem::size_of::<T>() > end {
        return Err(());
    }
    Ok((start + off) as *const T)
}

#[inline(always)]
pub fn ptr_at_mut<T>(ctx: &XdpContext, off: usize) -> Result<*mut T, ()> {
    ptr_at::<T>(ctx, off).map(|p| p as *mut T)
}

#[inline(always)]
pub fn ether_type(ctx: &XdpContext) -> Result<u16, ()> {
    let eth: *const EthHdr = ptr_at(ctx, 0)?;
    // SAFETY: bounds checked by ptr_at.
    Ok(u16::from_be_bytes(unsafe { (*eth).ether_type }))
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct EthHdr {
    pub dst: [u8; 6],
    pub src: [u8; 6],
    pub ether_type: [u8; 2],
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct VlanTag {
    pub tci: [u8; 2],
    pub ether_type: [u8; 2],
}
impl VlanTag {
    pub const LEN: usize = 4;
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct Ipv4Hdr {
    pub vihl: u8,
    pub tos: u8,
    pub tot_len: [u8; 2],
    pub id: [u8; 2],
    pub frags: [u8; 2],
    pub ttl: u8,
    pub proto: u8,
    pub check: [u8; 2],
    pub src: [u8; 4],
    pub dst: [u8; 4],
}
impl Ipv4Hdr {
    pub const LEN: usize = 20;
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct Ipv6Hdr {
    pub vcf: [u8; 4],
    pub payload_len: [u8; 2],
    pub next_hdr: u8,
    pub hop_limit: u8,
    pub src: [u8; 16],
    pub dst: [u8; 16],
}
impl Ipv6Hdr {
    pub const LEN: usize = 40;
}

/// ARP for Ethernet/IPv4 (RFC 826), the only kind the gate answers.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ArpEth {
    pub htype: [u8; 2],
    pub ptype: [u8; 2],
    pub hlen: u8,
    pub plen: u8,
    pub oper: [u8; 2],
    pub sha: [u8; 6],
    pub spa: [u8; 4],
    pub tha: [u8; 6],
    pub tpa: [u8; 4],
}

/// ICMPv6 Neighbour Solicitation / Advertisement body without options (RFC 4861 §4.3, §4.4).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct NdMsg {
    pub icmp_type: u8,
    pub code: u8,
    pub checksum: [u8; 2],
    /// NA: R|S|O flags in the first byte; NS: reserved.
    pub flags: [u8; 4],
    pub target: [u8; 16],
}

/// The 8-byte VRRP header (RFC 5798 §5.1, RFC 3768 §5.1).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct VrrpHdr {
    pub ver_type: u8,
    pub vrid: u8,
    pub priority: u8,
    pub count_addrs: u8,
    /// v3: 4 reserved bits + 12-bit max advert interval (centiseconds); v2: auth type, advert
    /// interval (seconds).
    pub interval: [u8; 2],
    pub checksum: [u8; 2],
}
impl VrrpHdr {
    pub const LEN: usize = 8;
}
