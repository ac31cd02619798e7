//! keepalived's `check_script_secure`: root scripts with unsafe permissions are noted, and
//! disabled under `enable_script_security`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use vrrpd::config::{LoadOptions, analyse};

struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let p = std::env::temp_dir().join(format!("vrrpd-secure-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        Dir(p)
    }

    fn script(&self, name: &str, mode: u32) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

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
                " enable_script_security\n"
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
    let dir = Dir::new("ww");
    let script = dir.script("check.sh", 0o757);
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
    let dir = Dir::new("note");
    let script = dir.script("check.sh", 0o757);
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
    let dir = Dir::new("safe");
    let script = dir.script("check.sh", 0o755);
    let (msgs, enabled) = messages(&dir.0, &script, true);
    assert!(
        !msgs
            .iter()
            .any(|m| m.contains("Unsafe permissions") || m.contains("insecure")),
        "{msgs:#?}"
    );
    assert!(enabled);
}
