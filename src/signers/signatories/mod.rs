//! A members' list (CSV) as signers, streamed row by row so memory stays
//! flat however long the list.
//!
//! Lists come as spreadsheets export them: UTF-8 with or without a BOM,
//! UTF-16 ("Unicode text"), Windows-1251/1252 ("CSV" from a local Excel),
//! with `,`, `;` or tab separators, `First name`/`Last name` columns and
//! headers in any case. The list is read twice, in order from the first
//! row to the last: checked whole before anything is done (`check`: bad
//! rows, duplicates, an open quote, text that is not UTF-8 after all,
//! whether all members' words are the same; a member listed twice costs
//! one more pass, to name the lines), then produced (`rows`), both through
//! one `Scan` of the bytes that also counts the lines. So standard input,
//! pipes and `<(…)` are first copied to a temporary file (`source`), and a
//! list in another encoding is turned into UTF-8 once, there (`decoding`).
//! Line numbers are the file's own lines everywhere (the header is line 1).
//!
//! A spreadsheet (`.xlsx`, `.xls`, `.ods`) is turned into such a UTF-8
//! copy once, from one sheet, remembering each line's sheet row
//! (`spreadsheet`); any other binary file is refused there.
//!
//! The header row is read in `columns`, the data rows in `rows` (through a
//! `scan`), and members listed twice are found in `duplicates`.

mod columns;
mod decoding;
mod duplicates;
mod rows;
mod scan;
mod source;
mod spreadsheet;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Result, bail};
use encoding_rs::Encoding;

use crate::signers::signer::Signer;
use columns::{Columns, header};
use decoding::{Verify, decode, line_and_column, not_utf8_error, survey, transcode};
use duplicates::Keys;
use rows::Rows;
use scan::Stop;
use source::Data;

#[cfg(test)]
pub(crate) use source::bytes_read;

/// A row that cannot be used, and why.
#[derive(Debug, Clone)]
pub struct BadRow {
    /// The line number in the file (the header is line 1).
    pub line: u64,
    pub reason: String,
}

/// A member listed again: the later row is left out.
#[derive(Debug, Clone)]
pub struct Duplicate {
    pub line: u64,
    pub first_line: u64,
    /// The email, or the name when there is no email.
    pub who: String,
}

/// The result of checking the whole file.
#[derive(Debug, Default)]
pub struct Checked {
    /// Usable rows, duplicates not counted.
    pub valid: u64,
    pub bad: Vec<BadRow>,
    pub duplicates: Vec<Duplicate>,
    /// Usable rows by their `country` ("" for none).
    pub countries: BTreeMap<String, u64>,
    /// Whether every usable row has the same `message` (or none): the
    /// letters would differ only in the names.
    pub same_words: bool,
}

/// The caller's check of a good row's country (see `MemberList::check`).
pub type Accept<'a> = dyn Fn(&str) -> std::result::Result<(), String> + 'a;

/// An opened, checked members' list.
#[derive(Debug, Clone)]
pub struct MemberList {
    /// How messages name the list: its path, or `<stdin>`.
    name: PathBuf,
    data: Arc<Data>,
    /// The encoding the file was read in.
    encoding: &'static Encoding,
    delimiter: u8,
    columns: Arc<Columns>,
    /// Lines `rows` leaves out: rows that repeat an earlier member, and
    /// rows the caller's check refused (found by `check`).
    skip: Arc<HashSet<u64>>,
    /// Remarks about the header row (unknown columns), for the user.
    notes: Vec<String>,
    /// Whether `check` still has to make sure the text is UTF-8.
    verify: Verify,
    /// For a spreadsheet: the sheet row of each line of its CSV copy.
    sheet_rows: Option<Arc<Vec<u64>>>,
    /// In a list read in a legacy encoding, the lines that were UTF-8
    /// (pasted in): bad rows, not names read as `РђРЅРЅР°`.
    utf8_rows: HashSet<u64>,
}

impl MemberList {
    /// Opens `path` (`-` for standard input), reads the header and works
    /// out the encoding (`encoding` names it outright) and the separator.
    /// A spreadsheet is read from its first sheet, or the one named `sheet`.
    pub fn open(path: &Path, encoding: Option<&str>, sheet: Option<&str>) -> Result<Self> {
        let forced = match encoding {
            None => None,
            Some(label) => Some(Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
                anyhow::anyhow!(
                    "--encoding `{label}` is not an encoding this program knows; \
                     use e.g. utf-8, utf-16le, windows-1251, windows-1252 or iso-8859-1"
                )
            })?),
        };
        let (name, raw) = Data::of(path)?;
        let kind = spreadsheet::sniff(&raw)?;
        if kind == spreadsheet::Kind::Text {
            if sheet.is_some() {
                bail!(
                    "--sheet is for spreadsheets (.xlsx, .xls, .ods); {} is a text file",
                    name.display()
                );
            }
            let (encoding, data, verify, utf8_rows) = decode(&name, raw, forced)?;
            let (delimiter, columns, notes) = header(&name, &data, 1)?;
            return Ok(MemberList {
                name,
                data: Arc::new(data),
                encoding,
                delimiter,
                columns: Arc::new(columns),
                skip: Arc::new(HashSet::new()),
                notes,
                verify,
                sheet_rows: None,
                utf8_rows: utf8_rows.into_iter().collect(),
            });
        }
        if forced.is_some() {
            bail!(
                "--encoding is for text lists; {} is a spreadsheet, read as it is",
                name.display()
            );
        }
        let book = spreadsheet::read(&name, &raw, kind, sheet)?;
        let first_row = book.rows.first().copied().unwrap_or(1);
        let (delimiter, columns, mut notes) = header(&name, &book.data, first_row)?;
        notes.splice(0..0, book.note);
        Ok(MemberList {
            name,
            data: Arc::new(book.data),
            encoding: encoding_rs::UTF_8,
            delimiter,
            columns: Arc::new(columns),
            skip: Arc::new(HashSet::new()),
            notes,
            verify: Verify::No,
            sheet_rows: Some(Arc::new(book.rows)),
            utf8_rows: HashSet::new(),
        })
    }

    /// Checks every row, in one pass over the file (a second only when a
    /// member is listed more than once, to name the lines); memory holds
    /// only the bad rows and one 8-byte key per member (to find repeats).
    /// `accept` is the caller's own check of a good row's country (e.g.
    /// that it has an embassy address), asked once per country. Rows that
    /// repeat a member, and rows `accept` refused, are left out of `rows`
    /// from now on.
    pub fn check(&mut self, accept: &Accept<'_>) -> Result<Checked> {
        let mut checked = Checked::default();
        // Lines of good rows the caller's check refused.
        let mut skip = HashSet::new();
        let mut words = SameWords::default();
        let mut keys = Keys::default();
        let mut verdicts: HashMap<String, std::result::Result<(), String>> = HashMap::new();
        let mut rows = self.scan_rows(true)?;
        while let Some(row) = rows.next() {
            let (line, signer) = match row {
                Ok(row) => row,
                Err(e) => {
                    return match rows.stopped() {
                        Some(Stop::NotUtf8 { offset }) => self.not_utf8(offset, accept),
                        Some(Stop::LongQuote { line }) => Err(self.open_quote(line)),
                        Some(Stop::LongCell { line }) => Err(anyhow::anyhow!(
                            "{}:{line}: a quoted value that starts on this line is longer than \
                             {} MiB, the most one cell of a list may hold; nothing was done. \
                             Shorten it and try again",
                            self.name.display(),
                            scan::LONG_QUOTE >> 20
                        )),
                        None => Err(e),
                    };
                }
            };
            let signer = match signer {
                Ok(s) => s,
                Err(reason) => {
                    checked.bad.push(BadRow { line, reason });
                    continue;
                }
            };
            if self.utf8_rows.contains(&line) {
                skip.insert(line);
                checked.bad.push(BadRow {
                    line,
                    reason: format!(
                        "this row is UTF-8 text, unlike the rest of the list ({}), so its \
                         letters would come out garbled; correct it and save the whole list \
                         as UTF-8 (\"CSV UTF-8\" in Excel, \"Unicode (UTF-8)\" in LibreOffice)",
                        self.encoding.name()
                    ),
                });
                continue;
            }
            if !signer.country.is_empty() {
                let verdict = match verdicts.get(&signer.country) {
                    Some(v) => v,
                    None => verdicts
                        .entry(signer.country.clone())
                        .or_insert_with(|| accept(&signer.country)),
                };
                if let Err(reason) = verdict {
                    skip.insert(line);
                    checked.bad.push(BadRow {
                        line,
                        reason: reason.clone(),
                    });
                    continue;
                }
            }
            keys.add(&signer);
            words.add(signer.message());
            checked.valid += 1;
            *checked.countries.entry(signer.country).or_default() += 1;
        }
        if let Some(line) = rows.open_at_end() {
            return Err(self.open_quote(line));
        }
        drop(rows);
        checked.same_words = words.same;
        if let Some(mut repeats) = keys.repeats() {
            // Counted again over the rows that stay.
            let mut words = SameWords::default();
            for row in self.scan_rows(false)? {
                let (line, Ok(signer)) = row? else { continue };
                if skip.contains(&line) {
                    continue;
                }
                if let Some(duplicate) = repeats.earlier(line, &signer) {
                    skip.insert(line);
                    checked.duplicates.push(duplicate);
                    checked.valid -= 1;
                    if let Some(n) = checked.countries.get_mut(&signer.country) {
                        *n -= 1;
                    }
                    continue;
                }
                words.add(signer.message());
            }
            checked.countries.retain(|_, n| *n > 0);
            checked.same_words = words.same;
        }
        self.skip = Arc::new(skip);
        Ok(checked)
    }

    /// A byte that is not UTF-8 past the start of a list presumed UTF-8:
    /// an error if the encoding was said outright, else the list is in a
    /// legacy encoding after all, and is decoded and checked again.
    fn not_utf8(&mut self, offset: u64, accept: &Accept<'_>) -> Result<Checked> {
        let survey = survey(self.data.open()?)?;
        let guess = survey.guess;
        if self.verify == Verify::Sure {
            let (line, column) = line_and_column(self.data.open()?, offset)?;
            return Err(not_utf8_error(&self.name, line, column, guess));
        }
        if survey.mostly_utf8() {
            // UTF-8 but for some rows: those are bad rows.
            self.verify = Verify::Rows;
            return self.check(accept);
        }
        let data = transcode(&self.name, &self.data, guess)?;
        self.utf8_rows = survey.utf8_at.into_iter().collect();
        let (delimiter, columns, notes) = header(&self.name, &data, 1)?;
        self.data = Arc::new(data);
        self.encoding = guess;
        self.delimiter = delimiter;
        self.columns = Arc::new(columns);
        self.notes = notes;
        self.verify = Verify::No;
        self.check(accept)
    }

    fn open_quote(&self, line: u64) -> anyhow::Error {
        anyhow::anyhow!(
            "{}:{line}: a quote (\") opened on this line is never closed, so the rest of the file \
             would be read as one value; nothing was done. Close or remove the quote and try again",
            self.name.display()
        )
    }

    /// Every data row but repeated members and rows the caller refused:
    /// its line number and the signer, or why not. One pass over the file.
    pub fn rows(
        &self,
    ) -> Result<impl Iterator<Item = Result<(u64, std::result::Result<Signer, String>)>> + use<>>
    {
        let skip = Arc::clone(&self.skip);
        Ok(self
            .scan_rows(false)?
            .filter(move |row| !matches!(row, Ok((line, _)) if skip.contains(line))))
    }

    /// Every data row; `checking` also watches quotes and, if still
    /// needed, that the text is UTF-8 (see `Scan`).
    fn scan_rows(&self, checking: bool) -> Result<Rows> {
        Ok(Rows::new(
            self.data.open()?,
            self.delimiter,
            Arc::clone(&self.columns),
            self.name.clone(),
            checking,
            checking && matches!(self.verify, Verify::Presumed | Verify::Sure),
            self.sheet_rows.clone(),
        ))
    }

    /// Whether the list has a `message` column: members' own words (see
    /// `Signer::message`), which a letter must have room for.
    pub fn has_own_words(&self) -> bool {
        self.columns
            .extra
            .iter()
            .any(|(_, header)| header.eq_ignore_ascii_case("message"))
    }

    /// The list as messages name it.
    pub fn path(&self) -> &Path {
        &self.name
    }

    /// The encoding the list was read in (`UTF-8`, `windows-1252`…).
    pub fn encoding(&self) -> &'static str {
        self.encoding.name()
    }

    /// Remarks about the list (which sheet was read, unknown columns), each
    /// with its place (`members.csv:1: …`), to show before anything is done.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }
}

/// Text from a list as an error may show it: control characters (a
/// terminal would obey ESC) escaped, and cut short after 200 characters.
pub(crate) fn printable(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == 200 {
            out.push('…');
            break;
        }
        if c.is_control() || c == '\u{FFFD}' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether all members' words (`message`) are the same, counted row by row.
#[derive(Default)]
struct SameWords {
    first: Option<String>,
    same: bool,
}

impl SameWords {
    fn add(&mut self, message: &str) {
        match &self.first {
            None => {
                self.first = Some(message.to_string());
                self.same = true;
            }
            Some(first) if first != message => self.same = false,
            Some(_) => {}
        }
    }
}

/// "line 7: the name is empty" lines, at most `limit` of them.
pub fn describe_bad_rows(path: &Path, bad: &[BadRow], limit: usize) -> String {
    let mut out: Vec<String> = bad
        .iter()
        .take(limit)
        .map(|b| format!("  {}:{}: {}", path.display(), b.line, b.reason))
        .collect();
    if bad.len() > limit {
        out.push(format!("  … and {} more", bad.len() - limit));
    }
    out.join("\n")
}

/// "line 9 repeats line 3 (jo@union.org)" lines, at most `limit` of them.
pub fn describe_duplicates(path: &Path, duplicates: &[Duplicate], limit: usize) -> String {
    let mut out: Vec<String> = duplicates
        .iter()
        .take(limit)
        .map(|d| {
            format!(
                "  {}:{}: the same member as line {} ({}); left out",
                path.display(),
                d.line,
                d.first_line,
                d.who
            )
        })
        .collect();
    if duplicates.len() > limit {
        out.push(format!("  … and {} more", duplicates.len() - limit));
    }
    out.join("\n")
}
