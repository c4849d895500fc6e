//! How one message leaves this machine: an SMTP session (our client in
//! `smtp`: STARTTLS or TLS, optional AUTH, one reused connection,
//! reconnect when it drops) or a sendmail-compatible program. Every outcome
//! is sorted into accepted, temporary (try again later), permanent (give up
//! on this letter), unreachable (nothing will get through right now),
//! busy (the server wants fewer connections) or uncertain (the message left
//! but no definite reply came: it must not be sent again).
//!
//! The line between temporary and uncertain is the final dot: before it,
//! the server cannot have the message; after it, only its reply tells.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};

mod auth;
pub mod smtp;
pub mod tls;

use crate::message::Composed;
use crate::settings::{Security, SmtpSettings};
use smtp::{Client, ConnectError, Reply};
use tls::{Tls, fingerprint_text};

/// What happened to one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server took responsibility for the message; its reply.
    Accepted(String),
    /// 4xx, a timeout or a dropped connection before the message left:
    /// try again later.
    Temporary(String),
    /// 5xx: this letter will not go through as it is.
    Permanent(String),
    /// Could not connect at all (refused, DNS, no greeting): nothing can be
    /// sent now.
    Unreachable(String),
    /// The server has too many connections from us (421 before any
    /// transaction): this connection should not be used. The dispatcher
    /// goes on with fewer connections; with only one, it is temporary.
    Busy(String),
    /// The message (the final dot, or the message given to a sendmail
    /// program) left and no definite reply came: the connection dropped,
    /// the reply was late past the timeout or did not parse. The server
    /// may have it, so it is never retried automatically.
    Uncertain(String),
    /// The server refuses more mail from this account for now: a sending
    /// limit (`550 5.4.5 Daily user sending limit exceeded`, `421 4.7.28`,
    /// `554 5.2.0 … SubmissionQuotaExceeded`). Trying the next letters only
    /// adds refusals, so the run stops.
    Quota(String),
}

impl Outcome {
    /// A refusal that is a sending limit, told by its status code or words,
    /// becomes [`Outcome::Quota`].
    pub fn or_quota(self) -> Outcome {
        match self {
            Outcome::Temporary(t) | Outcome::Permanent(t) | Outcome::Busy(t) if is_quota(&t) => {
                Outcome::Quota(t)
            }
            other => other,
        }
    }
}

/// Whether a reply says the account has reached a sending limit. Providers
/// word it differently; these are the status codes and words they use.
pub fn is_quota(reply: &str) -> bool {
    const SIGNS: [&str; 11] = [
        "5.4.5",
        "4.7.28",
        "quota",
        "sending limit",
        "limit exceeded",
        "rate limit",
        "ratelimit",
        "too many messages",
        "unusual rate",
        "message limit",
        "recipient limit",
    ];
    let reply = reply.to_ascii_lowercase();
    SIGNS.iter().any(|s| reply.contains(s))
}

/// The queue id a server gives in its reply to a message, as proof of
/// sending: Postfix and most servers "queued as ID", Exim "id=ID", Gmail
/// the token before "- gsmtp".
pub fn queue_id(reply: &str) -> Option<String> {
    let token = |rest: &str| {
        rest.split(|c: char| c.is_whitespace() || c == ')' || c == ',' || c == ';')
            .find(|t| !t.is_empty())
            .map(str::to_string)
    };
    let lower = reply.to_ascii_lowercase();
    if let Some(at) = lower.find("queued as ") {
        return token(&reply[at + "queued as ".len()..]);
    }
    if let Some(at) = lower.find("id=") {
        return token(&reply[at + 3..]);
    }
    if let Some(at) = lower.find(" - gsmtp") {
        return reply[..at].split_whitespace().last().map(str::to_string);
    }
    None
}

/// A way to deliver messages, kept open across messages.
pub trait Deliver {
    /// Delivers one message. `commit` is called once, when the server or
    /// program is ready for the message itself and just before its content
    /// leaves (SMTP: after the 354; sendmail: before the program is given
    /// the message): the caller journals the attempt there, so that a run
    /// stopped while connecting or logging in leaves nothing uncertain. If
    /// `commit` fails, the message does not leave and its error is
    /// returned. `Err` is a failure that stops the whole run (TLS, login or
    /// sender refused): retrying cannot help.
    fn deliver(&mut self, composed: &Composed, commit: &mut Commit<'_>) -> Result<Outcome>;
    /// Closes politely (QUIT).
    fn close(&mut self);
    /// Describes the transport, without secrets.
    fn describe(&self) -> String;
}

/// An SMTP session that connects on first use and after any failure.
pub struct SmtpSession {
    settings: SmtpSettings,
    tls: Tls,
    password: Option<String>,
    /// This machine's fully qualified name, looked up once.
    fqdn: Option<String>,
    client: Option<Client>,
    /// Whether `client` has carried a transaction already (a server may
    /// have closed such an idle connection since).
    reused: bool,
    /// Whether the server accepts pipelined commands (RFC 2920).
    pipelining: bool,
    /// Number of connections opened, for verbose output and tests.
    pub connections: usize,
    /// Recipients this session's server refused for good (5xx at RCPT),
    /// lower-cased, with the reply. A letter that carries one fails at once
    /// without offering it again: each offer counts against the server's
    /// error limit (Postfix's `smtpd_soft_error_limit` then slows every
    /// later command by a second), so one dead copy address would otherwise
    /// cost minutes per batch.
    refused_for_good: HashMap<String, String>,
}

/// What [`Deliver::deliver`] calls before the message leaves.
pub type Commit<'a> = dyn FnMut() -> Result<()> + 'a;

/// How a session step failed.
enum Failure {
    /// Give up on this attempt with this outcome (the connection is gone).
    Outcome(Outcome),
    /// Stop the run.
    Fatal(anyhow::Error),
    /// The caller's commit failed in the middle of DATA: the message did
    /// not leave, and the connection cannot be used (or even quit) again.
    Halted(anyhow::Error),
}

/// Checks the TLS settings (`--ca-cert`) without connecting.
pub fn check_tls(settings: &SmtpSettings) -> Result<()> {
    Tls::new(settings.ca_cert.as_ref(), &settings.tls_fingerprints).map(drop)
}

impl SmtpSession {
    pub fn new(settings: SmtpSettings, password: Option<String>) -> Result<Self> {
        let tls = Tls::new(settings.ca_cert.as_ref(), &settings.tls_fingerprints)?;
        if let (Some(user), None) = (&settings.user, &password) {
            bail!("no SMTP password for `{}`", settings.user_display(user));
        }
        let fqdn = match &settings.helo {
            Some(name) => Some(name.clone()),
            None => smtp::local_fqdn(),
        };
        Ok(SmtpSession {
            settings,
            tls,
            password,
            fqdn,
            client: None,
            reused: false,
            pipelining: false,
            connections: 0,
            refused_for_good: HashMap::new(),
        })
    }

    /// Connects, reads the greeting, says EHLO, starts TLS and logs in.
    fn open(&mut self) -> std::result::Result<Client, Failure> {
        let s = &self.settings;
        let mut client = match Client::connect(&s.host, s.port, s.timeout) {
            Ok(client) => client,
            Err(ConnectError::Resolve(e) | ConnectError::Connect(e)) => {
                return Err(Failure::Outcome(Outcome::Unreachable(format!(
                    "cannot connect to {}: {e}",
                    s.display()
                ))));
            }
        };
        self.connections += 1;
        match self.handshake(&mut client) {
            Ok(()) => Ok(client),
            // Refused for good (login, sender, TLS): say goodbye properly.
            Err(fatal @ Failure::Fatal(_)) => {
                client.quit();
                Err(fatal)
            }
            Err(failure) => {
                client.abort();
                Err(failure)
            }
        }
    }

    fn handshake(&mut self, client: &mut Client) -> std::result::Result<(), Failure> {
        let s = &self.settings;
        if s.security == Security::Tls {
            client
                .start_tls(self.tls.config.clone(), &s.host, "the TLS handshake")
                .map_err(|e| self.tls_failure(e, true))?;
        }
        let greeting = client.read_reply("the greeting").map_err(|e| {
            // A server that does not greet will not take the next letter
            // either: stop after this letter's retries.
            Failure::Outcome(Outcome::Unreachable(format!("{}: {e}", s.display())))
        })?;
        match greeting.class() {
            2 => {}
            _ if greeting.code == 421 => {
                return Err(Failure::Outcome(Outcome::Busy(greeting.to_string())));
            }
            4 => return Err(Failure::Outcome(Outcome::Temporary(greeting.to_string()))),
            _ => {
                return Err(Failure::Fatal(anyhow!(
                    "{} refused the session: {greeting}",
                    s.display()
                )));
            }
        }
        let name = smtp::hello_name(self.fqdn.as_deref(), client.local_addr());
        let mut ext = self.hello(client, &name)?;
        let starttls = match s.security {
            Security::Tls => false,
            Security::StartTls if !ext.starttls => {
                return Err(Failure::Fatal(anyhow!(
                    "{} does not offer STARTTLS, and protest-letter never sends in clear text to a \
                     server that is not on this machine. Use smtps://{}:465 if the server offers TLS",
                    s.display(),
                    s.host
                )));
            }
            Security::StartTls => true,
            Security::LoopbackOpportunistic => ext.starttls,
        };
        if starttls {
            let reply = client.command("STARTTLS", "STARTTLS").map_err(temporary)?;
            if reply.class() != 2 {
                return Err(Failure::Outcome(Outcome::Temporary(format!(
                    "STARTTLS refused: {reply}"
                ))));
            }
            client
                .start_tls(self.tls.config.clone(), &s.host, "the TLS handshake")
                .map_err(|e| self.tls_failure(e, false))?;
            // RFC 3207: forget what was said before TLS and ask again.
            ext = self.hello(client, &name)?;
        }
        self.pipelining = ext.pipelining;
        if let Some(user) = &s.user {
            let login = auth::Login {
                settings: s,
                user,
                secret: self.password.as_deref().unwrap_or(""),
            };
            login.run(client, &ext.auth)?;
        }
        Ok(())
    }

    fn hello(
        &self,
        client: &mut Client,
        name: &str,
    ) -> std::result::Result<smtp::Extensions, Failure> {
        match client.hello(name).map_err(temporary)? {
            Ok(ext) => Ok(ext),
            Err(reply) if reply.code == 421 => {
                Err(Failure::Outcome(Outcome::Busy(reply.to_string())))
            }
            Err(reply) if reply.class() == 4 => Err(Failure::Outcome(Outcome::Temporary(format!(
                "EHLO {name}: {reply}"
            )))),
            Err(reply) => Err(Failure::Fatal(anyhow!(
                "{} refused our greeting `EHLO {name}`: {reply}. Give the name of this machine that \
                 the server accepts with --helo NAME",
                self.settings.display()
            ))),
        }
    }

    /// A TLS failure: a refused certificate or a plain-text server will be
    /// the same next time, so the run stops with advice.
    fn tls_failure(&self, e: smtp::Error, implicit: bool) -> Failure {
        let s = &self.settings;
        let error = match e {
            smtp::Error::Tls { error, .. } => error,
            smtp::Error::Timeout { .. } => {
                return Failure::Outcome(Outcome::Unreachable(format!("{}: {e}", s.display())));
            }
            other => return Failure::Outcome(Outcome::Temporary(other.to_string())),
        };
        let why = match &error {
            rustls::Error::InvalidMessage(_) if implicit => format!(
                "{}: the server did not start TLS (it answered in plain text). For STARTTLS, \
                 usually on port 587, use smtp://{}:{}",
                s.display(),
                s.host,
                s.port
            ),
            rustls::Error::InvalidCertificate(cert) => {
                let seen = self
                    .tls
                    .last_seen()
                    .map(|fp| {
                        format!(
                            ". The server's certificate has SHA-256 fingerprint {}: if your provider \
                             confirms it, --tls-fingerprint accepts exactly that certificate",
                            fingerprint_text(&fp)
                        )
                    })
                    .unwrap_or_default();
                format!(
                    "TLS with {} failed: the server's certificate is not trusted ({cert:?}). If the \
                     server uses a private certificate authority, pass it with --ca-cert FILE; for a \
                     self-signed certificate pass the certificate itself with --ca-cert{seen}",
                    s.display()
                )
            }
            other => format!("TLS with {} failed: {other}", s.display()),
        };
        Failure::Fatal(anyhow!(why))
    }

    /// MAIL and RCPT (pipelined when offered), then DATA only if every
    /// recipient was accepted, else RSET; then the message.
    fn transaction(
        &mut self,
        client: &mut Client,
        composed: &Composed,
        commit: &mut Commit<'_>,
    ) -> std::result::Result<Outcome, Failure> {
        let envelope = &composed.envelope;
        let recipients = envelope.recipients();
        let mail = format!("MAIL FROM:<{}>", envelope.from);
        let rcpts: Vec<String> = recipients
            .iter()
            .map(|r| format!("RCPT TO:<{r}>"))
            .collect();

        // Anything read past the last reply was not asked for: start
        // again on a new connection (nothing of this letter was sent).
        client.nothing_unread("MAIL FROM").map_err(stale)?;
        let mut rcpt_replies = Vec::with_capacity(rcpts.len());
        let mail_reply;
        if self.pipelining {
            let mut batch = format!("{mail}\r\n");
            for rcpt in &rcpts {
                batch.push_str(rcpt);
                batch.push_str("\r\n");
            }
            client.send(batch.as_bytes(), "MAIL FROM").map_err(stale)?;
            mail_reply = client.read_reply("MAIL FROM").map_err(stale)?;
            // Every reply is read, even after a refusal, to stay in step.
            for _ in &rcpts {
                rcpt_replies.push(client.read_reply("RCPT TO").map_err(temporary)?);
            }
        } else {
            mail_reply = client.command(&mail, "MAIL FROM").map_err(stale)?;
            if mail_reply.class() == 2 {
                for rcpt in &rcpts {
                    rcpt_replies.push(client.command(rcpt, "RCPT TO").map_err(temporary)?);
                }
            }
        }
        if mail_reply.class() != 2 {
            return Err(self.mail_refused(&mail_reply, &envelope.from));
        }
        let refused: Vec<(&str, &Reply)> = recipients
            .iter()
            .zip(&rcpt_replies)
            .filter(|(_, r)| r.class() != 2)
            .map(|(a, r)| (*a, r))
            .collect();
        if !refused.is_empty() {
            if refused.len() == recipients.len() && refused.iter().all(|(_, r)| r.code == 553) {
                return Err(Failure::Fatal(
                    self.sender_not_owned(&envelope.from, refused[0].1),
                ));
            }
            if refused.iter().any(|(_, r)| r.code == 421) {
                return Err(Failure::Outcome(Outcome::Temporary(
                    refused[0].1.to_string(),
                )));
            }
            let text = refused
                .iter()
                .map(|(a, r)| format!("<{a}> refused: {r}"))
                .collect::<Vec<_>>()
                .join("; ");
            for (address, reply) in refused.iter().filter(|(_, r)| r.class() == 5) {
                self.refused_for_good
                    .insert(address.to_lowercase(), reply.to_string());
            }
            let outcome = if refused.iter().any(|(_, r)| r.class() == 5) {
                Outcome::Permanent(text)
            } else {
                Outcome::Temporary(text)
            };
            return reset(client, outcome);
        }

        let data = client.command("DATA", "DATA").map_err(temporary)?;
        match data.code {
            354 => {}
            421 => return Err(Failure::Outcome(Outcome::Temporary(data.to_string()))),
            _ => {
                let text = format!("DATA: {data}");
                let outcome = match data.class() {
                    5 => Outcome::Permanent(text),
                    _ => Outcome::Temporary(text),
                };
                return reset(client, outcome);
            }
        }
        client.set_in_data(true);
        // A reply already there (a `250` with the `354`) came before the
        // message: the server is out of step and is not sent the message.
        client.expect_silence("DATA").map_err(|e| {
            Failure::Outcome(Outcome::Temporary(format!(
                "{e}; the message was not sent and this connection is closed"
            )))
        })?;
        commit().map_err(Failure::Halted)?;
        // A failed write means the final dot, the last bytes, never left:
        // the server cannot have accepted the message.
        let content = smtp::data_content(&composed.message.formatted());
        client.send(&content, "the message").map_err(temporary)?;
        let reply = client.read_reply("the end of the message").map_err(|e| {
            Failure::Outcome(Outcome::Uncertain(format!(
                "the message left but no definite reply came: {e}"
            )))
        })?;
        client.set_in_data(false);
        Ok(match reply.class() {
            2 => Outcome::Accepted(reply.to_string()),
            _ if reply.code == 421 => {
                return Err(Failure::Outcome(Outcome::Temporary(reply.to_string())));
            }
            4 => Outcome::Temporary(reply.to_string()),
            _ => Outcome::Permanent(reply.to_string()),
        })
    }

    /// A letter to a recipient the server already refused for good in this
    /// run fails the same way, without asking the server again.
    fn refused_before(&self, composed: &Composed) -> Option<Outcome> {
        let text = composed
            .envelope
            .recipients()
            .iter()
            .filter_map(|a| {
                let reply = self.refused_for_good.get(&a.to_lowercase())?;
                Some(format!("<{a}> refused earlier in this run: {reply}"))
            })
            .collect::<Vec<_>>()
            .join("; ");
        (!text.is_empty()).then_some(Outcome::Permanent(text))
    }

    /// A refused MAIL FROM: 553 means the login may not use this sender,
    /// which every later letter would hit too.
    fn mail_refused(&self, reply: &Reply, from: &str) -> Failure {
        match reply.code {
            553 => Failure::Fatal(self.sender_not_owned(from, reply)),
            421 => Failure::Outcome(Outcome::Temporary(format!("{STALE}{reply}"))),
            _ if reply.class() == 4 => {
                Failure::Outcome(Outcome::Temporary(format!("MAIL FROM: {reply}")))
            }
            _ => Failure::Outcome(Outcome::Permanent(format!(
                "MAIL FROM:<{from}> refused: {reply}"
            ))),
        }
    }

    fn sender_not_owned(&self, from: &str, reply: &Reply) -> anyhow::Error {
        let s = &self.settings;
        match &s.user {
            Some(user) => {
                let user = s.user_display(user);
                anyhow!(
                    "the server does not let user {user} send as {from}; use --email {user} or log in as \
                     {from} (the server said: {reply})"
                )
            }
            None => anyhow!(
                "the server does not accept {from} as the sender without a login; log in \
                 (smtp://USER@{}) or use the address the server expects with --email (the server said: {reply})",
                s.host
            ),
        }
    }
}

/// A step failed before the message left: try again later, on a new
/// connection.
fn temporary(e: smtp::Error) -> Failure {
    Failure::Outcome(Outcome::Temporary(e.to_string()))
}

/// No answer to the first command of a transaction: on a reused
/// connection the server may just have closed it while idle.
fn stale(e: smtp::Error) -> Failure {
    Failure::Outcome(Outcome::Temporary(format!("{STALE}{e}")))
}

const STALE: &str = "connection lost: ";

/// Resets a refused transaction so the connection can carry the next
/// one; if the reset fails, the outcome stands and the connection goes.
fn reset(client: &mut Client, outcome: Outcome) -> std::result::Result<Outcome, Failure> {
    match client.command("RSET", "RSET") {
        Ok(reply) if reply.class() == 2 => Ok(outcome),
        _ => Err(Failure::Outcome(outcome)),
    }
}

impl Deliver for SmtpSession {
    fn deliver(&mut self, composed: &Composed, commit: &mut Commit<'_>) -> Result<Outcome> {
        if let Some(outcome) = self.refused_before(composed) {
            return Ok(outcome);
        }
        // At most one quiet reconnect: for a reused connection the server
        // closed while we were idle. Nothing was sent on it.
        for _ in 0..2 {
            let (mut client, was_reused) = match self.client.take() {
                Some(client) => (client, self.reused),
                None => match self.open() {
                    Ok(client) => (client, false),
                    Err(Failure::Outcome(outcome)) => return Ok(outcome),
                    Err(Failure::Fatal(e) | Failure::Halted(e)) => return Err(e),
                },
            };
            match self.transaction(&mut client, composed, commit) {
                Ok(outcome) => {
                    self.client = Some(client);
                    self.reused = true;
                    return Ok(outcome);
                }
                Err(Failure::Fatal(e)) => {
                    // Nothing is in flight: say goodbye properly.
                    client.quit();
                    return Err(e);
                }
                Err(Failure::Halted(e)) => {
                    // Closed without the final dot: the server drops it.
                    client.abort();
                    self.reused = false;
                    return Err(e);
                }
                Err(Failure::Outcome(Outcome::Temporary(text)))
                    if was_reused && text.starts_with(STALE) =>
                {
                    client.abort();
                    self.reused = false;
                }
                Err(Failure::Outcome(outcome)) => {
                    client.abort();
                    self.reused = false;
                    return Ok(outcome);
                }
            }
        }
        Ok(Outcome::Temporary(
            "the connection was lost twice before the message could be sent".into(),
        ))
    }

    fn close(&mut self) {
        if let Some(client) = self.client.take() {
            client.quit();
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

/// Hands each message to a sendmail-compatible program (`sendmail`,
/// `msmtp`): `PROGRAM -i -f FROM -- RECIPIENTS…` with the message on stdin,
/// bounded by `--timeout` for the whole run of the program.
pub struct Sendmail {
    program: PathBuf,
    timeout: Duration,
}

impl Sendmail {
    pub fn new(program: PathBuf, timeout: Duration) -> Self {
        Sendmail { program, timeout }
    }
}

/// sendmail's "temporary failure" exit status (sysexits.h EX_TEMPFAIL).
const EX_TEMPFAIL: i32 = 75;

impl Deliver for Sendmail {
    fn deliver(&mut self, composed: &Composed, commit: &mut Commit<'_>) -> Result<Outcome> {
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
        if let Err(e) = commit() {
            // It has read nothing: killed, it queues nothing (closing its
            // input instead would send an empty message).
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
        let mut bytes = composed.message.formatted();
        bytes.retain(|&b| b != b'\r');
        // Written and read on their own threads, so that a program that
        // neither reads nor exits (or leaves a child holding its pipes)
        // cannot block us past the timeout.
        let (wrote_tx, wrote) = std::sync::mpsc::channel();
        if let Some(mut stdin) = child.stdin.take() {
            std::thread::spawn(move || {
                let result = stdin.write_all(&bytes);
                drop(stdin);
                let _ = wrote_tx.send(result.is_ok());
            });
        }
        let (stderr_tx, stderr_text) = std::sync::mpsc::channel();
        if let Some(mut stderr) = child.stderr.take() {
            std::thread::spawn(move || {
                let mut text = Vec::new();
                let _ = std::io::Read::read_to_end(&mut stderr, &mut text);
                let _ = stderr_tx.send(text);
            });
        }
        let deadline = Instant::now() + self.timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(2)),
                Err(_) => break None,
            }
        };
        // A child the program left behind may hold its pipes open: wait for
        // the writer and reader only briefly.
        let grace = Duration::from_millis(if status.is_some() { 1000 } else { 100 });
        // The pipe holds a whole message before the program reads it, so
        // "written" is the best sign that the program had the message.
        let handed_over = wrote.recv_timeout(grace).unwrap_or(false);
        let stderr = stderr_text
            .recv_timeout(grace)
            .map(|t| String::from_utf8_lossy(&t).trim().to_string())
            .unwrap_or_default();
        let name = self.program.display();
        let after = smtp::seconds(self.timeout);
        Ok(match (status.map(|s| s.code()), handed_over) {
            (Some(Some(0)), true) => Outcome::Accepted(format!("accepted by {name}")),
            (Some(Some(0)), false) => Outcome::Uncertain(format!(
                "{name} exited with success before reading the whole message: {stderr}"
            )),
            (Some(Some(EX_TEMPFAIL)), _) => {
                Outcome::Temporary(format!("{name} (exit 75): {stderr}"))
            }
            (Some(Some(code)), _) => Outcome::Permanent(format!("{name} (exit {code}): {stderr}")),
            // It had the message and gave no answer: it may have queued it.
            (Some(None), true) => Outcome::Uncertain(format!(
                "{name} was killed by a signal after it had the message: {stderr}"
            )),
            (None, true) => Outcome::Uncertain(format!(
                "{name} did not finish within {after} (stopped) after it had the message; see --timeout"
            )),
            (Some(None), false) => Outcome::Temporary(format!(
                "{name} was killed by a signal before it read the message: {stderr}"
            )),
            (None, false) => Outcome::Temporary(format!(
                "{name} did not read the message within {after} (stopped); see --timeout"
            )),
        })
    }

    fn close(&mut self) {}

    fn describe(&self) -> String {
        format!("the sendmail program `{}`", self.program.display())
    }
}
