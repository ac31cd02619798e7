//! The `vrrp_script` runner: runs a check script at a fixed rate, feeds each result through
//! keepalived's rise/fall counter and reports state changes on a channel, with keepalived's log
//! lines (`VRRP_Script(chk) succeeded`, `VRRP_Script(chk) failed (exited with status 1)`,
//! `VRRP_Script(chk) timed_out`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::TrackState;
use super::command::{CommandError, RunAs, ScriptCommand};
use super::exec::{self, ExitOutcome};
use super::rise_fall::RiseFall;

/// One `vrrp_script` block, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptSpec {
    pub name: String,
    /// The `script` line (outer quotes removed).
    pub script: String,
    pub interval: Duration,
    /// `None`: the interval, keepalived's default.
    pub timeout: Option<Duration>,
    pub rise: u32,
    pub fall: u32,
    pub init_fail: bool,
    /// `user`, else the default script user (`script_user`, `keepalived_script`, root).
    pub run_as: RunAs,
}

/// A script's state changed (or was first decided).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptChange {
    pub name: String,
    pub state: TrackState,
    /// The run that caused the change.
    pub outcome: ExitOutcome,
}

/// A script that cannot be enabled. The caller disables it and logs this (keepalived's wording).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Disabling track script {name}: {source}")]
pub struct ScriptError {
    pub name: String,
    #[source]
    pub source: CommandError,
}

/// What [`ScriptRunner::spawn_all`] did.
pub struct ScriptSet {
    pub runners: Vec<ScriptRunner>,
    /// The scripts started now (all at start-up; on reload the new and changed ones): their
    /// runners report changes only, so the caller tells the engine what `init_fail` assumes.
    pub started: Vec<ScriptSpec>,
    /// Scripts that cannot be enabled (the caller logs them; keepalived's wording).
    pub disabled: Vec<ScriptError>,
}

/// A running `vrrp_script`. Dropping it stops the schedule and kills a run in progress.
pub struct ScriptRunner {
    task: JoinHandle<()>,
    spec: ScriptSpec,
    /// A run is in progress (the status snapshot reports keepalived's script `State`).
    running: Arc<AtomicBool>,
}

impl ScriptRunner {
    /// Checks the script (parsable, present, executable for its user) and starts running it
    /// every `interval`, the first run at once. Changes go to `changes`; the runner stops when
    /// the receiver is dropped. Must be called inside a tokio runtime.
    pub fn spawn(
        spec: ScriptSpec,
        changes: mpsc::Sender<ScriptChange>,
    ) -> Result<ScriptRunner, ScriptError> {
        let error = |source| ScriptError {
            name: spec.name.clone(),
            source,
        };
        let command = ScriptCommand::parse(&spec.script).map_err(error)?;
        command.check(spec.run_as).map_err(error)?;
        let running = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(schedule(spec.clone(), command, changes, running.clone()));
        Ok(ScriptRunner {
            task,
            spec,
            running,
        })
    }

    /// The runners for a configuration, at start-up (`running` empty) or on reload. A running
    /// script whose definition is unchanged is kept as it is: its schedule, rise/fall counter and
    /// last reported result carry on, so a reload neither skips `rise` nor hides the next failure
    /// (keepalived's `clear_diff_script` carries a script's result across reload too). The others
    /// start afresh and are listed in [`ScriptSet::started`]; runners no longer wanted are stopped.
    pub fn spawn_all(
        specs: &[ScriptSpec],
        changes: &mpsc::Sender<ScriptChange>,
        mut running: Vec<ScriptRunner>,
    ) -> ScriptSet {
        let mut set = ScriptSet {
            runners: Vec::with_capacity(specs.len()),
            started: Vec::new(),
            disabled: Vec::new(),
        };
        for spec in specs {
            if let Some(i) = running.iter().position(|r| r.spec == *spec) {
                set.runners.push(running.swap_remove(i));
                continue;
            }
            match ScriptRunner::spawn(spec.clone(), changes.clone()) {
                Ok(runner) => {
                    set.started.push(spec.clone());
                    set.runners.push(runner);
                }
                Err(e) => set.disabled.push(e),
            }
        }
        set
    }

    /// The `vrrp_script` name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Whether the script is being run now (between runs it is idle).
    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::Relaxed)
    }
}

impl Drop for ScriptRunner {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Run = Pin<Box<dyn Future<Output = ExitOutcome> + Send>>;

async fn schedule(
    spec: ScriptSpec,
    command: ScriptCommand,
    changes: mpsc::Sender<ScriptChange>,
    in_progress: Arc<AtomicBool>,
) {
    // keepalived: interval has ms resolution and 0 becomes 1 s.
    let interval = if spec.interval.is_zero() {
        Duration::from_secs(1)
    } else {
        spec.interval
    };
    let timeout = spec.timeout.filter(|t| !t.is_zero()).unwrap_or(interval);
    let mut rise_fall = RiseFall::new(spec.rise, spec.fall, spec.init_fail);
    // Fixed rate: ticks stay on the original schedule; a tick that finds the previous run
    // still going is skipped.
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut running: Option<Run> = None;
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                if running.is_some() {
                    tracing::warn!("Track script {} is already running, skipping this run", spec.name);
                } else {
                    let command = command.clone();
                    let run_as = spec.run_as;
                    in_progress.store(true, Ordering::Relaxed);
                    running = Some(Box::pin(async move {
                        exec::run(&command, &[], run_as, timeout).await
                    }));
                }
            }
            outcome = async { running.as_mut().expect("guarded by the select condition").await },
                if running.is_some() =>
            {
                running = None;
                in_progress.store(false, Ordering::Relaxed);
                if let Some(state) = rise_fall.record(outcome.is_success()) {
                    tracing::info!("VRRP_Script({}) {}", spec.name, outcome);
                    let change = ScriptChange { name: spec.name.clone(), state, outcome };
                    if changes.send(change).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}
