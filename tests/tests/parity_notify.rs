//! Notify parity (keepalived-behaviour.md §3.3): the notify scripts and the notify FIFO on every
//! transition of an instance and of a sync group.
//!
//! One router runs VI_1 and VI_2 in sync group G; VI_1 tracks a link. It goes BACKUP (init) →
//! MASTER, the link goes down (VI_1 FAULT, which pulls VI_2 to FAULT), comes back (BACKUP →
//! MASTER), and the daemon stops (STOP). Each state's own script runs with only its configured
//! arguments, the generic `notify` with `INSTANCE|GROUP NAME STATE PRIORITY` appended (0 for a
//! group), all as `script_user`; the FIFO, created by the daemon, gets `INSTANCE "VI_1" MASTER 150`
//! lines in order. Scripts are fire-and-forget, so the order is checked per script, not across
//! scripts (keepalived does not promise more, #996). The `_keepalived` variant shows the expected
//! sequences are keepalived 2.2.7's.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use vrrpd_tests::conf::{Instance, global_defs};
use vrrpd_tests::scenario::Testbed;
use vrrpd_tests::{Impl, State, TempDir};

const SETTLE: Duration = Duration::from_secs(15);
const TRACKED: &str = "trk0";
/// `nobody`, the script user.
const NOBODY_UID: u32 = 65534;

/// A directory with a recording script: each run appends `ARGS… uid=UID` to `log`.
struct Recorder {
    dir: TempDir,
    script: PathBuf,
    log: PathBuf,
}

impl Recorder {
    fn new() -> Recorder {
        let dir = TempDir::new("notify");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod dir");
        let log = dir.write("log", "");
        // Written by the script user too.
        std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o666)).expect("chmod log");
        let script = dir.write(
            "note.sh",
            &format!(
                "#!/bin/sh\necho \"$* uid=$(id -u)\" >> '{}'\n",
                log.display()
            ),
        );
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
            .expect("chmod script");
        Recorder { dir, script, log }
    }

    /// `"SCRIPT tag"`, for a notify line.
    fn call(&self, tag: &str) -> String {
        format!("\"{} {tag}\"", self.script.display())
    }

    fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .expect("read log")
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The recorded lines starting with `tag `, without the tag.
    fn of(&self, tag: &str) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter_map(|l| l.strip_prefix(&format!("{tag} ")).map(str::to_string))
            .collect()
    }

    /// Waits until `tag` has recorded `n` lines (scripts run asynchronously).
    fn wait(&self, tag: &str, n: usize, tb: &Testbed) -> Vec<String> {
        let deadline = Instant::now() + SETTLE;
        loop {
            let got = self.of(tag);
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{tag}: {} of {n} runs recorded: {:#?}\n{}",
                got.len(),
                self.lines(),
                tb.transcripts()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Reads FIFO lines on a thread until the writer side closes for good.
struct FifoReader {
    lines: Arc<Mutex<Vec<String>>>,
}

impl FifoReader {
    /// Waits for the daemon to create `path`, then reads it.
    fn start(path: &Path) -> FifoReader {
        let deadline = Instant::now() + SETTLE;
        while !path.exists() {
            assert!(
                Instant::now() < deadline,
                "{} was never created",
                path.display()
            );
            thread::sleep(Duration::from_millis(10));
        }
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (out, path) = (Arc::clone(&lines), path.to_path_buf());
        thread::spawn(move || {
            // Read-write, so the reader never sees end of file between two writers' opens.
            let Ok(file) = OpenOptions::new().read(true).write(true).open(&path) else {
                return;
            };
            for line in BufReader::new(file).lines() {
                let Ok(line) = line else { return };
                out.lock().unwrap().push(line);
            }
        });
        FifoReader { lines }
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    fn wait_len(&self, n: usize, tb: &Testbed) -> Vec<String> {
        let deadline = Instant::now() + SETTLE;
        loop {
            let got = self.lines();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "FIFO: {} of {n} lines: {got:#?}\n{}",
                got.len(),
                tb.transcripts()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

fn config(rec: &Recorder, fifo: &Path) -> String {
    let notify_lines = |tag: &str| {
        ["master", "backup", "fault", "stop"]
            .iter()
            .map(|s| format!("notify_{s} {}", rec.call(&format!("{tag}-{s}"))))
            .chain([format!("notify {}", rec.call(&format!("{tag}-generic")))])
            .collect::<Vec<_>>()
            .join("\n    ")
    };
    let vi1 = Instance::new("VI_1", 54)
        .priority(150)
        .vip("10.74.0.200")
        .line(format!("track_interface {{\n        {TRACKED}\n    }}"))
        .line(notify_lines("vi1"));
    let vi2 = Instance::new("VI_2", 55).priority(140).vip("10.74.0.201");
    format!(
        "{}{vi1}{vi2}vrrp_sync_group G {{\n    group {{\n        VI_1\n        VI_2\n    }}\n    {}\n}}\n",
        global_defs(&[
            "script_user nobody",
            &format!("vrrp_notify_fifo {}", fifo.display()),
        ]),
        notify_lines("g"),
    )
}

fn notify_scripts_and_fifo(which: Impl) {
    let rec = Recorder::new();
    let fifo = rec.dir.path().join("fifo");
    let mut tb = Testbed::new("notify", 74, &[which], |_, _, _| config(&rec, &fifo));
    let ns = &tb.node(0).ns;
    ns.exec(&[
        "ip", "link", "add", TRACKED, "type", "veth", "peer", "name", "trk1",
    ]);
    ns.link_up("trk1");
    ns.link_up(TRACKED);

    let t0 = Instant::now();
    tb.start(0);
    let reader = FifoReader::start(&fifo);
    tb.router(0).wait_state("VI_1", State::Master, t0);
    tb.router(0).wait_state("VI_2", State::Master, t0);
    rec.wait("vi1-generic", 2, &tb);
    rec.wait("g-generic", 2, &tb);

    let down = Instant::now();
    tb.node(0).ns.link_down(TRACKED);
    tb.router(0).wait_state("VI_1", State::Fault, down);
    tb.router(0).wait_state("VI_2", State::Fault, down);
    rec.wait("vi1-generic", 3, &tb);
    rec.wait("g-generic", 3, &tb);

    let up = Instant::now();
    tb.node(0).ns.link_up(TRACKED);
    tb.router(0).wait_state("VI_1", State::Master, up);
    tb.router(0).wait_state("VI_2", State::Master, up);
    rec.wait("vi1-generic", 5, &tb);
    rec.wait("g-generic", 5, &tb);

    let status = tb.router_mut(0).terminate();
    assert!(status.is_some_and(|s| s.success()), "exit {status:?}");
    let generic = rec.wait("vi1-generic", 6, &tb);
    let group = rec.wait("g-generic", 6, &tb);
    let nobody = format!("uid={NOBODY_UID}");
    assert_eq!(
        generic,
        [
            "INSTANCE VI_1 BACKUP 150",
            "INSTANCE VI_1 MASTER 150",
            "INSTANCE VI_1 FAULT 150",
            "INSTANCE VI_1 BACKUP 150",
            "INSTANCE VI_1 MASTER 150",
            "INSTANCE VI_1 STOP 150",
        ]
        .map(|l| format!("{l} {nobody}")),
        "generic notify of VI_1\n{}",
        tb.transcripts()
    );
    assert_eq!(
        group,
        [
            "GROUP G BACKUP 0",
            "GROUP G MASTER 0",
            "GROUP G FAULT 0",
            "GROUP G BACKUP 0",
            "GROUP G MASTER 0",
            "GROUP G STOP 0",
        ]
        .map(|l| format!("{l} {nobody}")),
        "generic notify of the group\n{}",
        tb.transcripts()
    );
    for (tag, runs) in [
        ("vi1-master", 2),
        ("vi1-backup", 2),
        ("vi1-fault", 1),
        ("vi1-stop", 1),
        ("g-master", 2),
        ("g-backup", 2),
        ("g-fault", 1),
        ("g-stop", 1),
    ] {
        assert_eq!(
            rec.wait(tag, runs, &tb),
            vec![nobody.clone(); runs],
            "{tag}: only its configured arguments, as the script user\n{}",
            tb.transcripts()
        );
    }
    let fifo_lines = reader.wait_len(12, &tb);
    let of = |prefix: &str| -> Vec<String> {
        fifo_lines
            .iter()
            .filter(|l| l.starts_with(prefix))
            .cloned()
            .collect()
    };
    assert_eq!(
        of("INSTANCE \"VI_1\""),
        [
            "INSTANCE \"VI_1\" BACKUP 150",
            "INSTANCE \"VI_1\" MASTER 150",
            "INSTANCE \"VI_1\" FAULT 150",
            "INSTANCE \"VI_1\" BACKUP 150",
            "INSTANCE \"VI_1\" MASTER 150",
            "INSTANCE \"VI_1\" STOP 150",
        ],
        "FIFO: {fifo_lines:#?}\n{}",
        tb.transcripts()
    );
    assert_eq!(
        of("GROUP"),
        [
            "GROUP \"G\" BACKUP 0",
            "GROUP \"G\" MASTER 0",
            "GROUP \"G\" FAULT 0",
            "GROUP \"G\" BACKUP 0",
            "GROUP \"G\" MASTER 0",
            "GROUP \"G\" STOP 0",
        ],
        "FIFO: {fifo_lines:#?}\n{}",
        tb.transcripts()
    );
}

#[test]
fn notify_scripts_and_fifo_vrrpd() {
    notify_scripts_and_fifo(Impl::Vrrpd);
}

#[test]
#[ignore = "reference run with keepalived"]
fn notify_scripts_and_fifo_keepalived() {
    notify_scripts_and_fifo(Impl::Keepalived);
}

/// Nothing a notify consumer does stops the daemon: no FIFO reader at start, a reader that reads
/// once and goes away, a reader that holds the FIFO open with the pipe full and never reads, a
/// `notify_master` that never returns, a `notify_stop` that never returns. Through all of it the
/// instance keeps changing state and the generic script keeps being run; once the pipe is drained
/// every FIFO line arrives, in order; SIGTERM still stops the daemon, and no script outlives it.
#[test]
fn stuck_consumers_do_not_block_the_daemon() {
    let rec = Recorder::new();
    let fifo = rec.dir.path().join("fifo");
    let config = format!(
        "{}{}",
        global_defs(&[&format!("vrrp_notify_fifo {}", fifo.display())]),
        Instance::new("VI_1", 56)
            .priority(150)
            .vip("10.75.0.200")
            .line(format!("track_interface {{\n        {TRACKED}\n    }}"))
            .line("notify_master \"/bin/sleep 600\"")
            .line("notify_stop \"/bin/sleep 600\"")
            .line(format!("notify {}", rec.call("generic")))
    );
    let mut tb = Testbed::new("notify-stuck", 75, &[Impl::Vrrpd], |_, _, _| config.clone());
    let ns = &tb.node(0).ns;
    ns.exec(&[
        "ip", "link", "add", TRACKED, "type", "veth", "peer", "name", "trk1",
    ]);
    ns.link_up("trk1");
    ns.link_up(TRACKED);

    // No reader yet: the daemon creates the FIFO and goes on.
    let t0 = Instant::now();
    tb.start(0);
    tb.router(0).wait_state("VI_1", State::Master, t0);
    rec.wait("generic", 2, &tb);

    // A reader that takes what is there and leaves.
    let mut seen = Vec::new();
    {
        let mut once = OpenOptions::new()
            .read(true)
            .open(&fifo)
            .expect("open FIFO");
        let mut buf = [0u8; 4096];
        let n = once.read(&mut buf).expect("read FIFO");
        seen.extend_from_slice(&buf[..n]);
    }

    // A reader that never reads, holding a full pipe.
    let mut stuck = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .expect("open FIFO read-write");
    // One short line per write: writes up to PIPE_BUF are all or nothing, so no half line.
    let mut filled = 0;
    loop {
        match stuck.write(b"junk\n") {
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("filling the FIFO: {e}"),
        }
    }
    assert!(filled >= 4096, "pipe filled with {filled} bytes");

    for round in 0..3 {
        let down = Instant::now();
        tb.node(0).ns.link_down(TRACKED);
        tb.router(0).wait_state("VI_1", State::Fault, down);
        let up = Instant::now();
        tb.node(0).ns.link_up(TRACKED);
        tb.router(0).wait_state("VI_1", State::Master, up);
        rec.wait("generic", 2 + 3 * (round + 1), &tb);
    }
    // Only this namespace's processes: other tests run `sleep` too.
    let sleeping = tb
        .node(0)
        .ns
        .pids()
        .into_iter()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "sleep")
        })
        .count();
    assert_eq!(
        sleeping,
        4,
        "the four notify_master runs are still hanging (fire and forget)\n{}",
        tb.transcripts()
    );

    // Drain: everything queued behind the junk arrives, in order.
    let mut drained = Vec::new();
    let deadline = Instant::now() + SETTLE;
    let mut buf = [0u8; 65536];
    let want = 2 + 9;
    loop {
        match stuck.read(&mut buf) {
            Ok(n) => drained.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(20))
            }
            Err(e) => panic!("draining the FIFO: {e}"),
        }
        if seen_total(&seen, &drained).len() >= want || Instant::now() > deadline {
            break;
        }
    }
    let lines = seen_total(&seen, &drained);
    let mut expected = vec![
        "INSTANCE \"VI_1\" BACKUP 150",
        "INSTANCE \"VI_1\" MASTER 150",
    ];
    for _ in 0..3 {
        expected.extend([
            "INSTANCE \"VI_1\" FAULT 150",
            "INSTANCE \"VI_1\" BACKUP 150",
            "INSTANCE \"VI_1\" MASTER 150",
        ]);
    }
    assert_eq!(lines, expected, "{}", tb.transcripts());

    let stopped = Instant::now();
    let status = tb.router_mut(0).terminate();
    assert!(
        status.is_some_and(|s| s.success()),
        "exit {status:?}\n{}",
        tb.transcripts()
    );
    assert!(
        stopped.elapsed() < Duration::from_secs(8),
        "a hanging notify_stop held the exit for {:?}",
        stopped.elapsed()
    );
    let generic = rec.wait("generic", 12, &tb);
    assert_eq!(
        generic.last().map(String::as_str),
        Some("INSTANCE VI_1 STOP 150 uid=0")
    );
    let left = tb.node(0).ns.pids();
    assert!(
        left.is_empty(),
        "processes left in the namespace after the daemon stopped: {left:?}\n{}",
        tb.node(0).ns.output(&["ps", "-ef"]).stdout.escape_ascii()
    );
}

/// The daemon's FIFO lines among what two readers got (the junk the test wrote left out).
fn seen_total(first: &[u8], drained: &[u8]) -> Vec<String> {
    let mut all = first.to_vec();
    all.extend_from_slice(drained);
    String::from_utf8_lossy(&all)
        .lines()
        .filter(|l| *l != "junk")
        .map(str::to_string)
        .collect()
}
