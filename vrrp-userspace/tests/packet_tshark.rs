//! Cross-checks the codec against Wireshark's dissectors: emitted adverts, a gratuitous ARP
//! and an unsolicited NA are written to a pcap, and `tshark` must decode the same fields and
//! call every checksum good. Needs `tshark` on PATH (`cargo xtask setup` installs it).

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::process::Command;

use vrrpd::packet::vrrp::{Auth, ChecksumMode, IPPROTO_VRRP, PseudoHeader, Repr, Version};
use vrrpd::packet::{Family, MacAddr, arp, ethernet, ipv4, ipv6, ndisc};

const MAC: MacAddr = MacAddr([0x02, 0x00, 0x00, 0x00, 0x00, 0x0a]);
const SRC4: Ipv4Addr = Ipv4Addr::new(10, 1, 2, 3);

fn src6() -> Ipv6Addr {
    "fe80::a".parse().unwrap()
}

/// Ethernet + IP + VRRP, as vrrpd will put it on the wire.
fn advert_frame(repr: &Repr, ph: &PseudoHeader, mode: ChecksumMode) -> Vec<u8> {
    let msg = repr.to_bytes(ph, mode).unwrap();
    let (ethertype, ip_len) = match ph.family() {
        Family::Ipv4 => (ethernet::ETHERTYPE_IPV4, ipv4::HEADER_LEN),
        Family::Ipv6 => (ethernet::ETHERTYPE_IPV6, ipv6::HEADER_LEN),
    };
    // The group's multicast MAC: 01:00:5e:00:00:12 for 224.0.0.18 (RFC 1112), 33:33:00:00:00:12
    // for ff02::12 (RFC 2464).
    let dst = match *ph {
        PseudoHeader::V4 { dst, .. } => ipv4::multicast_mac(&dst),
        PseudoHeader::V6 { dst, .. } => ipv6::multicast_mac(&dst),
    };
    let eth = ethernet::Header {
        dst,
        src: MacAddr::virtual_router(ph.family(), repr.vrid),
        vlan: None,
        ethertype,
    };
    let mut frame = vec![0u8; ethernet::HEADER_LEN + ip_len + msg.len()];
    eth.emit(&mut frame).unwrap();
    let ip_buf = &mut frame[ethernet::HEADER_LEN..];
    match *ph {
        PseudoHeader::V4 { src, dst } => ipv4::Header {
            src,
            dst,
            protocol: IPPROTO_VRRP,
            ttl: 255,
            tos: ipv4::TOS_INTERNETWORK_CONTROL,
            ident: 7,
            payload_len: msg.len() as u16,
        }
        .emit(ip_buf)
        .unwrap(),
        PseudoHeader::V6 { src, dst } => ipv6::Header {
            src,
            dst,
            next_header: IPPROTO_VRRP,
            hop_limit: 255,
            traffic_class: 0xc0,
            flow_label: 0,
            payload_len: msg.len() as u16,
        }
        .emit(ip_buf)
        .unwrap(),
    }
    frame[ethernet::HEADER_LEN + ip_len..].copy_from_slice(&msg);
    frame
}

/// A classic libpcap file (LINKTYPE_ETHERNET) holding `frames`.
fn pcap(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes()); // thiszone
    out.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
    out.extend_from_slice(&65535u32.to_le_bytes()); // snaplen
    out.extend_from_slice(&1u32.to_le_bytes()); // Ethernet
    for (i, f) in frames.iter().enumerate() {
        out.extend_from_slice(&(i as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f);
    }
    out
}

/// Removes the capture file when the test ends, also on panic.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Runs tshark on `file` and returns one row per frame of the requested fields.
fn tshark(file: &TempFile, prefs: &[&str], fields: &[&str]) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-n").arg("-r").arg(&file.0).args([
        "-T",
        "fields",
        "-E",
        "separator=|",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
    ]);
    for p in prefs {
        cmd.args(["-o", p]);
    }
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = match cmd.output() {
        Ok(out) => out,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            panic!(
                "tshark is not installed; this test needs it (run `cargo xtask setup` or `apt-get install tshark`)"
            )
        }
        Err(e) => panic!("running tshark: {e}"),
    };
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split('|').map(str::to_owned).collect())
        .collect()
}

fn v2_repr() -> Repr {
    Repr {
        version: Version::V2,
        vrid: 9,
        priority: 254,
        max_advert_int: 2,
        auth: Auth::pass(b"s3cret"),
        addrs: vec![
            Ipv4Addr::new(10, 1, 2, 100).into(),
            Ipv4Addr::new(10, 1, 2, 101).into(),
        ],
    }
}

fn v3_ipv4_repr() -> Repr {
    Repr {
        version: Version::V3,
        vrid: 200,
        priority: 100,
        max_advert_int: 4095,
        auth: Auth::None,
        addrs: vec![Ipv4Addr::new(10, 9, 8, 7).into()],
    }
}

fn v3_ipv6_repr() -> Repr {
    Repr {
        version: Version::V3,
        vrid: 1,
        priority: 1,
        max_advert_int: 25,
        auth: Auth::None,
        addrs: ["fe80::1", "fd00::1:2"]
            .iter()
            .map(|a| a.parse::<IpAddr>().unwrap())
            .collect(),
    }
}

const VRRP_FIELDS: [&str; 10] = [
    "vrrp.version",
    "vrrp.type",
    "vrrp.virt_rtr_id",
    "vrrp.prio",
    "vrrp.addr_count",
    "vrrp.adver_int",
    "vrrp.short_adver_int",
    "vrrp.ip_addr",
    "vrrp.ipv6_addr",
    "vrrp.checksum.status",
];
// Wireshark's checksum status values.
const BAD: &str = "0";
const GOOD: &str = "1";

#[test]
fn tshark_agrees_with_emitted_frames() {
    let ph4 = PseudoHeader::V4 {
        src: SRC4,
        dst: ipv4::VRRP_MULTICAST,
    };
    let ph6 = PseudoHeader::V6 {
        src: src6(),
        dst: ipv6::VRRP_MULTICAST,
    };
    let vip6: Ipv6Addr = "fd00::1:2".parse().unwrap();
    let frames = vec![
        advert_frame(&v2_repr(), &ph4, ChecksumMode::Rfc5798),
        advert_frame(&v3_ipv4_repr(), &ph4, ChecksumMode::Rfc5798),
        advert_frame(&v3_ipv6_repr(), &ph6, ChecksumMode::Rfc5798),
        advert_frame(&v3_ipv4_repr(), &ph4, ChecksumMode::V3AsV2),
        arp::gratuitous_frame(MAC, Ipv4Addr::new(10, 1, 2, 100)).to_vec(),
        ndisc::unsolicited_advert_frame(MAC, vip6, false).to_vec(),
    ];
    let file = TempFile(
        std::env::temp_dir().join(format!("vrrpd-packet-tshark-{}.pcap", std::process::id())),
    );
    std::fs::write(&file.0, pcap(&frames)).unwrap();

    let rows = tshark(&file, &[], &VRRP_FIELDS);
    assert_eq!(rows.len(), 6, "{rows:?}");
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let macs = tshark(&file, &[], &["eth.dst"]);
    assert_eq!(macs[0], s(&["01:00:5e:00:00:12"]));
    assert_eq!(macs[2], s(&["33:33:00:00:00:12"]));
    // version, type, vrid, prio, count, v2 interval, v3 interval, IPv4 list, IPv6 list, checksum
    assert_eq!(
        rows[0],
        s(&[
            "2",
            "1",
            "9",
            "254",
            "2",
            "2",
            "",
            "10.1.2.100,10.1.2.101",
            "",
            GOOD
        ])
    );
    assert_eq!(
        rows[1],
        s(&[
            "3", "1", "200", "100", "1", "", "4095", "10.9.8.7", "", GOOD
        ])
    );
    assert_eq!(
        rows[2],
        s(&[
            "3",
            "1",
            "1",
            "1",
            "2",
            "",
            "25",
            "",
            "fe80::1,fd00::1:2",
            GOOD
        ])
    );
    // Wireshark's default is the RFC 5798 pseudo-header, so the v3_checksum_as_v2 frame is bad...
    assert_eq!(rows[3][9], BAD);
    // ...until its own v3_checksum_as_in_v2 preference is switched on.
    let as_v2 = tshark(
        &file,
        &["vrrp.v3_checksum_as_in_v2:TRUE"],
        &["vrrp.checksum.status"],
    );
    assert_eq!(as_v2[3], s(&[GOOD]));
    assert_eq!(as_v2[1], s(&[BAD]));
    assert_eq!(
        as_v2[0],
        s(&[GOOD]),
        "VRRPv2 is unaffected by the preference"
    );

    let v2_auth = tshark(&file, &[], &["vrrp.auth_type", "vrrp.auth_string"]);
    assert_eq!(v2_auth[0], s(&["1", "s3cret"]));

    let garp = tshark(
        &file,
        &[],
        &[
            "arp.opcode",
            "arp.isgratuitous",
            "arp.src.proto_ipv4",
            "arp.src.hw_mac",
        ],
    );
    assert_eq!(garp[4], s(&["1", "1", "10.1.2.100", "02:00:00:00:00:0a"]));

    let na = tshark(
        &file,
        &[],
        &[
            "ipv6.src",
            "ipv6.dst",
            "ipv6.hlim",
            "icmpv6.type",
            "icmpv6.nd.na.flag.r",
            "icmpv6.nd.na.flag.s",
            "icmpv6.nd.na.flag.o",
            "icmpv6.nd.na.target_address",
            "icmpv6.opt.linkaddr",
            "icmpv6.checksum.status",
        ],
    );
    assert_eq!(
        na[5],
        s(&[
            "fd00::1:2",
            "ff02::1",
            "255",
            "136",
            "0",
            "0",
            "1",
            "fd00::1:2",
            "02:00:00:00:00:0a",
            GOOD
        ])
    );
}
