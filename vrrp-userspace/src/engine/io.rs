//! What crosses the engine boundary: [`Input`]s the daemon feeds in and [`Action`]s it executes.
//! Both derive serde so a run can be recorded and replayed as JSONL (holo-vrrp conformance style).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::config::{Auth, EngineConfig, Family, TrackerId, Version, Vip};
use super::fsm::{NotifyState, Reason, State};
use super::log::Log;
use super::priority::TrackerState;
use crate::time::Timestamp;

/// The v2 authentication fields of a received advert (RFC 3768 §5.3.6, §5.3.10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthField {
    pub auth_type: u8,
    pub data: [u8; 8],
}

/// A decoded advert as received. The daemon has already verified length, checksum and, in
/// multicast mode, the IP TTL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdvertRx {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 TTL / IPv6 hop limit.
    pub ttl: u8,
    pub version: Version,
    pub vrid: u8,
    pub priority: u8,
    /// Max Advertise Interval in centiseconds (v2: the whole-second field × 100).
    pub max_advert_int: u16,
    pub addrs: Vec<IpAddr>,
    /// v2 only; `None` for v3.
    pub auth: Option<AuthField>,
    /// Kernel receive time (CLOCK_MONOTONIC, from the XDP program).
    pub recv_time: Timestamp,
}

/// An advert to send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdvertTx {
    pub interface: String,
    pub family: Family,
    pub version: Version,
    pub vrid: u8,
    /// Effective priority, or 0 to resign.
    pub priority: u8,
    /// Centiseconds (v2: a multiple of 100; encode as whole seconds).
    pub max_advert_int: u16,
    /// The advertised VIPs (not the excluded ones).
    pub addrs: Vec<IpAddr>,
    pub auth: Auth,
    /// `unicast_src_ip`/`mcast_src_ip`, else the interface address the engine was told about.
    pub src: Option<IpAddr>,
    /// One copy per peer; empty = multicast to 224.0.0.18 / ff02::12.
    pub unicast_peers: Vec<IpAddr>,
}

/// Why the daemon could not decode an advert; counted in the instance's [`Stats`](super::Stats)
/// when the VRID is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RxErrorReason {
    /// `packet_len_err`.
    PacketLength,
    /// `ip_ttl_err`.
    IpTtl,
    /// `invalid_type_rcvd`.
    InvalidType,
    /// `chk_err`.
    Checksum,
    /// `vers_err`.
    Version,
    /// `auth_failure` (IPsec-AH that did not verify).
    AuthFailure,
    /// `invalid_authtype`: a v2 auth type other than 0, 1 or 2.
    InvalidAuthType,
    /// `advert_interval_err`: an advert interval of 0.
    AdvertInterval,
}

/// Everything the engine reacts to besides the clock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Input {
    /// A decoded advert. Feed queued adverts in `recv_time` order *before* calling
    /// `handle_timeout(now)`: the engine judges "master down" from receive times.
    Advert {
        interface: String,
        family: Family,
        rx: AdvertRx,
    },
    /// An advert that failed decoding.
    RxError {
        interface: String,
        family: Family,
        vrid: Option<u8>,
        reason: RxErrorReason,
    },
    /// A script / interface / file / process / BFD tracker reported a new state.
    TrackerChanged {
        tracker: TrackerId,
        state: TrackerState,
    },
    /// The carrier of an interface changed (the instance's own interface, and every
    /// `track_interface` of that name).
    LinkChanged { interface: String, up: bool },
    /// The interface's primary IPv4 address / IPv6 link-local address (None: it has none).
    SourceAddress {
        interface: String,
        family: Family,
        addr: Option<IpAddr>,
    },
    /// An address was deleted from `interface` (by anyone: a master's VIP deleted from outside
    /// makes it step down and come back, keepalived-behaviour.md §1.4).
    AddressDeleted {
        interface: String,
        addr: IpAddr,
        prefix_len: u8,
    },
    /// SIGTERM/SIGINT: masters resign with priority 0, everything stops.
    Shutdown,
    /// SIGHUP with the new resolved configuration.
    Reload(EngineConfig),
}

/// Who a notify is about (keepalived's `INSTANCE` / `GROUP` words).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NotifyTarget {
    Instance(String),
    Group(String),
}

/// Everything the engine asks the daemon to do, in the order it must be done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    SendAdvert {
        instance: String,
        tx: AdvertTx,
    },
    /// Add addresses (VIPs and excluded VIPs) to their interfaces.
    AddVips {
        instance: String,
        vips: Vec<Vip>,
    },
    RemoveVips {
        instance: String,
        vips: Vec<Vip>,
    },
    /// Open or close the XDP ARP/ND gate for these addresses (each on its `dev`, else the
    /// instance's interface).
    SetGate {
        instance: String,
        vips: Vec<Vip>,
        open: bool,
    },
    /// `repeat` gratuitous ARPs (IPv4) or unsolicited NAs (IPv6) for each address on `interface`.
    SendGarp {
        instance: String,
        interface: String,
        vips: Vec<IpAddr>,
        repeat: u32,
    },
    /// Run the notify scripts / write the FIFO line. Groups carry priority 0.
    Notify {
        target: NotifyTarget,
        state: NotifyState,
        priority: u8,
    },
    /// `notify_master_rx_lower_pri` and the FIFO event `MASTER_RX_LOWER_PRI`.
    NotifyMasterRxLowerPri {
        instance: String,
        priority: u8,
    },
    /// The instance changed state (log it; `Display` gives keepalived's line).
    Transition {
        instance: String,
        from: State,
        to: State,
        reason: Reason,
    },
    /// `(VI_1) Changing effective priority from 100 to 80`.
    PriorityChanged {
        instance: String,
        from: u8,
        to: u8,
        /// The instance's state when it changed: the FIFO says `MASTER_PRIORITY` or
        /// `BACKUP_PRIORITY` by it (`notify_priority_changes`).
        state: State,
    },
    /// Any other log line.
    Log(Log),
    /// A reload's actions for the instances it removed come before this, those for kept and new
    /// ones after it: an instance name can belong to one of each (moved to another interface or
    /// VRID), and each must be resolved against its own configuration.
    ReloadSwitch,
}
