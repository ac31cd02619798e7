//! keepalived's dump files, from a [`Status`]: the SIGUSR1 `.data` file (keepalived 2.2.7's
//! vrrp_data.c layout: a section line, ` VRRP Instance = NAME` at one space, its fields at three,
//! list items at five), the SIGUSR2 `.stats` file (vrrp_print.c layout) and the SIGRTMIN+2
//! `.json` file (vrrp_json.c: one `{"data", "stats"}` object per instance). Exporters such as
//! keepalived-exporter parse them by indentation and key, so both are reproduced exactly, in
//! keepalived's order, for the keys vrrpd can fill; keys for features vrrpd does not have (VMAC,
//! sockets, notify scripts) are left out rather than invented.

use std::fmt::Write as _;

use chrono::{Local, TimeZone};

use super::snapshot::{InstanceView, ScriptView, Status, VipView};
use crate::engine::Stats;

/// The `.data` text (keepalived `/tmp/keepalived.data`).
pub fn data_file(status: &Status) -> String {
    data_file_in(status, &Local)
}

/// [`data_file`] with the times in `tz` (keepalived prints them with `localtime_r`).
fn data_file_in<Tz: TimeZone>(status: &Status, tz: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let mut out = String::new();
    if !status.instances.is_empty() {
        out.push_str("------< VRRP Topology >------\n");
    }
    for i in &status.instances {
        instance_data(&mut out, i, tz);
    }
    if !status.scripts.is_empty() {
        out.push_str("------< VRRP Scripts >------\n");
        for s in &status.scripts {
            script_data(&mut out, s);
        }
    }
    out
}

fn instance_data<Tz: TimeZone>(out: &mut String, i: &InstanceView, tz: &Tz)
where
    Tz::Offset: std::fmt::Display,
{
    let _ = writeln!(out, " VRRP Instance = {}", i.name);
    field(out, "VRRP Version", &i.version);
    if i.family == "ipv6" {
        let _ = writeln!(out, "   Using Native IPv6");
    }
    let backup = i.state == "BACKUP";
    field(out, "State", &i.state);
    // keepalived prints the master it follows only in BACKUP. Before any advert was heard its
    // address is unset (keepalived prints whatever inet_ntop left); vrrpd omits the two lines.
    if backup && let Some(m) = &i.master {
        field(out, "Master router", &m.address);
        field(out, "Master priority", &m.priority);
        if i.version == 3 {
            field(
                out,
                "Master advert int",
                &format!("{:.2} sec", i.master_adver_int_ms as f64 / 1000.0),
            );
        }
    }
    // keepalived's wantstate is the state it is heading for; vrrpd changes state in one step.
    field(out, "Wantstate", &i.state);
    field(
        out,
        "Last transition",
        &keepalived_time(i.since.unix_ms, tz),
    );
    field(
        out,
        "Master down timer",
        &format!("{} usecs", i.master_down_interval_us),
    );
    field(out, "Interface", &i.interface);
    field(out, "Gratuitous ARP delay", &i.garp_master_delay_s);
    field(out, "Virtual Router ID", &i.vrid);
    field(out, "Priority", &i.base_priority);
    field(out, "Effective priority", &i.effective_priority);
    field(
        out,
        "Advert interval",
        &advert_interval(i.version, i.advert_int_ms),
    );
    if backup && i.version == 3 {
        field(
            out,
            "Master advert interval",
            &format!("{} milli-sec", i.master_adver_int_ms),
        );
    }
    field(
        out,
        "Preempt",
        &if i.preempt { "enabled" } else { "disabled" },
    );
    let (vips, excluded): (Vec<&VipView>, Vec<&VipView>) = i.vips.iter().partition(|v| !v.excluded);
    // keepalived writes each list only when it is not empty.
    if !vips.is_empty() {
        let _ = writeln!(out, "   Virtual IP ({}):", vips.len());
        for v in vips {
            let _ = writeln!(out, "     {}", vip_line(v, i.gate_open));
        }
    }
    if !excluded.is_empty() {
        out.push_str("   Virtual IP Excluded :\n");
        for v in excluded {
            let _ = writeln!(out, "     {}", vip_line(v, i.gate_open));
        }
    }
    let scripts: Vec<_> = i.trackers.iter().filter(|t| t.kind == "script").collect();
    if !scripts.is_empty() {
        out.push_str("   Tracked scripts :\n");
        for t in scripts {
            let reverse = if t.reverse { " reverse" } else { "" };
            let _ = writeln!(out, "     {} weight {}{reverse}", t.name, t.weight);
        }
    }
}

/// One `   Key = value` line.
fn field(out: &mut String, key: &str, value: &dyn std::fmt::Display) {
    let _ = writeln!(out, "   {key} = {value}");
}

/// keepalived's format_ipaddress: the address with its prefix unless it is a host prefix
/// (ipaddresstos), `brd`, the device, the scope, then the line's other options in keepalived's
/// order, for IPv6 the preferred lifetime, and `set` while the address is installed (MASTER).
/// (keepalived's VMAC, `track_group` and iptables words have no vrrpd counterpart.)
fn vip_line(v: &VipView, installed: bool) -> String {
    let o = &v.options;
    let host = if v.address.is_ipv4() { 32 } else { 128 };
    let mut line = v.address.to_string();
    if v.prefix_len != host {
        let _ = write!(line, "/{}", v.prefix_len);
    }
    if let (true, Some(brd)) = (v.address.is_ipv4(), o.brd) {
        let _ = write!(line, " brd {brd}");
    }
    let scope = o.scope.as_deref().unwrap_or("global");
    let _ = write!(line, " dev {} scope {scope}", v.dev);
    if let Some(label) = &o.label {
        let _ = write!(line, " label {label}");
    }
    if let Some(peer) = o.peer {
        let _ = write!(line, " peer {peer}/{}", v.prefix_len);
    }
    for (on, word) in [
        (o.home, " home"),
        (o.nodad, " -nodad"),
        (o.mngtmpaddr, " mngtmpaddr"),
        (o.noprefixroute, " noprefixroute"),
        (o.autojoin, " autojoin"),
        (o.no_track, " no_track"),
    ] {
        if on {
            line.push_str(word);
        }
    }
    if v.address.is_ipv6() {
        match o.preferred_lft {
            Some(0) => line.push_str(" deprecated"),
            None => line.push_str(" preferred_lft forever"),
            Some(n) => {
                let _ = write!(line, " preferred_lft {n}");
            }
        }
    }
    if installed {
        line.push_str(" set");
    }
    line
}

/// keepalived's dump_vscript lines an exporter reads: the status (GOOD once the rise count is
/// reached; a script not yet decided is BAD, as keepalived starts it one success short) and the
/// runner's state.
fn script_data(out: &mut String, s: &ScriptView) {
    let status = match s.state.as_deref() {
        Some("up") => "GOOD",
        _ => "BAD",
    };
    let _ = writeln!(out, " VRRP Script = {}", s.name);
    let _ = writeln!(out, "   Status = {status}");
    let _ = writeln!(
        out,
        "   State = {}",
        if s.running { "running" } else { "idle" }
    );
}

/// keepalived prints a v2 interval in whole seconds and a v3 one in milliseconds.
fn advert_interval(version: u8, ms: u64) -> String {
    if version == 2 {
        format!("{} sec", ms / 1000)
    } else {
        format!("{ms} milli-sec")
    }
}

/// keepalived's `secs.usecs (Www Mmm dd hh:mm:ss.usecs yyyy)` (ctime_us_r: asctime of the local
/// time with the microseconds spliced in before the year).
fn keepalived_time<Tz: TimeZone>(unix_ms: u64, tz: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let secs = unix_ms / 1000;
    let usecs = (unix_ms % 1000) * 1000;
    let when = i64::try_from(unix_ms)
        .ok()
        .and_then(|ms| tz.timestamp_millis_opt(ms).single());
    match when {
        Some(t) => format!(
            "{secs}.{usecs:06} ({})",
            t.format("%a %b %e %H:%M:%S%.6f %Y")
        ),
        // keepalived's own fallback for a time it cannot convert.
        None => format!("{secs}.{usecs:06} (invalid time)"),
    }
}

/// The `.json` text (keepalived `/tmp/keepalived.json`): vrrp_json.c's keys and types (times and
/// intervals as seconds in floats, states as keepalived's numbers), for what vrrpd has.
pub fn json_file(status: &Status) -> String {
    let secs = |ms: u64| ms as f64 / 1000.0;
    let instances: Vec<serde_json::Value> = status
        .instances
        .iter()
        .map(|i| {
            let (vips, excluded): (Vec<&VipView>, Vec<&VipView>) =
                i.vips.iter().partition(|v| !v.excluded);
            let addrs = |list: Vec<&VipView>| -> Vec<String> {
                list.into_iter().map(|v| vip_line(v, false)).collect()
            };
            let mut data = serde_json::json!({
                "iname": i.name,
                "ifp_ifname": i.interface,
                "master_priority": i.master.as_ref().map_or(0, |m| m.priority),
                "last_transition": secs(i.since.unix_ms),
                "garp_delay": i.garp_master_delay_s as f64,
                "vrid": i.vrid,
                "base_priority": i.base_priority,
                "effective_priority": i.effective_priority,
                "vipset": i.gate_open,
                "adver_int": secs(i.advert_int_ms),
                "master_adver_int": secs(i.master_adver_int_ms),
                "nopreempt": !i.preempt,
                "state": i.state_number,
                // keepalived's wantstate is the state it is heading for; vrrpd changes state in
                // one step.
                "wantstate": i.state_number,
                "version": i.version,
            });
            // keepalived writes each list only when it is not empty.
            let lists = [
                ("vips", addrs(vips)),
                ("evips", addrs(excluded)),
                (
                    "track_ifp",
                    i.trackers
                        .iter()
                        .filter(|t| t.kind == "interface")
                        .map(|t| t.name.clone())
                        .collect(),
                ),
            ];
            for (key, list) in lists {
                if !list.is_empty() {
                    data[key] = list.into();
                }
            }
            let s = &i.stats;
            serde_json::json!({
                "data": data,
                "stats": {
                    "advert_rcvd": s.advert_rcvd,
                    "advert_sent": s.advert_sent,
                    "become_master": s.become_master,
                    "release_master": s.release_master,
                    "packet_len_err": s.packet_len_err,
                    "advert_interval_err": s.advert_interval_err,
                    "ip_ttl_err": s.ip_ttl_err,
                    "invalid_type_rcvd": s.invalid_type_rcvd,
                    "addr_list_err": s.addr_list_err,
                    "invalid_authtype": s.invalid_authtype,
                    "authtype_mismatch": s.authtype_mismatch,
                    "auth_failure": s.auth_failure,
                    "pri_zero_rcvd": s.pri_zero_rcvd,
                    "pri_zero_sent": s.pri_zero_sent,
                },
            })
        })
        .collect();
    serde_json::Value::Array(instances).to_string()
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
    use crate::status::snapshot::{
        Clock, MasterView, TrackerView, VipOptions, sample_instance, sample_tracker,
    };
    use std::net::IpAddr;

    const AT: Clock = Clock {
        monotonic_ns: 0,
        unix_ms: 1_795_584_219_694,
    };

    /// A VIP line with nothing but the address: keepalived's defaults, as the plan resolves
    /// them (an IPv6 /128 is deprecated).
    fn vip(address: &str, prefix_len: u8, excluded: bool) -> VipView {
        let address: IpAddr = address.parse().unwrap();
        VipView {
            address,
            prefix_len,
            dev: "eth0".into(),
            excluded,
            options: VipOptions {
                preferred_lft: (address.is_ipv6() && prefix_len == 128).then_some(0),
                ..VipOptions::default()
            },
        }
    }

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
            taken: AT,
            instances: vec![InstanceView {
                since: AT,
                effective_priority: 80,
                trackers: vec![TrackerView {
                    reverse: true,
                    ..sample_tracker()
                }],
                master: Some(MasterView {
                    address: "10.9.0.1".parse().unwrap(),
                    priority: 80,
                    is_self: true,
                }),
                vips: vec![vip("10.9.0.200", 32, false), vip("10.9.0.201", 24, false)],
                stats,
                ..sample_instance()
            }],
            interfaces: vec![],
            scripts: vec![ScriptView {
                name: "chk".into(),
                state: Some("down".into()),
                running: false,
            }],
        }
    }

    fn lines(status: &Status) -> Vec<String> {
        data_file_in(status, &chrono::Utc)
            .lines()
            .map(String::from)
            .collect()
    }

    fn has(lines: &[String], line: &str) -> bool {
        lines.iter().any(|l| l == line)
    }

    #[test]
    fn json_dump_has_keepalived_keys_and_types() {
        let v: serde_json::Value = serde_json::from_str(&json_file(&sample())).unwrap();
        let i = &v[0];
        assert_eq!(i["data"]["iname"], "VI_1");
        assert_eq!(i["data"]["ifp_ifname"], "eth0");
        assert_eq!(i["data"]["vrid"], 51);
        assert_eq!(i["data"]["state"], 2, "MASTER is keepalived's 2");
        assert_eq!(i["data"]["effective_priority"], 80);
        assert_eq!(i["data"]["adver_int"], 1.0);
        assert_eq!(i["data"]["last_transition"], 1_795_584_219.694);
        assert_eq!(i["data"]["vipset"], true);
        assert_eq!(
            i["data"]["vips"],
            serde_json::json!([
                "10.9.0.200 dev eth0 scope global",
                "10.9.0.201/24 dev eth0 scope global"
            ])
        );
        assert!(i["data"].get("evips").is_none(), "empty lists are left out");
        assert_eq!(i["stats"]["advert_sent"], 112);
        assert_eq!(i["stats"]["addr_list_err"], 2);
        assert_eq!(i["stats"]["pri_zero_sent"], 1);
    }

    #[test]
    fn master_v2_dump_has_keepalived_indentation_keys_and_vip_form() {
        let l = lines(&sample());
        for want in [
            "------< VRRP Topology >------",
            " VRRP Instance = VI_1",
            "   VRRP Version = 2",
            "   State = MASTER",
            "   Wantstate = MASTER",
            "   Interface = eth0",
            "   Virtual Router ID = 51",
            "   Priority = 100",
            "   Effective priority = 80",
            "   Advert interval = 1 sec",
            "   Gratuitous ARP delay = 5",
            "   Virtual IP (2):",
            // ipaddresstos: no prefix for a host address, the prefix otherwise.
            "     10.9.0.200 dev eth0 scope global set",
            "     10.9.0.201/24 dev eth0 scope global set",
            "   Tracked scripts :",
            "     chk weight -20 reverse",
            "------< VRRP Scripts >------",
            " VRRP Script = chk",
            "   Status = BAD",
            "   State = idle",
            // keepalived 2.2.7 wrote exactly this for the same instant under TZ=UTC.
            "   Last transition = 1795584219.694000 (Wed Nov 25 05:23:39.694000 2026)",
        ] {
            assert!(has(&l, want), "{want:?} missing from\n{}", l.join("\n"));
        }
        // Only a backup names the master it follows.
        assert!(!l.iter().any(|x| x.starts_with("   Master router")));
        assert!(!l.iter().any(|x| x.starts_with("   Master priority")));
        assert!(!has(&l, "   Virtual IP Excluded :"));
        // Wantstate follows State, as in keepalived.
        let pos = |k: &str| l.iter().position(|x| x.starts_with(k)).unwrap();
        assert!(pos("   State =") < pos("   Wantstate ="));
        assert!(pos("   Wantstate =") < pos("   Interface ="));
    }

    #[test]
    fn backup_v3_names_its_master_and_writes_intervals_in_milliseconds() {
        let mut s = sample();
        let i = &mut s.instances[0];
        i.version = 3;
        i.state = "BACKUP".into();
        i.state_number = 1;
        i.gate_open = false;
        i.master_adver_int_ms = 370;
        i.master = Some(MasterView {
            address: "10.9.0.2".parse().unwrap(),
            priority: 150,
            is_self: false,
        });
        let l = lines(&s);
        for want in [
            "   State = BACKUP",
            "   Master router = 10.9.0.2",
            "   Master priority = 150",
            "   Master advert int = 0.37 sec",
            "   Advert interval = 1000 milli-sec",
            "   Master advert interval = 370 milli-sec",
            // Not installed on a backup: no `set`.
            "     10.9.0.200 dev eth0 scope global",
        ] {
            assert!(has(&l, want), "{want:?} missing from\n{}", l.join("\n"));
        }
    }

    #[test]
    fn vip_lines_carry_every_option_in_keepalived_order() {
        let mut v4 = vip("10.9.0.201", 24, false);
        v4.options = VipOptions {
            brd: Some("10.9.0.255".parse().unwrap()),
            scope: Some("link".into()),
            label: Some("eth0:vip".into()),
            peer: Some("10.9.0.9".parse().unwrap()),
            home: true,
            nodad: true,
            mngtmpaddr: true,
            noprefixroute: true,
            autojoin: true,
            no_track: true,
            preferred_lft: None,
        };
        assert_eq!(
            vip_line(&v4, true),
            "10.9.0.201/24 brd 10.9.0.255 dev eth0 scope link label eth0:vip \
             peer 10.9.0.9/24 home -nodad mngtmpaddr noprefixroute autojoin no_track set"
        );
        let mut v6 = vip("fd00::11", 64, false);
        v6.options.preferred_lft = Some(600);
        assert_eq!(
            vip_line(&v6, false),
            "fd00::11/64 dev eth0 scope global preferred_lft 600"
        );
    }

    #[test]
    fn excluded_vips_have_their_own_list_and_an_empty_list_no_header() {
        let mut s = sample();
        s.instances[0].vips = vec![vip("fd00::10", 128, true), vip("fd00::11", 64, true)];
        s.instances[0].family = "ipv6".into();
        let l = lines(&s);
        assert!(!l.iter().any(|x| x.starts_with("   Virtual IP (")), "{l:?}");
        let at = l
            .iter()
            .position(|x| x == "   Virtual IP Excluded :")
            .unwrap();
        assert_eq!(
            l[at + 1],
            "     fd00::10 dev eth0 scope global deprecated set"
        );
        assert_eq!(
            l[at + 2],
            "     fd00::11/64 dev eth0 scope global preferred_lft forever set"
        );
        assert!(has(&l, "   Using Native IPv6"));
    }

    #[test]
    fn scripts_are_good_or_bad_never_init_and_report_a_run_in_progress() {
        let mut s = sample();
        s.scripts = vec![
            ScriptView {
                name: "undecided".into(),
                state: None,
                running: true,
            },
            ScriptView {
                name: "ok".into(),
                state: Some("up".into()),
                running: false,
            },
        ];
        let text = data_file_in(&s, &chrono::Utc);
        assert!(
            text.contains(
                " VRRP Script = undecided\n   Status = BAD\n   State = running\n \
                 VRRP Script = ok\n   Status = GOOD\n   State = idle\n"
            ),
            "{text}"
        );
        assert!(!text.contains("INIT"));
    }

    #[test]
    fn last_transition_is_in_the_given_zone_with_asctime_day_padding() {
        let plus_one = chrono::FixedOffset::east_opt(3600).unwrap();
        assert_eq!(
            keepalived_time(1_795_584_219_694, &plus_one),
            "1795584219.694000 (Wed Nov 25 06:23:39.694000 2026)"
        );
        // 2024-03-05 07:08:09.001 UTC: asctime pads the day with a space.
        assert_eq!(
            keepalived_time(1_709_622_489_001, &chrono::Utc),
            "1709622489.001000 (Tue Mar  5 07:08:09.001000 2024)"
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
    fn advert_interval_units_follow_the_version() {
        assert_eq!(advert_interval(2, 1000), "1 sec");
        assert_eq!(advert_interval(3, 1000), "1000 milli-sec");
        assert_eq!(advert_interval(3, 370), "370 milli-sec");
    }
}
