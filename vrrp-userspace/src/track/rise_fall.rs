//! keepalived's rise/fall counter for `vrrp_script` results (keepalived-behaviour.md §2.1):
//! a counter `r` in `[0, rise + fall − 1]`; the script is OK when `r ≥ rise`. A success below
//! `rise − 1` counts up; the success that reaches `rise` jumps to the top (fully OK). A failure
//! above `rise` counts down; the failure at or below `rise` drops to 0 (fully failed). So a
//! healthy script needs `fall` failures in a row to fail, and a failed one `rise` successes in a
//! row to recover.

use super::TrackState;

/// The rise/fall state of one script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RiseFall {
    rise: u32,
    fall: u32,
    r: u32,
    /// The state last reported; `None` until the first result (keepalived's INIT state).
    reported: Option<TrackState>,
}

impl RiseFall {
    /// `rise` and `fall` below 1 are treated as 1 (keepalived's minimum). Without `init_fail` the
    /// counter starts one success short of OK, so the first result decides, and that first result
    /// is always reported. With `init_fail` the script starts Down (already known, not reported)
    /// and needs `rise` successes.
    pub fn new(rise: u32, fall: u32, init_fail: bool) -> RiseFall {
        let rise = rise.max(1);
        let fall = fall.max(1);
        if init_fail {
            RiseFall {
                rise,
                fall,
                r: 0,
                reported: Some(TrackState::Down),
            }
        } else {
            RiseFall {
                rise,
                fall,
                r: rise - 1,
                reported: None,
            }
        }
    }

    fn top(&self) -> u32 {
        self.rise + self.fall - 1
    }

    /// The current state, `None` before the first result (unless `init_fail`).
    pub fn state(&self) -> Option<TrackState> {
        self.reported
    }

    /// The raw counter, for state dumps.
    pub fn counter(&self) -> u32 {
        self.r
    }

    /// Records one run's result and returns the new state if it changed (or was first decided).
    pub fn record(&mut self, success: bool) -> Option<TrackState> {
        if success {
            if self.r + 1 < self.rise {
                self.r += 1;
            } else {
                self.r = self.top();
            }
        } else if self.r > self.rise {
            self.r -= 1;
        } else {
            self.r = 0;
        }
        let now = if self.r >= self.rise {
            TrackState::Up
        } else {
            TrackState::Down
        };
        // Between the thresholds the state holds (a failed script counting up is still Down, a
        // healthy one counting down still Up), so `now` differs from the report only on a change.
        if self.reported == Some(now) {
            return None;
        }
        self.reported = Some(now);
        Some(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TrackState::{Down, Up};

    fn run(rf: &mut RiseFall, results: &[bool]) -> Vec<Option<TrackState>> {
        results.iter().map(|&s| rf.record(s)).collect()
    }

    #[test]
    fn first_result_decides_without_init_fail() {
        let mut ok = RiseFall::new(3, 2, false);
        assert_eq!(ok.state(), None);
        assert_eq!(ok.record(true), Some(Up));
        assert_eq!(ok.counter(), 4);

        let mut bad = RiseFall::new(3, 2, false);
        assert_eq!(bad.record(false), Some(Down));
        assert_eq!(bad.counter(), 0);
    }

    #[test]
    fn healthy_script_needs_fall_failures_in_a_row() {
        let mut rf = RiseFall::new(2, 3, false);
        rf.record(true);
        assert_eq!(run(&mut rf, &[false, false, true]), [None, None, None]);
        assert_eq!(rf.state(), Some(Up));
        assert_eq!(
            run(&mut rf, &[false, false, false]),
            [None, None, Some(Down)]
        );
    }

    #[test]
    fn failed_script_needs_rise_successes_in_a_row() {
        let mut rf = RiseFall::new(3, 1, false);
        rf.record(false);
        assert_eq!(run(&mut rf, &[true, true, false]), [None, None, None]);
        assert_eq!(rf.state(), Some(Down));
        assert_eq!(run(&mut rf, &[true, true, true]), [None, None, Some(Up)]);
        assert_eq!(rf.record(false), Some(Down));
    }

    #[test]
    fn init_fail_starts_down_silently_and_needs_rise_successes() {
        let mut rf = RiseFall::new(2, 2, true);
        assert_eq!(rf.state(), Some(Down));
        assert_eq!(rf.record(false), None);
        assert_eq!(run(&mut rf, &[true, true]), [None, Some(Up)]);
    }

    #[test]
    fn rise_and_fall_of_one_flip_on_every_change() {
        let mut rf = RiseFall::new(1, 1, false);
        assert_eq!(
            run(&mut rf, &[true, true, false, false, true]),
            [Some(Up), None, Some(Down), None, Some(Up)]
        );
        let mut zero = RiseFall::new(0, 0, false);
        assert_eq!(zero.record(true), Some(Up));
        assert_eq!(zero.record(false), Some(Down));
    }

    #[test]
    fn counter_stays_in_range() {
        let mut rf = RiseFall::new(4, 5, false);
        for i in 0..200u32 {
            rf.record(i.wrapping_mul(2654435761) % 3 != 0);
            assert!(rf.counter() <= 8);
            assert_eq!(rf.state() == Some(Up), rf.counter() >= 4);
        }
    }
}
