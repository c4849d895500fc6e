//! Issues 22 and 25 for the test server: OAuth2 logins (SASL XOAUTH2 and
//! OAUTHBEARER with RFC 7628's error challenge), servers that retired
//! passwords, and servers whose answers to AUTH leak what they were sent.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use mailin::Response;

use super::{Conn, Shared};

/// How the server logs people in beyond mailin's PLAIN and LOGIN.
#[derive(Clone, Default)]
pub struct Sasl {
    /// Offer XOAUTH2 and OAUTHBEARER and let in this (user, token). Any
    /// other token gets RFC 7628's error challenge (`334` and a base64
    /// JSON), then `535` after the client's answer: `AQ==` (%x01) for
    /// OAUTHBEARER, an empty line for XOAUTH2; any other answer gets
    /// `501`. PLAIN and LOGIN are not offered (answered `504`).
    pub oauth: Option<(String, String)>,
    /// With `oauth`: offer `AUTH LOGIN XOAUTH2`, as Microsoft 365 does,
    /// and answer AUTH PLAIN and LOGIN with its `535 5.7.139` (basic
    /// authentication disabled).
    pub passwords_retired: bool,
    /// With `auth`: answer the password with Google's `534-5.7.9
    /// Application-specific password required`.
    pub app_password_required: bool,
    /// Answer every AUTH with a line that is not an SMTP reply: the
    /// command itself, echoed.
    pub garbled_echo: bool,
    /// With `auth`: refuse a wrong password with a 535 that quotes it.
    pub echo_password: bool,
    /// With `auth`: let the right password in, then refuse MAIL FROM with
    /// a 550 that quotes it, as it is and in base64.
    pub echo_password_at_mail: bool,
}

impl Sasl {
    /// The mechanisms offered in EHLO, if this module offers any.
    pub(super) fn offered(&self) -> Option<&'static str> {
        match (&self.oauth, self.passwords_retired) {
            (None, _) => None,
            (Some(_), true) => Some("AUTH LOGIN XOAUTH2"),
            (Some(_), false) => Some("AUTH XOAUTH2 OAUTHBEARER"),
        }
    }

    /// The refusal of MAIL FROM that quotes the password of the login.
    pub(super) fn mail_refusal(&self, conn: &Conn) -> Option<Response> {
        let password = conn
            .password
            .as_deref()
            .filter(|_| self.echo_password_at_mail)?;
        Some(Response::custom(
            550,
            format!(
                "5.7.1 not for you, {password} ({})",
                BASE64.encode(password)
            ),
        ))
    }

    /// Google's answer to any password, or a refusal that quotes a
    /// wrong one, when set.
    pub(super) fn password_refusal(&self, password: &str, right: bool) -> Option<Response> {
        if self.app_password_required {
            return Some(Response::custom(
                534,
                "5.7.9 Application-specific password required".into(),
            ));
        }
        (self.echo_password && !right)
            .then(|| Response::custom(535, format!("5.7.8 the password {password} is wrong")))
    }
}

/// Answers AUTH lines (and the line after an error challenge) that are
/// this module's business, as raw bytes; `None` for mailin to handle.
pub(super) fn answer(shared: &Shared, conn: &mut Conn, line: &str) -> Option<Vec<u8>> {
    let sasl = &shared.config.sasl;
    if let Some(expected) = conn.oauth_challenged.take() {
        return Some(if line == expected {
            reply(535, "5.7.8 Username and Password not accepted")
        } else {
            reply(501, "5.5.2 that is not how the error challenge is answered")
        });
    }
    let mut words = line.split_whitespace();
    let verb = words.next().unwrap_or("").to_ascii_uppercase();
    if verb != "AUTH" {
        return None;
    }
    if sasl.garbled_echo {
        return Some(format!("{line}\r\n").into_bytes());
    }
    let (user, token) = sasl.oauth.as_ref()?;
    let mechanism = words.next().unwrap_or("").to_ascii_uppercase();
    let offered = sasl.offered().unwrap_or("");
    let password = matches!(mechanism.as_str(), "PLAIN" | "LOGIN");
    if password || !offered.split_whitespace().any(|m| m == mechanism) {
        return Some(match mechanism.as_str() {
            _ if password && sasl.passwords_retired => reply(
                535,
                "5.7.139 Authentication unsuccessful, basic authentication is disabled",
            ),
            _ => reply(504, "5.5.4 Unrecognized authentication type"),
        });
    }
    let decoded = words
        .next()
        .and_then(|b64| BASE64.decode(b64).ok())
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    match credentials(&mechanism, &decoded) {
        Some((u, t)) if u == *user && t == *token => {
            conn.auth_user = Some(u);
            Some(reply(235, "2.7.0 Accepted"))
        }
        _ => {
            conn.oauth_challenged = Some(if mechanism == "XOAUTH2" { "" } else { "AQ==" });
            let error = r#"{"status":"401","schemes":"Bearer","scope":"https://mail.google.com/"}"#;
            Some(reply(334, &BASE64.encode(error)))
        }
    }
}

/// The user and token of an initial response: XOAUTH2's
/// `user=U^Aauth=Bearer T^A^A`, or OAUTHBEARER's `n,a=U,^Ahost=…^Aport=…^Aauth=Bearer T^A^A`.
fn credentials(mechanism: &str, decoded: &str) -> Option<(String, String)> {
    let mut parts = decoded.split('\x01');
    let user = match mechanism {
        "XOAUTH2" => parts.next()?.strip_prefix("user=")?.to_string(),
        _ => {
            let gs2 = parts.next()?.strip_prefix("n,a=")?.strip_suffix(',')?;
            gs2.replace("=2C", ",").replace("=3D", "=")
        }
    };
    let token = parts.find_map(|p| p.strip_prefix("auth=Bearer "))?;
    Some((user, token.to_string()))
}

fn reply(code: u16, text: &str) -> Vec<u8> {
    format!("{code} {text}\r\n").into_bytes()
}
