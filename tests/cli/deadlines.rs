//! Out-of-date campaigns and letters: `write` warns naming the date,
//! `send` refuses before it connects anywhere unless --after-deadline,
//! `check` warns at the line.

use crate::smtp_server::{ServerConfig, SmtpServer};
use crate::support::{DOMAIN, EMAIL, NAME, Runs, Sending, TestCampaign};

/// The built-in campaign with sendable addresses but its real (past)
/// deadline.
fn past_deadline() -> TestCampaign {
    let tc = TestCampaign::new();
    tc.replace_all("recipients.toml", "placeholder.invalid", DOMAIN);
    tc
}

/// `send --yes` of the signer's letter to the ministry through `server`.
fn send(tc: &TestCampaign, server: &SmtpServer) -> Sending {
    let send = tc.send().signer().smtp(server);
    send.with(["--to", "foreign-ministry", "--yes"])
}

#[test]
fn write_warns_naming_the_deadline_and_still_writes() {
    let tc = TestCampaign::new();
    let out = tc
        .cmd()
        .args(["write", "--to", "foreign-ministry", "--name", NAME])
        .succeeds();
    out.says("warning: the campaign's deadline")
        .says("2011-12-31")
        .prints("As of November 2011");
}

#[test]
fn send_refuses_past_the_deadline_before_connecting() {
    let tc = past_deadline();
    let mut server = SmtpServer::start(ServerConfig::default());
    send(&tc, &server)
        .exits(2)
        .no_stdout()
        .says("refusing to send")
        .says("2011-12-31")
        .says("--after-deadline")
        .says("Historical worked example");
    assert_eq!(server.connections(), 0, "no SMTP connection was made");
    assert!(server.received().is_empty());
    assert!(!tc.journal().exists(), "nothing journaled");

    // Told explicitly, it sends.
    send(&tc, &server).arg("--after-deadline").succeeds();
    assert_eq!(server.received().len(), 1);
    server.stop();
}

#[test]
fn a_dry_run_past_the_deadline_only_warns() {
    let tc = past_deadline();
    let signer = ["--name", NAME, "--email", EMAIL];
    let dry_run = tc.send().with(["--dry-run", "--to", "foreign-ministry"]);
    dry_run.with(signer).succeeds().says("passed on 2011-12-31");
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
    let refused = send(&tc, &server).arg("mangystau-oil-workers").exits(2);
    refused
        .says("the letter `mangystau-oil-workers`")
        .says("2011-12-15");
    assert_eq!(server.connections(), 0);
    // The default letter has no valid_until: it goes.
    send(&tc, &server).succeeds();
    assert_eq!(server.received().len(), 1);
}

#[test]
fn check_warns_at_the_deadline_and_valid_until_lines() {
    let tc = TestCampaign::new();
    let out = tc.campaign_cmd().arg("check").succeeds();
    let line = tc.line_of("recipients.toml", "deadline = ");
    out.says(&format!(
        "recipients.toml:{line}:1: warning: the campaign's deadline 2011-12-31 has passed"
    ));
    let line = tc.line_of("letters/kuramshin.txt", "valid_until");
    out.says(&format!(
        "kuramshin.txt:{line}:1: warning: the letter `kuramshin` was valid until 2010-12-31"
    ));
}

#[test]
fn a_bad_valid_until_is_an_error_at_its_place() {
    let file = "letters/kuramshin.txt";
    let tc = TestCampaign::edited(file, "valid_until = 2010-12-31", "valid_until = \"soon\"");
    let line = tc.line_of(file, "valid_until");
    let out = tc.campaign_cmd().arg("check").exits(2);
    out.says(&format!(
        "kuramshin.txt:{line}:15: error: valid_until must be a date"
    ));
}
