//! Lowering: the generic block tree becomes the typed [`Config`]. Each keyword's value is read
//! here with keepalived's ranges and messages; keywords are classified by the table in
//! [`super::keywords`] (unknown → keepalived's warning, ignored/unsupported → a note).

use std::net::IpAddr;

use super::address::{self, TrackKind};
use super::diag::Diagnostics;
use super::keywords::{self, Section, Status};
use super::model::*;
use super::parser::Node;
use super::values::{arg, bool_arg, int, int_arg, timer_arg};

/// keepalived's TIMER_MAX_SEC for `preempt_delay` and friends.
const TIMER_MAX_US: u64 = 1000 * SECOND_US;

pub fn lower(roots: &[Node], d: &mut Diagnostics) -> Config {
    let mut cfg = Config::default();
    for node in roots {
        match node.name() {
            "global_defs" => {
                require_block(d, node);
                global_defs(&mut cfg.global_defs, node, d);
            }
            "vrrp_script" => {
                if let Some(name) = block_name(d, node, "vrrp_script") {
                    if cfg.vrrp_scripts.iter().any(|s| s.name == name) {
                        d.warn(
                            node.span(),
                            format!("vrrp_script {name} already defined - ignoring"),
                        );
                        continue;
                    }
                    cfg.vrrp_scripts.push(vrrp_script(name, node, d));
                }
            }
            "track_file" | "vrrp_track_file" => {
                if node.name() == "vrrp_track_file" {
                    d.warn(
                        node.span(),
                        "vrrp_track_file is deprecated - please use track_file",
                    );
                }
                if let Some(name) = block_name(d, node, node.name()) {
                    cfg.track_files.push(track_file(name, node, d));
                }
            }
            "vrrp_instance" => {
                let Some(name) = sole_name(d, node, "vrrp_instance must have a name") else {
                    continue;
                };
                if cfg.vrrp_instances.iter().any(|i| i.name == name) {
                    d.warn(node.span(), format!("vrrp instance {name} already defined"));
                    continue;
                }
                cfg.vrrp_instances.push(instance(name, node, d));
            }
            "vrrp_sync_group" => {
                let Some(name) = sole_name(d, node, "vrrp_sync_group must have a name - skipping")
                else {
                    continue;
                };
                if cfg.vrrp_sync_groups.iter().any(|g| g.name == name) {
                    d.warn(
                        node.span(),
                        format!("vrrp sync group {name} already defined"),
                    );
                    continue;
                }
                cfg.vrrp_sync_groups.push(sync_group(name, node, d));
            }
            _ => {
                unhandled(d, Section::Root, node);
            }
        }
    }
    cfg
}

/// Diagnostic for a keyword the caller does not handle itself, from the keyword table.
/// Returns the table status (None = unknown).
fn unhandled(d: &mut Diagnostics, section: Section, node: &Node) -> Option<Status> {
    let name = node.name();
    match keywords::lookup(section, name) {
        None => {
            d.warn(node.span(), format!("Unknown keyword '{name}'"));
            None
        }
        Some(kw) => {
            let why = if kw.note.is_empty() {
                String::new()
            } else {
                format!(" ({})", kw.note)
            };
            match kw.status {
                Status::OtherPart => d.note(
                    node.span(),
                    format!("'{name}' block skipped: vrrpd only implements VRRP{why}"),
                ),
                Status::NotSupported => d.note(
                    node.span(),
                    format!("'{name}' is not supported by vrrpd - ignored{why}"),
                ),
                Status::AcceptedIgnored => {
                    d.note(node.span(), format!("'{name}' has no effect in vrrpd{why}"))
                }
                // A supported keyword reaching here is one whose handler rejected its form.
                Status::Supported => d.warn(node.span(), format!("'{name}' not valid here")),
            }
            Some(kw.status)
        }
    }
}

/// Keywords of a `vrrp_instance` that take a `{ … }` block.
const INSTANCE_BLOCKS: &[&str] = &[
    "virtual_ipaddress",
    "virtual_ipaddress_excluded",
    "virtual_routes",
    "virtual_rules",
    "unicast_peer",
    "authentication",
    "track_interface",
    "track_script",
    "track_file",
    "track_process",
    "track_bfd",
];
/// Keywords of a `vrrp_sync_group` that take a `{ … }` block.
const SYNC_GROUP_BLOCKS: &[&str] = &[
    "group",
    "track_interface",
    "track_script",
    "track_file",
    "track_process",
    "track_bfd",
];

/// The statements of `node`'s block as keepalived 2.2.7 reads them. A keyword of `section` that
/// takes no block but is given one gets keepalived's "Unexpected '{' - ignoring", and the
/// block's statements are read as if written in its place (keepalived's effect). keepalived
/// then also ends the enclosing block at that block's `}`; vrrpd pairs the braces as written
/// (docs/configuration.md, "vrrpd check"). An unknown keyword's block is skipped with the
/// unknown-keyword warning and a note that keepalived would read its contents here, and so is the
/// block of a keyword vrrpd does not support.
fn statements<'a>(
    node: &'a Node,
    section: Section,
    takes_block: &[&str],
    d: &mut Diagnostics,
) -> Vec<&'a Node> {
    let mut out = Vec::new();
    for n in node.children() {
        out.push(n);
        let Some(block) = &n.block else { continue };
        if takes_block.contains(&n.name()) {
            continue;
        }
        let known = keywords::lookup(section, n.name());
        if known.is_some_and(|k| !matches!(k.status, Status::Supported | Status::AcceptedIgnored)) {
            // Features vrrpd skips (newer keepalived blocks such as auth_hmac): their block
            // is theirs, and the keyword's own note says it is skipped.
            continue;
        }
        if known.is_some() {
            d.warn(&block.open, "Unexpected '{' - ignoring");
            // Bounded: the parser caps block nesting.
            let inner = statements(n, section, takes_block, d);
            out.extend(inner);
        } else {
            d.note(
                &block.open,
                format!(
                    "keepalived 2.2.7 would read the statements of unknown block '{}' as part of the enclosing block; vrrpd skips them",
                    n.name()
                ),
            );
        }
    }
    out
}

fn require_block(d: &mut Diagnostics, node: &Node) {
    if node.block.is_none() {
        d.warn(
            node.span(),
            format!("'{{' missing from beginning of block {}", node.name()),
        );
    }
}

fn block_name(d: &mut Diagnostics, node: &Node, what: &str) -> Option<String> {
    require_block(d, node);
    match node.args.first() {
        Some(t) => {
            if node.args.len() > 1 {
                d.warn(
                    &node.args[1].span,
                    format!(
                        "Block {what} has extra parameters {} ...",
                        node.args[1].text
                    ),
                );
            }
            Some(t.text.clone())
        }
        None => {
            d.warn(node.span(), format!("{what} must have a name - skipping"));
            None
        }
    }
}

/// The name of a block that keepalived skips whole unless the name is its only word
/// (vrrp_handler, vrrp_sync_group_handler): `vrrp_instance A backup {` runs nothing there either.
fn sole_name(d: &mut Diagnostics, node: &Node, must_have_a_name: &str) -> Option<String> {
    require_block(d, node);
    match node.args.as_slice() {
        [name] => Some(name.text.clone()),
        args => {
            let at = args.get(1).map_or(node.span(), |extra| &extra.span);
            d.warn(at, must_have_a_name);
            None
        }
    }
}

/// `CMD [USER [GROUP]]`, where CMD is usually one quoted string holding the arguments. Command
/// strings are the only words read with their escapes (keepalived's alloc_strvec_quoted_escaped).
fn script(d: &mut Diagnostics, node: &Node) -> Option<Script> {
    let first = arg(d, node, 0)?;
    let args: Vec<String> = if first.quoted {
        shell_words(first.escaped())
    } else {
        vec![first.escaped().to_string()]
    };
    if args.is_empty() {
        d.warn(
            &first.span,
            format!("{} with an empty command - ignoring", node.name()),
        );
        return None;
    }
    let user = node
        .args
        .get(1)
        .map(|u| user_group(&u.text, node.args.get(2).map(|g| g.text.as_str())));
    Some(Script { args, user })
}

/// `vrrp_script`'s `script`: all words are the command line.
fn command(d: &mut Diagnostics, node: &Node) -> Option<Script> {
    arg(d, node, 0)?;
    let args: Vec<String> = node
        .args
        .iter()
        .flat_map(|t| {
            if t.quoted {
                shell_words(t.escaped())
            } else {
                vec![t.escaped().to_string()]
            }
        })
        .collect();
    if args.is_empty() {
        return None;
    }
    Some(Script { args, user: None })
}

/// Splits a quoted command string into words; inner quotes group words, as keepalived does.
fn shell_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (None, ' ' | '\t') => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn user_group(user: &str, group: Option<&str>) -> ScriptUser {
    // `USER:GROUP` is accepted as well as `USER GROUP`.
    match (user.split_once(':'), group) {
        (Some((u, g)), _) => ScriptUser {
            user: u.to_string(),
            group: Some(g.to_string()),
        },
        (None, g) => ScriptUser {
            user: user.to_string(),
            group: g.map(str::to_string),
        },
    }
}

/// keepalived's `UINT_MAX`, and `UINT_MAX / TIMER_HZ`: the bounds of its GARP delays, which it
/// keeps in microseconds.
const UINT_MAX: u64 = u32::MAX as u64;
const UINT_MAX_SECS: u64 = UINT_MAX / 100;
const INT_MAX: u64 = i32::MAX as u64;

/// An unsigned argument 0 in `[min, max]` as keepalived's handlers read them
/// (read_unsigned_strvec's warning, then the keyword's own `failed` line with the value).
fn uint_arg(
    d: &mut Diagnostics,
    node: &Node,
    min: u64,
    max: u64,
    failed: impl FnOnce(&str) -> String,
) -> Option<u32> {
    let tok = arg(d, node, 0)?;
    match super::values::unsigned(d, tok, min, max) {
        Some(v) => Some(v as u32),
        None => {
            d.warn(&tok.span, failed(&tok.text));
            None
        }
    }
}

/// keepalived's GARP repeat counts: 0 is taken as 1, with its warning.
fn at_least_one(d: &mut Diagnostics, node: &Node, v: u32, what: &str) -> u32 {
    if v == 0 {
        d.warn(
            node.span(),
            format!("{what} must be greater than 0, setting to 1"),
        );
    }
    v.max(1)
}

fn global_defs(g: &mut GlobalDefs, node: &Node, d: &mut Diagnostics) {
    for n in node.children() {
        match n.name() {
            "router_id" => g.router_id = arg(d, n, 0).map(|t| t.text.clone()),
            "state_file_location" => {
                g.state_file_location = arg(d, n, 0).map(|t| t.text.clone().into())
            }
            "stats_file_location" => {
                g.stats_file_location = arg(d, n, 0).map(|t| t.text.clone().into())
            }
            "vrrp_mcast_group4" => {
                if let Some(t) = arg(d, n, 0) {
                    match t.text.parse::<std::net::Ipv4Addr>() {
                        Ok(a) if a.is_multicast() => g.vrrp_mcast_group4 = a,
                        _ => d.warn(&t.span, format!("vrrp_mcast_group4 '{}' is not a valid multicast address - ignoring", t.text)),
                    }
                }
            }
            "vrrp_mcast_group6" => {
                if let Some(t) = arg(d, n, 0) {
                    match t.text.parse::<std::net::Ipv6Addr>() {
                        Ok(a) if a.is_multicast() => g.vrrp_mcast_group6 = a,
                        _ => d.warn(&t.span, format!("vrrp_mcast_group6 '{}' is not a valid multicast address - ignoring", t.text)),
                    }
                }
            }
            "vrrp_version" => {
                if let Some(v) = int_arg(d, n, 2, 3) {
                    g.vrrp_version = v as u8;
                }
            }
            "vrrp_garp_master_delay" => set(
                &mut g.vrrp_garp_master_delay,
                uint_arg(d, n, 0, UINT_MAX_SECS, |v| {
                    format!("vrrp_garp_master_delay '{v}' invalid - ignoring")
                }),
            ),
            "vrrp_garp_master_repeat" | "vrrp_garp_master_refresh_repeat" => {
                let nm = n.name();
                if let Some(v) = uint_arg(d, n, 0, UINT_MAX, |v| {
                    format!("{nm} '{v}' invalid - ignoring")
                }) {
                    let v = at_least_one(d, n, v, nm);
                    if nm == "vrrp_garp_master_repeat" {
                        g.vrrp_garp_master_repeat = v;
                    } else {
                        g.vrrp_garp_master_refresh_repeat = v;
                    }
                }
            }
            "vrrp_garp_master_refresh" => set(
                &mut g.vrrp_garp_master_refresh,
                uint_arg(d, n, 0, UINT_MAX, |v| {
                    format!("Invalid vrrp_garp_master_refresh '{v}' - ignoring")
                }),
            ),
            "vrrp_garp_lower_prio_delay" => {
                g.vrrp_garp_lower_prio_delay = uint_arg(d, n, 0, UINT_MAX_SECS, |v| {
                    format!("vrrp_garp_lower_prio_delay '{v}' invalid - ignoring")
                })
                .or(g.vrrp_garp_lower_prio_delay)
            }
            "vrrp_garp_lower_prio_repeat" => {
                g.vrrp_garp_lower_prio_repeat = uint_arg(d, n, 0, INT_MAX, |v| {
                    format!("Invalid vrrp_garp_lower_prio_repeat '{v}'")
                })
                .or(g.vrrp_garp_lower_prio_repeat)
            }
            "vrrp_garp_interval" | "vrrp_gna_interval" => {
                // keepalived 2.2.7 accepts (0, 4294.967295] s; 0 is rejected.
                if let Some(t) = arg(d, n, 0) {
                    match super::values::parse_timer_us(&t.text) {
                        Ok(v) if (1..=u32::MAX as u64).contains(&v) => {
                            if n.name() == "vrrp_garp_interval" {
                                g.vrrp_garp_interval_us = v;
                            } else {
                                g.vrrp_gna_interval_us = v;
                            }
                        }
                        _ => d.warn(&t.span, format!("{} '{}' is invalid", n.name(), t.text)),
                    }
                }
            }
            "vrrp_min_garp" => set(&mut g.vrrp_min_garp, bool_arg(d, n)),
            "vrrp_down_timer_adverts" => set(
                &mut g.vrrp_down_timer_adverts,
                uint_arg(d, n, 1, 100, |v| {
                    format!("Invalid vrrp_down_timer_adverts [1:100] '{v}'")
                }),
            ),
            "vrrp_lower_prio_no_advert" => set(&mut g.vrrp_lower_prio_no_advert, bool_arg(d, n)),
            "vrrp_higher_prio_send_advert" => {
                set(&mut g.vrrp_higher_prio_send_advert, bool_arg(d, n))
            }
            "vrrp_skip_check_adv_addr" => set(&mut g.vrrp_skip_check_adv_addr, bool_arg(d, n)),
            "vrrp_strict" => g.vrrp_strict = true,
            "vrrp_check_unicast_src" => g.vrrp_check_unicast_src = true,
            "v3_checksum_as_v2" => set(&mut g.v3_checksum_as_v2, bool_arg(d, n)),
            "vrrp_owner_ignore_adverts" => set(&mut g.vrrp_owner_ignore_adverts, bool_arg(d, n)),
            "vrrp_startup_delay" => set(
                &mut g.vrrp_startup_delay_us,
                timer_arg(d, n, 0, TIMER_MAX_US),
            ),
            "vrrp_delay_after_boot" => set(
                &mut g.vrrp_delay_after_boot_us,
                timer_arg(d, n, 0, TIMER_MAX_US),
            ),
            "enable_script_security" => g.enable_script_security = true,
            "script_user" => {
                if let Some(u) = arg(d, n, 0) {
                    g.script_user =
                        Some(user_group(&u.text, n.args.get(1).map(|t| t.text.as_str())));
                }
            }
            "notify_fifo" => fifo(d, n, &mut g.notify_fifo),
            "vrrp_notify_fifo" => fifo(d, n, &mut g.vrrp_notify_fifo),
            "notify_fifo_script" => fifo_script(d, n, &mut g.notify_fifo),
            "vrrp_notify_fifo_script" => fifo_script(d, n, &mut g.vrrp_notify_fifo),
            "vrrp_notify_priority_changes" => {
                set(&mut g.vrrp_notify_priority_changes, bool_arg(d, n))
            }
            "dynamic_interfaces" => {
                g.dynamic_interfaces = true;
                match n.args.first() {
                    Some(t) if t.text == "allow_if_changes" => {
                        g.dynamic_interfaces_allow_if_changes = true
                    }
                    Some(t) => d.warn(
                        &t.span,
                        format!("Unknown dynamic_interfaces option '{}'", t.text),
                    ),
                    None => {}
                }
            }
            _ => {
                unhandled(d, Section::GlobalDefs, n);
            }
        }
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

fn fifo(d: &mut Diagnostics, n: &Node, slot: &mut Option<NotifyFifo>) {
    let Some(path) = arg(d, n, 0) else { return };
    let script = slot.take().and_then(|f| f.script);
    *slot = Some(NotifyFifo {
        path: path.text.clone(),
        user: n.args.get(1).map(|t| t.text.clone()),
        group: n.args.get(2).map(|t| t.text.clone()),
        script,
    });
}

fn fifo_script(d: &mut Diagnostics, n: &Node, slot: &mut Option<NotifyFifo>) {
    let Some(s) = script(d, n) else { return };
    match slot {
        Some(f) => f.script = Some(s),
        None => d.warn(
            n.span(),
            format!("{} given without a fifo - ignoring", n.name()),
        ),
    }
}

fn vrrp_script(name: String, node: &Node, d: &mut Diagnostics) -> VrrpScript {
    let mut s = VrrpScript::new(name, node.span().clone());
    for n in statements(node, Section::VrrpScript, &[], d) {
        match n.name() {
            "script" => s.script = command(d, n),
            "interval" => {
                if let Some(v) = timer_arg(d, n, 0, u32::MAX as u64 / 1000 * 1000) {
                    if v == 0 {
                        d.warn(
                            n.span(),
                            format!(
                                "({}): vrrp script interval must be greater than 0, setting to 1",
                                s.name
                            ),
                        );
                    }
                    s.interval_us = v.max(SECOND_US);
                    if v > 0 && v < SECOND_US {
                        s.interval_us = v;
                    }
                }
            }
            "timeout" => {
                if let Some(v) = timer_arg(d, n, 0, u32::MAX as u64 / 1000 * 1000) {
                    if v == 0 {
                        d.warn(
                            n.span(),
                            format!(
                                "({}): vrrp script timeout must be greater than 0, setting to 1",
                                s.name
                            ),
                        );
                    }
                    s.timeout_us = Some(if v == 0 { SECOND_US } else { v });
                }
            }
            "weight" => {
                if let Some(t) = arg(d, n, 0) {
                    match super::values::int(d, t, -253, 253) {
                        Some(w) => s.weight = w as i32,
                        None => d.warn(
                            &t.span,
                            format!(
                                "vrrp_script {} weight {} must be in [-253, 253]",
                                s.name, t.text
                            ),
                        ),
                    }
                    match n.args.get(1) {
                        Some(r) if r.text == "reverse" => s.weight_reverse = true,
                        Some(r) => d.warn(
                            &r.span,
                            format!("vrrp_script {} unknown weight option {}", s.name, r.text),
                        ),
                        None => {}
                    }
                }
            }
            "rise" | "fall" => {
                let what = n.name();
                if let Some(t) = arg(d, n, 0) {
                    match super::values::unsigned(d, t, 1, INT_MAX) {
                        Some(v) if what == "rise" => s.rise = v as u32,
                        Some(v) => s.fall = v as u32,
                        None => d.warn(
                            &t.span,
                            format!(
                                "({}): vrrp script {what} value '{}' invalid, defaulting to 1",
                                s.name, t.text
                            ),
                        ),
                    }
                }
            }
            "user" => {
                if let Some(u) = arg(d, n, 0) {
                    let user = user_group(&u.text, n.args.get(1).map(|t| t.text.as_str()));
                    match &mut s.script {
                        Some(sc) => sc.user = Some(user),
                        None => {
                            s.script = Some(Script {
                                args: Vec::new(),
                                user: Some(user),
                            })
                        }
                    }
                }
            }
            "init_fail" => s.init_fail = true,
            _ => {
                unhandled(d, Section::VrrpScript, n);
            }
        }
    }
    if s.script.as_ref().is_none_or(|sc| sc.args.is_empty()) {
        d.warn(
            node.span(),
            format!("No script set for vrrp_script {} - removing", s.name),
        );
        s.script = None;
        s.enabled = false;
    }
    s
}

fn track_file(name: String, node: &Node, d: &mut Diagnostics) -> TrackFile {
    let mut t = TrackFile {
        name,
        file: None,
        weight: 1,
        weight_reverse: false,
        init_file: None,
        span: Some(node.span().clone()),
    };
    for n in node.children() {
        match n.name() {
            "file" => {
                if let Some(f) = arg(d, n, 0) {
                    if t.file.is_some() {
                        d.warn(
                            &f.span,
                            format!(
                                "File already set for track file {} - ignoring {}",
                                t.name, f.text
                            ),
                        );
                    } else {
                        t.file = Some(f.text.clone());
                    }
                }
            }
            "weight" => {
                if let Some(w) = arg(d, n, 0) {
                    match w.text.parse::<i32>() {
                        Ok(v) => t.weight = v,
                        Err(_) => d.warn(
                            &w.span,
                            format!(
                                "Weight ({}) for track_file {} must be between [{}:{}] - ignoring",
                                w.text,
                                t.name,
                                i32::MIN,
                                i32::MAX
                            ),
                        ),
                    }
                    if let Some(r) = n.args.get(1) {
                        if r.text == "reverse" {
                            t.weight_reverse = true;
                        } else {
                            d.warn(
                                &r.span,
                                format!("track_file {} unknown weight option {}", t.name, r.text),
                            );
                        }
                    }
                }
            }
            "init_file" => {
                let mut init = InitFile {
                    value: 0,
                    overwrite: false,
                };
                for a in &n.args {
                    if a.text == "overwrite" {
                        init.overwrite = true;
                    } else if let Some(v) = int(d, a, i32::MIN as i64, i32::MAX as i64) {
                        init.value = v;
                    }
                }
                t.init_file = Some(init);
            }
            _ => {
                unhandled(d, Section::TrackFile, n);
            }
        }
    }
    if t.file.is_none() {
        d.warn(
            node.span(),
            format!("No file set for track_file {} - removing", t.name),
        );
    }
    t
}

fn instance(name: String, node: &Node, d: &mut Diagnostics) -> Instance {
    let mut inst = Instance::new(name, node.span().clone());
    let iname = inst.name.clone();
    for n in statements(node, Section::VrrpInstance, INSTANCE_BLOCKS, d) {
        let nm = n.name();
        inst.keyword_spans.insert(nm.to_string(), n.span().clone());
        match nm {
            "state" => {
                if let Some(t) = arg(d, n, 0) {
                    match t.text.as_str() {
                        "MASTER" => inst.state = Some(InitialState::Master),
                        "BACKUP" => {
                            if inst.state == Some(InitialState::Master) {
                                d.warn(
                                    &t.span,
                                    format!(
                                        "({iname}) state previously set as MASTER - ignoring BACKUP"
                                    ),
                                );
                            } else {
                                inst.state = Some(InitialState::Backup);
                            }
                        }
                        other => {
                            d.warn(
                                &t.span,
                                format!("({iname}) unknown state '{other}', defaulting to BACKUP"),
                            );
                            inst.state = Some(InitialState::Backup);
                        }
                    }
                }
            }
            "interface" => {
                if let Some(t) = arg(d, n, 0) {
                    if t.text.len() > 15 || t.text.is_empty() || t.text.contains(['/', ' ']) {
                        d.warn(
                            &t.span,
                            format!("Interface name '{}' too long - ignoring", t.text),
                        );
                    } else if t.text == "lo" {
                        d.warn(&t.span, format!("({iname}) cannot use a loopback interface ({}) for vrrp - ignoring", t.text));
                    } else {
                        inst.interface = Some(t.text.clone());
                    }
                }
            }
            "virtual_router_id" => {
                if let Some(t) = arg(d, n, 0) {
                    match super::values::unsigned(d, t, 1, 255) {
                        Some(v) => inst.virtual_router_id = Some(v as u8),
                        None => d.warn(
                            &t.span,
                            format!(
                                "({iname}): VRID '{}' not valid - must be between 1 & 255",
                                t.text
                            ),
                        ),
                    }
                }
            }
            "priority" => {
                if let Some(t) = arg(d, n, 0) {
                    match super::values::unsigned(d, t, 1, 255) {
                        Some(v) => inst.priority = Some(v as u8),
                        None => {
                            d.warn(&t.span, format!("({iname}) Priority not valid! must be between 1 & 255. Using default 100"));
                            inst.priority = Some(100);
                        }
                    }
                }
            }
            "advert_int" => {
                if let Some(t) = arg(d, n, 0) {
                    // keepalived's range is [0.01, 255] s; below it the value is refused and
                    // the default (1 s) kept, not rounded up.
                    match super::values::decimal_secs(d, t, 10_000, 255 * SECOND_US) {
                        Some(v) => inst.advert_int_us = v,
                        None => d.warn(
                            &t.span,
                            format!(
                                "({iname}) Advert interval ({}) not valid! Must be > 0 - ignoring",
                                t.text
                            ),
                        ),
                    }
                }
            }
            "version" => {
                if let Some(t) = arg(d, n, 0) {
                    match super::values::int(d, t, 2, 3) {
                        Some(v) => inst.version = Some(v as u8),
                        None => {
                            d.warn(&t.span, format!("({iname}): Version must be either 2 or 3"))
                        }
                    }
                }
            }
            "authentication" => {
                require_block(d, n);
                authentication(&mut inst, n, d);
            }
            "virtual_ipaddress" | "virtual_ipaddress_excluded" => {
                require_block(d, n);
                let excluded = nm == "virtual_ipaddress_excluded";
                for line in n.children() {
                    let Some(vip) = address::virtual_address(d, line) else {
                        continue;
                    };
                    if !excluded {
                        if !inst.claim_family(&vip.address) {
                            d.warn(&line.keyword.span, format!("({iname}): address family must match VRRP instance [{}] - ignoring", line.keyword.text));
                            continue;
                        }
                        inst.virtual_ipaddress.push(vip);
                    } else {
                        inst.virtual_ipaddress_excluded.push(vip);
                    }
                }
            }
            "no_virtual_ipaddress" => inst.no_virtual_ipaddress = true,
            "virtual_routes" | "virtual_rules" => {
                require_block(d, n);
                unhandled(d, Section::VrrpInstance, n);
                let list: Vec<VirtualRoute> = n
                    .children()
                    .iter()
                    .filter_map(|l| address::route_line(d, l, &iname))
                    .collect();
                if nm == "virtual_routes" {
                    inst.virtual_routes.extend(list);
                } else {
                    inst.virtual_rules.extend(list);
                }
            }
            "unicast_src_ip" | "mcast_src_ip" => {
                if let Some(t) = arg(d, n, 0) {
                    match t.text.parse::<IpAddr>() {
                        Ok(a) if !inst.claim_family(&a) => d.warn(&t.span, format!("Configuration error: VRRP instance[{iname}] and src address[{}] MUST be of the same family !!! Skipping...", t.text)),
                        Ok(a) => {
                            if inst.src_ip.is_some() {
                                d.warn(&t.span, format!("({iname}) unicast_src_ip/mcast_src_ip already specified - ignoring {}", t.text));
                            } else {
                                inst.src_ip = Some(a);
                            }
                        }
                        Err(_) => d.warn(&t.span, format!("Configuration error: VRRP instance[{iname}] malformed src address[{}]. Skipping...", t.text)),
                    }
                }
                if nm == "unicast_src_ip" {
                    inst.unicast_configured = true;
                }
            }
            "unicast_peer" => {
                require_block(d, n);
                inst.unicast_configured = true;
                for line in n.children() {
                    if let Some(p) = address::unicast_peer(d, line, &iname, &mut inst.family) {
                        inst.unicast_peer.push(p);
                    }
                }
            }
            "unicast_ttl" => {
                if let Some(t) = arg(d, n, 0) {
                    match super::values::unsigned(d, t, 0, 255) {
                        Some(v) => {
                            inst.unicast_configured = true;
                            inst.unicast_ttl = Some(v as u8)
                        }
                        None => d.warn(
                            &t.span,
                            format!(
                                "({iname}): TTL '{}' not valid - must be between 0 & 255",
                                t.text
                            ),
                        ),
                    }
                }
            }
            "unicast_fault_no_peer" => {
                inst.unicast_configured = true;
                inst.unicast_fault_no_peer = true;
            }
            "check_unicast_src" => {
                inst.unicast_configured = true;
                inst.check_unicast_src = bool_arg(d, n).or(inst.check_unicast_src);
            }
            "mcast_dst_ip" => {
                if let Some(t) = arg(d, n, 0) {
                    match t.text.parse::<IpAddr>() {
                        // keepalived takes the family before it checks for multicast.
                        Ok(a) if !inst.claim_family(&a) => d.warn(
                            &t.span,
                            format!(
                                "({iname}) mcast dest address {} MUST match VRRP instance family. Skipping...",
                                t.text
                            ),
                        ),
                        Ok(a) if a.is_multicast() => inst.mcast_dst_ip = Some(a),
                        Ok(_) => d.warn(
                            &t.span,
                            format!(
                                "({iname}) mcast_dst_ip {} not multicast. Skipping...",
                                t.text
                            ),
                        ),
                        Err(_) => d.warn(
                            &t.span,
                            format!(
                                "({iname}) malformed mcast dest address {}. Skipping...",
                                t.text
                            ),
                        ),
                    }
                }
            }
            // Deprecated, but still what makes an instance IPv6 (and so VRRPv3) before any
            // address says so; IPv4 addresses after it are then refused.
            "native_ipv6" => {
                if inst.family == Some(Family::Ipv4) {
                    d.warn(
                        n.span(),
                        format!("({iname}) Cannot specify native_ipv6 with IPv4 addresses"),
                    );
                } else {
                    inst.family = Some(Family::Ipv6);
                    inst.version = Some(3);
                }
            }
            "nopreempt" => inst.nopreempt = true,
            "preempt" => inst.nopreempt = false,
            "preempt_delay" => {
                if let Some(t) = arg(d, n, 0) {
                    match super::values::decimal_secs(d, t, 0, TIMER_MAX_US) {
                        Some(v) => inst.preempt_delay_us = v,
                        None => d.warn(
                            &t.span,
                            format!("({iname}) Preempt_delay not valid! must be between 0-1000"),
                        ),
                    }
                }
            }
            "track_interface" => track_list(
                d,
                n,
                &iname,
                TrackKind::Interface,
                &mut inst.track_interface,
            ),
            "track_script" => track_list(d, n, &iname, TrackKind::Script, &mut inst.track_script),
            "track_file" => track_list(d, n, &iname, TrackKind::File, &mut inst.track_file),
            "dont_track_primary" => inst.dont_track_primary = true,
            "notify_master"
            | "notify_backup"
            | "notify_fault"
            | "notify_stop"
            | "notify"
            | "notify_master_rx_lower_pri"
            | "notify_deleted" => notify(d, n, &iname, &mut inst.notify),
            "notify_priority_changes" => {
                inst.notify_priority_changes = bool_arg(d, n).or(inst.notify_priority_changes)
            }
            "garp_master_delay" => {
                inst.garp.garp_master_delay = uint_arg(d, n, 0, UINT_MAX_SECS, |v| {
                    format!("({iname}): garp_master_delay '{v}' invalid - ignoring")
                })
                .or(inst.garp.garp_master_delay)
            }
            "garp_master_repeat" | "garp_master_refresh_repeat" => {
                if let Some(v) = uint_arg(d, n, 0, UINT_MAX, |v| {
                    format!("({iname}): {nm} '{v}' invalid - ignoring")
                }) {
                    let v = at_least_one(d, n, v, &format!("({iname}): {nm}"));
                    let slot = if nm == "garp_master_repeat" {
                        &mut inst.garp.garp_master_repeat
                    } else {
                        &mut inst.garp.garp_master_refresh_repeat
                    };
                    *slot = Some(v);
                }
            }
            "garp_master_refresh" => {
                inst.garp.garp_master_refresh = uint_arg(d, n, 0, UINT_MAX, |v| {
                    format!("({iname}): Invalid garp_master_refresh '{v}' - ignoring")
                })
                .or(inst.garp.garp_master_refresh)
            }
            "garp_lower_prio_delay" => {
                inst.garp.garp_lower_prio_delay = uint_arg(d, n, 0, UINT_MAX_SECS, |v| {
                    format!("({iname}): garp_lower_prio_delay '{v}' invalid - ignoring")
                })
                .or(inst.garp.garp_lower_prio_delay)
            }
            "garp_lower_prio_repeat" => {
                inst.garp.garp_lower_prio_repeat = uint_arg(d, n, 0, INT_MAX, |v| {
                    format!("({iname}): Invalid garp_lower_prio_repeat '{v}'")
                })
                .or(inst.garp.garp_lower_prio_repeat)
            }
            "accept" => inst.accept = Some(true),
            "no_accept" => inst.accept = Some(false),
            "strict_mode" => inst.strict_mode = bool_arg(d, n).or(inst.strict_mode),
            "skip_check_adv_addr" => match n.args.first() {
                // keepalived names the instance here, unlike its other <BOOL>s.
                Some(t) if super::values::parse_bool(&t.text).is_none() => d.warn(
                    &t.span,
                    format!("({iname}) invalid skip_check_adv_addr {} specified", t.text),
                ),
                _ => inst.skip_check_adv_addr = bool_arg(d, n).or(inst.skip_check_adv_addr),
            },
            "down_timer_adverts" => {
                inst.down_timer_adverts = uint_arg(d, n, 1, 100, |v| {
                    format!("({iname}): Invalid down_timer_adverts [1:100] '{v}'")
                })
                .or(inst.down_timer_adverts)
            }
            "lower_prio_no_advert" => {
                inst.lower_prio_no_advert = bool_arg(d, n).or(inst.lower_prio_no_advert)
            }
            "higher_prio_send_advert" => {
                inst.higher_prio_send_advert = bool_arg(d, n).or(inst.higher_prio_send_advert)
            }
            "owner_ignore_adverts" => {
                inst.owner_ignore_adverts = bool_arg(d, n).or(inst.owner_ignore_adverts)
            }
            "v3_checksum_as_v2" => {
                inst.v3_checksum_as_v2 = bool_arg(d, n).or(inst.v3_checksum_as_v2)
            }
            _ => {
                if unhandled(d, Section::VrrpInstance, n) == Some(Status::NotSupported)
                    && !inst.unsupported.iter().any(|u| u == nm)
                {
                    inst.unsupported.push(nm.to_string());
                }
            }
        }
    }
    inst
}

fn authentication(inst: &mut Instance, node: &Node, d: &mut Diagnostics) {
    let iname = inst.name.clone();
    let mut auth_type = inst.authentication.as_ref().map(|a| a.auth_type);
    let mut pass = inst
        .authentication
        .as_ref()
        .map(|a| a.auth_pass.clone())
        .unwrap_or_default();
    for n in node.children() {
        match n.name() {
            "auth_type" => {
                if let Some(t) = arg(d, n, 0) {
                    match t.text.as_str() {
                        "PASS" => auth_type = Some(AuthType::Pass),
                        "AH" => auth_type = Some(AuthType::Ah),
                        other => d.warn(
                            &t.span,
                            format!("({iname}) unknown authentication type '{other}'"),
                        ),
                    }
                }
            }
            "auth_pass" => {
                if let Some(t) = arg(d, n, 0) {
                    // keepalived copies the first 8 bytes, whatever they are.
                    let p = t.bytes();
                    if p.len() > 8 {
                        d.warn(&t.span, "Truncating auth_pass to 8 characters");
                    }
                    pass = p[..p.len().min(8)].to_vec();
                }
            }
            _ => {
                unhandled(d, Section::Authentication, n);
            }
        }
    }
    inst.authentication = auth_type.map(|auth_type| Authentication {
        auth_type,
        auth_pass: pass,
    });
}

fn track_list(
    d: &mut Diagnostics,
    n: &Node,
    owner: &str,
    kind: TrackKind,
    out: &mut Vec<TrackRef>,
) {
    require_block(d, n);
    for line in n.children() {
        let Some(r) = address::track_ref(d, line, owner, kind) else {
            continue;
        };
        if out.iter().any(|o| o.name == r.name) {
            d.warn(
                &line.keyword.span,
                format!(
                    "({owner}) duplicate {} {} - ignoring",
                    kind.keyword(),
                    r.name
                ),
            );
            continue;
        }
        out.push(r);
    }
}

fn notify(d: &mut Diagnostics, n: &Node, owner: &str, notify: &mut Notify) {
    let nm = n.name();
    if nm == "notify_deleted" {
        if notify.deleted.is_some() {
            d.warn(
                n.span(),
                format!("({owner}) notify_deleted already specified - ignoring"),
            );
            return;
        }
        notify.deleted = Some(if n.args.is_empty() {
            None
        } else {
            script(d, n)
        });
        return;
    }
    let slot = match nm {
        "notify_master" => &mut notify.master,
        "notify_backup" => &mut notify.backup,
        "notify_fault" => &mut notify.fault,
        "notify_stop" => &mut notify.stop,
        "notify_master_rx_lower_pri" => &mut notify.master_rx_lower_pri,
        _ => &mut notify.notify,
    };
    if slot.is_some() {
        let what = if nm == "notify" {
            "notify script".to_string()
        } else {
            format!("{nm} script")
        };
        d.warn(
            n.span(),
            format!(
                "({owner}) {what} already specified - ignoring {}",
                n.args.first().map(|t| t.text.as_str()).unwrap_or("")
            ),
        );
        return;
    }
    *slot = script(d, n);
}

fn sync_group(name: String, node: &Node, d: &mut Diagnostics) -> SyncGroup {
    let mut g = SyncGroup::new(name, node.span().clone());
    let gname = g.name.clone();
    for n in statements(node, Section::SyncGroup, SYNC_GROUP_BLOCKS, d) {
        match n.name() {
            "group" => {
                require_block(d, n);
                if !g.group.is_empty() {
                    d.warn(
                        n.span(),
                        format!("Group list already specified for sync group {gname}"),
                    );
                    continue;
                }
                for line in n.children() {
                    for tok in std::iter::once(&line.keyword).chain(line.args.iter()) {
                        g.group.push(tok.text.clone());
                    }
                }
                if g.group.is_empty() {
                    d.warn(
                        n.span(),
                        format!("Warning - sync group {gname} has empty group block"),
                    );
                }
            }
            "track_interface" => {
                track_list(d, n, &gname, TrackKind::Interface, &mut g.track_interface)
            }
            "track_script" => track_list(d, n, &gname, TrackKind::Script, &mut g.track_script),
            "track_file" => track_list(d, n, &gname, TrackKind::File, &mut g.track_file),
            "notify_master" | "notify_backup" | "notify_fault" | "notify_stop" | "notify" => {
                notify(d, n, &gname, &mut g.notify)
            }
            "notify_priority_changes" => {
                g.notify_priority_changes = bool_arg(d, n).or(g.notify_priority_changes)
            }
            "sync_group_tracking_weight" => g.sync_group_tracking_weight = true,
            "global_tracking" => {
                d.warn(n.span(), format!("({gname}) global_tracking is deprecated. Use track_interface/script/file on the sync group"));
            }
            _ => {
                unhandled(d, Section::SyncGroup, n);
            }
        }
    }
    g
}
