//! Our SMTP client against servers that do what RFC 5321 allows and what
//! strict servers do (issue 10): text-less and bare-LF replies, refused
//! recipients under PIPELINING, silent servers, connection limits, senders
//! the login does not own, TLS to a plain port, pinned certificates, and
//! secrets that must never be printed.
//!
//! Each test counts what the in-process server received: every letter
//! exactly once, and nothing sent after a refusal.

use std::path::Path;
use std::time::Duration;

use crate::smtp_server::{CertKind, Quirks, ServerConfig, SmtpServer};
use crate::support::{
    ACCOUNT, EMAIL, NAME, PASSWORD, Runs, Sending, TestCampaign, members_csv, sendmail_calls,
    serving,
};

/// The campaign's first `copies_to` address, on every letter.
const COPY: &str = "campaign-kazakhstan@kz-gov.org";

/// `send --yes --format json` of the signer's three letters to `url`.
fn send(f: &TestCampaign, url: &str) -> Sending {
    send_as(f, url, EMAIL)
}

fn send_as(f: &TestCampaign, url: &str, email: &str) -> Sending {
    let send = f
        .send()
        .with(["--name", NAME, "--email", email, "--country", "GB"]);
    with_password(send.with(["--smtp", url]).json())
}

/// The login's password, where the program looks for it.
fn with_password(mut send: Sending) -> Sending {
    send.env("PROTEST_LETTER_SMTP_PASSWORD", PASSWORD);
    send
}

/// `send` of one letter per member of an `n`-member list, from the
/// branch account.
fn send_batch(f: &TestCampaign, url: &str, n: usize) -> Sending {
    let csv = f.file("members.csv", members_csv(n));
    let send = f.send().members(csv).with(["--to", "supreme-court"]);
    with_password(send.with(["--smtp", url]).json())
}

/// Each accepted message once: no two with the same Message-ID.
fn assert_distinct(server: &SmtpServer) {
    let mut ids: Vec<String> = server
        .received()
        .iter()
        .map(|r| r.mail().message_id)
        .inspect(|id| assert!(!id.is_empty(), "a Message-ID"))
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
        let config = ServerConfig::default().quirks(quirks);
        let config = if pipelining {
            config.pipelining()
        } else {
            config
        };
        let (f, server) = serving(config);
        // A stalled parse would show up as a timeout, and so as a failure.
        let out = send(&f, &server.url()).args(["--timeout", "5"]).run();
        assert_eq!(out.code, 0, "{what}: {out:?}");
        assert_eq!(out.json()["sent"], 3, "{what}: {out:?}");
        assert_eq!(server.received().len(), 3, "{what}");
        assert_eq!(server.connections(), 1, "{what}: one reused connection");
        assert_eq!(server.count("QUIT"), 1, "{what}");
        assert_distinct(&server);
    }
    // A multi-line final reply is an acceptance, not a failure to retry.
    let (f, server) = serving(ServerConfig::default().multiline_data_reply().pipelining());
    let out = send(&f, &server.url()).args(["--timeout", "5"]).succeeds();
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
        let (f, server) = serving(config.pipelining().quirks(quirks));
        let out = send(&f, &server.url()).args(["--timeout", "20"]).run();
        // The copy is on every letter: all fail, and fast, not after a
        // 20 s timeout per attempt.
        assert_eq!(out.code, 1, "{what}: {out:?}");
        assert!(out.took < Duration::from_secs(10), "{what}: {out:?}");
        let s = out.counts(&[("sent", 0), ("uncertain", 0)]);
        let reply = s["letters"][0]["reply"].as_str().unwrap().to_string();
        assert!(reply.contains(COPY) && reply.contains(what), "{reply}");
        // Never DATA, never a message, never a QUIT while in data mode:
        // each refused transaction is reset and the connection reused.
        assert_eq!(server.count("DATA"), 0, "{what}: {:?}", server.commands());
        assert_eq!(server.attempts(), 0, "{what}");
        assert!(server.received().is_empty(), "{what}");
        assert_eq!(server.count("RSET"), server.count("MAIL"), "{what}");
        assert_eq!(server.connections(), 1, "{what}");
        assert_eq!(server.count("QUIT"), 1, "{what}");
        if what == "550" {
            // Refused for good: offered once, then every later letter
            // fails at once (real servers slow down after 10 errors).
            assert_eq!(server.count("MAIL"), 1, "{:?}", server.commands());
            let later = s["letters"][2]["reply"].as_str().unwrap();
            assert!(later.contains("refused earlier in this run"), "{later}");
        }
    }
}

#[test]
fn a_server_that_never_greets_is_named_within_the_timeout() {
    let (f, server) = serving(ServerConfig::default().quirks(Quirks {
        never_greet: true,
        ..Quirks::default()
    }));
    let out = send(&f, &server.url()).args(["--timeout", "1"]).exits(3);
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
    let f = TestCampaign::sendable();
    let strict = Quirks {
        need_fqdn_helo: true,
        ..Quirks::default()
    };
    let server = SmtpServer::start(ServerConfig::default().starttls().quirks(strict.clone()));
    let ca = f.file("ca.pem", server.ca_pem());
    send(&f, &server.url()).arg("--ca-cert").arg(&ca).succeeds();
    let ehlos: Vec<String> = server.commands_starting("EHLO");
    assert_eq!(ehlos.len(), 2, "once, and once after STARTTLS: {ehlos:?}");
    assert_eq!(ehlos[0], ehlos[1]);
    let name = &ehlos[0]["EHLO ".len()..];
    assert!(
        name == "[127.0.0.1]" || (name.contains('.') && !name.starts_with('[')),
        "{name}"
    );

    let server = SmtpServer::start(ServerConfig::default().quirks(strict));
    send(&f, &server.url())
        .args(["--helo", "mail.branch.example", "--resend"])
        .succeeds();
    assert_eq!(server.commands()[0], "EHLO mail.branch.example");
    assert_eq!(server.count("EHLO"), 1);

    let out = send(&f, &server.url()).args(["--helo", "vm box"]).exits(2);
    out.says("--helo");
}

#[test]
fn too_many_connections_means_fewer_connections_not_failed_letters() {
    let (f, server) = serving(
        ServerConfig::default()
            .pipelining()
            .max_sessions(2)
            .delay_per_message(Duration::from_millis(20)),
    );
    let out = send_batch(&f, &server.url(), 40)
        .args(["--connections", "8"])
        .succeeds();
    out.counts(&[("sent", 40), ("refused_temporarily", 0)]);
    assert!(server.refused_sessions() >= 1, "the limit was hit");
    assert!(server.peak_sessions() <= 2);
    assert_eq!(server.received().len(), 40);
    assert_distinct(&server);
    out.says("too many connections");
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
        let (f, server) = serving(
            ServerConfig::default()
                .pipelining()
                .auth("jo", PASSWORD)
                .quirks(quirks),
        );
        let login = format!("smtp://jo@127.0.0.1:{}", server.port());
        let out = send_batch(&f, &login, 10).exits(3);
        out.says(&format!(
                "the server does not let user jo send as {ACCOUNT}; use --email jo or log in as {ACCOUNT}"
            ));
        assert_eq!(server.count("MAIL"), 1, "{:?}", server.commands());
        assert!(server.received().is_empty());
        out.counts(&[
            ("sent", 0),
            ("refused_permanently", 0),
            ("not_attempted", 10),
        ]);
    }
}

#[test]
fn smtps_to_a_plain_port_says_to_use_smtp() {
    let (f, server) = serving(ServerConfig::default());
    let out = send(&f, &format!("smtps://127.0.0.1:{}", server.port())).exits(3);
    out.says("the server did not start TLS");
    out.says("use smtp://");
    assert!(!out.stderr.contains("InvalidContentType"), "{out:?}");
    assert_eq!(server.connections(), 1, "not retried");
}

#[test]
fn a_server_without_auth_is_not_blamed_on_the_password() {
    let (f, server) = serving(ServerConfig::default());
    let out = send(&f, &format!("smtp://jo@127.0.0.1:{}", server.port())).exits(3);
    out.says("does not offer a login");
    assert!(!out.stderr.contains("password ("), "{out:?}");
    assert!(server.received().is_empty());
}

#[test]
fn a_ca_cert_that_is_not_a_certificate_is_refused_before_connecting() {
    let (f, server) = serving(ServerConfig::default().require_tls());
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
        let out = send(&f, &server.url()).arg("--ca-cert").arg(&file).run();
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
        let (f, server) = serving(ServerConfig::default().require_tls().quirks(Quirks {
            cert: CertKind::SelfSignedCa,
            implicit_tls,
            ..Quirks::default()
        }));
        let scheme = if implicit_tls { "smtps" } else { "smtp" };
        let to = format!("{scheme}://127.0.0.1:{}", server.port());
        let fingerprint = sha256_colons(server.cert_der());

        // Not trusted as it is: the advice names both ways to pin it.
        let out = send(&f, &to).exits(3);
        out.says("--ca-cert");
        out.says(&fingerprint);

        // The certificate itself, as `openssl req -x509` made it.
        let cert = f.file("server.pem", server.cert_pem());
        let out = send(&f, &to).arg("--ca-cert").arg(&cert).run();
        assert_eq!(out.code, 0, "{implicit_tls}: {out:?}");
        assert_eq!(server.received().len(), 3);
        assert!(server.received().iter().all(|r| r.tls));

        // Its fingerprint, with or without colons.
        let plain_hex = fingerprint.replace(':', "").to_lowercase();
        send(&f, &to)
            .args(["--resend", "--tls-fingerprint", &plain_hex])
            .succeeds();
        assert_eq!(server.received().len(), 6);

        // Another fingerprint: refused, even with the certificate given.
        let wrong = "00:".repeat(31) + "00";
        let out = send(&f, &to)
            .args(["--resend", "--tls-fingerprint", &wrong])
            .arg("--ca-cert")
            .arg(&cert)
            .exits(3);
        out.says("--tls-fingerprint");
        assert_eq!(server.received().len(), 6);
    }
}

#[test]
fn a_ca_signed_certificate_still_needs_the_right_host_name() {
    let (f, server) = serving(ServerConfig::default().require_tls().quirks(Quirks {
        cert: CertKind::OtherHost,
        ..Quirks::default()
    }));
    let ca = f.file("ca.pem", server.ca_pem());
    let out = send(&f, &server.url()).arg("--ca-cert").arg(&ca).exits(3);
    out.says("NotValidForName");
    assert!(server.received().is_empty());
}

#[test]
fn a_bad_tls_fingerprint_is_refused_as_input() {
    let f = TestCampaign::sendable();
    let out = send(&f, "smtp://127.0.0.1:1")
        .args(["--tls-fingerprint", "AB:CD"])
        .exits(2);
    out.says("64 hex digits");
}

#[test]
fn secrets_never_echo() {
    // 1. A password in the profile is refused without showing it.
    let f = TestCampaign::sendable();
    let profile = f.file(
        "profile.toml",
        "[smtp]\nurl = \"smtp://jo@127.0.0.1:1\"\npassword = \"S3cret-in-profile\"\n",
    );
    let out = send(&f, "smtp://127.0.0.1:1")
        .env("PROTEST_LETTER_PROFILE", &profile)
        .exits(2);
    out.says("password_command");
    assert!(!out.all().contains("S3cret-in-profile"), "{out:?}");

    // 2. A user name with %3A is shown encoded, never as user:password.
    let server = SmtpServer::start(ServerConfig::default().auth("jo", PASSWORD));
    let tricky = format!("smtp://jo%3Ahunter2@127.0.0.1:{}", server.port());
    let out = send(&f, &tricky).exits(3);
    out.says("jo%3Ahunter2");
    assert!(!out.all().contains("jo:hunter2"), "{out:?}");

    // 3. A 535 that echoes the AUTH line: neither the password nor its
    //    base64 form is printed.
    let server = SmtpServer::start(ServerConfig::default().auth("jo", PASSWORD).quirks(Quirks {
        echo_auth_in_535: true,
        ..Quirks::default()
    }));
    let out = send(&f, &format!("smtp://jo@127.0.0.1:{}", server.port())).exits(3);
    out.says("refused the login");
    // Of a reply to AUTH, only its codes are shown.
    out.says("535 5.7.8");
    assert!(!out.stderr.contains("authentication failed"), "{out:?}");
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
    let f = TestCampaign::sendable();
    let out = send_as(&f, "smtp://127.0.0.1:1", "\"a@b\"@union.org").exits(2);
    out.says("envelope cannot carry");
    assert!(!out.stderr.contains("missing source address"), "{out:?}");
}

fn send_via(f: &TestCampaign, program: &Path) -> Sending {
    let send = f.send().signer().sendmail(program);
    send.json().with(["--timeout", "1"])
}

#[test]
fn a_sendmail_program_that_hangs_or_dies_after_reading_is_uncertain_not_retried() {
    for then in ["exec sleep 30", "kill -9 $$"] {
        let f = TestCampaign::sendable();
        let (program, calls) = f.fake_sendmail(then);
        let out = send_via(&f, &program).run();
        assert_eq!(out.code, 3, "{then}: {out:?}");
        out.counts(&[("uncertain", 3), ("sent", 0)]);
        // Each letter handed over once, never again.
        assert_eq!(sendmail_calls(&calls).len(), 3, "{then}");
        assert!(out.took < Duration::from_secs(20), "{then}: {out:?}");
        if then.contains("sleep") {
            out.says("did not finish within 1 s");
        } else {
            out.says("killed by a signal");
        }
        // A later run does not send them again on its own.
        let again = send_via(&f, &program).run();
        assert_eq!(sendmail_calls(&calls).len(), 3, "{again:?}");
    }
}
