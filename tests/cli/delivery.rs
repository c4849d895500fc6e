//! Exactly-once delivery under faults (issue 9): a server that drops the
//! connection after the message, answers late or with garbage, refuses a
//! recipient, limits sessions; two runs at once; duplicate rows; kills.
//!
//! Every test counts what the in-process server received and checks it
//! against the journal: each letter at most once, and exactly once unless
//! the run reported it uncertain.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::smtp_server::{Received, ServerConfig, SmtpServer};
use crate::support::{Runs, Sending, TestCampaign, members_csv, serving, wait_with_timeout};

/// `send --yes --format json` of the one signer's three letters.
fn send(f: &TestCampaign, server: &SmtpServer) -> Sending {
    f.send().signer().smtp(server).json()
}

/// `send` of a members' list (one letter per member, to the court).
fn send_batch(send: Sending, server: &SmtpServer, csv: &Path) -> Sending {
    send.members(csv)
        .smtp(server)
        .json()
        .with(["--to", "supreme-court"])
}

/// The journal's last word on every key (a line a killed run left half
/// written is skipped).
fn journal_states(f: &TestCampaign) -> BTreeMap<String, String> {
    let mut states = BTreeMap::new();
    let records = f.journal_text();
    let records = records
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok());
    for r in records {
        let key = r["key"].as_str().unwrap().to_string();
        let event = r["event"].as_str().unwrap().to_string();
        let entry = states.entry(key).or_insert_with(String::new);
        // Once sent, a letter stays sent.
        if entry != "sent" {
            *entry = event;
        }
    }
    states
}

/// The member a received letter is from: a batch sent from a branch
/// account has the member's address under the signature (or in Reply-To
/// with `--reply-to member`); a personal letter has it in From.
fn member(r: &Received) -> String {
    let m = r.mail();
    if m.member.is_empty() {
        m.from.concat().to_lowercase()
    } else {
        m.member
    }
}

/// How often the server received each letter: (To address, member).
fn per_letter(received: &[Received]) -> BTreeMap<(String, String), usize> {
    let mut counts = BTreeMap::new();
    for r in received {
        *counts
            .entry((r.rcpt_to[0].to_lowercase(), member(r)))
            .or_insert(0) += 1;
    }
    counts
}

/// The (To address, member) of a journal key (letter|recipient|address|
/// email:signer email).
fn key_letter(key: &str) -> (String, String) {
    let mut parts = key.split('|').skip(2);
    let to = parts.next().unwrap_or_default().to_lowercase();
    let signer = parts.next().unwrap_or_default();
    (to, signer.trim_start_matches("email:").to_lowercase())
}

/// Every received letter at most once; those the journal has as sent
/// exactly once; those it has as uncertain at most once; no other letter.
fn assert_exactly_once(f: &TestCampaign, server: &SmtpServer) {
    let counts = per_letter(&server.received());
    let states = journal_states(f);
    for (letter, n) in &counts {
        assert_eq!(*n, 1, "{letter:?} received {n} times");
    }
    for (key, state) in &states {
        let got = counts.get(&key_letter(key)).copied().unwrap_or(0);
        match state.as_str() {
            "sent" => assert_eq!(got, 1, "{key} is sent in the journal"),
            "uncertain" | "attempt" => assert!(got <= 1, "{key}"),
            _ => assert_eq!(got, 0, "{key} is {state} but was received"),
        }
    }
    let journalled: std::collections::BTreeSet<_> = states.keys().map(|k| key_letter(k)).collect();
    for letter in counts.keys() {
        assert!(
            journalled.contains(letter),
            "{letter:?} received but not in the journal"
        );
    }
}

fn letters_with(summary: &Value, status: &str) -> Vec<Value> {
    summary["letters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["status"] == status)
        .cloned()
        .collect()
}

/// The connection drops after the server received the whole message: the
/// letter is uncertain, never retried, in this run or the next; only
/// --resend-uncertain sends it again, with the same Message-ID.
#[test]
fn a_drop_after_the_message_is_uncertain_and_never_retried() {
    let (f, server) = serving(ServerConfig::default().drop_after_data([2]));
    let out = send(&f, &server).exits(3);
    let s = out.counts(&[("sent", 2), ("uncertain", 1), ("refused_temporarily", 0)]);
    assert_eq!(server.received().len(), 3, "the server has all three");
    assert_eq!(server.attempts(), 3, "no retry of the uncertain letter");
    let uncertain = letters_with(&s, "uncertain");
    assert_eq!(uncertain.len(), 1);
    out.says("uncertain");
    assert_exactly_once(&f, &server);

    // The next run leaves it alone and says so.
    let again = send(&f, &server).exits(3);
    again.counts(&[("already_sent", 2), ("uncertain", 1)]);
    assert_eq!(server.attempts(), 3, "nothing sent again");
    again.says("--resend-uncertain");

    // Asked to, it resends that one letter, as the same message.
    let first_id = server
        .received()
        .iter()
        .find(|r| r.rcpt_to[0] == uncertain[0]["to"].as_str().unwrap())
        .map(|r| r.mail().message_id)
        .unwrap();
    let resent = send(&f, &server).arg("--resend-uncertain").succeeds();
    assert_eq!(resent.json()["sent"], 1);
    let received = server.received();
    assert_eq!(received.len(), 4);
    assert_eq!(received[3].mail().message_id, first_id, "same Message-ID");
    assert!(!first_id.is_empty());
}

/// A reply that comes after --timeout, or does not parse, is no answer.
#[test]
fn a_late_or_garbled_reply_to_the_message_is_uncertain() {
    for config in [
        ServerConfig::default().late_reply([1], Duration::from_secs(3)),
        ServerConfig::default().garbage_reply([1]),
    ] {
        let (f, server) = serving(config);
        let out = send(&f, &server).args(["--timeout", "1"]).exits(3);
        out.counts(&[("uncertain", 1), ("sent", 2)]);
        assert_eq!(server.attempts(), 3, "{out:?}");
        assert_exactly_once(&f, &server);
    }
}

/// Refusals before the message left stay refusals, retried or final.
#[test]
fn with_or_without_pipelining_a_refused_recipient_is_refused_not_uncertain() {
    for config in [
        ServerConfig::default(),
        ServerConfig::default().pipelining(),
    ] {
        let (f, server) = serving(
            config
                .reject_rcpt("foreign-ministry@kz-gov.org")
                .multiline_data_reply(),
        );
        let out = send(&f, &server).exits(1);
        let s = out.counts(&[("sent", 2), ("refused_permanently", 1), ("uncertain", 0)]);
        let sent = letters_with(&s, "sent");
        assert!(
            sent.iter()
                .all(|l| l["reply"].as_str().unwrap().contains("queued as")),
            "the whole multi-line reply is kept: {s}"
        );
        assert_exactly_once(&f, &server);
    }
}

/// Each member three times in the list, four connections: each letter is
/// sent once. The repeated rows are reported (with both lines) and left out
/// when the list is checked, before anything is sent, so they never reach
/// the dispatch (whose own dedupe stays as a second guard).
#[test]
fn duplicate_rows_with_four_connections_are_sent_once() {
    let f = TestCampaign::sendable();
    let list = members_csv(20);
    let (header, rows) = list.split_once('\n').unwrap();
    let csv = f.file("members.csv", format!("{header}\n{}", rows.repeat(3)));
    let server = SmtpServer::start(
        ServerConfig::default()
            .pipelining()
            .delay_per_message(Duration::from_millis(5)),
    );
    let out = send_batch(f.send(), &server, &csv)
        .args(["--connections", "4"])
        .succeeds();
    let s = out.counts(&[("sent", 20), ("duplicate", 0)]);
    assert!(
        out.stderr
            .contains("40 rows repeat a member listed earlier"),
        "{out:?}"
    );
    // Member 1 is on lines 2, 22 and 42.
    assert!(
        out.stderr
            .contains("members.csv:22: the same member as line 2")
            && out
                .stderr
                .contains("members.csv:42: the same member as line 2"),
        "{out:?}"
    );
    assert_eq!(s["already_sent"], 0, "{out:?}");
    let received = server.received();
    assert_eq!(received.len(), 20);
    let mut members: Vec<String> = received
        .iter()
        .map(|r| {
            // "Member 7 via …": the member is in From's display name.
            r.mail().from_name
        })
        .collect();
    members.sort();
    members.dedup();
    assert_eq!(members.len(), 20, "{members:?}");
    assert_eq!(
        journal_states(&f).values().filter(|s| *s == "sent").count(),
        20
    );
}

/// Two runs started together on one journal: one sends, the other stops at
/// once, before sending anything, naming the journal; `--wait` waits.
#[test]
fn two_runs_at_once_on_one_journal_send_each_letter_once() {
    let f = TestCampaign::sendable();
    let csv = f.file("members.csv", members_csv(40));
    let server =
        SmtpServer::start(ServerConfig::default().delay_per_message(Duration::from_millis(20)));
    let mut first = send_batch(f.send(), &server, &csv)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(server.wait_for_received(1, Duration::from_secs(60)));
    let second = send_batch(f.send(), &server, &csv).exits(2);
    second.says("another send");
    second.says(&f.journal().display().to_string());
    // And a third that waits for the first, then finds everything sent.
    let third = send_batch(f.send(), &server, &csv).arg("--wait").run();
    assert!(first.wait().unwrap().success());
    assert_eq!(third.code, 0, "{third:?}");
    assert_eq!(third.json()["already_sent"], 40, "{third:?}");
    assert_eq!(server.received().len(), 40);
    assert_exactly_once(&f, &server);
}

/// Every side output is checked before the first letter goes out.
#[test]
fn side_outputs_are_checked_before_anything_is_sent() {
    let (f, server) = serving(ServerConfig::default());
    let csv = f.file(
        "members.csv",
        "name,organisation,email,country\nAl,,al@union.org,GB\n",
    );

    // The report may not replace the members' list, nor any file without --force.
    let out = send_batch(f.send(), &server, &csv)
        .arg("--report")
        .arg(&csv)
        .exits(2);
    out.says("same file");
    let existing = f.file("old-report.csv", "keep me\n");
    let out = send_batch(f.send(), &server, &csv)
        .arg("--report")
        .arg(&existing)
        .exits(2);
    out.says("--force");
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "keep me\n");
    // A report folder that does not exist.
    let missing = f.path("no-such-folder/report.csv");
    let out = send_batch(f.send(), &server, &csv)
        .arg("--report")
        .arg(&missing)
        .exits(2);
    out.says("no-such-folder");
    // A postal-only recipient with a missing --out-dir stops the run first.
    f.add_postal_recipient();
    let out = send(&f, &server)
        .args(["--to", "supreme-court", "--to", "court-registry"])
        .args(["--out-dir", &f.path("no-such-dir").display().to_string()])
        .exits(2);
    out.says("no-such-dir");
    assert!(server.received().is_empty(), "nothing was sent");
    assert_eq!(server.connections(), 0);

    // With --force the report is replaced, and formula cells are made text.
    let evil = f.file(
        "evil.csv",
        "name,organisation,email,country\n\"=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",,ev@union.org,GB\n",
    );
    let refusing =
        SmtpServer::start(ServerConfig::default().reject_rcpt("supreme-court@kz-gov.org"));
    send_batch(f.send(), &refusing, &evil)
        .arg("--report")
        .arg(&existing)
        .arg("--force")
        .exits(1);
    let report = std::fs::read_to_string(&existing).unwrap();
    assert!(report.contains("'=HYPERLINK"), "{report}");
    assert!(report.contains("refused permanently"), "{report}");
    assert!(!report.contains(",=HYPERLINK"), "{report}");
}

/// stdout and stderr closed or broken: no panic, no hang, the journal is
/// complete and the exit code tells the truth.
#[test]
fn closed_stdout_and_stderr_change_nothing() {
    use std::process::Stdio;
    let f = TestCampaign::sendable();
    let text = members_csv(30);
    let csv = f.file("members.csv", &text);
    let server = SmtpServer::start(
        ServerConfig::default()
            .reject_rcpt("supreme-court@kz-gov.org")
            .delay_per_message(Duration::from_millis(5)),
    );
    // Both ends closed from the start (refused letters: exit 1, not 0).
    for connections in ["1", "2"] {
        let mut child = send_batch(f.send(), &server, &csv)
            .args(["--connections", connections, "--verbose"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        drop(child.stderr.take());
        let status = wait_with_timeout(&mut child, Duration::from_secs(60)).and_then(|s| s.code());
        assert_eq!(status, Some(1), "connections {connections}");
    }
    assert_eq!(
        journal_states(&f)
            .values()
            .filter(|s| *s == "failed")
            .count(),
        30
    );

    // stderr closed mid-run: the reader goes away after the first line.
    let f = TestCampaign::sendable();
    let csv = f.file("members.csv", &text);
    let server =
        SmtpServer::start(ServerConfig::default().delay_per_message(Duration::from_millis(10)));
    for connections in ["1", "2"] {
        let journal = f.path(&format!("journal-{connections}.jsonl"));
        let mut child = send_batch(f.send_with_journal(&journal), &server, &csv)
            .args(["--connections", connections, "--verbose"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let mut byte = [0u8; 1];
        let _ = std::io::Read::read(&mut stderr, &mut byte);
        drop(stderr);
        let stdout = child.stdout.take().unwrap();
        let status = wait_with_timeout(&mut child, Duration::from_secs(60)).and_then(|s| s.code());
        drop(stdout);
        assert_eq!(status, Some(0), "connections {connections}");
        let sent = std::fs::read_to_string(&journal)
            .unwrap()
            .lines()
            .filter(|l| l.contains("\"event\":\"sent\""))
            .count();
        assert_eq!(sent, 30, "connections {connections}");
    }
    assert_eq!(server.received().len(), 60);
}

/// `kill -9` at random points in a batch, resumed each time, then run to
/// the end: no letter twice, every letter once unless the journal calls it
/// uncertain. 600 letters and 3 kills keep the suite quick; the 2,000-letter
/// batch with 20 kills is tests/e2e/exactly_once.sh.
#[test]
fn killed_at_random_points_and_resumed_no_letter_arrives_twice() {
    use std::process::Stdio;
    let f = TestCampaign::sendable();
    let csv = f.file("members.csv", members_csv(600));
    let server = SmtpServer::start(ServerConfig::default().pipelining());
    let mut seed = std::process::id() as u64;
    for kill in 1..=3usize {
        let before = server.received().len();
        let mut child = send_batch(f.send(), &server, &csv)
            .args(["--connections", &(1 + kill % 3).to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // A few to a few hundred letters into the run.
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let wait_for = before + 1 + (seed >> 33) as usize % 150;
        server.wait_for_received(wait_for, Duration::from_secs(60));
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let out = send_batch(f.send(), &server, &csv)
        .args(["--connections", "4"])
        .run();
    let s = out.json();
    let uncertain = s["uncertain"].as_u64().unwrap();
    assert_eq!(out.code, if uncertain == 0 { 0 } else { 3 }, "{out:?}");
    assert!(uncertain <= 3 * 3, "at most the letters in flight: {out:?}");
    assert_exactly_once(&f, &server);
    let arrived = per_letter(&server.received()).len() as u64;
    assert!(
        arrived + uncertain >= 600,
        "{arrived} arrived, {uncertain} uncertain"
    );
    assert_eq!(
        s["already_sent"].as_u64().unwrap() + s["sent"].as_u64().unwrap() + uncertain,
        600,
        "{out:?}"
    );
}
