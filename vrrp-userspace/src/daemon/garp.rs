//! Gratuitous ARP / unsolicited NA bursts leave from their own thread. A burst is `repeat` rounds
//! of one frame per VIP; hundreds of instances can have theirs due at the same moment (the second
//! burst `garp_master_delay` after a mass takeover), and on some links a send is slow (a veth
//! delivers to the peer inside the send call). On the engine's thread that would delay adverts;
//! here it delays only other GARPs. The first round of a takeover is still sent inline by the
//! caller, right after the advert, because that one is latency-critical.
//!
//! A burst is for a master only: once its instance leaves MASTER, what is left of its bursts,
//! queued or running, is dropped. Spaced by `vrrp_garp_interval`, a burst can last longer than
//! the mastership, and each late frame would draw the VIP's traffic back from the new master.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use tracing::warn;

use crate::socket::L2Socket;

/// A burst, or what is left of one, for `instance` on `l2`.
pub struct GarpJob {
    pub instance: String,
    pub l2: Arc<L2Socket>,
    pub burst: Burst,
}

/// The frames of a burst and their timing.
pub struct Burst {
    pub frames: Vec<Vec<u8>>,
    pub rounds: u32,
    /// `vrrp_garp_interval` / `vrrp_gna_interval`: pause after each frame, and before the first
    /// when the caller already sent a round.
    pub gap: Duration,
    pub wait_first: bool,
}

/// A job as the thread takes it: with the flag its instance's mastership clears.
struct Queued {
    job: GarpJob,
    master: Arc<AtomicBool>,
}

pub struct GarpSender {
    tx: mpsc::Sender<Queued>,
    /// Per instance with bursts handed out since it last left MASTER: set while it is master.
    masters: HashMap<String, Arc<AtomicBool>>,
}

impl GarpSender {
    pub fn spawn() -> std::io::Result<GarpSender> {
        let (tx, rx) = mpsc::channel::<Queued>();
        thread::Builder::new()
            .name("vrrpd-garp".into())
            .spawn(move || {
                // Ends when the sender is dropped with the node.
                for Queued { job, master } in rx {
                    job.burst.send(&master, |frame| {
                        if let Err(e) = job.l2.send_frame(frame) {
                            warn!("({}) gratuitous ARP/NA: {e}", job.instance);
                        }
                    });
                }
            })?;
        Ok(GarpSender {
            tx,
            masters: HashMap::new(),
        })
    }

    pub fn push(&mut self, job: GarpJob) {
        let master = Arc::clone(
            self.masters
                .entry(job.instance.clone())
                .or_insert_with(|| Arc::new(AtomicBool::new(true))),
        );
        // The thread only ends when this sender is dropped.
        let _ = self.tx.send(Queued { job, master });
    }

    /// `instance` has left MASTER: the rest of its bursts is not sent. Later bursts (it is
    /// master again) are not affected.
    pub fn stop(&mut self, instance: &str) {
        if let Some(master) = self.masters.remove(instance) {
            master.store(false, Ordering::Relaxed);
        }
    }
}

impl Burst {
    /// Sends every frame through `send`, spaced by `gap`, for as long as `master` is set; it is
    /// checked right before each frame, so a burst stopped during a pause sends nothing more.
    fn send(&self, master: &AtomicBool, mut send: impl FnMut(&[u8])) {
        let mut first = true;
        for _ in 0..self.rounds {
            for frame in &self.frames {
                if !self.gap.is_zero() && (!first || self.wait_first) {
                    thread::sleep(self.gap);
                }
                first = false;
                if !master.load(Ordering::Relaxed) {
                    return;
                }
                send(frame);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn burst(gap: Duration) -> Burst {
        Burst {
            frames: vec![vec![1], vec![2], vec![3]],
            rounds: 4,
            gap,
            wait_first: false,
        }
    }

    #[test]
    fn a_burst_is_sent_whole_while_its_instance_is_master() {
        let master = AtomicBool::new(true);
        let mut sent = Vec::new();
        burst(Duration::ZERO).send(&master, |f| sent.push(f[0]));
        assert_eq!(sent, [1, 2, 3].repeat(4));
    }

    #[test]
    fn a_queued_burst_of_an_instance_that_left_master_sends_nothing() {
        let master = AtomicBool::new(false);
        let mut sent = 0;
        burst(Duration::ZERO).send(&master, |_| sent += 1);
        assert_eq!(sent, 0);
    }

    #[test]
    fn a_running_burst_stops_when_its_instance_leaves_master() {
        // The step-down arrives during the pause after the fifth frame (the node thread stores
        // the flag; here the send of the fifth frame does, which is the same for the burst).
        let master = AtomicBool::new(true);
        let mut sent = Vec::new();
        burst(Duration::from_millis(1)).send(&master, |f| {
            sent.push(f[0]);
            if sent.len() == 5 {
                master.store(false, Ordering::Relaxed);
            }
        });
        assert_eq!(sent, [1, 2, 3, 1, 2]);
    }

    /// The flags `stop` clears are the ones its jobs carry, and a later job gets a fresh one.
    #[test]
    fn stop_ends_the_instance_s_bursts_only() {
        let (tx, rx) = mpsc::channel();
        let mut sender = GarpSender {
            tx,
            masters: HashMap::new(),
        };
        let l2 = match L2Socket::new("lo", 1) {
            Ok(l2) => Arc::new(l2),
            // Not root (CI runs as root): no packet socket to build a job with.
            Err(_) => return,
        };
        let job = |instance: &str| GarpJob {
            instance: instance.to_string(),
            l2: Arc::clone(&l2),
            burst: burst(Duration::ZERO),
        };
        sender.push(job("VI_1"));
        sender.push(job("VI_2"));
        sender.stop("VI_1");
        sender.push(job("VI_1"));
        let queued: Vec<(String, bool)> = rx
            .try_iter()
            .map(|q| (q.job.instance, q.master.load(Ordering::Relaxed)))
            .collect();
        assert_eq!(
            queued,
            [
                ("VI_1".to_string(), false),
                ("VI_2".to_string(), true),
                ("VI_1".to_string(), true)
            ]
        );
    }
}
