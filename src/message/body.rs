//! The letter's text as a message body: 7bit when it can go as it is,
//! otherwise quoted-printable.
//!
//! Quoted-printable is written here rather than by lettre because a line
//! starting with `From ` must be encoded (`=46rom`): in an mbox such a line
//! is quoted as `>From`, and mutt and Python then show the `>` to the
//! reader. Encoded, it needs no quoting, and every reader decodes it back.
//! Every line stays within 76 characters (RFC 2045 section 6.7).

use lettre::message::Body;
use lettre::message::header::ContentTransferEncoding;

/// The longest encoded line, without its CRLF (RFC 2045).
const QP_LINE: usize = 76;
/// The longest line that may go as 7bit, without its CRLF (RFC 5322).
const SEVEN_BIT_LINE: usize = 998;

/// `text` (CRLF line endings) as a body for lettre.
pub fn body(text: String) -> Body {
    if is_plain(&text) {
        Body::dangerous_pre_encoded(text.into_bytes(), ContentTransferEncoding::SevenBit)
    } else {
        Body::dangerous_pre_encoded(
            quoted_printable(text.as_bytes()),
            ContentTransferEncoding::QuotedPrintable,
        )
    }
}

/// Whether `text` can go unencoded: ASCII without NUL or bare CR/LF, no
/// line over 998 characters, and no line that an mbox would quote.
fn is_plain(text: &str) -> bool {
    text.is_ascii()
        && !text.bytes().any(|b| b == 0)
        && text.split("\r\n").all(|line| {
            line.len() <= SEVEN_BIT_LINE
                && !line.starts_with("From ")
                && !line.contains(['\r', '\n'])
        })
}

/// RFC 2045 quoted-printable of CRLF text; line breaks stay hard breaks.
fn quoted_printable(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 11 / 10 + 16);
    let mut lines = text.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let last_line = lines.peek().is_none();
        let line = if last_line {
            line
        } else {
            line.strip_suffix(b"\r").unwrap_or(line)
        };
        encode_line(line, &mut out);
        if !last_line {
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

fn encode_line(line: &[u8], out: &mut Vec<u8>) {
    let mut column = 0;
    for (i, &b) in line.iter().enumerate() {
        let last = i + 1 == line.len();
        let mut encode = b == b'='
            || b >= 0x7f
            || (b < 0x20 && b != b'\t')
            || (last && (b == b' ' || b == b'\t'));
        let width = if encode { 3 } else { 1 };
        // The last character may use the 76th column; others leave room
        // for the `=` of a soft break.
        let room = if last { QP_LINE } else { QP_LINE - 1 };
        if column + width > room {
            out.extend_from_slice(b"=\r\n");
            column = 0;
        }
        if column == 0 && line[i..].starts_with(b"From ") {
            encode = true;
        }
        if encode {
            out.extend_from_slice(format!("={b:02X}").as_bytes());
            column += 3;
        } else {
            out.push(b);
            column += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decoded by a real reader.
    fn decode(encoded: &[u8]) -> String {
        let mut message = b"Content-Type: text/plain; charset=utf-8\r\n\
            Content-Transfer-Encoding: quoted-printable\r\n\r\n"
            .to_vec();
        message.extend_from_slice(encoded);
        let parsed = mail_parser::MessageParser::default()
            .parse(&message)
            .unwrap();
        parsed.body_text(0).unwrap().into_owned()
    }

    #[test]
    fn plain_ascii_stays_7bit() {
        assert!(is_plain("Dear Sir,\r\n\r\nFromage is cheese.\r\n"));
        assert!(!is_plain("Dear Sir,\r\nFrom the union\r\n"));
        assert!(!is_plain("Қазақстан\r\n"));
        assert!(!is_plain(&"x".repeat(999)));
    }

    #[test]
    fn from_lines_are_encoded_and_lines_stay_short() {
        let text = format!(
            "From the union\r\n{}From here\r\nSalt = {}\r\nend \r\n",
            "a".repeat(75),
            "Қазақстан ".repeat(20)
        );
        let encoded = quoted_printable(text.as_bytes());
        let encoded_text = String::from_utf8(encoded.clone()).unwrap();
        for line in encoded_text.split("\r\n") {
            assert!(line.len() <= QP_LINE, "{line}");
            assert!(!line.starts_with("From "), "{line}");
        }
        assert!(encoded_text.starts_with("=46rom the union\r\n"));
        assert!(encoded_text.contains("end=20\r\n"));
        assert_eq!(decode(&encoded), text);
    }
}
