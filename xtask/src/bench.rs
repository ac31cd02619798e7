//! `cargo xtask bench [xdp|failover|flood|scale|all]`: benchmarks. `xdp` is a `cargo bench`
//! target; the others run vrrpd and keepalived side by side in network namespaces (modules under
//! `bench/`) and write their tables and plots to target/bench/. A benchmark whose code is not in
//! the tree is reported as not available (an error), never faked.

mod config;
mod cpu;
mod daemon;
mod failover;
mod flood;
mod interrupt;
mod lab_run;
mod probe;
mod procstat;
mod recv_trace;
mod report;
mod scale;
mod sender;
mod stats;

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};

use crate::cmd::{self, run_step};
use crate::{build, setup};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Bench {
    /// XDP program cost per packet (BPF_PROG_TEST_RUN), `cargo bench --bench xdp`.
    Xdp,
    /// Time from master loss to the backup owning the VIPs, in network namespaces.
    Failover,
    /// A flood of other traffic at the backup, and stalled daemons: no false failover.
    Flood,
    /// 255 instances on one interface.
    Scale,
    /// Every benchmark, then target/bench/report.md.
    All,
}

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    #[arg(value_enum, default_value_t = Bench::All)]
    pub which: Bench,
    /// Failover repetitions per scenario, interval and implementation.
    #[arg(long, default_value_t = 20)]
    pub runs: usize,
    /// A fast check: 3 failover runs over fewer intervals, shorter flood and scale phases.
    #[arg(long)]
    pub quick: bool,
    /// Benchmark the debug build of vrrpd instead of the release one (`VRRPD_BIN` overrides both).
    #[arg(long)]
    pub debug_vrrpd: bool,
}

const XDP_SOURCE: &str = "vrrp-userspace/benches/xdp.rs";

fn name(bench: Bench) -> String {
    bench
        .to_possible_value()
        .map_or_else(|| format!("{bench:?}"), |v| v.get_name().to_string())
}

pub fn bench(args: &BenchArgs) -> anyhow::Result<()> {
    setup::ensure(setup::Needs::TestTools)?;
    interrupt::install();
    let chosen: Vec<Bench> = if args.which == Bench::All {
        vec![Bench::Xdp, Bench::Failover, Bench::Flood, Bench::Scale]
    } else {
        vec![args.which]
    };
    let needs_daemons = chosen.iter().any(|b| *b != Bench::Xdp);
    let vrrpd = if needs_daemons {
        vrrpd_bin(args.debug_vrrpd)
    } else {
        Err(String::new())
    };
    if let Err(e) = &vrrpd
        && needs_daemons
    {
        eprintln!("xtask: bench: vrrpd unavailable, its rows will fail: {e}");
    }
    let mut sections = Vec::new();
    let mut errors = Vec::new();
    for bench in chosen {
        if interrupt::interrupted() {
            errors.push("interrupted".to_string());
            break;
        }
        let result = match bench {
            Bench::Xdp => xdp(),
            Bench::Failover => failover::run(
                &failover::Options {
                    runs: args.runs.max(1),
                    quick: args.quick,
                },
                &vrrpd,
            ),
            Bench::Flood => flood::run(args.quick, &vrrpd),
            Bench::Scale => scale::run(args.quick, &vrrpd),
            Bench::All => unreachable!("expanded above"),
        };
        match result {
            Ok(md) => sections.push((name(bench), md, None)),
            Err(e) => {
                eprintln!("xtask: bench {}: {e:#}", name(bench));
                // A benchmark that failed part-way still wrote its table; the report embeds it.
                let md =
                    std::fs::read_to_string(report::out_dir()?.join(format!("{}.md", name(bench))))
                        .unwrap_or_default();
                sections.push((name(bench), md, Some(format!("{e:#}"))));
                errors.push(format!("{}: {e:#}", name(bench)));
            }
        }
    }
    if args.which == Bench::All {
        let mut text = format!("# vrrpd benchmark report\n\n{}\n", report::machine());
        for (bench, md, error) in &sections {
            if let Some(error) = error {
                text.push_str(&format!(
                    "\n> **{bench} failed:** {}\n",
                    error.replace('\n', " ")
                ));
            }
            // Each section's own `# Title` becomes a second-level heading of the report.
            let body = md.replacen("# ", "## ", 1);
            text.push_str(&format!("\n{body}\n"));
        }
        let path = report::write("report.md", &text)?;
        println!("written: {}", path.display());
    }
    if !errors.is_empty() {
        bail!("{}", errors.join("\n"));
    }
    Ok(())
}

/// The vrrpd binary to benchmark: `VRRPD_BIN`, else a fresh build (release unless `debug`). The
/// error is kept, not raised: keepalived's rows still run.
fn vrrpd_bin(debug: bool) -> Result<PathBuf, String> {
    if let Some(bin) = std::env::var_os("VRRPD_BIN") {
        let bin = PathBuf::from(bin);
        return if bin.is_file() {
            Ok(bin)
        } else {
            Err(format!("VRRPD_BIN={} does not exist", bin.display()))
        };
    }
    build::build_only(!debug).map_err(|e| format!("{e:#}"))
}

/// The XDP benchmark (`cargo bench`); the section is the table it writes to `xdp.md` (its
/// output also carries cargo's build lines, which do not belong in the report).
fn xdp() -> anyhow::Result<String> {
    if !cmd::workspace_root().join(Path::new(XDP_SOURCE)).is_file() {
        bail!("benchmark not available yet: xdp ({XDP_SOURCE} is not in this tree)");
    }
    let path = report::out_dir()?.join("xdp.md");
    // A table left by an earlier run must not pass for this one's.
    let _ = std::fs::remove_file(&path);
    run_step(
        "bench xdp",
        cmd::cargo()
            .args(["bench", "-p", "vrrp-userspace", "--bench", "xdp"])
            // Absolute, so the bench (run from its package's directory) writes where we read.
            .env("CARGO_TARGET_DIR", cmd::target_dir()),
    )?;
    std::fs::read_to_string(&path)
        .with_context(|| format!("bench xdp wrote no table to {}", path.display()))
}
