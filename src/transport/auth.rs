//! Logging in (RFC 4954): PLAIN or LOGIN with a password, XOAUTH2 or
//! OAUTHBEARER (RFC 7628) with an OAuth2 access token from a token helper.
//!
//! Servers echo what they were sent, so nothing of a reply to AUTH is
//! shown but its code and enhanced status code, and a reply that is not
//! SMTP stops the run rather than being retried (and shown) per letter.
//! Servers that retired passwords are named with what works instead.

use anyhow::anyhow;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::smtp::{self, Client, Reply};
use super::{Failure, Outcome};
use crate::cli::SmtpAuth;
use crate::settings::SmtpSettings;

/// A SASL mechanism we can log in with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    Plain,
    Login,
    XOAuth2,
    OAuthBearer,
}

impl Mechanism {
    fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }

    fn takes_token(self) -> bool {
        matches!(self, Mechanism::XOAuth2 | Mechanism::OAuthBearer)
    }
}

/// Who logs in where, with what secret (a password or an access token).
pub struct Login<'a> {
    pub settings: &'a SmtpSettings,
    pub user: &'a str,
    pub secret: &'a str,
}

impl Login<'_> {
    /// The SASL PLAIN message, base64.
    fn plain(&self) -> String {
        BASE64.encode(format!("\0{}\0{}", self.user, self.secret))
    }

    /// XOAUTH2's initial response (Google's and Microsoft's format).
    fn xoauth2(&self) -> String {
        BASE64.encode(format!(
            "user={}\x01auth=Bearer {}\x01\x01",
            self.user, self.secret
        ))
    }

    /// OAUTHBEARER's initial response (RFC 7628 3.1): the GS2 header with
    /// the user as authzid (`,` and `=` escaped), then host, port, token.
    fn oauthbearer(&self) -> String {
        let user = self.user.replace('=', "=3D").replace(',', "=2C");
        let s = self.settings;
        BASE64.encode(format!(
            "n,a={user},\x01host={}\x01port={}\x01auth=Bearer {}\x01\x01",
            s.host, s.port, self.secret
        ))
    }

    /// Every form in which the secret leaves this machine, to be cut out
    /// of any reply that echoes it.
    fn secrets(&self) -> Vec<String> {
        vec![
            self.secret.to_string(),
            BASE64.encode(self.secret),
            self.plain(),
            self.xoauth2(),
            self.oauthbearer(),
        ]
    }

    /// Logs in on `client`, whose server offered `offered` in EHLO.
    pub(super) fn run(&self, client: &mut Client, offered: &[String]) -> Result<(), Failure> {
        client.add_secrets(self.secrets());
        let mechanism = self.choose(offered)?;
        let reply = self.exchange(client, mechanism)?;
        self.judge(mechanism, &reply, offered)
    }

    fn choose(&self, offered: &[String]) -> Result<Mechanism, Failure> {
        let s = self.settings;
        if offered.is_empty() {
            return Err(fatal(format!(
                "{} does not offer a login (no AUTH in its EHLO reply), so the user name `{}` \
                 cannot be used here. Check the port (submission is usually 587 with smtp://, or 465 \
                 with smtps://), or leave the user name out of the URL if the server needs no login",
                s.display(),
                s.user_display(self.user)
            )));
        }
        let has = |m: Mechanism| offered.iter().any(|o| o == m.name());
        let token = [Mechanism::XOAuth2, Mechanism::OAuthBearer]
            .into_iter()
            .find(|m| has(*m));
        let password = [Mechanism::Plain, Mechanism::Login]
            .into_iter()
            .find(|m| has(*m));
        let wanted = match s.auth {
            SmtpAuth::Auto => {
                let chosen = match (token, password) {
                    (Some(t), _) if looks_like_token(self.secret) => Some(t),
                    (_, Some(p)) => Some(p),
                    (t, None) => t,
                };
                return chosen.ok_or_else(|| {
                    fatal(format!(
                        "{} offers only AUTH {}; protest-letter can log in with PLAIN or LOGIN (a \
                         password) or XOAUTH2 or OAUTHBEARER (an OAuth2 token)",
                        s.display(),
                        offered.join(" ")
                    ))
                });
            }
            SmtpAuth::Plain => Mechanism::Plain,
            SmtpAuth::Login => Mechanism::Login,
            SmtpAuth::Xoauth2 => Mechanism::XOAuth2,
            SmtpAuth::Oauthbearer => Mechanism::OAuthBearer,
        };
        if has(wanted) {
            return Ok(wanted);
        }
        if !wanted.takes_token() && token.is_some() && password.is_none() {
            let why = format!("it offers only AUTH {}", offered.join(" "));
            return Err(Failure::Fatal(passwords_retired(s, &why)));
        }
        Err(fatal(format!(
            "{} does not offer AUTH {} (it offers AUTH {}); use --auth auto to choose from those",
            s.display(),
            wanted.name(),
            offered.join(" ")
        )))
    }

    /// Sends the mechanism's messages and returns the server's last reply.
    fn exchange(&self, client: &mut Client, mechanism: Mechanism) -> Result<Reply, Failure> {
        let mut command = |line: &str| client.command(line, "AUTH").map_err(auth_error);
        match mechanism {
            Mechanism::Plain => command(&format!("AUTH PLAIN {}", self.plain())),
            Mechanism::Login => {
                let mut reply = command("AUTH LOGIN")?;
                for answer in [BASE64.encode(self.user), BASE64.encode(self.secret)] {
                    if reply.code != 334 {
                        break;
                    }
                    reply = command(&answer)?;
                }
                Ok(reply)
            }
            Mechanism::XOAuth2 | Mechanism::OAuthBearer => {
                let response = match mechanism {
                    Mechanism::XOAuth2 => self.xoauth2(),
                    _ => self.oauthbearer(),
                };
                let reply = command(&format!("AUTH {} {response}", mechanism.name()))?;
                if reply.code != 334 {
                    return Ok(reply);
                }
                // The token was refused: the challenge holds the error as
                // JSON (RFC 7628 3.2.2). The client's answer ends the
                // exchange: a single %x01 for OAUTHBEARER (3.2.3), an empty
                // response for XOAUTH2 (Google's and Microsoft's spec).
                let status = error_status(reply.first_line());
                let answer = match mechanism {
                    Mechanism::OAuthBearer => BASE64.encode("\x01"),
                    _ => String::new(),
                };
                let last = command(&answer)?;
                if last.class() == 2 {
                    // A server that lets in after its own error is not
                    // following RFC 7628: do not trust it with letters.
                    return Err(fatal(format!(
                        "{} answered a refused token with {}: it does not follow RFC 7628, \
                         so nothing was sent",
                        self.settings.display(),
                        last.status()
                    )));
                }
                Err(Failure::Fatal(self.token_refused(&last, status, mechanism)))
            }
        }
    }

    /// Sorts the last reply to AUTH: in, try later, or stop the run.
    fn judge(
        &self,
        mechanism: Mechanism,
        reply: &Reply,
        offered: &[String],
    ) -> Result<(), Failure> {
        let s = self.settings;
        let status = reply.status();
        match (reply.class(), reply.code, reply.enhanced()) {
            (2, ..) => Ok(()),
            (5, 535, Some("5.7.139")) if !mechanism.takes_token() => {
                Err(Failure::Fatal(passwords_retired(
                    s,
                    &format!("it answered {status} (basic authentication is disabled)"),
                )))
            }
            // RFC 4954: 534 is "mechanism too weak"; Google's 534 5.7.9 asks
            // for an app password, 5.7.14 for a sign-in in the browser.
            (5, 534, enhanced) if !mechanism.takes_token() => {
                let why = match enhanced {
                    Some("5.7.9") => "an app password is required",
                    _ => "a stronger login is required",
                };
                Err(Failure::Fatal(passwords_retired(
                    s,
                    &format!("it answered {status} ({why})"),
                )))
            }
            (5, ..) if mechanism.takes_token() => {
                Err(Failure::Fatal(self.token_refused(reply, None, mechanism)))
            }
            (4, ..) => Err(Failure::Outcome(Outcome::Temporary(format!(
                "login: {status}"
            )))),
            _ => {
                let only_tokens = offered.iter().all(|o| o == "XOAUTH2" || o == "OAUTHBEARER");
                let hint = if only_tokens {
                    String::new()
                } else {
                    ". Check the user name in the URL and the password (PROTEST_LETTER_SMTP_PASSWORD, \
                     password_command, or the prompt)"
                        .to_string()
                };
                Err(fatal(format!(
                    "{} refused the login for `{}` with AUTH {}: {status}{hint}",
                    s.display(),
                    s.user_display(self.user),
                    mechanism.name()
                )))
            }
        }
    }

    fn token_refused(&self, reply: &Reply, status: Option<String>, m: Mechanism) -> anyhow::Error {
        let s = self.settings;
        let said = match status {
            Some(status) => format!("{}, error status {status}", reply.status()),
            None => reply.status(),
        };
        let mut text = format!(
            "{} refused the OAuth2 token for `{}` (AUTH {}: {said}): the token was refused or has \
             expired. Run your token helper again (the password_command under [smtp] in your \
             profile), and sign in with it again if it cannot renew the token",
            s.display(),
            s.user_display(self.user),
            m.name()
        );
        if s.auth == SmtpAuth::Auto && !looks_like_token(self.secret) {
            text.push_str(&format!(
                ". If you gave a password: {}",
                passwords_retired(s, "it offers only OAuth2 logins")
            ));
        }
        anyhow!(text)
    }
}

/// What a run with a password cannot do here, and what works instead.
fn passwords_retired(s: &SmtpSettings, why: &str) -> anyhow::Error {
    let name = match provider(&s.host) {
        Some(provider) => format!("{} ({provider})", s.host),
        None => s.host.clone(),
    };
    anyhow!(
        "{name} no longer accepts a password for this account: {why}. What works: an OAuth2 \
         access token from a token helper (such as oama or sasl-xoauth2) as password_command under \
         [smtp] in your profile, with --auth xoauth2; or, where the provider still allows it, an \
         app password (see \"OAuth2\" in the README)"
    )
}

/// The provider behind a well-known submission host, for messages.
fn provider(host: &str) -> Option<&'static str> {
    match host.to_ascii_lowercase().trim_end_matches('.') {
        "outlook.office365.com" | "smtp.office365.com" | "smtp-mail.outlook.com" => {
            Some("Microsoft 365 / Outlook.com")
        }
        "smtp.gmail.com" | "smtp.googlemail.com" => Some("Google"),
        _ => None,
    }
}

/// Whether a secret is an OAuth2 access token rather than a password: a
/// JWT (Microsoft 365), Google's `ya29.` tokens, or an opaque string far
/// longer than any password (Outlook.com).
fn looks_like_token(secret: &str) -> bool {
    let jwt = secret.starts_with("eyJ") && secret.matches('.').count() == 2;
    let long = secret.len() > 200 && !secret.contains(char::is_whitespace);
    jwt || secret.starts_with("ya29.") || long
}

/// The `status` of RFC 7628's JSON error challenge, safe to show.
fn error_status(challenge: &str) -> Option<String> {
    let bytes = BASE64.decode(challenge.trim()).ok()?;
    let json: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let status = match json.get("status")? {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let shown: String = status
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(40)
        .collect();
    (!shown.is_empty()).then_some(shown)
}

/// A failure during AUTH. A reply that is not SMTP, or out of step, may
/// hold the credentials and will be the same for every letter: the run
/// stops without showing it. A dropped or silent connection may pass.
fn auth_error(e: smtp::Error) -> Failure {
    match e {
        smtp::Error::Garbled { .. } | smtp::Error::Protocol { .. } => fatal(format!(
            "the server's answer to AUTH is not an SMTP reply (not shown: it may repeat your \
             credentials), so the login stopped and nothing was sent. Check that the URL names \
             the server's submission port ({e_kind})",
            e_kind = match e {
                smtp::Error::Protocol { .. } => "its replies were out of step",
                _ => "a line without a reply code",
            }
        )),
        other => Failure::Outcome(Outcome::Temporary(other.to_string())),
    }
}

fn fatal(text: String) -> Failure {
    Failure::Fatal(anyhow!(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> SmtpSettings {
        SmtpSettings {
            host: "smtp.gmail.com".into(),
            port: 587,
            user: Some("jo@example.org".into()),
            security: crate::settings::Security::StartTls,
            ca_cert: None,
            password: crate::settings::PasswordSource::Missing,
            timeout: std::time::Duration::from_secs(5),
            helo: None,
            tls_fingerprints: Vec::new(),
            auth: SmtpAuth::Auto,
        }
    }

    fn decoded(b64: &str) -> String {
        String::from_utf8(BASE64.decode(b64).unwrap()).unwrap()
    }

    #[test]
    fn initial_responses_are_as_the_specifications_write_them() {
        let s = settings();
        let login = Login {
            settings: &s,
            user: "jo,x=y@example.org",
            secret: "ya29.token",
        };
        assert_eq!(
            decoded(&login.xoauth2()),
            "user=jo,x=y@example.org\x01auth=Bearer ya29.token\x01\x01"
        );
        assert_eq!(
            decoded(&login.oauthbearer()),
            "n,a=jo=2Cx=3Dy@example.org,\x01host=smtp.gmail.com\x01port=587\x01auth=Bearer ya29.token\x01\x01"
        );
        assert_eq!(decoded(&login.plain()), "\0jo,x=y@example.org\0ya29.token");
    }

    #[test]
    fn auto_follows_the_server_and_the_kind_of_secret() {
        let mut s = settings();
        let offered = |list: &[&str]| list.iter().map(|m| m.to_string()).collect::<Vec<_>>();
        let choose = |s: &SmtpSettings, secret: &str, list: &[&str]| {
            let login = Login {
                settings: s,
                user: "jo",
                secret,
            };
            match login.choose(&offered(list)) {
                Ok(m) => m.name().to_string(),
                Err(Failure::Fatal(e) | Failure::Halted(e)) => format!("error: {e}"),
                Err(Failure::Outcome(o)) => format!("outcome: {o:?}"),
            }
        };
        let gmail = ["LOGIN", "PLAIN", "XOAUTH2", "OAUTHBEARER"];
        assert_eq!(choose(&s, "hunter2", &gmail), "PLAIN");
        assert_eq!(choose(&s, "ya29.a0AfB", &gmail), "XOAUTH2");
        assert_eq!(choose(&s, "eyJ0eXAi.eyJhdWQi.sig", &gmail), "XOAUTH2");
        assert_eq!(choose(&s, "hunter2", &["OAUTHBEARER"]), "OAUTHBEARER");
        assert!(choose(&s, "pw", &["CRAM-MD5"]).contains("offers only AUTH CRAM-MD5"));
        s.auth = SmtpAuth::Plain;
        let retired = choose(&s, "pw", &["XOAUTH2"]);
        assert!(
            retired.contains("smtp.gmail.com (Google) no longer accepts a password"),
            "{retired}"
        );
        assert!(retired.contains("--auth xoauth2"), "{retired}");
        s.auth = SmtpAuth::Oauthbearer;
        assert!(choose(&s, "t", &["PLAIN", "XOAUTH2"]).contains("does not offer AUTH OAUTHBEARER"));
    }

    #[test]
    fn the_error_status_is_read_from_the_challenge_and_nothing_else() {
        let challenge =
            BASE64.encode(r#"{"status":"invalid_token","scope":"https://mail.google.com/"}"#);
        assert_eq!(error_status(&challenge).as_deref(), Some("invalid_token"));
        assert_eq!(
            error_status(&BASE64.encode(r#"{"status":401}"#)).as_deref(),
            Some("401")
        );
        assert_eq!(error_status("not base64!"), None);
        assert_eq!(
            error_status(&BASE64.encode("{\"status\":\"\\u001b[2J\"}")).as_deref(),
            Some("[2J")
        );
    }

    #[test]
    fn providers_are_named_by_their_hosts() {
        assert_eq!(
            provider("SMTP.Office365.com"),
            Some("Microsoft 365 / Outlook.com")
        );
        assert_eq!(
            provider("outlook.office365.com."),
            Some("Microsoft 365 / Outlook.com")
        );
        assert_eq!(provider("smtp.gmail.com"), Some("Google"));
        assert_eq!(provider("mail.union.org.uk"), None);
    }
}
