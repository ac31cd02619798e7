//! The instance state machine's vocabulary: RFC 5798 §6.4 states plus keepalived's FAULT and STOP,
//! and the measured reasons a transition happened (shown after keepalived's own log line).

use core::time::Duration;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::config::{Family, TrackerId};

/// RFC 5798 §6.4 states (Initialize, Backup, Master) plus keepalived's Fault and Stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum State {
    /// RFC 5798 §6.4.1 Initialize: before start-up ran.
    Init,
    Backup,
    Master,
    /// keepalived's FAULT: an interface, source address or weight-0 tracker is failing.
    Fault,
    /// After `Input::Shutdown` (or removal on reload).
    Stop,
}

/// State named in a notify (keepalived's notify scripts and FIFO words).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NotifyState {
    Master,
    Backup,
    Fault,
    Stop,
    Deleted,
    /// Removed by a reload without `notify_deleted`: keepalived's old way (vrrp_notify.c) says
    /// FAULT to the FIFO and the generic script, and runs no state script (its
    /// `script_deleted` is unset; `notify_fault` does not run).
    Removed,
}

impl NotifyState {
    /// The word keepalived's notify scripts and FIFO lines use.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyState::Master => "MASTER",
            NotifyState::Backup => "BACKUP",
            NotifyState::Fault => "FAULT",
            NotifyState::Stop => "STOP",
            NotifyState::Deleted => "DELETED",
            NotifyState::Removed => "FAULT",
        }
    }
}

impl core::fmt::Display for NotifyState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an instance is in FAULT.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FaultReason {
    /// The instance's `interface` is down (and not `dont_track_primary`).
    LinkDown(String),
    /// Neither `unicast_src_ip`/`mcast_src_ip` nor an interface address of this family.
    NoSourceAddress(Family),
    /// A weight-0 tracker failed (or is up with `reverse`), or a track_file result ≤ −254.
    Tracker(TrackerId),
    /// Start-up only: a weight-0 `track_script` has no first result yet (keepalived holds the
    /// instance in FAULT (init) until it has, and notifies nothing meanwhile).
    AwaitingScript(String),
    /// Another member of the sync group is in FAULT.
    SyncGroup(String),
}

/// Why a transition happened, with what was measured.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reason {
    /// Start-up (keepalived's "(init)").
    Init,
    /// RFC 5798 §6.4.2: Master_Down_Timer fired. `late` = how long after the deadline it ran;
    /// `since_advert` = time since the last accepted advert (None if none was ever heard).
    MasterDown {
        master_down_interval: Duration,
        since_advert: Option<Duration>,
        late: Duration,
    },
    /// A priority-0 advert started a Skew_Time down timer that fired. `late` = how long after
    /// the deadline (the priority-0 advert's receive time + Skew_Time) it ran.
    PriorityZero {
        from: IpAddr,
        late: Duration,
    },
    /// RFC 5798 §6.4.3: a master heard a higher priority (or equal from a higher address).
    HigherPriority {
        from: IpAddr,
        priority: u8,
        ours: u8,
    },
    /// Address owner with `state MASTER` (RFC 5798 §6.4.1).
    Owner,
    /// A sync-group member pulled this one along.
    SyncGroup(String),
    Fault(FaultReason),
    /// All fault conditions cleared.
    FaultCleared,
    /// One of a master's VIPs was deleted from outside (keepalived `set_vrrp_backup`).
    VipDeleted(IpAddr),
    Shutdown,
    /// Removed by a reload.
    Removed,
}
