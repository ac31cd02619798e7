//! Per-packet cost of `vrrp_xdp` against the empty `xdp_pass` under `BPF_PROG_TEST_RUN`, for
//! traffic the program must pass cheaply (IPv4 TCP, IPv6 UDP, ARP for another address) and for a
//! VRRP advert: a repeat of the last one of its VRID (every advert a steady backup receives:
//! parsed, timestamped and counted in `RX_LAST`), and one that is queued (new, or for an eager
//! VRID: copied into the ring buffer). Also `xdp_ktime`, one `bpf_ktime_get_ns()` and nothing
//! else: the floor under any path that timestamps. Root only.
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
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use aya::programs::XdpMode;
use vrrp_common::{AF_INET, Counter, RING_BUF_BYTES, ShortAdvertRecord, XdpConfig};
use vrrpd::dataplane::{EventRing, XdpObject, XdpProgram};
use xdp_frames::{Advert, OUR_MAC, arp_request, tcp_v4_frame, udp_v6_frame, v4};

/// Packets per measurement.
const PACKETS: u32 = 1_000_000;
/// Interleaved rounds; the table shows the median.
const ROUNDS: usize = 11;
/// Queued adverts per test-run call: half of what the ring holds (a short record plus the ring's
/// 8-byte header each), so that no reserve fails. Only the first of a call wakes the reader (the
/// ring wakes a reader that has caught up); in production every queued advert may, and a wake-up
/// costs an irq_work besides (a self-IPI, microseconds in a VM), not measured here.
const ADVERT_CHUNK: u32 = RING_BUF_BYTES / 2 / (size_of::<ShortAdvertRecord>() as u32 + 8);

/// VRIDs of the two advert cases: one left lazy (repeats counted), one marked eager (queued).
const LAZY_VRID: u8 = 51;
const EAGER_VRID: u8 = 52;

struct Case {
    name: &'static str,
    frame: Vec<u8>,
    /// Ratio to the empty program we aim for, if any.
    target: Option<f64>,
    how: How,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum How {
    /// One call of `PACKETS` repetitions.
    Plain,
    /// As `Plain`, of an advert: counted as a repeat after the first.
    Repeat,
    /// Calls of `ADVERT_CHUNK`, the ring drained between them.
    Queued,
    /// `xdp_ktime` instead of `vrrp_xdp`.
    Ktime,
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
    run(&[
        "ip", "link", "add", "xb2", "type", "veth", "peer", "name", "xb3",
    ])?;
    let mut object = XdpObject::load(XdpConfig {
        flags: 0,
        mac: OUR_MAC,
        _pad: [0; 2],
    })?;
    let mut events = object.take_events()?;
    for (iface, program) in [
        ("xb0", XdpProgram::Vrrp),
        ("xb1", XdpProgram::Pass),
        ("xb2", XdpProgram::Ktime),
    ] {
        let ifindex = nix::net::if_::if_nametoindex(iface)?;
        object
            .program_mut(program)?
            .attach_to_if_index(ifindex, XdpMode::Driver)
            .with_context(|| format!("attach {} to {iface}", program.name()))?;
    }
    object.set_vrid(LAZY_VRID, true, false)?;
    object.set_vrid(EAGER_VRID, true, false)?;
    object.set_rx_eager(AF_INET, EAGER_VRID, true)?;
    // A VIP in the gate, so that the ARP case does a real (missing) lookup.
    object.set_gate("10.0.0.100".parse()?, true)?;

    let advert = |vrid| Advert::v3_v4(vrid, 100, vec![v4(10, 0, 0, 100)], 100).frame(None);
    let cases = [
        Case {
            name: "IPv4 TCP",
            frame: tcp_v4_frame(),
            target: Some(1.1),
            how: How::Plain,
        },
        Case {
            name: "IPv6 UDP",
            frame: udp_v6_frame(),
            target: Some(1.1),
            how: How::Plain,
        },
        Case {
            name: "ARP (not a VIP)",
            frame: arp_request(v4(10, 0, 0, 1), v4(10, 0, 0, 2)),
            target: Some(1.1),
            how: How::Plain,
        },
        Case {
            name: "VRRP advert, repeat (v3, IPv4)",
            frame: advert(LAZY_VRID),
            target: Some(3.0),
            how: How::Repeat,
        },
        Case {
            name: "VRRP advert, queued (v3, IPv4)",
            frame: advert(EAGER_VRID),
            target: None,
            how: How::Queued,
        },
        Case {
            name: "xdp_ktime: bpf_ktime_get_ns() alone",
            frame: tcp_v4_frame(),
            target: None,
            how: How::Ktime,
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
                let ns = match (case.how, which) {
                    (How::Queued, 0) => {
                        adverts_sent += u64::from(PACKETS.div_ceil(ADVERT_CHUNK) * ADVERT_CHUNK);
                        measure_chunked(&object, &mut events, &case.frame)?
                    }
                    (How::Repeat, 0) => {
                        adverts_sent += u64::from(PACKETS);
                        measure(&object, program, &case.frame)?
                    }
                    (How::Ktime, 0) => measure(&object, XdpProgram::Ktime, &case.frame)?,
                    _ => measure(&object, program, &case.frame)?,
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
        let target = match case.target {
            Some(t) if ratio <= t => format!("≤ {t:.1}× met"),
            Some(t) => format!("≤ {t:.1}× MISSED"),
            None => "—".to_string(),
        };
        writeln!(
            table,
            "| {} | {ours:.2} | {empty:.2} | {ratio:.2}× | {target} |",
            case.name
        )?;
    }
    writeln!(
        table,
        "\nMedian of {ROUNDS} interleaved rounds of {PACKETS} packets per program and case; \
         wall-clock time of the BPF_PROG_TEST_RUN calls per packet (the kernel's own figure is \
         whole ns, too coarse at these costs), one call with repeat={PACKETS}, except vrrp_xdp \
         on the queued advert: calls of repeat={ADVERT_CHUNK} (half the ring), the ring drained \
         between calls and not timed. The ktime row runs `xdp_ktime` in vrrp_xdp's column. \
         Adverts counted: {} of {adverts_sent}; ring_full: {}.",
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

/// ns per packet of one call with `PACKETS` repetitions, by the wall clock around the call:
/// the kernel reports whole ns per repetition, which at 7–10 ns hides the differences measured
/// here. The call's fixed cost (a few µs) is a few ps per packet; a call the scheduler preempts
/// reads high, which the median over rounds discards.
fn measure(object: &XdpObject, program: XdpProgram, frame: &[u8]) -> anyhow::Result<f64> {
    let start = Instant::now();
    let out = object.test_run(program, frame, PACKETS)?;
    let spent = start.elapsed();
    if out.action != 2 {
        bail!(
            "{} returned {} instead of XDP_PASS",
            program.name(),
            out.action
        );
    }
    Ok(spent.as_secs_f64() * 1e9 / f64::from(PACKETS))
}

/// ns per advert for `vrrp_xdp` on a queued advert, in calls of `ADVERT_CHUNK`, draining
/// (untimed) between them.
fn measure_chunked(
    object: &XdpObject,
    events: &mut EventRing,
    frame: &[u8],
) -> anyhow::Result<f64> {
    let mut spent = Duration::ZERO;
    let mut sent = 0u32;
    let mut drained = Vec::with_capacity(ADVERT_CHUNK as usize);
    // The repeat case's first advert was queued.
    events.drain(&mut drained);
    while sent < PACKETS {
        drained.clear();
        let start = Instant::now();
        object.test_run(XdpProgram::Vrrp, frame, ADVERT_CHUNK)?;
        spent += start.elapsed();
        sent += ADVERT_CHUNK;
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
