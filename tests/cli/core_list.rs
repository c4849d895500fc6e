//! `list`: the built-in campaign's letters and recipients, for people and scripts.

use serde_json::Value;

use crate::support::{TestCampaign, text};

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
pub fn listing(tc: &TestCampaign) -> Value {
    let output = tc
        .cmd()
        .args(["list", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .clone();
    serde_json::from_slice(&output.stdout).expect("list --format json prints JSON")
}

#[test]
fn text_lists_every_letter_and_recipient() {
    let tc = TestCampaign::new();
    let output = tc.cmd().arg("list").assert().success().get_output().clone();
    let out = text(&output.stdout);
    for id in LETTERS.iter().chain(&RECIPIENTS) {
        assert!(
            out.lines()
                .any(|l| l.split_whitespace().next() == Some(*id)),
            "no line starts with {id}:\n{out}"
        );
    }
    assert!(out.contains("(default)"), "{out}");
}

#[test]
fn json_has_ids_and_channels() {
    let tc = TestCampaign::new();
    let json = listing(&tc);
    let letters: Vec<&str> = json["letters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(letters, LETTERS);
    let default: Vec<&Value> = json["letters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["default"] == true)
        .collect();
    assert_eq!(default.len(), 1);
    assert_eq!(default[0]["id"], "sokolova");

    let recipients = json["recipients"].as_array().unwrap();
    let ids: Vec<&str> = recipients
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, RECIPIENTS);
    let channels = |id: &str| {
        recipients.iter().find(|r| r["id"] == id).unwrap()["channels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(channels("presidential-administration"), ["phone"]);
    assert_eq!(channels("supreme-court"), ["email", "phone"]);
    assert_eq!(channels("foreign-ministry"), ["email"]);
    assert_eq!(channels("embassy"), ["email"]);
    let embassy = recipients.iter().find(|r| r["id"] == "embassy").unwrap();
    assert!(
        embassy["countries"]
            .as_array()
            .unwrap()
            .contains(&Value::from("GB"))
    );
}
