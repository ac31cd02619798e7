//! Malformed configurations: every problem is reported at the right file:line:column, nothing
//! panics, and what cannot run makes `load` fail with a ConfigError naming the place.

use std::path::Path;

use proptest::prelude::*;
use vrrpd::config::{Diagnostic, LoadOptions, Severity, analyse, load};

mod support;

use support::TempDir;

fn opts() -> LoadOptions {
    support::load_options("t")
}

fn find<'a>(diags: &'a [Diagnostic], needle: &str) -> &'a Diagnostic {
    diags
        .iter()
        .find(|d| d.message.contains(needle))
        .unwrap_or_else(|| panic!("no diagnostic containing {needle:?} in {diags:#?}"))
}

fn at(d: &Diagnostic) -> (u32, u32) {
    let s = d.span.as_ref().expect("diagnostic has a span");
    (s.line, s.column)
}

const GOOD_INSTANCE: &str = "vrrp_instance A {\n    interface eth0\n    virtual_router_id 1\n    virtual_ipaddress {\n        10.0.0.1\n    }\n}\n";

#[test]
fn unclosed_block_is_reported_at_its_brace() {
    let t = TempDir::new("config");
    let p = t.write("a.conf", "vrrp_instance A {\n    interface eth0\n    virtual_router_id 1\n    virtual_ipaddress {\n        10.0.0.1\n}\n");
    let a = analyse(&p, &opts());
    let d = find(&a.diagnostics, "never closed");
    assert_eq!(at(d), (1, 17));
    assert_eq!(d.severity, Severity::Warning);
    // Parsing carried on: the instance is there with its VIP.
    assert_eq!(a.config.vrrp_instances[0].virtual_ipaddress.len(), 1);
}

#[test]
fn extra_closing_brace_is_reported_where_it_is() {
    let t = TempDir::new("config");
    let p = t.write("a.conf", format!("{GOOD_INSTANCE}  }}\n"));
    let a = analyse(&p, &opts());
    assert_eq!(at(find(&a.diagnostics, "Extra '}' found")), (8, 3));
}

#[test]
fn bad_address_points_at_the_address() {
    let t = TempDir::new("config");
    let p = t.write(
        "a.conf",
        GOOD_INSTANCE.replace(
            "        10.0.0.1",
            "        10.0.0.1\n\t  10.0.0.300/24 dev eth0",
        ),
    );
    let a = analyse(&p, &opts());
    let d = find(&a.diagnostics, "VRRP parsed invalid IP 10.0.0.300/24");
    assert_eq!(at(d), (6, 4));
    let shown = d.to_string();
    assert!(
        shown.starts_with(&format!("{}:6:4: warning: ", p.display())),
        "{shown}"
    );
    assert!(
        shown.contains("10.0.0.300/24 dev eth0"),
        "the offending line is quoted: {shown}"
    );
}

#[test]
fn out_of_range_values_point_at_the_value() {
    let t = TempDir::new("config");
    let p = t.write(
        "a.conf",
        "vrrp_instance A {\n    interface eth0\n    virtual_router_id 256\n    priority 0\n    virtual_ipaddress { 10.0.0.1 }\n}\n",
    );
    let a = analyse(&p, &opts());
    assert_eq!(at(find(&a.diagnostics, "VRID '256' not valid")), (3, 23));
    assert_eq!(at(find(&a.diagnostics, "Priority not valid")), (4, 14));
    // Without a valid VRID the instance cannot run.
    let err = load(&p, &opts()).expect_err("no VRID");
    assert!(
        err.to_string()
            .contains("the virtual router id must be set"),
        "{err}"
    );
    assert!(
        err.to_string().contains(&format!("{}:1:1", p.display())),
        "{err}"
    );
}

#[test]
fn include_loop_is_an_error_at_the_include() {
    let t = TempDir::new("config");
    let a_path = t.write("a.conf", format!("include b.conf\n{GOOD_INSTANCE}"));
    t.write("b.conf", "# b\ninclude a.conf\n");
    let a = analyse(&a_path, &opts());
    let d = find(&a.diagnostics, "include loop");
    assert_eq!(d.severity, Severity::Error);
    let span = d.span.as_ref().expect("span");
    assert!(span.file.ends_with("b.conf"), "{span}");
    assert_eq!((span.line, span.column), (2, 9));
    assert!(load(&a_path, &opts()).is_err());
}

#[test]
fn missing_include_files() {
    let t = TempDir::new("config");
    let plain = t.write(
        "plain.conf",
        format!("include nothere.conf\n{GOOD_INSTANCE}"),
    );
    let a = analyse(&plain, &opts());
    assert_eq!(
        find(&a.diagnostics, "Config files missing 'nothere.conf'").severity,
        Severity::Note
    );
    assert!(
        load(&plain, &opts()).is_ok(),
        "plain include never errors (keepalived)"
    );

    let strict = t.write(
        "strict.conf",
        format!("includem nothere.conf\n{GOOD_INSTANCE}"),
    );
    let err = load(&strict, &opts()).expect_err("includem makes a missing file an error");
    assert!(err.to_string().contains("strict.conf:1:10"), "{err}");

    let all = LoadOptions {
        all_config: true,
        ..opts()
    };
    assert!(
        load(&plain, &all).is_err(),
        "-e makes every missing include an error"
    );
}

#[test]
fn missing_main_file_is_an_error() {
    let err = load(Path::new("/nonexistent/vrrpd/keepalived.conf"), &opts()).expect_err("missing");
    assert!(
        err.to_string()
            .contains("/nonexistent/vrrpd/keepalived.conf"),
        "{err}"
    );
}

#[test]
fn huge_file_is_refused_without_reading_it_all() {
    let t = TempDir::new("config");
    let p = t.0.join("huge.conf");
    let f = std::fs::File::create(&p).expect("create");
    f.set_len(vrrpd::config::lexer::MAX_FILE_BYTES + 1)
        .expect("sparse file");
    let err = load(&p, &opts()).expect_err("too large");
    assert!(err.to_string().contains("larger than"), "{err}");
}

#[test]
fn generator_explosion_is_bounded() {
    let t = TempDir::new("config");
    let p = t.write(
        "gen.conf",
        "~SEQ(A,1,1,1000) ~SEQ(B,1,1,1000) unknown_$A_$B\n",
    );
    let a = analyse(&p, &opts());
    let d = find(&a.diagnostics, "more than");
    assert_eq!(d.severity, Severity::Error);
}

/// Nested generators whose lines produce nothing (another host's `@ID`, a definition) once
/// ran 2.5·10¹¹ times; the total of iterations is bounded, and the error names the line.
#[test]
fn nested_generators_that_emit_nothing_are_bounded() {
    // A `$V=x` line instead of the `@` line takes the same path: nothing is emitted.
    let text = format!("# spin\n ~SEQ(i,1,500000) ~SEQ(j,1,500000) @nomatch x\n{GOOD_INSTANCE}");
    let a = vrrpd::config::analyse_source(Path::new("spin.conf"), text.as_bytes(), &opts());
    let d = find(
        &a.diagnostics,
        "generators run more than 1000000 times in total",
    );
    assert_eq!((d.severity, at(d)), (Severity::Error, (2, 2)));
    // `load` refuses what has an error.
    assert_eq!(a.worst(), Some(Severity::Error));
}

#[test]
fn binary_garbage_and_deep_nesting_do_not_panic() {
    let t = TempDir::new("config");
    let mut bytes: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    bytes.extend_from_slice(b"\0\0{{{\xff\xfe}}}\"unterminated");
    let p = t.write("bin.conf", &bytes);
    let _ = analyse(&p, &opts());

    let deep = "{".repeat(200_000) + &"}".repeat(10);
    let p = t.write("deep.conf", deep);
    let a = analyse(&p, &opts());
    assert!(
        a.diagnostics
            .iter()
            .any(|d| d.message.contains("nested deeper"))
    );

    let recursive = t.write("rec.conf", "$A=$B x\n$B=$A y\n$A\n${A}\n");
    let a = analyse(&recursive, &opts());
    assert!(
        a.diagnostics
            .iter()
            .any(|d| d.message.contains("does not terminate") || d.message.contains("longer than"))
    );
}

#[test]
fn quoted_strings_and_comments() {
    let t = TempDir::new("config");
    let p = t.write(
        "q.conf",
        "vrrp_instance A { # comment { not a brace\n interface eth0 ! bang comment\n virtual_router_id 7\n virtual_ipaddress { 10.0.0.1 }\n notify_master \"/bin/echo a#b c!d {x}\" root\n}\n",
    );
    let loaded = load(&p, &opts()).expect("loads");
    let inst = &loaded.config.vrrp_instances[0];
    let notify = inst.notify.master.as_ref().expect("notify_master");
    assert_eq!(notify.args, ["/bin/echo", "a#b", "c!d", "{x}"]);
    assert_eq!(notify.user.as_ref().map(|u| u.user.as_str()), Some("root"));
    assert_eq!(inst.virtual_router_id, Some(7));
}

#[test]
fn config_id_selects_lines() {
    let t = TempDir::new("config");
    let p = t.write(
        "id.conf",
        GOOD_INSTANCE.replace(
            "    interface eth0\n",
            "@alpha priority 200\n@^alpha priority 50\n    interface eth0\n",
        ),
    );
    let pri = |id: &str| {
        let o = LoadOptions {
            config_id: id.into(),
            ..opts()
        };
        load(&p, &o).expect("loads").config.vrrp_instances[0].priority
    };
    assert_eq!(pri("alpha"), Some(200));
    assert_eq!(pri("beta"), Some(50));
}

fn keepalived_like() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        Just("vrrp_instance".to_string()),
        Just("virtual_ipaddress".to_string()),
        Just("virtual_router_id".to_string()),
        Just("global_defs".to_string()),
        Just("track_script".to_string()),
        Just("include".to_string()),
        Just("~SEQ(i,1,1,3)".to_string()),
        Just("~LST(x,a,b)".to_string()),
        Just("$V=".to_string()),
        Just("${V}".to_string()),
        Just("@t".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("\"".to_string()),
        Just("\\".to_string()),
        Just("#".to_string()),
        Just("\n".to_string()),
        "[0-9.:/a-f]{1,12}",
        "\\PC{0,8}",
    ];
    prop::collection::vec(word, 0..60).prop_map(|w| w.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        let t = TempDir::new("config");
        let p = t.write("p.conf", &text);
        let _ = analyse(&p, &opts());
    }

    #[test]
    fn keepalived_like_text_never_panics(text in keepalived_like()) {
        let t = TempDir::new("config");
        let p = t.write("p.conf", &text);
        let a = analyse(&p, &opts());
        for d in &a.diagnostics {
            let _ = d.to_string();
        }
        let _ = vrrpd::config::resolve(&a.config);
    }
}

/// Generator and `${_RANDOM}` arguments at the limits of i64/u64 once overflowed (`end - start`,
/// `v += step`, `max - min + 1` then `% 0`). Each is now either expanded or refused with a
/// diagnostic at the line.
#[test]
fn generator_and_random_limits_do_not_overflow() {
    let t = TempDir::new("config");
    let cases = [
        (
            "~SEQ(i,-9223372036854775808,1,9223372036854775807) x",
            "more than 500000",
        ),
        ("~SEQ(i,1,-1,-9223372036854775808) x", "more than 500000"),
        ("~SEQx(i,0,1,9223372036854775807) x", "more than 500000"),
        // Past i64::MAX: strtol saturates, as in keepalived.
        ("~SEQ(i,0,1,9223372036854775808) x", "more than 500000"),
    ];
    for (line, expect) in cases {
        let p = t.write("g.conf", format!("# limits\n  {line}\n"));
        let a = analyse(&p, &opts());
        let d = find(&a.diagnostics, expect);
        assert_eq!(at(d), (2, 3), "{line}: {d}");
        assert!(d.to_string().contains("g.conf:2:3"), "{d}");
    }
    // Two values, 0 and i64::MAX: the step past the end no longer overflows.
    let p = t.write(
        "two.conf",
        "~SEQ(i,0,9223372036854775807,9223372036854775807) unknown_$i\n",
    );
    let a = analyse(&p, &opts());
    let unknown: Vec<&str> = a
        .diagnostics
        .iter()
        .filter(|d| d.message.starts_with("Unknown keyword"))
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(
        unknown,
        [
            "Unknown keyword 'unknown_0'",
            "Unknown keyword 'unknown_9223372036854775807'"
        ]
    );
    // The whole u64 range: some value, no panic.
    let p = t.write("r.conf", "unknown_${_RANDOM 0 18446744073709551615}\n");
    let a = analyse(&p, &opts());
    let d = find(&a.diagnostics, "Unknown keyword 'unknown_");
    let n = d.message["Unknown keyword 'unknown_".len()..].trim_end_matches('\'');
    assert!(n.parse::<u64>().is_ok(), "{d}");
    let p = t.write(
        "r1.conf",
        "unknown_${_RANDOM 18446744073709551615 18446744073709551615}\n",
    );
    let a = analyse(&p, &opts());
    find(
        &a.diagnostics,
        "Unknown keyword 'unknown_18446744073709551615'",
    );
}

fn limit_number() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(i64::MIN.to_string()),
        Just(i64::MAX.to_string()),
        Just((i64::MIN + 1).to_string()),
        Just((i64::MAX - 1).to_string()),
        Just(u64::MAX.to_string()),
        Just("0".to_string()),
        Just("-1".to_string()),
        Just("1".to_string()),
        any::<i64>().prop_map(|v| v.to_string()),
        any::<u64>().prop_map(|v| v.to_string()),
        (-5i64..5).prop_map(|v| v.to_string()),
        "[-0-9a-z]{0,4}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// Generators and `${_RANDOM}` with any arguments: no panic, and whatever is refused is
    /// refused at the generator's line.
    #[test]
    fn generator_and_variable_arguments_never_panic(
        head in prop_oneof![Just("~SEQ"), Just("~SEQx"), Just("~LST")],
        args in prop::collection::vec(limit_number(), 0..5),
        rmin in limit_number(),
        rmax in limit_number(),
    ) {
        let text = format!(
            "$V=${{_RANDOM {rmin} {rmax}}}\n{head}(i,{}) unknown_$i_$V\nunknown_${{_RANDOM {rmin} {rmax}}}\n",
            args.join(",")
        );
        let a = vrrpd::config::analyse_source(Path::new("p.conf"), text.as_bytes(), &opts());
        for d in &a.diagnostics {
            let s = d.span.as_ref().expect("every lexer diagnostic here has a span");
            prop_assert!((2..=3).contains(&s.line), "{}", d);
        }
    }
}
