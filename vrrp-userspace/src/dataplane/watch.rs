//! `vrrpd watch`: observe mode. Attaches in watch-all mode and prints one line per advert seen:
//! `{t} {iface} {src} vrid= prio= ver= int= addrs= gap=`, where `gap` is the time since the
//! previous advert of the same (family, VRID). Other tools grep this format: keep it stable.
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::IpAddr;

use anyhow::Context as _;
use tokio::signal::unix::{SignalKind, signal};
use vrrp_common::{AF_INET, AdvertEvent};

use super::Attachment;
use crate::cli::WatchArgs;
use crate::packet::Family;
use crate::packet::vrrp::Packet;

pub fn main(args: WatchArgs) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?
        .block_on(watch(args))
}

async fn watch(args: WatchArgs) -> anyhow::Result<()> {
    let mut sigint = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    let mut sigterm = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut attachment = Attachment::attach(&args.iface, args.xdp_mode, true)?;
    eprintln!(
        "watching {} (xdp mode {})",
        attachment.iface(),
        attachment.mode_used()
    );
    let mut last_seen: HashMap<(u8, u8), u64> = HashMap::new();
    let mut events = Vec::new();
    let stdout = std::io::stdout();
    loop {
        tokio::select! {
            ready = attachment.readable() => ready?,
            _ = sigint.recv() => break,
            _ = sigterm.recv() => break,
        }
        events.clear();
        attachment.drain(&mut events);
        let mut out = stdout.lock();
        // Observe mode queues every advert (no repeat is counted instead): one line each.
        for ev in events.iter().map(|r| &r.event) {
            let key = (ev.family, ev.vrid);
            let gap = last_seen
                .insert(key, ev.ktime_ns)
                .map(|prev| ev.ktime_ns.saturating_sub(prev));
            writeln!(out, "{}", format_line(ev, attachment.iface(), gap)).context("stdout")?;
            out.flush().context("stdout")?;
        }
    }
    // Dropping the attachment detaches the program.
    drop(attachment);
    Ok(())
}

/// One output line; `gap_ns` is the time since the previous advert of the same (family, VRID).
pub fn format_line(ev: &AdvertEvent, iface: &str, gap_ns: Option<u64>) -> String {
    let mut line = format!(
        "{:.6} {iface} {} vrid={} prio={} ver={} int={} addrs=",
        ev.ktime_ns as f64 / 1e9,
        ev.source(),
        ev.vrid,
        ev.priority,
        ev.version,
        format_interval(ev.version, ev.interval),
    );
    for (i, addr) in advert_addrs(ev).iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        let _ = write!(line, "{addr}");
    }
    match gap_ns {
        Some(ns) => {
            let _ = write!(line, " gap={:.3}ms", ns as f64 / 1e6);
        }
        None => line.push_str(" gap=-"),
    }
    line
}

/// The advert interval in seconds without trailing zeros: v2 carries seconds, v3 centiseconds.
pub fn format_interval(version: u8, interval: u16) -> String {
    if version == 2 {
        return format!("{interval}s");
    }
    let (whole, frac) = (interval / 100, interval % 100);
    match frac {
        0 => format!("{whole}s"),
        f if f % 10 == 0 => format!("{whole}.{}s", f / 10),
        f => format!("{whole}.{f:02}s"),
    }
}

/// The virtual addresses listed in the advert, as far as the capture holds them (the codec's
/// zero-copy view: `addr` stops at the count and at the captured bytes).
pub fn advert_addrs(ev: &AdvertEvent) -> Vec<IpAddr> {
    let family = if ev.family == AF_INET {
        Family::Ipv4
    } else {
        Family::Ipv6
    };
    let packet = Packet::new_unchecked(ev.vrrp_bytes(), family);
    (0..usize::from(ev.count_addrs))
        .map_while(|i| packet.addr(i))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;

    use super::*;
    use crate::packet::vrrp::HEADER_LEN as ADDRS_OFFSET;
    use vrrp_common::{AF_INET6, MAX_VRRP_PAYLOAD};

    fn event(family: u8, version: u8, interval: u16, addrs: &[IpAddr]) -> AdvertEvent {
        let mut ev = AdvertEvent {
            ktime_ns: 12_345_678_901_234,
            ifindex: 3,
            vlan_id: 0,
            family,
            ttl: 255,
            saddr: [0; 16],
            daddr: [0; 16],
            version,
            vrid: 51,
            priority: 150,
            count_addrs: addrs.len() as u8,
            interval,
            payload_len: 0,
            captured_len: 0,
            _pad: [0; 2],
            prev_repeats: 0,
            prev_ktime_ns: 0,
            payload: [0; MAX_VRRP_PAYLOAD],
        };
        // The VRRP header as the XDP program copies it: version/type, VRID, priority, count.
        ev.payload[..4].copy_from_slice(&[version << 4 | 1, ev.vrid, ev.priority, ev.count_addrs]);
        let mut len = ADDRS_OFFSET;
        for addr in addrs {
            let octets: Vec<u8> = match addr {
                IpAddr::V4(a) => a.octets().to_vec(),
                IpAddr::V6(a) => a.octets().to_vec(),
            };
            ev.payload[len..len + octets.len()].copy_from_slice(&octets);
            len += octets.len();
        }
        ev.payload_len = len as u16;
        ev.captured_len = len as u16;
        ev
    }

    #[test]
    fn interval_is_seconds_without_trailing_zeros() {
        assert_eq!(format_interval(2, 1), "1s");
        assert_eq!(format_interval(2, 255), "255s");
        assert_eq!(format_interval(3, 100), "1s");
        assert_eq!(format_interval(3, 10), "0.1s");
        assert_eq!(format_interval(3, 1), "0.01s");
        assert_eq!(format_interval(3, 150), "1.5s");
        assert_eq!(format_interval(3, 4095), "40.95s");
        assert_eq!(format_interval(3, 0), "0s");
    }

    #[test]
    fn line_has_the_documented_format() {
        let addrs = [IpAddr::from([10, 0, 0, 100]), IpAddr::from([10, 0, 0, 101])];
        let mut ev = event(AF_INET, 2, 1, &addrs);
        ev.saddr[..4].copy_from_slice(&[10, 0, 0, 1]);
        assert_eq!(
            format_line(&ev, "veth0", None),
            "12345.678901 veth0 10.0.0.1 vrid=51 prio=150 ver=2 int=1s addrs=10.0.0.100,10.0.0.101 gap=-"
        );
        assert_eq!(
            format_line(&ev, "veth0", Some(1_000_123_456)),
            "12345.678901 veth0 10.0.0.1 vrid=51 prio=150 ver=2 int=1s addrs=10.0.0.100,10.0.0.101 gap=1000.123ms"
        );
    }

    #[test]
    fn ipv6_addresses_are_decoded_up_to_the_capture() {
        let addrs: Vec<IpAddr> = vec!["fd00::1".parse().unwrap(), "fd00::2".parse().unwrap()];
        let mut ev = event(AF_INET6, 3, 10, &addrs);
        ev.saddr = "fe80::1".parse::<Ipv6Addr>().unwrap().octets();
        assert_eq!(advert_addrs(&ev), addrs);
        assert!(
            format_line(&ev, "e", None)
                .contains(" fe80::1 vrid=51 prio=150 ver=3 int=0.1s addrs=fd00::1,fd00::2 gap=-")
        );
        // A count larger than the capture yields what was captured, no panic.
        ev.count_addrs = 200;
        assert_eq!(advert_addrs(&ev), addrs);
        ev.captured_len = 4;
        assert!(advert_addrs(&ev).is_empty());
    }
}
