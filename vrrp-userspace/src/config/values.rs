//! Argument readers shared by the lowering pass: numbers with ranges, keepalived's `<BOOL>` and
//! `<TIMER>` values, IP addresses with prefixes. Each reports a keepalived-worded diagnostic at
//! the argument and returns None when the value is unusable.

use std::net::IpAddr;

use super::diag::Diagnostics;
use super::lexer::Token;
use super::parser::Node;

/// Integer in `[min, max]`.
pub fn int(d: &mut Diagnostics, tok: &Token, min: i64, max: i64) -> Option<i64> {
    match tok.text.parse::<i64>() {
        Ok(v) if (min..=max).contains(&v) => Some(v),
        Ok(_) => {
            d.warn(
                &tok.span,
                format!("number '{}' outside range [{min}, {max}]", tok.text),
            );
            None
        }
        Err(_) => {
            d.warn(&tok.span, format!("invalid number '{}'", tok.text));
            None
        }
    }
}

/// Unsigned integer in `[min, max]`, with keepalived's read_unsigned wording: a `-` sign is a
/// "negative number", anything but digits an "invalid number".
pub fn unsigned(d: &mut Diagnostics, tok: &Token, min: u64, max: u64) -> Option<u64> {
    match check_unsigned(&tok.text, min, max) {
        Ok(v) => Some(v),
        Err(msg) => {
            d.warn(&tok.span, msg);
            None
        }
    }
}

/// [`unsigned`] for a number that is part of a word (`/MASK`): the value or the message.
pub fn check_unsigned(text: &str, min: u64, max: u64) -> Result<u64, String> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('-') {
        return Err(format!("negative number '{text}'"));
    }
    match trimmed.parse::<u64>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        Ok(_) => Err(format!("number '{text}' outside range [{min}, {max}]")),
        Err(_) => Err(format!("invalid number '{text}'")),
    }
}

/// keepalived's decimal seconds (read_decimal_unsigned_strvec with 6 places) in
/// `[min_us, max_us]`, with its wording; its range is printed with all six places.
pub fn decimal_secs(d: &mut Diagnostics, tok: &Token, min_us: u64, max_us: u64) -> Option<u64> {
    match parse_timer_us(&tok.text) {
        Ok(v) if (min_us..=max_us).contains(&v) => Some(v),
        Ok(_) => {
            let six = |us: u64| format!("{}.{:06}", us / 1_000_000, us % 1_000_000);
            d.warn(
                &tok.span,
                format!(
                    "number '{}' outside range [{}, {}]",
                    tok.text,
                    six(min_us),
                    six(max_us)
                ),
            );
            None
        }
        Err(why) => {
            d.warn(&tok.span, format!("{why} '{}'", tok.text));
            None
        }
    }
}

/// The argument at `idx`, or a keepalived "missing a parameter" warning at the keyword.
pub fn arg<'a>(d: &mut Diagnostics, node: &'a Node, idx: usize) -> Option<&'a Token> {
    let tok = node.args.get(idx);
    if tok.is_none() {
        d.warn(
            node.span(),
            format!(
                "Configuration line starting `{}` is missing a parameter at word position {}",
                node.name(),
                idx + 2
            ),
        );
    }
    tok
}

/// Integer argument 0 of `node` in `[min, max]`.
pub fn int_arg(d: &mut Diagnostics, node: &Node, min: i64, max: i64) -> Option<i64> {
    let tok = arg(d, node, 0)?;
    int(d, tok, min, max)
}

/// A `<BOOL>` word (keepalived's check_true_false), any case.
pub fn parse_bool(word: &str) -> Option<bool> {
    match word.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" => Some(true),
        "off" | "false" | "no" => Some(false),
        _ => None,
    }
}

/// keepalived's `<BOOL>`: a bare keyword means true.
pub fn bool_arg(d: &mut Diagnostics, node: &Node) -> Option<bool> {
    let Some(tok) = node.args.first() else {
        return Some(true);
    };
    match parse_bool(&tok.text) {
        Some(b) => Some(b),
        None => {
            d.warn(
                &tok.span,
                format!("invalid {} {} specified", node.name(), tok.text),
            );
            None
        }
    }
}

/// keepalived's `<TIMER>`: decimal seconds with at most 6 decimal places, as microseconds.
pub fn parse_timer_us(text: &str) -> Result<u64, &'static str> {
    if text.starts_with('-') {
        return Err("negative number");
    }
    let (int_part, frac) = match text.split_once('.') {
        Some((i, f)) => (i, f),
        None => (text, ""),
    };
    if (int_part.is_empty() && frac.is_empty())
        || !int_part.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return Err("invalid number");
    }
    if frac.len() > 6 {
        return Err("number has too many decimal places");
    }
    let whole: u64 = if int_part.is_empty() {
        0
    } else {
        int_part.parse().map_err(|_| "number outside range")?
    };
    let mut frac_us: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse().map_err(|_| "invalid number")?
    };
    for _ in frac.len()..6 {
        frac_us *= 10;
    }
    whole
        .checked_mul(1_000_000)
        .and_then(|w| w.checked_add(frac_us))
        .ok_or("number outside range")
}

/// Timer argument 0 in `[min_us, max_us]`.
pub fn timer_arg(d: &mut Diagnostics, node: &Node, min_us: u64, max_us: u64) -> Option<u64> {
    let tok = arg(d, node, 0)?;
    match parse_timer_us(&tok.text) {
        Ok(v) if (min_us..=max_us).contains(&v) => Some(v),
        Ok(_) => {
            d.warn(
                &tok.span,
                format!(
                    "number '{}' outside range [{}, {}]",
                    tok.text,
                    fmt_secs(min_us),
                    fmt_secs(max_us)
                ),
            );
            None
        }
        Err(why) => {
            d.warn(&tok.span, format!("{why} '{}'", tok.text));
            None
        }
    }
}

pub fn fmt_secs(us: u64) -> String {
    if us.is_multiple_of(1_000_000) {
        (us / 1_000_000).to_string()
    } else {
        let s = format!("{}.{:06}", us / 1_000_000, us % 1_000_000);
        s.trim_end_matches('0').to_string()
    }
}

/// An IP address, optionally `/prefix`. Returns the address and the prefix if one was given.
pub fn parse_addr_prefix(text: &str) -> Result<(IpAddr, Option<u8>), String> {
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let addr: IpAddr = addr
        .parse()
        .map_err(|_| format!("invalid IP address '{addr}'"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => None,
        Some(p) => match p.parse::<u8>() {
            Ok(v) if v <= max => Some(v),
            _ => return Err(format!("invalid prefix length '{p}' for {addr}")),
        },
    };
    Ok((addr, prefix))
}
