//! Every default letter, in each of its languages, to every one of its
//! recipients, compared with the reviewed text in tests/golden/*.txt.
//! `UPDATE_GOLDEN=1` rewrites them. The Russian letters' structure is
//! checked on its own too (`russian`), so a regenerated golden cannot
//! quietly lose the form of address, the requests or the date.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::core_list::listing;
use crate::support::{DATE, NAME, ORGANISATION, Runs, TestCampaign, array, file_names};

/// Where the reviewed letters live, in the repository.
fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

#[test]
fn letters_match_golden_files() {
    let json = listing();
    let by_country: BTreeSet<&str> = array(&json["recipients"])
        .iter()
        .filter(|r| !array(&r["countries"]).is_empty())
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let dir = golden_dir();
    if update {
        std::fs::create_dir_all(&dir).unwrap();
    }

    let tc = TestCampaign::new();
    let mut expected_files = BTreeSet::new();
    let mut failures = Vec::new();
    for letter in array(&json["letters"]) {
        let id = letter["id"].as_str().unwrap();
        let languages = array(&letter["languages"]);
        let combinations = languages.iter().enumerate().flat_map(|(i, lang)| {
            array(&letter["recipients"])
                .iter()
                .map(move |r| (i == 0, lang.as_str().unwrap(), r.as_str().unwrap()))
        });
        for (is_default, lang, recipient) in combinations {
            let mut cmd = tc.cmd();
            cmd.args(["write", id, "--to", recipient, "--name", NAME])
                .args(["--organisation", ORGANISATION, "--date", DATE])
                .args(["--lang", lang]);
            if by_country.contains(recipient) {
                cmd.args(["--country", "GB"]);
            }
            let actual = cmd.succeeds().stdout;
            // sokolova--supreme-court.txt (the default language, English),
            // sokolova.ru--supreme-court.txt (Russian).
            let file = if is_default {
                format!("{id}--{recipient}.txt")
            } else {
                format!("{id}.{lang}--{recipient}.txt")
            };
            let path = dir.join(&file);
            expected_files.insert(file.clone());
            if update {
                std::fs::write(&path, &actual).unwrap();
                continue;
            }
            match std::fs::read_to_string(&path) {
                Ok(golden) if golden == actual => {}
                Ok(golden) => failures.push(format!(
                    "{file} differs\n--- golden\n{golden}\n--- actual\n{actual}"
                )),
                Err(e) => failures.push(format!("{file}: {e}")),
            }
        }
    }
    let present: BTreeSet<String> = file_names(&dir)
        .into_iter()
        .filter(|name| name.ends_with(".txt"))
        .collect();
    for stale in present.difference(&expected_files) {
        failures.push(format!(
            "{stale} belongs to no letter and recipient: delete it"
        ));
    }
    assert!(!expected_files.is_empty(), "the listing has no letters");
    assert!(
        failures.is_empty(),
        "{}\n\nIf the change is intended, run UPDATE_GOLDEN=1 cargo test --test cli golden \
         and review the diff of tests/golden/.",
        failures.join("\n\n")
    );
}
