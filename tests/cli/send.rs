//! `send`: real deliveries to the in-process SMTP server and to a fake
//! sendmail program, checked from the outside (envelope, headers, journal,
//! exit codes, what is printed).
//!
//! Every test copies the repository's campaign into a temp folder with the
//! placeholder domain replaced by a real-looking one, starts its own server
//! (stopped on drop) and runs the binary with a clean environment.

use std::path::PathBuf;

use serde_json::Value;

use crate::smtp_server::{Received, ServerConfig, SmtpServer};
use crate::support::{
    DOMAIN, EMAIL, NAME, PASSWORD, Runs, SIGNER, Sending, TestCampaign, mail, sendmail_calls,
    serving,
};

const PRESIDENTIAL_PHONE: &str = "+7 7172 74 55 24";

/// `send --yes` of the one signer's letters through `server`.
fn send_to(f: &TestCampaign, server: &SmtpServer) -> Sending {
    f.send().signer().smtp(server).with(["--yes"])
}

/// `send --yes` of the one signer's letters through the sendmail-like
/// `program`.
fn via_sendmail(f: &TestCampaign, program: &std::path::Path) -> Sending {
    f.send().signer().sendmail(program).with(["--yes"])
}

fn addr(local: &str) -> String {
    format!("{local}@{DOMAIN}")
}

/// The envelope each email recipient of `sokolova` must get (GB embassy):
/// To first, then the recipient's cc, then the campaign's copies_to.
fn expected_envelopes() -> Vec<Vec<String>> {
    let copies = [
        addr("campaign-kazakhstan"),
        addr("campaign-kazakhstan-copies"),
    ];
    let with_copies = |mut v: Vec<String>| {
        v.extend(copies.iter().cloned());
        v
    };
    vec![
        with_copies(vec![
            addr("supreme-court"),
            addr("supreme-court-copy-1"),
            addr("supreme-court-copy-2"),
        ]),
        with_copies(vec![addr("foreign-ministry")]),
        with_copies(vec![addr("embassy-gb")]),
    ]
}

/// Envelope recipients of every received message, sorted by To.
fn envelopes(received: &[Received]) -> Vec<Vec<String>> {
    let mut v: Vec<Vec<String>> = received.iter().map(|r| r.rcpt_to.clone()).collect();
    v.sort();
    v
}

fn sorted(mut v: Vec<Vec<String>>) -> Vec<Vec<String>> {
    v.sort();
    v
}

/// Checks one delivered message against its envelope: From is the signer,
/// To is the first envelope recipient, Cc the required copies, no Bcc.
fn check_message(r: &Received) {
    assert_eq!(r.mail_from, EMAIL);
    let p = r.mail();
    assert_eq!(p.from, [EMAIL]);
    assert_eq!(p.to, r.rcpt_to[..1]);
    let copies: Vec<String> = r.rcpt_to[1..]
        .iter()
        .filter(|a| *a != EMAIL)
        .cloned()
        .collect();
    assert_eq!(p.cc, copies, "Cc header = required copies");
    assert!(!p.has_bcc, "no Bcc header in delivered data:\n{}", r.text());
    // The court reads Russian (its `language`); the others English.
    let (subject, named) = if r.rcpt_to[0].starts_with("supreme-court") {
        (
            "Наталья Соколова, юрист профсоюза нефтяников Мангистау: о пересмотре приговора",
            "Натальи Соколовой",
        )
    } else {
        (
            "Natalia Sokolova, lawyer of the Mangystau oil workers' union: a review of her conviction",
            "Natalia Sokolova",
        )
    };
    assert_eq!(p.subject, subject);
    assert!(!p.message_id.is_empty());
    assert!(p.body.contains(named), "{}", p.body);
    assert!(p.body.contains(NAME), "signed: {}", p.body);
}

#[test]
fn loopback_send_delivers_each_letter_with_every_copy() {
    let (f, server) = serving(ServerConfig::default());
    let out = send_to(&f, &server).succeeds();

    let received = server.received();
    assert_eq!(envelopes(&received), sorted(expected_envelopes()));
    for r in &received {
        check_message(r);
        assert!(!r.tls, "the test server offers no STARTTLS");
        assert_eq!(r.auth_user, None);
    }
    let ids: std::collections::HashSet<String> =
        received.iter().map(|r| r.mail().message_id).collect();
    assert_eq!(ids.len(), 3, "distinct Message-IDs");

    // The phone-only recipient is on the call sheet, on stdout.
    out.prints("Call sheet");
    out.prints(PRESIDENTIAL_PHONE);
    out.prints("presidential-administration");
    out.prints("Sent 3, already sent 0");

    let sent = f.journal_events("sent");
    assert_eq!(sent.len(), 3, "{}", f.journal_text());
}

#[test]
fn bcc_me_is_in_the_envelope_but_not_the_headers() {
    let (f, server) = serving(ServerConfig::default());
    send_to(&f, &server).arg("--bcc-me").succeeds();

    let received = server.received();
    let expected: Vec<Vec<String>> = expected_envelopes()
        .into_iter()
        .map(|mut v| {
            v.push(EMAIL.to_string());
            v
        })
        .collect();
    assert_eq!(envelopes(&received), sorted(expected));
    for r in &received {
        check_message(r);
        let p = r.mail();
        assert!(!p.to.contains(&EMAIL.to_string()));
        assert!(!p.cc.contains(&EMAIL.to_string()));
        assert!(
            !r.text().to_ascii_lowercase().contains("\nbcc:"),
            "{}",
            r.text()
        );
    }
}

#[test]
fn a_second_run_sends_nothing_and_resend_sends_again() {
    let (f, server) = serving(ServerConfig::default());
    send_to(&f, &server).succeeds();
    assert_eq!(server.received().len(), 3);

    let again = send_to(&f, &server).succeeds();
    assert_eq!(server.received().len(), 3, "nothing new: {again:?}");
    assert_eq!(
        again.stderr.matches("already sent:").count(),
        3,
        "{again:?}"
    );
    again.says("--resend");
    again.prints("Sent 0, already sent 3");

    let resent = send_to(&f, &server).arg("--resend").succeeds();
    let received = server.received();
    assert_eq!(received.len(), 6, "{resent:?}");
    assert_eq!(envelopes(&received[3..]), sorted(expected_envelopes()));
    resent.prints("Sent 3, already sent 0");
}

#[test]
fn dry_run_sends_nothing() {
    let (f, server) = serving(ServerConfig::default());
    let out = f.send().signer().smtp(&server).arg("--dry-run").succeeds();
    out.says("dry run");
    out.prints("Dry run: 3 would be sent");
    // The preview shows what would go out.
    out.says(&addr("supreme-court-copy-2"));
    server.assert_untouched();
    assert!(
        !f.journal_text().contains("\"sent\""),
        "{}",
        f.journal_text()
    );

    // And without any transport configured.
    let out = f.send().signer().arg("--dry-run").succeeds();
    out.prints("Dry run: 3 would be sent");
}

#[test]
fn starttls_with_the_test_ca_is_used() {
    let (f, server) = serving(ServerConfig::default().require_tls());
    let ca = f.path("ca.pem");
    std::fs::write(&ca, server.ca_pem()).unwrap();
    send_to(&f, &server).arg("--ca-cert").arg(&ca).succeeds();
    let received = server.received();
    assert_eq!(envelopes(&received), sorted(expected_envelopes()));
    assert!(received.iter().all(|r| r.tls), "all over TLS");
}

#[test]
fn an_untrusted_certificate_stops_the_run_with_advice() {
    let (f, server) = serving(ServerConfig::default().require_tls());
    let out = send_to(&f, &server).exits(3);
    out.says("--ca-cert");
    out.says("TLS");
    assert!(server.received().is_empty());
    assert!(
        !f.journal_text().contains("\"sent\""),
        "{}",
        f.journal_text()
    );
}

/// A successful authenticated run through `server`, with `extra` flags.
fn auth_send(f: &TestCampaign, server: &SmtpServer, extra: &[&str]) -> crate::support::Run {
    let url = format!("smtp://jo@127.0.0.1:{}", server.port());
    f.send()
        .signer()
        .args(["--smtp", &url, "--yes", "--format", "json"])
        .args(extra)
        .env("PROTEST_LETTER_SMTP_PASSWORD", PASSWORD)
        .run()
}

#[test]
fn auth_uses_the_password_from_the_environment() {
    let (f, server) = serving(ServerConfig::default().auth("jo", PASSWORD));
    let out = auth_send(&f, &server, &[]);
    assert_eq!(out.code, 0, "{out:?}");
    let received = server.received();
    assert_eq!(received.len(), 3);
    assert!(
        received
            .iter()
            .all(|r| r.auth_user.as_deref() == Some("jo"))
    );
    assert!(!out.all().contains(PASSWORD), "{out:?}");
    assert!(!f.journal_text().contains(PASSWORD));
    out.counts(&[("sent", 3)]);
}

#[test]
fn verbose_never_shows_the_password() {
    let (f, server) = serving(ServerConfig::default().auth("jo", PASSWORD));
    let out = auth_send(&f, &server, &["--verbose"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(server.received().len(), 3);
    // Verbose says where it sends and what the server said, not the secret.
    out.says("sending through smtp://jo@127.0.0.1");
    out.says("sent sokolova");
    assert!(!out.all().contains(PASSWORD), "{out:?}");
    assert!(!f.journal_text().contains(PASSWORD));
}

#[test]
fn a_wrong_password_stops_the_run_without_showing_it() {
    let (f, server) = serving(ServerConfig::default().auth("jo", PASSWORD));
    let url = format!("smtp://jo@127.0.0.1:{}", server.port());
    let wrong = "wr0ng-Passw0rd-xyz";
    let out = f
        .send()
        .signer()
        .args(["--smtp", &url, "--yes", "--verbose", "--format", "json"])
        .env("PROTEST_LETTER_SMTP_PASSWORD", wrong)
        .exits(3);
    out.says("refused the login");
    out.says("`jo`");
    assert!(server.received().is_empty());
    for secret in [wrong, PASSWORD] {
        assert!(!out.all().contains(secret), "{out:?}");
        assert!(!f.journal_text().contains(secret), "{}", f.journal_text());
    }
    // The JSON summary is still printed: nothing was sent.
    out.counts(&[("sent", 0), ("not_attempted", 3)]);
}

#[test]
fn a_password_in_the_url_is_refused_and_not_echoed() {
    let (f, server) = serving(ServerConfig::default().auth("jo", "secret"));
    let url = format!("smtp://jo:secret@127.0.0.1:{}", server.port());
    let out = f.send().signer().args(["--smtp", &url, "--yes"]).exits(2);
    out.says("PROTEST_LETTER_SMTP_PASSWORD");
    assert!(!out.all().contains("secret"), "{out:?}");
    server.assert_untouched();
}

#[test]
fn a_refused_recipient_fails_that_letter_only() {
    let f = TestCampaign::sendable();
    let ministry = addr("foreign-ministry");
    let server = SmtpServer::start(ServerConfig::default().reject_rcpt(&ministry));
    let out = send_to(&f, &server).args(["--format", "json"]).exits(1);

    let received = server.received();
    let tos: Vec<&str> = received.iter().map(|r| r.rcpt_to[0].as_str()).collect();
    assert_eq!(received.len(), 2, "{tos:?}");
    assert!(!tos.contains(&ministry.as_str()));
    received.iter().for_each(check_message);
    out.says("refused sokolova → foreign-ministry");

    let summary = out.counts(&[("sent", 2), ("refused_permanently", 1)]);
    let letter = summary["letters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["recipient"] == "foreign-ministry")
        .unwrap();
    assert_eq!(letter["status"], "refused_permanently");
    assert!(
        letter["reply"].as_str().unwrap().contains("550"),
        "{letter}"
    );

    let failed = f.journal_events("failed");
    assert_eq!(failed.len(), 1, "{}", f.journal_text());
    assert!(
        failed[0]["key"]
            .as_str()
            .unwrap()
            .starts_with("sokolova|foreign-ministry|")
    );

    // A failed letter is not "sent": the next run tries it again.
    let again = send_to(&f, &server).args(["--format", "json"]).exits(1);
    again.counts(&[("already_sent", 2), ("refused_permanently", 1)]);
}

#[test]
fn a_temporary_failure_is_retried_and_delivered_once() {
    let (f, server) = serving(ServerConfig::default().temp_fail([1]));
    let out = send_to(&f, &server).succeeds();
    out.says("will retry");
    assert_eq!(server.attempts(), 4, "one retry");
    let received = server.received();
    assert_eq!(envelopes(&received), sorted(expected_envelopes()));
    received.iter().for_each(check_message);
    out.prints("Sent 3,");
}

#[test]
fn without_a_terminal_or_yes_nothing_is_sent() {
    let (f, server) = serving(ServerConfig::default());
    let out = f.send().signer().smtp(&server).exits(2);
    out.says("--yes");
    out.says("refusing");
    server.assert_untouched();
}

#[test]
fn placeholder_addresses_are_refused_naming_the_recipient() {
    let (f, server) = serving(ServerConfig::default());
    // The built-in campaign: the working folder holds no recipients.toml.
    let out = f
        .std_cmd()
        .arg("send")
        .args(SIGNER)
        .arg("--journal")
        .arg(f.journal())
        .args(["--smtp", &server.url()])
        // Past the example's deadline on purpose: the placeholders still stop it.
        .arg("--after-deadline")
        .arg("--yes")
        .exits(2);
    out.says("placeholder");
    for id in ["supreme-court", "foreign-ministry", "embassy"] {
        assert!(out.stderr.contains(&format!("`{id}`")), "{id}: {out:?}");
    }
    out.says("supreme-court@placeholder.invalid");
    out.says("--campaign");
    server.assert_untouched();
}

#[test]
fn json_summary_counts_match() {
    let (f, server) = serving(ServerConfig::default());
    let out = send_to(&f, &server).args(["--format", "json"]).succeeds();
    let s: Value = serde_json::from_str(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(s["dry_run"], false);
    assert_eq!(s["sent"], 3);
    assert_eq!(s["already_sent"], 0);
    assert_eq!(s["refused_temporarily"], 0);
    assert_eq!(s["refused_permanently"], 0);
    assert_eq!(s["not_attempted"], 0);
    assert_eq!(s["not_emailable"], 1);
    assert_eq!(
        s["journal"].as_str().map(PathBuf::from),
        Some(f.journal()),
        "{s}"
    );
    let letters = s["letters"].as_array().unwrap();
    assert_eq!(letters.len(), 4);
    let sent: Vec<&Value> = letters.iter().filter(|l| l["status"] == "sent").collect();
    assert_eq!(sent.len(), 3);
    let received = server.received();
    for l in &sent {
        assert_eq!(l["letter"], "sokolova");
        let id = l["message_id"].as_str().unwrap();
        assert!(
            received
                .iter()
                .any(|r| format!("<{}>", r.mail().message_id) == id),
            "{id}"
        );
    }
    let call = &s["call_sheet"].as_array().unwrap()[..];
    assert_eq!(call.len(), 1);
    assert_eq!(call[0]["recipient"], "presidential-administration");
    assert_eq!(call[0]["phone"], PRESIDENTIAL_PHONE);
    assert!(!call[0]["talking_points"].as_array().unwrap().is_empty());

    let again = send_to(&f, &server).args(["--format", "json"]).run();
    let s: Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(
        (s["sent"].clone(), s["already_sent"].clone()),
        (0.into(), 3.into())
    );
    assert!(
        s["letters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["to"].is_string())
            .all(|l| l["status"] == "already_sent"),
        "{s}"
    );
}

#[test]
fn an_interrupted_attempt_is_uncertain_and_resent_only_when_asked() {
    let (f, server) = serving(ServerConfig::default());
    // What a run killed mid-delivery leaves: an attempt with no answer.
    // Key format: journal_key in src/letters/mod.rs (letter|recipient|To|
    // signer identity, which is `email:` and the normalised email for one
    // signer with an email; see src/signers/identity.rs).
    let key = format!(
        "sokolova|foreign-ministry|{}|email:{}",
        addr("foreign-ministry"),
        EMAIL.to_lowercase()
    );
    // It is the key the program itself writes: a clear failure here if the
    // format changes, rather than a confusing one below.
    {
        let probe = SmtpServer::start(ServerConfig::default());
        let probe_journal = f.path("probe-journal.jsonl");
        f.send_with_journal(&probe_journal)
            .signer()
            .smtp(&probe)
            .arg("--yes")
            .succeeds();
        let text = std::fs::read_to_string(&probe_journal).unwrap();
        assert!(
            text.contains(&serde_json::to_string(&key).unwrap()),
            "journal key format changed? expected {key:?} in\n{text}"
        );
    }
    let record = serde_json::json!({
        "time": "2026-01-01T10:00:00Z",
        "event": "attempt",
        "key": key,
        "message_id": "<0123456789abcdef.1767261600.000000000@solidarity-union.org>",
    });
    std::fs::write(f.journal(), format!("{record}\n")).unwrap();

    // Never sent again on its own: the server may have it.
    let out = send_to(&f, &server).args(["--format", "json"]).exits(3);
    assert_eq!(out.stderr.matches("uncertain:").count(), 1, "{out:?}");
    out.says("foreign-ministry");
    out.says("--resend-uncertain");
    assert_eq!(server.received().len(), 2);
    out.counts(&[("uncertain", 1), ("sent", 2)]);

    // --resend-uncertain sends it, with the Message-ID of the first attempt.
    let out = send_to(&f, &server)
        .args(["--format", "json", "--resend-uncertain"])
        .succeeds();
    assert_eq!(envelopes(&server.received()), sorted(expected_envelopes()));
    let resent = &server.received()[2];
    assert_eq!(resent.rcpt_to[0], addr("foreign-ministry"));
    assert_eq!(
        resent.mail().message_id,
        "0123456789abcdef.1767261600.000000000@solidarity-union.org"
    );
    let s: Value = serde_json::from_str(&out.stdout).unwrap();
    let flagged: Vec<&Value> = s["letters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["was_uncertain"] == true)
        .collect();
    assert_eq!(flagged.len(), 1, "{s}");
    assert_eq!(flagged[0]["recipient"], "foreign-ministry");
    assert_eq!(flagged[0]["status"], "sent");

    // Now it is sent, not uncertain.
    let again = send_to(&f, &server).succeeds();
    assert!(!again.stderr.contains("uncertain"), "{again:?}");
    assert_eq!(server.received().len(), 3);
}

#[test]
fn sendmail_gets_the_envelope_as_arguments_and_the_message_on_stdin() {
    let f = TestCampaign::sendable();
    let (program, calls) = f.fake_sendmail("exit 0");
    let out = via_sendmail(&f, &program).succeeds();
    let calls = sendmail_calls(&calls);
    assert_eq!(calls.len(), 3, "{out:?}");
    let mut envelopes = Vec::new();
    for (args, stdin) in &calls {
        assert_eq!(args[..4], ["-i", "-f", EMAIL, "--"], "{args:?}");
        let recipients = args[4..].to_vec();
        let p = mail(stdin);
        assert_eq!(p.to, recipients[..1]);
        assert_eq!(p.cc, recipients[1..]);
        assert_eq!(p.from, [EMAIL]);
        assert!(!p.has_bcc);
        assert!(p.body.contains("Natalia Sokolova") || p.body.contains("Натальи Соколовой"));
        assert!(!stdin.contains(&b'\r'), "sendmail gets Unix line ends");
        envelopes.push(recipients);
    }
    assert_eq!(sorted(envelopes), sorted(expected_envelopes()));
    out.prints(PRESIDENTIAL_PHONE);

    // The journal works for sendmail too.
    let again = via_sendmail(&f, &program).succeeds();
    again.prints("already sent 3");
    assert_eq!(sendmail_calls(&f.path("calls")).len(), 3);
}

#[test]
fn sendmail_exit_75_is_retried() {
    let f = TestCampaign::sendable();
    // Fails with EX_TEMPFAIL the first time only.
    let flag = f.path("failed-once");
    let (program, calls) = f.fake_sendmail(&format!(
        "if [ ! -e '{0}' ]; then : > '{0}'; echo 'queue full' >&2; exit 75; fi; exit 0",
        flag.display()
    ));
    let out = via_sendmail(&f, &program).succeeds();
    out.says("will retry");
    out.says("queue full");
    let calls = sendmail_calls(&calls);
    assert_eq!(calls.len(), 4, "three letters, one retry");
    // The first call failed; its letter went again (in any order: the
    // retry may come before or after the third letter).
    let again = calls.iter().filter(|(args, _)| *args == calls[0].0).count();
    assert_eq!(again, 2, "the failed letter went again");
    let envelopes: Vec<Vec<String>> = calls[1..].iter().map(|(a, _)| a[4..].to_vec()).collect();
    assert_eq!(sorted(envelopes), sorted(expected_envelopes()));
    out.prints("Sent 3,");
}

#[test]
fn sendmail_exit_1_is_a_permanent_failure() {
    let f = TestCampaign::sendable();
    let (program, calls) = f.fake_sendmail("echo 'no such user' >&2; exit 1");
    let out = f.send().signer().sendmail(&program).json().exits(1);
    assert_eq!(
        sendmail_calls(&calls).len(),
        3,
        "each tried once, not retried"
    );
    out.says("no such user");
    out.counts(&[("sent", 0), ("refused_permanently", 3)]);
    let failed = f.journal_events("failed").len();
    assert_eq!(failed, 3, "{}", f.journal_text());
}

/// Bug: real mail went out dated 2001 because `send` used
/// SOURCE_DATE_EPOCH (DATE_IN_PAST_96_XX in SpamAssassin). `send` dates
/// mail by the real clock; its Message-ID is the one `write` gives the same
/// letter (both come from the journal key), and MIME-Version is there.
#[test]
fn send_dates_mail_now_and_shares_message_ids_with_write() {
    let (f, server) = serving(ServerConfig::default());
    send_to(&f, &server)
        .args(["--to", "supreme-court"])
        .env("SOURCE_DATE_EPOCH", "1000000000")
        .succeeds();
    let received = server.received();
    assert_eq!(received.len(), 1);
    let m = mail_parser::MessageParser::default()
        .parse(&received[0].data)
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let date = m.date().expect("a Date header").to_timestamp();
    assert!((now - date).abs() < 600, "Date {date}, now {now}");
    assert_eq!(m.header_raw("MIME-Version").map(str::trim), Some("1.0"));

    let written = f
        .campaign_std_cmd()
        .arg("write")
        .args(SIGNER)
        .args(["--to", "supreme-court", "--format", "eml"])
        .succeeds();
    let w = mail(written.stdout.as_bytes());
    assert_eq!(Some(w.message_id.as_str()), m.message_id());
}
