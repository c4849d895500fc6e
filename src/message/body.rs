//! The letter's text as a message body, in the transfer encoding its
//! content calls for: 7bit when it can go as it is, quoted-printable when
//! it is mostly ASCII (an English letter with a name in Cyrillic stays
//! readable in the raw message), base64 when it is mostly not (a Russian
//! letter: quoted-printable would make it three times its text, base64
//! makes it 1.37 times).
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
    } else if mostly_ascii(text.as_bytes()) {
        Body::dangerous_pre_encoded(
            quoted_printable(text.as_bytes()),
            ContentTransferEncoding::QuotedPrintable,
        )
    } else {
        Body::dangerous_pre_encoded(base64(text.as_bytes()), ContentTransferEncoding::Base64)
    }
}

/// Whether quoted-printable makes `text` no bigger than base64 would: each
/// byte it encodes costs two more, base64 costs a third of the whole (and
/// a line break every 76 characters), so it wins while fewer than about
/// one byte in six needs encoding.
fn mostly_ascii(text: &[u8]) -> bool {
    let encoded = text.iter().filter(|&&b| b >= 0x7f || b == b'=').count();
    encoded * 2 * 100 <= text.len() * 37
}

/// RFC 2045 base64 in lines of 76 characters, each ended by CRLF.
fn base64(text: &[u8]) -> Vec<u8> {
    use base64::Engine;
    // Encoded whole (the engine's fast path), then cut into lines: encoding
    // line by line took the engine's slow path for every line.
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    let mut out = Vec::with_capacity(encoded.len() + encoded.len() / QP_LINE * 2 + 2);
    for line in encoded.as_bytes().chunks(QP_LINE) {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Whether `text` can go unencoded: ASCII without NUL or bare CR/LF, no
/// line over 998 characters, and no line that an mbox would quote. (The
/// scans are std's vectorised ones: `is_ascii`, and `memchr` for bytes.)
fn is_plain(text: &str) -> bool {
    let bytes = text.as_bytes();
    if !text.is_ascii() || bytes.contains(&0) {
        return false;
    }
    let mut lines = text.split('\n').map(str::as_bytes).peekable();
    while let Some(line) = lines.next() {
        let line = match lines.peek() {
            Some(_) => match line.strip_suffix(b"\r") {
                Some(line) => line,
                None => return false,
            },
            None => line,
        };
        if line.len() > SEVEN_BIT_LINE || line.contains(&b'\r') || line.starts_with(b"From ") {
            return false;
        }
    }
    true
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
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.extend_from_slice(&[b'=', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]);
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

    /// Decoded by a real reader, from quoted-printable.
    fn decode(encoded: &[u8]) -> String {
        decode_as("quoted-printable", encoded)
    }

    /// Decoded by a real reader, from base64.
    fn decode_base64(encoded: &[u8]) -> String {
        decode_as("base64", encoded)
    }

    fn decode_as(encoding: &str, encoded: &[u8]) -> String {
        let mut message = format!(
            "Content-Type: text/plain; charset=utf-8\r\n\
             Content-Transfer-Encoding: {encoding}\r\n\r\n"
        )
        .into_bytes();
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
        assert!(is_plain(&"x".repeat(998)));
        assert!(is_plain(&format!(
            "{}\r\n{}",
            "x".repeat(998),
            "y".repeat(998)
        )));
        assert!(!is_plain(&format!("{}\r\n", "x".repeat(999))));
        assert!(!is_plain("a\rb\r\n"));
        assert!(!is_plain("a\nb\r\n"));
        assert!(!is_plain("\nb"));
        assert!(!is_plain("a\0b"));
        assert!(!is_plain("x\r\nFrom y"));
    }

    #[test]
    fn the_encoding_follows_the_content() {
        let english = "Dear Judge,\r\n\r\nWe write about the case of Natalia Sokolova, \
                       the legal adviser of the oil workers' union in Mangystau, \
                       signed by Анна Ли.\r\n"
            .repeat(5);
        assert!(mostly_ascii(english.as_bytes()));
        let russian = "Уважаемый судья,\r\n\r\nМы пишем о деле Натальи Соколовой.\r\n".repeat(5);
        assert!(!mostly_ascii(russian.as_bytes()));
        let encoded = base64(russian.as_bytes());
        let shown = String::from_utf8(encoded.clone()).unwrap();
        let lines: Vec<&str> = shown.split_terminator("\r\n").collect();
        assert!(lines.iter().all(|l| l.len() <= QP_LINE), "{shown}");
        assert!(lines[..lines.len() - 1].iter().all(|l| l.len() == QP_LINE));
        assert!(
            encoded.len() * 2 <= russian.len() * 3,
            "at most 1.5 times the text"
        );
        assert_eq!(decode_base64(&encoded), russian);
        assert_eq!(decode_base64(&base64(b"")), "");
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
