//! Unicast parity (keepalived-behaviour.md §2.10): a pair with `unicast_src_ip` / `unicast_peer`
//! elects, fails over and preempts with multicast VRRP dropped on the bridge (an nftables rule in
//! the switch namespace drops 224.0.0.18 and ff02::12 between ports), so only the unicast adverts
//! can be what the routers hear. The adverts seen at the backup's bridge port are addressed to it.
//! Run with vrrpd on both routers and with keepalived 2.2.7 on either side.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use vrrpd_tests::capture::Capture;
use vrrpd_tests::conf::Instance;
use vrrpd_tests::observe::{wait_holders, wait_ping};
use vrrpd_tests::scenario::Testbed;
use vrrpd_tests::{Impl, State, TempDir};

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
            "unicast_peer {{\n        10.{subnet}.0.{peer}\n    }}"
        ));
    if router == MASTER {
        i = i.master();
    }
    i.to_string()
}

fn unicast_failover(impls: [Impl; 2], subnet: u8) {
    let mut tb = Testbed::new("ucast", subnet, &impls, |i, s, _| config(i, s));
    let rules = TempDir::new("nft");
    let file = rules.write("drop.nft", DROP_MULTICAST_VRRP);
    tb.lab
        .switch
        .ns()
        .exec(&["nft", "-f", &file.to_string_lossy()]);

    let vip: IpAddr = tb.lab.ipv4(200).into();
    let (master_ip, backup_ip): (IpAddr, IpAddr) =
        (tb.node(MASTER).ipv4.into(), tb.node(BACKUP).ipv4.into());
    let at_backup = Capture::start(tb.lab.switch.ns(), &tb.node(BACKUP).port);
    let t0 = Instant::now();
    tb.start(MASTER);
    tb.router(MASTER).wait_state(VI, State::Master, t0);
    tb.start(BACKUP);
    tb.router(BACKUP)
        .wait_log(&format!("({VI}) Entering BACKUP STATE"));
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
