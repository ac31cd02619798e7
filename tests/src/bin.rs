//! Where the `vrrpd` binary under test is.

use std::path::{Path, PathBuf};

/// The `vrrpd` binary: `VRRPD_BIN` if set (`cargo xtask test` sets it), else `target/debug/vrrpd`
/// of this workspace. Panics, saying how to build it, if it does not exist.
pub fn vrrpd_bin() -> PathBuf {
    let bin = match std::env::var_os("VRRPD_BIN") {
        Some(bin) => PathBuf::from(bin),
        None => {
            let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .expect("the tests crate sits inside the workspace");
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .map(|t| {
                    if t.is_absolute() {
                        t
                    } else {
                        workspace.join(t)
                    }
                })
                .unwrap_or_else(|| workspace.join("target"));
            target.join("debug").join("vrrpd")
        }
    };
    assert!(
        bin.is_file(),
        "vrrpd binary {} not found: run `cargo xtask test`, or `cargo build -p vrrp-userspace` \
         first, or set VRRPD_BIN",
        bin.display()
    );
    bin
}
