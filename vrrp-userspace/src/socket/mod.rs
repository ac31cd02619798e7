//! Raw sockets: VRRP adverts out (IPv4/IPv6 IP sockets for unicast peers; multicast adverts,
//! gratuitous ARP and unsolicited NA leave as whole frames on the AF_PACKET socket). Send-only:
//! adverts are received by the XDP program, so these sockets drop everything the kernel would
//! queue to them, and a full send buffer drops a packet (counted) rather than stall the daemon.

mod advert;
mod l2;

use std::io;
use std::net::IpAddr;

use socket2::Socket;

pub use advert::{AdvertSocket, IPPROTO_VRRP, VRRP_MCAST_V4, VRRP_MCAST_V6};

pub use l2::L2Socket;

/// A socket could not be set up or a send failed. Says which interface, which address and which
/// syscall.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error("{kind} socket on {ifname}: {syscall} failed: {source}")]
    Setup {
        kind: &'static str,
        ifname: String,
        syscall: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("sending advert on {ifname} from {src} to {dst} failed: {source}")]
    Send {
        ifname: String,
        src: IpAddr,
        dst: IpAddr,
        #[source]
        source: io::Error,
    },
    #[error("advert socket on {ifname} is {family}, cannot send to {dst}")]
    WrongFamily {
        ifname: String,
        family: &'static str,
        dst: IpAddr,
    },
    #[error("sending frame on {ifname} failed: {source}")]
    SendFrame {
        ifname: String,
        #[source]
        source: io::Error,
    },
}

/// What a non-blocking send did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendOutcome {
    Sent,
    /// The socket's send buffer was full (`EAGAIN`): the packet was dropped and counted.
    Dropped,
}

/// Makes a send-only socket: nothing it would receive is queued. A classic BPF filter that
/// returns 0 drops every packet before it reaches the receive queue; the minimal receive buffer
/// bounds what could slip in before the filter is attached.
fn make_send_only(sock: &Socket) -> Result<(), (&'static str, io::Error)> {
    sock.set_recv_buffer_size(0)
        .map_err(|e| ("setsockopt(SO_RCVBUF)", e))?;
    let drop_all = [libc::sock_filter {
        code: (libc::BPF_RET | libc::BPF_K) as u16,
        jt: 0,
        jf: 0,
        k: 0,
    }];
    sock.attach_filter(&drop_all)
        .map_err(|e| ("setsockopt(SO_ATTACH_FILTER)", e))?;
    sock.set_nonblocking(true)
        .map_err(|e| ("fcntl(O_NONBLOCK)", e))
}

/// `setsockopt` for options socket2 does not cover.
fn setsockopt<T>(
    sock: &Socket,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: `value` points to a live T of the size we pass.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}
