//! Virtual addresses are added and removed by their own task, in the order the engine asked, so
//! the engine loop never waits on a netlink round trip (an advert or GARP must not queue behind
//! one). Failures are logged with the address and interface and retried a few times when the
//! kernel might accept later (e.g. the interface is momentarily down).

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, error, warn};

use crate::netlink::{Netlink, VipChange, VipSpec};

pub enum VipOp {
    Add(VipSpec),
    Remove(VipSpec),
}

pub struct VipTask {
    tx: Option<mpsc::UnboundedSender<VipOp>>,
    task: Option<JoinHandle<()>>,
}

const RETRIES: u32 = 3;
const RETRY_GAP: Duration = Duration::from_millis(100);

impl VipTask {
    pub fn spawn(netlink: Netlink) -> VipTask {
        let (tx, mut rx) = mpsc::unbounded_channel::<VipOp>();
        let task = tokio::spawn(async move {
            while let Some(op) = rx.recv().await {
                apply(&netlink, &op).await;
            }
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

    /// Waits (at most `limit`) for every queued change to be applied.
    pub async fn finish(&mut self, limit: Duration) {
        self.tx = None;
        if let Some(task) = self.task.take()
            && tokio::time::timeout(limit, task).await.is_err()
        {
            warn!("virtual address changes still pending after {limit:?}; exiting anyway");
        }
    }
}

async fn apply(netlink: &Netlink, op: &VipOp) {
    let (verb, spec) = match op {
        VipOp::Add(s) => ("adding", s),
        VipOp::Remove(s) => ("removing", s),
    };
    for attempt in 1..=RETRIES {
        let result = match op {
            VipOp::Add(s) => netlink.add_vip(s).await,
            VipOp::Remove(s) => netlink.del_vip(s).await,
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
