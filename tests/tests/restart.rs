//! Restart after a crash: vrrpd, master of an IPv4 and an IPv6 instance, is SIGKILLed (it cleans
//! nothing up) and started again, twice. Each time it is master again with exactly one copy of
//! each VIP on the interface and exactly one XDP program attached, and the client reaches the VIP.
//! Before each start a `vrrp_xdp` is left attached through netlink, as a vrrpd killed on a kernel
//! without XDP bpf_link leaves it (a bpf_link dies with its process, so a plain SIGKILL leaves
//! nothing to replace): the daemon says it replaces it, and a program with a new id runs. A node
//! restarted as BACKUP under a live master with the VIP left on it removes the VIP.
//! The keepalived runs (`--ignored`) check the VIP half of the expectations against the reference
//! (keepalived has no XDP program).

use std::net::IpAddr;
use std::os::fd::{AsFd as _, AsRawFd as _};
use std::time::{Duration, Instant};

use vrrp_common::XdpConfig;
use vrrpd::dataplane::{XdpObject, XdpProgram, link_xdp};
use vrrpd_tests::Node;
use vrrpd_tests::observe::{addr_count, holders, wait_holders, wait_ping, xdp_prog_ids};
use vrrpd_tests::scenario::Testbed;
use vrrpd_tests::setns::{ifindex, in_netns};
use vrrpd_tests::{Impl, State};

/// Kernel `XDP_FLAGS_DRV_MODE`: the slot vrrpd attaches to on a veth.
const XDP_FLAGS_DRV_MODE: u32 = 1 << 2;

/// Attaches a fresh `vrrp_xdp` to `node`'s interface through netlink and lets go of it: the
/// attachment outlives the object, as after a vrrpd that attached without a bpf_link was killed.
/// Returns its program id.
fn leave_stale_vrrp_xdp(node: &Node) -> u32 {
    let index = ifindex(&node.ns, &node.iface);
    in_netns(&node.ns, || {
        let object = XdpObject::load(XdpConfig::default()).expect("load the XDP object");
        let program = object.program(XdpProgram::Vrrp).expect("vrrp_xdp");
        let fd = program.fd().expect("vrrp_xdp is loaded");
        link_xdp::set_fd(index, fd.as_fd().as_raw_fd(), XDP_FLAGS_DRV_MODE)
            .expect("netlink attach");
        link_xdp::query(index)
            .expect("query")
            .expect("attached")
            .prog_id
    })
}

const RESTARTS: usize = 2;
const SETTLE: Duration = Duration::from_secs(15);

fn config(subnet: u8) -> String {
    format!(
        "vrrp_instance VI_4 {{
    state MASTER
    interface eth0
    virtual_router_id 80
    version 3
    priority 150
    advert_int 0.2
    virtual_ipaddress {{
        10.{subnet}.0.200
    }}
}}
vrrp_instance VI_6 {{
    state MASTER
    interface eth0
    virtual_router_id 81
    version 3
    priority 150
    advert_int 0.2
    virtual_ipaddress {{
        fd00:{subnet}::200
    }}
}}
"
    )
}

fn restart_after_sigkill(which: Impl, subnet: u8) {
    let mut tb = Testbed::new("restart", subnet, &[which], |_, s, _| config(s));
    let vips: [IpAddr; 2] = [tb.lab.ipv4(200).into(), tb.lab.ipv6(200).into()];
    for round in 0..=RESTARTS {
        let stale = (which == Impl::Vrrpd).then(|| leave_stale_vrrp_xdp(tb.node(0)));
        if let Some(id) = stale {
            assert_eq!(
                xdp_prog_ids(tb.node(0)),
                [id],
                "round {round}: left attached"
            );
        }
        let t = Instant::now();
        tb.start(0);
        tb.router(0).wait_state("VI_4", State::Master, t);
        tb.router(0).wait_state("VI_6", State::Master, t);
        let node = tb.node(0);
        if let Some(stale) = stale {
            tb.router(0).wait_log(&format!(
                "replacing vrrp_xdp (id {stale}) left attached by an earlier vrrpd"
            ));
            let ids = xdp_prog_ids(node);
            assert!(
                ids.len() == 1 && ids[0] != stale,
                "round {round}: one new program instead of {stale}: {ids:?}\n{}",
                tb.transcripts()
            );
        }
        for vip in vips {
            assert_eq!(
                addr_count(node, vip),
                1,
                "round {round}: copies of {vip}:\n{}\n{}",
                node.ns
                    .exec(&["ip", "-o", "addr", "show", "dev", &node.iface]),
                tb.transcripts()
            );
            assert!(
                wait_ping(&tb.lab.client().ns, vip, SETTLE),
                "round {round}: client cannot ping {vip}\n{}",
                tb.transcripts()
            );
        }
        if which == Impl::Vrrpd {
            assert_eq!(
                xdp_prog_ids(node).len(),
                1,
                "round {round}: XDP programs on {}:\n{}\n{}",
                node.iface,
                node.ns
                    .exec(&["ip", "-d", "link", "show", "dev", &node.iface]),
                tb.transcripts()
            );
        }
        if round < RESTARTS {
            tb.router_mut(0).kill();
            // The crash leaves the VIPs behind: that is what the restart must cope with.
            assert_eq!(addr_count(tb.node(0), vips[0]), 1, "round {round}");
        }
    }
}

#[test]
fn restart_after_sigkill_leaves_one_vip_and_one_xdp_program_vrrpd() {
    restart_after_sigkill(Impl::Vrrpd, 71);
}

#[test]
#[ignore = "reference run with keepalived (VIP half only)"]
fn restart_after_sigkill_leaves_one_vip_keepalived() {
    restart_after_sigkill(Impl::Keepalived, 72);
}

/// Router 1, backup under a live master (router 0), is killed and the VIP is configured on it by
/// hand (what a crash while master leaves); started again, it is BACKUP and removes the VIP, so
/// only the master holds it.
fn restart_as_backup_removes_a_stale_vip(which: Impl, subnet: u8) {
    let mut tb = Testbed::new("restart-bk", subnet, &[which, which], |i, s, _| {
        backup_pair_config(i, s)
    });
    let vip: IpAddr = tb.lab.ipv4(200).into();
    let t0 = Instant::now();
    tb.start(0);
    tb.router(0).wait_state("VI_4", State::Master, t0);
    tb.start(1);
    tb.router(1).wait_log("(VI_4) Entering BACKUP STATE");
    tb.router_mut(1).kill();
    let node = tb.node(1);
    node.ns.add_addr(&node.iface, &format!("{vip}/24"));
    assert_eq!(
        holders(&tb.lab.routers, vip),
        [0, 1],
        "the stale VIP is in place"
    );

    let t1 = Instant::now();
    tb.start(1);
    tb.router(1)
        .wait_log_since("(VI_4) Entering BACKUP STATE", t1);
    assert_eq!(
        wait_holders(&tb.lab.routers, vip, &[0], SETTLE),
        [0],
        "the restarted backup still holds {vip}\n{}",
        tb.transcripts()
    );
    assert!(
        !tb.router(1).entered_since("VI_4", State::Master, t1),
        "{}",
        tb.transcripts()
    );
    assert!(
        wait_ping(&tb.lab.client().ns, vip, SETTLE),
        "client cannot ping {vip}\n{}",
        tb.transcripts()
    );
}

fn backup_pair_config(router: usize, subnet: u8) -> String {
    let (state, priority) = if router == 0 {
        ("MASTER", 150)
    } else {
        ("BACKUP", 100)
    };
    format!(
        "vrrp_instance VI_4 {{
    state {state}
    interface eth0
    virtual_router_id 82
    version 3
    priority {priority}
    advert_int 0.2
    virtual_ipaddress {{
        10.{subnet}.0.200/24
    }}
}}
"
    )
}

#[test]
fn restart_as_backup_removes_a_stale_vip_vrrpd() {
    restart_as_backup_removes_a_stale_vip(Impl::Vrrpd, 73);
}

#[test]
#[ignore = "reference run with keepalived"]
fn restart_as_backup_removes_a_stale_vip_keepalived() {
    restart_as_backup_removes_a_stale_vip(Impl::Keepalived, 74);
}
