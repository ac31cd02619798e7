//! Validation as keepalived does it when it completes its configuration (vrrp.c
//! `vrrp_complete_instance`, `check_vrid_conflicts`, script security): fills in derived values
//! (priority from state, effective version and family), clears settings that cannot work with a
//! keepalived-worded diagnostic, and reports what stops the configuration from running.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

use super::diag::{Diagnostics, ExitClass, Severity, Span};
use super::model::*;

/// Checks that look at this machine rather than the file.
#[derive(Debug, Clone, Copy)]
pub struct SystemChecks {
    /// Disable `vrrp_script`s whose program is missing or not executable, and remove tracked
    /// `track_file`s whose directory is missing (keepalived does both).
    pub scripts: bool,
    /// Warn about interfaces that do not exist (keepalived does).
    pub interfaces: bool,
}

/// Most addresses one advert carries (the count field is 8 bits).
const VRRP_MAX_ADDR: usize = 255;
/// keepalived's DEFAULT_MTU when the interface is unknown.
const DEFAULT_MTU: usize = 1500;

pub fn validate(cfg: &mut Config, sys: SystemChecks, d: &mut Diagnostics) {
    if sys.scripts {
        let default = default_script_user(&cfg.global_defs, account_exists);
        check_script_users(cfg, d, account_exists);
        check_default_script_user(cfg, d, &default);
        resolve_track_refs(cfg, d);
        check_track_file_dirs(cfg, d);
        check_scripts(cfg, d, &default);
    } else {
        resolve_track_refs(cfg, d);
    }
    // keepalived stops the VRRP process when an instance fails completion; the instance stays
    // in the model (for --dump) and the Error diagnostic makes `load` fail.
    for inst in &mut cfg.vrrp_instances {
        complete_instance(inst, &cfg.global_defs, sys, d);
    }
    // keepalived's summary after the per-interface warnings.
    if sys.interfaces
        && cfg.vrrp_instances.iter().any(|i| {
            i.interface.as_deref().is_some_and(|n| !interface_exists(n))
                || i.track_interface.iter().any(|t| !interface_exists(&t.name))
        })
    {
        d.push(
            Severity::Warning,
            None,
            "Non-existent interface specified in configuration",
        );
    }
    check_sync_groups(cfg, d);
    check_tracker_weights(cfg, d);
    check_vrid_conflicts(cfg, d);
}

/// keepalived's `vrrp_complete_instance`: an instance in a sync group (without
/// `sync_group_tracking_weight`) or an address owner cannot change its priority, so its trackers
/// with a non-zero weight are dropped, each with keepalived's words (which differ per tracker
/// kind). Weight-0 trackers stay: they still put the instance into FAULT.
fn check_tracker_weights(cfg: &mut Config, d: &mut Diagnostics) {
    let script_weight: HashMap<String, i32> = cfg
        .vrrp_scripts
        .iter()
        .map(|s| (s.name.clone(), s.weight))
        .collect();
    let file_weight: HashMap<String, i32> = cfg
        .track_files
        .iter()
        .map(|f| (f.name.clone(), f.weight))
        .collect();
    for inst in &mut cfg.vrrp_instances {
        let name = inst.name.clone();
        let in_sync = cfg
            .vrrp_sync_groups
            .iter()
            .any(|g| !g.sync_group_tracking_weight && g.group.contains(&name));
        let owner = inst.priority == Some(255);
        if !in_sync && !owner {
            continue;
        }
        let why = if in_sync {
            "SYNC group"
        } else {
            "address_owner"
        };
        inst.track_script.retain(|r| {
            let w = r
                .weight
                .unwrap_or(*script_weight.get(&r.name).unwrap_or(&0));
            if w != 0 {
                d.warn_opt(
                    r.span.as_ref(),
                    format!(
                        "({name}) ignoring tracked script {} with weights due to {why}",
                        r.name
                    ),
                );
            }
            w == 0
        });
        inst.track_interface.retain(|r| {
            if r.weight.unwrap_or(0) == 0 {
                return true;
            }
            let msg = if in_sync {
                format!(
                    "({name}) ignoring {} tracked interface weight due to SYNC group",
                    r.name
                )
            } else {
                format!(
                    "({name}) ignoring {} tracked interface due to address owner",
                    r.name
                )
            };
            d.warn_opt(r.span.as_ref(), msg);
            false
        });
        inst.track_file.retain(|r| {
            let w = r.weight.unwrap_or(*file_weight.get(&r.name).unwrap_or(&0));
            if w != 0 {
                d.warn_opt(
                    r.span.as_ref(),
                    format!(
                        "({name}) ignoring tracked file {} with weight {w} due to {why}",
                        r.name
                    ),
                );
            }
            w == 0
        });
    }
}

fn span_of(s: &Option<Span>) -> Option<&Span> {
    s.as_ref()
}

fn resolve_track_refs(cfg: &mut Config, d: &mut Diagnostics) {
    let scripts: Vec<String> = cfg
        .vrrp_scripts
        .iter()
        .filter(|s| s.script.is_some())
        .map(|s| s.name.clone())
        .collect();
    let files: Vec<String> = cfg
        .track_files
        .iter()
        .filter(|f| f.file.is_some())
        .map(|f| f.name.clone())
        .collect();
    let owners = cfg
        .vrrp_instances
        .iter_mut()
        .map(|i| (i.name.clone(), &mut i.track_script, &mut i.track_file))
        .chain(
            cfg.vrrp_sync_groups
                .iter_mut()
                .map(|g| (g.name.clone(), &mut g.track_script, &mut g.track_file)),
        );
    for (owner, ts, tf) in owners {
        ts.retain(|r| {
            let ok = scripts.contains(&r.name);
            if !ok {
                d.push(
                    Severity::Warning,
                    span_of(&r.span),
                    format!("({owner}) track script {} not found, ignoring...", r.name),
                );
            }
            ok
        });
        tf.retain(|r| {
            let ok = files.contains(&r.name);
            if !ok {
                d.push(
                    Severity::Warning,
                    span_of(&r.span),
                    format!("({owner}) track file {} not found, ignoring...", r.name),
                );
            }
            ok
        });
    }
}

/// keepalived's `init_track_files`: a tracked `track_file` whose directory does not exist cannot
/// be watched, so it is removed, from the instances and sync groups too (silently there, as
/// keepalived does); the daemon applies the same rule ([`crate::track::track_file_dir`]).
fn check_track_file_dirs(cfg: &mut Config, d: &mut Diagnostics) {
    let tracked = |name: &str, cfg: &Config| {
        cfg.vrrp_instances
            .iter()
            .flat_map(|i| &i.track_file)
            .chain(cfg.vrrp_sync_groups.iter().flat_map(|g| &g.track_file))
            .any(|r| r.name == name)
    };
    let mut removed = Vec::new();
    for f in &cfg.track_files {
        let Some(path) = &f.file else {
            continue;
        };
        if tracked(&f.name, cfg) && !crate::track::track_file_dir(Path::new(path)).is_dir() {
            d.warn_opt(
                f.span.as_ref(),
                format!(
                    "Track file directory for {} does not exist - removing",
                    f.name
                ),
            );
            removed.push(f.name.clone());
        }
    }
    if removed.is_empty() {
        return;
    }
    cfg.track_files.retain(|f| !removed.contains(&f.name));
    for refs in cfg
        .vrrp_instances
        .iter_mut()
        .map(|i| &mut i.track_file)
        .chain(cfg.vrrp_sync_groups.iter_mut().map(|g| &mut g.track_file))
    {
        refs.retain(|r| !removed.contains(&r.name));
    }
}

/// The account keepalived runs scripts as when neither the script nor `script_user` names one.
pub const DEFAULT_SCRIPT_USER: &str = "keepalived_script";

/// Who runs a script that has no `user` of its own: keepalived's `get_default_script_user`.
/// The validator and the daemon's plan both take it from [`default_script_user`], so the user a
/// script is checked as is the user it runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefaultScriptUser {
    /// `script_user`, else `keepalived_script` when that account exists.
    User(ScriptUser),
    /// No `script_user`, no `keepalived_script` and no `enable_script_security`: the daemon's
    /// own user, root.
    Root,
    /// keepalived could not set a default user: `script_user` names an unknown user or group, or
    /// `enable_script_security` is set and `keepalived_script` does not exist. keepalived removes
    /// the `vrrp_script`s that would need it; notify scripts keep running as root (2.2.7 sets no
    /// user on them then), so under `enable_script_security` they get the root permission check.
    Unavailable,
}

impl DefaultScriptUser {
    /// Whether a script with this default runs as root.
    pub fn is_root(&self) -> bool {
        match self {
            DefaultScriptUser::User(u) => is_root_name(&u.user),
            DefaultScriptUser::Root | DefaultScriptUser::Unavailable => true,
        }
    }
}

/// keepalived's rule for the default script user. `resolves(user, group)` says whether the
/// account (and group, if given) exists on this machine.
pub fn default_script_user(
    g: &GlobalDefs,
    resolves: impl Fn(&str, Option<&str>) -> bool,
) -> DefaultScriptUser {
    match &g.script_user {
        Some(u) if resolves(&u.user, u.group.as_deref()) => DefaultScriptUser::User(u.clone()),
        Some(_) => DefaultScriptUser::Unavailable,
        None if resolves(DEFAULT_SCRIPT_USER, None) => DefaultScriptUser::User(ScriptUser {
            user: DEFAULT_SCRIPT_USER.to_owned(),
            group: None,
        }),
        None if g.enable_script_security => DefaultScriptUser::Unavailable,
        None => DefaultScriptUser::Root,
    }
}

/// keepalived without a usable default user ([`DefaultScriptUser::Unavailable`]) removes every
/// `vrrp_script` without its own `user` (their `track_script` references then report "not
/// found"), with its words for the reason.
pub fn check_default_script_user(
    cfg: &mut Config,
    d: &mut Diagnostics,
    default: &DefaultScriptUser,
) {
    if *default != DefaultScriptUser::Unavailable {
        return;
    }
    if cfg.global_defs.script_user.is_some() {
        d.push(
            Severity::Warning,
            None,
            "Error setting global script uid/gid",
        );
    }
    let security_default = cfg.global_defs.script_user.is_none();
    cfg.vrrp_scripts.retain(|s| {
        let needs_default = s.script.as_ref().is_some_and(|sc| sc.user.is_none());
        if needs_default {
            let at = s.span.as_ref();
            if security_default {
                d.warn_opt(
                    at,
                    format!("Unable to set default user {DEFAULT_SCRIPT_USER} for script"),
                );
            }
            d.warn_opt(
                at,
                format!(
                    "Unable to set default user for vrrp script {} - removing",
                    s.name
                ),
            );
        }
        !needs_default
    });
}

/// keepalived's `vrrp_vscript_user_handler`: a `vrrp_script` whose own `user` (or group) does
/// not exist is removed ("Unable to set uid/gid for script CMD"), never run as root instead.
pub fn check_script_users(
    cfg: &mut Config,
    d: &mut Diagnostics,
    resolves: impl Fn(&str, Option<&str>) -> bool,
) {
    cfg.vrrp_scripts.retain(|s| {
        let Some(sc) = &s.script else {
            return true;
        };
        let Some(u) = &sc.user else {
            return true;
        };
        if resolves(&u.user, u.group.as_deref()) {
            return true;
        }
        d.warn_opt(
            s.span.as_ref(),
            format!("Unable to set uid/gid for script {}", sc.args.join(" ")),
        );
        false
    });
}

/// Whether the account exists (and the group, if given), as `getpwnam`/`getgrnam` see them.
pub fn account_exists(user: &str, group: Option<&str>) -> bool {
    matches!(nix::unistd::User::from_name(user), Ok(Some(_)))
        && group.is_none_or(|g| matches!(nix::unistd::Group::from_name(g), Ok(Some(_))))
}

fn is_root_name(user: &str) -> bool {
    user == "root" || user == "0"
}

/// Whether a script runs as root: its own user, else the default script user.
fn runs_as_root(sc: &Script, default: &DefaultScriptUser) -> bool {
    match &sc.user {
        Some(u) => is_root_name(&u.user),
        None => default.is_root(),
    }
}

/// Whether `program` names an executable file, directly or through `$PATH` (as keepalived's
/// `check_script_secure` resolves it).
pub fn executable_exists(program: &str) -> bool {
    resolve_program(program, true).is_some()
}

/// The file `program` names, directly or through `$PATH`; with `need_exec`, only one with an
/// execute bit.
fn resolve_program(program: &str, need_exec: bool) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let is_exec = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| m.is_file() && (!need_exec || m.permissions().mode() & 0o111 != 0))
            .unwrap_or(false)
    };
    if program.contains('/') {
        return is_exec(Path::new(program)).then(|| Path::new(program).to_path_buf());
    }
    let path = std::env::var("PATH")
        .unwrap_or_else(|_| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    path.split(':')
        .filter(|dir| !dir.is_empty())
        .map(|dir| Path::new(dir).join(program))
        .find(|p| is_exec(p))
}

/// keepalived's `check_script_secure` for a script run as root: the file and every directory on
/// its path must be owned by root, and neither the file nor a directory without the sticky bit
/// may be writable by a non-root group or by anyone. Returns whether `program` is safe.
pub fn script_path_is_secure(program: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Some(file) = resolve_program(program, false) else {
        return true; // not found: reported on its own
    };
    let file = std::fs::canonicalize(&file).unwrap_or(file);
    file.ancestors().all(|p| {
        let Ok(m) = std::fs::symlink_metadata(p) else {
            return false;
        };
        let mode = m.mode();
        let sticky_dir = m.is_dir() && mode & 0o1000 != 0;
        let group_write = m.gid() != 0 && mode & 0o020 != 0;
        let world_write = mode & 0o002 != 0;
        m.uid() == 0 && (sticky_dir || !(group_write || world_write))
    })
}

/// Scripts (`vrrp_script`, notify) that run as root with unsafe permissions: noted, and with
/// `enable_script_security` disabled, as keepalived does.
fn check_script_security(cfg: &mut Config, d: &mut Diagnostics, default: &DefaultScriptUser) {
    let security = cfg.global_defs.enable_script_security;
    let runs_as_root = |sc: &Script| runs_as_root(sc, default);
    let unsafe_script = |sc: &Script, d: &mut Diagnostics, at: Option<&Span>| -> bool {
        let Some(program) = sc.args.first() else {
            return false;
        };
        if !runs_as_root(sc) || script_path_is_secure(program) {
            return false;
        }
        let (severity, tail) = if security {
            (Severity::Warning, " - disabling")
        } else {
            (Severity::Note, "")
        };
        d.push(
            severity,
            at,
            format!("Unsafe permissions found for script '{program}'{tail}."),
        );
        security
    };
    for s in &mut cfg.vrrp_scripts {
        let Some(sc) = s.script.clone().filter(|_| s.enabled) else {
            continue;
        };
        if unsafe_script(&sc, d, s.span.as_ref()) {
            d.push(
                Severity::Warning,
                span_of(&s.span),
                format!("Disabling track script {} due to insecure", s.name),
            );
            s.enabled = false;
        }
    }
    let mut notifies: Vec<(&mut Notify, Option<Span>)> = Vec::new();
    for i in &mut cfg.vrrp_instances {
        notifies.push((&mut i.notify, i.span.clone()));
    }
    for g in &mut cfg.vrrp_sync_groups {
        notifies.push((&mut g.notify, g.span.clone()));
    }
    for (n, at) in notifies {
        let slots = [
            &mut n.master,
            &mut n.backup,
            &mut n.fault,
            &mut n.stop,
            &mut n.notify,
            &mut n.master_rx_lower_pri,
        ];
        for slot in slots {
            if let Some(sc) = slot.clone()
                && unsafe_script(&sc, d, at.as_ref())
            {
                d.push(
                    Severity::Warning,
                    at.as_ref(),
                    format!(
                        "Disabling notify script {} due to insecure",
                        sc.args.join(" ")
                    ),
                );
                *slot = None;
            }
        }
    }
}

fn check_scripts(cfg: &mut Config, d: &mut Diagnostics, default: &DefaultScriptUser) {
    let mut any_script = false;
    for s in &mut cfg.vrrp_scripts {
        let Some(sc) = s.script.as_ref() else {
            continue;
        };
        let Some(program) = sc.args.first() else {
            continue;
        };
        // keepalived 2.2.7 only needs a script run as root to exist: one without an execute
        // bit is kept and fails at each run (so its weight applies). Other users need to be
        // able to execute it.
        let usable = if runs_as_root(sc, default) {
            resolve_program(program, false).is_some()
        } else {
            executable_exists(program)
        };
        if !usable {
            d.push(
                Severity::Warning,
                span_of(&s.span),
                format!(
                    "Disabling track script {} since not found/accessible",
                    s.name
                ),
            );
            s.enabled = false;
        } else {
            any_script = true;
        }
    }
    check_script_security(cfg, d, default);
    let disabled: Vec<String> = cfg
        .vrrp_scripts
        .iter()
        .filter(|s| !s.enabled)
        .map(|s| s.name.clone())
        .collect();
    for i in &mut cfg.vrrp_instances {
        i.track_script.retain(|r| !disabled.contains(&r.name));
        any_script |= notify_has_script(&i.notify);
    }
    for g in &mut cfg.vrrp_sync_groups {
        g.track_script.retain(|r| !disabled.contains(&r.name));
        any_script |= notify_has_script(&g.notify);
    }
    let gd = &cfg.global_defs;
    any_script |= [&gd.notify_fifo, &gd.vrrp_notify_fifo]
        .iter()
        .any(|f| f.as_ref().is_some_and(|f| f.script.is_some()));
    if any_script && !gd.enable_script_security {
        d.push_as(
            Severity::Warning,
            ExitClass::ScriptSecurity,
            None,
            "SECURITY VIOLATION - scripts are being executed but script_security not enabled.",
        );
    }
}

fn notify_has_script(n: &Notify) -> bool {
    n.master.is_some()
        || n.backup.is_some()
        || n.fault.is_some()
        || n.stop.is_some()
        || n.notify.is_some()
        || n.master_rx_lower_pri.is_some()
        || matches!(n.deleted, Some(Some(_)))
}

fn interface_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

fn is_link_local(a: &IpAddr) -> bool {
    match a {
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
        IpAddr::V4(v4) => v4.is_link_local(),
    }
}

/// keepalived's `chk_min_cfg` + `vrrp_complete_instance`. Stops early (after an Error
/// diagnostic) where keepalived would refuse to run.
fn complete_instance(inst: &mut Instance, g: &GlobalDefs, sys: SystemChecks, d: &mut Diagnostics) {
    let name = inst.name.clone();
    let at = inst.span.clone();
    let at = at.as_ref();
    let spans = inst.keyword_spans.clone();
    // The keyword a diagnostic is about, else the instance itself.
    let kw = |k: &str| spans.get(k).or(at);
    let warn = |d: &mut Diagnostics, msg: String| d.push(Severity::Warning, at, msg);
    let warn_at = |d: &mut Diagnostics, k: &str, msg: String| d.push(Severity::Warning, kw(k), msg);

    if let Some(ifname) = &inst.interface
        && sys.interfaces
        && !interface_exists(ifname)
    {
        warn_at(
            d,
            "interface",
            format!("WARNING - interface {ifname} for vrrp_instance {name} doesn't exist"),
        );
    }
    if sys.interfaces {
        for t in &inst.track_interface {
            if !interface_exists(&t.name) {
                d.push(
                    Severity::Warning,
                    span_of(&t.span),
                    format!("({name}) tracked interface {} doesn't exist", t.name),
                );
            }
        }
    }

    if let Some(ifname) = inst.interface.clone() {
        inst.track_interface.retain(|t| {
            let own = t.name == ifname;
            if own {
                d.push(
                    Severity::Warning,
                    span_of(&t.span),
                    format!("({name}) Ignoring track_interface {ifname} since own interface"),
                );
            }
            !own
        });
    }

    // vrrp_end_handler
    if inst.unicast_peer.is_empty() && inst.unicast_ttl.is_some() {
        warn_at(
            d,
            "unicast_ttl",
            format!("({name}): Cannot use unicast_ttl without unicast peers - resetting"),
        );
        inst.unicast_ttl = None;
    }

    // chk_min_cfg
    if inst.virtual_router_id.is_none() {
        d.push_as(
            Severity::Error,
            ExitClass::ConfigError,
            at,
            format!("({name}) the virtual router id must be set"),
        );
        return;
    }
    if inst.interface.is_none() && !inst.is_unicast() {
        d.push_as(
            Severity::Error,
            ExitClass::ConfigError,
            at,
            format!("({name}) Unknown interface!"),
        );
        return;
    }

    let strict = inst.strict_mode.unwrap_or(g.vrrp_strict);
    // Lowering took it from the first address that carries one (keepalived's order).
    let family = *inst.family.get_or_insert(Family::Ipv4);
    if family == Family::Ipv6 {
        if inst.version == Some(2) {
            warn_at(
                d,
                "version",
                // A warning (exit 5) although keepalived 2.2.7 is silent: it keeps sending
                // non-standard v2 over IPv6 unless vrrp_strict, so a keepalived peer with the
                // same file will not interoperate (docs/configuration.md, "vrrpd check").
                format!(
                    "({name}) cannot use IPv6 with VRRP version 2; setting version 3 (keepalived 2.2.7 keeps version 2 unless vrrp_strict, so its peers will not interoperate)"
                ),
            );
        }
        inst.version = Some(3);
    }
    let version = *inst.version.get_or_insert(g.vrrp_version);

    if inst.virtual_ipaddress.is_empty() && !inst.no_virtual_ipaddress {
        if version == 3 || strict {
            d.push_as(
                Severity::Error,
                ExitClass::ConfigError,
                at,
                format!("({name}) No VIP specified; at least one is required"),
            );
            return;
        }
        warn(
            d,
            format!("({name}) No VIP specified; at least one is sensible"),
        );
    }

    // keepalived-behaviour.md §1.3: an omitted priority follows the state.
    let priority = *inst
        .priority
        .get_or_insert(if inst.state == Some(InitialState::Master) {
            255
        } else {
            100
        });
    let owner = priority == 255;
    match inst.state {
        None => {
            inst.state = Some(if owner {
                InitialState::Master
            } else {
                InitialState::Backup
            })
        }
        Some(s) if strict && (s == InitialState::Master) != owner => {
            warn_at(
                d,
                "state",
                format!("({name}) State MASTER must match being address owner"),
            );
            inst.state = Some(if owner {
                InitialState::Master
            } else {
                InitialState::Backup
            });
        }
        _ => {}
    }

    if let Some(auth) = &inst.authentication {
        let msg = if strict {
            Some(format!(
                "({name}) Strict mode does not support authentication. Ignoring."
            ))
        } else if version == 3 {
            Some(format!(
                "({name}) VRRP version 3 does not support authentication. Ignoring."
            ))
        } else if auth.auth_pass.is_empty() {
            Some(format!(
                "({name}) Authentication specified but no password given. Ignoring"
            ))
        } else {
            None
        };
        match msg {
            Some(m) => {
                warn_at(d, "authentication", m);
                inst.authentication = None;
            }
            None if auth.auth_type == AuthType::Ah => {
                // IPSEC-AH (HMAC-MD5-96 over protocol 51) is not implemented; running without it
                // would make every peer reject our adverts.
                d.push(Severity::Error, kw("authentication"), format!("({name}) auth_type AH is not supported by vrrpd - use PASS or no authentication"));
            }
            None => {}
        }
    }

    if strict && inst.is_unicast() {
        d.push(
            Severity::Error,
            kw("unicast_peer"),
            format!("({name}) Unicast peers are not supported in strict mode"),
        );
        return;
    }
    if inst.interface.is_none() {
        match inst.src_ip {
            None => {
                d.push_as(
                    Severity::Error,
                    ExitClass::ConfigError,
                    at,
                    format!("({name}): Unicast instances must have unicast_src_ip or interface"),
                );
                return;
            }
            Some(src) if family == Family::Ipv6 && is_link_local(&src) => {
                d.push_as(
                    Severity::Error,
                    ExitClass::ConfigError,
                    kw("unicast_src_ip"),
                    format!("({name}) Non link-local address required if interface omitted"),
                );
                return;
            }
            _ => {}
        }
    }
    if inst.unicast_configured && inst.unicast_peer.is_empty() {
        if inst.unicast_fault_no_peer {
            d.push(
                Severity::Note,
                at,
                format!("({name}) Cannot use unicast without any peers - going to fault state"),
            );
        } else {
            warn(
                d,
                format!(
                    "({name}) A unicast keyword has been specified without any unicast peers. Defaulting to multicast. This usage is deprecated - please update your configuration."
                ),
            );
        }
    }
    if family == Family::Ipv6
        && !inst.is_unicast()
        && let Some(first) = inst.virtual_ipaddress.first()
        && !is_link_local(&first.address)
    {
        if strict {
            warn_at(
                d,
                "virtual_ipaddress",
                format!("({name}) the first IPv6 VIP address must be link local"),
            );
        } else {
            d.push(
                Severity::Note,
                kw("virtual_ipaddress"),
                format!("({name}) the first IPv6 VIP address should be link local"),
            );
        }
    }

    let hdr = match family {
        Family::Ipv4 => 14 + 20 + 8 + if version == 2 { 8 } else { 0 },
        Family::Ipv6 => 14 + 40 + 8,
    };
    let addr_len = if family == Family::Ipv4 { 4 } else { 16 };
    let max_addr = ((DEFAULT_MTU - hdr) / addr_len).min(VRRP_MAX_ADDR);
    if inst.virtual_ipaddress.len() > max_addr {
        warn_at(
            d,
            "virtual_ipaddress",
            format!(
                "({name}) Number of VIPs ({}) exceeds maximum/space available in packet (max {max_addr} addresses) - excess moved to eVIPs",
                inst.virtual_ipaddress.len()
            ),
        );
        let excess = inst.virtual_ipaddress.split_off(max_addr);
        inst.virtual_ipaddress_excluded.extend(excess);
    }

    if owner && inst.nopreempt {
        warn_at(
            d,
            "nopreempt",
            format!("({name}) nopreempt is incompatible with priority 255. resetting nopreempt"),
        );
        inst.nopreempt = false;
    }
    if inst.state == Some(InitialState::Master) {
        if inst.nopreempt {
            warn_at(
                d,
                "nopreempt",
                format!(
                    "({name}) Warning - nopreempt will not work with initial state MASTER - clearing"
                ),
            );
            inst.nopreempt = false;
        }
        if inst.preempt_delay_us > 0 {
            warn_at(
                d,
                "preempt_delay",
                format!(
                    "({name}) Warning - preempt delay will not work with initial state MASTER - clearing"
                ),
            );
            inst.preempt_delay_us = 0;
        }
    }
    if inst.preempt_delay_us > 0 {
        if strict {
            warn_at(
                d,
                "preempt_delay",
                format!("({name}) preempt_delay is incompatible with strict mode - resetting"),
            );
            inst.preempt_delay_us = 0;
        }
        if inst.nopreempt && inst.preempt_delay_us > 0 {
            warn(
                d,
                format!("({name}) preempt_delay is incompatible with nopreempt mode - resetting"),
            );
            inst.preempt_delay_us = 0;
        }
    }
    if strict && inst.down_timer_adverts.unwrap_or(g.vrrp_down_timer_adverts) != 3 {
        warn_at(
            d,
            "down_timer_adverts",
            format!("({name}) down_timer_adverts is incompatible with strict mode - resetting"),
        );
        inst.down_timer_adverts = Some(3);
    }
    if strict && !owner && version == 2 && inst.accept == Some(true) {
        warn_at(
            d,
            "accept",
            format!(
                "({name}) warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting"
            ),
        );
        inst.accept = Some(false);
    }
    if inst.is_unicast() && inst.mcast_dst_ip.is_some() {
        warn_at(
            d,
            "mcast_dst_ip",
            format!("({name}) multicast destination specified with unicast - ignoring"),
        );
        inst.mcast_dst_ip = None;
    }
    if strict {
        if inst.garp.garp_lower_prio_repeat.is_some_and(|r| r != 0) {
            warn_at(
                d,
                "garp_lower_prio_repeat",
                format!("({name}) Strict mode requires no repeat garps. resetting"),
            );
            inst.garp.garp_lower_prio_repeat = Some(0);
        }
        if inst.garp.garp_lower_prio_delay.is_some_and(|r| r != 0) {
            warn_at(
                d,
                "garp_lower_prio_delay",
                format!("({name}) Strict mode requires no repeat garp delay. resetting"),
            );
            inst.garp.garp_lower_prio_delay = Some(0);
        }
        if inst.lower_prio_no_advert == Some(false) {
            warn_at(
                d,
                "lower_prio_no_advert",
                format!("({name}) Strict mode requires no lower priority advert. resetting"),
            );
            inst.lower_prio_no_advert = Some(true);
        }
        if inst.higher_prio_send_advert == Some(true) {
            warn_at(
                d,
                "higher_prio_send_advert",
                format!(
                    "({name}) strict mode requires higher_prio_send_advert to be clear. resetting"
                ),
            );
            inst.higher_prio_send_advert = Some(false);
        }
    }

    // Advert interval (vrrp.c ~3250): v2 whole seconds, v3 centiseconds.
    let adv = inst.advert_int_us;
    if version == 2 {
        if !adv.is_multiple_of(SECOND_US) {
            warn_at(
                d,
                "advert_int",
                format!(
                    "({name}) VRRPv2 advertisement interval {:.6}s must be an integer. rounding",
                    adv as f64 / 1e6
                ),
            );
            let rounded = (adv + SECOND_US / 2) / SECOND_US * SECOND_US;
            inst.advert_int_us = rounded.max(SECOND_US);
        }
    } else if adv >= 4096 * 10_000 {
        warn_at(
            d,
            "advert_int",
            format!(
                "({name}) VRRPv3 advertisement interval {:.2}s is out of range. Must be less than 40.96s. Setting to 40.95s",
                adv as f64 / 1e6
            ),
        );
        inst.advert_int_us = 4095 * 10_000;
    } else if !adv.is_multiple_of(10_000) {
        warn_at(
            d,
            "advert_int",
            format!(
                "({name}) VRRPv3 advertisement interval {:.6}s must be in units of 10ms - rounding",
                adv as f64 / 1e6
            ),
        );
        let rounded = (adv + 5_000) / 10_000 * 10_000;
        inst.advert_int_us = rounded.max(10_000);
    }
}

fn check_sync_groups(cfg: &mut Config, d: &mut Diagnostics) {
    let names: Vec<String> = cfg.vrrp_instances.iter().map(|i| i.name.clone()).collect();
    let mut member_of: HashMap<String, String> = HashMap::new();
    for g in &mut cfg.vrrp_sync_groups {
        let at = g.span.clone();
        let mut kept = Vec::new();
        for m in std::mem::take(&mut g.group) {
            if !names.contains(&m) {
                d.push(
                    Severity::Warning,
                    at.as_ref(),
                    format!(
                        "Virtual router {m} specified in sync group {} doesn't exist - ignoring",
                        g.name
                    ),
                );
                continue;
            }
            if member_of.contains_key(&m) {
                d.push(
                    Severity::Warning,
                    at.as_ref(),
                    // keepalived's words; it drops only this member from the later group.
                    format!(
                        "Virtual router {m} cannot exist in more than one sync group; ignoring {}",
                        g.name
                    ),
                );
                continue;
            }
            member_of.insert(m.clone(), g.name.clone());
            kept.push(m);
        }
        g.group = kept;
        match g.group.len() {
            0 => d.push(Severity::Warning, at.as_ref(), format!("Sync group {}, no matching virtual router found in group declaration - removing", g.name)),
            1 => d.push(Severity::Warning, at.as_ref(), format!("Sync group {} has only 1 virtual router(s) - this probably isn't what you want", g.name)),
            _ => {}
        }
    }
    cfg.vrrp_sync_groups.retain(|g| !g.group.is_empty());
}

fn check_vrid_conflicts(cfg: &Config, d: &mut Diagnostics) {
    let g = &cfg.global_defs;
    let insts: Vec<&Instance> = cfg
        .vrrp_instances
        .iter()
        .filter(|i| i.virtual_router_id.is_some())
        .collect();
    for (a_idx, a) in insts.iter().enumerate() {
        for b in &insts[..a_idx] {
            if a.virtual_router_id != b.virtual_router_id || a.family != b.family {
                continue;
            }
            let vrid = a.virtual_router_id.unwrap_or(0);
            let fam = if a.family == Some(Family::Ipv6) { 6 } else { 4 };
            if a.is_unicast() || b.is_unicast() {
                if a.is_unicast() != b.is_unicast() || a.interface != b.interface {
                    continue;
                }
                if a.src_ip.is_some() && b.src_ip.is_some() && a.src_ip != b.src_ip {
                    continue;
                }
                let overlap = a
                    .unicast_peer
                    .iter()
                    .any(|p| b.unicast_peer.iter().any(|q| q.address == p.address));
                if overlap {
                    d.push_as(
                        Severity::Error,
                        ExitClass::ConfigError,
                        span_of(&a.span),
                        format!(
                            "({}) duplicate VRID conflict with {} VRID {vrid}",
                            a.name, b.name
                        ),
                    );
                }
                continue;
            }
            if a.interface != b.interface {
                continue;
            }
            let group = |i: &Instance| {
                i.mcast_dst_ip.unwrap_or(match i.family {
                    Some(Family::Ipv6) => IpAddr::V6(g.vrrp_mcast_group6),
                    _ => IpAddr::V4(g.vrrp_mcast_group4),
                })
            };
            if group(a) != group(b) {
                continue;
            }
            d.push_as(
                Severity::Error,
                ExitClass::ConfigError,
                span_of(&a.span),
                format!(
                    "{} and {} both use VRID {vrid} with IPv{fam} on interface {}",
                    b.name,
                    a.name,
                    a.interface.as_deref().unwrap_or("?")
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn defs(security: bool, script_user: Option<&str>) -> GlobalDefs {
        GlobalDefs {
            enable_script_security: security,
            script_user: script_user.map(|u| ScriptUser {
                user: u.into(),
                group: None,
            }),
            ..GlobalDefs::default()
        }
    }

    fn user(name: &str) -> DefaultScriptUser {
        DefaultScriptUser::User(ScriptUser {
            user: name.into(),
            group: None,
        })
    }

    #[test]
    fn default_script_user_follows_keepalived() {
        let with_ks = |u: &str, _: Option<&str>| matches!(u, "keepalived_script" | "root" | "svc");
        let without_ks = |u: &str, _: Option<&str>| matches!(u, "root" | "svc");
        // keepalived_script when it exists, with or without script security.
        for security in [false, true] {
            let d = default_script_user(&defs(security, None), with_ks);
            assert_eq!(d, user("keepalived_script"));
            assert!(!d.is_root());
        }
        // Otherwise root, unless script security wants a user it cannot have.
        let d = default_script_user(&defs(false, None), without_ks);
        assert_eq!(d, DefaultScriptUser::Root);
        assert!(d.is_root());
        let d = default_script_user(&defs(true, None), without_ks);
        assert_eq!(d, DefaultScriptUser::Unavailable);
        assert!(
            d.is_root(),
            "notify scripts then run as root and are checked so"
        );
        // script_user wins; an unknown one leaves no default at all (never root by accident).
        assert_eq!(
            default_script_user(&defs(true, Some("svc")), without_ks),
            user("svc")
        );
        assert!(default_script_user(&defs(false, Some("root")), without_ks).is_root());
        assert_eq!(
            default_script_user(&defs(false, Some("nosuch")), with_ks),
            DefaultScriptUser::Unavailable
        );
    }

    #[test]
    fn an_unknown_script_user_removes_scripts_without_their_own_user() {
        let mut cfg = Config {
            global_defs: defs(false, Some("nosuch")),
            ..Config::default()
        };
        let script = |user: Option<&str>| Script {
            args: vec!["/bin/true".into()],
            user: user.map(|u| ScriptUser {
                user: u.into(),
                group: None,
            }),
        };
        for (name, u) in [("plain", None), ("own", Some("root"))] {
            let mut s = VrrpScript::new(name.into(), Span::new(&Arc::new("t.conf".into()), 1, 1));
            s.script = Some(script(u));
            cfg.vrrp_scripts.push(s);
        }
        let mut d = Diagnostics::default();
        let default = default_script_user(&cfg.global_defs, |u, _| u == "root");
        check_default_script_user(&mut cfg, &mut d, &default);
        let msgs: Vec<&str> = d.items.iter().map(|i| i.message.as_str()).collect();
        assert_eq!(
            msgs,
            [
                "Error setting global script uid/gid",
                "Unable to set default user for vrrp script plain - removing"
            ]
        );
        let names: Vec<&str> = cfg.vrrp_scripts.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["own"]);
    }

    #[test]
    fn a_script_whose_own_user_does_not_exist_is_removed() {
        let mut cfg = Config::default();
        for (name, user) in [("known", "root"), ("unknown", "nosuchuser")] {
            let mut s = VrrpScript::new(name.into(), Span::new(&Arc::new("t.conf".into()), 7, 1));
            s.script = Some(Script {
                args: vec!["/bin/true".into(), "x".into()],
                user: Some(ScriptUser {
                    user: user.into(),
                    group: None,
                }),
            });
            cfg.vrrp_scripts.push(s);
        }
        let mut d = Diagnostics::default();
        check_script_users(&mut cfg, &mut d, |u, _| u == "root");
        let msgs: Vec<(&str, Option<u32>)> = d
            .items
            .iter()
            .map(|i| (i.message.as_str(), i.span.as_ref().map(|s| s.line)))
            .collect();
        assert_eq!(
            msgs,
            [("Unable to set uid/gid for script /bin/true x", Some(7))]
        );
        let names: Vec<&str> = cfg.vrrp_scripts.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["known"]);
    }
}
