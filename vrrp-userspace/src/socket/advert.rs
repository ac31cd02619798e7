//! The advert sender: one raw `IPPROTO_VRRP` socket per (interface, address family), with the
//! IP header fields keepalived puts on adverts (keepalived-behaviour.md §2.7): TTL/hop limit 255,
//! TOS/traffic class 0xc0 (network control), the chosen source address, and on IPv6 the VRRP
//! checksum filled in by the kernel.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::{SendOutcome, SocketError, make_send_only, setsockopt};

/// IP protocol number of VRRP.
pub const IPPROTO_VRRP: i32 = 112;
/// The VRRP IPv4 multicast group.
pub const VRRP_MCAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// The VRRP IPv6 multicast group.
pub const VRRP_MCAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

/// RFC 5798 §5.1.1.3 / §5.1.2.3: adverts go out with TTL / hop limit 255, and receivers drop
/// anything else, which proves the sender is on the link.
const TTL: u32 = 255;
/// IPTOS_PREC_INTERNETCONTROL, as keepalived sets.
const TOS: u32 = 0xc0;
/// Offset of the checksum in the VRRP header, for `IPV6_CHECKSUM`.
const VRRP_CHECKSUM_OFFSET: libc::c_int = 6;

/// Sends VRRP adverts on one interface for one address family. Sends never block: if the
/// socket buffer is full the advert is dropped and counted in [`AdvertSocket::dropped`] (the
/// next advert follows one interval later anyway).
#[derive(Debug)]
pub struct AdvertSocket {
    sock: Socket,
    ifname: String,
    ifindex: u32,
    src: IpAddr,
    dropped: AtomicU64,
    /// The TTL (hop limit) the socket now gives unicast adverts. Instances sharing the socket
    /// may each have their own `unicast_ttl`, and a reload may change it: [`AdvertSocket::send`]
    /// sets the option only when the advert in hand needs another value.
    unicast_ttl: AtomicU8,
}

impl AdvertSocket {
    /// An IPv4 advert socket on `ifname` (index `ifindex`) sending from `src`, which must be an
    /// address of this host (normally the interface's primary address, or `mcast_src_ip` /
    /// `unicast_src_ip`).
    pub fn ipv4(ifname: &str, ifindex: u32, src: Ipv4Addr) -> Result<AdvertSocket, SocketError> {
        let setup = |syscall: &'static str| {
            move |source| SocketError::Setup {
                kind: "IPv4 advert",
                ifname: ifname.to_owned(),
                syscall,
                source,
            }
        };
        let sock = Socket::new(
            Domain::IPV4,
            Type::RAW.cloexec(),
            Some(Protocol::from(IPPROTO_VRRP)),
        )
        .map_err(setup("socket(AF_INET, SOCK_RAW, 112)"))?;
        make_send_only(&sock).map_err(|(syscall, e)| setup(syscall)(e))?;
        sock.bind_device(Some(ifname.as_bytes()))
            .map_err(setup("setsockopt(SO_BINDTODEVICE)"))?;
        sock.set_ttl(TTL).map_err(setup("setsockopt(IP_TTL)"))?;
        sock.set_multicast_ttl_v4(TTL)
            .map_err(setup("setsockopt(IP_MULTICAST_TTL)"))?;
        sock.set_tos(TOS).map_err(setup("setsockopt(IP_TOS)"))?;
        sock.set_multicast_loop_v4(false)
            .map_err(setup("setsockopt(IP_MULTICAST_LOOP)"))?;
        let mreqn = libc::ip_mreqn {
            imr_multiaddr: libc::in_addr { s_addr: 0 },
            imr_address: libc::in_addr {
                s_addr: u32::from(src).to_be(),
            },
            imr_ifindex: ifindex as libc::c_int,
        };
        setsockopt(&sock, libc::IPPROTO_IP, libc::IP_MULTICAST_IF, &mreqn)
            .map_err(setup("setsockopt(IP_MULTICAST_IF)"))?;
        // keepalived's adverts leave DF clear; path MTU discovery means nothing on one link.
        setsockopt(
            &sock,
            libc::IPPROTO_IP,
            libc::IP_MTU_DISCOVER,
            &libc::IP_PMTUDISC_DONT,
        )
        .map_err(setup("setsockopt(IP_MTU_DISCOVER)"))?;
        sock.bind(&SockAddr::from(SocketAddrV4::new(src, 0)))
            .map_err(setup("bind(source address)"))?;
        Ok(AdvertSocket {
            sock,
            ifname: ifname.to_owned(),
            ifindex,
            src: IpAddr::V4(src),
            dropped: AtomicU64::new(0),
            unicast_ttl: AtomicU8::new(TTL as u8),
        })
    }

    /// An IPv6 advert socket on `ifname` (index `ifindex`) sending from the link-local `src`.
    ///
    /// The kernel computes the VRRPv3 checksum (`IPV6_CHECKSUM` at offset 6, over the IPv6
    /// pseudo-header and the payload): the caller leaves the checksum field zero.
    pub fn ipv6(ifname: &str, ifindex: u32, src: Ipv6Addr) -> Result<AdvertSocket, SocketError> {
        let setup = |syscall: &'static str| {
            move |source| SocketError::Setup {
                kind: "IPv6 advert",
                ifname: ifname.to_owned(),
                syscall,
                source,
            }
        };
        let sock = Socket::new(
            Domain::IPV6,
            Type::RAW.cloexec(),
            Some(Protocol::from(IPPROTO_VRRP)),
        )
        .map_err(setup("socket(AF_INET6, SOCK_RAW, 112)"))?;
        make_send_only(&sock).map_err(|(syscall, e)| setup(syscall)(e))?;
        sock.bind_device(Some(ifname.as_bytes()))
            .map_err(setup("setsockopt(SO_BINDTODEVICE)"))?;
        sock.set_multicast_hops_v6(TTL)
            .map_err(setup("setsockopt(IPV6_MULTICAST_HOPS)"))?;
        sock.set_unicast_hops_v6(TTL)
            .map_err(setup("setsockopt(IPV6_UNICAST_HOPS)"))?;
        sock.set_multicast_loop_v6(false)
            .map_err(setup("setsockopt(IPV6_MULTICAST_LOOP)"))?;
        sock.set_multicast_if_v6(ifindex)
            .map_err(setup("setsockopt(IPV6_MULTICAST_IF)"))?;
        sock.set_tclass_v6(TOS)
            .map_err(setup("setsockopt(IPV6_TCLASS)"))?;
        setsockopt(
            &sock,
            libc::IPPROTO_IPV6,
            libc::IPV6_CHECKSUM,
            &VRRP_CHECKSUM_OFFSET,
        )
        .map_err(setup("setsockopt(IPV6_CHECKSUM)"))?;
        sock.bind(&SockAddr::from(SocketAddrV6::new(src, 0, 0, ifindex)))
            .map_err(setup("bind(link-local source address)"))?;
        Ok(AdvertSocket {
            sock,
            ifname: ifname.to_owned(),
            ifindex,
            src: IpAddr::V6(src),
            dropped: AtomicU64::new(0),
            unicast_ttl: AtomicU8::new(TTL as u8),
        })
    }

    /// Sets the TTL (hop limit) of unicast adverts: keepalived's `unicast_ttl`. Multicast adverts
    /// keep 255. Done by [`AdvertSocket::send`] as needed; ahead of time, it keeps the option
    /// change off the first send.
    pub fn set_unicast_ttl(&self, ttl: u8) -> Result<(), SocketError> {
        if self.unicast_ttl.load(Ordering::Relaxed) == ttl {
            return Ok(());
        }
        let res = match self.src {
            IpAddr::V4(_) => self
                .sock
                .set_ttl(u32::from(ttl))
                .map_err(|e| ("setsockopt(IP_TTL)", e)),
            IpAddr::V6(_) => self
                .sock
                .set_unicast_hops_v6(u32::from(ttl))
                .map_err(|e| ("setsockopt(IPV6_UNICAST_HOPS)", e)),
        };
        res.map_err(|(syscall, source)| SocketError::Setup {
            kind: self.kind(),
            ifname: self.ifname.clone(),
            syscall,
            source,
        })?;
        self.unicast_ttl.store(ttl, Ordering::Relaxed);
        Ok(())
    }

    /// Sends one advert (the VRRP header onwards; the kernel adds the IP header) to `dst`: the
    /// VRRP group ([`VRRP_MCAST_V4`], [`VRRP_MCAST_V6`]) with TTL 255, or a unicast peer with
    /// `unicast_ttl` (keepalived's, 255 unless configured; keepalived puts it on each packet, so
    /// it follows the sending instance and a reload at once). Never blocks.
    pub fn send(
        &self,
        vrrp_payload: &[u8],
        dst: IpAddr,
        unicast_ttl: u8,
    ) -> Result<SendOutcome, SocketError> {
        if !dst.is_multicast() {
            self.set_unicast_ttl(unicast_ttl)?;
        }
        let addr = match (self.src, dst) {
            (IpAddr::V4(_), IpAddr::V4(d)) => SockAddr::from(SocketAddrV4::new(d, 0)),
            (IpAddr::V6(_), IpAddr::V6(d)) => {
                // Link-scoped destinations (ff02::12, a fe80:: peer) need the interface.
                let scoped = d.is_multicast() || d.segments()[0] & 0xffc0 == 0xfe80;
                let scope_id = if scoped { self.ifindex } else { 0 };
                SockAddr::from(SocketAddrV6::new(d, 0, 0, scope_id))
            }
            _ => {
                return Err(SocketError::WrongFamily {
                    ifname: self.ifname.clone(),
                    family: self.kind(),
                    dst,
                });
            }
        };
        match self.sock.send_to(vrrp_payload, &addr) {
            Ok(_) => Ok(SendOutcome::Sent),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                Ok(SendOutcome::Dropped)
            }
            Err(source) => Err(SocketError::Send {
                ifname: self.ifname.clone(),
                src: self.src,
                dst,
                source,
            }),
        }
    }

    /// Adverts dropped because the send buffer was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub fn src(&self) -> IpAddr {
        self.src
    }

    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    fn kind(&self) -> &'static str {
        match self.src {
            IpAddr::V4(_) => "IPv4 advert",
            IpAddr::V6(_) => "IPv6 advert",
        }
    }
}
