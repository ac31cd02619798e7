//! Which CPU a lab "host" runs on. Every namespace shares one kernel and its CPUs, so a flood aimed
//! at one host runs its receive softirqs on whichever CPU sent it, and there no process priority
//! preempts them: left to the scheduler, a flood at the backup stalls the master's sends for
//! milliseconds, which separate hosts never do. A benchmark that models two hosts gives each its
//! own CPU by pinning the thread that starts a host's processes (children inherit the mask) and
//! the flood sender (its softirqs then run on its CPU too), and by giving every link a transmit
//! queue per CPU.

use std::io;
use std::mem;

use anyhow::bail;
use vrrpd_tests::{Lab, Netns};

/// CPUs this process may run on.
pub fn available() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The CPU of the lab's host `i` (0 = the master's, 1 = the backup's; all share one CPU on a
/// one-CPU machine).
pub fn host(i: usize) -> usize {
    i.min(available() - 1)
}

/// Runs `start` (which starts host `i`'s processes) pinned to host `i`'s CPU, so that everything
/// it starts inherits that CPU.
pub fn on_host<T>(i: usize, start: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    let cpu = host(i);
    let _pinned = pin(cpu).map_err(|e| anyhow::anyhow!("pinning host {i} to CPU {cpu}: {e}"))?;
    start()
}

/// The calling thread pinned to one CPU; the previous mask comes back on drop.
pub struct Pinned {
    previous: libc::cpu_set_t,
}

/// Pins the calling thread to `cpu` until the guard drops.
pub fn pin(cpu: usize) -> io::Result<Pinned> {
    let previous = current()?;
    set(&only(cpu))?;
    Ok(Pinned { previous })
}

/// Pins the calling thread to `cpu` for good (a thread that does nothing else).
pub fn pin_for_good(cpu: usize) -> io::Result<()> {
    set(&only(cpu))
}

impl Drop for Pinned {
    fn drop(&mut self) {
        // Nothing to do about a failure here: the thread keeps the narrower mask.
        let _ = set(&self.previous);
    }
}

fn only(cpu: usize) -> libc::cpu_set_t {
    // SAFETY: cpu_set_t is a plain bit set; zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { mem::zeroed() };
    // SAFETY: CPU_SET writes one bit of the set it is given (it ignores CPUs beyond its size).
    unsafe { libc::CPU_SET(cpu, &mut set) };
    set
}

fn current() -> io::Result<libc::cpu_set_t> {
    // SAFETY: as above.
    let mut set: libc::cpu_set_t = unsafe { mem::zeroed() };
    // SAFETY: the kernel writes at most size_of::<cpu_set_t>() bytes into `set`.
    let rc = unsafe { libc::sched_getaffinity(0, mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(set)
}

fn set(mask: &libc::cpu_set_t) -> io::Result<()> {
    // SAFETY: the kernel reads size_of::<cpu_set_t>() bytes from `mask`.
    let rc = unsafe { libc::sched_setaffinity(0, mem::size_of::<libc::cpu_set_t>(), mask) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Makes `port` (a veth end) transmit on queue N what CPU N sends, so that the peer receives it
/// on its queue N and that queue's NAPI runs on CPU N. A veth's NAPI runs on whichever CPU first
/// scheduled it and stays there while frames keep coming; with one queue, an advert the master's
/// CPU forwards while the flooded host's NAPI is idle moves the whole flood onto the master's CPU
/// (as if a NIC's interrupts had moved to another host). Per-CPU queues keep each host's
/// receive work on its own CPU, as separate hosts' NICs do.
pub fn queue_per_cpu(ns: &Netns, port: &str) -> anyhow::Result<()> {
    let queues = ns.exec(&["ls", &format!("/sys/class/net/{port}/queues")]);
    let tx: Vec<usize> = queues
        .split_whitespace()
        .filter_map(|q| q.strip_prefix("tx-")?.parse().ok())
        .collect();
    if tx.len() < available() {
        bail!(
            "{port} in {} has {} transmit queues, fewer than the {} CPUs",
            ns.name(),
            tx.len(),
            available()
        );
    }
    for q in tx {
        let mask = if q < available() { 1u64 << q } else { 0 };
        let file = format!("/sys/class/net/{port}/queues/tx-{q}/xps_cpus");
        let out = ns.output(&["sh", "-c", &format!("echo {mask:x} > {file}")]);
        if !out.status.success() {
            bail!("{file}: {}", String::from_utf8_lossy(&out.stderr).trim());
        }
    }
    Ok(())
}

/// [`queue_per_cpu`] on both ends of every node's link: whatever a CPU sends, in any namespace
/// and in either direction, stays on that CPU's queues and NAPI instances. (A neighbour probe
/// the client's kernel sends from the master's CPU would otherwise move the client port's NAPI,
/// and with it the flood's forwarding, onto that CPU.)
pub fn queues_per_cpu(lab: &Lab) -> anyhow::Result<()> {
    for node in lab.routers.iter().chain([lab.client()]) {
        queue_per_cpu(&node.ns, &node.iface)?;
        queue_per_cpu(lab.switch.ns(), &node.port)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_holds_until_dropped() {
        let before = current().unwrap();
        {
            let _pinned = pin(0).unwrap();
            let now = current().unwrap();
            // SAFETY: CPU_COUNT / CPU_ISSET only read the set.
            assert_eq!(unsafe { libc::CPU_COUNT(&now) }, 1);
            assert!(unsafe { libc::CPU_ISSET(0, &now) });
        }
        let after = current().unwrap();
        // SAFETY: as above.
        assert_eq!(unsafe { libc::CPU_COUNT(&after) }, unsafe {
            libc::CPU_COUNT(&before)
        });
    }

    #[test]
    fn each_cpu_transmits_on_its_own_queue() {
        let ns = Netns::new("xps");
        let n = available().to_string();
        let q = ["numtxqueues", n.as_str(), "numrxqueues", n.as_str()];
        let mut cmd = vec!["ip", "link", "add", "xa"];
        cmd.extend(q);
        cmd.extend(["type", "veth", "peer", "name", "xb"]);
        cmd.extend(q);
        ns.exec(&cmd);
        queue_per_cpu(&ns, "xa").unwrap();
        for cpu in 0..available() {
            let file = format!("/sys/class/net/xa/queues/tx-{cpu}/xps_cpus");
            let mask = u64::from_str_radix(
                ns.exec(&["cat", &file]).trim().replace(',', "").as_str(),
                16,
            );
            assert_eq!(mask, Ok(1 << cpu), "{file}");
        }
        if available() > 1 {
            // One transmit queue cannot give each CPU its own.
            let one = ["numtxqueues", "1", "numrxqueues", "1"];
            let mut cmd = vec!["ip", "link", "add", "ya"];
            cmd.extend(one);
            cmd.extend(["type", "veth", "peer", "name", "yb"]);
            cmd.extend(one);
            ns.exec(&cmd);
            let err = queue_per_cpu(&ns, "ya").unwrap_err().to_string();
            assert!(err.contains("fewer than"), "{err}");
        }
    }
}
