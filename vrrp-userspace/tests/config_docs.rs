//! docs/configuration.md is generated from the keyword table and must not drift from it.
//! Regenerate with `VRRPD_UPDATE_DOCS=1 cargo test -p vrrp-userspace --test config_docs`.

use vrrpd::config::keywords::{KEYWORDS, render_docs};

const DOCS: &str = "../docs/configuration.md";

#[test]
fn configuration_doc_matches_keyword_table() {
    let generated = render_docs();
    if std::env::var_os("VRRPD_UPDATE_DOCS").is_some() {
        std::fs::create_dir_all("../docs").expect("docs dir");
        std::fs::write(DOCS, &generated).expect("write docs");
    }
    let on_disk = std::fs::read_to_string(DOCS)
        .expect("docs/configuration.md (VRRPD_UPDATE_DOCS=1 creates it)");
    assert!(
        on_disk == generated,
        "docs/configuration.md is stale: run with VRRPD_UPDATE_DOCS=1"
    );
}

#[test]
fn keyword_table_has_no_duplicates() {
    let mut seen = std::collections::HashSet::new();
    for k in KEYWORDS {
        assert!(
            seen.insert((k.section, k.name)),
            "duplicate keyword {:?} {}",
            k.section,
            k.name
        );
    }
}
