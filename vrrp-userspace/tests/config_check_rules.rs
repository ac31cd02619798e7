//! keepalived 2.2.7 rules that `vrrpd check` follows, checked without keepalived installed (the
//! differential test compares them with the real one): include variants and their exit codes,
//! blocks given to keywords that take none, trackers dropped in sync groups and on owners, the
//! default script user, advert_int's minimum, scripts without an execute bit, `${_PWD}`, the
//! instance's address family.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use vrrpd::config::check::exit_code;
use vrrpd::config::diag::Diagnostics;
use vrrpd::config::model::Family;
use vrrpd::config::validate;
use vrrpd::config::{Analysis, Diagnostic, LoadOptions, Severity, analyse, resolve};

mod support;

use support::TempDir;

/// A fresh directory per test (tags are unique per test), with a `sub/` for includes.
fn temp(tag: &str) -> TempDir {
    let t = TempDir::new(&format!("rules-{tag}"));
    std::fs::create_dir_all(t.0.join("sub")).expect("sub dir");
    t
}

fn opts() -> LoadOptions {
    support::load_options("t")
}

fn messages(a: &Analysis) -> Vec<String> {
    a.diagnostics.iter().map(|d| d.message.clone()).collect()
}

fn find<'a>(a: &'a Analysis, needle: &str) -> &'a Diagnostic {
    a.diagnostics
        .iter()
        .find(|d| d.message.contains(needle))
        .unwrap_or_else(|| panic!("no diagnostic containing {needle:?} in {:#?}", messages(a)))
}

/// Where `d` is, as file:line:column.
fn place(d: &Diagnostic) -> String {
    let s = d.span.as_ref().expect("diagnostic has a span");
    format!("{}:{}:{}", s.file.display(), s.line, s.column)
}

/// The names of `items`, in order.
fn names_of<T>(items: &[T], name: impl Fn(&T) -> &String) -> Vec<&str> {
    items.iter().map(|i| name(i).as_str()).collect()
}

/// Each (message, line, column) is a warning at that place of `file`.
fn warned_at(a: &Analysis, file: &Path, expected: &[(&str, u32, u32)]) {
    for (m, line, column) in expected {
        let d = find(a, m);
        assert_eq!(d.severity, Severity::Warning, "{m}");
        assert_eq!(
            place(d),
            format!("{}:{line}:{column}", file.display()),
            "{m}"
        );
    }
}

/// Scripts are kept: they run as root under script security.
const SCRIPTS_AS_ROOT: &str = "global_defs {\n enable_script_security\n script_user root\n}\n";

const INSTANCE: &str = "vrrp_instance X {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress { 10.0.0.1 }\n}\n";

/// Every include variant against every kind of pattern: (keyword, pattern, exit code, whether
/// sub/a.inc was read), as keepalived 2.2.7 `-t` does it (measured on it).
#[test]
fn include_variants_follow_keepalived() {
    #[rustfmt::skip]
    let table: &[(&str, &str, u8, bool)] = &[
        ("include", "sub/{a,nothere}.inc", 0, true),
        ("include", "sub/{a,b}.inc", 0, true),
        ("include", "sub/{a,b", 0, false),
        ("include", "sub/nothere.inc", 0, false),
        ("include", "sub/*.nomatch", 0, false),
        ("include", "\"sub/a.inc\"", 0, false),
        ("include", "sub/{a,q*}.inc", 0, true),
        ("include", "sub/[ab].inc sub/nothere.inc", 0, false),
        ("includer", "sub/{a,nothere}.inc", 0, true),
        ("includer", "sub/nothere.inc", 0, false),
        ("includem", "sub/{a,nothere}.inc", 0, true),
        ("includem", "sub/{a,b", 0, false),
        ("includem", "sub/nothere.inc", 6, false),
        ("includem", "sub/*.nomatch", 0, false),
        ("includem", "sub/{n1,n2}.inc", 0, false),
        ("includew", "sub/nothere.inc", 6, false),
        ("includew", "sub/*.nomatch", 6, false),
        ("includew", "sub/{x,y}*.inc", 6, false),
        ("includew", "sub/{n1,q*}.inc", 0, false),
        ("includew", "sub/{a,nothere}.inc", 0, true),
        ("includeb", "sub/{a,nothere}.inc", 6, false),
        ("includeb", "sub/{a,b}.inc", 0, true),
        ("includeb", "sub/{a,b", 6, false),
        ("includeb", "sub/nothere.inc", 0, false),
        ("includeb", "sub/{n1,q*}.inc", 6, false),
        ("includeb", "sub/{x,y}*.inc", 0, false),
        ("includea", "sub/{a,b}.inc", 0, true),
        ("includea", "sub/{a,nothere}.inc", 6, false),
        ("includea", "sub/nothere.inc", 6, false),
        ("includea", "sub/*.nomatch", 6, false),
    ];
    let t = temp("include_variants_follow_");
    t.write("sub/a.inc", "unknown_from_a\n");
    t.write("sub/b.inc", "# b\n");
    let mut wrong = Vec::new();
    for &(kw, pattern, code, read_a) in table {
        let p = t.write("main.conf", format!("{kw} {pattern}\n{INSTANCE}"));
        let a = analyse(&p, &opts());
        // `unknown_from_a` is the one warning sub/a.inc produces (exit 5 by itself).
        let was_read = messages(&a).iter().any(|m| m.contains("unknown_from_a"));
        let want = if read_a { 5 } else { code };
        if exit_code(&a) != want || was_read != read_a {
            wrong.push(format!(
                "{kw} {pattern}: exit {} read {was_read}, want {want} read {read_a}: {:?}",
                exit_code(&a),
                messages(&a)
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // Where the braces split the pattern: the error points at the pattern.
    let p = t.write(
        "main.conf",
        format!("includeb   sub/{{a,nothere}}.inc\n{INSTANCE}"),
    );
    let a = analyse(&p, &opts());
    let d = find(&a, "Some config files missing: \"sub/{a,nothere}.inc\".");
    assert_eq!(d.severity, Severity::Error);
    let s = d.span.as_ref().expect("span");
    assert_eq!((s.line, s.column), (1, 12));

    // -e makes a plain missing include fatal.
    let p = t.write("main.conf", format!("include sub/nothere.inc\n{INSTANCE}"));
    let all = LoadOptions {
        all_config: true,
        ..opts()
    };
    assert_eq!(exit_code(&analyse(&p, &all)), 6);
    assert_eq!(exit_code(&analyse(&p, &opts())), 0);
}

#[test]
fn keyword_given_a_block_reads_it_in_place() {
    let t = temp("keyword_given_a_block_re");
    let p = t.write(
        "b.conf",
        "vrrp_instance X {\n interface eth0\n virtual_router_id 1 {\n   priority 50\n }\n virtual_ipaddress { 10.0.0.1 }\n advert_int 2\n}\n",
    );
    let a = analyse(&p, &opts());
    let d = find(&a, "Unexpected '{' - ignoring");
    let s = d.span.as_ref().expect("span");
    assert_eq!((s.line, s.column, d.severity), (3, 22, Severity::Warning));
    let inst = &a.config.vrrp_instances[0];
    assert_eq!(inst.virtual_router_id, Some(1));
    assert_eq!(inst.priority, Some(50));
    // The braces pair as written: the rest of the instance is still the instance's.
    assert_eq!(inst.advert_int_us, 2_000_000);
    assert_eq!(inst.virtual_ipaddress.len(), 1);
    assert_eq!(exit_code(&a), 5);
}

#[test]
fn unknown_block_in_an_instance_is_skipped_with_a_note() {
    let t = temp("unknown_block_in_an_inst");
    let p = t.write(
        "u.conf",
        "vrrp_instance X {\n interface eth0\n virtual_router_id 1\n foo_block {\n   priority 50\n }\n virtual_ipaddress { 10.0.0.1 }\n}\n",
    );
    let a = analyse(&p, &opts());
    assert_eq!(
        find(&a, "Unknown keyword 'foo_block'").severity,
        Severity::Warning
    );
    assert_eq!(
        find(
            &a,
            "keepalived 2.2.7 would read the statements of unknown block 'foo_block'"
        )
        .severity,
        Severity::Note
    );
    assert_eq!(a.config.vrrp_instances[0].priority, Some(100));
    assert_eq!(exit_code(&a), 5);
}

#[test]
fn weighted_trackers_are_dropped_in_sync_groups_and_on_owners() {
    let t = temp("weighted_trackers_are_dr");
    let p = t.write(
        "s.conf",
        "global_defs {\n enable_script_security\n script_user root\n}\n\
         vrrp_script chk {\n script \"/bin/true\"\n weight 10\n}\n\
         vrrp_script chk0 {\n script \"/bin/true\"\n}\n\
         track_file tf {\n file /tmp/x\n weight 5\n}\n\
         vrrp_sync_group G1 {\n group { X Y }\n}\n\
         vrrp_sync_group G2 {\n group { X }\n}\n\
         vrrp_instance X {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress { 10.0.0.1 }\n track_script { chk\n chk0 }\n track_file { tf }\n}\n\
         vrrp_instance Y {\n interface eth0\n virtual_router_id 2\n virtual_ipaddress { 10.0.0.2 }\n track_interface { ifb0 weight 10\n ifb1 }\n}\n\
         vrrp_instance Z {\n interface eth0\n virtual_router_id 3\n priority 255\n virtual_ipaddress { 10.0.0.3 }\n track_interface { ifb0 weight 10 }\n track_script { chk }\n track_file { tf }\n}\n",
    );
    let a = analyse(&p, &opts());
    for m in [
        "(X) ignoring tracked script chk with weights due to SYNC group",
        "(X) ignoring tracked file tf with weight 5 due to SYNC group",
        "(Y) ignoring ifb0 tracked interface weight due to SYNC group",
        "(Z) ignoring ifb0 tracked interface due to address owner",
        "(Z) ignoring tracked script chk with weights due to address_owner",
        "(Z) ignoring tracked file tf with weight 5 due to address_owner",
        "Virtual router X cannot exist in more than one sync group; ignoring G2",
        "Sync group G2, no matching virtual router found in group declaration - removing",
    ] {
        assert!(
            messages(&a).iter().any(|x| x == m),
            "{m} missing: {:#?}",
            messages(&a)
        );
    }
    let x = &a.config.vrrp_instances[0];
    let names: Vec<&str> = x.track_script.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["chk0"], "weight-0 trackers stay");
    let y = &a.config.vrrp_instances[1];
    let names: Vec<&str> = y.track_interface.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["ifb1"]);
    assert_eq!(exit_code(&a), 5);
}

#[test]
fn security_without_a_default_user_removes_scripts() {
    let t = temp("security_without_a_defau");
    let p = t.write(
        "d.conf",
        "global_defs { enable_script_security }\n\
         vrrp_script chk { script \"/bin/true\" }\n\
         vrrp_script own { script \"/bin/true\"\n user root }\n\
         vrrp_instance X {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress { 10.0.0.1 }\n track_script { chk\n own }\n}\n",
    );
    let no_scripts = LoadOptions {
        check_scripts: false,
        ..opts()
    };
    let mut cfg = analyse(&p, &no_scripts).config;
    let mut d = Diagnostics::default();
    let g = cfg.global_defs.clone();
    let default = validate::default_script_user(&g, |_, _| false);
    assert_eq!(default, validate::DefaultScriptUser::Unavailable);
    validate::check_default_script_user(&mut cfg, &mut d, &default);
    let msgs: Vec<&str> = d.items.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        msgs,
        [
            "Unable to set default user keepalived_script for script",
            "Unable to set default user for vrrp script chk - removing"
        ]
    );
    let names: Vec<&str> = cfg.vrrp_scripts.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["own"], "a script with its own user stays");

    // With the account present nothing happens.
    let mut cfg = analyse(&p, &no_scripts).config;
    let mut d = Diagnostics::default();
    let default = validate::default_script_user(&g, |_, _| true);
    validate::check_default_script_user(&mut cfg, &mut d, &default);
    assert!(d.items.is_empty());
    assert_eq!(cfg.vrrp_scripts.len(), 2);
}

#[test]
fn advert_int_below_ten_ms_is_refused_and_one_second_kept() {
    let t = temp("advert_int_below_ten_ms_");
    let p = t.write(
        "a.conf",
        "vrrp_instance X {\n interface eth0\n virtual_router_id 1\n version 3\n advert_int 0.005\n virtual_ipaddress { 10.0.0.1 }\n}\n",
    );
    let a = analyse(&p, &opts());
    let d = find(
        &a,
        "(X) Advert interval (0.005) not valid! Must be > 0 - ignoring",
    );
    assert_eq!(d.span.as_ref().map(|s| (s.line, s.column)), Some((5, 13)));
    assert_eq!(a.config.vrrp_instances[0].advert_int_us, 1_000_000);
    let p = t.write(
        "b.conf",
        std::fs::read_to_string(&p)
            .expect("read")
            .replace("0.005", "0.01"),
    );
    assert_eq!(
        analyse(&p, &opts()).config.vrrp_instances[0].advert_int_us,
        10_000
    );
}

#[test]
fn script_without_execute_bit_is_kept_when_run_as_root() {
    let t = temp("script_without_execute_b");
    let script = t.write("noexec.sh", "#!/bin/sh\nexit 0\n");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let conf = |user: &str| {
        format!(
            "global_defs {{\n script_user {user}\n}}\nvrrp_script chk {{\n script \"{}\"\n weight -10\n}}\n{}",
            script.display(),
            INSTANCE.replace("}\n}", "}\n track_script { chk }\n}")
        )
    };
    let p = t.write("root.conf", conf("root"));
    let a = analyse(&p, &opts());
    assert!(
        !messages(&a)
            .iter()
            .any(|m| m.contains("not found/accessible")),
        "{:?}",
        messages(&a)
    );
    assert!(a.config.vrrp_scripts[0].enabled);
    assert_eq!(a.config.vrrp_instances[0].track_script.len(), 1);
    // Another user cannot execute it: disabled.
    let p = t.write("nobody.conf", conf("nobody"));
    let a = analyse(&p, &opts());
    find(&a, "Disabling track script chk since not found/accessible");
    assert!(!a.config.vrrp_scripts[0].enabled);
}

#[test]
fn pwd_is_absolute_with_a_relative_path() {
    let t = temp("pwd_is_absolute_with_a_r");
    t.write("p.conf", "unknown_${_PWD}\n");
    // A relative path as `-f p.conf` gives it: relative to the current directory.
    let cwd = std::env::current_dir().expect("cwd");
    let rel = pathdiff(&t.0.join("p.conf"), &cwd);
    let a = analyse(&rel, &opts());
    let want = std::fs::canonicalize(&t.0).expect("canonical");
    find(&a, &format!("Unknown keyword 'unknown_{}'", want.display()));
}

/// `to` relative to `from` (both absolute), with `..` components.
fn pathdiff(to: &Path, from: &Path) -> PathBuf {
    let to: Vec<_> = to.components().collect();
    let from: Vec<_> = from.components().collect();
    let common = to.iter().zip(&from).take_while(|(a, b)| a == b).count();
    let mut p = PathBuf::new();
    for _ in common..from.len() {
        p.push("..");
    }
    for c in &to[common..] {
        p.push(c);
    }
    p
}

/// keepalived removes a tracked track_file whose directory does not exist, from the instances
/// too, and keeps the others.
#[test]
fn track_file_with_a_missing_directory_is_removed() {
    let t = temp("track_file_missing_dir");
    let p = t.write(
        "t.conf",
        format!(
            "track_file bad {{\n file /nonexistent-vrrpd-dir/x\n}}\n\
             track_file good {{\n file {}\n}}\n\
             vrrp_instance X {{\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {{ 10.0.0.1 }}\n track_file {{ bad\n good }}\n}}\n",
            t.0.join("good").display()
        ),
    );
    let a = analyse(&p, &opts());
    let d = find(&a, "Track file directory for bad does not exist - removing");
    assert_eq!(d.span.as_ref().map(|s| s.line), Some(1));
    let files: Vec<&str> = a
        .config
        .track_files
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(files, ["good"]);
    let refs: Vec<&str> = a.config.vrrp_instances[0]
        .track_file
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(refs, ["good"]);
    assert!(
        !messages(&a).iter().any(|m| m.contains("not found")),
        "{:#?}",
        messages(&a)
    );
}

/// keepalived takes the family from the first VIP, src IP, mcast_dst_ip or unicast peer, and
/// skips later addresses of the other family.
#[test]
fn family_comes_from_the_first_address_of_any_kind() {
    let t = temp("family_comes_from_the_fi");
    let p = t.write(
        "f.conf",
        "vrrp_instance V6 {\n interface eth0\n virtual_router_id 1\n no_virtual_ipaddress\n unicast_src_ip fd00::1\n unicast_peer {\n  fd00::2\n }\n}\n\
         vrrp_instance MIX {\n interface eth0\n virtual_router_id 2\n unicast_src_ip 192.168.1.1\n unicast_peer {\n  fd00::2\n  192.168.1.2\n }\n virtual_ipaddress {\n  fd00::100\n }\n}\n\
         vrrp_instance SRC {\n interface eth0\n virtual_router_id 3\n virtual_ipaddress { fd00::3 }\n mcast_src_ip 10.0.0.3\n}\n\
         vrrp_instance DST {\n interface eth0\n virtual_router_id 4\n mcast_dst_ip ff02::12\n mcast_dst_ip 224.0.0.19\n virtual_ipaddress { fd00::4 }\n}\n",
    );
    let a = analyse(&p, &opts());
    warned_at(
        &a,
        &p,
        &[
            (
                "Configuration error: VRRP instance[MIX] and unicast peer address[fd00::2] MUST be of the same family !!! Skipping...",
                15,
                3,
            ),
            (
                "(MIX): address family must match VRRP instance [fd00::100] - ignoring",
                19,
                3,
            ),
            (
                "Configuration error: VRRP instance[SRC] and src address[10.0.0.3] MUST be of the same family !!! Skipping...",
                26,
                15,
            ),
            (
                "(DST) mcast dest address 224.0.0.19 MUST match VRRP instance family. Skipping...",
                32,
                15,
            ),
        ],
    );
    let r = resolve(&a.config);
    let view = |name: &str| {
        let i = r.iter().find(|i| i.name == name).expect("instance");
        let peers: Vec<String> = i
            .unicast_peers
            .iter()
            .map(|p| p.address.to_string())
            .collect();
        (i.family, i.version, peers)
    };
    assert_eq!(view("V6"), (Family::Ipv6, 3, vec!["fd00::2".to_string()]));
    assert_eq!(
        view("MIX"),
        (Family::Ipv4, 2, vec!["192.168.1.2".to_string()])
    );
    assert!(a.config.vrrp_instances[1].virtual_ipaddress.is_empty());
    let src = &a.config.vrrp_instances[2];
    assert_eq!((src.family, src.src_ip), (Some(Family::Ipv6), None));
    let dst = &a.config.vrrp_instances[3];
    assert_eq!(dst.mcast_dst_ip, Some("ff02::12".parse().unwrap()));
}

/// keepalived's read_line ends a multi-line `$NAME=` only at a truly empty line: a comment or a
/// line of blanks inside it is skipped.
#[test]
fn only_an_empty_line_ends_a_multiline_definition() {
    let t = temp("only_an_empty_line_ends_");
    let p = t.write(
        "m.conf",
        "$INST=vrrp_instance VI_1 { \\\n    interface eth0 \\\n# the VRID\n   \t\n    virtual_router_id 7 \\\n    virtual_ipaddress { \\\n        10.0.0.1 \\\n    } \\\n}\n$INST\n\
         $CUT=vrrp_instance VI_2 { \\\n\n    virtual_router_id 8\n",
    );
    let a = analyse(&p, &opts());
    let vi1 = &a.config.vrrp_instances[0];
    assert_eq!(
        (vi1.name.as_str(), vi1.virtual_router_id),
        ("VI_1", Some(7))
    );
    assert_eq!(vi1.virtual_ipaddress.len(), 1);
    assert_eq!(a.config.vrrp_instances.len(), 1, "$CUT is only defined");
    // The empty line ended $CUT, so its last line is read as top-level text.
    let d = find(&a, "Unknown keyword 'virtual_router_id'");
    assert_eq!(place(d), format!("{}:13:5", p.display()));
}

/// A tracker line's weight and option as keepalived 2.2.7 reads them (alloc_track_if,
/// alloc_track_script, vrrp_alloc_track_file).
#[test]
fn tracker_weights_and_options_follow_keepalived() {
    let t = temp("tracker_weights_and_opti");
    let p = t.write(
        "t.conf",
        format!("{SCRIPTS_AS_ROOT}vrrp_script chk {{\n script \"/bin/true\"\n weight -20\n}}\n\
         vrrp_script chk2 {{\n script \"/bin/true\"\n weight 5\n}}\n\
         track_file tf {{\n file /tmp/x\n weight 7\n}}\n\
         vrrp_instance A {{\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {{ 10.0.0.1 }}\n\
         track_script {{\n  chk weight 300\n  chk2 reverse\n }}\n\
         track_interface {{\n  eth1 weight 999\n  eth2 weight\n  eth3 weight 10 noreverse\n }}\n\
         track_file {{\n  tf weight x\n }}\n}}\n\
         vrrp_instance B {{\n interface eth0\n virtual_router_id 2\n virtual_ipaddress {{ 10.0.0.2 }}\n\
         track_script {{\n  chk weight\n }}\n track_file {{\n  tf weight 3 sideways\n }}\n}}\n"),
    );
    let a = analyse(&p, &opts());
    warned_at(
        &a,
        &p,
        &[
            (
                "(A) track script chk: weight must be between [-253..253] inclusive, ignoring...",
                22,
                14,
            ),
            ("(A) unknown track script option reverse - ignoring", 23, 8),
            (
                "(A) weight 999 for eth1 must be between [-253..253] inclusive. Ignoring...",
                26,
                15,
            ),
            (
                "(A) weight without value specified for track_interface eth2 - ignoring",
                27,
                8,
            ),
            (
                "(A) unknown track_interace eth3 weight option noreverse - ignoring",
                28,
                18,
            ),
            (
                "(A) weight for track file tf must be in [-254..254] inclusive. Ignoring...",
                31,
                13,
            ),
            (
                "(B) weight without value specified for track script chk - ignoring",
                39,
                7,
            ),
            (
                "(B) unknown track file tf weight option sideways - ignoring",
                42,
                15,
            ),
        ],
    );
    let r = resolve(&a.config);
    let weights = |l: &[vrrpd::config::resolve::ResolvedTrack]| -> Vec<(String, i32)> {
        l.iter().map(|t| (t.name.clone(), t.weight)).collect()
    };
    let s = |n: &str, w: i32| (n.to_string(), w);
    // A bad weight leaves the script and the file their own, and an interface 0.
    assert_eq!(weights(&r[0].track_scripts), [s("chk", -20)]);
    assert_eq!(
        weights(&r[0].track_interfaces),
        [s("eth1", 0), s("eth3", 10)]
    );
    assert_eq!(weights(&r[0].track_files), [s("tf", 7)]);
    assert!(r[1].track_scripts.is_empty() && r[1].track_files.is_empty());
}

/// keepalived's auth_pass is the first 8 bytes of the word, whatever they are.
#[test]
fn auth_pass_is_the_first_eight_bytes_of_the_word() {
    let t = temp("auth_pass_is_the_first_e");
    let conf = |pass: &[u8]| {
        let mut c = b"vrrp_instance A {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress { 10.0.0.1 }\n authentication {\n  auth_type PASS\n  auth_pass "
            .to_vec();
        c.extend_from_slice(pass);
        c.extend_from_slice(b"\n }\n}\n");
        c
    };
    let pass_of = |name: &str, pass: &[u8]| {
        let a = analyse(&t.write(name, conf(pass)), &opts());
        resolve(&a.config)[0].auth_pass.expect("PASS")
    };
    // UTF-8 "ä" straddling byte 8, and Latin-1 "é", which is not UTF-8.
    assert_eq!(
        &pass_of("utf8.conf", "ppppppp\u{e4}".as_bytes()),
        b"ppppppp\xc3"
    );
    assert_eq!(&pass_of("latin1.conf", b"caf\xe9"), b"caf\xe9\0\0\0\0");
    let a = analyse(&t.write("long.conf", conf(b"longpassword")), &opts());
    let d = find(&a, "Truncating auth_pass to 8 characters");
    assert_eq!(
        place(d),
        format!("{}:7:13", t.0.join("long.conf").display())
    );
}

/// A byte that is not UTF-8 is one byte of the word; diagnostics show it as U+FFFD.
#[test]
fn tokens_keep_the_bytes_of_the_file() {
    let mut diags = Diagnostics::default();
    let lexed = vrrpd::config::lexer::lex_source(
        Path::new("b.conf"),
        b"auth_pass caf\xe9 \xf4\x8f\xbf\xbf\n",
        &vrrpd::config::lexer::LexOptions {
            config_id: "t".into(),
            all_config: false,
            follow_includes: false,
        },
        &mut diags,
    );
    let words: Vec<&[u8]> = lexed[0].tokens.iter().map(|t| t.bytes()).collect();
    assert_eq!(words, [&b"auth_pass"[..], b"caf\xe9", b"\xf4\x8f\xbf\xbf"]);
    assert_eq!(lexed[0].tokens[1].text, "caf\u{fffd}");
}

/// Only script and notify command strings have their quoted escapes applied (keepalived's
/// alloc_strvec_quoted_escaped); other keywords take the text between the quotes as written.
#[test]
fn quoted_escapes_only_in_command_strings() {
    let t = temp("quoted_escapes_only_in_c");
    let p = t.write(
        "e.conf",
        r#"global_defs {
 enable_script_security
 script_user root
}
vrrp_script chk {
 script "/bin/echo \x41\101 'b c'"
}
track_file tf {
 file "/tmp/a\\b"
}
vrrp_instance A {
 interface eth0
 virtual_router_id 1
 virtual_ipaddress { 10.0.0.1 }
 authentication {
  auth_type PASS
  auth_pass "ab\\cd"
 }
 notify_master "/bin/echo \x41 \\"
}
"#,
    );
    let a = analyse(&p, &opts());
    let c = &a.config;
    let args = |s: &Option<vrrpd::config::model::Script>| s.as_ref().expect("script").args.clone();
    assert_eq!(args(&c.vrrp_scripts[0].script), ["/bin/echo", "AA", "b c"]);
    assert_eq!(
        args(&c.vrrp_instances[0].notify.master),
        ["/bin/echo", "A", "\\"]
    );
    assert_eq!(c.track_files[0].file.as_deref(), Some(r"/tmp/a\\b"));
    assert_eq!(&resolve(c)[0].auth_pass.expect("PASS"), b"ab\\\\cd\0\0");
}

/// keepalived's find_definition: a bare `$NAME` is replaced only when a blank, `,`, `)` or the
/// end of the line follows it; `${NAME}` always.
#[test]
fn bare_variable_needs_a_word_end() {
    let t = temp("bare_variable_needs_a_wo");
    let p = t.write(
        "v.conf",
        "$X=eth1\n$NET=10.0.0\nglobal_defs {\n router_id \"$X\"\n}\n\
         vrrp_instance VI_1 {\n interface $X\n virtual_router_id 1\n virtual_ipaddress {\n  $NET.1/24\n  ${NET}.2/24\n }\n\
         notify_master \"/bin/echo $X\"\n notify_backup \"/bin/echo ${X}x $X,y\"\n}\n",
    );
    let a = analyse(&p, &opts());
    let c = &a.config;
    assert_eq!(c.global_defs.router_id.as_deref(), Some("$X"));
    let vi = &c.vrrp_instances[0];
    assert_eq!(vi.interface.as_deref(), Some("eth1"));
    let vips: Vec<String> = vi
        .virtual_ipaddress
        .iter()
        .map(|v| v.address.to_string())
        .collect();
    assert_eq!(vips, ["10.0.0.2"]);
    let d = find(&a, "VRRP parsed invalid IP $NET.1/24");
    assert_eq!(place(d), format!("{}:10:3", p.display()));
    let args = |s: &Option<vrrpd::config::model::Script>| s.as_ref().expect("script").args.clone();
    assert_eq!(args(&vi.notify.master), ["/bin/echo", "$X"]);
    assert_eq!(args(&vi.notify.backup), ["/bin/echo", "eth1x", "eth1,y"]);
}

/// keepalived skips a whole vrrp_instance / vrrp_sync_group block whose name is not its only
/// word.
#[test]
fn block_with_extra_words_after_its_name_is_skipped() {
    let t = temp("block_with_extra_words_a");
    let p = t.write(
        "x.conf",
        "vrrp_instance VI_1 backup {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress { 10.0.0.1 }\n}\n\
         vrrp_instance VI_2 {\n interface eth0\n virtual_router_id 2\n virtual_ipaddress { 10.0.0.2 }\n}\n\
         vrrp_instance VI_3 {\n interface eth0\n virtual_router_id 3\n virtual_ipaddress { 10.0.0.3 }\n}\n\
         vrrp_sync_group G extra {\n group { VI_2 VI_3 }\n}\n",
    );
    let a = analyse(&p, &opts());
    warned_at(
        &a,
        &p,
        &[
            ("vrrp_instance must have a name", 1, 20),
            ("vrrp_sync_group must have a name - skipping", 16, 19),
        ],
    );
    let names = names_of(&a.config.vrrp_instances, |i| &i.name);
    assert_eq!(names, ["VI_2", "VI_3"]);
    assert!(a.config.vrrp_sync_groups.is_empty());
}

/// keepalived's add_seq: definitions in the arguments are replaced first, numbers are read as
/// `strtol(…, 0)` (0x hex, 0 octal), and `~SEQ(var,END)` runs from ±1 towards END.
#[test]
fn seq_arguments_are_read_as_keepalived_does() {
    let t = temp("seq_arguments_are_read_a");
    let p = t.write(
        "s.conf",
        [
            SCRIPTS_AS_ROOT,
            "$N=2\n\
         $S=vrrp_script ${P}_${i} { \\\n script /bin/true \\\n}\n\
         $P=var\n~SEQ(i,1,$N) $S\n\
         $P=hex\n~SEQ(i,0x10,0x11) $S\n\
         $P=hexout\n~SEQx(i,0xa,0xb) $S\n\
         $P=oct\n~SEQ(i,010,011) $S\n\
         $P=zero\n~SEQ(i,0) $S\n\
         $P=neg\n~SEQ(i,-2) $S\n\
         ~SEQ(i,5,1,3) $S\n\
         ~SEQx(i,-1,2) $S\n\
         ~SEQ(i,1,08) $S\n",
        ]
        .concat(),
    );
    let a = analyse(&p, &opts());
    assert_eq!(
        names_of(&a.config.vrrp_scripts, |s| &s.name),
        [
            "var_1", "var_2", "hex_16", "hex_17", "hexout_a", "hexout_b", "oct_8", "oct_9",
            "zero_1", "zero_0", "neg_-1", "neg_-2"
        ]
    );
    warned_at(
        &a,
        &p,
        &[
            ("Invalid ~SEQ values '~SEQ(i,5,1,3) $S'", 21, 1),
            (
                "~SEQx is only valid for positive numbers '~SEQx(i,-1,2) $S'",
                22,
                1,
            ),
            ("Invalid ~SEQ definition '~SEQ(i,1,08) $S'", 23, 1),
        ],
    );
}
