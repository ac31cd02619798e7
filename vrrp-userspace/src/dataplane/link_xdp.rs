//! Which XDP program an interface runs, and clearing a netlink-attached one: the check `attach`
//! does before attaching. Synchronous rtnetlink (one request, one answer), because attach is.
use std::io;

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::{
    RouteNetlinkMessage,
    link::{LinkAttribute, LinkMessage, LinkXdp, XdpAttached},
};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

/// Kernel `XDP_FLAGS_*` for the mode a program is attached in.
const XDP_FLAGS_SKB_MODE: u32 = 1 << 1;
const XDP_FLAGS_DRV_MODE: u32 = 1 << 2;
const XDP_FLAGS_HW_MODE: u32 = 1 << 3;

/// The XDP program an interface runs, as rtnetlink reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttachedXdp {
    pub prog_id: u32,
    /// `XDP_FLAGS_*` mode flag to name the same slot when clearing it.
    pub mode_flags: u32,
}

/// The XDP program attached to `ifindex`, if any.
pub fn query(ifindex: u32) -> io::Result<Option<AttachedXdp>> {
    let mut msg = LinkMessage::default();
    msg.header.index = ifindex;
    let answers = request(RouteNetlinkMessage::GetLink(msg), 0)?;
    for answer in answers {
        let RouteNetlinkMessage::NewLink(link) = answer else {
            continue;
        };
        for attr in link.attributes {
            let LinkAttribute::Xdp(xdp) = attr else {
                continue;
            };
            let mut prog_id = 0;
            let mut mode_flags = 0;
            for nla in xdp {
                match nla {
                    LinkXdp::ProgId(id) => prog_id = id,
                    LinkXdp::Attached(XdpAttached::Driver) => mode_flags = XDP_FLAGS_DRV_MODE,
                    LinkXdp::Attached(XdpAttached::SocketBuffer) => mode_flags = XDP_FLAGS_SKB_MODE,
                    LinkXdp::Attached(XdpAttached::Hardware) => mode_flags = XDP_FLAGS_HW_MODE,
                    _ => {}
                }
            }
            if prog_id != 0 {
                return Ok(Some(AttachedXdp {
                    prog_id,
                    mode_flags,
                }));
            }
        }
    }
    Ok(None)
}

/// Attaches program `prog_fd` (or detaches with -1) on `ifindex` through netlink, the
/// pre-bpf_link way: the attachment outlives the process that made it.
pub fn set_fd(ifindex: u32, prog_fd: i32, mode_flags: u32) -> io::Result<()> {
    let mut msg = LinkMessage::default();
    msg.header.index = ifindex;
    msg.attributes.push(LinkAttribute::Xdp(vec![
        LinkXdp::Fd(prog_fd),
        LinkXdp::Flags(mode_flags),
    ]));
    request(RouteNetlinkMessage::SetLink(msg), NLM_F_ACK).map(|_| ())
}

fn request(payload: RouteNetlinkMessage, flags: u16) -> io::Result<Vec<RouteNetlinkMessage>> {
    let mut socket = Socket::new(NETLINK_ROUTE)?;
    socket.bind_auto()?;
    socket.connect(&SocketAddr::new(0, 0))?;
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | flags;
    header.sequence_number = 1;
    let mut msg = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(payload));
    msg.finalize();
    let mut buf = vec![0u8; msg.buffer_len()];
    msg.serialize(&mut buf);
    socket.send(&buf, 0)?;

    let mut answers = Vec::new();
    loop {
        let (data, _) = socket.recv_from_full()?;
        let mut offset = 0;
        while offset < data.len() {
            let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&data[offset..])
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
            let len = msg.header.length as usize;
            match msg.payload {
                NetlinkPayload::Error(err) => {
                    return match err.code {
                        None => Ok(answers),
                        Some(code) => Err(io::Error::from_raw_os_error(-code.get())),
                    };
                }
                NetlinkPayload::Done(_) => return Ok(answers),
                NetlinkPayload::InnerMessage(inner) => {
                    answers.push(inner);
                    // A GET without DUMP answers with exactly one message and no ACK.
                    if flags & NLM_F_ACK == 0 {
                        return Ok(answers);
                    }
                }
                _ => {}
            }
            if len == 0 {
                break;
            }
            offset += len;
        }
    }
}
