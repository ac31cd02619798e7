//! What every benchmark run shares: a fresh lab (2 routers + client, or as asked) built under a
//! panic guard, so a kit failure becomes an error for this run and its namespaces are gone either
//! way; the one-run-per-implementation loop of `flood` and `scale`; capture times as nanoseconds.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use anyhow::{anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use vrrpd_tests::capture::{self, Frame};
use vrrpd_tests::{Impl, Lab, Netns};

use super::{interrupt, report};

/// The `X` of 10.X.0.0/24 the benchmarks use (labs are isolated; it only makes captures readable).
pub const SUBNET: u8 = 51;

/// Runs `f`, turning a panic of the kit (which panics with full context) into an error.
pub fn guarded<T>(f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into());
            Err(anyhow!("{msg}"))
        }
    }
}

/// A lab of `routers` routers and a client on subnet `SUBNET`.
pub fn lab(tag: &str, routers: usize) -> Lab {
    Lab::builder(tag).routers(routers).subnet(SUBNET).build()
}

/// [`lab`] for a benchmark where no client asks for a VIP's MAC, so nothing answers with XDP_TX:
/// the switch's ports go without the pass-through XDP program that would make each sender copy
/// its every frame (see `Switch::with_xdp_peers`).
pub fn lab_without_xdp_tx(tag: &str, routers: usize) -> Lab {
    Lab::builder(tag)
        .routers(routers)
        .subnet(SUBNET)
        .xdp_peers(false)
        .build()
}

/// The benchmark `bench` with one run per implementation (`one`, guarded) under a progress bar:
/// writes `{bench}.md` (`render` of the successful runs, then the failed ones with their errors),
/// prints it, returns it, and fails (after writing it) naming the implementations whose run failed.
pub fn per_impl<T>(
    bench: &str,
    one: impl Fn(Impl) -> anyhow::Result<T>,
    render: impl FnOnce(&[(Impl, &T)]) -> String,
) -> anyhow::Result<String> {
    let bar = ProgressBar::new(Impl::BOTH.len() as u64).with_style(
        ProgressStyle::with_template(&format!(
            "{bench} [{{bar:30}}] {{pos}}/{{len}} {{elapsed}} {{msg}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut results = Vec::new();
    for imp in Impl::BOTH {
        interrupt::check()?;
        bar.set_message(imp.name());
        let result = guarded(|| one(imp));
        if let Err(e) = &result {
            interrupt::check()?;
            bar.println(format!("{bench} {imp}: failed: {e:#}"));
        }
        results.push((imp, result));
        bar.inc(1);
    }
    bar.finish_and_clear();
    let ok: Vec<(Impl, &T)> = results
        .iter()
        .filter_map(|(imp, r)| Some((*imp, r.as_ref().ok()?)))
        .collect();
    let mut md = render(&ok);
    let failures: Vec<String> = results
        .iter()
        .filter_map(|(imp, r)| {
            let e = r.as_ref().err()?;
            Some(format!(
                "- {imp}: {}\n",
                format!("{e:#}").replace('\n', " / ")
            ))
        })
        .collect();
    if !failures.is_empty() {
        md.push_str("\nFailed:\n\n");
        md.push_str(&failures.concat());
    }
    let path = report::write(&format!("{bench}.md"), &md)?;
    println!("{md}");
    println!("written: {}", path.display());
    let failed: Vec<&str> = results
        .iter()
        .filter(|(_, r)| r.is_err())
        .map(|(i, _)| i.name())
        .collect();
    if !failed.is_empty() {
        bail!("{bench} failed for {}", failed.join(", "));
    }
    Ok(md)
}

/// A capture time (CLOCK_REALTIME) in nanoseconds: the benchmarks subtract them, and a lateness
/// can be negative.
pub fn nanos(at: Duration) -> i64 {
    at.as_nanos() as i64
}

/// The capture clock now, in nanoseconds.
pub fn now_ns() -> i64 {
    nanos(capture::now())
}

/// When `frame` was seen, in nanoseconds.
pub fn frame_ns(frame: &Frame) -> i64 {
    nanos(frame.at)
}

/// An interface counter from /sys/class/net/IF/statistics in `ns`.
pub fn counter(ns: &Netns, ifname: &str, name: &str) -> u64 {
    ns.output(&["cat", &format!("/sys/class/net/{ifname}/statistics/{name}")])
        .stdout
        .iter()
        .map(|&b| b as char)
        .collect::<String>()
        .trim()
        .parse()
        .unwrap_or(0)
}
