//! The four output formats, byte for byte.
//!
//! Email formats use local line endings (LF), as `sendmail -t`, `msmtp -t`
//! and mbox readers expect; SMTP delivery uses lettre's CRLF form instead.

use std::io::{self, Write};

use serde::Serialize;

use super::Item;
use crate::cli::Format;
use crate::message::Envelope;

/// Separates text letters in one stream: a form feed starts a new page
/// when printed.
const PAGE_BREAK: &[u8] = b"\x0c\n";

#[derive(Serialize)]
struct JsonLetter<'a> {
    letter: &'a str,
    recipient: &'a str,
    country: Option<&'a str>,
    signer: &'a str,
    envelope: &'a Envelope,
    message_id: &'a str,
    subject: &'a str,
    body: &'a str,
}

/// Writes one item; `first` tells whether a separator is needed.
pub fn write_stream(
    format: Format,
    item: &Item<'_>,
    first: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    match (format, item.composed) {
        (Format::Text, _) => {
            if !first {
                out.write_all(PAGE_BREAK)?;
            }
            out.write_all(item.letter.body.as_bytes())
        }
        (Format::Eml, Some(c)) => write_lf(&c.message.formatted(), out, false),
        (Format::Mbox, Some(c)) => {
            mbox_separator(&c.envelope.from, c.date, out)?;
            write_lf(&c.message.formatted(), out, true)?;
            out.write_all(b"\n")
        }
        (Format::Json, Some(c)) => {
            let record = JsonLetter {
                letter: &item.letter.letter_id,
                recipient: &item.letter.recipient.id,
                country: item.letter.recipient.country.as_deref(),
                signer: &item.letter.signer.name,
                envelope: &c.envelope,
                message_id: &c.message_id,
                subject: &item.letter.subject,
                body: &c.text,
            };
            serde_json::to_writer(&mut *out, &record)?;
            out.write_all(b"\n")
        }
        (Format::Pdf, _) => Err(io::Error::other("a PDF is laid out by output::pdf")),
        (_, None) => Err(io::Error::other("an email format needs a composed message")),
    }
}

/// The `From sender date` line that starts an mbox entry.
pub fn mbox_separator(
    from: &str,
    date: std::time::SystemTime,
    out: &mut dyn Write,
) -> io::Result<()> {
    let when = jiff::Timestamp::try_from(date).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    writeln!(out, "From {from} {}", when.strftime("%a %b %e %H:%M:%S %Y"))
}

/// Copies `bytes` with CRLF turned into LF; with `mbox_quote`, lines that
/// start with `>*From ` get one more `>` (mboxrd), so readers never split a
/// letter in two. Ends with a newline.
pub fn write_lf(bytes: &[u8], out: &mut dyn Write, mbox_quote: bool) -> io::Result<()> {
    // Made whole here and written once: a write per line through `dyn
    // Write` cost more than the conversion.
    let mut lf = Vec::with_capacity(bytes.len() + 16);
    let mut rest = bytes;
    while !rest.is_empty() {
        let (line, next) = match memchr::memchr(b'\n', rest) {
            Some(at) => (&rest[..at], &rest[at + 1..]),
            None => (rest, &[][..]),
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if mbox_quote
            && line
                .iter()
                .skip_while(|&&b| b == b'>')
                .take(5)
                .eq(b"From ".iter())
        {
            lf.push(b'>');
        }
        lf.extend_from_slice(line);
        lf.push(b'\n');
        rest = next;
    }
    out.write_all(&lf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mboxrd_quotes_from_lines() {
        let mut out = Vec::new();
        write_lf(
            b"Subject: x\r\n\r\nFrom here\r\n>From there\r\nFromage\r\n",
            &mut out,
            true,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Subject: x\n\n>From here\n>>From there\nFromage\n"
        );
    }

    #[test]
    fn formats_from_file_names() {
        assert_eq!(Format::from_path("a/b.EML".as_ref()), Some(Format::Eml));
        assert_eq!(Format::from_path("b.PDF".as_ref()), Some(Format::Pdf));
        assert_eq!(Format::from_path("b.odt".as_ref()), None);
    }
}
