//! Unicast parity (keepalived-behaviour.md §2.10): a pair with `unicast_src_ip` / `unicast_peer`
//! elects, fails over and preempts with multicast VRRP dropped on the bridge (an nftables rule in
//! the switch namespace drops 224.0.0.18 and ff02::12 between ports), so only the unicast adverts
//! can be what the routers hear. The adverts seen at the backup's bridge port are addressed to it.
//! Run with vrrpd on both routers and with keepalived 2.2.7 on either side.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use serde_json::Value;
use vrrpd_tests::capture::{Capture, Frame};
use vrrpd_tests::conf::Instance;
use vrrpd_tests::observe::{wait_holders, wait_ping};
use vrrpd_tests::scenario::Testbed;
use vrrpd_tests::{Impl, Router, State, TempDir};

const MASTER: usize = 0;
const BACKUP: usize = 1;
const VRID: u8 = 59;
const VI: &str = "VI_1";
const SETTLE: Duration = Duration::from_secs(15);

const DROP_MULTICAST_VRRP: &str = "table bridge vrrp_drop {
    chain forward {
        type filter hook forward priority 0; policy accept;
        ip daddr 224.0.0.18 counter drop
        ip6 daddr ff02::12 counter drop
    }
}
";

fn config(router: usize, subnet: u8) -> String {
    config_with(router, subnet, &[], "")
}

/// Router `router`'s instance: unicast to the other router, plus `extra` lines and `peer_options`
/// after the peer's address (`min_ttl N`).
fn config_with(router: usize, subnet: u8, extra: &[&str], peer_options: &str) -> String {
    let (me, peer, priority) = if router == MASTER {
        (1, 2, 150)
    } else {
        (2, 1, 100)
    };
    let mut i = Instance::new(VI, VRID)
        .priority(priority)
        .advert_int("0.2")
        .vip(format!("10.{subnet}.0.200"))
        .line(format!("unicast_src_ip 10.{subnet}.0.{me}"))
        .line(format!(
            "unicast_peer {{\n        10.{subnet}.0.{peer} {peer_options}\n    }}"
        ));
    for line in extra {
        i = i.line(line);
    }
    if router == MASTER {
        i = i.master();
    }
    i.to_string()
}

/// Multicast VRRP dropped on the bridge: only unicast adverts can be what the routers hear.
fn drop_multicast(tb: &Testbed) {
    let rules = TempDir::new("nft");
    let file = rules.write("drop.nft", DROP_MULTICAST_VRRP);
    tb.lab
        .switch
        .ns()
        .exec(&["nft", "-f", &file.to_string_lossy()]);
}

/// The instance's entry of `router`'s `vrrpd status --json`.
fn status(router: &Router) -> Value {
    let s: Value = serde_json::from_str(&router.status_json()).expect("status --json is JSON");
    s["instances"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["name"] == VI).cloned())
        .unwrap_or_else(|| panic!("no {VI} in {s:#}"))
}

fn stat(instance: &Value, name: &str) -> u64 {
    instance["stats"][name]
        .as_u64()
        .unwrap_or_else(|| panic!("no stats.{name} in {instance:#}"))
}

/// The IPv4 TTL of an untagged frame.
fn ttl(frame: &Frame) -> u8 {
    frame.data[14 + 8]
}

fn unicast_failover(impls: [Impl; 2], subnet: u8) {
    let mut tb = Testbed::new("ucast", subnet, &impls, |i, s, _| config(i, s));
    drop_multicast(&tb);

    let vip: IpAddr = tb.lab.ipv4(200).into();
    let (master_ip, backup_ip): (IpAddr, IpAddr) =
        (tb.node(MASTER).ipv4.into(), tb.node(BACKUP).ipv4.into());
    let at_backup = Capture::start(tb.lab.switch.ns(), &tb.node(BACKUP).port);
    let t0 = Instant::now();
    tb.start_master_then_backup(MASTER, BACKUP, VI);
    assert_eq!(
        wait_holders(&tb.lab.routers, vip, &[MASTER], SETTLE),
        [MASTER],
        "{}",
        tb.transcripts()
    );
    // Several intervals without the backup taking over: it hears the unicast adverts.
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !tb.router(BACKUP).entered_since(VI, State::Master, t0),
        "the backup did not hear the unicast adverts\n{}",
        tb.transcripts()
    );
    let adverts = at_backup.adverts(VRID);
    let from_master: Vec<_> = adverts
        .iter()
        .filter(|(_, a, _)| a.src == master_ip)
        .collect();
    assert!(
        from_master.len() >= 5 && from_master.iter().all(|(_, a, _)| a.dst == backup_ip),
        "adverts reaching the backup's port are unicast to it: {:?}\n{}",
        from_master.iter().map(|(_, a, _)| a).collect::<Vec<_>>(),
        tb.transcripts()
    );

    let crashed = Instant::now();
    tb.crash(MASTER);
    tb.router(BACKUP).wait_state(VI, State::Master, crashed);
    assert!(
        wait_ping(&tb.lab.client().ns, vip, SETTLE),
        "client cannot ping {vip} after the failover\n{}",
        tb.transcripts()
    );

    let back = Instant::now();
    tb.revive(MASTER);
    tb.router(MASTER).wait_state(VI, State::Master, back);
    tb.router(BACKUP).wait_state(VI, State::Backup, back);
    assert_eq!(
        wait_holders(&tb.lab.routers, vip, &[MASTER], SETTLE),
        [MASTER],
        "{}",
        tb.transcripts()
    );
    let rules = tb
        .lab
        .switch
        .ns()
        .exec(&["nft", "list", "table", "bridge", "vrrp_drop"]);
    assert!(
        rules.contains("224.0.0.18 counter packets 0"),
        "nobody sent multicast VRRP in unicast mode:\n{rules}"
    );
}

#[test]
fn unicast_failover_vrrpd() {
    unicast_failover([Impl::Vrrpd, Impl::Vrrpd], 82);
}

#[test]
fn unicast_failover_vrrpd_master_keepalived_backup() {
    unicast_failover([Impl::Vrrpd, Impl::Keepalived], 83);
}

#[test]
fn unicast_failover_keepalived_master_vrrpd_backup() {
    unicast_failover([Impl::Keepalived, Impl::Vrrpd], 84);
}

#[test]
#[ignore = "reference run with keepalived on both routers"]
fn unicast_failover_keepalived() {
    unicast_failover([Impl::Keepalived, Impl::Keepalived], 85);
}

/// A master sending with `unicast_ttl 64` (as across routed hops) keeps the backup in BACKUP:
/// unicast adverts are not held to TTL 255 (keepalived-behaviour.md §2.10), nor counted as TTL
/// errors. With keepalived as the master, the same from the reference's adverts.
fn unicast_ttl_is_accepted(master: Impl, subnet: u8) {
    let impls = [master, Impl::Vrrpd];
    let mut tb = Testbed::new("ucttl", subnet, &impls, |i, s, _| {
        config_with(
            i,
            s,
            if i == MASTER {
                &["unicast_ttl 64"]
            } else {
                &[]
            },
            "",
        )
    });
    drop_multicast(&tb);
    let master_ip: IpAddr = tb.node(MASTER).ipv4.into();
    let at_backup = Capture::start(tb.lab.switch.ns(), &tb.node(BACKUP).port);
    let t0 = Instant::now();
    tb.start_master_then_backup(MASTER, BACKUP, VI);
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !tb.router(BACKUP).entered_since(VI, State::Master, t0),
        "the backup did not hear adverts with TTL 64\n{}",
        tb.transcripts()
    );
    let ttls: Vec<u8> = at_backup
        .adverts(VRID)
        .iter()
        .filter(|(_, a, _)| a.src == master_ip)
        .map(|(_, _, f)| ttl(f))
        .collect();
    assert!(
        ttls.len() >= 10 && ttls.iter().all(|t| *t == 64),
        "the master's adverts carry TTL 64: {ttls:?}"
    );
    let backup = status(tb.router(BACKUP));
    assert_eq!(stat(&backup, "ip_ttl_err"), 0, "{backup:#}");
    assert!(stat(&backup, "advert_rcvd") >= 10, "{backup:#}");
    assert_eq!(
        backup["master"]["address"],
        master_ip.to_string(),
        "{backup:#}"
    );
}

#[test]
fn unicast_ttl_64_keeps_the_backup_in_backup_vrrpd() {
    unicast_ttl_is_accepted(Impl::Vrrpd, 86);
}

#[test]
fn unicast_ttl_64_keeps_the_backup_in_backup_keepalived_master() {
    unicast_ttl_is_accepted(Impl::Keepalived, 87);
}

/// A reload that changes the master's `unicast_ttl` (64 → 32): the adverts after it carry the
/// new TTL, as keepalived's do (it writes the TTL into each packet it sends), and the backup
/// stays in BACKUP. Before, vrrpd kept the TTL its socket was opened with.
fn reloaded_unicast_ttl_applies(master: Impl, subnet: u8) {
    let impls = [master, Impl::Vrrpd];
    let conf = |i: usize, s: u8, ttl: &str| {
        if i == MASTER {
            config_with(i, s, &[ttl], "")
        } else {
            config_with(i, s, &[], "")
        }
    };
    let mut tb = Testbed::new("ucttlrl", subnet, &impls, |i, s, _| {
        conf(i, s, "unicast_ttl 64")
    });
    drop_multicast(&tb);
    let master_ip: IpAddr = tb.node(MASTER).ipv4.into();
    let at_backup = Capture::start(tb.lab.switch.ns(), &tb.node(BACKUP).port);
    let t0 = Instant::now();
    tb.start_master_then_backup(MASTER, BACKUP, VI);
    let ttls = || -> Vec<u8> {
        at_backup
            .adverts(VRID)
            .iter()
            .filter(|(_, a, _)| a.src == master_ip)
            .map(|(_, _, f)| ttl(f))
            .collect()
    };
    let deadline = Instant::now() + SETTLE;
    while ttls().len() < 5 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let before = ttls();
    assert!(
        before.len() >= 5 && before.iter().all(|t| *t == 64),
        "TTL 64 before the reload: {before:?}\n{}",
        tb.transcripts()
    );

    tb.router(MASTER)
        .write_config(&conf(MASTER, tb.lab.subnet(), "unicast_ttl 32"));
    tb.router(MASTER).reload();
    let deadline = Instant::now() + SETTLE;
    while !ttls().contains(&32) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    // A second of adverts after the first one with the new TTL.
    std::thread::sleep(Duration::from_secs(1));
    let all = ttls();
    let first = all.iter().position(|t| *t == 32).unwrap_or_else(|| {
        panic!(
            "no advert with TTL 32 after the reload: {all:?}\n{}",
            tb.transcripts()
        )
    });
    assert!(
        all[..first].iter().all(|t| *t == 64)
            && all[first..].len() >= 4
            && all[first..].iter().all(|t| *t == 32),
        "TTL 64 until the reload, 32 after: {all:?}\n{}",
        tb.transcripts()
    );
    assert!(
        !tb.router(BACKUP).entered_since(VI, State::Master, t0),
        "the backup took over across the master's reload\n{}",
        tb.transcripts()
    );
}

#[test]
fn reloaded_unicast_ttl_applies_vrrpd() {
    reloaded_unicast_ttl_applies(Impl::Vrrpd, 160);
}

#[test]
fn reloaded_unicast_ttl_applies_keepalived() {
    reloaded_unicast_ttl_applies(Impl::Keepalived, 161);
}

/// The backup's peer says `min_ttl 100`, the master sends TTL 64: every advert is dropped and
/// counted as `ip_ttl_err` with keepalived's log line, and the backup takes over.
#[test]
fn adverts_below_the_peers_min_ttl_are_dropped_and_counted() {
    let impls = [Impl::Vrrpd, Impl::Vrrpd];
    let mut tb = Testbed::new("ucmin", 88, &impls, |i, s, _| {
        if i == MASTER {
            config_with(i, s, &["unicast_ttl 64"], "")
        } else {
            config_with(i, s, &[], "min_ttl 100")
        }
    });
    drop_multicast(&tb);
    let t0 = Instant::now();
    tb.start(MASTER);
    tb.router(MASTER).wait_state(VI, State::Master, t0);
    let started = Instant::now();
    tb.start(BACKUP);
    tb.router(BACKUP).wait_state(VI, State::Master, started);
    tb.router(BACKUP)
        .wait_log(&format!("({VI}) TTL/HL 64 not in range 100 - 255"));
    let backup = status(tb.router(BACKUP));
    assert!(stat(&backup, "ip_ttl_err") >= 3, "{backup:#}");
    assert_eq!(backup["state"], "MASTER", "{backup:#}");
}

/// `check_unicast_src`: a third router, not among the backup's peers, sends it priority-200
/// adverts. The backup logs and ignores them (keepalived counts them in advert_rcvd only): it
/// keeps the real master as master, and takes over when that master crashes, although the
/// intruder's higher-priority adverts keep arriving. Without the check it would follow them.
#[test]
fn check_unicast_src_ignores_a_sender_that_is_not_a_peer() {
    const INTRUDER: usize = 2;
    let impls = [Impl::Vrrpd, Impl::Vrrpd, Impl::Vrrpd];
    let mut tb = Testbed::new("ucsrc", 89, &impls, |i, s, _| match i {
        MASTER => config(i, s),
        BACKUP => config_with(i, s, &["check_unicast_src"], ""),
        _ => Instance::new(VI, VRID)
            .priority(200)
            .advert_int("0.2")
            .vip(format!("10.{s}.0.200"))
            .line(format!("unicast_src_ip 10.{s}.0.3"))
            .line(format!("unicast_peer {{\n        10.{s}.0.2\n    }}"))
            .to_string(),
    });
    drop_multicast(&tb);
    let (master_ip, intruder_ip): (IpAddr, IpAddr) =
        (tb.node(MASTER).ipv4.into(), tb.node(INTRUDER).ipv4.into());
    tb.start_master_then_backup(MASTER, BACKUP, VI);
    let t1 = Instant::now();
    tb.start(INTRUDER);
    tb.router(INTRUDER).wait_state(VI, State::Master, t1);
    let ignored = format!("({VI}) unicast source address {intruder_ip} not a unicast peer");
    tb.router(BACKUP).wait_log(&ignored);
    std::thread::sleep(Duration::from_secs(1));
    let before = status(tb.router(BACKUP));
    assert_eq!(
        before["master"]["address"],
        master_ip.to_string(),
        "the backup follows its peer, not the intruder\n{before:#}"
    );
    assert_eq!(before["state"], "BACKUP", "{before:#}");

    let crashed = Instant::now();
    tb.crash(MASTER);
    tb.router(BACKUP).wait_state(VI, State::Master, crashed);
    std::thread::sleep(Duration::from_secs(1));
    let after = status(tb.router(BACKUP));
    assert_eq!(after["state"], "MASTER", "{after:#}");
    assert!(
        tb.router(BACKUP).log_since(&ignored, crashed).len() >= 3,
        "the intruder's adverts kept arriving and were ignored\n{}",
        tb.transcripts()
    );
    // keepalived 2.2.7 counts such an advert in advert_rcvd and in no error counter.
    assert!(
        stat(&after, "advert_rcvd") > stat(&before, "advert_rcvd"),
        "{after:#}"
    );
    assert_eq!(stat(&after, "ip_ttl_err"), 0, "{after:#}");
}
