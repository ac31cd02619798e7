//! `cargo xtask test`: set-up (with the network tools), build vrrpd, then two cargo runs: the unit
//! and eBPF program tests of every crate, and the end-to-end tests of `tests/` with fewer threads,
//! since each of those builds a lab of network namespaces and runs daemons in it. Both run even if
//! the first fails; the totals of cargo's "test result:" lines are printed at the end.

use std::ffi::OsString;
use std::process::Command;

use anyhow::bail;

use crate::cmd::{self, stream};
use crate::{build, setup};

/// Parallel end-to-end tests: each one runs a few daemons; more would overload a small machine and
/// turn timing jitter into failures.
const E2E_THREADS: &str = "2";

#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    passed: u64,
    failed: u64,
    ignored: u64,
    suites: u64,
}

pub fn test(filter: Option<&str>) -> anyhow::Result<()> {
    setup::ensure(setup::Needs::TestTools)?;
    let bin = build::build_only(false)?;
    let mut bin_env = OsString::from(&bin);
    if let Some(from_env) = std::env::var_os("VRRPD_BIN") {
        // A binary the caller chose (e.g. a release build) wins over the one we just built.
        bin_env = from_env;
    }

    let mut unit = cmd::cargo();
    // --no-fail-fast: a failing test binary must not hide the results of the next ones.
    unit.env("VRRPD_BIN", &bin_env).args([
        "test",
        "--no-fail-fast",
        "--workspace",
        // Built for the BPF target by vrrp-userspace/build.rs; its tests live in vrrp-userspace.
        "--exclude",
        "vrrp-ebpf",
        "--exclude",
        "vrrpd-tests",
    ]);
    add_filter(&mut unit, filter, None);
    let mut e2e = cmd::cargo();
    e2e.env("VRRPD_BIN", &bin_env)
        .args(["test", "--no-fail-fast", "-p", "vrrpd-tests"]);
    add_filter(&mut e2e, filter, Some(E2E_THREADS));

    let mut failures = Vec::new();
    let mut totals = Totals::default();
    for (what, command) in [
        ("unit and eBPF tests", &mut unit),
        ("end-to-end tests", &mut e2e),
    ] {
        let run = stream(what, command)?;
        let these = summarise(&run.lines);
        eprintln!(
            "xtask: {what}: {} passed; {} failed; {} ignored ({} test binaries)",
            these.passed, these.failed, these.ignored, these.suites
        );
        totals.passed += these.passed;
        totals.failed += these.failed;
        totals.ignored += these.ignored;
        totals.suites += these.suites;
        if !run.status.success() {
            failures.push(format!("{what} ({})", run.status));
        }
    }
    eprintln!(
        "xtask: test: total {} passed; {} failed; {} ignored",
        totals.passed, totals.failed, totals.ignored
    );
    if !failures.is_empty() {
        bail!("failed: {}", failures.join(", "));
    }
    Ok(())
}

fn add_filter(cargo: &mut Command, filter: Option<&str>, threads: Option<&str>) {
    cargo.arg("--");
    if let Some(filter) = filter {
        cargo.arg(filter);
    }
    if let Some(threads) = threads {
        cargo.args(["--test-threads", threads]);
    }
}

/// Sums cargo's per-binary lines: `test result: ok. 3 passed; 1 failed; 0 ignored; ...`.
fn summarise(lines: &[String]) -> Totals {
    let mut totals = Totals::default();
    for line in lines {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            continue;
        };
        totals.suites += 1;
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(kind), Some(count)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(count) = count.parse::<u64>() else {
                continue;
            };
            match kind {
                "passed" => totals.passed += count,
                "failed" => totals.failed += count,
                "ignored" => totals.ignored += count,
                _ => {}
            }
        }
    }
    totals
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summarise_adds_every_result_line() {
        let lines: Vec<String> = [
            "running 3 tests",
            "test result: ok. 3 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s",
            "test a ... FAILED",
            "test result: FAILED. 4 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.20s",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let t = summarise(&lines);
        assert_eq!(
            (t.passed, t.failed, t.ignored, t.suites),
            (7, 2, 1, 2),
            "{t:?}"
        );
    }
}
