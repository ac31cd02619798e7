//! `cargo xtask build`: set-up, then `cargo build -p vrrp-userspace`, whose build.rs builds the XDP
//! object with nightly + bpf-linker (aya-build) and embeds it, so the result is one binary.

use std::path::PathBuf;

use anyhow::ensure;

use crate::cmd::{self, run_step};
use crate::setup;

/// Builds vrrpd and returns the path of the binary.
pub fn build(release: bool) -> anyhow::Result<PathBuf> {
    setup::ensure(setup::Needs::Build)?;
    build_only(release)
}

/// Builds vrrpd without the set-up check (for callers that already ran it).
pub fn build_only(release: bool) -> anyhow::Result<PathBuf> {
    let mut cargo = cmd::cargo();
    cargo.args(["build", "-p", "vrrp-userspace", "--bin", "vrrpd"]);
    if release {
        cargo.arg("--release");
    }
    run_step("build vrrpd", &mut cargo)?;
    let bin = cmd::target_dir()
        .join(if release { "release" } else { "debug" })
        .join("vrrpd");
    ensure!(
        bin.is_file(),
        "cargo built vrrpd but {} does not exist",
        bin.display()
    );
    Ok(bin)
}
