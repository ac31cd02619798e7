//! `cargo xtask bench scale`: 255 instances (VRIDs 1–255, v3, advert_int 0.01, one VIP each) on
//! one interface between two nodes, one master of all (priority 200 against 100). Reports CPU time
//! per second and peak RSS of each daemon, the master's late and missed adverts per VRID from a
//! capture, and how many routers advertised as master per VRID.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::Duration;

use anyhow::Context as _;
use vrrpd_tests::Impl;
use vrrpd_tests::capture::{Capture, Filter};
use vrrpd_tests::wire;

use super::config::{self, Timing};
use super::cpu;
use super::daemon::{Daemon, VrrpdBin};
use super::interrupt;
use super::lab_run::{self, SUBNET};
use super::procstat;
use super::report;
use super::stats::{self, summarize};

const INSTANCES: u8 = 255;
const TIMING: Timing = Timing {
    version: 3,
    advert_int: 0.01,
};

/// Resource use of one daemon over the window.
struct Usage {
    cpu_per_s: f64,
    /// Sum of VmHWM over the daemon's processes, and the number of processes.
    hwm_kib: u64,
    processes: usize,
}

struct Outcome {
    master: Usage,
    backup: Usage,
    seconds: f64,
    /// Per VRID: the master's advert timestamps.
    master_adverts: BTreeMap<u8, Vec<i64>>,
    /// Per VRID: every source that advertised with priority > 0.
    sources: BTreeMap<u8, BTreeSet<IpAddr>>,
    backup_claims: usize,
    /// Steal time of the master's CPU over the window, ms (the hypervisor running something else).
    master_steal_ms: Option<f64>,
}

pub fn run(quick: bool, vrrpd: &VrrpdBin) -> anyhow::Result<String> {
    let window = if quick {
        Duration::from_secs(6)
    } else {
        Duration::from_secs(20)
    };
    lab_run::per_impl(
        "scale",
        |imp| one(imp, window, vrrpd),
        |results| render(results, window),
    )
}

fn usage(daemon: &Daemon, cpu0: f64, seconds: f64) -> Usage {
    let pids = daemon.pids();
    Usage {
        cpu_per_s: (procstat::total_cpu_seconds(&pids) - cpu0) / seconds,
        hwm_kib: pids.iter().filter_map(|&p| procstat::vm_hwm_kib(p)).sum(),
        processes: pids.len(),
    }
}

fn one(imp: Impl, window: Duration, vrrpd: &VrrpdBin) -> anyhow::Result<Outcome> {
    let lab = lab_run::lab_without_xdp_tx("bsc", 2);
    let m = lab.router(0);
    let n = usize::from(INSTANCES);
    // Two hosts, a CPU each ([`cpu`]); host 0 is the master of every VRID.
    let start = |host: usize, priority: u8, role: &str, state: &str| {
        let node = lab.router(host);
        let config = config::many(INSTANCES, priority, TIMING.advert_int, SUBNET, role);
        let mut daemon = cpu::on_host(host, || Daemon::start(imp, node, &config, vrrpd))?;
        daemon
            .wait_state(state, n, Duration::from_secs(30))
            .with_context(|| format!("{role} start-up"))?;
        anyhow::Ok(daemon)
    };
    let master = start(0, 200, "master", "MASTER")?;
    let backup = start(1, 100, "backup", "BACKUP")?;
    interrupt::sleep(Duration::from_secs(1))?;
    let claims0 = backup.count_lines("Entering MASTER STATE");
    let capture = Capture::start_filtered(&m.ns, &m.iface, Filter::VrrpOnly);
    let cpu_m = procstat::total_cpu_seconds(&master.pids());
    let cpu_b = procstat::total_cpu_seconds(&backup.pids());
    let steal0 = procstat::steal_seconds(cpu::host(0));
    let t0 = lab_run::now_ns();
    interrupt::sleep(window)?;
    let seconds = (lab_run::now_ns() - t0) as f64 / 1e9;
    let steal1 = procstat::steal_seconds(cpu::host(0));
    let master_usage = usage(&master, cpu_m, seconds);
    let backup_usage = usage(&backup, cpu_b, seconds);
    let mut master_adverts: BTreeMap<u8, Vec<i64>> = BTreeMap::new();
    let mut sources: BTreeMap<u8, BTreeSet<IpAddr>> = BTreeMap::new();
    for f in capture.finish() {
        let Some(a) = wire::advert(&f.data) else {
            continue;
        };
        if a.priority == 0 {
            continue;
        }
        sources.entry(a.vrid).or_default().insert(a.src);
        if a.src == IpAddr::V4(m.ipv4) {
            master_adverts
                .entry(a.vrid)
                .or_default()
                .push(lab_run::frame_ns(&f));
        }
    }
    Ok(Outcome {
        master: master_usage,
        backup: backup_usage,
        seconds,
        master_adverts,
        sources,
        backup_claims: backup.count_lines("Entering MASTER STATE") - claims0,
        master_steal_ms: steal0.zip(steal1).map(|(a, b)| (b - a) * 1e3),
    })
}

fn render(results: &[(Impl, &Outcome)], window: Duration) -> String {
    let interval_ms = TIMING.interval_ns() as f64 / 1e6;
    let mut md = String::from("# Scale\n\n");
    let _ = writeln!(
        md,
        "{INSTANCES} instances (VRIDs 1–{INSTANCES}, v3, advert_int 0.01, one VIP each) between two \
         nodes, master priority 200, backup 100; measured over {} s after both settled. CPU = utime + \
         stime per second of wall time, summed over the daemon's processes (keepalived: parent and \
         VRRP child); RSS = VmHWM summed likewise. Late = master advert more than 1.5 intervals \
         after the previous one of its VRID; missed = more than 2 intervals (an advert skipped). \
         Masters per VRID = routers that advertised with priority > 0 during the window. Each \
         node runs on a CPU of its own (master 0, backup 1). Steal = time the hypervisor took the \
         master's virtual CPU away (/proc/stat, whole clock ticks).\n",
        window.as_secs()
    );
    let headers = [
        "impl",
        "master CPU s/s",
        "master CPU µs / advert sent",
        "backup CPU s/s",
        "master RSS MiB",
        "backup RSS MiB",
        "adverts/s",
        "gap p99 ms",
        "max gap ms",
        "steal on master's CPU ms",
        "late",
        "missed",
        "VRIDs w/ late",
        "VRIDs with 1 / 2 / 0 masters",
        "backup `Entering MASTER`",
    ];
    let mut rows = Vec::new();
    for &(imp, o) in results {
        let mut gaps = Vec::new();
        let (mut late, mut missed, mut vrids_late) = (0usize, 0usize, 0usize);
        for times in o.master_adverts.values() {
            let g: Vec<f64> = times
                .windows(2)
                .map(|w| (w[1] - w[0]) as f64 / 1e6)
                .collect();
            let l = g.iter().filter(|&&x| x > 1.5 * interval_ms).count();
            late += l;
            missed += g.iter().filter(|&&x| x > 2.0 * interval_ms).count();
            vrids_late += usize::from(l > 0);
            gaps.extend(g);
        }
        let total: usize = o.master_adverts.values().map(Vec::len).sum();
        let count = |k: usize| {
            (1..=INSTANCES)
                .filter(|v| o.sources.get(v).map_or(0, BTreeSet::len) == k)
                .count()
        };
        let gap = summarize(&gaps);
        rows.push(vec![
            imp.name().to_string(),
            format!("{:.3}", o.master.cpu_per_s),
            format!("{:.1}", per_advert_us(o)),
            format!("{:.3}", o.backup.cpu_per_s),
            format!(
                "{:.1} ({} proc)",
                o.master.hwm_kib as f64 / 1024.0,
                o.master.processes
            ),
            format!(
                "{:.1} ({} proc)",
                o.backup.hwm_kib as f64 / 1024.0,
                o.backup.processes
            ),
            format!("{:.0}", total as f64 / o.seconds),
            gap.map_or("–".into(), |g| stats::ms(g.p99)),
            gap.map_or("–".into(), |g| stats::ms(g.max)),
            o.master_steal_ms
                .map_or("–".into(), |ms| format!("{ms:.0}")),
            late.to_string(),
            missed.to_string(),
            vrids_late.to_string(),
            format!("{} / {} / {}", count(1), count(2), count(0)),
            o.backup_claims.to_string(),
        ]);
    }
    md.push_str(&report::table(&headers, &rows));
    if let [(Impl::Vrrpd, ours), (Impl::Keepalived, theirs)]
    | [(Impl::Keepalived, theirs), (Impl::Vrrpd, ours)] = results
    {
        let _ = writeln!(
            md,
            "\nvrrpd / keepalived (target ≤ 0.2 for both nodes): master CPU {:.2}, backup CPU {:.2}; \
             master CPU per advert sent {:.3} (the fair figure when one of them does not keep up: \
             CPU per second then compares unequal work).",
            ours.master.cpu_per_s / theirs.master.cpu_per_s,
            ours.backup.cpu_per_s / theirs.backup.cpu_per_s,
            per_advert_us(ours) / per_advert_us(theirs),
        );
    }
    md
}

/// The master's CPU time per advert it sent, in µs.
fn per_advert_us(o: &Outcome) -> f64 {
    let sent: usize = o.master_adverts.values().map(Vec::len).sum();
    if sent == 0 {
        return f64::NAN;
    }
    o.master.cpu_per_s * o.seconds / sent as f64 * 1e6
}
