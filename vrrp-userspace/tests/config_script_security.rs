//! keepalived's `check_script_secure`: root scripts with unsafe permissions are noted, and
//! disabled under `enable_script_security`.

mod support;

use std::path::Path;

use support::TempDir;
use vrrpd::config::{LoadOptions, analyse};

fn messages(dir: &Path, script: &Path, security: bool) -> (Vec<String>, bool) {
    let conf = dir.join("keepalived.conf");
    std::fs::write(
        &conf,
        format!(
            "global_defs {{\n{}}}\nvrrp_script chk {{\n script \"{}\"\n weight -20\n}}\n\
             vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 5\n \
             virtual_ipaddress {{\n 10.0.0.5\n }}\n track_script {{\n chk\n }}\n \
             notify_master \"{}\"\n}}\n",
            if security {
                // script_user root: without it the default user is keepalived_script, and
                // where that account is missing keepalived removes the scripts first.
                " enable_script_security\n script_user root\n"
            } else {
                ""
            },
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

#[test]
fn world_writable_root_script_is_disabled_under_script_security() {
    let dir = TempDir::new("secure-ww");
    let script = dir.script_with_mode("check.sh", "exit 0", 0o757);
    let (msgs, enabled) = messages(&dir.0, &script, true);
    let unsafe_line = format!(
        "Unsafe permissions found for script '{}' - disabling.",
        script.display()
    );
    assert!(msgs.contains(&unsafe_line), "{msgs:#?}");
    assert!(
        msgs.contains(&"Disabling track script chk due to insecure".to_string()),
        "{msgs:#?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("Disabling notify script") && m.ends_with("due to insecure")),
        "{msgs:#?}"
    );
    assert!(!enabled, "the insecure track script must be disabled");
}

#[test]
fn without_script_security_it_is_only_noted() {
    let dir = TempDir::new("secure-note");
    let script = dir.script_with_mode("check.sh", "exit 0", 0o757);
    let (msgs, enabled) = messages(&dir.0, &script, false);
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
    let (msgs, enabled) = messages(&dir.0, &script, true);
    assert!(
        !msgs
            .iter()
            .any(|m| m.contains("Unsafe permissions") || m.contains("insecure")),
        "{msgs:#?}"
    );
    assert!(enabled);
}
