//! The configurations the benchmarks run: the seed's master/backup pair as the kit adapts it to a
//! lab (addresses, check script), further adapted in text (version, interval, backup priority),
//! and a generated many-instance configuration for `scale`.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context as _, bail};
use vrrpd_tests::seed::Seed;

/// VRRP version and advertisement interval of one benchmark variant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    pub version: u8,
    /// Seconds, as written after `advert_int`.
    pub advert_int: f64,
}

impl Timing {
    pub fn label(&self) -> String {
        format!("v{} {}s", self.version, self.advert_int)
    }

    pub fn interval_ns(&self) -> i64 {
        (self.advert_int * 1e9).round() as i64
    }

    /// Skew_Time of a backup with `priority` (RFC 5798 and keepalived, v2 included: its interval is
    /// whole seconds, so (256 − prio)/256 s is the same formula).
    pub fn skew_ns(&self, priority: u8) -> i64 {
        (256 - i64::from(priority)) * self.interval_ns() / 256
    }

    /// Master_Down_Interval = 3 × interval + skew.
    pub fn master_down_ns(&self, priority: u8) -> i64 {
        3 * self.interval_ns() + self.skew_ns(priority)
    }
}

/// The seed's two configurations, adapted.
pub struct Pair {
    pub master: String,
    pub backup: String,
}

/// How the pair is adapted beyond the kit's lab adaptation (VIP `10.X.0.200`, check script).
pub struct PairOptions<'a> {
    /// The lab subnet `X`.
    pub subnet: u8,
    pub timing: Timing,
    /// Check script of the master (replaces the seed's nginx check).
    pub script: &'a Path,
    /// Check script of the backup: its own, so failing the master's check leaves it alone.
    pub backup_script: &'a Path,
    /// Replaces the backup's priority 80.
    pub backup_priority: u8,
    /// Keep the backup's `nopreempt`. With it a backup accepts every advert, so a master whose
    /// priority drops below the backup's is never replaced: the tracker scenario must drop it.
    pub backup_nopreempt: bool,
}

pub fn pair(opts: &PairOptions<'_>) -> anyhow::Result<Pair> {
    let master = Seed::MasterBackupMaster.adapted(opts.subnet, opts.script);
    let backup = Seed::MasterBackupBackup.adapted(opts.subnet, opts.backup_script);
    Ok(Pair {
        master: adapt(&master, opts, false).context("seed master-backup.master.conf")?,
        backup: adapt(&backup, opts, true).context("seed master-backup.backup.conf")?,
    })
}

/// Replaces exactly one occurrence of `from`, so a changed seed fails loudly instead of silently
/// benchmarking something else.
fn replace_one(text: &str, from: &str, to: &str) -> anyhow::Result<String> {
    match text.matches(from).count() {
        1 => Ok(text.replacen(from, to, 1)),
        n => bail!("expected `{from}` once in the seed, found it {n} times"),
    }
}

fn adapt(lab_seed: &str, opts: &PairOptions<'_>, backup: bool) -> anyhow::Result<String> {
    // A 1 s check keeps the tracker scenario's runs short; the metric does not depend on it.
    let mut text = replace_one(lab_seed, "interval 2", "interval 1")?;
    text = replace_one(
        &text,
        "advert_int 1",
        &format!("advert_int {}", opts.timing.advert_int),
    )?;
    if opts.timing.version == 3 {
        text = replace_one(&text, "global_defs {", "global_defs {\n    vrrp_version 3")?;
    }
    if backup {
        text = replace_one(
            &text,
            "priority 80",
            &format!("priority {}", opts.backup_priority),
        )?;
        if !opts.backup_nopreempt {
            text = replace_one(&text, "    nopreempt\n", "")?;
        }
    }
    Ok(text)
}

/// `count` instances VI_1… (VRIDs 1…count) on eth0, v3, one VIP `10.{subnet}.1.N` each.
pub fn many(count: u8, priority: u8, advert_int: f64, subnet: u8, router_id: &str) -> String {
    let mut text = format!("global_defs {{\n    router_id {router_id}\n    vrrp_version 3\n}}\n");
    for n in 1..=count {
        let _ = write!(
            text,
            "\nvrrp_instance VI_{n} {{\n    state BACKUP\n    interface eth0\n    \
             virtual_router_id {n}\n    priority {priority}\n    advert_int {advert_int}\n    \
             virtual_ipaddress {{\n        10.{subnet}.1.{n}\n    }}\n}}\n"
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_down_interval_matches_rfc() {
        let t = Timing {
            version: 3,
            advert_int: 0.01,
        };
        // 3 × 10 ms + (256 − 80) × 10 ms / 256.
        assert_eq!(t.master_down_ns(80), 30_000_000 + 6_875_000);
        let v2 = Timing {
            version: 2,
            advert_int: 1.0,
        };
        assert_eq!(v2.master_down_ns(80), 3_687_500_000);
    }

    #[test]
    fn seed_is_adapted() {
        let script = Path::new("/tmp/check.sh");
        let opts = PairOptions {
            subnet: 9,
            timing: Timing {
                version: 3,
                advert_int: 0.1,
            },
            script,
            backup_script: Path::new("/tmp/ok.sh"),
            backup_priority: 90,
            backup_nopreempt: false,
        };
        let pair = pair(&opts).unwrap();
        assert!(pair.master.contains("10.9.0.200") && !pair.master.contains("192.168"));
        assert!(pair.master.contains("vrrp_version 3") && pair.master.contains("advert_int 0.1"));
        assert!(pair.master.contains("/tmp/check.sh") && pair.master.contains("priority 100"));
        assert!(pair.backup.contains("priority 90") && !pair.backup.contains("nopreempt"));
        assert!(pair.backup.contains("/tmp/ok.sh") && !pair.backup.contains("check.sh"));
        assert!(pair.master.contains("nopreempt"));
    }

    #[test]
    fn many_has_one_block_per_vrid() {
        let text = many(255, 200, 0.01, 7, "a");
        assert_eq!(text.matches("vrrp_instance").count(), 255);
        assert!(text.contains("virtual_router_id 255\n") && text.contains("10.7.1.255"));
    }
}
