//! `cargo xtask bench [xdp|failover|flood|scale|all]`: benchmarks, each run by its own recipe. A
//! benchmark whose code is not in the tree yet is reported as not available (an error), never
//! faked.

use std::path::Path;

use anyhow::bail;
use clap::ValueEnum;

use crate::cmd::{self, run_step};
use crate::setup;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Bench {
    /// XDP program cost per packet (BPF_PROG_TEST_RUN), `cargo bench --bench xdp`.
    Xdp,
    /// Time from master loss to the backup owning the VIPs, in network namespaces.
    Failover,
    /// Advert floods: what the dataplane drops and what the daemon still sees.
    Flood,
    /// Many instances on one interface.
    Scale,
    /// Every available benchmark.
    All,
}

/// How a benchmark runs.
enum Recipe {
    /// A criterion-style `cargo bench` target: `package`, bench name, and its source file relative
    /// to the workspace root (present when the benchmark exists).
    CargoBench {
        package: &'static str,
        bench: &'static str,
        source: &'static str,
    },
}

const ALL: [Bench; 4] = [Bench::Xdp, Bench::Failover, Bench::Flood, Bench::Scale];

fn recipe(bench: Bench) -> Option<Recipe> {
    match bench {
        Bench::Xdp => Some(Recipe::CargoBench {
            package: "vrrp-userspace",
            bench: "xdp",
            source: "vrrp-userspace/benches/xdp.rs",
        }),
        Bench::Failover | Bench::Flood | Bench::Scale | Bench::All => None,
    }
}

fn name(bench: Bench) -> String {
    bench
        .to_possible_value()
        .map_or_else(|| format!("{bench:?}"), |v| v.get_name().to_string())
}

pub fn bench(which: Bench) -> anyhow::Result<()> {
    setup::ensure(setup::Needs::TestTools)?;
    let chosen: Vec<Bench> = if which == Bench::All {
        ALL.to_vec()
    } else {
        vec![which]
    };
    let mut unavailable = Vec::new();
    for bench in chosen {
        match recipe(bench).filter(available) {
            Some(recipe) => run(bench, &recipe)?,
            None => unavailable.push(name(bench)),
        }
    }
    if !unavailable.is_empty() {
        bail!(
            "benchmark not available yet: {} (no code for it in this tree)",
            unavailable.join(", ")
        );
    }
    Ok(())
}

fn available(recipe: &Recipe) -> bool {
    match recipe {
        Recipe::CargoBench { source, .. } => {
            cmd::workspace_root().join(Path::new(source)).is_file()
        }
    }
}

fn run(bench: Bench, recipe: &Recipe) -> anyhow::Result<()> {
    match recipe {
        Recipe::CargoBench {
            package,
            bench: target,
            ..
        } => {
            run_step(
                &format!("bench {}", name(bench)),
                cmd::cargo().args(["bench", "-p", package, "--bench", target]),
            )?;
        }
    }
    Ok(())
}
