//! Per-instance timers as a table of deadlines (quinn-proto `timer.rs` style): an enum names every
//! timer, a fixed array indexed by it holds the deadlines, the next wake-up is the minimum, and
//! `Engine::handle_timeout` matches on the expired one so each timer's effect is in one place.
//!
//! preempt_delay is deliberately not here: nothing happens when its window ends; the next
//! lower-priority advert is compared against the window's end (keepalived's `preempt_time`).

use crate::time::Timestamp;

/// The timers of one instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// RFC 5798 §6.2 Adver_Timer: the master's next advert.
    Advert,
    /// RFC 5798 §6.2 Master_Down_Timer: a backup declares the master dead. Armed from the
    /// *receive* time of the last accepted advert, so a daemon stall cannot fire it falsely.
    MasterDown,
    /// The second GARP/NA burst, `garp_master_delay` after becoming master.
    GarpDelayed,
    /// Periodic refresh GARPs every `garp_master_refresh`.
    GarpRefresh,
    /// The delayed burst after a master heard a lower priority (`garp_lower_prio_delay`).
    GarpLowerPrio,
}

impl Timer {
    pub const VALUES: [Timer; 5] = [
        Timer::Advert,
        Timer::MasterDown,
        Timer::GarpDelayed,
        Timer::GarpRefresh,
        Timer::GarpLowerPrio,
    ];
}

/// Deadlines of one instance, indexed by [`Timer`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimerTable {
    data: [Option<Timestamp>; Timer::VALUES.len()],
}

impl TimerTable {
    pub fn set(&mut self, timer: Timer, deadline: Timestamp) {
        self.data[timer as usize] = Some(deadline);
    }

    pub fn get(&self, timer: Timer) -> Option<Timestamp> {
        self.data[timer as usize]
    }

    pub fn stop(&mut self, timer: Timer) {
        self.data[timer as usize] = None;
    }

    pub fn stop_all(&mut self) {
        self.data = Default::default();
    }

    /// Every armed timer and its deadline, in the order of [`Timer::VALUES`].
    pub fn iter(&self) -> impl Iterator<Item = (Timer, Timestamp)> + '_ {
        Timer::VALUES
            .iter()
            .filter_map(|&t| self.get(t).map(|d| (t, d)))
    }

    /// The earliest deadline and its timer (ties: the order of [`Timer::VALUES`]).
    pub fn next(&self) -> Option<(Timer, Timestamp)> {
        self.iter().min_by_key(|&(t, d)| (d, t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_the_earliest_and_stop_clears_it() {
        let mut t = TimerTable::default();
        assert_eq!(t.next(), None);
        t.set(Timer::GarpRefresh, Timestamp(30));
        t.set(Timer::Advert, Timestamp(10));
        t.set(Timer::MasterDown, Timestamp(20));
        assert_eq!(t.next(), Some((Timer::Advert, Timestamp(10))));
        t.stop(Timer::Advert);
        assert_eq!(t.next(), Some((Timer::MasterDown, Timestamp(20))));
        t.stop_all();
        assert_eq!(t.next(), None);
    }
}
