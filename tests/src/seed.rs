//! The seed configurations (`examples/`, the keepalived.conf files users bring, which must run
//! unchanged in production) and their adaptation to a lab: the tests may only use 10.0.0.0/8, and
//! `chk_nginx` must be a script the test controls. Everything else (`interface eth0`, priorities,
//! `nopreempt`, `advert_int`, weights, intervals) stays exactly as in the seed.

use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use crate::tempdir::TempDir;

/// The seed's first virtual address (master/backup, and `VI_1` of dual-master).
pub const SEED_VIP1: &str = "192.168.200.100";
/// The seed's second virtual address (`VI_2` of dual-master).
pub const SEED_VIP2: &str = "192.168.200.200";
/// The seed's tracking script.
pub const SEED_SCRIPT: &str = "/etc/keepalived/nginx_check.sh";
/// Host numbers the seed VIPs become in the lab: `10.X.0.200` and `10.X.0.201`.
pub const LAB_VIP1_HOST: u8 = 200;
pub const LAB_VIP2_HOST: u8 = 201;

/// One of the four seed files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seed {
    MasterBackupMaster,
    MasterBackupBackup,
    DualMasterOne,
    DualMasterAnother,
}

impl Seed {
    pub const ALL: [Seed; 4] = [
        Seed::MasterBackupMaster,
        Seed::MasterBackupBackup,
        Seed::DualMasterOne,
        Seed::DualMasterAnother,
    ];

    /// The file's text, exactly as shipped in `examples/`.
    pub fn text(self) -> &'static str {
        match self {
            Seed::MasterBackupMaster => include_str!("../../examples/master-backup.master.conf"),
            Seed::MasterBackupBackup => include_str!("../../examples/master-backup.backup.conf"),
            Seed::DualMasterOne => include_str!("../../examples/dual-master.one.conf"),
            Seed::DualMasterAnother => include_str!("../../examples/dual-master.another.conf"),
        }
    }

    /// The seed adapted to lab subnet `subnet`, its `chk_nginx` running `script`.
    pub fn adapted(self, subnet: u8, script: &Path) -> String {
        adapt(self.text(), subnet, script)
    }
}

/// The lab address a seed VIP becomes.
pub fn lab_vip(subnet: u8, host: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, subnet, 0, host)
}

/// Rewrites a seed configuration for lab subnet `subnet`: `192.168.200.100` → `10.X.0.200`,
/// `192.168.200.200` → `10.X.0.201`, and the nginx check → `script`. Nothing else changes.
pub fn adapt(seed: &str, subnet: u8, script: &Path) -> String {
    seed.replace(SEED_VIP1, &lab_vip(subnet, LAB_VIP1_HOST).to_string())
        .replace(SEED_VIP2, &lab_vip(subnet, LAB_VIP2_HOST).to_string())
        .replace(SEED_SCRIPT, &script.to_string_lossy())
}

/// A stand-in for `nginx_check.sh`: a script that exits with the number in a control file, so the
/// test decides whether "nginx" is up. Starts healthy (exit 0). Removed on `Drop`.
pub struct CheckScript {
    dir: TempDir,
    script: PathBuf,
    control: PathBuf,
}

impl CheckScript {
    pub fn new() -> CheckScript {
        let dir = TempDir::new("chk");
        let control = dir.write("status", "0\n");
        let script = dir.write(
            "nginx_check.sh",
            &format!("#!/bin/sh\nexit \"$(cat '{}')\"\n", control.display()),
        );
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("chmod {}: {e}", script.display()));
        CheckScript {
            dir,
            script,
            control,
        }
    }

    /// The script's path, for the configuration.
    pub fn path(&self) -> &Path {
        &self.script
    }

    /// Makes the script succeed (`true`) or fail with exit status 1 from its next run on.
    pub fn set_healthy(&self, healthy: bool) {
        self.dir
            .write("status.tmp", if healthy { "0\n" } else { "1\n" });
        // Renamed into place so a run in progress never reads an empty file.
        std::fs::rename(self.dir.path().join("status.tmp"), &self.control)
            .unwrap_or_else(|e| panic!("updating {}: {e}", self.control.display()));
    }
}

impl Default for CheckScript {
    fn default() -> Self {
        CheckScript::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adaptation_only_touches_addresses_and_the_script() {
        let script = Path::new("/tmp/vt-chk-1-0/nginx_check.sh");
        for seed in Seed::ALL {
            let text = seed.text();
            let adapted = seed.adapted(7, script);
            assert!(!adapted.contains("192.168."), "{seed:?}:\n{adapted}");
            assert!(!adapted.contains("/etc/keepalived"), "{seed:?}:\n{adapted}");
            assert!(adapted.contains("interface eth0"), "{seed:?}");
            assert!(adapted.contains("10.7.0.200"), "{seed:?}");
            assert!(adapted.contains(&format!("script \"{}\"", script.display())));
            let (before, after): (Vec<_>, Vec<_>) =
                (text.lines().collect(), adapted.lines().collect());
            assert_eq!(
                before.len(),
                after.len(),
                "{seed:?}: lines added or removed"
            );
            for (b, a) in before.iter().zip(&after) {
                let touched =
                    b.contains(SEED_VIP1) || b.contains(SEED_VIP2) || b.contains(SEED_SCRIPT);
                assert!(touched || b == a, "{seed:?}: {b:?} became {a:?}");
            }
        }
        let dual = Seed::DualMasterAnother.adapted(7, script);
        assert!(dual.contains("10.7.0.201") && dual.contains("10.7.0.200"));
    }

    #[test]
    fn check_script_exits_with_the_control_value() {
        let check = CheckScript::new();
        let run = || {
            std::process::Command::new(check.path())
                .status()
                .expect("runs")
                .code()
        };
        assert_eq!(run(), Some(0));
        check.set_healthy(false);
        assert_eq!(run(), Some(1));
        check.set_healthy(true);
        assert_eq!(run(), Some(0));
    }
}
