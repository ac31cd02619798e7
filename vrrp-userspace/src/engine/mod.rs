//! Sans-IO RFC 5798 election engine with keepalived semantics: events and a clock in, actions out.
//!
//! No sockets, threads, clock reads or async (quinn-proto style). The [`Engine`] owns every
//! instance and sync group of one node. Its methods come in four groups:
//! - getters: [`Engine::instances`];
//! - `handle_*`: [`Engine::handle`] for inputs (adverts, trackers, links, addresses, reload,
//!   shutdown) and [`Engine::handle_timeout`] for the clock;
//! - outputs: [`Engine::poll_action`] (drain after every `handle_*`, execute in order) and
//!   [`Engine::poll_timeout`] (the next deadline).
//!
//! Start-up: [`Engine::new`] only arms the start-up timer (`vrrp_startup_delay`). Feed what is
//! known (link states, interface addresses, tracker states) with `handle`, then call
//! `handle_timeout(now)`: every instance then logs `Entering BACKUP STATE (init)` (or FAULT).
//!
//! Stalls: a backup's Master_Down_Timer runs from the kernel receive time of the last accepted
//! advert. After a stall, feed every queued advert (in receive order) before `handle_timeout(now)`;
//! adverts that arrived during the stall then keep the master alive as they would have.

mod config;
mod fsm;
mod instance;
mod io;
mod log;
mod priority;
mod stats;
mod sync_group;
mod timer;

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

pub use config::{
    Auth, EngineConfig, Family, GarpConfig, InstanceConfig, PeerTtl, SyncGroupConfig, Tracked,
    TrackerId, Version, Vip, WantedState,
};
pub use fsm::{FaultReason, NotifyState, Reason, State};
pub use instance::InstanceStatus;
pub use io::{Action, AdvertRx, AdvertTx, AuthField, Input, NotifyTarget, RxErrorReason};
pub use log::{DisplayDuration, Level, Log};
pub use priority::{TrackerState, contribution};
pub use stats::Stats;
pub use timer::Timer;

use instance::Instance;
use sync_group::SyncGroup;

use crate::time::Timestamp;

/// All VRRP instances and sync groups of one node.
#[derive(Clone)]
pub struct Engine {
    instances: Vec<Instance>,
    /// Indexes into `instances` by (family, VRID) (see [`route_slot`]): every advert is routed,
    /// and a scan of hundreds of instances per advert was a steady backup's largest cost.
    routes: Vec<Vec<usize>>,
    groups: Vec<SyncGroup>,
    /// Link state per interface name; unknown = up.
    links: HashMap<String, bool>,
    trackers: HashMap<TrackerId, TrackerState>,
    /// Primary IPv4 / link-local IPv6 address per (interface, family).
    src_addrs: HashMap<(String, Family), IpAddr>,
    actions: VecDeque<Action>,
    /// Pending start-up (`vrrp_startup_delay`); None once started.
    startup_at: Option<Timestamp>,
    stopped: bool,
    /// Scratch for [`Engine::handle_timeout`], kept for its capacity.
    expired: Vec<(Timestamp, usize, Timer)>,
}

impl Engine {
    /// Builds the engine; nothing runs until `handle_timeout` reaches `now + startup_delay`.
    pub fn new(config: EngineConfig, now: Timestamp) -> Engine {
        let mut engine = Engine {
            instances: Vec::new(),
            routes: Vec::new(),
            groups: Vec::new(),
            links: HashMap::new(),
            trackers: HashMap::new(),
            src_addrs: HashMap::new(),
            actions: VecDeque::new(),
            startup_at: Some(now + config.startup_delay),
            stopped: false,
            expired: Vec::new(),
        };
        engine.instances = config
            .instances
            .into_iter()
            .map(|c| Instance::new(c, now))
            .collect();
        engine.groups = sync_group::build(&config.sync_groups, &mut engine.instances);
        engine.index_routes();
        engine
    }

    fn index_routes(&mut self) {
        self.routes = vec![Vec::new(); 2 * 256];
        for (idx, inst) in self.instances.iter().enumerate() {
            self.routes[route_slot(inst.cfg.family, inst.cfg.vrid)].push(idx);
        }
    }

    /// `times` copies of one advert, all received at its `recv_time`: the repeats the XDP program
    /// counted instead of queueing. The same as handing each copy to [`Engine::handle`] in turn
    /// (counters, actions, state), at a fraction of the cost: a steady backup of 255 instances
    /// gets thousands of repeats a second. A copy after the first that asks for no action found
    /// the instance as the copy before it left it: on identical adverts at one time, the rules
    /// move state on the first copy only, or say so with an action. Each further copy would do
    /// the same again, so from there the rest only count, by what that copy counted (the test
    /// `repeats_fold_like_one_advert_each` holds this to `times` calls of `handle`).
    pub fn handle_repeated(&mut self, now: Timestamp, input: Input, times: u64) {
        let Input::Advert {
            interface,
            family,
            rx,
        } = &input
        else {
            for _ in 0..times {
                self.handle(now, input.clone());
            }
            return;
        };
        if self.stopped {
            return;
        }
        let idx = self
            .startup_at
            .is_none()
            .then(|| self.route(interface, *family, rx.vrid, rx.src))
            .flatten();
        for copy in 0..times {
            let actions = self.actions.len();
            let stats = idx.map(|i| self.instances[i].stats);
            self.on_advert(now, interface, *family, rx);
            self.update_groups();
            if let Some((i, before)) = idx.zip(stats)
                && copy > 0
                && self.actions.len() == actions
            {
                let after = self.instances[i].stats;
                self.instances[i]
                    .stats
                    .add_repeats(&before, &after, times - copy - 1);
                return;
            }
        }
    }

    pub fn handle(&mut self, now: Timestamp, input: Input) {
        if self.stopped {
            return;
        }
        match input {
            Input::Advert {
                interface,
                family,
                rx,
            } => self.on_advert(now, &interface, family, &rx),
            Input::RxError {
                interface,
                family,
                vrid,
                reason,
            } => self.on_rx_error(&interface, family, vrid, reason),
            Input::TrackerChanged { tracker, state } => {
                self.trackers.insert(tracker, state);
                self.reevaluate(now);
            }
            Input::LinkChanged { interface, up } => {
                let state = if up {
                    TrackerState::Up
                } else {
                    TrackerState::Down
                };
                self.trackers
                    .insert(TrackerId::Interface(interface.clone()), state);
                self.links.insert(interface, up);
                self.reevaluate(now);
            }
            Input::SourceAddress {
                interface,
                family,
                addr,
            } => {
                match addr {
                    Some(a) => self.src_addrs.insert((interface, family), a),
                    None => self.src_addrs.remove(&(interface, family)),
                };
                self.reevaluate(now);
            }
            Input::AddressDeleted {
                interface,
                addr,
                prefix_len,
            } => self.on_address_deleted(now, &interface, addr, prefix_len),
            Input::Shutdown => self.shutdown(now),
            Input::Reload(config) => self.reload(now, config),
        }
        self.update_groups();
    }

    /// Runs every timer due at or before `now`, earliest first.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        if self.stopped {
            return;
        }
        if let Some(at) = self.startup_at {
            if at > now {
                return;
            }
            self.startup_at = None;
            self.start(now);
        }
        // Expired timers run in (deadline, instance, timer) order. One scan collects them all:
        // picking the earliest afresh after each one made a batch of n instances' adverts cost
        // n scans of n instances (255 instances at 10 ms: most of a core). A timer that an
        // earlier one moved or stopped is skipped; one that an earlier one set already expired
        // is picked up by the next scan.
        let mut expired = std::mem::take(&mut self.expired);
        loop {
            expired.clear();
            for (idx, inst) in self.instances.iter().enumerate() {
                expired.extend(
                    inst.timers
                        .iter()
                        .filter(|&(_, d)| d <= now)
                        .map(|(t, d)| (d, idx, t)),
                );
            }
            if expired.is_empty() {
                break;
            }
            expired.sort_unstable();
            for &(deadline, idx, timer) in &expired {
                if self.instances[idx].timers.get(timer) != Some(deadline) {
                    continue;
                }
                self.instances[idx].timers.stop(timer);
                self.on_timer(now, idx, timer, deadline);
            }
        }
        self.expired = expired;
        self.update_groups();
    }

    #[must_use]
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    #[must_use]
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.next_timer().map(|(deadline, _)| deadline)
    }

    /// The next deadline and which timer it is (`None` for the start-up delay), so the daemon can
    /// be more precise about a Master_Down_Timer than about the others.
    pub fn next_timer(&self) -> Option<(Timestamp, Option<Timer>)> {
        if self.stopped {
            return None;
        }
        if let Some(at) = self.startup_at {
            return Some((at, None));
        }
        self.instances
            .iter()
            .filter_map(|i| i.timers.next())
            .min_by_key(|&(t, d)| (d, t))
            .map(|(t, d)| (d, Some(t)))
    }

    pub fn instances(&self) -> impl Iterator<Item = InstanceStatus> + '_ {
        self.instances.iter().map(Instance::status)
    }

    /// The last state `tracker` reported; `None` if it never did (it then neither adjusts nor
    /// faults).
    pub fn tracker_state(&self, tracker: &TrackerId) -> Option<TrackerState> {
        self.trackers.get(tracker).copied()
    }

    /// The status of one instance by name.
    pub fn instance(&self, name: &str) -> Option<InstanceStatus> {
        self.instances
            .iter()
            .find(|i| i.cfg.name == name)
            .map(Instance::status)
    }

    // ===== start-up =====

    /// keepalived `vrrp_init_state` (keepalived-behaviour.md §2.4).
    fn start(&mut self, now: Timestamp) {
        for idx in 0..self.instances.len() {
            self.refresh_tracking(idx, false);
        }
        for idx in 0..self.instances.len() {
            self.init_instance(now, idx);
        }
    }

    /// RFC 5798 §6.4.1 Initialize, as keepalived does it: clear leftovers, log
    /// `Entering BACKUP STATE (init)` (or FAULT), and arm the down timer.
    fn init_instance(&mut self, now: Timestamp, idx: usize) {
        let fault = self.fault_of(idx);
        let inst = &mut self.instances[idx];
        // keepalived clears leftover VIPs of a previous run before anything else.
        let vips = inst.all_vips();
        self.actions.push_back(Action::RemoveVips {
            instance: inst.cfg.name.clone(),
            vips: vips.clone(),
        });
        self.actions.push_back(Action::SetGate {
            instance: inst.cfg.name.clone(),
            vips: vips.clone(),
            open: false,
        });
        match fault {
            Some(reason) => {
                let held = self.held_for_scripts(idx);
                self.change_state(now, idx, State::Fault, Reason::Init);
                let inst = &mut self.instances[idx];
                inst.fault_from_init = true;
                inst.init_hold = held;
                // keepalived `vrrp_init_state`: FAULT (init) waiting for a weight-0 script's
                // first result notifies nothing; that result decides.
                if !held {
                    self.actions.push_back(Action::Log(Log::FaultCause {
                        instance: inst.cfg.name.clone(),
                        reason,
                    }));
                    self.notify_instance(idx, NotifyState::Fault);
                }
            }
            None => {
                self.change_state(now, idx, State::Backup, Reason::Init);
                self.arm_initial_down_timer(now, idx);
                self.notify_instance(idx, NotifyState::Backup);
            }
        }
    }

    /// RFC 5798 §6.4.1: an owner that wants MASTER takes over at once (keepalived: a 1 µs down
    /// timer); anyone else, `state MASTER` included, waits a full Master_Down_Interval.
    fn arm_initial_down_timer(&mut self, now: Timestamp, idx: usize) {
        let inst = &mut self.instances[idx];
        if inst.is_owner() && inst.cfg.initial_state == WantedState::Master {
            inst.down_reason = Some(Reason::Owner);
            inst.timers.set(Timer::MasterDown, now);
        } else {
            inst.down_reason = None;
            let deadline = now + inst.master_down_interval();
            inst.timers.set(Timer::MasterDown, deadline);
        }
    }

    // ===== timers =====

    fn on_timer(&mut self, now: Timestamp, idx: usize, timer: Timer, deadline: Timestamp) {
        let inst = &mut self.instances[idx];
        match (timer, inst.state) {
            // RFC 5798 §6.4.3: "If the Adver_Timer fires" → send an advert, restart the timer.
            (Timer::Advert, State::Master) => {
                let prio = inst.effective_priority;
                let next = now + inst.advert_interval();
                inst.timers.set(Timer::Advert, next);
                // keepalived `vrrp_state_master_tx`: after two of our adverts, the rogue window.
                if inst.rogue_counter > 0 {
                    inst.rogue_counter -= 1;
                    if inst.rogue_counter == 0 {
                        let longer = inst.rogue_adver_int.max(inst.cfg.advert_int);
                        let window = std::time::Duration::from_millis(u64::from(longer) * 12);
                        inst.rogue_until = Some(now + window);
                    }
                }
                self.send_advert(idx, prio);
            }
            // RFC 5798 §6.4.2: "If the Master_Down_Timer fires" → MASTER.
            (Timer::MasterDown, State::Backup) => self.master_down(now, idx, deadline),
            (Timer::GarpDelayed, State::Master) => {
                let repeat = inst.cfg.garp.master_repeat;
                self.send_garps(idx, None, repeat);
            }
            (Timer::GarpRefresh, State::Master) => {
                let repeat = inst.cfg.garp.master_refresh_repeat;
                let next = now + inst.cfg.garp.master_refresh;
                inst.timers.set(Timer::GarpRefresh, next);
                self.send_garps(idx, None, repeat);
            }
            (Timer::GarpLowerPrio, State::Master) => {
                let repeat = inst.cfg.garp.lower_prio_repeat;
                self.send_garps(idx, None, repeat);
            }
            // A timer that belongs to another state is stale: state changes stop them, so this
            // only guards against a future mistake.
            _ => {}
        }
    }

    /// The Master_Down_Timer fired in BACKUP.
    fn master_down(&mut self, now: Timestamp, idx: usize, deadline: Timestamp) {
        let inst = &mut self.instances[idx];
        self.actions.push_back(Action::Log(Log::ReceiveTimeout {
            instance: inst.cfg.name.clone(),
        }));
        inst.wants_master = true;
        let mut reason = inst.down_reason.take().unwrap_or(Reason::MasterDown {
            master_down_interval: inst.master_down_interval(),
            since_advert: inst.last_advert.map(|t| now.saturating_since(t)),
            late: now.saturating_since(deadline),
        });
        // The detection-latency histogram measures priority-0 takeovers too.
        if let Reason::PriorityZero { late, .. } = &mut reason {
            *late = now.saturating_since(deadline);
        }
        // keepalived vrrp_sync_can_goto_master: only when every member wants MASTER.
        if let Some(g) = inst.group
            && !self.group_wants_master(g)
        {
            let inst = &mut self.instances[idx];
            self.actions.push_back(Action::Log(Log::SyncGroupWaiting {
                instance: inst.cfg.name.clone(),
                group: self.groups[g].name.clone(),
            }));
            let next = now + inst.master_down_interval();
            inst.timers.set(Timer::MasterDown, next);
            return;
        }
        self.become_master(now, idx, reason);
        if let Some(g) = self.instances[idx].group {
            self.sync_group_to(now, g, idx, State::Master);
        }
    }

    // ===== adverts =====

    fn on_advert(&mut self, now: Timestamp, interface: &str, family: Family, rx: &AdvertRx) {
        if self.startup_at.is_some() {
            return;
        }
        let Some(idx) = self.route(interface, family, rx.vrid, rx.src) else {
            self.actions.push_back(Action::Log(Log::UnknownVrid {
                interface: interface.to_string(),
                family,
                vrid: rx.vrid,
                from: rx.src,
            }));
            return;
        };
        let inst = &mut self.instances[idx];
        if !matches!(inst.state, State::Backup | State::Master) {
            // FAULT and STOP do not take part in the election.
            inst.stats.advert_rcvd += 1;
            return;
        }
        if !inst.check_advert(rx, &mut self.actions) {
            return;
        }
        // The judging time is the kernel receive time, never later than now.
        let at = rx.recv_time.min(now);
        match inst.state {
            State::Backup => self.backup_rx(idx, rx, at),
            State::Master => self.master_rx(now, idx, rx, at),
            _ => {}
        }
    }

    /// Finds the instance for (interface, family, VRID); with unicast several instances may share a
    /// VRID on one interface, told apart by their peers.
    fn route(&self, interface: &str, family: Family, vrid: u8, src: IpAddr) -> Option<usize> {
        let mut candidates = self.instances_of(interface, family, vrid);
        let first = candidates.next()?;
        let by_peer = std::iter::once(first)
            .chain(candidates)
            .find(|&idx| self.instances[idx].cfg.unicast_peers.contains(&src));
        Some(by_peer.unwrap_or(first))
    }

    /// The instances of (interface, family, VRID), through [`Engine::routes`].
    fn instances_of<'a>(
        &'a self,
        interface: &'a str,
        family: Family,
        vrid: u8,
    ) -> impl Iterator<Item = usize> + 'a {
        self.routes[route_slot(family, vrid)]
            .iter()
            .copied()
            .filter(move |&idx| self.instances[idx].cfg.interface == interface)
    }

    /// RFC 5798 §6.4.2 "If an ADVERTISEMENT is received" in BACKUP, with keepalived's
    /// `vrrp_state_backup` rules (keepalived-behaviour.md §2.3, §2.5).
    fn backup_rx(&mut self, idx: usize, rx: &AdvertRx, at: Timestamp) {
        let inst = &mut self.instances[idx];
        // Cloned only for a log line: a steady backup takes every advert through here.
        let name = || inst.cfg.name.clone();
        // RFC 5798 §6.4.2: priority 0 → Master_Down_Timer = Skew_Time.
        if rx.priority == 0 {
            self.actions
                .push_back(Action::Log(Log::BackupRxPriorityZero {
                    instance: name(),
                    from: rx.src,
                }));
            inst.down_reason = Some(Reason::PriorityZero {
                from: rx.src,
                late: std::time::Duration::ZERO,
            });
            let deadline = at + inst.skew_time();
            inst.timers.set(Timer::MasterDown, deadline);
            return;
        }
        let ours = inst.effective_priority;
        let delay = inst.cfg.preempt_delay;
        let in_preempt_window = !delay.is_zero() && inst.preempt_until.is_none_or(|end| end > at);
        // keepalived: accept if nopreempt, priority ≥ ours (so equal never preempts), or inside
        // the preempt_delay window; otherwise discard without resetting the timer.
        if !(inst.cfg.nopreempt || rx.priority >= ours || in_preempt_window) {
            self.actions
                .push_back(Action::Log(Log::LowerPriorityDiscarded {
                    instance: name(),
                    from: rx.src,
                    priority: rx.priority,
                }));
            return;
        }
        if !delay.is_zero() {
            if rx.priority >= ours {
                if inst.preempt_until.take().is_some() {
                    self.actions
                        .push_back(Action::Log(Log::PreemptDelayStop { instance: name() }));
                }
            } else if inst.preempt_until.is_none() {
                inst.preempt_until = Some(at + delay);
                self.actions.push_back(Action::Log(Log::PreemptDelayStart {
                    instance: name(),
                    delay,
                }));
            }
        }
        inst.learn_master(rx, at);
        inst.wants_master = false;
        inst.down_reason = None;
        let deadline = at + inst.master_down_interval();
        inst.timers.set(Timer::MasterDown, deadline);
    }

    /// keepalived `set_vrrp_backup`: a master whose VIP (advertised or excluded, without
    /// `no_track`) was deleted from outside resigns with priority 0 and waits only Skew_Time in
    /// BACKUP, so that, unchallenged, it wins again and puts the address back at once; its sync
    /// group's masters do the same.
    fn on_address_deleted(
        &mut self,
        now: Timestamp,
        interface: &str,
        addr: IpAddr,
        prefix_len: u8,
    ) {
        let owner = self.instances.iter().position(|inst| {
            inst.state == State::Master
                && inst.all_vips().iter().any(|v| {
                    v.addr == addr
                        && v.prefix_len == prefix_len
                        && !v.no_track
                        && v.dev.as_deref().unwrap_or(&inst.cfg.interface) == interface
                })
        });
        let Some(idx) = owner else {
            return;
        };
        let members = self.members_of(idx);
        for m in members {
            if self.instances[m].state != State::Master {
                continue;
            }
            self.resign(m);
            self.leave_master_to_backup(now, m, Reason::VipDeleted(addr), now);
            let inst = &mut self.instances[m];
            let deadline = now + inst.skew_time();
            inst.timers.set(Timer::MasterDown, deadline);
        }
    }

    /// RFC 5798 §6.4.3 "If an ADVERTISEMENT is received" in MASTER, with keepalived's
    /// `vrrp_state_master_rx` rules (keepalived-behaviour.md §2.3).
    fn master_rx(&mut self, now: Timestamp, idx: usize, rx: &AdvertRx, at: Timestamp) {
        let our_addr = self.our_addr(idx);
        let inst = &mut self.instances[idx];
        let name = inst.cfg.name.clone();
        let ours = inst.effective_priority;
        if inst.is_owner() && inst.cfg.owner_ignore_adverts {
            self.actions.push_back(Action::Log(Log::OwnerIgnoresAdvert {
                instance: name,
                from: rx.src,
            }));
            return;
        }
        // RFC 5798 §6.4.3: priority 0 → send an advert at once and restart the Adver_Timer.
        if rx.priority == 0 {
            self.actions
                .push_back(Action::Log(Log::MasterRxPriorityZero {
                    instance: name,
                    from: rx.src,
                }));
            let next = now + inst.advert_interval();
            inst.timers.set(Timer::Advert, next);
            self.send_advert(idx, ours);
            return;
        }
        if rx.priority == ours && Some(rx.src) == our_addr {
            // Our own advert looped back.
            return;
        }
        let same_higher_ip = rx.priority == ours && our_addr.is_none_or(|a| rx.src > a);
        if rx.priority > ours || same_higher_ip {
            // RFC 5798 §6.4.3: higher priority, or equal from a higher address → BACKUP at once,
            // without a priority-0 advert.
            if inst.cfg.higher_prio_send_advert {
                self.send_advert(idx, ours);
            }
            let log = if same_higher_ip {
                Log::MasterRxSamePriorityHigherIp {
                    instance: name,
                    from: rx.src,
                    priority: rx.priority,
                }
            } else {
                Log::MasterRxHigherPriority {
                    instance: name,
                    from: rx.src,
                    priority: rx.priority,
                    ours,
                }
            };
            self.actions.push_back(Action::Log(log));
            let inst = &mut self.instances[idx];
            inst.learn_master(rx, at);
            let reason = Reason::HigherPriority {
                from: rx.src,
                priority: rx.priority,
                ours,
            };
            self.leave_master_to_backup(now, idx, reason, at);
            if let Some(g) = self.instances[idx].group {
                self.sync_group_to(now, g, idx, State::Backup);
            }
            return;
        }
        // keepalived §2.3 (`vrrp_state_master_rx`): two address owners. The one with the lower
        // address backs off by the rule above. We wait for two adverts of our own, then for
        // 1.2 × the longer interval (the rogue window, armed in `on_timer`): the other owner
        // heard inside that window does not back off, so we lower ourselves to 254 and let the
        // same advert beat us. A window that closes quietly ends the episode.
        if inst.is_owner() && rx.priority == 255 && !inst.owner_demoted {
            if inst.rogue_until.is_some_and(|until| at <= until) {
                inst.owner_demoted = true;
                inst.rogue_until = None;
                self.actions.push_back(Action::Log(Log::BothOwners {
                    instance: name.clone(),
                    from: rx.src,
                }));
                self.refresh_tracking(idx, true);
                self.master_rx(now, idx, rx, at);
                return;
            }
            inst.rogue_adver_int = rx.max_advert_int;
            if inst.rogue_counter == 0 {
                inst.rogue_counter = 2;
                inst.rogue_until = None;
                self.actions.push_back(Action::Log(Log::RogueOwner {
                    instance: name.clone(),
                    from: rx.src,
                }));
            }
        }
        let inst = &mut self.instances[idx];
        // keepalived: a lower priority (or equal from a lower address) forces a new election.
        self.actions
            .push_back(Action::Log(Log::MasterRxLowerPriority {
                instance: name.clone(),
                from: rx.src,
                priority: rx.priority,
                ours,
            }));
        if !inst.cfg.lower_prio_no_advert {
            let next = now + inst.advert_interval();
            inst.timers.set(Timer::Advert, next);
            self.send_advert(idx, ours);
        }
        let members = self.members_of(idx);
        for m in members {
            if self.instances[m].state != State::Master {
                continue;
            }
            let garp = &self.instances[m].cfg.garp;
            let (repeat, delay) = (garp.lower_prio_repeat, garp.lower_prio_delay);
            if repeat > 0 {
                self.send_garps(m, None, repeat);
                if !delay.is_zero() {
                    self.instances[m]
                        .timers
                        .set(Timer::GarpLowerPrio, now + delay);
                }
            }
        }
        self.actions.push_back(Action::NotifyMasterRxLowerPri {
            instance: name,
            priority: ours,
        });
    }

    fn on_rx_error(
        &mut self,
        interface: &str,
        family: Family,
        vrid: Option<u8>,
        reason: RxErrorReason,
    ) {
        let idx = vrid.and_then(|v| self.instances_of(interface, family, v).next());
        if let Some(idx) = idx {
            let s = &mut self.instances[idx].stats;
            match reason {
                RxErrorReason::PacketLength => s.packet_len_err += 1,
                RxErrorReason::IpTtl => s.ip_ttl_err += 1,
                RxErrorReason::InvalidType => s.invalid_type_rcvd += 1,
                RxErrorReason::Checksum => s.chk_err += 1,
                RxErrorReason::Version => s.vers_err += 1,
                RxErrorReason::AuthFailure => s.auth_failure += 1,
                RxErrorReason::InvalidAuthType => s.invalid_authtype += 1,
                RxErrorReason::AdvertInterval => s.advert_interval_err += 1,
            }
        }
        self.actions.push_back(Action::Log(Log::RxError {
            interface: interface.to_string(),
            vrid,
            reason,
        }));
    }

    // ===== state changes and their side effects =====

    /// The only place an instance's state changes: logs the transition and counts it.
    fn change_state(&mut self, now: Timestamp, idx: usize, to: State, reason: Reason) {
        let inst = &mut self.instances[idx];
        let from = inst.state;
        if from == to {
            return;
        }
        if to == State::Master {
            inst.stats.become_master += 1;
        }
        if from == State::Master {
            inst.stats.release_master += 1;
            // keepalived `vrrp_state_leave_master` cancels the rogue-owner episode.
            inst.rogue_counter = 0;
            inst.rogue_until = None;
        }
        inst.state = to;
        inst.since = now;
        inst.transitions += 1;
        self.actions.push_back(Action::Transition {
            instance: inst.cfg.name.clone(),
            from,
            to,
            reason,
        });
    }

    /// keepalived `vrrp_state_goto_master` + `master_tx` (keepalived-behaviour.md §2.6): advert
    /// first, then the log, VIPs, gate, GARP burst, the GARP timers, and finally the notify.
    fn become_master(&mut self, now: Timestamp, idx: usize, reason: Reason) {
        let our_addr = self.our_addr(idx);
        let inst = &mut self.instances[idx];
        let prio = inst.effective_priority;
        self.send_advert(idx, prio);
        self.change_state(now, idx, State::Master, reason);
        let inst = &mut self.instances[idx];
        inst.wants_master = true;
        inst.master_adver_int = inst.cfg.advert_int;
        inst.master_addr = our_addr;
        inst.master_priority = Some(prio);
        inst.preempt_until = None;
        inst.down_reason = None;
        inst.timers.stop_all();
        inst.timers.set(Timer::Advert, now + inst.advert_interval());
        let garp = inst.cfg.garp.clone();
        if !garp.master_delay.is_zero() {
            inst.timers.set(Timer::GarpDelayed, now + garp.master_delay);
        }
        if !garp.master_refresh.is_zero() {
            inst.timers.set(
                Timer::GarpRefresh,
                now + garp.master_delay + garp.master_refresh,
            );
        }
        self.install_vips(idx, None);
        self.send_garps(idx, None, garp.master_repeat);
        self.notify_instance(idx, NotifyState::Master);
    }

    /// MASTER → BACKUP (keepalived-behaviour.md §2.6): VIPs removed, gate closed, no priority 0.
    /// The down timer runs from `down_from` (the receive time of the advert that beat us).
    fn leave_master_to_backup(
        &mut self,
        now: Timestamp,
        idx: usize,
        reason: Reason,
        down_from: Timestamp,
    ) {
        self.change_state(now, idx, State::Backup, reason);
        let inst = &mut self.instances[idx];
        inst.wants_master = false;
        inst.timers.stop_all();
        let deadline = down_from + inst.master_down_interval();
        inst.timers.set(Timer::MasterDown, deadline);
        self.uninstall_vips(idx, None);
        self.notify_instance(idx, NotifyState::Backup);
    }

    /// → FAULT. A master resigns with a priority-0 advert first (`vrrp_state_leave_master`).
    fn enter_fault(&mut self, now: Timestamp, idx: usize, reason: FaultReason) {
        let was_master = self.instances[idx].state == State::Master;
        if was_master {
            self.resign(idx);
        }
        self.change_state(now, idx, State::Fault, Reason::Fault(reason));
        let inst = &mut self.instances[idx];
        inst.fault_from_init = false;
        inst.init_hold = false;
        inst.wants_master = false;
        inst.timers.stop_all();
        inst.master_addr = None;
        inst.master_priority = None;
        if was_master {
            self.uninstall_vips(idx, None);
        }
        self.notify_instance(idx, NotifyState::Fault);
    }

    /// Leaving FAULT goes to BACKUP with a full down timer (keepalived `try_up_instance` +
    /// `vrrp_state_leave_fault`). Only a fault present since start-up leaves an owner that wants
    /// MASTER (and is not held by a sync group) going straight to MASTER: a run-time fault set
    /// keepalived's `wantstate` to FAULT, so the owner comes back as a backup like anyone else.
    fn leave_fault(&mut self, now: Timestamp, idx: usize) {
        let inst = &mut self.instances[idx];
        let from_init = std::mem::take(&mut inst.fault_from_init);
        inst.init_hold = false;
        // keepalived clears `preempt_time`: a new preempt_delay window starts afresh.
        inst.preempt_until = None;
        if from_init
            && inst.is_owner()
            && inst.cfg.initial_state == WantedState::Master
            && inst.group.is_none()
        {
            self.become_master(now, idx, Reason::FaultCleared);
            return;
        }
        self.change_state(now, idx, State::Backup, Reason::FaultCleared);
        let inst = &mut self.instances[idx];
        inst.master_adver_int = inst.cfg.advert_int;
        inst.down_reason = None;
        let deadline = now + inst.master_down_interval();
        inst.timers.set(Timer::MasterDown, deadline);
        self.notify_instance(idx, NotifyState::Backup);
    }

    /// A master's priority-0 advert.
    fn resign(&mut self, idx: usize) {
        self.send_advert(idx, 0);
        self.actions.push_back(Action::Log(Log::SentPriorityZero {
            instance: self.instances[idx].cfg.name.clone(),
        }));
    }

    fn send_advert(&mut self, idx: usize, priority: u8) {
        let src = self.our_addr(idx);
        let inst = &mut self.instances[idx];
        inst.stats.advert_sent += 1;
        if priority == 0 {
            inst.stats.pri_zero_sent += 1;
        }
        let cfg = &inst.cfg;
        self.actions.push_back(Action::SendAdvert {
            instance: cfg.name.clone(),
            tx: AdvertTx {
                interface: cfg.interface.clone(),
                family: cfg.family,
                version: cfg.version,
                vrid: cfg.vrid,
                priority,
                max_advert_int: cfg.advert_int,
                addrs: cfg.vips.iter().map(|v| v.addr).collect(),
                auth: cfg.auth,
                src,
                unicast_peers: cfg.unicast_peers.clone(),
            },
        });
    }

    /// Adds `vips` (all of the instance's when None) and opens their gate.
    fn install_vips(&mut self, idx: usize, vips: Option<Vec<Vip>>) {
        let inst = &mut self.instances[idx];
        let vips = vips.unwrap_or_else(|| inst.all_vips());
        inst.vips_installed = true;
        if vips.is_empty() {
            return;
        }
        let name = inst.cfg.name.clone();
        self.actions.push_back(Action::AddVips {
            instance: name.clone(),
            vips: vips.clone(),
        });
        self.actions.push_back(Action::SetGate {
            instance: name,
            vips: vips.clone(),
            open: true,
        });
    }

    fn uninstall_vips(&mut self, idx: usize, vips: Option<Vec<Vip>>) {
        let inst = &mut self.instances[idx];
        let vips = vips.unwrap_or_else(|| inst.all_vips());
        if vips.len() == inst.all_vips().len() {
            inst.vips_installed = false;
        }
        if vips.is_empty() {
            return;
        }
        let name = inst.cfg.name.clone();
        self.actions.push_back(Action::RemoveVips {
            instance: name.clone(),
            vips: vips.clone(),
        });
        self.actions.push_back(Action::SetGate {
            instance: name,
            vips,
            open: false,
        });
    }

    /// GARPs / unsolicited NAs, one action per interface the VIPs live on.
    fn send_garps(&mut self, idx: usize, vips: Option<&[Vip]>, repeat: u32) {
        if repeat == 0 {
            return;
        }
        let inst = &self.instances[idx];
        let all;
        let vips = match vips {
            Some(v) => v,
            None => {
                all = inst.all_vips();
                &all
            }
        };
        let mut by_dev: Vec<(String, Vec<IpAddr>)> = Vec::new();
        for v in vips {
            let dev = v.dev.clone().unwrap_or_else(|| inst.cfg.interface.clone());
            match by_dev.iter_mut().find(|(d, _)| *d == dev) {
                Some((_, addrs)) => addrs.push(v.addr),
                None => by_dev.push((dev, vec![v.addr])),
            }
        }
        for (interface, vips) in by_dev {
            self.actions.push_back(Action::SendGarp {
                instance: inst.cfg.name.clone(),
                interface,
                vips,
                repeat,
            });
        }
    }

    fn notify_instance(&mut self, idx: usize, state: NotifyState) {
        let inst = &self.instances[idx];
        self.actions.push_back(Action::Notify {
            target: NotifyTarget::Instance(inst.cfg.name.clone()),
            state,
            priority: inst.effective_priority,
        });
    }

    /// `unicast_src_ip`/`mcast_src_ip`, else the interface address we were told about.
    fn our_addr(&self, idx: usize) -> Option<IpAddr> {
        let cfg = &self.instances[idx].cfg;
        cfg.src_ip.or_else(|| {
            self.src_addrs
                .get(&(cfg.interface.clone(), cfg.family))
                .copied()
        })
    }

    // ===== priority and faults =====

    /// Recomputes the effective priority and own fault of one instance.
    fn refresh_tracking(&mut self, idx: usize, log_change: bool) {
        let trackers = &self.trackers;
        let inst = &self.instances[idx];
        let tracking = priority::evaluate(inst.cfg.priority, &inst.cfg.trackers, |id| {
            trackers.get(id).copied()
        });
        let link_down =
            !inst.cfg.dont_track_primary && self.links.get(&inst.cfg.interface) == Some(&false);
        // Only an instance that has not left start-up waits for its scripts' first results
        // (keepalived's `num_script_init`); a script added by a reload never holds a running one.
        let starting = inst.state == State::Init || inst.fault_from_init;
        let fault = if link_down {
            Some(FaultReason::LinkDown(inst.cfg.interface.clone()))
        } else if self.our_addr(idx).is_none() {
            Some(FaultReason::NoSourceAddress(inst.cfg.family))
        } else if let Some(t) = tracking.fault {
            Some(FaultReason::Tracker(t))
        } else {
            tracking
                .pending
                .filter(|_| starting)
                .map(FaultReason::AwaitingScript)
        };
        let inst = &mut self.instances[idx];
        let from = inst.effective_priority;
        let effective = if inst.owner_demoted {
            tracking.effective.min(254)
        } else {
            tracking.effective
        };
        // keepalived `vrrp_set_effective_priority`: a backup's running down timer keeps its
        // start but takes the new Skew_Time.
        let down_base = (inst.state == State::Backup)
            .then(|| inst.master_down_base())
            .flatten();
        inst.effective_priority = effective;
        if let Some(base) = down_base.filter(|_| from != effective) {
            inst.rearm_master_down(base);
        }
        inst.own_fault = fault;
        // keepalived-behaviour.md §2.1: a priority change never transitions by itself; it goes
        // into the next advert.
        if log_change && from != effective {
            self.actions.push_back(Action::PriorityChanged {
                instance: inst.cfg.name.clone(),
                from,
                to: effective,
                state: inst.state,
            });
        }
    }

    /// This instance's fault, or its sync group's.
    fn fault_of(&self, idx: usize) -> Option<FaultReason> {
        let inst = &self.instances[idx];
        inst.own_fault.clone().or_else(|| {
            let g = inst.group?;
            self.groups[g]
                .members
                .iter()
                .any(|&m| self.instances[m].own_fault.is_some())
                .then(|| FaultReason::SyncGroup(self.groups[g].name.clone()))
        })
    }

    /// The instance and the other members of its sync group (just the instance without one).
    fn members_of(&self, idx: usize) -> Vec<usize> {
        match self.instances[idx].group {
            Some(g) => self.groups[g].members.clone(),
            None => vec![idx],
        }
    }

    /// Whether every fault holding this instance (its own and its sync group's) is a weight-0
    /// script that has not reported yet.
    fn held_for_scripts(&self, idx: usize) -> bool {
        let members = self.members_of(idx);
        let mut faults = members
            .iter()
            .filter_map(|&m| self.instances[m].own_fault.as_ref())
            .peekable();
        faults.peek().is_some() && faults.all(|f| matches!(f, FaultReason::AwaitingScript(_)))
    }

    /// After any change of tracker, link or address facts: new priorities, FAULT in or out.
    fn reevaluate(&mut self, now: Timestamp) {
        if self.startup_at.is_some() {
            return;
        }
        for idx in 0..self.instances.len() {
            let running = self.instances[idx].state != State::Stop;
            self.refresh_tracking(idx, running && self.instances[idx].state != State::Init);
        }
        for g in 0..self.groups.len() {
            self.sync_group_faults(g);
        }
        for idx in 0..self.instances.len() {
            let state = self.instances[idx].state;
            if !matches!(state, State::Backup | State::Master | State::Fault) {
                continue;
            }
            match (self.fault_of(idx), state) {
                (Some(reason), State::Backup | State::Master) => self.enter_fault(now, idx, reason),
                (None, State::Fault) => self.leave_fault(now, idx),
                // keepalived: a held instance whose script's first result is a failure
                // notifies FAULT now (it logged FAULT (init) already).
                (Some(reason), State::Fault)
                    if self.instances[idx].init_hold && !self.held_for_scripts(idx) =>
                {
                    self.instances[idx].init_hold = false;
                    self.actions.push_back(Action::Log(Log::FaultCause {
                        instance: self.instances[idx].cfg.name.clone(),
                        reason,
                    }));
                    self.notify_instance(idx, NotifyState::Fault);
                }
                _ => {}
            }
        }
    }

    // ===== shutdown and reload =====

    /// keepalived-behaviour.md §2.6: masters resign with priority 0, then VIPs go; every instance
    /// notifies STOP.
    fn shutdown(&mut self, now: Timestamp) {
        if self.startup_at.is_none() {
            for idx in 0..self.instances.len() {
                self.stop_instance(now, idx, Reason::Shutdown, Some(NotifyState::Stop));
            }
        }
        self.startup_at = None;
        self.update_groups();
        self.stopped = true;
    }

    fn stop_instance(
        &mut self,
        now: Timestamp,
        idx: usize,
        reason: Reason,
        notify: Option<NotifyState>,
    ) {
        let state = self.instances[idx].state;
        if matches!(state, State::Init | State::Stop) {
            return;
        }
        if state == State::Master {
            self.resign(idx);
        }
        self.change_state(now, idx, State::Stop, reason);
        self.instances[idx].timers.stop_all();
        if state == State::Master {
            self.uninstall_vips(idx, None);
        }
        if let Some(notify) = notify {
            self.notify_instance(idx, notify);
        }
    }

    /// keepalived-behaviour.md §2.12 reload: instances matched by `vrrp_exist`'s key keep their
    /// state; removed ones stop; new ones start.
    fn reload(&mut self, now: Timestamp, config: EngineConfig) {
        let mut old: Vec<Option<Instance>> = std::mem::take(&mut self.instances)
            .into_iter()
            .map(Some)
            .collect();
        let mut kept = Vec::new();
        for cfg in config.instances {
            let matched = old.iter().position(|o| {
                o.as_ref()
                    .is_some_and(|o| o.cfg.reload_key() == cfg.reload_key())
            });
            match matched.and_then(|p| old[p].take()) {
                Some(mut inst) => {
                    let old_vips = inst.all_vips();
                    let down_base = (inst.state == State::Backup)
                        .then(|| inst.master_down_base())
                        .flatten();
                    inst.cfg = cfg;
                    inst.group = None;
                    // keepalived builds the instance afresh: the priority comes from the
                    // configuration again and a rogue-owner episode is forgotten.
                    inst.owner_demoted = false;
                    inst.rogue_counter = 0;
                    inst.rogue_until = None;
                    kept.push((self.instances.len(), old_vips, down_base));
                    self.instances.push(inst);
                }
                None => self.instances.push(Instance::new(cfg, now)),
            }
        }
        // Removed instances: stop them where they still are, then drop them.
        let removed: Vec<Instance> = old.into_iter().flatten().collect();
        let first_removed = self.instances.len();
        self.instances.extend(removed);
        for idx in first_removed..self.instances.len() {
            // keepalived `clear_diff_vrrp`: DELETED with notify_deleted, else FAULT the old way
            // (no state script), and nothing for an instance already in FAULT (it said so when
            // it got there).
            let notify = if self.instances[idx].cfg.notify_deleted {
                Some(NotifyState::Deleted)
            } else if self.instances[idx].state == State::Fault {
                None
            } else {
                Some(NotifyState::Removed)
            };
            self.stop_instance(now, idx, Reason::Removed, notify);
        }
        self.instances.truncate(first_removed);
        self.actions.push_back(Action::ReloadSwitch);
        self.index_routes();
        self.groups = sync_group::build(&config.sync_groups, &mut self.instances);
        if self.startup_at.is_some() {
            return;
        }
        for &(idx, ref old_vips, _) in &kept {
            let inst = &mut self.instances[idx];
            self.actions.push_back(Action::Log(Log::ReloadKept {
                instance: inst.cfg.name.clone(),
                state: inst.state,
            }));
            if inst.state != State::Master {
                continue;
            }
            inst.master_adver_int = inst.cfg.advert_int;
            let next = now + inst.advert_interval();
            inst.timers.set(Timer::Advert, next);
            let new_vips = inst.all_vips();
            let gone: Vec<Vip> = old_vips
                .iter()
                .filter(|v| !new_vips.contains(v))
                .cloned()
                .collect();
            let added: Vec<Vip> = new_vips
                .iter()
                .filter(|v| !old_vips.contains(v))
                .cloned()
                .collect();
            let repeat = inst.cfg.garp.master_repeat;
            if !gone.is_empty() {
                self.uninstall_vips(idx, Some(gone));
            }
            if !added.is_empty() {
                self.install_vips(idx, Some(added.clone()));
                self.send_garps(idx, Some(&added), repeat);
            }
        }
        self.reevaluate(now);
        // A kept backup times its master with the new configuration (keepalived starts it with
        // `master_adver_int = adver_int`; a v3 backup that has heard its master keeps what the
        // master advertises), from the advert that armed the timer.
        for &(idx, _, down_base) in &kept {
            let inst = &mut self.instances[idx];
            if inst.state != State::Backup {
                continue;
            }
            if inst.cfg.version == Version::V2 || inst.last_advert.is_none() {
                inst.master_adver_int = inst.cfg.advert_int;
            }
            if let Some(base) = down_base {
                inst.rearm_master_down(base);
            }
        }
        for idx in 0..self.instances.len() {
            if self.instances[idx].state == State::Init {
                self.refresh_tracking(idx, false);
                self.init_instance(now, idx);
            }
        }
        // keepalived `reload_master`: a kept master advertises at once (new priority, VIPs).
        for &(idx, _, _) in &kept {
            if self.instances[idx].state == State::Master {
                let prio = self.instances[idx].effective_priority;
                self.send_advert(idx, prio);
            }
        }
    }
}

impl Instance {
    /// Records the master an accepted advert came from; v3 backups adopt its interval
    /// (keepalived `update_master_adver_int`).
    fn learn_master(&mut self, rx: &AdvertRx, at: Timestamp) {
        if self.cfg.version == Version::V3 && rx.max_advert_int > 0 {
            self.master_adver_int = rx.max_advert_int;
        }
        self.master_addr = Some(rx.src);
        self.master_priority = Some(rx.priority);
        self.last_advert = Some(at);
    }
}

/// The slot of (family, VRID) in [`Engine::routes`].
fn route_slot(family: Family, vrid: u8) -> usize {
    let family = match family {
        Family::Ipv4 => 0,
        Family::Ipv6 => 1,
    };
    family * 256 + usize::from(vrid)
}
