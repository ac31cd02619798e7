//! [`Attachment`]: the object attached to one interface, in native or SKB mode, with its ring
//! buffer registered with tokio. Detaches on drop.
use std::collections::HashSet;
use std::ffi::CString;
use std::fmt;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use aya::programs::{
    XdpMode as AyaXdpMode, links::LinkType, loaded_links, loaded_programs, xdp::XdpLinkId,
};
use tokio::io::{Interest, unix::AsyncFd};
use vrrp_common::{CONFIG_WATCH_ALL, PROGRAM_NAME, XdpConfig};

use super::{
    Counters, DataplaneError, Received, Receiver, VridWant, XdpObject, XdpProgram, link_xdp,
};
use crate::cli::XdpMode;

/// The mode the program actually runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XdpModeUsed {
    Native,
    Skb,
}

impl fmt::Display for XdpModeUsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            XdpModeUsed::Native => "native",
            XdpModeUsed::Skb => "skb",
        })
    }
}

impl XdpModeUsed {
    fn aya(self) -> AyaXdpMode {
        match self {
            XdpModeUsed::Native => AyaXdpMode::Driver,
            XdpModeUsed::Skb => AyaXdpMode::Skb,
        }
    }
}

pub struct Attachment {
    object: XdpObject,
    ring: AsyncFd<Receiver>,
    link: Option<XdpLinkId>,
    iface: String,
    ifindex: u32,
    mode: XdpModeUsed,
    /// What the program's `CONFIG` map holds.
    config: XdpConfig,
}

impl Attachment {
    /// Loads a fresh copy of the object and attaches it to `iface`. `watch_all` reports adverts
    /// of every VRID (observe mode). Must be called inside a tokio runtime.
    pub fn attach(
        iface: &str,
        mode: XdpMode,
        watch_all: bool,
    ) -> Result<Attachment, DataplaneError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(DataplaneError::NoRuntime);
        }
        let ifindex = if_index(iface)?;
        let config = XdpConfig {
            flags: if watch_all { CONFIG_WATCH_ALL } else { 0 },
            mac: read_mac(iface)?,
            _pad: [0; 2],
        };
        let mut object = XdpObject::load(config)?;
        clear_stale(iface, ifindex)?;
        let (link, mode) = match mode {
            XdpMode::Native => (
                attach_in(&mut object, iface, ifindex, XdpModeUsed::Native)?,
                XdpModeUsed::Native,
            ),
            XdpMode::Skb => (
                attach_in(&mut object, iface, ifindex, XdpModeUsed::Skb)?,
                XdpModeUsed::Skb,
            ),
            XdpMode::Auto => match attach_in(&mut object, iface, ifindex, XdpModeUsed::Native) {
                Ok(link) => (link, XdpModeUsed::Native),
                Err(native) => {
                    tracing::warn!("{native}; falling back to SKB (generic) mode");
                    (
                        attach_in(&mut object, iface, ifindex, XdpModeUsed::Skb)?,
                        XdpModeUsed::Skb,
                    )
                }
            },
        };
        // From here on, `Drop` detaches whatever fails.
        let events = match object.take_receiver() {
            Ok(events) => events,
            Err(e) => {
                detach(&mut object, link, iface);
                return Err(e);
            }
        };
        // SAFETY: the Receiver owns the ring buffer's map fd and returns that same fd for as
        // long as it lives, and the AsyncFd owns the Receiver.
        let ring = match unsafe { AsyncFd::register_with_interest(events, Interest::READABLE) } {
            Ok(ring) => ring,
            Err(e) => {
                detach(&mut object, link, iface);
                return Err(DataplaneError::Readiness(e.into()));
            }
        };
        Ok(Attachment {
            object,
            ring,
            link: Some(link),
            iface: iface.to_owned(),
            ifindex,
            mode,
            config,
        })
    }

    /// The interface's MAC changed (`ip link set … address`, a bond's failover): the ARP/NA
    /// answers XDP sends carry the new one from now on.
    pub fn set_mac(&mut self, mac: [u8; 6]) -> Result<(), DataplaneError> {
        let config = XdpConfig { mac, ..self.config };
        self.object.set_config(config)?;
        self.config = config;
        Ok(())
    }

    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    pub fn iface(&self) -> &str {
        &self.iface
    }

    pub fn mode_used(&self) -> XdpModeUsed {
        self.mode
    }

    pub fn set_vrid(
        &mut self,
        vrid: u8,
        want_v4: bool,
        want_v6: bool,
    ) -> Result<(), DataplaneError> {
        self.object.set_vrid(vrid, want_v4, want_v6)
    }

    pub fn set_vrid_want(&mut self, vrid: u8, want: VridWant) -> Result<(), DataplaneError> {
        self.object.set_vrid_want(vrid, want)
    }

    pub fn set_rx_eager(
        &mut self,
        family: u8,
        vrid: u8,
        eager: bool,
    ) -> Result<(), DataplaneError> {
        self.object.set_rx_eager(family, vrid, eager)
    }

    pub fn set_gate(&mut self, vip: IpAddr, open: bool) -> Result<(), DataplaneError> {
        self.object.set_gate(vip, open)
    }

    pub fn set_no_accept_vips(&mut self, vips: HashSet<IpAddr>) -> Result<(), DataplaneError> {
        self.object.set_no_accept_vips(vips)
    }

    pub fn remove_gate(&mut self, vip: IpAddr) -> Result<(), DataplaneError> {
        self.object.remove_gate(vip)
    }

    pub fn counters(&self) -> Result<Counters, DataplaneError> {
        self.object.counters()
    }

    /// Waits until the ring buffer may hold adverts, then clears the readiness so that the next
    /// call waits for new ones: call [`Attachment::drain`] after every return. Clearing before
    /// draining loses nothing: an advert arriving after the clear wakes the next call.
    pub async fn readable(&self) -> Result<(), DataplaneError> {
        let mut guard = self
            .ring
            .readable()
            .await
            .map_err(DataplaneError::Readiness)?;
        guard.clear_ready();
        Ok(())
    }

    /// Moves every queued advert and every repeat counted since the last call into `out`
    /// without blocking ([`Receiver::drain`]); returns how many entries.
    pub fn drain(&mut self, out: &mut Vec<Received>) -> usize {
        self.ring.get_mut().drain(out)
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        if let Some(link) = self.link.take() {
            detach(&mut self.object, link, &self.iface);
        }
    }
}

fn attach_in(
    object: &mut XdpObject,
    iface: &str,
    ifindex: u32,
    mode: XdpModeUsed,
) -> Result<XdpLinkId, DataplaneError> {
    object
        .program_mut(XdpProgram::Vrrp)?
        .attach_to_if_index(ifindex, mode.aya())
        .map_err(|source| DataplaneError::Attach {
            iface: iface.to_owned(),
            mode,
            source,
        })
}

fn detach(object: &mut XdpObject, link: XdpLinkId, iface: &str) {
    let result = object.program_mut(XdpProgram::Vrrp).and_then(|p| {
        p.detach(link).map_err(|source| DataplaneError::Program {
            name: PROGRAM_NAME,
            source,
        })
    });
    if let Err(e) = result {
        tracing::warn!("interface {iface}: detaching XDP: {e}");
    }
}

/// An earlier vrrpd killed before it could detach leaves `vrrp_xdp` attached only if it was
/// attached through netlink (a bpf_link dies with its process): replace that one. Anything else
/// attached is someone else's program, or a live vrrpd's link: refuse.
fn clear_stale(iface: &str, ifindex: u32) -> Result<(), DataplaneError> {
    let netlink_err = |source| DataplaneError::Netlink {
        iface: iface.to_owned(),
        source,
    };
    let Some(attached) = link_xdp::query(ifindex).map_err(netlink_err)? else {
        return Ok(());
    };
    let name = loaded_programs()
        .filter_map(Result::ok)
        .find(|p| p.id() == attached.prog_id)
        .and_then(|p| p.name_as_str().map(str::to_owned))
        .unwrap_or_default();
    let held_by_link = loaded_links()
        .filter_map(Result::ok)
        .any(|l| l.program_id() == attached.prog_id && l.link_type().ok() == Some(LinkType::Xdp));
    if name != PROGRAM_NAME || held_by_link {
        return Err(DataplaneError::AlreadyAttached {
            iface: iface.to_owned(),
            prog_id: attached.prog_id,
            name,
            hint: if held_by_link {
                " through a bpf_link (is another vrrpd running?)"
            } else {
                ""
            },
        });
    }
    tracing::warn!(
        "interface {iface}: replacing {PROGRAM_NAME} (id {}) left attached by an earlier vrrpd",
        attached.prog_id
    );
    link_xdp::set_fd(ifindex, -1, attached.mode_flags).map_err(netlink_err)
}

fn if_index(iface: &str) -> Result<u32, DataplaneError> {
    let unknown = || DataplaneError::UnknownInterface {
        iface: iface.to_owned(),
    };
    let name = CString::new(iface).map_err(|_| unknown())?;
    // SAFETY: if_nametoindex reads a NUL-terminated string we own.
    match unsafe { libc::if_nametoindex(name.as_ptr()) } {
        0 => Err(unknown()),
        index => Ok(index),
    }
}

/// The interface's MAC address, the ARP/NA sender address. Asked of the kernel through a socket
/// (SIOCGIFHWADDR) rather than read from sysfs, which shows the namespace it was mounted in, not
/// necessarily ours.
fn read_mac(iface: &str) -> Result<[u8; 6], DataplaneError> {
    let err = |source| DataplaneError::ReadMac {
        iface: iface.to_owned(),
        source,
    };
    if iface.len() >= libc::IFNAMSIZ {
        return Err(DataplaneError::UnknownInterface {
            iface: iface.to_owned(),
        });
    }
    // SAFETY: plain socket(2); the fd is owned right away.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(err(std::io::Error::last_os_error()));
    }
    // SAFETY: fd is a fresh socket nobody else owns.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: ifreq is plain data; all-zero is valid.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in ifr.ifr_name.iter_mut().zip(iface.bytes()) {
        *dst = src as libc::c_char;
    }
    // SAFETY: SIOCGIFHWADDR reads the name from and writes the address into the ifreq we own.
    if unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFHWADDR, &mut ifr) } != 0 {
        return Err(err(std::io::Error::last_os_error()));
    }
    // SAFETY: after SIOCGIFHWADDR the union holds `ifru_hwaddr`.
    let data = unsafe { ifr.ifr_ifru.ifru_hwaddr.sa_data };
    let mut mac = [0u8; 6];
    for (dst, src) in mac.iter_mut().zip(data) {
        *dst = src as u8;
    }
    Ok(mac)
}
