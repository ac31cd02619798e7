//! Packet capture with kernel timestamps: an `AF_PACKET`/`SOCK_RAW`/`ETH_P_ALL` socket opened in a
//! lab namespace, with `SO_TIMESTAMPNS` so each frame carries the time the kernel saw it (on
//! receive, and on transmit for frames the namespace itself sends). Every benchmark metric is a
//! difference of these timestamps, so the scheduling of this process does not enter the numbers.

use std::mem;
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};

use anyhow::{Context as _, anyhow, bail};

use super::setns::in_netns;

/// One captured frame.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Kernel timestamp, CLOCK_REALTIME nanoseconds.
    pub ts_ns: i64,
    /// Sent by the namespace the capture runs in (`PACKET_OUTGOING`), not received.
    pub outgoing: bool,
    /// The frame from its Ethernet header on, cut to the capture's snap length.
    pub data: Vec<u8>,
}

/// Which frames the kernel hands to the capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    All,
    /// IPv4 protocol 112 only: keeps a capture beside a flood from drowning in it.
    VrrpOnly,
}

/// A running capture; `finish` stops it and returns the frames. Dropping it stops it too.
pub struct Capture {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<anyhow::Result<Vec<Frame>>>>,
}

/// Receive buffer asked for: a capture must not lose frames while this process is descheduled.
const RCVBUF: libc::c_int = 64 << 20;
/// How often the capture loop looks at its stop flag when no frame arrives.
const POLL_US: libc::suseconds_t = 50_000;

impl Capture {
    /// Starts capturing on `ifname` inside namespace `ns_name`, keeping `snaplen` bytes of each
    /// frame. Returns once the socket is bound, so frames sent after it are seen.
    pub fn start(
        ns_name: &str,
        ifname: &str,
        filter: Filter,
        snaplen: usize,
    ) -> anyhow::Result<Capture> {
        let ifname = ifname.to_string();
        let fd = in_netns(ns_name, move || open(&ifname, filter))
            .with_context(|| format!("capture in {ns_name}"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = thread::Builder::new()
            .name("capture".into())
            .spawn(move || receive(&fd, &flag, snaplen))
            .context("cannot start the capture thread")?;
        Ok(Capture {
            stop,
            handle: Some(handle),
        })
    }

    /// Stops the capture and returns every frame, in arrival order.
    pub fn finish(mut self) -> anyhow::Result<Vec<Frame>> {
        self.stop.store(true, Ordering::SeqCst);
        let handle = self
            .handle
            .take()
            .ok_or_else(|| anyhow!("capture already finished"))?;
        handle
            .join()
            .map_err(|_| anyhow!("capture thread panicked"))?
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

/// CLOCK_REALTIME now, in nanoseconds: the clock of the capture timestamps.
pub fn realtime_ns() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec to write to.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

fn last_error(what: &str) -> anyhow::Error {
    anyhow!("{what}: {}", std::io::Error::last_os_error())
}

fn setsockopt<T>(fd: &OwnedFd, level: libc::c_int, name: libc::c_int, value: &T) -> libc::c_int {
    // SAFETY: value points to a live T of the size passed.
    unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            mem::size_of::<T>() as libc::socklen_t,
        )
    }
}

/// Opens and binds the capture socket (in the calling thread's namespace).
fn open(ifname: &str, filter: Filter) -> anyhow::Result<OwnedFd> {
    let proto = (libc::ETH_P_ALL as u16).to_be() as libc::c_int;
    // SAFETY: plain socket(2) call.
    let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, proto) };
    if raw < 0 {
        return Err(last_error("socket(AF_PACKET)"));
    }
    // SAFETY: raw is a fresh descriptor we own.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    if filter == Filter::VrrpOnly {
        attach_vrrp_filter(&fd)?;
    }
    let one: libc::c_int = 1;
    if setsockopt(&fd, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, &one) != 0 {
        return Err(last_error("SO_TIMESTAMPNS"));
    }
    // RCVBUFFORCE (root) goes past rmem_max; plain RCVBUF is the fallback.
    if setsockopt(&fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &RCVBUF) != 0 {
        setsockopt(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF, &RCVBUF);
    }
    let timeout = libc::timeval {
        tv_sec: 0,
        tv_usec: POLL_US,
    };
    if setsockopt(&fd, libc::SOL_SOCKET, libc::SO_RCVTIMEO, &timeout) != 0 {
        return Err(last_error("SO_RCVTIMEO"));
    }
    let name = std::ffi::CString::new(ifname)?;
    // SAFETY: name is a valid C string.
    let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if ifindex == 0 {
        bail!("no interface {ifname} in this namespace");
    }
    // SAFETY: sockaddr_ll is plain data; zero is a valid start.
    let mut addr: libc::sockaddr_ll = unsafe { mem::zeroed() };
    addr.sll_family = libc::AF_PACKET as u16;
    addr.sll_protocol = proto as u16;
    addr.sll_ifindex = ifindex as i32;
    // SAFETY: addr is a valid sockaddr_ll of the size passed.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&addr as *const libc::sockaddr_ll).cast(),
            mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(last_error("bind(AF_PACKET)"));
    }
    Ok(fd)
}

/// Classic BPF: accept IPv4 frames whose protocol is 112 (VRRP), drop the rest.
fn attach_vrrp_filter(fd: &OwnedFd) -> anyhow::Result<()> {
    let mut code = [
        libc::sock_filter {
            code: 0x28,
            jt: 0,
            jf: 0,
            k: 12,
        }, // ldh [12] (EtherType)
        libc::sock_filter {
            code: 0x15,
            jt: 0,
            jf: 3,
            k: 0x0800,
        }, // jeq IPv4
        libc::sock_filter {
            code: 0x30,
            jt: 0,
            jf: 0,
            k: 23,
        }, // ldb [23] (IP protocol)
        libc::sock_filter {
            code: 0x15,
            jt: 0,
            jf: 1,
            k: 112,
        }, // jeq VRRP
        libc::sock_filter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 0xffff,
        }, // accept
        libc::sock_filter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 0,
        }, // drop
    ];
    let prog = libc::sock_fprog {
        len: code.len() as u16,
        filter: code.as_mut_ptr(),
    };
    if setsockopt(fd, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &prog) != 0 {
        return Err(last_error("SO_ATTACH_FILTER"));
    }
    Ok(())
}

fn receive(fd: &OwnedFd, stop: &AtomicBool, snaplen: usize) -> anyhow::Result<Vec<Frame>> {
    let mut frames = Vec::new();
    let mut buf = vec![0u8; 2048];
    // Room for one SCM_TIMESTAMPNS control message, u64-aligned.
    let mut control = [0u64; 16];
    loop {
        // SAFETY: sockaddr_ll and msghdr are plain data; zero is a valid start.
        let mut from: libc::sockaddr_ll = unsafe { mem::zeroed() };
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: as above.
        let mut msg: libc::msghdr = unsafe { mem::zeroed() };
        msg.msg_name = (&mut from as *mut libc::sockaddr_ll).cast();
        msg.msg_namelen = mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = mem::size_of_val(&control) as _;
        // Once stopped, drain what is queued without waiting, then end.
        let flags = if stop.load(Ordering::SeqCst) {
            libc::MSG_DONTWAIT
        } else {
            0
        };
        // SAFETY: msg points at live buffers of the sizes given.
        let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, flags) };
        if n < 0 {
            let err = std::io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EAGAIN) | Some(libc::EINTR) => {
                    if stop.load(Ordering::SeqCst) && flags == libc::MSG_DONTWAIT {
                        return Ok(frames);
                    }
                    continue;
                }
                _ => return Err(anyhow!("recvmsg on the capture socket: {err}")),
            }
        }
        let ts_ns = timestamp(&msg).unwrap_or_else(realtime_ns);
        let len = (n as usize).min(snaplen);
        frames.push(Frame {
            ts_ns,
            outgoing: from.sll_pkttype == libc::PACKET_OUTGOING,
            data: buf[..len].to_vec(),
        });
    }
}

/// The SCM_TIMESTAMPNS value of a received message.
fn timestamp(msg: &libc::msghdr) -> Option<i64> {
    // SAFETY: msg was filled by recvmsg; the CMSG macros walk its control buffer within bounds.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_TIMESTAMPNS
            {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                return Some(ts.tv_sec * 1_000_000_000 + ts.tv_nsec);
            }
            cmsg = libc::CMSG_NXTHDR(msg, cmsg);
        }
    }
    None
}
