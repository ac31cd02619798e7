//! `cargo xtask`: set-up, build, run, test, lint and benchmarks for vrrpd.
//!
//! Each subcommand lives in its own module; `cmd` holds the process plumbing they share.

mod bench;
mod build;
mod cmd;
mod demo;
mod lint;
mod run;
mod setup;
mod test;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "Build, run and test vrrpd")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Install what building (and with --test-tools, testing) needs; does nothing when all is there.
    Setup {
        /// Also install the tools the tests and benchmarks use (keepalived, tshark, ...).
        #[arg(long)]
        test_tools: bool,
    },
    /// Build vrrpd (the XDP object is built and embedded by vrrp-userspace/build.rs).
    Build {
        #[arg(long)]
        release: bool,
    },
    /// Build vrrpd, then replace this process with it: `cargo xtask run -- --iface eth0`.
    Run {
        #[arg(long)]
        release: bool,
        /// Arguments for vrrpd.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run every test: unit tests, eBPF program tests, then the network-namespace end-to-end tests.
    Test {
        /// Only run tests whose name contains this (passed to the test harness).
        filter: Option<String>,
    },
    /// `cargo fmt --check` and `cargo clippy -D warnings` over the workspace.
    Lint,
    /// Guided run of the seed configurations in network namespaces: failovers, pings, outages.
    Demo {
        #[arg(long = "impl", value_enum, default_value_t = demo::DemoImpl::Vrrpd)]
        which: demo::DemoImpl,
    },
    /// Run a benchmark.
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Setup { test_tools } => setup::ensure(if test_tools {
            setup::Needs::TestTools
        } else {
            setup::Needs::Build
        }),
        Command::Build { release } => build::build(release).map(|_| ()),
        Command::Run { release, args } => run::run(release, &args),
        Command::Test { filter } => test::test(filter.as_deref()),
        Command::Lint => lint::lint(),
        Command::Bench(args) => bench::bench(&args),
        Command::Demo { which } => demo::demo(which),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
