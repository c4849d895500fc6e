//! `write`: the signer from flags, environment and profile; output to files
//! and folders; refusals that must come before anything is written.

use std::time::{Duration, Instant};

use predicates::prelude::*;

use crate::support::{DATE, NAME, ORGANISATION, TestCampaign, all_output, text};

/// `write --to supreme-court --lang en --date DATE` plus `extra`, on the
/// built-in campaign (the court's own language is Russian; see `languages`).
fn write_to_court(tc: &TestCampaign, extra: &[&str]) -> assert_cmd::Command {
    let mut cmd = tc.cmd();
    cmd.args([
        "write",
        "--to",
        "supreme-court",
        "--lang",
        "en",
        "--date",
        DATE,
    ])
    .args(extra);
    cmd
}

/// Stdout of a run that must succeed.
fn letter(mut cmd: assert_cmd::Command) -> String {
    text(&cmd.assert().success().get_output().stdout)
}

/// The lines after "Yours faithfully,": who signed, nothing else.
fn signature(letter: &str) -> Vec<&str> {
    let (_, after) = letter
        .split_once("Yours faithfully,")
        .unwrap_or_else(|| panic!("no closing in:\n{letter}"));
    after.lines().filter(|l| !l.trim().is_empty()).collect()
}

#[test]
fn writes_a_letter_from_an_empty_folder() {
    let tc = TestCampaign::new();
    let out = letter(write_to_court(
        &tc,
        &["--name", NAME, "--organisation", ORGANISATION],
    ));
    assert!(out.starts_with("The Chair of the Supreme Court\n"), "{out}");
    assert!(!out.contains("Rakhimbekova"), "no named chair: {out}");
    assert!(out.contains("\n22 November 2026\n"), "{out}");
    assert!(out.contains("Dear Chair of the Supreme Court,"), "{out}");
    assert!(
        out.contains("I write on behalf of Unite Branch 42 about Natalia Sokolova"),
        "the organisation is part of the first sentence: {out}"
    );
    assert_eq!(signature(&out), [NAME, ORGANISATION]);
    assert!(
        std::fs::read_dir(tc.work()).unwrap().next().is_none(),
        "printing a letter must not create files"
    );
}

#[test]
fn without_organisation_the_letter_has_no_organisation_line() {
    let tc = TestCampaign::new();
    let out = letter(write_to_court(&tc, &["--name", NAME]));
    assert_eq!(signature(&out), [NAME]);
    assert!(!out.contains("on behalf of"), "{out}");
}

#[test]
fn signer_from_environment_variables() {
    let tc = TestCampaign::new();
    let mut cmd = write_to_court(&tc, &[]);
    cmd.env("PROTEST_LETTER_NAME", "Env Person")
        .env("PROTEST_LETTER_ORGANISATION", "Env Union");
    let out = letter(cmd);
    assert_eq!(signature(&out), ["Env Person", "Env Union"]);
}

#[test]
fn signer_from_profile() {
    let tc = TestCampaign::new();
    let profile = tc.root().join("profile.toml");
    std::fs::write(
        &profile,
        "name = \"Profile Person\"\norganisation = \"Profile Union\"\n",
    )
    .unwrap();
    let mut cmd = write_to_court(&tc, &[]);
    cmd.env("PROTEST_LETTER_PROFILE", &profile);
    assert_eq!(signature(&letter(cmd)), ["Profile Person", "Profile Union"]);
}

#[test]
fn profile_in_the_config_folder_is_found_without_the_variable() {
    let tc = TestCampaign::new();
    let dir = tc.root().join("config/protest-letter");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("profile.toml"), "name = \"Config Person\"\n").unwrap();
    let mut cmd = write_to_court(&tc, &[]);
    cmd.env_remove("PROTEST_LETTER_PROFILE");
    assert_eq!(signature(&letter(cmd)), ["Config Person"]);
}

#[test]
fn flag_beats_environment_beats_profile() {
    let tc = TestCampaign::new();
    let profile = tc.root().join("profile.toml");
    std::fs::write(&profile, "name = \"From Profile\"\n").unwrap();
    let run = |flag: bool, env: bool| {
        let mut cmd = write_to_court(&tc, &[]);
        cmd.env("PROTEST_LETTER_PROFILE", &profile);
        if flag {
            cmd.args(["--name", "From Flag"]);
        }
        if env {
            cmd.env("PROTEST_LETTER_NAME", "From Env");
        }
        signature(&letter(cmd))[0].to_string()
    };
    assert_eq!(run(true, true), "From Flag");
    assert_eq!(run(false, true), "From Env");
    assert_eq!(run(false, false), "From Profile");
}

/// Names in `dir`, sorted.
fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn output_file_is_written_whole_and_never_replaced_without_force() {
    let tc = TestCampaign::new();
    let printed = letter(write_to_court(&tc, &["--name", NAME]));
    let path = tc.work().join("letter.txt");

    write_to_court(&tc, &["--name", NAME, "-o", "letter.txt"])
        .assert()
        .success()
        .stdout("");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), printed);
    assert_eq!(
        files_in(&tc.work()),
        ["letter.txt"],
        "no temporary files left"
    );

    let again = write_to_court(&tc, &["--name", "Someone Else", "-o", "letter.txt"])
        .assert()
        .code(2)
        .stdout("")
        .get_output()
        .clone();
    assert!(all_output(&again).contains("--force"), "{again:?}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), printed);
    assert_eq!(
        files_in(&tc.work()),
        ["letter.txt"],
        "no temporary files left"
    );

    write_to_court(
        &tc,
        &["--name", "Someone Else", "-o", "letter.txt", "--force"],
    )
    .assert()
    .success();
    let replaced = std::fs::read_to_string(&path).unwrap();
    assert_eq!(signature(&replaced), ["Someone Else"]);
}

#[test]
fn out_dir_writes_one_safely_named_file_per_recipient() {
    let tc = TestCampaign::new();
    tc.cmd()
        .args(["write", "--name", NAME, "--country", "GB", "--date", DATE])
        .args(["--out-dir", "letters"])
        .assert()
        .success()
        .stdout("");
    let files = files_in(&tc.work().join("letters"));
    assert_eq!(
        files,
        [
            "sokolova-embassy-gb.txt",
            "sokolova-foreign-ministry.txt",
            "sokolova-presidential-administration.txt",
            "sokolova-supreme-court.txt",
        ]
    );
    let court =
        std::fs::read_to_string(tc.work().join("letters/sokolova-supreme-court.txt")).unwrap();
    assert!(
        court.starts_with("Председателю Верховного Суда Республики Казахстан\n"),
        "the court's own language is Russian: {court}"
    );
    let embassy =
        std::fs::read_to_string(tc.work().join("letters/sokolova-embassy-gb.txt")).unwrap();
    assert!(embassy.contains("in the United Kingdom"), "{embassy}");
}

#[test]
fn out_dir_writes_nothing_if_any_file_exists() {
    let tc = TestCampaign::new();
    let dir = tc.work().join("out");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("sokolova-foreign-ministry.txt"), "mine").unwrap();
    let output = tc
        .cmd()
        .args([
            "write",
            "--name",
            NAME,
            "--country",
            "GB",
            "--out-dir",
            "out",
        ])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let message = all_output(&output);
    assert!(
        message.contains("sokolova-foreign-ministry.txt"),
        "{message}"
    );
    assert!(message.contains("--force"), "{message}");
    assert_eq!(files_in(&dir), ["sokolova-foreign-ministry.txt"]);
    assert_eq!(
        std::fs::read_to_string(dir.join("sokolova-foreign-ministry.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn misspelt_recipient_gets_a_suggestion() {
    let tc = TestCampaign::new();
    tc.cmd()
        .args(["write", "--name", NAME, "--to", "suprme-court"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("did you mean `supreme-court`"));
}

#[test]
fn misspelt_letter_gets_a_suggestion() {
    let tc = TestCampaign::new();
    tc.cmd()
        .args(["write", "sokolva", "--name", NAME])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("did you mean `sokolova`"));
}

#[test]
fn no_name_and_no_terminal_fails_at_once() {
    let tc = TestCampaign::new();
    let started = Instant::now();
    let output = write_to_court(&tc, &[])
        .timeout(Duration::from_secs(5))
        .assert()
        .code(2)
        .stdout("")
        .get_output()
        .clone();
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(1), "took {elapsed:?}");
    let message = text(&output.stderr);
    assert!(message.contains("--name"), "{message}");
    assert!(message.contains("PROTEST_LETTER_NAME"), "{message}");
}

#[test]
fn template_syntax_in_a_name_is_printed_literally() {
    let tc = TestCampaign::new();
    let out = letter(write_to_court(&tc, &["--name", "{{ 7*7 }}"]));
    assert_eq!(signature(&out), ["{{ 7*7 }}"]);
    assert!(!out.contains("49"), "{out}");
}

#[test]
fn markup_in_a_name_is_not_html_escaped() {
    let tc = TestCampaign::new();
    let out = letter(write_to_court(
        &tc,
        &["--name", "Jo <b>&\"", "--organisation", "A & B <Union>"],
    ));
    assert_eq!(signature(&out), ["Jo <b>&\"", "A & B <Union>"]);
    assert!(out.contains("on behalf of A & B <Union> about"), "{out}");
    assert!(!out.contains("&amp;") && !out.contains("&lt;") && !out.contains("&quot;"));
}

#[test]
fn campaign_text_is_not_html_escaped() {
    let tc = TestCampaign::new();
    tc.replace(
        "recipients.toml",
        "salutation = \"Dear Chair of the Supreme Court\"",
        "salutation = \"Dear Chair <& \\\"Co\\\">\"",
    );
    let mut cmd = tc.campaign_cmd();
    cmd.args([
        "write",
        "--to",
        "supreme-court",
        "--lang",
        "en",
        "--name",
        NAME,
    ]);
    let out = letter(cmd);
    assert!(out.contains("Dear Chair <& \"Co\">,"), "{out}");
}

#[test]
fn header_injection_in_a_name_is_refused() {
    let tc = TestCampaign::new();
    write_to_court(&tc, &["--name", "Jo\r\nBcc: x@y.z"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("name contains a carriage return"));
}

#[test]
fn country_picks_the_embassy() {
    let tc = TestCampaign::new();
    let mut cmd = tc.cmd();
    cmd.args([
        "write",
        "--to",
        "embassy",
        "--country",
        "GB",
        "--name",
        NAME,
    ]);
    let out = letter(cmd);
    assert!(
        out.starts_with("Embassy of the Republic of Kazakhstan in the United Kingdom\n"),
        "{out}"
    );
    assert!(out.contains("Your Excellency,"), "{out}");
}

#[test]
fn unknown_country_lists_the_known_ones() {
    let tc = TestCampaign::new();
    tc.cmd()
        .args([
            "write",
            "--to",
            "embassy",
            "--country",
            "ZZ",
            "--name",
            NAME,
        ])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("ZZ"))
        .stderr(predicate::str::contains("BE, DE, FR, GB, RU, SE, US"));
}

#[test]
fn impossible_date_is_refused() {
    let tc = TestCampaign::new();
    tc.cmd()
        .args(["write", "--to", "supreme-court", "--name", NAME])
        .args(["--date", "2026-13-01"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("2026-13-01"))
        .stderr(predicate::str::contains("YYYY-MM-DD"));
}

#[test]
fn undefined_template_variable_names_file_line_and_variable() {
    let tc = TestCampaign::new();
    tc.replace(
        "letters/kuramshin.txt",
        "In 2010, the year",
        "In {{ signer.nme }}, the year",
    );
    let place = tc.place_of("letters/kuramshin.txt", "nme }}");
    let output = tc
        .campaign_cmd()
        .args([
            "write",
            "kuramshin",
            "--to",
            "foreign-ministry",
            "--name",
            NAME,
        ])
        .assert()
        .code(2)
        .stdout("")
        .get_output()
        .clone();
    let message = text(&output.stderr);
    assert!(
        message.contains(&format!(
            "letters/kuramshin.txt:{place}: template error: `signer` has no field `nme`"
        )),
        "expected {place}: {message}"
    );
    assert!(message.contains("did you mean `signer.name`?"), "{message}");
}
