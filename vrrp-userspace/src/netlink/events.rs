//! Kernel notifications of link and address changes, from an rtnetlink socket subscribed to
//! `RTNLGRP_LINK`, `RTNLGRP_IPV4_IFADDR` and `RTNLGRP_IPV6_IFADDR`. They feed track_interface,
//! the instance's own interface state and VIP tracking (a VIP deleted from outside).

use std::collections::HashMap;

use futures::StreamExt;
use futures::channel::mpsc::UnboundedReceiver;
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{AsyncSocket, SocketAddr};
use tokio::task::JoinHandle;

use super::NetlinkError;
use super::addr::IfAddress;
use super::link::LinkInfo;

const RTNLGRP_LINK: u32 = 1;
const RTNLGRP_IPV4_IFADDR: u32 = 5;
const RTNLGRP_IPV6_IFADDR: u32 = 9;

/// The bind-time group bitmask bit of an rtnetlink multicast group.
const fn group_bit(group: u32) -> u32 {
    1 << (group - 1)
}

/// Kernel buffer for notifications: a burst (many VIPs added at once, an interface flap) must
/// not overrun it.
const RCVBUF: usize = 4 << 20;

/// One change the kernel reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetlinkEvent {
    /// A link was seen for the first time, or its up state (admin up, running) or hardware
    /// address changed (a bond with `fail_over_mac`, `ip link set … address`). Other link
    /// changes (statistics, MTU) are not reported.
    Link(LinkInfo),
    /// A link was deleted.
    LinkRemoved {
        ifindex: u32,
        name: String,
    },
    /// An address was added, or its flags changed (for instance DAD finished).
    AddressAdded(IfAddress),
    AddressRemoved(IfAddress),
    /// The kernel dropped notifications because the socket buffer was full: the receiver must
    /// re-read the link and address state it cares about.
    Overrun,
}

/// A subscription to link and address notifications. Subscribe *before* reading the initial
/// state, so that no change falls between the two.
pub struct NetlinkEvents {
    messages: UnboundedReceiver<(NetlinkMessage<RouteNetlinkMessage>, SocketAddr)>,
    /// Last reported (admin_up, running, MAC) per ifindex, to report only changes.
    link_state: HashMap<u32, (bool, bool, Option<[u8; 6]>)>,
    connection: JoinHandle<()>,
}

impl NetlinkEvents {
    /// Opens the subscribed socket in the calling thread's network namespace. Must be called
    /// inside a tokio runtime (the socket's reader is spawned on it).
    pub fn subscribe() -> Result<NetlinkEvents, NetlinkError> {
        let (mut conn, _handle, messages) =
            rtnetlink::new_connection().map_err(|source| NetlinkError::Socket {
                op: "socket(NETLINK_ROUTE) for events",
                source,
            })?;
        let socket = conn.socket_mut().socket_mut();
        socket
            .set_rx_buf_sz(RCVBUF)
            .map_err(|source| NetlinkError::Socket {
                op: "setsockopt(SO_RCVBUF) on the event socket",
                source,
            })?;
        let groups = group_bit(RTNLGRP_LINK)
            | group_bit(RTNLGRP_IPV4_IFADDR)
            | group_bit(RTNLGRP_IPV6_IFADDR);
        socket
            .bind(&SocketAddr::new(0, groups))
            .map_err(|source| NetlinkError::Socket {
                op: "bind(RTNLGRP_LINK|IPV4_IFADDR|IPV6_IFADDR)",
                source,
            })?;
        let connection = tokio::spawn(conn);
        Ok(NetlinkEvents {
            messages,
            link_state: HashMap::new(),
            connection,
        })
    }

    /// The next change; `None` once the socket has shut down (the daemon should treat that as
    /// fatal or resubscribe and re-read state).
    pub async fn next(&mut self) -> Option<NetlinkEvent> {
        loop {
            let (msg, _) = self.messages.next().await?;
            if let Some(event) = self.interpret(msg) {
                return Some(event);
            }
        }
    }

    fn interpret(&mut self, msg: NetlinkMessage<RouteNetlinkMessage>) -> Option<NetlinkEvent> {
        match msg.payload {
            NetlinkPayload::Overrun(_) => {
                // Our view of link state may be stale: report every link afresh from now on.
                self.link_state.clear();
                Some(NetlinkEvent::Overrun)
            }
            NetlinkPayload::InnerMessage(inner) => match inner {
                RouteNetlinkMessage::NewLink(link) => {
                    let info = LinkInfo::from_message(&link);
                    let state = (info.admin_up, info.running, info.mac);
                    match self.link_state.insert(info.ifindex, state) {
                        Some(previous) if previous == state => None,
                        _ => Some(NetlinkEvent::Link(info)),
                    }
                }
                RouteNetlinkMessage::DelLink(link) => {
                    let info = LinkInfo::from_message(&link);
                    self.link_state.remove(&info.ifindex);
                    Some(NetlinkEvent::LinkRemoved {
                        ifindex: info.ifindex,
                        name: info.name,
                    })
                }
                RouteNetlinkMessage::NewAddress(a) => {
                    IfAddress::from_message(&a).map(NetlinkEvent::AddressAdded)
                }
                RouteNetlinkMessage::DelAddress(a) => {
                    IfAddress::from_message(&a).map(NetlinkEvent::AddressRemoved)
                }
                _ => None,
            },
            _ => None,
        }
    }
}

impl Drop for NetlinkEvents {
    fn drop(&mut self) {
        self.connection.abort();
    }
}
