//! Problems found in campaign files, pinned to a file, line and column.
//!
//! Organisers fix campaigns by reading these, so each problem carries the
//! source line with a caret under the offending span and, where we can, a
//! hint saying what to type instead. The snippet is drawn by
//! annotate-snippets (rustc's renderer), which gets tabs and wide
//! characters right.

use std::fmt;
use std::ops::Range;

/// How bad a problem is: errors stop every command, warnings only inform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem in one place.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Problem {
    pub severity: Severity,
    pub file: String,
    /// 1-based; 0 when the problem concerns the file as a whole.
    pub line: usize,
    /// 1-based, counted in characters.
    pub column: usize,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    #[serde(skip)]
    snippet: Option<Snippet>,
}

#[derive(Debug, Clone)]
struct Snippet {
    /// The line the problem is on.
    text: String,
    /// Byte span of the problem in `text`.
    span: Range<usize>,
}

impl Problem {
    /// A problem about a whole file (no position).
    pub fn in_file(severity: Severity, file: &str, message: impl Into<String>) -> Self {
        Problem {
            severity,
            file: file.to_string(),
            line: 0,
            column: 0,
            message: message.into(),
            help: None,
            snippet: None,
        }
    }

    /// A problem at a byte span of `source`, the full text of `file`.
    pub fn at(
        severity: Severity,
        file: &str,
        source: &str,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> Self {
        let start = floor_char_boundary(source, span.start.min(source.len()));
        let end = floor_char_boundary(source, span.end.clamp(start, source.len()));
        let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = source[start..]
            .find('\n')
            .map_or(source.len(), |i| start + i);
        let line_text = source[line_start..line_end].trim_end_matches('\r');
        let line = source[..start].matches('\n').count() + 1;
        let caret = source[line_start..start].chars().count();
        let span_start = start - line_start;
        let span_end = (end.min(line_start + line_text.len()) - line_start).max(span_start);
        Problem {
            severity,
            file: file.to_string(),
            line,
            column: caret + 1,
            message: message.into(),
            help: None,
            snippet: Some(Snippet {
                text: line_text.to_string(),
                span: span_start..span_end,
            }),
        }
    }

    /// Adds a hint on what to do instead.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// A warning at `key`'s `key = …` line of `file`, else at the file.
    pub fn warning_at_key(
        file: &crate::campaign::source::SourceFile,
        key: &str,
        message: String,
    ) -> Problem {
        let at = file.text.match_indices(key).map(|(i, _)| i).find(|&i| {
            let line_start = file.text[..i].rfind('\n').map_or(0, |n| n + 1);
            file.text[line_start..i].trim().is_empty()
                && file.text[i + key.len()..].trim_start().starts_with('=')
        });
        Problem::warning_in(file, at.map(|i| i..i + key.len()), message)
    }

    /// A warning at the quoted `value` where it is set as `key = "value"`
    /// in `file` (not a comment or list that quotes it), else at the file.
    pub fn warning_at_value(
        file: &crate::campaign::source::SourceFile,
        key: &str,
        value: &str,
        message: String,
    ) -> Problem {
        let quoted = format!("\"{value}\"");
        let at = file.text.match_indices(&quoted).map(|(i, _)| i).find(|&i| {
            let line = &file.text[file.text[..i].rfind('\n').map_or(0, |n| n + 1)..i];
            line.trim_start().starts_with(key) && line.trim_end().ends_with('=')
        });
        Problem::warning_in(file, at.map(|i| i..i + quoted.len()), message)
    }

    /// A warning at `span` of `file`, else at the file.
    pub fn warning_in(
        file: &crate::campaign::source::SourceFile,
        span: Option<Range<usize>>,
        message: String,
    ) -> Problem {
        match span {
            Some(span) => Problem::at(Severity::Warning, &file.name, &file.text, span, message),
            None => Problem::in_file(Severity::Warning, &file.name, message),
        }
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl Problem {
    /// The problem without its severity, for a message that already says
    /// `error:`.
    pub fn unlabelled(&self) -> impl fmt::Display + '_ {
        Shown(self, false)
    }
}

struct Shown<'a>(&'a Problem, bool);

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Shown(self, true).fmt(f)
    }
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Shown(p, labelled) = *self;
        let label = match (labelled, p.severity) {
            (false, _) => "",
            (true, Severity::Error) => "error: ",
            (true, Severity::Warning) => "warning: ",
        };
        if p.line == 0 {
            write!(f, "{}: {label}{}", p.file, p.message)?;
        } else {
            write!(
                f,
                "{}:{}:{}: {label}{}",
                p.file, p.line, p.column, p.message
            )?;
        }
        if let Some(snippet) = &p.snippet {
            use annotate_snippets::{AnnotationKind, Group, Level, Renderer};
            let level = match p.severity {
                Severity::Error => Level::ERROR,
                Severity::Warning => Level::WARNING,
            };
            // The header is ours (above); the group draws only the line.
            let report = [Group::with_level(level).element(
                annotate_snippets::Snippet::source(snippet.text.as_str())
                    .line_start(p.line)
                    .annotation(AnnotationKind::Primary.span(snippet.span.clone())),
            )];
            let drawn = Renderer::plain().render(&report);
            write!(f, "\n{}", drawn.trim_end())?;
        }
        if let Some(help) = &p.help {
            write!(f, "\n  = help: {help}")?;
        }
        Ok(())
    }
}

/// A list of problems that stopped a command, shown all at once.
#[derive(Debug)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self.0.iter().filter(|p| p.is_error()).count();
        writeln!(
            f,
            "the campaign has {errors} error{}:\n",
            if errors == 1 { "" } else { "s" }
        )?;
        for problem in self.0.iter().filter(|p| p.is_error()) {
            writeln!(f, "{problem}\n")?;
        }
        write!(
            f,
            "fix {} and run `protest-letter check` again",
            if errors == 1 { "it" } else { "them" }
        )
    }
}

impl std::error::Error for Problems {}

/// "did you mean" for an unknown name among `known`.
pub fn did_you_mean<'a>(wanted: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        .map(|k| (strsim::jaro_winkler(wanted, k), k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

/// "did you mean `x`? known: a, b, c" for error hints.
pub fn unknown_hint<'a>(wanted: &str, known: impl IntoIterator<Item = &'a str> + Clone) -> String {
    let mut names: Vec<&str> = Vec::new();
    for name in known.clone() {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let list = names.join(", ");
    match did_you_mean(wanted, known) {
        Some(guess) => format!("did you mean `{guess}`? Known: {list}"),
        None => format!("known: {list}"),
    }
}

/// "did you mean `salutation`?" for serde's "unknown field `salutaton`,
/// expected one of `id`, `name`, …".
pub fn unknown_key_guess(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let mut names = rest.split('`').step_by(2);
    let wanted = names.next()?;
    let known: Vec<&str> = rest.split('`').skip(2).step_by(2).collect();
    let guess = did_you_mean(wanted, known.iter().copied())?;
    Some(format!(
        "did you mean `{guess}`? Known keys here: {}",
        known.join(", ")
    ))
}

/// Characters a campaign text must not hold: terminal escapes and other
/// control characters (printed raw, they can rewrite a terminal), and the
/// invisible bidirectional overrides that make text read differently from
/// what it is. Tab and line ends are fine.
pub fn is_forbidden_char(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The first forbidden character in `text`. Every one of them starts with
/// a control byte other than tab, CR and LF, 0x7F, or the lead byte 0xC2
/// (C1 controls) or 0xE2 (the bidirectional overrides). Blocks of bytes
/// are tested for those without branches, and only a block that has one
/// is looked at closely: a letter is checked at the speed of a byte scan.
pub fn find_forbidden_char(text: &str) -> Option<char> {
    const BLOCK: usize = 64;
    let lead = |b: u8| {
        (b < 0x20 && b != b'\t' && b != b'\n' && b != b'\r')
            | (b == 0x7f)
            | (b == 0xc2)
            | (b == 0xe2)
    };
    let bytes = text.as_bytes();
    for (n, block) in bytes.chunks(BLOCK).enumerate() {
        if !block.iter().fold(false, |any, &b| any | lead(b)) {
            continue;
        }
        // Each byte `lead` accepts starts a character.
        let found = (0..block.len())
            .filter(|&i| lead(block[i]))
            .filter_map(|i| text.get(n * BLOCK + i..)?.chars().next())
            .find(|&c| is_forbidden_char(c));
        if found.is_some() {
            return found;
        }
    }
    None
}

/// A readable name for a forbidden character.
pub fn char_name(c: char) -> String {
    let name = match c {
        '\u{1b}' => " (escape)",
        '\u{7f}' => " (delete)",
        '\0' => " (NUL)",
        '\u{8}' => " (backspace)",
        '\u{c}' => " (form feed)",
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => " (bidirectional override)",
        _ => "",
    };
    format!("U+{:04X}{name}", c as u32)
}

/// The forbidden characters in `file`, raw or written as TOML escapes
/// (`\e`, `\u001b`) in its first `toml_len` bytes (the TOML part), at most
/// a few per file.
pub fn control_characters(file: &crate::campaign::SourceFile, toml_len: usize) -> Vec<Problem> {
    const MOST: usize = 5;
    let mut out = Vec::new();
    let text = &file.text;
    let help = "remove it: campaign texts are printed to terminals and mailed as they are";
    // Only these bytes can start a forbidden character (C0 controls, DEL,
    // C1 controls after 0xC2, bidirectional controls after 0xE2): the text
    // is scanned by byte, and decoded only there (a campaign's texts are
    // read at every start).
    let suspect =
        |b: u8| (b < 0x20) & !matches!(b, b'\t' | b'\n' | b'\r') | matches!(b, 0x7f | 0xc2 | 0xe2);
    // 64 bytes at a time without branches (vectorised), byte by byte only
    // in the chunks that hold a suspect.
    const CHUNK: usize = 64;
    let starts = text
        .as_bytes()
        .chunks(CHUNK)
        .enumerate()
        .filter(|(_, chunk)| chunk.iter().fold(false, |any, &b| any | suspect(b)))
        .flat_map(|(n, chunk)| {
            chunk
                .iter()
                .enumerate()
                .filter(|&(_, &b)| suspect(b))
                .map(move |(i, _)| n * CHUNK + i)
        });
    for (i, c) in starts.filter_map(|i| text[i..].chars().next().map(|c| (i, c))) {
        if out.len() == MOST {
            break;
        }
        // A byte order mark at the very start is allowed (and stripped).
        if is_forbidden_char(c) {
            out.push(
                Problem::at(
                    Severity::Error,
                    &file.name,
                    text,
                    i..i + c.len_utf8(),
                    format!("control character {} in a campaign text", char_name(c)),
                )
                .with_help(help),
            );
        }
    }
    // Escapes: `\` then e, b, f, x.., u...., U........ naming a forbidden
    // character. A doubled backslash is a literal one.
    let bytes = &text.as_bytes()[..toml_len.min(text.len())];
    let mut i = 0;
    while i + 1 < bytes.len() && out.len() < MOST {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        let (len, code) = match bytes[i + 1] {
            b'\\' => (2, None),
            b'e' => (2, Some(0x1b)),
            b'b' => (2, Some(0x08)),
            b'f' => (2, Some(0x0c)),
            b'x' => (4, hex(text, i + 2, 2)),
            b'u' => (6, hex(text, i + 2, 4)),
            b'U' => (10, hex(text, i + 2, 8)),
            _ => (2, None),
        };
        if let Some(c) = code
            .and_then(char::from_u32)
            .filter(|c| is_forbidden_char(*c))
        {
            out.push(
                Problem::at(
                    Severity::Error,
                    &file.name,
                    text,
                    i..(i + len).min(text.len()),
                    format!(
                        "escape sequence for control character {} in a campaign text",
                        char_name(c)
                    ),
                )
                .with_help(help),
            );
        }
        i += len;
    }
    out
}

fn hex(text: &str, at: usize, len: usize) -> Option<u32> {
    text.get(at..at + len)
        .and_then(|h| u32::from_str_radix(h, 16).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_byte_scan_finds_what_the_character_test_finds() {
        for text in [
            "plain\tletter\r\n",
            "Уважаемый судья — «кавычки» €",
            "a\u{1b}[2J",
            "x\u{7f}",
            "Соколова\u{85}",
            "name \u{202E}txt",
            "\u{2068}isolate",
            "\u{2014} dash, \u{2019} quote",
            &format!("{}\u{9f}{}", "x".repeat(63), "y".repeat(70)),
            &format!("{}\u{202A}", "«ж» ".repeat(40)),
        ] {
            assert_eq!(
                find_forbidden_char(text),
                text.chars().find(|&c| is_forbidden_char(c)),
                "{text:?}"
            );
        }
    }

    #[test]
    fn points_at_line_and_column() {
        let src = "a = 1\nb = \"x\"\n";
        let p = Problem::at(Severity::Error, "f.toml", src, 10..13, "bad");
        assert_eq!((p.line, p.column), (2, 5));
        let shown = p.to_string();
        assert!(shown.starts_with("f.toml:2:5: error: bad"), "{shown}");
        assert!(shown.contains("2 | b = \"x\"\n  |     ^^^"), "{shown}");
    }

    #[test]
    fn suggests_close_names() {
        let known = ["supreme-court", "embassy"];
        assert_eq!(did_you_mean("suprme-court", known), Some("supreme-court"));
        assert_eq!(did_you_mean("zzz", known), None);
    }

    #[test]
    fn finds_every_forbidden_character_the_slow_way_finds() {
        // Each forbidden kind once, among harmless neighbours of the same
        // lead bytes (0xC2: `©`, 0xE2: `—`, `“`).
        for c in [
            '\0', '\u{1b}', '\u{7f}', '\u{85}', '\u{9f}', '\u{202a}', '\u{202e}', '\u{2066}',
            '\u{2069}',
        ] {
            let text = format!("Dear ©\t“judge”\r\n— é ж 中 {c} end");
            let file = crate::campaign::SourceFile {
                name: "x.txt".into(),
                text: text.clone(),
            };
            let found: Vec<usize> = control_characters(&file, 0)
                .iter()
                .map(|p| p.column)
                .collect();
            let slow: Vec<usize> = text
                .lines()
                .flat_map(|l| l.chars().enumerate().filter(|(_, c)| is_forbidden_char(*c)))
                .map(|(i, _)| i + 1)
                .collect();
            assert_eq!(found.len(), 1, "{c:?}");
            assert_eq!(found, slow, "{c:?}");
        }
        let clean = crate::campaign::SourceFile {
            name: "x.txt".into(),
            text: "© “quoted” — tab\there\r\n".into(),
        };
        assert!(control_characters(&clean, 0).is_empty());
    }
}
