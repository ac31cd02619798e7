//! Notify scripts: `notify_master|backup|fault|stop|deleted` run with only their configured
//! arguments; the generic `notify` runs afterwards with `INSTANCE|GROUP NAME STATE PRIORITY`
//! appended (priority 0 for groups). Each runs in its own task under a timeout that kills its
//! process group; like keepalived, vrrpd does not wait for them, so their order is not
//! guaranteed.

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::track::exec::{self, ExitOutcome};
use crate::track::{CommandError, RunAs, ScriptCommand};

/// Whose state changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NotifyTarget {
    Instance,
    Group,
}

impl NotifyTarget {
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyTarget::Instance => "INSTANCE",
            NotifyTarget::Group => "GROUP",
        }
    }
}

/// The states notify scripts are told about: the engine's, so no translation is needed.
pub use crate::engine::NotifyState;

/// One configured notify script line and the user it runs as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifyScript {
    pub command: ScriptCommand,
    pub run_as: RunAs,
}

impl NotifyScript {
    /// Parses a `notify_*` line and checks the program is there and executable, as keepalived
    /// does before enabling it (on error it logs "Disabling notify script …").
    pub fn new(line: &str, run_as: RunAs) -> Result<NotifyScript, CommandError> {
        let command = ScriptCommand::parse(line)?;
        command.check(run_as)?;
        Ok(NotifyScript { command, run_as })
    }
}

/// The notify scripts of one instance or sync group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NotifyScripts {
    pub master: Option<NotifyScript>,
    pub backup: Option<NotifyScript>,
    pub fault: Option<NotifyScript>,
    pub stop: Option<NotifyScript>,
    pub deleted: Option<NotifyScript>,
    /// The generic `notify` script.
    pub generic: Option<NotifyScript>,
}

impl NotifyScripts {
    /// Starts the scripts for a transition of `name` to `state`: the state's own script, then
    /// the generic one with its four arguments. Returns their handles (callers may drop them:
    /// the scripts keep running and are still killed at `timeout`).
    pub fn notify(
        &self,
        target: NotifyTarget,
        name: &str,
        state: NotifyState,
        priority: u8,
        timeout: Duration,
    ) -> Vec<JoinHandle<ExitOutcome>> {
        let specific = match state {
            NotifyState::Master => &self.master,
            NotifyState::Backup => &self.backup,
            NotifyState::Fault => &self.fault,
            NotifyState::Stop => &self.stop,
            NotifyState::Deleted => &self.deleted,
            NotifyState::Removed => &None,
        };
        let mut started = Vec::new();
        if let Some(script) = specific {
            started.push(spawn_notify(script, Vec::new(), timeout));
        }
        if let Some(script) = &self.generic {
            let priority = match target {
                NotifyTarget::Instance => priority,
                NotifyTarget::Group => 0,
            };
            let extra = vec![
                target.as_str().to_owned(),
                name.to_owned(),
                state.as_str().to_owned(),
                priority.to_string(),
            ];
            started.push(spawn_notify(script, extra, timeout));
        }
        started
    }
}

/// Runs one notify script in its own task with `extra` arguments appended. A non-zero exit or a
/// timeout is logged, never fatal. Must be called inside a tokio runtime.
pub fn spawn_notify(
    script: &NotifyScript,
    extra: Vec<String>,
    timeout: Duration,
) -> JoinHandle<ExitOutcome> {
    let script = script.clone();
    tokio::spawn(async move {
        let outcome = exec::run(&script.command, &extra, script.run_as, timeout).await;
        if !outcome.is_success() {
            tracing::warn!("notify script `{}` {}", script.command.program(), outcome);
        }
        outcome
    })
}
