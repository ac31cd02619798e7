//! Building blocks shared by the end-to-end scenarios and the demo: a lab prepared for VRRP, and
//! the failures the scenarios inflict on a router (crash, return).

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::lab::{Lab, Node};
use crate::router::{Impl, Router, State};
use crate::seed::{CheckScript, LAB_VIP1_HOST, LAB_VIP2_HOST, Seed, lab_vip};

/// A lab of `routers` routers and a client on subnet `subnet`, prepared for the scenarios:
///
/// - IPv6 addresses survive a link going down (`keep_addr_on_down`), as IPv4 ones do, so a crashed
///   router comes back with its own address and with whatever VIP the crash left behind (which a
///   restarted daemon must clean up);
pub fn vrrp_lab(tag: &str, routers: usize, subnet: u8) -> Lab {
    let lab = Lab::builder(tag).routers(routers).subnet(subnet).build();
    for node in &lab.routers {
        node.ns.sysctl(
            &format!("net.ipv6.conf.{}.keep_addr_on_down", node.iface),
            "1",
        );
    }
    lab
}

/// A crash: the node's link goes down (it vanishes from the wire at once), then the daemon gets
/// SIGKILL (no priority-0 advert, no clean-up).
pub fn crash(router: &mut Router, node: &Node) {
    node.ns.link_down(&node.iface);
    router.kill();
}

/// Brings a crashed node's link back up (the caller then starts a daemon on it again).
pub fn revive(node: &Node) {
    node.ns.link_up(&node.iface);
}

/// Routers on a lab, each with its implementation, configuration and `chk_nginx` stand-in, started
/// and stopped one by one. Dropping it stops every daemon, then removes the lab.
pub struct Testbed {
    // Field order matters: daemons go before the lab and the scripts they use.
    routers: Vec<Option<Router>>,
    pub lab: Lab,
    pub checks: Vec<CheckScript>,
    pub impls: Vec<Impl>,
    configs: Vec<String>,
    vrrpd: Option<PathBuf>,
}

impl Testbed {
    /// A lab with one router per entry of `impls`, router `i` configured by
    /// `config(i, subnet, its check script)`. Nothing is started yet.
    pub fn new(
        tag: &str,
        subnet: u8,
        impls: &[Impl],
        config: impl Fn(usize, u8, &Path) -> String,
    ) -> Testbed {
        let lab = vrrp_lab(tag, impls.len(), subnet);
        let checks: Vec<CheckScript> = impls.iter().map(|_| CheckScript::new()).collect();
        let configs = checks
            .iter()
            .enumerate()
            .map(|(i, c)| config(i, subnet, c.path()))
            .collect();
        Testbed {
            routers: impls.iter().map(|_| None).collect(),
            lab,
            checks,
            impls: impls.to_vec(),
            configs,
            vrrpd: None,
        }
    }

    /// Router `i` runs seed `seeds[i]`, adapted to the lab.
    pub fn seeds(tag: &str, subnet: u8, impls: &[Impl], seeds: &[Seed]) -> Testbed {
        assert_eq!(impls.len(), seeds.len(), "one seed per router");
        Testbed::new(tag, subnet, impls, |i, subnet, script| {
            seeds[i].adapted(subnet, script)
        })
    }

    /// Uses this vrrpd binary instead of `vrrpd_bin()`.
    pub fn with_vrrpd(mut self, bin: &Path) -> Testbed {
        self.vrrpd = Some(bin.to_path_buf());
        self
    }

    /// The configuration router `i` runs.
    pub fn config(&self, i: usize) -> &str {
        &self.configs[i]
    }

    /// The lab address of the seed's first VIP (`10.X.0.200`).
    pub fn vip1(&self) -> Ipv4Addr {
        lab_vip(self.lab.subnet(), LAB_VIP1_HOST)
    }

    /// The lab address of the seed's second VIP (`10.X.0.201`).
    pub fn vip2(&self) -> Ipv4Addr {
        lab_vip(self.lab.subnet(), LAB_VIP2_HOST)
    }

    pub fn node(&self, i: usize) -> &Node {
        self.lab.router(i)
    }

    /// Starts (or restarts) router `i`'s daemon.
    pub fn start(&mut self, i: usize) -> &Router {
        let router = Router::start_with(
            self.impls[i],
            self.lab.router(i),
            &self.configs[i],
            self.vrrpd.as_deref(),
        );
        self.routers[i].insert(router)
    }

    /// Starts `master` and waits until `instance` is MASTER there, then starts `backup` and
    /// waits until it enters BACKUP beside it: the opening of most two-router tests.
    pub fn start_master_then_backup(&mut self, master: usize, backup: usize, instance: &str) {
        let t0 = Instant::now();
        self.start(master);
        self.router(master).wait_state(instance, State::Master, t0);
        self.start(backup);
        self.router(backup)
            .wait_log(&format!("({instance}) Entering BACKUP STATE"));
    }

    /// Router `i`'s daemon; panics if it was never started.
    pub fn router(&self, i: usize) -> &Router {
        self.routers[i]
            .as_ref()
            .unwrap_or_else(|| panic!("router {i} was never started"))
    }

    /// Each router's daemon, `None` for one never started.
    pub fn routers_started(&self) -> Vec<Option<&Router>> {
        self.routers.iter().map(Option::as_ref).collect()
    }

    pub fn router_mut(&mut self, i: usize) -> &mut Router {
        self.routers[i]
            .as_mut()
            .unwrap_or_else(|| panic!("router {i} was never started"))
    }

    /// Crashes router `i` (link down, SIGKILL).
    pub fn crash(&mut self, i: usize) {
        let node = &self.lab.routers[i];
        let router = self.routers[i]
            .as_mut()
            .unwrap_or_else(|| panic!("router {i} was never started"));
        crash(router, node);
    }

    /// Brings router `i`'s link back and starts its daemon again.
    pub fn revive(&mut self, i: usize) -> &Router {
        revive(self.lab.router(i));
        self.start(i)
    }

    /// Every daemon's output, for failure messages.
    pub fn transcripts(&self) -> String {
        self.routers
            .iter()
            .flatten()
            .map(Router::transcript)
            .collect::<Vec<_>>()
            .join("\n")
    }
}
