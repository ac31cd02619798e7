//! What the status snapshot needs but the engine does not keep: transitions counted by
//! (from, to) and the detection latency of every takeover the protocol timed: Master_Down (no
//! advert heard) and priority 0 (the master resigned; deadline = its advert's receive time +
//! Skew_Time). The node feeds it each `Action::Transition` it executes.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::engine::{Action, Reason, State};

/// Upper bounds (seconds) of the detection latency buckets: from timer precision (100 µs) to a
/// stalled process (1 s).
pub const LATENCY_BOUNDS: [f64; 12] = [
    0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0,
];

/// A fixed-bucket histogram (Prometheus semantics: `le` upper bounds, plus +Inf).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatencyHistogram {
    /// Upper bounds in seconds, ascending.
    pub bounds_s: Vec<f64>,
    /// Observations per bucket, not cumulative; one more entry than `bounds_s` (the +Inf bucket).
    pub counts: Vec<u64>,
    pub sum_s: f64,
    pub count: u64,
}

impl Default for LatencyHistogram {
    fn default() -> LatencyHistogram {
        LatencyHistogram {
            bounds_s: LATENCY_BOUNDS.to_vec(),
            counts: vec![0; LATENCY_BOUNDS.len() + 1],
            sum_s: 0.0,
            count: 0,
        }
    }
}

impl LatencyHistogram {
    pub fn observe(&mut self, seconds: f64) {
        let slot = self
            .bounds_s
            .iter()
            .position(|&b| seconds <= b)
            .unwrap_or(self.bounds_s.len());
        self.counts[slot] += 1;
        self.sum_s += seconds;
        self.count += 1;
    }

    /// `(upper bound, observations in that bucket alone)` pairs ending with the +Inf bucket (the
    /// form prometheus-client's encoder accumulates itself).
    pub fn buckets(&self) -> Vec<(f64, u64)> {
        self.bounds_s
            .iter()
            .copied()
            .chain(std::iter::once(f64::INFINITY))
            .zip(self.counts.iter().copied())
            .collect()
    }
}

/// Per-instance history since the daemon started.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InstanceRecord {
    pub transitions: BTreeMap<(StateName, StateName), u64>,
    pub detection_latency: LatencyHistogram,
}

/// A state as keepalived names it (`MASTER`, `BACKUP`, `FAULT`, `INIT`, `STOP`).
pub type StateName = &'static str;

pub fn state_name(state: State) -> StateName {
    match state {
        State::Init => "INIT",
        State::Backup => "BACKUP",
        State::Master => "MASTER",
        State::Fault => "FAULT",
        State::Stop => "STOP",
    }
}

/// keepalived's state numbers (vrrp.h): INIT 0, BACKUP 1, MASTER 2, FAULT 3, STOP 98.
pub fn state_number(state: State) -> u8 {
    match state {
        State::Init => 0,
        State::Backup => 1,
        State::Master => 2,
        State::Fault => 3,
        State::Stop => 98,
    }
}

#[derive(Debug, Default)]
pub struct Recorder {
    instances: HashMap<String, InstanceRecord>,
}

impl Recorder {
    /// Counts a transition; a takeover because the master went silent or resigned also records
    /// how late after its protocol deadline it ran.
    pub fn record(&mut self, action: &Action) {
        let Action::Transition {
            instance,
            from,
            to,
            reason,
        } = action
        else {
            return;
        };
        let record = self.instances.entry(instance.clone()).or_default();
        *record
            .transitions
            .entry((state_name(*from), state_name(*to)))
            .or_default() += 1;
        if let Reason::MasterDown { late, .. } | Reason::PriorityZero { late, .. } = reason {
            record.detection_latency.observe(late.as_secs_f64());
        }
    }

    pub fn instance(&self, name: &str) -> Option<&InstanceRecord> {
        self.instances.get(name)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn transition(from: State, to: State, reason: Reason) -> Action {
        Action::Transition {
            instance: "VI_1".into(),
            from,
            to,
            reason,
        }
    }

    #[test]
    fn counts_by_from_to_and_observes_timed_takeovers_only() {
        let mut r = Recorder::default();
        r.record(&transition(State::Init, State::Backup, Reason::Init));
        r.record(&transition(
            State::Backup,
            State::Master,
            Reason::MasterDown {
                master_down_interval: Duration::from_millis(3609),
                since_advert: None,
                late: Duration::from_micros(700),
            },
        ));
        r.record(&transition(
            State::Master,
            State::Backup,
            Reason::HigherPriority {
                from: "10.0.0.2".parse().unwrap(),
                priority: 200,
                ours: 100,
            },
        ));
        r.record(&transition(
            State::Backup,
            State::Master,
            Reason::PriorityZero {
                from: "10.0.0.2".parse().unwrap(),
                late: Duration::from_micros(3),
            },
        ));
        let rec = r.instance("VI_1").unwrap();
        assert_eq!(rec.transitions[&("INIT", "BACKUP")], 1);
        assert_eq!(rec.transitions[&("BACKUP", "MASTER")], 2);
        assert_eq!(rec.transitions[&("MASTER", "BACKUP")], 1);
        let h = &rec.detection_latency;
        // The Master_Down and the priority-0 takeover; not the preemption.
        assert_eq!(h.count, 2);
        assert!((h.sum_s - 0.000703).abs() < 1e-9);
        // 700 µs lands in the ≤ 1 ms bucket (index 2), 3 µs in the first.
        assert_eq!(h.counts[2], 1);
        let b = h.buckets();
        assert_eq!(b[0], (0.0001, 1));
        assert_eq!(b[1], (0.0005, 0));
        assert_eq!(b[2], (0.001, 1));
        assert_eq!(b[3], (0.002, 0));
        assert_eq!(*b.last().unwrap(), (f64::INFINITY, 0));
    }

    #[test]
    fn overflow_goes_to_the_infinity_bucket() {
        let mut h = LatencyHistogram::default();
        h.observe(3.0);
        assert_eq!(*h.counts.last().unwrap(), 1);
        assert_eq!(h.buckets()[LATENCY_BOUNDS.len() - 1].1, 0);
    }
}
