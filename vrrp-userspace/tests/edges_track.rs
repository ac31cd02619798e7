//! vrrp_script and track_file against real processes and files in a temporary directory.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use support::TempDir;
use tokio::sync::mpsc;
use vrrpd::track::{
    CommandError, ExitOutcome, FileChange, FileTracker, RunAs, ScriptChange, ScriptRunner,
    ScriptSpec, TrackFileError, TrackFileSpec, TrackState,
};

/// Bound on waiting for an expected change; not a timing claim.
const PATIENCE: Duration = Duration::from_secs(20);

fn spec(name: &str, script: &str, interval_ms: u64) -> ScriptSpec {
    ScriptSpec {
        name: name.into(),
        script: script.into(),
        interval: Duration::from_millis(interval_ms),
        timeout: None,
        rise: 1,
        fall: 1,
        init_fail: false,
        run_as: RunAs::ROOT,
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn next<T>(rx: &mut mpsc::Receiver<T>) -> T {
    tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .expect("no change arrived")
        .expect("channel closed")
}

/// True when `pid` no longer runs (gone, or a zombie waiting for init to reap it).
fn dead(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .unwrap()
            .trim_start()
            .starts_with('Z'),
    }
}

fn wait_dead(pid: i32) -> bool {
    let until = std::time::Instant::now() + PATIENCE;
    while std::time::Instant::now() < until {
        if dead(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn success_and_failure_are_reported_with_their_outcome() {
    let dir = TempDir::new("edges-sf");
    let ok = dir.script("ok.sh", "exit 0");
    let bad = dir.script("bad.sh", "exit 1");
    rt().block_on(async {
        let (tx, mut rx) = mpsc::channel(8);
        let _a =
            ScriptRunner::spawn(spec("chk_ok", ok.to_str().unwrap(), 1000), tx.clone()).unwrap();
        let _b = ScriptRunner::spawn(spec("chk_bad", bad.to_str().unwrap(), 1000), tx).unwrap();
        let mut got = vec![next(&mut rx).await, next(&mut rx).await];
        got.sort_by(|x, y| x.name.cmp(&y.name));
        assert_eq!(
            got,
            vec![
                ScriptChange {
                    name: "chk_bad".into(),
                    state: TrackState::Down,
                    outcome: ExitOutcome::Exited(1)
                },
                ScriptChange {
                    name: "chk_ok".into(),
                    state: TrackState::Up,
                    outcome: ExitOutcome::Success
                },
            ]
        );
        assert_eq!(got[0].outcome.to_string(), "failed (exited with status 1)");
        assert_eq!(got[1].outcome.to_string(), "succeeded");
    });
}

#[test]
fn shell_lines_run_through_sh_and_rise_fall_gates_changes() {
    let dir = TempDir::new("edges-rf");
    let flag = dir.0.join("flag");
    let line = format!("test -e {} && exit 0 || exit 3", flag.display());
    let mut s = spec("chk_flag", &line, 50);
    s.rise = 3;
    s.fall = 2;
    rt().block_on(async {
        let (tx, mut rx) = mpsc::channel(8);
        let _r = ScriptRunner::spawn(s, tx).unwrap();
        let first = next(&mut rx).await;
        assert_eq!(first.state, TrackState::Down);
        assert_eq!(first.outcome, ExitOutcome::Exited(3));
        std::fs::write(&flag, "").unwrap();
        let up = next(&mut rx).await;
        assert_eq!(
            (up.state, up.outcome),
            (TrackState::Up, ExitOutcome::Success)
        );
        std::fs::remove_file(&flag).unwrap();
        let down = next(&mut rx).await;
        assert_eq!(down.state, TrackState::Down);
    });
}

/// Reload (`spawn_all` with the running runners): an unchanged script keeps its runner, so with
/// `init_fail` a failure after the reload is still reported (a fresh runner starts Down and would
/// stay silent); a changed one starts afresh with its new rise.
#[test]
fn reload_keeps_unchanged_scripts_and_restarts_changed_ones() {
    let dir = TempDir::new("edges-reload");
    let flag = dir.0.join("flag");
    let line = format!("test -e {}", flag.display());
    let mut s = spec("chk_flag", &line, 50);
    s.init_fail = true;
    s.rise = 2;
    rt().block_on(async {
        let (tx, mut rx) = mpsc::channel(8);
        let set = ScriptRunner::spawn_all(std::slice::from_ref(&s), &tx, Vec::new());
        assert_eq!(set.started, [s.clone()]);
        std::fs::write(&flag, "").unwrap();
        assert_eq!(next(&mut rx).await.state, TrackState::Up);

        let set = ScriptRunner::spawn_all(std::slice::from_ref(&s), &tx, set.runners);
        assert!(
            set.started.is_empty(),
            "an unchanged script is not restarted"
        );
        assert_eq!(set.runners.len(), 1);
        std::fs::remove_file(&flag).unwrap();
        let down = next(&mut rx).await;
        assert_eq!(
            (down.state, down.outcome),
            (TrackState::Down, ExitOutcome::Exited(1))
        );

        let mut changed = s.clone();
        changed.rise = 1;
        let set = ScriptRunner::spawn_all(std::slice::from_ref(&changed), &tx, set.runners);
        assert_eq!(set.started, [changed]);
        assert_eq!(set.runners.len(), 1, "the old runner is stopped");
        std::fs::write(&flag, "").unwrap();
        assert_eq!(next(&mut rx).await.state, TrackState::Up);
    });
}

#[test]
fn hung_script_is_timed_out_and_killed_with_its_children() {
    let dir = TempDir::new("edges-hang");
    let pids = dir.0.join("pids");
    let hang = dir.script(
        "hang.sh",
        &format!("sleep 300 &\necho $$ $! > {}\nwait", pids.display()),
    );
    let mut s = spec("chk_hang", hang.to_str().unwrap(), 60_000);
    s.timeout = Some(Duration::from_millis(300));
    rt().block_on(async {
        let (tx, mut rx) = mpsc::channel(8);
        let _r = ScriptRunner::spawn(s, tx).unwrap();
        let change = next(&mut rx).await;
        assert_eq!(change.state, TrackState::Down);
        assert_eq!(change.outcome, ExitOutcome::TimedOut);
        assert_eq!(change.outcome.to_string(), "timed_out");
    });
    let text = std::fs::read_to_string(&pids).unwrap();
    for pid in text.split_whitespace().map(|p| p.parse::<i32>().unwrap()) {
        assert!(wait_dead(pid), "pid {pid} survived the timeout");
    }
}

#[test]
fn script_ignoring_sigterm_gets_sigkill() {
    let dir = TempDir::new("edges-term");
    let pids = dir.0.join("pids");
    let stubborn = dir.script(
        "stubborn.sh",
        &format!(
            "trap '' TERM\nsleep 300 &\necho $$ $! > {}\nwait",
            pids.display()
        ),
    );
    let mut s = spec("chk_stubborn", stubborn.to_str().unwrap(), 60_000);
    s.timeout = Some(Duration::from_millis(200));
    rt().block_on(async {
        let (tx, mut rx) = mpsc::channel(8);
        let _r = ScriptRunner::spawn(s, tx).unwrap();
        assert_eq!(next(&mut rx).await.outcome, ExitOutcome::TimedOut);
    });
    let text = std::fs::read_to_string(&pids).unwrap();
    for pid in text.split_whitespace().map(|p| p.parse::<i32>().unwrap()) {
        assert!(wait_dead(pid), "pid {pid} survived SIGKILL");
    }
}

#[test]
fn a_run_never_overlaps_the_previous_one() {
    let dir = TempDir::new("edges-overlap");
    let lock = dir.0.join("lock");
    let log = dir.0.join("log");
    let slow = dir.script(
        "slow.sh",
        &format!(
            "[ -e {lock} ] && echo overlap >> {log}\ntouch {lock}\necho run >> {log}\nsleep 0.3\nrm -f {lock}\nexit 1",
            lock = lock.display(),
            log = log.display()
        ),
    );
    let mut s = spec("chk_slow", slow.to_str().unwrap(), 50);
    s.timeout = Some(Duration::from_secs(5));
    s.fall = 1000;
    rt().block_on(async {
        let (tx, mut rx) = mpsc::channel(8);
        let _r = ScriptRunner::spawn(s, tx).unwrap();
        // The first result (a failure) is decided; keep running until several runs have happened.
        assert_eq!(next(&mut rx).await.state, TrackState::Down);
        let until = tokio::time::Instant::now() + PATIENCE;
        loop {
            let runs = std::fs::read_to_string(&log).unwrap_or_default();
            if runs.lines().filter(|l| *l == "run").count() >= 3 {
                break;
            }
            assert!(
                tokio::time::Instant::now() < until,
                "script stopped running"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let runs = std::fs::read_to_string(&log).unwrap();
    assert!(!runs.contains("overlap"), "{runs}");
}

#[test]
fn scripts_run_as_the_configured_user() {
    let dir = TempDir::new("edges-user");
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = dir.0.join("uid");
    let who = dir.script(
        "who.sh",
        &format!("id -u > {}\nid -g >> {}", out.display(), out.display()),
    );
    let nobody = RunAs::lookup("nobody", None).unwrap();
    let mut s = spec("chk_user", who.to_str().unwrap(), 60_000);
    s.run_as = nobody;
    rt().block_on(async {
        let (tx, mut rx) = mpsc::channel(8);
        let _r = ScriptRunner::spawn(s, tx).unwrap();
        assert_eq!(next(&mut rx).await.outcome, ExitOutcome::Success);
    });
    let ids = std::fs::read_to_string(&out).unwrap();
    assert_eq!(ids, format!("{}\n{}\n", nobody.uid, nobody.gid));
}

#[test]
fn missing_or_non_executable_scripts_are_refused() {
    let dir = TempDir::new("edges-missing");
    let plain = dir.0.join("plain.sh");
    std::fs::write(&plain, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
    rt().block_on(async {
        let (tx, _rx) = mpsc::channel(8);
        let missing = dir.0.join("nope.sh");
        let err = ScriptRunner::spawn(
            spec("chk_missing", missing.to_str().unwrap(), 1000),
            tx.clone(),
        )
        .err()
        .unwrap();
        assert!(matches!(err.source, CommandError::NotFound { .. }));
        assert!(err.to_string().contains("chk_missing"), "{err}");
        let err = ScriptRunner::spawn(spec("chk_plain", plain.to_str().unwrap(), 1000), tx)
            .err()
            .unwrap();
        assert!(
            matches!(err.source, CommandError::NotExecutable { .. }),
            "{err}"
        );
    });
}

fn write_atomically(dir: &Path, target: &Path, text: &str) {
    let tmp = dir.join(".tmp-track");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, target).unwrap();
}

#[test]
fn track_file_reports_initial_value_and_changes() {
    let dir = TempDir::new("edges-tf");
    let a = dir.0.join("a");
    let b = dir.0.join("b");
    std::fs::write(&a, "5\n").unwrap();
    rt().block_on(async {
        let (tx, mut rx) = mpsc::channel(8);
        let _t = FileTracker::spawn(
            vec![
                TrackFileSpec {
                    name: "tf_a".into(),
                    path: a.clone(),
                    init: None,
                },
                TrackFileSpec {
                    name: "tf_b".into(),
                    path: b.clone(),
                    init: None,
                },
            ],
            tx,
        )
        .unwrap();
        let mut initial = vec![next(&mut rx).await, next(&mut rx).await];
        initial.sort_by(|x, y| x.name.cmp(&y.name));
        assert_eq!(
            initial,
            vec![
                FileChange {
                    name: "tf_a".into(),
                    value: 5
                },
                FileChange {
                    name: "tf_b".into(),
                    value: 0
                },
            ]
        );
        // A write, a rewrite with the same value (no event), a rename into place, a delete.
        std::fs::write(&a, "-20").unwrap();
        assert_eq!(
            next(&mut rx).await,
            FileChange {
                name: "tf_a".into(),
                value: -20
            }
        );
        std::fs::write(&a, "-20").unwrap();
        write_atomically(&dir.0, &b, "0x10");
        assert_eq!(
            next(&mut rx).await,
            FileChange {
                name: "tf_b".into(),
                value: 16
            }
        );
        std::fs::remove_file(&a).unwrap();
        assert_eq!(
            next(&mut rx).await,
            FileChange {
                name: "tf_a".into(),
                value: 0
            }
        );
        std::fs::write(&b, "garbage").unwrap();
        assert_eq!(
            next(&mut rx).await,
            FileChange {
                name: "tf_b".into(),
                value: 0
            }
        );
    });
}

/// keepalived removes only the track file whose directory is missing; the others are watched.
#[test]
fn track_file_in_a_missing_directory_is_removed_alone() {
    let dir = TempDir::new("edges-tf-nodir");
    let good = dir.0.join("good");
    std::fs::write(&good, "3\n").unwrap();
    rt().block_on(async {
        let (tx, mut rx) = mpsc::channel(8);
        let spec = |name: &str, path: &Path| TrackFileSpec {
            name: name.into(),
            path: path.into(),
            init: None,
        };
        let (_t, removed) = FileTracker::spawn(
            vec![
                spec("tf_x", Path::new("/nonexistent-vrrpd-dir/x")),
                spec("tf_good", &good),
            ],
            tx,
        )
        .unwrap();
        assert_eq!(removed.len(), 1);
        assert!(
            matches!(&removed[0], TrackFileError::NoDirectory { name, .. } if name == "tf_x"),
            "{}",
            removed[0]
        );
        assert!(
            removed[0]
                .to_string()
                .starts_with("Track file directory for tf_x does not exist - removing")
        );
        let first = FileChange {
            name: "tf_good".into(),
            value: 3,
        };
        assert_eq!(next(&mut rx).await, first);
        std::fs::write(&good, "4\n").unwrap();
        assert_eq!(next(&mut rx).await.value, 4);
    });
}
