//! `cargo xtask bench flood`: the backup is flooded with non-VRRP traffic (UDP and TCP SYNs to a
//! closed port) while the master advertises every 10 ms, then with 8 CPU hogs added, then the
//! backup daemon is stopped (SIGSTOP) for 1, 2 and 10 × Master_Down_Interval. Counts false
//! failovers (backup adverts in a capture on the master's namespace, and its log), and the
//! master's largest gap between its own adverts per phase.
//!
//! Two hosts, two CPUs ([`cpu`]): the master's processes run on CPU 0; the backup's and the
//! flood sender (whose receive softirqs are the flooded host's work) on CPU 1; every veth end has
//! a transmit queue per CPU, so the master's adverts and the flood reach the backup's XDP program
//! by different receive queues, each processed on its sender's CPU. The hogs may run
//! anywhere.
//!
//! Delay from advert arrival to the daemon seeing it: vrrpd's backup logs `rx_delay_ns=N` at
//! debug level, from its XDP program's receive stamp. keepalived logs nothing of the kind, so its
//! VRRP process's `recvmsg` returns are traced ([`recv_trace`]) and paired with the master's
//! adverts as the master's capture saw them leave: per phase, from send to read.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::Context as _;
use vrrpd_tests::capture::{Capture, Direction, Filter, Frame};
use vrrpd_tests::seed::CheckScript;
use vrrpd_tests::wire::{self, Flow};
use vrrpd_tests::{Impl, NsChild, observe};

use super::config::{self, PairOptions, Timing};
use super::cpu;
use super::daemon::{Daemon, VrrpdBin};
use super::interrupt;
use super::lab_run::{self, SUBNET};
use super::probe::{self, TimerProbe};
use super::procstat;
use super::recv_trace::{self, Recv, RecvTrace};
use super::report;
use super::sender::{self, Sent};
use super::stats::{self, summarize};

const TIMING: Timing = Timing {
    version: 3,
    advert_int: 0.01,
};
const BACKUP_PRIORITY: u8 = 80;
const HOGS: usize = 8;
const STALLS: [u32; 3] = [1, 2, 10];
/// Marker a daemon may log with the delay between an advert's arrival and its processing.
pub const RX_DELAY_MARKER: &str = "rx_delay_ns=";

struct Phase {
    name: String,
    start: i64,
    end: i64,
    sent: Option<Sent>,
    backup_rx_pps: Option<f64>,
    /// Adverts the backup's XDP program counted during the phase (vrrpd only): with the
    /// master's sent adverts, whether adverts were lost before any software saw them.
    backup_xdp_adverts: Option<u64>,
    master_lines_before: usize,
    master_lines_after: usize,
    /// Steal time of the master's CPU during the phase (the hypervisor running something else).
    master_steal_ms: Option<f64>,
}

struct Outcome {
    phases: Vec<Phase>,
    frames: Vec<Frame>,
    master_ip: Ipv4Addr,
    backup_ip: Ipv4Addr,
    rx_delays_ms: Vec<f64>,
    /// Adverts the daemon read without having been woken for them (repeats, by design).
    rx_queued: usize,
    /// Wake-ups of a bare realtime timer on the master's CPU, every advert interval.
    probe: Vec<i64>,
    /// keepalived's backup: its VRRP process's successful `recvmsg` returns, or why not.
    reads: Option<Result<Vec<Recv>, String>>,
}

pub fn run(quick: bool, vrrpd: &VrrpdBin) -> anyhow::Result<String> {
    let phase_len = if quick {
        Duration::from_secs(3)
    } else {
        Duration::from_secs(10)
    };
    lab_run::per_impl(
        "flood",
        |imp| one(imp, phase_len, vrrpd),
        |results| render(results, phase_len),
    )
}

fn one(imp: Impl, phase_len: Duration, vrrpd: &VrrpdBin) -> anyhow::Result<Outcome> {
    let lab = lab_run::lab_without_xdp_tx("bfl", 2);
    // The seed's track script, always succeeding: the flood must not move the VIP on its own.
    let check = CheckScript::new();
    let pair = config::pair(&PairOptions {
        subnet: SUBNET,
        timing: TIMING,
        script: check.path(),
        backup_script: check.path(),
        backup_priority: BACKUP_PRIORITY,
        backup_nopreempt: true,
    })?;
    let (master_node, backup_node) = (lab.router(0), lab.router(1));
    let mut master = cpu::on_host(0, || Daemon::start(imp, master_node, &pair.master, vrrpd))?;
    master
        .wait_state("MASTER", 1, Duration::from_secs(5))
        .context("master start-up")?;
    // At debug level vrrpd logs each advert's receive delay (`rx_delay_ns=`).
    let mut backup = cpu::on_host(1, || {
        Daemon::start_logging(imp, backup_node, &pair.backup, vrrpd, "debug")
    })?;
    // The master's adverts and the flood reach the backup by different receive queues, each
    // processed on the CPU of the host that sent it.
    cpu::queues_per_cpu(&lab)?;
    backup
        .wait_state("BACKUP", 1, Duration::from_secs(5))
        .context("backup start-up")?;
    interrupt::sleep(Duration::from_millis(500))?;
    let capture = Capture::start_filtered(&master_node.ns, &master_node.iface, Filter::VrrpOnly);
    let probe = TimerProbe::start(cpu::host(0), Duration::from_secs_f64(TIMING.advert_int));
    // Started after the capture, so the first read's advert is in it (see `recv_trace::pair`).
    let reads = (imp == Impl::Keepalived).then(|| {
        backup
            .router()
            .vrrp_pid()
            .context("no VRRP process")
            .and_then(RecvTrace::start)
    });
    let flow = Flow {
        src_mac: observe::mac(lab.client()),
        dst_mac: observe::mac(backup_node),
        src_ip: lab.client().ipv4,
        dst_ip: backup_node.ipv4,
        src_port: 20_000,
        dst_port: 9,
    };
    let mut phases = Vec::new();
    let mut phase = |name: String,
                     body: &mut dyn FnMut() -> anyhow::Result<Option<Sent>>|
     -> anyhow::Result<()> {
        let rx0 = lab_run::counter(&backup_node.ns, &backup_node.iface, "rx_packets");
        let xdp0 = xdp_adverts(imp, &backup);
        let before = backup.count_lines("Entering MASTER STATE");
        let steal0 = procstat::steal_seconds(cpu::host(0));
        let start = lab_run::now_ns();
        let sent = body()?;
        let end = lab_run::now_ns();
        let steal1 = procstat::steal_seconds(cpu::host(0));
        let rx1 = lab_run::counter(&backup_node.ns, &backup_node.iface, "rx_packets");
        let xdp1 = xdp_adverts(imp, &backup);
        let secs = (end - start) as f64 / 1e9;
        phases.push(Phase {
            name,
            start,
            end,
            backup_rx_pps: sent.map(|_| (rx1.saturating_sub(rx0)) as f64 / secs),
            backup_xdp_adverts: xdp0.zip(xdp1).map(|(a, b)| b.saturating_sub(a)),
            sent,
            master_lines_before: before,
            master_lines_after: backup.count_lines("Entering MASTER STATE"),
            master_steal_ms: steal0.zip(steal1).map(|(a, b)| (b - a) * 1e3),
        });
        Ok(())
    };
    phase("baseline".into(), &mut || {
        interrupt::sleep(Duration::from_secs(2))?;
        Ok(None)
    })?;
    let flood = |hogs: usize| -> anyhow::Result<Option<Sent>> {
        let _hogs: Vec<NsChild> = (0..hogs)
            .map(|_| master_node.ns.spawn(&["sh", "-c", "exec yes > /dev/null"]))
            .collect();
        let stop = Arc::new(AtomicBool::new(false));
        let handle = sender::spawn(
            &lab.client().ns,
            &lab.client().iface,
            flow,
            phase_len,
            Arc::clone(&stop),
            cpu::host(1),
        )?;
        while !handle.is_finished() {
            if interrupt::interrupted() {
                stop.store(true, std::sync::atomic::Ordering::SeqCst);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let sent = handle
            .join()
            .map_err(|_| anyhow::anyhow!("flood thread panicked"))??;
        interrupt::check()?;
        Ok(Some(sent))
    };
    phase("flood".into(), &mut || flood(0))?;
    phase(format!("flood + {HOGS} hogs"), &mut || flood(HOGS))?;
    // Outside any phase: whatever the hogs did settles before the stalls start.
    interrupt::sleep(Duration::from_secs(1))?;
    let mdi = Duration::from_nanos(TIMING.master_down_ns(BACKUP_PRIORITY) as u64);
    for k in STALLS {
        phase(format!("stall {k}×MDI"), &mut || {
            backup.signal_vrrp(libc::SIGSTOP)?;
            let slept = interrupt::sleep(mdi * k);
            backup.signal_vrrp(libc::SIGCONT)?;
            slept?;
            interrupt::sleep(Duration::from_millis(500))?;
            Ok(None)
        })?;
    }
    let reads = reads.map(|r| r.and_then(RecvTrace::finish).map_err(|e| format!("{e:#}")));
    let frames = capture.finish();
    let probe = probe.finish().context("timer probe")?;
    let lines = backup.router().child().lines();
    // Repeats of an unchanged advert are counted by XDP and replayed when the daemon next
    // drains, by design (vrrp_common::RxLast): `repeat=true times=N` lines.
    let advert_lines = lines.iter().filter(|l| l.text.contains(RX_DELAY_MARKER));
    let rx_queued = advert_lines
        .clone()
        .filter(|l| l.text.contains("repeat=true"))
        .filter_map(|l| number_after(&l.text, "times="))
        .sum::<u64>() as usize;
    // The delay that matters is that of adverts that were queued and woke the daemon.
    let rx_delays_ms = advert_lines
        .filter(|l| !l.text.contains("repeat=true"))
        .filter_map(|l| number_after(&l.text, RX_DELAY_MARKER))
        .map(|ns| ns as f64 / 1e6)
        .collect();
    Ok(Outcome {
        phases,
        frames,
        master_ip: master_node.ipv4,
        backup_ip: backup_node.ipv4,
        rx_delays_ms,
        rx_queued,
        probe,
        reads,
    })
}

/// The decimal number right after `marker` in `text`.
fn number_after(text: &str, marker: &str) -> Option<u64> {
    let at = text.find(marker)? + marker.len();
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The `adverts` counter of the backup's XDP program (vrrpd's status), `None` for keepalived or
/// while the daemon is stopped (the stall phases read it around SIGSTOP, so only while running).
fn xdp_adverts(imp: Impl, backup: &Daemon<'_>) -> Option<u64> {
    if imp != Impl::Vrrpd {
        return None;
    }
    let json: serde_json::Value = serde_json::from_str(&backup.router().status_json()).ok()?;
    json["interfaces"][0]["counters"]["adverts"].as_u64()
}

/// Adverts (priority > 0) from `src` in [start, end). The capture runs in the master's namespace,
/// so the master's own adverts are the outgoing ones (timestamped as they leave) and the backup's
/// the received ones.
fn adverts(o: &Outcome, src: Ipv4Addr, start: i64, end: i64) -> Vec<i64> {
    let direction = if src == o.master_ip {
        Direction::Out
    } else {
        Direction::In
    };
    o.frames
        .iter()
        .filter(|f| f.direction == direction)
        .map(|f| (lab_run::frame_ns(f), f))
        .filter(|(ts, _)| *ts >= start && *ts < end)
        .filter(|(_, f)| {
            wire::advert(&f.data).is_some_and(|a| a.src == IpAddr::V4(src) && a.priority > 0)
        })
        .map(|(ts, _)| ts)
        .collect()
}

/// Adverts the master sent in a phase that the backup's XDP program did not count, less one for
/// the counter being read a moment apart from the capture's window; `None` without the counter.
fn lost_on_the_way(sent: usize, p: &Phase) -> Option<u64> {
    p.backup_xdp_adverts
        .map(|seen| (sent as u64).saturating_sub(seen).saturating_sub(1))
}

fn gaps_ms(times: &[i64]) -> Vec<f64> {
    times
        .windows(2)
        .map(|w| (w[1] - w[0]) as f64 / 1e6)
        .collect()
}

/// The bullet for a daemon whose reads were traced: per phase, advert sent → read.
fn read_delays(imp: Impl, o: &Outcome, reads: &Result<Vec<Recv>, String>) -> String {
    let reads = match reads {
        Ok(reads) => reads,
        Err(e) => return format!("- {imp}: advert sent → daemon's read: not traced ({e})"),
    };
    let sent = adverts(o, o.master_ip, i64::MIN, i64::MAX);
    // Only reads of an advert's length: the process also reads netlink now and then.
    let advert_len = o
        .frames
        .iter()
        .find(|f| f.direction == Direction::Out && wire::advert(&f.data).is_some())
        .and_then(|f| f.data.get(16..18))
        .map(|b| u64::from(u16::from_be_bytes([b[0], b[1]])));
    let read_times: Vec<i64> = reads
        .iter()
        .filter(|r| Some(r.len) == advert_len)
        .map(|r| r.at_ns)
        .collect();
    let pairs = recv_trace::pair(&sent, &read_times);
    let per_phase: Vec<String> = o
        .phases
        .iter()
        .map(|p| {
            let in_phase = |s: &i64| *s >= p.start && *s < p.end;
            let delays: Vec<f64> = pairs
                .iter()
                .filter(|(s, _)| in_phase(s))
                .map(|(s, r)| (r - s) as f64 / 1e6)
                .collect();
            match summarize(&delays) {
                Some(s) => format!(
                    "{} {} / {} / {} ({} of {})",
                    p.name,
                    stats::ms(s.median),
                    stats::ms(s.p99),
                    stats::ms(s.max),
                    s.n,
                    sent.iter().filter(|s| in_phase(s)).count()
                ),
                None => format!("{} no reads", p.name),
            }
        })
        .collect();
    format!(
        "- {imp}: advert sent (the master's capture) → its VRRP process's `recvmsg` returned \
         (ftrace), median / p99 / max ms (adverts paired of those sent): {}",
        per_phase.join("; ")
    )
}

fn render(results: &[(Impl, &Outcome)], phase_len: Duration) -> String {
    let mut md = String::from("# Flood\n\n");
    let _ = writeln!(
        md,
        "Master advertises every 10 ms (v3, advert_int 0.01; backup priority 80, MDI {:.3} ms). \
         Flood phases last {} s: one sender thread in the client namespace (AF_PACKET sendmmsg, \
         60-byte frames, UDP and TCP SYN alternating) to the backup. Two hosts on two CPUs: the \
         master's processes on CPU 0, the backup's and the flood sender on CPU 1; each CPU sends \
         on queues of its own on every link. Hogs: {HOGS} × `yes`, on either CPU. Capture: the master's \
         namespace, VRRP only. Steal: time the hypervisor took the master's virtual CPU away \
         during the phase (/proc/stat, whole clock ticks); no process priority prevents that \
         stall. Bare RT timer: a thread on the master's CPU (SCHED_FIFO 9, below vrrpd's 10) \
         that only sleeps to an absolute deadline every 10 ms, run beside the master in the \
         same phase: its largest gap between wake-ups is what this machine allows any 10 ms \
         timer, the floor under the master's largest advert gap.\n\n\
         Reference (keepalived, this kind of machine): max gap 18.8 ms at 458 kpps, 28.1 ms with 8 \
         hogs. Targets: no false failover; stalls must not make the backup claim master.\n",
        TIMING.master_down_ns(BACKUP_PRIORITY) as f64 / 1e6,
        phase_len.as_secs()
    );
    let headers = [
        "impl",
        "phase",
        "sent kpps",
        "backup rx kpps",
        "master gap p99 ms",
        "master max gap ms",
        "bare RT timer max gap ms",
        "steal on master's CPU ms",
        "master's adverts / seen by backup XDP",
        "backup adverts",
        "backup `Entering MASTER`",
        "verdict",
    ];
    let mut rows = Vec::new();
    let mut delays = Vec::new();
    for &(imp, o) in results {
        for p in &o.phases {
            let sent_adverts = adverts(o, o.master_ip, p.start, p.end);
            let gaps = gaps_ms(&sent_adverts);
            let gap = summarize(&gaps);
            let backup = adverts(o, o.backup_ip, p.start, p.end).len();
            let claims = p.master_lines_after - p.master_lines_before;
            rows.push(vec![
                imp.name().to_string(),
                p.name.clone(),
                p.sent.map_or("–".into(), |s| format!("{:.0}", s.kpps())),
                p.backup_rx_pps
                    .map_or("–".into(), |r| format!("{:.0}", r / 1e3)),
                gap.map_or("–".into(), |g| stats::ms(g.p99)),
                gap.map_or("no adverts".into(), |g| stats::ms(g.max)),
                probe::max_gap_ms(&o.probe, p.start, p.end).map_or("–".into(), stats::ms),
                p.master_steal_ms
                    .map_or("–".into(), |ms| format!("{ms:.0}")),
                match p.backup_xdp_adverts {
                    Some(seen) => format!("{} / {seen}", sent_adverts.len()),
                    None => format!("{} / –", sent_adverts.len()),
                },
                backup.to_string(),
                claims.to_string(),
                match (
                    backup == 0 && claims == 0,
                    lost_on_the_way(sent_adverts.len(), p),
                ) {
                    (true, _) => "ok".into(),
                    (false, Some(lost)) if lost > 0 => {
                        format!("FALSE FAILOVER; {lost} adverts lost before the backup's XDP")
                    }
                    (false, _) => "FALSE FAILOVER".into(),
                },
            ]);
        }
        if let Some(reads) = &o.reads {
            delays.push(read_delays(imp, o, reads));
            continue;
        }
        delays.push(match summarize(&o.rx_delays_ms) {
            Some(s) => format!(
                "- {}: advert arrival → daemon, adverts that woke it: median {} ms, p99 {}, max {} \
                 ({} samples; {} repeats were counted in XDP without a wake-up and replayed at \
                 the next timer wake-up, by design)",
                imp.name(),
                stats::ms(s.median),
                stats::ms(s.p99),
                stats::ms(s.max),
                s.n,
                o.rx_queued
            ),
            None => format!(
                "- {}: advert arrival → daemon: not observable (no `{RX_DELAY_MARKER}` log lines)",
                imp.name()
            ),
        });
    }
    md.push_str(&report::table(&headers, &rows));
    md.push('\n');
    md.push_str(&delays.join("\n"));
    md.push('\n');
    md
}
