//! `cargo xtask bench failover`: how late the backup takes over after the master goes away, and
//! how soon the virtual address answers again, measured from kernel timestamps of a capture in
//! the client's namespace, for vrrpd and keepalived run the same way.
//!
//! Formulas (all times are capture timestamps; MDI = 3 × interval + Skew_Time of the backup):
//! - crash: lateness = new master's first advert − (old master's last advert + MDI);
//! - graceful: lateness = new master's first advert − (old master's priority-0 advert + Skew_Time),
//!   since a backup hearing priority 0 sets its down timer to Skew_Time;
//! - tracker: the old master keeps advertising, at its lowered priority. The backup (priority 90,
//!   without nopreempt) discards those lower-priority adverts without restarting its down timer, so
//!   the timer runs from the last advert it *accepted*, the old master's last full-priority one:
//!   lateness = new master's first advert − (last advert with the old priority + MDI).
//!   (Equivalently first lowered advert − interval + MDI, when no advert is lost.)
//! - first GARP = the new master's first GARP for the VIP − its first advert;
//! - reachability = first echo reply from the VIP sent with the new master's MAC − its first advert;
//! - two masters: the old master still advertising (priority > 0) after the new master's first
//!   advert; the duration runs from that first advert to the old master's last one. (Reading it
//!   as "adverts from both less than one interval apart" would flag every tracker hand-over, since
//!   the old master's last advert always precedes the new master's first by less than one
//!   interval; here only adverts the old master sent while the new one already claimed count.)

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use anyhow::{Context as _, bail};
use indicatif::{ProgressBar, ProgressStyle};
use vrrpd_tests::capture::{Capture, Frame};
use vrrpd_tests::seed::{CheckScript, LAB_VIP1_HOST};
use vrrpd_tests::wire::{self, Mac};
use vrrpd_tests::{Impl, Node, observe};

use super::config::{self, PairOptions, Timing};
use super::daemon::{self, Daemon, VrrpdBin};
use super::interrupt;
use super::lab_run::{self, SUBNET, frame_ns, guarded};
use super::report::{self, Panel};
use super::stats::{self, Summary, summarize};

pub struct Options {
    pub runs: usize,
    pub quick: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Scenario {
    Crash,
    Graceful,
    Tracker,
}

impl Scenario {
    const ALL: [Scenario; 3] = [Scenario::Crash, Scenario::Graceful, Scenario::Tracker];

    fn name(self) -> &'static str {
        match self {
            Scenario::Crash => "crash",
            Scenario::Graceful => "graceful",
            Scenario::Tracker => "tracker",
        }
    }

    /// The seed's backup priority is 80, but 100 − 20 = 80 is accepted as equal, so the tracker
    /// scenario uses 90 to make the VIP move at all.
    fn backup_priority(self) -> u8 {
        match self {
            Scenario::Tracker => 90,
            _ => 80,
        }
    }
}

const VRID: u8 = 50;
const MASTER_PRIORITY: u8 = 100;
/// Check-script interval in the adapted configs (seconds).
const SCRIPT_INTERVAL: Duration = Duration::from_secs(1);
/// The p99 target for vrrpd's detection lateness (ms).
const LATENESS_TARGET_MS: f64 = 0.1;

/// One successful run, in milliseconds.
#[derive(Debug, Clone)]
struct Measure {
    lateness: f64,
    /// The capture times lateness is measured between (ns): the reference point (last advert +
    /// Master_Down_Interval, or priority 0 + Skew_Time) and the new master's first advert.
    reference_ns: i64,
    first_advert_ns: i64,
    /// Where vrrpd's lateness went, from its log (µs).
    split: Option<Split>,
    /// vrrpd's `Master_Down wait` line as logged: the timerfd's and the rehearsal's times too.
    wait: Option<String>,
    garp: Option<f64>,
    reach: Option<f64>,
    /// Duration of two masters advertising at once, if it happened.
    dual: Option<f64>,
}

/// vrrpd's lateness in three parts that add up to it (µs): `xdp`, how much later the backup's
/// deadline is than the capture's reference point (its XDP program stamps the advert after the
/// client's capture does); `daemon`, from its deadline to the first advert's send call; `send`,
/// from that call to the client's capture (the kernel's veth and bridge path, in the call).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Split {
    xdp: f64,
    daemon: f64,
    send: f64,
}

impl Split {
    /// From the new master's `Master_Down wait` debug line: its deadline on the wall clock and
    /// when the first advert's send call began.
    fn from_log(line: &str, m: &Measure) -> Option<Split> {
        let deadline: i64 = line
            .split("deadline_realtime_ns=")
            .nth(1)?
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()?;
        let send_from = line.split("first advert's send from ").nth(1)?;
        let began_us: f64 = send_from.split(' ').next()?.parse().ok()?;
        let send_ns = deadline as f64 + began_us * 1e3;
        Some(Split {
            xdp: (deadline - m.reference_ns) as f64 / 1e3,
            daemon: began_us,
            send: (m.first_advert_ns as f64 - send_ns) / 1e3,
        })
    }

    fn cell(&self) -> String {
        format!("{:.0} / {:.0} / {:.0}", self.xdp, self.daemon, self.send)
    }
}

#[derive(Default)]
struct Cell {
    measures: Vec<Measure>,
    failures: Vec<String>,
}

type Key = (Scenario, usize, Impl);

fn timings(quick: bool) -> Vec<Timing> {
    let t = |version, advert_int| Timing {
        version,
        advert_int,
    };
    if quick {
        vec![t(2, 1.0), t(3, 0.01)]
    } else {
        vec![t(2, 1.0), t(3, 1.0), t(3, 0.1), t(3, 0.01)]
    }
}

/// Runs the benchmark, writes failover.md and failover.svg, and returns the markdown. Fails (after
/// writing them) when any run failed.
pub fn run(opts: &Options, vrrpd: &VrrpdBin) -> anyhow::Result<String> {
    let runs = if opts.quick { 3 } else { opts.runs };
    // Debugging aids: `BENCH_FAILOVER_SCENARIOS=tracker`, `BENCH_FAILOVER_TIMINGS=v3 0.01s` and
    // `BENCH_FAILOVER_IMPLS=vrrpd` run only the variants listed (comma-separated).
    let listed = |var: &str, name: &str| {
        std::env::var(var)
            .ok()
            .is_none_or(|o| o.split(',').any(|n| n.trim() == name))
    };
    let timings: Vec<Timing> = timings(opts.quick)
        .into_iter()
        .filter(|t| listed("BENCH_FAILOVER_TIMINGS", &t.label()))
        .collect();
    let scenarios: Vec<Scenario> = Scenario::ALL
        .into_iter()
        .filter(|s| listed("BENCH_FAILOVER_SCENARIOS", s.name()))
        .collect();
    let impls: Vec<Impl> = Impl::BOTH
        .into_iter()
        .filter(|i| listed("BENCH_FAILOVER_IMPLS", i.name()))
        .collect();
    let total = (runs * scenarios.len() * timings.len() * impls.len()) as u64;
    let bar = ProgressBar::new(total).with_style(
        ProgressStyle::with_template("failover [{bar:30}] {pos}/{len} {elapsed} eta {eta} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut cells: BTreeMap<Key, Cell> = BTreeMap::new();
    // Interleaved: every run does every variant for both implementations, alternating which goes
    // first, so slow drift of the machine spreads evenly.
    for run in 0..runs {
        for &scenario in &scenarios {
            for (ti, timing) in timings.iter().enumerate() {
                for imp in daemon::interleaved(run) {
                    if !impls.contains(&imp) {
                        continue;
                    }
                    interrupt::check()?;
                    bar.set_message(format!(
                        "run {} {} {} {}",
                        run + 1,
                        scenario.name(),
                        timing.label(),
                        imp.name()
                    ));
                    let result = guarded(|| one_run(imp, scenario, *timing, vrrpd));
                    let cell = cells.entry((scenario, ti, imp)).or_default();
                    match result {
                        Ok(m) => cell.measures.push(m),
                        Err(e) => {
                            interrupt::check()?;
                            if cell.failures.is_empty() {
                                bar.println(format!(
                                    "failover {} {} {}: run failed: {e:#}",
                                    scenario.name(),
                                    timing.label(),
                                    imp.name()
                                ));
                            }
                            cell.failures.push(format!("{e:#}"));
                        }
                    }
                    bar.inc(1);
                }
            }
        }
    }
    bar.finish_and_clear();
    let md = render(&cells, &timings, runs);
    let path = report::write("failover.md", &md)?;
    let svg = report::out_dir()?.join("failover.svg");
    report::cdf_svg(&svg, "detection lateness (ms)", &panels(&cells, &timings))?;
    println!("{md}");
    println!("written: {} and {}", path.display(), svg.display());
    // A failed vrrpd run fails the benchmark. keepalived's are the reference misbehaving (its
    // 10 ms backup sometimes claims master before t0): the table counts and explains them.
    let failed = |who: Impl| -> usize {
        cells
            .iter()
            .filter(|((_, _, imp), _)| *imp == who)
            .map(|(_, c)| c.failures.len())
            .sum()
    };
    let reference = failed(Impl::Keepalived);
    if reference > 0 {
        println!("failover: {reference} keepalived runs failed (see the table)");
    }
    let ours = failed(Impl::Vrrpd);
    if ours > 0 {
        bail!(
            "failover: {ours} of {} vrrpd runs failed (see the table)",
            total / impls.len() as u64
        );
    }
    Ok(md)
}

fn one_run(
    imp: Impl,
    scenario: Scenario,
    timing: Timing,
    vrrpd: &VrrpdBin,
) -> anyhow::Result<Measure> {
    let lab = lab_run::lab("bf", 2);
    // The seed's VIP as the kit adapts it.
    let vip = lab.ipv4(LAB_VIP1_HOST);
    // The master's check fails in the tracker scenario; the backup's never does.
    let (check, backup_check) = (CheckScript::new(), CheckScript::new());
    let backup_priority = scenario.backup_priority();
    let pair = config::pair(&PairOptions {
        subnet: SUBNET,
        timing,
        script: check.path(),
        backup_script: backup_check.path(),
        backup_priority,
        backup_nopreempt: scenario != Scenario::Tracker,
    })?;
    let (old, new) = (lab.router(0), lab.router(1));
    let new_mac = observe::mac(new);
    let mdi = timing.master_down_ns(backup_priority);
    let startup = Duration::from_nanos(timing.master_down_ns(MASTER_PRIORITY) as u64)
        + Duration::from_secs(3);

    let mut master = Daemon::start(imp, old, &pair.master, vrrpd)?;
    master
        .wait_state("MASTER", 1, startup)
        .context("master start-up")?;
    // At debug level vrrpd logs how each takeover went (the `Master_Down wait` line).
    let mut backup = Daemon::start_logging(imp, new, &pair.backup, vrrpd, "debug")?;
    backup
        .wait_state("BACKUP", 1, Duration::from_secs(5))
        .context("backup start-up")?;
    receive_in_own_thread(old);
    let capture = Capture::start(&lab.client().ns, &lab.client().iface);
    let _ping = lab
        .client()
        .ns
        .spawn(&["ping", "-n", "-q", "-i", "0.001", &vip.to_string()]);
    // The backup must be following the master's adverts, and the capture must hold at least one
    // of them before t0.
    let interval = Duration::from_nanos(timing.interval_ns() as u64);
    interrupt::sleep(
        (interval * 3 / 2 + Duration::from_millis(200)).max(Duration::from_millis(400)),
    )?;
    if backup.count_lines("Entering MASTER STATE") > 0 {
        bail!("the backup became master before t0:\n{}", backup.tail(8));
    }

    let t0 = lab_run::now_ns();
    match scenario {
        Scenario::Crash => master.crash(),
        Scenario::Graceful => master.signal_main(libc::SIGTERM),
        Scenario::Tracker => check.set_healthy(false),
    }
    let timeout = Duration::from_nanos(mdi as u64) + SCRIPT_INTERVAL * 2 + Duration::from_secs(3);
    if let Err(e) = backup.wait_state("MASTER", 1, timeout) {
        bail!(
            "takeover: {e:#}\nold master's last lines:\n{}",
            master.tail(12)
        );
    }
    // Room for the GARPs and the first echo replies.
    interrupt::sleep((interval * 3).max(Duration::from_millis(300)))?;
    let frames = capture.finish();
    if std::env::var_os(DUMP_ENV).is_some() {
        let log: Vec<String> = backup
            .router()
            .child()
            .lines()
            .into_iter()
            .map(|l| l.text)
            .collect();
        dump(&frames, &log, imp, scenario, timing)?;
    }
    if scenario == Scenario::Graceful
        && let Some(status) = master.wait_exit(Duration::from_secs(3))
        && !status.success()
    {
        bail!("{imp} exited with {status} on SIGTERM");
    }
    let wait_line = backup
        .router()
        .child()
        .lines()
        .into_iter()
        .rev()
        .find(|l| l.text.contains("Master_Down wait"))
        .map(|l| l.text);
    analyse(&Run {
        frames: &frames,
        scenario,
        timing,
        old: old.ipv4,
        new: new.ipv4,
        new_mac,
        vip,
        client: lab.client().ipv4,
        backup_priority,
        t0,
    })
    .map(|m| Measure {
        split: wait_line.as_deref().and_then(|l| Split::from_log(l, &m)),
        wait: wait_line
            .as_deref()
            .and_then(|l| l.split_once("Master_Down wait: "))
            .map(|(_, rest)| rest.to_string()),
        ..m
    })
}

/// Both routers share one kernel, and a veth delivers a frame inside its sender's send call. The
/// old master's receive path (its XDP program and ring-buffer wake-up, or keepalived's socket,
/// and its kernel's ARP processing) would then run inside the new master's advert and GARP sends
/// and be timed as the new master's, where on two hosts it runs on the other host. Threaded NAPI
/// moves it to a kernel thread of the old master's interface: the send only wakes that thread.
/// Generic receive offload gives the veth the NAPI instance this needs when no XDP program does
/// (keepalived). The other receivers stay inline: the client's capture is the clock, and the
/// backup's receive stamp is what its Master_Down timer runs from.
fn receive_in_own_thread(router: &Node) {
    let iface = &router.iface;
    router.ns.exec(&["ethtool", "-K", iface, "gro", "on"]);
    router.ns.exec(&[
        "sh",
        "-c",
        &format!("echo 1 > /sys/class/net/{iface}/threaded"),
    ]);
}

/// Set to write each run's adverts, GARPs and first replies to target/bench/dump/ (debugging).
const DUMP_ENV: &str = "BENCH_DUMP";

/// Writes the run's captured adverts, GARPs and first echo replies, then the new master's log.
fn dump(
    frames: &[Frame],
    log: &[String],
    imp: Impl,
    scenario: Scenario,
    timing: Timing,
) -> anyhow::Result<()> {
    let dir = report::out_dir()?.join("dump");
    std::fs::create_dir_all(&dir)?;
    let mut text = String::new();
    let mut replies = 0;
    for f in frames {
        let ts_ns = frame_ns(f);
        let line = if let Some(a) = wire::advert(&f.data) {
            format!(
                "advert {} vrid {} prio {} int {}",
                a.src, a.vrid, a.priority, a.advert_int
            )
        } else if let Some(a) = wire::arp(&f.data).filter(|a| a.sender_ip == a.target_ip) {
            format!("garp {} from {}", a.sender_ip, a.sender_mac)
        } else if let Some(r) = wire::echo_reply(&f.data)
            && (replies < 3 || ts_ns % 1000 == 0)
        {
            replies += 1;
            format!("reply {} from {}", r.src, r.eth_src)
        } else {
            continue;
        };
        let _ = writeln!(text, "{:.6} {line}", ts_ns as f64 / 1e9);
    }
    let _ = writeln!(text, "--- the new master's log");
    for line in log {
        let _ = writeln!(text, "{line}");
    }
    let name = format!(
        "{}-{}-v{}-{}-{}.txt",
        scenario.name(),
        imp.name(),
        timing.version,
        timing.advert_int,
        lab_run::now_ns()
    );
    std::fs::write(dir.join(name), text)?;
    Ok(())
}

struct Run<'a> {
    frames: &'a [Frame],
    scenario: Scenario,
    timing: Timing,
    old: Ipv4Addr,
    new: Ipv4Addr,
    new_mac: Mac,
    vip: Ipv4Addr,
    client: Ipv4Addr,
    backup_priority: u8,
    t0: i64,
}

fn ms(ns: i64) -> f64 {
    ns as f64 / 1e6
}

fn analyse(r: &Run<'_>) -> anyhow::Result<Measure> {
    // (timestamp, source, priority) of this VRID's adverts.
    let adverts: Vec<(i64, IpAddr, u8)> = r
        .frames
        .iter()
        .filter_map(|f| {
            let a = wire::advert(&f.data).filter(|a| a.vrid == VRID)?;
            Some((frame_ns(f), a.src, a.priority))
        })
        .collect();
    let (old, new) = (IpAddr::V4(r.old), IpAddr::V4(r.new));
    let new_first = adverts
        .iter()
        .find(|(ts, src, prio)| *src == new && *prio > 0 && *ts > r.t0 - r.timing.interval_ns())
        .map(|a| a.0)
        .context("no advert from the new master in the capture")?;
    let old_before = |pred: &dyn Fn(u8) -> bool| {
        adverts
            .iter()
            .filter(|(ts, src, prio)| *src == old && *ts < new_first && pred(*prio))
            .map(|a| a.0)
            .next_back()
    };
    let mdi = r.timing.master_down_ns(r.backup_priority);
    let reference = match r.scenario {
        Scenario::Crash => old_before(&|p| p > 0).context("no advert of the old master")? + mdi,
        Scenario::Graceful => {
            adverts
                .iter()
                .find(|(ts, src, prio)| *src == old && *prio == 0 && *ts >= r.t0)
                .map(|a| a.0)
                .context("no priority-0 advert of the old master")?
                + r.timing.skew_ns(r.backup_priority)
        }
        Scenario::Tracker => {
            old_before(&|p| p == MASTER_PRIORITY)
                .context("no full-priority advert of the old master")?
                + mdi
        }
    };
    let after_t0 = r.frames.iter().filter(|f| frame_ns(f) >= r.t0);
    let garp = after_t0
        .clone()
        .find(|f| {
            wire::arp(&f.data)
                .is_some_and(|a| a.is_gratuitous_for(r.vip) && a.sender_mac == r.new_mac)
        })
        .map(|f| ms(frame_ns(f) - new_first));
    let reach = after_t0
        .clone()
        .find(|f| {
            wire::echo_reply(&f.data)
                .is_some_and(|e| e.src == r.vip && e.dst == r.client && e.eth_src == r.new_mac)
        })
        .map(|f| ms(frame_ns(f) - new_first));
    Ok(Measure {
        lateness: ms(new_first - reference),
        reference_ns: reference,
        first_advert_ns: new_first,
        split: None,
        wait: None,
        garp,
        reach,
        dual: dual_masters(&adverts, old, new_first),
    })
}

/// How long the old master kept advertising (priority > 0) after the new master's first advert,
/// if it did: both claimed the VRID over that span.
fn dual_masters(adverts: &[(i64, IpAddr, u8)], old: IpAddr, new_first: i64) -> Option<f64> {
    adverts
        .iter()
        .filter(|(ts, src, prio)| *src == old && *prio > 0 && *ts > new_first)
        .map(|a| a.0)
        .max()
        .map(|last| ms(last - new_first))
}

/// The median of each part of the split, and the split of the slowest run.
fn split_cells(m: &[Measure]) -> [String; 2] {
    let splits: Vec<Split> = m.iter().filter_map(|x| x.split).collect();
    let median = |f: fn(&Split) -> f64| {
        summarize(&splits.iter().map(f).collect::<Vec<_>>()).map(|s| s.median)
    };
    let med = match (median(|s| s.xdp), median(|s| s.daemon), median(|s| s.send)) {
        (Some(xdp), Some(daemon), Some(send)) => Split { xdp, daemon, send }.cell(),
        _ => "–".into(),
    };
    let slowest = m
        .iter()
        .max_by(|a, b| a.lateness.total_cmp(&b.lateness))
        .and_then(|x| x.split)
        .map_or("–".into(), |s| s.cell());
    [med, slowest]
}

fn summary_cells(s: Option<Summary>) -> [String; 4] {
    match s {
        Some(s) => [
            stats::ms(s.median),
            stats::ms(s.p90),
            stats::ms(s.p99),
            stats::ms(s.max),
        ],
        None => ["–".into(), "–".into(), "–".into(), "–".into()],
    }
}

fn render(cells: &BTreeMap<Key, Cell>, timings: &[Timing], runs: usize) -> String {
    let mut md = String::from("# Failover\n\n");
    let _ = writeln!(
        md,
        "{runs} runs per row, interleaved between implementations. Times in ms from kernel capture \
         timestamps in the client's namespace (see xtask/src/bench/failover.rs for the formulas). \
         Backup priority 80 (seed) for crash and graceful; **90 and no `nopreempt` for tracker**, \
         since 100 − 20 = 80 equals the seed backup's 80 and an equal-priority advert is accepted, \
         and a `nopreempt` backup accepts every advert, so the VIP would never move. Check script \
         interval 1 s (seed: 2 s). Client pings the VIP every 1 ms. The old master's interface \
         receives in its own kernel thread (threaded NAPI), as a second host would, so its receive \
         path does not run inside the new master's sends.\n"
    );
    md.push_str(
        "Targets: vrrpd detection lateness ≤ 0.1 ms p99 and ≤ 0.5× keepalived; first GARP ≤ 0.05 ms \
         after the first advert; two masters never longer than one interval. \"2 masters\" = the \
         old master still advertising after the new master's first advert. \"split\" = vrrpd's \
         lateness in three parts, µs, from its debug log and the capture: xdp = its deadline \
         (its XDP program's receive stamp + Master_Down_Interval, or + Skew_Time) after the \
         capture's reference point; daemon = its deadline to the first advert's send call; send \
         = that call to the client's capture (the kernel's veth and bridge path, inside the \
         call). Medians of each part, and the parts of the slowest run.\n\n",
    );
    let headers = [
        "scenario",
        "timing",
        "impl",
        "ok",
        "lateness med",
        "p90",
        "p99",
        "max",
        "split med µs: xdp / daemon / send",
        "slowest run's split",
        "GARP med",
        "GARP p99",
        "GARP max",
        "reach med",
        "reach p99",
        "reach max",
        "2 masters: runs",
        "longest",
    ];
    let mut rows = Vec::new();
    let mut ratios = Vec::new();
    for scenario in Scenario::ALL {
        for (ti, timing) in timings.iter().enumerate() {
            let mut lateness = BTreeMap::new();
            for imp in Impl::BOTH {
                let Some(cell) = cells.get(&(scenario, ti, imp)) else {
                    continue;
                };
                let m = &cell.measures;
                let col = |f: &dyn Fn(&Measure) -> Option<f64>| -> Vec<f64> {
                    m.iter().filter_map(f).collect()
                };
                let late = summarize(&col(&|x| Some(x.lateness)));
                lateness.insert(imp, late);
                let garp = summary_cells(summarize(&col(&|x| x.garp)));
                let reach = summary_cells(summarize(&col(&|x| x.reach)));
                let duals = col(&|x| x.dual);
                let mut row = vec![
                    scenario.name().to_string(),
                    timing.label(),
                    imp.name().to_string(),
                    format!("{}/{}", m.len(), m.len() + cell.failures.len()),
                ];
                row.extend(summary_cells(late));
                row.extend(split_cells(m));
                row.extend([garp[0].clone(), garp[2].clone(), garp[3].clone()]);
                row.extend([reach[0].clone(), reach[2].clone(), reach[3].clone()]);
                row.push(duals.len().to_string());
                row.push(
                    duals
                        .iter()
                        .copied()
                        .fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.max(v))))
                        .map_or("–".into(), stats::ms),
                );
                rows.push(row);
            }
            if let (Some(Some(v)), Some(Some(k))) =
                (lateness.get(&Impl::Vrrpd), lateness.get(&Impl::Keepalived))
            {
                ratios.push(vec![
                    scenario.name().to_string(),
                    timing.label(),
                    format!("{:.2}", v.median / k.median),
                    format!("{:.2}", v.p99 / k.p99),
                ]);
            }
        }
    }
    md.push_str(&report::table(&headers, &rows));
    md.push_str("\nvrrpd / keepalived detection lateness:\n\n");
    if ratios.is_empty() {
        md.push_str("(no ratio: one implementation has no successful run)\n");
    } else {
        md.push_str(&report::table(
            &["scenario", "timing", "median ratio", "p99 ratio"],
            &ratios,
        ));
    }
    let slow: Vec<String> = cells
        .iter()
        .filter(|((_, _, imp), _)| *imp == Impl::Vrrpd)
        .filter_map(|((s, ti, _), c)| {
            let m = c
                .measures
                .iter()
                .max_by(|a, b| a.lateness.total_cmp(&b.lateness))?;
            (m.lateness > LATENESS_TARGET_MS).then(|| {
                format!(
                    "- {} {}: {} ms; {}",
                    s.name(),
                    timings[*ti].label(),
                    stats::ms(m.lateness),
                    m.wait.as_deref().unwrap_or("(no `Master_Down wait` line)")
                )
            })
        })
        .collect();
    if !slow.is_empty() {
        md.push_str(
            "\nvrrpd's slowest run of each row over the target, with its `Master_Down wait` line \
             (the timerfd is armed before the deadline and fires late by the difference; then the \
             rehearsal; then the first advert's send call):\n\n",
        );
        md.push_str(&slow.join("\n"));
        md.push('\n');
    }
    let failures: Vec<String> = cells
        .iter()
        .filter(|(_, c)| !c.failures.is_empty())
        .map(|((s, ti, imp), c)| {
            format!(
                "- {} {} {}: {} failed; first: {}",
                s.name(),
                timings[*ti].label(),
                imp.name(),
                c.failures.len(),
                c.failures[0]
                    .lines()
                    .take(30)
                    .collect::<Vec<_>>()
                    .join(" / ")
            )
        })
        .collect();
    if !failures.is_empty() {
        md.push_str("\nFailed runs:\n\n");
        md.push_str(&failures.join("\n"));
        md.push('\n');
    }
    md
}

fn panels(cells: &BTreeMap<Key, Cell>, timings: &[Timing]) -> Vec<Panel> {
    Scenario::ALL
        .iter()
        .map(|&scenario| Panel {
            title: format!("failover: {} (detection lateness CDF)", scenario.name()),
            series: timings
                .iter()
                .enumerate()
                .flat_map(|(ti, t)| {
                    Impl::BOTH.iter().filter_map(move |&imp| {
                        let cell = cells.get(&(scenario, ti, imp))?;
                        (!cell.measures.is_empty()).then(|| {
                            (
                                format!("{} {}", imp.name(), t.label()),
                                cell.measures.iter().map(|m| m.lateness).collect(),
                            )
                        })
                    })
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_adds_up_to_the_lateness() {
        let line = "2026-12-02T09:02:57.267110Z DEBUG Master_Down wait: woke 901.7 µs before the \
                    deadline (timerfd armed 1000 µs before), rehearsal took 62.5 µs; first \
                    advert's send from 10.5 to 30.6 µs past the deadline; \
                    deadline_realtime_ns=1000012000";
        // Reference point 1 ms in, first advert captured 1.05 ms in: 50 µs late.
        let m = Measure {
            lateness: 0.05,
            reference_ns: 1_000_000_000,
            first_advert_ns: 1_000_050_000,
            split: None,
            wait: None,
            garp: None,
            reach: None,
            dual: None,
        };
        let s = Split::from_log(line, &m).unwrap();
        assert_eq!(s.xdp, 12.0);
        assert_eq!(s.daemon, 10.5);
        assert!((s.send - 27.5).abs() < 1e-9, "{s:?}");
        assert!((s.xdp + s.daemon + s.send - m.lateness * 1e3).abs() < 1e-9);
        let skipped = "DEBUG Master_Down wait: woke 300.0 µs before the deadline (timerfd armed \
                       1000 µs before), rehearsal skipped; deadline_realtime_ns=5";
        assert_eq!(Split::from_log(skipped, &m), None, "no send, no split");
    }

    #[test]
    fn the_report_quotes_the_wait_line_of_runs_over_the_target() {
        let measure = |lateness: f64, wait: &str| Measure {
            lateness,
            reference_ns: 0,
            first_advert_ns: 0,
            split: None,
            wait: Some(wait.to_string()),
            garp: None,
            reach: None,
            dual: None,
        };
        let timings = timings(true);
        let mut cells = BTreeMap::new();
        let cell = |m: Vec<Measure>| Cell {
            measures: m,
            failures: Vec::new(),
        };
        cells.insert(
            (Scenario::Crash, 0, Impl::Vrrpd),
            cell(vec![
                measure(0.05, "fast"),
                measure(3.688, "woke 0.0 µs before"),
            ]),
        );
        cells.insert(
            (Scenario::Crash, 1, Impl::Vrrpd),
            cell(vec![measure(0.08, "within the target")]),
        );
        let md = render(&cells, &timings, 2);
        assert!(
            md.contains("- crash v2 1s: 3.688 ms; woke 0.0 µs before"),
            "{md}"
        );
        assert!(
            !md.contains("fast") && !md.contains("within the target"),
            "{md}"
        );
    }

    #[test]
    fn dual_masters_counts_old_adverts_after_the_takeover() {
        let old = IpAddr::from([10, 0, 0, 1]);
        let new = IpAddr::from([10, 0, 0, 2]);
        let clean = [(0, old, 100), (9_000_000, new, 90), (19_000_000, new, 90)];
        assert_eq!(dual_masters(&clean, old, 9_000_000), None);
        let overlap = [
            (0, old, 100),
            (9_000_000, new, 90),
            (10_000_000, old, 80),
            (20_000_000, old, 80),
        ];
        assert_eq!(dual_masters(&overlap, old, 9_000_000), Some(11.0));
        let stepped_down = [(9_000_000, new, 90), (10_000_000, old, 0)];
        assert_eq!(dual_masters(&stepped_down, old, 9_000_000), None);
    }
}
