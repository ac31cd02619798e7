//! Helpers shared by this crate's integration tests.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use vrrpd::config::LoadOptions;

/// A temporary directory removed on drop, also when the test fails.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// Unique per call, so tests running in parallel threads never share one.
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "vrrpd-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        TempDir(p)
    }

    /// A `/bin/sh` script `name` running `body`, with mode `mode`.
    pub fn script_with_mode(&self, name: &str, body: &str, mode: u32) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    /// A file `name` with `contents`.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, contents).expect("write temp file");
        p
    }

    /// An executable `/bin/sh` script `name` running `body`.
    pub fn script(&self, name: &str, body: &str) -> PathBuf {
        self.script_with_mode(name, body, 0o755)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How the config tests load: config-id `config_id`, scripts checked, interfaces not (the
/// results must not depend on this machine's links), includes followed.
pub fn load_options(config_id: &str) -> LoadOptions {
    LoadOptions {
        config_id: config_id.into(),
        all_config: false,
        check_scripts: true,
        check_interfaces: false,
        follow_includes: true,
    }
}
