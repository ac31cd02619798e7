//! Per-packet cost of `vrrp_xdp` against the empty `xdp_pass` under `BPF_PROG_TEST_RUN`, for
//! traffic the program must pass cheaply (IPv4 TCP, IPv6 UDP, ARP for another address) and for a
//! VRRP advert (parsed and copied into the ring buffer). Root only.
//!
//! `cargo bench -p vrrp-userspace --bench xdp`; the table also goes to `target/bench/xdp.md`.
//!
//! Both programs are attached (native mode) to a veth pair in a private network namespace for
//! the whole run: a program already in the kernel's XDP dispatcher is called directly, as in
//! production, and a test run does not have to add it to the dispatcher and remove it again,
//! which costs an RCU grace period (tens of milliseconds) per call.
#[path = "../tests/support/xdp_frames.rs"]
mod xdp_frames;

use std::fmt::Write as _;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, bail};
use aya::programs::XdpMode;
use vrrp_common::{Counter, RING_WAKE_BYTES, ShortAdvertRecord, XdpConfig};
use vrrpd::dataplane::{EventRing, XdpObject, XdpProgram};
use xdp_frames::{Advert, OUR_MAC, arp_request, tcp_v4_frame, udp_v6_frame, v4};

/// Packets per measurement.
const PACKETS: u32 = 1_000_000;
/// Interleaved rounds; the table shows the median.
const ROUNDS: usize = 11;
/// Adverts per test-run call: as many as the ring holds below `RING_WAKE_BYTES` (the bench's
/// advert takes a short record, plus the ring's 8-byte header), so that no reserve fails and
/// every repeat takes the path a steady master's adverts take at a backup: queued without a
/// wake-up. An advert that wakes the reader also pays an irq_work (a self-IPI, microseconds in
/// a VM); here only the first one does, in production one per Master_Down_Interval.
const ADVERT_CHUNK: u32 = (RING_WAKE_BYTES / (size_of::<ShortAdvertRecord>() as u64 + 8)) as u32;

struct Case {
    name: &'static str,
    frame: Vec<u8>,
    /// Ratio to the empty program we aim for.
    target: f64,
    advert: bool,
}

fn main() -> anyhow::Result<()> {
    // Failing, not skipping: `cargo xtask bench xdp` reports this exit status, and a success
    // without a measurement reads as numbers that were never taken.
    if !nix::unistd::geteuid().is_root() {
        bail!("xdp bench: not run, loading and test-running BPF programs needs root");
    }
    // A namespace of our own, gone when the process exits: nothing to clean up.
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).context("unshare(CLONE_NEWNET)")?;
    run(&[
        "ip", "link", "add", "xb0", "type", "veth", "peer", "name", "xb1",
    ])?;
    let mut object = XdpObject::load(XdpConfig {
        flags: 0,
        mac: OUR_MAC,
        _pad: [0; 2],
    })?;
    let mut events = object.take_events()?;
    for (iface, program) in [("xb0", XdpProgram::Vrrp), ("xb1", XdpProgram::Pass)] {
        let ifindex = nix::net::if_::if_nametoindex(iface)?;
        object
            .program_mut(program)?
            .attach_to_if_index(ifindex, XdpMode::Driver)
            .with_context(|| format!("attach {} to {iface}", program.name()))?;
    }
    object.set_vrid(51, true, false)?;
    // A VIP in the gate, so that the ARP case does a real (missing) lookup.
    object.set_gate("10.0.0.100".parse()?, true)?;

    let cases = [
        Case {
            name: "IPv4 TCP",
            frame: tcp_v4_frame(),
            target: 1.1,
            advert: false,
        },
        Case {
            name: "IPv6 UDP",
            frame: udp_v6_frame(),
            target: 1.1,
            advert: false,
        },
        Case {
            name: "ARP (not a VIP)",
            frame: arp_request(v4(10, 0, 0, 1), v4(10, 0, 0, 2)),
            target: 1.1,
            advert: false,
        },
        Case {
            name: "VRRP advert (v3, IPv4)",
            frame: Advert::v3_v4(51, 100, vec![v4(10, 0, 0, 100)], 100).frame(None),
            target: 3.0,
            advert: true,
        },
    ];

    let before = object.counters()?;
    // samples[case][0 = ours, 1 = empty]
    let mut samples = vec![[Vec::new(), Vec::new()]; cases.len()];
    let mut adverts_sent = 0u64;
    for round in 0..ROUNDS {
        for (i, case) in cases.iter().enumerate() {
            // Alternate which program goes first, so neither always runs on a warmer cache.
            let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            for which in order {
                let program = if which == 0 {
                    XdpProgram::Vrrp
                } else {
                    XdpProgram::Pass
                };
                let ns = if case.advert && which == 0 {
                    adverts_sent += u64::from(PACKETS.div_ceil(ADVERT_CHUNK) * ADVERT_CHUNK);
                    measure_chunked(&object, &mut events, &case.frame)?
                } else {
                    measure(&object, program, &case.frame)?
                };
                samples[i][which].push(ns);
            }
        }
    }
    let counted = object.counters()?.since(&before);

    let mut table = String::new();
    writeln!(
        table,
        "| case | vrrp_xdp ns/packet | xdp_pass ns/packet | ratio | target |"
    )?;
    writeln!(table, "|---|---:|---:|---:|---|")?;
    for (case, [ours, empty]) in cases.iter().zip(&mut samples) {
        let (ours, empty) = (median(ours), median(empty));
        let ratio = ours / empty;
        let verdict = if ratio <= case.target {
            "met"
        } else {
            "MISSED"
        };
        writeln!(
            table,
            "| {} | {ours:.2} | {empty:.2} | {ratio:.2}× | ≤ {:.1}× {verdict} |",
            case.name, case.target
        )?;
    }
    writeln!(
        table,
        "\nMedian of {ROUNDS} interleaved rounds of {PACKETS} packets per program and case; \
         time per packet as BPF_PROG_TEST_RUN measures it (whole ns, rescheduling excluded), \
         one call with repeat={PACKETS}, except vrrp_xdp on the advert: calls of \
         repeat={ADVERT_CHUNK} (what the ring holds below its wake-up threshold), the ring drained between calls. \
         Adverts pushed: {} of {adverts_sent}; ring_full: {}.",
        counted[Counter::Adverts],
        counted[Counter::RingFull],
    )?;
    print!("{table}");

    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").into())
        .join("bench");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(
        dir.join("xdp.md"),
        format!("# XDP per-packet cost\n\n{table}"),
    )?;
    println!("written to {}", dir.join("xdp.md").display());
    if counted[Counter::RingFull] != 0 {
        bail!("the ring buffer filled up: the advert numbers measure the drop path");
    }
    Ok(())
}

/// ns per packet of one call with `PACKETS` repetitions, as the kernel measured it: its timer
/// stops while the test run is rescheduled, so other work on a shared machine does not count
/// (a wall clock here swings by tens of ns per packet under load). The kernel reports whole ns.
fn measure(object: &XdpObject, program: XdpProgram, frame: &[u8]) -> anyhow::Result<f64> {
    let out = object.test_run(program, frame, PACKETS)?;
    if out.action != 2 {
        bail!(
            "{} returned {} instead of XDP_PASS",
            program.name(),
            out.action
        );
    }
    Ok(out.duration.as_secs_f64() * 1e9)
}

/// ns per advert for `vrrp_xdp`, in ring-sized calls, draining between them (kernel-measured,
/// as [`measure`]).
fn measure_chunked(
    object: &XdpObject,
    events: &mut EventRing,
    frame: &[u8],
) -> anyhow::Result<f64> {
    let mut spent = Duration::ZERO;
    let mut sent = 0u32;
    let mut drained = Vec::with_capacity(ADVERT_CHUNK as usize);
    while sent < PACKETS {
        let out = object.test_run(XdpProgram::Vrrp, frame, ADVERT_CHUNK)?;
        spent += out.duration * ADVERT_CHUNK;
        sent += ADVERT_CHUNK;
        drained.clear();
        let n = events.drain(&mut drained);
        if n != ADVERT_CHUNK as usize {
            bail!("drained {n} adverts after a call of {ADVERT_CHUNK}");
        }
    }
    Ok(spent.as_secs_f64() * 1e9 / f64::from(sent))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn run(argv: &[&str]) -> anyhow::Result<()> {
    let status = Command::new(argv[0]).args(&argv[1..]).status()?;
    if !status.success() {
        bail!("{}: {status}", argv.join(" "));
    }
    Ok(())
}
