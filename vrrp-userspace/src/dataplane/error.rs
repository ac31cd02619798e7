//! What can go wrong loading, attaching and programming the XDP object.
use std::io;

use thiserror::Error;

use super::XdpModeUsed;

#[derive(Debug, Error)]
pub enum DataplaneError {
    #[error("interface {iface}: no such interface")]
    UnknownInterface { iface: String },
    #[error("interface {iface}: reading its MAC address (SIOCGIFHWADDR): {source}")]
    ReadMac { iface: String, source: io::Error },
    #[error("loading the XDP object: {0}")]
    Load(#[from] aya::EbpfError),
    #[error("XDP object has no program {0}")]
    MissingProgram(&'static str),
    #[error("XDP object has no map {0}")]
    MissingMap(&'static str),
    #[error("program {name}: {source}")]
    Program {
        name: &'static str,
        source: aya::programs::ProgramError,
    },
    #[error("map {map}: {source}")]
    Map {
        map: &'static str,
        source: aya::maps::MapError,
    },
    #[error("interface {iface}: attaching XDP in {mode} mode: {source}")]
    Attach {
        iface: String,
        mode: XdpModeUsed,
        source: aya::programs::ProgramError,
    },
    #[error(
        "interface {iface}: XDP program {name:?} (id {prog_id}) is already attached{hint}; detach it first (ip link set dev {iface} xdp off)"
    )]
    AlreadyAttached {
        iface: String,
        prog_id: u32,
        name: String,
        hint: &'static str,
    },
    #[error("interface {iface}: netlink: {source}")]
    Netlink { iface: String, source: io::Error },
    #[error("mapping the RX_LAST map (mmap): {0}")]
    MapMmap(io::Error),
    #[error("ring buffer readiness: {0}")]
    Readiness(io::Error),
    #[error(
        "Attachment::attach must run inside a tokio runtime (the ring buffer registers with it)"
    )]
    NoRuntime,
}
