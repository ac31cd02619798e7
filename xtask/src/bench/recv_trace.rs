//! When a process's `recvmsg` calls returned, from a tracefs instance of its own: how `bench
//! flood` sees when keepalived's VRRP process read each advert, which keepalived does not log.
//! The instance has its own buffer and event filter, so nothing else using ftrace is disturbed,
//! and it is removed on drop.

use std::fs;
use std::path::PathBuf;

use anyhow::Context as _;

use super::lab_run;

const TRACEFS: &str = "/sys/kernel/tracing";
const EVENT: &str = "events/syscalls/sys_exit_recvmsg";

/// A running trace of one process's successful `recvmsg` returns.
pub struct RecvTrace {
    dir: PathBuf,
    /// CLOCK_REALTIME − CLOCK_MONOTONIC when the trace started (ns): the trace clock is the
    /// monotonic one, capture timestamps are on the wall clock.
    realtime_offset_ns: i64,
}

/// One `recvmsg` return: when (CLOCK_REALTIME, ns) and how many bytes it returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recv {
    pub at_ns: i64,
    pub len: u64,
}

impl RecvTrace {
    pub fn start(pid: i32) -> anyhow::Result<RecvTrace> {
        let dir = PathBuf::from(TRACEFS)
            .join("instances")
            .join(format!("vrrpd-bench-{}", std::process::id()));
        if !dir.exists() {
            fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let trace = RecvTrace {
            dir,
            realtime_offset_ns: realtime_offset_ns(),
        };
        for (file, value) in [
            ("trace_clock", "mono".to_string()),
            ("buffer_size_kb", "4096".to_string()),
            ("set_event_pid", pid.to_string()),
            (&format!("{EVENT}/filter"), "ret > 0".to_string()),
            (&format!("{EVENT}/enable"), "1".to_string()),
            ("tracing_on", "1".to_string()),
        ] {
            let path = trace.dir.join(file);
            fs::write(&path, value).with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(trace)
    }

    /// Stops tracing and returns every return seen, in order.
    pub fn finish(self) -> anyhow::Result<Vec<Recv>> {
        let _ = fs::write(self.dir.join("tracing_on"), "0");
        let path = self.dir.join("trace");
        let text =
            fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        Ok(parse(&text, self.realtime_offset_ns))
    }
}

impl Drop for RecvTrace {
    fn drop(&mut self) {
        let _ = fs::write(self.dir.join("tracing_on"), "0");
        let _ = fs::write(self.dir.join(EVENT).join("enable"), "0");
        let _ = fs::remove_dir(&self.dir);
    }
}

/// The capture clock (CLOCK_REALTIME) less CLOCK_MONOTONIC, read back to back.
fn realtime_offset_ns() -> i64 {
    let mono = vrrpd_tests::watch::monotonic_now().as_nanos() as i64;
    lab_run::now_ns() - mono
}

/// The `sys_recvmsg -> 0x20` lines of a trace (`comm-pid [cpu] flags 123.456789: event`), with
/// their monotonic times moved onto the wall clock by `offset_ns`.
fn parse(text: &str, offset_ns: i64) -> Vec<Recv> {
    text.lines()
        .filter_map(|line| {
            let (head, ret) = line.split_once(": sys_recvmsg -> 0x")?;
            let secs = head.rsplit(' ').next()?;
            let (whole, frac) = secs.split_once('.')?;
            let frac_ns: i64 = format!("{frac:0<9}").get(..9)?.parse().ok()?;
            let at_mono = whole.parse::<i64>().ok()? * 1_000_000_000 + frac_ns;
            Some(Recv {
                at_ns: at_mono + offset_ns,
                len: u64::from_str_radix(ret.trim(), 16).ok()?,
            })
        })
        .collect()
}

/// Pairs each read with the advert it returned, `sent` being the adverts' send times in order:
/// the first read takes the latest advert sent before it (the trace may start between a send and
/// its read), every later one the next advert in order, since a socket hands its queue out in
/// order (a stalled reader gets its backlog oldest first). Returns (advert sent, read) pairs.
pub fn pair(sent: &[i64], reads: &[i64]) -> Vec<(i64, i64)> {
    let mut pairs = Vec::new();
    let mut next: Option<usize> = None;
    for &read in reads {
        let i = match next {
            None => match sent.iter().rposition(|&s| s <= read) {
                Some(i) => i,
                None => continue,
            },
            Some(i) => i,
        };
        match sent.get(i) {
            Some(&s) if s <= read => {
                pairs.push((s, read));
                next = Some(i + 1);
            }
            // A read with no advert sent before it: not one of the adverts.
            _ => {}
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_exit_lines_onto_the_wall_clock() {
        let text = "# tracer: nop\n\
            \x20       keepalived-4242    [001] ..... 67064.707290: sys_recvmsg -> 0x20\n\
            \x20       keepalived-4242    [001] ..... 67064.717301: sys_recvmsg -> 0x1c\n\
            \x20       keepalived-4242    [001] ..... 67064.717400: sys_sendto -> 0x20\n";
        let recvs = parse(text, 1_000);
        assert_eq!(
            recvs,
            vec![
                Recv {
                    at_ns: 67_064_707_290_000 + 1_000,
                    len: 0x20
                },
                Recv {
                    at_ns: 67_064_717_301_000 + 1_000,
                    len: 0x1c
                },
            ]
        );
    }

    #[test]
    fn pairs_reads_with_adverts_in_order_after_the_first() {
        // The trace began after the advert at 0 was read; the read at 15 is the one sent at 10.
        let sent = [0, 10, 20, 30, 40];
        assert_eq!(pair(&sent, &[15, 25]), vec![(10, 15), (20, 25)]);
        // A stalled reader reads its backlog oldest first, all at once.
        assert_eq!(
            pair(&sent, &[5, 45, 45, 45, 46]),
            vec![(0, 5), (10, 45), (20, 45), (30, 45), (40, 46)]
        );
        // A read before any advert is not one of them, nor one before the next advert was sent.
        assert_eq!(pair(&sent, &[-1, 1, 2]), vec![(0, 1)]);
    }
}
