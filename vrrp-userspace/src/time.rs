//! Time as the engine sees it: CLOCK_MONOTONIC nanoseconds, the clock of `bpf_ktime_get_ns`, so a
//! kernel receive timestamp and an engine deadline compare directly. Only [`Timestamp::now`] reads
//! the real clock, and only the daemon calls it; the engine is given `now`.
//!
//! [`TimerFd`] is how the daemon waits for the engine's next deadline: tokio's own timer wheel has
//! 1 ms granularity, too coarse for VRRPv3 centisecond adverts and skew times.

use core::ops::{Add, Sub};
use core::time::Duration;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

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
        Timestamp(clock_ns(libc::CLOCK_MONOTONIC))
    }

    /// This instant on CLOCK_REALTIME, the clock of packet capture timestamps (for logs that
    /// are compared with captures; good to the microsecond the two clock reads take).
    pub fn to_realtime_ns(self) -> i128 {
        let realtime = clock_ns(libc::CLOCK_REALTIME);
        realtime as i128 - Timestamp::now().0 as i128 + self.0 as i128
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

/// Nanoseconds on `clock` (one that always exists: CLOCK_MONOTONIC, CLOCK_REALTIME).
fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own; the callers' clocks always exist.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
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

/// A timerfd syscall failed.
#[derive(Debug, thiserror::Error)]
#[error("timerfd: {syscall} failed: {source}")]
pub struct TimerError {
    pub syscall: &'static str,
    #[source]
    pub source: io::Error,
}

/// A CLOCK_MONOTONIC timerfd armed with absolute deadlines (`TFD_TIMER_ABSTIME`), so a deadline
/// computed from an engine [`Timestamp`] fires exactly then, whatever the delay between computing
/// and arming it. One deadline at a time: [`TimerFd::set`] replaces the previous one, earlier or
/// later. Needs a tokio runtime with I/O enabled.
#[derive(Debug)]
pub struct TimerFd {
    fd: AsyncFd<OwnedFd>,
}

impl TimerFd {
    /// Creates a disarmed timer. Must be called inside a tokio runtime (the fd registers with
    /// its reactor).
    pub fn new() -> Result<TimerFd, TimerError> {
        // SAFETY: plain syscall; the returned descriptor is checked and then owned.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(TimerError {
                syscall: "timerfd_create",
                source: io::Error::last_os_error(),
            });
        }
        // SAFETY: `raw` is a fresh descriptor nobody else owns.
        let owned = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: an OwnedFd keeps its descriptor open and unchanged until it is dropped, which
        // happens only together with the AsyncFd.
        let fd =
            unsafe { AsyncFd::register_with_interest(owned, Interest::READABLE) }.map_err(|e| {
                TimerError {
                    syscall: "epoll_ctl(timerfd)",
                    source: e.into(),
                }
            })?;
        Ok(TimerFd { fd })
    }

    /// Arms the timer for `deadline`, replacing any earlier setting. A deadline in the past fires
    /// at once.
    pub fn set(&self, deadline: Timestamp) -> Result<(), TimerError> {
        // An all-zero it_value disarms a timerfd; the earliest representable instant fires at once.
        let ns = deadline.as_nanos().max(1);
        self.settime(libc::timespec {
            tv_sec: (ns / 1_000_000_000) as libc::time_t,
            tv_nsec: (ns % 1_000_000_000) as libc::c_long,
        })
    }

    /// Disarms the timer: [`TimerFd::wait`] then waits until the next [`TimerFd::set`].
    pub fn clear(&self) -> Result<(), TimerError> {
        self.settime(libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        })
    }

    fn settime(&self, value: libc::timespec) -> Result<(), TimerError> {
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: value,
        };
        // SAFETY: `spec` outlives the call; the old-value pointer may be null.
        let rc = unsafe {
            libc::timerfd_settime(
                self.fd.get_ref().as_raw_fd(),
                libc::TFD_TIMER_ABSTIME,
                &spec,
                core::ptr::null_mut(),
            )
        };
        if rc < 0 {
            return Err(TimerError {
                syscall: "timerfd_settime",
                source: io::Error::last_os_error(),
            });
        }
        Ok(())
    }

    /// Waits until the armed deadline passes. Cancel-safe: dropping the future loses nothing, the
    /// expiry stays pending until read. Re-arming with [`TimerFd::set`] discards an unread expiry
    /// of the previous deadline (the kernel resets the count), so `wait` only ever reports the
    /// current one.
    pub async fn wait(&self) -> Result<(), TimerError> {
        loop {
            let mut guard = self.fd.readable().await.map_err(|source| TimerError {
                syscall: "epoll_wait(timerfd)",
                source,
            })?;
            let mut expirations = [0u8; 8];
            // SAFETY: reads at most 8 bytes into a buffer of 8 bytes.
            let n = unsafe {
                libc::read(
                    guard.get_inner().as_raw_fd(),
                    expirations.as_mut_ptr().cast(),
                    expirations.len(),
                )
            };
            if n == expirations.len() as isize {
                return Ok(());
            }
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::WouldBlock {
                // Readiness was stale (re-armed after an expiry, or spurious): wait again.
                guard.clear_ready();
                continue;
            }
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(TimerError {
                syscall: "read(timerfd)",
                source: err,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// Bound on how long a test waits for a timer that should fire; not a precision claim.
    const PATIENCE: Duration = Duration::from_secs(5);

    #[test]
    fn timerfd_fires_at_or_after_its_deadline_and_can_be_rearmed() {
        rt().block_on(async {
            let timer = TimerFd::new().unwrap();
            for _ in 0..3 {
                let deadline = Timestamp::now() + Duration::from_millis(3);
                timer.set(deadline).unwrap();
                tokio::time::timeout(PATIENCE, timer.wait())
                    .await
                    .expect("timer did not fire")
                    .unwrap();
                assert!(Timestamp::now() >= deadline);
            }
        });
    }

    #[test]
    fn timerfd_earlier_deadline_replaces_later_one() {
        rt().block_on(async {
            let timer = TimerFd::new().unwrap();
            timer
                .set(Timestamp::now() + Duration::from_secs(3600))
                .unwrap();
            let deadline = Timestamp::now() + Duration::from_millis(2);
            timer.set(deadline).unwrap();
            tokio::time::timeout(PATIENCE, timer.wait())
                .await
                .expect("earlier deadline did not replace the later one")
                .unwrap();
            assert!(Timestamp::now() >= deadline);
        });
    }

    #[test]
    fn timerfd_later_deadline_replaces_pending_expiry() {
        rt().block_on(async {
            let timer = TimerFd::new().unwrap();
            timer.set(Timestamp::ZERO).unwrap();
            // Let the first deadline expire unread, then move the deadline far out: the stale
            // expiry must not be reported.
            std::thread::sleep(Duration::from_millis(2));
            timer
                .set(Timestamp::now() + Duration::from_secs(3600))
                .unwrap();
            let waited = tokio::time::timeout(Duration::from_millis(50), timer.wait()).await;
            assert!(waited.is_err(), "stale expiry was reported");
        });
    }

    #[test]
    fn timerfd_past_deadline_fires_at_once_and_clear_disarms() {
        rt().block_on(async {
            let timer = TimerFd::new().unwrap();
            timer.set(Timestamp::ZERO).unwrap();
            tokio::time::timeout(PATIENCE, timer.wait())
                .await
                .expect("past deadline did not fire")
                .unwrap();
            timer
                .set(Timestamp::now() - Duration::from_secs(1))
                .unwrap();
            tokio::time::timeout(PATIENCE, timer.wait())
                .await
                .expect("past deadline did not fire")
                .unwrap();
            timer
                .set(Timestamp::now() + Duration::from_millis(1))
                .unwrap();
            timer.clear().unwrap();
            let waited = tokio::time::timeout(Duration::from_millis(50), timer.wait()).await;
            assert!(waited.is_err(), "a cleared timer fired");
        });
    }

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
