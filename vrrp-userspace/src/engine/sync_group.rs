//! keepalived sync groups (`vrrp_sync_group`, keepalived `vrrp_sync.c`; keepalived-behaviour.md
//! §2.12): members go MASTER only when every member wants MASTER, any member falling to BACKUP or
//! FAULT pulls the others along, and the group notifies with priority 0.

use super::Engine;
use super::config::SyncGroupConfig;
use super::fsm::{NotifyState, Reason, State};
use super::instance::Instance;
use super::io::{Action, NotifyTarget};
use super::log::Log;
use crate::time::Timestamp;

#[derive(Clone)]
pub(crate) struct SyncGroup {
    pub name: String,
    /// Indexes into `Engine::instances`.
    pub members: Vec<usize>,
    /// The group state last notified (Init before the first notify).
    pub state: State,
    /// A member is in FAULT (the "Syncing instances to FAULT" line was logged).
    pub faulted: bool,
}

/// Resolves member names to instance indexes and records each instance's group. Unknown names
/// are ignored (the config front end reports them).
pub(crate) fn build(configs: &[SyncGroupConfig], instances: &mut [Instance]) -> Vec<SyncGroup> {
    let mut groups = Vec::new();
    for cfg in configs {
        let g = groups.len();
        let members: Vec<usize> = cfg
            .members
            .iter()
            .filter_map(|name| instances.iter().position(|i| &i.cfg.name == name))
            .collect();
        for &m in &members {
            instances[m].group = Some(g);
        }
        groups.push(SyncGroup {
            name: cfg.name.clone(),
            members,
            state: State::Init,
            faulted: false,
        });
    }
    groups
}

impl Engine {
    /// keepalived `vrrp_sync_can_goto_master`: prefer BACKUP unless every member wants MASTER.
    pub(super) fn group_wants_master(&self, g: usize) -> bool {
        self.groups[g].members.iter().all(|&m| {
            let i = &self.instances[m];
            i.state == State::Master || (i.state == State::Backup && i.wants_master)
        })
    }

    /// Pulls every other member of group `g` to `to` (MASTER or BACKUP) after member `from` went
    /// there.
    pub(super) fn sync_group_to(&mut self, now: Timestamp, g: usize, from: usize, to: State) {
        let others: Vec<usize> = self.groups[g]
            .members
            .iter()
            .copied()
            .filter(|&m| m != from)
            .collect();
        if others.is_empty() {
            return;
        }
        let name = self.groups[g].name.clone();
        self.actions.push_back(Action::Log(Log::SyncGroupSyncing {
            group: name.clone(),
            state: to,
        }));
        for m in others {
            let state = self.instances[m].state;
            match (to, state) {
                (State::Master, State::Backup) => {
                    self.become_master(now, m, Reason::SyncGroup(name.clone()))
                }
                (State::Backup, State::Master) => {
                    self.leave_master_to_backup(now, m, Reason::SyncGroup(name.clone()), now)
                }
                (State::Backup, _) => self.instances[m].wants_master = false,
                _ => {}
            }
        }
    }

    /// Logs the FAULT sync once when a member's own fault starts pulling the group.
    pub(super) fn sync_group_faults(&mut self, g: usize) {
        let faulted = self.groups[g]
            .members
            .iter()
            .any(|&m| self.instances[m].own_fault.is_some());
        let group = &mut self.groups[g];
        if faulted && !group.faulted && group.members.len() > 1 {
            self.actions.push_back(Action::Log(Log::SyncGroupSyncing {
                group: group.name.clone(),
                state: State::Fault,
            }));
        }
        group.faulted = faulted;
    }

    /// Emits the group notify (priority 0) when the group's overall state changed.
    pub(super) fn update_groups(&mut self) {
        for g in 0..self.groups.len() {
            let states: Vec<State> = self.groups[g]
                .members
                .iter()
                .map(|&m| self.instances[m].state)
                .collect();
            if states.is_empty() || states.contains(&State::Init) {
                continue;
            }
            let (state, notify) = if states.iter().all(|&s| s == State::Stop) {
                (State::Stop, NotifyState::Stop)
            } else if states.contains(&State::Fault) {
                (State::Fault, NotifyState::Fault)
            } else if states.iter().all(|&s| s == State::Master) {
                (State::Master, NotifyState::Master)
            } else if states.contains(&State::Stop) {
                continue;
            } else {
                (State::Backup, NotifyState::Backup)
            };
            if self.groups[g].state != state {
                self.groups[g].state = state;
                self.actions.push_back(Action::Notify {
                    target: NotifyTarget::Group(self.groups[g].name.clone()),
                    state: notify,
                    priority: 0,
                });
            }
        }
    }
}
