//! Attaching to a real interface: a veth pair in a network namespace this test creates (and
//! deletes on drop, also on panic). Native mode on veth, detach on drop, replacing a stale
//! `vrrp_xdp`, refusing a foreign program, and adverts / ARP replies through the real path.
#[path = "support/xdp_frames.rs"]
mod xdp_frames;

use std::fs::File;
use std::io;
use std::mem::{size_of, zeroed};
use std::net::IpAddr;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vrrp_common::{Counter, XdpConfig};
use vrrpd::cli::XdpMode;
use vrrpd::dataplane::{Attachment, DataplaneError, XdpModeUsed, XdpObject, XdpProgram, link_xdp};
use xdp_frames::{Advert, OUR_MAC, PEER_MAC, arp_request, v4};

const XDP_FLAGS_SKB_MODE: u32 = 1 << 1;
const XDP_FLAGS_DRV_MODE: u32 = 1 << 2;

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A network namespace holding a veth pair `va` (OUR_MAC) – `vb` (PEER_MAC); deleted on drop.
struct NetNs {
    name: String,
}

impl NetNs {
    fn new() -> NetNs {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "vrrpd-xdp-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        ip(&["netns", "add", &name]);
        let ns = NetNs { name };
        let mac_a = mac_str(OUR_MAC);
        let mac_b = mac_str(PEER_MAC);
        ip(&[
            "-n", &ns.name, "link", "add", "va", "address", &mac_a, "type", "veth", "peer", "name",
            "vb", "address", &mac_b,
        ]);
        ip(&["-n", &ns.name, "link", "set", "va", "up"]);
        ip(&["-n", &ns.name, "link", "set", "vb", "up"]);
        ns
    }

    /// Runs `body` on a thread that has entered the namespace, so the test's other threads
    /// stay where they are; panics propagate.
    fn run<T: Send>(&self, body: impl FnOnce() -> T + Send) -> T {
        let path = format!("/run/netns/{}", self.name);
        std::thread::scope(|s| {
            s.spawn(|| {
                let ns = File::open(&path).expect("open netns");
                nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
                body()
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

fn mac_str(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn ifindex(name: &str) -> u32 {
    nix::net::if_::if_nametoindex(name).expect("ifindex")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// An AF_PACKET socket bound to one interface, to put frames on the wire and read them back.
struct PacketSocket {
    fd: OwnedFd,
    ifindex: u32,
}

impl PacketSocket {
    fn open(ifindex: u32) -> PacketSocket {
        let proto = (libc::ETH_P_ALL as u16).to_be();
        // SAFETY: plain socket(2); the fd is owned right away.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, i32::from(proto)) };
        assert!(fd >= 0, "socket: {}", io::Error::last_os_error());
        // SAFETY: fd is a fresh socket we own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: sockaddr_ll is plain data; zero is a valid start.
        let mut addr: libc::sockaddr_ll = unsafe { zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = proto;
        addr.sll_ifindex = ifindex as i32;
        // SAFETY: addr is a valid sockaddr_ll of the size given.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        assert_eq!(rc, 0, "bind: {}", io::Error::last_os_error());
        let timeout = libc::timeval {
            tv_sec: 0,
            tv_usec: 100_000,
        };
        // SAFETY: timeval of the size given.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&timeout as *const libc::timeval).cast(),
                size_of::<libc::timeval>() as u32,
            )
        };
        assert_eq!(rc, 0, "SO_RCVTIMEO: {}", io::Error::last_os_error());
        PacketSocket { fd, ifindex }
    }

    fn send(&self, frame: &[u8]) {
        // SAFETY: sockaddr_ll is plain data.
        let mut addr: libc::sockaddr_ll = unsafe { zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_ifindex = self.ifindex as i32;
        addr.sll_halen = 6;
        addr.sll_addr[..6].copy_from_slice(&frame[..6]);
        // SAFETY: frame and addr are valid for the lengths given.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&addr as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        assert_eq!(
            n,
            frame.len() as isize,
            "sendto: {}",
            io::Error::last_os_error()
        );
    }

    /// The first received frame `want` accepts within `within`.
    fn recv_matching(&self, within: Duration, want: impl Fn(&[u8]) -> bool) -> Option<Vec<u8>> {
        let deadline = Instant::now() + within;
        let mut buf = vec![0u8; 2048];
        while Instant::now() < deadline {
            // SAFETY: buf is valid for its length.
            let n =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n > 0 && want(&buf[..n as usize]) {
                return Some(buf[..n as usize].to_vec());
            }
        }
        None
    }
}

#[test]
fn attaches_natively_to_veth_and_detaches_on_drop() {
    let ns = NetNs::new();
    ns.run(|| {
        let rt = runtime();
        let _guard = rt.enter();
        let va = ifindex("va");
        let attachment = Attachment::attach("va", XdpMode::Native, false).expect("attach native");
        assert_eq!(attachment.mode_used(), XdpModeUsed::Native);
        assert_eq!(attachment.ifindex(), va);
        assert_eq!(attachment.iface(), "va");
        let attached = link_xdp::query(va)
            .expect("query")
            .expect("a program is attached");
        assert_eq!(attached.mode_flags, XDP_FLAGS_DRV_MODE, "native mode");

        // A live vrrpd's program is not ours to replace.
        match Attachment::attach("va", XdpMode::Auto, false) {
            Err(DataplaneError::AlreadyAttached { name, .. }) => assert_eq!(name, "vrrp_xdp"),
            Err(other) => panic!("second attach: unexpected error {other}"),
            Ok(_) => panic!("second attach on the same interface succeeded"),
        }
        assert_eq!(
            link_xdp::query(va).expect("query"),
            Some(attached),
            "first attachment intact"
        );

        drop(attachment);
        assert_eq!(
            link_xdp::query(va).expect("query"),
            None,
            "detached on drop"
        );

        // SKB mode on request.
        let skb = Attachment::attach("va", XdpMode::Skb, false).expect("attach skb");
        assert_eq!(skb.mode_used(), XdpModeUsed::Skb);
        drop(skb);
        assert_eq!(
            link_xdp::query(va).expect("query"),
            None,
            "skb detached on drop"
        );

        match Attachment::attach("nonexistent0", XdpMode::Auto, false) {
            Err(DataplaneError::UnknownInterface { iface }) => assert_eq!(iface, "nonexistent0"),
            other => panic!("unknown interface: {:?}", other.err()),
        }
    });
}

/// Attaches `program` of a fresh object through netlink and drops the object: what a killed
/// process that did not use a bpf_link leaves behind.
fn leave_attached(program: XdpProgram, ifindex: u32) -> u32 {
    let object = XdpObject::load(XdpConfig::default()).expect("load");
    let fd = object.program(program).expect("program").fd().expect("fd");
    link_xdp::set_fd(ifindex, fd.as_fd().as_raw_fd(), XDP_FLAGS_DRV_MODE).expect("netlink attach");
    link_xdp::query(ifindex)
        .expect("query")
        .expect("attached")
        .prog_id
}

#[test]
fn replaces_a_stale_vrrp_xdp_and_refuses_a_foreign_program() {
    let ns = NetNs::new();
    ns.run(|| {
        let rt = runtime();
        let _guard = rt.enter();
        let va = ifindex("va");

        let stale = leave_attached(XdpProgram::Vrrp, va);
        let attachment =
            Attachment::attach("va", XdpMode::Auto, false).expect("replace stale vrrp_xdp");
        let now = link_xdp::query(va).expect("query").expect("attached");
        assert_ne!(now.prog_id, stale, "the stale program was replaced");
        drop(attachment);
        assert_eq!(
            link_xdp::query(va).expect("query"),
            None,
            "detached on drop"
        );

        let foreign = leave_attached(XdpProgram::Pass, va);
        match Attachment::attach("va", XdpMode::Auto, false) {
            Err(DataplaneError::AlreadyAttached { name, prog_id, .. }) => {
                assert_eq!(name, "xdp_pass");
                assert_eq!(prog_id, foreign);
            }
            Err(other) => panic!("foreign program: unexpected error {other}"),
            Ok(_) => panic!("attached over a foreign program"),
        }
        assert_eq!(
            link_xdp::query(va).expect("query").map(|a| a.prog_id),
            Some(foreign),
            "left alone"
        );
        link_xdp::set_fd(va, -1, XDP_FLAGS_DRV_MODE).expect("clear");
    });
}

#[test]
fn adverts_and_arp_go_through_a_real_veth() {
    let ns = NetNs::new();
    ns.run(|| {
        let rt = runtime();
        let _guard = rt.enter();
        let (va, vb) = (ifindex("va"), ifindex("vb"));
        let mut attachment = Attachment::attach("va", XdpMode::Native, false).expect("attach");
        // XDP_TX on a veth reaches the peer only if the peer runs XDP too.
        let mut peer = XdpObject::load(XdpConfig::default()).expect("load peer");
        peer.program_mut(XdpProgram::Pass)
            .expect("xdp_pass")
            .attach_to_if_index(vb, aya::programs::XdpMode::Driver)
            .expect("attach xdp_pass to vb");
        let wire = PacketSocket::open(vb);

        // An advert for a VRID we want arrives as an event, with va's ifindex.
        attachment.set_vrid(51, true, false).expect("set_vrid");
        let advert = Advert::v3_v4(51, 120, vec![v4(10, 0, 0, 100)], 100);
        wire.send(&advert.frame(None));
        let mut events = Vec::new();
        rt.block_on(async {
            let deadline = Instant::now() + Duration::from_secs(5);
            while events.is_empty() && Instant::now() < deadline {
                tokio::time::timeout(Duration::from_secs(5), attachment.readable())
                    .await
                    .expect("ring buffer readable within 5 s")
                    .expect("readable");
                attachment.drain(&mut events);
            }
        });
        assert_eq!(events.len(), 1, "one advert");
        assert!(!events[0].repeat, "the first advert is queued");
        let event = &events[0].event;
        assert_eq!(event.ifindex, va);
        assert_eq!(event.vrid, 51);
        assert_eq!(event.priority, 120);
        assert_eq!(event.vrrp_bytes(), advert.vrrp().as_slice());
        assert_eq!(
            attachment.counters().expect("counters")[Counter::Adverts],
            1
        );

        // Gate open: the ARP reply comes back from XDP.
        let vip = IpAddr::V4(v4(10, 0, 0, 100));
        attachment.set_gate(vip, true).expect("open gate");
        let request = arp_request(v4(10, 0, 0, 1), v4(10, 0, 0, 100));
        wire.send(&request);
        let is_reply = |f: &[u8]| f.len() >= 42 && f[12..14] == [8, 6] && f[20..22] == [0, 2];
        let reply = wire
            .recv_matching(Duration::from_secs(5), is_reply)
            .expect("ARP reply on vb");
        assert_eq!(&reply[0..6], &PEER_MAC, "to the requester");
        assert_eq!(&reply[6..12], &OUR_MAC, "from va");
        assert_eq!(&reply[22..28], &OUR_MAC, "sender hw");
        assert_eq!(&reply[28..32], &[10, 0, 0, 100], "sender ip");
        assert_eq!(
            attachment.counters().expect("counters")[Counter::ArpReplied],
            1
        );

        // Gate closed: dropped, no reply.
        attachment.set_gate(vip, false).expect("close gate");
        wire.send(&request);
        assert!(
            wire.recv_matching(Duration::from_millis(500), is_reply)
                .is_none(),
            "no reply when closed"
        );
        assert_eq!(
            attachment.counters().expect("counters")[Counter::ArpDropped],
            1
        );
    });
}

/// Everything logged through tracing on this thread while `body` runs, as text.
fn logged<T>(body: impl FnOnce() -> T) -> (T, String) {
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("log buffer").extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let out = tracing::subscriber::with_default(subscriber, body);
    let text = String::from_utf8_lossy(&buffer.0.lock().expect("log buffer")).into_owned();
    (out, text)
}

#[test]
fn auto_falls_back_to_skb_mode_with_a_warning_where_native_is_missing() {
    let ns = NetNs::new();
    // Neither a bridge nor the loopback device has a driver XDP hook.
    ip(&["-n", &ns.name, "link", "add", "br0", "type", "bridge"]);
    ip(&["-n", &ns.name, "link", "set", "br0", "up"]);
    ip(&["-n", &ns.name, "link", "set", "lo", "up"]);
    ns.run(|| {
        let rt = runtime();
        let _guard = rt.enter();
        for iface in ["br0", "lo"] {
            let index = ifindex(iface);
            match Attachment::attach(iface, XdpMode::Native, false) {
                Err(DataplaneError::Attach { mode, .. }) => {
                    assert_eq!(mode, XdpModeUsed::Native, "{iface}")
                }
                Err(other) => panic!("{iface}: native: unexpected error {other}"),
                Ok(_) => panic!("{iface}: native XDP attached; the fallback is not exercised"),
            }
            assert_eq!(link_xdp::query(index).expect("query"), None, "{iface}");

            let (attachment, logs) = logged(|| Attachment::attach(iface, XdpMode::Auto, false));
            let attachment = attachment.unwrap_or_else(|e| panic!("{iface}: auto: {e}"));
            assert_eq!(attachment.mode_used(), XdpModeUsed::Skb, "{iface}");
            let attached = link_xdp::query(index)
                .expect("query")
                .expect("a program is attached");
            assert_eq!(
                attached.mode_flags, XDP_FLAGS_SKB_MODE,
                "{iface}: generic mode"
            );
            let warning = logs
                .lines()
                .find(|l| l.contains("falling back to SKB (generic) mode"))
                .unwrap_or_else(|| panic!("{iface}: no fallback warning in the log:\n{logs}"));
            assert!(warning.contains("WARN"), "{iface}: {warning}");
            assert!(
                warning.contains(&format!("interface {iface}: attaching XDP in native mode")),
                "{iface}: the warning names the interface and why: {warning}"
            );
            drop(attachment);
            assert_eq!(
                link_xdp::query(index).expect("query"),
                None,
                "{iface}: detached on drop"
            );
        }
    });
}
