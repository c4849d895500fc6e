//! `check`: a campaign's problems, all at once, each with its file and line.

use crate::support::{TestCampaign, all_output};

/// Runs `check` on the temporary campaign; returns exit code and all output.
fn check(tc: &TestCampaign) -> (i32, String) {
    let output = tc.campaign_cmd().arg("check").output().unwrap();
    (
        output.status.code().expect("exit code"),
        all_output(&output),
    )
}

#[test]
fn built_in_campaign_is_valid() {
    let tc = TestCampaign::new();
    tc.cmd()
        .arg("check")
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "ok: built-in campaign: 4 letters, 4 recipients",
        ));
}

#[test]
fn unchanged_copy_is_valid() {
    let tc = TestCampaign::new();
    let (code, out) = check(&tc);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("4 letters, 4 recipients"), "{out}");
}

#[test]
fn broken_toml_is_pinned_to_line_and_column() {
    let tc = TestCampaign::new();
    tc.replace(
        "recipients.toml",
        "name = \"Alina Bulatovna Rakhimbekova\"",
        "name = \"Alina Bulatovna Rakhimbekova",
    );
    let line = tc.line_of("recipients.toml", "name = \"Alina");
    let (code, out) = check(&tc);
    assert_eq!(code, 2, "{out}");
    let place = format!("recipients.toml:{line}:");
    let at = out
        .find(&place)
        .unwrap_or_else(|| panic!("no {place} in:\n{out}"));
    let column: String = out[at + place.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    assert!(
        column.parse::<usize>().is_ok_and(|c| c > 0),
        "no column after {place}:\n{out}"
    );
}

#[test]
fn unknown_key_is_reported_where_it_is() {
    let tc = TestCampaign::new();
    tc.replace(
        "recipients.toml",
        "salutation = \"Dear Chair of the Supreme Court\"",
        "salutation = \"Dear Chair of the Supreme Court\"\nemial = \"court@example.org\"",
    );
    let line = tc.line_of("recipients.toml", "emial");
    let (code, out) = check(&tc);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains(&format!("recipients.toml:{line}:1:")), "{out}");
    assert!(out.contains("unknown field `emial`"), "{out}");
}

#[test]
fn several_problems_are_reported_in_one_run() {
    let tc = TestCampaign::new();
    let mut recipients = tc.read("recipients.toml");
    recipients.push_str(
        "\n[[recipient]]\nid = \"foreign-ministry\"\nname = \"Second ministry\"\n\
         \n[[recipient]]\nid = \"lawyers\"\nname = \"Lawyers\"\nemail = \"not-an-address\"\n",
    );
    tc.write("recipients.toml", &recipients);
    tc.replace(
        "letters/kuramshin.txt",
        "recipients = [\"foreign-ministry\",",
        "recipients = [\"foreign-ministry\", \"ghost-office\",",
    );
    let (code, out) = check(&tc);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("duplicate recipient id `foreign-ministry`"),
        "{out}"
    );
    assert!(
        out.contains("invalid email address `not-an-address`"),
        "{out}"
    );
    assert!(out.contains("unknown recipient `ghost-office`"), "{out}");
    assert!(out.contains("3 errors"), "{out}");
}

#[test]
fn template_syntax_error_names_letter_and_line() {
    let tc = TestCampaign::new();
    tc.replace(
        "letters/kuramshin.txt",
        "In 2010, the year",
        "In {% if 2010, the year",
    );
    let place = tc.place_of("letters/kuramshin.txt", ", the year");
    let (code, out) = check(&tc);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(&format!(
            "letters/kuramshin.txt:{place}: error: template error: Found `,` but expected %}}"
        )),
        "expected {place}:\n{out}"
    );
}

#[test]
fn undefined_variable_is_reported_by_check() {
    let tc = TestCampaign::new();
    tc.replace(
        "letters/mangystau-oil-workers.txt",
        "Before the talks held",
        "Before the {{ recipient.nmae }} talks held",
    );
    let place = tc.place_of("letters/mangystau-oil-workers.txt", "nmae");
    let (code, out) = check(&tc);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(&format!(
            "letters/mangystau-oil-workers.txt:{place}: error: template error: `recipient` has no field `nmae`"
        )),
        "expected {place}:\n{out}"
    );
    assert!(out.contains("did you mean `recipient.name`?"), "{out}");
    assert_eq!(
        out.matches("no field `nmae`").count(),
        1,
        "reported once: {out}"
    );
}
