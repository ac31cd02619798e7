//! The advert and L2 sockets against a real kernel: what leaves one namespace is captured on the
//! peer with an AF_PACKET socket and its headers checked.

mod edges_netns;

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use edges_netns::{Netns, veth};
use socket2::{Domain, Protocol, Socket, Type};
use vrrpd::socket::{
    AdvertSocket, L2Socket, SendOutcome, SocketError, VRRP_MCAST_V4, VRRP_MCAST_V6,
};

const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;
const ETH_P_ARP: u16 = 0x0806;

/// An AF_PACKET socket in `ns` bound to `dev` for `ethertype`. `SOCK_DGRAM` yields packets from
/// the network header on; `SOCK_RAW` yields whole frames.
fn capture(ns: &Netns, dev: &str, ethertype: u16, raw: bool) -> Socket {
    let ifindex = ns.ifindex(dev);
    ns.run(move || {
        let ty = if raw { Type::RAW } else { Type::DGRAM };
        let proto = i32::from(ethertype.to_be());
        let sock = Socket::new(Domain::PACKET, ty, Some(Protocol::from(proto))).unwrap();
        // SAFETY: zeroed sockaddr_ll is valid; we fill the fields bind needs.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = ethertype.to_be();
        sll.sll_ifindex = ifindex as i32;
        let rc = unsafe {
            libc::bind(
                std::os::fd::AsRawFd::as_raw_fd(&sock),
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        assert_eq!(rc, 0, "bind AF_PACKET: {}", std::io::Error::last_os_error());
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        sock
    })
}

/// The first captured packet accepted by `want`, within a generous bound.
fn next_matching(sock: &Socket, want: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let until = Instant::now() + Duration::from_secs(10);
    let mut buf = vec![0u8; 2048];
    while Instant::now() < until {
        match (&*sock).read(&mut buf) {
            Ok(n) if want(&buf[..n]) => return buf[..n].to_vec(),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => panic!("capture: {e}"),
        }
    }
    panic!("expected packet not captured");
}

/// A VRRPv2 advert for VRID 51, priority 100, one VIP, no authentication. The checksum is not
/// this test's business (the packet codec owns it); the bytes just have to arrive unchanged.
fn v2_advert() -> Vec<u8> {
    let mut p = vec![0x21, 51, 100, 1, 0, 1, 0xab, 0xcd];
    p.extend_from_slice(&[10, 21, 0, 100]);
    p.extend_from_slice(&[0; 8]);
    p
}

fn ones_complement_sum(chunks: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    for chunk in chunks {
        for pair in chunk.chunks(2) {
            let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
            sum += u32::from(word);
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

fn v4_pair(tag: &str) -> (Netns, Netns) {
    let a = Netns::new(tag);
    let b = Netns::new(tag);
    veth(&a, "va", &b, "vb");
    a.ip(&["addr", "add", "10.21.0.1/24", "dev", "va"]);
    b.ip(&["addr", "add", "10.21.0.2/24", "dev", "vb"]);
    (a, b)
}

#[test]
fn ipv4_multicast_advert_has_keepalived_ip_header() {
    let (a, b) = v4_pair("sk4");
    let cap = capture(&b, "vb", ETH_P_IP, false);
    let ifindex = a.ifindex("va");
    let src = Ipv4Addr::new(10, 21, 0, 1);
    let payload = v2_advert();
    let sent = payload.clone();
    a.run(move || {
        let sock = AdvertSocket::ipv4("va", ifindex, src).unwrap();
        assert_eq!(
            sock.send(&sent, IpAddr::V4(VRRP_MCAST_V4), 255).unwrap(),
            SendOutcome::Sent
        );
        assert_eq!(sock.dropped(), 0);
    });
    let pkt = next_matching(&cap, |p| p.len() > 20 && p[9] == 112);
    assert_eq!(pkt[0] >> 4, 4, "IP version");
    let ihl = usize::from(pkt[0] & 0x0f) * 4;
    assert_eq!(pkt[1], 0xc0, "TOS");
    assert_eq!(pkt[8], 255, "TTL");
    assert_eq!(pkt[6] & 0x40, 0, "DF must be clear");
    assert_eq!(&pkt[12..16], &src.octets(), "source");
    assert_eq!(&pkt[16..20], &[224, 0, 0, 18], "destination");
    assert_eq!(&pkt[ihl..], &payload[..], "payload");
}

#[test]
fn ipv4_unicast_advert_uses_unicast_ttl() {
    let (a, b) = v4_pair("sku");
    let cap = capture(&b, "vb", ETH_P_IP, false);
    let ifindex = a.ifindex("va");
    a.run(move || {
        let sock = AdvertSocket::ipv4("va", ifindex, Ipv4Addr::new(10, 21, 0, 1)).unwrap();
        sock.set_unicast_ttl(64).unwrap();
        sock.send(&v2_advert(), "10.21.0.2".parse().unwrap(), 64)
            .unwrap();
        // Multicast keeps 255 whatever the unicast TTL.
        sock.send(&v2_advert(), IpAddr::V4(VRRP_MCAST_V4), 64)
            .unwrap();
        // Each unicast advert carries the TTL it is sent with: two instances sharing the
        // socket, or a reload, change it from one advert to the next.
        for ttl in [32, 32, 255] {
            sock.send(&v2_advert(), "10.21.0.2".parse().unwrap(), ttl)
                .unwrap();
        }
    });
    let unicast = |p: &[u8]| p.len() > 20 && p[9] == 112 && p[16] == 10;
    let uni = next_matching(&cap, unicast);
    assert_eq!(uni[8], 64, "unicast TTL");
    assert_eq!(&uni[16..20], &[10, 21, 0, 2]);
    assert_eq!(uni[1], 0xc0);
    let multi = next_matching(&cap, |p| p.len() > 20 && p[9] == 112 && p[16] == 224);
    assert_eq!(multi[8], 255, "multicast TTL");
    let later: Vec<u8> = (0..3).map(|_| next_matching(&cap, unicast)[8]).collect();
    assert_eq!(later, [32, 32, 255], "TTL of each later unicast advert");
}

#[test]
fn advert_socket_queues_nothing_it_receives() {
    let (a, b) = v4_pair("skr");
    let (ia, ib) = (a.ifindex("va"), b.ifindex("vb"));
    // A holds a socket; B sends unicast adverts to its bound address (a bound raw socket only
    // matches packets for that address). With the drop-all filter nothing is queued.
    let holder = a.run(move || AdvertSocket::ipv4("va", ia, Ipv4Addr::new(10, 21, 0, 1)).unwrap());
    let cap = capture(&a, "va", ETH_P_IP, false);
    b.run(move || {
        let sock = AdvertSocket::ipv4("vb", ib, Ipv4Addr::new(10, 21, 0, 2)).unwrap();
        for _ in 0..20 {
            sock.send(&v2_advert(), "10.21.0.1".parse().unwrap(), 255)
                .unwrap();
        }
    });
    // They did arrive on A's interface...
    next_matching(&cap, |p| {
        p.len() > 20 && p[9] == 112 && p[12..16] == [10, 21, 0, 2]
    });
    std::thread::sleep(Duration::from_millis(100));
    // ...but the raw socket's receive queue (/proc/net/raw, tx_queue:rx_queue) stays empty.
    let out = a.exec(&["cat", "/proc/net/raw"]);
    let table = String::from_utf8_lossy(&out.stdout);
    let row = table
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("0100150A:0070"))
        .unwrap_or_else(|| panic!("socket not in /proc/net/raw:\n{table}"));
    let queues = row.split_whitespace().nth(4).unwrap();
    assert_eq!(queues, "00000000:00000000", "{row}");
    drop(holder);
}

#[test]
fn ipv6_advert_has_link_local_source_and_kernel_checksum() {
    let a = Netns::new("sk6");
    let b = Netns::new("sk6");
    a.no_dad();
    b.no_dad();
    veth(&a, "va", &b, "vb");
    let ifindex = a.ifindex("va");
    let shown = a.ip(&["-6", "-o", "addr", "show", "dev", "va", "scope", "link"]);
    let ll: Ipv6Addr = shown
        .split_whitespace()
        .skip_while(|w| *w != "inet6")
        .nth(1)
        .and_then(|a| a.split('/').next())
        .unwrap_or_else(|| panic!("no link-local in {shown}"))
        .parse()
        .unwrap();
    let cap = capture(&b, "vb", ETH_P_IPV6, false);
    // VRRPv3, VRID 51, priority 100, one address, interval 100 cs, checksum left zero.
    let mut payload = vec![0x31, 51, 100, 1, 0x00, 100, 0, 0];
    payload.extend_from_slice(&"fe80::51".parse::<Ipv6Addr>().unwrap().octets());
    let sent = payload.clone();
    a.run(move || {
        let sock = AdvertSocket::ipv6("va", ifindex, ll).unwrap();
        sock.send(&sent, IpAddr::V6(VRRP_MCAST_V6), 255).unwrap();
    });
    let pkt = next_matching(&cap, |p| p.len() > 40 && p[6] == 112);
    assert_eq!(pkt[0] >> 4, 6);
    let tclass = ((pkt[0] & 0x0f) << 4) | (pkt[1] >> 4);
    assert_eq!(tclass, 0xc0, "traffic class");
    assert_eq!(pkt[7], 255, "hop limit");
    assert_eq!(&pkt[8..24], &ll.octets(), "source");
    assert_eq!(&pkt[24..40], &VRRP_MCAST_V6.octets(), "destination");
    let body = &pkt[40..];
    assert_eq!(body.len(), payload.len());
    assert_eq!(&body[..6], &payload[..6]);
    assert_eq!(&body[8..], &payload[8..]);
    assert_ne!(&body[6..8], &[0, 0], "kernel did not fill the checksum");
    let len = (body.len() as u32).to_be_bytes();
    let pseudo_tail = [0, 0, 0, 112];
    let sum = ones_complement_sum(&[&pkt[8..24], &pkt[24..40], &len, &pseudo_tail, body]);
    assert_eq!(sum, 0xffff, "VRRPv3 checksum does not verify");
}

#[test]
fn l2_socket_sends_the_frame_unchanged() {
    let a = Netns::new("skl");
    let b = Netns::new("skl");
    veth(&a, "va", &b, "vb");
    let cap = capture(&b, "vb", ETH_P_ARP, true);
    let ifindex = a.ifindex("va");
    // A gratuitous ARP request for 10.21.0.100 from 02:00:00:00:00:01.
    let mac = [2, 0, 0, 0, 0, 1];
    let mut frame = vec![0xff; 6];
    frame.extend_from_slice(&mac);
    frame.extend_from_slice(&ETH_P_ARP.to_be_bytes());
    frame.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    frame.extend_from_slice(&mac);
    frame.extend_from_slice(&[10, 21, 0, 100]);
    frame.extend_from_slice(&[0xff; 6]);
    frame.extend_from_slice(&[10, 21, 0, 100]);
    let sent = frame.clone();
    a.run(move || {
        let sock = L2Socket::new("va", ifindex).unwrap();
        assert_eq!(sock.send_frame(&sent).unwrap(), SendOutcome::Sent);
    });
    let got = next_matching(&cap, |f| f.len() >= 42 && f[6..12] == mac);
    assert_eq!(&got[..frame.len()], &frame[..]);
}

#[test]
fn setup_and_send_errors_name_interface_address_and_syscall() {
    let (a, _b) = v4_pair("ske");
    let ifindex = a.ifindex("va");
    a.run(move || {
        // Not an address of this host.
        let err = AdvertSocket::ipv4("va", ifindex, Ipv4Addr::new(10, 99, 0, 1)).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("va") && text.contains("bind"), "{text}");
        let err = AdvertSocket::ipv4("nosuch0", 9999, Ipv4Addr::new(10, 21, 0, 1)).unwrap_err();
        assert!(err.to_string().contains("SO_BINDTODEVICE"), "{err}");

        let sock = AdvertSocket::ipv4("va", ifindex, Ipv4Addr::new(10, 21, 0, 1)).unwrap();
        let err = sock
            .send(&v2_advert(), IpAddr::V6(VRRP_MCAST_V6), 255)
            .unwrap_err();
        assert!(matches!(err, SocketError::WrongFamily { .. }), "{err}");
    });
}
