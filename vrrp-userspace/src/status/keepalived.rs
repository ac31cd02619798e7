//! keepalived's dump files, from a [`Status`]: the SIGUSR1 `.data` file (vrrp_data.c layout: a
//! section line, ` VRRP Instance = NAME` at one space, its fields at three, list items at five)
//! and the SIGUSR2 `.stats` file (vrrp_print.c layout). Exporters such as keepalived-exporter parse
//! them by indentation and key, so both are reproduced exactly for the keys vrrpd can fill.

use std::fmt::Write as _;

use super::snapshot::{InstanceView, Status};
use crate::engine::Stats;

/// The `.data` text (keepalived `/tmp/keepalived.data`).
pub fn data_file(status: &Status) -> String {
    let mut out = String::new();
    out.push_str("------< VRRP Topology >------\n");
    for i in &status.instances {
        instance_data(&mut out, i);
    }
    let mut scripts: Vec<(&str, Option<&str>)> = Vec::new();
    for t in status.instances.iter().flat_map(|i| &i.trackers) {
        if t.kind == "script" && !scripts.iter().any(|(n, _)| *n == t.name) {
            scripts.push((&t.name, t.state.as_deref()));
        }
    }
    if !scripts.is_empty() {
        out.push_str("------< VRRP Scripts >------\n");
        for (name, state) in scripts {
            let status = match state {
                Some("up") => "GOOD",
                Some(_) => "BAD",
                // keepalived's script "init" state: not run to completion yet.
                None => "INIT",
            };
            let _ = writeln!(out, " VRRP Script = {name}");
            let _ = writeln!(out, "   Status = {status}");
        }
    }
    out
}

fn instance_data(out: &mut String, i: &InstanceView) {
    let _ = writeln!(out, " VRRP Instance = {}", i.name);
    let mut f = |k: &str, v: String| {
        let _ = writeln!(out, "   {k} = {v}");
    };
    f("VRRP Version", i.version.to_string());
    f("State", i.state.clone());
    // keepalived's wantstate is the state it is heading for; vrrpd changes state in one step.
    f("Wantstate", i.state.clone());
    f("Last transition", keepalived_time(i.since.unix_ms));
    f(
        "Master down timer",
        format!("{} usecs", i.master_down_interval_us),
    );
    f("Interface", i.interface.clone());
    if let Some(m) = &i.master {
        f("Master router", m.address.to_string());
        f("Master priority", m.priority.to_string());
    }
    f("Gratuitous ARP delay", i.garp_master_delay_s.to_string());
    f("Virtual Router ID", i.vrid.to_string());
    f("Priority", i.base_priority.to_string());
    f("Effective priority", i.effective_priority.to_string());
    f("Advert interval", advert_interval(i.advert_int_ms));
    f(
        "Preempt",
        if i.preempt { "enabled" } else { "disabled" }.to_string(),
    );
    let _ = writeln!(out, "   Virtual IP ({}):", i.vips.len());
    for v in &i.vips {
        let set = if i.gate_open { " set" } else { "" };
        let _ = writeln!(
            out,
            "     {}/{} dev {} scope global{set}",
            v.address, v.prefix_len, v.dev
        );
    }
    let scripts: Vec<_> = i.trackers.iter().filter(|t| t.kind == "script").collect();
    if !scripts.is_empty() {
        out.push_str("   Tracked scripts :\n");
        for t in scripts {
            let _ = writeln!(out, "     {} weight {}", t.name, t.weight);
        }
    }
}

/// keepalived prints whole seconds as `N sec`, anything else in milliseconds.
fn advert_interval(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{} sec", ms / 1000)
    } else {
        format!("{ms} milli-sec")
    }
}

/// keepalived's `secs.usecs (Www Mmm dd hh:mm:ss.usecs yyyy)`, in UTC.
fn keepalived_time(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let usecs = (unix_ms % 1000) * 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{secs}.{usecs:06} ({} {} {d:2} {:02}:{:02}:{:02}.{usecs:06} {y})",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The `.stats` text (keepalived `/tmp/keepalived.stats`). `baseline` holds the counts at the
/// last STATS_CLEAR per instance; they are subtracted.
pub fn stats_file(status: &Status, baseline: &dyn Fn(&str) -> Stats) -> String {
    let mut out = String::new();
    for i in &status.instances {
        let s = minus(&i.stats, &baseline(&i.name));
        let _ = writeln!(out, "VRRP Instance: {}", i.name);
        let _ = write!(
            out,
            "  Advertisements:\n    Received: {}\n    Sent: {}\n",
            s.advert_rcvd, s.advert_sent
        );
        let _ = write!(
            out,
            "  Became master: {}\n  Released master: {}\n",
            s.become_master, s.release_master
        );
        let _ = write!(
            out,
            "  Packet Errors:\n    Length: {}\n    TTL: {}\n    Invalid Type: {}\n    \
             Advertisement Interval: {}\n    Address List: {}\n",
            s.packet_len_err,
            s.ip_ttl_err,
            s.invalid_type_rcvd,
            s.advert_interval_err,
            s.addr_list_err
        );
        let _ = write!(
            out,
            "  Authentication Errors:\n    Invalid Type: {}\n    Type Mismatch: {}\n    \
             Failure: {}\n",
            s.invalid_authtype, s.authtype_mismatch, s.auth_failure
        );
        let _ = write!(
            out,
            "  Priority Zero:\n    Received: {}\n    Sent: {}\n",
            s.pri_zero_rcvd, s.pri_zero_sent
        );
    }
    out
}

fn minus(a: &Stats, b: &Stats) -> Stats {
    Stats {
        advert_rcvd: a.advert_rcvd.saturating_sub(b.advert_rcvd),
        advert_sent: a.advert_sent.saturating_sub(b.advert_sent),
        become_master: a.become_master.saturating_sub(b.become_master),
        release_master: a.release_master.saturating_sub(b.release_master),
        packet_len_err: a.packet_len_err.saturating_sub(b.packet_len_err),
        ip_ttl_err: a.ip_ttl_err.saturating_sub(b.ip_ttl_err),
        invalid_type_rcvd: a.invalid_type_rcvd.saturating_sub(b.invalid_type_rcvd),
        advert_interval_err: a.advert_interval_err.saturating_sub(b.advert_interval_err),
        addr_list_err: a.addr_list_err.saturating_sub(b.addr_list_err),
        invalid_authtype: a.invalid_authtype.saturating_sub(b.invalid_authtype),
        authtype_mismatch: a.authtype_mismatch.saturating_sub(b.authtype_mismatch),
        auth_failure: a.auth_failure.saturating_sub(b.auth_failure),
        pri_zero_rcvd: a.pri_zero_rcvd.saturating_sub(b.pri_zero_rcvd),
        pri_zero_sent: a.pri_zero_sent.saturating_sub(b.pri_zero_sent),
        chk_err: a.chk_err.saturating_sub(b.chk_err),
        vers_err: a.vers_err.saturating_sub(b.vers_err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::snapshot::{Clock, MasterView, TrackerView, VipView, sample_instance};

    fn sample() -> Status {
        let stats = Stats {
            advert_rcvd: 7,
            advert_sent: 112,
            become_master: 1,
            addr_list_err: 2,
            pri_zero_sent: 1,
            ..Stats::default()
        };
        Status {
            schema: 1,
            vrrpd_version: "0.1.0".into(),
            pid: 1,
            taken: Clock {
                monotonic_ns: 0,
                unix_ms: 1_795_584_219_694,
            },
            instances: vec![InstanceView {
                since: Clock {
                    monotonic_ns: 0,
                    unix_ms: 1_795_584_219_694,
                },
                effective_priority: 80,
                trackers: vec![TrackerView {
                    kind: "script".into(),
                    name: "chk".into(),
                    weight: -20,
                    reverse: false,
                    state: Some("down".into()),
                    adjustment: -20,
                    fault: false,
                }],
                master: Some(MasterView {
                    address: "10.9.0.1".parse().unwrap(),
                    priority: 80,
                    is_self: true,
                }),
                vips: vec![VipView {
                    address: "10.9.0.200".parse().unwrap(),
                    prefix_len: 24,
                    dev: "eth0".into(),
                }],
                stats,
                ..sample_instance()
            }],
            interfaces: vec![],
        }
    }

    #[test]
    fn data_file_has_keepalived_indentation_and_keys() {
        let text = data_file(&sample());
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.contains(&" VRRP Instance = VI_1"));
        assert!(lines.contains(&"   State = MASTER"));
        assert!(lines.contains(&"   Wantstate = MASTER"));
        assert!(lines.contains(&"   Interface = eth0"));
        assert!(lines.contains(&"   Virtual Router ID = 51"));
        assert!(lines.contains(&"   Effective priority = 80"));
        assert!(lines.contains(&"   Gratuitous ARP delay = 5"));
        assert!(lines.contains(&"   Virtual IP (1):"));
        assert!(lines.contains(&"     10.9.0.200/24 dev eth0 scope global set"));
        assert!(lines.contains(&" VRRP Script = chk"));
        assert!(lines.contains(&"   Status = BAD"));
        // keepalived 2.2.7 wrote exactly this for the same instant.
        assert!(
            lines.contains(
                &"   Last transition = 1795584219.694000 (Wed Nov 25 05:23:39.694000 2026)"
            )
        );
    }

    #[test]
    fn stats_file_matches_keepalived_layout() {
        let text = stats_file(&sample(), &|_| Stats::default());
        let expected = "VRRP Instance: VI_1\n  Advertisements:\n    Received: 7\n    Sent: 112\n  \
             Became master: 1\n  Released master: 0\n  Packet Errors:\n    Length: 0\n    \
             TTL: 0\n    Invalid Type: 0\n    Advertisement Interval: 0\n    Address List: 2\n  \
             Authentication Errors:\n    Invalid Type: 0\n    Type Mismatch: 0\n    Failure: 0\n  \
             Priority Zero:\n    Received: 0\n    Sent: 1\n";
        assert_eq!(text, expected);
    }

    #[test]
    fn stats_clear_baseline_is_subtracted() {
        let s = sample();
        let base = s.instances[0].stats;
        let text = stats_file(&s, &|_| base);
        assert!(text.contains("    Sent: 0\n"));
        assert!(!text.contains("112"));
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(advert_interval(1000), "1 sec");
        assert_eq!(advert_interval(370), "370 milli-sec");
    }
}
