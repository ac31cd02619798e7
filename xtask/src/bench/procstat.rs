//! CPU time and peak memory of daemon processes, from /proc/PID/stat (utime + stime) and
//! /proc/PID/status (VmHWM); and a CPU's steal time from /proc/stat (time the hypervisor ran
//! something else while this virtual CPU had work: a stall no process priority can prevent).

/// Clock ticks per second of the stat times.
fn clk_tck() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// utime + stime of `pid` in seconds, `None` if it is gone.
pub fn cpu_seconds(pid: i32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised name: state is field 3, utime 14 and stime 15 (1-based).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / clk_tck())
}

/// Summed CPU seconds of `pids` (the ones still alive).
pub fn total_cpu_seconds(pids: &[i32]) -> f64 {
    pids.iter().filter_map(|&p| cpu_seconds(p)).sum()
}

/// Peak resident set (VmHWM) of `pid` in KiB.
pub fn vm_hwm_kib(pid: i32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Steal time of CPU `cpu` since boot, in seconds (`None` without the field, e.g. not a VM).
pub fn steal_seconds(cpu: usize) -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    steal_in(&stat, cpu)
}

fn steal_in(stat: &str, cpu: usize) -> Option<f64> {
    let name = format!("cpu{cpu}");
    let line = stat
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name.as_str()))?;
    // user nice system idle iowait irq softirq steal: the 8th number.
    let steal: u64 = line.split_whitespace().nth(8)?.parse().ok()?;
    Some(steal as f64 / clk_tck())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_has_cpu_time_and_memory() {
        let me = std::process::id() as i32;
        // Burn a little CPU so the counter cannot be legitimately zero.
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < std::time::Duration::from_millis(50) {
            x = x.wrapping_mul(31).wrapping_add(1);
        }
        assert!(x != 1);
        assert!(cpu_seconds(me).is_some_and(|s| s > 0.0));
        assert!(vm_hwm_kib(me).is_some_and(|k| k > 0));
        assert_eq!(cpu_seconds(-1), None);
    }

    #[test]
    fn steal_is_the_eighth_number_of_a_cpu_line() {
        let stat =
            "cpu  1 2 3 4 5 6 7 900 0 0\ncpu0 1 2 3 4 5 6 7 300 0 0\ncpu1 1 2 3 4 5 6 7 600 0 0\n";
        let tck = clk_tck();
        assert_eq!(steal_in(stat, 0), Some(300.0 / tck));
        assert_eq!(steal_in(stat, 1), Some(600.0 / tck));
        assert_eq!(steal_in(stat, 2), None);
        assert!(
            steal_seconds(0).is_some(),
            "this machine's /proc/stat has cpu0"
        );
    }
}
