//! `cargo xtask lint`: formatting and clippy, kept apart from `test` so tests stay tests.

use crate::cmd::{self, run_step};

pub fn lint() -> anyhow::Result<()> {
    crate::setup::ensure(crate::setup::Needs::Build)?;
    run_step("rustfmt", cmd::cargo().args(["fmt", "--all", "--check"]))?;
    // vrrp-ebpf only builds for the BPF target; vrrp-userspace's build.rs compiles it there.
    run_step(
        "clippy",
        cmd::cargo().args([
            "clippy",
            "--workspace",
            "--exclude",
            "vrrp-ebpf",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    eprintln!("xtask: lint: clean");
    Ok(())
}
