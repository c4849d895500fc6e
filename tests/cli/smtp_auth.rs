//! Logging in and trusting replies (issues 22 and 25): OAuth2 tokens
//! (XOAUTH2, OAUTHBEARER and RFC 7628's error exchange), servers that
//! retired passwords, answers to AUTH that echo the credentials, a failing
//! password_command, and replies that are not what they seem.
//!
//! Each test counts what the in-process server received, and checks that
//! the secret is nowhere: not on stdout or stderr, not in the journal, the
//! `--report` file or the JSON summary.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::smtp_server::{Sasl, ServerConfig, SmtpServer};
use crate::support::{Run, Runs, Sending, TestCampaign, serving};

/// The account the letters are sent from.
const USER: &str = "jo@solidarity-union.org";
/// An access token as Google's look.
const TOKEN: &str = "ya29.a0AfB_byC-Secret-Token-0123456789";

/// `send --yes --format json --report report.csv` of the signer's three
/// letters, logged in as [`USER`] with `secret`.
fn send(f: &TestCampaign, server: &SmtpServer, secret: &str) -> Sending {
    let url = format!(
        "smtp://{}@127.0.0.1:{}",
        USER.replace('@', "%40"),
        server.port()
    );
    let mut send = f.send().signer().json().with(["--smtp", &url]);
    send.arg("--report").arg(f.path("report.csv"));
    send.env("PROTEST_LETTER_SMTP_PASSWORD", secret);
    send
}

/// Everything the run left for people to read.
fn everything(f: &TestCampaign, out: &Run) -> String {
    let report = std::fs::read_to_string(f.path("report.csv")).unwrap_or_default();
    format!("{}\n{}\n{report}", out.all(), f.journal_text())
}

/// The forms in which `secret` left this machine for [`USER`].
fn forms(secret: &str) -> Vec<String> {
    vec![
        secret.to_string(),
        BASE64.encode(secret),
        BASE64.encode(format!("\0{USER}\0{secret}")),
        BASE64.encode(format!("user={USER}\x01auth=Bearer {secret}\x01\x01")),
    ]
}

/// Fails if `secret` or one of its forms shows anywhere. A short one is
/// looked for as a word of its own (`pw` is in "pwd" by chance).
#[track_caller]
fn assert_hidden(f: &TestCampaign, out: &Run, secret: &str) {
    let text = everything(f, out);
    for form in forms(secret) {
        let shown = if form.len() >= 4 {
            text.contains(&form)
        } else {
            text.split(|c: char| !c.is_alphanumeric())
                .any(|w| w == form)
        };
        assert!(!shown, "{form:?} shows: {text}");
    }
}

#[test]
fn a_garbled_answer_to_auth_stops_the_run_at_once_and_shows_nothing_of_it() {
    let (f, server) = serving(ServerConfig::default().auth(USER, "s3cret-pw").sasl(Sasl {
        garbled_echo: true,
        ..Sasl::default()
    }));
    let out = send(&f, &server, "s3cret-pw").exits(3);
    out.says("not an SMTP reply");
    out.counts(&[("sent", 0), ("not_attempted", 3)]);
    // One login, not five per letter.
    assert_eq!(server.count("AUTH"), 1, "{:?}", server.commands());
    assert_eq!(server.connections(), 1);
    assert!(server.received().is_empty());
    assert_hidden(&f, &out, "s3cret-pw");
}

#[test]
fn an_answer_to_auth_is_shown_by_its_codes_only() {
    for password in ["Qz", "s3cret-pw"] {
        let (f, server) = serving(ServerConfig::default().auth(USER, "right").sasl(Sasl {
            echo_password: true,
            ..Sasl::default()
        }));
        let out = send(&f, &server, password).exits(3);
        out.says("refused the login");
        out.says("535 5.7.8");
        assert!(!out.stderr.contains("is wrong"), "{out:?}");
        assert_eq!(server.count("AUTH"), 1);
        assert_hidden(&f, &out, password);
    }
}

/// A password echoed in a later reply (here a refused MAIL FROM) is cut
/// from the journal, the report and the JSON, however short it is.
#[test]
fn a_password_echoed_later_is_cut_however_short() {
    for password in ["Qz", "s3cret-pw"] {
        let (f, server) = serving(ServerConfig::default().auth(USER, password).sasl(Sasl {
            echo_password_at_mail: true,
            ..Sasl::default()
        }));
        let out = send(&f, &server, password).exits(1);
        out.counts(&[("sent", 0), ("refused_permanently", 3)]);
        assert_eq!(server.count("MAIL"), 3);
        // The refusal itself is still there, without the secret.
        assert!(f.journal_text().contains("550"), "{}", f.journal_text());
        assert_hidden(&f, &out, password);
    }
}

#[test]
fn a_failing_password_command_is_reported_by_its_status_not_its_text() {
    let f = TestCampaign::sendable();
    for (command, says) in [
        ("echo hidden-S3cr3t >/dev/null; exit 7", "exit status 7"),
        ("printf '' # hidden-S3cr3t", "printed nothing"),
        ("kill -9 $$ # hidden-S3cr3t", "killed by a signal"),
    ] {
        let profile = f.file(
            "profile.toml",
            format!("[smtp]\nurl = \"smtp://jo@127.0.0.1:1\"\npassword_command = \"{command}\"\n"),
        );
        let mut send = f.send().signer().json();
        send.env("PROTEST_LETTER_PROFILE", &profile);
        let out = send.run();
        assert_ne!(out.code, 0, "{out:?}");
        out.says("password_command");
        out.says(says);
        assert!(!out.all().contains("S3cr3t"), "{out:?}");
    }
}

/// `550-…` / `250 …` after the final dot: neither sent nor refused, and
/// never sent again by itself.
#[test]
fn a_final_reply_whose_lines_disagree_is_uncertain() {
    let (f, server) = serving(ServerConfig::default().mixed_codes_reply());
    let out = f.send().signer().smtp(&server).json().exits(3);
    out.counts(&[("sent", 0), ("uncertain", 3)]);
    out.says("different codes (550 and 250)");
    assert_eq!(server.attempts(), 3, "each letter once");
    assert!(f.journal_events("sent").is_empty());
}

/// A `250` that comes with the `354`, before the message: the message is
/// not sent on that connection, and nothing is taken for an acceptance.
#[test]
fn a_reply_before_the_message_is_not_an_acceptance() {
    let (f, server) = serving(ServerConfig::default().early_reply_with_354());
    let out = f.send().signer().smtp(&server).json().exits(1);
    out.counts(&[("sent", 0), ("uncertain", 0), ("refused_temporarily", 3)]);
    out.says("answered before it was asked");
    assert_eq!(server.attempts(), 0, "no message reached the server");
    assert!(f.journal_events("sent").is_empty());
    // Each attempt on a connection of its own: the server is not trusted
    // after it spoke out of turn.
    assert_eq!(server.connections(), server.count("DATA"));
}

fn oauth_server() -> (TestCampaign, SmtpServer) {
    serving(ServerConfig::default().sasl(Sasl {
        oauth: Some((USER.into(), TOKEN.into())),
        ..Sasl::default()
    }))
}

#[test]
fn xoauth2_and_oauthbearer_log_in_with_a_token() {
    for (auth, mechanism) in [
        ("xoauth2", "AUTH XOAUTH2 "),
        ("oauthbearer", "AUTH OAUTHBEARER "),
        // The server offers no password login: auto takes what it offers.
        ("auto", "AUTH XOAUTH2 "),
    ] {
        let (f, server) = oauth_server();
        let out = send(&f, &server, TOKEN).args(["--auth", auth]).succeeds();
        out.counts(&[("sent", 3)]);
        let received = server.received();
        assert_eq!(received.len(), 3, "{auth}");
        assert!(
            received
                .iter()
                .all(|r| r.auth_user.as_deref() == Some(USER))
        );
        let logins: Vec<String> = server.commands_starting("AUTH");
        assert_eq!(logins.len(), 1, "{auth}: {logins:?}");
        assert!(logins[0].starts_with(mechanism), "{auth}: {logins:?}");
        assert_hidden(&f, &out, TOKEN);
    }
}

/// The token from a token helper, and the mechanism, from the profile.
#[test]
fn the_token_comes_from_the_profiles_password_command() {
    let (f, server) = oauth_server();
    let profile = f.file(
        "profile.toml",
        format!(
            "[smtp]\nurl = \"smtp://{}@127.0.0.1:{}\"\nauth = \"oauthbearer\"\npassword_command = \"echo {TOKEN}\"\n",
            USER.replace('@', "%40"),
            server.port()
        ),
    );
    let mut send = f.send().signer().json();
    send.env("PROTEST_LETTER_PROFILE", &profile);
    let out = send.succeeds();
    out.counts(&[("sent", 3)]);
    assert_eq!(server.count("AUTH OAUTHBEARER"), 1);
    assert_hidden(&f, &out, TOKEN);
}

#[test]
fn a_refused_token_goes_through_rfc_7628_and_stops_the_run() {
    // The answer to the error challenge: an empty response for XOAUTH2,
    // a single %x01 for OAUTHBEARER (RFC 7628 3.2.3).
    for (auth, mechanism, answer) in [
        ("xoauth2", "AUTH XOAUTH2 ", ""),
        ("oauthbearer", "AUTH OAUTHBEARER ", "AQ=="),
    ] {
        let (f, server) = oauth_server();
        let expired = "ya29.expired-Token-9876543210";
        let out = send(&f, &server, expired).args(["--auth", auth]).exits(3);
        out.says("the token was refused or has expired");
        out.says("Run your token helper again");
        out.says("535 5.7.8, error status 401");
        out.counts(&[("sent", 0), ("not_attempted", 3)]);
        // The AUTH, the answer to the error challenge, and no second try.
        let commands = server.commands();
        let at = commands.iter().position(|c| c.starts_with(mechanism));
        let next = at.and_then(|at| commands.get(at + 1)).map(String::as_str);
        assert_eq!(next, Some(answer), "{auth}: {commands:?}");
        assert_eq!(server.count("AUTH"), 1);
        assert_eq!(server.count("MAIL"), 0);
        assert_hidden(&f, &out, expired);
    }
}

#[test]
fn a_server_that_retired_passwords_says_what_works() {
    // 1. Only OAuth2 offered, a password login asked for: nothing is sent
    //    to the server but EHLO.
    let (f, server) = oauth_server();
    let out = send(&f, &server, "s3cret-pw")
        .args(["--auth", "plain"])
        .exits(3);
    out.says("no longer accepts a password");
    out.says("it offers only AUTH XOAUTH2 OAUTHBEARER");
    out.says("--auth xoauth2");
    out.says("app password");
    assert_eq!(server.count("AUTH"), 0);
    out.counts(&[("not_attempted", 3)]);

    // 2. Microsoft 365 with basic authentication off: AUTH LOGIN offered,
    //    answered 535 5.7.139.
    let (f, server) = serving(ServerConfig::default().sasl(Sasl {
        oauth: Some((USER.into(), TOKEN.into())),
        passwords_retired: true,
        ..Sasl::default()
    }));
    let out = send(&f, &server, "s3cret-pw").exits(3);
    out.says("535 5.7.139 (basic authentication is disabled)");
    out.says("--auth xoauth2");
    assert_eq!(server.count("AUTH LOGIN"), 1);
    assert_hidden(&f, &out, "s3cret-pw");

    // 3. Google: 534 5.7.9, an app password is required.
    let (f, server) = serving(ServerConfig::default().auth(USER, "s3cret-pw").sasl(Sasl {
        app_password_required: true,
        ..Sasl::default()
    }));
    let out = send(&f, &server, "s3cret-pw").exits(3);
    out.says("534 5.7.9");
    out.says("app password");
    assert_eq!(server.count("AUTH"), 1);
    assert!(server.received().is_empty());

    // 4. A password given where only OAuth2 is offered (auto): the token
    //    error says that passwords are retired too.
    let (f, server) = oauth_server();
    let out = send(&f, &server, "s3cret-pw").exits(3);
    out.says("If you gave a password");
    assert_hidden(&f, &out, "s3cret-pw");
}
