//! Fuzz the whole keepalived.conf front end (lexer, parser, lowering, validation, resolved view,
//! diagnostic rendering) on arbitrary bytes. Includes are not followed and no system checks are
//! made, so an input cannot make the fuzzer walk or depend on the file system.
#![no_main]

use std::path::Path;

use vrrpd::config::{LoadOptions, analyse_source, resolve};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let opts = LoadOptions {
        config_id: "fuzz".into(),
        all_config: false,
        check_scripts: false,
        check_interfaces: false,
        follow_includes: false,
    };
    let a = analyse_source(Path::new("/nonexistent/vrrpd-fuzz/keepalived.conf"), data, &opts);
    for d in &a.diagnostics {
        let _ = d.to_string();
    }
    let _ = resolve(&a.config);
    let _ = vrrpd::config::check::summary(&a.config);
});
