//! Line syntaxes inside instance blocks: virtual addresses (keepalived-behaviour.md §1.4),
//! `unicast_peer` entries, `virtual_routes`/`virtual_rules` lines and tracker references.

use std::net::IpAddr;

use super::diag::Diagnostics;
use super::model::{
    Broadcast, Family, PreferredLft, TrackRef, UnicastPeer, VirtualAddress, VirtualRoute,
};
use super::parser::Node;
use super::values::{self, parse_addr_prefix};

/// One `virtual_ipaddress` line; None (with a diagnostic) when the address is unusable.
pub fn virtual_address(d: &mut Diagnostics, node: &Node) -> Option<VirtualAddress> {
    let first = &node.keyword;
    let (address, prefix) = match parse_addr_prefix(&first.text) {
        Ok(v) => v,
        Err(_) => {
            // keepalived keeps an address whose prefix is out of range, with the full prefix.
            let (a, p) = first.text.split_once('/').unwrap_or((&first.text, ""));
            match a.parse::<IpAddr>() {
                Ok(addr) if !p.is_empty() => {
                    let max: u8 = if addr.is_ipv4() { 32 } else { 128 };
                    if let Err(msg) = values::check_unsigned(p, 0, u64::from(max)) {
                        d.warn(&first.span, msg);
                    }
                    d.warn(
                        &first.span,
                        format!(
                            "Invalid address prefix len {p} for address {} - using {max}",
                            first.text
                        ),
                    );
                    (addr, Some(max))
                }
                _ => {
                    d.warn(
                        &first.span,
                        format!("VRRP parsed invalid IP {}. skipping IP...", first.text),
                    );
                    return None;
                }
            }
        }
    };
    let mut vip = VirtualAddress {
        address,
        prefix_len: prefix.unwrap_or(if address.is_ipv4() { 32 } else { 128 }),
        broadcast: None,
        dev: None,
        scope: None,
        label: None,
        peer: None,
        home: false,
        nodad: false,
        mngtmpaddr: false,
        noprefixroute: false,
        autojoin: false,
        no_track: false,
        use_vmac: false,
        preferred_lft: None,
        span: Some(first.span.clone()),
    };
    let args = &node.args;
    let mut i = 0;
    while i < args.len() {
        let word = args[i].text.as_str();
        let takes_value = matches!(
            word,
            "brd"
                | "broadcast"
                | "dev"
                | "scope"
                | "label"
                | "peer"
                | "preferred_lft"
                | "track_group"
        );
        let value = if takes_value {
            match args.get(i + 1) {
                Some(v) => Some(v),
                None => {
                    d.warn(
                        &args[i].span,
                        format!("No {word} parameter specified for {}", first.text),
                    );
                    break;
                }
            }
        } else {
            None
        };
        match (word, value) {
            ("brd" | "broadcast", Some(v)) => {
                if address.is_ipv6() {
                    d.warn(&v.span, format!("VRRP is trying to assign a broadcast {} to the IPv6 address {} !!?? WTF... skipping VIP...", v.text, first.text));
                    return None;
                }
                vip.broadcast = match v.text.as_str() {
                    "+" => Some(Broadcast::Plus),
                    "-" => Some(Broadcast::Minus),
                    s => match s.parse::<IpAddr>() {
                        Ok(b @ IpAddr::V4(_)) => Some(Broadcast::Address(b)),
                        _ => {
                            d.warn(&v.span, format!("VRRP is trying to assign invalid broadcast {}. skipping VIP...", v.text));
                            return None;
                        }
                    },
                };
            }
            ("dev", Some(v)) => {
                if vip.dev.is_some() {
                    d.warn(
                        &v.span,
                        format!(
                            "Cannot specify ipaddress device more than once for {}",
                            first.text
                        ),
                    );
                } else {
                    vip.dev = Some(v.text.clone());
                }
            }
            ("scope", Some(v)) => {
                if matches!(
                    v.text.as_str(),
                    "site" | "link" | "host" | "nowhere" | "global"
                ) || v.text.parse::<u8>().is_ok()
                {
                    if address.is_ipv6() {
                        d.warn(
                            &v.span,
                            format!(
                                "Cannot specify scope for IPv6 addresses ({}) - ignoring scope",
                                first.text
                            ),
                        );
                    } else {
                        vip.scope = Some(v.text.clone());
                    }
                } else {
                    d.warn(
                        &v.span,
                        format!(
                            "Invalid scope '{}' specified for {} - ignoring",
                            v.text, first.text
                        ),
                    );
                }
            }
            ("label", Some(v)) => {
                if v.text.len() > 15 {
                    d.warn(
                        &v.span,
                        format!(
                            "Address label {} is longer than maximum length 15 - removing address",
                            v.text
                        ),
                    );
                    return None;
                }
                if address.is_ipv6() {
                    d.warn(
                        &v.span,
                        format!(
                            "Cannot specify label for IPv6 addresses ({}) - ignoring label",
                            first.text
                        ),
                    );
                } else {
                    vip.label = Some(v.text.clone());
                }
            }
            // keepalived 2.2.7 takes the address's prefix from the peer, which cannot have
            // one: a VIP with a peer is a host address, whatever its own `/MASK` said.
            ("peer", Some(v)) => match v.text.parse::<IpAddr>() {
                Ok(p) if p.is_ipv4() == address.is_ipv4() => {
                    if vip.peer.is_some() {
                        d.warn(
                            &v.span,
                            format!("Peer {} - another peer has already been specified", v.text),
                        );
                    } else {
                        let host = if address.is_ipv4() { 32 } else { 128 };
                        if vip.prefix_len != host {
                            d.warn(
                                &v.span,
                                "Cannot specify address prefix when specifying peer address - ignoring",
                            );
                        }
                        vip.peer = Some(p);
                        vip.prefix_len = host;
                    }
                }
                Ok(_) => d.warn(
                    &v.span,
                    format!("Peer address {} does not match address family", v.text),
                ),
                Err(_) => {
                    // keepalived's parse_ipaddress speaks first.
                    d.warn(
                        &v.span,
                        format!("VRRP parsed invalid IP {}. skipping IP...", v.text),
                    );
                    d.warn(&v.span, format!("Invalid peer address {}", v.text));
                }
            },
            ("preferred_lft", Some(v)) => {
                vip.preferred_lft = match v.text.as_str() {
                    "forever" => Some(PreferredLft::Forever),
                    s => match s.parse::<u32>() {
                        Ok(n) => Some(PreferredLft::Seconds(n)),
                        Err(_) => {
                            d.warn(&v.span, format!("preferred_lft {} is invalid", v.text));
                            None
                        }
                    },
                };
            }
            ("track_group", Some(v)) => {
                d.warn(
                    &v.span,
                    "track_group is only allowed on static addresses - ignoring",
                );
            }
            ("home", _) => vip.home = true,
            ("-nodad", _) => vip.nodad = true,
            ("mngtmpaddr", _) => vip.mngtmpaddr = true,
            ("noprefixroute", _) => vip.noprefixroute = true,
            ("autojoin", _) => vip.autojoin = true,
            ("no_track", _) => vip.no_track = true,
            ("use_vmac", _) => vip.use_vmac = true,
            _ => d.warn(
                &args[i].span,
                format!("Unknown configuration entry '{word}' for ip address - ignoring"),
            ),
        }
        i += if takes_value { 2 } else { 1 };
    }
    if vip.broadcast.is_some() && vip.peer.is_some() {
        d.warn(
            &first.span,
            "Cannot specify broadcast and peer addresses - ignoring broadcast address",
        );
        vip.broadcast = None;
    }
    Some(vip)
}

/// One `unicast_peer` line: `IP [min_ttl N] [max_ttl N]`.
/// The address must be of the instance's `family` (or sets it, [`Family::claim`]).
pub fn unicast_peer(
    d: &mut Diagnostics,
    node: &Node,
    instance: &str,
    family: &mut Option<Family>,
) -> Option<UnicastPeer> {
    let address = match node.keyword.text.parse::<IpAddr>() {
        Ok(a) if !Family::claim(family, &a) => {
            d.warn(
                &node.keyword.span,
                format!(
                    "Configuration error: VRRP instance[{instance}] and unicast peer address[{}] MUST be of the same family !!! Skipping...",
                    node.keyword.text
                ),
            );
            return None;
        }
        Ok(a) => a,
        Err(_) => {
            d.warn(
                &node.keyword.span,
                format!(
                    "({instance}) unicast_peer {} is not a valid address - skipping",
                    node.keyword.text
                ),
            );
            return None;
        }
    };
    let mut peer = UnicastPeer {
        address,
        min_ttl: None,
        max_ttl: None,
    };
    let mut i = 0;
    while i < node.args.len() {
        let word = &node.args[i];
        let target = match word.text.as_str() {
            "min_ttl" => &mut peer.min_ttl,
            "max_ttl" => &mut peer.max_ttl,
            _ => {
                d.warn(
                    &word.span,
                    format!(
                        "({instance}) Unknown unicast_peer option {} - ignoring",
                        word.text
                    ),
                );
                i += 1;
                continue;
            }
        };
        match node.args.get(i + 1) {
            Some(v) => {
                if let Some(n) = values::int(d, v, 0, 255) {
                    *target = Some(n as u8);
                }
            }
            None => d.warn(
                &word.span,
                format!("({instance}) {} requires a value", word.text),
            ),
        }
        i += 2;
    }
    if let (Some(min), Some(max)) = (peer.min_ttl, peer.max_ttl)
        && min > max
    {
        d.warn(&node.keyword.span, format!("({instance}) unicast peer {address} min_ttl {min} > max_ttl {max} - ignoring ttl range"));
        peer.min_ttl = None;
        peer.max_ttl = None;
    }
    Some(peer)
}

/// A `virtual_routes` or `virtual_rules` line, `ip route`/`ip rule` syntax. Addresses after the
/// keywords that take one are checked; the line is kept as words.
pub fn route_line(d: &mut Diagnostics, node: &Node, instance: &str) -> Option<VirtualRoute> {
    let words: Vec<&super::lexer::Token> = std::iter::once(&node.keyword)
        .chain(node.args.iter())
        .collect();
    let mut out = Vec::new();
    let mut no_track = false;
    let mut prev: Option<&str> = None;
    for (idx, tok) in words.iter().enumerate() {
        let w = tok.text.as_str();
        if w == "no_track" {
            no_track = true;
            prev = Some(w);
            continue;
        }
        let expects_addr = matches!(
            prev,
            Some(
                "src"
                    | "via"
                    | "gw"
                    | "from"
                    | "to"
                    | "or"
                    | "blackhole"
                    | "unreachable"
                    | "prohibit"
                    | "throw"
            )
        ) || (idx == 0
            && w.chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit() || c == ':'));
        if expects_addr && w != "all" && w != "default" && parse_addr_prefix(w).is_err() {
            d.warn(
                &tok.span,
                format!("({instance}) invalid address '{w}' in route/rule - skipping line"),
            );
            return None;
        }
        out.push(w.to_string());
        prev = Some(w);
    }
    Some(VirtualRoute {
        words: out,
        no_track,
        span: Some(node.keyword.span.clone()),
    })
}

/// What a `track_*` block tracks; keepalived words its messages differently for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackKind {
    Interface,
    Script,
    File,
}

impl TrackKind {
    /// The block's keyword, as keepalived's duplicate warning names it.
    pub fn keyword(self) -> &'static str {
        match self {
            TrackKind::Interface => "track_interface",
            TrackKind::Script => "track_script",
            TrackKind::File => "track_file",
        }
    }

    fn label(self) -> &'static str {
        match self {
            TrackKind::Interface => "track_interface",
            TrackKind::Script => "track script",
            TrackKind::File => "track file",
        }
    }
}

/// `NAME [weight W [reverse|noreverse]]` in a `track_*` block, read as keepalived 2.2.7's
/// alloc_track_if / alloc_track_script / vrrp_alloc_track_file do: a second word other than
/// `weight`, or `weight` without a value, drops the tracker; a weight outside [-254, 254] is
/// refused, leaving a script or file its own weight and an interface weight 0 (a down link then
/// means FAULT); ±254 becomes ±253 except for files. An unknown fourth word is ignored, except
/// for a file, which is then dropped. Later words are ignored.
pub fn track_ref(
    d: &mut Diagnostics,
    node: &Node,
    owner: &str,
    kind: TrackKind,
) -> Option<TrackRef> {
    let name = &node.keyword.text;
    let mut r = TrackRef {
        name: name.clone(),
        weight: None,
        reverse: None,
        span: Some(node.keyword.span.clone()),
    };
    let args = &node.args;
    let Some(option) = args.first() else {
        return Some(r);
    };
    if option.text != "weight" {
        let o = &option.text;
        let msg = match kind {
            TrackKind::Interface => {
                format!("({owner}) unknown track_interface {name} option {o} - ignoring")
            }
            _ => format!("({owner}) unknown {} option {o} - ignoring", kind.label()),
        };
        d.warn(&option.span, msg);
        return None;
    }
    let Some(v) = args.get(1) else {
        d.warn(
            &option.span,
            format!(
                "({owner}) weight without value specified for {} {name} - ignoring",
                kind.label()
            ),
        );
        return None;
    };
    // keepalived reads every tracker weight as an int in [-254, 254] (read_int_strvec).
    match values::int(d, v, -254, 254) {
        Some(w) if w.abs() == 254 && kind != TrackKind::File => {
            // Never reach 1 or 254 from 0 or 255.
            d.warn(
                &v.span,
                format!("({owner}) weight for {name} cannot be +/-254. Setting to +/-253"),
            );
            r.weight = Some(w.signum() as i32 * 253);
        }
        Some(w) => r.weight = Some(w as i32),
        None => {
            let msg = match kind {
                TrackKind::Interface => format!(
                    "({owner}) weight {} for {name} must be between [-253..253] inclusive. Ignoring...",
                    v.text
                ),
                TrackKind::Script => format!(
                    "({owner}) track script {name}: weight must be between [-253..253] inclusive, ignoring..."
                ),
                TrackKind::File => format!(
                    "({owner}) weight for track file {name} must be in [-254..254] inclusive. Ignoring..."
                ),
            };
            d.warn(&v.span, msg);
            r.weight = (kind == TrackKind::Interface).then_some(0);
        }
    }
    if let Some(o) = args.get(2) {
        match o.text.as_str() {
            "reverse" => r.reverse = Some(true),
            "noreverse" if kind != TrackKind::Interface => r.reverse = Some(false),
            other => {
                let what = match kind {
                    // keepalived's own spelling.
                    TrackKind::Interface => "track_interace",
                    TrackKind::Script => "track_script",
                    TrackKind::File => "track file",
                };
                d.warn(
                    &o.span,
                    format!("({owner}) unknown {what} {name} weight option {other} - ignoring"),
                );
                if kind == TrackKind::File {
                    return None;
                }
            }
        }
    }
    Some(r)
}
