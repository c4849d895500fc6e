//! Re-wraps a rendered letter's paragraphs so that no line is ragged.
//!
//! Templates are wrapped by hand for the values their author imagined; once
//! a long organisation or name is put in, one line runs long and the next
//! stops short ("…Sokolova, legal" / "adviser…"). So the paragraphs are
//! filled again after rendering (textwrap), while the blocks whose line
//! breaks mean something stay as they are: the address, the date, the
//! salutation and the signature.

use std::collections::HashMap;
use std::sync::Mutex;

/// The width letters are filled to: comfortable in any mail client, and
/// under the 78 characters RFC 5322 recommends.
pub const WIDTH: usize = 72;

/// Paragraphs filled so far, by their text. Most of a letter's paragraphs
/// hold no member's values and come out the same for every member, so a
/// batch fills each of them once (optimal-fit filling was half the time of
/// an English letter before).
#[derive(Default)]
pub struct Reflow {
    filled: Mutex<HashMap<String, String>>,
}

/// Paragraphs kept filled: more than any letter has, and few enough that
/// the members' own paragraphs, all different, cannot fill memory.
const KEPT: usize = 512;
/// A paragraph longer than this is filled each time (not worth keeping).
const KEPT_LEN: usize = 16 << 10;

impl Reflow {
    /// Fills every prose paragraph and list item of `text` to [`WIDTH`].
    /// Paragraphs are separated by blank lines; the result keeps them. The
    /// signature (from the closing on, see [`is_closing`]) is kept as it
    /// is, whatever its lines look like: a member called "van der Berg", a
    /// union called "ver.di" or an email address under a name must not be
    /// run into one line.
    pub fn paragraphs(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + text.len() / 16);
        let blocks: Vec<&str> = text.split("\n\n").collect();
        let signature = signature_start(&blocks);
        for (i, block) in blocks.iter().enumerate() {
            if i > 0 {
                out.push_str("\n\n");
            }
            if i >= signature {
                out.push_str(block);
            } else {
                self.block(block, &mut out);
            }
        }
        if text.ends_with('\n') && !out.ends_with('\n') {
            out.push('\n');
        }
        out
    }

    /// One block before the signature, filled if it is a list or prose.
    fn block(&self, block: &str, out: &mut String) {
        if block.len() <= KEPT_LEN
            && let Ok(filled) = self.filled.lock()
            && let Some(done) = filled.get(block)
        {
            out.push_str(done);
            return;
        }
        let lines: Vec<&str> = block.lines().collect();
        let mut done = String::with_capacity(block.len() + 16);
        if is_list(&lines) {
            fill_list(&lines, &mut done);
        } else if is_prose(&lines) {
            fill_into(&lines.join(" "), "", "", &mut done);
        } else {
            done.push_str(block);
        }
        out.push_str(&done);
        if block.len() <= KEPT_LEN
            && let Ok(mut filled) = self.filled.lock()
            && filled.len() < KEPT
        {
            filled.insert(block.to_string(), done);
        }
    }
}

/// [`Reflow::paragraphs`] for one text.
#[cfg(test)]
fn paragraphs(text: &str) -> String {
    Reflow::default().paragraphs(text)
}

/// Where the signature starts: at the last block that opens with a
/// closing line, after some prose (so that the salutation, "Dear Sir or
/// Madam,", is not taken for one); `blocks.len()` when there is none.
pub fn signature_start(blocks: &[&str]) -> usize {
    let mut prose = false;
    let mut start = blocks.len();
    for (i, block) in blocks.iter().enumerate() {
        if prose && is_closing(block) {
            start = i;
        } else if !prose {
            let lines: Vec<&str> = block.lines().collect();
            prose = is_prose(&lines) || is_list(&lines);
        }
    }
    start
}

/// Whether `block` opens with a closing line: a few words ending with a
/// comma ("Yours faithfully,", "In solidarity,", «С уважением,»).
pub fn is_closing(block: &str) -> bool {
    let first = block.lines().next().unwrap_or("").trim();
    first.ends_with(',') && first.split_whitespace().count() <= 4
}

/// The marker of a list item (" - ", " 1. "), with the spaces before it.
pub fn marker(line: &str) -> Option<usize> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    let rest = &line[indent..];
    let after = if let Some(r) = rest.strip_prefix("- ") {
        r
    } else {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        rest[digits..].strip_prefix(". ").filter(|_| digits > 0)?
    };
    Some(line.len() - after.len())
}

pub fn is_list(lines: &[&str]) -> bool {
    lines.first().is_some_and(|l| marker(l).is_some())
}

/// A block reads as wrapped prose when a line break falls inside a
/// sentence (the next line goes on in lower case), or when it is a single
/// line that is too long. Address blocks and signatures start every line
/// with a capital or a digit, so they keep their breaks.
pub fn is_prose(lines: &[&str]) -> bool {
    if lines.iter().any(|l| l.starts_with([' ', '\t'])) {
        return false;
    }
    match lines {
        [] => false,
        [one] => one.chars().count() > WIDTH && one.contains(' '),
        _ => lines[1..]
            .iter()
            .any(|l| l.chars().next().is_some_and(char::is_lowercase)),
    }
}

/// Each item of a list paragraph is filled with a hanging indent under
/// its first word; lines before the first marker are kept.
fn fill_list(lines: &[&str], out: &mut String) {
    let mut first = true;
    let mut item: Option<(String, usize, String)> = None;
    let flush = |item: Option<(String, usize, String)>, out: &mut String, first: &mut bool| {
        if let Some((lead, width, words)) = item {
            if !*first {
                out.push('\n');
            }
            *first = false;
            fill_into(&words, &lead, &" ".repeat(width), out);
        }
    };
    for line in lines {
        match marker(line) {
            Some(at) => {
                flush(item.take(), out, &mut first);
                let lead = line[..at].to_string();
                let width = lead.chars().count();
                item = Some((lead, width, line[at..].trim().to_string()));
            }
            None => match item.as_mut() {
                Some((_, _, words)) => {
                    words.push(' ');
                    words.push_str(line.trim());
                }
                None => {
                    if !first {
                        out.push('\n');
                    }
                    first = false;
                    out.push_str(line);
                }
            },
        }
    }
    flush(item, out, &mut first);
}

fn fill_into(words: &str, initial: &str, subsequent: &str, out: &mut String) {
    let options = textwrap::Options::new(WIDTH)
        .initial_indent(initial)
        .subsequent_indent(subsequent)
        .break_words(false);
    let words = words.split_whitespace().collect::<Vec<_>>().join(" ");
    out.push_str(&textwrap::fill(&words, options));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paragraph_filled_before_is_filled_the_same() {
        let reflow = Reflow::default();
        let text = "Dear Judge,\n\nWe write about a case that matters to us and to\nmany others.\n\n\
                    - one item that\n  goes on\n\nYours faithfully,\nJo\n";
        let first = reflow.paragraphs(text);
        assert_eq!(reflow.paragraphs(text), first);
        assert_eq!(paragraphs(text), first);
        assert!(reflow.filled.lock().unwrap().len() >= 2);
    }

    #[test]
    fn mends_a_ragged_paragraph() {
        let text = "I write on behalf of the Transport and General Workers' Union, legal\nadviser branch, about Natalia Sokolova, legal\nadviser to the union.\n";
        let out = paragraphs(text);
        assert!(out.lines().all(|l| l.chars().count() <= WIDTH), "{out}");
        assert_eq!(
            out.split_whitespace().collect::<Vec<_>>(),
            text.split_whitespace().collect::<Vec<_>>()
        );
        assert!(!out.contains("legal\nadviser to"), "{out}");
        assert!(out.ends_with('\n'));
    }

    #[test]
    fn keeps_addresses_dates_salutations_and_signatures() {
        let text = "The Minister of Foreign Affairs\nMinistry of Foreign Affairs\n\n22 November 2026\n\nDear Minister,\n\nYours faithfully,\nJo Bloggs\nUnite Branch 42\n";
        assert_eq!(paragraphs(text), text);
    }

    #[test]
    fn keeps_signatures_whatever_their_lines() {
        let text = "Dear Judge,\n\nWe write about a case that matters to us and to\nmany others.\n\n\
                    Yours faithfully,\n\nThe undersigned:\nJo Bloggs (Unite)\nanna de souza\nvan der Berg\n\n\
                    Jo Bloggs\nver.di Bezirk Berlin\njo@example.org\n";
        let out = paragraphs(text);
        assert!(
            out.starts_with(
                "Dear Judge,\n\nWe write about a case that matters to us and to many others.\n\n"
            ),
            "{out}"
        );
        assert!(out.ends_with("Yours faithfully,\n\nThe undersigned:\nJo Bloggs (Unite)\nanna de souza\nvan der Berg\n\nJo Bloggs\nver.di Bezirk Berlin\njo@example.org\n"), "{out}");
        // Without a closing, the old rules hold: a lowercase line goes on.
        assert_eq!(
            paragraphs("Jo Bloggs\nver.di Bezirk Berlin"),
            "Jo Bloggs ver.di Bezirk Berlin"
        );
        // The salutation is not a closing.
        let salutation = "Dear Sir or Madam,\n\nI write to ask\nyou.";
        assert_eq!(
            paragraphs(salutation),
            "Dear Sir or Madam,\n\nI write to ask you."
        );
    }

    #[test]
    fn fills_list_items_with_a_hanging_indent() {
        let text = " - the first request, which is rather long and goes on for a good while, wrapped\n   badly;\n - the second.\n\n 1. one\n 2. two";
        let out = paragraphs(text);
        assert_eq!(
            out,
            " - the first request, which is rather long and goes on for a good while,\n   wrapped badly;\n - the second.\n\n 1. one\n 2. two"
        );
    }

    #[test]
    fn wraps_one_long_line_and_counts_characters_not_bytes() {
        let line = "Прошу сообщить мне о мерах, принятых по этому обращению, и о том, куда оно было направлено.";
        let out = paragraphs(line);
        assert_eq!(out.lines().count(), 2, "{out}");
        assert!(out.lines().all(|l| l.chars().count() <= WIDTH));
    }
}
