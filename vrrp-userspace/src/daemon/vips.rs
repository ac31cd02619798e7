//! Virtual addresses are added and removed by their own task, in the order the engine asked, so
//! the engine loop never waits on a netlink round trip (an advert or GARP must not queue behind
//! one). Failures are logged with the address and interface and retried a few times when the
//! kernel might accept later (e.g. the interface is momentarily down).
//!
//! The notifies (scripts and FIFO lines) are queued here too, in the same order: keepalived adds
//! the VIPs before it sends the MASTER notifies and removes them before the BACKUP and FAULT
//! ones, so a `notify_master` that binds a VIP or a FIFO reader that checks for it finds it.

use std::time::Duration;

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
    tx: Option<mpsc::UnboundedSender<VipOp>>,
    task: Option<JoinHandle<Vec<JoinHandle<ExitOutcome>>>>,
}

const RETRIES: u32 = 3;
const RETRY_GAP: Duration = Duration::from_millis(100);

impl VipTask {
    pub fn spawn(netlink: Netlink) -> VipTask {
        let (tx, mut rx) = mpsc::unbounded_channel::<VipOp>();
        let task = tokio::spawn(async move {
            let mut waited = Vec::new();
            while let Some(op) = rx.recv().await {
                match op {
                    VipOp::Notify(notify) => waited.extend(notify()),
                    VipOp::Add(spec) => apply(&netlink, Change::Add, &spec).await,
                    VipOp::Remove(spec) => apply(&netlink, Change::Remove, &spec).await,
                }
            }
            waited
        });
        VipTask {
            tx: Some(tx),
            task: Some(task),
        }
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

async fn apply(netlink: &Netlink, change: Change, spec: &VipSpec) {
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
                return;
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
}
