//! End-to-end: `vrrpd script-exec`, how the daemon starts its scripts without forking itself
//! (see `track::exec`). It must become the script (same process, its exit status), run it as the
//! configured user with no supplementary groups, refuse to run it for a parent that is gone, and
//! leave it the parent-death signal (as another user too), so that a script never outlives the
//! daemon. No namespace: nothing here touches the network.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use vrrpd_tests::{TempDir, vrrpd_bin};

fn script_exec(extra: &[&str], argv: &[&str]) -> Output {
    let parent = std::process::id().to_string();
    Command::new(vrrpd_bin())
        .args(["script-exec", "--parent", &parent])
        .args(extra)
        .arg("--")
        .args(argv)
        .output()
        .expect("run vrrpd script-exec")
}

#[test]
fn it_becomes_the_script_and_keeps_its_exit_status() {
    let out = script_exec(&[], &["/bin/sh", "-c", "echo $$ $PPID; exit 3"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let ppid: u32 = text.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert_eq!(
        ppid,
        std::process::id(),
        "the script is the helper process itself"
    );
}

#[test]
fn it_runs_the_script_as_the_user_without_supplementary_groups() {
    let out = script_exec(
        &["--uid", "65534", "--gid", "65534"],
        &["/bin/sh", "-c", "id -u; id -g; id -G"],
    );
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(lines, ["65534", "65534", "65534"]);
}

#[test]
fn a_missing_program_or_a_foreign_parent_runs_nothing() {
    let out = script_exec(&[], &["/nonexistent/vrrpd-test-script"]);
    assert_eq!(out.status.code(), Some(127), "{out:?}");

    let dir = TempDir::new("vrrpd-script-exec");
    let marker = dir.path().join("ran");
    let out = Command::new(vrrpd_bin())
        .args(["script-exec", "--parent", "1", "--", "/bin/touch"])
        .arg(&marker)
        .output()
        .expect("run vrrpd script-exec");
    assert_eq!(out.status.code(), Some(126), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no longer the parent"),
        "{out:?}"
    );
    assert!(!marker.exists(), "the script ran for a parent that is gone");
}

#[test]
fn the_script_dies_with_its_parent() {
    dies_with_its_parent("");
}

#[test]
fn a_script_run_as_another_user_dies_with_its_parent_too() {
    // The kernel clears the parent-death signal when the credentials change, so it must be set
    // after the user is.
    dies_with_its_parent("--uid 65534 --gid 65534");
}

/// A shell stands in for the daemon: it starts the helper (with `user_args`), gives it time to
/// become `sleep`, prints its pid and exits. Without the parent-death signal the sleep would be
/// adopted and live on for a minute.
fn dies_with_its_parent(user_args: &str) {
    let bin = vrrpd_bin();
    let line = format!(
        "{} script-exec --parent $$ {user_args} -- sleep 60 </dev/null >/dev/null 2>&1 & echo $!; sleep 0.5",
        bin.display()
    );
    let out = Command::new("/bin/sh")
        .args(["-c", &line])
        .output()
        .expect("run the stand-in parent");
    assert!(out.status.success(), "{out:?}");
    let pid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let proc_dir = format!("/proc/{pid}");
    let deadline = Instant::now() + Duration::from_secs(10);
    // Gone, or a zombie its new parent has not reaped yet.
    let alive = || {
        std::fs::read_to_string(Path::new(&proc_dir).join("stat"))
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false)
    };
    while alive() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let still = alive();
    if still {
        // SAFETY: kill only sends a signal.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    }
    assert!(!still, "sleep {pid} outlived its parent");
}
