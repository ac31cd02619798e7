//! The flood sender: one thread writing prebuilt Ethernet frames (the kit's UDP datagrams to the
//! discard port and TCP SYNs to a closed port, alternating) with `sendmmsg` on an `AF_PACKET`
//! socket of the client's namespace, as fast as one core allows, until a deadline.

use std::mem;
use std::os::fd::{AsRawFd as _, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use vrrpd_tests::Netns;
use vrrpd_tests::wire::{self, Flow};
use vrrpd_tests::{capture, setns};

use super::cpu;

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

/// Starts flooding along `flow` (its source port is the first of those the frames use) from
/// `ifname` in `ns` for `duration` (or until `stop`), from a thread pinned to `cpu`.
pub fn spawn(
    ns: &Netns,
    ifname: &str,
    flow: Flow,
    duration: Duration,
    stop: Arc<AtomicBool>,
    cpu: usize,
) -> anyhow::Result<JoinHandle<anyhow::Result<Sent>>> {
    let ifindex = setns::ifindex(ns, ifname);
    // The socket stays in `ns` whatever thread then uses it.
    let socket = setns::in_netns(ns, || capture::send_socket(ifindex))
        .with_context(|| format!("packet socket on {ifname} in {}", ns.name()))?;
    thread::Builder::new()
        .name("flood".into())
        .spawn(move || {
            cpu::pin_for_good(cpu).with_context(|| format!("pinning the flood to CPU {cpu}"))?;
            flood(&socket, &flow, duration, &stop)
        })
        .context("cannot start the flood thread")
}

fn flood(fd: &OwnedFd, flow: &Flow, duration: Duration, stop: &AtomicBool) -> anyhow::Result<Sent> {
    let mut frames: Vec<Vec<u8>> = (0..BATCH).map(|i| build(flow, i)).collect();
    let mut iovs: Vec<libc::iovec> = frames
        .iter_mut()
        .map(|f| libc::iovec {
            iov_base: f.as_mut_ptr().cast(),
            iov_len: f.len(),
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

/// Frame `i`: even = UDP, odd = TCP SYN; the source port varies so flows differ.
fn build(flow: &Flow, i: usize) -> Vec<u8> {
    let flow = Flow {
        src_port: flow.src_port + i as u16,
        ..*flow
    };
    if i.is_multiple_of(2) {
        wire::udp(&flow, i as u16, &[0; 18])
    } else {
        wire::tcp_syn(&flow, i as u16, i as u32)
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use vrrpd_tests::wire::Mac;

    use super::*;

    #[test]
    fn frames_alternate_udp_and_syn_over_distinct_flows() {
        let flow = Flow {
            src_mac: Mac([2, 0, 0, 0, 0, 1]),
            dst_mac: Mac([2, 0, 0, 0, 0, 2]),
            src_ip: Ipv4Addr::new(10, 1, 0, 100),
            dst_ip: Ipv4Addr::new(10, 1, 0, 2),
            src_port: 20_000,
            dst_port: 9,
        };
        let (udp, syn) = (build(&flow, 0), build(&flow, 1));
        // IP protocol, source port, and a 60-byte frame either way.
        assert_eq!(
            (udp[23], &udp[34..36], udp.len()),
            (17, &[0x4e, 0x20][..], 60)
        );
        assert_eq!(
            (syn[23], &syn[34..36], syn.len()),
            (6, &[0x4e, 0x21][..], 60)
        );
    }
}
