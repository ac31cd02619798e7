//! End-to-end: `vrrpd watch` attached to an interface prints one line per VRRP advert it sees, here
//! real adverts from keepalived in another namespace on the same bridge. Not a timed test: gaps are
//! only checked to be about the advertised interval.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use vrrpd_tests::observe::xdp_prog_count;
use vrrpd_tests::watch::{WatchLine, monotonic_now};
use vrrpd_tests::{Keepalived, Lab, Netns, NsChild, Stream, Switch, TempDir, vrrpd_bin};

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

/// keepalived master of `vrid` on `eth0`, VRRPv3 every 100 ms: adverts within a second.
fn fast_master(vrid: u8, vip: std::net::Ipv4Addr) -> String {
    format!(
        "vrrp_instance V{vrid} {{
    state MASTER
    interface eth0
    virtual_router_id {vrid}
    version 3
    priority 150
    advert_int 0.1
    virtual_ipaddress {{
        {vip}/24
    }}
}}
"
    )
}

/// `vrrpd` at `bin` with `args`, in `ns`, and in a mount namespace of its own whose
/// /etc/keepalived is an empty tmpfs, holding only `default_config` (as keepalived.conf) if
/// given: whether the default configuration exists is then up to the test, not the machine, and
/// the machine's own file is neither read nor touched.
fn spawn_with_default_config(ns: &Netns, default_config: Option<&Path>, args: &[&str]) -> NsChild {
    const SCRIPT: &str = r#"set -e
[ -d /etc/keepalived ] || { echo "no /etc/keepalived to mount over (keepalived not installed?)" >&2; exit 97; }
mount -t tmpfs vrrpd-test /etc/keepalived
[ "$1" = - ] || cp "$1" /etc/keepalived/keepalived.conf
shift
exec "$@""#;
    let bin = vrrpd_bin();
    let config = default_config.map_or("-".into(), |p| p.to_string_lossy());
    let mut cmd = vec![
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        SCRIPT,
        "sh",
        &config,
    ];
    let bin = bin.to_string_lossy();
    cmd.push(&bin);
    cmd.extend_from_slice(args);
    ns.spawn(&cmd)
}

/// Sends `signal` to `child` and checks a clean exit: status 0 within 10 s and nothing on stderr
/// but `expected` (every line it printed there, in order).
fn stop_cleanly(child: &mut NsChild, signal: i32, expected: &[&str]) {
    child.signal(signal);
    let status = child.wait_exit(Duration::from_secs(10)).unwrap_or_else(|| {
        panic!(
            "no exit within 10 s of signal {signal}\n{}",
            child.transcript()
        )
    });
    assert!(
        status.success(),
        "exit status {status} after signal {signal}\n{}",
        child.transcript()
    );
    // The reader threads may still be on the last lines; they end at end of file.
    child.try_wait_for(Duration::from_secs(2), |_| false);
    let stderr = child.stream_lines(Stream::Stderr);
    assert_eq!(
        stderr,
        expected,
        "stderr after signal {signal}\n{}",
        child.transcript()
    );
}

/// `prog/xdp` entries on `iface` in `ns` (as `observe::xdp_prog_count`, for an interface that
/// is not a lab node's).
fn xdp_progs_on(ns: &Netns, iface: &str) -> usize {
    ns.exec(&["ip", "-d", "link", "show", "dev", iface])
        .matches("prog/xdp")
        .count()
}

/// Ctrl-C (SIGINT) or SIGTERM while adverts arrive: exit 0, no error, the program detached.
fn check_detach_on(signal: i32, tag: &str) {
    let lab = Lab::builder(tag).routers(1).subnet(7).build();
    let client = lab.client();
    let mut watch = start_watch(&client.ns, &client.iface);
    let _keepalived = Keepalived::start(&lab.router(0).ns, &fast_master(60, lab.ipv4(200)));
    wait_adverts(&watch, 60, 3);
    assert_eq!(
        xdp_prog_count(client),
        1,
        "attached\n{}",
        watch.transcript()
    );
    stop_cleanly(&mut watch, signal, &["watching eth0 (xdp mode native)"]);
    assert_eq!(
        xdp_prog_count(client),
        0,
        "an XDP program is left on {} after signal {signal}\n{}",
        client.iface,
        watch.transcript()
    );
}

#[test]
fn watch_detaches_on_ctrl_c() {
    check_detach_on(libc::SIGINT, "wint");
}

#[test]
fn watch_detaches_on_sigterm() {
    check_detach_on(libc::SIGTERM, "wterm");
}

#[test]
fn watch_on_a_bridge_falls_back_to_skb_mode_with_a_warning() {
    // A bridge has no driver XDP hook: the default `--xdp-mode auto` must fall back, and say so.
    let switch = Switch::new("wbr");
    let bin = vrrpd_bin();
    let mut watch = switch
        .ns()
        .spawn(&[&bin.to_string_lossy(), "watch", "--iface", "br0"]);
    let banner = "watching br0 (xdp mode skb)";
    watch.wait_for(&format!("`{banner}` on stderr"), TIMEOUT, |l| {
        l.stream == Stream::Stderr && l.text == banner
    });
    let stderr = watch.stream_lines(Stream::Stderr);
    let [warning, _banner] = &stderr[..] else {
        panic!(
            "expected the fallback warning, then the banner\n{}",
            watch.transcript()
        );
    };
    assert!(
        warning.contains("WARN")
            && warning.contains("interface br0: attaching XDP in native mode")
            && warning.ends_with("; falling back to SKB (generic) mode"),
        "fallback warning: {warning:?}\n{}",
        watch.transcript()
    );
    assert_eq!(xdp_progs_on(switch.ns(), "br0"), 1, "attached in SKB mode");
    let warning = warning.clone();
    stop_cleanly(&mut watch, libc::SIGTERM, &[&warning, banner]);
    assert_eq!(
        xdp_progs_on(switch.ns(), "br0"),
        0,
        "detached\n{}",
        watch.transcript()
    );
}

#[test]
fn run_without_a_configuration_observes_the_interface() {
    // On the lab's bridge: no driver XDP there, so this also checks that the observe mode of
    // `vrrpd run` logs the SKB fallback, and that a bridge hands adverts to generic XDP.
    let lab = Lab::builder("wrun").routers(1).subnet(8).build();
    let switch = lab.switch.ns();
    let mut run = spawn_with_default_config(switch, None, &["run", "--iface", "br0"]);
    let banner = "watching br0 (xdp mode skb)";
    run.wait_for("the observe-mode banner", TIMEOUT, |l| {
        l.stream == Stream::Stderr && l.text == banner
    });
    let stderr = run.stream_lines(Stream::Stderr);
    let [notice, warning, _banner] = &stderr[..] else {
        panic!("expected notice, warning, banner\n{}", run.transcript());
    };
    assert_eq!(
        notice,
        "vrrpd: /etc/keepalived/keepalived.conf does not exist: running observe mode on br0",
        "{}",
        run.transcript()
    );
    assert!(
        warning.contains("WARN") && warning.ends_with("; falling back to SKB (generic) mode"),
        "fallback warning: {warning:?}\n{}",
        run.transcript()
    );
    let keepalived = Keepalived::start(&lab.router(0).ns, &fast_master(61, lab.ipv4(201)));
    let adverts = wait_adverts(&run, 61, 3);
    let context = format!("{}\n{}", run.transcript(), keepalived.child().transcript());
    for line in &adverts {
        assert_eq!(
            (
                line.iface.as_str(),
                line.src,
                line.vrid,
                line.prio,
                line.ver
            ),
            ("br0", IpAddr::V4(lab.router(0).ipv4), 61, 150, 3),
            "{line:?}\n{context}"
        );
        assert_eq!(
            line.addrs,
            [IpAddr::V4(lab.ipv4(201))],
            "{line:?}\n{context}"
        );
    }
    let expected = [notice.clone(), warning.clone(), banner.to_string()];
    stop_cleanly(
        &mut run,
        libc::SIGINT,
        &expected.each_ref().map(String::as_str),
    );
    assert_eq!(
        xdp_progs_on(switch, "br0"),
        0,
        "detached\n{}",
        run.transcript()
    );
}

#[test]
fn run_without_config_reads_the_default_file_when_it_exists() {
    // The other branch: with /etc/keepalived/keepalived.conf present, `vrrpd run` runs it
    // instead of observing.
    let lab = Lab::builder("wdef").routers(1).subnet(9).build();
    let router = lab.router(0);
    let dir = TempDir::new("wdef");
    let config = dir.write("keepalived.conf", &fast_master(62, lab.ipv4(202)));
    let (pid, socket) = (dir.path().join("vrrpd.pid"), dir.path().join("vrrpd.sock"));
    let mut run = spawn_with_default_config(
        &router.ns,
        Some(&config),
        &[
            "run",
            "--iface",
            "eth0",
            "--pid",
            &pid.to_string_lossy(),
            "--status-socket",
            &socket.to_string_lossy(),
        ],
    );
    run.wait_for("the start line naming the default file", TIMEOUT, |l| {
        l.stream == Stream::Stderr
            && l.text.contains("Starting vrrpd")
            && l.text
                .contains(" with /etc/keepalived/keepalived.conf (1 instance(s))")
    });
    run.wait_for("V62 becoming master", TIMEOUT, |l| {
        l.text.contains("(V62) Entering MASTER STATE")
    });
    assert!(
        !run.lines().iter().any(|l| l.text.contains("observe mode")),
        "observe mode with a default configuration present\n{}",
        run.transcript()
    );
    run.signal(libc::SIGTERM);
    let status = run.wait_exit(Duration::from_secs(10));
    assert!(
        status.is_some_and(|s| s.success()),
        "exit {status:?}\n{}",
        run.transcript()
    );
}
