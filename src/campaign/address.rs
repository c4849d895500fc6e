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
    if plain(text) {
        // What the checks below accept and return unchanged, in one pass.
        return Ok(text.to_string());
    }
    let control = if text.is_ascii() {
        text.bytes().any(|b| b.is_ascii_control())
    } else {
        text.chars().any(char::is_control)
    };
    if control {
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
    verify(&ascii, local)?;
    Ok(ascii)
}

/// An address of ASCII, a dot-atom of at most 64 bytes, `@` and a plain
/// domain: every member's in most lists, checked here in one pass.
fn plain(text: &str) -> bool {
    let b = text.as_bytes();
    match b.iter().rposition(|&c| c == b'@') {
        Some(at) => {
            at <= 64
                && text.is_char_boundary(at)
                && is_dot_atom(&text[..at])
                && plain_domain(&text[at + 1..])
        }
        None => false,
    }
}

/// `text` (as `normalise` returns it) as lettre's address, checked once.
pub fn parse(text: &str) -> Result<lettre::Address, String> {
    let ascii = normalise(text)?;
    match ascii.rsplit_once('@') {
        // `normalise` has checked it as lettre would.
        Some((local, domain)) => Ok(lettre::Address::new_dangerous(local, domain)),
        None => Err("it has no @".into()),
    }
}

/// lettre's own check of `ascii`, whose part before the @ is `local`, a
/// dot-atom; skipped when the address is plainly valid (a local part of at
/// most 64 bytes, a plain domain): this runs for every row of a members'
/// list, every time it is read, and lettre's check (the email_address
/// crate) costs more than the rest of the row.
fn verify(ascii: &str, local: &str) -> Result<(), String> {
    let domain = &ascii[local.len() + 1..];
    if local.len() <= 64 && plain_domain(domain) {
        return Ok(());
    }
    lettre::Address::from_str(ascii)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A domain that email_address (which lettre asks) accepts as it is: at
/// most 254 bytes of ASCII labels of letters, digits and inner hyphens, at
/// most 63 each. Stricter than it (no other atext, no IDN, no literal), so
/// that anything else still gets lettre's verdict.
fn plain_domain(domain: &str) -> bool {
    let b = domain.as_bytes();
    if b.is_empty() || b.len() > 254 {
        return false;
    }
    // One pass: each label starts and ends with a letter or digit.
    let mut label = 0;
    let mut prev = b'.';
    for &c in b {
        if c == b'.' {
            if prev == b'.' || prev == b'-' {
                return false;
            }
            label = 0;
        } else if c.is_ascii_alphanumeric() || (c == b'-' && prev != b'.') {
            label += 1;
            if label > 63 {
                return false;
            }
        } else {
            return false;
        }
        prev = c;
    }
    prev.is_ascii_alphanumeric()
}

/// RFC 5322's dot-atom: what every SMTP server takes unquoted in MAIL FROM
/// and RCPT TO (a quoted local part is legal but lettre cannot build it and
/// many servers refuse it).
fn is_dot_atom(local: &str) -> bool {
    // Atoms of atext between single dots, in one pass (a list row's cost).
    let mut after_dot = true;
    for &b in local.as_bytes() {
        if b == b'.' {
            if after_dot {
                return false;
            }
            after_dot = true;
        } else if b.is_ascii_alphanumeric() || is_atext_special(b) {
            after_dot = false;
        } else {
            return false;
        }
    }
    !after_dot
}

/// atext beside letters and digits: ``!#$%&'*+-/=?^_`{|}~``.
fn is_atext_special(b: u8) -> bool {
    matches!(
        b,
        b'!' | b'#'
            | b'$'
            | b'%'
            | b'&'
            | b'\''
            | b'*'
            | b'+'
            | b'-'
            | b'/'
            | b'='
            | b'?'
            | b'^'
            | b'_'
            | b'`'
            | b'{'
            | b'|'
            | b'}'
            | b'~'
    )
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

/// A syntactically valid domain name (letters, digits, hyphens, dots).
pub fn is_domain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_addresses_are_what_lettre_accepts() {
        // The shortcut must never accept what lettre refuses; it may defer.
        let locals = ["a", "jo.bloggs", "o'brien+news", "x_y-z", "a.b.c", "é"];
        let domains = [
            "b.org",
            "ex-ample.co.uk",
            "1.2.3.4",
            "localhost",
            "-a.org",
            "a-.org",
            "a..b",
            "a.b.",
            ".a.b",
            "xn--mller-kva.de",
            "a_b.org",
            "[127.0.0.1]",
            "b.org-",
            "",
        ];
        let long_label = "a".repeat(64);
        let long_domain = format!("{}.org", ["abcdefghi"; 26].join("."));
        for local in locals {
            for domain in domains
                .iter()
                .copied()
                .chain([long_label.as_str(), long_domain.as_str()])
            {
                let text = format!("{local}@{domain}");
                let lettre = lettre::Address::from_str(&text).is_ok();
                if local.is_ascii() && is_dot_atom(local) && plain_domain(domain) {
                    assert!(lettre, "{text}: the shortcut accepts what lettre refuses");
                }
                if text.is_ascii() && is_dot_atom(local) {
                    assert_eq!(verify(&text, local).is_ok(), lettre, "{text}");
                }
            }
        }
        for local in [
            "a",
            "a.b",
            ".a",
            "a.",
            "a..b",
            "",
            ".",
            "o'brien+x",
            "a b",
            "a\"b",
            "é",
            "{x}|~",
        ] {
            const SPECIALS: &[u8] = b"!#$%&'*+-/=?^_`{|}~";
            let by_split = !local.is_empty()
                && local.split('.').all(|atom| {
                    !atom.is_empty()
                        && atom
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || SPECIALS.contains(&b))
                });
            assert_eq!(is_dot_atom(local), by_split, "{local:?}");
        }
        for text in [
            "a@b.org",
            " a@b.org",
            "a@b.org ",
            "a b@c.org",
            "a@@b.org",
            "@b.org",
            "a@",
            "a@b..org",
            "é@b.org",
            "a@bü.de",
            "a\n@b.org",
        ] {
            if plain(text) {
                assert_eq!(normalise(text).as_deref(), Ok(text), "{text}");
            }
        }
        assert!(plain("jo.bloggs+x@mail.example-union.org"));
        let a = parse("Jo.Bloggs@Example.org").unwrap();
        assert_eq!(
            a,
            lettre::Address::from_str("Jo.Bloggs@Example.org").unwrap()
        );
        assert_eq!((a.user(), a.domain()), ("Jo.Bloggs", "Example.org"));
        assert_eq!(
            parse("info@müller.de").unwrap().to_string(),
            "info@xn--mller-kva.de"
        );
        assert!(parse("two words@b.org").is_err());
    }

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
