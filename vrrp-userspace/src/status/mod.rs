//! Operating vrrpd: what a running node tells the outside. One [`Status`] snapshot, taken by the
//! task that owns the engine on request, feeds every output:
//! - the status socket and `vrrpd status` ([`server`], [`table`]);
//! - keepalived's SIGUSR1 `.data` and SIGUSR2 `.stats` files ([`keepalived`]);
//! - Prometheus metrics on `--metrics-listen` ([`metrics`]).
//!
//! The node owns a [`NodeOps`]: it answers [`Request`]s in its event loop and records each
//! transition in a [`Recorder`]. Everything else runs in tasks started by [`Ops::start`] that hold
//! a [`StatusHandle`], so a slow client never delays the protocol.

pub mod client;
pub mod keepalived;
pub mod metrics;
pub mod ops;
pub mod recorder;
pub mod server;
pub mod snapshot;
pub mod table;

use std::path::PathBuf;

use tokio::sync::{mpsc, oneshot};

pub use ops::{Ops, OpsConfig, signum};
pub use recorder::Recorder;
pub use server::DEFAULT_SOCKET;
pub use snapshot::{InterfaceView, SCHEMA_VERSION, Status, VipOptions};

#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("status socket {path}: {source}")]
    Socket {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("status socket {0} is in use by a running vrrpd")]
    InUse(PathBuf),
    #[error("vrrpd refused the request: {0}")]
    Refused(String),
    #[error("unreadable reply from vrrpd: {0}")]
    Reply(String),
    #[error("vrrpd speaks status schema {0}, this client {SCHEMA_VERSION}")]
    Schema(u32),
    #[error("metrics listener {addr}: {source}")]
    Metrics {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    DumpFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("signal handler: {0}")]
    Signal(std::io::Error),
}

/// A request for a snapshot, answered by the node.
pub struct Request(oneshot::Sender<Status>);

impl Request {
    pub fn answer(self, status: Status) {
        // The asker may have given up; nothing to do then.
        let _ = self.0.send(status);
    }
}

/// The asking side, cloned into every server task.
#[derive(Clone)]
pub struct StatusHandle(mpsc::Sender<Request>);

impl StatusHandle {
    /// A fresh snapshot; `None` once the node has stopped.
    pub async fn get(&self) -> Option<Status> {
        let (tx, rx) = oneshot::channel();
        self.0.send(Request(tx)).await.ok()?;
        rx.await.ok()
    }
}

/// A handle and the receiver the node answers on.
pub fn channel() -> (StatusHandle, mpsc::Receiver<Request>) {
    let (tx, rx) = mpsc::channel(16);
    (StatusHandle(tx), rx)
}

/// The node's side: the requests it answers and the history it records.
#[derive(Default)]
pub struct NodeOps {
    requests: Option<mpsc::Receiver<Request>>,
    pub recorder: Recorder,
}

impl NodeOps {
    pub fn serve(&mut self, requests: mpsc::Receiver<Request>) {
        self.requests = Some(requests);
    }

    /// The next request; pending forever when nobody can ask.
    pub async fn next(&mut self) -> Request {
        if let Some(rx) = &mut self.requests {
            if let Some(r) = rx.recv().await {
                return r;
            }
            self.requests = None;
        }
        std::future::pending().await
    }
}
