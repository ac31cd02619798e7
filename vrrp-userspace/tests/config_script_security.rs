//! keepalived's `check_script_secure`: root scripts with unsafe permissions are noted, and
//! disabled under `enable_script_security`.

mod support;

use std::path::Path;

use support::TempDir;
use vrrpd::config::{LoadOptions, analyse};

/// script_user root: without it the default user is keepalived_script, and where that account is
/// missing keepalived removes the scripts first.
const SECURITY_AS_ROOT: &str = " enable_script_security\n script_user root\n";

fn messages(dir: &Path, script: &Path, globals: &str) -> (Vec<String>, bool) {
    let conf = dir.join("keepalived.conf");
    std::fs::write(
        &conf,
        format!(
            "global_defs {{\n{}}}\nvrrp_script chk {{\n script \"{}\"\n weight -20\n}}\n\
             vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 5\n \
             virtual_ipaddress {{\n 10.0.0.5\n }}\n track_script {{\n chk\n }}\n \
             notify_master \"{}\"\n}}\n",
            globals,
            script.display(),
            script.display(),
        ),
    )
    .unwrap();
    let opts = LoadOptions {
        check_interfaces: false,
        ..LoadOptions::default()
    };
    let a = analyse(&conf, &opts);
    let enabled = a
        .config
        .vrrp_scripts
        .iter()
        .any(|s| s.name == "chk" && s.enabled);
    (
        a.diagnostics.iter().map(|d| d.message.clone()).collect(),
        enabled,
    )
}

fn disabling(script: &Path) -> String {
    format!(
        "Unsafe permissions found for script '{}' - disabling.",
        script.display()
    )
}

fn notify_disabled(msgs: &[String]) -> bool {
    msgs.iter()
        .any(|m| m.starts_with("Disabling notify script") && m.ends_with("due to insecure"))
}

#[test]
fn world_writable_root_script_is_disabled_under_script_security() {
    let dir = TempDir::new("secure-ww");
    let script = dir.script_with_mode("check.sh", "exit 0", 0o757);
    let (msgs, enabled) = messages(&dir.0, &script, SECURITY_AS_ROOT);
    let unsafe_line = disabling(&script);
    assert!(msgs.contains(&unsafe_line), "{msgs:#?}");
    assert!(
        msgs.contains(&"Disabling track script chk due to insecure".to_string()),
        "{msgs:#?}"
    );
    assert!(notify_disabled(&msgs), "{msgs:#?}");
    assert!(!enabled, "the insecure track script must be disabled");
}

#[test]
fn without_script_security_it_is_only_noted() {
    let dir = TempDir::new("secure-note");
    let script = dir.script_with_mode("check.sh", "exit 0", 0o757);
    let (msgs, enabled) = messages(&dir.0, &script, "");
    let note = format!(
        "Unsafe permissions found for script '{}'.",
        script.display()
    );
    assert!(msgs.contains(&note), "{msgs:#?}");
    assert!(
        enabled,
        "keepalived only disables with enable_script_security"
    );
}

#[test]
fn root_owned_script_in_safe_directories_passes() {
    let dir = TempDir::new("secure-safe");
    let script = dir.script_with_mode("check.sh", "exit 0", 0o755);
    let (msgs, enabled) = messages(&dir.0, &script, SECURITY_AS_ROOT);
    assert!(
        !msgs
            .iter()
            .any(|m| m.contains("Unsafe permissions") || m.contains("insecure")),
        "{msgs:#?}"
    );
    assert!(enabled);
}

/// enable_script_security without script_user: the scripts run as keepalived_script when it
/// exists, and as root otherwise, so they are checked as whichever it is (the check once assumed
/// keepalived_script either way, and the daemon then ran an unchecked world-writable script as
/// root).
#[test]
fn security_without_script_user_checks_scripts_as_the_user_they_run_as() {
    let dir = TempDir::new("secure-default");
    let script = dir.script_with_mode("check.sh", "exit 0", 0o757);
    let (msgs, _) = messages(&dir.0, &script, " enable_script_security\n");
    let unsafe_line = disabling(&script);
    let default = vrrpd::config::validate::default_script_user(
        &vrrpd::config::model::GlobalDefs {
            enable_script_security: true,
            ..Default::default()
        },
        vrrpd::config::validate::account_exists,
    );
    if default.is_root() {
        // No keepalived_script here: the vrrp_script goes, the notify script runs as root and
        // must pass the root check.
        assert!(
            msgs.contains(&"Unable to set default user for vrrp script chk - removing".into()),
            "{msgs:#?}"
        );
        assert!(msgs.contains(&unsafe_line), "{msgs:#?}");
        assert!(notify_disabled(&msgs), "{msgs:#?}");
    } else {
        assert!(!msgs.contains(&unsafe_line), "{msgs:#?}");
    }
}
