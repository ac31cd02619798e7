//! `Pinger`: ICMP echo requests to one IPv4 address at a fixed rate from a lab namespace, on a
//! thread of the test process, recording when each reply arrived. Gives the outage a client sees
//! during a failover: the gap between the last reply before and the first reply after.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::netns::Netns;
use crate::setns::in_netns;
use crate::wire::internet_checksum;

/// One answered echo request.
#[derive(Debug, Clone, Copy)]
pub struct Reply {
    pub seq: u16,
    pub sent: Instant,
    pub received: Instant,
}

/// A gap in the replies: the last reply before it and the first after it.
#[derive(Debug, Clone, Copy)]
pub struct Outage {
    pub last_before: Instant,
    pub first_after: Instant,
}

impl Outage {
    pub fn duration(&self) -> Duration {
        self.first_after - self.last_before
    }
}

struct Shared {
    replies: Mutex<Vec<Reply>>,
    sent: Mutex<u64>,
    stop: AtomicBool,
}

/// Pings in the background until dropped.
pub struct Pinger {
    target: Ipv4Addr,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Pinger {
    /// Starts pinging `target` from `ns` every `every`.
    pub fn start(ns: &Netns, target: Ipv4Addr, every: Duration) -> Pinger {
        let socket =
            in_netns(ns, open).unwrap_or_else(|e| panic!("raw ICMP socket in {}: {e}", ns.name()));
        let shared = Arc::new(Shared {
            replies: Mutex::new(Vec::new()),
            sent: Mutex::new(0),
            stop: AtomicBool::new(false),
        });
        let thread = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || run(&socket, target, every, &shared))
        };
        Pinger {
            target,
            shared,
            thread: Some(thread),
        }
    }

    pub fn target(&self) -> Ipv4Addr {
        self.target
    }

    /// Every reply so far, in arrival order.
    pub fn replies(&self) -> Vec<Reply> {
        self.shared
            .replies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Requests sent so far.
    pub fn sent(&self) -> u64 {
        *self.shared.sent.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replies that arrived in `[from, to)`.
    pub fn replies_between(&self, from: Instant, to: Instant) -> usize {
        self.replies()
            .iter()
            .filter(|r| r.received >= from && r.received < to)
            .count()
    }

    /// The longest gap between consecutive replies received after `since`, counting from the last
    /// reply at or before `since` if there is one. `None` without two replies to measure between.
    pub fn longest_gap_since(&self, since: Instant) -> Option<Outage> {
        let replies = self.replies();
        let start = replies
            .iter()
            .rposition(|r| r.received <= since)
            .unwrap_or(0);
        replies[start..]
            .windows(2)
            .map(|w| Outage {
                last_before: w[0].received,
                first_after: w[1].received,
            })
            .max_by_key(Outage::duration)
    }

    /// Waits up to `timeout` for a reply received after `after`.
    pub fn wait_reply_after(&self, after: Instant, timeout: Duration) -> Option<Reply> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(r) = self.replies().into_iter().find(|r| r.received > after) {
                return Some(r);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Pinger {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn open() -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2) call, checked before it is wrapped.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_ICMP) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor nothing else owns.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    // Short receive timeout: the loop must also send on time.
    let timeout = libc::timeval {
        tv_sec: 0,
        tv_usec: 2_000,
    };
    // SAFETY: `timeout` is a live timeval of the size given.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&raw const timeout).cast(),
            size_of::<libc::timeval>() as u32,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(socket)
}

fn run(socket: &OwnedFd, target: Ipv4Addr, every: Duration, shared: &Shared) {
    // Identifies our echoes among every ICMP packet the raw socket sees.
    let id = (std::process::id() as u16) ^ (std::ptr::from_ref(shared) as usize as u16);
    let mut seq: u16 = 0;
    // Indexed by sequence number, which wraps after 65536 requests.
    let mut sent_at: Vec<Option<Instant>> = vec![None; usize::from(u16::MAX) + 1];
    let mut next = Instant::now();
    let mut buf = [0u8; 1500];
    while !shared.stop.load(Ordering::Relaxed) {
        if Instant::now() >= next {
            send_echo(socket, target, id, seq);
            sent_at[usize::from(seq)] = Some(Instant::now());
            *shared.sent.lock().unwrap_or_else(|e| e.into_inner()) += 1;
            seq = seq.wrapping_add(1);
            // After a stall, carry on at the rate instead of catching up with a burst.
            next = (next + every).max(Instant::now());
        }
        // SAFETY: `buf` is writable for its length.
        let n = unsafe { libc::recv(socket.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n <= 0 {
            continue;
        }
        let packet = &buf[..n as usize];
        let ihl = usize::from(packet[0] & 0x0f) * 4;
        let Some(icmp) = packet.get(ihl..ihl + 8) else {
            continue;
        };
        let from = Ipv4Addr::new(packet[12], packet[13], packet[14], packet[15]);
        let (r_id, r_seq) = (
            u16::from_be_bytes([icmp[4], icmp[5]]),
            u16::from_be_bytes([icmp[6], icmp[7]]),
        );
        // Type 0: echo reply.
        if icmp[0] != 0 || r_id != id || from != target {
            continue;
        }
        if let Some(sent) = sent_at[usize::from(r_seq)] {
            shared
                .replies
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(Reply {
                    seq: r_seq,
                    sent,
                    received: Instant::now(),
                });
        }
    }
}

fn send_echo(socket: &OwnedFd, target: Ipv4Addr, id: u16, seq: u16) {
    let mut echo = [0u8; 16];
    echo[0] = 8;
    echo[4..6].copy_from_slice(&id.to_be_bytes());
    echo[6..8].copy_from_slice(&seq.to_be_bytes());
    let sum = internet_checksum(&echo);
    echo[2..4].copy_from_slice(&sum.to_be_bytes());
    // SAFETY: an all-zero sockaddr_in is valid; family and address are set below.
    let mut to: libc::sockaddr_in = unsafe { zeroed() };
    to.sin_family = libc::AF_INET as u16;
    to.sin_addr.s_addr = u32::from_ne_bytes(target.octets());
    // SAFETY: `echo` and `to` are valid for the lengths given. A failed send (no route, no
    // neighbour yet) is a lost ping, which is what the pinger measures.
    unsafe {
        libc::sendto(
            socket.as_raw_fd(),
            echo.as_ptr().cast(),
            echo.len(),
            libc::MSG_DONTWAIT,
            (&raw const to).cast(),
            size_of::<libc::sockaddr_in>() as u32,
        );
    }
}
