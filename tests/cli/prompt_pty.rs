//! Prompts on a real terminal: the binary runs on a pseudo-terminal, asks for
//! what is missing and uses the answers.

use rexpect::process::WaitStatus;
use rexpect::session::{Options, PtySession, spawn_with_options};

use crate::smtp_server::{Sasl, ServerConfig};
use crate::support::{DATE, NAME, ORGANISATION, SIGNER, TestCampaign, serving};

/// Generous: a loaded CI machine may be slow to start the binary.
const TIMEOUT_MS: u64 = 10_000;

/// `write --to supreme-court --lang en` with no signer, on a fresh
/// pseudo-terminal.
fn spawn_write(tc: &TestCampaign) -> PtySession {
    let mut cmd = tc.std_cmd();
    cmd.args(["write", "--to", "supreme-court", "--lang", "en"])
        .args(["--date", DATE]);
    on_a_terminal(cmd, TIMEOUT_MS)
}

/// `cmd` on a fresh pseudo-terminal that understands colours, waiting
/// `timeout_ms` at most for each thing the test expects to see.
fn on_a_terminal(mut cmd: std::process::Command, timeout_ms: u64) -> PtySession {
    cmd.env("TERM", "xterm").env_remove("NO_COLOR");
    let options = Options::new()
        .timeout_ms(Some(timeout_ms))
        .strip_ansi_escape_codes(true);
    spawn_with_options(cmd, options).expect("start the binary on a pty")
}

/// What the terminal showed until the program ended, which it must do
/// with exit status `code`.
fn ends(session: &mut PtySession, code: i32) -> String {
    let shown = session.exp_eof().expect("the program ends");
    let status = session.process().wait().unwrap();
    assert!(
        matches!(status, WaitStatus::Exited(_, c) if c == code),
        "exit status {status:?}: {shown:?}"
    );
    shown
}

/// Answers both prompts; returns what the terminal showed after the last
/// answer, split at the closing (body, signature), once the process ended.
fn answer(session: &mut PtySession, name: &str, organisation: &str) -> (String, String) {
    session.exp_string("Your name").expect("name prompt");
    session.send_line(name).unwrap();
    session
        .exp_string("Organisation you sign for")
        .expect("organisation prompt");
    session.send_line(organisation).unwrap();
    let body = session.exp_string("Yours faithfully,").expect("the letter");
    let rest = ends(session, 0);
    (body.replace('\r', ""), rest.replace('\r', ""))
}

#[test]
fn prompts_for_name_and_organisation() {
    let tc = TestCampaign::new();
    let mut session = spawn_write(&tc);
    let (body, signature) = answer(&mut session, NAME, ORGANISATION);
    assert!(body.contains("The Chair of the Supreme Court\n"), "{body}");
    assert!(
        body.contains("\nI write on behalf of Unite Branch 42 about Natalia"),
        "{body}"
    );
    let lines: Vec<&str> = signature.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines, [NAME, ORGANISATION]);
}

#[test]
fn empty_organisation_signs_as_an_individual() {
    let tc = TestCampaign::new();
    let mut session = spawn_write(&tc);
    let (body, signature) = answer(&mut session, NAME, "");
    assert!(body.contains("Dear Chair of the Supreme Court,"), "{body}");
    assert!(body.contains("\nI write about Natalia Sokolova,"), "{body}");
    assert!(!body.contains("on behalf of"), "{body}");
    let lines: Vec<&str> = signature.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines, [NAME]);
}

/// Everything a batch `write` shows on a terminal, with `extra` flags.
fn batch_on_a_terminal(tc: &TestCampaign, extra: &[&str]) -> String {
    let mut csv = String::from("name,organisation\n");
    for i in 0..120 {
        csv.push_str(&format!("Member {i},Branch {i}\n"));
    }
    tc.work_file("members.csv", csv);
    let mut cmd = tc.std_cmd();
    cmd.args(extra)
        .args(["write", "--to", "supreme-court", "--date", DATE])
        .args(["--signatories", "members.csv"])
        .args(["--out-dir", "out", "--force"]);
    let mut session = on_a_terminal(cmd, TIMEOUT_MS * 6);
    let shown = ends(&mut session, 0);
    assert_eq!(
        std::fs::read_dir(tc.work().join("out")).unwrap().count(),
        120
    );
    shown
}

#[test]
fn quiet_hides_the_progress_bar_on_a_terminal() {
    let tc = TestCampaign::new();
    let loud = batch_on_a_terminal(&tc, &[]);
    assert!(loud.contains("writing "), "no progress bar: {loud:?}");
    assert!(loud.contains("wrote 120 files"), "{loud:?}");
    // Its rate is rounded for reading: `1,193/s` or `12.5/s`, never
    // `1,192.778/s`.
    let rates: Vec<&str> = loud
        .match_indices("/s")
        .map(|(at, _)| {
            let before = &loud[..at];
            let start = before
                .rfind(|c: char| !(c.is_ascii_digit() || c == ',' || c == '.'))
                .map_or(0, |i| i + 1);
            &before[start..]
        })
        .filter(|rate| !rate.is_empty())
        .collect();
    assert!(!rates.is_empty(), "no rate shown: {loud:?}");
    for rate in rates {
        let decimals = rate.split_once('.').map_or(0, |(_, d)| d.len());
        assert!(decimals <= 1, "rate {rate}/s in {loud:?}");
    }
    let quiet = batch_on_a_terminal(&tc, &["-q"]);
    assert!(quiet.trim().is_empty(), "-q showed: {quiet:?}");
}

/// Ctrl-C at "Send N emails?" sends nothing, shows the cursor again (the
/// question hid it) and exits 130.
#[test]
fn ctrl_c_at_the_confirmation_sends_nothing_and_restores_the_cursor() {
    use crate::smtp_server::{ServerConfig, SmtpServer};
    let tc = TestCampaign::sendable();
    let server = SmtpServer::start(ServerConfig::default());
    let mut cmd = tc.campaign_std_cmd();
    cmd.args(["send", "--journal"])
        .arg(tc.journal())
        .args(crate::support::SIGNER)
        .args(["--organisation", ORGANISATION, "--to", "supreme-court"])
        .args(["--smtp", &server.url()]);
    cmd.env("TERM", "xterm").env_remove("NO_COLOR");
    let options = Options::new()
        .timeout_ms(Some(TIMEOUT_MS))
        .strip_ansi_escape_codes(false);
    let mut session = spawn_with_options(cmd, options).expect("start the binary on a pty");
    session.exp_string("Send 1 email?").expect("the question");
    session.send_control('c').unwrap();
    let rest = ends(&mut session, 130);
    assert!(
        rest.contains("\u{1b}[?25h"),
        "the cursor is shown again: {rest:?}"
    );
    assert!(server.received().is_empty());
    assert!(tc.journal_text().is_empty(), "{}", tc.journal_text());
}

/// With an OAuth2 mechanism, the hidden prompt asks for a token, and what
/// is typed is neither shown nor written down.
#[test]
fn the_prompt_asks_for_a_token_when_the_login_takes_one() {
    const TOKEN: &str = "ya29.typed-Token-0123456789";
    let (tc, server) = serving(ServerConfig::default().sasl(Sasl {
        oauth: Some(("jo".into(), TOKEN.into())),
        ..Sasl::default()
    }));
    let mut cmd = tc.campaign_std_cmd();
    cmd.arg("send").arg("--journal").arg(tc.journal());
    cmd.args(SIGNER).args(["--organisation", ORGANISATION]);
    cmd.args(["--yes", "--auth", "xoauth2"]);
    cmd.args(["--smtp", &format!("smtp://jo@127.0.0.1:{}", server.port())]);
    let mut session = on_a_terminal(cmd, TIMEOUT_MS);
    session
        .exp_string("SMTP OAuth2 token for jo at 127.0.0.1")
        .expect("the token prompt");
    session.send_line(TOKEN).unwrap();
    let shown = ends(&mut session, 0);
    assert_eq!(server.received().len(), 3);
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(!tc.journal_text().contains(TOKEN));
}

#[test]
fn a_pdf_is_refused_on_a_terminal() {
    let tc = TestCampaign::new();
    let mut cmd = tc.std_cmd();
    cmd.args(["write", "--to", "supreme-court", "--name", NAME])
        .args(["--format", "pdf"]);
    let mut session = on_a_terminal(cmd, TIMEOUT_MS);
    let shown = ends(&mut session, 2);
    assert!(shown.contains("a PDF is binary"), "{shown:?}");
    assert!(!shown.contains("%PDF"), "the PDF reached the terminal");
}
