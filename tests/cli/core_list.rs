//! `list`: the built-in campaign's letters and recipients, for people and scripts.

use serde_json::Value;

use crate::support::{Runs, TestCampaign, array, texts};

const LETTERS: [&str; 4] = [
    "drop-charges",
    "kuramshin",
    "mangystau-oil-workers",
    "sokolova",
];
const RECIPIENTS: [&str; 4] = [
    "supreme-court",
    "foreign-ministry",
    "presidential-administration",
    "embassy",
];

/// `list --format json` on the built-in campaign, parsed.
pub fn listing() -> Value {
    let out = TestCampaign::new()
        .cmd()
        .args(["list", "--format", "json"])
        .succeeds();
    serde_json::from_str(&out.stdout).expect("list --format json prints JSON")
}

/// The `id` of each item of a JSON array.
pub fn ids(items: &Value) -> Vec<&str> {
    array(items)
        .iter()
        .map(|item| item["id"].as_str().unwrap())
        .collect()
}

#[test]
fn text_lists_every_letter_and_recipient() {
    let out = TestCampaign::new().cmd().arg("list").succeeds().stdout;
    for id in LETTERS.iter().chain(&RECIPIENTS) {
        assert!(
            out.lines()
                .any(|l| l.split_whitespace().next() == Some(*id)),
            "no line starts with {id}:\n{out}"
        );
    }
    assert!(out.contains("(default)"), "{out}");
    assert!(out.contains("tel +7 7172 74 55 24 (Asia/Almaty)"), "{out}");
}

#[test]
fn json_has_ids_and_channels() {
    let json = listing();
    assert_eq!(ids(&json["letters"]), LETTERS);
    let default: Vec<&Value> = array(&json["letters"])
        .iter()
        .filter(|l| l["default"] == true)
        .collect();
    assert_eq!(default.len(), 1);
    assert_eq!(default[0]["id"], "sokolova");

    assert_eq!(ids(&json["recipients"]), RECIPIENTS);
    let recipient = |id: &str| {
        array(&json["recipients"])
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()
    };
    let channels = |id: &str| texts(&recipient(id)["channels"]);
    assert_eq!(channels("presidential-administration"), ["phone"]);
    assert_eq!(channels("supreme-court"), ["email", "phone"]);
    assert_eq!(channels("foreign-ministry"), ["email"]);
    assert_eq!(channels("embassy"), ["email"]);
    // The office's time zone, where the campaign gives one.
    let zone = |id: &str| recipient(id)["time_zone"].clone();
    assert_eq!(zone("presidential-administration"), "Asia/Almaty");
    assert_eq!(zone("foreign-ministry"), Value::Null);
    let countries = array(&recipient("embassy")["countries"]);
    assert!(countries.contains(&Value::from("GB")));
}
