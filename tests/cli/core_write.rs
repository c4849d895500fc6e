//! `write`: the signer from flags, environment and profile; output to files
//! and folders; refusals that must come before anything is written.

use std::time::Duration;

use crate::support::{DATE, NAME, ORGANISATION, Run, Runs, TestCampaign, file_names};

/// `write --to supreme-court --lang en --date DATE` plus `extra`, on the
/// built-in campaign (the court's own language is Russian; see `languages`).
fn write_to_court(tc: &TestCampaign, extra: &[&str]) -> assert_cmd::Command {
    let mut cmd = tc.cmd();
    cmd.args(["write", "--to", "supreme-court", "--lang", "en"])
        .args(["--date", DATE])
        .args(extra);
    cmd
}

/// [`write_to_court`] with `profile` as the signer's profile.
fn with_profile(tc: &TestCampaign, profile: &str) -> assert_cmd::Command {
    let path = tc.file("profile.toml", profile);
    let mut cmd = write_to_court(tc, &[]);
    cmd.env("PROTEST_LETTER_PROFILE", path);
    cmd
}

/// Stdout of a run that must succeed.
fn letter(mut cmd: assert_cmd::Command) -> String {
    cmd.succeeds().stdout
}

/// `write ARGS…` on the built-in campaign, which must refuse (exit 2)
/// before it writes anything.
fn refused(args: &[&str]) -> Run {
    let out = TestCampaign::new().cmd().arg("write").args(args).exits(2);
    out.no_stdout();
    out
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
    let profile = "name = \"Profile Person\"\norganisation = \"Profile Union\"\n";
    let tc = TestCampaign::new();
    let signed = letter(with_profile(&tc, profile));
    assert_eq!(signature(&signed), ["Profile Person", "Profile Union"]);
}

#[test]
fn profile_in_the_config_folder_is_found_without_the_variable() {
    let tc = TestCampaign::new();
    std::fs::create_dir_all(tc.path("config/protest-letter")).unwrap();
    tc.file(
        "config/protest-letter/profile.toml",
        "name = \"Config Person\"\n",
    );
    let mut cmd = write_to_court(&tc, &[]);
    cmd.env_remove("PROTEST_LETTER_PROFILE");
    assert_eq!(signature(&letter(cmd)), ["Config Person"]);
}

#[test]
fn flag_beats_environment_beats_profile() {
    let tc = TestCampaign::new();
    let run = |flag: bool, env: bool| {
        let mut cmd = with_profile(&tc, "name = \"From Profile\"\n");
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

#[test]
fn output_file_is_written_whole_and_never_replaced_without_force() {
    let tc = TestCampaign::new();
    let printed = letter(write_to_court(&tc, &["--name", NAME]));
    let path = tc.work().join("letter.txt");
    let read = || std::fs::read_to_string(&path).unwrap();
    let only_the_letter = || {
        assert_eq!(
            file_names(&tc.work()),
            ["letter.txt"],
            "no temporary files left"
        )
    };

    let to_file = ["-o", "letter.txt"];
    write_to_court(&tc, &[&["--name", NAME][..], &to_file].concat())
        .succeeds()
        .no_stdout();
    assert_eq!(read(), printed);
    only_the_letter();

    let someone_else = ["--name", "Someone Else", "-o", "letter.txt"];
    let again = write_to_court(&tc, &someone_else).exits(2);
    again.no_stdout();
    assert!(again.all().contains("--force"), "{again:?}");
    assert_eq!(read(), printed);
    only_the_letter();

    write_to_court(&tc, &[&someone_else[..], &["--force"]].concat()).succeeds();
    assert_eq!(signature(&read()), ["Someone Else"]);
}

#[test]
fn out_dir_writes_one_safely_named_file_per_recipient() {
    let tc = TestCampaign::new();
    tc.cmd()
        .args(["write", "--name", NAME, "--country", "GB", "--date", DATE])
        .args(["--out-dir", "letters"])
        .succeeds()
        .no_stdout();
    let files = file_names(&tc.work().join("letters"));
    assert_eq!(
        files,
        [
            "sokolova-embassy-gb.txt",
            "sokolova-foreign-ministry.txt",
            "sokolova-presidential-administration.txt",
            "sokolova-supreme-court.txt",
        ]
    );
    let read = |file: &str| std::fs::read_to_string(tc.work().join("letters").join(file)).unwrap();
    let court = read("sokolova-supreme-court.txt");
    assert!(
        court.starts_with("Председателю Верховного Суда Республики Казахстан\n"),
        "the court's own language is Russian: {court}"
    );
    let embassy = read("sokolova-embassy-gb.txt");
    assert!(embassy.contains("in the United Kingdom"), "{embassy}");
}

#[test]
fn out_dir_writes_nothing_if_any_file_exists() {
    let tc = TestCampaign::new();
    let dir = tc.work().join("out");
    std::fs::create_dir(&dir).unwrap();
    tc.work_file("out/sokolova-foreign-ministry.txt", "mine");
    let out = tc
        .cmd()
        .args(["write", "--name", NAME, "--country", "GB"])
        .args(["--out-dir", "out"])
        .exits(2);
    let message = out.all();
    assert!(
        message.contains("sokolova-foreign-ministry.txt"),
        "{message}"
    );
    assert!(message.contains("--force"), "{message}");
    assert_eq!(file_names(&dir), ["sokolova-foreign-ministry.txt"]);
    assert_eq!(
        std::fs::read_to_string(dir.join("sokolova-foreign-ministry.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn misspelt_recipient_gets_a_suggestion() {
    refused(&["--name", NAME, "--to", "suprme-court"]).says("did you mean `supreme-court`");
}

#[test]
fn misspelt_letter_gets_a_suggestion() {
    refused(&["sokolva", "--name", NAME]).says("did you mean `sokolova`");
}

#[test]
fn no_name_and_no_terminal_fails_at_once() {
    let tc = TestCampaign::new();
    let out = write_to_court(&tc, &[])
        .timeout(Duration::from_secs(5))
        .exits(2);
    out.no_stdout();
    assert!(out.took < Duration::from_secs(1), "took {:?}", out.took);
    out.says("--name").says("PROTEST_LETTER_NAME");
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
    let tc = TestCampaign::edited(
        "recipients.toml",
        "salutation = \"Dear Chair of the Supreme Court\"",
        "salutation = \"Dear Chair <& \\\"Co\\\">\"",
    );
    let mut cmd = tc.campaign_cmd();
    cmd.args(["write", "--to", "supreme-court", "--lang", "en"])
        .args(["--name", NAME]);
    let out = letter(cmd);
    assert!(out.contains("Dear Chair <& \"Co\">,"), "{out}");
}

#[test]
fn header_injection_in_a_name_is_refused() {
    let tc = TestCampaign::new();
    let out = write_to_court(&tc, &["--name", "Jo\r\nBcc: x@y.z"]).exits(2);
    out.no_stdout().says("name contains a carriage return");
}

#[test]
fn country_picks_the_embassy() {
    let tc = TestCampaign::new();
    let mut cmd = tc.cmd();
    cmd.args(["write", "--to", "embassy", "--country", "GB"])
        .args(["--name", NAME]);
    let out = cmd.succeeds();
    let embassy = "Embassy of the Republic of Kazakhstan in the United Kingdom\n";
    assert!(out.stdout.starts_with(embassy), "{out:?}");
    out.prints("Your Excellency,");
}

#[test]
fn unknown_country_lists_the_known_ones() {
    refused(&["--to", "embassy", "--country", "ZZ", "--name", NAME])
        .says("ZZ")
        .says("BE, DE, FR, GB, RU, SE, US");
}

#[test]
fn impossible_date_is_refused() {
    let date = ["--date", "2026-13-01"];
    let out = refused(&[&["--to", "supreme-court", "--name", NAME][..], &date].concat());
    out.says("2026-13-01").says("YYYY-MM-DD");
}

#[test]
fn undefined_template_variable_names_file_line_and_variable() {
    let tc = TestCampaign::edited(
        "letters/kuramshin.txt",
        "In 2010, the year",
        "In {{ signer.nme }}, the year",
    );
    let place = tc.place_of("letters/kuramshin.txt", "nme }}");
    let out = tc
        .campaign_cmd()
        .args(["write", "kuramshin", "--to", "foreign-ministry"])
        .args(["--name", NAME])
        .exits(2);
    out.no_stdout().says(&format!(
        "letters/kuramshin.txt:{place}: template error: `signer` has no field `nme`"
    ));
    out.says("did you mean `signer.name`?");
}
