//! Time as the engine sees it: CLOCK_MONOTONIC nanoseconds, the clock of `bpf_ktime_get_ns`, so a
//! kernel receive timestamp and an engine deadline compare directly. Only [`Timestamp::now`] reads
//! the real clock, and only the daemon calls it; the engine is given `now`.

use core::ops::{Add, Sub};
use core::time::Duration;

/// A CLOCK_MONOTONIC instant in nanoseconds.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Timestamp(pub u64);

impl Timestamp {
    pub const ZERO: Timestamp = Timestamp(0);

    /// Reads CLOCK_MONOTONIC. For the daemon's edges only.
    pub fn now() -> Timestamp {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes into the timespec we own; CLOCK_MONOTONIC always exists.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
        Timestamp(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
    }

    pub const fn from_nanos(ns: u64) -> Timestamp {
        Timestamp(ns)
    }

    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// `self - earlier`, or zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Timestamp) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(d.as_nanos() as u64))
    }
}

impl Sub<Duration> for Timestamp {
    type Output = Timestamp;
    fn sub(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_sub(d.as_nanos() as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_monotonic_and_arithmetic_saturates() {
        let a = Timestamp::now();
        let b = Timestamp::now();
        assert!(b >= a);
        assert_eq!(Timestamp(5) - Duration::from_nanos(10), Timestamp::ZERO);
        assert_eq!((Timestamp(5) + Duration::from_micros(1)).as_nanos(), 1005);
        assert_eq!(Timestamp(3).saturating_since(Timestamp(10)), Duration::ZERO);
    }
}
