//! The running node: one task owns the [`Engine`] and everything it drives. Each wake-up (ring
//! buffer readable, timer, tracker, netlink, signal) first drains every ring buffer into the engine
//! in receive-time order, then runs the engine's expired timers, then executes its actions, then
//! re-arms the timerfd at the engine's next deadline. Nothing here waits on netlink or scripts:
//! VIP changes go to their own task, scripts run in their own processes, so an advert or GARP is
//! never queued behind anything slower.

use std::path::PathBuf;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tracing::{debug, error, info, warn};

use super::advert;
use super::garp::GarpSender;
use super::iface::{Iface, attach, program_vrids, rings_readable};
use super::plan::Plan;
use super::vips::VipTask;
use crate::cli::XdpMode;
use crate::config::{LoadOptions, load};
use crate::dataplane::Received;
use crate::engine::{Engine, Input, TrackerId, TrackerState};
use crate::netlink::{Netlink, NetlinkEvents};
use crate::time::{TimerFd, Timestamp};
use crate::track::{FileChange, FileTracker, ScriptChange, ScriptRunner, ScriptSet, ScriptSpec};

/// Where the configuration came from, to read it again on SIGHUP.
pub struct Source {
    pub path: PathBuf,
    pub opts: LoadOptions,
    pub iface: Option<String>,
    pub xdp_mode: XdpMode,
}

pub struct Node {
    pub(super) source: Source,
    pub(super) plan: Plan,
    /// The plan before the last reload: instances it removed are stopped with its settings.
    pub(super) retired: Option<Plan>,
    pub(super) engine: Engine,
    pub(super) netlink: Netlink,
    pub(super) ifaces: Vec<Iface>,
    pub(super) vips: VipTask,
    pub(super) fifos: Vec<crate::notify::NotifyFifo>,
    pub(super) scripts: Vec<ScriptRunner>,
    pub(super) files: Option<FileTracker>,
    pub(super) script_tx: mpsc::Sender<ScriptChange>,
    pub(super) file_tx: mpsc::Sender<FileChange>,
    pub(super) script_rx: mpsc::Receiver<ScriptChange>,
    pub(super) file_rx: mpsc::Receiver<FileChange>,
    pub(super) events: Vec<Received>,
    pub(super) stopping: bool,
    /// A Master_Down_Timer deadline the timerfd was armed early for (see [`MASTER_DOWN_EARLY`]).
    pub(super) precise: Option<Timestamp>,
    /// How the last wait for a Master_Down deadline went, for the debug log after the takeover.
    pub(super) master_down_wait: Option<MasterDownWait>,
    pub(super) garp: GarpSender,
    /// GARP/NA frames this action batch may still send inline (see `execute::GARP_INLINE_PER_BATCH`).
    pub(super) garp_inline_budget: usize,
    /// Status requests and transition history (`crate::status`).
    pub(super) ops: crate::status::NodeOps,
    /// While a reload's actions for the instances it removed run (until
    /// `Action::ReloadSwitch`): every name resolves against the retired plan.
    pub(super) resolving_retired: bool,
}

/// A wait for a Master_Down deadline that ended at the deadline: the takeover's run-up, for a
/// debug line that splits a takeover's time between the VM's timer, the daemon and the kernel.
#[derive(Debug, Clone, Copy)]
pub(super) struct MasterDownWait {
    deadline: Timestamp,
    /// How long before the deadline the wait began: [`MASTER_DOWN_EARLY`] less the timerfd's
    /// lateness.
    woke_before: Duration,
    /// How long the rehearsal took, if there was one.
    rehearsal: Option<Duration>,
    /// When the first advert's send call began and returned.
    pub(super) first_send: Option<(Timestamp, Timestamp)>,
}

impl std::fmt::Display for MasterDownWait {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let us = |d: Duration| d.as_nanos() as f64 / 1e3;
        write!(
            f,
            "Master_Down wait: woke {:.1} µs before the deadline (timerfd armed {} µs before), rehearsal ",
            us(self.woke_before),
            MASTER_DOWN_EARLY.as_micros()
        )?;
        match self.rehearsal {
            Some(d) => write!(f, "took {:.1} µs", us(d))?,
            None => write!(f, "skipped")?,
        }
        if let Some((began, ended)) = self.first_send {
            write!(
                f,
                "; first advert's send from {:.1} to {:.1} µs past the deadline",
                us(began.saturating_since(self.deadline)),
                us(ended.saturating_since(self.deadline))
            )?;
        }
        // The same deadline on the wall clock, which capture timestamps use.
        write!(
            f,
            "; deadline_realtime_ns={}",
            self.deadline.to_realtime_ns()
        )
    }
}

/// How early the timerfd wakes before a Master_Down_Timer deadline; the rest is spent polling
/// the ring buffer and the clock, and rehearsing the takeover. A timerfd wake-up came 20–330 µs
/// late on a 2-vCPU VM; takeover is where those microseconds count, and it is rare: while the
/// master is alive, the early wake-up finds that its adverts moved the deadline, and sleeps again.
const MASTER_DOWN_EARLY: Duration = Duration::from_millis(1);

/// The takeover is rehearsed only with this much time left before the deadline: a cold
/// rehearsal took 56–450 µs on the same VM (it pays the cold caches and page faults the real
/// takeover then skips), and must never delay the real one.
const REHEARSAL_LEAD: Duration = Duration::from_micros(500);

/// Above this many instances the takeover is not rehearsed: the copy of the engine costs more
/// than the rehearsal saves (255 instances took 66 µs to copy warm, up to 177 µs; one instance's
/// cold takeover costs 35–60 µs).
const REHEARSAL_MAX_INSTANCES: usize = 32;

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
        let scripts = spawn_scripts(&plan, &script_tx, Vec::new());
        let files = spawn_files(&plan, &file_tx, false)?;
        let fifos = super::execute::open_fifos(&plan.fifos, Vec::new());

        let mut engine = Engine::new(plan.engine.clone(), Timestamp::now());
        report_init_fail(&mut engine, &scripts.started);
        let scripts = scripts.runners;
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
            master_down_wait: None,
            garp: GarpSender::spawn().context("GARP thread")?,
            garp_inline_budget: 0,
            ops: crate::status::NodeOps::default(),
            resolving_retired: false,
        };
        node.refresh_links().await;
        for i in 0..node.ifaces.len() {
            node.refresh_sources(i).await;
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
                Some(change) = self.script_rx.recv() => self.script_changed(change),
                Some(change) = self.file_rx.recv() => {
                    self.input(Input::TrackerChanged {
                        tracker: TrackerId::File(change.name),
                        state: TrackerState::Value(change.value),
                    });
                }
                Some(event) = nl_events.next() => self.netlink_event(event).await,
                request = self.ops.next() => {
                    // Quiet adverts wait in the ring (see `vrrp_common::RxLast`): count them first.
                    self.drain_rings();
                    request.answer(self.snapshot())
                }
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
        // Let the VIP removals finish before XDP and sockets go away; the STOP notifies follow
        // them.
        let stop_scripts = self.vips.finish(Duration::from_secs(2)).await;
        // The STOP scripts (keepalived gives them 1 s) and FIFO lines, each bounded by its own
        // timeout: the runtime kills whatever is left when the daemon returns.
        tokio::join!(self.close_fifos(), futures::future::join_all(stop_scripts));
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
        let runs: Vec<_> = self
            .scripts
            .iter()
            .map(|s| crate::status::snapshot::ScriptRun {
                name: s.name().to_string(),
                running: s.is_running(),
            })
            .collect();
        crate::status::Status::build(
            &self.engine,
            &self.plan.engine,
            &|instance, vip| self.plan.vip_options(instance, vip),
            &self.ops.recorder,
            ifaces,
            &runs,
            Timestamp::now(),
        )
    }

    /// The plan an instance's actions resolve against: the current one, or for an instance the
    /// last reload removed, the one it was configured by.
    pub(super) fn plan_for(&self, instance: &str) -> &Plan {
        match &self.retired {
            Some(old) if self.resolving_retired || self.plan.instance(instance).is_none() => old,
            _ => &self.plan,
        }
    }

    /// SIGHUP: read the configuration again. A configuration that does not load changes
    /// nothing; one that does is handed to the engine, which keeps matched instances as they are
    /// (no transition, no priority 0, no GARP) and starts and stops the others.
    async fn reload(&mut self) {
        info!("Reloading");
        // The running instances see every advert that arrived before the new configuration.
        self.drain_rings();
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
        // Results the old runners already sent belong before the new configuration: applied
        // later, one could undo the initial state of a runner started now.
        while let Ok(change) = self.script_rx.try_recv() {
            self.script_changed(change);
        }
        // Unchanged scripts keep running; new and changed ones start as at start-up.
        let scripts = spawn_scripts(&plan, &self.script_tx, std::mem::take(&mut self.scripts));
        report_init_fail(&mut self.engine, &scripts.started);
        self.scripts = scripts.runners;
        self.fifos = super::execute::open_fifos(&plan.fifos, std::mem::take(&mut self.fifos));
        self.files = match spawn_files(&plan, &self.file_tx, true) {
            Ok(f) => f,
            Err(e) => {
                error!("Reload: track_file: {e:#}");
                None
            }
        };
        let engine_config = plan.engine.clone();
        self.retired = Some(std::mem::replace(&mut self.plan, plan));
        self.resolving_retired = true;
        self.engine
            .handle(Timestamp::now(), Input::Reload(engine_config));
        self.execute().await;
        self.reinstall_changed_vip_lines();
        self.retired = None;
        self.prune_gates();
        self.refresh_links().await;
        for i in 0..self.ifaces.len() {
            self.ifaces[i].src_v4 = None;
            self.ifaces[i].src_v6 = None;
            self.refresh_sources(i).await;
        }
        info!("Reload finished");
    }

    /// After a reload, a master's VIP whose line changed its label or scope is removed and
    /// added again with its new line, as keepalived does (see [`Plan::vip_line_changed`]);
    /// the engine keeps it, as the same address.
    fn reinstall_changed_vip_lines(&mut self) {
        let Some(old) = self.retired.as_ref() else {
            return;
        };
        let ifindexes = self.ifindexes();
        for st in self.engine.instances().filter(|st| st.gate_open) {
            for vip in &st.vips {
                if !old.vip_line_changed(&self.plan, &st.name, vip) {
                    continue;
                }
                if let (Some(was), Some(now)) = (
                    old.vip_spec(&st.name, vip, &ifindexes),
                    self.plan.vip_spec(&st.name, vip, &ifindexes),
                ) {
                    info!(
                        "({}) {} has a new label or scope: added again",
                        st.name, vip.addr
                    );
                    self.vips.push(super::vips::VipOp::Remove(was));
                    self.vips.push(super::vips::VipOp::Add(now));
                }
            }
        }
    }

    fn script_changed(&mut self, change: ScriptChange) {
        info!("VRRP_Script({}) {}", change.name, change.outcome);
        let state = match change.state {
            crate::track::TrackState::Up => TrackerState::Up,
            crate::track::TrackState::Down => TrackerState::Down,
        };
        self.input(Input::TrackerChanged {
            tracker: TrackerId::Script(change.name),
            state,
        });
    }

    /// Hands the engine an event from a tracker, a link or a signal, after every advert that
    /// arrived before it (quiet ones wait in the ring until the daemon wakes).
    pub(super) fn input(&mut self, input: Input) {
        self.drain_rings();
        self.engine.handle(Timestamp::now(), input);
    }

    /// Drain rings, run expired timers, execute actions.
    async fn step(&mut self) {
        self.drain_rings();
        self.spin_to_master_down();
        self.engine.handle_timeout(Timestamp::now());
        self.execute().await;
        // Logged after the takeover it describes, never in its way.
        if let Some(w) = self.master_down_wait.take() {
            debug!("{w}");
        }
    }

    /// Woken early for a Master_Down_Timer: poll until its deadline, feeding any advert that
    /// arrives meanwhile (which moves the deadline and ends the wait). A steady master's adverts
    /// have moved the deadline by the time the early wake-up drains them, so the wait, and the
    /// rehearsal in it, happen only when the master really fell silent.
    fn spin_to_master_down(&mut self) {
        let Some(deadline) = self.precise.take() else {
            return;
        };
        let mut rehearsed = false;
        let mut wait = MasterDownWait {
            deadline,
            woke_before: deadline.saturating_since(Timestamp::now()),
            rehearsal: None,
            first_send: None,
        };
        loop {
            let now = Timestamp::now();
            if now >= deadline {
                self.master_down_wait = Some(wait);
                return;
            }
            if deadline.saturating_since(now) > MASTER_DOWN_EARLY {
                return;
            }
            if self.engine.poll_timeout() != Some(deadline) {
                return;
            }
            if !rehearsed
                && deadline.saturating_since(now) >= REHEARSAL_LEAD
                && self.plan.engine.instances.len() <= REHEARSAL_MAX_INSTANCES
            {
                rehearsed = true;
                let mut rehearsal = self.engine.clone();
                rehearsal.handle_timeout(deadline);
                self.rehearse(rehearsal);
                wait.rehearsal = Some(Timestamp::now().saturating_since(now));
            }
            self.drain_rings();
            std::hint::spin_loop();
        }
    }

    /// A quiet backup is woken only by adverts that differ from the last one; every other state
    /// needs each advert at once (a master answers or yields, a new backup learns its master).
    pub(super) fn sync_rx_eager(&mut self, instance: &str, state: crate::engine::State) {
        let Some(c) = self
            .plan_for(instance)
            .engine
            .instances
            .iter()
            .find(|c| c.name == instance)
        else {
            return;
        };
        let (vrid, family) = (c.vrid, c.family.af());
        let Some(i) = self.iface_index(&c.interface) else {
            return;
        };
        let eager = state != crate::engine::State::Backup;
        if let Err(e) = self.ifaces[i].xdp.set_rx_eager(family, vrid, eager) {
            error!("({instance}) advert wake-up map: {e}");
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

    /// Feeds every queued advert and every counted repeat to the engine, oldest first. The
    /// engine judges "master down" from these kernel receive times, so a stalled daemon that
    /// wakes to a backlog sees that the master was alive all along.
    fn drain_rings(&mut self) {
        for i in 0..self.ifaces.len() {
            self.events.clear();
            self.ifaces[i].xdp.drain(&mut self.events);
            if self.events.is_empty() {
                continue;
            }
            self.events.sort_by_key(|r| r.ktime_ns);
            // Taken and put back so the buffer keeps its capacity from one wake-up to the next.
            let events = std::mem::take(&mut self.events);
            let name = &self.ifaces[i].name;
            for received in &events {
                let ev = &received.event;
                let recv_time = Timestamp::from_nanos(received.ktime_ns);
                let policy = |family, vrid| self.plan.rx_policy(name, family, vrid);
                let Some(input) = advert::decode_event(name, ev, recv_time, policy) else {
                    continue;
                };
                let now = Timestamp::now().max(recv_time);
                // From the XDP receive time to the engine: what a flood or a stall costs. A
                // replay of repeats is late on purpose: repeats never wake us.
                debug!(
                    "{name}: advert vrid {} from {}: rx_delay_ns={} repeat={} times={}",
                    ev.vrid,
                    ev.source(),
                    now.as_nanos() - received.ktime_ns,
                    received.repeat,
                    received.times
                );
                // Each repeat is one advert to the engine (counters, logs), all at the time of
                // the latest: they were identical, and only the latest moves a timer.
                self.engine.handle_repeated(now, input, received.times);
            }
            self.events = events;
        }
    }
}

fn spawn_scripts(
    plan: &Plan,
    tx: &mpsc::Sender<ScriptChange>,
    running: Vec<ScriptRunner>,
) -> ScriptSet {
    let set = ScriptRunner::spawn_all(&plan.scripts, tx, running);
    for e in &set.disabled {
        // keepalived's wording; the instance carries on without the tracker.
        warn!(
            "Disabling track script {} since not found/accessible ({})",
            e.name, e.source
        );
    }
    set
}

/// keepalived `init_fail`: a script counts as failed from its start (its weight taken off, or
/// FAULT with weight 0) until `rise` successes. Its runner reports changes only, so the engine is
/// told when the runner starts: at start-up, and for a script a reload adds or changes (before
/// the new configuration, so a new instance starts from it as at start-up).
fn report_init_fail(engine: &mut Engine, started: &[ScriptSpec]) {
    for s in started.iter().filter(|s| s.init_fail) {
        engine.handle(
            Timestamp::now(),
            Input::TrackerChanged {
                tracker: TrackerId::Script(s.name.clone()),
                state: TrackerState::Down,
            },
        );
    }
}

/// Writes the `init_file` values (keepalived: at start-up, or on `reload` only missing files),
/// then watches the track files. One that cannot be watched is removed with keepalived's words
/// and the others carry on; only a failing inotify stops them all.
fn spawn_files(
    plan: &Plan,
    tx: &mpsc::Sender<FileChange>,
    reload: bool,
) -> anyhow::Result<Option<FileTracker>> {
    use anyhow::Context as _;
    if plan.track_files.is_empty() {
        return Ok(None);
    }
    for spec in &plan.track_files {
        if let Err(e) = crate::track::init_track_file(spec, reload) {
            error!("{e}");
        }
    }
    let (tracker, removed) =
        FileTracker::spawn(plan.track_files.clone(), tx.clone()).context("track_file")?;
    for e in removed {
        error!("{e}");
    }
    Ok(Some(tracker))
}
