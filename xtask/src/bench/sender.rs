//! The flood sender: one thread in the client's namespace writing prebuilt Ethernet frames (UDP to
//! the discard port and TCP SYNs to a closed port, alternating) with `sendmmsg` on an `AF_PACKET`
//! socket, as fast as one core allows, until a deadline.

use std::mem;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};

use super::frame::Mac;
use super::setns;

/// Where the flood goes.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub src_mac: Mac,
    pub dst_mac: Mac,
    pub src_ip: Ipv4Addr,
    pub dst_ip: Ipv4Addr,
    /// Destination port of both the UDP datagrams and the SYNs (nothing listens there).
    pub port: u16,
}

/// What the sender achieved.
#[derive(Debug, Clone, Copy)]
pub struct Sent {
    pub frames: u64,
    pub seconds: f64,
}

impl Sent {
    pub fn kpps(&self) -> f64 {
        self.frames as f64 / self.seconds.max(1e-9) / 1e3
    }
}

const BATCH: usize = 256;
const FRAME_LEN: usize = 60;

/// Starts flooding `target` from `ifname` in namespace `ns_name` for `duration` (or until `stop`).
pub fn spawn(
    ns_name: &str,
    ifname: &str,
    target: Target,
    duration: Duration,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<JoinHandle<anyhow::Result<Sent>>> {
    let path = format!("/run/netns/{ns_name}");
    let ifname = ifname.to_string();
    thread::Builder::new()
        .name("flood".into())
        .spawn(move || {
            setns::enter(&path)?;
            let fd = open(&ifname)?;
            flood(&fd, &target, duration, &stop)
        })
        .context("cannot start the flood thread")
}

fn open(ifname: &str) -> anyhow::Result<OwnedFd> {
    // Protocol 0: a send-only packet socket, it receives nothing.
    // SAFETY: plain socket(2) call.
    let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        bail!("socket(AF_PACKET): {}", std::io::Error::last_os_error());
    }
    // SAFETY: raw is a fresh descriptor we own.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let name = std::ffi::CString::new(ifname)?;
    // SAFETY: name is a valid C string.
    let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if ifindex == 0 {
        bail!("no interface {ifname} in the flood namespace");
    }
    // SAFETY: sockaddr_ll is plain data.
    let mut addr: libc::sockaddr_ll = unsafe { mem::zeroed() };
    addr.sll_family = libc::AF_PACKET as u16;
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
        bail!("bind(AF_PACKET): {}", std::io::Error::last_os_error());
    }
    Ok(fd)
}

fn flood(
    fd: &OwnedFd,
    target: &Target,
    duration: Duration,
    stop: &AtomicBool,
) -> anyhow::Result<Sent> {
    let mut frames: Vec<[u8; FRAME_LEN]> = (0..BATCH).map(|i| build(target, i)).collect();
    let mut iovs: Vec<libc::iovec> = frames
        .iter_mut()
        .map(|f| libc::iovec {
            iov_base: f.as_mut_ptr().cast(),
            iov_len: FRAME_LEN,
        })
        .collect();
    let mut msgs: Vec<libc::mmsghdr> = iovs
        .iter_mut()
        .map(|iov| {
            // SAFETY: mmsghdr is plain data; zero is a valid start.
            let mut m: libc::mmsghdr = unsafe { mem::zeroed() };
            m.msg_hdr.msg_iov = iov;
            m.msg_hdr.msg_iovlen = 1;
            m
        })
        .collect();
    let start = Instant::now();
    let mut sent = 0u64;
    while start.elapsed() < duration && !stop.load(Ordering::Relaxed) {
        // SAFETY: msgs point at live iovecs and frames for the whole call.
        let n = unsafe { libc::sendmmsg(fd.as_raw_fd(), msgs.as_mut_ptr(), BATCH as u32, 0) };
        if n < 0 {
            let err = std::io::Error::last_os_error();
            match err.raw_os_error() {
                // The device queue is full: that is the rate limit, try again.
                Some(libc::ENOBUFS) | Some(libc::EAGAIN) | Some(libc::EINTR) => continue,
                _ => return Err(anyhow!("sendmmsg: {err}")),
            }
        }
        sent += n as u64;
    }
    Ok(Sent {
        frames: sent,
        seconds: start.elapsed().as_secs_f64(),
    })
}

fn checksum(data: &[u8], mut sum: u32) -> u16 {
    for chunk in data.chunks(2) {
        let word = u16::from_be_bytes([chunk[0], *chunk.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Frame `i`: even = UDP, odd = TCP SYN; the source port varies so flows differ.
fn build(t: &Target, i: usize) -> [u8; FRAME_LEN] {
    let mut f = [0u8; FRAME_LEN];
    f[0..6].copy_from_slice(&t.dst_mac);
    f[6..12].copy_from_slice(&t.src_mac);
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let udp = i.is_multiple_of(2);
    let l4_len: usize = if udp { 8 + 18 } else { 20 };
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&((20 + l4_len) as u16).to_be_bytes());
    ip[4..6].copy_from_slice(&(i as u16).to_be_bytes());
    ip[8] = 64;
    ip[9] = if udp { 17 } else { 6 };
    ip[12..16].copy_from_slice(&t.src_ip.octets());
    ip[16..20].copy_from_slice(&t.dst_ip.octets());
    let sum = checksum(ip, 0);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    let sport = 20_000 + i as u16;
    let l4 = &mut f[34..34 + l4_len];
    l4[0..2].copy_from_slice(&sport.to_be_bytes());
    l4[2..4].copy_from_slice(&t.port.to_be_bytes());
    if udp {
        // Checksum 0: none, valid for UDP over IPv4.
        l4[4..6].copy_from_slice(&(l4_len as u16).to_be_bytes());
    } else {
        l4[4..8].copy_from_slice(&(i as u32).to_be_bytes()); // sequence number
        l4[12] = 5 << 4; // data offset
        l4[13] = 0x02; // SYN
        l4[14..16].copy_from_slice(&64240u16.to_be_bytes()); // window
        let mut pseudo = Vec::with_capacity(12);
        pseudo.extend(t.src_ip.octets());
        pseudo.extend(t.dst_ip.octets());
        pseudo.extend([0, 6]);
        pseudo.extend((l4_len as u16).to_be_bytes());
        let partial: u32 = pseudo
            .chunks(2)
            .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
            .sum();
        let sum = checksum(l4, partial);
        l4[16..18].copy_from_slice(&sum.to_be_bytes());
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            src_mac: [2, 0, 0, 0, 0, 1],
            dst_mac: [2, 0, 0, 0, 0, 2],
            src_ip: Ipv4Addr::new(10, 1, 0, 100),
            dst_ip: Ipv4Addr::new(10, 1, 0, 2),
            port: 9,
        }
    }

    #[test]
    fn ip_and_tcp_checksums_verify() {
        let syn = build(&target(), 1);
        // A correct header sums to 0xffff, i.e. its checksum over itself is 0.
        assert_eq!(checksum(&syn[14..34], 0), 0);
        let mut pseudo: u32 = 0;
        for c in [[10u8, 1], [0, 100], [10, 1], [0, 2], [0, 6], [0, 20]] {
            pseudo += u32::from(u16::from_be_bytes(c));
        }
        assert_eq!(checksum(&syn[34..54], pseudo), 0);
        assert_eq!(syn[34 + 13], 0x02);
        let udp = build(&target(), 0);
        assert_eq!(checksum(&udp[14..34], 0), 0);
        assert_eq!(udp[23], 17);
    }
}
