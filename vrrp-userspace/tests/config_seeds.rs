//! The four seed configurations (examples/) produce exactly keepalived 2.2.7's diagnostics.
//! Recorded on this machine with `keepalived -t -f examples/X.conf -l -D` (keepalived 2.2.7,
//! /etc/keepalived/nginx_check.sh absent, eth0 present); it exited 5 for all four.

use std::path::Path;

use vrrpd::config::check::exit_code;
use vrrpd::config::model::InitialState;
use vrrpd::config::{LoadOptions, Severity, analyse, resolve};

const KEEPALIVED_2_2_7: &[(&str, &[&str])] = &[
    (
        "dual-master.another.conf",
        &[
            "Disabling track script chk_nginx since not found/accessible",
            "(VI_2) Warning - nopreempt will not work with initial state MASTER - clearing",
        ],
    ),
    (
        "dual-master.one.conf",
        &[
            "Disabling track script chk_nginx since not found/accessible",
            "(VI_1) Warning - nopreempt will not work with initial state MASTER - clearing",
        ],
    ),
    (
        "master-backup.backup.conf",
        &["Disabling track script chk_nginx since not found/accessible"],
    ),
    (
        "master-backup.master.conf",
        &[
            "Disabling track script chk_nginx since not found/accessible",
            "(VI_1) Warning - nopreempt will not work with initial state MASTER - clearing",
        ],
    ),
];

fn opts() -> LoadOptions {
    LoadOptions {
        config_id: "seed".into(),
        all_config: false,
        check_scripts: true,
        check_interfaces: false,
        follow_includes: true,
    }
}

#[test]
fn seeds_give_keepalived_warnings_and_exit_code() {
    assert!(
        !Path::new("/etc/keepalived/nginx_check.sh").exists(),
        "the recorded keepalived output assumes /etc/keepalived/nginx_check.sh does not exist"
    );
    for (file, expected) in KEEPALIVED_2_2_7 {
        let path = Path::new("../examples").join(file);
        let a = analyse(&path, &opts());
        let got: Vec<&str> = a
            .diagnostics
            .iter()
            .filter(|d| d.severity >= Severity::Warning)
            .map(|d| d.message.as_str())
            .collect();
        assert_eq!(&got, expected, "{file}");
        assert_eq!(
            exit_code(&a),
            5,
            "{file}: keepalived -t exits 5 (errors, would run)"
        );
    }
}

#[test]
fn seed_master_is_cleared_of_nopreempt_and_loses_its_disabled_tracker() {
    let loaded = vrrpd::config::load(Path::new("../examples/master-backup.master.conf"), &opts())
        .expect("seed loads");
    let r = resolve(&loaded.config);
    assert_eq!(r.len(), 1);
    let vi = &r[0];
    assert_eq!(
        (vi.vrid, vi.priority, vi.initial_state),
        (50, 100, InitialState::Master)
    );
    assert!(!vi.nopreempt, "nopreempt is cleared with state MASTER");
    assert!(
        vi.track_scripts.is_empty(),
        "the disabled chk_nginx is removed from the instance"
    );
    assert_eq!(vi.advert_int_centis, 100);
    assert_eq!(vi.version, 2);
    assert_eq!(vi.vips.len(), 1);
    assert_eq!(vi.vips[0].address.to_string(), "192.168.200.100");
    // The script definition itself stays in the model, disabled.
    assert_eq!(loaded.config.vrrp_scripts.len(), 1);
    assert!(!loaded.config.vrrp_scripts[0].enabled);
    assert_eq!(loaded.config.vrrp_scripts[0].weight, -20);
    assert_eq!(loaded.config.vrrp_scripts[0].interval_us, 2_000_000);
}

#[test]
fn seed_backup_keeps_nopreempt() {
    let loaded = vrrpd::config::load(Path::new("../examples/master-backup.backup.conf"), &opts())
        .expect("seed loads");
    let r = resolve(&loaded.config);
    assert_eq!(
        (r[0].priority, r[0].initial_state, r[0].nopreempt),
        (80, InitialState::Backup, true)
    );
}

#[test]
fn check_command_prints_diagnostics_summary_and_keepalived_exit_code() {
    let bin = env!("CARGO_BIN_EXE_vrrpd");
    for args in [
        &["check", "--config", "../examples/dual-master.one.conf"][..],
        &["-t", "-f", "../examples/dual-master.one.conf"][..],
    ] {
        let out = std::process::Command::new(bin)
            .args(args)
            .output()
            .expect("run vrrpd");
        assert_eq!(out.status.code(), Some(5), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("dual-master.one.conf:16:5: warning: (VI_1) Warning - nopreempt will not work with initial state MASTER - clearing"),
            "{stderr}"
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("instance VI_1: interface eth0 vrid 50 VRRPv2 IPv4"),
            "{stdout}"
        );
        assert!(
            stdout.contains("priority 100 state MASTER advert_int 1s nopreempt false"),
            "{stdout}"
        );
    }
    let out = std::process::Command::new(bin)
        .args([
            "check",
            "--dump",
            "--config",
            "../examples/master-backup.backup.conf",
        ])
        .output()
        .expect("run vrrpd");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("--dump prints JSON");
    assert_eq!(v["resolved"][0]["priority"], 80);
    assert_eq!(v["config"]["vrrp_instances"][0]["virtual_router_id"], 50);
    let missing = std::process::Command::new(bin)
        .args(["check", "--config", "/nonexistent/k.conf"])
        .output()
        .expect("run");
    assert_eq!(missing.status.code(), Some(4), "a missing file cannot run");
}
