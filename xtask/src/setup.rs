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
    /// System packages need root; rustup components and `cargo install` must not run as root:
    /// they install into the toolchain of whoever runs them, which is the caller's.
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
        eprint!("{}", manual_instructions(&steps));
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

/// What a user who is not root is told to run: the root steps first (bpf-linker builds against
/// the LLVM packages), then the others as themselves, each as a line to paste into a shell.
fn manual_instructions(steps: &[Step]) -> String {
    let mut text = String::new();
    let sections = [
        (
            true,
            "xtask: setup: missing, and installing needs root. Run these commands as root:",
        ),
        (
            false,
            "then these as yourself, not as root (they install into your Rust toolchain):",
        ),
    ];
    for (needs_root, heading) in sections {
        let mut section = steps
            .iter()
            .filter(|s| s.needs_root == needs_root)
            .peekable();
        if section.peek().is_none() {
            continue;
        }
        text.push_str(heading);
        text.push('\n');
        for step in section {
            text.push_str(&format!("  # {}\n", step.what));
            for command in &step.commands {
                text.push_str(&format!("  {}\n", cmd::display(command)));
            }
        }
    }
    text.push_str("and run `cargo xtask setup` again.\n");
    text
}

/// The install steps for what is missing, in the order they must run.
fn missing(needs: Needs) -> Vec<Step> {
    let mut wanted: Vec<&str> = BUILD_PACKAGES.to_vec();
    if needs == Needs::TestTools {
        wanted.extend_from_slice(TEST_PACKAGES);
    }
    steps_for(&missing_packages(&wanted), has_rust_src(), has_bpf_linker())
}

/// The install steps for `packages` (missing Debian packages), rust-src unless `rust_src`, and
/// bpf-linker unless `bpf_linker`.
fn steps_for(packages: &[&str], rust_src: bool, bpf_linker: bool) -> Vec<Step> {
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
            .args(packages);
        commands.push(install);
        steps.push(Step {
            what: format!("Debian packages {}", packages.join(", ")),
            needs_root: true,
            commands,
        });
    }
    if !rust_src {
        let mut add = Command::new("rustup");
        add.args(["component", "add", "rust-src", "--toolchain", "nightly"]);
        steps.push(Step {
            what: "rust-src for the nightly toolchain (-Z build-std=core)".into(),
            needs_root: false,
            commands: vec![add],
        });
    }
    if !bpf_linker {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_root_lists_apt_as_root_and_the_toolchain_as_yourself() {
        let steps = steps_for(&["llvm-22-dev", "tshark"], false, false);
        let needs_root: Vec<bool> = steps.iter().map(|s| s.needs_root).collect();
        assert_eq!(
            needs_root,
            [true, false, false],
            "apt, rustup, cargo install"
        );
        let text = manual_instructions(&steps);
        let (root, user) = text
            .split_once("then these as yourself")
            .unwrap_or_else(|| panic!("no as-yourself section:\n{text}"));
        assert!(root.contains("as root"), "{text}");
        // The preseed, with the quotes inside its script escaped for the shell.
        assert!(
            root.contains(&format!(
                "  sh -c 'echo '\\''{WIRESHARK_PRESEED}'\\'' | debconf-set-selections'\n"
            )),
            "{text}"
        );
        assert!(root.contains("  apt-get update\n"), "{text}");
        assert!(
            root.contains(
                "  DEBIAN_FRONTEND=noninteractive apt-get install -y llvm-22-dev tshark\n"
            ),
            "{text}"
        );
        assert!(
            !root.contains("rustup") && !root.contains("cargo install"),
            "{text}"
        );
        assert!(
            user.contains("  rustup component add rust-src --toolchain nightly\n"),
            "{text}"
        );
        // `cargo`, not the path of the cargo running this test.
        assert!(
            user.contains(&format!(
                "  LLVM_PREFIX={LLVM_PREFIX} cargo install bpf-linker --version \
                 {BPF_LINKER_VERSION} --no-default-features --features llvm-22\n"
            )),
            "{text}"
        );
        assert!(!user.contains("apt-get"), "{text}");
    }

    #[test]
    fn the_preseed_line_runs_in_a_shell_as_written() {
        let steps = steps_for(&["tshark"], true, true);
        let preseed = &steps[0].commands[0];
        let line = cmd::display(preseed);
        // The same script, with debconf-set-selections swapped for cat: what it would be fed.
        let line = line.replace("debconf-set-selections", "cat");
        let out = Command::new("sh").args(["-c", &line]).output().expect("sh");
        assert!(out.status.success(), "{line}: {out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("{WIRESHARK_PRESEED}\n")
        );
    }
}
