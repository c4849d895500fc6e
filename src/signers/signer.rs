//! Who signs a letter. Pure data and its validation: the values come from
//! flags, the environment, a profile, a prompt or a CSV row, and whatever
//! their source they are checked the same way here.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use serde::Serialize;

/// The most a signer's own words may hold (`--message`, `--message-file`,
/// a list's `message` cell): plenty for a personal paragraph, and a bound
/// on what is read (`--message-file /dev/zero` would never end).
pub const MESSAGE_LIMIT: usize = 64 << 10;

/// A signer whose fields have been checked.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Signer {
    pub name: String,
    /// Empty when signing as an individual.
    pub organisation: String,
    pub email: String,
    /// Postal address; may span lines.
    pub address: String,
    /// ISO country code, upper case, or empty.
    pub country: String,
    /// The letter language this signer wants (a list's `language` column),
    /// like `--lang`; empty for the run's default.
    pub language: String,
    /// Extra CSV columns, for templates (`signer.extra.branch`).
    pub extra: BTreeMap<String, String>,
}

/// Which field a value is for, with the flag and variable that set it, so
/// errors can say what to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Name,
    Organisation,
    Email,
    Address,
    Country,
}

impl Field {
    pub fn flag(self) -> &'static str {
        match self {
            Field::Name => "--name",
            Field::Organisation => "--organisation",
            Field::Email => "--email",
            Field::Address => "--address",
            Field::Country => "--country",
        }
    }

    pub fn env_var(self) -> &'static str {
        match self {
            Field::Name => "PROTEST_LETTER_NAME",
            Field::Organisation => "PROTEST_LETTER_ORGANISATION",
            Field::Email => "PROTEST_LETTER_EMAIL",
            Field::Address => "PROTEST_LETTER_ADDRESS",
            Field::Country => "PROTEST_LETTER_COUNTRY",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Organisation => "organisation",
            Field::Email => "email",
            Field::Address => "address",
            Field::Country => "country",
        }
    }
}

/// Rejects values that could break a letter or a mail header: control
/// characters anywhere (line breaks only in the postal address).
pub fn check_field(field: Field, value: &str) -> Result<()> {
    let allow_newlines = field == Field::Address;
    let forbidden = |c: char| c.is_control() && !(allow_newlines && c == '\n');
    // ASCII (most values) is looked at by byte, without decoding.
    let found = if value.is_ascii() {
        value.bytes().map(char::from).find(|&c| forbidden(c))
    } else {
        value.chars().find(|&c| forbidden(c))
    };
    if let Some(c) = found {
        let what = match c {
            '\r' => "a carriage return (CR)".to_string(),
            '\n' => "a line break (LF)".to_string(),
            '\0' => "a NUL character".to_string(),
            c => format!("the control character U+{:04X}", c as u32),
        };
        bail!(
            "the signer's {} contains {what}; give it on one line without control characters",
            field.label()
        );
    }
    match field {
        Field::Name if value.trim().is_empty() => bail!("the signer's name is empty"),
        Field::Email if !value.is_empty() => crate::campaign::address::normalise(value)
            .map(|_| ())
            .map_err(|reason| anyhow::anyhow!("invalid email address `{value}`: {reason}")),
        Field::Country if !value.is_empty() && !crate::campaign::is_country_code(value) => {
            bail!("country `{value}` is not a two-letter ISO code such as GB, DE or FR")
        }
        _ => Ok(()),
    }
}

impl Signer {
    /// Builds a signer from raw values, checking every field.
    pub fn new(
        name: &str,
        organisation: &str,
        email: &str,
        address: &str,
        country: &str,
    ) -> Result<Self> {
        let (name, organisation, email, address, country) = (
            name.trim(),
            organisation.trim(),
            email.trim(),
            address.trim(),
            country.trim(),
        );
        let values = [
            (Field::Name, name),
            (Field::Organisation, organisation),
            (Field::Email, email),
            (Field::Address, address),
            (Field::Country, country),
        ];
        for (field, value) in values {
            // The email is checked once, by normalising it below.
            if field != Field::Email || value.chars().any(char::is_control) {
                check_field(field, value)?;
            }
        }
        Ok(Signer {
            name: name.to_string(),
            organisation: organisation.to_string(),
            email: match email {
                "" => String::new(),
                e => crate::campaign::address::normalise(e)
                    .map_err(|reason| anyhow::anyhow!("invalid email address `{e}`: {reason}"))?,
            },
            // `\n` written in a list cell is a line break.
            address: match address {
                a if a.contains('\\') => a.replace("\\n", "\n"),
                a => a.to_string(),
            },
            country: country.to_ascii_uppercase(),
            language: String::new(),
            extra: BTreeMap::new(),
        })
    }

    /// The member's own words: the list's `message` column, if it has one.
    pub fn message(&self) -> &str {
        self.extra
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("message"))
            .map_or("", |(_, v)| v.trim())
    }

    /// "Name, Organisation" or "Name".
    pub fn display(&self) -> String {
        if self.organisation.is_empty() {
            self.name.clone()
        } else {
            format!("{}, {}", self.name, self.organisation)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_header_injection() {
        let err = Signer::new("x\r\nBcc: victim@example.org", "", "", "", "").unwrap_err();
        assert!(err.to_string().contains("carriage return"), "{err}");
        let err = Signer::new("Jo", "Union\nBcc: x@y.z", "", "", "").unwrap_err();
        assert!(err.to_string().contains("organisation"), "{err}");
    }

    #[test]
    fn allows_multi_line_address_and_unicode() {
        let s = Signer::new("Әйнұр Құрманов", "", "", "1 High St\nLondon", "gb").unwrap();
        assert_eq!(s.country, "GB");
        assert_eq!(s.address, "1 High St\nLondon");
    }

    #[test]
    fn rejects_bad_email_and_country() {
        assert!(Signer::new("Jo", "", "not-an-address", "", "").is_err());
        assert!(Signer::new("Jo", "", "", "", "GBR").is_err());
        assert!(Signer::new("   ", "", "", "", "").is_err());
    }
}
