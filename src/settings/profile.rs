//! The user's profile: defaults for who signs and how mail is sent, kept in
//! `<config dir>/protest-letter/profile.toml` so regular users type less.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use fs_err as fs;
use serde::Deserialize;

use crate::campaign::SourceFile;
use crate::campaign::diagnostic::{Problem, Severity};

/// Everything a profile may hold; every key is optional.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: Option<String>,
    pub organisation: Option<String>,
    /// The same as `organisation`, spelt as `--organization` and lists'
    /// `organization` column allow; moved into `organisation` on loading.
    organization: Option<toml::Spanned<String>>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub country: Option<String>,
    pub lang: Option<String>,
    #[serde(default)]
    pub smtp: SmtpProfile,
    /// Where the profile was read from, for messages.
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

impl Profile {
    /// `profile PATH, KEY`: where this profile sets `key` (`lang`,
    /// `[smtp] url`), for errors about its value.
    pub fn origin(&self, key: &str) -> String {
        match &self.path {
            Some(path) => format!("profile {}, {key}", path.display()),
            None => format!("the profile's {key}"),
        }
    }
}

/// How to reach the user's mail server.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpProfile {
    /// `smtp://user@host:587` or `smtps://user@host:465`; never a password.
    pub url: Option<String>,
    /// A command whose first output line is the password (`pass show mail`),
    /// or an OAuth2 access token from a token helper.
    pub password_command: Option<String>,
    /// How to log in (`auto`, `plain`, `login`, `xoauth2`, `oauthbearer`).
    pub auth: Option<crate::cli::SmtpAuth>,
    /// A PEM file with the CA that signed the server's certificate.
    pub ca_cert: Option<PathBuf>,
    /// The sendmail-compatible program to use instead of SMTP.
    pub sendmail: Option<PathBuf>,
    /// The mail provider of an address on your own domain (`microsoft365`).
    pub provider: Option<String>,
    /// At most this many recipients a day, whatever the server.
    pub daily_limit: Option<u32>,
}

/// The profile's path: `$PROTEST_LETTER_PROFILE`, else the config dir's.
pub fn path(explicit: Option<&str>, config_dir: Option<&Path>) -> Option<PathBuf> {
    match explicit {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => config_dir.map(|d| d.join("profile.toml")),
    }
}

/// Reads the profile at `path`; a missing file is an empty profile.
pub fn load(path: Option<PathBuf>) -> Result<Profile> {
    let Some(path) = path else {
        return Ok(Profile::default());
    };
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Profile::default()),
        Err(e) => return Err(e).context("cannot read the profile"),
    };
    // The snippet shows the line in question: never a secret on it.
    let file = || SourceFile {
        name: path.display().to_string(),
        text: mask_secrets(&text),
    };
    let mut profile: Profile = toml::from_str(&text).map_err(|err| {
        let file = file();
        let mut message = err.message().trim().to_string();
        let guess = crate::campaign::diagnostic::unknown_key_guess(&message);
        if guess.is_some()
            && let Some((head, _)) = message.split_once(", expected")
        {
            message = head.to_string();
        }
        let password_key = message.contains("`password`");
        let problem = match err.span() {
            Some(span) => Problem::at(Severity::Error, &file.name, &file.text, span, message),
            None => Problem::in_file(Severity::Error, &file.name, message),
        };
        let help = if password_key {
            "a profile never holds the password: set password_command (e.g. `pass show mail`) \
             or PROTEST_LETTER_SMTP_PASSWORD"
                .to_string()
        } else {
            guess.unwrap_or_else(|| "the README's \"Profile\" section lists the keys".into())
        };
        anyhow::anyhow!("the profile has a mistake:\n{}", problem.with_help(help))
    })?;
    if let Some(spelt) = profile.organization.take() {
        if profile.organisation.is_some() {
            let file = file();
            let problem = Problem::at(
                Severity::Error,
                &file.name,
                &file.text,
                spelt.span(),
                "both `organisation` and `organization` are set: they are one key, spelt two ways",
            )
            .with_help("keep one of them");
            anyhow::bail!("the profile has a mistake:\n{problem}");
        }
        profile.organisation = Some(spelt.into_inner());
    }
    profile.path = Some(path);
    Ok(profile)
}

/// The profile's text with the value of every secret-looking key
/// (`password`, `pass`, `secret`, `token`, but not `password_command`)
/// replaced by `*`, byte for byte, so error spans still point right.
fn mask_secrets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let Some((key, value)) = line.split_once('=') else {
            out.push_str(line);
            continue;
        };
        let name = key.trim().trim_matches(['"', '\'']).to_ascii_lowercase();
        let secret = ["pass", "secret", "token"].iter().any(|w| name.contains(w))
            && name != "password_command";
        if !secret {
            out.push_str(line);
            continue;
        }
        out.push_str(key);
        out.push('=');
        for c in value.chars() {
            if c.is_whitespace() {
                out.push(c);
            } else {
                out.extend(std::iter::repeat_n('*', c.len_utf8()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::mask_secrets;

    #[test]
    fn secrets_are_masked_byte_for_byte() {
        let text = "[smtp]\npassword = \"S3cr\u{e9}t\"\npassword_command = \"pass show mail\"\n";
        let masked = mask_secrets(text);
        assert_eq!(masked.len(), text.len());
        assert!(!masked.contains("S3cr"), "{masked}");
        assert!(masked.contains("password_command = \"pass show mail\""));
        assert!(
            masked.starts_with("[smtp]\npassword = *********"),
            "{masked}"
        );
    }
}
