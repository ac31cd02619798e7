//! The configuration corpus in tests/data/config: every file's normalised model, resolved view,
//! diagnostics and `vrrpd check` exit code must equal its golden file (`X.golden.json`, reviewed
//! by hand: they are the spec). Regenerate with `VRRPD_UPDATE_GOLDEN=1`. The corpus as a whole
//! must use every keyword of the keyword table.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use vrrpd::config::check::{dump, exit_code};
use vrrpd::config::keywords::KEYWORDS;
use vrrpd::config::{LoadOptions, analyse};

mod support;

const DIR: &str = "tests/data/config";

fn opts() -> LoadOptions {
    // Interfaces are not checked so that the goldens do not depend on this machine's links;
    // scripts are (the corpus only runs /bin/true, /bin/sh, /bin/echo, /bin/cat).
    support::load_options("node1")
}

fn corpus() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(DIR)
        .expect("corpus directory")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "corpus looks incomplete: {files:?}");
    files
}

fn golden_of(conf: &Path) -> serde_json::Value {
    let a = analyse(conf, &opts());
    let diagnostics: Vec<String> = a
        .diagnostics
        .iter()
        .map(|d| match &d.span {
            Some(s) => format!("{}: {}: {}", s, d.severity, d.message),
            None => format!("{}: {}", d.severity, d.message),
        })
        .collect();
    serde_json::json!({
        "exit_code": exit_code(&a),
        "diagnostics": diagnostics,
        "dump": serde_json::to_value(dump(&a.config)).expect("serialise"),
    })
}

#[test]
fn corpus_matches_golden_files() {
    let update = std::env::var_os("VRRPD_UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for conf in corpus() {
        let actual = golden_of(&conf);
        let golden_path = conf.with_extension("golden.json");
        let text = serde_json::to_string_pretty(&actual).expect("json") + "\n";
        if update {
            std::fs::write(&golden_path, &text).expect("write golden");
            continue;
        }
        let expected = std::fs::read_to_string(&golden_path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run with VRRPD_UPDATE_GOLDEN=1 to create it)",
                golden_path.display()
            )
        });
        if expected != text {
            failures.push(format!(
                "{} differs from {}:\n{text}",
                conf.display(),
                golden_path.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn corpus_uses_every_keyword_of_the_table() {
    let mut words = BTreeSet::new();
    for conf in corpus()
        .into_iter()
        .chain(std::iter::once(PathBuf::from(DIR).join("inc/scripts.conf")))
    {
        let text = std::fs::read_to_string(&conf).expect("read corpus file");
        for line in text.lines() {
            for w in line.split(|c: char| c.is_whitespace() || c == '{' || c == '}') {
                words.insert(w.to_string());
            }
        }
    }
    let missing: Vec<&str> = KEYWORDS
        .iter()
        .map(|k| k.name)
        .filter(|k| !words.contains(*k))
        .collect();
    assert!(
        missing.is_empty(),
        "keywords not exercised by the corpus: {missing:?}"
    );
}

#[test]
fn seeds_in_corpus_directory_are_not_golden_orphans() {
    // Every golden file belongs to a .conf, so a renamed case cannot leave a stale spec behind.
    for entry in std::fs::read_dir(DIR).expect("corpus directory") {
        let p = entry.expect("dir entry").path();
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if let Some(stem) = name.strip_suffix(".golden.json") {
            assert!(
                Path::new(DIR).join(format!("{stem}.conf")).exists(),
                "orphan golden file {name}"
            );
        }
    }
}
