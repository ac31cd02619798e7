//! Executing the engine's actions: adverts out of raw sockets, the XDP gate, GARP/NA bursts,
//! VIP changes handed to their task, notify scripts and FIFOs, and the log lines, which wait until
//! the batch is done so that a write to stderr never sits between an advert and its GARPs.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use tracing::{debug, error, info, warn};

use super::advert;
use super::garp::{Burst, GarpJob};
use super::node::Node;
use super::vips::VipOp;
use crate::engine::{Action, NotifyTarget};
use crate::notify::{FifoSpec, NotifyFifo};
use crate::packet::{arp, ndisc};
use crate::socket::{AdvertSocket, SendOutcome};
use crate::time::Timestamp;

/// How long STOP notify scripts may run at shutdown (keepalived's 1 s).
const STOP_SCRIPT_TIMEOUT: Duration = Duration::from_secs(1);
/// Notify scripts otherwise: never killed, as keepalived never kills them (a cloud failover
/// script may retry an API for minutes). They still die with the daemon (parent-death signal).
const NOTIFY_SCRIPT_TIMEOUT: Duration = Duration::MAX;

/// At shutdown, how long the notify FIFOs get to deliver their last (STOP) lines: the time the
/// STOP scripts get, during which the daemon waits anyway.
const FIFO_DRAIN_TIMEOUT: Duration = STOP_SCRIPT_TIMEOUT;

/// Frames of first GARP rounds sent inline per action batch: enough for a takeover of a few
/// instances, small enough that a mass takeover cannot hold up the adverts behind it.
const GARP_INLINE_PER_BATCH: usize = 16;

impl Node {
    /// Executes the engine's actions in order, except that log lines wait until the batch is
    /// done, and VIP additions and gate openings until the adverts and GARPs after them are out
    /// (or a removal or closing comes): none of them may sit between a new master's first advert
    /// and its GARPs. The VIPs are added by their own task anyway, so the GARP never waited for
    /// them, and an open gate answers ARP requests, which the GARP makes unnecessary. Notifies
    /// go through the VIP task after the changes before them (see `vips`), so once an addition
    /// waits, they wait behind it.
    pub(super) async fn execute(&mut self) {
        let mut logs = Vec::new();
        let mut after_sends = Vec::new();
        self.garp_inline_budget = GARP_INLINE_PER_BATCH;
        while let Some(action) = self.engine.poll_action() {
            if let Action::PriorityChanged { .. } = action {
                // Its log line keeps its place even when its FIFO line waits.
                logs.push(action.clone());
            }
            match action {
                Action::AddVips { .. } | Action::SetGate { open: true, .. } => {
                    after_sends.push(action);
                    continue;
                }
                Action::Notify { .. }
                | Action::NotifyMasterRxLowerPri { .. }
                | Action::PriorityChanged { .. }
                    if !after_sends.is_empty() =>
                {
                    after_sends.push(action);
                    continue;
                }
                // VIP and gate changes keep their order among themselves: a removal or a
                // closing never overtakes an addition or an opening deferred before it.
                Action::RemoveVips { .. } | Action::SetGate { open: false, .. } => {
                    for deferred in std::mem::take(&mut after_sends) {
                        self.execute_one(deferred, &mut logs);
                    }
                }
                _ => {}
            }
            self.execute_one(action, &mut logs);
        }
        for action in after_sends {
            self.execute_one(action, &mut logs);
        }
        self.write_logs(logs);
    }

    /// One action; log lines and transitions go to `logs`.
    fn execute_one(&mut self, action: Action, logs: &mut Vec<Action>) {
        match action {
            Action::SendAdvert { instance, tx } => self.send_advert(&instance, &tx),
            Action::SetGate {
                instance,
                vips,
                open,
            } => {
                for vip in vips {
                    let Some(i) = self.iface_of_vip(&instance, &vip) else {
                        continue;
                    };
                    match self.ifaces[i].xdp.set_gate(vip.addr, open) {
                        Ok(()) => {
                            self.ifaces[i].gated.insert(vip.addr);
                        }
                        Err(e) => error!("({instance}) ARP/ND gate for {}: {e}", vip.addr),
                    }
                }
            }
            Action::SendGarp {
                instance,
                interface,
                vips,
                repeat,
            } => self.send_garp(&instance, &interface, &vips, repeat),
            Action::AddVips { instance, vips } => self.push_vips(&instance, &vips, true),
            Action::RemoveVips { instance, vips } => self.push_vips(&instance, &vips, false),
            Action::Notify {
                target,
                state,
                priority,
            } => self.notify(target, state, priority),
            Action::NotifyMasterRxLowerPri { instance, priority } => {
                let fifos = self.fifo_lines();
                let script = self
                    .plan
                    .instance(&instance)
                    .and_then(|p| p.notify_master_rx_lower_pri.clone());
                self.vips.push(VipOp::Notify(Box::new(move || {
                    for fifo in &fifos {
                        fifo.notify(
                            crate::notify::NotifyTarget::Instance,
                            &instance,
                            "MASTER_RX_LOWER_PRI",
                            priority,
                        );
                    }
                    if let Some(script) = script {
                        crate::notify::spawn_notify(&script, Vec::new(), NOTIFY_SCRIPT_TIMEOUT);
                    }
                    Vec::new()
                })));
            }
            // Logged by `execute`.
            Action::PriorityChanged {
                instance,
                to,
                state,
                ..
            } => self.notify_priority(instance, to, state),
            Action::Transition {
                ref instance, to, ..
            } => {
                if to != crate::engine::State::Master {
                    self.garp.stop(instance);
                }
                logs.push(action);
            }
            action @ Action::Log(_) => logs.push(action),
            Action::ReloadSwitch => self.resolving_retired = false,
        }
    }

    /// Hands VIP additions or removals to the VIP task (which remembers its removals until the
    /// kernel reports them, so that the engine hears only of deletions made by someone else).
    fn push_vips(&mut self, instance: &str, vips: &[crate::engine::Vip], add: bool) {
        let ifindexes = self.ifindexes();
        for vip in vips {
            let Some(spec) = self.plan_for(instance).vip_spec(instance, vip, &ifindexes) else {
                continue;
            };
            self.vips.push(if add {
                VipOp::Add(spec)
            } else {
                VipOp::Remove(spec)
            });
        }
    }

    fn write_logs(&mut self, logs: Vec<Action>) {
        for action in logs {
            match action {
                Action::Transition {
                    ref instance, to, ..
                } => {
                    self.sync_rx_eager(instance, to);
                    self.ops.recorder.record(&action);
                    info!("{action:#}")
                }
                Action::Log(log) => match log.level() {
                    crate::engine::Level::Debug => debug!("{log}"),
                    crate::engine::Level::Info => info!("{log}"),
                    crate::engine::Level::Warn => warn!("{log}"),
                },
                _ => info!("{action}"),
            }
        }
    }

    pub(super) fn ifindexes(&self) -> HashMap<String, u32> {
        self.ifaces
            .iter()
            .map(|i| (i.name.clone(), i.ifindex))
            .collect()
    }

    pub(super) fn iface_index(&self, name: &str) -> Option<usize> {
        self.ifaces.iter().position(|i| i.name == name)
    }

    /// The attached interface whose gate a VIP lives in: its `dev`, else the instance's.
    fn iface_of_vip(&self, instance: &str, vip: &crate::engine::Vip) -> Option<usize> {
        let dev = self.plan_for(instance).vip_interface(instance, vip)?;
        self.iface_index(dev)
    }

    fn send_advert(&mut self, instance: &str, tx: &crate::engine::AdvertTx) {
        let origin = match self.advert_origin(instance, tx) {
            Ok(origin) => origin,
            Err(Unsent::Interface) => {
                warn!("({instance}) no interface {} to send on", tx.interface);
                return;
            }
            Err(Unsent::Source) => {
                debug!("({instance}) no source address: advert not sent");
                return;
            }
            Err(Unsent::Instance) => return,
        };
        if !self.ensure_socket(origin.iface, origin.src) {
            return;
        }
        let iface = &mut self.ifaces[origin.iface];
        iface.ip_ident = iface.ip_ident.wrapping_add(1);
        let iface = &self.ifaces[origin.iface];
        // Timed only for a takeover's first advert (see `MasterDownWait`).
        let timed = self
            .master_down_wait
            .is_some_and(|w| w.first_send.is_none());
        let mut first_send = None;
        for (dst, packet) in self.advert_packets(&origin, tx) {
            let began = timed.then(Timestamp::now);
            let sent = match packet {
                Ok(Outgoing::Frame(frame)) => iface.l2.send_frame(&frame),
                Ok(Outgoing::Vrrp(bytes)) => {
                    iface.sockets[&origin.src].send(&bytes, dst, origin.unicast_ttl)
                }
                Err(e) => {
                    error!("({instance}) building advert: {e}");
                    continue;
                }
            };
            if let Some(began) = began {
                first_send.get_or_insert((began, Timestamp::now()));
            }
            match sent {
                Ok(SendOutcome::Sent) => {}
                Ok(SendOutcome::Dropped) => {
                    warn!("({instance}) advert to {dst} dropped: socket buffer full")
                }
                Err(e) => error!("({instance}) sending advert: {e}"),
            }
        }
        if let Some(w) = self.master_down_wait.as_mut() {
            w.first_send = w.first_send.or(first_send);
        }
    }

    /// Where and how an advert action leaves: its attached interface, its source address and
    /// its instance's checksum mode and multicast group.
    fn advert_origin(
        &self,
        instance: &str,
        tx: &crate::engine::AdvertTx,
    ) -> Result<AdvertOrigin, Unsent> {
        let iface = self.iface_index(&tx.interface).ok_or(Unsent::Interface)?;
        let src = tx.src.ok_or(Unsent::Source)?;
        let p = self
            .plan_for(instance)
            .instance(instance)
            .ok_or(Unsent::Instance)?;
        Ok(AdvertOrigin {
            iface,
            src,
            checksum: p.checksum,
            mcast_group: p.mcast_group,
            unicast_ttl: p.unicast_ttl,
        })
    }

    /// What an advert action puts on the wire, per destination. Multicast leaves as a whole
    /// frame on the packet socket (see `advert::multicast_frame`); unicast needs the kernel's
    /// neighbour resolution, so the IP socket sends the VRRP bytes.
    fn advert_packets<'a>(
        &'a self,
        origin: &'a AdvertOrigin,
        tx: &crate::engine::AdvertTx,
    ) -> impl Iterator<Item = (IpAddr, Result<Outgoing, advert::EncodeError>)> + 'a {
        let iface = &self.ifaces[origin.iface];
        let repr = advert::repr(tx);
        advert::destinations(tx, origin.mcast_group)
            .into_iter()
            .map(move |dst| {
                let packet = advert::encode(&repr, origin.src, dst, origin.checksum).map(|bytes| {
                    match advert::multicast_frame(
                        iface.mac,
                        origin.src,
                        dst,
                        &bytes,
                        iface.ip_ident,
                    ) {
                        Some(frame) => Outgoing::Frame(frame),
                        None => Outgoing::Vrrp(bytes),
                    }
                });
                (dst, packet)
            })
    }

    /// Runs `rehearsal` (a copy of the engine that was handed the coming deadline) and builds
    /// the adverts and GARP frames it asks for, sending nothing. A takeover after seconds of
    /// quiet otherwise runs code and data the caches lost long ago: on a 2-vCPU VM, 22–38 µs in
    /// the engine (0.5 µs in a warm loop) and 11–21 µs more until the advert's `sendto`. After a
    /// rehearsal while waiting for the deadline, the real takeover took 5–13 µs and 6–11 µs.
    pub(super) fn rehearse(&self, mut rehearsal: crate::engine::Engine) {
        while let Some(action) = rehearsal.poll_action() {
            match action {
                Action::SendAdvert { instance, tx } => {
                    if let Ok(origin) = self.advert_origin(&instance, &tx) {
                        // Built to be dropped: the rehearsal only warms the path.
                        let built: Vec<_> = self.advert_packets(&origin, &tx).collect();
                        std::hint::black_box(built);
                    }
                }
                Action::SendGarp {
                    interface, vips, ..
                } => {
                    if let Some(i) = self.iface_index(&interface) {
                        std::hint::black_box(garp_frames(self.ifaces[i].mac, &vips));
                    }
                }
                _ => {}
            }
        }
    }

    /// Opens the advert socket for `src` on interface `i` unless it is open. Done as soon as
    /// an address is known, not at the first send: a backup's first advert is its takeover, and
    /// opening and configuring a raw socket then would delay it.
    pub(super) fn ensure_socket(&mut self, i: usize, src: IpAddr) -> bool {
        let iface = &mut self.ifaces[i];
        if iface.sockets.contains_key(&src) {
            return true;
        }
        let made = match src {
            IpAddr::V4(a) => AdvertSocket::ipv4(&iface.name, iface.ifindex, a),
            IpAddr::V6(a) => AdvertSocket::ipv6(&iface.name, iface.ifindex, a),
        };
        let socket = match made {
            Ok(s) => s,
            Err(e) => {
                error!("{}: advert socket from {src}: {e}", iface.name);
                return false;
            }
        };
        // Set ahead for the first unicast instance here, so that its takeover advert does not
        // wait for the option; `send` sets each advert's own when it differs.
        let ttl = self.plan.engine.instances.iter().find_map(|c| {
            (c.interface == iface.name && !c.unicast_peers.is_empty())
                .then(|| self.plan.instance(&c.name).map(|p| p.unicast_ttl))
                .flatten()
        });
        if let Some(ttl) = ttl
            && let Err(e) = socket.set_unicast_ttl(ttl)
        {
            warn!("{}: unicast_ttl {ttl}: {e}", iface.name);
        }
        iface.sockets.insert(src, socket);
        true
    }

    fn send_garp(&mut self, instance: &str, interface: &str, vips: &[IpAddr], repeat: u32) {
        let Some(i) = self.iface_index(interface) else {
            warn!("({instance}) no interface {interface} for gratuitous ARP");
            return;
        };
        let iface = &self.ifaces[i];
        let frames = garp_frames(iface.mac, vips);
        let gap = self.plan_for(instance).garp_interval(instance);
        // The first round goes now, right behind the advert, while this batch's budget lasts
        // (a takeover); the rest, and every round of a mass event, from the GARP thread.
        // With `vrrp_garp_interval` / `vrrp_gna_interval` every frame waits its turn, the first
        // round too (keepalived spaces all of them), so the thread sends them all.
        let inline = gap.is_zero() && self.garp_inline_budget >= frames.len();
        if inline {
            self.garp_inline_budget -= frames.len();
            for (vip, frame) in vips.iter().zip(&frames) {
                if let Err(e) = iface.l2.send_frame(frame) {
                    warn!("({instance}) gratuitous ARP/NA for {vip}: {e}");
                }
            }
        }
        let rounds = repeat.max(1) - u32::from(inline);
        if rounds > 0 {
            let job = GarpJob {
                instance: instance.to_string(),
                l2: iface.l2.clone(),
                burst: Burst {
                    frames,
                    rounds,
                    gap,
                    wait_first: inline,
                },
            };
            self.garp.push(job);
        }
        for vip in vips {
            debug!("({instance}) Sending gratuitous ARP on {interface} for {vip}");
        }
    }

    /// keepalived `send_instance_priority_notifies`: with `notify_priority_changes`, a FIFO line
    /// `INSTANCE "VI_1" MASTER_PRIORITY 80` (or `BACKUP_PRIORITY` in any other state); no script.
    fn notify_priority(&self, instance: String, priority: u8, state: crate::engine::State) {
        let wanted = self
            .plan_for(&instance)
            .instance(&instance)
            .is_some_and(|p| p.notify_priority_changes);
        if !wanted || self.fifos.is_empty() {
            return;
        }
        let event = match state {
            crate::engine::State::Master => "MASTER_PRIORITY",
            _ => "BACKUP_PRIORITY",
        };
        let fifos = self.fifo_lines();
        self.vips.push(VipOp::Notify(Box::new(move || {
            for fifo in &fifos {
                fifo.notify(
                    crate::notify::NotifyTarget::Instance,
                    &instance,
                    event,
                    priority,
                );
            }
            Vec::new()
        })));
    }

    /// The FIFO lines and scripts of a transition, sent from the VIP task once the VIP changes
    /// before them are done. At shutdown the scripts are handed back to be waited for.
    fn notify(&mut self, target: NotifyTarget, state: crate::engine::NotifyState, priority: u8) {
        let (kind, name) = match &target {
            NotifyTarget::Instance(n) => (crate::notify::NotifyTarget::Instance, n.clone()),
            NotifyTarget::Group(n) => (crate::notify::NotifyTarget::Group, n.clone()),
        };
        let stopping = self.stopping;
        let timeout = if stopping {
            STOP_SCRIPT_TIMEOUT
        } else {
            NOTIFY_SCRIPT_TIMEOUT
        };
        let plan = match &target {
            NotifyTarget::Instance(n) => self.plan_for(n),
            NotifyTarget::Group(_) => &self.plan,
        };
        let scripts = plan.notify_scripts(&target).cloned();
        let fifos = self.fifo_lines();
        self.vips.push(VipOp::Notify(Box::new(move || {
            for fifo in &fifos {
                fifo.notify(kind, &name, state.as_str(), priority);
            }
            let started = scripts
                .map(|s| s.notify(kind, &name, state, priority, timeout))
                .unwrap_or_default();
            if stopping { started } else { Vec::new() }
        })));
    }

    fn fifo_lines(&self) -> Vec<crate::notify::FifoLines> {
        self.fifos.iter().map(|f| f.lines().clone()).collect()
    }

    /// At shutdown: each FIFO delivers what is queued, then its script gets SIGTERM.
    pub(super) async fn close_fifos(&mut self) {
        for fifo in std::mem::take(&mut self.fifos) {
            fifo.close(FIFO_DRAIN_TIMEOUT).await;
        }
    }
}

/// The FIFOs `specs` asks for, keeping each of `running` whose line is unchanged (its reader and
/// script carry on across a reload; keepalived restarts them, which only loses lines). Others are
/// dropped (their scripts get SIGTERM) and new ones opened; one that cannot be opened is logged.
pub(super) fn open_fifos(specs: &[FifoSpec], mut running: Vec<NotifyFifo>) -> Vec<NotifyFifo> {
    specs
        .iter()
        .filter_map(|spec| {
            if let Some(i) = running.iter().position(|f| f.spec() == spec) {
                return Some(running.swap_remove(i));
            }
            NotifyFifo::open(spec)
                .map_err(|e| error!("notify FIFO {}: {e}", spec.path.display()))
                .ok()
        })
        .collect()
}

/// See [`Node::advert_origin`].
struct AdvertOrigin {
    /// Index into `Node::ifaces`.
    iface: usize,
    src: IpAddr,
    checksum: crate::packet::vrrp::ChecksumMode,
    mcast_group: Option<IpAddr>,
    unicast_ttl: u8,
}

/// What an advert action lacked, so that it was not sent.
enum Unsent {
    Interface,
    Source,
    Instance,
}

/// One advert as it leaves: a whole frame for the packet socket, or the VRRP bytes for the IP
/// socket.
enum Outgoing {
    Frame(Vec<u8>),
    Vrrp(Vec<u8>),
}

/// The gratuitous ARP (IPv4) or unsolicited neighbour advertisement (IPv6) frame of each VIP.
fn garp_frames(mac: crate::packet::MacAddr, vips: &[IpAddr]) -> Vec<Vec<u8>> {
    vips.iter()
        .map(|vip| match vip {
            IpAddr::V4(v4) => arp::gratuitous_frame(mac, *v4).to_vec(),
            IpAddr::V6(v6) => ndisc::unsolicited_advert_frame(mac, *v6, false).to_vec(),
        })
        .collect()
}
