//! Differential test against the real keepalived: for the seeds, the corpus and the exit-code
//! cases in `tests/data/config/differential/`, `keepalived -t` and `vrrpd check` exit with the
//! same code, except for the documented divergences in [`DIVERGENCES`], whose two codes are
//! asserted exactly. keepalived -t only parses and checks; it is given private pid files and
//! starts nothing. Corpus files whose first line says `# differential: skip - REASON` are left
//! out (only where keepalived -t cannot run the check here at all).

use std::path::{Path, PathBuf};
use std::process::Command;

use vrrpd::config::check::exit_code;
use vrrpd::config::{LoadOptions, analyse};

fn keepalived() -> PathBuf {
    for dir in ["/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/bin"] {
        let p = Path::new(dir).join("keepalived");
        if p.exists() {
            return p;
        }
    }
    panic!(
        "keepalived is not installed: the differential test needs it (`cargo xtask` installs keepalived 2.2.7, or apt-get install keepalived)"
    );
}

struct PidDir(PathBuf);

impl Drop for PidDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn keepalived_exit(bin: &Path, conf: &Path, config_id: &str, all_config: bool, pids: &Path) -> i32 {
    let out = Command::new(bin)
        .arg("--config-test")
        .args(all_config.then_some("--all-config"))
        .arg("--use-file")
        .arg(conf)
        .args(["--config-id", config_id, "--log-console", "--dont-fork"])
        .arg("--pid")
        .arg(pids.join("k.pid"))
        .arg("--vrrp_pid")
        .arg(pids.join("v.pid"))
        .arg("--checkers_pid")
        .arg(pids.join("c.pid"))
        .output()
        .expect("run keepalived -t");
    out.status
        .code()
        .unwrap_or_else(|| panic!("keepalived -t killed by a signal on {}", conf.display()))
}

/// Where vrrpd's `check` exit code deliberately differs from keepalived 2.2.7's `-t`, each
/// listed in docs/configuration.md ("vrrpd check"): (file name, keepalived's code, vrrpd's
/// code). Both codes are asserted, so an entry cannot outlive the divergence it documents.
const DIVERGENCES: &[(&str, i32, u8)] = &[
    // vrrpd refuses AH (not implemented); keepalived 2.2.7 accepts it under v2.
    ("auth-ah.conf", 0, 4),
    // A file that includes itself: keepalived recurses until it runs out of file descriptors
    // and carries on (exit 0, or 5 once the repeated instance is reported); vrrpd refuses.
    ("include-loop.conf", 5, 4),
    // IPv6 VIPs with `version 2`: vrrpd forces v3 with a warning, keepalived keeps v2.
    ("ipv6-version-2.conf", 0, 5),
    // Unicast peers under vrrp_strict: vrrpd refuses, keepalived 2.2.7 accepts.
    ("strict-unicast.conf", 0, 4),
    // keepalived exits 0 when the main file does not exist; vrrpd says it cannot run.
    ("does-not-exist.conf", 0, 4),
];

fn cases() -> Vec<(PathBuf, &'static str)> {
    let mut v: Vec<(PathBuf, &'static str)> = Vec::new();
    for seed in [
        "dual-master.another.conf",
        "dual-master.one.conf",
        "master-backup.backup.conf",
        "master-backup.master.conf",
    ] {
        v.push((Path::new("../examples").join(seed), "seed"));
    }
    for dir in ["tests/data/config", "tests/data/config/differential"] {
        let mut corpus: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("corpus")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "conf"))
            .collect();
        corpus.sort();
        v.extend(corpus.into_iter().map(|p| (p, "node1")));
    }
    v.push((
        PathBuf::from("tests/data/config/differential/does-not-exist.conf"),
        "node1",
    ));
    v
}

#[test]
fn keepalived_and_vrrpd_exit_codes_are_equal() {
    let bin = keepalived();
    let pids = PidDir(std::env::temp_dir().join(format!("vrrpd-ka-diff-{}", std::process::id())));
    std::fs::create_dir_all(&pids.0).expect("pid dir");
    let mut disagreements = Vec::new();
    let mut compared = 0;
    let mut diverged = Vec::new();
    for (conf, id) in cases() {
        let first_line = std::fs::read_to_string(&conf)
            .map(|t| t.lines().next().unwrap_or_default().to_string())
            .unwrap_or_default();
        if first_line.starts_with("# differential: skip") {
            continue;
        }
        let name = conf
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        // `NAME.all-config.conf` is checked with keepalived's -e on both sides.
        let all_config = name.ends_with(".all-config.conf");
        let config_id = if id == "seed" { "seed" } else { "node1" };
        let ka = keepalived_exit(&bin, &conf, config_id, all_config, &pids.0);
        // keepalived checks interfaces and scripts on this machine, so vrrpd does too here.
        let opts = LoadOptions {
            config_id: config_id.into(),
            all_config,
            check_scripts: true,
            check_interfaces: true,
            follow_includes: true,
        };
        let ours = exit_code(&analyse(&conf, &opts));
        compared += 1;
        match DIVERGENCES.iter().find(|(n, _, _)| *n == name) {
            Some(&(_, want_ka, want_ours)) => {
                diverged.push(name.clone());
                if ka != want_ka || ours != want_ours {
                    disagreements.push(format!(
                        "{}: documented divergence is keepalived {want_ka} / vrrpd {want_ours}, measured keepalived {ka} / vrrpd {ours}",
                        conf.display()
                    ));
                }
            }
            None if ka != i32::from(ours) => disagreements.push(format!(
                "{}: keepalived -t exit {ka}, vrrpd check exit {ours}",
                conf.display()
            )),
            None => {}
        }
    }
    for (n, _, _) in DIVERGENCES {
        assert!(
            diverged.iter().any(|d| d == n),
            "divergence {n} has no configuration file"
        );
    }
    assert!(
        compared >= 40,
        "too few configurations compared ({compared})"
    );
    assert!(
        disagreements.is_empty(),
        "keepalived and vrrpd disagree:\n{}",
        disagreements.join("\n")
    );
}
