//! Batch mode: a members' list (CSV) as signers, for `write` and `send`.
//!
//! Every test builds its own temp campaign (the repository's, with the
//! placeholder domain replaced), generates its CSV, and starts and stops its
//! own SMTP server. Delivered letters are identified by the member (the
//! address under the signature, or Reply-To with `--reply-to member`) and
//! the To address, parsed with mail-parser.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use mail_parser::MessageParser;
use serde_json::Value;

use crate::smtp_server::{Received, ServerConfig, SmtpServer};
use crate::support::{
    ACCOUNT, COURT, MINISTRY, ORGANISATION as BRANCH, Runs, Sending, TestCampaign, member_email,
    members_csv,
};

/// `send --yes` of `csv` (in the working folder) through `server`, signed
/// by the branch account, with a JSON summary.
fn send(b: &TestCampaign, server: &SmtpServer, csv: &str) -> Sending {
    b.send().members(csv).smtp(server).json()
}

/// How often each (member, To) pair was delivered.
fn tally(received: &[Received]) -> BTreeMap<(String, String), usize> {
    let mut counts = BTreeMap::new();
    for r in received {
        let m = r.mail();
        *counts.entry((m.member, m.to.concat())).or_insert(0) += 1;
    }
    counts
}

/// Every (member, To) pair for members 1..=n and these recipients.
fn expected_pairs(n: usize, to: &[&str]) -> BTreeSet<(String, String)> {
    (1..=n)
        .flat_map(|i| to.iter().map(move |t| (member_email(i), t.to_string())))
        .collect()
}

fn json(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}):\n{line}"))
}

#[track_caller]
fn assert_each_once(received: &[Received], expected: &BTreeSet<(String, String)>) {
    let counts = tally(received);
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    let got: BTreeSet<_> = counts.into_keys().collect();
    let missing: Vec<_> = expected.difference(&got).take(10).collect();
    let extra: Vec<_> = got.difference(expected).take(10).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, unexpected {extra:?}"
    );
    assert_eq!(received.len(), expected.len());
}

/// Temp-fails every 7th transfer, except while some letter is on its 4th
/// try or later. A retry lands on a failing index about one time in seven,
/// so plain "every 7th" would make one of ~285 failed letters fail five
/// times (the client's limit, after which it rightly gives up) in about one
/// run in ten. The journal, read as the client writes it (an `attempt`
/// record goes out before each message), tells how many tries are open.
fn every_7th_but_never_a_5th_try(journal: PathBuf) -> impl Fn(usize) -> bool + Send + Sync {
    let state = Mutex::new((0u64, HashMap::<String, u32>::new()));
    move |index| {
        if index % 7 != 0 {
            return false;
        }
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        let (offset, open) = &mut *state;
        let mut new = Vec::new();
        if let Ok(mut file) = std::fs::File::open(&journal) {
            file.seek(SeekFrom::Start(*offset)).unwrap();
            file.read_to_end(&mut new).unwrap();
        }
        let complete = new.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        for line in new[..complete].split(|&b| b == b'\n') {
            if line.is_empty() {
                continue;
            }
            let record: Value = serde_json::from_slice(line).unwrap();
            let key = record["key"].as_str().unwrap().to_string();
            // A temporary failure is journalled as `failed` and retried:
            // only `sent` ends the letter's tries.
            if record["event"] == "attempt" {
                *open.entry(key).or_default() += 1;
            } else if record["event"] == "sent" {
                open.remove(&key);
            }
        }
        *offset += complete as u64;
        open.values().all(|&tries| tries < 4)
    }
}

/// The acceptance case: 1,000 members × 2 recipients over two connections to
/// a server that temp-fails every 7th message and drops a
/// connection once. Every letter arrives exactly once.
#[test]
fn batch_thousand_members_arrive_exactly_once_despite_failures() {
    let b = TestCampaign::sendable();
    b.work_file("members.csv", members_csv(1000));
    let mut server = SmtpServer::start(
        ServerConfig::default()
            .temp_fail_if(every_7th_but_never_a_5th_try(b.journal()))
            .drop_after(500),
    );
    let out = send(&b, &server, "members.csv")
        .args(["--to", "supreme-court", "--to", "foreign-ministry"])
        .args(["--connections", "2"])
        .succeeds();
    out.counts(&[
        ("sent", 2000),
        ("refused_temporarily", 0),
        ("refused_permanently", 0),
        ("not_attempted", 0),
    ]);

    let received = server.received();
    server.stop();
    assert!(
        server.attempts() >= 2000 + 150,
        "the failures were injected: {} transfers",
        server.attempts()
    );
    assert!(server.connections() >= 3, "two connections and a reconnect");
    assert_each_once(&received, &expected_pairs(1000, &[COURT, MINISTRY]));

    let by_member: HashMap<String, usize> = (1..=1000).map(|i| (member_email(i), i)).collect();
    for r in &received {
        let l = r.mail();
        let i = by_member[&l.member];
        assert_eq!(l.from_name, format!("Member {i} via {BRANCH}"));
        assert_eq!(l.from, [ACCOUNT]);
        assert_eq!(l.reply_to_name, "", "no Reply-To by default");
        assert!(
            l.body
                .trim_end()
                .ends_with(&format!("\n{}", member_email(i)))
        );
        assert_eq!(r.mail_from, ACCOUNT, "the envelope is the account's");
    }
}

#[test]
fn batch_421_closing_is_retried_and_each_letter_arrives_once() {
    let b = TestCampaign::sendable();
    b.work_file("members.csv", members_csv(150));
    let mut server = SmtpServer::start(ServerConfig::default().close_421_after(100));
    let out = send(&b, &server, "members.csv")
        .args(["--to", "supreme-court", "--connections", "2"])
        .succeeds();
    assert_eq!(out.json()["sent"], 150);
    server.stop();
    assert_each_once(&server.received(), &expected_pairs(150, &[COURT]));
    assert!(server.connections() >= 3, "reconnected after the 421");
}

/// `--reply-to member` puts the member's address in Reply-To instead of
/// under the signature; the default (`none`) leaves Reply-To out.
#[test]
fn batch_reply_to_member_or_none() {
    let b = TestCampaign::sendable();
    b.work_file("members.csv", members_csv(3));
    for (flag, with_reply_to) in [("member", true), ("none", false)] {
        let mut server = SmtpServer::start(ServerConfig::default());
        send(&b, &server, "members.csv")
            .args(["--to", "supreme-court", "--reply-to", flag, "--resend"])
            .succeeds();
        server.stop();
        let received = server.received();
        assert_eq!(received.len(), 3);
        for r in &received {
            let m = MessageParser::default().parse(&r.data).unwrap();
            let l = r.mail();
            assert!(l.member.starts_with("member"), "{l:?}");
            let in_body = l.body.trim_end().ends_with(&l.member);
            assert_eq!(m.reply_to().is_some(), with_reply_to, "--reply-to {flag}");
            assert_eq!(in_body, !with_reply_to, "--reply-to {flag}: {}", l.body);
            if with_reply_to {
                assert_eq!(
                    l.reply_to_name,
                    l.from_name.replace(&format!(" via {BRANCH}"), "")
                );
            }
        }
    }
}

#[test]
fn batch_refused_recipient_fails_its_letters_and_the_report_lists_them() {
    let b = TestCampaign::sendable();
    b.work_file("members.csv", members_csv(60));
    let mut server = SmtpServer::start(ServerConfig::default().reject_rcpt(MINISTRY));
    let out = send(&b, &server, "members.csv")
        .args(["--to", "supreme-court", "--to", "foreign-ministry"])
        .args(["--connections", "2", "--report", "report.csv"])
        .exits(1);
    out.counts(&[
        ("sent", 60),
        ("refused_permanently", 60),
        ("refused_temporarily", 0),
    ]);
    server.stop();
    assert_each_once(&server.received(), &expected_pairs(60, &[COURT]));
    assert_eq!(
        server.attempts(),
        60,
        "refused at RCPT: no DATA, and no retry"
    );

    let mut report = csv::Reader::from_path(b.work().join("report.csv")).unwrap();
    let headers = report.headers().unwrap().clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no `{name}` column in {headers:?}"))
    };
    let (line, signer, recipient, to, status, reason) = (
        column("line"),
        column("signer"),
        column("recipient"),
        column("to"),
        column("status"),
        column("reason"),
    );
    let mut signers = BTreeSet::new();
    let mut lines = BTreeSet::new();
    let mut sent = 0;
    for row in report.records() {
        let row = row.unwrap();
        // Every letter is listed: the court's were sent.
        if &row[recipient] == "supreme-court" {
            assert_eq!(&row[status], "sent");
            sent += 1;
            continue;
        }
        assert_eq!(&row[recipient], "foreign-ministry");
        assert_eq!(&row[to], MINISTRY);
        assert_eq!(&row[status], "refused permanently");
        assert!(
            row[reason].contains("550") && row[reason].contains("no such user"),
            "reason: {:?}",
            &row[reason]
        );
        let n: u64 = row[line].parse().unwrap();
        assert_eq!(row[signer], format!("Member {}", n - 1), "CSV line {n}");
        assert!(signers.insert(row[signer].to_string()), "listed twice");
        lines.insert(n);
    }
    assert_eq!(lines, (2..=61).collect());
    assert_eq!(sent, 60, "the report lists the letters sent too");
}

/// Killed mid-run (SIGKILL), then run again with the same journal: every
/// letter arrives once, but the one in flight, which the second run calls
/// uncertain and does not send again.
#[test]
fn batch_killed_run_resumes_from_the_journal() {
    let b = TestCampaign::sendable();
    b.work_file("members.csv", members_csv(300));
    let mut server =
        SmtpServer::start(ServerConfig::default().delay_per_message(Duration::from_millis(20)));
    let mut child = send(&b, &server, "members.csv")
        .args(["--to", "supreme-court"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let reached = server.wait_for_received(50, Duration::from_secs(120));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(reached, "the first run never delivered 50 letters");
    let first = server.received().len();
    assert!(first < 300, "the first run finished before it was killed");

    let out = send(&b, &server, "members.csv")
        .args(["--to", "supreme-court"])
        .run();
    let summary = out.json();
    // The letter in flight when the run was killed is uncertain: reported,
    // not sent again (exit 3). Everything else is done (exit 0).
    let uncertain = summary["uncertain"].as_u64().unwrap();
    assert!(uncertain <= 1, "{summary}");
    let code = if uncertain == 0 { 0 } else { 3 };
    assert_eq!(out.code, code, "{out:?}");
    let already = summary["already_sent"].as_u64().unwrap();
    assert!(
        already + uncertain >= first as u64,
        "{already} already sent, the server had {first}"
    );

    // Let the server finish a reply it was delaying, then stop it.
    std::thread::sleep(Duration::from_millis(100));
    server.stop();
    let received = server.received();
    let counts = tally(&received);
    let all = expected_pairs(300, &[COURT]);
    let got: BTreeSet<_> = counts.keys().cloned().collect();
    assert!(
        got.is_subset(&all) && all.len() - got.len() <= uncertain as usize,
        "the two runs together deliver every letter but the uncertain one"
    );
    let duplicates: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(duplicates.is_empty(), "no letter twice: {duplicates:?}");
    if uncertain > 0 {
        out.says("uncertain");
    }
}

/// The signers' names a batch `write --format json` wrote, in order.
fn signers(out: &str) -> Vec<String> {
    out.lines()
        .map(|l| json(l)["signer"].as_str().unwrap().to_string())
        .collect()
}

/// Spreadsheet exports: BOM, `;`, quotes with `,` `;` and `""`, empty lines,
/// and bad rows, every one reported with its line before anything is done.
#[test]
fn batch_csv_edge_cases_and_every_bad_row_reported() {
    let b = TestCampaign::sendable();
    let csv = concat!(
        "\u{feff}Name;Organisation;E-mail;Branch\n", // 1
        "\"Bloggs, Jo; \"\"Red\"\"\";\"Unite, Branch 42\";jo@union.org;42\n", // 2
        "\n",                                        // 3
        "Ann Lee;;ann@union.org;7\n",                // 4
        ";Unite;nobody@union.org;1\n",               // 5: empty name
        "Bad Email;;not-an-email;2\n",               // 6: invalid email
        "\"Evil\r\nBcc: victim@example.org\";;evil@union.org;3\n", // 7-8: CR LF in the name
        "Zed Ong;;zed@union.org;9\n",                // 9
        "\n",                                        // 10
        "  Bo Ek  ;;bo@union.org;\n",                // 11
    );
    b.work_file("m.csv", csv);

    let out = b
        .campaign_cmd()
        .args(["write", "--signatories", "m.csv", "--to", "supreme-court"])
        .args(["--out-dir", "out"])
        .exits(2);
    out.no_stdout();
    assert!(!b.work().join("out").exists(), "nothing is written");
    out.says("3 bad rows");
    let listed = |stderr: &str| -> Vec<u64> {
        stderr
            .lines()
            .filter_map(|l| l.split_once("m.csv:"))
            .map(|(_, rest)| rest.split(':').next().unwrap().parse().unwrap())
            .collect()
    };
    assert_eq!(listed(&out.stderr), [5, 6, 7], "{out:?}");
    let line = |n: u64| {
        out.stderr
            .lines()
            .find(|l| l.contains(&format!("m.csv:{n}:")))
            .unwrap()
            .to_lowercase()
    };
    assert!(line(5).contains("name is empty"), "{}", line(5));
    assert!(line(6).contains("not-an-email"), "{}", line(6));
    assert!(line(7).contains("carriage return"), "{}", line(7));

    // --skip-invalid: the good rows are written, the bad ones listed.
    let out = b
        .campaign_cmd()
        .args(["write", "--signatories", "m.csv", "--to", "supreme-court"])
        .args(["--skip-invalid", "--format", "json", "--email", ACCOUNT])
        .succeeds();
    assert_eq!(listed(&out.stderr), [5, 6, 7], "{out:?}");
    assert_eq!(
        signers(&out.stdout),
        ["Bloggs, Jo; \"Red\"", "Ann Lee", "Zed Ong", "Bo Ek"],
        "the good rows, in order, quotes and separators intact"
    );
    assert!(!out.stdout.contains("victim@example.org"));

    // Tab and comma separated lists work too.
    b.work_file(
        "t.tsv",
        "name\temail\n\"Tab, Person\"\ttab@union.org\nPlain\tplain@union.org\n",
    );
    b.work_file(
        "c.csv",
        "name,email\n\"Comma; \"\"Q\"\" Person\",c@union.org\nPlain,plain@union.org\n",
    );
    for (file, first) in [("t.tsv", "Tab, Person"), ("c.csv", "Comma; \"Q\" Person")] {
        let out = b
            .campaign_cmd()
            .args(["write", "--signatories", file, "--to", "supreme-court"])
            .args(["--format", "json", "--email", ACCOUNT])
            .succeeds();
        assert_eq!(signers(&out.stdout), [first, "Plain"], "{file}");
    }
}

#[test]
fn batch_group_is_one_petition_per_recipient() {
    let b = TestCampaign::sendable();
    let names: Vec<String> = (1..=50).map(|i| format!("Member {i:03}")).collect();
    let mut csv = String::from("name,email\n");
    for (i, name) in names.iter().enumerate() {
        csv.push_str(&format!("{name},{}\n", member_email(i + 1)));
    }
    b.work_file("members.csv", csv);

    let out = b
        .campaign_cmd()
        .args(["write", "--signatories", "members.csv", "--group"])
        .args(["--to", "supreme-court", "--date", "2026-11-22"])
        .succeeds();
    let letter_text = &out.stdout;
    assert!(!letter_text.contains('\x0c'), "one letter, no page break");
    assert_eq!(
        letter_text
            .matches("Уважаемый Председатель Верховного Суда!")
            .count(),
        1
    );
    assert!(
        letter_text.contains("Мы, нижеподписавшиеся,"),
        "{letter_text}"
    );
    for name in &names {
        assert_eq!(letter_text.matches(name.as_str()).count(), 1, "{name}");
    }

    let mut server = SmtpServer::start(ServerConfig::default());
    let out = send(&b, &server, "members.csv")
        .args(["--group", "--to", "supreme-court"])
        .args(["--to", "foreign-ministry"])
        .succeeds();
    assert_eq!(out.json()["sent"], 2);
    server.stop();
    let received = server.received();
    let mut to: Vec<String> = received.iter().map(|r| r.mail().to.concat()).collect();
    to.sort();
    assert_eq!(to, [MINISTRY, COURT]);
    for r in &received {
        let l = r.mail();
        assert_eq!(
            (l.from_name.as_str(), l.from.concat()),
            (BRANCH, ACCOUNT.into())
        );
        assert!(l.member.is_empty(), "a petition has no member Reply-To");
        for name in &names {
            assert!(
                l.body.contains(name.as_str()),
                "{name} missing from {}",
                l.to.concat()
            );
        }
    }
}

#[test]
fn batch_out_dir_names_are_unique_and_safe() {
    let b = TestCampaign::sendable();
    let members = [
        "../evil",
        "Ann/Bo",
        "Әйнұр",
        "Jo Bloggs",
        "Jo Bloggs",
        "..",
        "CON",
    ];
    // Two members of the same name, told apart by their addresses.
    let mut csv = String::from("name,email\n");
    for (i, name) in members.iter().enumerate() {
        csv.push_str(&format!("\"{name}\",m{i}@union.org\n"));
    }
    b.work_file("members.csv", csv);
    let write = || {
        b.campaign_cmd()
            .args(["write", "--signatories", "members.csv"])
            .args(["--to", "supreme-court", "--to", "foreign-ministry"])
            .args(["--out-dir", "out/", "--date", "2026-11-22"])
            .run()
    };
    let run = write();
    assert_eq!(run.code, 0, "{run:?}");

    let out = b.work().join("out");
    let files = |dir: &Path| -> BTreeMap<String, String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                assert!(e.file_type().unwrap().is_file());
                (
                    e.file_name().into_string().unwrap(),
                    std::fs::read_to_string(e.path()).unwrap(),
                )
            })
            .collect()
    };
    let written = files(&out);
    assert_eq!(written.len(), members.len() * 2, "{:?}", written.keys());
    for name in written.keys() {
        assert!(
            name.ends_with(".txt")
                && !name.starts_with('.')
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-.".contains(c)),
            "unsafe file name {name:?}"
        );
    }
    // Nothing escaped the folder.
    let work: BTreeSet<String> = std::fs::read_dir(b.work())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(work, ["members.csv", "out"].map(String::from).into());
    // Each member has exactly one letter per recipient, signed by them.
    for recipient in ["Уважаемый Председатель Верховного Суда!", "Dear Minister,"]
    {
        for name in members {
            let signed = written
                .values()
                .filter(|t| t.contains(recipient) && t.trim_end().ends_with(name))
                .count();
            let expected = members.iter().filter(|m| **m == name).count();
            assert_eq!(signed, expected, "{name} to {recipient}");
        }
    }

    // Again without --force: nothing written, exit 2.
    let before = files(&out);
    let mtimes: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().modified().unwrap())
        .collect();
    let run = write();
    assert_eq!(run.code, 2, "{run:?}");
    run.says("--force");
    assert_eq!(files(&out), before);
    let after: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().modified().unwrap())
        .collect();
    assert_eq!(after, mtimes, "no file was touched");
}

/// `--rate 300/min`: one message every 200 ms, evenly, not in bursts (the
/// journal times may be late by up to half a gap on a loaded machine).
#[test]
fn batch_rate_spaces_messages_evenly() {
    let b = TestCampaign::sendable();
    b.work_file("members.csv", members_csv(10));
    let mut server = SmtpServer::start(ServerConfig::default());
    let start = Instant::now();
    let mut child = send(&b, &server, "members.csv")
        .args(["--to", "supreme-court", "--rate", "300/min"])
        .args(["--connections", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut seen = Vec::new();
    while seen.len() < 10 && start.elapsed() < Duration::from_secs(60) {
        let n = server.received().len();
        while seen.len() < n {
            seen.push(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "exit {status}");
    server.stop();
    assert_eq!(server.received().len(), 10);
    // Observed times are never early: the 10th message cannot arrive
    // before nine intervals have passed since the command started.
    let last = *seen.last().unwrap();
    assert!(last >= Duration::from_millis(1700), "all 10 in {last:?}");

    // The spacing itself, from the journal's attempt times (taken right
    // after each message's slot), independent of this thread's polling.
    let journal = std::fs::read_to_string(b.journal()).unwrap();
    let mut times: Vec<jiff::Timestamp> = journal
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["event"] == "attempt")
        .map(|r| r["time"].as_str().unwrap().parse().unwrap())
        .collect();
    times.sort();
    assert_eq!(times.len(), 10);
    for pair in times.windows(2) {
        let gap = pair[1].duration_since(pair[0]);
        assert!(
            gap >= jiff::SignedDuration::from_millis(100),
            "two messages {gap:?} apart: {times:?}"
        );
    }
    let span = times[9].duration_since(times[0]);
    assert!(
        span >= jiff::SignedDuration::from_millis(1700),
        "span {span:?}"
    );
}

/// A long list streams: 20,000 members as mbox on standard output, read as
/// it comes. (Peak memory is measured by the benchmark, not here.)
#[test]
fn batch_twenty_thousand_members_stream_to_mbox() {
    const N: usize = 20_000;
    let b = TestCampaign::sendable();
    b.work_file("members.csv", members_csv(N));
    let mut child = b
        .campaign_std_cmd()
        .args(["write", "--signatories", "members.csv", "--format", "mbox"])
        .args(["--email", ACCOUNT, "--organisation", BRANCH])
        .args(["--to", "supreme-court", "--to", "foreign-ministry"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut separators = 0;
    let mut first = None;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if line.starts_with("From ") {
            separators += 1;
            first.get_or_insert(line);
        }
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "exit {status}");
    assert_eq!(separators, N * 2);
    assert!(first.unwrap().starts_with(&format!("From {ACCOUNT} ")));
}

/// Bug: with a fixed clock, a petition of 200, a petition of 1 and a
/// member's own letter had the same Message-ID. It now comes from the
/// journal key, which tells them apart.
#[test]
fn petitions_and_personal_letters_have_distinct_message_ids() {
    let b = TestCampaign::sendable();
    b.work_file("one.csv", members_csv(1));
    b.work_file("many.csv", members_csv(200));
    let id = |args: &[&str]| {
        let out = b
            .campaign_cmd()
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .args(["write", "--to", "supreme-court", "--format", "json"])
            .args(["--organisation", BRANCH])
            .args(args)
            .succeeds();
        json(out.stdout.lines().next().unwrap())["message_id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let batch = |csv: &str, group: bool| {
        let mut args = vec!["--email", ACCOUNT, "--signatories", csv];
        if group {
            args.push("--group");
        }
        id(&args)
    };
    let petition_200 = batch("many.csv", true);
    let petition_1 = batch("one.csv", true);
    let member_1 = batch("one.csv", false);
    let personal = id(&["--name", "Member 1", "--email", &member_email(1)]);
    let all = BTreeSet::from([&petition_200, &petition_1, &member_1, &personal]);
    assert_eq!(all.len(), 4, "{all:?}");
    assert_eq!(
        petition_200,
        batch("many.csv", true),
        "the same inputs, the same ID"
    );
}

/// Members of every shape: with an organisation or not, a name with a
/// comma, a Cyrillic name, one without an address.
const MIXED: [&str; 5] = [
    "Jo Bloggs,Unite Branch 42,jo@union.org",
    "Ann Lee,,ann@union.org",
    "\"O'Neill, Sam\",Unite,",
    "Наталья Соколова,,nat@union.org",
    "Zed Ong,,zed@union.org",
];

/// Each member's letter in a long list is the letter of a list holding
/// only that member, byte for byte, in every format (whatever way the
/// program finds to make the later letters of a stream faster).
#[test]
fn batch_each_letter_is_the_members_letter_alone() {
    let b = TestCampaign::sendable();
    let members = MIXED;
    b.work_file(
        "all.csv",
        format!("name,organisation,email\n{}\n", members.join("\n")),
    );
    for format in ["mbox", "json", "text"] {
        let run = |csv: &str| {
            b.campaign_cmd()
                .env("SOURCE_DATE_EPOCH", "1795305600")
                .args(["write", "--signatories", csv, "--to", "supreme-court"])
                .args(["--format", format, "--email", ACCOUNT, "--lang", "en"])
                .succeeds()
                .stdout
        };
        let split = |out: &str| -> Vec<String> {
            match format {
                "mbox" => out
                    .split_inclusive('\n')
                    .fold(Vec::<String>::new(), |mut acc, line| {
                        if line.starts_with("From sec@union.org ") || acc.is_empty() {
                            acc.push(String::new());
                        }
                        acc.last_mut().unwrap().push_str(line);
                        acc
                    }),
                "json" => out.split_inclusive('\n').map(str::to_string).collect(),
                _ => out.split("\u{c}\n").map(str::to_string).collect(),
            }
        };
        let all = run("all.csv");
        let letters = split(&all);
        assert_eq!(letters.len(), members.len(), "{format}: {all}");
        for (i, member) in members.iter().enumerate() {
            let csv = format!("one-{i}.csv");
            b.work_file(&csv, format!("name,organisation,email\n{member}\n"));
            assert_eq!(
                letters[i],
                run(&csv),
                "{format}: member {i} differs from its letter alone"
            );
        }
    }
}

/// A batch whose first 150 rows are bad (left out with --skip-invalid)
/// writes what the good rows alone give, in their order, with no separator
/// before the stream's first letter (mbox parsed as mail, its body decoded).
#[test]
fn a_batch_after_bad_rows_writes_what_the_good_rows_alone_give() {
    const GOOD: usize = 700;
    let b = TestCampaign::sendable();
    let mut bad_first = String::from("name,organisation,email,country\n");
    for i in 1..=150 {
        bad_first.push_str(&format!(",,nobody{i}@union.org,GB\n"));
    }
    let good = members_csv(GOOD);
    bad_first.push_str(good.split_once('\n').unwrap().1);
    b.work_file("bad-first.csv", bad_first);
    b.work_file("good.csv", good);
    for format in ["text", "mbox", "json"] {
        let run = |csv: &str| {
            let out = b.work().join(format!("{csv}.{format}"));
            b.campaign_cmd()
                .env("SOURCE_DATE_EPOCH", "1795305600")
                .args(["write", "--signatories", csv, "--skip-invalid", "--force"])
                .args(["--to", "supreme-court", "--format", format])
                .args(["--email", ACCOUNT, "-o"])
                .arg(&out)
                .succeeds();
            std::fs::read_to_string(out).unwrap()
        };
        let alone = run("good.csv");
        let after_bad = run("bad-first.csv");
        assert!(!after_bad.starts_with('\u{c}') && !after_bad.starts_with('\n'));
        assert_eq!(after_bad, alone, "{format}");
        let letters: Vec<&str> = match format {
            "text" => alone.split("\u{c}\n").collect(),
            "json" => alone.lines().collect(),
            _ => alone.split("\nFrom sec@union.org ").collect(),
        };
        assert_eq!(letters.len(), GOOD, "{format}");
        for (i, letter) in letters.iter().enumerate() {
            let who = match format {
                "text" => format!("\nMember {}\n", i + 1),
                _ => member_email(i + 1),
            };
            let shown = if format == "mbox" {
                let raw = letter.split_once('\n').unwrap().1;
                let message = MessageParser::default().parse(raw.as_bytes()).unwrap();
                assert_eq!(
                    message.to().unwrap().first().unwrap().address().unwrap(),
                    COURT
                );
                message.body_text(0).unwrap().into_owned()
            } else {
                letter.to_string()
            };
            assert!(
                shown.contains(&who),
                "{format}: letter {i} out of order: {letter}"
            );
        }
    }
}

/// A re-run whose only letter left is uncertain previews nothing (it said
/// "── 1 of 0"): the preview lists only the letters this run sends, and
/// with --resend-uncertain it lists that one, "1 of 1".
#[test]
fn a_rerun_previews_only_the_letters_it_sends() {
    let server = SmtpServer::start(ServerConfig::default().drop_after_data([1]));
    let b = TestCampaign::sendable();
    b.work_file("m.csv", members_csv(1));
    let court = ["--to", "supreme-court"];
    let first = send(&b, &server, "m.csv").with(court).run();
    assert_eq!(first.code, 3, "{first:?}");
    first.says("uncertain");

    let again = b.send().members("m.csv").smtp(&server).with(court);
    let again = again.with(["--dry-run"]).run();
    assert_eq!(again.code, 3, "{again:?}");
    again.says("uncertain");
    assert!(!again.stderr.contains("── 1 of"), "{again:?}");

    let resend = b.send().members("m.csv").smtp(&server).with(court);
    let resend = resend.with(["--dry-run", "--resend-uncertain"]).run();
    assert_eq!(resend.code, 0, "{resend:?}");
    resend.says("── 1 of 1:");
    let mut server = server;
    server.stop();
    assert_eq!(server.received().len(), 1);
}
