//! The running node: one task owns the [`Engine`] and everything it drives. Each wake-up (ring
//! buffer readable, timer, tracker, netlink, signal) first drains every ring buffer into the engine
//! in receive-time order, then runs the engine's expired timers, then executes its actions, then
//! re-arms the timerfd at the engine's next deadline. Nothing here waits on netlink or scripts:
//! VIP changes go to their own task, scripts run in their own processes, so an advert or GARP is
//! never queued behind anything slower.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use futures::future::select_all;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tracing::{debug, error, info, warn};
use vrrp_common::AdvertEvent;

use super::advert::{self, RxPolicy};
use super::garp::{GarpJob, GarpSender};
use super::plan::Plan;
use super::vips::{VipOp, VipTask};
use crate::cli::XdpMode;
use crate::config::{LoadOptions, load};
use crate::dataplane::Attachment;
use crate::engine::{Action, Engine, Family, Input, NotifyTarget, TrackerId, TrackerState};
use crate::netlink::{Netlink, NetlinkEvent, NetlinkEvents};
use crate::notify::NotifyFifo;
use crate::packet::{MacAddr, arp, ndisc};
use crate::socket::{AdvertSocket, L2Socket, SendOutcome};
use crate::time::{TimerFd, Timestamp};
use crate::track::{FileChange, FileTracker, ScriptChange, ScriptRunner};

/// How long STOP notify scripts may run at shutdown (keepalived's 1 s).
const STOP_SCRIPT_TIMEOUT: Duration = Duration::from_secs(1);
/// Notify scripts otherwise: killed if they hang this long.
const NOTIFY_SCRIPT_TIMEOUT: Duration = Duration::from_secs(30);

/// One interface that instances advertise on.
struct Iface {
    name: String,
    ifindex: u32,
    mac: MacAddr,
    xdp: Attachment,
    l2: std::sync::Arc<L2Socket>,
    /// Advert sockets by source address (the interface's, or a configured `*_src_ip`).
    sockets: HashMap<IpAddr, AdvertSocket>,
    /// The interface's own primary IPv4 / IPv6 link-local address, as last told to the engine.
    src_v4: Option<IpAddr>,
    src_v6: Option<IpAddr>,
}

/// Where the configuration came from, to read it again on SIGHUP.
pub struct Source {
    pub path: PathBuf,
    pub opts: LoadOptions,
    pub iface: Option<String>,
    pub xdp_mode: XdpMode,
}

pub struct Node {
    source: Source,
    plan: Plan,
    /// The plan before the last reload: instances it removed are stopped with its settings.
    retired: Option<Plan>,
    engine: Engine,
    netlink: Netlink,
    ifaces: Vec<Iface>,
    vips: VipTask,
    fifos: Vec<NotifyFifo>,
    scripts: Vec<ScriptRunner>,
    files: Option<FileTracker>,
    script_tx: mpsc::Sender<ScriptChange>,
    file_tx: mpsc::Sender<FileChange>,
    script_rx: mpsc::Receiver<ScriptChange>,
    file_rx: mpsc::Receiver<FileChange>,
    events: Vec<AdvertEvent>,
    stopping: bool,
    /// A Master_Down_Timer deadline the timerfd was armed early for (see [`MASTER_DOWN_EARLY`]).
    precise: Option<Timestamp>,
    garp: GarpSender,
    /// GARP/NA frames this action batch may still send inline (see [`GARP_INLINE_PER_BATCH`]).
    garp_inline_budget: usize,
    /// Status requests and transition history (`crate::status`).
    ops: crate::status::NodeOps,
}

/// How early the timerfd wakes before a Master_Down_Timer deadline; the rest is spent polling
/// the ring buffer and the clock. A timerfd wake-up takes tens of microseconds on a busy or
/// virtualised host; takeover is where those microseconds count, and it is rare: while the master
/// is alive its adverts keep moving the deadline and the early wake-up never happens.
const MASTER_DOWN_EARLY: Duration = Duration::from_micros(200);

/// Frames of first GARP rounds sent inline per action batch: enough for a takeover of a few
/// instances, small enough that a mass takeover cannot hold up the adverts behind it.
const GARP_INLINE_PER_BATCH: usize = 16;

impl Node {
    /// Attaches XDP to every interface the plan uses, opens the sockets, starts the trackers, and
    /// tells a new engine what the system looks like now.
    pub async fn start(source: Source, plan: Plan) -> anyhow::Result<Node> {
        use anyhow::Context as _;
        let netlink = Netlink::new().context("opening rtnetlink")?;
        let mut ifaces = Vec::new();
        for name in &plan.interfaces {
            ifaces.push(attach(&netlink, name, source.xdp_mode).await?);
        }
        program_vrids(&mut ifaces, &plan)?;
        let (script_tx, script_rx) = mpsc::channel(64);
        let (file_tx, file_rx) = mpsc::channel(64);
        let scripts = spawn_scripts(&plan, &script_tx);
        let files = spawn_files(&plan, &file_tx)?;
        let fifos = plan
            .fifos
            .iter()
            .filter_map(|path| match NotifyFifo::open(path) {
                Ok(f) => Some(f),
                Err(e) => {
                    error!("notify FIFO {}: {e}", path.display());
                    None
                }
            })
            .collect();

        let engine = Engine::new(plan.engine.clone(), Timestamp::now());
        let vips = VipTask::spawn(Netlink::new().context("opening rtnetlink")?);
        let mut node = Node {
            source,
            plan,
            retired: None,
            engine,
            netlink,
            ifaces,
            vips,
            fifos,
            scripts,
            files,
            script_tx,
            file_tx,
            script_rx,
            file_rx,
            events: Vec::with_capacity(64),
            stopping: false,
            precise: None,
            garp: GarpSender::spawn().context("GARP thread")?,
            garp_inline_budget: 0,
            ops: crate::status::NodeOps::default(),
        };
        node.refresh_links().await;
        for i in 0..node.ifaces.len() {
            node.refresh_sources(i).await;
        }
        // Configured sources (`unicast_src_ip`, `mcast_src_ip`) get their sockets now too.
        let configured: Vec<(String, IpAddr)> = node
            .plan
            .engine
            .instances
            .iter()
            .filter_map(|c| Some((c.interface.clone(), c.src_ip?)))
            .collect();
        for (name, src) in configured {
            if let Some(i) = node.iface_index(&name) {
                node.ensure_socket(i, src);
            }
        }
        Ok(node)
    }

    /// Runs until SIGTERM/SIGINT, then resigns and cleans up.
    pub async fn run(mut self) -> anyhow::Result<()> {
        use anyhow::Context as _;
        let timer = TimerFd::new().context("timerfd")?;
        let mut sigterm = signal(SignalKind::terminate()).context("SIGTERM handler")?;
        let mut sigint = signal(SignalKind::interrupt()).context("SIGINT handler")?;
        let mut sighup = signal(SignalKind::hangup()).context("SIGHUP handler")?;
        let mut nl_events = NetlinkEvents::subscribe().context("netlink events")?;
        // Subscribed before this read of the state, so no change falls in between.
        self.refresh_links().await;
        self.step().await;
        self.arm(&timer)?;
        loop {
            let mut shutdown = false;
            tokio::select! {
                biased;
                _ = sigterm.recv() => shutdown = true,
                _ = sigint.recv() => shutdown = true,
                _ = sighup.recv() => self.reload().await,
                _ = rings_readable(&self.ifaces) => {}
                r = timer.wait() => r.context("timerfd")?,
                Some(change) = self.script_rx.recv() => {
                    info!("VRRP_Script({}) {}", change.name, change.outcome);
                    let state = match change.state {
                        crate::track::TrackState::Up => TrackerState::Up,
                        crate::track::TrackState::Down => TrackerState::Down,
                    };
                    self.input(Input::TrackerChanged { tracker: TrackerId::Script(change.name), state });
                }
                Some(change) = self.file_rx.recv() => {
                    self.input(Input::TrackerChanged {
                        tracker: TrackerId::File(change.name),
                        state: TrackerState::Value(change.value),
                    });
                }
                Some(event) = nl_events.next() => self.netlink_event(event).await,
                request = self.ops.next() => request.answer(self.snapshot()),
            }
            if shutdown {
                info!("Stopping");
                self.drain_rings();
                self.engine.handle(Timestamp::now(), Input::Shutdown);
                self.stopping = true;
                self.execute().await;
                break;
            }
            self.step().await;
            self.arm(&timer)?;
        }
        // Let the VIP removals finish before XDP and sockets go away.
        self.vips.finish(Duration::from_secs(2)).await;
        Ok(())
    }

    /// Answers status requests from `requests` (`crate::status::Ops` holds the asking side).
    pub fn serve_status(&mut self, requests: mpsc::Receiver<crate::status::Request>) {
        self.ops.serve(requests);
    }

    /// What `vrrpd status`, the dump files and the metrics show.
    fn snapshot(&self) -> crate::status::Status {
        let ifaces = self
            .ifaces
            .iter()
            .map(|i| crate::status::InterfaceView::read(&i.name, &i.xdp))
            .collect();
        crate::status::Status::build(
            &self.engine,
            &self.plan.engine,
            &self.ops.recorder,
            ifaces,
            Timestamp::now(),
        )
    }

    /// The plan an instance's actions resolve against: the current one, or for an instance the
    /// last reload removed, the one it was configured by.
    fn plan_for(&self, instance: &str) -> &Plan {
        match &self.retired {
            Some(old) if self.plan.instance(instance).is_none() => old,
            _ => &self.plan,
        }
    }

    /// SIGHUP: read the configuration again. A configuration that does not load changes
    /// nothing; one that does is handed to the engine, which keeps matched instances as they are
    /// (no transition, no priority 0, no GARP) and starts and stops the others.
    async fn reload(&mut self) {
        info!("Reloading");
        let loaded = match load(&self.source.path, &self.source.opts) {
            Ok(l) => l,
            Err(e) => {
                for d in &e.diagnostics {
                    error!("{d}");
                }
                error!(
                    "Reload of {} failed: keeping the running configuration",
                    self.source.path.display()
                );
                return;
            }
        };
        for d in &loaded.diagnostics {
            warn!("{d}");
        }
        let plan = match Plan::build(&loaded.config, self.source.iface.as_deref()) {
            Ok(p) => p,
            Err(e) => {
                error!("Reload failed: {e}; keeping the running configuration");
                return;
            }
        };
        for name in &plan.interfaces {
            if self.iface_index(name).is_none() {
                match attach(&self.netlink, name, self.source.xdp_mode).await {
                    Ok(iface) => self.ifaces.push(iface),
                    Err(e) => {
                        error!("Reload failed: {e:#}; keeping the running configuration");
                        return;
                    }
                }
            }
        }
        if let Err(e) = program_vrids(&mut self.ifaces, &plan) {
            error!("Reload: VRID map: {e:#}");
        }
        // Scripts are read again: new runners report their first result afresh.
        self.scripts = spawn_scripts(&plan, &self.script_tx);
        self.files = match spawn_files(&plan, &self.file_tx) {
            Ok(f) => f,
            Err(e) => {
                error!("Reload: track_file: {e:#}");
                None
            }
        };
        let engine_config = plan.engine.clone();
        self.retired = Some(std::mem::replace(&mut self.plan, plan));
        self.engine
            .handle(Timestamp::now(), Input::Reload(engine_config));
        self.execute().await;
        self.retired = None;
        self.refresh_links().await;
        for i in 0..self.ifaces.len() {
            self.ifaces[i].src_v4 = None;
            self.ifaces[i].src_v6 = None;
            self.refresh_sources(i).await;
        }
        info!("Reload finished");
    }

    fn input(&mut self, input: Input) {
        self.engine.handle(Timestamp::now(), input);
    }

    /// Drain rings, run expired timers, execute actions.
    async fn step(&mut self) {
        self.drain_rings();
        self.spin_to_master_down();
        self.engine.handle_timeout(Timestamp::now());
        self.execute().await;
    }

    /// Woken early for a Master_Down_Timer: poll until its deadline, feeding any advert that
    /// arrives meanwhile (which moves the deadline and ends the wait).
    fn spin_to_master_down(&mut self) {
        let Some(deadline) = self.precise.take() else {
            return;
        };
        loop {
            let now = Timestamp::now();
            if now >= deadline || deadline.saturating_since(now) > MASTER_DOWN_EARLY {
                return;
            }
            if self.engine.poll_timeout() != Some(deadline) {
                return;
            }
            self.drain_rings();
            std::hint::spin_loop();
        }
    }

    fn arm(&mut self, timer: &TimerFd) -> anyhow::Result<()> {
        self.precise = None;
        match self.engine.next_timer() {
            Some((deadline, Some(crate::engine::Timer::MasterDown))) => {
                self.precise = Some(deadline);
                timer.set(deadline - MASTER_DOWN_EARLY)?
            }
            Some((deadline, _)) => timer.set(deadline)?,
            None => timer.clear()?,
        }
        Ok(())
    }

    /// Feeds every queued advert to the engine, oldest first. The engine judges "master down"
    /// from these kernel receive times, so a stalled daemon that wakes to a backlog sees that the
    /// master was alive all along.
    fn drain_rings(&mut self) {
        for i in 0..self.ifaces.len() {
            self.events.clear();
            self.ifaces[i].xdp.drain(&mut self.events);
            if self.events.is_empty() {
                continue;
            }
            self.events.sort_by_key(|e| e.ktime_ns);
            let name = self.ifaces[i].name.clone();
            for ev in std::mem::take(&mut self.events) {
                let rx = &self.plan.rx;
                let policy = |family: Family, vrid: u8| -> Option<RxPolicy> {
                    rx.get(&(name.clone(), family, vrid)).copied()
                };
                if let Some(input) = advert::decode_event(&name, &ev, policy) {
                    let now = Timestamp::now().max(Timestamp::from_nanos(ev.ktime_ns));
                    // From the XDP receive time to the engine: what a flood or a stall costs.
                    debug!(
                        "{name}: advert vrid {} from {}: rx_delay_ns={}",
                        ev.vrid,
                        ev.source(),
                        now.as_nanos() - ev.ktime_ns
                    );
                    self.engine.handle(now, input);
                }
            }
        }
    }

    /// Executes the engine's actions in order, except that log lines wait until the batch is
    /// done: a write to stderr must not sit between a new master's first advert and its GARPs.
    async fn execute(&mut self) {
        let mut logs = Vec::new();
        self.garp_inline_budget = GARP_INLINE_PER_BATCH;
        while let Some(action) = self.engine.poll_action() {
            match action {
                Action::SendAdvert { instance, tx } => self.send_advert(&instance, &tx),
                Action::SetGate {
                    instance,
                    vips,
                    open,
                } => {
                    for vip in vips {
                        let Some(i) = self.iface_of_vip(&instance, vip) else {
                            continue;
                        };
                        if let Err(e) = self.ifaces[i].xdp.set_gate(vip, open) {
                            error!("({instance}) ARP/ND gate for {vip}: {e}");
                        }
                    }
                }
                Action::SendGarp {
                    instance,
                    interface,
                    vips,
                    repeat,
                } => self.send_garp(&instance, &interface, &vips, repeat),
                Action::AddVips { instance, vips } => {
                    for vip in vips {
                        if let Some(spec) =
                            self.plan_for(&instance)
                                .vip_spec(&instance, &vip, &self.ifindexes())
                        {
                            self.vips.push(VipOp::Add(spec));
                        }
                    }
                }
                Action::RemoveVips { instance, vips } => {
                    for vip in vips {
                        if let Some(spec) =
                            self.plan_for(&instance)
                                .vip_spec(&instance, &vip, &self.ifindexes())
                        {
                            self.vips.push(VipOp::Remove(spec));
                        }
                    }
                }
                Action::Notify {
                    target,
                    state,
                    priority,
                } => self.notify(target, state, priority),
                Action::NotifyMasterRxLowerPri { instance, priority } => {
                    for fifo in &self.fifos {
                        fifo.notify(
                            crate::notify::NotifyTarget::Instance,
                            &instance,
                            "MASTER_RX_LOWER_PRI",
                            priority,
                        );
                    }
                    if let Some(script) = self
                        .plan
                        .instance(&instance)
                        .and_then(|p| p.notify_master_rx_lower_pri.as_ref())
                    {
                        crate::notify::spawn_notify(script, Vec::new(), NOTIFY_SCRIPT_TIMEOUT);
                    }
                }
                action @ (Action::Transition { .. }
                | Action::PriorityChanged { .. }
                | Action::Log(_)) => logs.push(action),
            }
        }
        for action in logs {
            match action {
                Action::Transition { .. } => {
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

    fn ifindexes(&self) -> HashMap<String, u32> {
        self.ifaces
            .iter()
            .map(|i| (i.name.clone(), i.ifindex))
            .collect()
    }

    fn iface_index(&self, name: &str) -> Option<usize> {
        self.ifaces.iter().position(|i| i.name == name)
    }

    /// The attached interface whose gate a VIP lives in: its `dev`, else the instance's.
    fn iface_of_vip(&self, instance: &str, vip: IpAddr) -> Option<usize> {
        let dev = self.plan_for(instance).vip_dev(instance, &vip)?;
        self.iface_index(dev)
    }

    fn send_advert(&mut self, instance: &str, tx: &crate::engine::AdvertTx) {
        let Some(i) = self.iface_index(&tx.interface) else {
            warn!("({instance}) no interface {} to send on", tx.interface);
            return;
        };
        let Some(src) = tx.src else {
            debug!("({instance}) no source address: advert not sent");
            return;
        };
        let Some(p) = self.plan_for(instance).instance(instance) else {
            return;
        };
        let (checksum, mcast_group) = (p.checksum, p.mcast_group);
        if !self.ensure_socket(i, src) {
            return;
        }
        let iface = &self.ifaces[i];
        let socket = &iface.sockets[&src];
        let repr = advert::repr(tx);
        for dst in advert::destinations(tx, mcast_group) {
            match advert::encode(&repr, src, dst, checksum) {
                Ok(bytes) => match socket.send(&bytes, dst) {
                    Ok(SendOutcome::Sent) => {}
                    Ok(SendOutcome::Dropped) => {
                        warn!("({instance}) advert to {dst} dropped: socket buffer full")
                    }
                    Err(e) => error!("({instance}) sending advert: {e}"),
                },
                Err(e) => error!("({instance}) building advert: {e}"),
            }
        }
    }

    /// Opens the advert socket for `src` on interface `i` unless it is open. Done as soon as
    /// an address is known, not at the first send: a backup's first advert is its takeover, and
    /// opening and configuring a raw socket then would delay it.
    fn ensure_socket(&mut self, i: usize, src: IpAddr) -> bool {
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
        // Unicast instances on this interface set the TTL their peers expect (unicast_ttl).
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
        let frames: Vec<Vec<u8>> = vips
            .iter()
            .map(|vip| match vip {
                IpAddr::V4(v4) => arp::gratuitous_frame(iface.mac, *v4).to_vec(),
                IpAddr::V6(v6) => ndisc::unsolicited_advert_frame(iface.mac, *v6, false).to_vec(),
            })
            .collect();
        let gap = self.plan_for(instance).garp_interval(instance);
        // The first round goes now, right behind the advert, while this batch's budget lasts
        // (a takeover); the rest, and every round of a mass event, from the GARP thread.
        let inline = self.garp_inline_budget >= frames.len();
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
            self.garp.push(GarpJob {
                instance: instance.to_string(),
                l2: iface.l2.clone(),
                frames,
                rounds,
                gap,
                wait_first: inline,
            });
        }
        for vip in vips {
            debug!("({instance}) Sending gratuitous ARP on {interface} for {vip}");
        }
    }

    fn notify(&mut self, target: NotifyTarget, state: crate::engine::NotifyState, priority: u8) {
        let (kind, name) = match &target {
            NotifyTarget::Instance(n) => (crate::notify::NotifyTarget::Instance, n.clone()),
            NotifyTarget::Group(n) => (crate::notify::NotifyTarget::Group, n.clone()),
        };
        for fifo in &self.fifos {
            fifo.notify(kind, &name, state.as_str(), priority);
        }
        let timeout = if self.stopping {
            STOP_SCRIPT_TIMEOUT
        } else {
            NOTIFY_SCRIPT_TIMEOUT
        };
        let plan = match &target {
            NotifyTarget::Instance(n) => self.plan_for(n),
            NotifyTarget::Group(_) => &self.plan,
        };
        if let Some(scripts) = plan.notify_scripts(&target) {
            let _ = scripts.notify(kind, &name, state, priority, timeout);
        }
    }

    /// Tells the engine the up/down state of every interface it cares about.
    async fn refresh_links(&mut self) {
        let names: BTreeSet<String> = self
            .plan
            .interfaces
            .iter()
            .chain(self.plan.tracked_interfaces.iter())
            .cloned()
            .collect();
        for name in names {
            match self.netlink.link_by_name(&name).await {
                Ok(link) => self.input(Input::LinkChanged {
                    interface: name,
                    up: link.is_up(),
                }),
                Err(e) => {
                    warn!("{name}: {e}");
                    self.input(Input::LinkChanged {
                        interface: name,
                        up: false,
                    })
                }
            }
        }
    }

    /// Re-reads interface `i`'s primary IPv4 and IPv6 link-local addresses and tells the engine
    /// when they changed.
    async fn refresh_sources(&mut self, i: usize) {
        let (ifindex, name) = (self.ifaces[i].ifindex, self.ifaces[i].name.clone());
        let addrs = match self.netlink.addresses(ifindex).await {
            Ok(a) => a,
            Err(e) => {
                warn!("{name}: reading addresses: {e}");
                return;
            }
        };
        // Our own VIPs are never a source address.
        let vips = self.plan.all_vip_addrs();
        let own: Vec<_> = addrs
            .into_iter()
            .filter(|a| !vips.contains(&a.addr))
            .collect();
        let v4 = crate::netlink::primary_ipv4(&own).map(IpAddr::V4);
        let v6 = crate::netlink::ipv6_link_local(&own).map(IpAddr::V6);
        for src in [v4, v6].into_iter().flatten() {
            self.ensure_socket(i, src);
        }
        if v4 != self.ifaces[i].src_v4 || self.ifaces[i].src_v4.is_none() {
            self.ifaces[i].src_v4 = v4;
            self.input(Input::SourceAddress {
                interface: name.clone(),
                family: Family::Ipv4,
                addr: v4,
            });
        }
        if v6 != self.ifaces[i].src_v6 || self.ifaces[i].src_v6.is_none() {
            self.ifaces[i].src_v6 = v6;
            self.input(Input::SourceAddress {
                interface: name,
                family: Family::Ipv6,
                addr: v6,
            });
        }
    }

    async fn netlink_event(&mut self, event: NetlinkEvent) {
        match event {
            NetlinkEvent::Link(link) => {
                if self.plan.interfaces.contains(&link.name)
                    || self.plan.tracked_interfaces.contains(&link.name)
                {
                    self.input(Input::LinkChanged {
                        interface: link.name.clone(),
                        up: link.is_up(),
                    });
                }
            }
            NetlinkEvent::LinkRemoved { name, .. } => {
                self.input(Input::LinkChanged {
                    interface: name,
                    up: false,
                });
            }
            NetlinkEvent::AddressAdded(a) | NetlinkEvent::AddressRemoved(a) => {
                if let Some(i) = self.ifaces.iter().position(|x| x.ifindex == a.ifindex) {
                    self.refresh_sources(i).await;
                }
            }
            NetlinkEvent::Overrun => {
                warn!("netlink notifications overran: re-reading links and addresses");
                self.refresh_links().await;
                for i in 0..self.ifaces.len() {
                    self.refresh_sources(i).await;
                }
            }
        }
    }
}

/// Attaches XDP to `name` and opens its packet socket.
async fn attach(netlink: &Netlink, name: &str, xdp_mode: XdpMode) -> anyhow::Result<Iface> {
    use anyhow::Context as _;
    let link = netlink
        .link_by_name(name)
        .await
        .with_context(|| format!("interface {name}"))?;
    let xdp = Attachment::attach(name, xdp_mode, false)
        .with_context(|| format!("attaching XDP to {name}"))?;
    info!(
        "XDP attached to {name} (ifindex {}, mode {})",
        link.ifindex,
        xdp.mode_used()
    );
    let l2 =
        L2Socket::new(name, link.ifindex).with_context(|| format!("packet socket on {name}"))?;
    Ok(Iface {
        name: name.to_string(),
        ifindex: link.ifindex,
        mac: MacAddr(link.mac.unwrap_or_default()),
        xdp,
        l2: std::sync::Arc::new(l2),
        sockets: HashMap::new(),
        src_v4: None,
        src_v6: None,
    })
}

/// Programs each interface's VRID map with exactly the (family, VRID)s the plan listens to.
fn program_vrids(ifaces: &mut [Iface], plan: &Plan) -> anyhow::Result<()> {
    use anyhow::Context as _;
    for iface in ifaces {
        for vrid in 1..=255u8 {
            let v4 = plan
                .rx
                .contains_key(&(iface.name.clone(), Family::Ipv4, vrid));
            let v6 = plan
                .rx
                .contains_key(&(iface.name.clone(), Family::Ipv6, vrid));
            iface
                .xdp
                .set_vrid(vrid, v4, v6)
                .with_context(|| format!("VRID map on {}", iface.name))?;
        }
    }
    Ok(())
}

fn spawn_scripts(plan: &Plan, tx: &mpsc::Sender<ScriptChange>) -> Vec<ScriptRunner> {
    let mut runners = Vec::new();
    for spec in &plan.scripts {
        match ScriptRunner::spawn(spec.clone(), tx.clone()) {
            Ok(runner) => runners.push(runner),
            // keepalived's wording; the instance carries on without the tracker.
            Err(e) => warn!(
                "Disabling track script {} since not found/accessible ({e})",
                spec.name
            ),
        }
    }
    runners
}

fn spawn_files(plan: &Plan, tx: &mpsc::Sender<FileChange>) -> anyhow::Result<Option<FileTracker>> {
    use anyhow::Context as _;
    if plan.track_files.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        FileTracker::spawn(plan.track_files.clone(), tx.clone()).context("track_file")?,
    ))
}

/// Resolves when any interface's ring buffer has data.
async fn rings_readable(ifaces: &[Iface]) {
    if ifaces.is_empty() {
        return std::future::pending().await;
    }
    let waits = ifaces.iter().map(|i| Box::pin(i.xdp.readable()));
    let (result, _, _) = select_all(waits).await;
    if let Err(e) = result {
        error!("ring buffer: {e}");
        // Avoid spinning on a broken descriptor.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
