//! `cargo xtask setup`: makes sure the machine can build (and, when asked, test) vrrpd. Checks
//! first and only installs what is missing, so it is cheap to call before every build.
//!
//! The recipe is the one verified on Debian 12 (x86_64): LLVM 22 development packages for
//! bpf-linker, the nightly toolchain's `rust-src` for `-Z build-std=core`, and bpf-linker itself.

use std::process::Command;

use anyhow::bail;

use crate::cmd::{self, run_step};

/// Debian packages bpf-linker links against.
const BUILD_PACKAGES: &[&str] = &[
    "llvm-22-dev",
    "libpolly-22-dev",
    "libzstd-dev",
    "zlib1g-dev",
];
/// Debian packages the end-to-end tests and benchmarks run (`tshark` last: it needs a preseed).
const TEST_PACKAGES: &[&str] = &[
    "keepalived",
    "tcpdump",
    "iproute2",
    "iputils-ping",
    "arping",
    "ethtool",
    "nftables",
    "bpftool",
    "tshark",
];
const BPF_LINKER_VERSION: &str = "0.13.0";
const LLVM_PREFIX: &str = "/usr/lib/llvm-22";
/// Answer wireshark-common's "may non-root users capture?" question so the install never prompts.
const WIRESHARK_PRESEED: &str = "wireshark-common wireshark-common/install-setuid boolean false";

/// What the caller is about to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// `build`, `run`: the eBPF toolchain.
    Build,
    /// `test`, `bench`: the toolchain and the network tools.
    TestTools,
}

/// One thing to install, with the commands that install it.
struct Step {
    what: String,
    needs_root: bool,
    commands: Vec<Command>,
}

pub fn ensure(needs: Needs) -> anyhow::Result<()> {
    let steps = missing(needs);
    if steps.is_empty() {
        eprintln!(
            "xtask: setup: nothing to install (checked {} Debian packages, nightly rust-src, \
             bpf-linker {BPF_LINKER_VERSION})",
            BUILD_PACKAGES.len()
                + if needs == Needs::TestTools {
                    TEST_PACKAGES.len()
                } else {
                    0
                }
        );
        return Ok(());
    }
    if !is_root() && steps.iter().any(|s| s.needs_root) {
        eprintln!("xtask: setup: missing, and installing needs root. Run these commands as root:");
        for step in &steps {
            eprintln!("  # {}", step.what);
            for command in &step.commands {
                eprintln!("  {}", cmd::display(command));
            }
        }
        bail!("setup: not root, cannot install what is missing");
    }
    for mut step in steps {
        eprintln!("xtask: setup: installing {}", step.what);
        for command in &mut step.commands {
            run_step(&step.what, command)?;
        }
    }
    Ok(())
}

/// The install steps for what is missing, in the order they must run.
fn missing(needs: Needs) -> Vec<Step> {
    let mut wanted: Vec<&str> = BUILD_PACKAGES.to_vec();
    if needs == Needs::TestTools {
        wanted.extend_from_slice(TEST_PACKAGES);
    }
    let packages = missing_packages(&wanted);
    let mut steps = Vec::new();
    if !packages.is_empty() {
        let mut commands = Vec::new();
        if packages.contains(&"tshark") {
            let mut preseed = Command::new("sh");
            preseed.args([
                "-c",
                &format!("echo '{WIRESHARK_PRESEED}' | debconf-set-selections"),
            ]);
            commands.push(preseed);
        }
        let mut update = Command::new("apt-get");
        update.arg("update");
        commands.push(update);
        let mut install = Command::new("apt-get");
        install
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y"])
            .args(&packages);
        commands.push(install);
        steps.push(Step {
            what: format!("Debian packages {}", packages.join(", ")),
            needs_root: true,
            commands,
        });
    }
    if !has_rust_src() {
        let mut add = Command::new("rustup");
        add.args(["component", "add", "rust-src", "--toolchain", "nightly"]);
        steps.push(Step {
            what: "rust-src for the nightly toolchain (-Z build-std=core)".into(),
            needs_root: false,
            commands: vec![add],
        });
    }
    if !has_bpf_linker() {
        let mut install = cmd::cargo();
        install.env("LLVM_PREFIX", LLVM_PREFIX).args([
            "install",
            "bpf-linker",
            "--version",
            BPF_LINKER_VERSION,
            "--no-default-features",
            "--features",
            "llvm-22",
        ]);
        steps.push(Step {
            what: format!("bpf-linker {BPF_LINKER_VERSION}"),
            needs_root: false,
            commands: vec![install],
        });
    }
    steps
}

/// The packages of `wanted` that are not fully installed (one `dpkg-query` for all of them).
fn missing_packages<'a>(wanted: &[&'a str]) -> Vec<&'a str> {
    let report = cmd::probe_any_status(
        Command::new("dpkg-query")
            .args(["-W", "-f=${Package} ${Status}\\n"])
            .args(wanted),
    )
    .unwrap_or_default();
    let installed: Vec<&str> = report
        .lines()
        .filter(|line| line.ends_with(" install ok installed"))
        .filter_map(|line| line.split_whitespace().next())
        .map(|name| name.split(':').next().unwrap_or(name))
        .collect();
    wanted
        .iter()
        .copied()
        .filter(|p| !installed.contains(p))
        .collect()
}

fn has_rust_src() -> bool {
    cmd::probe(Command::new("rustup").args([
        "component",
        "list",
        "--toolchain",
        "nightly",
        "--installed",
    ]))
    .is_some_and(|list| list.lines().any(|l| l.trim().starts_with("rust-src")))
}

fn has_bpf_linker() -> bool {
    cmd::probe(Command::new("bpf-linker").arg("--version"))
        .is_some_and(|v| v.split_whitespace().any(|w| w == BPF_LINKER_VERSION))
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}
