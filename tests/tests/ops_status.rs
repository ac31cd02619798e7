//! End-to-end: what an operator sees of a running master/backup pair (the seed configurations,
//! adapted to the lab). Each vrrpd gets its own status socket, pid file, dump files and metrics
//! listener in a temporary directory, and each output is read the way its consumers read it:
//! `vrrpd status` (table and JSON by field name), Prometheus text over HTTP from inside the
//! router's namespace, and the SIGUSR1/SIGUSR2 files parsed like keepalived-exporter does.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use vrrpd_tests::capture::Capture;
use vrrpd_tests::scenario::vrrp_lab;
use vrrpd_tests::seed::{CheckScript, Seed, lab_vip};
use vrrpd_tests::setns::in_netns;
use vrrpd_tests::{
    Impl, InstanceDumps, Lab, Router, State, TempDir, observe, stats_file_lock, vrrpd_bin, wire,
};

const VI: &str = "VI_1";
const VRID: &str = "50";
const METRICS_PORT: u16 = 9105;
const WAIT: Duration = Duration::from_secs(20);

/// One vrrpd with every operator output pointed into its own directory.
struct Daemon {
    router: Router,
    dir: TempDir,
}

impl Daemon {
    fn start(lab: &Lab, i: usize, config: &str) -> Daemon {
        let dir = TempDir::new("ops");
        let p = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
        let metrics = format!("127.0.0.1:{METRICS_PORT}");
        let router = Router::start_vrrpd_args(
            lab.router(i),
            config,
            &[
                "--status-socket",
                &p("vrrpd.sock"),
                "--pid",
                &p("vrrpd.pid"),
                "--data-file",
                &p("keepalived.data"),
                "--stats-file",
                &p("keepalived.stats"),
                "--json-file",
                &p("keepalived.json"),
                "--metrics-listen",
                &metrics,
            ],
        );
        Daemon { router, dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `vrrpd status [--json]`, which must succeed.
    fn status_cli(&self, json: bool) -> String {
        let socket = self.path("vrrpd.sock");
        let mut cmd = Command::new(vrrpd_bin());
        cmd.arg("status").arg("--socket").arg(&socket);
        if json {
            cmd.arg("--json");
        }
        let out = cmd.output().expect("running vrrpd status");
        assert!(
            out.status.success(),
            "vrrpd status: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.router.transcript()
        );
        String::from_utf8(out.stdout).expect("UTF-8 status")
    }

    fn status(&self) -> Value {
        serde_json::from_str(&self.status_cli(true)).expect("status --json is JSON")
    }

    fn instance(&self) -> Value {
        let s = self.status();
        s["instances"]
            .as_array()
            .and_then(|a| a.iter().find(|i| i["name"] == VI).cloned())
            .unwrap_or_else(|| panic!("no {VI} in {s:#}"))
    }

    /// Signals the pid in the pid file, as exporters do, and returns the file the signal writes.
    fn dump(&self, signal: i32, file: &str) -> String {
        let path = self.path(file);
        let _ = std::fs::remove_file(&path);
        let pid: i32 = std::fs::read_to_string(self.path("vrrpd.pid"))
            .expect("pid file")
            .trim()
            .parse()
            .expect("pid");
        // SAFETY: kill(2) with a pid this test started.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
        wait_until(&format!("{file} written"), || path.exists());
        std::fs::read_to_string(&path).expect("dump file")
    }

    /// GET /metrics from inside the router's namespace.
    fn metrics(&self, lab: &Lab, i: usize) -> Metrics {
        let (head, body) = in_netns(&lab.router(i).ns, || {
            let mut s = TcpStream::connect(("127.0.0.1", METRICS_PORT)).expect("metrics connect");
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: vrrpd\r\n\r\n")
                .unwrap();
            let mut text = String::new();
            s.read_to_string(&mut text).unwrap();
            let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
            (head.to_string(), body.to_string())
        });
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(head.contains("Content-Type: application/openmetrics-text"));
        Metrics::parse(&body)
    }
}

fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(50));
    }
}

/// Samples of an OpenMetrics text: (name, labels) → value.
struct Metrics(Vec<(String, BTreeMap<String, String>, f64)>);

impl Metrics {
    fn parse(text: &str) -> Metrics {
        let mut samples = Vec::new();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let (series, value) = line.rsplit_once(' ').expect("`series value`");
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("value in {line}"));
            let (name, labels) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.strip_suffix('}').expect("closing brace")),
                None => (series, ""),
            };
            let labels = labels
                .split("\",")
                .filter(|kv| !kv.is_empty())
                .map(|kv| {
                    let (k, v) = kv.split_once("=\"").expect("label=\"value\"");
                    (k.to_string(), v.trim_end_matches('"').to_string())
                })
                .collect();
            samples.push((name.to_string(), labels, value));
        }
        assert!(text.ends_with("# EOF\n"), "OpenMetrics ends with # EOF");
        Metrics(samples)
    }

    /// The one sample of `name` whose labels include `want`.
    fn get(&self, name: &str, want: &[(&str, &str)]) -> f64 {
        let found: Vec<f64> = self
            .0
            .iter()
            .filter(|(n, labels, _)| {
                n == name
                    && want
                        .iter()
                        .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, _, v)| *v)
            .collect();
        assert_eq!(found.len(), 1, "{name} {want:?}: {found:?}");
        found[0]
    }

    /// Exactly one observation in the detection-latency histogram of the instance `labels`
    /// (starting with its `instance` label) name.
    fn assert_one_timed_takeover(&self, labels: &[(&str, &str)]) {
        assert_eq!(
            self.get("vrrpd_detection_latency_seconds_count", labels),
            1.0
        );
        let inf = [labels[0], ("le", "+Inf")];
        assert_eq!(
            self.get("vrrpd_detection_latency_seconds_bucket", &inf),
            1.0
        );
    }
}

/// keepalived-exporter's reading of `.data`: ` VRRP Instance = X` opens an instance, `   K = V`
/// lines are its fields, `     ...` lines under `   Virtual IP (n):` are its VIPs (not those
/// under `   Virtual IP Excluded :`); any line with less indentation ends it.
fn parse_data(text: &str) -> BTreeMap<String, (BTreeMap<String, String>, Vec<String>)> {
    let mut out = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut key = String::new();
    for l in text.lines() {
        if l.starts_with(" VRRP Instance") && l.contains('=') {
            let name = l.split('=').nth(1).unwrap().trim().to_string();
            out.insert(name.clone(), (BTreeMap::new(), Vec::new()));
            current = Some(name);
        } else if l.starts_with("   ") && current.is_some() {
            let entry = out.get_mut(current.as_ref().unwrap()).unwrap();
            if l.starts_with("     ") {
                if key.starts_with("Virtual IP (") || key == "Virtual IP" {
                    entry.1.push(l.trim().to_string());
                }
            } else if let Some((k, v)) = l.trim().split_once('=') {
                key = k.trim().to_string();
                entry.0.insert(key.clone(), v.trim().to_string());
            } else if let Some((k, _)) = l.trim().split_once(':') {
                key = k.trim().to_string();
            }
        } else {
            current = None;
        }
    }
    out
}

/// keepalived-exporter's reading of the `.data` scripts (ParseVRRPScript): ` VRRP Script = X`
/// opens a script, its `   K = V` lines are fields (the exporter keeps `Status` and `State`),
/// a line indented less than four spaces ends it.
fn parse_scripts(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for l in text.lines() {
        if l.starts_with(" VRRP Script") && l.contains('=') {
            let name = l.split('=').nth(1).unwrap().trim().to_string();
            out.entry(name.clone()).or_default();
            current = Some(name);
        } else if let Some(name) = current.as_ref().filter(|_| l.starts_with("   ")) {
            if let Some((k, v)) = l.trim().split_once('=') {
                let fields = out.get_mut(name).unwrap();
                fields.insert(k.trim().to_string(), v.trim().to_string());
            }
        } else if !l.starts_with("    ") {
            current = None;
        }
    }
    out
}

/// keepalived-exporter's reading of `.stats`: `VRRP Instance: X`, `  Section:` headers, and
/// `    Key: N` / `  Key: N` counters.
fn parse_stats(text: &str) -> BTreeMap<String, BTreeMap<String, u64>> {
    let mut out: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let (mut instance, mut section) = (String::new(), String::new());
    for l in text.lines() {
        if l.starts_with("VRRP Instance") && l.contains(':') {
            instance = l.split(':').nth(1).unwrap().trim().to_string();
            out.entry(instance.clone()).or_default();
        } else if l.starts_with("  ") && l.ends_with(':') {
            section = l.trim().trim_end_matches(':').to_string();
        } else if let Some((k, v)) = l.trim().split_once(':') {
            let key = if l.starts_with("    ") {
                format!("{section}/{}", k.trim())
            } else {
                section.clear();
                k.trim().to_string()
            };
            let n = v
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("number in {l:?}"));
            out.get_mut(&instance).unwrap().insert(key, n);
        }
    }
    out
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn operator_outputs_of_a_master_backup_pair() {
    let subnet = 41;
    let lab = vrrp_lab("ops", 2, subnet);
    let checks = [CheckScript::new(), CheckScript::new()];
    let master_conf = Seed::MasterBackupMaster.adapted(subnet, checks[0].path());
    let backup_conf = Seed::MasterBackupBackup.adapted(subnet, checks[1].path());
    let vip = lab_vip(subnet, 200).to_string();

    let t0 = Instant::now();
    let master = Daemon::start(&lab, 0, &master_conf);
    master.router.wait_state(VI, State::Master, t0);
    let backup = Daemon::start(&lab, 1, &backup_conf);
    backup
        .router
        .wait_log(&format!("({VI}) Entering BACKUP STATE"));
    // Let the backup hear a few adverts.
    wait_until("4 adverts received by the backup", || {
        u(&backup.instance()["stats"]["advert_rcvd"]) >= 4
    });

    // ---- vrrpd status --json
    let s = master.status();
    assert_eq!(s["schema"], 1);
    let m = master.instance();
    assert_eq!(m["state"], "MASTER");
    assert_eq!(m["state_number"], 2);
    assert_eq!((u(&m["vrid"]), m["family"].as_str()), (50, Some("ipv4")));
    assert_eq!(m["master"]["is_self"], true);
    assert_eq!(m["gate_open"], true);
    assert_eq!(m["vips"][0]["address"], vip.as_str());
    assert!(u(&m["stats"]["advert_sent"]) >= 4, "{m:#}");
    assert_eq!(u(&m["stats"]["become_master"]), 1);
    assert_eq!(m["trackers"][0]["name"], "chk_nginx");
    assert_eq!(m["trackers"][0]["state"], "up");
    let by: Vec<(String, String)> = m["transitions_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["from"].to_string(), t["to"].to_string()))
        .collect();
    assert!(
        by.contains(&("\"BACKUP\"".into(), "\"MASTER\"".into())),
        "{by:?}"
    );
    assert!(m["since"]["unix_ms"].as_u64().is_some());
    let iface = &s["interfaces"][0];
    assert_eq!(iface["name"], "eth0");
    assert!(matches!(iface["xdp_mode"].as_str(), Some("native" | "skb")));
    assert!(iface["counters"]["ring_full"].is_u64());

    let b = backup.instance();
    assert_eq!(b["state"], "BACKUP");
    assert_eq!(b["gate_open"], false);
    assert_eq!(
        b["master"]["address"],
        lab.router(0).ipv4.to_string().as_str()
    );
    assert_eq!(u(&b["master"]["priority"]), 100);
    assert_eq!(b["master"]["is_self"], false);
    assert!(
        u(&b["last_advert_age_ms"]) < 3000,
        "the master advertises every second: {b:#}"
    );
    assert_eq!(u(&b["base_priority"]), 80);
    assert!(u(&backup.status()["interfaces"][0]["counters"]["adverts"]) >= 4);

    // ---- vrrpd status (table)
    let table = master.status_cli(false);
    let row = table
        .lines()
        .find(|l| l.starts_with(VI))
        .unwrap_or_else(|| panic!("no {VI} row in\n{table}"));
    for cell in ["eth0", VRID, "MASTER", "(self)", "open", &vip] {
        assert!(row.contains(cell), "{cell:?} missing from {row:?}");
    }
    let table = backup.status_cli(false);
    let row = table.lines().find(|l| l.starts_with(VI)).unwrap();
    let master_ip = lab.router(0).ipv4.to_string();
    for cell in ["BACKUP", "closed", &format!("{master_ip} (100)")] {
        assert!(row.contains(cell), "{cell:?} missing from {row:?}");
    }

    // ---- Prometheus
    let l = [("instance", VI), ("vrid", VRID), ("family", "ipv4")];
    let mm = master.metrics(&lab, 0);
    assert_eq!(mm.get("vrrpd_instance_state", &l), 2.0);
    assert_eq!(mm.get("vrrpd_instance_effective_priority", &l), 100.0);
    assert!(mm.get("vrrpd_adverts_sent_total", &l) >= 4.0);
    let bm = [l[0], ("from", "BACKUP"), ("to", "MASTER")];
    assert_eq!(mm.get("vrrpd_instance_transitions_total", &bm), 1.0);
    // The master took over because nobody advertised: one detection-latency observation.
    mm.assert_one_timed_takeover(&l);
    assert!(
        mm.get(
            "vrrpd_xdp_packets_total",
            &[("interface", "eth0"), ("counter", "ring_full")]
        ) >= 0.0
    );
    let bmet = backup.metrics(&lab, 1);
    assert_eq!(bmet.get("vrrpd_instance_state", &l), 1.0);
    assert!(bmet.get("vrrpd_adverts_received_total", &l) >= 4.0);
    assert_eq!(
        bmet.get(
            "vrrpd_receive_errors_total",
            &[l[0], ("reason", "ip_ttl_err")]
        ),
        0.0
    );
    assert!(
        bmet.get(
            "vrrpd_xdp_packets_total",
            &[("interface", "eth0"), ("counter", "adverts")]
        ) >= 4.0
    );
    assert_eq!(
        bmet.get("vrrpd_detection_latency_seconds_count", &l),
        0.0,
        "the backup never took over"
    );

    // ---- SIGUSR1: .data as keepalived-exporter reads it
    let data = parse_data(&master.dump(libc::SIGUSR1, "keepalived.data"));
    let (fields, vips) = &data[VI];
    assert_eq!(fields["State"], "MASTER");
    assert_eq!(fields["Wantstate"], "MASTER");
    assert_eq!(fields["Interface"], "eth0");
    assert_eq!(fields["Virtual Router ID"], VRID);
    assert_eq!(fields["Gratuitous ARP delay"], "5");
    // ParseVIP: words 0 and 2 are the address and the device; a host address has no prefix.
    let words: Vec<&str> = vips[0].split(' ').collect();
    assert_eq!((words[0], words[2]), (vip.as_str(), "eth0"));
    let data = parse_data(&backup.dump(libc::SIGUSR1, "keepalived.data"));
    assert_eq!(data[VI].0["State"], "BACKUP");
    assert_eq!(data[VI].0["Effective priority"], "80");

    // ---- SIGUSR2: .stats, then STATS_CLEAR (its number from `vrrpd --signum`)
    let stats = parse_stats(&master.dump(libc::SIGUSR2, "keepalived.stats"));
    assert!(stats[VI]["Advertisements/Sent"] >= 4, "{stats:?}");
    assert_eq!(stats[VI]["Became master"], 1);
    assert_eq!(stats[VI]["Released master"], 0);
    assert_eq!(stats[VI]["Priority Zero/Sent"], 0);
    let before = parse_stats(&backup.dump(libc::SIGUSR2, "keepalived.stats"));
    let received = before[VI]["Advertisements/Received"];
    assert!(received >= 4, "{before:?}");
    assert_eq!(before[VI]["Packet Errors/TTL"], 0);
    assert_eq!(before[VI]["Authentication Errors/Failure"], 0);

    let signum = |name: &str| -> i32 {
        let out = Command::new(vrrpd_bin())
            .arg(format!("--signum={name}"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    let clear = signum("STATS_CLEAR");
    let at_clear = parse_stats(&backup.dump(clear, "keepalived.stats"));
    assert!(at_clear[VI]["Advertisements/Received"] >= received);
    let after = parse_stats(&backup.dump(libc::SIGUSR2, "keepalived.stats"));
    assert!(
        after[VI]["Advertisements/Received"] < received,
        "cleared: {after:?} vs {before:?}"
    );
    // The status socket keeps the running totals (only the keepalived file is cleared).
    assert!(u(&backup.instance()["stats"]["advert_rcvd"]) >= received);

    // ---- SIGRTMIN+2: .json with vrrp_json.c's keys; SIGRTMAX (thread dump) is only logged
    let json: serde_json::Value =
        serde_json::from_str(&master.dump(signum("JSON"), "keepalived.json")).unwrap();
    assert_eq!(json[0]["data"]["iname"], VI, "{json:#}");
    assert_eq!(
        json[0]["data"]["state"], 2,
        "MASTER is keepalived's 2: {json:#}"
    );
    assert!(
        json[0]["data"]["vips"][0]
            .as_str()
            .is_some_and(|v| v.starts_with(&format!("{vip} dev eth0"))),
        "{json:#}"
    );
    assert!(u(&json[0]["stats"]["advert_sent"]) >= 4, "{json:#}");
    let pid: i32 = std::fs::read_to_string(master.path("vrrpd.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // SAFETY: kill(2) with a pid this test started.
    assert_eq!(unsafe { libc::kill(pid, signum("TDUMP")) }, 0);
    master.router.wait_log("Thread dump requested");
    assert_eq!(master.instance()["state"], "MASTER", "still running");

    // A clean stop removes the socket and the pid file.
    let mut master = master;
    let stopped = Instant::now();
    let status = master.router.terminate();
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    assert!(!master.path("vrrpd.sock").exists());
    assert!(!master.path("vrrpd.pid").exists());

    // The stopping master resigned with priority 0: the backup takes over after Skew_Time, and
    // that takeover is timed like a Master_Down one.
    backup.router.wait_state(VI, State::Master, stopped);
    let b = backup.instance();
    assert!(u(&b["stats"]["pri_zero_rcvd"]) >= 1, "{b:#}");
    assert_eq!(u(&b["detection_latency"]["count"]), 1, "{b:#}");
    let bmet = backup.metrics(&lab, 1);
    assert!(bmet.get("vrrpd_priority_zero_received_total", &l) >= 1.0);
    bmet.assert_one_timed_takeover(&l);
    let stats = parse_stats(&backup.dump(libc::SIGUSR2, "keepalived.stats"));
    assert!(stats[VI]["Priority Zero/Received"] >= 1, "{stats:?}");
}

/// Waits for a dump file a signal asked for, and reads it once its writer is done with it
/// (keepalived writes in place, so a file is only complete once its size stops changing).
fn read_dump(path: &Path) -> String {
    wait_until(&format!("{} written", path.display()), || path.exists());
    let deadline = Instant::now() + WAIT;
    let mut last = None;
    loop {
        thread::sleep(Duration::from_millis(200));
        let len = std::fs::metadata(path).map(|m| m.len()).ok();
        if len.is_some_and(|n| n > 0) && len == last {
            return std::fs::read_to_string(path).expect("dump file");
        }
        assert!(
            Instant::now() < deadline,
            "{} not written whole (length {len:?})",
            path.display()
        );
        last = len;
    }
}

/// The `.stats` line of `advert_interval_err`.
const INTERVAL_ERRORS: &str = "Packet Errors/Advertisement Interval";

/// `signal` to keepalived `router`, then the dump it writes at `path`.
fn keepalived_dump(router: &Router, path: &Path, signal: i32) -> String {
    let _ = std::fs::remove_file(path);
    let pid: i32 = std::fs::read_to_string(router.pid_file())
        .expect("keepalived pid file")
        .trim()
        .parse()
        .expect("pid");
    // SAFETY: kill(2) with a pid this test started.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    read_dump(path)
}

/// keepalived 2.2.7 and vrrpd run the same master/backup configurations, each pair on a lab of
/// its own with the same addresses. After SIGUSR1 (and SIGUSR2) to every daemon, what
/// keepalived-exporter reads from vrrpd's files must be what it reads from keepalived's. The
/// fields that legitimately differ (transition times, timers, pids, sockets) are not among
/// those an exporter reads; a script's `State` may be caught `running` by either.
#[test]
fn dumps_read_like_keepalived_side_by_side() {
    let _stats_file = stats_file_lock();
    let subnet = 43;
    let checks = [CheckScript::new(), CheckScript::new()];
    let dumps = [InstanceDumps::new("kd"), InstanceDumps::new("kd")];
    let seeds = [Seed::MasterBackupMaster, Seed::MasterBackupBackup];
    let configs: Vec<String> = (0..2)
        .map(|i| dumps[i].configure(&seeds[i].adapted(subnet, checks[i].path())))
        .collect();
    let k_lab = vrrp_lab("dumpk", 2, subnet);
    let v_lab = vrrp_lab("dumpv", 2, subnet);

    let t0 = Instant::now();
    let k_master = Router::start(Impl::Keepalived, k_lab.router(0), &configs[0]);
    let v_master = Daemon::start(&v_lab, 0, &configs[0]);
    k_master.wait_state(VI, State::Master, t0);
    v_master.router.wait_state(VI, State::Master, t0);
    let k_backup = Router::start(Impl::Keepalived, k_lab.router(1), &configs[1]);
    let v_backup = Daemon::start(&v_lab, 1, &configs[1]);
    for r in [&k_backup, &v_backup.router] {
        r.wait_log(&format!("({VI}) Entering BACKUP STATE"));
    }
    // Both backups hear a few adverts, and both check scripts have reported.
    wait_until("4 adverts received by vrrpd's backup", || {
        u(&v_backup.instance()["stats"]["advert_rcvd"]) >= 4
    });
    for r in [&k_master, &k_backup] {
        r.wait_log("VRRP_Script(chk_nginx) succeeded");
    }

    let pairs = [(&k_master, &v_master), (&k_backup, &v_backup)];
    for (i, (k, v)) in pairs.into_iter().enumerate() {
        let k_text = keepalived_dump(k, &dumps[i].data(), libc::SIGUSR1);
        let v_text = v.dump(libc::SIGUSR1, "keepalived.data");
        let context = format!("=== keepalived ===\n{k_text}\n=== vrrpd ===\n{v_text}");
        let (k_data, v_data) = (parse_data(&k_text), parse_data(&v_text));
        assert_eq!(
            k_data.keys().collect::<Vec<_>>(),
            v_data.keys().collect::<Vec<_>>(),
            "instances\n{context}"
        );
        let ((k_fields, k_vips), (v_fields, v_vips)) = (&k_data[VI], &v_data[VI]);
        for key in [
            "State",
            "Wantstate",
            "Interface",
            "Virtual Router ID",
            "Effective priority",
            "Gratuitous ARP delay",
        ] {
            assert_eq!(
                k_fields.get(key),
                v_fields.get(key),
                "{key} of router {i}\n{context}"
            );
            assert!(k_fields.contains_key(key), "{key}\n{context}");
        }
        assert_eq!(k_vips, v_vips, "VIPs of router {i}\n{context}");
        assert!(!k_vips.is_empty(), "{context}");

        let (k_scripts, v_scripts) = (parse_scripts(&k_text), parse_scripts(&v_text));
        assert_eq!(
            k_scripts.keys().collect::<Vec<_>>(),
            v_scripts.keys().collect::<Vec<_>>(),
            "scripts\n{context}"
        );
        for (name, k_script) in &k_scripts {
            let v_script = &v_scripts[name];
            assert_eq!(k_script.get("Status"), v_script.get("Status"), "{context}");
            // The exporter's VRRPScriptStates; a run may be in progress in either.
            for s in [k_script, v_script] {
                let state = s.get("State").map(String::as_str);
                assert!(
                    matches!(state, Some("idle" | "running")),
                    "{name}: {state:?}\n{context}"
                );
            }
        }

        // `.stats`: the same counters under the same sections.
        let k_stats = parse_stats(&keepalived_dump(k, &dumps[i].stats(), libc::SIGUSR2));
        let v_stats = parse_stats(&v.dump(libc::SIGUSR2, "keepalived.stats"));
        assert_eq!(
            k_stats[VI].keys().collect::<Vec<_>>(),
            v_stats[VI].keys().collect::<Vec<_>>(),
            "{k_stats:?}\n{v_stats:?}"
        );
        for key in ["Became master", "Released master"] {
            assert_eq!(k_stats[VI][key], v_stats[VI][key], "{key}");
        }
    }
}

/// The `.data` lines of VIPs whose lines carry options (keepalived's format_ipaddress: `brd`
/// worked out, scope by name, label, peer, the flags, no_track) read the same from vrrpd as from
/// keepalived 2.2.7, each master alone on a lab of its own with the same addresses.
#[test]
fn vip_lines_of_the_dump_read_like_keepalived() {
    let subnet = 165;
    let dumps = InstanceDumps::new("kv");
    let config = dumps.configure(&format!(
        "vrrp_instance {VI} {{
    interface eth0
    virtual_router_id {VRID}
    priority 100
    advert_int 1
    virtual_ipaddress {{
        10.{subnet}.0.200
        10.{subnet}.0.201/24 brd + label eth0:d1
        10.{subnet}.0.202 peer 10.{subnet}.0.97 no_track
        10.{subnet}.0.203/24 brd - noprefixroute -nodad
        10.{subnet}.0.204 scope 253
    }}
}}
"
    ));
    let k_lab = vrrp_lab("vipdk", 1, subnet);
    let v_lab = vrrp_lab("vipdv", 1, subnet);
    let t0 = Instant::now();
    let k = Router::start(Impl::Keepalived, k_lab.router(0), &config);
    let v = Daemon::start(&v_lab, 0, &config);
    k.wait_state(VI, State::Master, t0);
    v.router.wait_state(VI, State::Master, t0);
    let k_text = keepalived_dump(&k, &dumps.data(), libc::SIGUSR1);
    let v_text = v.dump(libc::SIGUSR1, "keepalived.data");
    let context = format!("=== keepalived ===\n{k_text}\n=== vrrpd ===\n{v_text}");
    let (k_vips, v_vips) = (&parse_data(&k_text)[VI].1, &parse_data(&v_text)[VI].1);
    assert_eq!(v_vips, k_vips, "VIP lines\n{context}");
    assert_eq!(k_vips.len(), 5, "{context}");
    assert!(
        v_vips[2].contains(&format!("peer 10.{subnet}.0.97/32"))
            && v_vips[4].contains("scope link"),
        "{context}"
    );
}

/// Malformed and mismatched adverts, sent from outside to a master alone on its lab, are dropped
/// and counted under the same `.stats` names by vrrpd as by keepalived 2.2.7, which run the same
/// configuration on labs of their own with the same addresses; neither changes state. One
/// deliberate difference: keepalived never increments `advert_interval_err` (it logs a v2
/// interval mismatch and drops the advert, in 2.2.7 and since), vrrpd counts it there
/// ([`INTERVAL_ERRORS`]).
#[test]
fn malformed_adverts_are_counted_like_keepalived() {
    let _stats_file = stats_file_lock();
    let subnet = 167;
    let vip = Ipv4Addr::new(10, subnet, 0, 200);
    let config = format!(
        "vrrp_instance {VI} {{
    interface eth0
    virtual_router_id {VRID}
    priority 100
    advert_int 1
    authentication {{
        auth_type PASS
        auth_pass secret1
    }}
    virtual_ipaddress {{
        {vip}
    }}
}}
"
    );
    let dumps = InstanceDumps::new("ke");
    let k_lab = vrrp_lab("errk", 1, subnet);
    let v_lab = vrrp_lab("errv", 1, subnet);
    let t0 = Instant::now();
    let k = Router::start(Impl::Keepalived, k_lab.router(0), &dumps.configure(&config));
    let v = Daemon::start(&v_lab, 0, &config);
    k.wait_state(VI, State::Master, t0);
    v.router.wait_state(VI, State::Master, t0);
    let sent_at = Instant::now();

    let vrid: u8 = VRID.parse().unwrap();
    let pass = Some(&b"secret1"[..]);
    let good = || wire::vrrp_v2(vrid, 50, 1, &[vip], pass);
    let edited = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut p = good();
        edit(&mut p);
        wire::vrrp_checksum(&mut p);
        p
    };
    // (what, TTL, VRRP bytes)
    let cases: Vec<(&str, u8, Vec<u8>)> = vec![
        ("lower priority, valid", 255, good()),
        ("TTL 64", 64, good()),
        ("type 2", 255, edited(&|p| p[0] = 0x22)),
        ("version 1", 255, edited(&|p| p[0] = 0x11)),
        ("advert interval 2", 255, edited(&|p| p[5] = 2)),
        (
            "other VIP",
            255,
            edited(&|p| p[8..12].copy_from_slice(&[10, subnet, 0, 201])),
        ),
        ("no authentication", 255, edited(&|p| p[4] = 0)),
        ("authentication type 3", 255, edited(&|p| p[4] = 3)),
        ("wrong password", 255, edited(&|p| p[12] = b'S')),
        ("count_ip 2, one address", 255, edited(&|p| p[3] = 2)),
        ("truncated", 255, good()[..6].to_vec()),
        ("bad checksum", 255, {
            let mut p = good();
            p[7] ^= 0xff;
            p
        }),
        ("priority 0", 255, edited(&|p| p[2] = 0)),
    ];
    let outsider = Ipv4Addr::new(10, subnet, 0, 50);
    for lab in [&k_lab, &v_lab] {
        let client = lab.client();
        let capture = Capture::start(&client.ns, &client.iface);
        let mac = observe::mac(client);
        for (_, ttl, vrrp) in &cases {
            for _ in 0..3 {
                capture.send(&wire::vrrp_frame(mac, outsider, *ttl, vrrp));
                thread::sleep(Duration::from_millis(20));
            }
        }
    }
    thread::sleep(Duration::from_millis(500));
    let k_stats = parse_stats(&keepalived_dump(&k, &dumps.stats(), libc::SIGUSR2));
    let v_stats = parse_stats(&v.dump(libc::SIGUSR2, "keepalived.stats"));
    let what: Vec<&str> = cases.iter().map(|c| c.0).collect();
    assert_eq!(
        (k_stats[VI][INTERVAL_ERRORS], v_stats[VI][INTERVAL_ERRORS]),
        (0, 3),
        "the one difference"
    );
    let counted = |stats: &BTreeMap<String, BTreeMap<String, u64>>| -> BTreeMap<String, u64> {
        stats[VI]
            .iter()
            .filter(|(k, _)| *k != INTERVAL_ERRORS)
            .filter(|(k, _)| {
                k.starts_with("Packet Errors/")
                    || k.starts_with("Authentication Errors/")
                    || *k == "Advertisements/Received"
                    || *k == "Priority Zero/Received"
            })
            .map(|(k, n)| (k.clone(), *n))
            .collect()
    };
    assert_eq!(
        counted(&v_stats),
        counted(&k_stats),
        "vrrpd (left) and keepalived (right) count {what:?}, 3 of each\n{}",
        v.router.transcript()
    );
    for r in [&k, &v.router] {
        assert_eq!(r.transitions_since(sent_at), [], "{}", r.transcript());
    }
}

/// A second `vrrpd run` beside a running one stops at once with a clear message and a non-zero
/// status, before it touches the interface: with the same pid file (the first holds its lock),
/// and with its own pid file but the first one's status socket. The first daemon keeps running
/// with its pid file and socket.
#[test]
fn a_second_daemon_refuses_to_start_beside_a_running_one() {
    let subnet = 44;
    let lab = vrrp_lab("ops-twice", 1, subnet);
    let check = CheckScript::new();
    let conf = Seed::MasterBackupMaster.adapted(subnet, check.path());
    let t0 = Instant::now();
    let mut first = Daemon::start(&lab, 0, &conf);
    first.router.wait_state(VI, State::Master, t0);
    let pid_file = first.path("vrrpd.pid");
    let socket = first.path("vrrpd.sock");
    let first_pid = first.router.vrrp_pid().unwrap().to_string();
    let read_pid = || std::fs::read_to_string(&pid_file).expect("the first daemon's pid file");
    assert_eq!(read_pid().trim(), first_pid);

    let own = TempDir::new("ops-twice");
    let p = |name: &str| own.path().join(name).to_string_lossy().into_owned();
    let attempts = [
        (
            [
                "--pid",
                &pid_file.to_string_lossy(),
                "--status-socket",
                &p("vrrpd.sock"),
            ],
            format!(
                "another vrrpd (pid {first_pid}) holds the pid file {}",
                pid_file.display()
            ),
        ),
        (
            [
                "--pid",
                &p("vrrpd.pid"),
                "--status-socket",
                &socket.to_string_lossy(),
            ],
            format!(
                "status socket {} is in use by a running vrrpd",
                socket.display()
            ),
        ),
    ];
    for (args, message) in &attempts {
        let mut second = Router::start_vrrpd_args(lab.router(0), &conf, args);
        let status = second
            .wait_exit(WAIT)
            .unwrap_or_else(|| panic!("the second vrrpd kept running\n{}", second.transcript()));
        let transcript = second.transcript();
        assert!(!status.success(), "{status:?}\n{transcript}");
        assert!(
            transcript.contains(message.as_str()),
            "{message:?} in\n{transcript}"
        );
        assert!(!transcript.contains("XDP attached"), "{transcript}");
        // The first daemon is untouched: running, its pid file and socket in place and answering.
        assert_eq!(
            first.router.try_wait(),
            None,
            "{}",
            first.router.transcript()
        );
        assert_eq!(read_pid().trim(), first_pid);
        assert_eq!(first.instance()["state"], "MASTER");
    }
    // The refused daemon that got as far as its own pid file removed it again.
    assert!(!own.path().join("vrrpd.pid").exists());
    assert!(!own.path().join("vrrpd.sock").exists());
    // The first daemon never left MASTER.
    assert!(
        !first.router.entered_since(VI, State::Backup, t0),
        "{}",
        first.router.transcript()
    );
}
