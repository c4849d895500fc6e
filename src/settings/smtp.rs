//! The SMTP server a run sends through: its URL checked (scheme, host, no
//! password, TLS policy), the login, and where each value came from so
//! that errors name the flag or the profile key that set it.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use super::profile::Profile;
use super::{Environment, pin};
use crate::cli;

/// How mail leaves this machine.
#[derive(Debug, Clone)]
pub enum TransportSettings {
    Smtp(SmtpSettings),
    /// A sendmail-compatible program, stopped after `timeout`.
    Sendmail {
        program: PathBuf,
        timeout: std::time::Duration,
    },
}

/// A checked SMTP URL; the password is looked up only when connecting.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    pub security: Security,
    /// `--ca-cert`, else the profile's `[smtp] ca_cert`.
    pub ca_cert: Option<Sourced<PathBuf>>,
    pub password: PasswordSource,
    /// How long to wait for the server at each step (`--timeout`).
    pub timeout: std::time::Duration,
    /// `--helo NAME`; else the machine's FQDN or an address literal.
    pub helo: Option<String>,
    /// `--tls-fingerprint`: accept only these server certificates.
    pub tls_fingerprints: Vec<pin::Fingerprint>,
    /// `--auth`, else the profile's `auth`, else auto.
    pub auth: crate::cli::SmtpAuth,
}

impl SmtpSettings {
    /// The URL as safe to show: scheme, user, host and port, no secret.
    pub fn display(&self) -> String {
        let scheme = if self.security == Security::Tls {
            "smtps"
        } else {
            "smtp"
        };
        let user = self
            .user
            .as_ref()
            .map(|u| format!("{}@", self.user_display(u).replace('@', "%40")))
            .unwrap_or_default();
        format!("{scheme}://{user}{}:{}", self.host, self.port)
    }

    /// The user name as shown in messages: `a%3Ab`, never `a:b`, which
    /// would read as a user and a password (URL-style `%` escapes for `:`,
    /// `%`, spaces and control characters; an address stays readable).
    pub fn user_display(&self, user: &str) -> String {
        const SHOWN: &percent_encoding::AsciiSet =
            &percent_encoding::CONTROLS.add(b' ').add(b':').add(b'%');
        percent_encoding::utf8_percent_encode(user, SHOWN).to_string()
    }
}

/// A value and where it came from (a flag, or the profile's file and
/// key), so that an error about it blames the right place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    pub value: T,
    /// `--ca-cert`, or `profile /home/jo/.config/…/profile.toml, [smtp] ca_cert`.
    pub from: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// smtps://: TLS from the first byte.
    Tls,
    /// smtp:// to a real server: STARTTLS or nothing.
    StartTls,
    /// smtp:// to a loopback address: STARTTLS when offered, else plain.
    LoopbackOpportunistic,
}

/// Where the SMTP password comes from (never from the URL).
#[derive(Clone)]
pub enum PasswordSource {
    Env(String),
    Command(String),
    Prompt,
    Missing,
}

impl std::fmt::Debug for PasswordSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never show the secret, even in debug output.
        match self {
            PasswordSource::Env(_) => f.write_str("Env(<hidden>)"),
            PasswordSource::Command(c) => write!(f, "Command({c:?})"),
            PasswordSource::Prompt => f.write_str("Prompt"),
            PasswordSource::Missing => f.write_str("Missing"),
        }
    }
}

/// Checks an SMTP URL: scheme, host, no password, and the TLS policy.
/// `from` is where the URL was given (`--smtp`, or the profile's file and
/// key), which its errors name.
pub(super) fn smtp(
    text: &str,
    from: &str,
    t: &cli::TransportArgs,
    env: &Environment,
    profile: &Profile,
) -> Result<SmtpSettings> {
    let url = url::Url::parse(text.trim()).map_err(|e| {
        anyhow::anyhow!("{from}: cannot read the URL ({e}); write it as smtp://user@host:587 or smtps://user@host:465")
    })?;
    if url.password().is_some() {
        bail!(
            "{from}: the URL contains a password, which would show up in shell history, process lists \
             and backups. Remove it and set PROTEST_LETTER_SMTP_PASSWORD, or password_command under [smtp] in your profile"
        );
    }
    let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
        bail!("{from}: the URL has no host; write it as smtp://user@host:587");
    };
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let (security, default_port) = match url.scheme() {
        "smtps" => (Security::Tls, 465),
        "smtp" if loopback => (Security::LoopbackOpportunistic, 587),
        "smtp" => (Security::StartTls, 587),
        other => {
            bail!("{from}: unknown scheme `{other}`; use smtp:// (STARTTLS) or smtps:// (TLS)")
        }
    };
    let user = Some(url.username())
        .filter(|u| !u.is_empty())
        .map(percent_decode);
    let password = match (
        &user,
        env.var("PROTEST_LETTER_SMTP_PASSWORD"),
        &profile.smtp.password_command,
    ) {
        (None, _, _) => PasswordSource::Missing,
        (Some(_), Some(p), _) => PasswordSource::Env(p.to_string()),
        (Some(_), None, Some(cmd)) => PasswordSource::Command(cmd.clone()),
        (Some(_), None, None) => PasswordSource::Prompt,
    };
    Ok(SmtpSettings {
        host,
        port: url.port().unwrap_or(default_port),
        user,
        security,
        ca_cert: match (&t.ca_cert, &profile.smtp.ca_cert) {
            (Some(path), _) => Some(Sourced {
                value: env.cwd.join(path),
                from: "--ca-cert".into(),
            }),
            (None, Some(path)) => Some(Sourced {
                value: path.clone(),
                from: profile.origin("[smtp] ca_cert"),
            }),
            (None, None) => None,
        },
        password,
        timeout: t.timeout,
        helo: t.helo.as_deref().map(helo_name).transpose()?,
        auth: t.auth.or(profile.smtp.auth).unwrap_or_default(),
        tls_fingerprints: t
            .tls_fingerprint
            .iter()
            .map(|text| {
                pin::parse_fingerprint(text).with_context(|| {
                    format!(
                        "--tls-fingerprint `{text}` is not a SHA-256 fingerprint: give 64 hex digits, \
                         with or without colons, as `openssl x509 -noout -fingerprint -sha256 -in CERT` prints them"
                    )
                })
            })
            .collect::<Result<_>>()?,
    })
}

/// `--helo NAME`: a domain name or an address literal such as `[192.0.2.1]`.
fn helo_name(text: &str) -> Result<String> {
    let name = text.trim();
    let literal = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .is_some_and(|ip| {
            ip.parse::<std::net::Ipv4Addr>().is_ok()
                || ip
                    .strip_prefix("IPv6:")
                    .is_some_and(|v6| v6.parse::<std::net::Ipv6Addr>().is_ok())
        });
    if literal || crate::campaign::address::is_domain(name) {
        Ok(name.to_string())
    } else {
        bail!(
            "--helo `{text}` is neither a host name (mail.example.org) nor an address literal \
             ([192.0.2.1] or [IPv6:2001:db8::1])"
        )
    }
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}
