//! `Capture`: every frame seen on one interface of a lab namespace, with the kernel's receive
//! timestamp (`SO_TIMESTAMPNS`), read by an `AF_PACKET` socket on a thread of the test process.
//! No external tool, and timestamps taken where the frame arrives, not when a reader gets to it:
//! what the takeover measurements and the benchmarks need. The same socket sends hand-made frames
//! (ARP requests, neighbour solicitations) for the gating tests.

use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::netns::Netns;
use crate::setns::{ifindex, in_netns};

/// How long the reader sleeps when nothing is queued (it never blocks in recvmsg, see
/// `read_frames`); what waits meanwhile sits in the socket's receive buffer.
const READ_PAUSE: Duration = Duration::from_millis(2);
/// Larger than any frame on a lab link (MTU 1500 plus headers).
const SNAPLEN: usize = 2048;
/// Receive buffer asked for: a capture beside a flood, or of 255 instances advertising every
/// 10 ms, must not lose frames while its reader is descheduled.
const RCVBUF: i32 = 64 << 20;

/// Which frames the kernel hands to a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    All,
    /// IPv4 protocol 112 only: keeps a capture beside a flood from drowning in it.
    VrrpOnly,
}

/// Which way a frame went, from the capturing interface's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Sent by another node (unicast to us, broadcast, multicast, or to another host).
    In,
    /// Sent by the capturing namespace itself.
    Out,
}

/// One captured frame.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Kernel receive time (CLOCK_REALTIME, as `SO_TIMESTAMPNS` gives it): compare frames with
    /// each other only.
    pub at: Duration,
    pub direction: Direction,
    /// The Ethernet frame, from the destination address on.
    pub data: Vec<u8>,
}

struct Shared {
    frames: Mutex<Vec<Frame>>,
    stop: AtomicBool,
}

/// A running capture; stops its reader on `Drop`.
pub struct Capture {
    socket: Arc<OwnedFd>,
    ifindex: u32,
    shared: Arc<Shared>,
    reader: Option<JoinHandle<()>>,
    started: Instant,
}

impl Capture {
    /// Starts capturing every frame on `iface` in `ns`. Frames already on the wire before this call
    /// returns may be missed; nothing after it is.
    pub fn start(ns: &Netns, iface: &str) -> Capture {
        Capture::start_filtered(ns, iface, Filter::All)
    }

    /// Like `start`, keeping only the frames `filter` lets through.
    pub fn start_filtered(ns: &Netns, iface: &str, filter: Filter) -> Capture {
        let ifindex = ifindex(ns, iface);
        let socket = in_netns(ns, || open(ifindex, filter))
            .unwrap_or_else(|e| panic!("AF_PACKET socket on {iface} in {}: {e}", ns.name()));
        let socket = Arc::new(socket);
        let shared = Arc::new(Shared {
            frames: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        let reader = {
            let (socket, shared) = (Arc::clone(&socket), Arc::clone(&shared));
            thread::spawn(move || read_frames(&socket, &shared))
        };
        Capture {
            socket,
            ifindex,
            shared,
            reader: Some(reader),
            started: Instant::now(),
        }
    }

    /// Every frame captured so far, in arrival order.
    pub fn frames(&self) -> Vec<Frame> {
        self.shared
            .frames
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Every VRRP advert for `vrid` captured so far, with its time and frame.
    pub fn adverts(&self, vrid: u8) -> Vec<(Duration, crate::wire::Advert, Frame)> {
        self.frames()
            .into_iter()
            .filter_map(|f| {
                crate::wire::advert(&f.data)
                    .filter(|a| a.vrid == vrid)
                    .map(|a| (f.at, a, f))
            })
            .collect()
    }

    /// Every gratuitous ARP announcing `ip` captured so far.
    pub fn garps(&self, ip: std::net::Ipv4Addr) -> Vec<Duration> {
        self.frames()
            .iter()
            .filter(|f| crate::wire::arp(&f.data).is_some_and(|a| a.is_gratuitous_for(ip)))
            .map(|f| f.at)
            .collect()
    }

    /// Stops the capture and returns every frame, in arrival order, including those still queued
    /// in the socket when it was called.
    pub fn finish(mut self) -> Vec<Frame> {
        self.stop();
        std::mem::take(&mut *self.shared.frames.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }

    /// Waits up to `timeout` for a frame matching `pred`, returns the first one.
    pub fn wait_for(&self, timeout: Duration, pred: impl Fn(&Frame) -> bool) -> Option<Frame> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(f) = self.frames().into_iter().find(|f| pred(f)) {
                return Some(f);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `frame` (a complete Ethernet frame) out of the captured interface.
    pub fn send(&self, frame: &[u8]) {
        // SAFETY: an all-zero sockaddr_ll is valid; the fields set below describe the interface.
        let mut to: libc::sockaddr_ll = unsafe { zeroed() };
        to.sll_family = libc::AF_PACKET as u16;
        to.sll_ifindex = self.ifindex as i32;
        to.sll_halen = 6;
        to.sll_addr[..6].copy_from_slice(&frame[..6]);
        // SAFETY: `frame` and `to` are valid for the lengths given for the duration of the call.
        let sent = unsafe {
            libc::sendto(
                self.socket.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&raw const to).cast(),
                size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        assert_eq!(
            sent,
            frame.len() as isize,
            "sending a {}-byte frame: {}",
            frame.len(),
            io::Error::last_os_error()
        );
    }

    /// How long this capture has been running.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A packet socket bound to `ifindex` that receives nothing: for sending hand-made frames (a
/// flood sender) from a thread that entered the namespace with `setns::in_netns`.
pub fn send_socket(ifindex: u32) -> io::Result<OwnedFd> {
    let socket = unbound()?;
    bind(&socket, ifindex, 0)?;
    Ok(socket)
}

/// A packet socket of protocol 0: it receives nothing until `bind` names a protocol, so options
/// and filters set before that apply to every frame it will see.
fn unbound() -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2) call; the result is checked before it is wrapped.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Binds `socket` to `ifindex` for `protocol` (an EtherType in host order; 0 = none).
fn bind(socket: &OwnedFd, ifindex: u32, protocol: u16) -> io::Result<()> {
    // SAFETY: an all-zero sockaddr_ll is valid; family, protocol and index are set below.
    let mut addr: libc::sockaddr_ll = unsafe { zeroed() };
    addr.sll_family = libc::AF_PACKET as u16;
    addr.sll_protocol = protocol.to_be();
    addr.sll_ifindex = ifindex as i32;
    // SAFETY: `addr` is a valid sockaddr_ll of the length given.
    let rc = unsafe {
        libc::bind(
            socket.as_raw_fd(),
            (&raw const addr).cast(),
            size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A packet socket for every protocol (or VRRP only), bound to `ifindex`, with kernel timestamps
/// and a receive buffer that holds what arrives while the reader sleeps.
fn open(ifindex: u32, filter: Filter) -> io::Result<OwnedFd> {
    let socket = unbound()?;
    let fd = socket.as_raw_fd();
    if filter == Filter::VrrpOnly {
        attach_vrrp_filter(fd)?;
    }
    set_option(fd, libc::SO_TIMESTAMPNS, &1i32)?;
    // RCVBUFFORCE (root) goes past rmem_max; plain RCVBUF is the fallback.
    if set_option(fd, libc::SO_RCVBUFFORCE, &RCVBUF).is_err() {
        set_option(fd, libc::SO_RCVBUF, &RCVBUF)?;
    }
    bind(&socket, ifindex, libc::ETH_P_ALL as u16)?;
    Ok(socket)
}

/// Classic BPF: accept IPv4 frames whose protocol is 112 (VRRP), drop the rest.
fn attach_vrrp_filter(fd: i32) -> io::Result<()> {
    let op = |code: u16, jt: u8, jf: u8, k: u32| libc::sock_filter { code, jt, jf, k };
    let mut code = [
        op(0x28, 0, 0, 12),     // ldh [12] (EtherType)
        op(0x15, 0, 3, 0x0800), // jeq IPv4, else drop
        op(0x30, 0, 0, 23),     // ldb [23] (IP protocol)
        op(0x15, 0, 1, 112),    // jeq VRRP, else drop
        op(0x06, 0, 0, 0xffff), // accept
        op(0x06, 0, 0, 0),      // drop
    ];
    let prog = libc::sock_fprog {
        len: code.len() as u16,
        filter: code.as_mut_ptr(),
    };
    set_option(fd, libc::SO_ATTACH_FILTER, &prog)
}

fn set_option<T>(fd: i32, name: i32, value: &T) -> io::Result<()> {
    // SAFETY: `value` points to a live T of the size passed.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            name,
            (value as *const T).cast(),
            size_of::<T>() as u32,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn read_frames(socket: &OwnedFd, shared: &Shared) {
    let mut buf = vec![0u8; SNAPLEN];
    // Room for one SCM_TIMESTAMPNS control message (and then some).
    let mut control = [0u64; 16];
    loop {
        // Never block in recvmsg: a reader asleep on the socket is woken for every frame, and
        // that wake-up (an IPI) is charged to whoever sent the frame, the daemon under test
        // (at 25,500 adverts/s, 15 % of a vrrpd master's CPU). Read what is queued, then sleep:
        // the kernel timestamps the frames as they arrive, so waiting costs no accuracy.
        let stopping = shared.stop.load(Ordering::Relaxed);
        let flags = libc::MSG_DONTWAIT;
        // SAFETY: all-zero sockaddr_ll and msghdr are valid; the pointers set below stay valid
        // for the recvmsg call.
        let mut from: libc::sockaddr_ll = unsafe { zeroed() };
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        let mut msg: libc::msghdr = unsafe { zeroed() };
        msg.msg_name = (&raw mut from).cast();
        msg.msg_namelen = size_of::<libc::sockaddr_ll>() as u32;
        msg.msg_iov = &raw mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = size_of::<[u64; 16]>();
        // SAFETY: `msg` describes buffers owned by this function.
        let n = unsafe { libc::recvmsg(socket.as_raw_fd(), &raw mut msg, flags) };
        if n < 0 {
            // Nothing queued (EAGAIN) or EINTR; once stopping, the queue is empty.
            if stopping {
                return;
            }
            thread::sleep(READ_PAUSE);
            continue;
        }
        let at = timestamp(&msg).unwrap_or_else(now);
        let direction = if from.sll_pkttype == libc::PACKET_OUTGOING {
            Direction::Out
        } else {
            Direction::In
        };
        let frame = Frame {
            at,
            direction,
            data: buf[..n as usize].to_vec(),
        };
        shared
            .frames
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(frame);
    }
}

/// The `SCM_TIMESTAMPNS` control message of a received frame.
fn timestamp(msg: &libc::msghdr) -> Option<Duration> {
    // SAFETY: `msg` was filled by recvmsg; the CMSG macros walk its control buffer within
    // msg_controllen, and the data of an SCM_TIMESTAMPNS message is a timespec.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_TIMESTAMPNS
            {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                return Some(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32));
            }
            cmsg = libc::CMSG_NXTHDR(msg, cmsg);
        }
    }
    None
}

/// The capture clock now (CLOCK_REALTIME), to compare with `Frame::at`.
pub fn now() -> Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}
