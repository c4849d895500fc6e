//! Email addresses as they go into headers: parsed once, internationalised
//! domains turned into their ASCII form, and anything that would be garbled
//! on the way refused with the reason.

use std::str::FromStr;

/// Checks `text` as a single mailbox address and returns the form to use in
/// headers: an IDN domain becomes punycode (`info@xn--mller-kva.de`).
///
/// A non-ASCII mailbox name (left of the `@`) is refused: it needs SMTPUTF8
/// end to end, which many servers lack, so it would bounce or be garbled.
pub fn normalise(text: &str) -> Result<String, String> {
    if text.chars().any(char::is_control) {
        return Err("it contains a control character".into());
    }
    if text.trim() != text || text.is_empty() {
        return Err("it is empty or has spaces around it".into());
    }
    let Some((local, domain)) = text.rsplit_once('@') else {
        return Err("it has no @".into());
    };
    if !local.is_ascii() {
        return Err(
            "the part before @ has non-ASCII characters, which many mail servers cannot deliver; \
             use an ASCII address"
                .into(),
        );
    }
    if !is_dot_atom(local) {
        return Err(format!(
            "`{local}` before the @ is quoted or has characters (spaces, quotes, @, brackets, \
             doubled or outer dots) that the mail envelope cannot carry; use a plain address \
             such as name@example.org"
        ));
    }
    let ascii = if domain.is_ascii() {
        text.to_string()
    } else {
        let domain = idna::domain_to_ascii(domain)
            .map_err(|_| format!("`{domain}` is not a valid domain"))?;
        format!("{local}@{domain}")
    };
    lettre::Address::from_str(&ascii).map_err(|e| e.to_string())?;
    Ok(ascii)
}

/// RFC 5322's dot-atom: what every SMTP server takes unquoted in MAIL FROM
/// and RCPT TO (a quoted local part is legal but lettre cannot build it and
/// many servers refuse it).
fn is_dot_atom(local: &str) -> bool {
    const SPECIALS: &[u8] = b"!#$%&'*+-/=?^_`{|}~";
    !local.is_empty()
        && local.split('.').all(|atom| {
            !atom.is_empty()
                && atom
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || SPECIALS.contains(&b))
        })
}

/// Addresses in domains reserved for examples (RFC 2606, RFC 6761) that an
/// organiser has not yet replaced.
pub fn is_placeholder(address: &str) -> bool {
    let domain = address
        .rsplit('@')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let domain = domain.trim_end_matches('.');
    let reserved_names = ["example.org", "example.com", "example.net"];
    let reserved_tlds = ["invalid", "example", "test", "localhost"];
    reserved_names
        .iter()
        .any(|r| domain == *r || domain.ends_with(&format!(".{r}")))
        || reserved_tlds
            .iter()
            .any(|t| domain == *t || domain.ends_with(&format!(".{t}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idn_domains_become_ascii() {
        assert_eq!(
            normalise("info@müller.de").unwrap(),
            "info@xn--mller-kva.de"
        );
        assert_eq!(normalise("a@b.org").unwrap(), "a@b.org");
    }

    #[test]
    fn refuses_what_would_be_garbled() {
        assert!(
            normalise("jürgen@example.org")
                .unwrap_err()
                .contains("non-ASCII")
        );
        assert!(normalise("a@b.org\r\nBcc: x@y.z").is_err());
        assert!(normalise("no-at-sign").is_err());
        assert!(normalise("two words@b.org").is_err());
        for envelope_cannot in ["\"a@b\"@x.org", "\"a b\"@x.org", ".a@x.org", "a..b@x.org"] {
            let e = normalise(envelope_cannot).unwrap_err();
            assert!(e.contains("envelope"), "{envelope_cannot}: {e}");
        }
        assert_eq!(
            normalise("o'brien+news@x.org").unwrap(),
            "o'brien+news@x.org"
        );
    }

    #[test]
    fn placeholders() {
        assert!(is_placeholder("a@placeholder.invalid"));
        assert!(is_placeholder("a@example.org"));
        assert!(is_placeholder("a@mail.example.com"));
        assert!(!is_placeholder("a@example.org.uk"));
        assert!(!is_placeholder("a@gov.kz"));
    }
}
