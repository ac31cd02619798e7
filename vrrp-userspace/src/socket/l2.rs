//! The link-layer sender for gratuitous ARP and unsolicited neighbour advertisements: an
//! `AF_PACKET` socket bound to one interface that sends complete Ethernet frames built by
//! [`crate::packet`].

use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};

use socket2::{Domain, Socket, Type};

use super::{SendOutcome, SocketError, make_send_only};

/// Sends whole Ethernet frames on one interface. Protocol 0 means the kernel delivers no
/// received frames to it; sends never block (a full buffer drops the frame, counted).
#[derive(Debug)]
pub struct L2Socket {
    sock: Socket,
    ifname: String,
    dropped: AtomicU64,
}

impl L2Socket {
    pub fn new(ifname: &str, ifindex: u32) -> Result<L2Socket, SocketError> {
        let setup = |syscall: &'static str| {
            move |source| SocketError::Setup {
                kind: "AF_PACKET",
                ifname: ifname.to_owned(),
                syscall,
                source,
            }
        };
        let sock = Socket::new(Domain::PACKET, Type::RAW.cloexec(), None)
            .map_err(setup("socket(AF_PACKET, SOCK_RAW, 0)"))?;
        make_send_only(&sock).map_err(|(syscall, e)| setup(syscall)(e))?;
        // SAFETY: sockaddr_ll is plain data; all-zero is a valid starting value.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_ifindex = ifindex as libc::c_int;
        // Protocol 0 in bind too: bound for sending, still subscribed to nothing.
        sll.sll_protocol = 0;
        // SAFETY: `sll` is a valid sockaddr_ll of the length given.
        let rc = unsafe {
            libc::bind(
                sock.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(setup("bind(sockaddr_ll)")(std::io::Error::last_os_error()));
        }
        Ok(L2Socket {
            sock,
            ifname: ifname.to_owned(),
            dropped: AtomicU64::new(0),
        })
    }

    /// Sends one complete Ethernet frame (destination MAC first). Never blocks.
    pub fn send_frame(&self, frame: &[u8]) -> Result<SendOutcome, SocketError> {
        match self.sock.send(frame) {
            Ok(_) => Ok(SendOutcome::Sent),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                Ok(SendOutcome::Dropped)
            }
            Err(source) => Err(SocketError::SendFrame {
                ifname: self.ifname.clone(),
                source,
            }),
        }
    }

    /// Frames dropped because the send buffer was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub fn ifname(&self) -> &str {
        &self.ifname
    }
}
