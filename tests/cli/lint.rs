//! `check` as a linter: every problem of a small campaign of the test's own
//! (so a rewrite of the built-in letters does not move these lines), each
//! at its exact `file:line:column` with its caret, in text and as JSON; and
//! templates that must not crash or hang the tool.

use std::time::Duration;

use serde_json::Value;

use crate::support::{Run, Runs, TestCampaign};

const RECIPIENTS: &str = r#"[campaign]
name = "Lint test"

[[recipient]]
id = "court"
name = "The Court"
salutation = "Dear Judges"
email = "court@example.org"

[[recipient]]
id = "embassy"
name = "The Embassy"
email = "embassy@example.org"

[recipient.countries.GB]
email = "embassy-gb@example.org"
"#;

/// A letter whose line 6 is the first body line.
const LETTER: &str = r#"+++
subject = "About {{ recipient.name }}"
recipients = ["court", "embassy"]
+++
{{ recipient.salutation }},
We write.
{% for s in signatories %}{{ s.name }}
{% endfor %}{{ message }}
"#;

/// A campaign of `RECIPIENTS` and `letter` as letters/one.txt.
fn campaign(letter: &str) -> TestCampaign {
    TestCampaign::custom(RECIPIENTS, &[("one.txt", letter)])
}

/// [`campaign`] of the test letter with `text` for its line 6.
fn line_6(text: &str) -> TestCampaign {
    campaign(&LETTER.replace("We write.", text))
}

/// `tc` with `from` replaced by `to` in its recipients.toml.
fn recipients(tc: TestCampaign, from: &str, to: &str) -> TestCampaign {
    tc.write("recipients.toml", &RECIPIENTS.replace(from, to));
    tc
}

/// `check` of `tc` that must fail (exit 2): both streams, and how long it
/// took. The campaign folder is `$C` in the text, so that expected
/// diagnostics can be written out whole.
fn errors(tc: &TestCampaign) -> (String, Duration) {
    let run = tc.campaign_cmd().arg("check").exits(2);
    let campaign = tc.dir().display().to_string();
    (run.all().replace(&campaign, "$C"), run.took)
}

/// Checks that `out` holds each of `expected`.
#[track_caller]
fn has(out: &str, expected: &[&str]) {
    for expected in expected {
        assert!(out.contains(expected), "{expected}\n{out}");
    }
}

/// `write --to court --name Jo` on `tc`.
fn write(tc: &TestCampaign) -> Run {
    let mut cmd = tc.campaign_cmd();
    cmd.args(["write", "--to", "court", "--name", "Jo"]).run()
}

#[test]
fn the_test_campaign_is_valid() {
    let out = campaign(LETTER).campaign_cmd().arg("check").succeeds();
    assert!(out.all().contains("ok: "), "{out:?}");
}

#[test]
fn every_problem_of_every_file_in_one_run_each_once() {
    let tc = line_6("We {{ signer.nme }} write.");
    tc.write(
        "letters/two.txt",
        "+++\nsubject = \"Two\"\nrecipients = [\"court\"]\n+++\nA {% if x, y %}\n",
    );
    // recipients.toml does not parse at all: the letters are still tried.
    tc.write(
        "recipients.toml",
        &RECIPIENTS.replace("name = \"Lint test\"", "name = \"Lint test"),
    );
    let (out, _) = errors(&tc);
    has(
        &out,
        &[
            "$C/letters/one.txt:6:14: error: template error: `signer` has no field `nme`\n  |\n6 | We {{ signer.nme }} write.\n  |              ^^^\n  = help: did you mean `signer.name`?",
            "$C/letters/two.txt:5:10: error: template error: Found `,` but expected %}",
            "$C/recipients.toml:2:18: error: invalid basic string, expected `\"`",
            ": 3 errors, 0 warnings",
        ],
    );
    assert_eq!(out.matches("no field `nme`").count(), 1, "once: {out}");
}

#[test]
fn carets_are_right_under_tabs_and_wide_characters() {
    // Column 6 in characters; the caret under `nme` as a terminal shows the
    // line (a tab as four spaces, each CJK character two columns wide).
    let (out, _) = errors(&line_6("\t日本語 {{ signer.nme }}"));
    has(
        &out,
        &[
            "$C/letters/one.txt:6:16: error: template error: `signer` has no field `nme`\n  |\n6 |     日本語 {{ signer.nme }}\n  |                      ^^^\n",
        ],
    );
}

#[test]
fn did_you_mean_for_misspelt_keys_and_codes() {
    let letter = LETTER.replace("recipients = [", "descripton = \"x\"\nrecipients = [");
    let tc = recipients(campaign(&letter), "salutation = ", "salutaton = ");
    has(
        &errors(&tc).0,
        &[
            "$C/recipients.toml:7:1: error: unknown field `salutaton`\n  |\n7 | salutaton = \"Dear Judges\"\n  | ^^^^^^^^^\n  = help: did you mean `salutation`?",
            "$C/letters/one.txt:3:1: error: unknown field `descripton`\n  |\n3 | descripton = \"x\"\n  | ^^^^^^^^^^\n  = help: did you mean `description`?",
        ],
    );

    let tc = recipients(campaign(LETTER), "countries.GB]", "countries.UK]");
    has(
        &errors(&tc).0,
        &[
            "$C/recipients.toml:15:22: error: `UK` is not an ISO 3166 country code\n   |\n15 | [recipient.countries.UK]\n   |                      ^^\n  = help: did you mean `GB`?",
        ],
    );
    // On the command line, for a recipient by country.
    let out = campaign(LETTER)
        .campaign_cmd()
        .args(["write", "--to", "embassy", "--name", "Jo"])
        .args(["--country", "UK"])
        .exits(2);
    out.says("did you mean `GB`?");
}

#[test]
fn did_you_mean_for_a_misspelt_profile_key() {
    let tc = campaign(LETTER);
    let profile = tc.file("profile.toml", "name = \"Jo\"\norganisaton = \"Branch\"\n");
    let out = tc
        .campaign_cmd()
        .env("PROTEST_LETTER_PROFILE", &profile)
        .arg("list")
        .exits(2);
    out.says(&format!(
        "{}:2:1: error: unknown field `organisaton`\n  |\n2 | organisaton = \"Branch\"\n  | ^^^^^^^^^^^\n  = help: did you mean `organisation`?",
        profile.display()
    ));
}

#[test]
fn json_has_one_object_per_problem() {
    let tc = line_6("We {{ signer.nme }} write.");
    tc.write("letters/_broken.txt", "{{ x \n");
    let out = tc
        .campaign_cmd()
        .args(["check", "--format", "json"])
        .exits(2);
    let all: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON object per line"))
        .collect();
    // example.org addresses are placeholders: a warning.
    assert!(all.iter().any(|p| p["severity"] == "warning"), "{all:#?}");
    let problems: Vec<&Value> = all.iter().filter(|p| p["severity"] == "error").collect();
    assert_eq!(problems.len(), 2, "{all:#?}");
    // Named from the campaign folder, as editors and CI run in it.
    let in_file = |file: &str| problems.iter().find(|p| p["file"] == file).copied();
    let undefined = in_file("letters/one.txt").expect("the undefined field");
    assert_eq!(undefined["severity"], "error");
    assert_eq!(undefined["line"], 6);
    assert_eq!(undefined["column"], 14);
    assert_eq!(
        undefined["message"],
        "template error: `signer` has no field `nme`"
    );
    assert!(
        undefined["help"]
            .as_str()
            .unwrap()
            .starts_with("did you mean `signer.name`?")
    );
    let broken = in_file("letters/_broken.txt").expect("the broken partial");
    assert_eq!(broken["line"], 1);
    assert!(broken["help"].is_null());
}

#[test]
fn a_partial_that_includes_itself_is_refused_at_load() {
    let tc = line_6("{% include \"_loop.txt\" %}");
    tc.write("letters/_loop.txt", "again {% include \"_loop.txt\" %}\n");
    let (out, took) = errors(&tc);
    has(
        &out,
        &["$C/letters/_loop.txt: error: template error: `_loop.txt` includes itself"],
    );
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert_eq!(write(&tc).code, 2);
}

#[test]
fn a_recursive_component_is_refused_at_load() {
    let (out, _) = errors(&line_6(
        "{% component again(n) %}{{ n }}{{<again n={n}/>}}{% endcomponent %}{{<again n={1}/>}}",
    ));
    has(
        &out,
        &[
            "$C/letters/one.txt:6:35: error: template error: component `again` calls itself (again → again)",
        ],
    );
    assert!(!out.contains("depth"), "reported once, at load: {out}");
}

#[test]
fn a_huge_range_is_refused_quickly() {
    let tc = line_6("{% for i in range(end=1000000000) %}x{% endfor %}");
    let (out, took) = errors(&tc);
    has(
        &out,
        &[
            "$C/letters/one.txt:6:13: error: template error: `range` would produce 1000000000 numbers; a letter may use at most 100000",
        ],
    );
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[test]
fn a_letter_that_grows_without_end_is_stopped_and_named() {
    let out = write(&line_6(
        "{% for i in range(end=100000) %}{% for j in range(end=100000) %}many words here {% endfor %}{% endfor %}",
    ));
    assert_eq!(out.code, 2, "{out:?}");
    out.no_stdout()
        .says("letter `one` to `court` stopped: the letter grew past 4.0 MB");
    assert!(out.took < Duration::from_secs(4));
}

#[test]
fn a_loop_that_prints_nothing_is_stopped_by_the_time_limit() {
    let out = write(&line_6(
        "{% for i in range(end=100000) %}{% for j in range(end=100000) %}{% endfor %}{% endfor %}",
    ));
    assert_eq!(out.code, 2, "{out:?}");
    out.says("letter `one` to `court` stopped: rendering took longer than 5 seconds");
    assert!(out.took < Duration::from_secs(15));
}

#[test]
fn a_petition_that_would_drop_signers_is_an_error() {
    let tc = campaign(&LETTER.replace(
        "{% for s in signatories %}{{ s.name }}\n{% endfor %}",
        "{{ signer.name }} and {{ signatories | length - 1 }} others",
    ));
    has(
        &errors(&tc).0,
        &["$C/letters/one.txt: error: letter `one` does not list `signatories`"],
    );
    let list = tc.file(
        "members.csv",
        "name,email\nAnn,ann@example.org\nBob,bob@example.org\n",
    );
    let out_file = tc.path("petition.txt");
    tc.campaign_cmd()
        .args(["write", "--group", "--to", "court"])
        .args(["--email", "sec@example.org", "--signatories"])
        .arg(&list)
        .arg("-o")
        .arg(&out_file)
        .exits(2)
        .says("does not list `signatories`");
    assert!(!out_file.exists(), "nothing is written");
    // Without --group the letter is fine.
    assert_eq!(write(&tc).code, 0);
}

#[test]
fn latin1_bytes_are_reported_by_line_and_column() {
    let tc = campaign(LETTER);
    let mut bytes = LETTER.replace("We write.", "We write, caf").into_bytes();
    let at = bytes.iter().position(|&b| b == b'f').unwrap() + 1;
    bytes.insert(at, 0xE9); // é in Latin-1
    std::fs::write(tc.dir().join("letters/one.txt"), bytes).unwrap();
    has(
        &errors(&tc).0,
        &[
            "$C/letters/one.txt:6:14: error: the file is not UTF-8: byte 0xE9 here is not valid text",
        ],
    );
}

#[test]
fn control_characters_and_their_escapes_are_refused() {
    let tc = recipients(
        line_6("We \u{1b}[31mwrite."),
        "\"The Court\"",
        "\"The \\u001b[2JCourt\"",
    );
    has(
        &errors(&tc).0,
        &[
            "$C/letters/one.txt:6:4: error: control character U+001B (escape) in a campaign text",
            "$C/recipients.toml:6:13: error: escape sequence for control character U+001B (escape) in a campaign text\n  |\n6 | name = \"The \\u001b[2JCourt\"\n  |             ^^^^^^",
        ],
    );
}

#[test]
fn a_country_twice_in_different_case_is_a_duplicate() {
    let tc = recipients(
        campaign(LETTER),
        "embassy-gb@example.org\"\n",
        "embassy-gb@example.org\"\n\n[recipient.countries.gb]\nemail = \"other@example.org\"\n",
    );
    has(
        &errors(&tc).0,
        &["$C/recipients.toml:18:22: error: duplicate country `gb` in recipient `embassy`"],
    );
}

#[test]
fn every_recipient_entry_is_checked_on_its_own() {
    let tc = campaign(LETTER);
    let broken = RECIPIENTS
        .replace("salutation = ", "salutaton = ")
        .replace(
            "name = \"The Embassy\"",
            "name = \"The Embassy\"\nphone = 42",
        )
        .replace("[campaign]", "[campain]\nname = \"x\"\n\n[campaign]");
    tc.write("recipients.toml", &broken);
    let (out, _) = errors(&tc);
    has(
        &out,
        &[
            "$C/recipients.toml:1:2: error: unknown key `campain`",
            "did you mean `campaign`?",
            "$C/recipients.toml:10:1: error: unknown field `salutaton`",
            "$C/recipients.toml:16:9: error: invalid type: integer `42`, expected a string",
        ],
    );
    // The broken recipients are not also "unknown" to the letter.
    assert!(!out.contains("unknown recipient"), "{out}");
    assert!(out.contains(": 3 errors"), "{out}");
}

#[test]
fn did_you_mean_for_unknown_filters_and_partials() {
    let tc = line_6("We {{ recipient.name | uper }} {% include \"_sign.txt\" %}");
    tc.write("letters/_signature.txt", "Yours\n");
    has(
        &errors(&tc).0,
        &[
            "$C/letters/one.txt:6:24: error: template error: Unknown filter `uper`\n  |\n6 | We {{ recipient.name | uper }} {% include \"_sign.txt\" %}\n  |                        ^^^^\n  = help: did you mean `upper`?",
            "$C/letters/one.txt:6:43: error: template error: Unknown template `_sign.txt`",
            "did you mean `_signature.txt`?",
        ],
    );
}

#[test]
fn an_unclosed_tag_is_reported_where_it_opens() {
    let tc = line_6("We {% if signer.organisation %}write.");
    has(
        &errors(&tc).0,
        &[
            "$C/letters/one.txt:6:7: error: template error: `{% if %}` is never closed\n  |\n6 | We {% if signer.organisation %}write.\n  |       ^^\n  = help: add `{% endif %}` where it should end",
        ],
    );
}

/// A petition whose letter filters the members' values (here `trim`)
/// still lists every name, in order.
#[test]
fn a_petition_that_filters_names_is_still_right() {
    let members: String = (0..300)
        .map(|i| format!("Member {i},{}\n", if i % 4 == 0 { "" } else { "Unite" }))
        .collect();
    let expected: Vec<String> = (0..300).map(|i| format!("Member {i}")).collect();
    for letter in [
        LETTER.to_string(),
        LETTER.replace("{{ s.name }}", "{{ s.name | trim }}"),
    ] {
        let tc = campaign(&letter);
        let list = tc.file("members.csv", format!("name,organisation\n{members}"));
        let out = tc
            .campaign_cmd()
            .args(["write", "--group", "--to", "court", "--signatories"])
            .arg(&list)
            .succeeds();
        let names: Vec<&str> = out
            .stdout
            .lines()
            .filter(|l| l.starts_with("Member "))
            .collect();
        assert_eq!(names, expected, "{out:?}");
    }
}

#[test]
fn did_you_mean_for_a_misspelt_tag() {
    let tc =
        line_6("We{% if signer.organisation %} of {{ signer.organisation }}{% endfi %} write.");
    has(
        &errors(&tc).0,
        &[
            "$C/letters/one.txt:6:63: error: template error: unknown tag `endfi`",
            "= help: did you mean `{% endif %}`?",
        ],
    );
}

#[test]
fn a_misspelt_partial_is_offered_partials_only() {
    // `on.txt` is one letter away from the letter `one.txt`, which is
    // never included: the help names the partial.
    let tc = line_6("We {% include \"on.txt\" %}");
    tc.write("letters/_signature.txt", "Yours\n");
    let (out, _) = errors(&tc);
    has(
        &out,
        &[
            "error: template error: Unknown template `on.txt`",
            "= help: no letters/on.txt in the campaign; known: _signature.txt",
        ],
    );
    assert!(!out.contains("`one.txt`"), "{out}");
}
