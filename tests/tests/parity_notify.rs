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
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use vrrpd_tests::conf::{Instance, global_defs};
use vrrpd_tests::recorder::Recorder;
use vrrpd_tests::scenario::Testbed;
use vrrpd_tests::{Impl, Netns, State};

const SETTLE: Duration = Duration::from_secs(15);
const TRACKED: &str = "trk0";
/// `nobody`, the script user.
const NOBODY_UID: u32 = 65534;

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

/// The tracked link: one end of a veth pair (the kernel here has no dummy driver), both ends up.
fn add_tracked_link(ns: &Netns) {
    ns.exec(&[
        "ip", "link", "add", TRACKED, "type", "veth", "peer", "name", "trk1",
    ]);
    ns.link_up("trk1");
    ns.link_up(TRACKED);
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
    add_tracked_link(&tb.node(0).ns);

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
    add_tracked_link(&tb.node(0).ns);

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

/// keepalived gives `notify_stop` and the generic STOP notify 1 s at shutdown. A backup has no
/// VIPs to remove and, without a FIFO, no line to deliver, so nothing else holds the exit: the
/// scripts (which take 0.2 s) must still have finished when the daemon has exited.
fn stop_notifies_finish_before_the_exit(which: Impl) {
    let rec = Recorder::new();
    let slow = rec.dir.write(
        "slow.sh",
        &format!(
            "#!/bin/sh\nsleep 0.2\necho \"$* uid=$(id -u)\" >> '{}'\n",
            rec.log.display()
        ),
    );
    std::fs::set_permissions(&slow, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let config = Instance::new("VI_1", 57)
        // Master_Down_Interval is 15 s: it stays BACKUP for the whole test.
        .advert_int("5")
        // No VIP: allowed in VRRPv2 (keepalived 2.2.7 has no `no_virtual_ipaddress`).
        .version(2)
        .line(format!("notify_stop \"{} stop\"", slow.display()))
        .line(format!("notify \"{} generic\"", slow.display()))
        .to_string();
    let mut tb = Testbed::new("notify-stop", 76, &[which], |_, _, _| config.clone());
    tb.start(0);
    tb.router(0).wait_log("(VI_1) Entering BACKUP STATE (init)");
    rec.wait("generic", 1, &tb);

    let status = tb.router_mut(0).terminate();
    assert!(
        status.is_some_and(|s| s.success()),
        "exit {status:?}\n{}",
        tb.transcripts()
    );
    // Read at once: a script still running now was killed with the daemon, or outlived it.
    assert_eq!(rec.of("stop"), ["uid=0"], "{}", tb.transcripts());
    assert_eq!(
        rec.of("generic").last().map(String::as_str),
        Some("INSTANCE VI_1 STOP 100 uid=0"),
        "{}",
        tb.transcripts()
    );
}

#[test]
fn stop_notifies_finish_before_the_exit_vrrpd() {
    stop_notifies_finish_before_the_exit(Impl::Vrrpd);
}

#[test]
#[ignore = "reference run with keepalived"]
fn stop_notifies_finish_before_the_exit_keepalived() {
    stop_notifies_finish_before_the_exit(Impl::Keepalived);
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

/// A `vrrp_notify_fifo_script` that appends each FIFO line it reads to `out`, notes its
/// arguments and uid first, and notes SIGTERM. The reading loop runs in the background and the
/// script waits for it, so SIGTERM is taken at once (a trapped signal ends `wait`); the reader
/// reopens the FIFO when its writer goes, as keepalived's sample_notify_fifo.sh does.
fn fifo_script(rec: &Recorder, out: &Path) -> PathBuf {
    let out = out.display();
    let script = rec.dir.write(
        "fifo.sh",
        &format!(
            "#!/bin/sh\n\
             echo \"ARGS $* uid=$(id -u)\" >> '{out}'\n\
             trap 'echo TERM >> \"{out}\"; exit 0' TERM\n\
             ( while :; do while read -r line; do echo \"$line\" >> '{out}'; done < \"$1\"; done ) &\n\
             wait\n"
        ),
    );
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
        .expect("chmod script");
    script
}

/// Waits until `path` holds at least `n` lines matching `keep`; returns those.
fn wait_lines(path: &Path, n: usize, keep: impl Fn(&str) -> bool, tb: &Testbed) -> Vec<String> {
    let deadline = Instant::now() + SETTLE;
    loop {
        let all = std::fs::read_to_string(path).unwrap_or_default();
        let got: Vec<String> = all
            .lines()
            .filter(|l| keep(l))
            .map(str::to_string)
            .collect();
        if got.len() >= n {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "{}: {} of {n} lines: {all}\n{}",
            path.display(),
            got.len(),
            tb.transcripts()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// keepalived §3.3 and vrrp_notify.c: the FIFO script is started with the FIFO path as its last
/// argument, as `script_user`; the FIFO it reads is created owned by that user; it sees every
/// transition line, and with `vrrp_notify_priority_changes` a `MASTER_PRIORITY` /
/// `BACKUP_PRIORITY` line (by the instance's state) each time a tracker moves the effective
/// priority; at exit it gets the STOP lines, then SIGTERM.
///
/// Router 0 has VI_1 (150, master: nobody else has it) and VI_2 (100, backup of router 1's 200),
/// both tracking a link with weight −50.
#[test]
fn fifo_script_sees_transitions_and_priority_changes() {
    let rec = Recorder::new();
    let fifo = rec.dir.path().join("fifo");
    let out = rec.dir.write("fifo.out", "");
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o666)).expect("chmod out");
    let script = fifo_script(&rec, &out);
    let tracked = format!("track_interface {{\n        {TRACKED} weight -50\n    }}");
    let mut tb = Testbed::new("notify-fs", 76, &[Impl::Vrrpd, Impl::Vrrpd], |i, s, _| {
        if i == 1 {
            return Instance::new("VI_2", 58)
                .master()
                .priority(200)
                .vip(format!("10.{s}.0.201"))
                .to_string();
        }
        format!(
            "{}{}{}",
            global_defs(&[
                "script_user nobody",
                &format!("vrrp_notify_fifo {}", fifo.display()),
                &format!("vrrp_notify_fifo_script \"{}\"", script.display()),
                "vrrp_notify_priority_changes true",
            ]),
            Instance::new("VI_1", 57)
                .priority(150)
                .vip(format!("10.{s}.0.200"))
                .line(&tracked),
            Instance::new("VI_2", 58)
                .vip(format!("10.{s}.0.201"))
                .line(&tracked),
        )
    });
    add_tracked_link(&tb.node(0).ns);
    let t0 = Instant::now();
    tb.start(1);
    tb.router(1).wait_state("VI_2", State::Master, t0);
    tb.start(0);
    tb.router(0).wait_state("VI_1", State::Master, t0);
    tb.router(0).wait_log("(VI_2) Entering BACKUP STATE");
    let is = |name: &'static str| move |l: &str| l.starts_with(&format!("INSTANCE \"{name}\""));
    wait_lines(&out, 2, is("VI_1"), &tb);

    let meta = std::fs::metadata(&fifo).expect("the daemon created the FIFO");
    assert_eq!(
        (meta.uid(), meta.permissions().mode() & 0o777),
        (NOBODY_UID, 0o640),
        "the FIFO belongs to the script user"
    );
    assert_eq!(
        wait_lines(&out, 1, |l| l.starts_with("ARGS"), &tb),
        [format!("ARGS {} uid={NOBODY_UID}", fifo.display())],
        "the FIFO path is the script's last argument; it runs as script_user"
    );

    let down = Instant::now();
    tb.node(0).ns.link_down(TRACKED);
    tb.router(0)
        .wait_log_since("(VI_1) Changing effective priority from 150 to 100", down);
    tb.router(0)
        .wait_log_since("(VI_2) Changing effective priority from 100 to 50", down);
    wait_lines(&out, 3, is("VI_1"), &tb);
    let up = Instant::now();
    tb.node(0).ns.link_up(TRACKED);
    tb.router(0)
        .wait_log_since("(VI_1) Changing effective priority from 100 to 150", up);
    wait_lines(&out, 4, is("VI_1"), &tb);
    wait_lines(&out, 3, is("VI_2"), &tb);

    let status = tb.router_mut(0).terminate();
    assert!(
        status.is_some_and(|s| s.success()),
        "exit {status:?}\n{}",
        tb.transcripts()
    );
    assert_eq!(
        wait_lines(&out, 5, is("VI_1"), &tb),
        [
            "INSTANCE \"VI_1\" BACKUP 150",
            "INSTANCE \"VI_1\" MASTER 150",
            "INSTANCE \"VI_1\" MASTER_PRIORITY 100",
            "INSTANCE \"VI_1\" MASTER_PRIORITY 150",
            "INSTANCE \"VI_1\" STOP 150",
        ],
        "{}",
        tb.transcripts()
    );
    assert_eq!(
        wait_lines(&out, 4, is("VI_2"), &tb),
        [
            "INSTANCE \"VI_2\" BACKUP 100",
            "INSTANCE \"VI_2\" BACKUP_PRIORITY 50",
            "INSTANCE \"VI_2\" BACKUP_PRIORITY 100",
            "INSTANCE \"VI_2\" STOP 100",
        ],
        "{}",
        tb.transcripts()
    );
    // The STOP lines came before SIGTERM, and the script took it.
    let all = wait_lines(&out, 1, |l| l == "TERM", &tb);
    assert_eq!(all, ["TERM"]);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.trim_end().ends_with("TERM"),
        "SIGTERM after the last line: {text}"
    );
}

/// `notify_master_rx_lower_pri` and the FIFO event `MASTER_RX_LOWER_PRI` (keepalived §2.3): a
/// master that hears a lower-priority advert. Router 1 (100) is master; the bridge drops what
/// router 0 sends to router 1, so when router 0 (150) starts, it takes over while router 1 goes
/// on advertising at 100. Each of those adverts makes router 0 force a new election and notify.
/// Once the bridge forwards again router 1 hears 150 and goes BACKUP, and the notifies stop.
#[test]
fn master_rx_lower_pri_notifies() {
    let rec = Recorder::new();
    let fifo = rec.dir.path().join("fifo");
    let mut tb = Testbed::new("notify-rx", 77, &[Impl::Vrrpd, Impl::Vrrpd], |i, s, _| {
        let vi = Instance::new("VI_1", 59).vip(format!("10.{s}.0.200"));
        if i == 1 {
            return vi.master().to_string();
        }
        format!(
            "{}{}",
            global_defs(&[&format!("vrrp_notify_fifo {}", fifo.display())]),
            vi.priority(150).line(format!(
                "notify_master_rx_lower_pri {}",
                rec.call("rx-lower")
            )),
        )
    });
    let rules = rec.dir.write(
        "one-way.nft",
        &format!(
            "table bridge one_way {{\n    chain forward {{\n        \
             type filter hook forward priority 0; policy accept;\n        \
             iifname \"{}\" oifname \"{}\" drop\n    }}\n}}\n",
            tb.node(0).port,
            tb.node(1).port
        ),
    );
    tb.lab
        .switch
        .ns()
        .exec(&["nft", "-f", &rules.to_string_lossy()]);
    let t0 = Instant::now();
    tb.start(1);
    tb.router(1).wait_state("VI_1", State::Master, t0);
    tb.start(0);
    let reader = FifoReader::start(&fifo);
    tb.router(0).wait_state("VI_1", State::Master, t0);
    tb.router(0)
        .wait_log("Received advert from 10.77.0.2 with lower priority 100, ours 150");
    assert_eq!(
        rec.wait("rx-lower", 1, &tb)[0],
        "uid=0",
        "the script runs with only its configured arguments"
    );
    let lines = reader.wait_len(3, &tb);
    assert_eq!(
        lines[..3],
        [
            "INSTANCE \"VI_1\" BACKUP 150",
            "INSTANCE \"VI_1\" MASTER 150",
            "INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 150",
        ],
        "{}",
        tb.transcripts()
    );

    let joined = Instant::now();
    tb.lab
        .switch
        .ns()
        .exec(&["nft", "delete", "table", "bridge", "one_way"]);
    tb.router(1).wait_state("VI_1", State::Backup, joined);
    let before = reader.lines().len();
    thread::sleep(Duration::from_millis(500));
    let lines = reader.lines();
    assert!(
        lines[2..]
            .iter()
            .all(|l| l == "INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 150"),
        "only MASTER_RX_LOWER_PRI lines after MASTER: {lines:#?}"
    );
    assert!(
        lines.len() <= before + 1,
        "lower-priority notifies after router 1 went BACKUP: {lines:#?}\n{}",
        tb.transcripts()
    );
    assert!(
        !tb.router(0).entered_since("VI_1", State::Backup, t0),
        "router 0 stays MASTER throughout\n{}",
        tb.transcripts()
    );
}

/// keepalived adds an instance's VIPs before it sends its MASTER notifies, and removes them
/// before the BACKUP ones. With enough VIPs that adding them takes a while, `notify_master` and
/// the FIFO script's reaction to the `MASTER` line both see every VIP, and `notify_backup` and
/// the `BACKUP` line none.
fn notifies_follow_the_vip_changes(which: Impl) {
    // Enough that adding them takes longer than starting a script: 20 in the adverts, the
    // rest excluded from them.
    const VIPS: usize = 20;
    const EXCLUDED: usize = 480;
    let rec = Recorder::new();
    let fifo = rec.dir.path().join("fifo");
    let log = rec.log.display().to_string();
    // `count.sh TAG`: how many of the VIPs eth0 has now.
    let count = rec.dir.write(
        "count.sh",
        &format!(
            "#!/bin/sh\nn=$(ip -o -4 addr show dev eth0 | grep -c ' inet 10\\.[0-9]*\\.[1-9]\\.')\n\
             echo \"$1 $n\" >> '{log}'\n"
        ),
    );
    let reader = rec.dir.write(
        "fifo.sh",
        &format!(
            "#!/bin/sh\nfifo=$1\n\
             while :; do while read -r kind name state prio; do\n\
             [ \"$name\" = '\"VI_1\"' ] && '{count}' \"fifo-$state\"\n\
             done < \"$fifo\"; done\n",
            count = count.display()
        ),
    );
    for script in [&count, &reader] {
        std::fs::set_permissions(script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let mut tb = Testbed::new("notify-vips", 77, &[which, which], |i, s, _| {
        let mut vi1 = Instance::new("VI_1", 59).priority(if i == 0 { 100 } else { 200 });
        for n in 0..VIPS {
            vi1 = vi1.vip(format!("10.{s}.1.{}/32", n + 1));
        }
        let excluded: Vec<String> = (VIPS..VIPS + EXCLUDED)
            .map(|n| format!("        10.{s}.{}.{}/32", 1 + n / 200, 1 + n % 200))
            .collect();
        vi1 = vi1.line(format!(
            "virtual_ipaddress_excluded {{\n{}\n    }}",
            excluded.join("\n")
        ));
        if i == 1 {
            return vi1.to_string();
        }
        format!(
            "{}{}",
            global_defs(&[
                &format!("vrrp_notify_fifo {}", fifo.display()),
                &format!("vrrp_notify_fifo_script \"{}\"", reader.display()),
            ]),
            vi1.line(format!("notify_master \"{} master\"", count.display()))
                .line(format!("notify_backup \"{} backup\"", count.display())),
        )
    });
    let t0 = Instant::now();
    tb.start(0);
    tb.router(0).wait_state("VI_1", State::Master, t0);
    let all = (VIPS + EXCLUDED).to_string();
    assert_eq!(
        rec.wait("master", 1, &tb),
        [all.as_str()],
        "{}",
        tb.transcripts()
    );
    assert_eq!(
        rec.wait("fifo-MASTER", 1, &tb),
        [all],
        "{}",
        tb.transcripts()
    );

    let taken = Instant::now();
    tb.start(1);
    tb.router(0).wait_state("VI_1", State::Backup, taken);
    // The first run is the start-up BACKUP (nothing added yet); the second follows the takeover.
    assert_eq!(
        rec.wait("backup", 2, &tb),
        ["0", "0"],
        "{}",
        tb.transcripts()
    );
    assert_eq!(
        rec.wait("fifo-BACKUP", 2, &tb),
        ["0", "0"],
        "{}",
        tb.transcripts()
    );
}

#[test]
fn notifies_follow_the_vip_changes_vrrpd() {
    notifies_follow_the_vip_changes(Impl::Vrrpd);
}

#[test]
#[ignore = "reference run with keepalived"]
fn notifies_follow_the_vip_changes_keepalived() {
    notifies_follow_the_vip_changes(Impl::Keepalived);
}
