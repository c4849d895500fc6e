//! `check`: a campaign's problems, all at once, each with its file and line.

use crate::support::{Runs, TestCampaign};

/// Runs `check` on the temporary campaign, which must fail (exit 2);
/// returns both streams.
fn errors(tc: &TestCampaign) -> String {
    tc.campaign_cmd().arg("check").exits(2).all()
}

/// `check` of the built-in campaign with the first `from` in `file`
/// replaced by `to`: the campaign and the output of a failed check.
fn check_edited(file: &str, from: &str, to: &str) -> (TestCampaign, String) {
    let tc = TestCampaign::edited(file, from, to);
    let out = errors(&tc);
    (tc, out)
}

/// Checks that `out` holds `expected`.
#[track_caller]
fn has(out: &str, expected: &str) {
    assert!(out.contains(expected), "expected {expected:?} in:\n{out}");
}

#[test]
fn built_in_campaign_is_valid() {
    let tc = TestCampaign::new();
    let out = tc.cmd().arg("check").succeeds();
    out.prints("ok: built-in campaign: 4 letters, 4 recipients");
}

#[test]
fn unchanged_copy_is_valid() {
    let out = TestCampaign::new().campaign_cmd().arg("check").succeeds();
    has(&out.all(), "4 letters, 4 recipients");
}

#[test]
fn broken_toml_is_pinned_to_line_and_column() {
    let (tc, out) = check_edited(
        "recipients.toml",
        "name = \"Alina Bulatovna Rakhimbekova\"",
        "name = \"Alina Bulatovna Rakhimbekova",
    );
    let line = tc.line_of("recipients.toml", "name = \"Alina");
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
    let (tc, out) = check_edited(
        "recipients.toml",
        "salutation = \"Dear Chair of the Supreme Court\"",
        "salutation = \"Dear Chair of the Supreme Court\"\nemial = \"court@example.org\"",
    );
    has(&out, "unknown field `emial`");
    let line = tc.line_of("recipients.toml", "emial");
    has(&out, &format!("recipients.toml:{line}:1:"));
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
    let out = errors(&tc);
    for expected in [
        "duplicate recipient id `foreign-ministry`",
        "invalid email address `not-an-address`",
        "unknown recipient `ghost-office`",
        "3 errors",
    ] {
        has(&out, expected);
    }
}

#[test]
fn template_syntax_error_names_letter_and_line() {
    let file = "letters/kuramshin.txt";
    let (tc, out) = check_edited(file, "In 2010, the year", "In {% if 2010, the year");
    let place = tc.place_of(file, ", the year");
    has(
        &out,
        &format!("{file}:{place}: error: template error: Found `,` but expected %}}"),
    );
}

#[test]
fn undefined_variable_is_reported_by_check() {
    let file = "letters/mangystau-oil-workers.txt";
    let (tc, out) = check_edited(
        file,
        "Before the talks held",
        "Before the {{ recipient.nmae }} talks held",
    );
    let place = tc.place_of(file, "nmae");
    has(
        &out,
        &format!("{file}:{place}: error: template error: `recipient` has no field `nmae`"),
    );
    has(&out, "did you mean `recipient.name`?");
    assert_eq!(
        out.matches("no field `nmae`").count(),
        1,
        "reported once: {out}"
    );
}
