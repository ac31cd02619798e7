//! All engine wording in one place (holo-vrrp `debug.rs` style): the [`Log`] events, and the
//! `Display` of [`Action`], [`Reason`] and [`State`]. Lines people grep for copy keepalived's
//! wording (keepalived-behaviour.md §3.5); our additions (the measured reason) follow it.

use core::fmt;
use core::time::Duration;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::config::{Family, TrackerId};
use super::fsm::{FaultReason, NotifyState, Reason, State};
use super::io::{Action, NotifyTarget, RxErrorReason};

/// How loud a line is (keepalived logs some only with `-D`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Level {
    Debug,
    Info,
    Warn,
}

/// Log events other than transitions and priority changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Log {
    LowerPriorityDiscarded {
        instance: String,
        from: IpAddr,
        priority: u8,
    },
    MasterRxHigherPriority {
        instance: String,
        from: IpAddr,
        priority: u8,
        ours: u8,
    },
    MasterRxSamePriorityHigherIp {
        instance: String,
        from: IpAddr,
        priority: u8,
    },
    MasterRxLowerPriority {
        instance: String,
        from: IpAddr,
        priority: u8,
        ours: u8,
    },
    BackupRxPriorityZero {
        instance: String,
        from: IpAddr,
    },
    MasterRxPriorityZero {
        instance: String,
        from: IpAddr,
    },
    ReceiveTimeout {
        instance: String,
    },
    SentPriorityZero {
        instance: String,
    },
    SyncGroupSyncing {
        group: String,
        state: State,
    },
    SyncGroupWaiting {
        instance: String,
        group: String,
    },
    WrongVersion {
        instance: String,
        from: IpAddr,
    },
    InvalidTtl {
        instance: String,
        from: IpAddr,
        ttl: u8,
    },
    IntervalMismatch {
        instance: String,
        from: IpAddr,
        theirs: u16,
        ours: u16,
    },
    InvalidAuthType {
        instance: String,
        from: IpAddr,
        auth_type: u8,
    },
    AuthTypeMismatch {
        instance: String,
        from: IpAddr,
        theirs: u8,
        ours: u8,
    },
    AuthFailure {
        instance: String,
        from: IpAddr,
    },
    DestinationMismatch {
        instance: String,
        from: IpAddr,
        dst: IpAddr,
        unicast: bool,
    },
    AddrListMismatch {
        instance: String,
        from: IpAddr,
    },
    /// `check_unicast_src`: the advert's source is not one of the unicast peers.
    UnicastSrcNotPeer {
        instance: String,
        from: IpAddr,
    },
    /// `check_unicast_src`: the TTL is outside the peer's `min_ttl`/`max_ttl`.
    TtlOutOfRange {
        instance: String,
        from: IpAddr,
        ttl: u8,
        min: u8,
        max: u8,
    },
    UnknownVrid {
        interface: String,
        family: Family,
        vrid: u8,
        from: IpAddr,
    },
    RxError {
        interface: String,
        vrid: Option<u8>,
        reason: RxErrorReason,
    },
    PreemptDelayStart {
        instance: String,
        delay: Duration,
    },
    PreemptDelayStop {
        instance: String,
    },
    OwnerIgnoresAdvert {
        instance: String,
        from: IpAddr,
    },
    /// keepalived: another address owner from a lower address, which should back off; the
    /// rogue-owner wait starts.
    RogueOwner {
        instance: String,
        from: IpAddr,
    },
    /// keepalived: two address owners, and the other did not back off.
    BothOwners {
        instance: String,
        from: IpAddr,
    },
    ReloadKept {
        instance: String,
        state: State,
    },
    /// Why an instance starts in FAULT (keepalived: `(VI_1) entering FAULT state (no IPv4 address
    /// for interface)`).
    FaultCause {
        instance: String,
        reason: FaultReason,
    },
}

impl Log {
    pub fn level(&self) -> Level {
        match self {
            Log::ReceiveTimeout { .. }
            | Log::BackupRxPriorityZero { .. }
            | Log::MasterRxPriorityZero { .. }
            | Log::SyncGroupWaiting { .. }
            | Log::OwnerIgnoresAdvert { .. }
            | Log::UnknownVrid { .. } => Level::Debug,
            Log::BothOwners { .. }
            | Log::RogueOwner { .. }
            | Log::WrongVersion { .. }
            | Log::InvalidTtl { .. }
            | Log::IntervalMismatch { .. }
            | Log::InvalidAuthType { .. }
            | Log::AuthTypeMismatch { .. }
            | Log::AuthFailure { .. }
            | Log::DestinationMismatch { .. }
            | Log::AddrListMismatch { .. }
            | Log::UnicastSrcNotPeer { .. }
            | Log::TtlOutOfRange { .. }
            | Log::RxError { .. } => Level::Warn,
            _ => Level::Info,
        }
    }
}

impl fmt::Display for Log {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Log::LowerPriorityDiscarded {
                instance,
                from,
                priority,
            } => write!(
                f,
                "({instance}) received lower priority ({priority}) advert from {from} - discarding"
            ),
            Log::MasterRxHigherPriority {
                instance,
                from,
                priority,
                ours,
            } => write!(
                f,
                "({instance}) Master received advert from {from} with higher priority {priority}, ours {ours}"
            ),
            Log::MasterRxSamePriorityHigherIp {
                instance,
                from,
                priority,
            } => write!(
                f,
                "({instance}) Master received advert from {from} with same priority {priority} but higher IP address than ours"
            ),
            Log::MasterRxLowerPriority {
                instance,
                from,
                priority,
                ours,
            } => write!(
                f,
                "({instance}) Received advert from {from} with lower priority {priority}, ours {ours}, forcing new election"
            ),
            Log::BackupRxPriorityZero { instance, from } => write!(
                f,
                "({instance}) Backup received priority 0 advertisement from {from}"
            ),
            Log::MasterRxPriorityZero { instance, from } => write!(
                f,
                "({instance}) Master received priority 0 advertisement from {from}"
            ),
            Log::ReceiveTimeout { instance } => {
                write!(f, "({instance}) Receive advertisement timeout")
            }
            Log::SentPriorityZero { instance } => write!(f, "({instance}) sent 0 priority"),
            Log::SyncGroupSyncing { group, state } => write!(
                f,
                "VRRP_Group({group}) Syncing instances to {} state",
                state_word(*state)
            ),
            Log::SyncGroupWaiting { instance, group } => write!(
                f,
                "({instance}) sync group {group}: waiting for every member to want MASTER"
            ),
            Log::WrongVersion { instance, from } => {
                write!(f, "({instance}) wrong VRRP version in advert from {from}")
            }
            Log::InvalidTtl {
                instance,
                from,
                ttl,
            } => write!(
                f,
                "({instance}) invalid TTL/HL from {from}. Received {ttl} and expect 255"
            ),
            Log::IntervalMismatch {
                instance,
                from,
                theirs,
                ours,
            } => write!(
                f,
                "({instance}) advertisement interval mismatch from {from} mine={} rcv'd={}",
                centis(*ours),
                centis(*theirs)
            ),
            Log::InvalidAuthType {
                instance,
                from,
                auth_type,
            } => write!(f, "({instance}) Invalid auth type {auth_type} from {from}"),
            Log::AuthTypeMismatch {
                instance,
                from,
                theirs,
                ours,
            } => write!(
                f,
                "({instance}) received a {theirs} auth from {from}, expecting {ours}!"
            ),
            Log::AuthFailure { instance, from } => {
                write!(f, "({instance}) received an invalid passwd from {from}!")
            }
            Log::DestinationMismatch {
                instance,
                from,
                dst,
                unicast,
            } => {
                let (got, mode) = if *unicast {
                    ("multicast", "unicast")
                } else {
                    ("unicast", "multicast")
                };
                write!(
                    f,
                    "({instance}) advert from {from} to {got} address {dst} in {mode} mode - discarding"
                )
            }
            Log::AddrListMismatch { instance, from } => write!(
                f,
                "({instance}) advert from {from}: address list does not match ours (accepted)"
            ),
            Log::UnicastSrcNotPeer { instance, from } => write!(
                f,
                "({instance}) unicast source address {from} not a unicast peer"
            ),
            Log::TtlOutOfRange {
                instance,
                ttl,
                min,
                max,
                ..
            } => write!(f, "({instance}) TTL/HL {ttl} not in range {min} - {max}"),
            Log::UnknownVrid {
                interface,
                family,
                vrid,
                from,
            } => write!(
                f,
                "{interface}: advert from {from} for unknown VRID {vrid} ({})",
                family_word(*family)
            ),
            Log::RxError {
                interface,
                vrid,
                reason,
            } => {
                write!(f, "{interface}: bad advert ({})", rx_error_word(*reason))?;
                if let Some(v) = vrid {
                    write!(f, " for VRID {v}")?;
                }
                Ok(())
            }
            Log::PreemptDelayStart { instance, delay } => write!(
                f,
                "({instance}) start preempt delay ({})",
                DisplayDuration(*delay)
            ),
            Log::PreemptDelayStop { instance } => write!(f, "({instance}) stop preempt delay"),
            Log::OwnerIgnoresAdvert { instance, from } => {
                write!(f, "({instance}) address owner ignoring advert from {from}")
            }
            Log::RogueOwner { instance, from } => write!(
                f,
                "({instance}) CONFIGURATION ERROR: local instance and {from} are both configured \
                 as address owner, please resolve"
            ),
            Log::BothOwners { instance, from } => write!(
                f,
                "({instance}) {from} is still advertising as address owner, please resolve - \
                 reducing our priority"
            ),
            Log::FaultCause { instance, reason } => {
                write!(f, "({instance}) entering FAULT state ({reason})")
            }
            Log::ReloadKept { instance, state } => write!(
                f,
                "({instance}) kept {} state across reload",
                state_word(*state)
            ),
        }
    }
}

/// keepalived's upper-case state word.
pub fn state_word(state: State) -> &'static str {
    match state {
        State::Init => "INIT",
        State::Backup => "BACKUP",
        State::Master => "MASTER",
        State::Fault => "FAULT",
        State::Stop => "STOP",
    }
}

fn notify_word(state: NotifyState) -> &'static str {
    match state {
        NotifyState::Master => "MASTER",
        NotifyState::Backup => "BACKUP",
        NotifyState::Fault => "FAULT",
        NotifyState::Stop => "STOP",
        NotifyState::Deleted => "DELETED",
        NotifyState::Removed => "FAULT",
    }
}

fn family_word(family: Family) -> &'static str {
    match family {
        Family::Ipv4 => "IPv4",
        Family::Ipv6 => "IPv6",
    }
}

fn rx_error_word(reason: RxErrorReason) -> &'static str {
    match reason {
        RxErrorReason::PacketLength => "packet length",
        RxErrorReason::IpTtl => "TTL/hop limit",
        RxErrorReason::InvalidType => "invalid type",
        RxErrorReason::Checksum => "checksum",
        RxErrorReason::Version => "version",
        RxErrorReason::AuthFailure => "authentication",
        RxErrorReason::InvalidAuthType => "authentication type",
        RxErrorReason::AdvertInterval => "advertisement interval",
    }
}

fn centis(c: u16) -> DisplayDuration {
    DisplayDuration(Duration::from_millis(u64::from(c) * 10))
}

/// A duration with a unit that suits its size (`3.61 ms`, `3.609 s`).
pub struct DisplayDuration(pub Duration);

impl fmt::Display for DisplayDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0.as_nanos();
        if ns < 1_000 {
            write!(f, "{ns} ns")
        } else if ns < 1_000_000 {
            write!(f, "{:.2} µs", ns as f64 / 1e3)
        } else if ns < 1_000_000_000 {
            write!(f, "{:.2} ms", ns as f64 / 1e6)
        } else {
            write!(f, "{:.3} s", ns as f64 / 1e9)
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(state_word(*self))
    }
}

impl fmt::Display for FaultReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultReason::LinkDown(ifname) => write!(f, "interface {ifname} down"),
            FaultReason::NoSourceAddress(Family::Ipv4) => {
                f.write_str("no IPv4 address for interface")
            }
            FaultReason::NoSourceAddress(Family::Ipv6) => {
                f.write_str("no IPv6 link-local address for interface")
            }
            FaultReason::Tracker(t) => match t {
                TrackerId::Script(n) => write!(f, "VRRP_Script({n}) failed"),
                TrackerId::Interface(n) => write!(f, "tracked interface {n} down"),
                TrackerId::File(n) => write!(f, "track_file {n} reports fault"),
                TrackerId::Process(n) => write!(f, "track_process {n} failed"),
                TrackerId::Bfd(n) => write!(f, "track_bfd {n} down"),
            },
            FaultReason::AwaitingScript(n) => write!(f, "VRRP_Script({n}) has no result yet"),
            FaultReason::SyncGroup(g) => write!(f, "sync group {g} member in FAULT"),
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Init => f.write_str("init"),
            Reason::MasterDown {
                master_down_interval,
                since_advert,
                late,
            } => {
                match since_advert {
                    Some(since) => write!(f, "no advert for {}", DisplayDuration(*since))?,
                    None => f.write_str("no advert heard")?,
                }
                write!(
                    f,
                    ", {} past master_down_interval {}",
                    DisplayDuration(*late),
                    DisplayDuration(*master_down_interval)
                )
            }
            Reason::PriorityZero { from, late } => write!(
                f,
                "priority 0 advert from {from}, {} past skew_time",
                DisplayDuration(*late)
            ),
            Reason::HigherPriority {
                from,
                priority,
                ours,
            } => write!(
                f,
                "advert from {from} with priority {priority}, ours {ours}"
            ),
            Reason::Owner => f.write_str("address owner"),
            Reason::SyncGroup(g) => write!(f, "sync group {g}"),
            Reason::Fault(r) => write!(f, "{r}"),
            Reason::FaultCleared => f.write_str("fault cleared"),
            Reason::VipDeleted(addr) => write!(f, "virtual address {addr} deleted"),
            Reason::Shutdown => f.write_str("shutdown"),
            Reason::Removed => f.write_str("removed by reload"),
        }
    }
}

impl fmt::Display for Action {
    /// The log line for this action. For a transition it is keepalived's line; `{:#}` appends
    /// our measured reason.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Transition {
                instance,
                to,
                reason,
                ..
            } => {
                match to {
                    State::Stop => write!(f, "({instance}) Stopped")?,
                    State::Init => write!(f, "({instance}) Initializing")?,
                    _ => write!(f, "({instance}) Entering {} STATE", state_word(*to))?,
                }
                if *reason == Reason::Init {
                    f.write_str(" (init)")?;
                } else if f.alternate() {
                    write!(f, " ({reason})")?;
                }
                Ok(())
            }
            Action::PriorityChanged {
                instance, from, to, ..
            } => write!(
                f,
                "({instance}) Changing effective priority from {from} to {to}"
            ),
            Action::Log(log) => write!(f, "{log}"),
            Action::ReloadSwitch => f.write_str("configuration switched"),
            Action::SendAdvert { instance, tx } => write!(
                f,
                "({instance}) sending advert priority {} on {}",
                tx.priority, tx.interface
            ),
            Action::AddVips { instance, vips } => {
                write!(f, "({instance}) adding VIPs")?;
                vips.iter().try_for_each(|v| write!(f, " {}", v.addr))
            }
            Action::RemoveVips { instance, vips } => {
                write!(f, "({instance}) removing VIPs")?;
                vips.iter().try_for_each(|v| write!(f, " {}", v.addr))
            }
            Action::SetGate {
                instance,
                vips,
                open,
            } => {
                let word = if *open { "opening" } else { "closing" };
                write!(f, "({instance}) {word} ARP/ND gate for")?;
                vips.iter().try_for_each(|v| write!(f, " {}", v.addr))
            }
            Action::SendGarp {
                interface, vips, ..
            } => {
                let ipv6 = vips.first().is_some_and(IpAddr::is_ipv6);
                let what = if ipv6 {
                    "Sending unsolicited neighbour advert"
                } else {
                    "Sending gratuitous ARP"
                };
                write!(f, "{what} on {interface} for")?;
                vips.iter().try_for_each(|v| write!(f, " {v}"))
            }
            Action::Notify {
                target,
                state,
                priority,
            } => {
                // The FIFO line format.
                let (kind, name) = match target {
                    NotifyTarget::Instance(n) => ("INSTANCE", n),
                    NotifyTarget::Group(n) => ("GROUP", n),
                };
                write!(f, "{kind} \"{name}\" {} {priority}", notify_word(*state))
            }
            Action::NotifyMasterRxLowerPri { instance, priority } => {
                write!(f, "INSTANCE \"{instance}\" MASTER_RX_LOWER_PRI {priority}")
            }
        }
    }
}
