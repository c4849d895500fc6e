//! Issue 22's sending limits as the server states them: quota refusals stop
//! the run, greylisting is waited out, and proof of sending is kept.

use std::time::Duration;

use crate::smtp_server::{ServerConfig, SmtpServer};
use crate::support::*;

#[test]
fn quota_refusals_stop_the_run_and_the_next_run_goes_on() {
    let f = TestCampaign::sendable();
    f.work_file("members.csv", members_csv(50));
    let server = SmtpServer::start(ServerConfig::default().quota_after(
        5,
        550,
        "5.4.5 Daily user sending limit exceeded",
    ));
    let out = f
        .send()
        .members("members.csv")
        .smtp(&server)
        .with(["--to", "supreme-court", "--connections", "2"])
        .json()
        .run();
    assert_eq!(out.code, 3, "{out:?}");
    let summary = out.json();
    // The server counts its quota as messages arrive: with two connections
    // one more may get in before the limit shows.
    let sent = summary["sent"].as_u64().unwrap();
    assert!((5..=6).contains(&sent), "{summary}");
    let refused = summary["refused_temporarily"].as_u64().unwrap();
    assert!((1..=3).contains(&refused), "{summary}");
    assert_eq!(
        summary["not_attempted"].as_u64().unwrap(),
        50 - sent - refused
    );
    assert!(
        server.count("MAIL FROM") <= 6 + 3,
        "{}",
        server.count("MAIL FROM")
    );
    out.says("5.4.5 Daily user sending limit exceeded")
        .says("sending limit")
        .says("Run the same command again once the limit resets");
    // The next day, the rest goes, and nothing twice.
    let tomorrow = SmtpServer::start(ServerConfig::default());
    f.send()
        .members("members.csv")
        .smtp(&tomorrow)
        .with(["--to", "supreme-court"])
        .json()
        .run()
        .counts(&[("sent", 50 - sent), ("already_sent", sent)]);
}

#[test]
fn greylisting_is_waited_out_while_the_other_letters_go_on() {
    let f = TestCampaign::sendable();
    f.work_file("members.csv", members_csv(3));
    let send = |server: &SmtpServer, retry_for: &str| {
        f.send()
            .members("members.csv")
            .smtp(server)
            .with(["--to", "supreme-court", "--retry-for", retry_for])
            .json()
            .run()
    };
    // Five quick tries are not enough for a server that greylists.
    let strict = SmtpServer::start(ServerConfig::default().greylist_for(Duration::from_secs(60)));
    let quick = send(&strict, "0");
    assert_eq!(quick.code, 1, "{quick:?}");
    quick.counts(&[("sent", 0), ("refused_temporarily", 3)]);
    // Retried for long enough, every letter goes, each once.
    let server = SmtpServer::start(ServerConfig::default().greylist_for(Duration::from_secs(2)));
    send(&server, "30s").counts(&[("sent", 3), ("refused_temporarily", 0)]);
    assert_eq!(server.received().len(), 3);
    let rcpts = server.count("RCPT");
    assert!(rcpts > 3 * 5, "greylisted, then accepted: {rcpts} RCPT TO");
}

/// Jo's letter to the court with `words`, JSON summary.
fn jo(f: &TestCampaign, words: &[&str]) -> Run {
    let signer = ["--name", NAME, "--email", EMAIL, "--format", "json"];
    to_the_court(f, &[&signer[..], words].concat())
}

#[test]
fn a_copy_to_self_is_blind_and_counts_as_a_recipient() {
    let (f, server) = serving(ServerConfig::default());
    let dry = jo(&f, &["--copy-to-self", "--dry-run"]).json();
    let letter = &array(&dry["letters"])[0];
    assert_eq!(letter["recipients"], 2 + texts(&letter["cc"]).len());
    jo(&f, &["--copy-to-self", "--smtp", &server.url()]).counts(&[("sent", 1)]);
    let received = &server.received()[0];
    assert!(
        received.rcpt_to.iter().any(|r| r == EMAIL),
        "{:?}",
        received.rcpt_to
    );
    let m = mail(&received.data);
    assert!(!m.has_bcc, "a blind copy never shows in the headers");
    assert!(!m.to.iter().chain(&m.cc).any(|a| a.contains(EMAIL)));
}

#[test]
fn the_server_s_reply_and_queue_id_are_kept_as_proof_of_sending() {
    let (f, server) = serving(ServerConfig::default());
    let out = jo(&f, &["--report", "report.csv", "--smtp", &server.url()]);
    let summary = out.counts(&[("sent", 1)]);
    let letter = &array(&summary["letters"])[0];
    assert!(
        letter["reply"].as_str().unwrap().starts_with("250"),
        "{letter}"
    );
    assert_eq!(letter["queue_id"], "1", "{letter}");
    let journal = f.journal_events("sent");
    assert!(
        journal[0]["reply"]
            .as_str()
            .unwrap()
            .contains("queued as 1")
    );
    let report = std::fs::read_to_string(f.work().join("report.csv")).unwrap();
    assert!(
        report
            .lines()
            .next()
            .unwrap()
            .ends_with(",message_id,queue_id"),
        "{report}"
    );
    assert!(report.lines().nth(1).unwrap().ends_with(",1"), "{report}");
}

#[test]
fn a_daily_limit_stops_before_the_server_would_and_counts_the_journal() {
    let (f, server) = serving(ServerConfig::default());
    f.work_file("members.csv", members_csv(10));
    let send = |limit: &str| {
        f.send()
            .members("members.csv")
            .smtp(&server)
            .with(["--to", "supreme-court", "--daily-limit", limit])
            .json()
            .run()
    };
    // Each letter to the court goes to five: To and four copies.
    let first = send("12");
    assert_eq!(first.code, 3, "{first:?}");
    first.counts(&[("sent", 2), ("not_attempted", 8)]);
    first
        .says("the daily limit of 12 recipients (counting To, Cc and Bcc) is reached (10 in the last 24 hours")
        .says("Run the same command again after ");
    // The journal's last day counts: nothing more today.
    send("12").counts(&[("sent", 0), ("already_sent", 2), ("not_attempted", 8)]);
    assert_eq!(server.received().len(), 2);
    // With room, the next run goes on from there.
    send("100").counts(&[("sent", 8), ("already_sent", 2)]);
    assert_eq!(server.received().len(), 10);
}
