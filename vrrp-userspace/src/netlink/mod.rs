//! rtnetlink edge: virtual addresses, link state and interface addresses.
//!
//! [`Netlink`] executes the engine's "add/remove VIP" actions and answers the daemon's questions
//! about interfaces (ifindex, up state, MAC, primary IPv4, IPv6 link-local). [`NetlinkEvents`]
//! turns kernel notifications into engine inputs (link up/down, address added/removed).
//! Everything acts in the network namespace of the thread that created the handle.

mod addr;
mod events;
mod link;

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};

use futures::TryStreamExt;
use tokio::task::JoinHandle;

pub use addr::{IfAddress, Scope, VipSpec, ipv6_link_local, primary_ipv4};
pub use events::{NetlinkEvent, NetlinkEvents};
pub use link::LinkInfo;

/// A netlink operation failed. Each variant says what was asked and about which interface.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    #[error("netlink: {op} failed: {source}")]
    Socket {
        op: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("netlink: no interface named {name:?}")]
    NoSuchInterface { name: String },
    #[error("netlink: no interface with index {ifindex}")]
    NoSuchIfindex { ifindex: u32 },
    #[error("netlink: {op} for interface {interface} failed: {source}")]
    Link {
        op: &'static str,
        interface: String,
        #[source]
        source: Box<rtnetlink::Error>,
    },
    #[error("netlink: {op} {addr}/{prefix_len} on ifindex {ifindex} failed: {source}")]
    Address {
        op: &'static str,
        addr: std::net::IpAddr,
        prefix_len: u8,
        ifindex: u32,
        #[source]
        source: Box<rtnetlink::Error>,
    },
}

impl NetlinkError {
    /// The kernel's errno, when the kernel refused the request.
    pub fn errno(&self) -> Option<i32> {
        match self {
            NetlinkError::Link { source, .. } | NetlinkError::Address { source, .. } => {
                errno_of(source)
            }
            NetlinkError::Socket { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

fn errno_of(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => m.code.map(|c| -c.get()),
        _ => None,
    }
}

/// What an idempotent VIP request did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VipChange {
    Added,
    /// The address was already there (`EEXIST`).
    AlreadyPresent,
    Removed,
    /// The address was not there (`EADDRNOTAVAIL`).
    AlreadyAbsent,
}

/// An rtnetlink connection for requests. Cheap to share by reference; the connection task stops
/// when the handle is dropped.
pub struct Netlink {
    handle: rtnetlink::Handle,
    connection: JoinHandle<()>,
}

impl Netlink {
    /// Opens an rtnetlink socket in the calling thread's network namespace. Must be called
    /// inside a tokio runtime (the connection is spawned on it).
    pub fn new() -> Result<Netlink, NetlinkError> {
        let (conn, handle, _) =
            rtnetlink::new_connection().map_err(|source| NetlinkError::Socket {
                op: "socket(NETLINK_ROUTE)",
                source,
            })?;
        let connection = tokio::spawn(conn);
        Ok(Netlink { handle, connection })
    }

    /// The interface named `name`.
    pub async fn link_by_name(&self, name: &str) -> Result<LinkInfo, NetlinkError> {
        let req = self.handle.clone().link().get().match_name(name.to_owned());
        match req.execute().try_next().await {
            Ok(Some(msg)) => Ok(LinkInfo::from_message(&msg)),
            Ok(None) => Err(NetlinkError::NoSuchInterface { name: name.into() }),
            Err(e) if errno_of(&e) == Some(libc::ENODEV) => {
                Err(NetlinkError::NoSuchInterface { name: name.into() })
            }
            Err(source) => Err(NetlinkError::Link {
                op: "RTM_GETLINK",
                interface: name.into(),
                source: Box::new(source),
            }),
        }
    }

    /// The interface with index `ifindex`.
    pub async fn link(&self, ifindex: u32) -> Result<LinkInfo, NetlinkError> {
        let req = self.handle.clone().link().get().match_index(ifindex);
        match req.execute().try_next().await {
            Ok(Some(msg)) => Ok(LinkInfo::from_message(&msg)),
            Ok(None) => Err(NetlinkError::NoSuchIfindex { ifindex }),
            Err(e) if errno_of(&e) == Some(libc::ENODEV) => {
                Err(NetlinkError::NoSuchIfindex { ifindex })
            }
            Err(source) => Err(NetlinkError::Link {
                op: "RTM_GETLINK",
                interface: format!("index {ifindex}"),
                source: Box::new(source),
            }),
        }
    }

    /// The index of the interface named `name`.
    pub async fn ifindex(&self, name: &str) -> Result<u32, NetlinkError> {
        Ok(self.link_by_name(name).await?.ifindex)
    }

    /// Every IPv4 and IPv6 address on interface `ifindex`, in the kernel's order (IPv4
    /// primaries before their secondaries).
    pub async fn addresses(&self, ifindex: u32) -> Result<Vec<IfAddress>, NetlinkError> {
        let req = self.handle.address().get().set_link_index_filter(ifindex);
        let msgs: Vec<_> =
            req.execute()
                .try_collect()
                .await
                .map_err(|source| NetlinkError::Link {
                    op: "RTM_GETADDR",
                    interface: format!("index {ifindex}"),
                    source: Box::new(source),
                })?;
        Ok(msgs.iter().filter_map(IfAddress::from_message).collect())
    }

    /// The first global, non-secondary IPv4 address of `ifindex`: keepalived's default advert
    /// source.
    pub async fn primary_ipv4(&self, ifindex: u32) -> Result<Option<Ipv4Addr>, NetlinkError> {
        Ok(primary_ipv4(&self.addresses(ifindex).await?))
    }

    /// The first IPv6 link-local address of `ifindex`: the source of IPv6 adverts.
    pub async fn ipv6_link_local(&self, ifindex: u32) -> Result<Option<Ipv6Addr>, NetlinkError> {
        Ok(ipv6_link_local(&self.addresses(ifindex).await?))
    }

    /// Adds a virtual address. Already present is not an error.
    pub async fn add_vip(&self, vip: &VipSpec) -> Result<VipChange, NetlinkError> {
        let mut req = self
            .handle
            .address()
            .add(vip.ifindex, vip.addr, vip.prefix_len);
        *req.message_mut() = vip.to_message(true);
        match req.execute().await {
            Ok(()) => Ok(VipChange::Added),
            Err(e) if errno_of(&e) == Some(libc::EEXIST) => Ok(VipChange::AlreadyPresent),
            Err(source) => Err(NetlinkError::Address {
                op: "RTM_NEWADDR",
                addr: vip.addr,
                prefix_len: vip.prefix_len,
                ifindex: vip.ifindex,
                source: Box::new(source),
            }),
        }
    }

    /// Removes a virtual address. Already absent is not an error.
    pub async fn del_vip(&self, vip: &VipSpec) -> Result<VipChange, NetlinkError> {
        let req = self.handle.address().del(vip.to_message(false));
        match req.execute().await {
            Ok(()) => Ok(VipChange::Removed),
            Err(e) if errno_of(&e) == Some(libc::EADDRNOTAVAIL) => Ok(VipChange::AlreadyAbsent),
            Err(source) => Err(NetlinkError::Address {
                op: "RTM_DELADDR",
                addr: vip.addr,
                prefix_len: vip.prefix_len,
                ifindex: vip.ifindex,
                source: Box::new(source),
            }),
        }
    }
}

impl Drop for Netlink {
    fn drop(&mut self) {
        self.connection.abort();
    }
}
