//! The data rows of a list, read as signers: each row's line number and
//! its signer, or why it cannot be one.

use std::collections::BTreeMap;
use std::io::BufReader;
use std::path::PathBuf;
use std::sync::Arc;

use crate::signers::signer::{MESSAGE_LIMIT, Signer};

use super::columns::Columns;
use super::printable;
use super::scan::{Scan, Stop};
use super::source::ListFile;

/// The data rows of a list, in one pass through a `Scan`.
pub(super) struct Rows {
    csv: csv::Reader<Scan<BufReader<ListFile>>>,
    record: csv::StringRecord,
    /// The row as read, before it is known to be UTF-8.
    bytes: csv::ByteRecord,
    columns: Arc<Columns>,
    name: PathBuf,
    /// For a spreadsheet: the sheet row of each line of its CSV copy.
    sheet_rows: Option<Arc<Vec<u64>>>,
    done: bool,
}

impl Rows {
    /// The rows of the text `reader` gives (its header row first); while
    /// `checking`, the scan watches quotes, and if `verify`, that the text
    /// is UTF-8 (see `Scan`).
    pub(super) fn new(
        reader: BufReader<ListFile>,
        delimiter: u8,
        columns: Arc<Columns>,
        name: PathBuf,
        checking: bool,
        verify: bool,
        sheet_rows: Option<Arc<Vec<u64>>>,
    ) -> Self {
        Rows {
            csv: csv::ReaderBuilder::new()
                .delimiter(delimiter)
                .flexible(true)
                .from_reader(Scan::new(reader, delimiter, checking, verify)),
            record: csv::StringRecord::new(),
            bytes: csv::ByteRecord::new(),
            columns,
            name,
            sheet_rows,
            done: false,
        }
    }

    /// The line of the record starting at `byte`, or its sheet row.
    fn line_at(&mut self, byte: u64) -> u64 {
        let line = self.csv.get_mut().line_at(byte);
        match &self.sheet_rows {
            Some(rows) => usize::try_from(line - 1)
                .ok()
                .and_then(|i| rows.get(i))
                .copied()
                .unwrap_or(line),
            None => line,
        }
    }

    /// Why the scan stopped feeding the parser, if it did.
    pub(super) fn stopped(&self) -> Option<Stop> {
        self.csv.get_ref().stop()
    }

    /// The line of a quote still open at the end of the file.
    pub(super) fn open_at_end(&self) -> Option<u64> {
        self.csv.get_ref().open_at_end()
    }
}

impl Iterator for Rows {
    type Item = anyhow::Result<(u64, std::result::Result<Signer, String>)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            match self.csv.read_byte_record(&mut self.bytes) {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    let line = e.position().map_or(0, |p| self.line_at(p.byte()));
                    return Some(Err(anyhow::anyhow!(
                        "{}:{line}: cannot read the list: {}",
                        self.name.display(),
                        plain_csv_error(&e)
                    )));
                }
            }
            let byte = self.bytes.position().map_or(0, csv::Position::byte);
            let line = self.line_at(byte);
            // The buffers are swapped, not reallocated, row after row.
            let bytes = std::mem::take(&mut self.bytes);
            match csv::StringRecord::from_byte_record(bytes) {
                Ok(record) => {
                    self.bytes = std::mem::replace(&mut self.record, record).into_byte_record();
                }
                Err(e) => {
                    self.bytes = e.into_byte_record();
                    return Some(Ok((line, Err(NOT_UTF8_ROW.to_string()))));
                }
            }
            let record = &self.record;
            if record.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            let signer = signer(&self.columns, record).map_err(|reason| {
                let spans = record
                    .iter()
                    .map(|f| f.matches('\n').count())
                    .sum::<usize>();
                if spans > 0 && reason.contains("line break") && self.sheet_rows.is_none() {
                    format!(
                        "{reason} (this row runs over lines {line}–{}: is a quote left open?)",
                        line + spans as u64
                    )
                } else {
                    reason
                }
            });
            return Some(Ok((line, signer)));
        }
    }
}

/// A row that is not UTF-8 in a list that is (one pasted from a file in
/// another encoding).
const NOT_UTF8_ROW: &str = "this row is not UTF-8 text, unlike the rest of the list \
     (it was likely pasted from a file in another encoding); correct it and save the list \
     as UTF-8 (\"CSV UTF-8\" in Excel, \"Unicode (UTF-8)\" in LibreOffice)";

/// The csv crate's error in words a secretary can act on.
fn plain_csv_error(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Io(io) => io.to_string(),
        csv::ErrorKind::Utf8 { .. } => {
            "this line is not UTF-8 text; name the list's encoding with --encoding".into()
        }
        _ => e.to_string(),
    }
}

fn signer(columns: &Columns, record: &csv::StringRecord) -> std::result::Result<Signer, String> {
    let get = |i: Option<usize>| i.and_then(|i| record.get(i)).unwrap_or("").trim();
    let name = match get(columns.name) {
        "" => [columns.first, columns.middle, columns.last]
            .into_iter()
            .map(get)
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
        name => name.to_string(),
    };
    if name.is_empty() {
        return Err(if columns.name.is_some() {
            "the name is empty".into()
        } else {
            "the first and last name are empty".into()
        });
    }
    let country = match get(columns.country) {
        "" => String::new(),
        code if crate::campaign::country::is_iso_code(code) => code.to_ascii_uppercase(),
        other => {
            let shown = printable(other);
            return Err(match crate::campaign::country::suggest(other) {
                Some(code) => format!(
                    "country `{shown}` is not an ISO 3166 code; did you mean {code} ({})?",
                    crate::campaign::country::name_of(code).unwrap_or(code)
                ),
                None => format!(
                    "country `{shown}` is not a two-letter ISO 3166 code such as GB, DE or FR"
                ),
            });
        }
    };
    let mut signer = Signer::new(
        &name,
        get(columns.organisation),
        get(columns.email),
        get(columns.address),
        &country,
    )
    .map_err(|e| e.to_string())?;
    signer.language = language(get(columns.language))?;
    let mut extra = BTreeMap::new();
    for (i, header) in &columns.extra {
        let value = record.get(*i).unwrap_or("");
        if value.chars().any(|c| c.is_control() && c != '\n') {
            return Err(format!(
                "column `{}` contains a control character",
                printable(header)
            ));
        }
        extra.insert(header.clone(), value.to_string());
    }
    signer.extra = extra;
    if signer.message().len() > MESSAGE_LIMIT {
        return Err(format!(
            "the message is {} KiB, over the {} KiB a member's message may hold; shorten it",
            signer.message().len().div_ceil(1024),
            MESSAGE_LIMIT >> 10
        ));
    }
    Ok(signer)
}

/// A `language` cell as a language code (`en`, `ru`, `pt-br`); common
/// names are understood.
pub(super) fn language(text: &str) -> std::result::Result<String, String> {
    const NAMES: &[(&str, &str)] = &[
        ("english", "en"),
        ("английский", "en"),
        ("russian", "ru"),
        ("русский", "ru"),
        ("kazakh", "kk"),
        ("қазақша", "kk"),
        ("казахский", "kk"),
        ("german", "de"),
        ("deutsch", "de"),
        ("french", "fr"),
        ("français", "fr"),
        ("spanish", "es"),
        ("español", "es"),
    ];
    let lower = text.trim().to_lowercase();
    if let Some((_, code)) = NAMES.iter().find(|(n, _)| *n == lower) {
        return Ok((*code).to_string());
    }
    let code = lower.replace('_', "-");
    let (primary, rest) = code.split_once('-').unwrap_or((&code, ""));
    let ok = (code.is_empty() || (2..=3).contains(&primary.len()))
        && primary.chars().all(|c| c.is_ascii_lowercase())
        && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(code)
    } else {
        Err(format!(
            "language `{}` is not a language code such as en or ru",
            printable(text)
        ))
    }
}
