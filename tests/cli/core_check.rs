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

#[test]
fn problems_go_to_stderr_and_quiet_keeps_only_errors() {
    let tc = TestCampaign::new();
    // The built-in copy has warnings (deadline, placeholders): on stderr,
    // and only the "ok" on stdout, which -q drops too.
    let out = tc.campaign_cmd().arg("check").succeeds();
    assert!(out.stdout.starts_with("ok: "), "{out:?}");
    assert!(!out.stdout.contains("warning:"), "{out:?}");
    out.says("warning: the campaign's deadline 2011-12-31 has passed");
    let quiet = tc.campaign_cmd().args(["check", "-q"]).succeeds();
    assert!(
        quiet.stdout.is_empty() && quiet.stderr.is_empty(),
        "{quiet:?}"
    );

    // An error still shows with -q, without the warnings.
    tc.replace(
        "letters/kuramshin.txt",
        "In 2010, the year",
        "In {% if 2010, the year",
    );
    let quiet = tc.campaign_cmd().args(["-q", "check"]).exits(2);
    quiet.no_stdout().says("error: template error: Found `,`");
    quiet.says("1 error, 4 warnings");
    assert!(!quiet.stderr.contains("warning:"), "{quiet:?}");
}

#[test]
fn the_summary_counts_in_the_singular_too() {
    let recipients = "[campaign]\nname = \"One\"\n\n[[recipient]]\nid = \"court\"\n\
                      name = \"The Court\"\nemail = \"court@court.kz\"\n";
    let letter = "+++\nsubject = \"S\"\nrecipients = [\"court\"]\n+++\nDear Court,\n\
                  {{ message }}\n{% for s in signatories %}{{ s.name }}\n{% endfor %}\n";
    let tc = TestCampaign::custom(recipients, &[("one.txt", letter)]);
    let out = tc.campaign_cmd().arg("check").succeeds();
    out.prints("1 letter, 1 recipient, 0 warnings");
}

#[test]
fn json_names_files_from_the_campaign_folder() {
    let tc = TestCampaign::new();
    let out = tc
        .campaign_cmd()
        .args(["check", "--format", "json"])
        .succeeds();
    let files: Vec<String> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["file"].to_string())
        .collect();
    assert!(
        files.contains(&"\"recipients.toml\"".to_string()),
        "{files:?}"
    );
    assert!(
        files.contains(&"\"letters/kuramshin.txt\"".to_string()),
        "{files:?}"
    );
    let root = tc.dir().display().to_string();
    assert!(!out.stdout.contains(&root), "{out:?}");
}

#[test]
fn every_undefined_name_of_every_letter_is_reported_in_one_run() {
    let letter = "letters/mangystau-oil-workers.txt";
    let tc = TestCampaign::edited(
        letter,
        "Before the talks held",
        "Before the {{ recipient.nmae }} talks {{ signr.name }} held",
    );
    tc.replace(
        letter,
        "As of early December 2011",
        "As of {% for l in recipient.adress %}{{ l }}{% endfor %} early December 2011",
    );
    tc.replace(
        "letters/_signature.txt",
        "{{ signer.name }}",
        "{{ signer.nam }}",
    );
    tc.replace(
        "letters/sokolova.txt",
        "{% include \"_header.txt\" %}",
        "{% include \"_header.txt\" %}{{ campain.name | upper }}",
    );
    let out = errors(&tc);
    for (file, needle, message) in [
        (letter, "nmae", "`recipient` has no field `nmae`"),
        (letter, "signr", "undefined variable `signr`"),
        (
            letter,
            "recipient.adress",
            "`recipient.adress` is undefined",
        ),
        (
            "letters/_signature.txt",
            "nam }}",
            "`signer` has no field `nam`",
        ),
        (
            "letters/sokolova.txt",
            "campain",
            "undefined variable `campain`",
        ),
    ] {
        let place = tc.place_of(file, needle);
        has(
            &out,
            &format!("{file}:{place}: error: template error: {message}"),
        );
    }
    has(&out, "5 errors");
}
