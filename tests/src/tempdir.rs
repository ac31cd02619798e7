//! A temporary directory removed on `Drop`, for configuration and pid files of the daemons a test
//! runs.

use std::path::{Path, PathBuf};

pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `$TMPDIR/vt-{tag}-{pid}-{n}`. Panics if it cannot.
    pub fn new(tag: &str) -> TempDir {
        let path = std::env::temp_dir().join(crate::unique_name(tag));
        std::fs::create_dir(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `contents` to `name` inside the directory and returns its path.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let file = self.path.join(name);
        std::fs::write(&file, contents)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", file.display()));
        file
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Nothing useful to do about a failure while cleaning up, possibly during a panic.
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
