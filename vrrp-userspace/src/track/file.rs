//! `track_file`: a file holding an integer, watched with inotify on its directory (keepalived
//! watches the directory too, so the file may be created, replaced by rename or deleted).
//!
//! Reading follows keepalived: the first 127 bytes are parsed like C `strtol(buf, NULL, 0)`
//! (leading blanks, optional sign, `0x` hex or leading-`0` octal, stops at the first non-digit);
//! a missing, empty or unparsable file reads as 0, and a deleted or renamed-away file counts as
//! 0. The value is reported raw; multiplying by the weight and clamping (§2.1) is the engine's.
//!
//! `init_file [VALUE] [overwrite]` is keepalived's too: at start-up the file is created with
//! VALUE (default 0) when missing, or rewritten with `overwrite`; a reload only creates a missing
//! file. A track file whose directory does not exist is removed, the others are watched.

use std::collections::HashMap;
use std::ffi::{CString, OsStr, OsString};
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// One `track_file NAME { file PATH; init_file ... }` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackFileSpec {
    pub name: String,
    pub path: PathBuf,
    pub init: Option<TrackFileInit>,
}

/// `init_file [VALUE] [overwrite]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrackFileInit {
    pub value: i64,
    pub overwrite: bool,
}

/// A tracked file's value changed (or its initial value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileChange {
    pub name: String,
    pub value: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum TrackFileError {
    #[error("Track file directory for {name} does not exist - removing ({})", dir.display())]
    NoDirectory { name: String, dir: PathBuf },
    #[error("track file {name} ({}): {syscall} failed: {source}", path.display())]
    Watch {
        name: String,
        path: PathBuf,
        syscall: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("Unable to initialise track file {name} ({}: {source})", path.display())]
    Init {
        name: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("Cannot initialise track file {name} - it is not a regular file")]
    NotRegular { name: String },
}

/// C `strtol(s, NULL, 0)` on a 64-bit target: saturates at the `long` range.
fn strtol0(s: &[u8]) -> i64 {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r') {
        i += 1;
    }
    let negative = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let radix: u32 = if s.get(i) == Some(&b'0')
        && matches!(s.get(i + 1), Some(b'x' | b'X'))
        && s.get(i + 2).is_some_and(|c| c.is_ascii_hexdigit())
    {
        i += 2;
        16
    } else if s.get(i) == Some(&b'0') {
        8
    } else {
        10
    };
    // Accumulate as a negative number so that i64::MIN is reachable.
    let mut acc: i64 = 0;
    let mut overflow = false;
    while let Some(d) = s.get(i).and_then(|&c| (c as char).to_digit(radix)) {
        match acc
            .checked_mul(radix as i64)
            .and_then(|a| a.checked_sub(d as i64))
        {
            Some(a) => acc = a,
            None => overflow = true,
        }
        i += 1;
    }
    match (overflow, negative) {
        (true, true) => i64::MIN,
        (true, false) => i64::MAX,
        (false, true) => acc,
        (false, false) => acc.checked_neg().unwrap_or(i64::MAX),
    }
}

/// Reads a track file as keepalived does: missing, unreadable, empty or unparsable → 0.
pub fn read_track_file(path: &Path) -> i64 {
    let mut buf = [0u8; 127];
    let Ok(mut f) = std::fs::File::open(path) else {
        return 0;
    };
    let mut len = 0;
    while len < buf.len() {
        match f.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    strtol0(&buf[..len])
}

/// keepalived's `init_file`: writes the value when the file is missing, or with `overwrite` at
/// start-up (never on `reload`) when it is a regular file. Written as `VALUE\n`, mode 0644, and
/// never through a symbolic link (keepalived's `fopen_safe`: a user who can write the directory
/// must not make root overwrite another file).
pub fn init_track_file(spec: &TrackFileSpec, reload: bool) -> Result<(), TrackFileError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let Some(init) = spec.init else {
        return Ok(());
    };
    if let Ok(meta) = std::fs::metadata(&spec.path) {
        if !init.overwrite {
            return Ok(());
        }
        if !meta.is_file() {
            return Err(TrackFileError::NotRegular {
                name: spec.name.clone(),
            });
        }
        if reload {
            return Ok(());
        }
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&spec.path)
        .and_then(|mut f| f.write_all(format!("{}\n", init.value).as_bytes()))
        .map_err(|source| TrackFileError::Init {
            name: spec.name.clone(),
            path: spec.path.clone(),
            source,
        })
}

/// The directory watched for a track file: its parent, `.` for a bare name.
pub fn track_file_dir(path: &Path) -> PathBuf {
    split(path).0
}

/// Watches a set of track files. Dropping it stops the watch.
pub struct FileTracker {
    task: JoinHandle<()>,
}

struct Watched {
    name: String,
    path: PathBuf,
    file_name: OsString,
    value: i64,
}

impl FileTracker {
    /// Starts watching: first sends every file's current value, then a [`FileChange`] whenever
    /// a value changes. A file that cannot be watched (its directory does not exist) is left out
    /// and returned with the tracker, for the caller to log: keepalived removes that one track
    /// file and watches the rest. Fails only if inotify itself does. Must be called inside a
    /// tokio runtime.
    pub fn spawn(
        specs: Vec<TrackFileSpec>,
        changes: mpsc::Sender<FileChange>,
    ) -> Result<(FileTracker, Vec<TrackFileError>), TrackFileError> {
        // SAFETY: plain syscall; the descriptor is checked and then owned.
        let raw = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        let first_name = specs.first().map(|s| s.name.clone()).unwrap_or_default();
        if raw < 0 {
            return Err(TrackFileError::Watch {
                name: first_name,
                path: PathBuf::new(),
                syscall: "inotify_init1",
                source: io::Error::last_os_error(),
            });
        }
        // SAFETY: fresh descriptor owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let mut by_wd: HashMap<i32, Vec<Watched>> = HashMap::new();
        let mut removed = Vec::new();
        for spec in specs {
            match add_watch(&fd, &spec) {
                Ok((wd, file_name)) => by_wd.entry(wd).or_default().push(Watched {
                    name: spec.name,
                    path: spec.path,
                    file_name,
                    value: 0,
                }),
                Err(e) => removed.push(e),
            }
        }
        // SAFETY: the OwnedFd keeps the descriptor open for the AsyncFd's whole life.
        let fd =
            unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }.map_err(|e| {
                TrackFileError::Watch {
                    name: first_name,
                    path: PathBuf::new(),
                    syscall: "epoll_ctl(inotify)",
                    source: e.into(),
                }
            })?;
        let task = tokio::spawn(watch(fd, by_wd, changes));
        Ok((FileTracker { task }, removed))
    }
}

/// Watches the directory of `spec`'s file; returns the watch descriptor and the file's name.
fn add_watch(fd: &OwnedFd, spec: &TrackFileSpec) -> Result<(i32, OsString), TrackFileError> {
    let (dir, file_name) = split(&spec.path);
    let no_dir = || TrackFileError::NoDirectory {
        name: spec.name.clone(),
        dir: dir.clone(),
    };
    if !dir.is_dir() {
        return Err(no_dir());
    }
    let c_dir = CString::new(dir.as_os_str().as_bytes()).map_err(|_| no_dir())?;
    let mask = libc::IN_CLOSE_WRITE | libc::IN_DELETE | libc::IN_MOVED_FROM | libc::IN_MOVED_TO;
    // SAFETY: valid fd and NUL-terminated path.
    let wd = unsafe { libc::inotify_add_watch(fd.as_raw_fd(), c_dir.as_ptr(), mask) };
    if wd < 0 {
        return Err(TrackFileError::Watch {
            name: spec.name.clone(),
            path: spec.path.clone(),
            syscall: "inotify_add_watch",
            source: io::Error::last_os_error(),
        });
    }
    Ok((wd, file_name))
}

impl Drop for FileTracker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// (directory, file name); a bare name is in the current directory.
fn split(path: &Path) -> (PathBuf, OsString) {
    let file_name = path.file_name().map(OsStr::to_owned).unwrap_or_default();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    (dir, file_name)
}

async fn watch(
    fd: AsyncFd<OwnedFd>,
    mut by_wd: HashMap<i32, Vec<Watched>>,
    changes: mpsc::Sender<FileChange>,
) {
    for watched in by_wd.values_mut().flatten() {
        watched.value = read_track_file(&watched.path);
        let initial = FileChange {
            name: watched.name.clone(),
            value: watched.value,
        };
        if changes.send(initial).await.is_err() {
            return;
        }
    }
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let Ok(mut guard) = fd.readable().await else {
            tracing::error!("track_file: inotify descriptor failed; stopping the watch");
            return;
        };
        // SAFETY: reads into our buffer, at most its length.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::WouldBlock {
                guard.clear_ready();
            } else if err.kind() != io::ErrorKind::Interrupted {
                tracing::error!("track_file: inotify read failed: {err}");
                return;
            }
            continue;
        }
        let mut pending = Vec::new();
        for (wd, mask, name) in events(&buf[..n as usize]) {
            let Some(list) = by_wd.get_mut(&wd) else {
                continue;
            };
            for watched in list.iter_mut().filter(|w| w.file_name.as_bytes() == name) {
                let value = if mask & (libc::IN_DELETE | libc::IN_MOVED_FROM) != 0 {
                    0
                } else {
                    read_track_file(&watched.path)
                };
                if value != watched.value {
                    watched.value = value;
                    pending.push(FileChange {
                        name: watched.name.clone(),
                        value,
                    });
                }
            }
        }
        for change in pending {
            if changes.send(change).await.is_err() {
                return;
            }
        }
    }
}

/// Parses a buffer of `struct inotify_event`s into (wd, mask, name without NUL padding).
fn events(mut buf: &[u8]) -> Vec<(i32, u32, &[u8])> {
    const HEADER: usize = 16;
    let mut out = Vec::new();
    while buf.len() >= HEADER {
        let wd = i32::from_ne_bytes(buf[0..4].try_into().expect("4 bytes"));
        let mask = u32::from_ne_bytes(buf[4..8].try_into().expect("4 bytes"));
        let len = u32::from_ne_bytes(buf[12..16].try_into().expect("4 bytes")) as usize;
        let Some(name) = buf.get(HEADER..HEADER + len) else {
            break;
        };
        let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
        out.push((wd, mask, name));
        buf = &buf[HEADER + len..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testutil::TempDir;

    #[test]
    fn strtol_rules() {
        assert_eq!(strtol0(b"42"), 42);
        assert_eq!(strtol0(b"  \t-17\n"), -17);
        assert_eq!(strtol0(b"+5abc"), 5);
        assert_eq!(strtol0(b"0x1F"), 31);
        assert_eq!(strtol0(b"0X"), 0);
        assert_eq!(strtol0(b"010"), 8);
        assert_eq!(strtol0(b"09"), 0);
        assert_eq!(strtol0(b""), 0);
        assert_eq!(strtol0(b"abc"), 0);
        assert_eq!(strtol0(b"- 5"), 0);
        assert_eq!(strtol0(b"99999999999999999999999"), i64::MAX);
        assert_eq!(strtol0(b"-99999999999999999999999"), i64::MIN);
        assert_eq!(strtol0(b"-9223372036854775808"), i64::MIN);
    }

    #[test]
    fn reading_missing_or_junk_files_gives_zero() {
        let guard = TempDir::new("tf");
        let dir = guard.path().to_path_buf();
        let f = dir.join("v");
        assert_eq!(read_track_file(&f), 0);
        std::fs::write(&f, "junk").unwrap();
        assert_eq!(read_track_file(&f), 0);
        std::fs::write(&f, "-12\n").unwrap();
        assert_eq!(read_track_file(&f), -12);
        // Only the first 127 bytes count.
        let mut long = " ".repeat(127);
        long.push('7');
        std::fs::write(&f, &long).unwrap();
        assert_eq!(read_track_file(&f), 0);
    }

    #[test]
    fn init_file_follows_keepalived() {
        use std::os::unix::fs::PermissionsExt;
        let guard = TempDir::new("tf-init");
        let dir = guard.path().to_path_buf();
        let spec = |file: &str, value, overwrite| TrackFileSpec {
            name: "tf".into(),
            path: dir.join(file),
            init: Some(TrackFileInit { value, overwrite }),
        };
        let text = |file: &str| std::fs::read_to_string(dir.join(file)).unwrap();
        // Created when missing, at start-up and on reload, as "VALUE\n", mode 0644.
        for reload in [false, true] {
            let name = format!("new-{reload}");
            init_track_file(&spec(&name, 5, false), reload).unwrap();
            assert_eq!(text(&name), "5\n");
            let mode = std::fs::metadata(dir.join(&name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o022, 0, "{mode:o}");
        }
        // An existing file is kept, unless `overwrite` at start-up.
        std::fs::write(dir.join("old"), "7\n").unwrap();
        init_track_file(&spec("old", -3, false), false).unwrap();
        assert_eq!(text("old"), "7\n");
        init_track_file(&spec("old", -3, true), true).unwrap();
        assert_eq!(text("old"), "7\n", "a reload never overwrites");
        init_track_file(&spec("old", -3, true), false).unwrap();
        assert_eq!(text("old"), "-3\n");
        // Not through a symbolic link, and not over a directory.
        std::fs::write(dir.join("target"), "1\n").unwrap();
        std::os::unix::fs::symlink(dir.join("target"), dir.join("link")).unwrap();
        assert!(matches!(
            init_track_file(&spec("link", 9, true), false),
            Err(TrackFileError::Init { .. })
        ));
        assert_eq!(text("target"), "1\n");
        std::fs::create_dir(dir.join("sub")).unwrap();
        let e = init_track_file(&spec("sub", 9, true), false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Cannot initialise track file tf - it is not a regular file"
        );
        // No init_file: nothing is written.
        let mut none = spec("none", 1, true);
        none.init = None;
        init_track_file(&none, false).unwrap();
        assert!(!dir.join("none").exists());
    }

    #[test]
    fn inotify_event_buffer_parses() {
        let mut buf = Vec::new();
        for (wd, mask, name) in [
            (1i32, 8u32, &b"a\0\0\0"[..]),
            (2, 512, &b"bc\0\0\0\0\0\0"[..]),
        ] {
            buf.extend_from_slice(&wd.to_ne_bytes());
            buf.extend_from_slice(&mask.to_ne_bytes());
            buf.extend_from_slice(&0u32.to_ne_bytes());
            buf.extend_from_slice(&(name.len() as u32).to_ne_bytes());
            buf.extend_from_slice(name);
        }
        assert_eq!(events(&buf), vec![(1, 8, &b"a"[..]), (2, 512, &b"bc"[..])]);
        assert_eq!(events(&buf[..18]), vec![]);
        assert_eq!(events(&buf[..20]), vec![(1, 8, &b"a"[..])]);
    }
}
