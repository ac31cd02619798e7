//! The interfaces the node advertises on: XDP attachment, packet socket and advert sockets per
//! source address, and keeping the engine told about their links and source addresses.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::time::Duration;

use futures::future::select_all;
use tracing::{error, info, warn};

use super::node::Node;
use super::plan::Plan;
use crate::cli::XdpMode;
use crate::dataplane::{Attachment, VridWant};
use crate::engine::{Family, Input};
use crate::netlink::{Netlink, NetlinkEvent};
use crate::packet::MacAddr;
use crate::socket::{AdvertSocket, L2Socket};

/// One interface that instances advertise on.
pub(super) struct Iface {
    pub(super) name: String,
    pub(super) ifindex: u32,
    pub(super) mac: MacAddr,
    pub(super) xdp: Attachment,
    pub(super) l2: std::sync::Arc<L2Socket>,
    /// The IPv4 identification of the last advert framed here (multicast adverts are whole
    /// frames on `l2`, so their IP header is ours to number).
    pub(super) ip_ident: u16,
    /// Advert sockets by source address (the interface's, or a configured `*_src_ip`).
    pub(super) sockets: HashMap<IpAddr, AdvertSocket>,
    /// The interface's own primary IPv4 / IPv6 link-local address, as last told to the engine.
    pub(super) src_v4: Option<IpAddr>,
    pub(super) src_v6: Option<IpAddr>,
    /// Addresses with an entry in this interface's XDP gate.
    pub(super) gated: std::collections::HashSet<IpAddr>,
}

impl Node {
    /// After a reload: gate entries of addresses no instance has on that interface any more
    /// go, so that XDP stops dropping ARP and NS for them (the address may be put to another
    /// use, by hand or by another tool).
    pub(super) fn prune_gates(&mut self) {
        for i in 0..self.ifaces.len() {
            let kept = self.plan.vips_on(&self.ifaces[i].name);
            let iface = &mut self.ifaces[i];
            let stale: Vec<IpAddr> = iface
                .gated
                .iter()
                .filter(|a| !kept.contains(a))
                .copied()
                .collect();
            for addr in stale {
                match iface.xdp.remove_gate(addr) {
                    Ok(()) => {
                        iface.gated.remove(&addr);
                    }
                    Err(e) => error!("{}: ARP/ND gate entry for {addr}: {e}", iface.name),
                }
            }
        }
    }

    /// Tells the engine the up/down state of every interface it cares about.
    pub(super) async fn refresh_links(&mut self) {
        let names: BTreeSet<String> = self
            .plan
            .interfaces
            .iter()
            .chain(self.plan.tracked_interfaces.iter())
            .cloned()
            .collect();
        for name in names {
            match self.netlink.link_by_name(&name).await {
                Ok(link) => self.input(Input::LinkChanged {
                    interface: name,
                    up: link.is_up(),
                }),
                Err(e) => {
                    warn!("{name}: {e}");
                    self.input(Input::LinkChanged {
                        interface: name,
                        up: false,
                    })
                }
            }
        }
    }

    /// Re-reads interface `i`'s primary IPv4 and IPv6 link-local addresses and tells the engine
    /// when they changed.
    pub(super) async fn refresh_sources(&mut self, i: usize) {
        let (ifindex, name) = (self.ifaces[i].ifindex, self.ifaces[i].name.clone());
        let addrs = match self.netlink.addresses(ifindex).await {
            Ok(a) => a,
            Err(e) => {
                warn!("{name}: reading addresses: {e}");
                return;
            }
        };
        // Our own VIPs are never a source address.
        let vips = self.plan.all_vip_addrs();
        let own: Vec<_> = addrs
            .into_iter()
            .filter(|a| !vips.contains(&a.addr))
            .collect();
        let v4 = crate::netlink::primary_ipv4(&own).map(IpAddr::V4);
        let v6 = crate::netlink::ipv6_link_local(&own).map(IpAddr::V6);
        // The sockets adverts can leave from: the interface's own addresses and the configured
        // sources (`unicast_src_ip`, `mcast_src_ip`) of its instances. Those of an address that
        // went, or of a source a reload dropped, are closed: an address that comes and goes,
        // as DHCP or an operator renumbering makes it, must not cost a descriptor each time.
        let wanted: HashSet<IpAddr> = [v4, v6]
            .into_iter()
            .flatten()
            .chain(
                self.plan
                    .engine
                    .instances
                    .iter()
                    .filter(|c| c.interface == name)
                    .filter_map(|c| c.src_ip),
            )
            .collect();
        for &src in &wanted {
            self.ensure_socket(i, src);
        }
        self.ifaces[i].sockets.retain(|src, _| wanted.contains(src));
        if v4 != self.ifaces[i].src_v4 || self.ifaces[i].src_v4.is_none() {
            self.ifaces[i].src_v4 = v4;
            self.input(Input::SourceAddress {
                interface: name.clone(),
                family: Family::Ipv4,
                addr: v4,
            });
        }
        if v6 != self.ifaces[i].src_v6 || self.ifaces[i].src_v6.is_none() {
            self.ifaces[i].src_v6 = v6;
            self.input(Input::SourceAddress {
                interface: name,
                family: Family::Ipv6,
                addr: v6,
            });
        }
    }

    /// Keeps the MAC that adverts, GARPs/NAs and XDP's ARP/NA answers carry equal to the
    /// interface's, which can change while we run.
    fn follow_mac(&mut self, name: &str, mac: Option<[u8; 6]>) {
        let (Some(i), Some(mac)) = (self.iface_index(name), mac) else {
            return;
        };
        let iface = &mut self.ifaces[i];
        if iface.mac == MacAddr(mac) {
            return;
        }
        iface.mac = MacAddr(mac);
        info!("{name}: hardware address now {}", iface.mac);
        if let Err(e) = iface.xdp.set_mac(mac) {
            error!("{name}: ARP/ND answers keep the old hardware address: {e}");
        }
    }

    pub(super) async fn netlink_event(&mut self, event: NetlinkEvent) {
        match event {
            NetlinkEvent::Link(link) => {
                self.follow_mac(&link.name, link.mac);
                if self.plan.interfaces.contains(&link.name)
                    || self.plan.tracked_interfaces.contains(&link.name)
                {
                    self.input(Input::LinkChanged {
                        interface: link.name.clone(),
                        up: link.is_up(),
                    });
                }
            }
            NetlinkEvent::LinkRemoved { name, .. } => {
                self.input(Input::LinkChanged {
                    interface: name,
                    up: false,
                });
            }
            NetlinkEvent::AddressAdded(a) => {
                if let Some(i) = self.ifaces.iter().position(|x| x.ifindex == a.ifindex) {
                    self.refresh_sources(i).await;
                }
            }
            NetlinkEvent::AddressRemoved(a) => {
                if let Some(i) = self.ifaces.iter().position(|x| x.ifindex == a.ifindex) {
                    // Deletions from outside only: a master still holding the address minds.
                    if !self.vips.is_own_removal(a.ifindex, a.addr, a.prefix_len) {
                        self.input(Input::AddressDeleted {
                            interface: self.ifaces[i].name.clone(),
                            addr: a.addr,
                            prefix_len: a.prefix_len,
                        });
                    }
                    self.refresh_sources(i).await;
                }
            }
            NetlinkEvent::Overrun => {
                warn!("netlink notifications overran: re-reading links and addresses");
                self.refresh_links().await;
                for i in 0..self.ifaces.len() {
                    self.refresh_sources(i).await;
                }
            }
        }
    }
}

/// Attaches XDP to `name` and opens its packet socket.
pub(super) async fn attach(
    netlink: &Netlink,
    name: &str,
    xdp_mode: XdpMode,
) -> anyhow::Result<Iface> {
    use anyhow::Context as _;
    let link = netlink
        .link_by_name(name)
        .await
        .with_context(|| format!("interface {name}"))?;
    let xdp = Attachment::attach(name, xdp_mode, false)
        .with_context(|| format!("attaching XDP to {name}"))?;
    info!(
        "XDP attached to {name} (ifindex {}, mode {})",
        link.ifindex,
        xdp.mode_used()
    );
    let l2 =
        L2Socket::new(name, link.ifindex).with_context(|| format!("packet socket on {name}"))?;
    Ok(Iface {
        name: name.to_string(),
        ifindex: link.ifindex,
        mac: MacAddr(link.mac.unwrap_or_default()),
        xdp,
        l2: std::sync::Arc::new(l2),
        ip_ident: 0,
        sockets: HashMap::new(),
        src_v4: None,
        src_v6: None,
        gated: Default::default(),
    })
}

/// Programs each interface's VRID map with exactly the (family, VRID)s the plan listens to, the
/// unicast ones marked so that XDP reports them whatever their TTL, and its no_accept VIPs.
pub(super) fn program_vrids(ifaces: &mut [Iface], plan: &Plan) -> anyhow::Result<()> {
    use anyhow::Context as _;
    for iface in ifaces {
        for vrid in 1..=255u8 {
            let v4 = plan.rx_policy(&iface.name, Family::Ipv4, vrid);
            let v6 = plan.rx_policy(&iface.name, Family::Ipv6, vrid);
            let want = VridWant {
                v4: v4.is_some(),
                v6: v6.is_some(),
                unicast_v4: v4.is_some_and(|p| p.unicast),
                unicast_v6: v6.is_some_and(|p| p.unicast),
            };
            iface
                .xdp
                .set_vrid_want(vrid, want)
                .with_context(|| format!("VRID map on {}", iface.name))?;
        }
        iface
            .xdp
            .set_no_accept_vips(plan.no_accept_vips(&iface.name))
            .with_context(|| format!("no_accept map on {}", iface.name))?;
    }
    Ok(())
}

/// Resolves when any interface's ring buffer has data.
pub(super) async fn rings_readable(ifaces: &[Iface]) {
    if ifaces.is_empty() {
        return std::future::pending().await;
    }
    let waits = ifaces.iter().map(|i| Box::pin(i.xdp.readable()));
    let (result, _, _) = select_all(waits).await;
    if let Err(e) = result {
        error!("ring buffer: {e}");
        // Avoid spinning on a broken descriptor.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
