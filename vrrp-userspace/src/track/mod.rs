//! Trackers: the `vrrp_script` runner, `track_file` watcher and keepalived's rise/fall counter.
//! They turn the outside world into engine inputs (`(name, Up|Down)`, `(name, value)`); the
//! weight arithmetic on those inputs belongs to the engine.

mod command;
pub mod exec;
mod file;
mod rise_fall;
mod script;

pub use command::{CommandError, RunAs, ScriptCommand};
pub use exec::ExitOutcome;
pub use file::{
    FileChange, FileTracker, TrackFileError, TrackFileInit, TrackFileSpec, init_track_file,
    read_track_file, track_file_dir,
};
pub use rise_fall::RiseFall;
pub use script::{ScriptChange, ScriptError, ScriptRunner, ScriptSet, ScriptSpec};

/// A tracker's binary state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TrackState {
    Up,
    Down,
}
