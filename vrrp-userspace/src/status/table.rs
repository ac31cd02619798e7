//! The human form of a [`Status`] (`vrrpd status` without `--json`): one row per instance, the
//! trackers that moved a priority and non-zero error counters under it, then one row per
//! interface with its XDP counters.

use std::fmt::Write as _;

use super::metrics::receive_errors;
use super::snapshot::{InstanceView, Status};

pub fn render(status: &Status) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "vrrpd {} (pid {}), status schema {}",
        status.vrrpd_version, status.pid, status.schema
    );
    let header = [
        "INSTANCE", "IFACE", "VRID", "FAMILY", "STATE", "SINCE", "PRIO", "MASTER", "ADVERT",
        "LAST RX", "TRANS", "GATE", "VIPS",
    ];
    let rows: Vec<[String; 13]> = status
        .instances
        .iter()
        .map(|i| row(i, status.taken.unix_ms))
        .collect();
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    line(&mut out, &header.map(String::from), &widths);
    for (r, i) in rows.iter().zip(&status.instances) {
        line(&mut out, r, &widths);
        details(&mut out, i);
    }
    if !status.interfaces.is_empty() {
        out.push('\n');
        for x in &status.interfaces {
            let _ = write!(
                out,
                "{} (ifindex {}, XDP {})",
                x.name, x.ifindex, x.xdp_mode
            );
            match &x.counters_error {
                Some(e) => {
                    let _ = writeln!(out, ": counters unavailable: {e}");
                }
                None => {
                    out.push(':');
                    for (k, v) in &x.counters {
                        let _ = write!(out, " {k}={v}");
                    }
                    out.push('\n');
                }
            }
        }
    }
    out
}

fn row(i: &InstanceView, now_ms: u64) -> [String; 13] {
    let prio = if i.base_priority == i.effective_priority {
        i.base_priority.to_string()
    } else {
        format!("{}→{}", i.base_priority, i.effective_priority)
    };
    let master = match &i.master {
        Some(m) if m.is_self => format!("{} (self)", m.address),
        Some(m) => format!("{} ({})", m.address, m.priority),
        None => "-".to_string(),
    };
    let state = match &i.fault {
        Some(why) => format!("{} ({why})", i.state),
        None => i.state.clone(),
    };
    [
        i.name.clone(),
        i.interface.clone(),
        i.vrid.to_string(),
        format!("{} v{}", i.family, i.version),
        state,
        age(now_ms.saturating_sub(i.since.unix_ms)),
        prio,
        master,
        seconds(i.master_adver_int_ms),
        i.last_advert_age_ms.map_or("-".into(), seconds),
        i.transitions.to_string(),
        if i.gate_open { "open" } else { "closed" }.to_string(),
        i.vips
            .iter()
            .map(|v| format!("{}/{}", v.address, v.prefix_len))
            .collect::<Vec<_>>()
            .join(","),
    ]
}

fn details(out: &mut String, i: &InstanceView) {
    for t in &i.trackers {
        if t.fault || t.adjustment != 0 {
            let effect = if t.fault {
                "FAULT".to_string()
            } else {
                format!("{:+}", t.adjustment)
            };
            let _ = writeln!(
                out,
                "    {} {} is {}: {effect}",
                t.kind,
                t.name,
                t.state.as_deref().unwrap_or("unknown")
            );
        }
    }
    let s = &i.stats;
    let _ = write!(
        out,
        "    adverts sent {} received {}, priority 0 sent {} received {}",
        s.advert_sent, s.advert_rcvd, s.pri_zero_sent, s.pri_zero_rcvd
    );
    for (name, v) in receive_errors(s) {
        if v != 0 {
            let _ = write!(out, ", {name} {v}");
        }
    }
    out.push('\n');
}

fn line(out: &mut String, cells: &[String; 13], widths: &[usize; 13]) {
    let mut text = String::new();
    for (cell, w) in cells.iter().zip(widths) {
        let pad = w.saturating_sub(cell.chars().count());
        text.push_str(cell);
        text.extend(std::iter::repeat_n(' ', pad + 2));
    }
    out.push_str(text.trim_end());
    out.push('\n');
}

fn seconds(ms: u64) -> String {
    format!("{}.{:03}s", ms / 1000, ms % 1000)
}

fn age(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(seconds(1000), "1.000s");
        assert_eq!(seconds(370), "0.370s");
        assert_eq!(age(59_999), "59s");
        assert_eq!(age(62_000), "1m02s");
        assert_eq!(age(7_260_000), "2h01m");
    }
}
