//! Our SMTP client against servers that do what RFC 5321 allows and what
//! strict servers do (issue 10): text-less and bare-LF replies, refused
//! recipients under PIPELINING, silent servers, connection limits, senders
//! the login does not own, TLS to a plain port, pinned certificates, and
//! secrets that must never be printed.
//!
//! Each test counts what the in-process server received: every letter
//! exactly once, and nothing sent after a refusal.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::smtp_server::{CertKind, Quirks, ServerConfig, SmtpServer};
use crate::support::TestCampaign;

const DOMAIN: &str = "kz-gov.org";
const EMAIL: &str = "jo@solidarity-union.org";
const ACCOUNT: &str = "sec@union.org";
const PASSWORD: &str = "Tr0ub4dor-and-3";
/// The campaign's first `copies_to` address, on every letter.
const COPY: &str = "campaign-kazakhstan@kz-gov.org";

struct Fixture {
    campaign: TestCampaign,
}

impl Fixture {
    fn new() -> Fixture {
        let campaign = TestCampaign::with_real_addresses(DOMAIN);
        std::fs::create_dir_all(campaign.root().join("home")).unwrap();
        Fixture { campaign }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.campaign.root().join(name)
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `send --yes --format json` of the signer's three letters to `url`.
    fn send(&self, url: &str) -> std::process::Command {
        self.send_as(url, EMAIL)
    }

    fn send_as(&self, url: &str, email: &str) -> std::process::Command {
        let mut cmd = self.campaign.std_cmd();
        cmd.env("HOME", self.path("home"))
            .env("PROTEST_LETTER_RETRY_DELAY_MS", "10")
            .env("PROTEST_LETTER_SMTP_PASSWORD", PASSWORD)
            .arg("--campaign")
            .arg(self.campaign.dir())
            .arg("send")
            .args(["--name", "Jo Bloggs", "--email", email, "--country", "GB"])
            .args(["--smtp", url, "--yes", "--format", "json"])
            .arg("--journal")
            .arg(self.path("journal.jsonl"));
        cmd
    }

    /// `send` of one letter per member of an `n`-member list, from the
    /// branch account.
    fn send_batch(&self, url: &str, n: usize) -> std::process::Command {
        let mut csv = String::from("name,email,country\n");
        for i in 1..=n {
            csv.push_str(&format!("Member {i},member{i}@union.org,GB\n"));
        }
        let csv = self.file("members.csv", &csv);
        let mut cmd = self.campaign.std_cmd();
        cmd.env("HOME", self.path("home"))
            .env("PROTEST_LETTER_RETRY_DELAY_MS", "10")
            .env("PROTEST_LETTER_SMTP_PASSWORD", PASSWORD)
            .arg("--campaign")
            .arg(self.campaign.dir())
            .arg("send")
            .arg("--signatories")
            .arg(csv)
            .args(["--email", ACCOUNT, "--organisation", "Unite Branch 42"])
            .args(["--to", "supreme-court", "--date", "2026-11-22"])
            .args(["--smtp", url, "--yes", "--format", "json"])
            .arg("--journal")
            .arg(self.path("journal.jsonl"));
        cmd
    }
}

fn url(server: &SmtpServer) -> String {
    format!("smtp://127.0.0.1:{}", server.port())
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    took: Duration,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {} after {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.took, self.stdout, self.stderr
        )
    }
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }

    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

fn run(cmd: &mut std::process::Command) -> Run {
    let started = Instant::now();
    let out = cmd.output().expect("run protest-letter");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        took: started.elapsed(),
    }
}

/// How many commands the server read that start with `verb`.
fn count(server: &SmtpServer, verb: &str) -> usize {
    server
        .commands()
        .iter()
        .filter(|c| c.to_ascii_uppercase().starts_with(verb))
        .count()
}

/// Each accepted message once: no two with the same Message-ID.
fn assert_distinct(server: &SmtpServer) {
    let mut ids: Vec<String> = server
        .received()
        .iter()
        .map(|r| {
            mail_parser::MessageParser::default()
                .parse(&r.data)
                .and_then(|m| m.message_id().map(str::to_string))
                .expect("a Message-ID")
        })
        .collect();
    let all = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), all, "a message was delivered twice");
}

#[test]
fn replies_rfc_5321_allows_are_taken_as_they_are() {
    let cases = [
        (
            "bare codes",
            Quirks {
                bare_codes: true,
                ..Quirks::default()
            },
            false,
        ),
        (
            "bare LF",
            Quirks {
                bare_lf: true,
                ..Quirks::default()
            },
            false,
        ),
        (
            "both, pipelined",
            Quirks {
                bare_codes: true,
                bare_lf: true,
                ..Quirks::default()
            },
            true,
        ),
    ];
    for (what, quirks, pipelining) in cases {
        let f = Fixture::new();
        let mut config = ServerConfig::default().quirks(quirks);
        config.pipelining = pipelining;
        let server = SmtpServer::start(config);
        // A stalled parse would show up as a timeout, and so as a failure.
        let out = run(f.send(&url(&server)).args(["--timeout", "5"]));
        assert_eq!(out.code, 0, "{what}: {out:?}");
        assert_eq!(out.json()["sent"], 3, "{what}: {out:?}");
        assert_eq!(server.received().len(), 3, "{what}");
        assert_eq!(server.connections(), 1, "{what}: one reused connection");
        assert_eq!(count(&server, "QUIT"), 1, "{what}");
        assert_distinct(&server);
    }
    // A multi-line final reply is an acceptance, not a failure to retry.
    let f = Fixture::new();
    let server = SmtpServer::start(ServerConfig::default().multiline_data_reply().pipelining());
    let out = run(f.send(&url(&server)).args(["--timeout", "5"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(server.received().len(), 3);
    assert_eq!(server.attempts(), 3, "nothing was sent twice");
    let reply = out.json()["letters"][0]["reply"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(reply.starts_with("250 2.0.0 OK queued as"), "{reply}");
}

#[test]
fn a_refused_copy_under_pipelining_costs_seconds_and_never_reaches_data() {
    for (what, quirks, config) in [
        (
            "550",
            Quirks::default(),
            ServerConfig::default().reject_rcpt(COPY),
        ),
        (
            "450",
            Quirks {
                defer_rcpt: vec![COPY.into()],
                ..Quirks::default()
            },
            ServerConfig::default(),
        ),
    ] {
        let f = Fixture::new();
        let server = SmtpServer::start(config.pipelining().quirks(quirks));
        let out = run(f.send(&url(&server)).args(["--timeout", "20"]));
        // The copy is on every letter: all fail, and fast, not after a
        // 20 s timeout per attempt.
        assert_eq!(out.code, 1, "{what}: {out:?}");
        assert!(out.took < Duration::from_secs(10), "{what}: {out:?}");
        let s = out.json();
        assert_eq!(s["sent"], 0, "{what}: {out:?}");
        assert_eq!(s["uncertain"], 0, "{what}: {out:?}");
        let reply = s["letters"][0]["reply"].as_str().unwrap().to_string();
        assert!(reply.contains(COPY) && reply.contains(what), "{reply}");
        // Never DATA, never a message, never a QUIT while in data mode:
        // each refused transaction is reset and the connection reused.
        assert_eq!(count(&server, "DATA"), 0, "{what}: {:?}", server.commands());
        assert_eq!(server.attempts(), 0, "{what}");
        assert!(server.received().is_empty(), "{what}");
        assert_eq!(count(&server, "RSET"), count(&server, "MAIL"), "{what}");
        assert_eq!(server.connections(), 1, "{what}");
        assert_eq!(count(&server, "QUIT"), 1, "{what}");
        if what == "550" {
            // Refused for good: offered once, then every later letter
            // fails at once (real servers slow down after 10 errors).
            assert_eq!(count(&server, "MAIL"), 1, "{:?}", server.commands());
            let later = s["letters"][2]["reply"].as_str().unwrap();
            assert!(later.contains("refused earlier in this run"), "{later}");
        }
    }
}

#[test]
fn a_server_that_never_greets_is_named_within_the_timeout() {
    let f = Fixture::new();
    let server = SmtpServer::start(ServerConfig::default().quirks(Quirks {
        never_greet: true,
        ..Quirks::default()
    }));
    let out = run(f.send(&url(&server)).args(["--timeout", "1"]));
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.stderr
            .contains("the server did not answer the greeting within 1 s"),
        "{out:?}"
    );
    // One letter's retries, then the run stops: not 5 minutes per letter.
    assert!(out.took < Duration::from_secs(20), "{out:?}");
    assert!(server.received().is_empty());
}

#[test]
fn ehlo_names_a_real_host_once_per_session_and_again_after_starttls() {
    let f = Fixture::new();
    let strict = Quirks {
        need_fqdn_helo: true,
        ..Quirks::default()
    };
    let server = SmtpServer::start(ServerConfig::default().starttls().quirks(strict.clone()));
    let ca = f.file("ca.pem", server.ca_pem());
    let out = run(f.send(&url(&server)).arg("--ca-cert").arg(&ca));
    assert_eq!(out.code, 0, "{out:?}");
    let ehlos: Vec<String> = server
        .commands()
        .into_iter()
        .filter(|c| c.starts_with("EHLO"))
        .collect();
    assert_eq!(ehlos.len(), 2, "once, and once after STARTTLS: {ehlos:?}");
    assert_eq!(ehlos[0], ehlos[1]);
    let name = &ehlos[0]["EHLO ".len()..];
    assert!(
        name == "[127.0.0.1]" || (name.contains('.') && !name.starts_with('[')),
        "{name}"
    );

    let server = SmtpServer::start(ServerConfig::default().quirks(strict));
    let out = run(f
        .send(&url(&server))
        .args(["--helo", "mail.branch.example", "--resend"]));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(server.commands()[0], "EHLO mail.branch.example");
    assert_eq!(count(&server, "EHLO"), 1);

    let out = run(f.send(&url(&server)).args(["--helo", "vm box"]));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("--helo"), "{out:?}");
}

#[test]
fn too_many_connections_means_fewer_connections_not_failed_letters() {
    let f = Fixture::new();
    let server = SmtpServer::start(
        ServerConfig::default()
            .pipelining()
            .max_sessions(2)
            .delay_per_message(Duration::from_millis(20)),
    );
    let out = run(f.send_batch(&url(&server), 40).args(["--connections", "8"]));
    assert_eq!(out.code, 0, "{out:?}");
    let s = out.json();
    assert_eq!(s["sent"], 40, "{out:?}");
    assert_eq!(s["failed_temporary"], 0, "{out:?}");
    assert!(server.refused_sessions() >= 1, "the limit was hit");
    assert!(server.peak_sessions() <= 2);
    assert_eq!(server.received().len(), 40);
    assert_distinct(&server);
    assert!(out.stderr.contains("too many connections"), "{out:?}");
}

#[test]
fn a_sender_the_login_does_not_own_stops_the_run_after_the_first_refusal() {
    for quirks in [
        Quirks {
            refuse_sender_at_mail: true,
            ..Quirks::default()
        },
        Quirks {
            refuse_sender_at_rcpt: true,
            ..Quirks::default()
        },
    ] {
        let f = Fixture::new();
        let server = SmtpServer::start(
            ServerConfig::default()
                .pipelining()
                .auth("jo", PASSWORD)
                .quirks(quirks),
        );
        let login = format!("smtp://jo@127.0.0.1:{}", server.port());
        let out = run(&mut f.send_batch(&login, 10));
        assert_eq!(out.code, 3, "{out:?}");
        assert!(
            out.stderr.contains(&format!(
                "the server does not let user jo send as {ACCOUNT}; use --email jo or log in as {ACCOUNT}"
            )),
            "{out:?}"
        );
        assert_eq!(count(&server, "MAIL"), 1, "{:?}", server.commands());
        assert!(server.received().is_empty());
        let summary = out.json();
        assert_eq!(summary["sent"], 0, "{out:?}");
        assert_eq!(summary["failed_permanent"], 0, "not one by one: {out:?}");
        assert_eq!(summary["not_attempted"], 10, "{out:?}");
    }
}

#[test]
fn smtps_to_a_plain_port_says_to_use_smtp() {
    let f = Fixture::new();
    let server = SmtpServer::start(ServerConfig::default());
    let out = run(&mut f.send(&format!("smtps://127.0.0.1:{}", server.port())));
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.stderr.contains("the server did not start TLS"),
        "{out:?}"
    );
    assert!(out.stderr.contains("use smtp://"), "{out:?}");
    assert!(!out.stderr.contains("InvalidContentType"), "{out:?}");
    assert_eq!(server.connections(), 1, "not retried");
}

#[test]
fn a_server_without_auth_is_not_blamed_on_the_password() {
    let f = Fixture::new();
    let server = SmtpServer::start(ServerConfig::default());
    let out = run(&mut f.send(&format!("smtp://jo@127.0.0.1:{}", server.port())));
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("does not offer a login"), "{out:?}");
    assert!(!out.stderr.contains("password ("), "{out:?}");
    assert!(server.received().is_empty());
}

#[test]
fn a_ca_cert_that_is_not_a_certificate_is_refused_before_connecting() {
    let f = Fixture::new();
    let server = SmtpServer::start(ServerConfig::default().require_tls());
    for (name, text, says) in [
        (
            "notes.txt",
            "my server's certificate\n",
            "is not a certificate",
        ),
        (
            "broken.pem",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "not a valid X.509 certificate",
        ),
    ] {
        let file = f.file(name, text);
        let out = run(f.send(&url(&server)).arg("--ca-cert").arg(&file));
        assert_eq!(out.code, 2, "bad input, nothing done: {out:?}");
        assert!(out.stderr.contains(says), "{name}: {out:?}");
    }
    assert_eq!(server.connections(), 0);
}

/// SHA-256 of `der` as `AB:CD:…`, computed here independently.
fn sha256_colons(der: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[test]
fn a_self_signed_ca_flagged_certificate_is_accepted_when_pinned() {
    for implicit_tls in [false, true] {
        let f = Fixture::new();
        let server = SmtpServer::start(ServerConfig::default().require_tls().quirks(Quirks {
            cert: CertKind::SelfSignedCa,
            implicit_tls,
            ..Quirks::default()
        }));
        let scheme = if implicit_tls { "smtps" } else { "smtp" };
        let to = format!("{scheme}://127.0.0.1:{}", server.port());
        let fingerprint = sha256_colons(server.cert_der());

        // Not trusted as it is: the advice names both ways to pin it.
        let out = run(&mut f.send(&to));
        assert_eq!(out.code, 3, "{out:?}");
        assert!(out.stderr.contains("--ca-cert"), "{out:?}");
        assert!(out.stderr.contains(&fingerprint), "{out:?}");

        // The certificate itself, as `openssl req -x509` made it.
        let cert = f.file("server.pem", server.cert_pem());
        let out = run(f.send(&to).arg("--ca-cert").arg(&cert));
        assert_eq!(out.code, 0, "{implicit_tls}: {out:?}");
        assert_eq!(server.received().len(), 3);
        assert!(server.received().iter().all(|r| r.tls));

        // Its fingerprint, with or without colons.
        let plain_hex = fingerprint.replace(':', "").to_lowercase();
        let out = run(f
            .send(&to)
            .args(["--resend", "--tls-fingerprint", &plain_hex]));
        assert_eq!(out.code, 0, "{out:?}");
        assert_eq!(server.received().len(), 6);

        // Another fingerprint: refused, even with the certificate given.
        let wrong = "00:".repeat(31) + "00";
        let out = run(f
            .send(&to)
            .args(["--resend", "--tls-fingerprint", &wrong])
            .arg("--ca-cert")
            .arg(&cert));
        assert_eq!(out.code, 3, "{out:?}");
        assert!(out.stderr.contains("--tls-fingerprint"), "{out:?}");
        assert_eq!(server.received().len(), 6);
    }
}

#[test]
fn a_ca_signed_certificate_still_needs_the_right_host_name() {
    let f = Fixture::new();
    let server = SmtpServer::start(ServerConfig::default().require_tls().quirks(Quirks {
        cert: CertKind::OtherHost,
        ..Quirks::default()
    }));
    let ca = f.file("ca.pem", server.ca_pem());
    let out = run(f.send(&url(&server)).arg("--ca-cert").arg(&ca));
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("NotValidForName"), "{out:?}");
    assert!(server.received().is_empty());
}

#[test]
fn a_bad_tls_fingerprint_is_refused_as_input() {
    let f = Fixture::new();
    let out = run(f
        .send("smtp://127.0.0.1:1")
        .args(["--tls-fingerprint", "AB:CD"]));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("64 hex digits"), "{out:?}");
}

#[test]
fn secrets_never_echo() {
    // 1. A password in the profile is refused without showing it.
    let f = Fixture::new();
    let profile = f.file(
        "profile.toml",
        "[smtp]\nurl = \"smtp://jo@127.0.0.1:1\"\npassword = \"S3cret-in-profile\"\n",
    );
    let out = run(f
        .send("smtp://127.0.0.1:1")
        .env("PROTEST_LETTER_PROFILE", &profile));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("password_command"), "{out:?}");
    assert!(!out.all().contains("S3cret-in-profile"), "{out:?}");

    // 2. A user name with %3A is shown encoded, never as user:password.
    let server = SmtpServer::start(ServerConfig::default().auth("jo", PASSWORD));
    let tricky = format!("smtp://jo%3Ahunter2@127.0.0.1:{}", server.port());
    let out = run(&mut f.send(&tricky));
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("jo%3Ahunter2"), "{out:?}");
    assert!(!out.all().contains("jo:hunter2"), "{out:?}");

    // 3. A 535 that echoes the AUTH line: neither the password nor its
    //    base64 form is printed.
    let server = SmtpServer::start(ServerConfig::default().auth("jo", PASSWORD).quirks(Quirks {
        echo_auth_in_535: true,
        ..Quirks::default()
    }));
    let out = run(&mut f.send(&format!("smtp://jo@127.0.0.1:{}", server.port())));
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("refused the login"), "{out:?}");
    assert!(out.stderr.contains("<redacted>"), "{out:?}");
    use base64::Engine;
    let blob = base64::engine::general_purpose::STANDARD.encode(format!("\0jo\0{PASSWORD}"));
    let echoed = server.commands().iter().any(|c| c.contains(&blob));
    assert!(
        echoed,
        "the client sent AUTH PLAIN: {:?}",
        server.commands()
    );
    for secret in [PASSWORD, blob.as_str()] {
        assert!(!out.all().contains(secret), "{out:?}");
    }
}

#[test]
fn an_envelope_impossible_address_is_refused_with_the_reason() {
    let f = Fixture::new();
    let out = run(&mut f.send_as("smtp://127.0.0.1:1", "\"a@b\"@union.org"));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("envelope cannot carry"), "{out:?}");
    assert!(!out.stderr.contains("missing source address"), "{out:?}");
}

/// A sendmail stand-in that saves each message (one file per call) and
/// then behaves as `then` says.
fn sendmail(f: &Fixture, then: &str) -> (PathBuf, PathBuf) {
    let calls = f.path("calls");
    std::fs::create_dir_all(&calls).unwrap();
    let script = format!(
        "#!/bin/sh\nn=$(ls '{dir}' | wc -l)\ncat > '{dir}'/message.$n\n{then}\n",
        dir = calls.display()
    );
    let path = f.path("fake-sendmail");
    // Written by a child process, so this multi-threaded test never holds
    // it open for writing while another test forks ("Text file busy").
    let ok = std::process::Command::new("sh")
        .arg("-c")
        .arg("printf '%s' \"$2\" > \"$1\" && chmod 755 \"$1\"")
        .args(["sh", &path.display().to_string(), &script])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    (path, calls)
}

fn send_via(f: &Fixture, program: &PathBuf) -> std::process::Command {
    let mut cmd = f.campaign.std_cmd();
    cmd.env("HOME", f.path("home"))
        .env("PROTEST_LETTER_RETRY_DELAY_MS", "10")
        .arg("--campaign")
        .arg(f.campaign.dir())
        .arg("send")
        .args(["--name", "Jo Bloggs", "--email", EMAIL, "--country", "GB"])
        .arg("--sendmail")
        .arg(program)
        .args(["--yes", "--format", "json", "--timeout", "1"])
        .arg("--journal")
        .arg(f.path("journal.jsonl"));
    cmd
}

#[test]
fn a_sendmail_program_that_hangs_or_dies_after_reading_is_uncertain_not_retried() {
    for then in ["exec sleep 30", "kill -9 $$"] {
        let f = Fixture::new();
        let (program, calls) = sendmail(&f, then);
        let out = run(&mut send_via(&f, &program));
        assert_eq!(out.code, 3, "{then}: {out:?}");
        let s = out.json();
        assert_eq!(s["uncertain"], 3, "{then}: {out:?}");
        assert_eq!(s["sent"], 0, "{then}: {out:?}");
        // Each letter handed over once, never again.
        assert_eq!(std::fs::read_dir(&calls).unwrap().count(), 3, "{then}");
        assert!(out.took < Duration::from_secs(20), "{then}: {out:?}");
        if then.contains("sleep") {
            assert!(out.stderr.contains("did not finish within 1 s"), "{out:?}");
        } else {
            assert!(out.stderr.contains("killed by a signal"), "{out:?}");
        }
        // A later run does not send them again on its own.
        let again = run(&mut send_via(&f, &program));
        assert_eq!(std::fs::read_dir(&calls).unwrap().count(), 3, "{again:?}");
    }
}
