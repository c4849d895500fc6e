//! Address headers (From, To, Cc, Reply-To, Bcc) written by hand, because
//! lettre writes a list of mailboxes on one line: a Cc of 34 addresses made
//! a 1,731-character line, which a real relay broke at 998 bytes in the
//! middle of an address.
//!
//! Here a list is folded between addresses so that lines stay within 78
//! characters where possible (RFC 5322 section 2.1.1), a single long name
//! is folded between its words, and no line ever passes 998. Display names
//! are written as plain words, a quoted string (`"Smith, Pat"`) when they
//! are printable ASCII, and RFC 2047 encoded words only when they are not:
//! base64 for a plain ASCII name is what SpamAssassin's FROM_EXCESS_BASE64
//! looks for.

use lettre::message::Mailbox;
use lettre::message::header::{HeaderName, HeaderValue};

/// Lines are folded to stay within this many characters (RFC 5322 "SHOULD").
const SOFT_LIMIT: usize = 78;
/// A word (atom or quoted piece) longer than this is encoded instead, so it
/// can be split: no line may pass 998 characters (RFC 5322 "MUST").
const LONGEST_WORD: usize = 900;
/// Bytes of text in one encoded word: `=?utf-8?b?` + 60 base64 + `?=` is
/// 72 characters, within the 75 that RFC 2047 allows.
const ENCODED_CHUNK: usize = 45;

/// The header `name` listing `mailboxes`, folded; its raw value is lettre's
/// one-line form (what `get_raw` shows in the preview).
pub fn address_header(name: &'static str, mailboxes: &[Mailbox]) -> HeaderValue {
    let raw = mailboxes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    HeaderValue::dangerous_new_pre_encoded(
        HeaderName::new_from_ascii_str(name),
        raw,
        fold(name, mailboxes),
    )
}

/// The whole header line, `name: value` and CRLF.
pub fn line(name: &str, mailboxes: &[Mailbox]) -> String {
    let mut out = String::with_capacity(name.len() + 2 + 40 * mailboxes.len());
    out.push_str(name);
    out.push_str(": ");
    fold_into(name, mailboxes.iter().map(parts), &mut out);
    out.push_str("\r\n");
    out
}

fn parts(mailbox: &Mailbox) -> (Option<&str>, &str) {
    (mailbox.name.as_deref(), mailbox.email.as_ref())
}

/// The folded value of header `name` (without the `name: ` prefix).
fn fold(name: &str, mailboxes: &[Mailbox]) -> String {
    let mut out = String::new();
    fold_into(name, mailboxes.iter().map(parts), &mut out);
    out
}

/// `fold`, for mailboxes given as (display name, address), into `out`,
/// with CRLF before each continuation line.
fn fold_into<'a>(
    name: &str,
    mailboxes: impl ExactSizeIterator<Item = (Option<&'a str>, &'a str)>,
    out: &mut String,
) {
    let mut column = name.len() + 2;
    let count = mailboxes.len();
    let mut words: Vec<Word<'a>> = Vec::with_capacity(8);
    for (i, (display, address)) in mailboxes.enumerate() {
        words.clear();
        mailbox_words(display, address, &mut words);
        let comma = i + 1 < count;
        let len = |j: usize, w: &Word<'_>| w.len() + usize::from(comma && j + 1 == words.len());
        let whole: usize = words
            .iter()
            .enumerate()
            .map(|(j, w)| len(j, w) + 1)
            .sum::<usize>()
            - 1;
        if i > 0 {
            // Prefer a break between addresses: keep a mailbox on one line
            // when it fits on one.
            column = space_before(whole, column, out);
        }
        for (j, word) in words.iter().enumerate() {
            let word_len = len(j, word);
            if j > 0 {
                column = space_before(word_len, column, out);
            }
            word.push_to(out);
            if comma && j + 1 == words.len() {
                out.push(',');
            }
            column += word_len;
        }
    }
}

/// The space before something `len` long at `column`: a fold (CRLF and a
/// space) if it would pass the soft limit, else a plain space. Returns the
/// column after it.
fn space_before(len: usize, column: usize, out: &mut String) -> usize {
    let fold = column + 1 + len > SOFT_LIMIT;
    if fold {
        out.push_str("\r\n");
    }
    out.push(' ');
    if fold { 1 } else { column + 1 }
}

/// One word of a mailbox, as folding sees it.
enum Word<'a> {
    Text(std::borrow::Cow<'a, str>),
    /// `<address>`
    Angle(&'a str),
}

impl Word<'_> {
    fn len(&self) -> usize {
        match self {
            Word::Text(t) => t.len(),
            Word::Angle(a) => a.len() + 2,
        }
    }

    fn push_to(&self, out: &mut String) {
        match self {
            Word::Text(t) => out.push_str(t),
            Word::Angle(a) => {
                out.push('<');
                out.push_str(a);
                out.push('>');
            }
        }
    }
}

/// A mailbox as words that folding may separate: the display name's words
/// and then `<address>`, or the bare address when there is no name.
fn mailbox_words<'a>(display: Option<&'a str>, address: &'a str, words: &mut Vec<Word<'a>>) {
    use std::borrow::Cow;
    let Some(display) = display else {
        words.push(Word::Text(Cow::Borrowed(address)));
        return;
    };
    if plain_atoms(display) {
        words.extend(display.split(' ').map(|w| Word::Text(Cow::Borrowed(w))));
    } else {
        let name = display.split_whitespace().collect::<Vec<_>>().join(" ");
        if name.is_empty() {
            words.push(Word::Text(Cow::Borrowed(address)));
            return;
        }
        words.extend(
            phrase_words(&name)
                .into_iter()
                .map(|w| Word::Text(Cow::Owned(w))),
        );
    }
    words.push(Word::Angle(address));
}

/// Whether `phrase_words` would write this name as it is, word by word:
/// atoms between single spaces, short, and not like an encoded word. One
/// pass over the bytes (a batch writes a From per member); any other name
/// takes the general way (collapse, then `phrase_words`).
fn plain_atoms(name: &str) -> bool {
    let b = name.as_bytes();
    if b.is_empty() || b.len() > LONGEST_WORD || b[0] == b' ' || b[b.len() - 1] == b' ' {
        return false;
    }
    let mut prev = 0u8;
    for &c in b {
        let ok = match c {
            b' ' => prev != b' ',
            b'?' => prev != b'=',
            c => is_atext(c),
        };
        if !ok {
            return false;
        }
        prev = c;
    }
    true
}

fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b)
}

/// The display name as header words (whitespace already collapsed).
fn phrase_words(name: &str) -> Vec<String> {
    let printable = name.bytes().all(|b| (0x20..0x7f).contains(&b));
    let short_words = name.split(' ').all(|w| w.len() <= LONGEST_WORD);
    // A name that looks like an encoded word would be decoded by readers.
    if !printable || !short_words || name.contains("=?") {
        return encoded_words(name);
    }
    if name.split(' ').all(is_atom) {
        return name.split(' ').map(str::to_string).collect();
    }
    // A quoted string may be folded at its spaces (RFC 5322 qcontent with
    // FWS): unfolding gives back the single space.
    let mut words: Vec<String> = name
        .split(' ')
        .map(|w| w.replace('\\', "\\\\").replace('"', "\\\""))
        .collect();
    if let Some(first) = words.first_mut() {
        first.insert(0, '"');
    }
    if let Some(last) = words.last_mut() {
        last.push('"');
    }
    words
}

/// RFC 5322 atext only: such a word needs no quotes.
fn is_atom(word: &str) -> bool {
    !word.is_empty() && word.bytes().all(is_atext)
}

/// `=?utf-8?b?…?=` words of at most `ENCODED_CHUNK` bytes each, split
/// between characters (RFC 2047 section 5: an encoded word holds whole
/// characters). The spaces are inside the words: space between encoded
/// words is dropped by readers.
fn encoded_words(text: &str) -> Vec<String> {
    use base64::Engine;
    let mut words = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let mut end = (start + ENCODED_CHUNK).min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let chunk = &text.as_bytes()[start..end];
        words.push(format!(
            "=?utf-8?b?{}?=",
            base64::engine::general_purpose::STANDARD.encode(chunk)
        ));
        start = end;
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mb(name: Option<&str>, address: &str) -> Mailbox {
        Mailbox::new(name.map(str::to_string), address.parse().unwrap())
    }

    fn lines(name: &str, value: &str) -> Vec<String> {
        format!("{name}: {value}")
            .split("\r\n")
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn names_are_atoms_quoted_or_encoded() {
        assert_eq!(
            fold("From", &[mb(Some("Pat Smith"), "p@x.org")]),
            "Pat Smith <p@x.org>"
        );
        assert_eq!(
            fold("From", &[mb(Some("Smith, Pat"), "p@x.org")]),
            "\"Smith, Pat\" <p@x.org>"
        );
        assert_eq!(
            fold("From", &[mb(Some(r#"Pat "the \ cat""#), "p@x.org")]),
            r#""Pat \"the \\ cat\"" <p@x.org>"#
        );
        assert_eq!(
            fold("From", &[mb(Some("Айнұр"), "a@x.org")]),
            "=?utf-8?b?0JDQudC90rHRgA==?= <a@x.org>"
        );
        assert_eq!(fold("Cc", &[mb(None, "a@x.org")]), "a@x.org");
    }

    #[test]
    fn plain_names_are_written_as_the_general_way_writes_them() {
        for name in [
            "Jo Bloggs",
            "Jo  Bloggs",
            " Jo",
            "Jo ",
            "O'Brien-Smith",
            "a=?b",
            "a?=b",
            "=?x?=",
            "Smith, Pat",
            "Pat \"X\"",
            "Жанна",
            "tab\there",
            "x",
            "",
        ] {
            let mut words = Vec::new();
            mailbox_words(Some(name), "a@x.org", &mut words);
            let mut fast = String::new();
            for w in &words {
                w.push_to(&mut fast);
                fast.push(' ');
            }
            let collapsed = name.split_whitespace().collect::<Vec<_>>().join(" ");
            let mut slow = if collapsed.is_empty() {
                String::new()
            } else {
                phrase_words(&collapsed).join(" ") + " "
            };
            slow.push_str(if collapsed.is_empty() {
                "a@x.org "
            } else {
                "<a@x.org> "
            });
            assert_eq!(fast, slow, "{name:?}");
        }
    }

    #[test]
    fn lists_fold_between_addresses() {
        let many: Vec<Mailbox> = (0..34)
            .map(|i| mb(None, &format!("campaign-kazakhstan-{i}@solidarity.org")))
            .collect();
        let value = fold("Cc", &many);
        let lines = lines("Cc", &value);
        assert!(lines.len() > 17);
        for (i, line) in lines.iter().enumerate() {
            assert!(line.len() <= SOFT_LIMIT, "{line}");
            if i > 0 {
                assert!(line.starts_with(" campaign-kazakhstan-"), "{line}");
            }
        }
        // Unfolding gives back the list.
        let raw: Vec<String> = many.iter().map(ToString::to_string).collect();
        assert_eq!(value.replace("\r\n", ""), raw.join(", "));
    }

    #[test]
    fn long_names_never_pass_998() {
        let spaced = vec!["word"; 600].join(" ");
        let solid = "x".repeat(3000);
        let cyrillic = "Ж".repeat(1500);
        for name in [&spaced, &solid, &cyrillic] {
            let value = fold("From", &[mb(Some(name), "p@x.org")]);
            for line in lines("From", &value) {
                assert!(line.len() <= SOFT_LIMIT, "{} chars", line.len());
                assert!(!line.trim().is_empty());
            }
        }
    }
}
