//! End-to-end: `vrrpd watch` attached to an interface prints one line per VRRP advert it sees, here
//! real adverts from keepalived in another namespace on the same bridge. Not a timed test: gaps are
//! only checked to be about the advertised interval.

use std::net::IpAddr;
use std::time::Duration;

use vrrpd_tests::watch::{WatchLine, monotonic_now};
use vrrpd_tests::{Keepalived, Lab, Netns, NsChild, Stream, vrrpd_bin};

/// Generous: XDP load and keepalived's first master-down timer (3 × advert_int + skew) on a
/// machine shared with other builds.
const TIMEOUT: Duration = Duration::from_secs(40);

/// Starts `vrrpd watch` on `iface` in `ns` and waits until it says it is attached.
fn start_watch(ns: &Netns, iface: &str) -> NsChild {
    let bin = vrrpd_bin();
    let bin = bin.to_string_lossy();
    let watch = ns.spawn(&[&bin, "watch", "--iface", iface, "--xdp-mode", "native"]);
    let banner = format!("watching {iface} (xdp mode native)");
    watch.wait_for(&format!("`{banner}` on stderr"), TIMEOUT, |l| {
        l.stream == Stream::Stderr && l.text.trim() == banner
    });
    watch
}

/// Waits for `n` watch lines of `vrid` and parses every advert line printed so far.
fn wait_adverts(watch: &NsChild, vrid: u8, n: usize) -> Vec<WatchLine> {
    let tag = format!(" vrid={vrid} ");
    watch.wait_for_count(&format!("for vrid {vrid}"), n, TIMEOUT, |l| {
        l.stream == Stream::Stdout && l.text.contains(&tag)
    });
    watch
        .stream_lines(Stream::Stdout)
        .iter()
        .filter(|l| l.contains(" vrid="))
        .map(|l| WatchLine::parse(l).unwrap_or_else(|e| panic!("{e}\n{}", watch.transcript())))
        .collect()
}

/// Checks the adverts of one VRID: fixed fields, times on the monotonic clock, and gaps that are
/// the differences of consecutive times and about `int_ms`.
#[allow(clippy::too_many_arguments)]
fn check_vrid(
    all: &[WatchLine],
    vrid: u8,
    src: IpAddr,
    prio: u8,
    ver: u8,
    int_ms: f64,
    addrs: &[IpAddr],
    started: f64,
    context: &str,
) {
    let lines: Vec<&WatchLine> = all.iter().filter(|l| l.vrid == vrid).collect();
    let now = monotonic_now().as_secs_f64();
    for line in &lines {
        assert_eq!(line.iface, "eth0", "{line:?}\n{context}");
        assert_eq!(line.src, src, "{line:?}\n{context}");
        assert_eq!((line.prio, line.ver), (prio, ver), "{line:?}\n{context}");
        assert!(
            (line.int_ms - int_ms).abs() < 1.0,
            "interval {} ms, keepalived sends {int_ms} ms: {line:?}\n{context}",
            line.int_ms
        );
        assert_eq!(line.addrs, addrs, "{line:?}\n{context}");
        assert!(
            line.t >= started - 1.0 && line.t <= now + 1.0,
            "t={} is not CLOCK_MONOTONIC between the start ({started}) and now ({now}): \
             {line:?}\n{context}",
            line.t
        );
    }
    assert_eq!(
        lines[0].gap_ms, None,
        "the first advert of vrid {vrid} has no gap\n{context}"
    );
    let mut gaps = Vec::new();
    for pair in lines.windows(2) {
        let gap = pair[1]
            .gap_ms
            .unwrap_or_else(|| panic!("no gap after the first advert: {:?}\n{context}", pair[1]));
        let between = (pair[1].t - pair[0].t) * 1000.0;
        assert!(
            gap > 0.0 && (gap - between).abs() < 0.5,
            "gap {gap} ms but the times are {between} ms apart: {pair:?}\n{context}"
        );
        gaps.push(gap);
    }
    gaps.sort_by(f64::total_cmp);
    let median = gaps[gaps.len() / 2];
    assert!(
        (0.5 * int_ms..=2.0 * int_ms).contains(&median),
        "median gap {median} ms for adverts every {int_ms} ms: {gaps:?}\n{context}"
    );
}

#[test]
fn watch_prints_keepalived_v2_and_v3_adverts() {
    let lab = Lab::builder("watch4").routers(1).subnet(4).build();
    let router = lab.router(0);
    let (vip50, vip51) = (lab.ipv4(200), lab.ipv4(201));
    let started = monotonic_now().as_secs_f64();
    let mut watch = start_watch(&lab.client().ns, &lab.client().iface);
    let config = format!(
        "global_defs {{
    router_id vt-watch
}}
vrrp_instance V50 {{
    state MASTER
    interface eth0
    virtual_router_id 50
    version 2
    priority 150
    advert_int 1
    virtual_ipaddress {{
        {vip50}/24
    }}
}}
vrrp_instance V51 {{
    state MASTER
    interface eth0
    virtual_router_id 51
    version 3
    priority 100
    advert_int 0.1
    virtual_ipaddress {{
        {vip51}/24
    }}
}}
"
    );
    let keepalived = Keepalived::start(&router.ns, &config);

    wait_adverts(&watch, 50, 4);
    let adverts = wait_adverts(&watch, 51, 20);
    let context = format!(
        "{}\n{}",
        watch.transcript(),
        keepalived.child().transcript()
    );
    assert!(
        adverts.iter().all(|l| l.vrid == 50 || l.vrid == 51),
        "only keepalived's VRIDs are on the wire\n{context}"
    );
    let src = IpAddr::V4(router.ipv4);
    check_vrid(
        &adverts,
        50,
        src,
        150,
        2,
        1000.0,
        &[vip50.into()],
        started,
        &context,
    );
    check_vrid(
        &adverts,
        51,
        src,
        100,
        3,
        100.0,
        &[vip51.into()],
        started,
        &context,
    );
    assert!(watch.try_wait().is_none(), "vrrpd watch exited\n{context}");
}

#[test]
fn watch_prints_keepalived_ipv6_adverts() {
    let lab = Lab::builder("watch6").routers(1).subnet(6).build();
    let router = lab.router(0);
    let vip = lab.ipv6(200);
    // IPv6 adverts come from the link-local address.
    let link_local: IpAddr = router
        .ns
        .exec(&[
            "ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "link",
        ])
        .split_whitespace()
        .skip_while(|w| *w != "inet6")
        .nth(1)
        .and_then(|cidr| cidr.split('/').next())
        .and_then(|a| a.parse().ok())
        .expect("router has a link-local address");
    let started = monotonic_now().as_secs_f64();
    let watch = start_watch(&lab.client().ns, &lab.client().iface);
    let config = format!(
        "vrrp_instance V52 {{
    state MASTER
    interface eth0
    virtual_router_id 52
    version 3
    priority 120
    advert_int 0.5
    virtual_ipaddress {{
        {vip}/64
    }}
}}
"
    );
    let keepalived = Keepalived::start(&router.ns, &config);

    let adverts = wait_adverts(&watch, 52, 6);
    let context = format!(
        "{}\n{}",
        watch.transcript(),
        keepalived.child().transcript()
    );
    check_vrid(
        &adverts,
        52,
        link_local,
        120,
        3,
        500.0,
        &[vip.into()],
        started,
        &context,
    );
}
