//! The signer's own voice (`--message`, `--message-file`, `--edit`, a
//! `message` column), the identical-letters warning, reflowed paragraphs,
//! and the warnings that keep letters readable and out of spam folders.

use predicates::prelude::*;

use crate::smtp_server::{ServerConfig, SmtpServer};
use crate::support::{DATE, NAME, TestCampaign, text};

const MINISTRY: &[&str] = &["write", "--to", "foreign-ministry", "--date", DATE];

fn stdout(cmd: &mut assert_cmd::Command) -> String {
    text(&cmd.assert().success().get_output().stdout)
}

/// An editor: a shell script run as `sh SCRIPT FILE` (no executable bit, so
/// no "text file busy" race with other tests' forks).
fn editor(tc: &TestCampaign, name: &str, script: &str) -> String {
    let path = tc.root().join(name);
    std::fs::write(&path, script).unwrap();
    format!("sh {}", path.display())
}

#[test]
fn message_is_a_paragraph_after_the_opening() {
    let tc = TestCampaign::new();
    let out = stdout(
        tc.cmd()
            .args(MINISTRY)
            .args(["--name", NAME, "--organisation", "Unite Branch 42"])
            .args(["--message", "Our branch met Ms Sokolova's colleagues in 2011 and we have not forgotten her case."]),
    );
    let blocks: Vec<&str> = out.split("\n\n").collect();
    let opening = blocks
        .iter()
        .position(|b| b.starts_with("I write on behalf of Unite Branch 42 about"))
        .expect("the opening, with the organisation in it");
    assert!(
        blocks[opening + 1].starts_with("Our branch met Ms Sokolova's colleagues"),
        "{out}"
    );
    assert!(
        blocks[opening + 2].starts_with("As of November 2011"),
        "{out}"
    );
}

#[test]
fn message_file_keeps_its_paragraphs_and_is_reflowed() {
    let tc = TestCampaign::new();
    let long = "word ".repeat(40);
    std::fs::write(
        tc.work().join("mine.txt"),
        format!("First paragraph of my own, {long}end.\r\n\r\nSecond one.\n"),
    )
    .unwrap();
    let out = stdout(
        tc.cmd()
            .args(MINISTRY)
            .args(["--name", NAME, "--message-file", "mine.txt"]),
    );
    assert!(out.contains("\n\nSecond one.\n\n"), "{out}");
    assert!(out.lines().all(|l| l.chars().count() <= 72), "{out}");
    assert!(!out.contains('\r'));
    tc.cmd()
        .args(MINISTRY)
        .args(["--name", NAME, "--message-file", "missing.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.txt"));
}

#[test]
fn a_long_organisation_leaves_no_ragged_lines() {
    let tc = TestCampaign::new();
    let org = "the Transport and General Workers' Union, London and Eastern Region, Branch 1/234";
    let out = stdout(
        tc.cmd()
            .args(MINISTRY)
            .args(["--name", NAME, "--organisation", org]),
    );
    let opening = out
        .split("\n\n")
        .find(|b| b.starts_with("I write on behalf of"))
        .unwrap();
    let lines: Vec<usize> = opening.lines().map(|l| l.chars().count()).collect();
    assert!(lines.iter().all(|&n| n <= 72), "{opening}");
    // Filled: every line but the last is well used (no "…legal" / "adviser").
    assert!(
        lines[..lines.len() - 1].iter().all(|&n| n >= 55),
        "{opening}"
    );
    assert!(opening.replace('\n', " ").contains(org));
}

#[test]
fn edit_uses_what_the_editor_saved() {
    let tc = TestCampaign::new();
    let script = editor(
        &tc,
        "ed.sh",
        "sed -i 's/^I write about/I, a nurse, write about/' \"$1\"\nprintf '\\nP.S. Written by hand.\\n' >> \"$1\"\n",
    );
    let output = tc
        .cmd()
        .args(MINISTRY)
        .args(["--name", NAME, "--edit", "-o", "letter.txt"])
        .env("EDITOR", &script)
        .env_remove("VISUAL")
        .assert()
        .success()
        .get_output()
        .clone();
    let saved = std::fs::read_to_string(tc.work().join("letter.txt")).unwrap();
    assert!(
        saved.contains("I, a nurse, write about Natalia Sokolova"),
        "{saved}"
    );
    assert!(saved.ends_with("P.S. Written by hand.\n"), "{saved}");
    assert!(text(&output.stderr).contains("editing the letter to `foreign-ministry`"));
}

#[test]
fn visual_comes_before_editor_and_a_failed_editor_writes_nothing() {
    let tc = TestCampaign::new();
    let good = editor(&tc, "good.sh", "echo 'Visual was here.' >> \"$1\"\n");
    let out = stdout(
        tc.cmd()
            .args(MINISTRY)
            .args(["--name", NAME, "--edit"])
            .env("VISUAL", &good)
            .env("EDITOR", "false"),
    );
    assert!(out.contains("Visual was here."), "{out}");

    let bad = editor(&tc, "bad.sh", "exit 1\n");
    tc.cmd()
        .args(MINISTRY)
        .args(["--name", NAME, "--edit", "-o", "letter.txt"])
        .env("EDITOR", &bad)
        .env_remove("VISUAL")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nothing was written or sent"));
    assert!(!tc.work().join("letter.txt").exists());

    let empty = editor(&tc, "empty.sh", ": > \"$1\"\n");
    tc.cmd()
        .args(MINISTRY)
        .args(["--name", NAME, "--edit"])
        .env("EDITOR", &empty)
        .env_remove("VISUAL")
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("saved empty"));

    // No editor and no terminal to start vi on.
    tc.cmd()
        .args(MINISTRY)
        .args(["--name", NAME, "--edit"])
        .env_remove("VISUAL")
        .env_remove("EDITOR")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("set VISUAL or EDITOR"));
}

#[test]
fn edit_before_send_sends_the_edited_letter_once_per_recipient() {
    let tc = TestCampaign::with_real_addresses("kz-gov.org");
    let script = editor(
        &tc,
        "ed.sh",
        "echo \"Edited for $(basename \"$1\").\" >> \"$1\"\n",
    );
    let mut server = SmtpServer::start(ServerConfig::default());
    let output = tc
        .campaign_cmd()
        .args([
            "send",
            "--name",
            NAME,
            "--email",
            "jo@union.org",
            "--country",
            "GB",
        ])
        .args([
            "--to",
            "foreign-ministry",
            "--to",
            "embassy",
            "--edit",
            "--yes",
        ])
        .args(["--smtp", &format!("smtp://127.0.0.1:{}", server.port())])
        .arg("--journal")
        .arg(tc.root().join("journal.jsonl"))
        .env("EDITOR", &script)
        .env_remove("VISUAL")
        .assert()
        .success()
        .get_output()
        .clone();
    let received = server.received();
    assert_eq!(received.len(), 2, "{}", text(&output.stderr));
    for (r, to) in received.iter().zip(["foreign-ministry", "embassy"]) {
        let message = mail_parser::MessageParser::default()
            .parse(&r.data)
            .unwrap();
        let body = message.body_text(0).unwrap();
        assert!(
            body.contains(&format!("Edited for sokolova-to-{to}.txt.")),
            "{body}"
        );
    }
    server.stop();
}

#[test]
fn edit_is_refused_for_a_per_member_batch() {
    let tc = TestCampaign::new();
    std::fs::write(tc.work().join("m.csv"), "name\nAnn\nBo\n").unwrap();
    tc.cmd()
        .args(MINISTRY)
        .args(["--signatories", "m.csv", "--edit"])
        .env("EDITOR", "true")
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("`message` column"));
}

#[test]
fn words_of_a_repeated_member_do_not_count_as_their_own() {
    // The check pass counts rows with other words; here the only one is a
    // repeat of Ann (left out), so every letter is still the same.
    let tc = TestCampaign::new();
    let same = "name,email,message\nAnn Lee,ann@x.org,Free her.\nBo Chan,bo@x.org,Free her.\nAnn Lee,ann@x.org,My own words.\n";
    let own = "name,email,message\nAnn Lee,ann@x.org,Free her.\nBo Chan,bo@x.org,Free her.\nAnn Lee,ann@x.org,My own words.\nCy Day,cy@x.org,Mine too.\n";
    for (file, csv, warns) in [("dup.csv", same, true), ("own.csv", own, false)] {
        std::fs::write(tc.work().join(file), csv).unwrap();
        let output = tc
            .cmd()
            .args(MINISTRY)
            .args(["--signatories", file])
            .assert()
            .success()
            .get_output()
            .clone();
        let err = text(&output.stderr);
        assert!(err.contains("repeat"), "{file}: {err}");
        assert_eq!(
            err.contains("every letter of this batch has the same words"),
            warns,
            "{file}: {err}"
        );
    }
}

#[test]
fn identical_batch_letters_warn_and_a_message_column_does_not() {
    let tc = TestCampaign::new();
    std::fs::write(tc.work().join("same.csv"), "name\nAnn Lee\nBo Chan\n").unwrap();
    let output = tc
        .cmd()
        .args(MINISTRY)
        .args(["--signatories", "same.csv"])
        .assert()
        .success()
        .get_output()
        .clone();
    let err = text(&output.stderr);
    assert!(
        err.contains("every letter of this batch has the same words"),
        "{err}"
    );
    assert!(
        err.contains("`message`") && err.contains("--message"),
        "{err}"
    );

    std::fs::write(
        tc.work().join("own.csv"),
        "name,Message\nAnn Lee,I am a nurse and a Unison steward.\nBo Chan,\"My father was a miner.\n\nHe would have written too.\"\n",
    )
    .unwrap();
    let output = tc
        .cmd()
        .args(MINISTRY)
        .args([
            "--signatories",
            "own.csv",
            "--message",
            "For those who left it empty.",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(!text(&output.stderr).contains("same words"));
    let out = text(&output.stdout);
    assert!(
        out.contains("\n\nI am a nurse and a Unison steward.\n\n"),
        "{out}"
    );
    assert!(
        out.contains("\n\nMy father was a miner.\n\nHe would have written too.\n\n"),
        "{out}"
    );
    assert!(!out.contains("For those who left it empty."), "{out}");

    // A petition is one letter: no warning.
    let output = tc
        .cmd()
        .args(MINISTRY)
        .args(["--signatories", "same.csv", "--group"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(!text(&output.stderr).contains("same words"));
}

#[test]
fn write_to_a_recipient_the_letter_does_not_list_warns() {
    let tc = TestCampaign::new();
    tc.cmd()
        .args([
            "write",
            "kuramshin",
            "--to",
            "supreme-court",
            "--name",
            NAME,
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "the letter `kuramshin` was not written for `supreme-court`",
        ));
    tc.cmd()
        .args(MINISTRY)
        .args(["--name", NAME])
        .assert()
        .success()
        .stderr(predicate::str::contains("not written for").not());
}

#[test]
fn check_warns_on_salutations_spam_filters_score() {
    let tc = TestCampaign::new();
    let out = text(
        &tc.campaign_cmd()
            .arg("check")
            .assert()
            .success()
            .get_output()
            .stdout,
    );
    assert!(
        !out.contains("DEAR_SOMETHING"),
        "the built-in campaign is clean: {out}"
    );
    tc.replace(
        "recipients.toml",
        "salutation = \"Dear Minister\"",
        "salutation = \"Dear Sir or Madam\"",
    );
    let line = tc.line_of("recipients.toml", "salutation = \"Dear Sir or Madam\"");
    let out = text(
        &tc.campaign_cmd()
            .arg("check")
            .assert()
            .success()
            .get_output()
            .stdout,
    );
    assert!(
        out.contains(&format!(
            "recipients.toml:{line}:14: warning: recipient `foreign-ministry`"
        )),
        "{out}"
    );
    assert!(
        out.contains("DEAR_SOMETHING") && out.contains("Dear Minister"),
        "{out}"
    );
}
