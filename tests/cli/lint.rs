//! `check` as a linter: every problem of a small campaign of the test's own
//! (so a rewrite of the built-in letters does not move these lines), each
//! at its exact `file:line:column` with its caret, in text and as JSON; and
//! templates that must not crash or hang the tool.

use std::time::{Duration, Instant};

use crate::support::{TestCampaign, all_output, text};

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
{% endfor %}
"#;

/// The built-in campaign's folder, replaced by `RECIPIENTS` and one letter.
fn campaign(letter: &str) -> TestCampaign {
    let tc = TestCampaign::new();
    for entry in std::fs::read_dir(tc.dir().join("letters")).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    tc.write("recipients.toml", RECIPIENTS);
    tc.write("letters/one.txt", letter);
    tc
}

fn check(tc: &TestCampaign, args: &[&str]) -> (i32, String, Duration) {
    let start = Instant::now();
    let output = tc.campaign_cmd().arg("check").args(args).output().unwrap();
    (
        output.status.code().expect("exit code"),
        all_output(&output),
        start.elapsed(),
    )
}

/// The campaign file's path as diagnostics print it.
fn path(tc: &TestCampaign, file: &str) -> String {
    tc.dir().join(file).display().to_string()
}

#[test]
fn the_test_campaign_is_valid() {
    let tc = campaign(LETTER);
    let (code, out, _) = check(&tc, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ok: "), "{out}");
}

#[test]
fn every_problem_of_every_file_in_one_run_each_once() {
    let tc = campaign(&LETTER.replace("We write.", "We {{ signer.nme }} write."));
    tc.write(
        "letters/two.txt",
        "+++\nsubject = \"Two\"\nrecipients = [\"court\"]\n+++\nA {% if x, y %}\n",
    );
    // recipients.toml does not parse at all: the letters are still tried.
    tc.write(
        "recipients.toml",
        &RECIPIENTS.replace("name = \"Lint test\"", "name = \"Lint test"),
    );
    let (code, out, _) = check(&tc, &[]);
    assert_eq!(code, 2, "{out}");
    let one = path(&tc, "letters/one.txt");
    let two = path(&tc, "letters/two.txt");
    let recipients = path(&tc, "recipients.toml");
    let undefined = format!(
        "{one}:6:14: error: template error: `signer` has no field `nme`\n  |\n6 | We {{{{ signer.nme }}}} write.\n  |              ^^^\n  = help: did you mean `signer.name`?"
    );
    assert!(out.contains(&undefined), "{out}");
    assert_eq!(out.matches("no field `nme`").count(), 1, "once: {out}");
    assert!(
        out.contains(&format!(
            "{two}:5:10: error: template error: Found `,` but expected %}}"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "{recipients}:2:18: error: invalid basic string, expected `\"`"
        )),
        "{out}"
    );
    assert!(out.contains(": 3 errors, 0 warnings"), "{out}");
}

#[test]
fn carets_are_right_under_tabs_and_wide_characters() {
    let tc = campaign(&LETTER.replace("We write.", "\t日本語 {{ signer.nme }}"));
    let (code, out, _) = check(&tc, &[]);
    assert_eq!(code, 2, "{out}");
    let one = path(&tc, "letters/one.txt");
    // Column 6 in characters; the caret under `nme` as a terminal shows the
    // line (a tab as four spaces, each CJK character two columns wide).
    let expected = format!(
        "{one}:6:16: error: template error: `signer` has no field `nme`\n  |\n6 |     日本語 {{{{ signer.nme }}}}\n  |                      ^^^\n"
    );
    assert!(out.contains(&expected), "{out}");
}

#[test]
fn did_you_mean_for_misspelt_keys_and_codes() {
    let tc = campaign(&LETTER.replace("recipients = [", "descripton = \"x\"\nrecipients = ["));
    tc.write(
        "recipients.toml",
        &RECIPIENTS.replace("salutation = ", "salutaton = "),
    );
    let (code, out, _) = check(&tc, &[]);
    assert_eq!(code, 2, "{out}");
    let recipients = path(&tc, "recipients.toml");
    assert!(
        out.contains(&format!(
            "{recipients}:7:1: error: unknown field `salutaton`\n  |\n7 | salutaton = \"Dear Judges\"\n  | ^^^^^^^^^\n  = help: did you mean `salutation`?"
        )),
        "{out}"
    );
    let one = path(&tc, "letters/one.txt");
    assert!(
        out.contains(&format!(
            "{one}:3:1: error: unknown field `descripton`\n  |\n3 | descripton = \"x\"\n  | ^^^^^^^^^^\n  = help: did you mean `description`?"
        )),
        "{out}"
    );

    let tc = campaign(LETTER);
    tc.write(
        "recipients.toml",
        &RECIPIENTS.replace("countries.GB]", "countries.UK]"),
    );
    let recipients = path(&tc, "recipients.toml");
    let (code, out, _) = check(&tc, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(&format!(
            "{recipients}:15:22: error: `UK` is not an ISO 3166 country code\n   |\n15 | [recipient.countries.UK]\n   |                      ^^\n   = help: did you mean `GB`?"
        ).replace("   = help", "  = help")),
        "{out}"
    );
    // On the command line, for a recipient by country.
    let tc = campaign(LETTER);
    let output = tc
        .campaign_cmd()
        .args([
            "write",
            "--to",
            "embassy",
            "--name",
            "Jo",
            "--country",
            "UK",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("did you mean `GB`?"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn did_you_mean_for_a_misspelt_profile_key() {
    let tc = campaign(LETTER);
    let profile = tc.root().join("profile.toml");
    std::fs::write(&profile, "name = \"Jo\"\norganization = \"Branch\"\n").unwrap();
    let output = tc
        .campaign_cmd()
        .env("PROTEST_LETTER_PROFILE", &profile)
        .arg("list")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = text(&output.stderr);
    assert!(
        err.contains(&format!(
            "{}:2:1: error: unknown field `organization`\n  |\n2 | organization = \"Branch\"\n  | ^^^^^^^^^^^^\n  = help: did you mean `organisation`?",
            profile.display()
        )),
        "{err}"
    );
}

#[test]
fn json_has_one_object_per_problem() {
    let tc = campaign(&LETTER.replace("We write.", "We {{ signer.nme }} write."));
    tc.write("letters/_broken.txt", "{{ x \n");
    let output = tc
        .campaign_cmd()
        .args(["check", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let all: Vec<serde_json::Value> = text(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON object per line"))
        .collect();
    // example.org addresses are placeholders: a warning.
    assert!(all.iter().any(|p| p["severity"] == "warning"), "{all:#?}");
    let problems: Vec<&serde_json::Value> =
        all.iter().filter(|p| p["severity"] == "error").collect();
    assert_eq!(problems.len(), 2, "{all:#?}");
    let undefined = problems
        .iter()
        .find(|p| p["file"] == path(&tc, "letters/one.txt").as_str())
        .expect("the undefined field");
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
    let broken = problems
        .iter()
        .find(|p| p["file"] == path(&tc, "letters/_broken.txt").as_str())
        .expect("the broken partial");
    assert_eq!(broken["line"], 1);
    assert!(broken["help"].is_null());
}

#[test]
fn a_partial_that_includes_itself_is_refused_at_load() {
    let tc = campaign(&LETTER.replace("We write.", "{% include \"_loop.txt\" %}"));
    tc.write("letters/_loop.txt", "again {% include \"_loop.txt\" %}\n");
    let (code, out, took) = check(&tc, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(&format!(
            "{}: error: template error: `_loop.txt` includes itself",
            path(&tc, "letters/_loop.txt")
        )),
        "{out}"
    );
    assert!(took < Duration::from_secs(3), "took {took:?}");
    let output = tc
        .campaign_cmd()
        .args(["write", "--to", "court", "--name", "Jo"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", all_output(&output));
}

#[test]
fn a_recursive_component_is_refused_at_load() {
    let tc = campaign(&LETTER.replace(
        "We write.",
        "{% component again(n) %}{{ n }}{{<again n={n}/>}}{% endcomponent %}{{<again n={1}/>}}",
    ));
    let (code, out, _) = check(&tc, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(&format!(
            "{}:6:35: error: template error: component `again` calls itself (again → again)",
            path(&tc, "letters/one.txt")
        )),
        "{out}"
    );
    assert!(!out.contains("depth"), "reported once, at load: {out}");
}

#[test]
fn a_huge_range_is_refused_quickly() {
    let tc = campaign(&LETTER.replace(
        "We write.",
        "{% for i in range(end=1000000000) %}x{% endfor %}",
    ));
    let (code, out, took) = check(&tc, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(&format!(
            "{}:6:13: error: template error: `range` would produce 1000000000 numbers; a letter may use at most 100000",
            path(&tc, "letters/one.txt")
        )),
        "{out}"
    );
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[test]
fn a_letter_that_grows_without_end_is_stopped_and_named() {
    let tc = campaign(&LETTER.replace(
        "We write.",
        "{% for i in range(end=100000) %}{% for j in range(end=100000) %}many words here {% endfor %}{% endfor %}",
    ));
    let start = Instant::now();
    let output = tc
        .campaign_cmd()
        .args(["write", "--to", "court", "--name", "Jo"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let err = text(&output.stderr);
    assert!(
        err.contains("letter `one` to `court` stopped: the letter grew past 4.0 MB"),
        "{err}"
    );
    assert!(start.elapsed() < Duration::from_secs(4));
}

#[test]
fn a_loop_that_prints_nothing_is_stopped_by_the_time_limit() {
    let tc = campaign(&LETTER.replace(
        "We write.",
        "{% for i in range(end=100000) %}{% for j in range(end=100000) %}{% endfor %}{% endfor %}",
    ));
    let start = Instant::now();
    let output = tc
        .campaign_cmd()
        .args(["write", "--to", "court", "--name", "Jo"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = text(&output.stderr);
    assert!(
        err.contains("letter `one` to `court` stopped: rendering took longer than 5 seconds"),
        "{err}"
    );
    assert!(start.elapsed() < Duration::from_secs(15));
}

#[test]
fn a_petition_that_would_drop_signers_is_an_error() {
    let tc = campaign(&LETTER.replace(
        "{% for s in signatories %}{{ s.name }}\n{% endfor %}",
        "{{ signer.name }} and {{ signatories | length - 1 }} others",
    ));
    let (code, out, _) = check(&tc, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(&format!(
            "{}: error: letter `one` does not list `signatories`",
            path(&tc, "letters/one.txt")
        )),
        "{out}"
    );
    let list = tc.root().join("members.csv");
    std::fs::write(
        &list,
        "name,email\nAnn,ann@example.org\nBob,bob@example.org\n",
    )
    .unwrap();
    let out_file = tc.root().join("petition.txt");
    let output = tc
        .campaign_cmd()
        .args([
            "write",
            "--group",
            "--to",
            "court",
            "--email",
            "sec@example.org",
        ])
        .arg("--signatories")
        .arg(&list)
        .arg("-o")
        .arg(&out_file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", all_output(&output));
    assert!(
        text(&output.stderr).contains("does not list `signatories`"),
        "{}",
        all_output(&output)
    );
    assert!(!out_file.exists(), "nothing is written");
    // Without --group the letter is fine.
    tc.campaign_cmd()
        .args(["write", "--to", "court", "--name", "Jo"])
        .assert()
        .success();
}

#[test]
fn latin1_bytes_are_reported_by_line_and_column() {
    let tc = campaign(LETTER);
    let mut bytes = LETTER.replace("We write.", "We write, caf").into_bytes();
    let at = bytes.iter().position(|&b| b == b'f').unwrap() + 1;
    bytes.insert(at, 0xE9); // é in Latin-1
    std::fs::write(tc.dir().join("letters/one.txt"), bytes).unwrap();
    let (code, out, _) = check(&tc, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(&format!(
            "{}:6:14: error: the file is not UTF-8: byte 0xE9 here is not valid text",
            path(&tc, "letters/one.txt")
        )),
        "{out}"
    );
}

#[test]
fn control_characters_and_their_escapes_are_refused() {
    let tc = campaign(&LETTER.replace("We write.", "We \u{1b}[31mwrite."));
    tc.write(
        "recipients.toml",
        &RECIPIENTS.replace("\"The Court\"", "\"The \\u001b[2JCourt\""),
    );
    let (code, out, _) = check(&tc, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(&format!(
            "{}:6:4: error: control character U+001B (escape) in a campaign text",
            path(&tc, "letters/one.txt")
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "{}:6:13: error: escape sequence for control character U+001B (escape) in a campaign text\n  |\n6 | name = \"The \\u001b[2JCourt\"\n  |             ^^^^^^",
            path(&tc, "recipients.toml")
        )),
        "{out}"
    );
}

#[test]
fn a_country_twice_in_different_case_is_a_duplicate() {
    let tc = campaign(LETTER);
    tc.write(
        "recipients.toml",
        &format!("{RECIPIENTS}\n[recipient.countries.gb]\nemail = \"other@example.org\"\n"),
    );
    let (code, out, _) = check(&tc, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(&format!(
            "{}:18:22: error: duplicate country `gb` in recipient `embassy`",
            path(&tc, "recipients.toml")
        )),
        "{out}"
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
    let (code, out, _) = check(&tc, &[]);
    assert_eq!(code, 2, "{out}");
    let recipients = path(&tc, "recipients.toml");
    for expected in [
        format!("{recipients}:1:2: error: unknown key `campain`"),
        "did you mean `campaign`?".to_string(),
        format!("{recipients}:10:1: error: unknown field `salutaton`"),
        format!("{recipients}:16:9: error: invalid type: integer `42`, expected a string"),
    ] {
        assert!(out.contains(&expected), "{expected}\n{out}");
    }
    // The broken recipients are not also "unknown" to the letter.
    assert!(!out.contains("unknown recipient"), "{out}");
    assert!(out.contains(": 3 errors"), "{out}");
}

#[test]
fn did_you_mean_for_unknown_filters_and_partials() {
    let tc = campaign(&LETTER.replace(
        "We write.",
        "We {{ recipient.name | uper }} {% include \"_sign.txt\" %}",
    ));
    tc.write("letters/_signature.txt", "Yours\n");
    let (code, out, _) = check(&tc, &[]);
    assert_eq!(code, 2, "{out}");
    let one = path(&tc, "letters/one.txt");
    assert!(
        out.contains(&format!(
            "{one}:6:24: error: template error: Unknown filter `uper`\n  |\n6 | We {{{{ recipient.name | uper }}}} {{% include \"_sign.txt\" %}}\n  |                        ^^^^\n  = help: did you mean `upper`?"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "{one}:6:43: error: template error: Unknown template `_sign.txt`"
        )),
        "{out}"
    );
    assert!(out.contains("did you mean `_signature.txt`?"), "{out}");
}

#[test]
fn an_unclosed_tag_is_reported_where_it_opens() {
    let tc = campaign(&LETTER.replace("We write.", "We {% if signer.organisation %}write."));
    let (code, out, _) = check(&tc, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(&format!(
            "{}:6:7: error: template error: `{{% if %}}` is never closed\n  |\n6 | We {{% if signer.organisation %}}write.\n  |       ^^\n  = help: add `{{% endif %}}` where it should end",
            path(&tc, "letters/one.txt")
        )),
        "{out}"
    );
}

/// A petition is made without a template value per member when the
/// letter only prints their values; a letter that filters them takes the
/// general path, still gets every name right, and `-v` says why it takes
/// more memory.
#[test]
fn a_petition_that_filters_names_is_still_right_and_says_why() {
    let members: String = (0..300)
        .map(|i| format!("Member {i},{}\n", if i % 4 == 0 { "" } else { "Unite" }))
        .collect();
    for (letter, note) in [
        (LETTER.to_string(), false),
        (LETTER.replace("{{ s.name }}", "{{ s.name | trim }}"), true),
    ] {
        let tc = campaign(&letter);
        let list = tc.root().join("members.csv");
        std::fs::write(&list, format!("name,organisation\n{members}")).unwrap();
        let output = tc
            .campaign_cmd()
            .args(["-v", "write", "--group", "--to", "court"])
            .arg("--signatories")
            .arg(&list)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", all_output(&output));
        let body = text(&output.stdout);
        let names: Vec<&str> = body.lines().filter(|l| l.starts_with("Member ")).collect();
        let expected: Vec<String> = (0..300).map(|i| format!("Member {i}")).collect();
        assert_eq!(names, expected, "{}", all_output(&output));
        assert_eq!(
            text(&output.stderr).contains("holds all 300 members in memory"),
            note,
            "{}",
            all_output(&output)
        );
        if note {
            assert!(
                text(&output.stderr).contains("one.txt:7: `{{ s.name | trim }}`"),
                "the note names the tag: {}",
                all_output(&output)
            );
        }
    }
}
