//! How one message leaves this machine: an SMTP session (STARTTLS or TLS,
//! optional AUTH, one reused connection, reconnect when it drops) or a
//! sendmail-compatible program. Every outcome is sorted into accepted,
//! temporary (try again later), permanent (give up on this letter),
//! unreachable (nothing will get through right now) or uncertain (the
//! message left but no definite reply came: it must not be sent again).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, SmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::ClientId;

use crate::message::Composed;
use crate::settings::{Security, SmtpSettings};

/// What happened to one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server took responsibility for the message; its reply.
    Accepted(String),
    /// 4xx, a timeout or a dropped connection: try again later.
    Temporary(String),
    /// 5xx: this letter will not go through as it is.
    Permanent(String),
    /// Could not connect at all (refused, DNS): nothing can be sent now.
    Unreachable(String),
    /// The message (the final dot, or the message given to a sendmail
    /// program) left and no definite reply came: the connection dropped,
    /// the reply was late past the timeout or did not parse. The server
    /// may have it, so it is never retried automatically.
    Uncertain(String),
}

/// A way to deliver messages, kept open across messages.
pub trait Deliver {
    /// Delivers one message. `Err` is a failure that stops the whole run
    /// (TLS or authentication refused): retrying cannot help.
    fn deliver(&mut self, composed: &Composed) -> Result<Outcome>;
    /// Closes politely (QUIT).
    fn close(&mut self);
    /// Describes the transport, without secrets.
    fn describe(&self) -> String;
}

/// An SMTP session that connects on first use and after any failure.
pub struct SmtpSession {
    settings: SmtpSettings,
    tls: Option<TlsParameters>,
    credentials: Option<Credentials>,
    hello: ClientId,
    conn: Option<SmtpConnection>,
    /// Whether the server accepts pipelined commands (RFC 2920).
    pipelining: bool,
    /// Number of connections opened, for verbose output and tests.
    pub connections: usize,
}

impl SmtpSession {
    pub fn new(settings: SmtpSettings, password: Option<String>) -> Result<Self> {
        let tls = tls_parameters(&settings.host, settings.ca_cert.as_deref())?;
        let credentials = match (&settings.user, password) {
            (Some(user), Some(password)) => Some(Credentials::new(user.clone(), password)),
            (Some(user), None) => bail!("no SMTP password for `{user}`"),
            (None, _) => None,
        };
        Ok(SmtpSession {
            settings,
            tls: Some(tls),
            credentials,
            hello: ClientId::default(),
            conn: None,
            pipelining: false,
            connections: 0,
        })
    }

    fn connect(&mut self) -> Result<std::result::Result<SmtpConnection, Outcome>> {
        let s = &self.settings;
        let wrapper = (s.security == Security::Tls)
            .then_some(())
            .and(self.tls.as_ref());
        let mut conn = match SmtpConnection::connect(
            (s.host.as_str(), s.port),
            Some(self.settings.timeout),
            &self.hello,
            wrapper,
            None,
        ) {
            Ok(conn) => conn,
            Err(e) if e.is_tls() || is_certificate_error(&e) => {
                bail!(tls_advice(&self.settings, &e))
            }
            Err(e) if e.is_transient() => return Ok(Err(Outcome::Temporary(describe(&e)))),
            Err(e) if e.is_permanent() => {
                bail!("{} refused the session: {}", s.display(), describe(&e))
            }
            Err(e) => {
                return Ok(Err(Outcome::Unreachable(format!(
                    "cannot connect to {}: {}",
                    s.display(),
                    describe(&e)
                ))));
            }
        };
        self.connections += 1;
        let starttls = match s.security {
            Security::Tls => false,
            Security::StartTls => {
                if !conn.can_starttls() {
                    conn.abort();
                    bail!(
                        "{} does not offer STARTTLS, and protest-letter never sends in clear text to a \
                         server that is not on this machine. Use smtps://{}:465 if the server offers TLS",
                        s.display(),
                        s.host
                    );
                }
                true
            }
            Security::LoopbackOpportunistic => conn.can_starttls(),
        };
        if starttls
            && let Some(tls) = &self.tls
            && let Err(e) = conn.starttls(tls, &self.hello)
        {
            // A refused certificate will be refused next time too: stop.
            if e.is_tls() || is_certificate_error(&e) {
                bail!(tls_advice(&self.settings, &e));
            }
            return Ok(Err(Outcome::Temporary(format!(
                "STARTTLS failed: {}",
                describe(&e)
            ))));
        }
        // lettre keeps only the EHLO keywords it uses itself; ask again to
        // learn whether the server takes pipelined commands (before AUTH,
        // as some servers refuse a second EHLO after it).
        self.pipelining = conn
            .command(Ehlo::new(self.hello.clone()))
            .is_ok_and(|reply| {
                reply
                    .message()
                    .any(|line| line.trim().eq_ignore_ascii_case("PIPELINING"))
            });
        if let Some(credentials) = &self.credentials {
            use lettre::transport::smtp::authentication::Mechanism;
            if let Err(e) = conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials) {
                if e.is_transient() {
                    return Ok(Err(Outcome::Temporary(format!(
                        "authentication: {}",
                        describe(&e)
                    ))));
                }
                bail!(
                    "{} refused the login for `{}`: {}. Check the user name in the URL and the password \
                     (PROTEST_LETTER_SMTP_PASSWORD, password_command, or the prompt)",
                    s.display(),
                    s.user.as_deref().unwrap_or(""),
                    describe(&e)
                );
            }
        }
        Ok(Ok(conn))
    }
}

impl Deliver for SmtpSession {
    fn deliver(&mut self, composed: &Composed) -> Result<Outcome> {
        let mut conn = match self.conn.take() {
            Some(conn) => conn,
            None => match self.connect()? {
                Ok(conn) => conn,
                Err(outcome) => return Ok(outcome),
            },
        };
        let outcome = match transaction(&mut conn, composed, self.pipelining) {
            Ok(response) => Outcome::Accepted(reply_text(&response)),
            Err(Failure::AfterDot(e)) if e.status().is_none() => {
                // No definite reply to the message: the server may have it.
                conn.abort();
                Outcome::Uncertain(format!(
                    "the message left but no reply came: {}",
                    describe(&e)
                ))
            }
            Err(Failure::BeforeDot(e) | Failure::AfterDot(e)) => {
                // A refused command leaves the session usable after RSET; a
                // network error or 421 means the connection is gone.
                let closing = e.status().is_none_or(|code| code.to_string() == "421");
                if closing || conn.command(Rset).is_err() {
                    conn.abort();
                }
                if e.is_permanent() {
                    Outcome::Permanent(describe(&e))
                } else {
                    Outcome::Temporary(describe(&e))
                }
            }
        };
        if !conn.has_broken() {
            self.conn = Some(conn);
        }
        Ok(outcome)
    }

    fn close(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            let _ = conn.quit();
        }
    }

    fn describe(&self) -> String {
        let how = match self.settings.security {
            Security::Tls => "TLS",
            Security::StartTls => "STARTTLS required",
            Security::LoopbackOpportunistic => "loopback: STARTTLS if offered",
        };
        format!("{} ({how})", self.settings.display())
    }
}

/// One SMTP transaction: MAIL, RCPT for every envelope recipient, DATA and
/// the message. With PIPELINING the commands go out in one write and their
/// replies are read after it: one round trip instead of one per command.
/// The message and its terminating dot go out in a single write: lettre
/// writes the terminator separately, and on Linux that small second write
/// waits for a delayed ACK (about 40 ms per message).
///
/// An error while sending the message itself counts as after the dot:
/// lettre cannot tell a failed write from a missing reply, and taking a
/// letter the server may have as uncertain is the side that never sends
/// twice.
fn transaction(
    conn: &mut SmtpConnection,
    composed: &Composed,
    pipelining: bool,
) -> std::result::Result<lettre::transport::smtp::response::Response, Failure> {
    envelope_and_data(conn, composed, pipelining).map_err(Failure::BeforeDot)?;
    conn.command(DotStuffed(&composed.message.formatted()))
        .map_err(Failure::AfterDot)
}

/// Where in the transaction an error came.
enum Failure {
    /// MAIL, RCPT or DATA: the message did not leave.
    BeforeDot(lettre::transport::smtp::Error),
    /// While sending the message or waiting for its reply.
    AfterDot(lettre::transport::smtp::Error),
}

/// MAIL, RCPT for every envelope recipient and DATA, pipelined if offered.
fn envelope_and_data(
    conn: &mut SmtpConnection,
    composed: &Composed,
    pipelining: bool,
) -> std::result::Result<(), lettre::transport::smtp::Error> {
    let envelope = composed.message.envelope();
    let mail = Mail::new(envelope.from().cloned(), vec![]);
    let rcpts = envelope.to().iter().map(|to| Rcpt::new(to.clone(), vec![]));
    if pipelining {
        let mut batch = mail.to_string();
        for rcpt in rcpts {
            batch.push_str(&rcpt.to_string());
        }
        batch.push_str(&Data.to_string());
        // Every reply must be read, even after a refusal, to stay in step.
        let mut refused = conn.command(batch).err();
        for _ in envelope.to() {
            if let Err(e) = conn.read_response() {
                refused.get_or_insert(e);
            }
        }
        let data = conn.read_response();
        match (refused, data) {
            (None, Ok(_)) => {}
            // DATA was accepted although a command was refused: hang up
            // rather than send a message some recipients would miss.
            (Some(e), Ok(_)) => {
                conn.abort();
                return Err(e);
            }
            (Some(e), Err(_)) | (None, Err(e)) => return Err(e),
        }
    } else {
        conn.command(mail)?;
        for rcpt in rcpts {
            conn.command(rcpt)?;
        }
        conn.command(Data)?;
    }
    Ok(())
}

/// The message with dot-stuffing (RFC 5321 4.5.2) and the final `.` line.
struct DotStuffed<'a>(&'a [u8]);

impl std::fmt::Display for DotStuffed<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // lettre's formatted messages are ASCII (headers RFC 2047-encoded,
        // bodies quoted-printable or base64); lossy only guards the impossible.
        let text = String::from_utf8_lossy(self.0);
        let mut at_line_start = true;
        for line in text.split_inclusive('\n') {
            if at_line_start && line.starts_with('.') {
                f.write_str(".")?;
            }
            f.write_str(line)?;
            at_line_start = line.ends_with('\n');
        }
        if !text.ends_with('\n') {
            f.write_str("\r\n")?;
        }
        f.write_str(".\r\n")
    }
}

fn tls_parameters(host: &str, ca_cert: Option<&Path>) -> Result<TlsParameters> {
    let mut builder = TlsParameters::builder(host.to_string());
    if let Some(path) = ca_cert {
        let pem = fs_err::read(path).context("cannot read the --ca-cert file")?;
        let cert = Certificate::from_pem(&pem)
            .map_err(|e| anyhow::anyhow!("{} is not a PEM certificate: {e}", path.display()))?;
        builder = builder.add_root_certificate(cert);
    }
    builder
        .build_rustls()
        .map_err(|e| anyhow::anyhow!("cannot set up TLS: {e}"))
}

/// rustls reports a rejected certificate as an I/O error; lettre passes it
/// on as a network error. Retrying cannot help, so it is told apart here.
fn is_certificate_error(e: &lettre::transport::smtp::Error) -> bool {
    let text = describe(e).to_ascii_lowercase();
    text.contains("certificate") || text.contains("handshake") || text.contains("tls")
}

fn tls_advice(settings: &SmtpSettings, e: &lettre::transport::smtp::Error) -> String {
    format!(
        "TLS with {} failed: {}. If the server uses a private certificate authority, pass it with --ca-cert FILE",
        settings.display(),
        describe(e)
    )
}

/// lettre's error with its causes, on one line.
fn describe(e: &lettre::transport::smtp::Error) -> String {
    crate::campaign::error_chain(e)
}

fn reply_text(response: &lettre::transport::smtp::response::Response) -> String {
    let code = response.code();
    let text: Vec<&str> = response.message().collect();
    format!("{code} {}", text.join(" "))
}

/// Hands each message to a sendmail-compatible program (`sendmail`,
/// `msmtp`): `PROGRAM -i -f FROM -- RECIPIENTS…` with the message on stdin.
pub struct Sendmail {
    program: PathBuf,
}

impl Sendmail {
    pub fn new(program: PathBuf) -> Self {
        Sendmail { program }
    }
}

/// sendmail's "temporary failure" exit status (sysexits.h EX_TEMPFAIL).
const EX_TEMPFAIL: i32 = 75;

impl Deliver for Sendmail {
    fn deliver(&mut self, composed: &Composed) -> Result<Outcome> {
        let envelope = &composed.envelope;
        let mut child = match Command::new(&self.program)
            .arg("-i")
            .arg("-f")
            .arg(&envelope.from)
            .arg("--")
            .args(envelope.recipients())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
        {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "cannot run `{}`: not found. Install a sendmail-compatible program (sendmail, msmtp) \
                 or give its path with --sendmail PATH, or use --smtp",
                self.program.display()
            ),
            Err(e) => bail!("cannot run `{}`: {e}", self.program.display()),
        };
        let mut bytes = composed.message.formatted();
        bytes.retain(|&b| b != b'\r');
        let written = child
            .stdin
            .take()
            .map(|mut stdin| stdin.write_all(&bytes))
            .unwrap_or(Ok(()));
        let output = match child.wait_with_output() {
            Ok(output) => output,
            Err(e) => {
                return Ok(Outcome::Uncertain(format!(
                    "lost track of `{}` after giving it the message: {e}",
                    self.program.display()
                )));
            }
        };
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
        let name = self.program.display();
        Ok(match (output.status.code(), written) {
            (Some(0), Ok(())) => Outcome::Accepted(format!("accepted by {name}")),
            (Some(EX_TEMPFAIL), _) => Outcome::Temporary(format!("{name} (exit 75): {stderr}")),
            (Some(code), _) => Outcome::Permanent(format!("{name} (exit {code}): {stderr}")),
            // It had the message and gave no answer: it may have queued it.
            (None, _) => Outcome::Uncertain(format!("{name} was killed by a signal: {stderr}")),
        })
    }

    fn close(&mut self) {}

    fn describe(&self) -> String {
        format!("the sendmail program `{}`", self.program.display())
    }
}

#[cfg(test)]
mod tests {
    use super::DotStuffed;

    #[test]
    fn dot_stuffing() {
        let out = DotStuffed(b"Subject: x\r\n\r\n.hidden\r\nok.\r\n..two").to_string();
        assert_eq!(out, "Subject: x\r\n\r\n..hidden\r\nok.\r\n...two\r\n.\r\n");
    }
}
