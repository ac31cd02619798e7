//! A bare realtime timer, run beside a daemon on its CPU: how late this machine wakes a thread
//! that does nothing but sleep to an absolute deadline every interval. Its largest gap between
//! wake-ups is the floor under any daemon's largest advert gap in the same run, since an advert
//! timer is such a wake-up plus the send; a guest's virtual CPU that the hypervisor holds back
//! (steal) stalls both alike.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use super::cpu;
use super::lab_run;

/// SCHED_FIFO priority of the probe: below vrrpd's default (`--rt-priority 10`), so that when
/// both wake at once the daemon runs first and the probe never delays it.
const PRIORITY: i32 = 9;

pub struct TimerProbe {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<std::io::Result<Vec<i64>>>,
}

impl TimerProbe {
    /// Starts waking every `interval` on `cpu`, recording each wake-up on the capture clock
    /// ([`lab_run::now_ns`]) so that phases can be cut from it.
    pub fn start(cpu: usize, interval: Duration) -> TimerProbe {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || run(cpu, interval, &flag));
        TimerProbe { stop, handle }
    }

    /// Stops the probe and returns its wake-up times.
    pub fn finish(self) -> anyhow::Result<Vec<i64>> {
        self.stop.store(true, Ordering::SeqCst);
        let woke = self
            .handle
            .join()
            .map_err(|_| anyhow::anyhow!("timer probe panicked"))??;
        Ok(woke)
    }
}

fn run(cpu: usize, interval: Duration, stop: &AtomicBool) -> std::io::Result<Vec<i64>> {
    cpu::pin_for_good(cpu)?;
    let param = libc::sched_param {
        sched_priority: PRIORITY,
    };
    // SAFETY: sched_setscheduler only reads the sched_param we pass.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut woke = Vec::new();
    let step = i64::try_from(interval.as_nanos()).unwrap_or(i64::MAX);
    let mut next =
        i64::try_from(vrrpd_tests::watch::monotonic_now().as_nanos()).unwrap_or(0) + step;
    while !stop.load(Ordering::Relaxed) {
        let deadline = libc::timespec {
            tv_sec: next / 1_000_000_000,
            tv_nsec: next % 1_000_000_000,
        };
        // SAFETY: clock_nanosleep reads `deadline` and writes nothing for TIMER_ABSTIME.
        let rc = unsafe {
            libc::clock_nanosleep(
                libc::CLOCK_MONOTONIC,
                libc::TIMER_ABSTIME,
                &deadline,
                std::ptr::null_mut(),
            )
        };
        if rc != 0 && rc != libc::EINTR {
            return Err(std::io::Error::from_raw_os_error(rc));
        }
        if rc == 0 {
            woke.push(lab_run::now_ns());
            next += step;
        }
    }
    Ok(woke)
}

/// The largest gap between consecutive wake-ups in [start, end), in milliseconds.
pub fn max_gap_ms(woke: &[i64], start: i64, end: i64) -> Option<f64> {
    let inside: Vec<i64> = woke
        .iter()
        .copied()
        .filter(|t| (start..end).contains(t))
        .collect();
    inside
        .windows(2)
        .map(|w| (w[1] - w[0]) as f64 / 1e6)
        .reduce(f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_gap_is_cut_to_the_window() {
        let woke = [0, 10, 20, 45, 55, 90];
        // 45 → 55 and 20 → 45 inside [15, 60); 55 → 90 straddles the end.
        assert_eq!(max_gap_ms(&woke, 15, 60), Some(25e-6));
        assert_eq!(max_gap_ms(&woke, 15, 30), None);
    }
}
