//! `NsChild`: a process started by a test, with its output captured line by line (for waiting on
//! a line and for failure messages), killed with its whole process group on `Drop`.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// Which output stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One line of output, with the time it was read.
#[derive(Debug, Clone)]
pub struct Line {
    pub stream: Stream,
    pub text: String,
    pub at: Instant,
}

#[derive(Default)]
struct Output {
    lines: Vec<Line>,
    /// Streams that reached end of file; at 2 no more lines can come.
    closed: u8,
}

#[derive(Default)]
struct Captured {
    output: Mutex<Output>,
    changed: Condvar,
}

impl Captured {
    fn lock(&self) -> MutexGuard<'_, Output> {
        // A reader thread that panicked leaves the lines intact.
        self.output.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running process owned by a test.
pub struct NsChild {
    what: String,
    child: Child,
    captured: Arc<Captured>,
}

impl NsChild {
    /// Starts `command` (described as `what` in messages) in a new process group, stdin closed,
    /// stdout and stderr captured.
    pub fn spawn(what: String, mut command: Command) -> NsChild {
        let mut child = command
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        let captured = Arc::new(Captured::default());
        if let Some(out) = child.stdout.take() {
            read_lines(out, Stream::Stdout, Arc::clone(&captured));
        }
        if let Some(err) = child.stderr.take() {
            read_lines(err, Stream::Stderr, Arc::clone(&captured));
        }
        NsChild {
            what,
            child,
            captured,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every line captured so far.
    pub fn lines(&self) -> Vec<Line> {
        self.captured.lock().lines.clone()
    }

    /// The captured lines of one stream.
    pub fn stream_lines(&self, stream: Stream) -> Vec<String> {
        self.captured
            .lock()
            .lines
            .iter()
            .filter(|l| l.stream == stream)
            .map(|l| l.text.clone())
            .collect()
    }

    /// The first line matching `pred`, waiting up to `timeout` for it; `None` on timeout or when
    /// the process closed its output without printing one.
    pub fn try_wait_for(&self, timeout: Duration, pred: impl Fn(&Line) -> bool) -> Option<Line> {
        self.try_wait_for_count(1, timeout, pred)
            .and_then(|mut v| v.pop())
    }

    /// Like `try_wait_for`, but panics with the whole transcript when no line matches. `what`
    /// describes the line awaited.
    pub fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&Line) -> bool) -> Line {
        self.try_wait_for(timeout, pred).unwrap_or_else(|| {
            panic!(
                "no line {what} {} from {}\n{}",
                self.why_not(timeout),
                self.what,
                self.transcript()
            )
        })
    }

    /// The first `n` lines matching `pred`, waiting up to `timeout`; panics with the transcript if
    /// fewer arrive.
    pub fn wait_for_count(
        &self,
        what: &str,
        n: usize,
        timeout: Duration,
        pred: impl Fn(&Line) -> bool,
    ) -> Vec<Line> {
        self.try_wait_for_count(n, timeout, pred)
            .unwrap_or_else(|| {
                panic!(
                    "fewer than {n} lines {what} {} from {}\n{}",
                    self.why_not(timeout),
                    self.what,
                    self.transcript()
                )
            })
    }

    /// Why a wait ended empty-handed: the process closed its output, or time ran out.
    fn why_not(&self, timeout: Duration) -> String {
        if self.captured.lock().closed >= 2 {
            "(the process closed its output first)".to_string()
        } else {
            format!("within {timeout:?}")
        }
    }

    /// The first `n` lines matching `pred`, waiting up to `timeout`; `None` on timeout or when the
    /// process closed its output with fewer.
    pub fn try_wait_for_count(
        &self,
        n: usize,
        timeout: Duration,
        pred: impl Fn(&Line) -> bool,
    ) -> Option<Vec<Line>> {
        let deadline = Instant::now() + timeout;
        let mut output = self.captured.lock();
        loop {
            let found: Vec<Line> = output
                .lines
                .iter()
                .filter(|l| pred(l))
                .take(n)
                .cloned()
                .collect();
            if found.len() == n {
                return Some(found);
            }
            let now = Instant::now();
            if output.closed >= 2 || now >= deadline {
                return None;
            }
            output = self
                .captured
                .changed
                .wait_timeout(output, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// The exit status if the process has ended.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits up to `timeout` for the process to end.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends `signal` to the process (not its group), e.g. `libc::SIGTERM` for a clean shutdown.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(self.pid() as i32, signal) };
    }

    /// Kills the process and its group and reaps it.
    pub fn kill(&mut self) {
        // SAFETY: as above; the group id is the child's pid (process_group(0)), and the child is
        // not reaped yet, so the id cannot have been reused.
        unsafe { libc::kill(-(self.pid() as i32), libc::SIGKILL) };
        let _ = self.child.wait();
    }

    /// The command, its status and all its output, for failure messages.
    pub fn transcript(&self) -> String {
        let output = self.captured.lock();
        let mut text = format!("--- output of {} ---\n", self.what);
        for line in &output.lines {
            let tag = match line.stream {
                Stream::Stdout => "out",
                Stream::Stderr => "err",
            };
            let _ = writeln!(text, "{tag}| {}", line.text);
        }
        text.push_str("--- end ---");
        text
    }
}

impl Drop for NsChild {
    fn drop(&mut self) {
        self.kill();
    }
}

fn read_lines(from: impl Read + Send + 'static, stream: Stream, captured: Arc<Captured>) {
    thread::spawn(move || {
        for_each_line(from, |_, text| {
            captured.lock().lines.push(Line {
                stream,
                text,
                at: Instant::now(),
            });
            captured.changed.notify_all();
        });
        captured.lock().closed += 1;
        captured.changed.notify_all();
    });
}

/// Calls `f` with each line of `from` until end of file (or a read error): the raw bytes with
/// their newline, and the text (lossy UTF-8, trailing white space trimmed).
pub fn for_each_line(from: impl Read, mut f: impl FnMut(&[u8], String)) {
    let mut from = BufReader::new(from);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match from.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let text = String::from_utf8_lossy(&buf).trim_end().to_string();
                f(&buf, text);
            }
        }
    }
}
