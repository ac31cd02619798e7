//! Link state as vrrpd sees it: read from `RTM_NEWLINK` messages (a dump answer or an event).

use netlink_packet_route::link::{LinkAttribute, LinkFlag, LinkMessage};

/// One network interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkInfo {
    pub ifindex: u32,
    pub name: String,
    /// `IFF_UP`: administratively up.
    pub admin_up: bool,
    /// `IFF_RUNNING`: carrier (operationally up).
    pub running: bool,
    /// Hardware address, when the link has a 6-byte one (Ethernet, veth, macvlan).
    pub mac: Option<[u8; 6]>,
}

impl LinkInfo {
    /// keepalived's notion of "up" (`IF_FLAGS_UP`): administratively up *and* running, so a cable
    /// pull counts as down for `track_interface` and the instance's own interface.
    pub fn is_up(&self) -> bool {
        self.admin_up && self.running
    }

    pub(crate) fn from_message(msg: &LinkMessage) -> LinkInfo {
        let mut name = String::new();
        let mut mac = None;
        for attr in &msg.attributes {
            match attr {
                LinkAttribute::IfName(n) => name = n.clone(),
                LinkAttribute::Address(a) => mac = <[u8; 6]>::try_from(a.as_slice()).ok(),
                _ => {}
            }
        }
        LinkInfo {
            ifindex: msg.header.index,
            name,
            admin_up: msg.header.flags.contains(&LinkFlag::Up),
            running: msg.header.flags.contains(&LinkFlag::Running),
            mac,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_needs_both_admin_up_and_running() {
        let mut msg = LinkMessage::default();
        msg.header.index = 4;
        msg.header.flags = vec![LinkFlag::Up, LinkFlag::Broadcast];
        msg.attributes.push(LinkAttribute::IfName("eth0".into()));
        msg.attributes
            .push(LinkAttribute::Address(vec![2, 0, 0, 0, 0, 1]));
        let info = LinkInfo::from_message(&msg);
        assert_eq!(info.ifindex, 4);
        assert_eq!(info.name, "eth0");
        assert_eq!(info.mac, Some([2, 0, 0, 0, 0, 1]));
        assert!(info.admin_up && !info.running && !info.is_up());
        msg.header.flags.push(LinkFlag::Running);
        assert!(LinkInfo::from_message(&msg).is_up());
        msg.attributes.push(LinkAttribute::Address(vec![1, 2, 3]));
        assert_eq!(LinkInfo::from_message(&msg).mac, None);
    }
}
