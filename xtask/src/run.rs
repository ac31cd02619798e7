//! `cargo xtask run -- ARGS`: builds vrrpd, then becomes it (exec), so Ctrl-C and other signals go
//! straight to vrrpd and its exit code is ours.

use std::os::unix::process::CommandExt as _;
use std::process::Command;

use anyhow::Context as _;

use crate::build;

pub fn run(release: bool, args: &[String]) -> anyhow::Result<()> {
    let bin = build::build(release)?;
    eprintln!("xtask: exec {} {}", bin.display(), args.join(" "));
    // exec only returns on failure.
    let err = Command::new(&bin).args(args).exec();
    Err(err).with_context(|| format!("cannot exec {}", bin.display()))
}
