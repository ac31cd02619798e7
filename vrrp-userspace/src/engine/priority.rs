//! Effective priority and weight-0 faults from tracker states (keepalived-behaviour.md §2.1,
//! keepalived track.c 584-905). Pure arithmetic, no state.

use serde::{Deserialize, Serialize};

use super::config::{Tracked, TrackerId};

/// A tracker's last reported state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrackerState {
    /// Script OK, interface up, process quorum met, BFD up.
    Up,
    Down,
    /// A `track_file` value.
    Value(i64),
}

/// keepalived: a tracker's adjustment is clamped to ±253 so one tracker alone can never make a
/// non-owner reach 255 or 0.
const MAX_ADJUST: i64 = 253;
/// A track_file result at or below this means FAULT.
const FILE_FAULT: i64 = -254;

/// The result of applying every tracker of an instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tracking {
    /// `clamp(base + Σ adjustments, 1, 254)`, or 255 for an owner.
    pub effective: u8,
    /// The first tracker that puts the instance in FAULT.
    pub fault: Option<TrackerId>,
    /// The first weight-0 `track_script` that has not reported yet. keepalived holds an instance
    /// that is starting in FAULT (init) until every such script has a first result
    /// (`num_script_init`), so that it never becomes master before its health is known.
    pub pending: Option<String>,
}

/// Applies `trackers` to `base`. `state_of` gives the last reported state; a tracker never
/// reported yet (keepalived's script "init" state) neither adjusts nor faults, but a weight-0
/// script among them is `pending`.
pub fn evaluate<'a>(
    base: u8,
    trackers: &'a [Tracked],
    state_of: impl Fn(&'a TrackerId) -> Option<TrackerState>,
) -> Tracking {
    let mut total = i64::from(base);
    let mut fault = None;
    let mut pending = None;
    for t in trackers {
        let Some(state) = state_of(&t.tracker) else {
            if let (0, TrackerId::Script(name), None) = (t.weight, &t.tracker, &pending) {
                pending = Some(name.clone());
            }
            continue;
        };
        match adjustment(t, state) {
            Adjust::By(n) => total += n,
            Adjust::Fault => {
                if fault.is_none() {
                    fault = Some(t.tracker.clone());
                }
            }
        }
    }
    // keepalived: base priority 255 is never adjusted, and a non-owner never reaches 255.
    let effective = if base == 255 {
        255
    } else {
        total.clamp(1, 254) as u8
    };
    Tracking {
        effective,
        fault,
        pending,
    }
}

enum Adjust {
    By(i64),
    Fault,
}

/// What one tracker in `state` does to the priority: `Some(n)` adds `n` (before the final clamp),
/// `None` puts the instance in FAULT. Status reports use it to say which trackers moved a priority.
pub fn contribution(t: &Tracked, state: TrackerState) -> Option<i64> {
    match adjustment(t, state) {
        Adjust::By(n) => Some(n),
        Adjust::Fault => None,
    }
}

fn adjustment(t: &Tracked, state: TrackerState) -> Adjust {
    let weight = i64::from(t.weight);
    let multiplier = if t.reverse { -1 } else { 1 };
    match state {
        TrackerState::Value(value) => {
            // keepalived (track.c `!!last_status == (multiplier == 1)`): track_file with weight 0
            // faults on any non-zero value, or with `reverse` on zero.
            if weight == 0 {
                return if (value != 0) != t.reverse {
                    Adjust::Fault
                } else {
                    Adjust::By(0)
                };
            }
            let result = value.saturating_mul(weight).saturating_mul(multiplier);
            if result <= FILE_FAULT {
                Adjust::Fault
            } else {
                Adjust::By(result.clamp(-MAX_ADJUST, MAX_ADJUST))
            }
        }
        TrackerState::Up | TrackerState::Down => {
            let up = state == TrackerState::Up;
            if weight == 0 {
                // `weight 0 reverse` is FAULT while the tracker is OK.
                return if up == t.reverse {
                    Adjust::Fault
                } else {
                    Adjust::By(0)
                };
            }
            // keepalived: a positive weight counts while up, a negative one while down;
            // `reverse` flips the sign of what is applied.
            let applies = if weight > 0 { up } else { !up };
            Adjust::By(if applies { weight * multiplier } else { 0 })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracked(weight: i32, reverse: bool) -> Tracked {
        Tracked {
            tracker: TrackerId::Script("chk".into()),
            weight,
            reverse,
        }
    }

    fn eval(base: u8, t: Tracked, s: TrackerState) -> Tracking {
        evaluate(base, std::slice::from_ref(&t), |_| Some(s))
    }

    #[test]
    fn negative_weight_subtracts_while_down_only() {
        assert_eq!(
            eval(100, tracked(-20, false), TrackerState::Down).effective,
            80
        );
        assert_eq!(
            eval(100, tracked(-20, false), TrackerState::Up).effective,
            100
        );
    }

    #[test]
    fn positive_weight_adds_while_up_only() {
        assert_eq!(
            eval(100, tracked(20, false), TrackerState::Up).effective,
            120
        );
        assert_eq!(
            eval(100, tracked(20, false), TrackerState::Down).effective,
            100
        );
    }

    #[test]
    fn reverse_flips_the_sign() {
        assert_eq!(eval(100, tracked(20, true), TrackerState::Up).effective, 80);
        assert_eq!(
            eval(100, tracked(-20, true), TrackerState::Down).effective,
            120
        );
    }

    #[test]
    fn result_is_clamped_to_1_254_and_owner_is_never_adjusted() {
        assert_eq!(
            eval(250, tracked(50, false), TrackerState::Up).effective,
            254
        );
        assert_eq!(
            eval(10, tracked(-50, false), TrackerState::Down).effective,
            1
        );
        assert_eq!(
            eval(255, tracked(-50, false), TrackerState::Down).effective,
            255
        );
    }

    #[test]
    fn weight_zero_faults_when_down_or_when_up_with_reverse() {
        assert!(
            eval(100, tracked(0, false), TrackerState::Down)
                .fault
                .is_some()
        );
        assert!(
            eval(100, tracked(0, false), TrackerState::Up)
                .fault
                .is_none()
        );
        assert!(
            eval(100, tracked(0, true), TrackerState::Up)
                .fault
                .is_some()
        );
        assert!(
            eval(100, tracked(0, true), TrackerState::Down)
                .fault
                .is_none()
        );
    }

    #[test]
    fn track_file_value_times_weight_clamped_and_faults() {
        assert_eq!(
            eval(100, tracked(2, false), TrackerState::Value(10)).effective,
            120
        );
        assert_eq!(
            eval(100, tracked(-3, true), TrackerState::Value(5)).effective,
            115
        );
        // clamped to +253 per tracker, then to 254 overall
        assert_eq!(
            eval(1, tracked(100, false), TrackerState::Value(100)).effective,
            254
        );
        assert_eq!(
            eval(200, tracked(1, false), TrackerState::Value(-253)).effective,
            1
        );
        assert!(
            eval(200, tracked(1, false), TrackerState::Value(-253))
                .fault
                .is_none()
        );
        assert!(
            eval(200, tracked(1, false), TrackerState::Value(-254))
                .fault
                .is_some()
        );
        assert!(
            eval(100, tracked(0, false), TrackerState::Value(3))
                .fault
                .is_some()
        );
        assert!(
            eval(100, tracked(0, false), TrackerState::Value(0))
                .fault
                .is_none()
        );
    }

    #[test]
    fn track_file_weight_zero_reverse_faults_on_zero() {
        // keepalived track.c: `!!last_status == (weight_multiplier == 1)` is FAULT.
        assert!(
            eval(100, tracked(0, true), TrackerState::Value(0))
                .fault
                .is_some()
        );
        assert!(
            eval(100, tracked(0, true), TrackerState::Value(5))
                .fault
                .is_none()
        );
    }

    #[test]
    fn only_unreported_weight_zero_scripts_are_pending() {
        let file = Tracked {
            tracker: TrackerId::File("f".into()),
            weight: 0,
            reverse: false,
        };
        let trackers = [tracked(-20, false), file, tracked(0, false)];
        let none = evaluate(100, &trackers, |_| None);
        assert_eq!(none.pending.as_deref(), Some("chk"));
        assert_eq!((none.effective, none.fault), (100, None));
        let reported = evaluate(100, &trackers[..2], |_| None);
        assert_eq!(
            reported.pending, None,
            "weighted scripts and files never hold"
        );
        let up = evaluate(100, &trackers, |_| Some(TrackerState::Up));
        assert_eq!(up.pending, None);
    }

    #[test]
    fn unreported_tracker_is_neutral_but_a_weight_zero_script_is_pending() {
        let t = tracked(0, false);
        let r = evaluate(100, std::slice::from_ref(&t), |_| None);
        assert_eq!(
            r,
            Tracking {
                effective: 100,
                fault: None,
                pending: Some("chk".into()),
            }
        );
    }
}
