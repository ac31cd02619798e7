//! The output of `vrrpd watch`, one line per advert, parsed for assertions:
//! `{t:.6} {iface} {src} vrid={vrid} prio={prio} ver={v} int={int} addrs={a,b,..} gap={gap}`,
//! e.g. `1234.567890 veth0 10.1.0.2 vrid=50 prio=150 ver=2 int=1s addrs=10.1.0.200 gap=1000.123ms`
//! (`gap=-` on the first advert of a VRID). `t` is CLOCK_MONOTONIC seconds.

use std::net::IpAddr;
use std::time::Duration;

/// One advert as `vrrpd watch` prints it. Durations are in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchLine {
    /// Receive time, CLOCK_MONOTONIC seconds.
    pub t: f64,
    pub iface: String,
    pub src: IpAddr,
    pub vrid: u8,
    pub prio: u8,
    pub ver: u8,
    /// Advertised interval.
    pub int_ms: f64,
    pub addrs: Vec<IpAddr>,
    /// Time since the previous advert of this VRID; `None` for the first.
    pub gap_ms: Option<f64>,
}

/// A line that is not a well-formed watch line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("watch line {line:?}: {field}: {problem}")]
pub struct WatchLineError {
    pub line: String,
    pub field: &'static str,
    pub problem: String,
}

impl WatchLine {
    pub fn parse(line: &str) -> Result<WatchLine, WatchLineError> {
        let err = |field: &'static str, problem: String| WatchLineError {
            line: line.to_string(),
            field,
            problem,
        };
        let words: Vec<&str> = line.split_whitespace().collect();
        let [t, iface, src, vrid, prio, ver, int, addrs, gap] = words[..] else {
            return Err(err("line", format!("{} fields, expected 9", words.len())));
        };
        let keyed = |field: &'static str, word: &'static str, s: &str| {
            s.strip_prefix(word)
                .and_then(|v| v.strip_prefix('='))
                .map(str::to_string)
                .ok_or_else(|| err(field, format!("expected `{word}=…`, got {s:?}")))
        };
        let number = |field: &'static str, s: String| {
            s.parse::<u8>()
                .map_err(|e| err(field, format!("{s:?}: {e}")))
        };
        let duration = |field: &'static str, s: String| {
            parse_ms(&s).ok_or_else(|| err(field, format!("{s:?} is not a duration")))
        };
        let gap = keyed("gap", "gap", gap)?;
        Ok(WatchLine {
            t: t.parse().map_err(|e| err("t", format!("{t:?}: {e}")))?,
            iface: iface.to_string(),
            src: src
                .parse()
                .map_err(|e| err("src", format!("{src:?}: {e}")))?,
            vrid: number("vrid", keyed("vrid", "vrid", vrid)?)?,
            prio: number("prio", keyed("prio", "prio", prio)?)?,
            ver: number("ver", keyed("ver", "ver", ver)?)?,
            int_ms: duration("int", keyed("int", "int", int)?)?,
            addrs: keyed("addrs", "addrs", addrs)?
                .split(',')
                .filter(|a| !a.is_empty())
                .map(|a| a.parse().map_err(|e| err("addrs", format!("{a:?}: {e}"))))
                .collect::<Result<_, _>>()?,
            gap_ms: if gap == "-" {
                None
            } else {
                Some(duration("gap", gap)?)
            },
        })
    }
}

/// `1s`, `0.1s`, `100ms`, `10cs` → milliseconds.
fn parse_ms(s: &str) -> Option<f64> {
    let (number, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix("cs") {
        (n, 10.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000.0)
    } else {
        return None;
    };
    number
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| v * scale)
}

/// CLOCK_MONOTONIC now: the clock of `t` in watch lines.
pub fn monotonic_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_MONOTONIC)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let line = WatchLine::parse(
            "1234.567890 veth0 10.1.0.2 vrid=50 prio=150 ver=2 int=1s addrs=10.1.0.200 gap=1000.123ms",
        )
        .unwrap();
        assert_eq!(line.t, 1234.56789);
        assert_eq!(line.iface, "veth0");
        assert_eq!(line.src, "10.1.0.2".parse::<IpAddr>().unwrap());
        assert_eq!((line.vrid, line.prio, line.ver), (50, 150, 2));
        assert_eq!(line.int_ms, 1000.0);
        assert_eq!(line.addrs, vec!["10.1.0.200".parse::<IpAddr>().unwrap()]);
        assert_eq!(line.gap_ms, Some(1000.123));
    }

    #[test]
    fn first_line_has_no_gap_and_lists_several_addresses() {
        let line = WatchLine::parse(
            "5.000001 eth0 fe80::1 vrid=7 prio=255 ver=3 int=100ms addrs=fd00:1::200,fd00:1::201 gap=-",
        )
        .unwrap();
        assert_eq!(line.gap_ms, None);
        assert_eq!(line.int_ms, 100.0);
        assert_eq!(line.addrs.len(), 2);
    }

    #[test]
    fn malformed_lines_name_the_field() {
        let e = WatchLine::parse("1.0 eth0 10.0.0.1 vrid=300 prio=1 ver=2 int=1s addrs= gap=-")
            .unwrap_err();
        assert_eq!(e.field, "vrid");
        let e = WatchLine::parse("1.0 eth0 10.0.0.1 vrid=3 prio=1 ver=2 int=soon addrs= gap=-")
            .unwrap_err();
        assert_eq!(e.field, "int");
        let e = WatchLine::parse("watching eth0 (xdp mode native)").unwrap_err();
        assert_eq!(e.field, "line");
    }
}
