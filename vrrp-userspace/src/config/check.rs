//! `vrrpd check --config PATH` / `vrrpd -t -f PATH`: prints every diagnostic, then a normalised
//! summary (or the model as JSON with `--dump`), and exits with keepalived 2.2.7's `-t` codes.

use std::fmt::Write as _;
use std::process::ExitCode;

use super::diag::ExitClass;
use super::model::{Config, InitialState};
use super::resolve::{ResolvedInstance, resolve};
use super::{Analysis, LoadOptions, analyse};
use crate::cli::CheckArgs;

/// keepalived 2.2.7's `-t` exit codes (lib/scheduler.h `chk_exit_code`; its man page says
/// 3/4/5, the binary uses 4/5/6).
pub const EXIT_OK: u8 = 0;
/// The configuration cannot run.
pub const EXIT_CANNOT_RUN: u8 = 4;
/// Configuration errors that are worked around: it would run.
pub const EXIT_ERRORS_WOULD_RUN: u8 = 5;
/// Scripts configured without `enable_script_security`, or a required include missing
/// (keepalived's fatal configuration status uses the same code).
pub const EXIT_SCRIPT_SECURITY: u8 = 6;

pub fn main(args: CheckArgs) -> ExitCode {
    let mut opts = LoadOptions::default();
    if let Some(id) = args.config_id {
        opts.config_id = id;
    }
    opts.all_config = args.all_config;
    let analysis = analyse(&args.config, &opts);
    for d in &analysis.diagnostics {
        eprintln!("{d}");
    }
    if args.dump {
        match serde_json::to_string_pretty(&dump(&analysis.config)) {
            Ok(json) => println!("{json}"),
            Err(e) => eprintln!("vrrpd: cannot serialise the model: {e}"),
        }
    } else {
        print!("{}", summary(&analysis.config));
    }
    ExitCode::from(exit_code(&analysis))
}

/// keepalived 2.2.7's `-t` exit code for what was found. A fatal include wins (keepalived stops
/// before completing the configuration, so nothing after it counts); then vrrpd's own refusals
/// (4), because a configuration vrrpd will not run must not look like one that runs; then
/// script security (6) over worked-around errors (5), as keepalived orders them.
pub fn exit_code(a: &Analysis) -> u8 {
    let has = |c: ExitClass| a.diagnostics.iter().any(|d| d.exit == c);
    if has(ExitClass::FatalInclude) {
        EXIT_SCRIPT_SECURITY
    } else if has(ExitClass::CannotRun) {
        EXIT_CANNOT_RUN
    } else if has(ExitClass::ScriptSecurity) {
        EXIT_SCRIPT_SECURITY
    } else if has(ExitClass::ConfigError) {
        EXIT_ERRORS_WOULD_RUN
    } else {
        EXIT_OK
    }
}

/// What `--dump` prints: the model and the resolved view.
#[derive(serde::Serialize)]
pub struct Dump<'a> {
    pub config: &'a Config,
    pub resolved: Vec<ResolvedInstance>,
}

pub fn dump(config: &Config) -> Dump<'_> {
    Dump {
        config,
        resolved: resolve(config),
    }
}

/// Short human-readable summary of the effective configuration.
pub fn summary(config: &Config) -> String {
    let mut s = String::new();
    let resolved = resolve(config);
    let _ = writeln!(
        s,
        "{} VRRP instance(s), {} sync group(s)",
        resolved.len(),
        config.vrrp_sync_groups.len()
    );
    for r in &resolved {
        let state = match r.initial_state {
            InitialState::Master => "MASTER",
            InitialState::Backup => "BACKUP",
        };
        let _ = writeln!(
            s,
            "instance {}: interface {} vrid {} VRRPv{} {}",
            r.name,
            r.interface.as_deref().unwrap_or("-"),
            r.vrid,
            r.version,
            if r.family == super::model::Family::Ipv6 {
                "IPv6"
            } else {
                "IPv4"
            }
        );
        let _ = writeln!(
            s,
            "  priority {} state {} advert_int {}s nopreempt {} preempt_delay {}s accept {} strict {}",
            r.priority,
            state,
            super::values::fmt_secs(r.advert_int_centis as u64 * 10_000),
            r.nopreempt,
            super::values::fmt_secs(r.preempt_delay_us),
            r.accept,
            r.strict
        );
        let vips: Vec<String> = r
            .vips
            .iter()
            .map(|v| format!("{}/{}", v.address, v.prefix_len))
            .collect();
        let _ = writeln!(
            s,
            "  vips: {}",
            if vips.is_empty() {
                "-".to_string()
            } else {
                vips.join(" ")
            }
        );
        if !r.excluded_vips.is_empty() {
            let ex: Vec<String> = r
                .excluded_vips
                .iter()
                .map(|v| format!("{}/{}", v.address, v.prefix_len))
                .collect();
            let _ = writeln!(s, "  excluded vips: {}", ex.join(" "));
        }
        match &r.mcast_group {
            Some(g) => {
                let _ = writeln!(s, "  multicast {g}");
            }
            None => {
                let peers: Vec<String> = r
                    .unicast_peers
                    .iter()
                    .map(|p| p.address.to_string())
                    .collect();
                let _ = writeln!(s, "  unicast peers: {}", peers.join(" "));
            }
        }
        let trackers: Vec<String> = r
            .track_scripts
            .iter()
            .map(|t| {
                format!(
                    "script {} weight {}{}",
                    t.name,
                    t.weight,
                    if t.reverse { " reverse" } else { "" }
                )
            })
            .chain(
                r.track_interfaces
                    .iter()
                    .map(|t| format!("interface {} weight {}", t.name, t.weight)),
            )
            .chain(
                r.track_files
                    .iter()
                    .map(|t| format!("file {} weight {}", t.name, t.weight)),
            )
            .collect();
        let _ = writeln!(
            s,
            "  trackers: {}",
            if trackers.is_empty() {
                "-".to_string()
            } else {
                trackers.join(", ")
            }
        );
        let g = &r.garp;
        let _ = writeln!(
            s,
            "  garp: master_delay {}s repeat {} refresh {}s refresh_repeat {} lower_prio_delay {}s lower_prio_repeat {}",
            g.master_delay_s,
            g.master_repeat,
            g.master_refresh_s,
            g.master_refresh_repeat,
            g.lower_prio_delay_s,
            g.lower_prio_repeat
        );
    }
    for g in &config.vrrp_sync_groups {
        let _ = writeln!(s, "sync group {}: {}", g.name, g.group.join(" "));
    }
    s
}
