//! Issue 25: the same person never twice, an interrupted run that loses
//! nothing and says so, one account of every letter, members' data kept
//! private. Each case counts what the server received.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::smtp_server::{Quirks, ServerConfig, SmtpServer};
use crate::support::*;

/// One person signing, with these words, to the Supreme Court.
fn personal(f: &TestCampaign, server: &SmtpServer, words: &[&str]) -> Run {
    to_the_court(f, &[&["--smtp", &server.url()], words].concat())
}

#[test]
fn the_same_person_spelt_otherwise_gets_no_second_letter() {
    let (f, server) = serving(ServerConfig::default());
    let first = personal(&f, &server, &["--name", NAME, "--email", EMAIL]);
    assert_eq!(first.code, 0, "{first:?}");
    let with_organisation = [
        "--name",
        NAME,
        "--email",
        EMAIL,
        "--organisation",
        ORGANISATION,
    ];
    for words in [
        ["--name", NAME, "--email", "Jo@Solidarity-Union.ORG"].as_slice(),
        &["--name", "Jo  Bloggs", "--email", EMAIL],
        &with_organisation,
    ] {
        let again = personal(&f, &server, words);
        assert_eq!(again.code, 0, "{again:?}");
        again
            .says("already sent: sokolova to supreme-court on ")
            .says("signed 'Jo Bloggs'")
            .says("--resend sends this version too");
    }
    assert_eq!(server.received().len(), 1, "one letter, however spelt");
    // Asked for, the new version goes too, as a message of its own.
    let resent = personal(
        &f,
        &server,
        &[&with_organisation[..], &["--resend"]].concat(),
    );
    assert_eq!(resent.code, 0, "{resent:?}");
    let received = server.received();
    assert_eq!(received.len(), 2);
    assert_ne!(
        mail(&received[0].data).message_id,
        mail(&received[1].data).message_id,
        "a mail system may drop a second message of one Message-ID"
    );
}

#[test]
fn a_member_re_exported_with_other_spaces_or_unicode_is_not_written_to_again() {
    let (f, server) = serving(ServerConfig::default());
    let send = |name: &str, csv: &str| {
        f.work_file(name, csv);
        f.send()
            .members(name)
            .smtp(&server)
            .with(["--to", "supreme-court"])
            .json()
            .run()
    };
    let first = send(
        "members.csv",
        "name,organisation,email\nZoë Ivanova,,zoe@union.org\nIvan Ivanov,Branch B,\nIvan Ivanov,Branch C,\n",
    );
    // Two members of one name in two branches are two people.
    first.counts(&[("sent", 3), ("duplicate", 0)]);
    let again = send(
        "again.csv",
        "name,organisation,email\nZoe\u{308}\u{a0}Ivanova,Union,ZOE@Union.org\nivan  IVANOV,branch\u{a0}b,\n",
    );
    again.counts(&[("sent", 0), ("already_sent", 2)]);
    again.says("(line 2, Zoe\u{308}\u{a0}Ivanova)");
    assert_eq!(server.received().len(), 3);
}

#[test]
fn journals_of_earlier_versions_keep_every_letter_they_record_sent() {
    let f = TestCampaign::sendable();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/journals");
    std::fs::copy(fixtures.join("written-by-a53479f.jsonl"), f.journal()).unwrap();
    std::fs::copy(
        fixtures.join("written-by-a53479f.members.csv"),
        f.work().join("members.csv"),
    )
    .unwrap();
    let server = SmtpServer::start(ServerConfig::default());
    let send = |words: &[&str]| {
        f.send()
            .smtp(&server)
            .with(["--to", "supreme-court", "--yes", "--format", "json"])
            .with(words)
            .run()
    };
    // Each as the old version sent it, spelt otherwise now.
    send(&["--name", "Jo  Bloggs", "--email", "JO@union.org.uk"]).counts(&[("already_sent", 1)]);
    send(&[
        "--name",
        "Анна Петрова",
        "--email",
        "anna@example.org",
        "--organisation",
        "X",
    ])
    .counts(&[("already_sent", 1)]);
    send(&[
        "--signatories",
        "members.csv",
        "--email",
        "branch@union.org",
        "--group",
        "--to",
        "foreign-ministry",
    ])
    .counts(&[("already_sent", 2), ("sent", 0)]);
    // The old version took Ivan of Branch C for Ivan of Branch B and sent
    // him nothing: he is a person of his own now, and only he gets a letter.
    let batch = send(&[
        "--signatories",
        "members.csv",
        "--email",
        "branch@union.org",
    ]);
    batch.counts(&[("already_sent", 2), ("sent", 1)]);
    // A letter killed in flight by the old version stays uncertain.
    send(&["--name", "Olga Kim", "--email", "olga@example.net"])
        .counts(&[("uncertain", 1), ("sent", 0)]);
    let received = server.received();
    assert_eq!(received.len(), 1, "only the member the old version skipped");
    assert!(mail(&received[0].data).body.contains("Ivan Ivanov"));
}

#[test]
fn a_petition_is_not_sent_again_when_members_join() {
    let (f, server) = serving(ServerConfig::default());
    let petition = |csv: &str, more: &[&str]| {
        f.send()
            .members(csv)
            .smtp(&server)
            .with(["--group", "--to", "supreme-court"])
            .with(more)
            .json()
            .run()
    };
    f.work_file("three.csv", members_csv(3));
    petition("three.csv", &[]).counts(&[("sent", 1)]);
    f.work_file("five.csv", members_csv(5));
    let again = petition("five.csv", &[]);
    again.counts(&[("sent", 0), ("already_sent", 1)]);
    again
        .says("2 new signatures since: Member 4, Member 5")
        .says("--resend");
    assert_eq!(server.received().len(), 1, "no member signs twice");
    petition("five.csv", &["--resend"]).counts(&[("sent", 1)]);
    let received = server.received();
    assert_eq!(received.len(), 2);
    assert!(mail(&received[1].data).body.contains("Member 5"));
}

/// `members.csv` sent to the court through `server`, JSON summary.
fn court_batch(f: &TestCampaign, server: &SmtpServer) -> Run {
    f.send()
        .members("members.csv")
        .smtp(server)
        .with(["--to", "supreme-court"])
        .json()
        .run()
}

/// Starts `send` of `n` members to the court through `server`, JSON
/// summary on stdout.
fn spawn_batch(f: &TestCampaign, server: &SmtpServer, n: usize, journal: &Path) -> Child {
    f.work_file("members.csv", members_csv(n));
    let mut cmd = f
        .send_with_journal(journal)
        .members("members.csv")
        .smtp(server);
    cmd.args(["--to", "supreme-court", "--yes", "--format", "json"]);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.spawn().unwrap()
}

fn signal(child: &Child, name: &str) {
    let sent = Command::new("kill")
        .args([name, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// Waits (at most 30 s) until `ready` holds.
fn wait_until(mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < Duration::from_secs(30), "timed out");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn finish(child: Child) -> (i32, Value, String) {
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        json,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn the_lock_stays_at_the_path_when_the_journal_is_moved() {
    let f = TestCampaign::sendable();
    // Each reply takes seconds: the first run still holds the lock, with
    // its second letter in flight, while the second run starts.
    let server =
        SmtpServer::start(ServerConfig::default().delay_per_message(Duration::from_secs(3)));
    let journal = f.journal();
    let first = spawn_batch(&f, &server, 40, &journal);
    wait_until(|| f.journal_events("attempt").len() >= 2);
    let moved = f.path("moved.jsonl");
    std::fs::rename(&journal, &moved).unwrap();
    // A second run on the same path is refused while the first holds it.
    let second = f
        .send()
        .members("members.csv")
        .smtp(&server)
        .with(["--to", "supreme-court", "--yes"])
        .run();
    assert_eq!(second.code, 2, "{second:?}");
    second.says("another send is using the journal");
    // The first notices its journal has gone and stops before its next letter.
    let (code, _, stderr) = finish(first);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("was moved, deleted or replaced"),
        "{stderr}"
    );
    let before = server.received().len();
    assert!(before < 40, "{before}");
    // Put back, the journal sends the rest (through a quick server), and
    // nothing twice.
    std::fs::rename(&moved, &journal).unwrap();
    let quick = SmtpServer::start(ServerConfig::default());
    court_batch(&f, &quick).counts(&[
        ("already_sent", before as u64),
        ("sent", 40 - before as u64),
    ]);
    let received: Vec<_> = server
        .received()
        .into_iter()
        .chain(quick.received())
        .collect();
    let mut members: Vec<String> = received.iter().map(|r| mail(&r.data).member).collect();
    members.sort();
    members.dedup();
    assert_eq!(members.len(), 40);
    assert_eq!(received.len(), 40);
}

#[test]
fn ctrl_c_and_sigterm_stop_cleanly_with_a_summary() {
    for (signal_name, code) in [("-INT", 130), ("-TERM", 143)] {
        let f = TestCampaign::sendable();
        let server = SmtpServer::start(
            ServerConfig::default().delay_per_message(Duration::from_millis(200)),
        );
        let child = spawn_batch(&f, &server, 20, &f.journal());
        wait_until(|| server.received().len() >= 2);
        signal(&child, signal_name);
        let (status, summary, stderr) = finish(child);
        assert_eq!(status, code, "{signal_name}: {stderr}");
        assert_eq!(summary["interrupted"], true, "{summary}");
        let sent = summary["sent"].as_u64().unwrap();
        assert_eq!(sent as usize, server.received().len());
        assert_eq!(summary["uncertain"], 0);
        assert_eq!(
            sent + summary["not_attempted"].as_u64().unwrap(),
            20,
            "{summary}"
        );
        assert_eq!(
            array(&summary["letters"]).len(),
            20,
            "every letter listed once"
        );
        // Nothing is left in flight: the next run sends exactly the rest.
        court_batch(&f, &server).counts(&[("sent", 20 - sent), ("uncertain", 0)]);
        assert_eq!(server.received().len(), 20);
    }
}

#[test]
fn a_letter_stopped_while_connecting_is_not_uncertain() {
    let (f, silent) = serving(ServerConfig::default().quirks(Quirks {
        never_greet: true,
        ..Quirks::default()
    }));
    let mut cmd = f.send().smtp(&silent).signer();
    cmd.args(["--to", "supreme-court", "--yes", "--timeout", "30"]);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    wait_until(|| silent.connections() >= 1);
    std::thread::sleep(Duration::from_millis(200));
    signal(&child, "-INT");
    let (code, _, stderr) = finish(child);
    assert_eq!(code, 130, "{stderr}");
    assert!(
        f.journal_events("attempt").is_empty(),
        "{}",
        f.journal_text()
    );
    // The next run sends it: nothing had left.
    let server = SmtpServer::start(ServerConfig::default());
    personal(&f, &server, &["--name", NAME, "--email", EMAIL]).prints("Sent 1,");
    assert_eq!(server.received().len(), 1);
}

#[test]
fn an_interrupted_out_dir_batch_leaves_nothing_and_a_killed_one_is_cleared() {
    let f = TestCampaign::new();
    f.work_file("members.csv", members_csv(30_000));
    let out = f.work().join("letters");
    let start = |f: &TestCampaign| {
        let mut cmd = f.campaign_std_cmd();
        cmd.args(["write", "--signatories", "members.csv", "--email", ACCOUNT])
            .args(["--to", "supreme-court", "--out-dir", "letters"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd.spawn().unwrap()
    };
    let staged = |dir: &Path| {
        file_names(dir)
            .into_iter()
            .filter(|n| n.starts_with(".protest-letter-unfinished-"))
            .collect::<Vec<_>>()
    };
    let has_letters = |dir: &Path| {
        staged(dir)
            .first()
            .is_some_and(|s| file_names(&dir.join(s)).len() > 10)
    };
    let child = start(&f);
    wait_until(|| out.is_dir() && has_letters(&out));
    signal(&child, "-INT");
    let (code, _, stderr) = finish(child);
    assert_eq!(code, 130, "{stderr}");
    assert!(
        stderr.contains("nothing of this batch was written"),
        "{stderr}"
    );
    assert!(
        !out.exists() || file_names(&out).is_empty(),
        "{:?}",
        file_names(&out)
    );

    std::fs::create_dir_all(&out).unwrap();
    let mut killed = start(&f);
    wait_until(|| has_letters(&out));
    killed.kill().unwrap();
    killed.wait().unwrap();
    let left = staged(&out);
    assert_eq!(left.len(), 1);
    f.work_file("two.csv", members_csv(2));
    let next = f
        .campaign_cmd()
        .args(["write", "--signatories", "two.csv", "--email", ACCOUNT])
        .args(["--to", "supreme-court", "--out-dir", "letters"])
        .succeeds();
    next.says(&format!("removed {}", left[0]));
    assert!(staged(&out).is_empty(), "{:?}", file_names(&out));
    assert_eq!(file_names(&out).len(), 2);
}

#[test]
fn a_member_error_part_way_lists_every_letter_in_json_and_report() {
    let f = TestCampaign::sendable();
    // The court is written to in Russian.
    f.replace(
        "letters/_signature.ru.txt",
        "{{ signer.name }}",
        "{{ signer.name }} {{ signer.extra[signer.extra.n] }}",
    );
    let mut csv = String::from("name,email,n\n");
    for i in 1..=10 {
        // Row 7 names a column there is not: its letter cannot be made.
        let n = if i == 7 { "nowhere" } else { "n" };
        csv.push_str(&format!("Member {i},{},{n}\n", member_email(i)));
    }
    f.work_file("members.csv", &csv);
    let server = SmtpServer::start(ServerConfig::default());
    let out = f
        .send()
        .with([
            "--signatories",
            "members.csv",
            "--email",
            ACCOUNT,
            "--report",
            "report.csv",
        ])
        .smtp(&server)
        .with(["--to", "supreme-court", "--country", "GB"])
        .json()
        .run();
    assert_eq!(out.code, 3, "{out:?}");
    let summary = out.counts(&[("sent", 6), ("not_attempted", 4)]);
    let letters = array(&summary["letters"]);
    assert_eq!(letters.len(), 10);
    let not_attempted: Vec<u64> = letters
        .iter()
        .filter(|l| l["status"] == "not_attempted")
        .map(|l| l["line"].as_u64().unwrap())
        .collect();
    assert_eq!(not_attempted, [8, 9, 10, 11]);
    let report = std::fs::read_to_string(f.work().join("report.csv")).unwrap();
    assert_eq!(report.lines().count(), 11, "{report}");
    assert_eq!(report.matches(",not attempted,").count(), 4, "{report}");
    assert_eq!(server.received().len(), 6);
}

#[test]
fn an_unreachable_server_leaves_letters_not_attempted_not_refused() {
    let f = TestCampaign::sendable();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let out = f
        .send()
        .signer()
        .with(["--smtp", &format!("smtp://127.0.0.1:{port}")])
        .with(["--to", "supreme-court", "--to", "foreign-ministry"])
        .json()
        .run();
    assert_eq!(out.code, 3, "{out:?}");
    let summary = out.counts(&[
        ("not_attempted", 2),
        ("refused_temporarily", 0),
        ("sent", 0),
    ]);
    for l in array(&summary["letters"]) {
        assert_eq!(l["status"], "not_attempted", "{l}");
    }
}

#[test]
fn a_dry_run_in_json_lists_each_letter_it_would_send() {
    let f = TestCampaign::sendable();
    f.work_file("members.csv", members_csv(3));
    let out = f
        .send()
        .members("members.csv")
        .with(["--to", "supreme-court", "--dry-run", "--format", "json"])
        .succeeds();
    let summary = out.counts(&[("would_send", 3), ("sent", 0)]);
    let letters = array(&summary["letters"]);
    assert_eq!(letters.len(), 3);
    for l in letters {
        assert_eq!(l["status"], "would_send");
        assert_eq!(l["to"], COURT);
        assert!(l["from"].as_str().unwrap().contains(ACCOUNT), "{l}");
        assert!(!texts(&l["cc"]).is_empty(), "{l}");
        assert!(!l["subject"].as_str().unwrap().is_empty(), "{l}");
        assert_eq!(l["recipients"], 1 + texts(&l["cc"]).len());
    }
}

#[cfg(unix)]
#[test]
fn members_data_is_owner_only_and_a_chosen_file_keeps_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let (f, server) = serving(ServerConfig::default());
    f.work_file("members.csv", members_csv(2));
    let journal = f.path("private/journal.jsonl");
    f.send_with_journal(&journal)
        .members("members.csv")
        .smtp(&server)
        .with(["--to", "supreme-court", "--report", "report.csv"])
        .json()
        .run()
        .counts(&[("sent", 2)]);
    assert_eq!(mode(&journal), 0o600);
    assert_eq!(mode(&f.path("private/journal.jsonl.lock")), 0o600);
    assert_eq!(mode(&f.path("private")), 0o700);
    assert_eq!(mode(&f.work().join("report.csv")), 0o600);

    f.campaign_cmd()
        .args(["write", "--signatories", "members.csv", "--email", ACCOUNT])
        .args(["--to", "supreme-court", "--out-dir", "batch"])
        .succeeds();
    let batch = f.work().join("batch");
    assert_eq!(mode(&batch), 0o700);
    for name in file_names(&batch) {
        assert_eq!(mode(&batch.join(&name)), 0o600, "{name}");
    }
    // A file the user names keeps their umask, like any file they make.
    f.campaign_cmd()
        .args([
            "write",
            "--name",
            NAME,
            "--to",
            "supreme-court",
            "-o",
            "mine.txt",
        ])
        .succeeds();
    let theirs = f.work_file("theirs.txt", "x");
    assert_eq!(mode(&f.work().join("mine.txt")), mode(&theirs));
}

#[test]
fn a_second_ctrl_c_ends_the_run_at_once() {
    let f = TestCampaign::sendable();
    // The server takes a while to answer each message.
    let server =
        SmtpServer::start(ServerConfig::default().delay_per_message(Duration::from_secs(3)));
    let child = spawn_batch(&f, &server, 5, &f.journal());
    // The second letter's message has left; its reply is seconds away.
    wait_until(|| f.journal_events("attempt").len() >= 2);
    signal(&child, "-INT");
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, "-INT");
    let (code, summary, stderr) = finish(child);
    assert_eq!(code, 130, "{stderr}");
    // Ended without waiting for the reply, so without a summary; the
    // letter in flight is uncertain to the next run, never sent twice.
    assert_eq!(summary, Value::Null);
    let records = f.journal_records();
    assert_eq!(records.last().unwrap()["event"], "attempt", "{records:?}");
    court_batch(&f, &SmtpServer::start(ServerConfig::default())).counts(&[
        ("sent", 3),
        ("already_sent", 1),
        ("uncertain", 1),
    ]);
}
