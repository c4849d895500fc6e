//! Out-of-date campaigns and letters: `write` warns naming the date,
//! `send` refuses before it connects anywhere unless --after-deadline,
//! `check` warns at the line.

use predicates::prelude::*;

use crate::smtp_server::{ServerConfig, SmtpServer};
use crate::support::{NAME, TestCampaign, text};

const DOMAIN: &str = "kz-gov.org";
const EMAIL: &str = "jo@solidarity-union.org";

/// The built-in campaign with sendable addresses but its real (past)
/// deadline.
fn past_deadline() -> TestCampaign {
    let tc = TestCampaign::new();
    tc.replace_all("recipients.toml", "placeholder.invalid", DOMAIN);
    tc
}

fn send(tc: &TestCampaign, server: &SmtpServer) -> assert_cmd::Command {
    let mut cmd = tc.campaign_cmd();
    cmd.args(["send", "--name", NAME, "--email", EMAIL, "--country", "GB"])
        .args(["--to", "foreign-ministry", "--yes"])
        .args(["--smtp", &format!("smtp://127.0.0.1:{}", server.port())])
        .arg("--journal")
        .arg(tc.root().join("journal.jsonl"));
    cmd
}

#[test]
fn write_warns_naming_the_deadline_and_still_writes() {
    let tc = TestCampaign::new();
    let output = tc
        .cmd()
        .args(["write", "--to", "foreign-ministry", "--name", NAME])
        .assert()
        .success()
        .get_output()
        .clone();
    let err = text(&output.stderr);
    assert!(err.contains("warning: the campaign's deadline"), "{err}");
    assert!(err.contains("2011-12-31"), "{err}");
    assert!(text(&output.stdout).contains("As of November 2011"));
}

#[test]
fn send_refuses_past_the_deadline_before_connecting() {
    let tc = past_deadline();
    let mut server = SmtpServer::start(ServerConfig::default());
    send(&tc, &server)
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("refusing to send"))
        .stderr(predicate::str::contains("2011-12-31"))
        .stderr(predicate::str::contains("--after-deadline"))
        .stderr(predicate::str::contains("Historical worked example"));
    assert_eq!(server.connections(), 0, "no SMTP connection was made");
    assert!(server.received().is_empty());
    assert!(
        !tc.root().join("journal.jsonl").exists(),
        "nothing journaled"
    );

    // Told explicitly, it sends.
    send(&tc, &server)
        .arg("--after-deadline")
        .assert()
        .success();
    assert_eq!(server.received().len(), 1);
    server.stop();
}

#[test]
fn a_dry_run_past_the_deadline_only_warns() {
    let tc = past_deadline();
    tc.campaign_cmd()
        .args(["send", "--dry-run", "--name", NAME, "--email", EMAIL])
        .args(["--to", "foreign-ministry"])
        .arg("--journal")
        .arg(tc.root().join("journal.jsonl"))
        .assert()
        .success()
        .stderr(predicate::str::contains("passed on 2011-12-31"));
}

#[test]
fn a_letter_past_its_valid_until_is_refused_too() {
    let tc = past_deadline();
    tc.replace(
        "recipients.toml",
        "deadline = 2011-12-31",
        "deadline = 2099-12-31",
    );
    let server = SmtpServer::start(ServerConfig::default());
    let mut cmd = send(&tc, &server);
    cmd.arg("mangystau-oil-workers")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "the letter `mangystau-oil-workers`",
        ))
        .stderr(predicate::str::contains("2011-12-15"));
    assert_eq!(server.connections(), 0);
    // The default letter has no valid_until: it goes.
    send(&tc, &server).assert().success();
    assert_eq!(server.received().len(), 1);
}

#[test]
fn check_warns_at_the_deadline_and_valid_until_lines() {
    let tc = TestCampaign::new();
    let output = tc
        .campaign_cmd()
        .arg("check")
        .assert()
        .success()
        .get_output()
        .clone();
    let out = text(&output.stdout);
    let line = tc.line_of("recipients.toml", "deadline = ");
    assert!(
        out.contains(&format!(
            "recipients.toml:{line}:1: warning: the campaign's deadline 2011-12-31 has passed"
        )),
        "{out}"
    );
    let line = tc.line_of("letters/kuramshin.txt", "valid_until");
    assert!(
        out.contains(&format!(
            "kuramshin.txt:{line}:1: warning: the letter `kuramshin` was valid until 2010-12-31"
        )),
        "{out}"
    );
}

#[test]
fn a_bad_valid_until_is_an_error_at_its_place() {
    let tc = TestCampaign::new();
    tc.replace(
        "letters/kuramshin.txt",
        "valid_until = 2010-12-31",
        "valid_until = \"soon\"",
    );
    let line = tc.line_of("letters/kuramshin.txt", "valid_until");
    tc.campaign_cmd()
        .arg("check")
        .assert()
        .code(2)
        .stdout(predicate::str::contains(format!(
            "kuramshin.txt:{line}:15: error: valid_until must be a date"
        )));
}
