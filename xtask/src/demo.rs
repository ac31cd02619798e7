//! `cargo xtask demo [--impl vrrpd|keepalived]`: a guided run of the seed configurations for a
//! newcomer. Two routers and a client in network namespaces run the seed's master/backup pair, then
//! its dual-master pair (addresses moved to 10.0.0.0/8, the nginx check replaced by a script that
//! succeeds), while the demo crashes, restores and stops routers. It prints each router's state
//! transitions as its daemon logs them, one line per second of the client's pings (sent every
//! 10 ms), and the outage the client saw at each step. Everything is removed at the end, on error
//! and on Ctrl-C (the kit's guards clean up when they drop).

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::ValueEnum;
use vrrpd_tests::pinger::Pinger;
use vrrpd_tests::scenario::Testbed;
use vrrpd_tests::seed::Seed;
use vrrpd_tests::{Impl, State, Transition};

use crate::{build, setup};

/// The implementation to demonstrate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DemoImpl {
    Vrrpd,
    Keepalived,
}

const PING_EVERY: Duration = Duration::from_millis(10);
/// Longest wait for one step (a transition, pings coming back).
const STEP_TIMEOUT: Duration = Duration::from_secs(20);
const TICK: Duration = Duration::from_millis(50);

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::Relaxed);
}

pub fn demo(which: DemoImpl) -> anyhow::Result<()> {
    setup::ensure(setup::Needs::TestTools)?;
    let (which, bin) = match which {
        DemoImpl::Vrrpd => (Impl::Vrrpd, Some(build::build_only(false)?)),
        DemoImpl::Keepalived => (Impl::Keepalived, None),
    };
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe { libc::signal(libc::SIGINT, on_sigint as *const () as libc::sighandler_t) };
    master_backup(which, bin.clone())?;
    dual_master(which, bin)?;
    println!("\ndemo: done; every namespace and process is gone.");
    Ok(())
}

/// Prints new transitions of each router and, once a second, how the client's pings fared.
struct Show {
    names: Vec<&'static str>,
    printed: Vec<usize>,
    last_ping_line: Instant,
    started: Instant,
}

impl Show {
    fn new(names: &[&'static str]) -> Show {
        Show {
            names: names.to_vec(),
            printed: vec![0; names.len()],
            last_ping_line: Instant::now(),
            started: Instant::now(),
        }
    }

    fn say(&self, what: &str) {
        println!(
            "{:6.1}s  demo: {what}",
            self.started.elapsed().as_secs_f64()
        );
    }

    fn tick(&mut self, tb: &Testbed, pingers: &[Pinger]) {
        for (i, name) in self.names.iter().enumerate() {
            let Some(router) = tb.routers_started().get(i).copied().flatten() else {
                continue;
            };
            let lines = router.child().lines();
            // A restarted daemon has a fresh log.
            if lines.len() < self.printed[i] {
                self.printed[i] = 0;
            }
            for line in &lines[self.printed[i]..] {
                let wanted = Transition::parse(&line.text).is_some()
                    || line.text.contains("Changing effective priority");
                if wanted {
                    let text = line.text.trim();
                    let text = text.find('(').map_or(text, |at| &text[at..]);
                    println!(
                        "{:6.1}s  [{name}] {text}",
                        self.started.elapsed().as_secs_f64()
                    );
                }
            }
            self.printed[i] = lines.len();
        }
        if self.last_ping_line.elapsed() >= Duration::from_secs(1) {
            let now = Instant::now();
            let from = self.last_ping_line;
            let report: Vec<String> = pingers
                .iter()
                .map(|p| {
                    let got = p.replies_between(from, now);
                    let state = if got > 0 { "ok  " } else { "lost" };
                    format!("{} {state} ({got} replies)", p.target())
                })
                .collect();
            if !report.is_empty() {
                println!(
                    "{:6.1}s  [client] ping {}",
                    self.started.elapsed().as_secs_f64(),
                    report.join(", ")
                );
            }
            self.last_ping_line = now;
        }
    }

    /// Ticks until `done` holds; fails after `STEP_TIMEOUT` (with `what`) or on Ctrl-C.
    fn until(
        &mut self,
        tb: &Testbed,
        pingers: &[Pinger],
        what: &str,
        done: impl Fn(&Testbed) -> bool,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            self.tick(tb, pingers);
            if INTERRUPTED.load(Ordering::Relaxed) {
                bail!("interrupted; cleaning up");
            }
            if done(tb) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "{what} did not happen within {STEP_TIMEOUT:?}\n{}",
                    tb.transcripts()
                );
            }
            thread::sleep(TICK);
        }
    }

    /// Ticks for `period` (to watch a steady state).
    fn watch(&mut self, tb: &Testbed, pingers: &[Pinger], period: Duration) -> anyhow::Result<()> {
        let end = Instant::now() + period;
        self.until(tb, pingers, "waiting", |_| Instant::now() >= end)
    }

    /// Waits until `pinger` has replies again after `since`, lets them flow a second, then prints
    /// the longest gap the client saw since `since`.
    fn outage(
        &mut self,
        tb: &Testbed,
        pingers: &[Pinger],
        pinger: usize,
        since: Instant,
    ) -> anyhow::Result<()> {
        let p = &pingers[pinger];
        self.until(tb, pingers, "pings to come back", |_| {
            p.replies().last().is_some_and(|r| r.received > since)
        })?;
        self.watch(tb, pingers, Duration::from_secs(1))?;
        match p.longest_gap_since(since) {
            Some(gap) => self.say(&format!(
                "outage seen by the client for {}: {:.0} ms (last reply before → first reply after)",
                p.target(),
                gap.duration().as_secs_f64() * 1e3
            )),
            None => self.say("no replies to measure an outage with"),
        }
        Ok(())
    }
}

fn state_is(tb: &Testbed, router: usize, instance: &str, state: State) -> bool {
    tb.routers_started()[router].is_some_and(|r| r.state(instance) == Some(state))
}

fn testbed(tag: &str, subnet: u8, which: Impl, seeds: &[Seed], bin: Option<PathBuf>) -> Testbed {
    let tb = Testbed::seeds(tag, subnet, &[which, which], seeds);
    match bin {
        Some(bin) => tb.with_vrrpd(&bin),
        None => tb,
    }
}

fn master_backup(which: Impl, bin: Option<PathBuf>) -> anyhow::Result<()> {
    println!("\n=== master/backup (examples/master-backup.*.conf) with {which} ===");
    let mut tb = testbed(
        "demo-mb",
        1,
        which,
        &[Seed::MasterBackupMaster, Seed::MasterBackupBackup],
        bin,
    );
    let vip: Ipv4Addr = tb.vip1();
    let mut show = Show::new(&["master", "backup"]);
    show.say(&format!(
        "routers 10.1.0.1 (master, priority 100) and 10.1.0.2 (backup, priority 80), client \
         10.1.0.100 pinging the VIP {vip} every 10 ms"
    ));
    let pingers = [Pinger::start(&tb.lab.client().ns, vip, PING_EVERY)];
    tb.start(0);
    tb.start(1);
    show.until(&tb, &pingers, "the master taking the VIP", |tb| {
        state_is(tb, 0, "VI_1", State::Master)
    })?;
    show.until(&tb, &pingers, "first ping replies", |_| {
        !pingers[0].replies().is_empty()
    })?;
    show.watch(&tb, &pingers, Duration::from_secs(2))?;

    show.say("crash of the master: link down + SIGKILL");
    let t = Instant::now();
    tb.crash(0);
    show.until(&tb, &pingers, "the backup taking over", |tb| {
        state_is(tb, 1, "VI_1", State::Master)
    })?;
    show.outage(&tb, &pingers, 0, t)?;

    show.say("the master comes back (link up, daemon started): it preempts");
    let t = Instant::now();
    tb.revive(0);
    show.until(&tb, &pingers, "the master preempting", |tb| {
        state_is(tb, 0, "VI_1", State::Master) && state_is(tb, 1, "VI_1", State::Backup)
    })?;
    show.outage(&tb, &pingers, 0, t)?;

    show.say("graceful stop of the master (SIGTERM): priority-0 advert, backup takes over");
    let t = Instant::now();
    let status = tb.router_mut(0).terminate();
    show.say(&format!("master exited: {status:?}"));
    show.until(&tb, &pingers, "the backup taking over", |tb| {
        state_is(tb, 1, "VI_1", State::Master)
    })?;
    show.outage(&tb, &pingers, 0, t)?;
    Ok(())
}

fn dual_master(which: Impl, bin: Option<PathBuf>) -> anyhow::Result<()> {
    println!("\n=== dual-master (examples/dual-master.*.conf) with {which} ===");
    let mut tb = testbed(
        "demo-dm",
        2,
        which,
        &[Seed::DualMasterOne, Seed::DualMasterAnother],
        bin,
    );
    let (vip1, vip2) = (tb.vip1(), tb.vip2());
    let mut show = Show::new(&["one", "another"]);
    show.say(&format!(
        "\"one\" (10.2.0.1) masters VI_1 = {vip1}, \"another\" (10.2.0.2) masters VI_2 = {vip2}; \
         each backs up the other"
    ));
    let pingers = [
        Pinger::start(&tb.lab.client().ns, vip1, PING_EVERY),
        Pinger::start(&tb.lab.client().ns, vip2, PING_EVERY),
    ];
    tb.start(0);
    tb.start(1);
    show.until(&tb, &pingers, "each node mastering its VIP", |tb| {
        state_is(tb, 0, "VI_1", State::Master) && state_is(tb, 1, "VI_2", State::Master)
    })?;
    show.until(&tb, &pingers, "first ping replies", |_| {
        pingers.iter().all(|p| !p.replies().is_empty())
    })?;
    show.watch(&tb, &pingers, Duration::from_secs(2))?;

    show.say("crash of \"one\": \"another\" takes VI_1 as well");
    let t = Instant::now();
    tb.crash(0);
    show.until(&tb, &pingers, "\"another\" taking VI_1", |tb| {
        state_is(tb, 1, "VI_1", State::Master)
    })?;
    show.outage(&tb, &pingers, 0, t)?;

    show.say("\"one\" comes back and takes VI_1 back");
    let t = Instant::now();
    tb.revive(0);
    show.until(&tb, &pingers, "\"one\" mastering VI_1 again", |tb| {
        state_is(tb, 0, "VI_1", State::Master) && state_is(tb, 1, "VI_1", State::Backup)
    })?;
    show.outage(&tb, &pingers, 0, t)?;
    Ok(())
}
