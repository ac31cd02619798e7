//! Notify scripts and the notify FIFO against real processes and a real FIFO.

mod support;

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::TempDir;
use vrrpd::notify::{FifoSpec, NotifyFifo, NotifyScript, NotifyScripts, NotifyState, NotifyTarget};
use vrrpd::track::{ExitOutcome, RunAs};

const PATIENCE: Duration = Duration::from_secs(20);

/// A script in `dir` that writes its arguments to `<name>.out`.
fn recorder(dir: &TempDir, name: &str) -> PathBuf {
    let out = dir.0.join(format!("{name}.out"));
    dir.script(name, &format!("echo \"$@\" > {}", out.display()))
}

/// What the recorder `name` wrote.
fn output(dir: &TempDir, name: &str) -> String {
    std::fs::read_to_string(dir.0.join(format!("{name}.out"))).unwrap_or_default()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn script(line: &str) -> NotifyScript {
    NotifyScript::new(line, RunAs::ROOT).unwrap()
}

#[test]
fn specific_scripts_get_their_args_and_generic_gets_four_more() {
    let dir = TempDir::new("edges-nargs");
    let m = recorder(&dir, "m.sh");
    let b = recorder(&dir, "b.sh");
    let g = recorder(&dir, "g.sh");
    let scripts = NotifyScripts {
        master: Some(script(&format!("{} one two", m.display()))),
        backup: Some(script(b.to_str().unwrap())),
        generic: Some(script(&format!("{} x", g.display()))),
        ..Default::default()
    };
    rt().block_on(async {
        let t = Duration::from_secs(10);
        for h in scripts.notify(NotifyTarget::Instance, "VI_1", NotifyState::Master, 150, t) {
            assert_eq!(h.await.unwrap(), ExitOutcome::Success);
        }
        assert_eq!(output(&dir, "m.sh"), "one two\n");
        assert_eq!(output(&dir, "g.sh"), "x INSTANCE VI_1 MASTER 150\n");
        for h in scripts.notify(NotifyTarget::Group, "G", NotifyState::Backup, 150, t) {
            assert_eq!(h.await.unwrap(), ExitOutcome::Success);
        }
        assert_eq!(output(&dir, "b.sh"), "\n");
        assert_eq!(output(&dir, "g.sh"), "x GROUP G BACKUP 0\n");
        // A state without its own script still runs the generic one.
        let handles = scripts.notify(NotifyTarget::Instance, "VI_1", NotifyState::Fault, 90, t);
        assert_eq!(handles.len(), 1);
        for h in handles {
            h.await.unwrap();
        }
        assert_eq!(output(&dir, "g.sh"), "x INSTANCE VI_1 FAULT 90\n");
    });
}

#[test]
fn hung_notify_script_is_killed_with_its_group() {
    let dir = TempDir::new("edges-nhang");
    let pids = dir.0.join("pids");
    let p = dir.0.join("hang.sh");
    std::fs::write(
        &p,
        format!(
            "#!/bin/sh\nsleep 300 &\necho $$ $! > {}\nwait\n",
            pids.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    let scripts = NotifyScripts {
        stop: Some(script(p.to_str().unwrap())),
        ..Default::default()
    };
    rt().block_on(async {
        let handles = scripts.notify(
            NotifyTarget::Instance,
            "VI_1",
            NotifyState::Stop,
            0,
            Duration::from_millis(300),
        );
        for h in handles {
            assert_eq!(h.await.unwrap(), ExitOutcome::TimedOut);
        }
    });
    for pid in std::fs::read_to_string(&pids).unwrap().split_whitespace() {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let alive = !stat.is_empty()
            && !stat
                .rsplit(')')
                .next()
                .unwrap()
                .trim_start()
                .starts_with('Z');
        assert!(!alive, "pid {pid} survived");
    }
}

#[test]
fn notify_scripts_run_as_script_user() {
    let dir = TempDir::new("edges-nuser");
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o777)).unwrap();
    let p = dir.0.join("who.sh");
    let out = dir.0.join("who.out");
    std::fs::write(&p, format!("#!/bin/sh\nid -u > {}\n", out.display())).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    let nobody = RunAs::lookup("nobody", None).unwrap();
    let scripts = NotifyScripts {
        master: Some(NotifyScript::new(p.to_str().unwrap(), nobody).unwrap()),
        ..Default::default()
    };
    rt().block_on(async {
        for h in scripts.notify(
            NotifyTarget::Instance,
            "VI_1",
            NotifyState::Master,
            1,
            PATIENCE,
        ) {
            assert_eq!(h.await.unwrap(), ExitOutcome::Success);
        }
    });
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        format!("{}\n", nobody.uid)
    );
}

/// Opens the FIFO for reading without waiting for a writer, then makes reads blocking with a
/// bounded wait.
fn reader(path: &Path) -> BufReader<File> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .unwrap();
    // SAFETY: clearing O_NONBLOCK on our own descriptor.
    unsafe {
        let fd = std::os::fd::AsRawFd::as_raw_fd(&f);
        let flags = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
    }
    BufReader::new(f)
}

/// Reads `n` lines on a helper thread, failing the test if they do not come. End of file only
/// means no writer has the FIFO open (yet, or at the moment), so it waits and reads again.
fn read_lines(mut r: BufReader<File>, n: usize) -> (Vec<String>, BufReader<File>) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let until = Instant::now() + PATIENCE;
        let mut lines = Vec::new();
        let mut partial = String::new();
        while lines.len() < n && Instant::now() < until {
            if r.read_line(&mut partial).unwrap() == 0 {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            if partial.ends_with('\n') {
                lines.push(std::mem::take(&mut partial));
            }
        }
        let _ = tx.send((lines, r));
    });
    rx.recv_timeout(PATIENCE).expect("lines did not arrive")
}

fn line(i: usize) -> String {
    format!("INSTANCE \"VI_{i}\" MASTER 100\n")
}

#[test]
fn fifo_is_created_and_lines_arrive_in_order() {
    let dir = TempDir::new("edges-nfifo");
    let path = dir.0.join("notify.fifo");
    rt().block_on(async {
        let fifo = NotifyFifo::open(&FifoSpec::new(&path)).unwrap();
        assert!(std::fs::metadata(&path).unwrap().file_type().is_fifo());
        // No reader yet: the line waits.
        fifo.notify(NotifyTarget::Instance, "VI_1", "MASTER", 150);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let r = reader(&path);
        fifo.notify(NotifyTarget::Group, "G", "BACKUP", 150);
        fifo.notify(NotifyTarget::Instance, "VI_1", "MASTER_RX_LOWER_PRI", 150);
        let (lines, _r) = tokio::task::spawn_blocking(move || read_lines(r, 3))
            .await
            .unwrap();
        assert_eq!(
            lines,
            [
                "INSTANCE \"VI_1\" MASTER 150\n",
                "GROUP \"G\" BACKUP 0\n",
                "INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 150\n"
            ]
        );
        assert_eq!(fifo.dropped(), 0);
    });
    // An existing non-FIFO is refused.
    let plain = dir.0.join("plain");
    std::fs::write(&plain, "").unwrap();
    rt().block_on(async {
        assert!(NotifyFifo::open(&FifoSpec::new(&plain)).is_err());
    });
}

#[test]
fn fifo_survives_a_reader_that_goes_away() {
    let dir = TempDir::new("edges-ngone");
    let path = dir.0.join("notify.fifo");
    rt().block_on(async {
        let fifo = NotifyFifo::open(&FifoSpec::new(&path)).unwrap();
        let r = reader(&path);
        fifo.send_line(line(1));
        let (got, r) = tokio::task::spawn_blocking(move || read_lines(r, 1))
            .await
            .unwrap();
        assert_eq!(got, [line(1)]);
        drop(r);
        for i in 2..=5 {
            fifo.send_line(line(i));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let r = reader(&path);
        let (got, _r) = tokio::task::spawn_blocking(move || read_lines(r, 4))
            .await
            .unwrap();
        assert_eq!(got, (2..=5).map(line).collect::<Vec<_>>());
    });
}

#[test]
fn fifo_never_blocks_on_a_reader_that_never_reads() {
    let dir = TempDir::new("edges-nstuck");
    let path = dir.0.join("notify.fifo");
    rt().block_on(async {
        let fifo = NotifyFifo::open(&FifoSpec::new(&path)).unwrap();
        let r = reader(&path);
        // Far more than the pipe and the queue hold.
        let total = 20_000;
        for i in 0..total {
            fifo.send_line(line(i));
            if i % 500 == 0 {
                tokio::task::yield_now().await;
            }
        }
        let until = Instant::now() + PATIENCE;
        while fifo.dropped() == 0 {
            assert!(Instant::now() < until, "nothing was dropped");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // What the reader finally gets starts at the first line, without holes.
        let (got, _r) = tokio::task::spawn_blocking(move || read_lines(r, 200))
            .await
            .unwrap();
        assert_eq!(got, (0..200).map(line).collect::<Vec<_>>());
    });
}
