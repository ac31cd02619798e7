//! Virtual addresses are added and removed by their own task, in the order the engine asked, so
//! the engine loop never waits on a netlink round trip (an advert or GARP must not queue behind
//! one). Failures are logged with the address and interface and retried a few times when the
//! kernel might accept later (e.g. the interface is momentarily down).
//!
//! The notifies (scripts and FIFO lines) are queued here too, in the same order: keepalived adds
//! the VIPs before it sends the MASTER notifies and removes them before the BACKUP and FAULT
//! ones, so a `notify_master` that binds a VIP or a FIFO reader that checks for it finds it.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, error, warn};

use crate::netlink::{Netlink, VipChange, VipSpec};
use crate::track::ExitOutcome;

pub enum VipOp {
    Add(VipSpec),
    Remove(VipSpec),
    /// Runs once every change queued before it is done, or has failed and been logged. The
    /// scripts it returns are handed back by [`VipTask::finish`], for the daemon to wait for.
    Notify(Notify),
}

/// Sends notifies (see [`VipOp::Notify`]).
pub type Notify = Box<dyn FnOnce() -> Vec<JoinHandle<ExitOutcome>> + Send>;

pub struct VipTask {
    own_removals: Arc<Mutex<OwnRemovals>>,
    tx: Option<mpsc::UnboundedSender<VipOp>>,
    task: Option<JoinHandle<Vec<JoinHandle<ExitOutcome>>>>,
}

/// VIP removals this daemon made whose deletion the kernel has not reported yet: that
/// RTM_DELADDR is ours, not a deletion from outside, and must not make a master that has taken
/// the address back since (a Skew_Time can be 80 µs) step down again. Recorded just before the
/// request (the report cannot come earlier), dropped when the address was not there (no report
/// comes); an entry whose report is lost expires.
#[derive(Default)]
pub struct OwnRemovals {
    pending: VecDeque<(u32, IpAddr, u8, Instant)>,
}

impl OwnRemovals {
    /// Far longer than a netlink report takes, far shorter than an operator's next command.
    const PATIENCE: Duration = Duration::from_secs(5);

    fn record(&mut self, spec: &VipSpec) {
        self.record_at(spec, Instant::now());
    }

    /// The removal changed nothing: no report will come for it.
    fn forget(&mut self, spec: &VipSpec) {
        self.take(spec.ifindex, spec.addr, spec.prefix_len);
    }

    fn record_at(&mut self, spec: &VipSpec, at: Instant) {
        self.expire(at);
        self.pending
            .push_back((spec.ifindex, spec.addr, spec.prefix_len, at));
    }

    /// Whether the reported deletion is one we asked for (then it is forgotten).
    pub fn take(&mut self, ifindex: u32, addr: IpAddr, prefix_len: u8) -> bool {
        self.take_at(ifindex, addr, prefix_len, Instant::now())
    }

    fn take_at(&mut self, ifindex: u32, addr: IpAddr, prefix_len: u8, at: Instant) -> bool {
        self.expire(at);
        let found = self
            .pending
            .iter()
            .position(|&(i, a, p, _)| (i, a, p) == (ifindex, addr, prefix_len));
        found.map(|k| self.pending.remove(k)).is_some()
    }

    fn expire(&mut self, now: Instant) {
        while self
            .pending
            .front()
            .is_some_and(|&(.., at)| now.duration_since(at) > Self::PATIENCE)
        {
            self.pending.pop_front();
        }
    }
}

const RETRIES: u32 = 3;
const RETRY_GAP: Duration = Duration::from_millis(100);

impl VipTask {
    pub fn spawn(netlink: Netlink) -> VipTask {
        let (tx, mut rx) = mpsc::unbounded_channel::<VipOp>();
        let own_removals = Arc::new(Mutex::new(OwnRemovals::default()));
        let own = Arc::clone(&own_removals);
        let task = tokio::spawn(async move {
            let mut waited = Vec::new();
            while let Some(op) = rx.recv().await {
                match op {
                    VipOp::Notify(notify) => waited.extend(notify()),
                    VipOp::Add(spec) => {
                        apply(&netlink, Change::Add, &spec).await;
                    }
                    VipOp::Remove(spec) => {
                        lock(&own).record(&spec);
                        if apply(&netlink, Change::Remove, &spec).await != Some(VipChange::Removed)
                        {
                            lock(&own).forget(&spec);
                        }
                    }
                }
            }
            waited
        });
        VipTask {
            own_removals,
            tx: Some(tx),
            task: Some(task),
        }
    }

    /// Whether the kernel's report of this deletion is of one we made (then it is forgotten).
    pub fn is_own_removal(&self, ifindex: u32, addr: IpAddr, prefix_len: u8) -> bool {
        lock(&self.own_removals).take(ifindex, addr, prefix_len)
    }

    pub fn push(&self, op: VipOp) {
        if let Some(tx) = &self.tx {
            // The task only ends when we drop the sender.
            let _ = tx.send(op);
        }
    }

    /// Waits (at most `limit`) for every queued change and notify; returns the scripts the
    /// notifies asked to be waited for.
    pub async fn finish(&mut self, limit: Duration) -> Vec<JoinHandle<ExitOutcome>> {
        self.tx = None;
        let Some(task) = self.task.take() else {
            return Vec::new();
        };
        match tokio::time::timeout(limit, task).await {
            Ok(waited) => waited.unwrap_or_default(),
            Err(_) => {
                warn!("virtual address changes still pending after {limit:?}; exiting anyway");
                Vec::new()
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Change {
    Add,
    Remove,
}

/// The bookkeeping stays usable if a holder panicked: it is a list of addresses.
fn lock(own: &Mutex<OwnRemovals>) -> std::sync::MutexGuard<'_, OwnRemovals> {
    own.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Applies one change (retrying a few times); `None` if it failed.
async fn apply(netlink: &Netlink, change: Change, spec: &VipSpec) -> Option<VipChange> {
    let verb = match change {
        Change::Add => "adding",
        Change::Remove => "removing",
    };
    for attempt in 1..=RETRIES {
        let result = match change {
            Change::Add => netlink.add_vip(spec).await,
            Change::Remove => netlink.del_vip(spec).await,
        };
        match result {
            Ok(change) => {
                if matches!(change, VipChange::Added | VipChange::Removed) {
                    debug!(
                        "{verb} {}/{} (ifindex {}): done",
                        spec.addr, spec.prefix_len, spec.ifindex
                    );
                }
                return Some(change);
            }
            Err(e) if attempt < RETRIES => {
                warn!(
                    "{verb} {}/{} on ifindex {}: {e}; retrying",
                    spec.addr, spec.prefix_len, spec.ifindex
                );
                tokio::time::sleep(RETRY_GAP).await;
            }
            Err(e) => error!(
                "{verb} {}/{} on ifindex {}: {e}",
                spec.addr, spec.prefix_len, spec.ifindex
            ),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_removals_are_recognised_once_and_expire() {
        let mut own = OwnRemovals::default();
        let t0 = Instant::now();
        let vip = VipSpec::new(3, "10.0.0.100".parse().unwrap(), 32);
        own.record_at(&vip, t0);
        // Another prefix or interface is someone else's deletion.
        assert!(!own.take_at(3, vip.addr, 24, t0));
        assert!(!own.take_at(4, vip.addr, 32, t0));
        assert!(own.take_at(3, vip.addr, 32, t0));
        // Reported once: a second deletion of the same address is from outside.
        assert!(!own.take_at(3, vip.addr, 32, t0));
        // One that is never reported is forgotten.
        own.record_at(&vip, t0);
        assert!(!own.take_at(3, vip.addr, 32, t0 + Duration::from_secs(6)));
    }
}
