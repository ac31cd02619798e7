//! The netlink edge against a real kernel, inside throwaway network namespaces.

mod edges_netns;

use std::net::IpAddr;
use std::time::Duration;

use edges_netns::{Netns, veth};
use vrrpd::netlink::{Netlink, NetlinkEvent, NetlinkEvents, Scope, VipChange, VipSpec};

const PATIENCE: Duration = Duration::from_secs(10);

/// (ifindex, mac) of `dev` as `ip -o link show` reports them.
fn ip_link(ns: &Netns, dev: &str) -> (u32, String) {
    let out = ns.ip(&["-o", "link", "show", "dev", dev]);
    let ifindex = out.split(':').next().unwrap().trim().parse().unwrap();
    let mac = out
        .split_whitespace()
        .skip_while(|w| *w != "link/ether")
        .nth(1)
        .unwrap()
        .to_owned();
    (ifindex, mac)
}

fn mac_string(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[test]
fn link_queries_match_ip_link() {
    let a = Netns::new("nlq");
    let b = Netns::new("nlq");
    veth(&a, "va", &b, "vb");
    let (ifindex, mac) = ip_link(&a, "va");
    a.block_on(move || async move {
        let nl = Netlink::new().unwrap();
        assert_eq!(nl.ifindex("va").await.unwrap(), ifindex);
        let info = nl.link(ifindex).await.unwrap();
        assert_eq!(info.name, "va");
        assert_eq!(info.mac.map(mac_string), Some(mac));
        assert!(info.is_up());

        let err = nl.ifindex("nosuchif0").await.unwrap_err();
        assert!(err.to_string().contains("nosuchif0"), "{err}");
        let err = nl.link(999_999).await.unwrap_err();
        assert!(err.to_string().contains("999999"), "{err}");
    });
    // The peer down takes the carrier away: admin up, not running, so not up.
    b.ip(&["link", "set", "vb", "down"]);
    a.block_on(move || async move {
        let nl = Netlink::new().unwrap();
        let info = nl.link(ifindex).await.unwrap();
        assert!(info.admin_up && !info.running && !info.is_up());
    });
    a.ip(&["link", "set", "va", "down"]);
    a.block_on(move || async move {
        let nl = Netlink::new().unwrap();
        assert!(!nl.link(ifindex).await.unwrap().admin_up);
    });
}

#[test]
fn primary_ipv4_and_link_local() {
    let a = Netns::new("nla");
    let b = Netns::new("nla");
    veth(&a, "va", &b, "vb");
    a.ip(&["addr", "add", "10.11.0.1/24", "dev", "va"]);
    a.ip(&["addr", "add", "10.11.0.2/24", "dev", "va"]);
    a.ip(&["addr", "add", "10.12.0.1/32", "dev", "va", "scope", "host"]);
    let (ifindex, _) = ip_link(&a, "va");
    let ll = a.block_on(move || async move {
        let nl = Netlink::new().unwrap();
        assert_eq!(
            nl.primary_ipv4(ifindex).await.unwrap(),
            Some("10.11.0.1".parse().unwrap())
        );
        let addrs = nl.addresses(ifindex).await.unwrap();
        let second = addrs
            .iter()
            .find(|x| x.addr == "10.11.0.2".parse::<IpAddr>().unwrap())
            .unwrap();
        assert!(second.secondary);
        // The kernel adds the link-local when the link comes up; wait for it.
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some(ll) = nl.ipv6_link_local(ifindex).await.unwrap() {
                return ll;
            }
            assert!(tokio::time::Instant::now() < deadline, "no link-local");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let shown = a.ip(&["-6", "addr", "show", "dev", "va", "scope", "link"]);
    assert!(shown.contains(&format!("{ll}/64")), "{ll} not in {shown}");
}

#[test]
fn vips_add_and_remove_idempotently_with_attributes() {
    let a = Netns::new("nlv");
    let b = Netns::new("nlv");
    veth(&a, "va", &b, "vb");
    a.ip(&["addr", "add", "10.13.0.1/24", "dev", "va"]);
    let (ifindex, _) = ip_link(&a, "va");

    let mut v4 = VipSpec::new(ifindex, "10.13.0.100".parse().unwrap(), 24);
    v4.brd = Some("10.13.0.255".parse().unwrap());
    v4.label = Some("va:vip".into());
    let v6 = VipSpec::new(ifindex, "fd00:13::100".parse().unwrap(), 128);
    let mut v4_link = VipSpec::new(ifindex, "10.14.0.1".parse().unwrap(), 32);
    v4_link.scope = Scope::Link;
    // `peer`, `noprefixroute`, `preferred_lft N` as keepalived passes them on.
    let mut v4_peer = VipSpec::new(ifindex, "10.16.0.1".parse().unwrap(), 32);
    v4_peer.peer = Some("10.16.0.2".parse().unwrap());
    v4_peer.noprefixroute = true;
    let mut v6_lft = VipSpec::new(ifindex, "fd00:16::1".parse().unwrap(), 64);
    v6_lft.preferred_lft_secs = Some(300);
    v6_lft.noprefixroute = true;

    let (v4c, v6c, v4lc) = (v4.clone(), v6.clone(), v4_link.clone());
    let (v4pc, v6lc) = (v4_peer.clone(), v6_lft.clone());
    a.block_on(move || async move {
        let nl = Netlink::new().unwrap();
        assert_eq!(nl.add_vip(&v4c).await.unwrap(), VipChange::Added);
        assert_eq!(nl.add_vip(&v4c).await.unwrap(), VipChange::AlreadyPresent);
        assert_eq!(nl.add_vip(&v6c).await.unwrap(), VipChange::Added);
        assert_eq!(nl.add_vip(&v6c).await.unwrap(), VipChange::AlreadyPresent);
        assert_eq!(nl.add_vip(&v4lc).await.unwrap(), VipChange::Added);
        assert_eq!(nl.add_vip(&v4pc).await.unwrap(), VipChange::Added);
        assert_eq!(nl.add_vip(&v6lc).await.unwrap(), VipChange::Added);
    });
    let shown4 = a.ip(&["-4", "addr", "show", "dev", "va"]);
    assert!(
        shown4.contains("inet 10.13.0.100/24 brd 10.13.0.255 scope global secondary va:vip"),
        "{shown4}"
    );
    assert!(
        shown4.contains("inet 10.14.0.1/32 scope link va"),
        "{shown4}"
    );
    assert!(
        shown4.contains("inet 10.16.0.1 peer 10.16.0.2/32 scope global noprefixroute va"),
        "{shown4}"
    );
    // No prefix route for the peer address.
    let routes = a.ip(&["-4", "route", "show", "dev", "va"]);
    assert!(!routes.contains("10.16.0.2"), "{routes}");
    let shown6 = a.ip(&["-6", "addr", "show", "dev", "va"]);
    let line = shown6
        .lines()
        .skip_while(|l| !l.contains("fd00:13::100/128"))
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(line.contains("nodad"), "{shown6}");
    assert!(line.contains("deprecated"), "{shown6}");
    assert!(line.contains("preferred_lft 0sec"), "{shown6}");
    assert!(!line.contains("tentative"), "{shown6}");
    let line = shown6
        .lines()
        .skip_while(|l| !l.contains("fd00:16::1/64"))
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(line.contains("noprefixroute"), "{shown6}");
    assert!(
        line.contains("preferred_lft 300sec") || line.contains("preferred_lft 299sec"),
        "{shown6}"
    );
    assert!(line.contains("valid_lft forever"), "{shown6}");

    a.block_on(move || async move {
        let nl = Netlink::new().unwrap();
        for vip in [&v4, &v6, &v4_link, &v4_peer, &v6_lft] {
            assert_eq!(nl.del_vip(vip).await.unwrap(), VipChange::Removed);
            assert_eq!(nl.del_vip(vip).await.unwrap(), VipChange::AlreadyAbsent);
        }
        // The interface's own address is untouched.
        assert_eq!(
            nl.primary_ipv4(ifindex).await.unwrap(),
            Some("10.13.0.1".parse().unwrap())
        );
        // A real failure is reported with its context.
        let bad = VipSpec::new(999_999, "10.13.0.7".parse().unwrap(), 32);
        let err = nl.add_vip(&bad).await.unwrap_err();
        assert_eq!(err.errno(), Some(libc::ENODEV));
        let text = err.to_string();
        assert!(
            text.contains("10.13.0.7/32") && text.contains("999999"),
            "{text}"
        );
    });
    let shown = a.ip(&["addr", "show", "dev", "va"]);
    assert!(!shown.contains("10.13.0.100") && !shown.contains("fd00:13::100"));
    assert!(!shown.contains("10.14.0.1"));
}

#[test]
fn events_report_link_and_address_changes() {
    let a = Netns::new("nle");
    let b = Netns::new("nle");
    veth(&a, "va", &b, "vb");
    let (ifindex, _) = ip_link(&a, "va");
    let ns = a.name.clone();
    a.block_on(move || async move {
        let mut events = NetlinkEvents::subscribe().unwrap();
        let ip = |args: &[&str]| {
            let st = std::process::Command::new("ip")
                .arg("-n")
                .arg(&ns)
                .args(args)
                .status()
                .unwrap();
            assert!(st.success(), "ip {args:?}");
        };
        let next_matching = async |events: &mut NetlinkEvents, f: &dyn Fn(&NetlinkEvent) -> bool| {
            tokio::time::timeout(PATIENCE, async {
                loop {
                    let e = events.next().await.expect("event stream ended");
                    if f(&e) {
                        return e;
                    }
                }
            })
            .await
            .expect("expected event did not arrive")
        };

        ip(&["link", "set", "va", "down"]);
        next_matching(&mut events, &|e| {
            matches!(e, NetlinkEvent::Link(l) if l.ifindex == ifindex && !l.is_up())
        })
        .await;
        ip(&["link", "set", "va", "up"]);
        next_matching(&mut events, &|e| {
            matches!(e, NetlinkEvent::Link(l) if l.ifindex == ifindex && l.is_up())
        })
        .await;

        // A MAC change with the link up is reported, also after other link events (an MTU
        // change, itself not reported, came first).
        ip(&["link", "set", "va", "mtu", "1400"]);
        ip(&["link", "set", "va", "address", "02:00:00:00:15:99"]);
        next_matching(&mut events, &|e| {
            matches!(e, NetlinkEvent::Link(l) if l.ifindex == ifindex
                && l.mac == Some([2, 0, 0, 0, 0x15, 0x99]))
        })
        .await;

        let vip: IpAddr = "10.15.0.9".parse().unwrap();
        ip(&["addr", "add", "10.15.0.9/32", "dev", "va"]);
        next_matching(&mut events, &|e| {
            matches!(e, NetlinkEvent::AddressAdded(x) if x.addr == vip && x.ifindex == ifindex)
        })
        .await;
        ip(&["addr", "del", "10.15.0.9/32", "dev", "va"]);
        next_matching(&mut events, &|e| {
            matches!(e, NetlinkEvent::AddressRemoved(x) if x.addr == vip && x.prefix_len == 32)
        })
        .await;

        let vip6: IpAddr = "fd00:15::9".parse().unwrap();
        ip(&["addr", "add", "fd00:15::9/128", "dev", "va", "nodad"]);
        next_matching(&mut events, &|e| {
            matches!(e, NetlinkEvent::AddressAdded(x) if x.addr == vip6)
        })
        .await;
        ip(&["addr", "del", "fd00:15::9/128", "dev", "va"]);
        next_matching(&mut events, &|e| {
            matches!(e, NetlinkEvent::AddressRemoved(x) if x.addr == vip6)
        })
        .await;

        ip(&["link", "del", "va"]);
        next_matching(&mut events, &|e| {
            matches!(e, NetlinkEvent::LinkRemoved { ifindex: i, name } if *i == ifindex && name == "va")
        })
        .await;
    });
}
