//! Tests of the test kit itself: namespaces come and go (also on panic), a name clash is refused,
//! namespaces on the bridge reach each other, processes are captured and killed.

use std::net::IpAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::time::Duration;

use vrrpd_tests::{Lab, Netns, NetnsError, Stream, Switch};

/// Whether `pid` is a live process. A zombie counts as dead: it was killed, and whether its parent
/// (init, for a reparented process) has reaped it yet is not the kit's business.
fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name: `pid (comm) S ...`.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

#[test]
fn namespace_is_created_and_removed_on_drop() {
    let ns = Netns::new("kit-life");
    let name = ns.name().to_string();
    assert!(name.starts_with("vt-kit-life-"), "{name}");
    assert!(name.contains(&std::process::id().to_string()), "{name}");
    assert!(Netns::exists(&name));
    let list = String::from_utf8_lossy(
        &std::process::Command::new("ip")
            .args(["netns", "list"])
            .output()
            .expect("ip netns list")
            .stdout,
    )
    .into_owned();
    assert!(list.contains(&name), "{name} not in:\n{list}");
    // `lo` is up, so the namespace is usable at once.
    assert!(ns.ping("127.0.0.1".parse().unwrap()));
    drop(ns);
    assert!(!Netns::exists(&name), "{name} left behind");
}

#[test]
fn namespace_and_processes_are_removed_after_a_panic() {
    let seen: Mutex<Option<(String, u32, u32)>> = Mutex::new(None);
    let result = catch_unwind(AssertUnwindSafe(|| {
        let ns = Netns::new("kit-panic");
        let guarded = ns.spawn(&["sleep", "1000"]);
        // A process with no guard of its own: only the namespace's Drop can kill it.
        let unguarded: u32 = ns
            .exec(&["sh", "-c", "sleep 1000 >/dev/null 2>&1 & echo $!"])
            .trim()
            .parse()
            .expect("pid of the background sleep");
        assert!(process_alive(guarded.pid()) && process_alive(unguarded));
        *seen.lock().unwrap() = Some((ns.name().to_string(), guarded.pid(), unguarded));
        panic!("deliberate panic inside the test body");
    }));
    assert!(result.is_err(), "the closure must have panicked");
    let (name, guarded, unguarded) = seen.lock().unwrap().take().expect("closure ran");
    assert!(!Netns::exists(&name), "{name} left behind after a panic");
    assert!(
        !process_alive(guarded),
        "guarded process {guarded} survived"
    );
    assert!(
        !process_alive(unguarded),
        "process {unguarded} in the namespace survived"
    );
}

#[test]
fn existing_name_is_refused_and_left_alone() {
    let ns = Netns::new("kit-clash");
    let clash = Netns::with_name(ns.name());
    assert_eq!(clash.err(), Some(NetnsError::Exists(ns.name().to_string())));
    // The refused attempt must not have deleted the namespace it did not own.
    assert!(Netns::exists(ns.name()));
    ns.exec(&["ip", "link", "show", "lo"]);
}

#[test]
fn two_namespaces_on_the_bridge_ping_each_other() {
    let switch = Switch::new("kit-br");
    let a = Netns::new("kit-a");
    let b = Netns::new("kit-b");
    for (ns, addr) in [(&a, "10.9.0.1/24"), (&b, "10.9.0.2/24")] {
        switch.connect(ns, "veth0");
        ns.add_addr("veth0", addr);
        ns.link_up("veth0");
    }
    assert!(a.ping("10.9.0.2".parse().unwrap()), "a cannot reach b");
    assert!(b.ping("10.9.0.1".parse().unwrap()), "b cannot reach a");
    // Nothing is routed beyond the bridge.
    assert!(!a.ping("10.9.0.3".parse().unwrap()));
}

#[test]
fn lab_nodes_reach_each_other_over_ipv4_and_ipv6() {
    let lab = Lab::builder("kit-lab").routers(2).subnet(7).build();
    assert_eq!(lab.router(0).ipv4, "10.7.0.1".parse::<IpAddr>().unwrap());
    assert_eq!(lab.router(1).ipv6, "fd00:7::2".parse::<IpAddr>().unwrap());
    assert_eq!(lab.client().ipv4, lab.ipv4(100));
    let addrs = lab
        .client()
        .ns
        .exec(&["ip", "-o", "addr", "show", "dev", "eth0"]);
    assert!(
        addrs.contains("10.7.0.100/24") && addrs.contains("fd00:7::100/64"),
        "{addrs}"
    );
    for router in &lab.routers {
        assert!(
            lab.client().ns.ping(router.ipv4.into()),
            "{router:?} (IPv4)"
        );
        assert!(
            lab.client().ns.ping(router.ipv6.into()),
            "{router:?} (IPv6)"
        );
    }
    assert!(lab.router(0).ns.ping(lab.router(1).ipv4.into()));
}

#[test]
fn child_output_is_captured_and_child_is_killed_on_drop() {
    let ns = Netns::new("kit-proc");
    let child = ns.spawn(&["sh", "-c", "echo ready; echo oops >&2; sleep 1000"]);
    let ready = child.wait_for("`ready`", Duration::from_secs(10), |l| l.text == "ready");
    assert_eq!(ready.stream, Stream::Stdout);
    let oops = child.wait_for("`oops`", Duration::from_secs(10), |l| l.text == "oops");
    assert_eq!(oops.stream, Stream::Stderr);
    assert!(child.transcript().contains("err| oops"));
    // Nothing else is printed: waiting for more times out instead of matching.
    assert!(
        child
            .try_wait_for(Duration::from_millis(200), |l| l.text == "never")
            .is_none()
    );
    let pid = child.pid();
    assert!(process_alive(pid));
    drop(child);
    assert!(!process_alive(pid), "child {pid} survived its guard");
}

#[test]
fn waiting_ends_early_when_the_process_exits() {
    let ns = Netns::new("kit-exit");
    let mut child = ns.spawn(&["sh", "-c", "echo bye; exit 3"]);
    let started = std::time::Instant::now();
    assert!(
        child
            .try_wait_for(Duration::from_secs(30), |l| l.text == "never")
            .is_none()
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "waited for a closed stream"
    );
    let status = child.wait_exit(Duration::from_secs(10)).expect("exited");
    assert_eq!(status.code(), Some(3));
    assert_eq!(child.stream_lines(Stream::Stdout), vec!["bye".to_string()]);
}
