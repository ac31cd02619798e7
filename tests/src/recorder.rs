//! `Recorder`: a notify script that appends its arguments and the uid it ran as to a log, for the
//! tests that check which notify scripts ran, with what, as whom.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use crate::scenario::Testbed;
use crate::tempdir::TempDir;

/// How long `wait` waits for a script run (scripts run asynchronously).
const SETTLE: Duration = Duration::from_secs(15);

/// A directory with a recording script: each run appends `ARGS… uid=UID` to `log`. The directory
/// and the log are open to every user, so a `script_user` other than root can run it.
pub struct Recorder {
    pub dir: TempDir,
    pub script: PathBuf,
    pub log: PathBuf,
}

impl Recorder {
    pub fn new() -> Recorder {
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
    pub fn call(&self, tag: &str) -> String {
        format!("\"{} {tag}\"", self.script.display())
    }

    pub fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .expect("read log")
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The recorded lines starting with `tag `, without the tag.
    pub fn of(&self, tag: &str) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter_map(|l| l.strip_prefix(&format!("{tag} ")).map(str::to_string))
            .collect()
    }

    /// Waits until `tag` has recorded `n` lines.
    pub fn wait(&self, tag: &str, n: usize, tb: &Testbed) -> Vec<String> {
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

impl Default for Recorder {
    fn default() -> Recorder {
        Recorder::new()
    }
}
