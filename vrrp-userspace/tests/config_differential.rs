//! Differential test against the real keepalived: for the seeds and the corpus, `keepalived -t`
//! and vrrpd's check agree on whether the configuration is clean (exit 0) and, when keepalived
//! says it cannot run (exit 4), vrrpd says so too. keepalived -t only parses and checks; it is
//! given private pid files and starts nothing. Corpus files whose first line says
//! `# differential: skip - REASON` are left out (the reason is the documented divergence).

use std::path::{Path, PathBuf};
use std::process::Command;

use vrrpd::config::check::{EXIT_CANNOT_RUN, exit_code};
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

fn keepalived_exit(bin: &Path, conf: &Path, config_id: &str, pids: &Path) -> i32 {
    let out = Command::new(bin)
        .arg("--config-test")
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
    let mut corpus: Vec<PathBuf> = std::fs::read_dir("tests/data/config")
        .expect("corpus")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    corpus.sort();
    v.extend(corpus.into_iter().map(|p| (p, "node1")));
    v
}

#[test]
fn keepalived_and_vrrpd_agree_on_accept_reject() {
    let bin = keepalived();
    let pids = PidDir(std::env::temp_dir().join(format!("vrrpd-ka-diff-{}", std::process::id())));
    std::fs::create_dir_all(&pids.0).expect("pid dir");
    let mut disagreements = Vec::new();
    let mut compared = 0;
    for (conf, id) in cases() {
        let first_line = std::fs::read_to_string(&conf)
            .expect("read")
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        if first_line.starts_with("# differential: skip") {
            continue;
        }
        let config_id = if id == "seed" { "seed" } else { "node1" };
        let ka = keepalived_exit(&bin, &conf, config_id, &pids.0);
        // keepalived checks interfaces and scripts on this machine, so vrrpd does too here.
        let opts = LoadOptions {
            config_id: config_id.into(),
            all_config: false,
            check_scripts: true,
            check_interfaces: true,
            follow_includes: true,
        };
        let ours = exit_code(&analyse(&conf, &opts));
        compared += 1;
        let clean_agrees = (ka == 0) == (ours == 0);
        let cannot_run_agrees = ka != i32::from(EXIT_CANNOT_RUN) || ours == EXIT_CANNOT_RUN;
        if !clean_agrees || !cannot_run_agrees {
            disagreements.push(format!(
                "{}: keepalived -t exit {ka}, vrrpd check exit {ours}",
                conf.display()
            ));
        }
    }
    assert!(
        compared >= 10,
        "too few configurations compared ({compared})"
    );
    assert!(
        disagreements.is_empty(),
        "keepalived and vrrpd disagree:\n{}",
        disagreements.join("\n")
    );
}
