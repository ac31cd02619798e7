//! Gratuitous ARP / unsolicited NA bursts leave from their own thread. A burst is `repeat` rounds
//! of one frame per VIP; hundreds of instances can have theirs due at the same moment (the second
//! burst `garp_master_delay` after a mass takeover), and on some links a send is slow (a veth
//! delivers to the peer inside the send call). On the engine's thread that would delay adverts;
//! here it delays only other GARPs. The first round of a takeover is still sent inline by the
//! caller, right after the advert, because that one is latency-critical.

use std::sync::Arc;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use tracing::warn;

use crate::socket::L2Socket;

/// A burst, or what is left of one.
pub struct GarpJob {
    pub instance: String,
    pub l2: Arc<L2Socket>,
    pub frames: Vec<Vec<u8>>,
    pub rounds: u32,
    /// `vrrp_garp_interval` / `vrrp_gna_interval`: pause after each frame, and before the first
    /// when the caller already sent a round.
    pub gap: Duration,
    pub wait_first: bool,
}

pub struct GarpSender {
    tx: mpsc::Sender<GarpJob>,
}

impl GarpSender {
    pub fn spawn() -> std::io::Result<GarpSender> {
        let (tx, rx) = mpsc::channel::<GarpJob>();
        thread::Builder::new()
            .name("vrrpd-garp".into())
            .spawn(move || {
                // Ends when the sender is dropped with the node.
                for job in rx {
                    run(&job);
                }
            })?;
        Ok(GarpSender { tx })
    }

    pub fn push(&self, job: GarpJob) {
        // The thread only ends when this sender is dropped.
        let _ = self.tx.send(job);
    }
}

fn run(job: &GarpJob) {
    let mut first = true;
    for _ in 0..job.rounds {
        for frame in &job.frames {
            if !job.gap.is_zero() && (!first || job.wait_first) {
                thread::sleep(job.gap);
            }
            first = false;
            if let Err(e) = job.l2.send_frame(frame) {
                warn!("({}) gratuitous ARP/NA: {e}", job.instance);
            }
        }
    }
}
